"""Writing real report files for tests: .xlsx (xlsxwriter), .xls (xlwt), .csv in any encoding, and what offices'
systems export as "Excel": HTML tables and Excel 2003 XML (SpreadsheetML), written as text the way those systems do.

A test describes a sheet as rows of cells (title rows, header rows, data rows, footer rows) and gets a real
file on disk, so every test goes through the same readers the production pipeline uses.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import xlsxwriter
import xlwt

HEADER = ["州市", "县市区", "乡镇", "行政村", "村代码", "任务年度", "当前环节", "已完成步骤数", "规划状态", "编制组人数",
          "其中公职人员", "回乡干部人次", "乡贤能人数", "座谈会场次", "村民参与人次", "需求清单数", "已纳入规划需求数",
          "产业规划", "人才规划", "文化规划", "生态规划", "组织规划", "理事会", "项目资金（万元）", "备注"]


def village_row(county="弥勒市", township="西三镇", village="可邑村", code=None, year=2021, stage=4, steps=14,
                status="编制中", group=9, civil=2, visits=20, talents=3, meetings=4, participation=300, needs=8,
                adopted=5, plans=("是", "是", "否", "否", "否"), council="是", funding=120.5, notes="",
                prefecture="红河州") -> list:
    return [prefecture, county, township, village, code or "", year, stage, steps, status, group, civil, visits,
            talents, meetings, participation, needs, adopted, *plans, council, funding, notes]


@dataclass
class SheetSpec:
    name: str
    rows: list[list]
    merges: list[tuple[int, int, int, int, str]] = field(default_factory=list)  # (r1, c1, r2, c2, text)
    hidden: bool = False


def write_xlsx(path: Path, sheets: list[SheetSpec]) -> Path:
    wb = xlsxwriter.Workbook(str(path))
    wb.set_properties({"created": datetime(2022, 1, 1)})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    for spec in sheets:
        ws = wb.add_worksheet(spec.name)
        for r, row in enumerate(spec.rows):
            for c, value in enumerate(row):
                if value is None or value == "":
                    continue
                if isinstance(value, (date, datetime)):
                    ws.write_datetime(r, c, datetime(value.year, value.month, value.day), date_fmt)
                else:
                    ws.write(r, c, value)
        for r1, c1, r2, c2, text in spec.merges:
            ws.merge_range(r1, c1, r2, c2, text)
        if spec.hidden:
            ws.hide()
    # The active sheet cannot be hidden: xlsxwriter shows sheet 1 unless another is active, as Excel would.
    shown = [ws for ws, spec in zip(wb.worksheets(), sheets) if not spec.hidden]
    if shown:
        shown[0].activate()
    wb.close()
    return path


def write_xls(path: Path, sheets: list[SheetSpec]) -> Path:
    wb = xlwt.Workbook(encoding="utf-8")
    for spec in sheets:
        # A merge writes its top-left cell again; xlwt refuses that unless told overwriting is fine.
        ws = wb.add_sheet(spec.name, cell_overwrite_ok=True)
        for r, row in enumerate(spec.rows):
            for c, value in enumerate(row):
                if value is None or value == "":
                    continue
                ws.write(r, c, value)
        for r1, c1, r2, c2, text in spec.merges:
            ws.write_merge(r1, r2, c1, c2, text)
        if spec.hidden:
            ws.visibility = 1
    wb.save(str(path))
    return path


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (date, datetime)):
        return value.strftime("%Y-%m-%d")
    return str(value)


def _covered(merges) -> tuple[dict, set]:
    """Top-left cell → (rows, columns, text) of each merge, and the cells the merges cover besides their top-left."""
    spans, covered = {}, set()
    for r1, c1, r2, c2, text in merges:
        spans[(r1, c1)] = (r2 - r1 + 1, c2 - c1 + 1, text)
        covered |= {(r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)} - {(r1, c1)}
    return spans, covered


def write_html(path: Path, rows: list[list], merges: list | None = None, encoding: str = "utf-8",
               sheet: str = "村庄进度") -> Path:
    """An "Excel" file as government systems export it: an HTML table (Excel's own HTML export head, a charset
    meta tag, rowspan/colspan for merged cells, covered cells left out), saved under any name (.xls)."""
    from html import escape

    spans, covered = _covered(merges or [])
    width = max([len(r) for r in rows] + [c2 + 1 for _, _, _, c2, _ in merges or []] + [1])
    charset = "gb2312" if encoding.lower().replace("-", "") in ("gb18030", "gbk", "gb2312") else encoding
    out = ['<html xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:x="urn:schemas-microsoft-com:office:excel">',
           f'<head><meta http-equiv="Content-Type" content="text/html; charset={charset}">',
           "<style>td { mso-number-format:\\@; }</style>",
           f"<!--[if gte mso 9]><xml><x:ExcelWorkbook><x:ExcelWorksheets><x:ExcelWorksheet><x:Name>{escape(sheet)}"
           "</x:Name></x:ExcelWorksheet></x:ExcelWorksheets></x:ExcelWorkbook></xml><![endif]--></head>",
           '<body><table border="1">']
    for r, row in enumerate(rows):
        cells = []
        for c in range(width):
            if (r, c) in covered:
                continue
            if (r, c) in spans:
                n_rows, n_cols, text = spans[(r, c)]
                cells.append(f'<td rowspan="{n_rows}" colspan="{n_cols}">{escape(_text(text))}</td>')
            else:
                cells.append(f"<td>{escape(_text(row[c] if c < len(row) else None))}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table></body></html>")
    path.write_bytes("\n".join(out).encode(encoding))
    return path


def write_spreadsheetml(path: Path, sheets: list[SheetSpec]) -> Path:
    """Excel 2003 XML (SpreadsheetML) as Excel writes it: empty rows and cells skipped with ss:Index, merged cells as
    ss:MergeAcross / ss:MergeDown on their top-left cell with the covered cells left out, hidden sheets marked."""
    from xml.sax.saxutils import escape, quoteattr

    out = ['<?xml version="1.0" encoding="UTF-8"?>', '<?mso-application progid="Excel.Sheet"?>',
           '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" xmlns:o="urn:schemas-microsoft-com:office:office"'
           ' xmlns:x="urn:schemas-microsoft-com:office:excel" xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">']
    for spec in sheets:
        spans, covered = _covered(spec.merges)
        out.append(f"<Worksheet ss:Name={quoteattr(spec.name)}><Table>")
        last_row = -1
        height = max([len(spec.rows)] + [r1 + 1 for r1, *_ in spec.merges])
        for r in range(height):
            row = spec.rows[r] if r < len(spec.rows) else []
            width = max([len(row)] + [c1 + 1 for (rr, c1) in spans if rr == r])
            cells, last_col = [], -1
            for c in range(width):
                merged = spans.get((r, c))
                value = merged[2] if merged else (row[c] if c < len(row) else None)
                if (r, c) in covered or (value in (None, "") and not merged):
                    continue
                attrs = f' ss:Index="{c + 1}"' if c != last_col + 1 else ""
                if merged and merged[1] > 1:
                    attrs += f' ss:MergeAcross="{merged[1] - 1}"'
                if merged and merged[0] > 1:
                    attrs += f' ss:MergeDown="{merged[0] - 1}"'
                if isinstance(value, (date, datetime)):
                    data = f'<Data ss:Type="DateTime">{value.strftime("%Y-%m-%d")}T00:00:00.000</Data>'
                elif isinstance(value, (int, float)) and not isinstance(value, bool):
                    data = f'<Data ss:Type="Number">{value}</Data>'
                else:
                    data = f'<Data ss:Type="String">{escape(_text(value))}</Data>'
                cells.append(f"<Cell{attrs}>{data}</Cell>")
                last_col = c + (merged[1] - 1 if merged else 0)
            if not cells:
                continue
            index = f' ss:Index="{r + 1}"' if r != last_row + 1 else ""
            out.append(f"<Row{index}>" + "".join(cells) + "</Row>")
            last_row = r
        out.append("</Table>")
        if spec.hidden:
            out.append('<WorksheetOptions xmlns="urn:schemas-microsoft-com:office:excel"><Visible>SheetHidden</Visible>'
                       "</WorksheetOptions>")
        out.append("</Worksheet>")
    out.append("</Workbook>")
    path.write_text("\n".join(out), encoding="utf-8")
    return path


def write_csv(path: Path, rows: list[list], encoding: str = "utf-8-sig") -> Path:
    buf = io.StringIO()
    csv.writer(buf).writerows([["" if v is None else v for v in row] for row in rows])
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def simple_report(rows: list[list] | None = None, title: str = "红河州干部规划家乡行动工作进度统计表",
                  as_of: str = "截至2022年3月31日", header: list[str] | None = None,
                  footer: tuple[str, ...] = ("注：本表由各县专班填报", "填表人：张三  联系电话：13800000000")) -> list[list]:
    """Title rows, one header row, the data rows, then footer rows: the most common real layout."""
    rows = rows if rows is not None else [village_row()]
    out: list[list] = []
    if title:
        out.append([title])
    if as_of:
        out.append([as_of])
    out.append(list(header or HEADER))
    out += rows
    out += [[f] for f in footer]
    return out


# ------------------------------------------------------------------------------------------ reading back and loading
# Helpers shared by the pipeline tests: load files through the real pipeline, then read the warehouse back the way
# the pages and analysts do (a read-only DuckDB connection on the public views), closed at once so that the next
# load's atomic swap is never held up by a test.

def village(county="弥勒市", township="西三镇", village="花口村", **kw) -> list:
    """A village row (defaults of ``village_row``) for a village the NBS roster knows."""
    return village_row(county=county, township=township, village=village, **kw)


# Three real villages of 弥勒市 with distinct figures, so that sums and lookups can tell them apart.
def three_villages() -> list[list]:
    return [
        village(township="西三镇", village="花口村", stage=4, steps=14, status="编制中", group=9, civil=2, visits=20,
                talents=3, meetings=4, participation=300, needs=8, adopted=5, funding=120.5),
        village(township="虹溪镇", village="新桥村", stage=7, steps=28, status="已入库", group=12, civil=3, visits=35,
                talents=6, meetings=7, participation=820, needs=15, adopted=15, plans=("是",) * 5, council="否",
                funding=300),
        village(township="东山镇", village="旧城村", stage=1, steps=0, status="未启动", group=0, civil=0, visits=0,
                talents=0, meetings=0, participation=0, needs=0, adopted=0, plans=("否",) * 5, council="否",
                funding=0),
    ]


def write_report(path: Path, rows: list[list], sheet: str = "村庄进度", more: tuple[SheetSpec, ...] = (),
                 merges: list | None = None) -> Path:
    """A workbook (by suffix: .xlsx, .xls, .csv) with the village sheet ``rows`` and any further sheets."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return write_csv(path, rows)
    sheets = [SheetSpec(sheet, rows, merges or []), *more]
    return (write_xls if suffix == ".xls" else write_xlsx)(path, sheets)


def load(db: Path, *paths: Path, **kw):
    """Ingest files into the warehouse at ``db`` in this process; the list of IngestResult."""
    from pipelines.ingest import ingest

    return ingest(list(paths), db, **kw)


def load_one(db: Path, path: Path, **kw):
    (result,) = load(db, path, **kw)
    return result


def _rows(con, sql: str, params: list | None = None) -> list[dict]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def _read_only(db: Path):
    import duckdb

    if Path(db).is_dir():  # a partitioned warehouse (warehouse.partitions): its reader's connection
        from warehouse import partitions, store

        return store.open_partitioned(db, partitions.read_manifest(db))
    return duckdb.connect(str(db), read_only=True)


def fetch(db: Path, sql: str, params: list | None = None) -> list[dict]:
    """Rows of a query on a read-only connection, as dicts."""
    con = _read_only(db)
    try:
        return _rows(con, sql, params)
    finally:
        con.close()


def villages_by_name(db: Path, view: str = "village_status") -> dict[str, dict]:
    return {r["village"]: r for r in fetch(db, f"SELECT * FROM {view} ORDER BY village")}


PUBLIC_VIEWS = ("report_log", "village_status", "village_history", "county_summary", "prefecture_summary", "needs",
                "projects")


def _counts(con) -> dict[str, int]:
    names = [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' AND table_type = 'BASE TABLE' "
        "ORDER BY 1").fetchall()]
    return {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchall()[0][0] for n in (*names, *PUBLIC_VIEWS)}


def table_counts(db: Path) -> dict[str, int]:
    """Row count of every base table and of the public views (REPORT_SPEC §7) of the warehouse."""
    con = _read_only(db)
    try:
        return _counts(con)
    finally:
        con.close()


def warehouse_state(db: Path) -> dict:
    """Everything a load may change, in comparable form: counts of every table, the current and historical figures."""
    con = _read_only(db)
    try:
        def rows(sql):
            return sorted(tuple(str(v) for v in r.values()) for r in _rows(con, sql))

        return {
            "counts": _counts(con),
            "village_status": rows("SELECT * FROM village_status"),
            "village_history": rows("SELECT * FROM village_history"),
            "county_summary": rows("SELECT * FROM county_summary"),
            "needs": rows("SELECT * FROM needs"),
            "projects": rows("SELECT * FROM projects"),
            "reports": rows("SELECT report_id, file_name, sha256, status, superseded_by FROM reports"),
        }
    finally:
        con.close()


def write_crashing_xls(path: Path, rows: list[list] | None = None) -> Path:
    """A real .xls report (xlwt) damaged the way that kills calamine: its first DIMENSIONS record (BIFF 0x0200, 14
    bytes) claims 4,294,967,295 rows × 65,535 columns, so the reader asks for ~11 PB up front and Rust aborts the
    process (SIGABRT, "memory allocation … failed") instead of raising. Found by mutating xlwt files byte by byte."""
    import struct

    write_xls(path, [SheetSpec("村庄进度", rows or simple_report())])
    data = bytearray(path.read_bytes())
    at = data.find(b"\x00\x02\x0e\x00")  # record id 0x0200, length 14 (little-endian)
    assert at > 0, "no DIMENSIONS record in the xlwt workbook"
    struct.pack_into("<IIHH", data, at + 4, 0, 0xFFFFFFFF, 0, 0xFFFF)
    path.write_bytes(bytes(data))
    return path
