"""The Chinese labels of the Django-free domain modules, listed for translation.

`onestop.cases.domain.labels`, `FIELD_LABELS` (`onestop.cases.domain.document`), the item
and material names (`onestop.eligibility.reasons`) and the result fields
(`onestop.workflow.domain.results`) are pure data and import no Django. Their labels are
written out here with `gettext_noop`, so makemessages collects them into the catalogue, and
the Django side translates a label when it shows it: ``gettext(label)``, or `choices` for
a form's choices. `onestop/cases/tests/test_label_i18n.py` keeps this list in step with
those modules.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext, gettext_noop

# The coded values' labels (onestop.cases.domain.labels).
CHOICE_LABELS: tuple[str, ...] = (
    gettext_noop("男"),
    gettext_noop("女"),
    gettext_noop("父亲"),
    gettext_noop("母亲"),
    gettext_noop("祖父母/外祖父母"),
    gettext_noop("受托人"),
    gettext_noop("已婚"),
    gettext_noop("未婚"),
    gettext_noop("离异"),
    gettext_noop("单亲"),
    gettext_noop("内地居民"),
    gettext_noop("香港居民"),
    gettext_noop("澳门居民"),
    gettext_noop("台湾居民"),
    gettext_noop("华侨"),
    gettext_noop("外国人"),
    gettext_noop("家庭户"),
    gettext_noop("社区集体户"),
    gettext_noop("学生集体户"),
    gettext_noop("单位集体户"),
    gettext_noop("当年"),
    gettext_noop("次年"),
    gettext_noop("微信"),
    gettext_noop("城市服务"),
    gettext_noop("支付宝"),
    gettext_noop("银行卡"),
    gettext_noop("医院扫码"),
    gettext_noop("顺产"),
    gettext_noop("难产"),
    gettext_noop("剖宫产"),
    gettext_noop("社会保障卡"),
    gettext_noop("中国银行"),
    gettext_noop("工商银行"),
    gettext_noop("建设银行"),
    gettext_noop("农业银行"),
    gettext_noop("邮储银行"),
    gettext_noop("农商银行"),
    gettext_noop("其他"),
    gettext_noop("自取"),
    gettext_noop("邮寄"),
)

# The case document's field labels (FIELD_LABELS).
FIELD_LABELS: tuple[str, ...] = (
    gettext_noop("地区"),
    gettext_noop("申请渠道"),
    gettext_noop("受理窗口"),
    gettext_noop("受理窗口类型"),
    gettext_noop("受理窗口代码"),
    gettext_noop("窗口经办人"),
    gettext_noop("提交时间"),
    gettext_noop("申请人信息"),
    gettext_noop("申请人身份"),
    gettext_noop("申请人姓名"),
    gettext_noop("申请人身份证号码"),
    gettext_noop("申请人联系电话"),
    gettext_noop("办理事项"),
    gettext_noop("婚姻状况"),
    gettext_noop("新生儿信息"),
    gettext_noop("新生儿姓名"),
    gettext_noop("新生儿性别"),
    gettext_noop("新生儿出生时间"),
    gettext_noop("出生孕周"),
    gettext_noop("出生体重（克）"),
    gettext_noop("出生身长（厘米）"),
    gettext_noop("出生医疗机构"),
    gettext_noop("是否住院分娩"),
    gettext_noop("住院病历号"),
    gettext_noop("接生人员"),
    gettext_noop("血型"),
    gettext_noop("新生儿民族随父/随母"),
    gettext_noop("新生儿籍贯随父/随母"),
    gettext_noop("出生登记信息"),
    gettext_noop("户口随父/随母申报"),
    gettext_noop("入户派出所"),
    gettext_noop("落户户口类型"),
    gettext_noop("户主姓名"),
    gettext_noop("户主身份证号码"),
    gettext_noop("新生儿与户主关系"),
    gettext_noop("落户地址"),
    gettext_noop("出生医学证明编号"),
    gettext_noop("居民医保参保信息"),
    gettext_noop("医保参保地"),
    gettext_noop("参保年度"),
    gettext_noop("医保缴费方式"),
    gettext_noop("生育医疗费用报销信息"),
    gettext_noop("胎数"),
    gettext_noop("分娩方式"),
    gettext_noop("生育医疗费用发放方式"),
    gettext_noop("开户行"),
    gettext_noop("银行账号"),
    gettext_noop("社会保障卡信息"),
    gettext_noop("社会保障卡办理银行"),
    gettext_noop("领卡网点"),
    gettext_noop("是否已在其他渠道申领社会保障卡"),
    gettext_noop("送达方式"),
    gettext_noop("邮寄地址"),
    gettext_noop("收件人"),
    gettext_noop("收件人联系电话"),
    gettext_noop("授权委托书"),
    gettext_noop("受托人"),
    gettext_noop("受托人姓名"),
    gettext_noop("受托人身份证号码"),
    gettext_noop("受托人与婴儿关系"),
    gettext_noop("委托事项"),
    gettext_noop("委托期限起始日"),
    gettext_noop("委托期限截止日"),
    gettext_noop("委托人（母亲）签名"),
    gettext_noop("确认民族成份申请书"),
    gettext_noop("确认的新生儿民族"),
    gettext_noop("母亲签名"),
    gettext_noop("父亲签名"),
    gettext_noop("申请材料"),
    gettext_noop("母亲信息"),
    gettext_noop("母亲身份是否明确"),
    gettext_noop("母亲姓名"),
    gettext_noop("母亲身份证号码"),
    gettext_noop("母亲户籍/国籍类别"),
    gettext_noop("母亲民族"),
    gettext_noop("母亲联系电话"),
    gettext_noop("母亲户籍所在地区划代码"),
    gettext_noop("母亲户籍地址"),
    gettext_noop("母亲居住地址"),
    gettext_noop("母亲工作单位"),
    gettext_noop("母亲结婚证字号"),
    gettext_noop("母亲是否现役军人"),
    gettext_noop("父亲信息"),
    gettext_noop("父亲身份是否明确"),
    gettext_noop("父亲姓名"),
    gettext_noop("父亲身份证号码"),
    gettext_noop("父亲户籍/国籍类别"),
    gettext_noop("父亲民族"),
    gettext_noop("父亲联系电话"),
    gettext_noop("父亲户籍所在地区划代码"),
    gettext_noop("父亲户籍地址"),
    gettext_noop("父亲居住地址"),
    gettext_noop("父亲工作单位"),
    gettext_noop("父亲结婚证字号"),
    gettext_noop("父亲是否现役军人"),
    gettext_noop("出生医学证明送达方式"),
    gettext_noop("出生医学证明领取人"),
    gettext_noop("预防接种证送达方式"),
    gettext_noop("预防接种证领取人"),
    gettext_noop("户口簿送达方式"),
    gettext_noop("户口簿领取人"),
    gettext_noop("社会保障卡送达方式"),
    gettext_noop("社会保障卡领取人"),
)

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

# The words `labelled_rows` and `display` put around the labels.
GLUE: tuple[str, ...] = (
    gettext_noop("是"),
    gettext_noop("否"),
    gettext_noop("、"),
    gettext_noop("第{n}名"),
)


def choices(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """``(code, Chinese label)`` pairs with the labels in the active language."""
    return [(code, gettext(label)) for code, label in pairs]
