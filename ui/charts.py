"""The overview's and the region pages' charts, drawn without a chart library: the completion-rate ranking as a
column of bar-shaped buttons (a click opens that region), the 7-stage funnel as HTML, the trend across reporting
dates as inline SVG, and the overview map panel's preview (the map as SVG until its pydeck chart is in).

Why not plotly here: the home page must be ready in under 3 s in the command room's browser, and plotly's 4.7 MB
bundle alone cost ~1.5 s of parsing and drawing on a CPU without a GPU (README, Benchmark). These blocks need no
JavaScript of their own: a bar is an ``st.button`` (so AppTest and a keyboard can click it, and the click runs in the
user's own session, signed in), the funnel and the trend are markup. Every bar, stage and point carries its figures
in a hover title. Figures come from hometown.progress.overview frames; nothing is computed here but positions and labels.
The village timeline and the dispatch forecast keep plotly (pages/village.py, pages/dispatch.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Callable

import polars as pl
import streamlit as st

from hometown import fmt
from hometown.progress.map_data import TOOLTIP_KEYS, fit_view, lnglat_to_pixel, MapModel
from warehouse import metrics
from ui.text import markup, md

BLUE, TEAL, GOLD = "#1f6fd1", "#13a89e", "#e0a020"
TREND_SERIES = tuple((name, metrics.LABELS[name], colour) for name, colour in (
    ("completion_rate", BLUE), ("database_rate", TEAL), ("adoption_rate", GOLD)))
STAGE_COLOURS = ("#1f6fd1", "#2a7fd6", "#3590db", "#40a0df", "#13a89e", "#0f9580", "#0b7d62")


@dataclass(frozen=True)
class Palette:
    """Colours of the markup charts on the light pages or on the big screen's dark background."""
    text: str
    muted: str
    grid: str
    series: tuple[str, ...]


LIGHT = Palette(text="#1f2d3d", muted="#5b6b80", grid="#e3e8ef", series=(BLUE, TEAL, GOLD))
DARK = Palette(text="#eaf3ff", muted="#9fb8e0", grid="rgba(160,190,255,0.18)", series=("#4ea3ff", "#3fd1c7", "#ffd65c"))


# ------------------------------------------------------------------------------------------------ ranking bars


def _note_pick(code: str) -> None:
    from ui.widgets import note_pick  # ui.widgets imports this module

    note_pick(code)


def bar_key(prefix: str, code: str) -> str:
    """The key of one region's bar button (AppTest clicks it by this key)."""
    return f"{prefix}_{code}"


def ranking_bars(ranking: pl.DataFrame, prefix: str, allows: Callable[[str], bool], name_col: str = "common_name",
                 code_col: str = "code") -> str | None:
    """Completion-rate bars, best on top, one button per reported region; returns the code whose bar was clicked
    in this run (None otherwise). A region outside ``allows`` is drawn but cannot be clicked.

    Each bar is labelled with its own reporting date (prefectures report on different days) and names the
    regions with no report under the bars, rather than drawing them as zero.
    """
    shown = ranking.filter(pl.col("task_villages").fill_null(0) > 0)
    missing = ranking.filter(pl.col("task_villages").fill_null(0) == 0)[name_col].to_list()
    rules = []
    clicked = None
    with st.container(key=prefix, gap=None):
        for row in shown.iter_rows(named=True):
            code, rate = row[code_col], row["completion_rate"] or 0.0
            key = bar_key(prefix, code)
            rules.append(f".st-key-{key} button {{ --fill: {min(100.0, max(0.0, rate * 100)):.1f}%; }}")
            stamp = row["as_of"].strftime("%m-%d") if row["as_of"] else "—"
            rank = f"{row['rank']}." if row.get("rank") is not None else ""
            label = f"{rank} {md(row[name_col])} **{fmt.percent(row['completion_rate'])} · {stamp}**"
            tip = (f"**{md(row[name_col])}**  \n规划完成率 {fmt.percent(row['completion_rate'])}"
                   f"（{fmt.plain(row['plans_completed'])}/{fmt.plain(row['task_villages'])} 个村）  \n"
                   f"入库率 {fmt.percent(row['database_rate'])}  \n数据截至 {fmt.date(row['as_of'])}")
            # The click is noted by its callback and acted on at the top of the next run (ui.widgets.take_pick).
            if st.button(label, key=key, help=tip, width="stretch", disabled=not allows(code),
                         on_click=_note_pick, args=(code,)):
                clicked = code
        st.html(f"<style>{''.join(rules)}</style>")
    if missing:
        st.caption(f"未报送：{'、'.join(md(m) for m in missing)}")
    return clicked


# The bars' look: a light track with the rate filled in from the left, the value right-aligned.
RANKING_CSS = """
[class*="st-key-"][class*="_bars"] [data-testid="stButton"] button {
  justify-content: flex-start; min-height: 31px; padding: 2px 12px; margin-bottom: 3px; border-radius: 6px;
  border: 1px solid #d5deea; color: #1f2d3d;
  background: linear-gradient(90deg, #b9d4f6 0, #cfe1f8 var(--fill), #f6f8fb var(--fill), #f6f8fb 100%);
}
[class*="st-key-"][class*="_bars"] [data-testid="stButton"] button:hover { border-color: #1f6fd1; color: #0b3d91; }
[class*="st-key-"][class*="_bars"] [data-testid="stButton"] button:disabled { opacity: 0.55; }
[class*="st-key-"][class*="_bars"] [data-testid="stButton"] button > div,
[class*="st-key-"][class*="_bars"] [data-testid="stButton"] button > div > span,
[class*="st-key-"][class*="_bars"] [data-testid="stButton"] button [data-testid="stMarkdownContainer"] {
  display: block; width: 100%;
}
[class*="st-key-"][class*="_bars"] [data-testid="stButton"] button p {
  display: flex; width: 100%; gap: 0.5em; font-size: 0.95rem; white-space: nowrap;
}
[class*="st-key-"][class*="_bars"] [data-testid="stButton"] button p strong {
  margin-left: auto; font-weight: 600; font-variant-numeric: tabular-nums;
}
"""


# ------------------------------------------------------------------------------------------------------ funnel


def funnel_html(funnel: pl.DataFrame, palette: Palette = LIGHT) -> str:
    """The 7 stages, each a centred bar as wide as the villages that reached it (the first stage's width is the
    whole track), with the count and its share of the task villages on the right."""
    top = max([r or 0 for r in funnel["reached"].to_list()] + [1])
    rows = []
    for i, r in enumerate(funnel.iter_rows(named=True)):
        width = 100 * (r["reached"] or 0) / top
        name = f"{r['stage']}. {r['name']}"
        tip = (f"{name}：已到达 {fmt.plain(r['reached'])} 个村（{fmt.percent(r['reached_share'])}），"
               f"当前处于该环节 {fmt.plain(r['at_stage'])} 个")
        colour = STAGE_COLOURS[i % len(STAGE_COLOURS)]
        rows.append(
            f"<div class='ht-funnel-row' data-stage='{r['stage']}' title='{markup(tip)}'>"
            f"<span class='ht-funnel-name'>{markup(name)}</span>"
            f"<span class='ht-funnel-track'><span class='ht-funnel-bar' style='width:{width:.2f}%;"
            f"background:{colour}'></span></span>"
            f"<span class='ht-funnel-value'>{fmt.plain(r['reached'])}"
            f"<small>{fmt.percent(r['reached_share'])}</small></span></div>")
    return (f"<div class='ht-funnel' style='--ht-text:{palette.text};--ht-muted:{palette.muted}'>"
            f"{''.join(rows)}</div>")


FUNNEL_CSS = """
.ht-funnel { display: flex; flex-direction: column; gap: 6px; color: var(--ht-text); }
.ht-funnel-row { display: grid; grid-template-columns: 8.5em 1fr 7.5em; align-items: center; gap: 10px; }
.ht-funnel-name { white-space: nowrap; font-size: 0.95em; }
.ht-funnel-track { display: flex; justify-content: center; }
.ht-funnel-bar { display: block; height: 34px; border-radius: 4px; min-width: 2px; }
.ht-funnel-value { text-align: right; font-variant-numeric: tabular-nums; font-weight: 600; white-space: nowrap; }
.ht-funnel-value small { font-weight: 400; color: var(--ht-muted); margin-left: 6px; font-size: 0.85em; }
"""


# ------------------------------------------------------------------------------------------------------- trend


def _ticks(top: float) -> list[float]:
    step = 0.25 if top > 0.5 else 0.1 if top > 0.2 else 0.05
    return [i * step for i in range(int(top / step + 1e-9) + 1)]


def _date_ticks(first: date, last: date, most: int) -> list[date]:
    """Month starts between first and last, thinned to at most ``most`` (the axis is in time: dates are uneven)."""
    months = []
    y, m = first.year, first.month
    while (y, m) <= (last.year, last.month):
        d = date(y, m, 1)
        if first <= d <= last:
            months.append(d)
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    if not months:
        return [first] if first == last else [first, last]
    step = max(1, math.ceil(len(months) / most))
    return months[::step]


def trend_svg(trend: pl.DataFrame, palette: Palette = LIGHT, width: int = 720, height: int = 320,
              font: int = 13) -> str:
    """Rates across reporting dates as lines on a time axis (each date: every prefecture's latest report on or
    before it). ``width``×``height`` is the drawing's own size; it scales to its column."""
    if trend.height == 0:
        return "<div class='ht-trend-empty'>暂无已受理的报表</div>"
    left, right, top_pad, bottom = 5 * font, 16, 3 * font, 2 * font
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    dates = trend["as_of"].to_list()
    first, last = min(dates), max(dates)
    span = max(1, (last - first).days)
    values = [v for col, _, _ in TREND_SERIES for v in trend[col].to_list() if v is not None]
    peak = max(values + [0.0])
    y_top = 1.0 if peak > 0.5 else max(0.1, math.ceil(peak * 10) / 10)

    def x(d: date) -> float:
        return left + (plot_w / 2 if first == last else plot_w * (d - first).days / span)

    def y(v: float) -> float:
        return top_pad + plot_h * (1 - v / y_top)

    parts = [f"<svg class='ht-trend' viewBox='0 0 {width} {height}' width='100%' role='img' "
             f"aria-label='各期进度趋势' font-size='{font}' font-family='inherit'>"]
    for t in _ticks(y_top):
        parts.append(f"<line x1='{left}' x2='{width - right}' y1='{y(t):.1f}' y2='{y(t):.1f}' stroke='{palette.grid}'/>"
                     f"<text x='{left - 6}' y='{y(t) + font / 3:.1f}' text-anchor='end' fill='{palette.muted}'>"
                     f"{t * 100:.0f}%</text>")
    for d in _date_ticks(first, last, most=max(2, plot_w // (6 * font))):
        parts.append(f"<text x='{x(d):.1f}' y='{height - font / 2:.1f}' text-anchor='middle' fill='{palette.muted}'>"
                     f"{d.strftime('%Y-%m')}</text>")
    records = trend.to_dicts()
    legend_x = left
    for (col, label, _), colour in zip(TREND_SERIES, palette.series):
        parts.append(f"<rect x='{legend_x}' y='{font * 0.6:.1f}' width='{font * 1.4:.1f}' height='{font * 0.35:.1f}' "
                     f"fill='{colour}'/><text x='{legend_x + font * 1.8:.1f}' y='{font * 1.1:.1f}' "
                     f"fill='{palette.text}'>{label}</text>")
        legend_x += font * (len(label) + 3.5)
        rows = [r for r in records if r[col] is not None]
        if not rows:
            continue
        path = " ".join(f"{x(r['as_of']):.1f},{y(r[col]):.1f}" for r in rows)
        parts.append(f"<polyline data-series='{col}' points='{path}' fill='none' stroke='{colour}' "
                     f"stroke-width='{max(2, font // 6)}' stroke-linejoin='round'/>")
        radius = 3 if len(rows) > 40 else 4
        for r in rows:
            tip = (f"截至 {fmt.date(r['as_of'])}　{label} {fmt.percent(r[col])}　"
                   f"任务村 {fmt.plain(r['task_villages'])} 个 · {fmt.plain(r['prefectures_reported'])} 个州市")
            parts.append(f"<circle cx='{x(r['as_of']):.1f}' cy='{y(r[col]):.1f}' r='{radius}' fill='{colour}'>"
                         f"<title>{markup(tip)}</title></circle>")
    parts.append("</svg>")
    return "".join(parts)


# -------------------------------------------------------------------------------------------------- map preview


def _rings(geometry: dict) -> list[list[list[float]]]:
    if geometry["type"] == "Polygon":
        return geometry["coordinates"]
    if geometry["type"] == "MultiPolygon":
        return [ring for polygon in geometry["coordinates"] for ring in polygon]
    return []


PREVIEW_MAX_WIDTH = 1600
PREVIEW_STEP_PX = 2  # the preview outlines' resolution (Manhattan distance between kept points)


def map_svg(model: MapModel, width: int, height: int) -> str:
    """A map model's regions as a static SVG drawn exactly where its deck.gl map will draw them (same fitted view,
    same fills, outline and labels), each region titled with its tooltip lines. The overview shows it while the
    interactive map loads (ui.map_panel), so the page is whole before deck.gl's bundle is in. Village points (a
    prefecture's or county's panel) are left to the interactive map."""
    view = fit_view(model.bounds, width, height)

    def path(geometry: dict) -> str:
        # Whole pixels, and a point only where the outline has moved PREVIEW_STEP_PX since the last one kept: the same
        # shapes to the eye at this size, in a fraction of the text (the browser parses this markup before the page
        # shows: ~90 KB at 0.1 px, every vertex).
        out = []
        for ring in _rings(geometry):
            points = [lnglat_to_pixel(lng, lat, view, width, height) for lng, lat in ring]
            kept = [points[0]]
            for x, y in points[1:-1]:
                if abs(x - kept[-1][0]) + abs(y - kept[-1][1]) >= PREVIEW_STEP_PX:
                    kept.append((x, y))
            kept.append(points[-1])
            if len(kept) >= 3:
                out.append("M" + "L".join(f"{x:.0f},{y:.0f}" for x, y in kept) + "Z")
        return "".join(out)

    # Drawn 1:1 and centred, cropped at the sides, as deck.gl draws the fitted view in a column of any width up to
    # PREVIEW_MAX_WIDTH: the viewBox is that wide around the fitted width×height, and "slice" never shrinks it.
    pad = (PREVIEW_MAX_WIDTH - width) / 2
    parts = [f"<svg class='ht-map-preview' viewBox='{-pad:.0f} 0 {PREVIEW_MAX_WIDTH} {height}' width='100%' "
             f"height='{height}' preserveAspectRatio='xMidYMid slice' role='img' aria-label='进度地图'>"]
    for f in model.features:
        props = f["properties"]
        r, g, b, a = props["fill"]
        tip = "\n".join(str(props[k]) for k in TOOLTIP_KEYS if props.get(k))
        parts.append(f"<path data-code='{markup(props['code'])}' d='{path(f['geometry'])}' fill='rgb({r},{g},{b})' "
                     f"fill-opacity='{a / 255:.2f}' stroke='#fff' stroke-width='1'><title>{markup(tip)}</title></path>")
    if model.province_outline:
        parts.append(f"<path d='{path(model.province_outline['geometry'])}' fill='none' stroke='#3c3c3c' "
                     f"stroke-width='2'/>")
    for label in model.labels:
        x, y = lnglat_to_pixel(*label["position"], view, width, height)
        parts.append(f"<text x='{x:.1f}' y='{y:.1f}' text-anchor='middle' dominant-baseline='central' "
                     f"font-size='13' font-weight='600' fill='#191919' stroke='rgba(255,255,255,0.75)' "
                     f"stroke-width='3' paint-order='stroke'>{markup(label['text'])}</text>")
    parts.append("</svg>")
    return "".join(parts)


def show(markup: str) -> None:
    """Draw a chart's markup. st.markdown, not st.html: st.html's sanitiser keeps HTML only and drops SVG."""
    st.markdown(markup, unsafe_allow_html=True)


CSS = f"<style>{RANKING_CSS}{FUNNEL_CSS}.ht-trend {{ display: block; }}</style>"
