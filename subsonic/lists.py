"""Lists: getAlbumList2 of every type, random songs, songs of a genre, starred things, what is playing now."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Max, Min, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from catalog.library import visible_albums, visible_artists
from catalog.models import Rating, Song, Star

from .browsing import albums_payload, artists_payload, genre_named, songs_payload, visible_songs
from .models import NowPlaying
from .responses import SubsonicError

NOW_PLAYING_FOR = timedelta(minutes=15)  # an app that said nothing since has stopped playing


def _mark_subquery(model, user, column: str) -> Subquery:
    return Subquery(model.objects.filter(user=user, album=OuterRef("pk")).values(column)[:1])


def _plays(user) -> Q:
    return Q(songs__listens__user=user, songs__listens__counted=True)


def album_list(user, list_type: str, *, size: int, offset: int, from_year: int | None = None,
               to_year: int | None = None, genre: str = "") -> dict:
    """getAlbumList2: the albums the member may see, in the order ``list_type`` names."""
    albums = visible_albums(user).select_related("artist")
    if list_type == "random":
        albums = albums.order_by("?")
    elif list_type == "newest":
        albums = albums.order_by("-created_at", "-pk")
    elif list_type == "alphabeticalByName":
        albums = albums.order_by("title_key", "pk")
    elif list_type == "alphabeticalByArtist":
        albums = albums.order_by("artist__name_key", "title_key", "pk")
    elif list_type == "frequent":
        albums = albums.annotate(plays=Count("songs__listens", filter=_plays(user))).filter(plays__gt=0) \
            .order_by("-plays", "pk")
    elif list_type == "recent":
        albums = albums.annotate(last=Max("songs__listens__started_at", filter=_plays(user))) \
            .filter(last__isnull=False).order_by("-last", "pk")
    elif list_type == "starred":
        albums = albums.annotate(starred_at=_mark_subquery(Star, user, "created_at")) \
            .filter(starred_at__isnull=False).order_by("-starred_at", "pk")
    elif list_type == "highest":
        albums = albums.annotate(rating=_mark_subquery(Rating, user, "value")) \
            .filter(rating__isnull=False).order_by("-rating", "title_key", "pk")
    elif list_type == "byYear":
        albums = _by_year(albums, user, from_year, to_year)
    elif list_type == "byGenre":
        albums = _by_genre(albums, user, genre)
    else:
        raise SubsonicError.invalid(
            f"Unknown list type {list_type!r}: use random, newest, highest, frequent, recent, alphabeticalByName, "
            "alphabeticalByArtist, starred, byYear or byGenre.")
    return {"albumList2": {"album": albums_payload(user, albums[offset:offset + size])}}


def _by_year(albums: QuerySet, user, from_year: int | None, to_year: int | None) -> QuerySet:
    """Albums with songs of those years the member may see; a reversed range lists newest first, as Subsonic."""
    if from_year is None:
        raise SubsonicError.missing("fromYear")
    if to_year is None:
        raise SubsonicError.missing("toYear")
    first, last = sorted((from_year, to_year))
    in_range = Song.objects.visible_to(user).filter(year__gte=first, year__lte=last)
    return albums.filter(pk__in=in_range.values("library_album")).annotate(
        first_year=Min("songs__year", filter=Q(songs__in=in_range))).order_by(
        "-first_year" if from_year > to_year else "first_year", "title_key", "pk")


def _by_genre(albums: QuerySet, user, genre: str) -> QuerySet:
    if not genre:
        raise SubsonicError.missing("genre")
    found = genre_named(genre)
    if found is None:
        return albums.none()
    in_genre = Song.objects.visible_to(user).filter(top_genre=found).values("library_album")
    return albums.filter(pk__in=in_genre).order_by("title_key", "pk")


def random_songs(user, *, size: int, genre: str = "", from_year: int | None = None, to_year: int | None = None) -> dict:
    songs = visible_songs(user)
    if genre:
        found = genre_named(genre)
        songs = songs.filter(top_genre=found) if found else songs.none()
    if from_year is not None:
        songs = songs.filter(year__gte=from_year)
    if to_year is not None:
        songs = songs.filter(year__lte=to_year)
    return {"randomSongs": {"song": songs_payload(user, songs.order_by("?")[:size])}}


def songs_by_genre(user, genre: str, *, count: int, offset: int) -> dict:
    """The genre's songs, most confidently classified first."""
    found = genre_named(genre)
    songs = visible_songs(user).filter(top_genre=found).order_by("-top_probability", "pk") if found else Song.objects.none()
    return {"songsByGenre": {"song": songs_payload(user, songs[offset:offset + count])}}


def starred(user) -> dict:
    stars = Star.objects.filter(user=user)
    return {"starred2": {
        "artist": artists_payload(user, visible_artists(user).filter(pk__in=stars.filter(artist__isnull=False)
                                                                     .values("artist"))),
        "album": albums_payload(user, visible_albums(user).select_related("artist").filter(
            pk__in=stars.filter(album__isnull=False).values("album"))),
        "song": songs_payload(user, visible_songs(user).filter(pk__in=stars.filter(song__isnull=False)
                                                               .values("song")).order_by("title", "pk")),
    }}


def now_playing(user) -> dict:
    """What the member's own apps are playing (listening is personal in SKYBEAT: nobody sees another's)."""
    now = timezone.now()
    rows = list(NowPlaying.objects.filter(user=user, updated_at__gte=now - NOW_PLAYING_FOR).order_by("-updated_at"))
    songs = visible_songs(user).in_bulk([row.song_id for row in rows])
    playing = [row for row in rows if row.song_id in songs]
    entries = songs_payload(user, [songs[row.song_id] for row in playing])
    return {"nowPlaying": {"entry": [
        {**entry, "username": user.get_username(), "minutesAgo": int((now - row.updated_at).total_seconds() // 60),
         "playerId": row.pk, "playerName": row.client}
        for entry, row in zip(entries, playing)]}}
