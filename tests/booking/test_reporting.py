"""The practice report: figures computed in SQL, scoped to the reader's practices, in a fixed
number of statements, with CSV exports in GPAD's shape."""

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.admin_site import STAFF_TIMEZONE
from booking import reporting, services
from booking.models import Appointment, Source, Vacancy, WaitingListOffer
from booking.reporting import OrganisationFigures, Period
from booking.services import Actor, Organisation, waiting_list
from practices.models import Practice, Slot, SlotType
from tests.factories import (
    ClinicianFactory,
    ClinicianUserFactory,
    MembershipFactory,
    PatientFactory,
    PracticeAdminFactory,
    ServiceUserFactory,
    free_slot,
    gp_connect_bookable,
)

pytestmark = pytest.mark.django_db

MONDAY = dt.date(2026, 11, 2)
WEEK = Period(first=MONDAY, last=MONDAY + dt.timedelta(days=6))


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=STAFF_TIMEZONE)


def slot_at(practice, start, **fields) -> Slot:
    return free_slot(practice, start=start, **fields)


def book(patient, slot, *, days_before: float = 1, by=None) -> Appointment:
    return services.book_appointment(
        actor=Actor(user=by or patient),
        slot_id=slot.pk,
        patient_id=patient.pk if by else None,
        now=slot.start - dt.timedelta(days=days_before),
    )


def outcome(staff, appointment, status, *, mode=None):
    return services.record_outcome(
        actor=Actor(user=staff),
        appointment_id=appointment.pk,
        outcome=status,
        mode=mode,
        now=appointment.end,
    )


def cancel(actor, appointment):
    return services.cancel_appointment(
        actor=Actor(user=actor),
        appointment_id=appointment.pk,
        reason="Cannot come",
        now=appointment.start - dt.timedelta(days=1),
    )


@pytest.fixture
def gp(riverside):
    return ClinicianFactory(practice=riverside, display_name="Dr A Khan")


@pytest.fixture
def patients(riverside):
    return [PatientFactory(profile__registered_practice=riverside) for _ in range(6)]


def report(practice, **kwargs):
    return reporting.practice_report(
        practices=Practice.objects.filter(pk=practice.pk), period=WEEK, **kwargs
    )


def test_it_counts_offered_booked_attended_missed_and_cancellations_by_whom(
    riverside, gp, patients, dave
):
    slots = [slot_at(riverside, at(MONDAY, 9, 10 * i), clinician=gp) for i in range(6)]
    Slot.objects.filter(pk=slots[5].pk).update(status="blocked")  # never offered
    done = [book(p, s) for p, s in zip(patients, slots[:4], strict=False)]
    outcome(dave, done[0], "completed")
    outcome(dave, done[1], "did_not_attend")
    cancel(patients[2], done[2])
    cancel(dave, done[3])

    total = report(riverside).total

    assert (total.offered, total.booked, total.attended, total.did_not_attend) == (5, 2, 1, 1)
    assert (total.cancelled_by_patient, total.cancelled_by_practice) == (1, 1)
    assert total.utilisation == pytest.approx(2 / 5)
    assert total.dna_rate == pytest.approx(1 / 2)


def test_time_from_booking_to_appointment_falls_in_gpads_bands(riverside, gp, patients, dave):
    # Booked by the practice, which may book inside the notice and beyond the horizon.
    for index, days in enumerate([0, 1, 10, 40]):
        book(patients[index], slot_at(riverside, at(MONDAY, 15, 10 * index), clinician=gp),
             days_before=days + 0.01 if days else 0.1, by=dave)  # fmt: skip

    assert report(riverside).bands == [1, 1, 0, 1, 0, 0, 1, 0]


def test_categories_come_from_the_slot_types_and_unmapped_ones_say_so(riverside, gp, patients):
    SlotType.objects.create(practice=riverside, code="minor_ops", name="Minor ops")
    book(patients[0], slot_at(riverside, at(MONDAY, 9), clinician=gp, slot_type="urgent"))
    book(patients[1], slot_at(riverside, at(MONDAY, 10), clinician=gp, slot_type="minor_ops"))

    rows = {row.label: row.booked for row in report(riverside, group_by="category").rows}

    assert rows == {"General Consultation Acute": 1, "Unmapped": 1}


def test_mode_is_how_it_took_place_and_profession_who_it_was_with(riverside, gp, patients, dave):
    nurse = ClinicianFactory(practice=riverside, display_name="Nurse B", profession="nurse")
    phoned = book(patients[0], slot_at(riverside, at(MONDAY, 9), clinician=gp, channel="telephone"))
    book(patients[1], slot_at(riverside, at(MONDAY, 9), clinician=nurse))
    outcome(dave, phoned, "completed", mode="face_to_face")  # "come in now"

    by_mode = {r.label: (r.offered, r.booked) for r in report(riverside, group_by="mode").rows}
    by_profession = {r.label: r.booked for r in report(riverside, group_by="profession").rows}

    # Offered as the slots were (one by phone); booked as they took place (both in person).
    assert by_mode == {"Face to face": (1, 2), "Telephone": (1, 0)}
    assert by_profession == {"GP": 1, "Practice nurse": 1}


def test_the_8am_picture_counts_slots_gone_within_an_hour_of_release(riverside, gp, patients, dave):
    release = at(MONDAY, 8)
    fast = slot_at(riverside, at(MONDAY, 9), clinician=gp)
    slow = slot_at(riverside, at(MONDAY, 11), clinician=gp)
    slot_at(riverside, at(MONDAY, 12), clinician=gp)  # never booked
    Slot.objects.update(released_at=release)
    # On the phone at 8am: reception books inside the online notice period.
    for patient, slot, minutes in ((patients[0], fast, 20), (patients[1], slow, 90)):
        services.book_appointment(actor=Actor(user=dave), slot_id=slot.pk, patient_id=patient.pk,
                                  now=release + dt.timedelta(minutes=minutes))  # fmt: skip

    (day,) = report(riverside).demand

    assert (day.day, day.slots, day.gone_in_first_hour) == (MONDAY, 3, 1)


def test_release_is_when_the_booking_window_reached_a_slot_made_long_before(
    riverside, gp, patients
):
    slot = slot_at(riverside, at(MONDAY, 9), clinician=gp)
    Slot.objects.update(released_at=at(MONDAY, 9) - dt.timedelta(days=90))
    # In UTC, as the server's clock is: the window is whole 24-hour days across the clock change.
    opened = at(MONDAY, 9).astimezone(dt.UTC) - dt.timedelta(days=riverside.booking_horizon_days)
    services.book_appointment(actor=Actor(user=patients[0]), slot_id=slot.pk,
                              now=opened + dt.timedelta(minutes=5))  # fmt: skip

    assert report(riverside).demand[0].gone_in_first_hour == 1


def test_another_practices_figures_are_not_in_a_practices_report(riverside, hilltop, gp):
    slot_at(hilltop, at(MONDAY, 9))

    assert report(riverside).total.offered == 0


# The page ----------------------------------------------------------------------------------


REPORT = "admin:practice_report"


@pytest.fixture
def dave_client(client, dave):
    client.force_login(dave)
    return client


def fill(practice, patients, clinician, *, days: int, first_minute: int = 0):
    for offset in range(days):
        day = MONDAY + dt.timedelta(days=offset)
        for index, patient in enumerate(patients):
            start = at(day, 9, first_minute + 10 * index)
            book(patient, slot_at(practice, start, clinician=clinician))


@pytest.mark.parametrize("group", ["week", "clinician", "profession", "category", "mode"])
def test_the_page_costs_the_same_statements_however_much_data(
    dave_client, riverside, gp, patients, django_assert_num_queries, group
):
    url = reverse(REPORT) + f"?first={WEEK.first}&last={WEEK.last}&group={group}"
    fill(riverside, patients[:1], gp, days=1)
    # session, user, the user's and their groups' permissions; slots by day, appointments by
    # booking-to-appointment days, the rush, the waiting list, GP Connect's bookings by
    # organisation; the practices to choose from;
    # the session's new expiry (SESSION_SAVE_EVERY_REQUEST: an update in its savepoint)
    with django_assert_num_queries(13):
        small = dave_client.get(url)
    fill(riverside, patients[1:], gp, days=7, first_minute=10)
    with django_assert_num_queries(13):
        large = dave_client.get(url)

    assert small.status_code == large.status_code == 200
    assert large.context["report"].total.booked > small.context["report"].total.booked


def test_a_practice_administrator_sees_their_practice_only(dave_client, riverside, hilltop):
    slot_at(riverside, at(MONDAY, 9))
    slot_at(hilltop, at(MONDAY, 9))

    page = dave_client.get(reverse(REPORT), {"first": WEEK.first, "last": WEEK.last})

    assert page.context["report"].total.offered == 1
    assert "All practices" not in page.content.decode()  # no practice filter for one practice


def test_a_practice_from_elsewhere_cannot_be_chosen(dave_client, riverside, hilltop):
    page = dave_client.get(
        reverse(REPORT), {"first": WEEK.first, "last": WEEK.last, "practice": hilltop.pk}
    )

    assert page.status_code == 200 and page.context["report"] is None
    assert page.context["form"].errors["practice"]


def test_operators_see_every_practice_and_can_choose_one(client, riverside, hilltop):
    operator = PracticeAdminFactory(is_superuser=True)
    client.force_login(operator)
    slot_at(riverside, at(MONDAY, 9))
    slot_at(hilltop, at(MONDAY, 9))
    week = {"first": WEEK.first, "last": WEEK.last}

    everyone = client.get(reverse(REPORT), week).context["report"].total.offered
    one = client.get(reverse(REPORT), {**week, "practice": hilltop.pk}).context["report"]

    assert (everyone, one.total.offered) == (2, 1)


def test_clinicians_do_not_get_the_report(client, riverside):
    clinician = ClinicianUserFactory()
    MembershipFactory(practice=riverside, user=clinician)
    client.force_login(clinician)

    assert client.get(reverse(REPORT)).status_code == 403


@pytest.mark.parametrize(
    ("first", "last", "error"),
    [
        ("2026-11-08", "2026-11-02", "must end on or after"),
        ("2025-01-01", "2026-11-02", "a year or less"),
        ("not-a-date", "2026-11-02", "valid date"),
    ],
)
def test_a_bad_period_is_explained_on_the_page(dave_client, first, last, error):
    page = dave_client.get(reverse(REPORT), {"first": first, "last": last})

    assert page.status_code == 200
    assert error in page.content.decode()
    assert "<title>Error:" in page.content.decode()


def test_the_gpad_export_has_one_row_per_date_category_mode_and_status(
    dave_client, riverside, gp, patients, dave
):
    first = book(patients[0], slot_at(riverside, at(MONDAY, 9), clinician=gp))
    book(patients[1], slot_at(riverside, at(MONDAY, 9, 10), clinician=gp))
    outcome(dave, first, "completed")

    response = dave_client.get(
        reverse(REPORT),
        {"first": WEEK.first, "last": WEEK.last, "format": "csv", "table": "gpad"},
    )
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))

    assert response["Content-Type"].startswith("text/csv")
    assert rows[0][-1] == "count"
    assert rows[1:] == [
        ["A81001", "2026-11-02", "General Consultation Routine", "Face-to-Face", "GP",
         "Attended", "1"],
        ["A81001", "2026-11-02", "General Consultation Routine", "Face-to-Face", "GP",
         "Booked", "1"],
    ]  # fmt: skip


@pytest.mark.parametrize("table", ["summary", "bands", "demand"])
def test_each_table_downloads_as_csv(dave_client, riverside, gp, patients, table):
    book(patients[0], slot_at(riverside, at(MONDAY, 9), clinician=gp))

    response = dave_client.get(
        reverse(REPORT), {"first": WEEK.first, "last": WEEK.last, "format": "csv", "table": table}
    )
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))

    assert len(rows) >= 2 and all(len(row) == len(rows[0]) for row in rows)


def test_slots_count_under_the_mode_a_booking_of_them_would_record(riverside, gp):
    """The SQL that groups slots by mode agrees with the rule bookings follow, for every
    channel and usual mode."""
    from django.db.models import F

    from practices import gpad

    start = at(MONDAY, 8)
    for mode in gpad.Mode.values:
        SlotType.objects.create(practice=riverside, code=f"t_{mode}", name=mode, default_mode=mode)
        for channel in ("in_person", "telephone", "video"):
            slot_at(riverside, start, clinician=gp, slot_type=f"t_{mode}", channel=channel)
            start += dt.timedelta(minutes=10)

    rows = Slot.objects.filter(practice=riverside).annotate(
        offered=gpad.mode_expression(channel="channel", default_mode="kind__default_mode"),
        usual=F("kind__default_mode"),
    )

    assert len(rows) == 18
    for row in rows:
        assert row.offered == gpad.mode_for(channel=row.channel, default_mode=row.usual), row


def test_the_gpad_export_merges_what_gpad_does_not_tell_apart_and_keeps_encounters_only(
    dave_client, riverside, gp, patients, dave
):
    SlotType.objects.create(practice=riverside, code="admin_time", name="Admin",
                            national_category="care_related_activity")  # fmt: skip
    arrived = book(patients[0], slot_at(riverside, at(MONDAY, 9), clinician=gp))
    completed = book(patients[1], slot_at(riverside, at(MONDAY, 9, 10), clinician=gp))
    book(patients[2], slot_at(riverside, at(MONDAY, 9, 20), clinician=gp, slot_type="admin_time"))
    services.record_outcome(actor=Actor(user=dave), appointment_id=arrived.pk, outcome="arrived",
                            now=arrived.start)  # fmt: skip
    outcome(dave, completed, "completed")

    rows = list(
        reporting.gpad_rows(practices=Practice.objects.filter(pk=riverside.pk), period=WEEK)
    )

    assert rows[1:] == [
        ["A81001", "2026-11-02", "General Consultation Routine", "Face-to-Face", "GP",
         "Attended", 2],
    ]  # fmt: skip


def test_a_name_that_looks_like_a_formula_is_exported_as_text(dave_client, riverside, patients):
    doctor = ClinicianFactory(practice=riverside, display_name="=HYPERLINK(1)")
    book(patients[0], slot_at(riverside, at(MONDAY, 9), clinician=doctor))

    response = dave_client.get(
        reverse(REPORT),
        {"first": WEEK.first, "last": WEEK.last, "group": "clinician", "format": "csv"},
    )

    assert "'=HYPERLINK(1)" in b"".join(response.streaming_content).decode()


def test_the_download_links_are_for_what_the_page_shows(dave_client):
    page = dave_client.get(reverse(REPORT))

    link = page.context["csv_links"]["summary"]
    period = page.context["report"].period
    assert f"first={period.first.isoformat()}" in link and "group=week" in link


@pytest.mark.parametrize("last", ["9999-12-31", "1800-01-01"])
def test_a_day_out_of_any_sensible_range_is_explained_not_a_crash(dave_client, last):
    page = dave_client.get(reverse(REPORT), {"first": "2026-11-01", "last": last})

    assert page.status_code == 200 and "Choose a day from" in page.content.decode()


def test_a_slot_the_practice_booked_before_release_is_not_part_of_the_rush(
    riverside, gp, patients, dave
):
    slot = slot_at(riverside, at(MONDAY, 9), clinician=gp)
    Slot.objects.update(released_at=at(MONDAY, 8))
    services.book_appointment(actor=Actor(user=dave), slot_id=slot.pk, patient_id=patients[0].pk,
                              now=at(MONDAY, 8) - dt.timedelta(days=3))  # fmt: skip

    assert report(riverside).demand[0].gone_in_first_hour == 0


def test_a_grouping_alone_shows_the_last_four_weeks(dave_client):
    page = dave_client.get(reverse(REPORT), {"group": "mode"})

    report = page.context["report"]
    assert report.group_by == "mode"
    assert (report.period.last - report.period.first).days == 27


@pytest.mark.parametrize(("given", "expected"), [
    ({"first": "2026-11-02"}, ("2026-11-02", "2026-11-29")),
    ({"last": "2026-11-29"}, ("2026-11-02", "2026-11-29")),
])  # fmt: skip
def test_one_day_given_makes_four_weeks_from_it(dave_client, given, expected):
    period = dave_client.get(reverse(REPORT), given).context["report"].period

    assert (period.first.isoformat(), period.last.isoformat()) == expected


def test_a_slot_blocked_after_its_rush_booking_was_cancelled_counts_on_neither_side(
    riverside, gp, patients, dave
):
    slot = slot_at(riverside, at(MONDAY, 9), clinician=gp)
    slot_at(riverside, at(MONDAY, 10), clinician=gp)  # still free: the day has one slot
    Slot.objects.update(released_at=at(MONDAY, 8))
    appointment = services.book_appointment(actor=Actor(user=dave), slot_id=slot.pk,
                                            patient_id=patients[0].pk,
                                            now=at(MONDAY, 8, 10))  # fmt: skip
    services.cancel_appointment(actor=Actor(user=dave), appointment_id=appointment.pk,
                                reason="Clinician ill", now=at(MONDAY, 8, 20))  # fmt: skip
    Slot.objects.filter(pk=slot.pk).update(status="blocked")

    (day,) = report(riverside).demand
    assert (day.slots, day.gone_in_first_hour) == (1, 0)


def test_the_waiting_list_figures_count_refills_expiries_and_the_median_time(
    dave_client, riverside
):
    latest = timezone.localtime(timezone=riverside.tz).date() + dt.timedelta(days=10)
    waiters = [PatientFactory(profile__registered_practice=riverside) for _ in range(2)]
    for patient in waiters:
        waiting_list.join_waiting_list(
            actor=Actor(user=patient),
            practice_ods="A81001",
            wishes=waiting_list.Wishes(latest_date=latest),
        )
    first, second = (free_slot(riverside, hours_ahead=30 + 2 * i) for i in range(2))
    freed_at = timezone.now() - dt.timedelta(minutes=20)
    for slot in (first, second):
        Vacancy.objects.create(
            slot=slot,
            practice=riverside,
            cause="cancelled",
            freed_at=freed_at,
            first_freed_at=freed_at,
        )
    waiting_list.match_due()  # each slot to the first in line who can take it
    offers = {o.slot_id: o for o in WaitingListOffer.objects.select_related("entry__patient")}
    waiting_list.claim_offer(
        actor=Actor(user=offers[first.pk].entry.patient), offer_id=offers[first.pk].pk
    )
    waiting_list.expire_due(now=offers[second.pk].expires_at)
    today = timezone.localtime(timezone=riverside.tz).date()

    page = dave_client.get(reverse(REPORT), {"first": today, "last": today})

    figures = page.context["report"].waiting_list
    assert figures.slots_offered == 2
    assert figures.refilled == 1
    assert figures.expired == 1
    assert dt.timedelta(minutes=19) < figures.median_to_rebook < dt.timedelta(minutes=25)
    assert "Slots refilled from the list" in page.content.decode()


def test_a_slot_refilled_in_its_second_round_counts_once_from_when_it_was_first_freed(
    dave_client, riverside
):
    latest = timezone.localtime(timezone=riverside.tz).date() + dt.timedelta(days=10)
    first, second = (PatientFactory(profile__registered_practice=riverside) for _ in range(2))
    for patient in (first, second):
        waiting_list.join_waiting_list(
            actor=Actor(user=patient),
            practice_ods="A81001",
            wishes=waiting_list.Wishes(latest_date=latest),
        )
    slot = free_slot(riverside, hours_ahead=30)
    freed_at = timezone.now() - dt.timedelta(minutes=30)
    Vacancy.objects.create(
        slot=slot, practice=riverside, cause="cancelled", freed_at=freed_at, first_freed_at=freed_at
    )
    waiting_list.match_due()
    declined = WaitingListOffer.objects.get(entry__patient=first)
    waiting_list.decline_offer(actor=Actor(user=first), offer_id=declined.pk)
    waiting_list.match_due()  # round two: the next in line
    offered = WaitingListOffer.objects.get(entry__patient=second)
    waiting_list.claim_offer(actor=Actor(user=second), offer_id=offered.pk)
    today = timezone.localtime(timezone=riverside.tz).date()

    figures = (
        dave_client.get(reverse(REPORT), {"first": today, "last": today})
        .context["report"]
        .waiting_list
    )

    assert (figures.offers, figures.slots_offered, figures.refilled) == (2, 1, 1)
    assert figures.refill_rate == 1
    assert figures.median_to_rebook > dt.timedelta(minutes=29)


def book_through_gp_connect(organisation: Organisation, patient, slot) -> Appointment:
    actor = Actor(user=ServiceUserFactory(), source=Source.GP_CONNECT, organisation=organisation)
    return services.book_slots(
        actor=actor, slot_ids=[slot.pk], patient_id=patient.pk, now=slot.start - dt.timedelta(1)
    )


NHS_111 = Organisation(ods_code="RYA", type_code="urgent-care", name="NHS 111 West")
HILLTOP = Organisation(ods_code="B82002", type_code="gp-practice", name="Hilltop")


def test_gp_connect_bookings_are_counted_by_booking_organisation(riverside, gp, patients, dave):
    gp_connect_bookable(riverside)
    slots = [slot_at(riverside, at(MONDAY, 9, 10 * i), clinician=gp) for i in range(4)]
    by_111 = [book_through_gp_connect(NHS_111, patients[i], slots[i]) for i in range(2)]
    by_hilltop = book_through_gp_connect(HILLTOP, patients[2], slots[2])
    book(patients[3], slots[3])  # online: not through GP Connect
    cancel(dave, by_111[1])
    outcome(dave, by_hilltop, "did_not_attend")

    figures = report(riverside).gp_connect

    assert figures == [
        OrganisationFigures(
            ods_code="B82002", name="Hilltop", booked=1, attended=0, did_not_attend=1, cancelled=0
        ),
        OrganisationFigures(
            ods_code="RYA", name="NHS 111 West", booked=1, attended=0, did_not_attend=0, cancelled=1
        ),
    ]


def test_the_gp_connect_table_downloads_as_csv(dave_client, riverside, gp, patients):
    gp_connect_bookable(riverside)
    book_through_gp_connect(NHS_111, patients[0], slot_at(riverside, at(MONDAY, 9), clinician=gp))

    response = dave_client.get(
        reverse(REPORT),
        {"first": WEEK.first, "last": WEEK.last, "format": "csv", "table": "gp_connect"},
    )
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))

    assert rows == [
        ["booking_organisation_ods_code", "booking_organisation", "booked", "attended",
         "did_not_attend", "cancelled"],
        ["RYA", "NHS 111 West", "1", "0", "0", "0"],
    ]  # fmt: skip


def test_the_page_shows_gp_connect_bookings_by_organisation(dave_client, riverside, gp, patients):
    gp_connect_bookable(riverside)
    book_through_gp_connect(NHS_111, patients[0], slot_at(riverside, at(MONDAY, 9), clinician=gp))

    page = dave_client.get(reverse(REPORT), {"first": WEEK.first, "last": WEEK.last})

    assert "<td>NHS 111 West</td><td>RYA</td>" in page.content.decode()
