"""调度简报 (hometown.briefs): the documents read back (python-docx, pypdf) carry the warehouse's figures for the
scope and date, computed here independently in SQL; the change since the previous round across a correction and a
late prefecture; scope; numbering under concurrent issues; identical reproduction; the CLI; optional sections.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import threading
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from docx import Document as read_docx
from pypdf import PdfReader

from reportfiles import simple_report, three_villages, village, write_report, load_one

from hometown.access import auth
from hometown.briefs import documents, may_issue
from hometown import fonts
from hometown.briefs import model as brief_model, store, writer
from warehouse import db
from warehouse.metrics import COMPLETED_STATUS_SQL
from warehouse.scope import ALL, OutOfScope, Scope

REPO = Path(__file__).resolve().parent.parent
HONGHE, MILE, LUXI = "532500", "532504", "532527"
NOW = datetime(2026, 12, 4, 9, 30)


@pytest.fixture
def warehouse(demo_db, monkeypatch, tmp_path):
    monkeypatch.setenv(db.ENV_VAR, str(demo_db))
    monkeypatch.setenv(store.ENV_VAR, str(tmp_path / "app.sqlite3"))
    yield demo_db
    db.close_all()


def squash(text: str) -> str:
    return re.sub(r"[\s\x00]+", "", text)


def docx_text(data: bytes) -> tuple[str, list[list[list[str]]]]:
    d = read_docx(io.BytesIO(data))
    paras = "\n".join(p.text for p in d.paragraphs)
    header = "\n".join(p.text for s in d.sections for p in s.header.paragraphs)
    tables = [[[c.text for c in row.cells] for row in t.rows] for t in d.tables]
    return header + "\n" + paras, tables


def pdf_lines(data: bytes) -> list[str]:
    """The PDF's lines laid out as printed (pdftotext -layout): a table row is one line, a long name may wrap."""
    run = subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True,
                         timeout=60)
    return [squash(line) for line in run.stdout.decode("utf-8").splitlines()]


def pdf_text(data: bytes) -> str:
    """The PDF's text layer as poppler's pdftotext reads it (Debian poppler-utils, `make sysdeps`): pypdf 7.1 splits
    fpdf2's two-byte CID codes above 0x00FF into two one-byte codes and prints wrong characters (说 → 第南)."""
    run = subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True, timeout=60)
    assert run.returncode == 0, run.stderr.decode("utf-8", "replace")
    return run.stdout.decode("utf-8")


# ------------------------------------------------------------------------------------- independent figures


def in_force(con, as_of: date, prefecture: str | None = None) -> str:
    """SQL of the village rows in force at a date (each prefecture's latest accepted report on or before it)."""
    where = f"AND prefecture_code = '{prefecture}'" if prefecture else ""
    return f"""
        SELECT v.* FROM village_history v JOIN (
            SELECT report_id FROM reports WHERE status = 'accepted' AND as_of <= DATE '{as_of}' {where}
            QUALIFY row_number() OVER (PARTITION BY prefecture_code ORDER BY as_of DESC, report_id DESC) = 1
        ) r USING (report_id)"""


def figures(path: Path, as_of: date, prefecture: str | None = None, group: str | None = None) -> list[dict]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        key = f"{group}, " if group else ""
        rows = con.execute(f"""
            SELECT {key} count(*) AS villages,
                   count(*) FILTER (WHERE plan_status IN {COMPLETED_STATUS_SQL}) AS completed,
                   count(*) FILTER (WHERE plan_status = '已入库') AS in_db,
                   sum(cadre_visits) AS visits, sum(needs_total) AS needs, sum(needs_adopted) AS adopted,
                   sum(funding_wan) AS funding
            FROM ({in_force(con, as_of, prefecture)}) v {'GROUP BY ' + group if group else ''}""").fetchall()
        cols = ([group] if group else []) + ["villages", "completed", "in_db", "visits", "needs", "adopted", "funding"]
        return [dict(zip(cols, r)) for r in rows]
    finally:
        con.close()


def rounds(path: Path, prefecture: str | None = None) -> list[date]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        where = f"AND prefecture_code = '{prefecture}'" if prefecture else ""
        total = con.execute(f"SELECT count(DISTINCT prefecture_code) FROM reports WHERE status='accepted' {where}"
                            ).fetchall()[0][0]
        dates = [d for d, n in con.execute(
            f"SELECT as_of, count(DISTINCT prefecture_code) FROM reports WHERE status='accepted' {where} "
            "GROUP BY 1 ORDER BY 1").fetchall() if n * 2 >= total]
    finally:
        con.close()
    out: list[date] = []
    for d in dates:
        if out and (d - out[-1]).days < 20:
            out[-1] = d
        else:
            out.append(d)
    return out


def pct(n, d) -> str:
    return f"{n / d * 100:.1f}%"


def change(now: float, before: float) -> str:
    x = round((now - before) * 100, 1)
    return f"提高{x:.1f}个百分点" if x > 0 else (f"下降{-x:.1f}个百分点" if x < 0 else "持平")


def headline(f: dict, label: str, as_of: date) -> str:
    return (f"截至{as_of.year}年{as_of.month}月{as_of.day}日，{label}{f['villages']:,}个任务村中已有"
            f"{f['completed']:,}个完成规划成果，完成率{pct(f['completed'], f['villages'])}")


# ---------------------------------------------------------------------------------------------- the documents


@pytest.mark.parametrize("code, as_of", [("530000", date(2022, 6, 30)), (HONGHE, date(2022, 12, 31))])
def test_docx_and_pdf_carry_the_warehouse_figures(warehouse, code, as_of):
    prefecture = None if code == "530000" else code
    label = "全省" if code == "530000" else "全州"
    previous = max(d for d in rounds(warehouse, prefecture) if d < as_of)
    now, before = figures(warehouse, as_of, prefecture)[0], figures(warehouse, previous, prefecture)[0]
    m = brief_model.build(code, as_of, now=NOW)
    assert m["previous_as_of"] == previous.isoformat()
    docx, pdf = documents(m, 7, issued_at=NOW)
    text, tables = docx_text(docx)
    ptext = squash(pdf_text(pdf))
    lines = pdf_lines(pdf)

    first = (headline(now, label, as_of) + f"，较上期（{previous.year}年{previous.month}月{previous.day}日）"
             + change(now["completed"] / now["villages"], before["completed"] / before["villages"])
             + f"；成果入库{now['in_db']:,}个，入库率{pct(now['in_db'], now['villages'])}，"
             + change(now["in_db"] / now["villages"], before["in_db"] / before["villages"]) + "。")
    assert first in text
    assert squash(first) in ptext
    needs = (f"收集群众需求{now['needs']:,}条，纳入规划{now['adopted']:,}条，需求纳入率"
             f"{pct(now['adopted'], now['needs'])}")
    assert needs in text and squash(needs) in ptext
    diff = now["visits"] - before["visits"]
    visits = f"干部回乡{now['visits']:,}人次，{'增加' if diff > 0 else '减少'}{abs(diff):,}人次"
    assert visits in text and squash(visits) in ptext
    assert "第7期" in text and "第7期" in ptext

    # The closing table: one row per child region, every figure the warehouse's.
    group = "prefecture_code" if code == "530000" else "county_code"
    children = {r[group]: r for r in figures(warehouse, as_of, prefecture, group)}
    (table,) = tables
    assert table[0] == writer.TABLE_HEADER
    names = {c["code"]: c["name"] for c in m["children"]}
    by_name = {row[2]: row for row in table[1:]}
    assert len(table) - 1 == len(m["children"]) and set(by_name) == set(names.values())
    for child_code, f in children.items():
        row = by_name[names[child_code]]
        assert row[4:9] == [f"{f['villages']:,}", f"{f['completed']:,}", pct(f["completed"], f["villages"]),
                            f"{f['in_db']:,}", pct(f["in_db"], f["villages"])], names[child_code]
        assert row[9] == f"{f['visits']:,}" and row[10] == f"{f['needs']:,}"
        assert row[12] == f"{f['funding']:,.1f}"
        # In the PDF: the row's line has its rank, change, the start of the name and every figure, in order.
        assert any(line.startswith(squash("".join(row[:2]) + row[2][:3])) and squash("".join(row[3:])) in line
                   for line in lines), row
    # Ranks are by completion rate, highest first (ties share a rank).
    rates = [(int(r[0]), children[next(c for c, n in names.items() if n == r[2])]) for r in table[1:] if r[0] != "—"]
    for (r1, f1), (r2, f2) in zip(rates, rates[1:]):
        assert f1["completed"] / f1["villages"] >= f2["completed"] / f2["villages"]
        assert r1 <= r2


def test_pdf_has_every_character_in_its_embedded_cjk_fonts(warehouse):
    m = brief_model.build("530000", None, now=NOW)
    doc = writer.compose(m, 1, issued_on=NOW)
    _, pdf = documents(m, 1, issued_at=NOW)
    reader = PdfReader(io.BytesIO(pdf))
    text = pdf_text(pdf)
    assert "\ufffd" not in text and "□" not in text
    # Every sentence of the document is in the PDF's text layer, in the order written (page headers and page
    # numbers taken out: a paragraph may run across a page break).
    flowing = squash(text).replace(squash(f"{doc.title}{doc.number_text}{doc.office}"), "")
    flowing = re.sub(r"—\d+—", "", flowing)
    at = 0
    for block in doc.blocks:
        if block.kind in ("para", "heading", "note"):
            found = flowing.find(squash(block.text), at)
            assert found >= 0, block.text
            at = found
    # The fonts embedded are the CJK faces found, subset with one glyph program per character code the text uses
    # (the ToUnicode map's codes): a code without a glyph would print as a box.
    from fontTools.cffLib import CFFFontSet

    body, head = fonts.faces()
    embedded = {}
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            cff = CFFFontSet()
            cff.decompile(io.BytesIO(descriptor["/FontFile3"].get_object().get_data()), None)
            glyphs = cff[cff.fontNames[0]].charset
            to_unicode = font["/ToUnicode"].get_object().get_data().decode("latin-1")
            codes = re.findall(r"^<([0-9A-F]{4})> <([0-9A-F]{4,})>$", to_unicode, re.M)
            mapped = {chr(int(u, 16)) for c, u in codes if int(c, 16)}   # code 0 is .notdef
            assert len(glyphs) - 1 >= len(mapped)        # .notdef plus one glyph per character
            embedded[str(font["/BaseFont"]).split("+")[-1]] = mapped
    assert embedded and all(any(name.startswith(re.sub(r"\W", "", f.family)) for f in (body, head))
                            for name in embedded), embedded
    assert {c for c in squash(text)} <= set().union(*embedded.values())
    assert fonts.missing_glyphs(text, body) == set()
    assert fonts.missing_glyphs(text, head) == set()


def test_a_missing_glyph_is_refused_not_printed_as_a_box(warehouse):
    m = brief_model.build(MILE, None, now=NOW)
    m["scope_name"] = "弥勒市\U0001F600"  # an emoji: no CJK face has it
    doc = writer.compose(m, None, charts={})
    from hometown.briefs import render_pdf

    with pytest.raises(fonts.FontMissing, match="缺少以下字符的字形"):
        render_pdf.render(doc)


def test_no_font_gives_a_chinese_error(monkeypatch):
    monkeypatch.setattr(fonts, "BODY_CANDIDATES", (("/nonexistent/font.ttc", None),))
    monkeypatch.delenv(fonts.ENV_BODY, raising=False)
    fonts._cached.cache_clear()
    try:
        with pytest.raises(fonts.FontMissing, match="fonts-noto-cjk"):
            fonts.faces()
    finally:
        fonts._cached.cache_clear()


# ------------------------------------------------------------------------------- correction and a late prefecture


def honghe(folder: Path, day: date, name: str | None = None, **changes) -> Path:
    rows = three_villages()
    if changes:
        rows[0] = village(township="西三镇", village="花口村", **changes)
    return write_report(folder / (name or f"红河州_{day:%Y%m%d}.xlsx"),
                        simple_report(rows, as_of=f"截至{day.year}年{day.month}月{day.day}日"))


def yuxi(folder: Path, day: date) -> Path:
    rows = [village(prefecture="玉溪市", county="红塔区", township="玉兴街道", village="荷花社区")]
    return write_report(folder / f"玉溪市_{day:%Y%m%d}.xlsx",
                        simple_report(rows, title="玉溪市干部规划家乡行动工作进度统计表",
                                      as_of=f"截至{day.year}年{day.month}月{day.day}日"))


def test_change_since_last_across_a_correction_and_a_late_prefecture(tmp_path, monkeypatch):
    wh, files = tmp_path / "warehouse.duckdb", tmp_path / "files"
    files.mkdir()
    monkeypatch.setenv(db.ENV_VAR, str(wh))
    monkeypatch.setenv(store.ENV_VAR, str(tmp_path / "app.sqlite3"))
    march, june = date(2022, 3, 31), date(2022, 6, 30)
    assert load_one(wh, honghe(files, march)).status == "accepted"
    assert load_one(wh, yuxi(files, march)).status == "accepted"
    done = dict(stage=5, steps=18, status="成果完成")
    assert load_one(wh, honghe(files, june, **done)).status == "accepted"   # 玉溪市 sends nothing for June: late
    try:
        first = store.issue(brief_model.build("530000", march, now=NOW), issued_by="省专班", now=NOW, charts={})
        assert first["number"] == 1
        # The March report of 红河州 is corrected: 花口村 had already completed its plan then.
        assert load_one(wh, honghe(files, march, name="红河州_20220331_更正.xlsx", **done)).status == "superseded"
        db.close_all()

        now, before = figures(wh, june)[0], figures(wh, march)[0]
        assert (now["completed"], before["completed"]) == (2, 2)      # independently: the correction counts
        m = brief_model.build("530000", june, now=NOW)
        assert m["previous_as_of"] == march.isoformat()
        row = store.issue(m, issued_by="省专班", now=NOW, charts={})
        assert row["number"] == 2
        text, _ = docx_text(row["docx"])
        ptext = squash(pdf_text(row["pdf"]))
        expected = headline(now, "全省", june) + "，较上期（2022年3月31日）" + change(
            now["completed"] / now["villages"], before["completed"] / before["villages"])
        assert expected in text and squash(expected) in ptext
        # the late prefecture is named and counted with its March figures (4 villages = 3 + 1)
        late = "玉溪市（沿用2022年3月31日数据）本期未按时报送"
        assert late in text and squash(late) in ptext
        assert now["villages"] == 4
        # the previous issue printed 1 completed plan; the warehouse now holds 2 for March: said so
        note = "上期（第1期）简报印发后，有关州市报送了更正报表，上期数据已更正：规划成果完成由1个更正为2个"
        assert note in text and squash(note) in ptext
    finally:
        db.close_all()


# ------------------------------------------------------------------------------------------------ scope


def test_a_county_user_can_neither_see_nor_issue_another_countys_briefing(warehouse):
    mile, luxi = Scope(county_code=MILE), Scope(county_code=LUXI)
    other = store.issue(brief_model.build(LUXI, None, luxi, now=NOW), issued_by="泸西县专班", viewer=luxi,
                        may_issue=may_issue(auth.COUNTY, luxi, LUXI), now=NOW, charts={})
    with pytest.raises(OutOfScope):
        brief_model.build(LUXI, None, mile)
    with pytest.raises(OutOfScope):
        brief_model.build(HONGHE, None, mile)
    with pytest.raises(OutOfScope):
        brief_model.build("530000", None, mile)
    assert not may_issue(auth.COUNTY, mile, LUXI) and may_issue(auth.COUNTY, mile, MILE)
    assert not may_issue(auth.LEADER, ALL, "530000") and not may_issue(auth.ANALYST, ALL, MILE)
    assert may_issue(auth.PREFECTURE, Scope(prefecture_code=HONGHE), MILE)
    luxi_model = brief_model.build(LUXI, None, ALL, now=NOW)
    with pytest.raises(OutOfScope):
        store.issue(luxi_model, issued_by="弥勒市专班", viewer=mile, may_issue=True, charts={})
    with pytest.raises(OutOfScope):
        store.document(LUXI, other["number"], "pdf", mile)
    assert store.issued(mile).height == 0
    assert store.issued(Scope(prefecture_code=HONGHE))["scope_code"].to_list() == [LUXI]
    with pytest.raises(PermissionError):
        store.issue(brief_model.build(MILE, None, mile), issued_by="领导", viewer=mile,
                    may_issue=may_issue(auth.LEADER, mile, MILE), charts={})
    own = store.issue(brief_model.build(MILE, None, mile, now=NOW), issued_by="弥勒市专班", viewer=mile,
                      may_issue=may_issue(auth.COUNTY, mile, MILE), now=NOW, charts={})
    assert store.issued(mile)["scope_code"].to_list() == [MILE] and own["number"] == 1


# ---------------------------------------------------------------------------------------------- numbering


def _issued_at_once(m: dict, n: int) -> tuple[list[dict], list[BaseException]]:
    """``m`` issued by ``n`` threads at once: (the rows issued, the errors raised)."""
    got, errors = [], []

    def issue(i: int) -> None:
        try:
            got.append(store.issue(m, issued_by=f"用户{i}", now=NOW, charts={}))
        except Exception as exc:  # reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=issue, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return got, errors


def test_numbers_have_no_gaps_or_repeats_when_issued_at_once_by_threads(warehouse, app_db):
    got, errors = _issued_at_once(brief_model.build(MILE, None, now=NOW), 4)
    assert not errors
    assert sorted(r["number"] for r in got) == [1, 2, 3, 4]
    assert sorted(store.issued(scope_code=MILE)["number"].to_list()) == [1, 2, 3, 4]


def test_numbers_have_no_gaps_or_repeats_when_issued_at_once_by_processes(warehouse, app_db, tmp_path):
    out = tmp_path / "out"
    procs = [subprocess.Popen([sys.executable, "-m", "pipelines", "brief", "--scope", MILE, "--issue", "--by",
                               f"专班{i}", "--out", str(out / f"{i}.docx")], cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(3)]
    results = [p.communicate(timeout=300) + (p.returncode,) for p in procs]
    assert [r[2] for r in results] == [0, 0, 0], results
    numbers = sorted(int(re.search(r"第(\d+)期", r[0]).group(1)) for r in results)
    assert numbers == [1, 2, 3]
    assert sorted(store.issued(scope_code=MILE)["number"].to_list()) == [1, 2, 3]
    # each file written is the one recorded under its number
    for i, r in enumerate(results):
        n = int(re.search(r"第(\d+)期", r[0]).group(1))
        assert (out / f"{i}.docx").read_bytes() == store.document(MILE, n, "docx")


def _numbers(code: str) -> list[tuple[int, str]]:
    return [(r["number"], r["state"]) for r in store.series(code).iter_rows(named=True)]


def test_two_issues_at_once_render_side_by_side_and_get_consecutive_numbers(warehouse, app_db, monkeypatch):
    """The number is reserved in a short transaction and the documents rendered outside it: two issues of one scope
    are inside the render at the same moment (a barrier both must reach; with the lock held for the render the
    second would wait for the first and the barrier would break), and still get 1 and 2, each printed in its own
    documents."""
    from hometown.briefs import render_pdf

    real = render_pdf.render
    both_rendering = threading.Barrier(2, timeout=30)

    def render_side_by_side(doc, at=None):
        both_rendering.wait()
        return real(doc, at)

    monkeypatch.setattr(render_pdf, "render", render_side_by_side)
    got, errors = _issued_at_once(brief_model.build(MILE, None, now=NOW), 2)
    assert not errors, errors
    assert sorted(r["number"] for r in got) == [1, 2]
    for row in got:
        text, _ = docx_text(store.document(MILE, row["number"], "docx"))
        assert f"第{row['number']}期" in squash(text)
        assert f"第{row['number']}期" in squash(pdf_text(store.document(MILE, row["number"], "pdf")))
    assert _numbers(MILE) == [(1, store.ISSUED), (2, store.ISSUED)]


def test_a_failed_render_gives_its_number_back_when_no_later_number_was_taken(warehouse, app_db, monkeypatch):
    from hometown.briefs import render_pdf
    from hometown.briefs import sync_drafts

    real = render_pdf.render
    monkeypatch.setattr(render_pdf, "render", lambda doc, at=None: (_ for _ in ()).throw(
        fonts.FontMissing("未找到中文字体")))
    sync_drafts(Scope(county_code=MILE), now=NOW)
    draft = store.drafts(Scope(county_code=MILE)).row(0, named=True)
    m = brief_model.build(MILE, draft["as_of"], now=NOW)
    with pytest.raises(fonts.FontMissing):
        store.issue(m, issued_by="弥勒市专班", now=NOW, charts={}, from_draft=True)
    assert _numbers(MILE) == [] and store.issued(scope_code=MILE).height == 0    # nothing taken, nothing recorded
    assert store.drafts(Scope(county_code=MILE))["state"].to_list() == [store.DRAFT]  # the draft still waits
    monkeypatch.setattr(render_pdf, "render", real)
    row = store.issue(m, issued_by="弥勒市专班", now=NOW, charts={}, from_draft=True)
    assert row["number"] == 1 and _numbers(MILE) == [(1, store.ISSUED)]
    assert store.drafts(Scope(county_code=MILE)).height == 0


def test_a_failed_render_after_a_later_number_was_taken_is_void_with_its_reason(warehouse, app_db, monkeypatch):
    """The first issue's render fails after a second issue took (and recorded) number 2: number 1 stays in the
    series as 作废 with the reason, so the gap before 第2期 is explained; the next briefing is 第3期."""
    from hometown.briefs import render_pdf

    real = render_pdf.render
    second_done = threading.Event()

    def render(doc, at=None):
        if threading.current_thread().name == "first":
            assert second_done.wait(60)
            raise fonts.FontMissing("字体文件损坏：NotoSerifCJK-Regular.ttc")
        return real(doc, at)

    monkeypatch.setattr(render_pdf, "render", render)
    m = brief_model.build(MILE, None, now=NOW)
    failed: list[BaseException] = []

    def first() -> None:
        try:
            store.issue(m, issued_by="甲", now=NOW, charts={})
        except fonts.FontMissing as exc:
            failed.append(exc)

    t = threading.Thread(target=first, name="first")
    t.start()
    while not _numbers(MILE):  # the first has reserved its number (and is rendering, waiting for the second)
        t.join(0.05)
    assert _numbers(MILE) == [(1, store.RESERVED)]
    assert store.issue(m, issued_by="乙", now=NOW, charts={})["number"] == 2
    second_done.set()
    t.join(120)
    assert len(failed) == 1
    series = store.series(MILE).rows(named=True)
    assert [(r["number"], r["state"]) for r in series] == [(1, store.VOID), (2, store.ISSUED)]
    assert "字体文件损坏" in series[0]["reason"] and series[0]["closed_at"] is not None
    assert series[0]["reserved_by"] == "甲"
    assert store.issued(scope_code=MILE)["number"].to_list() == [2]
    assert store.issue(m, issued_by="乙", now=NOW, charts={})["number"] == 3


def test_a_reservation_left_by_a_dead_process_is_settled_by_the_next_issue(warehouse, app_db):
    """A process killed mid-render leaves its number reserved: left alone while it may still be rendering, given back
    (or made void when a later number exists) by the next issue once it is STALE_S old."""
    from appdb import store as appstore

    m = brief_model.build(MILE, None, now=NOW)

    def age(number: int) -> None:
        with appstore.transaction() as tx:
            tx.execute("UPDATE brief_numbers SET reserved_at = ? WHERE scope_code = ? AND number = ?",
                       [datetime.now().replace(microsecond=0) - timedelta(seconds=store.STALE_S + 60), MILE, number])

    store._reserve(m, "已中断的进程", False, None)             # number 1, its process gone
    assert store.issue(m, issued_by="乙", now=NOW, charts={})["number"] == 2   # 1 may still be rendering: left
    assert _numbers(MILE) == [(1, store.RESERVED), (2, store.ISSUED)]
    age(1)
    assert store.issue(m, issued_by="乙", now=NOW, charts={})["number"] == 3
    series = store.series(MILE).rows(named=True)
    assert [(r["number"], r["state"]) for r in series] == [(1, store.VOID), (2, store.ISSUED), (3, store.ISSUED)]
    assert "已中断的进程" in series[0]["reason"] and "未记录" in series[0]["reason"]
    # the last number reserved and abandoned: given back, the series goes on without a gap
    store._reserve(m, "已中断的进程", False, None)             # number 4
    age(4)
    assert store.issue(m, issued_by="乙", now=NOW, charts={})["number"] == 4
    assert [n for n, _ in _numbers(MILE)] == [1, 2, 3, 4]


def test_a_draft_being_issued_is_not_issued_twice(warehouse, app_db):
    from hometown.briefs import sync_drafts

    sync_drafts(Scope(county_code=MILE), now=NOW)
    as_of = store.drafts(Scope(county_code=MILE)).row(0, named=True)["as_of"]
    m = brief_model.build(MILE, as_of, now=NOW)
    store._reserve(m, "甲", True, None)                      # 甲 pressed 印发 and is rendering
    with pytest.raises(store.BriefStoreError, match="正由甲印发"):
        store.issue(m, issued_by="乙", now=NOW, charts={}, from_draft=True)
    assert _numbers(MILE) == [(1, store.RESERVED)]


def test_an_issued_briefing_is_recorded_and_reproduced_identically(warehouse):
    m = brief_model.build(HONGHE, date(2022, 12, 31), now=NOW)
    row = store.issue(m, issued_by="红河州项目组", now=NOW)
    rec = store.record(HONGHE, row["number"])
    assert rec["as_of"] == date(2022, 12, 31) and rec["warehouse_version"] == db.version()
    assert rec["inputs"] == m["inputs"] and {i["prefecture_code"] for i in rec["inputs"]} == {HONGHE}
    assert all(date.fromisoformat(i["as_of"]) <= date(2022, 12, 31) for i in rec["inputs"])
    assert store.reproduce(HONGHE, row["number"]) == (row["docx"], row["pdf"])
    assert store.document(HONGHE, row["number"], "pdf") == row["pdf"]
    # the same figures render the same bytes again
    assert documents(m, 5, issued_at=NOW) == documents(json.loads(json.dumps(m)), 5, issued_at=NOW)


def test_drafts_come_by_themselves_for_new_rounds_and_wait_for_issue(warehouse):
    from hometown.briefs import sync_drafts

    made = sync_drafts(ALL, now=NOW)
    waiting = store.drafts()
    assert made == waiting.height == 17          # the province and its 16 prefectures, each at its latest round
    assert sync_drafts(ALL, now=NOW) == 0        # nothing new: nothing more
    province = waiting.filter(waiting["scope_code"] == "530000").row(0, named=True)
    assert province["as_of"] == rounds(warehouse)[-1]
    # a county user sees no province or prefecture drafts, only its own county's
    sync_drafts(Scope(county_code=MILE), now=NOW)
    assert store.drafts(Scope(county_code=MILE))["scope_code"].to_list() == [MILE]
    m = brief_model.build("530000", province["as_of"], now=NOW)
    store.issue(m, issued_by="省专班", now=NOW, from_draft=True, charts={})
    assert "530000" not in store.drafts()["scope_code"].to_list()
    with pytest.raises(store.BriefStoreError, match="无需重复印发"):
        store.issue(m, issued_by="另一人", now=NOW, from_draft=True, charts={})
    # a draft set aside leaves the list, and the round gets no new draft; a county user cannot set aside another's
    honghe_draft = store.drafts().filter(store.drafts()["scope_code"] == HONGHE).row(0, named=True)
    with pytest.raises(OutOfScope):
        store.dismiss(HONGHE, honghe_draft["as_of"], "弥勒市专班", Scope(county_code=MILE))
    store.dismiss(HONGHE, honghe_draft["as_of"], "红河州项目组", Scope(prefecture_code=HONGHE), now=NOW)
    assert HONGHE not in store.drafts()["scope_code"].to_list()
    assert sync_drafts(ALL, now=NOW) == 0


def test_optional_sections_appear_only_with_their_data(demo_db_copy, monkeypatch, tmp_path):
    monkeypatch.setenv(db.ENV_VAR, str(demo_db_copy))
    try:
        m = brief_model.build(HONGHE, None, now=NOW)
        assert m["optional"] == []
        assert "驻村力量" not in writer.compose(m, None, charts={}).text()
        db.close_all()
        con = duckdb.connect(str(demo_db_copy))
        con.execute("DROP VIEW IF EXISTS team_summary")  # the teams part's view: this test stands in a table
        con.execute("CREATE TABLE team_summary AS SELECT * FROM (VALUES ('prefecture', '532500', '红河州', "
                    "DATE '2023-12-31', 3120, 1160, 1200, 1100)) t(level, code, name, as_of, in_post, "
                    "first_secretaries, villages_required, villages_met)")
        con.close()
        m = brief_model.build(HONGHE, None, now=NOW)
        docx, pdf = documents(m, None, issued_at=NOW)
        text = docx_text(docx)[0]
        sentence = "全州在岗驻村干部3,120人，其中第一书记1,160名；应配强驻村力量的1,200个村中，1,100个村达到选派要求，达标率91.7%。"
        assert "驻村力量" in text and sentence in text and squash(sentence) in squash(pdf_text(pdf))
        assert "任期承诺" not in text
    finally:
        db.close_all()


def test_cli_writes_word_and_pdf_and_reports_errors_in_chinese(warehouse, tmp_path):
    out, pdf = tmp_path / "简报.docx", tmp_path / "简报.pdf"
    run = subprocess.run([sys.executable, "-m", "pipelines", "brief", "--scope", HONGHE, "--asof", "2022-06-30",
                          "--out", str(out), "--pdf", str(pdf)], cwd=REPO, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    text, _ = docx_text(out.read_bytes())
    f = figures(warehouse, date(2022, 6, 30), HONGHE)[0]
    assert headline(f, "全州", date(2022, 6, 30)) in text and "征求意见稿（未编号）" in text
    assert squash(headline(f, "全州", date(2022, 6, 30))) in squash(pdf_text(pdf.read_bytes()))
    assert store.issued().height == 0          # a draft is not recorded
    bad = subprocess.run([sys.executable, "-m", "pipelines", "brief", "--scope", "123456", "--out", str(out)],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "不是省、州市或县市区代码" in bad.stderr
