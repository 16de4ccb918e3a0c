"""What people read instead of codes: the names of items, departments, materials and
result fields, in Chinese (the default) or English (``language="en"``), from the catalogue.

An unknown code is shown as itself, never an error: a stored row may name an item that a
later catalogue no longer defines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TypeVar

from onestop.catalogue.loader import Catalogue, catalogue

V = TypeVar("V")


def item_name(code: str, language: str | None = None) -> str:
    item = catalogue().items.get(code)
    return item.name.in_language(language) if item is not None else code


def department_name(code: str, language: str | None = None) -> str:
    department = catalogue().departments.get(code)
    return department.name.in_language(language) if department is not None else code


def material_name(code: str, language: str | None = None) -> str:
    material = catalogue().materials.get(code)
    return material.name.in_language(language) if material is not None else code


def elicence_title(code: str, language: str | None = None) -> str:
    item = catalogue().items.get(code)
    return item.elicence_title.in_language(language) if item is not None else code


def result_labels(item: str, language: str | None = None) -> dict[str, str]:
    """Result field name → its label, for one item."""
    return {f.name: f.label_in(language) for f in catalogue().result_fields(item)}


class CatalogueView(Mapping[str, V]):
    """A read-only mapping derived from the current catalogue, rebuilt when the catalogue
    changes (another ``ONESTOP_EXTRA_DATA``): the old module-level tables (``ITEM_NAMES``…)
    as thin views, so their callers stay as they are."""

    def __init__(self, build: Callable[[Catalogue], Mapping[str, V]]) -> None:
        self._build = build
        self._source: Catalogue | None = None
        self._data: Mapping[str, V] = {}

    def _current(self) -> Mapping[str, V]:
        now = catalogue()
        if now is not self._source:
            self._data = self._build(now)
            self._source = now
        return self._data

    def __getitem__(self, key: str) -> V:
        return self._current()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._current())

    def __len__(self) -> int:
        return len(self._current())

    def __contains__(self, key: object) -> bool:
        return key in self._current()

    def __repr__(self) -> str:
        return f"CatalogueView({dict(self._current())!r})"


ITEM_NAMES: Mapping[str, str] = CatalogueView(
    lambda c: {code: i.name.zh for code, i in c.items.items()}
)
DEPARTMENT_NAMES: Mapping[str, str] = CatalogueView(
    lambda c: {code: d.name.zh for code, d in c.departments.items()}
)
MATERIAL_NAMES: Mapping[str, str] = CatalogueView(
    lambda c: {code: m.name.zh for code, m in c.materials.items()}
)
