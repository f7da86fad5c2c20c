import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F
from django.utils import timezone

from accounts.models import PatientProfile, User
from accounts.nhs import is_valid_nhs_number
from booking.models import Appointment, AppointmentExtraSlot, AppointmentHistory, Source
from booking.services import Actor, Organisation, book_slots
from datasets.demo import DEMO_LOGINS, DEMO_PASSWORD, Sizes, nhs_numbers, seed_demo_data
from practices.models import Clinician, ExternalBookability, Practice, Slot, SlotType
from tests.factories import PatientFactory, PracticeFactory, ServiceUserFactory

pytestmark = pytest.mark.django_db

SMALL = Sizes(
    practices=2,
    clinicians_per_practice=2,
    patients=20,
    days=7,
    past_days=7,
    appointments=40,
    history_days=0,
)


def run(*args):
    out = io.StringIO()
    call_command("seed_data", *args, stdout=out)
    return out.getvalue()


def test_nhs_numbers_come_from_the_test_range_with_valid_check_digits():
    numbers = [n for n, _ in zip(nhs_numbers(), range(500), strict=False)]

    assert len(set(numbers)) == 500
    assert all(n.startswith("999") and is_valid_nhs_number(n) for n in numbers)


def test_it_creates_practices_clinicians_slots_patients_and_appointments():
    seed_demo_data(SMALL)

    assert Practice.objects.filter(is_demo=True).count() == 2
    assert Clinician.objects.count() == 4
    assert {c.profession for c in Clinician.objects.all()} >= {"gp", "nurse"}
    assert Slot.objects.filter(
        start__gt=__import__("django.utils.timezone").utils.timezone.now()
    ).exists()
    assert PatientProfile.objects.filter(nhs_number__startswith="999").count() == 20
    statuses = set(Appointment.objects.values_list("status", flat=True))
    assert statuses == {"booked", "cancelled", "completed", "did_not_attend"} | (
        {"arrived"} & statuses
    )


def test_every_seeded_appointment_keeps_the_invariants():
    seed_demo_data(SMALL)

    for appointment in Appointment.objects.exclude(status="cancelled").select_related("slot"):
        assert appointment.slot.status == "booked"
        assert appointment.patient.patient_profile.registered_practice_id == appointment.practice_id
    assert AppointmentHistory.objects.filter(action="booked").count() == Appointment.objects.count()
    booked_slots = Slot.objects.filter(status="booked").count()
    assert booked_slots == Appointment.objects.exclude(status="cancelled").count()


def test_the_demo_logins_work_with_the_printed_password():
    output = run(
        "--practices",
        "1",
        "--patients",
        "5",
        "--days",
        "2",
        "--past-days",
        "0",
        "--appointments",
        "3",
        "--history-days",
        "0",
    )

    for email in DEMO_LOGINS.values():
        assert email in output
        assert User.objects.get(email=email).check_password(DEMO_PASSWORD)
    assert User.objects.get(email=DEMO_LOGINS["superuser"]).is_superuser


def test_running_it_twice_duplicates_nothing():
    seed_demo_data(SMALL)
    before = {m: m.objects.count() for m in (Practice, User, Clinician, Slot, Appointment)}

    seed_demo_data(SMALL)

    assert {m: m.objects.count() for m in before} == before


def test_the_same_seed_gives_the_same_data():
    seed_demo_data(SMALL)
    first = sorted(Appointment.objects.values_list("slot__start", "patient__email", "status"))
    call_command("seed_data", "--reset", stdout=io.StringIO())

    seed_demo_data(SMALL)

    assert (
        sorted(Appointment.objects.values_list("slot__start", "patient__email", "status")) == first
    )


def test_reset_removes_demo_data_only(alice, riverside):
    seed_demo_data(SMALL)
    mine = PatientFactory(email="real.patient@example.com", profile__registered_practice=riverside)

    run("--reset")

    assert not Practice.objects.filter(is_demo=True).exists()
    assert not User.objects.filter(email__endswith="@demo.gp-booking.test").exists()
    assert not Appointment.objects.exists()
    assert set(Practice.objects.values_list("ods_code", flat=True)) == {"A81001"}
    assert User.objects.filter(pk__in=[alice.pk, mine.pk]).count() == 2


def test_reset_puts_the_history_guard_back():
    from django.db import IntegrityError, transaction

    seed_demo_data(SMALL)
    run("--reset")
    seed_demo_data(SMALL)

    with pytest.raises(IntegrityError), transaction.atomic():
        AppointmentHistory.objects.all().delete()


def test_reset_removes_the_demo_audit_trail_and_puts_its_guard_back():
    from django.db import IntegrityError, transaction

    from accounts.audit import record_event
    from accounts.models import AuditEvent

    seed_demo_data(SMALL)
    patient = User.objects.get(email=DEMO_LOGINS["patient"])
    seen = {"action": "api.appointment.list", "object_type": "", "object_id": "",
            "source_address": "127.0.0.1", "allowed": True}  # fmt: skip
    record_event(**seen, patient=patient, actor=patient)
    run("--reset")
    assert not AuditEvent.objects.filter(patient_id=patient.pk).exists()
    other = PatientFactory()
    record_event(**seen, patient=other, actor=other)

    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEvent.objects.all().delete()


def test_it_refuses_to_make_demo_accounts_with_debug_off(settings):
    settings.DEBUG = False
    settings.ALLOW_DEMO_DATA = False

    with pytest.raises(CommandError, match="ALLOW_DEMO_DATA"):
        run("--practices", "1")
    assert not Practice.objects.exists()


@pytest.mark.parametrize("args", [["--practices", "0"], ["--patients", "0"]])
def test_it_refuses_empty_sizes(args):
    with pytest.raises(CommandError):
        run(*args)


def test_export_then_import_round_trips_into_an_empty_database(tmp_path):
    seed_demo_data(SMALL)
    path = tmp_path / "export.json"
    run("--export", str(path))
    exported = json.loads(path.read_text())
    counts = {
        m: m.objects.count() for m in (Practice, Clinician, Slot, Appointment, AppointmentHistory)
    }
    run("--reset")
    User.objects.all().delete()

    run("--import", str(path))

    assert {m: m.objects.count() for m in counts} == counts
    assert exported["format"] == "gp-booking-export"
    assert "password" not in path.read_text()
    assert not User.objects.get(email=DEMO_LOGINS["patient"]).has_usable_password()


def test_import_refuses_a_database_that_is_not_empty(tmp_path):
    seed_demo_data(SMALL)
    path = tmp_path / "export.json"
    run("--export", str(path))

    with pytest.raises(CommandError, match="already holds"):
        run("--import", str(path))


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        '{"format": "something-else"}',
        '{"format": "gp-booking-export", "version": 1, "practices": [{"hacker": 1}]}',
    ],
)
def test_import_refuses_files_that_are_not_exports(tmp_path, content):
    path = tmp_path / "bad.json"
    path.write_text(content)

    with pytest.raises(CommandError):
        run("--import", str(path))
    assert not Practice.objects.exists()


def test_import_of_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        run("--import", str(tmp_path / "nope.json"))


def test_a_real_practice_holding_a_demo_code_is_left_alone(db):
    PracticeFactory(ods_code="Y90001", name="A real practice with a Y code")

    seed_demo_data(
        Sizes(
            practices=2, clinicians_per_practice=1, patients=2, days=1, past_days=0, history_days=0
        )
    )
    assert not Clinician.objects.filter(user__practice_memberships__practice__ods_code="Y90001")
    run("--reset")

    assert Practice.objects.get(ods_code="Y90001").name == "A real practice with a Y code"


HISTORY = Sizes(
    practices=1,
    clinicians_per_practice=3,
    patients=60,
    days=2,
    past_days=0,
    appointments=5,
    history_days=21,
)


def test_the_history_looks_like_a_busy_practices_past_for_the_report():
    from django.utils import timezone

    seed_demo_data(HISTORY)
    past = Appointment.objects.filter(start__lt=timezone.now())

    assert set(past.values_list("status", flat=True)) == {
        "completed",
        "did_not_attend",
        "cancelled",
    }
    assert set(past.exclude(cancelled_by="").values_list("cancelled_by", flat=True)) == {
        "patient",
        "practice",
    }
    assert {"face_to_face", "telephone", "video"} <= set(past.values_list("mode", flat=True))
    assert not past.filter(booked_at__gt=F("start")).exists()
    assert past.filter(appointment_type="nurse_clinic").exists()  # the nurse's own clinics


def test_the_history_keeps_the_invariants():
    seed_demo_data(HISTORY)

    booked_slots = Slot.objects.filter(status="booked").count()
    assert booked_slots == Appointment.objects.exclude(status="cancelled").count()
    assert AppointmentHistory.objects.filter(action="booked").count() == Appointment.objects.count()


def test_same_day_slots_of_the_past_were_released_at_8am():
    from django.utils import timezone

    from accounts.admin_site import STAFF_TIMEZONE

    seed_demo_data(HISTORY)
    urgent = Slot.objects.filter(slot_type="urgent", start__lt=timezone.now())

    released = {s.released_at.astimezone(STAFF_TIMEZONE).time() for s in urgent}
    assert urgent.exists() and released == {dt.time(8)}


def test_the_demo_leaves_one_type_unmapped_so_the_admin_flag_shows():
    seed_demo_data(HISTORY)

    assert list(SlotType.objects.unmapped().values_list("code", flat=True)) == ["baby_clinic"]


def test_an_export_from_before_slot_types_still_imports(tmp_path):
    seed_demo_data(SMALL)
    path = tmp_path / "export.json"
    run("--export", str(path))
    document = json.loads(path.read_text())
    # As version 1 wrote it: no slot types (nor GP Connect's settings of them), no GPAD fields
    # on appointments.
    document["version"] = 1
    del document["slot_types"]
    del document["gp_connect_bookability"]
    for row in document["appointments"]:
        for name in ("booked_at", "mode", "clinician_profession", "cancelled_by"):
            row.pop(name)
    path.write_text(json.dumps(document))
    appointments = Appointment.objects.count()
    run("--reset")
    User.objects.all().delete()

    run("--import", str(path))

    assert Appointment.objects.count() == appointments
    assert not Appointment.objects.filter(mode="unknown").exists()
    assert SlotType.objects.filter(code="routine", national_category__gt="").exists()


def test_a_slot_held_for_a_waiting_list_offer_is_exported_free(tmp_path):
    seed_demo_data(SMALL)
    held = Slot.objects.filter(status="free").first()
    Slot.objects.filter(pk=held.pk).update(status="held")
    path = tmp_path / "export.json"

    run("--export", str(path))

    (row,) = [s for s in json.loads(path.read_text())["slots"] if s["id"] == str(held.pk)]
    assert row["status"] == "free"


def test_reset_removes_the_demo_waiting_list_too():
    from django.utils import timezone

    from booking.models import WaitingListEntry, WaitingListOffer
    from booking.services import Actor, waiting_list

    seed_demo_data(SMALL)
    patient = User.objects.get(email=DEMO_LOGINS["patient"])
    practice = patient.patient_profile.registered_practice
    entry = waiting_list.join_waiting_list(
        actor=Actor(user=patient),
        practice_ods=practice.ods_code,
        wishes=waiting_list.Wishes(latest_date=timezone.localdate() + dt.timedelta(days=5)),
    )
    slot = Slot.objects.filter(
        practice=practice,
        status="free",
        online_bookable=True,
        start__gt=timezone.now() + dt.timedelta(days=1),
        start__lt=timezone.now() + dt.timedelta(days=5),
    ).first()
    admin = User.objects.get(email=DEMO_LOGINS["practice admin"])
    waiting_list.offer_slot(actor=Actor(user=admin), entry_id=entry.pk, slot_id=slot.pk)
    assert WaitingListOffer.objects.exists()

    run("--reset")

    assert not WaitingListEntry.objects.filter(pk=entry.pk).exists()
    assert not WaitingListOffer.objects.exists()
    assert not Practice.objects.filter(is_demo=True).exists()


def test_the_first_demo_practice_takes_gp_connect_bookings_for_routine_slots():
    seed_demo_data(SMALL)

    practice = Practice.objects.get(ods_code="Y90001")
    assert practice.gp_connect_enabled
    assert ExternalBookability.objects.get(slot_type__practice=practice).slot_type.code == "routine"
    assert not Practice.objects.filter(gp_connect_enabled=True).exclude(pk=practice.pk).exists()


def test_gp_connect_settings_and_an_appointment_over_two_slots_round_trip(tmp_path):
    seed_demo_data(SMALL)
    practice = Practice.objects.get(ods_code="Y90001")
    free = list(
        Slot.objects.bookable_externally(ods_code="RYA", organisation_type=None, now=timezone.now())
        .filter(practice=practice)
        .order_by("clinician_id", "start")
    )
    first, second = next((a, b) for a, b in zip(free, free[1:], strict=False) if a.end == b.start)
    patient = User.objects.filter(patient_profile__registered_practice=practice).first()
    nhs111 = Actor(ServiceUserFactory(), source=Source.GP_CONNECT, organisation=Organisation("RYA"))
    book_slots(actor=nhs111, slot_ids=[first.pk, second.pk], patient_id=patient.pk)
    path = tmp_path / "export.json"
    run("--export", str(path))
    run("--reset")
    User.objects.all().delete()

    run("--import", str(path))

    appointment = Appointment.objects.get(booking_organisation_ods="RYA")
    assert appointment.booking_organisation_ods == "RYA"
    assert [
        row.slot_id for row in AppointmentExtraSlot.objects.filter(appointment=appointment)
    ] == [second.pk]
    assert ExternalBookability.objects.filter(slot_type__practice__ods_code="Y90001").exists()
