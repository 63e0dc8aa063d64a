"""One definition of each metric (DOMAIN.md terms), used by the warehouse views, the pages, the exports and tests.

Counts are SQL aggregates over village rows; rates are SQL expressions over those counts, so a county, a
prefecture and the province compute a rate the same way (sum the counts, then divide — never average rates).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from warehouse.stages import COMPLETED_STATUSES, IN_DATABASE_STATUS, STEPS_TOTAL, sql_list

# Statuses from 成果完成 on count as a completed plan (REPORT_SPEC §7 plans_completed): stages.COMPLETED_STATUSES.
COMPLETED_STATUS_SQL = sql_list(COMPLETED_STATUSES)


@dataclass(frozen=True)
class Count:
    name: str
    label: str      # Chinese label on screen and in exports
    sql: str        # aggregate over village rows (aliased v)
    unit: str = "个"

    @property
    def counts_villages(self) -> bool:
        """A number of villages (count(*) …): 0 where a county has none, where a sum of their figures is NULL."""
        return self.sql.startswith("count(")


COUNTS: tuple[Count, ...] = (
    Count("task_villages", "任务村", "count(*)"),
    Count("planning_groups", "规划编制组", "count(*) FILTER (WHERE v.group_size > 0)"),
    Count("group_members", "编制组成员", "CAST(sum(v.group_size) AS BIGINT)", "人"),
    Count("civil_servants", "其中公职人员", "CAST(sum(v.civil_servants) AS BIGINT)", "人"),
    Count("cadre_visits", "干部回乡", "CAST(sum(v.cadre_visits) AS BIGINT)", "人次"),
    Count("local_talents", "乡贤能人", "CAST(sum(v.local_talents) AS BIGINT)", "人"),
    Count("meetings", "座谈恳谈会", "CAST(sum(v.meetings) AS BIGINT)", "场"),
    Count("villager_participation", "村民参与", "CAST(sum(v.villager_participation) AS BIGINT)", "人次"),
    Count("needs_total", "收集需求", "CAST(sum(v.needs_total) AS BIGINT)", "条"),
    Count("needs_adopted", "纳入规划需求", "CAST(sum(v.needs_adopted) AS BIGINT)", "条"),
    Count("councils", "规划建设理事会", "count(*) FILTER (WHERE v.council)"),
    Count("plans_completed", "规划成果完成", f"count(*) FILTER (WHERE v.plan_status IN {COMPLETED_STATUS_SQL})"),
    Count("plans_in_database", "成果入库", f"count(*) FILTER (WHERE v.plan_status = '{IN_DATABASE_STATUS}')"),
    Count("special_plans_done", "完成专项规划", "CAST(sum(v.special_plans_done) AS BIGINT)", "项"),
    Count("villages_without_civil_servant", "编制组无公职人员村",
          "count(*) FILTER (WHERE v.civil_servants = 0 OR v.group_size = 0)"),
    Count("funding_wan", "项目资金", "sum(v.funding_wan)", "万元"),
)

# The county sheet's own figures (summed the same way upwards).
COUNTY_SHEET_COLUMNS = ("identified_civil_servants", "selected_cadres", "county_stations", "township_stations")

VILLAGE_COUNTY_COLUMNS = tuple(c.name for c in COUNTS)
SUMMABLE_COLUMNS = VILLAGE_COUNTY_COLUMNS + COUNTY_SHEET_COLUMNS


@dataclass(frozen=True)
class Rate:
    name: str
    label: str
    numerator: str
    denominator: str

    def sql(self) -> str:
        return f"CAST({self.numerator} AS DOUBLE) / NULLIF({self.denominator}, 0)"


RATES: tuple[Rate, ...] = (
    Rate("completion_rate", "规划完成率", "plans_completed", "task_villages"),
    Rate("database_rate", "入库率", "plans_in_database", "task_villages"),
    Rate("adoption_rate", "需求纳入率", "needs_adopted", "needs_total"),
    Rate("group_rate", "编制组组建率", "planning_groups", "task_villages"),
    Rate("civil_servants_per_group", "每组公职人员", "civil_servants", "planning_groups"),
    Rate("visits_per_village", "村均回乡人次", "cadre_visits", "task_villages"),
    Rate("participation_per_village", "村均村民参与", "villager_participation", "task_villages"),
    Rate("funding_per_village", "村均资金（万元）", "funding_wan", "task_villages"),
    Rate("special_plans_rate", "1+5专项规划完成率", "special_plans_done", "task_villages * 5"),
    Rate("selection_rate", "在外公职人员入组率", "selected_cadres", "identified_civil_servants"),
)

LABELS = {c.name: c.label for c in COUNTS} | {r.name: r.label for r in RATES}
UNITS = {c.name: c.unit for c in COUNTS}


def labels(*names: str) -> dict[str, str]:
    """Column → header for a table of these metrics, with the unit where it is money (项目资金（万元）)."""
    return {n: LABELS[n] + (f"（{UNITS[n]}）" if UNITS.get(n) == "万元" else "") for n in names}


def county_aggregates_sql(alias: str = "v", names: Iterable[str] | None = None) -> str:
    """The select list of every count (or of the counts ``names``), over village rows aliased ``alias``."""
    chosen = COUNTS if names is None else [c for c in COUNTS if c.name in set(names)]
    return ", ".join(f"{c.sql.replace('v.', alias + '.')} AS {c.name}" for c in chosen)


def sum_sql(column: str) -> str:
    """Summing a count column upwards (county → prefecture → province): whole numbers stay BIGINT."""
    return f"sum({column}) AS {column}" if column == "funding_wan" else f"CAST(sum({column}) AS BIGINT) AS {column}"


def rates_sql() -> str:
    """The select list of every rate, over a relation that has the counts as columns."""
    return ", ".join(f"{r.sql()} AS {r.name}" for r in RATES)


def rate(name: str) -> Rate:
    return next(r for r in RATES if r.name == name)


# The progress ranking of regions (overview, region page): by 规划完成率, ties by 入库率, then equal (rank() ties);
# a region without task villages is not ranked.
RANKING_ORDER = ("completion_rate", "database_rate")


def rank_sql(alias: str = "g") -> str:
    """A window expression: the rank of each row of ``alias`` (counts and rates as columns) by RANKING_ORDER."""
    order = ", ".join(f"{alias}.{name} DESC NULLS LAST" for name in RANKING_ORDER)
    return (f"CASE WHEN {alias}.task_villages > 0 THEN rank() OVER (ORDER BY CASE WHEN {alias}.task_villages > 0 "
            f"THEN 0 ELSE 1 END, {order}) END")


# Plan progress: the share of the 28 steps done over a set of villages (sum of steps over 28 × villages), the
# measure the schedule's expected line is drawn in (warehouse.schedule) and the dispatch alerts compare with it.
# Kept out of COUNTS/RATES so the public summary views keep the columns REPORT_SPEC §7 lists.
PROGRESS_LABEL = "规划进度"


def progress_sql(alias: str = "v") -> str:
    """Aggregate: share (0–1) of the 28 steps done by the villages aliased ``alias``."""
    return f"CAST(sum({alias}.steps_done) AS DOUBLE) / NULLIF({STEPS_TOTAL} * count(*), 0)"


# The provincial rule: every planning group includes at least one state civil servant. A village breaks it when its
# group has members but no civil servant; ``villages_without_civil_servant`` also counts villages with no group yet.
GROUP_WITHOUT_CIVIL_SERVANT_SQL = "(v.group_size > 0 AND coalesce(v.civil_servants, 0) = 0)"
