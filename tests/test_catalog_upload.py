"""Uploads: real encoded audio in, songs out; duplicates linked; bad input refused with nothing stored."""

import hashlib
import logging
import threading
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.urls import reverse

from catalog.audio_probe import title_from_filename
from catalog.ingest import ingest_uploads
from catalog.models import AudioBlob, Song
from tests import audio_fixtures
from tests.catalog_factories import fast_passwords, media_root, stored_files, upload_of, write_song, write_tags  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords", "media_root")]

FORMATS = ["wav", "flac", "ogg", "opus", "mp3"]


@pytest.fixture
def logged_in(client, user):
    client.force_login(user)
    return client


@pytest.mark.parametrize("extension", FORMATS)
def test_api_upload_reads_tags_and_stores_by_content(logged_in, user, media_root, tmp_path, extension):
    path = write_song(tmp_path / f"take.{extension}", seconds=2.0, channels=2)
    write_tags(path, title="Night\x07Drive ", artist="The Testers", album="Synthetic", year="2019-05-01")
    data = path.read_bytes()

    response = logged_in.post(reverse("api-song-list"), {"file": upload_of(path, name="../../etc/evil name.bin")})

    assert response.status_code == 201, response.content
    upload = response.json()["uploads"][0]
    assert upload["created"] is True and upload["error"] == ""
    song = Song.objects.get(pk=upload["song"]["id"])
    assert (song.title, song.artist, song.album, song.year) == ("Night Drive", "The Testers", "Synthetic", 2019)
    assert song.audio.audio_format == extension and song.audio.channels == 2
    assert song.audio.duration_s == pytest.approx(2.0, abs=0.1)
    assert song.audio.sample_rate_hz == (48000 if extension == "opus" else 22050)
    assert song.status == Song.Status.PENDING and song.uploaded_by == user
    sha = hashlib.sha256(data).hexdigest()
    assert song.sha256 == sha and song.audio.size_bytes == len(data)
    assert song.audio_file.name == f"audio/{sha[:2]}/{sha[2:4]}/{sha}.{extension}"
    assert stored_files(media_root) == [media_root / song.audio_file.name]
    assert (media_root / song.audio_file.name).read_bytes() == data


def test_m4a_upload_with_ffmpeg_and_a_truncated_one_refused(logged_in, media_root, tmp_path):
    wav = write_song(tmp_path / "source.wav", seconds=3.0)
    m4a = audio_fixtures.ffmpeg_encode(wav, tmp_path / "tune.m4a", "-c:a", "aac", "-metadata", "title=Cafe Tune")
    response = logged_in.post(reverse("api-song-list"), {"file": upload_of(m4a)})
    assert response.status_code == 201, response.content
    song = Song.objects.get()
    assert (song.audio.audio_format, song.title) == ("m4a", "Cafe Tune")
    assert song.audio.duration_s == pytest.approx(3.0, abs=0.1)
    cut = tmp_path / "cut.m4a"
    cut.write_bytes(m4a.read_bytes()[: m4a.stat().st_size * 2 // 3])
    refused = logged_in.post(reverse("api-song-list"), {"file": upload_of(cut)})
    assert refused.status_code == 400 and "M4A" in refused.json()["uploads"][0]["error"]
    assert len(stored_files(media_root)) == 1


def test_title_falls_back_to_a_clean_file_name(logged_in, tmp_path):
    path = write_song(tmp_path / "x.wav")
    response = logged_in.post(reverse("api-song-list"), {"file": upload_of(path, name="C:\\music\\my_first_song.wav")})
    assert response.status_code == 201
    assert Song.objects.get().title == "my first song"


def test_file_name_titles_are_sanitised():
    assert title_from_filename("../../etc/pass\x00wd\x07\u202e.flac", 300) == "pass wd"
    assert title_from_filename("a/b\\c/.hidden", 300) == ".hidden"
    assert title_from_filename("\x00\x01.mp3", 300) == "Untitled"
    assert title_from_filename("x" * 500 + ".wav", 300) == "x" * 300


def test_the_same_person_uploading_the_same_bytes_again_gets_their_song_back(logged_in, media_root, tmp_path):
    path = write_song(tmp_path / "same.flac")
    first = logged_in.post(reverse("api-song-list"), {"file": upload_of(path)}).json()["uploads"][0]
    again = logged_in.post(reverse("api-song-list"), {"file": upload_of(path, name="renamed.flac"), "visibility": "private"})
    assert again.status_code == 200
    assert again.json()["uploads"][0] == {**first, "filename": "renamed.flac", "created": False}
    assert Song.objects.get().visibility == "shared", "the song is found again, not changed"
    assert AudioBlob.objects.count() == 1 and len(stored_files(media_root)) == 1


def test_uploading_the_bytes_of_someone_elses_private_song_just_works_and_reveals_nothing(client, user, other_user,
                                                                                          media_root, tmp_path):
    """The issue's case: bob uploads the exact bytes of alice's private song. He gets a song of his own, answered
    exactly like any new upload, and the bytes are stored once."""
    secret, novel = write_song(tmp_path / "secret.wav"), write_song(tmp_path / "novel.wav")
    client.force_login(user)
    alices = client.post(reverse("api-song-list"), {"file": upload_of(secret, name="Alice's demo.wav"),
                                                     "visibility": "private"}).json()["uploads"][0]["song"]
    client.force_login(other_user)

    response = client.post(reverse("api-song-list"), {"file": upload_of(secret, name="found_it.wav")})
    fresh = client.post(reverse("api-song-list"), {"file": upload_of(novel, name="found_it.wav")})

    assert response.status_code == fresh.status_code == 201
    upload, fresh_upload = response.json()["uploads"][0], fresh.json()["uploads"][0]
    assert upload["song"]["id"] != alices["id"]
    ignored = {"id", "url", "stream_url", "created_at"}
    same_shape = {key: value for key, value in upload["song"].items() if key not in ignored}
    assert same_shape == {key: value for key, value in fresh_upload["song"].items() if key not in ignored}
    assert (upload["created"], upload["error"], same_shape["title"], same_shape["uploaded_by"]) == (True, "", "found it", "bob")
    assert "alice" not in response.content.decode().lower()
    # bob's song is his: his title and visibility, his to label; alice's stays private and untouched.
    bobs = Song.objects.get(pk=upload["song"]["id"])
    assert bobs.audio == Song.objects.get(pk=alices["id"]).audio
    assert [song["id"] for song in client.get(reverse("api-song-list")).json()["results"]] == [
        fresh_upload["song"]["id"], bobs.pk]
    assert client.get(reverse("api-song-detail", args=[alices["id"]])).status_code == 404
    assert client.post(reverse("catalog:song-visibility", args=[bobs.pk]), {"visibility": "private"}).status_code == 302
    assert Song.objects.get(pk=alices["id"]).visibility == "private"
    assert Song.objects.get(pk=alices["id"]).title == "Alice's demo"
    assert AudioBlob.objects.count() == 2 and len(stored_files(media_root)) == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_uploads_make_one_song(user, media_root, tmp_path):
    data_path = write_song(tmp_path / "race.ogg", seconds=3.0)
    barrier = threading.Barrier(4)
    results, errors = [], []

    def upload():
        try:
            barrier.wait()
            results.extend(ingest_uploads([upload_of(data_path)], user))
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=upload) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len({outcome.song.pk for outcome in results}) == 1
    assert sum(outcome.created for outcome in results) == 1
    assert Song.objects.count() == 1 and len(stored_files(media_root)) == 1


def test_page_upload_without_javascript_stores_several_files(logged_in, media_root, tmp_path):
    files = [upload_of(write_song(tmp_path / name)) for name in ("one.wav", "two.flac")]
    files.append(SimpleUploadedFile("bad.mp3", b"not audio at all"))
    response = logged_in.post(reverse("catalog:upload"), {"file": files, "visibility": "private"})
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("Stored as") == 2 and "Refused" in page and "not an audio file" in page
    assert set(Song.objects.values_list("visibility", flat=True)) == {"private"}
    assert len(stored_files(media_root)) == 2


def test_page_upload_checks_csrf(user, tmp_path):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post(reverse("catalog:upload"), {"file": upload_of(write_song(tmp_path / "a.wav"))})
    assert response.status_code == 403
    assert not Song.objects.exists()


def truncated_flac(tmp_path):
    data = write_song(tmp_path / "whole.flac", seconds=3.0).read_bytes()
    path = tmp_path / "cut.flac"
    path.write_bytes(data[: len(data) // 2])
    return path


def truncated_wav(tmp_path):
    data = write_song(tmp_path / "whole.wav", seconds=3.0).read_bytes()
    path = tmp_path / "cut.wav"
    path.write_bytes(data[: len(data) // 2])
    return path


def text_as_mp3(tmp_path):
    path = tmp_path / "notes.mp3"
    path.write_text("These are my lyrics, not a song.\n" * 50)
    return path


def empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    return path


def png_as_ogg(tmp_path):
    path = tmp_path / "cover.ogg"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(2000))
    return path


BAD_INPUTS = {
    text_as_mp3: "not an audio file",
    empty_file: "empty",
    truncated_flac: "damaged or truncated",
    truncated_wav: "truncated",
    png_as_ogg: "not an audio file",
}


@pytest.mark.parametrize("make_bad", BAD_INPUTS, ids=lambda f: f.__name__)
def test_bad_input_gets_a_clear_400_and_nothing_is_stored(logged_in, media_root, tmp_path, make_bad):
    path = make_bad(tmp_path)
    api = logged_in.post(reverse("api-song-list"), {"file": upload_of(path)})
    assert api.status_code == 400
    assert BAD_INPUTS[make_bad] in api.json()["uploads"][0]["error"]
    page = logged_in.post(reverse("catalog:upload"), {"file": upload_of(path)})
    assert page.status_code == 400
    assert BAD_INPUTS[make_bad] in page.content.decode()
    assert not Song.objects.exists()
    assert stored_files(media_root) == []


@pytest.mark.parametrize("size_mb", [1.5, 3], ids=["over-while-streaming", "declared-over"])
def test_over_size_upload_is_refused_before_storing(logged_in, user, media_root, settings, size_mb):
    settings.SKYBEAT_MAX_UPLOAD_MB = 1
    big = b"RIFF" + bytes(int(size_mb * 1024 * 1024))
    api = logged_in.post(reverse("api-song-list"), {"file": SimpleUploadedFile("big.wav", big)})
    assert api.status_code == 413
    assert "1 MB limit" in api.json()["detail"]
    strict = Client(enforce_csrf_checks=True)  # the page answers clearly even though the token is never read
    strict.force_login(user)
    page = strict.post(reverse("catalog:upload"), {"file": SimpleUploadedFile("big.wav", big)})
    assert page.status_code == 400
    assert "1 MB limit" in page.content.decode()
    assert not Song.objects.exists()
    assert stored_files(media_root) == []


def test_upload_without_a_file_is_a_400(logged_in):
    response = logged_in.post(reverse("api-song-list"), {"visibility": "shared"})
    assert response.status_code == 400
    assert "file" in response.json()


def test_upload_with_an_unknown_visibility_is_a_400_and_stores_nothing(logged_in, media_root, tmp_path):
    response = logged_in.post(reverse("api-song-list"), {"file": upload_of(write_song(tmp_path / "a.wav")),
                                                         "visibility": "friends"})
    assert response.status_code == 400 and "visibility" in response.json()
    assert not Song.objects.exists() and stored_files(media_root) == []


def test_upload_needs_an_account(client, tmp_path):
    assert client.post(reverse("api-song-list"), {"file": upload_of(write_song(tmp_path / "a.wav"))}).status_code in (401, 403)
    assert client.get(reverse("catalog:upload")).status_code == 302
    assert not Song.objects.exists()


def test_broker_down_keeps_the_song_pending_and_the_upload_succeeds(
    logged_in, settings, tmp_path, django_capture_on_commit_callbacks, caplog
):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="catalog.services"), django_capture_on_commit_callbacks(execute=True):
        response = logged_in.post(reverse("api-song-list"), {"file": upload_of(write_song(tmp_path / "a.wav"))})
    assert time.monotonic() - started < 10
    assert response.status_code == 201
    assert Song.objects.get().status == Song.Status.PENDING
    assert "Broker unreachable" in caplog.text


def test_mp3_slightly_shorter_than_announced_is_accepted_with_its_real_length(logged_in, media_root, tmp_path):
    """MP3s cut from longer files announce a length their last frames do not reach (estimates from the header)."""
    mp3 = audio_fixtures.ffmpeg_encode(write_song(tmp_path / "song.wav", seconds=60.0), tmp_path / "song.mp3")
    clipped = tmp_path / "clipped.mp3"
    clipped.write_bytes(mp3.read_bytes()[: int(mp3.stat().st_size * 0.995)])

    response = logged_in.post(reverse("api-song-list"), {"file": upload_of(clipped)})

    assert response.status_code == 201, response.content
    song = Song.objects.get(pk=response.json()["uploads"][0]["song"]["id"])
    assert 59.0 < song.audio.duration_s < 60.0
