"""Chinese labels for the coded values of the case document (application.md), shared by
the forms, the printed form and the department task view. Pure data.

The labels are Chinese; the Django side translates them (the literals are listed for the
catalogue in `onestop.cases.label_i18n`), e.g. by passing ``translate=gettext`` to
`labelled_rows`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from onestop.cases.domain.document import FIELD_LABELS

SEX = (("1", "男"), ("2", "女"))
SIDES = (("father", "父亲"), ("mother", "母亲"))
ROLES = (
    ("mother", "母亲"),
    ("father", "父亲"),
    ("grandparent", "祖父母/外祖父母"),
    ("trustee", "受托人"),
)
MARITAL = (("married", "已婚"), ("unmarried", "未婚"), ("divorced", "离异"), ("single", "单亲"))
RESIDENCY = (
    ("mainland", "内地居民"),
    ("hong_kong", "香港居民"),
    ("macao", "澳门居民"),
    ("taiwan", "台湾居民"),
    ("overseas_chinese", "华侨"),
    ("foreign", "外国人"),
)
HUKOU_TYPES = (
    ("family", "家庭户"),
    ("community_collective", "社区集体户"),
    ("student_collective", "学生集体户"),
    ("unit_collective", "单位集体户"),
)
INSURANCE_YEAR = (("current", "当年"), ("next", "次年"))
PAYMENT = (
    ("wechat", "微信"),
    ("city_service", "城市服务"),
    ("alipay", "支付宝"),
    ("bank_card", "银行卡"),
    ("hospital_scan", "医院扫码"),
)
DELIVERY_MODE = (("natural", "顺产"), ("difficult", "难产"), ("cesarean", "剖宫产"))
PAYOUT = (("ssc", "社会保障卡"), ("bank", "银行卡"))
BANKS = (
    ("boc", "中国银行"),
    ("icbc", "工商银行"),
    ("ccb", "建设银行"),
    ("abc", "农业银行"),
    ("psbc", "邮储银行"),
    ("rural_commercial", "农商银行"),
    ("other", "其他"),
)
METHODS = (("pickup", "自取"), ("mail", "邮寄"))

VALUE_LABELS: Mapping[str, Mapping[str, str]] = {
    "applicant.role": dict(ROLES),
    "marital_status": dict(MARITAL),
    "mother.residency": dict(RESIDENCY),
    "father.residency": dict(RESIDENCY),
    "newborns.sex": dict(SEX),
    "newborns.ethnicity_follows": dict(SIDES),
    "newborns.native_place_follows": dict(SIDES),
    "birth_registration.follows": dict(SIDES),
    "birth_registration.hukou_type": dict(HUKOU_TYPES),
    "medical_insurance.year": dict(INSURANCE_YEAR),
    "medical_insurance.payment_channel": dict(PAYMENT),
    "maternity.delivery_mode": dict(DELIVERY_MODE),
    "maternity.payout": dict(PAYOUT),
    "maternity.bank": dict(BANKS),
    "social_security_card.bank": dict(BANKS),
    "delivery.birth_certificate.method": dict(METHODS),
    "delivery.vaccination_certificate.method": dict(METHODS),
    "delivery.household_register.method": dict(METHODS),
    "delivery.social_security_card.method": dict(METHODS),
    "delivery.birth_certificate.by": dict(SIDES),
}


def _same(text: str) -> str:
    return text


# ``name_of(path, value)``: the name a reader reads for a coded value the labels here do
# not know (a hospital, a police station, a place, an ethnic group, a date), or None.
NameOf = Callable[[str, Any], str | None]


def _no_name(path: str, value: Any) -> str | None:
    return None


def labelled_rows(
    sections: Mapping[str, Any],
    *,
    translate: Callable[[str], str] = _same,
    name_of: NameOf = _no_name,
) -> list[tuple[str, str]]:
    """``{"mother": {"name": "黄丽"}}`` → ``[("母亲姓名", "黄丽")]``, in document order.

    ``translate`` maps each Chinese label (and the words put around them) to the language
    shown; by default they stay Chinese. ``name_of`` names the values of the reference
    tables (`onestop.unified_form.model.value_name`)."""
    rows: list[tuple[str, str]] = []

    def walk(value: Any, path: str, prefix: str) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(inner, f"{path}.{key}" if path else str(key), prefix)
            return
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for index, inner in enumerate(value):
                nth = translate("第{n}名").format(n=index + 1)
                walk(inner, path, nth if len(value) > 1 else prefix)
            return
        if value in (None, "", []):
            return
        label = translate(FIELD_LABELS.get(path, path))
        named = name_of(path, value)
        shown = named if named is not None else display(path, value, translate=translate)
        rows.append((prefix + label, shown))

    walk(dict(sections), "", "")
    return rows


def display(path: str, value: Any, *, translate: Callable[[str], str] = _same) -> str:
    if isinstance(value, bool):
        return translate("是") if value else translate("否")
    if isinstance(value, list):
        return translate("、").join(display(path, v, translate=translate) for v in value)
    labels = VALUE_LABELS.get(path, {})
    text = str(value)
    return translate(labels[text]) if text in labels else text
