"""The rankings page end to end in headless Chromium: change a weight, see the order change, download the Excel,
open it with python-calamine and check it matches the ranking the page was showing. Saves artifacts/rankings.png.

The warehouse is the session's demo warehouse when tests/conftest.py provides ``demo_db``, else the three real
report files of tests/test_rankings.py loaded through the pipeline. The weight to change is chosen from the data
(the first indicator whose heavy weight puts another unit first), so the test holds for either warehouse.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import python_calamine

from hometown.rankings import index as rankings
from warehouse import db

LEVEL = "county"
HEAVY = 1000.0


@pytest.fixture(scope="module")
def rankings_db(request, tmp_path_factory) -> Path:
    try:
        return Path(request.getfixturevalue("demo_db"))
    except pytest.FixtureLookupError:
        from test_rankings import build_warehouse

        return build_warehouse(tmp_path_factory.mktemp("rankings_browser"))


def _top(page) -> str:
    return page.get_by_test_id("stMetricValue").first.inner_text().strip()


def _rank(db_path: Path, weights: dict, normalisation: str) -> rankings.Ranking:
    return rankings.rank(LEVEL, weights, normalisation, db_path=str(db_path))


def test_change_weight_reorders_and_excel_matches(rankings_db, tmp_path, streamlit_server, page, wait_for_streamlit,
                                                   external_requests, screenshot):
    preset = rankings.presets(tmp_path / "none.toml")[0]
    weights = dict(preset.weights)
    before = _rank(rankings_db, weights, preset.normalisation)
    first_before = before.frame["county_name"][0]
    # The indicator whose heavy weight puts another county first.
    boost, after = None, None
    for name in rankings.INDICATORS:
        candidate = _rank(rankings_db, weights | {name: HEAVY}, preset.normalisation)
        if candidate.frame["county_name"][0] != first_before and candidate.frame["rank"][0] < candidate.frame["rank"][1]:
            boost, after = name, candidate
            break
    assert boost, "no single weight changes the leader in this warehouse"
    db.close_all()

    url = streamlit_server(rankings_db, env={rankings.USER_PRESETS_ENV: str(tmp_path / "user_presets.toml")})
    failed: list[str] = []
    page.on("response", lambda resp: failed.append(resp.url) if resp.status >= 400 else None)
    page.goto(f"{url}/rankings?level={LEVEL}")
    wait_for_streamlit(page)
    assert page.get_by_test_id("stException").count() == 0
    assert _top(page) == first_before

    box = page.get_by_label(rankings.label(boost), exact=True)
    box.fill(f"{HEAVY:g}")
    box.press("Enter")
    wait_for_streamlit(page)
    page.wait_for_function(
        "(name) => document.querySelector('[data-testid=\"stMetricValue\"]')?.innerText.trim() === name",
        arg=after.frame["county_name"][0], timeout=30_000)
    assert _top(page) == after.frame["county_name"][0] != first_before
    assert "自定义（基于“" in page.get_by_test_id("stCaptionContainer").first.inner_text()
    screenshot(page, "rankings")

    with page.expect_download() as info:
        page.get_by_role("button", name="下载Excel").click()
    download = info.value
    assert download.suggested_filename == f"大擂台大比武_县市区排名_{after.as_of:%Y%m%d}.xlsx"
    data = Path(download.path()).read_bytes()
    wb = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    assert wb.sheet_names == ["县市区排名", "说明"]
    rows = wb.get_sheet_by_name("县市区排名").to_python()
    assert after.as_of.isoformat() in rows[0][0]
    table = rankings.table(after)
    assert rows[2] == table.columns
    assert len(rows) - 3 == table.height
    for got, want in zip(rows[3:], table.iter_rows()):
        assert [("" if v is None else (v if isinstance(v, str) else float(v))) for v in want] == \
               [g if isinstance(g, str) else float(g) for g in got]
    notes = {row[0]: row[1] for row in wb.get_sheet_by_name("说明").to_python()[2:]}
    assert notes[f"权重：{rankings.label(boost)}"].startswith(f"{HEAVY:g}（占")
    assert notes["权重方案"].startswith("自定义")
    # Streamlit probes /<page>/_stcore/… before the root on a deep link; those 404s are its own, nothing else fails.
    assert all("/_stcore/" in u for u in failed), failed
    assert [e for e in page.console_errors if not e.startswith("Failed to load resource")] == []
    assert external_requests(page) == []
