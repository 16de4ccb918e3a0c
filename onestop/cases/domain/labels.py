"""Chinese labels for the coded values of the case document (application.md), shared by
the forms, the printed form and the department task view. Pure data.

The labels are Chinese, marked with `gettext_noop` where they are declared so that
makemessages puts them in the translation catalogue; the Django side translates them, e.g.
by passing ``translate=gettext`` to `labelled_rows`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from onestop.cases.domain.document import FIELD_LABELS
from onestop.core.i18n import gettext_noop

SEX = (("1", gettext_noop("男")), ("2", gettext_noop("女")))
SIDES = (("father", gettext_noop("父亲")), ("mother", gettext_noop("母亲")))
ROLES = (
    ("mother", gettext_noop("母亲")),
    ("father", gettext_noop("父亲")),
    ("grandparent", gettext_noop("祖父母/外祖父母")),
    ("trustee", gettext_noop("受托人")),
)
MARITAL = (
    ("married", gettext_noop("已婚")),
    ("unmarried", gettext_noop("未婚")),
    ("divorced", gettext_noop("离异")),
    ("single", gettext_noop("单亲")),
)
RESIDENCY = (
    ("mainland", gettext_noop("内地居民")),
    ("hong_kong", gettext_noop("香港居民")),
    ("macao", gettext_noop("澳门居民")),
    ("taiwan", gettext_noop("台湾居民")),
    ("overseas_chinese", gettext_noop("华侨")),
    ("foreign", gettext_noop("外国人")),
)
HUKOU_TYPES = (
    ("family", gettext_noop("家庭户")),
    ("community_collective", gettext_noop("社区集体户")),
    ("student_collective", gettext_noop("学生集体户")),
    ("unit_collective", gettext_noop("单位集体户")),
)
INSURANCE_YEAR = (("current", gettext_noop("当年")), ("next", gettext_noop("次年")))
PAYMENT = (
    ("wechat", gettext_noop("微信")),
    ("city_service", gettext_noop("城市服务")),
    ("alipay", gettext_noop("支付宝")),
    ("bank_card", gettext_noop("银行卡")),
    ("hospital_scan", gettext_noop("医院扫码")),
)
DELIVERY_MODE = (
    ("natural", gettext_noop("顺产")),
    ("difficult", gettext_noop("难产")),
    ("cesarean", gettext_noop("剖宫产")),
)
PAYOUT = (("ssc", gettext_noop("社会保障卡")), ("bank", gettext_noop("银行卡")))
BANKS = (
    ("boc", gettext_noop("中国银行")),
    ("icbc", gettext_noop("工商银行")),
    ("ccb", gettext_noop("建设银行")),
    ("abc", gettext_noop("农业银行")),
    ("psbc", gettext_noop("邮储银行")),
    ("rural_commercial", gettext_noop("农商银行")),
    ("other", gettext_noop("其他")),
)
METHODS = (("pickup", gettext_noop("自取")), ("mail", gettext_noop("邮寄")))

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


def labelled_rows(
    sections: Mapping[str, Any], *, translate: Callable[[str], str] = _same
) -> list[tuple[str, str]]:
    """``{"mother": {"name": "黄丽"}}`` → ``[("母亲姓名", "黄丽")]``, in document order.

    ``translate`` maps each Chinese label (and the words put around them) to the language
    shown; by default they stay Chinese."""
    rows: list[tuple[str, str]] = []

    def walk(value: Any, path: str, prefix: str) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(inner, f"{path}.{key}" if path else str(key), prefix)
            return
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for index, inner in enumerate(value):
                nth = translate(gettext_noop("第{n}名")).format(n=index + 1)
                walk(inner, path, nth if len(value) > 1 else prefix)
            return
        if value in (None, "", []):
            return
        label = translate(FIELD_LABELS.get(path, path))
        rows.append((prefix + label, display(path, value, translate=translate)))

    walk(dict(sections), "", "")
    return rows


def display(path: str, value: Any, *, translate: Callable[[str], str] = _same) -> str:
    if isinstance(value, bool):
        return translate(gettext_noop("是")) if value else translate(gettext_noop("否"))
    if isinstance(value, list):
        return translate(gettext_noop("、")).join(
            display(path, v, translate=translate) for v in value
        )
    labels = VALUE_LABELS.get(path, {})
    text = str(value)
    return translate(labels[text]) if text in labels else text
