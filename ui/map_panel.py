"""The progress map block (一图督进度): controls, the offline pydeck map, its legend, and what a click does.

``render(filters, scope, height=…)`` is the compact panel the overview embeds; ``render_page(filters, scope)``
is the full map page (pages/map.py). Both draw the same block (hometown.map_data builds the data and the deck
spec; this module only lays it out and reacts to clicks):

- a click on a prefecture drills in: the counties of that prefecture, the view fitted to its bounds;
- a click on a county (or on a village point inside it) opens the county page ``/region?code=…`` with the filters.

A click reruns the script (``on_select="rerun"``); the chart returns the selection and the block leaves a note
(``<prefix>picked``) and reruns, because the level and prefecture boxes above the map already exist in that run
and their state can only be set before they are drawn: the next run reads the note first. The same path serves a
selection injected by AppTest under the chart's key. The chart key changes with every handled click so a stale
selection never re-fires or tints the next map.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from geo import reference
from hometown import map_data
from hometown.scope import Filters, Scope
from ui.common import run, url_params

ROOT = Path(__file__).resolve().parent.parent
REGION_PAGE = "pages/region.py"
LEVEL_LABELS = {"prefecture": "州市", "county": "县市区"}
PAGE_WIDTH_HINT, PAGE_HEIGHT = map_data.PAGE_SIZE
PANEL_WIDTH_HINT, PANEL_HEIGHT = map_data.PANEL_SIZE
PANEL_PREFIX = "ovmap_"  # the overview panel's widget keys (the map page's have none)


def _prefecture_options(scope: Scope) -> list[str]:
    """"" (the whole province) and the prefectures the user may open."""
    return [""] + [c for c in reference.prefectures()["code"].to_list() if scope.allows(c)]


def _bump(prefix: str) -> None:
    st.session_state[f"{prefix}nonce"] = st.session_state.get(f"{prefix}nonce", 0) + 1


def chart_key(prefix: str, level: str, prefecture: str | None, metric: str, clicks: int) -> str:
    """The chart's key: the view it shows and the number of clicks handled so far (the block's nonce)."""
    return f"{prefix}deck_{level}_{prefecture or 'all'}_{metric}_{clicks}"


def _take_pick(prefix: str, scope: Scope) -> None:
    """Act on the click noted by the previous run: drill into a prefecture, or note the county page to open."""
    picked = st.session_state.pop(f"{prefix}picked", None)
    if not picked:
        return
    kind, code = picked
    _bump(prefix)
    if kind == "prefecture" and code in _prefecture_options(scope):
        st.session_state[f"{prefix}pref"] = code
        st.session_state[f"{prefix}level"] = "county"
    elif kind == "county":
        st.session_state[f"{prefix}goto"] = code


def _back_to_province(prefix: str) -> None:
    st.session_state[f"{prefix}pref"] = ""
    _bump(prefix)


def _open_region(code: str, filters: Filters) -> None:
    if (ROOT / REGION_PAGE).exists():
        st.switch_page(REGION_PAGE, query_params=url_params(filters, code=code))
    st.warning(f"明细页尚未启用：{reference.county_name(code) if len(code) == 6 else code}")


def _controls(scope: Scope, prefix: str, bind: bool, compact: bool) -> tuple[str, str, str]:
    """Level, metric and drilled prefecture ("" = the province) from the widgets."""
    binding = "query-params" if bind else None
    narrow_scope = bool(scope.prefecture_code or scope.county_code)
    pref_names = dict(reference.prefectures().select("code", "common_name").iter_rows())
    if scope.prefecture_code:
        st.session_state[f"{prefix}pref"] = scope.prefecture_code
    elif scope.county_code:
        st.session_state[f"{prefix}pref"] = ""
    shown = "collapsed" if compact else "visible"
    cols = st.columns([2, 3, 3, 2], vertical_alignment="bottom")
    pref = cols[2].selectbox(
        "州市", _prefecture_options(scope), key=f"{prefix}pref", bind=binding, disabled=narrow_scope,
        format_func=lambda c: pref_names.get(c, c) if c else "全省", label_visibility=shown) or ""
    level = cols[0].segmented_control(
        "区划层级", list(LEVEL_LABELS), key=f"{prefix}level", bind=binding, default="prefecture", required=True,
        format_func=LEVEL_LABELS.get, disabled=bool(pref) or narrow_scope, label_visibility=shown) or "prefecture"
    metric = cols[1].selectbox(
        "着色指标", list(map_data.METRICS), key=f"{prefix}metric", bind=binding,
        format_func=lambda m: map_data.METRICS[m].label, label_visibility=shown) or map_data.DEFAULT_METRIC
    if pref and not narrow_scope:
        cols[3].button("返回全省", key=f"{prefix}back", on_click=_back_to_province, args=(prefix,),
                       icon=":material/zoom_out_map:", width="stretch")
    return ("county" if pref or narrow_scope else level), metric, pref


def _chart(model: map_data.MapModel, prefix: str, width_hint: int, height: int) -> None:
    deck = map_data.deck(model, width=width_hint, height=height)
    clicks = st.session_state.get(f"{prefix}nonce", 0)
    event = st.pydeck_chart(
        deck, on_select="rerun", selection_mode="single-object", height=height,
        key=chart_key(prefix, model.level, model.prefecture, model.metric, clicks),
        alt=f"云南省进度地图：按{LEVEL_LABELS[model.level]}显示{map_data.METRICS[model.metric].label}")
    target = map_data.selection_target(event.get("selection") if event else None)
    if target is not None:
        st.session_state[f"{prefix}picked"] = target
        st.rerun()


def _side(model: map_data.MapModel, filters: Filters, laggards: int) -> None:
    st.html(map_data.legend_html(model.legend, model.as_of_text))
    unit = LEVEL_LABELS[model.level]
    st.caption(f"已上报 {model.reported}/{model.regions} 个{unit} · "
               + ("点击县市区打开明细页" if model.level == "county" else "点击州市查看所辖县市区"))
    rows = map_data.laggards(model, laggards) if laggards else []
    if rows and (ROOT / REGION_PAGE).exists():
        st.markdown(f"**{map_data.METRICS[model.metric].label}靠后的{unit}**")
        for r in rows:
            st.page_link(REGION_PAGE, label=f"{r['name']}　{r['value']}", query_params=url_params(filters, code=r["code"]))


def _block(filters: Filters, scope: Scope, *, prefix: str, width_hint: int, height: int, bind: bool,
           compact: bool) -> None:
    _take_pick(prefix, scope)
    goto = st.session_state.pop(f"{prefix}goto", None)
    if goto and scope.allows(goto):
        _open_region(goto, filters)
    level, metric, pref = _controls(scope, prefix, bind, compact)
    model: map_data.MapModel = run(map_data.map_model, filters, scope, level, metric, pref or None)
    map_col, side_col = st.columns([4, 1] if compact else [3, 1])
    with map_col:
        _chart(model, prefix, width_hint, height)
    with side_col:
        _side(model, filters, 0 if compact else 8)


def render(filters: Filters, scope: Scope, height: int = PANEL_HEIGHT, width_hint: int = PANEL_WIDTH_HINT) -> None:
    """The compact map panel of the overview (its own widget keys; its state stays in the session, not the URL)."""
    try:
        _block(filters, scope, prefix=PANEL_PREFIX, width_hint=width_hint, height=height, bind=False, compact=True)
    except Exception as exc:  # the overview must survive a map failure; the map page shows the full error
        st.info(f"进度地图暂不可用：{exc}")


def render_page(filters: Filters, scope: Scope, height: int = PAGE_HEIGHT, width_hint: int = PAGE_WIDTH_HINT) -> None:
    """The full map page: level, metric and prefecture live in the URL (?level=…&metric=…&pref=…)."""
    _block(filters, scope, prefix="", width_hint=width_hint, height=height, bind=True, compact=False)
