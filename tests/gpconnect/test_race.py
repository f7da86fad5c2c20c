"""One slot, two doors at once: NHS 111 through GP Connect and a patient through the REST API.
Exactly one wins; the other gets its door's "taken" answer (409 DUPLICATE_REJECTED, 409
slot_taken); the slot holds one appointment."""

import pytest
from django.test import Client
from django.urls import reverse

from booking.models import Appointment
from gpconnect.auth import BOOK_APPOINTMENT
from tests.concurrency import run_concurrently
from tests.conftest import client_for
from tests.factories import PatientFactory

from .door import BASE, booking

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_gp_connect_booking_and_a_rest_booking_for_one_slot_make_one_appointment(
    riverside, morning, gpc_headers
):
    for slot in morning:  # three rounds, for different interleavings
        alice, bob = (PatientFactory(profile__registered_practice=riverside) for _ in range(2))
        bobs_client = client_for(bob)
        body = booking(alice, [slot])
        headers = gpc_headers(BOOK_APPOINTMENT)

        def attempt(door, slot=slot, bobs_client=bobs_client, body=body, headers=headers):
            if door == "gp_connect":
                response = Client().post(
                    f"{BASE}/Appointment",
                    data=body,
                    content_type="application/fhir+json",
                    headers=headers,
                )
                return door, response.status_code
            response = bobs_client.post(
                reverse("booking:appointment-list"), {"slot_id": str(slot.id)}, format="json"
            )
            return door, response.status_code

        results = run_concurrently(attempt, ["gp_connect", "rest"])
        assert all(isinstance(result, tuple) for result in results), results
        outcomes = dict(results)

        assert sorted(outcomes.values()) == [201, 409], outcomes
        assert Appointment.objects.filter(slot=slot).count() == 1
        winner = Appointment.objects.get(slot=slot)
        assert winner.patient == (alice if outcomes["gp_connect"] == 201 else bob)
