"""The parents' online application, through the web pages, to an immediate decision."""

from __future__ import annotations

import hashlib

import pytest

from onestop.cases.models import Case, CaseStatus, Material
from onestop.cases.services import body_digest
from onestop.portal.models import Draft, DraftMaterial
from onestop.portal.selectors import draft_document
from onestop.portal.services import draft_material_bytes
from onestop.portal.tests.support import (
    BIRTH,
    DETAILS,
    MOTHER_ID,
    MOTHER_PHONE,
    NOW,
    PARENTS,
    PNG,
    delivery_record,
    fill_qinbei,
    freeze,
    mother_client,
    pdf,
    post,
    step,
)

pytestmark = pytest.mark.django_db


def test_the_whole_online_flow_reaches_accept(monkeypatch, media_root):
    freeze(monkeypatch)
    delivery_record()
    client = mother_client()
    fill_qinbei(client)
    confirm = client.get(step("qinbei", "confirm"))
    page = confirm.content.decode()
    assert confirm.status_code == 200
    assert "450703********0220" in page and MOTHER_ID not in page  # numbers masked
    assert "138****0000" in page and "J45070" in page and "J450703-2020-001234" not in page
    assert "覃沐阳" in page and "钦北区妇幼保健院" in page
    response = post(client, step("qinbei", "confirm"), {"signer_name": "黄丽", "promise": "on"})
    case = Case.objects.get()
    assert response["Location"] == f"/my/cases/{case.number}/"
    assert case.status == CaseStatus.IN_PROGRESS and case.decision["decision"] == "accept"
    assert case.channel == "online"
    assert case.document["applicant"] == {
        "role": "mother",
        "name": "黄丽",
        "id_number": MOTHER_ID,
        "phone": MOTHER_PHONE,
    }
    assert case.document["newborns"][0]["weight_g"] == 3300
    assert case.document["submitted_at"] == "2026-11-20T10:00:00+08:00"
    uploads = Material.objects.filter(case=case, source=Material.Source.UPLOAD)
    assert uploads.count() == 5 and {m.content_type for m in uploads} == {"application/pdf"}
    signature = case.signature
    assert signature["signer_name"] == "黄丽"
    assert signature["signed_at"] == "2026-11-20T10:00:00+08:00"
    assert signature["ip"] == "127.0.0.1"
    assert signature["document_sha256"] == body_digest(case.document)
    assert signature["promise"] == "本人承诺所填信息真实"
    # The draft and its files are gone; the parent sees the decision at once.
    assert not Draft.objects.exists() and not DraftMaterial.objects.exists()
    progress = client.get(response["Location"]).content.decode()
    assert "申请已提交" in progress and "予以受理" in progress
    assert "《出生医学证明》" in progress and "notice.pdf" in progress
    assert "黄*" in progress  # 已由 黄* 电子签名


def test_prefill_from_the_delivery_record_only_on_an_exact_match(monkeypatch, media_root):
    freeze(monkeypatch)
    delivery_record()
    client = mother_client()
    client.get("/my/apply/qinbei/")
    post(client, step("qinbei", "items"), {"items": ["birth_certificate"], "role": "mother"})
    lookup = {
        "mother_residency": "mainland",
        "mother_id_number": MOTHER_ID,
        "newborns_0_hospital": "qinbei-mch",
        "newborns_0_record_number": "ZY2026-11-9999",  # wrong record number
        "action": "lookup",
    }
    post(client, step("qinbei", "birth"), lookup)
    page = client.get(step("qinbei", "birth")).content.decode()
    assert "没有找到" in page
    draft = Draft.objects.get()
    assert "born_at" not in draft.document["newborns"][0] and not draft.prefilled
    post(client, step("qinbei", "birth"), {**lookup, "newborns_0_record_number": "zy2026-11-0042"})
    page = client.get(step("qinbei", "birth")).content.decode()
    assert "已从医院分娩记录填入 9 项" in page and "来自医院分娩记录" in page
    assert 'value="3300"' in page and 'value="2026-11-10T08:20"' in page
    draft.refresh_from_db()
    assert draft.document["newborns"][0]["born_at"] == "2026-11-10T08:20:00+08:00"
    assert draft.document["mother"]["name"] == "黄丽"
    # The filled values stay editable: the parent corrects the weight.
    post(
        client, step("qinbei", "birth"), {**BIRTH, "newborns_0_weight_g": "3310", "action": "next"}
    )
    draft.refresh_from_db()
    assert draft.document["newborns"][0]["weight_g"] == 3310


def test_another_mothers_id_number_gets_nothing(monkeypatch, media_root):
    freeze(monkeypatch)
    delivery_record()
    client = mother_client("13911112222")
    client.get("/my/apply/qinbei/")
    post(
        client,
        step("qinbei", "birth"),
        {
            "mother_residency": "mainland",
            "mother_id_number": "450703199408180140",
            "newborns_0_hospital": "qinbei-mch",
            "newborns_0_record_number": "ZY2026-11-0042",
            "action": "lookup",
        },
    )
    assert "born_at" not in Draft.objects.get().document.get("newborns", [{}])[0]


def test_sections_appear_only_for_the_chosen_items(monkeypatch, media_root):
    freeze(monkeypatch)
    client = mother_client()
    client.get("/my/apply/qinbei/")
    post(
        client,
        step("qinbei", "items"),
        {"items": ["vaccination_certificate", "parenting_guidance"], "role": "mother"},
    )
    birth = client.get(step("qinbei", "birth")).content.decode()
    assert 'name="newborns_0_born_at"' in birth
    assert 'name="newborns_0_weight_g"' not in birth  # medical data only for the BMC
    details = client.get(step("qinbei", "details")).content.decode()
    for hidden in (
        "birth_registration_follows",
        "medical_insurance_division",
        "maternity_payout",
        "social_security_card_bank",
        "delivery_household_register_method",
        "authorization_valid_to",
        "ethnicity_confirmation_signed_by_father",
    ):
        assert f'name="{hidden}"' not in details, hidden
    assert 'name="delivery_vaccination_certificate_method"' in details
    parents = client.get(step("qinbei", "parents")).content.decode()
    assert 'name="newborns_0_ethnicity_follows"' not in parents
    assert 'name="mother_employer"' not in parents  # only for maternity reimbursement

    post(client, step("qinbei", "items"), {"items": ["birth_registration"], "role": "mother"})
    details = client.get(step("qinbei", "details")).content.decode()
    assert 'name="birth_registration_follows"' in details
    assert 'name="birth_registration_bmc_number"' in details  # no BMC chosen: give its number
    assert 'name="maternity_payout"' not in details


def test_sections_left_behind_are_not_submitted(monkeypatch, media_root):
    freeze(monkeypatch)
    client = mother_client()
    fill_qinbei(client, materials=())
    # The parents change their mind: no maternity reimbursement, and pickup instead of mail.
    items = ["birth_certificate", "vaccination_certificate", "birth_registration"]
    post(client, step("qinbei", "items"), {"items": items, "role": "mother"})
    post(
        client,
        step("qinbei", "details"),
        {**DETAILS, "delivery_household_register_method": "pickup", "action": "next"},
    )
    document = draft_document(Draft.objects.get(), now=NOW)
    assert document["items"] == items
    assert "maternity" not in document and "social_security_card" not in document
    assert "medical_insurance" not in document and "employer" not in document["mother"]
    assert "address" not in document["delivery"]
    assert document["delivery"]["household_register"] == {"method": "pickup"}
    assert "authorization" not in document  # the mother picks up the BMC herself


def test_ethnicity_confirmation_shows_only_when_the_parents_differ(monkeypatch, media_root):
    freeze(monkeypatch)
    client = mother_client()
    fill_qinbei(client, materials=())
    details = client.get(step("qinbei", "details")).content.decode()
    # The mother signs for herself; the father confirms by SMS link (ADR 0029).
    assert 'name="ethnicity_confirmation_signed_by_mother"' in details
    assert 'name="ethnicity_confirmation_signed_by_father"' not in details
    assert "父亲将收到短信链接" in details
    post(client, step("qinbei", "parents"), {**PARENTS, "father_ethnicity": "01", "action": "next"})
    details = client.get(step("qinbei", "details")).content.decode()
    assert 'name="ethnicity_confirmation_signed_by_mother"' not in details


def test_authorization_appears_when_the_father_picks_up_the_bmc(monkeypatch, media_root):
    freeze(monkeypatch)
    client = mother_client()
    fill_qinbei(client, materials=())
    details = client.get(step("qinbei", "details")).content.decode()
    assert 'data-show-if="delivery_birth_certificate_by=father"' in details
    post(
        client,
        step("qinbei", "details"),
        {
            **DETAILS,
            "delivery_birth_certificate_by": "father",
            "authorization_items": ["birth_certificate"],
            "authorization_valid_from": "2026-11-20",
            "authorization_valid_to": "2026-12-31",
            "authorization_signed_by_mother": "on",
            "action": "next",
        },
    )
    document = draft_document(Draft.objects.get(), now=NOW)
    assert document["authorization"]["trustee"] == {
        "name": "覃军",
        "id_number": "450703199001010174",
        "relation": "father",
    }
    assert document["authorization"]["items"] == ["birth_certificate"]


def test_format_checks_keep_what_was_entered(monkeypatch, media_root):
    freeze(monkeypatch)
    client = mother_client()
    client.get("/my/apply/qinbei/")
    page = post(
        client,
        step("qinbei", "parents"),
        {
            **PARENTS,
            "father_id_number": "450703199001010175",
            "father_phone": "1390",
            "action": "next",
        },
        expect=200,
    ).content.decode()
    assert "身份证号码校验位不正确" in page and "手机号码应为以1开头的11位数字" in page
    assert 'value="覃军"' in page  # nothing entered is lost


def test_uploads_refuse_fake_and_oversized_files_and_keep_the_rest(
    monkeypatch, media_root, settings
):
    freeze(monkeypatch)
    settings.MATERIAL_MAX_BYTES = 1024
    client = mother_client()
    fill_qinbei(client, materials=())
    page = post(
        client,
        step("qinbei", "materials"),
        {
            "file_mother_id_card": pdf("id.pdf", b"this is only text, not a PDF"),
            "file_father_id_card": pdf("big.pdf", b"%PDF-1.4\n" + b"0" * 2048),
            "file_household_register": pdf("hukou.png", PNG),
            "action": "next",
        },
        expect=200,
    ).content.decode()
    assert "只能上传 PDF、JPG 或 PNG 格式的文件" in page
    assert "文件过大" in page and "不能超过" in page
    draft = Draft.objects.get()
    # The good file is kept, and so is everything entered before.
    stored = {m.code: m for m in draft.materials.all()}
    assert set(stored) == {"household_register"}
    assert stored["household_register"].content_type == "image/png"
    kept = draft_material_bytes(stored["household_register"])
    assert stored["household_register"].sha256 == hashlib.sha256(kept).hexdigest()
    assert draft.document["father"]["name"] == "覃军"
    assert 'value="覃军"' in client.get(step("qinbei", "parents")).content.decode()
    again = client.get(step("qinbei", "materials")).content.decode()
    assert "已上传" in again


def test_signature_must_be_the_applicants_name(monkeypatch, media_root):
    freeze(monkeypatch)
    client = mother_client()
    fill_qinbei(client)
    page = post(
        client, step("qinbei", "confirm"), {"signer_name": "覃军", "promise": "on"}, expect=200
    ).content.decode()
    assert "签名姓名与申请人姓名不一致" in page
    page = post(client, step("qinbei", "confirm"), {"signer_name": "黄丽"}, expect=200)
    assert "本人承诺所填信息真实" in page.content.decode()
    assert not Case.objects.exists() and Draft.objects.exists()


def test_missing_materials_give_a_supplement_decision(monkeypatch, media_root):
    freeze(monkeypatch)
    client = mother_client()
    fill_qinbei(client, materials=("mother_id_card", "father_id_card"))
    confirm = client.get(step("qinbei", "confirm")).content.decode()
    assert "需要补正" in confirm  # the preview warns before signing
    response = post(client, step("qinbei", "confirm"), {"signer_name": "黄丽", "promise": "on"})
    case = Case.objects.get()
    assert case.status == CaseStatus.SUPPLEMENT
    page = client.get(response["Location"]).content.decode()
    assert "缺少申请材料：居民户口簿" in page and "去补正" in page


def test_regions_without_an_online_channel_send_parents_to_the_counter(db):
    client = mother_client()
    response = client.get("/my/apply/yuanling/")
    assert response.status_code == 200
    assert "分娩所在助产机构“一件事一次办”综合窗口" in response.content.decode()
    assert client.get(step("yuanling", "items")).status_code == 302
    assert not Draft.objects.exists()
    assert client.get("/my/apply/nowhere/").status_code == 404


def test_the_form_needs_a_signed_in_parent(db):
    from django.test import Client

    assert Client().get(step("qinbei", "items")).status_code == 302


@pytest.mark.parametrize(
    "items", [["vaccination_certificate"], ["birth_certificate", "birth_registration"]]
)
def test_a_parent_applies_online_for_one_item_with_its_prerequisites(
    items, monkeypatch, media_root
):
    """The original channels stay open (issue 11, promise 12; ADR 0034): the online form takes
    one item (with what it waits for) and the case is accepted with only those items."""
    freeze(monkeypatch)
    delivery_record()
    client = mother_client()
    fill_qinbei(client, items=items)
    post(client, step("qinbei", "confirm"), {"signer_name": "黄丽", "promise": "on"})
    case = Case.objects.get()
    assert case.decision["decision"] == "accept", case.decision["reasons"]
    assert [p["item"] for p in case.decision["plan"]] == items
