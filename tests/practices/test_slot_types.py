"""Slot types: a practice's kinds of appointment, mapped to NHS England's national categories,
held to by the database, named to patients by the practice."""

import datetime as dt
import importlib

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from practices import gpad
from practices.models import Session, Slot, SlotType
from tests.factories import ClinicianFactory, PracticeFactory, SlotFactory, next_hour

pytestmark = pytest.mark.django_db


def test_a_new_practice_starts_with_the_common_types_already_mapped():
    practice = PracticeFactory()

    mapped = dict(practice.slot_types.values_list("code", "national_category"))

    assert mapped == {
        "routine": "general_consultation_routine",
        "urgent": "general_consultation_acute",
        "follow_up": "general_consultation_routine",
    }


def test_the_database_refuses_a_slot_of_a_type_its_practice_lacks(riverside, hilltop):
    SlotType.objects.create(practice=hilltop, code="minor_ops", name="Minor ops")
    slot = SlotFactory(practice=riverside)

    # Deferred like every foreign key: checked at commit (here, forced at once).
    with pytest.raises(IntegrityError), transaction.atomic():
        Slot.objects.filter(pk=slot.pk).update(slot_type="minor_ops")
        connection.check_constraints()


def test_a_form_says_which_type_is_missing_before_the_database_would(riverside):
    slot = Slot(practice=riverside, slot_type="minor_ops")

    with pytest.raises(ValidationError, match="has no slot type"):
        slot.clean()


def test_the_appointment_types_endpoint_uses_the_names_the_practice_gave(api, riverside):
    SlotType.objects.filter(practice=riverside, code="routine").update(name="GP appointment")
    SlotFactory(practice=riverside, start=next_hour(30))

    listed = api.get(reverse("practices:practice-appointment-types", args=["A81001"])).json()

    assert listed == [{"code": "routine", "name": "GP appointment"}]


def test_a_type_in_use_cannot_be_deleted_in_the_admin(client, riverside, dave):
    SlotFactory(practice=riverside)
    routine = SlotType.objects.get(practice=riverside, code="routine")
    client.force_login(dave)

    response = client.post(
        reverse("admin:practices_slottype_delete", args=[routine.pk]), {"post": "yes"}
    )

    assert response.status_code == 403
    assert SlotType.objects.filter(pk=routine.pk).exists()


def test_the_home_page_flags_the_practices_unmapped_types_only(client, riverside, hilltop, dave):
    SlotType.objects.create(practice=riverside, code="baby_clinic", name="Baby clinic")
    SlotType.objects.create(practice=hilltop, code="elsewhere", name="Hilltop's own clinic")
    client.force_login(dave)

    page = client.get(reverse("admin:index")).content.decode()

    assert "Slot types without a national category" in page
    assert "Baby clinic" in page and "Hilltop&#x27;s own clinic" not in page


def test_no_flag_when_every_type_is_mapped(client, riverside, dave):
    client.force_login(dave)

    assert "without a national category" not in client.get(reverse("admin:index")).content.decode()


def test_a_session_takes_its_type_from_a_list_of_the_practices_types(client, riverside, dave):
    SlotType.objects.create(practice=riverside, code="smear", name="Smear test")
    client.force_login(dave)

    form = client.get(reverse("admin:practices_session_add")).context["adminform"].form

    assert ("smear", "Smear test") in form.fields["slot_type"].choices


def test_the_migration_gives_each_practice_a_type_for_every_code_it_used(riverside):
    # A practice's rows as they were before slot types: a code with no type behind it (the
    # foreign key is deferred, so the rows can exist until the migration's step runs).
    SlotType.objects.filter(practice=riverside).delete()
    session = Session.objects.create(
        practice=riverside,
        clinician=ClinicianFactory(practice=riverside),
        date=next_hour().date(),
        start=next_hour(),
        end=next_hour() + dt.timedelta(hours=1),
        slot_type="minor_ops",
        slot_minutes=20,
        channel="telephone",
    )
    migration = importlib.import_module("practices.migrations.0005_slot_types")

    migration.slot_types_from_codes(apps, None)

    made = {t.code: t for t in SlotType.objects.filter(practice=riverside)}
    assert set(made) == {"routine", "urgent", "follow_up", session.slot_type}
    assert (made["minor_ops"].name, made["minor_ops"].duration_minutes) == ("Minor ops", 20)
    assert (made["minor_ops"].national_category, made["minor_ops"].default_mode) == (
        "",
        "telephone",
    )
    assert made["urgent"].national_category == "general_consultation_acute"


def test_the_vocabulary_file_names_every_category_context_and_mode():
    assert len(gpad.CATEGORY_CHOICES) == len(set(code for code, _ in gpad.CATEGORY_CHOICES))
    assert set(gpad.CATEGORY_CONTEXT.values()) <= set(gpad.CONTEXT_LABELS)
    assert set(gpad.MODE_GPAD_LABEL) == set(gpad.Mode.values)
    assert gpad.category_label("") == "Unmapped"


@pytest.mark.parametrize(
    ("channel", "usual", "expected"),
    [
        ("in_person", "home_visit", "home_visit"),
        ("telephone", "face_to_face", "telephone"),  # the slot's channel wins when they differ
        ("video", "online", "online"),
        ("in_person", None, "face_to_face"),
    ],
)
def test_an_appointments_mode_follows_its_slot_type_where_it_fits_the_channel(
    channel, usual, expected
):
    assert gpad.mode_for(channel=channel, default_mode=usual) == expected


@pytest.mark.parametrize(
    ("minutes", "online", "expected"),
    [("", "", (30, False)), ("10", "yes", (10, True))],
)
def test_a_new_session_takes_its_types_length_and_online_setting_unless_told_otherwise(
    client, riverside, dave, minutes, online, expected
):
    SlotType.objects.create(practice=riverside, code="visit", name="Home visit",
                            duration_minutes=30, online_bookable=False)  # fmt: skip
    clinician = ClinicianFactory(practice=riverside)
    client.force_login(dave)
    day = next_hour().date().isoformat()

    response = client.post(
        reverse("admin:practices_session_add"),
        {"practice": riverside.pk, "clinician": clinician.pk, "start_0": day,
         "start_1": "14:00", "end_0": day, "end_1": "16:00", "slot_minutes": minutes,
         "slot_type": "visit", "channel": "in_person", "online_bookable": online},
    )  # fmt: skip

    assert response.status_code == 302, response.context["adminform"].form.errors
    session = Session.objects.get(slot_type="visit")
    assert (session.slot_minutes, session.online_bookable) == expected


@pytest.mark.django_db(transaction=True)
def test_a_database_from_before_slot_types_upgrades_with_its_appointments():
    """Migrating real rows: the practice's codes become types, and appointments learn their
    mode, professional and canceller from what they already held."""
    from django.db.migrations.executor import MigrationExecutor

    before = [
        ("practices", "0004_practice_reminder_hours_before"),
        ("booking", "0005_notification"),
    ]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    practice = old.get_model("practices", "Practice").objects.create(ods_code="Z1", name="Old")
    user_model = old.get_model("accounts", "User")
    staff = user_model.objects.create(email="gp@example.com", role="clinician", is_staff=True)
    patient = user_model.objects.create(email="p@example.com", role="patient")
    clinician = old.get_model("practices", "Clinician").objects.create(
        user=staff, display_name="Dr Old", profession="nurse"
    )
    start = next_hour()
    # Free text from the old admin, and a type the slot has since been changed from.
    slot = old.get_model("practices", "Slot").objects.create(
        practice=practice, clinician=clinician, start=start, end=start + dt.timedelta(minutes=10),
        slot_type="Minor Ops", channel="telephone",
    )  # fmt: skip
    appointment = old.get_model("booking", "Appointment").objects.create(
        patient=patient, practice=practice, slot=slot, clinician=clinician, start=slot.start,
        end=slot.end, appointment_type="Flu clinic!", channel="telephone", status="cancelled",
        cancelled_at=start, booked_by=patient,
    )  # fmt: skip
    old.get_model("booking", "AppointmentHistory").objects.create(
        appointment=appointment, actor=patient, action="cancelled", from_status="booked",
        to_status="cancelled", source="api",
    )  # fmt: skip

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    from booking.models import Appointment

    upgraded = Appointment.objects.get(pk=appointment.pk)
    assert (upgraded.mode, upgraded.clinician_profession, upgraded.cancelled_by) == (
        "telephone",
        "nurse",
        "patient",
    )
    assert upgraded.booked_at == upgraded.created_at
    assert upgraded.appointment_type == "flu_clinic"
    assert Slot.objects.get(pk=slot.pk).slot_type == "minor_ops"
    names = dict(SlotType.objects.filter(practice_id=practice.pk).values_list("code", "name"))
    assert (names["minor_ops"], names["flu_clinic"]) == ("Minor ops", "Flu clinic!")
