"""The KPI tiles of the overview, a region's page and the big screen: the ten figures of a totals row as one block of
markup, its styles on the light pages and on the big screen, and reading the figures back out of the markup.

Why markup and not ten ``st.metric``: each st.metric is its own React element (two rows of five columns around
them), and its label, value and note each go through Streamlit's Markdown pipeline in the browser. Measured in
Chromium on the 2-core reference machine (issue 17), the ten tiles cost ~0.2 s of the overview's first drawing
and of every region page a click opens. One ``st.html`` block (DOMPurify, no Markdown) draws the same tiles.

Every tile carries its label, value and note as ``data-`` attributes as well as text, so the page tests (AppTest),
the load bench's protocol client read the figures in one way, ``values(markup)`` here (the browser tests read the
``.ht-kpi`` elements' label and value as a reader sees them). The figures come from hometown.progress.overview.totals and are
formatted by hometown.fmt; labels and units are warehouse.metrics'.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Callable

import streamlit as st

from hometown import fmt
from warehouse import metrics, stages

KPIS_CLASS = "ht-kpis"  # the block; each tile is .ht-kpi


@dataclass(frozen=True)
class Tile:
    label: str
    value: Callable[[dict], str]
    note: Callable[[dict], str | None] = lambda r: None
    help: str | None = None


def _n(name: str, unit: str = "") -> Callable[[dict], str]:
    return lambda r: fmt.count(r.get(name), unit)


def _metric(name: str, note: Callable[[dict], str], help_text: str | None = None) -> Tile:
    """A tile of one metric of warehouse.metrics: its label and unit from there, the note and help from here."""
    return Tile(metrics.LABELS[name], _n(name, metrics.UNITS[name]), note, help_text)


KPI_TILES: tuple[Tile, ...] = (
    _metric("task_villages", lambda r: f"{r.get('prefectures_reported') or 0} 个州市已报送", "各州市报表中列出的任务村数"),
    _metric("planning_groups", lambda r: f"组建率 {fmt.percent(r.get('group_rate'))}"),
    _metric("group_members", lambda r: f"乡贤能人 {fmt.count(r.get('local_talents'))}"),
    _metric("civil_servants", lambda r: f"每组 {fmt.plain(r.get('civil_servants_per_group'), 1)} 人"),
    _metric("cadre_visits", lambda r: f"村均 {fmt.plain(r.get('visits_per_village'), 1)} 人次"),
    _metric("needs_total", lambda r: f"已纳入 {fmt.count(r.get('needs_adopted'))} · {fmt.percent(r.get('adoption_rate'))}"),
    _metric("villager_participation", lambda r: f"村均 {fmt.plain(r.get('participation_per_village'), 0)} 人次"),
    _metric("plans_completed", lambda r: f"完成率 {fmt.percent(r.get('completion_rate'))}",
            f"规划状态为{'、'.join(stages.COMPLETED_STATUSES[:-1])}或{stages.COMPLETED_STATUSES[-1]}的村"),
    _metric("plans_in_database", lambda r: f"入库率 {fmt.percent(r.get('database_rate'))}"),
    Tile(metrics.LABELS["funding_wan"], lambda r: fmt.money_wan(r.get("funding_wan")),
         lambda r: f"村均 {fmt.money_wan(r.get('funding_per_village'))}"),
)


def _attr(text: str) -> str:
    return html.escape(text, quote=True)


def tile_html(tile: Tile, row: dict, with_help: bool = True) -> str:
    label, value, note = tile.label, tile.value(row), tile.note(row)
    data = f' data-label="{_attr(label)}" data-value="{_attr(value)}"' + (f' data-note="{_attr(note)}"' if note else "")
    help_mark = (f'<span class="ht-kpi-help" tabindex="0" title="{_attr(tile.help)}" aria-label="说明：{_attr(tile.help)}">'
                 "?</span>") if with_help and tile.help else ""
    return (f'<div class="ht-kpi"{data}><div class="ht-kpi-label">{html.escape(label)}{help_mark}</div>'
            f'<div class="ht-kpi-value">{html.escape(value)}</div>'
            + (f'<div class="ht-kpi-note"><span>{html.escape(note)}</span></div>' if note else "") + "</div>")


def kpi_html(row: dict, columns: int = 5, tiles: tuple[Tile, ...] = KPI_TILES, big: bool = False) -> str:
    """The tiles of a totals row as one block, ``columns`` per line (no help marks on the big screen: nobody hovers
    there)."""
    body = "".join(tile_html(t, row, with_help=not big) for t in tiles)
    return f'<div class="{KPIS_CLASS}" style="--ht-kpi-columns: {int(columns)}">{body}</div>'


def kpi_tiles(row: dict, columns: int = 5, tiles: tuple[Tile, ...] = KPI_TILES, big: bool = False) -> None:
    """Draw the KPI tiles of a totals row (hometown.progress.overview.totals)."""
    st.html(kpi_html(row, columns, tiles, big))


_TILE = re.compile(r'<div class="ht-kpi" data-label="([^"]*)" data-value="([^"]*)"(?: data-note="([^"]*)")?>')


def values(markup: str) -> dict[str, tuple[str, str | None]]:
    """{label: (value, note)} of the tiles in a piece of markup (an st.html body); empty when it has none."""
    return {html.unescape(m[1]): (html.unescape(m[2]), html.unescape(m[3]) if m[3] is not None else None)
            for m in _TILE.finditer(markup)}


# Close to st.metric(border=True) in the light theme; the value size is the pages' (1.9rem).
CSS = """
.ht-kpis { display: grid; grid-template-columns: repeat(var(--ht-kpi-columns, 5), minmax(0, 1fr)); gap: 1rem; }
.ht-kpi { border: 1px solid rgba(49, 51, 63, 0.2); border-radius: 0.5rem; padding: 0.75rem 1rem; min-width: 0; }
.ht-kpi-label { font-size: 0.875rem; color: rgb(49, 51, 63); display: flex; align-items: center; gap: 0.35rem;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.ht-kpi-help { display: inline-flex; align-items: center; justify-content: center; width: 1rem; height: 1rem;
  border: 1px solid rgba(49, 51, 63, 0.45); border-radius: 50%; font-size: 0.7rem; color: rgba(49, 51, 63, 0.7);
  cursor: help; flex: none; }
.ht-kpi-value { font-size: 1.9rem; line-height: 1.5; white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
  color: rgb(49, 51, 63); }
.ht-kpi-note span { display: inline-block; font-size: 0.85rem; color: rgba(49, 51, 63, 0.7);
  background: rgba(172, 177, 195, 0.25); border-radius: 0.5rem; padding: 0 0.45rem; white-space: nowrap; }
"""

# On the big screen's dark background; ".stApp" outweighs its ".stApp div { color: inherit }".
BIG_SCREEN_CSS = """
.stApp .ht-kpis { gap: 10px 16px; }
.stApp .ht-kpi { background: linear-gradient(180deg, rgba(30,80,160,0.35), rgba(10,30,70,0.35));
  border: 1px solid rgba(90,160,255,0.35); border-radius: 10px; padding: 6px 18px; }
.stApp .ht-kpi-label { font-size: 21px; color: #8fb8ee; }
.stApp .ht-kpi-value { font-size: 40px; color: #ffd65c; line-height: 1.1; margin: 4px 0; }
.stApp .ht-kpi-note span { font-size: 18px; color: #a9d6ff; background: rgba(60,130,230,0.22); }
"""
