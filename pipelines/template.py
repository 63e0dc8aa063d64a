"""The blank report template (Excel): the four sheets of the report contract with their canonical headers and
drop-down validation, so an office that fills it in sends a file the pipeline accepts.

Headers come from pipelines/columns.py (the contract as data), stage names from config/stages.toml, plan statuses
from warehouse/stages.py: renaming a stage there renames it here. Drop-downs: 州市 (the user's prefecture, or all
16), 县市区 (the counties of that prefecture), 当前环节, 规划状态, 是/否 columns and the category/status columns of
the needs and projects sheets. Lists are written inline (Excel allows 255 characters), never on a helper sheet:
the pipeline would report any extra sheet as ignored.
"""

from __future__ import annotations

import io
from datetime import datetime

import xlsxwriter

from geo import reference
from pipelines.columns import (
    CHOICE, COUNTY_SHEET, DATE, FLAG, INT, MONEY, NEEDS_SHEET, PROJECTS_SHEET, STAGE, STATUS, VILLAGE_SHEET, YEAR,
    SheetKind,
)
from pipelines.report import YEAR_RANGE
from warehouse.stages import PLAN_STATUSES, stage_names

DATA_ROWS = 1000  # rows carrying the validation below the header
YES_NO = ["是", "否"]
_LIST_LIMIT = 255  # characters of an inline list (Excel's limit)


def _header(col) -> str:
    return f"{col.canonical}（万元）" if col.kind == MONEY else col.canonical


def _list_rule(values: list[str], title: str) -> dict | None:
    if not values or len(",".join(values)) > _LIST_LIMIT:
        return None
    return {"validate": "list", "source": values, "input_title": title[:32],
            "input_message": "请从下拉列表中选择"[:255], "error_title": "输入有误",
            "error_message": f"请从下拉列表中选择{title}"[:255]}


def _rules(kind: SheetKind, prefectures: list[str], counties: list[str]) -> dict[str, dict]:
    lo, hi = YEAR_RANGE
    stages = [stage_names()[k] for k in sorted(stage_names())]
    rules: dict[str, dict] = {}
    for col in kind.columns:
        rule = None
        if col.field == "prefecture":
            rule = _list_rule(prefectures, "州市")
        elif col.field == "county":
            rule = _list_rule(counties, "县市区")
        elif col.kind == STAGE:
            rule = _list_rule(stages, "当前环节")
        elif col.kind == STATUS:
            rule = _list_rule(list(PLAN_STATUSES), "规划状态")
        elif col.kind == FLAG:
            rule = _list_rule(YES_NO, col.canonical)
        elif col.kind == CHOICE:
            rule = _list_rule(list(col.choices), col.canonical)
        elif col.kind == YEAR:
            rule = {"validate": "integer", "criteria": "between", "minimum": lo, "maximum": hi,
                    "error_title": "输入有误", "error_message": f"任务年度应为{lo}–{hi}之间的年份"}
        elif col.kind == INT:
            rule = {"validate": "integer", "criteria": ">=", "value": 0, "error_title": "输入有误",
                    "error_message": "应为不小于0的整数"}
        elif col.kind == MONEY:
            rule = {"validate": "decimal", "criteria": ">=", "value": 0, "error_title": "输入有误",
                    "error_message": "应为不小于0的金额（万元）"}
        elif col.kind == DATE:
            rule = {"validate": "date", "criteria": ">=", "value": datetime(2021, 1, 1), "error_title": "输入有误",
                    "error_message": "请填写日期，如 2022-03-31", "input_title": "截止日期",
                    "input_message": "本期报表的统计截止日期，全表相同"}
        if rule:
            rules[col.field] = rule
    return rules


def blank_template(prefecture_code: str | None = None) -> bytes:
    """The template workbook: 村庄进度, 县级汇总, 需求清单, 项目资金, each a title row, its header row and
    DATA_ROWS rows with validation. With a prefecture, 州市 offers only it and 县市区 its counties."""
    prefs = reference.prefectures().sort("sort_order")
    if prefecture_code:
        prefectures = prefs.filter(prefs["code"] == prefecture_code)["common_name"].to_list()
        cs = reference.counties()
        counties = cs.filter(cs["prefecture_code"] == prefecture_code).sort("code")["name"].to_list()
        title_prefix = prefectures[0] if prefectures else ""
    else:
        prefectures, counties, title_prefix = prefs["common_name"].to_list(), [], ""
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    wb.set_properties({"title": "干部规划家乡行动报表模板", "created": datetime(2022, 1, 1)})
    title_fmt = wb.add_format({"bold": True, "font_size": 14})
    head_fmt = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True,
                              "align": "center", "valign": "vcenter"})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    for kind in (VILLAGE_SHEET, COUNTY_SHEET, NEEDS_SHEET, PROJECTS_SHEET):
        ws = wb.add_worksheet(kind.title)
        ws.write(0, 0, f"{title_prefix}干部规划家乡行动{kind.title}表", title_fmt)
        rules = _rules(kind, prefectures, counties)
        for c, col in enumerate(kind.columns):
            header = _header(col)
            ws.write(1, c, header, head_fmt)
            ws.set_column(c, c, max(8, min(24, len(header) * 2 + 2)), date_fmt if col.kind == DATE else None)
            if col.field in rules:
                ws.data_validation(2, c, DATA_ROWS + 1, c, rules[col.field])
        ws.freeze_panes(2, 0)
        ws.set_row(1, 30)
    wb.close()
    return buf.getvalue()


def template_file_name(prefecture_code: str | None = None) -> str:
    name = ""
    if prefecture_code:
        prefs = reference.prefectures()
        found = prefs.filter(prefs["code"] == prefecture_code)["common_name"].to_list()
        name = found[0] if found else ""
    return f"{name}干部规划家乡行动报表模板.xlsx"
