"""Database helpers shared by the apps' migrations."""

from collections.abc import Mapping, Sequence

from django.db import migrations


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
