"""Bench section ``briefs``: time to produce the province's 调度简报 (figures, sentences, two charts, Word and PDF)
on the demo warehouse and at national scale (the demo's village rows replicated 42× by SQL, as bench.queries builds
it: 505,428 villages, 2.8 M history rows). Targets: < 5 s on the demo, < 15 s at national scale.

The target applies to the briefing as the app produces it (a preview downloaded or an issue on /briefs): in a
running process, split into its parts (model, compose with charts, Word, PDF), the second of two runs. The command
line's figure (``python -m pipelines brief --scope 530000 --out … --pdf …`` in a fresh process, median of the runs)
is reported beside it: it also pays Python's start, the imports (polars, duckdb, matplotlib, fontTools) and reading
the CJK fonts, 2–4 s more on the 2-core machine.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.queries import NATIONAL_FACTOR, QUICK_FACTOR, demo_warehouse, national_warehouse

REPO = Path(__file__).resolve().parent.parent
DEMO_TARGET_S, NATIONAL_TARGET_S = 5.0, 15.0


def _row(case: str, metric: str, value, unit: str = "", target: str = "", ok: bool | None = None) -> dict:
    return {"section": "briefs", "case": case, "metric": metric, "value": value, "unit": unit, "target": target,
            "ok": ok}


def _cli_seconds(db: Path, runs: int) -> list[float]:
    out = []
    with tempfile.TemporaryDirectory(prefix="hometown-bench-brief-") as tmp:
        env = {**os.environ, "HOMETOWN_DB": str(db), "HOMETOWN_APP_DB": str(Path(tmp) / "app.sqlite3")}
        for i in range(runs):
            t0 = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "pipelines", "brief", "--scope", "530000",
                                   "--out", str(Path(tmp) / f"{i}.docx"), "--pdf", str(Path(tmp) / f"{i}.pdf")],
                                  cwd=REPO, env=env, capture_output=True, text=True)
            if done.returncode:
                raise RuntimeError(done.stderr.strip()[-300:])
            out.append(time.perf_counter() - t0)
    return out


def _parts(db: Path) -> dict[str, float]:
    """The briefing's parts in this process (warm: second run), seconds each."""
    code = f"""
import time, json
from hometown.briefs import model, writer, render_docx, render_pdf
for _ in range(2):
    t = {{}}; t0 = time.perf_counter()
    m = model.build("530000"); t["model"] = time.perf_counter() - t0; t0 = time.perf_counter()
    d = writer.compose(m, 1); t["compose + charts"] = time.perf_counter() - t0; t0 = time.perf_counter()
    render_docx.render(d); t["Word"] = time.perf_counter() - t0; t0 = time.perf_counter()
    render_pdf.render(d); t["PDF"] = time.perf_counter() - t0
print(json.dumps(t))
"""
    import json

    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, env={**os.environ, "HOMETOWN_DB": str(db)},
                         capture_output=True, text=True)
    if run.returncode:
        raise RuntimeError(run.stderr.strip().splitlines()[-1] if run.stderr.strip() else "briefing failed")
    return json.loads(run.stdout.strip().splitlines()[-1])


def run(quick: bool) -> list[dict]:
    demo = demo_warehouse()
    factor = QUICK_FACTOR if quick else NATIONAL_FACTOR
    national = national_warehouse(demo, factor)
    runs = 2 if quick else 5
    rows = []
    for case, db, target in (("demo warehouse", demo, DEMO_TARGET_S),
                             (f"national scale (demo ×{factor}, SQL-replicated)", national, NATIONAL_TARGET_S)):
        parts = _parts(db)
        total = sum(parts.values())
        rows.append(_row(case, "province briefing, Word + PDF, in the app's process (warm: page preview/issue)",
                         round(total, 2), "s", f"< {target:g} s", total < target))
        for part, s in parts.items():
            rows.append(_row(case, f"  of which {part}", round(s, 2), "s"))
        seconds = _cli_seconds(db, runs)
        rows.append(_row(case, f"province briefing, Word + PDF, CLI in a fresh process (median of {runs}; "
                               "imports, fonts and charts library loaded each time)",
                         round(statistics.median(seconds), 2), "s"))
    return rows


if __name__ == "__main__":
    import json

    for r in run("--quick" in sys.argv):
        print(json.dumps(r, ensure_ascii=False))
