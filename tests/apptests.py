"""Helpers for reading pages run by Streamlit's AppTest, shared by the page tests."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest


def table_with(at: AppTest, column: str):
    """The table showing ``column`` (a display-only st.dataframe carries no key in AppTest)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def map_panel_key(level: str = "prefecture", prefecture: str | None = None, clicks: int = 0) -> str:
    """The overview map panel's chart key for a view after ``clicks`` handled clicks, so a test can inject a
    selection where the browser would put a click."""
    from hometown.progress import map_data
    from ui import map_panel

    return map_panel.chart_key(map_panel.PANEL_PREFIX, level, prefecture, map_data.DEFAULT_METRIC, clicks)


def live_map() -> dict:
    """Session state of an overview whose map panel has its interactive map loaded: in a browser the panel shows an
    SVG preview and clicks its own load button once the page is drawn; AppTest runs no JavaScript."""
    from ui import map_panel

    return {map_panel.LIVE: True}


def map_click(layer: str, code: str) -> dict:
    """What the browser sends when a feature of the map's ``layer`` (a map_data layer id) is clicked."""
    return {"selection": {"indices": {layer: [0]}, "objects": {layer: [{"properties": {"code": code}}]}}}


def shown(markdown: str) -> str:
    """What a reader sees of Markdown that ui.text.md escaped: the backslash escapes and the invisible word joiners
    taken out (only those: a test of the escaping itself reads the raw value)."""
    import re

    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown).replace("\u2060", "")


APP = Path(__file__).resolve().parent.parent / "app.py"


def app_page(page: str, timeout: float = 120) -> AppTest:
    """AppTest of app.py opened on ``page`` (``pages/<name>.py``), not yet run: a page runs only through app.py's
    navigation (ui.guard.from_app refuses the page file run by itself), so page tests start from app.py too."""
    at = AppTest.from_file(str(APP), default_timeout=timeout)
    at.switch_page(page)
    return at


def kpi_tiles(at: AppTest) -> dict[str, tuple[str, str | None]]:
    """{label: (value, note)} of the KPI tiles a page drew (ui.tiles: one st.html block, not st.metric)."""
    from ui import tiles

    found: dict[str, tuple[str, str | None]] = {}
    for h in at.get("html"):
        found |= tiles.values(h.proto.body)
    return found


def kpis(at: AppTest) -> dict[str, str]:
    """{label: value} of the KPI tiles (ui.tiles) and of any st.metric on the page."""
    return {label: value for label, (value, _) in kpi_tiles(at).items()} | {m.label: m.value for m in at.metric}
