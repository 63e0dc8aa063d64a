"""驻村力量 beside the progress pages: the map's two team metrics, the overview's tile and the village page's team,
on a warehouse holding a progress report and the small teams warehouse (tests/teamfiles.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reportfiles import load, simple_report, village, write_report
from teamfiles import make_id, small_warehouse
from warehouse import db
from warehouse.scope import ALL, Filters

ROOT = Path(__file__).resolve().parent.parent
MILE = "532504"


@pytest.fixture(autouse=True)
def _no_legacy(no_legacy_pages_mode):
    """Runs start from app.py."""


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    base = tmp_path_factory.mktemp("teams_int")
    path = small_warehouse(base / "in", base / "w.duckdb")
    progress = write_report(base / "红河州_20220331.xlsx", simple_report([
        village(township="弥阳街道", village="城东社区"), village(county="个旧市", township="宝华街道", village="青杉里社区")]))
    (r,) = load(path, progress)
    assert r.status == "accepted", r.errors
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(db.ENV_VAR, str(path))
        yield path
    db.close_all()


def test_map_offers_staffing_and_attendance(wh):
    from hometown.progress import map_data

    assert {"team_staffing_rate", "team_attendance_rate"} <= set(map_data.METRICS)
    figures = {r["code"]: r for r in map_data.region_figures(Filters(), ALL, "county").iter_rows(named=True)}
    assert figures[MILE]["team_staffing_rate"] == pytest.approx(2 / 4)
    assert figures[MILE]["team_attendance_rate"] == pytest.approx(4 / 7)
    assert figures["532501"]["team_staffing_rate"] is None        # 个旧市: no village with a requirement
    pref = {r["code"]: r for r in map_data.region_figures(Filters(), ALL, "prefecture").iter_rows(named=True)}
    assert pref["532500"]["team_attendance_rate"] == pytest.approx(4 / 8)


def _app(role="leader"):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["scope"] = ALL
    at.session_state["role"] = role
    at.run()
    return at


def test_overview_has_the_team_tile(wh):
    at = _app()
    assert not at.exception, at.exception
    links = [p.label for p in at.get("page_link")]
    tile = next(label for label in links if label.startswith("驻村力量"))
    assert "在岗 7 人" in tile and "第一书记 2 人" in tile and "50.0%" in tile


def test_village_page_shows_its_team_masked(wh):
    at = _app("analyst")
    at.switch_page("pages/village.py")
    at.query_params["code"] = "532504001001"
    at.run()
    assert not at.exception, at.exception
    team = next(d.value for d in at.dataframe if "驻村身份" in d.value.columns)
    assert set(team["姓名"]) == {"张三", "李四", "王五"} and set(team["联系电话"]) == {"138****5678"}
    assert any("驻村工作队（3 人在岗）" in s.value for s in at.subheader)
    assert make_id(1) not in str(team.to_dict())


def test_attendance_met_rate_is_a_ranking_indicator_read_from_the_summary(wh):
    """驻村在村天数达标率 on /rankings is team_summary's attendance_met_rate (the /teams KPI, one definition), at the
    county (弥勒市 4/7, 个旧市 0/1) and the village level (城东社区 2/3: 张三 李四 met, 王五 not; test_teams_views)."""
    from hometown.rankings import exports, index as rankings

    weights = {n: 0 for n in rankings.INDICATORS} | {"attendance_met_rate": 1}
    r = rankings.rank("county", weights, db_path=str(wh))
    by_county = {row["county_name"]: row for row in r.frame.iter_rows(named=True)}
    assert by_county["弥勒市"]["attendance_met_rate"] == pytest.approx(4 / 7)
    assert by_county["个旧市"]["attendance_met_rate"] == 0.0
    assert (by_county["弥勒市"]["rank"], by_county["个旧市"]["rank"]) == (1, 2)
    villages = {row["village"]: row for row in rankings.rank("village", weights, db_path=str(wh)).frame.iter_rows(
        named=True)}
    assert villages["城东社区"]["attendance_met_rate"] == pytest.approx(2 / 3)
    assert villages["青杉里社区"]["attendance_met_rate"] == 0.0
    assert "驻村在村天数达标率" in rankings.table(r).columns
    notes = dict(rankings.method_notes(r))
    assert "在岗人次" in notes["权重：驻村在村天数达标率"] and "team_summary" in notes["数据来源"]
    assert exports.ranking_xlsx(r, None)[:2] == b"PK"
