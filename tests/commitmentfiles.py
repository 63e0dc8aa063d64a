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


LISTS = ("强村富民", "党建提升", "乡村治理", "为民服务", "文明创建")
A = dict(county="弥勒市", township="西三镇", village="花口村")
B = dict(county="弥勒市", township="虹溪镇", village="新桥村")
C = dict(county="蒙自市", township="文澜镇", village="试验村")


def small_warehouse(folder: Path) -> Path:
    """红河州 (花口村 with one item in each list, 新桥村, 蒙自市's 试验村) and 玉溪市 (one village), as of 2022-08-31,
    loaded through the real pipeline: the page tests' warehouse."""
    from reportfiles import load

    items = [item(no=str(i), lst=lst, content=f"花口村{lst}事项", due=due, owner=f"责任人{i}", **A)
             for i, (lst, due) in enumerate(zip(LISTS, ("2022-06-30", "2022-09-30", "2022-07-31", "2023", "2022-10-15")), 1)]
    items += [item(no="1", lst="强村富民", content="新桥村强村", due="2022-08-01", **B),
              item(no="1", lst="党建提升", content="试验村党建", due="2022-05-01", **C)]
    evaluations = [evaluation(no="1", on=date(2022, 6, 20), kind="期末验收", status="已销号", acceptance="通过", **A),
                   evaluation(no="1", on=date(2022, 7, 20), kind="期末验收", status="已销号", acceptance="通过", **B),
                   evaluation(no="1", on=date(2022, 7, 1), status="推进中", **C)]
    honghe = workbook(folder / "红河州_任期承诺_20220831.xlsx", items, evaluations)
    yuxi = workbook(folder / "玉溪市_任期承诺_20220831.xlsx",
                    [item(prefecture="玉溪市", county="峨山彝族自治县", township="双江街道", village="玉溪测试村")],
                    title="玉溪市村党组织任期承诺事项表")
    path = folder / "w.duckdb"
    results = load(path, honghe, yuxi, workers=1)
    assert [r.status for r in results] == ["accepted", "accepted"], [r.errors for r in results]
    return path
