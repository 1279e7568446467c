"""The API's request rates (REST framework's throttles), counted in one cache call per request where the cache can.

REST framework keeps, per client, the list of its requests' times in the window: it reads and rewrites that list
on every request (a few thousand timestamps at the default rate). With a cache that counts (``count_in_window``
of skybeat.cache's Redis and file backends), a request is one atomic increment of a counter whose window starts
with the client's first request and expires with it; with any other cache, REST framework's list.
"""

from rest_framework import throttling


class CountingThrottle(throttling.SimpleRateThrottle):
    cache_format = "throttle_count_%(scope)s_%(ident)s"
    left_s: int | None = None

    def allow_request(self, request, view) -> bool:
        count_in_window = getattr(self.cache, "count_in_window", None)
        if count_in_window is None or self.rate is None:
            return super().allow_request(request, view)
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        count, self.left_s = count_in_window(self.key, self.duration)
        return count <= self.num_requests or self.throttle_failure()

    def wait(self) -> float | None:
        return super().wait() if self.left_s is None else self.left_s


class AnonRateThrottle(CountingThrottle, throttling.AnonRateThrottle):
    """Requests per anonymous client address (the "anon" rate)."""


class UserRateThrottle(CountingThrottle, throttling.UserRateThrottle):
    """Requests per member (the "user" rate)."""
