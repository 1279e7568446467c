"""A hung broker (it accepts TCP connections and never answers, as Redis under SIGSTOP does) never freezes the site:
gunicorn, configured for Redis at that address, answers uploads, /healthz and listen progress within the broker
deadline, with the documented behaviour of a broker that is down."""

import os
import socket
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
import requests
from django.conf import settings
from django.utils import timezone
from rest_framework.authtoken.models import Token

from catalog.models import ListeningEvent, Song
from skybeat.queue import BrokerUnavailable, publish
from tests.catalog_factories import fast_passwords, make_song, media_root, write_song  # noqa: F401
from tests.conftest import free_port, test_database_url, wait_for_page

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("fast_passwords", "media_root")]

BROKER_TIMEOUT_S = 2
# What a request may take at most: the broker deadline, plus the request's own work on a loaded 2-core machine.
# Before the deadline existed these requests got no answer at all (gunicorn killed its worker at 120 s).
ANSWER_WITHIN_S = BROKER_TIMEOUT_S + 8


class HungBroker:
    """A TCP server on loopback that accepts every connection and never reads or writes a byte."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                self.accepted.append(self.server.accept()[0])
            except OSError:  # closed
                return

    def close(self) -> None:
        self.server.close()
        for connection in self.accepted:
            connection.close()


@pytest.fixture
def hung_broker():
    broker = HungBroker()
    yield broker
    broker.close()


@pytest.fixture
def site(hung_broker, tmp_path):
    """gunicorn on the test database, with the hung broker as its Redis broker and result backend."""
    port = free_port()
    broker_url = f"redis://127.0.0.1:{hung_broker.port}/0"
    env = {**os.environ, "DATABASE_URL": test_database_url(), "CELERY_BROKER_URL": broker_url,
           "CELERY_RESULT_BACKEND": broker_url, "MEDIA_ROOT": str(settings.MEDIA_ROOT),
           "SKYBEAT_BROKER_TIMEOUT": str(BROKER_TIMEOUT_S), "SKYBEAT_BROKER_HEALTH_TIMEOUT": str(BROKER_TIMEOUT_S)}
    log = open(tmp_path / "gunicorn.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "skybeat.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    wait_for_page(f"{url}/accounts/login/", server, tmp_path / "gunicorn.log")
    yield url
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:  # a worker still stuck on the broker
        server.kill()
        server.wait()
    log.close()


@pytest.fixture
def api(site, user):
    """Requests as ``user`` through the API token."""
    session = requests.Session()
    session.headers["Authorization"] = f"Token {Token.objects.create(user=user).key}"
    return session


def test_health_says_the_broker_is_down_and_why(site, hung_broker):
    response = requests.get(f"{site}/healthz", timeout=ANSWER_WITHIN_S)

    assert response.status_code == 503
    broker = response.json()["broker"]
    assert broker["ok"] is False and broker["transport"] == "redis"
    assert "timeout" in broker["error"].lower() or "did not answer" in broker["error"], broker
    assert hung_broker.accepted  # the probe did reach the hung broker


def test_upload_is_accepted_and_left_pending_for_the_sweep(site, api, hung_broker, tmp_path):
    path = write_song(tmp_path / "hung.wav", seconds=3)
    with path.open("rb") as audio:
        response = api.post(f"{site}/api/songs/", files={"file": ("hung.wav", audio)}, timeout=ANSWER_WITHIN_S)

    assert response.status_code == 201, response.text
    song = Song.objects.get(pk=response.json()["uploads"][0]["song"]["id"])
    assert song.status == Song.Status.PENDING  # the periodic sweep publishes it once the broker answers again
    assert hung_broker.accepted


def test_a_counted_listen_is_stored_though_its_mood_update_cannot_be_queued(site, api, user, hung_broker):
    song = make_song(user, duration_s=120.0)
    event = ListeningEvent.objects.create(user=user, song=song, started_at=timezone.now() - timedelta(seconds=45))

    response = api.patch(f"{site}/api/listens/{event.pk}/", json={"seconds_listened": 40}, timeout=ANSWER_WITHIN_S)

    assert response.status_code == 200, response.text
    event.refresh_from_db()
    assert event.counted and event.seconds_listened == 40  # the nightly recompute brings it into the mood profile
    assert hung_broker.accepted


def test_publish_gives_up_on_time_even_where_the_transport_would_wait_forever(hung_broker, settings):
    """The watchdog alone bounds the wait: here the Redis transport has no socket timeouts at all (on the default
    SQLite pass this process's Celery app was configured for the filesystem broker)."""
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{hung_broker.port}/0"
    settings.SKYBEAT_BROKER_TIMEOUT = 1

    with pytest.raises(BrokerUnavailable, match="did not answer within 1 s") as raised:
        publish("skybeat.ping", [[1], [2]])

    assert raised.value.published == []
