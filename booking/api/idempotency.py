"""Idempotency-Key support for POST endpoints.

A client that retries a POST with the same ``Idempotency-Key`` (say after a timeout) gets the
original response back instead of booking twice. The same key with a different request is a
422. Keys are per user and last 24 hours.
"""

import datetime as dt
import functools
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import signed_in_user
from core.db import violated_constraint
from core.exceptions import Conflict, InvalidInput, RuleViolation

from ..models import IdempotencyRecord

HEADER = "Idempotency-Key"
LIFETIME = dt.timedelta(hours=24)
MAX_KEY_LENGTH = 255
# Printable ASCII, as the schema publishes it.
KEY_FORM = re.compile(rf"^[ -~]{{1,{MAX_KEY_LENGTH}}}$")
KEY_REUSED = "This Idempotency-Key was already used for a different request."
KEY_IN_FLIGHT = "A request with this Idempotency-Key is still being processed."
KEY_INVALID = f"The Idempotency-Key header must be 1 to {MAX_KEY_LENGTH} printable characters."
REPLAYED_HEADERS = ("Location", "ETag")


def _fingerprint(request: Request) -> str:
    body = json.dumps(request.data, sort_keys=True, default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _claim(request: Request, key: str, fingerprint: str) -> tuple[IdempotencyRecord, bool]:
    now = timezone.now()
    try:
        # A savepoint, so a concurrent insert of the same key does not break the transaction;
        # on PostgreSQL the second insert waits for the first transaction to finish.
        with transaction.atomic():
            return IdempotencyRecord.objects.create(
                user=signed_in_user(request),
                key=key,
                fingerprint=fingerprint,
                expires_at=now + LIFETIME,
            ), True
    except IntegrityError as exc:
        if violated_constraint(exc) != "booking_idempotency_user_key":
            raise
        record = IdempotencyRecord.objects.select_for_update().get(
            user=signed_in_user(request), key=key
        )
    if record.expires_at <= now:
        record.fingerprint, record.expires_at = fingerprint, now + LIFETIME
        record.response_status, record.response_body, record.response_headers = None, None, {}
        record.save()
        return record, True
    return record, False


def idempotent(view_method: Callable[..., Response]) -> Callable[..., Response]:
    """Wrap a POST handler so an Idempotency-Key makes retries safe."""

    @functools.wraps(view_method)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER)
        if key is None:
            return view_method(view, request, *args, **kwargs)
        if not KEY_FORM.fullmatch(key):
            raise InvalidInput(KEY_INVALID, code="idempotency_key_invalid")
        fingerprint = _fingerprint(request)
        # One transaction for the key and the work: a crash in between leaves neither, so a
        # retry runs the work again instead of finding a key with no response.
        with transaction.atomic():
            record, fresh = _claim(request, key, fingerprint)
            if not fresh:
                if record.fingerprint != fingerprint:
                    raise RuleViolation(KEY_REUSED, code="idempotency_key_reused")
                if record.response_status is None:
                    raise Conflict(KEY_IN_FLIGHT, code="idempotency_key_in_flight")
                replay = Response(record.response_body, status=record.response_status)
                for name, value in record.response_headers.items():
                    replay[name] = value
                replay["Idempotent-Replayed"] = "true"
                return replay
            response = view_method(view, request, *args, **kwargs)
            record.response_status = response.status_code
            record.response_body = response.data
            record.response_headers = {h: response[h] for h in REPLAYED_HEADERS if h in response}
            record.save()
            return response

    return wrapper
