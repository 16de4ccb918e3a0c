"""Helpers for the online-application tests: a fixed clock, files, and the qinbei form."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from onestop.core.clock import parse_time
from onestop.hospitals.services import delivery_record_upsert
from onestop.testing.factories import parent
from onestop.testing.files import pdf_bytes, png_bytes

NOW = parse_time("2026-11-20T10:00:00+08:00")
MOTHER_PHONE = "13800000000"
MOTHER_ID = "450703199203150220"
FATHER_ID = "450703199001010174"
RECORD = "ZY2026-11-0042"
# Real (tiny) files: uploads are checked as whole files (ADR 0014).
PDF = pdf_bytes()
PNG = png_bytes()

QINBEI_ITEMS = [
    "birth_certificate",
    "vaccination_certificate",
    "birth_registration",
    "social_security_card",
    "maternity_reimbursement",
    "medical_insurance_enrolment",
    "parenting_guidance",
]


def freeze(monkeypatch: Any, when: Any = NOW) -> None:
    """Django's clock (timezone.now) stands still at ``when`` for the test."""
    monkeypatch.setattr(timezone, "now", lambda: when)


def pdf(name: str = "scan.pdf", body: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, body, content_type="application/pdf")


def delivery_record(**changes: Any) -> None:
    """The qinbei-mch delivery record of the qinbei example's newborn."""
    data = {
        "born_at": "2026-11-10T08:20:00+08:00",
        "sex": "1",
        "weight_g": 3300,
        "length_cm": 50,
        "gestational_weeks": 39,
        "birth_attendant": "韦敏",
        "blood_type": "A",
        "in_hospital": True,
        "mother_name": "黄丽",
    }
    data.update(changes)
    delivery_record_upsert(
        hospital="qinbei-mch", record_number=RECORD, mother_id_number=MOTHER_ID, data=data
    )


def mother_client(phone: str = MOTHER_PHONE) -> Client:
    client = Client()
    client.force_login(parent(phone))
    return client


def step(region: str, name: str) -> str:
    return f"/my/apply/{region}/{name}/"


BIRTH = {
    "mother_residency": "mainland",
    "mother_id_number": MOTHER_ID,
    "mother_name": "黄丽",
    "newborns_0_hospital": "qinbei-mch",
    "newborns_0_record_number": RECORD,
    "newborns_0_name": "覃沐阳",
    "newborns_0_sex": "1",
    "newborns_0_born_at": "2026-11-10T08:20",
    "newborns_0_in_hospital": "true",
    "newborns_0_gestational_weeks": "39",
    "newborns_0_weight_g": "3300",
    "newborns_0_length_cm": "50",
    "newborns_0_birth_attendant": "韦敏",
    "newborns_0_blood_type": "A",
}
ADDRESS = "钦州市钦北区新棠镇新棠街12号"
PARENTS = {
    "marital_status": "married",
    "mother_ethnicity": "01",
    "mother_phone": MOTHER_PHONE,
    "mother_hukou_division": "450703",
    "mother_hukou_address": ADDRESS,
    "mother_residence_address": ADDRESS,
    "mother_employer": "钦州市某公司",
    "mother_marriage_certificate": "J450703-2020-001234",
    "father_name": "覃军",
    "father_residency": "mainland",
    "father_id_number": FATHER_ID,
    "father_ethnicity": "08",
    "father_phone": "13900000000",
    "father_hukou_division": "450703",
    "father_hukou_address": ADDRESS,
    "father_residence_address": ADDRESS,
    "father_marriage_certificate": "J450703-2020-001234",
    "newborns_0_ethnicity_follows": "father",
    "newborns_0_native_place_follows": "father",
}
DETAILS = {
    "birth_registration_follows": "father",
    "birth_registration_police_station": "qinbei-xintang",
    "birth_registration_hukou_type": "family",
    "birth_registration_householder_name": "覃军",
    "birth_registration_householder_id_number": FATHER_ID,
    "birth_registration_relation_to_householder": "子",
    "birth_registration_address": ADDRESS,
    "medical_insurance_division": "450703",
    "medical_insurance_year": "current",
    "medical_insurance_payment_channel": "wechat",
    "maternity_plurality": "1",
    "maternity_delivery_mode": "natural",
    "maternity_payout": "ssc",
    "social_security_card_bank": "icbc",
    "social_security_card_branch": "qinbei-icbc-main",
    "social_security_card_applied_elsewhere": "false",
    "delivery_birth_certificate_method": "pickup",
    "delivery_birth_certificate_by": "mother",
    "delivery_vaccination_certificate_method": "pickup",
    "delivery_household_register_method": "mail",
    "delivery_social_security_card_method": "pickup",
    "delivery_address_recipient": "黄丽",
    "delivery_address_phone": MOTHER_PHONE,
    "delivery_address_address": ADDRESS,
    "ethnicity_confirmation_ethnicity": "08",
    "ethnicity_confirmation_signed_by_mother": "on",
    "ethnicity_confirmation_signed_by_father": "on",
}
QINBEI_MATERIALS = (
    "mother_id_card",
    "father_id_card",
    "household_register",
    "marriage_certificate",
    "delivery_record_page",
)


def post(client: Client, url: str, data: dict[str, Any], expect: int = 302) -> Any:
    response = client.post(url, data)
    assert response.status_code == expect, response.content.decode()[:3000]
    return response


def fill_qinbei(
    client: Client,
    *,
    items: list[str] | None = None,
    materials: tuple[str, ...] = QINBEI_MATERIALS,
) -> None:
    """Enter the qinbei example through the form, up to (not including) the signature."""
    region = "qinbei"
    assert client.get(f"/my/apply/{region}/").status_code == 302
    post(client, step(region, "items"), {"items": items or QINBEI_ITEMS, "role": "mother"})
    post(client, step(region, "birth"), {**BIRTH, "action": "next"})
    post(client, step(region, "parents"), {**PARENTS, "action": "next"})
    post(client, step(region, "details"), {**DETAILS, "action": "next"})
    if materials:
        files = {f"file_{code}": pdf(f"{code}.pdf") for code in materials}
        post(client, step(region, "materials"), {**files, "action": "next"})
