"""The briefing's charts as PNG images, drawn offline with matplotlib (Agg) in the CJK font of hometown.briefs.fonts.

Two charts: the children's completion rates (ranking, a horizontal bar per prefecture/county/township, the
region's own rate as a line) and the trend of the completion and database rates across reporting dates with the
provincial 30/40/30 line. The same model draws the same bytes (no timestamps in the PNG), so a briefing renders
again identically.
"""

from __future__ import annotations

import io
import threading
from datetime import date
from typing import Any

_lock = threading.Lock()  # pyplot's state is global: one chart at a time per process
DPI = 150


def _setup():
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib import font_manager, pyplot as plt

    from hometown.briefs import fonts

    body, _ = fonts.faces()
    if body.family not in {f.name for f in font_manager.fontManager.ttflist}:
        font_manager.fontManager.addfont(body.path)
    plt.rcParams.update({"font.family": [body.family], "axes.unicode_minus": False, "svg.hashsalt": "brief",
                         "font.size": 9})
    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


def ranking(model: dict[str, Any]) -> bytes | None:
    kids = [c for c in model["children"] if c["rank"] is not None and c["completion_rate"] is not None]
    if not kids:
        return None
    plt = _setup()
    kids = sorted(kids, key=lambda c: (c["rank"], c["name"]))
    names = [c["name"] for c in kids][::-1]
    values = [c["completion_rate"] * 100 for c in kids][::-1]
    fig, ax = plt.subplots(figsize=(6.3, max(2.2, 0.24 * len(kids) + 0.8)))
    try:
        bars = ax.barh(names, values, color="#c0392b", height=0.65)
        for bar, v in zip(bars, values):
            ax.text(bar.get_width() + 0.8, bar.get_y() + bar.get_height() / 2, f"{v:.1f}%", va="center", fontsize=7)
        own = model["headline"].get("completion_rate")
        if own is not None:
            ax.axvline(own * 100, color="#555555", linestyle="--", linewidth=0.8)
            ax.text(own * 100, len(kids) - 0.3, f"{model['scope_label']} {own * 100:.1f}%", fontsize=7,
                    color="#555555", ha="left", va="bottom")
        ax.set_xlim(0, 110)
        ax.set_xlabel("规划完成率（%）")
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(axis="y", labelsize=8)
        return _png(fig)
    finally:
        plt.close(fig)


def trend(model: dict[str, Any]) -> bytes | None:
    rows = [r for r in model["trend"] if r["completion_rate"] is not None]
    if len(rows) < 2:
        return None
    plt = _setup()
    dates = [date.fromisoformat(r["as_of"]) for r in rows]
    fig, ax = plt.subplots(figsize=(6.3, 2.8))
    try:
        ax.plot(dates, [r["completion_rate"] * 100 for r in rows], marker="o", markersize=3, color="#c0392b",
                label="规划完成率")
        ax.plot(dates, [(r["database_rate"] or 0) * 100 for r in rows], marker="s", markersize=3, color="#2471a3",
                label="入库率")
        if all(r.get("expected") is not None for r in rows):
            ax.plot(dates, [r["expected"] * 100 for r in rows], linestyle="--", color="#7f8c8d", linewidth=1,
                    label="计划进度（30/40/30）")
        ax.axvline(date.fromisoformat(model["as_of"]), color="#aaaaaa", linewidth=0.6)
        ax.set_ylim(0, 105)
        ax.set_ylabel("%")
        ax.legend(loc="upper left", fontsize=7, frameon=False)
        ax.spines[["top", "right"]].set_visible(False)
        fig.autofmt_xdate()
        return _png(fig)
    finally:
        plt.close(fig)


def draw(model: dict[str, Any]) -> dict[str, bytes]:
    """{'ranking': png, 'trend': png}, each left out when there is nothing to draw."""
    with _lock:
        out = {"ranking": ranking(model), "trend": trend(model)}
    return {k: v for k, v in out.items() if v}
