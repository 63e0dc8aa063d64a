"""Writing real report files for tests: .xlsx (xlsxwriter), .xls (xlwt) and .csv in any encoding.

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
    wb.close()
    return path


def write_xls(path: Path, sheets: list[SheetSpec]) -> Path:
    wb = xlwt.Workbook(encoding="utf-8")
    for spec in sheets:
        ws = wb.add_sheet(spec.name)
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
