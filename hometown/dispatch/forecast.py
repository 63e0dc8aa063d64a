"""倒排工期: per county and task year, when its plans will be done at the pace seen so far, and the pace needed.

From every accepted report of the county's prefecture (up to ``filters.as_of``), the completion rate of the task
year's villages (metrics: plans_completed ÷ task_villages). A least-squares line through those points gives the
pace (share per day); the projected completion date is the latest report's date plus the time the remaining share
takes at that pace. A pace of zero or less is "not converging". The pace needed is the villages still to complete
divided by the months from the latest report to the task year's deadline (warehouse.schedule).
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from warehouse import db, metrics, schedule
from warehouse.scope import Filters, Scope

DAYS_PER_MONTH = 365.25 / 12

DONE, INSUFFICIENT, NOT_CONVERGING, LATE, ON_TRACK, PAST_DEADLINE = (
    "done", "insufficient", "not_converging", "late", "on_track", "past_deadline")
STATUS_LABELS = {DONE: "已完成", INSUFFICIENT: "数据不足", NOT_CONVERGING: "按当前趋势无法完成", LATE: "预计逾期",
                 ON_TRACK: "可按期完成", PAST_DEADLINE: "已超截止日期未完成"}
# Risk order for sorting: the counties to act on first.
_RISK = {NOT_CONVERGING: 0, PAST_DEADLINE: 1, LATE: 2, INSUFFICIENT: 3, ON_TRACK: 4, DONE: 5}

SCHEMA = {
    "prefecture_code": pl.Utf8, "prefecture_name": pl.Utf8, "county_code": pl.Utf8, "county_name": pl.Utf8,
    "task_year": pl.Int32, "as_of": pl.Date, "reports": pl.Int32, "task_villages": pl.Int64, "completed": pl.Int64,
    "completion_rate": pl.Float64, "remaining": pl.Int64, "pace_per_month": pl.Float64, "deadline": pl.Date,
    "months_left": pl.Float64, "pace_needed": pl.Float64, "projected_date": pl.Date, "converging": pl.Boolean,
    "on_track": pl.Boolean, "days_late": pl.Int64, "status": pl.Utf8, "status_label": pl.Utf8, "verdict": pl.Utf8,
}


def _count(name: str) -> str:
    return next(c for c in metrics.COUNTS if c.name == name).sql


def trend(scope: Scope, filters: Filters | None = None) -> pl.DataFrame:
    """Per county, task year and reporting date: task_villages, completed, completion_rate (the fit's points)."""
    filters = filters or Filters()
    where, params = scope.sql("v")
    sql = f"""
SELECT *, plans_completed AS completed, {metrics.rate('completion_rate').sql()} AS completion_rate FROM (
    SELECT v.prefecture_code, any_value(v.prefecture_name) AS prefecture_name, v.county_code,
           any_value(v.county_name) AS county_name, v.task_year, v.as_of,
           {_count('task_villages')} AS task_villages, {_count('plans_completed')} AS plans_completed
    FROM village_history v
    WHERE {where} AND v.task_year IS NOT NULL
      AND (CAST(? AS INTEGER) IS NULL OR v.task_year = CAST(? AS INTEGER))
      AND (CAST(? AS DATE) IS NULL OR v.as_of <= CAST(? AS DATE))
    GROUP BY v.prefecture_code, v.county_code, v.task_year, v.as_of
)
ORDER BY prefecture_code, county_code, task_year, as_of
"""
    return db.query(sql, [*params, filters.task_year, filters.task_year, filters.as_of, filters.as_of])


def fit_pace(days: list[float], rates: list[float]) -> float | None:
    """Least-squares slope (share per day) of rate over day; None with fewer than two distinct days."""
    n = len(days)
    if n < 2 or len(set(days)) < 2:
        return None
    mean_d, mean_r = sum(days) / n, sum(rates) / n
    sxx = sum((d - mean_d) ** 2 for d in days)
    sxy = sum((d - mean_d) * (r - mean_r) for d, r in zip(days, rates))
    return sxy / sxx


def project(points: list[tuple[date, int, int]], deadline: date) -> dict:
    """The forecast for one county and task year from its (as_of, task_villages, completed) points, oldest first."""
    as_of, villages, completed = points[-1]
    rate = completed / villages if villages else 0.0
    remaining = max(villages - completed, 0)
    days = [(d - points[0][0]).days for d, _, _ in points]
    rates = [c / v if v else 0.0 for _, v, c in points]
    slope = fit_pace(days, rates)
    months_left = max((deadline - as_of).days, 0) / DAYS_PER_MONTH
    out = {
        "as_of": as_of, "reports": len(points), "task_villages": villages, "completed": completed,
        "completion_rate": rate, "remaining": remaining, "deadline": deadline, "months_left": months_left,
        "pace_per_month": slope * villages * DAYS_PER_MONTH if slope is not None else None,
        "pace_needed": remaining / months_left if months_left > 0 and remaining else (0.0 if not remaining else None),
        "projected_date": None, "converging": None, "on_track": None, "days_late": None,
    }
    if remaining == 0:
        out.update(status=DONE, converging=True, on_track=True, projected_date=as_of, days_late=0,
                   verdict=f"{villages} 个任务村规划已全部完成")
        return out
    if slope is None:
        out.update(status=INSUFFICIENT,
                   verdict=f"仅有 {len(points)} 期报表，无法判断趋势；尚余 {remaining} 个村未完成"
                           + (f"，需每月完成 {out['pace_needed']:.1f} 个村" if out["pace_needed"] else ""))
        return out
    if slope <= 0:
        out.update(status=NOT_CONVERGING, converging=False, on_track=False,
                   verdict=f"近 {len(points)} 期报表完成率没有上升，按当前趋势无法完成；尚余 {remaining} 个村"
                           + (f"，需每月完成 {out['pace_needed']:.1f} 个村才能按期完成" if out["pace_needed"] else ""))
        return out
    projected = as_of + timedelta(days=round((1.0 - rate) / slope))
    late_by = (projected - deadline).days
    out.update(converging=True, projected_date=projected, days_late=max(late_by, 0), on_track=late_by <= 0)
    pace_now = out["pace_per_month"]
    if deadline <= as_of:
        out.update(status=PAST_DEADLINE, on_track=False,
                   verdict=f"已过截止日期（{deadline:%Y-%m-%d}），尚余 {remaining} 个村；按当前每月 {pace_now:.1f} 个村的"
                           f"进度，预计 {projected:%Y-%m-%d} 完成")
    elif late_by > 0:
        out.update(status=LATE,
                   verdict=f"按当前每月 {pace_now:.1f} 个村的进度，预计 {projected:%Y-%m-%d} 完成，比截止日期晚 {late_by} 天；"
                           f"需提速至每月 {out['pace_needed']:.1f} 个村")
    else:
        out.update(status=ON_TRACK,
                   verdict=f"按当前每月 {pace_now:.1f} 个村的进度，预计 {projected:%Y-%m-%d} 完成，可按期完成"
                           f"（需每月 {out['pace_needed']:.1f} 个村）")
    return out


def forecast(scope: Scope, filters: Filters | None = None) -> pl.DataFrame:
    """One row per county and task year, riskiest first (not converging, past deadline, late, …, done)."""
    points = trend(scope, filters)
    rows = []
    for key, group in points.group_by(["prefecture_code", "county_code", "task_year"], maintain_order=True):
        g = group.sort("as_of")
        row = project(list(zip(g["as_of"], g["task_villages"], g["completed"])),
                      schedule.deadline(int(key[2])))
        row.update(prefecture_code=key[0], county_code=key[1], task_year=int(key[2]),
                   prefecture_name=g["prefecture_name"][0], county_name=g["county_name"][0],
                   status_label=STATUS_LABELS[row["status"]])
        rows.append(row)
    if not rows:
        return pl.DataFrame(schema=SCHEMA)
    frame = pl.DataFrame(rows, schema=SCHEMA)
    return (frame.with_columns(_risk=pl.col("status").replace_strict(_RISK, return_dtype=pl.Int32))
            .sort(["_risk", "days_late", "completion_rate", "county_code"], descending=[False, True, False, False],
                  nulls_last=True)
            .drop("_risk"))
