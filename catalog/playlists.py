"""People's playlists: create, fill, reorder by removal, share, delete.

A playlist may hold songs its owner can no longer see (another member made theirs private): they stay in it but
reach nobody who may not see them. Positions that people give (to remove a song) count only the songs they see.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import transaction
from django.db.models import Count, Max, Prefetch, Q, QuerySet, Sum

from . import extensions
from .audio_probe import clean_text
from .models import Playlist, PlaylistEntry, Song

MAX_SONGS = 5000
NAME_LENGTH = Playlist._meta.get_field("name").max_length
COMMENT_LENGTH = Playlist._meta.get_field("comment").max_length


def visible_playlists(user) -> QuerySet:
    """The user's own playlists and the public ones of others."""
    if not user.is_authenticated:
        return Playlist.objects.filter(public=True)
    return Playlist.objects.filter(Q(owner=user) | Q(public=True))


def can_edit(playlist: Playlist, user) -> bool:
    return user.is_authenticated and playlist.owner_id == user.pk


def with_counts(playlists: QuerySet, user) -> QuerySet:
    """Each playlist with ``song_count`` and ``duration_s`` of the songs ``user`` may see in it."""
    seen = Q(entries__song__in=Song.objects.visible_to(user))
    return playlists.annotate(song_count=Count("entries", filter=seen),
                              duration_s=Sum("entries__song__audio__duration_s", filter=seen))


def visible_entries(playlist: Playlist, user) -> QuerySet:
    """The entries of songs ``user`` may see, in playlist order."""
    return playlist.entries.filter(song__in=Song.objects.visible_to(user)).order_by("position", "id")


def playlist_songs(playlist: Playlist, user, relations: Sequence[str] = (), *, song_table: bool = False) -> list[Song]:
    """The songs ``user`` sees in the playlist, in order; ``song_table``: with what the other apps' columns show."""
    entries = visible_entries(playlist, user)
    if song_table:
        songs = extensions.extend_song_list(Song.objects.select_related("top_genre", *relations))
        entries = entries.prefetch_related(Prefetch("song", queryset=songs))
    else:
        entries = entries.select_related(*(f"song__{name}" for name in ("top_genre", *relations)))
    return [entry.song for entry in entries]


def clean_name(name: str) -> str:
    name = clean_text(name or "", NAME_LENGTH)
    if not name:
        raise ValueError("A playlist needs a name.")
    return name


@transaction.atomic
def create_playlist(owner, name: str, songs: Iterable[Song] = (), *, comment: str = "", public: bool = False) -> Playlist:
    playlist = Playlist.objects.create(owner=owner, name=clean_name(name), comment=clean_text(comment, COMMENT_LENGTH),
                                       public=public)
    add_songs(playlist, songs)
    return playlist


@transaction.atomic
def update_playlist(playlist: Playlist, *, name: str | None = None, comment: str | None = None,
                    public: bool | None = None) -> Playlist:
    if name is not None:
        playlist.name = clean_name(name)
    if comment is not None:
        playlist.comment = clean_text(comment, COMMENT_LENGTH)
    if public is not None:
        playlist.public = public
    playlist.save()
    return playlist


def add_songs(playlist: Playlist, songs: Iterable[Song]) -> None:
    """Append ``songs`` in order (a song may appear several times). ValueError past MAX_SONGS."""
    songs = list(songs)
    if not songs:
        return
    with transaction.atomic():
        Playlist.objects.select_for_update().filter(pk=playlist.pk).first()  # one writer at a time: positions stay unique
        if playlist.entries.count() + len(songs) > MAX_SONGS:
            raise ValueError(f"A playlist holds at most {MAX_SONGS} songs.")
        start = (playlist.entries.aggregate(last=Max("position"))["last"] or 0) + 1
        PlaylistEntry.objects.bulk_create(
            PlaylistEntry(playlist=playlist, song=song, position=start + i) for i, song in enumerate(songs))
        playlist.save(update_fields=["changed_at"])


@transaction.atomic
def replace_songs(playlist: Playlist, songs: Iterable[Song], user) -> None:
    """The playlist's songs ``user`` may see become ``songs``; songs hidden from them stay in it."""
    visible_entries(playlist, user).delete()
    add_songs(playlist, songs)
    playlist.save(update_fields=["changed_at"])


@transaction.atomic
def remove_positions(playlist: Playlist, user, positions: Iterable[int]) -> int:
    """Remove the songs at these 0-based positions of the playlist as ``user`` sees it; returns how many.

    IndexError (and nothing removed) when a position is outside the playlist.
    """
    positions = set(positions)
    entry_ids = list(visible_entries(playlist, user).values_list("pk", flat=True))
    if any(not 0 <= position < len(entry_ids) for position in positions):
        raise IndexError(f"This playlist has {len(entry_ids)} song(s): positions go from 0 to {len(entry_ids) - 1}.")
    removed, _ = PlaylistEntry.objects.filter(pk__in=[entry_ids[position] for position in positions]).delete()
    playlist.save(update_fields=["changed_at"])
    return removed


def delete_playlist(playlist: Playlist) -> None:
    playlist.delete()
