"""The 任期承诺 workbook's sheets and columns (COMMITMENTS_SPEC §1) as data, for the shared header machinery.

Two sheets: 承诺事项 (one row per committed item of a village) and 承诺进展 (one row per item per evaluation).
Place columns are REPORT_SPEC's own (pipelines.columns), so their aliases and normalisation are the same. The
yearly targets (2021年目标 … 2026年目标) are columns named by their year, found by ``YEARLY_TARGET``.
"""

from __future__ import annotations

import re

from pipelines.columns import (
    AS_OF, CHOICE, CODE, COUNTY, DATE, PREFECTURE, TEXT, TOWNSHIP, VILLAGE, Column, SheetKind, register_sheet_kinds,
)

NUMBER = "number"  # a plain number kept in the item's own 计量单位 (nothing converted, negatives allowed)

LISTS = ("强村富民", "党建提升", "乡村治理", "为民服务", "文明创建")
EVALUATION_TYPES = ("双月自评", "季度联审", "年度考评", "期末验收")
STATUSES = ("未启动", "推进中", "已完成", "已销号", "延期", "取消")
# 不通过 before 通过: a choice is found as a substring of the cell, and 通过 is a substring of 不通过.
ACCEPTANCES = ("不通过", "通过")
CLOSED, CANCELLED = "已销号", "取消"
YEAR_RANGE = (2021, 2030)
# Headers that number an item when no 承诺编号 column is present (with one, they only count rows).
ORDINALS = ("序号", "编号")

CODE_COLUMN = Column("村代码", "village_code", CODE, ("统计用区划代码", "区划代码", "村级代码", "行政区划代码"))
ITEM_NO = Column("承诺编号", "item_no", TEXT, ("承诺事项编号", "事项编号"), True)

ITEMS_SHEET = SheetKind(
    key="commit_items",
    title="承诺事项",
    name_hints=("承诺事项", "承诺清单", "五张清单"),
    signature=("list_name", "content"),
    required_sheet=True,
    columns=(
        PREFECTURE, COUNTY, TOWNSHIP, VILLAGE, AS_OF, CODE_COLUMN, ITEM_NO,
        Column("清单类别", "list_name", CHOICE, ("清单", "类别", "清单名称", "清单类型"), True, choices=LISTS),
        Column("承诺事项", "content", TEXT, ("事项", "承诺内容", "承诺事项内容"), True),
        Column("指标名称", "indicator", TEXT, ("指标",)),
        Column("计量单位", "unit", TEXT, ("单位",)),
        Column("基线值", "baseline", NUMBER, ("现状值", "起点值")),
        Column("任期目标值", "target", NUMBER, ("目标值", "任期目标")),
        Column("上年度区域平均值", "regional_average", NUMBER, ("区域平均", "区域平均值", "上年区域平均值")),
        Column("完成时限", "due_date", DATE, ("完成时间", "时限", "完成期限"), True),
        Column("责任人", "owner", TEXT, ("牵头人", "负责人")),
        Column("公示开始日期", "notice_start", DATE, ("公示开始", "公示起始日期")),
        Column("公示结束日期", "notice_end", DATE, ("公示结束", "公示截止日期")),
        Column("公示时间", "notice_range", TEXT, ("公示期", "公示日期")),
        Column("承诺日期", "committed_on", DATE, ("公开承诺日期", "承诺时间")),
    ),
)

PROGRESS_SHEET = SheetKind(
    key="commit_progress",
    title="承诺进展",
    name_hints=("承诺进展", "进展", "评价"),
    signature=("evaluation_type", "evaluated_on"),
    columns=(
        PREFECTURE,
        Column("县市区", "county", TEXT, COUNTY.aliases),
        Column("乡镇", "township", TEXT, TOWNSHIP.aliases),
        Column("行政村", "village", TEXT, VILLAGE.aliases),
        AS_OF, CODE_COLUMN, ITEM_NO,
        Column("评价日期", "evaluated_on", DATE, ("日期", "评价时间"), True),
        Column("评价类型", "evaluation_type", CHOICE, ("评价方式",), True, choices=EVALUATION_TYPES),
        Column("实际值", "actual", NUMBER, ("完成值",)),
        Column("事项状态", "status", CHOICE, ("状态", "进度"), True, choices=STATUSES),
        Column("验收结论", "acceptance", CHOICE, ("验收意见",), choices=ACCEPTANCES),
        Column("进展情况", "note", TEXT, ("说明",)),
    ),
)

SHEETS = (ITEMS_SHEET, PROGRESS_SHEET)
register_sheet_kinds(*SHEETS)

# 2022年目标, 2022年度目标, 2022年目标值 (after header normalisation; a unit in brackets is split off first).
YEARLY_TARGET = re.compile(r"^(\d{4})年(?:度)?(?:目标|目标值|计划目标)$")
