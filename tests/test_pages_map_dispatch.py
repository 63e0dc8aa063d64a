"""AppTest for the map page and the dispatch page at province scope, on the demo warehouse.

The scope tests (test_scope_isolation.py) run these pages as a county user and check that nothing of other places
shows; here they run as the province and must show what their users came for: every prefecture drawn with its
figures, a drill into a prefecture, the alert board with the demo's lagging counties, and an order followed from
已下发 through its states with its history, each step through the page's own buttons.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from apptests import table_with

from hometown import fmt
from hometown.dispatch import alerts, orders
from hometown.progress import map_data, overview
from warehouse import db
from warehouse.scope import Filters, Scope
from demo.generate import LAGGING_COUNTIES

ROOT = Path(__file__).resolve().parent.parent
ALL = Scope()
HONGHE = "532500"


@pytest.fixture(autouse=True)
def _no_legacy_pages_mode(no_legacy_pages_mode):
    """Runs start from app.py, as on the server (tests/conftest.py)."""


@pytest.fixture
def wh(demo_db_copy, monkeypatch, tmp_path):
    """A private copy of the demo warehouse (the dispatch page writes orders), the app open without sign-in."""
    monkeypatch.setenv(db.ENV_VAR, str(demo_db_copy))
    monkeypatch.setenv("HOMETOWN_AUTH", "off")
    monkeypatch.setenv("HOMETOWN_APP_DB", str(tmp_path / "app.sqlite3"))
    yield demo_db_copy
    db.close_all()


def page(name: str, params: dict | None = None, state: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page(f"pages/{name}.py")
    for key, value in (state or {}).items():
        at.session_state[key] = value
    for key, value in (params or {}).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def deck_spec(at: AppTest) -> dict:
    """The pydeck chart's JSON spec as the browser receives it."""
    charts = at.get("deck_gl_json_chart")
    assert len(charts) == 1
    return json.loads(charts[0].proto.json)


def region_features(spec: dict, level: str = "prefecture") -> list[dict]:
    layer = next(l for l in spec["layers"] if l["id"] == map_data.LAYER_REGIONS[level])
    data = layer["data"]
    return data["features"] if isinstance(data, dict) else data


# --------------------------------------------------------------------------------------------------------- map


def test_map_page_draws_every_prefecture_with_its_figures(wh):
    at = page("map")
    assert at.title[0].value == "一图督进度"
    features = region_features(deck_spec(at))
    codes = [f["properties"]["code"] for f in features]
    assert len(codes) == 16 and len(set(codes)) == 16
    # The tooltip text of each region carries its completion rate as the overview computes it.
    ranking = overview.prefecture_ranking(Filters(), ALL)
    rates = dict(zip(ranking["code"], ranking["completion_rate"]))
    honghe = next(f["properties"] for f in features if f["properties"]["code"] == HONGHE)
    assert f"（{fmt.percent(rates[HONGHE])}）" in honghe["b"]
    reported = sum(1 for f in features if f["properties"]["status"] == map_data.REPORTED)
    assert any(f"已上报 {reported}/16 个州市" in c.value for c in at.caption)
    # No basemap: the spec names no style or tile server (the sentinel is dropped by the frontend).
    spec = deck_spec(at)
    assert spec.get("mapStyle") in (None, "", "__MAP_STYLE__")
    assert "http" not in json.dumps({k: v for k, v in spec.items() if k != "layers"})


def test_map_page_drills_into_a_prefecture(wh):
    # The prefecture box is bound to ?pref= in the browser (tests/browser/test_map.py); AppTest does not seed bound
    # widgets from its query parameters, so the box is set as a user sets it.
    at = page("map")
    at.selectbox(key="pref").set_value(HONGHE).run()
    assert not at.exception, [e.message for e in at.exception]
    features = region_features(deck_spec(at), "county")
    counties = set(db.query("SELECT DISTINCT county_code FROM village_status WHERE prefecture_code = ?",
                            [HONGHE])["county_code"].to_list())
    codes = {f["properties"]["code"] for f in features}
    assert counties <= codes and all(c.startswith("5325") for c in codes)
    assert [b.label for b in at.button if b.key == "back"] == ["返回全省"]


def test_a_county_picked_on_the_map_opens_its_page(wh):
    # What the chart's on_select callback leaves when a county polygon is clicked (see ui/map_panel.py).
    at = page("map", state={"goto": "532504"})
    assert at.title[0].value == "弥勒市"
    assert at.query_params["code"] == "532504"


# ---------------------------------------------------------------------------------------------------- dispatch


def test_alert_board_shows_the_demo_lagging_counties(wh):
    at = page("dispatch", {"view": "预警看板"})
    board = alerts.alerts(ALL, Filters())
    behind = board.filter(pl.col("alert_type") == "county_behind")
    assert set(LAGGING_COUNTIES) <= set(behind["county_code"].to_list())
    shown = "\n".join(m.value for m in at.markdown)
    for name in LAGGING_COUNTIES.values():
        assert name in shown
    red = board.filter(pl.col("level") == alerts.RED).height
    assert any(f"红色预警（{red} 条）" == s.value for s in at.subheader)
    # One issue button per alert shown, for a role that may issue orders.
    assert any(b.key and b.key.startswith("issue_") for b in at.button)


def test_an_order_is_followed_to_closure_on_the_page(wh):
    county = next(iter(LAGGING_COUNTIES))
    alert = alerts.alerts(ALL, Filters()).filter(
        (pl.col("alert_type") == "county_behind") & (pl.col("county_code") == county)).row(0, named=True)
    order_id = orders.create_from_alert(alert, created_by="省项目组", deadline=date.today() + timedelta(days=10))

    # ?view=督办单 seeds the bound view box in a browser; AppTest takes it as widget state (see page()).
    at = page("dispatch", {"order": str(order_id)}, state={"view": "orders"})
    table = table_with(at, "督办对象")
    assert len(table) == 1 and LAGGING_COUNTIES[county] in table["督办对象"][0]
    assert table["状态"][0] == orders.ISSUED
    for step in (orders.SIGNED, orders.RECTIFYING, orders.CLOSED):
        at.text_input(key=f"dp_note_{order_id}_{orders.order_state(order_id)}").set_value(f"办理：{step}")
        at.button(key=f"dp_go_{order_id}_{step}").click().run()
        assert not at.exception, [e.message for e in at.exception]
        assert orders.order_state(order_id) == step
    history = table_with(at, "经办人")
    assert len(history) == 4  # 下发 + three changes, each with who and when
    assert list(history["新状态"]) == [orders.ISSUED, orders.SIGNED, orders.RECTIFYING, orders.CLOSED]
    assert history["说明"].iloc[-1] == f"办理：{orders.CLOSED}" and history["时间"].notna().all()
    assert table_with(at, "督办对象")["状态"][0] == orders.CLOSED
    # A closed order offers no further step.
    assert not [b for b in at.button if b.key and b.key.startswith(f"dp_go_{order_id}_")]
