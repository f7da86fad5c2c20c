import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from datasets.demo import DEMO_LOGINS, DEMO_PASSWORD, Sizes, reset_demo_data, seed_demo_data
from datasets.exchange import ImportRefused, export_data, import_data


class Command(BaseCommand):
    help = (
        "Create realistic demo data (idempotent), or --reset it, or --export / --import the "
        "booking data as JSON."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        defaults = Sizes()
        parser.add_argument("--practices", type=int, default=defaults.practices)
        parser.add_argument(
            "--clinicians-per-practice", type=int, default=defaults.clinicians_per_practice
        )
        parser.add_argument("--patients", type=int, default=defaults.patients)
        parser.add_argument("--days", type=int, default=defaults.days, help="Days of slots ahead")
        parser.add_argument(
            "--past-days", type=int, default=defaults.past_days, help="Days of history"
        )
        parser.add_argument("--appointments", type=int, default=defaults.appointments)
        parser.add_argument(
            "--history-days",
            type=int,
            default=defaults.history_days,
            help="Days before today filled as a busy practice's past (for the practice report)",
        )
        parser.add_argument("--seed", type=int, default=defaults.seed, help="Random seed")
        parser.add_argument(
            "--reset", action="store_true", help="Remove demo data (only demo data)"
        )
        parser.add_argument("--export", metavar="FILE", help="Write the booking data as JSON")
        parser.add_argument("--import", dest="import_file", metavar="FILE", help="Load an export")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["export"]:
            self._export(Path(str(options["export"])))
            return
        if options["import_file"]:
            self._import(Path(str(options["import_file"])))
            return
        if options["reset"]:
            counts = reset_demo_data()
            self.stdout.write(f"Removed demo data: {counts}")
            return
        self._refuse_in_production()
        sizes = Sizes(
            practices=int(options["practices"]),
            clinicians_per_practice=int(options["clinicians_per_practice"]),
            patients=int(options["patients"]),
            days=int(options["days"]),
            past_days=int(options["past_days"]),
            history_days=int(options["history_days"]),
            appointments=int(options["appointments"]),
            seed=int(options["seed"]),
        )
        if min(sizes.practices, sizes.clinicians_per_practice, sizes.patients, sizes.days) < 1:
            raise CommandError("Sizes must be at least 1 (past days and appointments may be 0)")
        started = time.monotonic()

        def progress(message: str) -> None:
            self.stdout.write(f"  [{time.monotonic() - started:6.1f}s] {message}")

        report = seed_demo_data(sizes, progress=progress)
        self.stdout.write(self.style.SUCCESS(f"Demo data ready in {report.seconds:.1f}s."))
        self.stdout.write(f"Demo logins (password {DEMO_PASSWORD}):")
        for role, email in DEMO_LOGINS.items():
            self.stdout.write(f"  {role:<15} {email}")

    def _refuse_in_production(self) -> None:
        # Demo accounts share a published password: never create them on a real service.
        if not settings.DEBUG and not settings.ALLOW_DEMO_DATA:
            raise CommandError(
                "Refusing to create demo accounts with a published password while DEBUG is "
                "off. Set ALLOW_DEMO_DATA=true for a demo or test deployment."
            )

    def _export(self, path: Path) -> None:
        with path.open("w", encoding="utf-8") as out:
            counts = export_data(out)
        self.stdout.write(f"Exported to {path}: {counts}")

    def _import(self, path: Path) -> None:
        if not path.exists():
            raise CommandError(f"No such file: {path}")
        try:
            with path.open(encoding="utf-8") as source:
                counts = import_data(source)
        except ImportRefused as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Imported from {path}: {counts}")
