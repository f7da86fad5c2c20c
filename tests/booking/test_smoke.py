import io

import pytest
from django.core.management import CommandError, call_command

from booking.models import Appointment
from practices.models import Slot
from tests.factories import PracticeFactory, free_slot

pytestmark = pytest.mark.django_db(transaction=True)


def smoke(url, *args):
    out, err = io.StringIO(), io.StringIO()
    call_command("smoke_test", url, *args, stdout=out, stderr=err)
    return out.getvalue()


def test_the_smoke_test_passes_against_a_live_server_and_leaves_no_slot_taken(live_server):
    practice = PracticeFactory(ods_code="A81001")
    free_slot(practice, hours_ahead=24)
    free_slot(practice, hours_ahead=25)

    output = smoke(live_server.url, "--verbose")

    for step in (
        "health",
        "readiness",
        "schema",
        "register",
        "login",
        "link to practice",
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


def test_the_smoke_test_fails_with_the_response_when_a_step_fails(live_server):
    PracticeFactory(ods_code="A81001")  # but no free slots

    with pytest.raises(CommandError, match="search availability"):
        smoke(live_server.url)


def test_the_smoke_test_fails_when_nothing_answers():
    with pytest.raises(CommandError, match="health"):
        smoke("http://127.0.0.1:9")
