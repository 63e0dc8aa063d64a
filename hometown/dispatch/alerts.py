"""Alerts for the pages: the warehouse's alert rules (warehouse/alerts.py), scoped, filtered, counted.

``alerts(scope, filters, level)`` is what the overview and the dispatch board show. With ``filters.as_of`` the
alerts are those the reports in force at that date raise (``alerts_at(date)``, evaluated now); otherwise the current
ones, read from the table ``alerts_current`` that every warehouse write refreshes (a warehouse written by older code
has no such table: then the macro, ``alerts_at(NULL)``).
A prefecture-level alert (late report) has no county: a county user does not see it.
"""

from __future__ import annotations

import warnings

import duckdb
import polars as pl

from warehouse import alerts as rules, db
from warehouse.scope import Filters, Scope

RED, YELLOW = "红", "黄"
CURRENT_TABLE = "alerts_current"  # the materialised current alerts (warehouse.alerts.CURRENT_TABLE)
LEVELS = (RED, YELLOW)

COLUMNS = {
    "alert_type": pl.Utf8, "level": pl.Utf8, "prefecture_code": pl.Utf8, "county_code": pl.Utf8,
    "village_code": pl.Utf8, "as_of": pl.Date, "value": pl.Float64, "threshold": pl.Float64, "detail": pl.Utf8,
    "alert_key": pl.Utf8, "alert_label": pl.Utf8, "task_year": pl.Int32, "prefecture_name": pl.Utf8,
    "county_name": pl.Utf8, "township": pl.Utf8, "village": pl.Utf8, "village_key": pl.Utf8,
}

# Chinese names of the rules, for the board and exports: the labels of config/alerts.toml (the warehouse's
# alert_label column comes from the same file).
RULE_LABELS = rules.rule_labels()


def empty() -> pl.DataFrame:
    return pl.DataFrame(schema=COLUMNS)


def _query(sql: str, params: list) -> pl.DataFrame:
    try:
        return db.query(sql, params)
    except duckdb.CatalogException as exc:
        # A warehouse written before the alert rules existed: the next load installs them.
        if "alerts_at" not in str(exc) and "alerts" not in str(exc):
            raise
        warnings.warn("数据仓库尚无预警视图，请重新导入报表以生成预警", stacklevel=3)
        return empty()


def _current(conditions: str, params: list) -> pl.DataFrame | None:
    """The current alerts from the materialised table, in the rules' order; None when the warehouse has none."""
    sql = (f"SELECT {', '.join(f'a.{c}' for c in COLUMNS)} FROM {CURRENT_TABLE} a" + conditions +
           " ORDER BY a.alert_order")
    try:
        return db.query(sql, params)
    except duckdb.CatalogException as exc:
        if CURRENT_TABLE not in str(exc):
            raise
        return None  # written by code before the table: the macro answers (the next write creates the table)


def alerts(scope: Scope, filters: Filters | None = None, level: str | None = None,
           alert_type: str | None = None) -> pl.DataFrame:
    """The alerts inside the scope: red first, then by rule, prefecture, county and village.

    Columns: alert_type, level ('红'/'黄'), prefecture_code, county_code, village_code, as_of, value, threshold,
    detail (Chinese, names the place), then alert_key, alert_label, task_year, prefecture_name, county_name,
    township, village, village_key. ``filters.task_year`` keeps alerts of that task year and those of no task year
    (a late report, a county's needs adoption).
    """
    filters = filters or Filters()
    if level is not None and level not in LEVELS:
        raise ValueError(f"预警等级只能是「红」或「黄」，而不是「{level}」")
    where, params = scope.sql("a")
    conditions = (
        " WHERE " + where +
        " AND (CAST(? AS INTEGER) IS NULL OR a.task_year IS NULL OR a.task_year = CAST(? AS INTEGER))"
        " AND (CAST(? AS VARCHAR) IS NULL OR a.level = CAST(? AS VARCHAR))"
        " AND (CAST(? AS VARCHAR) IS NULL OR a.alert_type = CAST(? AS VARCHAR))"
    )
    params = [*params, filters.task_year, filters.task_year, level, level, alert_type, alert_type]
    frame = _current(conditions, params) if filters.as_of is None else None
    if frame is None:
        frame = _query("SELECT * FROM alerts_at(CAST(? AS DATE)) a" + conditions, [filters.as_of, *params])
    if frame.height == 0:
        return empty()
    return frame.select([pl.col(c).cast(t) for c, t in COLUMNS.items()])


def counts(scope: Scope, filters: Filters | None = None) -> pl.DataFrame:
    """How many alerts of each rule and level: alert_type, alert_label, level, n (for a board header)."""
    frame = alerts(scope, filters)
    if frame.height == 0:
        return pl.DataFrame(schema={"alert_type": pl.Utf8, "alert_label": pl.Utf8, "level": pl.Utf8, "n": pl.UInt32})
    return (frame.group_by("alert_type", "alert_label", "level", maintain_order=True).agg(n=pl.len()))

