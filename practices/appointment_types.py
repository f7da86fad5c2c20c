"""What appointment types are called, for people.

A practice's slots carry a type code (``Slot.slot_type``), the code of one of its slot types
(``SlotType``): the common ones below, which every practice starts with, or a practice's own
("minor_ops"). Clients show ``name``; they send the code back when searching or booking by
time. ``GET /api/v1/practices/{ods_code}/appointment-types`` lists the types a practice uses,
with the names the practice gave them.
"""

import datetime as dt
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import Practice, SlotType

# The common codes and their names; any other code is named from its spelling.
COMMON: dict[str, str] = {
    "routine": "Routine appointment",
    "urgent": "Urgent appointment (today)",
    "follow_up": "Follow-up appointment",
}
# What a new practice starts with, and how today's free-text codes were mapped when slot types
# became a model (migration practices 0005): national category and usual mode (GPAD).
DEFAULT_MAPPING: dict[str, dict[str, str]] = {
    "routine": {"national_category": "general_consultation_routine"},
    "urgent": {"national_category": "general_consultation_acute"},
    "follow_up": {"national_category": "general_consultation_routine"},
}
VOCABULARY = (
    "An appointment type code: `routine`, `urgent`, `follow_up`, or one of the practice's own "
    "(GET /api/v1/practices/{ods_code}/appointment-types lists a practice's codes with names "
    "patients can read)."
)


def name_of(code: str) -> str:
    """ "minor_ops" -> "Minor ops"; the common codes have names of their own."""
    return COMMON.get(code) or code.replace("_", " ").replace("-", " ").strip().capitalize()


def display_name(row: Any, code: str) -> str:
    """The name to show for ``row``'s type: the practice's own (querysets that serve the API
    annotate it as ``type_name``), else one made from the code."""
    return getattr(row, "type_name", None) or name_of(code)


def offered(practice: "Practice", *, today: dt.date) -> list["SlotType"]:
    """The practice's slot types its rota, or its sessions and slots from today, use: the
    common ones first, in their usual order, then the practice's own by name. One statement."""
    from django.db.models import Exists, OuterRef

    from .models import Session, SessionTemplate, Slot, SlotType

    def used_by(model: Any, **since: Any) -> Exists:
        return Exists(
            model.objects.filter(practice_id=practice.pk, slot_type=OuterRef("code"), **since)
        )

    # From the practice's local midnight, as an instant: the index on start serves it.
    midnight = dt.datetime.combine(today, dt.time.min, practice.tz)
    types = SlotType.objects.filter(practice_id=practice.pk).filter(
        used_by(SessionTemplate)
        | used_by(Session, date__gte=today)
        | used_by(Slot, start__gte=midnight)
    )
    order = list(COMMON)
    return sorted(
        types, key=lambda t: (order.index(t.code) if t.code in COMMON else len(order), t.name)
    )
