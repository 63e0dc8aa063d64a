"""The village progress report (村庄规划进度报表, REPORT_SPEC.md): the one report kind the platform started with.

Its contract (sheets, columns, aliases) is pipelines.columns, its checks pipelines.report, its template
pipelines.template — the pipeline's first modules, written for this kind; what is the kind's alone is declared
here: the loader that puts a checked report's four sheets into their tables, and the ``KIND`` the registry
(pipelines.kinds) finds.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from pipelines.columns import SHEET_KINDS
from pipelines.kinds import ReportKind
from pipelines.report import CheckedReport, check_report
from pipelines.template import blank_template, template_file_name
from warehouse.store import COUNTY_FIELDS, NEED_FIELDS, PROJECT_FIELDS, VILLAGE_FIELDS, insert_frame

# Sheet (CheckedReport.frames key) → warehouse table and the columns loaded into it.
TABLES = (("village", "village_rows", VILLAGE_FIELDS), ("county", "county_rows", COUNTY_FIELDS),
          ("needs", "need_rows", NEED_FIELDS), ("projects", "project_rows", PROJECT_FIELDS))


def load(con: duckdb.DuckDBPyConnection, checked: CheckedReport, report_id: int) -> None:
    """A checked report's rows into its tables, under its report_id (inside the loader's transaction)."""
    for key, table, fields in TABLES:
        frame = checked.frames.get(key)
        if frame is None or frame.height == 0:
            continue
        frame = frame.with_columns(report_id=pl.lit(report_id, pl.Int32))
        for name in fields:
            if name not in frame.columns:
                frame = frame.with_columns(pl.lit(None).alias(name))
        insert_frame(con, table, frame, ["report_id", "excel_row", *fields])


def _check(path: Path, data: bytes | None, as_of_limit) -> CheckedReport:
    return check_report(path, data, as_of_limit=as_of_limit)


KIND = ReportKind(
    key="progress",
    label="村庄规划进度报表",
    sheets=tuple(dict.fromkeys(hint for sheet in SHEET_KINDS for hint in (sheet.title, *sheet.name_hints))),
    check=_check,
    load=load,
    template=blank_template,
    template_name=template_file_name,
    template_note=(f"模板包含{'、'.join(sheet.title for sheet in SHEET_KINDS)}{len(SHEET_KINDS)}张表，表头与报送规范一致；"
                   "州市、县市区、当前环节、规划状态、是/否等列可从下拉列表选择。"),
    views=("report_log", "village_status", "village_history", "county_summary", "prefecture_summary", "needs",
           "projects"),
    order=0,
)
