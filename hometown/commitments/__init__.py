"""任期承诺 queries (no Streamlit): KPIs, the region table by fulfilment rate, a village's board of five lists, the
items due soon and the late ones (挂图作战), and the 销号 ledger — every one inside the user's ``Scope``.

Figures are read from the warehouse views of warehouse/parts/commitments.py (commitment_summary, commitment_status),
so the page, the documents and the exports show the one definition of each metric (§4).
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from warehouse import db
from warehouse.parts.commitments import KIND, LISTS, PROVINCE_CODE
from warehouse.scope import OutOfScope, Scope


def _query(sql: str, params=None) -> pl.DataFrame:
    """Every read of this package: a warehouse written before the 任期承诺 part existed reads as one without a
    任期承诺 report yet (warehouse.db.query_part)."""
    return db.query_part(KIND, sql, params)


UPCOMING_DAYS = 60  # the 挂图作战 window: items due within this many days of the as-of date
CHILD_LEVEL = {"province": "prefecture", "prefecture": "county", "county": "township", "township": "village"}
LEVEL_NAMES = {"province": "全省", "prefecture": "州市", "county": "县市区", "township": "乡镇", "village": "行政村"}
SUMMARY_COLUMNS = ("level", "code", "name", "as_of", "items", "due", "closed_due", "on_time_due", "closed", "overdue",
                   "fulfilment_rate", "on_time_rate", "closed_rate", "prefecture_code", "county_code", "township",
                   "village_key", "village_code")
BOARD_COLUMNS = ("list_name", "item_no", "content", "indicator", "unit", "baseline", "target", "actual", "due_date",
                 "owner", "status", "light", "progress", "time_elapsed", "last_evaluated_on", "last_evaluation_type",
                 "last_note", "closed_on", "notice_start", "notice_end", "committed_on")


def level_of(code: str | None) -> str:
    """province / prefecture / county / township (``532504/西三镇``) / village (a village key) for a page code."""
    if not code or code == PROVINCE_CODE:
        return "province"
    if "/" in code:
        return "township"
    if len(code) == 6:
        return "prefecture" if code.endswith("00") else "county"
    return "village"


def _check(scope: Scope, code: str | None) -> str:
    level = level_of(code)
    if level != "province" and not scope.allows(code):
        raise OutOfScope(f"无权查看 {code} 的任期承诺")
    if level == "province" and scope.top_code != PROVINCE_CODE:
        raise OutOfScope("无权查看全省的任期承诺")
    return level


def _where(level: str, code: str | None, alias: str = "") -> tuple[str, list]:
    a = f"{alias}." if alias else ""
    if level == "province":
        return "TRUE", []
    if level == "prefecture":
        return f"{a}prefecture_code = ?", [code]
    if level == "county":
        return f"{a}county_code = ?", [code]
    if level == "township":
        county, township = code.split("/", 1)
        return f"{a}county_code = ? AND {a}township = ?", [county, township]
    return f"{a}village_key = ?", [code]


def summary(scope: Scope, code: str | None = None) -> dict | None:
    """The KPIs of a region (or a village): one summary row, all lists; None when it has no items."""
    level = _check(scope, code)
    where, params = _where(level, code)
    frame = _query(f"SELECT {', '.join(SUMMARY_COLUMNS)} FROM commitment_summary "
                     f"WHERE level = ? AND list_name IS NULL AND {where}", [level, *params])
    return frame.row(0, named=True) if frame.height else None


def children(scope: Scope, code: str | None = None) -> pl.DataFrame:
    """The region's sub-regions (prefectures, counties, townships or villages), ranked by 承诺兑现率 (then 按期兑现率;
    equal rates share a rank; a region with nothing due is not ranked)."""
    level = _check(scope, code)
    child = CHILD_LEVEL.get(level)
    if child is None:
        return pl.DataFrame()
    where, params = _where(level, code)
    scope_where, scope_params = scope.sql()
    return _query(f"""
        SELECT CASE WHEN due > 0 THEN rank() OVER (ORDER BY due > 0 DESC, fulfilment_rate DESC NULLS LAST,
                                                   on_time_rate DESC NULLS LAST) END AS rank,
               {', '.join(SUMMARY_COLUMNS)}
        FROM commitment_summary
        WHERE level = ? AND list_name IS NULL AND {where} AND {scope_where}
        ORDER BY rank NULLS LAST, name, code""", [child, *params, *scope_params])


def by_list(scope: Scope, code: str | None = None) -> pl.DataFrame:
    """The region's (or village's) figures per list, in the lists' order."""
    level = _check(scope, code)
    where, params = _where(level, code)
    order = " ".join(f"WHEN '{name}' THEN {i}" for i, name in enumerate(LISTS))
    return _query(f"SELECT list_name, {', '.join(SUMMARY_COLUMNS)} FROM commitment_summary "
                    f"WHERE level = ? AND list_name IS NOT NULL AND {where} ORDER BY CASE list_name {order} END",
                    [level, *params])


def village(scope: Scope, village_key: str) -> dict | None:
    """The village's place and dates (names, as-of), or None when it has no list."""
    _check(scope, village_key)
    frame = _query("SELECT prefecture_code, prefecture_name, county_code, county_name, township, village, village_code,"
                     " village_key, as_of, min(notice_start) AS notice_start, max(notice_end) AS notice_end,"
                     " min(committed_on) AS committed_on FROM commitment_items WHERE village_key = ? GROUP BY ALL",
                     [village_key])
    return frame.row(0, named=True) if frame.height else None


def board(scope: Scope, village_key: str) -> pl.DataFrame:
    """The village's items, list by list in the lists' order, each with its light, progress and last evaluation."""
    _check(scope, village_key)
    order = " ".join(f"WHEN '{name}' THEN {i}" for i, name in enumerate(LISTS))
    return _query(f"""SELECT {', '.join(BOARD_COLUMNS)} FROM commitment_status WHERE village_key = ?
        ORDER BY CASE list_name {order} END, try_cast(item_no AS INTEGER) NULLS LAST, item_no""", [village_key])


def timeline(scope: Scope, code: str | None = None, days: int = UPCOMING_DAYS, limit: int = 400) -> pl.DataFrame:
    """挂图作战: open items due within ``days`` of their as-of date, and the overdue ones, by due date."""
    level = _check(scope, code)
    where, params = _where(level, code, "s")
    scope_where, scope_params = scope.sql("s")
    return _query(f"""
        SELECT s.county_name, s.township, s.village, s.village_key, s.list_name, s.item_no, s.content, s.owner,
               s.due_date, s.status, s.light, s.progress, s.as_of, s.overdue,
               date_diff('day', s.as_of, s.due_date) AS days_left
        FROM commitment_status s
        WHERE s.status NOT IN ('已销号', '取消') AND s.due_date <= s.as_of + INTERVAL ({int(days)}) DAY
          AND {where} AND {scope_where}
        ORDER BY s.due_date, s.county_code, s.township, s.village, s.item_no LIMIT {int(limit)}""",
                    [*params, *scope_params])


def ledger(scope: Scope, code: str | None = None) -> pl.DataFrame:
    """销号台账: every closed item with when it was closed, on time or not, and its acceptance."""
    level = _check(scope, code)
    where, params = _where(level, code, "s")
    scope_where, scope_params = scope.sql("s")
    return _query(f"""
        SELECT s.prefecture_name, s.county_name, s.township, s.village, s.village_code, s.list_name, s.item_no,
               s.content, s.owner, s.due_date, s.closed_on, s.closed_on <= s.due_date AS on_time,
               s.last_acceptance AS acceptance, s.actual, s.unit, s.village_key, s.county_code
        FROM commitment_status s WHERE s.status = '已销号' AND {where} AND {scope_where}
        ORDER BY s.closed_on DESC, s.county_code, s.township, s.village, s.item_no""", [*params, *scope_params])


def due_window(as_of) -> tuple:
    return as_of, as_of + timedelta(days=UPCOMING_DAYS)


def trail(code: str | None, place: dict | None = None) -> list[tuple[str, str]]:
    """(code, name) from the province down to the page's region or village, for the breadcrumbs."""
    from geo import reference

    out = [(PROVINCE_CODE, "云南省")]
    level = level_of(code)
    if level == "province":
        return out
    county = place["county_code"] if place else code.split("/")[0] if level != "prefecture" else None
    prefecture = code if level == "prefecture" else reference.county_prefecture(county)
    out.append((prefecture, reference.prefecture_name(prefecture)))
    if county:
        out.append((county, reference.county_name(county)))
    township = place["township"] if place else code.split("/", 1)[1] if level == "township" else None
    if township:
        out.append((f"{county}/{township}", township))
    if place:
        out.append((place["village_key"], place["village"]))
    return out


def masked(frame: pl.DataFrame, role: str | None, column: str = "owner") -> pl.DataFrame:
    """The frame with 责任人 masked (张*) for the roles that may not see names on screen (hometown.privacy). The
    公示栏 notice itself carries them in full: it is the public document (COMMITMENTS_SPEC §1)."""
    from hometown import privacy

    if column not in frame.columns or privacy.may_see_names(role):
        return frame
    return frame.with_columns(pl.col(column).map_elements(lambda n: privacy.mask_name(n, role), return_dtype=pl.String))
