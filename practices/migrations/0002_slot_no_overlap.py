"""A clinician can never hold two overlapping slots, whatever code writes them."""

import django.contrib.postgres.constraints
import django.contrib.postgres.fields.ranges
from django.contrib.postgres.operations import BtreeGistExtension
from django.db import migrations

import core.db


class Migration(migrations.Migration):
    dependencies = [("practices", "0001_initial")]

    operations = [
        # Lets a GiST index compare the clinician's id with "=" beside the period's "&&".
        BtreeGistExtension(),
        migrations.AddConstraint(
            model_name="slot",
            constraint=django.contrib.postgres.constraints.ExclusionConstraint(
                expressions=[
                    ("clinician", "="),
                    (
                        core.db.TsTzRange(
                            "start", "end", django.contrib.postgres.fields.ranges.RangeBoundary()
                        ),
                        "&&",
                    ),
                ],
                name="practices_slot_no_overlap",
                violation_error_message="The clinician already has a slot at this time.",
            ),
        ),
    ]
