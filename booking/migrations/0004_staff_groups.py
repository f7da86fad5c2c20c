"""Create the two staff permission groups (see booking.staff_groups)."""

from django.db import migrations

from booking.staff_groups import GROUPS, ensure_staff_groups

def create_groups(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally made after all migrations; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    ensure_staff_groups(
        apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"), strict=False
    )


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("booking", "0003_patient_proxy_and_outcome_permission"),
        ("practices", "0003_practice_is_demo"),
        ("accounts", "0004_audit_append_only"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
