"""Database helpers shared by the apps' migrations."""

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from django.db import connection, migrations


def vendor_sql(
    forward: Mapping[str, Sequence[str]], backward: Mapping[str, Sequence[str]]
) -> migrations.RunPython:
    """A migration step running different SQL per database vendor ("postgresql", "sqlite").

    For guards that each database spells differently (exclusion constraints, triggers).
    """

    def runner(statements_by_vendor: Mapping[str, Sequence[str]]):  # type: ignore[no-untyped-def]
        def run(apps, schema_editor):  # type: ignore[no-untyped-def]
            for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
                schema_editor.execute(statement)

        return run

    return migrations.RunPython(runner(forward), runner(backward))


def append_only(table: str) -> migrations.RunPython:
    """Triggers that make ``table`` append-only: UPDATE and DELETE fail on both databases.

    PostgreSQL raises an integrity error from a row trigger; SQLite aborts likewise.
    (TRUNCATE, a table owner's operation, is not a row change and is not covered.)
    """
    message = f"{table} is append-only"
    postgres = [
        f"""
        CREATE FUNCTION {table}_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION '{message}' USING ERRCODE = 'integrity_constraint_violation';
        END;
        $$ LANGUAGE plpgsql
        """,
        f"""
        CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION {table}_append_only()
        """,
    ]
    sqlite = [
        f"""CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table}
        BEGIN SELECT RAISE(ABORT, '{message}'); END"""
        for verb in ("UPDATE", "DELETE")
    ]
    return vendor_sql(
        {"postgresql": postgres, "sqlite": sqlite},
        {
            "postgresql": [
                f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
                f"DROP FUNCTION IF EXISTS {table}_append_only()",
            ],
            "sqlite": [f"DROP TRIGGER IF EXISTS {table}_no_{v}" for v in ("update", "delete")],
        },
    )


@contextmanager
def append_only_lifted(*tables: str) -> Iterator[None]:
    """Lift the append-only guard (see ``append_only``) on ``tables`` in this transaction.

    Only for removing demo data and emptying test databases. The guard stops application
    code rewriting the record; a table owner can always lift it, which this does in the
    open. Both databases have transactional DDL: if anything fails, the guard is back.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # ALTER TABLE refuses while deferred foreign-key checks are queued: run them first.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for table in tables:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only")
            yield
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for table in tables:
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {table}_append_only")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        else:
            triggers = []
            for table in tables:
                cursor.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s",
                    [f"{table}_no_%"],
                )
                triggers += cursor.fetchall()
            for name, _ in triggers:
                cursor.execute(f'DROP TRIGGER "{name}"')
            yield
            for _, sql in triggers:
                cursor.execute(sql)
