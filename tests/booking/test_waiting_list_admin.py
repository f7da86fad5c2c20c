"""The waiting list in the admin: Dave (Riverside) sees and manages Riverside's list only."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from booking.models import WaitingListEntry, WaitingListOffer
from booking.services import Actor, waiting_list
from practices.models import SlotStatus
from tests.factories import free_slot

pytestmark = pytest.mark.django_db


@pytest.fixture
def dave_client(client, dave):
    client.force_login(dave)
    return client


@pytest.fixture
def alices_entry(alice, riverside):
    latest = timezone.localtime(timezone=riverside.tz).date() + dt.timedelta(days=10)
    return waiting_list.join_waiting_list(
        actor=Actor(user=alice),
        practice_ods=riverside.ods_code,
        wishes=waiting_list.Wishes(latest_date=latest, channels=["telephone"]),
    )


def test_staff_see_their_practices_list_with_wishes(dave_client, alices_entry):
    page = dave_client.get(reverse("admin:booking_waitinglistentry_changelist"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Alice Smith" in text
    assert "telephone" in text
    assert AuditEvent.objects.filter(action="admin.waiting_list.list").exists()


def test_staff_of_another_practice_do_not_see_the_entry(client, erin, alices_entry):
    client.force_login(erin)
    page = client.get(reverse("admin:booking_waitinglistentry_changelist"))
    assert "Alice Smith" not in page.content.decode()
    url = reverse("admin:booking_waitinglistentry_change", args=[alices_entry.pk])
    # Django's admin answers an object out of scope with a redirect home, saying it does
    # not exist; never the entry.
    response = client.get(url)
    assert response.status_code == 302
    assert "Alice" not in client.get(response["Location"]).content.decode()
    remove = reverse("admin:booking_waitinglistentry_remove", args=[alices_entry.pk])
    assert client.get(remove).status_code == 404


def test_opening_an_entry_is_audited_against_the_patient(dave_client, alice, alices_entry):
    url = reverse("admin:booking_waitinglistentry_change", args=[alices_entry.pk])
    page = dave_client.get(url)
    assert page.status_code == 200
    assert "Offer a slot" in page.content.decode()
    assert AuditEvent.objects.filter(action="admin.waiting_list.view", patient=alice).exists()


def test_staff_offer_a_slot_from_the_entry(dave_client, riverside, alices_entry):
    slot = free_slot(riverside, hours_ahead=30, channel="telephone")
    url = reverse("admin:booking_waitinglistentry_offer", args=[alices_entry.pk])
    assert str(slot.pk) in dave_client.get(url).content.decode()
    response = dave_client.post(url, {"slot": str(slot.pk)})
    assert response.status_code == 302
    offer = WaitingListOffer.objects.get()
    assert offer.slot == slot
    slot.refresh_from_db()
    assert slot.status == SlotStatus.HELD


def test_a_practice_only_slot_is_not_offered_from_the_admin(dave_client, riverside, alices_entry):
    slot = free_slot(riverside, hours_ahead=30, online_bookable=False)
    url = reverse("admin:booking_waitinglistentry_offer", args=[alices_entry.pk])
    response = dave_client.post(url, {"slot": str(slot.pk)})
    assert response.status_code == 200  # the form again, with its error
    assert not WaitingListOffer.objects.exists()


def test_staff_remove_an_entry_with_a_reason(dave_client, dave, alices_entry):
    url = reverse("admin:booking_waitinglistentry_remove", args=[alices_entry.pk])
    assert dave_client.post(url, {"reason": ""}).status_code == 200
    response = dave_client.post(url, {"reason": "Booked by phone"})
    assert response.status_code == 302
    alices_entry.refresh_from_db()
    assert alices_entry.status == WaitingListEntry.Status.REMOVED
    assert alices_entry.closed_reason == "Booked by phone"
    assert alices_entry.closed_by == dave


def test_a_clinician_sees_the_list_but_cannot_change_it(client, carol, alices_entry):
    client.force_login(carol)
    assert client.get(reverse("admin:booking_waitinglistentry_changelist")).status_code == 200
    url = reverse("admin:booking_waitinglistentry_remove", args=[alices_entry.pk])
    response = client.post(url, {"reason": "No"})
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")
    alices_entry.refresh_from_db()
    assert alices_entry.status == WaitingListEntry.Status.WAITING


def test_the_booking_form_offers_staff_a_held_slot(dave_client, dave, riverside, alices_entry):
    slot = free_slot(riverside, hours_ahead=30, channel="telephone")
    waiting_list.offer_slot(actor=Actor(user=dave), entry_id=alices_entry.pk, slot_id=slot.pk)
    page = dave_client.get(reverse("admin:booking_appointment_add")).content.decode()
    assert str(slot.pk) in page
    assert "held for the waiting list" in page
