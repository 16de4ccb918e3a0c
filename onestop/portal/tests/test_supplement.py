"""Supplements from the parents' pages: the 一次性告知 of pre-review, and returned items."""

from __future__ import annotations

import pytest

from onestop.cases.models import Case, CaseStatus, Material
from onestop.cases.services import case_submit
from onestop.portal.tests.support import (
    MOTHER_PHONE,
    NOW,
    PNG,
    fill_qinbei,
    freeze,
    mother_client,
    pdf,
    post,
    step,
)
from onestop.testing.factories import officer
from onestop.workflow.models import CaseItem, ItemState
from onestop.workflow.services import item_return

pytestmark = pytest.mark.django_db


def supplement_url(case: Case) -> str:
    return f"/my/cases/{case.number}/supplement/"


def test_a_supplement_case_submitted_online_is_accepted_after_the_upload(monkeypatch, media_root):
    freeze(monkeypatch)
    client = mother_client()
    fill_qinbei(client, materials=("mother_id_card", "father_id_card", "marriage_certificate"))
    post(client, step("qinbei", "confirm"), {"signer_name": "黄丽", "promise": "on"})
    case = Case.objects.get()
    assert case.status == CaseStatus.SUPPLEMENT
    page = client.get(supplement_url(case)).content.decode()
    assert "缺少申请材料：居民户口簿" in page and "母子健康手册“产时记录”页" in page
    assert 'name="file_household_register"' in page and 'name="file_delivery_record_page"' in page
    response = post(
        client,
        supplement_url(case),
        {"file_household_register": pdf(), "file_delivery_record_page": pdf("page.png", PNG)},
    )
    assert response["Location"] == f"/my/cases/{case.number}/"
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_PROGRESS and case.decision["decision"] == "accept"
    assert case.number.startswith("QINBEI-20261120-")  # the same case keeps its number
    assert Material.objects.filter(case=case, code="delivery_record_page").exists()
    assert "补正已提交，预审结论：予以受理" in client.get(response["Location"]).content.decode()


def test_ethnicity_confirmation_and_materials_settle_the_one_time_notice(
    example, monkeypatch, media_root
):
    freeze(monkeypatch)
    case = case_submit(
        document=example("qinbei-supplement-missing-materials"), actor=None, now=NOW
    ).case
    assert case.status == CaseStatus.SUPPLEMENT
    client = mother_client(MOTHER_PHONE)
    page = client.get(supplement_url(case)).content.decode()
    assert 'name="ethnicity_confirmation_signed_by_mother"' in page
    assert 'name="ethnicity_confirmation_signed_by_father"' not in page  # by SMS link
    files = {
        f"file_{code}": pdf(f"{code}.pdf")
        for code in ("household_register", "marriage_certificate", "delivery_record_page")
    }
    post(
        client,
        supplement_url(case),
        {
            **files,
            "ethnicity_confirmation_ethnicity": "08",
            "ethnicity_confirmation_signed_by_mother": "on",
        },
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_PROGRESS, case.decision
    # The father's signature comes by SMS link: birth registration waits for it (ADR 0029).
    registration = CaseItem.objects.get(case=case, item="birth_registration")
    assert registration.awaiting_confirmation == "father"


def test_fields_named_in_the_notice_can_be_corrected(example, beijing, monkeypatch, media_root):
    when = beijing("2026-11-15T09:00:00+08:00")
    freeze(monkeypatch, when)
    case = case_submit(
        document=example("lanzhou-supplement-unknown-hospital-bad-phone"), actor=None, now=when
    ).case
    assert {r["detail"] for r in case.decision["reasons"]} == {
        "mother.phone",
        "newborns[0].hospital",
    }
    client = mother_client("13700001111")
    page = client.get(supplement_url(case)).content.decode()
    assert 'name="mother_phone"' in page and 'name="newborns_0_hospital"' in page
    assert 'name="father_name"' not in page  # only the fields the notice names
    bad = post(
        client,
        supplement_url(case),
        {"mother_phone": "1380", "newborns_0_hospital": "lanzhou-mch"},
        expect=200,
    ).content.decode()
    assert "手机号码应为以1开头的11位数字" in bad and 'value="1380"' in bad
    post(
        client,
        supplement_url(case),
        {"mother_phone": "13800001111", "newborns_0_hospital": "lanzhou-mch"},
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_PROGRESS, case.decision
    assert case.document["mother"]["phone"] == "13800001111"


def test_a_returned_item_resumes_after_the_supplement(example, beijing, monkeypatch, media_root):
    freeze(monkeypatch, beijing("2026-11-25T15:00:00+08:00"))
    case = case_submit(
        document=example("qinbei-accept"), actor=None, now=beijing("2026-11-20T09:30:00+08:00")
    ).case
    bmc = CaseItem.objects.get(case=case, item="birth_certificate")
    item_return(
        item_id=bmc.pk,
        actor=officer("hospital", "hospital", "qinbei-mch"),
        reasons=["产时记录页不清晰"],
        now=beijing("2026-11-20T11:00:00+08:00"),
    )
    client = mother_client(MOTHER_PHONE)
    progress = client.get(f"/my/cases/{case.number}/").content.decode()
    assert "去补正" in progress
    page = client.get(supplement_url(case)).content.decode()
    assert "产时记录页不清晰" in page
    nothing = post(client, supplement_url(case), {}, expect=200).content.decode()
    assert "请上传补正材料" in nothing
    fake = post(
        client,
        supplement_url(case),
        {"code_0": "delivery_record_page", "file_0": pdf("page.pdf", b"plain text")},
        expect=200,
    ).content.decode()
    assert "只能上传 PDF、JPG 或 PNG" in fake
    post(
        client,
        supplement_url(case),
        {"code_0": "delivery_record_page", "file_0": pdf("page.png", PNG)},
    )
    bmc.refresh_from_db()
    assert bmc.state == ItemState.READY
    assert bmc.due_at == beijing("2026-11-26T23:59:59+08:00")  # the paused clock resumed
    assert len(bmc.pauses) == 1
    assert Material.objects.filter(case=case, code="delivery_record_page", size=len(PNG)).exists()
    # Nothing is left to supplement.
    assert client.get(supplement_url(case))["Location"] == f"/my/cases/{case.number}/"


def test_a_parent_cannot_supplement_someone_elses_case(example, monkeypatch, media_root):
    freeze(monkeypatch)
    case = case_submit(
        document=example("qinbei-supplement-missing-materials"), actor=None, now=NOW
    ).case
    stranger = mother_client("13911112222")
    assert stranger.get(supplement_url(case)).status_code == 404
    response = stranger.post(supplement_url(case), {"file_household_register": pdf()})
    assert response.status_code == 404
    case.refresh_from_db()
    assert case.status == CaseStatus.SUPPLEMENT and case.version == 1


def _files_on_disk(root) -> list[str]:
    return sorted(str(p) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_a_supplement_that_fails_leaves_no_file_behind(example, monkeypatch, media_root):
    """A supplement whose transaction rolls back (nothing to supplement; a later file
    refused) must not leave encrypted orphans on disk that no row refers to."""
    from onestop.cases.services import CaseStateError, case_supplement
    from onestop.cases.uploads import UploadRejected
    from onestop.testing.files import hostile_refused, pdf_bytes

    freeze(monkeypatch)
    case = case_submit(document=example("qinbei-accept"), actor=None, now=NOW).case
    assert case.status == CaseStatus.IN_PROGRESS  # and no item is waiting for a supplement
    before = _files_on_disk(media_root)
    rows = Material.objects.count()
    with pytest.raises(CaseStateError):
        case_supplement(case_id=case.pk, actor=None, files={"household_register": pdf()}, now=NOW)
    assert _files_on_disk(media_root) == before
    name, body, _type = next(iter(hostile_refused().values()))
    good = pdf("ok.pdf", pdf_bytes())
    bad = pdf(name, body)
    bmc = CaseItem.objects.get(case=case, item="birth_certificate")
    item_return(
        item_id=bmc.pk,
        actor=officer("hospital", "hospital", "qinbei-mch"),
        reasons=["请补充户口簿"],
        now=NOW,
    )
    with pytest.raises(UploadRejected):
        case_supplement(
            case_id=case.pk,
            actor=None,
            files={"household_register": good, "marriage_certificate": bad},
            now=NOW,
        )
    assert _files_on_disk(media_root) == before
    assert Material.objects.count() == rows
    assert CaseItem.objects.get(pk=bmc.pk).state == ItemState.RETURNED
