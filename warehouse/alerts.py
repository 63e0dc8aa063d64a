"""The dispatch alert rules as warehouse SQL: the view ``alerts`` and the table macro ``alerts_at(date)``.

Owns ``config/alerts.toml``. ``install_alert_views(con)`` runs inside every warehouse write (from
``warehouse.store.ensure_schema``): it copies the rule settings into the table ``alert_config`` and the schedule
line (warehouse.schedule) into ``schedule_line``, then (re)creates the macros and views. ``alerts_at(d)`` is plain
SQL over ``village_history`` / ``accepted_reports``, evaluated when read (the alerts of any past date).

The current alerts are materialised: ``refresh_alerts(con)`` fills the table ``alerts_current`` from
``alerts_at(NULL)`` at the end of every warehouse write (``warehouse.store.writing``, after the body, before the
atomic swap), so a reader never sees a warehouse whose current alerts lag its reports or settings. It refills only
when an input changed since the last fill (signature in ``meta``: the accepted reports, the village row count, the
settings, the schedule line, the view and macro definitions), so a write that changes none of them (a supervision
order, a duplicate or refused file) costs one small query. The view ``alerts`` reads the table. Nothing in the rules
depends on the day they are evaluated (no current_date: lateness is measured against the newest report, expected
progress at each report's own date), so the table cannot go stale between writes.

Columns of ``alerts`` / ``alerts_at(d)`` (d = NULL: each prefecture's current report): alert_type, level (红/黄),
prefecture_code, county_code, village_code, as_of, value, threshold, detail (Chinese), then alert_key (stable
identity of "the same alert" across loads: what supervision orders point at), alert_label, task_year,
prefecture_name, county_name, township, village, village_key.

Besides the core rules (``CORE_RULES``), each schema part (warehouse/parts/) brings rules of its own: their SQL is
a CTE of ``alerts_at`` in the same UNION, their settings and labels live in config/alerts.toml like the core's, and
``RULES`` / ``all_rules()`` / ``rule_labels()`` / ``rule_levels()`` list them after the core's.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from functools import lru_cache
from pathlib import Path

import duckdb
import polars as pl

from warehouse import metrics, parts, schedule, stages
from warehouse.settings import CONFIG_DIR

ALERTS_FILE = CONFIG_DIR / "alerts.toml"

CORE_RULES = ("county_behind", "village_stagnant", "no_civil_servant", "late_report", "figure_fell", "low_adoption")
RED, YELLOW = "红", "黄"
# Default levels of the core rules (their SQL picks 红/黄 per alert; this is the level a rule is known by).
CORE_LEVELS = {"county_behind": YELLOW, "village_stagnant": YELLOW, "no_civil_servant": RED, "late_report": YELLOW,
               "figure_fell": YELLOW, "low_adoption": YELLOW}


def all_rules() -> tuple[str, ...]:
    """Every rule: the core's, then each schema part's (warehouse/parts/), in board order."""
    return CORE_RULES + tuple(r.key for r in parts.rules())


def rule_levels() -> dict[str, str]:
    """Rule → its default level, every rule."""
    return {**CORE_LEVELS, **{r.key: r.level for r in parts.rules()}}


RULES = all_rules()

# Figures a village reports cumulatively (they may only grow); labels for the alert text.
FIGURE_LABELS = {
    "steps_done": "已完成步骤数", "cadre_visits": "回乡干部人次", "meetings": "座谈恳谈会场次",
    "villager_participation": "村民参与人次", "needs_total": "收集需求数", "needs_adopted": "纳入规划需求数",
    "funding_wan": "项目资金（万元）", "local_talents": "乡贤能人数", "special_plans_done": "完成专项规划数",
    "group_size": "编制组人数", "civil_servants": "其中公职人员",
}

ALERT_COLUMNS = ("alert_type", "level", "prefecture_code", "county_code", "village_code", "as_of", "value",
                 "threshold", "detail", "alert_key", "alert_label", "task_year", "prefecture_name", "county_name",
                 "township", "village", "village_key")

TABLES = """
CREATE TABLE IF NOT EXISTS alert_config (
    alert_type VARCHAR NOT NULL, name VARCHAR NOT NULL, value DOUBLE, text VARCHAR, PRIMARY KEY (alert_type, name)
);
CREATE TABLE IF NOT EXISTS schedule_line (task_year INTEGER NOT NULL, point_date DATE NOT NULL, expected DOUBLE);
"""

# The materialised current alerts: the columns of alerts_at, then alert_order (the macro's order, 1 = first).
CURRENT_TABLE = "alerts_current"
CURRENT_COLUMNS = (
    ("alert_type", "VARCHAR"), ("level", "VARCHAR"), ("prefecture_code", "VARCHAR"), ("county_code", "VARCHAR"),
    ("village_code", "VARCHAR"), ("as_of", "DATE"), ("value", "DOUBLE"), ("threshold", "DOUBLE"),
    ("detail", "VARCHAR"), ("alert_key", "VARCHAR"), ("alert_label", "VARCHAR"), ("task_year", "INTEGER"),
    ("prefecture_name", "VARCHAR"), ("county_name", "VARCHAR"), ("township", "VARCHAR"), ("village", "VARCHAR"),
    ("village_key", "VARCHAR"), ("alert_order", "BIGINT"),
)
assert tuple(c for c, _ in CURRENT_COLUMNS[:-1]) == ALERT_COLUMNS
SIGNATURE_KEY = "alerts_current_inputs"  # meta key: the inputs alerts_current was last filled from

# Everything alerts_at(NULL) reads, as one text (hashed): when it is unchanged, so are the current alerts.
_SIGNATURE_PARTS = (
    "SELECT string_agg(concat_ws(':', report_id, prefecture_code, as_of), ',' ORDER BY report_id) FROM reports "
    "WHERE status = 'accepted'",
    "SELECT count(*) FROM village_rows",
    "SELECT count(*) FROM ref_prefecture",
    "SELECT count(*) FROM ref_county",
    "SELECT string_agg(concat_ws(':', alert_type, name, value, text), ',' ORDER BY alert_type, name) FROM alert_config",
    "SELECT string_agg(concat_ws(':', task_year, point_date, expected), ',' ORDER BY task_year, point_date) "
    "FROM schedule_line",
    "SELECT string_agg(view_name || '=' || sql, ';' ORDER BY view_name) FROM duckdb_views() "
    "WHERE NOT internal AND view_name <> 'alerts'",
    "SELECT value FROM meta WHERE key = 'alert_rules_sql'",
)


def _signature_sql() -> str:
    """The signature query: the core inputs, then what each part's rules declare they depend on."""
    every = _SIGNATURE_PARTS + tuple(d for r in parts.rules() for d in r.depends_on)
    return "SELECT md5(concat_ws('|', " + ", ".join(
        f"coalesce(CAST(({part}) AS VARCHAR), '-')" for part in every) + "))"


def load_config(path: Path | None = None) -> dict:
    """The rule settings, checked: an unknown rule, figure or level is a configuration error (in Chinese)."""
    path = Path(path or ALERTS_FILE)
    stat = path.stat()
    return _load_config(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _load_config(path: Path, mtime_ns: int, size: int) -> dict:
    # Keyed by modification time: an office edits the file and the next load uses it, without a restart.
    with path.open("rb") as f:
        doc = tomllib.load(f)
    for rule, settings in doc.items():
        if rule not in all_rules():
            raise ValueError(f"预警配置错误：未知规则「{rule}」（可用：{'、'.join(all_rules())}）")
        for key in ("level", "no_group_level"):
            if key in settings and settings[key] not in (RED, YELLOW):
                raise ValueError(f"预警配置错误：{rule}.{key} 只能是「红」或「黄」")
        for figure in settings.get("figures", []) + settings.get("red_figures", []):
            if figure not in FIGURE_LABELS:
                raise ValueError(f"预警配置错误：figure_fell 中的「{figure}」不是可比较的累计数字段")
    return doc


def rule_labels(path: Path | None = None) -> dict[str, str]:
    """Rule → Chinese name, in RULES order: the ``label`` of each rule in config/alerts.toml (the one place)."""
    doc = load_config(path)
    return {rule: _label_of(rule, doc) for rule in all_rules()}


def _label_of(rule: str, doc: dict) -> str:
    """The config's label, else the part rule's default label, else the rule key."""
    default = next((r.label for r in parts.rules() if r.key == rule), rule)
    return doc.get(rule, {}).get("label", default)


def config_frame(doc: dict) -> pl.DataFrame:
    """The settings as rows (alert_type, name, value, text): numbers in value, words in text."""
    rows = []
    for rule in all_rules():
        settings = doc.get(rule, {})
        rows.append((rule, "enabled", 1.0 if settings.get("enabled", True) else 0.0, None))
        for name, v in settings.items():
            if name == "enabled":
                continue
            if isinstance(v, bool):
                rows.append((rule, name, 1.0 if v else 0.0, None))
            elif isinstance(v, (int, float)):
                rows.append((rule, name, float(v), None))
            elif isinstance(v, list):
                rows.append((rule, name, None, ",".join(map(str, v))))
            else:
                rows.append((rule, name, None, str(v)))
    return pl.DataFrame(rows, schema={"alert_type": pl.Utf8, "name": pl.Utf8, "value": pl.Float64,
                                      "text": pl.Utf8}, orient="row")


# A rule setting in the SQL: a column of ``cfg``, the one-row relation of alerts_at that every rule joins (one read
# of alert_config instead of a scalar subquery per use, which made planning the macro slow). NULL when not set.
_CFG_COLUMN = re.compile(r"\bcfg\.(n|t)__(\w+?)__(\w+)\b")


def _num(rule: str, name: str) -> str:
    return f"cfg.n__{rule}__{name}"


def _text(rule: str, name: str) -> str:
    return f"cfg.t__{rule}__{name}"


def _cfg_sql(sql: str) -> str:
    """The select of ``cfg``: every setting ``sql`` names, as a column (alert_config holds one row per setting)."""
    columns = sorted(set(_CFG_COLUMN.findall(sql)))
    return "SELECT " + ", ".join(
        f"max({'value' if kind == 'n' else 'text'}) FILTER (WHERE alert_type = '{rule}' AND name = '{name}') "
        f"AS {kind}__{rule}__{name}" for kind, rule, name in columns) + " FROM alert_config"


def _on(rule: str) -> str:
    return f"coalesce({_num(rule, 'enabled')}, 1) = 1"


def _label(rule: str, doc: dict) -> str:
    return _label_of(rule, doc).replace("'", "''")


def _pct(expr: str) -> str:
    return f"printf('%.1f%%', 100 * ({expr}))"


def _order_sql() -> str:
    """The alerts' order (alerts ``a`` joined to ref_prefecture ``p``): red first, then by rule, prefecture, county,
    village; alert_key last makes it total. Shared by alerts_at and the materialised alert_order."""
    order_case = " ".join(f"WHEN '{r}' THEN {i}" for i, r in enumerate(all_rules()))
    return (f"CASE a.level WHEN '{RED}' THEN 0 ELSE 1 END, CASE a.alert_type {order_case} END, p.sort_order, "
            "a.county_code NULLS FIRST, a.village_key NULLS FIRST, a.alert_key")


def _fell_sql(f: str, cur: str = "c_", prev: str = "p_") -> str:
    """The figure_fell condition on figure ``f`` (current and previous value named by prefix)."""
    return f"{_on('figure_fell')} AND {cur}{f} < {prev}{f} - coalesce({_num('figure_fell', 'tolerance')}, 0)"


def _macros_sql(doc: dict) -> str:
    stage_case = " ".join(f"WHEN {k} THEN '{name}'" for k, name in stages.stage_names().items())
    figures = [f for f in doc.get("figure_fell", {}).get("figures", []) if f in FIGURE_LABELS]
    red_figures = set(doc.get("figure_fell", {}).get("red_figures", []))
    adopted = next(c for c in metrics.COUNTS if c.name == "needs_adopted").sql
    collected = next(c for c in metrics.COUNTS if c.name == "needs_total").sql
    fell_parts = []
    for f in figures:
        level = f"'{RED}'" if f in red_figures else f"coalesce({_text('figure_fell', 'level')}, '{YELLOW}')"
        fmt = "%.1f" if f == "funding_wan" else "%d"
        cast = "DOUBLE" if f == "funding_wan" else "BIGINT"
        fell_parts.append(f"""
    SELECT 'figure_fell' AS alert_type, {level} AS level, prefecture_code, county_code, village_code,
           as_of, CAST(c_{f} AS DOUBLE) AS value, CAST(p_{f} AS DOUBLE) AS threshold,
           printf('%s{FIGURE_LABELS[f]}由上期（%s）的 {fmt} 降至本期（%s）的 {fmt}，累计数不应减少，请核实', village,
                  strftime(p_as_of, '%Y-%m-%d'), CAST(p_{f} AS {cast}), strftime(as_of, '%Y-%m-%d'),
                  CAST(c_{f} AS {cast})) AS detail,
           'figure_fell:' || prefecture_code || ':' || village_key || ':{f}' AS alert_key,
           task_year, township, village, village_key
    FROM fell_pairs CROSS JOIN cfg
    WHERE {_fell_sql(f)}""")
    # The village's two latest reports side by side, joined once for all the figures; only the pairs where some
    # figure fell (each part above tests its own figure again).
    fell_pairs_sql = (
        "SELECT c.prefecture_code, c.county_code, c.village_code, c.as_of, c.task_year, c.township, c.village, "
        "c.village_key, p.as_of AS p_as_of"
        + "".join(f", c.{f} AS c_{f}, p.{f} AS p_{f}" for f in figures)
        + " FROM cur c JOIN prev p ON p.prefecture_code = c.prefecture_code AND p.village_key = c.village_key"
        + " CROSS JOIN cfg"
        + " WHERE " + (" OR ".join(f"({_fell_sql(f, 'c.', 'p.')})" for f in figures) if figures else "FALSE"))
    fell_sql = " UNION ALL ".join(fell_parts) if fell_parts else (
        "SELECT * FROM (SELECT 'figure_fell' AS alert_type, NULL::VARCHAR AS level, NULL::VARCHAR AS prefecture_code, "
        "NULL::VARCHAR AS county_code, NULL::VARCHAR AS village_code, NULL::DATE AS as_of, NULL::DOUBLE AS value, "
        "NULL::DOUBLE AS threshold, NULL::VARCHAR AS detail, NULL::VARCHAR AS alert_key, NULL::INTEGER AS task_year, "
        "NULL::VARCHAR AS township, NULL::VARCHAR AS village, NULL::VARCHAR AS village_key) WHERE FALSE")
    adopt_bound = (f"CASE WHEN rate < {_num('low_adoption', 'red')} THEN {_num('low_adoption', 'red')} "
                   f"ELSE {_num('low_adoption', 'yellow')} END")
    labels_case = " ".join(f"WHEN '{r}' THEN coalesce({_text(r, 'label')}, '{_label(r, doc)}')"
                           for r in all_rules())
    # Each schema part's rules: a CTE each, in the same UNION as the core's.
    part_rules = parts.rules()
    part_ctes = "".join(f"part_{r.key} AS ({r.sql}),\n" for r in part_rules)
    part_union = "".join(f"\n    UNION ALL BY NAME SELECT {', '.join(parts.RAISED_COLUMNS)} FROM part_{r.key}"
                         for r in part_rules)

    sql = f"""
-- Expected progress (share of steps done) of a task year on a date: the schedule line, linear between its corners.
-- A task year missing from schedule_line falls back to the default line (1 January → 31 December).
CREATE OR REPLACE MACRO expected_progress(ty, d) AS CASE
    WHEN NOT EXISTS (SELECT 1 FROM schedule_segments s WHERE s.task_year = ty) THEN greatest(0.0, least(1.0,
        date_diff('day', make_date(CAST(ty AS BIGINT), 1, 1), CAST(d AS DATE))
        / date_diff('day', make_date(CAST(ty AS BIGINT), 1, 1), make_date(CAST(ty AS BIGINT), 12, 31))))
    WHEN CAST(d AS DATE) <= (SELECT min(s.d0) FROM schedule_segments s WHERE s.task_year = ty) THEN 0.0
    WHEN CAST(d AS DATE) >= (SELECT max(s.d1) FROM schedule_segments s WHERE s.task_year = ty) THEN 1.0
    ELSE (SELECT s.f0 + (s.f1 - s.f0) * date_diff('day', s.d0, CAST(d AS DATE)) / date_diff('day', s.d0, s.d1)
          FROM schedule_segments s WHERE s.task_year = ty AND CAST(d AS DATE) >= s.d0 AND CAST(d AS DATE) < s.d1)
END;

CREATE OR REPLACE MACRO alerts_at(on_date) AS TABLE
WITH cfg AS MATERIALIZED (__CFG__),
rep AS (
    -- Each prefecture's accepted reports up to the date, newest first (rnk 1 = the report in force).
    SELECT report_id, prefecture_code AS rep_prefecture, as_of AS rep_as_of,
           row_number() OVER (PARTITION BY prefecture_code ORDER BY as_of DESC, report_id DESC) AS rnk
    FROM accepted_reports
    WHERE prefecture_code IS NOT NULL AND (CAST(on_date AS DATE) IS NULL OR as_of <= CAST(on_date AS DATE))
),
-- The village rows of the report in force (rnk 1) and of the one before (rnk 2), read from those reports only.
recent AS MATERIALIZED (SELECT h.*, rep.rnk FROM village_history h JOIN rep USING (report_id) WHERE rep.rnk <= 2),
cur AS (SELECT * FROM recent WHERE rnk = 1),
prev AS (SELECT * FROM recent WHERE rnk = 2),
-- Expected progress once per (task year, date) of the reports in force, not once per village row.
expected AS MATERIALIZED (
    SELECT task_year, as_of, expected_progress(task_year, as_of) AS expected
    FROM (SELECT DISTINCT task_year, as_of FROM cur WHERE task_year IS NOT NULL)
),

county_progress AS (
    SELECT prefecture_code, county_code, task_year, max(as_of) AS as_of, count(*) AS villages,
           {metrics.progress_sql('v')} AS progress
    FROM cur v WHERE task_year IS NOT NULL GROUP BY prefecture_code, county_code, task_year
),
county_gap AS (
    SELECT g.*, e.expected, e.expected - g.progress AS gap
    FROM county_progress g
    LEFT JOIN expected e ON e.task_year = g.task_year AND e.as_of IS NOT DISTINCT FROM g.as_of
),
behind AS (
    SELECT 'county_behind' AS alert_type,
           CASE WHEN gap > {_num('county_behind', 'red')} THEN '{RED}' ELSE '{YELLOW}' END AS level,
           prefecture_code, county_code, NULL::VARCHAR AS village_code, as_of, gap AS value,
           CASE WHEN gap > {_num('county_behind', 'red')} THEN {_num('county_behind', 'red')}
                ELSE {_num('county_behind', 'yellow')} END AS threshold,
           printf('%d年度 %d 个任务村规划进度 %s，按计划截至%s应达 %s，落后 %.1f 个百分点', task_year, villages,
                  {_pct('progress')}, strftime(as_of, '%Y-%m-%d'), {_pct('expected')}, 100 * gap) AS detail,
           'county_behind:' || county_code || ':' || task_year AS alert_key, task_year,
           NULL::VARCHAR AS township, NULL::VARCHAR AS village, NULL::VARCHAR AS village_key
    FROM county_gap CROSS JOIN cfg
    WHERE {_on('county_behind')} AND gap > {_num('county_behind', 'yellow')}
),

-- The current villages the stagnant rule may flag: its conditions on the current row, tested before the history.
stagnant_cur AS (
    SELECT c.* FROM cur c
    LEFT JOIN expected e ON e.task_year = c.task_year AND e.as_of IS NOT DISTINCT FROM c.as_of CROSS JOIN cfg
    WHERE {_on('village_stagnant')} AND c.stage < 7 AND (c.task_year IS NULL OR e.expected > 0)
),
stagnant_hist AS (
    -- Their whole history (narrow rows): the rule's streaks, over these villages only.
    SELECT h.prefecture_code, h.village_key, h.stage, h.as_of, rep.rnk
    FROM village_history h JOIN rep USING (report_id)
    SEMI JOIN stagnant_cur c ON c.prefecture_code = h.prefecture_code AND c.village_key = h.village_key
),
marked AS (
    SELECT *, first_value(stage) OVER w AS cur_stage, row_number() OVER w AS rn
    FROM stagnant_hist WINDOW w AS (PARTITION BY prefecture_code, village_key ORDER BY rnk)
),
runs AS (
    -- A run continues while the village appears in every report (rnk = rn) at its current stage.
    SELECT *, bool_and(rnk = rn AND stage IS NOT DISTINCT FROM cur_stage)
              OVER (PARTITION BY prefecture_code, village_key ORDER BY rnk ROWS UNBOUNDED PRECEDING) AS in_run
    FROM marked
),
streaks AS (
    SELECT prefecture_code, village_key, count(*) FILTER (WHERE in_run) AS same_reports,
           min(as_of) FILTER (WHERE in_run) AS since
    FROM runs GROUP BY prefecture_code, village_key
),
stagnant AS (
    SELECT 'village_stagnant' AS alert_type,
           CASE WHEN s.same_reports >= {_num('village_stagnant', 'red_reports')} THEN '{RED}' ELSE '{YELLOW}' END
               AS level,
           c.prefecture_code, c.county_code, c.village_code, c.as_of, CAST(s.same_reports AS DOUBLE) AS value,
           CASE WHEN s.same_reports >= {_num('village_stagnant', 'red_reports')}
                THEN {_num('village_stagnant', 'red_reports')} ELSE {_num('village_stagnant', 'yellow_reports')} END
               AS threshold,
           printf('%s连续 %d 期报表（%s 至 %s）均处于第%d环节「%s」，环节未推进', c.village, s.same_reports,
                  strftime(s.since, '%Y-%m-%d'), strftime(c.as_of, '%Y-%m-%d'), c.stage,
                  CASE c.stage {stage_case} ELSE '' END) AS detail,
           'village_stagnant:' || c.prefecture_code || ':' || c.village_key AS alert_key,
           c.task_year, c.township, c.village, c.village_key
    FROM stagnant_cur c JOIN streaks s ON s.prefecture_code = c.prefecture_code AND s.village_key = c.village_key
    CROSS JOIN cfg
    WHERE s.same_reports >= {_num('village_stagnant', 'yellow_reports')}
),

no_cs AS (
    SELECT 'no_civil_servant' AS alert_type,
           CASE WHEN {metrics.GROUP_WITHOUT_CIVIL_SERVANT_SQL.replace('v.', 'c.')}
                THEN coalesce({_text('no_civil_servant', 'level')}, '{RED}')
                ELSE coalesce({_text('no_civil_servant', 'no_group_level')}, '{YELLOW}') END AS level,
           c.prefecture_code, c.county_code, c.village_code, c.as_of,
           CAST(coalesce(c.civil_servants, 0) AS DOUBLE) AS value, 1.0 AS threshold,
           CASE WHEN {metrics.GROUP_WITHOUT_CIVIL_SERVANT_SQL.replace('v.', 'c.')}
                THEN printf('%s规划编制组 %d 人，其中国家公职人员 0 人，不符合“每个编制组至少有 1 名国家公职人员”的要求',
                            c.village, c.group_size)
                ELSE printf('%s尚未组建规划编制组（截至%s，按计划应已完成第1环节“组建编制组”）', c.village,
                            strftime(c.as_of, '%Y-%m-%d')) END AS detail,
           'no_civil_servant:' || c.prefecture_code || ':' || c.village_key AS alert_key,
           c.task_year, c.township, c.village, c.village_key
    FROM cur c
    LEFT JOIN expected e ON e.task_year = c.task_year AND e.as_of IS NOT DISTINCT FROM c.as_of CROSS JOIN cfg
    WHERE {_on('no_civil_servant')}
      AND ({metrics.GROUP_WITHOUT_CIVIL_SERVANT_SQL.replace('v.', 'c.')}
           OR (coalesce(c.group_size, 0) = 0 AND c.task_year IS NOT NULL AND e.expected >= 1.0 / 7))
),

latest AS (SELECT rep_prefecture AS prefecture_code, rep_as_of AS as_of FROM rep WHERE rnk = 1),
newest AS (SELECT max(as_of) AS newest FROM latest),
late AS (
    SELECT 'late_report' AS alert_type,
           CASE WHEN date_diff('day', l.as_of, n.newest) > {_num('late_report', 'red_days')} THEN '{RED}'
                ELSE '{YELLOW}' END AS level,
           l.prefecture_code, NULL::VARCHAR AS county_code, NULL::VARCHAR AS village_code, l.as_of,
           CAST(date_diff('day', l.as_of, n.newest) AS DOUBLE) AS value,
           CASE WHEN date_diff('day', l.as_of, n.newest) > {_num('late_report', 'red_days')}
                THEN {_num('late_report', 'red_days')} ELSE {_num('late_report', 'yellow_days')} END AS threshold,
           printf('最新报表截至%s，比全省最新报表（截至%s）晚 %d 天，超过报送周期 %d 天', strftime(l.as_of, '%Y-%m-%d'),
                  strftime(n.newest, '%Y-%m-%d'), date_diff('day', l.as_of, n.newest),
                  CAST({_num('late_report', 'yellow_days')} AS BIGINT)) AS detail,
           'late_report:' || l.prefecture_code AS alert_key, NULL::INTEGER AS task_year,
           NULL::VARCHAR AS township, NULL::VARCHAR AS village, NULL::VARCHAR AS village_key
    FROM latest l CROSS JOIN newest n CROSS JOIN cfg
    WHERE {_on('late_report')} AND date_diff('day', l.as_of, n.newest) > {_num('late_report', 'yellow_days')}
    UNION ALL
    SELECT 'late_report', '{RED}', p.code, NULL, NULL, NULL::DATE, NULL::DOUBLE,
           {_num('late_report', 'yellow_days')},
           printf('尚无已接收的报表（全省最新报表截至%s）', strftime(n.newest, '%Y-%m-%d')),
           'late_report:' || p.code, NULL, NULL, NULL, NULL
    FROM ref_prefecture p CROSS JOIN newest n CROSS JOIN cfg
    WHERE {_on('late_report')} AND coalesce({_num('late_report', 'include_never_reported')}, 0) = 1
      AND n.newest IS NOT NULL AND p.code NOT IN (SELECT prefecture_code FROM latest)
),

fell_pairs AS MATERIALIZED ({fell_pairs_sql}),
fell AS ({fell_sql}),

adoption AS (
    SELECT prefecture_code, county_code, max(as_of) AS as_of, NULL::INTEGER AS task_year,
           {collected} AS needs_total, {adopted} AS needs_adopted
    FROM cur v GROUP BY prefecture_code, county_code
),
low_adopt AS (
    SELECT 'low_adoption' AS alert_type,
           CASE WHEN rate < {_num('low_adoption', 'red')} THEN '{RED}' ELSE '{YELLOW}' END AS level,
           prefecture_code, county_code, NULL::VARCHAR AS village_code, as_of, rate AS value,
           {adopt_bound} AS threshold,
           printf('收集群众需求 %d 条，纳入规划 %d 条，需求纳入率 %s，低于 %s', needs_total, needs_adopted,
                  {_pct('rate')}, {_pct(adopt_bound)}) AS detail,
           'low_adoption:' || county_code AS alert_key, task_year,
           NULL::VARCHAR AS township, NULL::VARCHAR AS village, NULL::VARCHAR AS village_key
    FROM (SELECT *, {metrics.rate('adoption_rate').sql()} AS rate FROM adoption) CROSS JOIN cfg
    WHERE {_on('low_adoption')} AND needs_total >= coalesce({_num('low_adoption', 'min_needs')}, 1)
      AND rate < {_num('low_adoption', 'yellow')}
),

{part_ctes}raised AS (
    SELECT * FROM behind UNION ALL BY NAME SELECT * FROM stagnant UNION ALL BY NAME SELECT * FROM no_cs
    UNION ALL BY NAME SELECT * FROM late UNION ALL BY NAME SELECT * FROM fell
    UNION ALL BY NAME SELECT * FROM low_adopt{part_union}
)
SELECT a.alert_type, a.level, a.prefecture_code, a.county_code, a.village_code, a.as_of, a.value, a.threshold,
       -- The detail names the place, so a line read on its own (a print-out, a phone) says where.
       coalesce(p.common_name, p.name, '') || coalesce(c.name, '') || coalesce(a.township, '') || '：' || a.detail
           AS detail,
       a.alert_key, CASE a.alert_type {labels_case} END AS alert_label, CAST(a.task_year AS INTEGER) AS task_year,
       p.name AS prefecture_name, c.name AS county_name, a.township, a.village, a.village_key
FROM raised a
LEFT JOIN ref_prefecture p ON p.code = a.prefecture_code
LEFT JOIN ref_county c ON c.code = a.county_code
CROSS JOIN cfg
ORDER BY {_order_sql()};
"""
    sql = _late_macro(sql) + sql  # before alerts_at: the text of alerts_at stays last (tests read it alone)
    return sql.replace("__CFG__", _cfg_sql(sql))


def _late_macro(sql: str) -> str:
    """``late_alerts_at(on_date)``: the late-report rule alone, cut from alerts_at's own text (one definition). A
    partitioned warehouse's reader evaluates it over every prefecture (each partition only knows its own newest
    report) without the other rules' materialised steps."""
    body = sql[sql.index("CREATE OR REPLACE MACRO alerts_at"):]
    rep = body[body.index("rep AS ("):body.index("-- The village rows of the report in force")]
    late = body[body.index("latest AS ("):body.index("fell_pairs AS MATERIALIZED")]
    final = body[body.index("SELECT a.alert_type, a.level"):]
    return ("\nCREATE OR REPLACE MACRO late_alerts_at(on_date) AS TABLE\nWITH cfg AS MATERIALIZED (__CFG__),\n"
            + rep + late + "raised AS (SELECT * FROM late)\n" + final + "\n")


def install_alert_views(con: duckdb.DuckDBPyConnection, reader: bool = False) -> None:
    """Write the settings and the schedule line, and (re)create the alert macros and views, in a write connection.
    ``reader``: only the macros and views, over tables someone else wrote (a partitioned warehouse's reader)."""
    doc = load_config()
    if not reader:
        _write_settings(con, doc)
    con.execute("""
CREATE OR REPLACE VIEW schedule_segments AS
SELECT task_year, d0, d1, f0, f1 FROM (
    SELECT task_year, point_date AS d0, lead(point_date) OVER w AS d1, expected AS f0, lead(expected) OVER w AS f1
    FROM schedule_line WINDOW w AS (PARTITION BY task_year ORDER BY point_date)
) WHERE d1 IS NOT NULL;
""").fetchall()
    macros = _macros_sql(doc)
    con.execute(macros).fetchall()
    columns = ", ".join(ALERT_COLUMNS)
    if reader:
        return
    # The rules' text goes into the refresh signature: new rule code or labels refill alerts_current.
    con.execute("INSERT OR REPLACE INTO meta VALUES ('alert_rules_sql', ?)",
                [hashlib.sha256(macros.encode()).hexdigest()]).fetchall()
    _ensure_current_table(con)
    con.execute(f"CREATE OR REPLACE VIEW alerts AS SELECT {columns} FROM {CURRENT_TABLE} ORDER BY alert_order"
                ).fetchall()


def federated_alerts_sql() -> str:
    """A partitioned warehouse's reader: the partitions' current alerts but the late-report rule's (each partition
    measured lateness against its own newest report), that one evaluated over the union; in the alerts' order."""
    cols = ", ".join(f"a.{c}" for c in ALERT_COLUMNS)
    return f"""
CREATE OR REPLACE VIEW {CURRENT_TABLE} AS
SELECT {cols}, row_number() OVER (ORDER BY {_order_sql()}) AS alert_order
FROM (SELECT {", ".join(ALERT_COLUMNS)} FROM {CURRENT_TABLE}_partitions WHERE alert_type <> 'late_report'
      UNION ALL
      SELECT {", ".join(ALERT_COLUMNS)} FROM late_alerts_at(NULL)) a
LEFT JOIN ref_prefecture p ON p.code = a.prefecture_code;
CREATE OR REPLACE VIEW alerts AS SELECT {", ".join(ALERT_COLUMNS)} FROM {CURRENT_TABLE} ORDER BY alert_order;
"""


def _write_settings(con: duckdb.DuckDBPyConnection, doc: dict) -> None:
    con.execute(TABLES).fetchall()
    con.execute("DELETE FROM alert_config").fetchall()
    con.register("_alert_config", config_frame(doc))
    try:
        con.execute("INSERT INTO alert_config SELECT * FROM _alert_config").fetchall()
    finally:
        con.unregister("_alert_config")
    con.execute("DELETE FROM schedule_line").fetchall()
    con.register("_schedule_line", schedule.line_frame())
    try:
        con.execute("INSERT INTO schedule_line SELECT * FROM _schedule_line").fetchall()
    finally:
        con.unregister("_schedule_line")


def _current_ddl() -> str:
    return f"CREATE OR REPLACE TABLE {CURRENT_TABLE} ({', '.join(f'{c} {t}' for c, t in CURRENT_COLUMNS)})"


def _ensure_current_table(con: duckdb.DuckDBPyConnection) -> None:
    """Create alerts_current when missing (a warehouse of older code) or of another shape (older code's columns);
    never empty a good one (this runs at the start of every write, orders included). A new table is filled by the
    refresh at the end of the same write (its signature is dropped)."""
    found = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
        "ORDER BY ordinal_position", [CURRENT_TABLE]).fetchall()
    if [tuple(r) for r in found] == list(CURRENT_COLUMNS):
        return
    con.execute(_current_ddl()).fetchall()
    con.execute("DELETE FROM meta WHERE key = ?", [SIGNATURE_KEY]).fetchall()


def alerts_signature(con: duckdb.DuckDBPyConnection) -> str:
    """A digest of everything the current alerts are computed from."""
    return con.execute(_signature_sql()).fetchall()[0][0]


def refresh_alerts(con: duckdb.DuckDBPyConnection, force: bool = False) -> bool:
    """Fill ``alerts_current`` from ``alerts_at(NULL)`` (in a write connection, after install_alert_views), unless
    nothing it is computed from changed since the last fill; ``force`` refills anyway (a warehouse changed behind
    the pipeline's back, as the benchmark's replication does). True when it refilled."""
    signature = alerts_signature(con)
    if not force and con.execute("SELECT value FROM meta WHERE key = ?", [SIGNATURE_KEY]).fetchall() == [(signature,)]:
        return False
    con.execute("BEGIN TRANSACTION").fetchall()
    try:
        con.execute(_current_ddl()).fetchall()
        con.execute(f"""
INSERT INTO {CURRENT_TABLE}
SELECT {", ".join(f"a.{c}" for c in ALERT_COLUMNS)}, row_number() OVER (ORDER BY {_order_sql()}) AS alert_order
FROM alerts_at(NULL) a LEFT JOIN ref_prefecture p ON p.code = a.prefecture_code
""").fetchall()
        con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [SIGNATURE_KEY, signature]).fetchall()
        con.execute("COMMIT").fetchall()
    except BaseException:
        con.execute("ROLLBACK").fetchall()
        raise
    return True
