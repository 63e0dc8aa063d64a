"""Benchmark section for the partitioned warehouse (issue 18): a load's cost flat in the warehouse's size.

``run(quick) -> list[dict]`` (bench.table.Row fields). What it measures:

- a 50-row upload (a correction of 红河州's 2022-03-31 report) into national-scale warehouses of 1× and 10× the size,
  as one file (build-and-swap of the whole file) and as a partitioned folder (warehouse.partitions: only 红河州's
  partition and the manifest are rewritten). 1× is the synthetic national set (bench.synthetic: 500,000 village rows,
  16 prefectures × 2 reporting dates; ``--quick`` 50,000) loaded through the pipeline; 10× adds 9 more years of
  history to every prefecture by SQL (each report copied under a date k years earlier: 10× the history rows, the same
  villages in force), as years of national reporting would. Target: the folder's 10× / 1× ≤ 1.3;
- every public view of the folder has the columns of the one-file warehouse;
- the overview's queries (bench.queries) on the partitioned demo warehouse (< 50 ms) and on the partitioned
  national-scale one (< 150 ms; the 10× history too, for what years of history cost a reader);
- what a reader pays per manifest version (store.open_partitioned: attach, copy the small tables, views), and its
  memory: each in a fresh process (``--probe FOLDER``), the resident size after opening and after the overview's
  queries, for the demo, 1× and 10× folders.

Each upload runs into a fresh copy of the warehouse (copied untimed), median of a few runs.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench import synthetic
from bench.queries import DEMO_TARGET_MS, NATIONAL_TARGET_MS, _code_digest, _latency_rows, cache_root

SECTION = "partitions"
RATIO_TARGET = 1.3
HISTORY_FACTOR = 10
QUICK_ROWS, FULL_ROWS = 50_000, 500_000


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _row(case: str, metric: str, value, unit: str = "", target: str = "", ok: bool | None = None) -> dict:
    return {"section": SECTION, "case": case, "metric": metric, "value": value, "unit": unit, "target": target,
            "ok": ok}


def _replicate_history(con, factor: int) -> None:
    """Every progress report of the warehouse (or partition) copied ``factor - 1`` times, k years earlier, with its
    rows: ``factor`` × the history, the same reports in force. Report ids stay unique across partitions (offset)."""
    cols = [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'reports' ORDER BY ordinal_position"
    ).fetchall()]
    moved = {"report_id": "report_id + {k} * 10000000", "file_name": "file_name || '·{k}'",
             "sha256": "sha256 || '{k}'", "as_of": "CAST(as_of - INTERVAL ({k}) YEAR AS DATE)"}
    for k in range(1, factor):
        select = ", ".join(moved.get(c, c).format(k=k) for c in cols)
        con.execute(f"INSERT INTO reports SELECT {select} FROM reports WHERE report_id < 10000000 "
                    "AND kind = 'progress' AND status = 'accepted'").fetchall()
        for table in ("village_rows", "county_rows", "need_rows", "project_rows"):
            tcols = [r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
                [table]).fetchall()]
            select = ", ".join(f"report_id + {k} * 10000000" if c == "report_id" else c for c in tcols)
            con.execute(f"INSERT INTO {table} SELECT {select} FROM {table} WHERE report_id IN "
                        "(SELECT report_id FROM reports WHERE report_id < 10000000 AND kind = 'progress' "
                        "AND status = 'accepted')").fetchall()


def _grow(target: Path, factor: int) -> None:
    """Add (factor - 1) × the history to a warehouse file or folder, through the ordinary writers (refreshes
    included)."""
    from warehouse import partitions, settings, store

    if settings.is_folder(target):
        with store.loading(target) as load:
            write = load._write
            for key in list(write.manifest["partitions"]):
                if key != partitions.SHARED:
                    con = load.con(key)
                    _replicate_history(con, factor)
            write.next_report_id = factor * 10_000_000
    else:
        with store.writing(target) as con:
            _replicate_history(con, factor)


def _warehouses(rows: int) -> dict[str, Path]:
    """(one file | folder) × (1× | 10×) national-scale warehouses, cached by the synthetic set's key."""
    from pipelines.ingest import ingest

    s = synthetic.ensure_set(synthetic.Params(rows=rows))
    root = cache_root() / f"partitions-{s.params.key()}"
    out = {"file 1×": root / "x1.duckdb", "folder 1×": root / "x1",
           f"file {HISTORY_FACTOR}×": root / f"x{HISTORY_FACTOR}.duckdb",
           f"folder {HISTORY_FACTOR}×": root / f"x{HISTORY_FACTOR}"}
    if all(p.exists() for p in out.values()):
        return out
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    for name in ("file 1×", "folder 1×"):
        _log(f"partitions bench: loading the synthetic national set ({s.rows:,} rows) into the {name} warehouse …")
        refused = [r.file_name for r in ingest(s.files, out[name]) if r.refused]
        if refused:
            raise RuntimeError(f"synthetic reports refused: {refused[:3]}")
    for kind in ("file", "folder"):
        src, dst = out[f"{kind} 1×"], out[f"{kind} {HISTORY_FACTOR}×"]
        _log(f"partitions bench: {HISTORY_FACTOR}× the history ({kind}) …")
        (shutil.copytree if kind == "folder" else shutil.copyfile)(src, dst)
        _grow(dst, HISTORY_FACTOR)
    return out


def _size_mb(p: Path) -> float:
    if p.is_dir():
        from warehouse import partitions

        doc = partitions.read_manifest(p)
        return sum((p / f).stat().st_size for f in doc["partitions"].values()) / 1e6
    return p.stat().st_size / 1e6


def _upload_ms(warehouse: Path, tiny: Path, scratch: Path, repeats: int) -> float:
    from pipelines.ingest import ingest

    times = []
    for i in range(repeats):
        target = scratch / f"run{i}{warehouse.suffix}"
        if warehouse.is_dir():
            shutil.copytree(warehouse, target)
        else:
            shutil.copyfile(warehouse, target)
        t0 = time.perf_counter()
        (result,) = ingest([tiny], target)
        times.append((time.perf_counter() - t0) * 1000)
        if result.status not in ("accepted", "superseded"):
            raise RuntimeError(f"upload refused: {result.errors[:2]}")
        shutil.rmtree(target, ignore_errors=True) if target.is_dir() else target.unlink()
    return sorted(times)[len(times) // 2]


def _columns(path: Path) -> dict[str, list[str]]:
    from warehouse import db

    views = db.query("SELECT view_name FROM duckdb_views() WHERE NOT internal AND database_name = current_database() "
                     "ORDER BY 1", path=path)["view_name"].to_list()
    return {v: db.query(f"SELECT * FROM {v} LIMIT 0", path=path).columns for v in views}


def _has_county(folder: Path, county_code: str) -> bool:
    from warehouse import db

    try:
        return bool(db.scalar("SELECT count(*) FROM village_status WHERE county_code = ?", [county_code], path=folder))
    finally:
        db.close_all()


def _demo_folder() -> Path:
    """The demo reports loaded into a partitioned folder (cached by the pipeline's code digest)."""
    from demo.generate import write_demo
    from pipelines.ingest import ingest

    work = cache_root() / f"partitions-demo-{_code_digest()}"
    folder = work / "partitioned"
    if not folder.exists():
        _log("partitions bench: writing the demo reports and loading them into a partitioned folder …")
        shutil.rmtree(work, ignore_errors=True)
        write_demo(work / "reports")
        ingest([work / "reports"], work / "building")
        (work / "building").rename(folder)
    return folder


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def probe(folder: Path) -> dict:
    """In this (fresh) process: the time to open the folder's current version (median of 3 opens, each closed), then
    the resident memory once opened through warehouse.db and after every overview query ran once."""
    from warehouse import db, partitions, store

    base = _rss_mb()
    manifest = partitions.read_manifest(folder)
    opens = []
    for _ in range(3):
        t0 = time.perf_counter()
        store.open_partitioned(folder, manifest).close()
        opens.append((time.perf_counter() - t0) * 1000)
    os.environ[db.ENV_VAR] = str(folder)
    db.scalar("SELECT 1")
    opened = _rss_mb()
    from bench.queries import _queries

    for _, call in _queries():
        try:
            call()
        except IndexError:  # the drill-down to 弥勒市's first village, in a small set without 红河州
            pass
    return {"open_ms": statistics.median(opens), "rss_base_mb": base, "rss_open_mb": opened,
            "rss_queries_mb": _rss_mb(), "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _probe_rows(folder: Path, case: str) -> list[dict]:
    out = subprocess.run([sys.executable, "-m", "bench.partitions", "--probe", str(folder)], capture_output=True,
                         text=True, cwd=Path(__file__).resolve().parent.parent, timeout=600)
    if out.returncode:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "probe failed")
    got = json.loads(out.stdout.strip().splitlines()[-1])
    return [_row(case, "open a version (attach, copy the small tables, views; median of 3)", round(got["open_ms"]),
                 "ms"),
            _row(case, "reader's resident memory: opened / after the overview's queries (fresh process, above "
                 f"its {got['rss_base_mb']:.0f} MB of imports)",
                 f"{got['rss_open_mb'] - got['rss_base_mb']:.0f} / {got['rss_queries_mb'] - got['rss_base_mb']:.0f}",
                 "MB")]


def run(quick: bool) -> list[dict]:
    import tempfile

    rows_n = QUICK_ROWS if quick else FULL_ROWS
    repeats = 3
    found = _warehouses(rows_n)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="hometown-bench-partitions-") as tmp:
        scratch = Path(tmp)
        tiny = synthetic.single_file(scratch / "红河州_20220331.xlsx", rows=50)
        ms = {}
        for name, path in found.items():
            _log(f"partitions bench: 50-row upload into the {name} warehouse …")
            ms[name] = _upload_ms(path, tiny, scratch, repeats)
            rows.append(_row(f"50-row upload into the national-scale warehouse, {name} ({_size_mb(path):.0f} MB)",
                             f"milliseconds (median of {repeats})", round(ms[name], 1), "ms"))
        for kind in ("file", "folder"):
            ratio = ms[f"{kind} {HISTORY_FACTOR}×"] / ms[f"{kind} 1×"]
            target, ok = (f"≤ {RATIO_TARGET:g}×", ratio <= RATIO_TARGET) if kind == "folder" else ("", None)
            rows.append(_row(f"upload cost {HISTORY_FACTOR}× / 1× ({'partitioned folder' if kind == 'folder' else 'one file'})",
                             "ratio", round(ratio, 2), "×", target, ok))
    one, folder = _columns(found["file 1×"]), _columns(found["folder 1×"])
    same = all(folder.get(v) == c for v, c in one.items())  # the folder also shows its base tables as views
    rows.append(_row("public views of the partitioned folder vs one file", "views with the same columns",
                     f"{sum(folder.get(v) == c for v, c in one.items())} / {len(one)}", "", "all", same))
    national = f"national scale (synthetic {rows_n:,} rows, partitioned)"
    cases = [(_demo_folder, "overview, demo warehouse (partitioned)", DEMO_TARGET_MS),
             (lambda: found["folder 1×"], f"overview, {national}", NATIONAL_TARGET_MS),
             (lambda: found[f"folder {HISTORY_FACTOR}×"], f"overview, {national}, {HISTORY_FACTOR}× the history",
              NATIONAL_TARGET_MS)]
    for where, case, target in cases:
        try:
            folder = where()
            rows += _probe_rows(folder, case.replace("overview, ", "reader, "))
            if not _has_county(folder, "532504"):  # the drill-down queries open 弥勒市 (a small set lacks 红河州)
                rows.append(_row(case, "overview queries", "skipped: no 弥勒市 in this set (run without --quick)"))
                continue
            rows += [dict(r, section=SECTION) for r in _latency_rows(folder, case, target, 5 if quick else 15, 8.0)]
        except Exception as exc:  # the upload figures above must survive a failure here
            rows.append(_row(case, "error", f"{type(exc).__name__}: {str(exc)[:80]}", "", "", False))
    return rows


if __name__ == "__main__":
    if sys.argv[1:2] == ["--probe"]:
        print(json.dumps(probe(Path(sys.argv[2]))))
    else:
        for r in run("--quick" in sys.argv):
            print(json.dumps(r, ensure_ascii=False))
