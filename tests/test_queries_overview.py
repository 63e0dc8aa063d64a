"""The overview and drill-down query layer (hometown.progress.overview, hometown.progress.region, hometown.progress.village) on the demo warehouse:
every figure equals the warehouse's own (read straight from the public views with DuckDB), adds up across levels,
respects the scope, and states the reporting dates behind it.
"""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl
import pytest

from hometown import fmt
from hometown.progress import overview, region, village
from warehouse import db, metrics
from warehouse.scope import Filters, OutOfScope, Scope

HONGHE, MILE = "532500", "532504"
ALL = Scope()


@pytest.fixture(scope="module")
def wh(demo_db):
    """The demo warehouse as HOMETOWN_DB for the query layer, and a read-only DuckDB connection for the checks."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(db.ENV_VAR, str(demo_db))
        con = duckdb.connect(str(demo_db), read_only=True)
        yield con
        con.close()
        db.close_all()


def one(con, sql: str, params=None):
    return con.execute(sql, params or []).fetchall()[0]


def test_totals_equal_the_current_village_rows(wh):
    t = overview.totals(Filters(), ALL).row(0, named=True)
    n, completed, in_db, members, civil, visits, needs, adopted, funding, lo, hi, prefs = one(wh, f"""
        SELECT count(*), count(*) FILTER (WHERE plan_status IN {metrics.COMPLETED_STATUS_SQL}),
               count(*) FILTER (WHERE plan_status = '已入库'), sum(group_size), sum(civil_servants), sum(cadre_visits),
               sum(needs_total), sum(needs_adopted), sum(funding_wan), min(as_of), max(as_of),
               count(DISTINCT prefecture_code)
        FROM village_status""")
    assert t["task_villages"] == n > 0
    assert (t["plans_completed"], t["plans_in_database"]) == (completed, in_db)
    assert (t["group_members"], t["civil_servants"], t["cadre_visits"]) == (members, civil, visits)
    assert (t["needs_total"], t["needs_adopted"]) == (needs, adopted)
    assert t["funding_wan"] == pytest.approx(funding)
    assert (t["as_of_min"], t["as_of_max"], t["prefectures_reported"]) == (lo, hi, prefs)
    # Rates are the metrics' own: sum the counts, then divide.
    assert t["completion_rate"] == pytest.approx(completed / n)
    assert t["adoption_rate"] == pytest.approx(adopted / needs)
    # The county sheet's figures come from the county rows of the reports in force.
    identified, selected = one(wh, "SELECT sum(identified_civil_servants), sum(selected_cadres) FROM county_summary")
    assert (t["identified_civil_servants"], t["selected_cadres"]) == (identified, selected)


def test_prefecture_ranking_adds_up_and_ranks_by_completion_rate(wh):
    t = overview.totals(Filters(), ALL).row(0, named=True)
    ranking = overview.prefecture_ranking(Filters(), ALL)
    assert ranking.height == 16 and ranking["code"].n_unique() == 16
    reported = ranking.filter(pl.col("rank").is_not_null())
    for name in ("task_villages", "plans_completed", "cadre_visits", "needs_total"):
        assert reported[name].sum() == t[name]
    rates = reported["completion_rate"].to_list()
    assert rates == sorted(rates, reverse=True)
    assert reported["rank"][0] == 1
    # Each prefecture shows its own reporting date: that of its report in force.
    dates = dict(wh.execute("SELECT prefecture_code, max(as_of) FROM village_status GROUP BY 1").fetchall())
    for code, as_of in reported.select("code", "as_of").iter_rows():
        assert as_of == dates[code]


def test_prefecture_figures_equal_the_prefecture_summary_view(wh):
    ranking = overview.prefecture_ranking(Filters(), ALL).filter(pl.col("rank").is_not_null())
    view = {r[0]: r[1:] for r in wh.execute(
        "SELECT prefecture_code, task_villages, plans_completed, plans_in_database, civil_servants "
        "FROM prefecture_summary").fetchall()}
    for row in ranking.iter_rows(named=True):
        assert (row["task_villages"], row["plans_completed"], row["plans_in_database"],
                row["civil_servants"]) == view[row["code"]]


def test_children_add_up_to_their_region(wh):
    pref = overview.totals(Filters(), ALL, HONGHE).row(0, named=True)
    counties = overview.children(Filters(), ALL, HONGHE)
    expected = wh.execute("SELECT count(*) FROM ref_county WHERE prefecture_code = ?", [HONGHE]).fetchall()[0][0]
    assert counties.height == expected  # every county listed, reported or not
    assert counties["task_villages"].sum() == pref["task_villages"]
    assert counties["plans_completed"].sum() == pref["plans_completed"]
    county = overview.totals(Filters(), ALL, MILE).row(0, named=True)
    villages = region.county_villages(Filters(), ALL, MILE)
    assert villages.height == county["task_villages"] > 0
    assert villages["cadre_visits"].sum() == county["cadre_visits"]
    with pytest.raises(ValueError):
        overview.children(Filters(), ALL, MILE)


def test_year_filter(wh):
    t = overview.totals(Filters(task_year=2021), ALL, HONGHE).row(0, named=True)
    n, completed = one(wh, f"SELECT count(*), count(*) FILTER (WHERE plan_status IN {metrics.COMPLETED_STATUS_SQL}) "
                           "FROM village_status WHERE prefecture_code = ? AND task_year = 2021", [HONGHE])
    assert (t["task_villages"], t["plans_completed"]) == (n, completed)
    assert overview.task_years(ALL) == [r[0] for r in wh.execute(
        "SELECT DISTINCT task_year FROM village_history WHERE task_year IS NOT NULL ORDER BY 1").fetchall()]


def test_stage_funnel(wh):
    funnel = overview.stage_funnel(Filters(), ALL)
    total = overview.totals(Filters(), ALL)["task_villages"][0]
    assert funnel["stage"].to_list() == list(range(1, 8))
    assert funnel["name"].null_count() == 0 and funnel["name"][0] == "组建编制组"
    assert funnel["reached"][0] == total == funnel["at_stage"].sum()
    reached = funnel["reached"].to_list()
    assert reached == sorted(reached, reverse=True)
    at7 = one(wh, "SELECT count(*) FROM village_status WHERE stage = 7")[0]
    assert funnel["at_stage"][6] == funnel["reached"][6] == at7


def test_trend_is_the_totals_as_of_each_reporting_date(wh):
    trend = overview.trend(Filters(), ALL)
    dates = [r[0] for r in wh.execute("SELECT DISTINCT as_of FROM accepted_reports ORDER BY 1").fetchall()]
    assert trend["as_of"].to_list() == dates
    last = overview.totals(Filters(), ALL).row(0, named=True)
    assert trend["task_villages"][-1] == last["task_villages"]
    assert trend["completion_rate"][-1] == pytest.approx(last["completion_rate"])
    mid = dates[len(dates) // 2]
    at_mid = overview.totals(Filters(as_of=mid), ALL).row(0, named=True)
    row = trend.filter(pl.col("as_of") == mid).row(0, named=True)
    assert row["task_villages"] == at_mid["task_villages"]
    assert row["plans_completed"] == at_mid["plans_completed"]
    # Up to the filter's date only; the region's trend too.
    assert overview.trend(Filters(as_of=mid), ALL)["as_of"].max() == mid
    honghe = overview.trend(Filters(), ALL, HONGHE)
    assert honghe["task_villages"][-1] == overview.totals(Filters(), ALL, HONGHE)["task_villages"][0]
    # A prefecture's trend has a point for each of its own reports.
    own = [r[0] for r in wh.execute("SELECT DISTINCT as_of FROM accepted_reports WHERE prefecture_code = ? "
                                    "ORDER BY 1", [HONGHE]).fetchall()]
    assert honghe["as_of"].to_list() == own


def test_report_status_names_the_late_and_missing_prefectures(wh):
    status = overview.report_status(Filters(), ALL)
    assert status.height == 16
    newest = one(wh, "SELECT max(as_of) FROM current_reports")[0]
    latest = dict(wh.execute("SELECT prefecture_code, as_of FROM current_reports").fetchall())
    for row in status.iter_rows(named=True):
        as_of = latest.get(row["code"])
        assert row["as_of"] == as_of
        expected = "未报送" if as_of is None else ("滞后" if as_of < newest else "正常")
        assert row["status"] == expected, row
    assert status.filter(pl.col("status") != "正常").height >= 1  # the demo has late prefectures
    # Missing first, then the most behind.
    lags = status.filter(pl.col("status") == "滞后")["lag_days"].to_list()
    assert lags == sorted(lags, reverse=True)


def test_as_of_an_earlier_date(wh):
    dates = [r[0] for r in wh.execute("SELECT DISTINCT as_of FROM accepted_reports ORDER BY 1").fetchall()]
    first = dates[0]
    t = overview.totals(Filters(as_of=first), ALL).row(0, named=True)
    assert t["as_of_max"] == first
    n = one(wh, "SELECT count(*) FROM village_history WHERE as_of = ?", [first])[0]
    assert t["task_villages"] == n


def test_scope_is_applied_in_every_query(wh):
    county = Scope(county_code=MILE)
    t = overview.totals(Filters(), county).row(0, named=True)
    n = one(wh, "SELECT count(*) FROM village_status WHERE county_code = ?", [MILE])[0]
    assert t["task_villages"] == n
    # A county user asking for the whole prefecture still gets only their county.
    assert overview.totals(Filters(), county, HONGHE)["task_villages"][0] == n
    assert overview.prefecture_ranking(Filters(), county)["code"].to_list() == [HONGHE]
    # The overview's ranking: prefectures for the province, the prefecture's counties, the county itself.
    province = overview.prefecture_ranking(Filters(), ALL)
    assert overview.ranking(Filters(), ALL).select("code", "name").rows() == \
        province.select("code", "common_name").rows()
    honghe = overview.ranking(Filters(), Scope(prefecture_code=HONGHE))
    assert honghe["code"].to_list() == overview.children(Filters(), ALL, HONGHE)["code"].to_list()
    assert len(honghe) == 13 and honghe["rank"].min() == 1
    assert overview.ranking(Filters(), county).filter(pl.col("task_villages") > 0)["code"].to_list() == [MILE]
    assert overview.children(Filters(), county, HONGHE).filter(pl.col("task_villages") > 0)["code"].to_list() == [MILE]
    other = one(wh, "SELECT village_key FROM village_status WHERE county_code <> ? LIMIT 1", [MILE])[0]
    assert village.current(Filters(), county, other).height == 0
    assert village.history(Filters(), county, other).height == 0
    with pytest.raises(OutOfScope):
        region.county_villages(Filters(), county, "532501")
    pref = Scope(prefecture_code="530400")
    assert set(overview.report_status(Filters(), pref)["code"]) == {"530400"}
    assert set(overview.report_log(pref)["prefecture_code"]) == {"530400"}


def test_village_details(wh):
    key, county, name = one(wh, "SELECT village_key, county_code, village FROM village_status WHERE county_code = ? "
                                "ORDER BY village_key LIMIT 1", [MILE])
    cur = village.current(Filters(), ALL, key).row(0, named=True)
    assert cur["village"] == name and cur["county_code"] == county and cur["stage_name"]
    hist = village.history(Filters(), ALL, key)
    n = one(wh, "SELECT count(DISTINCT as_of) FROM village_history WHERE village_key = ?", [key])[0]
    assert hist.height == n >= 1
    assert hist["as_of"].to_list() == sorted(hist["as_of"].to_list())
    needs_n = one(wh, "SELECT count(*) FROM needs WHERE village_key = ?", [key])[0]
    assert village.needs(Filters(), ALL, key).height == needs_n
    projects_n = one(wh, "SELECT count(*) FROM projects WHERE village_key = ?", [key])[0]
    assert village.projects(Filters(), ALL, key).height == projects_n


def test_a_village_with_needs_lists_them(wh):
    row = wh.execute("SELECT village_key, count(*) FROM needs GROUP BY 1 ORDER BY 2 DESC LIMIT 1").fetchall()
    if not row:
        pytest.skip("the demo attaches no needs list")
    key, n = row[0]
    needs = village.needs(Filters(), ALL, key)
    assert needs.height == n and needs["content"].null_count() == 0


def test_report_log_shows_refusals_with_reasons(wh):
    log = overview.report_log(ALL, limit=10_000)
    assert log.height == one(wh, "SELECT count(*) FROM report_log")[0]
    counts = dict(overview.report_log_counts(ALL).iter_rows())
    assert sum(counts.values()) == log.height
    assert counts.get("accepted", 0) >= 16
    for row in overview.report_log(ALL, status="refused").iter_rows(named=True):
        assert row["messages"]


def test_alert_panel_counts_the_alerts(wh):
    from hometown.dispatch import alerts

    counts, items = overview.alert_panel(Filters(), ALL, top=5)
    frame = alerts.alerts(ALL)
    assert counts["alert_type"].to_list()[:3] == list(overview.PANEL_RULES)
    assert counts["red"].sum() + counts["yellow"].sum() == frame.height
    assert items.height == min(5, frame.height)
    if frame.filter(pl.col("level") == "红").height >= 5:
        assert set(items["level"]) == {"红"}


def test_regions_and_trail():
    assert region.resolve(None).level == "province"
    assert region.resolve("530000").name == "云南省"
    pref = region.resolve(HONGHE)
    assert (pref.level, pref.name, pref.full_name) == ("prefecture", "红河州", "红河哈尼族彝族自治州")
    county = region.resolve(MILE)
    assert (county.level, county.name, county.prefecture_code) == ("county", "弥勒市", HONGHE)
    v = region.resolve("532504100200")
    assert (v.level, v.county_code, v.prefecture_code) == ("village", MILE, HONGHE)
    synthetic = region.resolve("532504-0123456789")
    assert synthetic.level == "village" and synthetic.county_code == MILE
    assert [r.code for r in region.trail(v)] == ["530000", HONGHE, MILE, "532504100200"]
    assert [r.code for r in region.trail(pref)] == ["530000", HONGHE]
    assert region.resolve("999900") is None and region.resolve("532599") is None
    with pytest.raises(OutOfScope):
        region.check_scope(pref, Scope(county_code=MILE))


def test_as_of_range_text():
    assert fmt.as_of_range(date(2023, 12, 28), date(2023, 12, 31)) == "数据截至 2023-12-28 至 2023-12-31"
    assert fmt.as_of_range(date(2023, 12, 31), date(2023, 12, 31)) == "数据截至 2023-12-31"
    assert fmt.as_of_range(None, None) == "暂无已受理的报表"
