"""Book, read, amend and cancel an appointment, and a patient's appointments, through GP
Connect: the same booking core as the REST API, the specification's answers."""

import datetime as dt

import pytest

from accounts.models import AuditEvent
from booking.models import Appointment, AppointmentHistory, AppointmentStatus, Notification, Source
from gpconnect.auth import (
    AMEND_APPOINTMENT,
    BOOK_APPOINTMENT,
    CANCEL_APPOINTMENT,
    READ_APPOINTMENT,
    READ_PATIENT,
    RETRIEVE_PATIENT_APPOINTMENTS,
    SEARCH_PATIENT,
)
from gpconnect.resources import BOOKING_ORGANISATION_URL, CANCELLATION_REASON_URL
from practices.models import ExternalBookability, SlotStatus
from tests.factories import ClinicianFactory, PatientFactory, SlotFactory

from .door import BASE, booking, tomorrow_at
from .fhir import outcome_code

pytestmark = pytest.mark.django_db


def book(fhir, body, **options):
    return fhir.send("POST", f"{BASE}/Appointment", BOOK_APPOINTMENT, body, **options)


@pytest.fixture
def booked(fhir, jane, morning):
    """Jane's appointment in Dr Okafor's first slot, booked by NHS 111."""
    response = book(fhir, booking(jane, morning[:1]))
    assert response.status_code == 201, response.content
    return response.json()


def put(fhir, resource, interaction, *, version=None, **options):
    etag = f'W/"{resource["meta"]["versionId"] if version is None else version}"'
    return fhir.send(
        "PUT",
        f"{BASE}/Appointment/{resource['id']}",
        interaction,
        resource,
        headers={"If-Match": etag},
        **options,
    )


# Book


def test_nhs_111_books_jane_into_a_free_slot(fhir, jane, morning):
    response = book(fhir, booking(jane, morning[:1]))

    assert response.status_code == 201
    body = response.json()
    appointment = Appointment.objects.get()
    assert body["id"] == str(appointment.id)
    assert body["status"] == "booked"
    assert body["meta"]["versionId"] == "1"
    assert response["Location"] == (
        f"http://testserver{BASE}/Appointment/{appointment.id}/_history/1"
    )
    assert response["ETag"] == 'W/"1"'
    assert body["slot"] == [{"reference": f"Slot/{morning[0].id}"}]
    assert appointment.patient == jane
    assert appointment.description == "Chest pain after a fall"
    assert appointment.booking_organisation_ods == "RYA"
    assert appointment.booking_organisation_name == "NHS 111 North West"
    morning[0].refresh_from_db()
    assert morning[0].status == SlotStatus.BOOKED


def test_the_booking_is_an_ordinary_appointment_with_its_history_and_confirmation(
    fhir, jane, morning
):
    book(fhir, booking(jane, morning[:1]))

    appointment = Appointment.objects.get()
    history = AppointmentHistory.objects.get(appointment=appointment)
    assert history.source == Source.GP_CONNECT
    assert Notification.objects.filter(appointment=appointment).exists()
    assert appointment in Appointment.objects.visible_to(jane)


def test_adjacent_slots_of_one_schedule_make_one_appointment(fhir, jane, morning):
    response = book(fhir, booking(jane, morning[:2]))

    assert response.status_code == 201
    body = response.json()
    assert [s["reference"] for s in body["slot"]] == [f"Slot/{s.id}" for s in morning[:2]]
    assert body["end"] == tomorrow_at(10, 20).isoformat(timespec="seconds")
    appointment = Appointment.objects.get()
    assert appointment.end == morning[1].end
    assert {s.status for s in (morning[0], morning[1])} == {SlotStatus.FREE}  # stale copies
    for slot in morning[:2]:
        slot.refresh_from_db()
        assert slot.status == SlotStatus.BOOKED


def test_slots_that_are_not_adjacent_are_refused(fhir, jane, morning):
    response = book(fhir, booking(jane, [morning[0], morning[2]]))

    assert response.status_code == 422
    assert outcome_code(response) == "INVALID_RESOURCE"
    assert not Appointment.objects.exists()


def test_a_slot_already_booked_is_duplicate_rejected(fhir, jane, morning, booked):
    other = PatientFactory()
    other.patient_profile.registered_practice = morning[0].practice
    other.patient_profile.save()

    response = book(fhir, booking(other, morning[:1]))

    assert response.status_code == 409
    assert outcome_code(response) == "DUPLICATE_REJECTED"
    assert Appointment.objects.count() == 1


def test_an_unknown_patient_is_a_reference_not_found_and_no_account_is_made(fhir, jane, morning):
    stranger = PatientFactory()  # registered nowhere
    users_before = type(stranger).objects.count()

    response = book(fhir, booking(stranger, morning[:1]))

    assert response.status_code == 422
    assert outcome_code(response) == "REFERENCE_NOT_FOUND"
    assert type(stranger).objects.count() == users_before
    assert not Appointment.objects.exists()


def test_a_slot_that_does_not_exist_is_a_reference_not_found(fhir, jane, morning):
    body = booking(jane, morning[:1])
    body["slot"] = [{"reference": "Slot/5a1b8f0e-0000-4000-8000-000000000000"}]

    response = book(fhir, body)

    assert response.status_code == 422
    assert outcome_code(response) == "REFERENCE_NOT_FOUND"


@pytest.mark.parametrize(
    "change",
    [
        {"slot": [{"reference": "Slot/hello"}]},
        {"reason": [{"text": "Chest pain"}]},
        {"status": "proposed"},
        {"description": "x" * 101},
        {"comment": "x" * 501},
        {"priority": 1, "unknownElement": True},
        {"participant": [{"actor": {"reference": "Location/A81001"}, "status": "accepted"}]},
        {"extension": []},
    ],
    ids=[
        "bad slot reference",
        "reason",
        "not booked",
        "long description",
        "long comment",
        "unknown element",
        "no patient",
        "no booking organisation",
    ],
)
def test_an_invalid_booking_is_invalid_resource_and_books_nothing(fhir, jane, morning, change):
    body = booking(jane, morning[:1])
    body.update(change)

    response = book(fhir, body)

    assert response.status_code == 422
    assert outcome_code(response) == "INVALID_RESOURCE"
    assert not Appointment.objects.exists()


def test_a_booking_whose_times_are_not_its_slots_is_refused(fhir, jane, morning):
    body = booking(jane, morning[:1])
    body["end"] = tomorrow_at(10, 30).isoformat()

    response = book(fhir, body)

    assert response.status_code == 422
    assert outcome_code(response) == "INVALID_RESOURCE"


def test_a_body_that_is_not_json_is_a_bad_request(fhir, morning):
    response = book(fhir, "{not json")

    assert response.status_code == 400
    assert outcome_code(response) == "BAD_REQUEST"


def test_prefer_return_minimal_answers_without_a_body(fhir, jane, morning):
    response = book(fhir, booking(jane, morning[:1]), headers={"Prefer": "return=minimal"})

    assert response.status_code == 201
    assert response.content == b""
    assert response["Location"].endswith("/_history/1")


# Read


def test_a_consumer_reads_an_appointment(fhir, booked):
    response = fhir.get(f"{BASE}/Appointment/{booked['id']}", READ_APPOINTMENT)

    assert response.status_code == 200
    assert response.json() == booked
    assert response["ETag"] == 'W/"1"'


@pytest.mark.parametrize(
    "appointment_id", ["Invalid4321", "8888888888", "5a1b8f0e-0000-4000-8000-000000000000"]
)
def test_reading_an_unknown_appointment_is_not_found(fhir, appointment_id):
    response = fhir.get(f"{BASE}/Appointment/{appointment_id}", READ_APPOINTMENT)

    assert response.status_code == 404
    assert outcome_code(response) == "NO_RECORD_FOUND"


def test_an_appointment_booked_at_the_practice_reads_too(fhir, jane, morning):
    from booking.services import Actor, book_appointment

    appointment = book_appointment(actor=Actor(jane), slot_id=morning[2].id)

    response = fhir.get(f"{BASE}/Appointment/{appointment.id}", READ_APPOINTMENT)

    assert response.status_code == 200
    assert BOOKING_ORGANISATION_URL not in response.content.decode()


# Amend


def test_a_consumer_amends_the_description_and_comment(fhir, booked):
    changed = booked | {"description": "Chest pain, worse", "comment": "Bring medication list."}

    response = put(fhir, changed, AMEND_APPOINTMENT)

    assert response.status_code == 200
    assert response.json()["description"] == "Chest pain, worse"
    assert response.json()["meta"]["versionId"] == "2"
    appointment = Appointment.objects.get()
    assert appointment.comment == "Bring medication list."


def test_amending_anything_else_is_invalid_resource(fhir, booked):
    changed = booked | {"priority": 1}

    response = put(fhir, changed, AMEND_APPOINTMENT)

    assert response.status_code == 422
    assert outcome_code(response) == "INVALID_RESOURCE"
    assert Appointment.objects.get().version == 1


def test_an_amendment_against_an_old_version_is_a_conflict(fhir, booked):
    response = put(fhir, booked | {"description": "Later"}, AMEND_APPOINTMENT, version=7)

    assert response.status_code == 409
    assert outcome_code(response) == "FHIR_CONSTRAINT_VIOLATION"
    assert Appointment.objects.get().description == "Chest pain after a fall"


def test_an_amendment_without_if_match_is_a_bad_request(fhir, booked):
    response = fhir.send(
        "PUT", f"{BASE}/Appointment/{booked['id']}", AMEND_APPOINTMENT, booked | {"comment": "x"}
    )

    assert response.status_code == 400
    assert outcome_code(response) == "BAD_REQUEST"


# Cancel


def cancelled(resource, reason="Patient feels better."):
    return resource | {
        "status": "cancelled",
        "extension": [
            *resource["extension"],
            {"url": CANCELLATION_REASON_URL, "valueString": reason},
        ],
    }


def test_a_consumer_cancels_and_the_slot_is_free_again(fhir, booked, morning):
    response = put(fhir, cancelled(booked), CANCEL_APPOINTMENT)

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "cancelled"
    assert {"url": CANCELLATION_REASON_URL, "valueString": "Patient feels better."} in body[
        "extension"
    ]
    assert body["meta"]["versionId"] == "2"
    appointment = Appointment.objects.get()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert appointment.cancellation_reason == "Patient feels better."
    morning[0].refresh_from_db()
    assert morning[0].status == SlotStatus.FREE


def test_cancelling_frees_every_slot_of_a_longer_appointment(fhir, jane, morning):
    resource = book(fhir, booking(jane, morning)).json()

    put(fhir, cancelled(resource), CANCEL_APPOINTMENT)

    for slot in morning:
        slot.refresh_from_db()
        assert slot.status == SlotStatus.FREE


def test_a_cancellation_that_changes_the_comment_is_invalid_resource(fhir, booked):
    response = put(fhir, cancelled(booked) | {"comment": "Changed"}, CANCEL_APPOINTMENT)

    assert response.status_code == 422
    assert outcome_code(response) == "INVALID_RESOURCE"
    assert Appointment.objects.get().status == AppointmentStatus.BOOKED


def test_a_cancellation_without_a_reason_is_invalid_parameter(fhir, booked):
    response = put(fhir, cancelled(booked, reason=""), CANCEL_APPOINTMENT)

    assert response.status_code == 422
    assert outcome_code(response) == "INVALID_PARAMETER"


def test_a_cancellation_against_an_old_version_is_a_conflict(fhir, booked):
    response = put(fhir, cancelled(booked), CANCEL_APPOINTMENT, version=9)

    assert response.status_code == 409
    assert outcome_code(response) == "FHIR_CONSTRAINT_VIOLATION"


def test_a_cancelled_appointment_cannot_be_amended(fhir, booked):
    after = put(fhir, cancelled(booked), CANCEL_APPOINTMENT).json()

    response = put(fhir, after | {"comment": "x"}, AMEND_APPOINTMENT)

    assert response.status_code == 422
    assert outcome_code(response) == "INVALID_RESOURCE"


def test_an_appointment_the_practice_booked_can_be_cancelled_by_a_consumer(fhir, jane, morning):
    # "Any future appointment, irrespective of booking organisation" (the cancel page).
    from booking.services import Actor, book_appointment

    appointment = book_appointment(actor=Actor(jane), slot_id=morning[2].id)
    resource = fhir.get(f"{BASE}/Appointment/{appointment.id}", READ_APPOINTMENT).json()

    response = put(fhir, cancelled(resource), CANCEL_APPOINTMENT)

    assert response.status_code == 200


# A patient's appointments


def test_it_lists_a_patients_appointments_in_the_range_cancelled_ones_too(fhir, jane, morning):
    first = book(fhir, booking(jane, morning[:1])).json()
    put(fhir, cancelled(first), CANCEL_APPOINTMENT)
    second = book(fhir, booking(jane, morning[1:2])).json()
    today = tomorrow_at(0, days=0).date()
    later = today + dt.timedelta(days=3)

    response = fhir.get(
        f"{BASE}/Patient/{jane.id}/Appointment?start=ge{today}&start=le{later}",
        RETRIEVE_PATIENT_APPOINTMENTS,
    )

    assert response.status_code == 200
    ids = [entry["resource"]["id"] for entry in response.json()["entry"]]
    assert ids == [first["id"], second["id"]]


@pytest.mark.parametrize(
    "query",
    [
        "start=ge2010-01-01&start=le2010-01-02",
        "start=ge{today}",
        "start=ge{today}&start=lt{today}",
        "start=ge{today}T10:00:00%2B00:00&start=le{today}",
    ],
)
def test_a_bad_date_range_is_invalid_parameter(fhir, jane, query):
    today = tomorrow_at(0, days=0).date()

    response = fhir.get(
        f"{BASE}/Patient/{jane.id}/Appointment?" + query.format(today=today),
        RETRIEVE_PATIENT_APPOINTMENTS,
    )

    assert response.status_code == 422
    assert outcome_code(response) == "INVALID_PARAMETER"


def test_an_unknown_patient_has_no_appointments_to_list(fhir, db):
    response = fhir.get(
        f"{BASE}/Patient/dd/Appointment?start=ge2030-01-01&start=le2030-01-02",
        RETRIEVE_PATIENT_APPOINTMENTS,
    )

    assert response.status_code == 404
    assert outcome_code(response) == "PATIENT_NOT_FOUND"


# Find a patient


def test_a_consumer_finds_jane_by_her_nhs_number(fhir, jane):
    nhs_number = jane.patient_profile.nhs_number

    response = fhir.get(
        f"{BASE}/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number%7C{nhs_number}",
        SEARCH_PATIENT,
    )

    assert response.status_code == 200
    [entry] = response.json()["entry"]
    assert entry["resource"]["id"] == str(jane.id)
    assert entry["resource"]["identifier"][0]["value"] == nhs_number


def test_an_unconfirmed_nhs_number_finds_nobody(fhir, jane):
    jane.patient_profile.nhs_number_confirmed_at = None
    jane.patient_profile.save()

    response = fhir.get(
        f"{BASE}/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number%7C{jane.patient_profile.nhs_number}",
        SEARCH_PATIENT,
    )

    assert response.status_code == 200
    assert "entry" not in response.json() or response.json()["entry"] == []


@pytest.mark.parametrize(
    ("identifier", "code"),
    [
        ("https://fhir.nhs.uk/Id/nhs-number%7C1234567890", "INVALID_NHS_NUMBER"),
        ("https://example.org/Id/other%7C9476719931", "INVALID_IDENTIFIER_SYSTEM"),
    ],
)
def test_a_bad_identifier_is_refused(fhir, db, identifier, code):
    response = fhir.get(f"{BASE}/Patient?identifier={identifier}", SEARCH_PATIENT)

    assert response.status_code == 400
    assert outcome_code(response) == code


# The audit trail


def test_every_interaction_about_jane_is_in_her_access_log_with_the_organisation(
    fhir, jane, booked
):
    fhir.get(f"{BASE}/Appointment/{booked['id']}", READ_APPOINTMENT)

    events = AuditEvent.objects.filter(patient=jane).order_by("id")
    assert [event.action for event in events] == [
        "gpconnect.appointment.book",
        "gpconnect.appointment.read",
    ]
    assert {event.organisation for event in events} == {"NHS 111 North West (RYA)"}
    assert all(event.allowed for event in events)


def test_a_refused_interaction_is_audited_too(fhir, jane, morning):
    book(fhir, booking(jane, morning[:1]), claims_overrides={"reason_for_request": "secondaryuses"})

    event = AuditEvent.objects.get()
    assert event.action == "gpconnect.appointment.book"
    assert not event.allowed


def test_another_practices_clinician_cannot_make_a_schedule_with_ours(
    fhir, jane, riverside, morning
):
    other = SlotFactory(
        practice=riverside,
        clinician=ClinicianFactory(practice=riverside),
        start=morning[0].end,
        end=morning[0].end + dt.timedelta(minutes=10),
    )

    response = book(fhir, booking(jane, [morning[0], other]))

    assert response.status_code == 422
    assert not Appointment.objects.exists()


def test_a_booking_past_the_practices_daily_limit_is_invalid_resource(
    fhir, jane, riverside, morning
):
    setting = ExternalBookability.objects.get(slot_type__practice=riverside)
    setting.daily_limit = 1
    setting.save()
    other = PatientFactory(profile__registered_practice=riverside)
    book(fhir, booking(other, morning[:1]))

    response = book(fhir, booking(jane, morning[1:2]))

    assert response.status_code == 422
    assert outcome_code(response) == "INVALID_RESOURCE"
    assert "no more bookings" in response.json()["issue"][0]["diagnostics"]


def test_a_consumer_reads_jane_by_her_logical_id(fhir, jane):
    response = fhir.get(f"{BASE}/Patient/{jane.id}", READ_PATIENT)

    assert response.status_code == 200
    assert response.json()["identifier"][0]["value"] == jane.patient_profile.nhs_number
    assert response["ETag"] == f'W/"{response.json()["meta"]["versionId"]}"'
    assert AuditEvent.objects.get().patient == jane


@pytest.mark.parametrize("patient_id", ["dd", "5a1b8f0e-0000-4000-8000-000000000000"])
def test_reading_a_patient_not_registered_here_is_patient_not_found(fhir, db, patient_id):
    response = fhir.get(f"{BASE}/Patient/{patient_id}", READ_PATIENT)

    assert response.status_code == 404
    assert outcome_code(response) == "PATIENT_NOT_FOUND"
