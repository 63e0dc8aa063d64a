"""``python -m pipelines brief``: a briefing from the command line (scheduled runs, offices without the page).

    python -m pipelines brief --scope 532500 --asof 2022-06-30 --out 简报.docx [--pdf 简报.pdf]
        the briefing of 红河州 as of 2022-06-30, unnumbered (征求意见稿); --issue --by 张三 issues it: the next
        number of its scope, recorded in the app store (appdb) like an issue on /briefs
    python -m pipelines brief --scope 530000 --number 3 --out 第3期.docx [--pdf 第3期.pdf]
        an issued briefing again, byte for byte as issued
    python -m pipelines brief --drafts
        make the drafts due (a new reporting round of the province or a prefecture) and list those waiting; the
        systemd timer of deploy/systemd/ runs this

The command registers itself with the pipeline's command line through the entry-point group
``hometown_dispatch.commands`` (pyproject.toml): the pipeline never imports this room.
Exit status 0 on success, 2 for a usage error or a briefing that cannot be made (message in Chinese on stderr).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path

from warehouse.files import write_atomic


def _fail(message: str) -> int:
    print(f"错误：{message}", file=sys.stderr)
    return 2


def add_command(sub: argparse._SubParsersAction) -> None:
    """``brief`` as a subcommand of ``python -m pipelines`` (entry point ``hometown_dispatch.commands``)."""
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
    br.add_argument("--store", help="应用数据库（PostgreSQL 地址或嵌入式文件；默认 $HOMETOWN_APP_DB 或 data/app.sqlite3）")
    br.set_defaults(run=run)


def run(args) -> int:
    from warehouse import db
    from hometown import fonts
    from hometown.briefs import documents, model, store, sync_drafts
    from warehouse.scope import OutOfScope

    if args.db:
        os.environ[db.ENV_VAR] = str(args.db)
    try:
        db.version()
    except db.WarehouseMissing as exc:
        return _fail(str(exc))
    if args.drafts:
        made = sync_drafts(by="定时任务", path=args.store)
        waiting = store.drafts(path=args.store)
        print(f"新生成草稿 {made} 份；待印发 {waiting.height} 份")
        for row in waiting.iter_rows(named=True):
            print(f"  {row['scope_name']}（{row['scope_code']}）截至 {row['as_of']:%Y-%m-%d}")
        return 0
    if not args.out and not args.pdf:
        return _fail("请用 --out 指定输出的 Word 文件（或 --pdf 指定 PDF 文件）")
    if args.out and args.out.suffix.lower() != ".docx":
        return _fail(f"--out 应为 .docx 文件：{args.out}")
    try:
        if args.number:
            docx = store.document(args.scope, args.number, "docx", path=args.store)
            pdf = store.document(args.scope, args.number, "pdf", path=args.store)
            label = f"第{args.number}期（存档）"
        else:
            as_of = date.fromisoformat(args.asof) if args.asof else None
            m = model.build(args.scope, as_of)
            if args.issue:
                if not args.by:
                    return _fail("编号印发须用 --by 写明签发人")
                row = store.issue(m, issued_by=args.by, office=args.office, path=args.store)
                docx, pdf, label = row["docx"], row["pdf"], f"第{row['number']}期（已印发存档）"
            else:
                docx, pdf = documents(m, None, args.office)
                label = "征求意见稿（未编号）"
    except ValueError as exc:  # bad date, unknown region, no data, store errors
        return _fail(str(exc))
    except (OutOfScope, PermissionError, fonts.FontMissing) as exc:
        return _fail(str(exc))
    if args.out:
        write_atomic(args.out, docx)
    if args.pdf:
        write_atomic(args.pdf, pdf)
    written = "、".join(str(p) for p in (args.out, args.pdf) if p)
    print(f"调度简报 {label}：{written}")
    return 0
