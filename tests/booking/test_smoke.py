import io

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from booking.models import Appointment
from practices.models import Slot
from tests.factories import DEFAULT_PASSWORD, PatientFactory, PracticeFactory, free_slot

pytestmark = pytest.mark.django_db(transaction=True)


def user_count():
    return User.objects.count()


def smoke(url, *args):
    out, err = io.StringIO(), io.StringIO()
    call_command("smoke_test", url, *args, stdout=out, stderr=err)
    return out.getvalue()


def smoke_patient(practice, **fields):
    """The deployment's smoke-test patient: confirmed address, registered at ``practice``."""
    patient = PatientFactory(profile__registered_practice=practice, **fields)
    return ["--email", patient.email, "--password", DEFAULT_PASSWORD]


def test_the_smoke_test_passes_against_a_live_server_and_leaves_no_slot_taken(live_server):
    practice = PracticeFactory(ods_code="A81001")
    free_slot(practice, hours_ahead=24)
    free_slot(practice, hours_ahead=25)
    sign_in = smoke_patient(practice)
    users_before = user_count()

    output = smoke(live_server.url, "--verbose", *sign_in)

    for step in (
        "health",
        "readiness",
        "schema",
        "list practices",
        "login",
        "read my account",
        "search availability",
        "book",
        "read back",
        "reschedule",
        "cancel",
        "logout",
    ):
        assert f"ok  {step}" in output
    assert "All steps passed" in output
    assert Appointment.objects.get().status == "cancelled"
    assert set(Slot.objects.values_list("status", flat=True)) == {"free"}
    assert user_count() == users_before  # no account left behind


def test_without_a_patient_it_checks_the_public_surface_only(live_server):
    PracticeFactory(ods_code="A81001")

    output = smoke(live_server.url)

    assert "ok  list practices" in output
    assert "patient journey skipped" in output
    assert "All steps passed" in output


def test_the_smoke_test_refuses_a_patient_who_has_not_confirmed_their_address(live_server):
    practice = PracticeFactory(ods_code="A81001")

    # Refused at sign-in, as any self-registered patient is until confirmed.
    with pytest.raises(CommandError, match="login"):
        smoke(live_server.url, *smoke_patient(practice, email_verified_at=None))


def test_the_smoke_test_fails_with_the_response_when_a_step_fails(live_server):
    practice = PracticeFactory(ods_code="A81001")  # but no free slots

    with pytest.raises(CommandError, match="search availability"):
        smoke(live_server.url, *smoke_patient(practice))


def test_the_smoke_test_fails_when_nothing_answers():
    with pytest.raises(CommandError, match="health"):
        smoke("http://127.0.0.1:9")


def test_read_only_mode_books_nothing_and_passes_with_no_practice_yet(live_server):
    # A freshly migrated production database: no practices, only the smoke account.
    patient = PatientFactory(profile__registered_practice=None)

    output = smoke(
        live_server.url, "--read-only", "--email", patient.email, "--password", DEFAULT_PASSWORD
    )

    for step in ("health", "jwks", "list practices", "login", "read my account", "logout"):
        assert f"ok  {step}" in output
    assert "availability skipped: no practice yet" in output
    assert not Appointment.objects.exists()


def test_read_only_mode_searches_availability_where_there_is_a_practice(live_server):
    practice = PracticeFactory(ods_code="A81001")
    free_slot(practice, hours_ahead=24)

    output = smoke(live_server.url, "--read-only", *smoke_patient(practice))

    assert "ok  search availability" in output
    assert not Appointment.objects.exists()
    assert set(Slot.objects.values_list("status", flat=True)) == {"free"}
