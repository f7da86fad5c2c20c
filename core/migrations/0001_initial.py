"""The throttle counters, moved here from accounts (accounts.0006 drops the old table).

The counters live for a minute; they are not copied: a deploy with this migration starts
every caller's window afresh.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies: list[tuple[str, str]] = []

    operations = [
        migrations.CreateModel(
            name="RateCounter",
            fields=[
                ("key", models.CharField(max_length=200, primary_key=True, serialize=False)),
                ("window_start", models.DateTimeField()),
                ("hits", models.PositiveIntegerField()),
            ],
        ),
    ]
