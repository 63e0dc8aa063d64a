"""任期承诺 page blocks drawn as markup (no chart library, as ui/charts.py): a village's five lists side by side as
a board of item cards (light, progress, due date, owner, last evaluation), and 挂图作战, the open items on a
timeline by due date coloured by their light. Figures come from hometown.commitments frames; nothing is computed
here but positions and labels.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from ui.text import markup
from warehouse.parts.commitments import LISTS

LIGHT_COLOURS = {"绿": "#2e9d57", "黄": "#e0a020", "红": "#d83b3b", "已销号": "#1f6fd1", "取消": "#9aa5b1"}
LIGHT_NAMES = {"绿": "正常", "黄": "滞后", "红": "逾期或严重滞后", "已销号": "已销号", "取消": "已取消"}

CSS = """<style>
.cm-board { display: grid; grid-template-columns: repeat(5, minmax(0, 1fr)); gap: 10px; }
.cm-list { background: #f5f8fc; border-radius: 8px; padding: 8px; }
.cm-list .cm-h { margin: 0 0 6px 0; font-size: 15px; font-weight: 600; }
.cm-list .cm-rate { font-size: 12px; color: #5b6b80; margin-bottom: 6px; }
.cm-item { background: #fff; border-radius: 6px; padding: 6px 8px; margin-bottom: 6px; border-left: 5px solid #ccc;
           font-size: 13px; line-height: 1.35; }
.cm-item .cm-meta { color: #5b6b80; font-size: 12px; }
.cm-bar { height: 5px; background: #e3e8ef; border-radius: 3px; margin: 4px 0; }
.cm-bar > span { display: block; height: 5px; border-radius: 3px; }
.cm-legend span { display: inline-block; margin-right: 12px; font-size: 12px; }
.cm-legend i { display: inline-block; width: 10px; height: 10px; border-radius: 5px; margin-right: 4px; }
</style>"""


def table_key(code: str) -> str:
    """The key of a region's sub-region table (its CSS class st-key-… must be a plain name: codes hold / and 汉字)."""
    return "cm_table_" + code.encode().hex()


def _esc(text: object) -> str:
    """Workbook text (items, owners, villages) in the board's markup: shown as text (ui.text.markup)."""
    return markup(text)


def _pct(value) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def legend() -> str:
    return "<div class='cm-legend'>" + "".join(
        f"<span><i style='background:{c}'></i>{_esc(LIGHT_NAMES[k])}</span>" for k, c in LIGHT_COLOURS.items()) + "</div>"


def board_html(items: pl.DataFrame, rates: pl.DataFrame) -> str:
    """Five columns, one per list, each item a card with a data-item attribute (its number) for tests."""
    rate_of = {r["list_name"]: r for r in rates.iter_rows(named=True)}
    cols = []
    for name in LISTS:
        rows = items.filter(pl.col("list_name") == name)
        r = rate_of.get(name, {})
        cards = []
        for it in rows.iter_rows(named=True):
            colour = LIGHT_COLOURS.get(it["light"], "#ccc")
            progress = it["progress"]
            bar = (f"<div class='cm-bar'><span style='width:{100 * progress:.0f}%;background:{colour}'></span></div>"
                   if progress is not None else "")
            last = (f"{it['last_evaluation_type']} {it['last_evaluated_on']}：{_esc(it['status'])}"
                    if it["last_evaluated_on"] else "尚无评价")
            cards.append(
                f"<div class='cm-item' data-item='{_esc(it['item_no'])}' data-light='{_esc(it['light'])}' "
                f"style='border-left-color:{colour}' title='{_esc(LIGHT_NAMES.get(it['light'], ''))}'>"
                f"<b>{_esc(it['item_no'])}.</b> {_esc(it['content'])}{bar}"
                f"<div class='cm-meta'>进度 {_pct(progress)} · 时限 {it['due_date']} · 责任人 {_esc(it['owner'] or '—')}</div>"
                f"<div class='cm-meta'>{_esc(last)}</div></div>")
        cols.append(
            f"<div class='cm-list' data-list='{name}'><div class='cm-h'>{name}清单（{rows.height}项）</div>"
            f"<div class='cm-rate'>承诺兑现率 {_pct(r.get('fulfilment_rate'))} · 销号 {r.get('closed', 0) or 0} 项</div>"
            + ("".join(cards) or "<div class='cm-meta'>无承诺事项</div>") + "</div>")
    return "<div class='cm-board'>" + "".join(cols) + "</div>"


def timeline_svg(items: pl.DataFrame, width: int = 1100, row_height: int = 16, most: int = 60) -> str:
    """Items by due date on a time axis (as-of date marked), one row each, coloured by light; the overdue left of
    the as-of line. At most ``most`` rows (the earliest due)."""
    if items.height == 0:
        return "<div>未来60天内没有到期的未销号事项，也没有逾期事项。</div>"
    shown = items.head(most)
    as_of = shown["as_of"].max()
    first = min(shown["due_date"].min(), as_of - timedelta(days=7))
    last = max(shown["due_date"].max(), as_of + timedelta(days=60))
    left, right, top = 330, 20, 26
    span = max((last - first).days, 1)
    height = top + row_height * shown.height + 10

    def x(d: date) -> float:
        return left + (width - left - right) * (d - first).days / span

    parts = [f"<svg class='cm-timeline' viewBox='0 0 {width} {height}' width='100%' role='img' "
             f"aria-label='挂图作战：事项按完成时限排列'>",
             f"<line x1='{x(as_of):.1f}' y1='14' x2='{x(as_of):.1f}' y2='{height}' stroke='#1f2d3d' "
             f"stroke-dasharray='4 3'/><text x='{x(as_of):.1f}' y='11' font-size='11' text-anchor='middle'>"
             f"截至 {as_of}</text>"]
    for i, it in enumerate(shown.iter_rows(named=True)):
        y = top + i * row_height
        colour = LIGHT_COLOURS.get(it["light"], "#ccc")
        label = f"{it['village']} {it['list_name']} {it['item_no']}. {it['content']}"
        label = label if len(label) <= 26 else label[:25] + "…"
        tip = (f"{it['county_name']}{it['township']}{it['village']} · {it['list_name']} {it['item_no']}. "
               f"{it['content']} · 完成时限 {it['due_date']} · {it['status']} · 责任人 {it['owner'] or '—'}")
        parts.append(f"<g data-item='{_esc(it['village_key'])}:{_esc(it['item_no'])}'><title>{_esc(tip)}</title>"
                     f"<text x='{left - 8}' y='{y + 11}' font-size='11' text-anchor='end'>{_esc(label)}</text>"
                     f"<line x1='{x(min(it['due_date'], as_of)):.1f}' y1='{y + 7}' x2='{x(max(it['due_date'], as_of)):.1f}' "
                     f"y2='{y + 7}' stroke='{colour}' stroke-opacity='0.35' stroke-width='3'/>"
                     f"<circle cx='{x(it['due_date']):.1f}' cy='{y + 7}' r='5' fill='{colour}'/></g>")
    parts.append("</svg>")
    return "".join(parts)
