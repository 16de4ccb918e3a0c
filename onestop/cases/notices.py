"""Printable notices as PDF (reportlab), generated on demand from the stored decision.

- 受理通知书 for an accepted case: the items, departments and time limits;
- 一次性告知 for a supplement: every material and field to fix, in one notice;
- 不予受理通知书 for a reject: every reason, and the ordinary channels still open.

Chinese text needs a CJK font with TrueType outlines (reportlab cannot embed CFF fonts such
as Noto CJK): WenQuanYi Zen Hei from Debian's fonts-wqy-zenhei, or a font named by
``ONESTOP_CJK_FONT``. Without one the notice falls back to the standard Adobe CID font
STSong-Light, which PDF viewers supply themselves.
"""

from __future__ import annotations

import io
import os
from datetime import datetime
from functools import cache
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from onestop.core.written import written

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)

TITLES = {"accept": "受理通知书", "supplement": "一次性告知书", "reject": "不予受理通知书"}


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
) -> bytes:
    """The notice for ``decision`` (the JSON `onestop check` prints) as PDF bytes. A refusal
    lists ``channels`` (per item: where for this case, what to bring; `cases.channels`)
    instead of the decision's plain `ordinary_channels`, then ``still_open``."""
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
        for index, reason in enumerate(decision.get("reasons", []), 1):
            story.append(_p(f"{index}. {reason.get('message', '')}", body))
    else:
        story.append(
            _p("经审核，您的申请不符合新生儿出生“一件事”受理条件，不予受理。原因如下：", body)
        )
        for index, reason in enumerate(decision.get("reasons", []), 1):
            story.append(_p(f"{index}. {reason.get('message', '')}", body))
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
