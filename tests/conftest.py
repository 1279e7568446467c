"""Shared fixtures: a real Celery worker process, a real browser, users."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection

# Playwright's sync API runs an event loop in the test thread; the ORM calls made beside it are synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


def pytest_collection_finish(session: pytest.Session) -> None:
    """Stop before the first test, naming the command to run, when a Debian package the collected tests need is
    missing: ffmpeg always (it makes the MP3/M4A test files and decodes M4A), Chromium when a browser test runs."""
    missing = [] if shutil.which("ffmpeg") and shutil.which("ffprobe") else ["ffmpeg"]
    if any("browser" in item.fixturenames for item in session.items) and not os.access(CHROMIUM, os.X_OK):
        missing.append("chromium")
    if missing:
        packages = " ".join(missing)
        pytest.exit(f"The tests need the Debian packages {packages}, missing here. `make test` run as root installs "
                    f"them; otherwise run:\n    sudo sh -c 'apt-get update && apt-get install -y {packages}'",
                    returncode=pytest.ExitCode.USAGE_ERROR)


def test_database_url() -> str:
    """The URL of the database pytest-django created, for processes the tests start."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


test_database_url.__test__ = False  # a helper, not a test


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_page(url: str, server: subprocess.Popen, log_path: Path, timeout_s: float = 90) -> None:
    """Until ``url`` answers 200; fails with the server's log if it exits or never does."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if requests.get(url, timeout=30).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or still loading
            pass
        assert time.monotonic() < deadline and server.poll() is None, log_path.read_text()
        time.sleep(0.5)


def purge_queues() -> None:
    from skybeat.celery import app

    with app.connection_for_write() as conn:
        for queue in settings.CELERY_TASK_QUEUES:
            try:
                queue.bind(conn.default_channel).purge()
            except Exception:  # a queue never declared on this broker has nothing to purge
                pass


def start_worker(env: dict, log_path: Path, ready: Callable[[], bool] | None = None, extra_args: Sequence[str] = (),
                 timeout_s: float = 180, queues: str = "classification,default,training") -> subprocess.Popen:
    """Start `celery -A skybeat worker` (concurrency 1, all queues unless ``queues`` says otherwise) in its own
    session, logging to ``log_path``.

    Returns once ``ready()`` is true (by default: the worker logged that it is ready); the process has
    ``log_path``. Stop it with :func:`stop_worker`.
    """
    log = open(log_path, "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "skybeat", "worker", "--loglevel", "INFO",
         "--queues", queues, "--concurrency", "1",
         "--without-gossip", "--without-mingle", "--hostname", f"test-{uuid.uuid4().hex[:8]}@%h", *extra_args],
        cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    process.log_path, process.log_file = Path(log_path), log
    ready = ready or (lambda: " ready." in process.log_path.read_text())
    deadline = time.monotonic() + timeout_s
    try:
        while not ready():
            if process.poll() is not None:
                raise RuntimeError(f"celery worker exited with {process.returncode}:\n{process.log_path.read_text()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"celery worker did not answer:\n{process.log_path.read_text()}")
            time.sleep(0.2)
    except BaseException:
        stop_worker(process)
        raise
    return process


def stop_worker(process: subprocess.Popen, timeout_s: float = 30) -> None:
    """Warm shutdown; the whole process group is killed if it does not end in time (a task may be running)."""
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    process.log_file.close()


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real `celery -A skybeat worker` process on the configured broker and the test database."""
    from skybeat.celery import app

    def answers_ping() -> bool:
        try:
            app.send_task("skybeat.ping", args=[1]).get(timeout=5)
        except Exception:
            return False
        return True

    with django_db_blocker.unblock():
        env = {**os.environ, "DATABASE_URL": test_database_url(), "CELERY_TASK_SOFT_TIME_LIMIT": "240"}
    purge_queues()
    process = start_worker(env, tmp_path_factory.mktemp("worker") / "worker.log", ready=answers_ping)
    try:
        yield process
    finally:
        stop_worker(process)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    yield tab
    close_page(tab)


def close_page(tab) -> None:
    """Leaves the page, so that its last requests (a listen's beacon on pagehide) go out now, closes its browser
    context and waits until the live server has answered what is in flight: a beacon still being written while
    the test database is flushed can deadlock the flush."""
    try:
        tab.goto("about:blank")
    finally:
        tab.context.close()
    wait_for_live_server_requests()


def wait_for_live_server_requests(timeout_s: float = 10) -> None:
    """Until the live server's request threads have ended, for at most ``timeout_s``."""
    time.sleep(0.2)  # a connection just accepted gets its thread
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and any(
        "process_request_thread" in thread.name for thread in threading.enumerate()
    ):
        time.sleep(0.05)


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(username="alice", password="a-Long-pass-phrase-1")


@pytest.fixture
def other_user(django_user_model):
    return django_user_model.objects.create_user(username="bob", password="b-Long-pass-phrase-2")


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user(username="staff", password="s-Long-pass-phrase-3", is_staff=True)


@pytest.fixture(autouse=True)
def clear_cache():
    """Throttles and login limits live in the cache: every test starts from zero."""
    from django.core.cache import cache

    cache.clear()
