"""Reads reused within one block of several state changes (issue 10, session 29).

An API batch (`POST /tasks/completions`, `/tasks/claims`) runs several task actions in
one transaction, often several of the same case: each completion's e-licence read the
case's newborns and the same newborn's other cases again
(`cases.claims.newborns_and_same`), one statement per item where the case's answer had
not changed. Inside
`reusing`, a read asked through `reused` with the same key is made once and its answer
handed out again until the block ends; outside, every call reads (a single action, a
page, a worker: nothing kept).

Only for reads of rows that the actions inside the block do not write (the caller says
which, by what it reuses): the answer is the transaction's as of the first read, never
another transaction's or another block's — the block is thread-local and forgotten when
it ends (a request's batch run again ends its block and starts a new one).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

_local = threading.local()


@contextmanager
def reusing() -> Iterator[None]:
    """The block within which `reused` keeps its answers (nested: the outer block's)."""
    if getattr(_local, "reads", None) is not None:
        yield
        return
    _local.reads = {}
    try:
        yield
    finally:
        _local.reads = None


def reused(key: Hashable, make: Callable[[], T]) -> T:
    """``make()``, or inside `reusing` the answer ``make`` gave for ``key`` in this block
    (``key`` must say everything the read depends on: the database, the rows' ids)."""
    reads: dict[Hashable, Any] | None = getattr(_local, "reads", None)
    if reads is None:
        return make()
    if key in reads:
        found: T = reads[key]
        return found
    value = reads[key] = make()
    return value
