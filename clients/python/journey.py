"""A patient's and a practice administrator's day, through a Python client generated from the
API's schema, as a frontend team would write them.

Generate the client, then run this against a running service (``make run``):

    uv run python manage.py spectacular --format openapi-json --file schema.json
    uv run openapi-python-client generate --path schema.json --meta none \
        --output-path clients/python/gp_booking_client
    uv run python clients/python/journey.py http://localhost:8000 .local/mail

``tests/test_generated_clients.py`` does exactly that in CI, and checks this file with mypy
against the generated code: a schema change that breaks a consumer fails the build.
"""

import datetime as dt
import sys
import time
import uuid
from pathlib import Path
from typing import TypeVar

from gp_booking_client import AuthenticatedClient, Client
from gp_booking_client.api.appointments import (
    appointments_cancel_create,
    appointments_create,
    appointments_list,
    appointments_outcome_create,
    appointments_reschedule_create,
    appointments_retrieve,
)
from gp_booking_client.api.auth import (
    auth_login_create,
    auth_me_access_log_list,
    auth_me_retrieve,
    auth_register_create,
    auth_verify_email_create,
)
from gp_booking_client.api.practices import (
    practices_appointment_types_list,
    practices_availability_retrieve,
)
from gp_booking_client.models import (
    Appointment,
    AppointmentsListStatus,
    AppointmentType,
    BookBySlotRequest,
    CancelRequest,
    Detail,
    LoginInputRequest,
    Me,
    OutcomeEnum,
    OutcomeRequest,
    PaginatedAccessLogEntryList,
    PaginatedAppointmentList,
    PaginatedAvailableSlotList,
    Problem,
    RegisterInputRequest,
    RescheduleToSlotRequest,
    SlotUnavailableProblem,
    TokenOutput,
    VerifyEmailRequest,
)

PRACTICE = "Y90001"
ADMIN = ("practice.admin@demo.gp-booking.test", "Demo-Pass-123!")
T = TypeVar("T")


def expect(value: object, kind: type[T]) -> T:
    """The parsed answer, as the type the schema promised for its status."""
    assert isinstance(value, kind), f"expected {kind.__name__}, got {value!r}"
    return value


def confirmation_token(mail_dir: Path, email: str) -> str:
    """The token in the confirmation link emailed to ``email`` (make run writes emails as
    plain-text files)."""
    for _ in range(60):
        for path in sorted(mail_dir.glob("*.txt")):
            text = path.read_text()
            if f"To: {email}\n" in text and "verify-email?token=" in text:
                return text.split("verify-email?token=", 1)[1].split()[0]
        time.sleep(0.5)
    raise AssertionError(f"no confirmation email to {email} in {mail_dir}")


def patient_journey(base_url: str, mail_dir: Path) -> None:
    anonymous = Client(base_url=base_url, raise_on_unexpected_status=True)
    email, password = f"client-{uuid.uuid4().hex[:10]}@example.com", "Client-Pass-42!"

    registered = auth_register_create.sync_detailed(
        client=anonymous,
        body=RegisterInputRequest(email=email, password=password, practice_id=PRACTICE),
    )
    assert registered.status_code == 202, registered.content
    expect(
        auth_verify_email_create.sync(
            client=anonymous,
            body=VerifyEmailRequest(token=confirmation_token(mail_dir, email), password=password),
        ),
        Detail,
    )
    tokens = expect(
        auth_login_create.sync(
            client=anonymous, body=LoginInputRequest(email=email, password=password)
        ),
        TokenOutput,
    )
    patient = AuthenticatedClient(
        base_url=base_url, token=tokens.access, raise_on_unexpected_status=True
    )
    me = expect(auth_me_retrieve.sync(client=patient), Me)
    assert me.email_verified and me.practice_id == PRACTICE

    types = expect(practices_appointment_types_list.sync(PRACTICE, client=anonymous), list)
    assert types and all(isinstance(t, AppointmentType) and t.name for t in types)

    today = dt.datetime.now(dt.UTC).date()
    pages = [
        expect(
            practices_availability_retrieve.sync(
                PRACTICE,
                client=patient,
                start=today,
                end=today + dt.timedelta(days=13),
                page=page,
                page_size=5,
            ),
            PaginatedAvailableSlotList,
        )
        for page in (1, 2)
    ]
    first, second = pages
    assert first.results and second.results
    assert {s.id for s in first.results}.isdisjoint({s.id for s in second.results})
    slot = first.results[0]

    key = uuid.uuid4().hex
    booked = appointments_create.sync_detailed(
        client=patient, body=BookBySlotRequest(slot_id=slot.id), idempotency_key=key
    )
    appointment = expect(booked.parsed, Appointment)
    assert booked.status_code == 201 and booked.headers["Location"].endswith(f"{appointment.id}")
    replayed = appointments_create.sync_detailed(
        client=patient, body=BookBySlotRequest(slot_id=slot.id), idempotency_key=key
    )
    assert replayed.headers.get("Idempotent-Replayed") == "true"
    assert expect(replayed.parsed, Appointment).id == appointment.id

    taken = expect(
        appointments_create.sync(client=patient, body=BookBySlotRequest(slot_id=slot.id)),
        SlotUnavailableProblem,
    )
    assert taken.code == "slot_taken" and taken.alternatives

    read = appointments_retrieve.sync_detailed(appointment.id, client=patient)
    etag = read.headers["ETag"]
    stale = expect(
        appointments_reschedule_create.sync(
            appointment.id,
            client=patient,
            body=RescheduleToSlotRequest(slot_id=taken.alternatives[0].slot_id),
            if_match='"999"',
        ),
        Problem,
    )
    assert stale.status == 412
    moved = expect(
        appointments_reschedule_create.sync(
            appointment.id,
            client=patient,
            body=RescheduleToSlotRequest(slot_id=taken.alternatives[0].slot_id),
            if_match=etag,
        ),
        Appointment,
    )
    assert moved.slot_id == taken.alternatives[0].slot_id
    cancelled = expect(
        appointments_cancel_create.sync(
            appointment.id, client=patient, body=CancelRequest(reason="Feeling better")
        ),
        Appointment,
    )
    assert cancelled.status.value == "cancelled"

    log = expect(auth_me_access_log_list.sync(client=patient), PaginatedAccessLogEntryList)
    assert log.results


def staff_journey(base_url: str) -> None:
    anonymous = Client(base_url=base_url, raise_on_unexpected_status=True)
    tokens = expect(
        auth_login_create.sync(
            client=anonymous, body=LoginInputRequest(email=ADMIN[0], password=ADMIN[1])
        ),
        TokenOutput,
    )
    staff = AuthenticatedClient(
        base_url=base_url, token=tokens.access, raise_on_unexpected_status=True
    )
    me = expect(auth_me_retrieve.sync(client=staff), Me)
    assert [(p.ods_code, p.role.value) for p in me.practices] == [(PRACTICE, "admin")]

    # The day list, then an outcome: did-not-attend for one that has started (within the
    # week), or else arrived for one later today.
    now = dt.datetime.now(dt.UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    for start, end, outcome in [
        (now - dt.timedelta(days=7), now, OutcomeEnum.DID_NOT_ATTEND),
        (now, midnight + dt.timedelta(days=1), OutcomeEnum.ARRIVED),
    ]:
        due = expect(
            appointments_list.sync(
                client=staff,
                practice=PRACTICE,
                status=AppointmentsListStatus.BOOKED,
                start=start,
                end=end,
            ),
            PaginatedAppointmentList,
        ).results
        if due:
            etag = appointments_retrieve.sync_detailed(due[0].id, client=staff).headers["ETag"]
            recorded = expect(
                appointments_outcome_create.sync(
                    due[0].id, client=staff, body=OutcomeRequest(outcome=outcome), if_match=etag
                ),
                Appointment,
            )
            assert recorded.status.value == outcome.value
            print(f"outcome recorded: {outcome.value}")  # noqa: T201 - a script's output
            return
    print("no appointment is due an outcome today")  # noqa: T201 - a script's output


if __name__ == "__main__":
    base, mail = sys.argv[1], Path(sys.argv[2])
    patient_journey(base, mail)
    staff_journey(base)
    print("patient and staff journeys passed")  # noqa: T201 - a script's output
