"""The edges of the service an outsider reaches first (issue 17): each test fails without
its fix."""

import json
from pathlib import Path

import pytest
from django.urls import reverse
from gunicorn.config import Config

from tests.conftest import client_for
from tests.factories import DEFAULT_PASSWORD

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
