"""Maternity reimbursement (issue 11 promise 5, docs/adr/0037), through HTTP: plurality and
delivery mode captured, the payout account encrypted at rest and masked on screen except
for the medical-insurance officer who pays, the amount the officer enters, its payment
recorded (workbench and API), and the SMS saying how much went where."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from onestop.audit.models import AccessRecord
from onestop.cases.models import Case
from onestop.core.clock import format_time
from onestop.integration.tests.support import Api, issue
from onestop.testing.factories import officer
from onestop.workflow.models import CaseItem, ItemState
from onestop.workflow.tests.test_social_security_card import (
    accepted,
    parent_page,
    sms_to_applicant,
    work_until,
)

pytestmark = pytest.mark.django_db

MAT = "maternity_reimbursement"
ACCOUNT = "6217000010001234567"  # lanzhou-accept.json: payout to a 建设银行 account


@pytest.fixture
def lanzhou(example: Any) -> tuple[Case, CaseItem]:
    case = accepted(example("lanzhou-accept"))
    return case, work_until(case, MAT)


def insurance_api(row: CaseItem) -> Api:
    return Api(issue("medical_insurance", row.jurisdiction_kind, row.jurisdiction_code).token)


def test_the_account_is_encrypted_at_rest(lanzhou: Any) -> None:
    case, _row = lanzhou
    with connection.cursor() as cursor:
        cursor.execute("SELECT document FROM cases_case WHERE id = %s", [case.pk])
        (raw,) = cursor.fetchone()
    assert ACCOUNT not in str(raw) and "1234567" not in str(raw)
    assert case.typed_document().maternity is not None
    assert case.typed_document().maternity.account_number == ACCOUNT


def test_the_paying_officer_sees_the_account_the_parents_see_it_masked(lanzhou: Any) -> None:
    case, row = lanzhou
    client = Client()
    pays = officer("medical_insurance", row.jurisdiction_kind, row.jurisdiction_code)
    client.force_login(pays)
    page = client.get(f"/work/tasks/{row.pk}/").content.decode()
    assert ACCOUNT in page and "剖宫产" in page and "建设银行" in page
    assert AccessRecord.objects.filter(
        actor=pays, case_number=case.number, what=f"task:{MAT}", granted=True
    ).exists()
    mine = parent_page(case)
    assert ACCOUNT not in mine and "尾号 4567 的银行账户（建设银行）" in mine
    assert 'data-maternity="ready"' in mine
    # The API gives the paying system the plurality, delivery mode and account it needs.
    data = insurance_api(row).get(f"/tasks/{row.pk}").json()["data"]["maternity"]
    assert data["plurality"] == 1 and data["delivery_mode"] == "cesarean"
    assert data["payout"] == "bank" and data["account_number"] == ACCOUNT


def test_the_payment_over_the_api_and_the_sms_says_how_much_went_where(lanzhou: Any) -> None:
    case, row = lanzhou
    api = insurance_api(row)
    future = format_time(timezone.now() + timedelta(days=2))
    late = api.post(
        f"/tasks/{row.pk}/complete", {"result": {"amount_yuan": "3560.50", "paid_at": future}}
    )
    assert late.status_code == 422
    assert late.json()["problems"][0]["code"] == "time_in_future"
    result = {"amount_yuan": "3560.50", "payment_reference": "SY2026110001"}
    done = api.post(f"/tasks/{row.pk}/complete", {"result": result})
    assert done.status_code == 200, done.json()
    row.refresh_from_db()
    assert row.state == ItemState.DONE and row.result["amount_yuan"] == "3560.50"
    [sms] = sms_to_applicant(case, "生育津贴")
    assert "已将生育津贴3560.50元支付至您尾号 4567 的银行账户（建设银行）" in sms
    assert ACCOUNT not in sms
    page = parent_page(case)
    assert "已将生育津贴3560.50元支付至您尾号 4567 的银行账户" in page and ACCOUNT not in page


def test_the_workbench_records_a_payment_to_the_mothers_card(example: Any) -> None:
    """Qinbei's mother chose 发放至母亲社会保障卡: the SMS names the card, no account."""
    case = accepted(example("qinbei-accept"))
    row = work_until(case, MAT)
    client = Client()
    client.force_login(officer("medical_insurance", row.jurisdiction_kind, row.jurisdiction_code))
    response = client.post(
        f"/work/tasks/{row.pk}/complete/", {"version": row.version, "amount_yuan": "2800"}
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.state == ItemState.DONE
    [sms] = sms_to_applicant(case, "生育津贴")
    assert "已将生育津贴2800元支付至您的社会保障卡金融账户" in sms
