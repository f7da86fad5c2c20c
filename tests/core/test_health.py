import pytest
from django.db import connections
from django.db.utils import ConnectionHandler
from django.test import override_settings

from core.http import health


def test_healthz_answers_without_touching_the_database(db, client, assert_statements):
    with assert_statements(0, throttled=False):
        response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@override_settings(ALLOWED_HOSTS=["api.example.nhs.uk"], SECURE_SSL_REDIRECT=True)
def test_healthz_answers_a_load_balancer_probing_the_task_ip_over_http(client):
    response = client.get("/healthz", HTTP_HOST="10.0.3.17:8000")

    assert response.status_code == 200


@override_settings(ALLOWED_HOSTS=["api.example.nhs.uk"], SECURE_SSL_REDIRECT=True)
def test_other_paths_still_enforce_host_and_https(client):
    assert client.get("/api/schema/", HTTP_HOST="10.0.3.17:8000").status_code == 400
    assert client.get("/api/schema/", HTTP_HOST="api.example.nhs.uk").status_code == 301


@pytest.mark.django_db
def test_readyz_answers_200_when_the_database_answers(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_readyz_answers_503_when_the_database_is_unreachable(client, monkeypatch):
    # A real connection to a port where nothing listens, not a mock of the database.
    settings = dict(connections["default"].settings_dict)
    settings.update(ENGINE="django.db.backends.postgresql", HOST="127.0.0.1", PORT="1", NAME="x")
    settings.setdefault("OPTIONS", {})
    settings["OPTIONS"] = {"connect_timeout": 2}
    unreachable = ConnectionHandler({"default": settings})["default"]
    monkeypatch.setattr(health, "connection", unreachable)

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "database_unavailable"


def test_probes_refuse_writes(client):
    assert client.post("/healthz").status_code in (403, 404, 405)
