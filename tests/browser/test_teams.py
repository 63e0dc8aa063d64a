"""驻村力量 (/teams) end to end in Debian chromium on the small teams warehouse (tests/teamfiles.py).

Open /teams, click a county, a village, a person; check the KPIs and the person's figures against the warehouse
(read with DuckDB here), that the URL carries the choices (opaque person key, never an ID number), that no ID
number appears unmasked anywhere in the page's HTML, and that nothing is asked of any host but localhost.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from teamfiles import make_id, small_warehouse  # noqa: E402

MILE, VILLAGE = "532504", "532504001001"


@pytest.fixture(scope="module")
def teams_db(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("teams_browser")
    return small_warehouse(base / "in", base / "w.duckdb")


@pytest.fixture(scope="module")
def base_url(streamlit_server, teams_db):
    return streamlit_server(teams_db, env={"HOMETOWN_AUTH": "off"})


def kpis(page) -> dict[str, str]:
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('[data-testid="stMetric"]')].map(m =>
        [m.querySelector('[data-testid="stMetricLabel"]').innerText.trim(),
         m.querySelector('[data-testid="stMetricValue"]').innerText.trim()]))""")


def click(page, key: str) -> None:
    button = page.locator(f".st-key-{key} button:visible").first
    button.wait_for(state="visible")
    button.click()


def test_click_county_village_person(page, base_url, wait_for_streamlit, external_requests, teams_db, screenshot):
    con = duckdb.connect(str(teams_db), read_only=True)
    try:
        pref = con.execute("SELECT in_post, first_secretaries, villages_covered FROM team_summary "
                           "WHERE level = 'prefecture'").fetchall()[0]
        mile = con.execute("SELECT in_post FROM team_summary WHERE level = 'county' AND code = ?", [MILE]).fetchall()[0]
        key, masked = con.execute("SELECT person_key, id_masked FROM team_members WHERE name = '王五'").fetchall()[0]
        strip = con.execute("SELECT days_counted, days_required FROM team_attendance WHERE person_key = ? "
                            "ORDER BY month", [key]).fetchall()
    finally:
        con.close()
    page.goto(base_url + "/teams")
    wait_for_streamlit(page)
    tiles = kpis(page)
    assert tiles["在岗驻村干部"] == f"{pref[0]}人" and tiles["其中第一书记"] == f"{pref[1]}人"
    assert tiles["覆盖村"] == f"{pref[2]}个"

    click(page, f"tm_c_{MILE}")
    page.wait_for_url(re.compile(rf"/teams\?county={MILE}"))
    wait_for_streamlit(page)
    assert kpis(page)["在岗驻村干部"] == f"{mile[0]}人"

    click(page, f"tm_v_{VILLAGE}")
    page.wait_for_url(re.compile(rf"village={VILLAGE}"))
    wait_for_streamlit(page)

    click(page, f"tm_p_{key}")
    page.wait_for_url(re.compile(rf"person={key}"))
    wait_for_streamlit(page)
    card = page.locator(".st-key-tm_card")
    card.wait_for(state="visible")
    text = card.inner_text()
    assert "人员卡片：王五" in text and masked in text
    cells = page.locator("#tm-strip .tm-cell")
    assert cells.count() == 24
    shown = [c for c in cells.all_inner_texts() if "/" in c]
    assert [s.split("\n")[-1] for s in shown] == [f"{a}/{b}" for a, b in strip]
    screenshot(page, "teams_person", full_page=True)

    html = page.content()
    for i in range(1, 9):
        assert make_id(i) not in html
    assert not re.search(r"\d{17}[\dX]", html.replace(masked, ""))
    assert make_id(3) not in page.url
    assert external_requests(page) == []
