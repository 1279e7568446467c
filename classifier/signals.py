"""Celery worker start-up hooks: size TensorFlow's thread pools and preload the active model.

The main worker process never imports TensorFlow; each pool process sizes its thread pools for its share
of the cores (os.cpu_count() // concurrency) and loads the active model once, in a background thread so
that the pool process reports itself ready within Celery's start-up timeout (tasks wait for the load).
A worker that does not consume the classification queue (the training worker) loads no model: ~800 MB saved.
"""

import logging
import os

from celery.signals import celeryd_after_setup, worker_process_init

from catalog.services import CLASSIFY_QUEUE

from . import inference

logger = logging.getLogger(__name__)
PRELOAD_ENV = "SKYBEAT_PRELOAD_MODEL"


@celeryd_after_setup.connect
def remember_worker_setup(sender, instance, **kwargs) -> None:
    # The environment reaches pool processes whether billiard forks or spawns them.
    os.environ[inference.CONCURRENCY_ENV] = str(instance.concurrency or 1)
    classifies = CLASSIFY_QUEUE in instance.app.amqp.queues.consume_from
    os.environ[PRELOAD_ENV] = "1" if classifies else "0"


@worker_process_init.connect
def preload_model(**kwargs) -> None:
    if os.environ.get(PRELOAD_ENV) == "0":
        logger.info("No genre model preloaded: this worker does not consume the %s queue", CLASSIFY_QUEUE)
        return
    inference.preload_in_background()
