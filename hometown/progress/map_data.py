"""The progress map's model (一图督进度): regions joined with their figures, colours, legend, village points, view.

Owns everything the map shows except the Streamlit calls: the per-region figures as of a date (from the query
layer and warehouse.metrics), the GeoJSON features of the 16 prefectures or 129 counties with those figures joined
and a fill colour from the chosen metric, the legend bins, the synthetic village points (sampled inside their
county polygon, deterministic) and the view that fits them. Drawing it (the pydeck spec, the legend's HTML, the
tooltip template) is ui.map_deck's: this module is data only, no pydeck.

A region without a report in force is "未上报" (grey), never zero: its figures stay None all the way to the
tooltip. Pure functions over plain data, plus three query functions (``region_figures``, ``reported_prefectures``,
``village_rows``) and ``map_model`` that combines them; pages call ``map_model`` through ``ui.common.run``.
"""

from __future__ import annotations

import functools
import math
import zlib
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterable, Literal, Sequence

import numpy as np
import polars as pl
import shapely
import shapely.ops
from shapely.geometry import shape

from geo import boundaries, reference
from hometown import fmt
from warehouse import metrics, schedule, stages
from hometown.base import reports_sql, villages_sql
from hometown.teams import queries as team_queries
from warehouse.db import query
from warehouse.scope import Filters, Scope

Level = Literal["prefecture", "county"]
RGBA = tuple[int, int, int, int]

NOT_REPORTED = "未上报"          # the prefecture has no accepted report in force
NO_VILLAGES = "无任务村"         # the prefecture reported, but no task village of this county (for the filters)
NO_VALUE = "无数据"              # figures exist but the metric is undefined (e.g. adoption rate with no needs)
REPORTED = "已上报"
APPROXIMATE = "示意位置（非真实坐标）"

GREY_NOT_REPORTED: RGBA = (189, 189, 189, 220)
GREY_NO_VILLAGES: RGBA = (222, 222, 222, 220)
GREY_NO_VALUE: RGBA = (240, 240, 240, 220)

LAYER_REGIONS = {"prefecture": "prefectures", "county": "counties"}
LAYER_VILLAGES = "villages"

# Coordinates sent to the browser: 3 decimals is ~100 m, a third of a pixel at zoom 9 — finer is wasted bytes.
COORD_DIGITS = 3

# ---------------------------------------------------------------------------------------------- metrics


@dataclass(frozen=True)
class MapMetric:
    """A metric the map can colour by: its figure column, class edges (None: from the data) and palette."""

    name: str
    label: str
    column: str
    palette: tuple[RGBA, ...]
    edges: tuple[float, ...] | None = None   # len(palette) + 1 class edges; ±inf allowed at the ends
    description: str = ""


# ColorBrewer palettes (colour-blind safe where possible). Red means lagging, so the supervision map reads at once.
_RD_YL_GN = ((215, 48, 39, 230), (252, 141, 89, 230), (254, 224, 139, 230), (166, 217, 106, 230), (26, 152, 80, 230))
_BLUES = ((222, 235, 247, 230), (198, 219, 239, 230), (158, 202, 225, 230), (107, 174, 214, 230),
          (49, 130, 189, 230), (8, 81, 156, 230))
_PURPLES = ((242, 240, 247, 230), (203, 201, 226, 230), (158, 154, 200, 230), (117, 107, 177, 230),
            (84, 39, 143, 230))

METRICS: dict[str, MapMetric] = {m.name: m for m in (
    MapMetric("completion_rate", metrics.LABELS["completion_rate"], "completion_rate", _RD_YL_GN,
              (0.0, 0.2, 0.4, 0.6, 0.8, 1.0), f"规划成果完成（{stages.COMPLETED_STATUSES[0]}及以后）的任务村占比"),
    MapMetric("avg_stage", "平均环节", "avg_stage", _BLUES, (1, 2, 3, 4, 5, 6, 7),
              "任务村所处环节（1–7）的平均值"),
    MapMetric("lag", "进度差（对照进度计划）", "lag", _RD_YL_GN, (-math.inf, -0.2, -0.1, 0.0, 0.1, math.inf),
              f"规划进度（已完成步骤占{stages.STEPS_TOTAL}步）减去进度计划应达进度（按任务年度与报表日期，config/schedule.toml）"),
    MapMetric("adoption_rate", metrics.LABELS["adoption_rate"], "adoption_rate", _RD_YL_GN,
              (0.0, 0.2, 0.4, 0.6, 0.8, 1.0), "纳入规划的需求占收集需求的比例"),
    MapMetric("funding_wan", metrics.LABELS["funding_wan"], "funding_wan", _PURPLES, None,
              "项目资金合计（万元），按分位数分级"),
    # 驻村力量 (warehouse/parts/teams.py team_summary), joined by region code in region_figures.
    MapMetric("team_staffing_rate", "驻村力量配备达标率", "team_staffing_rate", _RD_YL_GN,
              (0.0, 0.2, 0.4, 0.6, 0.8, 1.0), "有配备要求的村中，驻村工作队或第一书记配备达标的比例（驻村力量月报）"),
    MapMetric("team_attendance_rate", "驻村在村天数达标率", "team_attendance_rate", _RD_YL_GN,
              (0.0, 0.2, 0.4, 0.6, 0.8, 1.0), "最新月份在岗驻村人员中在村天数（含公务外出）达到要求的比例"),
)}
PERCENT_METRICS = ("completion_rate", "adoption_rate", "team_staffing_rate", "team_attendance_rate")
DEFAULT_METRIC = "completion_rate"

# Village points: one colour per stage, light to dark blue (ColorBrewer Blues) — a hue the red-to-green region
# palettes do not use, so points stay readable on any fill, and "darker = further along" as in 平均环节.
STAGE_COLOURS: dict[int, RGBA] = {
    1: (222, 235, 247, 255), 2: (198, 219, 239, 255), 3: (158, 202, 225, 255), 4: (107, 174, 214, 255),
    5: (66, 146, 198, 255), 6: (33, 113, 181, 255), 7: (8, 69, 148, 255),
}
FILL_ALPHA_UNDER_POINTS = 150  # region fills are lighter when village points are drawn over them


def stage_names() -> dict[int, str]:
    """Stage number → name from config/stages.toml (falls back to bare numbers if the file is unreadable)."""
    try:
        return stages.stage_names()
    except Exception:  # the map must still draw with a broken stage file; the pipeline reports that error
        return {k: f"第{k}环节" for k in range(1, stages.STAGE_COUNT + 1)}


# ---------------------------------------------------------------------------------------------- colour classes


@dataclass(frozen=True)
class Bin:
    lower: float
    upper: float
    colour: RGBA
    label: str


def nice_number(x: float) -> float:
    """Round to two significant digits (1234 → 1200, 0.0456 → 0.046) so legend edges read cleanly."""
    if x == 0 or not math.isfinite(x):
        return x
    magnitude = 10 ** (math.floor(math.log10(abs(x))) - 1)
    return round(x / magnitude) * magnitude


def quantile_edges(values: Iterable[float | None], classes: int) -> tuple[float, ...]:
    """Class edges from the data: 0, nice quantiles, +inf. Fewer classes when the values are few or equal."""
    vals = sorted(float(v) for v in values if v is not None and math.isfinite(float(v)))
    if not vals:
        return (0.0, math.inf)
    inner = []
    for k in range(1, classes):
        q = float(np.quantile(vals, k / classes))
        q = nice_number(q)
        if q > 0 and (not inner or q > inner[-1]):
            inner.append(q)
    return (0.0, *inner, math.inf)


def _format_edge(metric: MapMetric, x: float) -> str:
    if metric.name in PERCENT_METRICS:
        return f"{x * 100:.0f}%"
    if metric.name == "lag":
        return f"{x * 100:+.0f}".replace("-", "−")
    if metric.name == "avg_stage":
        return f"{x:g}"
    return fmt.plain(x)


def bins_for(metric: MapMetric, values: Iterable[float | None] = ()) -> list[Bin]:
    """The colour classes of a metric: fixed edges for rates, stages and lag; quantiles of the data for funding."""
    edges = metric.edges or quantile_edges(values, len(metric.palette))
    n = len(edges) - 1
    palette = metric.palette if n == len(metric.palette) else _spread(metric.palette, n)
    out = []
    for i in range(n):
        lo, hi = edges[i], edges[i + 1]
        if metric.name == "lag":
            unit = "个百分点"
            if not math.isfinite(lo):
                label = f"落后{abs(hi) * 100:.0f}{unit}以上"
            elif not math.isfinite(hi):
                label = f"超前{lo * 100:.0f}{unit}以上"
            elif hi <= 0:
                label = f"落后{abs(hi) * 100:.0f}–{abs(lo) * 100:.0f}{unit}" if hi < 0 else f"落后0–{abs(lo) * 100:.0f}{unit}"
            else:
                label = f"持平至超前{hi * 100:.0f}{unit}" if lo == 0 else f"超前{lo * 100:.0f}–{hi * 100:.0f}{unit}"
        elif metric.name == "avg_stage":
            label = f"第{lo:g}–{hi:g}环节"
        else:
            unit = "万元" if metric.name == "funding_wan" else ""
            label = (f"{_format_edge(metric, lo)}{unit}以上" if not math.isfinite(hi)
                     else f"{_format_edge(metric, lo)}–{_format_edge(metric, hi)}{unit}")
        out.append(Bin(lo, hi, palette[i], label))
    return out


def _spread(palette: Sequence[RGBA], n: int) -> tuple[RGBA, ...]:
    """n colours picked evenly from a palette (for data-driven classes that came out fewer)."""
    if n <= 1:
        return (palette[len(palette) // 2],)
    return tuple(palette[round(i * (len(palette) - 1) / (n - 1))] for i in range(n))


def classify(value: float | None, bins: Sequence[Bin]) -> int | None:
    """Index of the bin holding value (lower ≤ v < upper; the last bin includes its upper edge); values outside
    the edges go to the end bins. None when there is no value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    for i, b in enumerate(bins):
        if value < b.upper:
            return i
    return len(bins) - 1


# ---------------------------------------------------------------------------------------------- queries


def region_figures(filters: Filters, scope: Scope, level: Level) -> pl.DataFrame:
    """One row per region (county or prefecture) with task villages in force: code, as_of, every count of
    warehouse.metrics, completion_rate, adoption_rate, avg_stage, progress (share of the 28 steps done,
    metrics.progress_sql), expected (what warehouse.schedule expects of the same villages on their report
    dates) and lag = progress − expected. Regions without village rows are absent."""
    key = "county_code" if level == "county" else "prefecture_code"
    vsql, params = villages_sql(filters, scope)
    figures = query(
        f"SELECT *, {metrics.rate('completion_rate').sql()} AS completion_rate, "
        f"{metrics.rate('adoption_rate').sql()} AS adoption_rate FROM ("
        f"  SELECT v.{key} AS code, max(v.as_of) AS as_of, {metrics.county_aggregates_sql('v')}, "
        f"         avg(v.stage) AS avg_stage, {metrics.progress_sql('v')} AS progress "
        f"  FROM ({vsql}) v GROUP BY v.{key}) ORDER BY code", params)
    # The expected line depends on each village's task year and report date: weight it by the villages.
    groups = query(f"SELECT v.{key} AS code, v.task_year, v.as_of, count(*) AS n FROM ({vsql}) v "
                   f"WHERE v.task_year IS NOT NULL AND v.as_of IS NOT NULL GROUP BY ALL", params)
    weighted: dict[str, list[float]] = {}
    for code, year, as_of, n in groups.iter_rows():
        acc = weighted.setdefault(code, [0.0, 0])
        acc[0] += schedule.expected_completion(year, as_of) * n
        acc[1] += n
    expected = pl.DataFrame({"code": list(weighted), "expected": [s / n for s, n in weighted.values()]},
                            schema={"code": pl.String, "expected": pl.Float64})
    teams = team_queries.map_rates(level)
    return figures.join(expected, on="code", how="left").with_columns(
        lag=pl.col("progress") - pl.col("expected")).join(teams, on="code", how="left")


def reported_prefectures(filters: Filters, scope: Scope) -> dict[str, date]:
    """Prefecture code → as-of date of its report in force (prefectures without one are absent)."""
    rsql, params = reports_sql(filters)
    where, sparams = Scope(prefecture_code=scope.home_prefecture).sql("r")
    frame = query(f"SELECT r.prefecture_code, r.as_of FROM ({rsql}) r WHERE {where}", params + sparams)
    return dict(frame.iter_rows())


def village_rows(filters: Filters, scope: Scope, region: str | None = None) -> pl.DataFrame:
    """Task villages in force (one row each): village_key, village, township, county_code, county_name, stage,
    steps_done, plan_status, as_of — ordered so the result is stable."""
    vsql, params = villages_sql(filters, scope, region)
    return query(
        f"SELECT v.village_key, v.village, v.township, v.county_code, v.county_name, v.stage, v.steps_done, "
        f"v.plan_status, v.as_of FROM ({vsql}) v ORDER BY v.county_code, v.village_key", params)


# ---------------------------------------------------------------------------------------------- geometry


def _round_ring(ring: list, digits: int) -> list:
    out: list = []
    for x, y in ring:
        p = [round(x, digits), round(y, digits)]
        if not out or p != out[-1]:
            out.append(p)
    return out


def round_geometry(geometry: dict, digits: int = COORD_DIGITS) -> dict | None:
    """A GeoJSON (Multi)Polygon with rounded coordinates; repeated points dropped; rings that collapse to fewer
    than 4 points dropped (a hole or an islet smaller than the rounding). None if nothing is left."""
    polys = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    out = []
    for poly in polys:
        rings = [_round_ring(r, digits) for r in poly]
        if len(rings[0]) < 4:
            continue
        out.append([rings[0]] + [r for r in rings[1:] if len(r) >= 4])
    if not out:
        return None
    if len(out) == 1:
        return {"type": "Polygon", "coordinates": out[0]}
    return {"type": "MultiPolygon", "coordinates": out}


@functools.lru_cache(maxsize=4)
def _features(level: str) -> tuple[dict, ...]:
    """The committed features of a level with rounded coordinates (computed once per process)."""
    fc = boundaries.geojson_dict(level)  # type: ignore[arg-type]
    out = []
    for f in fc["features"]:
        geom = round_geometry(f["geometry"]) or f["geometry"]
        out.append({"type": "Feature", "properties": dict(f["properties"]), "geometry": geom})
    return tuple(out)


def features(level: str) -> list[dict]:
    """Fresh copies of the rounded features (callers add properties)."""
    return [{"type": "Feature", "properties": dict(f["properties"]), "geometry": f["geometry"]}
            for f in _features(level)]


@functools.lru_cache(maxsize=256)
def _shape(level: str, code: str):
    for f in boundaries.geojson_dict(level)["features"]:  # type: ignore[arg-type]
        if f["properties"]["code"] == code:
            return shape(f["geometry"])
    raise KeyError(f"no {level} polygon with code {code}")


def region_bounds(codes: Iterable[str]) -> tuple[float, float, float, float]:
    """(min lon, min lat, max lon, max lat) of the named prefectures/counties (530000 = the province)."""
    geoms = []
    for code in codes:
        if code == "530000":
            geoms.append(shape(boundaries.geojson_dict("province")["features"][0]["geometry"]))
        else:
            geoms.append(_shape("prefecture" if code.endswith("00") else "county", code))
    return tuple(float(x) for x in shapely.total_bounds(geoms))  # type: ignore[return-value]


@functools.lru_cache(maxsize=256)
def label_point(level: str, code: str) -> tuple[float, float]:
    """Where a region's name goes: the pole of inaccessibility of its largest part (always inside)."""
    geom = _shape(level, code)
    if geom.geom_type == "MultiPolygon":
        geom = max(geom.geoms, key=lambda g: g.area)
    p = shapely.ops.polylabel(geom, tolerance=0.01)
    return round(p.x, COORD_DIGITS), round(p.y, COORD_DIGITS)


def label_text(level: str, code: str) -> str:
    """The name written on the map: 红河州 for prefectures; a county's name, or its short form when the name is
    long (金平苗族瑶族傣族自治县 → 金平), so labels do not run into each other."""
    if level == "prefecture":
        return _names("prefecture")[code][0]
    name, short = _names("county")[code]
    return name if len(name) <= 4 else short


@functools.lru_cache(maxsize=2)
def _names(level: str) -> dict[str, tuple[str, str]]:
    if level == "prefecture":
        frame = reference.prefectures().select("code", "common_name", "short_name")
    else:
        frame = reference.counties().select("code", "name", "short_name")
    return {code: (a, b) for code, a, b in frame.iter_rows()}


# ---------------------------------------------------------------------------------------------- village points


@functools.lru_cache(maxsize=160)
def _sampling_area(county_code: str):
    """The county polygon pulled ~1 km in from its border (points should not sit on a boundary line), prepared
    for fast point-in-polygon tests; the original polygon when the shrunken one would be empty."""
    geom = _shape("county", county_code)
    inner = geom.buffer(-0.01)
    if inner.is_empty or inner.area < 0.2 * geom.area:
        inner = geom
    shapely.prepare(inner)
    return inner


def _point_for(area, county_code: str, key: str) -> tuple[float, float]:
    # The seed depends on the county and the village's key only, so a village keeps its point whatever else is
    # on the map (another year, another date, a new village in the same county).
    rng = np.random.default_rng([int(county_code), zlib.crc32(key.encode("utf-8"))])
    minx, miny, maxx, maxy = area.bounds
    for _ in range(50):
        xs = rng.uniform(minx, maxx, 64)
        ys = rng.uniform(miny, maxy, 64)
        inside = np.flatnonzero(shapely.contains_xy(area, xs, ys))
        if inside.size:
            i = inside[0]
            return float(xs[i]), float(ys[i])
    p = area.representative_point()
    return p.x, p.y


@functools.lru_cache(maxsize=512)
def sample_points(county_code: str, keys: tuple[str, ...]) -> tuple[tuple[float, float], ...]:
    """One synthetic point per village key, inside the county polygon, deterministic (fixed seed per village).

    Villages have no coordinates in any package: these positions are illustrative only (APPROXIMATE)."""
    area = _sampling_area(county_code)
    return tuple(
        (round(x, COORD_DIGITS + 1), round(y, COORD_DIGITS + 1))
        for x, y in (_point_for(area, county_code, k) for k in keys)
    )


def village_points(rows: pl.DataFrame) -> list[dict]:
    """Point records for the village layer (position, colour, tooltip lines) from ``village_rows``."""
    names = stage_names()
    out: list[dict] = []
    for (county_code,), group in rows.group_by(["county_code"], maintain_order=True):
        keys = tuple(group["village_key"].to_list())
        points = sample_points(county_code, keys)
        for r, p in zip(group.iter_rows(named=True), points):
            stage = r["stage"]
            # Kept short: a prefecture drilled into may have 1,300 points. The report date is on the region's
            # tooltip and in the legend; colours go without alpha.
            out.append({
                "position": list(p),
                "colour": list(STAGE_COLOURS.get(stage, (120, 120, 120, 255))[:3]),
                "code": r["county_code"],
                "t": f"{r['village']}（{r['township'] or ''}）",
                "a": (f"第{stage}环节 {names.get(stage, '')}" if stage else "环节未填")
                     + (f" · 已完成{r['steps_done']}/{stages.STEPS_TOTAL}步" if r["steps_done"] is not None else ""),
                "b": f"规划状态：{r['plan_status'] or '—'}",
                "c": r["county_name"] or "",
                "d": "", "e": "",
                "n": APPROXIMATE,
            })
    return out


# ---------------------------------------------------------------------------------------------- joining


@dataclass
class Legend:
    title: str
    bins: list[Bin]
    greys: list[tuple[RGBA, str]]          # the grey classes that occur on the map
    stages: list[tuple[RGBA, str]] = field(default_factory=list)   # village point colours, when points are shown
    notes: list[str] = field(default_factory=list)


def _value_text(metric: str, value: float | None) -> str:
    if value is None:
        return "—"
    if metric in PERCENT_METRICS:
        return fmt.percent(value)
    if metric == "avg_stage":
        return f"第{value:.1f}环节"
    if metric == "lag":
        return f"{value * 100:+.1f}个百分点".replace("-", "−")
    if metric == "funding_wan":
        return fmt.money_wan(value)
    return fmt.plain(value, 1)


def _clean(x: Any) -> Any:
    if isinstance(x, float) and math.isnan(x):
        return None
    return x


def join_regions(level: Level, figures: pl.DataFrame, reported: dict[str, date], metric: str,
                 codes: Iterable[str] | None = None) -> tuple[list[dict], Legend]:
    """The features of a level (optionally only ``codes``), each with its figures joined by code, a status, a
    fill colour for ``metric`` and tooltip lines; and the legend. Regions without figures get None values and a
    grey status — "未上报" when their prefecture has no report in force — never zero."""
    spec = METRICS[metric]
    keep = set(codes) if codes is not None else None
    rows = {r["code"]: r for r in figures.iter_rows(named=True)}
    values: dict[str, float | None] = {}
    for code, r in rows.items():
        v = _clean(r[spec.column])
        values[code] = None if v is None else float(v)
    feats = [f for f in features(level) if keep is None or f["properties"]["code"] in keep]
    bins = bins_for(spec, [values.get(f["properties"]["code"]) for f in feats])
    pref_names = dict(reference.prefectures().select("code", "common_name").iter_rows())
    greys: dict[str, RGBA] = {}
    for f in feats:
        p = f["properties"]
        code = p["code"]
        pref_code = p.get("prefecture_code", code)
        r = rows.get(code)
        value = values.get(code)
        p["level"] = level
        p["t"] = f"{p['name']}（{pref_names.get(pref_code, '')}）" if level == "county" else p["name"]
        p["metric_value"] = value
        if r is None:
            status = NOT_REPORTED if pref_code not in reported else NO_VILLAGES
            colour = GREY_NOT_REPORTED if status == NOT_REPORTED else GREY_NO_VILLAGES
            greys[status] = colour
            p.update(status=status, as_of=None, task_villages=None, fill=list(colour), a=status,
                     b="", c="", d="", e="",
                     n=("该州市尚无截至所选日期的报表" if status == NOT_REPORTED
                               else f"州市报表中无本县任务村 · 截至{reported[pref_code].isoformat()}"))
            continue
        idx = classify(value, bins)
        if idx is None:
            greys[NO_VALUE] = GREY_NO_VALUE
            colour = GREY_NO_VALUE
        else:
            colour = bins[idx].colour
        as_of = r["as_of"].isoformat() if r["as_of"] else "—"
        comp = _clean(r["completion_rate"])
        p.update(
            status=REPORTED, as_of=as_of, task_villages=int(r["task_villages"]), fill=list(colour),
            a=f"【{spec.label}】{_value_text(metric, value) if value is not None else NO_VALUE}",
            b=f"任务村 {fmt.plain(r['task_villages'])} 个 · 成果完成 {fmt.plain(r['plans_completed'])} 个"
                  f"（{fmt.percent(comp)}）",
            c=f"平均环节 {_value_text('avg_stage', _clean(r['avg_stage']))} · "
                  f"{metrics.PROGRESS_LABEL} {fmt.percent(_clean(r['progress']))}"
                  f"（应达 {fmt.percent(_clean(r['expected']))}，进度差 {_value_text('lag', _clean(r['lag']))}）",
            d=f"需求纳入率 {fmt.percent(_clean(r['adoption_rate']))}"
                  f"（{fmt.plain(r['needs_adopted'])}/{fmt.plain(r['needs_total'])} 条）",
            e=f"项目资金 {fmt.money_wan(_clean(r['funding_wan']))}",
            n=f"截至{as_of}",
        )
    order = [NOT_REPORTED, NO_VILLAGES, NO_VALUE]
    legend = Legend(
        title=spec.label + ("（百分点）" if metric == "lag" else ""),
        bins=bins,
        greys=[(greys[s], s) for s in order if s in greys],
        notes=[spec.description] if spec.description else [],
    )
    return feats, legend


# ---------------------------------------------------------------------------------------------- the model


@dataclass
class MapModel:
    """Everything one map shows, as plain data (picklable: cached per warehouse version by the pages)."""

    level: Level
    metric: str
    prefecture: str | None
    features: list[dict]
    legend: Legend
    bounds: tuple[float, float, float, float]
    labels: list[dict]
    villages: list[dict]
    province_outline: dict | None
    as_of_text: str
    reported: int            # regions on the map with figures
    regions: int             # regions on the map


def _codes_for(level: Level, scope: Scope, prefecture: str | None) -> list[str]:
    """The regions a map draws: all of a level, only those of the drilled prefecture, only those in scope."""
    frame = reference.prefectures() if level == "prefecture" else reference.counties()
    codes = frame["code"].to_list()
    parents = codes if level == "prefecture" else frame["prefecture_code"].to_list()
    out = []
    for code, parent in zip(codes, parents):
        if prefecture and parent != prefecture:
            continue
        if scope.county_code and level == "county" and code != scope.county_code:
            continue
        if scope.county_code and level == "prefecture" and code[:4] != scope.county_code[:4]:
            continue
        if scope.prefecture_code and parent != scope.prefecture_code:
            continue
        out.append(code)
    return out


def map_model(filters: Filters, scope: Scope, level: Level = "county", metric: str = DEFAULT_METRIC,
              prefecture: str | None = None, show_villages: bool | None = None) -> MapModel:
    """The map of a level, coloured by a metric, optionally drilled into one prefecture (its counties only).

    Village points are shown by default when the map covers one prefecture or less (a province of ~5,000 points
    would be unreadable and heavy); ``show_villages`` forces it either way.
    """
    if metric not in METRICS:
        metric = DEFAULT_METRIC
    if prefecture and not scope.allows(prefecture):
        prefecture = None
    if prefecture or scope.prefecture_code or scope.county_code:
        level = "county"  # a prefecture (drilled into, or the user's scope) is always shown by its counties
    codes = _codes_for(level, scope, prefecture)
    figures = region_figures(filters, scope, level)
    reported = reported_prefectures(filters, scope)
    feats, legend = join_regions(level, figures, reported, metric, codes)

    narrow = bool(prefecture or scope.prefecture_code or scope.county_code)
    villages: list[dict] = []
    if show_villages if show_villages is not None else narrow:
        region = scope.county_code or prefecture or scope.prefecture_code
        rows = village_rows(filters, scope, region)
        villages = village_points(rows)
        names = stage_names()
        present = sorted({r for r in rows["stage"].to_list() if r is not None})
        legend.stages = [(STAGE_COLOURS[s], f"第{s}环节 {names.get(s, '')}") for s in present if s in STAGE_COLOURS]
        legend.notes.append(f"任务村圆点为{APPROXIMATE}")

    if villages:
        for f in feats:
            f["properties"]["fill"][3] = min(f["properties"]["fill"][3], FILL_ALPHA_UNDER_POINTS)

    label_level = "county" if level == "county" and (narrow or len(codes) <= 20) else "prefecture"
    label_codes = codes if label_level == level else _codes_for("prefecture", scope, prefecture)
    labels = [{"position": list(label_point(label_level, c)), "text": label_text(label_level, c)}
              for c in label_codes]

    outline = None
    if not narrow:
        outline = features("province")[0]
    elif prefecture or scope.prefecture_code:
        outline = features("prefecture")[[f["properties"]["code"] for f in features("prefecture")].index(
            prefecture or scope.prefecture_code)]

    if reported:
        dates = sorted(set(reported.values()))
        as_of_text = f"数据截至{dates[-1].isoformat()}" if len(dates) == 1 else \
            f"各州市报表日期 {dates[0].isoformat()} 至 {dates[-1].isoformat()}"
    else:
        as_of_text = "尚无报表"
    n_reported = sum(1 for f in feats if f["properties"]["status"] == REPORTED)
    return MapModel(level=level, metric=metric, prefecture=prefecture, features=feats, legend=legend,
                    bounds=region_bounds(codes) if codes else region_bounds(["530000"]), labels=labels,
                    villages=villages, province_outline=outline, as_of_text=as_of_text, reported=n_reported,
                    regions=len(feats))


def laggards(model: MapModel, n: int = 8) -> list[dict]:
    """The ``n`` reported regions with the lowest value of the model's metric (for every metric of the map, lower
    means further behind): code, name, value text. Regions without a value are left out."""
    rows = [f["properties"] for f in model.features
            if f["properties"]["status"] == REPORTED and f["properties"]["metric_value"] is not None]
    rows.sort(key=lambda p: (p["metric_value"], p["code"]))
    return [{"code": p["code"], "name": p["name"], "value": _value_text(model.metric, p["metric_value"])}
            for p in rows[:n]]


# ---------------------------------------------------------------------------------------------- view and deck

# The map sizes the pages draw (width is a hint: the map is as wide as its column, which Python never learns;
# the height is exact). The view is fitted to these; tests compute screen positions from them.
PAGE_SIZE = (1150, 720)
PANEL_SIZE = (620, 420)


def fit_view(bounds: Sequence[float], width: int, height: int, padding: int = 24, max_zoom: float = 10.0) -> dict:
    """longitude, latitude, zoom so the bounds fill a width×height map (Web Mercator, deck.gl 512-px tiles)."""
    minx, miny, maxx, maxy = bounds

    def merc(lat: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    dx = max(math.radians(maxx - minx), 1e-6)
    dy = max(merc(maxy) - merc(miny), 1e-6)
    w, h = max(width - 2 * padding, 50), max(height - 2 * padding, 50)
    zoom = math.log2(min(w * 2 * math.pi / (512 * dx), h * 2 * math.pi / (512 * dy)))
    ym = (merc(maxy) + merc(miny)) / 2
    lat = math.degrees(2 * math.atan(math.exp(ym)) - math.pi / 2)
    return {"longitude": round((minx + maxx) / 2, 4), "latitude": round(lat, 4), "zoom": round(min(zoom, max_zoom), 3)}


def lnglat_to_pixel(lng: float, lat: float, view: dict, width: int, height: int) -> tuple[float, float]:
    """Screen position (x right, y down, px from the map's top-left) of a point under a fit_view view state."""
    scale = 512 * 2 ** view["zoom"] / (2 * math.pi)

    def merc(la: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(la) / 2))

    x = width / 2 + scale * math.radians(lng - view["longitude"])
    y = height / 2 - scale * (merc(lat) - merc(view["latitude"]))
    return x, y


# The tooltip fields every pickable feature carries (ui.map_deck draws one deck-wide template over them): regions
# and village points carry the same short keys: t title, a–e lines (empty when unused), n note. Short keys: village points are many.
TOOLTIP_KEYS = ("t", "a", "b", "c", "d", "e", "n")

def selection_target(selection: dict | None) -> tuple[str, str] | None:
    """What a pydeck selection points at: ("prefecture", code), ("county", code) or None.

    Streamlit's selection state is {"indices": {layer_id: [i]}, "objects": {layer_id: [object]}}; a region is a
    GeoJSON feature (code under properties), a village point carries its county's code.
    """
    if not selection:
        return None
    objects = selection.get("objects") or {}
    for layer_id, objs in objects.items():
        if not objs:
            continue
        obj = objs[0] or {}
        props = obj.get("properties", obj)
        code = props.get("code")
        if not code:
            continue
        if layer_id == LAYER_REGIONS["prefecture"]:
            return "prefecture", code
        if layer_id in (LAYER_REGIONS["county"], LAYER_VILLAGES):
            return "county", code
    return None
