"""Writing real 任期承诺 workbooks for tests (COMMITMENTS_SPEC §1): items and evaluations as rows of cells."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from reportfiles import SheetSpec, write_xlsx

ITEM_HEADER = ["州市", "县市区", "乡镇", "行政村", "承诺编号", "清单类别", "承诺事项", "指标名称", "计量单位", "基线值",
               "任期目标值", "2022年目标", "2023年目标", "完成时限", "责任人", "公示开始日期", "公示结束日期", "承诺日期"]
PROGRESS_HEADER = ["县市区", "乡镇", "行政村", "承诺编号", "评价日期", "评价类型", "实际值", "事项状态", "验收结论", "进展情况"]


def item(no="1", lst="强村富民", content="村集体经营性收入达到20万元", indicator="村集体经营性收入", unit="万元",
         baseline=8, target=20, y2022=12, y2023=16, due="2023", owner="张三", start=date(2021, 8, 5),
         end=date(2021, 8, 12), committed=date(2021, 8, 15), county="弥勒市", township="西三镇", village="花口村",
         prefecture="红河州") -> list:
    return [prefecture, county, township, village, no, lst, content, indicator, unit, baseline, target, y2022, y2023,
            due, owner, start, end, committed]


def evaluation(no="1", on=date(2022, 6, 30), kind="双月自评", actual=None, status="推进中", acceptance="", note="",
               county="弥勒市", township="西三镇", village="花口村") -> list:
    return [county, township, village, no, on, kind, actual, status, acceptance, note]


def workbook(path: Path, items: list[list] | None, evaluations: list[list] | None = None,
             title: str | None = "红河州村党组织任期承诺事项表", item_header=ITEM_HEADER,
             progress_header=PROGRESS_HEADER) -> Path:
    sheets = []
    if items is not None:
        sheets.append(SheetSpec("承诺事项", ([[title]] if title else []) + [item_header, *items]))
    if evaluations is not None:
        sheets.append(SheetSpec("承诺进展", [progress_header, *evaluations]))
    return write_xlsx(path, sheets)
