"""Faults with real processes: a pool process killed mid-song, the broker down during uploads or a library
reclassification, unusable models, a vanished file. Nothing is lost: every song ends classified (or failed with
its reason), never stuck.

Each test brings its own Redis (a private redis-server on 6390-6399) and its own worker on it, so the shared
session worker never takes these songs and both CI passes (SQLite, PostgreSQL) run the same faults.
"""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import psutil
import pytest
import redis
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import reverse

from catalog.ingest import ingest_uploads
from catalog.models import GenrePrediction, Song
from classifier import registry, tasks
from classifier.models import ModelVersion, ReclassifyJob
from tests.audio_fixtures import synthetic_genre_clip, write_audio
from tests.catalog_factories import fast_passwords, media_root  # noqa: F401
from tests.classifier_factories import active_model, broken_model, second_pretrained  # noqa: F401
from tests.conftest import start_worker, stop_worker, test_database_url

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("fast_passwords", "media_root")]

PRIVATE_PORTS = range(6390, 6400)
WORKER_WAIT_S = 300  # a fresh pool process loads TensorFlow and the model before its first song
SR_HZ = 16000
FINAL = {Song.Status.CLASSIFIED, Song.Status.FAILED}


class PrivateRedis:
    """A throw-away redis-server on loopback, without persistence, that a test can stop and start again."""

    def __init__(self, folder: Path):
        self.port = next(port for port in PRIVATE_PORTS if self._free(port))
        self.folder, self.process = folder, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    @staticmethod
    def _free(port: int) -> bool:
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", port)) != 0

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: self._answers(), timeout_s=20, what="redis-server to start")

    def stop(self) -> None:
        """SHUTDOWN NOSAVE: whatever the queues held is gone, as after a crash without persistence."""
        try:
            redis.Redis(port=self.port).shutdown(nosave=True)
        except redis.ConnectionError:  # the server closes the connection as it exits
            pass
        self.process.wait(timeout=20)

    def _answers(self) -> bool:
        try:
            return redis.Redis(port=self.port, socket_timeout=1).ping()
        except redis.ConnectionError:
            return False


def wait_until(check, timeout_s: float = WORKER_WAIT_S, what: str = "condition", every_s: float = 0.25):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(every_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


@pytest.fixture
def private_broker(settings, tmp_path):
    """A private Redis that this process publishes to (catalog.services publishes to settings.CELERY_BROKER_URL)."""
    broker = PrivateRedis(tmp_path)
    broker.start()
    settings.CELERY_BROKER_URL = broker.url
    yield broker
    if broker.process.poll() is None:
        broker.stop()


@pytest.fixture
def private_worker(private_broker, settings, tmp_path):
    """Starts workers on the private broker, the test database, this test's media and the models folder."""
    workers = []

    def start(extra_args=(), **env) -> subprocess.Popen:
        environment = {**os.environ, "DATABASE_URL": test_database_url(), "CELERY_BROKER_URL": private_broker.url,
                       "CELERY_RESULT_BACKEND": private_broker.url, "MEDIA_ROOT": str(settings.MEDIA_ROOT),
                       "SKYBEAT_MODELS_DIR": str(settings.SKYBEAT_MODELS_DIR), **env}
        worker = start_worker(environment, tmp_path / f"worker-{len(workers)}.log", extra_args=extra_args)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        stop_worker(worker)


def log_of(worker) -> str:
    return worker.log_path.read_text()


def upload(user, tmp_path, seconds: float, seed: int, genre: str = "pulse") -> Song:
    """A song stored through the upload service, which publishes it for classification after the commit."""
    path = write_audio(tmp_path / f"{genre}-{seed}.wav", synthetic_genre_clip(genre, seconds, SR_HZ, seed=seed), SR_HZ)
    outcome = ingest_uploads([SimpleUploadedFile(path.name, path.read_bytes())], user)[0]
    assert outcome.created, outcome.error
    return outcome.song


def final_status(song_id: int, worker, timeout_s: float = WORKER_WAIT_S) -> Song:
    wait_until(lambda: Song.objects.filter(pk=song_id, status__in=FINAL).exists(), timeout_s,
               what=f"song {song_id} to be classified or failed; worker log:\n{log_of(worker)[-4000:]}")
    return Song.objects.get(pk=song_id)


def assert_classified_once(song: Song, version: ModelVersion) -> None:
    assert song.status == Song.Status.CLASSIFIED, song.failure_reason
    assert song.classified_with_id == version.pk
    rows = GenrePrediction.objects.filter(song=song)
    assert sorted(rows.values_list("genre__slug", flat=True)) == sorted(version.genres), "one row per genre"
    assert rows.filter(model_version=version).count() == rows.count()


def pool_processes(worker) -> list[psutil.Process]:
    return psutil.Process(worker.pid).children()


def test_a_pool_process_killed_mid_song_is_replaced_and_the_song_classified_once(
    private_worker, active_model, user, tmp_path
):
    worker = private_worker()
    wait_until(lambda: "Loaded model" in log_of(worker), what="the pool process to load the model")
    [child] = pool_processes(worker)
    song = upload(user, tmp_path, seconds=180, seed=11)  # three minutes: seconds of work to interrupt

    wait_until(lambda: Song.objects.filter(pk=song.pk, status=Song.Status.PROCESSING).exists(), every_s=0.02,
               what="the worker to start classifying")
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    assert Song.objects.get(pk=song.pk).status == Song.Status.PROCESSING, "killed before it could finish"

    song = final_status(song.pk, worker)
    assert_classified_once(song, active_model)
    assert "SIGKILL" in log_of(worker) and worker.poll() is None, "the main process survived and reported the loss"
    assert [p.pid for p in pool_processes(worker)] != [child.pid], "a new pool process took the redelivered task"


def test_uploads_while_the_broker_is_down_are_classified_once_it_is_back(
    private_broker, private_worker, active_model, user, tmp_path, client
):
    worker = private_worker(["--beat", "--schedule", str(tmp_path / "beat-schedule")], SKYBEAT_PENDING_SWEEP_AGE_S="2")
    private_broker.stop()
    client.force_login(user)

    song_ids = []
    for seed in (21, 22, 23):
        path = write_audio(tmp_path / f"outage-{seed}.wav", synthetic_genre_clip("chime", 8, SR_HZ, seed=seed), SR_HZ)
        started = time.monotonic()
        response = client.post(reverse("api-song-list"), {"file": SimpleUploadedFile(path.name, path.read_bytes())})
        assert response.status_code == 201, response.content
        assert time.monotonic() - started < 10, "a down broker must not hang the upload"
        song_ids.append(response.json()["uploads"][0]["song"]["id"])
    assert set(Song.objects.filter(pk__in=song_ids).values_list("status", flat=True)) == {Song.Status.PENDING}
    health = client.get("/healthz")
    assert health.status_code == 503 and health.json()["broker"]["ok"] is False

    private_broker.start()  # empty: the messages never existed; the periodic sweep must find the songs itself
    for song_id in song_ids:
        assert_classified_once(final_status(song_id, worker), active_model)
    assert client.get("/healthz").status_code == 200


def test_an_unusable_model_fails_songs_clearly_and_retrying_after_activating_a_good_one_recovers_them(
    private_worker, active_model, broken_model, user, tmp_path, admin_client, settings
):
    corrupt = broken_model()  # active, its manifest is not JSON
    worker = private_worker()
    [child] = pool_processes(worker)
    first = final_status(upload(user, tmp_path, seconds=8, seed=31).pk, worker)
    assert first.status == Song.Status.FAILED
    assert first.failure_reason.lower().startswith(f"no usable model: {corrupt.name}: unreadable manifest.json")

    missing = ModelVersion.objects.create(name="files-gone", architecture=corrupt.architecture, genres=corrupt.genres,
                                          artefact_path="files-gone")
    missing.activate()
    assert not (Path(settings.SKYBEAT_MODELS_DIR) / "files-gone").exists()
    second = final_status(upload(user, tmp_path, seconds=8, seed=32).pk, worker)
    assert second.status == Song.Status.FAILED and "no usable model" in second.failure_reason.lower()
    health = Client().get("/healthz").json()["model"]
    assert health["loaded"] is False and health["name"] == "files-gone" and health["error"]

    # Failing fast, not crashing or retrying in a loop: one delivery per song, the same pool process alive.
    assert worker.poll() is None and [p.pid for p in pool_processes(worker)] == [child.pid]
    received = [line for line in log_of(worker).splitlines() if "classify_song[" in line and "received" in line]
    assert len(received) == 2, received

    registry.activate(active_model, reclassify=False)
    response = admin_client.post(reverse("admin:classifier_modelversion_retry_failed"))
    assert response.status_code == 302
    for song in (first, second):
        assert_classified_once(final_status(song.pk, worker), active_model)
    assert Client().get("/healthz").json()["model"] == {"loaded": True, "name": active_model.name, "error": None}


def test_a_song_whose_file_vanished_fails_with_that_reason(private_worker, active_model, user, tmp_path):
    worker = private_worker()
    with transaction.atomic():  # published on commit, by which time the file is gone
        song = upload(user, tmp_path, seconds=8, seed=41)
        Path(song.audio_file.path).unlink()
    song = final_status(song.pk, worker)
    assert (song.status, song.failure_reason) == (Song.Status.FAILED, "The audio file is missing from storage")
    assert not song.predictions.exists()


def test_a_reclassification_started_while_the_broker_is_down_is_resumed_by_the_sweep(
    private_broker, private_worker, active_model, user, tmp_path, settings
):
    private_broker.stop()
    songs = [upload(user, tmp_path, seconds=8, seed=seed) for seed in (51, 52, 53)]  # pending: nothing was sent
    other = second_pretrained()
    started = time.monotonic()
    job = registry.activate(other, reclassify=True)
    assert time.monotonic() - started < 10, "a down broker must not hang the activation"
    job.refresh_from_db()
    assert (job.total, job.done, job.finished_at) == (3, 0, None)
    assert "could not reach the task queue" in job.message.lower()

    private_broker.start()  # empty: the sweep must find the songs itself
    worker = private_worker()
    settings.SKYBEAT_RECLASSIFY_STALL_S = 0
    assert tasks.resume_stalled_reclassify_jobs.apply().get() == 1
    settings.SKYBEAT_RECLASSIFY_STALL_S = 600
    assert registry.resume_stalled_reclassify_jobs() == []  # idempotent: it just made progress possible

    wait_until(lambda: ReclassifyJob.objects.filter(pk=job.pk, finished_at__isnull=False).exists(),
               what=f"the job to finish; worker log:\n{log_of(worker)[-4000:]}")
    for song in songs:
        assert_classified_once(final_status(song.pk, worker), other)
    job.refresh_from_db()
    assert job.done == job.total == 3 and not job.failed


def test_a_reclassification_that_cannot_be_sent_fails_after_its_attempts_saying_why(
    private_broker, active_model, user, tmp_path, settings, admin_client
):
    private_broker.stop()
    upload(user, tmp_path, seconds=8, seed=61)
    job = registry.activate(second_pretrained(), reclassify=True)
    settings.SKYBEAT_RECLASSIFY_STALL_S = 0
    for attempt in range(1, settings.SKYBEAT_RECLASSIFY_ATTEMPTS + 1):
        assert registry.resume_stalled_reclassify_jobs() == [job.pk]
        job.refresh_from_db()
        assert (job.resumes, job.finished_at) == (attempt, None) and "task queue" in job.message

    assert registry.resume_stalled_reclassify_jobs() == []
    job.refresh_from_db()
    assert job.failed and job.finished_at and job.done == 0
    assert f"after {settings.SKYBEAT_RECLASSIFY_ATTEMPTS} attempts" in job.message and "task queue" in job.message
    assert registry.resume_stalled_reclassify_jobs() == [] and ReclassifyJob.objects.get(pk=job.pk) == job
    page = admin_client.get(reverse("admin:classifier_reclassifyjob_changelist")).content.decode()
    assert "failed" in page and f"after {settings.SKYBEAT_RECLASSIFY_ATTEMPTS} attempts" in page
