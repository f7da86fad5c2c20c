"""The notification worker's edges (issue 17.11): no personal data in logs, no console
backend in production, stale sends picked up by the worker itself, database restarts survived."""

import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from django.core import mail

from booking.notifications import email_backends, sms
from booking.notifications.redact import mask_email, mask_phone
from tests.config.test_settings import SETUP, production_env, run_python
from tests.servers import hold_database, server_env, stop_database

ROOT = Path(__file__).resolve().parents[2]

NUMBER = "+447700900123"


def test_the_console_sms_backend_never_prints_a_whole_number(capsys):
    sms.ConsoleSmsBackend().send(to=NUMBER, body="Your appointment", idempotency_key="k")

    printed = capsys.readouterr().out
    assert NUMBER not in printed
    assert mask_phone(NUMBER) in printed


def test_the_console_email_backend_prints_neither_the_address_nor_the_message(capsys):
    message = mail.EmailMessage("Appointment booked", "Dear Alice Smith", to=["alice@example.com"])

    email_backends.RedactedConsoleEmailBackend().send_messages([message])

    printed = capsys.readouterr().out
    assert "alice@example.com" not in printed and "Alice Smith" not in printed
    assert "a***@example.com" in printed


def test_the_mail_sink_sms_backend_shows_the_text_but_not_the_number(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    sms.MailSinkSmsBackend().send(to=NUMBER, body="Your appointment", idempotency_key="k")

    (sent,) = mail.outbox
    assert sent.body == "Your appointment"
    assert NUMBER not in sent.subject + sent.body + " ".join(sent.to)


@pytest.mark.parametrize(
    ("name", "backend"),
    [
        ("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"),
        ("EMAIL_BACKEND", "booking.notifications.email_backends.RedactedConsoleEmailBackend"),
        ("SMS_BACKEND", "booking.notifications.sms.ConsoleSmsBackend"),
    ],
)
def test_production_refuses_to_start_with_a_console_backend(name, backend):
    result = run_python(SETUP + "print('started')", "config.settings.production",
                        **{**production_env(), name: backend})  # fmt: skip

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and name in result.stderr


def test_production_refuses_to_start_with_the_defaults_for_both_backends():
    env = production_env()
    del env["EMAIL_BACKEND"], env["SMS_BACKEND"]

    result = run_python(SETUP + "print('started')", "config.settings.production", **env)

    assert result.returncode != 0


@pytest.mark.parametrize(
    ("masked", "expected"),
    [(mask_phone("+447700900123"), "+44*******123"), (mask_email("bob@x.org"), "b***@x.org")],
)
def test_masks_keep_only_enough_to_tell_two_apart(masked, expected):
    assert masked == expected


# The worker process against a real PostgreSQL that is stopped and started ---------------------

BOOK = """
import uuid
from booking.services import Actor, book_appointment
from booking.models import Notification
from tests.factories import ClinicianFactory, PatientFactory, PracticeFactory, free_slot
unique = uuid.uuid4().hex[:8]
practice = PracticeFactory(ods_code=unique[:6].upper())
patient = PatientFactory(
    email=f"p{unique}@example.com", profile__registered_practice=practice, profile__nhs_number=None
)
booked = book_appointment(
    actor=Actor(user=patient),
    slot_id=free_slot(
        practice,
        clinician=ClinicianFactory(practice=practice, user__email=f"c{unique}@example.com"),
    ).pk,
)
print(Notification.objects.get(appointment=booked).pk)
"""


def status_of(url: str, notification_id: str) -> str | None:
    try:
        with psycopg.connect(url.replace("postgres://", "postgresql://", 1)) as conn:
            row = conn.execute(
                "SELECT status FROM booking_notification WHERE id = %s", [notification_id]
            ).fetchone()
    except psycopg.OperationalError:
        return None
    return row[0] if row else None


def wait_for_status(url: str, notification_id: str, status: str, seconds: float) -> str | None:
    deadline = time.monotonic() + seconds
    while (seen := status_of(url, notification_id)) != status and time.monotonic() < deadline:
        time.sleep(0.2)
    return seen


@pytest.fixture
def worker_stack(tmp_path):
    """A private PostgreSQL we can stop, migrated; ``manage`` runs commands against it."""
    pgdata = tmp_path / "pgdata"
    holder, url = hold_database(pgdata)
    holders = [holder]
    env = server_env(url, PYTHONPATH=str(ROOT))

    def manage(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
            text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""

    manage("migrate", "--noinput")
    yield pgdata, url, manage, env, holders
    for process in reversed(holders):
        process.stdin.close()
        process.wait(timeout=30)


def test_the_worker_resends_an_abandoned_send_and_outlives_a_database_restart(worker_stack):
    pgdata, url, manage, env, holders = worker_stack
    abandoned = manage("shell", "-c", BOOK)
    # A worker died after marking it "sending": its task is gone, the mark is two minutes old.
    with psycopg.connect(url.replace("postgres://", "postgresql://", 1)) as conn:
        conn.execute(
            "UPDATE booking_notification SET status = 'sending', "
            "next_attempt_at = now() - interval '1 second' WHERE id = %s",
            [abandoned],
        )
        conn.execute("DELETE FROM django_tasks_database_dbtaskresult")
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "notifications_worker", "--interval", "0.2",
         "--sweep-seconds", "1"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        resent = wait_for_status(url, abandoned, "sent", seconds=20)
        stop_database(pgdata)
        time.sleep(3)
        alive_during_outage = worker.poll() is None
        holder, _ = hold_database(pgdata)
        holders.append(holder)
        after_restart = manage("shell", "-c", BOOK)
        sent_after_restart = wait_for_status(url, after_restart, "sent", seconds=45)
        alive_after = worker.poll() is None
    finally:
        worker.terminate()
        worker.wait(timeout=20)

    assert resent == "sent"
    assert alive_during_outage and alive_after
    assert sent_after_restart == "sent"
