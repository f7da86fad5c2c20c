"""End-to-end check of a running deployment, over HTTP only (no database access).

Always: health, readiness, the schema and the practice list. Given a patient's sign-in
(``--email``/``--password``, or SMOKE_EMAIL/SMOKE_PASSWORD), also that patient's journey: sign
in, book, read back, reschedule, cancel, sign out. It cancels what it booked, so it leaves no
slot taken, and it makes no account (sign-up needs a confirmed address, which an HTTP check
cannot read; the suite covers sign-up end to end).
"""

import json
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from django.core.management.base import BaseCommand, CommandError, CommandParser

TIMEOUT_SECONDS = 15


class StepFailed(Exception):
    def __init__(self, step: str, message: str, response: requests.Response | None = None):
        super().__init__(message)
        self.step, self.response = step, response


class Command(BaseCommand):
    help = "Check a running deployment end to end over HTTP; exits non-zero on the first failure."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("base_url", help="e.g. https://api.example.nhs.uk")
        parser.add_argument(
            "--practice", help="ODS code to book at (default: the patient's own practice)"
        )
        parser.add_argument(
            "--email",
            default=os.environ.get("SMOKE_EMAIL", ""),
            help="A patient with a confirmed address to book as (default: $SMOKE_EMAIL)",
        )
        parser.add_argument(
            "--password",
            default=os.environ.get("SMOKE_PASSWORD", ""),
            help="That patient's password (default: $SMOKE_PASSWORD)",
        )
        parser.add_argument(
            "--read-only",
            action="store_true",
            help="Book nothing: the public checks, then (given a patient) sign-in and a search",
        )
        parser.add_argument("--verbose", action="store_true", help="Show every response body")

    def handle(
        self,
        *args: Any,
        base_url: str,
        practice: str | None,
        email: str,
        password: str,
        read_only: bool,
        verbose: bool,
        **options: Any,
    ) -> None:
        self.base = base_url.rstrip("/")
        self.verbose = verbose
        self.http = requests.Session()
        self.appointment_id: str | None = None
        started = time.monotonic()
        try:
            self._public_checks()
            if email and password and read_only:
                self._sign_in_and_search(email, password, practice)
            elif email and password:
                self._patient_journey(email, password, practice)
            else:
                self.stdout.write(
                    "  --  patient journey skipped: no --email/--password (SMOKE_EMAIL, "
                    "SMOKE_PASSWORD) of a patient to book as"
                )
        except StepFailed as failure:
            self._report_failure(failure)
            self._clean_up()
            raise CommandError(f"Smoke test failed at: {failure.step}") from failure
        self.stdout.write(
            self.style.SUCCESS(f"All steps passed in {time.monotonic() - started:.2f}s")
        )

    # The steps, in order ---------------------------------------------------------------

    def _public_checks(self) -> None:
        self._call("health", "GET", "/healthz", expect=200)
        self._call("readiness", "GET", "/readyz", expect=200)
        schema = self._call(
            "schema", "GET", "/api/schema/", expect=200, headers={"Accept": "application/json"}
        )
        if not str(schema.get("openapi", "")).startswith("3."):
            raise StepFailed("schema", "The schema is not OpenAPI 3")
        self._call("jwks", "GET", "/.well-known/jwks.json", expect=200)
        self._call("list practices", "GET", "/api/v1/practices", expect=200)

    def _sign_in_and_search(self, email: str, password: str, practice: str | None) -> None:
        """Read-only: the smoke account signs in and searches; nothing is booked, so this runs
        against production and against a database with no practices yet."""
        tokens, _ = self._sign_in(email, password)
        practice = practice or next(
            iter(r["ods_code"] for r in self._call(
                "find a practice", "GET", "/api/v1/practices", expect=200
            )["results"]),
            None,
        )  # fmt: skip
        if practice is None:
            self.stdout.write("  --  availability skipped: no practice yet")
        else:
            today = datetime.now(UTC).date()
            self._call(
                "search availability",
                "GET",
                f"/api/v1/practices/{practice}/availability",
                expect=200,
                params={
                    "start": today.isoformat(),
                    "end": (today + timedelta(days=1)).isoformat(),
                },
            )
        self._call(
            "logout", "POST", "/api/v1/auth/logout", expect=204, body={"refresh": tokens["refresh"]}
        )

    def _sign_in(self, email: str, password: str) -> tuple[Any, Any]:
        """Log in, send the access token from now on, and read the account: tokens and me."""
        tokens = self._call(
            "login",
            "POST",
            "/api/v1/auth/login",
            expect=200,
            body={"email": email, "password": password},
        )
        self.http.headers["Authorization"] = f"Bearer {tokens['access']}"
        return tokens, self._call("read my account", "GET", "/api/v1/auth/me", expect=200)

    def _patient_journey(self, email: str, password: str, practice_code: str | None) -> None:
        tokens, me = self._sign_in(email, password)
        if not me.get("email_verified"):
            raise StepFailed("read my account", f"{email} has not confirmed its address")
        practice_code = practice_code or me.get("practice_id")
        if not practice_code:
            raise StepFailed(
                "read my account", f"{email} is registered at no practice; pass --practice"
            )

        today = datetime.now(UTC).date()
        slots = self._call(
            "search availability",
            "GET",
            f"/api/v1/practices/{practice_code}/availability",
            expect=200,
            params={
                "start": today.isoformat(),
                "end": (today + timedelta(days=13)).isoformat(),
                "page_size": 2,
            },
        )["results"]
        if len(slots) < 2:
            raise StepFailed(
                "search availability", f"Need two free slots at {practice_code}, found {len(slots)}"
            )

        booked = self._call(
            "book",
            "POST",
            "/api/v1/appointments",
            expect=201,
            body={"slot_id": slots[0]["id"], "description": "Smoke test"},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        self.appointment_id = booked["id"]
        read = self._call(
            "read back", "GET", f"/api/v1/appointments/{self.appointment_id}", expect=200
        )
        if read["status"] != "booked" or read["slot_id"] != slots[0]["id"]:
            raise StepFailed("read back", f"Unexpected appointment: {read}")
        moved = self._call(
            "reschedule",
            "POST",
            f"/api/v1/appointments/{self.appointment_id}/reschedule",
            expect=200,
            body={"slot_id": slots[1]["id"]},
        )
        if moved["slot_id"] != slots[1]["id"]:
            raise StepFailed("reschedule", f"Still in slot {moved['slot_id']}")
        self._call(
            "cancel",
            "POST",
            f"/api/v1/appointments/{self.appointment_id}/cancel",
            expect=200,
            body={"reason": "Smoke test"},
        )
        self.appointment_id = None
        self._call(
            "logout", "POST", "/api/v1/auth/logout", expect=204, body={"refresh": tokens["refresh"]}
        )

    # Plumbing --------------------------------------------------------------------------

    def _call(
        self,
        step: str,
        method: str,
        path: str,
        *,
        expect: int,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        started = time.monotonic()
        try:
            response = self.http.request(
                method,
                self.base + path,
                json=body,
                params=params,
                headers=headers,
                timeout=TIMEOUT_SECONDS,
            )
        except requests.RequestException as exc:
            raise StepFailed(step, f"{method} {path}: {exc}") from exc
        elapsed_ms = (time.monotonic() - started) * 1000
        if response.status_code != expect:
            raise StepFailed(
                step,
                f"{method} {path} answered {response.status_code}, expected {expect}",
                response,
            )
        self.stdout.write(
            f"  ok  {step:<20} {method:<5} {path}  {response.status_code}  {elapsed_ms:7.1f} ms"
        )
        if self.verbose and response.content:
            self.stdout.write(_pretty(response))
        return response.json() if response.content else None

    def _report_failure(self, failure: StepFailed) -> None:
        self.stderr.write(self.style.ERROR(f"  FAIL {failure.step}: {failure}"))
        if failure.response is not None:
            self.stderr.write(_pretty(failure.response))

    def _clean_up(self) -> None:
        # Leave no slot taken: cancel what this run booked if a later step failed.
        if self.appointment_id:
            self.http.post(
                f"{self.base}/api/v1/appointments/{self.appointment_id}/cancel",
                json={"reason": "Smoke test clean-up"},
                timeout=TIMEOUT_SECONDS,
            )


def _pretty(response: requests.Response) -> str:
    try:
        return json.dumps(response.json(), indent=2)[:4000]
    except ValueError:
        return response.text[:4000]
