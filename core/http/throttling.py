"""Throttles that hold across every worker and container, at one statement per request.

DRF's throttles keep each caller's request history in the cache: with Django's database cache
that is a read, a count, a read and a write per request (four statements), and two workers
can read the same history and both let a request through. Here each caller and scope has one
row (core.RateCounter) in a fixed window, advanced by one atomic upsert that returns the
new count, so the limit holds exactly whatever the number of workers.

A fixed window lets a caller send up to twice the rate across a window boundary; that is the
price of one statement, and the limits are set with it in mind. Rates are read on each
request, so settings changes apply at once.

Where REDIS_URL names a Redis (ElastiCache in AWS, a container in compose), the counters live
there instead: the upsert's synchronous commit was a large share of a fast request (about
1.5 ms of an 18 ms availability search here, more on RDS with Multi-AZ), and Redis answers in
one round trip without touching a disk. Its windows are aligned to the clock. If Redis cannot
be reached, the request is counted in the database, never refused for it.
"""

import datetime as dt
import functools
import logging
import random
import time
from typing import TYPE_CHECKING, cast

import redis
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.utils import timezone
from rest_framework import throttling
from rest_framework.request import Request
from rest_framework.settings import api_settings

from .client import client_ip

if TYPE_CHECKING:
    from rest_framework.views import APIView

    _ThrottleBase = throttling.SimpleRateThrottle
else:
    _ThrottleBase = object

logger = logging.getLogger(__name__)

# One request in this many also deletes rows whose window ended a day ago (callers gone).
PURGE_ONE_IN = 1000

_COUNT_HIT = """
    INSERT INTO accounts_ratecounter ("key", window_start, hits) VALUES (%(key)s, %(now)s, 1)
    ON CONFLICT ("key") DO UPDATE SET
        hits = CASE WHEN accounts_ratecounter.window_start <= %(expired)s THEN 1
                    ELSE accounts_ratecounter.hits + 1 END,
        window_start = CASE WHEN accounts_ratecounter.window_start <= %(expired)s THEN %(now)s
                            ELSE accounts_ratecounter.window_start END
    RETURNING hits, window_start
"""


def count_hit(key: str, *, window: dt.timedelta, now: dt.datetime) -> tuple[int, dt.datetime]:
    """Add one request to ``key``'s current window; returns (requests in it, its start)."""
    counters = redis_counters()
    if counters is not None and time.monotonic() >= _redis_resting_until[0]:
        try:
            return _count_hit_in_redis(counters, key, window=window, now=now)
        except redis.RedisError as exc:
            # Not again for a while: each try costs a request the connect timeout, and a
            # failover would otherwise fill the logs with one traceback per request.
            _redis_resting_until[0] = time.monotonic() + REDIS_REST_SECONDS
            logger.warning(
                "Redis unreachable (%s): rate limits counted in the database for %d s",
                exc,
                REDIS_REST_SECONDS,
            )
    with connection.cursor() as cursor:
        cursor.execute(_COUNT_HIT, {"key": key[:200], "now": now, "expired": now - window})
        hits, window_start = cursor.fetchone()
        if random.randrange(PURGE_ONE_IN) == 0:  # noqa: S311 - sampling, not security
            cursor.execute(
                "DELETE FROM accounts_ratecounter WHERE window_start < %s",
                [now - dt.timedelta(days=1)],
            )
    return hits, window_start


# After Redis fails, the database counts for this long before Redis is tried again.
REDIS_REST_SECONDS = 10
_redis_resting_until = [0.0]


@functools.cache
def _client(url: str) -> redis.Redis:
    # Short timeouts: a slow Redis must cost a request milliseconds, not the worker.
    return redis.Redis.from_url(url, socket_timeout=0.2, socket_connect_timeout=0.2)


def redis_counters() -> redis.Redis | None:
    """The Redis client for REDIS_URL, made once per worker process; None without one."""
    url = settings.REDIS_URL
    return _client(url) if url else None


def _count_hit_in_redis(
    counters: redis.Redis, key: str, *, window: dt.timedelta, now: dt.datetime
) -> tuple[int, dt.datetime]:
    seconds = int(window.total_seconds())
    index = int(now.timestamp()) // seconds
    name = f"{settings.REDIS_KEY_PREFIX}:{key[:200]}:{index}"
    pipe = counters.pipeline(transaction=False)
    pipe.incr(name)
    # Kept a window longer than it counts, then Redis drops it: no purge to run.
    pipe.expire(name, 2 * seconds)
    hits, _ = pipe.execute()
    return int(hits), dt.datetime.fromtimestamp(index * seconds, tz=dt.UTC)


def count_scoped_hit(scope: str, ident: str) -> float | None:
    """Count one request of ``ident`` against ``scope``'s rate, as the API's throttles do and
    in the same counter: None if it is allowed, else the seconds until it would be.

    For doors outside DRF (the admin's sign-in) that must share the API's limit."""
    rate = cast("str | None", api_settings.DEFAULT_THROTTLE_RATES.get(scope))
    if rate is None:
        return None
    # DRF's own reading of "10/min" (ScopedRateThrottle takes no arguments to be made).
    limit, seconds = cast("tuple[int, int]", ScopedRateThrottle().parse_rate(rate))
    window = dt.timedelta(seconds=seconds)
    now = timezone.now()
    hits, window_start = count_hit(f"throttle_{scope}_{ident}", window=window, now=now)
    return None if hits <= limit else max(1.0, (window_start + window - now).total_seconds())


class _SharedWindow(_ThrottleBase):
    wait_seconds: float

    def get_rate(self) -> str | None:
        try:
            # drf-stubs types the rates as numbers (DRF's are strings such as "100/min") and
            # the scope as optional (every throttle here has one by the time it counts).
            return cast("str | None", api_settings.DEFAULT_THROTTLE_RATES[cast(str, self.scope)])
        except KeyError as exc:
            raise ImproperlyConfigured(f"No throttle rate set for scope {self.scope!r}") from exc

    def allow_request(self, request: Request, view: "APIView") -> bool:
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        # A rate is set, so both are numbers.
        limit, seconds = cast("tuple[int, int]", self.parse_rate(self.rate))
        window = dt.timedelta(seconds=seconds)
        now = timezone.now()
        hits, window_start = count_hit(key, window=window, now=now)
        self.wait_seconds = max(1.0, (window_start + window - now).total_seconds())
        return hits <= limit

    def wait(self) -> float:
        return self.wait_seconds

    def get_ident(self, request: Request) -> str:
        # Instead of DRF's NUM_PROXIES, which believes X-Forwarded-For from anyone.
        return client_ip(request)


class ScopedRateThrottle(_SharedWindow, throttling.ScopedRateThrottle):
    """Per endpoint scope; keyed by user id, or by client IP for anonymous callers."""

    def allow_request(self, request: Request, view: "APIView") -> bool:
        # DRF's ScopedRateThrottle takes the scope from the view before counting.
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        return super().allow_request(request, view)


class UserRateThrottle(_SharedWindow, throttling.UserRateThrottle):
    """Every signed-in user's requests, whatever the endpoint."""

    def get_cache_key(self, request: Request, view: "APIView") -> str | None:
        # Anonymous callers are counted by AnonRateThrottle alone, not twice.
        if not request.user or not request.user.is_authenticated:
            return None
        return super().get_cache_key(request, view)


class AnonRateThrottle(_SharedWindow, throttling.AnonRateThrottle):
    """Anonymous requests per client IP."""
