"""The medical-insurance payment notice (issue 11 promise 3, docs/adr/0031), through HTTP:
the tax system's API and the parents' progress page, with the database effects checked."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from onestop.audit.models import AuditRecord
from onestop.audit.services import verify_chain
from onestop.cases.models import Case, TimelineEntry
from onestop.common.fields import index_of
from onestop.core.clock import end_of_day, format_time, to_beijing
from onestop.integration.tests.support import Api, issue
from onestop.integration.tests.support import accepted as support_accepted
from onestop.notifications.models import Notification
from onestop.reference.models import InsurancePremium
from onestop.reference.services import reference_seed
from onestop.testing.costs import audit_chain_reads
from onestop.testing.factories import SAMPLE_RESULTS as RESULTS
from onestop.testing.factories import officer, parent
from onestop.workflow.models import CaseItem, ItemState, PaymentNotice, PaymentStatus
from onestop.workflow.payment import insurance_code_activate, payment_reminders_sweep
from onestop.workflow.services import item_complete

pytestmark = pytest.mark.django_db

PAY = "medical_insurance_payment"


def accepted(document: dict[str, Any]) -> Case:
    reference_seed()
    case: Case = support_accepted(document)
    return case


def work_until_payment(case: Case) -> CaseItem:
    """The departments finish every item before the payment (as their officers)."""
    while True:
        row = CaseItem.objects.filter(case=case, state=ItemState.READY).exclude(item=PAY).first()
        if row is None:
            break
        who = officer(row.department, row.jurisdiction_kind, row.jurisdiction_code)
        item_complete(item_id=row.pk, actor=who, result=RESULTS[row.item])
    return CaseItem.objects.get(case=case, item=PAY)


def premium(region: str, amount: str = "400") -> None:
    year = to_beijing(timezone.now()).year
    for y in (year, year + 1):
        InsurancePremium.objects.create(
            region=region, year=y, amount_yuan=Decimal(amount), source="测试用缴费标准"
        )


def applicant_phone(case: Case) -> str:
    applicant = case.typed_document().applicant
    assert applicant is not None and applicant.phone
    return str(applicant.phone)


def texts(case: Case, words: str) -> list[str]:
    """The SMS bodies to the applicant's phone that say ``words`` (messages of one change
    are joined per recipient, so one body may say several things)."""
    phone = index_of(applicant_phone(case), purpose="phone")
    sent = Notification.objects.filter(case=case, channel="sms", phone_index=phone)
    return [n.body for n in sent if words in n.body]


def tax_api(row: CaseItem) -> Api:
    return Api(issue("tax", row.jurisdiction_kind, row.jurisdiction_code).token)


def parent_page(case: Case, phone: str) -> str:
    client = Client()
    client.force_login(parent(phone))
    response = client.get(f"/my/cases/{case.number}/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def yuanling(example: Any) -> tuple[Case, CaseItem]:
    premium("yuanling")
    case = accepted(example("yuanling-accept-trustee"))
    return case, work_until_payment(case)


def test_yuanling_notice_names_channels_amount_and_deadline(yuanling: Any) -> None:
    case, row = yuanling
    notice = PaymentNotice.objects.get(item=row)
    born = to_beijing(case.typed_document().newborns[0].born_at).date()
    # 须在90天内完成参保缴费: 90 days from the birth date; the item's due time is the same.
    assert notice.deadline == row.due_at == end_of_day(born + timedelta(days=90))
    assert notice.amount_yuan == Decimal("400") and notice.status == PaymentStatus.UNPAID
    # The form's answer (在医院扫码缴费) comes first, then the 湘税社保 app and mini program.
    assert [c["name"] for c in notice.channels] == [
        "在所在医院就地扫码缴费",
        "“湘税社保”APP",
        "“湘税社保”微信小程序",
    ]
    deadline = born + timedelta(days=90)
    written = f"{deadline.year}年{deadline.month}月{deadline.day}日"
    [sms] = texts(case, "请缴纳")
    assert "400元" in sms and written in sms and "湘税社保" in sms
    page = parent_page(case, applicant_phone(case))
    assert 'data-payment="unpaid"' in page and "400元" in page and written in page
    assert "测试用缴费标准" in page  # the amount is shown with its source


def test_a_wrong_amount_is_refused_and_changes_nothing(yuanling: Any) -> None:
    _case, row = yuanling
    api = tax_api(row)
    before = (TimelineEntry.objects.count(), AuditRecord.objects.count())
    answer = api.post(
        f"/tasks/{row.pk}/complete",
        {"result": {"payment_reference": "SW-1", "amount_yuan": "380"}},
    )
    assert answer.status_code == 422
    body = answer.json()
    assert body["code"] == "payment_amount_mismatch" and "应缴金额（400元）" in body["message"]
    row.refresh_from_db()
    assert row.state == ItemState.READY and row.result is None
    assert PaymentNotice.objects.get(item=row).status == PaymentStatus.UNPAID
    assert (TimelineEntry.objects.count(), AuditRecord.objects.count()) == before

    future = format_time(timezone.now() + timedelta(days=1))
    answer = api.post(
        f"/tasks/{row.pk}/complete",
        {"result": {"payment_reference": "SW-1", "amount_yuan": "400", "paid_at": future}},
    )
    assert answer.status_code == 422 and answer.json()["code"] == "time_in_future"
    assert CaseItem.objects.get(pk=row.pk).state == ItemState.READY


def test_a_replayed_confirmation_acts_once(yuanling: Any) -> None:
    case, row = yuanling
    api = tax_api(row)
    paid = format_time(timezone.now() - timedelta(hours=2))
    body = {"result": {"payment_reference": "SW2026-77", "amount_yuan": "400.00", "paid_at": paid}}
    first = api.post(f"/tasks/{row.pk}/complete", body, key="pay-1")
    again = api.post(f"/tasks/{row.pk}/complete", body, key="pay-1")
    assert first.status_code == again.status_code == 200
    assert again["Idempotent-Replayed"] == "true" and first.json() == again.json()
    assert api.post(f"/tasks/{row.pk}/complete", body).status_code == 409  # no key: done
    notice = PaymentNotice.objects.get(item=row)
    assert notice.status == PaymentStatus.PAID and notice.payment_reference == "SW2026-77"
    assert notice.paid_at is not None and format_time(notice.paid_at) == paid
    assert notice.amount_paid == Decimal("400")
    assert TimelineEntry.objects.filter(case=case, kind="payment_confirmed").count() == 1
    assert AuditRecord.objects.filter(action="payment_confirmed").count() == 1
    assert len(texts(case, "已确认收到城乡居民医保费400元（凭证号SW2026-77）")) == 1
    page = parent_page(case, applicant_phone(case))
    assert 'data-payment="paid"' in page and "SW2026-77" in page


def test_another_regions_tax_client_cannot_confirm(yuanling: Any) -> None:
    _case, row = yuanling
    other = Api(issue("tax", "division", "450703").token)
    answer = other.post(
        f"/tasks/{row.pk}/complete",
        {"result": {"payment_reference": "SW-9", "amount_yuan": "400"}},
    )
    assert answer.status_code == 404
    assert CaseItem.objects.get(pk=row.pk).state == ItemState.READY
    assert PaymentNotice.objects.get(item=row).status == PaymentStatus.UNPAID


def test_reminders_are_sent_once_each_then_overdue_is_visible(yuanling: Any) -> None:
    case, row = yuanling
    deadline = PaymentNotice.objects.get(item=row).deadline
    assert deadline is not None

    def sweep(before: timedelta) -> dict[str, object]:
        return payment_reminders_sweep(deadline - before).as_dict()

    assert sweep(timedelta(days=16))["reminded"] == 0
    assert sweep(timedelta(days=14))["by_days"] == {15: 1}
    assert sweep(timedelta(days=13))["reminded"] == 0  # once
    assert sweep(timedelta(days=2))["by_days"] == {3: 1}
    assert sweep(timedelta(days=1))["reminded"] == 0
    assert len(texts(case, "缴费提醒")) == 2
    assert sweep(-timedelta(minutes=1))["overdue"] == 1
    assert sweep(-timedelta(days=1))["overdue"] == 0  # once
    notice = PaymentNotice.objects.get(item=row)
    assert notice.status == PaymentStatus.OVERDUE and notice.reminders_sent == [15, 3]
    page = parent_page(case, applicant_phone(case))
    assert 'data-payment="overdue"' in page and "已超过缴费期限" in page
    assert len(texts(case, "已超过缴费期限")) == 1


def test_jilin_parents_activate_the_insurance_code_after_payment(example: Any) -> None:
    case = accepted(example("jilin-accept-counter"))
    row = work_until_payment(case)
    notice = PaymentNotice.objects.get(item=row)
    assert notice.amount_yuan is None  # no premium set: the notice says the tax office sets it
    assert notice.deadline is None and notice.activation_name == "激活医保码"
    phone = applicant_phone(case)
    client = Client()
    client.force_login(parent(phone))
    client.post(f"/my/cases/{case.number}/insurance-code/")
    assert PaymentNotice.objects.get(pk=notice.pk).activated_at is None  # not paid yet
    answer = tax_api(row).post(
        f"/tasks/{row.pk}/complete",
        {"result": {"payment_reference": "SW-J1", "amount_yuan": "400"}},
    )
    assert answer.status_code == 200
    page = client.get(f"/my/cases/{case.number}/").content.decode()
    assert 'data-activation="todo"' in page and "国家医保服务平台" in page
    assert len(texts(case, "国家医保服务平台 app激活医保码")) == 1
    response = client.post(f"/my/cases/{case.number}/insurance-code/")
    assert response.status_code == 302
    notice.refresh_from_db()
    assert notice.activated_at is not None and notice.activated_by == "parent"
    page = client.get(f"/my/cases/{case.number}/").content.decode()
    assert 'data-activation="done"' in page
    assert TimelineEntry.objects.filter(case=case, kind="insurance_code_activated").count() == 1


def test_qinbei_lists_its_four_channels_with_the_parents_choice_first(example: Any) -> None:
    document = example("qinbei-accept")
    document["items"].append(PAY)
    document["medical_insurance"]["payment_channel"] = "alipay"
    case = accepted(document)
    row = work_until_payment(case)
    notice = PaymentNotice.objects.get(item=row)
    names = [c["name"] for c in notice.channels]
    assert names[0] == "支付宝支付" and notice.channels[0]["chosen"]
    assert set(names) == {
        "“广西税务12366”微信公众号",
        "微信城市服务",
        "支付宝支付",
        "银行卡（到政务服务大厅税务窗口缴费）",
    }
    assert notice.deadline is None and notice.deadline_note == "请在每年规定的缴费时间内缴纳"
    [sms] = texts(case, "请缴纳")
    assert "支付宝支付（您选择的方式）" in sms and "每年规定的缴费时间" in sms


def test_twins_each_get_a_payment_notice_and_activate_their_own_code(example: Any) -> None:
    """多胞胎 (ADR 0036): each baby is insured and pays its own premium; the parents see two
    notices, each saying whose, and mark each baby's code activated."""
    import copy

    document = example("jilin-accept-counter")
    twin = copy.deepcopy(document["newborns"][0])
    twin.update(name="王二", record_number=str(twin.get("record_number") or "R") + "-2")
    document["newborns"].append(twin)
    case = accepted(document)
    while True:  # every item before the payments, both babies'
        row = CaseItem.objects.filter(case=case, state=ItemState.READY).exclude(item=PAY).first()
        if row is None:
            break
        who = officer(row.department, row.jurisdiction_kind, row.jurisdiction_code)
        item_complete(item_id=row.pk, actor=who, result=RESULTS[row.item])
    rows = list(CaseItem.objects.filter(case=case, item=PAY).order_by("newborn"))
    assert [r.newborn for r in rows] == [0, 1]
    notices = [PaymentNotice.objects.get(item=r) for r in rows]
    client = Client()
    client.force_login(parent(applicant_phone(case)))
    page = client.get(f"/my/cases/{case.number}/").content.decode()
    assert 'id="payment"' in page and 'id="payment-2"' in page and "第二个孩子" in page
    answer = tax_api(rows[1]).post(
        f"/tasks/{rows[1].pk}/complete",
        {"result": {"payment_reference": "SW-J2", "amount_yuan": "400"}},
    )
    assert answer.status_code == 200
    client.post(f"/my/cases/{case.number}/insurance-code/", {"newborn": "1"})
    for notice in notices:
        notice.refresh_from_db()
    assert notices[1].activated_at is not None  # the twin's, paid and activated
    assert notices[0].activated_at is None and notices[0].status == PaymentStatus.UNPAID


# --- what a reminder and an activation cost the database --------------------------------
# Each locks its case with the one case lock (`cases.services.case_locked`), which reads
# the audit stream's last record in the same statement: the record follows it without a
# read of the chain of its own (issue 10, session 24). Real transactions: the test's
# own would keep the last record the setup wrote known. Budgets: statements measured on
# SQLite and PostgreSQL (the larger), one fewer each than before the case lock.
REMINDER_BUDGET = 11
OVERDUE_BUDGET = 11
ACTIVATION_BUDGET = 7


@pytest.mark.django_db(transaction=True)
def test_a_reminder_reads_no_chain_of_its_own(
    yuanling: Any, django_assert_max_num_queries: Any
) -> None:
    case, row = yuanling
    deadline = PaymentNotice.objects.get(item=row).deadline
    assert deadline is not None
    with django_assert_max_num_queries(REMINDER_BUDGET) as queries:
        assert payment_reminders_sweep(deadline - timedelta(days=14)).reminded == 1
    assert audit_chain_reads(queries.captured_queries) == 0
    with django_assert_max_num_queries(OVERDUE_BUDGET) as queries:
        assert payment_reminders_sweep(deadline + timedelta(minutes=1)).overdue == 1
    assert audit_chain_reads(queries.captured_queries) == 0
    assert verify_chain(case.number) == []


@pytest.mark.django_db(transaction=True)
def test_an_activation_reads_no_chain_of_its_own(
    example: Any, django_assert_max_num_queries: Any
) -> None:
    case = accepted(example("jilin-accept-counter"))
    row = work_until_payment(case)
    paid = {"result": {"payment_reference": "SW-J1", "amount_yuan": "400"}}
    assert tax_api(row).post(f"/tasks/{row.pk}/complete", paid).status_code == 200
    with django_assert_max_num_queries(ACTIVATION_BUDGET) as queries:
        notice = insurance_code_activate(case=case, actor=None)
    assert notice.activated_at is not None
    assert audit_chain_reads(queries.captured_queries) == 0
    assert verify_chain(case.number) == []


def test_a_confirmation_reads_its_notice_once(yuanling: Any) -> None:
    """The completion's confirmation check and its notice's payment read the notice in
    one statement (issue 10, session 28, h-elicence: it was read twice), by a statement
    compiled once (not the queryset every time); the notice is paid as before."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from onestop.workflow.payment import _NOTICE_OF, _PREMIUM_OF

    _case, row = yuanling
    paid = format_time(timezone.now() - timedelta(hours=1))
    body = {"result": {"payment_reference": "SW-ONE", "amount_yuan": "400", "paid_at": paid}}
    with CaptureQueriesContext(connection) as queries:
        assert tax_api(row).post(f"/tasks/{row.pk}/complete", body).status_code == 200
    reads = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("SELECT") and '"workflow_paymentnotice"' in q["sql"]
    ]
    assert len(reads) == 1, reads
    notice = PaymentNotice.objects.get(item=row)
    assert notice.status == PaymentStatus.PAID and notice.payment_reference == "SW-ONE"
    assert notice.amount_paid == Decimal("400") and notice.paid_at is not None
    assert format_time(notice.paid_at) == paid
    # Both reads compiled (a stand-in not found would leave the queryset run each time).
    assert _NOTICE_OF._statement_for()[1] is not None
    assert _PREMIUM_OF._statement_for()[1] is not None
    assert _PREMIUM_OF.first("yuanling", to_beijing(timezone.now()).year) is not None
