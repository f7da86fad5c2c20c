"""Guards the database keeps whatever code writes the rows.

1. A patient never holds two overlapping appointments that are not cancelled: an exclusion
   constraint on PostgreSQL, triggers on SQLite.
2. Appointment history is append-only: UPDATE and DELETE are refused by triggers.
"""

from django.db import migrations

from config.db import append_only, vendor_sql

POSTGRES_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    """
    ALTER TABLE booking_appointment ADD CONSTRAINT booking_patient_no_overlap
    EXCLUDE USING gist (patient_id WITH =, tstzrange("start", "end", '[)') WITH &&)
    WHERE (status <> 'cancelled')
    """,
]
POSTGRES_BACKWARD = [
    "ALTER TABLE booking_appointment DROP CONSTRAINT IF EXISTS booking_patient_no_overlap",
]

_SQLITE_OVERLAP = """
    SELECT RAISE(ABORT, 'booking_patient_no_overlap: patient already has an appointment then')
    WHERE NEW.status <> 'cancelled' AND EXISTS (
        SELECT 1 FROM booking_appointment AS other
        WHERE other.patient_id = NEW.patient_id
          AND other.id != NEW.id
          AND other.status <> 'cancelled'
          AND other."start" < NEW."end"
          AND other."end" > NEW."start"
    );
"""
SQLITE_FORWARD = [
    f"""CREATE TRIGGER booking_patient_no_overlap_insert BEFORE INSERT ON booking_appointment
    BEGIN {_SQLITE_OVERLAP} END""",
    f"""CREATE TRIGGER booking_patient_no_overlap_update
    BEFORE UPDATE OF patient_id, "start", "end", status ON booking_appointment
    BEGIN {_SQLITE_OVERLAP} END""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS booking_patient_no_overlap_insert",
    "DROP TRIGGER IF EXISTS booking_patient_no_overlap_update",
]


class Migration(migrations.Migration):
    dependencies = [("booking", "0001_initial")]

    operations = [
        vendor_sql(
            {"postgresql": POSTGRES_FORWARD, "sqlite": SQLITE_FORWARD},
            {"postgresql": POSTGRES_BACKWARD, "sqlite": SQLITE_BACKWARD},
        ),
        append_only("booking_appointmenthistory"),
    ]
