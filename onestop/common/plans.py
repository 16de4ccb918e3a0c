"""Statements planned with their values, for the reports over a period (issue 10; ADR 0041,
amendment of session 30, helper h-dash).

The settings let psycopg prepare a statement once a connection has run it 5 times (ADR
0045, amendment of session 21). A prepared statement is planned with its values for its
first five executions; from then on PostgreSQL may keep one *generic* plan, made without
the values, when its estimated cost is not much above the custom plans' average. For a
lookup by key that is the saving meant. For a report over a period and a division prefix
it is a trap: without the values the planner guesses any date range to be small (0.5 %
of the rows) and cannot use a ``LIKE '22%'`` prefix on an index, so the generic plan of
the dashboards' overdue follow-ups walks every rating of the period through the ratings'
time index (a year at 20,000 cases: 7,001 ratings and 20,874 buffers, 38 ms, where the
plan with the values starts from the 34 open overdue follow-ups: 1.2 ms). A statement
reached its generic plan on its eleventh run by a connection: in the benchmark's order
(this month's page 7 times, then the year's, then the year's export) the year's fourth
request, and every export.

Inside `planned_with_values()` no statement is prepared or run prepared (psycopg's
``prepare_threshold`` is None for the statement): PostgreSQL parses and plans each one
with its values. Nothing else changes: the connection's prepared statements stay for the
other requests, and the statements run here are not counted towards preparing them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from functools import wraps
from typing import Any, TypeVar

from django.db import connections

V = TypeVar("V", bound=Callable[..., Any])


def _unprepared(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    raw: Any = getattr(context["connection"], "connection", None)
    threshold = getattr(raw, "prepare_threshold", None)  # psycopg 3's; None: nothing to do
    if threshold is None:
        return execute(sql, params, many, context)
    raw.prepare_threshold = None
    try:
        return execute(sql, params, many, context)
    finally:
        raw.prepare_threshold = threshold


@contextmanager
def planned_with_values() -> Iterator[None]:
    """The statements run inside on any database are planned with their values (never
    prepared, never a generic plan)."""
    with ExitStack() as stack:
        for connection in connections.all():
            if connection.vendor == "postgresql":
                stack.enter_context(connection.execute_wrapper(_unprepared))
        yield


def planned_with_values_view(view: V) -> V:
    """A report view whose statements are planned with their values (`planned_with_values`)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with planned_with_values():
            return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]
