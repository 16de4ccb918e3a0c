"""The filled unified form (一表申报) as a PDF for the parents' signatures at the counter.

The form is a Chinese paper document whatever language the clerk's pages are in."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from django.conf import settings
from django.utils import translation
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from onestop.cases.domain.paths import get_path
from onestop.cases.notices import cjk_font
from onestop.core.clock import to_beijing
from onestop.counter.fields import ENTRIES
from onestop.eligibility.reasons import ITEM_NAMES, MATERIAL_NAMES


def _text(entry: Any, value: Any) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if entry.choices:
        label: str = dict(entry.choices).get(str(value), str(value))
        return label
    return str(value)


def render_unified_form(
    *,
    case_number: str,
    region_name: str,
    document: dict[str, Any],
    counter_name: str,
    printed_at: datetime,
) -> bytes:
    font = cjk_font()
    title = ParagraphStyle("t", fontName=font, fontSize=16, leading=24, alignment=1)
    body = ParagraphStyle("b", fontName=font, fontSize=10, leading=15, wordWrap="CJK")

    def p(text: str) -> Paragraph:
        return Paragraph(escape(text), body)

    items = [i for i in document.get("items", []) if isinstance(i, str)]
    story: list[Any] = [
        Paragraph(escape(f"{region_name}新生儿出生“一件事”联办申请表"), title),
        Spacer(1, 3 * mm),
        p(
            f"办件编号：{case_number}　受理窗口：{counter_name}　"
            f"打印时间：{to_beijing(printed_at):%Y-%m-%d %H:%M}"
        ),
        p("申请事项：" + "、".join(ITEM_NAMES.get(i, i) for i in items)),
        Spacer(1, 2 * mm),
    ]
    rows = []
    for entry in ENTRIES:
        if entry.items and not set(entry.items) & set(items):
            continue
        value = get_path(document, entry.path)
        if value in (None, ""):
            continue
        with translation.override(settings.LANGUAGE_CODE):  # the labels are lazy
            label = str(entry.label)
        rows.append([p(label), p(_text(entry, value))])
    table = Table(rows, colWidths=[60 * mm, 110 * mm])
    table.setStyle(
        TableStyle(
            [("GRID", (0, 0), (-1, -1), 0.4, "#888888"), ("VALIGN", (0, 0), (-1, -1), "TOP")]
        )
    )
    materials = [m for m in document.get("materials", []) if isinstance(m, str)]
    story += [
        table,
        Spacer(1, 3 * mm),
        p("提交材料：" + ("、".join(MATERIAL_NAMES.get(m, m) for m in materials) or "无")),
        Spacer(1, 6 * mm),
        p("本人承诺以上信息真实、准确，并授权相关部门共享核验办理所需信息。"),
        Spacer(1, 10 * mm),
        p("母亲签名：________________　父亲签名：________________　日期：____年__月__日"),
        Spacer(1, 6 * mm),
        p("受理人签名：________________"),
    ]
    buffer = io.BytesIO()
    SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=f"联办申请表 {case_number}",
        leftMargin=18 * mm,
        rightMargin=18 * mm,
    ).build(story)
    return buffer.getvalue()
