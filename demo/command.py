"""The demo's command: ``python -m demo [--out data/demo] [--seed N]``, also ``python -m pipelines demo`` (registered
through the entry-point group ``hometown_dispatch.commands`` in pyproject.toml, so the pipeline never imports it)."""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_OUT = Path("data/demo")
DEFAULT_SEED = 20210626


def _arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"输出文件夹（默认 {DEFAULT_OUT}）")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.set_defaults(run=run)
    return parser


def run(args) -> int:
    from demo.commitments import SUBFOLDER, write_commitments
    from demo.generate import write_demo
    from demo.teams import write_teams

    files = write_demo(args.out, seed=args.seed)
    print(f"已生成 {len(files)} 个演示报表文件：{args.out}")
    # The 任期承诺 workbooks of the same villages, in a folder of their own (ingest takes folders recursively).
    commitments = write_commitments(Path(args.out) / SUBFOLDER, seed=args.seed)
    print(f"已生成 {len(commitments)} 个任期承诺演示文件：{Path(args.out) / SUBFOLDER}")
    teams = write_teams(args.out, seed=args.seed)  # 驻村力量 monthly workbooks, in <out>/驻村力量/
    print(f"已生成 {len(teams)} 个驻村力量月报：{args.out}")
    return 0


def add_command(sub: argparse._SubParsersAction) -> None:
    """``demo`` as a subcommand of ``python -m pipelines``."""
    _arguments(sub.add_parser("demo", help="生成内置演示报表"))


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argparse.ArgumentParser(prog="python -m demo", description="生成内置演示报表")).parse_args(argv)
    return args.run(args)
