"""A training job on the library's labels through the real Celery worker, on the training queue."""

import os
import shutil
import time
from pathlib import Path

import pytest
from django.conf import settings

from classifier.models import ModelVersion, TrainingJob
from classifier.training_tasks import train_model
from skybeat.celery import app
from tests.conftest import start_worker, stop_worker, test_database_url
from tests.training_helpers import labelled_library


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_training_job_succeeds_on_the_worker_and_registers_an_inactive_model(celery_worker_process, staff_user):
    songs = labelled_library(staff_user, {"drone": 8, "pulse": 8}, seconds=6.0)
    active = ModelVersion.get_active()
    job = TrainingJob.objects.create(mode="feature-extractor", genres=["drone", "pulse"], epochs=4,
                                     created_by=staff_user)
    assert app.amqp.router.route({}, train_model.name)["queue"].name == "training"

    train_model.delay(job.pk)

    deadline = time.monotonic() + 240
    while job.status in (TrainingJob.Status.QUEUED, TrainingJob.Status.RUNNING) and time.monotonic() < deadline:
        time.sleep(1)
        job.refresh_from_db()
    worker_log = Path(celery_worker_process.log_path).read_text()[-3000:]
    assert job.status == TrainingJob.Status.SUCCEEDED, f"{job.message}\n{worker_log}"
    assert job.progress == 1.0 and job.finished_at and 1 <= job.epoch <= 4 and len(job.history) == job.epoch
    assert "val_accuracy" in job.history[-1]
    version = job.model_version
    assert version is not None and not version.active and ModelVersion.get_active() == active
    card = version.model_card
    assert card["split"]["by"] == "song_id" and card["source"] == "library"
    assert sorted(card["split"]["train"] + card["split"]["validation"]) == sorted(song.pk for song in songs)
    assert card["data"]["validation"] == {"drone": 2, "pulse": 2}
    shutil.rmtree(Path(settings.SKYBEAT_MODELS_DIR) / version.artefact_path)


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_training_only_worker_preloads_no_genre_model(tmp_path):
    """`make run`'s training worker consumes only the training queue: it must not hold the active model too."""
    log = tmp_path / "training-worker.log"
    skipped = "No genre model preloaded: this worker does not consume the classification queue"
    worker = start_worker({**os.environ, "DATABASE_URL": test_database_url()}, log, queues="training",
                          ready=lambda: skipped in log.read_text() and " ready." in log.read_text())
    stop_worker(worker)
    assert "Loaded model" not in log.read_text()
