"""The counter's entry form, declared once as paths into the case document.

Each `Entry` names where its value goes in the document (``mother.id_number``), how it is
labelled and which items need it. The Django form is built from this list and the
document is assembled from the cleaned values, so the form and the document cannot drift.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from onestop.cases.domain.labels import (
    BANKS,
    DELIVERY_MODE,
    HUKOU_TYPES,
    INSURANCE_YEAR,
    MARITAL,
    METHODS,
    PAYMENT,
    PAYOUT,
    RESIDENCY,
    ROLES,
    SEX,
    SIDES,
)
from onestop.cases.domain.paths import put_path
from onestop.eligibility.reasons import ITEM_NAMES, MATERIAL_NAMES

Label = str | Promise


@dataclass(frozen=True)
class Entry:
    path: str
    label: Label  # a lazy translation: str(label) in the active language
    kind: str = "text"  # text | id | choice | bool | int | datetime
    choices: tuple[tuple[str, str], ...] = ()
    items: tuple[str, ...] = ()  # shown when any of these items is chosen; () = always
    required: bool = False
    # kind "id": the path of the holder's residency; a resident ID number (GB 11643) is
    # checked when it is mainland or not given. "applicant": the parent the applicant is.
    residency: str = ""


def _parent(side: str, labels: tuple[Label, ...]) -> list[Entry]:
    name, id_number, residency, ethnicity, phone, division, address, marriage = labels
    return [
        Entry(f"{side}.name", name, required=side == "mother"),
        Entry(
            f"{side}.id_number",
            id_number,
            "id",
            required=side == "mother",
            residency=f"{side}.residency",
        ),
        Entry(f"{side}.residency", residency, "choice", RESIDENCY),
        Entry(f"{side}.ethnicity", ethnicity),
        Entry(f"{side}.phone", phone),
        Entry(f"{side}.hukou_division", division),
        Entry(f"{side}.hukou_address", address),
        Entry(f"{side}.marriage_certificate", marriage),
    ]


# Each label is written out in full so that makemessages finds it.
MOTHER_LABELS = (
    _("母亲姓名"),
    _("母亲身份证号码"),
    _("母亲居民身份"),
    _("母亲民族代码（如 01 汉族）"),
    _("母亲手机号码"),
    _("母亲户籍地行政区划代码"),
    _("母亲户籍地址"),
    _("母亲结婚证号"),
)
FATHER_LABELS = (
    _("父亲姓名"),
    _("父亲身份证号码"),
    _("父亲居民身份"),
    _("父亲民族代码（如 01 汉族）"),
    _("父亲手机号码"),
    _("父亲户籍地行政区划代码"),
    _("父亲户籍地址"),
    _("父亲结婚证号"),
)


ENTRIES: tuple[Entry, ...] = (
    Entry("applicant.role", _("申请人身份"), "choice", ROLES, required=True),
    Entry("applicant.name", _("申请人姓名"), required=True),
    Entry("applicant.id_number", _("申请人身份证号码"), "id", required=True, residency="applicant"),
    Entry("applicant.phone", _("申请人手机号码"), required=True),
    Entry("marital_status", _("父母婚姻状况"), "choice", MARITAL, required=True),
    *_parent("mother", MOTHER_LABELS),
    *_parent("father", FATHER_LABELS),
    Entry("newborns.0.name", _("新生儿姓名")),
    Entry("newborns.0.sex", _("新生儿性别"), "choice", SEX),
    Entry("newborns.0.born_at", _("出生时间（如 2026-11-10 08:20）"), "datetime", required=True),
    Entry("newborns.0.hospital", _("出生医疗机构代码"), required=True),
    Entry("newborns.0.in_hospital", _("在医疗机构内分娩"), "bool"),
    Entry("newborns.0.record_number", _("住院号")),
    Entry("newborns.0.gestational_weeks", _("孕周"), "int", items=("birth_certificate",)),
    Entry("newborns.0.weight_g", _("体重（克）"), "int", items=("birth_certificate",)),
    Entry("newborns.0.length_cm", _("身长（厘米）"), "int", items=("birth_certificate",)),
    Entry("newborns.0.birth_attendant", _("接生人员"), items=("birth_certificate",)),
    Entry(
        "newborns.0.ethnicity_follows",
        _("民族随"),
        "choice",
        SIDES,
        items=("birth_certificate", "birth_registration"),
    ),
    Entry(
        "birth_registration.follows", _("户口随"), "choice", SIDES, items=("birth_registration",)
    ),
    Entry("birth_registration.police_station", _("落户派出所代码"), items=("birth_registration",)),
    Entry(
        "birth_registration.hukou_type",
        _("落户户口类型"),
        "choice",
        HUKOU_TYPES,
        items=("birth_registration",),
    ),
    Entry("birth_registration.householder_name", _("户主姓名"), items=("birth_registration",)),
    Entry(
        "birth_registration.householder_id_number",
        _("户主身份证号码"),
        "id",
        items=("birth_registration",),
    ),
    Entry(
        "birth_registration.relation_to_householder", _("与户主关系"), items=("birth_registration",)
    ),
    Entry("birth_registration.address", _("落户地址"), items=("birth_registration",)),
    Entry(
        "birth_registration.bmc_number",
        _("已签发的出生医学证明编号"),
        items=("birth_registration",),
    ),
    Entry(
        "ethnicity_confirmation.ethnicity",
        _("确认的新生儿民族代码"),
        items=("birth_certificate", "birth_registration"),
    ),
    Entry(
        "ethnicity_confirmation.signed_by_mother",
        _("母亲已签字确认民族"),
        "bool",
        items=("birth_certificate", "birth_registration"),
    ),
    Entry(
        "ethnicity_confirmation.signed_by_father",
        _("父亲已签字确认民族"),
        "bool",
        items=("birth_certificate", "birth_registration"),
    ),
    Entry(
        "medical_insurance.division",
        _("参保地行政区划代码"),
        items=("medical_insurance_enrolment", "medical_insurance_payment"),
    ),
    Entry(
        "medical_insurance.year",
        _("参保年度"),
        "choice",
        INSURANCE_YEAR,
        items=("medical_insurance_enrolment", "medical_insurance_payment"),
    ),
    Entry(
        "medical_insurance.payment_channel",
        _("缴费方式"),
        "choice",
        PAYMENT,
        items=("medical_insurance_payment", "medical_insurance_enrolment"),
    ),
    Entry("maternity.plurality", _("胎数"), "int", items=("maternity_reimbursement",)),
    Entry(
        "maternity.delivery_mode",
        _("分娩方式"),
        "choice",
        DELIVERY_MODE,
        items=("maternity_reimbursement",),
    ),
    Entry(
        "maternity.payout", _("报销款发放至"), "choice", PAYOUT, items=("maternity_reimbursement",)
    ),
    Entry("maternity.bank", _("开户行"), "choice", BANKS, items=("maternity_reimbursement",)),
    Entry("maternity.account_number", _("银行账号"), items=("maternity_reimbursement",)),
    Entry(
        "social_security_card.bank",
        _("社保卡合作银行"),
        "choice",
        BANKS,
        items=("social_security_card",),
    ),
    Entry("social_security_card.branch", _("领卡网点"), items=("social_security_card",)),
    Entry(
        "social_security_card.applied_elsewhere",
        _("已在其他渠道申领过社保卡"),
        "bool",
        items=("social_security_card",),
    ),
    Entry(
        "delivery.birth_certificate.method",
        _("出生医学证明送达方式"),
        "choice",
        METHODS,
        items=("birth_certificate",),
    ),
    Entry(
        "delivery.household_register.method",
        _("户口簿送达方式"),
        "choice",
        METHODS,
        items=("birth_registration",),
    ),
    Entry(
        "delivery.social_security_card.method",
        _("社保卡送达方式"),
        "choice",
        METHODS,
        items=("social_security_card",),
    ),
    Entry("delivery.address.recipient", _("邮寄收件人")),
    Entry("delivery.address.phone", _("邮寄联系电话")),
    Entry("delivery.address.address", _("邮寄地址")),
)

ITEM_CHOICES = tuple(ITEM_NAMES.items())
MATERIAL_CHOICES = tuple(MATERIAL_NAMES.items())


def field_name(path: str) -> str:
    return path.replace(".", "__")


def build_document(
    values: Mapping[str, Any], *, region: str, items: list[str], materials: list[str]
) -> dict[str, Any]:
    """The case document from cleaned form values (empty values are left out)."""
    document: dict[str, Any] = {
        "region": region,
        "channel": "counter",
        "items": items,
        "materials": materials,
    }
    for entry in ENTRIES:
        value = values.get(field_name(entry.path))
        if value in (None, ""):
            continue
        if entry.items and not set(entry.items) & set(items):
            continue
        put_path(document, entry.path, value)
    mother = document.get("mother")
    if isinstance(mother, dict):
        mother.setdefault("known", True)
    return document
