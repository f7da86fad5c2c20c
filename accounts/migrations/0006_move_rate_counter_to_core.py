"""The throttle counters' model moved to the shared app (core.0001); its table stays."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_rate_counter"), ("core", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="RateCounter")],
            database_operations=[],
        ),
    ]
