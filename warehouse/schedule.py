"""The schedule progress is measured against: per task year a start, a deadline and an expected progress line.

Owns ``config/schedule.toml``. The line for a task year passes through its 7 stage milestones (the date by which a
village should have finished stage k, i.e. step 4k of 28): (start, 0), (m1, 1/7), …, (m7 = deadline, 1), linear
between them; before the start it is 0, from the deadline on it is 1. Progress here is the share of the 28 steps
done (``metrics.progress_sql``), the measure the alert rule "county behind the line" and the map compare with it.
The warehouse gets the same points (table ``schedule_line``, written by warehouse.alerts on every load), so SQL
and Python draw one line. Also the provincial 30/40/30 schedule: the share of all villages planned by year end.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
import polars as pl

from warehouse.stages import STAGE_COUNT
from warehouse.settings import CONFIG_DIR

SCHEDULE_FILE = CONFIG_DIR / "schedule.toml"
# Years written into the warehouse's schedule_line (a task year outside falls back to the default line in SQL).
WAREHOUSE_YEARS = range(2015, 2041)


@dataclass(frozen=True)
class YearSchedule:
    task_year: int
    start: date
    deadline: date
    milestones: tuple[date, ...]  # 7 dates: end of each stage; the last is the deadline

    def points(self) -> list[tuple[date, float]]:
        """The line's corners: (date, expected share of steps done)."""
        return [(self.start, 0.0)] + [(d, (k + 1) / STAGE_COUNT) for k, d in enumerate(self.milestones)]


def _as_date(value, year: int) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if len(text) == 5:  # "MM-DD" in the defaults
        return date.fromisoformat(f"{year:04d}-{text}")
    return date.fromisoformat(text)


@lru_cache(maxsize=4)
def _config(path: Path = SCHEDULE_FILE) -> dict:
    with path.open("rb") as f:
        return tomllib.load(f)


def _even_milestones(start: date, deadline: date) -> tuple[date, ...]:
    span = (deadline - start).days
    return tuple(date.fromordinal(start.toordinal() + round(span * (k + 1) / STAGE_COUNT))
                 for k in range(STAGE_COUNT))


def year_schedule(task_year: int, path: Path = SCHEDULE_FILE) -> YearSchedule:
    """The schedule of one task year: listed in the file, or the defaults (1 January → 31 December)."""
    doc = _config(path)
    defaults = doc.get("defaults", {})
    entry = next((e for e in doc.get("task_year", []) if int(e["year"]) == int(task_year)), {})
    start = _as_date(entry.get("start", defaults.get("start", "01-01")), task_year)
    deadline = _as_date(entry.get("deadline", defaults.get("deadline", "12-31")), task_year)
    if deadline <= start:
        raise ValueError(f"进度计划配置错误：{task_year}年度的截止日期 {deadline} 不晚于开始日期 {start}")
    if "milestones" in entry:
        milestones = tuple(_as_date(m, task_year) for m in entry["milestones"])
        if len(milestones) != STAGE_COUNT or list(milestones) != sorted(milestones) or milestones[0] <= start:
            raise ValueError(f"进度计划配置错误：{task_year}年度须按顺序列出 7 个环节节点日期，且晚于开始日期")
        deadline = milestones[-1]
    else:
        milestones = _even_milestones(start, deadline)
    return YearSchedule(int(task_year), start, deadline, milestones)


def deadline(task_year: int) -> date:
    """The date by which every village of the task year should have its plan done."""
    return year_schedule(task_year).deadline


def _on(on_date: date | datetime | str) -> date:
    if isinstance(on_date, datetime):
        return on_date.date()
    if isinstance(on_date, str):
        return date.fromisoformat(on_date)
    return on_date


def expected_completion(task_year: int, on_date: date | datetime | str) -> float:
    """Expected progress (share of the 28 steps done, 0–1) of a task year's villages on a date."""
    d = _on(on_date)
    points = year_schedule(task_year).points()
    if d <= points[0][0]:
        return 0.0
    if d >= points[-1][0]:
        return 1.0
    for (d0, f0), (d1, f1) in zip(points, points[1:]):
        if d0 <= d < d1:
            return f0 + (f1 - f0) * (d - d0).days / (d1 - d0).days
    return 1.0  # unreachable: the points cover [start, deadline)


def expected_stage(task_year: int, on_date: date | datetime | str) -> int:
    """The stage (1–7) a village of the task year should be working on at that date."""
    steps = expected_completion(task_year, on_date) * 4 * STAGE_COUNT
    return min(STAGE_COUNT, int(steps // 4) + 1)


def line_frame(years=WAREHOUSE_YEARS) -> pl.DataFrame:
    """Every corner of every year's line: task_year, point_date, expected — the warehouse table schedule_line."""
    rows = [(y, d, f) for y in years for d, f in year_schedule(y).points()]
    return pl.DataFrame(rows, schema={"task_year": pl.Int32, "point_date": pl.Date, "expected": pl.Float64},
                        orient="row")


def provincial_shares() -> dict[int, float]:
    """The provincial schedule: year → share of the province's villages to be planned in that year (30/40/30)."""
    doc = _config(SCHEDULE_FILE)
    return {int(e["year"]): float(e["share"]) for e in doc.get("provincial", {}).get("shares", [])}


def provincial_expected(on_date: date | datetime | str) -> float:
    """Expected cumulative share (0–1) of the province's villages planned by a date, linear within each year."""
    d = _on(on_date)
    done = 0.0
    for year, share in sorted(provincial_shares().items()):
        start, end = date(year, 1, 1), date(year, 12, 31)
        if d >= end:
            done += share
        elif d > start:
            done += share * (d - start).days / (end - start).days
    return min(done, 1.0)
