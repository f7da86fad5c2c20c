"""The deploy's smoke-test patient (manage.py ensure_smoke_account), made by the migrate task
from the environment's secret."""

import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import LoginLockout, User
from tests.factories import ClinicianUserFactory

pytestmark = pytest.mark.django_db

EMAIL, PASSWORD = "smoke-test@api.example.nhs.uk", "Sm0ke-pass-1!"


def ensure(monkeypatch, email=EMAIL, password=PASSWORD):
    monkeypatch.setenv("SMOKE_EMAIL", email)
    monkeypatch.setenv("SMOKE_PASSWORD", password)
    out = io.StringIO()
    call_command("ensure_smoke_account", stdout=out, stderr=out)
    return out.getvalue()


def test_it_makes_a_confirmed_patient_of_no_practice_who_gets_no_messages(monkeypatch, api):
    ensure(monkeypatch)

    user = User.objects.get(email=EMAIL)
    assert user.is_patient and user.email_verified and user.check_password(PASSWORD)
    profile = user.patient_profile
    assert profile.registered_practice is None
    assert (profile.notify_by_email, profile.notify_by_sms) == (False, False)
    login = api.post("/api/v1/auth/login", {"email": EMAIL, "password": PASSWORD}, format="json")
    assert login.status_code == 200


def test_running_it_again_takes_the_secrets_new_password(monkeypatch):
    ensure(monkeypatch)

    ensure(monkeypatch, password="Rotated-pass-2!")

    assert User.objects.filter(email=EMAIL).count() == 1
    assert User.objects.get(email=EMAIL).check_password("Rotated-pass-2!")


def test_it_never_touches_a_staff_account(monkeypatch):
    staff = ClinicianUserFactory(email=EMAIL)

    said = ensure(monkeypatch)

    assert "not a patient account" in said
    staff.refresh_from_db()
    assert not staff.check_password(PASSWORD)


def test_without_a_secret_it_does_nothing(monkeypatch):
    monkeypatch.delenv("SMOKE_EMAIL", raising=False)
    out = io.StringIO()

    call_command("ensure_smoke_account", stdout=out)

    assert "No smoke account configured" in out.getvalue()
    assert not User.objects.exists()


def test_a_deploy_lifts_a_lock_on_the_smoke_account(monkeypatch):
    LoginLockout.objects.create(email=EMAIL, failed_attempts=9, locked_until=timezone.now())

    ensure(monkeypatch)

    assert not LoginLockout.objects.filter(email=EMAIL).exists()
