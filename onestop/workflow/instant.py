"""秒批 (straight-through approval): whether the shared data verifies an item its pack lets
the platform approve without a human, and the result it then records.

Fuzhou's birth certificate (seed 003): "服务平台即时审核申请人相关信息……自动调取产妇分娩信息
进行核对。核对一致的，生成《出生医学证明》". The check: the birth hospital's delivery record
found by hospital, record number and the mother's ID number together (as the form's
pre-filling finds it), whose birth time (to the minute) and sex agree with the case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from onestop.cases.models import Case
from onestop.core.clock import parse_time
from onestop.hospitals.selectors import delivery_record_lookup
from onestop.policy.loader import default_packs
from onestop.policy.schema import InstantApproval

CHECKED = "助产机构、住院病历号、母亲身份证号码、出生时间、性别"


@dataclass(frozen=True)
class Verdict:
    approved: bool
    reason: str
    result: dict[str, str] = field(default_factory=dict)


def instant_rule(case: Case, item: str) -> InstantApproval | None:
    """The item's ``instant_approval`` in the pack version the case is pinned to."""
    pack = default_packs().version(case.region, case.pack_version)
    entry = pack.item(item) if pack is not None else None
    return entry.instant_approval if entry is not None else None


def _code(value: object) -> str:
    return "" if value is None else str(value).strip()


def _same_minute(a: object, b: datetime) -> bool:
    try:
        first, second = parse_time(str(a)), b
    except ValueError:
        return False
    return first.replace(second=0, microsecond=0) == second.replace(second=0, microsecond=0)


def bmc_number(case: Case, newborn: int = 0) -> str:
    """A platform-issued BMC number in the result pattern ``[A-Z]\\d{9}``: the region's
    initial, the newborn (0 for the first, twins: 1, 2 …, ADR 0036) and the case's row
    number (unique, and the same on a retry)."""
    letter = (case.region[:1] or "Z").upper()
    if newborn == 0:
        return f"{letter}{case.pk % 1_000_000_000:09d}"
    return f"{letter}{newborn % 10}{case.pk % 100_000_000:08d}"


def instant_check(case: Case, item: str, rule: InstantApproval, newborn: int = 0) -> Verdict:
    """Whether the shared data verifies ``item`` of ``case`` under ``rule``; for twins,
    the certificate of the newborn at ``newborn`` against its own delivery record."""
    if rule.when != "delivery_record_matches" or item != "birth_certificate":
        return Verdict(False, "该事项没有可用的自动核对规则")
    form = case.typed_document()
    if not 0 <= newborn < len(form.newborns):
        return Verdict(False, "新生儿信息不完整，需人工核对")
    baby = form.newborns[newborn]
    mother_id = (form.mother.id_number if form.mother is not None else None) or ""
    hospital, number = baby.hospital or "", baby.record_number or ""
    if not (hospital and number and mother_id):
        return Verdict(False, "申请未提供助产机构、住院病历号或母亲身份证号码")
    record = delivery_record_lookup(hospital, number, mother_id)
    if record is None:
        return Verdict(False, "未找到助产机构、住院病历号和母亲身份证号码均一致的分娩记录")
    if baby.born_at is None or not _same_minute(record.get("born_at"), baby.born_at):
        return Verdict(False, "分娩记录的出生时间与申请不一致")
    sex = _code(record.get("sex"))
    if not sex or sex != (baby.sex or ""):
        return Verdict(False, "分娩记录的性别与申请不一致")
    number_issued = bmc_number(case, newborn)
    return Verdict(
        True,
        f"服务平台自动调取产妇分娩信息（{CHECKED}）核对一致",
        {"bmc_number": number_issued},
    )
