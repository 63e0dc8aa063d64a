"""Writing real 驻村力量 workbooks for tests (TEAMS_SPEC §1): valid ID numbers, roster and attendance rows by
keyword, written as .xlsx / .xls / .csv through tests/reportfiles.py's writers.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from reportfiles import SheetSpec, write_csv, write_xls, write_xlsx

ROSTER_HEADER = ["州市", "县市区", "乡镇", "行政村", "村代码", "村类型", "安置点脱贫人口", "全村户数", "姓名", "身份证号",
                 "联系电话", "政治面貌", "入党时间", "参加工作时间", "派出层级", "派出单位", "职级", "驻村身份",
                 "驻村开始日期", "驻村结束日期", "在岗状态", "兼帮扶村"]
ATTENDANCE_HEADER = ["身份证号", "姓名", "月份", "在村天数", "公务外出天数", "请假天数", "未请假离岗天数", "走访农户数",
                     "报销往返次数"]
ASSESSMENT_HEADER = ["身份证号", "姓名", "年度", "考核结果", "参加培训次数", "健康体检", "意外保险"]

_W = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def make_id(seq: int, region: str = "532501", birth: str = "19850312") -> str:
    """A valid 18-character ID number (GB 11643 check character)."""
    body = f"{region}{birth}{seq % 1000:03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, _W)) % 11]


def bad_check_digit(idn: str) -> str:
    last = "0" if idn[-1] != "0" else "1"
    return idn[:17] + last


def person(seq: int = 1, name: str = "张三", county: str = "弥勒市", township: str = "弥阳街道",
           village: str = "城东社区", code: str = "", vtype: str = "重点帮扶村", resettled="", households=120,
           phone="13812345678", party="中共党员", party_date=date(2010, 7, 1), work_date=date(2008, 8, 1),
           level="省", unit="云南省财政厅", rank="四级主任科员", role="工作队员", start=date(2021, 6, 1), end=None,
           status="在岗", extra="", prefecture="红河州", idn: str | None = None) -> list:
    return [prefecture, county, township, village, code, vtype, resettled, households, name, idn or make_id(seq),
            phone, party, party_date or "", work_date or "", level, unit, rank, role, start, end or "", status, extra]


def attend(seq: int = 1, name: str = "张三", month: str = "2022-03", days: int = 22, official: int = 0,
           leave: int = 0, absent: int = 0, visits: int = 10, trips: int = 1, idn: str | None = None) -> list:
    return [idn or make_id(seq), name, month, days, official, leave, absent, visits, trips]


def team_of_three(village: str = "城东社区", first: int = 1, **kw) -> list[list]:
    """A first secretary and two members in one village."""
    return [person(first, "张三", village=village, role="第一书记兼工作队长", **kw),
            person(first + 1, "李四", village=village, **kw),
            person(first + 2, "王五", village=village, **kw)]


def attendance_of(roster: list[list], month: str = "2022-03", days: int = 22, **kw) -> list[list]:
    return [attend(name=r[8], idn=r[9], month=month, days=days, **kw) for r in roster]


def workbook(path: Path, roster: list[list], attendance: list[list], assessment: list[list] | None = None,
             title: str | None = "红河州驻村力量月报", roster_header: list[str] | None = None,
             attendance_header: list[str] | None = None, names=("驻村人员", "驻村考勤", "年度考核"),
             more: tuple[SheetSpec, ...] = ()) -> Path:
    """A workbook by suffix (.xlsx / .xls): roster, attendance (and assessment) sheets, each with a title row."""
    def rows(header, data):
        return ([[title]] if title else []) + [list(header)] + data

    sheets = [SheetSpec(names[0], rows(roster_header or ROSTER_HEADER, roster)),
              SheetSpec(names[1], rows(attendance_header or ATTENDANCE_HEADER, attendance))]
    if assessment is not None:
        sheets.append(SheetSpec(names[2], rows(ASSESSMENT_HEADER, assessment)))
    sheets += list(more)
    if path.suffix.lower() == ".csv":
        return write_csv(path, rows(roster_header or ROSTER_HEADER, roster))
    return (write_xls if path.suffix.lower() == ".xls" else write_xlsx)(path, sheets)


# ------------------------------------------------------------------------------------------------ a small warehouse
# Two months of 红河州 (2022-02, 2022-03), five villages of two counties, eight people; every figure of the views and
# rules can be counted by hand (tests/test_teams_views.py says how).

def small_rosters() -> tuple[list[list], list[list]]:
    a = dict(village="城东社区", vtype="重点帮扶村", households=120)
    b = dict(village="城西社区", vtype="重点帮扶村", households=80)
    c = dict(village="城关社区", vtype="一般脱贫村", households=50)
    d = dict(village="铺田社区", vtype="示范创建村", households=60)
    e = dict(county="个旧市", township="宝华街道", village="青杉里社区", vtype="其他村", households=40)
    feb = [
        person(1, "张三", role="第一书记兼工作队长", extra="铺田社区", **a),
        person(2, "李四", **a),
        person(3, "王五", **a),
        person(4, "赵六", role="第一书记", party="中共预备党员", party_date=date(2020, 1, 1), **b),
        person(5, "钱七", **b),
        person(6, "孙八", **c),
        person(7, "周九", **d),
        person(8, "吴十", **e),
    ]
    mar = [list(r) for r in feb]
    mar[6][19], mar[6][20] = date(2022, 3, 10), "召回"   # 周九 recalled on 10 March
    return feb, mar


def small_attendance() -> tuple[list[list], list[list]]:
    feb_roster, mar_roster = small_rosters()
    ids = {r[8]: r[9] for r in feb_roster}
    feb = [attend(name=n, idn=ids[n], month="2022-02", days=d, visits=v) for n, d, v in (
        ("张三", 20, 20), ("李四", 20, 20), ("王五", 20, 20), ("赵六", 15, 5), ("钱七", 20, 5), ("孙八", 20, 10),
        ("周九", 20, 15), ("吴十", 20, 10))]
    mar = [attend(name="张三", idn=ids["张三"], days=22, visits=30, trips=3),
           attend(name="李四", idn=ids["李四"], days=18, official=2, visits=30, trips=2),
           attend(name="王五", idn=ids["王五"], days=15, absent=2, visits=10, trips=0),
           attend(name="赵六", idn=ids["赵六"], days=19, visits=10),
           attend(name="钱七", idn=ids["钱七"], days=20, visits=10),
           attend(name="周九", idn=ids["周九"], days=8, visits=5),
           attend(name="吴十", idn=ids["吴十"], days=19, visits=10)]       # 孙八: no March row (漏报考勤)
    return feb, mar


def small_warehouse(folder: Path, db: Path) -> Path:
    from reportfiles import load

    folder.mkdir(parents=True, exist_ok=True)
    (feb_r, mar_r), (feb_a, mar_a) = small_rosters(), small_attendance()
    files = [workbook(folder / "红河州_驻村力量_202202.xlsx", feb_r, feb_a),
             workbook(folder / "红河州_驻村力量_202203.xlsx", mar_r, mar_a)]
    for r in load(db, *files, as_of_limit=date(2022, 12, 31)):
        assert r.status == "accepted", r.errors
    return db
