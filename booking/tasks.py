"""Background tasks, run by the notifications worker (`manage.py notifications_worker`)."""

from django_tasks import task

from .notifications import delivery, offers


@task(queue_name="notifications")
def deliver_notification(notification_id: str) -> str:
    return delivery.deliver(notification_id)


# The waiting list's work is time-bound (a freed slot waits for its offer, an offer lasts
# minutes): the worker takes it before any backlog of confirmations and reminders.
WAITING_LIST_PRIORITY = 20
OFFER_MESSAGE_PRIORITY = 10


@task(queue_name="notifications", priority=OFFER_MESSAGE_PRIORITY)
def deliver_offer_message(message_id: str) -> str:
    return offers.deliver(message_id)


@task(queue_name="waiting_list", priority=WAITING_LIST_PRIORITY)
def match_waiting_list() -> int:
    """Offer every slot freed since the last run to the waiting list (safe to run twice)."""
    from .services import waiting_list

    return waiting_list.match_due()


@task(queue_name="waiting_list", priority=WAITING_LIST_PRIORITY)
def expire_waiting_list_offers() -> int:
    """End offers whose time ran out, and offer their slots to the next in line."""
    from .services import waiting_list

    return waiting_list.expire_due()
