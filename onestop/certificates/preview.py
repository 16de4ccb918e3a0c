"""The previews the applicant confirms before the item is issued, and their e-signature
(预览确认签字, ADR 0035).

Fuzhou (seed 003): "核对一致的，生成《出生医学证明》，《出生医学证明首次签发登记表》和《常住人口
登记表》（后续环节公安部门使用）预览页面，一并推送给申请人确认签字（电子签名）。不符合要求的，通知
申请人转线下办理。申请人确认无误后，服务平台将有关申请信息推送至助产机构。"

- ``preview_documents``: the three documents from the case document, in the order of the
  paper forms, each a title and rows (label, value) as people read them: names, not codes;
  dates written. ``preview_digest``: the SM3 of their canonical JSON — what the applicant
  reads on the page and in the PDFs, and what the signature binds.
- ``preview_confirm``: the applicant (only they: the phone they applied with), signed in,
  types their full name and a fresh SMS code (意愿认证: the code is asked for the signing
  act itself) and confirms the digest they read. In one transaction: the signed content is
  kept (encrypted), the signature record — signer, time, method, the digest — is sealed
  by the platform's key (SM2 with SM3, as the e-licences), the held item is released (its
  department, or 秒批, takes it from there), audit record and events. A second
  confirmation changes nothing.
- ``preview_correct``: the applicant says what is wrong; the item is refused with the
  reason and the ordinary channel (转线下办理), the items needing it cancelled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from onestop.accounts.models import Role, User, actor_label
from onestop.accounts.permissions import parent_phone_index
from onestop.accounts.services import otp_verify
from onestop.audit.services import audit_record
from onestop.cases.domain.document import CaseDocument, Newborn, Parent
from onestop.cases.models import Case
from onestop.cases.services import case_locked
from onestop.certificates.seal import (
    Sealed,
    Verdict,
    b64url,
    b64url_decode,
    canonical_json,
    seal,
    sm3_hex,
    verify_sealed,
)
from onestop.certificates.services import keystore, published_keys
from onestop.common.compiled import CompiledFirst
from onestop.core.errors import OnestopError
from onestop.core.events import emit
from onestop.core.written import written
from onestop.eligibility.confirmations import SIDE_NAMES
from onestop.reference.idnumber import mask_id_number
from onestop.reference.selectors import current_reference
from onestop.unified_form.model import value_name
from onestop.workflow import events as ev
from onestop.workflow.domain.newborns import newborn_ordinal
from onestop.workflow.models import CaseItem, PreviewConfirmation
from onestop.workflow.preview import (
    DOCUMENT_TITLES,
    held_row,
    preview_refuse,
    preview_release,
)

PLATFORM = "platform"  # the issuer code of the platform's own seal key
PLATFORM_NAME = "“出生一件事”服务平台"
METHOD = "typed_name+sms_code"
METHOD_TEXT = "申请人本人手机号码登录，输入本人姓名并以短信验证码确认（意愿认证）"
REASON_MAX = 200
SEX = {"1": "男", "2": "女"}
# The labels whose values are ID numbers: masked on screen and in the preview PDFs (the
# digest covers them in full).
ID_LABELS = frozenset({"母亲有效身份证件号码", "父亲有效身份证件号码", "户主公民身份号码"})
State = PreviewConfirmation.State


class PreviewError(OnestopError):
    """``code``: not_applicant, not_pending, changed, name_mismatch, reason_missing."""

    code = "preview_invalid"


@dataclass(frozen=True)
class PreviewDocument:
    kind: str
    title: str
    rows: tuple[tuple[str, str], ...]
    # Twins or more (ADR 0036): which baby's document (0-based); None for a single birth,
    # whose content (and so its digest) is what it was before multiple births.
    newborn: int | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "title": self.title,
            "rows": [list(r) for r in self.rows],
        }
        if self.newborn is not None:
            out["newborn"] = self.newborn
        return out

    def shown_rows(self) -> list[tuple[str, str]]:
        return [(k, mask_id_number(v) if k in ID_LABELS and v else v) for k, v in self.rows]


# --- the documents ---------------------------------------------------------------------------


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _named(path: str, value: object) -> str:
    if value is None or value == "":
        return ""
    return value_name(current_reference(), path, value) or _text(value)


def _hospital_place(code: str | None) -> tuple[str, str]:
    """(the hospital's name, the full name of its division)."""
    hospital = current_reference().hospitals.get(code or "")
    if hospital is None:
        return _text(code), ""
    return hospital.name, current_reference().division_full_name(hospital.division) or ""


def _parent(form: CaseDocument, side: str | None) -> Parent | None:
    return form.parent(side) if side in ("mother", "father") else None


def _baby(form: CaseDocument, newborn: int) -> Newborn | None:
    return form.newborns[newborn] if 0 <= newborn < len(form.newborns) else None


def _bmc(form: CaseDocument, newborn: int = 0) -> list[tuple[str, str]]:
    baby = _baby(form, newborn)
    mother, father = form.mother, form.father
    hospital, place = _hospital_place(baby.hospital if baby else None)
    rows = [
        ("新生儿姓名", _text(baby.name if baby else "")),
        ("性别", SEX.get(_text(baby.sex if baby else ""), "")),
        ("出生时间", written(baby.born_at) if baby and baby.born_at else ""),
        ("出生孕周", f"{baby.gestational_weeks}周" if baby and baby.gestational_weeks else ""),
        ("出生体重", f"{baby.weight_g}克" if baby and baby.weight_g else ""),
        ("出生身长", f"{baby.length_cm:g}厘米" if baby and baby.length_cm else ""),
        ("出生地点", place),
        ("医疗机构名称", hospital),
    ]
    for side, parent in (("母亲", mother), ("父亲", father)):
        rows += [
            (f"{side}姓名", _text(parent.name if parent else "")),
            (f"{side}民族", _named("mother.ethnicity", parent.ethnicity) if parent else ""),
            (f"{side}有效身份证件号码", _text(parent.id_number if parent else "")),
        ]
    rows += [("出生证编号", "（由助产机构签发时填写）"), ("签证机构", hospital)]
    return rows


def _register(form: CaseDocument, channel: str, newborn: int = 0) -> list[tuple[str, str]]:
    baby = _baby(form, newborn)
    hospital, _place = _hospital_place(baby.hospital if baby else None)
    applicant = form.applicant
    choice = form.delivery.birth_certificate if form.delivery is not None else None
    rows = [
        ("新生儿姓名", _text(baby.name if baby else "")),
        ("性别", SEX.get(_text(baby.sex if baby else ""), "")),
        ("出生时间", written(baby.born_at) if baby and baby.born_at else ""),
        ("血型", _text(baby.blood_type if baby else "")),
        ("住院病历号", _text(baby.record_number if baby else "")),
        ("接生人员", _text(baby.birth_attendant if baby else "")),
        ("助产机构", hospital),
    ]
    for side, parent in (("母亲", form.mother), ("父亲", form.father)):
        rows += [
            (f"{side}姓名", _text(parent.name if parent else "")),
            (f"{side}有效身份证件号码", _text(parent.id_number if parent else "")),
            (f"{side}住址", _text(parent.residence_address if parent else "")),
        ]
    method = choice.method if choice is not None else None
    rows += [
        ("申领人", _text(applicant.name if applicant else "")),
        ("申领人与新生儿关系", SIDE_NAMES.get(_text(applicant.role if applicant else ""), "")),
        ("领取方式", {"mail": "邮寄", "pickup": "自取"}.get(_text(method), "")),
        ("办理渠道", "线上办理（网上申报）" if channel == "online" else "窗口办理"),
        ("首次签发", "是"),
    ]
    return rows


def _household(form: CaseDocument, newborn: int = 0) -> list[tuple[str, str]]:
    baby = _baby(form, newborn)
    section = form.birth_registration
    _hospital, place = _hospital_place(baby.hospital if baby else None)
    ethnic_parent = _parent(form, baby.ethnicity_follows if baby else None)
    native_parent = _parent(form, baby.native_place_follows if baby else None)
    station = section.police_station if section else None
    rows = [
        ("姓名", _text(baby.name if baby else "")),
        ("性别", SEX.get(_text(baby.sex if baby else ""), "")),
        ("民族", _named("mother.ethnicity", ethnic_parent.ethnicity) if ethnic_parent else ""),
        ("出生日期", written(baby.born_at, date_only=True) if baby and baby.born_at else ""),
        ("出生地", place),
        (
            "籍贯",
            _named("mother.hukou_division", native_parent.hukou_division) if native_parent else "",
        ),
        ("公民身份号码", "（由公安机关编制）"),
        ("户主姓名", _text(section.householder_name if section else "")),
        ("户主公民身份号码", _text(section.householder_id_number if section else "")),
        ("与户主关系", _text(section.relation_to_householder if section else "")),
        ("住址", _text(section.address if section else "")),
        ("户别", {"family": "家庭户"}.get(_text(section.hukou_type if section else ""), "")),
        ("父亲姓名", _text(form.father.name if form.father else "")),
        ("母亲姓名", _text(form.mother.name if form.mother else "")),
        ("申报人", _text(form.applicant.name if form.applicant else "")),
        (
            "登记机关",
            _named("birth_registration.police_station", station) if station else "",
        ),
    ]
    return rows


def preview_documents(case: Case, kinds: Sequence[str]) -> list[PreviewDocument]:
    """The previews of ``kinds`` for ``case``, in that order. Twins or more (ADR 0036):
    each baby's documents, baby after baby, titled with the baby (第二个孩子); the applicant
    signs them all at once (one signature, one digest), and each baby's task sees its own."""
    form = case.typed_document()
    build = {
        "birth_certificate": lambda n: _bmc(form, n),
        "bmc_first_issue_register": lambda n: _register(form, case.channel, n),
        "household_registration_form": lambda n: _household(form, n),
    }
    if len(form.newborns) <= 1:
        return [
            PreviewDocument(kind, DOCUMENT_TITLES.get(kind, kind), tuple(build[kind](0)))
            for kind in kinds
            if kind in build
        ]
    return [
        PreviewDocument(
            kind,
            f"{DOCUMENT_TITLES.get(kind, kind)}（{newborn_ordinal(n)}）",
            tuple(build[kind](n)),
            newborn=n,
        )
        for n in range(len(form.newborns))
        for kind in kinds
        if kind in build
    ]


def documents_json(documents: Sequence[PreviewDocument]) -> list[dict[str, Any]]:
    return [d.as_json() for d in documents]


def preview_digest(content: Sequence[Mapping[str, Any]]) -> str:
    """The SM3 of the previews' canonical JSON (what the signature binds)."""
    return sm3_hex(canonical_json(list(content)))


def documents_from_json(content: object) -> list[PreviewDocument]:
    if not isinstance(content, list):
        return []
    return [
        PreviewDocument(
            str(d.get("kind", "")),
            str(d.get("title", "")),
            tuple((str(r[0]), str(r[1])) for r in d.get("rows", []) if len(r) == 2),
            d["newborn"] if isinstance(d.get("newborn"), int) else None,
        )
        for d in content
        if isinstance(d, dict)
    ]


# --- who may sign ----------------------------------------------------------------------------


def is_the_applicant(case: Case, user: User | None) -> bool:
    """Only the applicant signs: signed in with the phone the case was applied with."""
    if user is None or not user.is_authenticated or user.role != Role.PARENT:
        return False
    index = parent_phone_index(user)
    return bool(index) and index == case.applicant_phone_index


def _preview_of(case_id: int) -> QuerySet[PreviewConfirmation]:
    return PreviewConfirmation.objects.filter(case_id=case_id)


# Asked by every task's detail (a claim's answer too), of most cases none: compiled once
# per database in this process (issue 10 part 2; the statement differs by the case's id).
_PREVIEW_OF = CompiledFirst(PreviewConfirmation, _preview_of, -7_340_029_117)


def open_preview(case: Case) -> PreviewConfirmation | None:
    if Case.preview_confirmation.is_cached(case):  # read with the case (select_related)
        kept: PreviewConfirmation | None = getattr(case, "preview_confirmation", None)
        return kept
    return _PREVIEW_OF.first(case.pk)


# --- the services ----------------------------------------------------------------------------


def _lock(case_id: int) -> tuple[Case, PreviewConfirmation, dict[str, CaseItem]]:
    case = case_locked(case_id)
    preview = PreviewConfirmation.objects.get(case=case)
    # Keyed as the workflow keys rows (``code``, ``code-2`` for twins, ADR 0036).
    rows = {r.key: r for r in CaseItem.objects.filter(case=case).order_by("position")}
    return case, preview, rows


def _audit(case: Case, preview: PreviewConfirmation, action: str, actor: User | None,
           now: datetime, detail: Mapping[str, object]) -> None:  # fmt: skip
    audit_record(
        stream=case.number,
        at=now,
        actor=actor,
        actor_label=actor_label(actor),
        action=action,
        object_type="preview",
        object_id=str(preview.pk),
        detail={"item": preview.item, **detail},
    )


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def signature_document(
    case: Case, preview: PreviewConfirmation, user: User, *, digest: str, now: datetime
) -> dict[str, Any]:
    """What the platform seals: the evidence that the applicant signed these previews."""
    form = case.typed_document()
    role = form.applicant.role if form.applicant is not None else None
    return {
        "kind": "preview_signature",
        "issuer": {"code": PLATFORM, "name": PLATFORM_NAME},
        "case": case.number,
        "item": preview.item,
        "documents": [
            {"kind": k, "title": DOCUMENT_TITLES.get(k, k)} for k in preview.documents_kinds
        ],
        "documents_sm3": digest,
        "signer": {"role": role or "", "user": user.pk, "phone_index": case.applicant_phone_index},
        "signed_at": now.isoformat(),
        "method": METHOD,
    }


def preview_confirm(
    *,
    case: Case,
    user: User | None,
    digest: str,
    typed_name: str,
    sms_code: str,
    now: datetime | None = None,
) -> PreviewConfirmation:
    """The applicant e-signs the previews whose SM3 is ``digest`` (what their page showed)."""
    now = now or timezone.now()
    if not is_the_applicant(case, user):
        raise PreviewError("只能由申请人本人登录后确认签字", code="not_applicant")
    assert user is not None
    current = open_preview(case)
    if current is not None and current.state == State.CONFIRMED:
        return current  # signed before: nothing changes (the code is not even asked)
    form = case.typed_document()
    expected = _clean(form.applicant.name if form.applicant is not None else "")
    if not expected or _clean(typed_name) != expected:
        raise PreviewError("请输入申请人本人的姓名（与申请表一致）", code="name_mismatch")
    # 意愿认证: a fresh code to the applicant's phone, for this act (its count and lockout
    # commit on their own, before the signing transaction).
    coder = otp_verify(phone=user.phone or "", code=sms_code, now=now)
    if coder.pk != user.pk:
        raise PreviewError("只能由申请人本人登录后确认签字", code="not_applicant")
    with transaction.atomic():
        case, preview, rows = _lock(case.pk)
        if preview.state == State.CONFIRMED:
            return preview
        if preview.state != State.PENDING or held_row(preview, rows) is None:
            raise PreviewError("该预览已处理，不能再确认", code="not_pending")
        content = documents_json(preview_documents(case, preview.documents_kinds))
        actual = preview_digest(content)
        if digest != actual:
            raise PreviewError("预览内容已更新，请重新查看后再确认", code="changed")
        signer = keystore().signer(PLATFORM, now=timezone.now())
        sealed = seal(signature_document(case, preview, user, digest=actual, now=now), signer)
        preview.state = State.CONFIRMED
        preview.decided_at = now
        preview.signer = user
        preview.documents = content
        preview.digest = actual
        preview.sealed = sealed.document.decode("utf-8")
        preview.signature = b64url(sealed.signature)
        preview.key_id = signer.key_id
        preview.algorithm = signer.algorithm
        preview.save()
        happened = preview_release(case, preview, rows, now=now, actor=user)
        _audit(case, preview, "preview_confirmed", user, now, {"documents_sm3": actual})
        emit(
            ev.PreviewDecided(case=case, at=now, preview=preview, outcome="confirmed", actor=user),
            *happened,
        )
    return preview


def preview_correct(
    *, case: Case, user: User | None, reason: str, now: datetime | None = None
) -> PreviewConfirmation:
    """The applicant says the previews are wrong: the item goes offline (转线下办理)."""
    now = now or timezone.now()
    if not is_the_applicant(case, user):
        raise PreviewError("只能由申请人本人登录后提出更正", code="not_applicant")
    reason = _clean(reason)[:REASON_MAX]
    if not reason:
        raise PreviewError("请说明哪项信息有误", code="reason_missing")
    with transaction.atomic():
        case, preview, rows = _lock(case.pk)
        if preview.state != State.PENDING or held_row(preview, rows) is None:
            raise PreviewError("该预览已处理，不能再提出更正", code="not_pending")
        preview.state = State.CORRECTION
        preview.decided_at = now
        preview.signer = user
        preview.reason = reason
        preview.save()
        happened = preview_refuse(
            case, preview, rows, f"申请人确认预览时提出信息有误：{reason}", now=now, actor=user
        )
        _audit(case, preview, "preview_correction", user, now, {"reason": reason})
        emit(
            ev.PreviewDecided(case=case, at=now, preview=preview, outcome="correction", actor=user),
            *happened,
        )
    return preview


# --- the evidence, for the hospital and the police -----------------------------------------


def preview_evidence(preview: PreviewConfirmation | None) -> dict[str, Any] | None:
    """The signature record of a confirmed preview, its seal and its digest checked: the
    signed content must still hash to the sealed digest, and the seal must verify."""
    if preview is None or preview.state != State.CONFIRMED or not preview.sealed:
        return None
    try:
        sealed = Sealed(preview.sealed.encode("utf-8"), b64url_decode(preview.signature))
        verdict = verify_sealed(sealed, published_keys())
    except ValueError:
        verdict = Verdict(False, "malformed")
    doc = verdict.document or {}
    content = preview.documents if isinstance(preview.documents, list) else []
    intact = preview_digest(content) == preview.digest == doc.get("documents_sm3")
    return {
        "valid": verdict.valid and intact,
        "reason": verdict.reason if intact else "签署内容与签名记录的摘要不一致",
        "intact": intact,
        "signed_at": preview.decided_at,
        "signer_role": SIDE_NAMES.get(str((doc.get("signer") or {}).get("role", "")), "申请人"),
        "method": METHOD_TEXT,
        "digest": preview.digest,
        "key_id": preview.key_id,
        "algorithm": preview.algorithm,
        "documents": [DOCUMENT_TITLES.get(k, k) for k in preview.documents_kinds],
    }


def signed_document(
    preview: PreviewConfirmation | None, kind: str, newborn: int = 0
) -> PreviewDocument | None:
    """One document of the signed content (the police read the 常住人口登记表 from it);
    ``newborn``: whose, for twins or more."""
    if preview is None or preview.state != State.CONFIRMED:
        return None
    for document in documents_from_json(preview.documents):
        if document.kind == kind and (document.newborn or 0) == newborn:
            return document
    return None


# What an item's officers see of the signed previews: the item that waited for them sees
# the signature evidence and the signed 《出生医学证明》 and 首次签发登记表 (助产机构 "核对信息
# 无误后按规定打印申领材料归档"); the police item sees the evidence and the signed
# 《常住人口登记表》 (seed 003: "派出所……审核服务平台推送的《常住人口登记表》《出生医学证明》
# ……等信息"; "包括含有电子签名的申请表"). Other items see nothing of it.
REGISTRATION_FORM = "household_registration_form"
REGISTRATION_ITEM = "birth_registration"


@dataclass(frozen=True)
class SignedPreviewView:
    evidence: dict[str, Any]
    documents: list[PreviewDocument]


def signed_preview_for(item: CaseItem) -> SignedPreviewView | None:
    preview = open_preview(item.case)
    if preview is None or item.item not in (preview.item, REGISTRATION_ITEM):
        return None
    evidence = preview_evidence(preview)
    if evidence is None:
        return None
    documents: list[PreviewDocument] = []
    if evidence["valid"]:
        documents = [
            d
            for d in documents_from_json(preview.documents)
            if (d.kind == REGISTRATION_FORM) == (item.item == REGISTRATION_ITEM)
            # Twins: each baby's task sees its own baby's signed documents (ADR 0036).
            and (d.newborn or 0) == item.newborn
        ]
    return SignedPreviewView(evidence, documents)


def signed_lines(evidence: Mapping[str, Any], case_number: str) -> list[str]:
    """The signature lines printed under a signed document (the archive copy)."""
    return [
        f"办件编号：{case_number}",
        f"申请人（新生儿{evidence['signer_role']}）已于{written(evidence['signed_at'])}"
        f"确认签字（电子签名）：{evidence['method']}",
        f"签署内容摘要（SM3）：{evidence['digest']}",
        f"平台电子签章：{evidence['algorithm']} · {evidence['key_id']}",
    ]
