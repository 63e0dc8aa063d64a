"""Benchmark section for 驻村力量 (issue 14): the ingest of a year of monthly workbooks for a national-scale roster
(200,000 people; ``--quick`` 20,000) through the real pipeline, and each /teams query's median latency on the demo's
teams warehouse and on that national-scale one (targets as for the overview: < 50 ms / < 150 ms).

``run(quick) -> list[dict]`` returns bench.table.Row fields. The national set: the people are spread over the 16
prefectures' NBS villages (teams of 3–5, a first secretary each), one workbook per prefecture per month for 12
months, written by demo.xlsxfast (typed cells, ~10× faster than xlsxwriter) and loaded with
``pipelines.ingest.ingest`` as an office's uploads would be. Latencies are measured through warehouse.db (the page's path) after a warm-up, without the
Streamlit cache.
"""

from __future__ import annotations

import json
import random
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from bench.timing import measure

SECTION = "teams"
DEMO_TARGET_MS, NATIONAL_TARGET_MS = 50.0, 150.0
NATIONAL_PEOPLE, QUICK_PEOPLE = 200_000, 20_000
MONTHS = [date(2023, m, 1) for m in range(1, 13)]


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


GENERATOR_VERSION = 3  # bump when the files change, so a cached set is not reused


def _plan(people: int, seed: int) -> dict[str, list[list]]:
    """Prefecture code → its roster rows: ``people`` people in teams of 3–5 (a first secretary each) over synthetic
    villages of the real counties (Yunnan's ~14,000 NBS villages hold too few teams for a national-scale roster).
    A village's 12-digit code starts with its county's code and uses township numbers 901–999, which no NBS code
    of these counties has, so the pipeline takes the code as given and never needs the roster."""
    from demo import teams as demo_teams
    from geo import reference

    rng = random.Random(seed)
    counties = reference.counties().select("code", "prefecture_code").sort("code").rows()
    pref_names = dict(reference.prefectures().select("code", "common_name").iter_rows())
    per_county = -(-people // len(counties))
    by_pref: dict[str, list[list]] = {}
    seq = 0
    for county, pref in counties:  # a county's people are consecutive: ID numbers (region, birth, seq) stay unique
        posted = 0
        village = 0
        while posted < per_county and seq < people:
            village += 1
            township, number = 901 + village // 999, 1 + village % 999
            code = f"{county}{township:03d}{number:03d}"
            for j in range(rng.randint(3, 5)):
                if posted >= per_county or seq >= people:
                    break
                seq += 1
                posted += 1
                birth = date(1970 + seq % 25, 1 + seq % 12, 1 + seq % 28)
                by_pref.setdefault(pref, []).append([
                    pref_names[pref], reference.county_name(county), f"第{township - 900}片区", f"合成{number}村", code,
                    "重点帮扶村", "", 300, f"队员{seq}", demo_teams.id_number(county, birth, seq), "13800000000",
                    "中共党员", date(2005, 7, 1), date(2003, 8, 1), "县", "县农业农村局", "一级科员",
                    "第一书记兼工作队长" if j == 0 else "工作队员", date(2022, 6, 1), "", "在岗", ""])
    return by_pref


def _write_prefecture(task: tuple) -> list[str]:
    """One prefecture's 12 monthly workbooks (a worker process's share)."""
    from demo import teams as demo_teams, xlsxfast
    from geo import reference

    folder, pref, rows, seed = task
    name = reference.prefectures().filter(reference.prefectures()["code"] == pref)["common_name"][0]
    rng = random.Random(f"{seed}-{pref}")
    paths = []
    for m in MONTHS:
        attendance = [[r[9], r[8], f"{m:%Y-%m}", rng.randint(18, 24), rng.randint(0, 2), 0, 0, rng.randint(5, 30),
                       rng.randint(0, 3)] for r in rows]
        path = Path(folder) / f"{name}_驻村力量_{m:%Y%m}.xlsx"
        title = [f"{name}驻村力量月报"]  # the same cells as demo.teams._write (xlsxwriter), written ~10× faster
        xlsxfast.write(path, [("驻村人员", [title, demo_teams.ROSTER_HEADER], rows),
                              ("驻村考勤", [title, demo_teams.ATTENDANCE_HEADER], attendance)])
        paths.append(str(path))
    return paths


def write_national(folder: Path, people: int, seed: int = 14, workers: int = 2) -> list[Path]:
    """One workbook per prefecture per month for 12 months, ``people`` people; written by ``workers`` processes."""
    folder.mkdir(parents=True, exist_ok=True)
    tasks = sorted(((str(folder), pref, rows, seed) for pref, rows in _plan(people, seed).items()),
                   key=lambda t: -len(t[2]))  # biggest first, so the workers finish together
    if workers > 1:
        import multiprocessing

        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            done = pool.map(_write_prefecture, tasks, chunksize=1)
    else:
        done = [_write_prefecture(t) for t in tasks]
    return sorted(Path(p) for paths in done for p in paths)


def national_set(people: int) -> tuple[list[Path], float | None]:
    """The national set's files, cached under the temp dir (a ``manifest.json`` written last marks a complete set):
    (paths, seconds it took to write them, None when reused)."""
    folder = Path(tempfile.gettempdir()) / "hometown-bench" / f"teams-v{GENERATOR_VERSION}-{people}"
    manifest = folder / "manifest.json"
    if manifest.exists():
        doc = json.loads(manifest.read_text(encoding="utf-8"))
        paths = [folder / n for n in doc["files"]]
        if all(p.exists() for p in paths):
            return paths, None
    shutil.rmtree(folder, ignore_errors=True)
    t0 = time.perf_counter()
    paths = write_national(folder, people)
    seconds = time.perf_counter() - t0
    manifest.write_text(json.dumps({"people": people, "files": [p.name for p in paths], "write_s": seconds},
                                   ensure_ascii=False), encoding="utf-8")
    return paths, seconds


def _queries(db_path: str) -> dict:
    from hometown.teams import queries as q
    from warehouse import db
    from warehouse.scope import ALL, Scope

    county = db.query("SELECT code FROM team_summary WHERE level = 'county' ORDER BY in_post DESC LIMIT 1",
                      path=db_path)["code"][0]
    key = db.query("SELECT person_key FROM team_members LIMIT 1", path=db_path)["person_key"][0]
    return {
        "kpis (province)": lambda: q.kpis(ALL, db_path),
        "county table": lambda: q.county_table(ALL, db_path=db_path),
        "villages lacking a team": lambda: q.villages_lacking(ALL, db_path=db_path),
        "people short of days": lambda: q.short_people(ALL, db_path=db_path),
        "terms ending in 90 days": lambda: q.terms_ending(ALL, db_path=db_path),
        "a county's roster": lambda: q.members(Scope(county_code=county), db_path=db_path),
        "a person's card (24 months)": lambda: q.person(key, ALL, db_path=db_path),
    }


def _latency_rows(case: str, db_path: str, target: float, quick: bool) -> list[dict]:
    rows = []
    for name, fn in _queries(db_path).items():
        fn()  # warm-up
        t = measure(fn, repeats=5 if quick else 15, budget=10 if quick else 30)
        ms = t.median * 1000
        rows.append(dict(section=SECTION, case=case, metric=f"query: {name} (median)", value=round(ms, 1), unit="ms",
                         target=f"< {target:g} ms", ok=ms < target))
        _log(f"teams: {case}: {name} {ms:.1f} ms")  # a national run takes long: each figure as it comes
    return rows


def run(quick: bool) -> list[dict]:
    from demo import teams as demo_teams
    from pipelines.ingest import ingest

    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="hometown-bench-teams-") as tmp:
        tmp = Path(tmp)
        _log("teams: demo workbooks")
        demo_dir = tmp / "demo"
        files = demo_teams.write_teams(demo_dir, 20210626)
        t0 = time.perf_counter()
        ingest([demo_dir], tmp / "demo.duckdb")
        _log(f"teams: demo ingest {time.perf_counter() - t0:.1f} s")
        rows.append(dict(section=SECTION, case="demo", metric=f"ingest {len(files)} workbooks",
                         value=round(time.perf_counter() - t0, 1), unit="s"))
        rows += _latency_rows("demo", str(tmp / "demo.duckdb"), DEMO_TARGET_MS, quick)

        people = QUICK_PEOPLE if quick else NATIONAL_PEOPLE
        case = f"national ({people:,} people)"
        _log(f"teams: a year of workbooks for {people:,} people")
        paths, write_s = national_set(people)
        _log(f"teams: ingesting {len(paths)} workbooks")
        t0 = time.perf_counter()
        results = ingest(paths, tmp / "national.duckdb")
        ingest_s = time.perf_counter() - t0
        refused = sum(r.refused for r in results)
        _log(f"teams: {case}: ingest {ingest_s:.1f} s, {refused} refused")
        rows += [dict(section=SECTION, case=case, metric=f"write {len(paths)} workbooks (12 months, 2 processes)",
                      value=round(write_s, 1) if write_s is not None else "reused (cached)",
                      unit="s" if write_s is not None else ""),
                 dict(section=SECTION, case=case, metric="ingest a year of workbooks", value=round(ingest_s, 1),
                      unit="s", target="0 refused", ok=refused == 0),
                 dict(section=SECTION, case=case, metric="person-months loaded / s",
                      value=round(people * 12 / ingest_s), unit="rows/s")]
        rows += _latency_rows(case, str(tmp / "national.duckdb"), NATIONAL_TARGET_MS, quick)
        from warehouse import db

        db.close_all()
    return rows
