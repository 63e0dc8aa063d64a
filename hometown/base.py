"""The village rows every figure starts from: as of a reporting date, for a task year, inside a scope and region.

"As of date D" means, per prefecture, its latest accepted report on or before D (prefectures report on different
days); with no date it is each prefecture's current report. Every page query builds on ``villages_sql``.
"""

from __future__ import annotations

from warehouse.scope import PROVINCE_CODE, Filters, Scope


def region_level(code: str) -> str:
    """'province', 'prefecture', 'county' or 'village' for a 6- or 12-digit code."""
    if len(code) == 12:
        return "village"
    if code == PROVINCE_CODE:
        return "province"
    if code.endswith("00"):
        return "prefecture"
    return "county"


def region_sql(code: str | None, alias: str = "") -> tuple[str, list]:
    a = f"{alias}." if alias else ""
    if not code or code == PROVINCE_CODE:
        return "TRUE", []
    level = region_level(code)
    if level == "prefecture":
        return f"{a}prefecture_code = ?", [code]
    if level == "county":
        return f"{a}county_code = ?", [code]
    return f"{a}village_key = ?", [code]


def reports_sql(filters: Filters) -> tuple[str, list]:
    """Each prefecture's report in force at the filter's reporting date (report_id, prefecture_code, as_of)."""
    return (
        "SELECT report_id, prefecture_code, as_of FROM accepted_reports "
        "WHERE (CAST(? AS DATE) IS NULL OR as_of <= CAST(? AS DATE)) "
        "QUALIFY row_number() OVER (PARTITION BY prefecture_code ORDER BY as_of DESC, report_id DESC) = 1",
        [filters.as_of, filters.as_of],
    )


def villages_sql(filters: Filters, scope: Scope, region: str | None = None) -> tuple[str, list]:
    """A subquery of village_history rows in force, filtered by task year, scope and region."""
    rep, rep_params = reports_sql(filters)
    scope_where, scope_params = scope.sql("h")
    region_where, region_params = region_sql(region, "h")
    sql = (
        f"SELECT h.* FROM village_history h JOIN ({rep}) r USING (report_id) "
        f"WHERE (CAST(? AS INTEGER) IS NULL OR h.task_year = CAST(? AS INTEGER)) AND {scope_where} AND {region_where}"
    )
    return sql, rep_params + [filters.task_year, filters.task_year] + scope_params + region_params
