"""Serve SKYBEAT: gunicorn for the web, a classification worker (with beat) and a training worker, together.

One Ctrl-C (or a SIGTERM, as a process supervisor sends) stops them all. A worker that dies is restarted after a
back-off that doubles while it keeps dying, and the web server serves on meanwhile; only if the web server itself
stops does everything stop.
"""

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

FIRST_RESTART_DELAY_S = 1.0
MAX_RESTART_DELAY_S = 60.0
STABLE_AFTER_S = 60.0  # a worker that ran this long before dying is restarted after the first delay again
STOP_TIMEOUT_S = 20.0


@dataclass
class Child:
    """One supervised process, started in a process group of its own so that its whole tree can be ended."""

    name: str
    command: list[str]
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    quick_deaths: int = 0
    restart_at: float | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(self.command, cwd=settings.BASE_DIR, process_group=0)
        self.started_at, self.restart_at = time.monotonic(), None

    def running(self) -> bool:
        return self.restart_at is None and self.process.poll() is None

    def end_group(self) -> None:
        """SIGKILL what is left of the group once its leader has exited (a dead worker's pool and beat processes)."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def schedule_restart(self) -> float:
        """Clear away the dead process's group and pick when to start again; returns the delay in seconds."""
        self.end_group()
        now = time.monotonic()
        self.quick_deaths = 0 if now - self.started_at >= STABLE_AFTER_S else self.quick_deaths + 1
        delay = min(MAX_RESTART_DELAY_S, FIRST_RESTART_DELAY_S * 2 ** max(0, self.quick_deaths - 1))
        self.restart_at = now + delay
        return delay


class Command(BaseCommand):
    help = "Run the web server and the Celery workers together (Ctrl-C stops them all; dead workers restart)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--web-workers", type=int, default=2)
        parser.add_argument("--worker-concurrency", type=int, default=1)

    def handle(self, *args, host: str, port: int, web_workers: int, worker_concurrency: int, **options):
        python = sys.executable
        web = Child("web server", [python, "-m", "gunicorn", "skybeat.wsgi:application", "--bind", f"{host}:{port}",
                                   "--workers", str(web_workers), "--timeout", "120", "--access-logfile", "-"])
        celery = [python, "-m", "celery", "-A", "skybeat", "worker", "--loglevel", "INFO", "--concurrency"]
        # Training gets a worker of its own so that a long training run never holds up classification.
        workers = [
            Child("classification worker", celery + [
                str(worker_concurrency), "--queues", "classification,default", "--hostname", "classify@%h",
                "--beat", "--schedule", settings.CELERY_BEAT_SCHEDULE_FILENAME]),
            Child("training worker", celery + ["1", "--queues", "training", "--hostname", "training@%h"]),
        ]
        children = [web, *workers]
        for child in children:
            child.start()
        url = f"http://{host}:{port}/"
        self.stdout.write(self.style.SUCCESS(f"\nSKYBEAT is starting at {url}"))
        self.stdout.write(f"Database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, "
                          f"broker: {settings.CELERY_BROKER_URL.split('://')[0]}, media: {settings.MEDIA_ROOT}")
        self.stdout.write(f"Create an admin account with: {python} manage.py createsuperuser")
        self.stdout.write("Press Ctrl-C to stop the web server and the workers.\n")
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            while web.running():
                self._supervise(workers)
                time.sleep(0.5)
        except KeyboardInterrupt:
            return
        finally:
            self._stop(children)
        raise CommandError(f"The web server exited with code {web.process.returncode}; the workers were stopped.")

    def _supervise(self, workers: list[Child]) -> None:
        for worker in workers:
            if worker.restart_at is not None:
                if time.monotonic() >= worker.restart_at:
                    worker.start()
                    self.stderr.write(f"Restarted the {worker.name}.")
            elif worker.process.poll() is not None:
                delay = worker.schedule_restart()
                self.stderr.write(f"The {worker.name} exited with code {worker.process.returncode}; "
                                  f"restarting it in {delay:g} s. The web server keeps serving.")

    @staticmethod
    def _stop(children: list[Child]) -> None:
        running = [child for child in children if child.running()]
        for child in running:
            child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for child in running:
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()
            child.end_group()


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt
