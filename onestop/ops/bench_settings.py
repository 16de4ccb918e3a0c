"""Settings of the end-to-end benchmark (`onestop.ops.bench_e2e`): the product's own settings
and nothing changed, plus two measuring aids that do not touch what a request does:

- every SQL statement a process runs through Django is counted (an execute wrapper on each
  new connection) and the count written every half second to
  ``$ONESTOP_BENCH_STATS_DIR/statements-<pid>`` (PostgreSQL's pg_stat_statements needs a
  server restart to load, so the benchmark counts on the client side instead);
- every database transaction a process makes through Django (a statement in autocommit,
  an outermost atomic block's COMMIT or ROLLBACK, a persistent connection's health check)
  is counted by what made it — the API call kind in the web (``POST /api/v1/tasks/{id}/claim``),
  the nearest product function elsewhere (the worker's claim, record, periodic jobs) — and
  written to ``$ONESTOP_BENCH_STATS_DIR/costs-<pid>.json`` (docs/performance.md, "Where a
  case's transactions go");
- one throw-away URL, ``/bench/minimal/``: a minimal Django view that inserts one row and
  answers a few bytes of JSON, served by the same gunicorn and middleware as the product,
  as the bound a request of this deployment cannot beat (`onestop.ops.bench_urls`).
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db.backends.postgresql.base import DatabaseWrapper as PostgresWrapper
from django.db.backends.signals import connection_created

from onestop.config.settings import *  # noqa: F403

ROOT_URLCONF = "onestop.ops.bench_urls"
MIDDLEWARE = ["onestop.ops.bench_settings.CallKindMiddleware", *MIDDLEWARE]  # noqa: F405

_STATS_DIR = os.environ.get("ONESTOP_BENCH_STATS_DIR", "")
_counter = {"pid": 0, "statements": 0}
_lock = threading.Lock()
_local = threading.local()  # .kind: the API call kind of the request being served
# what made each transaction / statement: kind -> [statements, transactions]
_costs: dict[str, list[int]] = {}
_PACKAGE = str(Path(__file__).resolve().parents[1])
_GENERIC = {"wrapped", "inner", "__exit__", "__enter__", "execute", "_count_statement"}


def _where() -> str:
    """The API call kind of the current request, else the nearest product function."""
    kind = getattr(_local, "kind", None)
    if kind:
        return str(kind)
    frame = sys._getframe(2)
    while frame is not None:
        code = frame.f_code
        if (
            code.co_filename.startswith(_PACKAGE)
            and code.co_filename != __file__
            and code.co_name not in _GENERIC
        ):
            module = code.co_filename[len(_PACKAGE) + 1 : -3].replace("/", ".")
            return f"{module}.{code.co_name}"
        frame = frame.f_back  # type: ignore[assignment]
    return "other"


def _cost(kind: str, statements: int, transactions: int) -> None:
    with _lock:
        entry = _costs.setdefault(kind, [0, 0])
        entry[0] += statements
        entry[1] += transactions


class CallKindMiddleware:
    """Labels the request's statements and transactions with its API call kind."""

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        from onestop.testing.costs import call_kind

        _local.kind = call_kind(request.method, request.path)
        try:
            return self.get_response(request)
        finally:
            _local.kind = None


def _count_statement(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
) -> Any:
    from django.db import connections

    statements = len(params) if many and isinstance(params, list) else 1
    with _lock:
        _counter["statements"] += statements
    connection = context["connection"] if context else connections["default"]
    _cost(_where(), statements, 0 if connection.in_atomic_block else 1)
    return execute(sql, params, many, context)


def _flush(path: Path, costs: Path) -> None:
    with _lock:
        current = _counter["statements"]
        text = json.dumps({"process": os.environ.get("ONESTOP_BENCH_PROCESS", ""), "costs": _costs})
    _replace(path, str(current))
    _replace(costs, text)


def _replace(path: Path, text: str) -> None:
    """Written whole or not at all: the bench reads these files while they are written, and
    a file caught truncated read as 0 statements (a negative idle rate, once in a test)."""
    # One partial file per writing thread (the atexit flush and the flushing thread may
    # write at once; review of session 28); the readers' globs do not match it.
    partial = path.with_name(f".partial-{threading.get_ident()}-{path.name}")
    partial.write_text(text)
    os.replace(partial, path)


def _flush_forever(path: Path, costs: Path) -> None:
    while True:
        _flush(path, costs)
        time.sleep(0.5)


def _count_connection(connection: Any) -> None:
    """Count an outermost atomic block's COMMIT/ROLLBACK and the health check."""
    commit, rollback, usable = connection.commit, connection.rollback, connection.is_usable

    def counted_commit() -> None:
        _cost(_where(), 0, 1)
        commit()

    def counted_rollback() -> None:
        _cost(_where(), 0, 1)
        rollback()

    stock = type(connection).is_usable is PostgresWrapper.is_usable

    def counted_usable() -> bool:
        if stock or connection.vendor != "postgresql":
            _cost("connection health check (SELECT 1)", 1, 1)
        else:  # onestop.common.postgresql: looks at the socket (ADR 0045)
            _cost("connection health check (socket, no SELECT 1)", 0, 0)
        return bool(usable())

    connection.commit = counted_commit
    connection.rollback = counted_rollback
    connection.is_usable = counted_usable
    connection._onestop_bench_counted = True


def _on_connection(sender: Any, connection: Any, **kwargs: Any) -> None:
    if _count_statement not in connection.execute_wrappers:
        connection.execute_wrappers.append(_count_statement)
    if not getattr(connection, "_onestop_bench_counted", False):
        _count_connection(connection)
    pid = os.getpid()
    with _lock:
        if _counter["pid"] == pid:
            return
        # A new process (gunicorn forks its workers): its own count and its own file.
        _counter.update(pid=pid, statements=0)
        _costs.clear()
    path = Path(_STATS_DIR) / f"statements-{pid}"
    costs = Path(_STATS_DIR) / f"costs-{pid}.json"
    threading.Thread(target=_flush_forever, args=(path, costs), daemon=True).start()
    atexit.register(_flush, path, costs)  # the last half second of a process that stops


if _STATS_DIR:
    connection_created.connect(_on_connection, weak=False)
