"""Background tasks, run by the notifications worker (`manage.py notifications_worker`)."""

from django_tasks import task

from .notifications import delivery, offers


@task(queue_name="notifications")
def deliver_notification(notification_id: str) -> str:
    return delivery.deliver(notification_id)


@task(queue_name="notifications")
def deliver_offer_message(message_id: str) -> str:
    return offers.deliver(message_id)


@task(queue_name="waiting_list")
def match_waiting_list() -> int:
    """Offer every slot freed since the last run to the waiting list (safe to run twice)."""
    from .services import waiting_list

    return waiting_list.match_due()


@task(queue_name="waiting_list")
def expire_waiting_list_offers() -> int:
    """End offers whose time ran out, and offer their slots to the next in line."""
    from .services import waiting_list

    return waiting_list.expire_due()
