"""Background tasks, run by the notifications worker (`manage.py notifications_worker`)."""

from django_tasks import task

from .notifications import delivery


@task(queue_name="notifications")
def deliver_notification(notification_id: str) -> str:
    return delivery.deliver(notification_id)
