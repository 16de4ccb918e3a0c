"""Printable notices as PDF (reportlab), generated on demand from the stored decision.

- 受理通知书 for an accepted case: the items, departments and time limits;
- 一次性告知 for a supplement: every material and field to fix, in one notice;
- 不予受理通知书 for a reject: every reason, and the ordinary channels still open.

Under each reason of a supplement or a refusal: the title of its answer in the 12345
knowledge base (the FAQ, ADR 0039), the answer's absolute address and, once per reason
code, a QR code of it. The caller passes the answers (`FaqLink` by reason code): the FAQ
lives in an app above this one.

Chinese text needs a CJK font with TrueType outlines (reportlab cannot embed CFF fonts such
as Noto CJK): WenQuanYi Zen Hei from Debian's fonts-wqy-zenhei, or a font named by
``ONESTOP_CJK_FONT``. Without one the notice falls back to the standard Adobe CID font
STSong-Light, which PDF viewers supply themselves.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any
from xml.sax.saxutils import escape

import qrcode
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from onestop.core.written import written

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)

TITLES = {"accept": "受理通知书", "supplement": "一次性告知书", "reject": "不予受理通知书"}


@dataclass(frozen=True)
class FaqLink:
    """The FAQ answer of a pre-review reason code: its question (the title) and the
    absolute address of ``/faq/reason/<code>/``."""

    title: str
    url: str


def qr_png(text: str, *, box_size: int = 4, border: int = 4) -> bytes:
    """The QR code of ``text`` as PNG (error correction M)."""
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box_size, border=border
    )
    code.add_data(text)
    code.make(fit=True)
    image = code.make_image(fill_color="black", back_color="white")
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()


@cache
def cjk_font() -> str:
    """Register and return the name of the font notices use."""
    configured = os.environ.get("ONESTOP_CJK_FONT")
    for path in ([configured] if configured else []) + list(FONT_CANDIDATES):
        if path and os.path.exists(path):
            try:
                pdfmetrics.registerFont(TTFont("OnestopCJK", path, subfontIndex=0))
                return "OnestopCJK"
            except Exception:  # not a TrueType-outline font: try the next one
                continue
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    return "STSong-Light"


def _styles() -> tuple[ParagraphStyle, ParagraphStyle, ParagraphStyle]:
    font = cjk_font()
    title = ParagraphStyle("title", fontName=font, fontSize=18, leading=26, alignment=1)
    body = ParagraphStyle("body", fontName=font, fontSize=11, leading=18, wordWrap="CJK")
    small = ParagraphStyle("small", fontName=font, fontSize=9, leading=14, wordWrap="CJK")
    return title, body, small


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def _reasons(
    reasons: list[dict[str, Any]],
    faq: Mapping[str, FaqLink],
    body: ParagraphStyle,
    small: ParagraphStyle,
) -> list[Any]:
    """The numbered reasons; under each, its FAQ answer's title and address, and beside the
    first reason of each code the answer's QR code. A code without an answer prints alone."""
    story: list[Any] = []
    rows: list[list[Any]] = []
    coded: set[str] = set()
    for index, reason in enumerate(reasons, 1):
        text = _p(f"{index}. {reason.get('message', '')}", body)
        link = faq.get(str(reason.get("code", "")))
        if link is None:
            rows.append([text, ""])
            continue
        cell = [
            text,
            _p(f"问题解答：{link.title}", small),
            Paragraph(f'<link href="{escape(link.url)}">{escape(link.url)}</link>', small),
        ]
        qr: Any = ""
        if link.url not in coded:
            coded.add(link.url)
            qr = Image(io.BytesIO(qr_png(link.url, border=1)), width=22 * mm, height=22 * mm)
        rows.append([cell, qr])
    if not rows:
        return story
    if not any(qr for _, qr in rows):
        return [row[0] for row in rows]
    table = Table(rows, colWidths=[146 * mm, 24 * mm])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    story.append(table)
    story += [Spacer(1, 1 * mm), _p("扫描二维码或打开上述网址，可查看每项原因的办理解答。", small)]
    return story


def render_notice(
    *,
    case_number: str,
    region_name: str,
    decision: dict[str, Any],
    decided_at: datetime,
    item_names: dict[str, str],
    department_names: dict[str, str],
    promise: str = "",
    channels: list[str] | None = None,
    still_open: str = "",
    faq: Mapping[str, FaqLink] | None = None,
) -> bytes:
    """The notice for ``decision`` (the JSON `onestop check` prints) as PDF bytes. A refusal
    lists ``channels`` (per item: where for this case, what to bring; `cases.channels`)
    instead of the decision's plain `ordinary_channels`, then ``still_open``. ``faq``: the
    FAQ answer of each reason code (those without one print the reason alone)."""
    faq = faq or {}
    title_style, body, small = _styles()
    outcome = str(decision.get("decision", ""))
    story: list[Any] = [
        _p(region_name, body),
        _p(f"新生儿出生“一件事”{TITLES.get(outcome, '通知书')}", title_style),
        Spacer(1, 4 * mm),
        _p(f"办件编号：{case_number}", body),
        _p(f"日期：{written(decided_at, date_only=True)}", body),
        Spacer(1, 4 * mm),
    ]
    if outcome == "accept":
        story.append(
            _p(
                "您提交的新生儿出生“一件事”申请材料齐全、符合条件，现予受理。各事项办理安排如下：",
                body,
            )
        )
        rows = [[_p("事项", body), _p("办理部门", body), _p("办理时限", body)]]
        for entry in decision.get("plan", []):
            days = entry.get("time_limit_days")
            unit = "个自然日" if entry.get("time_limit_unit") == "calendar_days" else "个工作日"
            limit = "—" if days is None else ("当场办结" if days == 0 else f"{days}{unit}")
            rows.append(
                [
                    _p(item_names.get(entry["item"], entry["item"]), body),
                    _p(department_names.get(entry["department"], entry["department"]), body),
                    _p(limit, body),
                ]
            )
        table = Table(rows, colWidths=[70 * mm, 55 * mm, 40 * mm])
        table.setStyle(
            TableStyle(
                [("GRID", (0, 0), (-1, -1), 0.5, "#888888"), ("VALIGN", (0, 0), (-1, -1), "TOP")]
            )
        )
        story += [table, Spacer(1, 4 * mm)]
        if promise:
            story += [_p(promise, body), Spacer(1, 2 * mm)]
        story.append(_p("办理进度和结果将通过短信和“我的办件”告知，请留意。", body))
    elif outcome == "supplement":
        story.append(
            _p("您的申请尚需补正以下全部内容（一次性告知），补正后继续办理，办件编号不变：", body)
        )
        story += _reasons(decision.get("reasons", []), faq, body, small)
    else:
        story.append(
            _p("经审核，您的申请不符合新生儿出生“一件事”受理条件，不予受理。原因如下：", body)
        )
        story += _reasons(decision.get("reasons", []), faq, body, small)
        if channels is None:
            channels = decision.get("ordinary_channels", [])
        if channels:
            story += [Spacer(1, 3 * mm), _p("您仍可通过以下原渠道分别办理：", body)]
            story += [_p(f"· {c}", body) for c in channels]
        if still_open:
            story += [Spacer(1, 2 * mm), _p(still_open, body)]
    story += [Spacer(1, 8 * mm), _p("（本通知书由出生“一件事”平台生成）", small)]
    buffer = io.BytesIO()
    SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=f"{TITLES.get(outcome, '通知书')} {case_number}",
        leftMargin=20 * mm,
        rightMargin=20 * mm,
    ).build(story)
    return buffer.getvalue()
