"""Through a real browser: the hospital officer issues the BMC from the workbench, the police
officer sees it as an e-licence, and the mother follows the case on a phone."""

from __future__ import annotations

import re

import pytest

from onestop.cases.services import case_submit
from onestop.core.clock import parse_time
from onestop.notifications.models import Notification
from onestop.notifications.services import notification_deliver
from onestop.reference.services import reference_seed
from onestop.testing.factories import officer
from onestop.workflow.models import CaseItem
from tests.e2e.helpers import staff_login

pytestmark = pytest.mark.django_db(transaction=True)

BMC_NUMBER = "Q450123456"
MOTHER_PHONE = "13800000000"


def queue_numbers(page) -> list[str]:
    return [text.strip() for text in page.locator("table tbody td a").all_inner_texts()]


@pytest.fixture
def case(example, media_root):
    reference_seed()
    return case_submit(
        document=example("qinbei-accept"),
        actor=None,
        now=parse_time("2026-11-20T09:30:00+08:00"),
    ).case


def test_officers_issue_and_use_the_bmc_and_the_mother_follows_on_her_phone(
    case, new_page, phone_page
):
    hospital = officer("hospital", "hospital", "qinbei-mch", "韦敏")
    police = officer("police", "police_station", "qinbei-xintang", "覃警官")

    # The hospital officer finds the BMC task in the queue and issues it.
    page = new_page()
    staff_login(page, hospital.username)
    page.click("nav >> text=待办事项")
    page.wait_for_url("**/work/")
    assert case.number in queue_numbers(page)
    page.click(f"table tbody a:text-is('{case.number}')")
    page.wait_for_url(re.compile(r"/work/tasks/\d+/$"))
    assert "出生医学证明编号" in page.inner_text("main")
    page.fill("#f-bmc_number", BMC_NUMBER)
    page.click("button:has-text('办结并生成电子证照')")
    page.wait_for_url("**/work/")
    assert "已办结" in page.inner_text(".messages")
    assert case.number not in queue_numbers(page)
    assert CaseItem.objects.get(case=case, item="birth_certificate").state == "done"

    # The police officer's birth-registration task shows the BMC as an e-licence.
    page = new_page()
    staff_login(page, police.username)
    page.goto("/work/")
    page.click(f"table tbody a:text-is('{case.number}')")
    page.wait_for_url(re.compile(r"/work/tasks/\d+/$"))
    heading = page.inner_text("h1")
    assert "出生登记" in heading
    prior = page.locator(".card", has_text="前置事项电子证照").inner_text()
    assert BMC_NUMBER in prior and "钦北区妇幼保健院" in prior

    # The worker would send the messages; here the test sends them.
    for pk in Notification.objects.filter(status="pending").values_list("pk", flat=True):
        notification_deliver(pk)

    # The mother signs in on her phone with an SMS code and follows the items.
    phone = phone_page
    phone.goto("/accounts/parent/")
    phone.fill("#phone", MOTHER_PHONE)
    phone.click("button:has-text('获取验证码')")
    phone.wait_for_selector("#code")
    sms = Notification.objects.filter(channel="sms", case__isnull=True).latest("pk")
    code = re.search(r"验证码是 (\d{6})", sms.body)
    assert code is not None
    phone.fill("#code", code.group(1))
    phone.click("button:has-text('登录')")
    phone.wait_for_url("**/my/cases/")
    phone.goto(f"/my/cases/{case.number}/")
    states = {
        item: phone.inner_text(f"tr[data-item={item}] .state")
        for item in ("birth_certificate", "birth_registration", "social_security_card")
    }
    assert states == {
        "birth_certificate": "已办结",
        "birth_registration": "待办理",
        "social_security_card": "等待前置事项",
    }
    assert "钦北区妇幼保健院" in phone.inner_text(".timeline")  # the pickup notice
    fits = phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert fits, "the progress page scrolls sideways on a phone"

    # Her messages: the pickup notice is there and the unread badge goes once read.
    assert phone.locator("nav .badge").count() == 1
    phone.click("nav >> text=消息")
    phone.wait_for_url("**/my/messages/")
    assert "领取《出生医学证明》" in phone.inner_text("main")
    assert phone.locator("nav .badge").count() == 0
