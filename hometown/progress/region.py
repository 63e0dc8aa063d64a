"""Regions for the drill-down pages (一键查明细): which region a code names, its breadcrumb trail, and a county's
villages.

Plain functions, no Streamlit. A region is the province (530000 or no code), a prefecture, a county (6-digit codes)
or a village (its village_key: the 12-digit code, or the synthetic key ``<county>-<digest>`` of a village the roster
does not know). Figures of a region come from hometown.progress.overview (the same functions as the overview); this module
adds what only the drill-down needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from geo import reference
from warehouse import db
from hometown.base import villages_sql
from warehouse.scope import PROVINCE_CODE, Filters, OutOfScope, Scope
from warehouse.stages import stage_names

PROVINCE_NAME = "云南省"
LEVEL_LABELS = {"province": "省", "prefecture": "州市", "county": "县市区", "village": "村"}


@dataclass(frozen=True)
class Region:
    code: str          # 530000, a prefecture or county code, or a village_key
    level: str         # province / prefecture / county / village
    name: str          # what the page heads with: 云南省, 红河州, 弥勒市, 可邑村
    full_name: str     # the official name: 红河哈尼族彝族自治州
    prefecture_code: str | None = None
    county_code: str | None = None


def level_of(code: str | None) -> str:
    """province / prefecture / county / village for a code or village_key."""
    if not code or code == PROVINCE_CODE:
        return "province"
    if len(code) == 6 and code.isdigit():
        return "prefecture" if code.endswith("00") else "county"
    return "village"


def _prefecture(code: str) -> tuple[str, str] | None:
    row = reference.prefectures().filter(pl.col("code") == code)
    return (row["common_name"][0], row["name"][0]) if row.height else None


def _county(code: str) -> tuple[str, str] | None:
    row = reference.counties().filter(pl.col("code") == code)
    return (row["name"][0], row["prefecture_code"][0]) if row.height else None


def resolve(code: str | None) -> Region | None:
    """The region a URL's ?code= names, or None when no such prefecture/county exists (villages: see village_name)."""
    level = level_of(code)
    if level == "province":
        return Region(PROVINCE_CODE, "province", PROVINCE_NAME, PROVINCE_NAME)
    if level == "prefecture":
        names = _prefecture(code)
        return Region(code, level, names[0], names[1], prefecture_code=code) if names else None
    if level == "county":
        found = _county(code)
        if not found:
            return None
        return Region(code, level, found[0], found[0], prefecture_code=found[1], county_code=code)
    county = code[:6]
    found = _county(county)
    if not found:
        return None
    return Region(code, "village", code, code, prefecture_code=found[1], county_code=county)


def check_scope(region: Region, scope: Scope) -> None:
    """Raise OutOfScope (Chinese message) when the user may not open the region."""
    if not scope.allows(region.code):
        raise OutOfScope(f"您的账号只能查看本辖区的数据，无权查看「{region.name}」")


def trail(region: Region) -> list[Region]:
    """The breadcrumb trail from the province down to the region itself (inclusive)."""
    out = [resolve(PROVINCE_CODE)]
    if region.level in ("county", "village") and region.prefecture_code:
        out.append(resolve(region.prefecture_code))
    elif region.level == "prefecture":
        out.append(region)
        return out
    if region.level == "village" and region.county_code:
        out.append(resolve(region.county_code))
    if region.level != "province":
        out.append(region)
    return out


VILLAGE_LIST_COLUMNS = (
    "village_key", "village_code", "township", "village", "task_year", "stage", "stage_name", "steps_done",
    "plan_status", "group_size", "civil_servants", "cadre_visits", "local_talents", "meetings",
    "villager_participation", "needs_total", "needs_adopted", "special_plans_done", "council", "funding_wan", "as_of",
)


def county_villages(filters: Filters, scope: Scope, county_code: str) -> pl.DataFrame:
    """The county's villages in force (one row each, by township and name), with the stage's name."""
    if not scope.allows(county_code):
        raise OutOfScope(f"无权查看县市区 {county_code}")
    v_sql, params = villages_sql(filters, scope, county_code)
    cols = ", ".join(f"v.{c}" for c in VILLAGE_LIST_COLUMNS if c != "stage_name")
    frame = db.query(f"SELECT {cols} FROM ({v_sql}) v ORDER BY v.township, v.village, v.village_key", params)
    names = stage_names()
    return frame.with_columns(
        stage_name=pl.col("stage").replace_strict(names, default=None, return_dtype=pl.Utf8)
    ).select(VILLAGE_LIST_COLUMNS)
