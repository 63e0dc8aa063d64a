"""报送记录: the report log — every file loaded, whether it was accepted, a duplicate, superseded or refused, and why.

Layout and calls only (hometown.progress.overview.report_log). Prefecture offices see at once what was accepted and what must
be fixed: pick a row to read its reasons (messages) and warnings (each kind folded after 20 on screen) and download
the whole list as Excel or CSV. Filters live in the URL (?status=refused&pref=532500). A county user sees its
prefecture's files with its own county's village rows and no reasons (hometown.progress.overview.report_log says why).
"""

from __future__ import annotations

from ui.guard import from_app; from_app()  # noqa: E702  first: a page renders only when app.py ran it (signed in)

import polars as pl
import streamlit as st

from geo import reference
from hometown import fmt
from hometown.access import uploads
from hometown.progress import overview
from pipelines.ingest import LOG_STATUS_LABELS as STATUS_LABELS
from pipelines.report import fold
from ui import reasons, widgets
from ui.common import current_scope, run, warehouse_ready
from ui.text import md

TABLE_KEY = "rp_table"


def _set(name: str, key: str) -> None:
    value = st.session_state.get(key)
    if value:
        st.query_params[name] = value
    elif name in st.query_params:
        del st.query_params[name]


def main() -> None:
    scope = current_scope()
    widgets.inject_css(widgets.PAGE_CSS)
    st.title("报送记录", anchor=False)
    st.caption("各州市上报文件的受理结果：已接收的进入统计；已拒收的列明原因，请按原因修改后重新上报。")

    counts = dict(run(overview.report_log_counts, scope).iter_rows())
    cols = st.columns(len(STATUS_LABELS))
    for col, (status, label) in zip(cols, STATUS_LABELS.items()):
        col.metric(label, f"{fmt.plain(counts.get(status, 0))} 份", border=True)

    status = st.query_params.get("status") if st.query_params.get("status") in STATUS_LABELS else ""
    pref = st.query_params.get("pref") or ""
    prefs = [""] + [c for c in reference.prefectures()["code"].to_list() if scope.allows(c)]
    names = dict(reference.prefectures().select("code", "common_name").iter_rows())
    c_status, c_pref = st.columns(2)
    c_status.selectbox("受理结果", [""] + list(STATUS_LABELS), index=([""] + list(STATUS_LABELS)).index(status),
                       format_func=lambda s: STATUS_LABELS.get(s, "全部"), key=f"rp_status_{status}",
                       on_change=_set, args=("status", f"rp_status_{status}"))
    c_pref.selectbox("州市", prefs, index=prefs.index(pref) if pref in prefs else 0,
                     format_func=lambda c: names.get(c, "全部州市"), key=f"rp_pref_{pref}",
                     on_change=_set, args=("pref", f"rp_pref_{pref}"))

    log = run(overview.report_log, scope, status or None, pref or None)
    if log.height == 0:
        st.info("没有符合条件的报送记录")
        return
    county = reference.county_name(scope.county_code) if scope.county_code else None
    rows_label = f"{county}村行数" if county else "村行数"
    first_reason = pl.col("messages").fill_null("").str.split("\n").list.first()
    table = log.select(
        pl.col("loaded_at").dt.strftime("%Y-%m-%d %H:%M").alias("导入时间"), pl.col("file_name").alias("文件名"),
        pl.col("prefecture_name").fill_null("（未识别）").alias("州市"), pl.col("as_of").cast(pl.Utf8).alias("数据截至"),
        pl.col("status").replace_strict(STATUS_LABELS, default=pl.col("status")).alias("受理结果"),
        pl.col("village_rows").alias(rows_label), first_reason.alias("原因（首条）"),
        pl.col("warnings").fill_null("").str.split("\n").list.first().alias("提示（首条）"),
    )
    if county:
        st.caption(f"共 {log.height} 份（最新在前）· 本州市报送的文件，村行数只计{county}的村；"
                   "拒收原因含其他县市区的数据，请向州市项目组了解")
    else:
        st.caption(f"共 {log.height} 份（最新在前）· 点选一行查看全部原因")
    event = st.dataframe(table, hide_index=True, on_select="rerun", selection_mode="single-row", key=TABLE_KEY)
    rows = (event or {}).get("selection", {}).get("rows", []) if event else []
    chosen = log.row(rows[0], named=True) if rows and rows[0] < log.height else None
    if chosen is None:
        refused = log.filter(pl.col("status") == "refused")
        chosen = refused.row(0, named=True) if refused.height else None
    if chosen is None:
        return
    st.subheader(f"{md(chosen['file_name'])}：{STATUS_LABELS.get(chosen['status'], chosen['status'])}", anchor=False)
    st.caption(f"导入于 {chosen['loaded_at']:%Y-%m-%d %H:%M:%S} · 数据截至 {fmt.date(chosen['as_of'])} · "
               f"SHA-256 {chosen['sha256'][:16]}…" + (f" · 上传人 {md(chosen['loaded_by'])}" if chosen["loaded_by"] else ""))
    messages = [m for m in (chosen["messages"] or "").split("\n") if m.strip()]
    warnings = [m for m in (chosen["warnings"] or "").split("\n") if m.strip()]
    # Each kind of problem is folded after 20 on screen (同类问题另有 N 处); the download below has every one.
    if county and chosen["status"] == "refused":
        st.error(f"已拒收：该文件未导入，其中{county}的数据也未进入统计。拒收原因请向州市项目组了解。")
    elif chosen["status"] == "refused":
        st.error(f"拒收原因（{len(messages)} 条）：\n" + "\n".join(f"- {md(m)}" for m in fold(messages))
                 if messages else "已拒收（未记录原因）")
    elif messages:
        st.info("\n".join(f"- {md(m)}" for m in fold(messages)))
    else:
        st.success(f"已接收{county or ''} {fmt.plain(chosen['village_rows'])} 个村的数据")
    if warnings:
        st.warning("提示（不影响接收）：\n" + "\n".join(f"- {md(w)}" for w in fold(warnings)))
    # A county user is not shown the reasons (they quote other counties' rows): no list to download either.
    if (messages or warnings) and not county:
        label = STATUS_LABELS.get(chosen["status"], chosen["status"])
        reasons.downloads(uploads.reasons_frame([(chosen["file_name"], label, messages, warnings)]),
                          chosen["file_name"], f"rp_{chosen['report_id']}")


if warehouse_ready():
    main()
