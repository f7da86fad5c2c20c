"""Statements per GP Connect interaction stay flat (Non-negotiable 6: counts asserted here,
speed in ``make bench``)."""

import datetime as dt

import pytest

from gpconnect.auth import BOOK_APPOINTMENT, READ_APPOINTMENT, SEARCH_FREE_SLOTS
from tests.factories import SlotFactory

from .door import BASE, booking, tomorrow_at

pytestmark = pytest.mark.django_db


def test_the_slot_search_costs_three_statements_however_many_slots(
    fhir, riverside, okafor, morning, assert_statements
):
    for n in range(20):
        start = tomorrow_at(13) + dt.timedelta(minutes=10 * n)
        SlotFactory(
            practice=riverside, clinician=okafor, start=start, end=start + dt.timedelta(minutes=10)
        )
    day = tomorrow_at(0).date()

    # The consumer system with its service user; the slots with all they show; the audit row.
    with assert_statements(3, throttled=True):
        response = fhir.get(
            f"{BASE}/Slot?status=free&start=ge{day}&end=le{day}&_include=Slot:schedule"
            "&_include:recurse=Schedule:actor:Practitioner&_include:recurse=Schedule:actor:Location",
            SEARCH_FREE_SLOTS,
        )

    assert response.status_code == 200
    assert response.content.decode().count('"resourceType":"Slot"') == 23


def test_booking_costs_fourteen_statements(fhir, jane, morning, assert_statements):
    # The consumer system; the patient; the slots named; then the booking core's ten (the
    # slot and patient locks, the patient, the GP Connect setting, the patient's appointments,
    # the appointment, the slot, the history row, the notification); the appointment as
    # answered, with its extra slots; the audit row.
    with assert_statements(14, throttled=True):
        response = fhir.send(
            "POST", f"{BASE}/Appointment", BOOK_APPOINTMENT, booking(jane, morning[:1])
        )

    assert response.status_code == 201


def test_reading_costs_four_statements(fhir, jane, morning, assert_statements):
    booked = fhir.send("POST", f"{BASE}/Appointment", BOOK_APPOINTMENT, booking(jane, morning[:1]))

    # The consumer system; the appointment; its extra slots; the audit row.
    with assert_statements(4, throttled=True):
        response = fhir.get(f"{BASE}/Appointment/{booked.json()['id']}", READ_APPOINTMENT)

    assert response.status_code == 200
