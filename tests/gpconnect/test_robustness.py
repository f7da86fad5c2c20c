"""Whatever a consumer sends, the door answers with an OperationOutcome (never a 500 page),
changes nothing, and leaves an audit row."""

import pytest
from django.db import DatabaseError

from accounts.models import AuditEvent
from booking.models import Appointment
from gpconnect.auth import (
    AMEND_APPOINTMENT,
    BOOK_APPOINTMENT,
    CANCEL_APPOINTMENT,
    READ_APPOINTMENT,
    READ_METADATA,
    READ_PATIENT,
    RETRIEVE_PATIENT_APPOINTMENTS,
    SEARCH_FREE_SLOTS,
)
from gpconnect.resources import ORGANISATION_TYPE_SYSTEM
from tests.security.test_limits import with_rates

from .door import BASE, booking, tomorrow_at
from .fhir import outcome_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def booked(fhir, jane, morning):
    return fhir.send(
        "POST", f"{BASE}/Appointment", BOOK_APPOINTMENT, booking(jane, morning[:1])
    ).json()


@pytest.mark.parametrize("extension", [[1], "abc", 5, {"a": 1}, [None]])
def test_a_cancellation_with_nonsense_extensions_is_invalid_resource(fhir, booked, extension):
    body = booked | {"status": "cancelled", "extension": extension}

    response = fhir.send(
        "PUT",
        f"{BASE}/Appointment/{booked['id']}",
        CANCEL_APPOINTMENT,
        body,
        headers={"If-Match": 'W/"1"'},
    )

    assert response.status_code == 422
    assert outcome_code(response) == "INVALID_RESOURCE"
    assert Appointment.objects.get().status == "booked"


@pytest.mark.parametrize("start", [5, 1.5, "2030-01-01T10:00:00"])
def test_a_booking_whose_start_is_not_a_time_with_an_offset_is_invalid_resource(
    fhir, jane, morning, start
):
    response = fhir.send(
        "POST", f"{BASE}/Appointment", BOOK_APPOINTMENT, booking(jane, morning[:1], start=start)
    )

    assert response.status_code == 422
    assert outcome_code(response) == "INVALID_RESOURCE"
    assert not Appointment.objects.exists()


def test_a_search_at_the_end_of_time_is_invalid_parameter(fhir, db):
    response = fhir.get(
        f"{BASE}/Slot?status=free&start=ge9999-12-31&end=le9999-12-31&_include=Slot:schedule",
        SEARCH_FREE_SLOTS,
    )

    assert response.status_code == 422
    assert outcome_code(response) == "INVALID_PARAMETER"


def test_a_patients_appointments_to_the_end_of_time_is_invalid_parameter(fhir, jane):
    today = tomorrow_at(0, days=0).date()

    response = fhir.get(
        f"{BASE}/Patient/{jane.id}/Appointment?start=ge{today}&start=le9999-12-31",
        RETRIEVE_PATIENT_APPOINTMENTS,
    )

    assert response.status_code == 422
    assert outcome_code(response) == "INVALID_PARAMETER"


@pytest.mark.parametrize("scope", [["patient/*.read"], {"a": 1}])
def test_a_scope_that_is_not_a_string_is_a_bad_request(fhir, db, scope):
    response = fhir.get(
        f"{BASE}/metadata", READ_METADATA, claims_overrides={"requested_scope": scope}
    )

    assert response.status_code == 400
    assert outcome_code(response) == "BAD_REQUEST"


def test_a_booking_for_another_organisation_than_the_token_names_is_refused(fhir, jane, morning):
    body = booking(jane, morning[:1])
    body["contained"][0]["identifier"][0]["value"] = "A20047"

    response = fhir.send("POST", f"{BASE}/Appointment", BOOK_APPOINTMENT, body)

    assert response.status_code == 422
    assert outcome_code(response) == "INVALID_RESOURCE"
    assert not Appointment.objects.exists()


def test_the_booking_organisations_type_comes_back_with_the_appointment(fhir, booked):
    [organisation] = booked["contained"]

    assert organisation["type"][0]["coding"][0] == {
        "system": ORGANISATION_TYPE_SYSTEM,
        "code": "urgent-care",
    }


def test_a_method_the_door_does_not_serve_is_refused_and_audited(fhir, db):
    response = fhir.send("DELETE", f"{BASE}/metadata", READ_METADATA, {})

    assert response.status_code == 400
    assert outcome_code(response) == "BAD_REQUEST"
    assert AuditEvent.objects.get().action == "gpconnect.unsupported"


def test_an_interaction_the_door_does_not_serve_is_not_implemented_and_audited(fhir, db):
    response = fhir.get(f"{BASE}/Organization?identifier=x", READ_METADATA)

    assert response.status_code == 501
    assert outcome_code(response) == "NOT_IMPLEMENTED"
    assert not AuditEvent.objects.get().allowed


def test_a_failure_of_ours_is_an_internal_server_error_outcome_and_audited(
    fhir, jane, morning, monkeypatch
):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("gpconnect.views.book_slots", broken)

    response = fhir.send(
        "POST", f"{BASE}/Appointment", BOOK_APPOINTMENT, booking(jane, morning[:1])
    )

    assert response.status_code == 500
    assert outcome_code(response) == "INTERNAL_SERVER_ERROR"
    event = AuditEvent.objects.get()
    assert (event.action, event.allowed, event.patient_id) == (
        "gpconnect.appointment.book",
        False,
        jane.pk,
    )


def test_a_consumer_system_over_its_rate_is_told_when_to_come_back(fhir, db, settings):
    with_rates(settings, gpconnect="2/min")

    answers = [fhir.get(f"{BASE}/metadata", READ_METADATA) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert int(answers[2]["Retry-After"]) >= 1
    assert answers[2].json()["issue"][0]["code"] == "throttled"
    assert [event.allowed for event in AuditEvent.objects.order_by("id")] == [True, True, False]


@pytest.mark.parametrize(
    "path",
    ["/gpconnect/fhir/%00", "/gpconnect/fhir/Appointment/a%00b", "/gpconnect/fhir/Patient/%00"],
)
def test_a_nul_in_the_address_is_a_bad_request_and_still_audited(fhir, db, path):
    response = fhir.get(path, READ_APPOINTMENT)

    assert response.status_code in (400, 501)
    assert outcome_code(response) in ("BAD_REQUEST", "NOT_IMPLEMENTED")
    assert AuditEvent.objects.get().allowed is False


def test_a_nul_in_a_search_filter_is_a_bad_request(fhir, db):
    response = fhir.get(
        f"{BASE}/Slot?status=free&start=ge2030-01-01&end=le2030-01-02&_include=Slot:schedule"
        "&searchFilter=https://fhir.nhs.uk/Id/ods-organization-code|A%00B",
        SEARCH_FREE_SLOTS,
    )

    assert response.status_code == 400
    assert outcome_code(response) == "BAD_REQUEST"


def test_a_nul_in_the_booking_is_a_bad_request(fhir, jane, morning):
    response = fhir.send(
        "POST",
        f"{BASE}/Appointment",
        BOOK_APPOINTMENT,
        booking(jane, morning[:1], description="Chest\u0000pain"),
    )

    assert response.status_code == 400
    assert not Appointment.objects.exists()


@pytest.mark.parametrize("claim", ["iss", "sub"])
def test_a_nul_in_a_token_claim_is_a_bad_request(fhir, db, claim, consumer_system):
    value = (consumer_system.client_id if claim == "iss" else "10019") + "\u0000"

    response = fhir.get(f"{BASE}/metadata", READ_METADATA, claims_overrides={claim: value})

    assert response.status_code == 400
    assert outcome_code(response) == "BAD_REQUEST"


def test_an_if_match_of_other_digits_is_a_stale_version(fhir, booked):
    response = fhir.send(
        "PUT",
        f"{BASE}/Appointment/{booked['id']}",
        AMEND_APPOINTMENT,
        booked | {"comment": "x"},
        headers={"If-Match": 'W/"\u00b2"'},
    )

    assert response.status_code == 409
    assert outcome_code(response) == "FHIR_CONSTRAINT_VIOLATION"


def test_extensions_nested_hundreds_deep_are_invalid_resource(fhir, jane, morning):
    nested: dict = {"url": "https://example.org/x", "valueString": "deep"}
    for _ in range(300):
        nested = {"url": "https://example.org/x", "extension": [nested]}
    body = booking(jane, morning[:1])
    body["extension"].append(nested)

    response = fhir.send("POST", f"{BASE}/Appointment", BOOK_APPOINTMENT, body)

    assert response.status_code in (400, 422)
    assert not Appointment.objects.exists()


def test_a_system_held_to_its_organisations_cannot_book_for_another(
    fhir, jane, morning, consumer_system
):
    consumer_system.organisations = ["A82002"]
    consumer_system.save()

    response = fhir.send(
        "POST", f"{BASE}/Appointment", BOOK_APPOINTMENT, booking(jane, morning[:1])
    )

    assert response.status_code == 403
    assert outcome_code(response) == "ACCESS_DENIED"
    assert not Appointment.objects.exists()


def test_a_patient_without_names_is_still_valid_fhir(fhir, jane):
    type(jane).objects.filter(pk=jane.pk).update(given_name="", family_name="")

    response = fhir.get(f"{BASE}/Patient/{jane.id}", READ_PATIENT)

    assert response.status_code == 200
    assert response.json()["name"] == [{"use": "official"}]


def test_a_flood_of_unidentified_requests_stops_filling_the_audit_trail(client, db, settings):
    with_rates(settings, gpconnect_refused="3/min")

    answers = [client.get(f"{BASE}/metadata") for _ in range(5)]

    assert [answer.status_code for answer in answers] == [400, 400, 400, 429, 429]
    assert AuditEvent.objects.count() == 3


def test_an_answer_whose_audit_row_cannot_be_written_is_an_error(fhir, booked, monkeypatch):
    def broken(*args, **kwargs):
        raise DatabaseError("the audit table is gone")

    monkeypatch.setattr("gpconnect.views.record_interaction", broken)

    response = fhir.get(f"{BASE}/Appointment/{booked['id']}", READ_APPOINTMENT)

    assert response.status_code == 500
    assert outcome_code(response) == "INTERNAL_SERVER_ERROR"
    assert booked["id"] not in response.content.decode()
