"""Appointment lists are built from rows (booking.api.serializers.appointment_rows): the same
documents AppointmentSerializer, which declares the schema, gives for the appointments."""

import pytest

from booking import services
from booking.api.serializers import APPOINTMENT_COLUMNS, AppointmentSerializer, appointment_rows
from booking.services import Actor
from core.http.renderers import JSONRenderer
from practices.models import slot_type_name
from tests.factories import SlotTypeFactory, free_slot

pytestmark = pytest.mark.django_db


def test_rows_render_as_the_serializer_renders_the_same_appointments(alice, bob, riverside):
    SlotTypeFactory(practice=riverside, code="smear", name="Cervical screening")
    actor = Actor(user=alice)
    booked = services.book_appointment(
        actor=actor,
        slot_id=free_slot(riverside, hours_ahead=30, slot_type="smear").pk,
        description="Repeat test",
        comment="Léa's reminder: bring the letter",
    )
    cancelled = services.book_appointment(
        actor=actor, slot_id=free_slot(riverside, hours_ahead=50, channel="telephone").pk
    )
    services.cancel_appointment(actor=actor, appointment_id=cancelled.pk, reason="Feeling better")
    services.book_appointment(
        actor=Actor(user=bob), slot_id=free_slot(riverside, hours_ahead=70, minutes=25).pk
    )
    appointments = (
        services.appointment_list(user=alice, filters={})
        .annotate(type_name=slot_type_name("appointment_type"))
        .order_by("start")
    )

    by_serializer = AppointmentSerializer(list(appointments), many=True).data
    by_rows = appointment_rows(list(appointments.values(*APPOINTMENT_COLUMNS)))

    assert {row["status"] for row in by_rows} == {"booked", "cancelled"}
    assert booked.pk in {appointment.pk for appointment in appointments}
    assert JSONRenderer().render(by_rows) == JSONRenderer().render(by_serializer)
