"""Checking one 驻村力量 workbook (TEAMS_SPEC §1–2) with the progress report's reading machinery.

The file is read (pipelines.read), its sheets found by name or header (pipelines.header, over the sheet kinds of
pipelines/kinds/teams/contract.py), title and footer rows dropped and values typed (pipelines.report), so every
tolerated variation of REPORT_SPEC §3 holds here too. Then the teams rules: ID numbers (GB 11643 check digit,
unique), closed lists and their short forms, dates, postings, day counts against the days in post, 兼帮扶村 in the
person's county. Every reason names file / sheet / 第N行 / column / value, in Chinese; an ID number is quoted masked.

What needs the warehouse (an attendance row for a person of an earlier roster) is left to the loader
(``CheckedReport.frames['pending']``), which refuses the file the same way when the person is unknown there too.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from datetime import date
from pathlib import Path

import polars as pl

from geo import reference
from pipelines.header import Layout, detect_layout
from pipelines.kinds.teams.contract import (
    ASSESSMENT, ASSESSMENT_RESULTS, ATTENDANCE, DAY_FIELDS, IN_POST, PARTY_DATE_NEEDED, PARTY_STATUSES, RESETTLEMENT,
    ROLES, ROSTER, SENDING_LEVELS, STATUSES, TEAM_SHEETS, VILLAGE_TYPES,
)
from pipelines.report import (
    CheckedReport, check_file, sheet_layouts, _attach_village_keys, _data_rows, _header_of, _resolve_report_prefecture,
    _typed_rows,
)
from pipelines.values import normalise_series, parse_date_text
from warehouse.parts.teams import mask_id

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_MONTH_CN = re.compile(r"(20\d{2})\s*年\s*(\d{1,2})\s*月")
_MONTH_DASH = re.compile(r"(?<!\d)(20\d{2})\s*[-./]\s*(\d{1,2})(?![\d])(?!\s*[-./]\s*\d)")
_MONTH_PACKED = re.compile(r"(?<!\d)(20\d{2})(\d{2})(?!\d)")
_SEPARATORS = re.compile(r"[、;；,，\s]+")
_PHONE = re.compile(r"^(1\d{10}|0\d{2,3}-?\d{7,8}|\d{7,8})$")


def id_valid(text: str) -> bool:
    """18 characters, 17 digits and the GB 11643 check character (X allowed last)."""
    if not re.fullmatch(r"\d{17}[\dX]", text):
        return False
    total = sum(int(c) * w for c, w in zip(text[:17], _ID_WEIGHTS))
    return _ID_CHECK[total % 11] == text[17]


_FULL_DATE = (re.compile(r"((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?"),
              re.compile(r"((?:19|20)\d{2})[-./](\d{1,2})[-./](\d{1,2})"),
              re.compile(r"(?<!\d)((?:19|20)\d{2})(\d{2})(\d{2})(?!\d)"))


def parse_any_date(text: str | None) -> date | None:
    """A date of a person's record (入党时间, 参加工作时间 go back to the 1980s): the report's date forms with a 19xx or
    20xx year, or an Excel serial."""
    if text is None:
        return None
    t = unicodedata.normalize("NFKC", str(text)).strip()
    for pat in _FULL_DATE:
        m = pat.search(t)
        if m:
            try:
                return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                return None
    return parse_date_text(t)


def parse_month(text: str | None) -> date | None:
    """A month as written: 2022-03, 2022年3月, 202203, 2022.3, or any date in the month → its first day."""
    if text is None:
        return None
    t = unicodedata.normalize("NFKC", str(text)).strip()
    if not t:
        return None
    d = parse_date_text(t)
    if d is None:
        for pat in (_MONTH_CN, _MONTH_DASH, _MONTH_PACKED):
            m = pat.search(t)
            if m:
                try:
                    d = date(int(m.group(1)), int(m.group(2)), 1)
                except ValueError:
                    return None
                break
    return None if d is None else d.replace(day=1)


def month_end(m: date) -> date:
    return m.replace(day=calendar.monthrange(m.year, m.month)[1])


def days_in_post(month: date, start: date | None, end: date | None) -> int:
    """The person's days in post in a month, both ends counted."""
    if start is None:
        return 0
    lo, hi = max(start, month), min(end or month_end(month), month_end(month))
    return max((hi - lo).days + 1, 0)


class TeamsReport(CheckedReport):
    """A checked 驻村力量 file: frames ``roster``, ``attendance``, ``pending`` (and ``assessment``)."""

    @property
    def village_rows(self) -> int:  # the villages its roster staffs
        roster = self.frames.get("roster")
        return 0 if roster is None or roster.height == 0 else roster["village_key"].drop_nulls().n_unique()

    def counted(self) -> str:
        roster, attendance = self.frames.get("roster"), self.frames.get("attendance")
        return (f"{self.village_rows} 个村的驻村人员 {0 if roster is None else roster.height} 名，"
                f"考勤 {0 if attendance is None else attendance.height} 条")


def check_teams(path: Path, data: bytes | None = None, as_of_limit: date | None = None) -> CheckedReport:
    """Check one file of this kind in the frame every kind shares (pipelines.report.check_file)."""
    return check_file(path, data, as_of_limit, TeamsReport,
                      lambda name, workbook, *rest: _check(name, workbook.sheets, *rest))


def _file_month(file_name: str, raw: dict, errors) -> date | None:
    """The workbook's month: from its file name and title rows (they must agree)."""
    sources: dict[str, date] = {}
    stem = Path(file_name).stem
    m = parse_month(stem) if (_MONTH_CN.search(stem) or _MONTH_PACKED.search(stem) or _MONTH_DASH.search(stem)) \
        else None
    if m:
        sources["文件名"] = m
    for sheet, layout, _, _ in raw.values():
        t = layout.title_text
        if _MONTH_CN.search(t) or _MONTH_DASH.search(t) or _MONTH_PACKED.search(t):
            found = parse_month(t)
            if found:
                sources[f"「{sheet.name}」标题行"] = found
    distinct = set(sources.values())
    if len(distinct) > 1:
        said = "；".join(f"{where}为{d:%Y年%-m月}" for where, d in sources.items())
        errors.add(f"报送月份来源不一致：{said}")
        return None
    if not distinct:
        errors.add("无法确定报送月份：文件名（如「红河州_驻村力量_202203.xlsx」或「2022年3月」）和标题行中都没有月份")
        return None
    return distinct.pop()


def _check(file_name, sheets, checked, errors, warnings, limit: date) -> None:
    layouts = sheet_layouts(sheets, errors, warnings, lambda sheet: detect_layout(sheet, TEAM_SHEETS),
                            "不是驻村人员、驻村考勤、年度考核之一，已忽略")
    found = "、".join(s.name for s in sheets) or "无"
    for kind in (ROSTER, ATTENDANCE):
        if kind.key not in layouts:
            errors.add(f"缺少必需的工作表「{kind.title}」（按表名或表头均未找到；文件中的工作表：{found}）")
    raw = {}
    for key, (sheet, layout) in layouts.items():
        for col in layout.missing_required():
            errors.add(f"缺少必需的列「{col.canonical}」", sheet=sheet.name, problem="缺少列")
        if key == ROSTER.key and "village" not in layout.mapped and "village_code" not in layout.mapped:
            errors.add("缺少必需的列「行政村」（或「村代码」）", sheet=sheet.name, problem="缺少列")
        for canonical, a, b in layout.duplicates:
            errors.add(f"列「{a}」和「{b}」都对应「{canonical}」，无法确定使用哪一列", sheet=sheet.name)
        for _, header in layout.unknown:
            warnings.add(f"未知列「{header}」，数值已原样保留", sheet=sheet.name, problem="未知列")
        rows, totals = _data_rows(sheet, layout)
        raw[key] = (sheet, layout, rows, totals)
    if errors:
        return
    roster_sheet, roster_layout, roster_rows, _ = raw[ROSTER.key]
    if roster_rows.height == 0:
        errors.add(f"表头（第{roster_layout.header_rows[-1] + 1}行）以下没有驻村人员数据，报表为空",
                   sheet=roster_sheet.name)
        return
    prefecture = _resolve_report_prefecture(file_name, {ROSTER.key: raw[ROSTER.key]}, errors)
    month = _file_month(file_name, raw, errors)
    if month and month > limit:
        errors.add(f"报送月份 {month:%Y-%m} 晚于本月（{limit:%Y-%m}），不能报送未来月份的数据")
    checked.prefecture_code = prefecture
    checked.as_of = month_end(month) if month else None
    frames = {}
    for key, (sheet, layout, rows, totals) in raw.items():
        frames[key] = _typed_rows(sheet, layout, rows, totals, prefecture, errors, warnings)
    roster = _check_roster(roster_sheet, roster_layout, frames[ROSTER.key], raw[ROSTER.key][2], prefecture, month,
                           limit, errors)
    att_sheet, att_layout, att_rows, _ = raw[ATTENDANCE.key]
    attendance, pending = _check_attendance(att_sheet, att_layout, frames[ATTENDANCE.key], att_rows, roster, month,
                                            limit, errors, warnings)
    out = {"roster": roster, "attendance": attendance, "pending": pending}
    if ASSESSMENT.key in raw:
        a_sheet, a_layout, a_rows, _ = raw[ASSESSMENT.key]
        out["assessment"] = _check_assessment(a_sheet, a_layout, frames[ASSESSMENT.key], a_rows, roster, errors)
    if errors:
        return
    checked.frames = out


def _bad(errors, sheet, layout, field, rows_with_row, text_fn, problem):
    for rec in rows_with_row:
        errors.add(text_fn(rec), sheet=sheet.name, row=rec["excel_row"], column=_header_of(layout, field),
                   problem=problem)


def _closed(frame: pl.DataFrame, field: str, mapping: dict[str, str]) -> pl.DataFrame:
    return frame.with_columns(pl.col(field).replace_strict(list(mapping), list(mapping.values()), default=None,
                                                           return_dtype=pl.String).alias(f"_{field}"))


def _raw_of(frame: pl.DataFrame, rows: pl.DataFrame, layout: Layout, field: str) -> pl.DataFrame:
    """The cell as typed beside the typed frame (same row order), for messages about a date column."""
    m = layout.mapped.get(field)
    return frame.with_columns(rows[m.grid_col].alias(f"_raw_{field}")) if m else frame


def _dates(sheet, layout, frame, rows, fields, limit, errors) -> pl.DataFrame:
    for field in fields:
        if field not in layout.mapped:
            frame = frame.with_columns(pl.lit(None, pl.Date).alias(field)) if field not in frame.columns else frame
            continue
        frame = _raw_of(frame, rows, layout, field)
        texts = frame[f"_raw_{field}"].drop_nulls().unique().to_list()
        mapping = {t: parse_any_date(t) for t in texts}
        if mapping:
            found = pl.col(f"_raw_{field}").replace_strict(list(mapping), list(mapping.values()), default=None,
                                                           return_dtype=pl.Date)
            frame = frame.with_columns(pl.coalesce(field, found).alias(field))
        raw = pl.col(f"_raw_{field}").cast(pl.String).str.strip_chars().fill_null("")
        bad = frame.filter((raw != "") & ~raw.is_in(["—", "-", "/", "——"]) & pl.col(field).is_null())
        _bad(errors, sheet, layout, field, bad.iter_rows(named=True),
             lambda r, f=field: f"「{r['_raw_' + f]}」不是有效日期", "无效日期")
        future = frame.filter(pl.col(field) > limit)
        _bad(errors, sheet, layout, field, future.iter_rows(named=True),
             lambda r, f=field: f"{r[f]} 晚于今天（{limit}），不能填报未来日期", "未来日期")
        frame = frame.drop(f"_raw_{field}")
    return frame


def _check_roster(sheet, layout, frame, rows, prefecture, month, limit, errors) -> pl.DataFrame:
    h = lambda f: _header_of(layout, f)  # noqa: E731
    frame = _dates(sheet, layout, frame, rows, ("party_date", "work_date", "start_date", "end_date"), limit, errors)
    ids = frame["id_number"].fill_null("").str.to_uppercase().str.replace_all(r"\s", "")
    frame = frame.with_columns(id_number=pl.when(ids != "").then(ids))
    for rec in frame.filter(pl.col("id_number").is_not_null()).iter_rows(named=True):
        if not id_valid(rec["id_number"]):
            errors.add(f"「{mask_id(rec['id_number'])}」不是有效的18位公民身份号码（校验位不符或位数不对）",
                       sheet=sheet.name, row=rec["excel_row"], column=h("id_number"), problem="身份证号无效")
    dup = frame.filter(pl.col("id_number").is_not_null() & pl.col("id_number").is_duplicated())
    for (idn,), group in dup.group_by(["id_number"], maintain_order=True):
        first, *repeats = group["excel_row"].to_list()
        for row in repeats:
            errors.add(f"「{mask_id(idn)}」与第{first}行的身份证号重复，同一人在名册中只能出现一次",
                       sheet=sheet.name, row=row, column=h("id_number"), problem="身份证号重复")
    frame = _closed(frame, "party_status", PARTY_STATUSES)
    frame = _closed(frame, "sending_level", SENDING_LEVELS)
    for field, choices in (("village_type", VILLAGE_TYPES), ("role", ROLES), ("status", STATUSES)):
        frame = _closed(frame, field, {c: c for c in choices})
    lists = {"village_type": "/".join(VILLAGE_TYPES), "party_status": "中共党员/中共预备党员/共青团员/群众/民主党派",
             "sending_level": "中央/省/州市/县", "role": "/".join(ROLES), "status": "/".join(STATUSES)}
    for field, expected in lists.items():
        if field not in frame.columns:
            continue
        bad = frame.filter(pl.col(field).is_not_null() & pl.col(f"_{field}").is_null())
        _bad(errors, sheet, layout, field, bad.iter_rows(named=True),
             lambda r, f=field, e=expected: f"「{r[f]}」不是有效的取值，应为 {e}", "不在取值范围")
        frame = frame.with_columns(pl.col(f"_{field}").alias(field)).drop(f"_{field}")
    frame = frame.with_columns(status=pl.coalesce("status", pl.when(pl.col("end_date").is_null()).then(
        pl.lit(IN_POST))))
    _bad(errors, sheet, layout, "resettled_poor",
         frame.filter((pl.col("village_type") == RESETTLEMENT) & pl.col("resettled_poor").is_null()).iter_rows(
             named=True), lambda r: f"村类型为{RESETTLEMENT}时必须填写安置点脱贫人口", "缺少安置点脱贫人口")
    _bad(errors, sheet, layout, "party_date",
         frame.filter(pl.col("party_status").is_in(PARTY_DATE_NEEDED) & pl.col("party_date").is_null()).iter_rows(
             named=True), lambda r: f"政治面貌为{r['party_status']}，必须填写入党时间", "缺少入党时间")
    _bad(errors, sheet, layout, "end_date",
         frame.filter(pl.col("end_date") < pl.col("start_date")).iter_rows(named=True),
         lambda r: f"{r['end_date']} 早于驻村开始日期 {r['start_date']}", "结束早于开始")
    _bad(errors, sheet, layout, "end_date",
         frame.filter((pl.col("status") != IN_POST) & pl.col("end_date").is_null()).iter_rows(named=True),
         lambda r: f"在岗状态为「{r['status']}」，必须填写驻村结束日期", "缺少结束日期")
    _bad(errors, sheet, layout, "status",
         frame.filter((pl.col("status") == IN_POST) & pl.col("end_date").is_not_null()
                      & (pl.col("end_date") < month if month else pl.lit(False))).iter_rows(named=True),
         lambda r: f"「在岗」与驻村结束日期 {r['end_date']} 矛盾", "在岗却已结束")
    if "phone" in frame.columns:
        phones = frame["phone"].fill_null("").str.replace_all(r"[\s()（）]", "").str.replace(r"\.0$", "")
        frame = frame.with_columns(phone=pl.when(phones != "").then(phones))
        bad = frame.filter(pl.col("phone").is_not_null() & ~pl.col("phone").str.contains(_PHONE.pattern))
        _bad(errors, sheet, layout, "phone", bad.iter_rows(named=True),
             lambda r: "不是11位手机号码或固定电话", "电话无效")
    if "village_code" not in frame.columns:
        frame = frame.with_columns(village_code=pl.lit(None, pl.String))
    frame = frame.with_columns(village=pl.coalesce("village", "village_code"))
    if prefecture is not None and not errors:
        frames = {"village": frame}
        _attach_village_keys(frames)
        frame = frames["village"]
        wrong = frame.filter(pl.col("village_code").is_not_null() & pl.col("county_code").is_not_null()
                             & (pl.col("village_code").str.slice(0, 6) != pl.col("county_code")))
        _bad(errors, sheet, layout, "village_code", wrong.iter_rows(named=True),
             lambda r: f"「{r['village_code']}」不属于 {r['county']}（县代码 {r['county_code']}）", "村代码与县不符")
        frame = _extra_villages(sheet, layout, frame, errors)
    else:
        frame = frame.with_columns(village_key=pl.lit(None, pl.String), extra_keys=pl.lit(None, pl.String))
    return frame.with_columns(month=pl.lit(month, pl.Date))


def _extra_villages(sheet, layout, frame, errors) -> pl.DataFrame:
    """兼帮扶村: names or codes of villages of the person's own county → their keys, joined by ';'."""
    if "extra_villages" not in frame.columns:
        return frame.with_columns(extra_keys=pl.lit(None, pl.String))
    roster = reference.roster_lookup()
    keys = []
    for rec in frame.select("excel_row", "county_code", "county", "extra_villages").iter_rows(named=True):
        text = (rec["extra_villages"] or "").strip()
        found = []
        for item in (p for p in _SEPARATORS.split(text) if p):
            if re.fullmatch(r"\d{12}", item):
                code = item if item[:6] == rec["county_code"] else None
                where = reference.county_name(item[:6]) if reference.county_name(item[:6]) else "他县"
            else:
                code = reference.lookup_village(rec["county_code"], None, item, roster)
                where = None
            if code is None:
                why = f"属于{where}" if where and item[:6] != rec["county_code"] else "在该县无法识别"
                errors.add(f"「{item}」不是本人所在县（{rec['county']}）的村，{why}", sheet=sheet.name,
                           row=rec["excel_row"], column=_header_of(layout, "extra_villages"), problem="兼帮扶村不在本县")
            else:
                found.append(code)
        keys.append(";".join(dict.fromkeys(found)) or None)
    return frame.with_columns(extra_keys=pl.Series(keys, dtype=pl.String))


def _check_attendance(sheet, layout, frame, rows, roster, month, limit, errors, warnings):
    h = lambda f: _header_of(layout, f)  # noqa: E731
    ids = frame["id_number"].fill_null("").str.to_uppercase().str.replace_all(r"\s", "")
    frame = frame.with_columns(id_number=pl.when(ids != "").then(ids))
    for f in DAY_FIELDS + ("households_visited", "trips"):
        if f not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.Int64).alias(f))
    frame = frame.with_columns([pl.col(f).fill_null(0) for f in ("days_official", "days_leave", "days_absent",
                                                                    "households_visited", "trips")])
    # 月份: as written, or the file's month.
    if "month" in layout.mapped:
        texts = normalise_series(rows[layout.mapped["month"].grid_col])
        months = [parse_month(t) for t in texts.to_list()]
        frame = frame.with_columns(_month_text=texts, month=pl.Series(months, dtype=pl.Date))
        bad = frame.filter(pl.col("_month_text").is_not_null() & (pl.col("_month_text") != "")
                           & pl.col("month").is_null())
        _bad(errors, sheet, layout, "month", bad.iter_rows(named=True),
             lambda r: f"「{r['_month_text']}」不是有效月份，应为 2022-03、2022年3月、202203 或该月的日期", "无效月份")
        frame = frame.with_columns(month=pl.coalesce("month", pl.lit(month, pl.Date))).drop("_month_text")
    else:
        frame = frame.with_columns(month=pl.lit(month, pl.Date))
    if month:
        _bad(errors, sheet, layout, "month", frame.filter(pl.col("month") > month).iter_rows(named=True),
             lambda r: f"{r['month']:%Y-%m} 晚于本文件的报送月份 {month:%Y-%m}", "月份晚于报送月")
    _bad(errors, sheet, layout, "month", frame.filter(pl.col("month") > limit).iter_rows(named=True),
         lambda r: f"{r['month']:%Y-%m} 是未来月份", "未来月份")
    dup = frame.filter(pl.struct("id_number", "month").is_duplicated() & pl.col("id_number").is_not_null())
    for (idn, m), group in dup.group_by(["id_number", "month"], maintain_order=True):
        first, *repeats = group["excel_row"].to_list()
        for row in repeats:
            errors.add(f"「{mask_id(idn)}」{m:%Y-%m}的考勤与第{first}行重复", sheet=sheet.name, row=row,
                       column=h("id_number"), problem="考勤重复")
    people = roster.select("id_number", pl.col("name").alias("_roster_name"), "start_date", "end_date", "status")
    joined = frame.join(people, on="id_number", how="left", maintain_order="left")
    named = joined.filter(pl.col("_roster_name").is_not_null() & pl.col("name").is_not_null()
                          & (pl.col("name") != pl.col("_roster_name")))
    _bad(errors, sheet, layout, "name", named.iter_rows(named=True),
         lambda r: f"「{r['name']}」与驻村人员表中该身份证号的姓名「{r['_roster_name']}」不一致", "姓名不符")
    known = joined.filter(pl.col("_roster_name").is_not_null())
    for rec in known.iter_rows(named=True):
        in_post = days_in_post(rec["month"], rec["start_date"], rec["end_date"]) if rec["month"] else None
        if in_post is None:
            continue
        total = sum(rec[f] or 0 for f in DAY_FIELDS)
        if in_post == 0:
            errors.add(f"{rec['month']:%Y-%m}不在该人的驻村期间（{rec['start_date']} 至 {rec['end_date'] or '今'}）内",
                       sheet=sheet.name, row=rec["excel_row"], column=h("month"), problem="月份不在驻村期间")
        elif total > in_post:
            errors.add(f"在村、公务外出、请假、未请假离岗天数合计 {total} 天，超过该人{rec['month']:%Y-%m}的在岗天数 "
                       f"{in_post} 天", sheet=sheet.name, row=rec["excel_row"], column=h("days_in_village"),
                       problem="天数超过在岗天数")
    # A person in post in the file's month without an attendance row for it: 漏报考勤, a warning.
    if month:
        reported = set(frame.filter(pl.col("month") == month)["id_number"].drop_nulls().to_list())
        for rec in roster.filter(pl.col("status") == IN_POST).iter_rows(named=True):
            if rec["id_number"] and rec["id_number"] not in reported \
                    and days_in_post(month, rec["start_date"], rec["end_date"]) > 0:
                warnings.add(f"{rec['name']}（{mask_id(rec['id_number'])}）在岗但无{month:%Y-%m}考勤（漏报考勤）",
                             sheet=sheet.name, problem="漏报考勤")
    pending = frame.filter(pl.col("id_number").is_in(people["id_number"].drop_nulls().implode()).not_()
                           & pl.col("id_number").is_not_null())
    pending = pending.with_columns(sheet=pl.lit(sheet.name), id_header=pl.lit(h("id_number")),
                                   month_header=pl.lit(h("month")), days_header=pl.lit(h("days_in_village")))
    return frame, pending


def _check_assessment(sheet, layout, frame, rows, roster, errors) -> pl.DataFrame:
    ids = frame["id_number"].fill_null("").str.to_uppercase().str.replace_all(r"\s", "")
    frame = frame.with_columns(id_number=pl.when(ids != "").then(ids))
    frame = _closed(frame, "result", {c: c for c in ASSESSMENT_RESULTS})
    bad = frame.filter(pl.col("result").is_not_null() & pl.col("_result").is_null())
    _bad(errors, sheet, layout, "result", bad.iter_rows(named=True),
         lambda r: f"「{r['result']}」不是有效的取值，应为 {'/'.join(ASSESSMENT_RESULTS)}", "不在取值范围")
    unknown = frame.filter(pl.col("id_number").is_not_null()
                           & ~pl.col("id_number").is_in(roster["id_number"].drop_nulls().implode()))
    _bad(errors, sheet, layout, "id_number", unknown.iter_rows(named=True),
         lambda r: f"「{mask_id(r['id_number'])}」不在本文件的驻村人员表中", "考核人员不在名册")
    for f in ("trainings", "health_check", "insurance"):
        if f not in frame.columns:
            frame = frame.with_columns(pl.lit(None).alias(f))
    return frame.drop("_result")
