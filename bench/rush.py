"""The 8am rush and the herd: a crowd of patients polling one practice's availability and
racing, over real HTTP, to book slots the practice releases at one moment (T0).

- ``run_rush``: 2,000 patients, 40 same-day slots. Reports requests per second during the
  burst, p50/p95/p99 of availability and of booking, the time until every slot is gone, 409s
  per booking, and checks the database: no 5xx, no slot booked twice, no patient with two of
  the released slots (the bench practice allows one upcoming appointment per patient).
- ``run_herd``: 200 patients, tomorrow's 93 slots, at most three booking attempts each:
  following the 409's ``alternatives`` (``strategy="alternatives"``) or asking the server for
  the earliest free slot (``strategy="earliest"``, POST /api/v1/appointments/earliest). The
  target: at least 95% of the released slots booked by the end of the burst.

Every client polls ``availability`` for the day (every 0.2 s, jittered) until it sees slots,
picks one at random among the first ten, and books it; on a 409 it tries one of the answer's
alternatives (or asks for the earliest again), up to three attempts. A poll sent after the
release that comes back empty means every slot has gone: that client gives up. Clients start
polling at random in the two seconds before T0 and the second after it; they share a fixed
number of connections (64), as a crowd behind a load balancer would share its workers.

Each scenario makes a practice of its own (not a demo one, so ``seed_data --reset`` and
bench/prepare.py pass it by), whose only slots are the released ones: its clinicians' slots
are made blocked, and T0 is one SQL UPDATE that frees them, as a practice releasing slots from
a block does (``practices.services.set_slots_blocked``). The preparation runs in a subprocess
with the server's settings, so the tokens it signs verify there.

bench/run.py calls ``run_rush`` and ``run_herd`` with its own server. Standalone, on make
bench's seeded database: ``uv run python bench/rush.py [--patients 300 --slots 20]`` starts
gunicorn with the production settings and runs the three; results/bench/rush.json.
"""

import argparse
import asyncio
import datetime as dt
import json
import math
import random
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import psycopg
from common import free_port, patient_access_token, server_env, start_gunicorn, wait_until_up

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "bench"
PYTHON = sys.executable
# The hidden subcommand that makes a scenario's practice, slots and patients (with Django).
PREPARE = "prepare"

CONNECTIONS = 64
POLL_SECONDS = 0.2
FIRST_SEEN = 10  # a patient picks among the first ten slots the search shows
MAX_ATTEMPTS = 3
# Clients start polling at random in [T0 - LEAD, T0 + LATE]: the keen ones refresh before 8am.
LEAD_SECONDS, LATE_SECONDS = 2.0, 1.0
REQUEST_TIMEOUT_SECONDS = 30.0
# A bug that left clients polling for ever must not hang `make bench`.
BURST_LIMIT_SECONDS = 240.0
HERD_TARGET_PERCENT = 95.0
SLOT_MINUTES = 10

Strategy = Literal["alternatives", "earliest"]
# The 409s whose body offers other slots to try (booking.services.selectors.unavailable).
UNAVAILABLE = {"slot_taken", "no_free_slot"}
# The answers that mean this patient already holds an appointment: a retry cannot succeed.
ALREADY_BOOKED = {"overlapping_appointment", "too_many_appointments"}


def run_rush(
    base_url: str,
    env: dict[str, str],
    *,
    patients: int = 2000,
    slots: int = 40,
    strategy: Strategy = "alternatives",
    connections: int = CONNECTIONS,
    seed: int = 8,
) -> dict[str, Any]:
    """The 8am rush against the server at ``base_url``, whose settings ``env`` holds (its
    DATABASE_URL and JWT key), clients booking what they saw (following the 409's
    alternatives) or asking for the earliest free slot: prints a table, returns the figures."""
    result = race(
        base_url=base_url,
        env=env,
        fixtures=prepare(env=env, scenario="rush", patients=patients, slots=slots),
        strategy=strategy,
        connections=connections,
        seed=seed,
    )
    if strategy != "alternatives":
        result["scenario"] = f"rush_{strategy}"
    print_result(result)
    return result


def run_herd(
    base_url: str,
    env: dict[str, str],
    *,
    patients: int = 200,
    slots: int = 93,
    strategy: Strategy = "alternatives",
    connections: int = CONNECTIONS,
    seed: int = 93,
) -> dict[str, Any]:
    """The herd: ``patients`` of one practice racing for tomorrow's ``slots``, following the
    409's alternatives or booking the earliest free slot; prints a table, returns the figures
    with whether the 95% target was met."""
    result = race(
        base_url=base_url,
        env=env,
        fixtures=prepare(env=env, scenario="herd", patients=patients, slots=slots),
        strategy=strategy,
        connections=connections,
        seed=seed,
    )
    result["scenario"] = f"herd_{strategy}"
    result["target"] = {
        "percent_booked": f">= {HERD_TARGET_PERCENT}",
        "max_attempts_per_patient": f"<= {MAX_ATTEMPTS}",
        # Only meaningful when demand exceeds supply, as the target says.
        "met": result["percent_booked"] >= HERD_TARGET_PERCENT
        and result["max_attempts_per_patient"] <= MAX_ATTEMPTS,
    }
    print_result(result)
    return result


# --- Preparation (a subprocess with the server's settings) ---------------------------------


def prepare(*, env: dict[str, str], scenario: str, patients: int, slots: int) -> dict[str, Any]:
    """Make the scenario's practice, blocked slots and patients with tokens; their description."""
    spec = {"scenario": scenario, "patients": patients, "slots": slots}
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "fixtures.json"
        done = subprocess.run(
            [PYTHON, str(Path(__file__).resolve()), PREPARE, json.dumps(spec), str(out)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"Preparing the {scenario} failed:\n{done.stderr[-3000:]}")
        fixtures: dict[str, Any] = json.loads(out.read_text())
    return fixtures


def _prepare_in_django(*, spec: dict[str, Any], out: Path) -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.utils import timezone

    from accounts.models import PatientProfile, Role, User
    from practices.models import Clinician, Practice, PracticeMembership, Slot, SlotStatus
    from practices.services import ensure_default_slot_types, local_to_utc

    rush = spec["scenario"] == "rush"
    now = timezone.now()
    with transaction.atomic():
        code = _unused_ods_code(prefix="RUSH" if rush else "HERD", taken=Practice.objects)
        practice = Practice.objects.create(
            ods_code=code,
            name="8am Rush Bench Surgery" if rush else "Herd Bench Surgery",
            # "No patient with two of the released slots" is this practice's own limit.
            max_future_appointments=1,
        )
        ensure_default_slot_types(practice=practice)
        tz, today = practice.tz, timezone.localdate(timezone=practice.tz)
        # The rush spreads its slots over many clinicians (four each) so that they all fit
        # in the rest of the day; the herd's are a morning's list of a few clinicians.
        per_clinician = 4 if rush else 16
        clinician_count = math.ceil(spec["slots"] / per_clinician)
        rows = math.ceil(spec["slots"] / clinician_count)
        length = dt.timedelta(minutes=SLOT_MINUTES * rows)
        # After the practice's minimum notice, with a margin for the run itself, on the
        # next ten minutes; tomorrow morning when today has no room left (late evening).
        earliest = now + dt.timedelta(minutes=practice.min_notice_minutes + 20)
        first = dt.datetime.fromtimestamp(math.ceil(earliest.timestamp() / 600) * 600, tz=dt.UTC)
        same_day = rush and (first + length).astimezone(tz).date() == today
        if not same_day:
            first = local_to_utc(today + dt.timedelta(days=1), dt.time(9), tz)
        day = first.astimezone(tz).date()

        password = make_password(None)  # no one signs in: they hold tokens
        staff = User.objects.bulk_create(
            User(
                email=f"{code.lower()}.gp{i}@bench.example",
                given_name="Bench",
                family_name=f"GP {i}",
                role=Role.CLINICIAN,
                is_staff=True,
                password=password,
            )
            for i in range(clinician_count)
        )
        PracticeMembership.objects.bulk_create(
            PracticeMembership(practice=practice, user=user) for user in staff
        )
        clinicians = Clinician.objects.bulk_create(
            Clinician(user=user, display_name=f"Dr Bench {i:02d}", profession="gp")
            for i, user in enumerate(staff)
        )
        made = Slot.objects.bulk_create(
            Slot(
                practice=practice,
                clinician=clinicians[i % clinician_count],
                start=first + dt.timedelta(minutes=SLOT_MINUTES * (i // clinician_count)),
                end=first + dt.timedelta(minutes=SLOT_MINUTES * (i // clinician_count + 1)),
                slot_type="routine",
                # Hidden until T0: blocked slots are in no patient's search and refused to
                # anyone who guessed their id.
                status=SlotStatus.BLOCKED,
            )
            for i in range(spec["slots"])
        )
        users = User.objects.bulk_create(
            User(
                email=f"{code.lower()}.{n}@bench.example",
                given_name="Patient",
                family_name=f"{n:05d}",
                role=Role.PATIENT,
                password=password,
                email_verified_at=now,
            )
            for n in range(spec["patients"])
        )
        PatientProfile.objects.bulk_create(
            PatientProfile(user=user, registered_practice=practice) for user in users
        )

    patients = [[str(user.pk), patient_access_token(user.pk)] for user in users]
    out.write_text(
        json.dumps(
            {
                "scenario": spec["scenario"],
                "practice": code,
                "timezone": practice.timezone,
                "day": day.isoformat(),
                "same_day": day == today,
                "min_notice_minutes": practice.min_notice_minutes,
                "first_start": first.isoformat(),
                "last_end": max(slot.end for slot in made).isoformat(),
                "clinicians": clinician_count,
                "slot_ids": [str(slot.pk) for slot in made],
                "patients": patients,
            }
        )
    )


def _unused_ods_code(*, prefix: str, taken: Any) -> str:
    """A new ODS code for this run's practice: the prefix and five random characters."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
    while True:
        code = prefix + "".join(secrets.choice(alphabet) for _ in range(5))
        if not taken.filter(ods_code=code).exists():
            return code


# --- The release and the checks (SQL, so that T0 is one statement's commit) ----------------

RELEASE_SQL = """
UPDATE practices_slot SET status = 'free', released_at = statement_timestamp()
WHERE id = ANY(%(ids)s::uuid[]) AND status = 'blocked'
"""

# "Live" is booking.models.HOLDS_SLOT: any appointment but a cancelled one holds its slot.
VERIFY_SQL = """
WITH released AS (
    SELECT id, status, released_at FROM practices_slot WHERE id = ANY(%(ids)s::uuid[])
), live AS (
    SELECT slot_id, patient_id, booked_at FROM booking_appointment
    WHERE slot_id = ANY(%(ids)s::uuid[]) AND status <> 'cancelled'
)
SELECT
    (SELECT count(*) FROM released),
    (SELECT count(DISTINCT slot_id) FROM live),
    (SELECT count(*) FROM (SELECT 1 FROM live GROUP BY slot_id HAVING count(*) > 1) AS s),
    (SELECT count(*) FROM (SELECT 1 FROM live GROUP BY patient_id HAVING count(*) > 1) AS p),
    (SELECT count(*) FROM released AS r
     WHERE (r.status = 'booked') <> EXISTS (SELECT 1 FROM live WHERE live.slot_id = r.id)),
    (SELECT extract(epoch FROM max(booked_at) - (SELECT min(released_at) FROM released))
     FROM live)
"""


def _verify(*, database_url: str, slot_ids: list[str]) -> dict[str, Any]:
    with psycopg.connect(database_url, autocommit=True) as connection:
        row = connection.execute(VERIFY_SQL, {"ids": slot_ids}).fetchone()
    assert row is not None
    released, booked, double, two, mismatched, gone = row
    return {
        "slots_released": released,
        "slots_booked": booked,
        "double_booked_slots": double,
        "patients_with_two_released_slots": two,
        # A slot marked booked without a live appointment, or free with one.
        "slot_status_mismatches": mismatched,
        "seconds_release_to_last_booking_db": None if gone is None else round(float(gone), 3),
    }


# --- The crowd ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    status: int  # 0: no answer (connection failed or timed out)
    data: bytes
    asked: float  # loop time the client wanted to send it
    sent: float  # ... and when a connection was free and it went out
    done: float


@dataclass(frozen=True, slots=True)
class Sample:
    kind: str  # "availability" or "booking"
    status: int
    code: str  # the problem's code, for 4xx
    sent: float  # loop time it went out (before or after T0)
    seconds: float  # on the wire: connect, send, answer
    queued: float  # waiting for one of the shared connections first


class Http:
    """A small HTTP/1.1 client on asyncio streams, light enough to drive thousands of
    patients from one core beside the server: at most ``connections`` requests in flight, on
    kept-alive connections when the server allows (gunicorn's sync workers close after every
    answer, so there most requests connect afresh, as they would through a load balancer)."""

    def __init__(self, *, base_url: str, connections: int) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self._free = asyncio.Semaphore(connections)
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def request(
        self, *, method: str, path: str, token: str, body: dict[str, Any] | None = None
    ) -> Answer:
        loop = asyncio.get_running_loop()
        payload = b"" if body is None else json.dumps(body).encode()
        head = (
            f"{method} {self.prefix}{path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Authorization: Bearer {token}\r\nAccept: application/json\r\n"
        )
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
        raw = (head + "\r\n").encode() + payload
        asked = loop.time()
        async with self._free:
            sent = loop.time()
            try:
                status, data = await asyncio.wait_for(self._exchange(raw), REQUEST_TIMEOUT_SECONDS)
            except (OSError, EOFError, TimeoutError, ValueError, asyncio.LimitOverrunError):
                status, data = 0, b""
            return Answer(status=status, data=data, asked=asked, sent=sent, done=loop.time())

    async def close(self) -> None:
        while self._idle:
            _, writer = self._idle.pop()
            writer.close()

    async def _exchange(self, raw: bytes) -> tuple[int, bytes]:
        if self._idle:
            reader, writer = self._idle.pop()
            try:
                return await self._once(reader, writer, raw)
            except asyncio.IncompleteReadError as exc:
                if exc.partial:
                    raise
                # Closed without a byte of answer: the server dropped the idle connection
                # (keep-alive timeout) before reading this request, so it is sent again, as
                # HTTP clients do. Never happens on gunicorn's sync workers: no keep-alive.
        reader, writer = await asyncio.open_connection(self.host, self.port)
        return await self._once(reader, writer, raw)

    async def _once(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes
    ) -> tuple[int, bytes]:
        keep = False
        try:
            writer.write(raw)
            await writer.drain()
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            version, status = head[0].split(" ", 2)[:2]
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip().lower()
            if "content-length" in headers:
                data = await reader.readexactly(int(headers["content-length"]))
            elif headers.get("transfer-encoding") == "chunked":
                data = await _chunked(reader)
            else:
                data = await reader.read()
                headers["connection"] = "close"
            keep = version == "HTTP/1.1" and headers.get("connection") != "close"
            return int(status), data
        finally:
            if keep:
                self._idle.append((reader, writer))
            else:
                writer.close()


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
    await reader.readuntil(b"\r\n")  # no trailers from our server
    return b"".join(parts)


@dataclass
class Burst:
    """What the crowd saw: every request, and how each patient ended."""

    t0: float | None = None  # loop time the release committed
    ended: float = 0.0
    release_seconds: float = 0.0
    released: int = 0
    samples: list[Sample] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    attempts: Counter[int] = field(default_factory=Counter)
    last_booked: float | None = None  # loop time the last 201 arrived

    def record(self, *, kind: str, answer: Answer, body: Any) -> None:
        code = body.get("code", "") if isinstance(body, dict) and answer.status >= 400 else ""
        self.samples.append(
            Sample(
                kind=kind,
                status=answer.status,
                code=str(code),
                sent=answer.sent,
                seconds=answer.done - answer.sent,
                queued=answer.sent - answer.asked,
            )
        )

    def released_before(self, moment: float) -> bool:
        return self.t0 is not None and moment >= self.t0


@dataclass(frozen=True)
class Patient:
    token: str
    start_at: float  # loop time this patient starts polling
    rng: random.Random


async def _crowd(
    *,
    http: Http,
    fixtures: dict[str, Any],
    strategy: Strategy,
    seed: int,
    release: Callable[[], int],
) -> Burst:
    loop = asyncio.get_running_loop()
    burst = Burst()
    planned = loop.time() + LEAD_SECONDS
    picker = random.Random(seed)  # noqa: S311  # a repeatable crowd, not a secret
    patients = [
        Patient(
            token=token,
            start_at=planned + picker.uniform(-LEAD_SECONDS, LATE_SECONDS),
            rng=random.Random(picker.random()),  # noqa: S311
        )
        for _, token in fixtures["patients"]
    ]
    clients = [
        asyncio.create_task(
            _patient(http=http, burst=burst, fixtures=fixtures, strategy=strategy, patient=p)
        )
        for p in patients
    ]
    await asyncio.sleep(max(0.0, planned - loop.time()))
    started = loop.time()
    # On the loop's own thread, on a connection opened beforehand: a few milliseconds during
    # which the clients wait, rather than a thread that must win the GIL from the loop (which
    # made a release last over a second). T0 is when the commit has returned.
    burst.released = release()
    burst.t0 = loop.time()
    burst.release_seconds = burst.t0 - started
    done, pending = await asyncio.wait(clients, timeout=BURST_LIMIT_SECONDS)
    for task in pending:
        task.cancel()
        burst.outcomes["unfinished"] += 1
    await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        if task.exception() is not None:
            burst.outcomes[f"client_error_{type(task.exception()).__name__}"] += 1
    burst.ended = loop.time()
    await http.close()
    return burst


async def _patient(
    *, http: Http, burst: Burst, fixtures: dict[str, Any], strategy: Strategy, patient: Patient
) -> None:
    loop = asyncio.get_running_loop()
    rng = patient.rng
    await asyncio.sleep(max(0.0, patient.start_at - loop.time()))
    day = fixtures["day"]
    search = f"/api/v1/practices/{fixtures['practice']}/availability?start={day}&end={day}"
    while True:
        answer = await http.request(method="GET", path=search, token=patient.token)
        body = _json(answer.data)
        burst.record(kind="availability", answer=answer, body=body)
        seen = body.get("results", []) if answer.status == 200 and isinstance(body, dict) else []
        if seen:
            break
        if answer.status == 200 and burst.released_before(answer.sent):
            # Asked after the release and shown nothing: every slot has gone.
            burst.outcomes["saw_none_left"] += 1
            burst.attempts[0] += 1
            return
        if 400 <= answer.status < 500 and answer.status != 429:
            # Refused (a token that does not verify): polling again would not change it.
            burst.outcomes[f"refused_availability_{answer.status}"] += 1
            burst.attempts[0] += 1
            return
        await asyncio.sleep(POLL_SECONDS * rng.uniform(0.5, 1.5))

    choice = rng.choice(seen[:FIRST_SEEN])["id"]
    outcome = "gave_up_after_3"
    attempt = 0
    while attempt < MAX_ATTEMPTS:
        attempt += 1
        if strategy == "earliest":
            answer = await http.request(
                method="POST",
                path="/api/v1/appointments/earliest",
                token=patient.token,
                body={"practice_id": fixtures["practice"], "day": day},
            )
        else:
            answer = await http.request(
                method="POST",
                path="/api/v1/appointments",
                token=patient.token,
                body={"slot_id": choice},
            )
        body = _json(answer.data)
        burst.record(kind="booking", answer=answer, body=body)
        code = body.get("code", "") if isinstance(body, dict) else ""
        if answer.status == 201:
            outcome = "booked"
            burst.last_booked = max(burst.last_booked or 0.0, answer.done)
            break
        if answer.status == 409 and code in UNAVAILABLE:
            alternatives = body.get("alternatives") or []
            if not alternatives:
                outcome = "no_alternatives_left"
                break
            choice = rng.choice(alternatives)["slot_id"]
            continue
        if code in ALREADY_BOOKED:
            outcome = "already_booked"
            break
        if answer.status == 0 or answer.status >= 500 or code == "try_again":
            continue  # the same slot again, as a patient pressing "book" once more would
        outcome = f"refused_{answer.status}_{code}"
        break
    burst.outcomes[outcome] += 1
    burst.attempts[attempt] += 1


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None


# --- One scenario, start to end -------------------------------------------------------------


def race(
    *,
    base_url: str,
    env: dict[str, str],
    fixtures: dict[str, Any],
    strategy: Strategy,
    connections: int,
    seed: int,
) -> dict[str, Any]:
    """Let the crowd loose on the prepared practice, release its slots at T0, then check the
    database; the scenario's figures."""
    database_url = env["DATABASE_URL"]
    slot_ids = fixtures["slot_ids"]
    http = Http(base_url=base_url, connections=connections)
    with psycopg.connect(database_url, autocommit=True) as connection:

        def release() -> int:
            return connection.execute(RELEASE_SQL, {"ids": slot_ids}).rowcount

        # The crowd shares the machine with the server: its CPU time shows it kept up.
        cpu = time.process_time()
        rows_before = _row_counts(connection)
        burst = asyncio.run(
            _crowd(http=http, fixtures=fixtures, strategy=strategy, seed=seed, release=release)
        )
        rows = {k: v - rows_before[k] for k, v in _row_counts(connection).items()}
        cpu = time.process_time() - cpu
    checks = _verify(database_url=database_url, slot_ids=slot_ids)
    assert burst.t0 is not None
    seconds = max(burst.ended - burst.t0, 1e-9)
    # A booking can only follow a poll that saw the release: all of them are the burst's.
    during = [s for s in burst.samples if s.sent >= burst.t0 or s.kind == "booking"]
    before = [s for s in burst.samples if s.sent < burst.t0 and s.kind == "availability"]
    bookings = [s for s in during if s.kind == "booking"]
    created = sum(1 for s in bookings if s.status == 201)
    conflicts = sum(1 for s in bookings if s.status == 409)
    released, booked = checks["slots_released"], checks["slots_booked"]
    all_gone = booked == released and burst.last_booked is not None
    errors = {
        "5xx": sum(1 for s in burst.samples if s.status >= 500),
        "no_answer": sum(1 for s in burst.samples if s.status == 0),
        # Patients refused for a reason no rush explains (a bad token, "too soon"), or stuck.
        "unexpected_outcomes": sum(
            count
            for name, count in burst.outcomes.items()
            if name.startswith(("refused", "unfinished", "client_error"))
        ),
    }
    attempted = {n: c for n, c in burst.attempts.items() if n > 0}
    result: dict[str, Any] = {
        "scenario": fixtures["scenario"],
        "strategy": strategy,
        "practice": fixtures["practice"],
        "day": fixtures["day"],
        "same_day": fixtures["same_day"],
        "slot_times": [fixtures["first_start"], fixtures["last_end"]],
        "patients": len(fixtures["patients"]),
        "connections": connections,
        "poll_seconds": POLL_SECONDS,
        "slots_released": released,
        "slots_released_at_t0": burst.released,
        "release_statement_seconds": round(burst.release_seconds, 4),
        "slots_booked": booked,
        "percent_booked": round(100 * booked / released, 1) if released else 0.0,
        "seconds_until_all_gone": (
            round(burst.last_booked - burst.t0, 3)
            if all_gone and burst.last_booked is not None
            else None
        ),
        "burst_seconds": round(seconds, 3),
        "driver_cpu_seconds": round(cpu, 2),
        "requests": {
            "availability": _figures([s for s in during if s.kind == "availability"], seconds),
            "booking": _figures(bookings, seconds),
            "all": {"count": len(during), "rps": round(len(during) / seconds, 1)},
        },
        "before_release": {"availability": _figures(before, LEAD_SECONDS)},
        # What a read replica could take: requests that only read (the searches) against those
        # that write, and the rows the database read against those it wrote.
        "read_write_split": {
            "read_requests": len([s for s in during if s.kind == "availability"]),
            "write_requests": len(bookings),
            "rows_read": rows["tup_fetched"],
            "rows_written": rows["tup_inserted"] + rows["tup_updated"] + rows["tup_deleted"],
            "transactions": rows["xact_commit"] + rows["xact_rollback"],
        },
        "bookings_created": created,
        "conflicts_409_per_booking": round(conflicts / created, 2) if created else None,
        "booking_attempts_per_patient": {
            "distribution": {str(n): burst.attempts[n] for n in sorted(burst.attempts)},
            "mean_of_those_who_tried": (
                round(sum(n * c for n, c in attempted.items()) / sum(attempted.values()), 2)
                if attempted
                else 0.0
            ),
        },
        "max_attempts_per_patient": max(burst.attempts, default=0),
        "outcomes": dict(burst.outcomes.most_common()),
        "errors": errors,
        **{key: value for key, value in checks.items() if key != "slots_released"},
    }
    result["ok"] = (
        errors["5xx"] == 0
        and errors["no_answer"] == 0
        and errors["unexpected_outcomes"] == 0
        and checks["double_booked_slots"] == 0
        and checks["patients_with_two_released_slots"] == 0
        and checks["slot_status_mismatches"] == 0
        and created == booked  # every 201 is a live appointment and every booking had a 201
    )
    return result


STATS_SQL = """
    SELECT xact_commit, xact_rollback, tup_fetched, tup_inserted, tup_updated, tup_deleted
    FROM pg_stat_database WHERE datname = current_database()
"""


def _row_counts(connection: psycopg.Connection) -> dict[str, int]:
    """The database's running totals of transactions and rows (pg_stat_database)."""
    # Backends report their counts when idle for a moment (PostgreSQL 15 flushes at most
    # once a second); wait for them, and read afresh rather than this session's snapshot.
    time.sleep(1.5)
    connection.execute("SELECT pg_stat_clear_snapshot()")
    cursor = connection.execute(STATS_SQL)
    names = [column.name for column in cursor.description or []]
    row = cursor.fetchone()
    assert row is not None
    return dict(zip(names, (int(value) for value in row), strict=True))


def _figures(samples: Sequence[Sample], seconds: float) -> dict[str, Any]:
    """Count, rate, latency percentiles (on the wire), waits for a connection, status codes."""
    wire = sorted(s.seconds for s in samples)
    queued = sorted(s.queued for s in samples)
    statuses = Counter(f"{s.status} {s.code}".strip() for s in samples)
    return {
        "count": len(samples),
        "rps": round(len(samples) / seconds, 1) if seconds else 0.0,
        "p50_ms": _ms(wire, 0.50),
        "p95_ms": _ms(wire, 0.95),
        "p99_ms": _ms(wire, 0.99),
        "max_ms": _ms(wire, 1.0),
        "queued_p50_ms": _ms(queued, 0.50),
        "queued_p99_ms": _ms(queued, 0.99),
        "status": dict(sorted(statuses.items())),
    }


def _ms(ordered: list[float], share: float) -> float | None:
    if not ordered:
        return None
    return round(1000 * ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))], 1)


def print_result(result: dict[str, Any]) -> None:
    day = "same-day" if result["same_day"] else f"for {result['day']}"
    print(
        f"\n{result['scenario']}: {result['patients']:,} patients, {result['slots_released']} "
        f"slots ({day}) released at T0, {result['connections']} connections, practice "
        f"{result['practice']}"
    )
    print(
        f"  {'during the burst':<22}{'count':>7}{'rps':>8}{'p50 ms':>9}{'p95 ms':>9}"
        f"{'p99 ms':>9}{'wait p50/p99 ms':>18}  status"
    )
    rows = [
        ("availability", result["requests"]["availability"]),
        ("booking", result["requests"]["booking"]),
        ("availability before T0", result["before_release"]["availability"]),
    ]
    for name, f in rows:
        wait = f"{_show(f['queued_p50_ms'])}/{_show(f['queued_p99_ms'])}"
        print(
            f"  {name:<22}{f['count']:>7}{f['rps']:>8.1f}{_show(f['p50_ms']):>9}"
            f"{_show(f['p95_ms']):>9}{_show(f['p99_ms']):>9}{wait:>18}  {f['status']}"
        )
    gone = result["seconds_until_all_gone"]
    print(
        f"  booked {result['slots_booked']}/{result['slots_released']} "
        f"({result['percent_booked']}%); "
        + (f"all gone {gone} s after T0" if gone is not None else "not all gone")
        + f"; burst {result['burst_seconds']} s, {result['requests']['all']['rps']} requests/s; "
        f"409s per booking {result['conflicts_409_per_booking']}; driver CPU "
        f"{result['driver_cpu_seconds']} s"
    )
    split = result["read_write_split"]
    print(
        f"  read/write split: {split['read_requests']} searches to {split['write_requests']} "
        f"bookings; {split['rows_read']:,} rows read to {split['rows_written']:,} written in "
        f"{split['transactions']:,} transactions"
    )
    attempts = result["booking_attempts_per_patient"]
    print(
        f"  booking attempts per patient {attempts['distribution']} (mean "
        f"{attempts['mean_of_those_who_tried']} of those who tried); outcomes {result['outcomes']}"
    )
    print(
        f"  checks: 5xx {result['errors']['5xx']}, no answer {result['errors']['no_answer']}, "
        f"unexpected outcomes {result['errors']['unexpected_outcomes']}, "
        f"double-booked slots {result['double_booked_slots']}, patients with two "
        f"{result['patients_with_two_released_slots']}, slot status mismatches "
        f"{result['slot_status_mismatches']}: {'ok' if result['ok'] else 'FAILED'}"
    )
    if "target" in result:
        met = "met" if result["target"]["met"] else "MISSED"
        print(f"  target: >= {HERD_TARGET_PERCENT}% booked, <= {MAX_ATTEMPTS} attempts: {met}")


def _show(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


# --- Standalone -----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="gp_booking_bench", help="already seeded")
    parser.add_argument("--patients", type=int, default=2000, help="the rush's patients")
    parser.add_argument("--slots", type=int, default=40, help="the rush's same-day slots")
    parser.add_argument("--herd-patients", type=int, default=200)
    parser.add_argument("--herd-slots", type=int, default=93)
    parser.add_argument("--connections", type=int, default=CONNECTIONS)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument(
        "--only",
        choices=["rush", "rush_earliest", "herd_alternatives", "herd_earliest"],
        action="append",
        help="run only this scenario (repeatable)",
    )
    args = parser.parse_args()
    wanted = args.only or ["rush", "rush_earliest", "herd_alternatives", "herd_earliest"]
    RESULTS.mkdir(parents=True, exist_ok=True)
    env = server_env(database=args.database)
    port = free_port()
    log = RESULTS / "rush-gunicorn.log"
    server = start_gunicorn(env, port=port, workers=args.workers, log=log.open("w"))
    results: dict[str, Any] = {"settings": vars(args)}
    try:
        wait_until_up(port)
        base = f"http://127.0.0.1:{port}"
        common = {"connections": args.connections}
        strategies: tuple[Strategy, ...] = ("alternatives", "earliest")
        for strategy in strategies:
            name = "rush" if strategy == "alternatives" else f"rush_{strategy}"
            if name in wanted:
                results[name] = run_rush(
                    base,
                    env,
                    patients=args.patients,
                    slots=args.slots,
                    strategy=strategy,
                    **common,
                )
        for strategy in strategies:
            if f"herd_{strategy}" in wanted:
                results[f"herd_{strategy}"] = run_herd(
                    base,
                    env,
                    patients=args.herd_patients,
                    slots=args.herd_slots,
                    strategy=strategy,
                    **common,
                )
    finally:
        server.terminate()
        server.wait(timeout=30)
    out = RESULTS / "rush.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"\nWrote {out.relative_to(ROOT)}; gunicorn's log: {log.relative_to(ROOT)}")
    if not all(r["ok"] for name, r in results.items() if name != "settings"):
        sys.exit(1)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == PREPARE:
        _prepare_in_django(spec=json.loads(sys.argv[2]), out=Path(sys.argv[3]))
    else:
        main()
