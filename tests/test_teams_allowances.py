"""驻村力量 allowances (TEAMS_SPEC §4): each formula per person per month on the small warehouse, the finance
office's workbook (a sheet per sending unit: title, as-of, totals, frozen header) and the command
``python -m pipelines export allowances``, masked by default and audited when it carries ID numbers.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from hometown.teams import allowances as al
from reportfiles import fetch
from teamfiles import make_id, small_warehouse

ROOT = Path(__file__).resolve().parent.parent
MARCH = date(2022, 3, 1)


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("allow")
    return small_warehouse(base / "in", base / "w.duckdb")


def by_name(db: Path, month: date = MARCH) -> dict[str, dict]:
    rows = fetch(db, "SELECT a.*, t.name FROM team_allowances a JOIN team_attendance t USING (person_key, month) "
                     "WHERE a.month = ?", [month])
    return {r["name"]: r for r in rows}


def test_living_allowance_is_100_per_day_that_counts(db):
    rows = by_name(db)
    assert rows["张三"]["living_yuan"] == 100 * 22          # 22 in the village
    assert rows["李四"]["living_yuan"] == 100 * (18 + 2)    # official trips count
    assert rows["王五"]["living_yuan"] == 100 * 15          # absence without leave does not


def test_communication_allowance_when_in_post_that_month(db):
    rows = by_name(db)
    assert {n: r["communication_yuan"] for n, r in rows.items()} == {n: 100.0 for n in rows}
    assert rows["周九"]["communication_yuan"] == 100.0       # in post 10 days of March: still the month's 100


def test_trips_capped_at_two(db):
    rows = by_name(db)
    assert (rows["张三"]["trips"], rows["李四"]["trips"], rows["王五"]["trips"], rows["赵六"]["trips"]) == (2, 2, 0, 1)
    reported = fetch(db, "SELECT trips FROM team_attendance WHERE name = '张三' AND month = ?", [MARCH])
    assert reported == [{"trips": 3}]                         # team_attendance keeps what was reported


def test_workbook_sheet_per_unit_with_totals_and_frozen_header(db, tmp_path):
    frame = al.allowances(MARCH, db_path=str(db))
    path = tmp_path / "a.xlsx"
    path.write_bytes(al.workbook(frame, MARCH))
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["云南省财政厅", "说明"]
    ws = wb["云南省财政厅"]
    assert "驻村干部津补贴测算表" in ws["A1"].value and "2022年03月" in ws["A1"].value and "截至" in ws["A2"].value
    assert ws.freeze_panes == "A4"
    header = [c.value for c in ws[3]]
    assert header[:2] == ["姓名", "身份证号"]
    body = [[c.value for c in row] for row in ws.iter_rows(min_row=4)]
    assert body[-1][0] == "合计" and len(body) == 1 + 7
    totals = dict(zip(header, body[-1]))
    assert totals["生活补助（元）"] == 100 * (22 + 20 + 15 + 19 + 20 + 8 + 19)
    assert totals["通讯补助（元）"] == 700 and totals["往返交通（次）"] == 2 + 2 + 0 + 1 + 1 + 1 + 1
    ids = [r[1] for r in body[:-1]]
    assert all("********" in i for i in ids) and make_id(1) not in ids


def test_command_masked_and_personal_audited(db, tmp_path):
    out = tmp_path / "allow.xlsx"
    env = {"HOMETOWN_APP_DB": str(tmp_path / "app.sqlite3"), "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, "-m", "pipelines", "export", "allowances", "--month", "2022-03", "--out",
                          str(out), "--db", str(db)], cwd=ROOT, capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    assert "7 人" in run.stdout and out.exists()
    cells = [c.value for row in openpyxl.load_workbook(out)["云南省财政厅"].iter_rows() for c in row]
    assert make_id(1) not in cells and any(isinstance(c, str) and c.startswith("532501********") for c in cells)
    assert not (tmp_path / "app.sqlite3").exists()
    run = subprocess.run([sys.executable, "-m", "pipelines", "export", "allowances", "--month", "2022-03", "--out",
                          str(out), "--db", str(db), "--personal"], cwd=ROOT, capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    cells = [c.value for row in openpyxl.load_workbook(out)["云南省财政厅"].iter_rows() for c in row]
    assert make_id(1) in cells
    from hometown.access import audit

    events = audit.events(tmp_path / "app.sqlite3")
    assert events.height == 1 and "含身份证号" in events["detail"][0]


def test_command_usage_errors(db, tmp_path):
    run = subprocess.run([sys.executable, "-m", "pipelines", "export", "allowances", "--month", "2022-13", "--out",
                          str(tmp_path / "x.xlsx"), "--db", str(db)], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 2 and "月份格式" in run.stderr
