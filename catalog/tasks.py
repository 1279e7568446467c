"""Celery tasks of the catalog: the sweep that makes sure no uploaded song waits forever for the classifier."""

import logging

from celery import shared_task
from celery.signals import worker_ready
from django.db import close_old_connections

from . import services

logger = logging.getLogger(__name__)


@shared_task(name="catalog.tasks.enqueue_pending_songs", ignore_result=True)
def enqueue_pending_songs() -> int:
    """Re-enqueue songs pending longer than SKYBEAT_PENDING_SWEEP_AGE or stuck in processing; returns how many."""
    return len(services.requeue_stale_songs())


@worker_ready.connect
def sweep_on_worker_start(sender=None, **kwargs) -> None:
    """Songs whose messages were lost while no worker ran get enqueued as soon as one starts."""
    try:
        count = len(services.requeue_stale_songs())
        logger.info("Start-up sweep: %d stale song(s) re-enqueued", count)
    except Exception:  # a worker must start even when the database is briefly unreachable
        logger.exception("Start-up sweep failed; the periodic sweep will retry")
    finally:
        close_old_connections()
