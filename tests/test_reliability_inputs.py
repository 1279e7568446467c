"""Hostile and unusual uploads: each gets a clear refusal (400, nothing stored) or becomes a song that ends
``classified`` (or ``failed`` with its reason) — never a 500, never stuck in ``processing``.

Uploads go through the API (and the page for a few); classification runs in-process through
``classifier.inference.classify_song``, and through the real worker for two of them.
"""

import struct
import threading
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.conf import settings as django_settings
from django.core.files.uploadedfile import UploadedFile
from rest_framework.authtoken.models import Token

from catalog.audio_probe import SUPPORTED_TEXT
from catalog.ingest import ingest_upload
from catalog.models import GenrePrediction, Song
from classifier import inference
from tests.audio_fixtures import (
    drum_pulses, ffmpeg_encode, multichannel, tone, write_audio, write_garbage, write_long_silence,
    write_ogg_with_stray_page, write_tone,
)
from tests.catalog_factories import fast_passwords, media_root, stored_files  # noqa: F401
from tests.classifier_factories import active_model, forget_failed_loads  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_passwords")

NOT_AUDIO = f"This is not an audio file SKYBEAT can read. Supported formats: {SUPPORTED_TEXT}."
WAV_TRUNCATED = "This WAV file is truncated: its header promises more audio than the file holds."
BOUNDARY = "----skybeat-test-boundary"


def multipart(filename: str, data: bytes) -> dict:
    """Client.post keyword arguments for a raw multipart body whose file name reaches the server untouched
    (the test client itself would strip directories from it)."""
    head = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    return {"data": head + data + f"\r\n--{BOUNDARY}--\r\n".encode(),
            "content_type": f"multipart/form-data; boundary={BOUNDARY}"}


def api_upload(client, filename: str, data: bytes):
    return client.post("/api/songs/", **multipart(filename, data))


@pytest.fixture
def logged_in(client, user):
    client.force_login(user)
    return client


def signal_s(seconds: float, sr: int) -> "np.ndarray":  # noqa: F821
    """Something worth classifying: drums over a tone."""
    return drum_pulses(seconds, sr) * 0.6 + tone(seconds, sr, 330.0, 0.2)


# --- Refused --------------------------------------------------------------------------------------------------

def cut(path, fraction: float = 0.5) -> bytes:
    data = path.read_bytes()
    return data[: int(len(data) * fraction)]


def wav_declaring_a_billion_frames(tmp_path) -> bytes:
    """A valid 16-bit mono header whose data chunk announces 10^9 frames (2 GB), followed by one second."""
    samples = (tone(1.0, 8000) * 32767).astype("<i2").tobytes()
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    declared = 10**9 * 2
    riff_size = 4 + 8 + len(fmt) + 8 + declared
    return (b"RIFF" + struct.pack("<I", riff_size) + b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
            + b"data" + struct.pack("<I", declared) + samples)


REFUSED = {
    "zero bytes": (lambda tmp: ("empty.wav", b""), "The file is empty."),
    "one byte": (lambda tmp: ("one.mp3", b"\xff"), NOT_AUDIO),
    "random bytes as .mp3": (lambda tmp: ("noise.mp3", write_garbage(tmp / "g4", seed=4).read_bytes()), NOT_AUDIO),
    "random bytes starting with an MPEG frame sync": (
        lambda tmp: ("noise.mp3", write_garbage(tmp / "g1", seed=1).read_bytes()),  # ff e4 ...
        "This MP3 file cannot be decoded: it is damaged or truncated."),
    "random bytes as .wav": (lambda tmp: ("noise.wav", write_garbage(tmp / "g2", seed=2).read_bytes()), NOT_AUDIO),
    "random bytes as .flac": (lambda tmp: ("noise.flac", write_garbage(tmp / "g3", seed=3).read_bytes()), NOT_AUDIO),
    "truncated WAV": (lambda tmp: ("cut.wav", cut(write_tone(tmp / "w.wav", 4.0))), WAV_TRUNCATED),
    "truncated FLAC": (lambda tmp: ("cut.flac", cut(write_tone(tmp / "w.flac", 4.0))),
                       "This FLAC file cannot be decoded: it is damaged or truncated."),
    "truncated MP3": (lambda tmp: ("cut.mp3", cut(ffmpeg_encode(write_tone(tmp / "m.wav", 4.0), tmp / "m.mp3"))),
                      "This MP3 file is truncated: it ends before the audio its header announces."),
    "WAV declaring 10^9 frames": (lambda tmp: ("huge.wav", wav_declaring_a_billion_frames(tmp)), WAV_TRUNCATED),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", REFUSED)
def test_bad_uploads_are_refused_clearly_and_nothing_is_stored(logged_in, media_root, tmp_path, case):
    make, message = REFUSED[case]
    filename, data = make(tmp_path)
    response = api_upload(logged_in, filename, data)
    assert response.status_code == 400, response.content
    assert response.json()["uploads"] == [{"filename": filename, "created": False, "song": None, "error": message}]
    assert not Song.objects.exists()
    assert stored_files(media_root) == []


@pytest.mark.django_db
@pytest.mark.parametrize("case", ["zero bytes", "random bytes starting with an MPEG frame sync",
                                  "WAV declaring 10^9 frames"])
def test_the_upload_page_shows_the_same_reasons(logged_in, media_root, tmp_path, case):
    make, message = REFUSED[case]
    filename, data = make(tmp_path)
    response = logged_in.post("/upload/", **multipart(filename, data))
    assert response.status_code == 400
    page = response.content.decode()
    assert "Refused" in page and message.split(":")[0].split(".")[0] in page
    assert not Song.objects.exists() and stored_files(media_root) == []


# --- Accepted and classified ------------------------------------------------------------------------------------

def accepted_and_classified(client, filename: str, data: bytes, version) -> Song:
    response = api_upload(client, filename, data)
    assert response.status_code == 201, response.content
    song = Song.objects.get(pk=response.json()["uploads"][0]["song"]["id"])
    assert song.status == Song.Status.PENDING
    inference.classify_song(song.pk)
    song.refresh_from_db()
    assert song.status == Song.Status.CLASSIFIED, song.failure_reason
    assert GenrePrediction.objects.filter(song=song).count() == len(version.genres)
    return song


VARIANTS = {
    **{f"{n} channel(s)": dict(channels=n) for n in (1, 2, 6)},
    **{f"{sr} Hz": dict(sr=sr) for sr in (8000, 11025, 16000, 22050, 44100, 48000, 96000, 192000)},
    **{subtype: dict(subtype=subtype) for subtype in ("PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE")},
}


@pytest.mark.django_db
@pytest.mark.parametrize("variant", VARIANTS)
def test_every_channel_layout_rate_and_sample_format_is_classified(logged_in, media_root, active_model, tmp_path,
                                                                  variant):
    spec = {"channels": 1, "sr": 22050, "subtype": "PCM_16", **VARIANTS[variant]}
    samples = multichannel(signal_s(4.0, spec["sr"]), spec["channels"])
    path = write_audio(tmp_path / "variant.wav", samples, spec["sr"], subtype=spec["subtype"])
    song = accepted_and_classified(logged_in, "variant.wav", path.read_bytes(), active_model)
    assert (song.audio.channels, song.audio.sample_rate_hz) == (spec["channels"], spec["sr"])
    assert song.audio.duration_s == pytest.approx(4.0, abs=0.01)


@pytest.mark.django_db
def test_a_tenth_of_a_second_is_classified_from_its_one_frame(logged_in, media_root, active_model, tmp_path):
    path = write_audio(tmp_path / "blip.wav", signal_s(0.1, 22050), 22050)
    song = accepted_and_classified(logged_in, "blip.wav", path.read_bytes(), active_model)
    assert song.audio.duration_s == pytest.approx(0.1, abs=0.001)
    assert [start for start, _ in song.timeline["frames"]] == [0.0]


@pytest.mark.django_db
def test_a_truncated_ogg_is_a_shorter_song(logged_in, media_root, active_model, tmp_path):
    """Ogg declares no total length: a cut stream is a valid, shorter stream (kept, not refused)."""
    data = cut(write_audio(tmp_path / "w.ogg", signal_s(8.0, 22050), 22050, subtype="VORBIS"), 0.9)
    song = accepted_and_classified(logged_in, "cut.ogg", data, active_model)
    assert 0 < song.audio.duration_s < 8.0


@pytest.mark.django_db
def test_an_ogg_whose_tags_cannot_be_parsed_is_kept_without_tags(logged_in, media_root, active_model, tmp_path):
    """libogg skips a stray empty page that made the tag reader (mutagen) raise IndexError: once a 500."""
    path = write_ogg_with_stray_page(tmp_path / "stray.ogg", 4.0)
    song = accepted_and_classified(logged_in, "Stray Page.ogg", path.read_bytes(), active_model)
    assert (song.title, song.artist, song.audio.audio_format) == ("Stray Page", "", "ogg")


@pytest.mark.django_db
def test_two_hours_of_silence_fail_cleanly_in_bounded_time_and_memory(user, media_root, active_model, tmp_path):
    path = write_long_silence(tmp_path / "silence.wav", 2 * 3600, sr=8000)  # 58 MB; 460 MB as 16 kHz floats
    with path.open("rb") as handle:
        outcome = ingest_upload(UploadedFile(handle, name=path.name, size=path.stat().st_size), user)
    assert outcome.created, outcome.error
    assert outcome.song.audio.duration_s == pytest.approx(7200)
    inference.current_model()  # the model is loaded before measuring: its size is not the song's
    started = time.monotonic()
    tracemalloc.start()
    try:
        inference.classify_song(outcome.song.pk)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    elapsed_s = time.monotonic() - started
    song = Song.objects.get(pk=outcome.song.pk)
    assert (song.status, song.failure_reason) == (Song.Status.FAILED, "Could not decode audio: the file is silent")
    assert elapsed_s < django_settings.CELERY_TASK_SOFT_TIME_LIMIT / 5, f"{elapsed_s:.0f} s"
    assert peak < 100e6, f"peak {peak / 1e6:.0f} MB: the song was decoded whole instead of frame by frame"


# --- File names ----------------------------------------------------------------------------------------------------

NAMES = {
    "../../../etc/passwd.wav": ("passwd", "passwd.wav"),
    "..\\..\\windows\\win.ini.wav": ("win.ini", "win.ini.wav"),
    "evil\x00name.wav": ("evilname", "evilname.wav"),  # Django's multipart parser drops the NUL
    "x" * 300 + ".wav": None,  # checked below: cut, never longer than the fields
    "🎵 Night Drive 🎶.wav": ("🎵 Night Drive 🎶", "🎵 Night Drive 🎶.wav"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("name", NAMES, ids=["dot-dot-slash", "backslashes", "nul", "300-chars", "emoji"])
def test_client_file_names_never_reach_storage(logged_in, media_root, tmp_path, name):
    data = write_tone(tmp_path / "t.wav", 1.0).read_bytes()
    response = api_upload(logged_in, name, data)
    assert response.status_code == 201, response.content
    upload = response.json()["uploads"][0]
    song = Song.objects.get()
    assert song.audio_file.name == f"audio/{song.sha256[:2]}/{song.sha256[2:4]}/{song.sha256}.wav"
    assert stored_files(media_root) == [media_root / song.audio_file.name]
    assert not any("\x00" in text or "/" in text or "\\" in text for text in (song.title, upload["filename"]))
    if NAMES[name] is None:
        assert set(song.title) == {"x"} and len(song.title) <= 300 and len(upload["filename"]) <= 200
    else:
        assert (song.title, upload["filename"]) == NAMES[name]


@pytest.mark.django_db
def test_a_traversal_name_through_the_page_is_stored_by_content(logged_in, media_root, tmp_path):
    data = write_tone(tmp_path / "t.wav", 1.0).read_bytes()
    response = logged_in.post("/upload/", **multipart("../../outside.wav", data))
    assert response.status_code == 200 and "Stored as" in response.content.decode()
    song = Song.objects.get()
    assert song.title == "outside" and stored_files(media_root) == [media_root / song.audio_file.name]
    assert not (media_root.parent / "outside.wav").exists()


# --- Concurrency -------------------------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_the_same_bytes_uploaded_concurrently_over_http_make_one_song(live_server, user, media_root, tmp_path):
    token = Token.objects.create(user=user).key
    data = write_tone(tmp_path / "race.wav", 3.0).read_bytes()
    racers = 6
    barrier = threading.Barrier(racers)

    def post(i: int) -> requests.Response:
        barrier.wait()
        return requests.post(f"{live_server.url}/api/songs/", files={"file": (f"copy-{i}.wav", data)},
                             headers={"Authorization": f"Token {token}"}, timeout=120)

    with ThreadPoolExecutor(racers) as pool:
        responses = list(pool.map(post, range(racers)))
    assert sorted(r.status_code for r in responses) == [200] * (racers - 1) + [201], [r.text for r in responses]
    uploads = [r.json()["uploads"][0] for r in responses]
    assert all(u["error"] == "" for u in uploads)
    assert len({u["song"]["id"] for u in uploads}) == 1 and sum(u["created"] for u in uploads) == 1
    assert Song.objects.count() == 1 and len(stored_files(media_root)) == 1


# --- Through the real worker -----------------------------------------------------------------------------------

@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name, make", [
    ("surround-96k-24bit.wav", lambda tmp: write_audio(tmp / "s.wav", multichannel(signal_s(5.0, 96000), 6), 96000,
                                                       subtype="PCM_24")),
    ("blip.flac", lambda tmp: write_audio(tmp / "b.flac", signal_s(0.1, 44100), 44100)),
], ids=["5.1-96kHz-24bit-wav", "tenth-of-a-second-flac"])
def test_the_worker_classifies_unusual_uploads(celery_worker_process, client, user, active_model, tmp_path, name, make):
    client.force_login(user)  # the worker's MEDIA_ROOT is the default one: no media_root fixture here
    response = api_upload(client, name, make(tmp_path).read_bytes())
    assert response.status_code == 201, response.content
    song_id = response.json()["uploads"][0]["song"]["id"]
    deadline = time.monotonic() + 240
    try:
        while not Song.objects.filter(pk=song_id, status__in=[Song.Status.CLASSIFIED, Song.Status.FAILED]).exists():
            assert time.monotonic() < deadline, celery_worker_process.log_path.read_text()[-3000:]
            time.sleep(0.25)
        song = Song.objects.get(pk=song_id)
        assert song.status == Song.Status.CLASSIFIED, song.failure_reason
        assert GenrePrediction.objects.filter(song=song).count() == len(active_model.genres)
    finally:
        song = Song.objects.get(pk=song_id)
        song.audio_file.delete(save=False)
        if song.spectrogram:
            song.spectrogram.delete(save=False)
