"""The throttle counters, moved here from accounts in the model state only.

The table stays ``accounts_ratecounter`` (created by accounts.0005): during a rolling deploy
the previous release's tasks write to it on every request, so it must never be dropped or
renamed under them. accounts.0006 removes the model from accounts' state.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [("accounts", "0005_rate_counter")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="RateCounter",
                    fields=[
                        (
                            "key",
                            models.CharField(max_length=200, primary_key=True, serialize=False),
                        ),
                        ("window_start", models.DateTimeField()),
                        ("hits", models.PositiveIntegerField()),
                    ],
                    options={"db_table": "accounts_ratecounter"},
                ),
            ],
            database_operations=[],
        ),
    ]
