"""``make bench --only load`` (issue 17): sessions of the protocol client (bench.load.client) against one
``serve.py`` process and against N workers behind nginx (the ``serving`` package, when the checkout has it).

- **paced sessions**: N = 10, 25, 50, 100, 200 sessions signed in as the demo users (a mix of county, prefecture and
  province users: ``MIX``), each opening its home page, rerunning its page every 10 s and drilling down every 30 s
  (home → a click on a ranking bar → a county's page by its link → home; the browser's own click on the overview's
  map load button included). Started spread over the first 10 s; measured over a window after all are signed in:
  runs/s, p50/p95 per page, first load (open + sign-in) p95, errors, server CPU (cores) and RSS per worker process;
- **saturation**: sessions rerunning the overview back to back, runs/s, 1 process against 2 workers (≥ 1.8×);
- **big screens**: 50 ``/?screen=big`` sessions at the default refresh (the overview's fragment ``run_every``, 60 s),
  their fragment runs' p95 (< 1 s), spread over one refresh period as screens are switched on one by one;
- **CPU per warm rerun** of each page: one session at a time, the server process's CPU time over R reruns (targets:
  ``/`` ≤ 50 ms, other pages ≤ 40 ms).

The client runs in this process on the same machine as the server (a shared 2-core machine): its own CPU time is
reported alongside, as it competes with the server for the cores.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from bench.load import server
from bench.load.client import Run, Session, SessionError

SECTION = "load"
LEVELS, QUICK_LEVELS = (10, 25, 50, 100, 200), (10, 25)
LEVELS_ENV = "HOMETOWN_LOAD_LEVELS"  # overrides the session counts (space or comma separated)
RERUN_S, DRILL_S = 10.0, 30.0
PACED_P95_TARGET_S, PACED_TARGET_N = 1.0, 50
SATURATION_TARGET = 1.8
BIG_SCREENS, BIG_P95_TARGET_S = 50, 1.0
ROOT_CPU_TARGET_MS, PAGE_CPU_TARGET_MS = 50.0, 40.0
# A morning meeting: county task forces outnumber prefecture groups, who outnumber the province's people.
MIX = ("mile", "honghe", "leader", "mile", "honghe", "analyst", "mile", "honghe", "admin", "mile")
HOME = {"mile": "/region?code=532504"}   # a county task force starts on its county; everyone else on the overview
MAP_LOAD = "ovmap_load"                  # the overview's map button the browser clicks by itself (ui/map_panel.py)


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def page_label(s: Session) -> str:
    page = s.page or "/"
    if page == "/" and "screen=big" in s.query:
        return "/?screen=big"
    if page == "region":
        code = dict(p.split("=", 1) for p in s.query.split("&") if "=" in p).get("code", "")
        level = "州市" if code.endswith("00") and len(code) == 6 else "县" if len(code) == 6 else "?"
        return f"/region {level}"
    return page if page.startswith("/") else f"/{page}"


@dataclass
class Tally:
    """What the sessions of one measurement did."""
    window: tuple[float, float] = (0.0, 0.0)
    runs: list[tuple[float, str, str, float]] = field(default_factory=list)  # (end time, kind, page, seconds)
    first_loads: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    disconnects: int = 0
    sessions_up: int = 0

    def add(self, s: Session, run: Run, kind: str) -> None:
        self.runs.append((time.monotonic(), kind, page_label(s) if not run.fragment else f"{page_label(s)} fragment",
                          run.seconds))
        self.errors += run.errors

    def in_window(self, kinds: tuple[str, ...] | None = None) -> list[tuple[float, str, str, float]]:
        a, b = self.window
        return [r for r in self.runs if a <= r[0] <= b and (kinds is None or r[1] in kinds)]


async def _first_load(s: Session, url: str, user: str, tally: Tally) -> None:
    t0 = time.perf_counter()
    await s.connect(url)
    run = await s.open(url)
    tally.errors += run.errors
    run = await s.sign_in(user, server.DEMO_PASSWORDS[user])
    tally.errors += run.errors
    if s.widget("login_username") is not None:
        raise SessionError(f"sign-in as {user} did not pass the login form")
    if s.widget(MAP_LOAD) is not None:  # the browser clicks it as soon as the page is drawn
        tally.add(s, await s.click(MAP_LOAD), "fragment")
    tally.first_loads.append(time.perf_counter() - t0)


async def _drill(s: Session, step: int, rng: random.Random) -> Run:
    """home → (a ranking bar, or the county's own page) → a county's page by its link → home."""
    page = page_label(s)
    if page == "/":
        bars = s.widget_keys("ov_bars_")
        if bars:
            return await s.click(rng.choice(bars))
        return await s.navigate("/region?code=532504")
    if page == "/region 州市":
        links = [(p, q) for p, q, off in s.links() if p == "region" and not off and len(q.split("code=")[-1][:6]) == 6
                 and not q.split("code=")[-1][:6].endswith("00")]
        if links:
            p, q = rng.choice(links)
            return await s.navigate(f"/{p}?{q}")
        return await s.navigate("/region?code=532504")
    return await s.navigate("/")


class Probe:
    """CPU seconds and RSS of the server processes (and this client process) between two readings."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = list(pids)
        self.cpu0 = {p: server.cpu_seconds(p) for p in pids}
        self.client0 = time.process_time()
        self.t0 = time.monotonic()
        self.rss_max = {p: server.rss_mb(p) for p in pids}

    def sample(self) -> None:
        for p in self.pids:
            if server.alive(p):
                self.rss_max[p] = max(self.rss_max[p], server.rss_mb(p))

    def cores(self) -> tuple[list[float], float]:
        dt = time.monotonic() - self.t0
        per = [(server.cpu_seconds(p) - self.cpu0[p]) / dt if server.alive(p) else 0.0 for p in self.pids]
        return per, (time.process_time() - self.client0) / dt


async def _sampling(probe: Probe, stop: asyncio.Event) -> None:
    while not stop.is_set():
        probe.sample()
        try:
            await asyncio.wait_for(stop.wait(), 2.0)
        except asyncio.TimeoutError:
            pass


async def paced(target: server.Target, users: list[str], window_s: float, rerun_s: float = RERUN_S,
                drill_s: float = DRILL_S, ramp_s: float = RERUN_S, rng: random.Random | None = None) -> dict:
    """One session per user at one rerun per ``rerun_s`` and one drill-down per ``drill_s``, started spread over
    ``ramp_s``; the figures of the ``window_s`` seconds after all are signed in (90 s at most: an overloaded
    server's backlog is part of the figure)."""
    rng = rng or random.Random(17)
    tally = Tally()
    n = len(users)
    t0 = time.monotonic()
    settle_max = 90.0
    # Every session stops at the same end; the window is its last window_s seconds, which start no earlier than
    # when all sessions are signed in (bounded by settle_max).
    end_at = t0 + ramp_s + settle_max + window_s

    async def end_when_up() -> None:
        nonlocal end_at
        while tally.sessions_up + tally.disconnects < n and time.monotonic() < t0 + ramp_s + settle_max:
            await asyncio.sleep(0.5)
        end_at = time.monotonic() + rerun_s / 2 + window_s

    sessions = []
    for i, user in enumerate(users):
        sessions.append(_Paced(target.url, HOME.get(user, "/"), user, t0 + ramp_s * i / n, tally,
                               random.Random(rng.random()), rerun_s, drill_s))
    waiter = asyncio.create_task(end_when_up())
    runners = [asyncio.create_task(p.run(lambda: end_at)) for p in sessions]
    await waiter
    up_at = time.monotonic()
    stop = asyncio.Event()
    # Wait half a rerun period so the sessions' paces are spread again, then measure.
    await asyncio.sleep(rerun_s / 2)
    probe = Probe(target.current_pids())
    sampler = asyncio.create_task(_sampling(probe, stop))
    w0 = time.monotonic()
    await asyncio.gather(*runners, return_exceptions=True)
    w1 = time.monotonic()
    per_worker, client_cores = probe.cores()
    stop.set()
    await sampler
    tally.window = (w0, w1)
    return _summary(tally, n, w1 - w0, per_worker, client_cores, probe, up_at - t0)


class _Paced:
    def __init__(self, url, home, user, start_at, tally, rng, rerun_s, drill_s) -> None:
        self.url, self.home, self.user, self.start_at = url, home, user, start_at
        self.tally, self.rng, self.rerun_s, self.drill_s = tally, rng, rerun_s, drill_s

    async def run(self, end_at) -> None:
        tally, rng = self.tally, self.rng
        await asyncio.sleep(max(0.0, self.start_at - time.monotonic()))
        s = Session(self.url)
        try:
            await _first_load(s, self.home, self.user, tally)
            tally.sessions_up += 1
            now = time.monotonic()
            next_rerun = now + self.rerun_s * rng.uniform(0.2, 1.0)
            next_drill = now + self.drill_s * rng.uniform(0.5, 1.0)
            step = 0
            while True:
                due = min([next_rerun, next_drill] + [d for _, d in s.auto_reruns.values()])
                await asyncio.sleep(max(0.0, min(due, end_at()) - time.monotonic()))
                if time.monotonic() >= end_at():
                    break
                now = time.monotonic()
                if s.due_auto_reruns(now):
                    for run in await s.run_due_auto_reruns():
                        tally.add(s, run, "auto")
                    continue
                if next_drill <= now:
                    run = await _drill(s, step, rng)
                    step += 1
                    tally.add(s, run, "drill")
                    if s.widget(MAP_LOAD) is not None:
                        tally.add(s, await s.click(MAP_LOAD), "fragment")
                    next_drill += self.drill_s
                    next_rerun = time.monotonic() + self.rerun_s
                elif next_rerun <= now:
                    tally.add(s, await s.rerun(), "rerun")
                    next_rerun += self.rerun_s
                    if next_rerun < time.monotonic():  # behind (overloaded): no burst of missed reruns
                        next_rerun = time.monotonic() + self.rerun_s * rng.uniform(0.5, 1.0)
        except SessionError as exc:
            tally.disconnects += 1
            tally.errors.append(str(exc))
        except Exception as exc:  # refused or reset connection, a refused handshake (502 from nginx), …
            tally.disconnects += 1
            tally.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            await s.close()


def _summary(tally: Tally, n: int, seconds: float, per_worker: list[float], client_cores: float, probe: Probe,
             up_s: float) -> dict:
    runs = tally.in_window()
    full = [r for r in runs if r[1] in ("rerun", "drill")]
    pages: dict[str, list[float]] = defaultdict(list)
    for _, _, page, sec in full:
        pages[page].append(sec)
    all_secs = [r[3] for r in full]
    return {
        "sessions": n, "up": tally.sessions_up, "up_seconds": up_s, "window": seconds,
        "runs_per_s": len(runs) / seconds if seconds else None, "full_runs": len(full), "runs": len(runs),
        "p50": pct(all_secs, 0.5), "p95": pct(all_secs, 0.95),
        "rerun_p95": pct([r[3] for r in runs if r[1] == "rerun"], 0.95),
        "drill_p95": pct([r[3] for r in runs if r[1] == "drill"], 0.95),
        "pages": {p: (len(v), pct(v, 0.5), pct(v, 0.95)) for p, v in sorted(pages.items())},
        "first_load_p50": pct(tally.first_loads, 0.5), "first_load_p95": pct(tally.first_loads, 0.95),
        "errors": len(tally.errors), "error_samples": sorted(set(tally.errors))[:3], "disconnects": tally.disconnects,
        "cores": per_worker, "client_cores": client_cores, "rss": [probe.rss_max[p] for p in probe.pids],
    }


# ------------------------------------------------------------------------------------------------- saturation


async def saturation(target: server.Target, sessions: int, seconds: float) -> dict:
    """``sessions`` signed-in sessions rerunning the overview back to back for ``seconds``: runs/s."""
    tally = Tally()
    users = [MIX[i % len(MIX)] for i in range(sessions)]
    opened = [Session(target.url) for _ in users]
    try:
        await asyncio.gather(*(_first_load(s, "/", u, tally) for s, u in zip(opened, users)))
        for s in opened:  # warm: each session's first reruns fill the caches of its scope
            await s.rerun()
        end_at = time.monotonic() + seconds
        probe = Probe(target.current_pids())

        async def loop(s: Session) -> None:
            while time.monotonic() < end_at:
                tally.add(s, await s.rerun(), "rerun")

        w0 = time.monotonic()
        await asyncio.gather(*(loop(s) for s in opened))
        w1 = time.monotonic()
        tally.window = (w0, w1)
        per_worker, client_cores = probe.cores()
    finally:
        await asyncio.gather(*(s.close() for s in opened), return_exceptions=True)
    secs = [r[3] for r in tally.in_window()]
    return {"runs_per_s": len(secs) / (w1 - w0), "p50": pct(secs, 0.5), "p95": pct(secs, 0.95),
            "errors": len(tally.errors), "cores": per_worker, "client_cores": client_cores}


# ------------------------------------------------------------------------------------------------ big screens


async def big_screens(target: server.Target, screens: int, window_s: float, refresh: int | None = None) -> dict:
    """``screens`` command-room screens (``/?screen=big``), switched on one by one over a refresh period; the
    p95 of their timed fragment runs over ``window_s``."""
    tally = Tally()
    url = "/?screen=big" + (f"&refresh={refresh}" if refresh else "")
    opened: list[Session] = []
    period = float(refresh or 60)
    t0 = time.monotonic()

    async def screen(i: int) -> None:
        await asyncio.sleep(period * i / screens)
        s = Session(target.url)
        opened.append(s)
        await _first_load(s, url, "leader", tally)
        tally.sessions_up += 1
        board = s.fragment_of_tiles()  # the timed board (not the sidebar's sign-in check, also a timed fragment)
        while time.monotonic() < end_at:
            due = min((d for _, d in s.auto_reruns.values()), default=end_at)
            await asyncio.sleep(max(0.0, min(due, end_at) - time.monotonic()))
            if time.monotonic() >= end_at:
                break
            for run in await s.run_due_auto_reruns():
                tally.add(s, run, "board" if board and run.fragment_id == board else "auto")

    # Sessions run until end_at; the window opens once every screen is up (or after 3 periods: an overloaded
    # server's backlog is part of the figure) and lasts window_s, at least 1.5 refresh periods.
    window_s = max(window_s, 1.5 * period)
    end_at = t0 + 4 * period + window_s
    probe = None
    try:
        tasks = [asyncio.create_task(screen(i)) for i in range(screens)]
        while tally.sessions_up < screens and time.monotonic() < t0 + 3 * period \
                and not all(t.done() for t in tasks):
            await asyncio.sleep(0.5)
        end_at = time.monotonic() + window_s
        probe = Probe(target.current_pids())
        w0 = time.monotonic()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        w1 = time.monotonic()
        tally.errors += [f"{type(r).__name__}: {r}" for r in results if isinstance(r, BaseException)]
        tally.window = (w0, w1)
    finally:
        await asyncio.gather(*(s.close() for s in opened), return_exceptions=True)
    per_worker, client_cores = probe.cores()
    secs = [r[3] for r in tally.in_window(("board",))]
    return {"refresh": period, "runs": len(secs), "p50": pct(secs, 0.5), "p95": pct(secs, 0.95),
            "first_load_p95": pct(tally.first_loads, 0.95), "errors": len(tally.errors),
            "error_samples": sorted(set(tally.errors))[:3], "cores": per_worker}


# ------------------------------------------------------------------------------------------ CPU per warm rerun


def village_code(db: Path, county: str = "532504") -> str:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute("SELECT min(village_code) FROM village_status WHERE county_code = ?", [county]).fetchone()
    finally:
        con.close()
    return row[0]


def cpu_pages(db: Path) -> list[tuple[str, str]]:
    """(label, URL) of every page a leader opens, the region page at both levels."""
    return [("/", "/"), ("/region 州市", "/region?code=532500"), ("/region 县", "/region?code=532504"),
            ("/village", f"/village?code={village_code(db)}"), ("/map", "/map"), ("/dispatch", "/dispatch"),
            ("/rankings", "/rankings"), ("/teams", "/teams"), ("/briefs", "/briefs"),
            ("/commitments", "/commitments"), ("/reports", "/reports")]


async def cpu_per_rerun(target: server.Target, pages: list[tuple[str, str]], reruns: int, user: str = "leader") -> dict:
    """Server CPU per warm rerun of each page, one session, nothing else running on the server."""
    out = {}
    pid = target.pids[0]
    async with Session(target.url) as s:
        await s.open("/")
        await s.sign_in(user, server.DEMO_PASSWORDS[user])
        if s.widget(MAP_LOAD) is not None:
            await s.click(MAP_LOAD)
        for label, url in pages:
            run = await s.navigate(url)
            if s.widget(MAP_LOAD) is not None:
                await s.click(MAP_LOAD)
            errors = list(run.errors)
            for _ in range(2):  # warm: caches of this page and scope filled
                errors += (await s.rerun()).errors
            c0 = server.cpu_seconds(pid)
            walls = []
            for _ in range(reruns):
                r = await s.rerun()
                walls.append(r.seconds)
                errors += r.errors
            out[label] = ((server.cpu_seconds(pid) - c0) / reruns, statistics.median(walls), errors)
    return out


# ----------------------------------------------------------------------------------------------------- section


def _row(case, metric, value, unit="", target="", ok=None) -> dict:
    return {"section": SECTION, "case": case, "metric": metric, "value": value, "unit": unit, "target": target,
            "ok": ok}


def _ms(x: float | None) -> float | None:
    return None if x is None else x * 1e3


def _paced_rows(label: str, r: dict) -> list[dict]:
    n = r["sessions"]
    case = f"{label}: {n} sessions, rerun/{RERUN_S:g} s, drill/{DRILL_S:g} s"
    target, ok = "", None
    if n == PACED_TARGET_N and "nginx" in label and "2 workers" in label:
        target, ok = f"p95 < {PACED_P95_TARGET_S:g} s", r["p95"] is not None and r["p95"] < PACED_P95_TARGET_S
    pages = "; ".join(f"{p} {_fmt(a)}/{_fmt(b)} s ({k})" for p, (k, a, b) in r["pages"].items())
    rows = [
        _row(case, "runs/s (all runs incl. fragments) / full runs in window", f"{r['runs_per_s']:.2f} / {r['full_runs']}"),
        _row(case, "p50 / p95 of reruns and drill-downs", f"{_fmt(r['p50'])} / {_fmt(r['p95'])}", "s", target, ok),
        _row(case, "p50 / p95 per page (runs)", pages or "—", "s"),
        _row(case, "first load (open + sign-in) p50 / p95; all signed in after",
             f"{_fmt(r['first_load_p50'])} / {_fmt(r['first_load_p95'])}; {r['up_seconds']:.0f}", "s"),
        _row(case, "errors / disconnects (sessions up)", f"{r['errors']} / {r['disconnects']} ({r['up']}/{n})", "",
             "0 / 0", r["errors"] == 0 and r["disconnects"] == 0),
        _row(case, "server CPU per worker (cores) · RSS per worker", " · ".join(
            [" + ".join(f"{c:.2f}" for c in r["cores"]), " + ".join(f"{m:.0f} MB" for m in r["rss"])]) +
             f" (client {r['client_cores']:.2f} cores)"),
    ]
    if r["error_samples"]:
        rows.append(_row(case, "error samples", " | ".join(r["error_samples"])[:200]))
    return rows


def _fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}"


def run(quick: bool) -> list[dict]:
    from bench.queries import demo_warehouse

    rows: list[dict] = []
    db = demo_warehouse()
    levels = QUICK_LEVELS if quick else LEVELS
    if os.environ.get(LEVELS_ENV, "").strip():  # e.g. "50": one level, for a run that must fit a short quiet spell
        levels = tuple(int(n) for n in os.environ[LEVELS_ENV].replace(",", " ").split())
    window = 20.0 if quick else 40.0
    with tempfile.TemporaryDirectory(prefix="hometown-load-") as scratch_name:
        scratch = Path(scratch_name)
        users = server.write_demo_users(scratch / "users.toml")
        pages = cpu_pages(db)
        with server.one_process(db, users=users, scratch=scratch) as one:
            _log(f"load: CPU per warm rerun of {len(pages)} pages, one session (1 process) …")
            cpu = asyncio.run(cpu_per_rerun(one, pages, 4 if quick else 10))
            for label, (sec, wall, errors) in cpu.items():
                limit = ROOT_CPU_TARGET_MS if label == "/" else PAGE_CPU_TARGET_MS
                rows.append(_row("server CPU per warm rerun (1 session at a time, leader)", f"{label} (wall median "
                                 f"{wall * 1e3:.0f} ms{', ERRORS' if errors else ''})", sec * 1e3, "ms",
                                 f"≤ {limit:g} ms", sec * 1e3 <= limit))
            one_rows, sat_one = _sequence(one, levels, window, quick)
            rows += one_rows
        why_not = server.serving_available()
        if why_not:
            rows.append(_row("2 workers via nginx", "not measured", why_not))
            return rows
        try:  # the one-process figures above stay in the table whatever happens here
            with server.cluster(db, 2, users=users, scratch=scratch) as two:
                rows += _sequence(two, levels, window, quick, sat_one)[0]
        except Exception as exc:
            import traceback

            traceback.print_exc()
            rows.append(_row("2 workers via nginx", "error", f"{type(exc).__name__}: {exc}"[:160], "", "", False))
    return rows


def _sequence(target: server.Target, levels: tuple[int, ...], window: float, quick: bool,
              base: dict | None = None) -> tuple[list[dict], dict]:
    """The same measurements against one target (1 process, or the workers behind nginx; rows labelled by its
    label): saturation (4 sessions per worker), the paced session counts, the big screens. Returns the rows and the
    saturation result (the base the next target's throughput is compared with)."""
    label = target.label
    sat = asyncio.run(saturation(target, 4 * len(target.pids), 10.0 if quick else 30.0))
    rows = _saturation_rows(label, sat, base)
    for n in levels:
        _log(f"load: {n} paced sessions against {label} …")
        rows += _paced_rows(label, asyncio.run(paced(
            target, [MIX[i % len(MIX)] for i in range(n)], window, RERUN_S, DRILL_S, RERUN_S, random.Random(n))))
    screens = 10 if quick else BIG_SCREENS
    _log(f"load: {screens} big screens against {label} …")
    rows += _big_rows(label, asyncio.run(big_screens(target, screens, 25.0 if quick else 90.0, 10 if quick else None)),
                      quick)
    return rows, sat


def _saturation_rows(label: str, r: dict, base: dict | None) -> list[dict]:
    case = f"saturation: overview reruns back to back, {label}"
    rows = [_row(case, "runs/s (p50 / p95 s)", f"{r['runs_per_s']:.2f} ({_fmt(r['p50'])} / {_fmt(r['p95'])})"),
            _row(case, "server CPU per worker (cores), client", " + ".join(f"{c:.2f}" for c in r["cores"]) +
                 f", client {r['client_cores']:.2f}")]
    if base is not None:
        ratio = r["runs_per_s"] / base["runs_per_s"] if base["runs_per_s"] else None
        rows.append(_row(case, "throughput ÷ 1 process", ratio, "×", f"≥ {SATURATION_TARGET:g}×",
                         ratio is not None and ratio >= SATURATION_TARGET))
    return rows


def _big_rows(label: str, r: dict, quick: bool) -> list[dict]:
    n = BIG_SCREENS if not quick else 10
    case = f"big screens: {n} × /?screen=big, refresh {r['refresh']:g} s, {label}"
    target, ok = "", None
    if not quick and "2 workers" in label:
        target, ok = f"p95 < {BIG_P95_TARGET_S:g} s", r["p95"] is not None and r["p95"] < BIG_P95_TARGET_S
    return [_row(case, "timed refresh p50 / p95 (runs)", f"{_fmt(r['p50'])} / {_fmt(r['p95'])} ({r['runs']})", "s",
                 target, ok),
            _row(case, "first load p95 · errors · server cores", f"{_fmt(r['first_load_p95'])} s · {r['errors']} · "
                 + " + ".join(f"{c:.2f}" for c in r["cores"]))]


if __name__ == "__main__":
    import json

    for r in run("--quick" in sys.argv):
        print(json.dumps(r, ensure_ascii=False))
