"""Serve SKYBEAT: gunicorn for the web, a classification worker (with beat) and a training worker, together.

One Ctrl-C (or a SIGTERM, as a process supervisor sends) stops them all; if one stops on its own, the others
are stopped too.
"""

import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the web server and the Celery workers together (Ctrl-C stops them all)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--web-workers", type=int, default=2)
        parser.add_argument("--worker-concurrency", type=int, default=1)

    def handle(self, *args, host: str, port: int, web_workers: int, worker_concurrency: int, **options):
        python = sys.executable
        web = [python, "-m", "gunicorn", "skybeat.wsgi:application", "--bind", f"{host}:{port}",
               "--workers", str(web_workers), "--timeout", "120", "--access-logfile", "-"]
        celery = [python, "-m", "celery", "-A", "skybeat", "worker", "--loglevel", "INFO", "--concurrency"]
        # Training gets a worker of its own so that a long training run never holds up classification.
        classify_worker = celery + [str(worker_concurrency), "--queues", "classification,default", "--hostname",
                                    "classify@%h", "--beat", "--schedule", settings.CELERY_BEAT_SCHEDULE_FILENAME]
        training_worker = celery + ["1", "--queues", "training", "--hostname", "training@%h"]
        children = [subprocess.Popen(cmd, cwd=settings.BASE_DIR) for cmd in (web, classify_worker, training_worker)]
        url = f"http://{host}:{port}/"
        self.stdout.write(self.style.SUCCESS(f"\nSKYBEAT is starting at {url}"))
        self.stdout.write(f"Database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, "
                          f"broker: {settings.CELERY_BROKER_URL.split('://')[0]}, media: {settings.MEDIA_ROOT}")
        self.stdout.write(f"Create an admin account with: {python} manage.py createsuperuser")
        self.stdout.write("Press Ctrl-C to stop the web server and the workers.\n")
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self._stop(children)

    @staticmethod
    def _stop(children: list[subprocess.Popen]) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt
