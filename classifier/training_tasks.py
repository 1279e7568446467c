"""Celery task for training jobs, on the ``training`` queue (settings.CELERY_TASK_ROUTES) so it never holds up
classification workers that do not consume that queue.

Unlike classification, a training task is acknowledged when it starts (no ``acks_late``): a run lasts longer
than the broker's visibility timeout and must not be delivered twice; ``training_jobs.run_job`` also refuses to
start a job that is not queued. A job whose worker dies mid-run is failed by the periodic sweep
(``classifier.sweeps.fail_stalled_training_jobs``).
"""

from celery import shared_task
from django.conf import settings

TIME_LIMIT_S = settings.SKYBEAT_TRAINING_TIME_LIMIT_S


@shared_task(acks_late=False, soft_time_limit=TIME_LIMIT_S, time_limit=TIME_LIMIT_S + 60)
def train_model(job_id: int) -> str | None:
    """Run training job ``job_id``; returns its final status (the job row says how it went)."""
    from . import inference

    # TensorFlow is imported here, in the worker only (never by the web process that enqueues this), by
    # configure_threads, which holds the lock the worker's model preloading imports TensorFlow under.
    inference.configure_threads()
    from . import training_jobs

    job = training_jobs.run_job(job_id, time_limit_s=TIME_LIMIT_S)
    return job.status if job else None


@shared_task
def queue_nightly_training() -> int | None:
    """Queue a library training job when enough new labels arrived (training_jobs.nightly_job_due); its id."""
    from .admin_training import enqueue
    from .training_jobs import nightly_job_due

    job = nightly_job_due()
    if job is not None:
        enqueue(job)
    return job.pk if job else None
