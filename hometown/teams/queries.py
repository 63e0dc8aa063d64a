"""The /teams page's figures, read from the public views of warehouse/parts/teams.py and scoped to the user.

A person is addressed by ``person_key`` only (never the ID number); a key outside the user's scope is refused
(``OutOfScope``), whatever route it came by. Rates are recomputed from their counts when regions are added up, so
the province's figure is the share of the sums, never a mean of shares. ID and phone numbers leave this module
masked unless the role may see personal data (hometown.privacy). A warehouse written before the 驻村力量 part
existed reads as one without a 驻村力量 report (warehouse.db.query_part): the page, the overview's tile, the map's
metrics and the village page's team say there is none yet instead of failing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import partial

import polars as pl

from hometown.privacy import may_see_personal_data
from warehouse import db
from warehouse.parts.teams import KIND
from warehouse.scope import OutOfScope, Scope

# Every read of this module: a warehouse written before the 驻村力量 part existed reads as one without a report yet.
_query = partial(db.query_part, KIND)

CARD_MONTHS = 24
TERM_WINDOW_DAYS = 90
REQUIRED_RULES = {"team": "不少于3人的工作队", "first_secretary": "第一书记", "first_secretary_or_helped": "第一书记或他村兼帮",
                  "none": "无要求"}


@dataclass(frozen=True)
class Kpis:
    as_of: date | None
    in_post: int
    first_secretaries: int
    villages_covered: int
    villages_required: int
    villages_met: int
    staffing_met_rate: float | None
    attendance_met_rate: float | None
    households_visited_rate: float | None


def _share(a, b) -> float | None:
    return None if not b else a / b


def kpis(scope: Scope, db_path: str | None = None) -> Kpis:
    """The page's six figures for the user's region (county row, prefecture row, or the sum of prefectures)."""
    if scope.county_code:
        where, params = "level = 'county' AND code = ?", [scope.county_code]
    elif scope.prefecture_code:
        where, params = "level = 'prefecture' AND code = ?", [scope.prefecture_code]
    else:
        where, params = "level = 'prefecture'", []
    row = _query(f"""
SELECT max(as_of) AS as_of, sum(in_post) AS in_post, sum(first_secretaries) AS fs, sum(villages_covered) AS covered,
       sum(villages_required) AS required, sum(villages_met) AS met, sum(person_months_met) AS pm_met,
       sum(person_months) AS pm, sum(households_visited) AS visited, sum(households) AS households
FROM team_summary WHERE {where}""", params, path=db_path).row(0, named=True)
    n = lambda k: int(row[k] or 0)  # noqa: E731
    return Kpis(row["as_of"], n("in_post"), n("fs"), n("covered"), n("required"), n("met"),
                _share(n("met"), n("required")), _share(n("pm_met"), n("pm")), _share(n("visited"), n("households")))


def county_table(scope: Scope, prefecture_code: str | None = None, db_path: str | None = None) -> pl.DataFrame:
    """One row per county in scope (optionally of one prefecture), with the summary's figures."""
    where, params = scope.sql()
    if prefecture_code:
        where, params = f"{where} AND prefecture_code = ?", [*params, prefecture_code]
    return _query(f"""
SELECT s.code AS county_code, s.name AS county_name, s.prefecture_code, p.name AS prefecture_name, s.as_of,
       s.in_post, s.first_secretaries, s.villages_covered, s.villages_required, s.villages_met,
       s.staffing_met_rate, s.attendance_met_rate, s.households_visited_rate
FROM team_summary s JOIN ref_prefecture p ON p.code = s.prefecture_code JOIN ref_county c ON c.code = s.code
WHERE s.level = 'county' AND {where.replace('county_code', 's.code').replace('prefecture_code', 's.prefecture_code')}
ORDER BY p.sort_order, s.code""", params, path=db_path)


def _scoped(scope: Scope, county_code: str | None, village_key: str | None, alias: str = "") -> tuple[str, list]:
    where, params = scope.sql(alias)
    a = f"{alias}." if alias else ""
    if county_code:
        where, params = f"{where} AND {a}county_code = ?", [*params, county_code]
    if village_key:
        where, params = f"{where} AND {a}village_key = ?", [*params, village_key]
    return where, params


def villages_lacking(scope: Scope, county_code: str | None = None, db_path: str | None = None) -> pl.DataFrame:
    """Villages whose type needs a team or a first secretary and that lack it (the 力量配备不足 rule's villages)."""
    where, params = _scoped(scope, county_code, None, "v")
    frame = _query(f"""
SELECT v.prefecture_code, v.county_code, c.name AS county_name, v.township, v.village, v.village_key, v.village_code,
       v.village_type, v.people_in_post, v.first_secretaries, v.required_rule
FROM team_coverage v JOIN ref_county c ON c.code = v.county_code
WHERE v.required AND NOT v.meets_rule AND {where}
ORDER BY v.county_code, v.village""", params, path=db_path)
    return frame.with_columns(required=pl.col("required_rule").replace_strict(REQUIRED_RULES, default=None))


def short_people(scope: Scope, county_code: str | None = None, db_path: str | None = None) -> pl.DataFrame:
    """People short of days in their prefecture's latest month and the month before (one row per person-month)."""
    where, params = _scoped(scope, county_code, None, "a")
    return _query(f"""
SELECT a.prefecture_code, a.county_code, a.county_name, a.village, a.village_key, a.person_key, a.name, a.month,
       a.days_counted, a.days_required, a.days_absent, a.days_leave, a.this_month
FROM team_short_days a WHERE {where}
ORDER BY a.month DESC, a.county_code, a.village, a.name""", params, path=db_path)


def terms_ending(scope: Scope, county_code: str | None = None, days: int = TERM_WINDOW_DAYS,
                 db_path: str | None = None) -> pl.DataFrame:
    """People in post whose two-year term ends within ``days`` of their prefecture's as-of date (or has ended)."""
    where, params = _scoped(scope, county_code, None, "m")
    return _query(f"""
SELECT m.prefecture_code, m.county_code, m.county_name, m.village, m.village_key, m.person_key, m.name, m.role,
       m.start_date, m.term_end, date_diff('day', m.as_of, m.term_end) AS days_left
FROM team_members m
WHERE m.in_post AND m.term_end <= m.as_of + to_days(CAST(? AS INTEGER)) AND {where}
ORDER BY m.term_end, m.name""", [days, *params], path=db_path)


def members(scope: Scope, county_code: str | None = None, village_key: str | None = None, role: str | None = None,
            db_path: str | None = None) -> pl.DataFrame:
    """The current roster in scope (a village's team when ``village_key``), ID and phone masked unless allowed."""
    where, params = _scoped(scope, county_code, village_key, "m")
    frame = _query(f"""
SELECT m.prefecture_code, m.county_code, m.county_name, m.township, m.village, m.village_key, m.village_type,
       m.person_key, m.name, m.role, m.party_status, m.sending_level, m.sending_unit, m.rank, m.start_date,
       m.end_date, m.status, m.in_post, m.first_secretary, m.term_end, m.extra_villages, m.id_masked, m.phone_masked
FROM team_members m WHERE {where}
ORDER BY m.county_code, m.village, m.first_secretary DESC, m.name""", params, path=db_path)
    return _unmask(frame, role, db_path)


def _unmask(frame: pl.DataFrame, role: str | None, db_path: str | None) -> pl.DataFrame:
    """Adds id_number / phone: the masked forms, or the numbers for a role allowed personal data."""
    if not may_see_personal_data(role) or frame.is_empty():
        return frame.with_columns(id_number=pl.col("id_masked"), phone=pl.col("phone_masked"))
    keys = frame["person_key"].unique().to_list()
    personal = _query("SELECT person_key, id_number, phone FROM team_personal WHERE list_contains(?, person_key)",
                        [keys], path=db_path)
    return frame.join(personal, on="person_key", how="left")


def person(person_key: str, scope: Scope, role: str | None = None, db_path: str | None = None) -> dict:
    """A person's card: the current posting and 24 months of attendance (oldest first, missing months as null).

    A key the user's scope does not reach is refused like an unknown key: the message names neither."""
    frame = _query("SELECT * FROM team_people WHERE person_key = ?", [person_key], path=db_path)
    if frame.is_empty() or not scope.allows(frame["county_code"][0]):
        raise OutOfScope("无法查看该人员：不存在或不在您的权限范围内")
    latest = frame.row(0, named=True)
    card = _unmask(frame, role, db_path).row(0, named=True)
    card["attendance"] = _attendance_strip(person_key, latest["month"], db_path)
    return card


def _attendance_strip(person_key: str, last_month: date, db_path: str | None = None) -> pl.DataFrame:
    """The 24 months up to ``last_month``: each month's days counted, required and whether the rule was met."""
    return _query(f"""
WITH months AS (
    SELECT (date_trunc('month', CAST(? AS DATE)) - to_months(CAST(i AS INTEGER)))::DATE AS month
    FROM range({CARD_MONTHS}) t(i)
)
SELECT m.month, a.days_counted, a.days_required, a.days_absent, a.days_leave, a.households_visited, a.meets_rule,
       a.village
FROM months m LEFT JOIN (SELECT * FROM team_attendance WHERE person_key = ?) a ON a.month = m.month
ORDER BY m.month""", [last_month, person_key], path=db_path)


def map_rates(level: str, db_path: str | None = None) -> pl.DataFrame:
    """code, team_staffing_rate, team_attendance_rate of every county or prefecture (``level``): the map's two
    驻村力量 metrics, from team_summary (regions without a monthly report are absent)."""
    return _query("SELECT code, staffing_met_rate AS team_staffing_rate, attendance_met_rate AS team_attendance_rate "
                  "FROM team_summary WHERE level = ?", [level], path=db_path)
