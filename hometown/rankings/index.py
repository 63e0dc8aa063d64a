"""Rankings for 大擂台大比武 and for reviews: a weighted index of indicators over prefectures, counties or villages.

Owns the index (which indicators, how each is normalised, how the weights combine them, how ties rank), the change
of rank since the previous reporting date, the table the page shows and the exports write (one frame for both, so
what an analyst downloads is what they saw), the method text of the export's 说明 sheet, and the named weight
presets (config/ranking_presets.toml, plus presets users save: in the app store — appdb, shared by every app
machine — never to config/; ``$HOMETOWN_USER_PRESETS`` names a TOML file to use instead).

The indicators are rates of warehouse.metrics — this module never defines a metric of its own. Every query takes a
Scope and applies it in SQL through hometown.base.villages_sql.
"""

from __future__ import annotations

import json
import math
import os
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Iterable, Mapping

import polars as pl

from geo import reference
from hometown.base import region_sql, villages_sql
from hometown.export import DECIMAL, INDEX, INT, PERCENT, TEXT
from warehouse.metrics import Rate
from appdb import store as appstore
from warehouse.parts import commitments as commitment_metrics
from warehouse.parts import teams as team_metrics
from warehouse import db, metrics, settings
from warehouse.files import write_atomic
from warehouse.scope import ALL, Filters, OutOfScope, Scope

CONFIG_PRESETS = settings.CONFIG_DIR / "ranking_presets.toml"
USER_PRESETS_ENV = "HOMETOWN_USER_PRESETS"  # a TOML file instead of the app store (tests, a single machine by hand)
LEGACY_USER_PRESETS = Path("data/ranking_presets.toml")  # where saved presets lived before the app store: adopted
PRESETS_DOCUMENT = "rankings:presets"  # the same TOML text, as a document of the app store

# The indicators, in the order the page and the exports show them. Each is a rate of warehouse.metrics.RATES, and
# a higher value is better for every one of them.
INDICATORS: tuple[str, ...] = (
    "completion_rate",
    "database_rate",
    "civil_servants_per_group",
    "visits_per_village",
    "adoption_rate",
    "participation_per_village",
    "funding_per_village",
    "special_plans_rate",
    "fulfilment_rate",
    "attendance_met_rate",
)
PERCENT_INDICATORS = frozenset({"completion_rate", "database_rate", "adoption_rate", "special_plans_rate",
                                "fulfilment_rate", "attendance_met_rate"})


@dataclass(frozen=True)
class PartIndicator:
    """An indicator of another report kind: a rate of its schema part, read from the part's summary at the unit's
    level and code (each unit's current figure), never recomputed here."""
    rate: Rate
    part: str                             # the schema part (warehouse/parts/<part>.py, its key)
    sql: str                              # SELECT level, code, <rate> over the part's summary views


# 承诺兑现率 of 任期承诺 (COMMITMENTS_SPEC §4; all lists) and 驻村在村天数达标率 of 驻村力量 (TEAMS_SPEC §5, the
# /teams page's 本月在村天数达标率: person-months meeting the rule ÷ person-months in post, latest month). A warehouse
# written before a part existed has no such figures: the indicator is missing for every unit (scores 0).
PART_INDICATORS: dict[str, PartIndicator] = {
    "fulfilment_rate": PartIndicator(
        next(r for r in commitment_metrics.RATES if r.name == "fulfilment_rate"), commitment_metrics.KIND,
        "SELECT level, code, fulfilment_rate FROM commitment_summary WHERE list_name IS NULL"),
    "attendance_met_rate": PartIndicator(
        next(r for r in team_metrics.RATES if r.name == "attendance_met_rate"), team_metrics.KIND,
        "SELECT level, code, attendance_met_rate FROM team_summary UNION ALL "
        "SELECT level, code, attendance_met_rate FROM team_village_summary"),
}
COMMITMENT_INDICATORS = {n: i.rate for n, i in PART_INDICATORS.items() if i.part == commitment_metrics.KIND}
PROGRESS_INDICATORS = tuple(n for n in INDICATORS if n not in PART_INDICATORS)

MINMAX, PERCENTILE = "minmax", "percentile"
NORMALISATIONS = {MINMAX: "最小-最大标准化", PERCENTILE: "百分位标准化"}
NORMALISATION_RULES = {
    MINMAX: "标准化得分 =（该单位指标值 − 最小值）÷（最大值 − 最小值），取值0～1；全部单位取值相同时均记1分",
    PERCENTILE: "标准化得分 =（指标值低于该单位的单位数 +（取值相同的其他单位数）÷ 2）÷（参评单位数 − 1），取值0～1；"
                "只有1个单位时记1分",
}
INDEX_FORMULA = "综合指数 = 100 × Σ（权重ᵢ × 标准化得分ᵢ）÷ Σ权重ᵢ，保留两位小数"
TIE_RULE = "综合指数（两位小数）相同者名次并列，其后名次顺延（竞赛排名法：1、2、2、4）"
MISSING_RULE = "指标无法计算（如分母为0：未组建编制组、未收集需求）时，该项标准化得分记0分"


@dataclass(frozen=True)
class Level:
    name: str
    label: str                     # 州市 / 县市区 / 行政村
    keys: tuple[str, ...]          # village_history columns the rows are grouped by
    code: str                      # the column that identifies a ranked unit
    name_columns: tuple[tuple[str, str], ...]   # (internal column, Chinese header) shown in the table


LEVELS: dict[str, Level] = {
    "prefecture": Level("prefecture", "州市", ("prefecture_code", "prefecture_name"), "prefecture_code",
                        (("prefecture", "州市"),)),
    "county": Level("county", "县市区", ("prefecture_code", "prefecture_name", "county_code", "county_name"),
                    "county_code", (("prefecture", "州市"), ("county_name", "县市区"))),
    "village": Level("village", "行政村",
                     ("prefecture_code", "prefecture_name", "county_code", "county_name", "township", "village",
                      "village_key"),
                     "village_key",
                     (("prefecture", "州市"), ("county_name", "县市区"), ("township", "乡镇"), ("village", "行政村"))),
}


class RankingError(ValueError):
    """A ranking that cannot be built as asked (bad weights, unknown level or preset); the message is Chinese."""


def label(indicator: str) -> str:
    return metrics.LABELS.get(indicator) or PART_INDICATORS[indicator].rate.label


# ---------------------------------------------------------------------------------------------------- the method


def normalise(values: pl.Series, method: str) -> pl.Series:
    """Scores 0…1 for one indicator over the units ranked together; a missing value scores 0."""
    s = values.cast(pl.Float64)
    present = s.drop_nulls().drop_nans()
    s = s.fill_nan(None)
    if present.len() == 0:
        return pl.Series(values.name, [0.0] * len(s), pl.Float64)
    if method == MINMAX:
        lo, hi = present.min(), present.max()
        out = (s * 0 + 1.0) if hi == lo else (s - lo) / (hi - lo)
    elif method == PERCENTILE:
        n = present.len()
        if n == 1:
            out = s * 0 + 1.0
        else:
            # Average rank among the present values: (below + (equal − 1) / 2) + 1, so ties share one score.
            out = (s.rank("average") - 1) / (n - 1)
    else:
        raise RankingError(f"未知的标准化方法：{method}（可选：{'、'.join(NORMALISATIONS)}）")
    return out.fill_null(0.0).alias(values.name)


def competition_rank(values: pl.Series, descending: bool = True) -> pl.Series:
    """Standard competition ranking: equal values share the best place, the next place skips (1, 2, 2, 4)."""
    return values.rank("min", descending=descending).cast(pl.Int32)


def check_weights(weights: Mapping[str, float] | Iterable[tuple[str, float]]) -> dict[str, float]:
    """Weights for every indicator (missing ones 0); refused when unknown, negative, not finite or all zero."""
    given = dict(weights)
    unknown = [k for k in given if k not in INDICATORS]
    if unknown:
        raise RankingError(f"未知的指标：{'、'.join(unknown)}")
    out = {}
    for name in INDICATORS:
        try:
            w = float(given.get(name, 0) or 0)
        except (TypeError, ValueError):
            raise RankingError(f"权重必须是数字：{label(name)} = {given.get(name)!r}") from None
        if not math.isfinite(w) or w < 0:
            raise RankingError(f"权重必须是不小于0的数：{label(name)} = {given.get(name)!r}")
        out[name] = w
    if sum(out.values()) <= 0:
        raise RankingError("权重不能全部为0：至少给一项指标设置大于0的权重")
    return out


def score(frame: pl.DataFrame, weights: Mapping[str, float], normalisation: str = MINMAX) -> pl.DataFrame:
    """Add s_<indicator> (0…1), index (0…100, two decimals) and rank to a frame holding the indicator columns."""
    w = check_weights(weights)
    total = sum(w.values())
    if frame.height == 0:
        return frame.with_columns(
            *[pl.lit(None, pl.Float64).alias(f"s_{n}") for n in INDICATORS],
            pl.lit(None, pl.Float64).alias("index"), pl.lit(None, pl.Int32).alias("rank"))
    scored = frame.with_columns([normalise(frame[n], normalisation).alias(f"s_{n}") for n in INDICATORS])
    raw = sum(pl.col(f"s_{n}") * w[n] for n in INDICATORS)
    # Rounded before ranking: two units that show the same index share the place, as a reader would expect.
    scored = scored.with_columns((raw * 100.0 / total).round(2).alias("index"))
    return scored.with_columns(competition_rank(scored["index"]).alias("rank"))


# ---------------------------------------------------------------------------------------------------- the data


def _dates_sql(filters: Filters, scope: Scope, prefecture: str | None) -> tuple[str, list]:
    scope_where, scope_params = scope.sql("h")
    region_where, region_params = region_sql(prefecture, "h")
    return (
        "SELECT DISTINCT h.as_of FROM village_history h "
        f"WHERE (CAST(? AS INTEGER) IS NULL OR h.task_year = CAST(? AS INTEGER)) AND {scope_where} AND {region_where} "
        "ORDER BY h.as_of DESC",
        [filters.task_year, filters.task_year] + scope_params + region_params,
    )


def reporting_dates(filters: Filters = Filters(), scope: Scope = ALL, prefecture: str | None = None,
                    db_path: str | None = None) -> list[date]:
    """The distinct reporting dates of the data in scope (newest first) — the choices of the date filter."""
    sql, params = _dates_sql(filters, scope, prefecture)
    return db.query(sql, params, path=db_path)["as_of"].to_list()


def task_years(scope: Scope = ALL, db_path: str | None = None) -> list[int]:
    scope_where, scope_params = scope.sql("h")
    sql = f"SELECT DISTINCT h.task_year FROM village_history h WHERE h.task_year IS NOT NULL AND {scope_where} ORDER BY 1"
    return db.query(sql, scope_params, path=db_path)["task_year"].to_list()


def effective_dates(dates: list[date], as_of: date | None) -> tuple[date | None, date | None]:
    """(the reporting date the figures are as of, the previous distinct reporting date before it).

    A filter date between two reports means the earlier report's figures, so the comparison is with the report
    date before that one — never a date with itself.
    """
    current = max((d for d in dates if as_of is None or d <= as_of), default=None)
    previous = max((d for d in dates if current is not None and d < current), default=None)
    return current, previous


def indicators(level: str, filters: Filters = Filters(), scope: Scope = ALL, prefecture: str | None = None,
               db_path: str | None = None) -> pl.DataFrame:
    """One row per unit of the level: its keys, the counts of warehouse.metrics and the indicator rates."""
    lv = _level(level)
    vsql, vparams = villages_sql(filters, scope, prefecture)
    keys = ", ".join(f"v.{k}" for k in lv.keys)
    rates = ", ".join(f"{metrics.rate(n).sql()} AS {n}" for n in PROGRESS_INDICATORS)
    # Each part indicator: the unit's row of its part's summary, joined by the level's code (NULL without the part).
    loaded = [k for k in dict.fromkeys(i.part for i in PART_INDICATORS.values()) if db.part_loaded(k, db_path)]
    joins, joined = [], []
    for i, (name, ind) in enumerate(PART_INDICATORS.items()):
        if ind.part in loaded:
            joins.append(f"LEFT JOIN ({ind.sql}) k{i} ON k{i}.level = '{lv.name}' AND k{i}.code = c.{lv.code}")
            joined.append(f"k{i}.{name}")
        else:
            joined.append(f"NULL::DOUBLE AS {name}")
    sql = (
        f"WITH c AS (SELECT {keys}, max(v.as_of) AS as_of, {metrics.county_aggregates_sql('v')} "
        f"FROM ({vsql}) v GROUP BY {keys}) "
        f"SELECT c.*, {rates}, {', '.join(joined)} FROM c {' '.join(joins)} ORDER BY c.{lv.code}"
    )
    frame = db.query_parts(loaded, sql, vparams, path=db_path)
    common = dict(reference.prefectures().select("code", "common_name").iter_rows())
    return frame.with_columns(
        pl.col("prefecture_code").replace_strict(common, default=pl.col("prefecture_name")).alias("prefecture"))


@dataclass(frozen=True)
class Ranking:
    level: str
    frame: pl.DataFrame            # one row per unit, ranked: keys, counts, indicators, s_*, index, rank, prev_rank
    weights: tuple[tuple[str, float], ...]
    normalisation: str
    filters: Filters
    prefecture: str | None
    as_of: date | None             # the reporting date the figures are as of
    previous_as_of: date | None    # the one the change of rank compares with
    scope: Scope = field(default=ALL)

    @property
    def level_label(self) -> str:
        return LEVELS[self.level].label


def _level(level: str) -> Level:
    try:
        return LEVELS[level]
    except KeyError:
        raise RankingError(f"未知的排名层级：{level}（可选：{'、'.join(LEVELS)}）") from None


def rank(level: str, weights: Mapping[str, float] | tuple[tuple[str, float], ...], normalisation: str = MINMAX,
         filters: Filters = Filters(), scope: Scope = ALL, prefecture: str | None = None,
         db_path: str | None = None) -> Ranking:
    """Rank the units of a level by the weighted index, with their rank at the previous reporting date."""
    lv = _level(level)
    w = check_weights(weights)
    if normalisation not in NORMALISATIONS:
        raise RankingError(f"未知的标准化方法：{normalisation}（可选：{'、'.join(NORMALISATIONS)}）")
    if prefecture and not scope.allows(prefecture):
        raise OutOfScope(f"无权查看该地区：{prefecture}")
    current, previous = effective_dates(reporting_dates(filters, scope, prefecture, db_path), filters.as_of)
    now = Filters(filters.task_year, current) if current else filters
    frame = score(indicators(level, now, scope, prefecture, db_path), w, normalisation)
    if previous is not None:
        before = score(indicators(level, Filters(filters.task_year, previous), scope, prefecture, db_path), w,
                       normalisation)
        frame = frame.join(before.select(lv.code, pl.col("rank").alias("prev_rank")), on=lv.code, how="left")
    else:
        frame = frame.with_columns(pl.lit(None, pl.Int32).alias("prev_rank"))
    frame = frame.with_columns((pl.col("prev_rank") - pl.col("rank")).alias("rank_change")).sort(["rank", lv.code])
    return Ranking(level, frame, tuple(w.items()), normalisation, filters, prefecture, current, previous, scope)


# ---------------------------------------------------------------------------------------------------- the table

def change_text(prev_rank: int | None, rank_: int, has_previous: bool) -> str | None:
    """↑3 (up three places), ↓2, 持平, 新 (not ranked at the previous date); None when there is no previous date."""
    if not has_previous:
        return None
    if prev_rank is None:
        return "新"
    d = prev_rank - rank_
    return f"↑{d}" if d > 0 else (f"↓{-d}" if d < 0 else "持平")


def column_kinds(level: str) -> dict[str, str]:
    """The table's Chinese headers in order, each with how it is formatted (page and exports alike)."""
    lv = _level(level)
    kinds = {"排名": INT, "排名变化": TEXT, "上期排名": INT}
    kinds |= {header: TEXT for _, header in lv.name_columns}
    kinds["综合指数"] = INDEX
    if level != "village":
        kinds[label("task_villages")] = INT
    kinds |= {label(n): PERCENT if n in PERCENT_INDICATORS else DECIMAL for n in INDICATORS}
    return kinds


def table(r: Ranking) -> pl.DataFrame:
    """The ranked table as the page shows it and the exports write it: Chinese headers, values rounded for reading."""
    lv = LEVELS[r.level]
    f = r.frame
    has_prev = r.previous_as_of is not None
    changes = [change_text(p, k, has_prev) for p, k in zip(f["prev_rank"].to_list(), f["rank"].to_list())]
    cols = [
        f["rank"].alias("排名"),
        pl.Series("排名变化", changes, pl.String),
        f["prev_rank"].alias("上期排名"),
        *[f[c].cast(pl.String).alias(h) for c, h in lv.name_columns],
        f["index"].alias("综合指数"),
    ]
    if r.level != "village":
        cols.append(f["task_villages"].cast(pl.Int64).alias(label("task_villages")))
    for n in INDICATORS:
        # Rounded to what is shown (percentages to 0.1%, ratios to 0.01): the figure on screen is the one in the file.
        cols.append(f[n].round(3 if n in PERCENT_INDICATORS else 2).alias(label(n)))
    return pl.DataFrame(cols) if f.height else pl.DataFrame(
        {h: pl.Series(h, [], dtype={TEXT: pl.String, INT: pl.Int64}.get(k, pl.Float64))
         for h, k in column_kinds(r.level).items()})


def region_label(r: Ranking) -> str:
    code = r.prefecture or r.scope.top_code
    if code == "530000":
        return "云南省（全省）"
    return reference.prefecture_name(code) if code.endswith("00") else reference.county_name(code)


def title(r: Ranking) -> str:
    as_of = r.as_of.isoformat() if r.as_of else "暂无报送数据"
    return f"干部规划家乡行动“大擂台大比武”{r.level_label}综合排名（数据截至 {as_of}）"


def method_notes(r: Ranking, preset_name: str | None = None) -> list[tuple[str, str]]:
    """(item, text) rows of the export's 说明 sheet: what was ranked, the formula, normalisation, ties, the data."""
    w = dict(r.weights)
    total = sum(w.values())
    year = f"{r.filters.task_year}年" if r.filters.task_year else "全部年度"
    rows = [
        ("排名对象", f"{r.level_label}（{len(r.frame)} 个）"),
        ("范围", region_label(r)),
        ("任务年度", year),
        ("数据截至", r.as_of.isoformat() if r.as_of else "暂无报送数据"),
        ("说明（截至日期）", "各州市报送日期不同：每个州市取截至该日期（含）最近一次已接收报表的数据"),
        ("排名变化对比日期", r.previous_as_of.isoformat() if r.previous_as_of else "无（此前没有报送日期）"),
        ("排名变化", "↑n 上升n位，↓n 下降n位，持平 名次不变，新 上期未参评；上期排名按同一权重与标准化方法计算"),
        ("综合指数公式", INDEX_FORMULA),
        ("标准化方法", f"{NORMALISATIONS[r.normalisation]}：{NORMALISATION_RULES[r.normalisation]}"),
        ("缺失值", MISSING_RULE),
        ("并列规则", TIE_RULE),
        ("权重方案", preset_name or "自定义"),
    ]
    for n in INDICATORS:
        share = w[n] / total if total else 0
        rate = PART_INDICATORS[n].rate if n in PART_INDICATORS else metrics.rate(n)
        rows.append((f"权重：{label(n)}",
                     f"{w[n]:g}（占 {share:.1%}）；指标 = {_term(rate.numerator)} ÷ {_term(rate.denominator)}"))
    rows.append(("数据来源", "各州市报送并经校验接收的《村庄进度》报表（数据仓库 village_history）；承诺兑现率取自"
                             "《任期承诺》报表（commitment_summary，各州市最新报送），取消的事项不计；驻村在村天数达标率"
                             "取自《驻村力量》月报（team_summary，各州市最新月份：在村天数含公务外出达到要求的在岗人次"
                             " ÷ 在岗人次）"))
    return rows


def _term(expr: str) -> str:
    """A rate's numerator or denominator in words (task_villages * 5 → 任务村 × 5)."""
    name, _, factor = expr.partition(" * ")
    text = metrics.LABELS.get(name) or commitment_metrics.LABELS.get(name) or team_metrics.LABELS.get(name, name)
    return f"（{text} × {factor}）" if factor else text


# ---------------------------------------------------------------------------------------------------- presets


@dataclass(frozen=True)
class Preset:
    name: str
    weights: tuple[tuple[str, float], ...]
    normalisation: str = MINMAX
    description: str = ""
    source: str = "config"        # config (shipped) or user (saved from the page)


def user_presets_path() -> Path | None:
    """The TOML file of saved presets when ``$HOMETOWN_USER_PRESETS`` names one; None: the app store."""
    value = os.environ.get(USER_PRESETS_ENV)
    return Path(value) if value else None


class _Stored:
    """The saved presets kept in the app store, looking like a file to the reader below (name for messages)."""

    name = "应用数据库中的用户方案"

    def exists(self) -> bool:
        return self.read_text() is not None

    def read_text(self, encoding: str = "utf-8") -> str | None:
        body = appstore.read_document(PRESETS_DOCUMENT)
        if body is None and LEGACY_USER_PRESETS.is_file():  # saved before the app store: still offered
            return LEGACY_USER_PRESETS.read_text(encoding=encoding)
        return body


def _read_presets(path, source: str) -> list[Preset]:
    if not path.exists():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RankingError(f"权重方案文件格式错误：{path.name}：{exc}") from None
    out = []
    for i, item in enumerate(data.get("preset", []), start=1):
        name = str(item.get("name") or "").strip()
        if not name:
            raise RankingError(f"权重方案文件 {path.name} 第{i}个方案缺少名称（name）")
        try:
            weights = check_weights(item.get("weights", {}))
        except RankingError as exc:
            raise RankingError(f"权重方案文件 {path.name} 方案“{name}”：{exc}") from None
        norm = item.get("normalisation", MINMAX)
        if norm not in NORMALISATIONS:
            raise RankingError(f"权重方案文件 {path.name} 方案“{name}”：未知的标准化方法 {norm}")
        out.append(Preset(name, tuple(weights.items()), norm, str(item.get("description", "")), source))
    return out


def presets(user_path: Path | None = None, problems: list[str] | None = None) -> list[Preset]:
    """The shipped presets, then the user's (a user preset may not reuse a shipped name).

    A broken user file raises RankingError, or — when a ``problems`` list is given (the page) — is reported there
    and skipped, so one bad save never takes the shipped presets away.
    """
    shipped = _read_presets(CONFIG_PRESETS, "config")
    names = {p.name for p in shipped}
    try:
        user = _read_presets(user_path or user_presets_path() or _Stored(), "user")
    except RankingError as exc:
        if problems is None:
            raise
        problems.append(str(exc))
        user = []
    return shipped + [p for p in user if p.name not in names]


def preset(name: str, user_path: Path | None = None) -> Preset:
    for p in presets(user_path):
        if p.name == name:
            return p
    raise RankingError(f"没有名为“{name}”的权重方案（现有：{'、'.join(p.name for p in presets(user_path))}）")


def _toml_string(text: str) -> str:
    # JSON string escapes (\" \\ \n \uXXXX) are valid TOML basic-string escapes.
    return json.dumps(text, ensure_ascii=False)


def save_preset(name: str, weights: Mapping[str, float], normalisation: str = MINMAX, description: str = "",
                user_path: Path | None = None) -> Preset:
    """Save (or replace) a user preset: in the app store (one transaction holding the document's row lock, so two
    machines saving at once keep both), or in the TOML file given — written whole, then swapped in atomically."""
    name = (name or "").strip()
    if not name:
        raise RankingError("请填写方案名称")
    if len(name) > 30:
        raise RankingError(f"方案名称不能超过30个字：{name}")
    if any(p.name == name for p in _read_presets(CONFIG_PRESETS, "config")):
        raise RankingError(f"“{name}”是系统预置方案，不能覆盖，请换一个名称")
    if normalisation not in NORMALISATIONS:
        raise RankingError(f"未知的标准化方法：{normalisation}")
    w = check_weights(weights)
    new = Preset(name, tuple(w.items()), normalisation, description.strip(), "user")
    path = user_path or user_presets_path()
    if path is not None:
        write_atomic(path, _presets_text([p for p in _read_presets(path, "user") if p.name != name] + [new]))
        return new
    with appstore.updating_document(PRESETS_DOCUMENT) as body:
        stored = _Stored()
        text = body[0] if body[0] is not None else stored.read_text()
        kept = [p for p in _read_presets(_Text(text), "user") if p.name != name] if text else []
        body[0] = _presets_text(kept + [new])
    return new


class _Text(_Stored):
    def __init__(self, text: str):
        self.text = text

    def read_text(self, encoding: str = "utf-8") -> str:
        return self.text


def _presets_text(presets_: list[Preset]) -> str:
    lines = ["# 用户保存的综合指数权重方案（由“大擂台大比武”页面写入；系统预置方案见 config/ranking_presets.toml）", ""]
    for p in presets_:
        lines += ["[[preset]]", f"name = {_toml_string(p.name)}", f"description = {_toml_string(p.description)}",
                  f"normalisation = {_toml_string(p.normalisation)}", "[preset.weights]"]
        lines += [f"{k} = {v!r}" for k, v in p.weights]
        lines.append("")
    return "\n".join(lines)
