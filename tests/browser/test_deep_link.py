"""A deep link into a freshly started server runs through app.py (navigation, page config), not the legacy mode.

Streamlit runs the first deep link of a new server with a top-level ``pages/`` folder straight from that folder;
``ui/__init__.py`` switches that mode off. Without it the first visitor of ``/rankings`` would get a page with no
app navigation (and, once logins exist, no sign-in).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reportfiles import SheetSpec, simple_report, village_row, write_xlsx  # noqa: E402

from pipelines.ingest import ingest  # noqa: E402
from ui.nav import pages_for  # noqa: E402


def test_first_deep_link_of_a_fresh_server_goes_through_app(tmp_path, streamlit_server, page, wait_for_streamlit,
                                                            external_requests):
    report = write_xlsx(tmp_path / "红河州_20220331.xlsx", [SheetSpec("村庄进度", simple_report([village_row()]))])
    db = tmp_path / "warehouse.duckdb"
    assert not ingest([report], db)[0].refused
    # A server of its own (distinct env), so this is really the first run it sees.
    base = streamlit_server(db, env={"HOMETOWN_TEST_FRESH": "deep-link"})
    page.goto(f"{base}/rankings")
    wait_for_streamlit(page)
    nav = page.locator('[data-testid="stSidebarNav"]')
    nav.wait_for(timeout=15_000)
    text = nav.inner_text()
    # The app's own navigation (ui/nav.py titles), not the pages/ file names of the legacy mode.
    for spec in pages_for(None):
        if spec.in_menu:
            assert spec.title in text, (spec.title, text)
    assert "rankings" not in text.lower().replace("leaderboard", "")
    assert page.url.split("?")[0].rstrip("/").endswith("/rankings")
    assert external_requests(page) == []
