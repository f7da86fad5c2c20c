"""State changes that prove who reads an address: confirming it, and resetting a password.

Both answer alike for an address with an account and one without, so neither can be used to
find out who is registered; the emails (accounts.emails) carry the links.
"""

from django.db import transaction
from django.utils import timezone

from core.exceptions import InvalidInput

from . import emails
from .audit import record_event
from .models import AccountEmail, LoginLockout, User, normalise_email
from .services import check_password_rules, revoke_all_sessions

LINK_INVALID = "This link is not valid, has been used or has expired. Ask for a new one."


def _invalid_link() -> InvalidInput:
    return InvalidInput(LINK_INVALID, code="link_invalid", errors={"token": [LINK_INVALID]})


@transaction.atomic
def verify_email(*, token: str, client_address: str = "") -> User:
    """Mark the address a verification link was sent to as verified (again is harmless)."""
    user = emails.user_from_verification_token(token)
    if user is None:
        raise _invalid_link()
    if not user.email_verified:
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])
        record_event(
            action="account.email_verified",
            object_type="account",
            object_id=user.pk,
            patient=user if user.is_patient else None,
            actor=user,
            source_address=client_address,
        )
    return user


@transaction.atomic
def resend_verification(*, user: User) -> None:
    """Send the signed-in owner a new verification link, unless the address is verified."""
    if not user.email_verified:
        emails.queue(user, AccountEmail.Kind.VERIFY_EMAIL)


@transaction.atomic
def request_password_reset(*, email: str) -> None:
    """Email a reset link if an active account has this address; otherwise do nothing, and
    answer the same."""
    user = User.objects.filter(email=normalise_email(email), is_active=True).first()
    if user is not None:
        emails.queue(user, AccountEmail.Kind.PASSWORD_RESET)


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
        record_event(
            action="account.password_reset",
            object_type="account",
            object_id=user.pk,
            patient=user if user.is_patient else None,
            actor=user,
            source_address=client_address,
        )
        emails.queue(user, AccountEmail.Kind.PASSWORD_CHANGED)
    return user
