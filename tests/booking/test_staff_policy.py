"""One staff policy (booking.services.rules.STAFF_MAY), the same through both doors: every
staff action, for every staff role, through the API and through the admin (issue 17.9).

dave: Riverside's practice administrator; carol: a Riverside GP, the clinician of the
appointment under test (so only her role, not the appointment, decides)."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import STAFF_GROUPS
from booking import services
from booking.services import STAFF_MAY, Actor, StaffAction, staff_may, waiting_list
from booking.staff_groups import GROUPS
from tests.booking.test_permissions import _book_for_alice, _cancel, _outcome, _patch, _reschedule
from tests.conftest import client_for
from tests.factories import free_slot

pytestmark = pytest.mark.django_db

API = {
    StaffAction.BOOK_FOR_PATIENT: (_book_for_alice, 201),
    StaffAction.RESCHEDULE: (_reschedule, 200),
    StaffAction.CANCEL: (_cancel, 200),
    StaffAction.AMEND_NOTES: (_patch, 200),
    StaffAction.RECORD_OUTCOME: (_outcome, 200),
}


def admin_allows(client: Client, action: StaffAction, appointment) -> bool:
    if action == StaffAction.BOOK_FOR_PATIENT:
        return client.get(reverse("admin:booking_appointment_add")).status_code == 200
    if action == StaffAction.RESCHEDULE:
        url = reverse("admin:booking_appointment_reschedule", args=[appointment.pk])
        return client.get(url).status_code == 200
    if action == StaffAction.CANCEL:
        url = reverse("admin:booking_appointment_cancel", args=[appointment.pk])
        return client.get(url).status_code == 200
    if action == StaffAction.RECORD_OUTCOME:
        page = client.get(reverse("admin:booking_appointment_changelist")).content.decode()
        return 'value="mark_arrived"' in page
    if action == StaffAction.MANAGE_WAITING_LIST:
        entry = waiting_list.join_waiting_list(
            actor=Actor(user=appointment.patient),
            practice_ods=appointment.practice.ods_code,
            wishes=waiting_list.Wishes(latest_date=timezone.localdate() + dt.timedelta(days=3)),
        )
        url = reverse("admin:booking_waitinglistentry_remove", args=[entry.pk])
        return client.get(url).status_code == 200
    raise AssertionError(f"the admin has no door for {action}")


@pytest.fixture
def carols_appointment(alice, carol, riverside):
    slot = free_slot(riverside, hours_ahead=48, clinician=carol.clinician)
    return services.book_appointment(actor=Actor(user=alice), slot_id=slot.pk)


@pytest.mark.parametrize("persona", ["dave", "carol"])
# Staff manage the waiting list in the admin only: the API's waiting list is the patients'.
@pytest.mark.parametrize("action", [a for a in StaffAction if a != StaffAction.MANAGE_WAITING_LIST])
def test_the_api_allows_exactly_what_the_policy_says(
    request, persona, action, carols_appointment, riverside
):
    user = request.getfixturevalue(persona)
    call, success = API[action]

    status = call(client_for(user), carols_appointment, riverside).status_code

    assert (status == success) == staff_may(user, action), status
    if not staff_may(user, action):
        assert status == 403


@pytest.mark.parametrize("persona", ["dave", "carol"])
@pytest.mark.parametrize("action", [a for a in StaffAction if a != StaffAction.AMEND_NOTES])
def test_the_admin_offers_exactly_what_the_policy_says(
    request, client, persona, action, carols_appointment
):
    user = request.getfixturevalue(persona)
    client.force_login(user)

    assert admin_allows(client, action, carols_appointment) == staff_may(user, action)


def test_the_staff_groups_carry_the_permissions_the_policy_needs():
    for role, group in STAFF_GROUPS.items():
        may = STAFF_MAY[role]
        assert ("add_appointment" in GROUPS[group]) == (StaffAction.BOOK_FOR_PATIENT in may)
        assert ("record_outcome" in GROUPS[group]) == (StaffAction.RECORD_OUTCOME in may)
        assert ("change_waitinglistentry" in GROUPS[group]) == (
            StaffAction.MANAGE_WAITING_LIST in may
        )
