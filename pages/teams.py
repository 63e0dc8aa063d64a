"""驻村力量 (/teams): resident first secretaries and work teams — KPIs, the county table, villages lacking their team,
people short of days, terms ending, a village's team and a person's card with 24 months of attendance.

Layout and calls only (hometown.teams.queries). The URL carries the choices: ?county=<code>&village=<village_key>
&person=<person_key> (an opaque key, never an ID number), so every view is a deep link. Everything is read in the
user's scope; a person outside it is refused and the refusal recorded. ID and phone numbers are masked unless the
role may see personal data (hometown.privacy).
"""

from __future__ import annotations

from ui.guard import from_app; from_app()  # noqa: E702  first: a page renders only when app.py ran it (signed in)

import html

import polars as pl
import streamlit as st

from geo import reference
from hometown import fmt
from hometown.teams import queries as teams
from ui import auth as ui_auth
from ui import widgets
from ui.common import current_role, current_scope, run, warehouse_ready
from ui.text import md
from warehouse.scope import OutOfScope, Scope

RATES = ("staffing_met_rate", "attendance_met_rate", "households_visited_rate")


def pct(v) -> str:
    return "—" if v is None else f"{100 * v:.1f}%"


def set_params(**values) -> None:
    """Replace the page's choices in the URL (None removes one) and rerun."""
    for k, v in values.items():
        if v is None:
            st.query_params.pop(k, None)
        else:
            st.query_params[k] = v
    st.rerun()


def kpi_row(k: teams.Kpis) -> None:
    cols = st.columns(6)
    cols[0].metric("在岗驻村干部", fmt.count(k.in_post, "人"), border=True)
    cols[1].metric("其中第一书记", fmt.count(k.first_secretaries, "人"), border=True)
    cols[2].metric("覆盖村", fmt.count(k.villages_covered, "个"), border=True)
    cols[3].metric("力量配备达标率", pct(k.staffing_met_rate), border=True,
                   help=f"有配备要求的 {k.villages_required} 个村中 {k.villages_met} 个达标")
    cols[4].metric("本月在村天数达标率", pct(k.attendance_met_rate), border=True,
                   help="最新月份在岗人员中，在村天数（含公务外出）达到要求的比例")
    cols[5].metric("农户走访覆盖率", pct(k.households_visited_rate), border=True,
                   help="本年度累计走访户次（每村以全村户数为限）÷ 全村户数")


def strip_html(strip: pl.DataFrame) -> str:
    """24 months as a row of cells: green met, red short, grey not reported."""
    cells = []
    for r in strip.iter_rows(named=True):
        if r["meets_rule"] is None:
            color, text = "#d9d9d9", "未报"
        elif r["meets_rule"]:
            color, text = "#52c41a", f"{r['days_counted']}/{r['days_required']}"
        else:
            color, text = "#f5222d", f"{r['days_counted']}/{r['days_required']}"
        cells.append(f'<div class="tm-cell" style="background:{color}" title="{r["month"]:%Y-%m} {text}">'
                     f'<div>{r["month"]:%y.%m}</div><div>{html.escape(text)}</div></div>')
    return ('<style>.tm-strip{display:flex;gap:2px;flex-wrap:wrap}.tm-cell{width:54px;padding:2px;font-size:11px;'
            'text-align:center;color:#fff;border-radius:3px}</style><div class="tm-strip" id="tm-strip">'
            + "".join(cells) + "</div>")


def person_card(person_key: str, scope, role) -> None:
    try:
        card = run(teams.person, person_key, scope, role)
    except OutOfScope as exc:
        st.error(str(exc))
        ui_auth.denied("teams-person", "驻村人员卡片：不在权限范围内")
        return
    # Everything from the workbook goes through md(): a name or unit is shown as typed, never as Markdown.
    st.subheader(f"人员卡片：{md(card['name'])}", anchor=False)
    state = "在岗" if card["in_post"] else md(card["status"] or "—")
    st.markdown(
        f"**驻村身份**：{md(card['role'])}　**状态**：{state}　**驻村**：{md(reference.county_name(card['county_code']))}"
        f"{md(card['township'] or '')}{md(card['village'])}（{md(card['village_type'])}）  \n"
        f"**派出单位**：{md(card['sending_unit'] or '—')}（{md(card['sending_level'])}级）　**职级**：{md(card['rank'] or '—')}　"
        f"**政治面貌**：{md(card['party_status'])}  \n"
        f"**驻村期间**：{fmt.date(card['start_date'])} 至 {fmt.date(card['end_date']) if card['end_date'] else '今'}　"
        f"**身份证号**：{md(card['id_number'] or '—')}　**联系电话**：{md(card['phone'] or '—')}")
    st.caption("近24个月考勤（计补天数/应在村天数）：绿色达标，红色不足，灰色未报")
    st.markdown(strip_html(card["attendance"]), unsafe_allow_html=True)


def main() -> None:
    scope, role = current_scope(), current_role()
    qp = st.query_params
    county = qp.get("county")
    if county and not (len(county) == 6 and county.isdigit() and scope.allows(county)):
        if county:
            ui_auth.denied(county, "驻村力量：县市区不在权限范围内")
        st.error("该县市区不存在或不在您的权限范围内")
        county = None
    if scope.county_code:
        county = scope.county_code
    village = qp.get("village")
    if village and not scope.allows(village):
        st.error("该村不在您的权限范围内")
        village = None

    st.title("驻村力量", anchor=False)
    county_scope = Scope(county_code=county) if county else scope
    k = run(teams.kpis, county_scope)
    if k.as_of is None:
        st.info("尚无已接收的驻村力量月报。请在「报表上传」页面报送，或运行 python -m pipelines ingest。")
        return
    where = reference.county_name(county) if county else ("全省" if not scope.home_prefecture
                                                          else reference.prefecture_name(scope.home_prefecture))
    st.caption(f"{where} · 数据截至 {fmt.date(k.as_of)}（各州市最新月报） · 考勤以乡镇或县驻村办月度登记为准")
    kpi_row(k)

    person = qp.get("person")
    if person:
        with st.container(border=True, key="tm_card"):
            person_card(person, scope, role)
            if st.button("关闭人员卡片", key="tm_close_card"):
                set_params(person=None)

    table = run(teams.county_table, scope)
    st.subheader("各县市区驻村力量", anchor=False)
    shown, config = widgets.table_frame(table, {
        "prefecture_name": "州市", "county_name": "县市区", "in_post": "在岗人数", "first_secretaries": "第一书记",
        "villages_covered": "覆盖村", "villages_required": "应配备村", "villages_met": "达标村",
        "staffing_met_rate": "力量配备达标率", "attendance_met_rate": "在村天数达标率",
        "households_visited_rate": "走访覆盖率"}, percent=RATES)
    st.dataframe(shown, hide_index=True, column_config=config, key="tm_counties",
                 height=widgets.table_height(shown.height, 420))
    if not scope.county_code:
        names = table.select("county_code", "county_name").rows()
        with st.container(key="tm_county_buttons", horizontal=True):
            for code, name in names:
                if st.button(name, key=f"tm_c_{code}", type="primary" if code == county else "secondary"):
                    set_params(county=code, village=None, person=None)
            if county and st.button("全部县市区", key="tm_c_all"):
                set_params(county=None, village=None, person=None)

    if county:
        roster = run(teams.members, scope, county, None, role)
        st.subheader(f"{reference.county_name(county)} 各村驻村力量", anchor=False)
        villages = roster.group_by("village_key", maintain_order=True).agg(
            pl.first("village"), pl.first("village_type"), pl.col("in_post").sum().alias("in_post"))
        with st.container(key="tm_village_buttons", horizontal=True):
            for vk, vname, vtype, n in villages.rows():
                if st.button(f"{md(vname)}（{n}人）", key=f"tm_v_{vk}",
                             type="primary" if vk == village else "secondary"):
                    set_params(village=vk, person=None)
        if village:
            team = roster.filter(pl.col("village_key") == village)
            st.markdown(f"**{md(team['village'][0] if team.height else village)} 驻村工作队**")
            shown, config = widgets.table_frame(team.with_columns(
                state=pl.when(pl.col("in_post")).then(pl.lit("在岗")).otherwise(pl.col("status"))), {
                "name": "姓名", "role": "驻村身份", "state": "状态", "party_status": "政治面貌",
                "sending_unit": "派出单位", "start_date": "驻村开始", "term_end": "两年期满", "id_number": "身份证号",
                "phone": "联系电话"})
            st.dataframe(shown, hide_index=True, column_config=config, key="tm_team")
            with st.container(key="tm_person_buttons", horizontal=True):
                for pk, name in team.select("person_key", "name").rows():
                    if st.button(f"查看 {md(name)}", key=f"tm_p_{pk}"):
                        set_params(person=pk)

    tab_lack, tab_short, tab_term = st.tabs(["缺少驻村力量的村", "在村天数不足（本月及上月）", "90天内任期届满"])
    with tab_lack:
        lacking = run(teams.villages_lacking, scope, county)
        st.caption(f"共 {lacking.height} 个村未达到其类型的配备要求")
        shown, config = widgets.table_frame(lacking, {
            "county_name": "县市区", "township": "乡镇", "village": "行政村", "village_type": "村类型",
            "required": "应配备", "people_in_post": "在岗人数", "first_secretaries": "第一书记"})
        st.dataframe(shown, hide_index=True, column_config=config, key="tm_lacking")
    with tab_short:
        short = run(teams.short_people, scope, county)
        st.caption(f"共 {short.height} 人次；考勤以月度登记为准，不使用打卡定位")
        shown, config = widgets.table_frame(short.with_columns(month_text=pl.col("month").dt.strftime("%Y-%m")), {
            "month_text": "月份", "county_name": "县市区", "village": "行政村", "name": "姓名",
            "days_counted": "计补天数", "days_required": "应在村天数", "days_absent": "未请假离岗天数",
            "days_leave": "请假天数"})
        st.dataframe(shown, hide_index=True, column_config=config, key="tm_short")
    with tab_term:
        ending = run(teams.terms_ending, scope, county)
        st.caption(f"共 {ending.height} 人（两年期自驻村开始日期起算）")
        shown, config = widgets.table_frame(ending, {
            "county_name": "县市区", "village": "行政村", "name": "姓名", "role": "驻村身份", "start_date": "驻村开始",
            "term_end": "期满日期", "days_left": "剩余天数"})
        st.dataframe(shown, hide_index=True, column_config=config, key="tm_terms")


if warehouse_ready():
    main()
