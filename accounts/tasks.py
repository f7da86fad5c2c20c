"""Background tasks, run by the notifications worker (`manage.py notifications_worker`)."""

from django_tasks import task

from . import emails


@task(queue_name="notifications")
def deliver_account_email(email_id: str) -> str:
    return emails.deliver(email_id)
