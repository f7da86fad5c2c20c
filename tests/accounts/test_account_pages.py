"""The pages the links in account emails open, driven as a browser without JavaScript would.

Personas: alice is a verified patient; "new@example.com" has just signed up.
"""

import re
from html import unescape

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts import emails
from accounts.models import AccountEmail, User
from tests.accounts.test_email_flows import emails_to, token_in
from tests.factories import DEFAULT_PASSWORD, PatientFactory
from tests.security.test_limits import with_rates
from tests.tasks import run_worker

pytestmark = pytest.mark.django_db

VERIFY = reverse("account-pages:verify-email")
FORGOT = reverse("account-pages:forgot-password")
RESET = reverse("account-pages:reset-password")
RESEND = reverse("account-pages:resend-link")
NEW_PASSWORD = "An0ther-Secret!"


@pytest.fixture
def browser():
    return Client(enforce_csrf_checks=True)


def submit(browser, url, fields, *, query=""):
    """Open the page (following the link's redirect), then POST its form back with ``fields``
    filled in, as a browser does."""
    page = browser.get(f"{url}{query}", follow=True)
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page.text))
    return browser.post(url, {**{k: unescape(v) for k, v in hidden.items()}, **fields})


@pytest.fixture
def emailed(django_capture_on_commit_callbacks):
    """Queue a kind of email to a user, and let the worker send it."""

    def queue(user, kind):
        with django_capture_on_commit_callbacks(execute=True):
            emails.queue(user, kind)
        run_worker()
        return emails_to(user.email)[-1]

    return queue


def test_opening_the_verification_link_changes_nothing_until_the_form_is_sent(browser, emailed):
    patient = PatientFactory(email_verified_at=None)
    token = token_in(emailed(patient, AccountEmail.Kind.VERIFY_EMAIL), emails.VERIFY_PATH)

    opened = browser.get(f"{VERIFY}?token={token}", follow=True)
    assert opened.status_code == 200
    assert User.objects.get(pk=patient.pk).email_verified is False

    confirmed = submit(browser, VERIFY, {"password": DEFAULT_PASSWORD}, query=f"?token={token}")

    assert confirmed.status_code == 200
    assert "Email address confirmed" in confirmed.text
    assert User.objects.get(pk=patient.pk).email_verified is True


def test_the_link_leaves_no_token_in_the_address_bar(browser, emailed):
    patient = PatientFactory(email_verified_at=None)
    token = token_in(emailed(patient, AccountEmail.Kind.VERIFY_EMAIL), emails.VERIFY_PATH)

    opened = browser.get(f"{VERIFY}?token={token}")

    assert (opened.status_code, opened["Location"]) == (302, VERIFY)
    assert token not in browser.get(VERIFY).text


def test_the_wrong_password_is_an_error_on_its_field(browser, emailed):
    patient = PatientFactory(email_verified_at=None)
    token = token_in(emailed(patient, AccountEmail.Kind.VERIFY_EMAIL), emails.VERIFY_PATH)

    response = submit(browser, VERIFY, {"password": "Not-Mine-123"}, query=f"?token={token}")

    assert response.status_code == 401
    assert 'href="#id_password">' in response.text
    assert User.objects.get(pk=patient.pk).email_verified is False


def test_a_page_opened_without_a_link_says_the_link_does_not_work(browser):
    assert browser.get(RESET).status_code == 400


def test_a_broken_verification_link_says_so_and_offers_a_way_on(browser):
    response = submit(browser, VERIFY, {"password": "x"}, query="?token=not-a-token")

    assert response.status_code == 400
    assert "This link does not work" in response.text
    assert f'href="{RESEND}"' in response.text  # a new confirmation link, not a reset


def test_the_forgotten_password_page_answers_alike_and_emails_only_an_account(
    browser, alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        known = submit(browser, FORGOT, {"email": "alice@example.com"})
        unknown = submit(browser, FORGOT, {"email": "nobody@example.com"})
    run_worker()

    assert known.status_code == unknown.status_code == 200
    assert known.text == unknown.text
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]


def test_a_new_confirmation_link_goes_only_to_an_unconfirmed_account_and_answers_alike(
    browser, alice, django_capture_on_commit_callbacks
):
    nia = PatientFactory(email="nia@example.com", email_verified_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        answers = [
            submit(browser, RESEND, {"email": email})
            for email in ("nia@example.com", "alice@example.com", "nobody@example.com")
        ]
    run_worker()

    assert {(answer.status_code, answer.text) for answer in answers} == {
        (answers[0].status_code, answers[0].text)
    }
    assert [m.to for m in mail.outbox] == [[nia.email]]


def test_the_reset_page_sets_the_password_from_the_emailed_link(browser, alice, emailed):
    token = token_in(emailed(alice, AccountEmail.Kind.PASSWORD_RESET), emails.RESET_PATH)

    response = submit(
        browser,
        RESET,
        {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        query=f"?token={token}",
    )

    assert response.status_code == 200
    assert "Password changed" in response.text
    assert User.objects.get(pk=alice.pk).check_password(NEW_PASSWORD)


@pytest.mark.parametrize(
    ("password", "confirm", "status", "field", "message"),
    [
        ("short", "short", 422, "password", "This password is too short"),
        (NEW_PASSWORD, "Something-else-1", 400, "confirm", "The two passwords are different."),
    ],
)
def test_the_reset_page_ties_each_error_to_its_field(
    browser, alice, emailed, password, confirm, status, field, message
):
    token = token_in(emailed(alice, AccountEmail.Kind.PASSWORD_RESET), emails.RESET_PATH)

    response = submit(
        browser, RESET, {"password": password, "confirm": confirm}, query=f"?token={token}"
    )

    assert response.status_code == status
    assert "<title>Error: Choose a new password" in response.text
    assert f'href="#id_{field}">{message}' in response.text
    assert (
        f'id="id_{field}-error"><span class="nhsuk-u-visually-hidden">Error:</span> {message}'
        in response.text
    )
    assert User.objects.get(pk=alice.pk).check_password(DEFAULT_PASSWORD)


def test_a_form_posted_without_its_csrf_token_is_refused(browser, alice):
    response = browser.post(FORGOT, {"email": "alice@example.com"})

    assert response.status_code == 403
    assert AccountEmail.objects.count() == 0


def test_the_pages_share_the_apis_limit_per_client_address(browser, api, settings):
    with_rates(settings, account_email="2/min")
    api.post(reverse("accounts:password-reset"), {"email": "a@example.com"}, format="json")
    submit(browser, FORGOT, {"email": "a@example.com"})

    response = submit(browser, FORGOT, {"email": "a@example.com"})

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0


def test_the_pages_are_never_cached_and_run_no_inline_script(browser):
    response = browser.get(f"{RESET}?token=x", follow=True)

    assert "no-store" in response["Cache-Control"]
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert all("src=" in script for script in re.findall(r"<script[^>]*>", response.text))
