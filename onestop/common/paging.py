"""Django's paginator, told the count when a page's stamp already read it in this request."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.utils.functional import cached_property


class KnownCountPaginator(Paginator[Any]):
    """``count``: what the page's stamp counted in this request (None: counted as usual)."""

    def __init__(self, object_list: Any, per_page: int, *, count: int | None = None) -> None:
        super().__init__(object_list, per_page)
        self._known_count = count

    @cached_property
    def count(self) -> int:
        if self._known_count is not None:
            return self._known_count
        counted: int = super().count
        return counted
