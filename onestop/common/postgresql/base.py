"""Django's PostgreSQL backend with a health check that costs no transaction.

Issue 10 ("≤ 30 database transactions per case"), ADR 0045: with persistent connections
(``CONN_MAX_AGE``) and ``CONN_HEALTH_CHECKS``, Django checks a reused connection with a
``SELECT 1`` at the start of every request — one round trip and one transaction in
``pg_stat_database`` per request, the largest share of a case's transactions (16 of 74
per case in the end-to-end benchmark, docs/performance.md).

This backend checks without asking the server when it can tell locally: the connection
is usable when psycopg holds it open and idle (no transaction left open) and nothing has
arrived on its socket since the last answer. A server that restarted, or a backend that
was terminated (``pg_terminate_backend``, an idle timeout, a failover), closes the
socket or sends its FATAL message first — the socket is then readable, and only then is
the connection asked with ``SELECT 1`` as Django would (which fails, so Django opens a
new one). What this does not see is a peer that vanished without closing (a cable cut):
``SELECT 1`` would then block until the TCP timeout as well, and the request fails once
either way.
"""

from __future__ import annotations

import select
from typing import Any

from django.db.backends.postgresql.base import DatabaseWrapper as PostgresWrapper


class DatabaseWrapper(PostgresWrapper):
    def is_usable(self) -> bool:
        connection: Any = self.connection
        if connection is None:
            return False
        try:
            from psycopg import pq

            if connection.closed or connection.broken:
                return False
            if connection.pgconn.status != pq.ConnStatus.OK:
                return False
            if connection.info.transaction_status != pq.TransactionStatus.IDLE:
                return bool(super().is_usable())
            readable, _, _ = select.select([connection.pgconn.socket], [], [], 0)
        except (AttributeError, ImportError, OSError, ValueError):
            return bool(super().is_usable())  # psycopg2, or no socket: ask the server
        if readable:  # the server said something unasked: a FATAL, a close, a notice
            return bool(super().is_usable())
        return True
