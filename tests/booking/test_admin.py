"""The staff admin: scoped to the staff member's practices, and driving the booking rules.

Personas as elsewhere: dave (Riverside's practice admin), carol (a Riverside GP), erin
(Hilltop's admin), alice (a Riverside patient). Hilltop's rows must stay invisible to dave.
"""

import datetime as dt
import re

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from accounts.admin_site import STAFF_TIMEZONE
from accounts.models import AuditEvent
from booking import services
from booking.models import Appointment, AppointmentHistory, Source
from booking.services import Actor
from practices.models import Session, Slot
from tests.factories import ClinicianFactory, PatientFactory, SessionFactory, free_slot, later_today

pytestmark = pytest.mark.django_db


def admin_url(name, *args):
    return reverse(f"admin:{name}", args=args)


def every_day(name):
    """A changelist URL; the appointment book's on every day (it opens on today)."""
    return admin_url(name) + ("?day=all" if name == "booking_appointment_changelist" else "")


def book(user, slot, **kwargs):
    return services.book_appointment(actor=Actor(user=user), slot_id=slot.pk, **kwargs)


@pytest.fixture
def dave_client(client, dave):
    client.force_login(dave)
    return client


@pytest.fixture
def hilltop_booking(hilltop):
    """An appointment of a Hilltop patient, which Riverside's staff must never see."""
    stranger = PatientFactory(
        given_name="Harriet", family_name="Hidden", profile__registered_practice=hilltop
    )
    return book(stranger, free_slot(hilltop))


@pytest.fixture
def alices(alice, riverside):
    return book(alice, free_slot(riverside))


# Who gets in ------------------------------------------------------------------------------


def test_a_patient_never_gets_into_the_admin(client, alice):
    client.force_login(alice)

    response = client.get(admin_url("index"))

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_the_database_refuses_a_patient_with_staff_rights(alice):
    from django.db import IntegrityError

    alice.is_staff = True
    with pytest.raises(IntegrityError):
        alice.save()


def test_the_two_staff_groups_exist_with_their_permissions():
    admin_perms = set(
        Group.objects.get(name="Practice admin").permissions.values_list("codename", flat=True)
    )
    clinician_perms = set(
        Group.objects.get(name="Clinician").permissions.values_list("codename", flat=True)
    )

    assert {
        "change_practice",
        "add_appointment",
        "record_outcome",
        "add_practicemembership",
    } <= admin_perms
    assert {"view_appointment", "view_patientproxy", "record_outcome"} <= clinician_perms
    assert not {"add_appointment", "change_practice", "delete_slot"} & clinician_perms


# Scoping ----------------------------------------------------------------------------------


def test_staff_see_only_their_practices_appointments(dave_client, alices, hilltop_booking):
    response = dave_client.get(every_day("booking_appointment_changelist"))

    assert response.status_code == 200
    assert alices.reference in response.content.decode()
    assert hilltop_booking.reference not in response.content.decode()


def search(client, url_name, term):
    """Search as the admin's search box does: the term is posted, the result page is fetched."""
    return client.post(admin_url(url_name), {"q": term}, follow=True)


def test_searching_never_reaches_another_practice(dave_client, hilltop_booking):
    response = search(dave_client, "booking_appointment_changelist", "Hidden")

    assert hilltop_booking.reference not in response.content.decode()


def test_a_crafted_url_to_another_practices_appointment_shows_nothing(dave_client, hilltop_booking):
    response = dave_client.get(admin_url("booking_appointment_change", hilltop_booking.pk))

    assert response.status_code == 302  # "does not exist", back to the index
    assert hilltop_booking.reference not in dave_client.get(response["Location"]).content.decode()


def test_an_action_with_a_raw_id_of_another_practice_does_nothing(dave_client, hilltop_booking):
    Appointment.objects.filter(pk=hilltop_booking.pk).update(
        start=timezone.now() - dt.timedelta(minutes=5)
    )

    dave_client.post(
        admin_url("booking_appointment_changelist"),
        {"action": "mark_did_not_attend", "_selected_action": [str(hilltop_booking.pk)]},
    )

    assert Appointment.objects.get(pk=hilltop_booking.pk).status == "booked"


def test_a_crafted_cancel_url_for_another_practice_is_a_404(dave_client, hilltop_booking):
    response = dave_client.post(
        admin_url("booking_appointment_cancel", hilltop_booking.pk), {"reason": "x"}
    )

    assert response.status_code == 404
    assert Appointment.objects.get(pk=hilltop_booking.pk).status == "booked"


def test_staff_see_only_their_practices(dave_client, riverside, hilltop):
    body = dave_client.get(admin_url("practices_practice_changelist")).content.decode()

    assert "A81001" in body
    assert "B82002" not in body
    assert dave_client.get(admin_url("practices_practice_change", hilltop.pk)).status_code == 302


def test_foreign_key_choices_are_scoped(dave_client, riverside, hilltop):
    ours = ClinicianFactory(practice=riverside, display_name="Dr Ours")
    ClinicianFactory(practice=hilltop, display_name="Dr Theirs")

    body = dave_client.get(admin_url("practices_session_add")).content.decode()

    assert ours.display_name in body
    assert "Dr Theirs" not in body
    assert "Hilltop" not in body


def test_staff_see_only_patients_registered_with_them(dave_client, alice, hilltop_booking):
    body = dave_client.get(admin_url("booking_patientproxy_changelist")).content.decode()

    assert "Smith" in body
    assert "Hidden" not in body


def test_the_nhs_number_is_shown_three_three_four(dave_client, alice):
    number = alice.patient_profile.nhs_number

    body = dave_client.get(admin_url("booking_patientproxy_change", alice.pk)).content.decode()

    assert f"{number[:3]} {number[3:6]} {number[6:]}" in body


def test_appointments_can_be_found_by_a_spaced_nhs_number(dave_client, alice, alices):
    number = alice.patient_profile.nhs_number

    body = search(
        dave_client, "booking_appointment_changelist", f"{number[:3]} {number[3:6]} {number[6:]}"
    ).content.decode()

    assert alices.reference in body


@pytest.mark.parametrize(
    "url_name", ["booking_appointment_changelist", "booking_patientproxy_changelist"]
)
def test_a_searched_nhs_number_never_appears_in_a_url(dave_client, alice, alices, url_name):
    number = alice.patient_profile.nhs_number

    response = search(dave_client, url_name, number)

    urls = [url for url, _ in response.redirect_chain] + re.findall(
        r'href="([^"]*)"', response.content.decode()
    )
    assert response.redirect_chain and all(number not in url for url in urls)
    assert alice.family_name in response.content.decode()  # and it was found
    assert 'method="post" role="search"' in response.content.decode()


def test_a_search_term_typed_into_the_url_is_moved_out_of_it(dave_client, alice, alices):
    number = alice.patient_profile.nhs_number

    response = dave_client.get(admin_url("booking_appointment_changelist"), {"q": number})

    assert response.status_code == 302
    assert number not in response["Location"]


# The booking rules, through the admin -----------------------------------------------------


def test_staff_book_for_a_registered_patient_through_the_rules(dave_client, alice, riverside):
    slot = free_slot(riverside)

    response = dave_client.post(
        admin_url("booking_appointment_add"), {"patient": alice.pk, "slot": slot.pk}
    )

    appointment = Appointment.objects.get()
    assert response.status_code == 302
    assert (appointment.patient, appointment.slot, appointment.booked_by.email) == (
        alice,
        slot,
        "dave@example.com",
    )
    assert AppointmentHistory.objects.get(appointment=appointment).source == Source.ADMIN


def test_the_admin_cannot_double_book(dave_client, alice, bob, riverside):
    slot = free_slot(riverside)
    book(bob, slot)

    response = dave_client.post(
        admin_url("booking_appointment_add"), {"patient": alice.pk, "slot": slot.pk}
    )

    assert response.status_code == 200  # the form again, with the slot no longer offered
    assert Appointment.objects.count() == 1


def test_the_admin_cannot_book_a_slot_of_another_practice(dave_client, alice, hilltop):
    response = dave_client.post(
        admin_url("booking_appointment_add"), {"patient": alice.pk, "slot": free_slot(hilltop).pk}
    )

    assert response.status_code == 200
    assert not Appointment.objects.exists()


def test_the_admin_shows_the_rule_a_booking_breaks(dave_client, alice, riverside):
    riverside.max_future_appointments = 1
    riverside.save()
    book(alice, free_slot(riverside, hours_ahead=30))

    response = dave_client.post(
        admin_url("booking_appointment_add"), {"patient": alice.pk, "slot": free_slot(riverside).pk}
    )

    assert "upcoming appointments" in response.content.decode()
    assert Appointment.objects.count() == 1


def test_cancel_with_a_reason_frees_the_slot(dave_client, alices):
    response = dave_client.post(
        admin_url("booking_appointment_cancel", alices.pk), {"reason": "Clinician ill"}
    )

    assert response.status_code == 302
    alices.refresh_from_db()
    assert (alices.status, alices.cancellation_reason) == ("cancelled", "Clinician ill")
    assert Slot.objects.get(pk=alices.slot_id).status == "free"
    assert AppointmentHistory.objects.filter(appointment=alices).last().source == Source.ADMIN


def test_cancel_needs_a_reason(dave_client, alices):
    response = dave_client.post(admin_url("booking_appointment_cancel", alices.pk), {"reason": ""})

    assert response.status_code == 200
    assert Appointment.objects.get(pk=alices.pk).status == "booked"


def test_bulk_cancel_asks_for_a_reason_then_cancels(dave_client, alices):
    changelist = every_day("booking_appointment_changelist")
    selection = {"action": "cancel_selected", "_selected_action": [str(alices.pk)]}

    asked = dave_client.post(changelist, selection)
    done = dave_client.post(changelist, {**selection, "reason": "Practice closed"})

    assert "reason" in asked.content.decode().lower()
    assert done.status_code == 302
    assert Appointment.objects.get(pk=alices.pk).status == "cancelled"


def test_reschedule_moves_the_appointment(dave_client, alices, riverside):
    new = free_slot(riverside, hours_ahead=48)

    dave_client.post(admin_url("booking_appointment_reschedule", alices.pk), {"slot": new.pk})

    assert Appointment.objects.get(pk=alices.pk).slot == new
    assert Slot.objects.get(pk=alices.slot_id).status == "free"


def test_an_outcome_cannot_be_recorded_too_early(dave_client, alices):
    dave_client.post(
        admin_url("booking_appointment_changelist"),
        {"action": "mark_did_not_attend", "_selected_action": [str(alices.pk)]},
    )

    assert Appointment.objects.get(pk=alices.pk).status == "booked"


def test_a_clinician_marks_their_own_patient_arrived_but_not_a_colleagues(
    client, carol, alice, bob, riverside
):
    # Arrivals are recorded on the appointment's day only.
    start = later_today(minutes=30)
    own = book(
        alice,
        free_slot(riverside, start=start, clinician=carol.clinician),
        now=start - dt.timedelta(hours=3),
    )
    other = book(bob, free_slot(riverside, start=start), now=start - dt.timedelta(hours=3))
    client.force_login(carol)

    client.post(
        admin_url("booking_appointment_changelist"),
        {"action": "mark_arrived", "_selected_action": [str(own.pk), str(other.pk)]},
    )

    assert Appointment.objects.get(pk=own.pk).status == "arrived"
    assert Appointment.objects.get(pk=other.pk).status == "booked"


def test_a_clinician_cannot_cancel_or_book(client, carol, alices):
    client.force_login(carol)

    client.post(admin_url("booking_appointment_cancel", alices.pk), {"reason": "x"})

    assert Appointment.objects.get(pk=alices.pk).status == "booked"
    assert client.get(admin_url("booking_appointment_add")).status_code in (302, 403)


def test_appointments_cannot_be_deleted_and_cancelled_ones_stay_listed(dave_client, alices):
    dave_client.post(admin_url("booking_appointment_cancel", alices.pk), {"reason": "x"})

    assert dave_client.get(admin_url("booking_appointment_delete", alices.pk)).status_code == 403
    assert (
        alices.reference
        in dave_client.get(admin_url("booking_appointment_changelist")).content.decode()
    )


# Slots and sessions -----------------------------------------------------------------------


def test_block_and_release_free_slots_but_never_a_booked_one(dave_client, alices, riverside):
    free = free_slot(riverside, hours_ahead=48)
    changelist = admin_url("practices_slot_changelist")
    chosen = [str(free.pk), str(alices.slot_id)]

    dave_client.post(changelist, {"action": "block", "_selected_action": chosen})
    statuses = dict(Slot.objects.filter(pk__in=chosen).values_list("pk", "status"))
    dave_client.post(changelist, {"action": "release", "_selected_action": chosen})

    assert (statuses[free.pk], statuses[alices.slot_id]) == ("blocked", "booked")
    assert Slot.objects.get(pk=free.pk).status == "free"


def test_a_slot_with_an_appointment_cannot_be_deleted_or_moved(dave_client, alices):
    slot = alices.slot

    assert dave_client.get(admin_url("practices_slot_delete", slot.pk)).status_code == 403
    form = dave_client.get(admin_url("practices_slot_change", slot.pk)).content.decode()
    assert 'name="start_0"' not in form


def test_copy_a_week_of_sessions(dave_client, riverside):
    session = SessionFactory(practice=riverside)

    dave_client.post(
        admin_url("practices_session_changelist"),
        {"action": "copy_to_next_week", "_selected_action": [session.pk]},
    )

    copy = Session.objects.exclude(pk=session.pk).get()
    assert copy.start == session.start + dt.timedelta(days=7)


def test_cut_sessions_into_slots(dave_client, riverside):
    session = SessionFactory(practice=riverside)

    dave_client.post(
        admin_url("practices_session_changelist"),
        {"action": "cut_into_slots", "_selected_action": [session.pk]},
    )

    assert Slot.objects.filter(session=session).count() == 6


# Audit ------------------------------------------------------------------------------------


def test_viewing_an_appointment_list_and_a_patient_is_audited(dave_client, dave, alice):
    dave_client.get(admin_url("booking_appointment_changelist"), REMOTE_ADDR="10.1.2.3")
    dave_client.get(admin_url("booking_patientproxy_change", alice.pk), REMOTE_ADDR="10.1.2.3")

    listed, viewed = AuditEvent.objects.order_by("id")
    assert (listed.actor, listed.action, listed.source_address) == (
        dave,
        "admin.appointment.list",
        "10.1.2.3",
    )
    assert (viewed.action, viewed.patient, viewed.allowed) == ("admin.patient.view", alice, True)
    assert viewed.request_id


def test_a_denied_look_at_another_practices_patient_is_audited_as_denied(
    dave_client, hilltop_booking
):
    dave_client.get(admin_url("booking_patientproxy_change", hilltop_booking.patient_id))

    event = AuditEvent.objects.get()
    assert (event.allowed, event.patient) == (False, None)


def test_only_operators_read_the_audit_trail(dave_client, client, django_user_model):
    assert dave_client.get(admin_url("accounts_auditevent_changelist")).status_code == 403

    operator = django_user_model.objects.create_superuser("root@example.com", "Root-Pass-123!")
    client.force_login(operator)
    assert client.get(admin_url("accounts_auditevent_changelist")).status_code == 200


def test_only_operators_see_account_emails(dave_client, client, django_user_model, alice):
    from accounts import emails
    from accounts.models import AccountEmail

    emails.queue(alice, AccountEmail.Kind.PASSWORD_RESET)
    assert dave_client.get(admin_url("accounts_accountemail_changelist")).status_code == 403

    operator = django_user_model.objects.create_superuser("root@example.com", "Root-Pass-123!")
    client.force_login(operator)
    listed = client.get(admin_url("accounts_accountemail_changelist"))
    row = AccountEmail.objects.get()
    shown = client.get(admin_url("accounts_accountemail_change", row.pk))
    assert (listed.status_code, shown.status_code) == (200, 200)
    assert "Reset your password" in listed.text


def test_audit_rows_cannot_be_changed(dave_client):
    from django.db import IntegrityError, transaction

    dave_client.get(admin_url("booking_appointment_changelist"))

    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEvent.objects.update(action="nothing to see")


# Running the day: the book opens on today, outcomes are one click ------------------------


def today_at(hour: int, minute: int = 0, days: int = 0) -> dt.datetime:
    day = timezone.localdate(timezone=STAFF_TIMEZONE) + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=STAFF_TIMEZONE)


def booked_for(patient, practice, start):
    slot = free_slot(practice, start=start)
    return book(patient, slot, now=start - dt.timedelta(days=1))


def test_the_appointment_book_opens_on_today(dave_client, alice, bob, riverside):
    today = booked_for(alice, riverside, today_at(23, 50))
    tomorrow = booked_for(bob, riverside, today_at(9, days=1))

    page = dave_client.get(admin_url("booking_appointment_changelist")).content.decode()

    assert today.reference in page and tomorrow.reference not in page
    assert "Appointments: Today, " in page


def test_the_day_bar_steps_to_the_next_day_keeping_other_filters(dave_client, riverside):
    page = dave_client.get(admin_url("booking_appointment_changelist"), {"status": "booked"})

    bar = page.context["day_bar"]
    tomorrow = (timezone.localdate(timezone=STAFF_TIMEZONE) + dt.timedelta(days=1)).isoformat()
    assert f"day={tomorrow}" in bar["next"] and "status=booked" in bar["next"]


@pytest.mark.parametrize("day", ["31/02", "9999-12-31", "0001-01-01"])
def test_a_day_that_is_not_a_sensible_date_shows_today(dave_client, alice, riverside, day):
    today = booked_for(alice, riverside, today_at(23, 50))

    page = dave_client.get(admin_url("booking_appointment_changelist"), {"day": day})

    assert page.status_code == 200 and today.reference in page.content.decode()


def started(patient, practice):
    """An appointment that began a minute ago, today."""
    now = timezone.now()
    if timezone.localtime(now, STAFF_TIMEZONE).time() < dt.time(0, 2):
        pytest.skip("a minute ago was yesterday")
    slot = free_slot(practice, start=now - dt.timedelta(minutes=1), minutes=20)
    return book(patient, slot, now=now - dt.timedelta(days=1))


def outcome_url(appointment):
    return admin_url("booking_appointment_outcome", appointment.pk)


def test_one_click_records_an_outcome_and_the_mode_it_took(dave_client, alice, riverside):
    appointment = started(alice, riverside)

    response = dave_client.post(
        outcome_url(appointment), {"outcome": "completed", "mode": "telephone"}
    )

    appointment.refresh_from_db()
    assert response.status_code == 302
    assert (appointment.status, appointment.mode) == ("completed", "telephone")
    last = appointment.history.last()
    assert (last.source, last.details) == (
        Source.ADMIN,
        {"mode": {"from": "face_to_face", "to": "telephone"}},
    )


def test_the_outcome_goes_back_to_the_page_it_came_from(dave_client, alice, riverside):
    appointment = started(alice, riverside)
    back = "http://testserver" + admin_url("booking_appointment_changelist") + "?day=all"

    response = dave_client.post(outcome_url(appointment), {"outcome": "arrived"}, HTTP_REFERER=back)

    assert response["Location"] == back


def test_an_outcome_the_rules_refuse_is_a_message_not_a_change(dave_client, alices):
    response = dave_client.post(outcome_url(alices), {"outcome": "completed"}, follow=True)

    assert "once the appointment has started" in response.content.decode()
    assert Appointment.objects.get(pk=alices.pk).status == "booked"


@pytest.mark.parametrize("data", [{"outcome": "teleported"}, {"outcome": "arrived", "mode": "x"}])
def test_a_made_up_outcome_or_mode_changes_nothing(dave_client, alice, riverside, data):
    appointment = started(alice, riverside)

    response = dave_client.post(outcome_url(appointment), data, follow=True)

    assert response.status_code == 200
    assert Appointment.objects.get(pk=appointment.pk).status == "booked"


def test_outcomes_are_posted_never_fetched(dave_client, alices):
    assert dave_client.get(outcome_url(alices)).status_code == 405


def test_another_practices_appointment_has_no_outcome_to_record(dave_client, hilltop_booking):
    response = dave_client.post(outcome_url(hilltop_booking), {"outcome": "arrived"})

    assert response.status_code == 404


def test_the_row_offers_only_the_outcomes_possible_now(dave_client, alice, bob, riverside):
    if timezone.localtime(timezone=STAFF_TIMEZONE).time() >= dt.time(23, 40):
        pytest.skip("needs an appointment still to come today")
    started(alice, riverside)
    booked_for(bob, riverside, today_at(23, 50))

    page = dave_client.get(admin_url("booking_appointment_changelist")).content.decode()

    assert "Did not attend: Alice Smith" in page and "Arrived: Alice Smith" in page
    assert "Arrived: Bob Jones" in page and "Did not attend: Bob Jones" not in page


def test_the_patient_page_is_headed_by_their_name_with_booking_one_click_away(dave_client, alice):
    page = dave_client.get(admin_url("booking_patientproxy_change", alice.pk))

    assert page.context["title"] == "Alice Smith"
    assert f"?patient={alice.pk}" in page.content.decode()


def test_booking_for_a_named_patient_starts_with_them_chosen(dave_client, alice):
    page = dave_client.get(admin_url("booking_appointment_add"), {"patient": str(alice.pk)})

    assert page.context["form"]["patient"].value() == str(alice.pk)


def test_a_search_looks_across_every_day(dave_client, alices):
    # Alice's appointment is tomorrow; the book opens on today, but reception searching for
    # her finds it.
    page = search(dave_client, "booking_appointment_changelist", alices.reference)

    assert alices.reference in page.content.decode()


def test_the_browser_tab_names_no_patient(dave_client, alice, alices):
    for url in (
        admin_url("booking_patientproxy_change", alice.pk),
        admin_url("booking_appointment_change", alices.pk),
    ):
        page = dave_client.get(url).content.decode()
        title = re.search(r"<title>(.*?)</title>", page, re.S).group(1)

        assert "Smith" not in title and alice.patient_profile.nhs_number not in title
        assert "Alice Smith" in page  # the page itself is headed by her name


def test_a_patients_page_lists_only_this_practices_appointments(dave_client, alice, hilltop):
    hilltop.registered_patients_only = False
    hilltop.save()
    elsewhere = book(alice, free_slot(hilltop))

    page = dave_client.get(admin_url("booking_patientproxy_change", alice.pk)).content.decode()

    assert elsewhere.reference not in page
