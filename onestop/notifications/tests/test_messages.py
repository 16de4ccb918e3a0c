"""The parents' message texts are templates (issue 9, part 3): each renders to the wording
the inline texts had, on one line, unescaped, with every placeholder filled."""

from __future__ import annotations

from pathlib import Path

import pytest

from onestop.notifications.messages import TEMPLATE_DIR, message_text

TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / TEMPLATE_DIR
N = "QINBEI-20261120-0001"

EXPECTED: dict[str, tuple[dict[str, object], str]] = {
    "case_accepted": (
        {"items": "出生医学证明、户口登记"},
        f"【出生一件事】您的申请已受理，办件编号{N}，办理事项：出生医学证明、户口登记。可登录查看进度。",
    ),
    "case_supplement_needed": (
        {"count": 2},
        f"【出生一件事】您的申请（办件编号{N}）需要补正2项内容，请登录查看一次性告知并补正。",
    ),
    "case_rejected": (
        {},
        f"【出生一件事】您的申请（办件编号{N}）不予受理，请登录查看原因和可办理的原渠道。",
    ),
    # the original channels stay open (ADR 0034): where for this case, when derivable
    "case_rejected:places": (
        {"places": "出生登记到某派出所（某路1号）"},
        f"【出生一件事】您的申请（办件编号{N}）不予受理，请登录查看原因和可办理的原渠道。"
        "联办不予受理不影响单独办理各事项：出生登记到某派出所（某路1号）。所需材料见不予受理通知书。",
    ),
    "case_decided_again": (
        {"decision": "予以受理"},
        f"【出生一件事】已收到您的补正（办件编号{N}），预审结论：予以受理。",
    ),
    "item_returned": (
        {"item": "户口登记", "reasons": "缺少户口簿；照片不清晰"},
        f"【出生一件事】您的办件{N}：户口登记需要补正（缺少户口簿；照片不清晰），"
        "请登录补正，办理时限暂停计算。",
    ),
    "item_refused": (
        {"item": "社会保障卡", "reasons": "已在其他渠道申领", "channels": "银行网点"},
        f"【出生一件事】您的办件{N}：社会保障卡不予办理（已在其他渠道申领）。"
        "可通过原渠道办理：银行网点",
    ),
    "item_completed": ({"item": "预防接种证"}, f"【出生一件事】您的办件{N}：预防接种证已办结。"),
    "result_handed_over": (
        {"result": "《出生医学证明》", "counter": "沅陵县人民医院", "recipient": "受托人 向**"},
        f"【出生一件事】您的办件{N}：《出生医学证明》已于沅陵县人民医院当场交付，"
        "领取人：受托人 向**。如非本人或受托人领取，请及时联系受理窗口。",
    ),
    # ratings (好差评, ADR 0038): the invitation after the case ends, a follow-up's reply
    "rating_invitation": (
        {"link": "L"},
        f"【出生一件事】请对本次办理（办件编号{N}）的整体服务和各部门办理情况作出评价"
        "（非常满意、满意、基本满意、不满意、非常不满意），您的评价将用于改进服务：L",
    ),
    "rating_reply": (
        {"step": "户口登记", "link": "L"},
        f"【出生一件事】您对办件{N}中户口登记的评价已有整改答复，请登录查看，并确认是否满意：L",
    ),
    "rating_closed_silence": (
        {"step": "户口登记", "days": 5},
        f"【出生一件事】您对办件{N}中户口登记的差评整改答复，5个工作日内未收到您的确认，"
        "按“逾期未确认，视为认可”办结。如仍有意见，可拨打12345热线反映。",
    ),
    "sign_in_code": (
        {"code": "012345"},
        "【出生一件事】您的登录验证码是 012345，5分钟内有效。请勿告诉他人。",
    ),
    "confirmation_requested": (
        {"who": "父亲", "items": "户口登记", "until": "2026年11月27日 10:00", "link": "L"},
        "【出生一件事】新生儿出生“一件事”申请中，户口登记须经您（新生儿父亲）确认后办理。"
        "请于2026年11月27日 10:00前打开链接，凭短信验证码登录后确认或说明不同意的原因：L",
    ),
    "proactive_invitation": (
        {"region": "钦州市钦北区新生儿出生“一件事”", "until": "2026年12月20日 10:00", "link": "L"},
        "【出生一件事】恭喜您喜得宝宝！医院已推送分娩信息，钦州市钦北区新生儿出生“一件事”"
        "已为您准备好申请表，出生信息已填好。请于2026年12月20日 10:00前打开链接，"
        "凭本手机号码和短信验证码登录，选择事项、补充信息后提交：L",
    ),
    "confirmation_reminder": (
        {"who": "父亲", "items": "户口登记", "until": "2026年11月27日 10:00", "link": "L"},
        "【出生一件事】提醒：户口登记仍在等待您（新生儿父亲）确认，逾期未确认将不予办理。"
        "请于2026年11月27日 10:00前打开新链接确认（此前的链接已失效）：L",
    ),
    "confirmation_confirmed": (
        {"who": "父亲", "items": "户口登记"},
        f"【出生一件事】您的办件{N}：新生儿父亲已确认，户口登记已可以办理。",
    ),
    "preview_ready": (
        {"documents": "《出生医学证明》、《常住人口登记表》", "link": "L"},
        f"【出生一件事】您的办件{N}已通过平台核对，已生成《出生医学证明》、《常住人口登记表》预览。"
        "请登录查看并确认签字（电子签名），确认后平台推送助产机构签发；如信息有误，可在预览页"
        "说明原因，转线下办理：L",
    ),
    "payment_notice": (
        {
            "year": 2027,
            "amount": "380.00元",
            "deadline": "2027年2月24日",
            "channels": "湘税社保APP",
        },
        f"【出生一件事】您的办件{N}：新生儿已完成医保参保登记，请缴纳2027年度城乡居民医保费"
        "380.00元，缴费期限：2027年2月24日。缴费渠道：湘税社保APP。",
    ),
    "payment_reminder": (
        {"amount": "380.00元", "deadline": "2027年2月24日", "days": 3, "channels": "湘税社保APP"},
        f"【出生一件事】缴费提醒：您的办件{N}的城乡居民医保费380.00元尚未缴纳，"
        "缴费期限2027年2月24日（还有3天）。缴费渠道：湘税社保APP。",
    ),
    "payment_overdue": (
        {"deadline": "2027年2月24日", "channels": "湘税社保APP"},
        f"【出生一件事】您的办件{N}的城乡居民医保费已超过缴费期限（2027年2月24日）仍未缴纳，"
        "请尽快通过湘税社保APP缴纳或咨询税务部门。",
    ),
    "payment_confirmed": (
        {
            "paid_amount": "380.00元",
            "reference": "SS2027-0001",
            "activation": "激活医保码",
            "where": "国家医保服务平台APP",
        },
        f"【出生一件事】您的办件{N}：税务部门已确认收到城乡居民医保费380.00元（凭证号SS2027-0001）。"
        "请通过国家医保服务平台APP激活医保码，完成后在办件进度页标记。",
    ),
    "result_corrected": (
        {"item": "出生医学证明", "field": "新生儿姓名", "serial": "BMC-2026-0001-C1"},
        f"【出生一件事】您的办件{N}：出生医学证明的“新生儿姓名”已更正，"
        "更正后的电子证照编号 BMC-2026-0001-C1，原证照不再有效。",
    ),
    "correction_refused": (
        {"item": "出生医学证明", "field": "血型", "reason": "与分娩记录一致"},
        f"【出生一件事】您的办件{N}：出生医学证明的“血型”更正申请未通过，理由：与分娩记录一致。",
    ),
    "maternity_paid": (
        {"amount": "3560.50", "where": "尾号 4567 的银行账户（建设银行）"},
        f"【出生一件事】您的办件{N}：医保部门已将生育津贴3560.50元支付至您"
        "尾号 4567 的银行账户（建设银行），请注意查收。",
    ),
    "card_status": (
        {"status": "制卡中"},
        f"【出生一件事】您的办件{N}：新生儿社会保障卡制卡中，送达领卡网点后将另行通知领取。",
    ),
}


def test_every_message_template_is_checked():
    assert {p.stem for p in TEMPLATES.glob("*.txt")} == {n.split(":")[0] for n in EXPECTED}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_message_reads_as_before(name):
    context, text = EXPECTED[name]
    template = name.split(":")[0]
    assert message_text(template, {"number": N, **context}, language="zh-hans") == text


def test_names_are_not_html_escaped():
    text = message_text("item_completed", {"number": N, "item": "A&B<证>"}, language="zh-hans")
    assert "A&B<证>" in text
