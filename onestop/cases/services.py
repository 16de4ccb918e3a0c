"""Writes to cases: submission (pre-review, persistence, dispatch) and supplements.

`case_submit` is one transaction: the case, its people, newborns, materials, decision,
timeline, audit record, the accepted case's items with their first dispatch, and the
messages to send — all or nothing.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from onestop.accounts.models import Role, User
from onestop.audit.services import audit_record
from onestop.cases.claims import (
    DuplicateNewborn,
    active_holder,
    claims_refresh,
    duplicate_error,
)
from onestop.cases.domain.document import field_label, without_unknown_fields
from onestop.cases.domain.limits import check_document
from onestop.cases.filers import OutsideJurisdiction, filer_admit
from onestop.cases.models import (
    Case,
    CaseNumberCounter,
    CaseStatus,
    Material,
    Newborn,
    Person,
)
from onestop.cases.uploads import files_removed_on_failure, store_material
from onestop.catalogue.loader import catalogue
from onestop.catalogue.schema import Routing
from onestop.common.fields import index_of
from onestop.core.clock import to_beijing
from onestop.core.errors import OnestopError
from onestop.eligibility.check import check_case
from onestop.eligibility.prereview import Decision
from onestop.eligibility.reasons import ITEM_NAMES, Outcome
from onestop.integration.events import case_event
from onestop.notifications.services import notification_queue
from onestop.policy.loader import default_packs
from onestop.policy.schema import PolicyPack
from onestop.reference.domain import ReferenceData
from onestop.reference.selectors import current_reference
from onestop.workflow.models import CaseItem, ItemState
from onestop.workflow.services import (
    actor_label,
    items_resume,
    items_start,
    parent_phones,
    timeline_add,
)

__all__ = [
    "CaseStateError",
    "DuplicateNewborn",
    "OutsideJurisdiction",
    "Submission",
    "case_submit",
    "case_supplement",
]


class CaseStateError(OnestopError):
    code = "case_state"


@dataclass(frozen=True)
class Submission:
    case: Case
    decision: dict[str, Any]
    created: bool


def body_digest(document: object) -> str:
    """SHA-256 of the document in canonical JSON. Total: text a document may not hold (a
    lone surrogate) is digested too, so the digest can be taken before the document is
    checked (and refused)."""
    canonical = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def case_number_next(region: str, at: datetime) -> str:
    """``QINBEI-20261120-0001``: region, Beijing date, sequence of the day (gap-free)."""
    day = to_beijing(at).date()
    counter, _ = CaseNumberCounter.objects.get_or_create(region=region, day=day)
    counter = CaseNumberCounter.objects.select_for_update().get(pk=counter.pk)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"{region.upper()}-{day:%Y%m%d}-{counter.last:04d}"


def _section(doc: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = doc.get(name)
    return value if isinstance(value, dict) else {}


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _registering_division(doc: Mapping[str, Any]) -> str:
    follows = _str(_section(doc, "birth_registration").get("follows"))
    for side in (follows, "mother", "father"):
        if side in ("mother", "father"):
            division = _str(_section(doc, side).get("hukou_division"))
            if len(division) == 6 and division.isdigit():
                return division
    return ""


def _hospital(doc: Mapping[str, Any]) -> str:
    """The (first) newborn's hospital code."""
    newborns = doc.get("newborns")
    if isinstance(newborns, list) and newborns and isinstance(newborns[0], dict):
        return _str(newborns[0].get("hospital"))
    return ""


def _hospital_division(doc: Mapping[str, Any], reference: ReferenceData) -> str:
    inst = reference.hospitals.get(_hospital(doc))
    return inst.division if inst else ""


def _jurisdiction(
    doc: Mapping[str, Any],
    routing: Routing,
    case_division: str,
    hospital_division: str,
    reference: ReferenceData,
) -> tuple[str, str, str]:
    """(kind, code, division) of the office that works an item routed by ``routing`` (the
    catalogue's vocabulary, onestop/catalogue/schema.py); the registering division when the
    case lacks what the rule needs."""
    if routing == "birth_hospital" and (hospital := _hospital(doc)):
        return "hospital", hospital, hospital_division or case_division
    if routing == "police_station":
        station = _str(_section(doc, "birth_registration").get("police_station"))
        inst = reference.police_stations.get(station)
        if inst is not None:
            return "police_station", station, inst.division
    if routing == "insurance_division":
        division = _str(_section(doc, "medical_insurance").get("division"))
        if len(division) == 6 and division.isdigit():
            return "division", division, division
    if routing == "hospital_division" and hospital_division:
        return "division", hospital_division, hospital_division
    return "division", case_division, case_division


def _people(case: Case, doc: Mapping[str, Any]) -> None:
    for role in ("mother", "father", "applicant"):
        section = _section(doc, role)
        if not section:
            continue
        id_number = _str(section.get("id_number")) or None
        Person.objects.create(
            case=case,
            role=role,
            name=_str(section.get("name")) or None,
            id_number=id_number,
            id_index=index_of(id_number, purpose="id") if id_number else "",
            phone=_str(section.get("phone")) or None,
            residency=_str(section.get("residency")),
            hukou_division=_str(section.get("hukou_division"))[:6],
        )
    trustee = _section(_section(doc, "authorization"), "trustee")
    if trustee:
        id_number = _str(trustee.get("id_number")) or None
        Person.objects.create(
            case=case,
            role="trustee",
            name=_str(trustee.get("name")) or None,
            id_number=id_number,
            id_index=index_of(id_number, purpose="id") if id_number else "",
        )
    newborns = doc.get("newborns")
    for position, baby in enumerate(newborns if isinstance(newborns, list) else []):
        if not isinstance(baby, dict):
            continue
        medical = {
            k: baby.get(k) for k in ("gestational_weeks", "weight_g", "length_cm", "blood_type")
        }
        Newborn.objects.create(
            case=case,
            position=position,
            name=_str(baby.get("name")) or None,
            sex=_str(baby.get("sex"))[:1],
            born_at=_str(baby.get("born_at")) or None,
            hospital_code=_str(baby.get("hospital"))[:32],
            medical=medical,
        )


def _materials(
    case: Case,
    doc: Mapping[str, Any],
    files: Mapping[str, UploadedFile[Any]],
    actor: User | None,
    now: datetime,
) -> None:
    declared = doc.get("materials")
    codes = [c for c in declared if isinstance(c, str)] if isinstance(declared, list) else []
    for code in dict.fromkeys(codes):
        if code in files:
            continue
        Material.objects.create(
            case=case,
            code=code,
            source=Material.Source.DECLARED,
            token=secrets.token_hex(16),
            uploaded_at=now,
            uploaded_by=actor,
        )
    _store_uploads(case, files, actor, now)


def _store_uploads(
    case: Case, files: Mapping[str, UploadedFile[Any]], actor: User | None, now: datetime
) -> None:
    for code, upload in files.items():
        store_material(
            case=case, code=code, upload=upload, actor=actor, now=now, source=Material.Source.UPLOAD
        )


DECISION_WORDS = {"accept": "予以受理", "supplement": "需要补正", "reject": "不予受理"}


def _decide(document: object, now: datetime, reference: ReferenceData) -> Decision:
    return check_case(document, packs=default_packs(), reference=reference, now=now)


def case_submit(
    *,
    document: object,
    actor: User | None,
    now: datetime | None = None,
    idempotency_key: str | None = None,
    files: Mapping[str, UploadedFile[Any]] | None = None,
    counter: tuple[str, str] | None = None,
    signature: Mapping[str, Any] | None = None,
    filer: User | None = None,
) -> Submission:
    """Pre-review and store a case. Raises `UnreadableDocument` for a non-document,
    `OutsideJurisdiction` when the filer (a clerk, or an API client's account) may not file
    this case, and `DuplicateNewborn` when a newborn of it already has an active case.

    ``idempotency_key`` marks the case as an API client's submission (unique: a second case
    with the key is an IntegrityError); replays of a key are answered by the integration
    API's idempotency service (`onestop.integration.idempotency`), not here."""
    now = now or timezone.now()
    check_document(document, label=field_label)  # DocumentRefused before anything reads it
    digest = body_digest(document)  # of the body as sent
    if filer is None and actor is not None and actor.role != Role.PARENT:
        filer = actor
    viewer = filer or actor
    reference = current_reference()  # read once per submission, used by every step
    document = filer_admit(document, filer, reference)
    decision = _decide(document, now, reference)
    if isinstance(document, dict):
        # A newborn with an active case gets no second case, not even a rejected one: the
        # parents are told which case exists. Checked early here; for cases that claim
        # (all but rejected ones) the claims inserted with the case decide under races.
        holder = active_holder(document)
        if holder is not None:
            raise duplicate_error(holder, viewer)
    assert isinstance(document, dict)  # check_case raised otherwise
    document, _unknown = without_unknown_fields(document)  # told in decision.warnings
    with files_removed_on_failure(), transaction.atomic():
        case = _create(
            document,
            decision,
            actor=actor,
            now=now,
            digest=digest,
            idempotency_key=idempotency_key,
            files=files or {},
            counter=counter,
            signature=signature,
            reference=reference,
            viewer=viewer,
        )
    return Submission(case=case, decision=case.decision, created=True)


def _create(
    document: dict[str, Any],
    decision: Decision,
    *,
    actor: User | None,
    now: datetime,
    digest: str,
    idempotency_key: str | None,
    files: Mapping[str, UploadedFile[Any]],
    counter: tuple[str, str] | None,
    signature: Mapping[str, Any] | None,
    reference: ReferenceData,
    viewer: User | None,
) -> Case:
    status = {
        Outcome.ACCEPT: CaseStatus.IN_PROGRESS,
        Outcome.SUPPLEMENT: CaseStatus.SUPPLEMENT,
        Outcome.REJECT: CaseStatus.REJECTED,
    }[decision.outcome]
    hospital = _hospital(document)
    hospital_division = _hospital_division(document, reference)
    division = _registering_division(document) or hospital_division
    channel = _str(document.get("channel")) or "online"
    phones = {
        role: _str(_section(document, role).get("phone"))
        for role in ("applicant", "mother", "father")
    }
    ids = {role: _str(_section(document, role).get("id_number")) for role in ("mother", "father")}
    case = Case.objects.create(
        number=case_number_next(decision.region, now),
        region=decision.region,
        pack_version=decision.pack_version,
        channel=channel if channel in ("online", "counter") else "online",
        counter_kind=counter[0] if counter else "",
        counter_code=counter[1] if counter else "",
        clerk=actor if counter else None,
        status=status,
        decision=decision.as_json(),
        document=document,
        hospital_code=hospital[:32],
        police_station_code=_str(_section(document, "birth_registration").get("police_station"))[
            :32
        ],
        division=division,
        applicant_phone_index=index_of(phones["applicant"], purpose="phone")
        if phones["applicant"]
        else "",
        mother_phone_index=index_of(phones["mother"], purpose="phone") if phones["mother"] else "",
        father_phone_index=index_of(phones["father"], purpose="phone") if phones["father"] else "",
        mother_id_index=index_of(ids["mother"], purpose="id") if ids["mother"] else "",
        father_id_index=index_of(ids["father"], purpose="id") if ids["father"] else "",
        idempotency_key=idempotency_key or None,
        body_digest=digest,
        signature=dict(signature) if signature else None,
        submitted_at=now,
        decided_at=now,
    )
    _claim_newborns(case, document, now, viewer)
    _people(case, document)
    _materials(case, document, files, actor, now)
    where = "窗口" if counter else "网上"
    timeline_add(
        case, now, "submitted", f"已通过{where}提交申请，办件编号 {case.number}", actor=actor
    )
    timeline_add(case, now, "decided", f"预审结论：{DECISION_WORDS[decision.outcome.value]}")
    audit_record(
        stream=case.number,
        at=now,
        actor=actor,
        actor_label=actor_label(actor),
        action="case_submitted",
        object_type="case",
        object_id=case.number,
        detail={
            "decision": decision.outcome.value,
            "reasons": [r.code for r in decision.reasons],
            "pack_version": decision.pack_version,
        },
    )
    case_event(
        case=case,
        kind="case_decided",
        at=now,
        data={"decision": decision.outcome.value, "region": case.region},
    )
    if decision.outcome is Outcome.ACCEPT:
        _items_dispatch(case, decision, document, now, reference)
    _notify_decision(case, decision, now)
    return case


def _claim_newborns(
    case: Case, document: Mapping[str, Any], now: datetime, viewer: User | None
) -> None:
    """One newborn, one active case: the claims go in with the case, and a second active
    claim of a key is refused by the database (the answer to a concurrent submission)."""
    try:
        with transaction.atomic():
            claims_refresh(case, document, now)
    except IntegrityError:
        holder = active_holder(document, exclude=case)
        if holder is None:
            raise
        raise duplicate_error(holder, viewer) from None


def _items_dispatch(
    case: Case,
    decision: Decision,
    document: Mapping[str, Any],
    now: datetime,
    reference: ReferenceData,
) -> None:
    """An accepted case: its item rows from the plan, then the first dispatch."""
    pack = default_packs().version(decision.region, decision.pack_version)
    assert pack is not None
    rows = _create_items(
        case,
        decision,
        pack,
        dict(document),
        case.division,
        _hospital_division(document, reference),
        reference,
    )
    items_start(case, rows, now=now, actor=None)


def _create_items(
    case: Case,
    decision: Decision,
    pack: PolicyPack,
    document: dict[str, Any],
    division: str,
    hospital_division: str,
    reference: ReferenceData,
) -> dict[str, CaseItem]:
    rows: dict[str, CaseItem] = {}
    for position, planned in enumerate(decision.plan):
        entry = pack.item(planned.item)
        assert entry is not None
        routing = catalogue().routing(planned.item, planned.department)
        kind, code, item_division = _jurisdiction(
            document, routing, division, hospital_division, reference
        )
        rows[planned.item] = CaseItem.objects.create(
            case=case,
            item=planned.item,
            position=position,
            department=planned.department,
            jurisdiction_kind=kind,
            jurisdiction_code=code,
            division=item_division,
            after=list(planned.after),
            state=ItemState.WAITING,
            time_limit_days=planned.time_limit_days,
            time_limit_unit=entry.time_limit.unit,
            clock_rule=pack.clock_rule,
            clock_start=entry.time_limit.starts,
            automatic=entry.automatic,
        )
    return rows


def _notify_decision(case: Case, decision: Decision, now: datetime) -> None:
    if decision.outcome is Outcome.ACCEPT:
        items = "、".join(ITEM_NAMES.get(p.item, p.item) for p in decision.plan)
        body = (
            f"【出生一件事】您的申请已受理，办件编号{case.number}，"
            f"办理事项：{items}。可登录查看进度。"
        )
    elif decision.outcome is Outcome.SUPPLEMENT:
        body = (
            f"【出生一件事】您的申请（办件编号{case.number}）需要补正"
            f"{len(decision.reasons)}项内容，请登录查看一次性告知并补正。"
        )
    else:
        body = (
            f"【出生一件事】您的申请（办件编号{case.number}）不予受理，"
            "请登录查看原因和可办理的原渠道。"
        )
    notification_queue(
        key=f"case:{case.number}:decided", phones=parent_phones(case), body=body, at=now, case=case
    )


def case_supplement(
    *,
    case_id: int,
    actor: User | None,
    document: Mapping[str, Any] | None = None,
    files: Mapping[str, UploadedFile[Any]] | None = None,
    now: datetime | None = None,
) -> Case:
    """The applicant supplements.

    - A case waiting for a pre-review supplement is judged again on the corrected
      document; if it now passes it is accepted and dispatched under the same number.
    - A case in progress with returned items: the materials are stored and every returned
      item resumes with its paused clock.
    """
    now = now or timezone.now()
    with files_removed_on_failure(), transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case_id)
        if case.status == CaseStatus.SUPPLEMENT:
            new_document = dict(document) if document is not None else dict(case.document)
            check_document(new_document, label=field_label)
            if new_document.get("region") != case.region:
                raise CaseStateError("补正不能更改办件所属地区")
            _store_uploads(case, files or {}, actor, now)
            codes = new_document.get("materials")
            codes = list(codes) if isinstance(codes, list) else []
            new_document["materials"] = list(dict.fromkeys([*codes, *(files or {})]))
            reference = current_reference()
            decision = _decide(new_document, now, reference)
            case.document, _unknown = without_unknown_fields(new_document)
            case.decision = decision.as_json()
            case.decided_at = now
            case.version += 1
            timeline_add(case, now, "supplemented", "已提交补正材料", actor=actor)
            timeline_add(
                case, now, "decided", f"预审结论：{DECISION_WORDS[decision.outcome.value]}"
            )
            if decision.outcome is Outcome.ACCEPT:
                case.status = CaseStatus.IN_PROGRESS
                case.pack_version = decision.pack_version
                case.save()
                _claim_newborns(case, new_document, now, actor)
                _items_dispatch(case, decision, new_document, now, reference)
            elif decision.outcome is Outcome.REJECT:
                case.status = CaseStatus.REJECTED
                case.save()
                _claim_newborns(case, new_document, now, actor)  # releases them
            else:
                case.save()
                _claim_newborns(case, new_document, now, actor)
            audit_record(
                stream=case.number,
                at=now,
                actor=actor,
                actor_label=actor_label(actor),
                action="case_supplemented",
                object_type="case",
                object_id=case.number,
                detail={
                    "decision": decision.outcome.value,
                    "reasons": [r.code for r in decision.reasons],
                },
            )
            notification_queue(
                key=f"case:{case.number}:decided:{case.version}",
                phones=parent_phones(case),
                body=f"【出生一件事】已收到您的补正（办件编号{case.number}），"
                f"预审结论：{DECISION_WORDS[decision.outcome.value]}。",
                at=now,
                case=case,
            )
            return case
        if case.status == CaseStatus.IN_PROGRESS:
            _store_uploads(case, files or {}, actor, now)
            resumed = items_resume(case, actor=actor, now=now)
            if not resumed:
                raise CaseStateError("该办件没有待补正的事项")
            timeline_add(case, now, "supplemented", "已提交补正材料", actor=actor)
            return case
        raise CaseStateError(f"办件状态为“{case.get_status_display()}”，不能补正")
