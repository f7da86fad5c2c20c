"""The deploy's smoke-test patient, from SMOKE_EMAIL and SMOKE_PASSWORD (the environment's
secret): made if missing, its password reset to the secret's on every run (so rotating the
secret and deploying rotates it). A confirmed patient of no practice who gets no messages:
staff never see it, and it books nothing (smoke_test --read-only).

    manage.py ensure_smoke_account          (the migrate task runs it after migrating)
"""

import os
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import LoginLockout, PatientProfile, Role, User, normalise_email


class Command(BaseCommand):
    help = "Create or update the deploy's smoke-test patient from SMOKE_EMAIL and SMOKE_PASSWORD."

    def handle(self, *args: Any, **options: Any) -> None:
        email, password = os.environ.get("SMOKE_EMAIL", ""), os.environ.get("SMOKE_PASSWORD", "")
        if not email or not password:
            self.stdout.write("No smoke account configured (SMOKE_EMAIL, SMOKE_PASSWORD).")
            return
        with transaction.atomic():
            user, created = User.objects.select_for_update().get_or_create(
                email=normalise_email(email),
                defaults={"role": Role.PATIENT, "given_name": "Smoke", "family_name": "Test"},
            )
            if user.role != Role.PATIENT or user.is_staff:
                self.stderr.write(f"{user.email} is not a patient account: left alone.")
                return
            user.set_password(password)
            user.email_verified_at = user.email_verified_at or timezone.now()
            user.save(update_fields=["password", "email_verified_at"])
            PatientProfile.objects.update_or_create(
                user=user, defaults={"notify_by_email": False, "notify_by_sms": False}
            )
            # A deploy must not fail its smoke test on a lock someone else caused.
            LoginLockout.objects.filter(email=user.email).delete()
        self.stdout.write(f"Smoke account {'created' if created else 'updated'}: {user.email}")
