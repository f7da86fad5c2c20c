"""The waiting-list pages: see your entries and their offers, join a practice's list, leave.

Joining and leaving go through ``waiting_list.join_waiting_list`` and
``leave_waiting_list``, as the API's do; an offer's link opens ``offers.offer_page``.
"""

from uuid import UUID

from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.audit import record_access
from core.exceptions import DomainError
from core.pages import add_refusal, message_page, patient_page, refusal_page, render_page
from practices import appointment_types

from ..models import Source, WaitingListEntry, WaitingListOffer
from ..services import Actor, waiting_list
from .common import registered_practice, signed_in_patient
from .forms import JoinWaitingListForm

NO_PRACTICE = (
    "Your account does not name your GP practice yet. Add it in your details, then join its "
    "waiting list."
)


@patient_page
@require_http_methods(["GET"])
def entries(request: HttpRequest) -> HttpResponse:
    user = signed_in_patient(request)
    offers = WaitingListOffer.objects.select_related("slot__clinician").order_by(
        "-offered_at", "id"
    )
    mine = (
        WaitingListEntry.objects.visible_to(user)
        .select_related("practice")
        .prefetch_related(Prefetch("offers", queryset=offers))
        .order_by("-joined_at", "id")
    )
    record_access(
        request, action="page.waiting_list.list", object_type="waiting_list_entry", patient=user
    )
    entries = list(mine[:50])
    return render_page(
        request,
        "booking/pages/waiting_list.html",
        {
            "waiting": [e for e in entries if e.status == WaitingListEntry.Status.WAITING],
            "closed": [e for e in entries if e.status != WaitingListEntry.Status.WAITING],
            "practice": registered_practice(request),
            "banner": next((name for name in ("joined", "left") if name in request.GET), None),
        },
    )


@patient_page
@require_http_methods(["GET", "POST"])
def join(request: HttpRequest) -> HttpResponse:
    """Join the waiting list of the patient's own practice."""
    practice = registered_practice(request)
    if practice is None:
        return message_page(
            request,
            title="Which is your GP practice?",
            message=NO_PRACTICE,
            status=422,
            next_url=reverse("account-pages:my-details"),
            next_label="Add your GP practice",
        )
    today = timezone.localdate(timezone=practice.tz)
    types = appointment_types.offered(practice, today=today)
    form = JoinWaitingListForm(request.POST if request.method == "POST" else None, types=types)
    context = {"form": form, "practice": practice}
    if request.method == "GET":
        return render_page(request, "booking/pages/join_waiting_list.html", context)
    if not form.is_valid():
        return render_page(request, "booking/pages/join_waiting_list.html", context, status=400)
    data = form.cleaned_data
    try:
        entry = waiting_list.join_waiting_list(
            actor=Actor(user=signed_in_patient(request), source=Source.PAGE),
            practice_ods=practice.ods_code,
            wishes=waiting_list.Wishes(
                latest_date=data["latest_date"],
                appointment_types=data["appointment_types"],
                times_of_day=data["times_of_day"],
                channels=data["channels"],
                clinician_gender=data["clinician_gender"],
            ),
        )
    except DomainError as refusal:
        if refusal.errors:
            add_refusal(form, refusal)
            return render_page(
                request, "booking/pages/join_waiting_list.html", context, status=refusal.http_status
            )
        return refusal_page(request, refusal, title="You cannot join this waiting list")
    record_access(
        request,
        action="page.waiting_list.join",
        object_type="waiting_list_entry",
        object_id=entry.pk,
        patient=signed_in_patient(request),
    )
    return redirect(f"{reverse('booking-pages:waiting-list')}?joined")


@patient_page
@require_POST
def leave(request: HttpRequest, entry_id: UUID) -> HttpResponse:
    try:
        waiting_list.leave_waiting_list(
            actor=Actor(user=signed_in_patient(request), source=Source.PAGE), entry_id=entry_id
        )
    except DomainError as refusal:
        return refusal_page(request, refusal, title="You cannot leave this waiting list")
    record_access(
        request,
        action="page.waiting_list.leave",
        object_type="waiting_list_entry",
        object_id=entry_id,
        patient=signed_in_patient(request),
    )
    return redirect(f"{reverse('booking-pages:waiting-list')}?left")
