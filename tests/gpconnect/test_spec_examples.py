"""The specification's example requests (GP Connect 1.2.7, the "Request/Response" sections of
each use case), replayed with our ids and dates, get answers shaped as its examples are:
the same resources, elements and extensions."""

import datetime as dt

import pytest

from gpconnect.auth import (
    BOOK_APPOINTMENT,
    CANCEL_APPOINTMENT,
    READ_APPOINTMENT,
    RETRIEVE_PATIENT_APPOINTMENTS,
    SEARCH_FREE_SLOTS,
    SEARCH_PATIENT,
)
from gpconnect.resources import (
    BOOKING_ORGANISATION_URL,
    CANCELLATION_REASON_URL,
    DELIVERY_CHANNEL_URL,
    PRACTITIONER_ROLE_URL,
)

from .door import BASE, booking, tomorrow_at

pytestmark = pytest.mark.django_db

# The elements of the specification's example responses (book_appt_response_example.json,
# search_for_free_slots_response_example.json).
APPOINTMENT_ELEMENTS = {
    "resourceType", "id", "meta", "contained", "extension", "status", "serviceCategory",
    "serviceType", "description", "start", "end", "slot", "created", "comment", "participant",
}  # fmt: skip
SLOT_ELEMENTS = {
    "resourceType", "id", "meta", "extension", "serviceType", "schedule", "status", "start", "end",
}  # fmt: skip
SCHEDULE_ELEMENTS = {
    "resourceType", "id", "meta", "extension", "serviceCategory", "actor", "planningHorizon",
}  # fmt: skip


def resources_of(bundle, kind):
    return [e["resource"] for e in bundle.get("entry", []) if e["resource"]["resourceType"] == kind]


def test_the_search_example_gets_slots_schedules_and_their_actors(fhir, morning):
    first, last = tomorrow_at(0).date(), tomorrow_at(0, days=3).date()
    # GET /Slot?status=free&start=ge2017-10-20&end=le2017-10-31&_include=Slot:schedule&... as
    # printed, with its searchFilters for a GP practice of ODS code A1001.
    response = fhir.get(
        f"{BASE}/Slot?status=free&start=ge{first}&end=le{last}&_include=Slot:schedule"
        "&_include:recurse=Schedule:actor:Practitioner&_include:recurse=Schedule:actor:Location"
        "&_include:recurse=Location:managingOrganization"
        "&searchFilter=https://fhir.nhs.uk/STU3/CodeSystem/GPConnect-OrganisationType-1|gp-practice"
        "&searchFilter=https://fhir.nhs.uk/Id/ods-organization-code|A1001",
        SEARCH_FREE_SLOTS,
    )

    assert response.status_code == 200
    bundle = response.json()
    slot = resources_of(bundle, "Slot")[0]
    assert set(slot) == SLOT_ELEMENTS
    assert [e["url"] for e in slot["extension"]] == [DELIVERY_CHANNEL_URL]
    schedule = resources_of(bundle, "Schedule")[0]
    assert set(schedule) == SCHEDULE_ELEMENTS
    assert [e["url"] for e in schedule["extension"]] == [PRACTITIONER_ROLE_URL]
    assert {a["reference"].split("/")[0] for a in schedule["actor"]} == {"Location", "Practitioner"}
    for kind in ("Practitioner", "Location", "Organization"):
        assert len(resources_of(bundle, kind)) == 1


def test_the_second_search_example_with_times_and_raw_offsets_is_understood(fhir, morning):
    # The page prints start=ge2019-03-29T12:00:00+00:00 unencoded: "+" arrives as a space.
    start = tomorrow_at(9).isoformat(timespec="seconds")
    end = tomorrow_at(12).isoformat(timespec="seconds")
    response = fhir.get(
        f"{BASE}/Slot?status=free&start=ge{start}&end=le{end}&_include=Slot:schedule"
        "&searchFilter=https://fhir.nhs.uk/STU3/CodeSystem/GPConnect-OrganisationType-1|gp-practice"
        "&searchFilter=https://fhir.nhs.uk/Id/ods-organization-code|A1001",
        SEARCH_FREE_SLOTS,
    )

    assert response.status_code == 200
    assert len(resources_of(response.json(), "Slot")) == 3


def test_the_book_example_gets_the_example_response(fhir, jane, morning):
    # book_appt_request_example.json, with our patient, slot, location and times.
    response = fhir.send(
        "POST", f"{BASE}/Appointment", BOOK_APPOINTMENT, booking(jane, morning[:1])
    )

    assert response.status_code == 201
    appointment = response.json()
    assert set(appointment) - {"minutesDuration"} == APPOINTMENT_ELEMENTS
    assert [e["url"] for e in appointment["extension"]] == [
        BOOKING_ORGANISATION_URL,
        PRACTITIONER_ROLE_URL,
        DELIVERY_CHANNEL_URL,
    ]
    assert appointment["contained"][0]["identifier"][0]["value"] == "RYA"


def test_the_read_example_gets_the_appointment(fhir, jane, morning):
    booked = fhir.send(
        "POST", f"{BASE}/Appointment", BOOK_APPOINTMENT, booking(jane, morning[:1])
    ).json()

    response = fhir.get(f"{BASE}/Appointment/{booked['id']}", READ_APPOINTMENT)

    assert set(response.json()) - {"minutesDuration"} == APPOINTMENT_ELEMENTS


def test_the_cancel_example_gets_a_cancelled_appointment_with_its_reason(fhir, jane, morning):
    booked = fhir.send(
        "POST", f"{BASE}/Appointment", BOOK_APPOINTMENT, booking(jane, morning[:1])
    ).json()
    # cancel_appt_request_example.json: the appointment as read, status cancelled, the reason.
    request = booked | {
        "status": "cancelled",
        "extension": [
            {"url": BOOKING_ORGANISATION_URL, "valueReference": {"reference": "#1"}},
            {"url": CANCELLATION_REASON_URL, "valueString": "Free text cancellation reason."},
        ],
    }

    response = fhir.send(
        "PUT",
        f"{BASE}/Appointment/{booked['id']}",
        CANCEL_APPOINTMENT,
        request,
        headers={"If-Match": 'W/"1"'},
    )

    assert response.status_code == 200
    cancelled = response.json()
    assert cancelled["status"] == "cancelled"
    assert {
        "url": CANCELLATION_REASON_URL,
        "valueString": "Free text cancellation reason.",
    } in cancelled["extension"]


def test_the_retrieve_example_gets_a_searchset_of_appointments(fhir, jane, morning):
    fhir.send("POST", f"{BASE}/Appointment", BOOK_APPOINTMENT, booking(jane, morning[:1]))
    today = tomorrow_at(0, days=0).date()
    # GET /Patient/1001/Appointment?start=ge2017-07-11&start=le2017-09-14, moved to today on.
    later = today + dt.timedelta(days=65)
    response = fhir.get(
        f"{BASE}/Patient/{jane.id}/Appointment?start=ge{today}&start=le{later}",
        RETRIEVE_PATIENT_APPOINTMENTS,
    )

    bundle = response.json()
    assert bundle["type"] == "searchset"
    assert [a["status"] for a in resources_of(bundle, "Appointment")] == ["booked"]


def test_the_find_a_patient_example_gets_the_patient_with_the_logical_id_to_book_with(fhir, jane):
    # GET /Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9476719931 with Jane's number.
    response = fhir.get(
        f"{BASE}/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|{jane.patient_profile.nhs_number}",
        SEARCH_PATIENT,
    )

    [patient] = resources_of(response.json(), "Patient")
    assert patient["id"] == str(jane.id)
    assert patient["name"][0]["use"] == "official"
    assert patient["managingOrganization"] == {"reference": "Organization/A81001"}
