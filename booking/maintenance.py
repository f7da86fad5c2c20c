"""Database maintenance that must lift a guard, done in the open and nowhere else."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

TABLE = "booking_appointmenthistory"


@contextmanager
def history_deletes_allowed() -> Iterator[None]:
    """Lift the append-only guard on appointment history inside the current transaction.

    Only for removing demo data and emptying test databases. The guard stops application
    code rewriting the record; a database owner can always lift it, which this does in the
    open. Both databases have transactional DDL: if anything fails, the guard is back.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # ALTER TABLE refuses while deferred foreign-key checks are queued: run them first.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER {TABLE}_append_only")
            yield
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER {TABLE}_append_only")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        else:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s",
                [f"{TABLE}_no_%"],
            )
            triggers = cursor.fetchall()
            for name, _ in triggers:
                cursor.execute(f'DROP TRIGGER "{name}"')
            yield
            for _, sql in triggers:
                cursor.execute(sql)
