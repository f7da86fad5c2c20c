from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared plumbing: HTTP machinery, domain errors, database helpers. No domain models."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "core"
    verbose_name = "Core"
