"""Through a real browser on a phone-sized screen (issue 11 promise 6, ADR 0029): the father
opens the link from his SMS, gets a sign-in code on his phone, reads what he is asked to
confirm and confirms; the held birth registration then goes to the police station."""

from __future__ import annotations

import re

import pytest

from onestop.cases.services import case_submit
from onestop.common.fields import index_of
from onestop.integration.tests.support import current
from onestop.notifications.models import Notification
from onestop.reference.services import reference_seed
from onestop.testing.factories import officer
from onestop.workflow.models import CaseItem, ConfirmationRequest, ItemState
from onestop.workflow.services import item_complete

pytestmark = pytest.mark.django_db(transaction=True)

FATHER_PHONE = "13900000000"


def _father_sms() -> list[str]:
    index = index_of(FATHER_PHONE, purpose="phone")
    rows = Notification.objects.filter(channel="sms", phone_index=index).order_by("pk")
    return [row.body for row in rows]


def test_the_father_confirms_on_his_phone(example, media_root, new_page):
    reference_seed()
    document = current(example("qinbei-accept"))
    document["materials"].remove("ethnicity_confirmation_form")
    case = case_submit(document=document, actor=None).case
    item_complete(
        item_id=CaseItem.objects.get(case=case, item="birth_certificate").pk,
        actor=officer("hospital", "hospital", "qinbei-mch"),
        result={"bmc_number": "Q450123456"},
    )
    registration = CaseItem.objects.get(case=case, item="birth_registration")
    assert registration.state == ItemState.WAITING
    link = re.findall(r"https?://[^/\s]+(/confirm/[\w-]+/)", _father_sms()[-1])[-1]

    phone = new_page(phone=True)
    response = phone.goto(link)
    assert response is not None and response.status == 200
    assert "139****0000" in phone.locator("#confirm").inner_text()
    phone.get_by_role("button", name="获取验证码").click()
    code = re.findall(r"验证码是 (\d{6})", _father_sms()[-1])[-1]
    phone.fill("#code", code)
    phone.get_by_role("button", name="登录").click()
    statements = phone.locator("#statements").inner_text()
    assert "民族成份为壮族" in statements and "覃沐阳" in statements
    # The page fits the phone: no sideways scrolling.
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    phone.locator("#do-confirm").click()
    assert "已确认" in phone.locator("#confirm-done").inner_text()

    assert ConfirmationRequest.objects.get(case=case).state == "confirmed"
    registration.refresh_from_db()
    assert registration.state == ItemState.READY and registration.awaiting_confirmation == ""
    # The link is spent.
    again = phone.goto(link)
    assert again is not None and again.status == 410
    assert "链接已使用" in phone.locator("#confirm-problem").inner_text()
