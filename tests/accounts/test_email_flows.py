"""Email verification and password reset, end to end: through the API, the outbox, the worker
and the email it sends, whose link is followed as a patient would.

Personas: alice is a patient at Riverside who confirmed her address; dave is Riverside's
administrator; "new@example.com" is someone signing up; mallory (mallory@example.com) probes
for who is registered, with a mailbox of her own.
"""

import datetime as dt
import re
import threading
import uuid
from urllib.parse import parse_qs, urlparse

import pytest
from django.core import mail, signing
from django.urls import reverse
from rest_framework.test import APIClient

from accounts import emails, services
from accounts.api.views import REGISTRATION_RECEIVED, RESET_REQUESTED
from accounts.models import AccountEmail, AuditEvent, LoginLockout, PatientProfile, User
from accounts.verification import CONFIRMATION_REFUSED, LINK_INVALID
from booking.models import Appointment
from booking.services.rules import EMAIL_NOT_VERIFIED
from core.exceptions import DomainError
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


def confirm(send, client, token, password=STRONG):
    return send(client, "accounts:verify-email", {"token": token, "password": password})


def log_in(api, email, password=DEFAULT_PASSWORD):
    return api.post(
        reverse("accounts:login"), {"email": email, "password": password}, format="json"
    )


# Registration answers alike --------------------------------------------------------------


def test_a_new_address_gets_an_unconfirmed_account_and_a_link_to_confirm_it(api, send):
    response = register(send, api)

    assert response.status_code == 202
    assert response.json() == {"detail": REGISTRATION_RECEIVED}
    user = User.objects.get(email="new@example.com")
    assert user.email_verified is False
    (message,) = emails_to("new@example.com")
    assert message.subject == emails.SUBJECTS[AccountEmail.Kind.VERIFY_EMAIL]
    assert token_in(message, emails.VERIFY_PATH)


def test_a_taken_address_answers_as_a_new_one_and_its_owner_is_told(api, send, alice):
    new = register(send, api, email="someone.new@example.com")
    taken = register(send, api, email="Alice@Example.com")

    assert (taken.status_code, taken.json()) == (new.status_code, new.json())
    assert User.objects.filter(email="alice@example.com").count() == 1
    (notice,) = emails_to("alice@example.com")
    assert notice.subject == emails.SUBJECTS[AccountEmail.Kind.ACCOUNT_EXISTS]
    # Alice has confirmed her address: the notice carries no link that acts on the account.
    assert emails.VERIFY_PATH not in notice.body
    assert emails.RESET_PATH not in notice.body


def test_signing_in_after_a_sign_up_does_not_tell_a_taken_address_from_a_new_one(api, send, alice):
    # Mallory signs up with her password, then tries it: a new address must not let her in
    # (it would prove the address was free), exactly as a taken one does not.
    register(send, api, email="free@example.com", password=STRONG)
    register(send, api, email="alice@example.com", password=STRONG)

    free = log_in(api, "free@example.com", STRONG)
    taken = log_in(api, "alice@example.com", STRONG)

    assert (free.status_code, free.json()) == (taken.status_code, taken.json())
    assert free.status_code == 401
    assert free.json()["detail"] == services.INVALID_CREDENTIALS


def test_a_taken_nhs_number_answers_as_a_new_one_in_every_way_mallory_can_see(api, send, alice):
    free_number = fake_nhs_number()
    taken_number = alice.patient_profile.nhs_number

    free = register(send, api, email="m1@example.com", nhs_number=free_number)
    taken = register(send, api, email="m2@example.com", nhs_number=taken_number)

    assert (taken.status_code, taken.json()) == (free.status_code, free.json())
    # Her two mailboxes get the same email...
    assert [m.subject for m in emails_to("m1@example.com")] == [
        m.subject for m in emails_to("m2@example.com")
    ]
    # ... and her two accounts show the same, once confirmed.
    seen = []
    for email in ("m1@example.com", "m2@example.com"):
        confirm(send, api, token_in(emails_to(email)[0], emails.VERIFY_PATH))
        access = log_in(api, email, STRONG).json()["access"]
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
        me = api.get(reverse("accounts:me")).json()
        api.credentials()
        seen.append((me["nhs_number_confirmed"], me["nhs_number"] in (free_number, taken_number)))
    assert seen[0] == seen[1] == (False, True)
    # Alice, the confirmed holder, is told; her number stays hers alone.
    (notice,) = emails_to("alice@example.com")
    assert notice.subject == emails.SUBJECTS[AccountEmail.Kind.NHS_NUMBER_IN_USE]
    assert PatientProfile.objects.get(user=alice).nhs_number_confirmed


def test_an_unconfirmed_owner_of_a_taken_address_is_sent_a_fresh_link(api, send):
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


def test_the_outbox_holds_no_link_and_the_token_shows_no_address(api, send):
    register(send, api)

    token = token_in(emails_to("new@example.com")[0], emails.VERIFY_PATH)
    row = AccountEmail.objects.values().get()
    assert all(token not in str(value) for value in row.values())
    payload = token.split(":")[0]
    assert "new@example.com" not in str(signing.b64_decode(payload.encode()))


# Confirming the address ------------------------------------------------------------------


def test_the_emailed_link_and_the_password_confirm_the_address_and_then_the_patient_books(
    api, send, riverside
):
    slot = free_slot(riverside)
    register(send, api, practice_id=riverside.ods_code)
    token = token_in(emails_to("new@example.com")[0], emails.VERIFY_PATH)

    confirmed = confirm(send, api, token)
    tokens = log_in(api, "new@example.com", STRONG).json()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    booked = api.post(BOOK, {"slot_id": str(slot.pk)}, format="json")

    assert confirmed.status_code == 200
    assert booked.status_code == 201, booked.json()
    assert User.objects.get(email="new@example.com").email_verified is True
    assert AuditEvent.objects.filter(action="account.email_verified").count() == 1


def test_the_owner_of_a_mailbox_cannot_confirm_an_account_a_stranger_made_with_it(api, send):
    # Mallory signs up with the victim's address and her own password, hoping the victim
    # follows the link and so hands her a confirmed account.
    register(send, api, email="victim@example.com", password=STRONG)
    token = token_in(emails_to("victim@example.com")[0], emails.VERIFY_PATH)

    response = confirm(send, api, token, password="Victims-Own-Pass-1")

    assert response.status_code == 401
    assert response.json()["errors"]["password"] == [CONFIRMATION_REFUSED]
    assert User.objects.get(email="victim@example.com").email_verified is False
    assert LoginLockout.objects.get(email="victim@example.com").failed_attempts == 1


def test_an_unconfirmed_patient_holding_tokens_still_cannot_book(riverside):
    # Tokens from elsewhere (Cognito with an unconfirmed address): the booking rule holds too.
    patient = PatientFactory(email_verified_at=None, profile__registered_practice=riverside)
    slot = free_slot(riverside)

    response = client_for(patient).post(BOOK, {"slot_id": str(slot.pk)}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "email_not_verified"
    assert response.json()["detail"] == EMAIL_NOT_VERIFIED
    assert not Appointment.objects.exists()


def test_practice_staff_can_book_for_a_patient_who_has_not_confirmed(riverside, dave):
    patient = PatientFactory(email_verified_at=None, profile__registered_practice=riverside)
    slot = free_slot(riverside)

    response = client_for(dave).post(
        BOOK, {"slot_id": str(slot.pk), "patient_id": str(patient.pk)}, format="json"
    )

    assert response.status_code == 201, response.json()


@pytest.mark.parametrize("damage", ["tampered", "other-salt", "reset-token", "garbage"])
def test_a_forged_verification_link_is_refused(api, send, damage):
    register(send, api)
    user = User.objects.get(email="new@example.com")
    genuine = emails.verification_token(user)
    token = {
        "tampered": genuine[:-2] + ("xx" if not genuine.endswith("xx") else "yy"),
        "other-salt": signing.dumps(signing.loads(genuine, salt=emails.VERIFY_SALT), salt="x"),
        "reset-token": emails.password_reset_token(user),
        "garbage": "not-a-token",
    }[damage]

    response = confirm(send, api, token)

    assert response.status_code == 422
    assert response.json()["code"] == "link_invalid"
    assert response.json()["errors"]["token"] == [LINK_INVALID]
    assert User.objects.get(pk=user.pk).email_verified is False


def test_a_verification_link_expires(api, send, settings, monkeypatch):
    register(send, api)
    token = token_in(emails_to("new@example.com")[0], emails.VERIFY_PATH)
    lifetime = dt.timedelta(hours=settings.EMAIL_VERIFICATION_HOURS, minutes=1)
    later = dt.datetime.now(dt.UTC) + lifetime
    monkeypatch.setattr("django.core.signing.time.time", later.timestamp)

    response = confirm(send, api, token)

    assert response.status_code == 422
    assert User.objects.get(email="new@example.com").email_verified is False


def test_a_link_for_an_address_since_changed_is_refused(api, send):
    register(send, api)
    user = User.objects.get(email="new@example.com")
    token = emails.verification_token(user)
    User.objects.filter(pk=user.pk).update(email="changed@example.com")

    assert confirm(send, api, token).status_code == 422


def test_a_new_link_is_sent_only_to_an_unconfirmed_account_and_the_answer_is_alike(
    api, send, alice
):
    unconfirmed = PatientFactory(email_verified_at=None)
    name = "accounts:verify-email-resend"

    answers = [
        send(api, name, {"email": email})
        for email in (unconfirmed.email, "alice@example.com", "nobody@example.com")
    ]

    assert len({(a.status_code, a.content) for a in answers}) == 1
    assert answers[0].status_code == 202
    assert len(emails_to(unconfirmed.email)) == 1
    assert emails_to("alice@example.com") == emails_to("nobody@example.com") == []


def test_a_verification_email_for_an_address_confirmed_meanwhile_is_not_sent(db):
    user = PatientFactory(email_verified_at=None)
    emails.queue(user, AccountEmail.Kind.VERIFY_EMAIL)
    User.objects.filter(pk=user.pk).update(email_verified_at=dt.datetime.now(dt.UTC))
    row = AccountEmail.objects.get(user=user)

    assert emails.deliver(row.pk) == "sent"
    assert emails_to(user.email) == []
    assert AccountEmail.objects.get(pk=row.pk).provider_message_id == emails.SKIPPED_VERIFIED


def test_an_account_email_is_not_sent_to_an_address_the_account_no_longer_has(alice):
    emails.queue(alice, AccountEmail.Kind.PASSWORD_RESET)
    User.objects.filter(pk=alice.pk).update(email="alice.new@example.com")

    emails.deliver(AccountEmail.objects.get().pk)

    assert mail.outbox == []
    assert AccountEmail.objects.get().provider_message_id == emails.SKIPPED_READDRESSED


# NHS numbers: a claim until the practice confirms it -----------------------------------


def test_the_practice_confirms_a_claimed_nhs_number_and_it_becomes_the_patients_alone(dave):
    number = fake_nhs_number()
    first = PatientFactory(profile__nhs_number=number, profile__nhs_number_confirmed_at=None)
    second = PatientFactory(profile__nhs_number=number, profile__nhs_number_confirmed_at=None)

    services.confirm_nhs_number(actor=dave, patient=first)

    with pytest.raises(DomainError) as refused:
        services.confirm_nhs_number(actor=dave, patient=second)
    assert refused.value.code == "nhs_number_taken"
    assert PatientProfile.objects.get(user=first).nhs_number_confirmed
    assert not PatientProfile.objects.get(user=second).nhs_number_confirmed
    assert AuditEvent.objects.filter(action="profile.nhs_number_confirmed", patient=first).exists()


def test_the_database_refuses_a_second_confirmed_holder_of_an_nhs_number(alice, bob):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        PatientProfile.objects.filter(user=bob).update(nhs_number=alice.patient_profile.nhs_number)


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

    assert again.status_code == 422
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

    assert response.status_code == 422
    assert User.objects.get(pk=alice.pk).check_password(DEFAULT_PASSWORD)


def test_a_verification_link_does_not_reset_a_password(api, send, alice):
    token = emails.verification_token(alice)

    response = send(
        api, "accounts:password-reset-confirm", {"token": token, "password": NEW_PASSWORD}
    )

    assert response.status_code == 422
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

    assert response.status_code == 422
    assert User.objects.get(pk=bob.pk).check_password(DEFAULT_PASSWORD)


def test_an_account_without_a_password_of_ours_resets_here_only_without_cognito(
    api, send, settings
):
    made_by_staff = PatientFactory(password=None)  # an unusable password
    send(api, "accounts:password-reset", {"email": made_by_staff.email})
    settings.COGNITO_USER_POOL_ID = "eu-west-2_AbCdEf123"
    mail.outbox.clear()
    send(api, "accounts:password-reset", {"email": made_by_staff.email})

    assert AccountEmail.objects.filter(user=made_by_staff).count() == 1  # the first only
    assert emails_to(made_by_staff.email) == []


# Limits ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("accounts:password-reset", {"email": "alice@example.com"}),
        ("accounts:password-reset-confirm", {"token": "x.y", "password": NEW_PASSWORD}),
        ("accounts:verify-email", {"token": "x", "password": STRONG}),
        ("accounts:verify-email-resend", {"email": "alice@example.com"}),
    ],
)
def test_account_email_requests_are_rate_limited_per_client_address(
    api, send, settings, name, body
):
    with_rates(settings, account_email="2/min")
    send(api, name, body)
    send(api, name, body)

    refused = send(api, name, body)
    elsewhere = send(APIClient(REMOTE_ADDR="192.0.2.99"), name, body)

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert elsewhere.status_code != 429


def test_reset_emails_to_one_account_are_capped_per_interval(api, send, alice):
    for _ in range(4):
        send(api, "accounts:password-reset", {"email": alice.email})

    assert len(emails_to(alice.email)) == 1


def test_the_new_account_and_its_verification_email_commit_together(monkeypatch):
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
def test_two_sign_ups_racing_for_one_address_make_one_account_and_tell_the_owner(monkeypatch):
    # Both see the address free (the check is skipped once per thread), so both insert and
    # the unique index decides: the loser must tell the winner's owner, not fail.
    real = services._tell_owner_of
    seen: set[int] = set()

    def first_check_finds_nothing(email):
        if threading.get_ident() not in seen:
            seen.add(threading.get_ident())
            return False
        return real(email)

    monkeypatch.setattr(services, "_tell_owner_of", first_check_finds_nothing)

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


def test_an_unconfirmed_patients_right_password_locks_like_a_wrong_one(api, settings):
    # Otherwise "never locked" would tell Mallory her sign-up made the account.
    patient = PatientFactory(email_verified_at=None)
    for _ in range(settings.LOGIN_LOCKOUT_THRESHOLD):
        assert log_in(api, patient.email).status_code == 401

    assert log_in(api, patient.email).status_code == 429


def confirm_in_admin(client, *patients):
    return client.post(
        reverse("admin:booking_patientproxy_changelist"),
        {"action": "confirm_nhs_number", "_selected_action": [p.pk for p in patients]},
        follow=True,
    )


def test_a_practice_administrator_confirms_nhs_numbers_in_the_admin(client, dave, riverside):
    number = fake_nhs_number()
    claimed = PatientFactory(
        profile__registered_practice=riverside,
        profile__nhs_number=number,
        profile__nhs_number_confirmed_at=None,
    )
    rival = PatientFactory(
        profile__registered_practice=riverside,
        profile__nhs_number=number,
        profile__nhs_number_confirmed_at=None,
    )
    client.force_login(dave)

    page = confirm_in_admin(client, claimed, rival)

    confirmed = PatientProfile.objects.filter(
        nhs_number=number, nhs_number_confirmed_at__isnull=False
    )
    assert confirmed.count() == 1
    assert "Confirmed the NHS number of 1 patients." in page.text
    assert "already linked to an account" in page.text  # the other one, refused with a reason


@pytest.mark.parametrize("name", ["accounts:password-reset", "accounts:verify-email-resend"])
def test_an_address_longer_than_the_schema_allows_is_refused_even_with_padding(api, name):
    # Found by Schemathesis: a tab in front made 255 characters pass as 254 once trimmed.
    response = api.post(reverse(name), {"email": "\t" + "x" * 254}, format="json")

    assert response.status_code == 400
    assert "email" in response.json()["errors"]
