"""Email verification and password reset, end to end: through the API, the outbox, the worker
and the email it sends, whose link is followed as a patient would.

Personas: alice is a verified patient at Riverside; dave is Riverside's administrator;
"new@example.com" is someone signing up.
"""

import datetime as dt
import re
import uuid
from urllib.parse import parse_qs, urlparse

import pytest
from django.core import mail
from django.urls import reverse

from accounts import emails, services
from accounts.api.views import REGISTRATION_RECEIVED, RESET_REQUESTED
from accounts.models import AccountEmail, AuditEvent, LoginLockout, PatientProfile, User
from accounts.verification import LINK_INVALID
from booking.models import Appointment
from booking.services.rules import EMAIL_NOT_VERIFIED
from tests.concurrency import run_concurrently
from tests.conftest import client_for
from tests.factories import DEFAULT_PASSWORD, PatientFactory, fake_nhs_number, free_slot
from tests.security.test_limits import with_rates
from tests.tasks import run_worker

pytestmark = pytest.mark.django_db

STRONG = "Tr1cky-Pass!"
NEW_PASSWORD = "An0ther-Secret!"
BOOK = reverse("booking:appointment-list")


@pytest.fixture
def send(django_capture_on_commit_callbacks):
    """Make a request as the API would, then let the worker send what it queued."""

    def call(client, name, body=None):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse(name), body or {}, format="json")
        run_worker()
        return response

    return call


def register(send, client, **fields):
    body = {"email": "new@example.com", "password": STRONG, **fields}
    return send(client, "accounts:register", body)


def emails_to(address):
    return [m for m in mail.outbox if m.to == [address]]


def token_in(message, path):
    (url,) = re.findall(rf"https?://\S+{re.escape(path)}\?\S+", message.body)
    return parse_qs(urlparse(url).query)["token"][0]


def log_in(api, email, password=DEFAULT_PASSWORD):
    return api.post(
        reverse("accounts:login"), {"email": email, "password": password}, format="json"
    )


# Registration answers alike --------------------------------------------------------------


def test_a_new_address_gets_an_unverified_account_and_a_verification_link(api, send):
    response = register(send, api)

    assert response.status_code == 202
    assert response.json() == {"detail": REGISTRATION_RECEIVED}
    user = User.objects.get(email="new@example.com")
    assert user.email_verified is False
    (message,) = emails_to("new@example.com")
    assert message.subject == emails.SUBJECTS[AccountEmail.Kind.VERIFY_EMAIL]
    assert token_in(message, emails.VERIFY_PATH)


def test_a_taken_address_answers_exactly_as_a_new_one_and_its_owner_is_told(api, send, alice):
    new = register(send, api, email="someone.new@example.com")
    taken = register(send, api, email="Alice@Example.com")

    assert (taken.status_code, taken.json()) == (new.status_code, new.json())
    assert User.objects.filter(email="alice@example.com").count() == 1
    (notice,) = emails_to("alice@example.com")
    assert notice.subject == emails.SUBJECTS[AccountEmail.Kind.ACCOUNT_EXISTS]
    # Alice has confirmed her address: the notice carries no link that signs anyone in.
    assert emails.VERIFY_PATH not in notice.body
    assert emails.RESET_PATH not in notice.body


def test_a_taken_nhs_number_answers_exactly_as_a_new_one_and_its_holder_is_told(api, send, alice):
    new = register(send, api, email="first@example.com", nhs_number=fake_nhs_number())
    taken = register(send, api, nhs_number=alice.patient_profile.nhs_number)

    assert (taken.status_code, taken.json()) == (new.status_code, new.json())
    assert not User.objects.filter(email="new@example.com").exists()
    assert emails_to("new@example.com") == []
    (notice,) = emails_to("alice@example.com")
    assert notice.subject == emails.SUBJECTS[AccountEmail.Kind.NHS_NUMBER_IN_USE]


def test_an_unverified_owner_of_a_taken_address_is_sent_a_fresh_link(api, send):
    register(send, api)
    mail.outbox.clear()

    register(send, api, password="Different-Pass-9")

    (notice,) = emails_to("new@example.com")
    assert notice.subject == emails.SUBJECTS[AccountEmail.Kind.ACCOUNT_EXISTS]
    assert token_in(notice, emails.VERIFY_PATH)
    # The second attempt's password did not replace the first.
    assert User.objects.get(email="new@example.com").check_password(STRONG)


def test_repeated_sign_ups_for_a_taken_address_send_one_notice_per_interval(api, send, alice):
    for _ in range(3):
        register(send, api, email="alice@example.com")

    assert len(emails_to("alice@example.com")) == 1


def test_the_outbox_holds_no_link(api, send):
    register(send, api)

    token = token_in(emails_to("new@example.com")[0], emails.VERIFY_PATH)
    row = AccountEmail.objects.values().get()
    assert all(token not in str(value) for value in row.values())


# Verification ----------------------------------------------------------------------------


def test_the_emailed_link_confirms_the_address_and_then_the_patient_can_book(api, send, riverside):
    slot = free_slot(riverside)
    register(send, api, practice_id=riverside.ods_code)
    token = token_in(emails_to("new@example.com")[0], emails.VERIFY_PATH)

    confirmed = send(api, "accounts:verify-email", {"token": token})
    tokens = log_in(api, "new@example.com", STRONG).json()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    booked = api.post(BOOK, {"slot_id": str(slot.pk)}, format="json")

    assert confirmed.status_code == 200
    assert booked.status_code == 201, booked.json()
    assert User.objects.get(email="new@example.com").email_verified is True
    assert AuditEvent.objects.filter(action="account.email_verified").count() == 1


def test_an_unverified_patient_signs_in_but_cannot_book(api, send, riverside):
    slot = free_slot(riverside)
    register(send, api, practice_id=riverside.ods_code)
    tokens = log_in(api, "new@example.com", STRONG).json()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")

    response = api.post(
        reverse("booking:appointment-list"), {"slot_id": str(slot.pk)}, format="json"
    )

    assert response.status_code == 403
    assert response.json()["code"] == "email_not_verified"
    assert response.json()["detail"] == EMAIL_NOT_VERIFIED
    assert not Appointment.objects.exists()


def test_practice_staff_can_book_for_a_patient_who_has_not_confirmed(riverside, dave):
    patient = PatientFactory(email_verified_at=None, profile__registered_practice=riverside)
    slot = free_slot(riverside)

    response = client_for(dave).post(
        BOOK,
        {"slot_id": str(slot.pk), "patient_id": str(patient.pk)},
        format="json",
    )

    assert response.status_code == 201, response.json()


@pytest.mark.parametrize("damage", ["tampered", "other-salt", "garbage"])
def test_a_forged_verification_link_is_refused(api, send, damage):
    register(send, api)
    user = User.objects.get(email="new@example.com")
    token = {
        "tampered": emails.verification_token(user)[:-2] + "xx",
        "other-salt": emails.password_reset_token(user),
        "garbage": "not-a-token",
    }[damage]

    response = send(api, "accounts:verify-email", {"token": token})

    assert response.status_code == 400
    assert response.json()["code"] == "link_invalid"
    assert response.json()["errors"]["token"] == [LINK_INVALID]
    assert User.objects.get(pk=user.pk).email_verified is False


def test_a_verification_link_expires(api, send, settings, monkeypatch):
    register(send, api)
    token = token_in(emails_to("new@example.com")[0], emails.VERIFY_PATH)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(
        hours=settings.EMAIL_VERIFICATION_HOURS, minutes=1
    )
    monkeypatch.setattr("django.core.signing.time.time", later.timestamp)

    response = send(api, "accounts:verify-email", {"token": token})

    assert response.status_code == 400
    assert User.objects.get(email="new@example.com").email_verified is False


def test_a_link_for_an_address_since_changed_is_refused(api, send):
    register(send, api)
    user = User.objects.get(email="new@example.com")
    token = emails.verification_token(user)
    User.objects.filter(pk=user.pk).update(email="changed@example.com")

    assert send(api, "accounts:verify-email", {"token": token}).status_code == 400


def test_a_signed_in_patient_can_ask_for_a_new_link_until_confirmed(send, alice):
    unverified = PatientFactory(email_verified_at=None)

    again = send(client_for(unverified), "accounts:verify-email-resend")
    already = send(client_for(alice), "accounts:verify-email-resend")

    assert (again.status_code, already.status_code) == (202, 202)
    assert len(emails_to(unverified.email)) == 1
    assert emails_to("alice@example.com") == []


def test_a_verification_email_for_an_address_confirmed_meanwhile_is_not_sent(db):
    user = PatientFactory(email_verified_at=None)
    emails.queue(user, AccountEmail.Kind.VERIFY_EMAIL)
    User.objects.filter(pk=user.pk).update(email_verified_at=dt.datetime.now(dt.UTC))
    row = AccountEmail.objects.get(user=user)

    assert emails.deliver(row.pk) == "sent"
    assert emails_to(user.email) == []
    assert AccountEmail.objects.get(pk=row.pk).provider_message_id == emails.SKIPPED_VERIFIED


# Password reset --------------------------------------------------------------------------


def test_a_reset_request_answers_alike_for_known_and_unknown_addresses(api, send, alice):
    known = send(api, "accounts:password-reset", {"email": "ALICE@example.com"})
    unknown = send(api, "accounts:password-reset", {"email": "nobody@example.com"})

    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
    assert known.json() == {"detail": RESET_REQUESTED}
    assert len(emails_to("alice@example.com")) == 1
    assert emails_to("nobody@example.com") == []


def test_the_emailed_reset_link_sets_the_password_signs_out_everywhere_and_tells_the_owner(
    api, send, alice
):
    old_refresh = log_in(api, alice.email).json()["refresh"]
    send(api, "accounts:password-reset", {"email": alice.email})
    token = token_in(emails_to(alice.email)[0], emails.RESET_PATH)
    mail.outbox.clear()

    response = send(
        api, "accounts:password-reset-confirm", {"token": token, "password": NEW_PASSWORD}
    )

    assert response.status_code == 200
    assert log_in(api, alice.email).status_code == 401
    assert log_in(api, alice.email, NEW_PASSWORD).status_code == 200
    refreshed = api.post(reverse("accounts:refresh"), {"refresh": old_refresh}, format="json")
    assert refreshed.status_code == 401
    (told,) = emails_to(alice.email)
    assert told.subject == emails.SUBJECTS[AccountEmail.Kind.PASSWORD_CHANGED]
    assert AuditEvent.objects.filter(action="account.password_reset", patient=alice).count() == 1


def test_a_reset_link_works_once(api, send, alice):
    send(api, "accounts:password-reset", {"email": alice.email})
    token = token_in(emails_to(alice.email)[0], emails.RESET_PATH)
    send(api, "accounts:password-reset-confirm", {"token": token, "password": NEW_PASSWORD})

    again = send(
        api, "accounts:password-reset-confirm", {"token": token, "password": "Third-Pass-77"}
    )

    assert again.status_code == 400
    assert again.json()["code"] == "link_invalid"
    assert User.objects.get(pk=alice.pk).check_password(NEW_PASSWORD)


def test_a_reset_link_expires(api, send, alice, settings, monkeypatch):
    send(api, "accounts:password-reset", {"email": alice.email})
    token = token_in(emails_to(alice.email)[0], emails.RESET_PATH)
    # The token generator counts in naive local time.
    later = emails.password_reset_tokens._now() + dt.timedelta(
        seconds=settings.PASSWORD_RESET_TIMEOUT + 60
    )
    monkeypatch.setattr(emails.password_reset_tokens, "_now", lambda: later)

    response = send(
        api, "accounts:password-reset-confirm", {"token": token, "password": NEW_PASSWORD}
    )

    assert response.status_code == 400
    assert User.objects.get(pk=alice.pk).check_password(DEFAULT_PASSWORD)


def test_a_weak_new_password_is_refused_and_the_link_still_works(api, send, alice):
    send(api, "accounts:password-reset", {"email": alice.email})
    token = token_in(emails_to(alice.email)[0], emails.RESET_PATH)

    weak = send(api, "accounts:password-reset-confirm", {"token": token, "password": "short"})
    strong = send(
        api, "accounts:password-reset-confirm", {"token": token, "password": NEW_PASSWORD}
    )

    assert weak.status_code == 422
    assert weak.json()["code"] == "weak_password"
    assert strong.status_code == 200


def test_a_reset_lifts_the_accounts_sign_in_lock_and_confirms_the_address(api, send):
    patient = PatientFactory(email_verified_at=None)
    for _ in range(6):
        log_in(api, patient.email, "Wrong-Pass-1")
    assert LoginLockout.objects.get(email=patient.email).locked_until is not None
    send(api, "accounts:password-reset", {"email": patient.email})
    token = token_in(emails_to(patient.email)[0], emails.RESET_PATH)

    send(api, "accounts:password-reset-confirm", {"token": token, "password": NEW_PASSWORD})

    assert log_in(api, patient.email, NEW_PASSWORD).status_code == 200
    assert User.objects.get(pk=patient.pk).email_verified is True


def test_a_reset_link_for_someone_else_cannot_be_made_from_a_real_one(api, send, alice, bob):
    send(api, "accounts:password-reset", {"email": alice.email})
    token = token_in(emails_to(alice.email)[0], emails.RESET_PATH)
    _, _, secret = token.partition(".")
    forged = f"{emails.password_reset_token(bob).partition('.')[0]}.{secret}"

    response = send(
        api, "accounts:password-reset-confirm", {"token": forged, "password": NEW_PASSWORD}
    )

    assert response.status_code == 400
    assert User.objects.get(pk=bob.pk).check_password(DEFAULT_PASSWORD)


# Limits ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("accounts:password-reset", {"email": "alice@example.com"}),
        ("accounts:password-reset-confirm", {"token": "x.y", "password": NEW_PASSWORD}),
        ("accounts:verify-email", {"token": "x"}),
    ],
)
def test_account_email_requests_are_rate_limited_per_client(api, send, settings, name, body):
    with_rates(settings, account_email="2/min")
    send(api, name, body)
    send(api, name, body)

    response = send(api, name, body)

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0


def test_reset_emails_to_one_account_are_capped_per_interval(api, send, alice):
    for _ in range(4):
        send(api, "accounts:password-reset", {"email": alice.email})

    assert len(emails_to(alice.email)) == 1


def test_the_new_account_and_its_verification_email_commit_together(monkeypatch, api):
    def broken(*args, **kwargs):
        raise RuntimeError("outbox unavailable")

    monkeypatch.setattr(services.emails, "queue", broken)

    with pytest.raises(RuntimeError):
        services.register_patient(email="new@example.com", password=STRONG)

    assert not User.objects.filter(email="new@example.com").exists()
    assert not PatientProfile.objects.exists()


def test_no_account_email_is_written_for_an_unknown_user_id(db):
    assert emails.deliver(uuid.uuid4()) == "missing"


@pytest.mark.django_db(transaction=True)
def test_two_sign_ups_racing_for_one_address_make_one_account_and_no_error():
    results = run_concurrently(
        lambda password: services.register_patient(email="race@example.com", password=password),
        [STRONG, "Other-Pass-99"],
    )

    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sum(isinstance(r, User) for r in results) == 1
    assert sorted(AccountEmail.objects.values_list("kind", flat=True)) == [
        AccountEmail.Kind.ACCOUNT_EXISTS,
        AccountEmail.Kind.VERIFY_EMAIL,
    ]


def test_an_account_email_whose_task_was_lost_is_sent_by_the_sweep(alice):
    # Outside django_capture_on_commit_callbacks the after-commit enqueue never runs: lost.
    emails.queue(alice, AccountEmail.Kind.PASSWORD_RESET)
    AccountEmail.objects.update(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2))

    requeued = emails.requeue_due()
    run_worker()

    assert requeued == 1
    assert len(emails_to(alice.email)) == 1
    assert AccountEmail.objects.get().status == AccountEmail.Status.SENT
