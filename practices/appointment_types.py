"""What appointment types are called, for people.

A practice's slots carry a type code (``Slot.slot_type``): one of the common ones below, or a
practice's own ("minor_ops"). Clients show ``name``; they send the code back when searching
or booking by time. ``GET /api/v1/practices/{ods_code}/appointment-types`` lists the codes a
practice uses.
"""

import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Practice

# The common codes and their names; any other code is named from its spelling.
COMMON: dict[str, str] = {
    "routine": "Routine appointment",
    "urgent": "Urgent appointment (today)",
    "follow_up": "Follow-up appointment",
}
VOCABULARY = (
    "An appointment type code: `routine`, `urgent`, `follow_up`, or one of the practice's own "
    "(GET /api/v1/practices/{ods_code}/appointment-types lists a practice's codes with names "
    "patients can read)."
)


def name_of(code: str) -> str:
    """ "minor_ops" -> "Minor ops"; the common codes have names of their own."""
    return COMMON.get(code) or code.replace("_", " ").replace("-", " ").strip().capitalize()


def codes_in_use(practice: "Practice", *, today: dt.date) -> list[str]:
    """Codes of the practice's weekly rota, and of its sessions and slots from today on: the
    common ones first, in their usual order, then the practice's own alphabetically."""
    found: set[str] = set()
    for queryset in (
        practice.session_templates.all(),
        practice.sessions.filter(date__gte=today),
        # From the practice's local midnight, as an instant: the index on start serves it.
        practice.slots.filter(start__gte=dt.datetime.combine(today, dt.time.min, practice.tz)),
    ):
        found.update(queryset.order_by().values_list("slot_type", flat=True).distinct())
    order = list(COMMON)
    return sorted(found, key=lambda c: (order.index(c) if c in COMMON else len(order), c))
