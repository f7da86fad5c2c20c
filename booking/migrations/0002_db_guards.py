"""Guards the database keeps whatever code writes the rows.

1. A patient never holds two overlapping appointments that are not cancelled.
2. Appointment history is append-only: UPDATE and DELETE are refused by a trigger.
"""

import django.contrib.postgres.constraints
import django.contrib.postgres.fields.ranges
import django.db.models
from django.db import migrations

import core.db
from core.db import append_only


class Migration(migrations.Migration):
    dependencies = [("booking", "0001_initial")]

    # btree_gist comes from practices.0002 (booking.0001 depends on it); creating it here too
    # would make this migration drop it on the way back, under the slots' constraint.
    operations = [
        migrations.AddConstraint(
            model_name="appointment",
            constraint=django.contrib.postgres.constraints.ExclusionConstraint(
                condition=django.db.models.Q(("status", "cancelled"), _negated=True),
                expressions=[
                    ("patient", "="),
                    (
                        core.db.TsTzRange(
                            "start", "end", django.contrib.postgres.fields.ranges.RangeBoundary()
                        ),
                        "&&",
                    ),
                ],
                name="booking_patient_no_overlap",
                violation_error_message="The patient already has an appointment at this time.",
            ),
        ),
        append_only("booking_appointmenthistory"),
    ]
