"""The audit chain records every change of a case and detects tampering."""

from __future__ import annotations

import pytest

from onestop.audit.models import AuditRecord
from onestop.audit.services import verify_chain
from onestop.cases.services import case_submit
from onestop.testing.factories import officer
from onestop.workflow.models import CaseItem
from onestop.workflow.services import item_complete

pytestmark = pytest.mark.django_db


def test_changes_are_chained_and_an_edit_is_detected(example, beijing, media_root, tamper):
    case = case_submit(
        document=example("qinbei-accept"), actor=None, now=beijing("2026-11-20T09:30:00+08:00")
    ).case
    bmc = CaseItem.objects.get(case=case, item="birth_certificate")
    item_complete(
        item_id=bmc.pk,
        actor=officer("hospital", "hospital", "qinbei-mch"),
        result={"bmc_number": "Q450123456"},
        now=beijing("2026-11-20T10:00:00+08:00"),
    )
    records = list(AuditRecord.objects.filter(stream=case.number).order_by("seq"))
    assert [r.action for r in records] == ["case_submitted", "item_completed"]
    assert verify_chain(case.number) == []
    # No personal data in audit details.
    assert "450703199203150220" not in str([r.detail for r in records])
    with tamper():  # on PostgreSQL only the database owner, past the triggers, can edit
        AuditRecord.objects.filter(pk=records[0].pk).update(action="case_withdrawn")
    assert any("改动" in p for p in verify_chain(case.number))


def test_a_deleted_record_breaks_the_chain(example, beijing, media_root, tamper):
    case = case_submit(
        document=example("qinbei-accept"), actor=None, now=beijing("2026-11-20T09:30:00+08:00")
    ).case
    bmc = CaseItem.objects.get(case=case, item="birth_certificate")
    item_complete(
        item_id=bmc.pk,
        actor=officer("hospital", "hospital", "qinbei-mch"),
        result={"bmc_number": "Q450123456"},
        now=beijing("2026-11-20T10:00:00+08:00"),
    )
    with tamper():
        AuditRecord.objects.filter(stream=case.number, seq=1).delete()
    assert verify_chain(case.number) != []
