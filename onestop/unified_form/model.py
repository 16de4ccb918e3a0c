"""The unified form (一表申报) as fields of the case document, in sections that appear only
when the chosen items (and the answers so far) need them.

Every field is a path into the case document (`spec/application.md`) and is labelled with
the document's own Chinese labels (`FIELD_LABELS`), so the form, the pre-review's reasons
(which name the same paths) and the supplement page speak of the same fields. What the
pack offers (items, who may apply, delivery methods, authorization, the ethnicity rule) is
read from the pack; there is no per-region code here.

The form checks formats only (an ID number's check digit, a phone number, a date); whether
the case is eligible and complete is the pre-review's judgement, made on submission.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from onestop.cases.domain.document import field_label
from onestop.cases.domain.paths import get_path, put_path
from onestop.catalogue.names import item_name
from onestop.core.clock import format_time
from onestop.core.i18n import gettext_noop as _
from onestop.core.written import written
from onestop.eligibility.prereview import RESULT_ITEM
from onestop.eligibility.reasons import HUKOU_TYPE_NAMES, RESIDENCY_NAMES, ROLE_NAMES
from onestop.policy import schema as ps
from onestop.reference.domain import ReferenceData, division_in
from onestop.reference.idnumber import mask_id_number, mask_phone

Kind = Literal[
    "text", "choice", "yesno", "check", "int", "number", "datetime", "date", "id", "phone",
    "division", "multi",
]  # fmt: skip
Label = str
Choices = list[tuple[Any, Any]]

# The steps of the online application, in order.
STEPS: tuple[tuple[str, Label], ...] = (
    ("items", _("办理事项")),
    ("birth", _("出生信息")),
    ("parents", _("父母信息")),
    ("details", _("事项信息")),
    ("materials", _("上传材料")),
    ("confirm", _("确认签名")),
)
STEP_NAMES = tuple(code for code, _label in STEPS)

SEXES: Choices = [("1", _("男")), ("2", _("女"))]
SIDES: Choices = [("father", _("父亲")), ("mother", _("母亲"))]
MARITAL: Choices = [
    ("married", _("已婚（婚内生育）")),
    ("unmarried", _("未婚")),
    ("divorced", _("离异")),
    ("single", _("单亲")),
]
YEARS: Choices = [("current", _("当年")), ("next", _("次年"))]
PAYMENT_CHANNELS: Choices = [
    ("wechat", _("微信")),
    ("alipay", _("支付宝")),
    ("city_service", _("城市服务")),
    ("bank_card", _("银行卡")),
    ("hospital_scan", _("在医院扫码缴费")),
]
DELIVERY_MODES: Choices = [
    ("natural", _("顺产")),
    ("difficult", _("难产")),
    ("cesarean", _("剖宫产")),
]
PAYOUTS: Choices = [("ssc", _("发放至社会保障卡")), ("bank", _("发放至银行卡"))]
BLOOD_TYPES: Choices = [
    ("A", "A"),
    ("B", "B"),
    ("O", "O"),
    ("AB", "AB"),
    ("unknown", _("不详")),
]
METHOD_NAMES: dict[str, Label] = {"pickup": _("自行领取"), "mail": _("邮寄送达")}
RELATIONS: dict[str, Label] = {
    "father": _("新生儿父亲"),
    "paternal_grandparent": _("祖父母"),
    "maternal_grandparent": _("外祖父母"),
}
STATIC_CHOICES: dict[str, Choices] = {
    "sex": SEXES,
    "sides": SIDES,
    "marital": MARITAL,
    "residency": list(RESIDENCY_NAMES.items()),
    "hukou_type": list(HUKOU_TYPE_NAMES.items()),
    "year": YEARS,
    "payment_channel": PAYMENT_CHANNELS,
    "delivery_mode": DELIVERY_MODES,
    "payout": PAYOUTS,
    "blood_type": BLOOD_TYPES,
}
INSURANCE_ITEMS = ("medical_insurance_enrolment", "medical_insurance_payment")

# --- paths into the document ------------------------------------------------------------


def as_text(value: Any) -> str:
    """How a document value compares with a choice: True → "true", 1 → "1"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


# --- fields and sections ----------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """One form field: where its value goes in the case document and how it is entered."""

    path: str
    kind: Kind = "text"
    source: str = ""  # name of the choice list (see `choices`)
    required: bool = False  # for the parent's convenience only; pre-review judges the case
    help: Label = ""
    # Shown only when one of these (path, value) holds; toggled in the browser and pruned
    # on the server when the document is built.
    show_if: tuple[tuple[str, str], ...] = ()
    # For an ID number: the path of the residency that says whether it is a resident ID.
    residency: str = ""
    label_text: Label = ""

    @property
    def name(self) -> str:
        return re.sub(r"[.\[\]]+", "_", self.path).strip("_")

    @property
    def label(self) -> Label:
        return self.label_text or field_label(self.path)


@dataclass(frozen=True)
class Section:
    key: str
    title: Label
    step: str
    specs: tuple[Spec, ...]
    note: Label = ""
    # The newborn a repeated block (多胞胎) is about, counted from 1; the title then has
    # a ``{n}`` (translate the title first, then fill it in: `section_title`).
    number: int = 0


def section_title(section: Section, translate: Callable[[str], str] = str) -> str:
    title = translate(section.title)
    return title.format(n=section.number) if section.number else title


# At most this many newborns in one case (the paper forms' 多胞胎 box; the document's
# limit is higher).
MAX_NEWBORNS = 6


@dataclass(frozen=True)
class FormContext:
    """What decides which fields appear: the region's pack, the reference data and the
    document entered so far."""

    pack: ps.PolicyPack
    reference: ReferenceData
    document: Mapping[str, Any]
    # "online": the parent's own form (the phone is the signed-in parent's);
    # "counter": a clerk enters the case, the applicant's phone and role included.
    channel: str = "online"
    # How the labels reach the reader: the Django side passes ``gettext`` and the language
    # (the reference data's names: 汉族 / Han); the printed form stays Chinese.
    translate: Callable[[str], str] = str
    language: str = "zh"

    def tr(self, label: str) -> str:
        return self.translate(label)

    def again(self, document: Mapping[str, Any]) -> FormContext:
        """The same region, channel and language over another document."""
        return FormContext(
            self.pack, self.reference, document, self.channel, self.translate, self.language
        )

    @property
    def newborn_count(self) -> int:
        """One block per newborn entered (多胞胎), at least one."""
        newborns = self.document.get("newborns")
        count = len(newborns) if isinstance(newborns, list) else 0
        return min(max(count, 1), MAX_NEWBORNS)

    @property
    def chosen(self) -> tuple[str, ...]:
        items = self.document.get("items")
        codes = [c for c in items if isinstance(c, str)] if isinstance(items, list) else []
        return tuple(code for code in dict.fromkeys(codes) if code in self.pack.offered)

    @property
    def role(self) -> str:
        return as_text(get_path(self.document, "applicant.role")) or "mother"

    def chose(self, *items: str) -> bool:
        return any(item in self.chosen for item in items)

    def value(self, path: str) -> Any:
        return get_path(self.document, path)


def _rules(pack: ps.PolicyPack, kind: type[Any]) -> list[Any]:
    return [rule for rule in pack.rules if isinstance(rule, kind)]


def admitted_roles(pack: ps.PolicyPack) -> list[ps.AdmittedApplicant]:
    """Who may apply under the pack (everyone, when the pack has no such rule)."""
    rules = _rules(pack, ps.ApplicantAdmittedRule)
    if not rules:
        return [ps.AdmittedApplicant(role=role) for role in ROLE_NAMES]
    admitted: list[ps.AdmittedApplicant] = rules[0].admitted
    return admitted


def role_entry(pack: ps.PolicyPack, role: str) -> ps.AdmittedApplicant | None:
    return next((entry for entry in admitted_roles(pack) if entry.role == role), None)


def applicable_items(pack: ps.PolicyPack) -> list[ps.ItemEntry]:
    """The items a parent chooses (those granted automatically need no application)."""
    return [entry for entry in pack.items if not entry.automatic]


def _rule_applies(rule: Any, ctx: FormContext) -> bool:
    return rule.items is None or ctx.chose(*rule.items)


def needs_role_authorization(ctx: FormContext) -> bool:
    entry = role_entry(ctx.pack, ctx.role)
    return entry is not None and entry.needs_authorization


def pickup_authorization(ctx: FormContext) -> list[tuple[str, str]]:
    """(result, side) pairs where a pickup by ``side`` needs the mother's authorization."""
    pairs: list[tuple[str, str]] = []
    for result, option in ctx.pack.delivery.items():
        if RESULT_ITEM.get(result) in ctx.chosen and option.pickup_by:
            pairs += [(result, side) for side in option.authorization_for]
    return pairs


def ethnicities_differ(ctx: FormContext) -> bool:
    mother = as_text(ctx.value("mother.ethnicity"))
    father = as_text(ctx.value("father.ethnicity"))
    return bool(mother and father and mother != father)


def needs_ethnicity_confirmation(ctx: FormContext) -> bool:
    rules = _rules(ctx.pack, ps.EthnicityConfirmationRule)
    return ethnicities_differ(ctx) and any(_rule_applies(rule, ctx) for rule in rules)


def _newborn_specs(ctx: FormContext, index: int) -> list[Spec]:
    """One newborn's block, in the order of the paper forms (钦北 联办申请表 基本信息:
    新生儿姓名、性别、出生时间、出生孕周、出生体重、出生身长 …)."""
    at = f"newborns[{index}]"
    newborn = [
        Spec(f"{at}.name", help=_("已取名的请填写")),
        Spec(f"{at}.sex", "choice", "sex", required=True),
        Spec(f"{at}.born_at", "datetime", required=True),
        Spec(f"{at}.in_hospital", "yesno", label_text=_("是否在医疗机构内住院分娩")),
        Spec(
            f"{at}.discharged_on",
            "date",
            help=_("已出院的可填写，用于推算新生儿家庭访视时间（出院后7日内）"),
        ),
    ]
    if ctx.chose("birth_certificate"):
        newborn += [
            Spec(f"{at}.gestational_weeks", "int"),
            Spec(f"{at}.weight_g", "int"),
            Spec(f"{at}.length_cm", "number"),
            Spec(f"{at}.birth_attendant"),
            Spec(f"{at}.blood_type", "choice", "blood_type"),
        ]
    return newborn


def _more_newborns(ctx: FormContext) -> list[Section]:
    """The second and further newborns of a multiple birth (多胞胎), each its own block
    with its own delivery record (the hospital defaults to the first newborn's)."""
    return [
        Section(
            f"newborn_{index + 1}",
            _("第{n}名新生儿"),
            "birth",
            (
                Spec(f"newborns[{index}].hospital", "choice", "hospitals"),
                Spec(f"newborns[{index}].record_number"),
                *_newborn_specs(ctx, index),
            ),
            note=_("分娩医院与第1名新生儿相同的可不填。"),
            number=index + 1,
        )
        for index in range(1, ctx.newborn_count)
    ]


def _birth_sections(ctx: FormContext) -> list[Section]:
    newborn = _newborn_specs(ctx, 0)
    return [
        Section(
            "mother_identity",
            _("母亲身份"),
            "birth",
            (
                Spec("mother.residency", "choice", "residency", required=True),
                Spec("mother.id_number", "id", required=True, residency="mother.residency"),
                Spec("mother.name", required=True),
            ),
        ),
        Section(
            "delivery_record",
            _("分娩记录"),
            "birth",
            (
                Spec("newborns[0].hospital", "choice", "hospitals", required=True),
                Spec(
                    "newborns[0].record_number",
                    required=True,
                    help=_("见出院小结或母子健康手册"),
                ),
            ),
        ),
        Section(
            "newborn",
            _("新生儿") if ctx.newborn_count == 1 else _("第{n}名新生儿"),
            "birth",
            tuple(newborn),
            number=0 if ctx.newborn_count == 1 else 1,
        ),
        *_more_newborns(ctx),
    ]


def _parent_specs(side: str, ctx: FormContext) -> list[Spec]:
    married = (("marital_status", "married"),)
    specs = []
    if side == "father":
        specs += [
            Spec("father.name"),
            Spec("father.residency", "choice", "residency"),
            Spec("father.id_number", "id", residency="father.residency"),
        ]
    specs += [
        Spec(f"{side}.ethnicity", "choice", "ethnic_groups"),
        Spec(f"{side}.phone", "phone"),
        Spec(f"{side}.hukou_division", "division", help=_("6位行政区划代码，可输入地名查找")),
        Spec(f"{side}.hukou_address"),
        Spec(f"{side}.residence_address"),
    ]
    if side == "mother" and ctx.chose("maternity_reimbursement"):
        specs.append(Spec("mother.employer"))
    specs.append(Spec(f"{side}.marriage_certificate", show_if=married))
    if side == "father" and any(
        _rule_applies(r, ctx) for r in _rules(ctx.pack, ps.ServicemanParentRule)
    ):
        specs.append(Spec("father.active_serviceman", "yesno"))
    return specs


def _parents_sections(ctx: FormContext) -> list[Section]:
    sections = [
        Section(
            "marriage",
            _("婚姻状况"),
            "parents",
            (Spec("marital_status", "choice", "marital", True),),
        ),
        Section("mother", _("母亲信息"), "parents", tuple(_parent_specs("mother", ctx))),
        Section(
            "father",
            _("父亲信息"),
            "parents",
            tuple(_parent_specs("father", ctx)),
            note=_("婚内生育须填写父亲信息。"),
        ),
    ]
    if ctx.chose("birth_certificate", "birth_registration"):
        sections.append(
            Section(
                "origin",
                _("新生儿民族和籍贯"),
                "parents",
                (
                    Spec("newborns[0].ethnicity_follows", "choice", "sides"),
                    Spec("newborns[0].native_place_follows", "choice", "sides"),
                ),
            )
        )
    if ctx.role not in ("mother", "father") and ctx.channel != "counter":
        sections.append(_applicant_section(ctx))
    return sections


def _applicant_section(ctx: FormContext) -> Section:
    """Who applies: a trustee's (or grandparent's) own name and ID number; at the counter
    also the applicant's phone, which online is the signed-in parent's."""
    specs: list[Spec] = []
    if ctx.role not in ("mother", "father"):
        specs += [
            Spec("applicant.name", required=True),
            Spec("applicant.id_number", "id", required=True),
        ]
    if ctx.channel == "counter":
        specs.append(Spec("applicant.phone", "phone", required=True))
    title = (
        _("申请人（受托人）信息") if ctx.role not in ("mother", "father") else _("申请人联系方式")
    )
    return Section("applicant", title, "parents", tuple(specs))


def _delivery_section(ctx: FormContext) -> Section | None:
    specs: list[Spec] = []
    mail: list[tuple[str, str]] = []
    for result, option in ctx.pack.delivery.items():
        if RESULT_ITEM.get(result) not in ctx.chosen:
            continue
        path = f"delivery.{result}"
        specs.append(Spec(f"{path}.method", "choice", f"methods:{result}", required=True))
        if option.pickup_by:
            specs.append(
                Spec(
                    f"{path}.by",
                    "choice",
                    f"pickup_by:{result}",
                    show_if=((f"{path}.method", "pickup"),),
                )
            )
        if "mail" in option.methods:
            mail.append((f"{path}.method", "mail"))
    if not specs:
        return None
    if mail:
        specs += [
            Spec("delivery.address.recipient", show_if=tuple(mail)),
            Spec("delivery.address.phone", "phone", show_if=tuple(mail)),
            Spec("delivery.address.address", show_if=tuple(mail)),
        ]
    return Section("delivery", _("结果送达方式"), "details", tuple(specs))


def _authorization_section(ctx: FormContext) -> Section | None:
    role_needs = needs_role_authorization(ctx)
    pickups = pickup_authorization(ctx)
    if not role_needs and not pickups:
        return None
    show_if: tuple[tuple[str, str], ...] = ()
    specs: list[Spec] = []
    if role_needs:
        specs.append(Spec("authorization.trustee.relation", "choice", "relations", required=True))
    else:
        show_if = tuple((f"delivery.{result}.by", side) for result, side in pickups)
    specs += [
        Spec("authorization.items", "multi", "chosen_items", show_if=show_if),
        Spec("authorization.valid_from", "date", show_if=show_if),
        Spec("authorization.valid_to", "date", show_if=show_if),
        Spec(
            "authorization.signed_by_mother",
            "check",
            show_if=show_if,
            label_text=_("新生儿母亲已签署授权委托书（请在下一步上传）"),
        ),
    ]
    note = (
        _("由他人代为申请的，须有新生儿母亲签字的授权委托书，受托人即申请人。")
        if role_needs
        else _("由父亲代为领取证件的，须有新生儿母亲的授权委托。")
    )
    return Section("authorization", _("授权委托"), "details", tuple(specs), note=note)


def _details_sections(ctx: FormContext) -> list[Section]:
    sections: list[Section] = []
    if ctx.chose("birth_registration"):
        specs = [
            Spec("birth_registration.follows", "choice", "sides", required=True),
            Spec("birth_registration.police_station", "choice", "police_stations"),
            Spec("birth_registration.hukou_type", "choice", "hukou_type"),
            Spec("birth_registration.householder_name"),
            Spec("birth_registration.householder_id_number", "id"),
            Spec("birth_registration.relation_to_householder", help=_("如：子、女、孙子、孙女")),
            Spec("birth_registration.address"),
        ]
        if not ctx.chose("birth_certificate"):
            specs.append(Spec("birth_registration.bmc_number"))
        sections.append(
            Section("birth_registration", _("出生登记（户口）"), "details", tuple(specs))
        )
    if ctx.chose(*INSURANCE_ITEMS):
        sections.append(
            Section(
                "medical_insurance",
                _("居民医保"),
                "details",
                (
                    Spec("medical_insurance.division", "division"),
                    Spec("medical_insurance.year", "choice", "year"),
                    Spec("medical_insurance.payment_channel", "choice", "payment_channel"),
                ),
            )
        )
    if ctx.chose("maternity_reimbursement"):
        bank = (("maternity.payout", "bank"),)
        sections.append(
            Section(
                "maternity",
                _("生育医疗费用报销"),
                "details",
                (
                    Spec("maternity.plurality", "int"),
                    Spec("maternity.delivery_mode", "choice", "delivery_mode"),
                    Spec("maternity.payout", "choice", "payout"),
                    Spec("maternity.bank", "choice", "banks", show_if=bank),
                    Spec("maternity.account_number", show_if=bank),
                ),
            )
        )
    if ctx.chose("social_security_card"):
        sections.append(
            Section(
                "social_security_card",
                _("社会保障卡"),
                "details",
                (
                    Spec("social_security_card.bank", "choice", "banks"),
                    # 领卡网点 from the region's co-operating branches (reference data; seed
                    # 002: 领卡网点；完成社会保障卡申领后,申请人到选定的领卡网点自行领取).
                    Spec("social_security_card.branch", "choice", "bank_branches"),
                    Spec("social_security_card.applied_elsewhere", "yesno"),
                ),
            )
        )
    for section in (_delivery_section(ctx), _authorization_section(ctx)):
        if section is not None:
            sections.append(section)
    if needs_ethnicity_confirmation(ctx):
        sections.append(_ethnicity_section(ctx))
    return sections


def _ethnicity_section(ctx: FormContext) -> Section:
    """The ethnicity confirmation (确认民族成份). Online, the applicant signs only for
    themself: where the pack has the other parent confirm by SMS link (ADR 0029), the other
    parent's tick is not offered on the applicant's device."""
    ticks = {
        "mother": Spec(
            "ethnicity_confirmation.signed_by_mother", "check", label_text=_("母亲确认新生儿的民族")
        ),
        "father": Spec(
            "ethnicity_confirmation.signed_by_father", "check", label_text=_("父亲确认新生儿的民族")
        ),
    }
    own = as_text(ctx.value("applicant.role"))
    by_link = (
        ctx.channel == "online"
        and own in ticks
        and any(
            c.when == "ethnicity_differs" and "online" in c.channels for c in ctx.pack.confirmations
        )
    )
    choice = Spec("ethnicity_confirmation.ethnicity", "choice", "parents_ethnicity", True)
    if by_link:
        note = (
            _(
                "父母民族不同，须由父母双方共同确认新生儿的民族。提交并受理后，父亲将收到"
                "短信链接，凭短信验证码登录后确认；父亲确认前，户口登记等待办理。"
            )
            if own == "mother"
            else _(
                "父母民族不同，须由父母双方共同确认新生儿的民族。提交并受理后，母亲将收到"
                "短信链接，凭短信验证码登录后确认；母亲确认前，户口登记等待办理。"
            )
        )
        return Section(
            "ethnicity_confirmation", _("确认民族成份"), "details", (choice, ticks[own]), note=note
        )
    return Section(
        "ethnicity_confirmation",
        _("确认民族成份"),
        "details",
        (choice, ticks["mother"], ticks["father"]),
        note=_("父母民族不同，须由父母双方共同确认新生儿的民族。"),
    )


def sections(ctx: FormContext, step: str | None = None) -> list[Section]:
    """The sections the case needs (of one step, or of all).

    At the counter the applicant comes first, as on the paper forms (沅陵 申请人/受托人,
    吉林 办理人); online the signed-in parent is the applicant."""
    every = _birth_sections(ctx) + _parents_sections(ctx) + _details_sections(ctx)
    if ctx.channel == "counter":
        every.insert(0, _applicant_section(ctx))
    return [s for s in every if step is None or s.step == step]


def visible(spec: Spec, document: Mapping[str, Any]) -> bool:
    return not spec.show_if or any(
        as_text(get_path(document, path)) == value for path, value in spec.show_if
    )


def all_specs(ctx: FormContext) -> Iterator[Spec]:
    for section in sections(ctx):
        yield from section.specs


# --- choices ------------------------------------------------------------------------------


def _grouped(
    ctx: FormContext,
    rows: Sequence[tuple[str, str, str]],
    prefixes: Sequence[str],
    local: Label,
    *,
    only_local: bool = False,
) -> Choices:
    """(code, name, division) rows as choices: the region's first, under ``local``, then
    the others (a birth elsewhere, a household elsewhere: the pre-review says why not).
    ``only_local``: the region's alone (the counter's hospitals and police stations)."""
    ordered = sorted(rows, key=lambda row: (row[2], row[0]))
    if not prefixes:
        return [(code, name) for code, name, _division in ordered]
    inside = [(code, name) for code, name, division in ordered if division_in(division, prefixes)]
    outside = [
        (code, name) for code, name, division in ordered if not division_in(division, prefixes)
    ]
    if only_local and inside:
        return inside
    return [(ctx.tr(local), inside), (ctx.tr(_("其他")), outside)] if inside else outside


def region_divisions(pack: ps.PolicyPack) -> tuple[str, ...]:
    """The division prefixes a region's pack names: the birth hospitals in scope and the
    registering parent's household."""
    out: list[str] = []
    for rule in pack.rules:
        if isinstance(rule, ps.HospitalInScopeRule):
            out.extend(rule.divisions)
        elif isinstance(rule, ps.LocalHukouRule) and rule.registering_parent_in:
            out.extend(rule.registering_parent_in)
    return tuple(dict.fromkeys(out))


# Reference tables a field picks from (a clerk or parent picks a name, never types a code).
PICKERS = ("hospitals", "police_stations", "divisions", "ethnic_groups", "banks", "bank_branches")


def choices(spec: Spec, ctx: FormContext) -> Choices:
    """The choices of a field, labelled in the reader's language (``ctx.translate``)."""
    source = "divisions" if spec.kind == "division" else spec.source
    tr = ctx.tr
    if source in STATIC_CHOICES:
        return [(code, tr(label)) for code, label in STATIC_CHOICES[source]]
    ref, pack = ctx.reference, ctx.pack
    english = ctx.language.startswith("en")
    if source == "hospitals":
        scope = _rules(pack, ps.HospitalInScopeRule)
        hospitals = [(h.code, h.name, h.division) for h in ref.hospitals.values() if h.midwifery]
        prefixes = scope[0].divisions if scope else region_divisions(pack)
        # At the counter only the region's (a clerk serves births of the region; a parent
        # online may still enter another hospital and be told why it is not accepted).
        local = ctx.channel == "counter"
        return _grouped(ctx, hospitals, prefixes, _("本地助产机构"), only_local=local)
    if source == "police_stations":
        hukou = _rules(pack, ps.LocalHukouRule)
        prefixes = (
            hukou[0].registering_parent_in
            if hukou and hukou[0].registering_parent_in
            else region_divisions(pack)
        )
        stations = [(p.code, p.name, p.division) for p in ref.police_stations.values()]
        local = ctx.channel == "counter"
        return _grouped(ctx, stations, prefixes, _("本地派出所"), only_local=local)
    if source == "divisions":
        rows = [
            (d.code, ref.division_full_name(d.code) or d.name, d.code)
            for d in ref.divisions.values()
            if not d.code.endswith("00")  # a county or district, not a province or city
        ]
        return _grouped(ctx, rows, region_divisions(pack), _("本地区"))
    if source == "banks":
        return [(b.code, tr(b.name)) for b in ref.banks.values()]
    if source == "bank_branches":
        return [(b.code, b.name) for b in ref.branches_of(pack.region)]
    if source == "ethnic_groups":
        return [
            (g.code, g.name_en if english and g.name_en else g.name)
            for _code, g in sorted(ref.ethnic_groups.items())
        ]
    if source == "chosen_items":
        return [(item, item_name(item, ctx.language)) for item in ctx.chosen]
    if source == "relations":
        entry = role_entry(pack, ctx.role)
        allowed = entry.trustee_relations if entry and entry.trustee_relations else RELATIONS
        return [(code, tr(RELATIONS.get(code, code))) for code in allowed]
    if source == "parents_ethnicity":
        out: Choices = []
        for side, word in (("father", _("随父亲")), ("mother", _("随母亲"))):
            code = as_text(ctx.value(f"{side}.ethnicity"))
            if code and code not in [c for c, _label in out]:
                group = ref.ethnic_groups.get(code)
                name = (group.name_en if english and group.name_en else group.name) if group else ""
                out.append((code, f"{name or code}（{tr(word)}）"))
        return out
    kind, _sep, result = source.partition(":")
    option = pack.delivery.get(result)  # type: ignore[call-overload]
    if kind == "methods" and option is not None:
        return [(m, tr(METHOD_NAMES[m])) for m in option.methods]
    if kind == "pickup_by" and option is not None:
        return [(side, tr(label)) for side, label in SIDES if side in (option.pickup_by or ())]
    return []


def is_picker(spec: Spec) -> bool:
    """A choice over a reference table (long: searchable where it is shown)."""
    return spec.kind == "division" or spec.source in PICKERS


def choice_label(spec: Spec, ctx: FormContext, value: str) -> str:
    for code, label in choices(spec, ctx):
        if isinstance(label, list):
            for inner_code, inner_label in label:
                if inner_code == value:
                    return str(inner_label)
        elif code == value:
            return str(label)
    return value


# --- the document ---------------------------------------------------------------------------


def build_document(
    ctx: FormContext, *, phone: str | None, materials: Sequence[str], now: datetime
) -> dict[str, Any]:
    """The case document to submit, the same way for every channel: the values of the
    fields the case needs, and nothing of sections that were filled in and then left (an
    item unchosen, pickup instead of mail). Online the applicant's phone is the signed-in
    parent's (``phone``); at the counter the clerk enters it (``phone=None``)."""
    source = ctx.document
    role = ctx.role
    document: dict[str, Any] = {
        "region": ctx.pack.region,
        "channel": ctx.channel,
        "submitted_at": format_time(now),
        "applicant": {"role": role},
        "items": list(ctx.chosen),
        "mother": {"known": True},
    }
    for spec in all_specs(ctx):
        value = get_path(source, spec.path)
        if value is not None and value != "" and visible(spec, source):
            put_path(document, spec.path, copy.deepcopy(value))
    if phone is not None:
        put_path(document, "applicant.phone", phone)
    complete_derived(document, ctx, overwrite=True)
    document["materials"] = list(dict.fromkeys(materials))
    return document


def complete_derived(document: dict[str, Any], ctx: FormContext, *, overwrite: bool) -> None:
    """Fill what follows from other entries: the applicant's name and ID number when a
    parent applies, the trustee of an authorization (the applicant, or the father who
    picks up), the confirmed ethnicity from the side the child's ethnicity follows."""
    role = as_text(get_path(document, "applicant.role"))

    def fill(path: str, value: Any) -> None:
        if value not in (None, "") and (overwrite or get_path(document, path) in (None, "")):
            put_path(document, path, value)

    if role in ("mother", "father"):
        for key in ("name", "id_number"):
            fill(f"applicant.{key}", get_path(document, f"{role}.{key}"))
    if isinstance(document.get("authorization"), dict):
        holder = "applicant" if needs_role_authorization(ctx) else "father"
        for key in ("name", "id_number"):
            fill(f"authorization.trustee.{key}", get_path(document, f"{holder}.{key}"))
        if holder == "father":
            fill("authorization.trustee.relation", "father")
    if isinstance(document.get("ethnicity_confirmation"), dict):
        follows = get_path(document, "newborns[0].ethnicity_follows")
        if follows in ("father", "mother") and not get_path(
            document, "ethnicity_confirmation.ethnicity"
        ):
            fill("ethnicity_confirmation.ethnicity", get_path(document, f"{follows}.ethnicity"))
    # A branch picked without its bank: the bank is the branch's.
    branch = ctx.reference.bank_branches.get(
        as_text(get_path(document, "social_security_card.branch"))
    )
    if branch is not None:
        fill("social_security_card.bank", branch.bank)
    # Twins and more: what the first newborn's block says of the birth holds for the
    # others unless their own block says otherwise (the same hospital, the same origin).
    newborns = document.get("newborns")
    if isinstance(newborns, list) and len(newborns) > 1 and isinstance(newborns[0], dict):
        for index in range(1, len(newborns)):
            for key in ("hospital", "ethnicity_follows", "native_place_follows"):
                value = newborns[0].get(key)
                if value not in (None, "") and get_path(document, f"newborns[{index}].{key}") in (
                    None,
                    "",
                ):
                    put_path(document, f"newborns[{index}].{key}", value)


# --- showing what was entered ------------------------------------------------------------

MASKED_PATHS = ("account_number", "marriage_certificate", "bmc_number")


def display(spec: Spec, ctx: FormContext, value: Any, *, masked: bool = True) -> str:
    """A value as a person reads it: names, not codes (a hospital, a police station, a
    division, an ethnic group, a bank), dates as people write them (2026年11月22日 08:20);
    personal numbers masked on screen (``masked=False`` for the printed form the parents
    sign)."""
    if value is None or value == "":
        return ""
    if masked and spec.kind == "id":
        return mask_id_number(str(value))
    if masked and spec.kind == "phone":
        return mask_phone(str(value))
    if masked and spec.path.endswith(MASKED_PATHS):
        return mask_id_number(str(value))
    if spec.kind in ("yesno", "check"):
        return ctx.tr(_("是")) if value is True else ctx.tr(_("否"))
    if spec.kind == "multi" and isinstance(value, list):
        return ctx.tr("、").join(choice_label(spec, ctx, str(v)) for v in value)
    if spec.kind in ("choice", "division"):
        return choice_label(spec, ctx, as_text(value))
    if spec.kind in ("datetime", "date"):
        return written(value, language=ctx.language, date_only=spec.kind == "date")
    return str(value)


@dataclass(frozen=True)
class SummaryRow:
    label: str
    value: str


def summary(
    ctx: FormContext, document: Mapping[str, Any], *, masked: bool = True
) -> list[tuple[str, list[SummaryRow]]]:
    """The built document, section by section in the order of the paper form, as
    label–value rows in the reader's language (numbers masked unless ``masked=False``)."""
    shown = ctx.again(document)
    out = []
    for section in sections(shown):
        rows = [
            SummaryRow(
                ctx.tr(spec.label),
                display(spec, shown, get_path(document, spec.path), masked=masked),
            )
            for spec in section.specs
            if get_path(document, spec.path) not in (None, "")
        ]
        if rows:
            out.append((section_title(section, ctx.translate), rows))
    return out


# --- names of coded values, for any view of a document ------------------------------------

_DATETIME_PATHS = ("newborns.born_at", "submitted_at")
_DATE_PATHS = ("authorization.valid_from", "authorization.valid_to")
_ETHNICITY_PATHS = ("mother.ethnicity", "father.ethnicity", "ethnicity_confirmation.ethnicity")
_DIVISION_PATHS = ("mother.hukou_division", "father.hukou_division", "medical_insurance.division")


def value_name(
    reference: ReferenceData,
    path: str,
    value: Any,
    *,
    language: str = "zh",
    translate: Callable[[str], str] = str,
) -> str | None:
    """The name a person reads for a coded value of the document (``path`` without list
    indexes, as `labelled_rows` walks it): 长春市妇产医院, not ``changchun-mch``; 汉族, not
    ``01``; 吉林省长春市南关区, not ``220102``; 2026年11月1日 09:00, not an ISO time. None
    where the value is not one of these (the caller shows it as it is)."""
    english = language.lower().startswith("en")
    text = as_text(value)
    if path in _DATETIME_PATHS:
        return written(text, language=language)
    if path in _DATE_PATHS:
        return written(text, language=language, date_only=True)
    if path == "newborns.hospital":
        hospital = reference.hospitals.get(text)
        return hospital.name if hospital else None
    if path == "birth_registration.police_station":
        station = reference.police_stations.get(text)
        return station.name if station else None
    if path in _ETHNICITY_PATHS:
        group = reference.ethnic_groups.get(text)
        if group is None:
            return None
        return group.name_en if english and group.name_en else group.name
    if path in _DIVISION_PATHS:
        return reference.division_full_name(text)
    if path == "authorization.items" and isinstance(value, list):
        return translate("、").join(item_name(str(v), language) for v in value)
    if path == "social_security_card.branch":
        branch = reference.bank_branches.get(text)
        return branch.name if branch else None
    if path == "authorization.trustee.relation":
        return translate(RELATIONS[text]) if text in RELATIONS else None
    return None


# The parts of the case document in the order of the paper forms (钦北 联办申请表: 基本信息
# — 新生儿、母亲、父亲 —, 办理事项, 出生登记, 参保登记, 医保缴费, 生育医疗费用, 社会保障卡办理,
# 送达方式; 沅陵: 授权委托书 last).
PAPER_ORDER = (
    "applicant",
    "newborns",
    "mother",
    "father",
    "marital_status",
    "items",
    "birth_registration",
    "ethnicity_confirmation",
    "medical_insurance",
    "maternity",
    "social_security_card",
    "delivery",
    "authorization",
)


def paper_position(key: str) -> int:
    """Where a top-level part of the document comes on the paper form (unknown: last)."""
    return PAPER_ORDER.index(key) if key in PAPER_ORDER else len(PAPER_ORDER)
