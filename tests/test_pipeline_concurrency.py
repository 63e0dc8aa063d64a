"""REPORT_SPEC §6 and the warehouse's build-and-swap writes, under real processes.

(1) A load killed with SIGKILL half-way leaves the warehouse byte for byte as it was; the next load cleans the
stray copy and works. (2) A reader process querying in a loop through ``warehouse.db`` (read-only connections) while
another process loads: neither side fails, and the reader sees the new data without a restart.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from teamfiles import attendance_of, person, workbook
from reportfiles import fetch, load_one, simple_report, three_villages, village, warehouse_state, write_csv, write_report

ROOT = Path(__file__).resolve().parent.parent
FILES, ROWS_PER_FILE = 40, 400
FIRST_DAY = date(2021, 7, 1)
COUNTIES = ("弥勒市", "蒙自市", "个旧市", "开远市", "建水县", "石屏县", "泸西县", "元阳县")

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and flock are POSIX")


def day(k: int) -> date:
    return FIRST_DAY + timedelta(days=7 * k)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """40 weekly 红河州 reports (CSV) of 400 villages each: a load long enough to be caught half-way."""
    out = tmp_path_factory.mktemp("reports")
    for k in range(FILES):
        d = day(k)
        rows = [village(county=COUNTIES[i % len(COUNTIES)], township=f"第{i // 50}镇", village=f"第{i}村",
                        stage=4, steps=12 + (i + k) % 5, visits=k) for i in range(ROWS_PER_FILE)]
        write_csv(out / f"红河州_{d:%Y%m%d}.csv", simple_report(rows, as_of=f"截至{d.year}年{d.month}月{d.day}日"))
    # 驻村力量 workbooks in the same batch (named to sort first: the kill lands after some of them loaded).
    roster = [person(i, f"队员{i}", village=v, role="第一书记" if i % 4 == 0 else "工作队员")
              for i, v in enumerate(["城东社区", "城西社区", "城关社区", "铺田社区"] * 15)]
    for m in range(7, 13):
        workbook(out / f"红河州_1_驻村力量_2021{m:02d}.xlsx", roster, attendance_of(roster, month=f"2021-{m:02d}"))
    return out


@pytest.fixture
def db(tmp_path) -> Path:
    """A warehouse already holding one accepted report (红河州, 2021-06-30)."""
    path = tmp_path / "warehouse.duckdb"
    first = write_report(tmp_path / "红河州_20210630.xlsx", simple_report(three_villages(), as_of="截至2021年6月30日"))
    assert load_one(path, first).status == "accepted"
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def start_ingest(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pipelines", "ingest", "--quiet", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def lines_of(proc: subprocess.Popen) -> queue.Queue:
    """The process's stdout lines as they come, read on a thread so the test can poll with a deadline."""
    q: queue.Queue = queue.Queue()

    def pump():
        for line in proc.stdout:
            q.put(line)
        q.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return q


def children_of(pid: int) -> list[int]:
    """The live child processes of ``pid`` (from /proc: Linux, as the reference machine)."""
    kids = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(pid):
            kids.append(int(status.parent.name))
    return kids


def test_load_killed_half_way_leaves_the_warehouse_as_it_was(tmp_path, db, folder):
    before_bytes, before = digest(db), warehouse_state(db)
    proc = start_ingest(str(folder), "--db", str(db))
    tmp = db.with_name(f".{db.name}.{proc.pid}.tmp")
    out = lines_of(proc)
    try:
        deadline = time.monotonic() + 60
        while not tmp.exists():                       # the load has copied the warehouse: it is running
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "the load never started"
            time.sleep(0.005)
        # Let it load a few files into its copy first, so the kill lands in the middle of real work.
        loaded, accepted = 0, []
        while loaded < 3:
            line = out.get(timeout=max(0.1, deadline - time.monotonic()))
            assert line is not None, "the load finished before it could be killed"
            loaded += line.startswith("✔ 已接收")
            accepted += [line] if line.startswith("✔ 已接收") else []
        assert any("驻村力量" in line for line in accepted), accepted  # teams workbooks were loaded into the copy
        assert tmp.exists() and proc.poll() is None
        checkers = children_of(proc.pid)
        assert checkers, "the folder's files are checked in worker processes"
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
        # The checkers do not outlive the load: they see their work queue close and exit.
        deadline = time.monotonic() + 30
        while any(Path(f"/proc/{pid}").exists() for pid in checkers):
            assert time.monotonic() < deadline, f"worker processes {checkers} outlived the killed load"
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert digest(db) == before_bytes
    assert warehouse_state(db) == before
    assert tmp.exists()          # the killed writer's copy is left behind …

    d = date(2022, 3, 31)
    nxt = write_report(tmp_path / "红河州_20220331.xlsx", simple_report(three_villages()))
    assert load_one(db, nxt).status == "accepted"
    assert not list(db.parent.glob(f".{db.name}.*.tmp*"))   # … and cleaned by the next load
    assert {r["as_of"] for r in fetch(db, "SELECT as_of FROM village_status")} == {d}
    assert [r["status"] for r in fetch(db, "SELECT status FROM report_log ORDER BY report_id")] == ["accepted"] * 2


READER = r"""
import json, sys, time
from warehouse import db
path, target = sys.argv[1], sys.argv[2]
seen, queries, errors = [], 0, []
deadline = time.monotonic() + 90
while time.monotonic() < deadline:
    try:
        frame = db.query("SELECT count(*) AS n, CAST(max(as_of) AS VARCHAR) AS d FROM village_status", path=path)
        county = db.query("SELECT sum(task_villages) AS n FROM county_summary", path=path)
        queries += 1
        d, n = frame["d"][0], frame["n"][0]
        if not seen or seen[-1] != [d, n]:
            seen.append([d, n])
            print(json.dumps({"as_of": d, "villages": n, "county_villages": int(county["n"][0])}), flush=True)
        if d == target:
            break
    except Exception as exc:  # any failure on the reading side is what the test is about
        errors.append(f"{type(exc).__name__}: {exc}")
        if len(errors) > 20:
            break
print(json.dumps({"done": True, "queries": queries, "errors": errors}), flush=True)
sys.exit(1 if errors or not seen or seen[-1][0] != target else 0)
"""


LOADED_WHILE_READING = 10


def test_reader_keeps_reading_while_another_process_loads(tmp_path, db, folder):
    files = sorted(folder.glob("*.csv"))[:LOADED_WHILE_READING]
    target = day(LOADED_WHILE_READING - 1).isoformat()
    reader = subprocess.Popen([sys.executable, "-c", READER, str(db), target], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    seen = lines_of(reader)
    loader = None
    try:
        first = seen.get(timeout=60)                 # the reader has the old warehouse open and is querying
        assert first is not None, reader.stderr.read()
        assert json.loads(first) == {"as_of": "2021-06-30", "villages": 3, "county_villages": 3}
        loader = start_ingest(*map(str, files), "--db", str(db))
        stdout, stderr = loader.communicate(timeout=120)
        assert loader.returncode == 0, stdout + stderr
        assert sum(line.startswith("✔ 已接收") for line in stdout.splitlines()) == LOADED_WHILE_READING
        assert reader.wait(timeout=60) == 0, reader.stderr.read()
    finally:
        for proc in (reader, loader):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
    reports = [json.loads(first)]
    while (line := seen.get(timeout=5)) is not None:
        reports.append(json.loads(line))
    *states, summary = reports
    assert summary["done"] and summary["errors"] == [] and summary["queries"] >= 2
    # the reader only ever saw a whole warehouse: the old one, then the new one (published once, at the end)
    assert states == [{"as_of": "2021-06-30", "villages": 3, "county_villages": 3},
                      {"as_of": target, "villages": ROWS_PER_FILE, "county_villages": ROWS_PER_FILE}]
    # and the warehouse the reader ended on is the loaded one
    assert fetch(db, "SELECT count(*) AS n FROM village_history")[0]["n"] == 3 + LOADED_WHILE_READING * ROWS_PER_FILE
