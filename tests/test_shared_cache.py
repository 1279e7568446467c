"""The cache backends and the sessions kept in them (skybeat.cache). The Redis backend's own tests run on a Redis
server of their own; the API throttles that count in them are tested in test_security_web and test_catalog_listens."""

import multiprocessing
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessions
from django.core.cache import caches
from django.test import Client
from django.urls import reverse

from skybeat.cache import FileBasedCache, RedisCache, SessionStore
from tests.test_reliability_faults import PrivateRedis

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_cache(tmp_path):
    """The cache backend CACHE_URL configures, on a redis-server of this test's own."""
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield RedisCache(server.url, {})
    finally:
        server.stop()


def cut_off(monkeypatch, *methods: str) -> None:
    """Make the default cache's ``methods`` fail as they do while it is unreachable."""
    def unreachable(*args, **kwargs):
        raise ConnectionError("cache down")

    for method in methods:
        monkeypatch.setattr(type(caches["default"]), method, unreachable)


def session_key_of(client: Client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def test_sessions_are_read_from_the_cache_and_die_with_their_log_out(user):
    alice = Client()
    alice.force_login(user)
    key = session_key_of(alice)
    assert caches["default"].get(SessionStore.cache_key_prefix + key) is not None
    thief = Client()
    thief.cookies[settings.SESSION_COOKIE_NAME] = key
    assert thief.get(reverse("catalog:history")).status_code == 200
    alice.post(reverse("logout"))
    assert caches["default"].get(SessionStore.cache_key_prefix + key) is None
    assert not DatabaseSessions().exists(key)
    assert thief.get(reverse("catalog:history")).status_code == 302  # the copied cookie names no session any more


def test_a_log_out_the_cache_cannot_forget_deletes_nothing(user, monkeypatch):
    alice = Client(raise_request_exception=False)
    alice.force_login(user)
    key = session_key_of(alice)
    cut_off(monkeypatch, "delete")
    assert alice.post(reverse("logout")).status_code == 500
    assert DatabaseSessions().exists(key)  # the session stays whole: the log-out can be retried


def test_sessions_are_read_from_the_database_while_the_cache_is_down(user, monkeypatch):
    alice = Client()
    alice.force_login(user)
    cut_off(monkeypatch, "get", "set")
    assert alice.get(reverse("catalog:history")).status_code == 200


def test_one_redis_client_serves_every_call(redis_cache):
    assert redis_cache._cache.get_client() is redis_cache._cache.get_client(write=True)


def test_the_window_counter_counts_atomically_and_expires_with_its_window(redis_cache):
    assert [redis_cache.count_in_window("hits", 60)[0] for _ in range(3)] == [1, 2, 3]
    count, left_s = redis_cache.count_in_window("hits", 60)
    assert count == 4 and 0 < left_s <= 60
    assert redis_cache._cache.get_client().ttl(redis_cache.make_and_validate_key("hits")) <= 60


@pytest.fixture
def file_cache(tmp_path):
    return FileBasedCache(str(tmp_path / "cache"), {})


def test_the_file_cache_counts_in_a_window_that_starts_with_its_first_event(file_cache, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    assert [file_cache.count_in_window("hits", 60) for _ in range(3)] == [(1, 60), (2, 60), (3, 60)]
    clock[0] += 59.5
    assert file_cache.count_in_window("hits", 60) == (4, 1)
    assert file_cache.count_in_window("other", 60) == (1, 60)
    clock[0] += 1
    assert file_cache.count_in_window("hits", 60) == (1, 60)  # a new window


def test_the_file_caches_counters_start_again_when_cleared_or_cut_short(file_cache):
    assert [file_cache.count_in_window("hits", 60)[0] for _ in range(2)] == [1, 2]
    file_cache.clear()
    assert file_cache.count_in_window("hits", 60)[0] == 1
    for path in Path(file_cache._dir).glob(f"{FileBasedCache.COUNTER_PREFIX}*"):
        path.write_bytes(path.read_bytes()[:5])  # as a crash in the middle of a rewrite leaves it
    assert file_cache.count_in_window("hits", 60)[0] == 1


def _count_hits(location: str, times: int) -> None:
    cache = FileBasedCache(location, {})
    for _ in range(times):
        cache.count_in_window("hits", 60)


def test_the_file_cache_counts_every_event_of_concurrent_processes(file_cache):
    fork = multiprocessing.get_context("fork")
    workers = [fork.Process(target=_count_hits, args=(file_cache._dir, 40)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert [worker.exitcode for worker in workers] == [0] * 4
    assert file_cache.count_in_window("hits", 60)[0] == 4 * 40 + 1
