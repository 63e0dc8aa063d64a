"""The command line: ``python -m pipelines ingest PATH... [--db FILE]`` and ``python -m pipelines demo``.

Exit status (REPORT_SPEC §6): 0 when no file was refused, 1 when any was (the others still load), 2 for a usage
error. One line per file on stdout, each refusal's reasons indented below it; a progress bar on stderr for folders.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipelines.warehouse import DEFAULT_DB, WarehouseBusy


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipelines", description="干部规划家乡行动 报表导入与数据仓库")
    sub = parser.add_subparsers(dest="command", required=True)
    ing = sub.add_parser("ingest", help="检查并导入报表文件（文件或文件夹）")
    ing.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    ing.add_argument("--db", type=Path, default=DEFAULT_DB, help=f"数据仓库文件（默认 {DEFAULT_DB}）")
    ing.add_argument("--quiet", action="store_true", help="不显示进度条")
    demo = sub.add_parser("demo", help="生成内置演示报表")
    demo.add_argument("--out", type=Path, default=Path("data/demo"))
    demo.add_argument("--seed", type=int, default=20210626)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "ingest":
        return _ingest(args)
    if args.command == "demo":
        from pipelines.demo import write_demo

        files = write_demo(args.out, seed=args.seed)
        print(f"已生成 {len(files)} 个演示报表文件：{args.out}")
        return 0
    return 2


def _ingest(args) -> int:
    from pipelines.ingest import collect_files, ingest

    missing = [p for p in args.paths if not p.exists()]
    if missing:
        for p in missing:
            print(f"错误：找不到文件或文件夹 {p}", file=sys.stderr)
        return 2
    files = collect_files(args.paths)
    if not files:
        print("错误：没有找到报表文件（.xlsx、.xls、.csv）", file=sys.stderr)
        return 2
    bar = None
    if not args.quiet and len(files) > 1 and sys.stderr.isatty() or (not args.quiet and len(files) > 1):
        from tqdm import tqdm

        bar = tqdm(total=len(files), unit="个文件", file=sys.stderr, leave=False, dynamic_ncols=True)

    def show(result) -> None:
        lines = [result.line()] + [f"    {m}" for m in result.errors]
        if bar is not None:
            bar.write("\n".join(lines), file=sys.stdout)
            bar.update(1)
        else:
            print("\n".join(lines), flush=True)

    try:
        results = ingest(files, args.db, on_result=show)
    except WarehouseBusy as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    finally:
        if bar is not None:
            bar.close()
    counts = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    from pipelines.ingest import STATUS_LABELS

    summary = "，".join(f"{STATUS_LABELS[s]} {n}" for s, n in counts.items())
    print(f"共 {len(results)} 个文件：{summary}。数据仓库：{args.db}")
    return 1 if any(r.refused for r in results) else 0
