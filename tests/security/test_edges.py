"""The edges of the service an outsider reaches first (issue 17): each test fails without
its fix."""

import json
from pathlib import Path

import pytest
from django.test import RequestFactory
from django.urls import reverse
from gunicorn.config import Config

from accounts.models import AuditEvent
from booking.services import Actor, book_appointment
from core.http.client import client_ip
from tests.config.test_settings import SETUP, production_env, run_python
from tests.conftest import client_for
from tests.factories import DEFAULT_PASSWORD, free_slot

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
DEEP = "[" * 5000 + "]" * 5000


def test_a_deeply_nested_body_to_an_anonymous_endpoint_is_a_400_problem(api):
    response = api.post(reverse("accounts:login"), DEEP, content_type="application/json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "nested too deeply" in response.json()["detail"]


def test_a_deeply_nested_profile_update_is_a_400_problem(alice):
    response = client_for(alice).patch(
        reverse("accounts:me"), DEEP, content_type="application/json"
    )

    assert response.status_code == 400


def gunicorn_config():
    config = Config()
    namespace: dict = {}
    exec((ROOT / "config" / "gunicorn.py").read_text(), namespace)  # noqa: S102 - our own file
    for key, value in namespace.items():
        if key in config.settings:
            config.set(key, value)
    return config


def test_a_newline_nul_or_quote_in_the_url_cannot_break_the_json_access_log():
    config = gunicorn_config()
    logger = config.logger_class(config)
    hostile = '/api/v1/x\\n"}\n{"forged": true}\x00\\'
    atoms = {
        "t": "[30/Nov/2026:08:00:00 +0000]",
        "m": "GET",
        "U": hostile,
        "s": "404",
        "B": "12",
        "M": "3",
        "h": "203.0.113.9",
        "{x-request-id}o": "abc",
    }

    line = config.access_log_format % logger.atoms_wrapper_class(atoms)

    assert "\n" not in line
    assert json.loads(line)["path"] == hostile


# Cache-Control (17.6) ------------------------------------------------------------------------


def test_tokens_are_never_cached(api, alice):
    response = api.post(
        reverse("accounts:login"),
        {"email": "alice@example.com", "password": DEFAULT_PASSWORD},
        format="json",
    )

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("url", "query"),
    [
        (reverse("accounts:me"), {}),
        (reverse("booking:appointment-list"), {}),
        (
            reverse("practices:practice-availability", kwargs={"ods_code": "A81001"}),
            {"start": "2030-01-07T00:00:00Z", "end": "2030-01-08T00:00:00Z"},
        ),
    ],
)
def test_patient_data_is_never_cached(alice, url, query):
    response = client_for(alice).get(url, query)

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"


def test_an_api_error_is_never_cached(api):
    assert api.get("/api/v1/no-such-thing")["Cache-Control"] == "no-store"


def test_the_practice_directory_is_public_reference_data(api, riverside):
    response = api.get(reverse("practices:practice-list"))

    assert response["Cache-Control"] == "public, max-age=300"


# Client addresses (17.2) ----------------------------------------------------------------------


def request_from(remote: str, forwarded: str | None = None):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


def test_by_default_a_forwarded_header_is_not_believed(settings):
    settings.TRUSTED_PROXY_NETWORKS = []

    assert client_ip(request_from("203.0.113.9", "198.51.100.7")) == "203.0.113.9"


def test_a_forwarded_header_from_outside_the_load_balancers_subnets_is_not_believed(settings):
    settings.TRUSTED_PROXY_NETWORKS = ["10.0.0.0/24"]

    assert client_ip(request_from("203.0.113.9", "198.51.100.7")) == "203.0.113.9"


def test_behind_the_load_balancer_the_hop_it_appended_is_the_client(settings):
    settings.TRUSTED_PROXY_NETWORKS = ["10.0.0.0/24"]

    # The client sent "1.2.3.4" itself; the load balancer appended the address it saw.
    assert client_ip(request_from("10.0.0.2", "1.2.3.4, 198.51.100.7")) == "198.51.100.7"


def test_trusted_hops_are_skipped_from_the_right(settings):
    settings.TRUSTED_PROXY_NETWORKS = ["10.0.0.0/24"]

    assert client_ip(request_from("10.0.0.2", "198.51.100.7, 10.0.0.9")) == "198.51.100.7"


def test_a_hop_that_is_not_an_address_falls_back_to_the_socket(settings):
    settings.TRUSTED_PROXY_NETWORKS = ["10.0.0.0/24"]

    assert client_ip(request_from("10.0.0.2", "198.51.100.7, <script>")) == "10.0.0.2"


def failed_logins_with_forged_hops(api, settings, *, remote: str, appended: str) -> list[int]:
    """Three wrong passwords at a login limit of two, each with a new forged address."""
    settings.TRUSTED_PROXY_NETWORKS = ["10.0.0.0/24"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "login": "2/min",
        },
    }
    body = {"email": "nobody@example.com", "password": "wrong"}
    return [
        api.post(
            reverse("accounts:login"),
            body,
            format="json",
            REMOTE_ADDR=remote,
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}{appended}",
        ).status_code
        for n in range(3)
    ]


def test_behind_the_load_balancer_a_forged_hop_cannot_reset_the_login_limit(api, settings):
    # The load balancer appends the address it saw, which stays the same.
    statuses = failed_logins_with_forged_hops(
        api, settings, remote="10.0.0.2", appended=", 203.0.113.9"
    )

    assert statuses[-1] == 429


def test_a_caller_outside_the_load_balancer_cannot_reset_the_login_limit(api, settings):
    # As production had it: the header believed from anyone.
    statuses = failed_logins_with_forged_hops(api, settings, remote="203.0.113.9", appended="")

    assert statuses[-1] == 429


def test_a_forged_hop_is_not_written_into_the_audit_trail(settings, alice, riverside):
    settings.TRUSTED_PROXY_NETWORKS = ["10.0.0.0/24"]
    booking = book_appointment(actor=Actor(user=alice), slot_id=free_slot(riverside).pk)

    client_for(alice).get(
        reverse("booking:appointment-detail", kwargs={"pk": booking.pk}),
        HTTP_X_FORWARDED_FOR="198.51.100.66, 203.0.113.9",
        REMOTE_ADDR="10.0.0.2",
    )

    assert AuditEvent.objects.latest("at").source_address == "203.0.113.9"


def test_production_refuses_to_start_without_naming_its_proxies():
    env = production_env()
    del env["TRUSTED_PROXY_NETWORKS"]

    result = run_python(SETUP + "print('started')", "config.settings.production", **env)

    assert result.returncode != 0
    assert "TRUSTED_PROXY_NETWORKS" in result.stderr


def test_none_means_no_forwarded_header_is_believed():
    env = {**production_env(), "TRUSTED_PROXY_NETWORKS": "none"}

    result = run_python(
        SETUP + "print(s.TRUSTED_PROXY_NETWORKS)", "config.settings.production", **env
    )

    assert result.stdout.strip() == "[]", result.stderr


def test_a_malformed_network_stops_start_up():
    env = {**production_env(), "TRUSTED_PROXY_NETWORKS": "10.0.0.0/33"}

    result = run_python(SETUP + "print('started')", "config.settings.production", **env)

    assert result.returncode != 0
    assert "TRUSTED_PROXY_NETWORKS" in result.stderr


def test_gunicorn_believes_forwarded_headers_from_loopback_only_unless_told(monkeypatch):
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    monkeypatch.delenv("TRUSTED_PROXY_NETWORKS", raising=False)

    assert gunicorn_config().forwarded_allow_ips == ["127.0.0.1", "::1"]


def test_gunicorn_believes_the_load_balancers_subnets(monkeypatch):
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    monkeypatch.setenv("TRUSTED_PROXY_NETWORKS", "10.0.0.0/24,10.0.1.0/24")

    assert gunicorn_config().forwarded_allow_ips == ["10.0.0.0/24", "10.0.1.0/24"]


def test_gunicorn_reads_none_as_loopback_only(monkeypatch):
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    monkeypatch.setenv("TRUSTED_PROXY_NETWORKS", "none")

    assert gunicorn_config().forwarded_allow_ips == ["127.0.0.1", "::1"]


def test_the_schema_is_public_reference_data(api):
    assert api.get(reverse("schema"))["Cache-Control"] == "public, max-age=300"
