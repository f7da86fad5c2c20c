"""GP Connect's Appointment resources as consumers send them, read strictly: a booking, an
amendment, a cancellation, and the version they were made against. Each refusal is the
FhirError the specification (or, where it is silent, the provider assurance tests) gives."""

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import orjson
from django.http import HttpRequest
from fhir.resources.STU3.appointment import Appointment as FhirAppointment
from pydantic import ValidationError

from booking.services.rules import Organisation

from ..errors import (
    BAD_REQUEST,
    INVALID_PARAMETER,
    INVALID_RESOURCE,
    FhirError,
    has_nul,
)
from ..resources import (
    BOOKING_ORGANISATION_URL,
    CANCELLATION_REASON_URL,
    DELIVERY_CHANNEL_URL,
    ODS_SYSTEM,
    ORGANISATION_TYPE_SYSTEM,
    PRACTITIONER_ROLE_URL,
)
from .query import ID, logical_id

DESCRIPTION_MAX = 100  # what we store; longer is refused, never cut (the book page)
COMMENT_MAX = 500


def json_resource(request: HttpRequest) -> dict[str, Any]:
    try:
        body = orjson.loads(request.body)
    except orjson.JSONDecodeError as exc:
        raise FhirError(BAD_REQUEST, "The body is not well-formed JSON.") from exc
    if not isinstance(body, dict):
        raise FhirError(BAD_REQUEST, "The body must be a FHIR resource (a JSON object).")
    if has_nul(body):
        raise FhirError(BAD_REQUEST, "The body holds a NUL character.")
    return body


def _valid_appointment(body: Mapping[str, Any]) -> None:
    """Structurally an STU3 Appointment (no unknown elements, types right)."""
    if body.get("resourceType") != "Appointment":
        raise FhirError(INVALID_RESOURCE, "The body must be an Appointment resource.")
    try:
        FhirAppointment.model_validate(body)
    except RecursionError as exc:  # extensions nested hundreds deep
        raise FhirError(INVALID_RESOURCE, "The Appointment is nested too deeply.") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()[:5]
        )
        raise FhirError(INVALID_RESOURCE, f"Not a valid Appointment: {problems}") from exc


def _reference(value: Any, resource_type: str) -> str | None:
    """The id of a relative reference ``<resource_type>/<id>``, else None."""
    reference = value.get("reference", "") if isinstance(value, dict) else ""
    kind, _, rest = reference.partition("/")
    return rest if kind == resource_type and ID.match(rest) else None


@dataclass(frozen=True)
class NewAppointment:
    slot_ids: list[UUID]
    patient_id: UUID | None  # None: a well-formed reference to no patient of ours
    location: str
    start: dt.datetime
    end: dt.datetime
    description: str
    comment: str
    organisation: Organisation


def _booking_organisation(body: Mapping[str, Any]) -> Organisation:
    """The contained Organization the bookingOrganisation extension points at."""
    reference = next(
        (
            extension.get("valueReference", {}).get("reference", "")
            for extension in body.get("extension", [])
            if extension.get("url") == BOOKING_ORGANISATION_URL
        ),
        None,
    )
    if reference is None:
        raise FhirError(INVALID_RESOURCE, "The bookingOrganisation extension is required.")
    if not reference.startswith("#"):
        raise FhirError(
            INVALID_RESOURCE, "bookingOrganisation must refer to a contained Organization."
        )
    organisation = next(
        (
            resource
            for resource in body.get("contained", [])
            if resource.get("resourceType") == "Organization"
            and resource.get("id") == reference[1:]
        ),
        None,
    )
    if organisation is None:
        raise FhirError(INVALID_RESOURCE, f"No contained Organization {reference}.")
    ods_code = next(
        (
            identifier.get("value", "")
            for identifier in organisation.get("identifier", [])
            if identifier.get("system") == ODS_SYSTEM
        ),
        "",
    )
    name = organisation.get("name", "")
    phone = next((telecom.get("value", "") for telecom in organisation.get("telecom", [])), "")
    if not ods_code or not name or not phone:
        raise FhirError(
            INVALID_RESOURCE,
            "The booking organisation needs its ODS code, its name and a telephone number.",
        )
    type_code = next(
        (
            coding.get("code", "")
            for concept in organisation.get("type", [])
            for coding in concept.get("coding", [])
            if coding.get("system") == ORGANISATION_TYPE_SYSTEM
        ),
        "",
    )
    return Organisation(
        ods_code=ods_code.upper()[:10],
        type_code=type_code[:32],
        name=name[:200],
        telecom=phone[:100],
    )


def _bounded(body: Mapping[str, Any], name: str, limit: int, *, required: bool) -> str:
    value = body.get(name, "")
    if required and not value:
        raise FhirError(INVALID_RESOURCE, f"{name} is required.")
    if len(value) > limit:
        raise FhirError(INVALID_RESOURCE, f"{name} may be {limit} characters at most.")
    return value


def _instant(body: Mapping[str, Any], name: str) -> dt.datetime:
    """A time with its offset (FHIR's instant: the STU3 model lets numbers through)."""
    value = body[name]
    try:
        moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise FhirError(INVALID_RESOURCE, f"{name} must be a time with its UTC offset.")
    return moment


def new_appointment(body: Mapping[str, Any]) -> NewAppointment:
    """A booking request (``POST Appointment``)."""
    _valid_appointment(body)
    if body.get("status") != "booked":
        raise FhirError(INVALID_RESOURCE, "A new appointment's status must be 'booked'.")
    for forbidden in ("reason", "specialty", "id"):
        if forbidden in body:
            raise FhirError(INVALID_RESOURCE, f"A booking must not carry {forbidden}.")
    for required in ("start", "end", "created", "slot", "participant"):
        if not body.get(required):
            raise FhirError(INVALID_RESOURCE, f"{required} is required.")
    slot_ids = []
    for reference in body["slot"]:
        slot_id = logical_id(_reference(reference, "Slot") or "")
        if slot_id is None:
            raise FhirError(INVALID_RESOURCE, f"Not a reference to a slot of ours: {reference}.")
        slot_ids.append(slot_id)
    if len(set(slot_ids)) != len(slot_ids):
        raise FhirError(INVALID_RESOURCE, "Each slot may be named once.")
    patients, locations = [], []
    for participant in body["participant"]:
        actor = participant.get("actor")
        if (patient := _reference(actor, "Patient")) is not None:
            patients.append(patient)
        elif (location := _reference(actor, "Location")) is not None:
            locations.append(location)
        elif _reference(actor, "Practitioner") is None:
            raise FhirError(INVALID_RESOURCE, f"Unknown participant {actor}.")
    if len(patients) != 1 or len(locations) != 1:
        raise FhirError(
            INVALID_RESOURCE, "Name one patient and one location (Patient/{id}, Location/{id})."
        )
    return NewAppointment(
        slot_ids=slot_ids,
        patient_id=logical_id(patients[0]),
        location=locations[0],
        start=_instant(body, "start"),
        end=_instant(body, "end"),
        description=_bounded(body, "description", DESCRIPTION_MAX, required=True),
        comment=_bounded(body, "comment", COMMENT_MAX, required=False),
        organisation=_booking_organisation(body),
    )


# What an amendment or cancellation may not change is compared with what we would answer.
# Elements of our own the consumer left out are not changes (it may not keep them all).
_MAY_DIFFER = frozenset({"resourceType", "id", "meta", "text", "contained", "extension"})
_KNOWN_EXTENSIONS = frozenset(
    {BOOKING_ORGANISATION_URL, PRACTITIONER_ROLE_URL, DELIVERY_CHANNEL_URL}
)


def _same(name: str, sent: Any, ours: Any) -> bool:
    if name in {"start", "end", "created"}:
        try:
            return dt.datetime.fromisoformat(sent) == dt.datetime.fromisoformat(ours)
        except (TypeError, ValueError):
            return False
    if name == "slot":
        return sorted(str(item.get("reference")) for item in sent) == sorted(
            str(item.get("reference")) for item in ours
        )
    if name == "participant":
        return sorted(str(item.get("actor", {}).get("reference")) for item in sent) == sorted(
            str(item.get("actor", {}).get("reference")) for item in ours
        )
    return bool(sent == ours)


def _unchanged_except(
    body: Mapping[str, Any], current: Mapping[str, Any], allowed: Sequence[str]
) -> None:
    for name, sent in body.items():
        if name in _MAY_DIFFER or name in allowed:
            continue
        if name not in current or not _same(name, sent, current[name]):
            raise FhirError(
                INVALID_RESOURCE, f"{name} cannot be changed here (only {', '.join(allowed)})."
            )


def _cancellation_reason(body: Mapping[str, Any]) -> str | None:
    """The reason's text, "" when it is empty, None when there is none. Read before the body's
    structure is checked, so anything may be here."""
    extensions = body.get("extension")
    reasons = [
        extension
        for extension in (extensions if isinstance(extensions, list) else [])
        if isinstance(extension, dict) and extension.get("url") == CANCELLATION_REASON_URL
    ]
    if not reasons:
        return None
    return str(reasons[0].get("valueString") or "")


def _check_extensions(body: Mapping[str, Any], *, cancelling: bool) -> None:
    known = _KNOWN_EXTENSIONS | ({CANCELLATION_REASON_URL} if cancelling else set())
    for extension in body.get("extension", []):
        if extension.get("url") not in known:
            raise FhirError(INVALID_RESOURCE, f"Unexpected extension {extension.get('url')!r}.")


def amendment(body: Mapping[str, Any], *, current: Mapping[str, Any]) -> dict[str, str]:
    """An amendment (``PUT Appointment/{id}``, update): its new description and comment."""
    _valid_appointment(body)
    _check_extensions(body, cancelling=False)
    if body.get("id") != current["id"]:
        raise FhirError(INVALID_RESOURCE, "The resource's id must be the one in the URL.")
    _unchanged_except(body, current, ("description", "comment"))
    return {
        "description": _bounded(body, "description", DESCRIPTION_MAX, required=True),
        "comment": _bounded(body, "comment", COMMENT_MAX, required=False),
    }


def cancellation(body: Mapping[str, Any], *, current: Mapping[str, Any]) -> str:
    """A cancellation (``PUT Appointment/{id}``, cancel): its reason."""
    reason = _cancellation_reason(body)
    # Before the structural check, which refuses any empty string: the assurance tests want
    # an empty reason called a bad parameter, not an invalid resource.
    if reason is not None and not reason.strip():
        raise FhirError(INVALID_PARAMETER, "Give a cancellation reason.")
    _valid_appointment(body)
    _check_extensions(body, cancelling=True)
    if body.get("id") != current["id"]:
        raise FhirError(INVALID_RESOURCE, "The resource's id must be the one in the URL.")
    if body.get("status") != "cancelled":
        raise FhirError(INVALID_RESOURCE, "A cancellation sets status to 'cancelled'.")
    # Only the status and the reason change: the description and comment as we hold them.
    _unchanged_except(body, {**current, "status": "cancelled"}, ())
    if reason is None:
        raise FhirError(INVALID_PARAMETER, "Give a cancellation reason (its extension).")
    return reason.strip()[:500]


def if_match(request: HttpRequest) -> int:
    """The version an amendment or cancellation was made against: ``If-Match: W/"3"``."""
    header = request.headers.get("If-Match", "")
    if not header:
        raise FhirError(BAD_REQUEST, "If-Match is required: the appointment's ETag.")
    value = header.removeprefix("W/").strip('"')
    if not re.fullmatch(r"[0-9]{1,9}", value):
        # No version of ours: it cannot be the current one.
        return -1
    return int(value)
