"""App passwords: the secret a member's phone apps sign in with, shown and regenerated on their profile page.

Subsonic's token auth sends md5(password + salt), so the server must read the secret itself; SKYBEAT stores login
passwords only hashed, hence a generated app password of its own, never equal to the login password. It is also
the OpenSubsonic API key. Revoking it (regenerating) signs every app out.
"""

from __future__ import annotations

import secrets

from django.contrib.auth.base_user import AbstractBaseUser

from .models import AppPassword

ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no look-alikes (0/o, 1/l/i): it is typed on phone keyboards
GROUPS, GROUP_LENGTH = 5, 5  # 25 characters of a 31-letter alphabet: about 124 bits


def generate() -> str:
    return "-".join("".join(secrets.choice(ALPHABET) for _ in range(GROUP_LENGTH)) for _ in range(GROUPS))


def app_password_of(user) -> str | None:
    return AppPassword.objects.filter(user=user).values_list("password", flat=True).first()


def regenerate(user: AbstractBaseUser) -> str:
    """A new app password for ``user`` (the old one stops working at once)."""
    while True:
        password = generate()
        if not user.check_password(password) and not AppPassword.objects.filter(password=password).exists():
            break
    AppPassword.objects.update_or_create(user=user, defaults={"password": password})
    return password
