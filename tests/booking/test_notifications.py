"""Confirmations, changes and reminders: outbox rows with the change, sent by the worker."""

import datetime as dt
import email as email_parser

import boto3
import pytest
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from icalendar import Calendar
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

from accounts.models import PatientProfile
from booking import services
from booking.models import Notification
from booking.notifications import delivery, messages
from booking.notifications.sms import LocMemSmsBackend
from booking.services import Actor
from core.exceptions import RuleViolation
from core.outbox import MAX_ATTEMPTS
from tests.factories import free_slot
from tests.tasks import run_worker

pytestmark = pytest.mark.django_db


def prefer(patient, *, email: bool, sms: bool):
    PatientProfile.objects.filter(user=patient).update(notify_by_email=email, notify_by_sms=sms)
    patient.refresh_from_db()


def book(patient, slot, **kwargs):
    return services.book_appointment(actor=Actor(user=patient), slot_id=slot.pk, **kwargs)


def calendar_of(message):
    (attachment,) = [a for a in message.attachments if a[0] == "appointment.ics"]
    return Calendar.from_ical(attachment[1]).walk("VEVENT")[0], Calendar.from_ical(attachment[1])


# The outbox -------------------------------------------------------------------------------


def test_booking_writes_one_row_per_chosen_channel_and_sends_after_commit(
    alice, riverside, django_capture_on_commit_callbacks
):
    prefer(alice, email=True, sms=True)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        appointment = book(alice, free_slot(riverside))
    run_worker()

    assert len(callbacks) == 1
    assert set(Notification.objects.values_list("kind", "medium", "status")) == {
        ("confirmation", "email", "sent"),
        ("confirmation", "sms", "sent"),
    }
    assert mail.outbox[0].to == ["alice@example.com"]
    assert appointment.reference in mail.outbox[0].body
    assert LocMemSmsBackend.outbox[0]["to"] == "+447700900123"


def test_a_rolled_back_booking_sends_nothing(alice, riverside, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        book(alice, free_slot(riverside))
        raise RuntimeError("something after the booking failed")

    assert not Notification.objects.exists()
    assert callbacks == []


def test_a_refused_booking_sends_nothing(alice, riverside):
    with pytest.raises(RuleViolation):
        book(alice, free_slot(riverside, online_bookable=False))

    assert not Notification.objects.exists()


@pytest.mark.parametrize(
    ("email", "sms", "expected"),
    [(True, False, {"email"}), (False, True, {"sms"}), (False, False, set())],
)
def test_the_patients_preferences_choose_the_channels(alice, riverside, email, sms, expected):
    prefer(alice, email=email, sms=sms)

    book(alice, free_slot(riverside))

    assert set(Notification.objects.values_list("medium", flat=True)) == expected


def test_reschedule_and_cancel_each_send_their_own_message(
    alice, riverside, django_capture_on_commit_callbacks
):
    prefer(alice, email=True, sms=False)
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(alice, free_slot(riverside))
        services.reschedule_appointment(
            actor=Actor(user=alice),
            appointment_id=appointment.pk,
            new_slot_id=free_slot(riverside, hours_ahead=48).pk,
        )
        services.cancel_appointment(
            actor=Actor(user=alice), appointment_id=appointment.pk, reason="Better"
        )
    run_worker()

    assert [m.subject.split(" at ")[0] for m in mail.outbox] == sorted(
        ["Your appointment", "Your appointment", "Your appointment"]
    )
    assert sorted(Notification.objects.values_list("kind", flat=True)) == [
        "cancellation",
        "confirmation",
        "reschedule",
    ]


# Content ----------------------------------------------------------------------------------


def test_the_confirmation_email_has_text_html_and_a_calendar_request(alice, riverside):
    appointment = book(alice, free_slot(riverside))
    content = messages.email(appointment, Notification.Kind.CONFIRMATION)

    calendar = Calendar.from_ical(content.ics)
    event = calendar.walk("VEVENT")[0]

    assert "Your appointment is booked" in content.text
    assert "<table>" in content.html
    assert str(calendar["METHOD"]) == "REQUEST"
    assert str(event["UID"]) == f"{appointment.id}@gp-booking"
    assert event.decoded("DTSTART") == appointment.start
    assert event.decoded("DTEND") == appointment.end


def test_a_reschedule_updates_and_a_cancel_removes_the_same_calendar_entry(alice, riverside):
    appointment = book(alice, free_slot(riverside))
    first = Calendar.from_ical(messages.calendar(appointment)).walk("VEVENT")[0]
    moved = services.reschedule_appointment(
        actor=Actor(user=alice),
        appointment_id=appointment.pk,
        new_slot_id=free_slot(riverside, hours_ahead=48).pk,
    )
    second = Calendar.from_ical(messages.calendar(moved)).walk("VEVENT")[0]
    cancelled = services.cancel_appointment(
        actor=Actor(user=alice), appointment_id=appointment.pk, reason="x"
    )
    cancel_calendar = Calendar.from_ical(messages.calendar(cancelled, cancel=True))
    cancel = cancel_calendar.walk("VEVENT")[0]

    assert str(first["UID"]) == str(second["UID"]) == str(cancel["UID"])
    assert int(second["SEQUENCE"]) > int(first["SEQUENCE"])
    assert second.decoded("DTSTART") == moved.start
    assert (str(cancel_calendar["METHOD"]), str(cancel["STATUS"])) == ("CANCEL", "CANCELLED")


def test_sms_fit_one_segment_and_carry_no_clinical_detail(alice, riverside):
    appointment = book(
        alice,
        free_slot(riverside, slot_type="mental_health_review"),
        description="Depression follow-up",
    )

    for kind in Notification.Kind.values:
        text = messages.sms_text(appointment, kind)

        assert len(text) <= 160
        assert appointment.reference in text and riverside.name in text
        for clinical in ("mental", "Depression", appointment.clinician.display_name):
            assert clinical not in text


def test_a_long_practice_name_drops_the_phone_line_before_a_second_segment(alice, riverside):
    riverside.name = (
        "The Very Long Named Riverside and District Community Medical Practice Partnership"
    )
    riverside.save()
    appointment = book(alice, free_slot(riverside))

    assert len(messages.sms_text(appointment, Notification.Kind.CONFIRMATION)) <= 160


# Delivery, retries, crashes ---------------------------------------------------------------


def test_delivering_twice_sends_once(alice, riverside):
    prefer(alice, email=True, sms=False)
    book(alice, free_slot(riverside))
    note = Notification.objects.get()

    delivery.deliver(str(note.pk))
    delivery.deliver(str(note.pk))

    assert len(mail.outbox) == 1


def test_a_failed_send_is_recorded_and_retried_with_backoff(alice, riverside, monkeypatch):
    prefer(alice, email=False, sms=True)
    book(alice, free_slot(riverside))
    note = Notification.objects.get()

    def broken(self, **kwargs):
        raise ConnectionError("SNS unreachable")

    monkeypatch.setattr(LocMemSmsBackend, "send", broken)
    assert delivery.deliver(str(note.pk)) == "pending"
    note.refresh_from_db()

    assert (note.status, note.attempts) == ("pending", 1)
    assert "SNS unreachable" in note.last_error
    assert note.next_attempt_at > timezone.now() + dt.timedelta(minutes=1)


def test_after_the_last_attempt_it_is_failed_for_good_not_dropped(alice, riverside, monkeypatch):
    prefer(alice, email=False, sms=True)
    book(alice, free_slot(riverside))
    note = Notification.objects.get()
    monkeypatch.setattr(
        LocMemSmsBackend, "send", lambda self, **kw: (_ for _ in ()).throw(TimeoutError("slow"))
    )

    for _ in range(MAX_ATTEMPTS):
        delivery.deliver(str(note.pk))

    note.refresh_from_db()
    assert (note.status, note.attempts) == ("failed", MAX_ATTEMPTS)


def test_a_worker_crash_between_send_and_mark_is_picked_up_again(alice, riverside):
    prefer(alice, email=True, sms=False)
    book(alice, free_slot(riverside))
    # What a worker that died mid-send leaves behind.
    Notification.objects.update(
        status="sending", attempts=1, next_attempt_at=timezone.now() - dt.timedelta(minutes=1)
    )

    requeued = delivery.requeue_due()
    run_worker()

    assert requeued == 1
    assert Notification.objects.get().status == "sent"
    assert len(mail.outbox) == 1


def test_a_lost_enqueue_is_found_by_the_sweeper(alice, riverside):
    prefer(alice, email=True, sms=False)
    book(alice, free_slot(riverside))  # no on_commit in this test: the task was never queued
    Notification.objects.update(created_at=timezone.now() - dt.timedelta(minutes=5))

    assert delivery.requeue_due() == 1
    run_worker()
    assert Notification.objects.get().status == "sent"


def test_a_second_task_for_a_row_another_worker_is_sending_sends_nothing(alice, riverside):
    prefer(alice, email=True, sms=False)
    book(alice, free_slot(riverside))
    # A live worker is sending it (its lease runs for another minute).
    Notification.objects.update(
        status="sending", attempts=1, next_attempt_at=timezone.now() + dt.timedelta(minutes=1)
    )

    result = delivery.deliver(str(Notification.objects.get().pk))

    assert result == "sending"
    assert mail.outbox == []


def test_a_requeued_row_is_not_requeued_again_by_the_next_sweep(alice, riverside):
    prefer(alice, email=True, sms=False)
    book(alice, free_slot(riverside))
    Notification.objects.update(created_at=timezone.now() - dt.timedelta(minutes=5))

    first, second = delivery.requeue_due(), delivery.requeue_due()

    assert (first, second) == (1, 0)


def test_each_email_carries_its_notification_id_as_message_id(alice, riverside):
    prefer(alice, email=True, sms=False)
    book(alice, free_slot(riverside))
    note = Notification.objects.get()

    delivery.deliver(str(note.pk))

    assert mail.outbox[0].extra_headers["Message-ID"] == f"<{note.pk}@gp-booking.test>"


# Real request shapes, against moto's SES and SNS -------------------------------------------


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


def test_email_goes_through_amazon_ses(aws, settings, alice, riverside):
    settings.EMAIL_BACKEND = "django_ses.SESBackend"
    boto3.client("ses", region_name="eu-west-2").verify_email_identity(
        EmailAddress="no-reply@gp-booking.test"
    )
    prefer(alice, email=True, sms=False)
    appointment = book(alice, free_slot(riverside))

    assert delivery.deliver(str(Notification.objects.get().pk)) == "sent"

    (sent,) = ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-2"].sent_messages
    parsed = email_parser.message_from_string(sent.raw_data)
    assert parsed["To"] == "alice@example.com"
    assert appointment.reference in sent.raw_data
    assert "text/calendar" in sent.raw_data


def test_sms_goes_through_amazon_sns(aws, settings, alice, riverside):
    settings.SMS_BACKEND = "booking.notifications.sms.SnsSmsBackend"
    prefer(alice, email=False, sms=True)
    appointment = book(alice, free_slot(riverside))

    assert delivery.deliver(str(Notification.objects.get().pk)) == "sent"

    ((phone, text),) = sns_backends[DEFAULT_ACCOUNT_ID]["eu-west-2"].sms_messages.values()
    assert phone == "+447700900123"
    assert appointment.reference in text
    assert Notification.objects.get().provider_message_id


# Reminders --------------------------------------------------------------------------------


def test_reminders_are_queued_once_inside_the_window(alice, riverside):
    prefer(alice, email=True, sms=True)
    soon = book(alice, free_slot(riverside, hours_ahead=10))
    book(alice, free_slot(riverside, hours_ahead=60))  # outside 24 hours

    first = delivery.queue_reminders()
    second = delivery.queue_reminders()

    assert (first, second) == (2, 0)
    assert set(
        Notification.objects.filter(kind="reminder").values_list("appointment_id", flat=True)
    ) == {soon.pk}


def test_a_rescheduled_appointment_gets_a_reminder_for_its_new_time(alice, riverside):
    prefer(alice, email=True, sms=False)
    appointment = book(alice, free_slot(riverside, hours_ahead=10))
    delivery.queue_reminders()
    services.reschedule_appointment(
        actor=Actor(user=alice),
        appointment_id=appointment.pk,
        new_slot_id=free_slot(riverside, hours_ahead=12).pk,
    )

    assert delivery.queue_reminders() == 1
    assert Notification.objects.filter(kind="reminder").count() == 2


def test_cancelled_appointments_and_practices_without_reminders_get_none(
    alice, bob, riverside, hilltop
):
    cancelled = book(alice, free_slot(riverside, hours_ahead=10))
    services.cancel_appointment(actor=Actor(user=alice), appointment_id=cancelled.pk, reason="x")
    riverside.reminder_hours_before = 0
    riverside.save()
    book(bob, free_slot(riverside, hours_ahead=11))

    assert delivery.queue_reminders() == 0


def test_the_send_reminders_command_is_idempotent(
    alice, riverside, capsys, django_capture_on_commit_callbacks
):
    prefer(alice, email=True, sms=False)
    book(alice, free_slot(riverside, hours_ahead=5))

    with django_capture_on_commit_callbacks(execute=True):
        call_command("send_reminders")
        call_command("send_reminders")
    run_worker()

    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Queued 1 reminders")
    assert out[1].startswith("Queued 0 reminders")
    assert [m.subject for m in mail.outbox if m.subject.startswith("Reminder")] == [
        "Reminder: your appointment at Riverside Surgery"
    ]


def test_staff_see_sending_status_in_the_admin(client, dave, alice, riverside):
    prefer(alice, email=True, sms=False)
    appointment = book(alice, free_slot(riverside))
    delivery.deliver(str(Notification.objects.get().pk))
    client.force_login(dave)

    body = client.get(f"/admin/booking/appointment/{appointment.pk}/change/").content.decode()

    assert "Booking confirmation" in body
    assert "Sent" in body


@pytest.mark.django_db(transaction=True)
def test_the_real_worker_sends_queued_messages(alice, riverside):
    prefer(alice, email=True, sms=True)
    book(alice, free_slot(riverside))  # a real commit, so the tasks are really enqueued

    call_command(
        "db_worker", "--batch", "--no-startup-delay", "--queue-name", "notifications", verbosity=0
    )

    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}
    assert len(mail.outbox) == 1
    assert len(LocMemSmsBackend.outbox) == 1
