"""Every patient page, in each of its states (a list with rows, a form with its errors, the
409 for a slot gone), checked with axe-core in Debian's Chromium for WCAG 2.0, 2.1 and 2.2 A
and AA (and axe's best practices), and for a title that says where the patient is.

Personas: alice is a verified patient at Riverside, with an upcoming and a past appointment
and a place on its waiting list; bob is another patient there, who has booked the slot alice
looks at on the 409 page; "nia@example.com" has just signed up and opens her emailed link.
"""

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts import emails
from accounts.models import User
from booking import services
from booking.models import Appointment, WaitingListOffer
from booking.services import Actor, waiting_list
from practices.models import Slot
from tests.e2e.axe import assert_accessible
from tests.e2e.conftest import chromium_missing, fill_in_registration, sign_in_as_patient
from tests.factories import DEFAULT_PASSWORD, UserFactory, free_slot

pytestmark = [pytest.mark.django_db(transaction=True), chromium_missing]

TITLE_END = " - Book a GP appointment"


@dataclass
class World:
    """What the pages show: alice's appointments, her waiting-list place, free slots."""

    base: str
    free: Slot
    upcoming: Appointment
    past: Appointment
    taken: Slot
    offer: WaitingListOffer
    alice: User


@pytest.fixture
def world(live_server, alice, bob, dave, riverside) -> World:
    upcoming = services.book_appointment(
        actor=Actor(user=alice), slot_id=free_slot(riverside, hours_ahead=30).pk
    )
    past_start = timezone.now().replace(minute=0, second=0, microsecond=0) - dt.timedelta(days=7)
    past = services.book_appointment(
        actor=Actor(user=alice),
        slot_id=free_slot(riverside, start=past_start).pk,
        now=past_start - dt.timedelta(days=1),
    )
    taken = free_slot(riverside, hours_ahead=26)
    services.book_appointment(actor=Actor(user=bob), slot_id=taken.pk)
    entry = waiting_list.join_waiting_list(
        actor=Actor(user=alice),
        practice_ods=riverside.ods_code,
        wishes=waiting_list.Wishes(latest_date=timezone.localdate() + dt.timedelta(days=10)),
    )
    offer = waiting_list.offer_slot(
        actor=Actor(user=dave), entry_id=entry.pk, slot_id=free_slot(riverside, hours_ahead=60).pk
    )
    return World(
        base=live_server.url,
        free=free_slot(riverside, hours_ahead=50),
        upcoming=upcoming,
        past=past,
        taken=taken,
        offer=offer,
        alice=alice,
    )


def confirm_path(slot) -> str:
    return f"/book/{slot.practice.ods_code}/slots/{slot.pk}"


def press(page, button: str) -> None:
    page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_load_state()


@dataclass(frozen=True)
class Visit:
    """Where to go, what to do there (send a form with mistakes), and what the page then
    shows: its heading, and the state under test (rows in a list, an error summary)."""

    path: Callable[[World], str]
    heading: str
    then: Callable[..., None] | None = None
    shows: tuple[str, ...] = ()


def unverified_link(world: World) -> str:
    nia = UserFactory(email="nia@example.com", email_verified_at=None)
    # The link the verification email carries (test_patient_journeys follows a real email).
    return f"{emails.VERIFY_PATH}?token={emails.verification_token(nia)}"


def a_whole_registration(page) -> None:
    fill_in_registration(page, email="nia@example.com", password="An0ther-Secret!")
    press(page, "Create account")


def reset_link(world: World) -> str:
    return f"/account/reset-password?token={emails.password_reset_token(world.alice)}"


def empty_new_password(page) -> None:
    press(page, "Change my password")


def empty_sign_in(page) -> None:
    press(page, "Sign in")


def empty_registration(page) -> None:
    press(page, "Create account")


def a_day_in_the_past(page) -> None:
    day = page.get_by_role("group", name="Which day?")
    day.get_by_label("Day").fill("1")
    day.get_by_label("Month").fill("1")
    day.get_by_label("Year").fill("2020")
    press(page, "Search")


def a_description_too_long(page) -> None:
    field = page.get_by_label("What would you like to talk about? (optional)")
    # As a browser that ignores maxlength would send it: the server's check is under test.
    field.evaluate("(el) => el.removeAttribute('maxlength')")
    field.fill("x" * 101)
    press(page, "Book this appointment")


def no_last_date(page) -> None:
    press(page, "Join the waiting list")


def no_first_name(page) -> None:
    page.get_by_label("First name").fill("")
    press(page, "Save changes")


SIGNED_OUT = {
    "start": Visit(lambda w: "/", "Book a GP appointment"),
    "sign-in": Visit(lambda w: "/sign-in", "Sign in"),
    "sign-in-error": Visit(lambda w: "/sign-in", "Sign in", then=empty_sign_in),
    "register": Visit(lambda w: "/register", "Create an account"),
    "register-error": Visit(lambda w: "/register", "Create an account", then=empty_registration),
    "check-email": Visit(lambda w: "/register", "Check your email", then=a_whole_registration),
    "forgot-password": Visit(lambda w: "/account/forgot-password", "Reset your password"),
    "resend-link": Visit(lambda w: "/account/resend-link", "Get a new confirmation link"),
    "reset-password": Visit(reset_link, "Choose a new password"),
    "reset-password-error": Visit(reset_link, "Choose a new password", then=empty_new_password),
    "verify-email": Visit(unverified_link, "Confirm your email address"),
    "accessibility": Visit(lambda w: "/accessibility", "Accessibility statement"),
    "privacy": Visit(lambda w: "/privacy", "Privacy and cookies"),
    # Not a page of ours: the 404 a browser gets (it asks for text/html) for any address.
    "not-found": Visit(lambda w: "/no-such-page", "Page not found"),
}

SIGNED_IN = {
    "home": Visit(lambda w: "/", "Hello Alice", shows=("main li a",)),
    "choose-practice": Visit(lambda w: "/book", "Where do you want to book?"),
    "find-slot": Visit(lambda w: "/book/A81001", "Find an appointment", shows=(".slot",)),
    "find-slot-error": Visit(lambda w: "/book/A81001", "Find an appointment", a_day_in_the_past),
    "confirm": Visit(lambda w: confirm_path(w.free), "Check and book your appointment"),
    "confirm-error": Visit(
        lambda w: confirm_path(w.free), "Check and book your appointment", a_description_too_long
    ),
    "slot-gone": Visit(
        lambda w: confirm_path(w.taken),
        "Sorry, this appointment is no longer available",
        shows=("main li a",),
    ),
    "appointments": Visit(
        lambda w: "/appointments", "Your appointments", shows=(".nhsuk-card", "main table")
    ),
    "appointment-booked": Visit(
        lambda w: f"/appointments/{w.upcoming.pk}?booked",
        "Appointment booked",
        shows=(".nhsuk-panel",),
    ),
    "appointment-past": Visit(lambda w: f"/appointments/{w.past.pk}", "Your appointment"),
    "cancel": Visit(lambda w: f"/appointments/{w.upcoming.pk}/cancel", "Cancel your appointment"),
    "reschedule": Visit(
        lambda w: f"/appointments/{w.upcoming.pk}/reschedule", "Choose a new time", shows=(".slot",)
    ),
    "reschedule-confirm": Visit(
        lambda w: f"/appointments/{w.upcoming.pk}/reschedule/{w.free.pk}",
        "Check your new appointment time",
    ),
    "waiting-list": Visit(lambda w: "/waiting-list", "Waiting list", shows=(".nhsuk-card",)),
    "join-waiting-list": Visit(lambda w: "/waiting-list/join", "Join the waiting list"),
    "join-waiting-list-error": Visit(
        lambda w: "/waiting-list/join", "Join the waiting list", then=no_last_date
    ),
    "offer": Visit(
        lambda w: f"/waiting-list/offers/{w.offer.pk}", "An earlier appointment is free"
    ),
    "appointment-not-found": Visit(
        lambda w: f"/appointments/{uuid.uuid4()}", "Appointment not found"
    ),
    "appointment-unchangeable": Visit(
        lambda w: f"/appointments/{w.past.pk}/cancel", "You cannot change this appointment online"
    ),
    "my-details": Visit(lambda w: "/my-details", "My details"),
    "change-details": Visit(lambda w: "/my-details/change", "Change your details"),
    "change-details-error": Visit(
        lambda w: "/my-details/change", "Change your details", then=no_first_name
    ),
    "access-log": Visit(lambda w: "/my-details/access-log", "Who has looked at my record"),
}

ERROR_STATES = {name for name in {**SIGNED_OUT, **SIGNED_IN} if name.endswith("-error")}


def visit(page, world: World, name: str, how: Visit) -> None:
    page.goto(world.base + how.path(world))
    if how.then is not None:
        how.then(page)
    expect(page.locator("h1")).to_have_text(how.heading)
    shows = (".nhsuk-error-summary",) if name in ERROR_STATES else how.shows
    for selector in shows:
        expect(page.locator(selector).first).to_be_visible()


def assert_the_title_says_where_you_are(page, name: str) -> None:
    title = page.title()
    assert title.endswith(TITLE_END), title
    assert title.removesuffix(TITLE_END).removeprefix("Error: ").strip(), title
    assert title.startswith("Error: ") == (name in ERROR_STATES), title


def assert_the_error_summary_links_reach_their_fields(page) -> None:
    """Each link in the error summary names a field on the page (axe cannot tell)."""
    hrefs = page.locator(".nhsuk-error-summary a").evaluate_all(
        "(links) => links.map((link) => link.getAttribute('href'))"
    )
    for href in hrefs:
        assert href.startswith("#") and page.locator(href).count() == 1, href


def check(page, name: str) -> None:
    assert_the_title_says_where_you_are(page, name)
    if name in ERROR_STATES:
        assert_the_error_summary_links_reach_their_fields(page)
    assert_accessible(page, name)


@pytest.mark.parametrize("name", SIGNED_OUT)
def test_a_signed_out_page_is_accessible_and_titled(axe_page, world, name):
    visit(axe_page, world, name, SIGNED_OUT[name])

    check(axe_page, name)


@pytest.mark.parametrize("name", SIGNED_IN)
def test_a_signed_in_page_is_accessible_and_titled(axe_page, world, alice, name):
    sign_in_as_patient(axe_page, world.base, alice.email, DEFAULT_PASSWORD)

    visit(axe_page, world, name, SIGNED_IN[name])

    check(axe_page, name)
