import json
import logging

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from core.http.logging import JsonFormatter
from core.http.request_id import current_request_id
from tests.factories import fake_nhs_number, free_slot


def test_log_lines_are_json_with_the_request_id():
    record = logging.LogRecord("booking", logging.INFO, __file__, 1, "booked %s", ("X",), None)
    token = current_request_id.set("req-123")
    try:
        line = JsonFormatter().format(record)
    finally:
        current_request_id.reset(token)

    entry = json.loads(line)
    assert (entry["message"], entry["request_id"], entry["level"]) == (
        "booked X",
        "req-123",
        "INFO",
    )


@pytest.mark.django_db
def test_every_response_carries_a_request_id(client):
    assert len(client.get("/api/v1/practices").headers["X-Request-ID"]) == 32


@pytest.mark.django_db
def test_a_safe_incoming_request_id_is_kept_and_an_unsafe_one_replaced(client):
    kept = client.get("/healthz", HTTP_X_REQUEST_ID="Root=1-abc-def").headers["X-Request-ID"]
    replaced = client.get("/healthz", HTTP_X_REQUEST_ID="evil\nheader").headers["X-Request-ID"]

    assert kept == "Root=1-abc-def"
    assert replaced != "evil\nheader"


@pytest.mark.django_db
def test_a_full_api_flow_logs_no_patient_identifiers(api, riverside, caplog):
    nhs = fake_nhs_number()
    slot = free_slot(riverside)
    caplog.set_level(logging.DEBUG)

    api.post(
        reverse("accounts:register"),
        {
            "email": "private.person@example.com",
            "password": "Tr1cky-Pass!",
            "nhs_number": nhs,
            "phone": "07700 900777",
            "practice_id": "A81001",
        },
        format="json",
    )
    # As if the emailed link had been followed (tests/accounts/test_email_flows.py does that).
    User.objects.filter(email="private.person@example.com").update(email_verified_at=timezone.now())
    api.post(
        reverse("accounts:login"),
        {"email": "private.person@example.com", "password": "wrong"},
        format="json",
    )
    token = api.post(
        reverse("accounts:login"),
        {"email": "private.person@example.com", "password": "Tr1cky-Pass!"},
        format="json",
    ).json()["access"]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    api.post(reverse("booking:appointment-list"), {"slot_id": str(slot.id)}, format="json")
    api.post(reverse("booking:appointment-list"), {"slot_id": str(slot.id)}, format="json")  # a 409

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert caplog.records  # the 401 and 409 were logged
    for identifier in (nhs, "private.person", "7700900777", "Tr1cky"):
        assert identifier not in logged
