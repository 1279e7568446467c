"""Celery tasks of the classifier: thin, idempotent wrappers around ``inference`` and ``registry``.

They run on the ``classification`` queue (settings.CELERY_TASK_ROUTES), but for the periodic sweeps of stalled jobs,
on ``default``: the training worker does not consume it (a stalled job may have taken that worker down), and a
stalled reclassification is not held up behind a full classification queue.
"""

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from . import inference, registry
from . import signals  # noqa: F401  (worker start-up hooks: thread pools, model preloading)

logger = logging.getLogger(__name__)

MAX_RETRIES = 3
RETRY_BASE_S = 10  # first retry after 10 s, then 20 s, then 40 s


@shared_task(bind=True, max_retries=MAX_RETRIES, acks_late=True)
def classify_song(self, song_id: int) -> str | None:
    """Classify one song with the active model; the song's status says how it went."""
    try:
        song = inference.classify_song(song_id)
    except SoftTimeLimitExceeded:
        inference.mark_failed(song_id, inference.timeout_reason())
        return None
    except inference.TRANSIENT_ERRORS as exc:
        if self.request.retries >= self.max_retries:
            inference.mark_failed(song_id, inference.transient_reason(exc, attempts=self.request.retries + 1))
            return None
        logger.warning("Song %s: %s; retrying", song_id, exc)
        raise self.retry(exc=exc, countdown=RETRY_BASE_S * 2**self.request.retries) from exc
    except Exception as exc:  # never leave the song "processing" for the sweep to loop on
        inference.fail_unexpected(song_id, exc)
        return None
    return song.status if song else None


@shared_task(acks_late=True)
def reclassify_batch(job_id: int, song_ids: list[int]) -> int:
    """One batch of a library reclassification; songs left when the time budget runs out go on in a new task."""
    left = registry.reclassify_batch(job_id, song_ids)
    if left:
        registry.send_batches(job_id, left)
    return len(song_ids) - len(left)


@shared_task
def retry_failed() -> int:
    """Queue every failed song again; returns how many."""
    return registry.requeue_failed_songs()


@shared_task(ignore_result=True)
def fail_stalled_training_jobs() -> int:
    """Fail training jobs whose worker stopped mid-run; returns how many."""
    return len(registry.fail_stalled_training_jobs())


@shared_task(ignore_result=True)
def resume_stalled_reclassify_jobs() -> int:
    """Send again the songs of library reclassifications that stalled, or fail them; returns how many resumed."""
    return len(registry.resume_stalled_reclassify_jobs())
