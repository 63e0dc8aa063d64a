"""Numbers as Chinese readers expect them: 万 and 亿, thousands separators, percentages with one decimal.

Plain functions, no Streamlit: pages, exports and tests format the same way.
"""

from __future__ import annotations

import math


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def count(x, unit: str = "") -> str:
    """12345 → '12,345'; 1234567 → '123.5万'; 123456789 → '1.23亿'. None → '—' (not reported)."""
    if _missing(x):
        return "—"
    x = float(x)
    if abs(x) >= 1e8:
        text = f"{x / 1e8:,.2f}亿"
    elif abs(x) >= 1e6:
        text = f"{x / 1e4:,.1f}万"
    else:
        text = f"{x:,.0f}" if x == int(x) else f"{x:,.1f}"
    return text + unit


def plain(x, digits: int = 0) -> str:
    """Thousands separators only: 10035 → '10,035'."""
    if _missing(x):
        return "—"
    return f"{float(x):,.{digits}f}"


def percent(x) -> str:
    """0.8506 → '85.1%'. None → '—'."""
    if _missing(x):
        return "—"
    return f"{float(x) * 100:.1f}%"


def money_wan(x) -> str:
    """Money stored in 万元: 134000 → '13.40亿元'; 5230.5 → '5,230.5万元'."""
    if _missing(x):
        return "—"
    x = float(x)
    if abs(x) >= 1e4:
        return f"{x / 1e4:,.2f}亿元"
    return f"{x:,.1f}万元"


def signed(x) -> str:
    """Rank changes: +3 / −2 / 0 / — (new)."""
    if _missing(x):
        return "—"
    x = int(x)
    return f"+{x}" if x > 0 else (f"−{-x}" if x < 0 else "0")


def as_of_range(first, last=None, prefix: str = "数据截至 ") -> str:
    """The reporting dates a figure rests on: '数据截至 2023-12-31', or '数据截至 2023-12-28 至 2023-12-31' when
    prefectures reported on different days; '暂无已受理的报表' when there is none."""
    if _missing(first) and _missing(last):
        return "暂无已受理的报表"
    first = first if not _missing(first) else last
    last = last if not _missing(last) else first
    if first == last:
        return f"{prefix}{first.isoformat()}"
    return f"{prefix}{first.isoformat()} 至 {last.isoformat()}"


def date(x) -> str:
    """A date as 2023-12-31; None → '—'."""
    return "—" if _missing(x) else x.isoformat()
