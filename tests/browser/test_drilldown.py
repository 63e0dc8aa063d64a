"""一键查明细 end to end in Debian chromium at 1920×1080, on the demo warehouse.

Open the overview, click 红河州's bar, land on the prefecture page, click 弥勒市's bar, then a village's row, and check
that each page's figures equal the warehouse's (read with DuckDB here). The big screen fits 1920×1080 without
scrolling. No page asks any host but localhost for anything. One Streamlit server for the module.
"""

from __future__ import annotations

import re

import duckdb
import pytest

from hometown import fmt

HONGHE, MILE = "532500", "532504"


@pytest.fixture(scope="module")
def wh(demo_db):
    con = duckdb.connect(str(demo_db), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def base_url(streamlit_server, demo_db):
    return streamlit_server(demo_db, env={"HOMETOWN_AUTH": "off"})  # open app, whatever data/users.toml holds


def kpis(page) -> dict[str, str]:
    """Label → value of every KPI tile on the page, as a reader sees them: the overview's and region pages' tiles
    (ui.tiles markup) and any st.metric (the village page)."""
    return page.evaluate("""() => Object.fromEntries([
        ...[...document.querySelectorAll('.ht-kpi')].map(m =>
            [m.querySelector('.ht-kpi-label').innerText.replace(/\\?$/, '').trim(),
             m.querySelector('.ht-kpi-value').innerText.trim()]),
        ...[...document.querySelectorAll('[data-testid="stMetric"]')].map(m =>
            [m.querySelector('[data-testid="stMetricLabel"]').innerText.trim(),
             m.querySelector('[data-testid="stMetricValue"]').innerText.trim()])])""")


def click_bar(page, prefix: str, code: str, label: str) -> None:
    """Click the ranking bar of region ``code`` (a button keyed ``<prefix>_<code>``), checking it names ``label``."""
    bar = page.locator(f".st-key-{prefix}_{code} button:visible")  # Streamlit keeps a hidden twin for tooltips
    bar.wait_for(state="visible")
    assert re.match(rf"\d+\. {label}\s", bar.inner_text()), bar.inner_text()
    bar.click()


def county_stats(wh, where: str, params: list) -> tuple[int, int]:
    return wh.execute(f"SELECT count(*), sum(cadre_visits) FROM village_status WHERE {where}", params).fetchall()[0]


def test_click_down_from_the_overview_to_a_village(page, base_url, wait_for_streamlit, external_requests, wh,
                                                   screenshot):
    page.goto(base_url + "/")
    wait_for_streamlit(page)
    n, visits = county_stats(wh, "TRUE", [])
    tiles = kpis(page)
    assert tiles["任务村"] == fmt.count(n, "个") and tiles["干部回乡"] == fmt.count(visits, "人次")
    screenshot(page, "overview", full_page=False)

    # The funnel and the trend are drawn too (markup, no chart library).
    assert page.locator(".ht-funnel-row").count() == 7 and page.locator("svg.ht-trend polyline").count() == 3
    click_bar(page, "ov_bars", HONGHE, "红河州")
    page.wait_for_url(re.compile(rf"/region\?code={HONGHE}"))
    wait_for_streamlit(page)
    assert page.locator("h1").first.inner_text().strip() == "红河哈尼族彝族自治州"
    n, visits = county_stats(wh, "prefecture_code = ?", [HONGHE])
    tiles = kpis(page)
    assert tiles["任务村"] == fmt.count(n, "个") and tiles["干部回乡"] == fmt.count(visits, "人次")

    click_bar(page, f"rg_bars_{HONGHE}", MILE, "弥勒市")
    page.wait_for_url(re.compile(rf"/region\?code={MILE}"))
    wait_for_streamlit(page)
    assert page.locator("h1").first.inner_text().strip() == "弥勒市"
    n, visits = county_stats(wh, "county_code = ?", [MILE])
    tiles = kpis(page)
    assert tiles["任务村"] == fmt.count(n, "个") and tiles["干部回乡"] == fmt.count(visits, "人次")

    # The village table lists villages by township, name, key; select the first row by its row marker.
    first = wh.execute("SELECT village_key, village, stage, steps_done, group_size FROM village_status "
                       "WHERE county_code = ? ORDER BY township, village, village_key LIMIT 1", [MILE]).fetchall()[0]
    table = page.locator(f".st-key-rg_villages_{MILE} [data-testid='stDataFrame']")
    table.scroll_into_view_if_needed()
    box = table.bounding_box()
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)
    page.wait_for_url(re.compile(rf"/village\?code={first[0]}"))
    wait_for_streamlit(page)
    assert page.locator("h1").first.inner_text().strip() == first[1]
    tiles = kpis(page)
    assert tiles["已完成步骤"] == f"{first[3]}/28" and tiles["当前环节"].startswith(f"{first[2]}.")
    assert tiles["编制组人数"] == fmt.count(first[4], "人")
    assert external_requests(page) == []


def test_the_overview_fetches_the_region_pages_table_code_before_the_click(page, base_url, wait_for_streamlit,
                                                                           external_requests):
    """ui.prefetch: once the overview is drawn and idle, the browser has the data grid's module (which the overview
    does not draw); the click to a region page then asks the server for none of it."""
    from ui import prefetch

    files = prefetch.module_files()
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url.rsplit("/", 1)[-1]))
    page.goto(base_url + "/")
    wait_for_streamlit(page)
    assert page.get_by_test_id("stDataFrame").count() == 0
    names = [f.rsplit("/", 1)[-1] for f in files]
    page.wait_for_function("(n) => n.every((f) => performance.getEntriesByType('resource').some((e) => e.name.endsWith('/' + f)))",
                           arg=names, timeout=20_000)
    assert set(names) <= set(asked)
    asked.clear()
    click_bar(page, "ov_bars", HONGHE, "红河州")
    page.wait_for_url(re.compile(rf"/region\?code={HONGHE}"))
    wait_for_streamlit(page)
    assert page.get_by_test_id("stDataFrame").count() >= 1
    assert not [a for a in asked if a.startswith(prefetch.MODULES)], asked  # the grid's code was already in the tab
    assert external_requests(page) == []


def test_big_screen_fits_1920_by_1080(page, base_url, wait_for_streamlit, external_requests, screenshot):
    page.goto(base_url + "/?screen=big&refresh=5")
    wait_for_streamlit(page)
    page.wait_for_selector("[data-testid='ht-board'] .ht-pages[data-page='1']")
    sizes = page.evaluate("""() => {
        const main = document.querySelector('[data-testid="stMain"]');
        return {doc: document.scrollingElement.scrollHeight, inner: innerHeight, width: innerWidth,
                mainScroll: main.scrollHeight, mainClient: main.clientHeight,
                docWidth: document.scrollingElement.scrollWidth,
                sidebar: !!document.querySelector('[data-testid="stSidebar"]')
                         && getComputedStyle(document.querySelector('[data-testid="stSidebar"]')).display !== 'none'};
    }""")
    assert (sizes["inner"], sizes["width"]) == (1080, 1920)
    assert sizes["doc"] <= sizes["inner"], sizes
    assert sizes["mainScroll"] <= sizes["mainClient"], sizes  # Streamlit scrolls inside stMain, not the document
    assert sizes["docWidth"] <= 1920 and not sizes["sidebar"], sizes
    # Large type: the KPI values are at least 36 px.
    assert page.evaluate("""() => parseFloat(getComputedStyle(
        document.querySelector('.ht-kpi-value')).fontSize)""") >= 36
    screenshot(page, "big_screen", full_page=False)
    # It refreshes by itself (st.fragment run_every): the rolling board turns to its next page, nobody clicking.
    page.wait_for_selector("[data-testid='ht-board'] .ht-pages[data-page='2']", timeout=20_000)
    assert external_requests(page) == []


def test_other_pages_ask_only_localhost(page, base_url, wait_for_streamlit, external_requests):
    # The overview, the prefecture, county and village pages are covered by the click-through above.
    for path in ("/region", "/reports"):
        page.goto(base_url + path)
        wait_for_streamlit(page)
        assert page.locator("h1").count() >= 1, path
    assert external_requests(page) == []


def test_village_page(page, base_url, wait_for_streamlit, external_requests, wh, screenshot):
    key, village = wh.execute("SELECT n.village_key, any_value(v.village) FROM needs n "
                              "JOIN village_status v USING (village_key) GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
                              ).fetchall()[0]
    page.goto(f"{base_url}/village?code={key}")
    wait_for_streamlit(page)
    assert page.locator("h1").first.inner_text().strip() == village
    page.wait_for_selector(".js-plotly-plot")
    screenshot(page, "village", full_page=False)
    assert external_requests(page) == []
