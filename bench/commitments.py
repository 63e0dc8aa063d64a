"""Benchmark section for 任期承诺 (issue 15): the demo's workbooks written and ingested, and the /commitments page's
queries (hometown.commitments, through warehouse.db as the page calls them, after one warm-up, without Streamlit's
cache) on the demo warehouse and at national scale.

National scale: 500,000 villages × 20 items = 10 M items and one evaluation each, built straight into a warehouse
with SQL (``range``), one report per prefecture, then the part's refresh (the materialised status and summary, what
every warehouse write ends with) — loading 10 M items through Excel would measure the pipeline, not the queries.
``--quick``: 50,000 villages (1 M items). Targets: < 50 ms per query on the demo, < 150 ms at national scale.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

SECTION = "commitments"
DEMO_TARGET_MS, NATIONAL_TARGET_MS = 50.0, 150.0
NATIONAL_VILLAGES, QUICK_VILLAGES, ITEMS_PER_VILLAGE = 500_000, 50_000, 20


def _log(msg: str) -> None:
    import sys

    print(msg, file=sys.stderr, flush=True)


def _row(case: str, metric: str, value, unit: str = "", target: str = "", ok=None) -> dict:
    return {"section": SECTION, "case": case, "metric": metric, "value": value, "unit": unit, "target": target,
            "ok": ok}


def build_demo(root: Path) -> tuple[Path, float, float]:
    """(warehouse, seconds to write the workbooks, seconds to ingest them into a fresh warehouse)."""
    from demo.commitments import write_commitments
    from pipelines.ingest import ingest

    t0 = time.perf_counter()
    write_commitments(root / "files")
    written = time.perf_counter() - t0
    t0 = time.perf_counter()
    results = ingest([root / "files"], root / "w.duckdb")
    loaded = time.perf_counter() - t0
    assert not [r for r in results if r.refused]
    return root / "w.duckdb", written, loaded


def build_national(path: Path, villages: int) -> float:
    """A warehouse of ``villages`` × 20 items built with SQL; returns the seconds of the part's refresh."""
    import duckdb

    from warehouse.parts.commitments import LISTS, refresh_caches
    from warehouse.store import ensure_schema

    con = duckdb.connect(str(path))
    ensure_schema(con)
    lists = "[" + ", ".join(f"'{x}'" for x in LISTS) + "]"
    con.execute("""
        CREATE TEMP TABLE vill AS
        WITH c AS (SELECT code AS county_code, prefecture_code, row_number() OVER (ORDER BY code) - 1 AS ci,
                          count(*) OVER () AS nc FROM ref_county)
        SELECT v.i, c.county_code, c.prefecture_code, 'T' || (v.i % 17) AS township, 'V' || v.i AS village,
               c.county_code || lpad(CAST(v.i AS VARCHAR), 6, '0') AS village_key
        FROM range(?) v(i) JOIN c ON c.ci = v.i % c.nc""", [villages]).fetchall()
    con.execute("""
        INSERT INTO reports (report_id, file_name, sha256, prefecture_code, as_of, loaded_at, status, village_rows, kind)
        SELECT nextval('report_ids'), code || '_任期承诺.xlsx', md5(code), code, DATE '2023-12-31', now(), 'accepted',
               0, 'commitments' FROM ref_prefecture""").fetchall()
    con.execute(f"""
        INSERT INTO commitment_item_rows
        SELECT r.report_id, k.k + 3, v.prefecture_code, v.county_code, v.township, v.village, v.village_key,
               v.village_key, CAST(k.k + 1 AS VARCHAR), {lists}[k.k % 5 + 1], '承诺事项' || k.k,
               CASE WHEN k.k % 4 = 0 THEN '指标' || (k.k % 3) END, '个', CASE WHEN k.k % 4 = 0 THEN 10.0 END,
               CASE WHEN k.k % 4 = 0 THEN 30.0 END, NULL,
               DATE '2022-06-30' + INTERVAL (((v.i * 7 + k.k * 53) % 1460)) DAY, '责任人' || (k.k % 9),
               DATE '2021-08-05', DATE '2021-08-12', DATE '2021-08-15'
        FROM vill v CROSS JOIN range({ITEMS_PER_VILLAGE}) k(k)
        JOIN reports r ON r.prefecture_code = v.prefecture_code AND r.kind = 'commitments'""").fetchall()
    con.execute("""
        INSERT INTO commitment_progress_rows
        SELECT report_id, excel_row, prefecture_code, village_code, village_key, item_no,
               least(due_date, DATE '2023-12-01'), CASE WHEN h % 10 < 4 THEN '期末验收' ELSE '双月自评' END,
               CASE WHEN target IS NOT NULL THEN 10 + h % 20 END,
               CASE WHEN h % 10 < 4 THEN '已销号' WHEN h % 50 = 7 THEN '取消' ELSE '推进中' END,
               CASE WHEN h % 10 < 4 THEN '通过' END, NULL
        FROM (SELECT *, hash(village_key, item_no) % 1000 AS h FROM commitment_item_rows)""").fetchall()
    con.execute("DROP TABLE vill").fetchall()
    t0 = time.perf_counter()
    refresh_caches(con)
    seconds = time.perf_counter() - t0
    con.execute("CHECKPOINT").fetchall()
    con.close()
    return seconds


def _queries(path: Path) -> list[tuple[str, callable]]:
    import duckdb

    from hometown import commitments as cm
    from warehouse.scope import Scope

    con = duckdb.connect(str(path), read_only=True)
    county, township, village = con.execute(
        "SELECT county_code, county_code || '/' || township, village_key FROM commitment_summary "
        "WHERE level = 'village' AND list_name IS NULL ORDER BY items DESC, code LIMIT 1").fetchone()
    prefecture = county[:4] + "00"
    con.close()
    s = Scope()
    return [("KPIs (province)", lambda: cm.summary(s, None)),
            ("prefectures by 承诺兑现率", lambda: cm.children(s, None)),
            ("a county's townships", lambda: cm.children(s, county)),
            ("a township's villages", lambda: cm.children(s, township)),
            ("a village board (items)", lambda: cm.board(s, village)),
            ("a village by list", lambda: cm.by_list(s, village)),
            ("挂图作战 (a prefecture)", lambda: cm.timeline(s, prefecture)),
            ("销号 ledger (a county)", lambda: cm.ledger(s, county))]


def _latencies(path: Path, case: str, target: float, repeats: int) -> list[dict]:
    from warehouse import db

    saved = os.environ.get(db.ENV_VAR)
    os.environ[db.ENV_VAR] = str(path)
    rows = []
    try:
        for name, fn in _queries(path):
            fn()  # warm-up
            runs = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                fn()
                runs.append(1000 * (time.perf_counter() - t0))
            median = statistics.median(runs)
            rows.append(_row(case, f"{name}: median of {repeats}", round(median, 1), "ms", f"< {target:g} ms",
                             median < target))
    finally:
        db.close_all()
        if saved is None:
            os.environ.pop(db.ENV_VAR, None)
        else:
            os.environ[db.ENV_VAR] = saved
    return rows


def run(quick: bool) -> list[dict]:
    repeats = 5 if quick else 15
    with tempfile.TemporaryDirectory(prefix="hometown-bench-commitments-") as tmp:
        root = Path(tmp)
        _log("commitments: demo workbooks → ingest")
        demo, written, loaded = build_demo(root / "demo")
        rows = [_row("demo: 16 workbooks, every demo village (15–30 items)", "write the workbooks", round(written, 1), "s"),
                _row("demo: 16 workbooks, every demo village (15–30 items)", "ingest into a fresh warehouse",
                     round(loaded, 1), "s")]
        rows += _latencies(demo, "demo warehouse", DEMO_TARGET_MS, repeats)
        villages = QUICK_VILLAGES if quick else NATIONAL_VILLAGES
        _log(f"commitments: national scale, {villages:,} villages × {ITEMS_PER_VILLAGE} items")
        national = root / "national.duckdb"
        t0 = time.perf_counter()
        refresh = build_national(national, villages)
        case = f"national scale ({villages:,} villages × {ITEMS_PER_VILLAGE} = {villages * ITEMS_PER_VILLAGE:,} items)"
        rows += [_row(case, "build with SQL (incl. refresh)", round(time.perf_counter() - t0, 1), "s"),
                 _row(case, "materialise status and summary (the part's refresh)", round(refresh, 1), "s")]
        rows += _latencies(national, case, NATIONAL_TARGET_MS, repeats)
    return rows


if __name__ == "__main__":
    import json
    import sys

    for r in run("--quick" in sys.argv):
        print(json.dumps(r, ensure_ascii=False))
