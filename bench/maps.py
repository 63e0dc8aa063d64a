"""The progress map's benchmark: deck payload size per level and the map page's time to ready in Chromium.

``run(quick) -> list[dict]`` (keys section, case, metric, value, unit, target, ok, as bench.table.Row):

- payload: the JSON Streamlit sends for the deck (``deck.to_json()`` plus the tooltip template) for the 16
  prefectures, the 129 counties (target < 400 KB), one prefecture drilled into with its village points, and —
  for reference — the whole province with every village point (the page never sends that: points appear once a
  prefecture is chosen);
- build: hometown.progress.map_data.map_model + deck per level (ms, warm caches);
- page: a Streamlit server on 127.0.0.1 and headless Debian Chromium (software WebGL): navigation to ``/map`` with
  the county layer until the script is idle and the canvas has painted, cold (first visit after start) and warm.

The warehouse: the built-in demo (demo.generate) through the real ingest; with ``quick`` a small synthetic set
(bench.synthetic, 15 prefectures so one shows as 未上报).
"""

from __future__ import annotations

import io
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date
from pathlib import Path

from bench.load.server import scratch_store

ROOT = Path(__file__).resolve().parent.parent
SECTION = "map"
PAYLOAD_TARGET_KB = 400
READY_TARGET_S = 8.0
CHROMIUM = os.environ.get("HOMETOWN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run"]
IDLE = '[data-testid="stApp"][data-test-connection-state="CONNECTED"][data-test-script-state="notRunning"]'
CANVAS = '[data-testid="stDeckGlJsonChart"] canvas'
DRILL = "532500"  # 红河州


def _row(case: str, metric: str, value, unit: str = "", target: str = "", ok: bool | None = None) -> dict:
    return {"section": SECTION, "case": case, "metric": metric, "value": value, "unit": unit, "target": target,
            "ok": ok}


def _log(msg: str) -> None:
    print(f"map: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------- warehouse


def _warehouse(workdir: Path, quick: bool) -> Path:
    from pipelines.ingest import ingest

    db = workdir / "warehouse.duckdb"
    reports = workdir / "reports"
    reports.mkdir()
    if not quick:
        try:
            from demo.generate import write_demo
        except ImportError:
            quick = True
        else:
            write_demo(reports)
    if quick:
        from bench import synthetic
        from geo import reference

        rng = random.Random(4)
        for p in reference.prefectures().iter_rows(named=True):
            if p["code"] == "533400":      # 迪庆 sends nothing: the map shows it as 未上报
                continue
            rows = synthetic.village_rows(p["code"], p["common_name"], 60, rng, date_index=1)
            synthetic.write_report(reports / f"{p['code']}.xlsx", p["common_name"], date(2022, 6, 30), rows)
    results = ingest([reports], db)
    refused = [r.file_name for r in results if r.refused]
    if refused:
        raise RuntimeError(f"reports refused: {refused[:3]}")
    return db


# ---------------------------------------------------------------------------------------------- payload


def _payload_rows(db: Path) -> list[dict]:
    os.environ["HOMETOWN_DB"] = str(db)
    from warehouse import db as hdb
    from hometown.progress import map_data
    from ui import map_deck
    from warehouse.scope import Filters, Scope

    hdb.close_all()
    width, height = map_data.PAGE_SIZE
    cases = [
        ("16 prefectures", dict(level="prefecture"), True),
        ("129 counties", dict(level="county"), True),
        (f"drill {DRILL} + village points", dict(level="county", prefecture=DRILL), True),
        ("129 counties + every village point (not sent by the page)", dict(level="county", show_villages=True),
         False),
    ]
    out = []
    for case, kwargs, targeted in cases:
        model = map_data.map_model(Filters(), Scope(), **kwargs)  # warm the geometry caches
        runs = []
        for _ in range(3):
            t0 = time.perf_counter()
            model = map_data.map_model(Filters(), Scope(), **kwargs)
            deck = map_deck.deck(model, width, height)
            size = map_deck.payload_bytes(deck)
            runs.append(time.perf_counter() - t0)
        kb = round(size / 1024, 1)
        ok = kb < PAYLOAD_TARGET_KB if targeted else None
        out.append(_row(case, "deck payload (JSON as sent)", kb, "KB", f"< {PAYLOAD_TARGET_KB} KB" if targeted else "",
                        ok))
        out.append(_row(case, "regions / village points", f"{model.regions} / {len(model.villages)}"))
        out.append(_row(case, "model + deck build (median of 3)", round(statistics.median(runs) * 1000, 1), "ms"))
    # The heaviest drill-down: the prefecture with the most village points.
    from geo import reference

    sizes = []
    for code in reference.prefectures()["code"]:
        model = map_data.map_model(Filters(), Scope(), "county", prefecture=code)
        sizes.append((map_deck.payload_bytes(map_deck.deck(model, width, height)), len(model.villages), code))
    size, points, code = max(sizes)
    kb = round(size / 1024, 1)
    common = dict(reference.prefectures().select("code", "common_name").iter_rows())
    out.append(_row(f"drill, heaviest prefecture ({common[code]}, {points} points)",
                    "deck payload (JSON as sent)", kb, "KB", f"< {PAYLOAD_TARGET_KB} KB", kb < PAYLOAD_TARGET_KB))
    hdb.close_all()
    return out


# ---------------------------------------------------------------------------------------------- page


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(db: Path, log_path: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "HOMETOWN_DB": str(db), "HOMETOWN_AUTH": "off",
           "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", **scratch_store(log_path.parent)}
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port), "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited ({proc.returncode}); see {log_path}")
        try:
            with opener.open(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.25)
    proc.kill()
    raise RuntimeError(f"streamlit did not start; see {log_path}")


def _painted(page) -> bool:
    import numpy as np
    from PIL import Image

    canvas = page.locator(CANVAS).first
    if not canvas.count():
        return False
    rgb = np.asarray(Image.open(io.BytesIO(canvas.screenshot())).convert("RGB"))
    return (rgb.min(axis=2) < 235).mean() > 0.1


def _time_to_ready(page, url: str, timeout_s: float = 90) -> float:
    """Seconds from navigation until the script is idle and the map canvas has painted."""
    t0 = time.perf_counter()
    page.goto(url)
    deadline = t0 + timeout_s
    while time.perf_counter() < deadline:
        if page.query_selector(IDLE) and page.query_selector(CANVAS) and _painted(page):
            return time.perf_counter() - t0
        page.wait_for_timeout(100)
    raise TimeoutError(f"map not ready within {timeout_s} s")


def _map_path() -> str:
    from ui.nav import MAP_PAGE, pages_for

    pages = pages_for(None)
    default = next((p for p in pages if p.default), pages[0])
    return "/" if default.file == MAP_PAGE else "/" + next(p.url_path for p in pages if p.file == MAP_PAGE)


def _page_rows(db: Path, workdir: Path, quick: bool) -> list[dict]:
    if not Path(CHROMIUM).exists():
        return [_row("map page", "time to ready", None, "s", f"< {READY_TARGET_S:g} s (warm)", None)]
    from playwright.sync_api import sync_playwright

    proc, base = _start_server(db, workdir / "streamlit.log")
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
            page = context.new_page()
            url = base + _map_path() + "?level=" + urllib.request.quote("县市区")
            cold = _time_to_ready(page, url)
            warm_runs = [_time_to_ready(page, url) for _ in range(1 if quick else 3)]
            context.close()
            browser.close()
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    warm = statistics.median(warm_runs)
    return [
        _row("map page, 129 counties", "time to ready, first visit after server start", round(cold, 2), "s"),
        _row("map page, 129 counties", f"time to ready, warm (median of {len(warm_runs)})", round(warm, 2), "s",
             f"< {READY_TARGET_S:g} s", warm < READY_TARGET_S),
    ]


def run(quick: bool) -> list[dict]:
    """The map's rows for ``python -m bench`` (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="hometown-bench-map-") as tmp:
        workdir = Path(tmp)
        _log("building the warehouse …")
        db = _warehouse(workdir, quick)
        _log("payload sizes …")
        rows = _payload_rows(db)
        _log("page time to ready in Chromium …")
        try:
            rows += _page_rows(db, workdir, quick)
        except Exception as exc:  # the payload figures stand on their own
            rows.append(_row("map page", "time to ready", None, "s", f"< {READY_TARGET_S:g} s",
                             False))
            _log(f"page timing failed: {exc}")
        return rows


if __name__ == "__main__":
    import json

    for r in run(quick="--quick" in sys.argv):
        print(json.dumps(r, ensure_ascii=False))
