"""Stand-in for SKYBEAT's shared per-account login throttle: failed Subsonic sign-ins count toward the same limit
as the web log-in form (skybeat.views.ThrottledLoginView), under the same cache key, client address and username.

Replace these three functions with calls to the shared throttle service once it exists.
"""

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

LOCKOUT_SECONDS = 15 * 60  # as ThrottledLoginView.lockout_seconds


def _key(request: HttpRequest, username: str) -> str:
    return f"login-failures:{request.META.get('REMOTE_ADDR', '')}:{username.lower()[:150]}"


def login_locked_out(request: HttpRequest, username: str) -> bool:
    return cache.get(_key(request, username), 0) >= settings.SKYBEAT_LOGIN_FAILURE_LIMIT


def count_failed_login(request: HttpRequest, username: str) -> None:
    key = _key(request, username)
    cache.add(key, 0, LOCKOUT_SECONDS)
    cache.incr(key)


def forget_failed_logins(request: HttpRequest, username: str) -> None:
    key = _key(request, username)
    if cache.get(key):
        cache.delete(key)
