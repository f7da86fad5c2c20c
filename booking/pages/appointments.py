"""The patient's booking pages: choose a practice, find a slot, confirm, see, move and cancel
appointments.

Each view reads a form, calls the service the API calls (``book_appointment``,
``reschedule_appointment``, ``cancel_appointment``) and renders what came back, so every
rule, lock and constraint is the same as the API's. A slot taken between "choose" and
"confirm" (by another patient, or in another tab) is the service's 409 with the nearest free
slots, shown as a page with links to book one of those. Every page that shows an appointment
is in the patient's access log, as the API's reads are.
"""

import datetime as dt
from typing import Any
from uuid import UUID

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts.audit import record_access
from core.exceptions import Conflict, DomainError, PreconditionFailed
from core.pages import message_page, page_links, patient_page, refusal_page, render_page
from practices import appointment_types
from practices.api.serializers import MAX_AVAILABILITY_DAYS
from practices.models import Practice, Slot, slot_type_name

from .. import services
from ..models import Appointment, AppointmentStatus, Source
from ..services import Actor
from ..services.rules import (
    PRACTICE_NOT_FOUND,
    STALE_VERSION,
    StaffAction,
    check_still_changeable,
    patient_may_still_change,
)
from ..services.selectors import unavailable
from .common import registered_practice, registered_practice_id, signed_in_patient
from .forms import CancelForm, ChangeForm, ChoosePracticeForm, ConfirmBookingForm, FindSlotForm

# Slots shown per page of a search: a morning of a busy practice.
SLOTS_PER_PAGE = 20
ODS_CODE_LENGTH = Practice._meta.get_field("ods_code").max_length or 9
# Past appointments shown: a few years of a typical patient's.
PAST_SHOWN = 50

NOT_FOUND_TITLE = "Appointment not found"
NOT_FOUND = "We could not find this appointment. It may be someone else's, or the link is wrong."
PRACTICE_NOT_FOUND_TITLE = "Practice not found"
SLOT_GONE_TITLE = "Sorry, this appointment is no longer available"
SLOT_NOT_BOOKABLE = (
    "This appointment is no longer available to book online. Please choose another time."
)


def _actor(request: HttpRequest) -> Actor:
    return Actor(user=signed_in_patient(request), source=Source.PAGE)


def _audit(
    request: HttpRequest, action: str, object_id: object = "", *, allowed: bool = True
) -> None:
    """One audit row per page that reads or changes appointments, refused ones included (as
    the API's ``AuditedViewMixin`` writes them): it is in the patient's access log."""
    record_access(
        request,
        action=f"page.appointment.{action}",
        object_type="appointment",
        object_id=object_id,
        patient=signed_in_patient(request),
        allowed=allowed,
    )


def _own_appointment(request: HttpRequest, appointment_id: UUID) -> Appointment | None:
    """The patient's own appointment, or None: another patient's is "not found", as in the
    API (a 404, never a 403 that would say it exists). Opening one is audited as a read; a
    miss is audited as refused, so probing for others' ids leaves a trace."""
    found = (
        services.appointment_list(user=signed_in_patient(request), filters={})
        .select_related("slot")
        .filter(pk=appointment_id)
        .first()
    )
    if found is None or request.method == "GET":
        _audit(request, "read", appointment_id, allowed=found is not None)
    return found


def _changeable(
    request: HttpRequest, appointment: Appointment, action: StaffAction
) -> DomainError | None:
    """The service's refusal of a move or a cancel now (cancelled, past, too late), to show
    before the patient chooses anything."""
    try:
        check_still_changeable(
            actor=_actor(request), appointment=appointment, now=timezone.now(), action=action
        )
    except DomainError as refusal:
        return refusal
    return None


def _not_found(request: HttpRequest) -> HttpResponse:
    return message_page(
        request,
        title=NOT_FOUND_TITLE,
        message=NOT_FOUND,
        status=404,
        next_url=reverse("booking-pages:appointments"),
        next_label="See your appointments",
    )


def _practice(ods_code: str) -> Practice | None:
    if len(ods_code) > ODS_CODE_LENGTH or "\x00" in ods_code:  # PostgreSQL refuses NUL
        return None
    return Practice.objects.active().filter(ods_code=ods_code.upper()).first()


# Home -----------------------------------------------------------------------------------


def home(request: HttpRequest) -> HttpResponse:
    """The front door: a start page for visitors, the patient's next appointments once signed
    in."""
    user = request.user
    if not user.is_authenticated:
        return render_page(request, "booking/pages/start.html")
    return _home(request)


@patient_page
def _home(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    upcoming = list(
        services.appointment_list(user=signed_in_patient(request), filters={"start": now})
        .filter(status=AppointmentStatus.BOOKED)
        .order_by("start")[:3]
    )
    _audit(request, "list")
    return render_page(
        request,
        "booking/pages/home.html",
        {"upcoming": upcoming, "practice": registered_practice(request)},
    )


# Choose a practice, find a slot ----------------------------------------------------------


@patient_page
@require_http_methods(["GET"])
def choose_practice(request: HttpRequest) -> HttpResponse:
    """The patient's own practice first (chosen already), then those that book anyone."""
    registered = registered_practice(request)
    others = Practice.objects.active().filter(registered_patients_only=False).order_by("name")
    if registered is not None:
        others = others.exclude(pk=registered.pk)
    practices = [*([registered] if registered else []), *others[:50]]
    if "practice" not in request.GET:
        form = ChoosePracticeForm(
            practices=practices,
            initial={"practice": registered.ods_code if registered else None},
        )
        return render_page(request, "booking/pages/choose_practice.html", {"form": form})
    form = ChoosePracticeForm(request.GET, practices=practices)
    if not form.is_valid():
        return render_page(
            request, "booking/pages/choose_practice.html", {"form": form}, status=400
        )
    return redirect("booking-pages:find-slot", ods_code=form.cleaned_data["practice"])


@patient_page
@require_http_methods(["GET"])
def find_slot(request: HttpRequest, ods_code: str) -> HttpResponse:
    practice = _practice(ods_code)
    if practice is None:
        return _practice_not_found(request)
    return _search(request, practice, moving=None)


def _practice_not_found(request: HttpRequest) -> HttpResponse:
    return message_page(
        request,
        title=PRACTICE_NOT_FOUND_TITLE,
        message=PRACTICE_NOT_FOUND,
        status=404,
        next_url=reverse("booking-pages:choose-practice"),
        next_label="Choose a practice",
    )


def _search(
    request: HttpRequest, practice: Practice, *, moving: Appointment | None
) -> HttpResponse:
    """The free slots the patient could book (or move to), earliest first, narrowed by the
    search form: one day, or the next 14 days."""
    now = timezone.now()
    today = timezone.localdate(now, timezone=practice.tz)
    types = appointment_types.offered(practice, today=today)
    initial = {"type": moving.appointment_type} if moving else {}
    searched = any(name in request.GET for name in ("day_0", "type", "channel", "gender"))
    last = today + dt.timedelta(days=practice.booking_horizon_days)
    form = FindSlotForm(
        request.GET if searched else None, types=types, today=today, last=last, initial=initial
    )
    context: dict[str, Any] = {"form": form, "practice": practice, "moving": moving}
    if searched and not form.is_valid():
        return render_page(request, "booking/pages/find_slot.html", context, status=400)
    wanted: dict[str, Any] = form.cleaned_data if searched else {"day": None, **initial}
    day = wanted.get("day")
    start = dt.datetime.combine(day, dt.time.min, practice.tz) if day else now
    end = (
        dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, practice.tz)
        if day
        else now + dt.timedelta(days=MAX_AVAILABILITY_DAYS)
    )
    slots = (
        Slot.objects.bookable_by(signed_in_patient(request), practice, now=now)
        .between(start, end)
        .matching(
            slot_type=wanted.get("type") or None,
            channel=wanted.get("channel") or None,
            clinician_gender=wanted.get("gender") or None,
        )
        .select_related("clinician")
        .order_by("start", "clinician__display_name", "id")
    )
    page = _page_number(request)
    found = list(slots[(page - 1) * SLOTS_PER_PAGE : page * SLOTS_PER_PAGE + 1])
    names = {t.code: t.name for t in types}
    context.update(
        slots=[
            {"slot": slot, "type_name": names.get(slot.slot_type, slot.slot_type)}
            for slot in found[:SLOTS_PER_PAGE]
        ],
        day=day,
        links=page_links(request, number=page, has_next=len(found) > SLOTS_PER_PAGE),
        # The waiting list the join page joins: the patient's own practice's.
        waiting_list=practice.waiting_list_enabled
        and practice.pk == registered_practice_id(request),
    )
    return render_page(request, "booking/pages/find_slot.html", context)


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, min(int(request.GET.get("page", "1")), 1000))
    except ValueError:
        return 1


# Confirm and book -------------------------------------------------------------------------


@patient_page
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, ods_code: str, slot_id: UUID) -> HttpResponse:
    """The slot's summary and a button; the POST books it through ``book_appointment``."""
    practice = _practice(ods_code)
    if practice is None:
        return _practice_not_found(request)
    now = timezone.now()
    slot = _bookable(request, practice, slot_id, now=now)
    if request.method == "GET" and slot is None:
        return _slot_gone(request, practice, slot_id, now=now)
    form = ConfirmBookingForm(request.POST if request.method == "POST" else None)
    context = {"form": form, "slot": slot, "practice": practice}
    if request.method == "GET" or slot is None:
        if slot is None:  # a POST for a slot gone meanwhile: the service says so below
            return _book(request, practice, slot_id, description="")
        return render_page(request, "booking/pages/confirm.html", context)
    if not form.is_valid():
        return render_page(request, "booking/pages/confirm.html", context, status=400)
    return _book(request, practice, slot_id, description=form.cleaned_data["description"])


def _book(
    request: HttpRequest, practice: Practice, slot_id: UUID, *, description: str
) -> HttpResponse:
    try:
        appointment = services.book_appointment(
            actor=_actor(request),
            slot_id=slot_id,
            practice_ods=practice.ods_code,
            description=description,
        )
    except Conflict as conflict:
        # A second press of the button (or a second tab) after the first booked it: that
        # booking is the one the patient wanted.
        mine = _holding(request, slot_id)
        if mine is not None:
            return redirect("booking-pages:appointment", appointment_id=mine.pk)
        _audit(request, "create", slot_id, allowed=False)
        return _conflict_page(request, practice, conflict)
    except DomainError as refusal:
        _audit(request, "create", slot_id, allowed=False)
        return refusal_page(request, refusal, title="You cannot book this appointment")
    _audit(request, "create", appointment.pk)
    return redirect(_appointment_url(appointment.pk, "booked"))


def _holding(request: HttpRequest, slot_id: UUID) -> Appointment | None:
    return (
        services.appointment_list(user=signed_in_patient(request), filters={})
        .filter(slot_id=slot_id, status=AppointmentStatus.BOOKED)
        .first()
    )


def _bookable(
    request: HttpRequest, practice: Practice, slot_id: UUID, *, now: dt.datetime
) -> Slot | None:
    return (
        Slot.objects.bookable_by(signed_in_patient(request), practice, now=now)
        .select_related("clinician")
        .annotate(type_name=slot_type_name("slot_type"))
        .filter(pk=slot_id)
        .first()
    )


def _slot_gone(
    request: HttpRequest,
    practice: Practice,
    slot_id: UUID,
    *,
    now: dt.datetime,
    moving: Appointment | None = None,
) -> HttpResponse:
    """The 409 the service would give for this slot, before the patient presses anything:
    the free slots nearest to it (to the appointment's type, when moving one)."""
    slot = Slot.objects.filter(pk=slot_id, practice=practice).first()
    conflict = unavailable(
        SLOT_NOT_BOOKABLE,
        "slot_not_bookable",
        user=signed_in_patient(request),
        practice=practice,
        after=slot.start if slot else now,
        appointment_type=moving.appointment_type if moving else (slot.slot_type if slot else None),
        now=now,
    )
    return _conflict_page(request, practice, conflict, moving=moving)


def _conflict_page(
    request: HttpRequest,
    practice: Practice,
    conflict: Conflict,
    *,
    moving: Appointment | None = None,
) -> HttpResponse:
    """The service's 409 as a page: its message, and its alternatives as links to book."""
    alternatives = [
        {
            **alternative,
            "start": dt.datetime.fromisoformat(alternative["start"]),
            "url": (
                reverse(
                    "booking-pages:reschedule-confirm",
                    kwargs={"appointment_id": moving.pk, "slot_id": alternative["slot_id"]},
                )
                if moving
                else reverse(
                    "booking-pages:confirm",
                    kwargs={"ods_code": practice.ods_code, "slot_id": alternative["slot_id"]},
                )
            ),
        }
        for alternative in conflict.extra.get("alternatives", [])
    ]
    search = (
        reverse("booking-pages:reschedule", kwargs={"appointment_id": moving.pk})
        if moving
        else reverse("booking-pages:find-slot", kwargs={"ods_code": practice.ods_code})
    )
    return render_page(
        request,
        "booking/pages/slot_gone.html",
        {
            "title": SLOT_GONE_TITLE,
            "detail": conflict.detail,
            "alternatives": alternatives,
            "search": search,
        },
        status=conflict.http_status,
    )


# My appointments ---------------------------------------------------------------------------


@patient_page
@require_http_methods(["GET"])
def appointments(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    mine = services.appointment_list(user=signed_in_patient(request), filters={})
    upcoming = Q(start__gte=now, status=AppointmentStatus.BOOKED)
    _audit(request, "list")
    return render_page(
        request,
        "booking/pages/appointments.html",
        {
            "upcoming": list(mine.filter(upcoming)),
            "past": list(mine.exclude(upcoming).order_by("-start", "id")[:PAST_SHOWN]),
        },
    )


@patient_page
@require_http_methods(["GET"])
def appointment(request: HttpRequest, appointment_id: UUID) -> HttpResponse:
    found = _own_appointment(request, appointment_id)
    if found is None:
        return _not_found(request)
    now = timezone.now()
    changeable = found.status == AppointmentStatus.BOOKED and patient_may_still_change(
        found.start, found.practice, at=now
    )
    return render_page(
        request,
        "booking/pages/appointment.html",
        {
            "appointment": found,
            "changeable": changeable,
            "too_late": found.status == AppointmentStatus.BOOKED
            and found.start > now
            and not changeable,
            "banner": next(
                (name for name in ("booked", "moved", "cancelled") if name in request.GET), None
            ),
        },
    )


# Move -------------------------------------------------------------------------------------


def _appointment_url(appointment_id: UUID, banner: str = "") -> str:
    url = reverse("booking-pages:appointment", kwargs={"appointment_id": appointment_id})
    return f"{url}?{banner}" if banner else url


def _changed_meanwhile(request: HttpRequest, appointment: Appointment) -> HttpResponse:
    """The form was opened before a change (by the practice, in another tab, or by a first
    press of the same button): say so and lead back, rather than overwrite it."""
    return message_page(
        request,
        title="This appointment has changed",
        message=STALE_VERSION,
        status=409,
        next_url=_appointment_url(appointment.pk),
        next_label="See your appointment",
    )


def _unchangeable(
    request: HttpRequest, appointment: Appointment, refusal: DomainError
) -> HttpResponse:
    return message_page(
        request,
        title="You cannot change this appointment online",
        message=refusal.detail,
        status=refusal.http_status,
        next_url=_appointment_url(appointment.pk),
        next_label="See your appointment",
    )


@patient_page
@require_http_methods(["GET"])
def reschedule(request: HttpRequest, appointment_id: UUID) -> HttpResponse:
    """The search, for a slot to move this appointment to (at its practice)."""
    found = _own_appointment(request, appointment_id)
    if found is None:
        return _not_found(request)
    if (refusal := _changeable(request, found, StaffAction.RESCHEDULE)) is not None:
        return _unchangeable(request, found, refusal)
    return _search(request, found.practice, moving=found)


@patient_page
@require_http_methods(["GET", "POST"])
def reschedule_confirm(request: HttpRequest, appointment_id: UUID, slot_id: UUID) -> HttpResponse:
    found = _own_appointment(request, appointment_id)
    if found is None:
        return _not_found(request)
    if request.method == "GET":
        if (refusal := _changeable(request, found, StaffAction.RESCHEDULE)) is not None:
            return _unchangeable(request, found, refusal)
        now = timezone.now()
        slot = _bookable(request, found.practice, slot_id, now=now)
        if slot is None:
            return _slot_gone(request, found.practice, slot_id, now=now, moving=found)
        form = ChangeForm(initial={"version": found.version})
        return render_page(
            request,
            "booking/pages/reschedule_confirm.html",
            {"form": form, "appointment": found, "slot": slot},
        )
    form = ChangeForm(request.POST)
    if not form.is_valid():  # only the hidden version: a form tampered with or cut short
        return _changed_meanwhile(request, found)
    try:
        moved = services.reschedule_appointment(
            actor=_actor(request),
            appointment_id=found.pk,
            new_slot_id=slot_id,
            expected_version=form.cleaned_data["version"],
        )
    except DomainError as refusal:
        _audit(request, "reschedule", found.pk, allowed=False)
        found.refresh_from_db()
        if found.slot_id == slot_id:  # a second press: the first one moved it
            return redirect(_appointment_url(found.pk, "moved"))
        if isinstance(refusal, PreconditionFailed):
            return _changed_meanwhile(request, found)
        if isinstance(refusal, Conflict):
            return _conflict_page(request, found.practice, refusal, moving=found)
        return refusal_page(request, refusal, title="You cannot move this appointment")
    _audit(request, "reschedule", moved.pk)
    return redirect(_appointment_url(moved.pk, "moved"))


# Cancel -----------------------------------------------------------------------------------


@patient_page
@require_http_methods(["GET", "POST"])
def cancel(request: HttpRequest, appointment_id: UUID) -> HttpResponse:
    found = _own_appointment(request, appointment_id)
    if found is None:
        return _not_found(request)
    if request.method == "GET":
        if (refusal := _changeable(request, found, StaffAction.CANCEL)) is not None:
            return _unchangeable(request, found, refusal)
        form = CancelForm(initial={"version": found.version})
        return render_page(
            request, "booking/pages/cancel.html", {"form": form, "appointment": found}
        )
    form = CancelForm(request.POST)
    if "version" in form.errors:  # a form tampered with or cut short
        return _changed_meanwhile(request, found)
    if not form.is_valid():
        context = {"form": form, "appointment": found}
        return render_page(request, "booking/pages/cancel.html", context, status=400)
    try:
        services.cancel_appointment(
            actor=_actor(request),
            appointment_id=found.pk,
            reason=form.cleaned_data["reason"],
            expected_version=form.cleaned_data["version"],
        )
    except DomainError as refusal:
        _audit(request, "cancel", found.pk, allowed=False)
        found.refresh_from_db()
        if found.status == AppointmentStatus.CANCELLED:  # a second press: the first cancelled it
            return redirect(_appointment_url(found.pk, "cancelled"))
        if isinstance(refusal, PreconditionFailed):
            return _changed_meanwhile(request, found)
        return refusal_page(request, refusal, title="You cannot cancel this appointment")
    _audit(request, "cancel", found.pk)
    return redirect(_appointment_url(found.pk, "cancelled"))
