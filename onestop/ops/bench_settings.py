"""Settings of the end-to-end benchmark (`onestop.ops.bench_e2e`): the product's own settings
and nothing changed, plus two measuring aids that do not touch what a request does:

- every SQL statement a process runs through Django is counted (an execute wrapper on each
  new connection) and the count written every half second to
  ``$ONESTOP_BENCH_STATS_DIR/statements-<pid>`` (PostgreSQL's pg_stat_statements needs a
  server restart to load, so the benchmark counts on the client side instead);
- one throw-away URL, ``/bench/minimal/``: a minimal Django view that inserts one row and
  answers a few bytes of JSON, served by the same gunicorn and middleware as the product,
  as the bound a request of this deployment cannot beat (`onestop.ops.bench_urls`).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db.backends.signals import connection_created

from onestop.config.settings import *  # noqa: F403

ROOT_URLCONF = "onestop.ops.bench_urls"

_STATS_DIR = os.environ.get("ONESTOP_BENCH_STATS_DIR", "")
_counter = {"pid": 0, "statements": 0}
_lock = threading.Lock()


def _count_statement(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
) -> Any:
    with _lock:
        _counter["statements"] += len(params) if many and isinstance(params, list) else 1
    return execute(sql, params, many, context)


def _flush_forever(path: Path) -> None:
    written = -1
    while True:
        current = _counter["statements"]
        if current != written:
            path.write_text(str(current))
            written = current
        time.sleep(0.5)


def _on_connection(sender: Any, connection: Any, **kwargs: Any) -> None:
    if _count_statement not in connection.execute_wrappers:
        connection.execute_wrappers.append(_count_statement)
    pid = os.getpid()
    with _lock:
        if _counter["pid"] == pid:
            return
        # A new process (gunicorn forks its workers): its own count and its own file.
        _counter.update(pid=pid, statements=0)
    path = Path(_STATS_DIR) / f"statements-{pid}"
    threading.Thread(target=_flush_forever, args=(path,), daemon=True).start()


if _STATS_DIR:
    connection_created.connect(_on_connection, weak=False)
