"""A Yuanling payment notice and its confirmation over the API, through a real browser
(issue 11 promise 3): the case accepted at the hospital counter, enrolment done, the
mother sees the payment notice on her phone, the tax system confirms over real HTTP to
the live server, and her page shows it paid."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from onestop.integration.tests.support import issue
from onestop.testing.factories import parent
from onestop.workflow.models import CaseItem, PaymentNotice
from onestop.workflow.tests.test_payment import (
    accepted,
    applicant_phone,
    premium,
    work_until_payment,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _signed_in(page: Any, phone: str, base: str) -> None:
    """The parent's session (her SMS sign-in is tested elsewhere), given to the browser."""
    client = Client()
    client.force_login(parent(phone))
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": base}]
    )


def test_yuanling_payment_notice_and_confirmation_over_the_api(new_page, live_server, example):
    premium("yuanling")
    case = accepted(example("yuanling-accept-trustee"))
    row: CaseItem = work_until_payment(case)
    phone = applicant_phone(case)

    page = new_page(phone=True)
    _signed_in(page, phone, live_server.url)
    page.goto(f"/my/cases/{case.number}/")
    card = page.locator("#payment")
    assert card.get_attribute("data-payment") == "unpaid"
    text = card.inner_text()
    assert "400元" in text and "湘税社保" in text and "年" in text

    token = issue("tax", row.jurisdiction_kind, row.jurisdiction_code).token
    body = json.dumps(
        {"result": {"payment_reference": "SW2026-0099", "amount_yuan": "400"}}
    ).encode()
    request = urllib.request.Request(
        f"{live_server.url}/api/v1/tasks/{row.pk}/complete",
        data=body,
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": "browser-pay-1",
        },
    )
    with urllib.request.urlopen(request) as answer:  # real HTTP to the live server
        assert answer.status == 200 and json.load(answer)["state"] == "done"

    page.reload()
    card = page.locator("#payment")
    assert card.get_attribute("data-payment") == "paid"
    assert "SW2026-0099" in card.inner_text()
    assert PaymentNotice.objects.get(item=row).status == "paid"
