"""Emails about accounts, through the outbox (core.outbox): verify an address, reset a password,
and the notices that replace an answer the API must not give ("that email is taken").

Links carry signed, expiring tokens made when the email is sent, never stored:
- verification: a signature over the account id and a keyed hash of the address (the token
  shows no address), valid for ``EMAIL_VERIFICATION_HOURS``; it stops working if the address
  changes. Following it also takes the account's password, so a stranger who signed up with
  someone else's address cannot have them confirm the stranger's account.
- password reset: Django's token over the password hash, valid for ``PASSWORD_RESET_TIMEOUT``;
  it stops working once used (the password hash changes).

Each kind is written at most once per account every ``RESEND_INTERVAL`` (the dedupe key names
the interval), so neither the API nor a stranger can flood a mailbox.
"""

import datetime as dt
import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import signing
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from core.outbox import Outbox, send_email

from .models import AccountEmail, User

RESEND_INTERVAL = dt.timedelta(minutes=5)
VERIFY_SALT = "accounts.verify-email"
VERIFY_PATH = "/account/verify-email"
RESET_PATH = "/account/reset-password"
FORGOT_PATH = "/account/forgot-password"
SKIPPED_VERIFIED = "not sent: the address was verified meanwhile"
SKIPPED_READDRESSED = "not sent: the account's address changed meanwhile"
Kind = AccountEmail.Kind

SUBJECTS: dict[str, str] = {
    Kind.VERIFY_EMAIL: "Confirm your email address for GP Booking",
    Kind.ACCOUNT_EXISTS: "You already have a GP Booking account",
    Kind.NHS_NUMBER_IN_USE: "Someone tried to register with your NHS number",
    Kind.PASSWORD_RESET: "Reset your GP Booking password",
    Kind.PASSWORD_CHANGED: "Your GP Booking password was changed",
}

password_reset_tokens = PasswordResetTokenGenerator()


# Tokens ---------------------------------------------------------------------------------


def _address_hash(email: str) -> str:
    return salted_hmac(VERIFY_SALT, email, algorithm="sha256").hexdigest()[:32]


def verification_token(user: User) -> str:
    return signing.dumps({"u": str(user.pk), "e": _address_hash(user.email)}, salt=VERIFY_SALT)


def user_from_verification_token(token: str) -> User | None:
    """The active account a verification token names, if it is genuine, unexpired and still
    about that account's current address."""
    try:
        claims = signing.loads(
            token, salt=VERIFY_SALT, max_age=dt.timedelta(hours=settings.EMAIL_VERIFICATION_HOURS)
        )
        pk = uuid.UUID(str(claims["u"]))
        address = str(claims["e"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    user = User.objects.filter(pk=pk, is_active=True).first()
    if user is None or not constant_time_compare(address, _address_hash(user.email)):
        return None
    return user


def password_reset_token(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return f"{uid}.{password_reset_tokens.make_token(user)}"


def user_from_password_reset_token(token: str) -> User | None:
    """The active account a reset token names, if it is genuine, unexpired and unused."""
    uid, _, secret = token.partition(".")
    try:
        pk = uuid.UUID(force_str(urlsafe_base64_decode(uid)))
    except (ValueError, TypeError):
        return None
    user = User.objects.filter(pk=pk, is_active=True).first()
    if user is None or not password_reset_tokens.check_token(user, secret):
        return None
    return user


def link(path: str, token: str) -> str:
    # Both kinds of token are URL-safe as they are (base64url, ":", "."), so the link carries
    # them unescaped: what is copied from it is the token itself.
    return f"{settings.ACCOUNT_LINK_BASE_URL.rstrip('/')}{path}?token={token}"


# Queueing -------------------------------------------------------------------------------


def queue(user: User, kind: str, *, now: dt.datetime | None = None) -> int:
    """An outbox row for ``kind`` to the account's address, sent once this transaction
    commits; none if one went in the current interval. Returns how many rows were offered."""
    now = now or timezone.now()
    if kind == Kind.PASSWORD_CHANGED:
        key = uuid.uuid4().hex  # every change is told
    else:
        key = str(int(now.timestamp() // RESEND_INTERVAL.total_seconds()))
    row = AccountEmail(
        user=user,
        kind=kind,
        medium=AccountEmail.Medium.EMAIL,
        recipient=user.email,
        dedupe_key=f"{user.pk}:{kind}:{key}",
    )
    return OUTBOX.write([row])


# Sending --------------------------------------------------------------------------------


def _context(row: AccountEmail, user: User) -> dict[str, Any]:
    base = settings.ACCOUNT_LINK_BASE_URL.rstrip("/")
    context: dict[str, Any] = {
        "user": user,
        "kind": row.kind,
        "verify_hours": settings.EMAIL_VERIFICATION_HOURS,
        "reset_minutes": settings.PASSWORD_RESET_TIMEOUT // 60,
        "forgot_link": f"{base}{FORGOT_PATH}",
        "sign_in_link": base,
    }
    # A working reset link only in the email that was asked for; the notices point to the
    # page that asks for one.
    if row.kind == Kind.PASSWORD_RESET:
        context["reset_link"] = link(RESET_PATH, password_reset_token(user))
    if not user.email_verified:
        context["verify_link"] = link(VERIFY_PATH, verification_token(user))
    return context


def _send(row: AccountEmail) -> str:
    user = User.objects.get(pk=row.user_id)
    if row.kind == Kind.VERIFY_EMAIL and user.email_verified:
        return SKIPPED_VERIFIED
    if row.recipient != user.email:
        # The address changed since this was queued: links made now must not go to the old one.
        return SKIPPED_READDRESSED
    context = _context(row, user)
    return send_email(
        row,
        subject=SUBJECTS[row.kind],
        text=render_to_string("accounts/email/account.txt", context),
        html=render_to_string("accounts/email/account.html", context),
    )


def _enqueue(ids: list[Any], run_after: dt.datetime | None = None) -> None:
    from .tasks import deliver_account_email

    task = deliver_account_email.using(run_after=run_after) if run_after else deliver_account_email
    for pk in ids:
        task.enqueue(str(pk))


OUTBOX = Outbox(model=AccountEmail, send=_send, enqueue=_enqueue)
deliver = OUTBOX.deliver
requeue_due = OUTBOX.requeue_due
