"""``python -m bench [--quick] [--only SECTION] [--rows N]``: run the benchmark sections, print one table.

The table goes to stdout, progress to stderr; the same rows are written to artifacts/bench.json (git-ignored)
for README updates. Exit status 0, or with ``--strict`` 1 when any target is missed.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

from bench import sections
from bench.table import Row, machine, render, write_json

FULL_ROWS = 500_000
QUICK_ROWS = 50_000
DEFAULT_JSON = Path(__file__).resolve().parent.parent / "artifacts" / "bench.json"


def _parser() -> argparse.ArgumentParser:
    names = sections.section_names()
    p = argparse.ArgumentParser(prog="python -m bench", description="hometown-dispatch benchmarks (one table)")
    p.add_argument("--quick", action="store_true",
                   help=f"a fast check: {QUICK_ROWS:,} synthetic rows and short timing budgets")
    p.add_argument("--only", action="append", metavar="SECTION",
                   help=f"run only these sections (repeat or comma-separate): {', '.join(names)}")
    p.add_argument("--rows", type=int, metavar="N",
                   help=f"village rows of the synthetic set (default {FULL_ROWS:,}; --quick {QUICK_ROWS:,})")
    p.add_argument("--baseline-budget", type=float, metavar="S",
                   help="seconds the naive baseline may run before the rest is extrapolated by rows "
                        "(default 240; --quick 8)")
    p.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"where to write the results (default {DEFAULT_JSON})")
    p.add_argument("--strict", action="store_true", help="exit 1 when any target is missed")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    chosen = sections.section_names()
    if args.only:
        chosen = [n.strip() for item in args.only for n in item.split(",") if n.strip()]
        unknown = [n for n in chosen if n not in sections.section_names()]
        if unknown:
            parser.error(f"unknown section(s): {', '.join(unknown)}; known: {', '.join(sections.section_names())}")
    rows_n = args.rows or (QUICK_ROWS if args.quick else FULL_ROWS)
    if rows_n < 16:
        parser.error("--rows must be at least 16 (one row per prefecture)")
    budget = args.baseline_budget if args.baseline_budget is not None else (8.0 if args.quick else 240.0)

    t0 = time.perf_counter()
    rows: list[Row] = []
    with sections.scratch_dir() as scratch:
        ctx = sections.Context(quick=args.quick, rows=rows_n, baseline_budget=budget, workdir=Path(scratch))
        for section in sections.SECTIONS:
            if section.name not in chosen:
                continue
            ctx.log(f"== {section.name}: {section.description}")
            try:
                rows += section.run(ctx)
            except Exception as exc:  # one broken section must not hide the others' figures
                traceback.print_exc()
                rows.append(Row(section.name, "error", type(exc).__name__, str(exc)[:100], "", "", False))
    seconds = time.perf_counter() - t0

    m = machine()
    print(render(rows))
    print(f"\n{m['cpus']} CPUs, Python {m['python']}, {m['platform']}; total {seconds:.0f} s. "
          "Wall-clock on a machine shared with other jobs: figures may be pessimistic.")
    json_args = {"quick": args.quick, "only": chosen, "rows": rows_n, "baseline_budget": budget}
    path = write_json(args.json, rows, json_args, seconds)
    print(f"results: {path}", file=sys.stderr)
    missed = [r for r in rows if r.ok is False]
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
