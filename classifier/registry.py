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
from django.db.models import F, Q
from django.db.models.functions import Least
from django.utils import timezone

from catalog.models import Song

from .models import ModelVersion, ReclassifyJob, TrainingJob

logger = logging.getLogger(__name__)

RECLASSIFY_BATCH_SIZE = 50


def artefact_dir(version: ModelVersion) -> Path:
    return Path(settings.SKYBEAT_MODELS_DIR) / version.artefact_path


def artefact_problem(version: ModelVersion) -> str | None:
    """Why ``version``'s files cannot be loaded, judged cheaply from the manifest (no TensorFlow, no hashing)."""
    from .genre_model import FORMAT_VERSION, MANIFEST

    if not version.artefact_path:
        return "the model has no artefact path"
    directory = artefact_dir(version)
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        from .inference import SHIPPED_MODELS_DIR

        if version.architecture == ModelVersion.Architecture.PRETRAINED_TAGS or (
                SHIPPED_MODELS_DIR / version.artefact_path / MANIFEST).is_file():
            return f"not loaded yet: a worker writes {directory} when it first loads the model"
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
    from . import tasks

    song_ids = list(Song.objects.order_by("pk").values_list("pk", flat=True))
    with transaction.atomic():
        job = ReclassifyJob.objects.create(
            model_version=version, total=len(song_ids), finished_at=None if song_ids else timezone.now()
        )
        for start in range(0, len(song_ids), RECLASSIFY_BATCH_SIZE):
            batch = song_ids[start : start + RECLASSIFY_BATCH_SIZE]
            transaction.on_commit(lambda batch=batch: tasks.reclassify_batch.delay(job.pk, batch))
    return job


def reclassify_batch(job_id: int, song_ids: list[int], budget_s: float | None = None) -> list[int]:
    """Classify songs of a reclassification job, counting progress; returns the ids left when time runs out.

    The budget (half the task's soft time limit by default) keeps one batch task within its time limit.
    """
    from . import inference, tasks

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
            tasks.classify_song.delay(song_id)
        except Exception as exc:  # one song's unforeseen error must not stop the library's reclassification
            inference.fail_unexpected(song_id, exc)
        _count_done(job_id, 1)
    return []


def _count_done(job_id: int, count: int) -> None:
    """Advance the job's progress (never past its total, so a redelivered batch cannot overshoot)."""
    ReclassifyJob.objects.filter(pk=job_id).update(done=Least(F("done") + count, F("total")))
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
