"""The availability query uses its index at scale (100,000 slots on PostgreSQL)."""

import datetime as dt
import json

import pytest
from django.db import connection
from django.utils import timezone

from practices.models import Slot
from tests.concurrency import postgres_only
from tests.factories import ClinicianFactory, PracticeFactory

pytestmark = [postgres_only, pytest.mark.django_db]

SLOTS = 100_000


@pytest.fixture
def many_slots():
    practices = [PracticeFactory(ods_code=f"S{n:05d}") for n in range(50)]
    pairs = [(p.pk, ClinicianFactory(practice=p).pk) for p in practices for _ in range(2)]
    start = timezone.now().replace(minute=0, second=0, microsecond=0)
    with connection.cursor() as cursor:
        # 1,000 ten-minute slots for each of 100 clinicians, in one statement.
        cursor.execute(
            """
            INSERT INTO practices_slot
                (id, practice_id, clinician_id, start, "end", slot_type, channel, status,
                 online_bookable)
            SELECT gen_random_uuid(), c.practice_id, c.clinician_id,
                   %s + n * interval '10 minutes', %s + (n + 1) * interval '10 minutes',
                   'routine', 'in_person',
                   CASE WHEN n %% 3 = 0 THEN 'booked' ELSE 'free' END, true
            FROM unnest(%s::bigint[], %s::uuid[]) AS c(practice_id, clinician_id),
                 generate_series(0, %s - 1) AS n
            """,
            [start, start, [p for p, _ in pairs], [c for _, c in pairs], SLOTS // len(pairs)],
        )
        cursor.execute("ANALYZE practices_slot")
    return practices[0]


def plan(queryset) -> str:
    return json.dumps(json.loads(queryset.explain(format="json")))


def test_availability_of_one_practice_and_day_uses_the_free_slot_index(many_slots, alice):
    assert Slot.objects.count() == SLOTS
    now = timezone.now()
    query = Slot.objects.bookable_by(alice, many_slots, now=now).between(
        now, now + dt.timedelta(days=1)
    )

    chosen = plan(query)

    # The planner picks one of the slot indexes (practice, or practice and start for free
    # slots); what must never happen is reading the whole table.
    assert '"Relation Name": "practices_slot"' in chosen
    assert '"Index Name": "practices_slot_' in chosen
    assert '"Node Type": "Seq Scan"' not in chosen
