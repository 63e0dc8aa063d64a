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

_INVISIBLE = re.compile(INVISIBLE_PATTERN)

NOT_REPORTED = ["", "—", "——", "-", "--", "－", "–", "/", "／", "\\", "无数据", "未填报", "未上报"]

_FULLWIDTH = {chr(0xFF10 + i): str(i) for i in range(10)} | {"．": ".", "，": ",", "－": "-", "＋": "+", "　": ""}

TRUE_FLAGS = {"是", "✓", "√", "✔", "1", "已完成", "完成", "有", "已成立", "成立", "y", "yes", "true", "☑"}
FALSE_FLAGS = {"否", "0", "未完成", "无", "未成立", "n", "no", "false", "×", "✗", "☐", "没有"}


def normalised_lookup(values: list[str]) -> dict[str, str]:
    """Distinct cell texts → NFKC (full-width → half-width), traditional → simplified, invisible characters removed.

    One OpenCC call for all of them: the texts are joined by newlines, converted, and split again.
    """
    originals = [v for v in values if v is not None]
    if not originals:
        return {}
    joined = "\n".join(v.replace("\n", " ") for v in originals)
    converted = t2s(unicodedata.normalize("NFKC", joined)).split("\n")
    if len(converted) != len(originals):  # a converter that changed line structure: do it one by one
        converted = [t2s(unicodedata.normalize("NFKC", v)) for v in originals]
    return {o: _INVISIBLE.sub("", c) for o, c in zip(originals, converted)}


def normalised_expr(column: str, lookup: dict[str, str]) -> pl.Expr:
    """The column's text through a lookup built by ``normalised_lookup``; null stays null."""
    if not lookup:
        return pl.col(column).cast(pl.String)
    return pl.col(column).replace_strict(list(lookup), list(lookup.values()), default=None, return_dtype=pl.String)


def normalise_series(s: pl.Series) -> pl.Series:
    """NFKC, traditional → simplified, invisible characters removed, for one column; null stays null."""
    s = s.cast(pl.String)
    lookup = normalised_lookup(s.drop_nulls().unique().to_list())
    return pl.DataFrame({"x": s}).select(normalised_expr("x", lookup)).to_series()


# -- expressions: each returns (value, bad) over a String column expression, evaluated together per sheet


def reported_expr(raw: pl.Expr) -> pl.Expr:
    """Cells that hold a value (not null, not a not-reported marker)."""
    stripped = raw.cast(pl.String).str.strip_chars()
    return stripped.is_not_null() & ~stripped.is_in(NOT_REPORTED)


def number_expr(raw: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    present = reported_expr(raw)
    cleaned = raw.cast(pl.String).str.strip_chars() \
        .str.replace_many(list(_FULLWIDTH.keys()), list(_FULLWIDTH.values())).str.replace_all(r"[,\s]", "")
    parsed = cleaned.cast(pl.Float64, strict=False)
    value = pl.when(present).then(parsed)
    return value, (present & parsed.is_null()).fill_null(False)


def int_expr(raw: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Whole numbers; 12.0 is 12, 12.5 is not a count."""
    value, bad = number_expr(raw)
    fractional = (value.is_not_null() & (value != value.floor())).fill_null(False)
    return pl.when(~fractional).then(value).cast(pl.Int64, strict=False), bad | fractional


def flag_expr(raw: pl.Expr, normalised: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Done-or-not cells: 是/否, ✓/空, 1/0, 已完成/未完成. An empty cell is "not done" (the ✓/空 convention)."""
    key = normalised.str.to_lowercase().str.replace(r"^(\d)\.0$", "$1")
    marker = raw.cast(pl.String).str.strip_chars().is_in(NOT_REPORTED[1:]).fill_null(False)
    true = key.is_in(list(TRUE_FLAGS)).fill_null(False)
    false = (key.is_null() | (key == "") | key.is_in(list(FALSE_FLAGS))).fill_null(False)
    value = pl.when(marker).then(None).when(true).then(True).when(false).then(False).otherwise(None)
    return value, (~marker & ~true & ~false)


def mapped_expr(raw: pl.Expr, mapping: dict, dtype) -> pl.Expr:
    """Values looked up from a Python mapping of the column's distinct texts (stage names, dates)."""
    if not mapping:
        return pl.lit(None, dtype=dtype)
    return raw.replace_strict(list(mapping), list(mapping.values()), default=None, return_dtype=dtype)


def _evaluate(s: pl.Series, build) -> tuple[pl.Series, pl.Series]:
    out = pl.DataFrame({"x": s.cast(pl.String)}).select([e.alias(n) for n, e in zip(("v", "b"), build(pl.col("x")))])
    return out["v"], out["b"]


def parse_number(s: pl.Series) -> tuple[pl.Series, pl.Series]:
    return _evaluate(s, number_expr)


def parse_int(s: pl.Series) -> tuple[pl.Series, pl.Series]:
    return _evaluate(s, int_expr)


def parse_flag(s: pl.Series) -> tuple[pl.Series, pl.Series]:
    return _evaluate(s, lambda c: flag_expr(c, normalised_expr("x", normalised_lookup(s.drop_nulls().unique().to_list()))))


_DATE_PATTERNS = [
    re.compile(r"(20\d{2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?"),
    re.compile(r"(20\d{2})[-./](\d{1,2})[-./](\d{1,2})"),
    re.compile(r"(?<!\d)(20\d{2})(\d{2})(\d{2})(?!\d)"),
]
EXCEL_EPOCH = date(1899, 12, 30)
# The words that mark the reporting date in a title (截至2022年3月31日, 统计截止：…, 1月1日至3月31日).
_AS_OF_LABEL = re.compile(r"(截至|截止|至)[^\d]{0,4}$")


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


def date_mapping(values: list[str]) -> dict[str, date | None]:
    return {u: parse_date_text(u) for u in values if u is not None}


def parse_date(s: pl.Series) -> tuple[pl.Series, pl.Series]:
    mapping = date_mapping(s.drop_nulls().unique().to_list())
    return _evaluate(s, lambda c: (mapped_expr(c, mapping, pl.Date),
                                   (reported_expr(c) & mapped_expr(c, mapping, pl.Date).is_null()).fill_null(False)))


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
