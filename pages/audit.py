"""审计日志 (administrators): who signed in or failed to, who uploaded what with which result, who exported which
file, who changed which supervision order — filtered, and exported to Excel or CSV.

Layout and calls only: the rows come from hometown.access.audit (its own DuckDB file, see that module for why).
"""

from __future__ import annotations

from ui.guard import from_app; from_app()  # noqa: E702  first: a page renders only when app.py ran it (signed in)

from datetime import date, timedelta

import streamlit as st

from hometown import export
from hometown.access import audit, auth
from ui import auth as ui_auth
from ui.common import current_role

ANY = ""
OUTCOMES = {ANY: "全部", "ok": "成功", "failed": "失败", "refused": "拒绝"}


def main() -> None:
    st.title("审计日志", anchor=False)
    role = current_role()
    if not auth.may(role, auth.MANAGE_USERS):
        st.error("仅管理员可以查看审计日志")
        return
    st.caption("记录登录（成功、失败、锁定）、退出、报表上传及结果、文件导出、督办单操作和用户管理，含操作人与时间。"
               "日志只追加、不修改；每条记录带前后链式校验值。")

    today = date.today()
    c1, c2, c3, c4, c5 = st.columns([2, 1, 1, 1, 2], vertical_alignment="bottom")
    with c1:
        period = st.date_input("日期范围", value=(today - timedelta(days=30), today), key="au_period",
                               format="YYYY-MM-DD")
    with c2:
        user = st.selectbox("用户", [ANY, *audit.usernames()], key="au_user",
                            format_func=lambda u: "全部" if u == ANY else u)
    with c3:
        action = st.selectbox("操作", [ANY, *audit.ACTIONS], key="au_action",
                              format_func=lambda a: "全部" if a == ANY else audit.ACTIONS[a])
    with c4:
        outcome = st.selectbox("结果", list(OUTCOMES), key="au_outcome", format_func=OUTCOMES.get)
    with c5:
        text = st.text_input("关键词（对象、详情）", key="au_text", max_chars=100)
    since, until = (period + (None, None))[:2] if isinstance(period, tuple) else (period, period)
    frame = audit.events(since=since, until=until or since, username=user or None, action=action or None,
                         outcome=outcome or None, text=text or None)
    table = audit.table(frame)

    m1, m2, m3, m4 = st.columns(4)
    m1.metric("记录数", table.height, border=True)
    m2.metric("登录失败/锁定", frame.filter(frame["action"].is_in(["login_failed", "login_locked"])).height, border=True)
    m3.metric("上传", frame.filter(frame["action"] == "upload").height, border=True)
    m4.metric("导出", frame.filter(frame["action"] == "export").height, border=True)

    if table.height == 0:
        st.info("所选条件下没有审计记录。")
    else:
        st.dataframe(table, hide_index=True, width="stretch", key="au_table", placeholder="—",
                     height=min(38 + 35 * table.height, 640),
                     column_config={"详情": st.column_config.TextColumn("详情", width="large")})
        subtitle = f"{since or ''} 至 {until or since or ''}"
        sheet = export.Sheet("审计日志", table, {c: export.INT if c == "序号" else export.TEXT for c in table.columns},
                             "平台审计日志", subtitle)
        me = ui_auth.current_user()
        d1, d2, _ = st.columns([1, 1, 4])
        with d1:
            st.download_button("导出Excel", data=audit.logged(lambda: export.xlsx_bytes([sheet]), user=me,
                                                            target="审计日志.xlsx", detail=f"{table.height} 条，{subtitle}",
                                                            client=ui_auth.client()),
                               file_name=f"审计日志_{today:%Y%m%d}.xlsx", mime=export.XLSX_MIME, on_click="ignore",
                               icon=":material/download:", key="au_xlsx")
        with d2:
            st.download_button("导出CSV", data=audit.logged(lambda: export.csv_bytes(table), user=me,
                                                           target="审计日志.csv", detail=f"{table.height} 条，{subtitle}",
                                                           client=ui_auth.client()),
                               file_name=f"审计日志_{today:%Y%m%d}.csv", mime=export.CSV_MIME, on_click="ignore",
                               icon=":material/download:", key="au_csv")
    broken = audit.verify_chain()
    if broken:
        st.error(f"完整性校验发现 {len(broken)} 条记录与链式校验值不符（序号 {', '.join(map(str, broken[:20]))}），"
                 "日志文件可能被手工改动。")
    else:
        st.caption("完整性校验：全部记录的链式校验值一致。")


main()
