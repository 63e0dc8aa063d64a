"""The 驻村力量 demo (demo/teams.py, written by `python -m demo` for `make run`): every workbook loads through the
real pipeline (one re-sent month supersedes its first version), 16 prefectures × 24 months, teams calibrated (a first
secretary in every village that needs one unless trouble was drawn, teams of 3–5 in key villages), and every kind
of trouble the issue asks for is there as alerts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from demo import teams as demo_teams
from pipelines.ingest import ingest
from reportfiles import fetch


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("teams_demo")
    files = demo_teams.write_teams(base, 20210626)
    assert len(files) == 16 * 24 + 1
    results = ingest([base], base / "w.duckdb")
    assert [(r.file_name, r.errors[:2]) for r in results if r.refused] == []
    assert sorted(r.status for r in results).count("superseded") == 1
    return base / "w.duckdb"


def test_every_prefecture_and_month(demo):
    rows = fetch(demo, "SELECT prefecture_code, count(DISTINCT month) AS months FROM team_attendance GROUP BY 1")
    assert len(rows) == 16 and {r["months"] for r in rows} == {24}
    resent = fetch(demo, "SELECT count(*) AS n FROM reports WHERE status = 'superseded' AND kind = 'teams'")
    assert resent == [{"n": 1}]


def test_calibrated_staffing(demo):
    teams = fetch(demo, "SELECT village_type, people_in_post, first_secretaries, meets_rule FROM team_coverage "
                        "WHERE required_rule = 'team'")
    met = [t for t in teams if t["meets_rule"]]
    assert len(met) >= 0.8 * len(teams) and all(3 <= t["people_in_post"] <= 6 for t in met)
    assert all(t["first_secretaries"] >= 1 for t in met)


def test_trouble_on_purpose(demo):
    found = {(r["alert_type"], r["level"]) for r in fetch(demo, "SELECT DISTINCT alert_type, level FROM alerts")}
    for expected in [("team_understaffed", "红"), ("team_days_short", "红"), ("team_days_short", "黄"),
                     ("team_ineligible", "黄"), ("team_term_due", "黄"), ("team_term_due", "红"),
                     ("team_visits_incomplete", "黄"), ("team_yearly_missing", "黄")]:
        assert expected in found, expected
    absent = fetch(demo, "SELECT count(*) AS n FROM team_attendance WHERE days_absent > 0")
    assert absent[0]["n"] > 0
    non_member = fetch(demo, "SELECT count(*) AS n FROM team_members WHERE first_secretary AND in_post "
                             "AND party_status <> '中共党员'")
    assert non_member[0]["n"] >= 1
