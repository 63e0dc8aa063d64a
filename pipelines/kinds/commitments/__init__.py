"""任期承诺 (COMMITMENTS_SPEC.md), a report kind of its own: one plan, five lists of public commitments per village
party branch, crossed off item by item (销号).

The room holds the contract as data (columns), the checks (check), the blank template (template) and the loader
below; the tables, views, metrics and alert rules are the ground floor's part (warehouse/parts/commitments.py).
Files are told apart from progress reports by their sheets (承诺事项, 承诺进展).
"""

from __future__ import annotations

import duckdb
import polars as pl

from pipelines.kinds import ReportKind
from pipelines.kinds.commitments.check import KEY, CommitmentReport, check_against, check_commitments
from pipelines.kinds.commitments.template import TEMPLATE_NOTE, blank_template, template_file_name
from warehouse.parts.commitments import ITEM_FIELDS, PROGRESS_FIELDS
from warehouse.store import insert_frame

VIEWS = ("commitment_items", "commitment_targets", "commitment_progress", "commitment_status", "commitment_summary")


def _frame(frame: pl.DataFrame, report_id: int, fields) -> pl.DataFrame:
    frame = frame.with_columns(report_id=pl.lit(report_id, pl.Int32))
    for name in fields:
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None).alias(name))
    return frame


def load(con: duckdb.DuckDBPyConnection, checked: CommitmentReport, report_id: int) -> None:
    """A checked file's items, yearly targets and evaluations into their tables, under its report_id."""
    items = checked.frames.get("items")
    if items is not None and items.height:
        insert_frame(con, "commitment_item_rows", _frame(items, report_id, ITEM_FIELDS),
                     ["report_id", "excel_row", *ITEM_FIELDS])
    targets = checked.frames.get("targets")
    if targets is not None and targets.height:
        insert_frame(con, "commitment_target_rows", _frame(targets, report_id, ()),
                     ["report_id", "village_key", "item_no", "year", "target"])
    progress = checked.frames.get("progress")
    if progress is not None and progress.height:
        progress = progress.with_columns(prefecture_code=pl.lit(checked.prefecture_code))
        insert_frame(con, "commitment_progress_rows", _frame(progress, report_id, PROGRESS_FIELDS),
                     ["report_id", "excel_row", *PROGRESS_FIELDS])


KIND = ReportKind(
    key=KEY,
    label="任期承诺报表",
    sheets=("承诺事项", "承诺进展", "任期承诺", "五张清单"),
    check=check_commitments,
    load=load,
    template=blank_template,
    template_name=template_file_name,
    template_note=TEMPLATE_NOTE,
    views=VIEWS,
    order=20,
    check_against=check_against,
)
