"""Thin views for /api/v1/appointments: parse, call one service, shape the answer."""

from typing import Any

from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from config.exceptions import InvalidInput
from config.http.audit import AuditedViewMixin

from .. import services
from ..models import Appointment
from ..services import Actor
from .idempotency import idempotent
from .serializers import (
    AmendSerializer,
    AppointmentCreateSerializer,
    AppointmentListQuerySerializer,
    AppointmentSerializer,
    CancelSerializer,
    OutcomeSerializer,
    RescheduleSerializer,
)

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Retry-safe POST: the same key and body return the first response for 24 hours.",
)
IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description="The ETag you read; a stale one is refused with 412.",
)
BAD_IF_MATCH = 'If-Match must be an ETag from this API, such as "3".'


def _expected_version(request: Request) -> int | None:
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    tag = header.strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise InvalidInput(BAD_IF_MATCH, code="invalid_if_match")
    return int(tag)


def _answer(appointment: Appointment, *, status_code: int = status.HTTP_200_OK) -> Response:
    headers = {"ETag": appointment.etag}
    if status_code == status.HTTP_201_CREATED:
        headers["Location"] = reverse("booking:appointment-detail", kwargs={"pk": appointment.pk})
    return Response(AppointmentSerializer(appointment).data, status=status_code, headers=headers)


@extend_schema(tags=["appointments"])
class AppointmentViewSet(AuditedViewMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Appointments the caller may see: patients their own, staff their practices'."""

    audit_object_type = "appointment"
    serializer_class = AppointmentSerializer
    lookup_value_regex = "[0-9a-fA-F-]{32,36}"

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return (
            Appointment.objects.visible_to(self.request.user)
            .select_related("practice", "clinician")
            .upcoming_first(timezone.now())
        )

    def _actor(self) -> Actor:
        return Actor(user=self.request.user)

    def get_object(self) -> Appointment:
        appointment = super().get_object()
        self.request.audit_patient = appointment.patient_id
        return appointment

    @extend_schema(parameters=[AppointmentListQuerySerializer])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        query = AppointmentListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        filters = query.validated_data
        appointments = self.get_queryset()
        if "status" in filters:
            appointments = appointments.filter(status=filters["status"])
        if "start" in filters:
            appointments = appointments.filter(start__gte=filters["start"])
        if "end" in filters:
            appointments = appointments.filter(start__lt=filters["end"])
        if "practice" in filters:
            appointments = appointments.filter(practice__ods_code=filters["practice"].upper())
        if "clinician" in filters:
            appointments = appointments.filter(clinician_id=filters["clinician"])
        if "patient" in filters:
            appointments = appointments.filter(patient_id=filters["patient"])
        request.audit_patient = request.user if request.user.is_patient else filters.get("patient")
        page = self.paginate_queryset(appointments)
        return self.get_paginated_response(AppointmentSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return _answer(self.get_object())

    @extend_schema(
        request=AppointmentCreateSerializer,
        responses={201: AppointmentSerializer},
        parameters=[IDEMPOTENCY_KEY],
    )
    @idempotent
    def create(self, request: Request) -> Response:
        data = AppointmentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        slot_id = fields.get("slot_id")
        if slot_id is None:
            slot_id = services.find_slot(
                user=request.user,
                practice_ods=fields["practice_id"],
                start=fields["appointment_datetime"],
                appointment_type=fields["appointment_type"],
                channel=fields.get("channel"),
                clinician_id=fields.get("clinician_id"),
            ).pk
        appointment = services.book_appointment(
            actor=self._actor(),
            slot_id=slot_id,
            patient_id=fields.get("patient_id"),
            description=fields.get("description", ""),
            comment=fields.get("comment", ""),
        )
        request.audit_patient, request.audit_object_id = appointment.patient_id, appointment.pk
        return _answer(appointment, status_code=status.HTTP_201_CREATED)

    @extend_schema(
        request=AmendSerializer, responses={200: AppointmentSerializer}, parameters=[IF_MATCH]
    )
    def partial_update(self, request: Request, pk: str) -> Response:
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
        request=RescheduleSerializer,
        responses={200: AppointmentSerializer},
        parameters=[IDEMPOTENCY_KEY, IF_MATCH],
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def reschedule(self, request: Request, pk: str) -> Response:
        data = RescheduleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        current = self.get_object()
        slot_id = fields.get("slot_id")
        if slot_id is None:
            slot_id = services.find_slot(
                user=request.user,
                practice_ods=current.practice.ods_code,
                start=fields["appointment_datetime"],
                appointment_type=fields.get("appointment_type", current.appointment_type),
                channel=fields.get("channel"),
                clinician_id=fields.get("clinician_id"),
            ).pk
        appointment = services.reschedule_appointment(
            actor=self._actor(),
            appointment_id=current.pk,
            new_slot_id=slot_id,
            expected_version=_expected_version(request),
        )
        return _answer(appointment)

    @extend_schema(
        request=CancelSerializer,
        responses={200: AppointmentSerializer},
        parameters=[IDEMPOTENCY_KEY, IF_MATCH],
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def cancel(self, request: Request, pk: str) -> Response:
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
        responses={200: AppointmentSerializer},
        parameters=[IDEMPOTENCY_KEY, IF_MATCH],
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def outcome(self, request: Request, pk: str) -> Response:
        data = OutcomeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        appointment = services.record_outcome(
            actor=self._actor(),
            appointment_id=self.get_object().pk,
            outcome=data.validated_data["outcome"],
            expected_version=_expected_version(request),
        )
        return _answer(appointment)
