"""stream (the file with Range; transcoded by ffmpeg to MP3 or Opus as it plays), download, getCoverArt."""

import json
import subprocess
from io import BytesIO

import pytest
from django.core.files.storage import default_storage
from django.http import StreamingHttpResponse
from PIL import Image

from subsonic.entries import bit_rate_kbps
from subsonic.media import plan_transcoding
from tests import audio_fixtures
from tests.catalog_factories import fast_passwords, media_root  # noqa: F401
from tests.subsonic_helpers import alice, library, png_bytes, song_id, upload  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords", "media_root")]


def file_bytes(song) -> bytes:
    with default_storage.open(song.audio_file.name, "rb") as handle:
        return handle.read()


def probe(data: bytes, tmp_path) -> dict:
    path = tmp_path / "out.bin"
    path.write_bytes(data)
    report = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,bit_rate:format=format_name,duration",
                             "-of", "json", str(path)], capture_output=True, text=True, check=True)
    return json.loads(report.stdout)


def test_stream_sends_the_file_with_range_support(alice, library):
    whole = alice.raw("stream", {"id": song_id(library.private)})
    assert whole.status_code == 200 and whole["Content-Type"] == "audio/flac" and whole["Accept-Ranges"] == "bytes"
    data = b"".join(whole.streaming_content)
    assert data == file_bytes(library.private)
    part = alice.raw("stream.view", {"id": song_id(library.private)}, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and b"".join(part.streaming_content) == data[100:200]
    assert part["Content-Range"] == f"bytes 100-199/{len(data)}"
    raw = alice.raw("stream", {"id": song_id(library.first), "format": "raw", "maxBitRate": 32})
    assert b"".join(raw.streaming_content) == file_bytes(library.first)


@pytest.mark.parametrize("target, codec, mime", [("mp3", "mp3", "audio/mpeg"), ("opus", "opus", "audio/ogg")])
def test_stream_transcodes_while_playing(alice, library, tmp_path, target, codec, mime):
    response = alice.raw("stream", {"id": song_id(library.private), "format": target, "maxBitRate": 96})
    assert isinstance(response, StreamingHttpResponse) and response["Content-Type"] == mime
    assert response["Accept-Ranges"] == "none" and not response.has_header("Content-Length")
    data = b"".join(response.streaming_content)
    report = probe(data, tmp_path)
    assert report["streams"][0]["codec_name"] == codec
    assert float(report["format"]["duration"]) == pytest.approx(2.0, abs=0.15)


def test_a_bit_rate_limit_alone_transcodes_to_mp3_and_a_time_offset_skips(alice, library, tmp_path):
    flac = library.private
    response = alice.raw("stream", {"id": song_id(flac), "maxBitRate": 64, "timeOffset": 1})
    assert response["Content-Type"] == "audio/mpeg"
    report = probe(b"".join(response.streaming_content), tmp_path)
    assert float(report["format"]["duration"]) == pytest.approx(1.0, abs=0.15)


def test_head_answers_the_headers_of_a_stream(alice, library):
    params = {**alice.credentials(), "id": song_id(library.private)}
    raw = alice.client.head("/rest/stream", params)
    assert raw.status_code == 200 and int(raw["Content-Length"]) == len(file_bytes(library.private))
    transcoded = alice.client.head("/rest/stream", {**params, "format": "mp3"})
    assert transcoded["Content-Type"] == "audio/mpeg" and transcoded.content == b""


def ffmpeg_running_on(song) -> bool:
    processes = subprocess.run(["ps", "-eww", "-o", "args"], capture_output=True, text=True).stdout.splitlines()
    return any(line.startswith("ffmpeg") and "pipe:1" in line and song.sha256 in line for line in processes)


def test_a_transcoding_is_streamed_as_it_is_made_and_stops_with_the_listener(alice, user, tmp_path):
    long_song = upload(user, audio_fixtures.write_long_wav(tmp_path / "long.wav", seconds=600))
    response = alice.raw("stream", {"id": song_id(long_song), "format": "mp3"})
    content = iter(response.streaming_content)
    assert next(content) and ffmpeg_running_on(long_song)  # ~14 MB of MP3 to come: nothing was made whole first
    response.close()  # what the server does when the listener goes away
    assert not ffmpeg_running_on(long_song) and list(content) == []


def test_transcoding_plans(library):
    mp3 = library.first
    below = bit_rate_kbps(mp3) - 1
    assert plan_transcoding(mp3, None, None) is None
    assert plan_transcoding(mp3, "raw", 8) is None
    assert plan_transcoding(mp3, "mp3", None) is None  # already MP3
    assert plan_transcoding(mp3, "mp3", below + 1) is None  # already MP3 within the limit
    assert plan_transcoding(mp3, "flac", None) is None  # unsupported target, no limit: the file as it is
    assert plan_transcoding(mp3, "opus", 500).target == "opus"
    limited = plan_transcoding(mp3, "aac", below)
    assert (limited.target, limited.kbps) == ("mp3", max(32, below))
    assert plan_transcoding(mp3, "mp3", 8).kbps == 32 and plan_transcoding(library.private, "opus", 0).kbps == 128


def test_a_song_that_cannot_be_transcoded_is_a_clear_error(alice, library):
    with default_storage.open(library.private.audio_file.name, "wb") as handle:
        handle.write(b"no longer audio")
    assert alice.error("stream", {"id": song_id(library.private), "format": "mp3"}) == 0


def test_download_is_an_attachment_of_the_original_file(alice, library):
    response = alice.raw("download", {"id": song_id(library.first)})
    assert response["Content-Disposition"] == 'attachment; filename="The Band - Opening.mp3"'
    assert b"".join(response.streaming_content) == file_bytes(library.first)
    assert alice.error("download", {"id": f"al-{library.first.library_album_id}"}) == 70


def image(response) -> Image.Image:
    assert response.status_code == 200 and response["Content-Type"].startswith("image/")
    return Image.open(BytesIO(response.content))


def test_cover_art_is_the_embedded_picture_scaled_or_a_placeholder(alice, library):
    album = f"al-{library.first.library_album_id}"
    assert alice.raw("getCoverArt", {"id": album}).content == png_bytes()  # the front cover as embedded
    scaled = image(alice.raw("getCoverArt", {"id": album, "size": 64}))
    assert scaled.size == (64, 64) and scaled.getpixel((32, 32))[0] > 150  # still the red cover
    for same_picture in (song_id(library.second), f"ar-{library.first.library_artist_id}"):
        assert image(alice.raw("getCoverArt", {"id": same_picture, "size": 64})).getpixel((32, 32))[0] > 150
    placeholder = image(alice.raw("getCoverArt", {"id": f"al-{library.bobs.library_album_id}", "size": 80}))
    assert placeholder.size == (80, 80) and placeholder.format == "PNG"
    assert image(alice.raw("getCoverArt", {"id": "mood-calm", "size": 40})).size == (40, 40)
    assert alice.error("getCoverArt", {"id": "mood-sleepy"}) == 70
    assert alice.error("getCoverArt", {"id": "al-999999"}) == 70
