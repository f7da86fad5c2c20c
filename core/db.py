"""Database helpers shared by the apps: a range expression for exclusion constraints, the
append-only guard for audit tables, reading what a database error says (which constraint
an IntegrityError names; whether the database is unreachable), and the read-replica router."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.contrib.postgres.fields import DateTimeRangeField
from django.db import IntegrityError, InterfaceError, OperationalError, connection, migrations
from django.db.models import Func, Model


class TsTzRange(Func):
    """``tstzrange(start, end, '[)')``: the period an appointment or slot occupies.

    Half-open, so back-to-back periods (one ends at 10:00, the next starts then) do not overlap.
    """

    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


# SQLSTATEs that say the server cannot be reached or is going away: connection exceptions
# (class 08) and admin shutdown, crash shutdown, cannot connect now (57P01-57P03).
_UNREACHABLE_STATES = ("08", "57P01", "57P02", "57P03")


def database_unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be reached, as opposed to refusing a query
    (a timeout, a deadlock, a constraint): the first is worth retrying in a moment, the second
    is a bug or a conflict."""
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    state = getattr(exc.__cause__, "sqlstate", None)
    # No SQLSTATE at all: the connection itself failed (refused, reset, closed).
    return state is None or state.startswith(_UNREACHABLE_STATES)


def violated_constraint(exc: IntegrityError) -> str | None:
    """The name of the constraint PostgreSQL says ``exc`` broke (None for other errors)."""
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None)


def append_only(table: str) -> migrations.RunSQL:
    """A trigger that makes ``table`` append-only: UPDATE and DELETE raise an integrity error.

    Django has no construct for this, so it is the one piece of raw SQL in the migrations.
    TRUNCATE, a table owner's operation, is not a row change and is not covered.
    """
    return migrations.RunSQL(
        [
            f"""
            CREATE FUNCTION {table}_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '{table} is append-only'
                    USING ERRCODE = 'integrity_constraint_violation';
            END;
            $$ LANGUAGE plpgsql
            """,
            f"""
            CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION {table}_append_only()
            """,
        ],
        [
            f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
            f"DROP FUNCTION IF EXISTS {table}_append_only()",
        ],
    )


@contextmanager
def append_only_lifted(*tables: str) -> Iterator[None]:
    """Lift the append-only guard (see ``append_only``) on ``tables`` in this transaction.

    Only for removing demo data. The guard stops application code rewriting the record; a
    table owner can always lift it, which this does in the open. DDL is transactional: if
    anything fails, the guard is back.
    """
    with connection.cursor() as cursor:
        # ALTER TABLE refuses while deferred foreign-key checks are queued: run them first.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table in tables:
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only")
        yield
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table in tables:
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {table}_append_only")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


# Reads that may come from a read replica ---------------------------------------------------

REPLICA = "replica"
_replica_reads: ContextVar[bool] = ContextVar("replica_reads", default=False)


@contextmanager
def replica_reads() -> Iterator[None]:
    """Reads inside go to the read replica, where DATABASE_REPLICA_URL names one.

    Only for answers that may be a moment behind (a replica lags the writer by milliseconds,
    more under load): the availability search, whose slot a booking checks again on the
    writer. Never around a read that a write depends on."""
    token = _replica_reads.set(True)
    try:
        yield
    finally:
        _replica_reads.reset(token)


class ReplicaRouter:
    """Sends the reads inside ``replica_reads()`` to the replica, everything else (every write,
    every other read, every migration) to the writer. Off unless DATABASES has a replica."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str | None:
        if _replica_reads.get() and REPLICA in settings.DATABASES:
            return REPLICA
        return None

    def db_for_write(self, model: type[Model], **hints: Any) -> str | None:
        return None

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool | None:
        # One database in two copies: a row read from the replica may refer to one written.
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return db != REPLICA
