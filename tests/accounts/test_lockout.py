"""One lockout policy for every way in: the API, the staff admin and token refresh; per account
and per client address; audited; lifted by practice staff (issue 17.1)."""

import datetime as dt

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AddressLockout, AuditEvent, LoginLockout
from accounts.services import ACCOUNT_LOCKED
from accounts.tokens import issue_tokens
from tests.concurrency import run_concurrently
from tests.factories import DEFAULT_PASSWORD, PatientFactory

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")
REFRESH = reverse("accounts:refresh")
LOGOUT = reverse("accounts:logout")
ADMIN_LOGIN = reverse("admin:login")


def api_login(api, email, password=DEFAULT_PASSWORD, address="203.0.113.9"):
    return api.post(
        LOGIN, {"email": email, "password": password}, format="json", REMOTE_ADDR=address
    )


def admin_login(email, password=DEFAULT_PASSWORD, address="203.0.113.9"):
    client = Client(REMOTE_ADDR=address)
    response = client.post(
        ADMIN_LOGIN, {"username": email, "password": password, "next": "/admin/"}
    )
    return client, response


def lock_out(api, email):
    """Three wrong passwords: the lock, at the threshold of 3 these tests set."""
    for _ in range(3):
        api_login(api, email, "Wrong-Pass-1")


def signed_in(client):
    return "_auth_user_id" in client.session


@override_settings(LOGIN_LOCKOUT_THRESHOLD=3)
def test_the_admin_locks_an_account_after_repeated_failures_even_for_the_right_password(dave):
    for _ in range(3):
        admin_login(dave.email, "Wrong-Pass-1")

    client, response = admin_login(dave.email)

    assert not signed_in(client)
    assert ACCOUNT_LOCKED in response.content.decode()


@override_settings(LOGIN_LOCKOUT_THRESHOLD=3)
def test_an_account_locked_through_the_api_cannot_sign_into_the_admin(api, dave):
    lock_out(api, dave.email)

    client, _ = admin_login(dave.email)

    assert not signed_in(client)


@override_settings(LOGIN_LOCKOUT_THRESHOLD=3)
def test_admin_failures_count_towards_the_api_lock(api, dave):
    for _ in range(3):
        admin_login(dave.email, "Wrong-Pass-1")

    response = api_login(api, dave.email)

    assert response.status_code == 429
    assert response.json()["code"] == "account_locked"


def test_the_admin_still_lets_staff_in_with_the_right_password(dave):
    client, response = admin_login(dave.email)

    assert signed_in(client)
    assert response.status_code == 302


@override_settings(LOGIN_LOCKOUT_ADDRESS_THRESHOLD=4)
def test_one_address_guessing_at_many_accounts_is_locked(api, alice):
    for n in range(4):
        api_login(api, f"guess{n}@example.com", "Wrong-Pass-1")

    from_there = api_login(api, alice.email)
    from_elsewhere = api_login(api, alice.email, address="198.51.100.20")

    assert from_there.status_code == 429
    assert from_elsewhere.status_code == 200


@override_settings(LOGIN_LOCKOUT_THRESHOLD=3)
def test_each_lock_is_audited(api, alice):
    lock_out(api, alice.email)

    event = AuditEvent.objects.get(action="auth.lock.account")
    assert (event.patient, event.allowed, event.source_address) == (alice, False, "203.0.113.9")


@override_settings(LOGIN_LOCKOUT_ADDRESS_THRESHOLD=2)
def test_an_address_lock_is_audited(api):
    for n in range(2):
        api_login(api, f"guess{n}@example.com", "Wrong-Pass-1")

    assert AuditEvent.objects.filter(action="auth.lock.address", object_id="203.0.113.9").exists()


@override_settings(LOGIN_LOCKOUT_THRESHOLD=3)
def test_a_locked_account_cannot_refresh_its_tokens(api, alice):
    refresh = issue_tokens(user=alice).refresh
    lock_out(api, alice.email)

    response = api.post(REFRESH, {"refresh": refresh}, format="json")

    assert response.status_code == 429
    assert response.json()["code"] == "account_locked"


@override_settings(LOGIN_LOCKOUT_THRESHOLD=3)
def test_a_locked_account_can_still_sign_out(api, alice):
    refresh = issue_tokens(user=alice).refresh
    lock_out(api, alice.email)

    assert api.post(LOGOUT, {"refresh": refresh}, format="json").status_code == 204


def unlock(client, *patients):
    return client.post(
        reverse("admin:booking_patientproxy_changelist"),
        {"action": "unlock_sign_in", "_selected_action": [p.pk for p in patients]},
        follow=True,
    )


@override_settings(LOGIN_LOCKOUT_THRESHOLD=3)
def test_a_practice_administrator_unlocks_their_patients_sign_in(api, client, dave, alice):
    lock_out(api, alice.email)
    client.force_login(dave)

    unlock(client, alice)

    assert api_login(api, alice.email).status_code == 200
    event = AuditEvent.objects.get(action="auth.unlock.account")
    assert (event.actor, event.patient, event.allowed) == (dave, alice, True)


@override_settings(LOGIN_LOCKOUT_THRESHOLD=3)
def test_staff_of_another_practice_cannot_unlock_a_patient(api, client, erin, alice):
    lock_out(api, alice.email)
    client.force_login(erin)

    unlock(client, alice)

    assert LoginLockout.objects.get(email=alice.email).locked_until is not None
    assert api_login(api, alice.email).status_code == 429


@override_settings(LOGIN_LOCKOUT_THRESHOLD=3)
def test_a_clinician_cannot_unlock_a_patient(api, client, carol, alice):
    lock_out(api, alice.email)
    client.force_login(carol)

    unlock(client, alice)

    assert api_login(api, alice.email).status_code == 429


def test_unlocking_a_patient_who_is_not_locked_changes_nothing(client, dave, riverside):
    patient = PatientFactory(profile__registered_practice=riverside)
    client.force_login(dave)

    response = unlock(client, patient)

    assert "None of the selected patients was locked out." in response.content.decode()
    assert not AuditEvent.objects.filter(action="auth.unlock.account").exists()


@override_settings(LOGIN_LOCKOUT_ADDRESS_THRESHOLD=2)
def test_an_address_lock_does_not_sign_anyone_out(api, alice):
    refresh = issue_tokens(user=alice).refresh
    for n in range(2):
        api_login(api, f"guess{n}@example.com", "Wrong-Pass-1")

    response = api.post(REFRESH, {"refresh": refresh}, format="json", REMOTE_ADDR="203.0.113.9")

    assert response.status_code == 200


@override_settings(LOGIN_LOCKOUT_ADDRESS_THRESHOLD=3, LOGIN_LOCKOUT_MINUTES=15)
def test_an_addresss_failures_are_counted_per_lock_period(api, alice):
    for n in range(2):
        api_login(api, f"guess{n}@example.com", "Wrong-Pass-1")
    AddressLockout.objects.update(window_started_at=timezone.now() - dt.timedelta(minutes=16))

    api_login(api, "guess9@example.com", "Wrong-Pass-1")  # the first of a new window

    assert api_login(api, alice.email).status_code == 200


@pytest.mark.django_db(transaction=True)
@override_settings(LOGIN_LOCKOUT_THRESHOLD=3)
def test_guesses_sent_in_parallel_are_counted_one_by_one(alice):
    def guess(_):
        return (
            APIClient()
            .post(LOGIN, {"email": alice.email, "password": "Wrong-Pass-1"}, format="json")
            .status_code
        )

    statuses = run_concurrently(guess, range(8))

    assert statuses.count(401) == 3, statuses
    assert statuses.count(429) == 5


def test_the_admin_sign_in_shares_the_apis_login_limit_per_address(api, settings, dave):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "login": "2/min",
        },
    }
    api_login(api, "someone@example.com", "Wrong-Pass-1")
    api_login(api, "someone@example.com", "Wrong-Pass-1")

    client, response = admin_login(dave.email)  # the right password, from the same address

    assert not signed_in(client)
    assert "Too many sign-in attempts from here" in response.content.decode()
