"""调度督办: the alert board by level, supervision orders (issue, follow, close, print, export) and 倒排工期.

Layout and calls only: alerts come from hometown.dispatch.alerts, orders and their documents from hometown.dispatch.orders, the
forecast from hometown.dispatch.forecast. The view (?view=预警看板|督办单|倒排工期) and the open order (?order=ID) live in
the URL, as do the filters (?year=…&asof=…).
"""

from __future__ import annotations

from ui.guard import from_app; from_app()  # noqa: E702  first: a page renders only when app.py ran it (signed in)

from datetime import date, timedelta

import polars as pl
import streamlit as st

from geo import reference
from hometown import export
from hometown.access import audit, auth
from hometown.dispatch import alerts, forecast, orders
from warehouse import metrics, schedule
from warehouse.scope import Filters, OutOfScope
from ui import auth as ui_auth
from ui import guard
from ui.text import md
from ui.common import current_role, current_scope, filters_from_url, run, warehouse_ready

VIEWS = {"alerts": "预警看板", "orders": "督办单", "forecast": "倒排工期"}
ALL = ""
ROWS_PER_RULE = 25
LEVEL_BADGES = {alerts.RED: ":red-badge[红色预警]", alerts.YELLOW: ":orange-badge[黄色预警]"}
STATE_BADGES = {orders.ISSUED: "blue", orders.SIGNED: "violet", orders.RECTIFYING: "orange", orders.CLOSED: "green"}
# Rules about a county or a prefecture: few rows, shown open; village rules start folded.
REGION_RULES = ("county_behind", "late_report", "low_adoption")


NO_RIGHT = "本账号的角色无此操作权限（州市项目组下发、核验办结和调整期限；县级专班签收、整改和报送进展）"


def can(action: str) -> bool:
    """May the signed-in role do this (hometown.access.auth.PERMISSIONS)? Everything when the app runs without sign-in."""
    return auth.may(current_role(), action)


def actor_input(label: str, key: str, scope) -> str:
    """Who acts: the signed-in user (not editable), or, with no sign-in configured, a name the user types."""
    me = ui_auth.signed_in_actor()
    if me:
        return st.text_input(label, value=me, key=key, disabled=True)
    return st.text_input(label, value=st.session_state.get("dp_actor") or default_actor(scope), key=key)


def record(target: str, detail: str, outcome: str = "ok", action: str = "order") -> None:
    """The audit trail of every order change (and of refused ones), with who and from where."""
    audit.record(action, user=ui_auth.current_user(), target=target, detail=detail, outcome=outcome,
                 client=ui_auth.client())


def refused(exc: Exception, target: str) -> None:
    st.error(md(exc))
    if isinstance(exc, (OutOfScope, PermissionError)):
        record(target, str(exc), "refused", action="denied")
    else:
        record(target, str(exc), "refused")


def logged(fn, target: str, detail: str):
    return audit.logged(fn, user=ui_auth.current_user(), target=target, detail=detail, client=ui_auth.client())


def default_actor(scope) -> str:
    """Who acts, until the user types otherwise: the unit of the signed-in scope."""
    if scope.county_code:
        county = reference.counties().filter(pl.col("code") == scope.county_code)
        return f"{county['name'][0]}工作专班" if county.height else "县工作专班"
    if scope.prefecture_code:
        pref = reference.prefectures().filter(pl.col("code") == scope.prefecture_code)
        return f"{pref['common_name'][0]}项目组" if pref.height else "州市项目组"
    return "省项目组"


def flash(message: str) -> None:
    st.session_state["dp_flash"] = message


def open_order(order_id: int) -> None:
    """Show an order's detail on the next run (the orders view, that order selected).

    The view and order widgets already exist in this run, so their values are set at the top of the next one.
    """
    st.session_state["dp_goto"] = int(order_id)


def safe_key(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in text)


# ------------------------------------------------------------------------------------------------- issuing


@st.dialog("下发督办单", width="large")
@guard.checked
def issue_dialog(alert: dict | None, scope) -> None:
    today = date.today()
    if alert is not None:
        draft = orders.draft_from_alert(alert, today)
        st.markdown(f"{LEVEL_BADGES.get(alert['level'], '')} {md(alert['detail'])}")
    else:
        draft = None
    target = draft["target"] if draft else manual_target(scope)
    if target is None:
        return
    st.markdown(f"**督办对象**：{md(target.name or target.code)}")
    title = st.text_input("督办事由", value=draft["title"] if draft else "", key="dlg_title")
    items = st.text_area("督办事项（每行一项）", value="\n".join(draft["items"]) if draft else "", height=120,
                         key="dlg_items")
    unit = st.text_input("责任单位", value=draft["responsible_unit"] if draft else orders.suggested_unit(target),
                         key="dlg_unit")
    c1, c2 = st.columns(2)
    with c1:
        deadline = st.date_input("办结期限", value=today + timedelta(days=orders.DEFAULT_DAYS), min_value=today,
                                 key="dlg_deadline", format="YYYY-MM-DD")
    with c2:
        actor = actor_input("下发人（单位/姓名）", "dlg_actor", scope)
    if st.button("确认下发", type="primary", key="dlg_submit", icon=":material/send:"):
        try:
            order_id = orders.create_order(
                target, title=title, items=items.splitlines(), responsible_unit=unit, deadline=deadline,
                created_by=actor, alert=alert, note=alert["detail"] if alert else None, scope=scope,
                role=current_role())
        except (orders.OrderError, PermissionError) as exc:
            refused(exc, target.name or target.code)
            return
        record(f"督办单 {order_id}号（{target.name or target.code}）",
               f"下发：{title}；责任单位 {unit}；办结期限 {deadline:%Y-%m-%d}" + (f"；预警 {alert['alert_key']}" if alert else ""))
        st.session_state["dp_actor"] = actor
        flash(f"已下发督办单（{md(target.name or target.code)}）")
        open_order(order_id)
        st.rerun()


def manual_target(scope) -> orders.Target | None:
    """Pick a prefecture or county (within scope) for an order issued by hand."""
    prefs = reference.prefectures()
    counties = reference.counties()
    pref_options = [c for c in prefs["code"].to_list() if scope.allows(c)]
    if scope.county_code:
        pref_options = [scope.home_prefecture]
    names = dict(prefs.select("code", "common_name").iter_rows())
    c1, c2 = st.columns(2)
    with c1:
        pref = st.selectbox("州市", pref_options, format_func=lambda c: names.get(c, c), key="dlg_pref")
    county_codes = [c for c in counties.filter(pl.col("prefecture_code") == pref)["code"].to_list()
                    if scope.allows(c)]
    county_names = dict(counties.select("code", "name").iter_rows())
    with c2:
        options = county_codes if scope.county_code else [ALL, *county_codes]
        county = st.selectbox("县市区", options, key="dlg_county",
                              format_func=lambda c: "（督办州市本级）" if c == ALL else county_names.get(c, c))
    if not pref:
        return None
    name = names.get(pref, pref) + (county_names.get(county, "") if county else "")
    return orders.Target(prefecture_code=pref, county_code=county or None, name=name)


# ------------------------------------------------------------------------------------------------- alert board


def alert_board(scope, filters: Filters) -> None:
    frame = run(alerts.alerts, scope, filters)
    all_orders = orders.orders(scope, today=date.today())
    open_orders = all_orders.filter(pl.col("state") != orders.CLOSED)
    # Each alert's latest order (open or closed): the board shows it instead of a second "issue" button.
    by_alert = {r["alert_key"]: r for r in all_orders.sort("order_id").iter_rows(named=True) if r["alert_key"]}

    n_red = frame.filter(pl.col("level") == alerts.RED).height
    n_yellow = frame.height - n_red
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("红色预警", n_red)
    m2.metric("黄色预警", n_yellow)
    m3.metric("在办督办单", open_orders.height)
    m4.metric("逾期督办单", int(open_orders["overdue"].sum() or 0))

    common = dict(reference.prefectures().select("code", "common_name").iter_rows())
    c1, c2, c3 = st.columns([1, 3, 1])
    with c1:
        level = st.segmented_control("预警等级", [ALL, alerts.RED, alerts.YELLOW], default=ALL, key="dp_level",
                                     format_func=lambda v: "全部" if v == ALL else f"{v}色")
    with c2:
        present = [r for r in alerts.RULE_LABELS if r in set(frame["alert_type"].to_list())]
        rules = st.multiselect("预警类型", present, format_func=alerts.RULE_LABELS.get, key="dp_rules",
                               placeholder="全部类型")
    with c3:
        prefs = [ALL, *sorted(set(frame["prefecture_code"].to_list()), key=lambda c: c)]
        pref = st.selectbox("州市", prefs, key="dp_pref", format_func=lambda c: "全部" if c == ALL else common.get(c, c))
    if level:
        frame = frame.filter(pl.col("level") == level)
    if rules:
        frame = frame.filter(pl.col("alert_type").is_in(rules))
    if pref:
        frame = frame.filter(pl.col("prefecture_code") == pref)

    if can(auth.ISSUE_ORDER) and st.button("手工下发督办单", icon=":material/edit_note:", key="dp_manual"):
        issue_dialog(None, scope)

    if frame.height == 0:
        st.success("当前范围内没有预警。")
        return
    as_of = frame["as_of"].drop_nulls()
    if as_of.len():
        st.caption(f"依据各州市截至 {as_of.min():%Y-%m-%d} 至 {as_of.max():%Y-%m-%d} 的最新报表计算；"
                   "阈值见 config/alerts.toml，进度计划见 config/schedule.toml。")
    # One pass over the board (not a filter per level and rule: ~30 of them were a third of a rerun's CPU).
    groups = frame.partition_by("level", "alert_type", as_dict=True, maintain_order=True)
    for lv in (alerts.RED, alerts.YELLOW):
        total = sum(g.height for (level_, _), g in groups.items() if level_ == lv)
        if total == 0:
            continue
        st.subheader(f"{lv}色预警（{total} 条）")
        for rule, label in alerts.RULE_LABELS.items():
            rows = groups.get((lv, rule))
            if rows is None or rows.height == 0:
                continue
            # Lazy: a folded group's rows (and their buttons) are only built once it is opened.
            exp = st.expander(f"{label} · {rows.height} 条", expanded=rule in REGION_RULES,
                              key=f"dp_exp_{lv}_{rule}", on_change="rerun")
            if not exp.open:
                continue
            with exp:
                for alert in rows.head(ROWS_PER_RULE).iter_rows(named=True):
                    alert_row(alert, by_alert, scope)
                if rows.height > ROWS_PER_RULE:
                    st.caption(f"仅显示前 {ROWS_PER_RULE} 条，共 {rows.height} 条；请用上方州市、类型筛选。")


def alert_row(alert: dict, by_alert: dict, scope) -> None:
    with st.container(key=f"alert_{safe_key(alert['alert_key'])}"):
        c1, c2 = st.columns([7, 1], vertical_alignment="center")
        with c1:
            st.markdown(f"{LEVEL_BADGES[alert['level']]} {md(alert['detail'])}")
        with c2:
            earlier = by_alert.get(alert["alert_key"])
            if earlier and earlier["state"] != orders.CLOSED:
                if st.button(f"已督办 {earlier['order_no']}", key=f"see_{safe_key(alert['alert_key'])}",
                             type="tertiary", help=f"当前状态：{earlier['display_state']}，点击查看"):
                    open_order(earlier["order_id"])
                    st.rerun()
            elif can(auth.ISSUE_ORDER):
                label = "再次督办" if earlier else "下发督办"
                if st.button(label, key=f"issue_{safe_key(alert['alert_key'])}", icon=":material/send:",
                             help=f"{earlier['order_no']}已办结，但最新报表仍触发此预警" if earlier else None):
                    issue_dialog(alert, scope)


# ------------------------------------------------------------------------------------------------- orders


def orders_view(scope) -> None:
    today = date.today()
    everything = orders.orders(scope, today=today)
    m = st.columns(5)
    m[0].metric("督办单", everything.height)
    m[1].metric("在办", everything.filter(pl.col("state") != orders.CLOSED).height)
    m[2].metric("逾期", int(everything["overdue"].sum() or 0))
    m[3].metric("待核验", int(everything["to_verify"].sum() or 0))
    m[4].metric("已办结", everything.filter(pl.col("state") == orders.CLOSED).height)

    common = dict(reference.prefectures().select("code", "common_name").iter_rows())
    c1, c2, c3, c4 = st.columns([1, 1, 1, 2], vertical_alignment="bottom")
    with c1:
        state = st.selectbox("状态", [ALL, *orders.STATES], key="dp_state",
                             format_func=lambda s: "全部" if s == ALL else s)
    with c2:
        level = st.selectbox("督办对象", [ALL, *orders.TARGET_LEVELS], key="dp_target",
                             format_func=lambda s: "全部" if s == ALL else orders.TARGET_LEVELS[s])
    with c3:
        prefs = [ALL, *sorted(set(everything["prefecture_code"].to_list()))]
        pref = st.selectbox("州市", prefs, key="dp_opref", format_func=lambda c: "全部" if c == ALL else common.get(c, c))
    with c4:
        f1, f2 = st.columns(2)
        only_overdue = f1.checkbox("只看逾期", key="dp_overdue")
        only_verify = f2.checkbox("只看待核验", key="dp_verify")
    frame = orders.orders(scope, state=state or None, target_level=level or None, prefecture_code=pref or None,
                only_overdue=only_overdue, only_to_verify=only_verify, today=today)

    if frame.height == 0:
        st.info("没有符合条件的督办单。可在“预警看板”一键下发，或手工下发。")
    else:
        table = orders.orders_table(frame)
        st.dataframe(table, hide_index=True, width="stretch", placeholder="—", key="dp_orders_table",
                     height=min(38 + 35 * table.height, 500),
                     column_config={"剩余天数": st.column_config.NumberColumn("剩余天数", format="%d")})
        subtitle = "　".join(p for p in (
            f"状态：{state or '全部'}", f"对象：{orders.TARGET_LEVELS.get(level, '全部')}",
            f"州市：{common.get(pref, '全部')}", "只看逾期" if only_overdue else "", "只看待核验" if only_verify else "")
            if p)
        st.download_button("导出Excel", data=logged(lambda: orders.orders_xlsx(frame, subtitle),
                                                   orders.orders_file_name(today), f"{frame.height} 张督办单；{subtitle}"),
                           file_name=orders.orders_file_name(today), mime=export.XLSX_MIME, on_click="ignore",
                           icon=":material/download:", key="dp_orders_xlsx")

    ids = everything["order_id"].to_list()
    if not ids:
        return
    # No state in the label: a selectbox keeps its value by label, and the state changes under it.
    labels = {r["order_id"]: f"{r['order_no']} · {r['target_name']} · {r['title']}"
              for r in everything.iter_rows(named=True)}
    if st.session_state.get("order") not in ids:
        # First visit or a deep link: ?order=ID (kept by hand, as the label changes with the order's state).
        linked = st.query_params.get("order", "")
        st.session_state["order"] = int(linked) if linked.isdigit() and int(linked) in ids else ids[0]
    st.divider()
    order_id = st.selectbox("查看督办单", ids, key="order", format_func=lambda i: labels.get(i, str(i)))
    st.query_params["order"] = str(order_id)
    order_detail(int(order_id), scope)


def order_detail(order_id: int, scope) -> None:
    today = date.today()
    try:
        o = orders.order(order_id, scope, today=today)
    except orders.OrderNotFound as exc:
        st.error(md(exc))
        return
    history = orders.events(order_id, scope)
    with st.container(border=True, key="dp_detail"):
        badge = f":{STATE_BADGES[o['state']]}-badge[{o['state']}]"
        if o["overdue"]:
            badge += f" :red-badge[{orders.OVERDUE}]"
        if o["to_verify"]:
            badge += f" :orange-badge[{orders.TO_VERIFY}]"
        st.markdown(f"### {md(o['order_no'])}　{md(o['title'])}\n{badge}")
        if o["overdue"]:
            st.error(f"已超过办结期限 {-o['days_left']} 天（期限 {o['deadline']:%Y-%m-%d}）。")
        if o["to_verify"]:
            st.warning(f"待核验：截至 {o['cleared_as_of']:%Y-%m-%d} 的报表已不再触发引发本督办单的预警，"
                       "请核验整改情况后办结。")
        c1, c2 = st.columns(2)
        with c1:
            st.markdown(f"**督办对象**：{md(o['target_name'])}（{orders.TARGET_LEVELS[o['target_level']]}）  \n"
                        f"**责任单位**：{md(o['responsible_unit'])}  \n"
                        f"**办结期限**：{o['deadline']:%Y-%m-%d}"
                        + ("" if o["state"] == orders.CLOSED else f"（剩余 {o['days_left']} 天）"))
        with c2:
            st.markdown(f"**下发**：{md(o['created_by'])}，{o['created_at']:%Y-%m-%d %H:%M}  \n"
                        f"**预警**：{md(o['alert_detail']) or '人工下发'}")
        st.markdown("**督办事项**\n" + "\n".join(f"{i}. {md(item)}" for i, item in enumerate(o["items"], start=1)))

        if o["state"] != orders.CLOSED:
            nxt = orders.NEXT_STATE[o["state"]]
            a1, a2, a3 = st.columns([2, 3, 1], vertical_alignment="bottom")
            with a1:
                actor = actor_input("经办人（单位/姓名）", f"dp_actor_{order_id}", scope)
            note = a2.text_input("办理说明（选填）", key=f"dp_note_{order_id}_{o['state']}")
            step_ok = can(auth.CLOSE_ORDER if nxt == orders.CLOSED else auth.ANSWER_ORDER)
            if a3.button(orders.ACTIONS[nxt], type="primary", key=f"dp_go_{order_id}_{nxt}", width="stretch",
                         disabled=not step_ok, help=None if step_ok else NO_RIGHT) and step_ok:
                try:
                    orders.transition(order_id, nxt, actor=actor, note=note or None, scope=scope, role=current_role())
                except (orders.OrderError, PermissionError) as exc:
                    refused(exc, o["order_no"])
                else:
                    record(o["order_no"], f"{orders.ACTIONS[nxt]}：{o['state']} → {nxt}" + (f"；{note}" if note else ""))
                    st.session_state["dp_actor"] = actor
                    flash(f"{md(o['order_no'])}：已{orders.ACTIONS[nxt]}，当前状态「{nxt}」")
                    st.rerun()
            e1, e2 = st.columns(2)
            with e1.expander("调整办结期限"):
                new_deadline = st.date_input("新的办结期限", value=o["deadline"], key=f"dp_nd_{order_id}",
                                             format="YYYY-MM-DD")
                reason = st.text_input("调整理由", key=f"dp_reason_{order_id}")
                if st.button("确认调整", key=f"dp_nd_go_{order_id}", disabled=not can(auth.CLOSE_ORDER),
                             help=None if can(auth.CLOSE_ORDER) else NO_RIGHT) and can(auth.CLOSE_ORDER):
                    try:
                        orders.change_deadline(order_id, new_deadline, actor=actor, reason=reason, scope=scope,
                                               role=current_role())
                    except (orders.OrderError, PermissionError) as exc:
                        refused(exc, o["order_no"])
                    else:
                        record(o["order_no"], f"调整期限：{o['deadline']:%Y-%m-%d} → {new_deadline:%Y-%m-%d}；{reason}")
                        flash(f"{md(o['order_no'])}：办结期限已调整为 {new_deadline:%Y-%m-%d}")
                        st.rerun()
            with e2.expander("报送整改进展"):
                progress = st.text_area("进展情况", key=f"dp_prog_{order_id}", height=80)
                if st.button("提交进展", key=f"dp_prog_go_{order_id}", disabled=not can(auth.ANSWER_ORDER),
                             help=None if can(auth.ANSWER_ORDER) else NO_RIGHT) and can(auth.ANSWER_ORDER):
                    try:
                        orders.add_note(order_id, progress, actor=actor, scope=scope, role=current_role())
                    except (orders.OrderError, PermissionError) as exc:
                        refused(exc, o["order_no"])
                    else:
                        record(o["order_no"], f"报送进展：{progress}")
                        flash(f"{md(o['order_no'])}：已记录整改进展")
                        st.rerun()

        st.markdown("**办理记录**")
        st.dataframe(history.select(
            pl.col("event_at").dt.strftime("%Y-%m-%d %H:%M:%S").alias("时间"), pl.col("actor").alias("经办人"),
            pl.col("action").alias("操作"), pl.col("from_state").alias("原状态"), pl.col("to_state").alias("新状态"),
            pl.col("note").alias("说明")), hide_index=True, width="stretch", placeholder="—", key="dp_history")
        st.download_button("打印督办通知单（Word）", data=logged(lambda: orders.notice_docx(o, history),
                                                            orders.notice_file_name(o), "督办通知单"),
                           file_name=orders.notice_file_name(o), mime=orders.DOCX_MIME, on_click="ignore",
                           icon=":material/print:", key=f"dp_docx_{order_id}")


# ------------------------------------------------------------------------------------------------- forecast


def forecast_view(scope, filters: Filters) -> None:
    points = run(forecast.trend, scope, Filters(None, filters.as_of))
    years = sorted(set(points["task_year"].to_list()), reverse=True)
    if not years:
        st.info("尚无报表数据，无法倒排工期。")
        return
    year = filters.task_year if filters.task_year in years else years[0]
    year = st.selectbox("任务年度", years, index=years.index(year), key="dp_fc_year", format_func=lambda y: f"{y}年")
    fc = run(forecast.forecast, scope, Filters(year, filters.as_of))
    deadline = schedule.deadline(year)
    st.caption(f"{year}年度截止日期 {deadline:%Y-%m-%d}。按各县历次报表的规划完成率做线性拟合得出当前进度（村/月）和预计完成日期；"
               "需要进度 = 未完成村数 ÷ 距截止日期的月数。")
    counts = fc.group_by("status_label").agg(n=pl.len())
    cols = st.columns(len(forecast.STATUS_LABELS))
    for col, (status, label) in zip(cols, forecast.STATUS_LABELS.items()):
        n = counts.filter(pl.col("status_label") == label)["n"]
        col.metric(label, int(n[0]) if n.len() else 0)
    RATE = metrics.LABELS["completion_rate"]
    table = fc.select(
        pl.col("prefecture_name").alias("州市"), pl.col("county_name").alias("县市区"),
        pl.col("task_villages").alias(metrics.LABELS["task_villages"]), pl.col("completed").alias("已完成"),
        pl.col("completion_rate").alias(RATE), pl.col("pace_per_month").alias("当前进度（村/月）"),
        pl.col("pace_needed").alias("需要进度（村/月）"), pl.col("projected_date").alias("预计完成日期"),
        pl.col("days_late").alias("预计逾期天数"), pl.col("status_label").alias("研判"),
        pl.col("verdict").alias("说明"), pl.col("as_of").alias("最新报表"))
    st.dataframe(table, hide_index=True, width="stretch", placeholder="—", key="dp_fc_table",
                 height=min(38 + 35 * table.height, 600), column_config={
                     RATE: st.column_config.ProgressColumn(RATE, format="percent", min_value=0, max_value=1),
                     "当前进度（村/月）": st.column_config.NumberColumn(format="%.1f"),
                     "需要进度（村/月）": st.column_config.NumberColumn(format="%.1f"),
                     "预计完成日期": st.column_config.DateColumn(format="YYYY-MM-DD"),
                     "最新报表": st.column_config.DateColumn(format="YYYY-MM-DD")})

    names = {r["county_code"]: f"{r['county_name']}（{r['status_label']}）" for r in fc.iter_rows(named=True)}
    county = st.selectbox("查看县市区趋势", list(names), format_func=names.get, key="dp_fc_county")
    if county:
        trend_chart(points.filter((pl.col("county_code") == county) & (pl.col("task_year") == year)),
                    fc.filter(pl.col("county_code") == county).row(0, named=True))


def trend_chart(points: pl.DataFrame, row: dict) -> None:
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_scatter(x=points["as_of"].to_list(), y=points["completion_rate"].to_list(), mode="lines+markers",
                    name="规划完成率（报表）")
    if row["projected_date"] and row["status"] not in (forecast.DONE,):
        fig.add_scatter(x=[row["as_of"], row["projected_date"]], y=[row["completion_rate"], 1.0], mode="lines",
                        line={"dash": "dot"}, name="按当前进度预测")
    if row["remaining"] and row["deadline"] > row["as_of"]:
        fig.add_scatter(x=[row["as_of"], row["deadline"]], y=[row["completion_rate"], 1.0], mode="lines",
                        line={"dash": "dash", "color": "#d62728"}, name="按期完成所需进度")
    fig.add_vline(x=row["deadline"].isoformat(), line_dash="dash", line_color="#888")
    fig.update_layout(height=320, margin={"l": 10, "r": 10, "t": 30, "b": 10}, yaxis_tickformat=".0%",
                      yaxis_range=[0, 1.05], legend={"orientation": "h"},
                      title=f"{row['county_name']} {row['task_year']}年度")
    st.plotly_chart(fig, config={"displayModeBar": False}, key="dp_fc_chart")


# ------------------------------------------------------------------------------------------------- page

st.title("调度督办")
st.caption("找出滞后的县和村，一键下发督办单，跟踪签收、整改直至办结；按当前进度倒排工期。")

if warehouse_ready():
    scope = current_scope()
    filters = filters_from_url()
    if "dp_flash" in st.session_state:
        st.toast(st.session_state.pop("dp_flash"), icon=":material/check_circle:")
    if "dp_goto" in st.session_state:
        st.session_state["view"] = "orders"
        st.session_state["order"] = st.session_state.pop("dp_goto")
    view = st.segmented_control("视图", list(VIEWS), format_func=VIEWS.get, default="alerts", required=True,
                                key="view", bind="query-params", label_visibility="collapsed")
    if view == "orders":
        orders_view(scope)
    elif view == "forecast":
        forecast_view(scope, filters)
    else:
        alert_board(scope, filters)
