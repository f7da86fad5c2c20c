"""Email backends for places without a mail provider.

- ``RedactedConsoleEmailBackend``: which message went where, without the personal data.
  Django's own console backend prints whole messages: the address, the patient's name and the
  appointment. This one prints the masked address and the subject only.
- ``PlainFileEmailBackend`` (``make run``): each message as a plain-text file a developer can
  read or grep (Django's file backend writes MIME, where long lines such as a link are
  quoted-printable and broken up).
"""

import datetime as dt
import uuid
from collections.abc import Sequence
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend

from .redact import mask_email


class RedactedConsoleEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for message in email_messages:
            recipients = ", ".join(mask_email(address) for address in message.recipients())
            print(f"Email to {recipients}: {message.subject}")  # noqa: T201 - its output
        return len(email_messages)


class PlainFileEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        folder = Path(settings.EMAIL_FILE_PATH)
        folder.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            # Sortable names: the newest sorts last (and `ls -t` shows it first).
            name = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:8]}.txt"
            (folder / name).write_text(
                f"To: {', '.join(message.recipients())}\nSubject: {message.subject}\n\n"
                f"{message.body}\n"
            )
        return len(email_messages)
