"""A browser that meets an error gets a page in the NHS design that says what to do; an API
client asking for the same thing still gets a problem body (core.http.errors)."""

import pytest
from django.test import Client, RequestFactory

from core.http.errors import server_error

pytestmark = pytest.mark.django_db

BROWSER = {"HTTP_ACCEPT": "text/html,application/xhtml+xml,*/*;q=0.8"}


def test_a_browser_asking_for_an_unknown_page_gets_the_not_found_page(client):
    response = client.get("/no-such-page", **BROWSER)

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert "<h1>Page not found</h1>" in response.text


def test_an_api_client_asking_for_an_unknown_page_gets_a_problem(client):
    response = client.get("/no-such-page", HTTP_ACCEPT="application/json")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_a_browser_under_the_api_still_gets_a_problem(client):
    response = client.get("/api/v1/no-such-thing", **BROWSER)

    assert response["Content-Type"] == "application/problem+json"


def test_a_browser_meeting_a_crash_gets_a_page_without_the_trace():
    request = RequestFactory().get("/appointments", **BROWSER)

    response = server_error(request)

    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in response.content.decode()
    assert "Traceback" not in response.content.decode()


def test_a_form_posted_without_its_csrf_token_gets_the_expired_form_page():
    browser = Client(enforce_csrf_checks=True)

    response = browser.post("/sign-in", {"email": "a@example.com", "password": "x"}, **BROWSER)

    assert response.status_code == 403
    assert "this form has expired" in response.content.decode()
