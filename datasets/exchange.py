"""Export the booking data as JSON, and load such a file into an empty database.

The file holds practices (with opening hours, closures and staff memberships), clinicians,
weekly templates, sessions, slots, appointments with their history, and the users they refer
to: names, emails, roles and patient profiles, never passwords or tokens. Imported users get
unusable passwords; they sign in after a reset.

The waiting list is not exported: its offers last minutes, and its entries are patients'
wishes for the present. A slot held for an offer is exported free.
"""

import json
from collections.abc import Iterable, Iterator
from typing import IO, Any, cast

from django.core.management.color import no_style
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.utils import timezone

from accounts.models import PatientProfile, User
from booking.models import Appointment, AppointmentExtraSlot, AppointmentHistory
from practices.appointment_types import COMMON, DEFAULT_MAPPING, name_of
from practices.gpad import mode_for
from practices.models import (
    Clinician,
    Closure,
    ExternalBookability,
    OpeningHours,
    Practice,
    PracticeMembership,
    Session,
    SessionTemplate,
    Slot,
    SlotStatus,
    SlotType,
)

FORMAT = "gp-booking-export"
VERSION = 2  # 2: slot types, and the appointment fields NHS England's appointment data needs
USER_FIELDS = [
    "id",
    "email",
    "given_name",
    "family_name",
    "role",
    "is_staff",
    "is_active",
    "date_joined",
]

# In load order: each section refers only to sections above it.
SECTIONS: list[tuple[str, type[models.Model], list[str] | None]] = [
    ("practices", Practice, None),
    ("slot_types", SlotType, None),
    ("opening_hours", OpeningHours, None),
    ("closures", Closure, None),
    ("users", User, USER_FIELDS),
    ("patient_profiles", PatientProfile, None),
    ("memberships", PracticeMembership, None),
    ("clinicians", Clinician, None),
    ("session_templates", SessionTemplate, None),
    ("sessions", Session, None),
    # GP Connect's settings and appointments spanning several slots: a version 2 file from
    # before them has no such sections, and loads as it did.
    ("gp_connect_bookability", ExternalBookability, None),
    ("slots", Slot, None),
    ("appointments", Appointment, None),
    ("appointment_extra_slots", AppointmentExtraSlot, None),
    ("appointment_history", AppointmentHistory, None),
]


class ImportRefused(Exception):
    """The file or the database is not fit for an import."""


def _fields(model: type[models.Model], chosen: list[str] | None) -> list[str]:
    return chosen or [f.attname for f in model._meta.concrete_fields]


def _rows(model: type[models.Model], fields: list[str]) -> Iterator[dict[str, Any]]:
    queryset = model._default_manager.all()  # ``objects``: each model's one manager
    if model is User:
        # Only people the booking data refers to: no operators' accounts.
        queryset = queryset.filter(is_superuser=False)
    return queryset.order_by("pk").values(*fields).iterator(chunk_size=5000)


def export_data(out: IO[str]) -> dict[str, int]:
    """Write every section to ``out``, streaming row by row so memory stays flat."""
    counts: dict[str, int] = {}
    out.write(
        json.dumps(
            {"format": FORMAT, "version": VERSION, "exported_at": timezone.now().isoformat()}
        )[:-1]
    )
    for name, model, chosen in SECTIONS:
        out.write(f', "{name}": [')
        counts[name] = 0
        for row in _rows(model, _fields(model, chosen)):
            if model is Slot and row["status"] == SlotStatus.HELD:
                row["status"] = SlotStatus.FREE  # the hold ends with the offers it was for
            out.write(("," if counts[name] else "") + json.dumps(row, cls=DjangoJSONEncoder))
            counts[name] += 1
        out.write("]")
    out.write("}\n")
    return counts


def import_data(source: IO[str]) -> dict[str, int]:
    """Load an export into an empty database in one transaction; nothing is half-loaded."""
    try:
        document = json.load(source)
    except json.JSONDecodeError as exc:
        raise ImportRefused(f"Not a JSON file: {exc}") from exc
    if (
        not isinstance(document, dict)
        or document.get("format") != FORMAT
        or document.get("version") not in (1, VERSION)
    ):
        raise ImportRefused(f"Not a {FORMAT} version 1 or {VERSION} file")
    if document["version"] == 1:
        document = _from_version_1(document)
    if Practice.objects.exists() or Appointment.objects.exists() or Slot.objects.exists():
        raise ImportRefused("The database already holds practices, slots or appointments")

    counts = {}
    with transaction.atomic():
        for name, model, chosen in SECTIONS:
            fields = set(_fields(model, chosen))
            rows = document.get(name, [])
            objects = [_build(model, row, fields) for row in rows]
            if model is Slot:
                for slot in cast("list[Slot]", objects):
                    if slot.status == SlotStatus.HELD:  # no offers come with it
                        slot.status = SlotStatus.FREE
            if model is User:
                for user in cast("list[User]", objects):
                    user.set_unusable_password()
            model._default_manager.bulk_create(objects, batch_size=2000)
            counts[name] = len(objects)
        _reset_sequences(model for _, model, _ in SECTIONS)
    return counts


def _from_version_1(document: dict[str, Any]) -> dict[str, Any]:
    """A file from before slot types: each practice gets a type for every code its rows use
    (the common ones mapped, as the migration did), and appointments what can be known of
    their mode, professional and booking time."""
    types: dict[tuple[Any, str], dict[str, Any]] = {}
    for practice in document.get("practices", []):
        for code, mapping in DEFAULT_MAPPING.items():
            types[(practice.get("id"), code)] = {"name": COMMON[code], **mapping}
    for section in ("session_templates", "sessions", "slots", "appointments"):
        key = "appointment_type" if section == "appointments" else "slot_type"
        for row in document.get(section, []):
            if isinstance(row, dict) and isinstance(row.get(key), str):
                types.setdefault((row.get("practice_id"), row[key]), {"name": name_of(row[key])})
    document["slot_types"] = [
        {"practice_id": practice_id, "code": code, **fields}
        for (practice_id, code), fields in types.items()
    ]
    professions = {
        row.get("id"): row.get("profession") for row in document.get("clinicians", [])
        if isinstance(row, dict)
    }  # fmt: skip
    for row in document.get("appointments", []):
        if isinstance(row, dict):
            row.setdefault("booked_at", row.get("created_at"))
            row.setdefault("mode", mode_for(channel=row.get("channel", ""), default_mode=None))
            row.setdefault("clinician_profession", professions.get(row.get("clinician_id"), ""))
    return document


def _build(model: type[models.Model], row: Any, fields: set[str]) -> models.Model:
    if not isinstance(row, dict):
        raise ImportRefused(f"A {model.__name__} row is not an object")
    unknown = set(row) - fields
    if unknown:
        raise ImportRefused(f"Unexpected fields for {model.__name__}: {sorted(unknown)}")
    return model(**row)


def _reset_sequences(models_: Iterable[type[models.Model]]) -> None:
    # Rows came with their ids; the next id the database hands out must follow them.
    statements = connection.ops.sequence_reset_sql(no_style(), list(models_))
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
