"""The pages' shared cache (ui.common: query results and built blocks per warehouse version, scope and inputs).

A value is computed once per key for every session of the process; a new load is a new warehouse version, so the
next run of a page shows the new figures, in its built blocks too (the map's SVG preview and deck JSON, the ranking
bars). That the cache never crosses scope is tested with the other scope checks (test_scope_isolation.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from apptests import live_map, shown
from reportfiles import SheetSpec, load_one, simple_report, three_villages, village, write_xlsx

from hometown import fmt
from hometown.progress import overview
from ui import common
from warehouse import db
from warehouse.scope import Filters, Scope

APP = str(Path(__file__).resolve().parent.parent / "app.py")
HONGHE = "532500"


@pytest.fixture(autouse=True)
def _no_legacy(no_legacy_pages_mode):
    """AppTest runs start from app.py, as on the server (tests/conftest.py); a page file run by itself is refused."""


def test_a_value_is_computed_once_per_version_and_scope(monkeypatch):
    calls = []

    def built(scope: Scope, n: int) -> str:
        calls.append((scope, n))
        return f"{scope.top_code}:{n}:{len(calls)}"

    version = {"v": "one"}
    monkeypatch.setattr(db, "version", lambda path=None: version["v"])
    a, b = Scope(prefecture_code="532500"), Scope(county_code="532504")
    first = common.block(built, a, 1)
    assert common.block(built, a, 1) == first                      # cached
    assert common.block(built, b, 1) != first                      # another scope is another key
    assert common.block(built, a, 2) != first                      # other inputs too
    assert len(calls) == 3
    version["v"] = "two"                                           # a new load
    assert common.block(built, a, 1) != first and len(calls) == 4
    assert common.run(built, a, 1) != common.block(built, a, 1)    # a query and a block never share a key


def test_an_error_is_not_cached(monkeypatch):
    monkeypatch.setattr(db, "version", lambda path=None: "err")
    outcomes = iter([RuntimeError("busy"), "ok"])

    def flaky() -> str:
        out = next(outcomes)
        if isinstance(out, Exception):
            raise out
        return out

    with pytest.raises(RuntimeError):
        common.block(flaky)
    assert common.block(flaky) == "ok"


def _report(path: Path, rows: list[list], as_of: str) -> Path:
    return write_xlsx(path, [SheetSpec("村庄进度", simple_report(rows, as_of=as_of))])


def _bar_label(at: AppTest) -> str:
    return shown(next(b.label for b in at.button if b.key == f"ov_bars_{HONGHE}"))


def _map_blocks(at: AppTest) -> tuple[str, str]:
    preview = next(m.value for m in at.markdown if "ht-map-preview" in m.value)
    return preview, at.get("deck_gl_json_chart")[0].proto.json


def test_a_new_load_shows_in_the_cached_blocks(tmp_path, monkeypatch):
    wh = tmp_path / "warehouse.duckdb"
    assert load_one(wh, _report(tmp_path / "红河州_20220331.xlsx", three_villages(), "截至2022年3月31日")).status == "accepted"
    monkeypatch.setenv(db.ENV_VAR, str(wh))
    try:
        at = AppTest.from_file(APP, default_timeout=120)
        for k, v in live_map().items():
            at.session_state[k] = v
        at.run()
        assert not at.exception
        rate = overview.totals(Filters(), Scope())["completion_rate"][0]
        assert fmt.percent(rate) in _bar_label(at)
        preview, deck = _map_blocks(at)
        at.run()  # warm: the same blocks
        assert _map_blocks(at) == (preview, deck)

        # A later report of 红河州: every village's plan completed.
        done = [village(township=t, village=v, stage=7, steps=28, status="已入库", plans=("是",) * 5)
                for t, v in (("西三镇", "花口村"), ("虹溪镇", "新桥村"), ("东山镇", "旧城村"))]
        assert load_one(wh, _report(tmp_path / "红河州_20220630.xlsx", done, "截至2022年6月30日")).status == "accepted"
        new_rate = overview.totals(Filters(), Scope())["completion_rate"][0]
        assert new_rate != rate
        at.run()
        assert not at.exception
        assert fmt.percent(new_rate) in _bar_label(at)
        new_preview, new_deck = _map_blocks(at)
        assert new_preview != preview and new_deck != deck
        assert fmt.percent(new_rate) in new_preview and fmt.percent(new_rate) in new_deck  # the regions' tooltips
    finally:
        db.close_all()
