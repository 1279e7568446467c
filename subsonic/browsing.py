"""Browsing and searching: the music folder, artist indexes, artists, albums, songs, folders, genres, search3.

Everything goes through the songs the member may see: an album of somebody's private songs, or a private song in a
shared album, does not exist for anybody else.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from django.db.models import Count, Max, Q, QuerySet

from catalog import services as catalog_services
from catalog.library import visible_albums, visible_artists
from catalog.models import Album, Artist, Genre, Song

from .entries import (IGNORED_ARTICLES, album_directory_entry, album_entry, artist_entry, compact, iso, song_entry,
                      sort_name)
from .lookup import ALBUM, ARTIST, MUSIC_FOLDER_ID, make_id, split_id, visible_album, visible_artist
from .marks import load_marks
from .responses import SubsonicError

SONG_RELATIONS = ("audio", "library_artist", "library_album__artist", "top_genre", "mood")
ALBUM_SONG_ORDER = ("disc_number", "track_number", "title", "pk")
MUSIC_FOLDER_NAME = "SKYBEAT library"


def songs_payload(user, songs: Iterable[Song]) -> list[dict]:
    songs = list(songs)
    marks = load_marks(user, songs=songs)
    return [song_entry(song, marks) for song in songs]


def albums_payload(user, albums: Iterable[Album]) -> list[dict]:
    albums = list(albums)
    marks = load_marks(user, albums=albums)
    return [album_entry(album, marks) for album in albums]


def artists_payload(user, artists: Iterable[Artist]) -> list[dict]:
    artists = list(artists)
    marks = load_marks(user, artists=artists)
    return [artist_entry(artist, marks) for artist in artists]


def visible_songs(user) -> QuerySet:
    return Song.objects.visible_to(user).select_related(*SONG_RELATIONS).defer("timeline")


def check_music_folder(folder_id: str | None) -> None:
    """There is one music folder, the whole library; another id names nothing."""
    if folder_id not in (None, "", str(MUSIC_FOLDER_ID)):
        raise SubsonicError.not_found("Music folder")


def music_folders() -> dict:
    return {"musicFolders": {"musicFolder": [{"id": MUSIC_FOLDER_ID, "name": MUSIC_FOLDER_NAME}]}}


def index_letter(name: str) -> str:
    first = unicodedata.normalize("NFKD", sort_name(name))[:1].upper()
    return first if first.isalpha() else "#"


def artist_index(user) -> list[dict]:
    """Album artists grouped under the first letter of their name, articles ignored ("The Beatles" under B)."""
    entries = sorted(artists_payload(user, visible_artists(user)), key=lambda entry: entry["sortName"].casefold())
    index: dict[str, list[dict]] = {}
    for entry in entries:
        index.setdefault(index_letter(entry["name"]), []).append(entry)
    return [{"name": letter, "artist": index[letter]} for letter in sorted(index, key=lambda x: (x == "#", x))]


def artists(user) -> dict:
    return {"artists": {"ignoredArticles": " ".join(IGNORED_ARTICLES), "index": artist_index(user)}}


def indexes(user, if_modified_since_ms: int | None) -> dict:
    """The folder-style index; without ``index`` when nothing was added since ``ifModifiedSince``."""
    last = Song.objects.visible_to(user).aggregate(last=Max("created_at"))["last"]
    last_ms = int(last.timestamp() * 1000) if last else 0
    body = {"ignoredArticles": " ".join(IGNORED_ARTICLES), "lastModified": last_ms}
    if if_modified_since_ms is None or last_ms > if_modified_since_ms:
        body.update(shortcut=[], index=artist_index(user), child=[])
    return {"indexes": body}


def artist_albums(user, artist: Artist) -> QuerySet:
    return visible_albums(user).filter(artist=artist).select_related("artist").order_by("year", "title_key", "pk")


def album_songs(user, album: Album) -> QuerySet:
    return visible_songs(user).filter(library_album=album).order_by(*ALBUM_SONG_ORDER)


def artist(user, artist_id: str) -> dict:
    found = visible_artist(user, artist_id)
    return {"artist": {**artists_payload(user, [found])[0], "album": albums_payload(user, artist_albums(user, found))}}


def album(user, album_id: str) -> dict:
    found = visible_album(user, album_id)
    return {"album": {**albums_payload(user, [found])[0], "song": songs_payload(user, album_songs(user, found))}}


def music_directory(user, directory_id: str) -> dict:
    """An artist is a folder of album folders; an album a folder of songs."""
    kind, _ = split_id(directory_id)
    if kind == ARTIST:
        found = visible_artist(user, directory_id)
        albums = list(artist_albums(user, found))
        marks = load_marks(user, albums=albums, artists=[found])
        children = [album_directory_entry(item, marks) for item in albums]
        return {"directory": compact({"id": directory_id, "name": found.name, "child": children,
                                      "starred": iso(marks.starred.get(("artist", found.pk)))})}
    if kind == ALBUM:
        found = visible_album(user, directory_id)
        return {"directory": {"id": directory_id, "parent": make_id(ARTIST, found.artist_id), "name": found.title,
                              "child": songs_payload(user, album_songs(user, found))}}
    raise SubsonicError.not_found("Directory")


def genres(user) -> dict:
    """SKYBEAT's genres (its classifier's), each with the songs and albums the member may see in it."""
    albums = dict(Song.objects.visible_to(user).filter(top_genre__isnull=False).order_by()
                  .values_list("top_genre").annotate(Count("library_album", distinct=True)))
    return {"genres": {"genre": [{"value": genre.name, "songCount": genre.song_count, "albumCount": albums.get(genre.pk, 0)}
                                 for genre in catalog_services.genres_with_counts(user)]}}


def genre_named(name: str) -> Genre | None:
    """The genre a client names (clients send the names getGenres gave; slugs are accepted too)."""
    return Genre.objects.filter(Q(name__iexact=name) | Q(slug=name)).first()


def search3(user, query: str, counts: dict[str, int], offsets: dict[str, int]) -> dict:
    """Artists, albums and songs whose names hold every word of ``query``; an empty query (or "") lists everything,
    which is how some apps sync the whole library page by page."""
    words = query.strip().strip('"').split()
    songs, albums, found_artists = visible_songs(user), visible_albums(user).select_related("artist"), visible_artists(user)
    for word in words:
        songs = songs.filter(Q(title__icontains=word) | Q(artist__icontains=word) | Q(album__icontains=word))
        albums = albums.filter(Q(title__icontains=word) | Q(artist__name__icontains=word))
        found_artists = found_artists.filter(name__icontains=word)

    def page(queryset: QuerySet, kind: str, *order: str) -> QuerySet:
        return queryset.order_by(*order)[offsets[kind]:offsets[kind] + counts[kind]]

    return {"searchResult3": {
        "artist": artists_payload(user, page(found_artists, "artist", "name_key", "pk")),
        "album": albums_payload(user, page(albums, "album", "title_key", "pk")),
        "song": songs_payload(user, page(songs, "song", "title", "pk")),
    }}
