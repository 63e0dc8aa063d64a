"""驻村力量 (TEAMS_SPEC.md) on the ground floor: its tables, its public views (§5, pinned columns), its seven rules (§3)
and the allowances (§4).

Tables hold the rows of accepted and superseded workbooks under their report_id (reports.kind = 'teams'); what is in
force is decided in the views: a prefecture's current roster is its latest month's workbook; a person-month's
attendance is the row of the latest accepted file that carries it (a re-sent month supersedes the whole earlier
file; an earlier month's row inside a later file replaces that person-month).

ID numbers and phone numbers are stored (``team_roster_rows``) for the match only. A person is addressed by
``person_key``, a keyed digest of the ID number (the key is a random salt kept in ``meta``, so the digest cannot be
recomputed from a guessed ID number outside the warehouse). The public views carry ``id_masked`` / ``phone_masked``;
the unmasked numbers are only in ``team_personal`` (person_key, id_number, phone), for a role allowed personal data.

What the pages read is materialised: the public views team_members, team_attendance, team_coverage, team_summary
(and team_village_summary, team_people, team_short_days) are copies of their ``*_live`` views refilled by the part's
refresh at the end of every write whose inputs changed (see ``refresh_caches``); their columns stay the pinned ones.
The rates of §5 are defined once (``RATES``) and read by the page, the map, the briefing and the rankings.

The rules' thresholds are settings of config/alerts.toml (``[team_…]`` sections); the rule that sets the required
days (team_days_short.required_days) is read by the views too, so the attendance view and the rule agree. Allowance
rates are config/teams.toml, read at each write.
"""

from __future__ import annotations

import tomllib

from warehouse.metrics import Rate
from warehouse.parts import AlertRule, SchemaPart, num, on
from warehouse.settings import CONFIG_DIR

KIND = "teams"
TEAMS_FILE = CONFIG_DIR / "teams.toml"
RED, YELLOW = "红", "黄"
FIRST_SECRETARY_ROLES = ("第一书记", "第一书记兼工作队长")
IN_POST = "在岗"
ALLOWANCE_DEFAULTS = {"living_per_day": 100.0, "communication_per_month": 100.0, "trips_cap": 2}


def mask_id(text: str | None) -> str:
    """532501199001011234 → 532501********1234 (6 shown, 8 hidden, 4 shown)."""
    t = "" if text is None else str(text)
    return t[:6] + "*" * 8 + t[-4:] if len(t) == 18 else "*" * len(t)


def mask_phone(text: str | None) -> str:
    """13812345678 → 138****5678; a fixed line keeps its last 4."""
    t = "" if text is None else str(text)
    if len(t) == 11 and t.startswith("1"):
        return t[:3] + "****" + t[-4:]
    return "*" * max(len(t) - 4, 0) + t[-4:] if t else ""


# The same masks in SQL (one shape: the Python functions above, checked equal in the tests).
MASK_ID_SQL = "CASE WHEN length({c}) = 18 THEN substr({c}, 1, 6) || '********' || substr({c}, 15, 4) " \
              "ELSE repeat('*', length({c})) END"
MASK_PHONE_SQL = "CASE WHEN {c} IS NULL THEN NULL WHEN length({c}) = 11 AND {c} LIKE '1%' " \
                 "THEN substr({c}, 1, 3) || '****' || substr({c}, 8, 4) " \
                 "ELSE repeat('*', greatest(length({c}) - 4, 0)) || right({c}, 4) END"


def allowance_rates() -> dict:
    """The allowance rates (§4): config/teams.toml [allowances], else the seed's defaults."""
    rates = dict(ALLOWANCE_DEFAULTS)
    if TEAMS_FILE.exists():
        with TEAMS_FILE.open("rb") as f:
            rates.update(tomllib.load(f).get("allowances", {}))
    return rates


TABLES = """
CREATE TABLE IF NOT EXISTS team_roster_rows (
    report_id INTEGER NOT NULL, excel_row INTEGER, month DATE NOT NULL, prefecture_code VARCHAR NOT NULL,
    county_code VARCHAR NOT NULL, township VARCHAR, village VARCHAR, village_code VARCHAR, village_key VARCHAR NOT NULL,
    village_type VARCHAR, resettled_poor INTEGER, households INTEGER, name VARCHAR, id_number VARCHAR NOT NULL,
    person_key VARCHAR NOT NULL, phone VARCHAR, party_status VARCHAR, party_date DATE, work_date DATE,
    sending_level VARCHAR, sending_unit VARCHAR, rank VARCHAR, role VARCHAR, start_date DATE, end_date DATE,
    status VARCHAR, extra_villages VARCHAR, extra_keys VARCHAR
);
CREATE TABLE IF NOT EXISTS team_attendance_rows (
    report_id INTEGER NOT NULL, excel_row INTEGER, prefecture_code VARCHAR NOT NULL, person_key VARCHAR NOT NULL,
    month DATE NOT NULL, days_in_village INTEGER, days_official INTEGER, days_leave INTEGER, days_absent INTEGER,
    households_visited INTEGER, trips INTEGER
);
CREATE TABLE IF NOT EXISTS team_assessment_rows (
    report_id INTEGER NOT NULL, excel_row INTEGER, prefecture_code VARCHAR NOT NULL, person_key VARCHAR NOT NULL,
    year INTEGER NOT NULL, result VARCHAR, trainings INTEGER, health_check BOOLEAN, insurance BOOLEAN
);
"""

_FS = "('" + "', '".join(FIRST_SECRETARY_ROLES) + "')"

# §5's rates, one definition each (the page, the map, the briefing and the rankings read them from team_summary /
# team_village_summary): each a share of two counts of the summary, summed over the region before dividing.
COUNTS = {"in_post": "在岗驻村干部", "first_secretaries": "第一书记", "villages_covered": "覆盖村",
          "villages_required": "有配备要求的村", "villages_met": "配备达标村", "person_months_met": "在村天数达标人次",
          "person_months": "在岗人次", "households_visited": "走访户数（每村以全村户数为限）",
          "households": "全村户数"}
RATES = (
    Rate("staffing_met_rate", "驻村力量配备达标率", "villages_met", "villages_required"),
    Rate("attendance_met_rate", "驻村在村天数达标率", "person_months_met", "person_months"),
    Rate("households_visited_rate", "农户走访覆盖率", "households_visited", "households"),
)
LABELS = COUNTS | {r.name: r.label for r in RATES}
RATES_SQL = ", ".join(f"{r.sql()} AS {r.name}" for r in RATES)
SUMS = ", ".join(f"CAST(sum({c}) AS BIGINT) AS {c}" for c in COUNTS)


def _setting(rule: str, name: str, default: float) -> str:
    return (f"coalesce((SELECT value FROM alert_config WHERE alert_type = '{rule}' AND name = '{name}'), {default})")


def views() -> str:
    rates = allowance_rates()
    required = _setting("team_days_short", "required_days", 20)
    min_people = _setting("team_understaffed", "min_people", 3)
    large_site = _setting("team_understaffed", "large_site", 500)
    small_site = _setting("team_understaffed", "small_site", 100)
    return f"""
CREATE OR REPLACE VIEW team_reports AS
SELECT report_id, prefecture_code, as_of, date_trunc('month', as_of)::DATE AS month, file_name, loaded_at
FROM reports WHERE status = 'accepted' AND kind = '{KIND}';

-- Each prefecture's workbook in force: its latest month.
CREATE OR REPLACE VIEW team_current_reports AS
SELECT * FROM team_reports
QUALIFY row_number() OVER (PARTITION BY prefecture_code ORDER BY as_of DESC, report_id DESC) = 1;

-- Every accepted roster row, with its workbook's month; in_post: in post at the end of that month.
CREATE OR REPLACE VIEW team_roster_history AS
SELECT r.* EXCLUDE (id_number, phone), t.as_of,
       (r.status = '{IN_POST}' AND r.end_date IS NULL) AS in_post
FROM team_roster_rows r JOIN team_reports t USING (report_id);

CREATE OR REPLACE VIEW team_members_live AS
SELECT h.prefecture_code, p.name AS prefecture_name, h.county_code, c.name AS county_name, h.township,
       h.village_code, h.village_key, h.village, h.village_type, h.person_key, h.name, h.role, h.party_status,
       h.sending_level, h.sending_unit, h.start_date, h.end_date, h.status, h.extra_villages, h.extra_keys,
       h.rank, h.party_date, h.work_date, h.resettled_poor, h.households, h.in_post,
       h.role IN {_FS} AS first_secretary,
       (h.start_date + INTERVAL 2 YEAR)::DATE AS term_end, h.as_of,
       {MASK_ID_SQL.format(c='r.id_number')} AS id_masked, {MASK_PHONE_SQL.format(c='r.phone')} AS phone_masked
FROM team_roster_history h
JOIN team_current_reports t USING (report_id)
JOIN team_roster_rows r ON r.report_id = h.report_id AND r.person_key = h.person_key
JOIN ref_prefecture p ON p.code = h.prefecture_code
JOIN ref_county c ON c.code = h.county_code;

CREATE OR REPLACE VIEW team_members AS SELECT * FROM team_members_live;

-- Every person's latest roster row (in post or not), the numbers masked: what a person's card shows.
CREATE OR REPLACE VIEW team_people_live AS
SELECT h.*, {MASK_ID_SQL.format(c='r.id_number')} AS id_masked, {MASK_PHONE_SQL.format(c='r.phone')} AS phone_masked
FROM team_roster_history h
JOIN team_roster_rows r ON r.report_id = h.report_id AND r.person_key = h.person_key
QUALIFY row_number() OVER (PARTITION BY h.person_key ORDER BY h.as_of DESC, h.report_id DESC) = 1;

CREATE OR REPLACE VIEW team_people AS SELECT * FROM team_people_live;

-- The unmasked numbers, for the match and for a role allowed personal data only (never a default column).
CREATE OR REPLACE VIEW team_personal AS
SELECT person_key, any_value(id_number) AS id_number,
       arg_max(phone, report_id) AS phone
FROM team_roster_rows GROUP BY person_key;

-- A person-month's attendance in force: the row of the latest accepted file carrying it.
CREATE OR REPLACE VIEW team_attendance_current AS
SELECT a.* FROM team_attendance_rows a JOIN team_reports t USING (report_id)
QUALIFY row_number() OVER (PARTITION BY a.prefecture_code, a.person_key, a.month ORDER BY a.report_id DESC) = 1;

CREATE OR REPLACE VIEW team_attendance_live AS
WITH month_roster AS (
    -- Each person's roster row of each month (the month's workbook in force), one per person-month.
    SELECT h.* FROM team_roster_history h
    QUALIFY row_number() OVER (PARTITION BY h.prefecture_code, h.person_key, h.month ORDER BY h.report_id DESC) = 1
), latest_roster AS (
    SELECT * FROM month_roster
    QUALIFY row_number() OVER (PARTITION BY prefecture_code, person_key ORDER BY month DESC) = 1
), posting AS (
    -- The person's posting for the month: the roster of that month, else the person's latest roster. Two
    -- equality joins (not every roster row of the person), so the cost follows the attendance rows.
    SELECT a.prefecture_code, a.person_key, a.month,
           coalesce(m.county_code, l.county_code) AS county_code, coalesce(m.village_code, l.village_code)
               AS village_code, coalesce(m.village_key, l.village_key) AS village_key,
           coalesce(m.village, l.village) AS village, coalesce(m.sending_unit, l.sending_unit) AS sending_unit,
           CASE WHEN m.person_key IS NOT NULL THEN m.start_date ELSE l.start_date END AS start_date,
           CASE WHEN m.person_key IS NOT NULL THEN m.end_date ELSE l.end_date END AS end_date,
           coalesce(m.name, l.name) AS name
    FROM team_attendance_current a
    JOIN latest_roster l ON l.prefecture_code = a.prefecture_code AND l.person_key = a.person_key
    LEFT JOIN month_roster m ON m.prefecture_code = a.prefecture_code AND m.person_key = a.person_key
                            AND m.month = a.month
), days AS (
    SELECT a.*, p.county_code, p.village_code, p.village_key, p.village, p.sending_unit, p.name,
           greatest(date_diff('day', greatest(p.start_date, a.month),
                              least(coalesce(p.end_date, last_day(a.month)), last_day(a.month))) + 1, 0) AS days_in_post,
           day(last_day(a.month)) AS days_in_month
    FROM team_attendance_current a JOIN posting p USING (prefecture_code, person_key, month)
)
SELECT prefecture_code, county_code, village_code, village_key, village, person_key, name, month, sending_unit,
       days_in_village, days_official, days_leave, days_absent,
       days_in_village + days_official AS days_counted,
       CAST(ceil({required} * days_in_post / days_in_month - 1e-9) AS INTEGER) AS days_required,
       days_in_post, households_visited, trips,
       days_in_village + days_official >= CAST(ceil({required} * days_in_post / days_in_month - 1e-9) AS INTEGER)
           AS meets_rule
FROM days;

CREATE OR REPLACE VIEW team_attendance AS SELECT * FROM team_attendance_live;

CREATE OR REPLACE VIEW team_coverage_live AS
WITH villages AS (
    -- Every village a workbook ever posted someone to, with its latest type.
    SELECT prefecture_code, village_key, arg_max(county_code, report_id) AS county_code,
           arg_max(village_code, report_id) AS village_code, arg_max(village, report_id) AS village,
           arg_max(township, report_id) AS township, arg_max(village_type, report_id) AS village_type,
           arg_max(resettled_poor, report_id) AS resettled_poor, arg_max(households, report_id) AS households
    FROM team_roster_history GROUP BY prefecture_code, village_key
), staff AS (
    SELECT prefecture_code, village_key, count(*) FILTER (WHERE in_post) AS people_in_post,
           count(*) FILTER (WHERE in_post AND first_secretary) AS first_secretaries
    FROM team_members GROUP BY prefecture_code, village_key
), helped AS (
    SELECT DISTINCT m.prefecture_code, unnest(string_split(m.extra_keys, ';')) AS village_key
    FROM team_members m WHERE m.in_post AND m.extra_keys IS NOT NULL
), judged AS (
    SELECT v.*, coalesce(s.people_in_post, 0) AS people_in_post, coalesce(s.first_secretaries, 0) AS first_secretaries,
           h.village_key IS NOT NULL AS helped_by_other,
           CASE WHEN v.village_type = '重点帮扶村'
                  OR (v.village_type = '易地搬迁安置点' AND coalesce(v.resettled_poor, 0) >= {large_site}) THEN 'team'
                WHEN v.village_type IN ('一般脱贫村', '软弱涣散村')
                  OR (v.village_type = '易地搬迁安置点' AND coalesce(v.resettled_poor, 0) >= {small_site})
                  THEN 'first_secretary'
                WHEN v.village_type = '示范创建村' THEN 'first_secretary_or_helped'
                ELSE 'none' END AS required_rule
    FROM villages v
    LEFT JOIN staff s USING (prefecture_code, village_key)
    LEFT JOIN helped h USING (prefecture_code, village_key)
)
SELECT prefecture_code, county_code, township, village_code, village_key, village, village_type, resettled_poor,
       households, people_in_post, first_secretaries, required_rule,
       CASE required_rule WHEN 'team' THEN people_in_post >= {min_people}
                          WHEN 'first_secretary' THEN first_secretaries > 0
                          WHEN 'first_secretary_or_helped' THEN first_secretaries > 0 OR helped_by_other
                          ELSE TRUE END AS meets_rule,
       required_rule <> 'none' AS required, helped_by_other
FROM judged;

CREATE OR REPLACE VIEW team_coverage AS SELECT * FROM team_coverage_live;

CREATE OR REPLACE VIEW team_allowances AS
SELECT a.person_key, a.month, a.sending_unit, a.prefecture_code, a.county_code, a.village_code, a.name,
       a.days_counted, CAST({float(rates['living_per_day'])} * a.days_counted AS DOUBLE) AS living_yuan,
       CAST(CASE WHEN a.days_in_post > 0 THEN {float(rates['communication_per_month'])} ELSE 0 END AS DOUBLE)
           AS communication_yuan,
       CAST(least(coalesce(a.trips, 0), {int(rates['trips_cap'])}) AS INTEGER) AS trips
FROM team_attendance a;

-- People short of days in their prefecture's latest month and the month before (one row per person-month): the
-- /teams list, which at national scale is tens of thousands of rows.
CREATE OR REPLACE VIEW team_short_days_live AS
SELECT a.prefecture_code, a.county_code, c.name AS county_name, a.village, a.village_key, a.person_key, a.name,
       a.month, a.days_counted, a.days_required, a.days_absent, a.days_leave, a.month = t.month AS this_month
FROM team_attendance a JOIN team_current_reports t ON t.prefecture_code = a.prefecture_code
JOIN ref_county c ON c.code = a.county_code
WHERE NOT a.meets_rule AND a.month >= (t.month - INTERVAL 1 MONTH)::DATE AND a.month <= t.month;

CREATE OR REPLACE VIEW team_short_days AS SELECT * FROM team_short_days_live;

-- The figures of team_summary per village (the grain the page's regions add up; also the rankings' village level):
-- every village of team_coverage, code = village_key.
CREATE OR REPLACE VIEW team_village_summary_live AS
WITH cur AS (SELECT prefecture_code, month, as_of FROM team_current_reports),
person_month AS (
    -- Each person in post during the latest month (days in post > 0), met or not: the person-months of the rate.
    SELECT m.prefecture_code, m.village_key, count(*) AS person_months,
           count(*) FILTER (WHERE a.meets_rule IS TRUE) AS person_months_met
    FROM team_members m JOIN cur c USING (prefecture_code)
    LEFT JOIN team_attendance a ON a.prefecture_code = m.prefecture_code AND a.person_key = m.person_key
                               AND a.month = c.month
    WHERE greatest(date_diff('day', greatest(m.start_date, c.month), least(coalesce(m.end_date, c.as_of), c.as_of))
                   + 1, 0) > 0
    GROUP BY ALL
),
visits AS (
    -- Households visited this year to date per village (its whole team, people who left included), capped at the
    -- village's households: a village visited twice over does not make up for another.
    SELECT a.prefecture_code, a.village_key, sum(a.households_visited) AS visited
    FROM team_attendance a JOIN cur c USING (prefecture_code)
    WHERE year(a.month) = year(c.month) AND a.month <= c.month
    GROUP BY ALL
),
people AS (
    SELECT prefecture_code, village_key, count(*) FILTER (WHERE in_post) AS in_post,
           count(*) FILTER (WHERE in_post AND first_secretary) AS first_secretaries
    FROM team_members GROUP BY ALL
),
village AS (
    SELECT v.prefecture_code, v.county_code, v.village_key, v.village_code, v.village, cur.as_of,
           coalesce(p.in_post, 0) AS in_post, coalesce(p.first_secretaries, 0) AS first_secretaries,
           CAST(v.people_in_post > 0 AS INTEGER) AS villages_covered, CAST(v.required AS INTEGER) AS villages_required,
           CAST(v.required AND v.meets_rule AS INTEGER) AS villages_met,
           coalesce(pm.person_months_met, 0) AS person_months_met, coalesce(pm.person_months, 0) AS person_months,
           least(coalesce(x.visited, 0), coalesce(v.households, 0)) AS households_visited,
           CASE WHEN v.people_in_post > 0 OR least(coalesce(x.visited, 0), coalesce(v.households, 0)) > 0
                THEN v.households END AS households
    FROM team_coverage v JOIN cur USING (prefecture_code)
    LEFT JOIN people p USING (prefecture_code, village_key)
    LEFT JOIN person_month pm USING (prefecture_code, village_key)
    LEFT JOIN visits x USING (prefecture_code, village_key)
)
SELECT 'village' AS level, village_key AS code, village AS name, prefecture_code, county_code, village_code, as_of,
       CAST(in_post AS BIGINT) AS in_post, CAST(first_secretaries AS BIGINT) AS first_secretaries,
       CAST(villages_covered AS BIGINT) AS villages_covered, CAST(villages_required AS BIGINT) AS villages_required,
       CAST(villages_met AS BIGINT) AS villages_met, {RATES_SQL},
       CAST(person_months_met AS BIGINT) AS person_months_met, CAST(person_months AS BIGINT) AS person_months,
       CAST(households_visited AS BIGINT) AS households_visited, CAST(households AS BIGINT) AS households
FROM village;

CREATE OR REPLACE VIEW team_village_summary AS SELECT * FROM team_village_summary_live;

-- County and prefecture: sums of the villages' counts, the rates recomputed from the sums (never a mean of shares).
-- A person is counted in the village of their current posting; a county with a workbook but no village row has none.
CREATE OR REPLACE VIEW team_summary_live AS
WITH g AS (
    SELECT CASE WHEN grouping(county_code) = 1 THEN 'prefecture' ELSE 'county' END AS level,
           coalesce(county_code, prefecture_code) AS code, prefecture_code, max(as_of) AS as_of,
           {SUMS}
    FROM team_village_summary
    GROUP BY GROUPING SETS ((prefecture_code), (prefecture_code, county_code))
)
SELECT g.level, g.code, coalesce(c.name, p.name) AS name, g.prefecture_code, g.as_of, g.in_post,
       g.first_secretaries, g.villages_covered, g.villages_required, g.villages_met, {RATES_SQL},
       g.person_months_met, g.person_months, g.households_visited, g.households
FROM g
LEFT JOIN ref_county c ON g.level = 'county' AND c.code = g.code
LEFT JOIN ref_prefecture p ON g.level = 'prefecture' AND p.code = g.code;

CREATE OR REPLACE VIEW team_summary AS SELECT * FROM team_summary_live;
"""


# ------------------------------------------------------------------------------------------------ materialised
# The public views team_members, team_attendance, team_coverage and team_summary (and team_village_summary) are
# computed by their *_live views and copied into tables at the end of every write whose inputs changed (the part's
# refresh, before the alert rules read them), so a page reads small sorted tables instead of recomputing every
# person-month (/teams: ~100 ms → a few ms on the demo; seconds → tens of ms at national scale). Each write starts
# from the live definitions (ensure_schema creates the views as above: a write's own checks, an empty warehouse and a
# warehouse written before the copies existed read the live views), and the refresh points each public view at its
# copy, in the order they build on, so a later copy is computed from the earlier ones.
CACHED = {  # name → the order the copy is stored in (the pages' filters: DuckDB's row-group min/max skip the rest)
    "team_members": "county_code, village_key, person_key",
    "team_people": "person_key",
    "team_attendance": "person_key, month",   # a person's card reads one person's months
    "team_short_days": "month DESC, county_code, village, name",
    "team_coverage": "county_code, village_key",
    "team_village_summary": "county_code, code",
    "team_summary": "level, code",
}
CACHE_SIGNATURE_KEY = "team_cache_inputs"
CACHE_SIGNATURE_SQL = f"""
SELECT md5(concat_ws('|',
    coalesce((SELECT string_agg(report_id || ':' || as_of, ',' ORDER BY report_id) FROM team_reports), '-'),
    coalesce((SELECT string_agg(concat_ws(':', alert_type, name, value), ',' ORDER BY alert_type, name)
              FROM alert_config WHERE alert_type LIKE 'team_%'), '-'),
    (SELECT count(*) FROM ref_county), (SELECT count(*) FROM ref_prefecture),
    coalesce((SELECT string_agg(view_name || '=' || sql, ';' ORDER BY view_name) FROM duckdb_views()
              WHERE view_name LIKE 'team_%' AND view_name NOT IN ({", ".join(f"'{n}'" for n in CACHED)})), '-')))"""


def refresh_caches(con) -> bool:
    """Refill the copies when anything they are computed from changed (True when it did), and point the public
    views at them. Runs inside the write connection (warehouse.store.writing), before the alert rules."""
    signature = con.execute(CACHE_SIGNATURE_SQL).fetchall()[0][0]
    stored = con.execute("SELECT value FROM meta WHERE key = ?", [CACHE_SIGNATURE_KEY]).fetchall()
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    fresh = stored == [(signature,)] and all(f"{n}_cache" in tables for n in CACHED)
    # At national scale a copy takes seconds, and DuckDB would draw its own progress bar on the terminal (or into
    # the log of a cron ingest): the ingest's output is its own lines only.
    bar = con.execute("SELECT current_setting('enable_progress_bar')").fetchall()[0][0]
    con.execute("SET enable_progress_bar = false").fetchall()
    try:
        for name, order in CACHED.items():
            if not fresh:
                con.execute(f"CREATE OR REPLACE TABLE {name}_cache AS SELECT * FROM {name}_live ORDER BY {order}") \
                    .fetchall()
            con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM {name}_cache").fetchall()
    finally:
        con.execute(f"SET enable_progress_bar = {'true' if bar else 'false'}").fetchall()
    if not fresh:
        con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [CACHE_SIGNATURE_KEY, signature]).fetchall()
    return not fresh


# ------------------------------------------------------------------------------------------------ rules (§3)
# Each judged at its prefecture's latest month, as of that month's last day (team_current_reports). A rule about
# a person names the person (name, person_key in alert_key), never the ID number.

def _raised(rule: str, level: str, value: str, threshold: str, detail: str, key: str, frm: str, where: str,
            village: str = "m.village", village_key: str = "m.village_key", village_code: str = "m.village_code",
            county: str = "m.county_code", township: str = "m.township", as_of: str = "t.as_of") -> str:
    return f"""
SELECT '{rule}' AS alert_type, {level} AS level, t.prefecture_code, {county} AS county_code,
       {village_code} AS village_code, {as_of} AS as_of, CAST({value} AS DOUBLE) AS value,
       CAST({threshold} AS DOUBLE) AS threshold, {detail} AS detail, '{rule}:' || {key} AS alert_key,
       NULL::INTEGER AS task_year, {township} AS township, {village} AS village, {village_key} AS village_key
FROM {frm} CROSS JOIN cfg
WHERE {on(rule)} AND {where}"""


DAYS_SHORT = _raised(
    "team_days_short",
    level=f"""CASE WHEN a.days_absent > 0 OR prev.meets_rule = FALSE THEN '{RED}' ELSE '{YELLOW}' END""",
    value="a.days_counted", threshold="a.days_required",
    detail="printf('%s（%s）%s在村天数（含公务外出）%d 天，少于应在村 %d 天%s%s', a.name, m.role, "
           "strftime(a.month, '%Y年%m月'), a.days_counted, a.days_required, "
           "CASE WHEN a.days_absent > 0 THEN printf('，未请假离岗 %d 天', a.days_absent) ELSE '' END, "
           "CASE WHEN prev.meets_rule = FALSE THEN '，连续两个月不足' ELSE '' END)",
    key="a.person_key || ':' || strftime(a.month, '%Y-%m')",
    frm="""team_current_reports t
JOIN team_attendance a ON a.prefecture_code = t.prefecture_code AND a.month = t.month
JOIN team_members m ON m.prefecture_code = a.prefecture_code AND m.person_key = a.person_key
LEFT JOIN team_attendance prev ON prev.prefecture_code = a.prefecture_code AND prev.person_key = a.person_key
                              AND prev.month = (a.month - INTERVAL 1 MONTH)::DATE""",
    where="a.days_counted < a.days_required")

UNDERSTAFFED = _raised(
    "team_understaffed", level=f"'{RED}'",
    value="CASE WHEN v.required_rule = 'team' THEN v.people_in_post ELSE v.first_secretaries END",
    threshold=f"CASE WHEN v.required_rule = 'team' THEN coalesce({num('team_understaffed', 'min_people')}, 3) ELSE 1 END",
    detail="CASE WHEN v.required_rule = 'team' THEN printf('%s（%s）在岗驻村人员 %d 人，应不少于 %d 人', v.village, "
           f"v.village_type, v.people_in_post, CAST(coalesce({num('team_understaffed', 'min_people')}, 3) AS INTEGER))"
           " ELSE printf('%s（%s）无在岗第一书记', v.village, v.village_type) END",
    key="v.prefecture_code || ':' || v.village_key",
    frm="team_current_reports t JOIN team_coverage v ON v.prefecture_code = t.prefecture_code",
    where="v.required AND NOT v.meets_rule",
    village="v.village", village_key="v.village_key", village_code="v.village_code", county="v.county_code",
    township="v.township")

INELIGIBLE = _raised(
    "team_ineligible", level=f"'{YELLOW}'",
    value="date_diff('day', m.party_date, m.start_date) / 365.25", threshold="1",
    detail="printf('第一书记%s：%s', m.name, concat_ws('；', "
           "CASE WHEN m.party_status IS DISTINCT FROM '中共党员' THEN '政治面貌为' || coalesce(m.party_status, '未填') "
           "|| '，应为中共党员' END, "
           f"CASE WHEN m.party_status = '中共党员' AND m.party_date > m.start_date - to_years(CAST(coalesce("
           f"{num('team_ineligible', 'min_party_years')}, 1) AS INTEGER)) THEN '派驻时党龄不满' || CAST(coalesce("
           f"{num('team_ineligible', 'min_party_years')}, 1) AS INTEGER) || '年' END, "
           f"CASE WHEN m.work_date > m.start_date - to_years(CAST(coalesce({num('team_ineligible', 'min_work_years')}, 2)"
           f" AS INTEGER)) THEN '派驻时工作不满' || CAST(coalesce({num('team_ineligible', 'min_work_years')}, 2) AS INTEGER)"
           " || '年' END))",
    key="m.person_key",
    frm="team_current_reports t JOIN team_members m ON m.prefecture_code = t.prefecture_code",
    where=f"m.in_post AND m.first_secretary AND (m.party_status IS DISTINCT FROM '中共党员' "
          f"OR m.party_date > m.start_date - to_years(CAST(coalesce({num('team_ineligible', 'min_party_years')}, 1) AS INTEGER)) "
          f"OR m.work_date > m.start_date - to_years(CAST(coalesce({num('team_ineligible', 'min_work_years')}, 2) AS INTEGER)))")

TOO_MANY = _raised(
    "team_too_many_villages", level=f"'{YELLOW}'", value="x.n", threshold=f"coalesce({num('team_too_many_villages', 'max_extra')}, 2)",
    detail=f"printf('%s驻村工作队兼帮扶 %d 个村，超过 %d 个', x.village, x.n, "
           f"CAST(coalesce({num('team_too_many_villages', 'max_extra')}, 2) AS INTEGER))",
    key="x.prefecture_code || ':' || x.village_key",
    frm="""team_current_reports t JOIN (
    SELECT prefecture_code, village_key, any_value(village) AS village, any_value(village_code) AS village_code,
           any_value(county_code) AS county_code, any_value(township) AS township,
           count(DISTINCT k) AS n
    FROM (SELECT *, unnest(string_split(extra_keys, ';')) AS k FROM team_members WHERE in_post AND extra_keys IS NOT NULL)
    GROUP BY prefecture_code, village_key) x ON x.prefecture_code = t.prefecture_code""",
    where=f"x.n > coalesce({num('team_too_many_villages', 'max_extra')}, 2)",
    village="x.village", village_key="x.village_key", village_code="x.village_code", county="x.county_code",
    township="x.township")

TERM_DUE = _raised(
    "team_term_due",
    level=f"CASE WHEN t.as_of > m.term_end THEN '{RED}' ELSE '{YELLOW}' END",
    value="date_diff('day', t.as_of, m.term_end)",
    threshold=f"coalesce({num('team_term_due', 'warn_days')}, 60)",
    detail="CASE WHEN t.as_of > m.term_end THEN printf('%s（%s）%s 已驻村满两年（%s 到期），应轮换', m.name, m.role, "
           "m.village, strftime(m.term_end, '%Y-%m-%d')) ELSE printf('%s（%s）%s 驻村两年期将于 %s 届满（还有 %d 天）', "
           "m.name, m.role, m.village, strftime(m.term_end, '%Y-%m-%d'), date_diff('day', t.as_of, m.term_end)) END",
    key="m.person_key",
    frm="team_current_reports t JOIN team_members m ON m.prefecture_code = t.prefecture_code",
    where=f"m.in_post AND t.as_of >= m.term_end - to_days(CAST(coalesce({num('team_term_due', 'warn_days')}, 60) AS INTEGER))")

VISITS = _raised(
    "team_visits_incomplete", level=f"'{YELLOW}'", value="x.visited", threshold="v.households",
    detail="printf('%s %d 年走访农户 %d 户次，少于全村 %d 户，未实现全覆盖', v.village, year(t.month), x.visited, "
           "v.households)",
    key="v.prefecture_code || ':' || v.village_key || ':' || year(t.month)",
    frm="""team_current_reports t JOIN team_coverage v ON v.prefecture_code = t.prefecture_code
JOIN (SELECT a.prefecture_code, a.village_key, year(a.month) AS y, sum(a.households_visited) AS visited
      FROM team_attendance a GROUP BY ALL) x
  ON x.prefecture_code = v.prefecture_code AND x.village_key = v.village_key AND x.y = year(t.month)""",
    where="month(t.month) = 12 AND v.households > 0 AND x.visited < v.households",
    village="v.village", village_key="v.village_key", village_code="v.village_code", county="v.county_code",
    township="v.township")

YEARLY = _raised(
    "team_yearly_missing", level=f"'{YELLOW}'", value="0", threshold="1",
    detail="printf('%s（%s）%d 年度事项缺失：%s', m.name, m.role, y.year, concat_ws('、', "
           "CASE WHEN s.person_key IS NULL THEN '无年度考核' END, "
           "CASE WHEN coalesce(s.trainings, 0) = 0 THEN '未参加培训' END, "
           "CASE WHEN s.health_check IS NOT TRUE THEN '未健康体检' END, "
           "CASE WHEN s.insurance IS NOT TRUE THEN '未办意外保险' END))",
    key="m.person_key || ':' || y.year",
    frm="""team_current_reports t
JOIN (SELECT r.prefecture_code, max(r.year) AS year FROM team_assessment_rows r JOIN team_reports USING (report_id)
      GROUP BY ALL) y ON y.prefecture_code = t.prefecture_code
JOIN team_roster_history m ON m.prefecture_code = t.prefecture_code AND m.report_id = t.report_id
LEFT JOIN (SELECT r.* FROM team_assessment_rows r JOIN team_reports USING (report_id)
           QUALIFY row_number() OVER (PARTITION BY r.prefecture_code, r.person_key, r.year ORDER BY r.report_id DESC) = 1) s
  ON s.prefecture_code = m.prefecture_code AND s.person_key = m.person_key AND s.year = y.year""",
    where="m.start_date <= make_date(y.year, 7, 1) AND (m.end_date IS NULL OR m.end_date > make_date(y.year, 12, 31)) "
          "AND (s.person_key IS NULL OR coalesce(s.trainings, 0) = 0 OR s.health_check IS NOT TRUE "
          "OR s.insurance IS NOT TRUE)")

_DEPENDS = ("SELECT count(*) FROM team_roster_rows", "SELECT count(*) FROM team_attendance_rows",
            "SELECT count(*) FROM team_assessment_rows")

RULES = (
    AlertRule("team_days_short", "在村天数不足", YELLOW, DAYS_SHORT, _DEPENDS),
    AlertRule("team_understaffed", "力量配备不足", RED, UNDERSTAFFED, _DEPENDS),
    AlertRule("team_ineligible", "选派条件不符", YELLOW, INELIGIBLE, _DEPENDS),
    AlertRule("team_too_many_villages", "兼帮村过多", YELLOW, TOO_MANY, _DEPENDS),
    AlertRule("team_term_due", "轮换到期", YELLOW, TERM_DUE, _DEPENDS),
    AlertRule("team_visits_incomplete", "走访未全覆盖", YELLOW, VISITS, _DEPENDS),
    AlertRule("team_yearly_missing", "年度事项缺失", YELLOW, YEARLY, _DEPENDS),
)

PART = SchemaPart(key=KIND, tables=TABLES, views=views, rules=RULES, order=10, refresh=refresh_caches)
