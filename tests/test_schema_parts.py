"""The schema-parts hook (warehouse/parts/): a part's table, view and alert rule reach the warehouse without an edit
of warehouse/store.py or warehouse/alerts.py.

A throw-away part is added to the discovered ones (``warehouse.parts.parts``); a warehouse written with it has the
part's table and view, and its rule raises alerts in the ``alerts`` view (materialised ``alerts_current``) with the
label and threshold read from config/alerts.toml; switching the rule off there removes them.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from warehouse import alerts, parts, store
from warehouse.parts import AlertRule, SchemaPart, num, on

RULE = "probe_low_count"

PROBE = SchemaPart(
    key="probe",
    tables="CREATE TABLE IF NOT EXISTS probe_rows (county_code VARCHAR, n INTEGER);",
    views="CREATE OR REPLACE VIEW probe_counts AS SELECT county_code, sum(n) AS n FROM probe_rows GROUP BY 1;",
    rules=(AlertRule(
        key=RULE, label="探针数过少", level=alerts.YELLOW,
        sql=f"""
SELECT '{RULE}' AS alert_type, '黄' AS level, c.prefecture_code, p.county_code, NULL::VARCHAR AS village_code,
       NULL::DATE AS as_of, CAST(p.n AS DOUBLE) AS value, CAST({num(RULE, 'minimum')} AS DOUBLE) AS threshold,
       printf('探针数 %d', p.n) AS detail, '{RULE}:' || p.county_code AS alert_key, NULL::INTEGER AS task_year,
       NULL::VARCHAR AS township, NULL::VARCHAR AS village, NULL::VARCHAR AS village_key
FROM probe_counts p JOIN ref_county c ON c.code = p.county_code CROSS JOIN cfg
WHERE {on(RULE)} AND p.n < coalesce({num(RULE, 'minimum')}, 5)""",
        depends_on=("SELECT sum(n) FROM probe_rows",)),),
)


@pytest.fixture
def with_probe(monkeypatch, tmp_path: Path):
    real = parts.parts()
    monkeypatch.setattr(parts, "parts", lambda: (*real, PROBE))
    config = tmp_path / "alerts.toml"
    config.write_text(alerts.ALERTS_FILE.read_text(encoding="utf-8")
                      + f'\n[{RULE}]\nenabled = true\nlabel = "探针过少（配置）"\nminimum = 3\n', encoding="utf-8")
    monkeypatch.setattr(alerts, "ALERTS_FILE", config)
    return config


def _write(db: Path, rows: list[tuple[str, int]]) -> None:
    with store.writing(db) as con:
        con.execute("DELETE FROM probe_rows").fetchall()
        con.executemany("INSERT INTO probe_rows VALUES (?, ?)", rows)


def _alerts(db: Path) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT alert_type, level, county_code, value, threshold, alert_label, county_name "
                           f"FROM alerts WHERE alert_type = '{RULE}' ORDER BY county_code").fetchall()
    finally:
        con.close()


def test_part_table_view_and_rule_reach_the_warehouse(with_probe, tmp_path):
    db = tmp_path / "w.duckdb"
    _write(db, [("532504", 1), ("532504", 1), ("532501", 3)])
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT * FROM probe_counts ORDER BY 1").fetchall() == [("532501", 3), ("532504", 2)]
    finally:
        con.close()
    # 弥勒市 has 2 < 3 (the config's minimum): alert; 个旧市 has 3, not below: none.
    assert _alerts(db) == [(RULE, "黄", "532504", 2.0, 3.0, "探针过少（配置）", "弥勒市")]
    assert RULE in alerts.all_rules() and alerts.rule_labels()[RULE] == "探针过少（配置）"
    assert alerts.rule_levels()[RULE] == alerts.YELLOW


def test_part_rule_follows_its_inputs_and_its_switch(with_probe, tmp_path):
    db = tmp_path / "w.duckdb"
    _write(db, [("532504", 2)])
    assert [a[2] for a in _alerts(db)] == ["532504"]
    _write(db, [("532504", 4)])  # only the part's own table changed: its depends_on refills alerts_current
    assert _alerts(db) == []
    _write(db, [("532504", 1)])
    assert len(_alerts(db)) == 1
    with_probe.write_text(with_probe.read_text(encoding="utf-8").replace(
        f"[{RULE}]\nenabled = true", f"[{RULE}]\nenabled = false"), encoding="utf-8")
    _write(db, [("532504", 1)])
    assert _alerts(db) == []


def test_unknown_rule_in_config_still_refused(tmp_path):
    bad = tmp_path / "alerts.toml"
    bad.write_text('[no_such_rule]\nenabled = true\n', encoding="utf-8")
    with pytest.raises(ValueError, match="未知规则"):
        alerts.load_config(bad)
