"""任期承诺: one plan, five lists (/commitments?code=532500, ?code=532504, ?code=532504/西三镇, ?code=<village key>).

Layout and calls only (hometown.commitments; markup blocks in ui.commitments). A region shows its KPIs and its
sub-regions ranked by 承诺兑现率 (click a row to open it); a village shows its five lists side by side as a board
and its notice for the 公示栏 (Word, PDF). Every level shows 挂图作战 (the open items due within 60 days and the late
ones, on a timeline by due date) and the 销号 ledger (Excel).
"""

from __future__ import annotations

from ui.guard import from_app; from_app()  # noqa: E702  first: a page renders only when app.py ran it (signed in)

import polars as pl
import streamlit as st

from hometown import commitments as cm
from hometown.access import audit
from hometown.commitments import documents
from warehouse.parts.commitments import LABELS
from warehouse.scope import OutOfScope
from ui import auth as ui_auth
from ui import charts, widgets
from ui import commitments as ui_cm
from ui.common import current_role, current_scope, run, warehouse_ready
from ui.nav import COMMITMENTS_PAGE
from ui.text import md

RATES = ("fulfilment_rate", "on_time_rate", "closed_rate")


def logged(fn, file_name: str, what: str):
    """A download's data callable that writes the audit row (who, which file) when the file is produced."""
    return audit.logged(fn, user=ui_auth.current_user(), target=file_name, detail=what, client=ui_auth.client())


def open_code(code: str) -> None:
    st.switch_page(COMMITMENTS_PAGE, query_params={"code": code})


def crumbs(code: str, place: dict | None) -> None:
    """云南省 › 州市 › 县市区 › 乡镇 › 村, each a link; levels above the user's scope disabled."""
    scope = current_scope()
    trail = cm.trail(code, place)
    with st.container(horizontal=True, gap=None, key="cm_crumbs"):
        for i, (c, name) in enumerate(trail):
            last = i == len(trail) - 1
            allowed = scope.allows(c) if c != "530000" else scope.top_code == "530000"
            st.page_link(COMMITMENTS_PAGE, label=md(name) if last else f"{md(name)}  ›", query_params={"code": c},
                         disabled=last or not allowed)


def kpis(row: dict) -> None:
    cols = st.columns(7)
    figures = [("承诺事项数", f"{row['items']:,}"), ("到期事项数", f"{row['due']:,}"),
               ("到期已销号", f"{row['closed_due']:,}"), (LABELS["fulfilment_rate"], ui_cm._pct(row["fulfilment_rate"])),
               (LABELS["on_time_rate"], ui_cm._pct(row["on_time_rate"])),
               (LABELS["closed_rate"], ui_cm._pct(row["closed_rate"])), ("逾期未销号", f"{row['overdue']:,}")]
    for col, (label, value) in zip(cols, figures):
        col.metric(label, value)


def children_block(code: str, level: str) -> None:
    kids = run(cm.children, current_scope(), code)
    if kids.height == 0:
        return
    unit = cm.LEVEL_NAMES[cm.CHILD_LEVEL[level]]
    st.subheader(f"各{unit}承诺兑现率排名", anchor=False)
    st.caption("承诺兑现率 = 到期事项中已销号（验收通过）的 ÷ 到期事项（取消的事项不计）；点选一行打开")
    table, config = widgets.table_frame(kids, {"rank": "排名", "name": unit, "items": "承诺事项数", "due": "到期事项数",
                                               "closed_due": "到期已销号", "overdue": "逾期未销号"}
                                        | {r: LABELS[r] for r in RATES} | {"as_of": "数据截至"}, percent=RATES)
    event = st.dataframe(table, hide_index=True, on_select="rerun", selection_mode="single-row", key=ui_cm.table_key(code),
                         column_config=config, height=widgets.table_height(table.height, cap=520))
    picked = widgets.selected_value(event, kids)
    if picked and current_scope().allows(picked):
        open_code(picked)


def board_block(key: str, place: dict) -> None:
    items = cm.masked(run(cm.board, current_scope(), key), current_role())
    rates = run(cm.by_list, current_scope(), key)
    st.subheader("一份规划、五张清单", anchor=False)
    st.caption(f"公示 {place['notice_start'] or '—'} 至 {place['notice_end'] or '—'} · 承诺日期 {place['committed_on'] or '—'}"
               f" · 数据截至 {place['as_of']}")
    charts.show(ui_cm.legend())
    charts.show(ui_cm.board_html(items, rates))
    word, pdf = st.columns(2)
    name = f"{place['village']}_任期承诺公示"
    scope = current_scope()
    word.download_button("下载公示栏版（Word）", data=logged(lambda: documents.notice_docx(scope, key), f"{name}.docx",
                                                        "任期承诺公示"), file_name=f"{name}.docx",
                         mime=documents.DOCX_MIME, on_click="ignore", key="cm_notice_docx", icon=":material/description:")
    pdf.download_button("下载公示栏版（PDF）", data=logged(lambda: documents.notice_pdf(scope, key), f"{name}.pdf",
                                                       "任期承诺公示"), file_name=f"{name}.pdf",
                        mime="application/pdf", on_click="ignore", key="cm_notice_pdf", icon=":material/picture_as_pdf:")


def timeline_block(code: str) -> None:
    items = cm.masked(run(cm.timeline, current_scope(), code), current_role())
    st.subheader("挂图作战：60天内到期和已逾期的事项", anchor=False)
    late = items.filter(pl.col("overdue")).height if items.height else 0
    st.caption(f"共 {items.height} 项，其中逾期 {late} 项；按完成时限排列，颜色为事项状态")
    charts.show(ui_cm.timeline_svg(items))
    if items.height:
        table, config = widgets.table_frame(items, {
            "county_name": "县市区", "township": "乡镇", "village": "行政村", "list_name": "清单", "item_no": "编号",
            "content": "承诺事项", "owner": "责任人", "due_date": "完成时限", "days_left": "剩余天数", "status": "状态",
            "light": "灯"})
        st.dataframe(table, hide_index=True, column_config=config, key=f"cm_timeline_{code}",
                     height=widgets.table_height(table.height, cap=360))


def ledger_block(code: str) -> None:
    ledger = cm.masked(run(cm.ledger, current_scope(), code), current_role())
    st.subheader(f"销号台账（{ledger.height} 项）", anchor=False)
    if ledger.height == 0:
        st.info("尚无验收通过、已销号的事项")
        return
    shown = ledger.with_columns(on_time=pl.when(pl.col("on_time")).then(pl.lit("按期")).otherwise(pl.lit("逾期")))
    table, config = widgets.table_frame(shown, documents.LEDGER_HEADERS)
    st.dataframe(table, hide_index=True, column_config=config, key=f"cm_ledger_{code}",
                 height=widgets.table_height(table.height, cap=360))
    if documents.may_export(current_role()):
        scope, name = current_scope(), f"任期承诺销号台账_{code.replace('/', '_')}.xlsx"
        st.download_button("导出销号台账（Excel）", data=logged(lambda: documents.ledger_export(scope, code), name,
                                                         "任期承诺销号台账"),
                           file_name=name, mime=documents.XLSX_MIME, on_click="ignore", key="cm_ledger_xlsx",
                           icon=":material/download:")


def main() -> None:
    scope = current_scope()
    code = st.query_params.get("code") or scope.top_code
    level = cm.level_of(code)
    try:
        row = run(cm.summary, scope, code)
        place = run(cm.village, scope, code) if level == "village" else None
    except OutOfScope as exc:
        st.error(str(exc))
        ui_auth.denied(code, f"{exc}（{st.query_params.to_dict()}）")
        return
    widgets.inject_css(widgets.PAGE_CSS + charts.CSS + ui_cm.CSS)
    st.title("任期承诺 · " + md(place["village"] if place else (row["name"] if row else code)), anchor=False)
    if row is None:
        st.info("该地区尚无已接收的任期承诺报表")
        return
    st.caption(f"{cm.LEVEL_NAMES[level]} · 数据截至 {row['as_of']} · 一份规划、五张清单，销号管理")
    crumbs(code, place)
    kpis(row)
    if level == "village":
        board_block(code, place)
    else:
        children_block(code, level)
    timeline_block(code)
    ledger_block(code)


if warehouse_ready():
    main()
