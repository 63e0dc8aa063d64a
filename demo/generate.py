"""The built-in demo: synthetic prefecture reports, calibrated to the published figures, written as real files.

Owns ``write_demo(out_dir, seed)``: for each of Yunnan's 16 prefectures and each of 8 reporting dates (2021-06 …
2023-12) one report file, typed the way that prefecture's office types it, that the pipeline accepts. Same seed,
same bytes.

The villages are real (NBS roster through geo.reference: 12-digit codes, real township and village names); the
figures are synthetic. 12,107 task villages in all: 4,791 scheduled for 2021, 5,507 for 2022 and 1,809 for 2023,
so that 85.06 % are covered after 2022 (DOMAIN.md). Each village has a start day and a duration; its steps done,
stage and status, and every cumulative figure, follow from how far along it is on a reporting date, so progress
and cumulative figures never fall from one date to the next, with one deliberate exception (FIGURE_FALL).

Calibrated exactly (largest-remainder allocation):
- 红河州 at 2021-12-31: 401 task villages, all into the database; 3,845 group members, 10,035 cadre visits,
  3,601 needs, 162,000 villager participations, 134,000 万元 funding.
- 玉溪市 at its last report: 572 villages each with a planning group, 5,647 civil servants in the groups,
  130 councils, 536 meetings; county summary 20,440 identified, 5,647 selected, 9 county and 70 township stations.

Deliberate trouble for the dashboard's alerts: LAGGING_COUNTIES (slow, stages frozen between the last two
reports), LATE_PREFECTURES (last report(s) missing), ZERO_CIVIL_SERVANT_COUNTIES (one village each whose group
has no civil servant), FIGURE_FALL (one cumulative figure that falls once).

How each prefecture's files vary (REPORT_SPEC §3), see PROFILES:
  昆明市   xlsx; title rows (截至2022年3月31日), 序号, 其中 band over 公职人员/乡贤能人, 合计 rows, notes and signature,
           县级汇总, 需求清单
  曲靖市   xlsx; two-row merged headers (编制组人数 over 合计/其中：公职人员, 专项规划 over 产业…), 统计时间：2022.3.28,
           reports on the 28th, ✓/空 flags, the deliberate fall, 县级汇总, 需求清单
  玉溪市   xlsx; calibrated; extra unknown column 联系人, 合计 rows, hidden 下拉选项 sheet, 县级汇总, 项目资金
  保山市   xls; different column order (村代码 first, numeric), 截止日期：2022-03-31, 1/0 flags, 填报说明 sheet, 县级汇总表
  昭通市   xlsx; numbers typed as text with thousands separators, 项目资金（元）, — for not reported, title with the
           date in brackets, 县级汇总, 项目资金; lagging 镇雄县
  丽江市   csv UTF-8 with BOM; one title row (统计时间：2022/3/31), no 州市 column, short village names, empty
           cells for not reported; lagging 宁蒗彝族自治县
  普洱市   xlsx; stage as its name (方案编制), √/空 flags, reports a day early, notes and signature, 县级汇总;
           lagging 澜沧拉祜族自治县
  临沧市   xls; full-width digits in some cells, 截至2022.03.31, 已完成/未完成 flags, 投入资金（万元）, 县级汇总
  楚雄州   xlsx; header aliases (州（市）, 县（市、区）, 乡（镇、街道）, 村（社区）, 所处环节 …), 累计投入（亿元）,
           1/0 flags, reports 3 days after the quarter (but on 31 December), sheet 任务村进度表, 项目资金明细
  红河州   xlsx; calibrated; county short forms (弥勒), 专项规划 band, 合计 row, notes and signature, 县级汇总,
           需求清单, 项目资金
  文山州   xlsx; the date only in a 统计日期 column (Excel dates), 已完成/未完成 flags, hidden 下拉选项 sheet,
           县级汇总; lagging 广南县
  西双版纳州 csv GB18030; no title rows (date from the file name), full prefecture name in the 州市 column,
           misses its last two reports
  大理州   xlsx; 填报说明 sheet first, 统计时间：2022/3/28 (3 days early), 县级汇总, 需求清单
  德宏州   xlsx; everything typed in traditional characters (OpenCC s2t), notes and signature, 县级汇总
  怒江州   xlsx; no 州市 column (the prefecture from the title), 统计时间：2022年3月29日, ✓/空 flags, misses its
           last report
  迪庆州   xlsx; sheets named Sheet1 and 汇总表, / for not reported, numbers with surrounding spaces,
           填报时间：2022-3-31
"""

from __future__ import annotations

import functools
import math
import os
import re
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from geo import reference
from demo.write import SheetSpec, write_file
from warehouse.stages import stage_names

__all__ = [
    "BASE_DATES", "FIGURE_FALL", "HONGHE_2021", "LAGGING_COUNTIES", "LATE_PREFECTURES", "PROFILES",
    "TASK_VILLAGES", "YUXI_FINAL", "ZERO_CIVIL_SERVANT_COUNTIES", "DemoPlan", "build_plan", "report_files",
    "write_demo",
]

DEFAULT_SEED = 20210626

# The province's reporting dates; each prefecture reports on or near them (Profile.report_day).
BASE_DATES = (
    date(2021, 6, 30), date(2021, 9, 30), date(2021, 12, 31), date(2022, 3, 31),
    date(2022, 6, 30), date(2022, 9, 30), date(2022, 12, 31), date(2023, 12, 31),
)
LAST_DATE = BASE_DATES[-1]

# Task villages per year (DOMAIN.md: 4,791 in 2021, 5,507 in 2022, coverage 85.06 % after 2022 → 12,107 in all).
TASK_VILLAGES = {2021: 4791, 2022: 5507, 2023: 1809}

HONGHE, YUXI = "532500", "530400"
# 红河州 at 2021-12-31, its 2021 task villages (DOMAIN.md).
HONGHE_2021 = {"as_of": date(2021, 12, 31), "villages": 401, "group_members": 3845, "cadre_visits": 10035,
               "needs_total": 3601, "villager_participation": 162000, "funding_wan": 134000}
# 玉溪市 at its last report (DOMAIN.md; the meetings "500+").
YUXI_FINAL = {"as_of": LAST_DATE, "villages": 572, "civil_servants": 5647, "identified_civil_servants": 20440,
              "selected_cadres": 5647, "county_stations": 9, "township_stations": 70, "councils": 130,
              "meetings": 536}

# Counties lagging on purpose: 2.2–3× slower, and their stages do not move between their last two reports.
LAGGING_COUNTIES = {
    "530627": "镇雄县",
    "530724": "宁蒗彝族自治县",
    "530828": "澜沧拉祜族自治县",
    "532627": "广南县",
}
# Prefectures whose last report(s) never arrived: code → how many of the last dates are missing.
LATE_PREFECTURES = {"533300": 1, "532800": 2}
# One village in each of these counties (its first 2022 task village by code, a 村委会 before a community) has a
# group without a civil servant.
ZERO_CIVIL_SERVANT_COUNTIES = ("530126", "530581", "532301", "532901", "533102")
# The one cumulative figure that falls: this county's first 2021 task village (by code, as above), in its
# prefecture's report at BASE_DATES[report_index], reports half the cadre visits it would (fewer than the report
# before); the next report is right again.
FIGURE_FALL = {"prefecture_code": "530300", "county_code": "530381", "report_index": 5, "field": "cadre_visits"}

_EPOCH = date(2021, 1, 1)
STEPS = 28

# Cumulative figures: collected between progress a and b (0–1), growing by g a year after the plan is done.
_SHAPES = {
    "cadre_visits": (0.0, 0.9, 0.25),
    "meetings": (0.2, 0.7, 0.1),
    "villager_participation": (0.1, 0.95, 0.2),
    "needs_total": (0.25, 0.6, 0.05),
    "needs_adopted": (0.45, 0.85, 0.05),
    "funding": (0.5, 1.0, 0.6),
}
_PLAN_FIELDS = ("plan_industry", "plan_talent", "plan_culture", "plan_ecology", "plan_organisation")


def _day(d: date) -> int:
    return (d - _EPOCH).days


# ================================================================================================ report profiles


@dataclass(frozen=True)
class Profile:
    """How one prefecture's office types its report (REPORT_SPEC §3)."""

    fmt: str = "xlsx"                       # xlsx | xls | csv-utf8 (with BOM) | csv-gb18030
    title: bool = True                      # title rows above the table
    date_style: str | None = "cn"           # how the title writes the date (None: not in the title)
    seq: bool = True                        # a 序号 column
    prefecture_form: str | None = "common"  # 州市 column: common | full | short | None (no column)
    county_form: str = "common"             # official | common | short
    village_form: str = "nbs"               # nbs (可邑村民委员会) | cwh (可邑村委会) | short (可邑村)
    code_col: str | None = "text"           # 村代码: text | number | None
    order: tuple[str, ...] | None = None    # column order when not the default
    headers: tuple[tuple[str, str], ...] = ()  # field → header, where not the canonical one
    bands: tuple[str, ...] = ()             # two-row header bands: plans | group | civil
    flags: str = "yesno"                    # yesno | check | radical | bits | done
    money: str = "wan"                      # wan | yuan | yi
    stage_names: bool = False
    number_text: str | None = None          # thousands | fullwidth | spaces
    not_reported: str | None = None         # the marker a few optional cells hold
    total_row: bool = False
    footer: bool = False
    contact: bool = False                   # an extra 联系人 column the contract does not know
    date_col: bool = False                  # a 统计日期 column holding the date (Excel dates)
    traditional: bool = False
    report_day: str = "base"                # base | 28th | minus1 | minus2 | minus3 | plus3
    village_sheet: str = "村庄进度"
    county_sheet: str | None = "县级汇总"
    needs_sheet: bool = False
    projects_sheet: str | None = None
    guide: str | None = None                # 填报说明 sheet: first | last
    hidden_lists: bool = False              # a hidden 下拉选项 sheet


PROFILES: dict[str, Profile] = {
    "530100": Profile(bands=("civil",), total_row=True, footer=True, county_form="official", needs_sheet=True),
    "530300": Profile(date_style="dot", bands=("group", "plans"), flags="check", report_day="28th",
                      village_form="cwh", code_col=None, needs_sheet=True),
    "530400": Profile(contact=True, total_row=True, hidden_lists=True, projects_sheet="项目资金"),
    "530500": Profile(fmt="xls", date_style="dash", code_col="number", flags="bits", guide="last",
                      county_form="official", village_form="cwh", county_sheet="县级汇总表",
                      order=("seq", "village_code", "county", "township", "village", "prefecture", "task_year",
                             "stage", "steps_done", "plan_status", "group_size", "civil_servants", "cadre_visits",
                             "meetings", "villager_participation", "local_talents", "needs_total", "needs_adopted",
                             "council", "plan_industry", "plan_talent", "plan_culture", "plan_ecology",
                             "plan_organisation", "funding", "notes")),
    "530600": Profile(date_style="inline", money="yuan", number_text="thousands", not_reported="—",
                      village_form="cwh", code_col=None, projects_sheet="项目资金"),
    "530700": Profile(fmt="csv-utf8", date_style="slash", prefecture_form=None, village_form="short", code_col=None,
                      seq=False, not_reported="", county_sheet=None),
    "530800": Profile(date_style="data", stage_names=True, flags="radical", report_day="minus1", footer=True,
                      village_form="cwh", code_col=None),
    "530900": Profile(fmt="xls", date_style="dotpad", number_text="fullwidth", flags="done", village_form="short",
                      code_col=None, headers=(("funding", "投入资金（万元）"),)),
    "532300": Profile(flags="bits", money="yi", report_day="plus3", county_form="official", village_form="cwh",
                      code_col=None, village_sheet="任务村进度表", projects_sheet="项目资金明细",
                      headers=(("prefecture", "州（市）"), ("county", "县（市、区）"), ("township", "乡（镇、街道）"),
                               ("village", "村（社区）"), ("task_year", "规划年度"), ("stage", "所处环节"),
                               ("steps_done", "完成步骤"), ("plan_status", "成果状态"),
                               ("group_size", "编制组成员数"), ("civil_servants", "公职人员数"),
                               ("cadre_visits", "干部回乡人次"), ("meetings", "恳谈会场次"),
                               ("villager_participation", "群众参与人次"), ("needs_total", "梳理需求清单"),
                               ("needs_adopted", "纳入规划需求"), ("local_talents", "乡贤能人"),
                               ("council", "是否成立理事会"), ("notes", "说明"))),
    "532500": Profile(county_form="short", bands=("plans",), total_row=True, footer=True, needs_sheet=True,
                      projects_sheet="项目资金"),
    "532600": Profile(date_style=None, date_col=True, flags="done", hidden_lists=True, county_form="official"),
    "532800": Profile(fmt="csv-gb18030", title=False, date_style=None, prefecture_form="full", village_form="short",
                      code_col=None, seq=False, county_sheet=None),
    "532900": Profile(date_style="slash", report_day="minus3", guide="first", county_form="official",
                      needs_sheet=True),
    "533100": Profile(traditional=True, footer=True),
    "533300": Profile(date_style="cnday", prefecture_form=None, flags="check", report_day="minus2",
                      village_form="short", code_col=None),
    "533400": Profile(date_style="fill", not_reported="/", number_text="spaces", village_form="short",
                      code_col=None, village_sheet="Sheet1", county_sheet="汇总表"),
}

DEFAULT_ORDER = (
    "seq", "prefecture", "county", "township", "village", "village_code", "task_year", "stage", "steps_done",
    "plan_status", "group_size", "civil_servants", "local_talents", "cadre_visits", "meetings",
    "villager_participation", "needs_total", "needs_adopted", *_PLAN_FIELDS, "council", "funding", "notes",
)
HEADERS = {
    "seq": "序号", "prefecture": "州市", "county": "县市区", "township": "乡镇", "village": "行政村",
    "village_code": "村代码", "task_year": "任务年度", "stage": "当前环节", "steps_done": "已完成步骤数",
    "plan_status": "规划状态", "group_size": "编制组人数", "civil_servants": "其中公职人员",
    "local_talents": "乡贤能人数", "cadre_visits": "回乡干部人次", "meetings": "座谈会场次",
    "villager_participation": "村民参与人次", "needs_total": "需求清单数", "needs_adopted": "已纳入规划需求数",
    "plan_industry": "产业规划", "plan_talent": "人才规划", "plan_culture": "文化规划", "plan_ecology": "生态规划",
    "plan_organisation": "组织规划", "council": "理事会", "funding": "项目资金（万元）", "notes": "备注",
    "contact": "联系人", "as_of": "统计日期",
}
MONEY_HEADERS = {"wan": "项目资金（万元）", "yuan": "项目资金（元）", "yi": "累计投入（亿元）"}
# Two-row header bands: band → (band text, {field: sub-column text}).
BANDS = {
    "plans": ("专项规划", dict(zip(_PLAN_FIELDS, ("产业", "人才", "文化", "生态", "组织")))),
    "group": ("编制组人数", {"group_size": "合计", "civil_servants": "其中：公职人员"}),
    "civil": ("其中", {"civil_servants": "公职人员", "local_talents": "乡贤能人"}),
}
# Count columns a 合计 row sums.
SUMMED = ("group_size", "civil_servants", "local_talents", "cadre_visits", "meetings", "villager_participation",
          "needs_total", "needs_adopted", "funding")


def report_date(profile: Profile, base: date) -> date:
    """The day a prefecture reports for a base date: a few days early or late, never after 2023-12-31."""
    rule = profile.report_day
    if rule == "28th":
        return base.replace(day=28)
    if rule.startswith("minus"):
        return base - timedelta(days=int(rule[5:]))
    if rule == "plus3":  # a few days into the next month, except at the year's end (the report closes the year)
        return base if base.month == 12 else base + timedelta(days=3)
    return base


# ====================================================================================================== the plan


@dataclass
class PrefecturePlan:
    code: str
    name: str            # 红河哈尼族彝族自治州
    common_name: str     # 红河州
    profile: Profile
    report_indices: list[int]          # indices into BASE_DATES that this prefecture reported
    as_of: dict[int, date]             # base index → the date it reported
    v: dict[str, np.ndarray]           # per task village, in report order
    county_caps: dict[str, int] = field(default_factory=dict)        # township stations at most
    county_identified: dict[str, int] = field(default_factory=dict)  # identified civil servants at the last report
    needs_sample: np.ndarray | None = None      # row positions of villages listed in 需求清单
    projects_sample: np.ndarray | None = None   # row positions of villages listed in 项目资金
    fall_village: int | None = None             # row position of the FIGURE_FALL village
    county_selected_last: dict[str, int] = field(default_factory=dict)  # civil servants in groups, last report

    @property
    def last_index(self) -> int:
        return self.report_indices[-1]


@dataclass
class DemoPlan:
    seed: int
    prefectures: dict[str, PrefecturePlan]

    def files(self) -> list[tuple[str, int]]:
        """(prefecture code, base index) of every report, in prefecture order then date."""
        return [(p.code, k) for p in self.prefectures.values() for k in p.report_indices]


def _largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to weights that add up to total exactly (ties go to the earlier index)."""
    w = np.asarray(weights, dtype=float)
    exact = total * w / w.sum()
    out = np.floor(exact).astype(np.int64)
    short = int(total - out.sum())
    if short:
        order = np.lexsort((np.arange(len(w)), -(exact - out)))
        out[order[:short]] += 1
    return out


def _adjust_sum(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, target: int, rng: np.random.Generator) -> np.ndarray:
    """Move values by ±1 within [lo, hi] at random until they add up to target."""
    x = x.copy()
    while (diff := int(target - x.sum())) != 0:
        room = np.flatnonzero(x < hi) if diff > 0 else np.flatnonzero(x > lo)
        if room.size == 0:
            raise ValueError(f"cannot reach {target} within bounds")
        pick = rng.choice(room, size=min(abs(diff), room.size), replace=False)
        x[pick] += 1 if diff > 0 else -1
    return x


def _progress(v: dict[str, np.ndarray], t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(progress 0–1, years since the plan was done, at most 2) at day t for each village."""
    p = np.clip((t - v["start"]) / v["duration"], 0.0, 1.0)
    e = np.clip((t - (v["start"] + v["duration"])) / 365.0, 0.0, 2.0)
    return p, e


def _shape(metric: str, p: np.ndarray, e: np.ndarray) -> np.ndarray:
    a, b, g = _SHAPES[metric]
    return np.clip((p - a) / (b - a), 0.0, 1.0) + g * e


def _select_villages(pref_code: str, n: int, rng: np.random.Generator) -> pl.DataFrame:
    """n task villages of a prefecture from the roster: villages (村委会) first, then communities, at random;
    a name whose core (可邑村 / 可邑社区 → 可邑) repeats in the county is left out, so names identify villages."""
    ro = reference.roster().filter(pl.col("prefecture_code") == pref_code).sort("village_code")
    core = [reference.village_key_name(x) for x in ro["village_name"]]
    ro = ro.with_columns(core=pl.Series(core),
                         community=pl.col("village_name").str.contains("社区|居民委员会|居委会"))
    ro = ro.filter(~pl.struct("county_code", "core").is_duplicated())
    ro = ro.with_columns(_key=pl.Series(rng.random(ro.height)) + pl.col("community").cast(pl.Float64))
    if ro.height < n:
        raise ValueError(f"{pref_code}: only {ro.height} villages for {n} task villages")
    return ro.sort("_key").head(n).drop("_key")


@functools.lru_cache(maxsize=4)
def build_plan(seed: int = DEFAULT_SEED) -> DemoPlan:
    """Every task village of every prefecture with its schedule and figures; deterministic for a seed."""
    prefs = reference.prefectures()
    county_order = dict(reference.counties().select("code", "sort_order").iter_rows())
    roster = reference.roster().with_columns(
        community=pl.col("village_name").str.contains("社区|居民委员会|居委会"))
    counts = roster.group_by("prefecture_code").agg(
        rural=(~pl.col("community")).sum(), community=pl.col("community").sum())
    counts = dict((c, (r, m)) for c, r, m in counts.iter_rows())
    codes = prefs["code"].to_list()

    # Task villages per prefecture: 玉溪 fixed, the rest in proportion to their villages (communities count less).
    total = sum(TASK_VILLAGES.values())
    others = [c for c in codes if c != YUXI]
    weights = np.array([counts[c][0] + 0.3 * counts[c][1] for c in others])
    n_pref = dict(zip(others, _largest_remainder(total - YUXI_FINAL["villages"], weights).tolist()))
    n_pref[YUXI] = YUXI_FINAL["villages"]
    # Per year: 2021 in proportion (红河 fixed at 401), 2022 in proportion, 2023 the rest.
    not_hh = [c for c in codes if c != HONGHE]
    y21 = dict(zip(not_hh, _largest_remainder(TASK_VILLAGES[2021] - HONGHE_2021["villages"],
                                              np.array([n_pref[c] for c in not_hh])).tolist()))
    y21[HONGHE] = HONGHE_2021["villages"]
    y22 = dict(zip(codes, _largest_remainder(TASK_VILLAGES[2022], np.array([n_pref[c] for c in codes])).tolist()))

    plans: dict[str, PrefecturePlan] = {}
    for code, name, _short, common, _order in prefs.iter_rows():
        rng = np.random.default_rng([seed, int(code)])
        profile = PROFILES[code]
        sel = _select_villages(code, n_pref[code], rng)
        # Years stratified by county: each county gets about its share of every year.
        county = sel["county_code"].to_numpy()
        frac = np.empty(sel.height)
        for c in np.unique(county):
            idx = np.flatnonzero(county == c)
            frac[idx] = (rng.permutation(idx.size) + rng.random(idx.size)) / idx.size
        order = np.argsort(frac, kind="stable")
        year = np.empty(sel.height, dtype=np.int64)
        n21, n22 = y21[code], y22[code]
        year[order[:n21]] = 2021
        year[order[n21:n21 + n22]] = 2022
        year[order[n21 + n22:]] = 2023
        sel = sel.with_columns(task_year=pl.Series(year))
        # Report order: counties in official order, then township and village codes.
        sel = sel.with_columns(_co=pl.col("county_code").replace_strict(county_order, return_dtype=pl.Int32))
        sel = sel.sort("_co", "township_code", "village_code").drop("_co")
        plans[code] = _prefecture_plan(code, name, common, profile, sel, rng)
    _calibrate_honghe(plans[HONGHE], np.random.default_rng([seed, 1]))
    _calibrate_yuxi(plans[YUXI], np.random.default_rng([seed, 2]))
    _place_anomalies(plans)
    for p in plans.values():
        _county_figures(p, np.random.default_rng([seed, int(p.code), 3]))
    return DemoPlan(seed, plans)


def _prefecture_plan(code: str, name: str, common: str, profile: Profile, sel: pl.DataFrame,
                     rng: np.random.Generator) -> PrefecturePlan:
    n = sel.height
    year = sel["task_year"].to_numpy()
    county = sel["county_code"].to_numpy().astype(str)
    lag = np.isin(county, list(LAGGING_COUNTIES))
    hh21 = (code == HONGHE) & (year == 2021)

    # Schedule: start day and duration (days) by task year.
    start = np.select(
        [year == 2021, year == 2022],
        [_day(date(2021, 4, 25)) + rng.integers(0, 50, n), _day(date(2022, 1, 5)) + rng.integers(0, 60, n)],
        _day(date(2023, 1, 5)) + rng.integers(0, 60, n)).astype(float)
    duration = np.select([year == 2021, year == 2022],
                         [rng.uniform(200, 300, n), rng.uniform(260, 380, n)], rng.uniform(230, 320, n))
    straggler = rng.random(n) < 0.05
    duration = np.where(straggler & (code != YUXI), duration * 1.5, duration)
    # 红河's 2021 villages all finish before 2021-12-27 (DOMAIN.md: all 401 compiled and into the database).
    start = np.where(hh21, _day(date(2021, 4, 15)) + rng.integers(0, 30, n), start)
    duration = np.where(hh21, rng.uniform(170, 225, n), duration)
    start = np.where(lag, start + rng.integers(20, 80, n), start)
    duration = np.where(lag, duration * rng.uniform(2.2, 3.0, n), duration)

    group = rng.integers(5, 16, n)
    if code == YUXI:
        group = rng.integers(9, 16, n)
    civil = np.clip(np.round(group * rng.uniform(0.15, 0.5, n)), 1, group).astype(np.int64)
    talents = rng.integers(0, 6, n)
    wealth = {"530100": 1.0, "530400": 0.9, "532500": 1.0, "532900": 0.8, "530300": 0.7}.get(code, 0.5)
    base = {
        "cadre_visits": group * rng.uniform(1.5, 3.5, n),
        "meetings": rng.uniform(2, 9, n),
        "villager_participation": rng.uniform(150, 650, n),
        "needs_total": rng.uniform(4, 15, n),
        "funding": 100 * rng.lognormal(math.log(300 * wealth), 0.6, n),   # in 0.01 万元
    }
    base["needs_adopted"] = base["needs_total"] * rng.uniform(0.6, 0.95, n)
    plan_rate = rng.uniform(0.3, 0.85, 5)
    plan_will = rng.random((5, n)) < plan_rate[:, None]
    plan_thr = rng.uniform(0.55, 1.0, (5, n))
    if code == HONGHE:  # 红河 compiled "1+5": every plan with its five special plans
        plan_will[:] = True
    council_will = rng.random(n) < rng.uniform(0.25, 0.6)
    council_thr = rng.uniform(0.1, 0.6, n)

    v = {
        "village_code": sel["village_code"].to_numpy().astype(str),
        "village_name": sel["village_name"].to_numpy().astype(str),
        "core": sel["core"].to_numpy().astype(str),
        "community": sel["community"].to_numpy(),
        "township": sel["township_name"].to_numpy().astype(str),
        "township_code": sel["township_code"].to_numpy().astype(str),
        "county_code": county,
        "task_year": year,
        "start": start,
        "duration": duration,
        "lagging": lag,
        "group_size": group.astype(np.int64),
        "civil_servants": civil,
        "local_talents": talents.astype(np.int64),
        "council_will": council_will,
        "council_thr": council_thr,
        "plan_will": plan_will,
        "plan_thr": plan_thr,
        "gid": sel["village_code"].cast(pl.Int64).to_numpy(),
    }
    for m, b in base.items():
        v["base_" + m] = b
        v["denom_" + m] = np.ones(n)
    indices = list(range(len(BASE_DATES) - LATE_PREFECTURES.get(code, 0)))
    plan = PrefecturePlan(code, name, common, profile, indices,
                          {k: report_date(profile, BASE_DATES[k]) for k in indices}, v)
    pick = rng.permutation(n)
    plan.needs_sample = np.sort(pick[:30])
    plan.projects_sample = np.sort(pick[30:55])
    return plan


def _calibrate(v: dict, idx: np.ndarray, metric: str, t: int, total: int, weights: np.ndarray) -> None:
    """Make ``metric`` add up to ``total`` over villages ``idx`` on day t, and stay monotone on every other day."""
    p, e = _progress({k: v[k][idx] for k in ("start", "duration")}, np.full(idx.size, float(t)))
    a = _shape(metric, p, e)
    if (a <= 0).any():
        raise ValueError(f"{metric}: a calibrated village has not started collecting on day {t}")
    v["base_" + metric][idx] = _largest_remainder(total, weights).astype(float)
    v["denom_" + metric][idx] = a


def _calibrate_honghe(plan: PrefecturePlan, rng: np.random.Generator) -> None:
    v, t = plan.v, _day(HONGHE_2021["as_of"])
    idx = np.flatnonzero(v["task_year"] == 2021)
    assert idx.size == HONGHE_2021["villages"]
    assert (v["start"][idx] + v["duration"][idx] <= t).all()
    g = _adjust_sum(v["group_size"][idx], np.full(idx.size, 5), np.full(idx.size, 15),
                    HONGHE_2021["group_members"], rng)
    v["group_size"][idx] = g
    v["civil_servants"][idx] = np.clip(v["civil_servants"][idx], 1, g)
    _calibrate(v, idx, "cadre_visits", t, HONGHE_2021["cadre_visits"], g * rng.uniform(1.5, 3.5, idx.size))
    _calibrate(v, idx, "needs_total", t, HONGHE_2021["needs_total"], rng.uniform(4, 14, idx.size))
    _calibrate(v, idx, "villager_participation", t, HONGHE_2021["villager_participation"],
               rng.uniform(200, 600, idx.size))
    _calibrate(v, idx, "funding", t, HONGHE_2021["funding_wan"] * 100, rng.lognormal(0, 0.6, idx.size))
    # Adopted needs: a share of the calibrated needs, on the same footing.
    v["base_needs_adopted"][idx] = v["base_needs_total"][idx] * rng.uniform(0.7, 0.95, idx.size)
    p, e = _progress({k: v[k][idx] for k in ("start", "duration")}, np.full(idx.size, float(t)))
    v["denom_needs_adopted"][idx] = _shape("needs_adopted", p, e)


def _calibrate_yuxi(plan: PrefecturePlan, rng: np.random.Generator) -> None:
    v, t = plan.v, _day(plan.as_of[plan.last_index])
    n = v["task_year"].size
    idx = np.arange(n)
    p, _ = _progress(v, np.full(n, float(t)))
    assert (p * STEPS >= 1).all(), "every 玉溪 village has its group at the last report"
    g = v["group_size"]
    c = np.clip(np.round(g * rng.uniform(0.6, 0.9, n)), 1, g).astype(np.int64)
    v["civil_servants"] = _adjust_sum(c, np.ones(n, dtype=np.int64), g, YUXI_FINAL["civil_servants"], rng)
    _calibrate(v, idx, "meetings", t, YUXI_FINAL["meetings"], rng.uniform(0.5, 1.5, n))
    # Exactly 130 councils, each set up by the last report.
    chosen = np.zeros(n, dtype=bool)
    chosen[rng.choice(n, YUXI_FINAL["councils"], replace=False)] = True
    v["council_will"] = chosen
    v["council_thr"] = np.minimum(v["council_thr"], p)


def _first_village(v: dict, county: str, year: int) -> int:
    """Row position of a county's first task village of a year by code, a village (村委会) before a community."""
    idx = np.flatnonzero((v["county_code"] == county) & (v["task_year"] == year))
    rural = idx[~v["community"][idx]]
    idx = rural if rural.size else idx
    return int(idx[np.argmin(v["village_code"][idx].astype(np.int64))])


def _place_anomalies(plans: dict[str, PrefecturePlan]) -> None:
    for county in ZERO_CIVIL_SERVANT_COUNTIES:
        v = plans[reference.county_prefecture(county)].v
        v["civil_servants"][_first_village(v, county, 2022)] = 0
    plan = plans[FIGURE_FALL["prefecture_code"]]
    plan.fall_village = _first_village(plan.v, FIGURE_FALL["county_code"], 2021)


def _county_figures(plan: PrefecturePlan, rng: np.random.Generator) -> None:
    """Township-station caps and identified civil servants at the last report, per county."""
    last = _state(plan, plan.last_index)
    v = plan.v
    rows = last["rows"]
    counties = list(dict.fromkeys(v["county_code"]))
    active_towns = {c: len({t for t, f in zip(v["township_code"][rows][last["county_code"] == c],
                                               last["formed"][last["county_code"] == c]) if f}) for c in counties}
    selected = {c: int(last["civil_servants"][last["county_code"] == c].sum()) for c in counties}
    if plan.code == YUXI:
        caps = _largest_remainder(YUXI_FINAL["township_stations"], np.array([active_towns[c] for c in counties]))
        plan.county_caps = {c: int(min(k, active_towns[c])) for c, k in zip(counties, caps)}
        assert sum(plan.county_caps.values()) == YUXI_FINAL["township_stations"]
        ident = _largest_remainder(YUXI_FINAL["identified_civil_servants"],
                                   np.array([selected[c] * rng.uniform(3.0, 4.3) for c in counties]))
        plan.county_identified = {c: int(max(k, selected[c])) for c, k in zip(counties, ident)}
        assert sum(plan.county_identified.values()) == YUXI_FINAL["identified_civil_servants"]
    else:
        plan.county_caps = {c: max(1, math.ceil(active_towns[c] * rng.uniform(0.8, 1.0))) for c in counties}
        plan.county_identified = {c: int(round(selected[c] * rng.uniform(2.5, 5.5))) for c in counties}
    plan.county_selected_last = selected


# ================================================================================================ one report's rows


def _state(plan: PrefecturePlan, k: int) -> dict[str, np.ndarray]:
    """Every figure of the villages in the report at base index k (row positions in ``rows``)."""
    v = plan.v
    rows = np.flatnonzero(v["task_year"] <= BASE_DATES[k].year)
    t = np.full(rows.size, float(_day(plan.as_of[k])))
    pos = plan.report_indices.index(k)
    if k == plan.last_index and pos > 0:
        # Lagging counties: nothing moved since the report before (the same figures again).
        prev = plan.report_indices[pos - 1]
        frozen = v["lagging"][rows] & (v["task_year"][rows] <= BASE_DATES[prev].year)
        t = np.where(frozen, float(_day(plan.as_of[prev])), t)
    sub = {key: v[key][rows] for key in ("start", "duration")}
    p, e = _progress(sub, t)
    steps = np.floor(STEPS * p + 1e-9).astype(np.int64)
    # At a stage boundary (4, 8 …) some villages have finished the stage, others have just entered the next one.
    gid = v["gid"][rows]
    entered = ((gid % 9973) * 31 + steps * 17) % 7 < 3
    stage = np.where(steps == 0, 1,
                     np.where(steps == STEPS, 7,
                              np.where(steps % 4 == 0, steps // 4 + entered, (steps + 3) // 4)))
    status = np.select(
        [steps == 0, stage <= 4, stage == 5, (stage == 6) & (steps <= 22), stage == 6, steps == STEPS],
        ["未启动", "编制中", "成果完成", "已审查", "已审批", "已入库"], "已审批")
    formed = steps >= 1
    out = {"rows": rows, "p": p, "e": e, "steps_done": steps, "stage": stage, "plan_status": status,
           "formed": formed, "county_code": v["county_code"][rows], "task_year": v["task_year"][rows]}
    for m in ("group_size", "civil_servants", "local_talents"):
        out[m] = np.where(formed, v[m][rows], 0)
    for m in _SHAPES:
        a = _shape(m, p, e)
        out[m] = np.floor(v["base_" + m][rows] * a / v["denom_" + m][rows] + 1e-9).astype(np.int64)
    out["needs_adopted"] = np.minimum(out["needs_adopted"], out["needs_total"])
    out["funding_cents"] = out.pop("funding")
    out["council"] = v["council_will"][rows] & (p >= v["council_thr"][rows]) & formed
    for j, f in enumerate(_PLAN_FIELDS):
        out[f] = v["plan_will"][j][rows] & (p >= v["plan_thr"][j][rows])
    if plan.fall_village is not None and k == FIGURE_FALL["report_index"]:
        at = np.flatnonzero(rows == plan.fall_village)
        out[FIGURE_FALL["field"]][at] //= 2
    return out


# ----------------------------------------------------------------------------------------------- cell text


_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
_SURNAMES = "李王张刘杨陈赵黄周吴徐孙马朱胡郭何罗高林"
_GIVEN = ("建华", "丽萍", "永刚", "海燕", "正林", "秀英", "志强", "春梅", "国华", "玉兰", "文军", "红梅", "德明", "凤英")


def _person(n: int) -> str:
    return _SURNAMES[n % len(_SURNAMES)] + _GIVEN[(n // 7) % len(_GIVEN)]


def _county_label(profile: Profile, code: str) -> str:
    row = _county_names()[code]
    return {"official": row[0], "short": row[1], "common": row[2]}[profile.county_form]


@functools.lru_cache(maxsize=1)
def _county_names() -> dict[str, tuple[str, str, str]]:
    return {c: (n, s, m) for c, n, s, m in reference.counties().select("code", "name", "short_name", "common_name")
            .iter_rows()}


def _village_label(form: str, name: str, core: str, community: bool) -> str:
    """The village as the office writes it: the NBS name (可邑村民委员会), 可邑村委会 or 可邑村. A name whose core
    already ends in 村 or 社区 (大曼别村村委会) is written in full, as 大曼别村 would name another core."""
    if form == "nbs" or core.endswith(("村", "社区", "居委会")):
        return name
    if community:
        return core + "社区"
    return core + ("村委会" if form == "cwh" else "村")


def _flag(style: str, value: bool, council: bool = False):
    if style == "bits":
        return 1 if value else 0
    if style == "done":
        return ("已成立" if value else "未成立") if council else ("已完成" if value else "未完成")
    if council or style == "yesno":
        return "是" if value else "否"
    mark = "✓" if style == "check" else "√"
    return mark if value else None


def _money(profile: Profile, cents: int):
    if profile.money == "yuan":
        yuan = int(cents) * 100
        return f"{yuan:,}" if profile.number_text == "thousands" else yuan
    if profile.money == "yi":
        return int(cents) / 1_000_000
    return int(cents) / 100


def _date_text(style: str | None, d: date) -> str:
    y, m, dd = d.year, d.month, d.day
    return {
        "cn": f"截至{y}年{m}月{dd}日",
        "cnday": f"统计时间：{y}年{m}月{dd}日",
        "dot": f"统计时间：{y}.{m}.{dd}",
        "dash": f"截止日期：{y}-{m:02d}-{dd:02d}",
        "slash": f"统计时间：{y}/{m}/{dd}",
        "dotpad": f"截至{y}.{m:02d}.{dd:02d}",
        "data": f"数据截至：{y}年{m}月{dd}日",
        "fill": f"填报时间：{y}-{m}-{dd}",
        "inline": f"（截至{y}年{m}月{dd}日）",
    }.get(style or "", "")


def _title_rows(plan: PrefecturePlan, k: int, what: str, width: int) -> tuple[list[list], list[tuple]]:
    """Title rows above a table: the title (merged across), then 填报单位 and the date."""
    profile = plan.profile
    if not profile.title:
        return [], []
    as_of = plan.as_of[k]
    title = f"{plan.common_name}干部规划家乡行动{what}"
    if profile.date_style == "inline":
        title += _date_text("inline", as_of)
    rows = [[title] + [None] * (width - 1)]
    merges = [(0, 0, 0, width - 1)] if width > 1 else []
    if profile.fmt.startswith("csv"):
        line = [f"填报单位：{plan.common_name}项目组"]
        if profile.date_style not in (None, "inline"):
            line.append(_date_text(profile.date_style, as_of))
        return [[title], line], []
    second = [None] * width
    second[0] = f"填报单位：{plan.common_name}干部规划家乡行动项目组（盖章）"
    if profile.date_style not in (None, "inline"):
        second[max(1, width - 5)] = _date_text(profile.date_style, as_of)
    rows.append(second)
    return rows, merges


def _footer_rows(plan: PrefecturePlan, width: int) -> list[list]:
    n = int(plan.code) // 100
    note = [None] * width
    note[0] = "注：1.本表数据均为累计数；2.当前环节按7个环节、已完成步骤数按28个步骤填报；3.项目资金含各级财政和社会投入。"
    sign = [None] * width
    sign[0] = f"填表人：{_person(n)}"
    sign[min(width - 1, 8)] = f"审核人：{_person(n + 3)}"
    sign[min(width - 1, 14)] = f"联系电话：139****{n % 10000:04d}"
    return [[None] * width, note, sign]


def _header_rows(columns: list[str], headers: dict[str, str], bands: tuple[str, ...], top: int
                 ) -> tuple[list[list], list[tuple]]:
    """One header row, or two with bands (a band text merged over its sub-columns, the others merged down)."""
    texts = [headers[c] for c in columns]
    band_of = {}
    for b in bands:
        text, subs = BANDS[b]
        for f in subs:
            if f in columns:
                band_of[f] = b
    if not band_of:
        return [texts], []
    upper, lower, merges = [], [], []
    j = 0
    while j < len(columns):
        b = band_of.get(columns[j])
        if b is None:
            upper.append(texts[j])
            lower.append(None)
            merges.append((top, j, top + 1, j))
            j += 1
            continue
        run = j
        while run < len(columns) and band_of.get(columns[run]) == b:
            run += 1
        text, subs = BANDS[b]
        upper += [text] + [None] * (run - j - 1)
        lower += [subs[columns[i]] for i in range(j, run)]
        if run - j > 1:
            merges.append((top, j, top, run - 1))
        j = run
    return [upper, lower], merges


def _village_columns(profile: Profile) -> list[str]:
    cols = list(profile.order or DEFAULT_ORDER)
    if not profile.seq:
        cols.remove("seq")
    if profile.prefecture_form is None:
        cols.remove("prefecture")
    if profile.code_col is None:
        cols.remove("village_code")
    if profile.contact:
        cols.insert(cols.index("notes"), "contact")
    if profile.date_col:
        cols.insert(cols.index("task_year"), "as_of")
    return cols


def _notes(plan: PrefecturePlan, s: dict, i: int, row: int, k: int) -> str | None:
    v = plan.v
    if v["lagging"][row] and s["p"][i] < 0.9:
        return "进度滞后，已列入督办"
    if s["formed"][i] and s["civil_servants"][i] == 0:
        return "暂未落实在外公职人员"
    if s["steps_done"][i] == 0:
        return "尚未启动"
    h = (int(v["gid"][row]) // 3 + k * 7) % 61
    return {0: "编制组成员调整", 1: "雨季道路中断，入户调查推迟", 2: "待县级审查", 3: "已召开村民代表大会审议"}.get(h)


def _village_sheet(plan: PrefecturePlan, k: int, s: dict) -> SheetSpec:
    profile = plan.profile
    v = plan.v
    rows_idx = s["rows"]
    columns = _village_columns(profile)
    headers = dict(HEADERS)
    headers["funding"] = MONEY_HEADERS[profile.money]
    headers.update(dict(profile.headers))
    width = len(columns)
    out, merges = _title_rows(plan, k, "工作进度统计表", width)
    title_rows = tuple(range(len(out)))[:1]
    head, head_merges = _header_rows(columns, headers, profile.bands, len(out))
    header_rows = tuple(range(len(out), len(out) + len(head)))
    out += head
    merges += head_merges
    names = stage_names()
    pref_label = {"common": plan.common_name, "full": plan.name,
                  "short": plan.common_name[:-1]}.get(profile.prefecture_form or "", "")
    county_labels = {c: _county_label(profile, c) for c in set(s["county_code"])}
    as_of = plan.as_of[k]

    # Column values as Python lists once, then one row per village.
    lists = {m: s[m].tolist() for m in ("steps_done", "stage", "plan_status", "group_size", "civil_servants",
                                         "local_talents", "cadre_visits", "meetings", "villager_participation",
                                         "needs_total", "needs_adopted", "funding_cents", "council", *_PLAN_FIELDS)}
    years = s["task_year"].tolist()
    seq = 0
    for i, r in enumerate(rows_idx.tolist()):
        seq += 1
        vals = {
            "seq": seq,
            "prefecture": pref_label,
            "county": county_labels[v["county_code"][r]],
            "township": v["township"][r],
            "village": _village_label(profile.village_form, v["village_name"][r], v["core"][r], v["community"][r]),
            "village_code": int(v["village_code"][r]) if profile.code_col == "number" else v["village_code"][r],
            "task_year": years[i],
            "stage": names[lists["stage"][i]] if profile.stage_names else lists["stage"][i],
            "steps_done": lists["steps_done"][i],
            "plan_status": lists["plan_status"][i],
            "funding": _money(profile, lists["funding_cents"][i]),
            "council": _flag(profile.flags, lists["council"][i], council=True),
            "notes": _notes(plan, s, i, r, k),
            "contact": _person(int(v["gid"][r]) // 11),
            "as_of": as_of,
        }
        for m in ("group_size", "civil_servants", "local_talents", "cadre_visits", "meetings",
                  "villager_participation", "needs_total", "needs_adopted"):
            vals[m] = lists[m][i]
        for f in _PLAN_FIELDS:
            vals[f] = _flag(profile.flags, lists[f][i])
        _vary_numbers(profile, vals, seq)
        out.append([vals[c] for c in columns])
    if profile.total_row:
        out.append(_total_row(profile, columns, s, "合计"))
    if profile.footer:
        out += _footer_rows(plan, width)
    widths = {j: (14 if c in ("township", "village", "notes") else 13 if c == "village_code" else 9)
              for j, c in enumerate(columns)}
    return SheetSpec(profile.village_sheet, out, merges, header_rows=header_rows, title_rows=title_rows,
                     widths=widths)


def _vary_numbers(profile: Profile, vals: dict, seq: int) -> None:
    """Numbers typed as text, full-width digits, spaces, and not-reported markers, in a few cells."""
    style = profile.number_text
    if style == "thousands":
        vals["villager_participation"] = f"{vals['villager_participation']:,}"
    elif style == "fullwidth" and seq % 5 == 0:
        for m in ("group_size", "cadre_visits"):
            vals[m] = str(vals[m]).translate(_FULLWIDTH)
    elif style == "spaces" and seq % 11 == 0:
        vals["needs_total"] = f" {vals['needs_total']} "
    marker = profile.not_reported
    if marker is not None:
        if marker == "—" and seq % 97 == 3:
            vals["local_talents"] = marker
        elif marker == "/" and seq % 53 == 7:
            vals["meetings"] = marker
        elif marker == "" and seq % 61 == 5:
            vals["local_talents"] = None


def _total_row(profile: Profile, columns: list[str], s: dict, label: str) -> list:
    sums = {m: int(s[m].sum()) for m in SUMMED if m != "funding"}
    sums["funding"] = _money(profile, int(s["funding_cents"].sum()))
    row = [sums.get(c) for c in columns]
    row[0] = label
    return row


# ----------------------------------------------------------------------------------------------- other sheets


def _county_rows(plan: PrefecturePlan, k: int, s: dict) -> list[dict]:
    out = []
    for c in dict.fromkeys(s["county_code"]):
        mask = s["county_code"] == c
        selected = int(s["civil_servants"][mask].sum())
        last = plan.county_selected_last[c]
        identified = plan.county_identified[c] * selected // last if last else 0
        towns = len(set(plan.v["township_code"][s["rows"][mask & s["formed"]]]))
        out.append({"county": c, "identified": max(identified, selected), "selected": selected,
                    "county_stations": 1 if s["formed"][mask].any() else 0,
                    "township_stations": min(towns, plan.county_caps[c])})
    return out


def _county_sheet(plan: PrefecturePlan, k: int, s: dict) -> SheetSpec:
    profile = plan.profile
    columns = ["序号", "州市", "县市区", "摸排在外公职人员数", "纳入编制组干部数", "县级联络服务站", "乡级联络服务站"]
    if profile.prefecture_form is None:
        columns.remove("州市")
    out, merges = _title_rows(plan, k, "县级工作情况汇总表", len(columns))
    title_rows = tuple(range(len(out)))[:1]
    header_at = len(out)
    out.append(list(columns))
    if profile.date_col:
        columns.append("统计日期")
        out[-1].append("统计日期")
    county_counts = _county_rows(plan, k, s)
    for n, r in enumerate(county_counts, 1):
        row = {"序号": n, "州市": plan.common_name, "县市区": _county_label(profile, r["county"]),
               "摸排在外公职人员数": r["identified"], "纳入编制组干部数": r["selected"],
               "县级联络服务站": r["county_stations"], "乡级联络服务站": r["township_stations"],
               "统计日期": plan.as_of[k]}
        out.append([row[c] for c in columns])
    if profile.total_row:
        total = {"序号": "合计", "摸排在外公职人员数": sum(r["identified"] for r in county_counts),
                 "纳入编制组干部数": sum(r["selected"] for r in county_counts),
                 "县级联络服务站": sum(r["county_stations"] for r in county_counts),
                 "乡级联络服务站": sum(r["township_stations"] for r in county_counts)}
        out.append([total.get(c) for c in columns])
    if profile.footer:
        blank, _note, sign = _footer_rows(plan, len(columns))
        out += [blank, sign]
    return SheetSpec(profile.county_sheet, out, merges, header_rows=(header_at,), title_rows=title_rows,
                     widths={j: 12 for j in range(len(columns))})


# Needs as villagers state them, by category; {n} is a number, {c} a crop.
_NEEDS = {
    "基础设施": ("硬化进村道路{n}公里", "新建饮水蓄水池{n}个", "修缮农田灌溉沟渠{n}00米", "安装太阳能路灯{n}0盏",
                 "新建村内停车场", "改造提升村组连接道路{n}公里", "新建产业便道{n}公里"),
    "产业发展": ("建设{c}种植基地{n}00亩", "新建{c}初加工厂房", "成立{c}专业合作社", "建设冷链仓储设施",
                 "发展乡村旅游民宿{n}户", "建设电商服务站"),
    "公共服务": ("新建村级卫生室", "改扩建村小学运动场", "建设村级养老服务站", "完善便民服务中心",
                 "增设快递物流服务点", "建设幼儿园"),
    "人居环境": ("建设生活污水处理设施", "新建公共厕所{n}座", "建设垃圾收集转运点", "村庄绿化美化{n}000平方米",
                 "开展农房风貌提升{n}0户", "整治村内河道沟渠"),
    "文化传承": ("修缮传统民居{n}栋", "建设村史馆", "保护古树名木{n}株", "建设民族文化广场", "开展非遗技艺传承培训"),
    "其他": ("完善村规民约", "设立矛盾纠纷调解室", "建设应急避难场所", "配备森林防火设备"),
}
_CROPS = ("烤烟", "核桃", "咖啡", "茶叶", "高原蔬菜", "柑橘", "花卉", "中药材", "澳洲坚果", "芒果", "软籽石榴", "蓝莓")
_NEED_CATEGORIES = tuple(_NEEDS)


def _need(gid: int, j: int) -> tuple[str, str, float | None]:
    h = (gid // 7) * 131 + j * 977
    cat = _NEED_CATEGORIES[(h // 3) % len(_NEED_CATEGORIES)] if j % 4 else _NEED_CATEGORIES[j // 4 % 3]
    pool = _NEEDS[cat]
    text = pool[(h // 11) % len(pool)].format(n=1 + h % 9, c=_CROPS[(h // 13) % len(_CROPS)])
    est = None if cat == "其他" else round(5 + (h % 997) * 0.3, 1)
    return cat, text, est


def _place_cells(plan: PrefecturePlan, r: int) -> list:
    v, profile = plan.v, plan.profile
    return [plan.common_name, _county_label(profile, v["county_code"][r]), v["township"][r],
            _village_label(profile.village_form, v["village_name"][r], v["core"][r], v["community"][r])]


def _needs_sheet(plan: PrefecturePlan, k: int, s: dict) -> SheetSpec:
    columns = ["序号", "州市", "县市区", "乡镇", "行政村", "需求内容", "需求类别", "状态", "估算资金（万元）"]
    out, merges = _title_rows(plan, k, "村民需求清单", len(columns))
    header_at = len(out)
    out.append(columns)
    pos = {r: i for i, r in enumerate(s["rows"].tolist())}
    n = 0
    for r in plan.needs_sample.tolist():
        i = pos.get(r)
        if i is None:
            continue
        total, adopted = int(s["needs_total"][i]), int(s["needs_adopted"][i])
        p, e = s["p"][i], s["e"][i]
        gid = int(plan.v["gid"][r])
        for j in range(total):
            cat, text, est = _need(gid, j)
            if j >= adopted:
                status = "已收集"
            elif e > 0.3 and j % 3 == 0:
                status = "已实施"
            elif p >= 1 and j % 2 == 0:
                status = "已立项"
            else:
                status = "已纳入规划"
            n += 1
            out.append([n, *_place_cells(plan, r), text, cat, status, est])
    return SheetSpec("需求清单", out, merges, header_rows=(header_at,), title_rows=(0,) if merges else (),
                     widths={5: 28, 4: 14})


_PROJECT_KINDS = ("产业路硬化", "高标准农田建设", "人居环境整治提升", "饮水安全巩固提升", "特色产业基地建设",
                  "村级活动场所提升", "民族文化广场建设", "农村污水治理")
_SOURCES = ("中央财政衔接推进乡村振兴补助资金", "省级财政资金", "州（市）级财政资金", "县级统筹整合涉农资金",
            "沪滇协作资金", "社会资本", "村集体自筹")


def _projects_sheet(plan: PrefecturePlan, k: int, s: dict) -> SheetSpec:
    profile = plan.profile
    unit = {"wan": "万元", "yuan": "元", "yi": "亿元"}[profile.money]
    columns = ["序号", "州市", "县市区", "乡镇", "行政村", "项目名称", "资金来源", f"投入资金（{unit}）", "项目状态"]
    out, merges = _title_rows(plan, k, "项目资金投入明细表", len(columns))
    header_at = len(out)
    out.append(columns)
    pos = {r: i for i, r in enumerate(s["rows"].tolist())}
    n = 0
    for r in plan.projects_sample.tolist():
        i = pos.get(r)
        if i is None or s["funding_cents"][i] <= 0:
            continue
        cents = int(s["funding_cents"][i])
        gid = int(plan.v["gid"][r])
        parts = 1 + gid % 3
        # Split the village's funding into its projects, exactly (the last takes the remainder).
        shares = [(gid // (5 ** j)) % 5 + 1 for j in range(parts)]
        amounts = [cents * w // sum(shares) for w in shares[:-1]]
        amounts.append(cents - sum(amounts))
        for j, amount in enumerate(amounts):
            kind = _PROJECT_KINDS[(gid // 3 + j) % len(_PROJECT_KINDS)]
            status = "谋划" if s["p"][i] < 0.8 else "在建" if s["e"][i] < 0.4 + 0.2 * j else "完工"
            n += 1
            out.append([n, *_place_cells(plan, r), f"{plan.v['core'][r]}村{kind}项目",
                        _SOURCES[(gid // 13 + j) % len(_SOURCES)], _money(profile, amount), status])
    # A county-wide project (no township, no village): the liaison station of the first county.
    first = s["county_code"][0] if s["rows"].size else None
    if first is not None:
        n += 1
        out.append([n, plan.common_name, _county_label(profile, first), None, None,
                    f"{_county_names()[first][0]}干部规划家乡行动联络服务站建设项目", "县级统筹整合涉农资金",
                    _money(profile, 3_500_00 + k * 50_00), "完工" if k >= 3 else "在建"])
    return SheetSpec(profile.projects_sheet, out, merges, header_rows=(header_at,), title_rows=(0,) if merges else (),
                     widths={5: 32, 6: 20})


def _guide_sheet() -> SheetSpec:
    names = stage_names()
    lines = [
        ["填报说明"],
        ["1. 本表各项数据均为截至统计时间的累计数，每季度末报送省项目组。"],
        ["2. 当前环节填写1–7：" + "、".join(f"{k}{n}" for k, n in names.items()) + "；已完成步骤数填写0–28。"],
        ["3. 规划状态填写：未启动/编制中/成果完成/已审查/已审批/已入库。"],
        ["4. 专项规划（产业、人才、文化、生态、组织）已完成的填“是”或“1”。"],
        ["5. 项目资金为各级各类资金累计投入。"],
        ["6. 请勿修改表头，如有说明请填在备注栏。"],
    ]
    return SheetSpec("填报说明", lines, widths={0: 90})


def _lists_sheet() -> SheetSpec:
    names = list(stage_names().values())
    statuses = ["未启动", "编制中", "成果完成", "已审查", "已审批", "已入库"]
    rows = [["环节", "规划状态", "是否"]]
    for j in range(max(len(names), len(statuses))):
        rows.append([names[j] if j < len(names) else None, statuses[j] if j < len(statuses) else None,
                     ("是", "否")[j] if j < 2 else None])
    return SheetSpec("下拉选项", rows, hidden=True)


def report_sheets(plan: PrefecturePlan, k: int) -> list[SheetSpec]:
    """Every sheet of one prefecture's report at base index k, in workbook order."""
    profile = plan.profile
    s = _state(plan, k)
    sheets = [_village_sheet(plan, k, s)]
    if profile.fmt.startswith("csv"):
        return _traditional(sheets) if profile.traditional else sheets
    if profile.county_sheet:
        sheets.append(_county_sheet(plan, k, s))
    if profile.needs_sheet:
        sheets.append(_needs_sheet(plan, k, s))
    if profile.projects_sheet:
        sheets.append(_projects_sheet(plan, k, s))
    if profile.guide == "first":
        sheets.insert(0, _guide_sheet())
    elif profile.guide == "last":
        sheets.append(_guide_sheet())
    if profile.hidden_lists:
        sheets.append(_lists_sheet())
    return _traditional(sheets) if profile.traditional else sheets


@functools.lru_cache(maxsize=1)
def _s2t():
    import opencc

    return opencc.OpenCC("s2t")


def _traditional(sheets: list[SheetSpec]) -> list[SheetSpec]:
    """The whole workbook in traditional characters, as one office types it (sheet names included)."""
    conv = _s2t()
    cache: dict[str, str] = {}

    def t(x):
        if isinstance(x, str):
            if x not in cache:
                cache[x] = conv.convert(x)
            return cache[x]
        return x

    return [replace(sp, name=t(sp.name), rows=[[t(x) for x in row] for row in sp.rows]) for sp in sheets]


# ================================================================================================ files


_SUFFIX = {"xlsx": ".xlsx", "xls": ".xls", "csv-utf8": ".csv", "csv-gb18030": ".csv"}
_ENCODING = {"csv-utf8": "utf-8-sig", "csv-gb18030": "gb18030"}


def file_name(plan: PrefecturePlan, k: int) -> str:
    return f"{plan.common_name}_{plan.as_of[k]:%Y%m%d}{_SUFFIX[plan.profile.fmt]}"


def report_files(seed: int = DEFAULT_SEED) -> list[str]:
    """The names of the files write_demo writes for a seed, in order."""
    plan = build_plan(seed)
    return [file_name(plan.prefectures[c], k) for c, k in plan.files()]


def _write_one(task: tuple[int, str, int, str]) -> str:
    seed, code, k, out_dir = task
    plan = build_plan(seed).prefectures[code]
    path = Path(out_dir) / file_name(plan, k)
    write_file(path, report_sheets(plan, k), _ENCODING.get(plan.profile.fmt, "utf-8-sig"))
    return str(path)


_DEMO_NAME = re.compile(r"^(?P<pref>.+)_(?P<date>\d{8})\.(xlsx|xls|csv)$")


def _remove_stale(out_dir: Path, keep: set[str]) -> None:
    """Demo files of an earlier run that this run does not write (another seed, older layout) would be loaded
    with the new ones; only files named like demo reports (红河州_20220331.xlsx) are removed."""
    commons = set(reference.prefectures()["common_name"].to_list())
    for p in out_dir.iterdir():
        m = _DEMO_NAME.match(p.name)
        if p.is_file() and m and m.group("pref") in commons and p.name not in keep:
            p.unlink()


def write_demo(out_dir: Path, seed: int = DEFAULT_SEED, *, workers: int | None = None) -> list[Path]:
    """Write every demo report into out_dir (created if needed) and return their paths, in prefecture and
    date order. Deterministic: the same seed gives the same bytes. ``workers`` processes write the files
    (default: up to 2, the cores of the reference machine); 1 writes them in this process."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plan = build_plan(seed)
    files = plan.files()
    names = [file_name(plan.prefectures[c], k) for c, k in files]
    _remove_stale(out_dir, set(names))
    # Biggest files first, so that two workers finish together.
    tasks = sorted(((seed, c, k, str(out_dir)) for c, k in files),
                   key=lambda t: -int((plan.prefectures[t[1]].v["task_year"] <= BASE_DATES[t[2]].year).sum()))
    workers = min(2, os.cpu_count() or 1) if workers is None else workers
    if workers > 1:
        import multiprocessing

        # "spawn", not "fork": a forked child inherits polars' and OpenCC's thread pools mid-state and can hang
        # (seen here). Spawned workers start clean and rebuild the (cached, deterministic) plan themselves.
        try:
            with multiprocessing.get_context("spawn").Pool(workers) as pool:
                list(pool.imap_unordered(_write_one, tasks, chunksize=1))
            return [out_dir / n for n in names]
        except OSError:  # no process pool here (no /dev/shm, a sandbox): write them in this process
            pass
    for task in tasks:
        _write_one(task)
    return [out_dir / n for n in names]
