"""Subsonic ids of SKYBEAT's things, and finding things by id among what a member may see.

Every id says its kind: "tr-12" is song 12, "al-3" album 3, "ar-5" artist 5, "pl-7" playlist 7 and "mood-calm"
the calm mood radio. Endpoints that take any kind (star, setRating, getCoverArt, getMusicDirectory) need that.
Whatever a member may not see answers "not found" (code 70), exactly as what does not exist.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from catalog.library import visible_albums, visible_artists
from catalog.models import Album, Artist, Playlist, Song
from catalog.playlists import visible_playlists

from .responses import SubsonicError

SONG, ALBUM, ARTIST, PLAYLIST, MOOD_RADIO = "tr", "al", "ar", "pl", "mood"
MUSIC_FOLDER_ID = 1
_ID = re.compile(r"^([a-z]+)-([0-9]{1,18}|[a-z]{1,32})$")
_WHAT = {SONG: "Song", ALBUM: "Album", ARTIST: "Artist", PLAYLIST: "Playlist", MOOD_RADIO: "Mood radio"}


def make_id(kind: str, key: int | str) -> str:
    return f"{kind}-{key}"


def split_id(value: str | None) -> tuple[str, str]:
    """(kind, key) of an id; ("", "") for anything that is not one of SKYBEAT's ids."""
    match = _ID.match((value or "").strip())
    return match.groups() if match else ("", "")


def number(value: str | None, kind: str) -> int:
    """The primary key in an id of ``kind``; SubsonicError 70 for an id of another kind or none."""
    found, key = split_id(value)
    if found != kind or not key.isdigit():
        raise SubsonicError.not_found(_WHAT[kind])
    return int(key)


def _get(queryset, value: str | None, kind: str):
    found = queryset.filter(pk=number(value, kind)).first()
    if found is None:
        raise SubsonicError.not_found(_WHAT[kind])
    return found


def visible_song(user, value: str | None, *relations: str) -> Song:
    return _get(Song.objects.visible_to(user).select_related(*relations), value, SONG)


def visible_songs(user, values: Sequence[str], *relations: str) -> list[Song]:
    """The songs of ``values`` in that order (repeats kept); code 70 if any is not one ``user`` may see."""
    keys = [number(value, SONG) for value in values]
    found = Song.objects.visible_to(user).select_related(*relations).in_bulk(set(keys))
    if len(found) < len(set(keys)):
        raise SubsonicError.not_found(_WHAT[SONG])
    return [found[key] for key in keys]


def visible_album(user, value: str | None) -> Album:
    return _get(visible_albums(user).select_related("artist"), value, ALBUM)


def visible_artist(user, value: str | None) -> Artist:
    return _get(visible_artists(user), value, ARTIST)


def visible_playlist(user, value: str | None) -> Playlist:
    return _get(visible_playlists(user).select_related("owner"), value, PLAYLIST)


def library_item(user, value: str | None) -> Song | Album | Artist:
    """The song, album or artist an id names (star, unstar and setRating take any of them)."""
    finders = {SONG: visible_song, ALBUM: visible_album, ARTIST: visible_artist}
    kind, _ = split_id(value)
    if kind not in finders:
        raise SubsonicError.not_found("Song, album or artist")
    return finders[kind](user, value)
