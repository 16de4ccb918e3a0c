"""Reads that may go to a read replica (ADR 0027).

With ``DATABASE_REPLICA_URL`` set there is a database alias ``replica``: a streaming copy
of the primary, a little behind it. Nothing reads from it unless asked: code that can
live with a slightly old answer — the supervisors' reports, the public verification of
e-licences — runs its reads inside `replica_reads()`; every write, every read inside a
transaction and everything else uses the primary. A read that must not miss what was
just written (a licence issued a moment ago) uses `read_with_fallback`: on the replica,
and on the primary when the replica has not got it yet. Without a replica all of this
reads the primary.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps
from typing import Any, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"
T = TypeVar("T")

_replica_reads: ContextVar[bool] = ContextVar("onestop_replica_reads", default=False)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


@contextmanager
def replica_reads() -> Iterator[None]:
    """Reads inside go to the replica (when there is one and no transaction is open)."""
    token = _replica_reads.set(True)
    try:
        yield
    finally:
        _replica_reads.reset(token)


@contextmanager
def primary_reads() -> Iterator[None]:
    token = _replica_reads.set(False)
    try:
        yield
    finally:
        _replica_reads.reset(token)


def read_with_fallback(read: Callable[[], T | None]) -> T | None:
    """``read()`` on the replica; when it finds nothing, again on the primary (replication
    lag: a licence issued a moment ago must not be "not found")."""
    if not replica_configured():
        return read()
    with replica_reads():
        found = read()
    if found is not None:
        return found
    with primary_reads():
        return read()


V = TypeVar("V", bound=Callable[..., Any])


def replica_view(view: V) -> V:
    """Run a report view's reads on the replica. The signed-in user and the session are
    read first, from the primary (a session written a moment ago may not be on the
    replica yet)."""

    @wraps(view)
    def wrapped(request: Any, *args: Any, **kwargs: Any) -> Any:
        user = getattr(request, "user", None)
        if user is not None:
            getattr(user, "pk", None)  # loads the session and the user on the primary
        with replica_reads():
            return view(request, *args, **kwargs)

    return wrapped  # type: ignore[return-value]


class ReplicaRouter:
    """Reads inside `replica_reads()` go to ``replica``; all else to the primary."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str | None:
        if (
            _replica_reads.get()
            and replica_configured()
            and not connections[DEFAULT_DB_ALIAS].in_atomic_block
        ):
            return REPLICA
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model: type[Any], **hints: Any) -> str | None:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        # The replica is a copy of the primary made by PostgreSQL: never migrated itself.
        return db != REPLICA
