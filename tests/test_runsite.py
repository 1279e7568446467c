"""`manage.py runsite` (what `make run` starts): the web server answers, and one SIGTERM stops every process."""

import os
import signal
import socket
import subprocess
import sys
import time

import psutil
import pytest
import requests
from django.conf import settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.integration
def test_runsite_serves_and_one_sigterm_stops_the_web_server_and_both_workers(tmp_path):
    # `make run`'s embedded defaults (SQLite, filesystem broker) in a folder of its own, whatever this run uses.
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env["SKYBEAT_VAR_DIR"] = str(tmp_path / "var")
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput"], cwd=settings.BASE_DIR, env=env, check=True, capture_output=True)
    port, log = free_port(), open(tmp_path / "runsite.log", "w")
    site = subprocess.Popen([*manage, "runsite", "--port", str(port), "--web-workers", "1"], cwd=settings.BASE_DIR,
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline and site.poll() is None, (tmp_path / "runsite.log").read_text()
            time.sleep(0.5)
        children = psutil.Process(site.pid).children(recursive=True)
        commands = [" ".join(child.cmdline()) for child in children]
        assert any("gunicorn" in c for c in commands)
        assert any("--queues training" in c for c in commands) and any("--queues classification" in c for c in commands)

        site.send_signal(signal.SIGTERM)

        assert site.wait(timeout=60) == 0
        _, alive = psutil.wait_procs(children, timeout=30)
        assert not alive, [child.cmdline() for child in alive]
    finally:  # whatever happened, nothing of it outlives the test
        try:
            os.killpg(site.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        site.wait()
        log.close()
