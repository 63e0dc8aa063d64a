"""The briefing's figures (调度简报): for one region (province, prefecture or county) as of one reporting date.

Every figure comes from the query layer — hometown.progress.overview (totals, children, trend, report status), hometown.dispatch.alerts,
hometown.dispatch.orders, warehouse.schedule and warehouse.metrics — never from SQL of its own that would define a metric a
second time. The model is a plain dict of JSON types (dates as ISO text), so an issued briefing stores exactly the
figures it printed and renders again identically from them (hometown.briefs.store).

Reporting rounds: prefectures report on different days (2022-06-28, 06-30, 07-03 …). A briefing's "期" is a round,
not every distinct date: a scope's reporting dates are the dates on which at least half of its reporting
prefectures filed (a prefecture or county: its own prefecture's dates), and of two such dates less than
``ROUND_GAP_DAYS`` apart only the later counts. "As of D" is the query layer's: each prefecture with its latest
accepted report on or before D; a prefecture with nothing newer than the previous round is named as late and
counted with its older figures. "较上期" compares with the figures as of the previous round *as the warehouse holds
them now* — a corrected report counts in both — and an issued briefing of that round whose printed figure differs
is named (上期数据已更正).

Period of the supervision orders: from the day after the previous round to the as-of date, or to the issuing day
when the briefing is of the scope's latest round (what was done about the latest figures happens after them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import polars as pl

from geo import reference
from hometown.base import reports_sql, villages_sql
from hometown.dispatch import alerts as alert_rules
from hometown.dispatch import orders
from hometown.progress import overview
from hometown.progress.region import PROVINCE_NAME, resolve
from warehouse import db, metrics, schedule
from warehouse.scope import ALL, PROVINCE_CODE, Filters, OutOfScope, Scope

ROUND_GAP_DAYS = 20
# The counts and rates the briefing prints (metrics' own names; labels from metrics.LABELS).
HEADLINE_COUNTS = ("task_villages", "planning_groups", "plans_completed", "plans_in_database", "civil_servants",
                   "cadre_visits", "villager_participation", "needs_total", "needs_adopted", "funding_wan",
                   "meetings")
HEADLINE_RATES = ("completion_rate", "database_rate", "adoption_rate", "group_rate")
TABLE_COLUMNS = ("task_villages", "plans_completed", "completion_rate", "plans_in_database", "database_rate",
                 "cadre_visits", "needs_total", "adoption_rate", "funding_wan")
TREND_COLUMNS = ("as_of", "task_villages", "plans_completed", "completion_rate", "plans_in_database",
                 "database_rate")
LAGGING_TYPES = ("county_behind", "village_stagnant", "no_civil_servant", "late_report", "figure_fell",
                 "low_adoption")


class BriefError(ValueError):
    """A briefing that cannot be made (message in Chinese)."""


@dataclass(frozen=True)
class Subject:
    """The region a briefing is about and the query scope that holds exactly that region."""

    code: str
    level: str
    name: str
    full_name: str

    @property
    def scope(self) -> Scope:
        if self.level == "county":
            return Scope(county_code=self.code)
        if self.level == "prefecture":
            return Scope(prefecture_code=self.code)
        return ALL

    @property
    def label(self) -> str:
        """'全省', '全州' / '全市', '全县' / '全市' / '全区' as a secretary writes it (from the region's name)."""
        if self.level == "province":
            return "全省"
        return "全" + (self.name[-1] if self.name[-1] in "州市县区" else ("州" if self.level == "prefecture" else "县"))


def subject(code: str | None, viewer: Scope = ALL) -> Subject:
    """The region of a briefing; OutOfScope when the viewer may not see it, BriefError for an unknown code."""
    code = code or PROVINCE_CODE
    region = resolve(code)
    if region is None or region.level == "village":
        raise BriefError(f"「{code}」不是省、州市或县市区代码，无法生成简报")
    if not viewer.allows(region.code):
        raise OutOfScope(f"您的账号只能查看本辖区的简报，无权查看「{region.name}」的简报")
    name = PROVINCE_NAME if region.level == "province" else region.name
    return Subject(region.code, region.level, name, region.full_name)


def _home(subj: Subject) -> Scope:
    """The prefecture(s) whose reports make the subject's figures."""
    return ALL if subj.level == "province" else Scope(prefecture_code=subj.code[:4] + "00")


def reporting_dates(subj: Subject) -> list[date]:
    """The subject's reporting rounds, oldest first (see the module doc)."""
    where, params = _home(subj).sql()
    frame = db.query(f"SELECT as_of, count(DISTINCT prefecture_code) AS n FROM accepted_reports "
                     f"WHERE as_of IS NOT NULL AND {where} GROUP BY as_of ORDER BY as_of", params)
    if frame.height == 0:
        return []
    total = db.scalar(f"SELECT count(DISTINCT prefecture_code) FROM accepted_reports WHERE {where}", params) or 1
    qualifying = [d for d, n in frame.iter_rows() if n >= math.ceil(total / 2)]
    rounds: list[date] = []
    for d in qualifying:
        if rounds and (d - rounds[-1]).days < ROUND_GAP_DAYS:
            rounds[-1] = d
        else:
            rounds.append(d)
    return rounds


def _iso(d) -> str | None:
    return d.isoformat() if d is not None else None


def _num(x):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    return x


def _row(frame: pl.DataFrame, names) -> dict[str, Any]:
    if frame.height == 0:
        return {n: None for n in names}
    row = frame.row(0, named=True)
    return {n: _num(row.get(n)) for n in names}


def _children(filters: Filters, subj: Subject) -> pl.DataFrame:
    """One row per child region (prefectures, counties; a county's townships) with its figures and rank."""
    if subj.level in ("province", "prefecture"):
        return overview.children(filters, subj.scope, None if subj.level == "province" else subj.code)
    v_sql, params = villages_sql(filters, subj.scope, subj.code)
    # Ranked as hometown.progress.overview ranks prefectures and counties (metrics.rank_sql: one ranking order).
    sql = f"""
        SELECT g.*, {metrics.rank_sql("g")} AS rank
        FROM (
            SELECT *, {metrics.rates_sql()} FROM (
                SELECT v.township AS name, v.township AS code, max(v.as_of) AS as_of,
                       {metrics.county_aggregates_sql('v')},
                       NULL::BIGINT AS identified_civil_servants, NULL::BIGINT AS selected_cadres
                FROM ({v_sql}) v GROUP BY v.township
            )
        ) g ORDER BY rank, code
    """
    return db.query(sql, params)


def _schedule(filters: Filters, subj: Subject, as_of: date, completion_rate) -> dict[str, Any]:
    v_sql, params = villages_sql(filters, subj.scope)
    frame = db.query(f"SELECT v.task_year, count(*) AS task_villages, {metrics.progress_sql('v')} AS progress "
                     f"FROM ({v_sql}) v WHERE v.task_year IS NOT NULL GROUP BY v.task_year ORDER BY v.task_year",
                     params)
    years = []
    for year, villages, progress in frame.iter_rows():
        expected = schedule.expected_completion(int(year), as_of)
        years.append({"task_year": int(year), "task_villages": villages, "progress": _num(progress),
                      "expected": expected, "deadline": _iso(schedule.deadline(int(year)))})
    shares = schedule.provincial_shares()
    return {"provincial_expected": schedule.provincial_expected(as_of) if shares else None,
            "completion_rate": completion_rate, "years": years}


def _alerts(subj: Subject, filters: Filters) -> dict[str, Any]:
    frame = alert_rules.alerts(subj.scope, Filters(as_of=filters.as_of))
    # A prefecture is named as offices say it (红河州, not 红河哈尼族彝族自治州), as on the overview.
    common = dict(reference.prefectures().select("code", "common_name").iter_rows())
    frame = frame.with_columns(prefecture_name=pl.col("prefecture_code").replace_strict(
        common, default=pl.col("prefecture_name"), return_dtype=pl.Utf8))
    types = []
    for t in LAGGING_TYPES + tuple(sorted(set(frame["alert_type"].to_list()) - set(LAGGING_TYPES))):
        part = frame.filter(pl.col("alert_type") == t)
        if part.height == 0:
            continue
        places = (part.sort(pl.col("level") != alert_rules.RED, "prefecture_code", "county_code",
                            maintain_order=True)
                  .select(pl.coalesce(pl.col("village_key"), pl.col("county_code"), pl.col("prefecture_code"))
                          .alias("key"),
                          pl.concat_str([pl.col("county_name").fill_null(pl.col("prefecture_name")),
                                         pl.col("village").fill_null("")]).alias("place"))
                  .unique("key", keep="first", maintain_order=True))
        types.append({
            "alert_type": t, "label": alert_rules.RULE_LABELS.get(t, t),
            "red": part.filter(pl.col("level") == alert_rules.RED).height,
            "yellow": part.filter(pl.col("level") == alert_rules.YELLOW).height,
            "places": places.height, "names": places["place"].head(8).to_list(),
            "counties": part["county_code"].drop_nulls().n_unique(),
            "villages": part["village_key"].drop_nulls().n_unique(),
        })
    return {"total": frame.height, "red": frame.filter(pl.col("level") == alert_rules.RED).height,
            "yellow": frame.filter(pl.col("level") == alert_rules.YELLOW).height, "types": types}


def _orders(subj: Subject, start: date | None, end: date) -> dict[str, Any]:
    frame = orders.orders(subj.scope, today=end)
    if frame.height == 0:
        return {"period_start": _iso(start), "period_end": end.isoformat(), "issued": 0, "closed": 0,
                "overdue": 0, "open": 0}
    created = pl.col("created_at").dt.date()
    closed = pl.col("closed_at").dt.date()
    in_period = (lambda c: (c <= end) & (c > start)) if start else (lambda c: c <= end)
    existing = frame.filter(created <= end)
    return {
        "period_start": _iso(start), "period_end": end.isoformat(),
        "issued": frame.filter(in_period(created)).height,
        "closed": frame.filter(closed.is_not_null() & in_period(closed)).height,
        # orders' own 逾期 (deadline before the day it is judged, not yet 已办结), judged at the period's end
        "overdue": existing.filter(pl.col("overdue")).height,
        "open": existing.filter(pl.col("state") != orders.CLOSED).height,
    }


def _inputs(filters: Filters, subj: Subject) -> list[dict[str, Any]]:
    """The reports the figures rest on: report_id, prefecture and date of each prefecture's report in force."""
    sql, params = reports_sql(filters)
    where, where_params = _home(subj).sql("r")
    frame = db.query(f"SELECT r.prefecture_code, r.report_id, r.as_of FROM ({sql}) r WHERE {where} "
                     "ORDER BY r.prefecture_code", params + where_params)
    return [{"prefecture_code": p, "report_id": int(i), "as_of": _iso(d)} for p, i, d in frame.iter_rows()]


def _late(filters: Filters, subj: Subject, previous: date | None) -> list[dict[str, Any]]:
    """Prefectures in the subject with nothing newer than the previous round: counted with older figures."""
    if subj.level == "county":
        scope = Scope(prefecture_code=subj.code[:4] + "00")
    else:
        scope = subj.scope
    status = overview.report_status(filters, scope)
    late = status.filter(pl.col("as_of").is_null() | (pl.col("as_of") <= previous) if previous
                         else pl.col("as_of").is_null())
    return [{"code": c, "name": n, "as_of": _iso(d)} for c, n, d in late.select("code", "name", "as_of").iter_rows()]


def _period_end(as_of: date, latest: bool, now: datetime) -> date:
    """The orders' period ends at the as-of date, or on the issuing day for the latest round."""
    return now.date() if latest and now.date() > as_of else as_of


def orders_in_period(code: str | None, as_of: date, viewer: Scope = ALL, now: datetime | None = None,
                     rounds: list[date] | None = None) -> dict[str, Any]:
    """The ``orders`` section ``build`` would give now for (code, as_of): the supervision orders are the app's own
    records and change without a new warehouse, so a page that keeps a built model compares this first. ``rounds``:
    the subject's reporting_dates when the caller has them already."""
    subj = subject(code, viewer)
    rounds = reporting_dates(subj) if rounds is None else rounds
    previous = max((d for d in rounds if d < as_of), default=None)
    latest = bool(rounds) and as_of >= rounds[-1]
    return _orders(subj, previous, _period_end(as_of, latest, (now or datetime.now()).replace(microsecond=0)))


def build(code: str | None = None, as_of: date | None = None, viewer: Scope = ALL,
          now: datetime | None = None) -> dict[str, Any]:
    """The figures of the briefing of region ``code`` as of ``as_of`` (default: the region's latest round)."""
    subj = subject(code, viewer)
    rounds = reporting_dates(subj)
    if not rounds:
        raise BriefError(f"{subj.name}尚无已受理的报表，无法生成简报")
    as_of = as_of or rounds[-1]
    if as_of < rounds[0]:
        raise BriefError(f"{subj.name}最早的报送日期为 {rounds[0]:%Y-%m-%d}，{as_of:%Y-%m-%d} 尚无数据")
    previous = max((d for d in rounds if d < as_of), default=None)
    latest = as_of >= rounds[-1]
    now = (now or datetime.now()).replace(microsecond=0)
    filters = Filters(as_of=as_of)

    totals = overview.totals(filters, subj.scope)
    headline = _row(totals, HEADLINE_COUNTS + HEADLINE_RATES + ("as_of_min", "as_of_max", "prefectures_reported"))
    prev = None
    if previous is not None:
        prev = _row(overview.totals(Filters(as_of=previous), subj.scope), HEADLINE_COUNTS + HEADLINE_RATES)

    children = _children(filters, subj)
    if previous is not None and children.height:
        before = _children(Filters(as_of=previous), subj).select("code", pl.col("rank").alias("prev_rank"))
        children = children.join(before, on="code", how="left")
    else:
        children = children.with_columns(prev_rank=pl.lit(None, pl.Int64))
    child_rows = [{"code": r["code"], "name": r["name"], "as_of": _iso(r["as_of"]), "rank": r["rank"],
                   "prev_rank": r["prev_rank"], **{c: _num(r[c]) for c in TABLE_COLUMNS}}
                  for r in children.iter_rows(named=True)]

    trend = overview.trend(filters, subj.scope)
    trend_rows = [{**{c: (_iso(r[c]) if c == "as_of" else _num(r[c])) for c in TREND_COLUMNS},
                   "expected": schedule.provincial_expected(r["as_of"]) if schedule.provincial_shares() else None}
                  for r in trend.iter_rows(named=True)]

    period_end = _period_end(as_of, latest, now)
    return {
        "kind": "调度简报",
        "scope_code": subj.code, "scope_level": subj.level, "scope_name": subj.name,
        "scope_full_name": subj.full_name, "scope_label": subj.label,
        "as_of": as_of.isoformat(), "previous_as_of": _iso(previous), "latest_round": latest,
        "rounds": [d.isoformat() for d in rounds],
        "headline": {k: (_iso(v) if k.startswith("as_of") else v) for k, v in headline.items()},
        "previous": prev,
        "late": _late(filters, subj, previous),
        "schedule": _schedule(filters, subj, as_of, headline.get("completion_rate")),
        "children_level": {"province": "州（市）", "prefecture": "县（市、区）", "county": "乡（镇）"}[subj.level],
        "children": child_rows,
        "trend": trend_rows,
        "alerts": _alerts(subj, filters),
        "orders": _orders(subj, previous, period_end),
        "optional": optional_sections(subj, filters),
        "inputs": _inputs(filters, subj),
        "warehouse_version": db.version(),
        "computed_at": now.isoformat(),
    }


def optional_sections(subj: Subject, filters: Filters) -> list[dict[str, Any]]:
    from hometown.briefs import sections

    return sections.collect(subj, filters)


def previous_issue_correction(model: dict[str, Any], issued_previous: dict[str, Any] | None) -> dict | None:
    """When the issued briefing of the previous round printed other headline figures than the warehouse now holds
    for that round (a correction came in since), the figures then and now."""
    if not issued_previous or not model.get("previous"):
        return None
    then = issued_previous.get("headline") or {}
    now = model["previous"]
    changed = {k: (then.get(k), now.get(k)) for k in ("task_villages", "plans_completed", "plans_in_database")
               if then.get(k) is not None and then.get(k) != now.get(k)}
    return changed or None


def default_as_of(code: str | None, viewer: Scope = ALL) -> date | None:
    rounds = reporting_dates(subject(code, viewer))
    return rounds[-1] if rounds else None
