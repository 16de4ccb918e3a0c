"""The schema of a policy pack: one region's plan (方案) as validated data.

A pack says which items are offered and in what dependency order, who may apply,
the age window, the eligibility rules, the materials per item, the time limits,
the clock rule, the channels and the delivery options. Every rule, item and
material cites the sentence of the region's seed document it comes from.

Rules are chosen from a fixed vocabulary (the ``rule`` field); a new region
combines and parameterises them without Python changes.
"""

from __future__ import annotations

from datetime import date
from graphlib import CycleError, TopologicalSorter
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from onestop.catalogue.loader import Catalogue, catalogue

# Item, department and material codes are the catalogue's (onestop/catalogue/data): the
# schema only checks their shape; a pack naming a code the catalogue does not define is
# refused when it is validated (`_names_the_catalogue`).
ItemCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,31}$")]
Department = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,31}$")]
MaterialCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,31}$")]
ApplicantRole = Literal["mother", "father", "grandparent", "trustee"]
Residency = Literal["mainland", "hong_kong", "macao", "taiwan", "overseas_chinese", "foreign"]
MaritalStatus = Literal["married", "unmarried", "divorced", "single"]
HukouType = Literal["family", "community_collective", "student_collective", "unit_collective"]
ParentSide = Literal["father", "mother"]
ReasonCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
DivisionPrefix = Annotated[str, Field(pattern=r"^\d{2,6}$")]
Cite = Annotated[str, Field(min_length=4)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Conditions(_Strict):
    """When a material (or rule) applies. Every condition given must hold."""

    mother_known: bool | None = None
    father_known: bool | None = None
    married: bool | None = None
    applicant_roles: list[ApplicantRole] | None = None
    items_chosen: list[ItemCode] | None = Field(
        default=None, description="at least one of these items is chosen"
    )
    items_not_chosen: list[ItemCode] | None = Field(
        default=None, description="none of these items is chosen"
    )
    registering_parent: ParentSide | None = None
    parents_ethnicities_differ: bool | None = None


# --- eligibility rules --------------------------------------------------------------


class _Rule(_Strict):
    cite: Cite
    items: list[ItemCode] | None = Field(
        default=None, description="the rule applies only when one of these items is chosen"
    )


class AgeWindowRule(_Rule):
    """The newborn's age on the evaluation date must be within ``months``."""

    rule: Literal["age_window"]
    months: Annotated[int, Field(ge=1, le=240)]
    inclusive: bool = Field(
        default=True,
        description="以内/以下 include the limit day (民法典 第1259条); 未满 does not",
    )
    label: str = Field(description="the window in Chinese words, e.g. 出生1个月内")


class HospitalInScopeRule(_Rule):
    """The birth hospital must be a midwifery institution within these divisions."""

    rule: Literal["hospital_in_scope"]
    divisions: list[DivisionPrefix]
    label: str = Field(description="the scope in Chinese words, e.g. 钦北区")


class InHospitalBirthRule(_Rule):
    rule: Literal["in_hospital_birth"]


class MaritalBirthRule(_Rule):
    """Which marital statuses are outside the bundle, and with which reason code."""

    rule: Literal["marital_birth"]
    reasons: dict[MaritalStatus, ReasonCode]


class MotherKnownRule(_Rule):
    rule: Literal["mother_known"]


class ParentsResidencyRule(_Rule):
    """Parents whose residency is in ``excluded`` make the case ineligible (foreign_parent)."""

    rule: Literal["parents_residency"]
    excluded: list[Residency]


class LocalHukouRule(_Rule):
    """Where the parents' household registers must be."""

    rule: Literal["local_hukou"]
    registering_parent_in: list[DivisionPrefix] | None = None
    any_parent_in: list[DivisionPrefix] | None = None
    label: str = Field(description="the scope in Chinese words, e.g. 兰州市")


class NewbornNamedRule(_Rule):
    rule: Literal["newborn_named"]
    reason: ReasonCode = "newborn_unnamed"


class AdmittedApplicant(_Strict):
    role: ApplicantRole
    needs_authorization: bool = False
    trustee_relations: list[str] | None = Field(
        default=None, description="allowed authorization.trustee.relation values"
    )


class ApplicantAdmittedRule(_Rule):
    rule: Literal["applicant_admitted"]
    admitted: list[AdmittedApplicant]
    label: str = Field(description="who may apply, in Chinese words")


class SscNotAppliedElsewhereRule(_Rule):
    rule: Literal["ssc_not_applied_elsewhere"]


class BmcIssuedRule(_Rule):
    """The Birth Medical Certificate must already be issued (its number or the certificate)."""

    rule: Literal["bmc_issued"]


class HukouTypeRule(_Rule):
    rule: Literal["hukou_type"]
    allowed: list[HukouType]
    reason: ReasonCode = "collective_hukou_not_supported"
    message: str | None = Field(default=None, description="overrides the reason's message")
    redirect: list[HukouType] = Field(
        default_factory=list,
        description="hukou types that are not refused: the birth registration goes to the "
        "other parent's family hukou instead (Lanzhou: a student collective hukou → the "
        "spouse's family hukou), routed to the police station of that hukou",
    )


class EthnicityConfirmationRule(_Rule):
    """Parents of different ethnic groups both sign the child's ethnicity."""

    rule: Literal["ethnicity_confirmation"]


class CompleteChainRule(_Rule):
    """A chosen item's direct prerequisites must be chosen too, or their result provided."""

    rule: Literal["complete_chain"]


class ServicemanParentRule(_Rule):
    """A serviceman parent's child registers at the civilian parent's hukou."""

    rule: Literal["serviceman_parent"]
    redirect: bool = Field(
        default=False,
        description="route the registration to the civilian parent's hukou (and its police "
        "station) instead of asking the applicant to change `birth_registration.follows`",
    )


Rule = Annotated[
    AgeWindowRule
    | HospitalInScopeRule
    | InHospitalBirthRule
    | MaritalBirthRule
    | MotherKnownRule
    | ParentsResidencyRule
    | LocalHukouRule
    | NewbornNamedRule
    | ApplicantAdmittedRule
    | SscNotAppliedElsewhereRule
    | BmcIssuedRule
    | HukouTypeRule
    | EthnicityConfirmationRule
    | CompleteChainRule
    | ServicemanParentRule,
    Field(discriminator="rule"),
]


# --- items, materials, delivery -----------------------------------------------------


class TimeLimit(_Strict):
    days: Annotated[int, Field(ge=0, le=366)] | None = Field(
        description="the promised limit; 0 = same visit / automatic; null = none stated"
    )
    unit: Literal["working_days", "calendar_days"] = "working_days"
    starts: Literal["on_ready", "on_bank_choice", "on_birth"] = Field(
        default="on_ready",
        description="when the clock starts: when the department receives it, when a later "
        "choice is recorded (Fuzhou SSC: 3 working days after the bank is chosen), or on the "
        "newborn's birth date (Yuanling's insurance payment: 须在90天内完成参保缴费)",
    )
    excludes: str | None = Field(
        default=None,
        description="what the promise does not count, as the seed says it (邮寄时间 for "
        "Yuanling's 3 working days: 邮寄时间除外)",
    )
    cite: Cite | None = None


class InstantApproval(_Strict):
    """秒批: the platform completes the item without a human when shared data verifies it.

    ``delivery_record_matches``: the hospital's delivery record (hospital, record number and
    the mother's ID number) exists and its birth time and sex agree with the case.
    """

    when: Literal["delivery_record_matches"]
    cite: Cite


class PreviewBeforeIssue(_Strict):
    """预览确认: after acceptance the platform renders the documents the item will issue
    (and the ones later items use) for the applicant to read, and the item goes to its
    department only once the applicant confirms them with an e-signature (ADR 0035). A
    request to correct them sends the applicant to the ordinary channel (``mismatch_cite``).
    """

    documents: list[
        Literal["birth_certificate", "bmc_first_issue_register", "household_registration_form"]
    ] = Field(min_length=1, description="the previews, in the order the applicant reads them")
    cite: Cite
    mismatch_cite: Cite


class OnlineResult(_Strict):
    """How a result applied for online differs on paper (福州: 网上申报完成的，申请人领取的是
    无副页的《出生医学证明》，存根（备注"线上办理"）和副页留存助产机构)."""

    no_sub_page: bool = False
    stub_note: str = ""
    cite: Cite


class ItemEntry(_Strict):
    item: ItemCode
    department: Department
    after: list[ItemCode] = Field(default_factory=list)
    time_limit: TimeLimit
    automatic: bool = Field(
        default=False, description="granted without application (免申即享) from shared data"
    )
    instant_approval: InstantApproval | None = Field(
        default=None, description="straight-through approval (秒批) when shared data verifies"
    )
    result_material: MaterialCode | None = Field(
        default=None, description="the material this item's result stands for (证照免交)"
    )
    preview_before_issue: PreviewBeforeIssue | None = Field(
        default=None, description="the applicant confirms a preview (e-signature) first"
    )
    online_result: OnlineResult | None = Field(
        default=None, description="marks on the result of an online application (无副页)"
    )
    ordinary_channel: str = Field(description="where to go instead (原渠道), in Chinese")
    cite: Cite

    @model_validator(mode="after")
    def _instant_approval_fits(self) -> ItemEntry:
        if self.instant_approval is not None and self.item != "birth_certificate":
            raise ValueError(f"{self.item}: instant_approval is defined for birth_certificate only")
        for name in ("preview_before_issue", "online_result"):
            if getattr(self, name) is not None and self.item != "birth_certificate":
                raise ValueError(f"{self.item}: {name} is defined for birth_certificate only")
        return self


class MaterialEntry(_Strict):
    material: MaterialCode
    items: list[ItemCode] | None = Field(
        default=None, description="required when one of these items is chosen (null: always)"
    )
    when: Conditions = Field(default_factory=Conditions)
    cite: Cite


class DeliveryOption(_Strict):
    methods: list[Literal["pickup", "mail"]]
    pickup_by: list[ParentSide] | None = None
    authorization_for: list[ParentSide] = Field(
        default_factory=list, description="who may pick up only with the mother's authorization"
    )
    cite: Cite


class SameVisit(_Strict):
    """当场办理: an item the counter finishes while the parents wait, its result printed and
    handed over there (ADR 0032). ``by: counter``: the window's clerk completes it, being
    staff of the item's own office (沅陵: the hospital's own 综合窗口 issues the BMC);
    ``by: department``: the item's officers complete it at their desk in the same hall
    (吉林: 公安窗口现场办理户口登记) and the clerk prints and hands over the result."""

    item: ItemCode
    by: Literal["counter", "department"]
    cite: Cite


class ApplicantChannel(_Strict):
    code: Literal["online", "counter"]
    where: list[Literal["hospital", "service_center", "portal", "app"]]
    label: str
    same_visit: list[SameVisit] = Field(
        default_factory=list, description="items finished and handed over in the same visit"
    )


class SecondParentConfirmation(_Strict):
    """Where both parents must sign (父母双方签字) and the applicant cannot sign for the
    other parent: the other parent confirms by SMS link, and ``items`` wait until then
    (ADR 0029).

    ``when``: ``ethnicity_differs`` — the parents' ethnic groups differ and the other
    parent has not signed the ethnicity confirmation (an online applicant's tick for the
    other parent does not count; at the counter the clerk records both parents present);
    ``hukou_follows_other_parent`` — the newborn's hukou is registered with the parent who
    is not the applicant (the form's "经父母双方协商一致"), on the channels listed (at the
    counter the paper form carries both signatures)."""

    when: Literal["ethnicity_differs", "hukou_follows_other_parent"]
    items: list[ItemCode] = Field(min_length=1, description="the items that wait")
    channels: list[Literal["online", "counter"]] = Field(default=["online", "counter"])
    expires_after_days: Annotated[int, Field(ge=1, le=30)] = Field(
        default=7, description="calendar days the link stays valid"
    )
    cite: Cite


class ReasonEntry(_Strict):
    decision: Literal["reject", "supplement"]
    message: str


PAYMENT_ITEM = "medical_insurance_payment"


class PaymentChannel(_Strict):
    """One way to pay the resident medical-insurance premium, named as people read it."""

    code: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,31}$")]
    name: Annotated[str, Field(min_length=2, max_length=60)]
    note: str = Field(default="", max_length=120, description="e.g. where to go for it")
    form_choice: (
        Literal["wechat", "city_service", "alipay", "bank_card", "hospital_scan"] | None
    ) = Field(
        default=None,
        description="the unified form's 缴费方式 answer this channel is "
        "(medical_insurance.payment_channel), so the parent's choice is named first",
    )
    cite: Cite


class CodeActivation(_Strict):
    """A step the parents take themselves after payment (Jilin: 激活医保码)."""

    name: Annotated[str, Field(min_length=2, max_length=40)]
    where: Annotated[str, Field(min_length=2, max_length=60)]
    cite: Cite


class PaymentPlan(_Strict):
    """The medical-insurance payment notice (缴费通知) the parents get when their newborn's
    insurance payment item reaches the tax department: the channels, the deadline (the
    item's time limit: ``deadline_cite`` says where it comes from, ``deadline_note`` what
    the notice says when the seed gives no date), the reminders before it, and a step the
    parents take after payment. The amount is reference data an administrator sets per
    region and year (``reference.InsurancePremium``), never a figure in the pack."""

    channels: Annotated[list[PaymentChannel], Field(min_length=1)]
    deadline_cite: Cite | None = None
    deadline_note: str = Field(
        default="",
        max_length=120,
        description="what the notice says about the deadline when the item has no time limit",
    )
    reminders_days_before: list[Annotated[int, Field(ge=1, le=60)]] = Field(
        default_factory=list, description="reminders this many days before the deadline"
    )
    activation: CodeActivation | None = None
    cite: Cite


class HandoverDue(_Strict):
    """When a batch is due: ``day`` of the period's last month (``last``: that month's last
    day; a day the month lacks is its last day)."""

    month: Literal["last_of_period"] = "last_of_period"
    day: Annotated[int, Field(ge=1, le=31)] | Literal["last"]


class ArchiveHandover(_Strict):
    """The paper parts of the birth medical certificate the hospital keeps for the police
    (副页 / 上户联, with the ethnicity forms), handed over in batches: one batch per
    hospital, receiving police station and period (ADR 0030)."""

    period: Literal["quarterly", "monthly"]
    due: HandoverDue
    documents: Annotated[
        list[Literal["bmc_sub_page", "bmc_household_copy", "ethnicity_confirmation_form"]],
        Field(min_length=1),
    ]
    method: Literal["in_person", "post"]
    receiver: Literal["registration_police_station"] = Field(
        default="registration_police_station",
        description="the police station of the newborn's birth registration (落户地派出所)",
    )
    remind_working_days: Annotated[int, Field(ge=1, le=30)] = Field(
        description="the hospital's staff get a work message this many working days before due"
    )
    cite: Cite
    due_cite: Cite | None = Field(
        default=None, description="where the seed says when, if it is not the same sentence"
    )

    @model_validator(mode="after")
    def _documents_once(self) -> ArchiveHandover:
        if len(set(self.documents)) != len(self.documents):
            raise ValueError("a document is listed twice")
        return self


PhoneNumber = Annotated[str, Field(pattern=r"^(\d{3,5}(-\d{5,8})?|1\d{10})$")]


class ContactPhone(_Strict):
    """A number callers ring about the service (事项咨询电话, issue 12): the institution as
    people read it, the items (or departments) it answers for, and where the seed says so.
    Defined once, here in the pack; the service guide and the 12345 knowledge base read it."""

    who: Annotated[str, Field(min_length=2, max_length=60)]
    phones: Annotated[list[PhoneNumber], Field(min_length=1)]
    items: list[ItemCode] = Field(
        default_factory=list, description="the items it answers for (empty: the whole service)"
    )
    note: str = Field(default="", max_length=80, description="e.g. 职工生育 / 居民生育")
    cite: Cite


class FeeNote(_Strict):
    """What the parents pay, as the seed says it (e.g. postage: 邮寄送达（自费）)."""

    what: Annotated[str, Field(min_length=2, max_length=60)]
    amount: Annotated[str, Field(min_length=2, max_length=80)]
    items: list[ItemCode] = Field(default_factory=list)
    cite: Cite


GUIDANCE_ITEM = "parenting_guidance"


class GuidanceWithoutItem(_Strict):
    """Parenting guidance (科学育儿指导, ADR 0040 amendment) in a region whose seed names no
    guidance item: no registration step (no department step the seed does not list), the
    parents of an accepted case see the 0–1-year content and the first-year visit calendar
    of 国家基本公共卫生服务规范 0～6岁儿童健康管理 from the case's birth date. ``note`` is what
    the service guide says; ``cite`` the seed sentence the region's offer rests on."""

    note: Annotated[str, Field(min_length=8, max_length=200)]
    cite: Cite


class PolicyPack(_Strict):
    region: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*$")]
    version: Annotated[str, Field(min_length=1)]
    effective_from: date
    name: str
    name_en: str
    level: Literal["province", "city", "county", "district"]
    seed: str | None = Field(default=None, description="the seed document this pack cites")
    clock_rule: Literal["standard", "fuzhou"]
    clock_rule_cite: Cite | None = None
    overall_time_limit: TimeLimit | None = None
    channels: list[ApplicantChannel]
    items: list[ItemEntry]
    rules: list[Rule]
    materials: list[MaterialEntry]
    delivery: dict[
        Literal[
            "birth_certificate",
            "vaccination_certificate",
            "household_register",
            "social_security_card",
        ],
        DeliveryOption,
    ] = Field(default_factory=dict)
    reasons: dict[ReasonCode, ReasonEntry] = Field(
        default_factory=dict, description="reason codes this pack adds to the common set"
    )
    confirmations: list[SecondParentConfirmation] = Field(
        default_factory=list, description="where the other parent confirms by SMS link"
    )
    not_offered_note: str | None = None
    payment: PaymentPlan | None = Field(
        default=None, description="the insurance payment notice, where the pack offers payment"
    )
    archive_handover: ArchiveHandover | None = Field(
        default=None,
        description="the BMC paper parts handed from each hospital to the police in batches",
    )
    contacts: list[ContactPhone] = Field(
        default_factory=list, description="the numbers callers ring (事项咨询电话)"
    )
    fees: list[FeeNote] = Field(
        default_factory=list, description="what the parents pay (none listed: no fee stated)"
    )
    guidance_without_item: GuidanceWithoutItem | None = Field(
        default=None,
        description="parenting guidance as content and visit dates, where no item is offered",
    )

    @model_validator(mode="after")
    def _names_the_catalogue(self, info: ValidationInfo) -> PolicyPack:
        """Every item, department and material the pack names is in the catalogue (the one
        loaded from the same data folders, passed as ``context={"catalogue": …}``), and each
        item is worked by one of the departments the catalogue allows for it."""
        given = (info.context or {}).get("catalogue") if info is not None else None
        known = given if isinstance(given, Catalogue) else catalogue()
        problems = catalogue_problems(self, known)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _items_form_a_graph(self) -> PolicyPack:
        codes = [entry.item for entry in self.items]
        if len(set(codes)) != len(codes):
            raise ValueError("an item is listed twice")
        offered = set(codes)
        for entry in self.items:
            for prerequisite in entry.after:
                if prerequisite not in offered:
                    raise ValueError(f"{entry.item} waits for {prerequisite}, which is not offered")
                if prerequisite == entry.item:
                    raise ValueError(f"{entry.item} waits for itself")
        try:
            TopologicalSorter({e.item: e.after for e in self.items}).prepare()
        except CycleError as exc:
            raise ValueError(f"the items' dependencies form a cycle: {exc.args[1]}") from None
        for rule in self.rules:
            for item in rule.items or ():
                if item not in offered:
                    raise ValueError(f"rule {rule.rule} names {item}, which is not offered")
        if self.payment is not None and PAYMENT_ITEM not in offered:
            raise ValueError(f"payment is described but {PAYMENT_ITEM} is not offered")
        for entry in self.items:
            if entry.time_limit.starts == "on_birth" and entry.time_limit.unit != "calendar_days":
                raise ValueError(f"{entry.item}: a clock from the birth date counts calendar days")
        for confirmation in self.confirmations:
            for item in confirmation.items:
                if item not in offered:
                    raise ValueError(
                        f"confirmation {confirmation.when} names {item}, which is not offered"
                    )
        if (
            self.archive_handover is not None
            and not {
                "birth_certificate",
                "birth_registration",
            }
            <= offered
        ):
            raise ValueError(
                "archive_handover needs birth_certificate and birth_registration offered "
                "(the hospital issues, the registering police station receives)"
            )
        listed: list[tuple[str, list[str]]] = [(c.who, c.items) for c in self.contacts]
        listed += [(f.what, f.items) for f in self.fees]
        for who, items in listed:
            for item in items:
                if item not in offered:
                    raise ValueError(f"{who} names {item}, which is not offered")
        if self.guidance_without_item is not None and GUIDANCE_ITEM in offered:
            raise ValueError(
                f"guidance_without_item is for a pack that does not offer {GUIDANCE_ITEM}"
            )
        for channel in self.channels:
            for spot in channel.same_visit:
                if channel.code != "counter":
                    raise ValueError(f"same_visit is for a counter, not the {channel.code} channel")
                if spot.item not in offered:
                    raise ValueError(f"same_visit names {spot.item}, which is not offered")
        return self

    def confirmation(self, when: str) -> SecondParentConfirmation | None:
        """The pack's second-parent confirmation of kind ``when``, if it has one."""
        return next((c for c in self.confirmations if c.when == when), None)

    def same_visit(self, item: str) -> SameVisit | None:
        """How the counter finishes ``item`` in the same visit, or None if it does not."""
        for channel in self.channels:
            for spot in channel.same_visit:
                if spot.item == item:
                    return spot
        return None

    def item(self, code: str) -> ItemEntry | None:
        for entry in self.items:
            if entry.item == code:
                return entry
        return None

    @property
    def offered(self) -> tuple[str, ...]:
        return tuple(entry.item for entry in self.items)

    @property
    def guidance(self) -> Literal["item", "content"] | None:
        """How the region's parents get parenting guidance: registered by the item, shown
        from the accepted case without one, or not at all."""
        if GUIDANCE_ITEM in self.offered:
            return "item"
        return "content" if self.guidance_without_item is not None else None


def catalogue_problems(pack: PolicyPack, known: Catalogue) -> list[str]:
    """What ``pack`` names that the catalogue does not define, each with its path."""
    problems: list[str] = []

    def item(code: str, where: str) -> bool:
        if code in known.items:
            return True
        problems.append(f"{where}: 未知的事项“{code}”（事项目录中有：{'、'.join(known.items)}）")
        return False

    def material(code: str, where: str) -> None:
        if code not in known.materials:
            listed = "、".join(known.materials)
            problems.append(f"{where}: 未知的材料“{code}”（事项目录中有：{listed}）")

    for i, entry in enumerate(pack.items):
        if item(entry.item, f"items.{i}.item"):
            allowed = known.items[entry.item].departments
            if entry.department not in known.departments:
                problems.append(
                    f"items.{i}.department: 未知的部门“{entry.department}”"
                    f"（事项目录中有：{'、'.join(known.departments)}）"
                )
            elif entry.department not in allowed:
                problems.append(
                    f"items.{i}.department: 事项 {entry.item} 不由“{entry.department}”办理"
                    f"（事项目录允许：{'、'.join(allowed)}）"
                )
        for j, code in enumerate(entry.after):
            item(code, f"items.{i}.after.{j}")
        if entry.result_material is not None:
            material(entry.result_material, f"items.{i}.result_material")
    for i, rule in enumerate(pack.rules):
        for j, code in enumerate(rule.items or ()):
            item(code, f"rules.{i}.items.{j}")
    for i, m in enumerate(pack.materials):
        material(m.material, f"materials.{i}.material")
        for j, code in enumerate(m.items or ()):
            item(code, f"materials.{i}.items.{j}")
        for key in ("items_chosen", "items_not_chosen"):
            for j, code in enumerate(getattr(m.when, key) or ()):
                item(code, f"materials.{i}.when.{key}.{j}")
    return problems
