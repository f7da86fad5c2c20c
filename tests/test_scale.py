"""At a million slots, availability and the appointment lists still read through indexes.

One fixture builds 1,000,000 slots (100 clinicians at 50 practices, 10,000 ten-minute slots
each) and 100,000 appointments (every tenth slot, each clinician's for one patient) with
set-based SQL, then the tests read PostgreSQL's plans for the queries the API runs.
"""

import datetime as dt
import json

import pytest
from django.db import connection
from django.utils import timezone

from booking.models import Appointment
from practices.models import Slot
from tests.factories import (
    ClinicianFactory,
    MembershipFactory,
    PatientFactory,
    PracticeAdminFactory,
    PracticeFactory,
)

pytestmark = pytest.mark.django_db

CLINICIANS = 100
SLOTS = 1_000_000
EVERY_NTH_BOOKED = 10


@pytest.fixture
def million_slots():
    practices = [PracticeFactory(ods_code=f"S{n:05d}") for n in range(CLINICIANS // 2)]
    pairs = [(p.pk, ClinicianFactory(practice=p).pk) for p in practices for _ in range(2)]
    patients = [PatientFactory() for _ in pairs]
    start = timezone.now().replace(minute=0, second=0, microsecond=0) - dt.timedelta(days=30)
    with connection.cursor() as cursor:
        # Building a million rows under exclusion constraints takes longer than the statement
        # timeout the application runs with; this transaction lifts it for itself only.
        cursor.execute("SET LOCAL statement_timeout = 0")
        cursor.execute(
            """
            INSERT INTO practices_slot
                (id, practice_id, clinician_id, start, "end", slot_type, channel, status,
                 online_bookable)
            SELECT gen_random_uuid(), c.practice_id, c.clinician_id,
                   %(start)s + n * interval '10 minutes',
                   %(start)s + (n + 1) * interval '10 minutes',
                   'routine', 'in_person',
                   CASE WHEN n %% %(nth)s = 0 THEN 'booked' ELSE 'free' END, true
            FROM unnest(%(practices)s::bigint[], %(clinicians)s::uuid[])
                 AS c(practice_id, clinician_id),
                 generate_series(0, %(per)s - 1) AS n
            """,
            {
                "start": start,
                "nth": EVERY_NTH_BOOKED,
                "practices": [p for p, _ in pairs],
                "clinicians": [c for _, c in pairs],
                "per": SLOTS // len(pairs),
            },
        )
        # Each clinician's booked slots go to one patient, so no patient's appointments overlap.
        cursor.execute(
            """
            INSERT INTO booking_appointment
                (id, reference, patient_id, practice_id, slot_id, clinician_id, start, "end",
                 appointment_type, channel, status, description, comment, cancellation_reason,
                 booked_by_id, created_at, updated_at, version)
            -- Numbered references: random ones would collide now and then at this count.
            SELECT gen_random_uuid(), 'S' || lpad((row_number() OVER ())::text, 8, '0'),
                   p.patient_id,
                   s.practice_id, s.id, s.clinician_id, s.start, s."end", s.slot_type,
                   s.channel, 'booked', '', '', '', p.patient_id, now(), now(), 1
            FROM practices_slot s
            JOIN unnest(%(clinicians)s::uuid[], %(patients)s::uuid[])
                 AS p(clinician_id, patient_id) ON p.clinician_id = s.clinician_id
            WHERE s.status = 'booked'
            """,
            {"clinicians": [c for _, c in pairs], "patients": [p.pk for p in patients]},
        )
        cursor.execute("ANALYZE practices_slot")
        cursor.execute("ANALYZE booking_appointment")
    return practices[0], patients[0]


def scans_of(queryset, table: str) -> list[str]:
    """The node types PostgreSQL's plan uses to read ``table``."""
    nodes, found = [json.loads(queryset.explain(format="json"))[0]["Plan"]], []
    while nodes:
        node = nodes.pop()
        if node.get("Relation Name") == table:
            found.append(node["Node Type"])
        nodes.extend(node.get("Plans", []))
    return found


def uses_an_index_and_no_full_scan(queryset, table: str) -> bool:
    # Small tables (practices, memberships) may be read whole; the big one never.
    scans = scans_of(queryset, table)
    # (A Bitmap Heap Scan reads the rows a Bitmap Index Scan below it found.)
    index_driven = {"Index Scan", "Index Only Scan", "Bitmap Heap Scan"}
    return bool(scans) and set(scans) <= index_driven


def test_reads_use_indexes_at_a_million_slots(million_slots, alice):
    # One test, because building the data takes a minute or more; each read is asserted.
    practice, patient = million_slots
    staff = PracticeAdminFactory()
    MembershipFactory(practice=practice, user=staff)
    now = timezone.now()
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    reads = {
        "availability, one practice and day": (
            Slot.objects.bookable_by(alice, practice, now=now).between(
                now, now + dt.timedelta(days=1)
            ),
            "practices_slot",
        ),
        "a patient's appointment list": (
            Appointment.objects.visible_to(patient).upcoming_first(now)[:20],
            "booking_appointment",
        ),
        "a staff day list": (
            Appointment.objects.visible_to(staff)
            .filter(start__gte=day, start__lt=day + dt.timedelta(days=1))
            .upcoming_first(now)[:20],
            "booking_appointment",
        ),
    }

    assert Slot.objects.count() == SLOTS
    assert Appointment.objects.count() == SLOTS // EVERY_NTH_BOOKED
    for name, (query, table) in reads.items():
        assert uses_an_index_and_no_full_scan(query, table), (name, scans_of(query, table))
