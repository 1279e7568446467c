"""`manage.py runsite` (what `make run` starts): the web server answers, one SIGTERM stops every process, and a
worker that dies is restarted while the web server keeps serving."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
import requests
from django.conf import settings
from rest_framework.authtoken.models import Token

from catalog.models import Song
from tests.catalog_factories import fast_passwords, media_root, write_song  # noqa: F401
from tests.classifier_factories import active_model  # noqa: F401
from tests.conftest import free_port, test_database_url, wait_for_page
from tests.test_reliability_faults import assert_classified_once, wait_until

pytestmark = pytest.mark.integration


@dataclass
class Site:
    process: subprocess.Popen
    url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text()

    def processes(self) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children(recursive=True)

    def commands(self, recursive: bool = True) -> dict[psutil.Process, str]:
        """The command line of each live process runsite started (a dead one not yet reaped has none)."""
        found = {}
        for child in psutil.Process(self.process.pid).children(recursive=recursive):
            with contextlib.suppress(psutil.ZombieProcess, psutil.NoSuchProcess):
                found[child] = " ".join(child.cmdline())
        return found

    def workers(self, queues: str) -> list[psutil.Process]:
        """The live main processes of the workers started with ``--queues <queues>`` (none while one restarts)."""
        return [child for child, command in self.commands(recursive=False).items() if f"--queues {queues}" in command]


@pytest.fixture
def runsite(tmp_path):
    """Starts runsite with `make run`'s environment (embedded defaults in a folder of its own, DEBUG on) and
    ``env`` on top; whatever happens, nothing it started outlives the test."""
    started: list[tuple[Site, object]] = []

    def start(**env: str) -> Site:
        environment = {key: value for key, value in os.environ.items()
                       if key not in ("DATABASE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND")}
        environment.update(SKYBEAT_VAR_DIR=str(tmp_path / "var"), DEBUG="1", **env)
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "--noinput"], cwd=settings.BASE_DIR, env=environment, check=True,
                       capture_output=True)
        port, log_path = free_port(), tmp_path / "runsite.log"
        log = open(log_path, "w")
        process = subprocess.Popen([*manage, "runsite", "--port", str(port), "--web-workers", "1"],
                                   cwd=settings.BASE_DIR, env=environment, stdout=log, stderr=subprocess.STDOUT)
        site = Site(process, f"http://127.0.0.1:{port}", log_path)
        started.append((site, log))
        wait_for_page(f"{site.url}/", process, log_path)
        wait_until(lambda: len([c for c in site.commands().values() if "celery" in c]) >= 2, 60,
                   what=f"both workers to start:\n{site.log()}")
        return site

    yield start
    for site, log in started:
        if site.process.poll() is None:
            for process in [*site.processes(), psutil.Process(site.process.pid)]:
                with contextlib.suppress(psutil.NoSuchProcess):
                    process.kill()
        site.process.wait()
        log.close()


def test_runsite_serves_and_one_sigterm_stops_the_web_server_and_both_workers(runsite):
    site = runsite()
    children = site.processes()
    commands = site.commands().values()
    assert any("gunicorn" in c for c in commands)
    assert any("--queues training" in c for c in commands) and any("--queues classification" in c for c in commands)

    site.process.send_signal(signal.SIGTERM)

    assert site.process.wait(timeout=60) == 0
    _, alive = psutil.wait_procs(children, timeout=30)
    assert not alive, [child.cmdline() for child in alive]


TIME_LIMIT_S = 40  # the classification task's hard time limit in this site: the sweep takes its songs soon after


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fast_passwords", "media_root")
def test_a_worker_killed_mid_song_is_restarted_the_web_serves_on_and_the_sweep_requeues_the_song(
    runsite, active_model, user, tmp_path
):
    site = runsite(DATABASE_URL=test_database_url(), MEDIA_ROOT=str(settings.MEDIA_ROOT),
                   SKYBEAT_MODELS_DIR=str(settings.SKYBEAT_MODELS_DIR), CELERY_TASK_TIME_LIMIT=str(TIME_LIMIT_S),
                   CELERY_TASK_SOFT_TIME_LIMIT=str(TIME_LIMIT_S - 10))
    wait_until(lambda: "Loaded model" in site.log(), 300, what="the classification worker to load the model")
    [worker] = site.workers("classification,default")
    worker_tree = [worker, *worker.children(recursive=True)]  # its pool process and beat
    api = requests.Session()
    api.headers["Authorization"] = f"Token {Token.objects.create(user=user).key}"
    with write_song(tmp_path / "long.wav", seconds=60).open("rb") as audio:  # seconds of work to interrupt
        response = api.post(f"{site.url}/api/songs/", files={"file": ("long.wav", audio)}, timeout=60)
    assert response.status_code == 201, response.text
    song_id = response.json()["uploads"][0]["song"]["id"]
    wait_until(lambda: Song.objects.filter(pk=song_id, status=Song.Status.PROCESSING).exists(), 120,
               what="the worker to start classifying", every_s=0.02)

    worker.send_signal(signal.SIGKILL)
    while [p.pid for p in site.workers("classification,default")] in ([], [worker.pid]):
        assert api.get(f"{site.url}/api/songs/{song_id}/", timeout=10).status_code == 200  # the web answers all along
        assert site.process.poll() is None, site.log()
        time.sleep(0.2)
    assert "The classification worker exited with code -9; restarting it in 1 s" in site.log()
    _, alive = psutil.wait_procs(worker_tree, timeout=10)
    assert not alive, "the dead worker's pool and beat processes were ended before the restart"
    assert Song.objects.get(pk=song_id).status == Song.Status.PROCESSING  # its message died with the worker

    # Past the hard time limit plus the margin, the next periodic sweep (every minute) queues it again.
    wait_until(lambda: Song.objects.filter(pk=song_id, status=Song.Status.CLASSIFIED).exists(), TIME_LIMIT_S + 240,
               what=f"the sweep to re-queue the song and the new worker to classify it:\n{site.log()[-4000:]}")
    assert "Re-enqueueing 1 stale song(s)" in site.log()
    assert_classified_once(Song.objects.get(pk=song_id), active_model)
