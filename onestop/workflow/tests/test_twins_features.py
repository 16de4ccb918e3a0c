"""Twins (多胞胎, ADR 0036) with the features merged after it: the Fuzhou preview and
e-signature (ADR 0035), the social security card (ADR 0037), ratings (ADR 0038) and
corrections (ADR 0042) — each works per baby, on a real database."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from onestop.cases.models import Case, SscApplication, TimelineEntry
from onestop.cases.services import case_submit
from onestop.certificates.preview import preview_documents, signed_preview_for
from onestop.corrections.services import correction_approve, correction_request
from onestop.ratings.models import Rating
from onestop.ratings.services import Given, RatingRefused, case_rate
from onestop.testing.factories import SAMPLE_RESULTS as RESULTS
from onestop.testing.factories import officer, parent
from onestop.testing.preview import preview_sign
from onestop.workflow.card import card_status_report
from onestop.workflow.models import CardProduction, CaseItem, ItemState
from onestop.workflow.services import item_complete
from onestop.workflow.tests.test_twins import twins

pytestmark = pytest.mark.django_db

SUBMITTED = "2026-11-20T09:30:00+08:00"


def officer_for(item: CaseItem):
    return officer(item.department, item.jurisdiction_kind, item.jurisdiction_code)


def row(case: Case, item: str, newborn: int) -> CaseItem:
    return CaseItem.objects.get(case=case, item=item, newborn=newborn)


def complete(item: CaseItem, now, **result: Any) -> None:
    item_complete(
        item_id=item.pk, actor=officer_for(item), result={**RESULTS[item.item], **result}, now=now
    )


def qinbei_twins(example, beijing, items: list[str] | None = None) -> Case:
    document = twins(example("qinbei-accept"))
    if items is not None:
        document["items"] = items
    case = case_submit(document=document, actor=None, now=beijing(SUBMITTED)).case
    assert case.status == "in_progress", case.decision
    return case


def test_fuzhou_twins_one_signature_covers_each_babys_documents_and_releases_each_bmc(
    example, beijing, media_root
):
    """Seed 003: "生成《出生医学证明》…预览页面，一并推送给申请人确认签字（电子签名）" — with
    twins, each baby's three previews, one signature, every BMC row released."""
    document = example("fuzhou-accept")
    second = copy.deepcopy(document["newborns"][0])
    second.update(name="林二", record_number=second["record_number"] + "B")
    document["newborns"].append(second)
    case = case_submit(document=document, actor=None, now=beijing(SUBMITTED)).case
    assert case.status == "in_progress", case.decision
    bmcs = list(CaseItem.objects.filter(case=case, item="birth_certificate").order_by("newborn"))
    assert [(r.state, r.awaiting_confirmation) for r in bmcs] == [("waiting", "preview")] * 2
    preview = case.preview_confirmation
    documents = preview_documents(case, preview.documents_kinds)
    assert len(documents) == 2 * len(preview.documents_kinds)
    assert [d.newborn for d in documents] == [0] * 3 + [1] * 3
    assert all("第二个孩子" in d.title for d in documents[3:])
    assert dict(documents[3].rows)["新生儿姓名"] == "林二"

    preview_sign(case, now=beijing(SUBMITTED))

    bmcs = list(CaseItem.objects.filter(case=case, item="birth_certificate").order_by("newborn"))
    # released (秒批 finds no delivery record here: both go to the hospital)
    assert [r.awaiting_confirmation for r in bmcs] == ["", ""]
    assert [r.state for r in bmcs] == [ItemState.READY, ItemState.READY]
    # each baby's task sees only its own baby's signed documents
    view = signed_preview_for(bmcs[1])
    assert view is not None and view.evidence["valid"]
    assert view.documents and all(d.newborn == 1 for d in view.documents)
    assert dict(view.documents[0].rows)["新生儿姓名"] == "林二"
    first = signed_preview_for(bmcs[0])
    assert first is not None and all(d.newborn == 0 for d in first.documents)


def test_twins_rate_each_babys_step_once(example, beijing, media_root):
    """ADR 0038 "one rating per case and step": with twins each baby's step is a step."""
    case = qinbei_twins(example, beijing, ["birth_certificate", "birth_registration"])
    now = beijing("2026-11-20T10:00:00+08:00")
    numbers = iter(["Q000000011", "Q000000012"])
    for _ in range(4):
        for item in CaseItem.objects.filter(case=case, state=ItemState.READY):
            extra = {"bmc_number": next(numbers)} if item.item == "birth_certificate" else {}
            complete(item, now, **extra)
    case.refresh_from_db()
    assert case.status == "completed"
    mother = parent("13800000000")
    case_rate(
        case=case,
        actor=mother,
        given=[Given("birth_certificate", 5), Given("birth_certificate-2", 4)],
    )
    rated = dict(Rating.objects.filter(case=case).values_list("step", "item__newborn"))
    assert rated == {"birth_certificate": 0, "birth_certificate-2": 1}
    with pytest.raises(RatingRefused):
        case_rate(case=case, actor=mother, given=[Given("birth_certificate-2", 1)])
    line = TimelineEntry.objects.filter(case=case, kind="rated").get().message
    assert "第二个孩子" in line and "birth_certificate" not in line


def test_a_correction_of_baby_twos_certificate_tells_only_baby_twos_registration(
    example, beijing, media_root
):
    """ADR 0042 with twins: the corrected licence names only its baby, and the later items
    told of it are that baby's."""
    case = qinbei_twins(example, beijing, ["birth_certificate", "birth_registration"])
    now = beijing("2026-11-20T10:00:00+08:00")
    complete(row(case, "birth_certificate", 0), now, bmc_number="Q000000011")
    complete(row(case, "birth_certificate", 1), now, bmc_number="Q000000012")
    complete(row(case, "birth_registration", 0), now)
    complete(row(case, "birth_registration", 1), now)
    target = row(case, "birth_certificate", 1)
    correction = correction_request(
        item_id=target.pk,
        actor=parent("13800000000"),
        field="newborn_name",
        value="覃沐晴",
        reason="名字错了一个字",
    )
    done = correction_approve(correction_id=correction.pk, actor=officer_for(target))
    corrected = done.corrected_licence
    assert corrected is not None and corrected.item_id == target.pk
    assert corrected.serial.endswith("-C1")
    assert [n["name"] for n in corrected.payload["subject"]["newborns"]] == ["覃沐晴"]
    told = list(done.notices.values_list("item__item", "item__newborn"))
    assert told == [("birth_registration", 1)]
    # baby one's licence is untouched and still in force
    first = row(case, "birth_certificate", 0)
    assert first.elicences.filter(superseded_at__isnull=True).count() == 1
    assert first.elicences.count() == 1


def test_each_twins_card_has_its_own_production_record_and_application(
    example, beijing, media_root
):
    """ADR 0037 with twins: a card per baby; a card made issues only that baby's
    application (seed 002 (五): 未在其他渠道或省市申领社会保障卡的新生儿)."""
    from onestop.reference.services import reference_seed

    reference_seed()
    case = qinbei_twins(example, beijing)
    now = beijing("2026-11-20T10:00:00+08:00")
    numbers = iter(["Q000000011", "Q000000012"])
    for _ in range(8):
        ready = CaseItem.objects.filter(case=case, state=ItemState.READY).exclude(
            item="social_security_card"
        )
        for item in ready:
            extra = {"bmc_number": next(numbers)} if item.item == "birth_certificate" else {}
            complete(item, now, **extra)
    cards = list(
        CaseItem.objects.filter(case=case, item="social_security_card").order_by("newborn")
    )
    assert [c.state for c in cards] == [ItemState.READY, ItemState.READY]
    assert CardProduction.objects.filter(item__in=cards).count() == 2
    card_status_report(item_id=cards[1].pk, actor=officer_for(cards[1]), status="made", now=now)
    statuses = dict(CardProduction.objects.filter(case=case).values_list("item__newborn", "status"))
    assert statuses == {0: "applied", 1: "made"}
    issued = set(
        SscApplication.objects.filter(case=case, issued=True).values_list("position", flat=True)
    )
    assert issued == {1}
    # by a statement compiled once (issue 10, session 28), not Django's query each time
    from django.db import connection

    from onestop.cases.claims import _ISSUING, ssc_claims_issue
    from onestop.common.compiled import Statement

    assert isinstance(_ISSUING.find(("default", connection.vendor, True)), Statement)
    first = SscApplication.objects.filter(case=case, active=True, position=0).count()
    assert first and ssc_claims_issue(case, 0) == first  # the other baby's rows only
    issued = set(
        SscApplication.objects.filter(case=case, issued=True).values_list("position", flat=True)
    )
    assert issued == {0, 1}
    line = TimelineEntry.objects.filter(case=case, kind="card_status").get().message
    assert "第二个孩子" in line
