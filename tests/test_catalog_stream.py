"""Streaming with HTTP Range: whole file, single ranges, suffixes, unsatisfiable and multiple ranges."""

import pytest
from django.urls import reverse

from catalog.ingest import ingest_uploads
from tests.catalog_factories import fast_passwords, media_root, upload_of, write_song  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords", "media_root")]


@pytest.fixture
def stored(user, tmp_path):
    path = write_song(tmp_path / "tone.ogg", seconds=3.0)
    song = ingest_uploads([upload_of(path)], user)[0].song
    return song, path.read_bytes()


@pytest.fixture(params=["page", "api"])
def stream_url(request, stored):
    song = stored[0]
    return reverse("catalog:song-stream" if request.param == "page" else "api-song-stream", args=[song.pk])


@pytest.fixture
def listener(client, user):
    client.force_login(user)
    return client


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_whole_file(listener, stored, stream_url):
    song, data = stored
    response = listener.get(stream_url)
    assert response.status_code == 200
    assert body(response) == data
    assert response["Content-Type"] == "audio/ogg"
    assert response["Content-Length"] == str(len(data))
    assert response["Accept-Ranges"] == "bytes"
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(("header", "first", "last"), [
    ("bytes=0-99", 0, 99),
    ("bytes=100-", 100, None),
    ("bytes=-500", -500, None),
    ("bytes=10-999999999", 10, None),
    ("bytes=-999999999", 0, None),
])
def test_single_ranges(listener, stored, stream_url, header, first, last):
    _, data = stored
    size = len(data)
    response = listener.get(stream_url, HTTP_RANGE=header)
    expected = data[first:] if last is None else data[first:last + 1]
    start = first % size if first < 0 else first
    assert response.status_code == 206
    assert body(response) == expected
    assert response["Content-Range"] == f"bytes {start}-{start + len(expected) - 1}/{size}"
    assert response["Content-Length"] == str(len(expected))


@pytest.mark.parametrize("header", ["bytes=999999999-", "bytes=0-1,5-9", "bytes=-0"])
def test_unsatisfiable_or_multiple_ranges_are_416(listener, stored, stream_url, header):
    _, data = stored
    response = listener.get(stream_url, HTTP_RANGE=header)
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(data)}"


@pytest.mark.parametrize("header", ["items=0-5", "bytes=abc", "bytes=9-3"])
def test_invalid_range_headers_are_ignored(listener, stored, stream_url, header):
    _, data = stored
    response = listener.get(stream_url, HTTP_RANGE=header)
    assert response.status_code == 200
    assert body(response) == data


def test_if_range_with_another_version_sends_everything(listener, stored, stream_url):
    song, data = stored
    assert listener.get(stream_url, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"other"').status_code == 200
    assert listener.get(stream_url, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE=f'"{song.sha256}"').status_code == 206


def test_head_has_headers_but_no_body(listener, stored):
    song, data = stored
    response = listener.head(reverse("catalog:song-stream", args=[song.pk]), HTTP_RANGE="bytes=0-9")
    assert response.status_code == 206
    assert response["Content-Length"] == "10" and response.content == b""


def test_api_stream_answers_whatever_the_client_accepts(listener, stored):
    song, data = stored
    response = listener.get(reverse("api-song-stream", args=[song.pk]), HTTP_ACCEPT="audio/*", HTTP_RANGE="bytes=0-3")
    assert response.status_code == 206 and body(response) == data[:4]


@pytest.mark.parametrize(("extension", "content_type"), [("wav", "audio/wav"), ("flac", "audio/flac"), ("opus", "audio/ogg"),
                                                       ("mp3", "audio/mpeg")])
def test_content_type_follows_the_detected_format(listener, user, tmp_path, extension, content_type):
    song = ingest_uploads([upload_of(write_song(tmp_path / f"a.{extension}"), name="a.bin")], user)[0].song
    assert listener.get(reverse("catalog:song-stream", args=[song.pk]))["Content-Type"] == content_type
