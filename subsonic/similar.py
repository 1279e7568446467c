"""getSimilarSongs and getSimilarSongs2: songs that sound like a song, an album or an artist (similar.services)."""

from __future__ import annotations

from django.db.models import Q

from catalog.models import Song
from similar.services import songs_like

from .browsing import SONG_RELATIONS, album_songs, songs_payload, visible_songs
from .lookup import ALBUM, ARTIST, SONG, split_id, visible_album, visible_artist, visible_song
from .responses import SubsonicError

#: Songs of an album or artist whose sounds are averaged.
MAX_SEEDS = 50


def seeds(user, item_id: str) -> list[Song]:
    """The visible songs a song, album or artist id names (an artist: their songs and their albums' songs)."""
    kind, _ = split_id(item_id)
    if kind not in (SONG, ALBUM, ARTIST):
        raise SubsonicError.not_found("Song, album or artist")
    if kind == SONG:
        return [visible_song(user, item_id, "audio")]
    if kind == ALBUM:
        return list(album_songs(user, visible_album(user, item_id))[:MAX_SEEDS])
    artist = visible_artist(user, item_id)
    songs = visible_songs(user).filter(Q(library_artist=artist) | Q(library_album__artist=artist))
    return list(songs.order_by("-created_at", "pk")[:MAX_SEEDS])


def similar_songs(user, item_id: str, count: int, key: str) -> dict:
    """``{key: {"song": [...]}}``: the ``count`` visible songs nearest the sound of what ``item_id`` names."""
    found = songs_like(user, seeds(user, item_id), count, related=SONG_RELATIONS) if count else []
    return {key: {"song": songs_payload(user, [neighbour.song for neighbour in found])}}
