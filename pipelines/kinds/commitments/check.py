"""Checking one 任期承诺 workbook (COMMITMENTS_SPEC §1–2) with the report machinery of pipelines/.

Reading (pipelines.read), header detection (pipelines.header), the data rows below the header, the prefecture and
the reporting date (pipelines.report) are the progress report's own, so REPORT_SPEC §3's tolerated variations hold
here too. What is this kind's: its columns' types, the yearly target columns, 公示时间 ranges, and the refusals of
§2, each naming file, sheet, 第N行, column and value in Chinese. The checks that need the warehouse (a progress row
for an item neither in this file nor already loaded) are in ``check_against``, run by the loader.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from geo import reference
from pipelines.columns import CHOICE, CODE, DATE, TEXT, header_key, split_unit
from pipelines.header import MappedColumn, detect_layout
from pipelines.report import (
    CheckedReport, check_file, sheet_layouts, _attach_village_keys, _check_places, _data_rows, _resolve_as_of,
    _resolve_report_prefecture,
)
from pipelines.values import NOT_REPORTED, normalised_lookup, number_expr, parse_date_text
from pipelines.kinds.commitments.columns import (
    CLOSED, ITEMS_SHEET, NUMBER, ORDINALS, PROGRESS_SHEET, SHEETS, YEAR_RANGE, YEARLY_TARGET,
)

KEY = "commitments"
PASSED = "通过"
FINAL_ACCEPTANCE = "期末验收"
_RANGE = re.compile(r"(20\d{2})\s*[.\-/年]\s*(\d{1,2})\s*[.\-/月]\s*(\d{1,2})\s*日?\s*(?:-|—|－|–|~|～|至|到)+\s*"
                    r"(?:(20\d{2})\s*[.\-/年]\s*)?(\d{1,2})\s*[.\-/月]\s*(\d{1,2})\s*日?")
_YEAR_ONLY = re.compile(r"^(20\d{2})\s*年?\s*(?:底|末|年底|年末)?$")
_YEAR_MONTH = re.compile(r"^(20\d{2})\s*[.\-/年]\s*(\d{1,2})\s*月?\s*(?:底|末)?$")


@dataclass
class CommitmentReport(CheckedReport):
    """A checked 任期承诺 file: frames ``items``, ``targets``, ``progress`` (each may be absent)."""

    @property
    def village_rows(self) -> int:  # the villages whose lists the file carries (the line the command prints)
        items = self.frames.get("items")
        return 0 if items is None or items.height == 0 else items["village_key"].n_unique()

    def counted(self) -> str:
        parts = [f"{self.village_rows} 个村的承诺事项 {self._height('items')} 项" if self._height("items") else "",
                 f"进展评价 {self._height('progress')} 条" if self._height("progress") else ""]
        return "，".join(p for p in parts if p) or "无承诺事项"

    def _height(self, name: str) -> int:
        frame = self.frames.get(name)
        return 0 if frame is None else frame.height


def parse_due(text: str | None) -> date | None:
    """完成时限: a date, or a year alone (its 31 December), or a year and month (its last day)."""
    if text is None:
        return None
    t = unicodedata.normalize("NFKC", str(text)).strip()
    if m := _YEAR_ONLY.match(t):
        return date(int(m.group(1)), 12, 31)
    if (m := _YEAR_MONTH.match(t)) and 1 <= int(m.group(2)) <= 12:
        y, mo = int(m.group(1)), int(m.group(2))
        return date(y, mo, calendar.monthrange(y, mo)[1])
    return parse_date_text(t)


def parse_range(text: str | None) -> tuple[date, date] | None:
    """公示时间 as a range: 2021.8.5-2021.8.12, 2021年8月5日至8月12日."""
    if text is None:
        return None
    m = _RANGE.search(unicodedata.normalize("NFKC", str(text)))
    if not m:
        return None
    y1, m1, d1, y2, m2, d2 = m.groups()
    try:
        return date(int(y1), int(m1), int(d1)), date(int(y2 or y1), int(m2), int(d2))
    except ValueError:
        return None


def check_commitments(path: Path, data: bytes | None = None, as_of_limit: date | None = None) -> CommitmentReport:
    """Check one file of this kind in the frame every kind shares (pipelines.report.check_file)."""
    return check_file(path, data, as_of_limit, CommitmentReport,
                      lambda name, workbook, *rest: _check(name, workbook.sheets, *rest))


def _find_ordinal(sheet, layout) -> MappedColumn | None:
    """序号/编号 as the item number when the sheet has no 承诺编号 column (COMMITMENTS_SPEC §1)."""
    for r in layout.header_rows:
        for j, cell in enumerate(sheet.head_rows(r + 1)[r]):
            if header_key(cell) in ORDINALS:
                return MappedColumn(ITEMS_SHEET.by_field("item_no"), f"c{j}", cell, None)
    return None


def _check(file_name, sheets, checked, errors, warnings, as_of_limit: date) -> None:
    layouts = sheet_layouts(sheets, errors, warnings, lambda sheet: detect_layout(sheet, SHEETS),
                            "不是承诺事项、承诺进展之一，已忽略")
    if not layouts:
        found = "、".join(s.name for s in sheets) or "无"
        errors.add(f"缺少工作表「承诺事项」或「承诺进展」（按表名或表头均未找到；文件中的工作表：{found}）")
        return

    raw, yearly = {}, {}
    for key, (sheet, layout) in layouts.items():
        if "item_no" not in layout.mapped and (ordinal := _find_ordinal(sheet, layout)) is not None:
            layout.mapped["item_no"] = ordinal
        for col in layout.missing_required():
            errors.add(f"缺少必需的列「{col.canonical}」", sheet=sheet.name, problem="缺少列")
        for canonical, a, b in layout.duplicates:
            errors.add(f"列「{a}」和「{b}」都对应「{canonical}」，无法确定使用哪一列", sheet=sheet.name)
        unknown = []
        for grid_col, header in layout.unknown:
            base, _ = split_unit(header_key(header.split("/")[-1]))
            m = YEARLY_TARGET.match(base) if key == ITEMS_SHEET.key else None
            if m is None:
                unknown.append((grid_col, header))
                warnings.add(f"未知列「{header}」，已忽略", sheet=sheet.name, problem="未知列")
                continue
            year = int(m.group(1))
            if not YEAR_RANGE[0] <= year <= YEAR_RANGE[1]:
                errors.add(f"「{header}」的年份 {year} 超出范围，年度目标应在{YEAR_RANGE[0]}–{YEAR_RANGE[1]}年之间",
                           sheet=sheet.name, column=header, problem="年度目标年份")
            yearly[(key, grid_col)] = (year, header)
        layout.unknown = unknown
        rows, totals = _data_rows(sheet, layout)
        raw[key] = (sheet, layout, rows, totals)
        if rows.height == 0 and not layout.missing_required():
            errors.add(f"表头（第{layout.header_rows[-1] + 1}行）以下没有数据", sheet=sheet.name)
    if errors:
        return

    checked.prefecture_code = prefecture = _resolve_report_prefecture(file_name, raw, errors)
    checked.as_of = as_of = _resolve_as_of(file_name, raw, errors, as_of_limit)
    frames = {}
    for key, (sheet, layout, rows, _) in raw.items():
        years = {g: y for (k, g), y in yearly.items() if k == key}
        frame = _typed(sheet, layout, rows, years, errors, as_of_limit)
        frame = _check_places(sheet, layout, frame, prefecture, errors) if "county" in frame.columns else frame
        frames[key] = (sheet, layout, frame)
    if errors:
        return
    items = progress = targets = None
    if ITEMS_SHEET.key in frames:
        sheet, layout, frame = frames[ITEMS_SHEET.key]
        items, targets = _item_rules(sheet, layout, frame, errors, as_of_limit)
    if PROGRESS_SHEET.key in frames:
        sheet, layout, frame = frames[PROGRESS_SHEET.key]
        progress = _progress_rules(sheet, layout, frame, items, prefecture, as_of, errors, as_of_limit)
    if errors:
        return
    checked.frames = {k: v for k, v in (("items", items), ("targets", targets), ("progress", progress))
                      if v is not None}


def _header(layout, field_name: str) -> str:
    m = layout.mapped.get(field_name)
    return m.header if m else layout.kind.by_field(field_name).canonical


def _shown(value) -> str:
    return "" if value is None or not str(value).strip() else f"「{str(value).strip()}」"


def _typed(sheet, layout, rows: pl.DataFrame, years: dict, errors, as_of_limit: date) -> pl.DataFrame:
    """Each mapped column by its type; every faulty cell reported (file / sheet / 第N行 / column: value …)."""
    out = {"excel_row": rows["_row"]}
    for field_name, m in layout.mapped.items():
        col, raw = m.column, rows[m.grid_col].cast(pl.String)
        texts = raw.drop_nulls().unique().to_list()
        stripped = raw.str.strip_chars()
        present = (stripped.is_not_null() & ~stripped.is_in(NOT_REPORTED)).fill_null(False)

        def bad(mask: pl.Series, expected: str) -> None:
            for row, value in zip(rows["_row"].filter(mask).to_list(), raw.filter(mask).to_list()):
                errors.add(f"{_shown(value)}{expected}", sheet=sheet.name, row=row, column=m.header, problem=expected)

        if col.kind in (TEXT, CHOICE):
            if field_name == "note":  # kept as typed, as the progress report keeps 备注
                lookup = {t: t.strip() for t in texts}
            else:
                lookup = normalised_lookup(texts)
            value = raw.replace_strict(list(lookup) or [""], list(lookup.values()) or [None], default=None,
                                       return_dtype=pl.String).str.strip_chars()
            value = pl.Series(field_name, [v if p and v else None for v, p in zip(value.to_list(), present.to_list())],
                              dtype=pl.String)
            if col.kind == CHOICE:
                choice = {v: next((c for c in col.choices if c in v), None) for v in value.drop_nulls().unique()}
                value = value.replace_strict(list(choice) or [""], list(choice.values()) or [None], default=None,
                                             return_dtype=pl.String)
                bad(present & value.is_null(), f"不是有效的{col.canonical}，应为 " + "/".join(sorted(
                    col.choices, key=lambda c: c == "不通过")))
            if col.required:
                bad(~present, "为空，该列必须填写")
        elif col.kind == NUMBER:
            frame = pl.DataFrame({"x": raw}).select([e.alias(n) for n, e in zip("vb", number_expr(pl.col("x")))])
            value = frame["v"]
            bad(frame["b"], "不是数字")
        elif col.kind == DATE:
            parse = parse_due if field_name == "due_date" else parse_date_text
            mapping = {t: parse(t) for t in texts}
            value = raw.replace_strict(list(mapping) or [""], list(mapping.values()) or [None], default=None,
                                       return_dtype=pl.Date)
            if field_name != "as_of":
                bad(present & value.is_null(), "不是有效日期（如 2022年3月31日、2022-03-31、2022.3.31）")
                if field_name != "due_date":
                    bad(value.is_not_null() & (value > as_of_limit),
                        f"晚于今天（{as_of_limit.isoformat()}），不能填报未来的日期")
            if col.required:
                bad(~present, "为空，该列必须填写")
        elif col.kind == CODE:
            value = stripped.str.replace(r"\.0+$", "")
            value = pl.Series(field_name, [v or None for v in value.to_list()], dtype=pl.String)
            bad(value.is_not_null() & ~value.str.contains(r"^\d{12}$"), "不是12位统计用区划代码")
        else:
            continue
        out[field_name] = value.alias(field_name)
    for grid_col, (year, header) in years.items():
        frame = pl.DataFrame({"x": rows[grid_col].cast(pl.String)}).select(
            [e.alias(n) for n, e in zip("vb", number_expr(pl.col("x")))])
        for row, value in zip(rows["_row"].filter(frame["b"]).to_list(),
                              rows[grid_col].filter(frame["b"]).to_list()):
            errors.add(f"「{value}」不是数字", sheet=sheet.name, row=row, column=header, problem="不是数字")
        out[f"target_{year}"] = frame["v"]
    frame = pl.DataFrame(out)
    # A unit in a number column's header bracket (基线值（万元）) is the items' default 计量单位; nothing is converted.
    header_unit = next((m.unit for m in layout.mapped.values() if m.column.kind == NUMBER and m.unit), None)
    if header_unit and layout.kind is ITEMS_SHEET:
        unit = frame["unit"] if "unit" in frame.columns else pl.Series("unit", [None] * frame.height, pl.String)
        frame = frame.with_columns(unit=unit.fill_null(header_unit))
    for c in layout.kind.columns:  # absent optional columns: null
        if c.field not in frame.columns:
            dtype = {NUMBER: pl.Float64, DATE: pl.Date}.get(c.kind, pl.String)
            frame = frame.with_columns(pl.lit(None, dtype=dtype).alias(c.field))
    return frame


def _keys(frame: pl.DataFrame) -> pl.DataFrame:
    """village_code / village_key as the progress report sets them (the roster, else a synthetic key)."""
    frames = {"village": frame}
    _attach_village_keys(frames)
    return frames["village"]


def _item_rules(sheet, layout, frame: pl.DataFrame, errors, as_of_limit: date):
    frame = _keys(frame)
    # 公示时间 as one range column, where the two date columns are not given.
    if "notice_range" in layout.mapped:
        header = _header(layout, "notice_range")
        starts, ends = [], []
        for row, text, s, e in frame.select("excel_row", "notice_range", "notice_start", "notice_end").iter_rows():
            rng = parse_range(text) if text else None
            if text and rng is None and s is None:
                errors.add(f"「{text}」不是有效的公示时间，应为起止日期（如 2021.8.5-2021.8.12）", sheet=sheet.name,
                           row=row, column=header, problem="公示时间")
            if rng and rng[1] > as_of_limit:
                errors.add(f"「{text}」晚于今天（{as_of_limit.isoformat()}），不能填报未来的日期", sheet=sheet.name,
                           row=row, column=header, problem="未来日期")
            starts.append(s or (rng[0] if rng else None))
            ends.append(e or (rng[1] if rng else None))
        frame = frame.with_columns(notice_start=pl.Series(starts, dtype=pl.Date),
                                   notice_end=pl.Series(ends, dtype=pl.Date))
    start_h, end_h = _header(layout, "notice_start"), _header(layout, "notice_end")
    if "notice_range" in layout.mapped and "notice_end" not in layout.mapped:
        start_h = end_h = _header(layout, "notice_range")
    for rec in frame.filter(pl.col("notice_end") < pl.col("notice_start")).iter_rows(named=True):
        errors.add(f"{rec['notice_end']} 早于{start_h} {rec['notice_start']}", sheet=sheet.name,
                   row=rec["excel_row"], column=end_h, problem="公示结束早于开始")
    dup = frame.filter(pl.struct("village_key", "item_no").is_duplicated() & pl.col("item_no").is_not_null())
    for (key, no), group in dup.group_by(["village_key", "item_no"], maintain_order=True):
        first, *repeats = group["excel_row"].to_list()
        village = group["village"][0]
        for row in repeats:
            errors.add(f"「{no}」与第{first}行重复，同一村（{village}）的承诺编号不能重复", sheet=sheet.name, row=row,
                       column=_header(layout, "item_no"), problem="承诺编号重复")
    year_cols = sorted(c for c in frame.columns if c.startswith("target_"))
    if year_cols:
        targets = frame.select("village_key", "item_no", *year_cols).unpivot(
            index=["village_key", "item_no"], variable_name="year", value_name="target").filter(
            pl.col("target").is_not_null()).with_columns(pl.col("year").str.slice(7).cast(pl.Int32))
    else:
        targets = pl.DataFrame(schema={"village_key": pl.String, "item_no": pl.String, "year": pl.Int32,
                                       "target": pl.Float64})
    return frame.drop(year_cols), targets


def _progress_rules(sheet, layout, frame: pl.DataFrame, items, prefecture: str | None, as_of: date | None, errors,
                    as_of_limit: date) -> pl.DataFrame:
    if "village" in frame.columns and frame["village"].is_not_null().any() and "county_code" in frame.columns:
        frame = _keys(frame)
    else:
        frame = frame.with_columns(village_key=pl.col("village_code"))
    for rec in frame.filter(pl.col("village_key").is_null()).iter_rows(named=True):
        errors.add("无法确定所属行政村：应填写「村代码」，或「县市区」「乡镇」「行政村」", sheet=sheet.name,
                   row=rec["excel_row"], problem="无法确定村")
    if prefecture:
        counties = frame["village_code"].drop_nulls().str.slice(0, 6).unique().to_list()
        owner = {c: reference.county_prefecture(c) or "" for c in counties}
        of_code = pl.col("village_code").str.slice(0, 6).replace_strict(
            list(owner) or [""], list(owner.values()) or [""], default="", return_dtype=pl.String)
        wrong = frame.filter(pl.col("village_code").is_not_null() & (of_code != prefecture))
        for rec in wrong.iter_rows(named=True):
            errors.add(f"「{rec['village_code']}」不是{reference.prefecture_name(prefecture)}的村", sheet=sheet.name,
                       row=rec["excel_row"], column=_header(layout, "village_code"), problem="村代码与州市不符")
    if as_of is not None:
        late = frame.filter(pl.col("evaluated_on") > as_of)
        for rec in late.iter_rows(named=True):
            if rec["evaluated_on"] <= as_of_limit:  # a future date is reported once, as such
                errors.add(f"{rec['evaluated_on']} 晚于本报表截止日期 {as_of}", sheet=sheet.name, row=rec["excel_row"],
                           column=_header(layout, "evaluated_on"), problem="评价日期晚于截止日期")
    acc_h = _header(layout, "acceptance")
    for rec in frame.filter((pl.col("status") == CLOSED) & (pl.col("acceptance").fill_null("") != PASSED)
                            ).iter_rows(named=True):
        errors.add(f"事项状态为「{CLOSED}」，验收结论应为「{PASSED}」，实际为{_shown(rec['acceptance']) or '空'}",
                   sheet=sheet.name, row=rec["excel_row"], column=acc_h, problem="销号未验收通过")
    for rec in frame.filter((pl.col("evaluation_type") == FINAL_ACCEPTANCE) & pl.col("acceptance").is_null()
                            & (pl.col("status") != CLOSED)).iter_rows(named=True):
        errors.add(f"评价类型为「{FINAL_ACCEPTANCE}」，验收结论必须填写（通过/不通过）", sheet=sheet.name,
                   row=rec["excel_row"], column=acc_h, problem="期末验收无结论")
    if items is not None:
        in_file_villages = set(items["village_key"].to_list())
        known = set(zip(items["village_key"].to_list(), items["item_no"].to_list()))
        item_h = _header(layout, "item_no")
        for rec in frame.filter(pl.col("village_key").is_in(list(in_file_villages))).iter_rows(named=True):
            if (rec["village_key"], rec["item_no"]) not in known:
                errors.add(f"「{rec['item_no']}」不是本文件承诺事项表中该村（{rec.get('village') or rec['village_key']}）"
                           "的承诺事项", sheet=sheet.name, row=rec["excel_row"], column=item_h, problem="未知承诺事项")
    return frame.with_columns(_sheet=pl.lit(sheet.name), _item_header=pl.lit(_header(layout, "item_no")))


def check_against(con: duckdb.DuckDBPyConnection, checked: CheckedReport) -> list[str]:
    """Refusals that need the warehouse: a progress row whose village has no list in this file must name an item
    of that village's current list (a correction of the same prefecture and date does not count its predecessor)."""
    progress = checked.frames.get("progress")
    if progress is None or progress.height == 0:
        return []
    items = checked.frames.get("items")
    in_file = set(items["village_key"].to_list()) if items is not None else set()
    rest = progress.filter(~pl.col("village_key").is_in(list(in_file)))
    if rest.height == 0:
        return []
    con.register("_cp", rest.select("village_key", "item_no", "excel_row").to_arrow())
    try:
        missing = con.execute("""
            SELECT p.excel_row, p.village_key, p.item_no FROM _cp p
            WHERE NOT EXISTS (
                SELECT 1 FROM commitment_item_rows i JOIN commitment_lists l USING (report_id, village_key)
                JOIN reports r USING (report_id)
                WHERE i.village_key = p.village_key AND i.item_no = p.item_no
                  AND NOT (r.prefecture_code = ? AND r.as_of = ?))
            ORDER BY p.excel_row""", [checked.prefecture_code, checked.as_of]).fetchall()
    finally:
        con.unregister("_cp")
    sheet, header = rest["_sheet"][0], rest["_item_header"][0]
    return [f"{checked.file_name} / {sheet} / 第{row}行 / {header}: 「{no}」不是已报送的承诺事项（村 {key} 在本文件和数据仓库中"
            "都没有该编号的承诺事项）" for row, key, no in missing]
