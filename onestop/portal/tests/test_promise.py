"""The promise as the parents see it (issue 11 item 11): the overall promise where the seed
gives one, on the progress page, the acceptance notice and the acceptance SMS, and the
dependency order as steps a parent reads."""

from __future__ import annotations

import io
import re

import pytest
from django.test import Client
from pypdf import PdfReader

from onestop.cases.models import CaseStatus
from onestop.cases.promise import case_promise
from onestop.cases.services import case_submit
from onestop.notifications.models import Notification
from onestop.testing.factories import parent

pytestmark = pytest.mark.django_db


def _submit(example, beijing, name, when="2026-11-20T09:30:00+08:00"):
    return case_submit(document=example(name), actor=None, now=beijing(when)).case


def _text(html: bytes) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.decode()))


def test_yuanling_promises_three_working_days_post_excluded(example, beijing, media_root):
    # Seed 001: 承诺时限：原则上不超过 3 个工作日（邮寄时间除外）. Accepted on Friday 20
    # November 2026: the 3rd working day after it is Wednesday 25 November.
    case = _submit(example, beijing, "yuanling-accept-trustee")
    assert case.status == CaseStatus.IN_PROGRESS
    promise = case_promise(case)
    assert promise is not None and promise.days == 3 and promise.excludes == "邮寄时间"
    assert promise.due_at == beijing("2026-11-25T23:59:59+08:00")
    assert promise.due_provisional is False and promise.kept is None

    client = Client()
    client.force_login(parent("13600004444"))  # the mother
    page = _text(client.get(f"/my/cases/{case.number}/").content)
    assert "本“一件事”承诺 3 个工作日内办结（邮寄时间除外）" in page
    assert "2026年11月25日" in page

    notice = client.get(f"/my/cases/{case.number}/notice.pdf")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(notice.content)).pages)
    assert "承诺3个工作日内办结（邮寄时间除外）" in re.sub(r"\s+", "", text)

    # (bodies are encrypted at rest: filtered here, not in SQL)
    sms = [m for m in Notification.objects.filter(case=case, channel="sms") if "已受理" in m.body]
    assert sms
    assert all("承诺3个工作日内办结（邮寄时间除外）" in m.body for m in sms)
    assert all("2026年11月25日" in m.body for m in sms)


def test_qinbei_promises_33_working_days_and_shows_the_steps(example, beijing, media_root):
    # Seed 002: 新生儿出生“一件事”承诺办结时限为33个工作日.
    case = _submit(example, beijing, "qinbei-accept")
    client = Client()
    client.force_login(parent("13800000000"))
    response = client.get(f"/my/cases/{case.number}/")
    page = _text(response.content)
    assert "承诺 33 个工作日内办结" in page and "除外" not in page
    # The steps: BMC, vaccination, guidance first; registration waits for the BMC; SSC last.
    html = response.content.decode()
    steps = re.findall(r'<li class="step">(.*?)</ul>', html, re.S)
    items = [re.findall(r'data-step-item="([a-z_]+)"', s) for s in steps]
    assert items == [
        ["birth_certificate", "vaccination_certificate", "parenting_guidance"],
        ["birth_registration"],
        ["maternity_reimbursement", "medical_insurance_enrolment"],
        ["social_security_card"],
    ]
    assert "等待：《出生医学证明》" in _text(steps[1].encode())
    assert "等待：出生登记（户口登记）" in _text(steps[2].encode())


def test_no_overall_promise_where_the_seed_gives_none(example, beijing, media_root):
    # Lanzhou promises each department 1 working day, not an overall limit (regions.md).
    case = _submit(example, beijing, "lanzhou-accept")
    assert case_promise(case) is None
    client = Client()
    client.force_login(parent(case.typed_document().mother.phone))
    assert "承诺办结时限" not in client.get(f"/my/cases/{case.number}/").content.decode()


def test_the_clock_starts_only_on_acceptance(example, beijing, media_root):
    case = _submit(example, beijing, "qinbei-supplement-missing-materials")
    assert case.status == CaseStatus.SUPPLEMENT
    promise = case_promise(case)
    assert promise is not None and promise.due_at is None


def test_the_promise_counts_the_departments_work_not_the_parents_payment(
    example, beijing, media_root
):
    # Yuanling: the parents pay the premium within 90 days of birth (须在90天内完成参保缴费);
    # the 3-working-day promise is kept when the departments finished their items in time.
    from onestop.workflow.models import CaseItem

    case = _submit(example, beijing, "yuanling-accept-trustee")
    items = CaseItem.objects.filter(case=case)
    items.exclude(item="medical_insurance_payment").update(
        state="done", finished_at=beijing("2026-11-24T16:00:00+08:00")
    )
    promise = case_promise(case)
    assert promise is not None and promise.kept is True
    items.filter(item="birth_registration").update(finished_at=beijing("2026-11-26T09:00:00+08:00"))
    promise = case_promise(case)
    assert promise is not None and promise.kept is False
