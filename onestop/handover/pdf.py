"""The printed list of a hand-over batch (副页移交清单 / 上户联移交清单), PDF on demand:
the certificates it holds, the count, the period, and the lines both sides sign."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import SimpleDocTemplate, Spacer, Table, TableStyle

from onestop.cases.notices import _p, _styles
from onestop.core.written import written
from onestop.handover.domain import DOCUMENT_NAMES, METHOD_NAMES
from onestop.handover.selectors import EntryRow


def list_title(documents: Sequence[str]) -> str:
    """副页移交清单 (Qinbei) or 上户联移交清单 (Yuanling), from what the batch holds."""
    if "bmc_sub_page" in documents:
        return "出生医学证明副页移交清单"
    if "bmc_household_copy" in documents:
        return "出生医学证明上户联移交清单"
    return "出生医学证明档案移交清单"


def render_list(
    *,
    region_name: str,
    hospital: str,
    station: str,
    period: str,
    due: Any,
    documents: Sequence[str],
    method: str,
    rows: Sequence[EntryRow],
    tracking_number: str = "",
    batch_id: int,
) -> bytes:
    title_style, body, small = _styles()
    ethnicity = "ethnicity_confirmation_form" in documents
    story: list[Any] = [
        _p(region_name, body),
        _p(list_title(documents), title_style),
        Spacer(1, 4 * mm),
        _p(f"移交机构：{hospital}", body),
        _p(f"接收单位：{station}", body),
        _p(f"移交周期：{period}（移交期限：{written(due, date_only=True)}）", body),
        _p(f"移交材料：{'、'.join(DOCUMENT_NAMES.get(d, d) for d in documents)}", body),
        _p(
            f"移交方式：{METHOD_NAMES.get(method, method)}"
            + (f"（快递单号：{tracking_number}）" if tracking_number else ""),
            body,
        ),
        Spacer(1, 3 * mm),
    ]
    header = ["序号", "出生医学证明编号", "新生儿姓名", "签发日期"]
    if ethnicity:
        header.append("民族成份确认申请书")
    header.append("备注")
    table_rows = [[_p(h, small) for h in header]]
    for row in rows:
        cells = [str(row.number), row.bmc_number, row.names, written(row.issued_at, date_only=True)]
        if ethnicity:
            cells.append("附" if row.ethnicity_form else "—")
        cells.append(f"补交（{row.issued_period_label}签发）" if row.late else "")
        table_rows.append([_p(c, small) for c in cells])
    widths = [12 * mm, 38 * mm, 40 * mm, 32 * mm] + ([24 * mm] if ethnicity else []) + [24 * mm]
    table = Table(table_rows, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [("GRID", (0, 0), (-1, -1), 0.5, "#888888"), ("VALIGN", (0, 0), (-1, -1), "TOP")]
        )
    )
    story += [
        table,
        Spacer(1, 4 * mm),
        _p(f"合计：{len(rows)}份", body),
        Spacer(1, 10 * mm),
        _p("移交人（签名）：____________　　日期：______年____月____日", body),
        Spacer(1, 6 * mm),
        _p("接收人（签名）：____________　　日期：______年____月____日", body),
        Spacer(1, 6 * mm),
        _p(f"（本清单由出生“一件事”平台生成，批次号 {batch_id}）", small),
    ]
    buffer = io.BytesIO()
    SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=f"{list_title(documents)} {period}",
        leftMargin=18 * mm,
        rightMargin=18 * mm,
    ).build(story)
    return buffer.getvalue()
