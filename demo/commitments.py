"""The demo's 任期承诺 workbooks (COMMITMENTS_SPEC): one per prefecture, as of its last demo reporting date, for every
task village of the demo (``demo.generate.build_plan``) — one plan, five lists, 15–30 items per village.

Each workbook has the sheet 承诺事项 (items with yearly targets for measurable ones) and 承诺进展 (per item its latest
evaluation: the 期末验收 that closed it, or its latest 双月自评 with the actual value; per village a 年度考评 of each
past year and a December 双月自评 of the indicator 村集体经营性收入, which the regional average of rule C2 is computed
from). Trouble on purpose, so the rules fire: notices shorter than 5 days (C1), yearly targets below the county's
average (C2), late items (C3), villages whose last self-evaluation is months old (C4) or that skipped a yearly review
(C5), items lagging their time (C6). Deterministic for a seed; written with xlsxwriter in constant-memory mode.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from demo import xlsxfast
from demo.generate import DEFAULT_SEED, build_plan

SUBFOLDER = "任期承诺"
LISTS = ("强村富民", "党建提升", "乡村治理", "为民服务", "文明创建")
# (content, indicator, unit, baseline range, growth factor range) — indicator None: a deed, not a figure.
POOL = {
    "强村富民": [("村集体经营性收入达到{t}万元", "村集体经营性收入", "万元", (5, 30), (1.6, 2.6)),
              ("发展特色种养殖基地{t}亩", "特色产业基地面积", "亩", (50, 300), (1.3, 2.0)),
              ("培育农民专业合作社{t}个", "农民专业合作社", "个", (1, 4), (1.5, 3.0)),
              ("农村居民人均可支配收入达到{t}元", "农村居民人均可支配收入", "元", (9000, 16000), (1.3, 1.6)),
              ("建成农产品初加工车间", None, None, None, None),
              ("开通电商服务点并常态运营", None, None, None, None)],
    "党建提升": [("发展年轻党员{t}名", "发展党员", "名", (0, 2), (2.0, 4.0)),
              ("建成标准化党群服务中心", None, None, None, None),
              ("开展“三会一课”全覆盖", None, None, None, None),
              ("培养村级后备力量{t}名", "村级后备力量", "名", (1, 3), (1.5, 3.0)),
              ("党员设岗定责全覆盖", None, None, None, None)],
    "乡村治理": [("修订完善村规民约", None, None, None, None),
              ("矛盾纠纷调解成功率达到{t}%", "矛盾纠纷调解成功率", "%", (80, 92), (1.05, 1.15)),
              ("建成网格化服务管理体系", None, None, None, None),
              ("村务公开规范化达标", None, None, None, None),
              ("平安村创建达标", None, None, None, None)],
    "为民服务": [("硬化村组道路{t}公里", "村组道路硬化", "公里", (2, 10), (1.4, 2.2)),
              ("自来水入户率达到{t}%", "自来水入户率", "%", (70, 90), (1.08, 1.3)),
              ("建成便民服务代办点", None, None, None, None),
              ("改造农村户厕{t}户", "卫生户厕", "户", (20, 120), (1.5, 2.5)),
              ("建成老年活动中心", None, None, None, None)],
    "文明创建": [("评选“最美家庭”{t}户", "最美家庭", "户", (0, 5), (2.0, 4.0)),
              ("建成新时代文明实践站", None, None, None, None),
              ("人居环境整治达标率{t}%", "人居环境整治达标率", "%", (60, 85), (1.1, 1.4)),
              ("开展移风易俗专项行动", None, None, None, None),
              ("建成村史馆", None, None, None, None)],
}
SURNAMES = "李王张刘杨陈赵黄周吴徐孙马朱胡郭何罗高林"
GIVEN = ("建华", "丽萍", "永刚", "海燕", "正林", "秀英", "志强", "春梅", "国华", "玉兰", "文军", "红梅", "德明", "凤英")
DUE_DATES = tuple(date(y, m, d) for y in range(2022, 2027) for m, d in ((6, 30), (12, 31)) if date(y, m, d) <= date(2026, 6, 30))
TERM_START, TERM_END = 2021, 2026
ITEM_HEADER = ("州市", "县市区", "乡镇", "行政村", "村代码", "承诺编号", "清单类别", "承诺事项", "指标名称", "计量单位", "基线值",
               "任期目标值", *(f"{y}年目标" for y in range(2022, TERM_END + 1)), "完成时限", "责任人", "公示开始日期",
               "公示结束日期", "承诺日期")
PROGRESS_HEADER = ("村代码", "承诺编号", "评价日期", "评价类型", "实际值", "事项状态", "验收结论", "进展情况")
# Shares of trouble (by village or by item).
SHORT_NOTICE, LOW_TARGET, STALE_SELFCHECK, NO_REVIEW, TROUBLED = 0.03, 0.05, 0.04, 0.03, 0.08
# Per item; a troubled village (TROUBLED of them) closes fewer of its due items and lags more.
CLOSE_DUE, CLOSE_DUE_TROUBLED, CLOSE_LATE, CLOSE_EARLY, CANCEL = 0.97, 0.6, 0.12, 0.12, 0.02
LAGGING, LAGGING_TROUBLED = 0.01, 0.35


def file_name(common_name: str, as_of: date) -> str:
    return f"{common_name}_任期承诺_{as_of:%Y%m%d}.xlsx"


def write_commitments(out_dir: Path, seed: int = DEFAULT_SEED) -> list[Path]:
    """One 任期承诺 workbook per prefecture into ``out_dir``; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plan = build_plan(seed)
    paths = []
    for code, pp in plan.prefectures.items():
        as_of = pp.as_of[pp.last_index]
        path = out_dir / file_name(pp.common_name, as_of)
        items, evaluations = prefecture_frames(pp, as_of, np.random.default_rng([seed, int(code)]))
        title = [[f"{pp.common_name}村党组织任期承诺事项表（截至{as_of:%Y年%m月%d日}）"], list(ITEM_HEADER)]
        xlsxfast.write(path, [("承诺事项", title, items), ("承诺进展", [list(PROGRESS_HEADER)], evaluations)])
        paths.append(path)
    for stale in out_dir.glob("*_任期承诺_*.xlsx"):
        if stale not in paths:
            stale.unlink()
    return paths


def _pool_table() -> dict[str, np.ndarray]:
    rows = [(li, content, ind or "", unit or "", *(b or (np.nan, np.nan)), *(g or (np.nan, np.nan)))
            for li, name in enumerate(LISTS) for content, ind, unit, b, g in POOL[name]]
    cols = list(zip(*rows))
    return {"list": np.array(cols[0]), "content": np.array(cols[1], dtype=object), "indicator": np.array(cols[2], dtype=object),
            "unit": np.array(cols[3], dtype=object), "lo": np.array(cols[4], float), "hi": np.array(cols[5], float),
            "g_lo": np.array(cols[6], float), "g_hi": np.array(cols[7], float)}


def _days(d) -> np.ndarray:
    return np.asarray(d, dtype="datetime64[D]")


def prefecture_frames(pp, as_of: date, rng) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The prefecture's items and evaluations as frames of text cells, in the workbook's column order (vectorised:
    a prefecture of 1,500 villages and 34,000 items takes well under a second)."""
    from geo import reference

    v = pp.v
    n = len(v["village_code"])
    k = rng.integers(15, 31, n)
    per_list = 2 + rng.multinomial(k - 10, [0.3, 0.2, 0.15, 0.2, 0.15])
    N = int(k.sum())
    vid = np.repeat(np.arange(n), k)
    sizes = per_list.ravel()
    list_id = np.repeat(np.tile(np.arange(5), n), sizes)
    block_start = np.cumsum(sizes) - sizes
    j = np.arange(N) - np.repeat(block_start, sizes)
    item_no = np.arange(N) - np.repeat(np.cumsum(k) - k, k) + 1
    pool = _pool_table()
    offsets = np.array([sum(len(POOL[LISTS[i]]) for i in range(li)) for li in range(5)])
    pool_size = np.array([len(POOL[name]) for name in LISTS])
    first_income = (list_id == 0) & (j == 0)
    pidx = np.where(first_income, 0, np.floor(rng.random(N) * pool_size[list_id]).astype(int))
    row = offsets[list_id] + pidx
    measurable = pool["indicator"][row] != ""
    unit = pool["unit"][row]
    decimals = np.isin(unit, ["万元", "公里"])
    # Villages of a county start from similar levels and aim alike (so that last year's county average is a fair
    # yardstick, COMMITMENTS_SPEC C2): a level per county, a few per cent apart between its villages.
    county_of = np.unique(np.asarray(v["county_code"]).astype(str), return_inverse=True)[1][vid]
    level, pace = rng.random(county_of.max() + 1)[county_of], rng.random(county_of.max() + 1)[county_of]
    lo, hi = np.nan_to_num(pool["lo"][row]), np.nan_to_num(pool["hi"][row])
    baseline = (lo + (hi - lo) * level) * rng.uniform(0.97, 1.03, N)
    baseline = np.where(decimals, np.round(baseline, 1), np.round(baseline))
    g_lo, g_hi = np.nan_to_num(pool["g_lo"][row]), np.nan_to_num(pool["g_hi"][row])
    target = baseline * (g_lo + (g_hi - g_lo) * pace) * rng.uniform(0.98, 1.02, N) + 1
    target = np.where(decimals, np.round(target, 1), np.round(target))
    target = np.where(unit == "%", np.minimum(target, 100.0), target)
    # A figure is a term target (due at the term's end); deeds are spread over the term.
    due = np.where(measurable, np.datetime64(DUE_DATES[-1], "D"), _days(DUE_DATES)[rng.integers(len(DUE_DATES), size=N)])
    due_year = due.astype("datetime64[Y]").astype(int) + 1970
    as_of_d = np.datetime64(as_of, "D")
    # Village-wide: notice period, commitment date, trouble flags.
    start = np.datetime64("2021-08-01") + rng.integers(0, 20, n)
    days = np.where(rng.random(n) < SHORT_NOTICE, rng.integers(2, 5, n), rng.integers(5, 11, n))
    end = start + days - 1
    committed = end + rng.integers(1, 10, n)
    stale = rng.random(n) < STALE_SELFCHECK
    low = rng.random(n) < LOW_TARGET
    reviewed = rng.random(n) >= NO_REVIEW
    troubled = (rng.random(n) < TROUBLED)[vid]
    yearly = {}
    for y in range(2022, TERM_END + 1):
        share = np.minimum(1.0, (y - 2021) / np.maximum(due_year - 2021, 1))
        value = np.round(baseline + (target - baseline) * share, 1)
        if y == as_of.year:  # C2 on purpose: this year's income target far below the county's average
            value = np.where(first_income & low[vid], np.round(baseline * 0.6, 1), value)
        yearly[y] = np.where(measurable, value, np.nan)
    # The state at the as-of date.
    r = rng.random(N)
    span = np.maximum((due - committed[vid]).astype(int), 1)
    elapsed = np.clip((as_of_d - committed[vid]).astype(int) / span, 0, 1)
    cancel = r < CANCEL
    passed = due <= as_of_d
    close_due = np.where(troubled, CLOSE_DUE_TROUBLED, CLOSE_DUE)
    closed = ~cancel & ((passed & (r < close_due)) | (~passed & (r < CLOSE_EARLY)))
    late = closed & passed & (rng.random(N) < CLOSE_LATE)
    closed_on = np.where(late, due + rng.integers(5, 60, N), due - rng.integers(0, 120, N))
    closed_on = np.maximum(np.minimum(closed_on, as_of_d), committed[vid])
    lag = np.where(rng.random(N) < np.where(troubled, LAGGING_TROUBLED, LAGGING), rng.uniform(0.12, 0.45, N),
                   rng.uniform(-0.1, 0.08, N))
    done = np.clip(elapsed - lag, 0, 1)
    actual = np.where(measurable, np.round(baseline + (target - baseline) * done, 1), np.nan)
    back = np.where(stale[vid], rng.integers(70, 150, N), rng.integers(0, 55, N))
    self_on = np.maximum(as_of_d - back, committed[vid])
    on = np.where(cancel, as_of_d - rng.integers(5, 60, N), np.where(closed, closed_on, self_on))
    kind = np.where(closed, "期末验收", "双月自评")
    status = np.where(cancel, "取消", np.where(closed, "已销号", np.where(done > 0, "推进中", "未启动")))
    acceptance = np.where(closed, "通过", "")
    note = np.where(cancel, "因规划调整取消", np.where(closed, "验收通过，予以销号",
                                                  np.where(lag < 0.1, "按计划推进", "进度滞后，正在加快")))
    value = np.where(closed, np.where(measurable, target, np.nan), np.where(cancel, np.nan, actual))

    codes = np.asarray(v["village_code"]).astype(str)
    counties = {c: reference.county_name(c) for c in set(np.asarray(v["county_code"]).astype(str).tolist())}
    county = np.array([counties[c] for c in np.asarray(v["county_code"]).astype(str)], dtype=object)

    def num(a: np.ndarray) -> pl.Series:
        return pl.Series(a).cast(pl.String).str.replace(r"\.0$", "").replace("NaN", None)

    target_text = num(np.where(measurable, target, np.nan))
    content = pl.Series(pool["content"][row]).str.replace("{t}", target_text.fill_null(""), literal=True)
    owners = np.array([s + g for s in SURNAMES for g in GIVEN], dtype=object)
    items = pl.DataFrame({
        "州市": [pp.common_name] * N, "县市区": county[vid], "乡镇": np.asarray(v["township"]).astype(str)[vid],
        "行政村": np.asarray(v["village_name"]).astype(str)[vid], "村代码": codes[vid],
        "承诺编号": item_no.astype(str), "清单类别": np.array([f"{x}清单" for x in LISTS], dtype=object)[list_id],
        "承诺事项": content, "指标名称": pool["indicator"][row], "计量单位": unit,
        "基线值": num(np.where(measurable, baseline, np.nan)), "任期目标值": target_text,
        **{f"{y}年目标": num(yearly[y]) for y in range(2022, TERM_END + 1)},
        "完成时限": due.astype(str), "责任人": owners[rng.integers(len(owners), size=N)],
        "公示开始日期": start.astype(str)[vid], "公示结束日期": end.astype(str)[vid],
        "承诺日期": committed.astype(str)[vid]})
    main = pl.DataFrame({"村代码": codes[vid], "承诺编号": item_no.astype(str), "评价日期": on.astype(str),
                         "评价类型": kind, "实际值": num(value), "事项状态": status, "验收结论": acceptance, "进展情况": note})
    # The December self-evaluation of last year's income (the C2 average), unless the item was closed before it.
    dec = np.datetime64(date(as_of.year - 1, 12, 20), "D")
    income = first_income & measurable & ~(closed & (closed_on <= dec)) & ~cancel
    income_value = np.round(baseline + (target - baseline) * min(1.0, (as_of.year - 1 - 2021 + 0.5) / 5), 1)
    dec_rows = pl.DataFrame({"村代码": codes[vid][income], "承诺编号": item_no.astype(str)[income],
                             "评价日期": [str(dec)] * int(income.sum()), "评价类型": "双月自评",
                             "实际值": num(income_value[income]), "事项状态": "推进中", "验收结论": "", "进展情况": "年末自评"})
    years = list(range(2021, as_of.year))
    who = codes[reviewed]
    reviews = pl.DataFrame({"村代码": np.repeat(who, len(years)), "承诺编号": "1",
                            "评价日期": np.tile([f"{y}-12-25" for y in years], len(who)), "评价类型": "年度考评",
                            "实际值": None, "事项状态": "推进中", "验收结论": "",
                            "进展情况": np.tile([f"{y}年度考评" for y in years], len(who))},
                           schema_overrides={"实际值": pl.String})
    evaluations = pl.concat([main, dec_rows.with_columns(pl.col("实际值").cast(pl.String)), reviews], how="vertical_relaxed")
    return items, evaluations
