"""The progress map block (一图督进度): controls, the offline pydeck map, its legend, and what a click does.

``render(filters, scope, height=…)`` is the compact panel the overview embeds; ``render_page(filters, scope)``
is the full map page (pages/map.py). Both draw the same block (hometown.progress.map_data builds the data and the deck
spec; this module only lays it out and reacts to clicks):

- a click on a prefecture drills in: the counties of that prefecture, the view fitted to its bounds;
- a click on a county (or on a village point inside it) opens the county page ``/region?code=…`` with the filters.

The map page has the controls (level, metric, prefecture, in the URL). The overview's panel has none: it shows the
default metric by prefecture (a prefecture or county user: by county), a click drills in, a button goes back, and
a link opens the map page on the same view for the other metrics. A glance needs one map, not choices, and each
widget is more script the browser must load and draw before the overview is whole (~0.15 s of CPU for these).

The overview's panel is a fragment drawn in two steps. A new session gets the map as SVG (ui.charts.map_svg: the
same regions, fills and labels where deck.gl will draw them) and a load button the browser clicks by itself once
the page is drawn and idle; that click reruns the fragment alone, which sends the pydeck chart over the preview
(the preview fades out a second after the chart's canvas exists). Why: Streamlit reveals elements that arrive
together all at once, when the last of their bundles is in, so a deck.gl chart sent with the page held every
block back by deck.gl's 3 MB bundle (~0.8 s on a 2-core CPU without a GPU; README, Benchmark).

A click reruns the script (``on_select="rerun"``); the chart returns the selection and the block leaves a note
(``<prefix>picked``) and reruns, because the level and prefecture boxes above the map already exist in that run
and their state can only be set before they are drawn: the next run reads the note first. The same path serves a
selection injected by AppTest under the chart's key. The chart key changes with every handled click so a stale
selection never re-fires or tints the next map.
"""

from __future__ import annotations


import streamlit as st

from geo import reference
from hometown.progress import map_data
from hometown.progress.region import LEVEL_LABELS as REGION_LEVEL_LABELS
from warehouse.scope import Filters, Scope
from ui import charts, guard, map_deck
from ui.common import block, run, url_params
from ui.nav import MAP_PAGE, REGION_PAGE
from ui.text import md

# The levels the map draws (map_data.Level), named as every region is (hometown.progress.region).
LEVEL_LABELS = {level: REGION_LEVEL_LABELS[level] for level in ("prefecture", "county")}
PAGE_WIDTH_HINT, PAGE_HEIGHT = map_data.PAGE_SIZE
PANEL_WIDTH_HINT, PANEL_HEIGHT = map_data.PANEL_SIZE
PANEL_PREFIX = "ovmap_"  # the overview panel's widget keys (the map page's have none)
LIVE = f"{PANEL_PREFIX}live"          # session flag: the panel's interactive map is loaded (else: its SVG preview)
LOAD_BUTTON = f"{PANEL_PREFIX}load"   # the button that loads it (clicked by the browser itself when idle)
MAP_BOX = f"{PANEL_PREFIX}mapbox"     # the live panel's box: the loading chart lies over the preview

# While deck.gl's bundle loads, its chart is a placeholder: keep the preview visible under it until the canvas is in,
# and a second longer (the canvas is drawn a moment after it exists; the two maps coincide, so nothing jumps).
PANEL_CSS = f"""<style>
.st-key-{MAP_BOX} {{ position: relative; }}
.st-key-{MAP_BOX} > [data-testid="stElementContainer"]:has([data-testid="stDeckGlJsonChart"]),
.st-key-{MAP_BOX} > [data-testid="stElementContainer"]:has([data-testid="stSkeleton"]) {{
  position: absolute; top: 0; left: 0; right: 0; }}
.st-key-{MAP_BOX} [data-testid="stSkeleton"] {{ opacity: 0; }}
.st-key-{MAP_BOX}:has([data-testid="stDeckGlJsonChart"] canvas) .ht-map-preview {{
  opacity: 0; transition: opacity 0.3s ease-out 1s; }}
</style>"""


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
    st.switch_page(REGION_PAGE, query_params=url_params(filters, code=code))


def _pin_to_scope(scope: Scope, prefix: str) -> bool:
    """A prefecture user's map is always its prefecture, a county user's its county (drawn from the province's
    entry ""): set the drilled prefecture so. True when the scope pins it (the user cannot choose)."""
    if scope.prefecture_code:
        st.session_state[f"{prefix}pref"] = scope.prefecture_code
    elif scope.county_code:
        st.session_state[f"{prefix}pref"] = ""
    return scope.home_prefecture is not None


def _controls(scope: Scope, prefix: str) -> tuple[str, str, str]:
    """The map page's level, metric and drilled prefecture ("" = the province), from widgets bound to the URL."""
    narrow_scope = _pin_to_scope(scope, prefix)
    pref_names = dict(reference.prefectures().select("code", "common_name").iter_rows())
    cols = st.columns([2, 3, 3, 2], vertical_alignment="bottom")
    pref = cols[2].selectbox(
        "州市", _prefecture_options(scope), key=f"{prefix}pref", bind="query-params", disabled=narrow_scope,
        format_func=lambda c: pref_names.get(c, c) if c else "全省") or ""
    level = cols[0].segmented_control(
        "区划层级", list(LEVEL_LABELS), key=f"{prefix}level", bind="query-params", default="prefecture",
        required=True, format_func=LEVEL_LABELS.get, disabled=bool(pref) or narrow_scope) or "prefecture"
    metric = cols[1].selectbox(
        "着色指标", list(map_data.METRICS), key=f"{prefix}metric", bind="query-params",
        format_func=lambda m: map_data.METRICS[m].label) or map_data.DEFAULT_METRIC
    if pref and not narrow_scope:
        cols[3].button("返回全省", key=f"{prefix}back", on_click=_back_to_province, args=(prefix,),
                       icon=":material/zoom_out_map:", width="stretch")
    return ("county" if pref or narrow_scope else level), metric, pref


def _panel_view(scope: Scope, prefix: str) -> tuple[str, str, str]:
    """The overview panel's view without widgets: level, metric, drilled prefecture ("" = the province)."""
    narrow_scope = _pin_to_scope(scope, prefix)
    if not narrow_scope and st.session_state.get(f"{prefix}pref") not in _prefecture_options(scope):
        st.session_state[f"{prefix}pref"] = ""
    pref = st.session_state[f"{prefix}pref"]
    return ("county" if pref or narrow_scope else "prefecture"), map_data.DEFAULT_METRIC, pref


def _panel_links(model: map_data.MapModel, scope: Scope, prefix: str, filters: Filters) -> None:
    """Under the compact panel's legend: back to the province when drilled in, and the map page on this view."""
    drilled = bool(model.prefecture) and scope.home_prefecture is None
    if drilled:
        st.button("返回全省", key=f"{prefix}back", on_click=_back_to_province, args=(prefix,),
                  icon=":material/zoom_out_map:", width="stretch")
    st.page_link(MAP_PAGE, label="更多指标和县级视图", icon=":material/map:",
                 query_params=url_params(filters, pref=model.prefecture if drilled else None),
                 help="在「一图督进度」页按所处环节、进度滞后、需求纳入率或资金着色，或按县市区显示全省")


def _model(filters: Filters, scope: Scope, level: str, metric: str, pref: str) -> map_data.MapModel:
    return run(map_data.map_model, filters, scope, level, metric, pref or None)


def _preview_svg(filters: Filters, scope: Scope, level: str, metric: str, pref: str, width: int, height: int) -> str:
    """The SVG preview of a view (built once per warehouse version, scope and view: ui.common.block)."""
    return charts.map_svg(_model(filters, scope, level, metric, pref), width, height)


def _deck_json(filters: Filters, scope: Scope, level: str, metric: str, pref: str, width: int, height: int) -> str:
    """The deck.gl spec of a view as JSON (built once per warehouse version, scope and view: ui.common.block)."""
    return map_deck.deck(_model(filters, scope, level, metric, pref), width=width, height=height).to_json()


def _chart(model: map_data.MapModel, prefix: str, width_hint: int, height: int, spec: str) -> None:
    deck = map_deck.PrebuiltDeck(spec)
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
    st.html(map_deck.legend_html(model.legend, model.as_of_text))
    unit = LEVEL_LABELS[model.level]
    st.caption(f"已上报 {model.reported}/{model.regions} 个{unit} · "
               + ("点击县市区打开明细页" if model.level == "county" else "点击州市查看所辖县市区"))
    rows = map_data.laggards(model, laggards) if laggards else []
    if rows:
        st.markdown(f"**{map_data.METRICS[model.metric].label}靠后的{unit}**")
        for r in rows:
            st.page_link(REGION_PAGE, label=f"{md(r['name'])}　{md(r['value'])}", query_params=url_params(filters, code=r["code"]))


def _block(filters: Filters, scope: Scope, *, prefix: str, width_hint: int, height: int, compact: bool) -> None:
    _take_pick(prefix, scope)
    goto = st.session_state.pop(f"{prefix}goto", None)
    if goto and scope.allows(goto):
        _open_region(goto, filters)
    level, metric, pref = _panel_view(scope, prefix) if compact else _controls(scope, prefix)
    model = _model(filters, scope, level, metric, pref)
    view = (filters, scope, level, metric, pref, width_hint, height)
    map_col, side_col = st.columns([4, 1] if compact else [3, 1])
    live = not compact or st.session_state.get(LIVE)
    with map_col:
        if not compact:
            _chart(model, prefix, width_hint, height, block(_deck_json, *view))
        elif not live:
            charts.show(block(_preview_svg, *view))
        else:
            with st.container(key=MAP_BOX):
                # The preview stays under the loading chart and is hidden once the chart's canvas exists (CSS).
                charts.show(block(_preview_svg, *view))
                _chart(model, prefix, width_hint, height, block(_deck_json, *view))
    with side_col:
        _side(model, filters, 0 if compact else 8)
        if compact:
            _panel_links(model, scope, prefix, filters)
        if not live:
            _load_button()


def _go_live() -> None:
    st.session_state[LIVE] = True


# Clicks the panel's load button once the browser has drawn the page and is idle (requestIdleCallback, at most 1.5 s
# later), so the interactive map arrives in a fragment run of its own, after the rest of the overview is on screen.
# The script may run before the button is in the page (React mounts elements in its own order: seen in about one
# fresh page in six on a busy machine), and a click while the page's run is still going may be lost: so it looks
# again every 100 ms until the button is there and the run is over (for up to 60 s), then clicks, and clicks again
# (at most 5 times, 2 s apart) while the button stays. Once clicked, a missing button means the map is loading.
_AUTO_LOAD_JS = """<script>
(() => {
  const button = () => document.querySelector('.st-key-%s button');
  const running = () => document.querySelector('[data-testid="stApp"]')?.dataset.testScriptState !== 'notRunning';
  let clicks = 0, looks = 0;
  const tick = () => {
    const b = button();
    if (clicks > 0 && !b) return;
    if (!b || running()) { if (looks++ < 600) setTimeout(tick, 100); return; }
    if (clicks++ >= 5) return;
    b.click();
    setTimeout(tick, 2000);
  };
  (window.requestIdleCallback || ((f) => setTimeout(f, 200)))(tick, {timeout: 1500});
})();
</script>""" % LOAD_BUTTON


def _load_button() -> None:
    """Loads the panel's interactive map; the browser clicks it by itself once idle (a person can click it too,
    should scripts be blocked). Last in its column, so nothing moves when it goes."""
    st.button("加载交互地图", key=LOAD_BUTTON, on_click=_go_live, type="tertiary", icon=":material/touch_app:")
    st.html(_AUTO_LOAD_JS, unsafe_allow_javascript=True)


@st.fragment
@guard.checked
def _panel(filters: Filters, scope: Scope, height: int, width_hint: int) -> None:
    _block(filters, scope, prefix=PANEL_PREFIX, width_hint=width_hint, height=height, compact=True)


def render(filters: Filters, scope: Scope, height: int = PANEL_HEIGHT, width_hint: int = PANEL_WIDTH_HINT) -> None:
    """The overview's compact map panel, without controls, in two steps (module docstring): its own keys, and
    its drill state stays in the session."""
    # The overview survives a map failure: ui.guard.checked turns it into a message inside the panel.
    st.html(PANEL_CSS)
    _panel(filters, scope, height, width_hint)


def render_page(filters: Filters, scope: Scope, height: int = PAGE_HEIGHT, width_hint: int = PAGE_WIDTH_HINT) -> None:
    """The full map page: level, metric and prefecture live in the URL (?level=…&metric=…&pref=…)."""
    _block(filters, scope, prefix="", width_hint=width_hint, height=height, compact=False)
