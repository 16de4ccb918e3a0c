"""The dashboards' Excel workbook, written in memory (issue 10; ADR 0041, amendment of
session 25, h-dashexport): a sheet per panel of plain rows, one of them bold, and the
first column's width. Pure Python, no Django.

The parts are the ones openpyxl writes in its write-only mode, byte for byte (the sheets,
the workbook, its relationships, the styles, the theme, the content types; a test writes
both and compares them), except the document properties (``docProps``: the application,
the author and the times) and one deliberate difference: a text that begins with ``=`` or
is an error code (``#N/A``…) stays text here, where openpyxl would write a formula
(which Excel computes on opening) or an error. openpyxl writes each sheet to a temporary
file and reads it back into the zip (three opens and a remove per sheet: on a busy disk
most of the export's time); this writes the XML into the zip from memory, and spends
little per cell.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

MAX_TEXT = 32767  # Excel's limit of a cell's text (openpyxl cuts it there too)
ILLEGAL = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")  # not allowed in XML 1.0
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"


@dataclass(frozen=True)
class Sheet:
    """One sheet: its title (at most 31 characters, none of ``[]:*?/\\``), its rows from
    the first (a cell: ``None`` for an empty cell, text, a number or a boolean), which
    row (0-based) is bold, and the first column's width in characters."""

    title: str
    rows: Sequence[Sequence[Any]]
    bold_row: int | None = None
    first_width: float | None = None


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attribute(value: str) -> str:
    return (
        _text(value)
        .replace('"', "&quot;")
        .replace("\r", "&#13;")
        .replace("\n", "&#10;")
        .replace("\t", "&#09;")
    )


def _number(value: float) -> str:
    return "" if math.isnan(value) or math.isinf(value) else f"{value:.16g}"


def column_letter(index: int) -> str:
    """1 → A, 27 → AA."""
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _cell(ref: str, value: Any, style: str) -> str:
    if isinstance(value, bool):
        return f'<c r="{ref}"{style} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int | float):
        shown = _number(value)
        return (
            f'<c r="{ref}"{style} t="n"><v>{shown}</v></c>'
            if shown
            else (f'<c r="{ref}"{style} t="n"><v /></c>')
        )
    if isinstance(value, str):
        value = value[:MAX_TEXT]
        if ILLEGAL.search(value):
            raise ValueError(f"{value!r} cannot be written in a worksheet")
        if not value:
            return f'<c r="{ref}"{style} t="inlineStr" />'
        stripped = value.strip()
        space = ' xml:space="preserve"' if stripped and stripped != value else ""
        return f'<c r="{ref}"{style} t="inlineStr"><is><t{space}>{_text(value)}</t></is></c>'
    if value is None:
        return f'<c r="{ref}"{style} t="n" />'
    raise ValueError(f"Cannot convert {value!r} to Excel")


def _sheet_xml(sheet: Sheet) -> bytes:
    out = [
        f'<worksheet xmlns="{MAIN}"><sheetPr><outlinePr summaryBelow="1" summaryRight="1" />'
        '<pageSetUpPr /></sheetPr><sheetViews><sheetView workbookViewId="0">'
        '<selection activeCell="A1" sqref="A1" /></sheetView></sheetViews>'
        '<sheetFormatPr baseColWidth="8" defaultRowHeight="15" />'
    ]
    if sheet.first_width is not None:
        out.append(
            f'<cols><col width="{_number(sheet.first_width)}" customWidth="1" min="1" max="1" />'
            "</cols>"
        )
    out.append("<sheetData>")
    for n, row in enumerate(sheet.rows):
        number = n + 1
        style = ' s="1"' if n == sheet.bold_row else ""
        out.append(f'<row r="{number}">')
        for col, value in enumerate(row, 1):
            if value is None and not style:
                continue
            out.append(_cell(f"{column_letter(col)}{number}", value, style))
        out.append("</row>")
    out.append(
        '</sheetData><pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5"'
        ' footer="0.5" /></worksheet>'
    )
    return "".join(out).encode()


def unique_titles(titles: Iterable[str]) -> list[str]:
    """A title already taken (in any case) gets the next number after it, as openpyxl
    names a duplicate sheet."""
    taken: list[str] = []
    for title in titles:
        if any(t.lower() == title.lower() for t in taken):
            found = re.findall(
                f"(?P<title>{re.escape(title)})(?P<count>\\d*),?", ",".join(taken), re.I
            )
            counts = [int(count) for _, count in found if count.isdigit()]
            title = f"{title}{max(counts, default=0) + 1}"
        taken.append(title)
    return taken


# openpyxl's default indexed colours (the legacy palette), as it writes them.
INDEXED_COLOURS = (
    "000000 FFFFFF FF0000 00FF00 0000FF FFFF00 FF00FF 00FFFF 000000 FFFFFF FF0000 "
    "00FF00 0000FF FFFF00 FF00FF 00FFFF 800000 008000 000080 808000 800080 008080 "
    "C0C0C0 808080 9999FF 993366 FFFFCC CCFFFF 660066 FF8080 0066CC CCCCFF 000080 "
    "FF00FF FFFF00 00FFFF 800080 800000 008080 0000FF 00CCFF CCFFFF CCFFCC FFFF99 "
    "99CCFF FF99CC CC99FF FFCC99 3366FF 33CCCC 99CC00 FFCC00 FF9900 FF6600 666699 "
    "969696 003366 339966 003300 333300 993300 993366 333399 333333"
)
XF = (
    '<xf numFmtId="0" fontId="{font}" fillId="0" borderId="0" '
    'pivotButton="0" quotePrefix="0" xfId="0" />'
)


def _styles(bold: bool) -> str:
    """The styles: the default font and, where a cell is bold, a bold one (style 1)."""
    return (
        f'<styleSheet xmlns="{MAIN}"><numFmts count="0" /><fonts count="{1 + bold}"><font>'
        '<name val="Calibri" /><family val="2" /><color theme="1" /><sz val="11" />'
        '<scheme val="minor" /></font>'
        + ('<font><b val="1" /></font>' if bold else "")
        + '</fonts><fills count="2"><fill><patternFill /></fill><fill>'
        '<patternFill patternType="gray125" /></fill></fills><borders count="1"><border>'
        "<left /><right /><top /><bottom /><diagonal /></border></borders>"
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" />'
        f'</cellStyleXfs><cellXfs count="{1 + bold}">{XF.format(font=0)}'
        + (XF.format(font=1) if bold else "")
        + '</cellXfs><cellStyles count="1">'
        '<cellStyle name="Normal" xfId="0" builtinId="0" hidden="0" /></cellStyles>'
        '<tableStyles count="0" defaultTableStyle="TableStyleMedium9" '
        'defaultPivotStyle="PivotStyleLight16" /><colors><indexedColors>'
        + "".join(f'<rgbColor rgb="00{rgb}" />' for rgb in INDEXED_COLOURS.split())
        + "</indexedColors></colors></styleSheet>"
    )


def _theme() -> str:
    # openpyxl's default theme (Office): the fonts and colours the styles refer to.
    from openpyxl.writer.theme import theme_xml

    return str(theme_xml)


def workbook(sheets: Sequence[Sheet], now: datetime) -> bytes:
    """The .xlsx file of the sheets (``now``: the document's times, written in UTC)."""
    titles = unique_titles(s.title for s in sheets)
    count = len(sheets)
    stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "docProps/app.xml",
            '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
            'extended-properties"><Application>onestop</Application></Properties>',
        )
        archive.writestr(
            "docProps/core.xml",
            '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
            'metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:creator>onestop'
            f'</dc:creator><dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
            f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified>'
            "</cp:coreProperties>",
        )
        archive.writestr("xl/theme/theme1.xml", _theme())
        for n, sheet in enumerate(sheets, 1):
            archive.writestr(f"xl/worksheets/sheet{n}.xml", _sheet_xml(sheet))
        bold = any(
            s.bold_row is not None and s.bold_row < len(s.rows) and s.rows[s.bold_row]
            for s in sheets
        )
        archive.writestr("xl/styles.xml", _styles(bold))
        archive.writestr(
            "_rels/.rels",
            f'<Relationships xmlns="{RELS}"><Relationship Type="{DOC_RELS}/officeDocument" '
            'Target="xl/workbook.xml" Id="rId1" /><Relationship '
            f'Type="{RELS}/metadata/core-properties" Target="docProps/core.xml" Id="rId2" />'
            f'<Relationship Type="{DOC_RELS}/extended-properties" Target="docProps/app.xml" '
            'Id="rId3" /></Relationships>',
        )
        archive.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns:r="{DOC_RELS}" xmlns="{MAIN}"><workbookPr /><workbookProtection />'
            '<bookViews><workbookView visibility="visible" minimized="0" '
            'showHorizontalScroll="1" showVerticalScroll="1" showSheetTabs="1" tabRatio="600" '
            'firstSheet="0" activeTab="0" autoFilterDateGrouping="1" /></bookViews><sheets>'
            + "".join(
                f'<sheet name="{_attribute(title)}" sheetId="{n}" state="visible" r:id="rId{n}" />'
                for n, title in enumerate(titles, 1)
            )
            + '</sheets><definedNames /><calcPr calcId="124519" fullCalcOnLoad="1" /></workbook>',
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<Relationships xmlns="{RELS}">'
            + "".join(
                f'<Relationship Type="{DOC_RELS}/worksheet" '
                f'Target="/xl/worksheets/sheet{n}.xml" Id="rId{n}" />'
                for n in range(1, count + 1)
            )
            + f'<Relationship Type="{DOC_RELS}/styles" Target="styles.xml" Id="rId{count + 1}" />'
            f'<Relationship Type="{DOC_RELS}/theme" Target="theme/theme1.xml" '
            f'Id="rId{count + 2}" /></Relationships>',
        )
        office = "application/vnd.openxmlformats-officedocument"
        archive.writestr(
            "[Content_Types].xml",
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml" />'
            '<Default Extension="xml" ContentType="application/xml" />'
            '<Override PartName="/xl/styles.xml" '
            f'ContentType="{office}.spreadsheetml.styles+xml" />'
            f'<Override PartName="/xl/theme/theme1.xml" ContentType="{office}.theme+xml" />'
            '<Override PartName="/docProps/core.xml" '
            'ContentType="application/vnd.openxmlformats-package.core-properties+xml" />'
            '<Override PartName="/docProps/app.xml" '
            f'ContentType="{office}.extended-properties+xml" />'
            + "".join(
                f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{SHEET_TYPE}" />'
                for n in range(1, count + 1)
            )
            + '<Override PartName="/xl/workbook.xml" '
            f'ContentType="{office}.spreadsheetml.sheet.main+xml" /></Types>',
        )
    return data.getvalue()
