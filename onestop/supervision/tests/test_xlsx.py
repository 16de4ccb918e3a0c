"""The dashboards' workbook written in memory (``supervision.xlsx``) holds what openpyxl's
write-only mode wrote (issue 10, session 25): every part but the document properties byte
for byte, and read back by openpyxl the same sheets, cells (value and type), bold header
and column width — on generated sheets of every kind of value the exports hold."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onestop.supervision.xlsx import Sheet, column_letter, unique_titles, workbook

NOW = datetime(2026, 11, 27, 19, 0, tzinfo=UTC)


def openpyxl_workbook(sheets: list[Sheet]) -> bytes:
    """The export's workbook as written before (session 24): openpyxl, write-only."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    bold = Font(bold=True)
    for sheet in sheets:
        ws = book.create_sheet(sheet.title)
        if sheet.first_width is not None:
            ws.column_dimensions["A"].width = sheet.first_width
        for n, row in enumerate(sheet.rows):
            if n == sheet.bold_row:
                cells = [WriteOnlyCell(ws, value=value) for value in row]
                for cell in cells:
                    cell.font = bold
                ws.append(cells)
            else:
                ws.append(list(row))
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


def parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def read_back(data: bytes) -> list[tuple[Any, ...]]:
    """Every sheet's title, first column width and cells (where, value, type, bold) as
    openpyxl reads them."""
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data))
    out: list[tuple[Any, ...]] = []
    for ws in book.worksheets:
        cells = [
            (c.coordinate, c.value, type(c.value).__name__, c.data_type, bool(c.font.b))
            for row in ws.iter_rows()
            for c in row
        ]
        out.append((ws.title, ws.column_dimensions["A"].width, ws.max_row, cells))
    return out


def assert_same(sheets: list[Sheet]) -> None:
    ours, theirs = parts(workbook(sheets, now=NOW)), parts(openpyxl_workbook(sheets))
    assert list(ours) == list(theirs)
    for name in theirs:
        if not name.startswith("docProps/"):
            assert ours[name] == theirs[name], name
    assert read_back(workbook(sheets, now=NOW)) == read_back(openpyxl_workbook(sheets))


ERROR_CODES = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A")


def plain(text: str) -> bool:
    """Text both writers write as text: no control character but tab and line breaks (both
    refuse those), and neither a formula nor an error code (see the test below)."""
    return (
        not any(ch < " " and ch not in "\t\n\r" for ch in text)
        and not (len(text) > 1 and text.startswith("="))
        and text not in ERROR_CODES
    )


def title(text: str) -> bool:
    return (
        bool(text) and text.strip() == text and not any(ch < " " or ch in "[]:*?/\\" for ch in text)
    )


values = st.one_of(
    st.none(),
    st.text(max_size=12).filter(plain),
    st.sampled_from(["—", "合计", " 前后空格 ", "a & b <c> \"d\" 'e'", "", " ", "\t", "1.0"]),
    st.integers(min_value=-(10**18), max_value=10**18),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=0, max_value=100).map(lambda x: round(x, 1)),
    st.booleans(),
)
titles = st.one_of(
    st.sampled_from(["各地区办件量", "预审结论", "Sheet", "sheet", "Sheet1", "A & B", 'say "x"']),
    st.text(min_size=1, max_size=31).filter(title),
)
sheet = st.builds(
    Sheet,
    title=titles,
    rows=st.lists(st.lists(values, max_size=6), max_size=8),
    bold_row=st.one_of(st.none(), st.integers(min_value=0, max_value=8)),
    first_width=st.one_of(st.none(), st.sampled_from([36, 36.0, 12.5, 8])),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(sheet, min_size=1, max_size=5))
def test_the_workbook_is_openpyxls_part_for_part(sheets):
    assert_same(sheets)


def test_the_exports_shape_as_written_before():
    """The dashboards' shape: three heading lines, a blank row, the bold header, the rows
    and the total; twelve sheets, some titles cut at 31 characters into the same text."""
    rows: list[list[Any]] = [
        ["各部门各事项按时办结率和办理用时"],
        ["统计期间：2025年11月27日至2026年11月27日"],
        ["辖区：22"],
        [],
        ["部门 · 事项", "办结", "按时办结率（%）", "办理用时中位数（工作日）", "自动办结"],
        ["公安 · 出生登记", 1234, 93.3, 2.15, 0],
        ["卫健 · 出生医学证明", 998, None, None, 12],
        ["全部事项", 2232, "—", "—", 12],
        ["合计", 5, 50.0, "", 0],
    ]
    long = "An English title longer than thirty-one characters"
    sheets = [Sheet(long[:31], rows, 4, 36), Sheet(long[:31], rows, 4, 36)] + [
        Sheet(f"面板{n}", rows, 4, 36) for n in range(10)
    ]
    assert_same(sheets)
    assert unique_titles([s.title for s in sheets])[1] == long[:31] + "1"


def test_text_is_never_a_formula():
    """The deliberate difference: a text that begins with "=" (a name typed into reference
    data) or reads like an error code is written as text; openpyxl wrote a formula, which
    Excel computes when the file is opened."""
    from openpyxl import load_workbook

    data = workbook([Sheet("x", [["=1+1", "#N/A", '=HYPERLINK("http://x")']])], now=NOW)
    cells = [c for row in load_workbook(io.BytesIO(data)).active.iter_rows() for c in row]
    assert [(c.value, c.data_type) for c in cells] == [
        ("=1+1", "s"),
        ("#N/A", "s"),
        ('=HYPERLINK("http://x")', "s"),
    ]
    assert b"<f>" not in parts(data)["xl/worksheets/sheet1.xml"]


def test_what_a_cell_cannot_hold_is_refused_as_openpyxl_did():
    with pytest.raises(ValueError):
        workbook([Sheet("x", [["a\x01b"]])], now=NOW)
    with pytest.raises(ValueError):
        workbook([Sheet("x", [[object()]])], now=NOW)


def test_the_document_properties():
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(workbook([Sheet("x", [[1]])], now=NOW)))
    assert book.properties.creator == "onestop"
    assert book.properties.created == NOW.replace(tzinfo=None)


def test_column_letters():
    from openpyxl.utils import get_column_letter

    assert [column_letter(n) for n in range(1, 800)] == [
        get_column_letter(n) for n in range(1, 800)
    ]


def test_the_document_times_are_utc():
    from datetime import timedelta, timezone

    from openpyxl import load_workbook

    beijing = NOW.astimezone(timezone(timedelta(hours=8)))
    book = load_workbook(io.BytesIO(workbook([Sheet("x", [[1]])], now=beijing)))
    assert book.properties.modified == NOW.replace(tzinfo=None)
