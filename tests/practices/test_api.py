import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from practices.api.serializers import RANGE_BACKWARDS, RANGE_TOO_WIDE
from tests.conftest import client_for
from tests.factories import (
    ClinicianFactory,
    ClosureFactory,
    OpeningHoursFactory,
    PracticeFactory,
    SlotFactory,
    next_hour,
)

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")


def availability_url(ods="A81001"):
    return reverse("practices:practice-availability", kwargs={"ods_code": ods})


def window(start=None, days=7):
    start = start or timezone.now()
    return {"start": start.isoformat(), "end": (start + dt.timedelta(days=days)).isoformat()}


def slot_ids(response):
    assert response.status_code == 200, response.json()
    return [item["id"] for item in response.json()["results"]]


# Practices ------------------------------------------------------------------------------


def test_anyone_can_list_practices_in_the_page_format(api, riverside, hilltop):
    response = api.get(reverse("practices:practice-list"))

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 2
    assert body["results"][0] == {
        "ods_code": "B82002",
        "name": "Hilltop Health Centre",
        "address": "1 High Street, Leeds",
        "postcode": "M1 1AE",
        "phone": "0113 496 0000",
    }


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("river", ["A81001"]),
        ("a81001", ["A81001"]),
        ("LS1", ["A81001"]),
        ("m11ae", ["B82002"]),
        ("zzz", []),
    ],
)
def test_practices_can_be_searched_by_name_ods_code_or_postcode(
    api, riverside, hilltop, search, expected
):
    response = api.get(reverse("practices:practice-list"), {"search": search})

    assert [p["ods_code"] for p in response.json()["results"]] == expected


def test_inactive_practices_are_hidden(api, riverside):
    PracticeFactory(ods_code="C83003", is_active=False)

    assert api.get(reverse("practices:practice-list")).json()["count"] == 1
    assert (
        api.get(reverse("practices:practice-detail", kwargs={"ods_code": "C83003"})).status_code
        == 404
    )


def test_a_practice_shows_its_rules_hours_and_upcoming_closures(api, riverside):
    OpeningHoursFactory(practice=riverside, weekday=0)
    ClosureFactory(practice=riverside, start=next_hour(48), end=next_hour(56), reason="Training")
    ClosureFactory(practice=riverside, start=next_hour(-100), end=next_hour(-90), reason="Past")

    response = api.get(reverse("practices:practice-detail", kwargs={"ods_code": "a81001"}))

    assert response.status_code == 200
    body = response.json()
    assert body["ods_code"] == "A81001"
    assert body["timezone"] == "Europe/London"
    assert body["booking_rules"] == {
        "booking_horizon_days": 28,
        "min_notice_minutes": 120,
        "cancellation_cutoff_minutes": 120,
        "max_future_appointments": 4,
        "registered_patients_only": True,
        "waiting_list_enabled": True,
        "offer_minutes": 15,
        "max_waiting_entries": 3,
    }
    assert body["opening_hours"] == [{"weekday": 0, "opens": "08:00:00", "closes": "18:30:00"}]
    assert [c["reason"] for c in body["closures"]] == ["Training"]


def test_an_unknown_ods_code_is_a_404(api):
    response = api.get(reverse("practices:practice-detail", kwargs={"ods_code": "ZZZ999"}))

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_practice_lists_its_clinicians_with_role_and_gender(api, riverside, hilltop):
    ClinicianFactory(practice=riverside, display_name="Dr A Khan", profession="gp", gender="male")
    ClinicianFactory(
        practice=riverside, display_name="Nurse B Lee", profession="nurse", gender="female"
    )
    ClinicianFactory(practice=hilltop, display_name="Dr Elsewhere")

    response = api.get(reverse("practices:practice-clinicians", kwargs={"ods_code": "A81001"}))

    assert response.status_code == 200
    results = response.json()["results"]
    assert [(c["name"], c["role"], c["gender"]) for c in results] == [
        ("Dr A Khan", "gp", "male"),
        ("Nurse B Lee", "nurse", "female"),
    ]


# Availability ---------------------------------------------------------------------------


def test_availability_needs_a_signed_in_user(api, riverside):
    assert api.get(availability_url(), window()).status_code == 401


def test_a_patient_sees_free_online_slots_with_the_full_contract(alice, riverside):
    clinician = ClinicianFactory(
        practice=riverside, display_name="Dr A Khan", profession="gp", gender="male"
    )
    slot = SlotFactory(
        practice=riverside,
        clinician=clinician,
        start=next_hour(24),
        end=next_hour(24) + dt.timedelta(minutes=15),
    )

    response = client_for(alice).get(availability_url(), window())

    assert response.status_code == 200
    assert response.json()["results"] == [
        {
            "id": str(slot.id),
            "start": slot.start.isoformat().replace("+00:00", "Z"),
            "end": slot.end.isoformat().replace("+00:00", "Z"),
            "duration_minutes": 15,
            "appointment_type": "routine",
            "appointment_type_name": "Routine appointment",
            "channel": "in_person",
            "online_bookable": True,
            "clinician": {
                "id": str(clinician.id),
                "name": "Dr A Khan",
                "role": "gp",
                "gender": "male",
            },
            "practice_id": "A81001",
            "practice_name": "Riverside Surgery",
            "practice_address": "1 High Street, Leeds",
        }
    ]


def test_booked_and_blocked_slots_are_not_available(alice, riverside):
    free = SlotFactory(practice=riverside)
    SlotFactory(practice=riverside, status="booked")
    SlotFactory(practice=riverside, status="blocked")

    assert slot_ids(client_for(alice).get(availability_url(), window())) == [str(free.id)]


def test_patients_do_not_see_staff_only_slots(alice, riverside):
    SlotFactory(practice=riverside, online_bookable=False)

    assert slot_ids(client_for(alice).get(availability_url(), window())) == []


def test_patients_do_not_see_slots_inside_the_minimum_notice(alice, riverside):
    soon = timezone.now() + dt.timedelta(minutes=90)  # notice is 120 minutes
    SlotFactory(practice=riverside, start=soon, end=soon + dt.timedelta(minutes=10))
    later = timezone.now() + dt.timedelta(minutes=130)
    ok = SlotFactory(practice=riverside, start=later, end=later + dt.timedelta(minutes=10))

    assert slot_ids(client_for(alice).get(availability_url(), window())) == [str(ok.id)]


def test_patients_do_not_see_slots_beyond_the_booking_horizon(alice, riverside):
    riverside.booking_horizon_days = 3
    riverside.save()
    inside = SlotFactory(
        practice=riverside,
        start=next_hour(24 * 2),
        end=next_hour(24 * 2) + dt.timedelta(minutes=10),
    )
    SlotFactory(
        practice=riverside,
        start=next_hour(24 * 4),
        end=next_hour(24 * 4) + dt.timedelta(minutes=10),
    )

    assert slot_ids(client_for(alice).get(availability_url(), window(days=7))) == [str(inside.id)]


def test_the_practices_own_staff_see_staff_only_and_short_notice_slots(dave, riverside):
    soon = timezone.now() + dt.timedelta(minutes=30)
    urgent = SlotFactory(
        practice=riverside, start=soon, end=soon + dt.timedelta(minutes=10), online_bookable=False
    )

    assert slot_ids(client_for(dave).get(availability_url(), window())) == [str(urgent.id)]


def test_staff_of_another_practice_see_only_what_patients_see(erin, riverside):
    SlotFactory(practice=riverside, online_bookable=False)

    assert slot_ids(client_for(erin).get(availability_url(), window())) == []


def test_nobody_sees_past_slots(dave, riverside):
    past = timezone.now() - dt.timedelta(hours=2)
    SlotFactory(practice=riverside, start=past, end=past + dt.timedelta(minutes=10))

    assert (
        slot_ids(
            client_for(dave).get(availability_url(), window(start=past - dt.timedelta(hours=1)))
        )
        == []
    )


def test_only_slots_wholly_inside_the_range_are_returned(alice, riverside):
    start = next_hour(24)
    SlotFactory(
        practice=riverside,
        start=start - dt.timedelta(minutes=5),
        end=start + dt.timedelta(minutes=5),
    )
    inside = SlotFactory(
        practice=riverside,
        start=start + dt.timedelta(minutes=10),
        end=start + dt.timedelta(minutes=20),
    )
    SlotFactory(
        practice=riverside,
        start=start + dt.timedelta(minutes=55),
        end=start + dt.timedelta(minutes=65),
    )

    query = {"start": start.isoformat(), "end": (start + dt.timedelta(hours=1)).isoformat()}

    assert slot_ids(client_for(alice).get(availability_url(), query)) == [str(inside.id)]


def test_slots_can_be_filtered_by_type_channel_and_clinician(alice, riverside):
    khan = ClinicianFactory(practice=riverside)
    wanted = SlotFactory(
        practice=riverside, clinician=khan, slot_type="follow_up", channel="telephone"
    )
    SlotFactory(practice=riverside, clinician=khan, slot_type="routine", channel="telephone")
    SlotFactory(practice=riverside, slot_type="follow_up", channel="telephone")
    SlotFactory(practice=riverside, clinician=khan, slot_type="follow_up", channel="video")

    query = {**window(), "type": "follow_up", "channel": "telephone", "clinician": str(khan.id)}

    assert slot_ids(client_for(alice).get(availability_url(), query)) == [str(wanted.id)]


def test_a_date_only_range_means_whole_local_days(dave, riverside):
    # A summer day (staff see beyond the online horizon): local midnight is 23:00 UTC the day
    # before, so a UTC reading of the dates would miss the first slot.
    day = dt.date(timezone.now().year + 1, 7, 1)
    midnight = dt.datetime.combine(day, dt.time.min, tzinfo=LONDON)
    first = SlotFactory(practice=riverside, start=midnight, end=midnight + dt.timedelta(minutes=10))
    last = midnight + dt.timedelta(days=1, minutes=-10)
    late = SlotFactory(practice=riverside, start=last, end=last + dt.timedelta(minutes=10))
    SlotFactory(
        practice=riverside,
        start=midnight + dt.timedelta(days=1),
        end=midnight + dt.timedelta(days=1, minutes=10),
    )

    query = {"start": day.isoformat(), "end": day.isoformat()}

    assert slot_ids(client_for(dave).get(availability_url(), query)) == [
        str(first.id),
        str(late.id),
    ]


def test_an_offset_typed_without_url_encoding_is_understood(alice, riverside):
    slot = SlotFactory(practice=riverside)
    start = (slot.start - dt.timedelta(hours=1)).astimezone(dt.timezone(dt.timedelta(hours=1)))
    # "+01:00" in a query string decodes to " 01:00".
    query = {
        "start": start.isoformat().replace("+", " "),
        "end": (start + dt.timedelta(days=1)).isoformat(),
    }

    assert slot_ids(client_for(alice).get(availability_url(), query)) == [str(slot.id)]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"start": "2026-03-30T09:00:00", "end": "2026-03-31T09:00:00Z"}, "start"),
        ({"start": "2026-03-30T09:00:00Z", "end": "tomorrow"}, "end"),
        ({"start": "30/03/2026", "end": "2026-03-31"}, "start"),
        ({"start": "2026-02-30", "end": "2026-03-31"}, "start"),
        ({"end": "2026-03-31"}, "start"),
        ({"start": "2026-03-30"}, "end"),
        ({"start": "2026-03-30", "end": "2026-03-31", "channel": "pigeon"}, "channel"),
        ({"start": "2026-03-30", "end": "2026-03-31", "clinician": "nope"}, "clinician"),
    ],
)
def test_malformed_availability_queries_are_a_400_naming_the_field(alice, riverside, query, field):
    response = client_for(alice).get(availability_url(), query)

    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_a_naive_datetime_is_refused_with_a_clear_message(alice, riverside):
    response = client_for(alice).get(
        availability_url(), {"start": "2026-03-30T09:00:00", "end": "2026-03-31"}
    )

    assert "UTC offset" in response.json()["errors"]["start"][0]


def test_a_range_over_fourteen_days_is_refused(alice, riverside):
    response = client_for(alice).get(
        availability_url(), {"start": "2026-03-01", "end": "2026-03-15"}
    )

    assert response.status_code == 422
    assert response.json()["errors"]["end"] == [RANGE_TOO_WIDE]


def test_a_range_of_exactly_fourteen_days_is_fine(alice, riverside):
    assert (
        client_for(alice)
        .get(availability_url(), {"start": "2026-03-01", "end": "2026-03-14"})
        .status_code
        == 200
    )


def test_availability_of_an_unknown_practice_is_a_404(alice):
    assert client_for(alice).get(availability_url("NOPE1"), window()).status_code == 404


@pytest.mark.parametrize("page_size", [1, 100])
def test_availability_costs_three_queries_whatever_the_page_size(
    alice, riverside, assert_statements, page_size
):
    clinicians = [ClinicianFactory(practice=riverside) for _ in range(3)]
    for i in range(30):
        SlotFactory(practice=riverside, clinician=clinicians[i % 3])
    client = client_for(alice)

    # 1. the user for the token  2. the practice  3. the page of slots with clinicians and the
    # total count (COUNT(*) OVER ())
    with assert_statements(3):
        response = client.get(availability_url(), {**window(), "page_size": page_size})

    assert response.json()["count"] == 30
    assert len(response.json()["results"]) == page_size if page_size < 30 else 30


@pytest.mark.parametrize("page_size", [1, 100])
def test_listing_practices_costs_one_query_whatever_the_page_size(
    api, assert_statements, page_size
):
    PracticeFactory.create_batch(5)

    with assert_statements(1):
        response = api.get(reverse("practices:practice-list"), {"page_size": page_size})

    assert response.json()["count"] == 5


@pytest.mark.parametrize("page_size", [1, 100])
def test_listing_clinicians_costs_two_queries_whatever_the_page_size(
    api, riverside, assert_statements, page_size
):
    for _ in range(4):
        ClinicianFactory(practice=riverside)

    # 1. the practice  2. the page of clinicians with the total count
    with assert_statements(2):
        response = api.get(
            reverse("practices:practice-clinicians", kwargs={"ods_code": "A81001"}),
            {"page_size": page_size},
        )

    assert response.json()["count"] == 4


def test_a_page_past_the_end_is_a_404(api, riverside):
    response = api.get(reverse("practices:practice-list"), {"page": 5})

    assert response.status_code == 404


def test_the_page_size_is_capped_at_one_hundred(api):
    PracticeFactory.create_batch(101)

    response = api.get(reverse("practices:practice-list"), {"page_size": 100})

    assert response.status_code == 200
    assert len(response.json()["results"]) == 100
    assert response.json()["count"] == 101


@pytest.mark.parametrize("page_size", ["101", "0", "-1", "ten", "1.5", ""])
def test_a_page_size_outside_one_to_one_hundred_is_a_400(api, page_size):
    response = api.get(reverse("practices:practice-list"), {"page_size": page_size})

    assert response.status_code == 400
    assert "page_size" in response.json()["errors"]


@pytest.mark.parametrize("page", ["0", "-3", "x"])
def test_a_malformed_page_number_is_a_400(api, page):
    response = api.get(reverse("practices:practice-list"), {"page": page})

    assert response.status_code == 400
    assert "page" in response.json()["errors"]


@pytest.mark.parametrize("page", ["100001", "85041703423814830645986862720614400"])
def test_a_page_number_beyond_any_list_is_a_404_without_a_query(api, page, assert_statements):
    PracticeFactory()

    with assert_statements(0):
        assert api.get(reverse("practices:practice-list"), {"page": page}).status_code == 404


def test_an_end_before_the_start_breaks_a_rule(alice, riverside):
    response = client_for(alice).get(
        availability_url(), {"start": "2026-03-30", "end": "2026-03-29"}
    )

    assert response.status_code == 422
    assert response.json()["errors"]["end"] == [RANGE_BACKWARDS]


def test_a_search_with_a_nul_character_is_refused_not_a_server_error(api, riverside):
    # PostgreSQL cannot hold NUL in text, so this reached the database as a 500 once.
    response = api.get(reverse("practices:practice-list"), {"search": "River\x00side"})

    assert response.status_code == 422
    assert "search" in response.json()["errors"]


@pytest.mark.parametrize(
    "query",
    [
        # Valid ISO 8601, but the year 0 once converted to UTC: this was a 500 (Schemathesis).
        {"start": "0001-01-01T00:01:00+01:01", "end": "2000-01-01"},
        {"start": "9999-12-31", "end": "9999-12-31"},
    ],
)
def test_dates_at_the_ends_of_the_calendar_break_a_rule_not_the_server(alice, riverside, query):
    response = client_for(alice).get(availability_url(), query)

    assert response.status_code == 422


def types_url(ods="A81001"):
    return reverse("practices:practice-appointment-types", kwargs={"ods_code": ods})


def test_a_practice_lists_the_appointment_types_it_offers_with_names_patients_read(
    api, riverside, hilltop
):
    SlotFactory(practice=riverside, slot_type="minor_ops", start=next_hour(48))
    SlotFactory(practice=riverside, slot_type="follow_up", start=next_hour(30))
    SlotFactory(practice=riverside, slot_type="routine", start=next_hour(26))
    SlotFactory(practice=riverside, slot_type="flu_jab", start=next_hour(-72))  # past only
    SlotFactory(practice=hilltop, slot_type="travel_vaccines", start=next_hour(26))

    response = api.get(types_url("a81001"))

    assert response.status_code == 200
    assert response.json() == [
        {"code": "routine", "name": "Routine appointment"},
        {"code": "follow_up", "name": "Follow-up appointment"},
        {"code": "minor_ops", "name": "Minor ops"},
    ]
    assert response["Cache-Control"].startswith("public")


def test_listing_appointment_types_costs_two_queries_whatever_the_practice_offers(
    api, riverside, assert_statements
):
    for index in range(6):
        SlotFactory(practice=riverside, slot_type=f"type_{index}", start=next_hour(26 + index))

    # 1. the practice  2. its slot types that its rota, sessions or slots use
    with assert_statements(2):
        response = api.get(types_url())

    assert len(response.json()) == 6


def test_free_slots_and_appointments_carry_the_types_name(alice, riverside):
    SlotFactory(practice=riverside, slot_type="follow_up", start=next_hour(26))

    slots = client_for(alice).get(availability_url(), window()).json()["results"]

    assert slots[0]["appointment_type_name"] == "Follow-up appointment"
