"""``python -m bench.profile [--rows N] [--top K]``: cProfile of check_report on one synthetic file.

Writes one report of N villages (default 30,000) in the synthetic layout to a temp dir, checks it once to warm
caches (reference data, OpenCC), then profiles a second check and prints the top functions by cumulative and by
own time. For finding pipeline hotspots; not part of the table.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import tempfile
import time
from pathlib import Path

from bench.synthetic import single_file


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile")
    p.add_argument("--rows", type=int, default=30_000)
    p.add_argument("--top", type=int, default=25)
    args = p.parse_args(argv)
    from pipelines.report import check_report

    with tempfile.TemporaryDirectory(prefix="hometown-bench-profile-") as tmp:
        path = single_file(Path(tmp) / "红河州_20220331.xlsx", rows=args.rows)
        data = path.read_bytes()
        check_report(path, data)  # warm-up: imports, reference tables, converters
        t0 = time.perf_counter()
        checked = check_report(path, data)
        plain = time.perf_counter() - t0
        prof = cProfile.Profile()
        prof.enable()
        check_report(path, data)
        prof.disable()
    print(f"check_report on {args.rows:,} rows: {plain:.3f} s unprofiled ({args.rows / plain:,.0f} rows/s), "
          f"ok={checked.ok}, warnings={len(checked.warnings)}")
    for key in ("cumulative", "tottime"):
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).strip_dirs().sort_stats(key).print_stats(args.top)
        print(f"\n--- by {key} ---")
        print("\n".join(line for line in buf.getvalue().splitlines() if line.strip())[:12000])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
