"""调度简报: drafts waiting to be issued, the preview of a briefing's text before it is issued, the issue button, and
the issued briefings (第N期) with their Word and PDF files.

Layout and calls only: figures and sentences come from hometown.briefs (model, writer), the record and the numbers
from hometown.briefs.store. The region and the date live in the URL (?code=532500&asof=2022-06-30); a region
outside the user's scope is refused (and audited), whatever the route. Downloads go through the audit log.
"""

from __future__ import annotations

from ui.guard import from_app; from_app()  # noqa: E702  first: a page renders only when app.py ran it (signed in)

import json
from datetime import date

import polars as pl
import streamlit as st

from hometown import briefs
from hometown.access import audit
from hometown.briefs import model as brief_model
from hometown.briefs import store, writer
from hometown.fonts import FontMissing
from ui import auth as ui_auth
from ui.common import block as cached_block, current_role, current_scope, run, warehouse_ready
from ui.nav import BRIEFS_PAGE
from ui.text import md
from warehouse import db
from warehouse.scope import OutOfScope

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF_MIME = "application/pdf"
NO_RIGHT = "本账号为只读角色，不能印发简报（管理员、州市项目组可印发本辖区简报，县级专班可印发本县简报）"


# Built once per warehouse version (ui.common.block) and, for the record's reads, per version of the briefs file.
def _drafts(scope, record_version: str):
    return store.drafts(scope)


def _issued(scope, code, record_version: str):
    return store.issued(scope, code)


def _voided(scope, record_version: str):
    return store.voided(scope)


def _draft(code: str, as_of: date, scope, orders_key: str, today: date):
    """The preview's model and text: its key holds the orders section as it is now (the app's own records change
    without a new warehouse) and the day (the latest round's orders period ends today)."""
    model = brief_model.build(code, as_of, scope)
    doc = writer.compose(model, None)
    # Charts at their shown size and tables as Arrow, once: a rerun hands them to Streamlit as they are.
    shown = {i: _shown_png(b.image) for i, b in enumerate(doc.blocks) if b.kind == "chart"}
    shown |= {i: pl.DataFrame(b.rows, schema=b.header, orient="row").to_arrow()
              for i, b in enumerate(doc.blocks) if b.kind == "table"}
    return model, doc, shown


CHART_WIDTH = 640


def _shown_png(png: bytes) -> bytes:
    """A chart at the width the preview shows it, as st.image would scale it (bilinear), so a rerun does not."""
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(png))
    if image.width <= CHART_WIDTH:
        return png
    out = io.BytesIO()
    image.resize((CHART_WIDTH, int(image.height * CHART_WIDTH / image.width)), resample=Image.BILINEAR).save(
        out, format="PNG")
    return out.getvalue()


def logged(fn, target: str, detail: str, client: str | None):
    """A download's data callable recorded in the audit log when produced (``client``: ui.auth.client(), read once
    per run by ``main``)."""
    return audit.logged(fn, user=ui_auth.current_user(), target=target, detail=detail, client=client)


def _open(code: str, as_of) -> None:
    st.query_params.from_dict({"code": code, **({"asof": str(as_of)} if as_of else {})})


def _dismiss(code: str, as_of, scope, role) -> None:
    by = ui_auth.signed_in_actor() or "调度平台"
    try:
        store.dismiss(code, as_of, by, scope, briefs.may_issue(role, scope, code))
        audit.record("brief", user=ui_auth.current_user(), target=f"{code} 截至{as_of}", detail="撤销简报草稿",
                     client=ui_auth.client())
    except (OutOfScope, PermissionError) as exc:
        st.session_state["br_notice_error"] = str(exc)


def drafts_block(scope, role, record: str) -> None:
    error = st.session_state.pop("br_notice_error", None)
    if error:
        st.error(error)
    waiting = cached_block(_drafts, scope, record)
    st.subheader(f"待印发草稿（{waiting.height}）", anchor=False)
    if waiting.height == 0:
        st.caption("没有待印发的草稿。新一期报表导入后，全省和各州市的简报草稿会自动生成。")
        return
    # One row a draft: a horizontal box (not columns: one block instead of four) with its preview as a link (no
    # widget to register) and the dismiss button; /briefs' warm rerun was over its 40 ms with 20 rows of columns.
    for i, row in enumerate(waiting.head(20).iter_rows(named=True)):
        with st.container(horizontal=True, vertical_alignment="center", gap="small", key=f"br_draft_row_{i}"):
            st.markdown(f"**{row['scope_name']}** · 截至 {row['as_of']:%Y-%m-%d} · {row['drafted_by']}生成于 "
                        f"{row['drafted_at']:%Y-%m-%d %H:%M}", width="stretch")
            st.page_link(BRIEFS_PAGE, label="预览", icon=":material/visibility:", width="content",
                         query_params={"code": row["scope_code"], "asof": str(row["as_of"])})
            st.button("撤销", key=f"br_dismiss_{i}", on_click=_dismiss,
                      args=(row["scope_code"], row["as_of"], scope, role),
                      disabled=not briefs.may_issue(role, scope, row["scope_code"]), help="本期不印发简报，撤销此草稿")


def pick_region(scope, regions: list[tuple[str, str]]) -> str | None:
    """The region from ?code=, refused (and audited) when outside the scope."""
    code = st.query_params.get("code") or scope.top_code
    names = dict(regions)
    if code not in names:
        try:
            brief_model.subject(code, scope)
        except OutOfScope as exc:
            st.error(str(exc))
            ui_auth.denied(code, f"调度简报：{exc}（{st.query_params.to_dict()}）")
            return None
        except ValueError as exc:
            st.error(str(exc))
            return None
    codes = [c for c, _ in regions]
    chosen = st.selectbox("地区", codes, index=codes.index(code), format_func=lambda c: f"{names[c]}（{c}）",
                          key=f"br_region_{code}")
    if chosen != code:
        _open(chosen, None)
        st.rerun()
    return code


def preview_block(scope, role, code: str, record: str, client: str | None) -> None:
    subj = run(brief_model.subject, code, scope)
    rounds = run(brief_model.reporting_dates, subj)
    if not rounds:
        st.info(f"{subj.name}尚无已受理的报表，无法生成简报。")
        return
    asked = st.query_params.get("asof")
    try:
        as_of = date.fromisoformat(asked) if asked else rounds[-1]
    except ValueError:
        as_of = rounds[-1]
    options = sorted(set(rounds) | {as_of}, reverse=True)
    picked = st.selectbox("截至日期（报送期次）", options, index=options.index(as_of), format_func=writer.cn_date,
                          key=f"br_asof_{code}_{as_of}")
    if picked != as_of:
        _open(code, picked)
        st.rerun()
    try:
        orders_now = brief_model.orders_in_period(code, as_of, scope, rounds=rounds)
        model, doc, shown = cached_block(_draft, code, as_of, scope, json.dumps(orders_now, sort_keys=True), date.today())
    except (brief_model.BriefError, FontMissing) as exc:
        st.error(str(exc))
        return

    st.subheader(f"预览：{doc.title}（截至{writer.cn_date(as_of)}）", anchor=False)
    done = cached_block(_issued, scope, code, record)
    same = done.filter(pl.col("as_of") == as_of) if done.height else done
    if same.height:
        st.warning(f"本期已印发为第{same['number'][0]}期（{same['issued_by'][0]}，{same['issued_at'][0]:%Y-%m-%d %H:%M}）；"
                   "再次印发将另编新的期号。")
    with st.container(border=True, key="br_preview"):
        st.markdown(f"**{doc.title}** · {doc.number_text} · {doc.office}")
        for i, block in enumerate(doc.blocks):
            if block.kind == "heading":
                st.markdown(f"##### {block.text}")
            elif block.kind == "para":
                st.markdown(block.text)
            elif block.kind == "note":
                st.caption(block.text)
            elif block.kind == "chart":
                st.image(shown[i], caption=block.text, width=CHART_WIDTH)
            elif block.kind == "table":
                st.markdown(f"**{block.text}**")
                st.dataframe(shown[i], hide_index=True, key="br_table")
    target = f"{subj.name}调度简报（征求意见稿）截至{as_of}"
    d1, d2, _ = st.columns([1, 1, 3])
    with d1:
        st.download_button("下载征求意见稿（Word）", data=logged(lambda: briefs.documents(model)[0], target + ".docx",
                                                         "简报草稿", client),
                           file_name=f"{subj.name}调度简报_征求意见稿_{as_of:%Y%m%d}.docx", mime=DOCX_MIME,
                           on_click="ignore", icon=":material/download:", key="br_draft_docx")
    with d2:
        st.download_button("下载征求意见稿（PDF）", data=logged(lambda: briefs.documents(model)[1], target + ".pdf",
                                                        "简报草稿", client),
                           file_name=f"{subj.name}调度简报_征求意见稿_{as_of:%Y%m%d}.pdf", mime=PDF_MIME,
                           on_click="ignore", icon=":material/download:", key="br_draft_pdf")
    issue_form(scope, role, model, subj, record)


def issue_form(scope, role, model: dict, subj, record: str) -> None:
    allowed = briefs.may_issue(role, scope, subj.code)
    st.markdown("##### 印发")
    notice = st.session_state.pop("br_notice", None)
    if notice:
        st.success(notice)
    if not allowed:
        st.caption(NO_RIGHT)
    done = cached_block(_issued, scope, subj.code, record)
    next_number = int(done["number"].max()) + 1 if done.height else 1
    with st.form("br_issue", border=True):
        c1, c2 = st.columns(2)
        office = c1.text_input("印发单位", value=writer.default_office(model), key="br_office", disabled=not allowed)
        me = ui_auth.signed_in_actor()
        # Signed in: the user, not editable; the open app (no sign-in): the office until someone types a name.
        issued_by = c2.text_input("签发人", value=me or writer.default_office(model), key="br_by",
                                  disabled=not allowed or bool(me))
        pressed = st.form_submit_button(f"印发第{next_number}期", type="primary", disabled=not allowed,
                                        icon=":material/send:")
    if not pressed:
        return
    target = f"{subj.name}调度简报 截至{model['as_of']}"
    model = brief_model.build(subj.code, date.fromisoformat(model["as_of"]), scope)  # issued as computed now
    drafted = store.drafts(scope)
    from_draft = bool(drafted.height and drafted.filter((pl.col("scope_code") == subj.code)
                                                       & (pl.col("as_of") == date.fromisoformat(model["as_of"]))).height)
    try:
        row = store.issue(model, issued_by=me or issued_by, office=office, viewer=scope, may_issue=allowed,
                          from_draft=from_draft)
    except (OutOfScope, PermissionError) as exc:
        st.error(str(exc))
        audit.record("denied", user=ui_auth.current_user(), target=target, outcome="refused", detail=str(exc),
                     client=ui_auth.client())
        return
    except (ValueError, FontMissing) as exc:
        st.error(str(exc))
        return
    audit.record("brief", user=ui_auth.current_user(), target=f"{target} 第{row['number']}期",
                 detail=f"{row['office']}；签发人 {me or issued_by}", client=ui_auth.client())
    # Rerun so the issued list (drawn before this form in the same run) and the next number show it at once.
    st.session_state["br_notice"] = f"已印发：{row['title']} 第{row['number']}期"
    st.rerun()


def issued_block(scope, record: str, client: str | None, names: dict[str, str]) -> None:
    done = cached_block(_issued, scope, None, record)
    st.subheader(f"已印发简报（{done.height}）", anchor=False)
    void_block(cached_block(_voided, scope, record), names)
    if done.height == 0:
        st.caption("尚未印发简报。")
        return
    table = done.select(pl.col("scope_name").alias("地区"), pl.format("第{}期", pl.col("number")).alias("期号"),
                        pl.col("as_of").cast(pl.Utf8).alias("数据截至"), pl.col("office").alias("印发单位"),
                        pl.col("issued_by").alias("签发人"),
                        pl.col("issued_at").dt.strftime("%Y-%m-%d %H:%M").alias("印发时间"))
    st.dataframe(table, hide_index=True, key="br_issued_table")
    keys = [(r["scope_code"], r["number"]) for r in done.iter_rows(named=True)]
    labels = {(r["scope_code"], r["number"]): f"{r['scope_name']} 第{r['number']}期（截至{r['as_of']:%Y-%m-%d}）"
              for r in done.iter_rows(named=True)}
    pick = st.selectbox("下载", keys, format_func=labels.get, key="br_pick")
    row = done.filter((pl.col("scope_code") == pick[0]) & (pl.col("number") == pick[1])).row(0, named=True)
    d1, d2, _ = st.columns([1, 1, 3])
    for col, kind, mime, label in ((d1, "docx", DOCX_MIME, "下载Word"), (d2, "pdf", PDF_MIME, "下载PDF")):
        name = store.file_name(row, kind)
        with col:
            st.download_button(label, data=logged(lambda k=kind: store.document(pick[0], pick[1], k, scope), name,
                                                  f"已印发简报 {labels[pick]}", client),
                               file_name=name, mime=mime, on_click="ignore", icon=":material/download:",
                               key=f"br_dl_{kind}")


def void_block(voids: pl.DataFrame, names: dict[str, str]) -> None:
    """The numbers of a series that were taken but never issued (a failed or abandoned issue), with the reason: the
    series stays auditable where it is read."""
    if voids.height == 0:
        return
    lines = [f"{names.get(r['scope_code'], r['scope_code'])} 第{r['number']}期（{r['reserved_by']}取号，"
             f"{r['closed_at']:%Y-%m-%d %H:%M}作废）：{r['reason']}" for r in voids.iter_rows(named=True)]
    st.caption("作废期号：" + "；".join(md(line) for line in lines))


def main() -> None:
    scope, role = current_scope(), current_role()
    st.title("调度简报", anchor=False)
    st.caption("按报送期次自动生成的调度简报：预览文字后编号印发（第N期），存档并提供 Word、PDF 下载。"
               "每期的数字均取自数据仓库，与一屏知全局、调度督办一致。")
    synced = f"br_synced_{db.version()}"
    if not st.session_state.get(synced):  # once per warehouse version and session: a new load brings new drafts
        try:
            briefs.sync_drafts(scope)
            st.session_state[synced] = True
        except Exception as exc:  # a draft that cannot be made must not hide the page
            st.warning(f"自动生成简报草稿未完成：{exc}")
    regions = run(briefs.regions, scope)
    record = store.version()  # the briefs record's state, read once a run (a query of the app store)
    client = ui_auth.client()
    left, right = st.columns([3, 2], gap="large")
    with right:
        drafts_block(scope, role, record)
        issued_block(scope, record, client, dict(regions))
    with left:
        code = pick_region(scope, regions)
        if code:
            preview_block(scope, role, code, record, client)


if warehouse_ready():
    main()
