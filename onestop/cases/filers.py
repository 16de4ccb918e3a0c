"""Who may file a case for whom (issue 8, defect 7: "A filer may only file cases its own
institution/region serves").

A filer is a staff account entering a case for the parents: a counter clerk, or the
service account of a department system's API client. Parents filing online are not
filers in this sense: pre-review judges where their case belongs.

- Bound to a hospital: only newborns born at that hospital. An empty
  ``newborns[i].hospital`` is filled with the filer's hospital (a hospital system or
  window files its own births; ADR 0015); another hospital is refused. And only in a
  region whose pack covers the hospital's division.
- Bound to a service center or police station: only in a region whose pack covers the
  institution's division.
- Bound to a division prefix: only in a region that overlaps the prefix, and only a case
  whose birth hospital or registering household is inside the prefix.

A region "covers" the divisions named by its pack: the birth hospitals in scope
(``hospital_in_scope``) and the registering parent's household (``local_hukou``).
"""

from __future__ import annotations

from typing import Any

from onestop.accounts.models import JurisdictionKind, Role, User
from onestop.core.errors import OnestopError
from onestop.policy.loader import default_packs
from onestop.policy.schema import HospitalInScopeRule, LocalHukouRule, PolicyPack
from onestop.reference.domain import ReferenceData, division_in


class OutsideJurisdiction(OnestopError):
    code = "outside_jurisdiction"


def region_divisions(pack: PolicyPack) -> tuple[str, ...]:
    """The division prefixes a region's pack covers."""
    out: list[str] = []
    for rule in pack.rules:
        if isinstance(rule, HospitalInScopeRule):
            out.extend(rule.divisions)
        elif isinstance(rule, LocalHukouRule) and rule.registering_parent_in:
            out.extend(rule.registering_parent_in)
    return tuple(dict.fromkeys(out))


def _region_label(pack: PolicyPack) -> str:
    for rule in pack.rules:
        if isinstance(rule, HospitalInScopeRule | LocalHukouRule) and rule.label:
            return rule.label
    return pack.name


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _registering_division(document: dict[str, Any]) -> str:
    registration = document.get("birth_registration")
    follows = _text(registration.get("follows")) if isinstance(registration, dict) else ""
    for side in (follows, "mother", "father"):
        section = document.get(side) if side in ("mother", "father") else None
        if isinstance(section, dict):
            division = _text(section.get("hukou_division"))
            if len(division) == 6 and division.isdigit():
                return division
    return ""


def _newborns(document: dict[str, Any]) -> list[dict[str, Any]]:
    newborns = document.get("newborns")
    return [b for b in newborns if isinstance(b, dict)] if isinstance(newborns, list) else []


def filer_admit(document: object, filer: User | None, reference: ReferenceData) -> object:
    """The document as the filer may file it (an empty birth hospital filled in for a
    hospital filer), or `OutsideJurisdiction`. Not a document, or an unknown region: left
    to pre-review, which answers that."""
    if filer is None or filer.role == Role.PARENT or not isinstance(document, dict):
        return document
    region = document.get("region")
    pack = default_packs().current(region) if isinstance(region, str) else None
    if pack is None:
        return document
    served = region_divisions(pack)
    label = _region_label(pack)
    kind, code = filer.jurisdiction_kind, filer.jurisdiction_code
    if not code:
        raise OutsideJurisdiction("您的账号没有设定所属机构或辖区，不能提交申请")
    if kind == JurisdictionKind.HOSPITAL:
        hospital = reference.hospitals.get(code)
        if hospital is None:
            raise OutsideJurisdiction("您所属的医疗机构不在机构名录中，不能提交申请")
        # The newborns' sections are filled in: a copy of them and of the document, the
        # rest shared with the caller's document as other filers' is (issue 10, helper
        # h-submission: was a deep copy of the whole document).
        admitted = dict(document)
        if isinstance(newborns := admitted.get("newborns"), list):
            admitted["newborns"] = [dict(b) if isinstance(b, dict) else b for b in newborns]
        filled = False
        for baby in _newborns(admitted):
            given = _text(baby.get("hospital"))
            if not given:
                baby["hospital"] = code
                filled = True
            elif given != code:
                raise OutsideJurisdiction(
                    f"只能提交本机构（{hospital.name}）出生的新生儿的申请，"
                    "该新生儿的出生医疗机构不是本机构"
                )
        if not division_in(hospital.division, served):
            raise OutsideJurisdiction(
                f"本机构（{hospital.name}）不在“{label}”的服务范围内，不能提交该地区的申请"
            )
        # The caller's own document when nothing was filled in: its limits, checked on
        # the body as sent, hold for it (`case_submit` checks a filled-in one again).
        return admitted if filled else document
    if kind in (JurisdictionKind.SERVICE_CENTER, JurisdictionKind.POLICE_STATION):
        table = (
            reference.service_centers
            if kind == JurisdictionKind.SERVICE_CENTER
            else reference.police_stations
        )
        institution = table.get(code)
        if institution is None:
            raise OutsideJurisdiction("您所属的机构不在机构名录中，不能提交申请")
        if not division_in(institution.division, served):
            raise OutsideJurisdiction(
                f"本机构（{institution.name}）不在“{label}”的服务范围内，不能提交该地区的申请"
            )
        return document
    if kind == JurisdictionKind.DIVISION:
        if not any(p.startswith(code) or code.startswith(p) for p in served):
            raise OutsideJurisdiction(f"“{label}”不在您的辖区内，不能提交该地区的申请")
        births = [reference.hospitals.get(_text(b.get("hospital"))) for b in _newborns(document)]
        places = [i.division for i in births if i is not None] + [_registering_division(document)]
        places = [d for d in places if d]
        if places and not any(d.startswith(code) for d in places):
            raise OutsideJurisdiction("该新生儿的出生医疗机构和户籍地都不在您的辖区内")
        return document
    raise OutsideJurisdiction("您的账号不能提交申请")
