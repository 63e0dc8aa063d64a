"""The command line: ``python -m pipelines ingest PATH... [--db FILE]``, ``python -m pipelines demo`` and
``python -m pipelines export rankings --level county --out FILE.xlsx`` (scheduled exports; hometown.export) and
``python -m pipelines brief --scope 532500 --out 简报.docx`` (调度简报; hometown.briefs.cli).

Exit status (REPORT_SPEC §6): 0 when no file was refused, 1 when any was (the others still load), 2 for a usage
error or a warehouse that cannot be written (busy, damaged: one line, no traceback). One line per file on stdout,
each refusal's reasons indented below it (each kind of problem folded after 20: report_log keeps every one); a
progress bar on stderr for folders, only when a person watches a terminal.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipelines.warehouse import DAMAGE, DEFAULT_DB, WarehouseBusy, WarehouseDamaged


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
    exp = sub.add_parser("export", help="导出排名（Excel 或 CSV，按 --out 的扩展名）")
    exp.add_argument("what", choices=["rankings"], help="导出内容：rankings 综合指数排名")
    exp.add_argument("--level", choices=["prefecture", "county", "village"], default="county",
                     help="排名对象：prefecture 州市 / county 县市区 / village 行政村（默认 county）")
    exp.add_argument("--out", type=Path, required=True, help="输出文件（.xlsx 或 .csv）")
    exp.add_argument("--db", type=Path, default=DEFAULT_DB, help=f"数据仓库文件（默认 {DEFAULT_DB}）")
    exp.add_argument("--year", type=int, help="任务年度（默认全部年度）")
    exp.add_argument("--asof", help="截至日期 YYYY-MM-DD（默认各州市最新报送）")
    exp.add_argument("--preset", help="权重方案名称（config/ranking_presets.toml 或用户保存的方案；默认第一个方案）")
    exp.add_argument("--prefecture", help="只排某州市（名称或代码，如 红河州）")
    exp.add_argument("--normalisation", choices=["minmax", "percentile"], help="标准化方法（默认取权重方案的设置）")
    br = sub.add_parser("brief", help="生成调度简报（Word，可选 PDF）；--issue 编号印发；--drafts 生成待印发草稿")
    br.add_argument("--scope", default="530000", help="地区代码：530000 全省、州市或县市区代码（默认全省）")
    br.add_argument("--asof", help="截至日期 YYYY-MM-DD（默认该地区最新一期）")
    br.add_argument("--out", type=Path, help="输出 Word 文件（.docx）")
    br.add_argument("--pdf", type=Path, help="同时输出 PDF 文件")
    br.add_argument("--issue", action="store_true", help="编号印发（取该地区下一期期号并存档）")
    br.add_argument("--by", help="签发人（--issue 时必填）")
    br.add_argument("--office", help="印发单位（默认按地区，如 红河州干部规划家乡行动项目组）")
    br.add_argument("--number", type=int, help="输出已印发的第 N 期（与印发时逐字节相同）")
    br.add_argument("--drafts", action="store_true", help="生成到期的待印发草稿并列出")
    br.add_argument("--db", type=Path, help="数据仓库文件（默认 $HOMETOWN_DB 或 data/warehouse.duckdb）")
    br.add_argument("--store", type=Path, help="简报记录文件（默认 $HOMETOWN_BRIEFS 或 data/briefs.duckdb）")
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
    if args.command == "export":
        from hometown.export import export_command

        return export_command(args)
    if args.command == "brief":
        from hometown.briefs.cli import run

        return run(args)
    return 2


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
        results = ingest(files, args.db, on_result=show)
    except (WarehouseBusy, WarehouseDamaged) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    except DAMAGE:  # found part-way (a block the truncated file lacks): nothing was swapped in
        print(f"错误：{WarehouseDamaged(args.db)}", file=sys.stderr)
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
