from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    # This module also holds the admin's config; "accounts" in INSTALLED_APPS means this one.
    default = True
    verbose_name = "Accounts"

    def ready(self) -> None:
        from . import schema  # noqa: F401  (registers the OpenAPI auth extension)


class StaffAdminConfig(admin_apps.AdminConfig):
    """Django's admin, as the staff site (accounts.admin_site); listed in INSTALLED_APPS in
    place of django.contrib.admin. Here, not beside the site, because this module is imported
    before the models are ready."""

    default = False
    default_site = "accounts.admin_site.StaffAdminSite"
