"""State changes that prove who reads an address: confirming it, and resetting a password.

Both answer alike for an address with an account and one without, so neither can be used to
find out who is registered; the emails (accounts.emails) carry the links.
"""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.exceptions import NotAuthenticated, RuleViolation

from . import emails, services
from .audit import record_event
from .models import AccountEmail, LoginLockout, User, normalise_email
from .services import check_password_rules, revoke_all_sessions

LINK_INVALID = "This link is not valid, has been used or has expired. Ask for a new one."
CONFIRMATION_REFUSED = (
    "Enter the password you chose when you registered. Forgotten it? Reset it instead: that "
    "confirms your address too."
)


class WrongPassword(NotAuthenticated):
    """The confirmation link is genuine but the password is not the account's (401)."""


def _audit(user: User, action: str, client_address: str) -> None:
    """The owner acting on their own account: in their access log if they are a patient."""
    record_event(
        action=action,
        object_type="account",
        object_id=user.pk,
        patient=user if user.is_patient else None,
        actor=user,
        source_address=client_address,
    )


class LinkInvalid(RuleViolation):
    """A well-formed token that does not verify (forged, used, expired): 422."""

    default_code = "link_invalid"


def _invalid_link() -> LinkInvalid:
    return LinkInvalid(LINK_INVALID, errors={"token": [LINK_INVALID]})


def verify_email(*, token: str, password: str, client_address: str = "") -> User:
    """Confirm the address a verification link was sent to (again is harmless).

    The account's password is asked for too: whoever reads the mailbox must also be whoever
    chose the password, or a stranger who signed up with someone else's address could have
    them confirm it. Wrong passwords count towards the sign-in lock, as at sign-in.
    """
    now = timezone.now()
    with transaction.atomic():
        user = emails.user_from_verification_token(token)
        if user is None:
            raise _invalid_link()
        if user.email_verified:
            return user
        # One attempt at a time per account, as at sign-in.
        user = User.objects.select_for_update().get(pk=user.pk)
        services.refuse_if_locked(email=user.email, client_address=client_address, now=now)
        if not user.check_password(password):
            services.record_failed_sign_in(email=user.email, client_address=client_address, now=now)
            wrong = WrongPassword(
                CONFIRMATION_REFUSED,
                code="wrong_password",
                errors={"password": [CONFIRMATION_REFUSED]},
            )
        else:
            wrong = None
            user.email_verified_at = now
            user.save(update_fields=["email_verified_at"])
            LoginLockout.objects.filter(email=user.email).delete()
            _audit(user, "account.email_verified", client_address)
    # Raised after commit: the counted failure must stay counted.
    if wrong is not None:
        raise wrong
    return user


@transaction.atomic
def resend_verification(*, email: str) -> None:
    """Send a new confirmation link if an unconfirmed account has this address; otherwise do
    nothing, and answer the same."""
    user = User.objects.filter(
        email=normalise_email(email), is_active=True, email_verified_at__isnull=True
    ).first()
    if user is not None:
        emails.queue(user, AccountEmail.Kind.VERIFY_EMAIL)


@transaction.atomic
def request_password_reset(*, email: str) -> None:
    """Email a reset link if an active account has this address; otherwise do nothing, and
    answer the same."""
    user = User.objects.filter(email=normalise_email(email), is_active=True).first()
    if user is not None and _password_is_ours(user):
        emails.queue(user, AccountEmail.Kind.PASSWORD_RESET)


def _password_is_ours(user: User) -> bool:
    # With Cognito, an account with no password of ours signs in there, and resets there: a
    # password set here would get round the user pool's own rules. Without Cognito, such an
    # account (made by staff, or imported) sets its first password through this reset.
    return user.has_usable_password() or not settings.COGNITO_USER_POOL_ID


def reset_password(*, token: str, password: str, client_address: str = "") -> User:
    """Set a new password from a reset link: signs out every device, lifts the account's
    sign-in lock, confirms the address (the link proved it is read) and tells the owner."""
    with transaction.atomic():
        found = emails.user_from_password_reset_token(token)
        if found is None:
            raise _invalid_link()
        # Row lock: two uses of one link at once; the second sees the changed password hash,
        # which retires the token.
        user = User.objects.select_for_update().get(pk=found.pk)
        if emails.user_from_password_reset_token(token) is None:
            raise _invalid_link()
        check_password_rules(password, user=user)
        user.set_password(password)
        user.email_verified_at = user.email_verified_at or timezone.now()
        user.save(update_fields=["password", "email_verified_at"])
        revoke_all_sessions(user=user)
        LoginLockout.objects.filter(email=user.email).delete()
        _audit(user, "account.password_reset", client_address)
        emails.queue(user, AccountEmail.Kind.PASSWORD_CHANGED)
    return user
