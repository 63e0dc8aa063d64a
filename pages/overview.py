"""一屏知全局: the home page — KPI tiles, the ranking (the prefectures; a prefecture user's counties), the map panel,
the 7-stage funnel, the trend across reporting dates, the alert panel and the reporting status, on one screen;
``?screen=big`` turns it into the command room's big screen (dark, fixed to 1920×1080, refreshing itself every
``?refresh=`` seconds, a rolling ranking board of the prefectures, nothing to click).

Layout and calls only: the figures come from hometown.progress.overview (through ui.common.run, cached per warehouse
version), the charts from ui.charts (markup, no chart library: the page must be ready in 3 s), the other blocks from
ui.tiles (the KPI tiles as one markup block), ui.widgets and ui.map_panel (whose pydeck map follows the page's first
drawing, over an SVG preview). Clicking a prefecture's bar or an alert opens its page (whose table code ui.prefetch
has the browser fetch beforehand); a prefecture on the map shows its counties, a county opens its page.
"""

from __future__ import annotations

from ui.guard import from_app; from_app()  # noqa: E702  first: a page renders only when app.py ran it (signed in)

import math
from datetime import datetime

import polars as pl
import streamlit as st

from hometown import fmt
from hometown.progress import overview
from hometown.teams import queries as teams
from warehouse.scope import Filters, Scope
from ui import charts, guard, map_panel, prefetch, tiles, widgets
from ui.common import current_scope, filters_from_url, run, url_params, warehouse_ready
from ui.nav import OVERVIEW_PAGE, REGION_PAGE, REPORTS_PAGE, TEAMS_PAGE
from ui.text import markup, md

BARS = "ov_bars"                # the ranking's bar buttons: keys ov_bars_<code> (ui.charts.bar_key)
ALERTS = "ov_alerts"            # the alert list's buttons: keys ov_alerts_<i>
BOARD_ROWS = 8                  # prefectures per page of the big screen's rolling board
DEFAULT_REFRESH, MIN_REFRESH, MAX_REFRESH = 60, 5, 3600


def _title(scope: Scope) -> str:
    from hometown.progress.region import resolve

    region = resolve(scope.top_code)
    return f"{region.name if region else '云南省'}干部规划家乡行动"


def refresh_seconds() -> int:
    """?refresh=N (seconds), clamped to 5 … 3600; 60 when absent or not a number."""
    try:
        value = int(st.query_params.get("refresh", DEFAULT_REFRESH))
    except ValueError:
        value = DEFAULT_REFRESH
    return max(MIN_REFRESH, min(MAX_REFRESH, value))


# ------------------------------------------------------------------------------------------------ normal page


def alert_block(filters: Filters, scope: Scope) -> None:
    st.subheader("预警", anchor=False)
    counts, items = run(overview.alert_panel, filters, scope)
    lines = []
    for row in counts.iter_rows(named=True):
        if row["alert_type"] in overview.PANEL_RULES or row["red"] or row["yellow"]:
            lines.append(f"- **{md(row['label'])}**：<span class='ht-alert-red'>红 {fmt.plain(row['red'])}</span> · "
                         f"<span class='ht-alert-yellow'>黄 {fmt.plain(row['yellow'])}</span>")
    st.markdown("\n".join(lines), unsafe_allow_html=True)
    if items.height == 0:
        st.success("当前没有预警")
        return
    st.caption(f"最紧要的 {items.height} 条（{widgets.as_of_caption(items)}）· 点击一条打开所在地区")
    code = widgets.alert_buttons(items, ALERTS, scope.allows)
    if code:
        widgets.open_region(code, filters)


def reporting_block(filters: Filters, scope: Scope) -> None:
    st.subheader("报送情况", anchor=False)
    status = run(overview.report_status, filters, scope)
    behind = status.filter(pl.col("status") != "正常")
    newest = status["as_of"].max()
    reported = status.filter(pl.col("as_of").is_not_null()).height
    st.caption(f"已报送 {reported}/{status.height} 个州市 · 最新一期截至 {fmt.date(newest)}")
    if behind.height == 0:
        st.success(f"各州市均已报送截至 {fmt.date(newest)} 的报表")
        return
    lines = []
    for row in behind.iter_rows(named=True):
        if row["status"] == "未报送":
            text = f"- **{md(row['name'])}**：未报送（尚无已受理的报表）"
        else:
            text = f"- **{md(row['name'])}**：滞后 {row['lag_days']} 天（最近一期截至 {fmt.date(row['as_of'])}）"
        if row["refused_since"]:
            text += f"，其后 {row['refused_since']} 份报表被退回"
        lines.append(text)
    st.markdown("\n".join(lines))
    st.page_link(REPORTS_PAGE, label="查看报送记录", icon=":material/fact_check:",
                 query_params=url_params(filters))


def team_tile(scope: Scope) -> None:
    """驻村力量 in one line: people in post and the two met shares, a link to /teams (absent without a monthly report)."""
    k = run(teams.kpis, scope)
    if k.as_of is None:
        return
    def pct(v):
        return "—" if v is None else f"{100 * v:.1f}%"

    with st.container(border=True, key="ov_teams_tile"):
        st.page_link(TEAMS_PAGE, icon=":material/groups:", label=(
            f"驻村力量：在岗 {k.in_post} 人（第一书记 {k.first_secretaries} 人）· 力量配备达标率 {pct(k.staffing_met_rate)}"
            f" · 本月在村天数达标率 {pct(k.attendance_met_rate)} · 截至 {fmt.date(k.as_of)}"))


def normal_page(filters: Filters, scope: Scope) -> None:
    widgets.take_pick(filters, scope.allows)  # a bar or an alert clicked: its page, without drawing this one again
    widgets.inject_css(widgets.PAGE_CSS + charts.CSS)
    head, bar = st.columns([3, 2], vertical_alignment="bottom")
    tile_box = st.container()
    left, right = st.columns([1, 1])
    totals = run(overview.totals, filters, scope).row(0, named=True)
    with head:
        st.title(f"一屏知全局 · {_title(scope)}", anchor=False)
        st.caption(f"{widgets.as_of_caption(totals)} · {totals['prefectures_reported']} 个州市已报送 · "
                   "各州市报送日期不同，每个州市取其最近一期已受理报表")
    with bar:
        widgets.filter_bar(filters, run(overview.task_years, scope), run(overview.reporting_dates, scope), "ov")
        st.page_link(OVERVIEW_PAGE, label="大屏模式", icon=":material/tv:",
                     query_params=url_params(filters, screen="big"))
    with tile_box:
        if not totals["task_villages"]:
            st.info("所选任务年度和数据日期下没有已受理报表中的任务村")
        tiles.kpi_tiles(totals)
        team_tile(scope)

    ranking = run(overview.ranking, filters, scope)
    unit = "州市" if scope.home_prefecture is None else "县市区"
    with left:
        st.subheader(f"{unit}规划完成率排名", anchor=False)
        st.caption(f"{widgets.as_of_caption(ranking)}（各{unit}日期见条形标注）· 点击条形打开该{unit}")
        code = charts.ranking_bars(ranking, BARS, scope.allows, name_col="name")
        if code and scope.allows(code):
            widgets.open_region(code, filters)
        # One screen: the full table (every figure, sortable) is the region page's, a click away.
        if not scope.county_code:
            st.page_link(REGION_PAGE, label=f"各{unit}明细表（全部指标，可排序）", icon=":material/table_view:",
                         query_params=url_params(filters, code=scope.top_code))
    with right:
        st.subheader("一图督进度", anchor=False)
        map_panel.render(filters, scope)  # an SVG preview at first; the pydeck map follows by itself

    c_funnel, c_trend = st.columns(2)
    with c_funnel:
        funnel = run(overview.stage_funnel, filters, scope)
        st.subheader("七个环节进度漏斗", anchor=False)
        st.caption(f"{widgets.as_of_caption(funnel)} · 各环节：已到达该环节及以后的任务村")
        charts.show(charts.funnel_html(funnel))
    with c_trend:
        trend = run(overview.trend, filters, scope)
        st.subheader("各期进度趋势", anchor=False)
        st.caption(f"报送日期 {fmt.date(trend['as_of'].min()) if trend.height else '—'} 至 "
                   f"{fmt.date(trend['as_of'].max()) if trend.height else '—'} · 每期取各州市当日或之前最近一期报表")
        charts.show(charts.trend_svg(trend))

    c_alerts, c_reports = st.columns([3, 2])
    with c_alerts:
        alert_block(filters, scope)
    with c_reports:
        reporting_block(filters, scope)
    prefetch.region_page_code()  # a bar or an alert opens a region page: its table's code, while the user reads


# ------------------------------------------------------------------------------------------------- big screen


def _board_html(ranking: pl.DataFrame, page: int, pages: int) -> str:
    rows = ranking.filter(pl.col("rank").is_not_null())
    chunk = rows.slice(page * BOARD_ROWS, BOARD_ROWS)
    body = []
    for r in chunk.iter_rows(named=True):
        width = max(2, round(180 * (r["completion_rate"] or 0)))
        body.append(
            f"<tr class='{'top' if r['rank'] <= 3 else ''}'><td class='rank'>{r['rank']}</td>"
            f"<td>{markup(r['common_name'])}</td><td><span class='bar' style='width:{width}px'></span></td>"
            f"<td class='r'>{fmt.percent(r['completion_rate'])}</td>"
            f"<td class='r'>{fmt.percent(r['database_rate'])}</td>"
            f"<td class='r date'>{r['as_of'].strftime('%m-%d') if r['as_of'] else '—'}</td></tr>")
    missing = ranking.filter(pl.col("rank").is_null())["common_name"].to_list()
    foot = f"<div class='ht-asof'>未报送：{'、'.join(markup(m) for m in missing)}</div>" if missing and page == pages - 1 else ""
    return (f"<div class='ht-panel' data-testid='ht-board'><h3>州市规划完成率排名</h3>"
            f"<div class='ht-asof'>{fmt.as_of_range(rows['as_of'].min(), rows['as_of'].max())} · 末列为各州市数据日期</div>"
            f"<table class='ht-board'><tr><td class='rank'>#</td><td>州市</td><td></td><td class='r'>完成率</td>"
            f"<td class='r'>入库率</td><td class='r date'>截至</td></tr>{''.join(body)}</table>{foot}"
            f"<div class='ht-pages' data-page='{page + 1}'>第 {page + 1}/{pages} 页 · 每次刷新轮换</div></div>")


def _alerts_html(filters: Filters, scope: Scope) -> str:
    status = run(overview.report_status, filters, scope)
    reported = status.filter(pl.col("as_of").is_not_null()).height
    late = status.filter(pl.col("status") == "滞后")["name"].to_list()
    missing = status.filter(pl.col("status") == "未报送")["name"].to_list()
    parts = [f"已报送 {reported}/{status.height}"]
    if missing:
        parts.append(f"未报送 {'、'.join(markup(m) for m in missing[:2])}{'等' if len(missing) > 2 else ''}")
    if late:
        parts.append(f"滞后 {len(late)} 个：{'、'.join(markup(m) for m in late[:2])}{'等' if len(late) > 2 else ''}")
    if not (late or missing):
        parts.append("均已报送最新一期")
    report_line = f"<tr><td>报送情况</td><td colspan='2'>{' · '.join(parts)}</td></tr>"
    counts, items = run(overview.alert_panel, filters, scope)
    shown = counts.filter(pl.col("alert_type").is_in(overview.PANEL_RULES))
    rows = "".join(f"<tr><td>{markup(r['label'])}</td><td class='ht-red'>红 {fmt.plain(r['red'])}</td>"
                   f"<td class='ht-yellow'>黄 {fmt.plain(r['yellow'])}</td></tr>" for r in shown.iter_rows(named=True))
    others = counts.filter(~pl.col("alert_type").is_in(overview.PANEL_RULES))
    rows += (f"<tr><td>其他预警</td><td class='ht-red'>红 {fmt.plain(others['red'].sum())}</td>"
             f"<td class='ht-yellow'>黄 {fmt.plain(others['yellow'].sum())}</td></tr>")
    as_of = widgets.as_of_caption(items) if items.height else ""
    return (f"<div class='ht-panel'><h3>预警与报送</h3><div class='ht-asof'>{as_of}</div>"
            f"<table class='ht-alerts'>{rows}{report_line}</table></div>")


def big_screen(filters: Filters, scope: Scope) -> None:
    widgets.inject_css(widgets.BIG_SCREEN_CSS + charts.CSS)
    refresh = refresh_seconds()
    st.session_state.setdefault("big_tick", 0)

    @st.fragment(run_every=refresh)
    @guard.checked  # a timed rerun checks the user too: a disabled account's screen signs out
    def board() -> None:
        tick = st.session_state.big_tick
        st.session_state.big_tick = tick + 1
        totals = run(overview.totals, filters, scope).row(0, named=True)
        st.html(f"<div class='ht-big-title'>{_title(scope)} · 一屏知全局</div>"
                f"<div class='ht-big-sub'>{widgets.as_of_caption(totals)} · {totals['prefectures_reported']} 个州市已报送"
                f" · 每 {refresh} 秒自动刷新 · 更新于 {datetime.now().strftime('%H:%M:%S')}</div>")
        tiles.kpi_tiles(totals, big=True)
        ranking = run(overview.prefecture_ranking, filters, scope)
        c_funnel, c_board, c_right = st.columns([1.05, 1.1, 1.0], gap="medium")
        with c_funnel:
            funnel = run(overview.stage_funnel, filters, scope)
            st.html(f"<p class='ht-chart-title'>七个环节进度漏斗<span>{widgets.as_of_caption(funnel)}</span></p>")
            charts.show(f"<div class='ht-big-funnel'>{charts.funnel_html(funnel, charts.DARK)}</div>")
        with c_board:
            reported = ranking.filter(pl.col("rank").is_not_null()).height
            pages = max(1, math.ceil(reported / BOARD_ROWS))
            st.html(_board_html(ranking, tick % pages, pages))
        with c_right:
            trend = run(overview.trend, filters, scope)
            dates = f"{fmt.date(trend['as_of'].min())} 至 {fmt.date(trend['as_of'].max())}" if trend.height else ""
            st.html(f"<p class='ht-chart-title'>各期进度趋势<span>{dates}</span></p>")
            charts.show(charts.trend_svg(trend, charts.DARK, width=560, height=220, font=16))
            st.html(_alerts_html(filters, scope))

    board()


if warehouse_ready():
    _filters = filters_from_url()
    _scope = current_scope()
    if st.query_params.get("screen") == "big":
        big_screen(_filters, _scope)
    else:
        normal_page(_filters, _scope)
