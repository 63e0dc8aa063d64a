"""Smoke tests of the benchmark harness: the synthetic generator (a few hundred rows) and the table printer."""

from __future__ import annotations

import json

import pytest

from bench import synthetic
from bench.table import Row, format_value, render, write_json
from bench.timing import measure


@pytest.fixture(scope="module")
def small_set(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    return synthetic.ensure_set(synthetic.Params(rows=300, dates=2, prefectures=3, seed=7), root=root)


def test_generator_writes_valid_reports(small_set):
    from pipelines.report import check_report

    assert len(small_set.files) == 6  # 3 prefectures × 2 dates
    assert small_set.rows == 300
    assert small_set.generated_seconds is not None
    for path in small_set.files:
        checked = check_report(path, as_of_limit=None)
        assert checked.ok, checked.errors[:3]
        assert not checked.warnings, checked.warnings[:3]
        assert checked.village_rows == small_set.rows_per_file[path.name]
        frame = checked.frames["village"]
        # 12-digit codes of the row's county: the key without a roster lookup.
        assert frame["village_code"].str.len_chars().eq(12).all()
        assert (frame["village_code"].str.slice(0, 6) == frame["county_code"]).all()
        assert checked.prefecture_code == checked.frames["village"]["prefecture_code"][0]


def test_generator_reuses_its_cache(small_set):
    again = synthetic.ensure_set(small_set.params, root=small_set.directory.parent)
    assert again.generated_seconds is None
    assert again.files == small_set.files


def test_same_villages_on_every_date(small_set):
    import random

    a = synthetic.village_rows("532500", "红河州", 40, random.Random(1), 0)
    b = synthetic.village_rows("532500", "红河州", 40, random.Random(2), 1)
    assert [r[2:6] for r in a] == [r[2:6] for r in b]  # county, township, village, code
    assert len({tuple(r[2:5]) for r in a}) == 40


def test_naive_baseline_loads_the_same_rows(small_set, tmp_path):
    from bench.baseline import naive_load

    path = small_set.files[0]
    loaded, errors = naive_load([path], tmp_path / "naive.duckdb")
    assert errors == []
    assert loaded == small_set.rows_per_file[path.name]


def test_table_is_aligned_and_marks_targets(tmp_path):
    rows = [
        Row("pipeline", "ours: ingest → 新仓库", "seconds", 12.345, "s", "< 15 s", True),
        Row("pipeline", "naive", "rows/s", 123456.0, "rows/s"),
        Row("demo", "full demo: demo not available", "skipped", None, "", "< 15 s", None),
        Row("pipeline", "speedup", "ratio", 8.5, "×", "≥ 10×", False),
    ]
    text = render(rows)
    lines = text.splitlines()
    assert lines[0].split() == ["section", "case", "metric", "value", "unit", "target", "ok"]
    assert "12.35" in text and "123,456" in text and "—" in text
    assert lines[2].rstrip().endswith("✓") and lines[5].rstrip().endswith("✗")
    # The value column ends at the same display column on every row (CJK counted as two columns).
    from bench.table import _width

    ends = {_width(line[: line.index(v) + len(v)]) for line, v in zip(lines[2:], ["12.35", "123,456", "—", "8.50"])}
    assert len(ends) == 1
    path = write_json(tmp_path / "bench.json", rows, {"quick": True}, 1.0)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert [r["ok"] for r in doc["rows"]] == [True, None, None, False]


def test_format_and_measure():
    assert format_value(None) == "—" and format_value(1234) == "1,234" and format_value(0.1234) == "0.123"
    calls = []
    t = measure(lambda: calls.append(1) or len(calls), repeats=3, budget=60)
    assert t.n == 3 and t.result == 3 and t.median >= 0


def _context(tmp_path):
    from bench.sections import Context

    return Context(quick=True, rows=300, baseline_budget=1.0, workdir=tmp_path, log=lambda msg: None)


def test_demo_section_loads_what_the_demo_command_writes(tmp_path, monkeypatch):
    """The demo command is replaced by one writing a 30-village report; the real ingest command loads it."""
    import sys

    from bench import sections

    script = ("import random, sys; from pathlib import Path; from bench import synthetic as s; "
              "out = Path(sys.argv[1]); out.mkdir(parents=True); "
              "s.write_report(out / '红河州_20220331.xlsx', '红河州', s.REPORT_DATES[0], "
              "s.village_rows('532500', '红河州', 30, random.Random(1)))")
    monkeypatch.setattr(sections, "_demo_write_cmd", lambda out: [sys.executable, "-c", script, str(out)])
    rows = {r.metric: r for r in sections.demo_section(_context(tmp_path))}
    assert rows["files / village rows"].value == "1 / 30"
    assert rows["files refused"].ok is True
    assert rows["warehouse built (write + ingest)"].value > 0


def test_teams_national_set_is_the_same_workbook_as_xlsxwriter_writes(tmp_path):
    """bench.teams writes its 200,000-person year as minimal xlsx XML through demo.xlsxfast (10× faster than
    xlsxwriter): the pipeline accepts it and loads exactly what it loads from the xlsxwriter workbook of the same rows;
    IDs unique."""
    from bench import teams as bench_teams
    from demo import teams as demo_teams, xlsxfast
    from pipelines.ingest import ingest
    from warehouse import db

    plan = bench_teams._plan(600, 14)
    ids = [r[9] for rows in plan.values() for r in rows]
    assert len(ids) == 600 == len(set(ids))
    pref, rows = max(plan.items(), key=lambda kv: len(kv[1]))
    attendance = [[r[9], r[8], "2023-01", 20, 1, 0, 0, 10, 2] for r in rows]
    sheets = [("驻村人员", demo_teams.ROSTER_HEADER, rows), ("驻村考勤", demo_teams.ATTENDANCE_HEADER, attendance)]
    def fast(path, title, sheets):  # as bench.teams._write_prefecture calls it
        xlsxfast.write(path, [(name, [[title], header], data) for name, header, data in sheets])

    loaded = []
    for i, writer in enumerate((demo_teams._write, fast)):
        folder = tmp_path / f"w{i}"
        folder.mkdir()
        path = folder / f"{rows[0][0]}_驻村力量_202301.xlsx"
        writer(path, f"{rows[0][0]}驻村力量月报", sheets)
        (result,) = ingest([path], folder / "w.duckdb", workers=1)
        assert result.status == "accepted" and not result.warnings, (result.errors, result.warnings)
        # person_key is a salted digest (its salt is each warehouse's own): compare everything else, by name.
        loaded.append([db.query(f"SELECT * EXCLUDE (person_key) FROM {v} ORDER BY name", path=folder / "w.duckdb")
                       for v in ("team_members", "team_attendance")])
    assert loaded[0][0].height == len(rows) and loaded[0][1].height == len(rows)
    assert loaded[0][0].equals(loaded[1][0]) and loaded[0][1].equals(loaded[1][1])
    db.close_all()
