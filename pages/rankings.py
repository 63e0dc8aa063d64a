"""大擂台大比武: the weighted-index ranking of prefectures, counties or villages, and the judges' scores.

Layout and calls only: the index, the tables and the files come from hometown.rankings.index, hometown.rankings.scores and
hometown.export, so the table on screen is the frame the downloads write.
"""

from __future__ import annotations

from ui.guard import from_app; from_app()  # noqa: E702  first: a page renders only when app.py ran it (signed in)

from datetime import date

import streamlit as st

from geo import reference
from hometown import export, privacy
from hometown.access import audit, auth
from hometown.rankings import exports, scores
from hometown.rankings import index as rankings
from warehouse.scope import Filters
from ui import auth as ui_auth
from ui.common import current_role, current_scope, filters_from_url, run, url_params, warehouse_ready
from ui.text import md

LEVEL_OPTIONS = ("prefecture", "county", "village")
# Selectboxes show None as an empty placeholder, so "all" and "latest" are sentinel values, not None.
ALL_YEARS, PROVINCE, LATEST = 0, "", "latest"
COLUMN_FORMATS = {export.INT: "%d", export.PERCENT: "percent", export.DECIMAL: "localized", export.INDEX: "%.2f",
                  export.SCORE: "%.2f"}


def logged(fn, file_name: str, what: str):
    """A download's data callable that writes the audit row (who, which file) when the file is produced."""
    return audit.logged(fn, user=ui_auth.current_user(), target=file_name, detail=what, client=ui_auth.client())


def column_config(kinds: dict[str, str]) -> dict:
    out = {}
    for name, kind in kinds.items():
        if kind == export.TEXT:
            out[name] = st.column_config.TextColumn(name)
        else:
            out[name] = st.column_config.NumberColumn(name, format=COLUMN_FORMATS[kind])
    return out


def init_from_url(scope) -> None:
    """Widget values missing from the session (first visit, or back from another page) come from the URL."""
    filters = filters_from_url()
    qp = st.query_params
    defaults = {
        "rk_level": qp.get("level") if qp.get("level") in LEVEL_OPTIONS else "county",
        "rk_year": filters.task_year or ALL_YEARS,
        "rk_asof": filters.as_of.isoformat() if filters.as_of else LATEST,
        "rk_pref": qp["pref"] if qp.get("pref") and len(qp["pref"]) == 6 and scope.allows(qp["pref"]) else PROVINCE,
    }
    for key, value in defaults.items():
        st.session_state.setdefault(key, value)
    names = [p.name for p in rankings.presets(problems=[])]
    if st.session_state.get("rk_pending_preset") in names:
        # Just saved from this page: select it (its weights are the ones on screen already).
        st.session_state.rk_preset = st.session_state.pop("rk_pending_preset")
    if st.session_state.get("rk_preset") not in names:
        st.session_state.rk_preset = qp.get("preset") if qp.get("preset") in names else names[0]
    if any(f"rk_w_{n}" not in st.session_state for n in rankings.INDICATORS) or "rk_norm" not in st.session_state:
        apply_preset()


def apply_preset() -> None:
    p = next((p for p in rankings.presets(problems=[]) if p.name == st.session_state.rk_preset), None)
    if p is None:
        return
    for name, weight in p.weights:
        st.session_state[f"rk_w_{name}"] = float(weight)
    st.session_state.rk_norm = p.normalisation


def ranking_tab() -> None:
    scope = current_scope()
    init_from_url(scope)
    if "rk_flash" in st.session_state:
        st.toast(st.session_state.pop("rk_flash"), icon=":material/check_circle:")
    common = dict(reference.prefectures().select("code", "common_name").iter_rows())

    c_level, c_year, c_pref, c_date = st.columns([2, 1, 1, 1])
    with c_level:
        level = st.segmented_control("排名对象", LEVEL_OPTIONS, key="rk_level", required=True,
                                     format_func=lambda v: rankings.LEVELS[v].label)
    with c_year:
        years = run(rankings.task_years, scope)
        if st.session_state.rk_year not in years:
            st.session_state.rk_year = ALL_YEARS
        year = st.selectbox("任务年度", [ALL_YEARS, *years], key="rk_year",
                            format_func=lambda y: "全部年度" if y == ALL_YEARS else f"{y}年") or None
    with c_pref:
        prefs = [code for code in common if scope.allows(code)]
        if st.session_state.rk_pref not in prefs:
            st.session_state.rk_pref = PROVINCE
        pref = st.selectbox("州市", [PROVINCE, *prefs], key="rk_pref", disabled=bool(scope.county_code),
                            format_func=lambda c: (("全省" if scope.top_code == "530000" else "全部")
                                                   if c == PROVINCE else common[c])) or None
    with c_date:
        dates = run(rankings.reporting_dates, Filters(year), scope, pref)
        options = [LATEST, *(d.isoformat() for d in dates)]
        if st.session_state.rk_asof not in options:
            options.append(st.session_state.rk_asof)  # a deep-linked date between two reports
        as_of = st.selectbox("截至日期", options, key="rk_asof",
                             format_func=lambda d: "最新报送" if d == LATEST else d)
    filters = Filters(year, None if as_of == LATEST else date.fromisoformat(as_of))
    st.query_params.from_dict(url_params(filters, level=level, pref=pref, preset=st.session_state.rk_preset))

    with st.container(border=True):
        c_preset, c_norm, c_save = st.columns([2, 2, 1], vertical_alignment="bottom")
        problems: list[str] = []
        preset_list = rankings.presets(problems=problems)
        for problem in problems:
            st.warning(f"用户保存的权重方案未能读取，已忽略：{md(problem)}")
        with c_preset:
            st.selectbox("权重方案", [p.name for p in preset_list], key="rk_preset", on_change=apply_preset,
                         help="选择方案会把下方权重和标准化方法设为该方案的值；修改权重后即为自定义")
        with c_norm:
            norm = st.radio("标准化方法", list(rankings.NORMALISATIONS), key="rk_norm", horizontal=True,
                            format_func=rankings.NORMALISATIONS.get,
                            help="最小-最大：按最大值、最小值折算为0～1；百分位：按名次位置折算为0～1")
        cols = st.columns(4)
        weights = {}
        for i, name in enumerate(rankings.INDICATORS):
            with cols[i % 4]:
                weights[name] = st.number_input(rankings.label(name), min_value=0.0, max_value=1000.0, step=1.0,
                                                key=f"rk_w_{name}", format="%g")
        chosen = next(p for p in preset_list if p.name == st.session_state.rk_preset)
        same = dict(chosen.weights) == weights and chosen.normalisation == norm
        preset_name = chosen.name if same else f"自定义（基于“{chosen.name}”）"
        with c_save:
            with st.popover("保存为新方案", width="stretch"):
                new_name = st.text_input("方案名称", max_chars=30, key="rk_new_name")
                new_desc = st.text_input("说明（选填）", key="rk_new_desc")
                if st.button("保存", type="primary", key="rk_save"):
                    try:
                        saved = rankings.save_preset(new_name, weights, norm, new_desc)
                    except rankings.RankingError as exc:
                        st.error(md(exc))
                    else:
                        st.session_state.rk_pending_preset = saved.name
                        st.session_state.rk_flash = f"已保存权重方案“{md(saved.name)}”"
                        st.rerun()

    try:
        r = run(rankings.rank, level, tuple(weights.items()), norm, filters, scope, pref)
    except rankings.RankingError as exc:
        st.error(md(exc))
        return
    table = rankings.table(r)
    if table.height == 0:
        st.info("所选范围和日期没有已接收的报送数据。")
        return

    as_of_text = r.as_of.isoformat() if r.as_of else "—"
    prev_text = r.previous_as_of.isoformat() if r.previous_as_of else "无上期数据"
    st.caption(f"数据截至 {as_of_text}；排名变化对比 {prev_text}；{rankings.NORMALISATIONS[norm]}；"
               f"{rankings.INDEX_FORMULA}；{rankings.TIE_RULE}。权重方案：{md(preset_name)}")

    names = [c for _, c in rankings.LEVELS[level].name_columns][1:] or ["州市"]
    podium = st.columns(3)
    for i, row in enumerate(table.head(3).iter_rows(named=True)):
        with podium[i]:
            change = r.frame["rank_change"][i]
            st.metric(f"第{row['排名']}名 · 综合指数 {row['综合指数']:.2f}", md(" ".join(row[c] or "" for c in names)),
                      delta=int(change) if change else None, delta_description="名（较上期）" if change else None)

    st.dataframe(table, hide_index=True, width="stretch", placeholder="—", column_config=column_config(
        rankings.column_kinds(level)), height=min(38 + 35 * table.height, 700), key="rk_table")

    d1, d2, _ = st.columns([1, 1, 4])
    if not auth.may(current_role(), auth.EXPORT):
        d1.caption("导出文件需分析员或管理员账号")
    else:
        what = f"{rankings.title(r)}；权重方案 {preset_name}"
        with d1:
            st.download_button("下载Excel", data=logged(lambda: exports.ranking_xlsx(r, preset_name),
                                                       exports.ranking_file_name(r, "xlsx"), what),
                               file_name=exports.ranking_file_name(r, "xlsx"), mime=export.XLSX_MIME,
                               on_click="ignore", icon=":material/download:", key="rk_xlsx")
        with d2:
            st.download_button("下载CSV", data=logged(lambda: exports.ranking_csv(r), exports.ranking_file_name(r, "csv"),
                                                     what),
                               file_name=exports.ranking_file_name(r, "csv"), mime=export.CSV_MIME, on_click="ignore",
                               icon=":material/download:", key="rk_csv")
    with st.expander("排名方法说明"):
        for item, text in rankings.method_notes(r, preset_name):
            st.markdown(f"**{md(item)}**：{md(text)}")


def scores_tab() -> None:
    role = current_role()
    st.markdown("评委按模板填写评分表（每位评委对每个参赛规划一行），上传后自动计分、排名，确定获奖和末位规划。")
    c1, c2, c3, c4 = st.columns([1, 1, 1, 2], vertical_alignment="bottom")
    with c1:
        awards = st.number_input("获奖名额", min_value=0, max_value=500, value=scores.DEFAULT_AWARDS, step=1,
                                 key="sc_awards", help="红河州“大擂台大比武”奖励前13名")
    with c2:
        laggards = st.number_input("末位通报名额", min_value=0, max_value=500, value=scores.DEFAULT_LAGGARDS,
                                   step=1, key="sc_laggards")
    with c3:
        max_score = st.number_input("满分", min_value=1.0, max_value=1000.0, value=scores.DEFAULT_MAX_SCORE,
                                    step=10.0, key="sc_max", format="%g")
    with c4:
        st.download_button("下载评分表模板", data=lambda: scores.template_xlsx(max_score=max_score),
                           file_name="大擂台大比武_评委评分表模板.xlsx", mime=export.XLSX_MIME, on_click="ignore",
                           icon=":material/download:", key="sc_template")
    upload = st.file_uploader("上传评委评分表", type=["xlsx", "xls", "csv"], key="sc_upload")
    if upload is None:
        st.caption(f"计分规则：评委达到{scores.DROP_FROM_JUDGES}位及以上时去掉一个最高分和一个最低分后取平均，"
                   "不足时直接取平均；保留两位小数；得分相同名次并列。")
        return
    try:
        sheet = scores.read_scores(upload.getvalue(), upload.name, max_score, role)
    except scores.ScoresError as exc:
        st.error(f"评分表未能读取，共 {len(exc.errors)} 处问题，请修改后重新上传：\n\n"
                 + "\n".join(f"- {md(e)}" for e in exc.errors))
        return
    for w in sheet.warnings:
        st.warning(md(w))
    result = scores.results(sheet, int(awards), int(laggards))
    table = scores.results_table(result)
    n_awarded = (result["outcome"] == scores.AWARDED).sum()
    n_laggards = (result["outcome"] == scores.LAGGARD).sum()
    st.success(f"{md(sheet.file_name)}：{result.height} 个参赛规划，{len(sheet.judges)} 位评委；"
               f"获奖 {n_awarded} 个，末位 {n_laggards} 个。")
    st.dataframe(table, hide_index=True, width="stretch", placeholder="—", height=min(38 + 35 * table.height, 800),
                 column_config=column_config(scores.results_kinds(result)), key="sc_table")
    name_note = "" if privacy.may_see_names(role) else "（评委姓名已脱敏）"
    with st.expander(f"各评委评分明细{name_note}"):
        st.dataframe(scores.detail_table(sheet, role), hide_index=True, width="stretch")
    d1, d2, _ = st.columns([1, 1, 4])
    if not auth.may(role, auth.EXPORT):
        d1.caption("导出文件需分析员或管理员账号")
        return
    what = f"评审结果：{sheet.file_name}（评委姓名{'完整' if privacy.may_see_names(role) else '已脱敏'}）"
    with d1:
        st.download_button("下载评审结果Excel", data=logged(lambda: scores.results_xlsx(sheet, result, int(awards),
                                                                                  int(laggards), role),
                                                       "大擂台大比武_评审结果.xlsx", what),
                           file_name="大擂台大比武_评审结果.xlsx", mime=export.XLSX_MIME, on_click="ignore",
                           icon=":material/download:", key="sc_xlsx")
    with d2:
        st.download_button("下载评审结果CSV", data=logged(lambda: export.csv_bytes(table), "大擂台大比武_评审结果.csv", what),
                           file_name="大擂台大比武_评审结果.csv", mime=export.CSV_MIME, on_click="ignore",
                           icon=":material/download:", key="sc_csv")


st.title("大擂台大比武")
tab_rank, tab_scores = st.tabs(["综合指数排名", "评委评分"])
with tab_rank:
    if warehouse_ready():
        ranking_tab()
with tab_scores:
    scores_tab()
