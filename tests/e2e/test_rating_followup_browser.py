"""A bad rating runs to its closed follow-up, through a real browser (issue 12, part 1;
ADR 0038): the mother rates the police station's step 非常不满意 on her phone, the police
officer replies from the workbench, the mother confirms she is satisfied, and the
supervisor sees the follow-up closed.

国办发〔2019〕51号: every bad rating is followed up and rectified; seed 002 (Qinbei) 十(一):
"在事项办结后,向新生儿父母推送“好差评”服务"."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from onestop.accounts.models import Role
from onestop.cases.models import Case
from onestop.ratings.models import FollowUp, Rating
from onestop.testing.factories import finished_by_officers, officer, parent, staff
from onestop.workflow.models import CaseItem
from tests.e2e.helpers import staff_login

pytestmark = pytest.mark.django_db(transaction=True)

MOTHER_PHONE = "13800000000"  # qinbei-accept: the mother applies
STEPS = ["birth_certificate", "birth_registration"]
COMPLAINT = "派出所让我跑了两次才说清要带户口簿"
REPLY = "已核实并约谈窗口人员，今后一次性告知所需材料，向您致歉"


def _finished(example: Any) -> Case:
    from onestop.core.clock import parse_time

    document = example("qinbei-accept")
    document["items"] = STEPS
    case: Case = finished_by_officers(document, parse_time("2026-11-20T09:30:00+08:00"))
    return case


def _signed_in(page: Any, phone: str, base: str) -> None:
    """The parent's session (her SMS sign-in is tested elsewhere), given to the browser."""
    client = Client()
    client.force_login(parent(phone))
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": base}]
    )


def test_a_very_dissatisfied_step_is_followed_up_replied_confirmed_and_seen_closed(
    new_page, live_server, example, media_root, settings
):
    # Supervisors sign in with a TOTP code (tested in onestop/accounts); not the point here.
    settings.TOTP_REQUIRED_ROLES = ["admin"]
    case = _finished(example)
    police_row = CaseItem.objects.get(case=case, item="birth_registration")
    police = officer(
        police_row.department, police_row.jurisdiction_kind, police_row.jurisdiction_code, "覃警官"
    )
    supervisor = staff(Role.SUPERVISOR, kind="division", code=case.division[:4], name="钦州监管员")

    # The mother, on her phone: the progress page invites her; she rates.
    mother = new_page(phone=True)
    _signed_in(mother, MOTHER_PHONE, live_server.url)
    mother.goto(f"/my/cases/{case.number}/")
    mother.click("#rating a[data-action='open-rating']")
    mother.wait_for_url(f"**/my/cases/{case.number}/rate/")
    mother.check("fieldset[data-step='service'] input[value='4']")
    mother.check("fieldset[data-step='birth_registration'] input[value='1']")  # 非常不满意
    mother.fill("#comment-birth_registration", COMPLAINT)
    mother.click("button[data-action='rate']")
    mother.wait_for_load_state()
    assert "差评已转责任单位整改" in mother.inner_text(".messages")
    rated = mother.locator("fieldset[data-step='birth_registration'] [data-rating]").inner_text()
    assert "非常不满意" in rated
    card = mother.locator("[data-follow-up]")
    assert card.get_attribute("data-status") == "open"
    assert Rating.objects.get(case=case, step="birth_registration").grade == 1
    follow_up = FollowUp.objects.get(case=case)

    # The police officer: the workbench's 好差评 shows it; he reads and replies.
    page = new_page()
    staff_login(page, police.username)
    page.click("nav >> a.nav-ratings")
    page.wait_for_url("**/work/ratings/")
    page.click(f"tr[data-follow-up='{follow_up.pk}'] a")
    page.wait_for_url(f"**/work/ratings/{follow_up.pk}/")
    assert COMPLAINT in page.inner_text("[data-comment]")
    page.fill("#reply", REPLY)
    page.click("button[data-action='reply']")
    page.wait_for_url("**/work/ratings/")
    assert "已答复申请人" in page.inner_text(".messages")
    follow_up.refresh_from_db()
    assert follow_up.status == "replied"

    # The mother sees the reply and confirms she is satisfied.
    mother.goto(f"/my/cases/{case.number}/")
    assert "已有整改答复" in mother.inner_text("#rating")
    mother.goto(f"/my/cases/{case.number}/rate/")
    assert REPLY in mother.inner_text(f"[data-follow-up='{follow_up.pk}']")
    mother.click("button[data-action='confirm']")
    mother.wait_for_load_state()
    assert "整改已办结" in mother.inner_text(".messages")
    assert (
        mother.locator(f"[data-follow-up='{follow_up.pk}']").get_attribute("data-status")
        == "closed"
    )

    # The supervisor: the follow-up is closed; none is open or overdue.
    page = new_page()
    staff_login(page, supervisor.username)
    page.click("nav >> a.nav-ratings")
    page.wait_for_url("**/supervise/ratings/")
    page.select_option("#status", "closed")
    page.click("form.card button")
    page.wait_for_url(re.compile(r"/supervise/ratings/\?.*status=closed"))
    row = page.locator(f"tr[data-follow-up='{follow_up.pk}']")
    assert row.get_attribute("data-status") == "closed"
    assert "已办结" in row.inner_text() and case.number in row.inner_text()
    summary = page.inner_text("[data-summary]")
    assert re.search(r"待整改 0（其中超期 0）", summary) and "已办结 1" in summary
    follow_up.refresh_from_db()
    assert follow_up.status == "closed"
