"""Classifying songs: a real worker end to end, idempotency, the signal, and every way it can fail."""

import json
import os
import subprocess
import sys
import time

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.test import Client

from catalog.default_genres import NEUTRAL_COLOUR, genres_for
from catalog.models import Genre, GenrePrediction, Song
from catalog.signals import song_classified
from classifier import inference
from classifier.health import active_model_status
from classifier.models import ModelVersion
from classifier.tasks import classify_song
from tests.audio_fixtures import write_garbage
from tests.classifier_factories import active_model, broken_model, forget_failed_loads, upload_song  # noqa: F401
from tests.conftest import test_database_url

def assert_classified(song: Song, version: ModelVersion) -> None:
    assert song.status == Song.Status.CLASSIFIED, song.failure_reason
    predictions = GenrePrediction.objects.filter(song=song)
    assert sorted(predictions.values_list("genre__slug", flat=True)) == sorted(version.genres)
    assert sum(predictions.values_list("probability", flat=True)) == pytest.approx(1.0, abs=1e-6)
    top = predictions.order_by("-probability").first()
    assert (song.top_genre, song.top_probability, song.classification.model_version) == (
        top.genre, top.probability, version)
    assert song.timeline["genres"] == version.genres
    assert song.timeline["frames"], "the timeline has frames"
    for start_s, probs in song.timeline["frames"]:
        assert 0 <= start_s < song.audio.duration_s
        assert len(probs) == len(version.genres)
        assert sum(probs) == pytest.approx(1.0, abs=1e-3)
        assert all(round(p, 4) == p for p in probs)
    assert song.spectrogram.name == f"spectrograms/{song.sha256}.png"
    with song.spectrogram.open("rb") as png:
        assert png.read(8) == b"\x89PNG\r\n\x1a\n"


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_classifies_an_upload(celery_worker_process, active_model, user, tmp_path):
    from moods.models import SongMood

    song = upload_song(tmp_path, user, "pulse", seed=1)  # the upload service enqueues classify_song itself
    deadline = time.monotonic() + 120
    while Song.objects.get(pk=song.pk).status not in {Song.Status.CLASSIFIED, Song.Status.FAILED}:
        assert time.monotonic() < deadline, celery_worker_process.log_path.read_text()[-3000:]
        time.sleep(0.5)
    song.refresh_from_db()
    assert_classified(song, active_model)
    # song_classified fired in the worker: the moods app's receiver gave the song its mood.
    assert SongMood.objects.filter(song=song).exists()
    # The worker recorded a healthy load; enqueueing a deleted song's id just ends quietly.
    assert active_model_status() == {"loaded": True, "name": active_model.name, "error": None}
    assert classify_song.delay(10**9).get(timeout=60) is None


def test_classifying_twice_replaces_the_predictions(active_model, user, tmp_path, django_capture_on_commit_callbacks):
    song = upload_song(tmp_path, user, "chime", seed=2)
    announced = []

    def receiver(sender, song_id, **kwargs):
        announced.append(song_id)

    song_classified.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            inference.classify_song(song.pk)
        first_ids = set(GenrePrediction.objects.filter(song=song).values_list("pk", flat=True))
        with django_capture_on_commit_callbacks(execute=True):
            inference.classify_song(song.pk)
    finally:
        song_classified.disconnect(receiver)
    song.refresh_from_db()
    assert_classified(song, active_model)
    second_ids = set(GenrePrediction.objects.filter(song=song).values_list("pk", flat=True))
    assert len(second_ids) == len(first_ids) == len(active_model.genres)
    assert not first_ids & second_ids, "the second run replaced the rows"
    assert announced == [song.pk, song.pk]


def test_a_corrupt_file_fails_with_a_readable_reason(active_model, user, tmp_path):
    song = upload_song(tmp_path, user, "drone", seed=3)
    write_garbage(song.audio_file.path, seed=3)  # the stored bytes went bad after the upload
    inference.classify_song(song.pk)
    song.refresh_from_db()
    assert song.status == Song.Status.FAILED
    assert song.failure_reason.startswith("Could not decode audio")
    assert song.failure_reason.lower().count("could not decode audio") == 1
    assert not song.predictions.exists()


def test_a_vanished_file_fails_as_missing(active_model, user, tmp_path):
    song = upload_song(tmp_path, user, "drone", seed=4)
    song.audio_file.storage.delete(song.audio_file.name)
    inference.classify_song(song.pk)
    song.refresh_from_db()
    assert (song.status, song.failure_reason) == (Song.Status.FAILED, "The audio file is missing from storage")


def test_a_deleted_song_ends_quietly(active_model):
    assert inference.classify_song(10**9) is None
    assert not Song.objects.exists()


def test_no_active_model_fails_the_song_and_health_says_why(active_model, user, tmp_path):
    song = upload_song(tmp_path, user, "pulse", seed=5)
    ModelVersion.objects.update(active=False)
    inference.classify_song(song.pk)
    song.refresh_from_db()
    assert (song.status, song.failure_reason) == (Song.Status.FAILED, "No usable model: no model is active")
    model = Client().get("/healthz").json()["model"]
    assert model == {"loaded": False, "name": None, "error": "no model is active"}


def test_a_corrupt_model_without_a_fallback_fails_the_song(
    active_model, user, tmp_path, broken_model, monkeypatch
):
    monkeypatch.setattr(inference, "_loaded", None)  # a fresh worker process: nothing loaded before
    song = upload_song(tmp_path, user, "pulse", seed=6)
    broken = broken_model()
    # Before any worker tried, the manifest check alone already tells /healthz.
    model = Client().get("/healthz").json()["model"]
    assert model["loaded"] is False and "corrupt" in model["error"]

    inference.classify_song(song.pk)
    song.refresh_from_db()
    broken.refresh_from_db()
    assert song.status == Song.Status.FAILED
    assert song.failure_reason.startswith(f"No usable model: {broken.name}: unreadable manifest.json")
    assert broken.load_error.startswith("unreadable manifest.json")
    model = Client().get("/healthz").json()["model"]
    assert model == {"loaded": False, "name": broken.name, "error": broken.load_error}


def test_a_corrupt_model_keeps_the_worker_on_its_previous_model(
    active_model, user, tmp_path, broken_model
):
    assert inference.current_model().version_id == active_model.pk
    song = upload_song(tmp_path, user, "chime", seed=7)
    broken = broken_model()
    inference.classify_song(song.pk)
    song.refresh_from_db()
    broken.refresh_from_db()
    assert_classified(song, active_model)
    assert broken.load_error.startswith("unreadable manifest.json")


@pytest.mark.parametrize("error, attempts, reason", [
    (OSError("Stale file handle"), 4,
     "Could not read the audio file from storage (Stale file handle); gave up after 4 attempts"),
    (SoftTimeLimitExceeded(), 1,
     f"Classification took longer than {settings.CELERY_TASK_SOFT_TIME_LIMIT} s and was stopped"),
    (RuntimeError("boom"), 1, "Classification failed unexpectedly (RuntimeError: boom)"),
])
def test_the_task_retries_transient_errors_and_ends_every_failure_with_a_reason(
    active_model, user, tmp_path, monkeypatch, error, attempts, reason
):
    """Faults injected where the audio is read: shared storage going away, the time limit, a bug."""
    song = upload_song(tmp_path, user, "pulse", seed=9)
    calls = []

    def failing(path, genre_model):
        calls.append(path)
        raise error

    monkeypatch.setattr(inference, "classify_file", failing)
    classify_song.apply(args=[song.pk])  # eagerly, retries included (without their countdown)
    song.refresh_from_db()
    assert (song.status, song.failure_reason, len(calls)) == (Song.Status.FAILED, reason, attempts)


def test_genres_the_model_names_are_created_when_missing(active_model):
    Genre.objects.filter(slug="funk").delete()
    genres = genres_for(["jazz", "funk", "sea-shanty"])
    assert genres["jazz"] == Genre.objects.get(slug="jazz")
    assert (genres["funk"].name, genres["funk"].colour) == ("Funk", "#e67e22")  # from DEFAULT_GENRES
    assert (genres["sea-shanty"].name, genres["sea-shanty"].colour) == ("Sea Shanty", NEUTRAL_COLOUR)


def test_a_stored_spectrogram_is_replaced_not_duplicated(active_model, user, tmp_path):
    song = upload_song(tmp_path, user, "drone", seed=8)
    for _ in range(2):
        inference.classify_song(song.pk)
    song.refresh_from_db()
    folder = song.spectrogram.storage.path("spectrograms")
    names = [name for name in os.listdir(folder) if name.startswith(song.sha256)]
    assert names == [f"{song.sha256}.png"]


@pytest.mark.django_db
def test_the_web_side_never_imports_tensorflow():
    """Enqueueing, the admin and /healthz run in the web process, which must stay TensorFlow-free."""
    code = (
        "import json, sys, django; django.setup();"
        "import classifier.tasks, classifier.admin, skybeat.health;"
        "from django.test import Client; response = Client(HTTP_HOST='localhost').get('/healthz');"
        "assert response.status_code in (200, 503), response;"
        "print(json.dumps(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "skybeat.settings", "DATABASE_URL": test_database_url()},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
