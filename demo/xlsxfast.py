"""A minimal .xlsx writer for large sheets: the sheet XML written straight (cells as inline strings, numbers and
dates as such) and zipped — a real Office Open XML workbook (Excel, WPS and calamine open it) written ~10–20× faster
than xlsxwriter cell by cell, which took ~100 s for the 任期承诺 demo's 600,000 rows and would take hours for the
teams benchmark's year of workbooks for 200,000 people (bench/teams.py). The one writer of both.

A sheet is (name, rows above the data — titles, header —, the data), the data either

- a polars frame: every cell written as text, built by polars string operations (the fast path for big frames; the
  pipeline reads every cell as text anyway, pipelines/read.py: dates as 2023-12-31, numbers as their decimal text);
- or a list of rows (as the rows above the data always are): cells typed — a number as a number, a date as an Excel
  date (serial with a yyyy-mm-dd format), anything else as text.

Empty and null cells are left out. The styles part (the date format) is written only when a date cell is.
"""

from __future__ import annotations

import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any, Sequence
from xml.sax.saxutils import escape

import polars as pl

_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
_CONTENT_TYPES = (_XML + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                  '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                  '<Default Extension="xml" ContentType="application/xml"/>'
                  '<Override PartName="/xl/workbook.xml" '
                  'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
                  '{styles}{sheets}</Types>')
_STYLES_TYPE = ('<Override PartName="/xl/styles.xml" '
                'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>')
_SHEET_TYPE = ('<Override PartName="/xl/worksheets/sheet{i}.xml" '
               'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>')
_RELS = (_XML + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
         '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
         'officeDocument" Target="xl/workbook.xml"/></Relationships>')
# One cell format besides the default: yyyy-mm-dd for dates (cell style s="1").
_STYLES = (_XML + '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
           '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd"/></numFmts>'
           '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
           '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/>'
           '</fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
           '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
           '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
           '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
           '</styleSheet>')
_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_RNS = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
_EPOCH = date(1899, 12, 30)  # Excel's day 0 (its serials count from here, 1900 leap-year bug included)

Rows = Sequence[Sequence[Any]]
Sheet = tuple[str, Rows, "pl.DataFrame | Rows"]


def _col(j: int) -> str:
    name = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        name = chr(65 + r) + name
    return name


def _typed_rows(rows: Rows, first: int, dates: list[bool]) -> str:
    """Rows from row number ``first``, cells typed; ``dates[0]`` is set when a date cell is written."""
    cols: list[str] = []
    lines = []
    for r, row in enumerate(rows, start=first):
        while len(cols) < len(row):
            cols.append(_col(len(cols)))
        cells = []
        for c, value in enumerate(row):
            if value is None or value == "":
                continue
            ref = f"{cols[c]}{r}"
            if isinstance(value, datetime):
                delta = value - datetime(1899, 12, 30)
                cells.append(f'<c r="{ref}" s="1"><v>{delta.days + delta.seconds / 86400:g}</v></c>')
                dates[0] = True
            elif isinstance(value, date):
                cells.append(f'<c r="{ref}" s="1"><v>{(value - _EPOCH).days}</v></c>')
                dates[0] = True
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                cells.append(f'<c r="{ref}"><v>{value}</v></c>')
            else:
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>')
        lines.append(f'<row r="{r}">{"".join(cells)}</row>')
    return "".join(lines)


def _frame_rows(frame: pl.DataFrame, first: int) -> str:
    """The frame's rows from row number ``first``, every cell as text (polars builds the XML column by column)."""
    if not frame.height:
        return ""
    row_no = pl.int_range(first, first + frame.height, eager=False).cast(pl.String)
    cells = []
    for j, name in enumerate(frame.columns):
        text = pl.col(name).cast(pl.String).str.replace_all("&", "&amp;").str.replace_all("<", "&lt;") \
            .str.replace_all(">", "&gt;")
        cells.append(pl.when(text.is_not_null() & (text != "")).then(
            pl.concat_str([pl.lit(f'<c r="{_col(j)}'), row_no, pl.lit('" t="inlineStr"><is><t>'), text,
                           pl.lit("</t></is></c>")])).otherwise(pl.lit("")))
    body = frame.select(pl.concat_str([pl.lit('<row r="'), row_no, pl.lit('">'), *cells, pl.lit("</row>")])
                        .alias("x"))["x"]
    return "".join(body.to_list())


def _sheet_xml(top: Rows, data: "pl.DataFrame | Rows", dates: list[bool]) -> bytes:
    """Rows ``top`` (titles, header) then the data's rows."""
    body = _typed_rows(top, 1, dates) + (_frame_rows(data, len(top) + 1) if isinstance(data, pl.DataFrame)
                                         else _typed_rows(data, len(top) + 1, dates))
    return f"{_XML}<worksheet {_NS}><sheetData>{body}</sheetData></worksheet>".encode()


def write(path: Path, sheets: list[Sheet]) -> Path:
    """``sheets``: (name, rows above the data, the data: a frame or a list of rows) each; see the module's doc."""
    dates = [False]
    xml = [_sheet_xml(top, data, dates) for _, top, data in sheets]
    n = len(sheets)
    names = "".join(f'<sheet name="{escape(name)}" sheetId="{i}" r:id="rId{i}"/>'
                    for i, (name, _, _) in enumerate(sheets, 1))
    rels = "".join(f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                   f'relationships/worksheet" Target="worksheets/sheet{i}.xml"/>' for i in range(1, n + 1))
    if dates[0]:
        rels += (f'<Relationship Id="rId{n + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                 'relationships/styles" Target="styles.xml"/>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("[Content_Types].xml", _CONTENT_TYPES.format(
            styles=_STYLES_TYPE if dates[0] else "", sheets="".join(_SHEET_TYPE.format(i=i) for i in range(1, n + 1))))
        z.writestr("_rels/.rels", _RELS)
        z.writestr("xl/workbook.xml", f"{_XML}<workbook {_NS} {_RNS}><sheets>{names}</sheets></workbook>")
        z.writestr("xl/_rels/workbook.xml.rels",
                   f'{_XML}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}'
                   "</Relationships>")
        if dates[0]:
            z.writestr("xl/styles.xml", _STYLES)
        for i, body in enumerate(xml, 1):
            z.writestr(f"xl/worksheets/sheet{i}.xml", body)
    return Path(path)
