"""What GP Connect consumers send, read strictly: search parameters (``query``) and Appointment
resources (``bodies``). Each function returns plain values or raises the FhirError the
specification (or, where it is silent, the provider assurance tests) gives for that mistake.

Callers import from here.
"""

from .bodies import (
    COMMENT_MAX,
    DESCRIPTION_MAX,
    NewAppointment,
    amendment,
    cancellation,
    if_match,
    json_resource,
    new_appointment,
)
from .query import UK, SlotSearch, appointment_range, logical_id, nhs_number, slot_search

__all__ = [
    "COMMENT_MAX",
    "DESCRIPTION_MAX",
    "UK",
    "NewAppointment",
    "SlotSearch",
    "amendment",
    "appointment_range",
    "cancellation",
    "if_match",
    "json_resource",
    "logical_id",
    "new_appointment",
    "nhs_number",
    "slot_search",
]
