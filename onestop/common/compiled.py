"""One model read by one value, its SQL compiled once per process (issue 10 part 3).

Building a queryset and compiling it to SQL costs the same CPU on every request although
the statement only differs by one parameter (the API client's key id on every API call:
~40 % of a department system's poll once the rest was cut, cProfile). `CompiledFirst`
compiles ``build(stand_in)[:1]`` once per database, finds the one parameter equal to the
stand-in, and per call replaces it, runs the statement and makes the row into the model
instance exactly as Django's model iterable does: the compiler's converters, ``from_db``
with the selected (not deferred) fields, ``select_related`` rows by Django's related
populators, annotations. A query that does not compile as expected (no such parameter,
or it twice) is run as a queryset on every call instead.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import connections, router
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class _Statement:
    sql: str
    params: tuple[Any, ...]
    at: int
    converters: tuple[tuple[int, tuple[Any, ...], Any], ...]
    select: Any
    klass_info: Any
    init_list: tuple[str, ...]
    start: int
    end: int
    annotations: tuple[tuple[str, int], ...]


class CompiledFirst(Generic[M]):
    """``build(value).first()``, compiled once per database (module docstring)."""

    def __init__(self, model: type[M], build: Callable[[Any], QuerySet[M]], stand_in: Any):
        self.model, self.build, self.stand_in = model, build, stand_in
        self._statements: dict[tuple[str, str], _Statement | None] = {}
        self._lock = threading.Lock()

    def _query(self, value: Any) -> QuerySet[M]:
        qs = self.build(value)
        return qs if qs.ordered else qs.order_by("pk")

    def _statement(self, alias: str) -> _Statement | None:
        key = (alias, connections[alias].vendor)
        with self._lock:
            if key in self._statements:
                return self._statements[key]
        compiler = self._query(self.stand_in)[:1].query.get_compiler(alias)
        sql, params = compiler.as_sql()
        at = [i for i, p in enumerate(params) if p == self.stand_in]
        info = compiler.klass_info
        statement: _Statement | None = None
        if len(at) == 1 and info is not None and info["model"] is self.model:
            select = compiler.select
            fields = info["select_fields"]
            start, end = fields[0], fields[-1] + 1
            found = compiler.get_converters([s[0] for s in select[: compiler.col_count]])
            statement = _Statement(
                sql=sql,
                params=tuple(params),
                at=at[0],
                converters=tuple((pos, tuple(cs), expr) for pos, (cs, expr) in found.items()),
                select=select,
                klass_info=info,
                init_list=tuple(f[0].target.attname for f in select[start:end]),
                start=start,
                end=end,
                annotations=tuple((compiler.annotation_col_map or {}).items()),
            )
        with self._lock:
            self._statements[key] = statement
        return statement

    def first(self, value: Any) -> M | None:
        found = self.first_with_row(value)
        return None if found is None else found[1]

    def first_with_row(self, value: Any) -> tuple[tuple[Any, ...], M] | None:
        """``first(value)`` with the row as the database sent it (before the converters:
        what a caller may hash to tell whether anything of it changed); the row is ``()``
        where the statement did not compile as expected and the queryset ran instead."""
        alias = router.db_for_read(self.model)
        statement = self._statement(alias)
        if statement is None:
            found = self._query(value).using(alias).first()
            return None if found is None else ((), found)
        params = list(statement.params)
        params[statement.at] = value
        connection = connections[alias]
        with connection.cursor() as cursor:
            cursor.execute(statement.sql, params)
            raw = cursor.fetchone()
        if raw is None:
            return None
        row = list(raw)
        for pos, convs, expr in statement.converters:
            for convert in convs:
                row[pos] = convert(row[pos], expr, connection)
        obj = self.model.from_db(
            alias, list(statement.init_list), row[statement.start : statement.end]
        )
        # (django-stubs describe a later Django: this one takes no fetch mode)
        populators = get_related_populators(statement.klass_info, statement.select, alias)  # type: ignore[call-arg]
        for populator in populators:
            populator.populate(row, obj)
        for name, pos in statement.annotations:
            setattr(obj, name, row[pos])
        return tuple(raw), obj
