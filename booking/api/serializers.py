"""Input and output shapes for /api/v1/appointments. Rules live in booking.services."""

import datetime as dt
from typing import Any

from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers

from core.http.fields import (
    AwareDateTimeField,
    BoundedCharField,
    StrictSerializer,
    WallClockTimeField,
    datetime_as_serialized,
)
from core.http.schema import ProblemSerializer
from practices.appointment_types import VOCABULARY, display_name, name_of
from practices.models import Channel, Gender

from ..models import (
    Appointment,
    AppointmentStatus,
    TimeOfDay,
    WaitingListEntry,
    WaitingListOffer,
)
from ..services import OUTCOMES


class _BookingSerializer(StrictSerializer):
    patient_id = serializers.UUIDField(
        required=False, help_text="Patients may omit it; staff must give it."
    )
    description = BoundedCharField(required=False, allow_blank=True, max_length=100)
    comment = BoundedCharField(required=False, allow_blank=True, max_length=500)


class BookBySlotSerializer(_BookingSerializer):
    """Book a slot from the availability search."""

    slot_id = serializers.UUIDField()
    practice_id = BoundedCharField(
        required=False,
        max_length=9,
        help_text="ODS code of the slot's practice, if you send it: checked against the slot "
        "(422 practice_mismatch when it differs).",
    )


class BookByTimeSerializer(_BookingSerializer):
    """Book by practice, time and type, as the original API did."""

    practice_id = BoundedCharField(max_length=9, help_text="ODS code")
    appointment_datetime = AwareDateTimeField()
    appointment_type = BoundedCharField(max_length=40, help_text=VOCABULARY)
    channel = serializers.ChoiceField(required=False, choices=Channel.choices)
    clinician_id = serializers.UUIDField(
        required=False,
        help_text="A clinician to book with; without it, any clinician's free slot of that "
        "type at that time.",
    )


class BookEarliestSerializer(_BookingSerializer):
    """Book the earliest free slot that matches: chosen on the server, never one another
    request is booking at that moment."""

    practice_id = BoundedCharField(max_length=9, help_text="ODS code")
    appointment_type = BoundedCharField(required=False, max_length=40, help_text=VOCABULARY)
    channel = serializers.ChoiceField(required=False, choices=Channel.choices)
    clinician_id = serializers.UUIDField(required=False)
    day = serializers.DateField(
        required=False, help_text="A day at the practice; without it, the earliest from now on."
    )
    from_time = WallClockTimeField(required=False, help_text="On `day`: not before this time")
    to_time = WallClockTimeField(required=False, help_text="On `day`: starting before this time")


class RescheduleToSlotSerializer(StrictSerializer):
    """Move to a slot from the availability search."""

    slot_id = serializers.UUIDField()


class RescheduleToTimeSerializer(StrictSerializer):
    """Move to another time at the same practice."""

    appointment_datetime = AwareDateTimeField()
    appointment_type = BoundedCharField(
        required=False, max_length=40, help_text=f"Defaults to the current type. {VOCABULARY}"
    )
    channel = serializers.ChoiceField(required=False, choices=Channel.choices)
    clinician_id = serializers.UUIDField(required=False)


def _by_slot(data: Any) -> bool:
    return isinstance(data, dict) and "slot_id" in data


def booking_request(data: Any) -> serializers.Serializer:
    """The form the body takes: with a ``slot_id``, the other form's fields are unknown."""
    return (BookBySlotSerializer if _by_slot(data) else BookByTimeSerializer)(data=data)


def reschedule_request(data: Any) -> serializers.Serializer:
    return (RescheduleToSlotSerializer if _by_slot(data) else RescheduleToTimeSerializer)(data=data)


# The request bodies as the schema shows them: exactly one of the two forms.
AppointmentCreateRequest = PolymorphicProxySerializer(
    component_name="AppointmentCreate",
    serializers=[BookBySlotSerializer, BookByTimeSerializer],
    resource_type_field_name=None,
)
RescheduleRequest = PolymorphicProxySerializer(
    component_name="Reschedule",
    serializers=[RescheduleToSlotSerializer, RescheduleToTimeSerializer],
    resource_type_field_name=None,
)


class CancelSerializer(StrictSerializer):
    reason = BoundedCharField(max_length=500)


class OutcomeSerializer(StrictSerializer):
    outcome = serializers.ChoiceField(choices=[(s, AppointmentStatus(s).label) for s in OUTCOMES])


class AmendSerializer(StrictSerializer):
    description = BoundedCharField(required=False, allow_blank=True, max_length=100)
    comment = BoundedCharField(required=False, allow_blank=True, max_length=500)


MAX_LIST_RANGE = dt.timedelta(days=366)
LIST_RANGE_TOO_WIDE = "The range may span at most 366 days."


class AppointmentListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(required=False, choices=AppointmentStatus.choices)
    start = AwareDateTimeField(required=False, help_text="Only appointments starting at or after")
    end = AwareDateTimeField(required=False, help_text="Only appointments starting before")
    practice = BoundedCharField(required=False, max_length=9, help_text="ODS code")
    clinician = serializers.UUIDField(required=False)
    patient = serializers.UUIDField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "start" in attrs and "end" in attrs and attrs["end"] - attrs["start"] > MAX_LIST_RANGE:
            raise serializers.ValidationError({"end": [LIST_RANGE_TOO_WIDE]}, code="range_too_wide")
        return attrs


class AppointmentClinicianSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="clinician_id")
    name = serializers.CharField(source="clinician.display_name")


class AppointmentSerializer(serializers.ModelSerializer):
    patient_id = serializers.UUIDField()
    practice_id = serializers.CharField(source="practice.ods_code")
    slot_id = serializers.UUIDField()
    clinician = AppointmentClinicianSerializer(source="*")
    appointment_datetime = serializers.DateTimeField(source="start")
    appointment_type = serializers.CharField(help_text=VOCABULARY)
    appointment_type_name = serializers.SerializerMethodField(
        help_text="The type as patients read it"
    )

    def get_appointment_type_name(self, appointment: Appointment) -> str:
        return display_name(appointment, appointment.appointment_type)

    class Meta:
        model = Appointment
        fields = [
            "id",
            "reference",
            "status",
            "patient_id",
            "practice_id",
            "slot_id",
            "clinician",
            "appointment_datetime",
            "start",
            "end",
            "appointment_type",
            "appointment_type_name",
            "channel",
            "description",
            "comment",
            "cancellation_reason",
            "cancelled_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


# The hot path: a list page built from .values() rows, the same documents
# AppointmentSerializer gives for the same appointments (tests/booking/test_list_rows.py holds
# them equal) at a fraction of the Python. The serializer still declares the schema.
APPOINTMENT_COLUMNS = (
    "id",
    "reference",
    "status",
    "patient_id",
    "practice__ods_code",
    "slot_id",
    "clinician_id",
    "clinician__display_name",
    "start",
    "end",
    "appointment_type",
    "type_name",
    "channel",
    "description",
    "comment",
    "cancellation_reason",
    "cancelled_at",
    "created_at",
    "updated_at",
)


def appointment_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` (of APPOINTMENT_COLUMNS, ``type_name`` annotated) as AppointmentSerializer
    renders them."""
    return [
        {
            "id": str(row["id"]),
            "reference": row["reference"],
            "status": row["status"],
            "patient_id": str(row["patient_id"]),
            "practice_id": row["practice__ods_code"],
            "slot_id": str(row["slot_id"]),
            "clinician": {"id": str(row["clinician_id"]), "name": row["clinician__display_name"]},
            "appointment_datetime": datetime_as_serialized(row["start"]),
            "start": datetime_as_serialized(row["start"]),
            "end": datetime_as_serialized(row["end"]),
            "appointment_type": row["appointment_type"],
            "appointment_type_name": row["type_name"] or name_of(row["appointment_type"]),
            "channel": row["channel"],
            "description": row["description"],
            "comment": row["comment"],
            "cancellation_reason": row["cancellation_reason"],
            "cancelled_at": datetime_as_serialized(row["cancelled_at"]),
            "created_at": datetime_as_serialized(row["created_at"]),
            "updated_at": datetime_as_serialized(row["updated_at"]),
        }
        for row in rows
    ]


class AlternativeClinicianSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class AlternativeSlotSerializer(serializers.Serializer):
    """A free slot near the one asked for, bookable by its ``slot_id``."""

    slot_id = serializers.UUIDField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    appointment_type = serializers.CharField()
    channel = serializers.ChoiceField(choices=Channel.choices)
    clinician = AlternativeClinicianSerializer()


class SlotUnavailableProblemSerializer(ProblemSerializer):
    """A problem about a slot that is not free (``code`` ``slot_taken``, or ``no_free_slot`` when
    booking by time): with the nearest free ones. Other 409s carry no ``alternatives``."""

    alternatives = AlternativeSlotSerializer(
        many=True,
        required=False,
        help_text="Up to 5 free slots nearest to the one asked for, soonest first.",
    )

    class Meta:
        ref_name = "SlotUnavailableProblem"


# The waiting list ------------------------------------------------------------------------------

MAX_WISHES = 10
WISHED_GENDERS = [(g, label) for g, label in Gender.choices if g != Gender.UNKNOWN]


class WaitingListJoinSerializer(StrictSerializer):
    """Join a practice's waiting list, saying what you would accept (omit a list for "any")."""

    practice_id = BoundedCharField(max_length=9, help_text="ODS code")
    earliest_date = serializers.DateField(
        required=False,
        help_text="First day you could come (the practice's local date); today if omitted.",
    )
    latest_date = serializers.DateField(
        help_text="Last day you could come: at most the practice's booking window ahead."
    )
    appointment_types = serializers.ListField(
        child=BoundedCharField(max_length=40),
        required=False,
        max_length=MAX_WISHES,
        help_text=f"Codes of the types you would take. {VOCABULARY}",
    )
    times_of_day = serializers.ListField(
        child=serializers.ChoiceField(choices=TimeOfDay.choices),
        required=False,
        max_length=len(TimeOfDay.choices),
    )
    channels = serializers.ListField(
        child=serializers.ChoiceField(choices=Channel.choices),
        required=False,
        max_length=len(Channel.choices),
    )
    clinician_id = serializers.UUIDField(required=False, help_text="Only this clinician")
    clinician_gender = serializers.ChoiceField(required=False, choices=WISHED_GENDERS)
    move_appointment_id = serializers.UUIDField(
        required=False,
        help_text="Move this appointment of yours instead of booking another: only earlier "
        "slots are offered, and claiming one reschedules it.",
    )


class OfferClinicianSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="slot.clinician_id")
    name = serializers.CharField(source="slot.clinician.display_name")


class OfferSlotSerializer(serializers.Serializer):
    """The slot offered (held for the patient while the offer is open)."""

    id = serializers.UUIDField(source="slot_id")
    start = serializers.DateTimeField(source="slot.start")
    end = serializers.DateTimeField(source="slot.end")
    appointment_type = serializers.CharField(source="slot.slot_type")
    channel = serializers.ChoiceField(source="slot.channel", choices=Channel.choices)
    clinician = OfferClinicianSerializer(source="*")


class WaitingListOfferSerializer(serializers.ModelSerializer):
    slot = OfferSlotSerializer(source="*")
    appointment_id = serializers.UUIDField(allow_null=True)

    class Meta:
        model = WaitingListOffer
        fields = ["id", "status", "slot", "offered_at", "expires_at", "closed_at", "appointment_id"]
        read_only_fields = fields


class WaitingListEntrySerializer(serializers.ModelSerializer):
    practice_id = serializers.CharField(source="practice.ods_code")
    patient_id = serializers.UUIDField()
    clinician_id = serializers.UUIDField(allow_null=True)
    move_appointment_id = serializers.UUIDField(allow_null=True)
    clinician_gender = serializers.ChoiceField(
        choices=WISHED_GENDERS, allow_blank=True, help_text='"" for any'
    )
    offers = WaitingListOfferSerializer(many=True, help_text="Newest first")

    class Meta:
        model = WaitingListEntry
        fields = [
            "id",
            "status",
            "practice_id",
            "patient_id",
            "earliest_date",
            "latest_date",
            "appointment_types",
            "times_of_day",
            "channels",
            "clinician_id",
            "clinician_gender",
            "move_appointment_id",
            "joined_at",
            "closed_at",
            "offers",
        ]
        read_only_fields = fields
