"""The cache backends (CACHE_URL's Redis, else files under var/) and the sessions kept in them.

- :class:`RedisCache` is Django's Redis backend with one ``redis.Redis`` client per connection pool, instead of one
  built per call (building one costs more than the round trip), and a one-round-trip window counter for the API's
  throttles (catalog.throttling).
- :class:`FileBasedCache` is Django's file cache with the same window counter, for the web servers of one host: a
  counter's read and rewrite hold an exclusive file lock, so concurrent processes count every request.
- :class:`SessionStore` keeps sessions in the database and a copy in the cache (Django's ``cached_db``), so a
  page reads its session without a query. Logging out deletes the cached copy first: a session the cache cannot
  forget is not deleted at all (the log-out fails and can be retried), so none outlives its log-out. While the
  cache is unreachable, sessions are read from the database alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import logging
import math
import os
import pickle
import time
import zlib

from django.contrib.sessions.backends import cached_db, db
from django.core.cache.backends import filebased
from django.core.cache.backends import redis as django_redis

logger = logging.getLogger(__name__)

#: INCR, starting the window's expiry with its first request; answers (count, seconds left in the window).
COUNT_IN_WINDOW = """
local count = redis.call('incr', KEYS[1])
if count == 1 then redis.call('expire', KEYS[1], ARGV[1]) end
return {count, redis.call('ttl', KEYS[1])}
"""


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            if index not in self._pools:
                self._pools[index] = self._pool_class.from_url(self._servers[index], **self._pool_options)
            client = self._clients[index] = self._client(connection_pool=self._pools[index])
        return client

    def count_in_window(self, key: str, window_s: int) -> tuple[int, int]:
        count, left_s = self.get_client(key, write=True).eval(COUNT_IN_WINDOW, 1, key, window_s)
        return int(count), max(int(left_s), 1)


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient

    def count_in_window(self, key: str, window_s: int) -> tuple[int, int]:
        """Count one more event under ``key`` in a window of ``window_s`` seconds that starts with its first event;
        returns the events counted in the window, this one included, and the seconds until it ends."""
        return self._cache.count_in_window(self.make_and_validate_key(key), window_s)


class FileBasedCache(filebased.FileBasedCache):
    COUNTER_FILES = 64  # files the window counters are kept in, chosen by key (a file per key would pile up)
    COUNTER_PREFIX = "window-counters-"

    def count_in_window(self, key: str, window_s: int) -> tuple[int, int]:
        """:meth:`RedisCache.count_in_window`: the count under ``key`` in a window of ``window_s`` seconds that
        starts with its first event, this event included, and the seconds until the window ends.

        A counter file maps keys to (window end, count); it is read, pruned of ended windows and rewritten in
        place under an exclusive lock (a cache entry's write would cost a temporary file and a rename)."""
        key = self.make_and_validate_key(key)
        self._createdir()
        path = os.path.join(self._dir, f"{self.COUNTER_PREFIX}{zlib.crc32(key.encode()) % self.COUNTER_FILES}")
        with os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT, 0o600), "r+b") as file:
            fcntl.flock(file, fcntl.LOCK_EX)  # released when the file is closed
            now, stored = time.time(), file.read()
            counters = {k: v for k, v in self._counters(stored).items() if v[0] > now}
            ends, count = counters.get(key, (now + window_s, 0))
            counters[key] = (ends, count + 1)
            data = pickle.dumps(counters, pickle.HIGHEST_PROTOCOL)
            file.seek(0)
            file.write(data)
            if len(data) < len(stored):  # a truncation costs more than the rest together: only when shorter
                file.truncate()
        return count + 1, max(math.ceil(ends - now), 1)

    @staticmethod
    def _counters(stored: bytes) -> dict[str, tuple[float, int]]:
        try:
            return pickle.loads(stored) if stored else {}
        except Exception:  # empty, or cut short by a crash mid-write: the windows start again
            return {}

    def clear(self) -> None:
        super().clear()
        for path in glob.glob(os.path.join(self._dir, f"{self.COUNTER_PREFIX}*")):
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)


class SessionStore(cached_db.SessionStore):
    def load(self) -> dict:
        try:
            return super().load()
        except Exception:  # the cache is unreachable: the database alone still has the session
            logger.warning("Session cache unavailable", exc_info=True)
            return db.SessionStore.load(self)

    def delete(self, session_key: str | None = None) -> None:
        session_key = session_key or self.session_key
        if session_key is None:
            return
        self._cache.delete(self.cache_key_prefix + session_key)  # raises, deleting nothing, if it cannot forget it
        db.SessionStore.delete(self, session_key)
