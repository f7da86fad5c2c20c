"""Messages to waiting patients: a slot offered (with the link to claim it), and an offered
slot gone to someone else. Through the outbox, like every message (core.outbox).

SMS carry no clinical detail: the practice, the time, how long it is held, the link.
"""

import datetime as dt
from typing import Any

from django.conf import settings
from django.core import signing
from django.template.loader import render_to_string
from django.utils import timezone

from core.outbox import Outbox, send_email

from ..models import OfferMessage, WaitingListOffer
from . import sms
from .delivery import recipients

CLAIM_PATH = "/waiting-list/offers/{id}"
TOKEN_SALT = "booking.waiting-list-offer"  # noqa: S105  # a signing namespace, not a secret

SMS_TEXT: dict[str, str] = {
    OfferMessage.Kind.OFFER: (
        "{practice}: an earlier appointment is free, {when}. It is held for you until {until}. "
        "To book it: {link}"
    ),
    OfferMessage.Kind.GONE: (
        "{practice}: sorry, the appointment on {when} we offered you has been taken. You are "
        "still on the waiting list."
    ),
}
SUBJECTS: dict[str, str] = {
    OfferMessage.Kind.OFFER: "An earlier appointment at {practice} is free",
    OfferMessage.Kind.GONE: "The appointment we offered you at {practice} has gone",
}


def queue(offer: WaitingListOffer, kind: str) -> int:
    """Outbox rows for each channel the waiting patient opted into, sent after commit."""
    patient = offer.entry.patient
    return OUTBOX.write(
        OfferMessage(
            offer=offer,
            kind=kind,
            medium=medium,
            recipient=recipient,
            dedupe_key=f"offer:{offer.pk}:{kind}:{medium}",
        )
        for medium, recipient in recipients(patient)
    )


def claim_token(offer: WaitingListOffer) -> str:
    """Proof, for the claim page, that whoever opens the link received this offer."""
    return signing.dumps(str(offer.pk), salt=TOKEN_SALT, compress=False)


def offer_from_token(token: str, *, max_age: dt.timedelta) -> str | None:
    """The offer id a link's token names, or None for a forged or old one."""
    try:
        return str(signing.loads(token, salt=TOKEN_SALT, max_age=max_age))
    except signing.BadSignature:
        return None


def claim_link(offer: WaitingListOffer) -> str:
    base = settings.ACCOUNT_LINK_BASE_URL.rstrip("/")
    return f"{base}{CLAIM_PATH.format(id=offer.pk)}?token={claim_token(offer)}"


def _context(offer: WaitingListOffer, kind: str) -> dict[str, Any]:
    practice = offer.slot.practice
    tz = practice.tz
    until = timezone.localtime(offer.expires_at, tz)
    same_day = until.date() == timezone.localtime(offer.offered_at, tz).date()
    return {
        "kind": kind,
        "offer": offer,
        "practice": practice,
        "clinician": offer.slot.clinician.display_name,
        "when": f"{timezone.localtime(offer.slot.start, tz):%a %-d %b %H:%M}",
        "until": f"{until:%H:%M}" if same_day else f"{until:%a %-d %b %H:%M}",
        "link": claim_link(offer),
    }


def _send(row: OfferMessage) -> str:
    offer = WaitingListOffer.objects.select_related(
        "slot__practice", "slot__clinician", "entry"
    ).get(pk=row.offer_id)
    if row.kind == OfferMessage.Kind.OFFER and (
        not offer.is_open or offer.expires_at <= timezone.now()
    ):
        return "skipped: the offer had ended before it could be sent"
    context = _context(offer, row.kind)
    if row.medium == OfferMessage.Medium.SMS:
        body = SMS_TEXT[row.kind].format(
            practice=context["practice"].name,
            when=context["when"],
            until=context["until"],
            link=context["link"],
        )
        return sms.get_backend().send(to=row.recipient, body=body, idempotency_key=str(row.pk))
    return send_email(
        row,
        subject=SUBJECTS[row.kind].format(practice=context["practice"].name),
        text=render_to_string("notifications/offer.txt", context),
        html=render_to_string("notifications/offer.html", context),
    )


def _enqueue(ids: list[Any], run_after: dt.datetime | None = None) -> None:
    from ..tasks import deliver_offer_message

    task = deliver_offer_message.using(run_after=run_after) if run_after else deliver_offer_message
    for pk in ids:
        task.enqueue(str(pk))


OUTBOX = Outbox(model=OfferMessage, send=_send, enqueue=_enqueue)
deliver = OUTBOX.deliver
requeue_due = OUTBOX.requeue_due
