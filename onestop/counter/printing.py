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

from onestop.cases.notices import cjk_font
from onestop.core.written import written
from onestop.eligibility.reasons import ITEM_NAMES, MATERIAL_NAMES
from onestop.policy import schema as ps
from onestop.reference.domain import ReferenceData
from onestop.unified_form.model import FormContext, admitted_roles, applicable_items, summary

# 受托人与婴儿关系 as the letter writes them (附件3: 限父亲、祖父母、外祖父母).
RELATION_WORDS = {
    "father": "父亲",
    "paternal_grandparent": "祖父母",
    "maternal_grandparent": "外祖父母",
}


def render_unified_form(
    *,
    case_number: str,
    pack: ps.PolicyPack,
    reference: ReferenceData,
    document: dict[str, Any],
    counter_name: str,
    printed_at: datetime,
) -> bytes:
    """The 联办申请表 from the same form model as the screens: its sections in the order
    of the paper form, names instead of codes (医疗机构、派出所、民族、地区、银行), dates as
    people write them (2026年11月1日 09:00), the numbers in full for the signatures."""
    font = cjk_font()
    title = ParagraphStyle("t", fontName=font, fontSize=16, leading=24, alignment=1)
    head = ParagraphStyle("h", fontName=font, fontSize=11, leading=16, spaceBefore=6)
    body = ParagraphStyle("b", fontName=font, fontSize=10, leading=15, wordWrap="CJK")

    def p(text: str, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(text), style)

    items = [i for i in document.get("items", []) if isinstance(i, str)]
    story: list[Any] = [
        Paragraph(escape(f"{pack.name}新生儿出生“一件事”联办申请表"), title),
        Spacer(1, 3 * mm),
        p(f"办件编号：{case_number}　受理窗口：{counter_name}　打印时间：{written(printed_at)}"),
        p("申请事项：" + "、".join(ITEM_NAMES.get(i, i) for i in items)),
    ]
    # The paper form is Chinese whatever the clerk's language (no translate, zh names).
    ctx = FormContext(pack, reference, document, channel=str(document.get("channel") or ""))
    with translation.override(settings.LANGUAGE_CODE):
        grouped = summary(ctx, document, masked=False)
    for section_title, rows in grouped:
        table = Table([[p(row.label), p(row.value)] for row in rows], colWidths=[60 * mm, 110 * mm])
        table.setStyle(
            TableStyle(
                [("GRID", (0, 0), (-1, -1), 0.4, "#888888"), ("VALIGN", (0, 0), (-1, -1), "TOP")]
            )
        )
        story += [p(section_title, head), table]
    materials = [m for m in document.get("materials", []) if isinstance(m, str)]
    story += [
        Spacer(1, 3 * mm),
        p("提交材料：" + ("、".join(MATERIAL_NAMES.get(m, m) for m in materials) or "无")),
        Spacer(1, 6 * mm),
        p("本人承诺以上信息真实、准确，并授权相关部门共享核验办理所需信息。"),
        Spacer(1, 10 * mm),
        p("母亲签名：________________　父亲签名：________________　日期：____年__月__日"),
    ]
    applicant = document.get("applicant") or {}
    trustee = (document.get("authorization") or {}).get("trustee") or {}
    if isinstance(applicant, dict) and applicant.get("role") in ("grandparent", "trustee"):
        # 附件3 授权委托书: the trustee signs too (受托人签名), the letter kept as a scan.
        story += [
            Spacer(1, 6 * mm),
            p(
                f"受托人（申请人）：{trustee.get('name') or applicant.get('name') or ''}"
                f"　身份证号：{trustee.get('id_number') or applicant.get('id_number') or ''}"
                "　受托人签名：________________"
            ),
        ]
    story += [
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


def authorization_relations(pack: ps.PolicyPack) -> list[str]:
    """The relations a trustee may have under the pack, in Chinese (empty: no trustees)."""
    relations: list[str] = []
    for entry in admitted_roles(pack):
        if entry.needs_authorization:
            relations += [r for r in entry.trustee_relations or () if r not in relations]
    order = list(RELATION_WORDS)
    relations.sort(key=lambda r: order.index(r) if r in order else len(order))
    return [RELATION_WORDS.get(r, r) for r in relations]


def render_authorization_letter(*, pack: ps.PolicyPack) -> bytes:
    """The blank 授权委托书 of the region (沅陵 附件3: 新生儿出生“一件事”授权委托书), with the
    region's items to tick and the relations the pack allows, for the mother to sign; the
    clerk scans the signed letter when the trustee applies."""
    font = cjk_font()
    title = ParagraphStyle("t", fontName=font, fontSize=16, leading=24, alignment=1)
    body = ParagraphStyle("b", fontName=font, fontSize=11, leading=22, wordWrap="CJK")

    def p(text: str) -> Paragraph:
        return Paragraph(escape(text), body)

    items = "；".join(f"□{ITEM_NAMES.get(e.item, e.item)}" for e in applicable_items(pack))
    relations = "、".join(authorization_relations(pack)) or "—"
    story: list[Any] = [
        Paragraph(escape(pack.name), body),
        Paragraph(escape("新生儿出生“一件事”授权委托书"), title),
        Spacer(1, 6 * mm),
        p(
            "委托人＿＿＿＿＿＿（新生儿母亲姓名）于＿＿＿＿年＿＿月＿＿日在＿＿＿＿＿＿＿＿"
            "（新生儿分娩助产机构）分娩。分娩的新生儿姓名＿＿＿＿＿＿，性别：□男　□女。"
        ),
        p(
            "现授权委托＿＿＿＿＿＿（姓名）办理新生儿“一件事”有关事项（在相应事项的□内打√）："
            f"{items}。委托期限从＿＿＿＿年＿＿月＿＿日起至＿＿＿＿年＿＿月＿＿日止。"
        ),
        p(f"受托人与婴儿关系（限{relations}）：＿＿＿＿＿＿"),
        p("上述委托权限内，由受托人行为所造成的法律结果，委托人均予以承担。"),
        Spacer(1, 12 * mm),
        p("委托人身份证号：＿＿＿＿＿＿＿＿＿＿＿＿＿＿"),
        p("受托人身份证号：＿＿＿＿＿＿＿＿＿＿＿＿＿＿"),
        p("委托人签名：＿＿＿＿＿＿＿＿　　　　　　　　受托人签名：＿＿＿＿＿＿＿＿"),
        p("＿＿＿＿年＿＿月＿＿日　　　　　　　　　　　＿＿＿＿年＿＿月＿＿日"),
    ]
    buffer = io.BytesIO()
    SimpleDocTemplate(
        buffer, pagesize=A4, title="授权委托书", leftMargin=20 * mm, rightMargin=20 * mm
    ).build(story)
    return buffer.getvalue()
