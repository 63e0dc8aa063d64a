"""Benchmark section ``rerun_apptest`` (issue 17): the CPU of a warm rerun of every page, measured in this process
with Streamlit's AppTest on the demo warehouse (the open app, HOMETOWN_AUTH=off).

``run(quick) -> list[dict]`` (bench.table.Row fields). Per page: one AppTest session runs the page twice (cold
caches, then warm), then ``time.process_time()`` around each of N more ``at.run()`` calls (5, or 3 with --quick);
the median is the page's row. Process time counts every thread: the script run and AppTest's own reading of the
page's elements (a real server instead serialises them and writes them to a websocket: the protocol client of
``make bench --only load`` measures that path). AppTest compiles app.py and the page again for every run (a new
ScriptCache each time), which a server does once per process: here one ScriptCache serves every run, as on a server. Targets: the overview ≤ 50 ms, every other page ≤ 40 ms.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECTION = "rerun_apptest"
OVERVIEW_TARGET_MS, PAGE_TARGET_MS = 50.0, 40.0

# URL path → (page file, query parameters). The village is found in the warehouse (the first task village).
PAGES: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("/", "pages/overview.py", {}),
    ("/region", "pages/region.py", {}),
    ("/region?code=532500", "pages/region.py", {"code": "532500"}),
    ("/village", "pages/village.py", {"code": ""}),
    ("/map", "pages/map.py", {}),
    ("/dispatch", "pages/dispatch.py", {}),
    ("/rankings", "pages/rankings.py", {}),
    ("/briefs", "pages/briefs.py", {}),
    ("/commitments", "pages/commitments.py", {}),
    ("/teams", "pages/teams.py", {}),
    ("/upload", "pages/upload.py", {}),
    ("/reports", "pages/reports.py", {}),
    ("/audit", "pages/audit.py", {}),
)


@contextlib.contextmanager
def without_legacy_pages_mode():
    """AppTest resets Streamlit's legacy pages-directory flag before every run, and with the top-level pages/ folder a
    run would then start from a page file instead of app.py (which the page refuses: ui.guard.from_app). Kept off
    for every run inside, as on a server (serve.py; ui/__init__.py once per process). The tests use it too."""
    from streamlit.runtime.pages_manager import PagesManager

    init = PagesManager.__init__

    def init_without_legacy_mode(self, *args, **kwargs):
        init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    PagesManager.__init__ = init_without_legacy_mode
    try:
        yield
    finally:
        PagesManager.__init__ = init


def _row(case: str, metric: str, value, unit: str = "", target: str = "", ok: bool | None = None) -> dict:
    return {"section": SECTION, "case": case, "metric": metric, "value": value, "unit": unit, "target": target,
            "ok": ok}


def page_cpu_ms(db_path: Path, repeats: int, only: tuple[str, ...] = ()) -> dict[str, float]:
    """Median CPU milliseconds of a warm rerun of each page (AppTest, this process)."""
    import duckdb
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import app_test, local_script_runner

    shared = ScriptCache()
    app_test.ScriptCache = local_script_runner.ScriptCache = lambda: shared  # compiled once, as on a server

    scratch = Path(tempfile.mkdtemp(prefix="hometown-bench-rerun-"))
    os.environ.update({"HOMETOWN_DB": str(db_path), "HOMETOWN_AUTH": "off",
                       "HOMETOWN_APP_DB": str(scratch / "app.sqlite3"), "HOMETOWN_UPLOADS": str(scratch / "uploads")})
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        village = con.execute("SELECT village_key FROM village_status ORDER BY village_key LIMIT 1").fetchall()[0][0]
    finally:
        con.close()
    out: dict[str, float] = {}
    with without_legacy_pages_mode():
        for name, page, params in PAGES:
            if only and name not in only:
                continue
            out[name] = _page_ms(page, params, village, repeats)
    return out


def _page_ms(page: str, params: dict[str, str], village: str, repeats: int) -> float:
    """Median CPU milliseconds of a warm rerun of one page (its own AppTest session of app.py)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.switch_page(page)
    for k, v in params.items():
        at.query_params[k] = v or village
    at.run()
    at.run()
    samples = []
    for _ in range(repeats):
        t0 = time.process_time()
        at.run()
        samples.append(time.process_time() - t0)
    if at.exception:
        raise RuntimeError(f"{page}: {[e.message for e in at.exception][:1]}")
    return 1000 * statistics.median(samples)


def run(quick: bool) -> list[dict]:
    from bench.queries import demo_warehouse

    repeats = 3 if quick else 5
    figures = page_cpu_ms(demo_warehouse(), repeats)
    case = f"warm rerun, AppTest in process, demo warehouse (median of {repeats})"
    rows = []
    for name, ms in figures.items():
        target = OVERVIEW_TARGET_MS if name == "/" else PAGE_TARGET_MS
        rows.append(_row(case, f"CPU per warm rerun {name}", round(ms, 1), "ms", f"≤ {target:g} ms", ms <= target))
    return rows


if __name__ == "__main__":
    for r in run("--quick" in sys.argv):
        print(f"{r['metric']:45s} {r['value']:>8} {r['unit']}  target {r['target']}  ok={r['ok']}")
