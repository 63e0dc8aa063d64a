"""Shared blocks of the overview and drill-down pages: breadcrumbs, the filter bar, the village timeline
(plotly), the alert list, reading a table selection, and the page and big-screen CSS. The overview's and region
pages' charts are ui.charts (no chart library).

Blocks never define a figure: they draw frames of hometown.progress.overview / hometown.progress.village. Every chart states the
reporting dates it rests on. A table's row selection (``st.dataframe`` single-row) is read by ``selected_value``
from the widget's state dict, which AppTest can inject by the widget key:
``at.session_state[key] = {"selection": {"rows": [i], "columns": [], "cells": []}}``.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Callable

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from hometown import fmt
from hometown.progress.region import Region, level_of
from ui.common import url_params
from ui import tiles
from ui.nav import REGION_PAGE, VILLAGE_PAGE
from warehouse import stages
from warehouse.scope import Filters
from ui.text import md


def as_of_caption(frame_or_row: pl.DataFrame | dict) -> str:
    """'数据截至 …' of a frame with as_of_min/as_of_max (or as_of) columns, or of a row dict."""
    if isinstance(frame_or_row, dict):
        return fmt.as_of_range(frame_or_row.get("as_of_min"), frame_or_row.get("as_of_max"))
    frame = frame_or_row
    if frame.height == 0:
        return fmt.as_of_range(None)
    if "as_of_min" in frame.columns:
        return fmt.as_of_range(frame["as_of_min"].min(), frame["as_of_max"].max())
    return fmt.as_of_range(frame["as_of"].min(), frame["as_of"].max())


# ---------------------------------------------------------------------------------------------- URLs and crumbs


def link_params(filters: Filters, **extra) -> dict[str, str]:
    return url_params(filters, **extra)


def region_link(code: str) -> tuple[str, dict]:
    """(page, extra params) opening a region or village code."""
    if level_of(code) == "village":
        return VILLAGE_PAGE, {"code": code}
    return REGION_PAGE, {"code": code}


def open_region(code: str, filters: Filters) -> None:
    """Go to the page of a region or village, keeping the filters in the URL."""
    page, extra = region_link(code)
    st.switch_page(page, query_params=link_params(filters, **extra))


PICKED = "ht_picked"  # session note: the region a bar or alert button asked to open (its on_click sets it)


def note_pick(code: str) -> None:
    """on_click of a ranking bar or an alert button: note the region, for ``take_pick`` at the top of the next run."""
    st.session_state[PICKED] = code


def take_pick(filters: Filters, allows: Callable[[str], bool]) -> None:
    """Open the region a bar or alert click asked for before the page draws anything: the page clicked from is not
    drawn and sent again only to be left (with its map, the overview's rerun was most of a click's time, issue 17).
    A region outside ``allows`` is not opened (its button is disabled anyway)."""
    code = st.session_state.pop(PICKED, None)
    if code and allows(code):
        open_region(code, filters)


def breadcrumbs(trail: list[Region], filters: Filters, scope_allows: Callable[[str], bool]) -> None:
    """云南省 › 红河州 › 弥勒市 › 村: each level a page link keeping the filters; the current level (and any level above
    the user's scope) is shown but disabled. All items are page links so they line up."""
    with st.container(horizontal=True, gap=None, vertical_alignment="center", key="crumbs"):
        for i, region in enumerate(trail):
            last = i == len(trail) - 1
            page, extra = region_link(region.code)
            st.page_link(page, label=md(region.name) if last else f"{md(region.name)}  ›",
                         query_params=link_params(filters, **extra), disabled=last or not scope_allows(region.code))


# ------------------------------------------------------------------------------------------------- filter bar


def _set_param(name: str, key: str, encode: Callable[[Any], str | None]) -> None:
    value = encode(st.session_state.get(key))
    if value is None:
        if name in st.query_params:
            del st.query_params[name]
    else:
        st.query_params[name] = value


def filter_bar(filters: Filters, years: list[int], dates: list[date], prefix: str) -> None:
    """Task year and reporting date, kept in the URL (?year=…&asof=…) so every view has a shareable link.

    The widget keys carry the URL's value, so a link that changes the URL (a breadcrumb, the browser's back button)
    gets fresh widgets showing it rather than the session's old choice.
    """
    c_year, c_date = st.columns(2)
    year_options = [None] + list(years)
    if filters.task_year and filters.task_year not in year_options:
        year_options.append(filters.task_year)
    year_key = f"{prefix}_year_{filters.task_year}"
    c_year.selectbox("任务年度", year_options, index=year_options.index(filters.task_year), key=year_key,
                     format_func=lambda y: "全部年度" if y is None else f"{y}年度",
                     on_change=_set_param, args=("year", year_key, lambda y: None if y is None else str(y)))
    date_options = [None] + list(dates)
    if filters.as_of and filters.as_of not in date_options:
        date_options.append(filters.as_of)
    date_key = f"{prefix}_asof_{filters.as_of}"
    c_date.selectbox("数据日期", date_options, index=date_options.index(filters.as_of), key=date_key,
                     format_func=lambda d: "最新（各州市最近一期）" if d is None else f"截至 {d.isoformat()}",
                     on_change=_set_param, args=("asof", date_key, lambda d: None if d is None else d.isoformat()))


# ----------------------------------------------------------------------------------------------------- charts

PLOT_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"], "locale": "zh-CN"}
BLUE = "#1f6fd1"


def timeline_chart(history: pl.DataFrame, stage_names: dict[int, str], height: int = 320) -> go.Figure:
    """A village's stage over its reporting dates (steps done in the hover)."""
    x = [d.isoformat() for d in history["as_of"].to_list()]
    fig = go.Figure(go.Scatter(
        x=x, y=history["stage"].to_list(), mode="lines+markers+text", line={"shape": "hv", "color": BLUE, "width": 3},
        marker={"size": 12}, text=[f"{s}.{stage_names.get(s, '')}" for s in history["stage"].to_list()],
        textposition="top center",
        hovertext=[f"截至 {d}<br>第{s}环节 {stage_names.get(s, '')}<br>已完成 {n}/{stages.STEPS_TOTAL} 步 · {p}"
                   for d, s, n, p in zip(x, history["stage"], history["steps_done"], history["plan_status"])],
        hoverinfo="text"))
    fig.update_yaxes(range=[0.5, stages.STAGE_COUNT + 0.8], tickvals=list(range(1, stages.STAGE_COUNT + 1)),
                     ticktext=[f"{k}.{stage_names.get(k, '')}" for k in range(1, stages.STAGE_COUNT + 1)])
    fig.update_xaxes(type="category")
    fig.update_layout(height=height, margin={"l": 8, "r": 16, "t": 8, "b": 8}, font={"size": 13}, showlegend=False,
                      hoverlabel={"font_size": 14}, separators=".,")
    return fig


# ------------------------------------------------------------------------------------------------------ tables

PERCENT_COLUMN = {"format": "%.1f%%"}


def table_frame(frame: pl.DataFrame, columns: dict[str, str], percent: tuple[str, ...] = ()) -> tuple[pl.DataFrame, dict]:
    """A frame for st.dataframe: ``columns`` maps source column → Chinese header; rates in ``percent`` become
    percentages with one decimal (numbers, so they still sort), dates become 2023-12-31 text. Returns (frame,
    column_config)."""
    exprs, config = [], {}
    for source, label in columns.items():
        col = pl.col(source)
        dtype = frame.schema[source]
        if source in percent:
            exprs.append((col * 100).alias(label))
            config[label] = st.column_config.NumberColumn(label, format="%.1f%%")
        elif dtype == pl.Date:
            exprs.append(col.cast(pl.Utf8).alias(label))
        elif dtype == pl.Datetime or isinstance(dtype, pl.Datetime):
            exprs.append(col.dt.strftime("%Y-%m-%d %H:%M").alias(label))
        elif dtype.is_float():
            exprs.append(col.alias(label))
            config[label] = st.column_config.NumberColumn(label, format="localized")
        elif dtype.is_integer():
            exprs.append(col.alias(label))
            config[label] = st.column_config.NumberColumn(label, format="%d" if "year" in source else "localized")
        else:
            exprs.append(col.alias(label))
    return frame.select(exprs), config


def table_height(rows: int, cap: int = 640) -> int:
    """Tall enough to show every row up to ``cap`` pixels (header + 35 px a row)."""
    return min(cap, 40 + 35 * max(rows, 1))


# -------------------------------------------------------------------------------------------------- selections


def selected_value(state: Any, frame: pl.DataFrame, column: str = "code") -> str | None:
    """The code in ``column`` of the row a table selection points at (st.dataframe single-row), or None.

    Row numbers are positions in the frame given to st.dataframe, whatever the user's sort.
    """
    try:
        rows = state["selection"].get("rows") or []
    except (KeyError, TypeError, AttributeError):
        return None
    if rows and 0 <= int(rows[0]) < frame.height:
        return str(frame[column][int(rows[0])])
    return None


# ------------------------------------------------------------------------------------------------------ alerts


def alert_buttons(items: pl.DataFrame, prefix: str, allows: Callable[[str], bool]) -> str | None:
    """The most urgent alerts (hometown.progress.overview.alert_panel items), one button each; returns the code to open
    (the village, else the county, else the prefecture) of the one clicked in this run. An alert about a place
    outside ``allows`` is shown but cannot be clicked."""
    clicked = None
    targets = items.select(pl.coalesce("village_key", "county_code", "prefecture_code")).to_series().to_list()
    with st.container(key=prefix, gap="small"):
        for i, (row, target) in enumerate(zip(items.iter_rows(named=True), targets)):
            badge = ":red-background[红]" if row["level"] == "红" else ":orange-background[黄]"
            stamp = row["as_of"].strftime("%m-%d") if row["as_of"] else "—"
            label = f"{badge} **{md(row['alert_label'])}** {md(row['detail'])}（截至 {stamp}）"
            if st.button(label, key=f"{prefix}_{i}", width="stretch", disabled=not (target and allows(target)),
                         on_click=note_pick, args=(target,)):
                clicked = target
    return clicked


# ------------------------------------------------------------------------------------------------------- styles

PAGE_CSS = """
<style>
""" + tiles.CSS + """
[data-testid="stMetricValue"] { font-size: 1.9rem; }
[data-testid="stMetricDelta"] { font-size: 0.85rem; }
.st-key-crumbs [data-testid="stPageLink"] p { font-size: 1.05rem; }
.st-key-crumbs [data-testid="stPageLink"] a[aria-disabled="true"] p { font-weight: 600; color: inherit; }
.ht-asof { color: #5b6b80; font-size: 0.85rem; margin-top: -0.4rem; }
.ht-alert-red { color: #c62828; font-weight: 600; }
.ht-alert-yellow { color: #b7860b; font-weight: 600; }
[class*="st-key-"][class*="_alerts"] [data-testid="stButton"] button { justify-content: flex-start; text-align: left;
  min-height: 32px; padding: 3px 10px; }
[class*="st-key-"][class*="_alerts"] [data-testid="stButton"] button p { font-size: 0.92rem; }
</style>
"""

# The command-room screen: dark, no chrome (header, toolbar, sidebar), nothing to click, fixed to the viewport.
BIG_SCREEN_CSS = """
<style>
header[data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stDecoration"],
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"],
[data-testid="stStatusWidget"], footer { display: none !important; }
html, body, .stApp, [data-testid="stAppViewContainer"], [data-testid="stMain"] {
  background: radial-gradient(ellipse at top, #0d2650 0%, #061530 55%, #040d1f 100%) !important;
  color: #dce8ff; overflow: hidden !important;
}
[data-testid="stMainBlockContainer"] { padding: 10px 28px 0 28px !important; max-width: 100% !important; }
[data-testid="stMain"] { padding: 0 !important; }
[data-testid="stVerticalBlock"] { gap: 10px; }
.stApp p, .stApp span, .stApp div { color: inherit; }
.ht-chart-title { font-size: 24px; font-weight: 600; color: #eaf3ff; margin: 0; }
.ht-chart-title span { font-size: 16px; font-weight: 400; color: #7f9cc8; margin-left: 10px; }
.ht-big-title { text-align: center; font-size: 38px; font-weight: 700; letter-spacing: 6px; color: #eaf3ff;
  text-shadow: 0 0 18px rgba(80,160,255,0.7); line-height: 1.2; }
.ht-big-sub { text-align: center; font-size: 19px; color: #8fb8ee; margin-top: 2px; }
.ht-panel { background: rgba(10,35,80,0.45); border: 1px solid rgba(90,160,255,0.3); border-radius: 10px;
  padding: 10px 16px; height: 100%; }
.ht-panel h3 { font-size: 24px; margin: 0 0 6px 0; color: #eaf3ff; font-weight: 600; }
.ht-panel .ht-asof { font-size: 16px; color: #7f9cc8; margin: 0 0 6px 0; }
.ht-board { width: 100%; border-collapse: collapse; font-size: 22px; }
.ht-board td { padding: 7px 6px; border-bottom: 1px solid rgba(90,160,255,0.18); white-space: nowrap; }
.ht-board td.r { text-align: right; font-variant-numeric: tabular-nums; }
.ht-board .rank { color: #ffd65c; font-weight: 700; width: 44px; }
.ht-board .top .rank { color: #ff9f43; }
.ht-board .bar { display: inline-block; height: 14px; border-radius: 7px; background: linear-gradient(90deg,#1f6fd1,#3fd1c7); }
.ht-board .date { color: #7f9cc8; font-size: 17px; }
.ht-alerts { width: 100%; font-size: 21px; border-collapse: collapse; }
.ht-alerts td:first-child { white-space: nowrap; padding-right: 14px; }
.ht-alerts td { padding: 4px 4px; border-bottom: 1px solid rgba(90,160,255,0.18); }
.ht-red { color: #ff6b6b; font-weight: 700; } .ht-yellow { color: #ffd65c; font-weight: 700; }
.ht-pages { text-align: right; font-size: 16px; color: #7f9cc8; }
.ht-big-funnel .ht-funnel { font-size: 21px; gap: 16px; margin-top: 14px; }
.ht-big-funnel .ht-funnel-row { grid-template-columns: 8.2em 1fr 6.6em; }
.ht-big-funnel .ht-funnel-bar { height: 46px; }
""" + tiles.CSS + tiles.BIG_SCREEN_CSS + """
</style>
"""


def inject_css(css: str) -> None:
    st.html(css)
