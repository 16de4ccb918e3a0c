"""Loading the catalogue: the packaged files plus ``catalogue/*.yaml`` of each extra data
folder (the folders the policy packs come from: ``ONESTOP_EXTRA_DATA`` / ``--extra-data``).

Every file may hold ``departments``, ``materials`` and ``items`` lists. A code is defined
once: a second definition, an item worked by an unknown department, or a material nobody
defines is refused with a `PackError` naming the file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType

from onestop.catalogue.schema import (
    ROUTING_KIND,
    CatalogueFile,
    Delivery,
    Department,
    Item,
    Material,
    ResultField,
    Routing,
)
from onestop.core.datafile import read_model
from onestop.core.errors import PackError

PACKAGED_CATALOGUE = Path(__file__).parent / "data"
EXTRA_DATA_ENV = "ONESTOP_EXTRA_DATA"


def extra_data_dirs_from_env() -> tuple[Path, ...]:
    """Extra data folders named by ``ONESTOP_EXTRA_DATA`` (separated like PATH)."""
    return _dirs(os.environ.get(EXTRA_DATA_ENV, ""))


@dataclass(frozen=True)
class Catalogue:
    """Every item, department and material, by code, in the order they were defined."""

    items: Mapping[str, Item]
    departments: Mapping[str, Department]
    materials: Mapping[str, Material]
    sources: tuple[Path, ...] = ()
    _by_result: Mapping[str, str] = field(default_factory=dict, repr=False)

    def item(self, code: str) -> Item | None:
        return self.items.get(code)

    def routing(self, item: str, department: str) -> Routing:
        """How an item worked by ``department`` is routed to its office."""
        entry = self.items.get(item)
        if entry is not None and department in entry.routing:
            return entry.routing[department]
        dept = self.departments.get(department)
        return dept.routing if dept is not None else "registering_division"

    def result_fields(self, item: str) -> tuple[ResultField, ...]:
        entry = self.items.get(item)
        return tuple(entry.result_fields) if entry is not None else ()

    def delivery(self, item: str) -> Delivery | None:
        entry = self.items.get(item)
        return entry.delivery if entry is not None else None

    def per_newborn(self, item: str) -> bool:
        """Whether ``item`` runs once per newborn of a multiple birth (ADR 0036)."""
        entry = self.items.get(item)
        return entry is not None and entry.per_newborn

    def item_of_result(self, result: str) -> str | None:
        """The item whose physical result is ``result`` (household_register: its birth
        registration)."""
        return self._by_result.get(result)

    def departments_worked_by(self, role: str) -> tuple[str, ...]:
        return tuple(code for code, d in self.departments.items() if role in d.worked_by)


def _read(path: Path) -> CatalogueFile:
    return read_model(path, CatalogueFile, what="事项目录", empty={})


def _files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))


def catalogue_files(extra_dirs: Sequence[Path] = ()) -> list[Path]:
    folders = [PACKAGED_CATALOGUE, *(Path(d) / "catalogue" for d in extra_dirs)]
    return [path for folder in folders if folder.is_dir() for path in _files(folder)]


def _merge(files: Iterable[tuple[Path, CatalogueFile]]) -> Catalogue:
    items: dict[str, tuple[Path, Item]] = {}
    departments: dict[str, tuple[Path, Department]] = {}
    materials: dict[str, tuple[Path, Material]] = {}
    sources: list[Path] = []
    for path, content in files:
        sources.append(path)
        for kind, table, entries in (
            ("部门", departments, content.departments),
            ("材料", materials, content.materials),
            ("事项", items, content.items),
        ):
            for entry in entries:
                if entry.code in table:
                    first = table[entry.code][0]
                    raise PackError(
                        f"事项目录 {path} 无效: {kind} {entry.code} 重复定义（{first} 中已有）"
                    )
                table[entry.code] = (path, entry)  # type: ignore[assignment]
    by_result: dict[str, str] = {}
    for code, (path, item) in items.items():
        problems = _item_problems(item, departments, materials)
        if item.delivery is not None:
            other = by_result.setdefault(item.delivery.result, code)
            if other != code:
                problems.append(f"送达结果 {item.delivery.result} 已属于事项 {other}")
        if problems:
            raise PackError(f"事项目录 {path} 无效: 事项 {code}: " + "; ".join(problems))
    return Catalogue(
        items=MappingProxyType({code: item for code, (_, item) in items.items()}),
        departments=MappingProxyType({code: d for code, (_, d) in departments.items()}),
        materials=MappingProxyType({code: m for code, (_, m) in materials.items()}),
        sources=tuple(sources),
        _by_result=MappingProxyType(by_result),
    )


def _item_problems(
    item: Item,
    departments: Mapping[str, tuple[Path, Department]],
    materials: Mapping[str, tuple[Path, Material]],
) -> list[str]:
    problems = []
    for code in item.departments:
        found = departments.get(code)
        if found is None:
            known = "、".join(departments) or "无"
            problems.append(f"departments: 未知的部门“{code}”（已定义的部门：{known}）")
            continue
        dept = found[1]
        routing = item.routing.get(code, dept.routing)
        if ROUTING_KIND[routing] != dept.jurisdiction_kind:
            problems.append(
                f"routing.{code}: {routing} 得到的辖区类型 {ROUTING_KIND[routing]}"
                f" 与部门 {code} 的辖区类型 {dept.jurisdiction_kind} 不符"
            )
    for code in item.materials:
        if code not in materials:
            problems.append(f"materials: 未知的材料“{code}”")
    return problems


def load_catalogue(extra_dirs: Sequence[Path] = ()) -> Catalogue:
    """The packaged catalogue plus ``<dir>/catalogue/*.yaml`` of each extra data folder."""
    return _merge((path, _read(path)) for path in catalogue_files(extra_dirs))


@cache
def _loaded(setting: str) -> Catalogue:
    return load_catalogue(_dirs(setting))


def _dirs(setting: str) -> tuple[Path, ...]:
    return tuple(Path(part) for part in setting.split(os.pathsep) if part.strip())


def catalogue() -> Catalogue:
    """The catalogue of the packaged data and the folders named by ``ONESTOP_EXTRA_DATA``
    (cached per value of the variable: a test that changes it gets the new catalogue)."""
    return _loaded(os.environ.get(EXTRA_DATA_ENV, ""))


def catalogue_cache_clear() -> None:
    _loaded.cache_clear()
