"""One problem-details body for every error, whoever raises it."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import client_for

pytestmark = pytest.mark.django_db

PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}


def assert_problem(response, status, code):
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert set(body) >= PROBLEM_KEYS
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"urn:gp-booking:problem:{code}"


def test_an_unknown_api_url_is_a_404_problem(client):
    assert_problem(client.get("/api/v1/nothing-here"), 404, "not_found")


@pytest.mark.parametrize("path", ["/api", "/api/", "/api/v2/appointments", "/api/v1/auth/me/"])
def test_any_unknown_path_under_api_is_a_404_problem_even_with_debug_on(settings, path):
    settings.DEBUG = True  # Django's HTML page would answer otherwise (make run)
    client = Client(enforce_csrf_checks=True)  # a POST is a 404 too, not a CSRF page

    assert_problem(client.get(path), 404, "not_found")
    assert_problem(client.post(path, {}), 404, "not_found")


@pytest.mark.parametrize("path", ["/api/docs", "/api/redoc", "/api/schema"])
def test_a_known_api_page_without_its_slash_is_redirected_to_it(client, path):
    response = client.get(path)

    assert (response.status_code, response["Location"]) == (301, path + "/")


def test_a_wrong_method_is_a_405_problem(alice):
    assert_problem(client_for(alice).delete(reverse("accounts:me")), 405, "method_not_allowed")


def test_a_non_json_body_is_a_415_problem(api):
    response = api.post(
        reverse("accounts:login"), "email=a", content_type="application/x-www-form-urlencoded"
    )

    assert_problem(response, 415, "unsupported_media_type")


def test_validation_errors_list_each_field(api):
    response = api.post(reverse("accounts:login"), {}, format="json")

    assert_problem(response, 400, "validation_error")
    assert set(response.json()["errors"]) == {"email", "password"}


def test_a_crash_answers_with_a_generic_problem_and_no_trace(client, settings):
    from core.http.errors import server_error

    response = server_error(None)

    assert response.status_code == 500
    assert response["Content-Type"] == "application/problem+json"
    assert b"Traceback" not in response.content
