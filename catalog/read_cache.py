"""Caches of the library's busiest reads (song counts, API list pages, song list pages), keyed by versions.

Every entry holds the *version token* of each scope it depends on, a random token that :func:`bump` replaces:
an entry made under an old token is never served again (it is replaced or expires after ``SKYBEAT_READ_CACHE_S``,
which also turns the caches off when 0). Scopes:

- ``songs``: anything a song row or a song's page shows (songs, genres, labels, uploaders' names, what other apps
  add to rows and pages). Replaced on upload, classification, labelling, visibility change and deletion by the
  receivers below, and by :func:`songs_changed`, which code changing rows without ``save()`` calls
  (``QuerySet.update``, other apps' row data);
- ``playlists:<user id>``: a member's playlists (the "add to playlist" menus of song rows);
- ``history:<user id>``: a member's listens.

Privacy: an entry belongs to one viewer, named in its key (the member's id and staff flag; anonymous visitors
share one), so a private song only ever sits in entries of people who may see it. A token is replaced when a
change is made and again once it commits, so an entry computed from the database before the commit is orphaned too.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils.functional import cached_property

from .models import Genre, GenreLabel, ListeningEvent, Playlist, Song
from .signals import song_classified

logger = logging.getLogger(__name__)

PREFIX = "skybeat:read:"
SONGS = "songs"
#: Stands for the CSRF token in cached HTML; each response gets its own token in its place.
CSRF_PLACEHOLDER = "skybeat-csrf-placeholder"


def playlists_scope(user_id: int) -> str:
    return f"playlists:{user_id}"


def history_scope(user_id: int) -> str:
    return f"history:{user_id}"


def enabled() -> bool:
    return settings.SKYBEAT_READ_CACHE_S > 0


def viewer(user) -> str:
    """Whose entry: each member their own (staff apart, as they see every song), anonymous visitors one."""
    if not user.is_authenticated:
        return "anonymous"
    return f"{'staff' if user.is_staff else 'member'}-{user.pk}"


def _version_key(scope: str) -> str:
    return f"{PREFIX}version:{scope}"


def versions(scopes: Iterable[str]) -> list[str]:
    """The current token of each scope, creating missing ones (a token lost from the cache is simply new)."""
    keys = [_version_key(scope) for scope in scopes]
    found = cache.get_many(keys)
    for key in keys:
        if key not in found:
            cache.add(key, secrets.token_hex(8), None)  # another process may have set one first: use theirs
            found[key] = cache.get(key) or secrets.token_hex(8)
    return [found[key] for key in keys]


def bump(*scopes: str) -> None:
    """Replace the scopes' tokens now and again after the current transaction commits."""
    if not enabled():
        return

    def replace() -> None:
        try:
            cache.set_many({_version_key(scope): secrets.token_hex(8) for scope in scopes}, None)
        except Exception:  # an unreachable cache serves nothing either; entries expire meanwhile
            logger.warning("Could not invalidate the read caches %s", scopes, exc_info=True)

    replace()
    transaction.on_commit(replace)


def songs_changed() -> None:
    """Call after changing what song rows show other than through ``save()``/``delete()`` of catalog models."""
    bump(SONGS)


def cached(name: str, user, parts: Iterable[Any], compute: Callable[[], Any], scopes: Iterable[str] = (SONGS,)) -> Any:
    """``compute()``'s value for this viewer and ``parts`` (what else it depends on, e.g. the URL), while the
    scopes' tokens are those it was computed under: from the cache when so (one round trip), else computed and stored."""
    if not enabled():
        return compute()
    scopes = list(scopes)
    version_keys = [_version_key(scope) for scope in scopes]
    identity = "|".join([viewer(user), *map(str, parts)])
    key = f"{PREFIX}{name}:{hashlib.sha256(identity.encode()).hexdigest()}"
    try:
        found = cache.get_many([*version_keys, key])
        tokens = [found.get(version_key) for version_key in version_keys]
        if None in tokens:
            tokens = versions(scopes)
    except Exception:  # the cache is down: serve from the database
        logger.warning("Read cache unavailable", exc_info=True)
        return compute()
    entry = found.get(key)
    if entry is not None and entry[0] == tokens:
        return entry[1]
    value = compute()
    try:
        cache.set(key, (tokens, value), settings.SKYBEAT_READ_CACHE_S)
    except Exception:
        logger.warning("Could not store %s in the read cache", name, exc_info=True)
    return value


def viewer_scopes(user, *extra: str) -> list[str]:
    """``songs``, plus the member's playlists (their song rows' menus list them), plus ``extra``."""
    return [SONGS, *([playlists_scope(user.pk)] if user.is_authenticated else []), *extra]


def cached_page(request, name: str, scopes: Iterable[str], template: str, context: Callable[[], dict]) -> HttpResponse:
    """``template`` rendered with ``context()``, from the cache for this viewer and full URL when there.

    A request with messages to show is rendered afresh (and not stored). The page is kept as its encoded pieces
    around :data:`CSRF_PLACEHOLDER`, which stands wherever a form has ``{% csrf_token %}``: this response's own
    token joins them (no search through, nor encoding of, the whole page per request).
    """
    def render_page() -> list[bytes]:
        html = render_to_string(template, {**context(), "csrf_token": CSRF_PLACEHOLDER}, request)
        return html.encode(settings.DEFAULT_CHARSET).split(CSRF_PLACEHOLDER.encode())

    if len(get_messages(request)):
        pieces = render_page()
    else:
        pieces = cached(f"html:{name}", request.user, [request.get_full_path()], render_page, scopes)
    return HttpResponse(get_token(request).encode().join(pieces) if len(pieces) > 1 else pieces[0])


class CachedCountPaginator(Paginator):
    """A Paginator whose count (a scan of every matching row) is cached per viewer, path and filters (the query
    string without its page number) while the scopes are unchanged."""

    def __init__(self, object_list, per_page, *, request, scopes: Iterable[str] = (SONGS,)):
        super().__init__(object_list, per_page)
        filters = request.GET.copy()
        filters.pop("page", None)
        self.user, self.parts, self.scopes = request.user, [request.path, filters.urlencode()], list(scopes)

    @cached_property
    def count(self) -> int:
        return cached("count", self.user, self.parts, lambda: Paginator.count.func(self), self.scopes)


# --- What replaces the tokens -------------------------------------------------------------------------------------


def _songs_changed(sender, **kwargs) -> None:
    bump(SONGS)


def _user_saved(sender, update_fields=None, **kwargs) -> None:
    if update_fields is None or "username" in update_fields:  # not on every log-in (last_login)
        bump(SONGS)


def _playlist_changed(sender, instance: Playlist, **kwargs) -> None:
    bump(playlists_scope(instance.owner_id))


def _listen_changed(sender, instance: ListeningEvent, **kwargs) -> None:
    bump(history_scope(instance.user_id))


def connect() -> None:
    """Connect the receivers (from CatalogConfig.ready)."""
    for model in (Song, Genre, GenreLabel):
        post_save.connect(_songs_changed, sender=model, dispatch_uid=f"read_cache.{model.__name__}.saved")
        post_delete.connect(_songs_changed, sender=model, dispatch_uid=f"read_cache.{model.__name__}.deleted")
    user_model = get_user_model()
    post_save.connect(_user_saved, sender=user_model, dispatch_uid="read_cache.user.saved")
    post_delete.connect(_songs_changed, sender=user_model, dispatch_uid="read_cache.user.deleted")
    song_classified.connect(_songs_changed, dispatch_uid="read_cache.song_classified")
    post_save.connect(_playlist_changed, sender=Playlist, dispatch_uid="read_cache.playlist.saved")
    post_delete.connect(_playlist_changed, sender=Playlist, dispatch_uid="read_cache.playlist.deleted")
    post_save.connect(_listen_changed, sender=ListeningEvent, dispatch_uid="read_cache.listen.saved")
    post_delete.connect(_listen_changed, sender=ListeningEvent, dispatch_uid="read_cache.listen.deleted")
