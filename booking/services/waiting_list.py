"""The waiting list: patients join with what they would accept; a freed slot is offered to
them in the order they joined, held while the offer lasts, and claimed through the same
booking commands (and constraints) as any booking.

Matching and expiry run in the background worker (``booking.tasks``), never in the request
that freed the slot. Each freed slot is a ``Vacancy`` row written in the transaction that
freed it; the matcher claims unmatched rows with ``SKIP LOCKED`` and, holding the slot's row
lock, offers the slot only if it is still free: so a slot is offered once per round however
many workers run, and a worker that dies mid-round leaves the row for the next sweep.
"""

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.models import Role, User
from core.exceptions import Conflict, Forbidden, NotFound, RuleViolation
from practices.models import Clinician, Practice, Slot, SlotStatus, SlotType

from ..models import (
    HOLDS_SLOT,
    Appointment,
    AppointmentExtraSlot,
    AppointmentStatus,
    OfferMessage,
    TimeOfDay,
    Vacancy,
    WaitingListEntry,
    WaitingListOffer,
)
from ..notifications import offers as offer_messages
from . import holds
from .commands import book_appointment, reschedule_appointment
from .holds import OFFER_NOT_FOUND
from .locking import lock_patient, lock_slot
from .rules import (
    EMAIL_NOT_VERIFIED,
    NOT_REGISTERED,
    PRACTICE_NOT_FOUND,
    SLOT_NOT_FOUND,
    SPANS_SEVERAL_SLOTS,
    Actor,
    StaffAction,
    check_staff_may,
    is_staff_of,
    may_book_at,
    overlaps,
    patient_may_still_change,
    upcoming_at,
)

PATIENTS_ONLY = "Only patients can join a waiting list; practice staff use the admin."
WAITING_LIST_CLOSED = "This practice does not run a waiting list for online booking."
DATES_ORDER = "The last date must be on or after the first."
DATE_IN_PAST = "The first date cannot be in the past."
BEYOND_WINDOW = "This practice books up to {days} days ahead: choose a last date by {last}."
UNKNOWN_TYPE = "This practice has no appointment type {code!r}."
UNKNOWN_CLINICIAN = "There is no such clinician at this practice."
TOO_MANY_ENTRIES = (
    "You are already on {count} waiting lists at this practice, the most it allows. Leave one "
    "to join another."
)
MOVE_NOT_FOUND = "There is no such upcoming appointment of yours at this practice."
ALREADY_MOVING = "You are already waiting for an earlier slot for this appointment."
ENTRY_NOT_FOUND = "There is no such waiting-list entry."
ENTRY_CLOSED = "This waiting-list entry is no longer open."
REASON_REQUIRED = "Say why the entry is removed."
ALREADY_OFFERED = "This patient has already been offered this slot."
ALREADY_HOLDING = (
    "This patient already holds an offer, until {until}. Offer another slot once it ends, or "
    "book one for them."
)
SLOT_NOT_OFFERABLE = (
    "Only a free slot released for online booking, far enough ahead to be claimed, can be "
    "offered. To give the patient a practice-only slot, book it for them."
)

# Offers whose end lets the slot be offered to the entry again: it went to someone else, or
# was withdrawn with the entry. Declined or run out: never again.
ANY_AGAIN = Q(status__in=[WaitingListOffer.Status.GONE, WaitingListOffer.Status.WITHDRAWN])

logger = logging.getLogger(__name__)

# Matching looks at this many entries per slot at most (in the order they joined): enough
# to pass over those that cannot take it (already booked at that time, at their limit).
CANDIDATES_PER_SLOT = 200

OfferStatus = WaitingListOffer.Status
EntryStatus = WaitingListEntry.Status


# Joining and leaving -----------------------------------------------------------------------


@dataclass(frozen=True)
class Wishes:
    """What a waiting patient would accept (empty lists: any)."""

    latest_date: dt.date
    earliest_date: dt.date | None = None  # today at the practice
    appointment_types: list[str] = field(default_factory=list)
    times_of_day: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    clinician_id: UUID | None = None
    clinician_gender: str = ""
    move_appointment_id: UUID | None = None


@transaction.atomic
def join_waiting_list(
    *, actor: Actor, practice_ods: str, wishes: Wishes, now: dt.datetime | None = None
) -> WaitingListEntry:
    """Put the patient on the practice's waiting list with what they would accept."""
    now = now or timezone.now()
    patient = actor.user
    if patient.role != Role.PATIENT or patient.is_staff:
        raise Forbidden(PATIENTS_ONLY, code="patients_only")
    if not patient.email_verified:
        raise Forbidden(EMAIL_NOT_VERIFIED, code="email_not_verified")
    practice = Practice.objects.active().filter(ods_code=practice_ods.upper()).first()
    if practice is None:
        raise NotFound(PRACTICE_NOT_FOUND, code="practice_not_found")
    if not practice.waiting_list_enabled:
        raise RuleViolation(WAITING_LIST_CLOSED, code="waiting_list_closed")
    lock_patient(patient.pk)
    profile = getattr(patient, "patient_profile", None)
    if practice.registered_patients_only and (
        profile is None or profile.registered_practice_id != practice.pk
    ):
        raise RuleViolation(NOT_REGISTERED, code="not_registered")
    earliest = wishes.earliest_date or timezone.localtime(now, practice.tz).date()
    wishes = replace(wishes, earliest_date=earliest)
    _check_wishes(practice=practice, wishes=wishes, patient=patient, now=now)
    count = WaitingListEntry.objects.open().filter(practice=practice, patient=patient).count()
    if count >= practice.max_waiting_entries:
        raise RuleViolation(TOO_MANY_ENTRIES.format(count=count), code="too_many_waiting_entries")
    try:
        with transaction.atomic():
            return WaitingListEntry.objects.create(
                practice=practice,
                patient=patient,
                earliest_date=earliest,
                latest_date=wishes.latest_date,
                appointment_types=sorted(set(wishes.appointment_types)),
                times_of_day=sorted(set(wishes.times_of_day)),
                channels=sorted(set(wishes.channels)),
                clinician_id=wishes.clinician_id,
                clinician_gender=wishes.clinician_gender,
                move_appointment_id=wishes.move_appointment_id,
                joined_at=now,
            )
    except IntegrityError as exc:  # a second open "move" for one appointment, raced
        raise Conflict(ALREADY_MOVING, code="already_waiting") from exc


def _field_error(message: str, code: str, name: str) -> RuleViolation:
    return RuleViolation(message, code=code, errors={name: [message]})


def _check_wishes(*, practice: Practice, wishes: Wishes, patient: User, now: dt.datetime) -> None:
    today = timezone.localtime(now, practice.tz).date()
    last = today + dt.timedelta(days=practice.booking_horizon_days)
    assert wishes.earliest_date is not None  # defaulted by the caller
    if wishes.earliest_date < today:
        raise _field_error(DATE_IN_PAST, "date_in_past", "earliest_date")
    if wishes.latest_date < wishes.earliest_date:
        raise _field_error(DATES_ORDER, "dates_out_of_order", "latest_date")
    if wishes.latest_date > last:
        message = BEYOND_WINDOW.format(days=practice.booking_horizon_days, last=last.isoformat())
        raise _field_error(message, "beyond_booking_window", "latest_date")
    known = set(
        SlotType.objects.filter(practice=practice, code__in=wishes.appointment_types).values_list(
            "code", flat=True
        )
    )
    for code in wishes.appointment_types:
        if code not in known:
            raise _field_error(
                UNKNOWN_TYPE.format(code=code), "unknown_appointment_type", "appointment_types"
            )
    if (
        wishes.clinician_id is not None
        and not Clinician.objects.at(practice).filter(pk=wishes.clinician_id).exists()
    ):
        raise _field_error(UNKNOWN_CLINICIAN, "unknown_clinician", "clinician_id")
    if wishes.move_appointment_id is not None:
        # Whether it spans several slots comes with it: such an appointment cannot be moved.
        several = (
            Appointment.objects.filter(
                pk=wishes.move_appointment_id,
                patient=patient,
                practice=practice,
                status=AppointmentStatus.BOOKED,
                start__gt=now,
            )
            .annotate(
                several=Exists(
                    AppointmentExtraSlot.objects.filter(appointment=OuterRef("pk"), released=False)
                )
            )
            .values_list("several", flat=True)
            .first()
        )
        if several is None:
            raise NotFound(MOVE_NOT_FOUND, code="appointment_not_found")
        if several:
            raise RuleViolation(SPANS_SEVERAL_SLOTS, code="spans_several_slots")
        if (
            WaitingListEntry.objects.open()
            .filter(move_appointment_id=wishes.move_appointment_id)
            .exists()
        ):
            raise Conflict(ALREADY_MOVING, code="already_waiting")


def _end_entry(
    entry: WaitingListEntry,
    *,
    status: str,
    now: dt.datetime,
    reason: str = "",
    actor: User | None = None,
) -> None:
    """Close an entry and withdraw its open offers (their slots go to the next in line). The
    caller holds the locks of those offers' slots (``_locked_entry``)."""
    for offer in entry.offers.filter(status=OfferStatus.OPEN).select_related("entry"):
        _end_offer(offer, status=OfferStatus.WITHDRAWN, now=now, actor=actor)
    entry.status = status
    entry.closed_at = now
    entry.closed_reason = reason
    entry.closed_by = actor
    entry.save(update_fields=["status", "closed_at", "closed_reason", "closed_by"])


def _locked_entry(entries: QuerySet[WaitingListEntry]) -> WaitingListEntry | None:
    """The one entry of ``entries``, locked, with the slots of its open offers locked before
    it (the order every path takes: slot, then entry)."""
    held = WaitingListOffer.objects.filter(entry__in=entries, status=OfferStatus.OPEN)
    for slot_id in sorted(held.values_list("slot_id", flat=True), key=str):
        lock_slot(slot_id)
    return entries.select_for_update(of=("self",)).first()


def _open_entry(*, actor: Actor, entry_id: UUID) -> WaitingListEntry:
    """An open entry the actor may see, locked (``_locked_entry``)."""
    entry = _locked_entry(WaitingListEntry.objects.visible_to(actor.user).filter(pk=entry_id))
    if entry is None:
        raise NotFound(ENTRY_NOT_FOUND, code="entry_not_found")
    if entry.status != EntryStatus.WAITING:
        raise RuleViolation(ENTRY_CLOSED, code="entry_closed")
    return entry


@transaction.atomic
def leave_waiting_list(
    *, actor: Actor, entry_id: UUID, now: dt.datetime | None = None
) -> WaitingListEntry:
    """The patient leaves the list; any offer they hold goes to the next in line."""
    if actor.user.role != Role.PATIENT or actor.user.is_staff:
        raise Forbidden(PATIENTS_ONLY, code="patients_only")
    entry = _open_entry(actor=actor, entry_id=entry_id)
    _end_entry(entry, status=EntryStatus.LEFT, now=now or timezone.now(), actor=actor.user)
    return entry


@transaction.atomic
def remove_entry(
    *, actor: Actor, entry_id: UUID, reason: str, now: dt.datetime | None = None
) -> WaitingListEntry:
    """Practice staff take an entry off the list, saying why."""
    entry = _staff_entry(actor=actor, entry_id=entry_id)
    if not reason.strip():
        raise _field_error(REASON_REQUIRED, "reason_required", "reason")
    _end_entry(
        entry,
        status=EntryStatus.REMOVED,
        now=now or timezone.now(),
        reason=reason,
        actor=actor.user,
    )
    return entry


def _staff_entry(*, actor: Actor, entry_id: UUID) -> WaitingListEntry:
    """An open entry at one of the actor's practices, for a role that manages the list."""
    if actor.user.role == Role.PATIENT and not actor.user.is_staff:
        raise NotFound(ENTRY_NOT_FOUND, code="entry_not_found")
    check_staff_may(actor.user, StaffAction.MANAGE_WAITING_LIST)
    entry = _open_entry(actor=actor, entry_id=entry_id)
    if not is_staff_of(actor.user, entry.practice_id):
        raise NotFound(ENTRY_NOT_FOUND, code="entry_not_found")
    return entry


# Offers: claim, decline ---------------------------------------------------------------------


def _own_offer(*, actor: Actor, offer_id: UUID) -> WaitingListOffer:
    offer = (
        WaitingListOffer.objects.select_related("entry")
        .filter(pk=offer_id, entry__patient=actor.user)
        .first()
    )
    if offer is None:
        raise NotFound(OFFER_NOT_FOUND, code="offer_not_found")
    return offer


def claim_offer(
    *, actor: Actor, offer_id: UUID, now: dt.datetime | None = None
) -> tuple[Appointment, bool]:
    """Book (or, for a "move my appointment" entry, reschedule into) the offered slot,
    through the same commands as any booking. Returns the appointment and whether it is new.
    """
    now = now or timezone.now()
    offer = _own_offer(actor=actor, offer_id=offer_id)
    if offer.entry.move_appointment_id is not None:
        moved = reschedule_appointment(
            actor=actor,
            appointment_id=offer.entry.move_appointment_id,
            new_slot_id=offer.slot_id,
            offer_id=offer.pk,
            now=now,
        )
        return moved, False
    booked = book_appointment(actor=actor, slot_id=offer.slot_id, offer_id=offer.pk, now=now)
    return booked, True


@transaction.atomic
def decline_offer(
    *, actor: Actor, offer_id: UUID, now: dt.datetime | None = None
) -> WaitingListOffer:
    """The patient does not want this slot: it goes to the next in line at once. They stay
    on the list."""
    now = now or timezone.now()
    offer = _own_offer(actor=actor, offer_id=offer_id)
    lock_slot(offer.slot_id)
    offer.refresh_from_db()
    if offer.status != OfferStatus.OPEN:
        raise RuleViolation(holds.OFFER_CLOSED, code="offer_closed")
    _end_offer(offer, status=OfferStatus.DECLINED, now=now, actor=actor.user)
    return offer


def _end_offer(
    offer: WaitingListOffer, *, status: str, now: dt.datetime, actor: User | None = None
) -> None:
    """End one open offer; once none is left on its slot, the hold ends and the slot is a
    new round for the next in line. The caller holds the slot's lock (or takes it here)."""
    slot = lock_slot(offer.slot_id)
    holds.close_offer(offer, status=status, now=now, actor=actor)
    if slot.status != SlotStatus.HELD:
        return
    if WaitingListOffer.objects.filter(slot=slot, status=OfferStatus.OPEN).exists():
        return
    Slot.objects.filter(pk=slot.pk).update(status=SlotStatus.FREE)
    # The next round counts from when the slot was first freed (the report's "freed to
    # rebooked").
    first_freed_at = Vacancy.objects.filter(pk=offer.vacancy_id).values_list(
        "first_freed_at", flat=True
    )[0]
    holds.slot_freed(
        slot_id=slot.pk,
        practice_id=slot.practice_id,
        cause=Vacancy.Cause.OFFER_ENDED,
        now=now,
        first_freed_at=first_freed_at,
    )


# Matching (the worker) ------------------------------------------------------------------------


def match_due(*, now: dt.datetime | None = None) -> int:
    """Offer every unmatched vacancy, one transaction each; returns how many offers were made.
    Safe to run in many workers at once."""
    made = 0
    while True:
        with transaction.atomic():
            vacancy = (
                Vacancy.objects.filter(matched_at__isnull=True)
                .select_for_update(skip_locked=True)
                .order_by("freed_at", "id")
                .first()
            )
            if vacancy is None:
                return made
            at = now or timezone.now()
            try:
                with transaction.atomic():  # a savepoint: one bad round must not stop the rest
                    vacancy.offers_made = len(_match(vacancy, now=at))
            except Exception:  # logged with the vacancy; the others are still offered
                logger.exception("waiting list: matching vacancy %s failed", vacancy.pk)
                vacancy.offers_made = 0
            vacancy.matched_at = at
            vacancy.save(update_fields=["offers_made", "matched_at"])
            made += vacancy.offers_made


def offerable(slot: Slot, *, now: dt.datetime) -> bool:
    """A slot the waiting list may be offered: released for online booking (never a
    practice-only one), inside the booking window, and far enough ahead that it can still be
    booked online when the offer runs out."""
    practice = slot.practice
    earliest, _ = practice.online_booking_window(now + dt.timedelta(minutes=practice.offer_minutes))
    _, latest = practice.online_booking_window(now)
    return slot.online_bookable and earliest <= slot.start <= latest


def _match(vacancy: Vacancy, *, now: dt.datetime) -> list[WaitingListOffer]:
    slot = lock_slot(vacancy.slot_id)
    if (
        slot.status != SlotStatus.FREE
        or not slot.practice.waiting_list_enabled
        or not offerable(slot, now=now)
    ):
        return []
    chosen = _eligible_entries(slot, now=now, wanted=slot.practice.offer_batch_size)
    return _offer(slot, chosen, vacancy=vacancy, now=now) if chosen else []


def _offer(
    slot: Slot,
    entries: list[WaitingListEntry],
    *,
    vacancy: Vacancy,
    now: dt.datetime,
    actor: User | None = None,
) -> list[WaitingListOffer]:
    """Hold ``slot`` (locked by the caller) for ``entries`` and tell them."""
    expires_at = now + dt.timedelta(minutes=slot.practice.offer_minutes)
    made = WaitingListOffer.objects.bulk_create(
        WaitingListOffer(
            entry=entry,
            slot=slot,
            vacancy=vacancy,
            offered_at=now,
            expires_at=expires_at,
            offered_by=actor,
        )
        for entry in entries
    )
    Slot.objects.filter(pk=slot.pk).update(status=SlotStatus.HELD)
    for offer, entry in zip(made, entries, strict=True):
        offer.entry, offer.slot = entry, slot
        holds.note_offered(offer, actor=actor)
        offer_messages.queue(offer, OfferMessage.Kind.OFFER)
    transaction.on_commit(lambda: _enqueue_expiry(expires_at))
    return made


def _enqueue_expiry(at: dt.datetime) -> None:
    from ..tasks import expire_waiting_list_offers

    expire_waiting_list_offers.using(run_after=at).enqueue()


def _matching_entries(slot: Slot) -> QuerySet[WaitingListEntry]:
    """Open entries at the slot's practice whose wishes the slot meets, that were not offered
    it before and hold no open offer (one held slot per entry at a time, so nobody blocks
    several slots while the next in line waits), in the order they joined."""
    local = timezone.localtime(slot.start, slot.practice.tz)
    part = TimeOfDay.of(local)
    return (
        WaitingListEntry.objects.open()
        .filter(
            practice_id=slot.practice_id,
            earliest_date__lte=local.date(),
            latest_date__gte=local.date(),
            patient__is_active=True,
        )
        .filter(Q(appointment_types=[]) | Q(appointment_types__contains=[slot.slot_type]))
        .filter(Q(channels=[]) | Q(channels__contains=[slot.channel]))
        .filter(Q(times_of_day=[]) | Q(times_of_day__contains=[part]))
        .filter(Q(clinician__isnull=True) | Q(clinician_id=slot.clinician_id))
        .filter(Q(clinician_gender="") | Q(clinician_gender=slot.clinician.gender))
        .exclude(
            Exists(
                WaitingListOffer.objects.filter(entry=OuterRef("pk"), slot=slot).exclude(ANY_AGAIN)
            )
        )
        .exclude(
            Exists(WaitingListOffer.objects.filter(entry=OuterRef("pk"), status=OfferStatus.OPEN))
        )
        .select_related("patient__patient_profile")
        .order_by("joined_at", "id")
    )


def _eligible_entries(slot: Slot, *, now: dt.datetime, wanted: int) -> list[WaitingListEntry]:
    """The first ``wanted`` matching entries whose patient could take the slot now: the
    claim checks every rule again under its locks; this spares offers that would fail."""
    practice = slot.practice
    candidates = list(_matching_entries(slot)[:CANDIDATES_PER_SLOT])
    if not candidates:
        return []
    held: dict[UUID, list[tuple[Any, ...]]] = defaultdict(list)
    for row in Appointment.objects.filter(
        HOLDS_SLOT, patient_id__in={e.patient_id for e in candidates}, end__gt=now
    ).values_list("patient_id", "pk", "practice_id", "start", "end", "appointment_type", "status"):
        held[row[0]].append(row[1:])
    eligible = [
        entry
        for entry in candidates
        if _why_not(entry, slot=slot, practice=practice, held=held[entry.patient_id], now=now)
        is None
    ]
    chosen: list[WaitingListEntry] = []
    taken_by: set[UUID] = set()  # one offer of a slot per patient, whatever their entries
    for start in range(0, len(eligible), wanted):
        chunk = [e for e in eligible[start : start + wanted] if e.patient_id not in taken_by]
        for entry in _lock_still_free(chunk):
            if entry.patient_id not in taken_by and len(chosen) < wanted:
                chosen.append(entry)
                taken_by.add(entry.patient_id)
        if len(chosen) == wanted:
            break
    return chosen


def _lock_still_free(entries: list[WaitingListEntry]) -> list[WaitingListEntry]:
    """Those of ``entries`` (in order) still waiting with no open offer, locked for this
    round. Another matcher offering one of them a slot right now holds its lock: skipped,
    so no entry is offered two slots at once by two workers."""
    if not entries:
        return []
    free = set(
        WaitingListEntry.objects.select_for_update(of=("self",), skip_locked=True)
        .filter(pk__in=[e.pk for e in entries], status=EntryStatus.WAITING)
        .exclude(
            Exists(WaitingListOffer.objects.filter(entry=OuterRef("pk"), status=OfferStatus.OPEN))
        )
        .values_list("pk", flat=True)
    )
    return [entry for entry in entries if entry.pk in free]


def _why_not(
    entry: WaitingListEntry,
    *,
    slot: Slot,
    practice: Practice,
    held: list[tuple[Any, ...]],
    now: dt.datetime,
) -> str | None:
    """Why this entry's patient cannot take ``slot`` (a short code), or None if they can:
    the booking rules (``rules``) the claim will check, on rows read once for all candidates.
    ``held``: their live appointments ending after now (id, practice, start, end, type,
    status)."""
    patient = entry.patient
    if not patient.email_verified:
        return "unverified"
    if not may_book_at(practice, patient):
        return "not_registered"
    moving = entry.move_appointment_id
    others = [row for row in held if row[0] != moving]
    periods = [(practice_id, start, end) for _, practice_id, start, end, _, _ in others]
    if overlaps(slot.start, slot.end, periods):
        return "overlap"
    if moving is not None:
        current = next((row for row in held if row[0] == moving), None)
        if current is None or current[5] != AppointmentStatus.BOOKED:
            return "not_booked"  # the sweep ends the entry
        claim_by = now + dt.timedelta(minutes=practice.offer_minutes)
        if not patient_may_still_change(current[2], practice, at=claim_by):
            return "past_cutoff"  # the patient could not move it online any more
        return None if slot.start < current[2] else "not_earlier"
    if upcoming_at(practice, periods, now=now) >= practice.max_future_appointments:
        return "at_limit"
    # Already holding a matching appointment no later than this slot: nothing to gain.
    for _, practice_id, start, _, code, status in others:
        if (
            practice_id == practice.pk
            and status == AppointmentStatus.BOOKED
            and start <= slot.start
            and (not entry.appointment_types or code in entry.appointment_types)
        ):
            return "has_earlier"
    return None


# Expiry, staff offers, the sweep --------------------------------------------------------------


def expire_due(*, now: dt.datetime | None = None) -> int:
    """End offers whose time has run out, one slot per transaction; each slot left with no
    open offer is a new round for the next in line. Returns how many offers ended."""
    now = now or timezone.now()
    ended = 0
    failed: set[UUID] = set()
    while True:
        slot_id = (
            WaitingListOffer.objects.filter(status=OfferStatus.OPEN, expires_at__lte=now)
            .exclude(slot_id__in=failed)
            .order_by("expires_at", "id")
            .values_list("slot_id", flat=True)
            .first()
        )
        if slot_id is None:
            return ended
        try:
            with transaction.atomic():
                slot = lock_slot(slot_id)
                for offer in holds.open_offers(slot):
                    if offer.expires_at <= now:
                        _end_offer(offer, status=OfferStatus.EXPIRED, now=now)
                        ended += 1
        except Exception:  # logged; the other slots' offers still end
            logger.exception("waiting list: ending the offers of slot %s failed", slot_id)
            failed.add(slot_id)


@transaction.atomic
def offer_slot(
    *, actor: Actor, entry_id: UUID, slot_id: UUID, now: dt.datetime | None = None
) -> WaitingListOffer:
    """Practice staff offer a slot to one waiting patient (out of turn), held for them like
    any offer. The slot must be one the patient could book online when claiming it."""
    now = now or timezone.now()
    slot = lock_slot(slot_id)  # the slot before the entry, as every path
    entry = _staff_entry(actor=actor, entry_id=entry_id)
    if slot.practice_id != entry.practice_id:
        raise NotFound(SLOT_NOT_FOUND, code="slot_not_found")
    if not slot.practice.waiting_list_enabled:
        raise RuleViolation(WAITING_LIST_CLOSED, code="waiting_list_closed")
    if slot.status not in (SlotStatus.FREE, SlotStatus.HELD) or not offerable(slot, now=now):
        raise RuleViolation(SLOT_NOT_OFFERABLE, code="slot_not_offerable")
    held = entry.offers.filter(status=OfferStatus.OPEN).first()
    if held is not None:
        until = timezone.localtime(held.expires_at, slot.practice.tz)
        raise Conflict(ALREADY_HOLDING.format(until=f"{until:%H:%M}"), code="already_holding")
    if WaitingListOffer.objects.filter(entry=entry, slot=slot).exclude(ANY_AGAIN).exists():
        raise Conflict(ALREADY_OFFERED, code="already_offered")
    vacancy = Vacancy.objects.create(
        slot=slot,
        practice_id=slot.practice_id,
        cause=Vacancy.Cause.STAFF_OFFER,
        freed_at=now,
        first_freed_at=now,
        matched_at=now,
        offers_made=1,
    )
    return _offer(slot, [entry], vacancy=vacancy, now=now, actor=actor.user)[0]


def close_stale_entries(*, now: dt.datetime | None = None) -> int:
    """End entries that can no longer be met: their last date has passed, or the appointment
    they wanted moved is no longer booked (cancelled, or already moved by other means)."""
    now = now or timezone.now()
    closed = 0
    entries = WaitingListEntry.objects.open()
    # "Passed" by each practice's own calendar.
    past = Q(pk__in=[])
    for tz in set(entries.values_list("practice__timezone", flat=True)):
        today = timezone.localtime(now, ZoneInfo(tz)).date()
        past |= Q(practice__timezone=tz, latest_date__lt=today)
    stale = entries.filter(
        past
        | (
            Q(move_appointment__isnull=False)
            & ~Q(move_appointment__status=AppointmentStatus.BOOKED)
        )
        | Q(move_appointment__start__lte=now)
    )
    for entry_id in stale.values_list("pk", flat=True)[:500]:
        with transaction.atomic():
            entry = _locked_entry(WaitingListEntry.objects.open().filter(pk=entry_id))
            if entry is not None:
                _end_entry(entry, status=EntryStatus.ENDED, now=now, reason="No longer needed")
                closed += 1
    return closed


def sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """What the worker's sweeper runs every half minute: expire offers, end stale entries,
    match vacancies whose task was lost, re-send offer messages whose task was lost."""
    return {
        "expired": expire_due(now=now),
        "closed": close_stale_entries(now=now),
        "offered": match_due(now=now),
        "requeued": offer_messages.requeue_due(now=now),
    }
