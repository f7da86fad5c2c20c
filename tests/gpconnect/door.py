"""What the interaction tests of the FHIR door send: its base path, UK times, and a booking
request shaped as the specification's example (book_appt_request_example.json)."""

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone

from gpconnect.resources import BOOKING_ORGANISATION_URL, ODS_SYSTEM, ORGANISATION_TYPE_SYSTEM

UK = ZoneInfo("Europe/London")
BASE = "/gpconnect/fhir"


def tomorrow_at(hour: int, minute: int = 0, *, days: int = 1) -> dt.datetime:
    day = timezone.localtime(timezone.now(), UK).date() + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=UK)


def booking(patient: Any, slots: list[Any], **changes: Any) -> dict[str, Any]:
    """A booking request as the specification's example makes one, for ``slots``."""
    body: dict[str, Any] = {
        "resourceType": "Appointment",
        "meta": {
            "profile": ["https://fhir.nhs.uk/STU3/StructureDefinition/GPConnect-Appointment-1"]
        },
        "contained": [
            {
                "resourceType": "Organization",
                "id": "1",
                "meta": {
                    "profile": [
                        "https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-GPC-Organization-1"
                    ]
                },
                "identifier": [{"system": ODS_SYSTEM, "value": "RYA"}],
                "type": [{"coding": [{"system": ORGANISATION_TYPE_SYSTEM, "code": "urgent-care"}]}],
                "name": "NHS 111 North West",
                "telecom": [{"system": "phone", "value": "0300 303 5678"}],
            }
        ],
        "extension": [{"url": BOOKING_ORGANISATION_URL, "valueReference": {"reference": "#1"}}],
        "status": "booked",
        "description": "Chest pain after a fall",
        "start": timezone.localtime(slots[0].start, UK).isoformat(timespec="seconds"),
        "end": timezone.localtime(slots[-1].end, UK).isoformat(timespec="seconds"),
        "slot": [{"reference": f"Slot/{slot.id}"} for slot in slots],
        "created": timezone.localtime(timezone.now(), UK).isoformat(timespec="seconds"),
        "comment": "Called NHS 111 at 21:40.",
        "participant": [
            {"actor": {"reference": f"Patient/{patient.id}"}, "status": "accepted"},
            {
                "actor": {"reference": f"Location/{slots[0].practice.ods_code}"},
                "status": "accepted",
            },
        ],
    }
    body.update(changes)
    return body
