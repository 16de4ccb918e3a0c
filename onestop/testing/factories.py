"""Test helpers that create users with roles and jurisdictions."""

from __future__ import annotations

from itertools import count
from typing import Any

from onestop.accounts.models import Role, User
from onestop.common.fields import index_of

_seq = count(1)

STAFF_PASSWORD = "demo-pass-123"

# A valid result for each item (RESULT_FIELDS), for tests that complete items.
SAMPLE_RESULTS: dict[str, dict[str, str]] = {
    "birth_certificate": {"bmc_number": "Q450123456"},
    "vaccination_certificate": {"certificate_number": "YF2026-0001"},
    "birth_registration": {"hukou_entry": "HK450703-0001"},
    "medical_insurance_enrolment": {"insurance_number": "YB4507030001"},
    "maternity_reimbursement": {"amount_yuan": "3200.00"},
    "social_security_card": {"card_number": "A45070312"},
    "parenting_guidance": {},
    "medical_insurance_payment": {"payment_reference": "SW2026110001", "amount_yuan": "400"},
}


def staff(
    role: str, *, department: str = "", kind: str = "", code: str = "", name: str = ""
) -> User:
    n = next(_seq)
    return User.objects.create_user(
        username=f"{role}-{department or 'x'}-{n}",
        password=STAFF_PASSWORD,
        role=role,
        department=department,
        jurisdiction_kind=kind,
        jurisdiction_code=code,
        display_name=name or f"{role}{n}",
    )


def officer(department: str, kind: str, code: str, name: str = "") -> User:
    return staff(Role.OFFICER, department=department, kind=kind, code=code, name=name)


def parent(phone: str, **extra: Any) -> User:
    return User.objects.create_user(
        username=f"parent-{next(_seq)}",
        role=Role.PARENT,
        phone=phone,
        phone_index=index_of(phone, purpose="phone"),
        **extra,
    )


def finished_by_officers(document: dict[str, Any], now: Any) -> Any:
    """A case of ``document`` (its dates already moved to ``now`` by the caller, with
    ``onestop.ops.demo.shift_dates``: this package sits beside ``ops`` and does not import
    it) submitted, then each of its items completed by an officer of the item's desk
    through the task page with the sample result: the case, completed."""
    from django.test import Client

    from onestop.cases.services import case_submit
    from onestop.workflow.models import CaseItem

    case = case_submit(document=document, actor=None, now=now).case
    for key in document["items"]:
        item = CaseItem.objects.get(case=case, item=key)
        client = Client()
        client.force_login(officer(item.department, item.jurisdiction_kind, item.jurisdiction_code))
        answer = client.post(
            f"/work/tasks/{item.pk}/complete/", {"version": item.version, **SAMPLE_RESULTS[key]}
        )
        assert answer.status_code == 302, answer.status_code
    case.refresh_from_db()
    assert case.status == "completed", case.status
    return case
