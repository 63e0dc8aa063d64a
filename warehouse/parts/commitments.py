"""任期承诺 (COMMITMENTS_SPEC.md) on the ground floor: its tables, its public views (§5), its metrics (§4, one
definition each) and its alert rules C1–C6 (§3).

Tables hold every accepted file's rows under its report_id; the views decide what is current: a village's list is
the one of the latest accepted report (of this kind) that carries the village (a later list replaces the earlier,
which stays in report_log), evaluations are kept across reports (the same evaluation sent again counts once, from
the latest report), and everything is judged as of each prefecture's latest reporting date of this kind.
"""

from __future__ import annotations

from warehouse.metrics import Count, Rate
from warehouse.parts import AlertRule, SchemaPart, num, on

KIND = "commitments"  # reports.kind of these files (pipelines/kinds/commitments/)
CLOSED, CANCELLED = "已销号", "取消"
LISTS = ("强村富民", "党建提升", "乡村治理", "为民服务", "文明创建")
PROVINCE_CODE, PROVINCE_NAME = "530000", "云南省"
LEVELS = ("province", "prefecture", "county", "township", "village")
LIGHTS = ("绿", "黄", "红", CLOSED, CANCELLED)

ITEM_FIELDS = ("prefecture_code", "county_code", "township", "village", "village_code", "village_key", "item_no",
               "list_name", "content", "indicator", "unit", "baseline", "target", "regional_average", "due_date",
               "owner", "notice_start", "notice_end", "committed_on")
PROGRESS_FIELDS = ("prefecture_code", "village_code", "village_key", "item_no", "evaluated_on", "evaluation_type",
                   "actual", "status", "acceptance", "note")

TABLES = """
CREATE TABLE IF NOT EXISTS commitment_item_rows (
    report_id INTEGER NOT NULL, excel_row INTEGER, prefecture_code VARCHAR NOT NULL, county_code VARCHAR NOT NULL,
    township VARCHAR, village VARCHAR, village_code VARCHAR, village_key VARCHAR NOT NULL, item_no VARCHAR NOT NULL,
    list_name VARCHAR NOT NULL, content VARCHAR, indicator VARCHAR, unit VARCHAR, baseline DOUBLE, target DOUBLE,
    regional_average DOUBLE, due_date DATE, owner VARCHAR, notice_start DATE, notice_end DATE, committed_on DATE
);
CREATE TABLE IF NOT EXISTS commitment_target_rows (
    report_id INTEGER NOT NULL, village_key VARCHAR NOT NULL, item_no VARCHAR NOT NULL, year INTEGER NOT NULL,
    target DOUBLE
);
CREATE TABLE IF NOT EXISTS commitment_progress_rows (
    report_id INTEGER NOT NULL, excel_row INTEGER, prefecture_code VARCHAR, village_code VARCHAR,
    village_key VARCHAR NOT NULL, item_no VARCHAR NOT NULL, evaluated_on DATE NOT NULL, evaluation_type VARCHAR NOT NULL,
    actual DOUBLE, status VARCHAR NOT NULL, acceptance VARCHAR, note VARCHAR
);
-- The rule settings (warehouse.alerts owns and fills this table; the same idempotent DDL, so that the lights of
-- commitment_status can read C6's thresholds in a warehouse whose alert tables are not created yet).
CREATE TABLE IF NOT EXISTS alert_config (
    alert_type VARCHAR NOT NULL, name VARCHAR NOT NULL, value DOUBLE, text VARCHAR, PRIMARY KEY (alert_type, name)
);
"""

# §4: one definition of each count (over commitment_status rows aliased s) and each rate (sums over sums).
COUNTS = (
    Count("items", "承诺事项数", f"count(*) FILTER (WHERE s.status <> '{CANCELLED}')", "项"),
    Count("due", "到期事项数", f"count(*) FILTER (WHERE s.status <> '{CANCELLED}' AND s.due_date <= s.as_of)", "项"),
    Count("closed_due", "到期已销号", f"count(*) FILTER (WHERE s.status = '{CLOSED}' AND s.due_date <= s.as_of)", "项"),
    Count("on_time_due", "按期销号",
          f"count(*) FILTER (WHERE s.status = '{CLOSED}' AND s.due_date <= s.as_of AND s.closed_on <= s.due_date)", "项"),
    Count("closed", "已销号", f"count(*) FILTER (WHERE s.status = '{CLOSED}')", "项"),
    Count("overdue", "逾期未销号", "count(*) FILTER (WHERE s.overdue)", "项"),
)
RATES = (
    Rate("fulfilment_rate", "承诺兑现率", "closed_due", "due"),
    Rate("on_time_rate", "按期兑现率", "on_time_due", "due"),
    Rate("closed_rate", "总体销号率", "closed", "items"),
)
LABELS = {c.name: c.label for c in COUNTS} | {r.name: r.label for r in RATES}


def counts_sql(alias: str = "s") -> str:
    return ", ".join(f"CAST({c.sql.replace('s.', alias + '.')} AS BIGINT) AS {c.name}" for c in COUNTS)


def rates_sql() -> str:
    return ", ".join(f"{r.sql()} AS {r.name}" for r in RATES)


def _setting(rule: str, name: str, default: float) -> str:
    return (f"coalesce((SELECT value FROM alert_config WHERE alert_type = '{rule}' AND name = '{name}'), "
            f"{default})")


VIEWS_LIVE = f"""
CREATE OR REPLACE VIEW commitment_reports AS
SELECT * FROM reports WHERE status = 'accepted' AND kind = '{KIND}';

-- Each prefecture's latest reporting date of this kind: what its commitments are judged as of.
CREATE OR REPLACE VIEW commitment_asof AS
SELECT prefecture_code, max(as_of) AS as_of FROM commitment_reports GROUP BY prefecture_code;

-- The report that holds each village's current list: the latest accepted one that carries the village.
CREATE OR REPLACE VIEW commitment_lists AS
SELECT l.village_key, l.report_id, r.as_of AS listed_on
FROM (SELECT DISTINCT report_id, village_key FROM commitment_item_rows) l JOIN commitment_reports r USING (report_id)
QUALIFY row_number() OVER (PARTITION BY l.village_key ORDER BY r.as_of DESC, l.report_id DESC) = 1;

CREATE OR REPLACE VIEW commitment_items AS
SELECT i.prefecture_code, p.name AS prefecture_name, i.county_code, c.name AS county_name, i.township, i.village,
       i.village_code, i.village_key, i.item_no, i.list_name, i.content, i.indicator, i.unit, i.baseline, i.target,
       i.due_date, i.owner, i.notice_start, i.notice_end, i.committed_on, i.regional_average AS regional_average_given,
       a.as_of, i.report_id, i.excel_row
FROM commitment_item_rows i
JOIN commitment_lists l USING (report_id, village_key)
JOIN commitment_asof a ON a.prefecture_code = i.prefecture_code
JOIN ref_prefecture p ON p.code = i.prefecture_code
JOIN ref_county c ON c.code = i.county_code;

CREATE OR REPLACE VIEW commitment_targets AS
SELECT i.village_code, t.item_no, t.year, t.target, t.village_key
FROM commitment_target_rows t JOIN commitment_lists l USING (report_id, village_key)
JOIN (SELECT DISTINCT report_id, village_key, village_code FROM commitment_item_rows) i USING (report_id, village_key);

-- Every evaluation of every accepted report; one sent again in a later report counts once, from the latest.
CREATE OR REPLACE VIEW commitment_progress AS
SELECT g.prefecture_code, g.village_code, g.village_key, g.item_no, g.evaluated_on, g.evaluation_type, g.actual,
       g.status, g.acceptance, g.note, g.report_id, r.as_of AS reported_on, g.excel_row
FROM commitment_progress_rows g JOIN commitment_reports r USING (report_id)
QUALIFY row_number() OVER (PARTITION BY g.village_key, g.item_no, g.evaluated_on, g.evaluation_type
                           ORDER BY r.as_of DESC, g.report_id DESC, g.excel_row DESC) = 1;

-- §3 C2's regional average of an indicator in a county for a year: the mean of the 实际值 at each village item's
-- last evaluation of that year that has one; null below the rule's minimum number of villages.
CREATE OR REPLACE VIEW commitment_regional_averages_live AS
WITH last_actual AS (
    SELECT i.county_code, i.indicator, i.village_key, year(g.evaluated_on) AS year, g.actual
    FROM commitment_items i JOIN commitment_progress g USING (village_key, item_no)
    WHERE i.indicator IS NOT NULL AND g.actual IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY i.village_key, i.item_no, year(g.evaluated_on)
                               ORDER BY g.evaluated_on DESC, g.reported_on DESC) = 1
)
SELECT county_code, indicator, year, avg(actual) AS average, count(DISTINCT village_key) AS villages
FROM last_actual GROUP BY county_code, indicator, year
HAVING count(DISTINCT village_key) >= {_setting('commit_target_low', 'min_villages', 3)};

__CACHE_commitment_regional_averages__
CREATE OR REPLACE VIEW commitment_status_live AS
WITH evaluations AS (
    -- One pass over the evaluations: each item's latest (by date, then the latest report and row), its latest actual
    -- value, and the first 已销号.
    SELECT village_key, item_no,
           arg_max(status, k) AS status, max(evaluated_on) AS last_evaluated_on,
           arg_max(evaluation_type, k) AS last_evaluation_type, arg_max(note, k) AS last_note,
           arg_max(acceptance, k) AS last_acceptance,
           arg_max(actual, k) FILTER (WHERE actual IS NOT NULL) AS actual,
           max(evaluated_on) FILTER (WHERE actual IS NOT NULL) AS actual_on,
           min(evaluated_on) FILTER (WHERE status = '{CLOSED}') AS first_closed_on
    FROM (SELECT *, (evaluated_on, reported_on, report_id, excel_row) AS k FROM commitment_progress)
    GROUP BY village_key, item_no
), measured AS (
    SELECT i.*, coalesce(l.status, '未启动') AS status, l.last_evaluated_on, l.last_evaluation_type, l.last_note,
           l.last_acceptance, l.actual, l.actual_on,
           CASE WHEN l.status = '{CLOSED}' THEN l.first_closed_on END AS closed_on,
           CASE WHEN i.baseline IS NOT NULL AND i.target IS NOT NULL AND i.target <> i.baseline AND l.actual IS NOT NULL
                THEN greatest(0.0, least(1.0, (l.actual - i.baseline) / (i.target - i.baseline))) END AS progress,
           CASE WHEN i.committed_on IS NOT NULL AND i.due_date > i.committed_on
                THEN greatest(0.0, least(1.0, date_diff('day', i.committed_on, i.as_of)
                                              / date_diff('day', i.committed_on, i.due_date))) END AS time_elapsed,
           coalesce(l.status, '') NOT IN ('{CLOSED}', '{CANCELLED}') AND i.due_date < i.as_of AS overdue,
           ra.average AS computed_average
    FROM commitment_items i
    LEFT JOIN evaluations l USING (village_key, item_no)
    LEFT JOIN commitment_regional_averages ra
           ON ra.county_code = i.county_code AND ra.indicator = i.indicator AND ra.year = year(i.as_of) - 1
)
SELECT * EXCLUDE (computed_average),
       time_elapsed - progress AS lag,
       coalesce(computed_average, regional_average_given) AS regional_average,
       CASE WHEN status = '{CLOSED}' THEN '{CLOSED}' WHEN status = '{CANCELLED}' THEN '{CANCELLED}'
            WHEN overdue OR time_elapsed - progress > {_setting('commit_lagging', 'red', 0.30)} THEN '红'
            WHEN time_elapsed - progress > {_setting('commit_lagging', 'yellow', 0.10)} THEN '黄'
            ELSE '绿' END AS light
FROM measured;

__CACHE_commitment_status__
-- §4 at every level (province, prefecture, county, township, village) and by list (list_name NULL: all lists).
CREATE OR REPLACE VIEW commitment_summary_live AS
WITH g AS (
    SELECT CASE WHEN grouping(s.prefecture_code) = 1 THEN 'province' WHEN grouping(s.county_code) = 1 THEN 'prefecture'
                WHEN grouping(s.township) = 1 THEN 'county' WHEN grouping(s.village_key) = 1 THEN 'township'
                ELSE 'village' END AS level,
           s.prefecture_code, s.county_code, s.township, s.village_key, s.list_name,
           any_value(s.village) AS village, any_value(s.village_code) AS village_code, max(s.as_of) AS as_of,
           {counts_sql('s')}
    FROM commitment_status s
    GROUP BY GROUPING SETS (
        (), (s.list_name), (s.prefecture_code), (s.prefecture_code, s.list_name),
        (s.prefecture_code, s.county_code), (s.prefecture_code, s.county_code, s.list_name),
        (s.prefecture_code, s.county_code, s.township), (s.prefecture_code, s.county_code, s.township, s.list_name),
        (s.prefecture_code, s.county_code, s.township, s.village_key),
        (s.prefecture_code, s.county_code, s.township, s.village_key, s.list_name))
)
SELECT g.level,
       CASE g.level WHEN 'province' THEN '{PROVINCE_CODE}' WHEN 'prefecture' THEN g.prefecture_code
            WHEN 'county' THEN g.county_code WHEN 'township' THEN g.county_code || '/' || g.township
            ELSE g.village_key END AS code,
       CASE g.level WHEN 'province' THEN '{PROVINCE_NAME}' WHEN 'prefecture' THEN p.name WHEN 'county' THEN c.name
            WHEN 'township' THEN g.township ELSE g.village END AS name,
       g.list_name, g.as_of, g.items, g.due, g.closed_due, g.closed, {rates_sql()},
       g.on_time_due, g.overdue, g.prefecture_code, g.county_code, g.township, g.village_code, g.village_key
FROM g
LEFT JOIN ref_prefecture p ON p.code = g.prefecture_code
LEFT JOIN ref_county c ON c.code = g.county_code;
"""

# The materialised status and summary: computed by the *_live views, copied at the end of every write whose inputs
# changed (a page query then reads a table of a few hundred thousand rows instead of recomputing every item's latest
# evaluation: ~2 s → milliseconds on the demo). The public views read them; an empty warehouse has empty copies.
CACHE_SIGNATURE_KEY = "commitment_cache_inputs"
CACHE_SIGNATURE_SQL = f"""
SELECT md5(concat_ws('|',
    coalesce((SELECT string_agg(report_id || ':' || as_of, ',' ORDER BY report_id) FROM commitment_reports), '-'),
    coalesce((SELECT string_agg(concat_ws(':', alert_type, name, value), ',' ORDER BY alert_type, name)
              FROM alert_config WHERE alert_type LIKE 'commit_%'), '-'),
    (SELECT count(*) FROM ref_county),
    coalesce((SELECT string_agg(view_name || '=' || sql, ';' ORDER BY view_name) FROM duckdb_views()
              WHERE view_name LIKE 'commitment_%'), '-')))"""


# Stored in the order the page filters by (a region's rows together), so DuckDB's per-row-group min/max skips the rest
# of the province when a page asks for one prefecture, county or village.
CACHE_ORDER = {"commitment_regional_averages": "county_code, indicator, year",
               "commitment_status": "county_code, township, village_key, item_no",
               "commitment_summary": "level, code, list_name"}


def _cache_ddl(name: str) -> str:
    return (f"CREATE OR REPLACE TABLE {name}_cache AS SELECT *, now() AS refreshed FROM {name}_live "
            f"ORDER BY {CACHE_ORDER[name]}")


CACHED = ("commitment_regional_averages", "commitment_status", "commitment_summary")  # in the order they build on


def _cache_view(name: str) -> str:
    return (f"CREATE TABLE IF NOT EXISTS {name}_cache AS SELECT *, now() AS refreshed FROM {name}_live WHERE FALSE;\n"
            f"CREATE OR REPLACE VIEW {name} AS SELECT * EXCLUDE (refreshed) FROM {name}_cache;\n")


# Each public view over its materialised copy, created right after its live view (the next live view reads it).
VIEWS = VIEWS_LIVE.replace("__CACHE_commitment_regional_averages__", _cache_view("commitment_regional_averages")) \
    .replace("__CACHE_commitment_status__", _cache_view("commitment_status")) + _cache_view("commitment_summary")


def refresh_caches(con) -> bool:
    """Refill the materialised status and summary when anything they are computed from changed (True when it did).
    Runs inside the write connection (warehouse.store.writing), before the alert rules read commitment_status."""
    signature = con.execute(CACHE_SIGNATURE_SQL).fetchall()[0][0]
    if con.execute("SELECT value FROM meta WHERE key = ?", [CACHE_SIGNATURE_KEY]).fetchall() == [(signature,)]:
        return False
    for name in CACHED:
        con.execute(_cache_ddl(name)).fetchall()
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [CACHE_SIGNATURE_KEY, signature]).fetchall()
    return True


# ---------------------------------------------------------------- rules C1–C6 (§3), over the current status

_PLACE = "s.prefecture_code, s.county_code, s.village_code, s.as_of"
_VILLAGE = "NULL::INTEGER AS task_year, s.township, s.village, s.village_key"


def _village_rule(key: str, level: str, value: str, threshold: str, detail: str, source: str, where: str) -> str:
    return f"""
    SELECT '{key}' AS alert_type, '{level}' AS level, {_PLACE}, CAST({value} AS DOUBLE) AS value,
           CAST({threshold} AS DOUBLE) AS threshold, {detail} AS detail,
           '{key}:' || s.prefecture_code || ':' || s.village_key AS alert_key, {_VILLAGE}
    FROM ({source}) s CROSS JOIN cfg WHERE {on(key)} AND {where}"""


_NOTICE = ("SELECT prefecture_code, county_code, village_code, as_of, township, village, village_key, "
           "min(date_diff('day', notice_start, notice_end) + 1) AS days FROM commitment_status "
           f"WHERE status <> '{CANCELLED}' AND notice_start IS NOT NULL AND notice_end IS NOT NULL "
           "GROUP BY ALL")
C1 = AlertRule("commit_notice_short", "公示不足5天", "黄", _village_rule(
    "commit_notice_short", "黄", "s.days", num("commit_notice_short", "min_days"),
    f"printf('%s任期承诺公示仅 %d 天，少于 %d 天', s.village, s.days, "
    f"CAST({num('commit_notice_short', 'min_days')} AS BIGINT))",
    _NOTICE, f"s.days < {num('commit_notice_short', 'min_days')}"))

C2 = AlertRule("commit_target_low", "目标低于区域平均", "黄", f"""
    SELECT 'commit_target_low' AS alert_type, '黄' AS level, {_PLACE}, t.target AS value, avg_.average AS threshold,
           printf('%s「%s」%d年目标 %s%s %s上年度区域平均值 %s%s（%s）', s.village, s.content, t.year,
                  CAST(round(t.target, 2) AS VARCHAR), coalesce(s.unit, ''),
                  CASE WHEN s.target < s.baseline THEN '高于' ELSE '低于' END,
                  CAST(round(avg_.average, 2) AS VARCHAR), coalesce(s.unit, ''),
                  CASE WHEN avg_.computed THEN '本县' || avg_.villages || '个村计算' ELSE '报表填报' END) AS detail,
           'commit_target_low:' || s.prefecture_code || ':' || s.village_key || ':' || s.item_no || ':' || t.year
               AS alert_key, {_VILLAGE}
    FROM commitment_status s
    JOIN commitment_targets t ON t.village_key = s.village_key AND t.item_no = s.item_no
    CROSS JOIN cfg
    JOIN LATERAL (
        SELECT coalesce(ra.average, s.regional_average_given) AS average, ra.average IS NOT NULL AS computed,
               ra.villages
        FROM (SELECT 1) LEFT JOIN commitment_regional_averages ra
             ON ra.county_code = s.county_code AND ra.indicator = s.indicator AND ra.year = t.year - 1
    ) avg_ ON TRUE
    WHERE {on('commit_target_low')} AND s.status <> '{CANCELLED}' AND avg_.average IS NOT NULL
      AND t.year <= year(s.as_of)  -- a year is judged once the year before it is over
      AND CASE WHEN s.target < s.baseline THEN t.target > avg_.average ELSE t.target < avg_.average END""")

C3 = AlertRule("commit_overdue", "逾期未销号", "红", f"""
    SELECT 'commit_overdue' AS alert_type, '红' AS level, {_PLACE},
           CAST(date_diff('day', s.due_date, s.as_of) AS DOUBLE) AS value, 0.0 AS threshold,
           printf('%s「%s」完成时限 %s 已过 %d 天，尚未销号（%s）', s.village, s.content, strftime(s.due_date, '%Y-%m-%d'),
                  date_diff('day', s.due_date, s.as_of), s.status) AS detail,
           'commit_overdue:' || s.prefecture_code || ':' || s.village_key || ':' || s.item_no AS alert_key, {_VILLAGE}
    FROM commitment_status s CROSS JOIN cfg WHERE {on('commit_overdue')} AND s.overdue""")

_SELFCHECK = (
    "SELECT s.prefecture_code, s.county_code, s.village_code, s.as_of, s.township, s.village, s.village_key, "
    "max(g.evaluated_on) FILTER (WHERE g.evaluation_type = '双月自评' AND g.evaluated_on <= s.as_of) AS last_self "
    "FROM commitment_status s LEFT JOIN commitment_progress g USING (village_key, item_no) "
    f"WHERE s.status NOT IN ('{CLOSED}', '{CANCELLED}') GROUP BY ALL")
C4 = AlertRule("commit_selfcheck_missing", "双月自评缺失", "黄", _village_rule(
    "commit_selfcheck_missing", "黄", "date_diff('day', s.last_self, s.as_of)",
    num("commit_selfcheck_missing", "days"),
    "CASE WHEN s.last_self IS NULL THEN printf('%s有未销号承诺事项，尚无双月自评记录', s.village) "
    f"ELSE printf('%s最近一次双月自评为 %s，已 %d 天（超过 %d 天）未自评', s.village, strftime(s.last_self, '%Y-%m-%d'), "
    f"date_diff('day', s.last_self, s.as_of), CAST({num('commit_selfcheck_missing', 'days')} AS BIGINT)) END",
    _SELFCHECK,
    f"(s.last_self IS NULL OR date_diff('day', s.last_self, s.as_of) > {num('commit_selfcheck_missing', 'days')})"))

_REVIEW = (
    "SELECT s.prefecture_code, s.county_code, s.village_code, s.as_of, s.township, s.village, s.village_key, "
    "year(s.as_of) - 1 AS review_year, "
    "count(g.evaluated_on) FILTER (WHERE g.evaluation_type = '年度考评' AND year(g.evaluated_on) = year(s.as_of) - 1) "
    "AS reviews, min(s.committed_on) AS committed_on "
    "FROM commitment_status s LEFT JOIN commitment_progress g USING (village_key, item_no) "
    f"WHERE s.status <> '{CANCELLED}' GROUP BY ALL")
C5 = AlertRule("commit_review_missing", "年度考评缺失", "黄", _village_rule(
    "commit_review_missing", "黄", "s.reviews", "1",
    "printf('%s %d年度无年度考评记录', s.village, s.review_year)", _REVIEW,
    "s.reviews = 0 AND (s.committed_on IS NULL OR s.committed_on <= make_date(s.review_year, 12, 31))"))

C6 = AlertRule("commit_lagging", "进度滞后", "黄", f"""
    SELECT 'commit_lagging' AS alert_type,
           CASE WHEN s.lag > {num('commit_lagging', 'red')} THEN '红' ELSE '黄' END AS level, {_PLACE},
           s.lag AS value,
           CASE WHEN s.lag > {num('commit_lagging', 'red')} THEN {num('commit_lagging', 'red')}
                ELSE {num('commit_lagging', 'yellow')} END AS threshold,
           printf('%s「%s」进度 %.1f%%，时间已过 %.1f%%，滞后 %.1f 个百分点', s.village, s.content, 100 * s.progress,
                  100 * s.time_elapsed, 100 * s.lag) AS detail,
           'commit_lagging:' || s.prefecture_code || ':' || s.village_key || ':' || s.item_no AS alert_key, {_VILLAGE}
    FROM commitment_status s CROSS JOIN cfg
    WHERE {on('commit_lagging')} AND s.status NOT IN ('{CLOSED}', '{CANCELLED}') AND s.lag IS NOT NULL
      AND s.lag > {num('commit_lagging', 'yellow')}""")

RULES = (C1, C2, C3, C4, C5, C6)
_DEPENDS = ("SELECT count(*) FROM commitment_item_rows", "SELECT count(*) FROM commitment_progress_rows",
            "SELECT count(*) FROM commitment_target_rows")

PART = SchemaPart(key=KIND, tables=TABLES, views=VIEWS,
                  rules=tuple(AlertRule(r.key, r.label, r.level, r.sql, _DEPENDS) for r in RULES), order=20,
                  refresh=refresh_caches)
