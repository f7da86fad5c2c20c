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

        from practices.signals import slots_released, slots_withdrawn

        from .services.holds import on_slots_released, on_slots_withdrawn

        # New slots, and slots released from a block, are offered to the waiting list; held
        # slots blocked end their offers.
        slots_released.connect(on_slots_released, dispatch_uid="booking.waiting_list")
        slots_withdrawn.connect(on_slots_withdrawn, dispatch_uid="booking.waiting_list")
