"""The Celery app: `celery -A skybeat worker`. Configuration comes from Django settings (CELERY_*)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skybeat.settings")

app = Celery("skybeat")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(related_name="training_tasks")  # classifier.training_tasks (the training queue)


@app.task(name="skybeat.ping")
def ping(value: int = 0) -> dict:
    """Trivial task used by the health check and the worker integration test."""
    return {"pong": value + 1, "pid": os.getpid()}
