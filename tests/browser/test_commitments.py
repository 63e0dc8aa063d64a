"""任期承诺 end to end in Debian chromium: open a county's /commitments page, click a township in its table, then the
village, and check the village board's items and the rates shown against the warehouse (read with DuckDB here)."""

from __future__ import annotations

import re
from urllib.parse import unquote

import duckdb
import pytest

from commitmentfiles import LISTS, small_warehouse
from ui.commitments import table_key

MILE = "532504"


@pytest.fixture(scope="module")
def wh_path(tmp_path_factory):
    return small_warehouse(tmp_path_factory.mktemp("cm_browser"))


@pytest.fixture(scope="module")
def wh(wh_path):
    con = duckdb.connect(str(wh_path), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def base_url(streamlit_server, wh_path):
    return streamlit_server(wh_path, env={"HOMETOWN_AUTH": "off"})


def kpis(page) -> dict[str, str]:
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('[data-testid="stMetric"]')].map(m =>
        [m.querySelector('[data-testid="stMetricLabel"]').innerText.trim(),
         m.querySelector('[data-testid="stMetricValue"]').innerText.trim()]))""")


def click_row(page, key: str, row: int) -> None:
    """Click the row marker of row ``row`` (1 = first) of the table keyed ``key``."""
    table = page.locator(f".st-key-{key} [data-testid='stDataFrame']")
    table.scroll_into_view_if_needed()
    box = table.bounding_box()
    page.mouse.click(box["x"] + 18, box["y"] + 35 * row + 17)


def rates(wh, level: str, code: str) -> tuple:
    return wh.execute("SELECT items, due, fulfilment_rate FROM commitment_summary WHERE level = ? AND code = ? "
                      "AND list_name IS NULL", [level, code]).fetchone()


def test_open_a_village_board_from_the_county_table(page, base_url, wait_for_streamlit, external_requests, wh,
                                                    screenshot):
    page.goto(f"{base_url}/commitments?code={MILE}")
    wait_for_streamlit(page)
    items, due, rate = rates(wh, "county", MILE)
    tiles = kpis(page)
    assert tiles["承诺事项数"] == f"{items:,}" and tiles["承诺兑现率"] == f"{100 * rate:.1f}%"
    # Townships by 承诺兑现率: 虹溪镇 (1 of 1 due closed) above 西三镇 (1 of 2).
    order = [r[0] for r in wh.execute("SELECT township FROM commitment_summary WHERE level = 'township' AND "
                                      "county_code = ? AND list_name IS NULL ORDER BY fulfilment_rate DESC", [MILE]).fetchall()]
    assert order == ["虹溪镇", "西三镇"]
    click_row(page, table_key(MILE), 2)
    page.wait_for_url(lambda url: unquote(url).endswith(f"code={MILE}/西三镇"))
    wait_for_streamlit(page)
    key = wh.execute("SELECT DISTINCT village_key FROM commitment_items WHERE village = '花口村'").fetchone()[0]
    click_row(page, table_key(f"{MILE}/西三镇"), 1)
    page.wait_for_url(re.compile(rf"code={key}$"))
    wait_for_streamlit(page)
    assert page.locator("h1").first.inner_text().strip() == "任期承诺 · 花口村"
    items, due, rate = rates(wh, "village", key)
    tiles = kpis(page)
    assert tiles["承诺事项数"] == f"{items:,}" and tiles["到期事项数"] == f"{due:,}"
    assert tiles["承诺兑现率"] == f"{100 * rate:.1f}%"
    # The board: five lists side by side, every item of the warehouse in its list with its light.
    board = page.locator(".cm-board")
    board.wait_for()
    lists = page.locator(".cm-list")
    assert lists.count() == 5
    assert [lists.nth(i).get_attribute("data-list") for i in range(5)] == list(LISTS)
    boxes = [lists.nth(i).bounding_box() for i in range(5)]
    assert len({round(b["y"]) for b in boxes}) == 1 and boxes[0]["x"] < boxes[4]["x"]  # side by side
    expected = wh.execute("SELECT list_name, item_no, content, light FROM commitment_status WHERE village_key = ? "
                          "ORDER BY item_no", [key]).fetchall()
    for list_name, no, content, light in expected:
        card = page.locator(f".cm-list[data-list='{list_name}'] .cm-item[data-item='{no}']")
        assert card.count() == 1 and content in card.inner_text() and card.get_attribute("data-light") == light
    screenshot(page, "commitments_board", full_page=False)
    assert external_requests(page) == []
