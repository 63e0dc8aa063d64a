"""Report kinds by registration (pipelines.kinds): the progress kind as the platform's one kind today, and a second
kind added as a room of its own — found by the registry, routed by its sheets, loaded by its own loader — with no
edit to ingest, the checker processes or the upload page.

The second kind lives in a temporary folder added to the ``pipelines.kinds`` package path for the test, exactly as
a module ``pipelines/kinds/<kind>.py`` would be found.
"""

from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path

import pytest

from pipelines import kinds
from reportfiles import PUBLIC_VIEWS, SheetSpec, fetch, load, simple_report, village, write_report, write_xlsx

TEAMS_KIND = '''
"""A test kind: one sheet 测试队伍, every row a team; loaded into its own table."""
import hashlib
from datetime import date
from pathlib import Path

from pipelines.kinds import ReportKind
from pipelines.report import CheckedReport
from pipelines.read import read_sheets


def check(path, data, as_of_limit):
    data = Path(path).read_bytes() if data is None else data
    checked = CheckedReport(Path(path).name, hashlib.sha256(data).hexdigest(), "532500", date(2024, 3, 31))
    rows = [r for s in read_sheets(Path(path), data) for r in s.head_rows(100)[1:] if any(r)]
    if not rows:
        checked.errors.append(f"{Path(path).name}: 测试队伍 表没有数据")
    checked.frames = {"teams": rows}
    return checked


def load(con, checked, report_id):
    con.execute("CREATE TABLE IF NOT EXISTS test_teams (report_id INTEGER, team VARCHAR, leader VARCHAR)").fetchall()
    for team, leader, *_ in checked.frames["teams"]:
        con.execute("INSERT INTO test_teams VALUES (?, ?, ?)", [report_id, team, leader]).fetchall()


KIND = ReportKind(key="teams_test", label="驻村力量（测试）", sheets=("测试队伍",), check=check, load=load,
                  template=lambda code: b"", template_name=lambda code: "teams.xlsx", template_note="测试",
                  views=("test_teams",), order=90)
'''


@pytest.fixture
def with_teams(tmp_path, monkeypatch):
    room = tmp_path / "kinds_extra"
    room.mkdir()
    (room / "teams_test.py").write_text(textwrap.dedent(TEAMS_KIND), encoding="utf-8")
    monkeypatch.setattr(kinds, "__path__", [*kinds.__path__, str(room)])
    kinds.kinds.cache_clear()
    yield
    kinds.kinds.cache_clear()
    import sys

    sys.modules.pop("pipelines.kinds.teams_test", None)


def test_the_progress_kind_is_registered_with_its_template_and_views():
    progress = kinds.kinds()[0]  # the first kind: the fallback (驻村力量 teams is registered after it)
    assert progress.key == "progress" and kinds.kind("progress") is progress
    assert {"村庄进度", "县级汇总", "需求清单", "项目资金"} <= set(progress.sheets)
    assert progress.views == PUBLIC_VIEWS
    assert progress.template(None)[:2] == b"PK" and progress.template_name(None).endswith(".xlsx")
    with pytest.raises(KeyError):
        kinds.kind("no_such_kind")


def test_a_checked_report_says_its_kind(tmp_path):
    path = write_report(tmp_path / "红河州_20220331.xlsx", simple_report([village()]))
    checked = kinds.check(path)
    assert checked.ok and checked.kind == "progress"


def test_recognise_goes_by_most_sheets_and_falls_back_to_the_first(with_teams):
    progress, teams = kinds.kinds()[0], kinds.kind("teams_test")
    assert progress.key == "progress" and kinds.kinds()[-1] is teams
    assert kinds.recognise(["测试队伍"]) is teams
    assert kinds.recognise(["村庄进度", "县级汇总"]) is progress
    assert kinds.recognise(["Sheet1"]) is progress  # nobody's: the first kind's checks say what is missing
    assert kinds.recognise([]) is progress


def test_a_second_kind_loads_beside_progress_without_editing_the_core(with_teams, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    progress_file = write_report(folder / "a_红河州_20220331.xlsx", simple_report([village()]))
    teams_file = write_xlsx(folder / "b_红河州驻村力量.xlsx", [SheetSpec("测试队伍", [
        ["工作队", "队长"], ["花口村工作队", "张三"], ["可邑村工作队", "李四"]])])
    db = tmp_path / "w.duckdb"
    results = load(db, folder, in_process=True)  # the test's kind room is known to this process only
    assert [r.status for r in results] == ["accepted", "accepted"], [r.errors for r in results]
    log = fetch(db, "SELECT file_name, status FROM report_log ORDER BY report_id")
    assert [r["file_name"] for r in log] == [progress_file.name, teams_file.name]
    teams = fetch(db, "SELECT team, leader, report_id FROM test_teams ORDER BY team")
    assert [(t["team"], t["leader"]) for t in teams] == [("可邑村工作队", "李四"), ("花口村工作队", "张三")]
    assert {t["report_id"] for t in teams} == {results[1].report_id}
    # The progress file went to the progress loader only.
    assert [v["village"] for v in fetch(db, "SELECT village FROM village_status")] == ["花口村"]


def test_the_checker_processes_check_through_the_registry(with_teams, tmp_path):
    """What a spawned checker runs (checks._check) asks the registry too: a kind's room is checked there as well."""
    from pipelines import checks

    teams_file = write_xlsx(tmp_path / "驻村力量.xlsx", [SheetSpec("测试队伍", [["工作队", "队长"], ["一队", "王五"]])])
    checked = checks._check((teams_file, teams_file.read_bytes(), date(2030, 1, 1)))
    assert checked.kind == "teams_test" and checked.frames["teams"] == [["一队", "王五"]]


def test_a_kind_registered_twice_is_refused(with_teams, tmp_path, monkeypatch):
    twin = tmp_path / "twin"
    twin.mkdir()
    (twin / "teams_twin.py").write_text(textwrap.dedent(TEAMS_KIND), encoding="utf-8")
    monkeypatch.setattr(kinds, "__path__", [*kinds.__path__, str(twin)])
    kinds.kinds.cache_clear()
    with pytest.raises(RuntimeError, match="registered twice"):
        kinds.kinds()
    import sys

    sys.modules.pop("pipelines.kinds.teams_twin", None)


def test_the_upload_page_offers_every_kinds_template(with_teams, tmp_path, monkeypatch, no_legacy_pages_mode):
    from apptests import app_page

    monkeypatch.setenv("HOMETOWN_AUTH", "off")
    monkeypatch.setenv("HOMETOWN_DB", str(tmp_path / "none.duckdb"))
    at = app_page("pages/upload.py", timeout=60).run()  # through app.py: a page never runs by itself (ui.guard)
    assert not at.exception, at.exception
    labels = [b.label for b in at.get("download_button")]
    assert "下载村庄规划进度报表模板" in labels and "下载驻村力量（测试）模板" in labels


def test_an_older_warehouse_gets_the_kind_column(tmp_path):
    """A warehouse written before kinds were registered: its reports become progress reports at the next write, and
    the progress views keep their columns."""
    import duckdb

    from warehouse.store import writing

    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE reports (report_id INTEGER PRIMARY KEY, file_name VARCHAR NOT NULL, sha256 VARCHAR NOT "
                "NULL, prefecture_code VARCHAR, as_of DATE, loaded_at TIMESTAMP NOT NULL, status VARCHAR NOT NULL, "
                "village_rows INTEGER NOT NULL DEFAULT 0, messages VARCHAR, warnings VARCHAR, superseded_by INTEGER, "
                "loaded_by VARCHAR)").fetchall()
    con.execute("INSERT INTO reports VALUES (1, 'a.xlsx', 'x', '532500', DATE '2022-03-31', now(), 'accepted', 0, "
                "NULL, NULL, NULL, NULL)").fetchall()
    con.close()
    with writing(path):
        pass
    assert fetch(path, "SELECT report_id, kind FROM reports") == [{"report_id": 1, "kind": "progress"}]
    assert [r["report_id"] for r in fetch(path, "SELECT report_id FROM current_reports")] == [1]
    columns = [r["column_name"] for r in fetch(path, "SELECT column_name FROM (DESCRIBE accepted_reports)")]
    assert "kind" not in columns and columns[:3] == ["report_id", "file_name", "sha256"]


def test_every_kind_skips_empty_and_hidden_sheets_with_the_same_notes(tmp_path):
    """One loop (pipelines.report.usable_sheets) decides which sheets every kind's check reads."""
    from commitmentfiles import ITEM_HEADER, item
    from teamfiles import attendance_of, team_of_three
    from teamfiles import workbook as teams_workbook

    extra = (SheetSpec("备用", []), SheetSpec("旧数据", [["州市", "县市区"], ["红河州", "弥勒市"]], hidden=True))
    roster = team_of_three()
    files = [
        write_report(tmp_path / "红河州_20220331.xlsx", simple_report([village()]), more=extra),
        teams_workbook(tmp_path / "红河州_驻村力量_202203.xlsx", roster, attendance_of(roster), more=extra),
        write_xlsx(tmp_path / "红河州_任期承诺_20220630.xlsx", [SheetSpec("承诺事项", [ITEM_HEADER, item()]), *extra]),
    ]
    for path, kind in zip(files, ("progress", "teams", "commitments")):
        checked = kinds.check(path)
        assert checked.ok and checked.kind == kind, checked.errors[:3]
        notes = [w for w in checked.warnings if "备用" in w or "旧数据" in w]
        assert notes == [f"{path.name} / 备用 / 空白工作表，已忽略", f"{path.name} / 旧数据 / 隐藏工作表，已忽略"], notes


def test_each_kind_says_what_an_accepted_file_brought(tmp_path):
    """The one-line result (command, upload page, audit) counts in each kind's own terms, not always 任务村."""
    from commitmentfiles import ITEM_HEADER, item
    from teamfiles import attendance_of, team_of_three
    from teamfiles import workbook as teams_workbook

    roster = team_of_three()
    progress = write_report(tmp_path / "红河州_20220331.xlsx", simple_report([village(), village(village="可邑村")]))
    teams = teams_workbook(tmp_path / "红河州_驻村力量_202203.xlsx", roster, attendance_of(roster))
    commitments = write_xlsx(tmp_path / "红河州_任期承诺_20220630.xlsx",
                             [SheetSpec("承诺事项", [ITEM_HEADER, item(), item(no="2")])])
    results = load(tmp_path / "w.duckdb", progress, teams, commitments)
    assert [r.status for r in results] == ["accepted"] * 3, [r.errors[:2] for r in results]
    lines = [r.line() for r in results]
    assert lines[0].endswith("2 个任务村"), lines
    assert lines[1].endswith("1 个村的驻村人员 3 名，考勤 3 条"), lines
    assert lines[2].endswith("1 个村的承诺事项 2 项"), lines
