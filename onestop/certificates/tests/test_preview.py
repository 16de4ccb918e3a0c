"""预览确认签字 (issue 11 promise 1, ADR 0035): in Fuzhou the birth certificate waits after
acceptance until the applicant has read the three previews and e-signed them (seed 003:
"生成《出生医学证明》，《出生医学证明首次签发登记表》和《常住人口登记表》……预览页面，一并推送给
申请人确认签字（电子签名）……申请人确认无误后，服务平台将有关申请信息推送至助产机构"); asking
for a correction sends it offline ("不符合要求的，通知申请人转线下办理"). Other regions are
unchanged. Driven over HTTP as the parents do, checking the database."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.test import Client
from pypdf import PdfReader

from onestop.audit.models import AccessRecord, AuditRecord
from onestop.audit.services import verify_chain
from onestop.cases.models import Case, TimelineEntry
from onestop.cases.services import case_submit
from onestop.certificates.models import ELicence
from onestop.certificates.preview import (
    documents_json,
    preview_correct,
    preview_digest,
    preview_documents,
    preview_evidence,
)
from onestop.certificates.printing import elicence_pdf
from onestop.common.fields import index_of
from onestop.core.written import written
from onestop.hospitals.services import delivery_record_upsert
from onestop.integration.tests.support import current
from onestop.notifications.models import Notification
from onestop.testing.costs import audit_chain_reads
from onestop.testing.factories import officer, parent
from onestop.workflow.models import CaseItem, ItemState, PreviewConfirmation

pytestmark = pytest.mark.django_db

MOTHER = "15800006666"  # the applicant of fuzhou-accept
FATHER = "15800007777"


def _with_record(document: dict[str, Any]) -> dict[str, Any]:
    baby, mother = document["newborns"][0], document["mother"]
    delivery_record_upsert(
        hospital=baby["hospital"],
        record_number=baby["record_number"],
        mother_id_number=mother["id_number"],
        data={"born_at": baby["born_at"], "sex": baby["sex"], "weight_g": baby["weight_g"]},
    )
    return document


def fuzhou_case(example: Any) -> Case:
    document = _with_record(current(example("fuzhou-accept")))
    case = case_submit(document=document, actor=None).case
    assert case.status == "in_progress", case.decision
    return case


def _sms(phone: str) -> list[str]:
    index = index_of(phone, purpose="phone")
    rows = Notification.objects.filter(channel="sms", phone_index=index).order_by("pk")
    return [row.body for row in rows]


def _client(phone: str) -> Client:
    client = Client()
    client.force_login(parent(phone))
    return client


def _bmc(case: Case) -> CaseItem:
    return CaseItem.objects.get(case=case, item="birth_certificate")


def _sign(client: Client, case: Case, phone: str, *, name: str = "陈静") -> Any:
    url = f"/my/cases/{case.number}/preview/"
    page = client.get(url)
    assert page.status_code == 200
    digest = re.search(r'name="digest" value="([0-9a-f]{64})"', page.content.decode())
    assert digest is not None
    client.post(url, {"action": "send_code"})
    code = re.findall(r"验证码是 (\d{6})", _sms(phone)[-1])[-1]
    return client.post(
        url, {"action": "confirm", "digest": digest.group(1), "name": name, "code": code}
    )


def test_the_pack_makes_fuzhou_alone_wait_for_the_preview():
    from onestop.policy.loader import default_packs

    registry = default_packs()
    for region in registry.regions:
        pack = registry.current(region)
        assert pack is not None
        entries = [e for e in pack.items if e.preview_before_issue is not None]
        if region == "fuzhou":
            assert [e.item for e in entries] == ["birth_certificate"]
            rule = entries[0].preview_before_issue
            assert rule is not None and "确认签字（电子签名）" in rule.cite
            assert "转线下办理" in rule.mismatch_cite
        else:
            assert entries == []


def test_after_acceptance_the_bmc_waits_and_the_applicant_is_told(example, media_root):
    case = fuzhou_case(example)
    bmc = _bmc(case)
    # the delivery record matches (秒批 possible), yet nothing is issued before the signature
    assert bmc.state == ItemState.WAITING and bmc.awaiting_confirmation == "preview"
    assert bmc.received_at is None and not ELicence.objects.filter(case=case).exists()
    assert CaseItem.objects.get(case=case, item="vaccination_certificate").state == "ready"
    preview = PreviewConfirmation.objects.get(case=case)
    assert preview.state == "pending"
    sms = _sms(MOTHER)
    assert any("预览" in s and f"/my/cases/{case.number}/preview/" in s for s in sms)
    assert not any("预览" in s for s in _sms(FATHER))  # the applicant signs, not the father
    page = _client(MOTHER).get(f"/my/cases/{case.number}/")
    text = page.content.decode()
    assert "等待申请人确认签字" in text and f"/my/cases/{case.number}/preview/" in text


def test_the_preview_page_shows_three_documents_as_people_read_them(example, media_root):
    case = fuzhou_case(example)
    client = _client(MOTHER)
    text = client.get(f"/my/cases/{case.number}/preview/").content.decode()
    titles = ["《出生医学证明》", "《出生医学证明首次签发登记表》", "《常住人口登记表》"]
    positions = [text.index(t) for t in titles]
    assert positions == sorted(positions)  # the order of the paper forms
    assert "福建省妇幼保健院" in text and "福建省福州市鼓楼区" in text  # names, not codes
    assert "fujian-mch" not in text and "fuzhou-ps" not in text
    born = case.typed_document().newborns[0].born_at
    assert born is not None
    assert written(born) in text and born.isoformat()[:10] not in text  # dates written
    assert "汉族" in text
    assert "350102199109090249" not in text  # ID numbers masked on screen
    assert AccessRecord.objects.filter(case_number=case.number, what="portal:preview").exists()
    pdf = client.get(f"/my/cases/{case.number}/preview/birth_certificate.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert client.get(f"/my/cases/{case.number}/preview/other.pdf").status_code == 404


def test_confirmation_releases_the_bmc_and_seals_the_evidence(example, media_root):
    case = fuzhou_case(example)
    client = _client(MOTHER)
    response = _sign(client, case, MOTHER)
    assert response.status_code == 302
    preview = PreviewConfirmation.objects.get(case=case)
    assert preview.state == "confirmed" and preview.signer is not None
    expected = preview_digest(documents_json(preview_documents(case, preview.documents_kinds)))
    assert preview.digest == expected and len(expected) == 64
    assert preview.algorithm and preview.key_id.startswith("platform")
    # released: 秒批 checked the delivery record and issued at once
    bmc = _bmc(case)
    assert bmc.state == ItemState.DONE and bmc.awaiting_confirmation == ""
    assert bmc.result["bmc_number"].startswith("F")
    evidence = preview_evidence(preview)
    assert evidence is not None and evidence["valid"] and evidence["digest"] == expected
    assert AuditRecord.objects.filter(stream=case.number, action="preview_confirmed").exists()
    assert TimelineEntry.objects.filter(case=case, kind="preview_confirmed").exists()
    # the online Fuzhou BMC carries no sub-page and the stub note
    licence = ELicence.objects.get(case=case, kind="birth_certificate")
    assert licence.payload["remarks"] == {
        "副页": "无副页（存根和副页留存助产机构）",
        "存根备注": "线上办理",
    }
    assert '"remarks"' in licence.sealed and "线上办理" in licence.sealed
    assert elicence_pdf(licence) is not None


def test_a_tampered_signed_content_no_longer_verifies(example, media_root):
    case = fuzhou_case(example)
    _sign(_client(MOTHER), case, MOTHER)
    preview = PreviewConfirmation.objects.get(case=case)
    content = preview.documents
    content[0]["rows"][0][1] = "王五"
    preview.documents = content
    preview.save()
    evidence = preview_evidence(preview)
    assert evidence is not None and not evidence["valid"]


def test_a_second_confirmation_changes_nothing(example, media_root):
    case = fuzhou_case(example)
    client = _client(MOTHER)
    _sign(client, case, MOTHER)
    before = PreviewConfirmation.objects.get(case=case)
    audits = AuditRecord.objects.filter(stream=case.number).count()
    licences = ELicence.objects.filter(case=case).count()
    again = client.post(
        f"/my/cases/{case.number}/preview/",
        {"action": "confirm", "digest": before.digest, "name": "陈静", "code": "000000"},
    )
    assert again.status_code == 302
    after = PreviewConfirmation.objects.get(case=case)
    assert (after.decided_at, after.sealed, after.signature) == (
        before.decided_at,
        before.sealed,
        before.signature,
    )
    assert AuditRecord.objects.filter(stream=case.number).count() == audits
    assert ELicence.objects.filter(case=case).count() == licences


def test_the_father_cannot_sign_for_the_applicant(example, media_root):
    case = fuzhou_case(example)
    client = _client(FATHER)  # a parent of the case: may read, may not sign
    page = client.get(f"/my/cases/{case.number}/preview/")
    assert page.status_code == 200 and "只能由申请人本人" in page.content.decode()
    digest = PreviewConfirmation.objects.get(case=case)
    response = client.post(
        f"/my/cases/{case.number}/preview/",
        {"action": "confirm", "digest": "0" * 64, "name": "陈静", "code": "123456"},
    )
    assert response.status_code == 403
    refused = client.post(
        f"/my/cases/{case.number}/preview/", {"action": "correct", "reason": "姓名错误"}
    )
    assert refused.status_code == 403
    digest.refresh_from_db()
    assert digest.state == "pending"
    assert _bmc(case).awaiting_confirmation == "preview"


def test_staff_and_strangers_cannot_open_or_sign(example, media_root):
    case = fuzhou_case(example)
    stranger = _client("13700001111")
    assert stranger.get(f"/my/cases/{case.number}/preview/").status_code == 404
    post = stranger.post(f"/my/cases/{case.number}/preview/", {"action": "correct", "reason": "x"})
    assert post.status_code == 404
    staff = Client()
    staff.force_login(officer("hospital", "hospital", "fujian-mch"))
    assert staff.get(f"/my/cases/{case.number}/preview/").status_code == 404
    assert AccessRecord.objects.filter(
        case_number=case.number, what="portal:preview", granted=False
    ).exists()
    assert PreviewConfirmation.objects.get(case=case).state == "pending"


def test_a_wrong_name_or_changed_content_is_refused(example, media_root):
    case = fuzhou_case(example)
    client = _client(MOTHER)
    assert _sign(client, case, MOTHER, name="李四").status_code == 400
    assert PreviewConfirmation.objects.get(case=case).state == "pending"
    client.post(f"/my/cases/{case.number}/preview/", {"action": "send_code"})
    code = re.findall(r"验证码是 (\d{6})", _sms(MOTHER)[-1])[-1]
    stale = client.post(
        f"/my/cases/{case.number}/preview/",
        {"action": "confirm", "digest": "f" * 64, "name": "陈静", "code": code},
    )
    assert stale.status_code == 400 and "预览内容已更新" in stale.content.decode()
    assert _bmc(case).state == ItemState.WAITING


def test_a_correction_sends_the_bmc_offline(example, media_root):
    case = fuzhou_case(example)
    client = _client(MOTHER)
    url = f"/my/cases/{case.number}/preview/"
    assert client.post(url, {"action": "correct", "reason": " "}).status_code == 400
    response = client.post(url, {"action": "correct", "reason": "新生儿出生时间有误"})
    assert response.status_code == 302
    preview = PreviewConfirmation.objects.get(case=case)
    assert preview.state == "correction" and preview.reason == "新生儿出生时间有误"
    bmc = _bmc(case)
    assert bmc.state == ItemState.REFUSED and "新生儿出生时间有误" in bmc.reasons[0]
    registration = CaseItem.objects.get(case=case, item="birth_registration")
    assert registration.state == ItemState.CANCELLED
    assert not ELicence.objects.filter(case=case, kind="birth_certificate").exists()
    # the applicant is told where to go instead (原渠道)
    assert any("到分娩的助产机构线下申领" in s for s in _sms(MOTHER))
    assert AuditRecord.objects.filter(stream=case.number, action="preview_correction").exists()
    # and cannot sign afterwards: the form is gone, a forged post is refused
    page = client.get(url).content.decode()
    assert 'name="digest"' not in page and "转线下办理" in page
    client.post(url, {"action": "send_code"})
    code = re.findall(r"验证码是 (\d{6})", _sms(MOTHER)[-1])[-1]
    forged = client.post(
        url, {"action": "confirm", "digest": "0" * 64, "name": "陈静", "code": code}
    )
    assert forged.status_code == 400
    assert PreviewConfirmation.objects.get(case=case).state == "correction"


def test_other_regions_issue_as_before(example, media_root):
    case = case_submit(document=current(example("qinbei-accept")), actor=None).case
    assert not PreviewConfirmation.objects.filter(case=case).exists()
    assert not CaseItem.objects.filter(case=case, awaiting_confirmation="preview").exists()
    assert CaseItem.objects.get(case=case, item="birth_certificate").state == "ready"


def _done_before_registration(case: Case) -> CaseItem:
    from onestop.workflow.services import item_complete

    item_complete(
        item_id=CaseItem.objects.get(case=case, item="vaccination_certificate").pk,
        actor=officer("hospital", "hospital", "fujian-mch"),
        result={"certificate_number": "YF2026-0001"},
    )
    registration = CaseItem.objects.get(case=case, item="birth_registration")
    assert registration.state == ItemState.READY
    return registration


def test_the_hospital_and_the_police_see_the_signature_and_the_registration_form(
    example, media_root
):
    from onestop.integration.tests.support import Api, issue

    case = fuzhou_case(example)
    before = Client()
    before.force_login(officer("hospital", "hospital", "fujian-mch"))
    bmc = _bmc(case)
    page = before.get(f"/work/tasks/{bmc.pk}/")
    assert page.status_code in (200, 404)  # waiting: not the hospital's yet
    assert "申请人确认签字" not in page.content.decode()
    _sign(_client(MOTHER), case, MOTHER)
    preview = PreviewConfirmation.objects.get(case=case)

    hospital = Client()
    hospital.force_login(officer("hospital", "hospital", "fujian-mch"))
    text = hospital.get(f"/work/tasks/{bmc.pk}/").content.decode()
    assert 'id="signed-preview" data-valid="1"' in text and preview.digest in text
    # the hospital archives the signed BMC and register, not the police's form
    assert 'data-document="bmc_first_issue_register"' in text
    assert 'data-document="household_registration_form"' not in text
    archive = hospital.get(f"/work/tasks/{bmc.pk}/signed/bmc_first_issue_register.pdf")
    assert archive.status_code == 200 and archive["Content-Type"] == "application/pdf"
    signed_text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(archive.content)).pages)
    assert "申请人已签字确认" in signed_text and preview.digest in signed_text
    assert "不作凭证" not in signed_text
    assert AccessRecord.objects.filter(
        case_number=case.number, what="signed:bmc_first_issue_register", granted=True
    ).exists()
    missing = hospital.get(f"/work/tasks/{bmc.pk}/signed/household_registration_form.pdf")
    assert missing.status_code == 404

    registration = _done_before_registration(case)
    police = Client()
    police.force_login(officer("police", "police_station", "fuzhou-ps"))
    text = police.get(f"/work/tasks/{registration.pk}/").content.decode()
    assert 'data-valid="1"' in text and 'data-document="household_registration_form"' in text
    assert "家庭户" in text and "福州市晋安区福新路66号" in text
    form_pdf = police.get(f"/work/tasks/{registration.pk}/signed/household_registration_form.pdf")
    assert form_pdf.status_code == 200
    # another station's officer cannot read it
    other = Client()
    other.force_login(officer("police", "police_station", "qinbei-xintang"))
    assert (
        other.get(
            f"/work/tasks/{registration.pk}/signed/household_registration_form.pdf"
        ).status_code
        == 404
    )

    api = Api(issue("police", "police_station", "fuzhou-ps").token)
    body = api.get(f"/tasks/{registration.pk}").json()
    signed = body["signed_preview"]
    assert signed["valid"] and signed["digest"] == preview.digest
    (form,) = signed["documents"]
    assert form["kind"] == "household_registration_form"
    assert ["户别", "家庭户"] in form["rows"]
    # an item that did not wait for the preview sees none of it
    medical = CaseItem.objects.get(case=case, item="maternity_reimbursement")
    from onestop.certificates.preview import signed_preview_for

    assert signed_preview_for(medical) is None


def test_an_item_no_longer_held_cannot_be_signed(example, media_root):
    case = fuzhou_case(example)
    bmc = _bmc(case)
    bmc.state, bmc.awaiting_confirmation = ItemState.CANCELLED, ""
    bmc.save()
    client = _client(MOTHER)
    url = f"/my/cases/{case.number}/preview/"
    assert 'name="digest"' not in client.get(url).content.decode()  # no form offered
    client.post(url, {"action": "send_code"})
    code = re.findall(r"验证码是 (\d{6})", _sms(MOTHER)[-1])[-1]
    digest = preview_digest(documents_json(preview_documents(case, ["birth_certificate",
        "bmc_first_issue_register", "household_registration_form"])))  # fmt: skip
    response = client.post(
        url, {"action": "confirm", "digest": digest, "name": "陈静", "code": code}
    )
    assert response.status_code == 400
    assert PreviewConfirmation.objects.get(case=case).state == "pending"
    assert not ELicence.objects.filter(case=case, kind="birth_certificate").exists()


def test_an_unsigned_preview_is_reminded_once_a_day_after(example, media_root):
    """Nobody notices a preview left unsigned (the BMC and every item after it wait): a day
    after, the periodic job reminds the applicant once; a signed preview is never reminded."""
    from datetime import timedelta

    from onestop.workflow.preview import preview_reminders_sweep

    case = fuzhou_case(example)
    preview = PreviewConfirmation.objects.get(case=case)
    before = len(_sms(MOTHER))
    assert preview_reminders_sweep(now=preview.created_at + timedelta(hours=23)) == {"reminded": 0}
    later = preview.created_at + timedelta(days=1, minutes=5)
    assert preview_reminders_sweep(now=later) == {"reminded": 1}
    assert preview_reminders_sweep(now=later + timedelta(days=2)) == {"reminded": 0}
    preview.refresh_from_db()
    assert preview.reminded_at == later and preview.state == "pending"
    sent = _sms(MOTHER)[before:]
    assert len(sent) == 1 and f"/my/cases/{case.number}/preview/" in sent[0]
    assert not any("预览" in s for s in _sms(FATHER))
    assert AuditRecord.objects.filter(stream=case.number, action="preview_reminded").count() == 1
    assert TimelineEntry.objects.filter(case=case, kind="preview_reminded").count() == 1
    # Signed in time: no reminder.
    _sign(_client(MOTHER), case, MOTHER)
    signed = PreviewConfirmation.objects.get(case=case)
    assert signed.state == "confirmed"
    signed.reminded_at = None  # as if it had never been reminded: still nothing to do
    signed.save(update_fields=["reminded_at"])
    assert preview_reminders_sweep(now=signed.created_at + timedelta(days=3)) == {"reminded": 0}


# --- what a signature and a correction cost the database ---------------------------------
# Each locks its case with the one case lock (`cases.services.case_locked`), which reads
# the audit stream's last record in the same statement: the record follows it without a
# read of the chain of its own (issue 10, session 24). Real transactions: the test's
# own would keep the last record the setup wrote known. Budgets: statements measured on
# SQLite and PostgreSQL (the larger), one fewer each than before the case lock.
SIGNATURE_BUDGET = 33
CORRECTION_BUDGET = 21


@pytest.mark.django_db(transaction=True)
def test_a_signature_reads_no_chain_of_its_own(example, media_root, django_assert_max_num_queries):
    case = fuzhou_case(example)
    client = _client(MOTHER)
    url = f"/my/cases/{case.number}/preview/"
    digest = re.search(r'name="digest" value="([0-9a-f]{64})"', client.get(url).content.decode())
    assert digest is not None
    client.post(url, {"action": "send_code"})
    code = re.findall(r"验证码是 (\d{6})", _sms(MOTHER)[-1])[-1]
    form = {"action": "confirm", "digest": digest.group(1), "name": "陈静", "code": code}
    with django_assert_max_num_queries(SIGNATURE_BUDGET) as queries:
        assert client.post(url, form).status_code == 302
    assert PreviewConfirmation.objects.get(case=case).state == "confirmed"
    assert audit_chain_reads(queries.captured_queries) == 0
    assert verify_chain(case.number) == []


@pytest.mark.django_db(transaction=True)
def test_a_correction_reads_no_chain_of_its_own(example, media_root, django_assert_max_num_queries):
    case = fuzhou_case(example)
    mother = parent(MOTHER)
    with django_assert_max_num_queries(CORRECTION_BUDGET) as queries:
        preview = preview_correct(case=case, user=mother, reason="新生儿出生时间有误")
    assert preview.state == "correction"
    assert audit_chain_reads(queries.captured_queries) == 0
    assert verify_chain(case.number) == []
