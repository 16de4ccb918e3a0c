"""免申即享: items a pack grants without application complete by themselves, with the
reason on the timeline (jilin: "预防接种证办理、生育医疗费用报销在助产机构实行“免申即享”")."""

from __future__ import annotations

import pytest

from onestop.cases.models import TimelineEntry
from onestop.cases.services import case_submit
from onestop.workflow.models import CaseItem

pytestmark = pytest.mark.django_db


def test_jilin_vaccination_and_maternity_are_granted_without_anyone_acting(
    example, beijing, media_root
):
    document = example("jilin-accept-counter")
    document["items"] += ["vaccination_certificate", "maternity_reimbursement"]
    document["maternity"] = {"plurality": 1, "delivery_mode": "natural", "payout": "ssc"}
    case = case_submit(document=document, actor=None, now=beijing("2026-11-17T14:00:00+08:00")).case
    assert case.status == "in_progress", case.decision
    items = {i.item: i for i in CaseItem.objects.filter(case=case)}
    for code in ("vaccination_certificate", "maternity_reimbursement"):
        assert items[code].state == "done"
        assert items[code].automatic
        assert items[code].claimed_by is None
        assert items[code].elicences.get().kind == code
    assert items["birth_registration"].state == "ready"
    reasons = TimelineEntry.objects.filter(case=case, kind="automatic")
    assert reasons.count() == 2
    assert all("免申即享" in t.message for t in reasons)
