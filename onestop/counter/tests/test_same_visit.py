"""Results in the same visit (issue 11, promise 2) and trustees at the counter (promise 7),
through HTTP with the database effects checked (ADR 0032).

沅陵: 助产机构“一件事一次办”综合窗口核查信息后，对于符合办理条件、信息准确无误的当场办理并发放
《出生医学证明》; the trustee brings 附件3 授权委托书 and her ID card, which the clerk scans.
吉林: 公安窗口现场办理户口登记; 户口簿可在政务服务中心当场打印领取.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from pypdf import PdfReader

from onestop.audit.models import AccessRecord, AuditRecord
from onestop.cases.models import Case, Material, TimelineEntry
from onestop.certificates.models import ELicence
from onestop.core.clock import to_beijing
from onestop.counter.tests.test_counter import JILIN, PDF, jilin_clerk, post_case
from onestop.notifications.models import Notification
from onestop.testing.factories import officer, staff
from onestop.workflow.models import CaseItem, ResultHandover

pytestmark = pytest.mark.django_db

YUANLING_ITEMS = [
    "birth_certificate",
    "birth_registration",
    "medical_insurance_enrolment",
    "medical_insurance_payment",
]
TRUSTEE = ("向秀英", "431222196504040143")
MOTHER = ("向晴", "431222199602020107")
FATHER = ("张伟", "431222199507070130")


def yuanling_trustee(**changes: object) -> dict[str, object]:
    """A grandmother applying at the 沅陵县人民医院 window with the mother's letter, the
    baby born three days ago, the letter valid from two days ago for a month."""
    today = to_beijing(timezone.now()).date()
    born = to_beijing(timezone.now() - timedelta(days=3)).strftime("%Y-%m-%d 06:45")
    data: dict[str, object] = {
        "region": "yuanling",
        "items": YUANLING_ITEMS,
        "applicant_role": "trustee",
        "applicant_name": TRUSTEE[0],
        "applicant_id_number": TRUSTEE[1],
        "applicant_phone": "13600003333",
        "marital_status": "married",
        "newborns_0_name": "张一诺",
        "newborns_0_sex": "1",
        "newborns_0_born_at": born,
        "newborns_0_gestational_weeks": "38",
        "newborns_0_weight_g": "3400",
        "newborns_0_length_cm": "51",
        "newborns_0_hospital": "yuanling-people",
        "newborns_0_in_hospital": "true",
        "newborns_0_record_number": "YL-2026-1108",
        "newborns_0_birth_attendant": "向丽",
        "newborns_0_blood_type": "B",
        "newborns_0_ethnicity_follows": "father",
        "newborns_0_native_place_follows": "father",
        "mother_name": MOTHER[0],
        "mother_id_number": MOTHER[1],
        "mother_residency": "mainland",
        "mother_ethnicity": "09",
        "mother_phone": "13600004444",
        "mother_hukou_division": "431222",
        "mother_hukou_address": "沅陵县沅陵镇辰州路20号",
        "mother_residence_address": "沅陵县沅陵镇辰州路20号",
        "mother_marriage_certificate": "J431222-2022-000077",
        "father_name": FATHER[0],
        "father_id_number": FATHER[1],
        "father_residency": "mainland",
        "father_ethnicity": "09",
        "father_phone": "13600005555",
        "father_hukou_division": "431222",
        "father_hukou_address": "沅陵县沅陵镇辰州路20号",
        "father_residence_address": "沅陵县沅陵镇辰州路20号",
        "father_marriage_certificate": "J431222-2022-000077",
        "birth_registration_follows": "father",
        "birth_registration_police_station": "yuanling-ps",
        "birth_registration_hukou_type": "family",
        "birth_registration_householder_name": FATHER[0],
        "birth_registration_householder_id_number": FATHER[1],
        "birth_registration_relation_to_householder": "子",
        "birth_registration_address": "沅陵县沅陵镇辰州路20号",
        "medical_insurance_division": "431222",
        "medical_insurance_year": "current",
        "medical_insurance_payment_channel": "hospital_scan",
        "delivery_birth_certificate_method": "pickup",
        "delivery_birth_certificate_by": "mother",
        "delivery_household_register_method": "pickup",
        "authorization_trustee_relation": "maternal_grandparent",
        "authorization_items": YUANLING_ITEMS,
        "authorization_valid_from": (today - timedelta(days=2)).isoformat(),
        "authorization_valid_to": (today + timedelta(days=30)).isoformat(),
        "authorization_signed_by_mother": "on",
        "materials": [
            "mother_id_card",
            "father_id_card",
            "household_register",
            "marriage_certificate",
            "hospital_birth_record",
        ],
    }
    data.update(changes)
    return data


def scan(name: str = "scan.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def letter_scans() -> dict[str, SimpleUploadedFile]:
    return {"scan__authorization_letter": scan(), "scan__trustee_id_card": scan()}


def yuanling_clerk(code: str = "yuanling-people"):
    return staff("clerk", kind="hospital", code=code, name="窗口向")


@pytest.fixture
def clerk(media_root) -> Client:
    client = Client()
    client.force_login(yuanling_clerk())
    return client


def accepted(client: Client, data: dict[str, object] | None = None) -> Case:
    response = post_case(client, data or yuanling_trustee(), **letter_scans())
    assert response.status_code == 302, response.content.decode()[:3000]
    case = Case.objects.get()
    assert case.status == "in_progress", case.decision
    return case


def pdf_text(pdf: bytes) -> str:
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return "".join(text.split())


def spot(case: Case, item: str, action: str) -> str:
    return f"/counter/cases/{case.number}/spot/{item}/{action}"


# --- trustees at the counter (promise 7) ------------------------------------------------------


def test_a_trustee_case_is_accepted_with_the_letter_scanned_and_shown(clerk):
    case = accepted(clerk)
    scans = Material.objects.filter(case=case, code__in=["authorization_letter", "trustee_id_card"])
    assert sorted(m.code for m in scans) == ["authorization_letter", "trustee_id_card"]
    assert all(m.file and m.source == "scan" for m in scans)
    html = clerk.get(f"/counter/cases/{case.number}/").content.decode()
    assert 'data-authorization="holds"' in html
    assert "向秀英" in html and "外祖父母" in html and "已扫描" in html
    flat = pdf_text(clerk.get(f"/counter/cases/{case.number}/form.pdf").content)
    assert "受托人签名" in flat and TRUSTEE[1] in flat and "外祖父母" in flat


def test_a_trustee_case_without_the_letter_scanned_is_not_entered(clerk):
    response = post_case(clerk, yuanling_trustee(), scan__trustee_id_card=scan())
    assert response.status_code == 200
    assert "须扫描上传" in response.content.decode()
    assert Case.objects.count() == 0 and Material.objects.count() == 0


def test_an_expired_letter_or_a_relation_the_pack_does_not_allow_is_not_accepted(clerk):
    today = to_beijing(timezone.now()).date()
    expired = yuanling_trustee(authorization_valid_to=(today - timedelta(days=1)).isoformat())
    assert post_case(clerk, expired, **letter_scans()).status_code == 302
    case = Case.objects.get()
    assert case.status != "in_progress"
    assert "authorization_missing" in [r["code"] for r in case.decision["reasons"]]
    assert not CaseItem.objects.filter(case=case).exists()


# --- the BMC on the spot at 沅陵 (promise 2) ----------------------------------------------------


def test_the_yuanling_window_issues_prints_and_hands_over_the_bmc_once(clerk, settings):
    case = accepted(clerk)
    bmc = CaseItem.objects.get(case=case, item="birth_certificate")
    assert bmc.state == "ready"
    html = clerk.get(f"/counter/cases/{case.number}/").content.decode()
    assert 'data-spot="birth_certificate"' in html and 'name="bmc_number"' in html
    # The officer's validation: a malformed number is refused, nothing issued.
    clerk.post(spot(case, "birth_certificate", "complete/"), {"bmc_number": "12"})
    bmc.refresh_from_db()
    assert bmc.state == "ready" and not ELicence.objects.exists()
    response = clerk.post(
        spot(case, "birth_certificate", "complete/"),
        {"bmc_number": "R431234567", "version": bmc.version},
    )
    assert response.status_code == 302
    bmc.refresh_from_db()
    assert bmc.state == "done" and bmc.result == {"bmc_number": "R431234567"}
    licence = ELicence.objects.get(item=bmc)
    registration = CaseItem.objects.get(case=case, item="birth_registration")
    assert registration.state == "ready"  # the next department has it at once
    completed = AuditRecord.objects.get(stream=case.number, action="item_completed")
    assert completed.detail["same_visit"] is True
    # Printed (the sealed licence, with the certificate number), and printed again.
    for _ in range(2):
        pdf = clerk.get(spot(case, "birth_certificate", "print.pdf"))
        assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF")
        flat = pdf_text(pdf.content)
        assert "R431234567" in flat and licence.serial in flat and "出生医学证明" in flat
    assert (
        AccessRecord.objects.filter(case_number=case.number, what__startswith="print:").count() == 2
    )
    # A wrong recipient is refused: a stranger, the right name with another ID number.
    for who in (
        {"role": "trustee", "name": "李四", "id_number": "431222196504040127"},
        {"role": "trustee", "name": TRUSTEE[0], "id_number": MOTHER[1]},
        {"role": "mother", "name": MOTHER[0], "id_number": TRUSTEE[1]},
    ):
        clerk.post(spot(case, "birth_certificate", "handover/"), who)
    assert not ResultHandover.objects.exists()
    # The trustee with her ID card: handed over once, with audit, timeline and message.
    ok = {"role": "trustee", "name": TRUSTEE[0], "id_number": TRUSTEE[1]}
    clerk.post(spot(case, "birth_certificate", "handover/"), ok)
    clerk.post(spot(case, "birth_certificate", "handover/"), ok)
    handover = ResultHandover.objects.get()
    assert handover.item == bmc and handover.recipient_role == "trustee"
    assert handover.recipient == {"name": TRUSTEE[0], "id_number": TRUSTEE[1]}
    assert handover.handed_by.jurisdiction_code == "yuanling-people"
    assert AuditRecord.objects.filter(stream=case.number, action="result_handed_over").count() == 1
    line = TimelineEntry.objects.get(case=case, kind="result_handed_over")
    assert "当场交付" in line.message and "向*" in line.message and TRUSTEE[0] not in line.message
    messages = [n.body for n in Notification.objects.filter(case=case)]
    assert any("当场交付" in body for body in messages)
    # Completed on the spot: no pickup notice telling the parents to come back.
    assert not TimelineEntry.objects.filter(case=case, kind="pickup_notice").exists()
    page = clerk.get(f"/counter/cases/{case.number}/").content.decode()
    assert 'data-handover="done"' in page


def test_the_mother_may_receive_it_but_the_father_only_with_her_authorization(clerk):
    case = accepted(clerk)
    bmc = CaseItem.objects.get(case=case, item="birth_certificate")
    clerk.post(spot(case, "birth_certificate", "complete/"), {"bmc_number": "R431234568"})
    # 沅陵: 《出生医学证明》 pickup_by mother, father; the father only with her authorization,
    # and this letter names the grandmother.
    clerk.post(
        spot(case, "birth_certificate", "handover/"),
        {"role": "father", "name": FATHER[0], "id_number": FATHER[1]},
    )
    assert not ResultHandover.objects.exists()
    clerk.post(
        spot(case, "birth_certificate", "handover/"),
        {"role": "mother", "name": MOTHER[0], "id_number": MOTHER[1].lower()},
    )
    assert ResultHandover.objects.get(item=bmc).recipient_role == "mother"


def test_who_may_complete_and_hand_over_at_the_counter(clerk, media_root):
    case = accepted(clerk)
    complete = spot(case, "birth_certificate", "complete/")
    # A clerk of another hospital's window: the case is not hers (404), nothing changes.
    other = Client()
    other.force_login(yuanling_clerk("yuanling-mch"))
    assert other.post(complete, {"bmc_number": "R431234569"}).status_code == 404
    assert other.get(f"/counter/cases/{case.number}/").status_code == 404
    # A clerk cannot complete an item that is not same-visit (birth registration).
    assert (
        clerk.post(
            spot(case, "birth_registration", "complete/"), {"hukou_entry": "HK431222-0001"}
        ).status_code
        == 404
    )
    # An officer is not a clerk: the counter's pages are not hers.
    hospital = Client()
    hospital.force_login(officer("hospital", "hospital", "yuanling-people"))
    assert hospital.post(complete, {"bmc_number": "R431234569"}).status_code == 404
    # Nothing to print or hand over before the item is done.
    assert clerk.get(spot(case, "birth_certificate", "print.pdf")).status_code == 404
    clerk.post(
        spot(case, "birth_certificate", "handover/"),
        {"role": "trustee", "name": TRUSTEE[0], "id_number": TRUSTEE[1]},
    )
    assert CaseItem.objects.get(case=case, item="birth_certificate").state == "ready"
    assert not ELicence.objects.exists() and not ResultHandover.objects.exists()


# --- 吉林: the household register page printed on the spot ------------------------------------


def test_jilin_prints_the_household_register_page_after_the_police_desk_registers(media_root):
    client = Client()
    client.force_login(jilin_clerk())
    assert post_case(client, JILIN, scan__birth_certificate=scan()).status_code == 302
    case = Case.objects.get()
    row = CaseItem.objects.get(case=case, item="birth_registration")
    # The clerk cannot register the birth: the police desk does (by: department).
    client.post(spot(case, "birth_registration", "complete/"), {"hukou_entry": "HK220102-0001"})
    row.refresh_from_db()
    assert row.state == "ready"
    html = client.get(f"/counter/cases/{case.number}/").content.decode()
    assert "现场办理后当场打印" in html
    police = Client()
    police.force_login(officer("police", row.jurisdiction_kind, row.jurisdiction_code))
    police.post(
        f"/work/tasks/{row.pk}/complete/", {"hukou_entry": "HK220102-0001", "version": row.version}
    )
    row.refresh_from_db()
    assert row.state == "done", row.state
    # The pickup notice says today, at the service center (not "from the next working day").
    notice = TimelineEntry.objects.get(case=case, kind="pickup_notice", item="birth_registration")
    today = to_beijing(timezone.now()).date()
    assert f"自{today.year}年{today.month}月{today.day}日" in notice.message, notice.message
    page = client.get(spot(case, "birth_registration", "print.pdf"))
    assert page.status_code == 200
    flat = pdf_text(page.content)
    assert "常住人口登记页" in flat and "HK220102-0001" in flat and "王一鸣" in flat
    client.post(
        spot(case, "birth_registration", "handover/"),
        {"role": "father", "name": "王磊", "id_number": "220102199212120312"},
    )
    handover = ResultHandover.objects.get()
    assert handover.result == "household_register" and handover.recipient_role == "father"


def test_a_handover_whose_message_fails_leaves_nothing_behind(clerk, monkeypatch):
    """The handover, its audit record, its timeline line and its message are one
    transaction: when the message cannot be queued, none of them is kept."""
    from onestop.workflow import effects

    case = accepted(clerk)
    clerk.post(spot(case, "birth_certificate", "complete/"), {"bmc_number": "R431234571"})

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("outbox down")

    monkeypatch.setattr(effects, "parents_message", broken)
    with pytest.raises(RuntimeError):
        clerk.post(
            spot(case, "birth_certificate", "handover/"),
            {"role": "trustee", "name": TRUSTEE[0], "id_number": TRUSTEE[1]},
        )
    assert not ResultHandover.objects.exists()
    assert not AuditRecord.objects.filter(action="result_handed_over").exists()
    assert not TimelineEntry.objects.filter(kind="result_handed_over").exists()


def test_the_blank_letter_lists_the_regions_items_and_relations(clerk):
    response = clerk.get("/counter/letters/yuanling/authorization.pdf")
    assert response.status_code == 200
    flat = pdf_text(response.content)
    assert "授权委托书" in flat and "限父亲、祖父母、外祖父母" in flat
    assert "城乡居民医保缴费" in flat and "委托人签名" in flat
    # Not another region's letter, and not where the pack takes no trustees (钦北).
    assert clerk.get("/counter/letters/jilin/authorization.pdf").status_code == 404
    qinbei = Client()
    qinbei.force_login(staff("clerk", kind="hospital", code="qinbei-mch"))
    assert qinbei.get("/counter/letters/qinbei/authorization.pdf").status_code == 404
