"""A warehouse written by an older version of the platform (issue 14): before the 驻村力量 and 任期承诺 schema parts
existed, or by the first version of the 驻村力量 part (fewer views). The app reads it read-only and cannot add what
it lacks; every page must still open, saying there is no such report yet (warehouse.db.query_part), and the next load
upgrades the file.

The old file is made as an old version wrote it: a progress report loaded, then every table and view of the two
parts dropped and the alert macro rebuilt without their rules (the old version had none).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from apptests import shown
from reportfiles import load, simple_report, village, write_report
from warehouse import db
from warehouse.scope import ALL, Filters

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
PAGES = ["overview", "region", "village", "map", "dispatch", "rankings", "teams", "briefs", "commitments", "upload",
         "reports", "audit"]


def strip_parts(path: Path, monkeypatch) -> None:
    """Make ``path`` what a version without the schema parts wrote: no team_* / commitment_* object, no cache
    signature of theirs, and alerts_at without their rules."""
    from warehouse import alerts, parts

    con = duckdb.connect(str(path))
    try:
        for (name,) in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal AND "
                                   "(view_name LIKE 'team%' OR view_name LIKE 'commitment%')").fetchall():
            con.execute(f"DROP VIEW {name}")
        for (name,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE "
                                   "table_name LIKE 'team%' OR table_name LIKE 'commitment%'").fetchall():
            con.execute(f"DROP TABLE {name}")
        con.execute("DELETE FROM meta WHERE key LIKE 'team%' OR key LIKE 'commitment%'")
        con.execute("DELETE FROM alert_config WHERE alert_type LIKE 'team%' OR alert_type LIKE 'commit%'")
        doc = {k: v for k, v in alerts.load_config().items() if not k.startswith(("team_", "commit_"))}
        with monkeypatch.context() as mp:
            mp.setattr(parts, "parts", lambda: ())
            con.execute(alerts._macros_sql(doc))
        con.execute("CHECKPOINT")
    finally:
        con.close()


@pytest.fixture(scope="module")
def old(tmp_path_factory):
    base = tmp_path_factory.mktemp("old_warehouse")
    path = base / "warehouse.duckdb"
    report = write_report(base / "红河州_20220831.xlsx", simple_report(
        [village(), village(county="蒙自市", township="文澜镇", village="试验村")], as_of="截至2022年8月31日"))
    (result,) = load(path, report, workers=1)
    assert result.status == "accepted", result.errors
    with pytest.MonkeyPatch.context() as mp:
        strip_parts(path, mp)
        mp.setenv(db.ENV_VAR, str(path))
        mp.setenv("HOMETOWN_AUTH", "off")
        yield path
    db.close_all()


@pytest.fixture(autouse=True)
def _no_legacy(no_legacy_pages_mode):
    """Runs start from app.py, as on the server."""


def test_the_file_lacks_both_parts(old):
    names = db.relations(old)
    assert "village_history" in names and "alerts" in names
    assert not [n for n in names if n.startswith(("team", "commitment"))]
    assert (db.part_state("teams", old), db.part_state("commitments", old)) == (db.ABSENT, db.ABSENT)


def test_the_query_layer_reads_it_as_a_warehouse_without_those_reports(old):
    from hometown import commitments
    from hometown.progress import map_data
    from hometown.rankings import index as rankings
    from hometown.teams import queries as teams

    k = teams.kpis(ALL)
    assert k.as_of is None and k.in_post == 0 and k.staffing_met_rate is None
    table = teams.county_table(ALL)
    assert table.is_empty() and "attendance_met_rate" in table.columns
    assert teams.members(ALL).is_empty()
    assert teams.villages_lacking(ALL).is_empty() and teams.short_people(ALL).is_empty()
    assert teams.terms_ending(ALL).is_empty() and teams.map_rates("county").is_empty()
    with pytest.raises(Exception, match="无法查看该人员"):
        teams.person("0" * 32, ALL)
    assert commitments.summary(ALL) is None and commitments.children(ALL).is_empty()
    figures = map_data.region_figures(Filters(), ALL, "county")
    assert figures.height == 2 and figures["team_staffing_rate"].is_null().all()
    weights = {n: 1 for n in rankings.INDICATORS}
    r = rankings.rank("county", weights, db_path=str(old))
    assert r.frame.height == 2
    assert r.frame["attendance_met_rate"].is_null().all() and r.frame["fulfilment_rate"].is_null().all()


@pytest.mark.parametrize("page", PAGES)
def test_every_page_opens(old, page):
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page(f"pages/{page}.py")
    if page == "village":
        at.query_params["code"] = db.query("SELECT village_code FROM village_status WHERE village = '花口村'",
                                           path=old)["village_code"][0]
    at.run()
    assert not at.exception, (page, [e.message for e in at.exception])
    errors = [shown(e.value) for e in at.error]
    assert not [e for e in errors if "页面出错" in e or "不存在" in e or "损坏" in e], (page, errors)
    said = " ".join(shown(str(e.value)) for kind in ("info", "caption", "markdown", "subheader")
                    for e in getattr(at, kind))
    if page == "teams":
        assert "尚无已接收的驻村力量月报" in said
    if page == "commitments":
        assert "尚无已接收的任期承诺报表" in said
    if page == "village":
        assert "驻村工作队（0 人在岗）" in said and "驻村力量月报中没有派驻该村的人员" in said
    if page == "overview":
        assert not [p for p in at.get("page_link") if p.label.startswith("驻村力量")]   # no tile without a report


def test_a_load_upgrades_it(old, tmp_path):
    """The next write creates the parts' tables and views: the file is current, its figures unchanged."""
    import shutil

    from teamfiles import small_warehouse

    copy = tmp_path / "w.duckdb"
    shutil.copyfile(old, copy)
    small_warehouse(tmp_path / "in", copy)
    assert (db.part_state("teams", copy), db.part_state("commitments", copy)) == (db.CURRENT, db.CURRENT)
    (row,) = db.query("SELECT in_post FROM team_summary WHERE level = 'prefecture'", path=copy).rows()
    assert row == (7,)
    assert db.query("SELECT count(*) AS n FROM village_status", path=copy)["n"][0] == 2


def test_a_file_of_the_first_teams_version_gets_the_views_it_lacks(tmp_path):
    """A file whose 驻村力量 part predates some of today's views (the person card's team_people, the rankings'
    team_village_summary): they are supplied live for each query, with the same figures."""
    from hometown.teams import queries as teams
    from teamfiles import small_warehouse
    from warehouse.scope import Scope

    path = small_warehouse(tmp_path / "in", tmp_path / "w.duckdb")
    key = db.query("SELECT person_key FROM team_members WHERE name = '周九'", path=path)["person_key"][0]
    before = teams.person(key, ALL, db_path=str(path))
    villages = db.query_part("teams", "SELECT * FROM team_village_summary ORDER BY code", path=path)
    db.close_all()
    con = duckdb.connect(str(path))
    for name in ("team_people", "team_people_live", "team_village_summary", "team_village_summary_live"):
        con.execute(f"DROP VIEW {name}")
    con.close()
    assert db.part_state("teams", path) == db.OUTDATED
    after = teams.person(key, Scope(county_code="532504"), db_path=str(path))
    assert {k: v for k, v in after.items() if k != "attendance"} == {k: v for k, v in before.items() if k != "attendance"}
    assert after["attendance"].equals(before["attendance"])
    assert db.query_part("teams", "SELECT * FROM team_village_summary ORDER BY code", path=path).equals(villages)
    assert "team_people" not in db.relations(path)   # supplied per query, never written: the file is read-only
