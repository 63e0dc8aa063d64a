"""The built-in demo (demo.generate): deterministic files, the published figures read back from the files
themselves, rows that follow the contract's rules, the deliberate trouble the alerts need, and every file
accepted by the real pipeline.

The files are read here with python_calamine and the csv module, independently of pipelines.read, so that a
fault shared by the writer and the pipeline's reader cannot hide. The pipeline's side uses the session's demo
warehouse (tests/conftest.py ``demo_db``), shared with the other tests that need one.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from geo import reference
from geo.text import normalise_text
from demo import generate as demo
from warehouse.stages import expected_statuses, stage_names

# Header text (normalised) → field, for the headers the demo writes.
ALIASES = {
    "州市": "prefecture", "州(市)": "prefecture",
    "县市区": "county", "县(市、区)": "county",
    "乡镇": "township", "乡(镇、街道)": "township",
    "行政村": "village", "村(社区)": "village",
    "村代码": "village_code", "任务年度": "task_year", "规划年度": "task_year",
    "当前环节": "stage", "所处环节": "stage", "已完成步骤数": "steps_done", "完成步骤": "steps_done",
    "规划状态": "plan_status", "成果状态": "plan_status",
    "编制组人数": "group_size", "编制组成员数": "group_size",
    "其中公职人员": "civil_servants", "公职人员数": "civil_servants", "公职人员": "civil_servants",
    "其中:公职人员": "civil_servants",
    "乡贤能人数": "local_talents", "乡贤能人": "local_talents",
    "回乡干部人次": "cadre_visits", "干部回乡人次": "cadre_visits",
    "座谈会场次": "meetings", "恳谈会场次": "meetings",
    "村民参与人次": "villager_participation", "群众参与人次": "villager_participation",
    "需求清单数": "needs_total", "梳理需求清单": "needs_total",
    "已纳入规划需求数": "needs_adopted", "纳入规划需求": "needs_adopted",
    "理事会": "council", "是否成立理事会": "council",
    "项目资金(万元)": "funding", "投入资金(万元)": "funding", "项目资金(元)": "funding", "累计投入(亿元)": "funding",
    "产业规划": "plan_industry", "产业": "plan_industry", "人才规划": "plan_talent", "人才": "plan_talent",
    "文化规划": "plan_culture", "文化": "plan_culture", "生态规划": "plan_ecology", "生态": "plan_ecology",
    "组织规划": "plan_organisation", "组织": "plan_organisation",
}
MONEY_FACTOR = {"项目资金(万元)": 1.0, "投入资金(万元)": 1.0, "项目资金(元)": 1e-4, "累计投入(亿元)": 1e4}
NOT_REPORTED = {"", "—", "/", "-"}
COUNTS = ("group_size", "civil_servants", "local_talents", "cadre_visits", "meetings", "villager_participation",
          "needs_total", "needs_adopted")
TRUE_FLAGS = {"是", "✓", "√", "1", "1.0", "已完成", "已成立"}


# ------------------------------------------------------------------------------------------------ reading back


def _grid(path: Path, sheet: int | str = 0) -> list[list]:
    if path.suffix == ".csv":
        data = path.read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("gb18030")
        return [list(r) for r in csv.reader(io.StringIO(text))]
    wb = CalamineWorkbook.from_path(str(path))
    sh = wb.get_sheet_by_index(sheet) if isinstance(sheet, int) else wb.get_sheet_by_name(sheet)
    return sh.to_python()


def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return normalise_text(str(v))


def _number(v) -> float | None:
    if isinstance(v, (int, float)):
        return float(v)
    t = unicodedata.normalize("NFKC", str(v or "")).strip().replace(",", "")
    return None if t in NOT_REPORTED else float(t)


def _stage(v) -> int:
    t = _text(v)
    if t.isdigit():
        return int(t)
    return {normalise_text(n): k for k, n in stage_names().items()}[t]


def _header_at(grid: list[list]) -> int | None:
    return next((i for i, row in enumerate(grid[:30]) if "stage" in {ALIASES.get(_text(c)) for c in row}), None)


def read_table(path: Path) -> list[dict]:
    """The data rows of the village sheet (the first sheet with a 当前环节 header) as dicts of fields (numbers
    parsed, money in 万元), title, 合计 and footer rows left out."""
    sheets = 1 if path.suffix == ".csv" else len(CalamineWorkbook.from_path(str(path)).sheet_names)
    grid, at = next((g, a) for g in (_grid(path, i) for i in range(sheets)) if (a := _header_at(g)) is not None)
    top = [_text(c) for c in grid[at]]
    below = [_text(c) for c in grid[at + 1]]
    two_rows = any(ALIASES.get(c) for c in below) or "合计" in below
    headers, band = [], ""
    for j, t in enumerate(top):
        band = t or band
        b = below[j] if two_rows and j < len(below) else ""
        headers.append(band if b == "合计" else (b or t))
    rows = []
    for raw in grid[at + (2 if two_rows else 1):]:
        first = next((_text(c) for c in raw if _text(c)), "")
        if not first or first.startswith(("合计", "注", "填表")):
            continue
        rec: dict = {}
        for h, v in zip(headers, raw):
            f = ALIASES.get(h)
            if f is None:
                continue
            if f in COUNTS:
                n = _number(v)
                rec[f] = None if n is None else int(n)
            elif f == "funding":
                rec[f] = round(_number(v) * MONEY_FACTOR[h], 6)
            elif f == "stage":
                rec[f] = _stage(v)
            elif f in ("steps_done", "task_year"):
                rec[f] = int(_number(v))
            elif f.startswith("plan_") and f != "plan_status" or f == "council":
                rec[f] = _text(v) in TRUE_FLAGS
            else:
                rec[f] = _text(v)
        rows.append(rec)
    return rows


def prefecture_of(name: str) -> str:
    return reference.resolve_prefecture(name.split("_")[0])


def date_of(name: str) -> date:
    stamp = Path(name).stem.split("_")[1]
    return date(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:]))


# ------------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def demo_dir(demo_reports) -> Path:
    """The files the session's demo warehouse was built from (tests/conftest.py), written once per run."""
    return demo_reports


@pytest.fixture(scope="module")
def rewritten(tmp_path_factory) -> tuple[Path, list[Path]]:
    """The demo written a second time, by two processes, into a folder that already holds a demo-like name this run
    does not write and a file of someone else's: (folder, the paths write_demo returned)."""
    out = tmp_path_factory.mktemp("again")
    (out / "红河州_20190101.xlsx").write_bytes(b"stale")     # a demo-like name this run does not write
    (out / "my notes.txt").write_text("keep")                # anything else is left alone
    return out, demo.write_demo(out, workers=2)


@pytest.fixture(scope="module")
def files(demo_dir) -> list[Path]:
    return sorted(demo_dir.iterdir())


@pytest.fixture(scope="module")
def tables(files) -> dict[str, list[dict]]:
    """Every file's village rows, keyed by file name."""
    return {p.name: read_table(p) for p in files}


@pytest.fixture(scope="module")
def histories(tables) -> dict[str, list[tuple[date, dict]]]:
    """Prefecture → [(date, {village key: row})] in date order; the key is the county code and the names."""
    out: dict[str, list] = defaultdict(list)
    for name in sorted(tables, key=lambda n: (prefecture_of(n), date_of(n))):
        pcode = prefecture_of(name)
        rows = {}
        for r in tables[name]:
            county = reference.resolve_county(r["county"], pcode)
            rows[(county, r["township"], r["village"])] = r | {"county_code": county}
        out[pcode].append((date_of(name), rows))
    return out


# ------------------------------------------------------------------------------------------------ tests


def test_same_seed_same_bytes(demo_dir, files, rewritten):
    _, again = rewritten
    assert sorted(p.name for p in again) == [p.name for p in files]
    for p in again:
        assert p.read_bytes() == (demo_dir / p.name).read_bytes(), p.name


def test_a_rerun_removes_only_stale_demo_files(rewritten):
    out, written = rewritten
    assert not (out / "红河州_20190101.xlsx").exists()
    assert (out / "my notes.txt").exists()
    assert sorted(p.name for p in out.iterdir()) == sorted([p.name for p in written] + ["my notes.txt"])


def test_every_prefecture_about_eight_dates(files):
    by_pref: dict[str, list[date]] = defaultdict(list)
    for p in files:
        by_pref[prefecture_of(p.name)].append(date_of(p.name))
    assert set(by_pref) == set(reference.prefectures()["code"])
    assert len(files) == 16 * 8 - sum(demo.LATE_PREFECTURES.values())
    for code, dates in by_pref.items():
        assert len(dates) == 8 - demo.LATE_PREFECTURES.get(code, 0), code
        assert max(dates) <= date(2023, 12, 31)
        for got, base in zip(sorted(dates), demo.BASE_DATES):
            assert abs((got - base).days) <= 3, (code, got)
    # prefectures report on their own days
    assert len({d for ds in by_pref.values() for d in ds}) > 8
    suffixes = defaultdict(set)
    for p in files:
        suffixes[p.suffix].add(prefecture_of(p.name))
    assert len(suffixes[".xls"]) == 2 and len(suffixes[".csv"]) == 2 and len(suffixes[".xlsx"]) == 12
    encodings = {p.read_bytes()[:3] == b"\xef\xbb\xbf" for p in files if p.suffix == ".csv"}
    assert encodings == {True, False}  # one UTF-8 with BOM, one GB18030


def test_task_villages_and_schedule(histories):
    final = {code: hist[-1][1] for code, hist in histories.items()}
    years = defaultdict(int)
    for code, rows in final.items():
        for r in rows.values():
            years[r["task_year"]] += 1
    assert years[2021] == demo.TASK_VILLAGES[2021]
    assert years[2022] == demo.TASK_VILLAGES[2022]
    late = {code for code in demo.LATE_PREFECTURES}
    assert years[2023] < demo.TASK_VILLAGES[2023]  # the late prefectures' 2023 villages never arrived
    # every prefecture that reported at the end lists all its villages; coverage after 2022 is 85.06 %
    total = sum(demo.TASK_VILLAGES.values())
    assert round(100 * (demo.TASK_VILLAGES[2021] + demo.TASK_VILLAGES[2022]) / total, 2) == 85.06
    plan = demo.build_plan(demo.DEFAULT_SEED)
    assert sum(p.v["task_year"].size for p in plan.prefectures.values()) == total
    for code, rows in final.items():
        if code not in late:
            assert len(rows) == plan.prefectures[code].v["task_year"].size, code
    # a report lists exactly the task villages of its year and before
    for code, hist in histories.items():
        for day, rows in hist:
            assert max(r["task_year"] for r in rows.values()) <= day.year


def test_honghe_2021_calibration_read_back(demo_dir):
    rows = read_table(demo_dir / "红河州_20211231.xlsx")
    target = demo.HONGHE_2021
    assert len(rows) == target["villages"] == 401
    assert {r["task_year"] for r in rows} == {2021}
    assert sum(r["group_size"] for r in rows) == target["group_members"] == 3845
    assert sum(r["cadre_visits"] for r in rows) == target["cadre_visits"] == 10035
    assert sum(r["needs_total"] for r in rows) == target["needs_total"] == 3601
    assert sum(r["villager_participation"] for r in rows) == target["villager_participation"] == 162000
    assert round(sum(r["funding"] for r in rows), 2) == target["funding_wan"] == 134000
    # all compiled and into the database, each with its 1+5 plans
    assert all(r["stage"] == 7 and r["steps_done"] == 28 and r["plan_status"] == "已入库" for r in rows)
    assert all(r[f] for r in rows for f in ("plan_industry", "plan_talent", "plan_culture", "plan_ecology",
                                            "plan_organisation"))
    assert len({r["village_code"] for r in rows}) == 401
    assert all(len(r["village_code"]) == 12 and r["village_code"].startswith("5325") for r in rows)


def test_yuxi_calibration_read_back(demo_dir):
    path = demo_dir / "玉溪市_20231231.xlsx"
    rows = read_table(path)
    target = demo.YUXI_FINAL
    assert len(rows) == target["villages"] == 572
    assert all(r["group_size"] > 0 for r in rows)  # 572 planning groups, one per village
    assert sum(r["civil_servants"] for r in rows) == target["civil_servants"] == 5647
    assert sum(r["council"] for r in rows) == target["councils"] == 130
    assert sum(r["meetings"] for r in rows) == target["meetings"]
    grid = _grid(path, "县级汇总")
    at = next(i for i, row in enumerate(grid) if "摸排在外公职人员数" in row)
    head = grid[at]
    data = [dict(zip(head, r)) for r in grid[at + 1:] if r[0] != "合计" and _text(r[0])]
    assert len(data) == 9
    assert sum(r["摸排在外公职人员数"] for r in data) == 20440
    assert sum(r["纳入编制组干部数"] for r in data) == 5647
    assert sum(r["县级联络服务站"] for r in data) == 9
    assert sum(r["乡级联络服务站"] for r in data) == 70
    total = next(r for r in grid[at + 1:] if r[0] == "合计")
    assert total[head.index("摸排在外公职人员数")] == 20440


def test_every_row_follows_the_rules(tables):
    for name, rows in tables.items():
        assert rows, name
        for r in rows:
            k, t = r["stage"], r["steps_done"]
            assert 1 <= k <= 7 and 4 * k - 4 <= t <= 4 * k, (name, r)
            assert r["plan_status"] in expected_statuses(k, t), (name, r)
            if r["group_size"] is not None and r["civil_servants"] is not None:
                assert r["civil_servants"] <= r["group_size"], (name, r)
                assert r["group_size"] == 0 or 5 <= r["group_size"] <= 15, (name, r)
            assert r["needs_adopted"] <= r["needs_total"], (name, r)
            assert 2021 <= r["task_year"] <= 2023


def test_progress_never_falls_but_once(histories):
    fields = ("steps_done", "stage", *COUNTS, "funding")
    falls = []
    for code, hist in histories.items():
        for (d0, before), (d1, after) in zip(hist, hist[1:]):
            for key, r in after.items():
                if key not in before:
                    continue
                for f in fields:
                    a, b = before[key].get(f), r.get(f)
                    if a is not None and b is not None and b < a - 1e-6:
                        falls.append((code, d1, key, f))
                for f in ("council", "plan_industry"):
                    assert not (before[key][f] and not r[f]), (code, d1, key, f)
    assert len(falls) == 1, falls
    code, day, key, f = falls[0]
    fall = demo.FIGURE_FALL
    assert (code, key[0], f) == (fall["prefecture_code"], fall["county_code"], fall["field"])
    assert abs((day - demo.BASE_DATES[fall["report_index"]]).days) <= 3


def test_lagging_counties_lag_and_stall(histories):
    assert len(demo.LAGGING_COUNTIES) >= 3
    for county in demo.LAGGING_COUNTIES:
        pcode = reference.county_prefecture(county)
        hist = histories[pcode]
        (_, before), (_, last) = hist[-2], hist[-1]
        stalled = [key for key in last if key[0] == county and key in before]
        assert stalled
        assert all(last[k]["stage"] == before[k]["stage"] and last[k]["steps_done"] == before[k]["steps_done"]
                   for k in stalled)
        mine = [r["steps_done"] for k, r in last.items() if k[0] == county]
        others = [r["steps_done"] for k, r in last.items() if k[0] != county]
        assert sum(mine) / len(mine) < 0.75 * sum(others) / len(others), county


def test_a_handful_of_groups_without_a_civil_servant(histories):
    final = [r for code, hist in histories.items() for r in hist[-1][1].values()]
    zero = [r for r in final if r["group_size"] and r["civil_servants"] == 0]
    assert sorted(r["county_code"] for r in zero) == sorted(demo.ZERO_CIVIL_SERVANT_COUNTIES)


def test_late_prefectures_miss_their_last_reports(files):
    names = {p.name for p in files}
    for code, missing in demo.LATE_PREFECTURES.items():
        common = reference.prefectures().filter(reference.prefectures()["code"] == code)["common_name"][0]
        have = sorted(date_of(n) for n in names if n.startswith(common + "_"))
        assert len(have) == 8 - missing
        assert have[-1] < demo.BASE_DATES[-missing]


def test_variations_are_there(demo_dir, files):
    """A few of REPORT_SPEC §3's variations, checked on the files (the full list is demo.generate's docstring)."""
    def first(prefix):
        return next(p for p in files if p.name.startswith(prefix))

    dehong = _grid(first("德宏州"))
    assert any("規劃" in str(c) for row in dehong[:3] for c in row)  # traditional characters
    wb = CalamineWorkbook.from_path(str(first("玉溪市")))
    assert str(wb.sheets_metadata[-1].visible).lower().endswith("hidden")
    assert "填报说明" in CalamineWorkbook.from_path(str(first("大理州"))).sheet_names
    pu_er = read_table(first("普洱市"))
    assert pu_er  # stages given by name were read
    assert isinstance(_grid(first("普洱市"))[3][6], str)
    zhaotong = _grid(demo_dir / "昭通市_20231231.xlsx")
    assert any(isinstance(c, str) and "," in c for row in zhaotong for c in row)  # thousands separators
    assert any(c == "—" for row in zhaotong for c in row)
    lincang = _grid(first("临沧市"))
    assert any(isinstance(c, str) and any("０" <= ch <= "９" for ch in c) for row in lincang for c in row)
    qujing = _grid(first("曲靖市"))
    assert "专项规划" in qujing[2] and "其中：公职人员" in qujing[3]
    honghe = _grid(demo_dir / "红河州_20211231.xlsx")
    assert "弥勒" in {row[2] for row in honghe} or "个旧" in {row[2] for row in honghe}
    assert any(row[0] == "合计" for row in honghe) and any(str(row[0]).startswith("填表人") for row in honghe)


def test_the_pipeline_accepts_every_file(demo_db, files):
    """The session's demo warehouse (tests/conftest.py: the same seed's files through the real pipeline): every
    file accepted, and the published figures come out of the warehouse's public views."""
    import duckdb

    con = duckdb.connect(str(demo_db), read_only=True)
    try:
        statuses = con.execute("SELECT status, count(*) FROM report_log GROUP BY 1").fetchall()
        assert statuses == [("accepted", len(files))]
        hh = con.execute("SELECT count(*), sum(group_size), sum(cadre_visits), sum(needs_total), "
                         "sum(villager_participation), round(sum(funding_wan), 2) FROM village_history "
                         "WHERE prefecture_code = '532500' AND as_of = DATE '2021-12-31'").fetchone()
        assert tuple(int(x) for x in hh) == (401, 3845, 10035, 3601, 162000, 134000)
        yx = con.execute("SELECT task_villages, planning_groups, civil_servants, councils, "
                         "identified_civil_servants, selected_cadres, county_stations, township_stations "
                         "FROM prefecture_summary WHERE prefecture_code = '530400'").fetchone()
        assert tuple(yx) == (572, 572, 5647, 130, 20440, 5647, 9, 70)
        unresolved = con.execute("SELECT count(*) FROM village_status WHERE village_code IS NULL").fetchone()[0]
        assert unresolved == 0  # every village name resolves to its NBS code
    finally:
        con.close()

