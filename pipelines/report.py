"""Checking one report file against the contract (REPORT_SPEC §1–4) and turning it into typed frames.

``check_report`` never touches the warehouse: it returns a ``CheckedReport`` holding either the typed rows of
every sheet or every reason the file is refused, each naming file, sheet, Excel row, column, value and what
was expected, in Chinese, in the order of the sheets and their rows (``fold`` shortens the list for a screen).
Warnings (unknown columns, a 合计 row that does not add up, a 规划状态 that does not follow the stage, a figure
merged over several rows) never refuse a file.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from functools import lru_cache
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable, Iterator

import polars as pl

from geo import reference
from warehouse import stages
from pipelines.columns import (
    CHOICE, CODE, COUNTY_SHEET, DATE, FLAG, INT, MONEY, MONEY_UNITS, NEEDS_SHEET, PROJECTS_SHEET, STAGE, STATUS,
    TEXT, VILLAGE_SHEET, YEAR, Column, header_key,
)
from pipelines.header import Layout, detect_layout
from pipelines.read import Sheet, UnreadableFile, Workbook, read_workbook
from pipelines.values import (
    NOT_REPORTED, date_mapping, find_dates, flag_expr, int_expr, mapped_expr, normalise_series, normalised_expr,
    normalised_lookup, number_expr, parse_date, parse_date_text, parse_number, today,
)

# A screen lists at most this many messages of one kind and counts the rest (``fold``); report_log keeps every one.
MAX_MESSAGES_PER_PROBLEM = 20
YEAR_RANGE = (2021, 2030)
# Required columns whose cells may still say "not reported" (—, -, /, empty): null, never refused and never zero
# (REPORT_SPEC §3); the rules comparing them (其中公职人员 ≤ 编制组人数) skip a null.
MAY_BE_NOT_REPORTED = {"group_size", "civil_servants"}
SPECIAL_PLAN_FIELDS = ("plan_industry", "plan_talent", "plan_culture", "plan_ecology", "plan_organisation")
# Matched on the cell text as typed (before traditional → simplified), so both forms are listed.
_TOTAL_WORDS = re.compile(r"(合[计計]|小[计計]|[总總][计計])")
_GRAND_TOTAL_WORDS = re.compile(r"(合[计計]|[总總][计計])")
_FOOTER_START = re.compile(r"^(注|註|[备備][注註]|[说說]明|填表|填[报報]人|[联聯][系繫]|[审審]核|[负負][责責]人|[制製]表|[单單]位[负負][责責]人"
                           r"|分管[领領][导導]|[签簽]字|[盖蓋]章)")


@dataclass
class CheckedReport:
    file_name: str
    sha256: str
    prefecture_code: str | None = None
    as_of: date | None = None
    frames: dict[str, pl.DataFrame] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)       # every reason, in sheet and row order
    warnings: list[str] = field(default_factory=list)
    kind: str = ""  # the report kind that checked it (pipelines.kinds sets it)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def village_rows(self) -> int:
        frame = self.frames.get("village")
        return 0 if frame is None else frame.height

    def counted(self) -> str:
        """What an accepted file brought, for the one-line result (command, upload page, audit): each kind says
        what it counts."""
        return f"{self.village_rows} 个任务村"


class _Messages:
    """Collects messages: every one is kept (report_log holds them all, each with its row), listed in the order of
    the file's sheets and their rows. A screen folds them with ``fold``."""

    def __init__(self, file_name: str):
        self.file_name = file_name
        self.sheet_order: dict[str, int] = {}
        self._items: list[tuple[tuple, str]] = []   # (order key, text)

    def add(self, text: str, sheet: str | None = None, row: int | None = None, column: str | None = None,
            problem: str | None = None) -> None:
        """``problem`` names the kind of fault for the reader of the code; ``fold`` tells kinds from the text, so
        that report_log's stored lines fold the same way."""
        # One reason is one line: report_log.messages and the command's output are newline-separated.
        text = " ".join(text.split("\n"))
        parts = [self.file_name]
        if sheet:
            parts.append(sheet)
        if row is not None:
            parts.append(f"第{row}行")
        parts.append(f"{column}: {text}" if column else text)
        # File-wide reasons first, then sheet by sheet in the workbook's order, each sheet's own reasons before its
        # rows', rows in Excel order; reasons of one row in the order they were found (its columns, then its rules).
        order = (sheet is not None, self.sheet_order.get(sheet, len(self.sheet_order)) if sheet else -1,
                 -1 if row is None else row, len(self._items))
        self._items.append((order, " / ".join(parts)))

    def render(self) -> list[str]:
        """Every message, in order."""
        return [text for _, text in sorted(self._items, key=lambda item: item[0])]

    def __bool__(self) -> bool:
        return bool(self._items)


_MESSAGE = re.compile(r"^(?P<file>.+?) / (?:(?P<sheet>[^/]+?) / )?(?:第(?P<row>\d+)行 / )?(?P<rest>.*)$", re.DOTALL)
_QUOTED = re.compile(r"「[^」]*」|\d+(?:\.\d+)?")


def split_message(text: str) -> dict:
    """A message's parts — file, sheet, row (Excel's number), column, text — as ``_Messages.add`` wrote them."""
    m = _MESSAGE.match(text)
    if m is None:
        return {"file": None, "sheet": None, "row": None, "column": None, "text": text}
    rest = m["rest"]
    column, sep, said = rest.partition(": ")
    if not sep or m["row"] is None and m["sheet"] is None or len(column) > 40:
        column, said = None, rest
    return {"file": m["file"], "sheet": m["sheet"], "row": int(m["row"]) if m["row"] else None, "column": column,
            "text": said}


def fold(messages: list[str], limit: int = MAX_MESSAGES_PER_PROBLEM) -> list[str]:
    """Messages for a screen, in their order: at most ``limit`` of one kind (same sheet and column, same wording
    once the values quoted in it are set aside), then one line saying how many more there are. report_log and the
    downloadable list keep every one."""
    kinds = []
    for text in messages:
        p = split_message(text)
        kinds.append((p["file"], p["sheet"], p["column"], _QUOTED.sub("", p["text"])))
    totals: dict[tuple, int] = defaultdict(int)
    for kind in kinds:
        totals[kind] += 1
    seen: dict[tuple, int] = defaultdict(int)
    out = []
    for text, kind in zip(messages, kinds):
        seen[kind] += 1
        if seen[kind] <= limit:
            out.append(text)
        if seen[kind] == limit and totals[kind] > limit:
            where = " / ".join(p for p in kind[:3] if p)
            out.append(f"{where}: 同类问题另有 {totals[kind] - limit} 处未在此列出（共 {totals[kind]} 处），"
                       "完整清单见报送记录，可下载")
    return out


def check_file(path: Path, data: bytes | None, as_of_limit: date | None, report: type[CheckedReport],
               body: Callable[..., None]) -> CheckedReport:
    """The frame every report kind's check runs in: the bytes read once and hashed, the workbook read as what it
    really is (a misnamed file noted), ``body(file_name, workbook, checked, errors, warnings, as_of_limit)`` run over
    it, and the reasons rendered in sheet and row order. An unreadable file is one reason; a refused file keeps no
    frames."""
    path = Path(path)
    data = path.read_bytes() if data is None else data
    checked = report(file_name=path.name, sha256=hashlib.sha256(data).hexdigest())
    errors, warnings = _Messages(path.name), _Messages(path.name)
    try:
        workbook = read_workbook(path, data)
        for messages in (errors, warnings):
            messages.sheet_order = {sheet.name: i for i, sheet in enumerate(workbook.sheets)}
        if workbook.mismatch:
            warnings.add(workbook.mismatch)
        body(path.name, workbook, checked, errors, warnings, as_of_limit or today())
    except UnreadableFile as exc:
        # The reader names the file (and the sheet, for a damaged sheet); the message adds the file itself.
        text = str(exc)
        for prefix in (f"{path.name}: ", f"{path.name} / "):
            if text.startswith(prefix):
                text = text[len(prefix):]
                break
        errors.add(text)
    checked.errors = errors.render()
    checked.warnings = warnings.render()
    if checked.errors:
        checked.frames = {}
    return checked


def check_report(path: Path, data: bytes | None = None, as_of_limit: date | None = None) -> CheckedReport:
    """Check a progress report file; ``data`` is its bytes when already read (uploads), else the file is read."""
    return check_file(path, data, as_of_limit, CheckedReport, _check_sheets)


def usable_sheets(sheets: list[Sheet], warnings) -> Iterator[Sheet]:
    """The sheets a check reads, in workbook order: an empty sheet is skipped (noted when visible: an office may
    have meant to fill it) and a hidden one is skipped with a note (hidden sheets hold old or helper data)."""
    for sheet in sheets:
        if sheet.grid.height == 0:
            if sheet.visible:
                warnings.add("空白工作表，已忽略", sheet=sheet.name)
        elif not sheet.visible:
            warnings.add("隐藏工作表，已忽略", sheet=sheet.name)
        else:
            yield sheet


def sheet_layouts(sheets: list[Sheet], errors, warnings, detect: Callable[[Sheet], Layout | None],
                  not_ours: str) -> dict[str, tuple[Sheet, Layout]]:
    """Each usable sheet's layout by its sheet kind's key (``detect`` finds it by name or header). A sheet of no kind
    is noted with ``not_ours`` and ignored; a second sheet of the same kind is refused."""
    layouts: dict[str, tuple[Sheet, Layout]] = {}
    for sheet in usable_sheets(sheets, warnings):
        layout = detect(sheet)
        if layout is None:
            warnings.add(not_ours, sheet=sheet.name)
            continue
        if layout.kind.key in layouts:
            errors.add(f"与工作表「{layouts[layout.kind.key][0].name}」同为{layout.kind.title}表，一个文件只能有一张",
                       sheet=sheet.name)
            continue
        layouts[layout.kind.key] = (sheet, layout)
    return layouts


def _check_sheets(file_name, workbook: Workbook, checked, errors, warnings, as_of_limit: date) -> None:
    sheets = workbook.sheets
    layouts = sheet_layouts(sheets, errors, warnings, detect_layout, "不是村庄进度、县级汇总、需求清单、项目资金之一，已忽略")

    if "village" not in layouts:
        found = "、".join(s.name for s in sheets) or "无"
        if workbook.misnamed:
            # Read as what it really is and still no report in it: say what it is, not only what is missing.
            errors.add(f"{workbook.what_it_is}，其中没有找到「村庄进度」表（按表名或表头均未找到）")
        else:
            errors.add(f"缺少必需的工作表「村庄进度」（按表名或表头均未找到；文件中的工作表：{found}）")
        return

    raw: dict[str, tuple[Sheet, Layout, pl.DataFrame, pl.DataFrame]] = {}
    for key, (sheet, layout) in layouts.items():
        for col in layout.missing_required():
            errors.add(f"缺少必需的列「{col.canonical}」", sheet=sheet.name, problem="缺少列")
        for canonical, a, b in layout.duplicates:
            errors.add(f"列「{a}」和「{b}」都对应「{canonical}」，无法确定使用哪一列", sheet=sheet.name)
        for _, header in layout.unknown:
            warnings.add(f"未知列「{header}」，数值已原样保留", sheet=sheet.name, problem="未知列")
        rows, totals = _data_rows(sheet, layout)
        _note_merged_figures(sheet, layout, warnings)
        raw[key] = (sheet, layout, rows, totals)
        if key == "village" and rows.height == 0 and not layout.missing_required():
            # A report without a single village would replace the prefecture's figures with nothing.
            errors.add(f"表头（第{layout.header_rows[-1] + 1}行）以下没有任务村数据，报表为空", sheet=sheet.name)
    if errors:
        return

    prefecture_code = _resolve_report_prefecture(file_name, raw, errors)
    as_of = _resolve_as_of(file_name, raw, errors, as_of_limit)
    # Without a prefecture the counties cannot be checked, but every row's own values and rules still are,
    # so that the office gets every reason at once (REPORT_SPEC §4).
    checked.prefecture_code = prefecture_code
    checked.as_of = as_of

    frames: dict[str, pl.DataFrame] = {}
    for key, (sheet, layout, rows, totals) in raw.items():
        frames[key] = _typed_rows(sheet, layout, rows, totals, prefecture_code, errors, warnings)
    if errors:
        return
    _attach_village_keys(frames)
    checked.frames = frames


# ---------------------------------------------------------------- rows


def _data_rows(sheet: Sheet, layout: Layout) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The data rows below the header with an ``_row`` (Excel row number), less empty, total and footer rows."""
    # A merged range's value belongs to every row it covers (the county merged over its villages); a row whose only
    # content comes from such ranges (a merge drawn past the last village) is still an empty row.
    merged = bool(sheet.row_spans(layout.data_start))
    grid = sheet.filled_below(layout.data_start).with_row_index("_idx").slice(layout.data_start)
    grid = grid.with_columns((pl.col("_idx") + 1).cast(pl.Int64).alias("_row")).drop("_idx")
    cells = [c for c in grid.columns if c != "_row"]
    stripped = [pl.col(c).str.strip_chars() for c in cells]
    filled = pl.sum_horizontal([(s.is_not_null() & (s != "")).cast(pl.Int32) for s in stripped])
    if merged:  # each row's own cells, before the merged ranges filled it
        own = sheet.grid.slice(layout.data_start)
        grid = grid.with_columns(_own=own.select(pl.sum_horizontal(
            [(pl.col(c).str.strip_chars().fill_null("") != "").cast(pl.Int32) for c in own.columns])).to_series())
    first_cell = pl.coalesce([pl.when(s != "").then(s) for s in stripped])
    label_cols = [m.grid_col for f, m in layout.mapped.items() if f in ("prefecture", "county", "township", "village")]
    label_cols += [c for c in cells[:2] if c not in label_cols]
    is_total = pl.any_horizontal([pl.col(c).fill_null("").str.replace_all(r"\s", "").str.contains(_TOTAL_WORDS.pattern)
                                  for c in label_cols])
    signed = first_cell.fill_null("").str.replace_all(r"\s", "").str.contains(_FOOTER_START.pattern)
    key_fields = [layout.mapped[f].grid_col for f in ("county", "village", "content", "project_name")
                  if f in layout.mapped]

    def key_cells(test) -> pl.Expr:
        return pl.all_horizontal([test(pl.col(c).fill_null("").str.replace_all(r"\s", "")) for c in key_fields]) \
            if key_fields else pl.lit(True)

    keys_empty = key_cells(lambda c: c == "")
    # A signature row (填表人：… 审核人：… 联系电话：…) may spread its cells over any columns, key columns included:
    # it is a footer while its key cells hold nothing but such labelled text, never a place name.
    keys_signed = key_cells(lambda c: (c == "") | c.str.contains(_FOOTER_START.pattern) | c.str.contains("[:：]"))
    is_footer = (signed & keys_signed) | ((filled <= 1) & keys_empty)
    grid = grid.with_columns(_filled=filled, _total=is_total, _footer=is_footer)
    grid = grid.filter((pl.col("_filled") > 0) & (pl.col("_own") > 0) if merged else pl.col("_filled") > 0)
    totals = grid.filter(pl.col("_total"))
    rows = grid.filter(~pl.col("_total") & ~pl.col("_footer"))
    helpers = ("_filled", "_total", "_footer", "_own") if merged else ("_filled", "_total", "_footer")
    return rows.drop(*helpers), totals.drop(*helpers)


def _note_merged_figures(sheet: Sheet, layout: Layout, warnings: _Messages) -> None:
    """A figure merged over several rows counts in each of them (the rule that gives a merged county to all its
    villages); a number is more often the rows' total, so the office is told where, without refusing the file."""
    numeric = {int(m.grid_col[1:]): m for m in layout.mapped.values() if m.column.kind in (INT, MONEY)}
    for r1, r2, c in sheet.row_spans(layout.data_start):
        m = numeric.get(c)
        value = sheet.grid[m.grid_col][r1] if m is not None else None
        if value is None or not str(value).strip():
            continue
        warnings.add(f"第{r1 + 1}–{r2 + 1}行的合并单元格「{str(value).strip()}」已计入所覆盖的每一行（共 {r2 - r1 + 1} 行）；"
                     "如为这些行的合计，请拆分后逐行填写", sheet=sheet.name, row=r1 + 1, column=m.header,
                     problem="合并单元格的数值")


def _header_of(layout: Layout, field_name: str) -> str:
    m = layout.mapped.get(field_name)
    return m.header if m else layout.kind.by_field(field_name).canonical


def _report_bad(errors: _Messages, sheet: Sheet, layout: Layout, field_name: str, frame: pl.DataFrame,
                mask: pl.Series, expected: str, raw_col: str | None = None) -> None:
    if not mask.any():
        return
    header = _header_of(layout, field_name)
    raw_col = raw_col or layout.mapped[field_name].grid_col
    bad = frame.filter(mask).select("_row", raw_col)
    for row, value in bad.iter_rows():
        # An empty cell has no value to quote ("「None」为空" would read as if None had been typed).
        shown = "" if value is None or not str(value).strip() else f"「{value}」"
        errors.add(f"{shown}{expected}", sheet=sheet.name, row=row, column=header, problem=expected)


def _typed_rows(sheet: Sheet, layout: Layout, rows: pl.DataFrame, totals: pl.DataFrame, prefecture_code: str,
                errors: _Messages, warnings: _Messages) -> pl.DataFrame:
    """Every mapped column parsed by its type, and every faulty cell reported.

    All columns are parsed in ONE polars select (values and fault masks side by side): a sheet costs a handful
    of passes over its data however many columns it has. Only the distinct texts that need Python (OpenCC,
    stage names, dates) are looked up in Python.
    """
    kind = layout.kind
    mapped = layout.mapped
    text_kinds = (TEXT, STATUS, CHOICE, FLAG)
    needs_norm = [m.grid_col for f, m in mapped.items() if m.column.kind in text_kinds and f != "notes"]
    # Each column's distinct texts, normalised in one OpenCC call for all of them; each column then looks up
    # only its own texts (a mapping of every text of the sheet per column would cost columns × texts).
    per_column = rows.select([pl.col(c).cast(pl.String).drop_nulls().unique().implode() for c in needs_norm]).row(0) \
        if needs_norm else ()
    normalised = normalised_lookup(sorted({t for texts in per_column for t in texts}))
    lookups = {c: {t: normalised[t] for t in texts} for c, texts in zip(needs_norm, per_column)}

    exprs: list[pl.Expr] = [pl.col("_row").alias("excel_row")]
    checks: list[tuple[str, str, str, str]] = []  # (mask column, field, expected, grid column)
    parsed_once: list[pl.Expr] = []

    def once(expr: pl.Expr) -> pl.Expr:
        """Evaluate a parse a single time (polars does not share a sub-expression repeated across outputs)."""
        name = f"_p{len(parsed_once)}"
        parsed_once.append(expr.alias(name))
        return pl.col(name)

    def check(mask: pl.Expr, field_name: str, expected: str, grid_col: str) -> None:
        name = f"_bad{len(checks)}"
        exprs.append(mask.fill_null(False).alias(name))
        checks.append((name, field_name, expected, grid_col))

    for field_name, m in mapped.items():
        col, raw, g = m.column, pl.col(m.grid_col), m.grid_col
        if col.kind == TEXT:
            text = once(raw.str.strip_chars() if field_name == "notes" else normalised_expr(g, lookups[g]))
            value = pl.when(text != "").then(text)
            if col.required:
                check(value.is_null(), field_name, "为空，该列必须填写", g)
        elif col.kind in (INT, YEAR):
            parsed, bad = map(once, int_expr(raw))
            check(bad, field_name, "不是整数", g)
            if col.kind == YEAR:
                lo, hi = YEAR_RANGE
                out_of_range = parsed.is_not_null() & ((parsed < lo) | (parsed > hi))
                check(out_of_range, field_name, f"超出范围，任务年度应在{lo}–{hi}之间", g)
                value = parsed
            else:
                out_of_range = parsed.is_not_null() & (parsed < 0)
                check(out_of_range, field_name, "为负数，应为不小于0的整数", g)
                if field_name == "steps_done":
                    over = parsed.is_not_null() & (parsed > stages.STEPS_TOTAL)
                    check(over, field_name, f"超出范围，已完成步骤数应在0–{stages.STEPS_TOTAL}之间", g)
                    out_of_range = out_of_range | over
                # A value already refused is left out of the rules below, so one fault gives one reason, not two
                # (编制组人数 -3 is not also "其中公职人员 3 大于 编制组人数 -3").
                value = pl.when(~out_of_range.fill_null(False)).then(parsed)
            if col.required and field_name not in MAY_BE_NOT_REPORTED:
                check(parsed.is_null() & ~bad, field_name, "为空，该列必须填写", g)
        elif col.kind == MONEY:
            parsed, bad = map(once, number_expr(raw))
            check(bad, field_name, "不是数字", g)
            check(parsed.is_not_null() & (parsed < 0), field_name, "为负数，金额应不小于0", g)
            unit = m.unit or "万元"
            if unit not in MONEY_UNITS:
                errors.add(f"表头单位「{unit}」无法识别，应为 元、万元 或 亿元", sheet=sheet.name, column=m.header)
            if col.required:
                check(parsed.is_null() & ~bad, field_name, "为空，该列必须填写", g)
            value = parsed * MONEY_UNITS.get(unit, 1.0)
        elif col.kind == FLAG:
            value, bad = map(once, flag_expr(raw, normalised_expr(g, lookups[g])))
            check(bad, field_name, "无法识别，应为 是/否、✓/空、1/0 或 已完成/未完成", g)
        elif col.kind == STAGE:
            texts = rows[g].drop_nulls().unique().to_list()
            value = once(mapped_expr(raw, {u: stages.parse_stage(u) for u in texts}, pl.Int64))
            present = raw.str.strip_chars().fill_null("") != ""
            check(present & value.is_null(), field_name,
                  "不是有效的环节，应为1–7或环节名称（" + "、".join(stages.stage_names().values()) + "）", g)
            check(~present, field_name, "为空，该列必须填写", g)
        elif col.kind == STATUS:
            text = once(normalised_expr(g, lookups[g]))
            # —, -, / mean "not reported": null, so that the status is derived from the stage.
            unset = ((text == "") | raw.str.strip_chars().is_in(NOT_REPORTED)).fill_null(True)
            value = pl.when(~unset).then(text)
            check(value.is_not_null() & ~value.is_in(list(stages.PLAN_STATUSES)), field_name,
                  "不是有效的规划状态，应为 " + "/".join(stages.PLAN_STATUSES), g)
        elif col.kind == CHOICE:
            text = once(pl.when(~raw.str.strip_chars().is_in(NOT_REPORTED).fill_null(False)).then(normalised_expr(g, lookups[g])))
            choice_of = {n: next((c for c in col.choices if c in n), None) for n in set(lookups[g].values()) if n}
            value = mapped_expr(text, {k: v for k, v in choice_of.items() if v}, pl.String)
            check(text.is_not_null() & (text != "") & value.is_null(), field_name,
                  "不是有效的取值，应为 " + "/".join(col.choices), g)
        elif col.kind == CODE:
            text = once(raw.str.strip_chars().str.replace(r"\.0+$", ""))
            value = pl.when(text != "").then(text)
            check(value.is_not_null() & ~value.str.contains(r"^\d{12}$"), field_name, "不是12位统计用区划代码", g)
        elif col.kind == DATE:
            # The reporting date is checked file-wide in _resolve_as_of.
            value = mapped_expr(raw, date_mapping(rows[g].drop_nulls().unique().to_list()), pl.Date)
        else:
            continue
        exprs.append(value.alias(field_name))

    evaluated = rows.with_columns(parsed_once).select(exprs)
    if checks:
        faulty = evaluated.select([pl.col(name).any() for name, *_ in checks]).row(0)
        for (name, field_name, expected, grid_col), any_bad in zip(checks, faulty):
            if any_bad:
                _report_bad(errors, sheet, layout, field_name, rows, evaluated[name], expected, raw_col=grid_col)
    frame = evaluated.drop([name for name, *_ in checks])
    if layout.unknown:
        extra = rows.select([pl.col(c).alias(h) for c, h in layout.unknown])
        frame = frame.with_columns(extra=extra.select(pl.struct(pl.all()).struct.json_encode()).to_series())

    frame = _check_places(sheet, layout, frame, prefecture_code, errors)
    if kind is VILLAGE_SHEET:
        frame = _check_village_rules(sheet, layout, frame, errors, warnings)
    elif kind is COUNTY_SHEET:
        frame = _check_county_rules(sheet, layout, frame, errors)
    _check_totals(sheet, layout, frame, totals, warnings)
    for c in kind.columns:  # absent optional columns: null, so the warehouse sees "not reported"
        if c.field not in frame.columns and c.kind != DATE:
            dtype = {INT: pl.Int64, YEAR: pl.Int64, MONEY: pl.Float64, FLAG: pl.Boolean, STAGE: pl.Int64}.get(c.kind, pl.String)
            frame = frame.with_columns(pl.lit(None, dtype=dtype).alias(c.field))
    return frame


def _check_places(sheet, layout, frame: pl.DataFrame, prefecture_code: str, errors: _Messages) -> pl.DataFrame:
    """Each row's county must be a county of the report's prefecture; short forms resolve where unique."""
    if "county" not in frame.columns:
        return frame
    if prefecture_code is None:  # the file is refused already; counties are checked once it names its prefecture
        return frame.with_columns(county_code=pl.lit(None, pl.String), prefecture_code=pl.lit(None, pl.String))
    county_header = _header_of(layout, "county")
    pref_name = reference.prefecture_name(prefecture_code)
    names = frame["county"].drop_nulls().unique().to_list()
    mapping: dict[str, str | None] = {}
    for name in names:
        code = reference.resolve_county(name, prefecture_code)
        mapping[name] = code
        if code is None:
            elsewhere = reference.resolve_county(name)
            if elsewhere is not None:
                problem = f"属于{reference.prefecture_name(reference.county_prefecture(elsewhere))}，不是{pref_name}的县（市、区）"
            else:
                problem = f"不是{pref_name}的县（市、区），无法识别"
            for row in frame.filter(pl.col("county") == name)["excel_row"].to_list():
                errors.add(f"「{name}」{problem}", sheet=sheet.name, row=row, column=county_header, problem=problem)
    codes = frame["county"].replace_strict(list(mapping) or [""], list(mapping.values()) or [None], default=None,
                                           return_dtype=pl.String)
    return frame.with_columns(county_code=codes, prefecture_code=pl.lit(prefecture_code))


def _check_village_rules(sheet, layout, frame: pl.DataFrame, errors: _Messages, warnings: _Messages) -> pl.DataFrame:
    def flag(mask_expr, field_name, text_fn, problem):
        bad = frame.filter(mask_expr)
        for rec in bad.iter_rows(named=True):
            errors.add(text_fn(rec), sheet=sheet.name, row=rec["excel_row"], column=_header_of(layout, field_name),
                       problem=problem)

    cs, gs = _header_of(layout, "civil_servants"), _header_of(layout, "group_size")
    flag((pl.col("civil_servants") > pl.col("group_size")), "civil_servants",
         lambda r: f"{r['civil_servants']} 大于 {gs} {r['group_size']}", f"大于{gs}")
    if "needs_adopted" in frame.columns and "needs_total" in frame.columns:
        nt = _header_of(layout, "needs_total")
        flag((pl.col("needs_adopted") > pl.col("needs_total")), "needs_adopted",
             lambda r: f"{r['needs_adopted']} 大于 {nt} {r['needs_total']}", f"大于{nt}")
    lo, hi = 4 * pl.col("stage") - 4, 4 * pl.col("stage")
    sh = _header_of(layout, "stage")
    flag(((pl.col("steps_done") < lo) | (pl.col("steps_done") > hi)), "steps_done",
         lambda r: f"{r['steps_done']} 与{sh} {r['stage']} 不一致，第{r['stage']}环节应为 "
                   f"{4 * r['stage'] - 4}–{4 * r['stage']} 步", "与环节不一致")

    # 规划状态: derived when empty; a status that does not follow the stage is only a warning.
    given = pl.col("plan_status") if "plan_status" in frame.columns else pl.lit(None, pl.String)
    frame = frame.with_columns(plan_status_given=given).join(
        _expected_statuses(), on=["stage", "steps_done"], how="left", maintain_order="left")
    mismatch = frame.filter(pl.col("plan_status_given").is_not_null() & pl.col("_expected").is_not_null()
                            & ~pl.col("plan_status_given").is_in(pl.col("_expected")).fill_null(True))
    status_header = _header_of(layout, "plan_status")
    for row, s, t, status, exp in mismatch.select("excel_row", "stage", "steps_done", "plan_status_given",
                                                  "_expected").iter_rows():
        warnings.add(f"「{status}」与第{s}环节、{t}步不符（应为 {'/'.join(exp)}），以填报为准",
                     sheet=sheet.name, row=row, column=status_header, problem="规划状态与环节不符")
    frame = frame.with_columns(
        plan_status=pl.coalesce("plan_status_given", pl.col("_expected").list.first())
    ).drop("plan_status_given", "_expected")

    flags = [pl.col(f).fill_null(False).cast(pl.Int8) for f in SPECIAL_PLAN_FIELDS if f in frame.columns]
    frame = frame.with_columns(special_plans_done=pl.sum_horizontal(flags).cast(pl.Int8) if flags else pl.lit(0, pl.Int8))

    # The same village twice: by code where given, else by (county, township, village).
    # Each repeat is reported at its own row, naming the row it repeats.
    key_cols = ["county_code", "township", "village"]
    dup = frame.filter(pl.struct(key_cols).is_duplicated() & pl.col("village").is_not_null())
    for (county, township, village), group in dup.group_by(key_cols, maintain_order=True):
        first, *repeats = group["excel_row"].to_list()
        for row in repeats:
            errors.add(f"「{village}」（{township or ''}）与第{first}行重复，同一村在一份报表中只能出现一次",
                       sheet=sheet.name, row=row, column=_header_of(layout, "village"), problem="重复村")
    if "village_code" in frame.columns:
        dup = frame.filter(pl.col("village_code").is_not_null() & pl.col("village_code").is_duplicated())
        for (code,), group in dup.group_by(["village_code"], maintain_order=True):
            first, *repeats = group["excel_row"].to_list()
            for row in repeats:
                errors.add(f"「{code}」与第{first}行的村代码重复，同一村在一份报表中只能出现一次", sheet=sheet.name,
                           row=row, column=_header_of(layout, "village_code"), problem="重复村代码")
        wrong = frame.filter(pl.col("village_code").is_not_null() & pl.col("county_code").is_not_null()
                             & (pl.col("village_code").str.slice(0, 6) != pl.col("county_code")))
        for rec in wrong.iter_rows(named=True):
            errors.add(f"「{rec['village_code']}」不属于 {rec['county']}（县代码 {rec['county_code']}）",
                       sheet=sheet.name, row=rec["excel_row"], column=_header_of(layout, "village_code"),
                       problem="村代码与县不符")
    return frame


@lru_cache(maxsize=1)
def _expected_statuses() -> pl.DataFrame:
    """Every consistent (stage, steps) pair and the statuses it allows; the first is the derived status."""
    pairs = []
    for k in range(1, stages.STAGE_COUNT + 1):
        lo, hi = stages.steps_allowed(k)
        pairs += [(k, t, list(stages.expected_statuses(k, t))) for t in range(lo, hi + 1)]
    return pl.DataFrame(pairs, schema={"stage": pl.Int64, "steps_done": pl.Int64, "_expected": pl.List(pl.String)},
                        orient="row")


def _check_county_rules(sheet, layout, frame: pl.DataFrame, errors: _Messages) -> pl.DataFrame:
    if "selected_cadres" in frame.columns and "identified_civil_servants" in frame.columns:
        ident = _header_of(layout, "identified_civil_servants")
        bad = frame.filter(pl.col("selected_cadres") > pl.col("identified_civil_servants"))
        for rec in bad.iter_rows(named=True):
            errors.add(f"{rec['selected_cadres']} 大于 {ident} {rec['identified_civil_servants']}", sheet=sheet.name,
                       row=rec["excel_row"], column=_header_of(layout, "selected_cadres"), problem=f"大于{ident}")
    dup = frame.filter(pl.col("county_code").is_not_null() & pl.col("county_code").is_duplicated())
    for (code,), group in dup.group_by(["county_code"], maintain_order=True):
        first, *repeats = group["excel_row"].to_list()
        for row in repeats:
            errors.add(f"「{reference.county_name(code)}」与第{first}行重复，同一县在汇总表中只能出现一次",
                       sheet=sheet.name, row=row, column=_header_of(layout, "county"), problem="重复县")
    return frame


def _check_totals(sheet, layout, frame: pl.DataFrame, totals: pl.DataFrame, warnings: _Messages) -> None:
    """A single 合计/总计 row is checked against the column sums; 小计 rows are skipped without a check."""
    grand = [r for r in totals.iter_rows(named=True)
             if any(v and _GRAND_TOTAL_WORDS.search(str(v)) for v in r.values())]
    if len(grand) != 1:
        return
    total_row = grand[0]
    for field_name, m in layout.mapped.items():
        if m.column.kind not in (INT, MONEY) or field_name not in frame.columns:
            continue
        value, bad = parse_number(pl.Series([total_row.get(m.grid_col)], dtype=pl.String))
        if value[0] is None:
            continue
        factor = MONEY_UNITS.get(m.unit or "万元", 1.0) if m.column.kind == MONEY else 1.0
        stated, summed = value[0] * factor, frame[field_name].sum() or 0
        if abs(stated - summed) > max(1e-6, abs(summed) * 1e-9) + (0.005 * factor if m.column.kind == MONEY else 0):
            warnings.add(f"合计行为 {value[0]:g}，各行之和为 {summed / factor:g}，不一致", sheet=sheet.name,
                         row=total_row["_row"], column=m.header, problem="合计不符")


# ---------------------------------------------------------------- prefecture and date


def _resolve_report_prefecture(file_name: str, raw, errors: _Messages) -> str | None:
    """From the 州市 column, the title rows, the file name; two sources that disagree refuse the file."""
    sources: dict[str, str] = {}
    # prefecture code → the rows naming it: (sheet, column header, Excel row, name as typed)
    column_codes: dict[str, list[tuple[str, str, int, str]]] = defaultdict(list)
    for key, (sheet, layout, rows, _) in raw.items():
        m = layout.mapped.get("prefecture")
        if m is None:
            continue
        values = normalise_series(rows[m.grid_col])
        for name in values.drop_nulls().unique().to_list():
            if not name:
                continue
            code = reference.resolve_prefecture(name)
            if code is None:
                first = rows.filter(values == name)["_row"][0]
                errors.add(f"「{name}」不是云南省的州（市）", sheet=sheet.name, row=first, column=m.header,
                           problem="未知州市")
                continue
            column_codes[code] += [(sheet.name, m.header, int(r), name) for r in rows.filter(values == name)["_row"]]
    # Each sheet's title rows are a source of their own, so that two sheets naming different prefectures disagree.
    title_codes = {sheet.name: code for sheet, layout, _, _ in raw.values()
                   if (code := _prefecture_in_text(layout.title_text))}
    title_code = next(iter(title_codes.values())) if len(set(title_codes.values())) == 1 else None
    name_code = _prefecture_in_text(Path(file_name).stem)
    if len(column_codes) > 1:
        # The report's own prefecture is the one its title or file name names, else the one most rows name;
        # every row naming another is a reason of its own.
        main = next((c for c in (title_code, name_code) if c in column_codes), None) \
            or max(column_codes, key=lambda c: (len(column_codes[c]), -min(r[2] for r in column_codes[c])))
        main_name = reference.prefecture_name(main)
        for code, found in column_codes.items():
            if code == main:
                continue
            for sheet_name, header, row, name in found:
                errors.add(f"「{name}」与本文件其他行的{main_name}不是同一个州（市），一个文件只能报送一个州（市）",
                           sheet=sheet_name, row=row, column=header, problem="多个州市")
        return None
    if column_codes:
        sources["州市列"] = next(iter(column_codes))
    for sheet_name, code in title_codes.items():
        sources[f"「{sheet_name}」标题行"] = code
    if name_code:
        sources["文件名"] = name_code
    distinct = set(sources.values())
    if len(distinct) > 1:
        said = "；".join(f"{where}为{reference.prefecture_name(code)}" for where, code in sources.items())
        errors.add(f"州（市）来源不一致：{said}")
        return None
    if not distinct:
        if not errors:
            errors.add("无法确定报送的州（市）：表中无「州市」列，标题行和文件名中也没有州（市）名称")
        return None
    return distinct.pop()


def _prefecture_in_text(text: str) -> str | None:
    found = reference.prefectures_in_text(text)
    return found[0] if len(found) == 1 else None


def _resolve_as_of(file_name: str, raw, errors: _Messages, as_of_limit: date) -> date | None:
    sources: dict[str, date] = {}
    for key, (sheet, layout, rows, _) in raw.items():
        m = layout.mapped.get("as_of")
        if m is None:
            continue
        values, bad = parse_date(rows[m.grid_col])
        for row, value in rows.filter(bad).select("_row", m.grid_col).iter_rows():
            errors.add(f"「{value}」不是有效日期", sheet=sheet.name, row=row, column=m.header, problem="无效日期")
        distinct = values.drop_nulls().unique().to_list()
        if len(distinct) > 1:
            errors.add(f"同一张表中有多个截止日期：{'、'.join(str(d) for d in sorted(distinct))}，应为同一日期",
                       sheet=sheet.name, column=m.header)
        elif distinct:
            # Keyed by sheet: two sheets of one file that give different dates disagree like any two sources.
            sources[f"「{sheet.name}」日期列"] = distinct[0]
    for key, (sheet, layout, rows, _) in raw.items():
        dates = find_dates(layout.title_text)
        if len(dates) > 1:
            # 截至2022年3月31日 beside 填报日期：2022年4月2日, or a period 2022年1月1日至2022年3月31日: the as-of
            # date is the one written after 截至/截止/至.
            dates = find_dates(layout.title_text, as_of_only=True) or dates
        if len(dates) == 1:
            sources[f"「{sheet.name}」标题行"] = dates[0]
        elif len(dates) > 1:
            errors.add(f"标题行中有多个日期：{'、'.join(str(d) for d in dates)}，无法确定截止日期", sheet=sheet.name)
    name_date = parse_date_text(Path(file_name).stem)
    if name_date:
        sources["文件名"] = name_date
    distinct = set(sources.values())
    if len(distinct) > 1:
        said = "；".join(f"{where}为{d.isoformat()}" for where, d in sources.items())
        errors.add(f"截止日期来源不一致：{said}")
        return None
    if not distinct:
        errors.add("无法确定截止日期：表中无「截止日期/统计日期」列，标题行（如「截至2022年3月31日」）和文件名（如「红河州_20220331.xlsx」）中也没有日期")
        return None
    as_of = distinct.pop()
    if as_of > as_of_limit:
        errors.add(f"截止日期 {as_of.isoformat()} 晚于今天（{as_of_limit.isoformat()}），不能报送未来日期的数据")
    return as_of


# ---------------------------------------------------------------- village keys


def synthetic_key(county_code: str, township: str, village: str) -> str:
    """A stable key for a village the roster does not know: county code + a digest of its names."""
    digest = hashlib.sha1(f"{township}|{village}".encode()).hexdigest()[:10]
    return f"{county_code}-{digest}"


def _attach_village_keys(frames: dict[str, pl.DataFrame]) -> None:
    """village_code where given or found in the NBS roster; village_key is the code or a synthetic key."""
    roster = reference.roster_lookup()  # (county_code, township key, village key) → village_code
    for key in ("village", "needs", "projects"):
        frame = frames.get(key)
        if frame is None or "village" not in frame.columns:
            continue
        if "village_code" not in frame.columns:
            frame = frame.with_columns(village_code=pl.lit(None, pl.String))
        combos = frame.filter(pl.col("village").is_not_null() & pl.col("village_code").is_null()) \
            .select("county_code", "township", "village").unique()
        found = {}
        for county, township, village in combos.iter_rows():
            code = reference.lookup_village(county, township, village, roster)
            found[(county, township, village)] = code or synthetic_key(county, township or "", village)
        if found:
            lookup = pl.DataFrame(
                [(c, t, v, k) for (c, t, v), k in found.items()],
                schema={"county_code": pl.String, "township": pl.String, "village": pl.String, "_key": pl.String},
                orient="row",
            )
            frame = frame.join(lookup, on=["county_code", "township", "village"], how="left", nulls_equal=True)
        else:
            frame = frame.with_columns(_key=pl.lit(None, pl.String))
        is_code = pl.col("_key").is_not_null() & pl.col("_key").str.contains(r"^\d{12}$")
        frame = frame.with_columns(
            village_code=pl.coalesce("village_code", pl.when(is_code).then(pl.col("_key"))),
        ).with_columns(
            village_key=pl.coalesce("village_code", "_key"),
        ).drop("_key")
        frames[key] = frame
