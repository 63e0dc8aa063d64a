"""Exports (hometown.export): read back with python-calamine and compared cell by cell with the page's table.

The page's table is taken from the page itself (streamlit.testing AppTest runs app.py on pages/rankings.py, test
warehouse) and from hometown.rankings.index.table, the one function both the page and the exports call. The file layout
(frozen header, landscape, fit to width, repeated header row, number formats) is read from the workbook's XML.
"""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import polars as pl
import pytest
import python_calamine

from reportfiles import simple_report, village_row, write_csv
from test_rankings import D1, D2, EQUAL, HONGHE, build_warehouse

from hometown import export
from hometown.rankings import exports
from hometown.rankings import index as rankings
from warehouse import db
from warehouse.scope import Filters

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wh(tmp_path_factory) -> str:
    return str(build_warehouse(tmp_path_factory.mktemp("export")))


def sheets(data: bytes) -> dict[str, list[list]]:
    wb = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    return {name: wb.get_sheet_by_name(name).to_python() for name in wb.sheet_names}


def cell(value):
    """A frame value as calamine gives it back: None → '', whole numbers → float."""
    if value is None:
        return ""
    if isinstance(value, bool) or isinstance(value, str):
        return value
    return float(value)


def assert_same_cells(rows: list[list], table: pl.DataFrame, neutralised: bool = True) -> None:
    assert rows[0] == table.columns
    assert len(rows) - 1 == table.height
    for r, (got, want) in enumerate(zip(rows[1:], table.iter_rows()), start=1):
        expected = [export.neutralise(v) if neutralised and isinstance(v, str) else cell(v) for v in want]
        assert [cell(g) if not isinstance(g, str) else g for g in got] == expected, f"row {r}"


# ------------------------------------------------------------------------------------------------- neutralising


@pytest.mark.parametrize("text, safe", [
    ("=1+1", "'=1+1"), ("+86 138", "'+86 138"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"),
    ("弥勒市", "弥勒市"), ("↓2", "↓2"), ("", ""), ("a=b", "a=b"),
])
def test_neutralise(text, safe):
    assert export.neutralise(text) == safe


def test_formula_injection_neutralised_in_xlsx_and_csv():
    frame = pl.DataFrame({"名称": ["=HYPERLINK(\"http://x\",\"点击\")", "+1", "-1", "@SUM(A1)", "正常"],
                          "数值": [1, 2, 3, 4, 5]})
    data = export.xlsx_bytes([export.Sheet("表", frame, {"名称": export.TEXT, "数值": export.INT}, "标题")])
    rows = sheets(data)["表"]
    assert [r[0] for r in rows[2:]] == ["'=HYPERLINK(\"http://x\",\"点击\")", "'+1", "'-1", "'@SUM(A1)", "正常"]
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and "<f " not in xml                     # no formula cell anywhere
    text = export.csv_bytes(frame).decode("utf-8-sig")
    assert [r[0] for r in csv.reader(io.StringIO(text))][1:] == [r[0] for r in rows[2:]]


def test_formula_injection_from_a_real_report(tmp_path):
    """Names typed in a prefecture's report reach the export neutralised (CSV reports keep them as typed)."""
    from pipelines.ingest import ingest

    rows = [village_row(county="弥勒市", township='=HYPERLINK("http://x","点击")', village="=1+1"),
            village_row(county="弥勒市", township="+镇", village="-村", funding=10),
            village_row(county="弥勒市", township="@镇", village="@SUM(A1)", funding=5)]
    report = write_csv(tmp_path / "红河州_20220331.csv", simple_report(rows))
    (result,) = ingest([report], tmp_path / "w.duckdb")
    assert result.status == "accepted"
    r = rankings.rank("village", EQUAL, db_path=str(tmp_path / "w.duckdb"))
    table = rankings.table(r)
    assert set(table["行政村"]) == {"=1+1", "-村", "@SUM(A1)"}
    data = exports.ranking_xlsx(r)
    got = sheets(data)["行政村排名"]
    assert_same_cells(got[2:], table)
    assert {row[6] for row in got[3:]} == {"'=1+1", "'-村", "'@SUM(A1)"}
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert "<f>" not in z.read("xl/worksheets/sheet1.xml").decode()
    text = exports.ranking_csv(r).decode("utf-8-sig")
    assert {row[6] for row in list(csv.reader(io.StringIO(text)))[1:]} == {"'=1+1", "'-村", "'@SUM(A1)"}
    db.close_all()


# ------------------------------------------------------------------------------------------------- rankings


def test_xlsx_matches_the_table_cell_by_cell(wh):
    r = rankings.rank("county", EQUAL, filters=Filters(2021), prefecture=HONGHE, db_path=wh)
    data = exports.ranking_xlsx(r, "均衡")
    book = sheets(data)
    assert list(book) == ["县市区排名", "说明"]
    rows = book["县市区排名"]
    assert rows[0][0] == rankings.title(r) and D2.isoformat() in rows[0][0]
    assert "红河哈尼族彝族自治州" in rows[1][0] and "2021年" in rows[1][0] and "最小-最大标准化" in rows[1][0]
    assert_same_cells(rows[2:], rankings.table(r))
    notes = {row[0]: row[1] for row in book["说明"][2:]}
    assert notes == dict(rankings.method_notes(r, "均衡"))
    assert notes["标准化方法"].startswith("最小-最大标准化")
    assert all(f"权重：{rankings.label(n)}" in notes for n in rankings.INDICATORS)


def _xf_formats(z: zipfile.ZipFile) -> list[str]:
    """The number format of each cell style (index = the s attribute of a cell)."""
    styles = z.read("xl/styles.xml").decode()
    custom = dict(re.findall(r'<numFmt numFmtId="(\d+)" formatCode="([^"]*)"', styles))
    xfs = re.search(r"<cellXfs[^>]*>(.*?)</cellXfs>", styles, re.S).group(1)
    return [custom.get(m, m) for m in re.findall(r'<xf numFmtId="(\d+)"', xfs)]


def test_xlsx_is_printable_and_formatted(wh):
    r = rankings.rank("county", EQUAL, db_path=wh)
    table = rankings.table(r)
    with zipfile.ZipFile(io.BytesIO(exports.ranking_xlsx(r))) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
        workbook = z.read("xl/workbook.xml").decode()
        formats = _xf_formats(z)
    assert '<pageSetUpPr fitToPage="1"/>' in sheet                       # fit to page width …
    setup = re.search(r"<pageSetup [^>]*/>", sheet).group(0)
    assert 'orientation="landscape"' in setup and 'fitToHeight="0"' in setup and 'paperSize="9"' in setup
    assert 'ySplit="3"' in sheet and 'state="frozen"' in sheet           # header frozen below row 3
    assert "县市区排名!$3:$3" in workbook                                  # header row repeated on every page
    assert "<col " in sheet and 'customWidth="1"' in sheet
    # The number format of the first data row's cells follows the column's kind.
    first = re.search(r'<row r="4"[^>]*>(.*?)</row>', sheet).group(1)
    styles = {re.match(r"[A-Z]+", ref).group(0): int(s) for ref, s in re.findall(r'<c r="([A-Z]+4)" s="(\d+)"', first)}
    kinds = rankings.column_kinds("county")
    for i, name in enumerate(table.columns):
        col = chr(ord("A") + i)
        want = {export.PERCENT: "0.0%", export.INT: "#,##0", export.DECIMAL: "#,##0.00", export.INDEX: "0.00"}
        if kinds[name] in want:
            assert formats[styles[col]] == want[kinds[name]], name


def test_csv_has_bom_and_matches_the_table(wh):
    r = rankings.rank("village", EQUAL, rankings.PERCENTILE, db_path=wh)
    data = exports.ranking_csv(r)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    table = rankings.table(r)
    assert rows[0] == table.columns
    for got, want in zip(rows[1:], table.iter_rows()):
        assert got == ["" if v is None else str(v) for v in want]


def test_export_matches_the_page(wh, monkeypatch, no_legacy_pages_mode):
    """The table the page shows (AppTest runs app.py on pages/rankings.py) is the one in the downloaded workbook."""
    from apptests import app_page

    monkeypatch.setenv(db.ENV_VAR, wh)
    monkeypatch.chdir(ROOT)
    at = app_page("pages/rankings.py", timeout=60)
    at.run()
    assert not at.exception, at.exception
    at.number_input(key="rk_w_funding_per_village").set_value(40.0).run()
    page = pl.from_pandas(at.dataframe[0].value)
    weights = dict(rankings.preset("均衡").weights, funding_per_village=40.0)
    r = rankings.rank("county", weights, rankings.MINMAX, db_path=wh)
    table = rankings.table(r)
    assert page.columns == table.columns
    assert page.to_dicts() == table.to_dicts()
    assert_same_cells(sheets(exports.ranking_xlsx(r))["县市区排名"][2:], page)


# ------------------------------------------------------------------------------------------------- the command


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines", "export", "rankings", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_cli_export_xlsx_and_csv(wh, tmp_path):
    out = tmp_path / "排名.xlsx"
    done = _cli("--level", "county", "--out", str(out), "--db", wh, "--preset", "大擂台大比武", "--year", "2021")
    assert done.returncode == 0, done.stderr
    assert "已导出 县市区排名" in done.stdout and str(out) in done.stdout
    chosen = rankings.preset("大擂台大比武")
    r = rankings.rank("county", chosen.weights, chosen.normalisation, Filters(2021), db_path=wh)
    book = sheets(out.read_bytes())
    assert_same_cells(book["县市区排名"][2:], rankings.table(r))
    assert {row[0]: row[1] for row in book["说明"][2:]}["标准化方法"].startswith("百分位标准化")

    out = tmp_path / "村.csv"
    done = _cli("--level", "village", "--out", str(out), "--db", wh, "--prefecture", "红河", "--asof", "2022-03-31")
    assert done.returncode == 0, done.stderr
    r = rankings.rank("village", rankings.presets()[0].weights, filters=Filters(None, D1), prefecture=HONGHE,
                      db_path=wh)
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert data == exports.ranking_csv(r)


@pytest.mark.parametrize("args, message", [
    (["--preset", "不存在的方案"], "没有名为“不存在的方案”的权重方案"),
    (["--prefecture", "火星州"], "未知的州市"),
    (["--asof", "2022-13-01"], "截至日期格式"),
])
def test_cli_usage_errors(wh, tmp_path, args, message):
    out = tmp_path / "x.xlsx"
    done = _cli("--out", str(out), "--db", wh, *args)
    assert done.returncode == 2 and message in done.stderr
    assert not out.exists()


def test_cli_missing_warehouse_and_bad_suffix(tmp_path):
    done = _cli("--out", str(tmp_path / "x.xlsx"), "--db", str(tmp_path / "none.duckdb"))
    assert done.returncode == 2 and "数据仓库不存在" in done.stderr
    done = _cli("--out", str(tmp_path / "x.pdf"), "--db", str(tmp_path / "none.duckdb"))
    assert done.returncode == 2 and ".xlsx 或 .csv" in done.stderr
