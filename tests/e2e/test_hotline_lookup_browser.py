"""Through a real browser: a 12345 operator signs in, looks a case up for a caller who gives
the wrong last four digits of the applicant's phone (refused, nothing shown, recorded), then
for one who gives the right ones (answered, masked, each item's state and next step)."""

from __future__ import annotations

import pytest

from onestop.accounts.models import JurisdictionKind, Role
from onestop.audit.models import AccessRecord
from onestop.cases.services import case_submit
from onestop.core.clock import parse_time
from onestop.hotline.models import LookupAttempt
from onestop.reference.services import reference_seed
from onestop.testing.factories import staff
from tests.e2e.helpers import staff_login

pytestmark = pytest.mark.django_db(transaction=True)

SECRETS = ("450703199203150220", "13800000000", "黄丽", "覃沐阳")


@pytest.fixture
def case(example, media_root):
    reference_seed()
    return case_submit(
        document=example("qinbei-accept"), actor=None, now=parse_time("2026-11-20T09:30:00+08:00")
    ).case


def test_the_operator_is_refused_for_wrong_digits_and_answered_for_the_right_ones(case, new_page):
    operator = staff(Role.OPERATOR, kind=JurisdictionKind.DIVISION, code="4507", name="12345话务员")
    page = new_page()
    staff_login(page, operator.username)
    page.click("nav >> text=12345知识库")
    page.wait_for_url("**/hotline/")
    page.click("text=办件查询（须先核验来电人）")
    page.wait_for_url("**/hotline/lookup/")

    # The caller gives the case number and the wrong last four digits.
    page.fill("#id_number", case.number)
    page.check("input[name=method][value=phone4]")
    page.fill("#id_answer", "1234")
    page.click("button:has-text('核验并查询')")
    page.wait_for_selector("#lookup-refused")
    assert "核验未通过" in page.inner_text("#lookup-refused")
    assert page.locator("#lookup-answer").count() == 0
    body = page.inner_text("body")
    for secret in (*SECRETS, "黄*"):
        assert secret not in body
    assert LookupAttempt.objects.get(operator=operator).outcome == "wrong"
    assert AccessRecord.objects.get(actor=operator).granted is False

    # The right digits: answered, masked.
    page.fill("#id_number", case.number)
    page.fill("#id_answer", "0000")
    page.click("button:has-text('核验并查询')")
    page.wait_for_selector("#lookup-answer")
    answer = page.inner_text("#lookup-answer")
    assert case.number in answer and "办理中" in answer
    assert "黄*" in answer and "450703********0220" in answer and "覃**" in answer
    assert "《出生医学证明》办理（首签）" in answer and "待办理" in answer
    assert "等待前置事项办结" in answer
    body = page.inner_text("body")
    for secret in SECRETS:
        assert secret not in body
    # The verifying answer is not left in the form.
    assert page.input_value("#id_answer") == ""
    granted = AccessRecord.objects.filter(actor=operator).order_by("pk")
    assert [r.granted for r in granted] == [False, True]
