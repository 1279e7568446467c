"""The periodic sweeps (classifier.tasks, on the beat): training jobs whose worker died are failed, library
reclassifications that stalled are resumed or failed."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from catalog.models import Song

from .dispatch import send_batches
from .models import ReclassifyJob, TrainingJob

logger = logging.getLogger(__name__)


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
