"""A console email backend that shows which message went where, without the personal data.

Django's own console backend prints whole messages: the address, the patient's name and the
appointment. This one prints the masked address and the subject only.
"""

from collections.abc import Sequence

from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend

from .redact import mask_email


class RedactedConsoleEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for message in email_messages:
            recipients = ", ".join(mask_email(address) for address in message.recipients())
            print(f"Email to {recipients}: {message.subject}")  # noqa: T201 - its output
        return len(email_messages)
