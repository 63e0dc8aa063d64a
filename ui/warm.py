"""Warming a server process, so the first user after a start or a night's load does not pay for the process's
first runs (issue 17): the page modules' imports (plotly, pydeck, the briefing writer …) and the province-level
figures and built blocks the pages read through ui.common (``run``/``block``), computed into the same process-wide
VersionCache the sessions read.

``warm(scope)`` does it once for the current warehouse version, in order of what a morning opens first: the
overview (normal and big screen, its map panel's preview and deck), the map page's default view, the province's
region page, the places of the overview's most urgent alerts, every prefecture's region page (about 2 s of CPU on
the demo warehouse). With ``full`` (``HOMETOWN_WARM=all``) it goes on, paced (after each step a pause twice as long
as it took), with the overview map's drill into each prefecture and every county's page (about 11 s of CPU more):
not by default, because a worker just started is when the first users arrive, and on a 2-core machine that work
competed with their browsers for longer than it saved them (a county page cold costs about 0.1 s of CPU). Each call
names the page's own functions with the page's own arguments, so its cache keys are exactly the ones a session of
that scope computes (tests/test_warm.py runs the pages after a warm-up and checks they compute nothing new). Only
the given scope's keys are filled — a key carries its scope, so another scope's session never reads them.
Role-dependent figures (a village's team members) are not warmed.

``Warmer`` runs it in a daemon thread: at start, then whenever ``db.version()`` changes (a load published a new
warehouse; polled every ``HOMETOWN_WARM_POLL_S`` seconds, default 5). A failure is logged and retried at the
next version; it never stops serving, and the thread never holds anything the health check needs.
``HOMETOWN_WARM=0`` turns it off, ``HOMETOWN_WARM=all`` adds the paced part. serve.py starts one per worker process.
"""

from __future__ import annotations

import ast
import importlib
import logging
import os
import threading
import time
from typing import Callable

from hometown.progress import map_data, overview
from hometown.progress import village as village_q
from hometown.progress.region import county_villages, resolve
from hometown.teams import queries as teams
from ui import map_panel
from ui.common import block, run
from ui.nav import PAGES, ROOT
from warehouse import db
from warehouse.scope import ALL, Filters, Scope

log = logging.getLogger("hometown.warm")

ENV, POLL_ENV = "HOMETOWN_WARM", "HOMETOWN_WARM_POLL_S"
DEFAULT_POLL_S = 5.0
PACE = 2.0  # after each later step, a pause PACE times as long as it took: a third of one core at most
ALERT_TARGETS = 10  # the overview's alert buttons warmed (the most urgent first, as the page lists them)


# ------------------------------------------------------------------------------------------------------ imports


def page_modules() -> list[str]:
    """The modules every page file imports at its top (read from the files, so a new page is covered)."""
    names: list[str] = []
    for spec in PAGES:
        path = ROOT / spec.file
        if not path.exists():
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Import):
                names += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.append(node.module)
                names += [f"{node.module}.{a.name}" for a in node.names]  # submodules (from x import y)
    return list(dict.fromkeys(names))


def import_pages() -> None:
    for name in page_modules():
        try:
            importlib.import_module(name)
        except ImportError:  # ``from x import some_function``: not a module
            pass
    # The process's first st.dataframe loads polars' and pyarrow's conversion code (~13 ms of CPU, once).
    import polars as pl
    from streamlit import dataframe_util

    dataframe_util.convert_anything_to_arrow_bytes(pl.DataFrame({"n": [1, None], "s": ["a", None], "x": [0.5, None]}))


# ------------------------------------------------------------------------------------------ what each page reads
# Each mirrors the page's calls of ui.common.run/block: same functions, same positional arguments.


def overview_page(filters: Filters, scope: Scope) -> None:
    """pages/overview.py: the normal page (with its map panel, preview and deck) and the big screen."""
    run(overview.totals, filters, scope)
    run(overview.task_years, scope)
    run(overview.reporting_dates, scope)
    run(teams.kpis, scope)
    run(overview.ranking, filters, scope)
    panel_map(filters, scope, "")
    run(overview.stage_funnel, filters, scope)
    run(overview.trend, filters, scope)
    run(overview.alert_panel, filters, scope)
    run(overview.report_status, filters, scope)
    run(overview.prefecture_ranking, filters, scope)


def _view(scope: Scope, pref: str) -> tuple[str, str, str]:
    # ui.map_panel._panel_view without its session state: a prefecture or county user is pinned to its own.
    narrow = scope.home_prefecture is not None
    pref = scope.prefecture_code or ("" if scope.county_code else pref)
    return ("county" if pref or narrow else "prefecture"), map_data.DEFAULT_METRIC, pref


def panel_map(filters: Filters, scope: Scope, pref: str) -> None:
    """The overview's map panel on the province ("") or drilled into a prefecture: model, SVG preview, deck."""
    level, metric, pref = _view(scope, pref)
    view = (filters, scope, level, metric, pref, map_panel.PANEL_WIDTH_HINT, map_panel.PANEL_HEIGHT)
    map_panel._model(filters, scope, level, metric, pref)
    block(map_panel._preview_svg, *view)
    block(map_panel._deck_json, *view)


def map_page(filters: Filters, scope: Scope) -> None:
    """pages/map.py's default view (level and metric as a new visit has them)."""
    run(overview.task_years, scope)
    run(overview.reporting_dates, scope)
    level, metric, pref = _view(scope, "")
    map_panel._model(filters, scope, level, metric, pref)
    block(map_panel._deck_json, filters, scope, level, metric, pref, map_panel.PAGE_WIDTH_HINT, map_panel.PAGE_HEIGHT)


def region_page(filters: Filters, scope: Scope, code: str) -> None:
    """pages/region.py for a province, prefecture or county code the scope may open."""
    region = resolve(code)
    if region is None or region.level == "village" or not scope.allows(code):
        return
    run(overview.totals, filters, scope, None if region.level == "province" else region.code)
    run(overview.task_years, scope)
    run(overview.reporting_dates, scope)
    if region.level in ("province", "prefecture"):
        run(overview.children, filters, scope, region.code)
    else:
        run(county_villages, filters, scope, region.code)
    run(overview.stage_funnel, filters, scope, region.code)
    run(overview.trend, filters, scope, region.code)
    region_scope = Scope(prefecture_code=region.code) if region.level == "prefecture" else \
        Scope(county_code=region.code) if region.level == "county" else Scope()
    run(overview.alert_panel, filters, region_scope, 50)


def village_page(filters: Filters, scope: Scope, key: str) -> None:
    """pages/village.py's figures (not the team members: they depend on the role)."""
    if not scope.allows(key):
        return
    for fn in (village_q.current, village_q.history, village_q.needs, village_q.projects):
        run(fn, filters, scope, key)


def place_page(filters: Filters, scope: Scope, code: str) -> None:
    if len(code) > 6:
        village_page(filters, scope, code)
    else:
        region_page(filters, scope, code)


def alert_targets(filters: Filters, scope: Scope) -> list[str]:
    """The places the overview's alert buttons open (ui.widgets.alert_buttons: village, else county, else
    prefecture), most urgent first."""
    import polars as pl

    _, items = run(overview.alert_panel, filters, scope)
    targets = items.select(pl.coalesce("village_key", "county_code", "prefecture_code")).to_series().to_list()
    return [t for t in targets[:ALERT_TARGETS] if t]


def steps(scope: Scope = ALL, filters: Filters | None = None) -> tuple[list[Callable[[], None]], list[Callable[[], None]]]:
    """(urgent, paced) steps warming ``scope``'s pages: what a morning opens first, then the rest."""
    from geo import reference

    f = filters or Filters()
    prefectures = [c for c in reference.prefectures()["code"].to_list() if scope.allows(c)]
    counties = [c for c in reference.counties()["code"].to_list() if scope.allows(c)]
    urgent: list[Callable[[], None]] = [
        import_pages,
        lambda: overview_page(f, scope),
        lambda: map_page(f, scope),
        lambda: region_page(f, scope, scope.top_code),
        lambda: [place_page(f, scope, t) for t in alert_targets(f, scope)],
    ] + [lambda c=c: region_page(f, scope, c) for c in prefectures if c != scope.top_code]
    paced: list[Callable[[], None]] = []
    if scope.home_prefecture is None:
        paced += [lambda c=c: panel_map(f, scope, c) for c in prefectures]
    paced += [lambda c=c: region_page(f, scope, c) for c in counties if c != scope.top_code]
    return urgent, paced


def warm(scope: Scope = ALL, pace: bool = True, stop: threading.Event | None = None, full: bool = False) -> str | None:
    """Warm ``scope``'s pages for the current warehouse version; returns that version (None when there is no
    readable warehouse). ``pace``: pause after each later step (PACE); ``full``: the paced steps too. Stops early when the version
    changes (the next warm-up takes over) or ``stop`` is set."""
    try:
        version = db.check()
    except db.WarehouseMissing:  # missing or damaged: the pages say so; nothing to warm
        return None
    urgent, paced = steps(scope)
    for i, step in enumerate(urgent + (paced if full else [])):
        if stop is not None and stop.is_set():
            break
        if db.version() != version:
            break
        t0 = time.monotonic()
        try:
            step()
        except db.WarehouseMissing:  # the file went away or is damaged: nothing more to warm
            return None
        except Exception:  # one page's failure leaves the others warm; that page computes its own when opened
            log.exception("warm-up step %d of warehouse version %s failed", i, version)
        if pace and i >= len(urgent):
            time.sleep(PACE * (time.monotonic() - t0))
    return version


class Warmer:
    """A daemon thread warming the process at start and after every new warehouse version (module docstring)."""

    def __init__(self, scope: Scope = ALL, poll_s: float | None = None, pace: bool = True, full: bool = False) -> None:
        self.scope, self.pace, self.full = scope, pace, full
        self.poll_s = poll_s if poll_s is not None else float(os.environ.get(POLL_ENV, DEFAULT_POLL_S))
        self.warmed: str | None = None      # the last version warmed to the end (or attempted)
        self.rounds = 0                     # warm-ups run (for the tests and the log)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="hometown-warm", daemon=True)

    def start(self) -> "Warmer":
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _current(self) -> str | None:
        try:
            return db.version()
        except db.WarehouseMissing:
            return None

    def _loop(self) -> None:
        while not self._stop.is_set():
            current = self._current()
            if current is not None and current != self.warmed:
                t0 = time.monotonic()
                try:
                    warm(self.scope, self.pace, self._stop, self.full)
                    log.info("warmed warehouse version %s in %.1f s", current, time.monotonic() - t0)
                except Exception:  # never fatal: the pages compute what is missing themselves
                    log.exception("warm-up of warehouse version %s failed", current)
                self.warmed = current
                self.rounds += 1
            self._stop.wait(self.poll_s)


_started: Warmer | None = None
_lock = threading.Lock()


def start() -> Warmer | None:
    """The process's Warmer, started once (None when ``HOMETOWN_WARM=0``; ``all``: the paced steps too)."""
    global _started
    setting = os.environ.get(ENV, "1").strip().lower()
    if setting in ("0", "off", "false", "no"):
        return None
    with _lock:
        if _started is None:
            _started = Warmer(full=setting == "all").start()
        return _started
