"""A patient's journeys through the pages, in Debian's Chromium: sign up and confirm the email
address, book, move and cancel an appointment, lose a slot to someone quicker, do it all by
keyboard, on a 320 px phone and zoomed to 200%, and recover from a form's errors. Every page
is checked for console errors and missing assets (``patient_page``, as ``strict_page``), and
every journey ends in the database.

Personas: alice is a verified patient registered at Riverside; bob is another patient there,
who books the slot alice was about to confirm; "nia@example.com" is someone signing up.
"""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from accounts import emails
from accounts.models import User
from booking import services
from booking.models import Appointment, AppointmentStatus
from booking.services import Actor
from practices.models import SlotStatus
from tests.e2e.conftest import (
    chromium_missing,
    fill_in_registration,
    screenshot,
    sign_in_as_patient,
)
from tests.factories import DEFAULT_PASSWORD, free_slot
from tests.tasks import run_worker

pytestmark = [pytest.mark.django_db(transaction=True), chromium_missing]

STRONG = "Tr1cky-Pass!"
# The NHS focus colour: the background of a focused link or button, the outline of a field.
NHS_FOCUS_YELLOW = "rgb(255, 235, 59)"
# After a form sent from a page the skip link moved to #maincontent, the browser keeps the
# fragment through the redirect.
BOOKED_PAGE = re.compile(r"/appointments/[0-9a-f-]{36}\?booked(#maincontent)?$")


def confirm_path(slot) -> str:
    return f"/book/{slot.practice.ods_code}/slots/{slot.pk}"


def book_for(patient, slot) -> Appointment:
    return services.book_appointment(actor=Actor(user=patient), slot_id=slot.pk)


def verification_link(address: str) -> str:
    """The path and query of the link in the last email sent to ``address``."""
    (message,) = [m for m in mail.outbox if m.to == [address]]
    (query,) = re.findall(rf"https?://\S+{re.escape(emails.VERIFY_PATH)}(\?\S+)", message.body)
    return emails.VERIFY_PATH + query


# Sign up, confirm, sign in -------------------------------------------------------------------


def test_a_new_patient_registers_confirms_the_emailed_link_and_signs_in(
    patient_page, live_server, riverside
):
    page = patient_page
    page.goto(f"{live_server.url}/")
    screenshot(page, "patient-start")
    page.get_by_role("link", name="Create an account").click()

    fill_in_registration(page, email="nia@example.com", password=STRONG)
    page.get_by_label("Your GP practice (optional)").select_option("A81001")
    screenshot(page, "patient-register")
    page.get_by_role("button", name="Create account").click()

    expect(page.locator("h1")).to_have_text("Check your email")
    screenshot(page, "patient-check-email")
    run_worker()  # the worker sends the verification email the sign-up queued
    page.goto(live_server.url + verification_link("nia@example.com"))
    assert "token" not in page.url  # moved into the session, out of the address bar
    page.get_by_label("Your password").fill(STRONG)
    screenshot(page, "patient-verify")
    page.get_by_role("button", name="Confirm my email address").click()

    expect(page.locator("h1")).to_have_text("Email address confirmed")
    screenshot(page, "patient-verified")
    assert User.objects.get(email="nia@example.com").email_verified
    page.get_by_role("link", name="Sign in", exact=True).click()
    page.get_by_label("Email address").fill("nia@example.com")
    page.get_by_label("Password", exact=True).fill(STRONG)
    screenshot(page, "patient-sign-in")
    page.get_by_role("button", name="Sign in", exact=True).click()

    page.wait_for_url(f"{live_server.url}/")
    expect(page.locator("h1")).to_have_text("Hello Nia")
    screenshot(page, "patient-home")


# Book, move, cancel ----------------------------------------------------------------------------


def test_alice_books_the_earliest_slot_at_her_practice_and_sees_its_reference(
    patient_page, live_server, alice, riverside
):
    free_slot(riverside, hours_ahead=50)
    earliest = free_slot(riverside, hours_ahead=26)
    page = patient_page
    sign_in_as_patient(page, live_server.url, alice.email, DEFAULT_PASSWORD)

    page.get_by_role("navigation", name="Menu").get_by_role(
        "link", name="Book an appointment"
    ).click()
    expect(page.get_by_label("Riverside Surgery, LS1 4AP")).to_be_checked()
    screenshot(page, "patient-choose-practice")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Search").click()
    screenshot(page, "patient-find-slot")
    page.locator(".slot a").first.click()

    assert page.url == live_server.url + confirm_path(earliest)
    summary = page.locator(".nhsuk-summary-list")
    expect(summary).to_contain_text(earliest.clinician.display_name)
    expect(summary).to_contain_text("Riverside Surgery")
    page.get_by_label("What would you like to talk about? (optional)").fill("A rash on my arm")
    screenshot(page, "patient-confirm")
    page.get_by_role("button", name="Book this appointment").click()

    page.wait_for_url(BOOKED_PAGE)
    appointment = Appointment.objects.get(patient=alice)
    assert (appointment.slot_id, appointment.status) == (earliest.pk, AppointmentStatus.BOOKED)
    assert appointment.description == "A rash on my arm"
    panel = page.locator(".nhsuk-panel")
    expect(panel.get_by_role("heading")).to_have_text("Appointment booked")
    expect(panel).to_contain_text(appointment.reference)
    screenshot(page, "patient-booked")


def test_alice_moves_her_appointment_and_the_old_slot_is_free_again(
    patient_page, live_server, alice, riverside
):
    old_slot = free_slot(riverside, hours_ahead=26)
    new_slot = free_slot(riverside, hours_ahead=50)
    appointment = book_for(alice, old_slot)
    page = patient_page
    sign_in_as_patient(page, live_server.url, alice.email, DEFAULT_PASSWORD)

    page.goto(f"{live_server.url}/appointments/{appointment.pk}")
    page.get_by_role("button", name="Change the time").click()
    expect(page.locator("h1")).to_have_text("Choose a new time")
    screenshot(page, "patient-reschedule")
    page.locator(f'.slot a[href$="/{new_slot.pk}"]').click()
    expect(page.locator("h1")).to_have_text("Check your new appointment time")
    screenshot(page, "patient-reschedule-confirm")
    page.get_by_role("button", name="Move my appointment").click()

    page.wait_for_url(re.compile(r"\?moved$"))
    expect(page.get_by_role("alert")).to_contain_text("Your appointment has been moved")
    screenshot(page, "patient-moved")
    appointment.refresh_from_db()
    old_slot.refresh_from_db()
    assert (appointment.slot_id, appointment.status) == (new_slot.pk, AppointmentStatus.BOOKED)
    assert old_slot.status == SlotStatus.FREE


def test_alice_cancels_her_appointment_with_a_reason(patient_page, live_server, alice, riverside):
    appointment = book_for(alice, free_slot(riverside, hours_ahead=26))
    page = patient_page
    sign_in_as_patient(page, live_server.url, alice.email, DEFAULT_PASSWORD)

    page.goto(f"{live_server.url}/appointments/{appointment.pk}")
    page.get_by_role("button", name="Cancel this appointment").click()
    page.get_by_label("Why are you cancelling? (optional)").fill("I feel better now")
    screenshot(page, "patient-cancel")
    page.get_by_role("button", name="Cancel appointment").click()

    page.wait_for_url(re.compile(r"\?cancelled$"))
    expect(page.get_by_role("main")).to_contain_text("Reason for cancelling: I feel better now")
    screenshot(page, "patient-cancelled")
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert appointment.cancellation_reason == "I feel better now"


# A slot taken meanwhile ------------------------------------------------------------------------


def test_a_slot_taken_between_choosing_and_confirming_shows_the_conflict_page_with_others(
    patient_page, live_server, alice, bob, riverside
):
    taken = free_slot(riverside, hours_ahead=26)
    others = [free_slot(riverside, hours_ahead=27), free_slot(riverside, hours_ahead=28)]
    page = patient_page
    sign_in_as_patient(page, live_server.url, alice.email, DEFAULT_PASSWORD)
    page.goto(live_server.url + confirm_path(taken))

    book_for(bob, taken)  # bob is quicker, on his own phone
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Book this appointment").click()

    assert navigation.value.status == 409
    expect(page.locator("h1")).to_have_text("Sorry, this appointment is no longer available")
    screenshot(page, "patient-slot-gone")
    offered = page.get_by_role("main").get_by_role("listitem").get_by_role("link")
    hrefs = {offered.nth(i).get_attribute("href") for i in range(offered.count())}
    assert {confirm_path(slot) for slot in others} <= hrefs
    assert confirm_path(taken) not in hrefs
    assert Appointment.objects.filter(slot=taken).count() == 1
    assert not Appointment.objects.filter(patient=alice).exists()


def test_pressing_book_in_two_tabs_books_once_and_the_second_tab_shows_the_booking(
    patient_page, live_server, alice, riverside
):
    slot = free_slot(riverside, hours_ahead=26)
    first = patient_page
    sign_in_as_patient(first, live_server.url, alice.email, DEFAULT_PASSWORD)
    second = first.context.new_page()  # the same browser, so the same session
    first.goto(live_server.url + confirm_path(slot))
    second.goto(live_server.url + confirm_path(slot))

    first.get_by_role("button", name="Book this appointment").click()
    first.wait_for_url(BOOKED_PAGE)
    with second.expect_navigation() as navigation:
        second.get_by_role("button", name="Book this appointment").click()

    appointment = Appointment.objects.get(slot=slot)
    assert appointment.patient_id == alice.pk
    assert navigation.value.status == 200
    assert second.url == f"{live_server.url}/appointments/{appointment.pk}"
    expect(second.locator("h1")).to_have_text("Your appointment")
    expect(second.locator(".nhsuk-summary-list")).to_contain_text(appointment.reference)


# Keyboard only --------------------------------------------------------------------------------

FOCUSED = """() => {
    const el = document.activeElement;
    return {
        tag: el.tagName.toLowerCase(),
        id: el.id,
        text: (el.innerText || "").trim(),
        href: el.getAttribute("href") || "",
        checked: Boolean(el.checked),
        label: el.labels && el.labels.length ? el.labels[0].innerText.trim() : "",
    };
}"""

LOOK = """(el) => {
    const style = getComputedStyle(el);
    return [style.backgroundColor, style.color, style.boxShadow,
            style.outlineStyle + " " + style.outlineColor + " " + style.outlineWidth].join(" | ");
}"""


def focused(page) -> dict:
    return page.evaluate(FOCUSED)


def tab_to(page, wanted, *, limit: int = 60) -> dict:
    """Press Tab until the focused element is the one ``wanted(focused)`` picks."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = focused(page)
        if wanted(now):
            return now
    pytest.fail(f"Tab never reached the element wanted on {page.url}")


def assert_focus_is_visible(page) -> None:
    """The focused element has the NHS focus state (yellow, as background or outline), and
    looks different once focus leaves it (Shift+Tab away and Tab back)."""
    element = page.evaluate_handle("document.activeElement")
    with_focus = element.evaluate(LOOK)
    page.keyboard.press("Shift+Tab")
    without_focus = element.evaluate(LOOK)
    page.keyboard.press("Tab")

    assert page.evaluate("(el) => el === document.activeElement", element)
    assert NHS_FOCUS_YELLOW in with_focus, with_focus
    assert with_focus != without_focus


def skip_to_main_content(page) -> None:
    """The first Tab on every page reaches the skip link; Enter moves focus to the content.
    A page opened at #maincontent starts there already: a search form sent after the skip
    link was used keeps the address's fragment."""
    if page.url.endswith("#maincontent"):
        return
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "Skip to main content"
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "maincontent"


def test_alice_books_with_the_keyboard_alone_and_always_sees_where_focus_is(
    patient_page, live_server, alice, riverside
):
    slot = free_slot(riverside, hours_ahead=26)
    page = patient_page
    page.goto(f"{live_server.url}/")

    page.keyboard.press("Tab")
    assert focused(page)["text"] == "Skip to main content"
    assert_focus_is_visible(page)
    page.keyboard.press("Enter")
    tab_to(page, lambda f: f["text"] == "Sign in" and f["href"] == "/sign-in")
    assert_focus_is_visible(page)
    page.keyboard.press("Enter")

    page.wait_for_url(re.compile(r"/sign-in$"))
    skip_to_main_content(page)
    tab_to(page, lambda f: f["id"] == "id_email")
    page.keyboard.type(alice.email)
    assert_focus_is_visible(page)
    page.keyboard.press("Tab")
    assert focused(page)["id"] == "id_password"
    page.keyboard.type(DEFAULT_PASSWORD)
    page.keyboard.press("Enter")

    page.wait_for_url(f"{live_server.url}/")
    tab_to(page, lambda f: f["text"] == "Book an appointment")  # in the header's menu
    assert_focus_is_visible(page)
    page.keyboard.press("Enter")

    page.wait_for_url(re.compile(r"/book$"))
    skip_to_main_content(page)
    chosen = tab_to(page, lambda f: f["tag"] == "input")
    assert (chosen["label"], chosen["checked"]) == ("Riverside Surgery, LS1 4AP", True)
    tab_to(page, lambda f: f["text"] == "Continue")
    assert_focus_is_visible(page)
    page.keyboard.press("Enter")

    page.wait_for_url(re.compile(r"/book/A81001$"))
    skip_to_main_content(page)
    tab_to(page, lambda f: f["label"] == "Day")
    assert_focus_is_visible(page)
    tab_to(page, lambda f: f["label"] == "Any way")
    page.keyboard.press("ArrowRight")  # the arrow keys choose within a group of radios
    assert (focused(page)["label"], focused(page)["checked"]) == ("In person", True)
    tab_to(page, lambda f: f["text"] == "Search")
    page.keyboard.press("Enter")

    page.wait_for_url(re.compile(r"channel=in_person"))
    skip_to_main_content(page)
    tab_to(page, lambda f: f["href"] == confirm_path(slot))
    assert_focus_is_visible(page)
    page.keyboard.press("Enter")

    page.wait_for_url(re.compile(re.escape(confirm_path(slot)) + "$"))
    skip_to_main_content(page)
    tab_to(page, lambda f: f["id"] == "id_description")
    page.keyboard.type("Booked without a mouse")
    tab_to(page, lambda f: f["text"] == "Book this appointment")
    assert_focus_is_visible(page)
    page.keyboard.press("Enter")

    page.wait_for_url(BOOKED_PAGE)
    appointment = Appointment.objects.get(patient=alice)
    assert (appointment.slot_id, appointment.description) == (slot.pk, "Booked without a mouse")
    expect(page.locator(".nhsuk-panel")).to_contain_text(appointment.reference)
    screenshot(page, "patient-keyboard-booked")


# Small screens and zoom ----------------------------------------------------------------------

NO_HORIZONTAL_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"

# Pairs of visible boxes in the content that overlap, neither inside the other: text or
# controls drawn over each other. Radios and checkboxes are left out: the NHS styles draw
# their visible circle or box on the label, over the (invisible) input.
OVERLAPS = """() => {
    const selector = "h1, h2, h3, p, label, legend, .nhsuk-hint, .nhsuk-caption-l, dt, dd, "
        + "input:not([type=radio]):not([type=checkbox]):not([type=hidden]), select, "
        + "textarea, button, a, .nhsuk-body-s";
    const boxes = [...document.querySelectorAll("main " + selector)]
        .map((el) => ({el, box: el.getBoundingClientRect()}))
        .filter(({box}) => box.width > 1 && box.height > 1);
    const overlaps = [];
    for (const [i, a] of boxes.entries()) {
        for (const b of boxes.slice(i + 1)) {
            if (a.el.contains(b.el) || b.el.contains(a.el)) continue;
            const across = Math.min(a.box.right, b.box.right) - Math.max(a.box.left, b.box.left);
            const down = Math.min(a.box.bottom, b.box.bottom) - Math.max(a.box.top, b.box.top);
            if (across > 1 && down > 1) {
                overlaps.push(a.el.outerHTML.slice(0, 80) + " over " + b.el.outerHTML.slice(0, 80));
            }
        }
    }
    return overlaps;
}"""


def assert_it_reflows(page, name: str) -> None:
    assert page.evaluate(NO_HORIZONTAL_SCROLL), (
        f"{name} scrolls sideways: "
        f"{page.evaluate('document.documentElement.scrollWidth')} px of content in "
        f"{page.evaluate('window.innerWidth')} px"
    )
    assert page.evaluate(OVERLAPS) == [], name
    screenshot(page, name)


def visit_find_and_confirm(page, base_url: str, slot, name: str) -> None:
    page.goto(f"{base_url}/book/A81001")
    expect(page.locator(".slot a").first).to_be_visible()
    assert_it_reflows(page, f"{name}-find-slot")
    page.goto(base_url + confirm_path(slot))
    assert_it_reflows(page, f"{name}-confirm")


@pytest.mark.parametrize(
    ("name", "options"),
    [
        pytest.param("patient-320px", {"viewport": {"width": 320, "height": 640}}, id="320px-wide"),
        # A 1280 x 800 window zoomed to 200%: 640 CSS pixels across.
        pytest.param(
            "patient-zoom-200",
            {"viewport": {"width": 640, "height": 400}, "device_scale_factor": 2},
            id="zoomed-200-percent",
        ),
    ],
)
def test_finding_and_confirming_a_slot_reflow_without_scrolling_sideways(
    new_context, live_server, alice, riverside, name, options
):
    slot = free_slot(riverside, hours_ahead=26)
    page = new_context(**options).new_page()
    sign_in_as_patient(page, live_server.url, alice.email, DEFAULT_PASSWORD)

    visit_find_and_confirm(page, live_server.url, slot, name)


def test_text_zoomed_to_200_percent_still_fits_and_nothing_overlaps(
    new_context, live_server, alice, riverside
):
    slot = free_slot(riverside, hours_ahead=26)
    page = new_context(viewport={"width": 1280, "height": 800}).new_page()
    sign_in_as_patient(page, live_server.url, alice.email, DEFAULT_PASSWORD)
    # Text-only zoom, as a browser's "text size" setting does: the NHS type scale is in rem.
    page.add_init_script(
        "document.addEventListener('DOMContentLoaded', () => "
        "{ document.documentElement.style.fontSize = '200%'; });"
    )

    visit_find_and_confirm(page, live_server.url, slot, "patient-text-200")
    assert page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") >= 32


# Errors -------------------------------------------------------------------------------------


def test_signing_in_with_empty_fields_focuses_the_error_summary_whose_links_reach_the_fields(
    patient_page, live_server
):
    page = patient_page
    page.goto(f"{live_server.url}/sign-in")

    page.get_by_role("button", name="Sign in", exact=True).click()

    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_be_focused()
    assert page.title().startswith("Error: ")
    screenshot(page, "patient-sign-in-errors")
    links = summary.get_by_role("link")
    expect(links).to_have_count(2)
    links.nth(0).click()
    expect(page.get_by_label("Email address")).to_be_focused()
    links.nth(1).click()
    expect(page.get_by_label("Password", exact=True)).to_be_focused()
