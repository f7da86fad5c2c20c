"""Messages to patients about their appointments, through the outbox (core.outbox).

Queued inside the booking transaction, sent after commit by the notifications worker; the
outbox guarantees none is lost and none is sent twice where the provider allows. Each send
carries the notification id as its idempotency key (the email's Message-ID; SNS SMS has no
such key, so a worker that crashes between the provider's acceptance and our "sent" mark can
repeat an SMS after the lease runs out, but never drop one).
"""

import datetime as dt
import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from core.outbox import STALE_SENDING, Outbox, send_email

from ..models import Appointment, AppointmentStatus, Notification
from . import messages, sms

logger = logging.getLogger(__name__)

__all__ = ["STALE_SENDING", "deliver", "queue_for", "queue_reminders", "requeue_due"]


def queue_for(appointment: Appointment, kind: str, *, key: str | None = None) -> int:
    """Outbox rows for each channel the patient opted into, sent once this transaction
    commits; returns how many. Called by the booking services inside their transaction.

    ``key`` makes the message unique (default: this version of the appointment); a row whose
    key exists already is not made again.
    """
    return OUTBOX.write(_outbox_rows(appointment, kind, key=key))


def _outbox_rows(appointment: Appointment, kind: str, *, key: str | None = None) -> list:
    """The unsaved outbox rows ``queue_for`` writes: one per channel the patient opted into."""
    key = key or f"v{appointment.version}"
    return [
        Notification(
            appointment=appointment,
            kind=kind,
            medium=medium,
            recipient=recipient,
            dedupe_key=f"{appointment.pk}:{kind}:{medium}:{key}",
        )
        for medium, recipient in recipients(appointment.patient)
    ]


def recipients(patient: User) -> list[tuple[str, str]]:
    """(medium, address) for each channel the patient opted into."""
    profile = getattr(patient, "patient_profile", None)
    if profile is None:
        return []
    wanted: list[tuple[str, str]] = []
    if profile.notify_by_email and patient.email:
        wanted.append((Notification.Medium.EMAIL, patient.email))
    if profile.notify_by_sms and profile.phone:
        wanted.append((Notification.Medium.SMS, profile.phone))
    return wanted


def _enqueue(ids: list[Any], run_after: dt.datetime | None = None) -> None:
    from ..tasks import deliver_notification

    task = deliver_notification.using(run_after=run_after) if run_after else deliver_notification
    for pk in ids:
        task.enqueue(str(pk))


def _send(note: Notification) -> str:
    appointment = Appointment.objects.select_related("practice", "clinician", "patient").get(
        pk=note.appointment_id
    )
    if note.medium == Notification.Medium.SMS:
        body = messages.sms_text(appointment, note.kind)
        return sms.get_backend().send(to=note.recipient, body=body, idempotency_key=str(note.pk))
    content = messages.email(appointment, note.kind)
    attachments = []
    if content.ics is not None:
        method = "CANCEL" if note.kind == Notification.Kind.CANCELLATION else "REQUEST"
        attachments.append(
            ("appointment.ics", content.ics, f"text/calendar; method={method}; charset=UTF-8")
        )
    return send_email(
        note, subject=content.subject, text=content.text, html=content.html, attachments=attachments
    )


OUTBOX = Outbox(model=Notification, send=_send, enqueue=_enqueue)
deliver = OUTBOX.deliver
requeue_due = OUTBOX.requeue_due


def queue_reminders(*, now: dt.datetime | None = None) -> int:
    """Reminder rows for booked appointments inside their practice's reminder window.

    Idempotent: one reminder per appointment time and channel (the key includes the start),
    so running it twice, or every few minutes, sends nothing twice; a rescheduled
    appointment gets a reminder for its new time.
    """
    now = now or timezone.now()
    horizon = now + dt.timedelta(hours=_longest_reminder_hours())
    upcoming = Appointment.objects.filter(
        status=AppointmentStatus.BOOKED,
        start__gt=now,
        start__lte=horizon,
        practice__reminder_hours_before__gt=0,
    ).select_related("practice", "patient__patient_profile")
    due = [
        a for a in upcoming if a.start <= now + dt.timedelta(hours=a.practice.reminder_hours_before)
    ]
    reminded = set(
        Notification.objects.filter(
            appointment__in=due, kind=Notification.Kind.REMINDER
        ).values_list("dedupe_key", flat=True)
    )
    queued = 0
    with transaction.atomic():
        for appointment in due:
            key = f"at-{appointment.start:%Y%m%dT%H%MZ}"
            if not any(
                k.startswith(f"{appointment.pk}:reminder:") and k.endswith(key) for k in reminded
            ):
                queued += queue_for(appointment, Notification.Kind.REMINDER, key=key)
    return queued


def _longest_reminder_hours() -> int:
    from practices.models import Practice

    return max(Practice.objects.values_list("reminder_hours_before", flat=True), default=0)
