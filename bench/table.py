"""The rows every benchmark section returns, the aligned plain-text table and the JSON artifact.

A row is one measured figure: (section, case, metric, value, unit, target, ok). ``target`` is a human-readable
condition such as ``< 15 s`` or ``≥ 10×`` and ``ok`` whether the value meets it (None when there is no target),
so the table and artifacts/bench.json say the same thing and the README can be updated from the JSON.
"""

from __future__ import annotations

import json
import os
import platform
import unicodedata
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from warehouse.files import write_atomic

COLUMNS = ("section", "case", "metric", "value", "unit", "target", "ok")


@dataclass
class Row:
    section: str
    case: str
    metric: str
    value: float | int | str | None
    unit: str = ""
    target: str = ""
    ok: bool | None = None


def below(value: float | None, limit: float) -> bool | None:
    return None if value is None else value < limit


def at_most(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


def at_least(value: float | None, limit: float) -> bool | None:
    return None if value is None else value >= limit


def format_value(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value >= 10_000:
            return f"{value:,.0f}"
        if value >= 100:
            return f"{value:.1f}"
        if value >= 1:
            return f"{value:.2f}"
        return f"{value:.3f}"
    return str(value)


def _width(text: str) -> int:
    """Display width: CJK characters take two columns in a terminal."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    gap = " " * max(0, width - _width(text))
    return gap + text if right else text + gap


def render(rows: list[Row]) -> str:
    """One aligned plain-text table; numbers right-aligned; ok is ✓ / ✗ / blank."""
    cells = [[r.section, r.case, r.metric, format_value(r.value), r.unit, r.target,
              "" if r.ok is None else ("✓" if r.ok else "✗")] for r in rows]
    header = list(COLUMNS)
    widths = [max(_width(x) for x in col) for col in zip(header, *cells)]
    right = {3}
    lines = ["  ".join(_pad(h, w, i in right) for i, (h, w) in enumerate(zip(header, widths))).rstrip(),
             "  ".join("-" * w for w in widths)]
    for row in cells:
        lines.append("  ".join(_pad(c, w, i in right) for i, (c, w) in enumerate(zip(row, widths))).rstrip())
    return "\n".join(lines)


def machine() -> dict:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "processor": platform.processor() or platform.machine()}


def write_json(path: Path, rows: list[Row], args: dict, seconds: float) -> Path:
    doc = {"generated_at": datetime.now().isoformat(timespec="seconds"), "args": args, "machine": machine(),
           "total_seconds": round(seconds, 2), "rows": [asdict(r) for r in rows]}
    return write_atomic(path, json.dumps(doc, ensure_ascii=False, indent=2, default=str))
