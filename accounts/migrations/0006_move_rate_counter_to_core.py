"""The throttle counters moved to the shared app (core.0001); their rows are not kept."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_rate_counter"), ("core", "0001_initial")]

    operations = [migrations.DeleteModel(name="RateCounter")]
