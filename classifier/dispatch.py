"""Putting work on the queue for the workers, by task name through skybeat.queue.publish (never importing the
tasks): activating a model and reclassifying the library with it, failed songs sent again."""

import logging

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from catalog import services as catalog_services
from catalog.models import Song
from skybeat.queue import BrokerUnavailable, publish

from .models import ModelVersion, ReclassifyJob

logger = logging.getLogger(__name__)

RECLASSIFY_BATCH_SIZE = 50
RECLASSIFY_TASK = "classifier.tasks.reclassify_batch"


def activate(version: ModelVersion, *, reclassify: bool) -> ReclassifyJob | None:
    """Make ``version`` the only active model; optionally reclassify the whole library with it."""
    version.activate()
    logger.info("Activated model %s", version.name)
    return start_reclassify(version) if reclassify else None


def start_reclassify(version: ModelVersion, songs: QuerySet[Song] | None = None) -> ReclassifyJob:
    """Queue every song (or ``songs``) for reclassification in batches of RECLASSIFY_BATCH_SIZE on the
    classification queue."""
    song_ids = list((Song.objects.all() if songs is None else songs).order_by("pk").values_list("pk", flat=True))
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
    until the periodic sweep sends its songs again (classifier.sweeps.resume_stalled_reclassify_jobs)."""
    size = RECLASSIFY_BATCH_SIZE
    try:
        publish(RECLASSIFY_TASK, ([job_id, song_ids[i : i + size]] for i in range(0, len(song_ids), size)))
    except BrokerUnavailable as exc:
        logger.warning("Reclassification %s: could not send its songs (%s); the sweep tries again", job_id, exc)
        ReclassifyJob.objects.filter(pk=job_id).update(
            message=f"Could not reach the task queue ({exc}): {len(song_ids)} song(s) not sent.")


def requeue_failed_songs() -> int:
    """Put every failed song back in the queue; returns how many."""
    with transaction.atomic():
        return catalog_services.reclassify(Song.objects.filter(status=Song.Status.FAILED))
