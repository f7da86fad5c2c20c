"""The outbox: queue messages inside the booking transaction, send them after commit.

Never lost: the row is written in the same transaction as the change, so a rolled-back
booking sends nothing and a committed one always has its rows. The worker task is enqueued
after commit; if that enqueue or the worker is lost, ``requeue_due`` (run by the worker's own
sweeper every 30 seconds, and by ``send_reminders``) finds the row and enqueues it again.

Never doubled where the provider allows: each send carries the notification id as its
idempotency key (the email's Message-ID; SNS SMS has no such key, so a worker that crashes
between the provider's acceptance and our "sent" mark can repeat an SMS after the retry
delay, but never drop one).
"""

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..models import Appointment, AppointmentStatus, Notification
from . import messages, sms

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# A row left "sending" this long was abandoned by a dead worker: the provider calls give up
# well within it (EMAIL_TIMEOUT, AWS_SES_CONFIG, the SNS client's timeouts, all under a minute
# with retries); the worker's own sweeper (notifications_worker) then sends it again.
STALE_SENDING = dt.timedelta(minutes=2)


def _backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(minutes=2**attempts)  # 2, 4, 8, 16 minutes


def queue_for(appointment: Appointment, kind: str, *, key: str | None = None) -> int:
    """Outbox rows for each channel the patient opted into, sent once this transaction
    commits; returns how many. Called by the booking services inside their transaction.

    ``key`` makes the message unique (default: this version of the appointment); a row whose
    key exists already is not made again.
    """
    rows = _outbox_rows(appointment, kind, key=key)
    if not rows:
        return 0
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    _send_on_commit(rows)
    return len(rows)


def _outbox_rows(appointment: Appointment, kind: str, *, key: str | None = None) -> list:
    """The unsaved outbox rows ``queue_for`` writes: one per channel the patient opted into."""
    profile = getattr(appointment.patient, "patient_profile", None)
    if profile is None:
        return []
    wanted = []
    if profile.notify_by_email and appointment.patient.email:
        wanted.append((Notification.Medium.EMAIL, appointment.patient.email))
    if profile.notify_by_sms and profile.phone:
        wanted.append((Notification.Medium.SMS, profile.phone))
    key = key or f"v{appointment.version}"
    return [
        Notification(
            appointment=appointment,
            kind=kind,
            medium=medium,
            recipient=recipient,
            dedupe_key=f"{appointment.pk}:{kind}:{medium}:{key}",
        )
        for medium, recipient in wanted
    ]


def _send_on_commit(rows: list) -> None:
    # Ids of rows the insert skipped do not exist; the worker treats them as already done.
    ids = [row.pk for row in rows]
    transaction.on_commit(lambda: _enqueue(ids))


def _enqueue(ids: list, *, run_after: dt.datetime | None = None) -> None:
    from ..tasks import deliver_notification

    task = deliver_notification.using(run_after=run_after) if run_after else deliver_notification
    for pk in ids:
        task.enqueue(str(pk))


def deliver(notification_id: str) -> str:
    """Send one notification; safe to run twice (a sent one is not sent again)."""
    with transaction.atomic():
        # Row lock: two workers given the same id send it once.
        note = Notification.objects.select_for_update().filter(pk=notification_id).first()
        if note is None or note.status in (Notification.Status.SENT, Notification.Status.FAILED):
            return note.status if note else "missing"
        # Another worker holds it ("sending" within its lease): a second task for the same row
        # (re-queued by a sweep) must not send it again.
        if note.status == Notification.Status.SENDING and (
            note.next_attempt_at is not None and note.next_attempt_at > timezone.now()
        ):
            return note.status
        note.status = Notification.Status.SENDING
        note.attempts += 1
        note.next_attempt_at = timezone.now() + STALE_SENDING
        note.save(update_fields=["status", "attempts", "next_attempt_at"])
    # The "sending" mark is committed before the provider is called, so a crash from here on
    # leaves a row that requeue_due will find: a message may repeat, but is never dropped.
    appointment = Appointment.objects.select_related("practice", "clinician", "patient").get(
        pk=note.appointment_id
    )
    try:
        provider_id = _send(note, appointment)
    except Exception as exc:  # any provider failure is retried, then recorded
        return _failed(note, exc)
    Notification.objects.filter(pk=note.pk).update(
        status=Notification.Status.SENT,
        sent_at=timezone.now(),
        provider_message_id=provider_id[:200],
        last_error="",
        next_attempt_at=None,
    )
    return Notification.Status.SENT


def _send(note: Notification, appointment: Appointment) -> str:
    if note.medium == Notification.Medium.SMS:
        body = messages.sms_text(appointment, note.kind)
        return sms.get_backend().send(to=note.recipient, body=body, idempotency_key=str(note.pk))
    content = messages.email(appointment, note.kind)
    message_id = f"<{note.pk}@{settings.EMAIL_MESSAGE_ID_DOMAIN}>"
    mail = EmailMultiAlternatives(
        subject=content.subject,
        body=content.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[note.recipient],
        headers={"Message-ID": message_id},
    )
    mail.attach_alternative(content.html, "text/html")
    if content.ics is not None:
        method = "CANCEL" if note.kind == Notification.Kind.CANCELLATION else "REQUEST"
        mail.attach(
            "appointment.ics", content.ics, f"text/calendar; method={method}; charset=UTF-8"
        )
    mail.send(fail_silently=False)
    return message_id


def _failed(note: Notification, exc: Exception) -> str:
    error = f"{type(exc).__name__}: {exc}"[:500]
    if note.attempts >= MAX_ATTEMPTS:
        Notification.objects.filter(pk=note.pk).update(
            status=Notification.Status.FAILED, last_error=error, next_attempt_at=None
        )
        logger.error("notification %s failed for good after %s attempts", note.pk, note.attempts)
        return Notification.Status.FAILED
    retry_at = timezone.now() + _backoff(note.attempts)
    Notification.objects.filter(pk=note.pk).update(
        status=Notification.Status.PENDING, last_error=error, next_attempt_at=retry_at
    )
    _enqueue([note.pk], run_after=retry_at)
    logger.warning(
        "notification %s attempt %s failed; retry at %s",
        note.pk,
        note.attempts,
        retry_at.isoformat(),
    )
    return Notification.Status.PENDING


def requeue_due(*, now: dt.datetime | None = None) -> int:
    """Enqueue notifications whose task was lost: pending and due, or stuck "sending".

    Each re-queued row gets a new lease, so a backlog is not enqueued again on every sweep,
    and rows another sweeper is handling at the same moment are skipped.
    """
    now = now or timezone.now()
    with transaction.atomic():
        due = (
            Notification.objects.filter(
                Q(
                    status=Notification.Status.PENDING,
                    next_attempt_at__isnull=True,
                    created_at__lt=now - dt.timedelta(minutes=1),
                )
                | Q(
                    status__in=[Notification.Status.PENDING, Notification.Status.SENDING],
                    next_attempt_at__lte=now,
                )
            )
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)
        )
        ids = list(due)
        if ids:
            # The lease: not re-queued again before it runs out, if its task is lost too.
            Notification.objects.filter(pk__in=ids).update(
                status=Notification.Status.PENDING, next_attempt_at=now + STALE_SENDING
            )
            _enqueue(ids)
    return len(ids)


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
