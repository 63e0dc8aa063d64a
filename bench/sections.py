"""What ``python -m bench`` measures: a list of sections, each a function of a Context returning table Rows.

Sections so far: ``demo`` (the built-in demo written and loaded into a fresh warehouse) and ``pipeline`` (the
national-scale synthetic set: our ingest and check_report, raw calamine and fastexcel reading the same files,
and the naive pandas+openpyxl baseline). Later issues add sections (query latencies, page time-to-ready, map
payloads) with ``register``; each is independent and selectable with ``--only NAME``.
"""

from __future__ import annotations

import itertools
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from bench import synthetic
from bench.table import Row, at_least, at_most, below
from bench.timing import Timing, measure, measure_interleaved

DEMO_SEED = 20210626
DEMO_TARGET_SECONDS = 15.0
RAW_RATIO_TARGET = 1.5
BASELINE_SPEEDUP_TARGET = 10.0


@dataclass
class Context:
    quick: bool
    rows: int
    baseline_budget: float          # seconds the naive baseline may run before it is extrapolated
    workdir: Path                   # scratch space (warehouses, demo folders), removed at the end
    log: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr, flush=True)
    _synthetic: synthetic.SyntheticSet | None = field(default=None, repr=False)
    _counter: itertools.count = field(default_factory=itertools.count, repr=False)

    @property
    def repeats(self) -> int:
        return 3

    def budget(self, full: float, quick: float) -> float:
        """Seconds a repeated measurement may take in total before it stops repeating."""
        return quick if self.quick else full

    def new_dir(self, prefix: str) -> Path:
        d = self.workdir / f"{prefix}-{next(self._counter)}"
        d.mkdir(parents=True)
        return d

    def fresh_db(self) -> Path:
        return self.new_dir("wh") / "warehouse.duckdb"

    def synthetic_set(self) -> synthetic.SyntheticSet:
        if self._synthetic is None:
            params = synthetic.Params(rows=self.rows)
            self.log(f"synthetic set: {params.rows:,} rows, {synthetic.expected_files(params)} files "
                     f"(cache {synthetic.cache_root() / params.key()})")
            self._synthetic = synthetic.ensure_set(
                params, progress=lambda i, n: self.log(f"  generated {i}/{n}") if i % 8 == 0 or i == n else None)
        return self._synthetic


@dataclass
class Section:
    name: str
    description: str
    run: Callable[[Context], list[Row]]


SECTIONS: list[Section] = []


def register(name: str, description: str):
    def wrap(fn: Callable[[Context], list[Row]]):
        SECTIONS.append(Section(name, description, fn))
        return fn
    return wrap


def _rate(rows: int, seconds: float | None) -> float | None:
    return rows / seconds if seconds else None


def _runs(t: Timing) -> str:
    return f"median of {t.n}" if t.n > 1 else "1 run"


def _loaded_rows(results) -> tuple[int, int]:
    """(village rows loaded, files refused) of an ingest."""
    rows = sum(r.village_rows for r in results if r.status in ("accepted", "superseded"))
    return rows, sum(1 for r in results if r.refused)


# ------------------------------------------------------------------------------------------------------- demo


ROOT = Path(__file__).resolve().parent.parent
DEMO_TIMEOUT = 600  # seconds; a hung writer (e.g. a forked worker) must not hang the benchmark


def _demo_write_cmd(out: Path) -> list[str]:
    return [sys.executable, "-m", "demo", "--out", str(out), "--seed", str(DEMO_SEED)]


def _ingest_cmd(folder: Path, db: Path) -> list[str]:
    return [sys.executable, "-m", "pipelines", "ingest", str(folder), "--db", str(db), "--quiet"]


def _run(cmd: list[str], ok_codes: tuple[int, ...] = (0,)) -> float:
    """Run a command from the repository root; the CPU seconds it and its own children used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=DEMO_TIMEOUT)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in ok_codes:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"{' '.join(cmd[1:4])} exited {done.returncode}: {' | '.join(tail)}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _warehouse_counts(db: Path) -> tuple[int, int, int]:
    """(files logged, files refused, village rows loaded) of a warehouse, read the way analysts read it."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        files, refused = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE status = 'refused') FROM report_log").fetchall()[0]
        rows = con.execute("SELECT count(*) FROM village_rows").fetchall()[0][0]
    finally:
        con.close()
    return files, refused, rows


@register("demo", "the built-in demo as `make demo` builds it: write, then ingest into a fresh warehouse")
def demo_section(ctx: Context) -> list[Row]:
    """Fresh processes (`python -m demo`, then `python -m pipelines ingest`), so that each run pays
    what a user pays (interpreter, imports, the demo plan, reference data) and no cache of this process helps."""
    case = "full demo (fresh processes)"
    repeats = 1 if ctx.quick else ctx.repeats  # the demo load alone is ~15 s: one run in a quick check
    cpu: dict[str, list[float]] = {"write": [], "ingest": []}

    def write_demo(out: Path) -> Path:
        cpu["write"].append(_run(_demo_write_cmd(out)))
        return out

    def load_demo(db: Path) -> Path:
        cpu["ingest"].append(_run(_ingest_cmd(demo_dir, db), (0, 1)))  # 1: some file refused, counted below
        return db

    ctx.log("demo: python -m demo …")
    write = measure(write_demo, repeats, ctx.budget(40, 20), setup=lambda: ctx.new_dir("demo") / "demo")
    demo_dir = write.result
    ctx.log("demo: python -m pipelines ingest …")
    load = measure(load_demo, repeats, ctx.budget(60, 30), setup=ctx.fresh_db)
    files, refused, rows = _warehouse_counts(load.result)
    total = write.median + load.median
    return [
        Row("demo", case, "files / village rows", f"{files} / {rows:,}"),
        Row("demo", case, f"write: python -m demo ({_runs(write)})", write.median, "s"),
        Row("demo", case, f"ingest: python -m pipelines ingest ({_runs(load)})", load.median, "s"),
        Row("demo", case, "CPU seconds, all processes: write / ingest",
            f"{statistics.median(cpu['write']):.2f} / {statistics.median(cpu['ingest']):.2f}", "s"),
        Row("demo", case, "ingest rows/s", _rate(rows, load.median), "rows/s"),
        Row("demo", case, "warehouse built (write + ingest)", total, "s", f"< {DEMO_TARGET_SECONDS:g} s",
            below(total, DEMO_TARGET_SECONDS)),
        Row("demo", case, "files refused", refused, "", "0", refused == 0),
    ]


# --------------------------------------------------------------------------------------------- national scale


def _calamine(files: list[Path]) -> int:
    from python_calamine import CalamineWorkbook

    n = 0
    for p in files:
        n += len(CalamineWorkbook.from_path(str(p)).get_sheet_by_index(0).to_python())
    return n


def _calamine_one(path: Path) -> int:
    return _calamine([path])


def _calamine_in_processes(files: list[Path], workers: int = 2) -> int:
    """Raw calamine over the files in a pool of spawned processes, started and joined in the run, as ingest's
    checkers are: the like-for-like comparison for our wall-clock on the same cores."""
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        n = sum(pool.map(_calamine_one, files, chunksize=1))
        pool.close()
        pool.join()
    return n


def _fastexcel(files: list[Path]) -> int:
    import fastexcel

    n = 0
    for p in files:
        n += fastexcel.read_excel(str(p)).load_sheet(0, header_row=None).to_polars().height
    return n


def _check_only(files: list[Path]) -> int:
    from pipelines.report import check_report

    checked = [check_report(p) for p in files]
    bad = [c.file_name for c in checked if not c.ok]
    if bad:
        raise RuntimeError(f"check_report refused synthetic files: {bad[:3]}")
    return sum(c.village_rows for c in checked)


def _interleaved(files: list[Path], per_prefecture: int) -> list[Path]:
    """Files ordered date by date, so any prefix covers many prefectures (files are sorted by prefecture)."""
    by_date = [files[i::per_prefecture] for i in range(per_prefecture)]
    return [p for group in by_date for p in group]


def _baseline(ctx: Context, s: synthetic.SyntheticSet) -> tuple[float, float, int, int, list[str]]:
    """Run the naive loader file by file until its budget is spent: (seconds, cpu seconds, rows, files, errors)."""
    from bench.baseline import naive_load

    db = ctx.fresh_db()
    seconds, cpu, rows, done, errors = 0.0, 0.0, 0, 0, []
    for p in _interleaved(s.files, s.params.resolved_dates()):
        c0, t0 = time.process_time(), time.perf_counter()
        loaded, errs = naive_load([p], db)
        seconds += time.perf_counter() - t0
        cpu += time.process_time() - c0
        rows += s.rows_per_file[p.name]
        done += 1
        errors += errs
        ctx.log(f"  baseline {done}/{len(s.files)} files, {seconds:.1f} s")
        if seconds >= ctx.baseline_budget:
            break
    return seconds, cpu, rows, done, errors


@register("pipeline", "national-scale synthetic set: ingest vs raw calamine vs naive pandas+openpyxl")
def pipeline_section(ctx: Context) -> list[Row]:
    from pipelines.ingest import default_workers, ingest

    sec = "pipeline"
    s = ctx.synthetic_set()
    files, n = s.files, s.rows
    scale = f"{n:,} rows / {len(files)} files"
    out = [
        Row(sec, "synthetic set", "village rows / files / MB", f"{n:,} / {len(files)} / {s.bytes / 1e6:.0f}"),
        Row(sec, "synthetic set", "prefectures × dates, rows per file",
            f"{s.params.resolved_prefectures()} × {s.params.resolved_dates()}, ~{n // len(files):,}"),
        Row(sec, "synthetic set", "generation (not counted)", s.generated_seconds if s.generated_seconds else "cached",
            "s" if s.generated_seconds else ""),
    ]

    # Warm-up (untimed): imports, reference tables, the OpenCC converter, the readers.
    from pipelines.report import check_report

    tiny = synthetic.single_file(ctx.new_dir("tiny") / "红河州_20220331.xlsx", rows=50)
    check_report(tiny)
    _calamine([tiny])
    _fastexcel([tiny])

    ctx.log(f"pipeline: our ingest, check_report alone, raw calamine, fastexcel on {scale}, round by round …")
    t = measure_interleaved({
        "ingest": (lambda db: (db, ingest(files, db)), ctx.fresh_db),
        "check": (lambda: _check_only(files), None),
        "calamine": (lambda: _calamine(files), None),
        "calamine2": (lambda: _calamine_in_processes(files), None),
        "fastexcel": (lambda: _fastexcel(files), None),
    }, ctx.repeats, ctx.budget(240, 20))
    ours, check, cal, cal2, fx = t["ingest"], t["check"], t["calamine"], t["calamine2"], t["fastexcel"]
    national_db, results = ours.result
    loaded, refused = _loaded_rows(results)
    out += [
        Row(sec, f"ours: ingest → fresh warehouse ({_runs(ours)})", "seconds", ours.median, "s"),
        Row(sec, "ours: ingest → fresh warehouse", "rows/s", _rate(loaded, ours.median), "rows/s"),
        Row(sec, "ours: ingest → fresh warehouse", "files refused / rows loaded", f"{refused} / {loaded:,}", "",
            f"0 / {n:,}", refused == 0 and loaded == n),
        Row(sec, f"ours: check_report only, no DB ({_runs(check)})", "seconds", check.median, "s"),
        Row(sec, "ours: check_report only, no DB", "rows/s", _rate(n, check.median), "rows/s"),
    ]
    ratio = ours.median / cal.median
    out += [
        Row(sec, f"raw calamine: to_python ({_runs(cal)})", "seconds", cal.median, "s"),
        Row(sec, "raw calamine: to_python", "rows/s", _rate(n, cal.median), "rows/s"),
        Row(sec, f"raw calamine in 2 processes, as ingest checks ({_runs(cal2)})", "seconds", cal2.median, "s"),
        Row(sec, f"fastexcel: load_sheet.to_polars ({_runs(fx)})", "seconds", fx.median, "s"),
        Row(sec, "ours ingest / raw calamine", "ratio", ratio, "×", f"≤ {RAW_RATIO_TARGET:g}×",
            at_most(ratio, RAW_RATIO_TARGET)),
        Row(sec, "ours ingest / raw calamine in 2 processes (like for like)", "ratio", ours.median / cal2.median, "×"),
        Row(sec, "ours check_report (1 process) / raw calamine", "ratio", check.median / cal.median, "×"),
        Row(sec, "ours ingest / fastexcel", "ratio", ours.median / fx.median, "×"),
        Row(sec, "ours ingest / raw calamine, by CPU time (all threads)", "ratio", ours.cpu_median / cal.cpu_median,
            "×"),
        Row(sec, "CPU time, all threads: ours ingest / check_report / calamine / fastexcel", "seconds (cpu)",
            " / ".join(f"{x.cpu_median:.2f}" for x in (ours, check, cal, fx)), "s"),
        Row(sec, "ingest: processes checking files", "workers", default_workers(len(files))),
    ]

    # Fixed costs: what a file costs whatever its size (they dominate a set of many small files such as the demo).
    ctx.log("pipeline: fixed costs on a 50-row file …")
    t_check = measure(lambda: check_report(tiny), 7, 5)
    t_cal = measure(lambda: _calamine([tiny]), 7, 5)
    t_ingest = measure(lambda db: ingest([tiny], db), 3, 10, setup=ctx.fresh_db)

    def national_copy() -> Path:
        db = ctx.fresh_db()
        shutil.copyfile(national_db, db)
        return db

    # An upload of one file into the full national warehouse (a correction of 红河州's first report): the
    # copy-on-write load copies the whole warehouse file, so this grows with the warehouse, not with the file.
    t_upload = measure(lambda db: ingest([tiny], db), 3, ctx.budget(20, 8), setup=national_copy)
    out += [
        Row(sec, f"fixed cost: check_report of a 50-row file ({_runs(t_check)})", "milliseconds",
            t_check.median * 1e3, "ms"),
        Row(sec, f"fixed cost: raw calamine of the same file ({_runs(t_cal)})", "milliseconds",
            t_cal.median * 1e3, "ms"),
        Row(sec, f"fixed cost: ingest of it → fresh warehouse ({_runs(t_ingest)})", "milliseconds",
            t_ingest.median * 1e3, "ms"),
        Row(sec, f"upload: it into the national warehouse of {Path(national_db).stat().st_size / 1e6:.0f} MB "
                 f"({_runs(t_upload)})", "milliseconds", t_upload.median * 1e3, "ms"),
    ]

    ctx.log(f"pipeline: naive pandas+openpyxl baseline (budget {ctx.baseline_budget:g} s) …")
    b_seconds, b_cpu, b_rows, b_files, b_errors = _baseline(ctx, s)
    if b_files < len(files):
        case = f"naive pandas+openpyxl: {b_files}/{len(files)} files ({b_rows:,} rows), extrapolated by rows"
        b_full, b_cpu_full = b_seconds * n / b_rows, b_cpu * n / b_rows
    else:
        case = "naive pandas+openpyxl (1 run)"
        b_full, b_cpu_full = b_seconds, b_cpu
    speedup = b_full / ours.median
    extrapolated = " (extrapolated)" if b_files < len(files) else ""
    out += [
        Row(sec, case, "seconds" + extrapolated, b_full, "s"),
        Row(sec, "naive pandas+openpyxl", "seconds (cpu)" + extrapolated, b_cpu_full, "s"),
        Row(sec, "naive pandas+openpyxl", "rows/s", _rate(b_rows, b_seconds), "rows/s"),
        Row(sec, "naive pandas+openpyxl", "errors (expected 0)", len(b_errors), "", "0", not b_errors),
        Row(sec, "speedup: ours ingest vs naive", "ratio", speedup, "×", f"≥ {BASELINE_SPEEDUP_TARGET:g}×",
            at_least(speedup, BASELINE_SPEEDUP_TARGET)),
        Row(sec, "speedup by CPU time (all threads)", "ratio", b_cpu_full / ours.cpu_median, "×"),
    ]
    return out


def section_names() -> list[str]:
    return [s.name for s in SECTIONS]


def scratch_dir() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="hometown-bench-run-")


def _section_of(module_name: str) -> Callable[[Context], list[Row]]:
    """A section written as ``run(quick) -> list[dict]`` in its own module (queries, maps)."""

    def run(ctx: Context) -> list[Row]:
        import importlib

        return [Row(**row) for row in importlib.import_module(module_name).run(ctx.quick)]

    return run


register("queries", "overview query latencies (demo and national-scale) and the overview's time to ready in Chromium")(
    _section_of("bench.queries"))
register("maps", "map payload per level and the map page's time to ready in Chromium")(_section_of("bench.maps"))
register("partitions", "issue 18: a 50-row upload into national-scale warehouses of 1× and 10× the history, one "
         "file vs partitioned folder; the public views' columns; overview queries on the partitioned warehouse")(
    _section_of("bench.partitions"))
register("briefs", "the province's 调度简报 (Word + PDF) on the demo and at national scale")(_section_of("bench.briefs"))
register("commitments", "任期承诺: demo workbooks written and ingested; /commitments query medians on the demo and at "
         "national scale (10 M items)")(_section_of("bench.commitments"))
register("teams", "驻村力量: a year of monthly workbooks for 200,000 people through ingest, and each /teams query's "
         "median on the demo and at national scale")(_section_of("bench.teams"))
register("clicks", "each click to its page (bars, alert, menu → map) and the overview's time to ready, p50/p95 in "
         "Chromium against serve.py on the demo warehouse")(_section_of("bench.clicks"))
register("rerun_apptest", "CPU of a warm rerun of every page, AppTest in process on the demo warehouse")(
    _section_of("bench.rerun"))
register("load", "issue 17: sessions of a client speaking Streamlit's websocket protocol, signed in as the demo users, "
         "against serve.py (1 process) and N workers behind nginx: paced sessions, saturation, big screens, server "
         "CPU per warm rerun")(_section_of("bench.load.scenarios"))
