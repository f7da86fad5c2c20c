"""The GP Connect door: FHIR STU3 interactions of Appointment Management 1.2.7 onto the booking
core the REST API uses (one set of rules, locks and constraints; two doors).

Each view is wrapped by ``interaction``: it authenticates the consumer system for the
interaction the request names, turns every refusal into an OperationOutcome and writes one
audit row, refused requests included. The view parses, calls one service or read, and shapes.
"""

import datetime as dt
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from booking.models import Appointment, Source
from booking.services import amend_notes, book_slots, cancel_appointment
from booking.services.rules import Actor
from core.exceptions import DomainError
from core.http.client import client_ip
from core.http.throttling import count_scoped_hit

from . import parsing, resources, selectors
from .audit import record_interaction
from .auth import (
    AMEND_APPOINTMENT,
    BOOK_APPOINTMENT,
    CANCEL_APPOINTMENT,
    READ_APPOINTMENT,
    READ_METADATA,
    READ_PATIENT,
    RETRIEVE_PATIENT_APPOINTMENTS,
    SEARCH_FREE_SLOTS,
    SEARCH_PATIENT,
    Consumer,
    authenticate,
    service_root_url,
)
from .capability import capability_statement
from .errors import (
    BAD_REQUEST,
    INTERNAL_SERVER_ERROR,
    INVALID_RESOURCE,
    NO_RECORD_FOUND,
    NOT_IMPLEMENTED,
    ORGANISATION_NOT_FOUND,
    PATIENT_NOT_FOUND,
    REFERENCE_NOT_FOUND,
    FhirError,
    Throttled,
    error_response,
    fhir_response,
    from_domain_error,
    has_nul,
)

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Audit:
    """What a view tells the audit trail about the interaction it answered."""

    action: str
    object_type: str = ""
    object_id: object = ""
    patient: Any = None


@dataclass(slots=True)
class Call:
    """One interaction: who asked, and what the audit row will say."""

    consumer: Consumer
    audit: Audit
    # The practice whose service root the request came through (/gpconnect/<ODS>/fhir), or
    # None through /gpconnect/fhir, which serves every practice on GP Connect.
    practice: str | None = None
    now: dt.datetime = field(default_factory=timezone.now)

    @property
    def actor(self) -> Actor:
        return Actor(
            self.consumer.system.user,
            source=Source.GP_CONNECT,
            organisation=self.consumer.organisation,
        )

    @property
    def today(self) -> dt.date:
        return timezone.localtime(self.now, parsing.UK).date()


View = Callable[..., HttpResponse]


def interaction(methods: dict[str, tuple[str, str]]) -> Callable[[View], View]:
    """``methods``: HTTP method -> (interaction id, audit action). A PUT may be an amendment or
    a cancellation: the method's entry is the amendment, the cancellation is chosen by its
    Ssp-InteractionID."""

    def wrap(view: View) -> View:
        @csrf_exempt
        @functools.wraps(view)
        def handle(request: HttpRequest, ods: str | None = None, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                return unsupported(request, f"{request.method} is not supported here.")
            if _malformed_address(request):
                return unsupported(request, "The address or its parameters hold a NUL character.")
            interaction_id, action = methods[request.method]
            if (
                request.method == "PUT"
                and request.headers.get("Ssp-InteractionID") == CANCEL_APPOINTMENT
            ):
                interaction_id, action = CANCEL_APPOINTMENT, "gpconnect.appointment.cancel"
            audit = Audit(action=action)
            consumer = None
            allowed = False
            try:
                consumer = authenticate(request, interaction_id=interaction_id)
                # One counter per consumer system, shared by every worker (as the API's).
                if (wait := count_scoped_hit("gpconnect", str(consumer.system.pk))) is not None:
                    raise Throttled(wait)
                if ods is not None and not selectors.practice_on_gp_connect(ods):
                    raise FhirError(ORGANISATION_NOT_FOUND, "No practice here takes GP Connect.")
                call = Call(consumer=consumer, audit=audit, practice=ods and ods.upper())
                response = view(request, call, interaction_id=interaction_id, **kwargs)
                allowed = response.status_code < 400
            except DomainError as exc:
                response = error_response(from_domain_error(exc))
            except FhirError as exc:
                response = error_response(exc)
            except Exception:
                # A bug, never the consumer's fault: still an OperationOutcome, and audited.
                logger.exception("GP Connect interaction %s failed", interaction_id)
                response = error_response(
                    FhirError(INTERNAL_SERVER_ERROR, "Unexpected error: the request was logged.")
                )
            return _audited(
                request,
                response,
                consumer=consumer,
                action=audit.action,
                object_type=audit.object_type,
                object_id=audit.object_id,
                patient=audit.patient,
                allowed=allowed,
            )

        return handle

    return wrap


def _malformed_address(request: HttpRequest) -> bool:
    return has_nul(request.path) or has_nul(dict(request.GET.lists()))


def unsupported(request: HttpRequest, diagnostics: str, *, code: str = BAD_REQUEST) -> HttpResponse:
    """A method or an address the door does not serve: refused before anyone is identified,
    and audited like every other request to it."""
    response = error_response(FhirError(code, diagnostics))
    return _audited(request, response, consumer=None, action="gpconnect.unsupported", allowed=False)


def _audited(
    request: HttpRequest, response: HttpResponse, *, consumer: Consumer | None, **event: Any
) -> HttpResponse:
    """``response``, once its audit row is written. Refusals of requests nobody could be
    identified for are counted per client address first: past THROTTLE_GPCONNECT_REFUSED_RATE
    the door answers 429 and logs them instead, so a flood from the internet cannot fill the
    audit table. No answer leaves without its row: if the row cannot be written, the answer
    is an error instead."""
    if consumer is None:
        wait = count_scoped_hit("gpconnect_refused", client_ip(request))
        if wait is not None:
            logger.warning("GP Connect: refused requests from %s over the rate", client_ip(request))
            return error_response(Throttled(wait))
    try:
        record_interaction(request, consumer=consumer, **event)
    except DatabaseError:
        logger.exception("GP Connect: the audit row could not be written")
        return error_response(
            FhirError(INTERNAL_SERVER_ERROR, "The request could not be recorded: try again.")
        )
    return response


def _versioned(appointment: Appointment) -> dict[str, str]:
    return {
        "ETag": f'W/"{appointment.version}"',
        "Last-Modified": appointment.updated_at.strftime("%a, %d %b %Y %H:%M:%S GMT"),
    }


def _appointment_body(appointment: Appointment) -> dict[str, Any]:
    return resources.appointment_resource(appointment, slot_ids=selectors.slot_ids(appointment))


@interaction({"GET": (READ_METADATA, "gpconnect.metadata.read")})
def metadata(request: HttpRequest, call: Call, **kwargs: Any) -> HttpResponse:
    return fhir_response(capability_statement(now=call.now))


@interaction({"GET": (SEARCH_FREE_SLOTS, "gpconnect.slot.search")})
def slots(request: HttpRequest, call: Call, **kwargs: Any) -> HttpResponse:
    search = parsing.slot_search(request.GET)
    call.audit.object_type = "slot"
    found = selectors.free_slots(search, now=call.now, practice=call.practice)
    by_schedule: dict[str, list[Any]] = {}
    for slot in found:
        day = slot.start.astimezone(slot.practice.tz).date()
        by_schedule.setdefault(resources.schedule_id(slot.clinician_id, day), []).append(slot)
    clinicians = {slot.clinician_id: slot.clinician for slot in found}
    practices = {slot.practice_id: slot.practice for slot in found}
    entries = [resources.slot_resource(slot) for slot in found]
    entries += [resources.schedule_resource(group) for group in by_schedule.values()]
    if search.practitioners:
        entries += [resources.practitioner_resource(c) for c in clinicians.values()]
    if search.locations:
        entries += [resources.location_resource(p) for p in practices.values()]
    # "This resource SHALL always be present ... except where no slots are returned."
    entries += [resources.organization_resource(p) for p in practices.values()]
    return fhir_response(resources.bundle(entries, base_url=service_root_url(request)))


@interaction({"POST": (BOOK_APPOINTMENT, "gpconnect.appointment.book")})
def appointments(request: HttpRequest, call: Call, **kwargs: Any) -> HttpResponse:
    wanted = parsing.new_appointment(parsing.json_resource(request))
    call.audit.object_type = "appointment"
    if (
        wanted.patient_id is None
        or selectors.registered_patient(wanted.patient_id, practice=call.practice) is None
    ):
        # Never a new account: a patient unknown here is a reference to nothing.
        raise FhirError(REFERENCE_NOT_FOUND, "No patient of that id is registered here.")
    call.audit.patient = wanted.patient_id
    # The organisation the slots are released to is the one the consumer system vouched for
    # in its signed token, not one the body may name at will.
    if wanted.organisation.ods_code != call.consumer.organisation.ods_code.upper():
        raise FhirError(
            INVALID_RESOURCE,
            "The booking organisation must be the JWT's requesting organisation "
            f"({call.consumer.organisation.ods_code}).",
        )
    named = selectors.slots_named(wanted.slot_ids, practice=call.practice)
    if len(named) != len(wanted.slot_ids):
        raise FhirError(REFERENCE_NOT_FOUND, "A referenced slot does not exist here.")
    # The appointment the consumer wrote down must be the one its slots make.
    if (
        named[0].start != wanted.start
        or named[-1].end != wanted.end
        or named[0].practice.ods_code != wanted.location
    ):
        raise FhirError(
            INVALID_RESOURCE,
            "start, end and the Location must be those of the slots: the first slot's start, "
            "the last one's end, and the practice's Location.",
        )
    booked = book_slots(
        # The booking organisation as the body names it (its type, name and phone too).
        actor=replace(call.actor, organisation=wanted.organisation),
        slot_ids=wanted.slot_ids,
        patient_id=wanted.patient_id,
        description=wanted.description,
        comment=wanted.comment,
        now=call.now,
    )
    call.audit.object_id = booked.pk
    appointment = selectors.appointment(booked.pk, today=call.today, practice=call.practice)
    assert appointment is not None  # just booked, in the future, at a practice on GP Connect
    headers = _versioned(appointment) | {
        "Location": f"{service_root_url(request)}/Appointment/{appointment.pk}"
        f"/_history/{appointment.version}"
    }
    if request.headers.get("Prefer") == "return=minimal":
        minimal = HttpResponse(status=201)
        for name, value in headers.items():
            minimal[name] = value
        minimal["Cache-Control"] = "no-store"
        return minimal
    return fhir_response(_appointment_body(appointment), status=201, headers=headers)


def _found(call: Call, appointment_id: str) -> Appointment:
    call.audit.object_type = "appointment"
    call.audit.object_id = appointment_id[:64]
    pk = parsing.logical_id(appointment_id)
    appointment = (
        selectors.appointment(pk, today=call.today, practice=call.practice) if pk else None
    )
    if appointment is None:
        raise FhirError(NO_RECORD_FOUND, "No future appointment of that id is held here.")
    call.audit.patient = appointment.patient_id
    return appointment


@interaction(
    {
        "GET": (READ_APPOINTMENT, "gpconnect.appointment.read"),
        "PUT": (AMEND_APPOINTMENT, "gpconnect.appointment.amend"),
    }
)
def appointment(
    request: HttpRequest, call: Call, *, interaction_id: str, appointment_id: str
) -> HttpResponse:
    found = _found(call, appointment_id)
    if request.method == "GET":
        return fhir_response(_appointment_body(found), headers=_versioned(found))
    version = parsing.if_match(request)
    body = parsing.json_resource(request)
    current = _appointment_body(found)
    if interaction_id == CANCEL_APPOINTMENT:
        reason = parsing.cancellation(body, current=current)
        changed = cancel_appointment(
            actor=call.actor,
            appointment_id=found.pk,
            reason=reason,
            expected_version=version,
            now=call.now,
        )
    else:
        changes = parsing.amendment(body, current=current)
        changed = amend_notes(
            actor=call.actor,
            appointment_id=found.pk,
            changes=changes,
            expected_version=version,
            now=call.now,
        )
    refreshed = selectors.appointment(changed.pk, today=call.today, practice=call.practice)
    assert refreshed is not None
    return fhir_response(_appointment_body(refreshed), headers=_versioned(refreshed))


@interaction({"GET": (RETRIEVE_PATIENT_APPOINTMENTS, "gpconnect.patient.appointments")})
def patient_appointments(
    request: HttpRequest, call: Call, *, patient_id: str, **kwargs: Any
) -> HttpResponse:
    call.audit.object_type = "patient"
    call.audit.object_id = patient_id[:64]
    pk = parsing.logical_id(patient_id)
    patient = selectors.registered_patient(pk, practice=call.practice) if pk else None
    if patient is None:
        raise FhirError(PATIENT_NOT_FOUND, "No patient of that id is registered here.")
    call.audit.patient = patient
    low, high = parsing.appointment_range(request.GET, today=call.today)
    found = selectors.patient_appointments(patient, low=low, high=high, practice=call.practice)
    return fhir_response(
        resources.bundle(
            (_appointment_body(item) for item in found), base_url=service_root_url(request)
        )
    )


@interaction({"GET": (SEARCH_PATIENT, "gpconnect.patient.search")})
def patients(request: HttpRequest, call: Call, **kwargs: Any) -> HttpResponse:
    call.audit.object_type = "patient"
    nhs_number = parsing.nhs_number(request.GET)
    patient = selectors.patient_by_nhs_number(nhs_number, practice=call.practice)
    call.audit.patient = patient
    found = [resources.patient_resource(patient)] if patient else []
    return fhir_response(resources.bundle(found, base_url=service_root_url(request)))


@interaction({"GET": (READ_PATIENT, "gpconnect.patient.read")})
def patient(request: HttpRequest, call: Call, *, patient_id: str, **kwargs: Any) -> HttpResponse:
    call.audit.object_type = "patient"
    call.audit.object_id = patient_id[:64]
    pk = parsing.logical_id(patient_id)
    found = selectors.traced_patient(pk, practice=call.practice) if pk else None
    if found is None:
        raise FhirError(PATIENT_NOT_FOUND, "No patient of that id is registered here.")
    call.audit.patient = found
    resource = resources.patient_resource(found)
    return fhir_response(resource, headers={"ETag": f'W/"{resource["meta"]["versionId"]}"'})


@csrf_exempt
def not_implemented(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    """Resources and operations of GP Connect we do not serve (see the CapabilityStatement)."""
    return unsupported(
        request,
        "This resource or operation is not served here: see metadata.",
        code=NOT_IMPLEMENTED,
    )
