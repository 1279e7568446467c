"""Media: stream (the file itself, with Range; or transcoded by ffmpeg to MP3 or Opus while it plays), download
and cover art (the embedded picture, scaled, or a placeholder)."""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header

from catalog.audio_probe import FORMATS
from catalog.covers import Picture, clamp_size, embedded_picture, placeholder, scaled_picture
from catalog.models import Song
from catalog.playlists import visible_entries
from catalog.streaming import stream_song
from moods.profile import MOOD_COLOURS

from .browsing import album_songs
from .entries import bit_rate_kbps
from .lookup import (ALBUM, ARTIST, MOOD_RADIO, PLAYLIST, SONG, split_id, visible_album, visible_artist,
                     visible_playlist, visible_song)
from .responses import SubsonicError

#: Target format -> (ffmpeg encoder, ffmpeg muxer, Content-Type, default kbps, extra encoder options)
TRANSCODINGS = {
    "mp3": ("libmp3lame", "mp3", "audio/mpeg", 192, ()),
    "opus": ("libopus", "ogg", "audio/ogg", 128, ("-ar", "48000")),
}
MIN_KBPS, MAX_KBPS = 32, 320
CHUNK_BYTES = 64 * 1024
COVER_CANDIDATES = 5  # songs of an album looked at for an embedded picture before settling for a placeholder
COVER_CACHE = "private, max-age=86400"


@dataclass(frozen=True)
class Transcoding:
    target: str
    kbps: int
    offset_s: int = 0


def plan_transcoding(song: Song, requested: str | None, max_kbps: int | None, offset_s: int = 0) -> Transcoding | None:
    """None to send the file as it is: asked "raw", or already in the asked format within ``max_kbps``.

    Without a supported format, a file over ``max_kbps`` becomes MP3. ``offset_s`` applies to transcodings only.
    """
    target = (requested or "").lower()
    if target == "raw":
        return None
    over_limit = bool(max_kbps) and (bit_rate_kbps(song) or 0) > max_kbps
    if target not in TRANSCODINGS:
        if not over_limit:
            return None
        target = "mp3"
    if target == song.audio.audio_format and not over_limit and not offset_s:
        return None
    kbps = max(MIN_KBPS, min(MAX_KBPS, max_kbps or TRANSCODINGS[target][3]))
    return Transcoding(target, kbps, max(0, offset_s))


def stream(request: HttpRequest, song: Song, transcoding: Transcoding | None) -> HttpResponse:
    if transcoding is None:
        return stream_song(request, song)
    if not shutil.which("ffmpeg"):
        raise SubsonicError.invalid("This server has no ffmpeg to transcode with: ask for format=raw.")
    encoder, muxer, mime, _, options = TRANSCODINGS[transcoding.target]
    if request.method == "HEAD":
        return _transcoded_headers(HttpResponse(content_type=mime))
    seek = ["-ss", str(transcoding.offset_s)] if transcoding.offset_s else []
    source, feed = _ffmpeg_input(song)
    command = ["ffmpeg", "-nostdin", "-v", "error", *seek, "-i", source, "-map", "0:a:0", "-vn", "-map_metadata", "-1",
               "-c:a", encoder, "-b:a", f"{transcoding.kbps}k", *options, "-f", muxer, "pipe:1"]
    process = subprocess.Popen(command, stdin=subprocess.PIPE if feed else subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    if feed:
        threading.Thread(target=feed, args=(process.stdin,), daemon=True).start()
    output = _read_output(process)
    first = next(output, b"")
    if not first:
        output.close()
        raise SubsonicError.invalid("This song could not be transcoded; ask for format=raw.")
    return _transcoded_headers(StreamingHttpResponse(_prepend(first, output), content_type=mime))


def _transcoded_headers(response: HttpResponse) -> HttpResponse:
    response["Accept-Ranges"] = "none"  # the length is unknown until ffmpeg is done
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _ffmpeg_input(song: Song):
    """ffmpeg's input: the stored file's path, else "pipe:0" and a function copying the file into ffmpeg's stdin."""
    try:
        return default_storage.path(song.audio.file.name), None
    except NotImplementedError:  # a storage without local paths
        def feed(stdin) -> None:
            try:
                with default_storage.open(song.audio.file.name, "rb") as source:
                    shutil.copyfileobj(source, stdin, CHUNK_BYTES)
            except (BrokenPipeError, OSError):
                pass  # ffmpeg stopped reading: the listener went away
            finally:
                stdin.close()

        return "pipe:0", feed


def _read_output(process: subprocess.Popen) -> Iterator[bytes]:
    """ffmpeg's output as it comes; ffmpeg is stopped when the listener goes away (the generator is closed)."""
    try:
        while chunk := process.stdout.read1(CHUNK_BYTES):
            yield chunk
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        process.stdout.close()


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    """``first`` then ``rest``, closing ``rest`` when closed itself (the response closes its content)."""
    try:
        yield first
        yield from rest
    finally:
        rest.close()


def download(request: HttpRequest, song: Song) -> HttpResponse:
    response = stream_song(request, song)
    extension = FORMATS.get(song.audio.audio_format, (song.audio.audio_format,))[0]
    name = f"{song.artist} - {song.title}" if song.artist else song.title
    response["Content-Disposition"] = content_disposition_header(True, f"{name.replace('/', '_')}.{extension}")
    return response


# --- Cover art ------------------------------------------------------------------------------------------------


def cover_art(user, cover_id: str, size: int | None) -> HttpResponse:
    """The picture of a song, album, artist, playlist or mood radio the member may see; code 70 otherwise."""
    size = clamp_size(size)
    kind, key = split_id(cover_id)
    if kind == SONG:
        song = visible_song(user, cover_id, "library_album__artist")
        picture = _first_picture([song], size) or _album_cover(user, song.library_album, size, song.title)
    elif kind == ALBUM:
        picture = _album_cover(user, visible_album(user, cover_id), size)
    elif kind == ARTIST:
        artist = visible_artist(user, cover_id)
        songs = Song.objects.visible_to(user).filter(library_album__artist=artist).order_by("library_album", "pk")
        picture = _first_picture(songs, size) or placeholder(f"artist {artist.name_key}", size)
    elif kind == PLAYLIST:
        playlist = visible_playlist(user, cover_id)
        entries = visible_entries(playlist, user).select_related("song")
        picture = _first_picture((entry.song for entry in entries), size) or placeholder(f"playlist {playlist.pk}", size)
    elif kind == MOOD_RADIO and key in MOOD_COLOURS:
        picture = placeholder(f"mood {key}", size, MOOD_COLOURS[key])
    else:
        raise SubsonicError.not_found("Cover art")
    response = HttpResponse(picture.data, content_type=picture.content_type)
    response["Cache-Control"] = COVER_CACHE
    return response


def _album_cover(user, album, size: int | None, fallback_seed: str = "") -> Picture:
    if album is None:
        return placeholder(f"song {fallback_seed}", size)
    return _first_picture(album_songs(user, album), size) or placeholder(f"album {album.pk} {album.title_key}", size)


def _first_picture(songs: Iterable[Song], size: int | None) -> Picture | None:
    """The first readable embedded picture among the first few songs."""
    for song in islice(songs, COVER_CANDIDATES):
        data = embedded_picture(song)
        picture = scaled_picture(data, size) if data else None
        if picture is not None:
            return picture
    return None
