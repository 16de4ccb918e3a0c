"""An e-licence as PDF (reportlab, Chinese font of the notices), rendered on demand: the
licence content, the issuer's e-seal and a QR code that opens the public verification
page with the sealed document and its signature (verifiable offline as well)."""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.shapes import Circle, Drawing, Group, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from onestop.cases.notices import cjk_font, qr_png
from onestop.core.written import written

SEAL_RED = colors.HexColor("#c8102e")


def _seal_drawing(issuer_name: str, font: str) -> Drawing:
    """A round red seal with the issuer's name along the rim (a picture of the e-seal; the
    e-seal itself is the signature the QR code carries)."""
    size = 42 * mm
    centre = size / 2
    drawing = Drawing(size, size)
    drawing.add(
        Circle(centre, centre, size / 2 - 2, strokeColor=SEAL_RED, strokeWidth=2.4, fillColor=None)
    )
    drawing.add(
        String(
            centre,
            centre - 7,
            "★",
            fontName=font,
            fontSize=26,
            fillColor=SEAL_RED,
            textAnchor="middle",
        )
    )
    drawing.add(
        String(
            centre,
            centre - 25,
            "电子印章",
            fontName=font,
            fontSize=8,
            fillColor=SEAL_RED,
            textAnchor="middle",
        )
    )
    name = issuer_name[:18]
    if name:
        radius = size / 2 - 13
        span = min(240.0, 17.0 * len(name))  # degrees of the rim the name takes
        step = span / max(1, len(name) - 1)
        font_size = 11 if len(name) <= 12 else 9
        for index, char in enumerate(name):
            angle = 90 + span / 2 - index * step
            glyph = Group(
                String(
                    0,
                    0,
                    char,
                    fontName=font,
                    fontSize=font_size,
                    fillColor=SEAL_RED,
                    textAnchor="middle",
                )
            )
            glyph.translate(
                centre + radius * math.cos(math.radians(angle)),
                centre + radius * math.sin(math.radians(angle)),
            )
            glyph.rotate(angle - 90)
            drawing.add(glyph)
    return drawing


def render_elicence(
    *,
    title: str,
    rows: Sequence[tuple[str, str]],
    issuer_name: str,
    verify_url: str,
    seal_lines: Sequence[str],
) -> bytes:
    """The licence: its rows (label, value), the seal picture, the QR code and the seal's
    technical data (serial, key, algorithm, digest)."""
    font = cjk_font()
    title_style = ParagraphStyle("title", fontName=font, fontSize=20, leading=28, alignment=1)
    body = ParagraphStyle("body", fontName=font, fontSize=11, leading=17, wordWrap="CJK")
    small = ParagraphStyle("small", fontName=font, fontSize=8, leading=11, wordWrap="CJK")

    table = Table(
        [[Paragraph(escape(k), body), Paragraph(escape(v), body)] for k, v in rows],
        colWidths=[45 * mm, 120 * mm],
    )
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f3f4f6")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    qr = Image(io.BytesIO(qr_png(verify_url)), width=50 * mm, height=50 * mm)
    qr_caption = Paragraph(escape("扫码验证电子印章（无需登录）"), small)
    footer = Table(
        [[_seal_drawing(issuer_name, font), [qr, qr_caption]]],
        colWidths=[80 * mm, 85 * mm],
    )
    footer.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("ALIGN", (0, 0), (-1, -1), "CENTER")])
    )
    story: list[Any] = [
        Paragraph(escape(title), title_style),
        Spacer(1, 6 * mm),
        table,
        Spacer(1, 6 * mm),
        footer,
        Spacer(1, 4 * mm),
    ]
    story += [Paragraph(escape(line), small) for line in seal_lines]
    out = io.BytesIO()
    SimpleDocTemplate(
        out,
        pagesize=A4,
        title=title,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
    ).build(story)
    return out.getvalue()


def licence_rows(
    payload: Mapping[str, Any],
    *,
    item_name: str,
    result_labels: Mapping[str, str],
    sex_labels: Mapping[str, str],
) -> list[tuple[str, str]]:
    """The rows of the licence from its full payload (for its owner and the officers)."""
    issuer = payload.get("issuer") or {}
    rows = [
        ("证照编号", str(payload.get("serial", ""))),
        ("证照名称", item_name),
        ("签发机构", str(issuer.get("name", ""))),
        ("办件编号", str(payload.get("case_number", ""))),
        ("签发时间", written(payload.get("issued_at"))),
    ]
    if payload.get("replaces"):  # a corrected licence (更正, ADR 0042)
        rows.append(("更正说明", f"本证照为更正后的证照，取代 {payload['replaces']}"))
    for n in (payload.get("subject") or {}).get("newborns", []):
        born = written(n.get("born_at"))
        sex = sex_labels.get(str(n.get("sex", "")), "")
        rows.append(("新生儿", "　".join(x for x in (str(n.get("name", "")), sex, born) if x)))
    result = payload.get("result") or {}
    ordered = [n for n in result_labels if n in result] + sorted(set(result) - set(result_labels))
    for name in ordered:
        rows.append((result_labels.get(name, name), str(result[name])))
    for label, text in (payload.get("remarks") or {}).items():
        rows.append((str(label), str(text)))
    return rows


PREVIEW_MARK = "预览 不作凭证"


def render_preview(
    *,
    title: str,
    rows: Sequence[tuple[str, str]],
    lines: Sequence[str],
    mark: str | None = PREVIEW_MARK,
    suffix: str = "（预览）",
) -> bytes:
    """A preview (预览, ADR 0035): the document's rows under a diagonal watermark on every
    page, "预览 不作凭证", with no seal and no QR code — it proves nothing, it is read.
    With ``mark=None``: the signed copy an officer archives (its ``lines`` say who signed)."""
    font = cjk_font()
    title_style = ParagraphStyle("title", fontName=font, fontSize=18, leading=26, alignment=1)
    body = ParagraphStyle("body", fontName=font, fontSize=11, leading=17, wordWrap="CJK")
    small = ParagraphStyle("small", fontName=font, fontSize=8, leading=11, wordWrap="CJK")
    table = Table(
        [[Paragraph(escape(k), body), Paragraph(escape(v), body)] for k, v in rows],
        colWidths=[50 * mm, 115 * mm],
    )
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f3f4f6")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )

    def watermark(canvas: Any, _doc: Any) -> None:
        if mark is None:
            return
        canvas.saveState()
        canvas.setFont(font, 54)
        canvas.setFillColor(colors.Color(0.78, 0.06, 0.18, alpha=0.18))
        width, height = A4
        for y in (height * 0.3, height * 0.7):
            canvas.saveState()
            canvas.translate(width / 2, y)
            canvas.rotate(35)
            canvas.drawCentredString(0, 0, mark)
            canvas.restoreState()
        canvas.restoreState()

    story: list[Any] = [
        Paragraph(escape(f"{title}{suffix}"), title_style),
        Spacer(1, 6 * mm),
        table,
        Spacer(1, 6 * mm),
    ]
    story += [Paragraph(escape(line), small) for line in lines]
    out = io.BytesIO()
    SimpleDocTemplate(
        out,
        pagesize=A4,
        title=f"{title}（{mark}）" if mark else f"{title}{suffix}",
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
    ).build(story, onFirstPage=watermark, onLaterPages=watermark)
    return out.getvalue()
