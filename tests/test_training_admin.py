"""Training in the admin: the "Train a new model" form, a job failing for too few labels, live progress JSON,
a model's metrics panel and confusion image, and the genre columns and actions."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.models import Genre, GenreLabel
from catalog.services import label_song
from classifier import datasets, sweeps, tasks, training_jobs
from classifier.model_cards import draw_confusion
from classifier.models import ModelVersion, TrainingJob
from skybeat.celery import app
from tests.catalog_factories import genre, make_song

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, staff_user):
    staff_user.is_superuser = True
    staff_user.save()
    client.force_login(staff_user)
    return client


def labelled(slug: str, count: int, user) -> Genre:
    g = genre(slug)
    for _ in range(count):
        label_song(make_song(user), g, user)
    return g


def test_too_few_labels_fail_the_job_with_the_reason_and_keep_the_active_model(staff_user, settings):
    settings.SKYBEAT_MIN_LABELS_PER_GENRE = 8
    labelled("shoegaze", 3, staff_user)
    labelled("drone", 8, staff_user)
    active = ModelVersion.get_active()
    versions = ModelVersion.objects.count()
    job = TrainingJob.objects.create(genres=["shoegaze", "drone"], epochs=3, created_by=staff_user)

    training_jobs.run_job(job.pk)

    job.refresh_from_db()
    assert job.status == TrainingJob.Status.FAILED and job.finished_at is not None and job.heartbeat_at is not None
    assert job.message == "genre 'shoegaze' has 3 labelled songs, needs 8"
    assert ModelVersion.get_active() == active and ModelVersion.objects.count() == versions
    assert training_jobs.run_job(job.pk).status == TrainingJob.Status.FAILED  # a redelivery does not run it again


def test_running_jobs_silent_for_the_stall_time_fail_with_the_reason(staff_user, settings):
    """A training worker killed mid-run leaves its job "running"; the periodic sweep fails it, and only it."""
    settings.SKYBEAT_TRAINING_STALL_S = 900
    long_ago, now = timezone.now() - timedelta(minutes=20), timezone.now()
    Status = TrainingJob.Status

    def job(status: str, heartbeat_at) -> TrainingJob:
        created = TrainingJob.objects.create(status=status, heartbeat_at=heartbeat_at, created_by=staff_user)
        TrainingJob.objects.filter(pk=created.pk).update(created_at=long_ago)  # auto_now_add
        return created

    silent, alive = job(Status.RUNNING, long_ago), job(Status.RUNNING, now)
    from_before_heartbeats = job(Status.RUNNING, None)
    untouched = [alive, job(Status.QUEUED, None), job(Status.SUCCEEDED, long_ago)]

    assert sorted(sweeps.fail_stalled_training_jobs()) == sorted([silent.pk, from_before_heartbeats.pk])

    for stalled in (silent, from_before_heartbeats):
        stalled.refresh_from_db()
        assert stalled.status == Status.FAILED and stalled.finished_at and stalled.eta_s is None
        assert stalled.message.startswith("The training worker stopped during this run (no progress for 15 min)")
    assert [(j.status, j.finished_at) for j in untouched] == [
        (j.status, j.finished_at) for j in TrainingJob.objects.filter(pk__in=[j.pk for j in untouched]).order_by("pk")]
    assert tasks.fail_stalled_training_jobs.apply().get() == 0  # nothing left to fail
    beat = settings.CELERY_BEAT_SCHEDULE["fail-stalled-training-jobs"]
    assert beat["task"] == tasks.fail_stalled_training_jobs.name
    # on "default": the training worker, which may be the one that died, does not consume it
    assert app.amqp.router.route({}, beat["task"])["queue"].name == "default"


def test_a_library_with_one_ready_genre_cannot_train(staff_user, settings):
    settings.SKYBEAT_MIN_LABELS_PER_GENRE = 2
    labelled("drone", 2, staff_user)
    with pytest.raises(datasets.TrainingError, match="at least 2 genre\\(s\\) with enough labelled songs"):
        datasets.library_dataset()
    with pytest.raises(datasets.TrainingError, match="unknown genre"):
        datasets.library_dataset(["nope", "drone"])


def test_train_a_new_model_form_creates_and_enqueues_a_job(admin_client, staff_user, settings,
                                                           django_capture_on_commit_callbacks):
    settings.SKYBEAT_MIN_LABELS_PER_GENRE = 2
    labelled("drone", 2, staff_user)
    labelled("chime", 1, staff_user)
    page = admin_client.get(reverse("admin:classifier_trainingjob_add")).content.decode()
    assert "Train a new model" in page
    assert "Drone — 2 labelled songs (enough to train)" in page
    assert "Chime — 1 labelled songs (needs 2)" in page
    assert "Train a new model" in admin_client.get(reverse("admin:classifier_trainingjob_changelist")).content.decode()

    refused = admin_client.post(reverse("admin:classifier_trainingjob_add"),
                                {"mode": "feature-extractor", "genres": ["drone"], "epochs": 0})
    assert refused.status_code == 200 and not TrainingJob.objects.exists()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client.post(reverse("admin:classifier_trainingjob_add"),
                                     {"mode": "fine-tune", "genres": ["drone", "chime"], "epochs": 4})
    job = TrainingJob.objects.get()
    assert response.url == reverse("admin:classifier_trainingjob_change", args=[job.pk])
    assert (job.mode, job.genres, job.epochs, job.status, job.created_by) == (
        "fine-tune", ["drone", "chime"], 4, "queued", staff_user)
    assert len(callbacks) == 1  # the training task is sent once the job is committed


def test_job_page_and_progress_json_show_live_state(admin_client, client, staff_user):
    job = TrainingJob.objects.create(epochs=10, status="running", progress=0.5, epoch=3, eta_s=42.0,
                                     message="epoch 3/10", history=[{"epoch": 3, "loss": 0.5, "val_accuracy": 0.8}])
    page = admin_client.get(reverse("admin:classifier_trainingjob_change", args=[job.pk])).content.decode()
    assert 'id="training-progress"' in page and "about 42 s left" in page and "epoch 3/10" in page
    data = admin_client.get(reverse("admin:classifier_trainingjob_progress", args=[job.pk])).json()
    assert data | {"history": None} == data | {
        "status": "running", "progress": 0.5, "epoch": 3, "epochs": 10, "eta_s": 42.0, "finished": False,
        "model_version": None, "history": None}
    assert data["history"][0]["val_accuracy"] == 0.8

    TrainingJob.objects.filter(pk=job.pk).update(status="failed", message="genre 'x' has 1 labelled songs, needs 8")
    page = admin_client.get(reverse("admin:classifier_trainingjob_change", args=[job.pk])).content.decode()
    assert "genre &#x27;x&#x27; has 1 labelled songs, needs 8" in page and "tp-failed" in page

    admin_client.logout()
    assert client.get(reverse("admin:classifier_trainingjob_progress", args=[job.pk])).status_code == 302


def test_model_page_shows_metrics_and_confusion_image(admin_client, client, settings, tmp_path):
    settings.SKYBEAT_MODELS_DIR = tmp_path
    (tmp_path / "m1").mkdir()
    draw_confusion([[3, 1], [0, 4]], ["drone", "pulse"], tmp_path / "m1" / "confusion.png", "m1")
    metrics = {"song_accuracy": 0.875, "frame_accuracy": 0.75, "multi_frame_gain": 0.125, "validation_songs": 8,
               "validation_frames": 24, "epochs_run": 6, "best_epoch": 4, "confusion": [[3, 1], [0, 4]],
               "per_genre": {"drone": {"recall": 0.75, "frame_recall": 0.6, "songs": 4},
                             "pulse": {"recall": 1.0, "frame_recall": 0.9, "songs": 4}}}
    version = ModelVersion.objects.create(name="m1", architecture="crnn-feature-extractor",
                                          genres=["drone", "pulse"], metrics=metrics, artefact_path="m1")
    page = admin_client.get(reverse("admin:classifier_modelversion_change", args=[version.pk])).content.decode()
    image_url = reverse("admin:classifier_modelversion_confusion", args=[version.pk])
    assert "Song-level accuracy" in page and "88 %" in page and "Single-frame accuracy" in page
    assert "60 %" in page and f'src="{image_url}"' in page
    image = admin_client.get(image_url)
    assert image["Content-Type"] == "image/png" and b"".join(image.streaming_content)[:4] == b"\x89PNG"

    version.artefact_path = "../.."
    version.save()
    assert admin_client.get(image_url).status_code == 404
    admin_client.logout()
    assert client.get(image_url).status_code == 302  # staff only: to the admin login


def test_genre_admin_counts_labels_and_merges_or_retires(admin_client, staff_user, settings):
    settings.SKYBEAT_MIN_LABELS_PER_GENRE = 3
    drone = labelled("drone", 3, staff_user)
    hum = labelled("hum", 1, staff_user)
    changelist = reverse("admin:catalog_genre_changelist")
    page = admin_client.get(changelist).content.decode()
    assert "Enough to train?" in page and "(3 of 3)" in page and "2 more needed (minimum 3)" in page

    ask = admin_client.post(changelist, {"action": "merge_selected_genres", "_selected_action": [drone.pk, hum.pk]})
    assert "Keep <strong>Drone</strong>" in ask.content.decode()
    admin_client.post(changelist, {"action": "merge_selected_genres", "_selected_action": [drone.pk, hum.pk],
                                   "keep": drone.pk})
    assert not Genre.objects.filter(slug="hum").exists()
    assert GenreLabel.objects.filter(genre=drone).count() == 4

    admin_client.post(changelist, {"action": "retire_selected_genres", "_selected_action": [drone.pk]})
    drone.refresh_from_db()
    assert drone.retired and drone.labels.count() == 4

