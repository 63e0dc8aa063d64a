"""驻村力量 allowances (津补贴测算, TEAMS_SPEC §4) as the sheet a finance office pays from, and the command
``python -m pipelines export allowances --month 2022-03 --out FILE.xlsx``.

The figures are the view ``team_allowances`` (one definition of the formulas: warehouse/parts/teams.py, rates in
config/teams.toml). The workbook has one sheet per sending unit (派出单位) for the month: a title, the as-of line,
one row per person, a 合计 row, the frozen header — written by the shared file layout (hometown.export). ID numbers
are masked unless the role may see personal data; a file with unmasked numbers is recorded in the audit trail
(the page through audit.logged, the command here).
"""

from __future__ import annotations

import argparse
import getpass
import re
import sys
from datetime import date, datetime
from pathlib import Path

import polars as pl

from hometown.access import audit
from hometown.export import DECIMAL, INT, TEXT, Sheet, xlsx_bytes
from hometown.privacy import may_see_personal_data
from pipelines.cli import DB_HELP
from warehouse import db, settings
from warehouse.files import write_atomic
from warehouse.parts.teams import KIND, MASK_ID_SQL, allowance_rates
from warehouse.scope import ALL, Scope

COLUMNS = {"name": "姓名", "id_number": "身份证号", "prefecture_name": "州市", "county_name": "县市区", "village": "驻村",
           "days_counted": "计补天数", "living_yuan": "生活补助（元）", "communication_yuan": "通讯补助（元）",
           "trips": "往返交通（次）", "total_yuan": "补助合计（元）"}
KINDS = {"计补天数": INT, "生活补助（元）": DECIMAL, "通讯补助（元）": DECIMAL, "往返交通（次）": INT, "补助合计（元）": DECIMAL}
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def parse_month(text: str) -> date:
    m = re.fullmatch(r"\s*(20\d{2})\s*[-年./]?\s*(\d{1,2})\s*月?\s*", text or "")
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ValueError(f"月份格式应为 2022-03：{text}")
    return date(int(m.group(1)), int(m.group(2)), 1)


def allowances(month: date, scope: Scope = ALL, sending_unit: str | None = None, role: str | None = None,
               db_path: str | None = None) -> pl.DataFrame:
    """One row per person for the month in scope: the view's figures, the unit, the ID number (masked unless the
    role may see personal data)."""
    where, params = scope.sql("a")
    if sending_unit:
        where, params = f"{where} AND a.sending_unit = ?", [*params, sending_unit]
    id_col = "p.id_number" if may_see_personal_data(role) else MASK_ID_SQL.format(c="p.id_number")
    return db.query_part(KIND, f"""
SELECT coalesce(a.sending_unit, '（未填派出单位）') AS sending_unit, a.person_key, a.name, {id_col} AS id_number,
       pr.name AS prefecture_name, c.name AS county_name, a.village, CAST(a.days_counted AS BIGINT) AS days_counted,
       al.living_yuan, al.communication_yuan, CAST(al.trips AS BIGINT) AS trips,
       al.living_yuan + al.communication_yuan AS total_yuan
FROM team_allowances al
JOIN team_attendance a ON a.person_key = al.person_key AND a.month = al.month AND a.prefecture_code = al.prefecture_code
JOIN team_personal p ON p.person_key = a.person_key
JOIN ref_prefecture pr ON pr.code = a.prefecture_code JOIN ref_county c ON c.code = a.county_code
WHERE al.month = ? AND {where}
ORDER BY sending_unit, pr.sort_order, a.county_code, a.village, a.name""", [month, *params], path=db_path)


def workbook(frame: pl.DataFrame, month: date, as_of_text: str | None = None) -> bytes:
    """One sheet per sending unit: title, as-of line, the people, a 合计 row; header frozen (hometown.export)."""
    rates = allowance_rates()
    sheets, used = [], set()
    units = frame["sending_unit"].unique(maintain_order=True).to_list() if frame.height else ["（无数据）"]
    for unit in units:
        rows = frame.filter(pl.col("sending_unit") == unit) if frame.height else frame
        table = rows.select(list(COLUMNS)).rename(COLUMNS)
        if rows.height:
            total = {c: None for c in table.columns} | {"姓名": "合计"} | {
                COLUMNS[k]: rows[k].sum() for k in ("days_counted", "living_yuan", "communication_yuan", "trips",
                                                     "total_yuan")}
            table = pl.concat([table, pl.DataFrame([total], schema=table.schema)])
        name = _SHEET_BAD.sub("_", unit)[:28] or "派出单位"
        while name in used:
            name = name[:26] + f"_{len(used)}"
        used.add(name)
        subtitle = (f"派出单位：{unit}　月份：{month:%Y年%m月}　截至：{as_of_text or f'{month:%Y-%m}月末'}　"
                    f"标准：生活补助 {rates['living_per_day']:g} 元/天，通讯补助 {rates['communication_per_month']:g} 元/月，"
                    f"往返交通每月至多 {int(rates['trips_cap'])} 次　导出时间：{datetime.now():%Y-%m-%d %H:%M}")
        sheets.append(Sheet(name, table, KINDS | {"身份证号": TEXT}, f"{unit} 驻村干部津补贴测算表（{month:%Y年%m月}）",
                            subtitle))
    notes = [("计补天数", "在村天数 + 公务外出天数（驻村考勤，以该月最新报送为准）"),
             ("生活补助", f"{rates['living_per_day']:g} 元 × 计补天数"),
             ("通讯补助", f"当月在岗 {rates['communication_per_month']:g} 元"),
             ("往返交通", f"报销往返次数，每月至多 {int(rates['trips_cap'])} 次（车费由派出单位按实报销）"),
             ("身份证号", "除管理员外均为脱敏显示")]
    return xlsx_bytes(sheets, notes, notes_title="津补贴测算说明")


def file_name(month: date, unit: str | None = None) -> str:
    return f"驻村干部津补贴测算_{unit + '_' if unit else ''}{month:%Y%m}.xlsx"


def export_command(args) -> int:
    """``python -m pipelines export allowances``: exit 0 on success, 2 for a usage error."""
    def fail(message: str) -> int:
        print(f"错误：{message}", file=sys.stderr)
        return 2

    out = Path(args.out)
    if out.suffix.lower() != ".xlsx":
        return fail(f"输出文件须为 .xlsx：{out}")
    try:
        month = parse_month(args.month)
    except ValueError as exc:
        return fail(str(exc))
    db_file = settings.db_path(args.db)
    if not db_file.exists():
        return fail(f"数据仓库不存在：{db_file}。请先导入报表（python -m pipelines ingest …）")
    role = "admin" if args.personal else None
    try:
        frame = allowances(month, sending_unit=args.unit, role=role, db_path=str(db_file))
    except db.WarehouseMissing as exc:
        return fail(str(exc))
    write_atomic(out, workbook(frame, month))
    if args.personal:  # a file with unmasked ID numbers: recorded
        audit.record("export", username=getpass.getuser(), role="admin", target=f"驻村干部津补贴测算 {month:%Y-%m}",
                     detail=f"命令行导出（含身份证号）：{out.name}，{frame.height} 人", client="cli")
    units = frame["sending_unit"].n_unique() if frame.height else 0
    print(f"已导出 {month:%Y-%m} 驻村干部津补贴测算 {frame.height} 人、{units} 个派出单位：{out}")
    return 0


def add_export(sub: argparse._SubParsersAction) -> None:
    """``export allowances`` (entry point ``hometown_dispatch.exports``)."""
    exp = sub.add_parser("allowances", help="驻村干部津补贴测算（Excel，每个派出单位一张表）")
    exp.add_argument("--month", required=True, help="月份，如 2022-03")
    exp.add_argument("--out", type=Path, required=True, help="输出文件（.xlsx）")
    exp.add_argument("--db", type=Path, default=None, help=DB_HELP)
    exp.add_argument("--unit", help="只导出某派出单位")
    exp.add_argument("--personal", action="store_true",
                     help="含完整身份证号（仅供财务发放；导出记入审计日志）")
    exp.set_defaults(run=export_command)
