"""Booking's services, by concern:

- ``commands``: the state changes (book, book several adjacent slots as one appointment,
  book the slot at a time, book the earliest free slot that matches, reschedule, reschedule to
  the slot at a time, cancel, record an outcome, amend notes), each one transaction;
- ``rules``: the booking rules and the messages they answer with;
- ``locking``: the locks the commands take, and in which order;
- ``selectors``: reads across models (the slot at a time, free alternatives, the list);
- ``waiting_list``: join, leave, offers (match, claim, decline, expire) and the staff's
  side; ``holds``: what every booking command does about slots held for offers.

Callers import from here.
"""

from .commands import (
    SlotWish,
    amend_notes,
    book_appointment,
    book_earliest,
    book_slot_at,
    book_slots,
    cancel_appointment,
    record_outcome,
    reschedule_appointment,
    reschedule_to_time,
)
from .rules import (
    OUTCOMES,
    STAFF_MAY,
    Actor,
    Organisation,
    StaffAction,
    is_external,
    possible_outcomes,
    staff_may,
)
from .selectors import appointment_list, find_slot, free_alternatives

__all__ = [
    "OUTCOMES",
    "STAFF_MAY",
    "Actor",
    "Organisation",
    "StaffAction",
    "SlotWish",
    "amend_notes",
    "appointment_list",
    "book_appointment",
    "book_earliest",
    "book_slot_at",
    "book_slots",
    "cancel_appointment",
    "find_slot",
    "free_alternatives",
    "is_external",
    "possible_outcomes",
    "record_outcome",
    "reschedule_appointment",
    "reschedule_to_time",
    "staff_may",
]
