"""The model registry: the migration's default model, activation, library reclassification, retries, admin."""

import json
import os
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from catalog.models import Genre, Song
from classifier import registry, tasks
from classifier.models import ModelVersion, ReclassifyJob
from skybeat.celery import app
from tests.classifier_factories import active_model, forget_failed_loads, second_pretrained, upload_song  # noqa: F401


def test_a_fresh_install_has_the_shipped_model_active_and_pretrained_tags_selectable(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    migrate = subprocess.run(
        [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "migrate", "--noinput"],
        env={**env, "SKYBEAT_VAR_DIR": str(tmp_path)}, capture_output=True, text=True, timeout=300,
    )
    assert migrate.returncode == 0, migrate.stderr
    with sqlite3.connect(tmp_path / "skybeat.sqlite3") as db:
        models = db.execute("SELECT name, architecture, active, artefact_path, genres FROM classifier_modelversion "
                            "ORDER BY name")
        (default, d_arch, d_active, d_path, d_genres), (name, architecture, active, artefact_path, genres) = (
            models.fetchall())
        slugs = {slug for (slug,) in db.execute("SELECT slug FROM catalog_genre")}
    assert (default, d_arch, d_active, d_path) == ("genre-crnn-gtzan", "crnn-fusion", 1, "genre-crnn-gtzan")
    assert (name, architecture, active, artefact_path) == ("pretrained-tags", "pretrained-tags", 0, "pretrained-tags")
    assert {"rock", "jazz", "classical", "hip-hop", "reggae", "disco"} <= slugs
    assert set(json.loads(genres)) <= slugs and "reggae" not in json.loads(genres)  # no tagger tag names reggae
    assert {"reggae", "disco", "electronic"} <= set(json.loads(d_genres)) <= slugs


def test_activating_a_model_deactivates_the_others(active_model):
    other = second_pretrained()
    assert registry.activate(other, reclassify=False) is None
    assert list(ModelVersion.objects.filter(active=True)) == [other]
    assert not ReclassifyJob.objects.exists()


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_reclassifying_the_library_runs_batches_to_the_end(
    celery_worker_process, active_model, user, tmp_path, monkeypatch
):
    songs = [upload_song(tmp_path, user, genre, seed=20 + i) for i, genre in enumerate(("pulse", "drone", "chime"))]
    monkeypatch.setattr(registry, "RECLASSIFY_BATCH_SIZE", 2)  # 3 songs: two batch tasks
    other = second_pretrained()
    job = registry.activate(other, reclassify=True)
    assert job.total == 3

    deadline = time.monotonic() + 120
    while True:
        job.refresh_from_db()
        if job.finished_at and all(
            Song.objects.filter(pk=s.pk, classified_with=other, status=Song.Status.CLASSIFIED).exists() for s in songs
        ):
            break
        assert time.monotonic() < deadline, celery_worker_process.log_path.read_text()[-3000:]
        time.sleep(0.5)
    assert job.done == job.total == 3
    assert all(song.predictions.filter(model_version=other).count() == len(other.genres) for song in songs)


def test_a_batch_stops_at_its_time_budget_and_hands_back_the_rest(active_model, user, tmp_path):
    songs = [upload_song(tmp_path, user, "pulse", seed=30 + i) for i in range(3)]
    job = ReclassifyJob.objects.create(model_version=active_model, total=3)
    left = registry.reclassify_batch(job.pk, [s.pk for s in songs], budget_s=0)
    assert left == [songs[1].pk, songs[2].pk]
    job.refresh_from_db()
    assert (job.done, job.finished_at) == (1, None)
    assert Song.objects.get(pk=songs[0].pk).status == Song.Status.CLASSIFIED

    assert registry.reclassify_batch(job.pk, left, budget_s=60) == []
    assert registry.reclassify_batch(job.pk, left, budget_s=60) == []  # a redelivered batch cannot overshoot
    job.refresh_from_db()
    assert job.done == 3 and job.finished_at is not None


def test_the_sweep_finishes_a_stalled_job_with_nothing_left_and_stops_one_whose_model_was_replaced(
    active_model, user, tmp_path, settings
):
    settings.SKYBEAT_RECLASSIFY_STALL_S = 900
    now = timezone.now()
    song = upload_song(tmp_path, user, "pulse", seed=60)
    Song.objects.filter(pk=song.pk).update(created_at=now - timedelta(minutes=60), status=Song.Status.CLASSIFIED,
                                           status_changed_at=now - timedelta(minutes=30))

    def job(version: ModelVersion, created_min_ago: int, heartbeat_at) -> ReclassifyJob:
        created = ReclassifyJob.objects.create(model_version=version, total=1, heartbeat_at=heartbeat_at)
        ReclassifyJob.objects.filter(pk=created.pk).update(created_at=now - timedelta(minutes=created_min_ago))
        return created

    counted_lost = job(active_model, 40, None)  # its song was classified since it started; the count got lost
    replaced = job(second_pretrained(), 20, now - timedelta(minutes=20))  # its song still to do
    alive = job(active_model, 20, now)

    assert tasks.resume_stalled_reclassify_jobs.apply().get() == 0  # nothing to send again
    counted_lost, replaced, alive = (ReclassifyJob.objects.get(pk=j.pk) for j in (counted_lost, replaced, alive))
    assert counted_lost.done == 1 and counted_lost.finished_at and not counted_lost.failed
    assert replaced.failed and replaced.message == (
        "Stopped with 1 song(s) left: pretrained-tags-again is no longer the active model.")
    assert (alive.done, alive.finished_at, alive.message) == (0, None, "")
    beat = settings.CELERY_BEAT_SCHEDULE["resume-stalled-reclassify-jobs"]
    assert beat["task"] == tasks.resume_stalled_reclassify_jobs.name
    assert app.amqp.router.route({}, beat["task"])["queue"].name == "default"


def test_failed_songs_are_queued_again(active_model, user, tmp_path, django_capture_on_commit_callbacks):
    failed = upload_song(tmp_path, user, "drone", seed=40)
    fine = upload_song(tmp_path, user, "drone", seed=41)
    Song.objects.filter(pk=failed.pk).update(status=Song.Status.FAILED, failure_reason="No usable model: x")
    Song.objects.filter(pk=fine.pk).update(status=Song.Status.CLASSIFIED)
    with django_capture_on_commit_callbacks() as callbacks:
        assert registry.requeue_failed_songs() == 1
    assert len(callbacks) == 1  # one publication of classify_song after the commit
    failed.refresh_from_db()
    assert (failed.status, failed.failure_reason) == (Song.Status.PENDING, "")
    assert Song.objects.get(pk=fine.pk).status == Song.Status.CLASSIFIED


@pytest.fixture
def admin_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.org", "r-Long-pass-phrase-9")
    client.force_login(admin)
    return client


def test_admin_activation_asks_first_then_activates(admin_client, active_model, user, tmp_path):
    upload_song(tmp_path, user, "pulse", seed=50)
    other = second_pretrained()
    changelist = reverse("admin:classifier_modelversion_changelist")
    form = {"action": "activate_selected", "_selected_action": [other.pk]}

    page = admin_client.post(changelist, form)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Activate and reclassify the library" in html and "Activate only" in html
    assert ModelVersion.get_active() == active_model  # nothing changed yet

    admin_client.post(changelist, {**form, "activate": "only"})
    assert ModelVersion.get_active() == other and not ReclassifyJob.objects.exists()

    response = admin_client.post(changelist, {**form, "_selected_action": [active_model.pk], "activate": "reclassify"})
    assert response.status_code == 302
    assert ModelVersion.get_active() == active_model
    job = ReclassifyJob.objects.get()
    assert (job.model_version, job.total, job.done) == (active_model, 1, 0)
    jobs = admin_client.get(reverse("admin:classifier_reclassifyjob_changelist")).content.decode()
    assert '<progress max="1" value="0">' in jobs
    detail = admin_client.get(reverse("admin:classifier_modelversion_change", args=[active_model.pk])).content.decode()
    assert "running" in detail and "<progress" in detail


def test_admin_shows_model_health_and_requeues_failed_songs(admin_client, active_model, user, tmp_path):
    song = upload_song(tmp_path, user, "chime", seed=51)
    Song.objects.filter(pk=song.pk).update(status=Song.Status.FAILED, failure_reason="Could not decode audio: x")
    ModelVersion.objects.filter(pk=active_model.pk).update(load_error="tag_map.json is corrupt (checksum mismatch)")
    changelist = admin_client.get(reverse("admin:classifier_modelversion_changelist")).content.decode()
    assert "tag_map.json is corrupt (checksum mismatch)" in changelist
    assert "Re-queue 1 failed song" in changelist

    assert admin_client.get(reverse("admin:classifier_modelversion_retry_failed")).status_code == 405
    response = admin_client.post(reverse("admin:classifier_modelversion_retry_failed"))
    assert response.status_code == 302
    assert Song.objects.get(pk=song.pk).status == Song.Status.PENDING


def test_genres_of_the_default_model_exist(active_model):
    assert set(active_model.genres) <= set(Genre.objects.values_list("slug", flat=True))
