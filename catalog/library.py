"""Artists and albums as entities derived from songs' tags, and what people mark on them (stars, ratings).

An artist is one normalised name ("The  Beatles" and "the beatles" are one artist); an album is one normalised
title of one album artist (the album-artist tag, else the song's artist). Entities are shared by everyone, so what
a person sees of them always goes through the songs they may see (:func:`visible_albums`, :func:`visible_artists`).
"""

from __future__ import annotations

import re
import unicodedata

from django.db.models import QuerySet
from django.utils import timezone

from .audio_probe import clean_text
from .models import Album, Artist, Rating, Song, Star

UNKNOWN_ARTIST = "Unknown artist"
UNKNOWN_ALBUM = "Unknown album"
NAME_LENGTH = 300
RATING_RANGE = range(0, 6)  # 0 removes the rating

LibraryItem = Song | Album | Artist


def name_key(name: str) -> str:
    """The identity of a name: NFKC, case-folded, single spaces."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())[:NAME_LENGTH]


def tag_number(value: object) -> int | None:
    """The first number of a track or disc tag ("3", "3/12", MP4's (3, 12)); None for none, 0 or a huge one."""
    match = re.search(r"\d+", str(value or ""))
    number = int(match.group()) if match else 0
    return number if 0 < number < 1000 else None


# --- Linking songs to their entities -----------------------------------------------------------------------------


def entities_for(artist_name: str, album_artist_name: str, album_title: str, year: int | None) -> tuple:
    """The (artist, album) entities of one song's tag texts, created when new."""
    artist_name = artist_name or UNKNOWN_ARTIST
    album_artist_name = album_artist_name or artist_name
    album_title = album_title or UNKNOWN_ALBUM
    artist = Artist.objects.get_or_create(name_key=name_key(artist_name), defaults={"name": artist_name})[0]
    album_artist = artist
    if name_key(album_artist_name) != artist.name_key:
        album_artist = Artist.objects.get_or_create(
            name_key=name_key(album_artist_name), defaults={"name": album_artist_name})[0]
    album, _ = Album.objects.get_or_create(
        artist=album_artist, title_key=name_key(album_title), defaults={"title": album_title, "year": year})
    if album.year is None and year is not None:
        Album.objects.filter(pk=album.pk, year__isnull=True).update(year=year)
        album.year = year
    return artist, album


def link_song(song: Song, tags: dict[str, str] | None = None) -> None:
    """Give a newly stored song its artist and album entities, and its track and disc numbers, from its tags."""
    tags = tags or {}
    song.library_artist, song.library_album = entities_for(
        song.artist, clean_text(tags.get("albumartist", ""), NAME_LENGTH), song.album, song.year)
    song.track_number, song.disc_number = tag_number(tags.get("track")), tag_number(tags.get("disc"))
    song.save(update_fields=["library_artist", "library_album", "track_number", "disc_number"])


# --- What a person may see ------------------------------------------------------------------------------------


def visible_albums(user) -> QuerySet:
    """Albums with at least one song ``user`` may see."""
    return Album.objects.filter(pk__in=Song.objects.visible_to(user).values("library_album"))


def visible_artists(user) -> QuerySet:
    """Album artists of the albums ``user`` may see."""
    return Artist.objects.filter(pk__in=visible_albums(user).values("artist"))


# --- Stars and ratings ------------------------------------------------------------------------------------------


def _target(item: LibraryItem) -> dict:
    return {type(item).__name__.lower(): item}


def star(user, item: LibraryItem) -> Star:
    return Star.objects.get_or_create(user=user, **_target(item), defaults={"created_at": timezone.now()})[0]


def unstar(user, item: LibraryItem) -> None:
    Star.objects.filter(user=user, **_target(item)).delete()


def set_rating(user, item: LibraryItem, value: int) -> None:
    """Rate 1 to 5 stars; 0 removes the rating. ValueError for anything else."""
    if value not in RATING_RANGE:
        raise ValueError("A rating is a whole number from 0 (no rating) to 5.")
    if value == 0:
        Rating.objects.filter(user=user, **_target(item)).delete()
    else:
        Rating.objects.update_or_create(user=user, **_target(item), defaults={"value": value})
