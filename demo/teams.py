"""The demo's 驻村力量 workbooks (TEAMS_SPEC.md): every prefecture's monthly 驻村人员 / 驻村考勤 workbook for the 24
months 2022-01 … 2023-12, with a 年度考核 sheet for 2022 in January 2023, written beside the progress demo reports.

Calibrated to the scale of Yunnan's posting: three to five key villages and a few others per county, a first
secretary in every key village, work teams of 3–5 in 重点帮扶村 and large resettlement sites, a first secretary alone
in 一般脱贫村 / 软弱涣散村 / 示范创建村; members rotate after two years. Trouble on purpose, drawn by the seed: villages
without the team their type needs, people short of days (some absent without leave, some two months running), a
non-member first secretary, terms about to end and overdue, incomplete household visits by December, one re-sent
month (红河州 2023-11, corrected days). Deterministic: the same seed gives the same workbooks.
"""

from __future__ import annotations

import calendar
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import xlsxwriter

from geo import reference

MONTHS = [date(2022 + i // 12, i % 12 + 1, 1) for i in range(24)]          # 2022-01 … 2023-12
RESENT = ("532500", date(2023, 11, 1))                                      # 红河州's November, re-sent
TYPES = (("重点帮扶村", 0.45), ("易地搬迁安置点", 0.1), ("一般脱贫村", 0.2), ("示范创建村", 0.1), ("软弱涣散村", 0.1),
         ("其他村", 0.05))
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
GIVEN = "建国志明海燕丽华卫东晓红春梅云飞国强永刚秀英德文俊杰玉兰光明红梅小平建华家伟思远子涵雨萱浩然"
UNITS = {"省": ("云南省财政厅", "云南省农业农村厅", "云南省教育厅", "云南省交通运输厅", "云南省卫生健康委"),
         "州市": ("州委组织部", "州农业农村局", "州自然资源局", "州人社局"),
         "县": ("县委办", "县农业农村局", "县乡村振兴局", "县住建局", "县林草局")}
RANKS = ("四级主任科员", "三级主任科员", "一级科员", "副科级", "正科级", "副处级")
ROSTER_HEADER = ["州市", "县市区", "乡镇", "行政村", "村代码", "村类型", "安置点脱贫人口", "全村户数", "姓名", "身份证号",
                 "联系电话", "政治面貌", "入党时间", "参加工作时间", "派出层级", "派出单位", "职级", "驻村身份",
                 "驻村开始日期", "驻村结束日期", "在岗状态", "兼帮扶村"]
ATTENDANCE_HEADER = ["身份证号", "姓名", "月份", "在村天数", "公务外出天数", "请假天数", "未请假离岗天数", "走访农户数",
                     "报销往返次数"]
ASSESSMENT_HEADER = ["身份证号", "姓名", "年度", "考核结果", "参加培训次数", "健康体检", "意外保险"]
_W = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_number(region: str, birth: date, seq: int) -> str:
    body = f"{region}{birth:%Y%m%d}{seq % 1000:03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, _W)) % 11]


def month_end(m: date) -> date:
    return m.replace(day=calendar.monthrange(m.year, m.month)[1])


@dataclass
class Person:
    name: str
    idn: str
    phone: str
    party: str
    party_date: date | None
    work_date: date
    level: str
    unit: str
    rank: str
    role: str
    start: date
    end: date | None = None
    status: str = "在岗"
    trouble: float = 0.0          # chance of a month short of days


@dataclass
class Village:
    prefecture: str
    county: str
    township: str
    name: str
    code: str
    vtype: str
    resettled: int | None
    households: int
    people: list[Person] = field(default_factory=list)
    extra: str = ""
    lazy_visits: bool = False


def _person(rng: random.Random, region: str, seq: int, role: str, start: date, level: str | None = None) -> Person:
    birth = date(rng.randint(1970, 1995), rng.randint(1, 12), rng.randint(1, 28))
    work = date(birth.year + rng.randint(21, 25), rng.choice((7, 8)), 1)
    party = "中共党员" if role.startswith("第一书记") or rng.random() < 0.8 else rng.choice(("群众", "共青团员", "中共预备党员"))
    party_date = date(work.year + rng.randint(0, 4), rng.randint(1, 12), 1) if party in ("中共党员", "中共预备党员") \
        else None
    if party_date and party_date >= start:
        party_date = start - timedelta(days=800)
    level = level or rng.choice(("省", "州市", "县", "县"))
    return Person(rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.5 else ""),
                  id_number(region, birth, seq), f"1{rng.choice('3579')}{rng.randint(0, 999999999):09d}", party,
                  party_date, work, level, rng.choice(UNITS[level]), rng.choice(RANKS), role, start,
                  trouble=0.25 if rng.random() < 0.06 else 0.02)


def build(seed: int) -> dict[str, list[Village]]:
    """Every prefecture's villages and their postings over the 24 months (deterministic)."""
    rng = random.Random(seed ^ 0x7EA45)
    roster = reference.roster()
    counties = reference.counties()
    out: dict[str, list[Village]] = {}
    seq = 0
    for pref in reference.prefectures()["code"].to_list():
        villages = []
        for county in counties.filter(counties["prefecture_code"] == pref)["code"].to_list():
            pool = roster.filter(roster["county_code"] == county)
            picks = rng.sample(range(pool.height), min(pool.height, rng.randint(3, 6)))
            for i in picks:
                r = pool.row(i, named=True)
                vtype = rng.choices([t for t, _ in TYPES], [w for _, w in TYPES])[0]
                resettled = rng.choice((60, 250, 800, 1500)) if vtype == "易地搬迁安置点" else None
                villages.append(Village(pref, reference.county_name(county), r["township_name"], r["village_name"],
                                        r["village_code"], vtype, resettled, rng.randint(80, 600)))
        for k, v in enumerate(villages):
            region = v.code[:6]
            big = v.vtype == "重点帮扶村" or (v.resettled or 0) >= 500
            needs_fs = big or v.vtype in ("一般脱贫村", "软弱涣散村", "示范创建村") or (v.resettled or 0) >= 100
            size = rng.randint(3, 5) if big else (1 if needs_fs else rng.choice((0, 1)))
            # Trouble: a team short of people, a village left without its first secretary.
            if big and rng.random() < 0.08:
                size = 2
            no_fs = needs_fs and not big and rng.random() < 0.06
            # Posting starts spread over the two years before the demo, so terms end during it (rotation).
            start = date(2020, 3, 1) + timedelta(days=rng.randint(0, 700))
            for j in range(size):
                seq += 1
                role = ("第一书记兼工作队长" if big else "第一书记") if j == 0 and not no_fs else "工作队员"
                v.people.append(_person(rng, region, seq, role, start if j == 0 else start + timedelta(
                    days=rng.randint(0, 200))))
            if v.people and v.people[0].role.startswith("第一书记") and rng.random() < 0.03:
                v.people[0].party = "群众"        # a first secretary who is not a party member
                v.people[0].party_date = None
            v.lazy_visits = rng.random() < 0.15
            # Rotation: a person whose two years ended before the last months is replaced (most), or overstays.
            for p in list(v.people):
                term_end = p.start.replace(year=p.start.year + 2)
                if term_end < MONTHS[-1] and rng.random() < 0.92:
                    p.end, p.status = term_end, "期满轮换"
                    seq += 1
                    successor = _person(rng, region, seq, p.role, term_end + timedelta(days=1), p.level)
                    v.people.append(successor)
        # A team that helps other villages of its county (some more than two).
        for v in villages:
            if v.vtype == "重点帮扶村" and rng.random() < 0.15:
                others = [o.name for o in villages if o.county == v.county and o is not v
                          and reference.lookup_village(o.code[:6], None, o.name) == o.code]
                if others:
                    v.extra = "、".join(rng.sample(others, min(len(others), rng.choice((1, 2, 3)))))
        out[pref] = villages
    return out


def _in_month(p: Person, m: date) -> int:
    lo, hi = max(p.start, m), min(p.end or month_end(m), month_end(m))
    return max((hi - lo).days + 1, 0)


def _attendance(rng: random.Random, v: Village, p: Person, m: date, days: int) -> list:
    short = rng.random() < p.trouble
    absent = rng.randint(1, 4) if short and rng.random() < 0.3 else 0
    need = -(-20 * days // calendar.monthrange(m.year, m.month)[1])
    counted = rng.randint(max(0, need - 6), need - 1) if short and need else min(days, need + rng.randint(0, 4))
    absent = min(absent, max(days - counted, 0))
    official = min(counted, rng.randint(0, 3))
    leave = min(max(days - counted - absent, 0), rng.randint(0, 2))
    visits = max(0, int(v.households / (len(v.people) * 10) * (0.4 if v.lazy_visits else 2.2)))
    return [p.idn, p.name, f"{m:%Y-%m}", counted - official, official, leave, absent, rng.randint(visits // 2, visits + 2),
            rng.randint(0, 3)]


def workbook_rows(villages: list[Village], m: date, seed: int, resent: bool = False):
    """(roster rows, attendance rows, assessment rows or None) of one prefecture's month."""
    rng = random.Random(hash((seed, villages[0].prefecture if villages else "", m.toordinal(), resent)) & 0xFFFFFFFF)
    pref_name = reference.prefecture_name(villages[0].prefecture) if villages else ""
    roster, attendance = [], []
    for v in villages:
        for p in v.people:
            days = _in_month(p, m)
            if days == 0:
                continue
            ended = p.end is not None and p.end <= month_end(m)
            roster.append([pref_name, v.county, v.township, v.name, v.code, v.vtype, v.resettled or "", v.households,
                           p.name, p.idn, p.phone, p.party, p.party_date or "", p.work_date, p.level, p.unit, p.rank,
                           p.role, p.start, p.end if ended else "", p.status if ended else "在岗",
                           v.extra if p.role.startswith("第一书记") else ""])
            row = _attendance(rng, v, p, m, days)
            if resent:
                row[3] = min(row[3] + 1, days - sum(row[4:7]))   # the correction: a day more in the village
            attendance.append(row)
    assessment = None
    if m == date(2023, 1, 1):
        assessment = []
        year_end = date(2022, 12, 31)
        for v in villages:
            for p in v.people:
                if p.start <= date(2022, 7, 1) and (p.end is None or p.end > year_end) and rng.random() < 0.95:
                    assessment.append([p.idn, p.name, 2022, rng.choice(("优秀", "称职", "称职", "称职")),
                                       rng.choice((0, 1, 2, 2, 3)), "是" if rng.random() < 0.95 else "否", "是"])
    return roster, attendance, assessment


def _write(path: Path, title: str, sheets: list[tuple[str, list, list]]) -> None:
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    wb.set_properties({"created": date(2024, 1, 1)})
    fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    for name, header, rows in sheets:
        ws = wb.add_worksheet(name)
        ws.write_string(0, 0, title)
        ws.write_row(1, 0, header)
        for r, row in enumerate(rows, start=2):
            for c, value in enumerate(row):
                if value is None or value == "":
                    continue
                if isinstance(value, date):
                    ws.write_datetime(r, c, value, fmt)
                elif isinstance(value, (int, float)):
                    ws.write_number(r, c, value)
                else:
                    ws.write_string(r, c, value)
    wb.close()


def write_teams(out_dir: Path, seed: int) -> list[Path]:
    """Every prefecture's 24 monthly workbooks (and the re-sent one) into out_dir/驻村力量/; their paths."""
    folder = Path(out_dir) / "驻村力量"
    folder.mkdir(parents=True, exist_ok=True)
    plan = build(seed)
    paths = []
    for pref, villages in plan.items():
        common = reference.prefectures().filter(reference.prefectures()["code"] == pref)["common_name"][0]
        for m in MONTHS:
            versions = [False, True] if (pref, m) == RESENT else [False]
            for resent in versions:
                roster, attendance, assessment = workbook_rows(villages, m, seed, resent)
                sheets = [("驻村人员", ROSTER_HEADER, roster), ("驻村考勤", ATTENDANCE_HEADER, attendance)]
                if assessment is not None:
                    sheets.append(("年度考核", ASSESSMENT_HEADER, assessment))
                suffix = "_更正" if resent else ""
                path = folder / f"{common}_驻村力量_{m:%Y%m}{suffix}.xlsx"
                _write(path, f"{common}驻村力量月报（{m.year}年{m.month}月）", sheets)
                paths.append(path)
    return paths
