"""The outbox: a message is a row written in the transaction that causes it, sent after commit.

Each app keeps its own table of messages (``booking.Notification`` about appointments,
``accounts.AccountEmail`` about accounts) on the shared shape below, and one ``Outbox`` that
knows how to send a row. What this module guarantees for every table alike:

- Never lost: the row commits with the change, or neither does. The send task is enqueued after
  commit; if that task is lost, ``requeue_due`` (the worker's sweeper, every 30 seconds) finds
  the row and enqueues it again.
- Sent once where the provider allows: a row is locked while it is claimed, marked "sending"
  with a lease before the provider is called, and a second task for a row inside its lease
  does nothing. A worker that dies mid-send leaves a row whose lease runs out; it is sent again
  (a message may repeat, never vanish).
- Retried with backoff, then failed for good and kept for an operator to see.
"""

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# A row left "sending" this long was abandoned by a dead worker: the provider calls give up
# well within it (EMAIL_TIMEOUT, AWS_SES_CONFIG, the SNS client's timeouts, all under a minute
# with retries); the worker's own sweeper then sends it again.
STALE_SENDING = dt.timedelta(minutes=2)


def send_email(
    row: "OutboxMessage",
    *,
    subject: str,
    text: str,
    html: str,
    attachments: Iterable[tuple[str, bytes, str]] = (),
) -> str:
    """Send an outbox row's email (plain text and HTML, and any attachments) to its
    recipient; returns its Message-ID, made from the row's id so a resend can be recognised."""
    message_id = f"<{row.pk}@{settings.EMAIL_MESSAGE_ID_DOMAIN}>"
    mail = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[row.recipient],
        headers={"Message-ID": message_id},
    )
    mail.attach_alternative(html, "text/html")
    for name, content, mimetype in attachments:
        mail.attach(name, content, mimetype)
    mail.send(fail_silently=False)
    return message_id


def backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(minutes=2**attempts)  # 2, 4, 8, 16 minutes


class OutboxMessage(models.Model):
    """The shape every outbox table shares: where it goes, and how its sending went."""

    class Medium(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "SMS"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENDING = "sending", "Being sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed for good"

    medium = models.CharField(max_length=8, choices=Medium.choices)
    # What makes this message unique; a row whose key exists already is not written again.
    dedupe_key = models.CharField(max_length=100, unique=True)
    recipient = models.CharField(max_length=254)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    provider_message_id = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


M = TypeVar("M", bound=OutboxMessage)


@dataclass(frozen=True)
class Outbox(Generic[M]):
    """How one table's rows are sent: ``send`` returns the provider's message id or raises;
    ``enqueue`` hands row ids to the task queue, optionally not before ``run_after``."""

    model: type[M]
    send: Callable[[M], str]
    enqueue: Callable[[list[Any], dt.datetime | None], None]

    def write(self, rows: Iterable[M]) -> int:
        """Insert ``rows`` (skipping keys already written) and send them once this transaction
        commits; returns how many were offered."""
        rows = list(rows)
        if not rows:
            return 0
        self.model._default_manager.bulk_create(rows, ignore_conflicts=True)
        # Ids of rows the insert skipped do not exist; deliver treats them as already done.
        ids = [row.pk for row in rows]
        transaction.on_commit(lambda: self.enqueue(ids, None))
        return len(rows)

    def deliver(self, pk: Any) -> str:
        """Send one row; safe to run twice (a sent one is not sent again)."""
        Status = OutboxMessage.Status
        objects = self.model._default_manager
        with transaction.atomic():
            # Row lock: two workers given the same id send it once.
            row = objects.select_for_update().filter(pk=pk).first()
            if row is None or row.status in (Status.SENT, Status.FAILED):
                return row.status if row else "missing"
            # Another worker holds it ("sending" within its lease): a second task for the same
            # row (re-queued by a sweep) must not send it again.
            if row.status == Status.SENDING and (
                row.next_attempt_at is not None and row.next_attempt_at > timezone.now()
            ):
                return row.status
            row.status = Status.SENDING
            row.attempts += 1
            row.next_attempt_at = timezone.now() + STALE_SENDING
            row.save(update_fields=["status", "attempts", "next_attempt_at"])
        # The "sending" mark is committed before the provider is called, so a crash from here
        # on leaves a row that requeue_due will find: a message may repeat, but is never dropped.
        try:
            provider_id = self.send(row)
        except Exception as exc:  # any provider failure is retried, then recorded
            return self._failed(row, exc)
        objects.filter(pk=row.pk).update(
            status=Status.SENT,
            sent_at=timezone.now(),
            provider_message_id=provider_id[:200],
            last_error="",
            next_attempt_at=None,
        )
        return Status.SENT

    def _failed(self, row: M, exc: Exception) -> str:
        Status = OutboxMessage.Status
        objects = self.model._default_manager
        error = f"{type(exc).__name__}: {exc}"[:500]
        label = f"{self.model._meta.label} {row.pk}"
        if row.attempts >= MAX_ATTEMPTS:
            objects.filter(pk=row.pk).update(
                status=Status.FAILED, last_error=error, next_attempt_at=None
            )
            logger.error("%s failed for good after %s attempts", label, row.attempts)
            return Status.FAILED
        retry_at = timezone.now() + backoff(row.attempts)
        objects.filter(pk=row.pk).update(
            status=Status.PENDING, last_error=error, next_attempt_at=retry_at
        )
        self.enqueue([row.pk], retry_at)
        logger.warning(
            "%s attempt %s failed; retry at %s", label, row.attempts, retry_at.isoformat()
        )
        return Status.PENDING

    def requeue_due(self, *, now: dt.datetime | None = None) -> int:
        """Enqueue rows whose task was lost: pending and due, or stuck "sending".

        Each re-queued row gets a new lease, so a backlog is not enqueued again on every sweep,
        and rows another sweeper is handling at the same moment are skipped.
        """
        Status = OutboxMessage.Status
        objects = self.model._default_manager
        now = now or timezone.now()
        with transaction.atomic():
            due = (
                objects.filter(
                    Q(
                        status=Status.PENDING,
                        next_attempt_at__isnull=True,
                        created_at__lt=now - dt.timedelta(minutes=1),
                    )
                    | Q(status__in=[Status.PENDING, Status.SENDING], next_attempt_at__lte=now)
                )
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)
            )
            ids = list(due)
            if ids:
                # The lease: not re-queued again before it runs out, if its task is lost too.
                objects.filter(pk__in=ids).update(
                    status=Status.PENDING, next_attempt_at=now + STALE_SENDING
                )
                self.enqueue(ids, None)
        return len(ids)
