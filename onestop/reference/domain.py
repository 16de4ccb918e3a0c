"""Reference data: ethnic groups, divisions, institutions and banks, loaded from CSV files.

The packaged files live in ``onestop/reference/data``. A deployment adds or overrides
rows by code with files of the same names in extra directories (``load_reference``).
Imports no Django.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType
from typing import Literal, TypeVar

from onestop.core.errors import ReferenceDataError

InstitutionKind = Literal["hospital", "police_station", "service_center"]

ETHNIC_GROUPS_FILE = "ethnic_groups.csv"
DIVISIONS_FILE = "divisions.csv"
HOSPITALS_FILE = "hospitals.csv"
POLICE_STATIONS_FILE = "police_stations.csv"
SERVICE_CENTERS_FILE = "service_centers.csv"
BANKS_FILE = "banks.csv"
BANK_BRANCHES_FILE = "bank_branches.csv"

_ETHNIC_CODE = re.compile(r"[0-9]{2}")
_DIVISION_CODE = re.compile(r"[0-9]{6}")
_PLAIN_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_TRUE = frozenset({"true", "1", "yes", "y"})
_FALSE = frozenset({"false", "0", "no", "n"})


@dataclass(frozen=True)
class EthnicGroup:
    """A GB/T 3304 ethnic group; ``recognized`` is false for 97 and 98."""

    code: str
    name: str
    name_en: str
    recognized: bool = True


@dataclass(frozen=True)
class Division:
    """A GB/T 2260 administrative division; ``parent`` is None for province-level units."""

    code: str
    name: str
    parent: str | None


@dataclass(frozen=True)
class Institution:
    """A hospital, police station or service center located in a division."""

    code: str
    name: str
    division: str
    kind: InstitutionKind
    midwifery: bool = False
    # Where and when it receives people (the tables' columns; blank in the packaged files).
    address: str = ""
    office_hours: str = ""


@dataclass(frozen=True)
class Bank:
    """A partner bank for the social security card."""

    code: str
    name: str


@dataclass(frozen=True)
class BankBranch:
    """A branch (网点) of a partner bank where a region's newborns' social security cards
    are collected and their financial function is activated (seed 002: 领卡网点; 领卡后可在
    全市任意一个对应银行网点激活社保卡金融功能)."""

    code: str
    bank: str
    name: str
    region: str
    division: str
    address: str = ""
    office_hours: str = ""


def _is_six_digits(code: object) -> bool:
    return isinstance(code, str) and _DIVISION_CODE.fullmatch(code) is not None


def _containing_prefix(code: str) -> str:
    """The prefix of every unit inside ``code``: 45 for 450000, 4507 for 450700."""
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def division_in(code: str, prefixes: Iterable[str]) -> bool:
    """Whether a division code starts with any of the prefixes ("62", "6201", "450703")."""
    return isinstance(code, str) and any(prefix and code.startswith(prefix) for prefix in prefixes)


class ReferenceData:
    """Read-only reference tables (code → object) and lookups on them."""

    def __init__(
        self,
        *,
        ethnic_groups: Mapping[str, EthnicGroup],
        divisions: Mapping[str, Division],
        hospitals: Mapping[str, Institution],
        police_stations: Mapping[str, Institution],
        service_centers: Mapping[str, Institution],
        banks: Mapping[str, Bank],
        bank_branches: Mapping[str, BankBranch] | None = None,
    ) -> None:
        self.ethnic_groups: Mapping[str, EthnicGroup] = MappingProxyType(dict(ethnic_groups))
        self.divisions: Mapping[str, Division] = MappingProxyType(dict(divisions))
        self.hospitals: Mapping[str, Institution] = MappingProxyType(dict(hospitals))
        self.police_stations: Mapping[str, Institution] = MappingProxyType(dict(police_stations))
        self.service_centers: Mapping[str, Institution] = MappingProxyType(dict(service_centers))
        self.banks: Mapping[str, Bank] = MappingProxyType(dict(banks))
        self.bank_branches: Mapping[str, BankBranch] = MappingProxyType(dict(bank_branches or {}))
        self._provinces = frozenset(
            code[:2] for code, division in self.divisions.items() if division.parent is None
        )

    @property
    def recognized_ethnic_groups(self) -> tuple[EthnicGroup, ...]:
        """The recognized groups (the 56 of GB/T 3304), in code order."""
        return tuple(group for _, group in sorted(self.ethnic_groups.items()) if group.recognized)

    def is_ethnic_group(self, code: str) -> bool:
        """Whether ``code`` is a known GB/T 3304 code (including 97 and 98)."""
        return code in self.ethnic_groups

    def ethnic_group_name(self, code: str) -> str | None:
        """The Chinese name of an ethnic group, or None if unknown."""
        group = self.ethnic_groups.get(code)
        return group.name if group else None

    def division_name(self, code: str) -> str | None:
        """The short name of a known division (钦北区), or None."""
        division = self.divisions.get(code)
        return division.name if division else None

    def division_full_name(self, code: str) -> str | None:
        """The name composed through the parents (广西壮族自治区钦州市钦北区), or None."""
        division = self.divisions.get(code)
        if division is None:
            return None
        names = [division.name]
        seen = {division.code}
        while division.parent is not None:
            parent = self.divisions.get(division.parent)
            if parent is None or parent.code in seen:
                break
            seen.add(parent.code)
            names.append(parent.name)
            division = parent
        return "".join(reversed(names))

    def is_well_formed_division(self, code: str) -> bool:
        """Six digits starting with a known province-level code (the table itself is partial)."""
        return _is_six_digits(code) and code[:2] in self._provinces

    def division_in(self, code: str, prefixes: Iterable[str]) -> bool:
        """Whether a division code starts with any of the prefixes ("62", "6201", "450703")."""
        return division_in(code, prefixes)

    def branches_of(self, region: str, bank: str | None = None) -> tuple[BankBranch, ...]:
        """The region's co-operating bank branches (of one bank when ``bank`` is given),
        in code order."""
        return tuple(
            branch
            for _code, branch in sorted(self.bank_branches.items())
            if branch.region == region and (bank is None or branch.bank == bank)
        )

    def institution(self, kind: InstitutionKind, code: str) -> Institution | None:
        """The hospital, police station or service center with this code, or None."""
        table = {
            "hospital": self.hospitals,
            "police_station": self.police_stations,
            "service_center": self.service_centers,
        }[kind]
        return table.get(code)


# --- loading -------------------------------------------------------------------------

_T = TypeVar("_T")


@dataclass(frozen=True)
class _Row:
    source: str
    line: int
    values: Mapping[str, str]

    def where(self) -> str:
        return f"参考数据文件 {self.source} 第 {self.line} 行"

    def fail(self, problem: str) -> ReferenceDataError:
        return ReferenceDataError(f"{self.where()}：{problem}")

    def required(self, column: str) -> str:
        value = self.values.get(column) or ""
        if not value:
            raise self.fail(f"“{column}”列不能为空")
        return value

    def flag(self, column: str, default: bool | None = None) -> bool:
        value = (self.values.get(column) or "").lower()
        if not value and default is not None:
            return default
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise self.fail(f"“{column}”列应为 true 或 false，实际为“{value}”")


def _read_rows(source: Traversable, label: str, required: Sequence[str]) -> Iterator[_Row]:
    """The rows of one CSV file, with surrounding whitespace stripped from every cell."""
    try:
        text = source.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ReferenceDataError(f"参考数据文件 {label} 不是 UTF-8 编码：{exc}") from exc
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows: list[tuple[int, dict[str | None, str | None]]] = []
    try:
        header = [name.strip() for name in reader.fieldnames or []]
        missing = [column for column in required if column not in header]
        if missing:
            raise ReferenceDataError(
                f"参考数据文件 {label} 缺少列：{'、'.join(missing)}"
                f"（表头应含 {','.join(required)}）"
            )
        reader.fieldnames = header
        rows.extend((reader.line_num, raw) for raw in reader)
    except csv.Error as exc:
        raise ReferenceDataError(
            f"参考数据文件 {label} 第 {reader.line_num} 行不是有效的 CSV：{exc}"
        ) from exc
    for line, raw in rows:
        if None in raw:
            raise ReferenceDataError(f"参考数据文件 {label} 第 {line} 行：列数多于表头")
        values = {key: (value or "").strip() for key, value in raw.items() if key is not None}
        if not any(values.values()):
            continue
        yield _Row(label, line, values)


def _load_table(
    sources: Sequence[tuple[Traversable, str]],
    required: Sequence[str],
    build: Callable[[_Row], _T],
    code_pattern: re.Pattern[str],
    code_hint: str,
) -> tuple[dict[str, _T], dict[str, _Row]]:
    """Merge the files in order: later files add rows or override them by code."""
    table: dict[str, _T] = {}
    origin: dict[str, _Row] = {}
    for source, label in sources:
        seen: dict[str, int] = {}
        for row in _read_rows(source, label, required):
            code = row.required("code")
            if not code_pattern.fullmatch(code):
                raise row.fail(f"代码“{code}”格式不正确（应为{code_hint}）")
            if code in seen:
                raise row.fail(f"代码“{code}”重复（第 {seen[code]} 行已有）")
            seen[code] = row.line
            table[code] = build(row)
            origin[code] = row
    return table, origin


def _ethnic_group(row: _Row) -> EthnicGroup:
    return EthnicGroup(
        code=row.required("code"),
        name=row.required("name"),
        name_en=row.required("name_en"),
        recognized=row.flag("recognized", default=True),
    )


def _division(row: _Row) -> Division:
    code = row.required("code")
    parent = row.values.get("parent") or None
    if parent is None:
        if not code.endswith("0000"):
            raise row.fail(f"行政区划 {code} 没有上级，但不是省级代码（应以 0000 结尾）")
    elif not _is_six_digits(parent):
        raise row.fail(f"上级行政区划代码“{parent}”不是六位数字")
    elif parent == code or not code.startswith(_containing_prefix(parent)):
        raise row.fail(f"上级行政区划 {parent} 不包含 {code}")
    return Division(code=code, name=row.required("name"), parent=parent)


def _bank(row: _Row) -> Bank:
    return Bank(code=row.required("code"), name=row.required("name"))


def _bank_branch(row: _Row) -> BankBranch:
    division = row.required("division")
    if not _is_six_digits(division):
        raise row.fail(f"所在行政区划代码“{division}”不是六位数字")
    return BankBranch(
        code=row.required("code"),
        bank=row.required("bank"),
        name=row.required("name"),
        region=row.required("region"),
        division=division,
        address=row.values.get("address") or "",
        office_hours=row.values.get("office_hours") or "",
    )


def _institution_builder(kind: InstitutionKind) -> Callable[[_Row], Institution]:
    def build(row: _Row) -> Institution:
        division = row.required("division")
        if not _is_six_digits(division):
            raise row.fail(f"所在行政区划代码“{division}”不是六位数字")
        midwifery = row.flag("midwifery") if kind == "hospital" else False
        return Institution(
            code=row.required("code"),
            name=row.required("name"),
            division=division,
            kind=kind,
            midwifery=midwifery,
        )

    return build


def _sources(
    file_name: str, packaged: Traversable, extra_dirs: Sequence[Path]
) -> list[tuple[Traversable, str]]:
    packaged_file = packaged / file_name
    if not packaged_file.is_file():
        raise ReferenceDataError(f"缺少内置参考数据文件 {file_name}")
    found: list[tuple[Traversable, str]] = [(packaged_file, f"onestop/reference/data/{file_name}")]
    for directory in extra_dirs:
        candidate = Path(directory) / file_name
        if candidate.is_file():
            found.append((candidate, str(candidate)))
    return found


def load_reference(extra_dirs: Sequence[Path] = ()) -> ReferenceData:
    """Read the packaged CSV files, then each extra directory's files of the same names.

    Rows of later files add to or override earlier rows by code. Raises
    ``ReferenceDataError`` naming the file and row for any invalid content.
    """
    for directory in extra_dirs:
        if not Path(directory).is_dir():
            raise ReferenceDataError(f"参考数据目录 {directory} 不存在")
    packaged = resources.files("onestop.reference") / "data"

    def sources(file_name: str) -> list[tuple[Traversable, str]]:
        return _sources(file_name, packaged, extra_dirs)

    ethnic_groups, _ = _load_table(
        sources(ETHNIC_GROUPS_FILE),
        ("code", "name", "name_en"),
        _ethnic_group,
        _ETHNIC_CODE,
        "两位数字",
    )
    divisions, division_rows = _load_table(
        sources(DIVISIONS_FILE),
        ("code", "name", "parent"),
        _division,
        _DIVISION_CODE,
        "六位数字",
    )
    for code, division in divisions.items():
        if division.parent is not None and division.parent not in divisions:
            raise division_rows[code].fail(f"上级行政区划 {division.parent} 不在行政区划表中")
    provinces = {code[:2] for code, division in divisions.items() if division.parent is None}

    def institutions(file_name: str, kind: InstitutionKind) -> dict[str, Institution]:
        columns = ("code", "name", "division") + (("midwifery",) if kind == "hospital" else ())
        table, rows = _load_table(
            sources(file_name),
            columns,
            _institution_builder(kind),
            _PLAIN_CODE,
            "字母、数字、连字符或下划线",
        )
        for code, institution in table.items():
            if institution.division[:2] not in provinces:
                raise rows[code].fail(
                    f"所在行政区划代码 {institution.division} 不属于任何已知的省级行政区"
                )
        return table

    banks, _ = _load_table(
        sources(BANKS_FILE), ("code", "name"), _bank, _PLAIN_CODE, "字母、数字、连字符或下划线"
    )
    branches, branch_rows = _load_table(
        sources(BANK_BRANCHES_FILE),
        ("code", "bank", "name", "region", "division"),
        _bank_branch,
        _PLAIN_CODE,
        "字母、数字、连字符或下划线",
    )
    for code, branch in branches.items():
        if branch.bank not in banks:
            raise branch_rows[code].fail(f"银行代码“{branch.bank}”不在银行表中")
    return ReferenceData(
        ethnic_groups=ethnic_groups,
        divisions=divisions,
        hospitals=institutions(HOSPITALS_FILE, "hospital"),
        police_stations=institutions(POLICE_STATIONS_FILE, "police_station"),
        service_centers=institutions(SERVICE_CENTERS_FILE, "service_center"),
        banks=banks,
        bank_branches=branches,
    )


@functools.cache
def default_reference() -> ReferenceData:
    """The packaged reference data only, loaded once."""
    return load_reference()
