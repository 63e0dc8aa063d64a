"""一键查明细: one region's page — the province, a prefecture or a county (/region?code=532500&year=2021).

Layout and calls only. The same figures as the overview (hometown.progress.overview) for the region, its sub-regions as
clickable bars (ui.charts) and a table (a prefecture's counties, the province's prefectures), and for a county its
villages (click a row → /village?code=…). Breadcrumbs lead back up; the filters stay in the URL.
"""

from __future__ import annotations

from ui.guard import from_app; from_app()  # noqa: E702  first: a page renders only when app.py ran it (signed in)

import polars as pl
import streamlit as st

from hometown import fmt
from hometown.progress import overview
from hometown.progress.region import LEVEL_LABELS, Region, check_scope, county_villages, resolve, trail
from warehouse import metrics
from warehouse.scope import Filters, OutOfScope, Scope
from ui import auth as ui_auth
from ui import charts, tiles, widgets
from ui.common import current_scope, filters_from_url, run, warehouse_ready
from ui.nav import OVERVIEW_PAGE
from ui.text import md



def bars_prefix(code: str) -> str:
    """The sub-region bars' key prefix (a bar's key: ui.charts.bar_key(prefix, child code)); per region, so the
    keys on a prefecture's page differ from its counties' pages."""
    return f"rg_bars_{code}"


def table_key(code: str) -> str:
    return f"rg_table_{code}"


def villages_key(code: str) -> str:
    return f"rg_villages_{code}"


def children_block(region: Region, filters: Filters, scope: Scope) -> None:
    kids = run(overview.children, filters, scope, region.code)
    unit = "州市" if region.level == "province" else "县市区"
    left, right = st.columns(2)
    with left:
        st.subheader(f"各{unit}规划完成率", anchor=False)
        st.caption(f"{widgets.as_of_caption(kids.filter(pl.col('as_of').is_not_null()))} · 点击条形打开该{unit}")
        code = charts.ranking_bars(kids, bars_prefix(region.code), scope.allows, name_col="name")
        if code and scope.allows(code):
            widgets.open_region(code, filters)
    with right:
        funnel_block(region, filters, scope)

    st.subheader(f"{unit}明细", anchor=False)
    st.caption(f"{widgets.as_of_caption(kids.filter(pl.col('as_of').is_not_null()))} · 点选一行打开该{unit} · 列标题可排序")
    table, config = widgets.table_frame(kids, {"rank": "排名", "name": unit, "as_of": "数据截至"} | metrics.labels(
        "task_villages", "planning_groups", "civil_servants", "cadre_visits", "plans_completed", "completion_rate",
        "plans_in_database", "database_rate", "needs_total", "adoption_rate", "funding_wan",
    ), percent=("completion_rate", "database_rate", "adoption_rate"))
    event = st.dataframe(table, hide_index=True, on_select="rerun", selection_mode="single-row",
                         key=table_key(region.code), column_config=config, height=widgets.table_height(table.height))
    code = widgets.selected_value(event, kids)
    if code and scope.allows(code):
        widgets.open_region(code, filters)


def funnel_block(region: Region, filters: Filters, scope: Scope) -> None:
    funnel = run(overview.stage_funnel, filters, scope, region.code)
    st.subheader("七个环节进度漏斗", anchor=False)
    st.caption(widgets.as_of_caption(funnel))
    charts.show(charts.funnel_html(funnel))


def trend_block(region: Region, filters: Filters, scope: Scope) -> None:
    trend = run(overview.trend, filters, scope, region.code)
    st.subheader("各期进度趋势", anchor=False)
    if trend.height == 0:
        st.info("暂无已受理的报表")
        return
    st.caption(f"报送日期 {fmt.date(trend['as_of'].min())} 至 {fmt.date(trend['as_of'].max())}")
    charts.show(charts.trend_svg(trend))


def alerts_block(region: Region, filters: Filters) -> None:
    # The region's own scope: inside the user's (the page checked it), so no alert outside the user's region shows.
    region_scope = Scope(prefecture_code=region.code) if region.level == "prefecture" else \
        Scope(county_code=region.code) if region.level == "county" else Scope()
    panel = run(overview.alert_panel, filters, region_scope, 50)
    st.subheader("本地区预警", anchor=False)
    if panel is None:
        st.info("预警规则加载中")
        return
    counts, items = panel
    summary = " · ".join(f"{md(r['label'])} 红{r['red']}/黄{r['yellow']}" for r in counts.iter_rows(named=True)
                         if r["red"] or r["yellow"])
    st.caption(summary or "当前没有预警")
    if items.height:
        table, config = widgets.table_frame(items, {"level": "等级", "alert_label": "类型", "detail": "说明",
                                                    "as_of": "截至"})
        config["说明"] = st.column_config.TextColumn("说明", width="large")
        st.dataframe(table, hide_index=True, height=widgets.table_height(items.height, cap=320),
                     column_config=config, key=f"rg_alerts_{region.code}")


def villages_block(region: Region, filters: Filters, scope: Scope) -> None:
    villages = run(county_villages, filters, scope, region.code)
    st.subheader(f"任务村（{villages.height} 个）", anchor=False)
    st.caption(f"{widgets.as_of_caption(villages)} · 点选一行打开村庄详情 · 列标题可排序")
    shown = villages.with_columns(stage_text=pl.col("stage").cast(pl.Utf8) + "." + pl.col("stage_name").fill_null(""))
    table, config = widgets.table_frame(shown, {
        "township": "乡镇", "village": "行政村", "task_year": "任务年度", "stage_text": "当前环节",
        "steps_done": "已完成步骤", "plan_status": "规划状态", "group_size": "编制组人数",
    } | metrics.labels("civil_servants", "cadre_visits", "needs_total", "needs_adopted", "villager_participation",
                       "funding_wan") | {"village_key": "村代码", "as_of": "数据截至"})
    event = st.dataframe(table, hide_index=True, on_select="rerun", selection_mode="single-row",
                         key=villages_key(region.code), column_config=config,
                         height=widgets.table_height(table.height, cap=720))
    key = widgets.selected_value(event, villages, "village_key")
    if key and scope.allows(key):
        widgets.open_region(key, filters)


def main() -> None:
    filters = filters_from_url()
    scope = current_scope()
    widgets.take_pick(filters, scope.allows)  # a bar clicked: its page, without drawing this one again
    code = st.query_params.get("code") or scope.top_code
    region = resolve(code)
    if region is None:
        st.error(f"未知的区划代码：{md(code)}")
        st.page_link(OVERVIEW_PAGE, label="返回一屏知全局")
        return
    if region.level == "village":
        widgets.open_region(region.code, filters)
    try:
        check_scope(region, scope)
    except OutOfScope as exc:
        st.error(md(exc))
        ui_auth.denied(region.code, f"{exc}（{st.query_params.to_dict()}）")
        return
    widgets.inject_css(widgets.PAGE_CSS + charts.CSS)
    widgets.breadcrumbs(trail(region), filters, scope.allows)
    head, bar = st.columns([3, 2], vertical_alignment="bottom")
    region_arg = None if region.level == "province" else region.code
    totals = run(overview.totals, filters, scope, region_arg).row(0, named=True)
    with head:
        st.title(md(region.full_name), anchor=False)
        st.caption(f"{LEVEL_LABELS[region.level]} · 代码 {region.code} · {widgets.as_of_caption(totals)}")
    with bar:
        widgets.filter_bar(filters, run(overview.task_years, scope), run(overview.reporting_dates, scope),
                           f"rg_{region.code}")
    if not totals["task_villages"]:
        st.info(f"{md(region.name)}暂无已受理报表中的任务村（{widgets.as_of_caption(totals)}）")
    tiles.kpi_tiles(totals)

    if region.level in ("province", "prefecture"):
        children_block(region, filters, scope)
        c_trend, c_alerts = st.columns(2)
        with c_trend:
            trend_block(region, filters, scope)
        with c_alerts:
            alerts_block(region, filters)
    else:
        c_funnel, c_trend = st.columns(2)
        with c_funnel:
            funnel_block(region, filters, scope)
        with c_trend:
            trend_block(region, filters, scope)
        villages_block(region, filters, scope)
        alerts_block(region, filters)


if warehouse_ready():
    main()
