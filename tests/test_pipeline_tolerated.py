"""REPORT_SPEC §3: every tolerated variation of a real report loads, with the right numbers in the public views.

Each test writes a real file (xlsx / xls / csv) to a temporary folder, loads it into a fresh DuckDB warehouse through
the production pipeline and reads the figures back from ``village_status`` / ``county_summary`` / ``needs`` /
``projects`` on a read-only connection, as the pages and analysts do.
"""

from __future__ import annotations

import json
import random
from datetime import date, datetime
from pathlib import Path

import opencc
import pytest

from reportfiles import (
    HEADER, SheetSpec, fetch, load_one, simple_report, three_villages, village, villages_by_name, write_csv,
    write_report, write_xlsx,
)

MILE = "532504"  # 弥勒市
HONGHE = "532500"

# The figures of reportfiles.three_villages(), as the warehouse must hold them.
EXPECTED = {
    "花口村": dict(village_code="532504109202", township="西三镇", stage=4, steps_done=14, plan_status="编制中",
                 group_size=9, civil_servants=2, cadre_visits=20, local_talents=3, meetings=4,
                 villager_participation=300, needs_total=8, needs_adopted=5, special_plans_done=2, council=True,
                 funding_wan=120.5, plan_industry=True, plan_talent=True, plan_culture=False, task_year=2021),
    "新桥村": dict(village_code="532504103204", township="虹溪镇", stage=7, steps_done=28, plan_status="已入库",
                 group_size=12, civil_servants=3, cadre_visits=35, local_talents=6, meetings=7,
                 villager_participation=820, needs_total=15, needs_adopted=15, special_plans_done=5, council=False,
                 funding_wan=300.0, plan_organisation=True),
    "旧城村": dict(village_code="532504110202", township="东山镇", stage=1, steps_done=0, plan_status="未启动",
                 group_size=0, civil_servants=0, cadre_visits=0, local_talents=0, meetings=0,
                 villager_participation=0, needs_total=0, needs_adopted=0, special_plans_done=0, council=False,
                 funding_wan=0.0, plan_industry=False),
}
# county_summary of 弥勒市 for those three villages.
EXPECTED_COUNTY = dict(task_villages=3, planning_groups=2, group_members=21, civil_servants=5, cadre_visits=55,
                       needs_total=23, needs_adopted=20, villager_participation=1120, meetings=11, councils=1,
                       plans_completed=1, plans_in_database=1, funding_wan=420.5)


def assert_three_villages(db: Path, as_of: date = date(2022, 3, 31)) -> None:
    """The three standard villages are current, with every figure as typed, and 弥勒市 sums them."""
    got = villages_by_name(db)
    assert set(got) == set(EXPECTED)
    for name, expected in EXPECTED.items():
        row = got[name]
        assert row["prefecture_code"] == HONGHE and row["county_code"] == MILE and row["county_name"] == "弥勒市"
        assert row["as_of"] == as_of
        for key, value in expected.items():
            assert row[key] == pytest.approx(value) if isinstance(value, float) else row[key] == value, (name, key)
    assert_county(db, EXPECTED_COUNTY)


def assert_county(db: Path, expected: dict, county: str = MILE) -> dict:
    (row,) = fetch(db, "SELECT * FROM county_summary WHERE county_code = ?", [county])
    for key, value in expected.items():
        assert row[key] == pytest.approx(value) if isinstance(value, float) else row[key] == value, key
    return row


def accepted(result) -> None:
    assert result.status == "accepted", result.errors


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "warehouse.duckdb"


# ------------------------------------------------------------------------------------------------- layout


def test_title_and_footer_rows(tmp_path, db):
    rows = [["红河州干部规划家乡行动工作进度统计表"], ["填报单位：红河州干部规划家乡行动专班"], ["截至2022年3月31日"], [],
            HEADER, *three_villages(), [],
            ["注：1.本表数据为累计数；2.项目资金单位为万元。"],
            # a signature row spread over the columns, key columns (县市区, 行政村) included
            ["填表人：张三", "审核人：李四", "", "联系电话：0873-1234567", "", "", "", "", "填表日期：2022年4月2日"],
            ["联系电话：13800000000"]]
    result = load_one(db, write_report(tmp_path / "红河州_20220331.xlsx", rows))
    accepted(result)
    assert result.village_rows == 3
    assert_three_villages(db)
    (log,) = fetch(db, "SELECT * FROM report_log")
    assert log["status"] == "accepted" and log["village_rows"] == 3 and log["prefecture_code"] == HONGHE


def two_row_header(with_ordinal: bool = False) -> tuple[list[list], list[tuple]]:
    """A 专项规划 band merged over 产业/人才/文化/生态/组织 and a 其中 band over 公职人员; other headers span both rows."""
    top, bottom = list(HEADER), [""] * len(HEADER)
    cs = HEADER.index("其中公职人员")
    top[cs], bottom[cs] = "其中", "公职人员"
    first = HEADER.index("产业规划")
    for i, sub in enumerate(("产业", "人才", "文化", "生态", "组织")):
        top[first + i], bottom[first + i] = ("专项规划" if i == 0 else ""), sub
    data = three_villages()
    if with_ordinal:
        top, bottom = ["序号", *top], ["", *bottom]
        data = [[i + 1, *row] for i, row in enumerate(data)]
    off = 1 if with_ordinal else 0
    header_row = 2  # 0-based: title, date, then the two header rows
    merges = [(header_row, c, header_row + 1, c, top[c]) for c in range(len(top))
              if not bottom[c] and top[c]]
    merges.append((header_row, first + off, header_row, first + off + 4, "专项规划"))
    rows = [["红河州干部规划家乡行动工作进度统计表"], ["截至2022年3月31日"], top, bottom, *data, ["填表人：张三"]]
    return rows, merges


@pytest.mark.parametrize("suffix", [".xlsx", ".xls"])
def test_two_row_merged_header_with_bands(tmp_path, db, suffix):
    rows, merges = two_row_header()
    result = load_one(db, write_report(tmp_path / f"红河州_20220331{suffix}", rows, merges=merges))
    accepted(result)
    assert not [w for w in result.warnings if "未知列" in w], result.warnings
    assert_three_villages(db)


def test_ordinal_column(tmp_path, db):
    rows = simple_report([[i + 1, *row] for i, row in enumerate(three_villages())], header=["序号", *HEADER])
    result = load_one(db, write_report(tmp_path / "红河州_20220331.xlsx", rows))
    accepted(result)
    assert not [w for w in result.warnings if "序号" in w], result.warnings
    assert_three_villages(db)


def test_ordinal_column_and_two_row_header(tmp_path, db):
    rows, merges = two_row_header(with_ordinal=True)
    accepted(load_one(db, write_report(tmp_path / "红河州_20220331.xlsx", rows, merges=merges)))
    assert_three_villages(db)


@pytest.mark.parametrize("seed", [1, 2])
def test_any_column_order(tmp_path, db, seed):
    order = list(range(len(HEADER)))
    random.Random(seed).shuffle(order)
    assert order != sorted(order)
    header = [HEADER[i] for i in order]
    data = [[row[i] for i in order] for row in three_villages()]
    accepted(load_one(db, write_report(tmp_path / "红河州_20220331.xlsx", simple_report(data, header=header))))
    assert_three_villages(db)


def test_unknown_column_is_a_warning_and_kept_raw(tmp_path, db):
    header = [*HEADER[:4], "联系人", *HEADER[4:], "驻村工作队"]
    people = ["王五", "赵六", "钱七"]
    data = [[*row[:4], who, *row[4:], "有"] for who, row in zip(people, three_villages())]
    result = load_one(db, write_report(tmp_path / "红河州_20220331.xlsx", simple_report(data, header=header)))
    accepted(result)
    unknown = [w for w in result.warnings if "未知列" in w]
    assert any("联系人" in w for w in unknown) and any("驻村工作队" in w for w in unknown), result.warnings
    assert all(w.startswith("红河州_20220331.xlsx / 村庄进度") for w in unknown)
    assert_three_villages(db)
    extras = {r["village"]: json.loads(r["extra"]) for r in fetch(db, "SELECT village, extra FROM village_rows")}
    assert extras["花口村"] == {"联系人": "王五", "驻村工作队": "有"}
    assert extras["旧城村"]["联系人"] == "钱七"
    (log,) = fetch(db, "SELECT warnings FROM report_log")
    assert "联系人" in log["warnings"]


# ------------------------------------------------------------------------------------------------- totals


def total_row(label_col: int, label: str, rows: list[list], **override) -> list:
    """A 合计/小计 row summing the count and money columns of ``rows``, with its label in column ``label_col``."""
    summed = [""] * len(HEADER)
    for name in HEADER[9:17] + ["项目资金（万元）"]:
        c = HEADER.index(name)
        summed[c] = sum(r[c] for r in rows)
    for name, value in override.items():
        summed[HEADER.index(name)] = value
    summed[label_col] = label
    return summed


def test_total_and_subtotal_rows_are_skipped(tmp_path, db):
    data = three_villages()
    rows = simple_report([*data, total_row(1, "弥勒市小计", data), total_row(0, "合  计", data)])
    result = load_one(db, write_report(tmp_path / "红河州_20220331.xlsx", rows))
    accepted(result)
    assert result.village_rows == 3
    assert not [w for w in result.warnings if "合计" in w], result.warnings
    assert_three_villages(db)


def test_total_row_that_does_not_add_up_is_only_a_warning(tmp_path, db):
    data = three_villages()
    rows = simple_report([*data, total_row(0, "总计", data, **{"编制组人数": 25, "项目资金（万元）": 400})])
    result = load_one(db, write_report(tmp_path / "红河州_20220331.xlsx", rows))
    accepted(result)
    total_excel_row = 4 + len(data)  # title, date, header, then the villages
    mismatch = [w for w in result.warnings if "合计" in w]
    assert len(mismatch) == 2, result.warnings
    assert any(f"第{total_excel_row}行 / 编制组人数" in w and "25" in w and "21" in w for w in mismatch), mismatch
    assert any("项目资金" in w and "400" in w and "420.5" in w for w in mismatch), mismatch
    assert_three_villages(db)


# ------------------------------------------------------------------------------------------------- numbers


def test_numbers_typed_as_text(tmp_path, db):
    data = three_villages()
    col = HEADER.index
    data[0][col("编制组人数")] = " 9 "
    data[0][col("其中公职人员")] = "２"          # full-width digits
    data[0][col("回乡干部人次")] = "２０"
    data[0][col("村民参与人次")] = "300.0"
    data[1][col("村民参与人次")] = "8２0"
    data[1][col("编制组人数")] = "１２"
    data[0][col("项目资金（万元）")] = "1２0.5"
    data[1][col("项目资金（万元）")] = " 300 "
    data[1][col("当前环节")] = " 7"
    data[1][col("已完成步骤数")] = "２８"
    accepted(load_one(db, write_report(tmp_path / "红河州_20220331.xlsx", simple_report(data))))
    assert_three_villages(db)


def test_thousands_separators(tmp_path, db):
    data = three_villages()
    col = HEADER.index
    data[0][col("村民参与人次")] = "1,300"
    data[1][col("村民参与人次")] = "1，820"   # full-width comma
    data[2][col("项目资金（万元）")] = "1,000.5"
    accepted(load_one(db, write_report(tmp_path / "红河州_20220331.xlsx", simple_report(data))))
    got = villages_by_name(db)
    assert got["花口村"]["villager_participation"] == 1300
    assert got["新桥村"]["villager_participation"] == 1820
    assert got["旧城村"]["funding_wan"] == pytest.approx(1000.5)
    assert_county(db, dict(villager_participation=3120, funding_wan=1421.0))


def test_not_reported_markers_are_null_not_zero(tmp_path, db):
    data = three_villages()
    col = HEADER.index
    data[0][col("回乡干部人次")] = "—"
    data[0][col("座谈会场次")] = "-"
    data[0][col("村民参与人次")] = "/"
    data[0][col("乡贤能人数")] = ""
    data[0][col("项目资金（万元）")] = "—"
    # a null 编制组人数 must not trigger 其中公职人员 ≤ 编制组人数, nor a null 需求清单数 the needs rule
    data[1][col("编制组人数")] = "—"
    data[1][col("需求清单数")] = "/"
    result = load_one(db, write_report(tmp_path / "红河州_20220331.xlsx", simple_report(data)))
    accepted(result)
    got = villages_by_name(db)
    hk, xq = got["花口村"], got["新桥村"]
    for key in ("cadre_visits", "meetings", "villager_participation", "local_talents", "funding_wan"):
        assert hk[key] is None, key
    assert xq["group_size"] is None and xq["civil_servants"] == 3
    assert xq["needs_total"] is None and xq["needs_adopted"] == 15
    # sums leave the not-reported cells out instead of counting them as zero villages' figures
    assert_county(db, dict(task_villages=3, planning_groups=1, group_members=9, civil_servants=5, cadre_visits=35,
                           meetings=7, villager_participation=820, needs_total=8, funding_wan=300.0))


# ------------------------------------------------------------------------------------------------- text


def test_traditional_characters_everywhere(tmp_path, db):
    s2t = opencc.OpenCC("s2t").convert
    data = three_villages()
    data += [total_row(1, "弥勒市小计", data), total_row(0, "合计", data)]
    footer = ("注：本表由各县专班填报", "填表人：张三", "联系电话：13800000000", "审核：李四")
    rows = [[s2t(v) if isinstance(v, str) else v for v in row] for row in simple_report(data, footer=footer)]
    assert rows[2][HEADER.index("县市区")] == "縣市區" and rows[3][1] == "彌勒市" and rows[-2] == ["聯繫電話：13800000000"]
    assert rows[-5][0] == "合計"
    path = tmp_path / (s2t("红河州") + "_20220331.xlsx")
    result = load_one(db, write_report(path, rows, sheet=s2t("村庄进度")))
    accepted(result)
    assert not [w for w in result.warnings if "未知列" in w], result.warnings
    assert_three_villages(db)


@pytest.mark.parametrize(("file_name", "title", "date_cell"), [
    ("红河州.xlsx", "截至2022年3月31日", None),
    ("红河州.xlsx", "统计时间：2022-03-31", None),
    ("红河州.xlsx", "截至 2022.3.31", None),
    ("红河州.xlsx", "截至2022/3/31", None),
    ("红河州.xlsx", "", datetime(2022, 3, 31)),     # an Excel date cell in a 截止日期 column
    ("红河州.xlsx", "", "2022年3月31日"),            # the same column typed as text
    ("红河州.xlsx", "", 44651),                      # a date serial in a cell formatted as a number
    ("红河州.xlsx", "", "2022.3.31"),
    ("红河州_20220331.xlsx", "", None),             # the file name only
    ("红河州_2022.3.31.xlsx", "", None),
    ("红河州_20220331.xlsx", "截至2022年3月31日", datetime(2022, 3, 31)),   # all three sources agreeing
], ids=["title-ymd-chinese", "title-iso", "title-dots", "title-slashes", "excel-date-cell", "date-column-text",
        "date-column-serial", "date-column-dots", "file-name", "file-name-dots", "all-agree"])
def test_every_date_form(tmp_path, db, file_name, title, date_cell):
    header, data = list(HEADER), three_villages()
    if date_cell is not None:
        header.append("截止日期")
        data = [[*row, date_cell] for row in data]
    rows = simple_report(data, header=header, as_of=title)
    result = load_one(db, write_report(tmp_path / file_name, rows))
    accepted(result)
    assert result.as_of == date(2022, 3, 31)
    assert_three_villages(db)
    assert fetch(db, "SELECT as_of FROM report_log")[0]["as_of"] == date(2022, 3, 31)


def test_hidden_and_unrelated_sheets_are_ignored_with_a_note(tmp_path, db):
    stale = simple_report([village(village="可邑村", group=99, civil=98)])
    notes = [["填报说明"], ["1. 各县于每月底前报送"], ["2. 数据为累计数"]]
    path = tmp_path / "红河州_20220331.xlsx"
    write_xlsx(path, [SheetSpec("村庄进度（旧）", stale, hidden=True), SheetSpec("村庄进度", simple_report(three_villages())),
                      SheetSpec("填报说明", notes)])
    result = load_one(db, path)
    accepted(result)
    assert any("村庄进度（旧）" in w and "隐藏" in w and "忽略" in w for w in result.warnings), result.warnings
    assert any("填报说明" in w and "忽略" in w for w in result.warnings), result.warnings
    assert_three_villages(db)
    (log,) = fetch(db, "SELECT status, warnings FROM report_log")
    assert log["status"] == "accepted" and "村庄进度（旧）" in log["warnings"] and "填报说明" in log["warnings"]


# ------------------------------------------------------------------------------------------------- formats


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_in_every_encoding(tmp_path, db, encoding):
    path = write_csv(tmp_path / "红河州_20220331.csv", simple_report(three_villages()), encoding=encoding)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf") == (encoding == "utf-8-sig")
    accepted(load_one(db, path))
    assert_three_villages(db)


def test_legacy_xls(tmp_path, db):
    accepted(load_one(db, write_report(tmp_path / "红河州_20220331.xls", simple_report(three_villages()))))
    assert_three_villages(db)


# ------------------------------------------------------------------------------------------------- headers and values

ALIASES = {
    "州市": "州（市）", "县市区": "县（市、区）", "乡镇": "乡（镇、街道）", "行政村": "村（社区）", "村代码": "统计用区划代码",
    "任务年度": "规划年度", "当前环节": "所处环节", "已完成步骤数": "完成步骤", "规划状态": "成果状态",
    "编制组人数": "编制组成员数", "其中公职人员": "其中：公职人员", "回乡干部人次": "干部回乡人次", "乡贤能人数": "乡贤能人",
    "座谈会场次": "恳谈会场次", "村民参与人次": "群众参与人次", "需求清单数": "需求清单（个）",
    "已纳入规划需求数": "纳入规划需求", "理事会": "是否成立理事会", "项目资金（万元）": "投入资金（万元）", "备注": "说明",
}
ALIASES_2 = {
    "州市": "市州", "县市区": "县区", "乡镇": "乡镇（街道）", "行政村": "村委会", "村代码": "区划代码", "任务年度": "年度",
    "当前环节": "环节", "已完成步骤数": "已完成步骤", "规划状态": "编制状态", "编制组人数": "规划编制组人数",
    "其中公职人员": "公职人员数", "回乡干部人次": "回乡人次", "座谈会场次": "座谈恳谈会", "需求清单数": "梳理需求清单",
    "理事会": "村庄规划建设理事会", "项目资金（万元）": "累计投入（万元）",
}


@pytest.mark.parametrize("aliases", [ALIASES, ALIASES_2], ids=["aliases-1", "aliases-2"])
def test_header_aliases(tmp_path, db, aliases):
    header = [aliases.get(h, h) for h in HEADER]
    result = load_one(db, write_report(tmp_path / "红河州_20220331.xlsx", simple_report(three_villages(), header=header)))
    accepted(result)
    assert not [w for w in result.warnings if "未知列" in w], result.warnings
    assert_three_villages(db)


@pytest.mark.parametrize(("header", "values"), [
    ("项目资金（元）", (1205000, 3000000, 0)),
    ("投入资金(元)", ("1,205,000", "3,000,000", "0")),
    ("累计投入（亿元）", (0.01205, 0.03, 0)),
    ("项目资金", (120.5, 300, 0)),       # no unit: 万元, the contract's unit
])
def test_money_units_are_stored_in_wan(tmp_path, db, header, values):
    col = HEADER.index("项目资金（万元）")
    data = three_villages()
    for row, value in zip(data, values):
        row[col] = value
    rows = simple_report(data, header=[*HEADER[:col], header, *HEADER[col + 1:]])
    accepted(load_one(db, write_report(tmp_path / "红河州_20220331.xlsx", rows)))
    assert_three_villages(db)


@pytest.mark.parametrize(("stage", "expected"), [
    ("方案编制", 4), ("4.方案编制", 4), ("第4环节", 4), ("方案編制", 4),
])
def test_stage_given_by_name(tmp_path, db, stage, expected):
    data = three_villages()
    data[0][HEADER.index("当前环节")] = stage
    data[1][HEADER.index("当前环节")] = "成果入库"
    data[2][HEADER.index("当前环节")] = "组建编制组"
    accepted(load_one(db, write_report(tmp_path / "红河州_20220331.xlsx", simple_report(data))))
    assert villages_by_name(db)["花口村"]["stage"] == expected
    assert_three_villages(db)


@pytest.mark.parametrize(("typed", "code"), [("弥勒", "532504"), ("蒙自", "532503"), ("屏边县", "532523")])
def test_county_names_resolve(tmp_path, db, typed, code):
    rows = simple_report([village(county=typed, township="某镇", village="某村")])
    accepted(load_one(db, write_report(tmp_path / "红河州_20220331.xlsx", rows)))
    (row,) = fetch(db, "SELECT county_code, county_name, village_key FROM village_status")
    assert row["county_code"] == code
    assert row["village_key"].startswith(code)
    assert fetch(db, "SELECT county_code FROM county_summary") == [{"county_code": code}]


def test_plan_status_not_following_the_stage_is_a_warning(tmp_path, db):
    data = three_villages()
    data[0][HEADER.index("规划状态")] = "已入库"      # stage 4 would be 编制中
    result = load_one(db, write_report(tmp_path / "红河州_20220331.xlsx", simple_report(data)))
    accepted(result)
    (warning,) = [w for w in result.warnings if "已入库" in w]
    assert warning.startswith("红河州_20220331.xlsx / 村庄进度 / 第4行 / 规划状态: ")
    assert "编制中" in warning
    assert villages_by_name(db)["花口村"]["plan_status"] == "已入库"   # what the office reported stands


@pytest.mark.parametrize(("stage", "steps", "expected"), [
    (1, 0, "未启动"), (3, 10, "编制中"), (5, 18, "成果完成"), (6, 22, "已审查"), (7, 25, "已审批"), (7, 28, "已入库"),
])
def test_empty_plan_status_is_derived(tmp_path, db, stage, steps, expected):
    rows = simple_report([village(stage=stage, steps=steps, status=""), village(village="凤凰村", status="—")])
    result = load_one(db, write_report(tmp_path / "红河州_20220331.xlsx", rows))
    accepted(result)
    got = villages_by_name(db)
    assert got["花口村"]["plan_status"] == expected
    assert got["凤凰村"]["plan_status"] == "编制中"
    assert not [w for w in result.warnings if "规划状态" in w], result.warnings
    completed = expected in ("成果完成", "已审查", "已审批", "已入库")
    assert_county(db, dict(plans_completed=int(completed), plans_in_database=int(expected == "已入库")))


# ------------------------------------------------------------------------------------------------- other sheets


def other_sheets() -> tuple[SheetSpec, ...]:
    county = [["红河州干部规划家乡行动县级汇总表"], ["截至2022年3月31日"],
              ["序号", "州市", "县市区", "摸排在外公职人员数", "纳入编制组干部数", "县级联络服务站", "乡级联络服务站"],
              [1, "红河州", "弥勒市", "1,200", 300, 1, 14],
              [2, "红河州", "蒙自市", 800, 200, 1, 10],
              ["合计", "", "", 2000, 500, 2, 24]]
    needs = [["需求清单"], ["州市", "县市区", "乡镇", "行政村", "需求内容", "需求类别", "状态", "估算资金（万元）"],
             ["红河州", "弥勒市", "西三镇", "花口村", "修建村内道路2公里", "基础设施", "已纳入规划", 80],
             ["红河州", "弥勒市", "西三镇", "花口村", "建设农产品晾晒场", "产业发展", "已收集", ""],
             ["红河州", "弥勒市", "虹溪镇", "新桥村", "改造村卫生室", "公共服务", "已立项", "12.5"],
             ["红河州", "弥勒市", "虹溪镇", "新桥村", "修缮古民居", "文化传承", "已实施", 30]]
    projects = [["项目资金"], ["州市", "县市区", "乡镇", "行政村", "项目名称", "资金来源", "投入资金（元）", "项目状态"],
                ["红河州", "弥勒市", "西三镇", "花口村", "花口村道路硬化", "财政衔接资金", 1205000, "完工"],
                ["红河州", "弥勒市", "虹溪镇", "新桥村", "新桥村人居环境整治", "县级财政", "3,000,000", "在建"],
                ["红河州", "弥勒市", "", "", "全市村庄规划编制", "省级补助", 500000, "谋划"]]
    return SheetSpec("县级汇总", county), SheetSpec("需求清单", needs), SheetSpec("项目资金", projects)


def test_other_three_sheets(tmp_path, db):
    path = write_report(tmp_path / "红河州_20220331.xlsx", simple_report(three_villages()), more=other_sheets())
    result = load_one(db, path)
    accepted(result)
    assert result.warnings == [], result.warnings       # the county sheet's 合计 row adds up
    assert_three_villages(db)
    mile = assert_county(db, dict(identified_civil_servants=1200, selected_cadres=300, county_stations=1,
                                  township_stations=14))
    assert mile["as_of"] == date(2022, 3, 31)
    # a county with no task village yet still has its own summary row from the county sheet: 0 task villages (a
    # count of villages), while the sums of village figures stay "not reported"
    assert_county(db, dict(identified_civil_servants=800, selected_cadres=200, township_stations=10,
                           task_villages=0, planning_groups=0, plans_completed=0, councils=0, group_members=None,
                           funding_wan=None), county="532503")
    (pref,) = fetch(db, "SELECT * FROM prefecture_summary")
    assert pref["identified_civil_servants"] == 2000 and pref["selected_cadres"] == 500
    assert pref["task_villages"] == 3 and pref["funding_wan"] == pytest.approx(420.5)

    needs = fetch(db, "SELECT * FROM needs ORDER BY excel_row")
    assert [n["category"] for n in needs] == ["基础设施", "产业发展", "公共服务", "文化传承"]
    assert [n["status"] for n in needs] == ["已纳入规划", "已收集", "已立项", "已实施"]
    assert [n["est_funding_wan"] for n in needs] == [80.0, None, 12.5, 30.0]
    assert {n["village_key"] for n in needs} == {"532504109202", "532504103204"}
    assert all(n["prefecture_code"] == HONGHE and n["county_code"] == MILE for n in needs)

    projects = fetch(db, "SELECT * FROM projects ORDER BY excel_row")
    assert [p["funding_wan"] for p in projects] == pytest.approx([120.5, 300.0, 50.0])
    assert [p["status"] for p in projects] == ["完工", "在建", "谋划"]
    assert projects[0]["village_key"] == "532504109202" and projects[0]["source"] == "财政衔接资金"
    assert projects[2]["village"] is None and projects[2]["village_key"] is None


def test_header_spaces_line_breaks_and_full_width(tmp_path, db):
    header = list(HEADER)
    header[HEADER.index("编制组人数")] = "编制组\n人数"
    header[HEADER.index("其中公职人员")] = " 其中：公职人员 "
    header[HEADER.index("项目资金（万元）")] = "项目资金\n(万元)"
    header[HEADER.index("已完成步骤数")] = "已完成　步骤数"      # ideographic space
    header[HEADER.index("县市区")] = "县（市、区）"
    result = load_one(db, write_report(tmp_path / "红河州_20220331.xlsx", simple_report(three_villages(), header=header)))
    accepted(result)
    assert not [w for w in result.warnings if "未知列" in w], result.warnings
    assert_three_villages(db)


@pytest.mark.parametrize(("plans", "council", "done", "has_council"), [
    (("✓", "", "✓", "", ""), "√", 2, True),
    ((1, 0, 1, 1, 0), 0, 3, False),
    (("已完成", "未完成", "已完成", "已完成", "已完成"), "已成立", 4, True),
])
def test_done_or_not_flags(tmp_path, db, plans, council, done, has_council):
    rows = simple_report([village(plans=plans, council=council)])
    accepted(load_one(db, write_report(tmp_path / "红河州_20220331.xlsx", rows)))
    (row,) = fetch(db, "SELECT * FROM village_status")
    assert row["special_plans_done"] == done and row["council"] is has_council
    assert row["plan_industry"] is (plans[0] in ("✓", 1, "已完成", "是"))
    assert fetch(db, "SELECT councils FROM county_summary")[0]["councils"] == int(has_council)


@pytest.mark.parametrize("code", ["532504109202", 532504109202, " 532504109202 "])
def test_village_code_as_text_or_number(tmp_path, db, code):
    rows = simple_report([village(village="可邑村", code=code)])   # a name the roster does not know: the code decides
    accepted(load_one(db, write_report(tmp_path / "红河州_20220331.xlsx", rows)))
    (row,) = fetch(db, "SELECT village_code, village_key FROM village_status")
    assert row == {"village_code": "532504109202", "village_key": "532504109202"}


def test_villages_not_in_the_roster_get_a_stable_key(tmp_path, db):
    rows = simple_report([village(township="某镇", village="新建村"), village(township="某镇", village="新建二村")])
    accepted(load_one(db, write_report(tmp_path / "红河州_20220331.xlsx", rows)))
    keys = {r["village"]: r for r in fetch(db, "SELECT village, village_code, village_key FROM village_status")}
    assert keys["新建村"]["village_code"] is None and keys["新建村"]["village_key"].startswith("532504-")
    assert keys["新建村"]["village_key"] != keys["新建二村"]["village_key"]
    db2 = tmp_path / "again.duckdb"
    rows[3][HEADER.index("编制组人数")] = 10     # another report naming the same village keeps its key
    accepted(load_one(db2, write_report(tmp_path / "红河州_20220331_更正.xlsx", rows)))
    again = {r["village"]: r["village_key"] for r in fetch(db2, "SELECT village, village_key FROM village_status")}
    assert again["新建村"] == keys["新建村"]["village_key"]


def test_group_size_band_with_a_total_sub_column(tmp_path, db):
    """编制组人数 merged over 合计 / 其中公职人员: the 合计 sub-column is the band's own figure."""
    top, bottom = list(HEADER), [""] * len(HEADER)
    g = HEADER.index("编制组人数")
    top[g], top[g + 1], bottom[g], bottom[g + 1] = "编制组人数", "", "合计", "其中公职人员"
    merges = [(2, c, 3, c, top[c]) for c in range(len(top)) if not bottom[c]] + [(2, g, 2, g + 1, "编制组人数")]
    rows = [["红河州干部规划家乡行动工作进度统计表"], ["截至2022年3月31日"], top, bottom, *three_villages()]
    result = load_one(db, write_report(tmp_path / "红河州_20220331.xlsx", rows, merges=merges))
    accepted(result)
    assert_three_villages(db)


@pytest.mark.parametrize("title", [
    ["填报单位：红河州干部规划家乡行动专班", "", "", "", "", "填报日期：2022年4月2日", "", "", "截至2022年3月31日"],
    ["统计时段：2022年1月1日至2022年3月31日"],
], ids=["as-of-beside-filing-date", "period"])
def test_title_with_another_date_beside_the_as_of_date(tmp_path, db, title):
    rows = [["红河州干部规划家乡行动工作进度统计表"], title, HEADER, *three_villages()]
    result = load_one(db, write_report(tmp_path / "红河州.xlsx", rows))
    accepted(result)
    assert result.as_of == date(2022, 3, 31)
    assert_three_villages(db)


@pytest.mark.parametrize(("file_name", "title"), [
    ("进度表_20220331.xlsx", "红河州干部规划家乡行动工作进度统计表"),
    ("进度表_20220331.xlsx", "紅河哈尼族彝族自治州幹部規劃家鄉行動工作進度統計表"),
    ("红河州_20220331.xlsx", "干部规划家乡行动工作进度统计表"),
], ids=["title", "title-full-traditional", "file-name"])
def test_prefecture_from_title_or_file_name_without_a_column(tmp_path, db, file_name, title):
    rows = simple_report([r[1:] for r in three_villages()], header=HEADER[1:], title=title)
    result = load_one(db, write_report(tmp_path / file_name, rows))
    accepted(result)
    assert result.prefecture_code == HONGHE
    assert_three_villages(db)


def test_units_in_count_headers(tmp_path, db):
    units = {"编制组人数": "编制组人数（人）", "村民参与人次": "村民参与人次(人次)", "座谈会场次": "座谈会场次（场）",
             "需求清单数": "需求清单（个）", "已完成步骤数": "已完成步骤数（共28步）"}
    header = [units.get(h, h) for h in HEADER]
    result = load_one(db, write_report(tmp_path / "红河州_20220331.xlsx", simple_report(three_villages(), header=header)))
    accepted(result)
    assert not [w for w in result.warnings if "未知列" in w], result.warnings
    assert_three_villages(db)


def test_sheets_found_by_their_headers_whatever_their_names(tmp_path, db):
    county, needs, projects = other_sheets()
    path = tmp_path / "红河州_20220331.xlsx"
    write_xlsx(path, [SheetSpec("Sheet3", needs.rows), SheetSpec("Sheet1", simple_report(three_villages())),
                      SheetSpec("表2", county.rows), SheetSpec("Sheet4", projects.rows)])
    result = load_one(db, path)
    accepted(result)
    assert result.warnings == [], result.warnings
    assert_three_villages(db)
    assert_county(db, dict(identified_civil_servants=1200, selected_cadres=300))
    assert len(fetch(db, "SELECT * FROM needs")) == 4 and len(fetch(db, "SELECT * FROM projects")) == 3
