"""The second parent confirms by SMS link (issue 11 promise 6, ADR 0029), through HTTP with
the effect checked in the database: the link works once; a wrong, expired or used link gets
a clear Chinese page and nothing changes; only the parent signed in with their own phone
can confirm; the code lockout holds; the item is not in the police station's queue until
confirmed; confirm dispatches it, refuse refuses it with the reason and the ordinary
channel; reminders carry a fresh link; expiry refuses.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from onestop.accounts.services import MAX_ATTEMPTS
from onestop.audit.services import verify_chain
from onestop.cases.models import Case, TimelineEntry
from onestop.cases.services import case_submit
from onestop.common.fields import index_of
from onestop.integration.tests.support import Api, current, issue
from onestop.notifications.models import Notification
from onestop.portal.tests.support import MOTHER_PHONE, mother_client
from onestop.testing.costs import audit_chain_reads
from onestop.testing.factories import parent
from onestop.workflow.confirmations import confirmation_decide, confirmations_sweep, token_hash
from onestop.workflow.models import CaseItem, ConfirmationRequest, ItemState
from onestop.workflow.services import item_complete

pytestmark = pytest.mark.django_db

FATHER_PHONE = "13900000000"
REG = "birth_registration"


def _submit(example: Any) -> Case:
    document = current(example("qinbei-accept"))
    document["materials"].remove("ethnicity_confirmation_form")  # the father signs by link
    case = case_submit(document=document, actor=None).case
    assert case.decision["decision"] == "accept", case.decision
    return case


def _sms_to(phone: str) -> list[Notification]:
    return list(
        Notification.objects.filter(
            channel="sms", phone_index=index_of(phone, purpose="phone")
        ).order_by("pk")
    )


def _link(case: Case) -> str:
    bodies = [n.body for n in _sms_to(FATHER_PHONE) if n.case_id == case.pk]
    found = re.findall(r"(/confirm/[\w-]+/)", bodies[-1])
    assert found, bodies
    return str(found[-1])


def _last_code(phone: str) -> str:
    sms = [n for n in _sms_to(phone) if n.case_id is None][-1]
    found = re.search(r"验证码是 (\d{6})", sms.body)
    assert found is not None
    return found.group(1)


def _row(case: Case, item: str = REG) -> CaseItem:
    return CaseItem.objects.get(case=case, item=item)


def _request(case: Case) -> ConfirmationRequest:
    found: ConfirmationRequest = ConfirmationRequest.objects.get(case=case)
    return found


def _father_signs_in(link: str) -> Client:
    father = Client()
    page = father.get(link)
    assert page.status_code == 200
    text = page.content.decode()
    assert "139****0000" in text and "获取验证码" in text
    assert "民族成份" not in text  # nothing of the case before sign-in
    assert father.post(link, {"action": "send_code"}).status_code == 200
    signed = father.post(link, {"action": "sign_in", "code": _last_code(FATHER_PHONE)})
    assert signed.status_code == 302
    return father


def _bmc_done(case: Case) -> None:
    item_complete(
        item_id=_row(case, "birth_certificate").pk,
        actor=None,
        result={"bmc_number": "R450000001"},
    )


def _police_tasks() -> list[dict[str, Any]]:
    police = Api(issue("police", "police_station", "qinbei-xintang").token)
    answer = police.get("/tasks?state=ready")
    assert answer.status_code == 200
    return [t for t in answer.json()["tasks"] if t["item"] == REG]


def test_the_item_waits_visibly_and_is_not_in_the_department_queue(example, media_root):
    case = _submit(example)
    row = _row(case)
    assert row.state == ItemState.WAITING and row.awaiting_confirmation == "father"
    _bmc_done(case)
    assert _row(case).state == ItemState.WAITING  # its prerequisite is done: still held
    assert _police_tasks() == []
    # The parents' progress page and the API say what it waits for.
    page = mother_client(MOTHER_PHONE).get(f"/my/cases/{case.number}/").content.decode()
    assert "等待父亲确认" in page
    hospital = Api(issue("hospital", "hospital", "qinbei-mch").token)
    items = {i["item"]: i for i in hospital.get(f"/cases/{case.number}").json()["items"]}
    assert items[REG]["awaiting_confirmation"] == "father"
    assert items[REG]["state"] == "waiting"
    # The father's SMS: a link with only a token, no case number, no personal data.
    link = _link(case)
    assert case.number not in link and FATHER_PHONE not in link
    assert _request(case).token_hash == token_hash(link.split("/")[2])


def test_the_father_confirms_once_and_the_item_goes_to_the_police(example, media_root):
    case = _submit(example)
    _bmc_done(case)
    link = _link(case)
    father = _father_signs_in(link)
    page = father.get(link).content.decode()
    assert "民族成份为壮族" in page and "覃沐阳" in page and "黄*" in page  # masked applicant
    done = father.post(link, {"action": "confirm"})
    assert done.status_code == 200 and "已确认" in done.content.decode()

    request = _request(case)
    assert request.state == ConfirmationRequest.State.CONFIRMED
    assert request.signature is not None and request.signature["signer"] == "father"
    assert "民族成份" in request.signature["text"] and len(request.signature["text_sha256"]) == 64
    row = _row(case)
    assert row.state == ItemState.READY and row.awaiting_confirmation == ""
    assert row.received_at == request.decided_at  # the clock starts at the confirmation
    assert len(_police_tasks()) == 1
    assert TimelineEntry.objects.filter(case=case, kind="confirmation_confirmed").exists()

    # The link works once.
    again = father.post(link, {"action": "confirm"})
    assert again.status_code == 410 and "链接已使用" in again.content.decode()
    assert father.get(link).status_code == 410
    assert _row(case).version == row.version


def test_confirmed_before_the_prerequisite_the_item_waits_only_for_it(example, media_root):
    case = _submit(example)
    link = _link(case)
    _father_signs_in(link).post(link, {"action": "confirm"})
    assert _row(case).state == ItemState.WAITING and _row(case).awaiting_confirmation == ""
    _bmc_done(case)
    assert _row(case).state == ItemState.READY


def test_the_father_refuses_with_a_reason(example, media_root):
    case = _submit(example)
    link = _link(case)
    father = _father_signs_in(link)
    missing = father.post(link, {"action": "refuse", "reason": " "})
    assert missing.status_code == 400 and "请填写不同意的原因" in missing.content.decode()
    assert _request(case).state == ConfirmationRequest.State.PENDING
    done = father.post(link, {"action": "refuse", "reason": "民族应随母亲"})
    assert done.status_code == 200
    row = _row(case)
    assert row.state == ItemState.REFUSED and row.reasons == ["父亲不同意：民族应随母亲"]
    cancelled = CaseItem.objects.filter(case=case, cancelled_because=REG).count()
    assert cancelled >= 1  # its dependents stop with it
    assert _row(case, "birth_certificate").state == ItemState.READY  # the rest goes on
    told = [n.body for n in _sms_to(MOTHER_PHONE) if n.case_id == case.pk]
    assert any("不予办理" in body and "民族应随母亲" in body and "原渠道" in body for body in told)


def test_wrong_and_expired_links_get_a_chinese_page_and_change_nothing(
    example, media_root, monkeypatch
):
    case = _submit(example)
    link = _link(case)
    before = _row(case).version
    wrong = Client().get("/confirm/" + "x" * 43 + "/")
    assert wrong.status_code == 404 and "链接无效" in wrong.content.decode()
    assert Client().post("/confirm/nope/", {"action": "confirm"}).status_code == 404
    # The father signs in a minute before the link expires and confirms two minutes later
    # (within the idle timeout, which counts from the sign-in).
    expires_at = _request(case).expires_at
    monkeypatch.setattr(timezone, "now", lambda: expires_at - timedelta(minutes=1))
    father = _father_signs_in(link)
    monkeypatch.setattr(timezone, "now", lambda: expires_at + timedelta(minutes=1))
    expired = father.post(link, {"action": "confirm"})
    assert expired.status_code == 410 and "链接已过期" in expired.content.decode()
    assert _request(case).state == ConfirmationRequest.State.PENDING
    assert _row(case).version == before and _row(case).awaiting_confirmation == "father"


def test_the_applicant_cannot_confirm_for_the_father(example, media_root):
    case = _submit(example)
    link = _link(case)
    mother = mother_client(MOTHER_PHONE)  # signed in on her own phone
    page = mother.get(link).content.decode()
    assert "不是本办件登记的父亲手机号码" in page and "民族成份为" not in page
    refused = mother.post(link, {"action": "confirm"})
    assert refused.status_code == 403
    assert "只能由父亲本人" in refused.content.decode()
    assert _request(case).state == ConfirmationRequest.State.PENDING
    assert _row(case).awaiting_confirmation == "father"
    # Nobody signed in at all: the same.
    assert Client().post(link, {"action": "confirm"}).status_code == 403
    # The code goes only to the father's phone on the case: the mother cannot ask it to hers.
    mother.post(link, {"action": "send_code", "phone": MOTHER_PHONE})
    assert [n for n in _sms_to(MOTHER_PHONE) if n.case_id is None] == []


def test_the_code_lockout_holds_on_the_link_page(example, media_root):
    case = _submit(example)
    link = _link(case)
    guesser = Client()
    guesser.post(link, {"action": "send_code"})
    real = _last_code(FATHER_PHONE)
    for n in range(MAX_ATTEMPTS + 1):
        wrong = f"{(int(real) + 1 + n) % 1_000_000:06d}"
        assert guesser.post(link, {"action": "sign_in", "code": wrong}).status_code != 302
    final = guesser.post(link, {"action": "sign_in", "code": real})
    assert final.status_code != 302 and "_auth_user_id" not in guesser.session
    assert guesser.post(link, {"action": "confirm"}).status_code == 403
    assert _request(case).state == ConfirmationRequest.State.PENDING


def test_a_reminder_carries_a_fresh_link_and_expiry_refuses(example, media_root):
    case = _submit(example)
    first = _link(case)
    request = _request(case)
    assert confirmations_sweep(now=request.created_at + timedelta(days=1)) == {
        "expired": 0,
        "reminded": 0,
    }
    assert confirmations_sweep(now=request.expires_at - timedelta(days=1))["reminded"] == 1
    second = _link(case)
    assert second != first
    assert Client().get(first).status_code == 404  # the earlier link stopped working
    assert Client().get(second).status_code == 200
    assert confirmations_sweep(now=request.expires_at - timedelta(hours=12))["reminded"] == 0
    assert confirmations_sweep(now=request.expires_at + timedelta(minutes=1))["expired"] == 1
    row = _row(case)
    assert row.state == ItemState.REFUSED and row.reasons == ["父亲未在确认期限内确认"]
    assert _request(case).state == ConfirmationRequest.State.EXPIRED
    assert TimelineEntry.objects.filter(case=case, kind="confirmation_expired").exists()


# --- what a decision, a reminder and an expiry cost the database -------------------------
# Each locks its case with the one case lock (`cases.services.case_locked`), which reads
# the audit stream's last record in the same statement: the record follows it without a
# read of the chain of its own (issue 10, session 24). Real transactions: the test's
# own would keep the last record the setup wrote known. Budgets: statements measured on
# SQLite and PostgreSQL (the larger), one fewer each than before the case lock.
DECISION_BUDGET = 16
REMINDER_BUDGET = 13
EXPIRY_BUDGET = 23


@pytest.mark.django_db(transaction=True)
def test_a_decision_reads_no_chain_of_its_own(example, media_root, django_assert_max_num_queries):
    case = _submit(example)
    token = _link(case).split("/")[2]
    father = parent(FATHER_PHONE)
    with django_assert_max_num_queries(DECISION_BUDGET) as queries:
        decided = confirmation_decide(token=token, user=father, confirm=True)
    assert decided.outcome == "confirmed"
    assert audit_chain_reads(queries.captured_queries) == 0
    assert verify_chain(case.number) == []


@pytest.mark.django_db(transaction=True)
def test_a_sweep_reads_no_chain_of_its_own(example, media_root, django_assert_max_num_queries):
    case = _submit(example)
    request = _request(case)
    with django_assert_max_num_queries(REMINDER_BUDGET) as queries:
        assert confirmations_sweep(now=request.expires_at - timedelta(days=1))["reminded"] == 1
    assert audit_chain_reads(queries.captured_queries) == 0
    with django_assert_max_num_queries(EXPIRY_BUDGET) as queries:
        assert confirmations_sweep(now=request.expires_at + timedelta(minutes=1))["expired"] == 1
    assert audit_chain_reads(queries.captured_queries) == 0
    assert verify_chain(case.number) == []
