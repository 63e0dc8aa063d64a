"""村庄详情: one village (/village?code=<village_key>) — names and codes, the stage timeline from its reports, its
planning group, its needs list, its projects and the notes.

Layout and calls only (hometown.progress.village). The village is read inside the user's scope; the filters of the URL
(?asof=…) choose the report in force.
"""

from __future__ import annotations

from ui.guard import from_app; from_app()  # noqa: E702  first: a page renders only when app.py ran it (signed in)

from dataclasses import replace

import polars as pl
import streamlit as st

from hometown import fmt
from hometown.progress import village
from hometown.progress.region import check_scope, resolve, trail
from ui import auth as ui_auth
from ui import widgets
from hometown.teams import queries as teams
from ui.common import current_role, current_scope, filters_from_url, run, warehouse_ready
from ui.nav import REGION_PAGE, TEAMS_PAGE
from ui.text import md
from warehouse import metrics
from warehouse.scope import OutOfScope
from warehouse.stages import STEPS_TOTAL, stage_names


def yes_no(value) -> str:
    return "—" if value is None else ("是" if value else "否")


def main() -> None:
    filters = filters_from_url()
    scope = current_scope()
    code = st.query_params.get("code")
    region = resolve(code) if code else None
    if region is None or region.level != "village":
        st.error(f"请从县市区页面选择村庄（未知的村代码：{md(code) or '未提供'}）")
        st.page_link(REGION_PAGE, label="打开一键查明细")
        return
    try:
        check_scope(region, scope)
    except OutOfScope as exc:
        st.error(md(exc))
        ui_auth.denied(region.code, f"{exc}（{st.query_params.to_dict()}）")
        return
    current = run(village.current, filters, scope, region.code)
    if current.height == 0:
        when = f"截至 {filters.as_of.isoformat()} " if filters.as_of else ""
        st.error(f"{when}已受理的报表中没有村代码为 {region.code} 的村")
        widgets.breadcrumbs(trail(region)[:-1] + [replace(region, name="村")], filters, scope.allows)
        return
    v = current.row(0, named=True)
    region = replace(region, name=v["village"], full_name=v["village"])
    widgets.inject_css(widgets.PAGE_CSS)
    widgets.breadcrumbs(trail(region), filters, scope.allows)

    st.title(md(v["village"]), anchor=False)
    code_text = md(v["village_code"]) or f"{md(v['village_key'])}（报表未给出村代码，系统编号）"
    st.caption(f"{md(v['prefecture_name'])} · {md(v['county_name'])} · {md(v['township']) or '—'} · 村代码 {code_text} · "
               f"{v['task_year']}年度任务村 · 数据截至 {fmt.date(v['as_of'])}")

    cols = st.columns(6)
    cols[0].metric("当前环节", f"{v['stage']}. {v['stage_name'] or ''}", border=True)  # config/stages.toml's names
    cols[1].metric("已完成步骤", f"{v['steps_done']}/{STEPS_TOTAL}", border=True)
    cols[2].metric("规划状态", md(v["plan_status"]) or "—", border=True)
    cols[3].metric("1+5 专项规划", f"{v['special_plans_done'] if v['special_plans_done'] is not None else '—'}/5",
                   border=True)
    cols[4].metric("规划建设理事会", yes_no(v["council"]), border=True)
    cols[5].metric(metrics.LABELS["funding_wan"], fmt.money_wan(v["funding_wan"]), border=True)

    left, right = st.columns([3, 2])
    with left:
        history = run(village.history, filters, scope, region.code)
        st.subheader("环节进度时间线", anchor=False)
        st.caption(f"共 {history.height} 期报表 · 报送日期 {fmt.date(history['as_of'].min())} 至 "
                   f"{fmt.date(history['as_of'].max())}")
        st.plotly_chart(widgets.timeline_chart(history, stage_names()), config=widgets.PLOT_CONFIG,
                        key="vg_timeline")
    with right:
        st.subheader("规划编制组", anchor=False)
        st.caption(f"数据截至 {fmt.date(v['as_of'])}")
        group_cols = st.columns(3)
        for i, (label, column, unit) in enumerate(village.GROUP_FIELDS):
            group_cols[i % 3].metric(label, fmt.count(v[column], unit), border=True)
        if v["group_size"] and not v["civil_servants"]:
            st.warning("编制组中没有国家公职人员（每个编制组至少应有 1 名）")
        plans = " · ".join(f"{label}{'✓' if v[col] else '✗'}" for label, col in village.PLAN_FIELDS)
        st.markdown(f"**专项规划**：{plans}")
        st.markdown(f"**需求清单**：收集 {fmt.plain(v['needs_total'])} 条，纳入规划 {fmt.plain(v['needs_adopted'])} 条")

    st.subheader("各期报表", anchor=False)
    shown = history.with_columns(stage_text=pl.col("stage").cast(pl.Utf8) + "." + pl.col("stage_name").fill_null(""))
    table, config = widgets.table_frame(shown, {
        "as_of": "数据截至", "stage_text": "环节", "steps_done": "已完成步骤", "plan_status": "规划状态",
        "group_size": "编制组人数",
    } | metrics.labels("civil_servants", "cadre_visits", "meetings", "villager_participation", "needs_total",
                       "needs_adopted", "funding_wan"))
    st.dataframe(table, hide_index=True, key="vg_history", column_config=config)

    c_needs, c_projects = st.columns(2)
    with c_needs:
        needs = run(village.needs, filters, scope, region.code)
        st.subheader(f"需求清单（{needs.height} 条）", anchor=False)
        if needs.height:
            table, config = widgets.table_frame(needs, {"content": "需求内容", "category": "类别", "status": "状态",
                                                        "est_funding_wan": "估算资金（万元）"})
            st.dataframe(table, hide_index=True, key="vg_needs", column_config=config)
        else:
            st.caption("报表未附需求清单明细")
    with c_projects:
        projects = run(village.projects, filters, scope, region.code)
        st.subheader(f"建设项目（{projects.height} 个）", anchor=False)
        if projects.height:
            table, config = widgets.table_frame(projects, {"project_name": "项目名称", "source": "资金来源",
                                                           "funding_wan": "资金（万元）", "status": "状态"})
            st.dataframe(table, hide_index=True, key="vg_projects", column_config=config)
        else:
            st.caption("报表未附项目明细")

    st.subheader("备注", anchor=False)
    st.markdown(md(v["notes"], multiline=True) or "（无）")

    # 驻村力量: the village's current team (hometown.teams), numbers masked unless the role may see them.
    team = run(teams.members, scope, None, region.code, current_role())
    st.subheader(f"驻村工作队（{int(team['in_post'].sum()) if team.height else 0} 人在岗）", anchor=False)
    if team.height:
        table, config = widgets.table_frame(team, {"name": "姓名", "role": "驻村身份", "status": "在岗状态",
                                                   "sending_unit": "派出单位", "start_date": "驻村开始",
                                                   "term_end": "两年期满", "phone": "联系电话"})
        st.dataframe(table, hide_index=True, key="vg_team", column_config=config)
        st.page_link(TEAMS_PAGE, label="在驻村力量页面查看", query_params={
            "county": team["county_code"][0], "village": region.code})
    else:
        st.caption("驻村力量月报中没有派驻该村的人员")


if warehouse_ready():
    main()
