"""Reports as offices really send them (issue 16): merged cells in the data rows, files whose name lies about their
format, and the command's output in a log.

Every file is real: .xlsx by xlsxwriter, .xls by xlwt (an OLE2 compound file, also copied byte for byte to a WPS
.et), HTML tables and Excel 2003 XML written as text the way government systems write them. A merged report must
load with exactly the figures of the same report without merges, read back from the warehouse's public views.
"""

from __future__ import annotations

import fcntl
import io
import os
import pty
import re
import select
import shutil
import struct
import subprocess
import sys
import termios
import zipfile
from pathlib import Path

import openpyxl
import pytest

from pipelines import read
from pipelines.report import check_report, fold
from reportfiles import (
    HEADER, SheetSpec, fetch, load, load_one, simple_report, three_villages, village, write_csv, write_html, write_report,
    write_spreadsheetml, write_xls, write_xlsx,
)

ROOT = Path(__file__).resolve().parent.parent
NAME = "红河州_20220331"
COUNTY, TOWNSHIP = HEADER.index("县市区"), HEADER.index("乡镇")


def accepted(result) -> None:
    assert result.status == "accepted", result.errors


def villages() -> list[list]:
    """Seven villages of two counties; 西三镇 and 中枢镇 have several, so both columns have something to merge."""
    return [
        village(township="西三镇", village="花口村", group=9, civil=2, visits=20, funding=120.5),
        village(township="西三镇", village="可邑村", group=7, civil=1, visits=11, funding=30),
        village(township="西三镇", village="凤凰村", stage=2, steps=6, status="编制中", group=5, civil=0, visits=4,
                funding=0),
        village(township="虹溪镇", village="新桥村", stage=7, steps=28, status="已入库", group=12, civil=3, visits=35,
                plans=("是",) * 5, council="否", funding=300),
        village(township="东山镇", village="旧城村", stage=1, steps=0, status="未启动", group=0, civil=0, visits=0,
                plans=("否",) * 5, council="否", funding=0),
        village(county="泸西县", township="中枢镇", village="城子村", group=6, civil=2, visits=9, funding=15),
        village(county="泸西县", township="中枢镇", village="逸圃村", group=8, civil=2, visits=13, funding=22.5),
    ]


def merged(rows: list[list], first: int, columns=(COUNTY, TOWNSHIP)) -> tuple[list[list], list[tuple]]:
    """The rows as an office lays them out: each run of equal cells in ``columns`` merged into one range (its
    text in the top cell, the others blank). ``first`` is the 0-based sheet row of ``rows[0]``."""
    rows = [list(r) for r in rows]
    merges = []
    for c in columns:
        start = 0
        for i in range(1, len(rows) + 1):
            if i < len(rows) and rows[i][c] == rows[start][c] and rows[i][COUNTY] == rows[start][COUNTY]:
                continue
            if i - start > 1:
                merges.append((first + start, c, first + i - 1, c, rows[start][c]))
            start = i
    for r1, c, r2, _, _ in merges:
        for r in range(r1 + 1, r2 + 1):
            rows[r - first][c] = ""
    return rows, merges


def write_any(path: Path, rows: list[list], merges: list | None = None) -> Path:
    """A one-sheet report in the format the name's tag says: .xlsx, .xls, .html.xls, .xml.xls."""
    if path.name.endswith(".html.xls"):
        return write_html(path.with_name(path.name.replace(".html", "")), rows, merges)
    if path.name.endswith(".xml.xls"):
        return write_spreadsheetml(path.with_name(path.name.replace(".xml", "")), [SheetSpec("村庄进度", rows, merges or [])])
    return write_report(path, rows, merges=merges)


def figures(db: Path) -> dict:
    """Everything the pages and analysts read, less the report's own id."""
    def rows(sql):
        return sorted(tuple(str(v) for k, v in r.items() if k != "report_id") for r in fetch(db, sql))
    return {"village_status": rows("SELECT * FROM village_status"), "county_summary": rows("SELECT * FROM county_summary"),
            "prefecture_summary": rows("SELECT * FROM prefecture_summary")}


@pytest.fixture(scope="module")
def unmerged(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("unmerged")
    db = folder / "warehouse.duckdb"
    accepted(load_one(db, write_report(folder / f"{NAME}.xlsx", simple_report(villages()))))
    got = figures(db)
    assert len(got["village_status"]) == 7 and len(got["county_summary"]) == 2
    return got


# ------------------------------------------------------------------------------------------------- merged data cells


@pytest.mark.parametrize("kind", [".xlsx", ".xls", ".html.xls", ".xml.xls"])
def test_county_and_township_merged_over_their_villages_load_as_if_unmerged(tmp_path, unmerged, kind):
    data, merges = merged(villages(), first=3)               # title, date, header, then the villages
    assert {(r1, c) for r1, c, *_ in merges} == {(3, COUNTY), (8, COUNTY), (3, TOWNSHIP), (8, TOWNSHIP)}
    db = tmp_path / "warehouse.duckdb"
    result = load_one(db, write_any(tmp_path / f"{NAME}{kind}", simple_report(data), merges))
    accepted(result)
    assert result.village_rows == 7
    assert not [w for w in result.warnings if "合并单元格" in w], result.warnings
    assert figures(db) == unmerged


@pytest.mark.parametrize("kind", [".xlsx", ".xls", ".html.xls", ".xml.xls"])
def test_the_same_below_a_two_row_merged_header(tmp_path, unmerged, kind):
    """专项规划 merged over 产业…组织, 其中 over 公职人员, every other header merged down its two rows; then the
    county and township merged over their villages."""
    top, bottom = list(HEADER), [""] * len(HEADER)
    top[HEADER.index("其中公职人员")], bottom[HEADER.index("其中公职人员")] = "其中", "公职人员"
    first = HEADER.index("产业规划")
    for i, sub in enumerate(("产业", "人才", "文化", "生态", "组织")):
        top[first + i], bottom[first + i] = ("专项规划" if i == 0 else ""), sub
    header_merges = [(2, c, 3, c, top[c]) for c in range(len(top)) if top[c] and not bottom[c]]
    header_merges.append((2, first, 2, first + 4, "专项规划"))
    data, data_merges = merged(villages(), first=4)
    rows = [["红河州干部规划家乡行动工作进度统计表"], ["截至2022年3月31日"], top, bottom, *data, ["填表人：张三"]]
    db = tmp_path / "warehouse.duckdb"
    accepted(load_one(db, write_any(tmp_path / f"{NAME}{kind}", rows, header_merges + data_merges)))
    assert figures(db) == unmerged


@pytest.mark.parametrize("suffix", [".xlsx", ".xls"])
def test_a_blank_required_cell_outside_any_merged_range_is_still_refused_with_its_row(tmp_path, suffix):
    data, merges = merged(villages(), first=3)
    # 泸西县's two villages: the county typed once and not merged, so the second row's 县市区 is a plain blank.
    merges = [m for m in merges if not (m[1] == COUNTY and m[4] == "泸西县")]
    db = tmp_path / "warehouse.duckdb"
    result = load_one(db, write_report(tmp_path / f"{NAME}{suffix}", simple_report(data), merges=merges))
    assert result.status == "refused"
    assert result.errors == [f"{NAME}{suffix} / 村庄进度 / 第10行 / 县市区: 为空，该列必须填写"], result.errors


def test_a_merge_drawn_past_the_last_village_adds_no_row(tmp_path, unmerged):
    data, merges = merged(villages(), first=3)
    rows = simple_report(data, footer=())
    rows += [[], []]                                                    # two empty rows under the last village …
    merges = [(r1, c, r2 + 2 if r1 == 8 and c == COUNTY else r2, c2, t) for r1, c, r2, c2, t in merges]  # … merged
    db = tmp_path / "warehouse.duckdb"
    accepted(load_one(db, write_report(tmp_path / f"{NAME}.xlsx", rows, merges=merges)))
    assert figures(db) == unmerged


def test_a_figure_merged_over_several_villages_counts_in_each_and_is_pointed_out(tmp_path):
    data = villages()
    data[1][HEADER.index("编制组人数")] = ""                              # 9 merged over 花口村 and 可邑村
    merges = [(3, HEADER.index("编制组人数"), 4, HEADER.index("编制组人数"), 9)]
    db = tmp_path / "warehouse.duckdb"
    result = load_one(db, write_report(tmp_path / f"{NAME}.xlsx", simple_report(data), merges=merges))
    accepted(result)
    assert [w for w in result.warnings if "合并单元格" in w] == [
        f"{NAME}.xlsx / 村庄进度 / 第4行 / 编制组人数: 第4–5行的合并单元格「9」已计入所覆盖的每一行（共 2 行）；"
        "如为这些行的合计，请拆分后逐行填写"]
    got = {r["village"]: r["group_size"] for r in fetch(db, "SELECT village, group_size FROM village_status")}
    assert got["花口村"] == got["可邑村"] == 9


def test_merged_cells_apply_to_every_sheet_kind(tmp_path):
    """The 县级汇总 sheet's 州市 merged over its counties, like the villages' county: the same reading layer."""
    county = [["州市", "县市区", "摸排在外公职人员数", "纳入编制组干部数", "县级联络服务站", "乡级联络服务站"],
              ["红河州", "弥勒市", 1200, 300, 1, 14], ["", "泸西县", 800, 200, 1, 10]]
    path = write_xlsx(tmp_path / f"{NAME}.xlsx", [SheetSpec("村庄进度", simple_report(villages())),
                                                  SheetSpec("县级汇总", county, [(1, 0, 2, 0, "红河州")])])
    db = tmp_path / "warehouse.duckdb"
    accepted(load_one(db, path))
    got = {r["county_name"]: r["identified_civil_servants"] for r in fetch(db, "SELECT * FROM county_summary")}
    assert got == {"弥勒市": 1200, "泸西县": 800}


def test_merged_ranges_are_read_in_excel_coordinates_when_column_a_is_empty(tmp_path, unmerged):
    data, merges = merged(villages(), first=3)
    rows = [[None, *r] for r in simple_report(data)]                    # the table starts in column B
    merges = [(r1, c1 + 1, r2, c2 + 1, t) for r1, c1, r2, c2, t in merges]
    db = tmp_path / "warehouse.duckdb"
    for suffix in (".xlsx", ".xls"):
        sheet = read.read_sheets(Path(f"x{suffix}"), write_report(tmp_path / f"x{suffix}", rows,
                                                                   merges=merges).read_bytes())[0]
        assert (3, COUNTY, 7, COUNTY) in sheet.merges, sheet.merges      # grid column 1 is Excel column C
    accepted(load_one(db, write_report(tmp_path / f"{NAME}.xlsx", rows, merges=merges)))
    assert figures(db) == unmerged


# ------------------------------------------------------------------------------------------------- names that lie


def mht(html: bytes) -> bytes:
    """Excel's "单个文件网页": the page as a part of a MIME message (multipart/related), base64-encoded."""
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText

    message = MIMEMultipart("related")
    part = MIMEText(html.decode("utf-8"), "html", "utf-8")
    part["Content-Location"] = "file:///C:/报表/sheet001.htm"
    message.attach(part)
    return message.as_bytes()


def three(tmp_path: Path) -> list[list]:
    return simple_report(three_villages())


def _assert_three(db: Path) -> None:
    got = {r["village"]: r for r in fetch(db, "SELECT * FROM village_status")}
    assert set(got) == {"花口村", "新桥村", "旧城村"}
    assert got["新桥村"]["cadre_visits"] == 35 and got["花口村"]["funding_wan"] == pytest.approx(120.5)
    (county,) = fetch(db, "SELECT * FROM county_summary")
    assert county["task_villages"] == 3 and county["cadre_visits"] == 55


@pytest.mark.parametrize(("make", "name", "note"), [
    (lambda p, rows: write_xlsx(p, [SheetSpec("村庄进度", rows)]), f"{NAME}.xls", " Excel 工作簿（.xlsx）"),
    (lambda p, rows: write_xls(p, [SheetSpec("村庄进度", rows)]), f"{NAME}.xlsx", " Excel 97-2003 工作簿（.xls）"),
    (lambda p, rows: write_html(p, rows), f"{NAME}.xls", "网页（HTML）表格"),
    (lambda p, rows: write_html(p, rows, encoding="gb18030"), f"{NAME}.xls", "网页（HTML）表格"),
    (lambda p, rows: write_spreadsheetml(p, [SheetSpec("村庄进度", rows)]), f"{NAME}.xls",
     " Excel 2003 XML 表格（SpreadsheetML）"),
    (lambda p, rows: write_csv(p, rows), f"{NAME}.xls", "文本（CSV）"),
    (lambda p, rows: p.write_bytes("\n".join("\t".join(str(v) for v in r) for r in rows).encode("utf-16")),
     f"{NAME}.xls", "文本（CSV）"),                                         # Excel's "Unicode text": UTF-16, tabs
    (lambda p, rows: write_xlsx(p, [SheetSpec("村庄进度", rows)]), f"{NAME}.csv", " Excel 工作簿（.xlsx）"),
    (lambda p, rows: p.write_bytes(mht(write_html(p, rows).read_bytes())), f"{NAME}.xls", "单个文件网页（MHT）"),
], ids=["xlsx-as-xls", "xls-as-xlsx", "html-as-xls", "html-gb2312-as-xls", "spreadsheetml-as-xls", "csv-as-xls",
        "utf16-tabs-as-xls", "xlsx-as-csv", "mht-as-xls"])
def test_a_file_is_read_as_what_it_is_whatever_its_name(tmp_path, make, name, note):
    make(tmp_path / "made", three(tmp_path))
    path = tmp_path / name
    shutil.copyfile(tmp_path / "made", path)
    db = tmp_path / "warehouse.duckdb"
    result = load_one(db, path)
    accepted(result)
    suffix = Path(name).suffix
    assert f"{name} / 文件扩展名为 {suffix}，但内容是{note}，已按实际格式读取" in result.warnings, result.warnings
    _assert_three(db)


def test_a_wps_et_file_is_read_like_the_xls_it_is(tmp_path):
    xls = write_xls(tmp_path / "made.xls", [SheetSpec("村庄进度", three(tmp_path))])
    assert xls.read_bytes().startswith(read.OLE_MAGIC)                  # a real OLE2 compound file
    et = tmp_path / f"{NAME}.et"
    shutil.copyfile(xls, et)
    db = tmp_path / "warehouse.duckdb"
    result = load_one(db, et)
    accepted(result)
    assert not [w for w in result.warnings if "扩展名" in w], result.warnings
    _assert_three(db)


@pytest.mark.parametrize("suffix", [".xls", ".csv", ".et"])
def test_the_zip_checks_apply_to_a_zip_whatever_its_name(tmp_path, suffix):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("xl/workbook.xml", b"<workbook/>")
        zf.writestr("xl/worksheets/sheet1.xml", b" " * (8 * 1024 * 1024))     # 8 MB of spaces: about 1000:1
    path = tmp_path / f"{NAME}{suffix}"
    path.write_bytes(buf.getvalue())
    result = load_one(tmp_path / "warehouse.duckdb", path)
    assert result.status == "refused"
    assert len(result.errors) == 1 and "压缩比异常" in result.errors[0] and "疑似压缩炸弹" in result.errors[0]


def test_excel_2003_xml_with_a_dtd_is_refused_unparsed(tmp_path):
    path = write_spreadsheetml(tmp_path / f"{NAME}.xls", [SheetSpec("村庄进度", three(tmp_path))])
    text = path.read_text(encoding="utf-8").replace(
        "<?mso-application", '<!DOCTYPE lol [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><?mso-application', 1)
    path.write_text(text, encoding="utf-8")
    result = load_one(tmp_path / "warehouse.duckdb", path)
    assert result.status == "refused" and "DTD" in result.errors[0], result.errors


def test_hidden_sheets_and_skipped_cells_of_excel_2003_xml(tmp_path):
    rows = simple_report(three_villages())
    rows.insert(2, [])                                                 # an empty row: the next Row has ss:Index
    path = write_spreadsheetml(tmp_path / f"{NAME}.xls", [
        SheetSpec("村庄进度", rows), SheetSpec("旧数据", simple_report([village(group=1, civil=5)]), hidden=True)])
    db = tmp_path / "warehouse.duckdb"
    result = load_one(db, path)
    accepted(result)
    assert any("旧数据" in w and "隐藏工作表" in w for w in result.warnings), result.warnings
    _assert_three(db)
    assert "ss:Index" in path.read_text(encoding="utf-8")


def test_a_text_file_named_xls_without_a_report_names_what_it_is(tmp_path):
    path = tmp_path / f"{NAME}.xls"
    path.write_text("本月进度：全部完成\n", encoding="utf-8")
    result = load_one(tmp_path / "warehouse.duckdb", path)
    assert result.errors == [f"{NAME}.xls / 文件扩展名为 .xls，但内容是文本（CSV），其中没有找到「村庄进度」表"
                             "（按表名或表头均未找到）"]


def test_a_truncated_xls_is_refused_and_the_load_goes_on(tmp_path):
    """calamine panics on this one (a sector past the end); the file is refused with a reason, the next one loads."""
    xls = write_xls(tmp_path / "made.xls", [SheetSpec("村庄进度", three(tmp_path))]).read_bytes()
    cut = tmp_path / "cut" / f"{NAME}.xls"
    cut.parent.mkdir()
    cut.write_bytes(xls[:-100])                                         # an upload that stopped short
    good = write_report(tmp_path / "红河州_20220430.xlsx", simple_report(three_villages(), as_of="截至2022年4月30日"))
    db = tmp_path / "warehouse.duckdb"
    first, second = load(db, cut, good)
    assert first.status == "refused" and len(first.errors) == 1, first.errors
    assert first.errors[0].startswith(f"{NAME}.xls / 无法读取（文件损坏、加密或格式不符）"), first.errors
    accepted(second)


def test_sniff_tells_formats_by_their_bytes(tmp_path):
    xlsx = write_xlsx(tmp_path / "a.xlsx", [SheetSpec("s", [["x"]])]).read_bytes()
    xls = write_xls(tmp_path / "a.xls", [SheetSpec("s", [["x"]])]).read_bytes()
    html = write_html(tmp_path / "a.html", [["x"]]).read_bytes()
    xml = write_spreadsheetml(tmp_path / "a.xml", [SheetSpec("s", [["x"]])]).read_bytes()
    docx = io.BytesIO()
    with zipfile.ZipFile(docx, "w") as zf:
        zf.writestr("word/document.xml", "<w:document/>")
    assert [read.sniff(b) for b in (xlsx, xls, html, xml, "州市,县市区\n".encode(), b"%PDF-1.4", docx.getvalue(),
                                    b"\x89PNG\r\n\x1a\n", b"\x00\x01\x02binary")] == [
        read.XLSX, read.XLS, read.HTML, read.XML2003, read.TEXT, "pdf", "docx", "png", "binary"]


# ------------------------------------------------------------------------------------------------- every reason kept


def test_all_reasons_beyond_twenty_are_in_report_log_and_in_the_download(tmp_path):
    from hometown.access import uploads

    data = [village(township="某镇", village=f"第{i}村", group=-1, civil=0) for i in range(25)]
    data[3][HEADER.index("当前环节")] = 9
    path = write_report(tmp_path / f"{NAME}.xlsx", simple_report(data), sheet="-村庄进度")   # a name Excel would
    db = tmp_path / "warehouse.duckdb"                                                     # take for a formula
    result = load_one(db, path)
    assert result.status == "refused" and len(result.errors) == 26
    (log,) = fetch(db, "SELECT messages FROM report_log")
    assert log["messages"].split("\n") == result.errors
    shown = fold(result.errors)
    assert len(shown) == 22 and "另有 5 处" in shown[21], shown              # 20 + the stage fault + the fold line

    frame = uploads.reasons_frame([(path.name, "已拒收", result.errors, result.warnings)])
    assert frame.filter(frame["类别"] == "拒收原因")["行"].to_list() == [4, 5, 6, 7, 7, *range(8, 29)]
    book = openpyxl.load_workbook(io.BytesIO(uploads.reasons_file(frame, "xlsx")))
    sheet = book.worksheets[0]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    header = next(i for i, row in enumerate(values) if row[:7] == ["文件", "结果", "类别", "工作表", "行", "列", "问题"])
    body = values[header + 1:]
    assert len(body) == 26 + len(result.warnings)
    assert body[0][3] == "'-村庄进度" and body[0][4] == 4 and body[0][5] == "编制组人数"   # neutralised, not a formula
    csv_text = uploads.reasons_file(frame, "csv").decode("utf-8-sig")
    assert csv_text.startswith("文件,结果,类别,工作表,行,列,问题") and csv_text.count("\r\n") == frame.height + 1


# ------------------------------------------------------------------------------------------------- the command in a log


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "reports"
    folder.mkdir()
    write_report(folder / f"{NAME}.xlsx", simple_report(three_villages()))
    xls = write_xls(tmp_path / "y.xls", [SheetSpec("村庄进度", simple_report(
        [village(prefecture="玉溪市", county="红塔区", township="玉兴街道", village="荷花社区")],
        title="玉溪市干部规划家乡行动工作进度统计表"))])
    shutil.copyfile(xls, folder / "玉溪市_20220331.et")                  # a WPS file in the folder
    write_html(folder / "红河州_20220430.xls", simple_report(three_villages(), as_of="截至2022年4月30日"))
    return folder


def test_ingest_piped_into_a_log_prints_no_progress_bar(tmp_path):
    folder = _folder(tmp_path)
    out = subprocess.run(f"{sys.executable} -m pipelines ingest {folder} --db {tmp_path / 'w.duckdb'} 2>&1 | cat",
                         shell=True, cwd=ROOT, capture_output=True, timeout=180)
    text = out.stdout.decode()
    assert "\r" not in text and "个文件/s" not in text and "%|" not in text, text
    lines = text.splitlines()
    assert sum(line.startswith("✔ 已接收") for line in lines) == 3, text   # .xlsx, .et and HTML-as-.xls
    assert "共 3 个文件" in lines[-1]


def test_ingest_on_a_terminal_shows_the_progress_bar(tmp_path):
    folder = _folder(tmp_path)
    pid, fd = pty.fork()
    if pid == 0:  # the child: the CLI with a terminal for stdin, stdout and stderr
        try:
            # A terminal has a size; tqdm draws nothing on one of 0 columns.
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))
            os.chdir(ROOT)
            os.execv(sys.executable, [sys.executable, "-m", "pipelines", "ingest", str(folder), "--db",
                                      str(tmp_path / "w.duckdb")])
        finally:
            os._exit(127)
    chunks = []
    while True:
        ready, _, _ = select.select([fd], [], [], 180)
        if not ready:
            break
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    text = b"".join(chunks).decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, text
    # tqdm's frames: a carriage return that does not end a line (the terminal turns each \n into \r\n)
    assert re.search(r"\r(?!\n)", text) and "个文件/s" in text and "%|" in text, text
    assert sum("✔ 已接收" in line for line in text.splitlines()) == 3, text
