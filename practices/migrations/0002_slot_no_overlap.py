"""A clinician can never hold two overlapping slots, whatever code writes them.

PostgreSQL: an exclusion constraint over (clinician, [start, end)). SQLite has no exclusion
constraints, so triggers refuse an overlapping insert or update with the same meaning.
"""

from django.db import migrations

from config.db import vendor_sql

POSTGRES_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    """
    ALTER TABLE practices_slot ADD CONSTRAINT practices_slot_no_overlap
    EXCLUDE USING gist (clinician_id WITH =, tstzrange("start", "end", '[)') WITH &&)
    """,
]
POSTGRES_BACKWARD = ["ALTER TABLE practices_slot DROP CONSTRAINT practices_slot_no_overlap"]

_SQLITE_OVERLAP = """
    SELECT RAISE(ABORT, 'practices_slot_no_overlap: clinician already has a slot in this period')
    WHERE EXISTS (
        SELECT 1 FROM practices_slot AS other
        WHERE other.clinician_id = NEW.clinician_id
          AND other.id != NEW.id
          AND other."start" < NEW."end"
          AND other."end" > NEW."start"
    );
"""
SQLITE_FORWARD = [
    f"""CREATE TRIGGER practices_slot_no_overlap_insert BEFORE INSERT ON practices_slot
    BEGIN {_SQLITE_OVERLAP} END""",
    f"""CREATE TRIGGER practices_slot_no_overlap_update
    BEFORE UPDATE OF clinician_id, "start", "end" ON practices_slot
    BEGIN {_SQLITE_OVERLAP} END""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS practices_slot_no_overlap_insert",
    "DROP TRIGGER IF EXISTS practices_slot_no_overlap_update",
]


class Migration(migrations.Migration):
    dependencies = [("practices", "0001_initial")]

    operations = [
        vendor_sql(
            {"postgresql": POSTGRES_FORWARD, "sqlite": SQLITE_FORWARD},
            {"postgresql": POSTGRES_BACKWARD, "sqlite": SQLITE_BACKWARD},
        ),
    ]
