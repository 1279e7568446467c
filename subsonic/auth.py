"""Who is calling: Subsonic's ways to sign in, all checked against the member's app password.

- token: ``u``, ``t`` = md5(app password + ``s``), ``s``;
- plain: ``u``, ``p`` = the app password, or ``p`` = "enc:" + its UTF-8 bytes in hex (old clients);
- OpenSubsonic API key: ``apiKey`` = the app password, without ``u``.

Wrong credentials answer code 40 (44 for an API key) and count toward the login throttle, under the username
(API keys: under the client address alone); while locked out, even the right credentials are refused.
"""

from __future__ import annotations

import hashlib
import hmac

from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.urls import reverse

from skybeat.throttle import login_locked, record_login_failure, record_login_success
from .models import AppPassword
from .params import Params
from .responses import SubsonicError

PASSWORD_PARAMETERS = ("p", "t", "s")
LOCKED_OUT = "Too many failed sign-ins: wait 15 minutes and try again."


def authenticate(request: HttpRequest, params: Params):
    """The active member whose credentials these are; SubsonicError otherwise."""
    if "apiKey" in params:
        if "u" in params or any(name in params for name in PASSWORD_PARAMETERS):
            raise SubsonicError(SubsonicError.CONFLICTING_AUTHENTICATION,
                                "Multiple conflicting authentication mechanisms provided: send apiKey alone.")
        return _check(request, "", params.get("apiKey") or "", None, SubsonicError.INVALID_API_KEY)
    username = params.required("u")
    if "p" in params and ("t" in params or "s" in params):
        raise SubsonicError(SubsonicError.CONFLICTING_AUTHENTICATION,
                            "Multiple conflicting authentication mechanisms provided: send p, or t and s.")
    if "t" in params or "s" in params:
        token, salt = params.required("t").lower(), params.required("s")
        return _check(request, username, token, lambda secret: hashlib.md5((secret + salt).encode()).hexdigest(),
                      SubsonicError.WRONG_CREDENTIALS)
    if "p" in params:
        return _check(request, username, plain_password(params.get("p") or ""), None, SubsonicError.WRONG_CREDENTIALS)
    raise SubsonicError.missing("p, or t and s, or apiKey")


def plain_password(value: str) -> str:
    """``p`` as sent: the password itself, or "enc:" and its UTF-8 bytes in hex."""
    if not value.startswith("enc:"):
        return value
    try:
        return bytes.fromhex(value[4:]).decode("utf-8")
    except ValueError:  # bad hex or bad UTF-8: no password can match it
        return ""


def _check(request: HttpRequest, username: str, given: str, transform, error_code: int):
    help_url = request.build_absolute_uri(reverse("profile"))
    if login_locked(request, username):
        raise SubsonicError(error_code, LOCKED_OUT, help_url)
    found = _app_password(username, given if not username else None)
    if found is not None:
        expected = transform(found.password) if transform else found.password
        if hmac.compare_digest(expected.encode(), given.encode()):
            record_login_success(request, username)
            return found.user
    record_login_failure(request, username)
    message = "Wrong username or password" if username else "Invalid API key"
    raise SubsonicError(error_code, f"{message}: use your SKYBEAT app password (see your profile page).", help_url)


def _app_password(username: str, api_key: str | None) -> AppPassword | None:
    """The app password of an active member, by username, or by the key itself for API keys."""
    passwords = AppPassword.objects.select_related("user").filter(user__is_active=True)
    if api_key is not None:
        return passwords.filter(password=api_key).first() if api_key else None
    return passwords.filter(**{f"user__{get_user_model().USERNAME_FIELD}": username}).first()
