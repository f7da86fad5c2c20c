from django.apps import AppConfig


class BookingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "booking"
    verbose_name = "Booking"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from .staff_groups import on_post_migrate

        # Once per migrate or flush, after auth has made the permissions of this app and of
        # the apps before it (its handler is connected first).
        post_migrate.connect(on_post_migrate, sender=self, dispatch_uid="booking.staff_groups")
