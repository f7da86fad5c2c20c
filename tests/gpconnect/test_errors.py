"""GP Connect's error answers: the OperationOutcome body, the Spine codes with their statuses,
and how the booking core's refusals are told to another organisation's system."""

import orjson
import pytest

from core.exceptions import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    RuleViolation,
)
from gpconnect.errors import (
    OPERATION_OUTCOME_PROFILE,
    SPINE_CODES,
    SPINE_ERROR_SYSTEM,
    FhirError,
    error_response,
    fhir_response,
    from_domain_error,
    operation_outcome,
)


def test_an_operation_outcome_has_the_gp_connect_profile_and_one_spine_coded_issue():
    error = FhirError("BAD_REQUEST", "The Ssp-TraceID header is missing.")

    assert operation_outcome(error) == {
        "resourceType": "OperationOutcome",
        "meta": {"profile": [OPERATION_OUTCOME_PROFILE]},
        "issue": [
            {
                "severity": "error",
                "code": "invalid",
                "details": {
                    "coding": [
                        {
                            "system": "https://fhir.nhs.uk/STU3/CodeSystem/Spine-ErrorOrWarningCode-1",
                            "code": "BAD_REQUEST",
                            "display": "Bad request",
                        }
                    ]
                },
                "diagnostics": "The Ssp-TraceID header is missing.",
            }
        ],
    }


def test_an_outcome_without_diagnostics_has_no_empty_diagnostics_element():
    issue = operation_outcome(FhirError("NO_RECORD_FOUND"))["issue"][0]

    assert "diagnostics" not in issue


@pytest.mark.parametrize(
    ("code", "status", "issue_code"),
    [
        ("BAD_REQUEST", 400, "invalid"),
        ("INVALID_RESOURCE", 422, "invalid"),
        ("INVALID_PARAMETER", 422, "invalid"),
        ("REFERENCE_NOT_FOUND", 422, "invalid"),
        ("INVALID_IDENTIFIER_SYSTEM", 400, "value"),
        ("INVALID_NHS_NUMBER", 400, "value"),
        ("NO_RECORD_FOUND", 404, "not-found"),
        ("PATIENT_NOT_FOUND", 404, "not-found"),
        ("ACCESS_DENIED", 403, "forbidden"),
        ("DUPLICATE_REJECTED", 409, "duplicate"),
        ("FHIR_CONSTRAINT_VIOLATION", 409, "conflict"),
        ("NOT_IMPLEMENTED", 501, "not-supported"),
        ("INTERNAL_SERVER_ERROR", 500, "processing"),
    ],
)
def test_each_spine_code_has_the_status_and_issue_type_the_spec_gives_it(code, status, issue_code):
    error = FhirError(code, "why")

    assert (error.status, error.issue_code) == (status, issue_code)
    assert error.display == SPINE_CODES[code].display


def test_a_code_the_spec_does_not_have_is_a_programming_error():
    with pytest.raises(KeyError):
        FhirError("NOT_A_SPINE_CODE")


def test_the_coding_system_is_the_code_system_not_the_value_set():
    assert SPINE_ERROR_SYSTEM == "https://fhir.nhs.uk/STU3/CodeSystem/Spine-ErrorOrWarningCode-1"


@pytest.mark.parametrize(
    ("refusal", "status", "code"),
    [
        # The book page: slots no longer free => 409 DUPLICATE_REJECTED.
        (Conflict("This slot has just been booked.", code="slot_taken"), 409, "DUPLICATE_REJECTED"),
        # References in a booked Appointment that resolve to nothing.
        (NotFound("There is no such slot.", code="slot_not_found"), 422, "REFERENCE_NOT_FOUND"),
        (NotFound("No such patient.", code="patient_not_found"), 422, "REFERENCE_NOT_FOUND"),
        (NotFound("No such practice.", code="practice_not_found"), 404, "ORGANISATION_NOT_FOUND"),
        (NotFound("No such appointment.", code="appointment_not_found"), 404, "NO_RECORD_FOUND"),
        # An out-of-date If-Match: 409 as the FHIR API guidance and the assurance tests say.
        (
            PreconditionFailed("Changed since.", code="stale_version"),
            409,
            "FHIR_CONSTRAINT_VIOLATION",
        ),
        (Conflict("Overlaps.", code="overlapping_appointment"), 409, "FHIR_CONSTRAINT_VIOLATION"),
        # Amending a cancelled appointment: "422 error with error code INVALID_RESOURCE".
        (RuleViolation("Cancelled.", code="appointment_cancelled"), 422, "INVALID_RESOURCE"),
        (RuleViolation("Too soon.", code="too_soon"), 422, "INVALID_RESOURCE"),
        (InvalidInput("Too long.", code="validation_error"), 422, "INVALID_RESOURCE"),
        (Forbidden("Not yours.", code="not_booked_by_organisation"), 403, "ACCESS_DENIED"),
    ],
)
def test_a_booking_core_refusal_becomes_the_matching_spine_error(refusal, status, code):
    error = from_domain_error(refusal)

    assert (error.status, error.code) == (status, code)


def test_the_core_refusals_sentence_is_the_diagnostics():
    error = from_domain_error(RuleViolation("This appointment starts too soon.", code="too_soon"))

    assert error.diagnostics == "This appointment starts too soon."


def test_a_fhir_response_is_fhir_json_in_utf_8_and_never_cached():
    response = fhir_response(
        {"resourceType": "Bundle", "type": "searchset"}, headers={"ETag": 'W/"1"'}
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json;charset=utf-8"
    assert response["Cache-Control"] == "no-store"
    assert response["ETag"] == 'W/"1"'
    assert orjson.loads(response.content) == {"resourceType": "Bundle", "type": "searchset"}


def test_an_error_response_carries_the_errors_status_and_outcome():
    error = FhirError("DUPLICATE_REJECTED", "Slot/12 is no longer free.")

    response = error_response(error)

    assert response.status_code == 409
    assert response["Cache-Control"] == "no-store"
    assert orjson.loads(response.content) == operation_outcome(error)
