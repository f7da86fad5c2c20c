from django.db import migrations

from core.db import append_only


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_audit_and_staff_guard")]

    operations = [append_only("accounts_auditevent")]
