"""A file that crashes its reader (pipelines/checks.py): every file is read and checked in a spawned checker
process, so a damaged .xls that aborts calamine kills only that checker. The file is refused as damaged, naming it
(文件损坏，无法读取), the rest of the batch loads, and the process that offered it (the app, the command) lives on.

The damaged file is real: an .xls written by xlwt whose DIMENSIONS record claims four billion rows, which makes
calamine abort the process (SIGABRT) rather than raise — checked first below, in a plain child process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from hometown.access import audit, uploads
from pipelines import checks
from pipelines.ingest import ingest
from reportfiles import fetch, simple_report, three_villages, village, write_crashing_xls, write_report

REPO_ROOT = Path(__file__).resolve().parent.parent
DAMAGED = "红河州_20220331.xls"  # sorts between the February and April reports of the batch


def _honghe(folder: Path, day: date) -> Path:
    return write_report(folder / f"红河州_{day:%Y%m%d}.xlsx",
                        simple_report(three_villages(), as_of=f"截至{day.year}年{day.month}月{day.day}日"))


def _damaged(folder: Path) -> Path:
    return write_crashing_xls(folder / DAMAGED, simple_report(three_villages()))


def _refused_as_damaged(errors: list[str]) -> None:
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"{DAMAGED}: 文件损坏，无法读取"), errors
    assert "SIGABRT" in errors[0] and "文件未导入" in errors[0], errors


def test_the_damaged_xls_really_kills_the_process_that_reads_it(tmp_path):
    path = _damaged(tmp_path)
    read = ("import sys, fastexcel\n"
            "reader = fastexcel.read_excel(open(sys.argv[1], 'rb').read())\n"
            "for i in range(len(reader.sheet_names)):\n"
            "    reader.load_sheet(i, header_row=None, skip_rows=0, dtypes='string').to_polars()\n")
    done = subprocess.run([sys.executable, "-c", read, str(path)], capture_output=True, timeout=120,
                          env={"RUST_BACKTRACE": "0", "PATH": "/usr/bin:/bin"})
    assert done.returncode == -signal.SIGABRT, (done.returncode, done.stderr[-500:])
    assert b"memory allocation" in done.stderr


@pytest.mark.parametrize("workers", ["1", "2"])
def test_the_command_refuses_the_crashing_file_and_loads_the_rest_of_the_batch(tmp_path, workers):
    folder = tmp_path / "batch"
    folder.mkdir()
    files = [_honghe(folder, date(2022, m, d)) for m, d in ((1, 31), (2, 28), (4, 30), (5, 31))]
    _damaged(folder)  # a checker dies mid-batch and a new one takes over
    db = tmp_path / "w.duckdb"
    done = subprocess.run([sys.executable, "-m", "pipelines", "ingest", str(folder), "--db", str(db), "--quiet"],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "HOMETOWN_INGEST_WORKERS": workers, "RUST_BACKTRACE": "0"})
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr[-2000:])
    lines = done.stdout.splitlines()
    refused = [i for i, line in enumerate(lines) if line.startswith("✘ 已拒收") and DAMAGED in line]
    assert len(refused) == 1, done.stdout
    assert lines[refused[0] + 1].strip().startswith(f"{DAMAGED}: 文件损坏，无法读取"), done.stdout
    assert sum(line.startswith("✔ 已接收") for line in lines) == 4, done.stdout
    assert "共 5 个文件：" in lines[-1]
    log = fetch(db, "SELECT file_name, status, messages FROM report_log ORDER BY report_id")
    assert [(r["file_name"], r["status"]) for r in log] == \
        [(f.name, "accepted") for f in files[:2]] + [(DAMAGED, "refused")] + [(f.name, "accepted") for f in files[2:]]
    _refused_as_damaged([log[2]["messages"]])
    assert fetch(db, "SELECT count(DISTINCT as_of) AS n FROM village_history") == [{"n": 4}]


def test_an_upload_that_crashes_its_reader_is_refused_and_the_app_lives_on(tmp_path, monkeypatch):
    """uploads.handle runs in the app's process (here: this test's): the checker dies, the app does not."""
    monkeypatch.setenv("HOMETOWN_APP_DB", str(tmp_path / "app.sqlite3"))  # its own app store (audit rows)
    monkeypatch.setenv("RUST_BACKTRACE", "0")
    good = _honghe(tmp_path, date(2022, 3, 31))
    bad = _damaged(tmp_path)
    db = tmp_path / "w.duckdb"
    done = uploads.handle([(bad.name, bad.read_bytes()), (good.name, good.read_bytes())], db,
                          folder=tmp_path / "kept")
    assert [u.result.status for u in done] == ["refused", "accepted"]
    _refused_as_damaged(done[0].result.errors)
    assert done[0].saved_to is None and done[1].saved_to is not None
    table = uploads.results_table(done)
    assert table["结果"].to_list() == ["已拒收", "已接收"]
    rows = audit.events(action="upload").sort("event_id")
    assert rows["outcome"].to_list() == ["refused", "ok"] and rows["target"].to_list() == [bad.name, good.name]
    # The next upload is checked by a fresh checker and loads.
    later = _honghe(tmp_path, date(2022, 4, 30))
    (again,) = uploads.handle([(later.name, later.read_bytes())], db, folder=tmp_path / "kept")
    assert again.result.status == "accepted"


def test_a_checker_that_takes_too_long_is_stopped_and_its_file_refused(tmp_path, monkeypatch):
    monkeypatch.setenv(checks.TIMEOUT_ENV, "0.001")  # no real report is read and checked within a millisecond
    report = _honghe(tmp_path, date(2022, 3, 31))
    (result,) = ingest([report], tmp_path / "w.duckdb")
    assert result.refused and len(result.errors) == 1
    assert result.errors[0].startswith(f"{report.name}: 文件损坏，无法读取：") and "秒内未能读完" in result.errors[0]
    monkeypatch.delenv(checks.TIMEOUT_ENV)
    (result,) = ingest([report], tmp_path / "w.duckdb")  # a fresh checker, the usual limit: the file is fine
    assert result.status == "accepted", result.errors[:3]
