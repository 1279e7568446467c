"""What a page of songs, albums and artists looks like to one member: their stars, ratings and plays, and the
counts of albums and artists over the songs they may see. A few grouped queries per page, none per row."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Max, Min, Q, Sum

from catalog.library import visible_albums
from catalog.models import Album, Artist, ListeningEvent, Rating, Song, Star


@dataclass
class AlbumStats:
    song_count: int = 0
    duration_s: float = 0.0
    created_at: datetime | None = None
    year: int | None = None
    genre: str = ""


@dataclass
class Marks:
    """Keyed by (kind, pk) with kind "song", "album" or "artist"."""

    starred: dict[tuple[str, int], datetime] = field(default_factory=dict)
    ratings: dict[tuple[str, int], int] = field(default_factory=dict)
    plays: dict[tuple[str, int], int] = field(default_factory=dict)
    played: dict[tuple[str, int], datetime] = field(default_factory=dict)
    albums: dict[int, AlbumStats] = field(default_factory=dict)
    album_counts: dict[int, int] = field(default_factory=dict)


def load_marks(user, songs: Iterable[Song] = (), albums: Iterable[Album] = (), artists: Iterable[Artist] = ()) -> Marks:
    ids = {"song": {s.pk for s in songs}, "album": {a.pk for a in albums}, "artist": {a.pk for a in artists}}
    marks = Marks()
    if not any(ids.values()):
        return marks
    named = Q(song_id__in=ids["song"]) | Q(album_id__in=ids["album"]) | Q(artist_id__in=ids["artist"])
    for song_id, album_id, artist_id, starred_at in Star.objects.filter(named, user=user).values_list(
            "song_id", "album_id", "artist_id", "created_at"):
        marks.starred[_key(song_id, album_id, artist_id)] = starred_at
    for song_id, album_id, artist_id, value in Rating.objects.filter(named, user=user).values_list(
            "song_id", "album_id", "artist_id", "value"):
        marks.ratings[_key(song_id, album_id, artist_id)] = value
    plays = ListeningEvent.objects.filter(user=user, counted=True).order_by()
    for kind, column, wanted in (("song", "song_id", ids["song"]), ("album", "song__library_album", ids["album"])):
        if wanted:
            for key, count, last in plays.filter(**{f"{column}__in": wanted}).values_list(column).annotate(
                    Count("pk"), Max("started_at")):
                marks.plays[kind, key], marks.played[kind, key] = count, last
    marks.albums = album_stats(user, ids["album"])
    marks.album_counts = album_counts(user, ids["artist"])
    return marks


def _key(song_id: int | None, album_id: int | None, artist_id: int | None) -> tuple[str, int]:
    if song_id is not None:
        return "song", song_id
    return ("album", album_id) if album_id is not None else ("artist", artist_id)


def album_stats(user, album_ids: Iterable[int]) -> dict[int, AlbumStats]:
    """Songs, duration, first upload, year and most frequent genre of each album, over the songs ``user`` may see
    (a private song in a shared album changes nothing others see of it)."""
    album_ids = set(album_ids)
    if not album_ids:
        return {}
    songs = Song.objects.visible_to(user).filter(library_album__in=album_ids).order_by()
    stats = {album: AlbumStats(count, duration or 0.0, created, year)
             for album, count, duration, created, year in songs.values_list("library_album").annotate(
                 Count("pk"), Sum("audio__duration_s"), Min("created_at"), Min("year"))}
    genre_counts = songs.filter(top_genre__isnull=False).values_list("library_album", "top_genre__name").annotate(
        n=Count("pk")).order_by("library_album", "-n", "top_genre__name")
    for album, genre, _ in genre_counts:
        if not stats[album].genre:
            stats[album].genre = genre
    return stats


def album_counts(user, artist_ids: Iterable[int]) -> dict[int, int]:
    """How many albums ``user`` may see of each artist."""
    artist_ids = set(artist_ids)
    if not artist_ids:
        return {}
    return dict(visible_albums(user).filter(artist__in=artist_ids).order_by().values_list("artist").annotate(Count("pk")))
