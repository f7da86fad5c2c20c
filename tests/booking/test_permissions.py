"""Who may do what to Alice's appointment at Riverside: every endpoint x every persona.

alice: the patient who owns it; bob: another Riverside patient; carol: a Riverside GP;
dave: Riverside's practice administrator; erin: Hilltop's administrator; anonymous.
Objects a caller may not know exist are 404, never 403.
"""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from booking import services
from booking.models import Appointment, AppointmentHistory
from booking.services import Actor
from tests.conftest import client_for
from tests.factories import free_slot

pytestmark = pytest.mark.django_db

PERSONAS = ["alice", "bob", "carol", "dave", "erin", "anonymous"]


def _url(appointment, action=None):
    name = f"booking:appointment-{action}" if action else "booking:appointment-detail"
    return reverse(name, kwargs={"pk": appointment.pk})


def _list(client, appointment, riverside):
    return client.get(reverse("booking:appointment-list"))


def _read(client, appointment, riverside):
    return client.get(_url(appointment))


def _patch(client, appointment, riverside):
    return client.patch(_url(appointment), {"comment": "changed"}, format="json")


def _reschedule(client, appointment, riverside):
    new = free_slot(riverside, hours_ahead=48)
    return client.post(_url(appointment, "reschedule"), {"slot_id": str(new.id)}, format="json")


def _cancel(client, appointment, riverside):
    return client.post(_url(appointment, "cancel"), {"reason": "test"}, format="json")


def _outcome(client, appointment, riverside):
    # Setup, not the behaviour under test: move the appointment into the past so that
    # "did not attend" is allowed by time.
    past = timezone.now() - dt.timedelta(minutes=30)
    Appointment.objects.filter(pk=appointment.pk).update(
        start=past, end=past + dt.timedelta(minutes=10)
    )
    return client.post(_url(appointment, "outcome"), {"outcome": "did_not_attend"}, format="json")


def _book_for_alice(client, appointment, riverside):
    slot = free_slot(riverside, hours_ahead=72)
    body = {"slot_id": str(slot.id), "patient_id": str(appointment.patient_id)}
    return client.post(reverse("booking:appointment-list"), body, format="json")


MATRIX = {
    #                alice bob  carol dave erin anonymous
    _list:          (200, 200, 200, 200, 200, 401),
    _read:          (200, 404, 200, 200, 404, 401),
    _patch:         (200, 404, 403, 200, 404, 401),  # carol: a clinician's role may not
    _reschedule:    (200, 404, 403, 200, 404, 401),
    _cancel:        (200, 404, 403, 200, 404, 401),
    _outcome:       (403, 404, 403, 200, 404, 401),  # carol is not its clinician
    _book_for_alice: (201, 403, 403, 201, 403, 401),
}  # fmt: skip

CASES = [
    pytest.param(call, persona, expected, id=f"{call.__name__[1:]}-{persona}")
    for call, row in MATRIX.items()
    for persona, expected in zip(PERSONAS, row, strict=True)
]


@pytest.fixture
def everyone(alice, bob, carol, dave, erin):
    return {"alice": alice, "bob": bob, "carol": carol, "dave": dave, "erin": erin}


@pytest.mark.parametrize(("call", "persona", "expected"), CASES)
def test_the_permission_matrix(everyone, riverside, call, persona, expected):
    appointment = services.book_appointment(
        actor=Actor(user=everyone["alice"]), slot_id=free_slot(riverside).pk
    )
    client = APIClient() if persona == "anonymous" else client_for(everyone[persona])
    history_before = AppointmentHistory.objects.count()

    response = call(client, appointment, riverside)

    assert response.status_code == expected, response.content
    if expected >= 400:
        assert response["Content-Type"] == "application/problem+json"
        assert AppointmentHistory.objects.count() == history_before


@pytest.mark.parametrize("persona", ["bob", "erin"])
def test_a_refused_list_shows_nothing_of_alices(everyone, riverside, persona):
    services.book_appointment(actor=Actor(user=everyone["alice"]), slot_id=free_slot(riverside).pk)

    response = client_for(everyone[persona]).get(reverse("booking:appointment-list"))

    assert response.json()["count"] == 0
