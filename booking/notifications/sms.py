"""Sending SMS through a small backend interface, chosen by the SMS_BACKEND setting."""

from typing import Protocol

import boto3
from botocore.config import Config
from django.conf import settings
from django.core.mail import send_mail
from django.utils.module_loading import import_string

from .redact import mask_phone

# A provider call gives up well inside delivery.STALE_SENDING (2 minutes), so a slow one is
# never taken for a dead worker and sent twice.
PROVIDER_TIMEOUTS = Config(connect_timeout=5, read_timeout=15, retries={"total_max_attempts": 2})


class SmsBackend(Protocol):
    def send(self, *, to: str, body: str, idempotency_key: str) -> str:
        """Send ``body`` to the E.164 number ``to``; return the provider's message id."""


class ConsoleSmsBackend:
    """Prints messages, the number masked: for `make run` only (production refuses it)."""

    def send(self, *, to: str, body: str, idempotency_key: str) -> str:
        print(f"SMS to {mask_phone(to)}: {body}")  # noqa: T201 - the console is its output
        return f"console-{idempotency_key}"


class MailSinkSmsBackend:
    """Delivers each SMS as an email to the local mail sink (Mailpit in docker compose), so a
    local stack shows patients' texts without a phone network and without logging numbers."""

    def send(self, *, to: str, body: str, idempotency_key: str) -> str:
        send_mail(
            subject=f"SMS to {mask_phone(to)}",
            message=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=["sms@mail-sink.invalid"],
        )
        return f"mail-sink-{idempotency_key}"


class LocMemSmsBackend:
    """Keeps messages in ``outbox``: for tests."""

    outbox: list[dict[str, str]] = []

    def send(self, *, to: str, body: str, idempotency_key: str) -> str:
        self.outbox.append({"to": to, "body": body, "idempotency_key": idempotency_key})
        return f"locmem-{len(self.outbox)}"


class SnsSmsBackend:
    """Amazon SNS: publish straight to a phone number as a transactional SMS."""

    def send(self, *, to: str, body: str, idempotency_key: str) -> str:
        client = boto3.client("sns", region_name=settings.AWS_REGION, config=PROVIDER_TIMEOUTS)
        attributes = {
            # Transactional: delivered even to numbers that opted out of marketing, at a
            # higher priority, as NHS appointment messages must be.
            "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}
        }
        if settings.SMS_SENDER_ID:
            attributes["AWS.SNS.SMS.SenderID"] = {
                "DataType": "String",
                "StringValue": settings.SMS_SENDER_ID,
            }
        response = client.publish(PhoneNumber=to, Message=body, MessageAttributes=attributes)
        return str(response["MessageId"])


def get_backend() -> SmsBackend:
    return import_string(settings.SMS_BACKEND)()
