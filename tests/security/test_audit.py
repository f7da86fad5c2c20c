"""Every read or write of patient data through the API writes exactly one audit row."""

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import AuditEvent
from booking import services
from booking.services import Actor
from tests.conftest import client_for
from tests.factories import free_slot

pytestmark = pytest.mark.django_db


@pytest.fixture
def alices(alice, riverside):
    return services.book_appointment(actor=Actor(user=alice), slot_id=free_slot(riverside).pk)


def detail(appointment):
    return reverse("booking:appointment-detail", kwargs={"pk": appointment.pk})


def test_staff_reading_an_appointment_writes_one_row_naming_the_patient(dave, alice, alices):
    client_for(dave).get(detail(alices), REMOTE_ADDR="10.9.8.7", HTTP_X_REQUEST_ID="req-42")

    (event,) = AuditEvent.objects.all()
    assert (event.actor, event.actor_role, event.action) == (
        dave,
        "admin",
        "api.appointment.retrieve",
    )
    assert (event.patient, event.object_id, event.allowed) == (alice, str(alices.pk), True)
    assert (event.source_address, event.request_id, event.path) == (
        "10.9.8.7",
        "req-42",
        detail(alices),
    )


def test_a_denied_attempt_is_audited_too(bob, alices):
    response = client_for(bob).get(detail(alices))

    (event,) = AuditEvent.objects.all()
    assert response.status_code == 404
    assert (event.actor, event.allowed, event.patient) == (bob, False, None)


def test_an_anonymous_attempt_is_audited_without_an_actor(alices):
    APIClient().get(detail(alices))

    (event,) = AuditEvent.objects.all()
    assert (event.actor, event.actor_role, event.allowed) == (None, "anonymous", False)


@pytest.mark.parametrize(
    ("method", "name", "body"),
    [
        ("get", "booking:appointment-list", None),
        ("get", "accounts:me", None),
        ("patch", "accounts:me", {"given_name": "Al"}),
    ],
)
def test_each_request_writes_exactly_one_row(alice, alices, method, name, body):
    getattr(client_for(alice), method)(reverse(name), body, format="json")

    assert AuditEvent.objects.count() == 1
    assert AuditEvent.objects.get().patient == alice


def test_booking_writes_one_row_for_the_new_appointment(alice, riverside):
    response = client_for(alice).post(
        reverse("booking:appointment-list"),
        {"slot_id": str(free_slot(riverside).id)},
        format="json",
    )

    (event,) = AuditEvent.objects.all()
    assert (event.action, event.object_id, event.patient) == (
        "api.appointment.create",
        response.json()["id"],
        alice,
    )


def test_the_audit_path_never_keeps_a_query_string(dave, alice):
    client_for(dave).get(reverse("booking:appointment-list"), {"patient": str(alice.id)})

    assert "?" not in AuditEvent.objects.get().path


def test_a_patient_sees_who_accessed_their_record(alice, dave, alices):
    client_for(dave).get(detail(alices))

    response = client_for(alice).get(reverse("accounts:access-log"))

    assert response.status_code == 200
    (entry,) = response.json()["results"]
    assert (entry["who"], entry["role"], entry["action"], entry["allowed"]) == (
        "Dave Brown",
        "admin",
        "api.appointment.retrieve",
        True,
    )


def test_the_access_log_shows_only_the_callers_own_record(alice, bob, dave, alices):
    client_for(dave).get(detail(alices))

    assert client_for(bob).get(reverse("accounts:access-log")).json()["count"] == 0


def test_the_audit_table_refuses_update_and_delete(dave, alices):
    client_for(dave).get(detail(alices))

    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEvent.objects.update(allowed=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get().allowed is True


def test_staff_filtering_by_an_unknown_patient_is_audited_by_the_id_asked_for(dave):
    unknown = "e3e70682-c209-1cac-a29f-6fbed82c07cd"

    response = client_for(dave).get(reverse("booking:appointment-list"), {"patient": unknown})

    assert response.status_code == 200
    event = AuditEvent.objects.get(actor=dave)
    assert (event.patient_id, event.object_id) == (None, f"patient:{unknown}")
