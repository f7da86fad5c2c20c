"""Thin views for /api/v1/practices/."""

from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.nhs import normalise_postcode
from core.db import replica_reads
from core.http.caching import public_for
from core.http.fields import query_data
from core.http.schema import problem, problems

from .. import appointment_types
from ..models import Clinician, Closure, Practice, Slot, slot_type_name
from .serializers import (
    AVAILABLE_SLOT_COLUMNS,
    RANGE_TOO_WIDE,
    AppointmentTypeSerializer,
    AvailabilityQuerySerializer,
    AvailableSlotSerializer,
    ClinicianSerializer,
    PracticeDetailSerializer,
    PracticeSearchQuerySerializer,
    PracticeSerializer,
    available_slot_rows,
)


@extend_schema(tags=["practices"])
class PracticeViewSet(viewsets.ReadOnlyModelViewSet):
    """GP practices by ODS code: search, details, clinicians and free slots."""

    permission_classes = [AllowAny]
    # The first free slot of an availability answer can be booked at once.
    schema_links = {
        "availability": {
            "BookFirstSlot": {
                "operationId": "appointments_create",
                "requestBody": {"slot_id": "$response.body#/results/0/id"},
            }
        }
    }
    lookup_field = "ods_code"
    lookup_value_regex = "[A-Za-z0-9]{1,9}"
    serializer_class = PracticeSerializer

    def get_queryset(self) -> QuerySet[Practice]:
        practices = Practice.objects.active().order_by("name", "ods_code")
        if self.action == "retrieve":
            upcoming = Closure.objects.filter(end__gt=timezone.now()).order_by("start")
            practices = practices.prefetch_related(
                "opening_hours",
                Prefetch("closures", queryset=upcoming, to_attr="upcoming_closures"),
            )
        if self.action == "list":
            query = PracticeSearchQuerySerializer(data=query_data(self.request))
            query.is_valid(raise_exception=True)
            if search := query.validated_data.get("search", ""):
                practices = practices.filter(_search(search))
        return practices

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        # The directory is the same for everyone; availability depends on who asks.
        if self.action in ("list", "retrieve", "clinicians", "appointment_types"):
            public_for(response)
        return response

    def get_serializer_class(self) -> type[PracticeSerializer]:
        return PracticeDetailSerializer if self.action == "retrieve" else PracticeSerializer

    def get_object(self) -> Practice:
        # ODS codes are upper case; accept them typed in any case.
        return get_object_or_404(self.get_queryset(), ods_code=self.kwargs["ods_code"].upper())

    @extend_schema(parameters=[PracticeSearchQuerySerializer])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Active practices by name; `search` matches a name, an ODS code or a postcode (or
        its start). The same for everyone: cacheable for five minutes."""
        return super().list(request, *args, **kwargs)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """One practice by its ODS code (any case): address, opening hours, upcoming
        closures and its booking rules (how far ahead, minimum notice, cancellation cut-off)."""
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(responses=AppointmentTypeSerializer(many=True))
    @action(detail=True, url_path="appointment-types", pagination_class=None)
    def appointment_types(self, request: Request, ods_code: str) -> Response:
        """The appointment types this practice offers (its rota, sessions and slots from
        today): each type's code, to search and book with, and the name to show patients. A
        short list, not paged."""
        practice = self.get_object()
        types = appointment_types.offered(practice, today=timezone.localdate(timezone=practice.tz))
        return Response(AppointmentTypeSerializer(types, many=True).data)

    @extend_schema(responses=ClinicianSerializer(many=True))
    @action(detail=True)
    def clinicians(self, request: Request, ods_code: str) -> Response:
        """The practice's clinicians, to choose one by id or gender when searching for a slot
        or booking by time."""
        practice = self.get_object()
        page = self.paginate_queryset(Clinician.objects.at(practice).order_by("display_name", "id"))
        return self.get_paginated_response(ClinicianSerializer(page, many=True).data)

    @extend_schema(
        parameters=[AvailabilityQuerySerializer],
        responses={
            200: AvailableSlotSerializer(many=True),
            **problems(
                422,
                examples=[
                    problem(
                        422,
                        "validation_error",
                        "The request has invalid fields.",
                        errors={"end": [RANGE_TOO_WIDE]},
                    )
                ],
            ),
        },
    )
    @action(detail=True, permission_classes=[IsAuthenticated])
    def availability(self, request: Request, ods_code: str) -> Response:
        """Free slots wholly inside `start`..`end` (at most 14 days), soonest first, that the
        caller may book: patients see slots released online within the practice's window,
        staff also the practice-only ones. Filter by `type`, `channel` and `clinician`."""
        practice = self.get_object()
        query = AvailabilityQuerySerializer(
            data=query_data(request), context={"practice": practice}
        )
        query.is_valid(raise_exception=True)
        filters = query.validated_data
        slots = (
            Slot.objects.bookable_by(request.user, practice, now=timezone.now())
            .between(filters["start"], filters["end"])
            .annotate(type_name=slot_type_name("slot_type"))
            .order_by("start", "clinician__display_name", "id")
        )
        slots = slots.matching(
            slot_type=filters.get("type"),
            channel=filters.get("channel"),
            clinician_id=filters.get("clinician"),
        )
        # Rows, not models: the busiest read of the 8am rush (AvailableSlotSerializer's shape).
        # From the read replica where there is one: a slot booked a moment ago may still show,
        # and booking it is then a 409 with others, as any race lost.
        with replica_reads():
            page = self.paginate_queryset(slots.values(*AVAILABLE_SLOT_COLUMNS))
        assert page is not None  # DEFAULT_PAGINATION_CLASS is set: there is always a page
        return self.get_paginated_response(available_slot_rows(page, practice))


def _search(text: str) -> Q:
    compact = text.replace(" ", "").upper()
    postcode = normalise_postcode(text)
    by_postcode = Q(postcode=postcode) if postcode else Q(postcode__istartswith=text.upper())
    return Q(name__icontains=text) | Q(ods_code=compact) | by_postcode
