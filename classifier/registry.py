"""The model registry: which ModelVersion is active, whether it can be used, and reclassifying the library.

Nothing here imports TensorFlow: the web process (admin, /healthz) uses this module too.
"""

import json
import logging
import time
from datetime import timedelta
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Least
from django.utils import timezone

from catalog.models import Song
from catalog.services import enqueue_classification
from skybeat.queue import BrokerUnavailable, publish

from .artefacts import live_dir
from .models import ModelVersion, ReclassifyJob, TrainingJob

logger = logging.getLogger(__name__)

PRETRAINED_NAME = "pretrained-tags"
RECLASSIFY_BATCH_SIZE = 50
RECLASSIFY_TASK = "classifier.tasks.reclassify_batch"


def artefact_dir(version: ModelVersion) -> Path:
    """The model's artefact directory, of complete versions of its files (classifier.artefacts)."""
    return Path(settings.SKYBEAT_MODELS_DIR) / version.artefact_path


def live_artefact_dir(version: ModelVersion) -> Path:
    """The folder of the model's live files."""
    return live_dir(artefact_dir(version))


def artefact_problem(version: ModelVersion) -> str | None:
    """Why ``version``'s files cannot be loaded, judged cheaply from the manifest (no TensorFlow, no hashing)."""
    from .genre_model import FORMAT_VERSION, MANIFEST

    if not version.artefact_path:
        return "the model has no artefact path"
    directory = live_artefact_dir(version)
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        from .inference import SHIPPED_MODELS_DIR

        if version.architecture == ModelVersion.Architecture.PRETRAINED_TAGS or (
                SHIPPED_MODELS_DIR / version.artefact_path / MANIFEST).is_file():
            return f"not loaded yet: a worker writes {artefact_dir(version)} when it first loads the model"
        return f"the model files are missing: no {manifest_path}"
    try:
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("format_version") != FORMAT_VERSION:
            return f"unsupported artefact format {manifest.get('format_version')!r}"
        missing = [name for name in manifest["files"] if not (directory / name).is_file()]
    except (OSError, ValueError, AttributeError, KeyError, TypeError) as exc:
        return f"the model files are corrupt: unreadable {MANIFEST} ({exc})"
    if missing:
        return f"the model files are incomplete: missing {', '.join(missing)}"
    return None


def active_model_status() -> dict:
    """Health of the active model: its manifest and what the workers last saw (the web never loads TF)."""
    model = ModelVersion.get_active()
    if model is None:
        return {"loaded": False, "name": None, "error": "no model is active"}
    error = model.load_error or artefact_problem(model)
    return {"loaded": not error, "name": model.name, "error": error or None}


def activate(version: ModelVersion, *, reclassify: bool) -> ReclassifyJob | None:
    """Make ``version`` the only active model; optionally reclassify the whole library with it."""
    version.activate()
    logger.info("Activated model %s", version.name)
    return start_reclassify(version) if reclassify else None


def start_reclassify(version: ModelVersion) -> ReclassifyJob:
    """Queue every song for reclassification in batches of RECLASSIFY_BATCH_SIZE on the classification queue."""
    song_ids = list(Song.objects.order_by("pk").values_list("pk", flat=True))
    with transaction.atomic():
        now = timezone.now()
        job = ReclassifyJob.objects.create(
            model_version=version, total=len(song_ids), heartbeat_at=now, finished_at=None if song_ids else now
        )
        if song_ids:
            transaction.on_commit(lambda: send_batches(job.pk, song_ids))
    return job


def send_batches(job_id: int, song_ids: list[int]) -> None:
    """Publish ``reclassify_batch`` tasks for the job's songs. If the broker fails, the job says so and stalls
    until the periodic sweep sends its songs again (resume_stalled_reclassify_jobs)."""
    size = RECLASSIFY_BATCH_SIZE
    try:
        publish(RECLASSIFY_TASK, ([job_id, song_ids[i : i + size]] for i in range(0, len(song_ids), size)))
    except BrokerUnavailable as exc:
        logger.warning("Reclassification %s: could not send its songs (%s); the sweep tries again", job_id, exc)
        ReclassifyJob.objects.filter(pk=job_id).update(
            message=f"Could not reach the task queue ({exc}): {len(song_ids)} song(s) not sent.")


def reclassify_batch(job_id: int, song_ids: list[int], budget_s: float | None = None) -> list[int]:
    """Classify songs of a reclassification job, counting progress; returns the ids left when time runs out.

    The budget (half the task's soft time limit by default) keeps one batch task within its time limit.
    """
    from . import inference

    budget_s = settings.CELERY_TASK_SOFT_TIME_LIMIT / 2 if budget_s is None else budget_s
    started = time.monotonic()
    for index, song_id in enumerate(song_ids):
        if index and time.monotonic() - started > budget_s:
            return song_ids[index:]
        try:
            inference.classify_song(song_id)
        except SoftTimeLimitExceeded:
            inference.mark_failed(song_id, inference.timeout_reason())
            _count_done(job_id, 1)
            return song_ids[index + 1 :]
        except inference.TRANSIENT_ERRORS as exc:
            logger.warning("Song %s: %s; handing it to a task with retries", song_id, exc)
            enqueue_classification([song_id])
        except Exception as exc:  # one song's unforeseen error must not stop the library's reclassification
            inference.fail_unexpected(song_id, exc)
        _count_done(job_id, 1)
    return []


def _count_done(job_id: int, count: int) -> None:
    """Advance the job's progress (never past its total, so a redelivered batch cannot overshoot)."""
    ReclassifyJob.objects.filter(pk=job_id).update(
        done=Least(F("done") + count, F("total")), heartbeat_at=timezone.now(), resumes=0)
    ReclassifyJob.objects.filter(pk=job_id, done__gte=F("total"), finished_at__isnull=True).update(
        finished_at=timezone.now()
    )


def requeue_failed_songs() -> int:
    """Put every failed song back in the queue; returns how many."""
    from catalog.services import reclassify

    with transaction.atomic():
        return reclassify(Song.objects.filter(status=Song.Status.FAILED))


def fail_stalled_training_jobs() -> list[int]:
    """Fail the running training jobs that have sent no progress for SKYBEAT_TRAINING_STALL_S; returns their ids.

    Their worker was killed or restarted: training tasks are acknowledged when they start (a run can outlast the
    broker's redelivery timeout), so nothing would ever finish them. A live run reports every few seconds while
    it reads songs and trains (batch by batch); evaluating and saving at the end take minutes at most.
    """
    stall_s = settings.SKYBEAT_TRAINING_STALL_S
    cutoff = timezone.now() - timedelta(seconds=stall_s)
    # A null heartbeat: the job started before heartbeats existed (migration 0003).
    silent = Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff)
    stalled = TrainingJob.objects.filter(silent, status=TrainingJob.Status.RUNNING)
    ids = list(stalled.values_list("pk", flat=True))
    stalled.filter(pk__in=ids).update(
        status=TrainingJob.Status.FAILED, finished_at=timezone.now(), eta_s=None,
        message=f"The training worker stopped during this run (no progress for {stall_s // 60} min): it was "
                f"killed or restarted. Start a new job to train again.")
    for pk in ids:
        logger.warning("Training job %s failed: no progress for %d s", pk, stall_s)
    return ids


def songs_left(job: ReclassifyJob) -> QuerySet:
    """The job's songs (those there when it started) neither classified nor failed since."""
    settled = Q(status__in=[Song.Status.CLASSIFIED, Song.Status.FAILED], status_changed_at__gte=job.created_at)
    return Song.objects.filter(created_at__lte=job.created_at).exclude(settled)


def resume_stalled_reclassify_jobs() -> list[int]:
    """Resume the reclassifications that made no progress for SKYBEAT_RECLASSIFY_STALL_S; returns their ids.

    Their messages were lost (the broker was down, or came back empty) or never sent. The songs left are sent again,
    at most SKYBEAT_RECLASSIFY_ATTEMPTS times without progress in between; then the job fails, saying why. A job
    with nothing left is finished, one whose model is no longer active stopped. Idempotent: a resumed job waits a
    whole stall period again, and concurrent sweeps resume a job once.
    """
    stall_s, attempts = settings.SKYBEAT_RECLASSIFY_STALL_S, settings.SKYBEAT_RECLASSIFY_ATTEMPTS
    now = timezone.now()
    cutoff = now - timedelta(seconds=stall_s)
    silent = Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff)
    resumed = []
    for job in ReclassifyJob.objects.filter(silent, finished_at__isnull=True).select_related("model_version"):
        left = list(songs_left(job).order_by("pk").values_list("pk", flat=True))
        unchanged = ReclassifyJob.objects.filter(pk=job.pk, resumes=job.resumes, finished_at__isnull=True)
        done = job.total - min(len(left), job.total)
        if not left:
            unchanged.update(done=job.total, finished_at=now)
        elif not job.model_version.active:
            unchanged.update(done=done, finished_at=now, message=(
                f"Stopped with {len(left)} song(s) left: {job.model_version.name} is no longer the active model."))
        elif job.resumes >= attempts:
            logger.warning("Reclassification %s failed: no progress after %d attempts", job.pk, attempts)
            unchanged.update(done=done, finished_at=now, message=(
                f"Failed with {len(left)} song(s) left: no progress after {attempts} attempts to send them again, "
                f"{_span(stall_s)} apart. Latest: {job.message} Activate the model again with reclassification "
                f"to retry."))
        elif unchanged.update(done=done, heartbeat_at=now, resumes=F("resumes") + 1, message=(
                f"Resumed (attempt {job.resumes + 1} of {attempts}): sent the {len(left)} song(s) left again.")):
            logger.info("Reclassification %s: no progress for %d s; sending its %d song(s) left again",
                        job.pk, stall_s, len(left))
            send_batches(job.pk, left)
            resumed.append(job.pk)
    return resumed


def _span(seconds: int) -> str:
    return f"{seconds // 60} min" if seconds >= 60 else f"{seconds} s"


def install_defaults(genre_model_cls, model_version_cls) -> None:
    """Create the default genres and the active "pretrained-tags" model version (idempotent).

    Takes the model classes so that the data migration can pass its historical models. The pretrained-tags
    model predicts the default genres that the musicnn taggers have tags for.
    """
    from .features import FrameSettings
    from .genre_model import GENRE_TABLE

    for ordering, row in enumerate(GENRE_TABLE):
        genre, created = genre_model_cls.objects.get_or_create(
            slug=row.slug,
            defaults={"name": row.name, "colour": row.colour, "description": row.description, "ordering": ordering},
        )
        if not created and not genre.description:  # made by another app's migration, without a description
            genre_model_cls.objects.filter(pk=genre.pk).update(description=row.description)
    version, _ = model_version_cls.objects.get_or_create(
        name=PRETRAINED_NAME,
        defaults={
            "architecture": ModelVersion.Architecture.PRETRAINED_TAGS,
            "genres": [row.slug for row in GENRE_TABLE if row.msd_tags or row.mtt_tags],
            "feature_params": FrameSettings().to_dict(),
            "artefact_path": PRETRAINED_NAME,
            "model_card": {
                "summary": "The pretrained musicnn taggers (MSD and MagnaTagATune) with their genre tags mapped "
                "onto SKYBEAT's default genres and calibrated; no training on this library.",
                "limits": "Genres without a tag in either tagger (reggae) are never predicted.",
            },
        },
    )
    if not model_version_cls.objects.filter(active=True).exists():
        model_version_cls.objects.filter(pk=version.pk).update(active=True)
