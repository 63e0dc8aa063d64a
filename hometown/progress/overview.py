"""The figures of the overview (一屏知全局) and of every region page: totals, rankings, the stage funnel, the trend
across reporting dates, the reporting status of the prefectures and the report log.

Plain functions ``(filters, scope, …) -> pl.DataFrame`` over parameterised SQL; no Streamlit. Every count and rate
comes from warehouse.metrics (one definition each), over the village rows in force (hometown.base.villages_sql), so
the overview, the region pages, the exports and the tests agree. ``region`` is a province, prefecture or county
code (None = the whole scope). Every frame carries the reporting dates it rests on (``as_of_min``/``as_of_max``, or
``as_of`` per row): prefectures report on different days.
"""

from __future__ import annotations

import polars as pl

from warehouse import db, metrics
from hometown.base import region_level, region_sql, reports_sql, villages_sql
from hometown.dispatch import alerts as alert_rules
from warehouse.scope import PROVINCE_CODE, Filters, Scope
from warehouse.stages import STAGE_COUNT, stage_names

# The county sheet's figures (identified / selected civil servants, liaison stations) belong to the county, not to
# a task year: they are summed over the counties in the region whatever the year filter.
COUNTY_SHEET_SUMS = ", ".join(f"CAST(sum(k.{c}) AS BIGINT) AS {c}" for c in metrics.COUNTY_SHEET_COLUMNS)


def _rates_select() -> str:
    return metrics.rates_sql()


def _grouped_sql(filters: Filters, scope: Scope, region: str | None, group: str | None) -> tuple[str, list]:
    """Counts, county-sheet sums and rates of the village rows in force, per ``group`` column (None = one row).

    Columns: [group], as_of_min, as_of_max, prefectures_reported, every metrics.COUNTS name, the county-sheet
    columns, every metrics.RATES name.
    """
    v_sql, v_params = villages_sql(filters, scope, region)
    r_sql, r_params = reports_sql(filters)
    k_scope, k_scope_params = scope.sql("k")
    k_region, k_region_params = region_sql(region if region and region_level(region) != "village" else None, "k")
    key = f"{group}, " if group else ""
    group_by = f"GROUP BY {group}" if group else ""
    join = f"LEFT JOIN kc USING ({group})" if group else "CROSS JOIN kc"
    sql = f"""
        WITH v AS ({v_sql}),
        k AS (
            SELECT k.* FROM county_rows k JOIN ({r_sql}) r USING (report_id) WHERE {k_scope} AND {k_region}
        ),
        vc AS (
            SELECT {key} min(v.as_of) AS as_of_min, max(v.as_of) AS as_of_max,
                   count(DISTINCT v.prefecture_code) AS prefectures_reported, {metrics.county_aggregates_sql("v")}
            FROM v {group_by}
        ),
        kc AS (SELECT {key} {COUNTY_SHEET_SUMS} FROM k {group_by})
        SELECT vc.*, {", ".join(f"kc.{c}" for c in metrics.COUNTY_SHEET_COLUMNS)}
        FROM vc {join}
    """
    sql = f"SELECT *, {_rates_select()} FROM ({sql}) t"
    return sql, v_params + r_params + k_scope_params + k_region_params


def totals(filters: Filters, scope: Scope, region: str | None = None) -> pl.DataFrame:
    """One row: the KPI figures of the region (every count, county-sheet sum and rate) and the dates behind them."""
    sql, params = _grouped_sql(filters, scope, region, None)
    return db.query(sql, params)


def prefecture_ranking(filters: Filters, scope: Scope) -> pl.DataFrame:
    """Every prefecture in the scope, ranked by 规划完成率 (ties: more plans in the database, then official order).

    Prefectures without a report in force are listed last with null figures and rank. Columns: rank, code, name,
    common_name, short_name, sort_order, as_of (that prefecture's reporting date), every count and rate.
    """
    sql, params = _grouped_sql(filters, scope, None, "prefecture_code")
    where, where_params = _ref_scope_sql(scope, "p.code")
    ranked = f"""
        SELECT {metrics.rank_sql("g")} AS rank,
               p.code, p.name, p.common_name, p.short_name, p.sort_order, g.as_of_max AS as_of, g.* EXCLUDE (prefecture_code)
        FROM ref_prefecture p LEFT JOIN ({sql}) g ON g.prefecture_code = p.code
        WHERE {where}
        ORDER BY rank NULLS LAST, p.sort_order
    """
    return db.query(ranked, params + where_params)


def ranking(filters: Filters, scope: Scope) -> pl.DataFrame:
    """The regions the overview ranks by 规划完成率: the 16 prefectures for the province, the counties of the
    user's prefecture for a prefecture user, the user's own county for a county user (``children`` of the scope's
    top: code, name, as_of, rank, every count and rate)."""
    return children(filters, scope, scope.home_prefecture)


def _ref_scope_sql(scope: Scope, column: str) -> tuple[str, list]:
    """Reference rows (prefectures) the scope may see."""
    if scope.home_prefecture:
        return f"{column} = ?", [scope.home_prefecture]
    return "TRUE", []


def children(filters: Filters, scope: Scope, region: str | None) -> pl.DataFrame:
    """The regions one level down (province → prefectures, prefecture → counties), each with its figures.

    Every child in the scope is listed, reported or not (null figures when not). Columns: code, name, as_of, every
    count and rate, rank (by completion rate among the children that reported).
    """
    level = region_level(region) if region else "province"
    if level == "province":
        return prefecture_ranking(filters, scope).select(
            "code", pl.col("common_name").alias("name"), pl.exclude("code", "name", "common_name"))
    if level != "prefecture":
        raise ValueError(f"{region} 没有下一级县市区")
    sql, params = _grouped_sql(filters, scope, region, "county_code")
    county_where = "c.code = ?" if scope.county_code else "TRUE"
    county_params = [scope.county_code] if scope.county_code else []
    out = f"""
        SELECT {metrics.rank_sql("g")} AS rank,
               c.code, c.name, g.as_of_max AS as_of, g.* EXCLUDE (county_code)
        FROM ref_county c LEFT JOIN ({sql}) g ON g.county_code = c.code
        WHERE c.prefecture_code = ? AND {county_where}
        ORDER BY rank NULLS LAST, c.code
    """
    return db.query(out, params + [region] + county_params)


def stage_funnel(filters: Filters, scope: Scope, region: str | None = None) -> pl.DataFrame:
    """The 7 stages: stage, name, at_stage (villages now in it), reached (villages at it or beyond), share of the
    task villages that reached it, and the dates behind the figures."""
    v_sql, v_params = villages_sql(filters, scope, region)
    sql = f"""
        WITH v AS ({v_sql}), s AS (SELECT unnest(range(1, {STAGE_COUNT + 1})) AS stage)
        SELECT s.stage,
               count(v.stage) FILTER (WHERE v.stage = s.stage) AS at_stage,
               count(v.stage) FILTER (WHERE v.stage >= s.stage) AS reached,
               CAST(count(v.stage) FILTER (WHERE v.stage >= s.stage) AS DOUBLE)
                   / NULLIF((SELECT count(*) FROM v), 0) AS reached_share,
               (SELECT min(as_of) FROM v) AS as_of_min, (SELECT max(as_of) FROM v) AS as_of_max
        FROM s LEFT JOIN v ON TRUE
        GROUP BY s.stage ORDER BY s.stage
    """
    frame = db.query(sql, v_params)
    names = stage_names()
    return frame.with_columns(pl.col("stage").cast(pl.Int32)).with_columns(
        name=pl.col("stage").replace_strict(names, return_dtype=pl.Utf8, default=None))


# What the trend shows: the counts behind the progress rates (fewer aggregates over the whole history keep it fast
# at national scale; every figure is still metrics' own definition).
TREND_COUNTS = ("task_villages", "planning_groups", "plans_completed", "plans_in_database", "needs_total",
                "needs_adopted", "cadre_visits", "villager_participation", "funding_wan")
TREND_RATES = tuple(r for r in metrics.RATES
                    if r.numerator in TREND_COUNTS and r.denominator.split()[0] in TREND_COUNTS)


def trend(filters: Filters, scope: Scope, region: str | None = None) -> pl.DataFrame:
    """The region's totals as of each date a report covering it was filed (up to the filter's date): at date D each
    prefecture counts with its latest accepted report on or before D. Columns: as_of, prefectures_reported, the
    TREND_COUNTS and the rates over them (TREND_RATES).

    Every count is additive over prefectures, so each report's village rows are aggregated once and each date sums
    the aggregates of the reports then in force (one pass over the history, not one per date).
    """
    scope_where, scope_params = scope.sql("h")
    region_where, region_params = region_sql(region, "h")
    sums = ", ".join(metrics.sum_sql(c.name) for c in metrics.COUNTS if c.name in TREND_COUNTS)
    sql = f"""
        WITH per AS (
            SELECT h.report_id, {metrics.county_aggregates_sql("h", TREND_COUNTS)}
            FROM village_history h
            WHERE (CAST(? AS INTEGER) IS NULL OR h.task_year = CAST(? AS INTEGER)) AND {scope_where} AND {region_where}
            GROUP BY h.report_id
        ),
        d AS (
            -- The dates on which a report covering the region was filed (all dates, for the province).
            SELECT DISTINCT a.as_of AS d FROM accepted_reports a JOIN per USING (report_id)
            WHERE a.as_of IS NOT NULL AND (CAST(? AS DATE) IS NULL OR a.as_of <= CAST(? AS DATE))
        ),
        r AS (
            SELECT d.d, a.report_id FROM d JOIN accepted_reports a ON a.as_of <= d.d
            QUALIFY row_number() OVER (PARTITION BY d.d, a.prefecture_code ORDER BY a.as_of DESC, a.report_id DESC) = 1
        ),
        c AS (
            SELECT r.d AS as_of, count(*) AS prefectures_reported, {sums}
            FROM r JOIN per USING (report_id) GROUP BY r.d
        )
        SELECT *, {", ".join(f"{r.sql()} AS {r.name}" for r in TREND_RATES)}
        FROM c ORDER BY as_of
    """
    params = [filters.task_year, filters.task_year] + scope_params + region_params + [filters.as_of, filters.as_of]
    return db.query(sql, params)


def report_status(filters: Filters, scope: Scope) -> pl.DataFrame:
    """报送情况: every prefecture in the scope with its report in force (as of the filter's date) and how far it lags.

    Columns: code, name (common name), sort_order, as_of (null = nothing accepted), lag_days (behind the newest
    report of any prefecture), refused_since (files refused after the report in force), last_file_at, status
    ('未报送' / '滞后' / '正常'). Ordered: missing first, then most behind.
    """
    where, params = _ref_scope_sql(scope, "p.code")
    r_sql, r_params = reports_sql(filters)
    sql = f"""
        WITH cur AS ({r_sql}),
        latest AS (SELECT max(as_of) AS newest FROM cur),
        files AS (
            SELECT l.prefecture_code, max(l.loaded_at) AS last_file_at,
                   count(*) FILTER (WHERE l.status = 'refused'
                                    AND l.loaded_at > coalesce(a.loaded_at, TIMESTAMP '1900-01-01')) AS refused_since
            FROM report_log l LEFT JOIN cur c USING (prefecture_code)
            LEFT JOIN report_log a ON a.report_id = c.report_id
            WHERE l.prefecture_code IS NOT NULL
              AND (CAST(? AS DATE) IS NULL OR l.as_of IS NULL OR l.as_of <= CAST(? AS DATE))
            GROUP BY l.prefecture_code
        )
        SELECT p.code, p.common_name AS name, p.sort_order, c.as_of,
               date_diff('day', c.as_of, latest.newest) AS lag_days,
               coalesce(f.refused_since, 0) AS refused_since, f.last_file_at,
               CASE WHEN c.as_of IS NULL THEN '未报送' WHEN c.as_of < latest.newest THEN '滞后' ELSE '正常' END AS status
        FROM ref_prefecture p CROSS JOIN latest
        LEFT JOIN cur c ON c.prefecture_code = p.code
        LEFT JOIN files f ON f.prefecture_code = p.code
        WHERE {where}
        ORDER BY (c.as_of IS NULL) DESC, lag_days DESC NULLS FIRST, p.sort_order
    """
    return db.query(sql, r_params + [filters.as_of, filters.as_of] + params)


def reporting_dates(scope: Scope) -> list:
    """The distinct reporting dates of accepted reports the scope can see, newest first (for the date filter)."""
    where, params = _ref_scope_sql(scope, "prefecture_code")
    frame = db.query(f"SELECT DISTINCT as_of FROM accepted_reports WHERE as_of IS NOT NULL AND {where} "
                     "ORDER BY as_of DESC", params)
    return frame["as_of"].to_list()


def task_years(scope: Scope) -> list[int]:
    """The task years present in the current reports inside the scope (for the year filter)."""
    where, params = scope.sql()
    frame = db.query(f"SELECT DISTINCT task_year FROM village_history WHERE task_year IS NOT NULL AND {where} "
                     "ORDER BY task_year", params)
    return [int(y) for y in frame["task_year"].to_list()]


LOG_COLUMNS = ("report_id", "file_name", "prefecture_code", "prefecture_name", "as_of", "loaded_at", "status",
               "village_rows", "messages", "warnings", "superseded_by", "loaded_by", "sha256")


def report_log(scope: Scope, status: str | None = None, prefecture_code: str | None = None,
               limit: int = 500) -> pl.DataFrame:
    """The report log (newest first): every file loaded, accepted or not, with the reasons (messages) in Chinese.

    A prefecture or county user sees the files of their prefecture; files whose prefecture could not be told are
    seen by province users only. A county user sees what of each file concerns its county: ``village_rows`` counts
    its own county's villages in an accepted (or since superseded) file, and is null for refused and duplicate files
    (nothing of them was loaded); the reasons (messages, warnings) are not given, as they quote rows of every county
    of the prefecture's file, other counties' figures included. The refused files are still listed: a refusal holds
    the county's figures back too, and its prefecture's project group has the reasons.
    """
    where, params = _ref_scope_sql(scope, "l.prefecture_code")
    messages, warnings = ("CAST(NULL AS VARCHAR)",) * 2 if scope.county_code else ("l.messages", "l.warnings")
    rows, row_params = "l.village_rows", []
    if scope.county_code:
        rows = ("CASE WHEN l.status IN ('accepted', 'superseded') THEN (SELECT count(*) FROM village_rows v "
                "WHERE v.report_id = l.report_id AND v.county_code = ?) END")
        row_params = [scope.county_code]
    sql = f"""
        SELECT l.report_id, l.file_name, l.prefecture_code, p.common_name AS prefecture_name, l.as_of, l.loaded_at,
               l.status, {rows} AS village_rows, {messages} AS messages, {warnings} AS warnings, l.superseded_by,
               l.loaded_by, l.sha256
        FROM report_log l LEFT JOIN ref_prefecture p ON p.code = l.prefecture_code
        WHERE {where} AND (CAST(? AS VARCHAR) IS NULL OR l.status = CAST(? AS VARCHAR))
          AND (CAST(? AS VARCHAR) IS NULL OR l.prefecture_code = CAST(? AS VARCHAR))
        ORDER BY l.loaded_at DESC, l.report_id DESC
        LIMIT ?
    """
    return db.query(sql, row_params + params + [status, status, prefecture_code, prefecture_code, limit])


def report_log_counts(scope: Scope) -> pl.DataFrame:
    """Files per status (status, n) inside the scope."""
    where, params = _ref_scope_sql(scope, "prefecture_code")
    return db.query(f"SELECT status, count(*) AS n FROM report_log WHERE {where} GROUP BY status ORDER BY n DESC",
                    params)


# The alert rules the overview panel names first (the three), in this order; the others are summed.
PANEL_RULES = ("county_behind", "late_report", "no_civil_servant")


def alert_panel(filters: Filters, scope: Scope, top: int = 8) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(counts, top items) of the dispatch alerts (hometown.dispatch.alerts).

    counts: alert_type, label, red, yellow (the panel rules first, then the others). Top items: red first, the panel
    rules before the others, then the alerts' own order.
    """
    frame = alert_rules.alerts(scope, filters)
    labels = alert_rules.RULE_LABELS
    order = {t: i for i, t in enumerate(PANEL_RULES)}
    types = list(PANEL_RULES) + sorted(set(frame["alert_type"].to_list()) - set(PANEL_RULES))
    counts = pl.DataFrame({
        "alert_type": types,
        "label": [labels.get(t, t) for t in types],
        "red": [frame.filter((pl.col("alert_type") == t) & (pl.col("level") == "红")).height for t in types],
        "yellow": [frame.filter((pl.col("alert_type") == t) & (pl.col("level") == "黄")).height for t in types],
    })
    items = (frame.with_row_index("_order")
             .with_columns(_red=(pl.col("level") != "红").cast(pl.Int8),
                           _rule=pl.col("alert_type").replace_strict(order, default=len(order), return_dtype=pl.Int32))
             .sort("_red", "_rule", "_order").head(top).drop("_order", "_red", "_rule"))
    return counts, items
