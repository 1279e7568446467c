"""Annotation: scrobbles (plays recorded through the catalog, so phone listening shapes the mood profile, and
now-playing), stars and ratings on songs, albums and artists."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from catalog import library
from catalog.services import record_play

from .lookup import library_item, visible_songs
from .models import NowPlaying
from .responses import SubsonicError

#: A scrobble time this far ahead of the server's clock is a client error, not a clock drift.
FUTURE_TOLERANCE = timedelta(hours=1)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


def scrobble_times(times_ms: Sequence[int], count: int) -> list[datetime | None]:
    """The instants of ``count`` scrobbles (milliseconds since the epoch; None: now). Code 0 when out of range."""
    if times_ms and len(times_ms) != count:
        raise SubsonicError.invalid("Give one time per id, or none.")
    latest_ms = (timezone.now() + FUTURE_TOLERANCE).timestamp() * 1000
    if any(not EARLIEST.timestamp() * 1000 <= ms <= latest_ms for ms in times_ms):
        raise SubsonicError.invalid("Parameter time must be milliseconds since 1970, not in the future.")
    return [datetime.fromtimestamp(ms / 1000, UTC) for ms in times_ms] if times_ms else [None] * count


def scrobble(user, song_ids: Sequence[str], times_ms: Sequence[int], submission: bool, client: str) -> None:
    """submission=true: each song was played (a counted listening event); false: the last one is playing now."""
    songs = visible_songs(user, song_ids)
    instants = scrobble_times(times_ms, len(songs))
    if not submission:
        NowPlaying.objects.update_or_create(user=user, client=client,
                                            defaults={"song": songs[-1], "updated_at": timezone.now()})
        return
    with transaction.atomic():
        for song, instant in zip(songs, instants):
            record_play(user, song, instant)


def _items(user, ids: Sequence[str], album_ids: Sequence[str], artist_ids: Sequence[str]) -> list:
    items = [library_item(user, value) for value in [*ids, *album_ids, *artist_ids]]
    if not items:
        raise SubsonicError.missing("id, albumId or artistId")
    return items


def star(user, ids: Sequence[str], album_ids: Sequence[str], artist_ids: Sequence[str]) -> None:
    with transaction.atomic():
        for item in _items(user, ids, album_ids, artist_ids):
            library.star(user, item)


def unstar(user, ids: Sequence[str], album_ids: Sequence[str], artist_ids: Sequence[str]) -> None:
    for item in _items(user, ids, album_ids, artist_ids):
        library.unstar(user, item)


def set_rating(user, item_id: str, rating: int) -> None:
    try:
        library.set_rating(user, library_item(user, item_id), rating)
    except ValueError as exc:
        raise SubsonicError.invalid(str(exc)) from exc
