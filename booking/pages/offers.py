"""The page a waiting-list offer's link opens: see the offered slot, book it or turn it down.

The link's signed token proves that whoever opens it received the offer (as a password-reset
link does); it moves into the session at once and the page reloads without it, so it stays
out of browser history and Referer headers. Opening the page changes nothing (mail scanners
open links): booking waits for the button. Both buttons go through the same services as the
API (``waiting_list.claim_offer``, ``decline_offer``), so every booking rule applies.
"""

import datetime as dt
from typing import Any
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.audit import record_access
from core.exceptions import DomainError
from core.formats import uk_datetime
from core.pages import message_page

from ..models import Source, WaitingListOffer
from ..notifications.offers import offer_from_token
from ..services import Actor, waiting_list

# A link works for a day at most; the offer's own expiry is checked when it is used.
LINK_LIFETIME = dt.timedelta(days=1)
LINK_INVALID = (
    "This link does not work: it may be mistyped or too old. You are still on the waiting "
    "list, and we will tell you when another appointment is free."
)


def _session_key(offer_id: UUID) -> str:
    return f"waiting_list_offer:{offer_id}"


def _message(request: HttpRequest, title: str, message: str, status: int = 200) -> HttpResponse:
    return message_page(request, title=title, message=message, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def offer_page(request: HttpRequest, offer_id: UUID) -> HttpResponse:
    key = _session_key(offer_id)
    if (token := request.GET.get("token")) is not None:
        request.session[key] = token[:512]
        return redirect(request.path)
    named = offer_from_token(request.session.get(key, ""), max_age=LINK_LIFETIME)
    offer = (
        WaitingListOffer.objects.select_related(
            "entry__patient", "slot__practice", "slot__clinician"
        )
        .filter(pk=offer_id)
        .first()
    )
    # The link's token proves it reached the patient; so does being signed in as them (the
    # waiting-list page links their open offers).
    owner = offer is not None and request.user.pk == offer.entry.patient_id
    if offer is None or not (named == str(offer_id) or owner):
        return _message(request, "This link does not work", LINK_INVALID, status=400)
    # Times as the practice reads them (the server works in UTC).
    with timezone.override(offer.slot.practice.tz):
        return _offer_page(request, offer, key)


def _offer_page(request: HttpRequest, offer: WaitingListOffer, key: str) -> HttpResponse:
    patient = offer.entry.patient
    record_access(
        request,
        action=f"page.waiting_list_offer.{request.method.lower()}",  # type: ignore[union-attr]
        object_type="waiting_list_offer",
        object_id=offer.pk,
        patient=patient,
    )
    actor = Actor(user=patient, source=Source.PAGE)
    context: dict[str, Any] = {"offer": offer, "until": uk_datetime(offer.expires_at)}
    if request.method == "POST":
        choice = request.POST.get("choice")
        try:
            if choice == "book":
                appointment, _ = waiting_list.claim_offer(actor=actor, offer_id=offer.pk)
                request.session.pop(key, None)
                return _message(
                    request,
                    "Your appointment is booked",
                    f"{uk_datetime(appointment.start)} with {appointment.clinician.display_name} "
                    f"at {appointment.practice.name}. Your booking reference is "
                    f"{appointment.reference}. We have sent you a confirmation.",
                )
            if choice == "decline":
                waiting_list.decline_offer(actor=actor, offer_id=offer.pk)
                request.session.pop(key, None)
                return _message(
                    request,
                    "Thank you",
                    "We have offered this appointment to someone else. You are still on the "
                    "waiting list.",
                )
        except DomainError as refusal:
            context["error"] = refusal.detail
            return render(request, "booking/pages/offer.html", context, status=refusal.http_status)
        context["error"] = "Choose whether to book this appointment."
        return render(request, "booking/pages/offer.html", context, status=400)
    context["open"] = offer.is_open and offer.expires_at > timezone.now()
    return render(request, "booking/pages/offer.html", context)
