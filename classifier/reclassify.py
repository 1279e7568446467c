"""The worker's side of a library reclassification: one batch of songs within a time budget, counting progress."""

import logging
import time

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db.models import F
from django.db.models.functions import Least
from django.utils import timezone

from catalog.services import enqueue_classification

from . import inference
from .models import ReclassifyJob

logger = logging.getLogger(__name__)


def reclassify_batch(job_id: int, song_ids: list[int], budget_s: float | None = None) -> list[int]:
    """Classify songs of a reclassification job, counting progress; returns the ids left when time runs out.

    The budget (half the task's soft time limit by default) keeps one batch task within its time limit.
    """
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
