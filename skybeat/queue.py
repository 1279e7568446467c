"""Publishing Celery tasks from requests without ever hanging on a broker that is down.

Every caller has a way to catch up later (the pending-song sweep, the nightly mood recompute, a failed training
job), so giving up within seconds is right; Celery's defaults would retry for a long time inside the request.
"""

import logging
from collections.abc import Iterable, Sequence

from django.conf import settings
from kombu.exceptions import OperationalError

from .celery import app

logger = logging.getLogger(__name__)

BROKER_CONNECT_TIMEOUT_S = 3.0
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}


class BrokerUnavailable(Exception):
    """The broker refused or could not be reached; ``published`` holds the task ids sent before that."""

    def __init__(self, reason: str, published: list[str]):
        super().__init__(reason)
        self.published = published


def publish(task_name: str, calls: Iterable[Sequence], queue: str | None = None) -> list[str]:
    """Send ``task_name`` once per argument list in ``calls`` over one connection; returns the task ids.

    Routing follows CELERY_TASK_ROUTES unless ``queue`` is given. Raises BrokerUnavailable (with the ids already
    sent) as soon as the broker fails, within about BROKER_CONNECT_TIMEOUT_S.
    """
    published: list[str] = []
    options = {"queue": queue} if queue else {}
    try:
        with app.connection_for_write(settings.CELERY_BROKER_URL, connect_timeout=BROKER_CONNECT_TIMEOUT_S) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_CONNECT_TIMEOUT_S)
            for args in calls:
                result = app.send_task(task_name, args=list(args), connection=conn, retry=True,
                                       retry_policy=PUBLISH_RETRY_POLICY, ignore_result=True, **options)
                published.append(result.id)
    except (OperationalError, OSError) as exc:
        raise BrokerUnavailable(str(exc) or type(exc).__name__, published) from exc
    return published
