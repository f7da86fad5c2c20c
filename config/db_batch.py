"""Several writes in one round trip to the database.

A booking writes four tables (the appointment, its slot, its history, its outbox). On
PostgreSQL those statements are sent as one, as data-modifying CTEs::

    WITH w0 AS (INSERT INTO ...), w1 AS (UPDATE ...), w2 AS (INSERT ...) SELECT 1

which PostgreSQL runs to completion, each exactly once, in one statement: one round trip and
one query instead of four, with every constraint checked as usual (a violation raises
IntegrityError and the caller's transaction rolls back whole). Elsewhere (SQLite, which has
no data-modifying CTEs) the same statements run one after another. The SQL is Django's own,
from its insert and update compilers, so models stay the single description of the tables.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections, router
from django.db.models import Model, QuerySet
from django.db.models.constants import OnConflict
from django.db.models.sql import InsertQuery, UpdateQuery


@dataclass(frozen=True)
class Write:
    sql: str
    params: Sequence[Any]
    using: str
    saved: tuple[Model, ...] = ()


def insert(objs: Iterable[Model], *, ignore_conflicts: bool = False) -> Write | None:
    """INSERT of unsaved instances of one model (defaults and auto_now values applied)."""
    objs = list(objs)
    if not objs:
        return None
    model = type(objs[0])
    using = router.db_for_write(model)
    opts = model._meta
    fields = [
        field
        for field in opts.concrete_fields
        if not field.generated and not (field.primary_key and objs[0].pk is None)
    ]
    query = InsertQuery(model, on_conflict=OnConflict.IGNORE if ignore_conflicts else None)
    query.insert_values(fields, objs, raw=False)
    [(sql, params)] = query.get_compiler(using=using).as_sql()
    return Write(sql, params, using, tuple(objs))


def update(queryset: QuerySet, **values: Any) -> Write:
    """UPDATE of the rows of ``queryset`` (a simple filter on one table)."""
    query = queryset.query.chain(UpdateQuery)
    query.add_update_values(values)
    sql, params = query.get_compiler(queryset.db).as_sql()
    return Write(sql, params, queryset.db)


def execute_together(*writes: Write | None) -> None:
    """Run ``writes`` in order: as one statement on PostgreSQL, one by one elsewhere."""
    writes_ = [w for w in writes if w is not None]
    if not writes_:
        return
    using = writes_[0].using
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and len(writes_) > 1:
            ctes = ", ".join(f"w{i} AS ({w.sql})" for i, w in enumerate(writes_))
            cursor.execute(f"WITH {ctes} SELECT 1", [p for w in writes_ for p in w.params])
        else:
            for write in writes_:
                cursor.execute(write.sql, write.params)
    for write in writes_:
        for obj in write.saved:
            obj._state.adding = False
            obj._state.db = using
