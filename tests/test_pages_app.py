"""AppTest for the overview, big screen, region, village and report-log pages on the demo warehouse.

Drill-down is tested every way a user takes it: through query parameters (the shareable links), by clicking a
ranking bar or an alert (buttons, clicked as a user clicks them), and through an injected chart or table selection.
AppTest cannot click a pydeck polygon or a dataframe row, but in Streamlit 1.67 a selection widget's state accepts
writes by its key before ``run()``: ``{"selection": {"objects": {layer: [feature]}, ...}}`` for
``st.pydeck_chart(on_select="rerun")`` (the overview's map panel) and ``{"selection": {"rows": [i], ...}}`` for
``st.dataframe``. The page then reads the selection exactly as it reads a real click and calls ``st.switch_page``,
which AppTest follows.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import parse_qs

import duckdb
import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from apptests import kpi_tiles, kpis, live_map, map_click, map_panel_key, shown, table_with

from hometown import fmt
from hometown.progress import map_data, overview, region
from warehouse import db
from warehouse.scope import Filters, Scope

APP = str(Path(__file__).resolve().parent.parent / "app.py")
HONGHE, MILE = "532500", "532504"
ALL = Scope()


@pytest.fixture(autouse=True)
def _no_legacy(no_legacy_pages_mode):
    """AppTest runs start from app.py, as on the server (tests/conftest.py); a page file run by itself is refused."""


@pytest.fixture(scope="module")
def wh(demo_db):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(db.ENV_VAR, str(demo_db))
        mp.setenv("HOMETOWN_AUTH", "off")  # open app (no sign-in) even where data/users.toml exists
        con = duckdb.connect(str(demo_db), read_only=True)
        yield con
        con.close()
        db.close_all()


def open_page(page: str | None = None, scope: Scope | None = None, state: dict | None = None, **params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    if page:
        at.switch_page(page)
    for k, v in params.items():
        at.query_params[k] = v
    if scope is not None:
        at.session_state["scope"] = scope
    for k, v in (state or {}).items():
        at.session_state[k] = v
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    """The page's Markdown and markup as a reader sees it (report text is escaped: ui.text)."""
    return shown("\n".join([m.value for m in at.markdown] + [c.value for c in at.caption] + [h.value for h in at.html]))


def row_click(i: int) -> dict:
    return {"selection": {"rows": [i], "columns": [], "cells": []}}


def title(at: AppTest) -> str:
    return shown(at.title[0].value) if at.title else ""


# --------------------------------------------------------------------------------------------------- overview


def test_overview_kpis_equal_the_warehouse(wh):
    at = open_page()
    n, completed, funding = wh.execute(
        "SELECT count(*), count(*) FILTER (WHERE plan_status IN ('成果完成','已审查','已审批','已入库')), "
        "sum(funding_wan) FROM village_status").fetchall()[0]
    m = kpis(at)
    assert m["任务村"] == fmt.count(n, "个")
    assert m["规划成果完成"] == fmt.count(completed, "个")
    assert m["项目资金"] == fmt.money_wan(funding) and m["项目资金"].endswith("亿元")
    assert {"规划编制组", "编制组成员", "其中公职人员", "干部回乡", "收集需求", "村民参与", "成果入库"} <= set(m)
    deltas = {label: note for label, (_, note) in kpi_tiles(at).items()}
    assert deltas["规划成果完成"] == f"完成率 {fmt.percent(completed / n)}"
    lo, hi = wh.execute("SELECT min(as_of), max(as_of) FROM current_reports").fetchall()[0]
    assert fmt.as_of_range(lo, hi) in texts(at)
    # The big-screen link keeps the page's filters.
    links = {p.value: p.proto.query_string for p in at.page_link}
    assert "screen=big" in links["大屏模式"]


def test_overview_panels_name_late_prefectures_and_alerts(wh):
    at = open_page()
    subheaders = [s.value for s in at.subheader]
    for name in ("州市规划完成率排名", "一图督进度", "七个环节进度漏斗", "各期进度趋势", "预警", "报送情况"):
        assert name in subheaders
    status = overview.report_status(Filters(), ALL)
    body = texts(at)
    for name in status.filter(pl.col("status") != "正常")["name"]:
        assert name in body
    assert "县进度滞后" in body and "编制组无公职人员" in body and "报送逾期" in body
    # The ranking: one bar per reported prefecture, best first, each with its rate and its own reporting date.
    ranking = overview.prefecture_ranking(Filters(), ALL)
    bars = [b for b in at.button if b.key.startswith("ov_bars_")]
    assert [b.key for b in bars] == [f"ov_bars_{c}" for c in ranking["code"]] and len(bars) == 16
    first = ranking.row(0, named=True)
    assert bars[0].label == (f"1. {first['common_name']} **{fmt.percent(first['completion_rate'])} · "
                             f"{first['as_of'].strftime('%m-%d')}**")
    assert fmt.date(first["as_of"]) in bars[0].help
    # One screen: the full prefecture table is the province page's, linked with the page's filters.
    links = {p.label: parse_qs(p.proto.query_string) for p in at.page_link}
    assert links["各州市明细表（全部指标，可排序）"] == {"code": ["530000"]}


def test_a_prefecture_users_overview_ranks_its_counties(wh):
    at = open_page(scope=Scope(prefecture_code=HONGHE))
    assert "县市区规划完成率排名" in [s.value for s in at.subheader]
    counties = overview.children(Filters(), ALL, HONGHE).filter(pl.col("task_villages") > 0)
    bars = [b for b in at.button if b.key.startswith("ov_bars_")]
    assert [b.key for b in bars] == [f"ov_bars_{c}" for c in counties["code"]] and len(bars) > 1
    assert all(b.key.startswith("ov_bars_5325") and not b.disabled for b in bars)
    assert bars[0].label.startswith(f"1. {counties['name'][0]} **{fmt.percent(counties['completion_rate'][0])}")
    at.button(key=f"ov_bars_{MILE}").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert title(at) == "弥勒市" and at.query_params["code"] == MILE


def test_overview_funnel_and_trend_draw_the_warehouse_figures(wh):
    at = open_page()
    body = texts(at)
    funnel = re.findall(r"data-stage='(\d)'.*?class='ht-funnel-value'>([\d,]+)<small>", body)
    n = wh.execute("SELECT count(*) FROM village_status").fetchall()[0][0]
    reached = [wh.execute("SELECT count(*) FROM village_status WHERE stage >= ?", [k]).fetchall()[0][0]
               for k in range(1, 8)]
    assert funnel == [(str(k), fmt.plain(r)) for k, r in zip(range(1, 8), reached)] and reached[0] <= n
    # The trend: one point per reporting date and series, each titled with its date and rate.
    trend = overview.trend(Filters(), ALL)
    titles = re.findall(r"<title>截至 (\d{4}-\d\d-\d\d)　规划完成率 ([\d.]+%)", body)
    assert titles == [(fmt.date(d), fmt.percent(r)) for d, r in zip(trend["as_of"], trend["completion_rate"])]


def test_overview_bar_click_opens_the_prefecture(wh):
    at = open_page(year="2021")
    at.button(key=f"ov_bars_{HONGHE}").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert title(at) == "红河哈尼族彝族自治州"
    assert at.query_params["code"] == HONGHE and at.query_params["year"] == "2021"
    n = wh.execute("SELECT count(*) FROM village_status WHERE prefecture_code = ? AND task_year = 2021",
                   [HONGHE]).fetchall()[0][0]
    assert kpis(at)["任务村"] == fmt.count(n, "个")


def test_overview_map_selection_drills_into_the_prefecture_then_opens_the_county(wh):
    at = open_page(state={**live_map(), map_panel_key(): map_click(map_data.LAYER_REGIONS["prefecture"], HONGHE)})
    assert title(at).startswith("一屏知全局")  # the panel drilled in; the page stays
    assert at.session_state["ovmap_pref"] == HONGHE
    codes = deck_codes(at, map_data.LAYER_REGIONS["county"])
    assert MILE in codes and all(c.startswith("5325") for c in codes)
    at.session_state[map_panel_key("county", HONGHE, clicks=1)] = map_click(map_data.LAYER_REGIONS["county"], MILE)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert title(at) == "弥勒市" and at.query_params["code"] == MILE


def deck_codes(at: AppTest, layer: str) -> list[str]:
    spec = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    data = next(l for l in spec["layers"] if l["id"] == layer)["data"]
    return [f["properties"]["code"] for f in (data["features"] if isinstance(data, dict) else data)]


def test_overview_map_panel_shows_its_preview_until_the_map_is_loaded(wh):
    """A new session's panel is the map as SVG (the page is whole before deck.gl's bundle is in) with a load button
    the browser clicks by itself; once clicked the panel is the pydeck map of the same regions and colours."""
    at = open_page()
    assert not at.get("deck_gl_json_chart")
    preview = next(m.value for m in at.markdown if "ht-map-preview" in m.value)
    drawn = dict(re.findall(r"<path data-code='(\d{6})' d='M[^']+' fill='rgb\((\d+,\d+,\d+)\)'", preview))
    model = map_data.map_model(Filters(), ALL, "prefecture", map_data.DEFAULT_METRIC, None)
    assert drawn == {f["properties"]["code"]: ",".join(map(str, f["properties"]["fill"][:3])) for f in model.features}
    assert len(drawn) == 16
    at.button(key="ovmap_load").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert sorted(deck_codes(at, map_data.LAYER_REGIONS["prefecture"])) == sorted(drawn)
    assert not [b for b in at.button if b.key == "ovmap_load"]


def map_page_link(at: AppTest):
    return next(p for p in at.page_link if p.label == "更多指标和县级视图")


def test_overview_map_panel_goes_back_and_links_the_map_page_on_its_view(wh):
    """The panel has no controls of its own: a drilled panel offers 返回全省 and the map page on the same view."""
    at = open_page(state=live_map())
    assert not [b for b in at.button if b.key == "ovmap_back"]  # nothing to go back from
    assert "ovmap_level" not in at.session_state and "ovmap_metric" not in at.session_state
    link = map_page_link(at)
    assert link.proto.page == "map" and "pref" not in parse_qs(link.proto.query_string)
    at.session_state[map_panel_key()] = map_click(map_data.LAYER_REGIONS["prefecture"], HONGHE)
    at.run()
    assert at.session_state["ovmap_pref"] == HONGHE
    assert parse_qs(map_page_link(at).proto.query_string)["pref"] == [HONGHE]
    at.button(key="ovmap_back").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.session_state["ovmap_pref"] == ""
    assert len(deck_codes(at, map_data.LAYER_REGIONS["prefecture"])) == 16
    assert not [b for b in at.button if b.key == "ovmap_back"]


def test_overview_alert_click_opens_its_place(wh):
    at = open_page()
    counts, items = overview.alert_panel(Filters(), ALL)
    alerts = [b for b in at.button if b.key.startswith("ov_alerts_")]
    assert len(alerts) == items.height > 0
    first = items.row(0, named=True)
    assert first["alert_label"] in shown(alerts[0].label) and first["detail"] in shown(alerts[0].label)
    target = first["village_key"] or first["county_code"] or first["prefecture_code"]
    alerts[0].click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.query_params["code"] == target
    assert title(at) == (region.resolve(target).full_name if len(target) == 6 else first["village"])


def test_filter_bar_writes_the_url(wh):
    at = open_page()
    at.selectbox(key="ov_year_None").set_value(2021).run()
    assert at.query_params["year"] == "2021"
    n = wh.execute("SELECT count(*) FROM village_status WHERE task_year = 2021").fetchall()[0][0]
    assert kpis(at)["任务村"] == fmt.count(n, "个")


# ------------------------------------------------------------------------------------------------- big screen


def test_big_screen_rolls_the_ranking_and_needs_no_mouse(wh):
    at = open_page(screen="big", refresh="15")
    assert not at.selectbox and not at.button and not at.dataframe and not at.page_link
    html = texts(at)
    assert "每 15 秒自动刷新" in html
    assert "第 1/2 页" in html and "州市规划完成率排名" in html
    m = kpis(at)
    assert m["任务村"] == fmt.count(wh.execute("SELECT count(*) FROM village_status").fetchall()[0][0], "个")
    ranking = overview.prefecture_ranking(Filters(), ALL)
    first, ninth = ranking["common_name"][0], ranking["common_name"][8]
    assert first in html and ninth not in html.split("州市规划完成率排名")[1].split("第 1/2 页")[0]
    at.run()  # the next refresh shows the next page of the board
    html = texts(at)
    assert "第 2/2 页" in html and ninth in html
    at.run()
    assert "第 1/2 页" in texts(at)


def test_big_screen_refresh_defaults_to_60_seconds(wh):
    assert "每 60 秒自动刷新" in texts(open_page(screen="big", refresh="soon"))


# ---------------------------------------------------------------------------------------------------- regions


@pytest.mark.parametrize(("params", "expected_title", "where"), [
    ({}, "云南省", ("TRUE", [])),
    ({"code": "530000"}, "云南省", ("TRUE", [])),
    ({"code": HONGHE, "year": "2021"}, "红河哈尼族彝族自治州", ("prefecture_code = ? AND task_year = 2021", [HONGHE])),
    ({"code": MILE}, "弥勒市", ("county_code = ?", [MILE])),
])
def test_region_pages_from_the_url(wh, params, expected_title, where):
    at = open_page("pages/region.py", **params)
    assert title(at) == expected_title
    n, visits = wh.execute(f"SELECT count(*), sum(cadre_visits) FROM village_status WHERE {where[0]}",
                           where[1]).fetchall()[0]
    m = kpis(at)
    assert m["任务村"] == fmt.count(n, "个") and m["干部回乡"] == fmt.count(visits, "人次")


def test_prefecture_bar_click_opens_the_county(wh):
    at = open_page("pages/region.py", code=HONGHE)
    at.button(key=f"rg_bars_{HONGHE}_{MILE}").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert title(at) == "弥勒市" and at.query_params["code"] == MILE
    villages = at.dataframe(key=f"rg_villages_{MILE}").value
    n = wh.execute("SELECT count(*) FROM village_status WHERE county_code = ?", [MILE]).fetchall()[0][0]
    assert len(villages) == n


def test_prefecture_table_selection_opens_the_county(wh):
    kids = overview.children(Filters(), ALL, HONGHE)
    at = open_page("pages/region.py", code=HONGHE, state={f"rg_table_{HONGHE}": row_click(0)})
    assert at.query_params["code"] == kids["code"][0] and title(at) == kids["name"][0]


def test_county_table_selection_opens_the_village(wh):
    villages = region.county_villages(Filters(), ALL, MILE)
    at = open_page("pages/region.py", code=MILE, asof="2023-12-31", state={f"rg_villages_{MILE}": row_click(3)})
    chosen = villages.row(3, named=True)
    assert at.query_params["code"] == chosen["village_key"] and at.query_params["asof"] == "2023-12-31"
    assert title(at) == chosen["village"]


def test_breadcrumbs_lead_back_up_keeping_the_filters(wh):
    key = region.county_villages(Filters(), ALL, MILE)["village_key"][0]
    at = open_page("pages/village.py", code=key, year="2021")
    links = {p.value.replace("›", "").strip(): parse_qs(p.proto.query_string) for p in at.page_link}
    assert links["云南省"] == {"code": ["530000"], "year": ["2021"]}
    assert links["红河州"] == {"code": [HONGHE], "year": ["2021"]}
    assert links["弥勒市"] == {"code": [MILE], "year": ["2021"]}


# ---------------------------------------------------------------------------------------------------- village


def test_village_page_shows_its_details(wh):
    key, n_needs = wh.execute("SELECT village_key, count(*) FROM needs GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"
                              ).fetchall()[0]
    row = wh.execute("SELECT village, stage, steps_done, group_size, civil_servants, county_name FROM village_status "
                     "WHERE village_key = ?", [key]).fetchall()[0]
    at = open_page("pages/village.py", code=key)
    assert title(at) == row[0]
    m = kpis(at)
    assert m["已完成步骤"] == f"{row[2]}/28" and m["当前环节"].startswith(f"{row[1]}.")
    assert m["编制组人数"] == fmt.count(row[3], "人") and m["其中公职人员"] == fmt.count(row[4], "人")
    assert len(table_with(at, "需求内容")) == n_needs
    history = table_with(at, "已完成步骤")
    assert len(history) == wh.execute("SELECT count(DISTINCT as_of) FROM village_history WHERE village_key = ?",
                                      [key]).fetchall()[0][0]
    assert key in texts(at) and row[5] in texts(at)


def test_unknown_and_forbidden_regions_are_refused(wh):
    assert "未知的区划代码" in open_page("pages/region.py", code="999900").error[0].value
    county = Scope(county_code=MILE)
    assert "无权查看" in open_page("pages/region.py", scope=county, code=HONGHE).error[0].value
    other = wh.execute("SELECT village_key FROM village_status WHERE county_code <> ? LIMIT 1", [MILE]).fetchall()[0][0]
    assert "无权查看" in open_page("pages/village.py", scope=county, code=other).error[0].value
    # The scope applies to clicks too: the county user's ranking has a bar for its own county only, and a map
    # selection outside it (a forged request) is ignored.
    at = open_page(scope=county)
    assert [b.key for b in at.button if b.key.startswith("ov_bars_")] == [f"ov_bars_{MILE}"]  # its own county
    at = open_page(scope=county, state={**live_map(),
                                        map_panel_key("county"): map_click(map_data.LAYER_REGIONS["county"], "532501")})
    assert title(at).startswith("一屏知全局") and "code" not in at.query_params
    at = open_page(scope=county, state={**live_map(),
                                        map_panel_key("county"): map_click(map_data.LAYER_REGIONS["county"], MILE)})
    assert title(at) == "弥勒市"  # the same selection inside the scope opens the county
    assert not open_page("pages/village.py", code="532504999999").exception


# ---------------------------------------------------------------------------------------------------- reports


@pytest.fixture(scope="module")
def refused_db(demo_db, tmp_path_factory):
    """The demo warehouse plus one refused 红河州 file (required columns missing)."""
    import shutil

    from reportfiles import HEADER, load_one, simple_report, three_villages, write_report

    folder = tmp_path_factory.mktemp("refused")
    target = folder / "warehouse.duckdb"
    shutil.copyfile(demo_db, target)
    keep = [i for i, h in enumerate(HEADER) if h not in ("当前环节", "编制组人数")]
    rows = simple_report([[r[i] for i in keep] for r in three_villages()], header=[HEADER[i] for i in keep],
                         as_of="截至2024年3月31日")
    result = load_one(target, write_report(folder / "红河州_20240331.xlsx", rows))
    assert result.status == "refused"
    return target


def test_report_log_page(wh, refused_db, monkeypatch):
    at = open_page("pages/reports.py")
    accepted = wh.execute("SELECT count(*) FROM report_log WHERE status = 'accepted'").fetchall()[0][0]
    assert kpis(at)["已接收"] == f"{fmt.plain(accepted)} 份"
    assert len(at.dataframe(key="rp_table").value) == wh.execute("SELECT count(*) FROM report_log").fetchall()[0][0]

    monkeypatch.setenv(db.ENV_VAR, str(refused_db))
    at = open_page("pages/reports.py", status="refused")
    assert kpis(at)["已拒收"] == "1 份"
    table = at.dataframe(key="rp_table").value
    assert list(table["文件名"]) == ["红河州_20240331.xlsx"]
    reasons = at.error[0].value
    assert "缺少必需的列「当前环节」" in reasons and "缺少必需的列「编制组人数」" in reasons
    labels = [b.proto.label for b in at.get("download_button")]   # the whole list, to fix the file from
    assert "下载完整原因清单（Excel）" in labels and "下载完整原因清单（CSV）" in labels, labels
