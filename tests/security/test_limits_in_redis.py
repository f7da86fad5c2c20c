"""With REDIS_URL set, the rate-limit counters live in Redis (the server on this machine, as
ElastiCache in AWS); without one, or when it cannot be reached, in the database."""

import datetime as dt
import shutil
import subprocess
import time
import uuid

import pytest
import redis
from django.urls import reverse
from django.utils import timezone

from core.http import throttling
from core.http.throttling import count_hit, redis_counters
from core.models import RateCounter
from tests.concurrency import run_concurrently
from tests.conftest import client_for
from tests.security.test_limits import with_rates
from tests.servers import free_port

ME = reverse("accounts:me")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """The machine's Redis on its usual port (CI makes sure of one), else a private
    redis-server for this run, else the tests say what is missing."""
    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        pass
    else:
        yield url
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip(
            "no Redis on 127.0.0.1:6379 and no redis-server to start (apt-get install redis-server)"
        )
    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.RedisError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    yield url
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture(autouse=True)
def _redis_not_resting():
    # A test that made Redis fail must not leave the next one counting in the database.
    throttling._redis_resting_until[0] = 0.0
    yield
    throttling._redis_resting_until[0] = 0.0


@pytest.fixture
def in_redis(settings, redis_url):
    """Counters in Redis, under a prefix of this test's own."""
    settings.REDIS_URL = redis_url
    settings.REDIS_KEY_PREFIX = f"test-{uuid.uuid4().hex}"
    client = redis.Redis.from_url(settings.REDIS_URL)
    yield client
    for key in client.scan_iter(f"{settings.REDIS_KEY_PREFIX}:*"):
        client.delete(key)


@pytest.mark.django_db
def test_each_signed_in_user_is_throttled_in_redis(alice, bob, settings, in_redis):
    with_rates(settings, user="3/min")
    client = client_for(alice)

    statuses = [client.get(ME).status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    assert client_for(bob).get(ME).status_code == 200
    assert not RateCounter.objects.exists()
    assert len(list(in_redis.scan_iter(f"{settings.REDIS_KEY_PREFIX}:*"))) == 2


@pytest.mark.django_db
def test_a_throttled_answer_says_when_the_clock_window_ends(api, settings, in_redis):
    with_rates(settings, anon="1/min")
    api.get(reverse("practices:practice-list"))

    response = api.get(reverse("practices:practice-list"))

    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert not RateCounter.objects.exists()  # counted in Redis, not by the fallback


def test_concurrent_hits_in_redis_are_counted_one_by_one(in_redis):
    now = timezone.now()

    hits = run_concurrently(
        lambda _: count_hit("throttle_user_y", window=dt.timedelta(minutes=1), now=now)[0],
        range(20),
    )

    assert sorted(hits) == list(range(1, 21))


def test_the_next_clock_window_starts_the_count_again(in_redis):
    window = dt.timedelta(minutes=1)
    start = dt.datetime(2026, 12, 1, 8, 0, 30, tzinfo=dt.UTC)
    for _ in range(3):
        count_hit("throttle_anon_1.2.3.4", window=window, now=start)

    hits, window_start = count_hit("throttle_anon_1.2.3.4", window=window, now=start + window)

    assert (hits, window_start) == (1, dt.datetime(2026, 12, 1, 8, 1, tzinfo=dt.UTC))


def test_counters_expire_on_their_own(in_redis, settings):
    count_hit("throttle_user_z", window=dt.timedelta(minutes=1), now=timezone.now())

    [key] = in_redis.scan_iter(f"{settings.REDIS_KEY_PREFIX}:*")

    assert 60 < in_redis.ttl(key) <= 120


@pytest.mark.django_db
def test_when_redis_cannot_be_reached_the_database_counts(alice, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    with_rates(settings, user="2/min")
    client = client_for(alice)

    statuses = [client.get(ME).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    assert RateCounter.objects.get().hits == 3


def test_without_redis_there_is_no_client(settings):
    settings.REDIS_URL = ""

    assert redis_counters() is None


@pytest.mark.django_db
def test_after_redis_fails_the_database_counts_for_a_while_without_trying_it(
    alice, settings, redis_url
):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    client = client_for(alice)
    client.get(ME)  # Redis fails: this one and the next are counted in the database
    settings.REDIS_URL = redis_url  # back, but not tried again yet

    client.get(ME)

    assert RateCounter.objects.get().hits == 2
