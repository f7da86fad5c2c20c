from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from practices.models import Practice
from practices.services import generate_slots


class Command(BaseCommand):
    help = "Create sessions from weekly templates and cut sessions into slots (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--weeks", type=int, default=4, help="How many weeks ahead (default 4)")
        parser.add_argument("--practice", help="Only this practice (ODS code)")

    def handle(self, *args: Any, weeks: int, practice: str | None, **options: Any) -> None:
        if not 1 <= weeks <= 52:
            raise CommandError("--weeks must be between 1 and 52")
        selected = None
        if practice:
            selected = Practice.objects.filter(ods_code=practice.upper()).first()
            if selected is None:
                raise CommandError(f"No practice with ODS code {practice!r}")
        result = generate_slots(weeks=weeks, practice=selected)
        self.stdout.write(
            f"Created {result.sessions_created} sessions and {result.slots_created} slots "
            f"for the next {weeks} weeks."
        )
