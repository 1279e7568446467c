"""The shared cache's backend and the sessions kept in it (skybeat.cache). The Redis tests run in the pass with
CACHE_URL set; the API throttles that count in it are tested in test_security_web and test_catalog_listens."""

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessions
from django.core.cache import caches
from django.test import Client
from django.urls import reverse

from skybeat.cache import RedisCache, SessionStore

pytestmark = pytest.mark.django_db
needs_redis = pytest.mark.skipif(settings.CACHES["default"]["BACKEND"] != "skybeat.cache.RedisCache",
                                 reason="needs CACHE_URL (Redis)")


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


@needs_redis
def test_one_redis_client_serves_every_call():
    backend = caches["default"]
    assert isinstance(backend, RedisCache)
    assert backend._cache.get_client() is backend._cache.get_client(write=True)


@needs_redis
def test_the_window_counter_counts_atomically_and_expires_with_its_window():
    backend = caches["default"]
    assert [backend.count_in_window("hits", 60)[0] for _ in range(3)] == [1, 2, 3]
    count, left_s = backend.count_in_window("hits", 60)
    assert count == 4 and 0 < left_s <= 60
    assert backend._cache.get_client().ttl(backend.make_and_validate_key("hits")) <= 60
