"""Rows of several models written together (issue 10, session 28, helper h-submit)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

from onestop.common.compiled import CompiledInsert
from onestop.common.kept import Kept

# The rows of one model, the `CompiledInsert` that writes them.
Part = tuple[CompiledInsert[Any], Sequence[Model]]

# More rows than this in one part go by `CompiledInsert.insert` on their own.
ROWS_TOGETHER_MAX = 100
_TOGETHER: Kept[tuple[str, ...], str] = Kept(size=32)


def insert_together(*parts: Part) -> None:
    """New rows of several models written as their `CompiledInsert`s write them (one
    ``INSERT … RETURNING`` each, their keys set) — on PostgreSQL in one statement, a
    ``WITH`` of the INSERTs (a submission's newborn claims, card applications, people,
    newborns and declared materials were five statements). Where a part's statement does
    not apply (`CompiledInsert.prepared`: None), or on SQLite (no INSERT in a ``WITH``),
    each part on its own, in order. A row a unique constraint refuses: IntegrityError, none
    of the parts written (the statement's), as the part's own INSERT raises it."""
    kept = [(inserter, list(objs)) for inserter, objs in parts if objs]
    if not kept:
        return
    alias = router.db_for_write(kept[0][0].model)
    connection = connections[alias]
    prepared = (
        [
            inserter.prepared(alias, objs) if len(objs) <= ROWS_TOGETHER_MAX else None
            for inserter, objs in kept
        ]
        if connection.vendor == "postgresql"
        and len(kept) > 1
        and all(router.db_for_write(i.model) == alias for i, _ in kept)
        else []
    )
    if not prepared or any(p is None for p in prepared):
        for inserter, objs in kept:
            inserter.insert(objs)
        return
    statements = tuple(p[0] for p in prepared if p is not None)
    models = [inserter.model for inserter, _ in kept]
    sql = _TOGETHER.get_or_make(statements, lambda: _together_sql(connection, statements, models))
    params = [value for p in prepared if p is not None for value in p[1]]
    with transaction.mark_for_rollback_on_error(alias), connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    for n, (inserter, objs) in enumerate(kept):
        # The keys follow the rows' order (one sequence per table, taken row by row).
        inserter.keys_set(objs, sorted(key for part, key in found if part == n), alias)


def _together_sql(
    connection: BaseDatabaseWrapper, statements: Sequence[str], models: Sequence[type[Model]]
) -> str:
    """``WITH r0 AS (INSERT … RETURNING id), r1 AS (…) SELECT 0, id FROM r0 UNION ALL
    SELECT 1, id FROM r1 …`` of the parts' statements (their parameters in that order)."""
    ctes, selects = [], []
    for n, (statement, model) in enumerate(zip(statements, models, strict=True)):
        ctes.append(f"r{n} AS ({statement})")
        pk = connection.ops.quote_name(str(model._meta.pk.column))
        selects.append(f"SELECT {n}, {pk} FROM r{n}")
    return f"WITH {', '.join(ctes)} {' UNION ALL '.join(selects)}"
