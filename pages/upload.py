"""报表上传: a prefecture project group uploads its reports; the pipeline checks them at once and every result and
reason is shown in a table (each kind of problem folded after 20) with the whole list to download as Excel or CSV;
the blank report template is downloaded here.

Layout and calls only: hometown.access.uploads runs the pipeline (pipelines.ingest, the same checks as the command) with the
user's prefecture, keeps accepted files and writes the audit rows; each report kind (pipelines.kinds) offers its blank
template here.
"""

from __future__ import annotations

from ui.guard import from_app; from_app()  # noqa: E702  first: a page renders only when app.py ran it (signed in)

import polars as pl
import streamlit as st

from geo import reference
from hometown import export
from hometown.access import auth, uploads
from pipelines import kinds, safety
from pipelines.read import REPORT_SUFFIXES
from ui import auth as ui_auth
from ui import reasons
from ui.common import current_role
from ui.text import md
from warehouse import db
from warehouse.store import DAMAGE, WarehouseBusy, WarehouseDamaged

RESULTS = "up_results"
SUMMARY = (("accepted", "已接收"), ("superseded", "更正替换"), ("duplicate", "重复文件"), ("refused", "已拒收"))
# Streamlit Markdown icons (material symbols ship with Streamlit: no emoji font needed on an intranet PC).
OUTCOME_ICONS = {"accepted": ":green[:material/check_circle:]", "superseded": ":blue[:material/published_with_changes:]",
                 "duplicate": ":gray[:material/content_copy:]", "refused": ":red[:material/cancel:]"}


def template_block(expected: str | None) -> None:
    st.subheader("空白报表模板", anchor=False)
    registered = kinds.kinds()
    for kind in registered:
        st.caption((f"**{kind.label}**：" if len(registered) > 1 else "") + kind.template_note)
    code = expected
    if expected is None:
        common = dict(reference.prefectures().sort("sort_order").select("code", "common_name").iter_rows())
        code = st.selectbox("模板适用州市", ["", *common], key="up_tpl_pref",
                            format_func=lambda c: "全省通用（县市区不设下拉）" if not c else common[c]) or None
    for kind in registered:
        label = "下载空白报表模板" if len(registered) == 1 else f"下载{kind.label}模板"
        st.download_button(label, data=lambda kind=kind: kind.template(code), file_name=kind.template_name(code),
                           mime=export.XLSX_MIME, on_click="ignore", icon=":material/download:",
                           key="up_template" if kind is registered[0] else f"up_template_{kind.key}")


def results_block(done: list[uploads.Upload]) -> None:
    st.subheader("检查结果", anchor=False)
    counts = {status: sum(1 for u in done if u.result.status == status) for status, _ in SUMMARY}
    for col, (status, label) in zip(st.columns(len(SUMMARY)), SUMMARY):
        col.metric(label, counts[status], border=True)
    table = uploads.results_table(done)
    st.dataframe(table, hide_index=True, width="stretch", key="up_table", placeholder="—",
                 column_config={"文件": st.column_config.TextColumn("文件", width="medium")})
    with st.container(key="up_lines"):
        for u in done:
            r = u.result
            facts = "，".join(p for p in (
                reference.prefecture_name(r.prefecture_code) if r.prefecture_code else "",
                f"截至 {r.as_of.isoformat()}" if r.as_of else "",
                r.counted if r.status in ("accepted", "superseded") else "",
                f"{len(r.errors)} 条拒收原因" if r.errors else "", f"{len(r.warnings)} 条提示" if r.warnings else "")
                if p)
            st.markdown(f"{OUTCOME_ICONS[r.status]} **{md(r.file_name)}**：{uploads.STATUS_LABELS[r.status]}"
                        + (f"（{facts}）" if facts else ""))
    table = uploads.reasons_table(done)
    if table.height:
        n_errors, n_notes = sum(len(u.result.errors) for u in done), sum(len(u.result.warnings) for u in done)
        st.markdown(f"**原因与提示（{n_errors} 条拒收原因，{n_notes} 条提示）**")
        st.dataframe(table, hide_index=True, width="stretch", key="up_reasons",
                     height=min(38 + 35 * table.height, 600),
                     column_config={"内容": st.column_config.TextColumn("内容", width="large")})
        reasons.downloads(uploads.upload_reasons(done), None, "up")
    refused = [u for u in done if u.result.refused]
    if refused:
        st.error(f"{len(refused)} 个文件被拒收，未导入任何数据；请按上表原因修改后重新上传。")
    if any(u.saved_to for u in done):
        st.caption("已接收的文件原件已存档（data/uploads/<州市代码>/）。")


def main() -> None:
    st.title("报表上传", anchor=False)
    role = current_role()
    user = ui_auth.current_user()
    if not auth.may(role, auth.UPLOAD):
        st.error("本账号无权上传报表（仅州市项目组和管理员可以上传）")
        return
    try:
        db.check()
    except db.WarehouseDamaged as exc:  # nothing can be loaded into it; a missing warehouse is created by a load
        st.error(md(exc), icon=":material/error:")
        return
    except db.WarehouseMissing:
        pass
    expected = uploads.expected_prefecture(user)
    limit = safety.max_bytes()
    who = f"本账号只能上传{reference.prefecture_name(expected)}的报表；其他州市的文件会被拒收。" if expected else \
        "管理员可上传任何州市的报表。"
    st.caption(f"上传后立即按报送规范检查：全部合格才导入，有任何问题整份拒收并列出全部原因；同一文件重复上传记为重复，"
               f"同一州市同一截止日期的新文件替换先前版本。{who}")

    left, right = st.columns([3, 2], gap="large")
    with right:
        template_block(expected)
    with left:
        with st.form("up_form", clear_on_submit=True, border=True):
            files = st.file_uploader(
                f"选择报表文件（.xlsx / .xls / .et / .csv，可多选，单个文件不超过 {limit // 1024 // 1024} MB）",
                type=sorted(s.lstrip(".") for s in REPORT_SUFFIXES), accept_multiple_files=True, key="up_files",
                max_upload_size=max(1, limit // 1024 // 1024))
            go = st.form_submit_button("检查并导入", type="primary", icon=":material/fact_check:")
        if go:
            if not files:
                st.warning("请先选择要上传的报表文件")
            else:
                with st.spinner(f"正在检查 {len(files)} 个文件…"):
                    batch = [(f.name, f.getvalue()) for f in files]
                    try:
                        st.session_state[RESULTS] = uploads.handle(batch, db.db_path(), user=user,
                                                                   client=ui_auth.client())
                    except (WarehouseBusy, WarehouseDamaged, *DAMAGE) as exc:
                        st.error(md(exc if not isinstance(exc, DAMAGE) else WarehouseDamaged(db.db_path())))
    done = st.session_state.get(RESULTS)
    if done:
        results_block(done)


main()
