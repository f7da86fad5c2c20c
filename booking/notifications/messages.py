"""What each message says. SMS carry no clinical detail: practice, date, time, reference."""

import datetime as dt
from dataclasses import dataclass

from django.template.loader import render_to_string
from django.utils import timezone
from icalendar import Calendar, Event

from ..models import Appointment, Notification

# Keyed by Notification.Kind, looked up by the stored kind (a plain str).
SMS_TEXT: dict[str, str] = {
    Notification.Kind.CONFIRMATION: "{practice}: appointment booked for {when}. Ref {ref}.",
    Notification.Kind.RESCHEDULE: "{practice}: your appointment is now {when}. Ref {ref}.",
    Notification.Kind.CANCELLATION: (
        "{practice}: your appointment on {when} is cancelled. Ref {ref}."
    ),
    Notification.Kind.REMINDER: "{practice}: reminder of your appointment {when}. Ref {ref}.",
}
SMS_SUFFIX = " To change it call {phone}."
SMS_SEGMENT = 160
SUBJECTS: dict[str, str] = {
    Notification.Kind.CONFIRMATION: "Your appointment at {practice} is booked",
    Notification.Kind.RESCHEDULE: "Your appointment at {practice} has moved",
    Notification.Kind.CANCELLATION: "Your appointment at {practice} is cancelled",
    Notification.Kind.REMINDER: "Reminder: your appointment at {practice}",
}


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str
    ics: bytes | None


def _local(appointment: Appointment) -> dt.datetime:
    return timezone.localtime(appointment.start, appointment.practice.tz)


def sms_text(appointment: Appointment, kind: str) -> str:
    """One 160-character segment where the practice name allows."""
    when = f"{_local(appointment):%a %-d %b %H:%M}"
    text = SMS_TEXT[kind].format(
        practice=appointment.practice.name, when=when, ref=appointment.reference
    )
    suffix = (
        SMS_SUFFIX.format(phone=appointment.practice.phone) if appointment.practice.phone else ""
    )
    return text + suffix if len(text + suffix) <= SMS_SEGMENT else text


def email(appointment: Appointment, kind: str) -> Email:
    context = {
        "appointment": appointment,
        "kind": kind,
        "local_start": _local(appointment),
        "practice": appointment.practice,
        "clinician": appointment.clinician.display_name,
    }
    subject = SUBJECTS[kind].format(practice=appointment.practice.name)
    ics = None
    if kind in (
        Notification.Kind.CONFIRMATION,
        Notification.Kind.RESCHEDULE,
        Notification.Kind.CANCELLATION,
    ):
        ics = calendar(appointment, cancel=kind == Notification.Kind.CANCELLATION)
    return Email(
        subject=subject,
        text=render_to_string("notifications/appointment.txt", context),
        html=render_to_string("notifications/appointment.html", context),
        ics=ics,
    )


def calendar_uid(appointment: Appointment) -> str:
    # Stable for the appointment's life, so a reschedule updates and a cancel removes the
    # same calendar entry.
    return f"{appointment.id}@gp-booking"


def calendar(appointment: Appointment, *, cancel: bool = False) -> bytes:
    """An iCalendar REQUEST (or CANCEL) for the appointment, in UTC."""
    cal = Calendar()
    cal.add("prodid", "-//GP Booking//Appointments//EN")
    cal.add("version", "2.0")
    cal.add("method", "CANCEL" if cancel else "REQUEST")
    event = Event()
    event.add("uid", calendar_uid(appointment))
    event.add("sequence", appointment.version)
    event.add("dtstamp", timezone.now())
    event.add("dtstart", appointment.start)
    event.add("dtend", appointment.end)
    event.add("summary", f"Appointment at {appointment.practice.name}")
    event.add(
        "location",
        ", ".join(p for p in (appointment.practice.address, appointment.practice.postcode) if p),
    )
    event.add("description", f"Booking reference {appointment.reference}")
    event.add("status", "CANCELLED" if cancel else "CONFIRMED")
    cal.add_component(event)
    return cal.to_ical()
