"""Celery worker start-up hooks: size TensorFlow's thread pools and preload the active model.

The main worker process never imports TensorFlow; each pool process sizes its thread pools for its share
of the cores (os.cpu_count() // concurrency) and loads the active model once, in a background thread so
that the pool process reports itself ready within Celery's start-up timeout (tasks wait for the load).
"""

import os

from celery.signals import celeryd_after_setup, worker_process_init

from . import inference


@celeryd_after_setup.connect
def remember_concurrency(sender, instance, **kwargs) -> None:
    # The environment reaches pool processes whether billiard forks or spawns them.
    os.environ[inference.CONCURRENCY_ENV] = str(instance.concurrency or 1)


@worker_process_init.connect
def preload_model(**kwargs) -> None:
    inference.preload_in_background()
