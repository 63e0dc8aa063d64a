"""Tables to files an office can open and print as they are: Excel (xlsxwriter) and CSV with a UTF-8 BOM.

Owns the file layout: a title row with the as-of date, a subtitle with the filters, Chinese headers, number formats
(percent 0.0%, thousands separators), a frozen header, column widths, a 说明 sheet stating the method; printing in
landscape, fitted to the page width, with the header row repeated on every page. Text that a spreadsheet would take
for a formula (= + - @, and tab / carriage return that some programs strip first) is neutralised with a leading
apostrophe, in both formats — a village name from a report must never run as a formula on an analyst's machine.

The frames written are the ones the pages show (hometown.rankings.index.table, hometown.rankings.scores.results_table,
hometown.dispatch.orders.orders_table), so the file matches the screen cell by cell. Shared by every room that
exports; what a room exports (the ranking file and its command: hometown.rankings.exports) lives in the room.
"""

from __future__ import annotations

import csv
import io
import math
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

import polars as pl
import xlsxwriter

# Column kinds (the rooms' tables name theirs with these).
TEXT, INT, DECIMAL, INDEX, PERCENT, SCORE = "text", "int", "decimal", "index", "percent", "score"
NUMBER_FORMATS = {INT: "#,##0", DECIMAL: "#,##0.00", INDEX: "0.00", PERCENT: "0.0%", SCORE: "0.00"}

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIME = "text/csv"


def neutralise(value: str) -> str:
    """'=SUM(A1)' → "'=SUM(A1)": a text cell never starts a formula in Excel, WPS or LibreOffice."""
    return "'" + value if value and value.startswith(FORMULA_PREFIXES) else value


def _cell_text(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def display_width(text: str) -> int:
    """Columns a text needs in a fixed-width sense: CJK and full-width characters count twice."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


@dataclass(frozen=True)
class Sheet:
    """One table sheet: its frame, the kind of each column, and its title and subtitle rows."""

    name: str
    frame: pl.DataFrame
    kinds: dict[str, str]
    title: str
    subtitle: str = ""


def _sample_text(value, kind: str) -> str:
    if value is None:
        return ""
    if kind == PERCENT:
        return f"{value * 100:.1f}%"
    if kind in (INT,):
        return f"{value:,.0f}"
    if kind in (DECIMAL, INDEX, SCORE):
        return f"{value:,.2f}"
    return str(value)


def _widths(frame: pl.DataFrame, kinds: dict[str, str]) -> list[float]:
    widths = []
    for name in frame.columns:
        kind = kinds.get(name, TEXT)
        values = frame[name].head(2000).to_list()
        longest = max([display_width(_sample_text(v, kind)) for v in values] + [display_width(name)])
        widths.append(min(max(longest + 2, 6), 40))
    return widths


def _write_table_sheet(wb: xlsxwriter.Workbook, sheet: Sheet, styles: dict) -> None:
    ws = wb.add_worksheet(sheet.name)
    frame = sheet.frame
    ncols = max(len(frame.columns), 1)
    header_row = 2 if sheet.subtitle else 1
    if ncols > 1:
        ws.merge_range(0, 0, 0, ncols - 1, sheet.title, styles["title"])
        if sheet.subtitle:
            ws.merge_range(1, 0, 1, ncols - 1, sheet.subtitle, styles["subtitle"])
    else:
        ws.write_string(0, 0, sheet.title, styles["title"])
        if sheet.subtitle:
            ws.write_string(1, 0, sheet.subtitle, styles["subtitle"])
    ws.set_row(0, 28)
    for c, name in enumerate(frame.columns):
        ws.write_string(header_row, c, name, styles["header"])
    kinds = [sheet.kinds.get(name, TEXT) for name in frame.columns]
    for r, row in enumerate(frame.iter_rows(), start=header_row + 1):
        for c, (value, kind) in enumerate(zip(row, kinds)):
            style = styles[kind]
            if value is None or (isinstance(value, float) and math.isnan(value)):
                ws.write_blank(r, c, None, style)
            elif kind == TEXT or isinstance(value, str):
                # write_string: never a formula, never a number guessed from text; then neutralised for copies.
                ws.write_string(r, c, neutralise(str(value)), styles[TEXT])
            elif isinstance(value, bool):
                ws.write_boolean(r, c, value, style)
            elif isinstance(value, (date, datetime)):
                ws.write_datetime(r, c, datetime(value.year, value.month, value.day), styles["date"])
            else:
                ws.write_number(r, c, value, style)
    for c, width in enumerate(_widths(frame, sheet.kinds)):
        ws.set_column(c, c, width)
    last_row = header_row + max(frame.height, 1)
    ws.freeze_panes(header_row + 1, 0)
    if frame.height:
        ws.autofilter(header_row, 0, header_row + frame.height, ncols - 1)
    # Printable as is: A4 landscape, every column on one page width, the header row on every page.
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(header_row)
    ws.center_horizontally()
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.set_footer("&C第 &P 页，共 &N 页")
    ws.print_area(0, 0, last_row, ncols - 1)


def _write_notes_sheet(wb: xlsxwriter.Workbook, notes: list[tuple[str, str]], styles: dict, title: str) -> None:
    ws = wb.add_worksheet("说明")
    ws.merge_range(0, 0, 0, 1, title, styles["title"])
    ws.set_row(0, 28)
    ws.write_string(1, 0, "项目", styles["header"])
    ws.write_string(1, 1, "说明", styles["header"])
    for r, (item, text) in enumerate(notes, start=2):
        ws.write_string(r, 0, neutralise(item), styles["note_item"])
        ws.write_string(r, 1, neutralise(text), styles["note"])
    ws.set_column(0, 0, 24)
    ws.set_column(1, 1, 100)
    ws.freeze_panes(2, 0)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(1)


def _styles(wb: xlsxwriter.Workbook) -> dict:
    base = {"font_name": "等线", "font_size": 10, "valign": "vcenter"}
    cell = base | {"border": 1}
    styles = {
        "title": wb.add_format(base | {"bold": True, "font_size": 14, "align": "center"}),
        "subtitle": wb.add_format(base | {"font_color": "#555555"}),
        "header": wb.add_format(cell | {"bold": True, "align": "center", "text_wrap": True, "bg_color": "#DDEBF7"}),
        TEXT: wb.add_format(cell),
        "date": wb.add_format(cell | {"num_format": "yyyy-mm-dd"}),
        "note_item": wb.add_format(cell | {"bold": True}),
        "note": wb.add_format(cell | {"text_wrap": True}),
    }
    for kind, num_format in NUMBER_FORMATS.items():
        styles[kind] = wb.add_format(cell | {"num_format": num_format})
    return styles


def xlsx_bytes(sheets: list[Sheet], notes: list[tuple[str, str]] | None = None, notes_title: str = "说明") -> bytes:
    """A workbook with one sheet per table, then a 说明 sheet of (item, text) rows when notes are given."""
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                   "strings_to_numbers": False})
    wb.set_properties({"title": sheets[0].title if sheets else notes_title, "author": "干部规划家乡行动调度平台"})
    styles = _styles(wb)
    for sheet in sheets:
        _write_table_sheet(wb, sheet, styles)
    if notes:
        _write_notes_sheet(wb, notes, styles, notes_title)
    wb.close()
    return buf.getvalue()


def csv_bytes(frame: pl.DataFrame) -> bytes:
    """UTF-8 with a BOM (old Excel opens it in the right encoding), Chinese headers, text neutralised."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([neutralise(c) for c in frame.columns])
    for row in frame.iter_rows():
        writer.writerow([neutralise(v) if isinstance(v, str) else _cell_text(v) for v in row])
    return buf.getvalue().encode("utf-8-sig")
