"""The case document (`spec/application.md`) as typed models, parsed without ever crashing.

`parse_case` turns any decoded JSON value into a `ParsedCase`: a typed `CaseDocument`
plus the list of `FieldProblem`s found on the way. A field with the wrong type or an
impossible value is reported and dropped, and the rest of the document is still read,
so pre-review can report every problem at once (一次性告知). Only a value that is not a
case document at all (not an object, no region) raises `UnreadableDocument`.

Required-ness and codes that depend on reference data or the region's pack (hospital
codes, ethnic groups, which sections an item needs) are judged later by pre-review;
this module checks shapes, types, formats and enumerations.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from onestop.cases.domain.limits import (
    ADDRESS_MAX,
    CODE_MAX,
    ID_NUMBER_MAX,
    ITEMS_MAX,
    MATERIALS_MAX,
    MAX_BODY_BYTES,
    NAME_MAX,
    NEWBORNS_MAX,
    REFERENCE_MAX,
    TEXT_MAX,
    check_document,
)
from onestop.catalogue.names import CatalogueView
from onestop.core.clock import parse_time
from onestop.core.errors import DocumentRefused, UnreadableDocument
from onestop.core.i18n import gettext_noop
from onestop.core.text import printable

# The item and material codes are the catalogue's (onestop/catalogue/data).
ITEM_CODES: Mapping[str, str] = CatalogueView(lambda c: {code: code for code in c.items})
MATERIAL_CODES: Mapping[str, str] = CatalogueView(lambda c: {code: code for code in c.materials})

Residency = Literal["mainland", "hong_kong", "macao", "taiwan", "overseas_chinese", "foreign"]
ParentSide = Literal["father", "mother"]
_PHONE_DIGITS = re.compile(r"^1[3-9]\d{9}$")
_DIVISION = re.compile(r"^\d{6}$")


def _as_text(value: Any) -> Any:
    """Accept numbers where the spec has codes written as text (sex 1 → "1")."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) >= 10**24:  # no code is that long; its text would pass the limits
            raise ValueError("应为文本（数字过大）")
        return str(value)
    return value


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _time(value: Any) -> Any:
    value = _blank_to_none(value)
    if value is None or isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError("时间应写成 ISO 8601 文本，例如 2026-11-20T09:30:00+08:00")
    try:
        return parse_time(value)
    except (ValueError, OverflowError):  # OverflowError: 0001-01-01T00:00+14:00 in Beijing time
        raise ValueError("时间格式无效或日期不存在，例如应写成 2026-11-20T09:30:00+08:00") from None


def _date(value: Any) -> Any:
    value = _blank_to_none(value)
    if value is None or isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError("日期应写成 2026-11-20 这样的文本")
    try:
        return parse_time(value).date()
    except (ValueError, OverflowError):
        raise ValueError("日期格式无效或日期不存在，例如应写成 2026-11-20") from None


def normalize_phone(value: str) -> str:
    """Digits of a mainland mobile number: spaces and hyphens removed, +86 / 86 dropped."""
    digits = re.sub(r"[\s\-()]", "", value)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def _phone(value: Any) -> Any:
    value = _blank_to_none(_as_text(value))
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("手机号码应为11位数字")
    digits = normalize_phone(value)
    if not _PHONE_DIGITS.match(digits):
        raise ValueError("手机号码应为以1开头的11位数字，例如 13800000000")
    return digits


def _division(value: Any) -> Any:
    value = _blank_to_none(_as_text(value))
    if value is None:
        return None
    if not isinstance(value, str) or not _DIVISION.match(value.strip()):
        raise ValueError("行政区划代码应为6位数字，例如 450703")
    return value.strip()


def _strip(value: Any) -> Any:
    value = _blank_to_none(value)
    if isinstance(value, str):
        return value.strip()
    return value


def _code(value: Any) -> Any:
    return _strip(_as_text(value))


# Each kind of text once, with its length limit (ADR 0016); a longer value refuses the
# whole document (`DocumentRefused`, code ``field_too_long``), see `parse_case`.
Text = Annotated[Annotated[str, Field(max_length=TEXT_MAX)] | None, BeforeValidator(_strip)]
Name = Annotated[Annotated[str, Field(max_length=NAME_MAX)] | None, BeforeValidator(_strip)]
Address = Annotated[Annotated[str, Field(max_length=ADDRESS_MAX)] | None, BeforeValidator(_strip)]
Reference = Annotated[
    Annotated[str, Field(max_length=REFERENCE_MAX)] | None, BeforeValidator(_strip)
]
Code = Annotated[Annotated[str, Field(max_length=CODE_MAX)] | None, BeforeValidator(_code)]
# A resident ID number (GB 11643) or, for a parent who is not a mainland resident, a passport
# or permit number: its check needs the residency, so pre-review judges it
# (`onestop.reference.idnumber`); here only its length.
IdNumber = Annotated[Annotated[str, Field(max_length=ID_NUMBER_MAX)] | None, BeforeValidator(_code)]
Time = Annotated[datetime | None, BeforeValidator(_time)]
Day = Annotated[date | None, BeforeValidator(_date)]
Phone = Annotated[str | None, BeforeValidator(_phone)]
DivisionCode = Annotated[str | None, BeforeValidator(_division)]


class _Section(BaseModel):
    """A part of the document: unknown keys are kept out of the way, never an error."""

    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)


class Applicant(_Section):
    role: Literal["mother", "father", "grandparent", "trustee"] | None = None
    name: Name = None
    id_number: IdNumber = None
    phone: Phone = None


class Newborn(_Section):
    name: Name = None
    sex: Annotated[Literal["1", "2"] | None, BeforeValidator(lambda v: _strip(_as_text(v)))] = None
    born_at: Time = None
    # Optional: the day the baby left hospital (出院日期); the newborn home visit is due
    # within 7 days after it (ADR 0040), counted from birth when not given.
    discharged_on: Day = None
    gestational_weeks: Annotated[int, Field(ge=20, le=45)] | None = None
    weight_g: Annotated[int, Field(ge=300, le=8000)] | None = None
    length_cm: Annotated[float, Field(ge=20, le=70)] | None = None
    hospital: Code = None
    in_hospital: bool | None = None
    record_number: Reference = None
    birth_attendant: Name = None
    blood_type: Annotated[
        Literal["A", "B", "O", "AB", "unknown"] | None,
        BeforeValidator(
            lambda v: _strip(v.upper()) if isinstance(v, str) and v != "unknown" else v
        ),
    ] = None
    ethnicity_follows: ParentSide | None = None
    native_place_follows: ParentSide | None = None


class Parent(_Section):
    known: Annotated[bool, BeforeValidator(lambda v: True if v is None else v)] = True
    name: Name = None
    id_number: IdNumber = None
    residency: Residency | None = None
    ethnicity: Code = None
    phone: Phone = None
    hukou_division: DivisionCode = None
    hukou_address: Address = None
    residence_address: Address = None
    employer: Address = None
    marriage_certificate: Reference = None
    active_serviceman: bool | None = None

    @property
    def is_present(self) -> bool:
        """Whether the document says anything about this parent's identity."""
        return self.known and bool(self.name or self.id_number)


class BirthRegistration(_Section):
    follows: ParentSide | None = None
    police_station: Code = None
    hukou_type: (
        Literal["family", "community_collective", "student_collective", "unit_collective"] | None
    ) = None
    householder_name: Name = None
    householder_id_number: IdNumber = None
    relation_to_householder: Text = None
    address: Address = None
    bmc_number: Reference = None


class MedicalInsurance(_Section):
    division: DivisionCode = None
    year: Literal["current", "next"] | None = None
    payment_channel: (
        Literal["wechat", "city_service", "alipay", "bank_card", "hospital_scan"] | None
    ) = None


class Maternity(_Section):
    plurality: Annotated[int, Field(ge=1, le=9)] | None = None
    delivery_mode: Literal["natural", "difficult", "cesarean"] | None = None
    payout: Literal["ssc", "bank"] | None = None
    bank: Code = None
    account_number: Annotated[
        Annotated[str, Field(pattern=r"^\d{8,30}$")] | None,
        BeforeValidator(lambda v: _strip(_as_text(v))),
    ] = None


class SocialSecurityCard(_Section):
    bank: Code = None
    branch: Address = None
    applied_elsewhere: bool | None = None


class DeliveryChoice(_Section):
    method: Literal["pickup", "mail"] | None = None
    by: ParentSide | None = None


class PostalAddress(_Section):
    recipient: Name = None
    phone: Phone = None
    address: Address = None


class Delivery(_Section):
    birth_certificate: DeliveryChoice | None = None
    vaccination_certificate: DeliveryChoice | None = None
    household_register: DeliveryChoice | None = None
    social_security_card: DeliveryChoice | None = None
    address: PostalAddress | None = None

    def choice(self, result: str) -> DeliveryChoice | None:
        value = getattr(self, result, None)
        return value if isinstance(value, DeliveryChoice) else None


class Trustee(_Section):
    name: Name = None
    id_number: IdNumber = None
    relation: Code = None


class Authorization(_Section):
    trustee: Trustee | None = None
    items: Annotated[list[Code], Field(max_length=ITEMS_MAX)] | None = None
    valid_from: Day = None
    valid_to: Day = None
    signed_by_mother: bool | None = None


class EthnicityConfirmation(_Section):
    ethnicity: Code = None
    signed_by_mother: bool | None = None
    signed_by_father: bool | None = None


class Counter(_Section):
    """Where a counter case was entered (application.md: "A counter case also records the
    clerk and the counter (hospital or service center)")."""

    kind: Code = None
    code: Code = None
    clerk: Code = None


class CaseDocument(_Section):
    """One unified application (一表申报) for one birth event."""

    region: Annotated[str, Field(max_length=CODE_MAX)]
    channel: Literal["online", "counter"] | None = None
    counter: Counter | None = None
    submitted_at: Time = None
    applicant: Applicant | None = None
    items: Annotated[list[Code], Field(max_length=ITEMS_MAX)] = Field(default_factory=list)
    marital_status: Literal["married", "unmarried", "divorced", "single"] | None = None
    newborns: Annotated[list[Newborn], Field(max_length=NEWBORNS_MAX)] = Field(default_factory=list)
    mother: Parent | None = None
    father: Parent | None = None
    birth_registration: BirthRegistration | None = None
    medical_insurance: MedicalInsurance | None = None
    maternity: Maternity | None = None
    social_security_card: SocialSecurityCard | None = None
    delivery: Delivery | None = None
    authorization: Authorization | None = None
    ethnicity_confirmation: EthnicityConfirmation | None = None
    materials: Annotated[list[Code], Field(max_length=MATERIALS_MAX)] = Field(default_factory=list)

    def chosen_items(self) -> tuple[str, ...]:
        """The chosen item codes, in document order, without blanks or repeats."""
        return tuple(dict.fromkeys(code for code in self.items if code))

    def provided_materials(self) -> frozenset[str]:
        return frozenset(code for code in self.materials if code)

    def parent(self, side: str) -> Parent | None:
        if side == "mother":
            return self.mother
        if side == "father":
            return self.father
        return None


@dataclass(frozen=True)
class FieldProblem:
    """One malformed field: its path (``newborns[0].born_at``), a machine code, Chinese text."""

    path: str
    problem: str
    message: str


@dataclass(frozen=True)
class ParsedCase:
    document: CaseDocument
    problems: tuple[FieldProblem, ...]
    # Fields the document has and the product does not know: dropped, and told
    # (``unknown_field``), never an error (application.md: "extend freely"; ADR 0016).
    warnings: tuple[FieldProblem, ...] = ()
    # The decoded document without those fields (`without_unknown_fields`): what a
    # submission stores, taken from here rather than stripped a second time.
    known: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


# Chinese labels for the fields, keyed by path with list indexes removed; each marked for
# the translation catalogue where it is declared (`onestop.core.i18n.gettext_noop`), so every
# label is a literal (makemessages cannot read a label built at import time).
FIELD_LABELS: dict[str, str] = {
    "region": gettext_noop("地区"),
    "channel": gettext_noop("申请渠道"),
    "counter": gettext_noop("受理窗口"),
    "counter.kind": gettext_noop("受理窗口类型"),
    "counter.code": gettext_noop("受理窗口代码"),
    "counter.clerk": gettext_noop("窗口经办人"),
    "submitted_at": gettext_noop("提交时间"),
    "applicant": gettext_noop("申请人信息"),
    "applicant.role": gettext_noop("申请人身份"),
    "applicant.name": gettext_noop("申请人姓名"),
    "applicant.id_number": gettext_noop("申请人身份证号码"),
    "applicant.phone": gettext_noop("申请人联系电话"),
    "items": gettext_noop("办理事项"),
    "marital_status": gettext_noop("婚姻状况"),
    "newborns": gettext_noop("新生儿信息"),
    "newborns.name": gettext_noop("新生儿姓名"),
    "newborns.sex": gettext_noop("新生儿性别"),
    "newborns.born_at": gettext_noop("新生儿出生时间"),
    "newborns.discharged_on": gettext_noop("出院日期"),
    "newborns.gestational_weeks": gettext_noop("出生孕周"),
    "newborns.weight_g": gettext_noop("出生体重（克）"),
    "newborns.length_cm": gettext_noop("出生身长（厘米）"),
    "newborns.hospital": gettext_noop("出生医疗机构"),
    "newborns.in_hospital": gettext_noop("是否住院分娩"),
    "newborns.record_number": gettext_noop("住院病历号"),
    "newborns.birth_attendant": gettext_noop("接生人员"),
    "newborns.blood_type": gettext_noop("血型"),
    "newborns.ethnicity_follows": gettext_noop("新生儿民族随父/随母"),
    "newborns.native_place_follows": gettext_noop("新生儿籍贯随父/随母"),
    "birth_registration": gettext_noop("出生登记信息"),
    "birth_registration.follows": gettext_noop("户口随父/随母申报"),
    "birth_registration.police_station": gettext_noop("入户派出所"),
    "birth_registration.hukou_type": gettext_noop("落户户口类型"),
    "birth_registration.householder_name": gettext_noop("户主姓名"),
    "birth_registration.householder_id_number": gettext_noop("户主身份证号码"),
    "birth_registration.relation_to_householder": gettext_noop("新生儿与户主关系"),
    "birth_registration.address": gettext_noop("落户地址"),
    "birth_registration.bmc_number": gettext_noop("出生医学证明编号"),
    "medical_insurance": gettext_noop("居民医保参保信息"),
    "medical_insurance.division": gettext_noop("医保参保地"),
    "medical_insurance.year": gettext_noop("参保年度"),
    "medical_insurance.payment_channel": gettext_noop("医保缴费方式"),
    "maternity": gettext_noop("生育医疗费用报销信息"),
    "maternity.plurality": gettext_noop("胎数"),
    "maternity.delivery_mode": gettext_noop("分娩方式"),
    "maternity.payout": gettext_noop("生育医疗费用发放方式"),
    "maternity.bank": gettext_noop("开户行"),
    "maternity.account_number": gettext_noop("银行账号"),
    "social_security_card": gettext_noop("社会保障卡信息"),
    "social_security_card.bank": gettext_noop("社会保障卡办理银行"),
    "social_security_card.branch": gettext_noop("领卡网点"),
    "social_security_card.applied_elsewhere": gettext_noop("是否已在其他渠道申领社会保障卡"),
    "delivery": gettext_noop("送达方式"),
    "delivery.address": gettext_noop("邮寄地址"),
    "delivery.address.recipient": gettext_noop("收件人"),
    "delivery.address.phone": gettext_noop("收件人联系电话"),
    "delivery.address.address": gettext_noop("邮寄地址"),
    "authorization": gettext_noop("授权委托书"),
    "authorization.trustee": gettext_noop("受托人"),
    "authorization.trustee.name": gettext_noop("受托人姓名"),
    "authorization.trustee.id_number": gettext_noop("受托人身份证号码"),
    "authorization.trustee.relation": gettext_noop("受托人与婴儿关系"),
    "authorization.items": gettext_noop("委托事项"),
    "authorization.valid_from": gettext_noop("委托期限起始日"),
    "authorization.valid_to": gettext_noop("委托期限截止日"),
    "authorization.signed_by_mother": gettext_noop("委托人（母亲）签名"),
    "ethnicity_confirmation": gettext_noop("确认民族成份申请书"),
    "ethnicity_confirmation.ethnicity": gettext_noop("确认的新生儿民族"),
    "ethnicity_confirmation.signed_by_mother": gettext_noop("母亲签名"),
    "ethnicity_confirmation.signed_by_father": gettext_noop("父亲签名"),
    "materials": gettext_noop("申请材料"),
    "mother": gettext_noop("母亲信息"),
    "mother.known": gettext_noop("母亲身份是否明确"),
    "mother.name": gettext_noop("母亲姓名"),
    "mother.id_number": gettext_noop("母亲身份证号码"),
    "mother.residency": gettext_noop("母亲户籍/国籍类别"),
    "mother.ethnicity": gettext_noop("母亲民族"),
    "mother.phone": gettext_noop("母亲联系电话"),
    "mother.hukou_division": gettext_noop("母亲户籍所在地区划代码"),
    "mother.hukou_address": gettext_noop("母亲户籍地址"),
    "mother.residence_address": gettext_noop("母亲居住地址"),
    "mother.employer": gettext_noop("母亲工作单位"),
    "mother.marriage_certificate": gettext_noop("母亲结婚证字号"),
    "mother.active_serviceman": gettext_noop("母亲是否现役军人"),
    "father": gettext_noop("父亲信息"),
    "father.known": gettext_noop("父亲身份是否明确"),
    "father.name": gettext_noop("父亲姓名"),
    "father.id_number": gettext_noop("父亲身份证号码"),
    "father.residency": gettext_noop("父亲户籍/国籍类别"),
    "father.ethnicity": gettext_noop("父亲民族"),
    "father.phone": gettext_noop("父亲联系电话"),
    "father.hukou_division": gettext_noop("父亲户籍所在地区划代码"),
    "father.hukou_address": gettext_noop("父亲户籍地址"),
    "father.residence_address": gettext_noop("父亲居住地址"),
    "father.employer": gettext_noop("父亲工作单位"),
    "father.marriage_certificate": gettext_noop("父亲结婚证字号"),
    "father.active_serviceman": gettext_noop("父亲是否现役军人"),
    "delivery.birth_certificate": gettext_noop("出生医学证明送达方式"),
    "delivery.birth_certificate.method": gettext_noop("出生医学证明送达方式"),
    "delivery.birth_certificate.by": gettext_noop("出生医学证明领取人"),
    "delivery.vaccination_certificate": gettext_noop("预防接种证送达方式"),
    "delivery.vaccination_certificate.method": gettext_noop("预防接种证送达方式"),
    "delivery.vaccination_certificate.by": gettext_noop("预防接种证领取人"),
    "delivery.household_register": gettext_noop("户口簿送达方式"),
    "delivery.household_register.method": gettext_noop("户口簿送达方式"),
    "delivery.household_register.by": gettext_noop("户口簿领取人"),
    "delivery.social_security_card": gettext_noop("社会保障卡送达方式"),
    "delivery.social_security_card.method": gettext_noop("社会保障卡送达方式"),
    "delivery.social_security_card.by": gettext_noop("社会保障卡领取人"),
}


def format_path(loc: tuple[int | str, ...]) -> str:
    """``("newborns", 0, "born_at")`` → ``newborns[0].born_at``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def field_label(path: str) -> str:
    """The Chinese label of a field path; falls back to the path itself."""
    key = re.sub(r"\[\d+\]", "", path)
    return FIELD_LABELS.get(key, path)


def _problem_text(error: Any) -> tuple[str, str]:
    kind = str(error.get("type", "invalid"))
    ctx = error.get("ctx") or {}
    if kind == "value_error":
        reason = str(ctx.get("error", error.get("msg", "")))
        return "invalid_format", reason
    if kind == "literal_error":
        allowed = str(ctx.get("expected", "")).replace(" or ", ", ").replace("'", "")
        return "not_allowed", f"取值无效，允许的值为：{allowed}"
    if kind in {"string_type", "string_unicode"}:
        return "wrong_type", "应为文本"
    if kind in {"int_type", "int_parsing", "int_from_float"}:
        return "wrong_type", "应为整数"
    if kind in {"float_type", "float_parsing"}:
        return "wrong_type", "应为数字"
    if kind in {"bool_type", "bool_parsing"}:
        return "wrong_type", "应为是/否（true 或 false）"
    if kind in {"list_type", "tuple_type"}:
        return "wrong_type", "应为列表"
    if kind in {"model_type", "dict_type", "model_attributes_type"}:
        return "wrong_type", "应为对象（键值结构）"
    if kind in {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}:
        return "out_of_range", "超出合理范围"
    if kind == "string_pattern_mismatch":
        return "invalid_format", "格式不正确"
    if kind == "missing":
        return "required", "必须填写"
    return "invalid_format", "格式不正确"


_DROPPED = object()


def _drop(data: Any, loc: tuple[int | str, ...]) -> bool:
    """Remove the value at ``loc``; list elements are marked and filtered afterwards."""
    if not loc:
        return False
    parent = data
    for part in loc[:-1]:
        in_dict = isinstance(parent, dict) and isinstance(part, str) and part in parent
        in_list = isinstance(parent, list) and isinstance(part, int) and 0 <= part < len(parent)
        if in_dict or in_list:
            parent = parent[part]
        else:
            return False
    last = loc[-1]
    if isinstance(parent, dict) and isinstance(last, str) and last in parent:
        del parent[last]
        return True
    if isinstance(parent, list) and isinstance(last, int) and 0 <= last < len(parent):
        if parent[last] is _DROPPED:
            return False
        parent[last] = _DROPPED
        return True
    return False


def _purge(data: Any) -> Any:
    if isinstance(data, dict):
        return {key: _purge(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_purge(value) for value in data if value is not _DROPPED]
    return data


def _copy_json(value: Any, depth: int = 0) -> Any:
    """A deep copy of decoded JSON; anything nested absurdly deep is cut off."""
    if depth > 40:
        return None
    if isinstance(value, dict):
        return {str(key): _copy_json(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy_json(item, depth + 1) for item in value]
    return value


def _refuse_beyond_limits(errors: list[Any]) -> None:
    """A text or list longer than its type allows refuses the whole document (ADR 0016)."""
    for error in errors:
        kind = error.get("type")
        if kind not in ("string_too_long", "too_long"):
            continue
        path = format_path(tuple(error["loc"]))
        ctx = error.get("ctx") or {}
        limit = ctx.get("max_length")
        value = error.get("input")
        size = len(value) if isinstance(value, str | list | tuple) else ctx.get("actual_length")
        label = printable(field_label(path))
        if kind == "string_too_long":
            raise DocumentRefused(
                "field_too_long", f"{label}过长：最多{limit}个字符，当前{size}个", path
            )
        raise DocumentRefused(
            "list_too_long", f"{label}的条目过多：最多{limit}条，当前{size}条", path
        )


def _known_model(annotation: Any) -> type[BaseModel] | None:
    """The section model inside a field's annotation (``Parent | None``, ``list[Newborn]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _known_model(arg)
        if found is not None:
            return found
    return None


@functools.cache
def _field_section(model: type[BaseModel], key: str) -> tuple[bool, type[BaseModel] | None]:
    """Whether ``model`` knows the field ``key``, and the section model inside it (worked
    out once per model and field: this runs for every key of every submitted document)."""
    field = model.model_fields.get(key)
    if field is None:
        return False, None
    return True, _known_model(field.annotation)


def _walk_known(
    model: type[BaseModel], data: dict[str, Any], path: str, unknown: list[str]
) -> dict[str, Any]:
    """``data`` without the keys ``model`` does not know (their paths go to ``unknown``)."""
    kept: dict[str, Any] = {}
    for key, value in data.items():
        here = f"{path}.{key}" if path else str(key)
        known, inner = _field_section(model, key) if isinstance(key, str) else (False, None)
        if not known:
            unknown.append(here)
            continue
        if inner is not None and isinstance(value, dict):
            value = _walk_known(inner, value, here, unknown)
        elif inner is not None and isinstance(value, list):
            value = [
                _walk_known(inner, v, f"{here}[{i}]", unknown) if isinstance(v, dict) else v
                for i, v in enumerate(value)
            ]
        kept[key] = value
    return kept


def without_unknown_fields(raw: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A copy of a decoded case document with only the fields the product knows, and the
    paths of those it left out. What is stored is this copy (ADR 0016)."""
    unknown: list[str] = []
    return _walk_known(CaseDocument, raw, "", unknown), unknown


def _max_length(annotation: Any) -> int | None:
    for meta in getattr(annotation, "__metadata__", ()):
        for inner in getattr(meta, "metadata", ()):
            limit = getattr(inner, "max_length", None)
            if isinstance(limit, int):
                return limit
    for arg in get_args(annotation):
        found = _max_length(arg)
        if found is not None:
            return found
    return None


def text_limit(path: str) -> int | None:
    """The most characters the text field at ``path`` (``mother.name``, ``newborns.0.name``)
    may hold, from its one type definition, so forms can say it where it is typed."""
    model: type[BaseModel] | None = CaseDocument
    annotation: Any = None
    for part in re.findall(r"[^.\[\]]+", path):
        if part.isdigit():
            continue
        if model is None or part not in model.model_fields:
            return None
        annotation = model.model_fields[part].annotation
        model = _known_model(annotation)
    return None if model is not None or annotation is None else _max_length(annotation)


MAX_WARNINGS = 20


def _unknown_warnings(paths: list[str]) -> tuple[FieldProblem, ...]:
    shown = [
        FieldProblem(
            printable(path, 120),
            "unknown_field",
            f"未识别的字段“{printable(path, 120)}”已忽略（不会保存）",
        )
        for path in paths[:MAX_WARNINGS]
    ]
    if len(paths) > MAX_WARNINGS:
        shown.append(
            FieldProblem(
                "",
                "unknown_field",
                f"另有{len(paths) - MAX_WARNINGS}个未识别的字段已忽略（不会保存）",
            )
        )
    return tuple(shown)


def parse_case(raw: object, *, limits_checked: bool = False) -> ParsedCase:
    """Read a decoded JSON value as a case document, collecting every field problem.

    Raises `UnreadableDocument` when ``raw`` is not an object or has no region code, and
    its subclass `DocumentRefused` when the document passes a size limit or holds text that
    cannot be stored (NUL, lone surrogates): see ``limits.py``.

    ``limits_checked``: the caller has passed ``raw`` through ``check_document`` already
    (a submission checks the document as sent before anything reads it): not walked again
    (session 23, h-tidyapi: every submission walked it twice).
    """
    if not isinstance(raw, dict):
        raise UnreadableDocument("案件文档应为 JSON 对象（{…}）")
    if not limits_checked:
        check_document(raw, label=field_label)
    region = raw.get("region")
    if not isinstance(region, str) or not region.strip():
        raise UnreadableDocument("案件文档缺少地区代码 region")
    known, unknown = without_unknown_fields(raw)
    data = _copy_json(known)
    data["region"] = region.strip()
    problems: list[FieldProblem] = []
    for _attempt in range(50):
        try:
            document = CaseDocument.model_validate(data)
        except ValidationError as exc:
            errors = exc.errors()
            _refuse_beyond_limits(errors)
            progressed = False
            for error in errors:
                loc = tuple(error["loc"])
                path = format_path(loc)
                problem, why = _problem_text(error)
                problems.append(FieldProblem(path, problem, f"{field_label(path)}：{why}"))
                progressed = _drop(data, loc) or progressed
            data = _purge(data)
            if not progressed:
                raise UnreadableDocument("案件文档结构无法识别") from None
            continue
        return ParsedCase(document, tuple(problems), _unknown_warnings(unknown), known)
    raise UnreadableDocument("案件文档错误过多，无法识别")


def parse_case_json(text: str | bytes) -> ParsedCase:
    """Decode JSON text and parse it; undecodable text raises `UnreadableDocument`, text
    longer than any document may be `DocumentRefused` before it is decoded."""
    if len(text) > MAX_BODY_BYTES:
        raise DocumentRefused("document_too_large", f"申请表过大：最多 {MAX_BODY_BYTES // 2048} KB")
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise UnreadableDocument(f"不是有效的 JSON：{exc}") from None
    return parse_case(raw)
