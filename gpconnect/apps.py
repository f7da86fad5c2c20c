from django.apps import AppConfig


class GpConnectConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "gpconnect"
    verbose_name = "GP Connect"
