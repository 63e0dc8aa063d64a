"""The blank 任期承诺 workbook: sheets 承诺事项 and 承诺进展 with the contract's headers and drop-downs."""

from __future__ import annotations

import io
from datetime import date, datetime

import xlsxwriter

from geo import reference
from pipelines.columns import CHOICE
from pipelines.kinds.commitments.columns import ITEMS_SHEET, PROGRESS_SHEET

TEMPLATE_NOTE = ("任期承诺模板包含承诺事项、承诺进展2张表：承诺事项每村每项一行（一份规划、五张清单），承诺进展每项每次评价一行；"
                 "清单类别、评价类型、事项状态、验收结论可从下拉列表选择。")
YEARS = tuple(range(2021, 2027))
DATA_ROWS = 1000


def template_file_name(prefecture_code: str | None) -> str:
    who = reference.prefecture_name(prefecture_code) if prefecture_code else "云南省"
    return f"{who}_任期承诺_{date.today():%Y%m%d}.xlsx"


def blank_template(prefecture_code: str | None) -> bytes:
    out = io.BytesIO()
    wb = xlsxwriter.Workbook(out, {"in_memory": True})
    wb.set_properties({"created": datetime(2021, 1, 1)})
    head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
    for sheet in (ITEMS_SHEET, PROGRESS_SHEET):
        ws = wb.add_worksheet(sheet.title)
        columns = [c for c in sheet.columns if c.field not in ("as_of", "notice_range")]
        headers = [c.canonical for c in columns]
        if sheet is ITEMS_SHEET:
            at = headers.index("任期目标值") + 1
            headers[at:at] = [f"{y}年目标" for y in YEARS]
        for j, h in enumerate(headers):
            ws.write(0, j, h, head)
            ws.set_column(j, j, 14)
            col = next((c for c in columns if c.canonical == h), None)
            if col is not None and col.kind == CHOICE:
                ws.data_validation(1, j, DATA_ROWS, j, {"validate": "list", "source": list(col.choices)})
            if col is not None and col.field == "prefecture" and prefecture_code:
                ws.data_validation(1, j, DATA_ROWS, j, {"validate": "list",
                                                         "source": [reference.prefecture_name(prefecture_code)]})
        ws.freeze_panes(1, 0)
    wb.close()
    return out.getvalue()
