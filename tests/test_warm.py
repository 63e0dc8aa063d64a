"""Warming a server process (ui/warm.py, started by serve.py): after a warm-up the pages a morning opens first find
every figure and block they read already computed, for the warm-up's own scope only; a new warehouse version is
warmed again; a failing or impossible warm-up never stops the warmer or the pages.
"""

from __future__ import annotations

import time
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from apptests import live_map
from reportfiles import SheetSpec, load_one, simple_report, three_villages, village, write_xlsx

from hometown.progress import overview
from ui import common, warm
from warehouse import db
from warehouse.scope import ALL, Filters, Scope

APP = str(Path(__file__).resolve().parent.parent / "app.py")
HONGHE = "532500"


@pytest.fixture(autouse=True)
def _fresh_cache(no_legacy_pages_mode):
    common.CACHE.clear()
    yield
    common.CACHE.clear()
    db.close_all()


class Misses:
    """Records the cache keys computed (not found) while active."""

    def __init__(self, monkeypatch) -> None:
        self.keys: list[tuple] = []
        get = common.VersionCache.get

        def recording(cache, key, compute):
            if key not in cache._values:
                self.keys.append(key)
            return get(cache, key, compute)

        monkeypatch.setattr(common.VersionCache, "get", recording)

    def names(self) -> list[str]:
        return [f"{k[3]}{k[4]}" for k in self.keys]


def _page(page: str, params: dict | None = None, state: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.switch_page(page)
    for k, v in (params or {}).items():
        at.query_params[k] = v
    for k, v in (state or {}).items():
        at.session_state[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def _scopes_in(args) -> list[Scope]:
    found = []
    for a in args:
        if isinstance(a, Scope):
            found.append(a)
        elif isinstance(a, (tuple, list)):
            found += _scopes_in(a)
    return found


def _same(a, b) -> bool:
    if isinstance(a, pl.DataFrame):
        return isinstance(b, pl.DataFrame) and a.equals(b)
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def _wait(condition, what: str, limit_s: float = 120) -> None:
    """Wait for a background thread's result (a limit so a broken warmer fails instead of hanging; no timing is
    asserted)."""
    deadline = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.05)


def _warmed(version: str, name: str, *args) -> bool:
    return any(k[0] == version and k[3] == name and k[4] == args for k in list(common.CACHE._values))


def test_after_a_warm_up_the_first_pages_compute_nothing(demo_db, monkeypatch):
    monkeypatch.setenv(db.ENV_VAR, str(demo_db))
    assert warm.warm(ALL, pace=False, full=False) == db.version()
    assert _warmed(db.version(), "totals", Filters(), ALL)
    targets = warm.alert_targets(Filters(), ALL)
    assert targets
    misses = Misses(monkeypatch)
    _page("pages/overview.py", state=live_map())   # the overview with its interactive map panel
    _page("pages/overview.py", {"screen": "big"})
    _page("pages/map.py")
    _page("pages/region.py", {"code": HONGHE})
    _page("pages/region.py")                        # the province
    target = targets[0]
    _page("pages/village.py" if len(target) > 6 else "pages/region.py", {"code": target})
    # (A village's team members depend on the role: not warmed.)
    assert [n for n in misses.names() if not n.startswith("members(")] == []


def test_a_warm_up_fills_only_its_own_scope_with_what_that_scope_computes(demo_db, monkeypatch):
    monkeypatch.setenv(db.ENV_VAR, str(demo_db))
    honghe = Scope(prefecture_code=HONGHE)
    warm.warm(honghe, pace=False, full=False)
    keys = list(common.CACHE._values)
    assert keys
    for key in keys:
        scopes = _scopes_in(key[4])
        assert scopes, key[3]
        # Honghe's own scope, or a narrower one inside it (a county's alerts on its region page): never the province's.
        assert all(s != ALL and s.top_code.startswith(HONGHE[:4]) for s in scopes), key[3:5]
        if key[1] == "query":  # each value is what that call gives now
            fn = {"totals": overview.totals, "ranking": overview.ranking, "trend": overview.trend,
                  "stage_funnel": overview.stage_funnel}.get(key[3])
            if fn is not None:
                assert _same(common.CACHE._values[key], fn(*key[4])), key[3:5]
    # A province session after it: the province's figures, computed for it (nothing of Honghe's taken as its own).
    misses = Misses(monkeypatch)
    at = _page("pages/overview.py")
    assert "云南省" in at.title[0].value
    assert any(k[3] == "totals" and k[4] == (Filters(), ALL) for k in misses.keys)
    # A Honghe session finds its overview warm.
    misses.keys.clear()
    at = _page("pages/overview.py", state={"scope": honghe, "role": "prefecture", **live_map()})
    assert "红河" in at.title[0].value
    assert misses.names() == []


def _report(path: Path, rows: list[list], as_of: str) -> Path:
    return write_xlsx(path, [SheetSpec("村庄进度", simple_report(rows, as_of=as_of))])


def test_the_warmer_warms_each_new_warehouse_version_and_waits_for_a_missing_one(tmp_path, monkeypatch):
    wh = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv(db.ENV_VAR, str(wh))
    warmer = warm.Warmer(poll_s=0.05, pace=False, full=False).start()
    try:
        time.sleep(0.3)
        assert warmer.rounds == 0 and not common.CACHE._values  # no warehouse yet: nothing, and still running
        assert load_one(wh, _report(tmp_path / "红河州_20220331.xlsx", three_villages(), "截至2022年3月31日")).status == "accepted"
        first = db.version()
        _wait(lambda: warmer.warmed == first, "the first version warmed")
        assert _warmed(first, "totals", Filters(), ALL)
        rate = common.CACHE._values[next(k for k in common.CACHE._values if k[3] == "totals")]["completion_rate"][0]

        done = [village(township=t, village=v, stage=7, steps=28, status="已入库", plans=("是",) * 5)
                for t, v in (("西三镇", "花口村"), ("虹溪镇", "新桥村"), ("东山镇", "旧城村"))]
        assert load_one(wh, _report(tmp_path / "红河州_20220630.xlsx", done, "截至2022年6月30日")).status == "accepted"
        second = db.version()
        assert second != first
        _wait(lambda: warmer.warmed == second, "the new version warmed")
        assert _warmed(second, "totals", Filters(), ALL)
        new_rate = next(v for k, v in common.CACHE._values.items() if k[0] == second and k[3] == "totals")["completion_rate"][0]
        assert new_rate != rate and new_rate == overview.totals(Filters(), ALL)["completion_rate"][0]
        assert warmer._thread.is_alive()
    finally:
        warmer.stop(timeout=60)


def test_a_failing_warm_up_step_leaves_the_others_warm_and_the_pages_working(demo_db, monkeypatch):
    monkeypatch.setenv(db.ENV_VAR, str(demo_db))

    def broken(filters, scope):
        raise RuntimeError("warm-up bug")

    monkeypatch.setattr(warm, "overview_page", broken)
    warmer = warm.Warmer(poll_s=0.05, pace=False, full=False).start()
    try:
        _wait(lambda: warmer.rounds >= 1, "a warm-up round")
        assert warmer._thread.is_alive()
        assert _warmed(db.version(), "children", Filters(), ALL, HONGHE)   # the steps after the broken one ran
        at = _page("pages/overview.py")                                   # and the overview computes its own
        assert "云南省" in at.title[0].value
    finally:
        warmer.stop(timeout=60)


def test_the_setting_turns_the_process_warmer_off(monkeypatch):
    monkeypatch.setattr(warm, "_started", None)
    monkeypatch.setenv(warm.ENV, "0")
    assert warm.start() is None and warm._started is None


def test_the_warm_up_imports_what_every_page_imports():
    names = warm.page_modules()
    assert "hometown.briefs.writer" in names and "ui.map_panel" in names
    assert "ui.widgets" in names  # (which imports plotly: the first page run does not pay for it)
