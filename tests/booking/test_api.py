import datetime as dt
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from booking import services
from booking.models import Appointment, AppointmentHistory
from booking.services import Actor
from practices.models import Slot
from tests.conftest import client_for
from tests.factories import ClinicianFactory, PatientFactory, free_slot, later_today

pytestmark = pytest.mark.django_db

LIST = reverse("booking:appointment-list")


def detail(appointment, action=None):
    name = f"booking:appointment-{action}" if action else "booking:appointment-detail"
    return reverse(name, kwargs={"pk": appointment.pk})


def book_as(user, slot, **kwargs):
    return services.book_appointment(actor=Actor(user=user), slot_id=slot.pk, **kwargs)


# Booking ----------------------------------------------------------------------------------


def test_it_books_with_the_original_apis_contract(alice, riverside):
    slot = free_slot(riverside, slot_type="routine")

    response = client_for(alice).post(
        LIST,
        {
            "patient_id": str(alice.id),
            "practice_id": "A81001",
            "appointment_datetime": slot.start.isoformat().replace("+00:00", "Z"),
            "appointment_type": "routine",
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    appointment = Appointment.objects.get()
    assert response["Location"] == detail(appointment)
    assert response["ETag"] == '"1"'
    assert body["id"] == str(appointment.id)
    assert body["reference"] == appointment.reference
    assert (body["status"], body["patient_id"], body["practice_id"], body["slot_id"]) == (
        "booked",
        str(alice.id),
        "A81001",
        str(slot.id),
    )
    assert body["clinician"] == {"id": str(slot.clinician_id), "name": slot.clinician.display_name}
    assert (
        body["appointment_datetime"]
        == body["start"]
        == slot.start.isoformat().replace("+00:00", "Z")
    )
    assert (body["appointment_type"], body["channel"]) == ("routine", "in_person")


def test_it_books_by_slot_id_with_notes(alice, riverside):
    slot = free_slot(riverside)

    response = client_for(alice).post(
        LIST,
        {"slot_id": str(slot.id), "description": "Sore knee", "comment": "Left one"},
        format="json",
    )

    assert response.status_code == 201
    assert (response.json()["description"], response.json()["comment"]) == ("Sore knee", "Left one")
    assert Slot.objects.get(pk=slot.pk).status == "booked"


def test_a_slot_id_may_come_with_its_practice_in_any_case(alice, riverside):
    slot = free_slot(riverside)

    response = client_for(alice).post(
        LIST, {"slot_id": str(slot.id), "practice_id": riverside.ods_code.lower()}, format="json"
    )

    assert response.status_code == 201, response.json()


def test_a_slot_id_with_another_practice_is_refused_and_nothing_booked(alice, riverside, hilltop):
    slot = free_slot(riverside)

    response = client_for(alice).post(
        LIST, {"slot_id": str(slot.id), "practice_id": hilltop.ods_code}, format="json"
    )

    assert response.status_code == 422
    assert response.json()["code"] == "practice_mismatch"
    assert "practice_id" in response.json()["errors"]
    assert not Appointment.objects.exists()
    assert Slot.objects.get(pk=slot.pk).status == "free"


def test_an_offset_datetime_finds_the_same_slot(alice, riverside):
    slot = free_slot(riverside)
    plus_one = slot.start.astimezone(dt.timezone(dt.timedelta(hours=1))).isoformat()

    response = client_for(alice).post(
        LIST,
        {"practice_id": "A81001", "appointment_datetime": plus_one, "appointment_type": "routine"},
        format="json",
    )

    assert response.json()["slot_id"] == str(slot.id)


@pytest.mark.parametrize(("field", "value"), [("description", "x" * 101), ("comment", "x" * 501)])
def test_too_long_notes_are_refused_not_truncated(alice, riverside, field, value):
    response = client_for(alice).post(
        LIST, {"slot_id": str(free_slot(riverside).id), field: value}, format="json"
    )

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Appointment.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"practice_id": "A81001", "appointment_type": "routine"},
        {
            "practice_id": "A81001",
            "appointment_datetime": "2030-01-01T09:00:00",
            "appointment_type": "routine",
        },
        {"slot_id": "not-a-uuid"},
        {"slot_id": str(uuid.uuid4()), "practice_id": 5},
        {"slot_id": str(uuid.uuid4()), "status": "completed"},
        {"slot_id": str(uuid.uuid4()), "channel": "carrier-pigeon"},
        # Types are as published: DRF would otherwise turn 5 into "5".
        {"slot_id": str(uuid.uuid4()), "comment": 5},
        {"slot_id": 12345},
        [{"slot_id": str(uuid.uuid4())}],
    ],
)
def test_malformed_bookings_are_a_400(alice, body):
    response = client_for(alice).post(LIST, body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


def test_a_taken_slot_is_a_409_with_alternatives(alice, bob, riverside):
    slot = free_slot(riverside)
    alternative = free_slot(riverside, hours_ahead=30)
    book_as(bob, slot)

    response = client_for(alice).post(LIST, {"slot_id": str(slot.id)}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "slot_taken"
    assert [a["slot_id"] for a in response.json()["alternatives"]] == [str(alternative.id)]


def test_no_slot_at_that_time_is_a_409_with_alternatives(alice, riverside):
    slot = free_slot(riverside)

    response = client_for(alice).post(
        LIST,
        {
            "practice_id": "A81001",
            "appointment_datetime": (slot.start - dt.timedelta(hours=2)).isoformat(),
            "appointment_type": "routine",
        },
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["code"] == "no_free_slot"
    assert response.json()["alternatives"][0]["slot_id"] == str(slot.id)


@pytest.mark.parametrize(
    ("setup", "status", "code"),
    [
        (lambda p: {"start": timezone.now() + dt.timedelta(minutes=30)}, 422, "too_soon"),
        (lambda p: {"hours_ahead": 24 * 40}, 422, "too_far_ahead"),
        (lambda p: {"online_bookable": False}, 422, "staff_only_slot"),
    ],
)
def test_each_booking_rule_has_its_own_error(alice, riverside, setup, status, code):
    slot = free_slot(riverside, **setup(riverside))

    response = client_for(alice).post(LIST, {"slot_id": str(slot.id)}, format="json")

    assert (response.status_code, response.json()["code"]) == (status, code)
    assert Slot.objects.get(pk=slot.pk).status == "free"


def test_booking_for_another_patient_is_a_403(alice, bob, riverside):
    response = client_for(alice).post(
        LIST, {"slot_id": str(free_slot(riverside).id), "patient_id": str(bob.id)}, format="json"
    )

    assert response.status_code == 403
    assert not Appointment.objects.exists()


def test_staff_book_for_a_registered_patient(dave, alice, riverside):
    response = client_for(dave).post(
        LIST, {"slot_id": str(free_slot(riverside).id), "patient_id": str(alice.id)}, format="json"
    )

    assert response.status_code == 201
    assert Appointment.objects.get().booked_by == dave


# Reading ----------------------------------------------------------------------------------


@pytest.fixture
def alices(alice, riverside):
    return book_as(alice, free_slot(riverside))


def test_a_patient_lists_only_their_own_appointments(alice, bob, riverside, alices):
    book_as(bob, free_slot(riverside, hours_ahead=30))

    response = client_for(alice).get(LIST)

    assert [a["id"] for a in response.json()["results"]] == [str(alices.id)]


def test_staff_list_their_practices_appointments_only(dave, alice, hilltop, alices):
    stranger = PatientFactory(profile__registered_practice=hilltop)
    book_as(stranger, free_slot(hilltop))

    response = client_for(dave).get(LIST)

    assert [a["id"] for a in response.json()["results"]] == [str(alices.id)]


def test_upcoming_appointments_come_first_soonest_first_then_past_ones_latest_first(
    alice, riverside
):
    later = book_as(alice, free_slot(riverside, hours_ahead=72))
    sooner = book_as(alice, free_slot(riverside, hours_ahead=24))
    past_slots = [
        free_slot(riverside, hours_ahead=24 * 5),
        free_slot(riverside, hours_ahead=24 * 6),
    ]
    older, newer = (book_as(alice, s) for s in past_slots)
    Appointment.objects.filter(pk=older.pk).update(
        start=timezone.now() - dt.timedelta(days=20),
        end=timezone.now() - dt.timedelta(days=20, minutes=-10),
    )
    Appointment.objects.filter(pk=newer.pk).update(
        start=timezone.now() - dt.timedelta(days=2),
        end=timezone.now() - dt.timedelta(days=2, minutes=-10),
    )

    response = client_for(alice).get(LIST)

    assert [a["id"] for a in response.json()["results"]] == [
        str(x.id) for x in (sooner, later, newer, older)
    ]


def test_the_list_filters_by_status_range_clinician_and_patient(dave, alice, bob, riverside):
    khan = ClinicianFactory(practice=riverside)
    wanted = book_as(alice, free_slot(riverside, hours_ahead=24, clinician=khan))
    book_as(alice, free_slot(riverside, hours_ahead=48))
    book_as(
        bob, free_slot(riverside, hours_ahead=24, clinician=ClinicianFactory(practice=riverside))
    )
    start = wanted.start - dt.timedelta(minutes=1)

    response = client_for(dave).get(
        LIST,
        {
            "status": "booked",
            "start": start.isoformat(),
            "end": (start + dt.timedelta(hours=1)).isoformat(),
            "clinician": str(khan.id),
            "patient": str(alice.id),
            "practice": "a81001",
        },
    )

    assert [a["id"] for a in response.json()["results"]] == [str(wanted.id)]


@pytest.mark.parametrize(
    "query",
    [
        {"status": "maybe"},
        {"start": "yesterday"},
        {"clinician": "x"},
        {"start": "2026-01-01T09:00"},
    ],
)
def test_bad_list_filters_are_a_400(alice, query):
    assert client_for(alice).get(LIST, query).status_code == 400


def test_a_patient_reads_their_appointment_with_an_etag(alice, alices):
    response = client_for(alice).get(detail(alices))

    assert response.status_code == 200
    assert response.json()["reference"] == alices.reference
    assert response["ETag"] == '"1"'


def test_another_patients_appointment_is_a_404(bob, alices):
    response = client_for(bob).get(detail(alices))

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_malformed_id_is_a_404(alice):
    assert client_for(alice).get(f"{LIST}/not-an-id").status_code == 404


@pytest.mark.parametrize("page_size", [1, 100])
def test_listing_costs_three_queries_whatever_the_page_size(
    alice, riverside, assert_statements, page_size
):
    for hours in range(24, 24 + 4):
        book_as(alice, free_slot(riverside, hours_ahead=hours))
    client = client_for(alice)

    # 1. the user for the token  2. the page of appointments with practice, clinician and the
    # total count  3. the audit row
    with assert_statements(3):
        response = client.get(LIST, {"page_size": page_size})

    assert response.json()["count"] == 4


@pytest.mark.parametrize("persona", ["alice", "dave"])
def test_reading_one_appointment_costs_three_queries(request, alices, assert_statements, persona):
    client = client_for(request.getfixturevalue(persona))

    # 1. the user for the token  2. the appointment with practice and clinician (staff scope
    # is a subquery, not a query)  3. the audit row
    with assert_statements(3):
        assert client.get(detail(alices)).status_code == 200


# Changing ---------------------------------------------------------------------------------


def test_patch_changes_the_notes_and_the_etag(alice, alices):
    response = client_for(alice).patch(
        detail(alices), {"comment": "Running late"}, format="json", HTTP_IF_MATCH='"1"'
    )

    assert response.status_code == 200
    assert response["ETag"] == '"2"'
    assert Appointment.objects.get(pk=alices.pk).comment == "Running late"


def test_notes_over_the_limit_are_refused_even_if_the_excess_is_whitespace(alice, alices):
    # The schema's maxLength counts the text as sent (Schemathesis sent 500 + form feeds).
    response = client_for(alice).patch(
        detail(alices), {"comment": "x" * 495 + "\f" * 10}, format="json"
    )

    assert response.status_code == 400
    assert "comment" in response.json()["errors"]
    assert Appointment.objects.get(pk=alices.pk).comment == ""


def test_patch_with_a_stale_etag_is_a_412_and_changes_nothing(alice, alices):
    client = client_for(alice)
    client.patch(detail(alices), {"comment": "First"}, format="json")

    response = client.patch(
        detail(alices), {"comment": "Second"}, format="json", HTTP_IF_MATCH='"1"'
    )

    assert response.status_code == 412
    assert response.json()["code"] == "stale_version"
    assert Appointment.objects.get(pk=alices.pk).comment == "First"


@pytest.mark.parametrize("field", ["status", "slot_id", "start", "patient_id"])
def test_patch_refuses_anything_but_notes(alice, alices, field):
    response = client_for(alice).patch(detail(alices), {field: "x"}, format="json")

    assert response.status_code == 400
    assert Appointment.objects.get(pk=alices.pk).version == 1


def test_a_malformed_if_match_is_a_400(alice, alices):
    response = client_for(alice).patch(
        detail(alices), {"comment": "x"}, format="json", HTTP_IF_MATCH="yesterday"
    )

    assert response.status_code == 400


def test_reschedule_by_slot(alice, alices, riverside):
    new = free_slot(riverside, hours_ahead=48)

    response = client_for(alice).post(
        detail(alices, "reschedule"), {"slot_id": str(new.id)}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["slot_id"] == str(new.id)
    assert Slot.objects.get(pk=alices.slot_id).status == "free"


def test_reschedule_by_time_keeps_the_type(alice, alices, riverside):
    new = free_slot(riverside, hours_ahead=48)

    response = client_for(alice).post(
        detail(alices, "reschedule"), {"appointment_datetime": new.start.isoformat()}, format="json"
    )

    assert response.json()["slot_id"] == str(new.id)


def test_cancel_needs_a_reason(alice, alices):
    response = client_for(alice).post(detail(alices, "cancel"), {}, format="json")

    assert response.status_code == 400
    assert "reason" in response.json()["errors"]


def test_cancel_frees_the_slot_at_once(alice, alices):
    response = client_for(alice).post(
        detail(alices, "cancel"), {"reason": "Feeling better"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["cancellation_reason"] == "Feeling better"
    assert Slot.objects.get(pk=alices.slot_id).status == "free"


def test_a_cancelled_appointment_cannot_be_amended(alice, alices):
    client = client_for(alice)
    client.post(detail(alices, "cancel"), {"reason": "x"}, format="json")

    response = client.patch(detail(alices), {"comment": "y"}, format="json")

    assert response.status_code == 422
    assert response.json()["code"] == "appointment_cancelled"


def test_a_clinician_records_the_outcome_of_their_own_appointment(carol, riverside, alice):
    start = later_today()
    appointment = services.book_appointment(
        actor=Actor(user=alice),
        slot_id=free_slot(riverside, start=start, clinician=carol.clinician).pk,
        now=start - dt.timedelta(days=1),
    )

    response = client_for(carol).post(
        detail(appointment, "outcome"), {"outcome": "arrived"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["status"] == "arrived"


def test_an_unknown_outcome_is_a_400(carol, alices):
    response = client_for(carol).post(
        detail(alices, "outcome"), {"outcome": "cancelled"}, format="json"
    )

    assert response.status_code == 400


# Idempotency ------------------------------------------------------------------------------


def test_the_same_idempotency_key_and_body_replays_the_first_response(alice, riverside):
    slot = free_slot(riverside)
    client = client_for(alice)
    body = {"slot_id": str(slot.id)}

    first = client.post(LIST, body, format="json", HTTP_IDEMPOTENCY_KEY="k-123")
    again = client.post(LIST, body, format="json", HTTP_IDEMPOTENCY_KEY="k-123")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Location"] == first["Location"]
    assert again["Idempotent-Replayed"] == "true"
    assert Appointment.objects.count() == 1
    assert AppointmentHistory.objects.count() == 1


def test_the_same_key_with_a_different_body_is_a_422(alice, riverside):
    client = client_for(alice)
    client.post(
        LIST, {"slot_id": str(free_slot(riverside).id)}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )

    response = client.post(
        LIST,
        {"slot_id": str(free_slot(riverside, hours_ahead=48).id)},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert Appointment.objects.count() == 1


def test_keys_belong_to_one_user(alice, bob, riverside):
    client_for(alice).post(
        LIST, {"slot_id": str(free_slot(riverside).id)}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )

    response = client_for(bob).post(
        LIST,
        {"slot_id": str(free_slot(riverside, hours_ahead=48).id)},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )

    assert response.status_code == 201


def test_a_failed_request_does_not_use_up_its_key(alice, bob, riverside):
    slot = free_slot(riverside)
    client = client_for(alice)
    client.post(
        LIST,
        {"slot_id": str(slot.id), "patient_id": str(bob.id)},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-9",
    )

    response = client.post(
        LIST, {"slot_id": str(slot.id)}, format="json", HTTP_IDEMPOTENCY_KEY="k-9"
    )

    assert response.status_code == 201


def test_keys_expire_after_a_day(alice, riverside):
    from booking.models import IdempotencyRecord

    client = client_for(alice)
    body = {"slot_id": str(free_slot(riverside).id)}
    client.post(LIST, body, format="json", HTTP_IDEMPOTENCY_KEY="k-old")
    IdempotencyRecord.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))

    response = client.post(LIST, body, format="json", HTTP_IDEMPOTENCY_KEY="k-old")

    assert response.status_code == 409  # run again, not replayed: the slot is now taken
    assert "Idempotent-Replayed" not in response


def test_an_overlong_key_is_a_400(alice, riverside):
    response = client_for(alice).post(
        LIST,
        {"slot_id": str(free_slot(riverside).id)},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k" * 256,
    )

    assert response.status_code == 400


def test_cancel_is_idempotent_too(alice, alices):
    client = client_for(alice)
    first = client.post(
        detail(alices, "cancel"), {"reason": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="c-1"
    )

    again = client.post(
        detail(alices, "cancel"), {"reason": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="c-1"
    )

    assert (first.status_code, again.status_code) == (200, 200)
    assert AppointmentHistory.objects.filter(action="cancelled").count() == 1


@pytest.mark.django_db(transaction=True)
def test_booking_costs_ten_statements_in_all(alice, riverside, assert_statements):
    # transaction=True: nothing wraps the request, so what runs is what production runs,
    # after-commit work included.
    slot = free_slot(riverside)
    client = client_for(alice)

    # 1. the user for the token, with the patient profile  2. lock the slot (with practice
    # and clinician), taking the patient's booking lock first  3. the patient's live
    # appointments (overlap and maximum)  4. insert the appointment  5. book the slot
    # 6. insert the history row  7. insert the outbox row  8. after commit, queue the
    # confirmation email's task  9. the audit row  (10. the throttle's counter, asserted apart)
    with assert_statements(9):
        response = client.post(LIST, {"slot_id": str(slot.id)}, format="json")

    assert response.status_code == 201


@pytest.mark.django_db(transaction=True)
def test_sending_the_slots_practice_too_costs_no_more_statements(
    alice, riverside, assert_statements
):
    slot = free_slot(riverside)
    client = client_for(alice)

    # The same nine as above: the practice comes with the locked slot.
    with assert_statements(9):
        response = client.post(
            LIST, {"slot_id": str(slot.id), "practice_id": riverside.ods_code}, format="json"
        )

    assert response.status_code == 201


def test_a_clinician_cannot_record_the_outcome_of_a_colleagues_appointment(carol, alices):
    response = client_for(carol).post(
        detail(alices, "outcome"), {"outcome": "arrived"}, format="json"
    )

    assert response.status_code == 403
    assert response.json()["code"] == "not_your_appointment"


@pytest.mark.parametrize("query", [{"status": ""}, {"practice": ""}, {"status": "lost"}])
def test_an_empty_or_unknown_list_filter_is_refused_not_ignored(alice, query):
    response = client_for(alice).get(LIST, query)

    assert response.status_code in (400, 422)
    assert set(query) <= set(response.json()["errors"])
