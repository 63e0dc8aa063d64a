"""Yunnan's divisions and village roster as polars frames, and resolving typed place names to NBS codes.

Owns the read side of geo/data/divisions.csv and geo/data/roster.csv.gz (written by geo.build_reference) and the
two resolvers. Every frame and lookup table is built once per process (functools.lru_cache); frames are returned
as is, so callers must not mutate them in place.

Resolution normalises the input itself (geo.text.normalise_text: NFKC, traditional → simplified, no whitespace),
then tries, in order: an exact alias (the 6-digit code, official name, short name, common name, a few other
names); the loose key of geo.names.name_key (红河哈尼族彝族自治州 / 红河州 / 红河 → 红河, 弥勒县 → 弥勒); for
counties finally a leading prefecture name (红河州弥勒市). A name that fits more than one unit gives None.
"""

from __future__ import annotations

import functools
import gzip
from collections import defaultdict
from pathlib import Path

import polars as pl

from geo.names import name_key, strip_province
from geo.text import normalise_text

__all__ = [
    "DATA_DIR",
    "counties",
    "prefectures",
    "resolve_county",
    "resolve_prefecture",
    "roster",
]

DATA_DIR = Path(__file__).resolve().parent / "data"

# Other names still found in reports, as name_key forms: former official names (only renames whose old name is
# not also some other current unit: the former 普洱县 is left out, 普洱 now means the prefecture) and the
# everyday abbreviation 版纳.
_OTHER_PREFECTURE_NAMES = {
    "思茅": "530800",  # 思茅市 → 普洱市 (2007)
    "版纳": "532800",  # 版纳 / 版纳州 for 西双版纳
}
_OTHER_COUNTY_NAMES = {
    "潞西": "533103",  # 潞西市 → 芒市 (2010)
    "中甸": "533401",  # 中甸县 → 香格里拉县 (2001), 香格里拉市 (2014)
    "翠云": "530802",  # 翠云区 → 思茅区 (2007)
}


@functools.lru_cache(maxsize=1)
def _divisions() -> pl.DataFrame:
    return pl.read_csv(
        DATA_DIR / "divisions.csv",
        schema_overrides={"code": pl.String, "prefecture_code": pl.String, "sort_order": pl.Int32},
    )


@functools.lru_cache(maxsize=1)
def prefectures() -> pl.DataFrame:
    """The 16 prefectures in official order: code, name, short_name, common_name, sort_order."""
    return (
        _divisions()
        .filter(pl.col("level") == "prefecture")
        .select("code", "name", "short_name", "common_name", "sort_order")
        .sort("sort_order")
    )


@functools.lru_cache(maxsize=1)
def counties() -> pl.DataFrame:
    """The 129 counties in official order: code, name, short_name, common_name, prefecture_code, sort_order."""
    return (
        _divisions()
        .filter(pl.col("level") == "county")
        .select("code", "name", "short_name", "common_name", "prefecture_code", "sort_order")
        .sort("sort_order")
    )


@functools.lru_cache(maxsize=1)
def roster() -> pl.DataFrame:
    """Village-level units (NBS 2023): village_code, village_name, township_code, township_name, county_code,
    prefecture_code; all codes are strings (12, 9, 6, 6 digits)."""
    with gzip.open(DATA_DIR / "roster.csv.gz", "rb") as f:
        return pl.read_csv(f.read(), infer_schema=False)  # every column stays a string: codes keep their digits


# ------------------------------------------------------------------------------------------------------ resolution


def _rows(frame: pl.DataFrame) -> list[dict]:
    return list(frame.iter_rows(named=True))


def _index(rows: list[tuple[str, list[str]]], other: dict[str, str], level: str) -> tuple[dict, dict]:
    """(exact alias → codes, name_key → codes) over normalised names; the code itself is one of the names."""
    exact: dict[str, set[str]] = defaultdict(set)
    loose: dict[str, set[str]] = defaultdict(set)
    for code, names in rows:
        for n in names:
            n = normalise_text(n)
            exact[n].add(code)
            loose[name_key(n, level)].add(code)
    for key, code in other.items():
        loose[normalise_text(key)].add(code)
    return dict(exact), dict(loose)


@functools.lru_cache(maxsize=1)
def _prefecture_index() -> tuple[dict, dict]:
    return _index(
        [(r["code"], [r["code"], r["name"], r["short_name"], r["common_name"]]) for r in _rows(prefectures())],
        _OTHER_PREFECTURE_NAMES,
        "prefecture",
    )


@functools.lru_cache(maxsize=1)
def _county_index() -> tuple[dict, dict]:
    return _index(
        [(r["code"], [r["code"], r["name"], r["short_name"], r["common_name"]]) for r in _rows(counties())],
        _OTHER_COUNTY_NAMES,
        "county",
    )


@functools.lru_cache(maxsize=1)
def _county_prefecture() -> dict[str, str]:
    return dict(counties().select("code", "prefecture_code").iter_rows())


@functools.lru_cache(maxsize=1)
def _prefecture_prefixes() -> tuple[tuple[str, str], ...]:
    """(normalised prefecture alias, code), longest first, for splitting 红河州弥勒市 into 红河州 + 弥勒市."""
    exact, _ = _prefecture_index()
    pairs = [(a, next(iter(c))) for a, c in exact.items() if len(c) == 1 and not a.isdigit()]
    return tuple(sorted(pairs, key=lambda p: len(p[0]), reverse=True))


def _unique(codes: set[str] | None) -> str | None:
    return next(iter(codes)) if codes and len(codes) == 1 else None


@functools.lru_cache(maxsize=4096)
def resolve_prefecture(text: str | None) -> str | None:
    """Prefecture code ("532500") for 红河 / 红河州 / 红河哈尼族彝族自治州 / 紅河州 / 云南省红河州 / "532500";
    None when unknown."""
    t = strip_province(normalise_text(text))
    if not t:
        return None
    exact, loose = _prefecture_index()
    return _unique(exact.get(t)) or _unique(loose.get(name_key(t, "prefecture")))


def _resolve_county_in(t: str, prefecture_code: str | None) -> tuple[str | None, bool]:
    """(code, found_any): found_any tells 'ambiguous' (True, None) from 'unknown' (False, None)."""
    exact, loose = _county_index()
    owner = _county_prefecture()
    for table, key in ((exact, t), (loose, name_key(t, "county"))):
        codes = table.get(key)
        if codes and prefecture_code is not None:
            codes = {c for c in codes if owner[c] == prefecture_code}
        if codes:
            return _unique(codes), True
    return None, False


@functools.lru_cache(maxsize=16384)
def resolve_county(text: str | None, prefecture_code: str | None = None) -> str | None:
    """County code ("532504") for 弥勒 / 弥勒市 / 弥勒县 / 河口县 / 红河州弥勒市 / "532504".

    With prefecture_code, only counties of that prefecture count (a county of another prefecture gives None).
    None when unknown or when the name fits several counties.
    """
    t = strip_province(normalise_text(text))
    if not t:
        return None
    code, found = _resolve_county_in(t, prefecture_code)
    if found:
        return code
    # 红河州弥勒市 / 大理州大理市: a prefecture written in front narrows the search to that prefecture.
    for alias, pcode in _prefecture_prefixes():
        if t.startswith(alias) and len(t) > len(alias) and prefecture_code in (None, pcode):
            code, found = _resolve_county_in(t[len(alias) :], pcode)
            if found:
                return code
    return None


# ---------------------------------------------------------------- names by code, places in text, village codes


@functools.lru_cache(maxsize=1)
def _names_by_code() -> dict[str, str]:
    return dict(prefectures().select("code", "name").iter_rows()) | dict(counties().select("code", "name").iter_rows())


def prefecture_name(code: str | None) -> str:
    """The full name of a prefecture code (红河哈尼族彝族自治州); the code itself when unknown."""
    return _names_by_code().get(code or "", code or "")


def county_name(code: str | None) -> str:
    return _names_by_code().get(code or "", code or "")


def county_prefecture(code: str) -> str | None:
    return _county_prefecture().get(code)


@functools.lru_cache(maxsize=1)
def _prefecture_text_forms() -> tuple[tuple[str, str], ...]:
    """(normalised name form, code) for every full, common and short name, longest first."""
    forms = []
    for code, name, short, common in prefectures().select("code", "name", "short_name", "common_name").iter_rows():
        for form in {name, short, common}:
            forms.append((normalise_text(form), code))
    return tuple(sorted(forms, key=lambda f: len(f[0]), reverse=True))


def prefectures_in_text(text: str | None) -> list[str]:
    """Prefecture codes named anywhere in a piece of text (a title row, a file name), in order of appearance.

    Longer forms are matched first and their text consumed, so 红河哈尼族彝族自治州 is one hit, not two.
    """
    t = normalise_text(text)
    hits: list[tuple[int, str]] = []
    for form, code in _prefecture_text_forms():
        start = t.find(form)
        while start >= 0:
            hits.append((start, code))
            t = t[:start] + "\0" * len(form) + t[start + len(form):]
            start = t.find(form)
    seen: list[str] = []
    for _, code in sorted(hits):
        if code not in seen:
            seen.append(code)
    return seen


_VILLAGE_SUFFIXES = ("社区居民委员会", "村民委员会", "居民委员会", "社区居委会", "村委会", "居委会", "社区", "村")
_TOWNSHIP_SUFFIXES = ("街道办事处", "街道", "镇", "乡")


def _strip_suffix(name: str, suffixes: tuple[str, ...]) -> str:
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def village_key_name(name: str | None) -> str:
    """The core of a village name: 可邑村 / 可邑村委会 / 可邑村民委员会 all give 可邑."""
    return _strip_suffix(normalise_text(name), _VILLAGE_SUFFIXES)


def township_key_name(name: str | None) -> str:
    return _strip_suffix(normalise_text(name), _TOWNSHIP_SUFFIXES)


@functools.lru_cache(maxsize=1)
def roster_lookup() -> tuple[dict, dict]:
    """Indexes of the NBS roster: (county, township core, village core) → codes and (county, village core) → codes."""
    full: dict[tuple[str, str, str], set[str]] = {}
    by_village: dict[tuple[str, str], set[str]] = {}
    for code, village, township, county in roster().select(
            "village_code", "village_name", "township_name", "county_code").iter_rows():
        v = village_key_name(village)
        full.setdefault((county, township_key_name(township), v), set()).add(code)
        by_village.setdefault((county, v), set()).add(code)
    return full, by_village


def lookup_village(county_code: str, township: str | None, village: str, index: tuple[dict, dict] | None = None) -> str | None:
    """The 12-digit NBS code of a village named in a report, when the roster names exactly one such village."""
    full, by_village = index or roster_lookup()
    v = village_key_name(village)
    codes = full.get((county_code, township_key_name(township), v))
    if codes and len(codes) == 1:
        return next(iter(codes))
    codes = by_village.get((county_code, v))
    if codes and len(codes) == 1:
        return next(iter(codes))
    return None
