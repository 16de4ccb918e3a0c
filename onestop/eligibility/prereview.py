"""Pre-review (预审): accept, supplement or reject a case, with every reason that applies.

Decided from the case document, the region's policy pack, the reference data and an
evaluation time; no clock reads, no I/O. Reject outranks supplement; every reason is
reported, each with a stable code, a Chinese message and a detail.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from onestop.cases.domain.document import (
    CaseDocument,
    Parent,
    ParsedCase,
    field_label,
)
from onestop.catalogue.loader import Catalogue, catalogue
from onestop.catalogue.names import CatalogueView
from onestop.core.clock import to_beijing
from onestop.core.written import written
from onestop.eligibility import confirmations as cf
from onestop.eligibility.reasons import (
    HUKOU_TYPE_NAMES,
    ITEM_NAMES,
    REASON_KINDS,
    RESIDENCY_NAMES,
    ROLE_NAMES,
    SIDE_NAMES,
    Outcome,
    Reason,
    ReasonKind,
    make_reason,
)
from onestop.policy import schema as ps
from onestop.reference.domain import ReferenceData
from onestop.reference.idnumber import InvalidIdNumber, parse_resident_id
from onestop.workflow.domain import ItemSpec, PlannedItem, build_plan, missing_prerequisites

# authorization.trustee.relation codes (spec/application.md) in Chinese.
RELATION_NAMES = {
    "father": "新生儿父亲",
    "paternal_grandparent": "祖父母",
    "maternal_grandparent": "外祖父母",
}

# Which chosen item a delivered result belongs to (the catalogue's items' `delivery.result`).
RESULT_ITEM: Mapping[str, str] = CatalogueView(
    lambda c: {i.delivery.result: code for code, i in c.items.items() if i.delivery is not None}
)


@dataclass(frozen=True)
class RegistrationRoute:
    """Where a special registration goes (seed 000 (二) 2–3): the birth registration is
    filed at the other parent's family hukou and its police station instead of the
    refused one (a student collective hukou; a serviceman parent). ADR 0034."""

    follows: str  # the parent whose family hukou takes the newborn
    because: str  # "student_collective" | "serviceman_parent"
    division: str  # that parent's hukou division
    police_station: str | None  # the station of that division in the reference data
    note: str  # why, in Chinese, for the officer and the parents

    def as_json(self) -> dict[str, Any]:
        return {
            "follows": self.follows,
            "because": self.because,
            "division": self.division,
            "police_station": self.police_station,
            "note": self.note,
        }


@dataclass(frozen=True)
class Decision:
    """The outcome of pre-review, its reasons and the item plan of the chosen items."""

    outcome: Outcome
    reasons: tuple[Reason, ...]
    plan: tuple[PlannedItem, ...]
    region: str
    pack_version: str
    evaluated_at: datetime
    notes: tuple[str, ...] = ()
    ordinary_channels: tuple[str, ...] = ()
    time_limit_units: Mapping[str, str] = field(default_factory=dict)
    # Unknown fields of the document, dropped (ADR 0016): {code, message, detail: path}.
    warnings: tuple[Reason, ...] = ()
    # The typed document that was judged (malformed fields dropped): what the services
    # read after pre-review instead of the raw dict.
    document: CaseDocument | None = field(default=None, compare=False, repr=False)
    # Where the other parent must confirm by SMS link (ADR 0029): who, what, which items wait.
    confirmation: cf.NeededConfirmation | None = None
    # A special registration routed to the other parent's hukou (ADR 0034).
    registration_route: RegistrationRoute | None = None

    def as_json(self) -> dict[str, Any]:
        """The shape `onestop check` prints (``spec/interfaces.md``)."""
        body: dict[str, Any] = {
            "decision": self.outcome.value,
            "reasons": [reason.as_json() for reason in self.reasons],
            "plan": [
                {
                    "item": p.item,
                    "department": p.department,
                    "after": list(p.after),
                    "time_limit_days": p.time_limit_days,
                    "time_limit_unit": self.time_limit_units.get(p.item, "working_days"),
                }
                for p in self.plan
            ],
            "region": self.region,
            "pack_version": self.pack_version,
        }
        if self.notes:
            body["notes"] = list(self.notes)
        if self.warnings:
            body["warnings"] = [warning.as_json() for warning in self.warnings]
        if self.outcome is Outcome.REJECT and self.ordinary_channels:
            body["ordinary_channels"] = list(self.ordinary_channels)
        if self.outcome is Outcome.ACCEPT and self.confirmation is not None:
            body["second_parent_confirmation"] = self.confirmation.as_json()
        if self.registration_route is not None:
            body["registration_route"] = self.registration_route.as_json()
        return body


def ordinary_channels(pack: ps.PolicyPack, items: Iterable[str]) -> list[str]:
    """Where to go instead (原渠道) for each of ``items`` the pack offers, in Chinese."""
    out = []
    for code in items:
        entry = pack.item(code)
        if entry is not None and entry.ordinary_channel:
            out.append(f"{ITEM_NAMES.get(code, code)}：{entry.ordinary_channel}")
    return out


def single_item_materials(
    doc: CaseDocument,
    pack: ps.PolicyPack,
    reference: ReferenceData,
    at: datetime,
    item: str,
    known: Catalogue | None = None,
) -> list[str]:
    """The codes of the materials to bring when ``item`` alone is applied for through its
    ordinary channel (原渠道, Jilin 三(二)): the pack's materials that would be asked for were
    it the only item chosen, limited to those the item reads (the catalogue's ``materials``)."""
    known = known or catalogue()
    entry = known.items.get(item)
    if entry is None:
        return []
    review = _Review(doc, pack, reference, to_beijing(at), (item,), dict(REASON_KINDS), known)
    reads = set(entry.materials)
    out = []
    for material in pack.materials:
        if material.material not in reads or material.material in out:
            continue
        if review.chose_any(material.items) and _conditions_hold(review, material.when):
            out.append(material.material)
    return out


def _item_specs(pack: ps.PolicyPack) -> list[ItemSpec]:
    return [ItemSpec(e.item, e.department, tuple(e.after), e.time_limit.days) for e in pack.items]


@dataclass
class _Review:
    doc: CaseDocument
    pack: ps.PolicyPack
    ref: ReferenceData
    at: datetime
    chosen: tuple[str, ...]
    kinds: dict[str, ReasonKind]
    known: Catalogue
    reasons: list[Reason] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    waived_materials: set[str] = field(default_factory=set)
    parse_paths: set[str] = field(default_factory=set)
    # A special registration (ADR 0034): why it is redirected, and where to, once known.
    redirect_wanted: str | None = None
    route: RegistrationRoute | None = None

    def add(
        self, code: str, detail: str | None = None, *, message: str | None = None, **fields: str
    ) -> None:
        reason = make_reason(code, detail=detail, kinds=self.kinds, message=message, **fields)
        if reason not in self.reasons:
            self.reasons.append(reason)

    def invalid(self, path: str, why: str) -> None:
        if path in self.parse_paths:
            return  # already told how the field is malformed; "必须填写" would mislead
        self.add("field_invalid", path, text=f"{field_label(path)}：{why}")

    def item_name(self, code: str) -> str:
        """The item's Chinese name in the catalogue the pack was loaded with."""
        item = self.known.items.get(code)
        return item.name.zh if item is not None else code

    def material_name(self, code: str) -> str:
        material = self.known.materials.get(code)
        return material.name.zh if material is not None else code

    def has(self, code: str, detail: str | None = None) -> bool:
        return any(r.code == code and (detail is None or r.detail == detail) for r in self.reasons)

    def chose_any(self, items: Iterable[str] | None) -> bool:
        return items is None or any(item in self.chosen for item in items)

    @property
    def today(self) -> date:
        return self.at.date()

    def known_parents(self) -> list[tuple[str, Parent]]:
        pairs = (("mother", self.doc.mother), ("father", self.doc.father))
        return [(side, p) for side, p in pairs if p is not None and p.is_present]

    def registering_side(self) -> str | None:
        if self.route is not None:
            return self.route.follows
        section = self.doc.birth_registration
        if "birth_registration" in self.chosen and section is not None:
            return section.follows
        return None


def pre_review(
    parsed: ParsedCase,
    pack: ps.PolicyPack,
    reference: ReferenceData,
    at: datetime,
    known: Catalogue | None = None,
) -> Decision:
    """Judge one parsed case against ``pack`` at the evaluation time ``at``; item and
    material codes are judged by ``known`` (the catalogue the pack was loaded with)."""
    doc = parsed.document
    kinds = dict(REASON_KINDS)
    for code, entry in pack.reasons.items():
        kinds[code] = ReasonKind(code, entry.decision, entry.message, code)
    offered = pack.offered
    chosen = tuple(code for code in doc.chosen_items() if code in offered)
    review = _Review(doc, pack, reference, to_beijing(at), chosen, kinds, known or catalogue())

    for problem in parsed.problems:
        review.add("field_invalid", problem.path, text=problem.message)
        review.parse_paths.add(problem.path)
    _check_common(review)
    _special_registration(review)
    for rule in pack.rules:
        if review.chose_any(rule.items):
            RULES[rule.rule](review, rule)
    _check_delivery(review)
    _check_materials(review)

    plan = tuple(build_plan(_item_specs(pack), chosen))
    doc = _routed(doc, review.route)
    confirmation = cf.confirmation_needed(
        doc, pack, [p.item for p in plan], ethnic_name=reference.ethnic_group_name
    )
    if confirmation is not None and not any(r.decision == "reject" for r in review.reasons):
        _check_other_parent_phone(review, confirmation)
    reasons = sorted(review.reasons, key=lambda r: 0 if r.decision == "reject" else 1)
    if any(r.decision == "reject" for r in reasons):
        outcome = Outcome.REJECT
    elif reasons:
        outcome = Outcome.SUPPLEMENT
    else:
        outcome = Outcome.ACCEPT
    channels = tuple(
        ordinary_channels(pack, [e.item for e in pack.items if e.item in chosen or not chosen])
    )
    return Decision(
        outcome,
        tuple(reasons),
        plan,
        pack.region,
        pack.version,
        review.at,
        tuple(review.notes),
        channels,
        {e.item: e.time_limit.unit for e in pack.items},
        tuple(Reason(w.problem, "supplement", w.message, w.path or None) for w in parsed.warnings),
        doc,
        confirmation,
        review.route,
    )


# --- common to all packs ------------------------------------------------------------
# regions.md: "Common to all: resident ID numbers must be valid; the newborn's birth date
# cannot be in the future; the registering parent must have a household register in the
# region." reference-data.md: "An unknown hospital code in a case document is field_invalid".


def _check_common(review: _Review) -> None:
    doc, ref = review.doc, review.ref
    _check_items(review)
    _check_channel(review)
    if not doc.newborns:
        review.invalid("newborns", "必须填写至少一名新生儿的信息")
    for index, newborn in enumerate(doc.newborns):
        path = f"newborns[{index}]"
        if newborn.born_at is None:
            review.invalid(f"{path}.born_at", "必须填写")
        elif newborn.born_at > review.at:
            review.add(
                "birth_in_future",
                f"{path}.born_at",
                born=written(newborn.born_at),
            )
        if newborn.hospital is not None and newborn.hospital not in ref.hospitals:
            review.invalid(f"{path}.hospital", f"未知的医疗机构代码“{newborn.hospital}”")
        if newborn.discharged_on is not None:
            if (
                newborn.born_at is not None
                and newborn.discharged_on < to_beijing(newborn.born_at).date()
            ):
                review.invalid(f"{path}.discharged_on", "出院日期不能早于出生日期")
            elif newborn.discharged_on > to_beijing(review.at).date():
                review.invalid(f"{path}.discharged_on", "出院日期不能晚于申请日期")
    _check_identities(review)
    for side, parent in review.known_parents():
        if parent.ethnicity is not None and not ref.is_ethnic_group(parent.ethnicity):
            review.invalid(f"{side}.ethnicity", f"未知的民族代码“{parent.ethnicity}”")
        if parent.hukou_division is not None and not ref.is_well_formed_division(
            parent.hukou_division
        ):
            review.invalid(f"{side}.hukou_division", "不是有效的行政区划代码")
    if doc.medical_insurance and doc.medical_insurance.division is not None:
        if not ref.is_well_formed_division(doc.medical_insurance.division):
            review.invalid("medical_insurance.division", "不是有效的行政区划代码")
    if doc.social_security_card and doc.social_security_card.bank is not None:
        if doc.social_security_card.bank not in ref.banks:
            review.invalid("social_security_card.bank", "未知的银行代码")
    card = doc.social_security_card
    branch = ref.bank_branches.get(card.branch or "") if card is not None else None
    if card is not None and branch is not None:
        # 领卡网点 picked from the region's co-operating branches (reference data); a
        # branch written as text (older documents, API clients) is taken as written.
        if branch.region != review.pack.region:
            review.invalid("social_security_card.branch", "所选领卡网点不在本地区")
        elif card.bank in ref.banks and branch.bank != card.bank:
            review.invalid("social_security_card.branch", "所选领卡网点不属于所选银行")
    maternity = doc.maternity
    if maternity is not None and "maternity_reimbursement" in review.chosen:
        if maternity.payout == "bank":
            if maternity.bank is None:
                review.invalid("maternity.bank", "发放至银行卡时必须填写开户行")
            if maternity.account_number is None:
                review.invalid("maternity.account_number", "发放至银行卡时必须填写银行账号")
    if "birth_registration" in review.chosen:
        section = doc.birth_registration
        if section is None or section.follows is None:
            review.invalid("birth_registration.follows", "必须选择新生儿户口随父亲或随母亲申报")
        elif (follows := doc.parent(section.follows)) is None or not follows.is_present:
            review.invalid(section.follows, "新生儿户口随其申报，必须填写其身份信息")
    if doc.marital_status == "married" and (doc.father is None or not doc.father.is_present):
        review.invalid("father", "婚内生育须填写父亲信息")


def _check_items(review: _Review) -> None:
    doc = review.doc
    if not doc.chosen_items():
        review.invalid("items", "请至少选择一项办理事项")
        return
    for index, code in enumerate(doc.items):
        if code is not None and code not in review.known.items:
            review.invalid(f"items[{index}]", f"未知的事项代码“{code}”")
    not_offered = [
        c for c in doc.chosen_items() if c in review.known.items and c not in review.pack.offered
    ]
    for code in not_offered:
        review.notes.append(f"本地“出生一件事”不含“{review.item_name(code)}”，请通过原渠道办理")
    if not review.chosen and not_offered:
        review.invalid("items", "所选事项均不在本地“出生一件事”服务范围内")
    for index, code in enumerate(doc.materials):
        if code is not None and code not in review.known.materials:
            review.notes.append(f"未识别的材料代码“{code}”（materials[{index}]）已忽略")


def _check_channel(review: _Review) -> None:
    channel = review.doc.channel
    offered = [c.code for c in review.pack.channels]
    if channel is not None and channel not in offered:
        labels = "、".join(c.label for c in review.pack.channels)
        review.invalid("channel", f"本地“出生一件事”的受理渠道为：{labels}")


def _id_problem(value: str) -> str | None:
    try:
        parse_resident_id(value)
    except InvalidIdNumber as exc:
        return exc.message
    return None


def _check_identities(review: _Review) -> None:
    doc = review.doc
    parents: dict[str, str] = {}
    for side, parent in review.known_parents():
        if parent.residency not in (None, "mainland"):
            continue  # not a mainland resident ID (passport, permit): not GB 11643
        if parent.id_number is None:
            review.invalid(f"{side}.id_number", "必须填写")
            continue
        parents[side] = parent.id_number
        why = _id_problem(parent.id_number)
        if why is not None:
            review.add("invalid_id_number", side, who=SIDE_NAMES[side], why=why)
    applicant = doc.applicant
    if applicant is not None and applicant.id_number is not None:
        role = applicant.role or ""
        same_as_parent = parents.get(role) == applicant.id_number
        why = _id_problem(applicant.id_number)
        if why is not None and not same_as_parent:
            if role in ("mother", "father"):
                review.add("invalid_id_number", "applicant", who="申请人", why=why)
            else:
                review.invalid("applicant.id_number", why)
    others = [
        (
            "birth_registration.householder_id_number",
            doc.birth_registration.householder_id_number if doc.birth_registration else None,
        ),
        (
            "authorization.trustee.id_number",
            doc.authorization.trustee.id_number
            if doc.authorization and doc.authorization.trustee
            else None,
        ),
    ]
    for path, number in others:
        if number is not None and (why := _id_problem(number)) is not None:
            review.invalid(path, why)


# --- pack rules ---------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's end (Jan 31 + 1 → Feb 28)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _age_window(review: _Review, rule: ps.AgeWindowRule) -> None:
    for index, newborn in enumerate(review.doc.newborns):
        path = f"newborns[{index}]"
        if newborn.born_at is None or newborn.born_at > review.at:
            continue
        if review.has("outside_age_window", path):
            continue  # the wider window already failed: one reason per newborn
        born = to_beijing(newborn.born_at).date()
        limit = add_months(born, rule.months)
        inside = review.today <= limit if rule.inclusive else review.today < limit
        if not inside:
            review.add("outside_age_window", path, born=written(born), window=rule.label)


def _hospital_in_scope(review: _Review, rule: ps.HospitalInScopeRule) -> None:
    for index, newborn in enumerate(review.doc.newborns):
        path = f"newborns[{index}].hospital"
        if newborn.hospital is None:
            review.invalid(path, "必须填写出生的医疗机构")
            continue
        hospital = review.ref.hospitals.get(newborn.hospital)
        if hospital is None:
            continue  # reported as field_invalid by the common checks
        if not hospital.midwifery or not review.ref.division_in(hospital.division, rule.divisions):
            review.add("born_outside_region", path, hospital=hospital.name, scope=rule.label)


def _in_hospital_birth(review: _Review, rule: ps.InHospitalBirthRule) -> None:
    for index, newborn in enumerate(review.doc.newborns):
        if newborn.in_hospital is False:
            review.add("not_in_hospital_birth", f"newborns[{index}].in_hospital")


def _marital_birth(review: _Review, rule: ps.MaritalBirthRule) -> None:
    status = review.doc.marital_status
    if status is None:
        review.invalid("marital_status", "必须填写")
    elif status in rule.reasons:
        review.add(rule.reasons[status], "marital_status")


def _mother_known(review: _Review, rule: ps.MotherKnownRule) -> None:
    mother = review.doc.mother
    if mother is None:
        review.invalid("mother", "必须填写母亲信息")
    elif not mother.known:
        review.add("mother_unknown", "mother")


def _parents_residency(review: _Review, rule: ps.ParentsResidencyRule) -> None:
    for side, parent in review.known_parents():
        if parent.residency in rule.excluded:
            review.add(
                "foreign_parent",
                side,
                who=SIDE_NAMES[side],
                residency=RESIDENCY_NAMES[parent.residency or "foreign"],
            )


def _local_hukou(review: _Review, rule: ps.LocalHukouRule) -> None:
    ref = review.ref
    side = review.registering_side()
    if rule.registering_parent_in is not None:
        if side is not None:
            parent = review.doc.parent(side)
            if parent is None or not parent.is_present:
                pass  # reported by the common checks
            elif parent.hukou_division is None:
                review.invalid(f"{side}.hukou_division", "落户方必须填写户籍所在地")
            elif not ref.division_in(parent.hukou_division, rule.registering_parent_in):
                review.add("no_local_hukou", side, who=SIDE_NAMES[side], scope=rule.label)
                return
        else:
            divisions = [p.hukou_division for _, p in review.known_parents() if p.hukou_division]
            if not divisions:
                review.invalid("mother.hukou_division", "必须填写父母的户籍所在地")
            elif not any(ref.division_in(d, rule.registering_parent_in) for d in divisions):
                review.add("no_local_hukou", "parents", who="父母双方", scope=rule.label)
                return
    if rule.any_parent_in is not None:
        divisions = [p.hukou_division for _, p in review.known_parents() if p.hukou_division]
        if divisions and not any(ref.division_in(d, rule.any_parent_in) for d in divisions):
            review.add("no_local_hukou", "parents", who="父母双方", scope=rule.label)


def _newborn_named(review: _Review, rule: ps.NewbornNamedRule) -> None:
    for index, newborn in enumerate(review.doc.newborns):
        if newborn.name is None:
            path = f"newborns[{index}].name"
            if rule.reason == "field_invalid":
                review.invalid(path, "必须填写新生儿姓名")
            else:
                review.add(rule.reason, path)


def authorization_problem(
    review: _Review, items: Sequence[str], *, trustee_id: str | None = None
) -> str | None:
    """Why the mother's authorization does not cover ``items`` today, or None if it does."""
    auth = review.doc.authorization
    if auth is None:
        return "需提供新生儿母亲签字的授权委托书及受托人身份证"
    if not auth.signed_by_mother:
        return "授权委托书须由新生儿母亲（委托人）签字"
    if auth.trustee is None or auth.trustee.name is None:
        return "授权委托书未写明受托人"
    if trustee_id and auth.trustee.id_number and auth.trustee.id_number != trustee_id:
        return "授权委托书的受托人与申请人不一致"
    granted = {code for code in auth.items or () if code}
    missing = [review.item_name(code) for code in items if code not in granted]
    if missing:
        return "授权委托书未包含以下委托事项：" + "、".join(missing)
    if auth.valid_from is None or auth.valid_to is None:
        return "授权委托书未写明委托期限"
    if review.today < auth.valid_from:
        return f"授权委托书自 {written(auth.valid_from)} 起才生效"
    if review.today > auth.valid_to:
        return f"授权委托书已于 {written(auth.valid_to)} 到期"
    return None


def _applicant_admitted(review: _Review, rule: ps.ApplicantAdmittedRule) -> None:
    applicant = review.doc.applicant
    role = applicant.role if applicant is not None else None
    if role is None:
        review.invalid("applicant.role", "必须填写申请人身份")
        return
    entry = next((a for a in rule.admitted if a.role == role), None)
    if entry is None:
        review.add("wrong_applicant", role, admitted=rule.label, role=ROLE_NAMES[role])
        return
    if not entry.needs_authorization:
        return
    auth = review.doc.authorization
    relation = auth.trustee.relation if auth and auth.trustee else None
    if entry.trustee_relations is not None and relation is not None:
        if relation not in entry.trustee_relations:
            name = f"{ROLE_NAMES[role]}（与婴儿关系：{RELATION_NAMES.get(relation, relation)}）"
            review.add("wrong_applicant", f"{role}:{relation}", admitted=rule.label, role=name)
            return
    why = authorization_problem(
        review, review.chosen, trustee_id=applicant.id_number if applicant else None
    )
    if why is None and entry.trustee_relations is not None and relation is None:
        # 授权委托书: "受托人与婴儿关系（限父亲、祖父母、外祖父母）" must be filled in.
        allowed = "、".join(RELATION_NAMES.get(r, r) for r in entry.trustee_relations)
        why = f"授权委托书未写明受托人与婴儿的关系（限{allowed}）"
    if why is not None:
        review.add("authorization_missing", "authorization", why=why)
        review.waived_materials.update({"authorization_letter", "trustee_id_card"})


def _ssc_not_applied_elsewhere(review: _Review, rule: ps.SscNotAppliedElsewhereRule) -> None:
    section = review.doc.social_security_card
    if section is not None and section.applied_elsewhere:
        review.add("ssc_already_applied", "social_security_card.applied_elsewhere")


def _bmc_issued(review: _Review, rule: ps.BmcIssuedRule) -> None:
    section = review.doc.birth_registration
    has_number = section is not None and section.bmc_number is not None
    if not has_number and "birth_certificate" not in review.doc.provided_materials():
        review.add("bmc_missing", "birth_registration.bmc_number")
        review.waived_materials.add("birth_certificate")


def _hukou_type(review: _Review, rule: ps.HukouTypeRule) -> None:
    section = review.doc.birth_registration
    hukou_type = section.hukou_type if section is not None else None
    if hukou_type in rule.redirect and review.redirect_wanted is not None:
        return  # routed to the other parent's family hukou (_special_registration)
    if hukou_type is not None and hukou_type not in rule.allowed:
        name = HUKOU_TYPE_NAMES[hukou_type]
        path = "birth_registration.hukou_type"
        if rule.reason == "field_invalid":
            review.invalid(path, rule.message or f"不能选择{name}")
        else:
            review.add(rule.reason, path, message=rule.message, hukou_type=name)


def _ethnicity_signed(review: _Review) -> bool:
    """Whether both parents' signatures on the ethnicity confirmation are there, or will
    be: the applicant's own tick, and the other parent's tick recorded at the counter — or
    the other parent's confirmation by SMS link where the pack has one (ADR 0029; online,
    a tick for the other parent on the applicant's device is not their signature)."""
    doc = review.doc
    own = doc.applicant.role if doc.applicant is not None else None
    other = cf.other_parent(doc)
    if own not in ("mother", "father") or other is None:
        return cf.signed_by(doc, "mother") and cf.signed_by(doc, "father")
    if not cf.signed_by(doc, own):
        return False
    if cf.other_signature_counts(doc) and cf.signed_by(doc, other):
        return True
    by_link = review.pack.confirmation("ethnicity_differs")
    channel = doc.channel or "online"
    if by_link is None or channel not in by_link.channels or not review.chose_any(by_link.items):
        # no link here (or no item that waits for it): both ticks, as on the paper form
        return cf.signed_by(doc, other)
    return True


def _ethnicity_confirmation(review: _Review, rule: ps.EthnicityConfirmationRule) -> None:
    if not cf.ethnicities_differ(review.doc):
        return
    mother, father = review.doc.mother, review.doc.father
    assert mother is not None and father is not None
    confirmation = review.doc.ethnicity_confirmation
    signed = _ethnicity_signed(review)
    if not signed and "ethnicity_confirmation_form" not in review.doc.provided_materials():
        review.add("ethnicity_confirmation_missing", "ethnicity_confirmation")
        review.waived_materials.add("ethnicity_confirmation_form")
        return
    if confirmation is not None and confirmation.ethnicity is not None:
        if confirmation.ethnicity not in (mother.ethnicity, father.ethnicity):
            review.invalid("ethnicity_confirmation.ethnicity", "新生儿民族应随父亲或母亲")


def _check_other_parent_phone(review: _Review, needed: cf.NeededConfirmation) -> None:
    """The other parent confirms by SMS link on their own phone: it must be on the form,
    and it cannot be the applicant's (the applicant cannot confirm for them)."""
    doc = review.doc
    other = doc.parent(needed.parent)
    path = f"{needed.parent}.phone"
    phone = other.phone if other is not None else None
    if phone is None:
        review.invalid(path, f"须填写{needed.parent_name}本人的手机号码，用于短信确认")
        return
    own = [doc.applicant.phone if doc.applicant is not None else None]
    own_side = doc.applicant.role if doc.applicant is not None else None
    if own_side in ("mother", "father"):
        parent = doc.parent(own_side)
        own.append(parent.phone if parent is not None else None)
    if phone in own:
        review.invalid(path, f"须填写{needed.parent_name}本人的手机号码，不能与申请人的相同")


def _complete_chain(review: _Review, rule: ps.CompleteChainRule) -> None:
    specs = _item_specs(review.pack)
    provided = review.doc.provided_materials()
    for item, missing in missing_prerequisites(specs, review.chosen).items():
        for prerequisite in missing:
            entry = review.pack.item(prerequisite)
            if entry is not None and entry.result_material in provided:
                continue
            review.invalid(
                "items",
                f"办理“{review.item_name(item)}”须同时选择“{review.item_name(prerequisite)}”",
            )


def _redirect_reason(review: _Review) -> tuple[str, str] | None:
    """(why, the other side) when the pack redirects this case's birth registration to
    the other parent's family hukou: the chosen hukou is one the pack redirects (a student
    collective hukou), or the registering parent is an active serviceman and the other a
    civilian."""
    if "birth_registration" not in review.chosen or review.doc.birth_registration is None:
        return None
    section = review.doc.birth_registration
    side = section.follows
    if side is None:
        return None
    other_side = "father" if side == "mother" else "mother"
    for rule in review.pack.rules:
        if not review.chose_any(rule.items):
            continue
        if isinstance(rule, ps.HukouTypeRule) and section.hukou_type in rule.redirect:
            return "student_collective", other_side
        if isinstance(rule, ps.ServicemanParentRule) and rule.redirect:
            parent, other = review.doc.parent(side), review.doc.parent(other_side)
            if parent is not None and parent.active_serviceman and other is not None:
                if other.is_present and not other.active_serviceman:
                    return "serviceman_parent", other_side
    return None


def station_for(ref: ReferenceData, division: str, chosen: str | None) -> str | None:
    """The police station of ``division``: the one the applicant chose if it is there,
    else the first the reference data lists there, else None."""
    if chosen and (inst := ref.police_stations.get(chosen)) is not None:
        if inst.division == division:
            return chosen
    return next((c for c, i in ref.police_stations.items() if i.division == division), None)


def _special_registration(review: _Review) -> None:
    """Lanzhou's special registrations (seed 000 (二) 2–3; ADR 0034): not refused, but
    filed at the other parent's family hukou and routed to its police station."""
    found = _redirect_reason(review)
    if found is None:
        return
    because, other_side = found
    review.redirect_wanted = because
    other = review.doc.parent(other_side)
    who = SIDE_NAMES["father" if other_side == "mother" else "mother"]
    spouse = SIDE_NAMES[other_side]
    if other is None or not other.is_present:
        review.invalid(other_side, f"出生登记须在{spouse}家庭户口所在地申报，必须填写其身份信息")
        return
    if other.hukou_division is None:
        review.invalid(
            f"{other_side}.hukou_division",
            f"出生登记须在{spouse}家庭户口所在地的公安派出所申报，必须填写其户籍所在地",
        )
        return
    section = review.doc.birth_registration
    chosen = section.police_station if section is not None else None
    station = station_for(review.ref, other.hukou_division, chosen)
    place = review.ref.division_name(other.hukou_division) or other.hukou_division
    where = review.ref.police_stations[station].name if station else f"{place}的公安派出所"
    if because == "student_collective":
        why = (
            f"{who}户口为学生集体户口，按规定新生儿户口在其配偶（{spouse}）"
            "家庭户口所在地申报出生登记"
        )
    else:
        why = (
            f"{who}为现役军人，按规定新生儿户口在地方居民一方（{spouse}）常住户口所在地申报出生登记"
        )
    note = f"特殊情形落户：{why}，出生登记由{where}（{place}）办理"
    review.route = RegistrationRoute(other_side, because, other.hukou_division, station, note)
    review.notes.append(note)


def _routed(doc: CaseDocument, route: RegistrationRoute | None) -> CaseDocument:
    """The typed document the services route by: the registration follows the other
    parent into their family hukou, at their police station."""
    if route is None or doc.birth_registration is None:
        return doc
    section = doc.birth_registration.model_copy(
        update={
            "follows": route.follows,
            "hukou_type": "family",
            "police_station": route.police_station,
        }
    )
    return doc.model_copy(update={"birth_registration": section})


def _serviceman_parent(review: _Review, rule: ps.ServicemanParentRule) -> None:
    if review.redirect_wanted is not None:
        return  # routed to the civilian parent's hukou (_special_registration)
    side = review.registering_side()
    if side is None:
        return
    parent = review.doc.parent(side)
    other = review.doc.parent("father" if side == "mother" else "mother")
    if parent is not None and parent.active_serviceman and other is not None:
        if other.is_present and not other.active_serviceman:
            review.invalid(
                "birth_registration.follows",
                "父母一方为现役军人的，应在地方居民一方常住户口所在地申报出生登记",
            )


RULES: dict[str, Callable[[_Review, Any], None]] = {
    "age_window": _age_window,
    "hospital_in_scope": _hospital_in_scope,
    "in_hospital_birth": _in_hospital_birth,
    "marital_birth": _marital_birth,
    "mother_known": _mother_known,
    "parents_residency": _parents_residency,
    "local_hukou": _local_hukou,
    "newborn_named": _newborn_named,
    "applicant_admitted": _applicant_admitted,
    "ssc_not_applied_elsewhere": _ssc_not_applied_elsewhere,
    "bmc_issued": _bmc_issued,
    "hukou_type": _hukou_type,
    "ethnicity_confirmation": _ethnicity_confirmation,
    "complete_chain": _complete_chain,
    "serviceman_parent": _serviceman_parent,
}


# --- delivery and materials ---------------------------------------------------------


def _check_delivery(review: _Review) -> None:
    delivery = review.doc.delivery
    if delivery is None:
        return
    needs_address = False
    for result, item in RESULT_ITEM.items():
        choice = delivery.choice(result)
        if choice is None or item not in review.chosen:
            continue
        option = review.pack.delivery.get(result)  # type: ignore[call-overload]
        path = f"delivery.{result}"
        if choice.method == "mail":
            needs_address = True
        if option is None:
            continue
        if choice.method is not None and choice.method not in option.methods:
            allowed = "、".join("自行领取" if m == "pickup" else "邮寄" for m in option.methods)
            review.invalid(f"{path}.method", f"本地只提供：{allowed}")
        if choice.method != "mail" and choice.by is not None:
            if option.pickup_by is not None and choice.by not in option.pickup_by:
                review.invalid(f"{path}.by", "本地不支持由该人领取")
            elif choice.by in option.authorization_for:
                why = authorization_problem(review, [item])
                if why is not None:
                    review.add("authorization_missing", f"{path}.by", why=f"委托领取：{why}")
    if needs_address:
        address = delivery.address
        for key in ("recipient", "phone", "address"):
            if address is None or getattr(address, key) is None:
                review.invalid(f"delivery.address.{key}", "选择邮寄送达时必须填写")


def _conditions_hold(review: _Review, when: ps.Conditions) -> bool:
    doc = review.doc
    mother_known = doc.mother is not None and doc.mother.is_present
    father_known = doc.father is not None and doc.father.is_present
    role = doc.applicant.role if doc.applicant else None
    checks: list[bool] = []
    if when.mother_known is not None:
        checks.append(mother_known == when.mother_known)
    if when.father_known is not None:
        checks.append(father_known == when.father_known)
    if when.married is not None:
        checks.append((doc.marital_status == "married") == when.married)
    if when.applicant_roles is not None:
        checks.append(role in when.applicant_roles)
    if when.items_chosen is not None:
        checks.append(any(i in review.chosen for i in when.items_chosen))
    if when.items_not_chosen is not None:
        checks.append(not any(i in review.chosen for i in when.items_not_chosen))
    if when.registering_parent is not None:
        checks.append(review.registering_side() == when.registering_parent)
    if when.parents_ethnicities_differ is not None:
        m = doc.mother.ethnicity if doc.mother else None
        f = doc.father.ethnicity if doc.father else None
        differ = m is not None and f is not None and m != f
        checks.append(differ == when.parents_ethnicities_differ)
    return all(checks)


def _check_materials(review: _Review) -> None:
    provided = review.doc.provided_materials()
    for entry in review.pack.materials:
        if entry.material in provided or entry.material in review.waived_materials:
            continue
        if not review.chose_any(entry.items) or not _conditions_hold(review, entry.when):
            continue
        review.add(
            "missing_material",
            entry.material,
            material=review.material_name(entry.material),
        )
