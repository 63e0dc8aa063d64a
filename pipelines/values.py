"""Turning typed-by-people cell text into values, a whole column at a time.

Every parser takes a polars String Series and returns ``(values, bad)``: the parsed values (null where the
cell was empty or "not reported") and a boolean mask of cells that held something that is not a valid
value. "Not reported" (empty, —, -, /) is null, never zero. Work is done on the unique values where Python
is needed, so a 500,000-row report costs what its distinct values cost.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta

import polars as pl

from geo.text import INVISIBLE_PATTERN, t2s

NOT_REPORTED = ["", "—", "——", "-", "--", "－", "–", "/", "／", "\\", "无数据", "未填报", "未上报"]

_FULLWIDTH = {chr(0xFF10 + i): str(i) for i in range(10)} | {"．": ".", "，": ",", "－": "-", "＋": "+", "　": ""}

TRUE_FLAGS = {"是", "✓", "√", "✔", "1", "已完成", "完成", "有", "已成立", "成立", "y", "yes", "true", "☑"}
FALSE_FLAGS = {"否", "0", "未完成", "无", "未成立", "n", "no", "false", "×", "✗", "☐", "没有"}


def normalise_series(s: pl.Series) -> pl.Series:
    """NFKC (full-width → half-width), traditional → simplified, all whitespace removed; null stays null.

    The conversion runs once over the distinct values joined by newlines: one OpenCC call for the column.
    """
    s = s.cast(pl.String)
    uniq = s.drop_nulls().unique()
    if uniq.len() == 0:
        return s
    originals = uniq.to_list()
    joined = "\n".join(v.replace("\n", " ") for v in originals)
    converted = t2s(unicodedata.normalize("NFKC", joined)).split("\n")
    if len(converted) != len(originals):  # a converter that changed line structure: do it one by one
        converted = [t2s(unicodedata.normalize("NFKC", v)) for v in originals]
    mapped = s.replace_strict(originals, converted, default=None, return_dtype=pl.String)
    return mapped.str.replace_all(INVISIBLE_PATTERN, "")


def _clean_number_text(s: pl.Series) -> pl.Series:
    s = s.cast(pl.String).str.strip_chars()
    s = s.str.replace_many(list(_FULLWIDTH.keys()), list(_FULLWIDTH.values()))
    return s.str.replace_all(r"[,\s]", "")


def _reported(s: pl.Series) -> pl.Series:
    """Mask of cells that hold a value (not null, not a not-reported marker)."""
    stripped = s.cast(pl.String).str.strip_chars()
    return stripped.is_not_null() & ~stripped.is_in(NOT_REPORTED)


def parse_number(s: pl.Series) -> tuple[pl.Series, pl.Series]:
    present = _reported(s)
    cleaned = _clean_number_text(s)
    values = cleaned.cast(pl.Float64, strict=False)
    values = pl.select(pl.when(present).then(values).otherwise(None)).to_series()
    bad = present & values.is_null()
    return values, bad


def parse_int(s: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Whole numbers; 12.0 is 12, 12.5 is not a count."""
    values, bad = parse_number(s)
    fractional = values.is_not_null() & (values != values.floor())
    ints = pl.select(pl.when(~fractional).then(values).otherwise(None)).to_series().cast(pl.Int64, strict=False)
    return ints, bad | fractional


def parse_flag(s: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Done-or-not cells: 是/否, ✓/空, 1/0, 已完成/未完成. An empty cell is "not done" (the ✓/空 convention)."""
    key = normalise_series(s).str.to_lowercase()
    key = key.str.replace(r"^(\d)\.0$", "$1")
    marker = s.cast(pl.String).str.strip_chars().is_in(NOT_REPORTED[1:])
    true = key.is_in(list(TRUE_FLAGS))
    false = key.is_null() | (key == "") | key.is_in(list(FALSE_FLAGS))
    values = pl.select(pl.when(true).then(True).when(false).then(False).otherwise(None)).to_series()
    values = pl.select(pl.when(marker).then(None).otherwise(values)).to_series()
    bad = values.is_null() & ~marker
    return values, bad


_DATE_PATTERNS = [
    re.compile(r"(20\d{2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?"),
    re.compile(r"(20\d{2})[-./](\d{1,2})[-./](\d{1,2})"),
    re.compile(r"(?<!\d)(20\d{2})(\d{2})(\d{2})(?!\d)"),
]
EXCEL_EPOCH = date(1899, 12, 30)


def parse_date_text(text: str | None) -> date | None:
    """A date as offices write it: 2022年3月31日, 2022-03-31, 2022.3.31, 2022/3/31, 20220331, an Excel serial."""
    if text is None:
        return None
    t = unicodedata.normalize("NFKC", str(text)).strip()
    if not t:
        return None
    for pat in _DATE_PATTERNS:
        m = pat.search(t)
        if m:
            try:
                return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                return None
    try:
        serial = float(t)
    except ValueError:
        return None
    if 20000 < serial < 80000:  # 1954 … 2119: a plausible Excel date serial
        return EXCEL_EPOCH + timedelta(days=int(serial))
    return None


def parse_date(s: pl.Series) -> tuple[pl.Series, pl.Series]:
    present = _reported(s)
    uniq = s.drop_nulls().unique().to_list()
    mapping = {u: parse_date_text(u) for u in uniq}
    values = s.replace_strict(list(mapping), list(mapping.values()), default=None, return_dtype=pl.Date)
    return values, present & values.is_null()


# 截至 / 截止 / the 至 closing a period, right before a date (spaces and a colon allowed between).
_AS_OF_LABEL = re.compile(r"(截至|截止|至)\s*[:：]?\s*$")


def find_dates(text: str, as_of_only: bool = False) -> list[date]:
    """Every date written in a piece of title text (截至2022年3月31日, 统计时间：2022.3.31 …).

    ``as_of_only``: only the dates written right after 截至/截止/至, for a title that also gives another date.
    """
    t = unicodedata.normalize("NFKC", text or "")
    found = []
    for pat in _DATE_PATTERNS:
        for m in pat.finditer(t):
            if as_of_only and not _AS_OF_LABEL.search(t[max(0, m.start() - 6):m.start()]):
                continue
            try:
                found.append(date(int(m.group(1)), int(m.group(2)), int(m.group(3))))
            except ValueError:
                continue
    return sorted(set(found))


def today() -> date:
    return datetime.now().date()
