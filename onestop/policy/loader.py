"""Loading policy packs from YAML files: the packaged ones plus any extra data folders.

A data folder holds ``packs/*.yaml`` (``catalogue/*.yaml`` for new items and departments,
``reference/*.csv`` for the reference data of a new region). A pack is checked against the
catalogue loaded from the same folders. Several versions of one region's pack may exist; a
case is judged by the version in force when it was submitted (the latest ``effective_from``
not after it).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path

from onestop.catalogue.loader import (
    EXTRA_DATA_ENV,
    Catalogue,
    catalogue,
    extra_data_dirs_from_env,
    load_catalogue,
)
from onestop.core.clock import to_beijing
from onestop.core.datafile import read_model
from onestop.core.errors import PackError
from onestop.policy.schema import PolicyPack

PACKAGED_PACKS = Path(__file__).parent / "packs"
__all__ = ["EXTRA_DATA_ENV", "PackRegistry", "default_packs", "extra_data_dirs_from_env"]


def read_pack(path: Path, known: Catalogue | None = None) -> PolicyPack:
    """Read and validate one pack file against ``known`` (default: the current catalogue);
    any problem raises `PackError` naming the file."""
    context = {"catalogue": known or catalogue()}
    return read_model(path, PolicyPack, what="政策包", context=context)


@dataclass(frozen=True)
class PackRegistry:
    """Every known version of every region's pack."""

    versions: dict[str, tuple[PolicyPack, ...]]
    catalogue: Catalogue = field(default_factory=catalogue)

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(sorted(self.versions))

    def current(self, region: str, at: datetime | date | None = None) -> PolicyPack | None:
        """The version in force at ``at`` (the newest when ``at`` is None), or None."""
        packs = self.versions.get(region)
        if not packs:
            return None
        if at is None:
            return packs[-1]
        day = to_beijing(at).date() if isinstance(at, datetime) else at
        in_force = [pack for pack in packs if pack.effective_from <= day]
        # A case dated before the first version is judged by the first version.
        return in_force[-1] if in_force else packs[0]

    def version(self, region: str, version: str) -> PolicyPack | None:
        for pack in self.versions.get(region, ()):
            if pack.version == version:
                return pack
        return None


def _pack_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))


def load_packs(extra_dirs: Sequence[Path] = (), *, packaged: bool = True) -> PackRegistry:
    """Load the packaged packs and those in ``<dir>/packs`` of each extra data folder,
    checked against the catalogue of the same folders (the packaged one always included)."""
    known = load_catalogue(extra_dirs)
    folders: list[Path] = [PACKAGED_PACKS] if packaged else []
    folders += [Path(d) / "packs" for d in extra_dirs]
    files = (p for f in folders if f.is_dir() for p in _pack_files(f))
    return PackRegistry(_group((path, read_pack(path, known)) for path in files), known)


def _group(packs: Iterable[tuple[Path, PolicyPack]]) -> dict[str, tuple[PolicyPack, ...]]:
    grouped: dict[str, dict[str, tuple[Path, PolicyPack]]] = {}
    for path, pack in packs:
        versions = grouped.setdefault(pack.region, {})
        if pack.version in versions:
            first = versions[pack.version][0]
            raise PackError(
                f"政策包 {path} 无效: 地区 {pack.region} 的版本 {pack.version} 重复"
                f"（{first} 中已有该版本）"
            )
        versions[pack.version] = (path, pack)
    return {
        region: tuple(
            sorted(
                (pack for _, pack in versions.values()), key=lambda p: (p.effective_from, p.version)
            )
        )
        for region, versions in grouped.items()
    }


@cache
def _packs_for(setting: str) -> PackRegistry:
    return load_packs(tuple(Path(part) for part in setting.split(os.pathsep) if part.strip()))


def default_packs() -> PackRegistry:
    """The packaged packs plus the folders named by ``ONESTOP_EXTRA_DATA`` (cached per value
    of the variable, like the catalogue: changing it needs no cache to be cleared)."""
    return _packs_for(os.environ.get(EXTRA_DATA_ENV, ""))


def packs_cache_clear() -> None:
    _packs_for.cache_clear()
