"""`make bench-waiting-list`: 500 patients waiting at one practice, a burst of 50 cancellations.

Sets up its own PostgreSQL database, one practice with four clinicians, 50 booked appointments
(tomorrow and the day after) and 500 patients on the waiting list (any time in the next ten
days). Starts two real `manage.py notifications_worker` processes (the worker that matches
freed slots and ends offers), then cancels the 50 appointments at once from 10 threads. Waiting
patients answer their offers as people would: most claim it after a short while (0.2-3 s), one
in ten declines (the slot moves on to the next in line).

Reports, per freed slot, the time from its cancellation to its first offer and to its refill
(median, p95, max), how many freed slots were offered (all must be), refilled, offered more
than once, and checks that no slot holds two live appointments and no patient holds two of
the freed slots. Writes results/bench/waiting_list.json.
"""

import argparse
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "bench"
PYTHON = sys.executable


def psql(*arguments: str) -> None:
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-q", *arguments],
        check=True,
        capture_output=True,
        text=True,
    )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"median": None, "p95": None, "max": None}
    return {
        "median": round(statistics.median(values), 3),
        "p95": round(percentile(values, 0.95), 3),
        "max": round(max(values), 3),
    }


def build(*, waiting: int, cancellations: int) -> tuple[list, list]:
    """The practice, its slots, the appointments to cancel and the waiting patients."""
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from accounts.models import PatientProfile, Role, User
    from booking.services import Actor, book_appointment, waiting_list
    from datasets.demo import nhs_numbers
    from practices.models import Clinician, Practice, PracticeMembership, Slot
    from practices.services import ensure_default_slot_types

    practice = Practice.objects.create(ods_code="W90001", name="Waiting List Bench Surgery")
    ensure_default_slot_types(practice=practice)
    password = make_password("Bench-Pass-123!")
    numbers = nhs_numbers(start=900_000)

    def people(prefix: str, count: int) -> list[User]:
        users = User.objects.bulk_create(
            User(
                email=f"{prefix}{i}@bench.example",
                given_name=prefix.capitalize(),
                family_name=f"{i:04d}",
                role=Role.PATIENT,
                password=password,
                email_verified_at=timezone.now(),
            )
            for i in range(count)
        )
        PatientProfile.objects.bulk_create(
            PatientProfile(
                user=user,
                nhs_number=next(numbers),
                nhs_number_confirmed_at=timezone.now(),
                date_of_birth=dt.date(1980, 1, 1),
                phone="+447700900000",
                registered_practice=practice,
                notify_by_sms=True,
            )
            for user in users
        )
        return users

    clinicians = []
    for i in range(4):
        staff = User.objects.create(
            email=f"gp{i}@bench.example", role=Role.CLINICIAN, is_staff=True, password=password
        )
        PracticeMembership.objects.create(practice=practice, user=staff)
        clinicians.append(
            Clinician.objects.create(user=staff, display_name=f"Dr {i}", profession="gp")
        )
    first = timezone.now().replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=26)
    slots = Slot.objects.bulk_create(
        Slot(
            practice=practice,
            clinician=clinicians[i % 4],
            start=first + dt.timedelta(minutes=10 * (i // 4)),
            end=first + dt.timedelta(minutes=10 * (i // 4) + 10),
            slot_type="routine",
        )
        for i in range(cancellations)
    )
    holders = people("holder", cancellations)
    appointments = [
        book_appointment(actor=Actor(user=holder), slot_id=slot.pk)
        for holder, slot in zip(holders, slots, strict=True)
    ]
    latest = timezone.localtime(timezone=practice.tz).date() + dt.timedelta(days=10)
    for patient in people("waiter", waiting):
        waiting_list.join_waiting_list(
            actor=Actor(user=patient),
            practice_ods=practice.ods_code,
            wishes=waiting_list.Wishes(latest_date=latest),
        )
    return appointments, slots


def start_workers(env: dict, count: int) -> list[subprocess.Popen]:
    return [
        subprocess.Popen(
            [
                PYTHON,
                "manage.py",
                "notifications_worker",
                "--interval",
                "0.1",
                "--sweep-seconds",
                "5",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(count)
    ]


def respond(stop: threading.Event, seed: int, decline_share: float) -> None:
    """Waiting patients answering their offers, each after a human pause."""
    from django.db import connection

    from booking.models import WaitingListOffer
    from booking.services import Actor, waiting_list
    from core.exceptions import DomainError

    rng = random.Random(seed)  # noqa: S311  # a repeatable simulation, not a secret
    answered: set = set()
    pending: dict = {}
    try:
        while not stop.is_set():
            for offer in WaitingListOffer.objects.filter(status="open").select_related(
                "entry__patient"
            ):
                if offer.pk not in answered and offer.pk not in pending:
                    pending[offer.pk] = (time.monotonic() + rng.uniform(0.2, 3.0), offer)
            for pk, (due, offer) in list(pending.items()):
                if time.monotonic() < due:
                    continue
                del pending[pk]
                answered.add(pk)
                actor = Actor(user=offer.entry.patient)
                try:
                    if rng.random() < decline_share:
                        waiting_list.decline_offer(actor=actor, offer_id=pk)
                    else:
                        waiting_list.claim_offer(actor=actor, offer_id=pk)
                except DomainError:
                    pass  # gone or ended meanwhile: as a patient would see it
            time.sleep(0.05)
    finally:
        connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waiting", type=int, default=500)
    parser.add_argument("--cancellations", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--decline-share", type=float, default=0.1)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--database", default="gp_booking_bench_waiting")
    args = parser.parse_args()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{args.database}",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "SMS_BACKEND": "booking.notifications.sms.LocMemSmsBackend",
        "LOG_LEVEL": "WARNING",
    }
    psql("-c", f"DROP DATABASE IF EXISTS {args.database}", "-c", f"CREATE DATABASE {args.database}")
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env,
                   check=True)  # fmt: skip
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db.models import Count, Min, Q

    from booking.models import Appointment, Vacancy, WaitingListOffer
    from booking.services import Actor, cancel_appointment
    from tests.concurrency import run_concurrently

    print(f"Building: {args.waiting} waiting patients, {args.cancellations} appointments ...")
    appointments, slots = build(waiting=args.waiting, cancellations=args.cancellations)
    workers = start_workers(env, args.workers)
    stop = threading.Event()
    responder = threading.Thread(target=respond, args=(stop, 20261130, args.decline_share))
    try:
        time.sleep(3)  # the workers are up and polling
        responder.start()
        print(f"Cancelling {args.cancellations} appointments at once ...")
        burst_started = time.monotonic()

        def cancel(appointment):
            return cancel_appointment(
                actor=Actor(user=appointment.patient),
                appointment_id=appointment.pk,
                reason="Cannot come",
            )

        chunks = [appointments[i::10] for i in range(10)]
        results = run_concurrently(lambda chunk: [cancel(a) for a in chunk], chunks)
        failures = [r for r in results if isinstance(r, BaseException)]
        assert not failures, failures
        slot_ids = [slot.pk for slot in slots]
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            refilled = Appointment.objects.filter(slot_id__in=slot_ids, status="booked").count()
            open_offers = WaitingListOffer.objects.filter(status="open").count()
            settled = (
                open_offers == 0
                and not Vacancy.objects.filter(matched_at__isnull=True).exists()
                and time.monotonic() - burst_started > 10
            )
            if refilled == len(slot_ids) or settled:
                break
            time.sleep(0.25)
        elapsed = time.monotonic() - burst_started
    finally:
        stop.set()
        responder.join(timeout=10)
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)

    freed = {
        v["slot_id"]: v["freed"]
        for v in Vacancy.objects.filter(slot_id__in=slot_ids, cause="cancelled")
        .values("slot_id")
        .annotate(freed=Min("freed_at"))
    }
    first_offer = {
        o["slot_id"]: o["first"]
        for o in WaitingListOffer.objects.filter(slot_id__in=slot_ids)
        .values("slot_id")
        .annotate(first=Min("offered_at"))
    }
    refill = {
        a.slot_id: a.booked_at
        for a in Appointment.objects.filter(slot_id__in=slot_ids, status="booked")
    }
    to_offer = [(first_offer[s] - freed[s]).total_seconds() for s in freed if s in first_offer]
    to_refill = [(refill[s] - freed[s]).total_seconds() for s in freed if s in refill]
    # {offers made for a slot: how many slots}
    offers_per_slot = dict(
        sorted(
            Counter(
                WaitingListOffer.objects.filter(slot_id__in=slot_ids)
                .values("slot_id")
                .annotate(n=Count("id"))
                .values_list("n", flat=True)
            ).items()
        )
    )
    double_booked = (
        Appointment.objects.filter(slot_id__in=slot_ids)
        .values("slot_id")
        .annotate(live=Count("id", filter=~Q(status="cancelled")))
        .filter(live__gt=1)
        .count()
    )
    patients_with_two = (
        Appointment.objects.filter(slot_id__in=slot_ids, status="booked")
        .values("patient_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    statuses = dict(
        WaitingListOffer.objects.values_list("status").annotate(n=Count("id")).order_by()
    )
    result = {
        "waiting": args.waiting,
        "cancellations": args.cancellations,
        "workers": args.workers,
        "decline_share": args.decline_share,
        "seconds_until_settled": round(elapsed, 2),
        "freed_slots": len(freed),
        "freed_slots_offered": len(to_offer),
        "slots_refilled": len(to_refill),
        "seconds_freed_to_first_offer": summary(to_offer),
        "seconds_freed_to_refill": summary(to_refill),
        "offers_per_slot": offers_per_slot,
        "offer_statuses": statuses,
        "double_booked_slots": double_booked,
        "patients_with_two_freed_slots": patients_with_two,
    }
    print(json.dumps(result, indent=2, default=str))
    verdict = (
        "ok"
        if len(to_offer) == len(freed) == args.cancellations
        and double_booked == 0
        and patients_with_two == 0
        else "FAILED"
    )
    print(f"Every freed slot offered, none double-booked: {verdict}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "waiting_list.json"
    out.write_text(json.dumps(result, indent=2, default=str))
    print(f"Written to {out.relative_to(ROOT)}")
    if verdict != "ok":
        sys.exit(1)


if __name__ == "__main__":
    main()
