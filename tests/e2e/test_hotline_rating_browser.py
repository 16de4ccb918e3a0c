"""Through a real browser: the 12345 operator cannot record a caller's rating before
verifying the caller (refused, nothing recorded); after a verified lookup of the finished
case, the lookup's answer offers it, and the caller's 不满意 of a step is recorded on the
hotline channel and opens a follow-up (issue 12 gap 2).

国办发〔2019〕51号: counters, hotlines and apps are all rated; every bad rating is followed up."""

from __future__ import annotations

from typing import Any

import pytest

from onestop.accounts.models import JurisdictionKind, Role
from onestop.ratings.models import FollowUp, Rating
from onestop.testing.factories import staff
from tests.e2e.helpers import staff_login
from tests.e2e.test_rating_followup_browser import _finished

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_operator_records_a_verified_callers_rating(new_page, example: Any, media_root):
    case = _finished(example)
    operator = staff(
        Role.OPERATOR, kind=JurisdictionKind.DIVISION, code=case.division[:4], name="12345话务员"
    )
    page = new_page()
    staff_login(page, operator.username)

    # Straight to the rating page without a verified caller: refused.
    answer = page.goto(f"/hotline/cases/{case.number}/rate/")
    assert answer is not None and answer.status == 403
    assert page.get_attribute("#rating-refused", "data-code") == "hotline_not_verified"
    assert Rating.objects.count() == 0

    # The caller is verified; the answer offers the rating.
    page.goto("/hotline/lookup/")
    page.fill("#id_number", case.number)
    page.check("input[name=method][value=phone4]")
    page.fill("#id_answer", "0000")
    page.click("button:has-text('核验并查询')")
    page.wait_for_selector("#lookup-answer")
    page.click("#hotline-rate")
    page.wait_for_url(f"**/hotline/cases/{case.number}/rate/")
    assert "12345热线评价" in page.inner_text("#hotline-rate-note")
    page.check("fieldset[data-step='service'] input[value='5']")
    page.check("fieldset[data-step='birth_certificate'] input[value='2']")  # 不满意
    page.fill("#comment-birth_certificate", "来电人反映等待时间过长")
    page.click("button[data-action='rate']")
    page.wait_for_load_state()
    assert "已记录来电人的热线评价" in page.inner_text(".messages")
    rated = page.locator("fieldset[data-step='birth_certificate'] [data-rating]").inner_text()
    assert "不满意" in rated and "12345热线" in rated
    assert {r.channel for r in Rating.objects.filter(case=case)} == {"hotline"}
    follow_up = FollowUp.objects.get(case=case)
    assert follow_up.rating.step == "birth_certificate" and follow_up.status == "open"
