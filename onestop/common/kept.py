"""What a process keeps in memory: one bounded, thread-safe store (issue 10).

Several reads are kept per process so a request does not pay again for what an earlier
one made: rendered pages validated by a stamp (`revalidate.PAGE_CACHE`), the public
verification's answers (`certificates.kept`), verdicts of sealed e-licences, statements
compiled once (`compiled.Statements`), the officer's task-page queryset. They all need
the same thing — at most ``size`` entries, least recently used out first, optionally
each for ``ttl`` seconds, safe under gunicorn's threads — and this is its one definition.
``size <= 0`` keeps nothing (a setting that turns a cache off).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# What `get` answers for a key that is not kept (a kept value may itself be None).
MISSING: object = object()


class Kept(Generic[K, V]):
    """At most ``size`` values, least recently used out first; each for ``ttl`` seconds
    where given (else until pushed out or cleared). Thread-safe."""

    def __init__(self, size: int, ttl: float | None = None) -> None:
        self.size, self.ttl = size, ttl
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: K, default: V | None = None) -> V | None:
        found = self.find(key)
        return default if found is MISSING else found  # type: ignore[return-value]

    def find(self, key: K) -> V | object:
        """The kept value, or `MISSING` (for stores whose values may be None)."""
        if self.size <= 0:
            return MISSING
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or (self.ttl is not None and entry[0] < time.monotonic()):
                if entry is not None:
                    del self._entries[key]
                self.misses += 1
                return MISSING
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[1]

    def put(self, key: K, value: V) -> None:
        if self.size <= 0:
            return
        expires = time.monotonic() + self.ttl if self.ttl is not None else 0.0
        with self._lock:
            self._entries[key] = (expires, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        """The kept value, else ``make()`` kept (made outside the lock: two threads may
        both make it once; the later one is kept)."""
        found = self.find(key)
        if found is not MISSING:
            return found  # type: ignore[return-value]
        made = make()
        self.put(key, made)
        return made

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)
