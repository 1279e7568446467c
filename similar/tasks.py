"""Celery tasks: thin wrappers around similar.index."""

from celery import shared_task

from . import index

#: Building the index of a million songs takes minutes on a small machine.
BUILD_TIME_LIMIT_S = 3600


@shared_task(name="similar.tasks.refresh_index", soft_time_limit=BUILD_TIME_LIMIT_S, time_limit=BUILD_TIME_LIMIT_S + 60)
def refresh_index() -> bool:
    """Periodic: rebuild the approximate index when the library crossed the threshold or the build lags."""
    if not index.needs_rebuild():
        return False
    index.build_index()
    return True
