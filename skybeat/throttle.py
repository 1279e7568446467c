"""Who is asking, and how often: failed log-ins per account, sign-ups per address.

Failed log-ins are counted by django-axes, per account *and* client address: five failures for ``carol`` from
one address lock that address out of ``carol`` for 15 minutes, whatever spelling of her name it tries
(``ｃarol``, ``𝐜arol``, ``CAROL``), while Carol, elsewhere, still logs in. Every path that calls Django's
``authenticate(request, ...)`` (the site's log-in page, the admin's) is counted and checked by axes itself.
A log-in path that checks passwords without ``authenticate`` (the Subsonic API, say) uses
:func:`login_locked`, :func:`record_login_failure` and :func:`record_login_success`.

Counters live in the default cache: Redis when ``CACHE_URL`` is set, so that every web server shares them.
"""

from __future__ import annotations

import ipaddress
import unicodedata

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core import checks
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

SIGNUP_WINDOW_S = 3600
#: One IPv6 subscriber usually holds a whole /64: counted as one client.
IPV6_CLIENT_PREFIX = 64


def client_address(request: HttpRequest) -> str:
    """The client's address, read through ``SKYBEAT_TRUSTED_PROXIES`` reverse proxies (0: REMOTE_ADDR itself).

    Each trusted proxy appends the address it was reached from to X-Forwarded-For, so the client is the
    N-th entry from the right: what a client writes there itself, further left, is never believed. An IPv6
    address stands for its /64.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.SKYBEAT_TRUSTED_PROXIES
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    candidate = forwarded[-min(proxies, len(forwarded))] if proxies > 0 and forwarded else remote
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        return remote
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/{IPV6_CLIENT_PREFIX}", strict=False))
    return str(address)


def account_key(username: object) -> str | None:
    """The account a username names, for counting: NFKC-normalised (as Django's log-in does) and case-folded."""
    if username is None:
        return None
    folded = unicodedata.normalize("NFKC", str(username)).strip().casefold()
    return unicodedata.normalize("NFKC", folded)


def axes_username(request: HttpRequest, credentials: dict | None) -> str | None:
    """AXES_USERNAME_CALLABLE: the account key of the username being tried."""
    field = settings.AXES_USERNAME_FORM_FIELD
    username = (credentials or {}).get(field)
    if username is None and request is not None and request.method == "POST":
        username = request.POST.get(field)
    return account_key(username)


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the page a locked-out log-in gets, 429."""
    minutes = round(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    return render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)


# --- For log-in paths that do not go through django.contrib.auth.authenticate -----------------------------------

def login_locked(request: HttpRequest, username: str) -> bool:
    """True while this client may not try ``username`` (check before checking the password)."""
    return not AxesProxyHandler.is_allowed(request, {settings.AXES_USERNAME_FORM_FIELD: username})


def record_login_failure(request: HttpRequest, username: str) -> None:
    """Count a wrong password for ``username`` from this client (sent as Django's ``user_login_failed``)."""
    user_login_failed.send(sender=__name__, credentials={settings.AXES_USERNAME_FORM_FIELD: username},
                           request=request)


def record_login_success(request: HttpRequest, username: str) -> None:
    """Forget this client's failures for ``username`` (as a successful log-in through Django does)."""
    AxesProxyHandler.reset_attempts(username=account_key(username), ip_address=client_address(request))


@checks.register(checks.Tags.security, checks.Tags.caches, deploy=True)
def check_shared_cache(app_configs, **kwargs) -> list[checks.CheckMessage]:
    if "redis" in settings.CACHES["default"]["BACKEND"].lower():
        return []
    return [checks.Warning(
        "The cache is a folder on this host (CACHE_URL is not set): log-in failure counters and sign-up limits are "
        "neither shared between web servers nor counted atomically.",
        hint="Set CACHE_URL to a Redis URL, e.g. redis://redis:6379/1 (another database than the broker's).",
        id="skybeat.W001",
    )]


# --- Sign-ups ---------------------------------------------------------------------------------------------------

def _signup_key(request: HttpRequest) -> str:
    return f"signups:{client_address(request)}"


def signup_allowed(request: HttpRequest) -> bool:
    """False once ``SKYBEAT_SIGNUPS_PER_HOUR`` accounts were created from this client's address within the hour."""
    return cache.get(_signup_key(request), 0) < settings.SKYBEAT_SIGNUPS_PER_HOUR


def record_signup(request: HttpRequest) -> None:
    key = _signup_key(request)
    if not cache.add(key, 1, SIGNUP_WINDOW_S):
        try:
            cache.incr(key)
        except ValueError:  # expired in between: this sign-up opens a new window
            cache.add(key, 1, SIGNUP_WINDOW_S)
