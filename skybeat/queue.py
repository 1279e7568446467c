"""Talking to the broker from requests without ever hanging on a broker that is down or hung.

Every caller has a way to catch up later (the pending-song sweep, the nightly mood recompute, a failed training
job), so giving up within seconds is right. A broker that refuses connections fails at once; one that accepts them
and never answers (Redis stopped with SIGSTOP, a dead NAT path) is cut off by the Redis transport's socket timeouts
(settings.CELERY_BROKER_TRANSPORT_OPTIONS) and, wherever kombu can still block, by a wall-clock watchdog here.
"""

import logging
import threading
from collections.abc import Callable, Iterable, Sequence

from django.conf import settings
from kombu.exceptions import OperationalError

from .celery import app

logger = logging.getLogger(__name__)

PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}


class BrokerUnavailable(Exception):
    """The broker refused, could not be reached or did not answer in time; ``published`` holds the task ids sent
    before that."""

    def __init__(self, reason: str, published: list[str]):
        super().__init__(reason)
        self.published = published


def run_with_watchdog(action: Callable[[], None], timeout_s: float, progress: Callable[[], int] = lambda: 0) -> None:
    """Run ``action`` in a thread of its own and wait while it makes progress: raise TimeoutError once ``progress()``
    has not grown for ``timeout_s`` (at once, for an action without progress steps). Exceptions are re-raised here.

    An abandoned action is left to end on its socket timeouts; it touches nothing but its own broker connection.
    """
    failure: list[BaseException] = []

    def guarded() -> None:
        try:
            action()
        except BaseException as exc:  # handed to the waiting thread, which raises it
            failure.append(exc)

    thread = threading.Thread(target=guarded, name="broker-call", daemon=True)
    thread.start()
    steps = -1
    while thread.is_alive() and progress() > steps:
        steps = progress()
        thread.join(timeout_s)
    if thread.is_alive():
        raise TimeoutError(f"the broker did not answer within {timeout_s:g} s")
    if failure:
        raise failure[0]


def publish(task_name: str, calls: Iterable[Sequence], queue: str | None = None) -> list[str]:
    """Send ``task_name`` once per argument list in ``calls`` over one connection; returns the task ids.

    Routing follows CELERY_TASK_ROUTES unless ``queue`` is given. Raises BrokerUnavailable (with the ids already
    sent) as soon as the broker fails, or when connecting or any one message takes longer than
    SKYBEAT_BROKER_TIMEOUT.
    """
    timeout_s = settings.SKYBEAT_BROKER_TIMEOUT
    published: list[str] = []
    options = {"queue": queue} if queue else {}

    def send_all() -> None:
        with app.connection_for_write(settings.CELERY_BROKER_URL, connect_timeout=timeout_s) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=timeout_s)
            for args in calls:
                result = app.send_task(task_name, args=list(args), connection=conn, retry=True,
                                       retry_policy=PUBLISH_RETRY_POLICY, ignore_result=True, **options)
                published.append(result.id)

    try:
        run_with_watchdog(send_all, timeout_s, progress=lambda: len(published))
    except (OperationalError, OSError) as exc:  # TimeoutError is an OSError
        raise BrokerUnavailable(str(exc) or type(exc).__name__, list(published)) from exc
    return published
