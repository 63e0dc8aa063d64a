"""/commitments (任期承诺) in Streamlit's AppTest at every role's scope, on a warehouse loaded from real workbooks;
the notice (Word, read back with python-docx; PDF) and the ledger (Excel, read back with openpyxl); the export
command."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import openpyxl
import pytest
from streamlit.testing.v1 import AppTest

from commitmentfiles import A, B, C, LISTS, small_warehouse
from hometown.access.roles import ADMIN, ANALYST, COUNTY, LEADER, PREFECTURE
from warehouse import db
from ui.commitments import table_key
from warehouse.scope import Scope

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGE = "pages/commitments.py"
HONGHE, MILE, MENGZI, YUXI = "532500", "532504", "532503", "530400"


@pytest.fixture(autouse=True)
def _no_legacy(no_legacy_pages_mode):
    """AppTest runs start from app.py, as on the server (tests/conftest.py); a page file run by itself is refused."""


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    path = small_warehouse(tmp_path_factory.mktemp("cm"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(db.ENV_VAR, str(path))
        mp.setenv("HOMETOWN_AUTH", "off")
        con = duckdb.connect(str(path), read_only=True)
        yield con
        con.close()
        db.close_all()


def open_page(scope: Scope | None = None, role: str | None = None, **params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page(PAGE)
    for k, v in params.items():
        at.query_params[k] = v
    if scope is not None:
        at.session_state["scope"] = scope
    if role is not None:
        at.session_state["role"] = role
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def markup(at: AppTest) -> str:
    return "".join(m.value for m in at.markdown)


def village_key(wh, name: str) -> str:
    return wh.execute("SELECT DISTINCT village_key FROM commitment_items WHERE village = ?", [name]).fetchone()[0]


def test_the_province_kpis_equal_the_warehouse_and_prefectures_rank_by_fulfilment(wh):
    at = open_page(role=LEADER)
    items, due, rate = wh.execute("SELECT items, due, fulfilment_rate FROM commitment_summary "
                                  "WHERE level = 'province' AND list_name IS NULL").fetchone()
    assert metric(at, "承诺事项数") == f"{items:,}" and metric(at, "到期事项数") == f"{due:,}"
    assert metric(at, "承诺兑现率") == f"{100 * rate:.1f}%"
    table = next(d.value for d in at.dataframe if "州市" in d.value.columns)
    assert table["州市"].tolist() == ["红河哈尼族彝族自治州", "玉溪市"]  # 2 of 4 due against nothing due (not ranked)


def test_a_prefecture_user_sees_its_counties_and_not_another_prefecture(wh):
    scope = Scope(prefecture_code=HONGHE)
    at = open_page(scope, PREFECTURE)
    table = next(d.value for d in at.dataframe if "县市区" in d.value.columns)
    assert table["县市区"].tolist() == ["弥勒市", "蒙自市"]
    assert table["承诺兑现率"].tolist() == [pytest.approx(200 / 3), 0.0]  # 弥勒市: 2 of its 3 due items closed
    denied = open_page(scope, PREFECTURE, code=YUXI)
    assert any("无权查看" in e.value for e in denied.error) and not denied.metric
    denied = open_page(scope, PREFECTURE, code="530000")
    assert any("无权查看" in e.value for e in denied.error)


def test_a_county_user_sees_its_townships_its_village_board_and_nothing_else(wh):
    scope = Scope(county_code=MILE)
    at = open_page(scope, COUNTY)
    assert next(d.value for d in at.dataframe if "乡镇" in d.value.columns)["乡镇"].tolist() == ["虹溪镇", "西三镇"]
    board = open_page(scope, COUNTY, code=village_key(wh, "花口村"))
    page = markup(board)
    for i, lst in enumerate(LISTS, 1):
        assert f"data-list='{lst}'" in page and f"花口村{lst}事项" in page
    # 责任人 are masked on screen for a county user (hometown.privacy); the notice carries them in full.
    assert "责任人1" not in page, page[page.find("责任人1") - 200:page.find("责任人1") + 20]
    assert "责任人 责***" in page  # 责任人1 → 责***
    assert page.count("class='cm-item'") == 5
    assert "data-light='已销号'" in page
    other = open_page(scope, COUNTY, code=village_key(wh, "试验村"))
    assert any("无权查看" in e.value for e in other.error) and "试验村党建" not in markup(other)
    # A county user may not export (roles: export is the analyst's and the admin's): no ledger download.
    assert not [b for b in board.get("download_button") if "台账" in b.proto.label]


def test_a_table_row_opens_the_sub_region_down_to_the_village(wh):
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page(PAGE)
    at.query_params["code"] = MILE
    at.session_state[table_key(MILE)] = {"selection": {"rows": [1], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    assert at.query_params["code"] == [f"{MILE}/西三镇"] or at.query_params["code"] == f"{MILE}/西三镇"


def test_the_admin_sees_the_province_names_in_full_and_may_export(wh):
    at = open_page(role=ADMIN, code=village_key(wh, "花口村"))
    assert "责任人 责任人1" in markup(at)
    assert [b for b in at.get("download_button") if "台账" in b.proto.label]


def test_timeline_and_ledger_for_analyst_with_export(wh):
    at = open_page(role=ANALYST, code=HONGHE)
    page = markup(at)
    assert "cm-timeline" in page
    # 挂图作战: open items due within 60 days of 31 August 2022 or overdue: 花口村 2 (9-30), 3 (7-31), 5 (10-15);
    # 试验村 1 (5-01). Not the closed ones, not 为民服务 (2023).
    shown = {t.split("'")[0] for t in page.split("data-item='")[1:] if ":" in t.split("'")[0]}
    expected = {f"{village_key(wh, '花口村')}:{n}" for n in ("2", "3", "5")} | {f"{village_key(wh, '试验村')}:1"}
    assert shown == expected
    assert [b for b in at.get("download_button") if "台账" in b.proto.label]
    ledger = next(d.value for d in at.dataframe if "销号日期" in d.value.columns)
    assert sorted(ledger["行政村"].tolist()) == ["新桥村", "花口村"]


def test_the_notice_reads_back_title_five_lists_every_item(wh):
    from docx import Document

    from hometown.commitments import documents

    key = village_key(wh, "花口村")
    doc = Document(io.BytesIO(documents.notice_docx(Scope(county_code=MILE), key)))
    texts = [p.text for p in doc.paragraphs]
    assert texts[0] == "花口村党组织任期承诺公示"
    assert [t for t in texts if t.endswith("项）")] == [f"{lst}清单（1项）" for lst in LISTS]
    cells = [[c.text for c in row.cells] for table in doc.tables for row in table.rows[1:]]
    items = wh.execute("SELECT item_no, content, CAST(due_date AS VARCHAR), owner FROM commitment_items "
                       "WHERE village_key = ? ORDER BY item_no", [key]).fetchall()
    assert sorted((c[0], c[1], c[3], c[4]) for c in cells) == sorted(items)
    section = doc.sections[0]
    assert round(section.page_width.cm, 1) == 21.0 and round(section.page_height.cm, 1) == 29.7
    pdf = documents.notice_pdf(Scope(county_code=MILE), key)
    assert pdf[:5] == b"%PDF-" and pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") + pdf.count(b"/Type /Page>") <= 1
    with pytest.raises(Exception, match="无权查看"):
        documents.notice_docx(Scope(county_code=MENGZI), key)


def test_the_export_command_writes_the_county_table_and_the_ledger(wh, tmp_path):
    out = tmp_path / "县任期承诺.xlsx"
    done = subprocess.run([sys.executable, "-m", "pipelines", "export", "commitments", "--level", "county", "--out",
                           str(out), "--db", str(Path(wh.execute("PRAGMA database_list").fetchone()[2]))],
                          capture_output=True, text=True, cwd=Path(APP).parent)
    assert done.returncode == 0, done.stderr
    book = openpyxl.load_workbook(out)
    table = book["县市区承诺兑现"]
    rows = [[c.value for c in r] for r in table.iter_rows(min_row=3, values_only=False)]
    header, data = rows[0], rows[1:]
    named = [dict(zip(header, r)) for r in data]
    assert [r["县市区"] for r in named] == ["弥勒市", "蒙自市", "峨山彝族自治县"]
    assert named[0]["承诺兑现率"] == pytest.approx(2 / 3) and named[0]["到期事项数"] == 3  # 6-30, 7-31, 8-01
    ledger = [[c.value for c in r] for r in book["销号台账"].iter_rows(min_row=3)]
    assert ledger[0][:3] == ["县市区", "乡镇", "行政村"] and sorted(r[2] for r in ledger[1:]) == ["新桥村", "花口村"]
