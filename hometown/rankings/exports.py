"""The ranking as files: the Excel and CSV the rankings page offers, and ``python -m pipelines export rankings``.

The sheet is the page's own table (index.table) in the shared file layout (hometown.export), with the method on a
说明 sheet. The command registers itself with the pipeline's command line through the entry-point group
``hometown_dispatch.exports`` (pyproject.toml), so the pipeline never imports this floor.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime
from pathlib import Path

from geo import reference
from hometown.export import Sheet, csv_bytes, xlsx_bytes
from hometown.rankings import index as rankings
from pipelines.cli import DB_HELP
from warehouse import db, settings
from warehouse.files import write_atomic
from warehouse.scope import Filters



def ranking_sheet(r, preset_name: str | None = None) -> Sheet:
    year = f"{r.filters.task_year}年" if r.filters.task_year else "全部年度"
    parts = [f"范围：{rankings.region_label(r)}", f"任务年度：{year}",
             f"标准化：{rankings.NORMALISATIONS[r.normalisation]}", f"权重方案：{preset_name or '自定义'}",
             f"排名变化对比：{r.previous_as_of.isoformat() if r.previous_as_of else '无上期数据'}",
             f"导出时间：{datetime.now():%Y-%m-%d %H:%M}"]
    return Sheet(f"{r.level_label}排名", rankings.table(r), rankings.column_kinds(r.level), rankings.title(r),
                 "　".join(parts))


def ranking_xlsx(r, preset_name: str | None = None) -> bytes:
    """The ranking as the page shows it, plus the 说明 sheet with the method, normalisation and weights."""
    return xlsx_bytes([ranking_sheet(r, preset_name)], rankings.method_notes(r, preset_name),
                      notes_title="排名方法说明")


def ranking_csv(r) -> bytes:
    return csv_bytes(rankings.table(r))


def ranking_file_name(r, suffix: str) -> str:
    as_of = r.as_of.strftime("%Y%m%d") if r.as_of else "无数据"
    return f"大擂台大比武_{r.level_label}排名_{as_of}.{suffix}"


def export_command(args) -> int:
    """``python -m pipelines export rankings …``: write the ranking the page would show for these filters.

    Exit 0 on success, 2 for a usage error (unknown preset, prefecture, date or file type; no warehouse). The file
    is written whole to a temporary name and renamed, so a scheduled job never leaves half a file behind.
    """
    def fail(message: str) -> int:
        print(f"错误：{message}", file=sys.stderr)
        return 2

    out = Path(args.out)
    suffix = out.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        return fail(f"输出文件须为 .xlsx 或 .csv：{out}")
    db_file = settings.db_path(args.db)
    if not db_file.exists():
        return fail(f"数据仓库不存在：{db_file}。请先导入报表（python -m pipelines ingest …）")
    try:
        as_of = date.fromisoformat(args.asof) if args.asof else None
    except ValueError:
        return fail(f"截至日期格式应为 YYYY-MM-DD：{args.asof}")
    prefecture = None
    if args.prefecture:
        prefecture = reference.resolve_prefecture(args.prefecture)
        if prefecture is None:
            return fail(f"未知的州市：{args.prefecture}")
    try:
        chosen = rankings.preset(args.preset) if args.preset else rankings.presets()[0]
        r = rankings.rank(args.level, chosen.weights, args.normalisation or chosen.normalisation,
                          Filters(args.year, as_of), prefecture=prefecture, db_path=str(db_file))
    except rankings.RankingError as exc:
        return fail(str(exc))
    except db.WarehouseMissing as exc:
        return fail(str(exc))
    data = ranking_xlsx(r, chosen.name) if suffix == ".xlsx" else ranking_csv(r)
    write_atomic(out, data)
    as_of_text = r.as_of.isoformat() if r.as_of else "无数据"
    print(f"已导出 {r.level_label}排名 {len(r.frame)} 行（截至 {as_of_text}，权重方案：{chosen.name}）：{out}")
    return 0


def add_export(sub: argparse._SubParsersAction) -> None:
    """``export rankings``: the options of a scheduled ranking export (entry point ``hometown_dispatch.exports``)."""
    exp = sub.add_parser("rankings", help="综合指数排名（Excel 或 CSV，按 --out 的扩展名）")
    exp.add_argument("--level", choices=list(rankings.LEVELS), default="county",
                     help="排名对象：prefecture 州市 / county 县市区 / village 行政村（默认 county）")
    exp.add_argument("--out", type=Path, required=True, help="输出文件（.xlsx 或 .csv）")
    exp.add_argument("--db", type=Path, default=None, help=DB_HELP)
    exp.add_argument("--year", type=int, help="任务年度（默认全部年度）")
    exp.add_argument("--asof", help="截至日期 YYYY-MM-DD（默认各州市最新报送）")
    exp.add_argument("--preset", help="权重方案名称（config/ranking_presets.toml 或用户保存的方案；默认第一个方案）")
    exp.add_argument("--prefecture", help="只排某州市（名称或代码，如 红河州）")
    exp.add_argument("--normalisation", choices=list(rankings.NORMALISATIONS),
                     help="标准化方法（默认取权重方案的设置）")
    exp.set_defaults(run=export_command)
