"""Benchmark section for 驻村力量 (issue 14): the ingest of a year of monthly workbooks for a national-scale roster
(200,000 people; ``--quick`` 20,000) through the real pipeline, and each /teams query's median latency on the demo's
teams warehouse and on that national-scale one (targets as for the overview: < 50 ms / < 150 ms).

``run(quick) -> list[dict]`` returns bench.table.Row fields. The national set: the people are spread over the 16
prefectures' NBS villages (teams of 3–5, a first secretary each), one workbook per prefecture per month for 12
months, written with xlsxwriter (constant memory) and loaded with ``pipelines.ingest.ingest`` as an office's
uploads would be. Latencies are measured through warehouse.db (the page's path) after a warm-up, without the
Streamlit cache.
"""

from __future__ import annotations

import random
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


def write_national(folder: Path, people: int, seed: int = 14) -> list[Path]:
    """One workbook per prefecture per month, ``people`` people over the province's villages."""
    from demo import teams as demo_teams
    from geo import reference

    rng = random.Random(seed)
    roster = reference.roster()
    pref_names = dict(reference.prefectures().select("code", "common_name").iter_rows())
    villages = roster.sample(n=min(roster.height, people // 4 + 1), seed=seed).sort("village_code")
    by_pref: dict[str, list[list]] = {}
    seq = 0
    for v in villages.iter_rows(named=True):
        size = rng.randint(3, 5)
        for j in range(size):
            if seq >= people:
                break
            seq += 1
            birth = date(1970 + seq % 25, 1 + seq % 12, 1 + seq % 28)
            idn = demo_teams.id_number(v["county_code"], birth, seq)
            by_pref.setdefault(v["prefecture_code"], []).append([
                pref_names[v["prefecture_code"]], reference.county_name(v["county_code"]), v["township_name"],
                v["village_name"], v["village_code"], "重点帮扶村", "", 300, f"队员{seq}", idn, "13800000000",
                "中共党员", date(2005, 7, 1), date(2003, 8, 1), "县", "县农业农村局", "一级科员",
                "第一书记兼工作队长" if j == 0 else "工作队员", date(2022, 6, 1), "", "在岗", ""])
    paths = []
    for pref, rows in by_pref.items():
        for m in MONTHS:
            attendance = [[r[9], r[8], f"{m:%Y-%m}", rng.randint(18, 24), rng.randint(0, 2), 0, 0, rng.randint(5, 30),
                           rng.randint(0, 3)] for r in rows]
            path = folder / f"{pref_names[pref]}_驻村力量_{m:%Y%m}.xlsx"
            demo_teams._write(path, f"{pref_names[pref]}驻村力量月报", [
                ("驻村人员", demo_teams.ROSTER_HEADER, rows), ("驻村考勤", demo_teams.ATTENDANCE_HEADER, attendance)])
            paths.append(path)
    return paths


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
        rows.append(dict(section=SECTION, case="demo", metric=f"ingest {len(files)} workbooks",
                         value=round(time.perf_counter() - t0, 1), unit="s"))
        rows += _latency_rows("demo", str(tmp / "demo.duckdb"), DEMO_TARGET_MS, quick)

        people = QUICK_PEOPLE if quick else NATIONAL_PEOPLE
        case = f"national ({people:,} people)"
        _log(f"teams: writing a year of workbooks for {people:,} people")
        nat = tmp / "national"
        nat.mkdir()
        t0 = time.perf_counter()
        paths = write_national(nat, people)
        write_s = time.perf_counter() - t0
        _log(f"teams: ingesting {len(paths)} workbooks")
        t0 = time.perf_counter()
        results = ingest([nat], tmp / "national.duckdb")
        ingest_s = time.perf_counter() - t0
        refused = sum(r.refused for r in results)
        rows += [dict(section=SECTION, case=case, metric=f"write {len(paths)} workbooks (12 months)",
                      value=round(write_s, 1), unit="s"),
                 dict(section=SECTION, case=case, metric="ingest a year of workbooks", value=round(ingest_s, 1),
                      unit="s", target="0 refused", ok=refused == 0),
                 dict(section=SECTION, case=case, metric="person-months loaded / s",
                      value=round(people * 12 / ingest_s), unit="rows/s")]
        rows += _latency_rows(case, str(tmp / "national.duckdb"), NATIONAL_TARGET_MS, quick)
        from warehouse import db

        db.close_all()
    return rows
