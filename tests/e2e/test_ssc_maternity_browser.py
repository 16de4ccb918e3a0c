"""The social security card and the maternity payment through a real browser (issue 11
promises 4 and 5; docs/adr/0037).

The HR officer reports 制卡中 then 已送达网点 from the workbench; the mother's phone shows the
pickup notice naming the branch, what to bring and that the financial function is activated
at the bank. The medical-insurance officer sees the full payout account, pays and records
the amount; the mother's messages say how much went to which account (masked)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from onestop.notifications.models import Notification
from onestop.notifications.services import notification_deliver
from onestop.testing.factories import officer, parent
from onestop.workflow.models import CardProduction, CaseItem
from onestop.workflow.tests.test_social_security_card import accepted, work_until
from tests.e2e.helpers import staff_login

pytestmark = pytest.mark.django_db(transaction=True)

ACCOUNT = "6217000010001234567"


def _signed_in(page: Any, phone: str, base: str) -> None:
    """The parent's session (her SMS sign-in is tested elsewhere), given to the browser."""
    client = Client()
    client.force_login(parent(phone))
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": base}]
    )


def _deliver() -> None:
    """The worker would send the messages; here the test sends them."""
    for pk in Notification.objects.filter(status="pending").values_list("pk", flat=True):
        notification_deliver(pk)


def _phone(case: Any) -> str:
    applicant = case.typed_document().applicant
    return str(applicant.phone)


def test_card_statuses_and_the_pickup_notice(new_page, live_server, example, media_root):
    case = accepted(example("qinbei-accept"))
    row: CaseItem = work_until(case, "social_security_card")
    hrss = officer("hrss", row.jurisdiction_kind, row.jurisdiction_code, "人社经办")

    page = new_page()
    staff_login(page, hrss.username)
    page.goto(f"/work/tasks/{row.pk}/")
    assert "中国工商银行钦州分行营业部" in page.inner_text("[data-card-status]")
    page.select_option("#card-status", "in_production")
    page.click("button:has-text('报告状态')")
    page.wait_for_url(re.compile(r"/work/tasks/\d+/$"))
    assert page.locator("[data-card-status]").get_attribute("data-card-status") == "in_production"

    mother = new_page(phone=True)
    _signed_in(mother, _phone(case), live_server.url)
    mother.goto(f"/my/cases/{case.number}/")
    assert mother.locator("#ssc-card").get_attribute("data-card-status") == "in_production"
    assert "制卡中" in mother.inner_text("#ssc-card")

    page.select_option("#card-status", "at_branch")
    page.fill("#card-number", "A45070399")
    page.click("button:has-text('报告状态')")
    page.wait_for_url(re.compile(r"/work/tasks/\d+/$"))
    assert "已报告制卡状态" in page.inner_text(".messages")
    assert CardProduction.objects.get(item=row).status == "at_branch"

    mother.reload()
    card = mother.locator("#ssc-card")
    assert card.get_attribute("data-card-status") == "at_branch"
    pickup = mother.inner_text("[data-card-pickup]")
    assert "中国工商银行钦州分行营业部" in pickup
    assert "代领人本人身份证原件和新生儿户口簿原件" in pickup
    assert "金融功能需到发卡银行网点激活" in mother.inner_text("[data-card-activation]")
    _deliver()
    mother.goto("/my/messages/")
    messages = mother.inner_text("main")
    assert "请代领人" in messages and "中国工商银行钦州分行营业部" in messages
    assert "金融功能需到发卡银行网点激活" in messages


def test_maternity_payment_and_its_sms(new_page, live_server, example, media_root):
    case = accepted(example("lanzhou-accept"))
    row: CaseItem = work_until(case, "maternity_reimbursement")
    pays = officer("medical_insurance", row.jurisdiction_kind, row.jurisdiction_code, "医保经办")

    page = new_page()
    staff_login(page, pays.username)
    page.goto(f"/work/tasks/{row.pk}/")
    main = page.inner_text("main")
    assert ACCOUNT in main and "剖宫产" in main  # the officer who pays sees the account
    page.fill("#f-amount_yuan", "3560.50")
    page.fill("#f-payment_reference", "SY2026110001")
    page.click("button:has-text('办结并生成电子证照')")
    page.wait_for_url("**/work/")

    _deliver()
    mother = new_page(phone=True)
    _signed_in(mother, _phone(case), live_server.url)
    mother.goto("/my/messages/")
    messages = mother.inner_text("main")
    assert "已将生育津贴3560.50元支付至您尾号 4567 的银行账户（建设银行）" in messages
    assert ACCOUNT not in messages
    mother.goto(f"/my/cases/{case.number}/")
    shown = mother.inner_text("#maternity")
    assert "尾号 4567" in shown and ACCOUNT not in mother.content()
