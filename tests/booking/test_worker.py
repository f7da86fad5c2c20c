"""The notification worker's edges (issue 17.11): no personal data in logs, no console
backend in production, stale sends picked up by the worker itself, database restarts survived."""

import pytest
from django.core import mail

from booking.notifications import email_backends, sms
from booking.notifications.redact import mask_email, mask_phone
from tests.config.test_settings import SETUP, production_env, run_python

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
