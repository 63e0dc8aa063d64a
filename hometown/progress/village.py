"""One village's details for its page (/village?code=<village_key>): its row in force, its stage history, its group,
its needs list and its projects.

Plain functions ``(filters, scope, village_key) -> pl.DataFrame``, no Streamlit. The village is looked up by its
village_key (12-digit code or synthetic key), inside the scope in SQL, so a user outside the village's county gets
an empty frame even if they guess a key. Needs and projects are those of the prefecture's report in force at the
filter's date (the ``needs``/``projects`` views are the current ones; an earlier date reads the same rows of the
report then in force).
"""

from __future__ import annotations

import polars as pl

from warehouse import db, metrics
from hometown.base import reports_sql
from warehouse.scope import Filters, Scope
from warehouse.stages import stage_names

# Group composition: label, column and unit, in the order the page lists them (the metrics' own labels and units).
GROUP_FIELDS = (("编制组人数", "group_size", "人"),) + tuple(
    (metrics.LABELS[c], c, metrics.UNITS[c])
    for c in ("civil_servants", "local_talents", "cadre_visits", "meetings", "villager_participation"))
PLAN_FIELDS = (("产业", "plan_industry"), ("人才", "plan_talent"), ("文化", "plan_culture"), ("生态", "plan_ecology"),
               ("组织", "plan_organisation"))


def _where(scope: Scope, key: str, alias: str) -> tuple[str, list]:
    scope_where, scope_params = scope.sql(alias)
    return f"{alias}.village_key = ? AND {scope_where}", [key] + scope_params


def current(filters: Filters, scope: Scope, key: str) -> pl.DataFrame:
    """The village's row in force at the filter's date (0 or 1 rows; every village_history column + stage_name).

    The task-year filter is not applied: a village page shows its village whatever year the list was filtered by.
    """
    rep, rep_params = reports_sql(filters)
    where, params = _where(scope, key, "h")
    frame = db.query(f"SELECT h.* FROM village_history h JOIN ({rep}) r USING (report_id) WHERE {where} "
                     "ORDER BY h.as_of DESC LIMIT 1", rep_params + params)
    return frame.with_columns(stage_name=pl.col("stage").replace_strict(stage_names(), default=None,
                                                                       return_dtype=pl.Utf8))


def history(filters: Filters, scope: Scope, key: str) -> pl.DataFrame:
    """The village in every accepted report up to the filter's date, oldest first: as_of, stage, stage_name,
    steps_done, plan_status and the cumulative figures (one row per reporting date; a date reported twice keeps the
    later file)."""
    where, params = _where(scope, key, "h")
    sql = f"""
        SELECT h.as_of, h.stage, h.steps_done, h.plan_status, h.group_size, h.civil_servants, h.cadre_visits,
               h.meetings, h.villager_participation, h.needs_total, h.needs_adopted, h.funding_wan, h.report_id
        FROM village_history h
        WHERE {where} AND (CAST(? AS DATE) IS NULL OR h.as_of <= CAST(? AS DATE))
        QUALIFY row_number() OVER (PARTITION BY h.as_of ORDER BY h.report_id DESC) = 1
        ORDER BY h.as_of
    """
    frame = db.query(sql, params + [filters.as_of, filters.as_of])
    return frame.with_columns(stage_name=pl.col("stage").replace_strict(stage_names(), default=None,
                                                                       return_dtype=pl.Utf8))


def needs(filters: Filters, scope: Scope, key: str) -> pl.DataFrame:
    """The village's needs list (content, category, status, est_funding_wan, as_of) from the report in force."""
    rep, rep_params = reports_sql(filters)
    where, params = _where(scope, key, "n")
    sql = (f"SELECT n.content, n.category, n.status, n.est_funding_wan, r.as_of FROM need_rows n "
           f"JOIN ({rep}) r USING (report_id) WHERE {where} ORDER BY n.excel_row")
    return db.query(sql, rep_params + params)


def projects(filters: Filters, scope: Scope, key: str) -> pl.DataFrame:
    """The village's projects (project_name, source, funding_wan, status, as_of) from the report in force."""
    rep, rep_params = reports_sql(filters)
    where, params = _where(scope, key, "p")
    sql = (f"SELECT p.project_name, p.source, p.funding_wan, p.status, r.as_of FROM project_rows p "
           f"JOIN ({rep}) r USING (report_id) WHERE {where} ORDER BY p.excel_row")
    return db.query(sql, rep_params + params)
