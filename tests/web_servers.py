"""A real gunicorn serving `skybeat.wsgi:application` (what `make run` starts), for tests that need the WSGI
server's own handling of requests: chunked bodies, several web servers sharing one cache."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from django.conf import settings

from tests.conftest import test_database_url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(var_dir: Path, **env: str) -> Iterator[str]:
    """One gunicorn worker on the test database and this process's SECRET_KEY (so its sessions log in there),
    with its own var folder (broker, media, file cache) unless ``env`` says otherwise; yields its base URL."""
    environment = {key: value for key, value in os.environ.items() if key != "CELERY_BROKER_URL"}
    environment.update(DATABASE_URL=test_database_url(), SKYBEAT_VAR_DIR=str(var_dir), SECRET_KEY=settings.SECRET_KEY,
                       **env)
    var_dir.mkdir(parents=True, exist_ok=True)
    port, log_path = free_port(), var_dir / "gunicorn.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "skybeat.wsgi:application", "--bind",
                                   f"127.0.0.1:{port}", "--workers", "1"], cwd=settings.BASE_DIR, env=environment,
                                  stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    requests.get(f"{url}/healthz", timeout=5)
                    break
                except requests.ConnectionError:
                    assert time.monotonic() < deadline and server.poll() is None, log_path.read_text()
                    time.sleep(0.3)
            yield url
        finally:
            server.terminate()
            server.wait(timeout=30)
