"""Thin views for /api/v1/appointments: parse, call one service, shape the answer."""

import re
from typing import Any
from uuid import UUID

from django.db.models import Prefetch, QuerySet
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.audit import AuditedViewMixin
from accounts.authentication import signed_in_user
from core.exceptions import InvalidInput, NotFound
from core.http.fields import query_data
from core.http.schema import problem, problems

from .. import services
from ..models import Appointment, WaitingListEntry, WaitingListOffer
from ..services import Actor, holds, waiting_list
from ..services import rules as said
from .idempotency import KEY_REUSED, MAX_KEY_LENGTH, idempotent
from .serializers import (
    APPOINTMENT_COLUMNS,
    LIST_RANGE_TOO_WIDE,
    AmendSerializer,
    AppointmentCreateRequest,
    AppointmentListQuerySerializer,
    AppointmentSerializer,
    BookEarliestSerializer,
    CancelSerializer,
    OutcomeSerializer,
    RescheduleRequest,
    SlotUnavailableProblemSerializer,
    WaitingListEntrySerializer,
    WaitingListJoinSerializer,
    WaitingListOfferSerializer,
    appointment_rows,
    booking_request,
    reschedule_request,
)

APPOINTMENT_ID = OpenApiParameter(
    "id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The appointment's id."
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": "^[ -~]+$"},
    location=OpenApiParameter.HEADER,
    required=False,
    description="Retry-safe POST: the same key and body return the first response for 24 hours.",
)
# An ETag as we send it ("3"), weak or bare forms of it, or "*".
IF_MATCH_FORM = re.compile(r'^ *(?:(?P<any>[*])|(?:W/)?"?(?P<version>[0-9]{1,9})"?) *$')
IF_MATCH = OpenApiParameter(
    "If-Match",
    {"type": "string", "pattern": re.sub(r"\?P<\w+>", "", IF_MATCH_FORM.pattern)},
    location=OpenApiParameter.HEADER,
    required=False,
    description="The ETag you read; a stale one is refused with 412.",
)
BAD_IF_MATCH = 'If-Match must be an ETag from this API, such as "3".'


def _expected_version(request: Request) -> int | None:
    header = request.headers.get("If-Match")
    if header is None:
        return None
    match = IF_MATCH_FORM.fullmatch(header)
    if match is None:
        raise InvalidInput(BAD_IF_MATCH, code="invalid_if_match")
    return None if match["any"] else int(match["version"])


def _answer(appointment: Appointment, *, status_code: int = status.HTTP_200_OK) -> Response:
    headers = {"ETag": appointment.etag}
    if status_code == status.HTTP_201_CREATED:
        headers["Location"] = reverse("booking:appointment-detail", kwargs={"pk": appointment.pk})
    return Response(AppointmentSerializer(appointment).data, status=status_code, headers=headers)


_SLOT_ID = "5b0e8d7c-3f0a-4d52-9b0e-6c1f2a7d9e31"
_ALTERNATIVES = [
    {
        "slot_id": _SLOT_ID,
        "start": "2026-12-01T09:40:00Z",
        "end": "2026-12-01T09:50:00Z",
        "appointment_type": "routine",
        "channel": "in_person",
        "clinician": {"id": "0d4b9a9e-6a55-4c43-8d8e-2f1f4c1b7a10", "name": "Dr A Patel"},
    }
]
TAKEN = problem(409, "slot_taken", said.SLOT_TAKEN, alternatives=_ALTERNATIVES)
NO_FREE = problem(409, "no_free_slot", said.NO_FREE_SLOT, alternatives=_ALTERNATIVES)
STALE = problem(412, "stale_version", said.STALE_VERSION)
TOO_LATE = problem(422, "too_late_to_cancel", said.TOO_LATE_TO_CANCEL)
TOO_MANY = problem(422, "too_many_appointments", said.TOO_MANY_APPOINTMENTS.format(count=4))
ROLE_MAY_NOT = problem(403, "role_may_not", said.ROLE_MAY_NOT)
# The same Idempotency-Key with another body (a retry never changes its body).
KEY_REUSED_PROBLEM = problem(422, "idempotency_key_reused", KEY_REUSED)


@extend_schema(tags=["appointments"])
class AppointmentViewSet(AuditedViewMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Appointments the caller may see: patients their own, staff their practices'."""

    audit_object_type = "appointment"
    serializer_class = AppointmentSerializer
    # What a client can do next with an appointment it has just been given.
    schema_links = dict.fromkeys(
        ["create", "retrieve", "partial_update", "reschedule", "cancel", "outcome"],
        {
            name: {
                "operationId": f"appointments_{operation}",
                "parameters": {"id": "$response.body#/id"},
            }
            for name, operation in [
                ("GetAppointment", "retrieve"),
                ("AmendAppointment", "partial_update"),
                ("RescheduleAppointment", "reschedule_create"),
                ("CancelAppointment", "cancel_create"),
                ("RecordOutcome", "outcome_create"),
            ]
        },
    )
    lookup_value_regex = "[0-9a-fA-F-]{32,36}"

    def get_queryset(self) -> QuerySet[Appointment]:
        return services.appointment_list(user=signed_in_user(self.request), filters={})

    def _actor(self) -> Actor:
        return Actor(user=signed_in_user(self.request))

    def get_object(self) -> Appointment:
        appointment = super().get_object()
        self.audit.patient = appointment.patient_id
        return appointment

    @extend_schema(
        parameters=[AppointmentListQuerySerializer],
        responses={
            200: AppointmentSerializer(many=True),
            **problems(
                422,
                examples=[
                    problem(
                        422,
                        "validation_error",
                        "The request has invalid fields.",
                        errors={"end": [LIST_RANGE_TOO_WIDE]},
                    )
                ],
            ),
        },
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """A patient's own appointments, or (for staff) their practices' appointments,
        upcoming first. Filter by status, time range, practice, clinician or patient."""
        query = AppointmentListQuerySerializer(data=query_data(request))
        query.is_valid(raise_exception=True)
        filters = query.validated_data
        user = signed_in_user(request)
        appointments = services.appointment_list(user=user, filters=filters)
        # Rows, not models: every patient opens this list (AppointmentSerializer's shape).
        page = self.paginate_queryset(appointments.values(*APPOINTMENT_COLUMNS))
        assert page is not None  # DEFAULT_PAGINATION_CLASS is set: there is always a page
        if user.is_patient:
            self.audit.patient = user
        elif "patient" in filters:
            # A row proves the patient exists (the audit row refers to them); an empty page
            # for an unknown or invisible id is still recorded, by the id asked for.
            if page:
                self.audit.patient = filters["patient"]
            else:
                self.audit.object_id = f"patient:{filters['patient']}"
        return self.get_paginated_response(appointment_rows(page))

    @extend_schema(parameters=[APPOINTMENT_ID])
    def retrieve(self, request: Request, pk: str) -> Response:
        """One appointment, with its version in the ETag header (send it back in If-Match to
        change the appointment safely). Another patient's appointment is a 404."""
        return _answer(self.get_object())

    @extend_schema(
        request=AppointmentCreateRequest,
        # 404: the slot, practice or patient named in the body; 409: taken or overlapping;
        # 422: booking rules, a reused key.
        responses={
            201: AppointmentSerializer,
            **problems(
                403,
                404,
                409,
                422,
                shapes={409: SlotUnavailableProblemSerializer},
                examples=[
                    problem(403, "email_not_verified", said.EMAIL_NOT_VERIFIED),
                    problem(403, "book_for_self_only", said.BOOK_FOR_SELF_ONLY),
                    problem(404, "slot_not_found", said.SLOT_NOT_FOUND),
                    TAKEN,
                    NO_FREE,
                    problem(409, "overlapping_appointment", said.OVERLAPPING),
                    problem(422, "too_soon", said.TOO_SOON),
                    problem(422, "not_registered", said.NOT_REGISTERED),
                    problem(
                        422,
                        "practice_mismatch",
                        said.PRACTICE_MISMATCH,
                        errors={"practice_id": [said.PRACTICE_MISMATCH]},
                    ),
                    KEY_REUSED_PROBLEM,
                ],
            ),
        },
        parameters=[IDEMPOTENCY_KEY],
    )
    @idempotent
    def create(self, request: Request) -> Response:
        """Book an appointment: by `slot_id` from the availability search, or by
        `practice_id` + `appointment_datetime` + `appointment_type` as the original API did
        (any clinician's free slot of that type at that time; give `clinician_id` to choose).
        A taken slot is a 409 with the nearest free ones. Send an Idempotency-Key to retry
        safely."""
        data = booking_request(request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        if "slot_id" in fields:
            appointment = services.book_appointment(
                actor=self._actor(),
                slot_id=fields["slot_id"],
                practice_ods=fields.get("practice_id"),
                patient_id=fields.get("patient_id"),
                description=fields.get("description", ""),
                comment=fields.get("comment", ""),
            )
        else:
            appointment = services.book_slot_at(
                actor=self._actor(),
                practice_ods=fields["practice_id"],
                start=fields["appointment_datetime"],
                appointment_type=fields["appointment_type"],
                channel=fields.get("channel"),
                clinician_id=fields.get("clinician_id"),
                patient_id=fields.get("patient_id"),
                description=fields.get("description", ""),
                comment=fields.get("comment", ""),
            )
        self.audit.patient, self.audit.object_id = appointment.patient_id, appointment.pk
        return _answer(appointment, status_code=status.HTTP_201_CREATED)

    @extend_schema(
        request=BookEarliestSerializer,
        responses={
            201: AppointmentSerializer,
            **problems(
                403,
                404,
                409,
                422,
                shapes={409: SlotUnavailableProblemSerializer},
                examples=[
                    problem(404, "practice_not_found", said.PRACTICE_NOT_FOUND),
                    NO_FREE,
                    TOO_MANY,
                    KEY_REUSED_PROBLEM,
                ],
            ),
        },
        parameters=[IDEMPOTENCY_KEY],
    )
    @action(detail=False, methods=["post"])
    @idempotent
    def earliest(self, request: Request) -> Response:
        """Book the earliest free slot that matches (type, channel, clinician, a day and a
        time window on it; any of them), chosen on the server. Under a rush each caller gets
        a different slot: one that another request is booking at that moment is passed
        over, not waited for. 409 `no_free_slot` when none is left, with alternatives."""
        data = BookEarliestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        appointment = services.book_earliest(
            actor=self._actor(),
            practice_ods=fields["practice_id"],
            wish=services.SlotWish(
                appointment_type=fields.get("appointment_type"),
                channel=fields.get("channel"),
                clinician_id=fields.get("clinician_id"),
                day=fields.get("day"),
                from_time=fields.get("from_time"),
                to_time=fields.get("to_time"),
            ),
            patient_id=fields.get("patient_id"),
            description=fields.get("description", ""),
            comment=fields.get("comment", ""),
        )
        self.audit.patient, self.audit.object_id = appointment.patient_id, appointment.pk
        return _answer(appointment, status_code=status.HTTP_201_CREATED)

    @extend_schema(
        request=AmendSerializer,
        responses={
            200: AppointmentSerializer,
            **problems(
                412,
                422,
                examples=[
                    STALE,
                    problem(422, "appointment_cancelled", said.CANNOT_AMEND_CANCELLED),
                ],
            ),
        },
        parameters=[APPOINTMENT_ID, IF_MATCH],
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        """Change the appointment's `description` or `comment`; nothing else changes here."""
        data = AmendSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        appointment = services.amend_notes(
            actor=self._actor(),
            appointment_id=self.get_object().pk,
            changes=dict(data.validated_data),
            expected_version=_expected_version(request),
        )
        return _answer(appointment)

    @extend_schema(
        request=RescheduleRequest,
        responses={
            200: AppointmentSerializer,
            **problems(
                409,
                412,
                422,
                shapes={409: SlotUnavailableProblemSerializer},
                examples=[
                    TAKEN,
                    NO_FREE,
                    problem(422, "same_slot", said.SAME_SLOT),
                    KEY_REUSED_PROBLEM,
                    STALE,
                    TOO_LATE,
                    problem(422, "other_practice", said.OTHER_PRACTICE),
                ],
            ),
        },
        parameters=[APPOINTMENT_ID, IDEMPOTENCY_KEY, IF_MATCH],
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def reschedule(self, request: Request, pk: str) -> Response:
        """Move the appointment to another free slot (by `slot_id`) or time at the same
        practice, in one step: the old slot is free again at once."""
        data = reschedule_request(request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        current = self.get_object()
        if "slot_id" in fields:
            appointment = services.reschedule_appointment(
                actor=self._actor(),
                appointment_id=current.pk,
                new_slot_id=fields["slot_id"],
                expected_version=_expected_version(request),
            )
        else:
            appointment = services.reschedule_to_time(
                actor=self._actor(),
                appointment=current,
                start=fields["appointment_datetime"],
                appointment_type=fields.get("appointment_type"),
                channel=fields.get("channel"),
                clinician_id=fields.get("clinician_id"),
                expected_version=_expected_version(request),
            )
        return _answer(appointment)

    @extend_schema(
        request=CancelSerializer,
        responses={
            200: AppointmentSerializer,
            **problems(
                412,
                422,
                examples=[
                    STALE,
                    problem(
                        422,
                        "invalid_transition",
                        said.INVALID_TRANSITION.format(current="completed", target="cancelled"),
                    ),
                    TOO_LATE,
                    KEY_REUSED_PROBLEM,
                ],
            ),
        },
        parameters=[APPOINTMENT_ID, IDEMPOTENCY_KEY, IF_MATCH],
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def cancel(self, request: Request, pk: str) -> Response:
        """Cancel with a `reason`. The appointment is kept (status `cancelled`) and its slot
        is free for others at once. Patients may cancel until the practice's cut-off."""
        data = CancelSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        appointment = services.cancel_appointment(
            actor=self._actor(),
            appointment_id=self.get_object().pk,
            reason=data.validated_data["reason"],
            expected_version=_expected_version(request),
        )
        return _answer(appointment)

    @extend_schema(
        request=OutcomeSerializer,
        responses={
            200: AppointmentSerializer,
            **problems(
                403,
                412,
                422,
                examples=[
                    ROLE_MAY_NOT,
                    problem(403, "not_your_appointment", said.NOT_YOUR_APPOINTMENT),
                    STALE,
                    KEY_REUSED_PROBLEM,
                    problem(
                        422,
                        "invalid_transition",
                        said.INVALID_TRANSITION.format(current="cancelled", target="arrived"),
                    ),
                    problem(422, "outcome_too_early", said.OUTCOME_TOO_EARLY),
                ],
            ),
        },
        parameters=[APPOINTMENT_ID, IDEMPOTENCY_KEY, IF_MATCH],
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def outcome(self, request: Request, pk: str) -> Response:
        """Practice staff record what happened: `arrived` (on the day), `completed` or
        `did_not_attend` (once it has started). Clinicians only for their own appointments."""
        data = OutcomeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        appointment = services.record_outcome(
            actor=self._actor(),
            appointment_id=self.get_object().pk,
            outcome=data.validated_data["outcome"],
            expected_version=_expected_version(request),
        )
        return _answer(appointment)


# The waiting list ------------------------------------------------------------------------------

ENTRY_ID = OpenApiParameter(
    "id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The waiting-list entry's id."
)
OFFER_ID = OpenApiParameter(
    "id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The offer's id."
)
OFFER_NOT_FOUND = problem(404, "offer_not_found", holds.OFFER_NOT_FOUND)


@extend_schema(tags=["waiting list"])
class WaitingListViewSet(
    AuditedViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """The caller's waiting-list entries (staff: their practices'), each with its offers."""

    audit_object_type = "waiting_list_entry"
    serializer_class = WaitingListEntrySerializer
    lookup_value_regex = "[0-9a-fA-F-]{32,36}"

    def get_queryset(self) -> QuerySet[WaitingListEntry]:
        offers = WaitingListOffer.objects.select_related("slot__clinician").order_by(
            "-offered_at", "id"
        )
        return (
            WaitingListEntry.objects.visible_to(signed_in_user(self.request))
            .select_related("practice")
            .prefetch_related(Prefetch("offers", queryset=offers))
            .order_by("-joined_at", "id")
        )

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Your entries, newest first, with every offer made to each (open, claimed, declined,
        expired, or gone to someone else). Staff see their practices' entries."""
        user = signed_in_user(request)
        if user.is_patient:
            self.audit.patient = user
        return super().list(request, *args, **kwargs)

    @extend_schema(parameters=[ENTRY_ID])
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """One entry with its offers. Another patient's entry is a 404."""
        entry = self.get_object()
        self.audit.patient = entry.patient_id
        return Response(WaitingListEntrySerializer(entry).data)

    @extend_schema(
        request=WaitingListJoinSerializer,
        responses={
            201: WaitingListEntrySerializer,
            **problems(
                403,
                404,
                409,
                422,
                examples=[
                    problem(403, "patients_only", waiting_list.PATIENTS_ONLY),
                    problem(404, "practice_not_found", said.PRACTICE_NOT_FOUND),
                    problem(409, "already_waiting", waiting_list.ALREADY_MOVING),
                    problem(422, "not_registered", said.NOT_REGISTERED),
                    problem(
                        422,
                        "too_many_waiting_entries",
                        waiting_list.TOO_MANY_ENTRIES.format(count=3),
                    ),
                    problem(
                        422,
                        "beyond_booking_window",
                        waiting_list.BEYOND_WINDOW.format(days=28, last="2026-12-28"),
                        errors={
                            "latest_date": [
                                waiting_list.BEYOND_WINDOW.format(days=28, last="2026-12-28")
                            ]
                        },
                    ),
                ],
            ),
        },
    )
    def create(self, request: Request) -> Response:
        """Join a practice's waiting list for an earlier appointment. When a slot you would
        accept is freed, it is held for you and offered by SMS and email (as you chose in
        your details), for the practice's offer time (15 minutes by default), in the order
        patients joined. Claim it with `POST /waiting-list/offers/{id}/claim`."""
        data = WaitingListJoinSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        user = signed_in_user(request)
        self.audit.patient = user
        practice_ods = fields.pop("practice_id")
        entry = waiting_list.join_waiting_list(
            actor=Actor(user=user), practice_ods=practice_ods, wishes=waiting_list.Wishes(**fields)
        )
        self.audit.object_id = entry.pk
        entry = self.get_queryset().get(pk=entry.pk)
        return Response(WaitingListEntrySerializer(entry).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[ENTRY_ID],
        responses={
            204: None,
            **problems(
                403,
                422,
                examples=[
                    problem(403, "patients_only", waiting_list.PATIENTS_ONLY),
                    problem(422, "entry_closed", waiting_list.ENTRY_CLOSED),
                ],
            ),
        },
    )
    def destroy(self, request: Request, pk: str) -> Response:
        """Leave the waiting list. An offer you hold goes to the next patient at once. The
        entry is kept (status `left`) and still listed."""
        entry = self.get_object()
        self.audit.patient = entry.patient_id
        waiting_list.leave_waiting_list(
            actor=Actor(user=signed_in_user(request)), entry_id=entry.pk
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["waiting list"])
class WaitingListOfferViewSet(AuditedViewMixin, viewsets.GenericViewSet):
    """Offers made to the caller from the waiting list."""

    audit_object_type = "waiting_list_offer"
    lookup_value_regex = "[0-9a-fA-F-]{32,36}"
    serializer_class = WaitingListOfferSerializer

    def get_queryset(self) -> QuerySet[WaitingListOffer]:
        return WaitingListOffer.objects.filter(entry__patient=signed_in_user(self.request))

    @extend_schema(
        request=None,
        parameters=[OFFER_ID, IDEMPOTENCY_KEY],
        responses={
            200: AppointmentSerializer,
            201: AppointmentSerializer,
            **problems(
                403,
                404,
                409,
                422,
                examples=[
                    OFFER_NOT_FOUND,
                    problem(409, "offer_taken", holds.OFFER_TAKEN),
                    problem(409, "offer_expired", holds.OFFER_EXPIRED),
                    problem(409, "overlapping_appointment", said.OVERLAPPING),
                    TOO_MANY,
                    KEY_REUSED_PROBLEM,
                ],
            ),
        },
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def claim(self, request: Request, pk: str) -> Response:
        """Book the offered slot: 201 with the new appointment, or, for an entry that moves an
        appointment, 200 with that appointment at its new time. Every booking rule applies.
        409 `offer_taken` if someone else claimed it first, `offer_expired` once it ran out
        (you stay on the list either way)."""
        user = signed_in_user(request)
        self.audit.patient, self.audit.object_id = user, pk
        appointment, new = waiting_list.claim_offer(actor=Actor(user=user), offer_id=_uuid(pk))
        return _answer(
            appointment, status_code=status.HTTP_201_CREATED if new else status.HTTP_200_OK
        )

    @extend_schema(
        request=None,
        parameters=[OFFER_ID],
        responses={
            200: WaitingListOfferSerializer,
            **problems(
                404,
                422,
                examples=[OFFER_NOT_FOUND, problem(422, "offer_closed", holds.OFFER_CLOSED)],
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def decline(self, request: Request, pk: str) -> Response:
        """Turn the offer down: the slot goes to the next patient at once; you stay on the
        list and are not offered this slot again."""
        user = signed_in_user(request)
        self.audit.patient, self.audit.object_id = user, pk
        offer = waiting_list.decline_offer(actor=Actor(user=user), offer_id=_uuid(pk))
        offer = WaitingListOffer.objects.select_related("slot__clinician").get(pk=offer.pk)
        return Response(WaitingListOfferSerializer(offer).data)


def _uuid(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError as exc:
        raise NotFound(holds.OFFER_NOT_FOUND, code="offer_not_found") from exc
