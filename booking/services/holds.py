"""The waiting list's side of every booking command: slots held for offers, and slots freed.

The commands (``commands.py``) call these while they hold the slot's row lock, so a hold
cannot change under them. Lock order (see ``locking``): the patient's booking lock, the
appointment, the slot, then the slot's offers. The matcher and the expiry sweep (in
``waiting_list``) lock the slot before its offers too, so no two paths wait in a cycle.
"""

import datetime as dt
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from accounts.audit import record_event
from accounts.models import User
from core.exceptions import Conflict, NotFound
from practices.models import Slot, SlotStatus

from ..models import (
    Appointment,
    AppointmentHistory,
    OfferMessage,
    Vacancy,
    WaitingListEntry,
    WaitingListOffer,
)
from ..notifications import offers as offer_messages
from .rules import SLOT_TAKEN, Actor, is_external, is_staff_of
from .selectors import unavailable

OFFER_NOT_FOUND = "There is no such offer."
OFFER_TAKEN = "Sorry, someone else took this appointment first. You are still on the waiting list."
OFFER_EXPIRED = "This offer has run out. You are still on the waiting list."
OFFER_CLOSED = "This offer is no longer open."
ENTRY_DONE = "You have already booked an appointment from this waiting-list entry."

Status = WaitingListOffer.Status


def open_offers(slot: Slot) -> list[WaitingListOffer]:
    """The slot's open offers, locked (the caller holds the slot's lock)."""
    return list(
        WaitingListOffer.objects.select_for_update(of=("self",))
        .select_related("entry")
        .filter(slot=slot, status=Status.OPEN)
        .order_by("offered_at", "id")
    )


def admit(
    *,
    actor: Actor,
    slot: Slot,
    patient_id: UUID,
    offer_id: UUID | None,
    now: dt.datetime,
    moving: Appointment | None = None,
) -> WaitingListOffer | None:
    """May this booking take ``slot``? Returns the offer it claims (locked), if any.

    A held slot goes to the claimant of one of its open offers, or to the practice's staff
    (who can always book over a hold); once every offer on it has run out, to anyone. A claim
    that cannot be honoured is a 409 saying why.
    """
    if offer_id is not None:
        offer = (
            WaitingListOffer.objects.select_for_update(of=("self",))
            .select_related("entry")
            .filter(pk=offer_id, slot=slot, entry__patient_id=patient_id)
            .first()
        )
        if offer is None or (moving is not None and offer.entry.move_appointment_id != moving.pk):
            raise NotFound(OFFER_NOT_FOUND, code="offer_not_found")
        if offer.status == Status.GONE or (
            offer.status == Status.OPEN and slot.status != SlotStatus.HELD
        ):
            raise Conflict(OFFER_TAKEN, code="offer_taken")
        if offer.status == Status.EXPIRED or (
            offer.status == Status.OPEN and offer.expires_at <= now
        ):
            raise Conflict(OFFER_EXPIRED, code="offer_expired")
        if offer.status != Status.OPEN:
            raise Conflict(OFFER_CLOSED, code="offer_closed")
        if offer.entry.status != WaitingListEntry.Status.WAITING:
            # Booked from another offer already (the patient's lock orders their claims).
            raise Conflict(ENTRY_DONE, code="waiting_list_entry_closed")
        return offer
    if slot.status == SlotStatus.FREE:
        return None
    if slot.status == SlotStatus.HELD and (
        is_staff_of(actor.user, slot.practice_id)
        or not any(offer.expires_at > now for offer in open_offers(slot))
    ):
        return None
    if is_external(actor):
        # The slots a patient could book online instead are no answer to another
        # organisation, and GP Connect's refusal has no place for alternatives.
        raise Conflict(SLOT_TAKEN, code="slot_taken")
    raise unavailable(SLOT_TAKEN, "slot_taken", user=actor.user, slot=slot, now=now)


def settle(
    *,
    actor: Actor,
    slot: Slot,
    appointment: Appointment,
    claimed: WaitingListOffer | None,
    now: dt.datetime,
) -> None:
    """After ``appointment`` took ``slot``: the claimed offer is claimed and its entry booked;
    every other open offer of the slot ran out or is told the slot has gone."""
    if claimed is not None:
        WaitingListOffer.objects.filter(pk=claimed.pk).update(
            status=Status.CLAIMED, closed_at=now, appointment=appointment
        )
        WaitingListEntry.objects.filter(pk=claimed.entry_id).update(
            status=WaitingListEntry.Status.BOOKED, closed_at=now
        )
        audit_offer(claimed, action="waiting_list.claim", actor=actor.user)
    if slot.status != SlotStatus.HELD:
        return
    for offer in open_offers(slot):
        if offer.pk == getattr(claimed, "pk", None):
            continue
        if offer.expires_at <= now:
            close_offer(offer, status=Status.EXPIRED, now=now)
        else:
            _gone(offer, now=now)


def _gone(offer: WaitingListOffer, *, now: dt.datetime) -> None:
    """The slot went elsewhere (booked by someone else, or blocked): end the offer and tell
    the patient."""
    close_offer(offer, status=Status.GONE, now=now)
    offer_messages.queue(offer, OfferMessage.Kind.GONE)


def close_offer(
    offer: WaitingListOffer, *, status: str, now: dt.datetime, actor: User | None = None
) -> None:
    """End an open offer (the caller holds its slot's lock), with its audit row and, for a
    patient waiting to move an appointment, a line in that appointment's history."""
    WaitingListOffer.objects.filter(pk=offer.pk, status=Status.OPEN).update(
        status=status, closed_at=now
    )
    offer.status = status
    audit_offer(offer, action=f"waiting_list.offer_{status}", actor=actor)
    _note_on_moving_appointment(
        offer, action=AppointmentHistory.Action.OFFER_ENDED, details={"ended": status}
    )


def audit_offer(offer: WaitingListOffer, *, action: str, actor: User | None = None) -> None:
    """The patient's access log shows every offer, claim and ending (the system's or staff's)."""
    record_event(
        action=action,
        object_type="waiting_list_offer",
        object_id=offer.pk,
        source_address="",
        patient=offer.entry.patient_id,
        actor=actor,
        actor_role=None if actor else "system",
        allowed=True,
    )


def _note_on_moving_appointment(
    offer: WaitingListOffer, *, action: str, details: dict[str, str]
) -> None:
    appointment_id = offer.entry.move_appointment_id
    if appointment_id is None:
        return
    appointment = Appointment.objects.only("status").get(pk=appointment_id)
    AppointmentHistory.objects.create(
        appointment_id=appointment_id,
        action=action,
        from_status=appointment.status,
        to_status=appointment.status,
        source="command",
        details={"offer_id": str(offer.pk), "slot_id": str(offer.slot_id), **details},
    )


def note_offered(offer: WaitingListOffer, *, actor: User | None = None) -> None:
    audit_offer(offer, action="waiting_list.offer", actor=actor)
    _note_on_moving_appointment(
        offer,
        action=AppointmentHistory.Action.OFFERED,
        details={"expires_at": offer.expires_at.isoformat()},
    )


def slot_freed(
    *,
    slot_id: UUID,
    practice_id: int,
    cause: str,
    now: dt.datetime,
    first_freed_at: dt.datetime | None = None,
) -> bool:
    """A new matching round for a slot just freed, if anyone waits at its practice: a
    ``Vacancy`` row in the caller's transaction, matched by the worker after commit. One
    indexed read when nobody waits."""
    waiting = WaitingListEntry.objects.open().filter(
        practice_id=practice_id, practice__waiting_list_enabled=True
    )
    if not waiting.exists():
        return False
    Vacancy.objects.create(
        slot_id=slot_id,
        practice_id=practice_id,
        cause=cause,
        freed_at=now,
        first_freed_at=first_freed_at or now,
    )
    transaction.on_commit(_enqueue_matching)
    return True


def slots_released(*, slot_ids: list[UUID], now: dt.datetime) -> int:
    """``slot_freed`` for slots made or released in bulk (``practices.signals``), of any
    practice: one read finds those at practices where someone waits."""
    if not slot_ids:
        return 0
    waiting = WaitingListEntry.objects.open().filter(practice__waiting_list_enabled=True)
    rows = [
        Vacancy(
            slot_id=slot_id,
            practice_id=practice_id,
            cause=Vacancy.Cause.RELEASED,
            freed_at=now,
            first_freed_at=now,
        )
        for slot_id, practice_id in Slot.objects.filter(
            pk__in=slot_ids, practice__in=waiting.values("practice_id")
        ).values_list("pk", "practice_id")
    ]
    if not rows:
        return 0
    Vacancy.objects.bulk_create(rows, batch_size=2000)
    transaction.on_commit(_enqueue_matching)
    return len(rows)


def _enqueue_matching() -> None:
    from ..tasks import match_waiting_list

    match_waiting_list.enqueue()


def on_slots_released(sender: object, *, slot_ids: list[UUID], **kwargs: object) -> None:
    """``practices.signals.slots_released``: sent inside the releasing transaction."""
    slots_released(slot_ids=slot_ids, now=timezone.now())


def on_slots_withdrawn(sender: object, *, slot_ids: list[UUID], **kwargs: object) -> None:
    """``practices.signals.slots_withdrawn``: held slots blocked (their locks are held by the
    sender); their offers end and the patients are told the slot has gone."""
    now = timezone.now()
    for offer in (
        WaitingListOffer.objects.select_for_update(of=("self",))
        .select_related("entry")
        .filter(slot_id__in=slot_ids, status=Status.OPEN)
        .order_by("slot_id", "id")
    ):
        _gone(offer, now=now)
