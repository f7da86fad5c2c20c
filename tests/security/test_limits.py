"""Abuse limits: each has a test that would fail without it."""

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from booking.api.serializers import LIST_RANGE_TOO_WIDE
from core.http.throttling import count_hit
from tests.concurrency import run_concurrently
from tests.conftest import client_for
from tests.servers import free_port, get, server_env, wait_until_up

ROOT = Path(__file__).resolve().parents[2]


def with_rates(settings, **rates):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
    }


@pytest.mark.django_db
def test_a_request_body_over_the_limit_is_refused_before_parsing(api, settings):
    settings.MAX_REQUEST_BODY_BYTES = 1024

    response = api.post(
        reverse("accounts:login"), {"email": "a@example.com", "password": "x" * 2000}, format="json"
    )

    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"


@pytest.mark.django_db
def test_a_chunked_body_without_length_is_refused(client):
    response = client.post(
        reverse("accounts:login"),
        data=b"{}",
        content_type="application/json",
        HTTP_TRANSFER_ENCODING="chunked",
    )

    assert response.status_code == 411


@pytest.mark.django_db
def test_an_appointment_list_range_over_a_year_is_refused(alice):
    response = client_for(alice).get(
        reverse("booking:appointment-list"),
        {"start": "2026-01-01T00:00:00Z", "end": "2027-06-01T00:00:00Z"},
    )

    assert response.status_code == 422
    assert response.json()["errors"]["end"] == [LIST_RANGE_TOO_WIDE]


@pytest.mark.django_db
def test_each_signed_in_user_is_throttled(alice, bob, settings):
    with_rates(settings, user="3/min")
    client = client_for(alice)

    statuses = [client.get(reverse("accounts:me")).status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    assert client_for(bob).get(reverse("accounts:me")).status_code == 200


@pytest.mark.django_db
def test_anonymous_callers_are_throttled_per_address(api, settings):
    with_rates(settings, anon="2/min")
    url = reverse("practices:practice-list")

    statuses = [api.get(url, REMOTE_ADDR="203.0.113.5").status_code for _ in range(3)]
    other = api.get(url, REMOTE_ADDR="203.0.113.6").status_code

    assert statuses == [200, 200, 429]
    assert other == 200


@pytest.mark.django_db
def test_behind_the_load_balancer_the_forwarded_address_is_throttled(api, settings):
    with_rates(settings, anon="1/min")
    settings.TRUSTED_PROXY_NETWORKS = ["10.0.0.0/24"]
    url = reverse("practices:practice-list")

    first = api.get(url, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.7").status_code
    second = api.get(url, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.8").status_code

    assert (first, second) == (200, 200)  # same ALB address, different clients


@pytest.mark.django_db
def test_postgres_statements_time_out():
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "5s"


def test_throttles_hold_across_gunicorn_processes_sharing_the_database(scratch_database_url):
    # Two gunicorn servers (as two workers or two ECS tasks would be) share one database.
    # Requests alternate between them: per-process counters would allow five on each.
    env = server_env(
        scratch_database_url,
        CACHE_URL="dbcache://django_cache",
        THROTTLE_ANON_RATE="5/min",
        WEB_CONCURRENCY="1",
    )
    python = Path(sys.executable)
    for command in (["migrate", "--noinput"], ["createcachetable"]):
        subprocess.run(
            [python, "manage.py", *command], cwd=ROOT, env=env, check=True, capture_output=True
        )
    ports = [free_port(), free_port()]
    servers = [
        subprocess.Popen(
            [
                python.parent / "gunicorn",
                "--config",
                "config/gunicorn.py",
                "--bind",
                f"127.0.0.1:{port}",
                "config.wsgi",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        for port in ports:
            wait_until_up(port)
        statuses = [get(f"http://127.0.0.1:{ports[i % 2]}/api/v1/practices")[0] for i in range(12)]
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=20)

    assert statuses.count(200) == 5, statuses
    assert statuses.count(429) == 7


@pytest.mark.django_db
def test_an_over_long_url_is_a_414_problem(api, settings):
    settings.MAX_URL_LENGTH = 200

    response = api.get(reverse("practices:practice-list"), {"search": "x" * 300})

    assert response.status_code == 414
    assert response.json()["code"] == "uri_too_long"


def test_gunicorn_leaves_the_url_limit_to_the_application():
    # Otherwise gunicorn answers long URLs itself, with an HTML page instead of a problem body.
    namespace: dict = {}
    exec((ROOT / "config" / "gunicorn.py").read_text(), namespace)  # noqa: S102 - our config

    assert namespace["limit_request_line"] == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_never_pass_the_limit_together():
    # Read-then-write counters (DRF's cache history) let two workers both see "4 of 5".
    now = timezone.now()

    hits = run_concurrently(
        lambda _: count_hit("throttle_user_x", window=dt.timedelta(minutes=1), now=now)[0],
        range(20),
    )

    assert sorted(hits) == list(range(1, 21))


@pytest.mark.django_db
def test_a_new_window_starts_the_count_again():
    window = dt.timedelta(minutes=1)
    start = timezone.now()
    for _ in range(3):
        count_hit("throttle_anon_1.2.3.4", window=window, now=start)

    hits, window_start = count_hit("throttle_anon_1.2.3.4", window=window, now=start + window)

    assert (hits, window_start) == (1, start + window)


@pytest.mark.django_db
def test_a_throttled_answer_says_when_the_window_ends(api, settings):
    with_rates(settings, anon="1/min")
    api.get(reverse("practices:practice-list"))

    response = api.get(reverse("practices:practice-list"))

    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
