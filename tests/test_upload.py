"""Uploads: the pipeline's answer for every file at once, prefecture users limited to their own prefecture, size limit,
zip bombs refused before any parser inflates them, file names that cannot write outside their folder, the blank
template, the audit rows, and the upload page (AppTest).

Zip bombs are real: a workbook-shaped zip whose sheet XML inflates to 300 MB from 300 KB, one whose part is
compressed 1000:1, and one whose central directory lies about the size of its part.
"""

from __future__ import annotations

import hashlib

import io
import os
import struct
import tracemalloc
import zipfile
from pathlib import Path

import openpyxl
import pytest
from reportfiles import SheetSpec, simple_report, table_counts, three_villages, village, write_csv, write_xlsx

from hometown.access import audit, uploads
from pipelines import safety
from pipelines.ingest import ingest
from pipelines.template import blank_template

ROOT = Path(__file__).resolve().parent.parent
HONGHE, YUXI = "532500", "530400"
HONGHE_USER = {"username": "honghe", "display_name": "红河州项目组", "role": "prefecture", "prefecture_code": HONGHE,
               "county_code": None}
ADMIN = {"username": "admin", "display_name": "系统管理员", "role": "admin"}
COUNTY_USER = {"username": "mile", "display_name": "弥勒市专班", "role": "county", "county_code": "532504"}
MB = 1024 * 1024


def _honghe_report(path: Path, as_of: str = "截至2022年3月31日", rows=None) -> Path:
    return write_xlsx(path, [SheetSpec("村庄进度", simple_report(rows or three_villages(), as_of=as_of))])


def _yuxi_report(path: Path) -> Path:
    return write_xlsx(path, [SheetSpec("村庄进度", simple_report(
        [village(prefecture="玉溪市", county="红塔区", township="研和街道", village="研和社区")],
        title="玉溪市干部规划家乡行动工作进度统计表", as_of="截至2022年3月28日"))])


def _bad_report(path: Path) -> Path:
    rows = three_villages()
    rows[0][10] = 99  # 其中公职人员 99 > 编制组人数 9
    rows[1][7] = 31   # steps 31
    return _honghe_report(path, rows=rows)


@pytest.fixture
def folders(tmp_path, monkeypatch):
    monkeypatch.setenv(audit.AUDIT_ENV, str(tmp_path / "app.sqlite3"))
    monkeypatch.setenv(uploads.UPLOADS_ENV, str(tmp_path / "store" / "uploads"))
    monkeypatch.delenv(safety.MAX_MB_ENV, raising=False)
    return tmp_path


# ---------------------------------------------------------------------------------------------------- zip bombs


def _workbook_zip(parts: dict[str, bytes | int], level: int = 9) -> bytes:
    """A zip shaped like a workbook; an int part is that many bytes of spaces, streamed in (never held whole)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        for name, content in parts.items():
            if isinstance(content, int):
                with zf.open(name, "w", force_zip64=content > 2**31) as f:
                    chunk = b" " * MB
                    for _ in range(content // MB):
                        f.write(chunk)
            else:
                zf.writestr(name, content)
    return buf.getvalue()


WORKBOOK_PARTS = {
    "[Content_Types].xml": b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>',
    "xl/workbook.xml": b'<?xml version="1.0"?><workbook/>',
}


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """300 KB that inflate to 300 MB of sheet XML (the limit is 256 MB)."""
    return _workbook_zip({**WORKBOOK_PARTS, "xl/worksheets/sheet1.xml": 300 * MB})


def _never_parse(monkeypatch):
    import fastexcel

    def refuse(*args, **kwargs):
        raise AssertionError("the parser was reached")

    monkeypatch.setattr(fastexcel, "read_excel", refuse)


def test_a_zip_bomb_is_refused_from_its_directory_without_inflating_it(bomb, folders, monkeypatch):
    assert len(bomb) < 1 * MB
    _never_parse(monkeypatch)
    db = folders / "warehouse.duckdb"
    tracemalloc.start()
    try:
        # In this process, so that the patched parser and the memory count see the check (a checker would hide both).
        (result,) = ingest([Path("报表.xlsx")], db, data_by_path={Path("报表.xlsx"): bomb}, in_process=True)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.refused
    assert any("疑似压缩炸弹" in e and "未解压即拒收" in e for e in result.errors), result.errors
    assert peak < 32 * MB, f"peak {peak / MB:.0f} MB"
    assert table_counts(db)["village_rows"] == 0 and table_counts(db)["report_log"] == 1


def test_a_part_compressed_far_beyond_any_real_workbook_is_refused(folders, monkeypatch):
    data = _workbook_zip({**WORKBOOK_PARTS, "xl/worksheets/sheet1.xml": 100 * MB})  # ~1000:1, under the total
    _never_parse(monkeypatch)
    problem = safety.check_zip(data)
    assert problem and "压缩比异常" in problem


def _lie_about_size(data: bytes, name: str, declared: int) -> bytes:
    """Rewrite the uncompressed size of a part in its local header and the central directory."""
    out = bytearray(data)
    encoded = name.encode()
    at = out.find(b"PK\x03\x04" + bytes(22))  # not used: located below by name
    at = 0
    while True:
        at = out.find(b"PK\x03\x04", at)
        if out[at + 30:at + 30 + len(encoded)] == encoded:
            out[at + 22:at + 26] = struct.pack("<I", declared)
            break
        at += 4
    at = 0
    while True:
        at = out.find(b"PK\x01\x02", at)
        if out[at + 46:at + 46 + len(encoded)] == encoded:
            out[at + 24:at + 28] = struct.pack("<I", declared)
            break
        at += 4
    return bytes(out)


def test_a_part_that_inflates_beyond_what_it_declares_is_refused_in_bounded_memory(folders, monkeypatch):
    honest = _workbook_zip({**WORKBOOK_PARTS, "xl/worksheets/sheet1.xml": 40 * MB})
    lying = _lie_about_size(honest, "xl/worksheets/sheet1.xml", 2 * MB)  # 2 MB declared: ratio looks sane
    with zipfile.ZipFile(io.BytesIO(lying)) as zf:
        assert zf.getinfo("xl/worksheets/sheet1.xml").file_size == 2 * MB
    _never_parse(monkeypatch)
    tracemalloc.start()
    try:
        problem = safety.check_zip(lying, safety.ZipLimits(max_ratio=10_000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert problem and "大于其声明的大小" in problem
    assert peak < 8 * MB


def test_a_real_report_passes_the_zip_checks(tmp_path):
    data = _honghe_report(tmp_path / "红河州_20220331.xlsx").read_bytes()
    assert safety.check_zip(data) is None
    assert safety.check_zip(b"PK\x03\x04 not really a zip") .startswith("不是有效的 Excel 文件")


# ------------------------------------------------------------------------------------------------------- size


def test_an_oversized_upload_is_refused_before_it_is_checked(folders, monkeypatch):
    monkeypatch.setenv(safety.MAX_MB_ENV, "1")
    big = write_csv(folders / "大文件.csv", simple_report([village()] * 1) + [["x" * 1000]] * 1500)
    assert big.stat().st_size > MB
    from pipelines import kinds

    monkeypatch.setattr(kinds, "check", lambda *a, **k: pytest.fail("an oversized file was checked"))
    done = uploads.handle([("大文件.csv", big.read_bytes())], folders / "warehouse.duckdb", user=HONGHE_USER)
    assert done[0].result.refused
    assert "文件过大" in done[0].result.errors[0] and "不能超过 1.0 MB" in done[0].result.errors[0]


def test_an_oversized_file_on_disk_is_refused_without_reading_it(folders, monkeypatch):
    huge = folders / "红河州_20220331.xlsx"
    with open(huge, "wb") as f:  # sparse: 25 MB on paper, nothing on disk
        f.truncate(25 * MB)
    real_read = Path.read_bytes

    def read_bytes(self):
        if self == huge:
            raise AssertionError("the oversized file was read")
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    (result,) = ingest([huge], folders / "warehouse.duckdb")
    assert result.refused and "文件过大" in result.errors[0] and "20.0 MB" in result.errors[0]


# ------------------------------------------------------------------------------------------------- file names


@pytest.mark.parametrize("name, safe", [
    ("../../x.xlsx", "x.xlsx"),
    ("..\\..\\x.xlsx", "x.xlsx"),
    ("/etc/cron.d/x.xlsx", "x.xlsx"),
    ("C:\\Windows\\System32\\x.xlsx", "x.xlsx"),
    ("....xlsx", "xlsx"),
    ("..", "report"),
    ("", "report"),
    ("红河州\x00_2022.xlsx", "红河州__2022.xlsx"),
    (".hidden.xlsx", "hidden.xlsx"),
    ("a<b>|c?.xlsx", "a_b__c_.xlsx"),
])
def test_safe_names(name, safe):
    assert safety.safe_name(name) == safe


def test_an_upload_named_dot_dot_writes_nowhere_outside_its_folder(folders):
    good = _honghe_report(folders / "src.xlsx").read_bytes()
    before = {p for p in folders.rglob("*")}
    done = uploads.handle([("../../x.xlsx", good)], folders / "warehouse.duckdb", user=HONGHE_USER)
    assert done[0].result.status == "accepted" and done[0].result.file_name == "x.xlsx"
    store = (folders / "store" / "uploads" / HONGHE).resolve()
    saved = done[0].saved_to
    assert saved.parent == store and saved.name.endswith("_x.xlsx") and saved.read_bytes() == good
    created = {p for p in folders.rglob("*")} - before
    outside = [p for p in created if p.is_file() and store not in p.resolve().parents
               and p.name not in ("warehouse.duckdb", "warehouse.duckdb.lock", "app.sqlite3", "app.sqlite3-wal", "app.sqlite3-shm")]
    assert not outside, outside
    assert not (folders / "x.xlsx").exists() and not (folders.parent / "x.xlsx").exists()
    assert not (folders.parent.parent / "x.xlsx").exists()
    assert safety.inside(store, "..") == store / "report"  # nothing resolves outside the folder
    assert safety.inside(store, "../../x.xlsx") == store / "x.xlsx"


# ---------------------------------------------------------------------------------- who uploads what, all at once


def test_every_outcome_at_once_with_every_reason(folders):
    db = folders / "warehouse.duckdb"
    first = _honghe_report(folders / "红河州_20220331.xlsx").read_bytes()
    correction = _honghe_report(folders / "红河州_20220331_更正.xlsx",
                                rows=three_villages()[:2]).read_bytes()
    bad = _bad_report(folders / "红河州_坏.xlsx").read_bytes()
    uploads.handle([("红河州_20220331.xlsx", first)], db, user=HONGHE_USER)
    done = uploads.handle([("红河州_20220331.xlsx", first), ("红河州_20220331_更正.xlsx", correction),
                           ("红河州_坏.xlsx", bad), ("玉溪市_20220328.xlsx", _yuxi_report(folders / "y.xlsx").read_bytes())],
                          db, user=HONGHE_USER)
    assert [u.result.status for u in done] == ["duplicate", "superseded", "refused", "refused"]
    table = uploads.results_table(done)
    assert table["文件"].to_list() == ["红河州_20220331.xlsx", "红河州_20220331_更正.xlsx", "红河州_坏.xlsx",
                                      "玉溪市_20220328.xlsx"]
    assert table["结果"].to_list()[2].endswith("已拒收") and table["任务村数"].to_list()[1] == 2
    reasons = uploads.reasons_table(done)
    bad_reasons = reasons.filter(reasons["文件"] == "红河州_坏.xlsx")["内容"].to_list()
    assert len(bad_reasons) == 2 and any("99" in r for r in bad_reasons) and any("31" in r for r in bad_reasons)
    yuxi = reasons.filter(reasons["文件"] == "玉溪市_20220328.xlsx")["内容"].to_list()
    assert yuxi == ["玉溪市_20220328.xlsx: 该文件是玉溪市的报表，本账号只能报送红河哈尼族彝族自治州的报表"]
    # Kept for the record: the accepted originals only.
    kept = sorted(p.name for p in (folders / "store" / "uploads").rglob("*.xlsx"))
    assert len(kept) == 2 and all(k.endswith(("_红河州_20220331.xlsx", "_红河州_20220331_更正.xlsx")) for k in kept)
    rows = audit.events(action="upload")
    assert rows.height == 5 and set(rows["username"]) == {"honghe"}
    assert sorted(rows["outcome"].to_list()) == ["ok", "ok", "ok", "refused", "refused"]
    assert any("本账号只能报送" in d for d in rows["detail"].to_list())
    # And each received file in the app store's record, with its hash and where its original was kept.
    got = uploads.received().sort("upload_id")
    assert got["status"].to_list() == ["accepted", "duplicate", "superseded", "refused", "refused"]
    assert got["sha256"][0] == got["sha256"][1] == hashlib.sha256(first).hexdigest()
    assert got["size_bytes"][2] == len(correction) and set(got["username"]) == {"honghe"}
    assert [k is not None for k in got["kept_as"]] == [True, False, True, False, False]
    assert got["kept_as"][2].endswith("_红河州_20220331_更正.xlsx") and Path(got["kept_as"][2]).is_file()


def test_another_prefectures_file_is_refused_even_when_already_loaded(folders):
    db = folders / "warehouse.duckdb"
    yuxi = _yuxi_report(folders / "玉溪市_20220328.xlsx").read_bytes()
    assert uploads.handle([("玉溪市_20220328.xlsx", yuxi)], db, user=ADMIN)[0].result.status == "accepted"
    (again,) = uploads.handle([("玉溪市_20220328.xlsx", yuxi)], db, user=HONGHE_USER)
    assert again.result.status == "refused" and "本账号只能报送" in again.result.errors[0]
    assert uploads.handle([("玉溪市_20220328.xlsx", yuxi)], db, user=ADMIN)[0].result.status == "duplicate"


def test_only_prefecture_users_and_admins_upload(folders):
    with pytest.raises(PermissionError, match="无权上传"):
        uploads.handle([("x.xlsx", b"")], folders / "warehouse.duckdb", user=COUNTY_USER)
    assert audit.events(action="upload")["outcome"].to_list() == ["refused"]
    assert uploads.expected_prefecture(HONGHE_USER) == HONGHE
    assert uploads.expected_prefecture(ADMIN) is None and uploads.expected_prefecture(None) is None


# ---------------------------------------------------------------------------------------------------- template


def _validations(ws) -> dict[str, str]:
    """Column letter → the validation's formula (list source or bound)."""
    out = {}
    for dv in ws.data_validations.dataValidation:
        for rng in str(dv.sqref).split():
            out[rng.split(":")[0].rstrip("0123456789")] = dv.formula1
    return out


def test_the_blank_template_has_the_contracts_headers_and_drop_downs():
    from pipelines.columns import SHEET_KINDS, MONEY
    from warehouse.stages import PLAN_STATUSES, stage_names

    book = openpyxl.load_workbook(io.BytesIO(blank_template(HONGHE)))
    assert book.sheetnames == ["村庄进度", "县级汇总", "需求清单", "项目资金"]
    assert all(ws.sheet_state == "visible" for ws in book.worksheets)
    for kind in SHEET_KINDS:
        ws = book[kind.title]
        headers = [c.value for c in ws[2]]
        assert headers == [c.canonical + ("（万元）" if c.kind == MONEY else "") for c in kind.columns]
    ws = book["村庄进度"]
    headers = [c.value for c in ws[2]]
    v = _validations(ws)
    col = {h: openpyxl.utils.get_column_letter(i + 1) for i, h in enumerate(headers)}
    assert v[col["州市"]] == '"红河州"'
    counties = v[col["县市区"]].strip('"').split(",")
    assert "弥勒市" in counties and "个旧市" in counties and "红塔区" not in counties and len(counties) == 13
    assert v[col["当前环节"]].strip('"').split(",") == [stage_names()[k] for k in sorted(stage_names())]
    assert v[col["规划状态"]].strip('"').split(",") == list(PLAN_STATUSES)
    for flag in ("产业规划", "人才规划", "文化规划", "生态规划", "组织规划", "理事会"):
        assert v[col[flag]] == '"是,否"'
    needs = _validations(book["需求清单"])
    assert "基础设施" in next(f for f in needs.values() if f and "基础设施" in f)
    whole = openpyxl.load_workbook(io.BytesIO(blank_template(None)))
    heads = [c.value for c in whole["村庄进度"][2]]
    pref_col = openpyxl.utils.get_column_letter(heads.index("州市") + 1)
    assert len(_validations(whole["村庄进度"])[pref_col].strip('"').split(",")) == 16


def test_a_filled_in_template_is_accepted(folders):
    book = openpyxl.load_workbook(io.BytesIO(blank_template(HONGHE)))
    ws = book["村庄进度"]
    heads = [c.value for c in ws[2]]
    values = {"州市": "红河州", "县市区": "弥勒市", "乡镇": "西三镇", "行政村": "花口村", "截止日期": "2022-03-31",
              "任务年度": 2021, "当前环节": "方案编制", "已完成步骤数": 14, "规划状态": "编制中", "编制组人数": 9,
              "其中公职人员": 2, "产业规划": "是", "人才规划": "否", "理事会": "是", "项目资金（万元）": 12.5}
    for name, value in values.items():
        ws.cell(3, heads.index(name) + 1, value)
    buf = io.BytesIO()
    book.save(buf)
    (done,) = uploads.handle([("红河州_20220331.xlsx", buf.getvalue())], folders / "warehouse.duckdb",
                             user=HONGHE_USER)
    assert done.result.status == "accepted", done.result.errors
    assert done.result.village_rows == 1 and not done.result.warnings


# ------------------------------------------------------------------------------------------------ the page


def _upload_page(folders, monkeypatch, user: dict | None, role: str | None):
    """The upload page through app.py (the open app: user, scope and role are the session's, as a sign-in sets
    them); a page never runs by itself (ui.guard). Its callers keep the legacy pages mode off (conftest)."""
    from apptests import app_page

    from hometown.access.auth import scope_for

    monkeypatch.setenv("HOMETOWN_DB", str(folders / "warehouse.duckdb"))
    monkeypatch.chdir(folders)
    at = app_page("pages/upload.py", timeout=120)
    if user:
        at.session_state["user"] = user
        at.session_state["scope"] = scope_for(user)
    if role:
        at.session_state["role"] = role
    at.run()
    return at


def test_upload_page_shows_every_result_and_reason(folders, monkeypatch, no_legacy_pages_mode):
    good = _honghe_report(folders / "good.xlsx").read_bytes()
    bad = _bad_report(folders / "bad.xlsx").read_bytes()
    at = _upload_page(folders, monkeypatch, HONGHE_USER, "prefecture")
    assert not at.exception, at.exception
    assert "红河哈尼族彝族自治州" in " ".join(c.value for c in at.caption)
    at.get("file_uploader")[0].set_value([("../../红河州_20220331.xlsx", good, "application/octet-stream"),
                                          ("红河州_坏.xlsx", bad, "application/octet-stream")])
    at.button(key="FormSubmitter:up_form-检查并导入").click().run()
    assert not at.exception, at.exception
    files = at.dataframe[0].value
    assert files["文件"].to_list() == ["红河州_20220331.xlsx", "红河州_坏.xlsx"]
    assert "已接收" in files["结果"][0] and "已拒收" in files["结果"][1]
    reasons = at.dataframe[1].value
    assert len(reasons) == 2 and all(reasons["类别"] == "拒收原因")
    assert any("1 个文件被拒收" in e.value for e in at.error)
    kept = list((folders / "store" / "uploads" / HONGHE).iterdir())
    assert len(kept) == 1 and kept[0].name.endswith("_红河州_20220331.xlsx")
    assert not (folders.parent / "红河州_20220331.xlsx").exists()


def test_upload_page_folds_a_long_list_and_offers_it_whole(folders, monkeypatch, no_legacy_pages_mode):
    rows = [village(township="某镇", village=f"第{i}村", group=-1, civil=0) for i in range(25)]
    bad = _honghe_report(folders / "bad.xlsx", rows=rows).read_bytes()
    at = _upload_page(folders, monkeypatch, HONGHE_USER, "prefecture")
    at.get("file_uploader")[0].set_value([("红河州_20220331.xlsx", bad, "application/octet-stream")])
    at.button(key="FormSubmitter:up_form-检查并导入").click().run()
    assert not at.exception, at.exception
    reasons = at.dataframe[1].value
    shown = reasons[reasons["类别"] == "拒收原因"]["内容"].to_list()
    assert len(shown) == 21 and "同类问题另有 5 处" in shown[-1] and "共 25 处" in shown[-1]
    assert any("25 条拒收原因" in m.value for m in at.markdown), [m.value for m in at.markdown]
    labels = [b.proto.label for b in at.get("download_button")]
    assert "下载完整原因清单（Excel）" in labels and "下载完整原因清单（CSV）" in labels, labels


def test_upload_page_refuses_roles_that_may_not_upload(folders, monkeypatch, no_legacy_pages_mode):
    at = _upload_page(folders, monkeypatch, COUNTY_USER, "county")
    assert any("无权上传" in e.value for e in at.error)
    assert not at.get("file_uploader")
