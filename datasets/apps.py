from django.apps import AppConfig


class DatasetsConfig(AppConfig):
    """Data in bulk: the demo practices (seed_data) and the JSON export and import."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "datasets"
    verbose_name = "Datasets"
