"""The guided eligibility check (智能导引): a few questions derived from a region's pack,
the likely result with its reasons, where to apply, and the materials to prepare.

Each eligibility rule of the pack's fixed vocabulary asks (at most) one question and
judges its answer; a rule the guide does not know asks nothing (the pre-review still
judges it on submission). There is no per-region code: a sixth region's pack gets its
guide from its rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Literal

from django.utils.translation import gettext as _

from onestop.core.written import written
from onestop.eligibility.prereview import add_months, ordinary_channels
from onestop.eligibility.reasons import (
    HUKOU_TYPE_NAMES,
    ITEM_NAMES,
    MATERIAL_NAMES,
    REASON_KINDS,
    RESIDENCY_NAMES,
    ROLE_NAMES,
    ReasonKind,
    make_reason,
)
from onestop.policy import schema as ps
from onestop.unified_form.model import MARITAL, RELATIONS, applicable_items
from onestop.workflow.domain import ItemSpec, missing_prerequisites

YES, NO = "yes", "no"
QuestionKind = Literal["yesno", "choice", "date"]


@dataclass(frozen=True)
class Question:
    key: str
    text: str
    kind: QuestionKind = "yesno"
    choices: tuple[tuple[str, str], ...] = ()
    # Asked only when one of these items is chosen (None: always).
    items: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Finding:
    """Why the bundle is likely not available: a pre-review reason code and its message."""

    code: str
    message: str


@dataclass(frozen=True)
class MaterialNeed:
    code: str
    name: str
    conditional: bool  # needed only in some situations the guide did not ask about


@dataclass(frozen=True)
class GuideResult:
    eligible: bool
    findings: tuple[Finding, ...]
    notes: tuple[str, ...]
    materials: tuple[MaterialNeed, ...]
    channels: tuple[str, ...]
    online: bool
    ordinary_channels: tuple[str, ...]
    items: tuple[str, ...]


@dataclass
class _Judgement:
    pack: ps.PolicyPack
    items: tuple[str, ...]
    answers: Mapping[str, Any]
    today: date
    kinds: dict[str, ReasonKind]
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def fail(self, code: str, message: str | None = None, **fields: str) -> None:
        if message is None:
            message = make_reason(code, kinds=self.kinds, **fields).message
        finding = Finding(code, message)
        if finding not in self.findings:
            self.findings.append(finding)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


def _applies(rule: Any, items: Sequence[str]) -> bool:
    return rule.items is None or any(item in items for item in rule.items)


# --- one question and one judgement per rule kind ------------------------------------


def _q_age(rule: ps.AgeWindowRule) -> Question:
    return Question("born_on", _("宝宝的出生日期"), "date")


def _j_age(j: _Judgement, rule: ps.AgeWindowRule) -> None:
    born = j.answers.get("born_on")
    if not isinstance(born, date):
        return
    if born > j.today:
        j.fail("birth_in_future", _("出生日期不能晚于今天，请核对"))
        return
    if any(f.code == "outside_age_window" for f in j.findings):
        return  # the wider window already failed: one reason is enough
    limit = add_months(born, rule.months)
    inside = j.today <= limit if rule.inclusive else j.today < limit
    if not inside:
        j.fail("outside_age_window", born=written(born), window=rule.label)


def _q_hospital(rule: ps.HospitalInScopeRule) -> Question:
    return Question(
        "hospital_in_scope",
        _("宝宝是否在{scope}具备助产资质的医疗机构出生？").format(scope=rule.label),
    )


def _j_hospital(j: _Judgement, rule: ps.HospitalInScopeRule) -> None:
    if j.answers.get("hospital_in_scope") == NO:
        j.fail(
            "born_outside_region",
            _("只受理在{scope}具备助产资质的医疗机构出生的新生儿").format(scope=rule.label),
        )


def _q_in_hospital(rule: ps.InHospitalBirthRule) -> Question:
    return Question("in_hospital", _("宝宝是否在医疗机构内住院分娩？"))


def _j_in_hospital(j: _Judgement, rule: ps.InHospitalBirthRule) -> None:
    if j.answers.get("in_hospital") == NO:
        j.fail("not_in_hospital_birth")


def _q_marital(rule: ps.MaritalBirthRule) -> Question:
    options = tuple((code, _(label)) for code, label in MARITAL)
    return Question("marital_status", _("父母的婚姻状况"), "choice", options)


def _j_marital(j: _Judgement, rule: ps.MaritalBirthRule) -> None:
    status = j.answers.get("marital_status")
    if isinstance(status, str) and status in rule.reasons:
        j.fail(rule.reasons[status])


def _q_mother_known(rule: ps.MotherKnownRule) -> Question:
    return Question("mother_known", _("新生儿母亲的身份是否明确？"))


def _j_mother_known(j: _Judgement, rule: ps.MotherKnownRule) -> None:
    if j.answers.get("mother_known") == NO:
        j.fail("mother_unknown")


def _excluded(rule: ps.ParentsResidencyRule) -> str:
    return "、".join(RESIDENCY_NAMES.get(code, code) for code in rule.excluded)


def _q_residency(rule: ps.ParentsResidencyRule) -> Question:
    return Question("foreign_parent", _("父母中是否有人是{who}？").format(who=_excluded(rule)))


def _j_residency(j: _Judgement, rule: ps.ParentsResidencyRule) -> None:
    if j.answers.get("foreign_parent") == YES:
        j.fail(
            "foreign_parent",
            _("父母一方为{who}的，暂不纳入本地“出生一件事”受理范围").format(who=_excluded(rule)),
        )


def _q_hukou(rule: ps.LocalHukouRule) -> Question:
    if rule.registering_parent_in is not None:
        text = _("新生儿随其落户的父亲或母亲，户籍是否在{scope}？")
    else:
        text = _("父母中至少一方的户籍是否在{scope}？")
    return Question("local_hukou", text.format(scope=rule.label))


def _j_hukou(j: _Judgement, rule: ps.LocalHukouRule) -> None:
    if j.answers.get("local_hukou") == NO:
        j.fail("no_local_hukou", who=_("落户一方"), scope=rule.label)


def _q_named(rule: ps.NewbornNamedRule) -> Question | None:
    if rule.reason == "field_invalid":
        return None  # a name is simply a field of the form here
    return Question("newborn_named", _("宝宝是否已经取名？"))


def _j_named(j: _Judgement, rule: ps.NewbornNamedRule) -> None:
    if rule.reason == "field_invalid":
        j.note(_("申请时须填写新生儿姓名，请先为宝宝取名。"))
    elif j.answers.get("newborn_named") == NO:
        j.fail(rule.reason)


def _q_applicant(rule: ps.ApplicantAdmittedRule) -> Question:
    options = tuple((role, name) for role, name in ROLE_NAMES.items())
    return Question("applicant_role", _("由谁来申请？"), "choice", options)


def _j_applicant(j: _Judgement, rule: ps.ApplicantAdmittedRule) -> None:
    role = j.answers.get("applicant_role")
    if not isinstance(role, str) or role not in ROLE_NAMES:
        return
    entry = next((a for a in rule.admitted if a.role == role), None)
    if entry is None:
        j.fail("wrong_applicant", admitted=rule.label, role=ROLE_NAMES[role])
    elif entry.needs_authorization:
        relations = "、".join(
            _(RELATIONS.get(code, code)) for code in entry.trustee_relations or ()
        )
        text = _("须有新生儿母亲签字的授权委托书和受托人身份证")
        if relations:
            text += _("（受托人限：{who}）").format(who=relations)
        j.note(text)


def _q_ssc(rule: ps.SscNotAppliedElsewhereRule) -> Question:
    return Question(
        "ssc_applied",
        _("宝宝是否已在其他渠道或省市申领过社会保障卡？"),
        items=("social_security_card",),
    )


def _j_ssc(j: _Judgement, rule: ps.SscNotAppliedElsewhereRule) -> None:
    if "social_security_card" in j.items and j.answers.get("ssc_applied") == YES:
        j.fail("ssc_already_applied")


def _q_bmc(rule: ps.BmcIssuedRule) -> Question:
    return Question("bmc_issued", _("是否已经取得《出生医学证明》？"))


def _j_bmc(j: _Judgement, rule: ps.BmcIssuedRule) -> None:
    if j.answers.get("bmc_issued") == NO:
        j.fail("bmc_missing")


def _q_hukou_type(rule: ps.HukouTypeRule) -> Question:
    options = tuple(HUKOU_TYPE_NAMES.items())
    return Question("hukou_type", _("宝宝准备落户的户口类型"), "choice", options)


def _j_hukou_type(j: _Judgement, rule: ps.HukouTypeRule) -> None:
    chosen = j.answers.get("hukou_type")
    if not isinstance(chosen, str) or chosen not in HUKOU_TYPE_NAMES or chosen in rule.allowed:
        return
    name = HUKOU_TYPE_NAMES[chosen]
    if chosen in rule.redirect:  # Lanzhou's student collective hukou (ADR 0034): not refused
        j.note(
            _(
                "{name}不能为新生儿落户：出生登记将在配偶（父亲或母亲）家庭户口所在地的"
                "公安派出所办理，请在申请表中填写配偶的户籍所在地。"
            ).format(name=name)
        )
        return
    if rule.reason == "field_invalid":
        j.fail(rule.reason, text=rule.message or _("不能选择{name}").format(name=name))
    else:
        j.fail(rule.reason, rule.message, hukou_type=name)


def _q_ethnicity(rule: ps.EthnicityConfirmationRule) -> Question:
    return Question("same_ethnicity", _("父母双方的民族是否相同？"))


def _j_ethnicity(j: _Judgement, rule: ps.EthnicityConfirmationRule) -> None:
    if j.answers.get("same_ethnicity") == NO:
        j.note(
            _(
                "父母民族不同，须由父母双方确认新生儿的民族：在申请表中确认，"
                "或上传父母双方签字的《确认民族成份申请书》。"
            )
        )


def _j_chain(j: _Judgement, rule: ps.CompleteChainRule) -> None:
    specs = [
        ItemSpec(e.item, e.department, tuple(e.after), e.time_limit.days) for e in j.pack.items
    ]
    for item, missing in missing_prerequisites(specs, j.items).items():
        for prerequisite in missing:
            j.note(
                _("办理“{item}”须同时选择“{before}”").format(
                    item=ITEM_NAMES.get(item, item),
                    before=ITEM_NAMES.get(prerequisite, prerequisite),
                )
            )


def _q_serviceman(rule: ps.ServicemanParentRule) -> Question:
    return Question("serviceman", _("父母一方是否为现役军人？"))


def _j_serviceman(j: _Judgement, rule: ps.ServicemanParentRule) -> None:
    if j.answers.get("serviceman") == YES:
        j.note(_("父母一方为现役军人的，应在地方居民一方常住户口所在地申报出生登记。"))


QUESTIONS: dict[str, Callable[[Any], Question | None]] = {
    "applicant_admitted": _q_applicant,
    "age_window": _q_age,
    "hospital_in_scope": _q_hospital,
    "in_hospital_birth": _q_in_hospital,
    "mother_known": _q_mother_known,
    "marital_birth": _q_marital,
    "parents_residency": _q_residency,
    "local_hukou": _q_hukou,
    "newborn_named": _q_named,
    "ssc_not_applied_elsewhere": _q_ssc,
    "bmc_issued": _q_bmc,
    "hukou_type": _q_hukou_type,
    "ethnicity_confirmation": _q_ethnicity,
    "serviceman_parent": _q_serviceman,
}
JUDGEMENTS: dict[str, Callable[[_Judgement, Any], None]] = {
    "applicant_admitted": _j_applicant,
    "age_window": _j_age,
    "hospital_in_scope": _j_hospital,
    "in_hospital_birth": _j_in_hospital,
    "mother_known": _j_mother_known,
    "marital_birth": _j_marital,
    "parents_residency": _j_residency,
    "local_hukou": _j_hukou,
    "newborn_named": _j_named,
    "ssc_not_applied_elsewhere": _j_ssc,
    "bmc_issued": _j_bmc,
    "hukou_type": _j_hukou_type,
    "ethnicity_confirmation": _j_ethnicity,
    "complete_chain": _j_chain,
    "serviceman_parent": _j_serviceman,
}
# The order questions are asked in (who, the child, the parents, then item-specific).
ORDER = tuple(QUESTIONS)


def questions(pack: ps.PolicyPack) -> list[Question]:
    """The questions for a pack, each once, in a natural order."""
    asked: dict[str, Question] = {}
    offered = {entry.item for entry in applicable_items(pack)}
    ranked = sorted(pack.rules, key=lambda r: ORDER.index(r.rule) if r.rule in ORDER else 99)
    for rule in ranked:
        make = QUESTIONS.get(rule.rule)
        question = make(rule) if make is not None else None
        if question is None:
            continue
        scope = question.items if question.items is not None else rule.items
        if scope is not None:
            scope = tuple(item for item in scope if item in offered)
            if not scope:
                continue  # only about items this region does not let parents choose
        before = asked.get(question.key)
        if before is not None:
            if before.items is None or scope is None:
                scope = None
            else:
                scope = tuple(dict.fromkeys(before.items + tuple(scope)))
        asked[question.key] = replace(before or question, items=scope)
    return list(asked.values())


# --- materials ------------------------------------------------------------------------------


def _facts(answers: Mapping[str, Any]) -> dict[str, Any]:
    marital = answers.get("marital_status")
    same = answers.get("same_ethnicity")
    return {
        "mother_known": None if "mother_known" not in answers else answers["mother_known"] == YES,
        "married": None if marital is None else marital == "married",
        "father_known": True if marital == "married" else None,
        "role": answers.get("applicant_role"),
        "differ": None if same is None else same == NO,
    }


def _condition(when: ps.Conditions, facts: Mapping[str, Any], items: Sequence[str]) -> bool | None:
    """Whether a material's conditions hold: True, False, or None (not known from the
    answers). Every condition must hold."""
    checks: list[bool | None] = []

    def known(fact: Any, expected: bool) -> bool | None:
        return None if fact is None else fact == expected

    if when.mother_known is not None:
        checks.append(known(facts["mother_known"], when.mother_known))
    if when.father_known is not None:
        checks.append(known(facts["father_known"], when.father_known))
    if when.married is not None:
        checks.append(known(facts["married"], when.married))
    if when.applicant_roles is not None:
        role = facts["role"]
        checks.append(None if role is None else role in when.applicant_roles)
    if when.items_chosen is not None:
        checks.append(any(i in items for i in when.items_chosen))
    if when.items_not_chosen is not None:
        checks.append(not any(i in items for i in when.items_not_chosen))
    if when.registering_parent is not None:
        checks.append(None)  # which parent the child registers with is asked in the form
    if when.parents_ethnicities_differ is not None:
        checks.append(known(facts["differ"], when.parents_ethnicities_differ))
    if any(check is False for check in checks):
        return False
    return None if any(check is None for check in checks) else True


def materials_to_prepare(
    pack: ps.PolicyPack, items: Sequence[str], answers: Mapping[str, Any]
) -> list[MaterialNeed]:
    facts = _facts(answers)
    needs: dict[str, MaterialNeed] = {}
    for entry in pack.materials:
        if entry.items is not None and not any(i in items for i in entry.items):
            continue
        holds = _condition(entry.when, facts, items)
        if holds is False:
            continue
        code = entry.material
        conditional = holds is None and not (code in needs and not needs[code].conditional)
        needs[code] = MaterialNeed(code, MATERIAL_NAMES.get(code, code), conditional)
    return list(needs.values())


# --- the result ---------------------------------------------------------------------------


def guide_result(
    pack: ps.PolicyPack, items: Sequence[str], answers: Mapping[str, Any], *, today: date
) -> GuideResult:
    """Judge the answers against the pack's rules as the pre-review would."""
    offered = [entry.item for entry in applicable_items(pack)]
    chosen = tuple(item for item in offered if item in items)
    kinds = dict(REASON_KINDS)
    for code, entry in pack.reasons.items():
        kinds[code] = ReasonKind(code, entry.decision, entry.message, code)
    judgement = _Judgement(pack, chosen, answers, today, kinds)
    for rule in pack.rules:
        if _applies(rule, chosen) and rule.rule in JUDGEMENTS:
            JUDGEMENTS[rule.rule](judgement, rule)
    automatic = [ITEM_NAMES.get(e.item, e.item) for e in pack.items if e.automatic]
    if automatic:
        judgement.note(_("以下事项无需申请，自动办理（免申即享）：") + "、".join(automatic))
    eligible = not judgement.findings
    return GuideResult(
        eligible=eligible,
        findings=tuple(judgement.findings),
        notes=tuple(judgement.notes),
        materials=tuple(materials_to_prepare(pack, chosen, answers)),
        channels=tuple(channel.label for channel in pack.channels),
        online=any(channel.code == "online" for channel in pack.channels),
        ordinary_channels=tuple(
            ordinary_channels(pack, [e.item for e in pack.items if e.item in chosen])
        ),
        items=chosen,
    )
