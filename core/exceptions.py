"""Domain errors raised by services and mapped to HTTP by one handler (core.http.errors).

Services raise these instead of DRF exceptions so they can be called from the API, the admin,
management commands and tests alike. ``code`` is a stable machine-readable identifier that
clients and tests can rely on; ``detail`` is the human sentence.
"""

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar


class DomainError(Exception):
    """Base class: an expected refusal, never a bug."""

    http_status: ClassVar[int] = 400
    default_code: ClassVar[str] = "invalid"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        errors: Mapping[str, Sequence[str]] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code or self.default_code
        self.errors = dict(errors) if errors else None
        self.extra = dict(extra) if extra else {}


class InvalidInput(DomainError):
    """The request is well-formed but a field fails a rule (400)."""

    http_status = 400
    default_code = "validation_error"


class NotAuthenticated(DomainError):
    """Credentials are missing or wrong (401)."""

    http_status = 401
    default_code = "not_authenticated"


class Forbidden(DomainError):
    """The caller is known but may not do this (403)."""

    http_status = 403
    default_code = "permission_denied"


class NotFound(DomainError):
    """No such object, or one the caller may not know exists (404)."""

    http_status = 404
    default_code = "not_found"


class Conflict(DomainError):
    """The current state of the resource forbids the change (409)."""

    http_status = 409
    default_code = "conflict"


class PreconditionFailed(DomainError):
    """The client's copy is stale (412)."""

    http_status = 412
    default_code = "precondition_failed"


class RuleViolation(DomainError):
    """A business rule refuses an otherwise valid request (422)."""

    http_status = 422
    default_code = "rule_violation"


class TooManyRequests(DomainError):
    """Slow down; ``retry_after`` seconds tells when to try again (429)."""

    http_status = 429
    default_code = "too_many_requests"

    def __init__(self, detail: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(detail, code=code)
        self.retry_after = max(1, int(retry_after))
