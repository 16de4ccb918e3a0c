"""Notices render as real PDFs whose text is the Chinese we wrote (checked by extracting it)."""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime

import pytest

from onestop.cases.notices import cjk_font, render_notice
from onestop.eligibility.reasons import DEPARTMENT_NAMES, ITEM_NAMES
from onestop.eligibility.tests.support import check, example

AT = datetime.fromisoformat("2026-11-20T09:30:00+08:00")


def render(name: str) -> bytes:
    decision = check(example(name)).as_json()
    return render_notice(
        case_number="QINBEI-20261120-0001",
        region_name="钦州市钦北区",
        decision=decision,
        decided_at=AT,
        item_names=dict(ITEM_NAMES),
        department_names=dict(DEPARTMENT_NAMES),
    )


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("qinbei-accept", "受理通知书"),
        ("qinbei-supplement-missing-materials", "一次性告知书"),
        ("qinbei-reject-hk-father-late-applicant", "不予受理通知书"),
    ],
)
def test_notice_is_a_pdf_with_the_chinese_text(name, title):
    pdf = render(name)
    assert pdf.startswith(b"%PDF-")
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed: text not extracted")
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    assert title in "".join(text.split())


def test_a_truetype_cjk_font_is_embedded_when_available():
    assert cjk_font() in {"OnestopCJK", "STSong-Light"}
