"""The availability page is built from rows (practices.api.serializers.available_slot_rows):
the same document AvailableSlotSerializer, which declares the schema, gives for the slots."""

import datetime as dt

import pytest

from core.http.renderers import JSONRenderer
from practices.api.serializers import (
    AVAILABLE_SLOT_COLUMNS,
    AvailableSlotSerializer,
    available_slot_rows,
)
from practices.models import Slot, slot_type_name
from tests.factories import ClinicianFactory, SlotTypeFactory, free_slot

pytestmark = pytest.mark.django_db


def test_rows_render_as_the_serializer_renders_the_same_slots(riverside):
    riverside.address_line_2 = ""
    riverside.save()
    SlotTypeFactory(practice=riverside, code="minor_ops", name="Minor surgery (joint injections)")
    nurse = ClinicianFactory(practice=riverside, profession="nurse", gender="male")
    free_slot(riverside, hours_ahead=30)
    free_slot(riverside, hours_ahead=31, minutes=25, clinician=nurse, channel="telephone")
    free_slot(riverside, hours_ahead=32, minutes=7, slot_type="minor_ops", online_bookable=False)
    # A custom type without a practice name of its own falls back to one made from the code.
    SlotTypeFactory(practice=riverside, code="flu_clinic", name="")
    free_slot(riverside, hours_ahead=33, slot_type="flu_clinic", channel="video")
    slots = (
        Slot.objects.filter(practice=riverside)
        .annotate(type_name=slot_type_name("slot_type"))
        .order_by("start")
    )

    by_serializer = AvailableSlotSerializer(list(slots.select_related("practice")), many=True).data
    by_rows = available_slot_rows(list(slots.values(*AVAILABLE_SLOT_COLUMNS)), riverside)

    assert len(by_rows) == 4
    assert JSONRenderer().render(by_rows) == JSONRenderer().render(by_serializer)


def test_a_slot_at_an_odd_second_renders_as_the_serializer_renders_it(riverside):
    start = dt.datetime(2031, 3, 30, 0, 59, 59, 250_000, tzinfo=dt.UTC)
    free_slot(riverside, start=start)
    slots = Slot.objects.annotate(type_name=slot_type_name("slot_type"))

    by_serializer = AvailableSlotSerializer(list(slots.select_related("practice")), many=True).data
    by_rows = available_slot_rows(list(slots.values(*AVAILABLE_SLOT_COLUMNS)), riverside)

    assert JSONRenderer().render(by_rows) == JSONRenderer().render(by_serializer)
