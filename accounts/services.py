"""State changes for accounts: registration, sign-in with lockout, profile updates."""

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

import jwt
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from core.exceptions import (
    Conflict,
    InvalidInput,
    NotAuthenticated,
    RuleViolation,
    TooManyRequests,
)

from . import emails
from .audit import record_event
from .models import (
    STAFF_GROUPS,
    AccountEmail,
    AddressLockout,
    LoginLockout,
    PatientProfile,
    Role,
    User,
    normalise_email,
)
from .nhs import without_invisible_characters
from .tokens import FAMILY_CLAIM, RefreshToken, TokenSet, issue_tokens, token_backend

NHS_NUMBER_TAKEN = (
    "This NHS number is already linked to an account. Please contact your GP practice."
)
NHS_NUMBER_LOCKED = "Your NHS number cannot be changed online. Please contact your GP practice."
NO_NHS_NUMBER = "This patient has no NHS number to confirm."
ROLE_NOT_ALLOWED = (
    "Only patients can register themselves; staff accounts are created by a practice administrator."
)
# Also the answer to a self-registered patient who has not confirmed their address: a
# different one would tell a stranger that the sign-up they just sent made an account.
INVALID_CREDENTIALS = (
    "Incorrect email address or password. If you have just registered, first confirm your "
    "email address with the link we sent you."
)
ACCOUNT_LOCKED = "Too many failed sign-in attempts. Try again later."
DATE_OF_BIRTH_IN_FUTURE = "Date of birth cannot be in the future."
# Older than anyone alive: a typing slip (1800 for 1980) or a placeholder such as 0001-01-01.
OLDEST_AGE_YEARS = 130
DATE_OF_BIRTH_TOO_EARLY = f"Enter a date of birth within the last {OLDEST_AGE_YEARS} years."
SMS_NEEDS_PHONE = "Add a mobile phone number to receive text messages."
NOT_A_PATIENT = "Only patients have these details."

PROFILE_FIELDS = (
    "nhs_number",
    "date_of_birth",
    "phone",
    "address_line_1",
    "address_line_2",
    "town",
    "postcode",
    "notify_by_email",
    "notify_by_sms",
    "registered_practice",
)
USER_FIELDS = ("given_name", "family_name")


def _check_date_of_birth(value: dt.date | None) -> None:
    if value is None:
        return
    today = timezone.localdate()
    if value > today:
        raise RuleViolation(
            DATE_OF_BIRTH_IN_FUTURE,
            code="date_of_birth_in_future",
            errors={"date_of_birth": [DATE_OF_BIRTH_IN_FUTURE]},
        )
    if value < _years_before(today, OLDEST_AGE_YEARS):
        raise RuleViolation(
            DATE_OF_BIRTH_TOO_EARLY,
            code="date_of_birth_too_early",
            errors={"date_of_birth": [DATE_OF_BIRTH_TOO_EARLY]},
        )


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


def check_password_rules(password: str, *, user: User) -> None:
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise RuleViolation(
            "The password is not strong enough.",
            code="weak_password",
            errors={"password": exc.messages},
        ) from exc


@transaction.atomic
def register_patient(
    *,
    email: str,
    password: str,
    role: str = Role.PATIENT,
    given_name: str = "",
    family_name: str = "",
    profile: Mapping[str, Any] | None = None,
) -> User | None:
    """Sign a patient up: the only self-service sign-up.

    Answers alike whether or not the email or NHS number already has an account, so sign-up
    cannot be used to find out who is registered. A new address gets a new, unconfirmed
    account and a link to confirm it; a taken address gets nothing made, and its owner an
    email instead. An NHS number is stored as the patient's claim, unconfirmed, whether or not
    someone else holds it (the practice confirms it); anyone holding it is told by email.
    Returns the new account, or None when none was made. Input that is simply wrong (a weak
    password, a date of birth in the future) is refused as before: that answer depends on the
    request alone.
    """
    if role != Role.PATIENT:
        raise InvalidInput(
            ROLE_NOT_ALLOWED, code="role_not_allowed", errors={"role": [ROLE_NOT_ALLOWED]}
        )
    email = normalise_email(email)
    profile = dict(profile or {})
    _check_date_of_birth(profile.get("date_of_birth"))
    if profile.get("notify_by_sms") and not profile.get("phone"):
        raise RuleViolation(
            SMS_NEEDS_PHONE, code="sms_needs_phone", errors={"notify_by_sms": [SMS_NEEDS_PHONE]}
        )

    user = User(email=email, role=Role.PATIENT, given_name=given_name, family_name=family_name)
    check_password_rules(password, user=user)
    # Hashed whichever way this goes, so a taken address answers no faster than a new one.
    user.set_password(password)

    with transaction.atomic():
        if _tell_owner_of(email):
            return None
        try:
            with transaction.atomic():
                user.save()
                PatientProfile.objects.create(user=user, **profile)
        except IntegrityError:
            # ``unique`` on the email decides a race with a sign-up that committed meanwhile.
            if _tell_owner_of(email):
                return None
            raise
        emails.queue(user, AccountEmail.Kind.VERIFY_EMAIL)
        _tell_holders_of_nhs_number(profile.get("nhs_number"), claimed_by=user)
    return user


def _tell_owner_of(email: str) -> bool:
    """Email the owner of a taken address instead of answering the request; whether taken."""
    owner = User.objects.filter(email=email).first()
    if owner is None:
        return False
    emails.queue(owner, AccountEmail.Kind.ACCOUNT_EXISTS)
    return True


# Enough to reach the confirmed holder and a duplicate or two; not a mail-out to a crowd that
# someone made by claiming one number many times.
NHS_NUMBER_NOTICES = 3


def _tell_holders_of_nhs_number(nhs_number: str | None, *, claimed_by: User) -> None:
    """Email whoever else holds or claims ``nhs_number`` that this account claims it too."""
    if not nhs_number:
        return
    holders = (
        User.objects.filter(patient_profile__nhs_number=nhs_number)
        .exclude(pk=claimed_by.pk)
        .order_by(F("patient_profile__nhs_number_confirmed_at").asc(nulls_last=True), "date_joined")
    )
    for holder in holders[:NHS_NUMBER_NOTICES]:
        emails.queue(holder, AccountEmail.Kind.NHS_NUMBER_IN_USE)


@transaction.atomic
def confirm_nhs_number(*, actor: User, patient: User, client_address: str = "") -> None:
    """The practice has checked the patient's identity: their NHS number is confirmed, and
    theirs alone (the database refuses a second confirmed holder)."""
    profile = PatientProfile.objects.select_for_update().get(user=patient)
    if not profile.nhs_number:
        raise RuleViolation(NO_NHS_NUMBER, code="no_nhs_number")
    if profile.nhs_number_confirmed:
        return
    if (
        PatientProfile.objects.filter(
            nhs_number=profile.nhs_number, nhs_number_confirmed_at__isnull=False
        )
        .exclude(user=patient)
        .exists()
    ):
        raise Conflict(NHS_NUMBER_TAKEN, code="nhs_number_taken")
    profile.nhs_number_confirmed_at = timezone.now()
    try:
        with transaction.atomic():
            profile.save(update_fields=["nhs_number_confirmed_at"])
    except IntegrityError as exc:  # a confirmation elsewhere won the race
        raise Conflict(NHS_NUMBER_TAKEN, code="nhs_number_taken") from exc
    record_event(
        action="profile.nhs_number_confirmed",
        object_type="profile",
        object_id=patient.pk,
        patient=patient,
        actor=actor,
        source_address=client_address,
    )


@transaction.atomic
def update_profile(*, user: User, changes: Mapping[str, Any]) -> User:
    """Change the caller's own names and, for patients, their profile. Never the role."""
    profile_changes = {k: v for k, v in changes.items() if k in PROFILE_FIELDS}
    user_changes = {k: v for k, v in changes.items() if k in USER_FIELDS}
    unknown = set(changes) - set(profile_changes) - set(user_changes)
    if unknown:
        raise InvalidInput(
            "Some fields cannot be changed here.",
            errors={name: ["This field cannot be changed here."] for name in sorted(unknown)},
        )

    if profile_changes:
        if not user.is_patient:
            raise RuleViolation(
                NOT_A_PATIENT,
                code="not_a_patient",
                errors={k: [NOT_A_PATIENT] for k in profile_changes},
            )
        # Lock the profile: two concurrent edits must not interleave the SMS/phone check.
        profile = PatientProfile.objects.select_for_update().get(user=user)
        claimed = None
        if "nhs_number" in profile_changes:
            new = profile_changes["nhs_number"]
            # The practice confirmed it against the patient's identity: patients cannot swap
            # it. An unconfirmed claim can be corrected, and is never refused as taken.
            if profile.nhs_number_confirmed and new != profile.nhs_number:
                raise RuleViolation(
                    NHS_NUMBER_LOCKED,
                    code="nhs_number_locked",
                    errors={"nhs_number": [NHS_NUMBER_LOCKED]},
                )
            if new != profile.nhs_number:
                claimed = new
        _check_date_of_birth(profile_changes.get("date_of_birth"))
        for name, value in profile_changes.items():
            setattr(profile, name, value)
        if profile.notify_by_sms and not profile.phone:
            raise RuleViolation(
                SMS_NEEDS_PHONE, code="sms_needs_phone", errors={"notify_by_sms": [SMS_NEEDS_PHONE]}
            )
        profile.save()
        user.patient_profile = profile
        _tell_holders_of_nhs_number(claimed, claimed_by=user)

    if user_changes:
        for name, value in user_changes.items():
            setattr(user, name, value)
        user.save(update_fields=list(user_changes))
    return user


def log_in(*, email: str, password: str, client_address: str = "") -> User:
    """The user with these credentials: the one door for passwords, the API's and the admin's.

    Failures count towards two locks, whichever door they came through: one per email address
    (known or not, so a lock reveals no account) and one per client address (one address
    guessing at many accounts). While either is locked, even the right password is refused.
    """
    email = normalise_email(email)
    now = timezone.now()
    with transaction.atomic():
        # One attempt at a time per email address, from the lock check to the counted
        # failure: guesses sent in parallel cannot all slip past the check together.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"sign-in:{email}"]
            )
        refuse_if_locked(email=email, client_address=client_address, now=now)
        user = authenticate(email=email, password=password)
        if user is not None and may_sign_in(user):
            LoginLockout.objects.filter(email=email).delete()
            return user
        # An unconfirmed sign-up counts as a failure too, so the lock falls alike whether or
        # not the sign-up made an account.
        record_failed_sign_in(email=email, client_address=client_address, now=now)
    raise NotAuthenticated(INVALID_CREDENTIALS, code="invalid_credentials")


def may_sign_in(user: User) -> bool:
    """Self-registered patients sign in once they have confirmed their address."""
    return not user.is_patient or user.email_verified


def refuse_if_locked(*, email: str, client_address: str, now: dt.datetime) -> None:
    """TooManyRequests while this account (or, given one, this client address) is locked."""
    locks = [
        *LoginLockout.objects.filter(email=email, locked_until__gt=now),
        *AddressLockout.objects.filter(address=client_address, locked_until__gt=now),
    ]
    if locks:
        until = max(cast(dt.datetime, lock.locked_until) for lock in locks)
        raise TooManyRequests(
            ACCOUNT_LOCKED,
            code="account_locked",
            retry_after=int((until - now).total_seconds()) + 1,
        )


def record_failed_sign_in(*, email: str, client_address: str, now: dt.datetime) -> None:
    # Row locks: concurrent wrong guesses must all count, not overwrite each other.
    account, _ = LoginLockout.objects.select_for_update().get_or_create(email=email)
    if _count_failure(account, threshold=settings.LOGIN_LOCKOUT_THRESHOLD, now=now):
        user = User.objects.filter(email=email).first()
        record_event(
            action="auth.lock.account",
            object_type="account",
            object_id=user.pk if user else "",
            patient=user if user is not None and user.is_patient else None,
            source_address=client_address,
        )
    if not client_address:
        return
    address, _ = AddressLockout.objects.select_for_update().get_or_create(address=client_address)
    # Failures from one address count within a window of one lock period: a practice's
    # reception behind one NAT may make a few typos every quarter of an hour all day.
    period = dt.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    if address.window_started_at is None or now - address.window_started_at > period:
        address.failed_attempts, address.window_started_at = 0, now
    if _count_failure(address, threshold=settings.LOGIN_LOCKOUT_ADDRESS_THRESHOLD, now=now):
        record_event(
            action="auth.lock.address",
            object_type="client_address",
            object_id=client_address,
            source_address=client_address,
        )


def _count_failure(
    lockout: LoginLockout | AddressLockout, *, threshold: int, now: dt.datetime
) -> bool:
    """Count one failure; lock at the threshold. Whether this failure set the lock."""
    lockout.failed_attempts += 1
    lockout.last_failed_at = now
    locked = lockout.failed_attempts >= threshold
    if locked:
        lockout.locked_until = now + dt.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
        lockout.failed_attempts = 0
    lockout.save()
    return locked


def unlock_sign_in(*, actor: User, patient: User, client_address: str = "") -> bool:
    """Lift the lock on a patient's account (practice staff, after checking who is calling).
    Whether there was one. The client-address locks stay: they protect every account."""
    deleted, _ = LoginLockout.objects.filter(email=patient.email).delete()
    if deleted:
        record_event(
            action="auth.unlock.account",
            object_type="account",
            object_id=patient.pk,
            patient=patient,
            actor=actor,
            allowed=True,
            source_address=client_address,
        )
    return bool(deleted)


ROLE_PRECEDENCE = (Role.ADMIN, Role.CLINICIAN, Role.PATIENT)


def role_from_groups(groups: list[str] | None) -> str:
    """The role named by Cognito groups; the most privileged wins, none means patient."""
    names = set(groups or [])
    return next((role for role in ROLE_PRECEDENCE if role.value in names), Role.PATIENT)


@transaction.atomic
def provision_cognito_user(*, sub: str, role: str, attributes: Mapping[str, str]) -> User:
    """Create the local user for a Cognito user seen for the first time.

    The local id is Cognito's ``sub``. An email already held by a different local account is
    refused rather than linked: linking would let whoever controls the Cognito user take over
    the existing account.
    """
    email = normalise_email(attributes.get("email", ""))
    if not email:
        raise NotAuthenticated(
            "The user pool did not provide an email address.", code="cognito_user_invalid"
        )
    if User.objects.filter(email=email).exists():
        raise NotAuthenticated(
            "This email address belongs to another account.", code="cognito_user_conflict"
        )
    user = User(
        id=sub,
        email=email,
        role=role,
        given_name=without_invisible_characters(attributes.get("given_name", ""))[:100],
        family_name=without_invisible_characters(attributes.get("family_name", ""))[:100],
        # Cognito confirms addresses itself; we take its word, and only its "true".
        email_verified_at=timezone.now() if attributes.get("email_verified") == "true" else None,
    )
    user.set_unusable_password()
    user.save(force_insert=True)
    if user.is_patient:
        PatientProfile.objects.create(user=user)
    return user


T = TypeVar("T")

# How soon after its first use a refresh token's second use is taken for a retry, not theft.
REUSE_GRACE = dt.timedelta(seconds=30)

TOKEN_NOT_VALID = "The refresh token is invalid, expired or already used."  # noqa: S105 (a message, not a secret)


class RefreshTokenReused(NotAuthenticated):
    """A refresh token that was already used came back: two parties hold copies, one of them
    a thief. The whole family (every token since that sign-in) has been revoked. Answered like
    any invalid token; the view audits it."""

    def __init__(self, *, user: User | None, family: str | None) -> None:
        super().__init__(TOKEN_NOT_VALID, code="token_not_valid")
        self.user, self.family = user, family


def _consume_refresh_token(raw: str, *, refuse_locked: bool) -> tuple[User, RefreshToken]:
    """The refresh token's user, the token used up; with ``refuse_locked``, not while the
    account is locked (signing out always works)."""
    try:
        # Checks signature, issuer, expiry, token_use and blacklist.
        token = RefreshToken(raw)  # type: ignore[arg-type]  # simplejwt types the encoded JWT as Token
    except TokenError as exc:
        _raise_if_reused(raw)
        raise NotAuthenticated(TOKEN_NOT_VALID, code="token_not_valid") from exc
    # Row lock: two requests racing with the same refresh token must not both succeed, or a
    # stolen token could be replayed alongside the real client without either noticing.
    outstanding = OutstandingToken.objects.select_for_update().filter(jti=token["jti"]).first()
    if outstanding is None:
        raise NotAuthenticated(TOKEN_NOT_VALID, code="token_not_valid")
    if BlacklistedToken.objects.filter(token=outstanding).exists():  # used since we checked
        _raise_if_reused(raw)
        raise NotAuthenticated(TOKEN_NOT_VALID, code="token_not_valid")
    # The user's row lock orders this rotation with a revocation of the family
    # (_revoke_family): a token minted at the moment of a revocation is revoked too.
    user = User.objects.select_for_update().filter(pk=token["sub"], is_active=True).first()
    if user is None:
        raise NotAuthenticated(TOKEN_NOT_VALID, code="token_not_valid")
    # A locked account gets no new tokens either. A locked client address does: whoever holds
    # a refresh token has signed in already, and an address lock (one NAT, many people) must
    # not sign everyone behind it out.
    if refuse_locked:
        refuse_if_locked(email=user.email, client_address="", now=timezone.now())
    BlacklistedToken.objects.create(token=outstanding)
    return user, token


def _raise_if_reused(raw: str) -> None:
    """Raise RefreshTokenReused if ``raw`` is a genuine, unexpired refresh token of ours that
    was used before; return otherwise (forged, expired or malformed: merely invalid)."""
    try:
        claims = token_backend().decode(raw, verify=True)  # type: ignore[arg-type]  # simplejwt types the encoded JWT as Token
    except (TokenError, TokenBackendError):
        return
    if claims.get("token_use") != "refresh" or not claims.get("sub"):
        return
    used = BlacklistedToken.objects.filter(token__jti=claims.get("jti")).first()
    # A second use within seconds of the first is a client's retry or a second tab, not a
    # thief: refused like any used token, but the family is left alone.
    if used is not None and timezone.now() - used.blacklisted_at > REUSE_GRACE:
        user = User.objects.filter(pk=str(claims["sub"])).first()
        raise RefreshTokenReused(user=user, family=claims.get(FAMILY_CLAIM))


def _revoke_family(*, user: User | None, family: str | None) -> int:
    """Blacklist every live refresh token of ``family``; how many were live."""
    if user is None:
        return 0
    # The user's row lock: a rotation in flight (_consume_refresh_token) finishes first, and
    # the token it mints is among those revoked here.
    User.objects.select_for_update().filter(pk=user.pk).first()
    # Whoever holds the stolen or reset family may hold an access token of it too.
    end_access_tokens(user_id=user.pk)
    revoked = 0
    live = OutstandingToken.objects.filter(user=user, expires_at__gt=timezone.now()).exclude(
        blacklistedtoken__isnull=False
    )
    for outstanding in live:
        claims = jwt.decode(outstanding.token, options={"verify_signature": False})
        # Tokens issued before families existed have none: revoke them all with the family.
        if family is None or claims.get(FAMILY_CLAIM) in (family, None):
            BlacklistedToken.objects.get_or_create(token=outstanding)
            revoked += 1
    return revoked


def revoke_all_sessions(*, user: User) -> int:
    """Blacklist every live refresh token of ``user`` and end every access token (a password
    reset signs out everywhere)."""
    return _revoke_family(user=user, family=None)


def end_access_tokens(*, user_id: Any) -> None:
    """Every access token issued to the user so far stops working at their next request.

    Access tokens cannot be listed one by one (they are never stored), so signing out ends
    those of every device: the others' refresh tokens still work and fetch new ones."""
    User.objects.filter(pk=user_id).update(session_version=F("session_version") + 1)


def _with_reuse_revoking_the_family(consume: Callable[[], T]) -> T:
    try:
        with transaction.atomic():
            return consume()
    except RefreshTokenReused as reused:
        # After the failed attempt rolled back, in a transaction of its own: the revocation
        # must stand although the request fails.
        with transaction.atomic():
            _revoke_family(user=reused.user, family=reused.family)
        raise


def refresh_session(*, refresh: str) -> TokenSet:
    """New tokens for a refresh token, which is used up (rotation); the family carries on."""

    def rotate() -> TokenSet:
        user, old = _consume_refresh_token(refresh, refuse_locked=True)
        return issue_tokens(user=user, auth_time=old.get("auth_time"), family=old.get(FAMILY_CLAIM))

    return _with_reuse_revoking_the_family(rotate)


def log_out(*, refresh: str) -> None:
    """Revoke a refresh token so it can never be used again (even while locked), and the
    user's access tokens with it."""

    def sign_out() -> None:
        user, _ = _consume_refresh_token(refresh, refuse_locked=False)
        end_access_tokens(user_id=user.pk)

    _with_reuse_revoking_the_family(sign_out)


def sync_staff_groups(*users: User) -> None:
    """Put staff in the permission group of their role (and out of the other one)."""
    groups = {role: Group.objects.get(name=name) for role, name in STAFF_GROUPS.items()}
    for user in users:
        for role, group in groups.items():
            if user.role == role and user.is_staff:
                user.groups.add(group)
            else:
                user.groups.remove(group)
