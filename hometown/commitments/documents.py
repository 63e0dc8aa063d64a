"""任期承诺 documents: a village's board as a one-page A4 notice for the 公示栏 (Word via python-docx, PDF via fpdf2),
the 销号 ledger and the region table as Excel (the shared layout of hometown.export), and the command
``python -m pipelines export commitments --level county --out FILE.xlsx`` (entry point ``hometown_dispatch.exports``).

The notice shows what the branch committed to publicly — list by list, every item with its target, due date,
责任人 and state — as the village board on the page shows it; 责任人 names are public on the notice board by the
rules of the campaign (COMMITMENTS_SPEC §1), so the notice carries them in full.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from datetime import datetime
from pathlib import Path

import polars as pl

from hometown import commitments as cm
from hometown.access import roles
from hometown.export import INT, PERCENT, TEXT, Sheet, xlsx_bytes
from warehouse import db, settings
from warehouse.files import write_atomic
from warehouse.parts.commitments import LABELS, LISTS
from warehouse.scope import ALL, Scope

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LEDGER_HEADERS = {"county_name": "县市区", "township": "乡镇", "village": "行政村", "list_name": "清单", "item_no": "编号",
                  "content": "承诺事项", "owner": "责任人", "due_date": "完成时限", "closed_on": "销号日期",
                  "on_time": "是否按期", "acceptance": "验收结论"}
NOTICE_COLUMNS = ("编号", "承诺事项", "任期目标", "完成时限", "责任人", "进展")
LEVELS = ("prefecture", "county", "township", "village")


def may_export(role: str | None) -> bool:
    return roles.may(role, roles.EXPORT)


def _target(row: dict) -> str:
    if row["target"] is None:
        return "—"
    return f"{row['target']:g}{row['unit'] or ''}"


def _state(row: dict) -> str:
    if row["status"] == "已销号":
        return f"已销号（{row['closed_on']}）"
    if row["progress"] is not None and row["status"] not in ("取消",):
        return f"{row['status']} {100 * row['progress']:.0f}%"
    return row["status"]


def notice_model(scope: Scope, village_key: str) -> tuple[dict, pl.DataFrame, dict]:
    place = cm.village(scope, village_key)
    if place is None:
        raise LookupError(f"{village_key} 没有任期承诺事项")
    items = cm.board(scope, village_key)
    totals = cm.summary(scope, village_key) or {}
    return place, items, totals


def notice_title(place: dict) -> str:
    return f"{place['village']}党组织任期承诺公示"


def _rows(items: pl.DataFrame, name: str) -> list[tuple[str, ...]]:
    return [(r["item_no"], r["content"], _target(r), str(r["due_date"]), r["owner"] or "—", _state(r))
            for r in items.filter(pl.col("list_name") == name).iter_rows(named=True)]


def _footer(place: dict, totals: dict) -> str:
    rate = totals.get("fulfilment_rate")
    return (f"承诺事项 {totals.get('items', 0)} 项，到期 {totals.get('due', 0)} 项，已销号 {totals.get('closed', 0)} 项，"
            f"承诺兑现率 {'—' if rate is None else f'{100 * rate:.1f}%'}（截至 {place['as_of']}）。"
            "欢迎广大党员群众监督，意见建议请向村党组织反映。")


def notice_docx(scope: Scope, village_key: str) -> bytes:
    """One A4 page: title, place and notice period, the five lists each as a small table, the figures, a footer."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    place, items, totals = notice_model(scope, village_key)
    doc = Document()
    section = doc.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)
    section.top_margin = section.bottom_margin = Cm(1.2)
    section.left_margin = section.right_margin = Cm(1.5)
    style = doc.styles["Normal"]
    style.font.name, style.font.size = "宋体", Pt(8.5)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")
    style.paragraph_format.space_after = Pt(0)
    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run(notice_title(place))
    run.bold, run.font.size = True, Pt(16)
    run.font.name = "黑体"
    run.element.rPr.rFonts.set(qn("w:eastAsia"), "黑体")
    sub = doc.add_paragraph(f"{place['prefecture_name']}{place['county_name']}{place['township'] or ''} · "
                            f"公示时间 {place['notice_start'] or '—'} 至 {place['notice_end'] or '—'} · "
                            f"承诺日期 {place['committed_on'] or '—'}")
    sub.alignment = WD_ALIGN_PARAGRAPH.CENTER
    widths = (Cm(1.0), Cm(7.6), Cm(2.2), Cm(2.0), Cm(1.8), Cm(3.4))
    for name in LISTS:
        rows = _rows(items, name)
        head = doc.add_paragraph()
        head.paragraph_format.space_before = Pt(4)
        h = head.add_run(f"{name}清单（{len(rows)}项）")
        h.bold, h.font.size = True, Pt(10)
        table = doc.add_table(rows=1 + len(rows), cols=len(NOTICE_COLUMNS))
        table.style = "Table Grid"
        for j, text in enumerate(NOTICE_COLUMNS):
            table.cell(0, j).text = text
        for i, row in enumerate(rows, start=1):
            for j, text in enumerate(row):
                table.cell(i, j).text = str(text)
        for row in table.rows:
            for j, cell in enumerate(row.cells):
                cell.width = widths[j]
    doc.add_paragraph().add_run(_footer(place, totals)).font.size = Pt(9)
    doc.add_paragraph(f"中共{place['village']}党组织　{datetime.now():%Y年%m月%d日}").alignment = WD_ALIGN_PARAGRAPH.RIGHT
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def notice_pdf(scope: Scope, village_key: str) -> bytes:
    """The same notice as PDF (A4, one page), its CJK glyphs embedded (the body face of hometown.fonts, as the briefing)."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    from hometown import fonts

    place, items, totals = notice_model(scope, village_key)
    face = fonts.faces()[0]
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_margins(12, 10, 12)
    pdf.set_auto_page_break(True, margin=10)
    pdf.add_font("cjk", "", face.path, collection_font_number=face.index)
    pdf.add_page()
    pdf.set_font("cjk", size=16)
    pdf.cell(0, 9, notice_title(place), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=8.5)
    pdf.cell(0, 5, f"{place['prefecture_name']}{place['county_name']}{place['township'] or ''} · 公示时间 "
                   f"{place['notice_start'] or '—'} 至 {place['notice_end'] or '—'}", align="C",
             new_x="LMARGIN", new_y="NEXT")
    widths = (10, 78, 22, 20, 18, 38)
    heading = FontFace(emphasis="", fill_color=(225, 235, 247))  # no bold face is embedded: a tinted row instead
    for name in LISTS:
        rows = _rows(items, name)
        pdf.set_font("cjk", size=10)
        pdf.cell(0, 6, f"{name}清单（{len(rows)}项）", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("cjk", size=7.5)
        with pdf.table(col_widths=widths, line_height=4, text_align="LEFT", headings_style=heading) as table:
            table.row(NOTICE_COLUMNS)
            for row in rows:
                table.row([str(v) for v in row])
    pdf.set_font("cjk", size=8.5)
    pdf.ln(2)
    pdf.multi_cell(0, 4.5, _footer(place, totals))
    return bytes(pdf.output())


# ------------------------------------------------------------------------------------------------ Excel


def ledger_frame(scope: Scope, code: str | None) -> pl.DataFrame:
    ledger = cm.ledger(scope, code)
    return ledger.with_columns(on_time=pl.when(pl.col("on_time")).then(pl.lit("按期")).otherwise(pl.lit("逾期"))) \
        .select([pl.col(c).cast(pl.String) if c in ("due_date", "closed_on") else pl.col(c)
                 for c in LEDGER_HEADERS]).rename(LEDGER_HEADERS)


def region_frame(scope: Scope, level: str) -> pl.DataFrame:
    """Every region of ``level`` in the scope, ranked by 承诺兑现率, with its figures."""
    rows = cm._query(f"""
        SELECT CASE WHEN due > 0 THEN rank() OVER (ORDER BY due > 0 DESC, fulfilment_rate DESC NULLS LAST,
                                                   on_time_rate DESC NULLS LAST) END AS rank, name, items, due,
               closed_due, on_time_due, closed, overdue, fulfilment_rate, on_time_rate, closed_rate,
               CAST(as_of AS VARCHAR) AS as_of
        FROM commitment_summary WHERE level = ? AND list_name IS NULL AND {scope.sql()[0]}
        ORDER BY rank NULLS LAST, name""", [level, *scope.sql()[1]])
    names = {"rank": "排名", "name": cm.LEVEL_NAMES[level], "items": "承诺事项数", "due": "到期事项数",
             "closed_due": "到期已销号", "on_time_due": "按期销号", "closed": "已销号", "overdue": "逾期未销号",
             "as_of": "数据截至"} | LABELS
    return rows.rename({k: v for k, v in names.items() if k in rows.columns})


def export_xlsx(scope: Scope, level: str = "county", code: str | None = None) -> bytes:
    """The region table (by 承诺兑现率) and the 销号 ledger, with a 说明 sheet stating the definitions."""
    table = region_frame(scope, level)
    ledger = ledger_frame(scope, code)
    kinds = {c: (PERCENT if c in LABELS.values() and "率" in c else INT if table.schema[c].is_integer() else TEXT)
             for c in table.columns}
    as_of = table["数据截至"].max() if table.height else "无数据"
    sheets = [Sheet(f"{cm.LEVEL_NAMES[level]}承诺兑现", table, kinds, f"任期承诺兑现情况（{cm.LEVEL_NAMES[level]}）",
                    f"截至 {as_of}　导出时间 {datetime.now():%Y-%m-%d %H:%M}"),
              Sheet("销号台账", ledger, {c: TEXT for c in ledger.columns}, "任期承诺销号台账", f"共 {ledger.height} 项")]
    notes = [("承诺事项数", "取消的事项不计"), ("到期事项数", "完成时限不晚于截至日期的事项"),
             (LABELS["fulfilment_rate"], "到期事项中已销号（验收通过）的 ÷ 到期事项"),
             (LABELS["on_time_rate"], "到期事项中在完成时限前（含当日）销号的 ÷ 到期事项"),
             (LABELS["closed_rate"], "已销号事项 ÷ 全部事项"),
             ("汇总方法", "各级比率均为分子之和 ÷ 分母之和，不是下级比率的平均；无到期事项时为空")]
    return xlsx_bytes(sheets, notes)


def ledger_export(scope: Scope, code: str | None, level: str = "county") -> bytes:
    return export_xlsx(scope, level if cm.level_of(code) in ("province", "prefecture") else "village", code)


def export_command(args) -> int:
    def fail(message: str) -> int:
        print(f"错误：{message}", file=sys.stderr)
        return 2

    out = Path(args.out)
    if out.suffix.lower() != ".xlsx":
        return fail(f"输出文件须为 .xlsx：{out}")
    db_file = settings.db_path(args.db)
    if not db_file.exists():
        return fail(f"数据仓库不存在：{db_file}。请先导入报表（python -m pipelines ingest …）")
    # The query layer reads the warehouse $HOMETOWN_DB names: this process's own environment, set to --db.
    os.environ[db.ENV_VAR] = str(db_file)
    try:
        data = export_xlsx(ALL, args.level, None)
    except db.WarehouseMissing as exc:
        return fail(str(exc))
    write_atomic(out, data)
    print(f"已导出 任期承诺兑现情况（{cm.LEVEL_NAMES[args.level]}）和销号台账：{out}")
    return 0


def add_export(sub: argparse._SubParsersAction) -> None:
    """``export commitments``: the region table by 承诺兑现率 and the 销号 ledger (entry point)."""
    exp = sub.add_parser("commitments", help="任期承诺兑现情况和销号台账（Excel）")
    exp.add_argument("--level", choices=list(LEVELS), default="county",
                     help="汇总层级：prefecture 州市 / county 县市区 / township 乡镇 / village 行政村（默认 county）")
    exp.add_argument("--out", type=Path, required=True, help="输出文件（.xlsx）")
    exp.add_argument("--db", type=Path, default=None, help="数据仓库文件（默认 $HOMETOWN_DB 或 data/warehouse.duckdb）")
    exp.set_defaults(run=export_command)
