"""The service guide (办事指南) of a region, generated from its pack and the catalogue.

Pure code (no Django): the same guide is the parents' public page ``/guide/<region>/``,
the 12345 operators' knowledge base (seed 000: "主动对已上线的“新生儿出生一件事”办事指南、
统一表单、统一材料、办理流程、政策信息等全部录入12345热线知识库专项模块") and the output of
``onestop guide --region R [--format json|markdown]`` (``spec/interfaces.md``).

Nothing here is per region: a sixth region's pack gets its guide from its data — the items
and their departments, who may apply, the eligibility rules read as conditions, the
materials with when they are needed, time limits (working days unless the pack says
calendar days), delivery, fees, the flow in dependency order (the same steps the parents'
progress picture uses: ``workflow.domain.plan.stages``) and the contact phones (``contacts``
of the pack, one definition).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from onestop.catalogue.loader import Catalogue, catalogue
from onestop.eligibility.reasons import (
    HUKOU_TYPE_NAMES,
    REASON_KINDS,
    RESIDENCY_NAMES,
    ROLE_NAMES,
)
from onestop.policy import schema as ps
from onestop.workflow.domain import stages

GUIDE_FORMAT = 1  # the JSON's "format": raised when a field changes meaning

UNIT_NAMES = {"working_days": "个工作日", "calendar_days": "个自然日"}
STARTS_NAMES = {
    "on_ready": "自部门收到（前置事项办结）之日起计算",
    "on_bank_choice": "自选定发卡银行之日起计算",
    "on_birth": "自新生儿出生之日起计算",
}
WHERE_NAMES = {
    "hospital": "助产机构",
    "service_center": "政务服务中心",
    "portal": "政务服务网",
    "app": "移动端",
}
METHOD_NAMES = {"pickup": "自行领取", "mail": "邮寄送达"}
SIDE_NAMES = {"mother": "母亲", "father": "父亲"}
PICKUP_NAMES = {
    "issuing_hospital": "签发的助产机构",
    "birth_hospital": "新生儿出生的助产机构",
    "service_center_or_police_station": "受理的政务服务中心或落户地公安派出所",
    "bank_branch": "发卡银行网点",
    "department_window": "办理部门的窗口",
}


# 12345 is the one national number for government services (国办发〔2020〕53号, 关于进一步优化
# 地方政务服务便民热线的指导意见), the hotline this knowledge base serves: every guide lists it,
# unless the pack already does (Lanzhou's, with its seed cite).
NATIONAL_HOTLINE = ("12345政务服务便民热线", "12345")


@dataclass(frozen=True)
class TimeLimitText:
    days: int | None
    unit: str
    text: str  # as people read it: 1个工作日 / 当场办结 / 未规定时限


@dataclass(frozen=True)
class GuideDelivery:
    result: str
    name: str
    methods: list[str]  # 自行领取 / 邮寄送达
    pickup_place: str
    bring: str
    pickup_by: list[str]
    note: str


@dataclass(frozen=True)
class GuideContact:
    who: str
    phones: list[str]
    items: list[str]  # item codes; empty: the whole service
    item_names: list[str]
    note: str


@dataclass(frozen=True)
class GuideFee:
    what: str
    amount: str
    items: list[str]


@dataclass(frozen=True)
class GuideItem:
    code: str
    name: str
    department: str
    department_name: str
    after: list[str]
    after_names: list[str]
    step: int  # the flow's step, 1-based
    time_limit: TimeLimitText
    time_limit_starts: str
    automatic: bool  # 免申即享
    instant_approval: bool  # 秒批
    same_visit: bool  # 当场办结
    materials: list[str]  # names of the materials this item needs (besides the common ones)
    delivery: GuideDelivery | None
    ordinary_channel: str
    contacts: list[GuideContact]
    fees: list[GuideFee]


@dataclass(frozen=True)
class GuideCondition:
    rule: str
    text: str
    items: list[str] | None  # None: the whole service


@dataclass(frozen=True)
class GuideMaterial:
    code: str
    name: str
    items: list[str] | None
    when: str  # 全部情形 or the conditions in words


@dataclass(frozen=True)
class GuideReason:
    code: str
    decision: str  # reject / supplement
    message: str


@dataclass(frozen=True)
class Guide:
    region: str
    name: str
    pack_version: str
    effective_from: str
    channels: list[dict[str, Any]]
    who_may_apply: str
    conditions: list[GuideCondition]
    items: list[GuideItem]
    materials: list[GuideMaterial]
    flow: list[list[str]]  # item codes per step, in dependency order
    overall_time_limit: TimeLimitText | None
    contacts: list[GuideContact]
    fees: list[GuideFee]
    payment: dict[str, Any] | None
    reasons: list[GuideReason]  # why a case may be refused or asked to supplement
    notes: list[str] = field(default_factory=list)
    # Parenting guidance (科学育儿指导, ADR 0040): {"offered": "item" | "content",
    # "item": code or None, "text": what parents get}; None where the region has none.
    guidance: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        body = asdict(self)
        body["format"] = GUIDE_FORMAT
        return body


def time_limit_text(limit: ps.TimeLimit) -> TimeLimitText:
    if limit.days is None:
        text = "未规定时限"
    elif limit.days == 0:
        text = "当场办结"
    else:
        text = f"{limit.days}{UNIT_NAMES[limit.unit]}"
        if limit.excludes:
            text += f"（{limit.excludes}除外）"
    return TimeLimitText(limit.days, limit.unit, text)


def _names(codes: Any, table: dict[str, str]) -> str:
    return "、".join(table.get(code, code) for code in codes)


# --- the eligibility rules read as conditions ----------------------------------------------

_CONDITIONS: dict[str, Callable[[Any, Catalogue], str]] = {
    "applicant_admitted": lambda r, c: f"由{r.label}申请",
    "age_window": lambda r, c: (
        f"办理期限：{r.label}（{r.months}个月{'以内' if r.inclusive else '未满'}）"
    ),
    "hospital_in_scope": lambda r, c: f"在{r.label}具备助产资质的医疗机构出生",
    "in_hospital_birth": lambda r, c: "在医疗机构内住院分娩",
    "mother_known": lambda r, c: "新生儿母亲身份明确",
    "marital_birth": lambda r, c: "婚内生育（父母已登记结婚）",
    "parents_residency": lambda r, c: f"父母双方均不是{_names(r.excluded, RESIDENCY_NAMES)}",
    "local_hukou": lambda r, c: (
        f"新生儿随其落户的父亲或母亲户籍在{r.label}"
        if r.registering_parent_in is not None
        else f"父母至少一方户籍在{r.label}"
    ),
    "newborn_named": lambda r, c: "新生儿已经取名",
    "ssc_not_applied_elsewhere": lambda r, c: "新生儿未在其他渠道或省市申领过社会保障卡",
    "bmc_issued": lambda r, c: "已取得《出生医学证明》",
    "hukou_type": lambda r, c: (
        f"落户户口类型为{_names(r.allowed, HUKOU_TYPE_NAMES)}"
        + (
            f"；{_names(r.redirect, HUKOU_TYPE_NAMES)}的，在配偶家庭户口所在地派出所申报"
            if r.redirect
            else ""
        )
    ),
    "ethnicity_confirmation": lambda r, c: "父母民族不同的，由父母双方确认新生儿的民族",
    "complete_chain": lambda r, c: "选择一个事项时，须同时选择它的前置事项（或提供其办理结果）",
    "serviceman_parent": lambda r, c: (
        "父母一方为现役军人的，在地方居民一方常住户口所在地申报出生登记"
    ),
}


def condition_text(rule: Any, known: Catalogue) -> str:
    make = _CONDITIONS.get(rule.rule)
    return make(rule, known) if make is not None else rule.rule


def _when_text(when: ps.Conditions, known: Catalogue) -> str:
    parts: list[str] = []
    if when.mother_known is not None:
        parts.append("母亲身份明确" if when.mother_known else "母亲身份不明")
    if when.father_known is not None:
        parts.append("父亲身份明确" if when.father_known else "父亲身份不明")
    if when.married is not None:
        parts.append("父母已婚" if when.married else "父母未婚")
    if when.applicant_roles:
        parts.append(f"申请人为{_names(when.applicant_roles, ROLE_NAMES)}")
    item_names = {code: i.name.zh for code, i in known.items.items()}
    if when.items_chosen:
        parts.append(f"选择了{_names(when.items_chosen, item_names)}")
    if when.items_not_chosen:
        parts.append(f"未选择{_names(when.items_not_chosen, item_names)}")
    if when.registering_parent:
        parts.append(f"新生儿随{SIDE_NAMES[when.registering_parent]}落户")
    if when.parents_ethnicities_differ is not None:
        parts.append("父母民族不同" if when.parents_ethnicities_differ else "父母民族相同")
    return "；".join(parts) if parts else "全部情形"


# --- the guide -------------------------------------------------------------------------------


def _contact(entry: ps.ContactPhone, item_names: dict[str, str]) -> GuideContact:
    return GuideContact(
        who=entry.who,
        phones=list(entry.phones),
        items=list(entry.items),
        item_names=[item_names.get(code, code) for code in entry.items],
        note=entry.note,
    )


def _delivery(pack: ps.PolicyPack, code: str, known: Catalogue) -> GuideDelivery | None:
    found = known.delivery(code)
    if found is None:
        return None
    option = pack.delivery.get(found.result)
    methods = list(option.methods) if option is not None else ["pickup"]
    pickup_by = [SIDE_NAMES[side] for side in (option.pickup_by or [])] if option else []
    note = ""
    if option is not None and option.authorization_for:
        note = f"{_names(option.authorization_for, SIDE_NAMES)}凭新生儿母亲的授权领取"
    return GuideDelivery(
        result=found.result,
        name=found.name.zh,
        methods=[METHOD_NAMES[m] for m in methods],
        pickup_place=PICKUP_NAMES.get(found.pickup, found.pickup),
        bring=found.bring,
        pickup_by=pickup_by,
        note=note,
    )


# The reason codes each rule kind can give (spec/decisions.md); every case can also get
# ALWAYS_REASONS (a bad ID number, a missing material, a malformed field).
RULE_REASONS: dict[str, tuple[str, ...]] = {
    "age_window": ("birth_in_future", "outside_age_window"),
    "hospital_in_scope": ("born_outside_region",),
    "in_hospital_birth": ("not_in_hospital_birth",),
    "mother_known": ("mother_unknown",),
    "parents_residency": ("foreign_parent",),
    "local_hukou": ("no_local_hukou",),
    "applicant_admitted": ("wrong_applicant",),
    "ssc_not_applied_elsewhere": ("ssc_already_applied",),
    "bmc_issued": ("bmc_missing",),
    "ethnicity_confirmation": ("ethnicity_confirmation_missing",),
}
ALWAYS_REASONS = ("invalid_id_number", "missing_material", "field_invalid")


def reason_codes(pack: ps.PolicyPack) -> list[str]:
    """The reason codes a case of this region can get, in the order of the pack's rules."""
    codes: list[str] = []
    for rule in pack.rules:
        codes.extend(RULE_REASONS.get(rule.rule, ()))
        if isinstance(rule, ps.MaritalBirthRule):
            codes.extend(rule.reasons.values())
        elif isinstance(rule, ps.NewbornNamedRule | ps.HukouTypeRule):
            codes.append(rule.reason)
        elif isinstance(rule, ps.ApplicantAdmittedRule):
            if any(a.needs_authorization for a in rule.admitted):
                codes.append("authorization_missing")
    codes.extend(ALWAYS_REASONS)
    codes.extend(pack.reasons)
    return list(dict.fromkeys(codes))


def _reasons(pack: ps.PolicyPack) -> list[GuideReason]:
    kinds = {code: (k.decision, k.message) for code, k in REASON_KINDS.items()}
    for code, entry in pack.reasons.items():
        kinds[code] = (entry.decision, entry.message)
    return [
        GuideReason(code, kinds[code][0], _plain(kinds[code][1]))
        for code in reason_codes(pack)
        if code in kinds
    ]


def service_guide(pack: ps.PolicyPack, known: Catalogue | None = None) -> Guide:
    """The guide of ``pack`` (one region, one version) as data."""
    known = known or catalogue()
    item_names = {code: i.name.zh for code, i in known.items.items()}
    department_names = {code: d.name.zh for code, d in known.departments.items()}
    offered = set(pack.offered)
    flow = stages([(e.item, e.after) for e in pack.items])
    step_of = {code: n for n, step in enumerate(flow, start=1) for code in step}
    contacts = [_contact(c, item_names) for c in pack.contacts]
    if not any(NATIONAL_HOTLINE[1] in c.phones for c in contacts):
        contacts.append(GuideContact(NATIONAL_HOTLINE[0], [NATIONAL_HOTLINE[1]], [], [], ""))
    fees = [GuideFee(f.what, f.amount, list(f.items)) for f in pack.fees]
    items: list[GuideItem] = []
    for entry in pack.items:
        needed = [m for m in pack.materials if m.items is not None and entry.item in m.items]
        items.append(
            GuideItem(
                code=entry.item,
                name=item_names.get(entry.item, entry.item),
                department=entry.department,
                department_name=department_names.get(entry.department, entry.department),
                after=list(entry.after),
                after_names=[item_names.get(code, code) for code in entry.after],
                step=step_of[entry.item],
                time_limit=time_limit_text(entry.time_limit),
                time_limit_starts=STARTS_NAMES[entry.time_limit.starts],
                automatic=entry.automatic,
                instant_approval=entry.instant_approval is not None,
                same_visit=pack.same_visit(entry.item) is not None,
                materials=list(
                    dict.fromkeys(
                        known.materials[m.material].name.zh
                        if m.material in known.materials
                        else m.material
                        for m in needed
                    )
                ),
                delivery=_delivery(pack, entry.item, known),
                ordinary_channel=entry.ordinary_channel,
                contacts=[c for c in contacts if entry.item in c.items],
                fees=[f for f in fees if entry.item in f.items],
            )
        )
    channels = [
        {
            "code": channel.code,
            "label": channel.label,
            "where": [WHERE_NAMES.get(w, w) for w in channel.where],
            "same_visit": [item_names.get(s.item, s.item) for s in channel.same_visit],
        }
        for channel in pack.channels
    ]
    who = next((r for r in pack.rules if isinstance(r, ps.ApplicantAdmittedRule)), None)
    conditions = [
        GuideCondition(
            rule.rule,
            condition_text(rule, known),
            [c for c in rule.items if c in offered] if rule.items is not None else None,
        )
        for rule in pack.rules
        if rule.rule != "applicant_admitted"
        and not (isinstance(rule, ps.NewbornNamedRule) and rule.reason == "field_invalid")
    ]
    materials = [
        GuideMaterial(
            code=m.material,
            name=known.materials[m.material].name.zh
            if m.material in known.materials
            else m.material,
            items=list(m.items) if m.items is not None else None,
            when=_when_text(m.when, known),
        )
        for m in pack.materials
    ]
    payment = None
    if pack.payment is not None:
        payment = {
            "channels": [c.name for c in pack.payment.channels],
            "deadline_note": pack.payment.deadline_note,
            "activation": (
                f"{pack.payment.activation.name}（{pack.payment.activation.where}）"
                if pack.payment.activation
                else ""
            ),
        }
    notes = []
    automatic = [item_names.get(e.item, e.item) for e in pack.items if e.automatic]
    if automatic:
        notes.append("以下事项无需申请，自动办理（免申即享）：" + "、".join(automatic))
    if pack.not_offered_note:
        notes.append(pack.not_offered_note)
    return Guide(
        region=pack.region,
        name=pack.name,
        pack_version=pack.version,
        effective_from=pack.effective_from.isoformat(),
        channels=channels,
        who_may_apply=who.label if who is not None else "新生儿父母（监护人）",
        conditions=conditions,
        items=items,
        materials=materials,
        flow=flow,
        overall_time_limit=time_limit_text(pack.overall_time_limit)
        if pack.overall_time_limit is not None
        else None,
        contacts=contacts,
        fees=fees,
        payment=payment,
        reasons=_reasons(pack),
        notes=notes,
        guidance=_guidance(pack, item_names),
    )


GUIDANCE_WITH_ITEM = (
    "办理“{name}”后，家长可在“育儿指导”页面查看宝宝月龄对应的0～1岁育儿指导（喂养、辅食、生长发育、"
    "伤害预防、常见病）和新生儿家庭访视、满月及3、6、8、12月龄体检时间。"
)


def _guidance(pack: ps.PolicyPack, item_names: dict[str, str]) -> dict[str, Any] | None:
    """What the region's parents get as parenting guidance: the registration item, or
    the content and visit dates without one (``guidance_without_item``), or nothing."""
    offered = pack.guidance
    if offered == "item":
        name = item_names.get(ps.GUIDANCE_ITEM, ps.GUIDANCE_ITEM)
        text = GUIDANCE_WITH_ITEM.format(name=name)
        entry = pack.item(ps.GUIDANCE_ITEM)
        if entry is not None and entry.automatic:
            text = f"“{name}”自动办理（免申即享）：" + text.split("后，", 1)[1]
        return {"offered": "item", "item": ps.GUIDANCE_ITEM, "text": text}
    if offered == "content" and pack.guidance_without_item is not None:
        return {"offered": "content", "item": None, "text": pack.guidance_without_item.note}
    return None


def _cell(text: str) -> str:
    return text.replace("|", "｜").replace("\n", " ")


def guide_markdown(guide: Guide) -> str:
    """The guide as Markdown (what ``onestop guide`` prints by default)."""
    names = {i.code: i.name for i in guide.items}
    out: list[str] = [f"# {guide.name} 办事指南", ""]
    out += [f"政策版本：{guide.pack_version}（{guide.effective_from} 起施行）", ""]
    out += ["## 申请人", "", guide.who_may_apply, ""]
    out += ["## 办理渠道", ""]
    for channel in guide.channels:
        line = f"- {channel['label']}（{'、'.join(channel['where'])}）"
        if channel["same_visit"]:
            line += f"；当场办结：{'、'.join(channel['same_visit'])}"
        out.append(line)
    out += ["", "## 受理条件", ""]
    for condition in guide.conditions:
        scope = (
            f"（{'、'.join(names.get(c, c) for c in condition.items)}）" if condition.items else ""
        )
        out.append(f"- {condition.text}{scope}")
    out += ["", "## 办理事项", ""]
    out += ["| 步骤 | 事项 | 办理部门 | 前置事项 | 办理时限 | 送达方式 | 原渠道 |"]
    out += ["|---|---|---|---|---|---|---|"]
    for item in sorted(guide.items, key=lambda i: i.step):
        limit = item.time_limit.text
        if item.time_limit.days and item.time_limit_starts != STARTS_NAMES["on_ready"]:
            limit += f"（{item.time_limit_starts}）"
        if item.automatic:
            limit += "（免申即享）"
        if item.instant_approval:
            limit += "（秒批）"
        delivery = "、".join(item.delivery.methods) if item.delivery else "—"
        cells = [
            str(item.step),
            item.name,
            item.department_name,
            "、".join(item.after_names) or "—",
            limit,
            delivery,
            item.ordinary_channel,
        ]
        out.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    if guide.overall_time_limit is not None:
        out += ["", f"全部事项承诺办结时限：{guide.overall_time_limit.text}"]
    out += ["", "时限除另有注明外按工作日计算，自部门收到（前置事项办结）之日起算。"]
    out += ["", "## 办理流程", ""]
    for n, step in enumerate(guide.flow, start=1):
        out.append(f"{n}. 第 {n} 步：{'、'.join(names.get(c, c) for c in step)}")
    out += ["", "```", _flow_diagram(guide), "```"]
    out += ["", "## 申请材料", ""]
    for material in guide.materials:
        scope = (
            f"；用于：{'、'.join(names.get(c, c) for c in material.items)}"
            if material.items
            else ""
        )
        out.append(f"- {material.name}（{material.when}{scope}）")
    out += ["", "## 结果送达", ""]
    delivered = [i for i in guide.items if i.delivery is not None]
    for item in delivered:
        d = item.delivery
        assert d is not None
        line = f"- {d.name}：{'或'.join(d.methods)}；领取地点：{d.pickup_place}；携带：{d.bring}"
        if d.note:
            line += f"；{d.note}"
        out.append(line)
    if not delivered:
        out.append("- 结果以电子证照发送，无需领取")
    out += ["", "## 收费", ""]
    if guide.fees:
        for fee in guide.fees:
            out.append(f"- {fee.what}：{fee.amount}")
    else:
        out.append("- 方案未列收费项目")
    if guide.payment is not None:
        out.append(f"- 城乡居民医保参保费：通过{'、'.join(guide.payment['channels'])}缴纳")
    out += ["", "## 咨询电话", ""]
    if guide.contacts:  # always at least 12345
        out += ["| 单位 | 事项 | 电话 |", "|---|---|---|"]
        for contact in guide.contacts:
            scope = "、".join(contact.item_names) or "全部事项"
            if contact.note:
                scope += f"（{contact.note}）"
            out.append(f"| {_cell(contact.who)} | {_cell(scope)} | {'、'.join(contact.phones)} |")
    else:
        out.append("- 方案未列咨询电话")
    if guide.guidance is not None:
        out += ["", "## 科学育儿指导", "", guide.guidance["text"]]
    if guide.notes:
        out += ["", "## 请注意", ""] + [f"- {note}" for note in guide.notes]
    out += ["", "## 不予受理或需补正的情形", ""]
    for reason in guide.reasons:
        kind = "不予受理" if reason.decision == "reject" else "需补正"
        out.append(f"- `{reason.code}`（{kind}）：{reason.message}")
    return "\n".join(out) + "\n"


def _plain(message: str) -> str:
    """A reason message with its placeholders said in words."""
    return (
        message.replace("{who}", "相关当事人")
        .replace("：{why}", "")
        .replace("{why}", "授权委托不符合要求")
        .replace("出生于{born}，", "")
        .replace("（{born}）", "")
        .replace("“{window}”的", "")
        .replace("{hospital}", "出生医疗机构")
        .replace("{scope}", "本地")
        .replace("{residency}", "港澳台居民或外国人")
        .replace("{admitted}", "规定的申请人")
        .replace("{role}", "其他身份")
        .replace("{hukou_type}", "所选户口类型")
        .replace("{material}", "所缺材料")
        .replace("{text}", "填写内容有误，请按提示更正")
    )


def _flow_diagram(guide: Guide) -> str:
    """The steps left to right as text: ``[A] [B] → [C] → [D] [E]``."""
    names = {i.code: i.name for i in guide.items}
    return " → ".join(" ".join(f"[{names.get(c, c)}]" for c in step) for step in guide.flow)
