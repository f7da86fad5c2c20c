"""The patient's account pages: sign in and out, create an account, see and change their
details, see who has looked at their record. Driven as a browser without JavaScript would:
each form is opened, filled in as it stands and sent back with its CSRF token.

Personas: alice is a verified patient at Riverside, whose NHS number the practice confirmed;
bob is another patient there; dave is Riverside's administrator (staff: refused here);
"new@example.com" is someone signing up.
"""

import datetime as dt
import re
from html import unescape
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.audit import record_event
from accounts.models import AccountEmail, AuditEvent, LoginLockout, PatientProfile, User
from accounts.pages.register import TOO_MANY_REGISTRATIONS
from core.page_forms import DATE_INVALID
from core.pages import STAFF_ONLY_ADMIN
from tests.factories import DEFAULT_PASSWORD, PatientFactory, PracticeFactory, fake_nhs_number
from tests.security.test_limits import with_rates

pytestmark = pytest.mark.django_db

HOME = reverse("booking-pages:home")
SIGN_IN = reverse("account-pages:sign-in")
SIGN_OUT = reverse("account-pages:sign-out")
REGISTER = reverse("account-pages:register")
MY_DETAILS = reverse("account-pages:my-details")
CHANGE = reverse("account-pages:change-details")
ACCESS_LOG = reverse("account-pages:access-log")
STRONG = "Tr1cky-Pass!"


@pytest.fixture
def browser():
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def signed_in(browser):
    """The browser, signed in as the given user (a session cookie, as after signing in)."""

    def sign_in(user):
        browser.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        return browser

    return sign_in


class _FormValues(HTMLParser):
    """What a browser sends from the form posting to ``action``: every named input's value,
    the checked boxes, each select's chosen option."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.inside, self.select = action, False, None
        self.values: dict[str, list[str]] = {}
        self.first_options: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("action", "") == self.action
        if not self.inside or "name" not in a and tag != "option":
            return
        if tag == "input":
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                self.values.setdefault(a["name"], [])
                return
            self.values.setdefault(a["name"], []).append(a.get("value") or "")
        elif tag == "select":
            self.select = a["name"]
            self.values[a["name"]] = []
        elif tag == "option" and self.select:
            self.first_options.setdefault(self.select, a.get("value") or "")
            if "selected" in a:
                self.values[self.select] = [a.get("value") or ""]

    def handle_endtag(self, tag):  # type: ignore[no-untyped-def]
        if tag == "form":
            self.inside = False
        elif tag == "select" and self.select:
            if not self.values[self.select]:
                self.values[self.select] = [self.first_options.get(self.select, "")]
            self.select = None


def submit(browser, url, changes=None, *, opened=None):
    """Open the page at ``url`` (or ``opened``), change some of its form's fields and send it
    back, as a person at a browser does."""
    page = browser.get(opened or url)
    form = _FormValues(url)
    form.feed(page.text)
    values = {name: [unescape(v) for v in given] for name, given in form.values.items()}
    for name, value in (changes or {}).items():
        values[name] = value if isinstance(value, list) else [value]
    return browser.post(url, values)


def errors_on(response, field):
    """The error messages the page shows against ``field`` (the NHS error message)."""
    pattern = rf'id="id_{field}-error"><span class="nhsuk-u-visually-hidden">Error:</span> ([^<]*)<'
    return [unescape(message) for message in re.findall(pattern, response.text)]


def sign_up(browser, **changes):
    fields = {
        "given_name": "Nia",
        "family_name": "Evans",
        "date_of_birth_0": "15",
        "date_of_birth_1": "3",
        "date_of_birth_2": "1984",
        "email": "new@example.com",
        "password": STRONG,
        **changes,
    }
    return submit(browser, REGISTER, fields)


# Signing in and out -----------------------------------------------------------------------


def test_the_right_password_signs_in_and_goes_on_to_next(browser, alice):
    response = submit(
        browser,
        SIGN_IN,
        {"email": "alice@example.com", "password": DEFAULT_PASSWORD},
        opened=f"{SIGN_IN}?next={MY_DETAILS}",
    )

    assert (response.status_code, response["Location"]) == (302, MY_DETAILS)
    assert browser.get(MY_DETAILS).status_code == 200


def test_a_next_address_on_another_site_goes_home_instead(browser, alice):
    response = submit(
        browser,
        SIGN_IN,
        {
            "email": "alice@example.com",
            "password": DEFAULT_PASSWORD,
            "next": "https://evil.example/",
        },
    )

    assert (response.status_code, response["Location"]) == (302, HOME)


def test_a_wrong_password_is_401_with_the_services_words(browser, alice):
    response = submit(browser, SIGN_IN, {"email": "alice@example.com", "password": "Wrong-1234"})

    assert response.status_code == 401
    assert "<title>Error: Sign in" in response.text
    assert services.INVALID_CREDENTIALS in unescape(response.text)
    assert browser.get(MY_DETAILS).status_code == 302


def test_a_locked_account_is_429_even_with_the_right_password(browser, alice):
    LoginLockout.objects.create(
        email="alice@example.com", locked_until=timezone.now() + dt.timedelta(minutes=10)
    )

    response = submit(
        browser, SIGN_IN, {"email": "alice@example.com", "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert services.ACCOUNT_LOCKED in response.text


def test_a_patient_who_has_not_confirmed_their_address_cannot_sign_in(browser):
    PatientFactory(email="new@example.com", email_verified_at=None)

    response = submit(browser, SIGN_IN, {"email": "new@example.com", "password": DEFAULT_PASSWORD})

    assert response.status_code == 401
    assert browser.get(MY_DETAILS).status_code == 302


def test_staff_are_refused_and_sent_to_the_admin(browser, dave):
    response = submit(browser, SIGN_IN, {"email": "dave@example.com", "password": DEFAULT_PASSWORD})

    assert response.status_code == 403
    assert STAFF_ONLY_ADMIN in response.text
    assert "_auth_user_id" not in browser.session


def test_signing_out_by_a_link_does_nothing(signed_in, alice):
    browser = signed_in(alice)

    assert browser.get(SIGN_OUT).status_code == 405
    assert browser.get(MY_DETAILS).status_code == 200


def test_signing_out_ends_the_session(signed_in, alice):
    browser = signed_in(alice)

    response = submit(browser, SIGN_OUT, opened=MY_DETAILS)

    assert (response.status_code, response["Location"]) == (302, f"{SIGN_IN}?signed_out")
    assert browser.get(MY_DETAILS).status_code == 302


# Creating an account ----------------------------------------------------------------------


def test_it_makes_an_unconfirmed_account_and_queues_the_confirmation_email(
    browser, riverside, settings
):
    answer = sign_up(browser)
    response = browser.get(answer["Location"])  # after a redirect: a refresh sends nothing

    assert answer.status_code == 302
    assert "Check your email" in response.text
    assert f"{settings.ACCOUNT_LINK_BASE_URL}/account/verify-email" in response.text
    new = User.objects.get(email="new@example.com")
    assert (new.full_name, new.email_verified) == ("Nia Evans", False)
    assert new.patient_profile.date_of_birth == dt.date(1984, 3, 15)
    assert AccountEmail.objects.filter(user=new, kind=AccountEmail.Kind.VERIFY_EMAIL).exists()


def test_a_taken_address_gets_the_same_answer_and_nothing_is_made(browser, alice):
    taken = sign_up(browser, email="alice@example.com")
    taken_page = browser.get(taken["Location"])
    new = sign_up(browser, email="new@example.com")
    new_page = browser.get(new["Location"])

    assert taken["Location"] == new["Location"]
    assert taken_page.text.replace("alice@", "new@") == new_page.text
    assert User.objects.filter(email="alice@example.com").count() == 1
    assert AccountEmail.objects.filter(user=alice, kind=AccountEmail.Kind.ACCOUNT_EXISTS).exists()


def test_the_chosen_practice_and_reminders_are_saved(browser, riverside):
    sign_up(browser, practice="A81001", phone="07700 900123", reminders=["email", "sms"])

    profile = PatientProfile.objects.get(user__email="new@example.com")
    assert profile.registered_practice == riverside
    assert (profile.phone, profile.notify_by_email, profile.notify_by_sms) == (
        "+447700900123",
        True,
        True,
    )


def test_a_weak_password_is_refused_on_its_field_and_nothing_is_made(browser):
    response = sign_up(browser, password="short")

    assert response.status_code == 422
    assert "<title>Error: Create an account" in response.text
    assert "This password is too short. It must contain at least 8 characters." in errors_on(
        response, "password"
    )
    assert 'href="#id_password">' in response.text
    assert not User.objects.filter(email="new@example.com").exists()


def test_a_date_of_birth_in_the_future_is_refused_on_its_field(browser):
    next_year = str(timezone.localdate().year + 1)

    response = sign_up(browser, date_of_birth_2=next_year)

    assert response.status_code == 422
    assert errors_on(response, "date_of_birth") == [services.DATE_OF_BIRTH_IN_FUTURE]
    assert not User.objects.filter(email="new@example.com").exists()


def test_an_impossible_date_of_birth_is_refused_on_its_field(browser):
    response = sign_up(browser, date_of_birth_0="31", date_of_birth_1="2", date_of_birth_2="2000")

    assert response.status_code == 400
    assert errors_on(response, "date_of_birth") == [DATE_INVALID]
    assert 'href="#id_date_of_birth_0">' in response.text
    assert not User.objects.filter(email="new@example.com").exists()


def test_an_nhs_number_with_a_wrong_check_digit_is_refused_in_the_apis_words(browser):
    number = fake_nhs_number()
    wrong = number[:9] + str((int(number[9]) + 1) % 10)

    response = sign_up(browser, nhs_number=wrong)

    assert response.status_code == 400
    assert errors_on(response, "nhs_number") == ["Enter a valid 10-digit NHS number."]
    assert not User.objects.filter(email="new@example.com").exists()


def test_sign_ups_share_the_apis_limit_per_client_address(browser, api, settings):
    with_rates(settings, register="1/min")
    api.post(
        reverse("accounts:register"),
        {"email": "first@example.com", "password": STRONG},
        format="json",
    )

    response = sign_up(browser)

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert TOO_MANY_REGISTRATIONS in response.text
    assert not User.objects.filter(email="new@example.com").exists()


def test_a_sign_up_is_audited_with_the_new_patient(browser):
    sign_up(browser)

    event = AuditEvent.objects.get(action="page.profile.register")
    assert event.patient == User.objects.get(email="new@example.com")
    assert event.allowed is True


# My details -------------------------------------------------------------------------------


def test_my_details_shows_alices_details(signed_in, alice):
    nhs_number = alice.patient_profile.nhs_number

    response = signed_in(alice).get(MY_DETAILS)

    assert response.status_code == 200
    assert "nhsuk-summary-list" in response.text
    for shown in (
        "Alice Smith",
        "alice@example.com",
        f"{nhs_number[:3]} {nhs_number[3:6]} {nhs_number[6:]}",
        "Confirmed by your practice",
        "+447700900123",
        "Riverside Surgery",
    ):
        assert shown in response.text
    assert f'href="{CHANGE}#id_phone"' in response.text
    assert "no-store" in response["Cache-Control"]


def test_reading_my_details_is_in_my_access_log(signed_in, alice):
    signed_in(alice).get(MY_DETAILS)

    event = AuditEvent.objects.get(action="page.profile.read")
    assert (event.actor, event.patient, event.object_id) == (alice, alice, str(alice.pk))


def test_changing_details_saves_them_and_says_so(signed_in, alice):
    browser = signed_in(alice)

    response = submit(browser, CHANGE, {"phone": "07700 900456", "town": "Leeds"})

    assert (response.status_code, response["Location"]) == (302, f"{MY_DETAILS}?changed")
    profile = PatientProfile.objects.get(user=alice)
    assert (profile.phone, profile.town) == ("+447700900456", "Leeds")
    assert "Your details have been updated." in browser.get(response["Location"]).text
    assert AuditEvent.objects.filter(action="page.profile.update", patient=alice).exists()


def test_text_messages_without_a_phone_are_refused_on_that_question(signed_in, alice):
    response = submit(signed_in(alice), CHANGE, {"phone": "", "reminders": ["email", "sms"]})

    assert response.status_code == 422
    assert errors_on(response, "reminders") == [services.SMS_NEEDS_PHONE]
    assert 'href="#id_reminders_0">' in response.text
    assert PatientProfile.objects.get(user=alice).phone == "+447700900123"


def test_a_confirmed_nhs_number_is_not_offered_and_cannot_be_changed(signed_in, alice):
    browser = signed_in(alice)
    assert 'name="nhs_number"' not in browser.get(CHANGE).text

    response = submit(browser, CHANGE, {"nhs_number": fake_nhs_number()})

    assert response.status_code == 422
    assert errors_on(response, "nhs_number") == [services.NHS_NUMBER_LOCKED]
    assert PatientProfile.objects.get(user=alice).nhs_number == alice.patient_profile.nhs_number


def test_a_closed_practice_left_alone_stays_the_patients(signed_in, alice):
    closed = PracticeFactory(name="Old Mill Surgery", is_active=False)
    PatientProfile.objects.filter(user=alice).update(registered_practice=closed)

    response = submit(signed_in(alice), CHANGE, {"town": "Leeds"})

    assert response.status_code == 302
    assert PatientProfile.objects.get(user=alice).registered_practice == closed


def test_a_signed_out_visitor_is_sent_to_sign_in_and_back(browser):
    response = browser.get(MY_DETAILS)

    assert (response.status_code, response["Location"]) == (302, f"{SIGN_IN}?next=%2Fmy-details")


def test_staff_are_sent_to_the_admin(signed_in, dave):
    response = signed_in(dave).get(MY_DETAILS)

    assert response.status_code == 403
    assert STAFF_ONLY_ADMIN in response.text


# Who has looked at my record --------------------------------------------------------------


def looked_at(patient, *, by, action="api.appointment.retrieve", times=1):
    for _ in range(times):
        record_event(
            action=action,
            object_type="appointment",
            object_id="",
            source_address="192.0.2.1",
            patient=patient,
            actor=by,
            allowed=True,
        )


def rows(response):
    return re.findall(r"<tr class=\"nhsuk-table__row\">\s*<td", response.text)


def test_the_access_log_names_the_staff_member_who_looked(signed_in, alice, dave):
    looked_at(alice, by=dave)

    response = signed_in(alice).get(ACCESS_LOG)

    assert response.status_code == 200
    assert '<th class="nhsuk-table__header" scope="col">Who</th>' in response.text
    assert "Dave Brown<br>" in response.text
    assert "api.appointment.retrieve" in response.text


def test_the_patients_own_looks_are_listed_as_you(signed_in, alice):
    looked_at(alice, by=alice, action="api.profile.get")

    response = signed_in(alice).get(ACCESS_LOG)

    assert "You<br>" in response.text


def test_another_patients_log_is_never_shown(signed_in, alice, bob, dave):
    looked_at(bob, by=dave, action="api.patient.retrieve")

    response = signed_in(alice).get(ACCESS_LOG)

    assert "api.patient.retrieve" not in response.text


def test_the_access_log_shows_50_a_page_newest_first(signed_in, alice, dave):
    looked_at(alice, by=dave, action="api.first.look")
    looked_at(alice, by=dave, times=50)
    browser = signed_in(alice)

    first, second = browser.get(ACCESS_LOG), browser.get(f"{ACCESS_LOG}?page=2")

    assert len(rows(first)) == 50
    assert 'href="?page=2" rel="next"' in first.text
    assert len(rows(second)) == 1
    assert "api.first.look" in second.text
    assert 'href="?page=1" rel="prev"' in second.text


@pytest.mark.parametrize("page", ["abc", "0", "99", "1e3"])
def test_a_page_number_that_is_no_page_shows_the_first(signed_in, alice, dave, page):
    looked_at(alice, by=dave)

    response = signed_in(alice).get(f"{ACCESS_LOG}?page={page}")

    assert response.status_code == 200
    assert len(rows(response)) == 1


def test_reading_the_access_log_is_not_itself_logged_as_the_apis_is_not(signed_in, alice):
    signed_in(alice).get(ACCESS_LOG)

    assert not AuditEvent.objects.filter(patient=alice).exists()


def test_the_access_log_costs_the_same_queries_whatever_its_length(
    signed_in, alice, dave, assert_statements
):
    looked_at(alice, by=dave, times=60)
    browser = signed_in(alice)

    # The session, the user, the count of events, one page of them with their actors, and
    # the session saved again (it ends after a time idle: SESSION_SAVE_EVERY_REQUEST); the
    # patient's rate counter (patient_page) on top.
    with assert_statements(5):
        browser.get(ACCESS_LOG)
