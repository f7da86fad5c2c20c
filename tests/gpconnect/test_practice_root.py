"""One practice's service root, /gpconnect/<ODS>/fhir, as the Spine directory lists each
practice's endpoint: every interaction through it sees that practice only."""

import pytest

from booking.models import Appointment
from gpconnect.auth import BOOK_APPOINTMENT, READ_APPOINTMENT, SEARCH_FREE_SLOTS
from tests.factories import ClinicianFactory, PracticeFactory, SlotFactory, gp_connect_bookable

from .door import BASE, booking, tomorrow_at
from .fhir import outcome_code

pytestmark = pytest.mark.django_db

RIVERSIDE = "/gpconnect/A81001/fhir"


def aud(root):
    return {"aud": f"http://testserver{root}"}


@pytest.fixture
def hilltop_slot(db):
    """Hilltop Surgery (B82002) takes GP Connect too, and has a slot tomorrow at 10:00."""
    hilltop = PracticeFactory(ods_code="B82002", name="Hilltop Surgery")
    gp_connect_bookable(hilltop)
    return SlotFactory(
        practice=hilltop,
        clinician=ClinicianFactory(practice=hilltop),
        start=tomorrow_at(10),
        end=tomorrow_at(10, 10),
    )


def search(fhir, root):
    day = tomorrow_at(0).date()
    return fhir.get(
        f"{root}/Slot?status=free&start=ge{day}&end=le{day}&_include=Slot:schedule",
        SEARCH_FREE_SLOTS,
        claims_overrides=aud(root),
    )


def test_a_practices_root_offers_only_its_own_slots(fhir, morning, hilltop_slot):
    everyone = search(fhir, BASE).content.decode()
    riverside = search(fhir, RIVERSIDE).content.decode()

    assert str(hilltop_slot.id) in everyone
    assert str(hilltop_slot.id) not in riverside
    assert all(str(slot.id) in riverside for slot in morning)


def test_another_practices_slot_cannot_be_booked_through_a_practices_root(
    fhir, jane, morning, hilltop_slot
):
    body = booking(jane, morning[:1])
    body["slot"] = [{"reference": f"Slot/{hilltop_slot.id}"}]

    response = fhir.send(
        "POST",
        f"{RIVERSIDE}/Appointment",
        BOOK_APPOINTMENT,
        body,
        claims_overrides=aud(RIVERSIDE),
    )

    assert response.status_code == 422
    assert outcome_code(response) == "REFERENCE_NOT_FOUND"
    assert not Appointment.objects.exists()


def test_an_appointment_elsewhere_is_not_found_through_a_practices_root(fhir, jane, morning):
    booked = fhir.send("POST", f"{BASE}/Appointment", BOOK_APPOINTMENT, booking(jane, morning[:1]))
    hilltop = "/gpconnect/B82002/fhir"
    PracticeFactory(ods_code="B82002", gp_connect_enabled=True)

    response = fhir.get(
        f"{hilltop}/Appointment/{booked.json()['id']}",
        READ_APPOINTMENT,
        claims_overrides=aud(hilltop),
    )

    assert response.status_code == 404
    assert outcome_code(response) == "NO_RECORD_FOUND"


def test_a_root_naming_no_practice_on_gp_connect_is_organisation_not_found(fhir, db):
    PracticeFactory(ods_code="C83003")  # GP Connect off
    root = "/gpconnect/C83003/fhir"

    response = fhir.get(
        f"{root}/metadata",
        "urn:nhs:names:services:gpconnect:fhir:rest:read:metadata-1",
        claims_overrides=aud(root),
    )

    assert response.status_code == 404
    assert outcome_code(response) == "ORGANISATION_NOT_FOUND"
