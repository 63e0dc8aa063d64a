"""REPORT_SPEC §4 and §6: a file that breaks the contract is refused whole, with every reason, and changes nothing.

Every test starts from a warehouse that already holds an accepted report (红河州, 2022-02-28), offers a bad file,
and checks that the file is refused, that every table and view of the warehouse is exactly as before except for the
refusal's own line in ``report_log``, and that each reason names the file, the sheet, the Excel row, the column and
the value found. The command's exit codes are checked through a real subprocess.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
import zlib
from datetime import date
from pathlib import Path

import pytest

from pipelines.report import fold, split_message
from reportfiles import (
    HEADER, SheetSpec, fetch, load_one, simple_report, three_villages, village, warehouse_state, write_csv,
    write_report, write_xlsx,
)

ROOT = Path(__file__).resolve().parent.parent
FILE = "红河州_20220331.xlsx"
SHEET = "村庄进度"
FIRST = 4   # Excel row of the first village in simple_report: title, date, header, then data


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> tuple[Path, dict]:
    """A warehouse holding one accepted 红河州 report, and its state."""
    folder = tmp_path_factory.mktemp("baseline")
    db = folder / "warehouse.duckdb"
    rows = simple_report(three_villages(), as_of="截至2022年2月28日")
    result = load_one(db, write_report(folder / "红河州_20220228.xlsx", rows))
    assert result.status == "accepted", result.errors
    return db, warehouse_state(db)


@pytest.fixture
def db(tmp_path, baseline) -> Path:
    target = tmp_path / "warehouse.duckdb"
    shutil.copyfile(baseline[0], target)
    return target


def refuse(db: Path, baseline, path: Path) -> list[str]:
    """Offer ``path``: it must be refused, logged as refused with its reasons, and change nothing else."""
    before = baseline[1]
    result = load_one(db, path)
    assert result.status == "refused", (result.status, result.warnings)
    assert result.errors
    after = warehouse_state(db)
    grown = dict(before["counts"], reports=before["counts"]["reports"] + 1,
                 report_log=before["counts"]["report_log"] + 1)
    assert after["counts"] == grown
    for key in ("village_status", "village_history", "county_summary", "needs", "projects"):
        assert after[key] == before[key], key
    assert set(before["reports"]) < set(after["reports"])
    log = fetch(db, "SELECT * FROM report_log ORDER BY report_id DESC LIMIT 1")[0]
    assert log["status"] == "refused" and log["file_name"] == path.name and log["village_rows"] == 0
    assert log["messages"].split("\n") == result.errors
    # the earlier report is still the current one
    assert {r["as_of"] for r in fetch(db, "SELECT as_of FROM village_status")} == {date(2022, 2, 28)}
    return result.errors


def reason(errors: list[str], row: int | None, column: str, *fragments: str, file: str = FILE,
           sheet: str = SHEET) -> str:
    """The one reason that names this file, sheet, Excel row and column, and contains every fragment."""
    where = f"{file} / {sheet} / " + (f"第{row}行 / " if row is not None else "") + f"{column}: "
    found = [e for e in errors if e.startswith(where) and all(f in e for f in fragments)]
    assert found, f"no reason {where}…{fragments} in {errors}"
    return found[0]


def write(tmp_path: Path, rows: list[list], name: str = FILE, **kw) -> Path:
    return write_report(tmp_path / name, rows, **kw)


def png_bytes() -> bytes:
    """A real 1×1 PNG image."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


# ------------------------------------------------------------------------------------------------- unreadable


# A file is told by its bytes: the reason names what it really is (text is read as CSV, and holds no report).
@pytest.mark.parametrize(("name", "content", "expected"), [
    (FILE, "红河州 3月 进度：全部完成\n".encode(), "文件扩展名为 .xlsx，但内容是文本（CSV），其中没有找到「村庄进度」表"),
    (FILE, png_bytes(), "文件扩展名为 .xlsx，但内容是 PNG 图片，不是电子表格"),        # a PNG renamed .xlsx
    ("红河州_20220331.png", png_bytes(), "不是电子表格或CSV文件"),
    ("红河州_20220331.txt", "州市,县市区\n".encode(), "不是电子表格或CSV文件"),
    ("红河州_20220331.csv", png_bytes(), "文件扩展名为 .csv，但内容是 PNG 图片，不是文本CSV文件"),
    ("红河州_20220331.xls", b"just text, not an Excel 97 file", "文件扩展名为 .xls，但内容是文本（CSV）"),
    ("红河州_20220331.xls", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "文件扩展名为 .xls，但内容是 PDF 文档，不是电子表格"),
    ("红河州_20220331.et", b"PK\x05\x06" + b"\x00" * 18, "文件扩展名为 .et，但内容是 ZIP 压缩包，不是电子表格"),
], ids=["txt-as-xlsx", "png-as-xlsx", "png", "txt", "png-as-csv", "txt-as-xls", "pdf-as-xls", "zip-as-et"])
def test_not_a_spreadsheet(tmp_path, db, baseline, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    errors = refuse(db, baseline, path)
    assert len(errors) == 1 and errors[0].startswith(f"{name} / ") and expected in errors[0], errors


def test_damaged_workbook(tmp_path, db, baseline):
    good = write(tmp_path, simple_report(three_villages()), name="good.xlsx").read_bytes()
    path = tmp_path / FILE
    path.write_bytes(good[: len(good) // 2])        # a zip cut off half-way, as a failed upload leaves it
    errors = refuse(db, baseline, path)
    assert len(errors) == 1 and errors[0].startswith(f"{FILE} / ") and "损坏" in errors[0], errors


def test_encrypted_workbook(tmp_path, db, baseline):
    # Excel saves a password-protected .xlsx as an OLE2 compound file holding the encrypted package.
    path = tmp_path / FILE
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + "EncryptedPackage".encode("utf-16-le"))
    errors = refuse(db, baseline, path)
    assert errors == [f"{FILE} / 文件已加密或受密码保护，请去除密码后重新报送"]


@pytest.mark.parametrize("name", [FILE, "红河州_20220331.csv"])
def test_empty_file(tmp_path, db, baseline, name):
    path = tmp_path / name
    path.write_bytes(b"")
    assert refuse(db, baseline, path) == [f"{name} / 文件为空"]


def test_workbook_with_only_empty_sheets(tmp_path, db, baseline):
    path = write_xlsx(tmp_path / FILE, [SheetSpec(SHEET, [])])
    errors = refuse(db, baseline, path)
    assert any("缺少必需的工作表「村庄进度」" in e for e in errors), errors


def test_header_without_any_village(tmp_path, db, baseline):
    errors = refuse(db, baseline, write(tmp_path, simple_report([])))
    assert errors == [f"{FILE} / {SHEET} / 表头（第3行）以下没有任务村数据，报表为空"]


@pytest.mark.parametrize("suffix", [".xlsx", ".xls", ".csv"])
def test_row_numbers_are_excel_rows_even_below_blank_rows(tmp_path, db, baseline, suffix):
    """Two blank rows and a blank column before the table: 第N行 is still the row Excel shows."""
    data = [village(), village(village="凤凰村"), village(village="散坡村", group=9, civil=12)]
    rows = [[], []] + [[None, *r] for r in simple_report(data)]
    errors = refuse(db, baseline, write(tmp_path, rows, name=f"红河州_20220331{suffix}"))
    sheet = SHEET if suffix != ".csv" else "红河州_20220331"
    assert errors == [f"红河州_20220331{suffix} / {sheet} / 第8行 / 其中公职人员: 12 大于 编制组人数 9"]


# ------------------------------------------------------------------------------------------------- sheets and columns


def test_missing_village_sheet(tmp_path, db, baseline):
    county = [["州市", "县市区", "摸排在外公职人员数", "纳入编制组干部数", "县级联络服务站", "乡级联络服务站"],
              ["红河州", "弥勒市", 1200, 300, 1, 14]]
    path = write_xlsx(tmp_path / FILE, [SheetSpec("县级汇总", county), SheetSpec("填报说明", [["说明"]])])
    errors = refuse(db, baseline, path)
    (e,) = [e for e in errors if "村庄进度" in e]
    assert e.startswith(f"{FILE} / ") and "县级汇总" in e and "填报说明" in e


def test_missing_required_columns_are_all_listed(tmp_path, db, baseline):
    drop = {"任务年度", "当前环节", "编制组人数", "行政村"}
    keep = [i for i, h in enumerate(HEADER) if h not in drop]
    rows = simple_report([[r[i] for i in keep] for r in three_villages()], header=[HEADER[i] for i in keep])
    needs = [["州市", "县市区", "乡镇", "行政村", "需求类别", "状态"], ["红河州", "弥勒市", "西三镇", "花口村", "基础设施", "已收集"]]
    errors = refuse(db, baseline, write(tmp_path, rows, more=(SheetSpec("需求清单", needs),)))
    for column in drop:
        assert f"{FILE} / {SHEET} / 缺少必需的列「{column}」" in errors, errors
    assert f"{FILE} / 需求清单 / 缺少必需的列「需求内容」" in errors, errors
    assert len(errors) == len(drop) + 1, errors


# ------------------------------------------------------------------------------------------------- places


def test_unknown_prefecture(tmp_path, db, baseline):
    rows = simple_report([village(prefecture="火星州"), village(village="凤凰村", prefecture="火星州")],
                         title="干部规划家乡行动工作进度统计表")
    errors = refuse(db, baseline, write(tmp_path, rows, name="进度表_20220331.xlsx"))
    reason(errors, FIRST, "州市", "「火星州」", "不是云南省的州（市）", file="进度表_20220331.xlsx")


def test_no_prefecture_anywhere(tmp_path, db, baseline):
    header = HEADER[1:]
    rows = simple_report([r[1:] for r in three_villages()], header=header, title="干部规划家乡行动工作进度统计表")
    errors = refuse(db, baseline, write(tmp_path, rows, name="进度表_20220331.xlsx"))
    assert any("无法确定报送的州（市）" in e for e in errors), errors


def test_unknown_county(tmp_path, db, baseline):
    rows = simple_report([*three_villages(), village(county="不存在县", village="凤凰村")])
    errors = refuse(db, baseline, write(tmp_path, rows))
    reason(errors, FIRST + 3, "县市区", "「不存在县」", "红河哈尼族彝族自治州", "无法识别")


def test_county_of_another_prefecture(tmp_path, db, baseline):
    rows = simple_report([*three_villages(), village(county="五华区", township="护国街道", village="文庙社区")])
    errors = refuse(db, baseline, write(tmp_path, rows))
    reason(errors, FIRST + 3, "县市区", "「五华区」", "属于昆明市", "不是红河哈尼族彝族自治州")


def test_rows_of_two_prefectures(tmp_path, db, baseline):
    rows = simple_report([*three_villages(), village(prefecture="玉溪市", county="红塔区", township="玉兴街道",
                                                     village="荷花社区")], title="干部规划家乡行动工作进度统计表")
    errors = refuse(db, baseline, write(tmp_path, rows, name="进度表_20220331.xlsx"))
    reason(errors, FIRST + 3, "州市", "「玉溪市」", "红河", file="进度表_20220331.xlsx")


def test_county_of_another_prefecture_in_the_needs_sheet(tmp_path, db, baseline):
    needs = [["州市", "县市区", "乡镇", "行政村", "需求内容", "需求类别", "状态"],
             ["红河州", "弥勒市", "西三镇", "花口村", "修路", "基础设施", "已收集"],
             ["红河州", "红塔区", "玉兴街道", "荷花社区", "修桥", "基础设施", "已收集"]]
    path = write(tmp_path, simple_report(three_villages()), more=(SheetSpec("需求清单", needs),))
    errors = refuse(db, baseline, path)
    assert errors == [f"{FILE} / 需求清单 / 第3行 / 县市区: 「红塔区」属于玉溪市，不是红河哈尼族彝族自治州的县（市、区）"]


# ------------------------------------------------------------------------------------------------- values

@pytest.mark.parametrize(("column", "value", "expected"), [
    ("编制组人数", -3, "为负数"),
    ("座谈会场次", "-2", "为负数"),
    ("当前环节", 9, "不是有效的环节"),
    ("当前环节", "", "为空"),
    ("已完成步骤数", 31, "超出范围"),
    ("任务年度", 2019, "超出范围"),
    ("任务年度", 2031, "超出范围"),
    ("回乡干部人次", "很多", "不是整数"),
    ("村民参与人次", 12.5, "不是整数"),
    ("项目资金（万元）", -5, "为负数"),
    ("项目资金（万元）", "约100万", "不是数字"),
    ("产业规划", "也许", "无法识别"),
    ("规划状态", "差不多了", "不是有效的规划状态"),
    ("村代码", "5325041092", "不是12位"),
    ("乡镇", "", "为空"),
])
def test_wrong_type_or_out_of_range(tmp_path, db, baseline, column, value, expected):
    data = three_villages()
    data[1][HEADER.index(column)] = value
    errors = refuse(db, baseline, write(tmp_path, simple_report(data)))
    shown = f"「{value}」" if value != "" else ""
    reason(errors, FIRST + 1, column, f"{column}: {shown}{expected}")
    assert len(errors) == 1, errors


def test_civil_servants_more_than_group(tmp_path, db, baseline):
    data = [village(township="某镇", village=f"第{i}村") for i in range(10)]
    data.append(village(township="某镇", village="第十村", group=9, civil=12))
    errors = refuse(db, baseline, write(tmp_path, simple_report(data)))
    assert errors == ["红河州_20220331.xlsx / 村庄进度 / 第14行 / 其中公职人员: 12 大于 编制组人数 9"]


def test_adopted_needs_more_than_needs(tmp_path, db, baseline):
    data = three_villages()
    data[0][HEADER.index("已纳入规划需求数")] = 9
    errors = refuse(db, baseline, write(tmp_path, simple_report(data)))
    assert errors == [f"{FILE} / {SHEET} / 第{FIRST}行 / 已纳入规划需求数: 9 大于 需求清单数 8"]


def test_selected_cadres_more_than_identified(tmp_path, db, baseline):
    county = [["县级汇总"], ["州市", "县市区", "摸排在外公职人员数", "纳入编制组干部数", "县级联络服务站", "乡级联络服务站"],
              ["红河州", "弥勒市", 1200, 300, 1, 14],
              ["红河州", "蒙自市", 300, 500, 1, 10]]
    path = write(tmp_path, simple_report(three_villages()), more=(SheetSpec("县级汇总", county),))
    errors = refuse(db, baseline, path)
    assert errors == [f"{FILE} / 县级汇总 / 第4行 / 纳入编制组干部数: 500 大于 摸排在外公职人员数 300"]


@pytest.mark.parametrize(("stage", "steps"), [(2, 20), (7, 23)])
def test_stage_and_steps_inconsistent(tmp_path, db, baseline, stage, steps):
    data = three_villages()
    data[2][HEADER.index("当前环节")] = stage
    data[2][HEADER.index("已完成步骤数")] = steps
    errors = refuse(db, baseline, write(tmp_path, simple_report(data)))
    e = reason(errors, FIRST + 2, "已完成步骤数", f"{steps} ", f"当前环节 {stage}")
    assert f"{4 * stage - 4}–{4 * stage}" in e
    assert len(errors) == 1, errors


def test_same_village_twice(tmp_path, db, baseline):
    data = [*three_villages(), village(township="西三镇", village="花口村", group=5)]
    errors = refuse(db, baseline, write(tmp_path, simple_report(data)))
    e = reason(errors, FIRST + 3, "行政村", "花口村", f"第{FIRST}行")
    assert "西三镇" in e
    assert len(errors) == 1, errors


def test_same_village_code_twice(tmp_path, db, baseline):
    data = three_villages()
    data[0][HEADER.index("村代码")] = "532504109202"
    data[2][HEADER.index("村代码")] = "532504109202"
    errors = refuse(db, baseline, write(tmp_path, simple_report(data)))
    reason(errors, FIRST + 2, "村代码", "532504109202", f"第{FIRST}行")


def test_village_code_of_another_county(tmp_path, db, baseline):
    data = three_villages()
    data[1][HEADER.index("村代码")] = "532503001001"        # a 蒙自市 code on a 弥勒市 row
    errors = refuse(db, baseline, write(tmp_path, simple_report(data)))
    reason(errors, FIRST + 1, "村代码", "「532503001001」", "弥勒市")


# ------------------------------------------------------------------------------------------------- dates and sources


def test_no_reporting_date(tmp_path, db, baseline):
    errors = refuse(db, baseline, write(tmp_path, simple_report(three_villages(), as_of=""), name="红河州.xlsx"))
    assert errors == [e for e in errors if e.startswith("红河州.xlsx / 无法确定截止日期")] and len(errors) == 1, errors


@pytest.mark.parametrize(("name", "title", "column"), [
    ("红河州.xlsx", "截至2099年1月1日", None),
    ("红河州_20990101.xlsx", "", None),
    ("红河州.xlsx", "", "2099-01-01"),
])
def test_reporting_date_in_the_future(tmp_path, db, baseline, name, title, column):
    header, data = list(HEADER), three_villages()
    if column:
        header.append("截止日期")
        data = [[*r, column] for r in data]
    errors = refuse(db, baseline, write(tmp_path, simple_report(data, header=header, as_of=title), name=name))
    assert any(e.startswith(f"{name} / ") and "2099-01-01" in e and "未来" in e for e in errors), errors


def test_prefecture_sources_disagree(tmp_path, db, baseline):
    name = "玉溪市_20220331.xlsx"
    errors = refuse(db, baseline, write(tmp_path, simple_report(three_villages(), title=""), name=name))
    e = next(e for e in errors if "来源不一致" in e)
    assert e.startswith(f"{name} / ") and "文件名为玉溪市" in e and "红河哈尼族彝族自治州" in e


def test_prefecture_title_and_rows_disagree(tmp_path, db, baseline):
    rows = simple_report(three_villages(), title="玉溪市干部规划家乡行动工作进度统计表")
    errors = refuse(db, baseline, write(tmp_path, rows, name="进度表_20220331.xlsx"))
    assert any("来源不一致" in e and "标题行为玉溪市" in e for e in errors), errors


def test_dates_disagree(tmp_path, db, baseline):
    name = "红河州_20220430.xlsx"
    errors = refuse(db, baseline, write(tmp_path, simple_report(three_villages()), name=name))
    e = next(e for e in errors if "截止日期来源不一致" in e)
    assert e.startswith(f"{name} / ") and "2022-03-31" in e and "2022-04-30" in e


def test_date_column_and_title_disagree(tmp_path, db, baseline):
    data = [[*r, "2022-04-30"] for r in three_villages()]
    errors = refuse(db, baseline, write(tmp_path, simple_report(data, header=[*HEADER, "截止日期"]), name="红河州.xlsx"))
    assert any("截止日期来源不一致" in e and "日期列为2022-04-30" in e and "标题行为2022-03-31" in e for e in errors), errors


def test_sheets_disagree_on_the_date(tmp_path, db, baseline):
    needs = [["截至2022年4月30日"], ["州市", "县市区", "乡镇", "行政村", "需求内容"],
             ["红河州", "弥勒市", "西三镇", "花口村", "修路"]]
    path = write(tmp_path, simple_report(three_villages()), name="红河州.xlsx", more=(SheetSpec("需求清单", needs),))
    errors = refuse(db, baseline, path)
    assert any("截止日期来源不一致" in e and "「需求清单」标题行为2022-04-30" in e and "「村庄进度」标题行为2022-03-31" in e
               for e in errors), errors


def test_two_dates_in_the_date_column(tmp_path, db, baseline):
    data = [[*r, d] for r, d in zip(three_villages(), ["2022-03-31", "2022-03-31", "2022-04-30"])]
    path = write(tmp_path, simple_report(data, header=[*HEADER, "截止日期"], as_of=""), name="红河州.xlsx")
    errors = refuse(db, baseline, path)
    assert any("多个截止日期" in e and "2022-04-30" in e for e in errors), errors


# ------------------------------------------------------------------------------------------------- every reason


def test_every_reason_is_listed(tmp_path, db, baseline):
    col = HEADER.index
    data = [village(township="某镇", village=f"第{i}村") for i in range(7)]
    data[0][col("编制组人数")] = -1
    data[1][col("当前环节")] = 9
    data[2][col("县市区")] = "五华区"
    data[3][col("其中公职人员")] = 10
    data[4][col("任务年度")] = 2019
    data[5][col("已完成步骤数")] = 31
    data[6][col("回乡干部人次")] = "二十"
    data[6][col("理事会")] = "待定"
    errors = refuse(db, baseline, write(tmp_path, simple_report(data)))
    reason(errors, FIRST, "编制组人数", "「-1」", "负数")
    reason(errors, FIRST + 1, "当前环节", "「9」")
    reason(errors, FIRST + 2, "县市区", "「五华区」")
    reason(errors, FIRST + 3, "其中公职人员", "10 大于 编制组人数 9")
    reason(errors, FIRST + 4, "任务年度", "「2019」")
    reason(errors, FIRST + 5, "已完成步骤数", "「31」")
    reason(errors, FIRST + 6, "回乡干部人次", "「二十」")
    reason(errors, FIRST + 6, "理事会", "「待定」")
    assert len(errors) == 8, errors


def test_every_reason_even_without_a_prefecture(tmp_path, db, baseline):
    """A file whose prefecture cannot be told still lists its rows' own faults, so one round of fixes suffices."""
    data = [village(prefecture="火星州"), village(prefecture="火星州", village="凤凰村", stage=9)]
    rows = simple_report(data, title="干部规划家乡行动工作进度统计表")
    errors = refuse(db, baseline, write(tmp_path, rows, name="进度表_20220331.xlsx"))
    reason(errors, FIRST, "州市", "「火星州」", file="进度表_20220331.xlsx")
    reason(errors, FIRST + 1, "当前环节", "「9」", file="进度表_20220331.xlsx")


def test_a_long_list_of_faults_is_kept_whole_and_folded_only_on_screen(tmp_path, db, baseline):
    data = [village(township="某镇", village=f"第{i}村", group=-1) for i in range(30)]
    errors = refuse(db, baseline, write(tmp_path, simple_report(data)))   # report_log.messages == errors, checked there
    listed = [e for e in errors if "/ 编制组人数: 「-1」" in e]
    assert [reason(listed, FIRST + i, "编制组人数", "「-1」") for i in range(30)] == listed   # all 30, in row order
    shown = fold(errors)
    assert [e for e in shown if "/ 编制组人数: 「-1」" in e] == listed[:20]
    (summary,) = [e for e in shown if "同类问题" in e]
    assert "另有 10 处" in summary and "共 30 处" in summary and shown.index(summary) == shown.index(listed[19]) + 1


def test_reasons_come_in_sheet_and_row_order(tmp_path, db, baseline):
    """A rule broken on row 9 comes before a wrong value on row 13, whatever check found it first; the county
    sheet's reasons come after the village sheet's when it follows it in the workbook, and file-wide ones first."""
    col = HEADER.index
    data = [village(township="某镇", village=f"第{i}村") for i in range(12)]
    data[9][col("编制组人数")] = "九"            # row 13: not a number (found by the typed pass)
    data[5][col("其中公职人员")] = 12             # row 9: 12 > 9 (found by the rules, after every typed column)
    data[0][col("已完成步骤数")] = 31             # row 4
    county = [["州市", "县市区", "摸排在外公职人员数", "纳入编制组干部数", "县级联络服务站", "乡级联络服务站"],
              ["红河州", "弥勒市", 10, 20, 1, 5]]                      # row 2: 20 > 10
    path = write(tmp_path, simple_report(data, as_of="截至2022年3月31日"), name="红河州_20220430.xlsx",
                 more=(SheetSpec("县级汇总", county),))
    errors = refuse(db, baseline, path)
    assert errors[0] == "红河州_20220430.xlsx / 截止日期来源不一致：「村庄进度」标题行为2022-03-31；文件名为2022-04-30"
    places = [(p["sheet"], p["row"]) for p in map(split_message, errors[1:])]
    assert places == [(SHEET, 4), (SHEET, 9), (SHEET, 13), ("县级汇总", 2)], errors


# ------------------------------------------------------------------------------------------------- the command


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines", "ingest", "--quiet", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_cli_exit_codes(tmp_path):
    good = tmp_path / "good"
    good.mkdir()
    write_report(good / "红河州_20220331.xlsx", simple_report(three_villages()))
    write_csv(good / "玉溪市_20220331.csv", simple_report(
        [village(prefecture="玉溪市", county="红塔区", township="玉兴街道", village="荷花社区")],
        title="玉溪市干部规划家乡行动工作进度统计表"))
    db = tmp_path / "warehouse.duckdb"

    ok = run_cli(str(good), "--db", str(db))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    lines = ok.stdout.splitlines()
    assert sum(line.startswith("✔ 已接收") for line in lines) == 2 and "已拒收" not in ok.stdout
    assert {r["prefecture_code"] for r in fetch(db, "SELECT prefecture_code FROM village_status")} == {"532500", "530400"}

    again = run_cli(str(good), "--db", str(db))           # the same files again: duplicates, not a failure
    assert again.returncode == 0, again.stdout + again.stderr
    assert sum(line.startswith("= 重复文件") for line in again.stdout.splitlines()) == 2

    mixed = tmp_path / "mixed"
    mixed.mkdir()
    bad = [village(group=9, civil=12)]
    write_report(mixed / "红河州_20220430.xlsx", simple_report(bad, as_of="截至2022年4月30日"))
    write_report(mixed / "玉溪市_20220430.xlsx", simple_report(
        [village(prefecture="玉溪市", county="红塔区", township="玉兴街道", village="荷花社区", group=20)],
        title="玉溪市干部规划家乡行动工作进度统计表", as_of="截至2022年4月30日"))
    write_csv(mixed / "玉溪市_20220331（更正）.csv", simple_report(
        [village(prefecture="玉溪市", county="红塔区", township="玉兴街道", village="荷花社区", group=15)],
        title="玉溪市干部规划家乡行动工作进度统计表"))
    some = subprocess.run([sys.executable, "-m", "pipelines", "ingest", str(mixed), "--db", str(db)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)   # with the progress bar this time
    assert some.returncode == 1, some.stdout + some.stderr
    lines = some.stdout.splitlines()
    refused = next(i for i, line in enumerate(lines) if line.startswith("✘ 已拒收"))
    assert "红河州_20220430.xlsx" in lines[refused]
    assert lines[refused + 1].strip() == "红河州_20220430.xlsx / 村庄进度 / 第4行 / 其中公职人员: 12 大于 编制组人数 9"
    assert any(line.startswith("↻ 已接收（更正") and "玉溪市_20220331（更正）.csv" in line for line in lines), lines
    assert any(line.startswith("✔ 已接收") and "玉溪市_20220430.xlsx" in line for line in lines), lines
    # the good file of the same run still loaded
    yuxi = fetch(db, "SELECT as_of, group_size FROM village_status WHERE prefecture_code = '530400'")
    assert yuxi == [{"as_of": date(2022, 4, 30), "group_size": 20}]
    honghe = fetch(db, "SELECT DISTINCT as_of FROM village_status WHERE prefecture_code = '532500'")
    assert honghe == [{"as_of": date(2022, 3, 31)}]

    before = db.read_bytes()
    missing = run_cli(str(tmp_path / "没有这个文件.xlsx"), "--db", str(db))
    assert missing.returncode == 2 and "没有这个文件.xlsx" in missing.stderr
    (tmp_path / "empty").mkdir()
    assert run_cli(str(tmp_path / "empty"), "--db", str(db)).returncode == 2      # a folder without report files
    no_args = subprocess.run([sys.executable, "-m", "pipelines", "ingest"], cwd=ROOT, capture_output=True, timeout=60)
    assert no_args.returncode == 2
    assert db.read_bytes() == before
