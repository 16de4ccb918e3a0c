"""Translating the Chinese labels of the Django-free domain modules when they are shown.

The coded values' labels (`onestop.cases.domain.labels`) and the case document's field
labels (`FIELD_LABELS`, `onestop.cases.domain.document`) are marked for the catalogue where
they are declared (`onestop.core.i18n.gettext_noop`); the Django side translates a label
when it shows it: ``gettext(label)``, or `choices` for a form's choices.

The item and material names (`onestop.eligibility.reasons`) and the result fields
(`onestop.workflow.domain.results`) are still listed here with `gettext_noop`, until they
move into the catalogue of items. `onestop/cases/tests/test_label_i18n.py` checks that
every label of those modules is in the translation catalogue.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext, gettext_noop

# The items (onestop.eligibility.reasons.ITEM_NAMES).
ITEM_NAMES: tuple[str, ...] = (
    gettext_noop("《出生医学证明》办理（首签）"),
    gettext_noop("预防接种证办理"),
    gettext_noop("出生登记（户口登记）"),
    gettext_noop("城乡居民基本医疗保险参保登记"),
    gettext_noop("城乡居民医保缴费"),
    gettext_noop("社会保障卡申领"),
    gettext_noop("生育医疗费用报销"),
    gettext_noop("科学育儿指导服务登记"),
)

# The materials (onestop.eligibility.reasons.MATERIAL_NAMES).
MATERIAL_NAMES: tuple[str, ...] = (
    gettext_noop("母亲居民身份证"),
    gettext_noop("父亲居民身份证"),
    gettext_noop("居民户口簿（首页、户主页、本人页）"),
    gettext_noop("结婚证（首页、主页）"),
    gettext_noop("母子健康手册“产时记录”页"),
    gettext_noop("新生儿出生医学记录"),
    gettext_noop("授权委托书"),
    gettext_noop("受托人居民身份证"),
    gettext_noop("确认民族成份申请书"),
    gettext_noop("《出生医学证明》"),
)

# What a department records on completion (RESULT_FIELDS).
RESULT_LABELS: tuple[str, ...] = (
    gettext_noop("出生医学证明编号"),
    gettext_noop("预防接种证编号"),
    gettext_noop("户口登记（户籍页）编号"),
    gettext_noop("新生儿公民身份号码"),
    gettext_noop("医保参保编号"),
    gettext_noop("缴费凭证号"),
    gettext_noop("缴费金额（元）"),
    gettext_noop("社会保障卡卡号"),
    gettext_noop("领卡地点"),
    gettext_noop("报销金额（元）"),
    gettext_noop("新生儿访视安排"),
)


def choices(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """``(code, Chinese label)`` pairs with the labels in the active language."""
    return [(code, gettext(label)) for code, label in pairs]
