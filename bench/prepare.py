"""Pick the benchmark's users, tokens and slots from the seeded database; write them as JSON.

Run by bench/run.py with the same settings as the server, so the tokens verify there.
"""

import datetime as dt
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import django
from django.contrib.auth.hashers import make_password

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
django.setup()

from common import patient_access_token  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import PatientProfile, User  # noqa: E402
from accounts.tokens import issue_tokens  # noqa: E402
from booking.models import HOLDS_SLOT, Appointment  # noqa: E402
from datasets.demo import DEMO_DOMAIN, DEMO_LOGINS  # noqa: E402
from practices.models import Practice, Slot  # noqa: E402

BOOKINGS_WANTED = 9_000
BOOKERS_PER_PRACTICE = 60
# Makes this run's patients new even when the database is reused (--reuse).
RUN = str(int(time.time()))
HOT_ROUNDS, HOT_CONCURRENCY = 20, 50


def main(out: Path) -> None:
    now = timezone.now()
    practices = list(Practice.objects.filter(is_demo=True).order_by("ods_code"))
    first = practices[0]
    day = timezone.localdate() + dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)

    # The hot-slot rounds: each round a different practice and fifty patients of its own,
    # made here so that none already holds an appointment (which would change the answer).
    hot = []
    for round_index, practice in enumerate(practices[1 : 1 + HOT_ROUNDS]):
        patients = _fresh_patients(practice, HOT_CONCURRENCY, f"hot{round_index}")
        slot = (
            Slot.objects.free()
            .filter(practice=practice, online_bookable=True, start__gt=now + dt.timedelta(hours=3))
            .order_by("start")
            .first()
        )
        if slot and len(patients) == HOT_CONCURRENCY:
            hot.append(
                {"slot_id": str(slot.pk), "tokens": [patient_access_token(pk) for pk in patients]}
            )

    # Distinct free slots for the booking scenario, at most three per patient on separate days.
    bookings = []
    window = (now + dt.timedelta(hours=3), now + dt.timedelta(days=27))
    for practice in practices:
        patients = _fresh_patients(practice, BOOKERS_PER_PRACTICE, f"book-{practice.ods_code}")
        slots = list(
            Slot.objects.free()
            .filter(practice=practice, online_bookable=True, start__range=window)
            .exclude(pk__in=[h["slot_id"] for h in hot])
            .order_by("start")
            .values_list("pk", "start")
        )
        by_day: dict[dt.date, list] = defaultdict(list)
        for pk, start in slots:
            by_day[start.date()].append(pk)
        days = sorted(by_day)
        for index, patient in enumerate(patients):
            token = patient_access_token(patient)
            for day_index in range(3):
                slot_day = days[(index * 3 + day_index) % len(days)] if days else None
                if slot_day and by_day[slot_day]:
                    bookings.append((token, str(by_day[slot_day].pop())))
        if len(bookings) >= BOOKINGS_WANTED:
            break

    demo_patient = User.objects.get(email=DEMO_LOGINS["patient"])
    staff = User.objects.get(email=DEMO_LOGINS["practice admin"])
    start = dt.datetime.combine(day, dt.time.min, tzinfo=first.tz)
    out.write_text(
        json.dumps(
            {
                "practice": first.ods_code,
                "day": day.isoformat(),
                "day_start": start.isoformat(),
                "day_end": (start + dt.timedelta(days=1)).isoformat(),
                "patient_token": issue_tokens(user=demo_patient).access,
                "staff_token": issue_tokens(user=staff).access,
                "bookings": bookings[:BOOKINGS_WANTED],
                "hot": hot,
                "slot_count": Slot.objects.count(),
                "appointment_count": Appointment.objects.count(),
            }
        )
    )


def _fresh_patients(practice: Practice, count: int, tag: str) -> list:
    """Patients made for this run, registered at ``practice``, holding no appointment."""
    emails = [f"bench.{RUN}.{tag.lower()}.{n}@{DEMO_DOMAIN}" for n in range(count)]
    User.objects.bulk_create(
        [
            User(
                email=e,
                role="patient",
                password=make_password(None),
                email_verified_at=timezone.now(),
            )
            for e in emails
        ],
        ignore_conflicts=True,
    )
    users = list(User.objects.filter(email__in=emails))
    PatientProfile.objects.bulk_create(
        [PatientProfile(user=u, registered_practice=practice) for u in users], ignore_conflicts=True
    )
    busy = set(
        Appointment.objects.filter(HOLDS_SLOT, patient__in=users).values_list(
            "patient_id", flat=True
        )
    )
    return [u.pk for u in users if u.pk not in busy]


if __name__ == "__main__":
    main(Path(sys.argv[1]))
