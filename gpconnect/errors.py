"""GP Connect's errors: an OperationOutcome with a Spine error code, and the HTTP status the
specification pairs with it.

The codes, statuses and issue types are those of the GP Connect 1.2.7 error handling page
(pages/development/development_fhir_error_handling_guidance.md). Each ``display`` is the one the
Spine-ErrorOrWarningCode-1 CodeSystem gives the code (nhsconnect/gpconnect-fhir, version 1.4.0):
a Coding's display is its code system's, and the page's own tables and examples disagree with
each other. ACCESS_DENIED is spelt as the 1.2.7 pages spell it (the CodeSystem, and 1.2.9, have
"ACCESS DENIED" with a space); its display is the page's.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from django.http import HttpResponse

from core.exceptions import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PreconditionFailed,
    RuleViolation,
)

OPERATION_OUTCOME_PROFILE = (
    "https://fhir.nhs.uk/STU3/StructureDefinition/GPConnect-OperationOutcome-1"
)
# The CodeSystem's URL: the error page's examples name the ValueSet instead, which a
# Coding.system cannot be (the structured record's version-compatibility page uses this one).
SPINE_ERROR_SYSTEM = "https://fhir.nhs.uk/STU3/CodeSystem/Spine-ErrorOrWarningCode-1"
FHIR_JSON = "application/fhir+json;charset=utf-8"


@dataclass(frozen=True)
class SpineCode:
    status: int
    display: str
    issue_code: str  # FHIR STU3 issue-type


BAD_REQUEST = "BAD_REQUEST"
INVALID_RESOURCE = "INVALID_RESOURCE"
INVALID_PARAMETER = "INVALID_PARAMETER"
REFERENCE_NOT_FOUND = "REFERENCE_NOT_FOUND"
INVALID_IDENTIFIER_SYSTEM = "INVALID_IDENTIFIER_SYSTEM"
INVALID_IDENTIFIER_VALUE = "INVALID_IDENTIFIER_VALUE"
INVALID_NHS_NUMBER = "INVALID_NHS_NUMBER"
INVALID_PATIENT_DEMOGRAPHICS = "INVALID_PATIENT_DEMOGRAPHICS"
NO_RECORD_FOUND = "NO_RECORD_FOUND"
PATIENT_NOT_FOUND = "PATIENT_NOT_FOUND"
PRACTITIONER_NOT_FOUND = "PRACTITIONER_NOT_FOUND"
ORGANISATION_NOT_FOUND = "ORGANISATION_NOT_FOUND"
ACCESS_DENIED = "ACCESS_DENIED"
DUPLICATE_REJECTED = "DUPLICATE_REJECTED"
FHIR_CONSTRAINT_VIOLATION = "FHIR_CONSTRAINT_VIOLATION"
NOT_IMPLEMENTED = "NOT_IMPLEMENTED"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"

SPINE_CODES: Mapping[str, SpineCode] = {
    # Malformed request errors.
    BAD_REQUEST: SpineCode(400, "Bad request", "invalid"),
    # Resource validation errors: "Detailed diagnostic information MUST be supplied".
    INVALID_RESOURCE: SpineCode(422, "Invalid validation of resource", "invalid"),
    INVALID_PARAMETER: SpineCode(422, "Invalid parameter", "invalid"),
    REFERENCE_NOT_FOUND: SpineCode(422, "Reference not found", "invalid"),
    # Identity validation errors.
    INVALID_IDENTIFIER_SYSTEM: SpineCode(400, "Invalid identifier system", "value"),
    INVALID_IDENTIFIER_VALUE: SpineCode(400, "Invalid identifier value", "value"),
    INVALID_NHS_NUMBER: SpineCode(400, "Invalid NHS number", "value"),
    INVALID_PATIENT_DEMOGRAPHICS: SpineCode(400, "Invalid patient demographics", "business-rule"),
    NO_RECORD_FOUND: SpineCode(404, "No record found", "not-found"),
    PATIENT_NOT_FOUND: SpineCode(404, "Patient not found", "not-found"),
    PRACTITIONER_NOT_FOUND: SpineCode(404, "Practitioner not found", "not-found"),
    ORGANISATION_NOT_FOUND: SpineCode(404, "Organisation not found", "not-found"),
    # Security validation errors.
    ACCESS_DENIED: SpineCode(403, "Access denied", "forbidden"),
    # Duplicate errors: a slot that is no longer free (book an appointment).
    DUPLICATE_REJECTED: SpineCode(
        409, "Create would lead to creation of a duplicate resource", "duplicate"
    ),
    # Not in the page's tables: the provider assurance tests expect it, with 409, for a
    # cancellation sent with an out-of-date If-Match (AppointmentCancel.feature).
    FHIR_CONSTRAINT_VIOLATION: SpineCode(409, "FHIR constraint violated", "conflict"),
    # Internal server errors.
    NOT_IMPLEMENTED: SpineCode(501, "Not implemented", "not-supported"),
    INTERNAL_SERVER_ERROR: SpineCode(500, "Unexpected internal server error", "processing"),
}


def has_nul(value: Any) -> bool:
    """Whether a NUL character hides anywhere in ``value`` (text, or lists and objects of it):
    PostgreSQL stores no such text, so it is refused before any query sees it."""
    # A stack, not recursion: a body may nest thousands deep.
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


class FhirError(Exception):
    """A refusal the GP Connect door answers with an OperationOutcome: a Spine error code (its
    status, display and issue type from SPINE_CODES) and diagnostics saying what was wrong."""

    def __init__(self, code: str, diagnostics: str = "") -> None:
        spine = SPINE_CODES[code]
        super().__init__(f"{code}: {diagnostics}" if diagnostics else code)
        self.code = code
        self.status = spine.status
        self.display = spine.display
        self.issue_code = spine.issue_code
        self.diagnostics = diagnostics


def operation_outcome(error: FhirError) -> dict[str, Any]:
    """The GPConnect-OperationOutcome-1 body for ``error``: one issue, severity "error" (the
    only severity the error page uses), diagnostics when there are some (FHIR allows no
    empty strings)."""
    issue: dict[str, Any] = {
        "severity": "error",
        "code": error.issue_code,
        "details": {
            "coding": [{"system": SPINE_ERROR_SYSTEM, "code": error.code, "display": error.display}]
        },
    }
    if error.diagnostics:
        issue["diagnostics"] = error.diagnostics
    return {
        "resourceType": "OperationOutcome",
        "meta": {"profile": [OPERATION_OUTCOME_PROFILE]},
        "issue": [issue],
    }


# Domain errors whose code says which Spine code fits better than their class's.
_BY_DOMAIN_CODE = {
    # The one case the book page names: the slots are no longer free.
    "slot_taken": DUPLICATE_REJECTED,
    # A slot or patient that does not exist can only come from the references in a booked
    # Appointment (Slot/{id}, Patient/{id}): the error page's example of REFERENCE_NOT_FOUND.
    "slot_not_found": REFERENCE_NOT_FOUND,
    "patient_not_found": REFERENCE_NOT_FOUND,
    "practice_not_found": ORGANISATION_NOT_FOUND,
}
_BY_DOMAIN_CLASS: tuple[tuple[type[DomainError], str], ...] = (
    (NotFound, NO_RECORD_FOUND),
    # An out-of-date If-Match: 409 as the FHIR API guidance says, with the assurance tests'
    # code (PreconditionFailed is our 412 on the REST door).
    (PreconditionFailed, FHIR_CONSTRAINT_VIOLATION),
    # Another state conflict (the patient's overlapping appointment, a clash to try again).
    (Conflict, FHIR_CONSTRAINT_VIOLATION),
    # A business rule refusing an otherwise valid resource (too soon, not bookable by this
    # organisation, an amendment of a cancelled appointment: "422 INVALID_RESOURCE").
    (RuleViolation, INVALID_RESOURCE),
    (InvalidInput, INVALID_RESOURCE),
    (Forbidden, ACCESS_DENIED),
    (NotAuthenticated, ACCESS_DENIED),
)


def from_domain_error(exc: DomainError) -> FhirError:
    """The GP Connect answer to a refusal by the booking core, its sentence as diagnostics.

    A view that knows better (the reference it resolved itself) raises its own FhirError."""
    code = _BY_DOMAIN_CODE.get(exc.code)
    if code is None:
        code = next((spine for cls, spine in _BY_DOMAIN_CLASS if isinstance(exc, cls)), BAD_REQUEST)
    return FhirError(code, exc.detail)


def fhir_response(
    body: Mapping[str, Any], status: int = 200, headers: Mapping[str, str] | None = None
) -> HttpResponse:
    """A FHIR JSON answer. ``Cache-Control: no-store`` on every one, errors included, as the
    security page requires of all responses."""
    response = HttpResponse(orjson.dumps(body), status=status, content_type=FHIR_JSON)
    response["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response[name] = value
    return response


class Throttled(FhirError):
    """Too many requests from one consumer system: 429, with Retry-After. GP Connect has no
    Spine code for it (on the national network the proxy throttles), so the coding is
    BAD_REQUEST and the issue type FHIR's own "throttled"."""

    def __init__(self, wait: float) -> None:
        self.retry_after = math.ceil(wait)
        super().__init__(
            BAD_REQUEST,
            f"Too many requests from this system: try again in {self.retry_after} seconds.",
        )
        self.status = 429
        self.issue_code = "throttled"


def error_response(error: FhirError) -> HttpResponse:
    headers = {"Retry-After": str(error.retry_after)} if isinstance(error, Throttled) else None
    return fhir_response(operation_outcome(error), status=error.status, headers=headers)
