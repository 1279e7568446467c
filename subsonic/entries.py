"""SKYBEAT's things as the Subsonic / OpenSubsonic entries clients read: child (a song), AlbumID3, ArtistID3,
playlist, genre. Fields OpenSubsonic added are always present (empty when unknown), as its spec asks.

Artist and playlist entries carry only the fields the spec defines: some clients build objects from them that
refuse unknown keys.
"""

from __future__ import annotations

from datetime import UTC, datetime

from catalog.audio_probe import FORMATS, content_type
from catalog.library import UNKNOWN_ALBUM, UNKNOWN_ARTIST
from catalog.models import Album, Artist, Playlist, Song

from .lookup import ALBUM, ARTIST, PLAYLIST, SONG, make_id
from .marks import AlbumStats, Marks

IGNORED_ARTICLES = ("The", "A", "An", "El", "La", "Los", "Las", "Le", "Les", "Die", "Der", "Das")


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def compact(entry: dict) -> dict:
    return {key: value for key, value in entry.items() if value is not None}


def sort_name(name: str) -> str:
    """The name without a leading article ("The Beatles" sorts as "Beatles")."""
    first, _, rest = name.partition(" ")
    return rest if rest and first.casefold() in {a.casefold() for a in IGNORED_ARTICLES} else name


def bit_rate_kbps(song: Song) -> int | None:
    if not song.audio.duration_s or not song.audio.size_bytes:
        return None
    return max(1, round(song.audio.size_bytes * 8 / song.audio.duration_s / 1000))


def _person(artist: Artist | None) -> list[dict]:
    return [{"id": make_id(ARTIST, artist.pk), "name": artist.name}] if artist else []


def _user_fields(marks: Marks, kind: str, pk: int) -> dict:
    return {"starred": iso(marks.starred.get((kind, pk))), "userRating": marks.ratings.get((kind, pk)),
            "playCount": marks.plays.get((kind, pk), 0), "played": iso(marks.played.get((kind, pk)))}


def song_entry(song: Song, marks: Marks) -> dict:
    """A song as a Subsonic ``child``; needs library_artist, library_album__artist, top_genre and mood loaded."""
    album, artist = song.library_album, song.library_artist
    album_artist = album.artist if album else artist
    extension = FORMATS.get(song.audio.audio_format, (song.audio.audio_format,))[0]
    mood = getattr(song, "mood", None)
    genre = song.top_genre.name if song.top_genre else None
    folder = "/".join(part.replace("/", "_") for part in (album_artist.name if album_artist else UNKNOWN_ARTIST,
                                                           album.title if album else UNKNOWN_ALBUM))
    track = f"{song.track_number:02d} - " if song.track_number else ""
    return compact({
        "id": make_id(SONG, song.pk),
        "parent": make_id(ALBUM, album.pk) if album else None,
        "isDir": False,
        "title": song.title,
        "album": album.title if album else song.album,
        "artist": artist.name if artist else song.artist,
        "track": song.track_number,
        "discNumber": song.disc_number,
        "year": song.year,
        "genre": genre,
        "coverArt": make_id(ALBUM, album.pk) if album else make_id(SONG, song.pk),
        "size": song.audio.size_bytes,
        "contentType": content_type(song.audio.audio_format),
        "suffix": extension,
        "duration": round(song.audio.duration_s or 0),
        "bitRate": bit_rate_kbps(song),
        "samplingRate": song.audio.sample_rate_hz,
        "channelCount": song.audio.channels,
        "path": f"{folder}/{track}{song.title.replace('/', '_')}.{extension}",
        "created": iso(song.created_at),
        "albumId": make_id(ALBUM, album.pk) if album else None,
        "artistId": make_id(ARTIST, artist.pk) if artist else None,
        "type": "music",
        "mediaType": "song",
        "isVideo": False,
        **_user_fields(marks, "song", song.pk),
        "bpm": 0,
        "comment": "",
        "sortName": "",
        "musicBrainzId": "",
        "genres": [{"name": genre}] if genre else [],
        "moods": [mood.dominant] if mood else [],
        "artists": _person(artist),
        "displayArtist": artist.name if artist else song.artist,
        "albumArtists": _person(album_artist),
        "displayAlbumArtist": album_artist.name if album_artist else "",
    })


def album_entry(album: Album, marks: Marks) -> dict:
    """An AlbumID3 counting only the songs the member may see; needs ``artist`` loaded."""
    stats = marks.albums.get(album.pk) or AlbumStats()
    return compact({
        "id": make_id(ALBUM, album.pk),
        "name": album.title,
        "artist": album.artist.name,
        "artistId": make_id(ARTIST, album.artist_id),
        "coverArt": make_id(ALBUM, album.pk),
        "songCount": stats.song_count,
        "duration": round(stats.duration_s),
        "created": iso(stats.created_at or album.created_at),
        "year": stats.year,
        "genre": stats.genre or None,
        **_user_fields(marks, "album", album.pk),
        "genres": [{"name": stats.genre}] if stats.genre else [],
        "artists": _person(album.artist),
        "displayArtist": album.artist.name,
        "sortName": sort_name(album.title),
        "musicBrainzId": "",
        "isCompilation": False,
        "releaseTypes": [],
        "moods": [],
    })


def album_directory_entry(album: Album, marks: Marks) -> dict:
    """An album as a folder ``child`` of its artist (folder browsing: getMusicDirectory)."""
    return compact({
        "id": make_id(ALBUM, album.pk), "parent": make_id(ARTIST, album.artist_id), "isDir": True,
        "title": album.title, "album": album.title, "artist": album.artist.name, "year": album.year,
        "coverArt": make_id(ALBUM, album.pk), "created": iso(album.created_at),
        "starred": iso(marks.starred.get(("album", album.pk))), "userRating": marks.ratings.get(("album", album.pk)),
        "mediaType": "album",
    })


def artist_entry(artist: Artist, marks: Marks) -> dict:
    """An ArtistID3 (only the spec's fields)."""
    return compact({
        "id": make_id(ARTIST, artist.pk),
        "name": artist.name,
        "coverArt": make_id(ARTIST, artist.pk),
        "albumCount": marks.album_counts.get(artist.pk, 0),
        "starred": iso(marks.starred.get(("artist", artist.pk))),
        "userRating": marks.ratings.get(("artist", artist.pk)),
        "sortName": sort_name(artist.name),
        "musicBrainzId": "",
        "roles": ["albumartist"],
    })


def playlist_entry(playlist: Playlist) -> dict:
    """A playlist; needs ``owner`` loaded and ``song_count`` / ``duration_s`` annotated (catalog.playlists)."""
    return compact({
        "id": make_id(PLAYLIST, playlist.pk),
        "name": playlist.name,
        "comment": playlist.comment,
        "owner": playlist.owner.get_username(),
        "public": playlist.public,
        "songCount": playlist.song_count,
        "duration": round(playlist.duration_s or 0),
        "created": iso(playlist.created_at),
        "changed": iso(playlist.changed_at),
        "coverArt": make_id(PLAYLIST, playlist.pk),
    })
