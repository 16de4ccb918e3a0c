"""Every refusal and supplement notice links each reason to its FAQ answer (issue 12 part 2:
"each pre-review reason code links to its answer"; seed 000 (五): the 12345 knowledge base
holds "办事指南、统一表单、统一材料、办理流程、政策信息"). The printed 一次性告知书 and
不予受理通知书 carry, under each reason, the answer's question, the absolute address of
``/faq/reason/<code>/`` (the configured public base URL, never the Host header) and a QR
code of it once per code (ADR 0039, amendment 2026-11-26)."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from django.utils import timezone
from PIL import Image
from pypdf import PdfReader

from onestop.accounts.models import User
from onestop.cases.models import Case
from onestop.cases.notices import qr_png
from onestop.cases.services import case_submit
from onestop.common.fields import index_of
from onestop.counter.tests.test_counter import JILIN, post_case
from onestop.hotline.models import FaqEntry
from onestop.hotline.selectors import notice_faq
from onestop.hotline.services import faq_seed
from onestop.reference.services import reference_seed
from onestop.testing.factories import parent, staff
from tests.e2e.helpers import pdf_text

pytestmark = pytest.mark.django_db

BASE = "https://onestop.example.gov.cn"


@pytest.fixture(autouse=True)
def _seeded(settings):
    settings.PUBLIC_BASE_URL = BASE
    faq_seed(timezone.now())


def _submitted(example, beijing, name: str) -> Case:
    return case_submit(
        document=example(name), actor=None, now=beijing("2026-11-20T09:30:00+08:00")
    ).case


def _parents_notice(case: Case) -> bytes:
    phone = case.document["applicant"]["phone"]
    index = index_of(phone, purpose="phone")
    mother = User.objects.filter(phone_index=index).first() or parent(phone)
    web = Client(HTTP_HOST="evil.example")
    web.force_login(mother)
    response = web.get(f"/my/cases/{case.number}/notice.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    return response.content


def _images(pdf: bytes) -> int:
    return sum(len(page.images) for page in PdfReader(io.BytesIO(pdf)).pages)


def _qr_codes(pdf: bytes) -> list[bytes]:
    """The pictures in the PDF, as grey pixels (pypdf decodes them)."""
    return [
        image.image.convert("L").tobytes()
        for page in PdfReader(io.BytesIO(pdf)).pages
        for image in page.images
        if image.image is not None
    ]


def _qr_of(url: str) -> bytes:
    return Image.open(io.BytesIO(qr_png(url, border=1))).convert("L").tobytes()


def _codes(case: Case) -> list[str]:
    return list(dict.fromkeys(r["code"] for r in case.decision["reasons"]))


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("qinbei-supplement-missing-materials", "一次性告知书"),
        ("qinbei-reject-hk-father-late-applicant", "不予受理通知书"),
    ],
)
def test_each_reason_on_the_notice_names_its_answer_and_links_it(
    example, beijing, media_root, name, title
):
    case = _submitted(example, beijing, name)
    codes = _codes(case)
    assert len(codes) >= 2
    text = pdf_text(_parents_notice(case))
    assert title in text
    for reason in case.decision["reasons"]:
        assert "".join(reason["message"].split()) in text
    for code in codes:
        entry = FaqEntry.objects.get(reason=code)
        assert "".join(entry.question.split()) in text, code
        # Absolute, from the configured base URL (not the request's Host).
        assert f"{BASE}/faq/reason/{code}/" in text, code
    assert "evil.example" not in text
    # One QR code per reason code (a code repeated, e.g. two missing materials, prints once),
    # each exactly the printed address.
    pictures = _qr_codes(_parents_notice(case))
    assert len(pictures) == len(codes)
    for code in codes:
        assert _qr_of(f"{BASE}/faq/reason/{code}/") in pictures, code
    assert _qr_of(f"http://evil.example/faq/reason/{codes[0]}/") not in pictures


def test_the_printed_address_opens_the_answer(example, beijing, media_root):
    case = _submitted(example, beijing, "qinbei-reject-hk-father-late-applicant")
    link = notice_faq(case)["wrong_applicant"]
    assert link.url == f"{BASE}/faq/reason/wrong_applicant/"
    entry = FaqEntry.objects.get(reason="wrong_applicant")
    response = Client().get(link.url.removeprefix(BASE))
    assert response.status_code == 302 and response["Location"] == f"/faq/{entry.key}/"
    assert link.title == entry.question


def test_a_reason_without_an_answer_still_prints(example, beijing, media_root):
    case = _submitted(example, beijing, "qinbei-reject-hk-father-late-applicant")
    FaqEntry.objects.filter(reason="foreign_parent").delete()
    text = pdf_text(_parents_notice(case))
    foreign = next(r for r in case.decision["reasons"] if r["code"] == "foreign_parent")
    assert "".join(foreign["message"].split()) in text  # the reason itself is printed
    assert "/faq/reason/foreign_parent/" not in text  # no link to a missing answer
    assert f"{BASE}/faq/reason/wrong_applicant/" in text  # the others keep theirs
    assert _images(_parents_notice(case)) == len(_codes(case)) - 1


def test_no_answer_at_all_prints_the_reasons_alone(example, beijing, media_root):
    case = _submitted(example, beijing, "qinbei-supplement-missing-materials")
    FaqEntry.objects.exclude(reason="").delete()
    pdf = _parents_notice(case)
    text = pdf_text(pdf)
    assert "/faq/reason/" not in text and _images(pdf) == 0
    for reason in case.decision["reasons"]:
        assert "".join(reason["message"].split()) in text


def test_the_counter_prints_the_same_links(media_root):
    reference_seed()
    client = Client()
    client.force_login(staff("clerk", kind="service_center", code="jilin-sc", name="窗口刘"))
    assert post_case(client, {**JILIN, "birth_registration_bmc_number": ""}).status_code == 302
    case = Case.objects.get()
    assert case.status == "rejected"
    page = client.get(f"/counter/cases/{case.number}/").content.decode()
    for code in _codes(case):  # the counter's page links each reason's answer too
        assert f'<li data-reason="{code}">' in page and f'href="/faq/reason/{code}/"' in page
    response = client.get(f"/counter/cases/{case.number}/notice.pdf")
    assert response.status_code == 200
    text = pdf_text(response.content)
    for code in _codes(case):
        assert f"{BASE}/faq/reason/{code}/" in text, code
        assert "".join(FaqEntry.objects.get(reason=code).question.split()) in text
