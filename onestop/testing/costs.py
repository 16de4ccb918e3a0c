"""What a request costs the database, counted (issue 10: "≤ 30 transactions per case").

``DatabaseCost`` counts, on the default connection, the SQL statements Django runs and
the database transactions they make: in autocommit mode every statement outside
``transaction.atomic`` is a transaction of its own; an outermost atomic block is one
(its COMMIT or ROLLBACK). BEGIN/COMMIT themselves are not counted as statements.

``ApiCosts`` wraps a Django test client so that every API call is counted under its
kind (``POST /api/v1/tasks/{id}/claim``, …): ``table()`` prints statements and
transactions per call kind — the measurement behind the regression test
``onestop/integration/tests/test_api_cost.py`` and docs/performance.md ("Cost per API call").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import connection


@dataclass
class Tally:
    calls: int = 0
    statements: int = 0
    transactions: int = 0
    sql: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        self.calls += other.calls
        self.statements += other.statements
        self.transactions += other.transactions
        self.sql += other.sql


@contextmanager
def database_cost(keep_sql: bool = False) -> Iterator[Tally]:
    """Count statements and transactions on the default connection inside the block."""
    tally = Tally(calls=1)

    def wrapper(
        execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        if sql.startswith("BEGIN"):  # SQLite's BEGIN IMMEDIATE: transaction control
            return execute(sql, params, many, context)
        tally.statements += 1
        if not connection.in_atomic_block:
            tally.transactions += 1  # autocommit: the statement is its own transaction
        if keep_sql:
            tally.sql.append(("[tx] " if connection.in_atomic_block else "[ac] ") + sql)
        return execute(sql, params, many, context)

    commit, rollback = connection.commit, connection.rollback

    def counted_commit() -> None:
        tally.transactions += 1
        commit()

    def counted_rollback() -> None:
        tally.transactions += 1
        rollback()

    # Outermost atomic blocks end in connection.commit()/rollback() (autocommit was on).
    connection.commit = counted_commit  # type: ignore[method-assign]
    connection.rollback = counted_rollback  # type: ignore[method-assign]
    try:
        with connection.execute_wrapper(wrapper):
            yield tally
    finally:
        del connection.commit
        del connection.rollback


_KINDS = [
    (re.compile(r"^/api/v1/tasks/\d+/(\w+)$"), "/api/v1/tasks/{{id}}/{0}"),
    (re.compile(r"^/api/v1/tasks/\d+$"), "/api/v1/tasks/{{id}}"),
    (re.compile(r"^/api/v1/tasks$"), "/api/v1/tasks"),
    (re.compile(r"^/api/v1/cases/[^/]+/(\w+)$"), "/api/v1/cases/{{number}}/{0}"),
    (re.compile(r"^/api/v1/cases/[^/]+$"), "/api/v1/cases/{{number}}"),
]


def call_kind(method: str, path: str) -> str:
    path = path.split("?", 1)[0]
    for pattern, kind in _KINDS:
        match = pattern.match(path)
        if match:
            return f"{method} {kind.format(*match.groups())}"
    return f"{method} {path}"


class ApiCosts:
    """Per call kind: how many calls, statements and transactions."""

    def __init__(self, keep_sql: bool = False) -> None:
        self.kinds: dict[str, Tally] = {}
        self.keep_sql = keep_sql

    @contextmanager
    def call(self, method: str, path: str) -> Iterator[Tally]:
        with database_cost(self.keep_sql) as tally:
            yield tally
        self.kinds.setdefault(call_kind(method, path), Tally(calls=0)).add(tally)

    def total(self) -> Tally:
        total = Tally(calls=0)
        for tally in self.kinds.values():
            total.add(tally)
        return total

    def per_call(self) -> dict[str, tuple[float, float]]:
        return {
            kind: (t.statements / t.calls, t.transactions / t.calls)
            for kind, t in sorted(self.kinds.items())
        }

    def table(self) -> str:
        lines = [
            "| API call | calls | statements per call | transactions per call |",
            "|---|---:|---:|---:|",
        ]
        for kind, tally in sorted(self.kinds.items()):
            lines.append(
                f"| `{kind}` | {tally.calls} | {tally.statements / tally.calls:.1f}"
                f" | {tally.transactions / tally.calls:.1f} |"
            )
        total = self.total()
        lines.append(
            f"| **one case, all calls** | {total.calls} | {total.statements}"
            f" | {total.transactions} |"
        )
        return "\n".join(lines)


def count_decryptions(monkeypatch: Any) -> list[object]:
    """From now on (for the test), every value the field cipher decrypts is appended to the
    returned list: a page or a run that must decrypt nothing leaves it empty."""
    from onestop.common import fields

    decrypted: list[object] = []
    real = fields.cipher

    def counting_cipher() -> Any:
        inner = real()

        class Counting:
            def decrypt(self, value: Any) -> Any:
                decrypted.append(value)
                return inner.decrypt(value)

            def __getattr__(self, name: str) -> Any:
                return getattr(inner, name)

        return Counting()

    monkeypatch.setattr(fields, "cipher", counting_cipher)
    return decrypted


def audit_chain_reads(queries: Iterable[Mapping[str, Any]]) -> int:
    """Of captured statements (`CaptureQueriesContext`), those that read an audit stream's
    last record on their own: not the case lock's (`cases.services.case_locked` reads it
    with the case's row), after which a change's record is one INSERT (issue 10, session
    23)."""
    return sum(
        1
        for q in queries
        if q["sql"].startswith("SELECT")
        and "audit_auditrecord" in q["sql"]
        and not q["sql"].startswith('SELECT "cases_case"')
    )
