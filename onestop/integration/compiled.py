"""`CompiledFirst` per key: a read whose statement differs by one parameter once the
key — the client, its service account's scope — is fixed, compiled once per key and
database in this process (issue 10 part 2: the access check and the idempotency record
of every task action)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from django.core.exceptions import EmptyResultSet
from django.db.models import Model, QuerySet

from onestop.common.compiled import CompiledFirst

M = TypeVar("M", bound=Model)


class CompiledPerKey(Generic[M]):
    """``build(key_object)(value).first()``, one `CompiledFirst` per ``key``; at most
    ``size`` keys kept, the least recently used dropped. A query that selects nothing
    whatever the value (``qs.none()``: no scope) is None, as ``first()`` says."""

    def __init__(self, model: type[M], stand_in: Any, size: int = 1000) -> None:
        self.model, self.stand_in, self.size = model, stand_in, size
        self._kept: OrderedDict[Hashable, CompiledFirst[M]] = OrderedDict()
        self._lock = threading.Lock()

    def first(
        self, key: Hashable, build: Callable[[], Callable[[Any], QuerySet[M]]], value: Any
    ) -> M | None:
        """The first row of ``build()(value)``; ``build`` is called only for a key not
        kept: the queryset of a value, for this key."""
        with self._lock:
            compiled = self._kept.get(key)
            if compiled is not None:
                self._kept.move_to_end(key)
        if compiled is None:
            compiled = CompiledFirst(self.model, build(), self.stand_in)
            with self._lock:
                self._kept[key] = compiled
                while len(self._kept) > self.size:
                    self._kept.popitem(last=False)
        try:
            return compiled.first(value)
        except EmptyResultSet:
            return None
