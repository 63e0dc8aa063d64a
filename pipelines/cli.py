"""The command line: ``python -m pipelines ingest PATH... [--db FILE]``, plus the commands other packages register.

``ingest`` is the pipeline's own. The others come from the entry-point groups of pyproject.toml, so a higher floor
adds a command without this module importing it (tests/test_layering.py): ``hometown_dispatch.commands`` adds a
top-level command (``demo``: demo.command), ``hometown_dispatch.exports`` adds a target of ``export`` (``export
rankings``: hometown.rankings.exports). An entry point names a function that takes the subparsers and adds its parser
with ``set_defaults(run=function(args) -> exit status)``. ``--db`` defaults to ``$HOMETOWN_DB``, else
data/warehouse.duckdb, as for the app (warehouse.settings).

Exit status (REPORT_SPEC §6): 0 when no file was refused, 1 when any was (the others still load), 2 for a usage
error or a warehouse that cannot be written (busy, damaged: one line, no traceback). One line per file on stdout,
each refusal's reasons indented below it (each kind of problem folded after 20: report_log keeps every one); a
progress bar on stderr for folders, only when a person watches a terminal.
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import entry_points
from pathlib import Path

from warehouse import settings
from warehouse.store import DAMAGE, WarehouseBusy, WarehouseDamaged

COMMANDS_GROUP = "hometown_dispatch.commands"
EXPORTS_GROUP = "hometown_dispatch.exports"
DB_HELP = f"数据仓库文件（默认 ${settings.DB_ENV}，未设置时 {settings.DEFAULT_DB}）"


def _registered(group: str, sub) -> None:
    for ep in sorted(entry_points(group=group), key=lambda e: e.name):
        ep.load()(sub)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipelines", description="干部规划家乡行动 报表导入与数据仓库")
    sub = parser.add_subparsers(dest="command", required=True)
    ing = sub.add_parser("ingest", help="检查并导入报表文件（文件或文件夹）")
    ing.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    ing.add_argument("--db", type=Path, default=None, help=DB_HELP)
    ing.add_argument("--quiet", action="store_true", help="不显示进度条")
    ing.set_defaults(run=_ingest)
    exports = sub.add_parser("export", help="导出（Excel 或 CSV）").add_subparsers(dest="what", required=True,
                                                                               metavar="WHAT")
    _registered(EXPORTS_GROUP, exports)
    _registered(COMMANDS_GROUP, sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return args.run(args)


def _for_a_person() -> bool:
    """Whether a person watches: both outputs are a terminal. Under cron, CI or a pipe (``ingest … | cat``, a log
    file) a progress bar would only write hundreds of carriage-return frames into the log."""
    return sys.stdout.isatty() and sys.stderr.isatty()


def _ingest(args) -> int:
    from pipelines.ingest import collect_files, ingest
    from pipelines.report import fold

    missing = [p for p in args.paths if not p.exists()]
    if missing:
        for p in missing:
            print(f"错误：找不到文件或文件夹 {p}", file=sys.stderr)
        return 2
    db_file = settings.db_path(args.db)
    files = collect_files(args.paths)
    if not files:
        print("错误：没有找到报表文件（.xlsx、.xls、.et、.csv）", file=sys.stderr)
        return 2
    bar = None
    if not args.quiet and len(files) > 1 and _for_a_person():
        from tqdm import tqdm

        bar = tqdm(total=len(files), unit="个文件", file=sys.stderr, leave=False, dynamic_ncols=True)

    def show(result) -> None:
        lines = [result.line()] + [f"    {m}" for m in fold(result.errors)]
        if bar is not None:
            bar.write("\n".join(lines), file=sys.stdout)
            bar.update(1)
        else:
            print("\n".join(lines), flush=True)

    try:
        results = ingest(files, db_file, on_result=show)
    except (WarehouseBusy, WarehouseDamaged) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    except DAMAGE:  # found part-way (a block the truncated file lacks): nothing was swapped in
        print(f"错误：{WarehouseDamaged(db_file)}", file=sys.stderr)
        return 2
    finally:
        if bar is not None:
            bar.close()
    counts = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    from pipelines.ingest import STATUS_LABELS

    summary = "，".join(f"{STATUS_LABELS[s]} {n}" for s, n in counts.items())
    print(f"共 {len(results)} 个文件：{summary}。数据仓库：{db_file}")
    return 1 if any(r.refused for r in results) else 0
