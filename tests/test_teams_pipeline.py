"""驻村力量 workbooks through the real pipeline (pipelines.ingest → pipelines/kinds/teams → warehouse/parts/teams):
tolerated variations (REPORT_SPEC §3), every refusal of TEAMS_SPEC §2 with file / sheet / 第N行 / column / value in
Chinese and the ID number masked, duplicates, corrections, out-of-order months, and a progress report beside them.
Every file is a real .xlsx / .xls / .csv written to disk.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from reportfiles import SheetSpec, fetch, load, load_one, simple_report, three_villages, warehouse_state, write_report
from teamfiles import (
    ASSESSMENT_HEADER, ATTENDANCE_HEADER, ROSTER_HEADER, attend, attendance_of, bad_check_digit, make_id, person,
    team_of_three, workbook,
)

LIMIT = date(2022, 12, 31)
NAME = "红河州_驻村力量_202203.xlsx"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "w.duckdb"


def ok(db: Path, *paths: Path, expect: str = "accepted"):
    results = load(db, *paths, as_of_limit=LIMIT)
    for r in results:
        assert r.status == expect, (r.file_name, r.errors)
    return results


def members(db: Path) -> list[dict]:
    return fetch(db, "SELECT * FROM team_members ORDER BY name")


# ------------------------------------------------------------------------------------------------ accepted


@pytest.mark.parametrize("suffix", [".xlsx", ".xls"])
def test_workbook_loads_with_masked_numbers_and_opaque_keys(db, tmp_path, suffix):
    roster = team_of_three()
    path = workbook(tmp_path / f"红河州_驻村力量_202203{suffix}", roster, attendance_of(roster, days=21))
    (result,) = ok(db, path)
    assert result.as_of == date(2022, 3, 31) and result.prefecture_code == "532500"
    rows = members(db)
    assert [r["name"] for r in rows] == ["张三", "李四", "王五"]
    assert {r["village_code"] for r in rows} == {"532504001001"}
    ids = {make_id(1), make_id(2), make_id(3)}
    for r in rows:
        assert r["id_masked"] == r_id_masked(r, ids) and r["phone_masked"] == "138****5678"
        assert r["person_key"] not in ids and len(r["person_key"]) == 16
        assert not any(isinstance(v, str) and v in ids for v in r.values())
    assert "id_number" not in rows[0] and "phone" not in rows[0]
    att = fetch(db, "SELECT * FROM team_attendance")
    assert {(a["days_counted"], a["days_required"], a["meets_rule"]) for a in att} == {(21, 20, True)}


def r_id_masked(row: dict, ids: set[str]) -> str:
    match = [i for i in ids if i.endswith(row["id_masked"][-4:])]
    assert len(match) == 1
    return match[0][:6] + "********" + match[0][-4:]


def test_tolerated_variations(db, tmp_path):
    """Aliases and another column order, 序号, title and footer rows, traditional characters, full-width digits,
    short forms of the closed lists, months written three ways, dates as text, a hidden and a foreign sheet."""
    header = ["序号", "姓名", "公民身份号码", "手机号码", "县（市、区）", "乡（镇、街道）", "村（社区）", "帮扶村类型", "农户数",
              "政治面貌", "入党日期", "工作时间", "选派层级", "选派单位", "驻村职务", "到村时间", "状态"]
    roster = [
        [1, "張三", make_id(1), "１３８１２３４５６７８", "彌勒市", "彌陽街道", "城東社區", "重点帮扶村", "１,２０", "党员",
         "2010年7月1日", "2008.8.1", "省派", "云南省财政厅", "第一书记", "2021/6/1", "在岗"],
        [2, "李四", make_id(2), "", "弥勒市", "弥阳街道", "城东社区", "重点帮扶村", "120", "预备党员", "2021-01-05",
         "2015-07-01", "州派", "红河州农业农村局", "工作队员", "2021-06-01", ""],
        [3, "王五", make_id(3), "0873-1234567", "弥勒市", "弥阳街道", "城东社区", "重点帮扶村", "120", "团员", "", "2016-07-01",
         "县派", "弥勒市人社局", "工作队员", "2021-06-01", "在崗"],
    ]
    att_header = ["姓名", "公民身份号码", "考勤月份", "驻村天数", "因公外出天数", "请销假天数", "脱岗天数", "入户走访户数",
                  "往返交通次数"]
    attendance = [["張三", make_id(1), "2022年3月", "２０", "2", "0", "—", "15", "3"],
                  ["李四", make_id(2), "202203", "18", "2", "1", "", "8", "1"],
                  ["王五", make_id(3), "2022-03-15", "19", "", "", "", "", ""]]
    rows = [["红河州驻村力量月报（2022年3月）"], ["填报单位：红河州驻村办"], header, *roster, ["合计"],
            ["注：本表按月报送"], ["填表人：李四  审核人：王五"]]
    att_rows = [["红河州驻村考勤（2022年3月）"], att_header, *attendance, ["填表人：李四"]]
    path = tmp_path / "红河州_驻村力量_2022年3月.xlsx"
    from reportfiles import write_xlsx
    write_xlsx(path, [SheetSpec("人员名册", rows), SheetSpec("考勤表", att_rows),
                      SheetSpec("说明", [["本表说明"], ["无"]]), SheetSpec("旧表", [["x", "y"], [1, 2]], hidden=True)])
    (result,) = ok(db, path)
    assert any("说明" in w for w in result.warnings) and any("隐藏" in w for w in result.warnings)
    rows = {r["name"]: r for r in members(db)}
    assert set(rows) == {"张三", "李四", "王五"}
    assert rows["张三"]["party_status"] == "中共党员" and rows["李四"]["party_status"] == "中共预备党员"
    assert rows["王五"]["party_status"] == "共青团员" and rows["王五"]["status"] == "在岗"
    assert [rows[n]["sending_level"] for n in ("张三", "李四", "王五")] == ["省", "州市", "县"]
    assert rows["张三"]["village_code"] == "532504001001" and rows["张三"]["households"] == 120
    assert rows["张三"]["phone_masked"] == "138****5678" and rows["王五"]["phone_masked"] == "********4567"
    assert rows["张三"]["start_date"] == date(2021, 6, 1) and rows["张三"]["party_date"] == date(2010, 7, 1)
    att = {a["name"]: a for a in fetch(db, "SELECT * FROM team_attendance")}
    assert {n: a["month"] for n, a in att.items()} == {n: date(2022, 3, 1) for n in ("张三", "李四", "王五")}
    assert (att["张三"]["days_counted"], att["张三"]["days_absent"], att["张三"]["trips"]) == (22, None or 0, 3)
    assert (att["李四"]["days_counted"], att["李四"]["days_leave"]) == (20, 1)
    assert (att["王五"]["days_counted"], att["王五"]["meets_rule"]) == (19, False)


def test_csv_holds_one_sheet_and_is_refused_naming_the_missing_one(db, tmp_path):
    roster = team_of_three()
    path = workbook(tmp_path / "红河州_驻村力量_202203.csv", roster, [])
    (result,) = load(db, path, as_of_limit=LIMIT)
    assert result.status == "refused"
    assert any("缺少必需的工作表「驻村考勤」" in e for e in result.errors), result.errors


def test_sheets_told_apart_from_a_progress_report_in_the_same_batch(db, tmp_path):
    roster = team_of_three()
    teams = workbook(tmp_path / NAME, roster, attendance_of(roster))
    progress = write_report(tmp_path / "红河州_20220331.xlsx", simple_report(three_villages()))
    ok(db, progress, teams)
    kinds = fetch(db, "SELECT file_name, kind FROM reports ORDER BY report_id")
    assert [k["kind"] for k in kinds] == ["progress", "teams"]
    assert len(fetch(db, "SELECT * FROM village_status")) == 3 and len(members(db)) == 3


# ------------------------------------------------------------------------------------------------ refused

def _refused(db, path) -> list[str]:
    before = warehouse_state(db) if db.exists() else None
    (result,) = load(db, path, as_of_limit=LIMIT)
    assert result.status == "refused", result
    if before is not None:
        after = warehouse_state(db)
        assert {k: v for k, v in after.items() if k != "reports"} == \
            {k: v for k, v in before.items() if k != "reports"}
    assert not fetch(db, "SELECT r.* FROM team_roster_rows r JOIN reports t USING (report_id) WHERE t.status = 'refused'")
    return result.errors


def _one(errors: list[str], *parts: str) -> str:
    hits = [e for e in errors if all(p in e for p in parts)]
    assert hits, (parts, errors)
    return hits[0]


REFUSALS = {
    # case: (roster edit, attendance edit, expected parts of one reason)
    "check digit": (lambda r: r[0].__setitem__(9, bad_check_digit(r[0][9])), None,
                    ("驻村人员", "第3行", "身份证号", "532501********", "校验位")),
    "duplicate id": (lambda r: r[2].__setitem__(9, r[1][9]), None, ("驻村人员", "第5行", "身份证号", "与第4行的身份证号重复")),
    "party date": (lambda r: r[1].__setitem__(12, ""), None, ("驻村人员", "第4行", "入党时间", "中共党员，必须填写入党时间")),
    "closed list": (lambda r: r[1].__setitem__(17, "驻村干部"), None, ("第4行", "驻村身份", "「驻村干部」不是有效的取值")),
    "village type": (lambda r: r[0].__setitem__(5, "贫困村"), None, ("第3行", "村类型", "「贫困村」")),
    "end before start": (lambda r: (r[1].__setitem__(19, date(2021, 5, 1)), r[1].__setitem__(20, "召回")), None,
                         ("第4行", "驻村结束日期", "2021-05-01 早于驻村开始日期 2021-06-01")),
    "extra village elsewhere": (lambda r: r[0].__setitem__(21, "宝华社区"), None,
                                ("第3行", "兼帮扶村", "「宝华社区」不是本人所在县（弥勒市）的村")),
    "unknown county": (lambda r: r[0].__setitem__(1, "无此县"), None, ("第3行", "县市区", "「无此县」")),
    "other prefecture county": (lambda r: r[0].__setitem__(1, "红塔区"), None, ("第3行", "县市区", "属于玉溪市")),
    "resettlement needs population": (lambda r: r[0].__setitem__(5, "易地搬迁安置点"), None,
                                      ("第3行", "安置点脱贫人口", "必须填写")),
    "future start date": (lambda r: r[0].__setitem__(18, date(2023, 1, 5)), None,
                          ("第3行", "驻村开始日期", "晚于今天（2022-12-31）")),
    "not in post without an end date": (lambda r: r[1].__setitem__(20, "召回"), None,
                                        ("第4行", "在岗状态为「召回」，必须填写驻村结束日期")),
    # An end date later in the file's month is a planned departure; one before the month contradicts 在岗.
    "in post with an end date": (lambda r: r[1].__setitem__(19, date(2022, 2, 15)), None,
                                 ("第4行", "在岗状态", "「在岗」与驻村结束日期 2022-02-15 矛盾")),
    "party status": (lambda r: r[1].__setitem__(11, "无党派人士"), None, ("第4行", "政治面貌", "「无党派人士」不是有效的取值")),
    "sending level": (lambda r: r[1].__setitem__(14, "乡"), None, ("第4行", "派出层级", "「乡」不是有效的取值")),
    "status": (lambda r: r[1].__setitem__(20, "借调"), None, ("第4行", "在岗状态", "「借调」不是有效的取值")),
    "phone": (lambda r: r[0].__setitem__(10, "12345"), None, ("第3行", "联系电话", "不是11位手机号码或固定电话")),
    "unknown person": (None, lambda a: a.append(attend(9, "赵九")),
                       ("驻村考勤", "第6行", "身份证号", "532501********", "不在本文件的驻村人员表中")),
    "month outside posting": (None, lambda a: a.append(attend(1, "张三", month="2021-05", days=3)),
                              ("驻村考勤", "第6行", "月份", "2021-05不在该人的驻村期间")),
    "days over": (None, lambda a: a[0].__setitem__(3, 30) or a[0].__setitem__(6, 2),
                  ("驻村考勤", "第3行", "在村天数", "合计 32 天，超过", "在岗天数 31 天")),
    "later month in file": (None, lambda a: a.append(attend(1, "张三", month="2022-04")),
                            ("驻村考勤", "第6行", "月份", "2022-04 晚于本文件的报送月份 2022-03")),
    "bad number": (None, lambda a: a[1].__setitem__(3, "二十"), ("驻村考勤", "第4行", "在村天数", "「二十」不是整数")),
    "name mismatch": (None, lambda a: a[1].__setitem__(1, "李思"), ("第4行", "姓名", "「李思」与驻村人员表")),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_refusal_names_file_sheet_row_column_and_value(db, tmp_path, case):
    edit_roster, edit_att, parts = REFUSALS[case]
    roster = team_of_three()
    attendance = attendance_of(roster)
    if edit_roster:
        edit_roster(roster)
    if edit_att:
        edit_att(attendance)
    errors = _refused(db, workbook(tmp_path / NAME, roster, attendance))
    reason = _one(errors, NAME, *parts)
    for idn in (make_id(1), make_id(2), make_id(3), make_id(9), bad_check_digit(make_id(1))):
        assert idn not in " ".join(errors), "an ID number in a refusal must be masked"
    assert reason


def test_future_month_refused(db, tmp_path):
    roster = team_of_three()
    errors = _refused(db, workbook(tmp_path / "红河州_驻村力量_202303.xlsx", roster,
                                   attendance_of(roster, month="2023-03")))
    _one(errors, "报送月份 2023-03 晚于本月")


def test_missing_sheet_and_columns_all_named(db, tmp_path):
    roster = team_of_three()
    header = [h for h in ROSTER_HEADER if h not in ("驻村身份", "政治面貌")]
    cut = [[v for h, v in zip(ROSTER_HEADER, r) if h in header] for r in roster]
    from reportfiles import write_xlsx
    path = write_xlsx(tmp_path / NAME, [SheetSpec("驻村人员", [header, *cut])])
    errors = _refused(db, path)
    _one(errors, "缺少必需的工作表「驻村考勤」")
    _one(errors, "驻村人员", "缺少必需的列「驻村身份」")
    _one(errors, "驻村人员", "缺少必需的列「政治面貌」")


def test_two_prefectures_refused(db, tmp_path):
    roster = team_of_three()
    roster.append(person(4, "赵六", prefecture="玉溪市", county="红塔区", township="玉兴街道", village="荷花社区"))
    errors = _refused(db, workbook(tmp_path / "驻村力量_202203.xlsx", roster, attendance_of(roster)))
    _one(errors, "一个文件只能报送一个州（市）")


def test_every_reason_listed_not_only_the_first(db, tmp_path):
    roster = team_of_three()
    roster[0][9] = bad_check_digit(roster[0][9])
    roster[1][17] = "驻村干部"
    attendance = attendance_of(roster)
    attendance[2][3] = -1
    errors = _refused(db, workbook(tmp_path / NAME, roster, attendance))
    _one(errors, "第3行", "身份证号")
    _one(errors, "第4行", "驻村身份")
    _one(errors, "驻村考勤", "第5行", "在村天数", "为负数")


# ------------------------------------------------------------------------------------------------ loading again


def test_duplicate_correction_and_out_of_order_months(db, tmp_path):
    roster = team_of_three()
    march = workbook(tmp_path / "红河州_驻村力量_202203.xlsx", roster, attendance_of(roster, days=22))
    april = workbook(tmp_path / "红河州_驻村力量_202204.xlsx", roster, attendance_of(roster, month="2022-04", days=21))
    ok(db, april)          # April first, March after: out of order
    ok(db, march)
    (dup,) = load(db, march, as_of_limit=LIMIT)
    assert dup.status == "duplicate"
    # The current roster is April's whatever the load order.
    assert {r["as_of"] for r in members(db)} == {date(2022, 4, 30)}
    # March re-sent: 张三 had 15 days. The whole month is replaced.
    fixed = attendance_of(roster, days=22)
    fixed[0][3] = 15
    resent = workbook(tmp_path / "红河州_驻村力量_202203_更正.xlsx", roster, fixed)
    (r,) = load(db, resent, as_of_limit=LIMIT)
    assert r.status == "superseded" and r.replaced_report_id is not None
    march_days = {a["name"]: a["days_in_village"] for a in fetch(
        db, "SELECT * FROM team_attendance WHERE month = DATE '2022-03-01'")}
    assert march_days == {"张三": 15, "李四": 22, "王五": 22}
    assert len(fetch(db, "SELECT * FROM team_attendance")) == 6
    # A March row inside a later (May) file replaces that person-month only.
    may_att = attendance_of(roster, month="2022-05", days=20) + [attend(2, "李四", month="2022-03", days=12, idn=make_id(2))]
    ok(db, workbook(tmp_path / "红河州_驻村力量_202205.xlsx", roster, may_att))
    march_days = {a["name"]: a["days_in_village"] for a in fetch(
        db, "SELECT * FROM team_attendance WHERE month = DATE '2022-03-01'")}
    assert march_days == {"张三": 15, "李四": 12, "王五": 22}


def test_attendance_for_a_person_of_an_earlier_roster(db, tmp_path):
    """A person who left in March is not in April's roster; a correction of their March row in April's file matches
    the warehouse. An ID number no roster ever held refuses the file at load, with the reason."""
    roster = team_of_three()
    roster.append(person(4, "赵六", end=date(2022, 3, 20), status="召回"))
    march = attendance_of(roster[:3]) + [attend(4, "赵六", days=15)]
    ok(db, workbook(tmp_path / "红河州_驻村力量_202203.xlsx", roster, march))
    april = attendance_of(roster[:3], month="2022-04") + [attend(4, "赵六", month="2022-03", days=18)]
    ok(db, workbook(tmp_path / "红河州_驻村力量_202204.xlsx", roster[:3], april))
    (row,) = fetch(db, "SELECT * FROM team_attendance WHERE name = '赵六'")
    assert (row["days_in_village"], row["days_in_post"], row["days_required"]) == (18, 20, 13)
    bad = attendance_of(roster[:3], month="2022-05") + [attend(8, "钱八", month="2022-04", days=3)]
    errors = _refused(db, workbook(tmp_path / "红河州_驻村力量_202205.xlsx", roster[:3], bad))
    _one(errors, "红河州_驻村力量_202205.xlsx", "驻村考勤", "第6行", "身份证号", "532501********",
         "也不是红河哈尼族彝族自治州已报送的驻村人员")
    assert make_id(8) not in " ".join(errors)


def test_missing_attendance_is_a_warning(db, tmp_path):
    roster = team_of_three()
    (r,) = ok(db, workbook(tmp_path / NAME, roster, attendance_of(roster[:2])))
    warning = _one(r.warnings, "漏报考勤", "王五")
    assert make_id(3) not in warning and "532501********" in warning


def test_assessment_sheet_loads(db, tmp_path):
    roster = team_of_three()
    assessment = [[make_id(1), "张三", 2021, "优秀", 2, "是", "是"], [make_id(2), "李四", 2021, "称职", 0, "否", "是"]]
    ok(db, workbook(tmp_path / NAME, roster, attendance_of(roster), assessment))
    rows = fetch(db, "SELECT year, result, trainings, health_check FROM team_assessment_rows ORDER BY result")
    assert rows == [{"year": 2021, "result": "优秀", "trainings": 2, "health_check": True},
                    {"year": 2021, "result": "称职", "trainings": 0, "health_check": False}]
    assert ASSESSMENT_HEADER and ATTENDANCE_HEADER


def test_dates_of_the_last_century(db, tmp_path):
    """入党时间 and 参加工作时间 go back to the 1990s: Excel dates and text both load."""
    roster = team_of_three(party_date=date(1998, 9, 1), work_date=date(1995, 7, 1))
    roster[1][12], roster[1][13] = "1997年7月1日", "1993.8.1"
    ok(db, workbook(tmp_path / NAME, roster, attendance_of(roster)))
    rows = fetch(db, "SELECT name, party_date, work_date FROM team_members ORDER BY name")
    assert {r["name"]: (r["party_date"], r["work_date"]) for r in rows} == {
        "张三": (date(1998, 9, 1), date(1995, 7, 1)), "李四": (date(1997, 7, 1), date(1993, 8, 1)),
        "王五": (date(1998, 9, 1), date(1995, 7, 1))}
