from django.core.management.base import BaseCommand

from accounts import emails as account_emails
from booking.notifications.delivery import queue_reminders, requeue_due


class Command(BaseCommand):
    help = (
        "Queue reminders for appointments inside their practice's reminder window, and "
        "re-queue notifications whose sending was lost. Idempotent: run it every few minutes."
    )

    def handle(self, *args: object, **options: object) -> None:
        reminders = queue_reminders()
        requeued = requeue_due() + account_emails.requeue_due()
        self.stdout.write(f"Queued {reminders} reminders; re-queued {requeued} notifications.")
