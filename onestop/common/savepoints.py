"""Atomic blocks that take no savepoint, inside a transaction that is done again if one of
them fails (issue 10, ADR 0045 amendment of session 23).

Inside a transaction every nested ``transaction.atomic`` block is a savepoint: a
``SAVEPOINT`` when it starts and a ``RELEASE`` when it ends — two statements, each a round
trip to the database — so that an error leaving the block undoes the block's writes and
the transaction goes on. An API request's transaction holds two or three of them (the
idempotent answer's block, the service's own, the submission's claims): four to six of
its ~20 statements. They only matter where a block is left by an error; a block left
normally is released, and a released savepoint changes nothing of the transaction.

`savepoints_off` runs the caller's work with nested blocks that take none. Where a block
is left by an error, Django then marks the whole transaction for rollback
(``connection.needs_rollback``: no query runs in it any more). The caller checks that mark
when the work is done (whatever it answered or raised): set, it rolls the whole
transaction back and does the work again with savepoints, exactly as it was done before;
not set, no block was left by an error and the transaction is the one savepoints would
have given.

The connection takes no savepoint for the work's duration (in this thread: its
``savepoint()``, which ``transaction.atomic`` calls, answers None — "no savepoint" — as
``atomic(savepoint=False)`` has it; Django's other backends' switch, the ``uses_savepoints``
feature, is not asked on SQLite). Code that calls ``transaction.savepoint()`` itself would
get None and fail at its ``savepoint_rollback``: nothing of the product does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections


def _none() -> None:
    """A connection's ``savepoint()`` under `savepoints_off`: none taken."""


@contextmanager
def savepoints_off(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Nested atomic blocks take no savepoint until this ends (the module's docstring):
    the caller, inside its own atomic block, does its work again with savepoints when
    ``connections[using].needs_rollback`` is set at the end."""
    connection = connections[using]
    if not connection.in_atomic_block:
        raise RuntimeError("savepoints_off() runs inside the caller's atomic block")
    if "savepoint" in connection.__dict__:
        raise RuntimeError("savepoints_off() is already in force on this connection")
    connection.savepoint = _none  # type: ignore[method-assign]
    try:
        yield
    finally:
        del connection.savepoint


def savepoints_are_off(using: str = DEFAULT_DB_ALIAS) -> bool:
    """Whether `savepoints_off` is in force on the connection (its work, where a block is
    left by an error, is done again with savepoints)."""
    return "savepoint" in connections[using].__dict__
