"""The dispatch alert rules (warehouse/alerts.py, view ``alerts``) on crafted report sequences.

Every sequence is written as real report files (tests/reportfiles.py) and loaded with pipelines.ingest.ingest, so
the alerts are those a prefecture's real uploads would raise: a stagnating county, a falling figure, a late
prefecture, a group without a civil servant, low needs adoption; and the thresholds come from config/alerts.toml.
The helpers here (report writers, ``alerts_of``) are shared with test_orders.py and test_forecast.py.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import pytest

from warehouse import schedule
from reportfiles import fetch, load, simple_report, three_villages, village, write_report

HONGHE, YUXI = "532500", "530400"
MILE, GEJIU, KAIYUAN = "532504", "532501", "532502"

ALERT_COLUMNS = ["alert_type", "level", "prefecture_code", "county_code", "village_code", "as_of", "value",
                 "threshold", "detail"]


# ------------------------------------------------------------------------------------------------ report helpers

def as_of_text(d: date) -> str:
    return f"截至{d.year}年{d.month}月{d.day}日"


def gejiu_done(**kw) -> list:
    """A 个旧市 village whose plan is in the database: the county is never behind."""
    args = dict(county="个旧市", township="宝华街道", village="宝华社区", stage=7, steps=28, status="已入库", group=10,
                civil=2, needs=10, adopted=9, plans=("是",) * 5)
    return village(**(args | kw))


def honghe(folder: Path, day: date, rows: list[list] | None = None, name: str | None = None) -> Path:
    """A 红河州 report (default: the three 弥勒市 villages and one finished 个旧市 village)."""
    rows = rows if rows is not None else [*three_villages(), gejiu_done()]
    return write_report(folder / (name or f"红河州_{day:%Y%m%d}.xlsx"), simple_report(rows, as_of=as_of_text(day)))


def yuxi(folder: Path, day: date, rows: list[list] | None = None, name: str | None = None) -> Path:
    rows = rows if rows is not None else [
        village(prefecture="玉溪市", county="红塔区", township="玉兴街道", village="荷花社区", stage=7, steps=28,
                status="已入库", plans=("是",) * 5)]
    return write_report(folder / (name or f"玉溪市_{day:%Y%m%d}.xlsx"),
                        simple_report(rows, title="玉溪市干部规划家乡行动工作进度统计表", as_of=as_of_text(day)))


def ingest_ok(db: Path, *paths: Path) -> None:
    for result in load(db, *paths):
        assert result.status in ("accepted", "superseded"), (result.file_name, result.errors)


def alerts_of(db: Path, alert_type: str | None = None, on: date | None = None) -> list[dict]:
    # DuckDB shares one database instance per path within a process: a connection the query layer still holds
    # on the replaced file would be reused by fetch's connect. Close them so the file read is the current one.
    from warehouse import db as hdb

    hdb.close_all()
    rows = fetch(db, "SELECT * FROM alerts_at(CAST(? AS DATE))", [on])
    return [r for r in rows if alert_type is None or r["alert_type"] == alert_type]


def by_village(rows: list[dict]) -> dict[str, dict]:
    return {r["village"]: r for r in rows}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "warehouse.duckdb"


# ------------------------------------------------------------------------------------------------ the view

def test_view_columns(db, tmp_path):
    """The view's first columns are the contract the overview and the board read; levels are 红 or 黄."""
    ingest_ok(db, honghe(tmp_path, date(2021, 12, 31)))
    names = [r["column_name"] for r in fetch(db, "SELECT column_name FROM (DESCRIBE SELECT * FROM alerts)")]
    assert names[:len(ALERT_COLUMNS)] == ALERT_COLUMNS
    rows = alerts_of(db)
    assert rows and {r["level"] for r in rows} <= {"红", "黄"}
    assert len({r["alert_key"] for r in rows}) == len(rows)  # one row per alert identity


# ------------------------------------------------------------------------------------------------ county behind

def test_stagnating_county_is_behind_the_schedule_line(db, tmp_path):
    """The same figures reported three quarters running: 弥勒市 falls further and further behind the line."""
    days = [date(2021, 6, 30), date(2021, 9, 30), date(2021, 12, 31)]
    ingest_ok(db, *(honghe(tmp_path, d) for d in days))

    # 弥勒市: steps 14 + 28 + 0 of 3 × 28 = 50% progress, whatever the date.
    assert alerts_of(db, "county_behind", days[0]) == []  # 30 June: 49.5% expected, 弥勒市 is on the line
    (sept,) = alerts_of(db, "county_behind", days[1])
    expected = schedule.expected_completion(2021, days[1])
    assert sept["county_code"] == MILE and sept["prefecture_code"] == HONGHE and sept["village_code"] is None
    assert sept["value"] == pytest.approx(expected - 0.5)
    assert sept["level"] == "黄" and sept["threshold"] == pytest.approx(0.10)
    assert sept["as_of"] == days[1] and sept["task_year"] == 2021
    assert "弥勒市" in sept["detail"] and "落后" in sept["detail"] and "50.0%" in sept["detail"]

    (dec,) = alerts_of(db, "county_behind")  # current: the deadline has come, 100% expected
    assert dec["county_code"] == MILE and dec["level"] == "红"
    assert dec["value"] == pytest.approx(0.5) and dec["threshold"] == pytest.approx(0.25)
    # 个旧市 finished its village: never behind.
    assert all(r["county_code"] != GEJIU for d in days for r in alerts_of(db, "county_behind", d))


def test_sql_line_matches_python_schedule(db, tmp_path):
    ingest_ok(db, honghe(tmp_path, date(2021, 6, 30)))
    for d in (date(2020, 12, 1), date(2021, 1, 1), date(2021, 2, 22), date(2021, 5, 17), date(2021, 12, 30),
              date(2021, 12, 31), date(2022, 3, 1)):
        (row,) = fetch(db, "SELECT expected_progress(2021, CAST(? AS DATE)) AS e", [d])
        assert row["e"] == pytest.approx(schedule.expected_completion(2021, d)), d
    # A task year far outside the written line still gets the default line.
    (row,) = fetch(db, "SELECT expected_progress(2099, DATE '2099-07-02') AS e")
    assert row["e"] == pytest.approx(182 / 364)


# ------------------------------------------------------------------------------------------------ stagnant villages

def test_village_with_no_change_of_stage(db, tmp_path):
    days = [date(2021, 6, 30), date(2021, 9, 30), date(2021, 12, 31)]
    ingest_ok(db, *(honghe(tmp_path, d) for d in days))
    assert alerts_of(db, "village_stagnant", days[0]) == []  # one report: nothing to compare
    two = by_village(alerts_of(db, "village_stagnant", days[1]))
    assert set(two) == {"花口村", "旧城村"}  # 新桥村 is at stage 7: done, not stagnant
    assert two["花口村"]["level"] == "黄" and two["花口村"]["value"] == 2
    assert two["花口村"]["village_code"] == "532504109202" and "第4环节" in two["花口村"]["detail"]
    three = by_village(alerts_of(db, "village_stagnant"))
    assert three["花口村"]["level"] == "红" and three["花口村"]["value"] == 3 and three["花口村"]["threshold"] == 3


def test_stage_change_clears_stagnation(db, tmp_path):
    moved = [village(township="西三镇", village="花口村", stage=5, steps=17, status="成果完成"),
             *three_villages()[1:], gejiu_done()]
    ingest_ok(db, honghe(tmp_path, date(2021, 6, 30)), honghe(tmp_path, date(2021, 9, 30)),
              honghe(tmp_path, date(2021, 12, 31), moved))
    assert set(by_village(alerts_of(db, "village_stagnant"))) == {"旧城村"}
    # A village missing from the report in between has no unbroken run either.
    gap = [r for r in three_villages() if r[3] != "旧城村"] + [gejiu_done()]
    ingest_ok(db, honghe(tmp_path, date(2022, 3, 31), gap), honghe(tmp_path, date(2022, 6, 30)))
    assert "旧城村" not in by_village(alerts_of(db, "village_stagnant"))


# ------------------------------------------------------------------------------------------------ civil servants

def test_group_without_civil_servant(db, tmp_path):
    rows = [village(township="西三镇", village="花口村", group=6, civil=0), *three_villages()[1:], gejiu_done()]
    ingest_ok(db, honghe(tmp_path, date(2021, 1, 31), rows))
    # January: the group-forming milestone (22 February) is still ahead, so 旧城村 without a group is not flagged.
    assert set(by_village(alerts_of(db, "no_civil_servant"))) == {"花口村"}
    (row,) = alerts_of(db, "no_civil_servant")
    assert row["level"] == "红" and row["value"] == 0 and row["threshold"] == 1 and "公职人员" in row["detail"]

    ingest_ok(db, honghe(tmp_path, date(2021, 6, 30), rows))
    got = by_village(alerts_of(db, "no_civil_servant"))
    assert got["花口村"]["level"] == "红"
    assert got["旧城村"]["level"] == "黄" and "尚未组建" in got["旧城村"]["detail"]

    fixed = [village(township="西三镇", village="花口村", group=6, civil=1), *three_villages()[1:], gejiu_done()]
    ingest_ok(db, honghe(tmp_path, date(2021, 6, 30), fixed, name="红河州_20210630（更正）.xlsx"))
    assert set(by_village(alerts_of(db, "no_civil_servant"))) == {"旧城村"}


# ------------------------------------------------------------------------------------------------ late prefecture

def test_late_prefecture(db, tmp_path, monkeypatch):
    from warehouse import db as hdb
    from hometown.dispatch.alerts import alerts
    from warehouse.scope import Scope

    ingest_ok(db, yuxi(tmp_path, date(2021, 3, 31)), honghe(tmp_path, date(2021, 6, 30)))
    assert alerts_of(db, "late_report") == []  # 91 days: within the 100-day cycle
    ingest_ok(db, honghe(tmp_path, date(2021, 9, 30)))
    (late,) = alerts_of(db, "late_report")
    assert late["prefecture_code"] == YUXI and late["county_code"] is None and late["level"] == "黄"
    assert late["value"] == 183 and late["threshold"] == 100 and late["as_of"] == date(2021, 3, 31)
    assert "2021-03-31" in late["detail"] and "183 天" in late["detail"]

    ingest_ok(db, honghe(tmp_path, date(2021, 12, 31)))
    (late,) = alerts_of(db, "late_report")
    assert late["level"] == "红" and late["value"] == 275 and late["threshold"] == 200

    # Scoped: 玉溪市 sees it, a 弥勒市 county user does not (a prefecture alert has no county).
    monkeypatch.setenv("HOMETOWN_DB", str(db))
    try:
        assert alerts(Scope(prefecture_code=YUXI), alert_type="late_report").height == 1
        assert alerts(Scope(prefecture_code=HONGHE), alert_type="late_report").height == 0
        assert alerts(Scope(county_code=MILE), alert_type="late_report").height == 0
    finally:
        hdb.close_all()

    ingest_ok(db, yuxi(tmp_path, date(2021, 12, 31)))
    assert alerts_of(db, "late_report") == []


# ------------------------------------------------------------------------------------------------ falling figures

def test_cumulative_figure_that_fell(db, tmp_path):
    fell = [village(township="西三镇", village="花口村", visits=15, participation=280, steps=13),
            *three_villages()[1:], gejiu_done()]
    ingest_ok(db, honghe(tmp_path, date(2021, 6, 30)), honghe(tmp_path, date(2021, 9, 30), fell))
    got = {r["alert_key"].rsplit(":", 1)[1]: r for r in alerts_of(db, "figure_fell")}
    assert set(got) == {"cadre_visits", "villager_participation", "steps_done"}
    visits = got["cadre_visits"]
    assert visits["level"] == "黄" and visits["value"] == 15 and visits["threshold"] == 20
    assert visits["village"] == "花口村" and visits["county_code"] == MILE and visits["as_of"] == date(2021, 9, 30)
    assert "回乡干部人次由上期（2021-06-30）的 20 降至本期（2021-09-30）的 15" in visits["detail"]
    assert got["steps_done"]["level"] == "红"  # the plan went backwards

    # The prefecture sends a correction for 30 September with the figures right: the alert is gone.
    ingest_ok(db, honghe(tmp_path, date(2021, 9, 30), name="红河州_20210930（更正）.xlsx",
                         rows=[village(township="西三镇", village="花口村", visits=25), *three_villages()[1:],
                               gejiu_done()]))
    assert alerts_of(db, "figure_fell") == []


# ------------------------------------------------------------------------------------------------ needs adoption

def test_low_needs_adoption(db, tmp_path):
    rows = [*three_villages(),  # 弥勒市: 20 of 23 needs adopted
            gejiu_done(needs=30, adopted=9),  # 30%: red
            village(county="开远市", township="灵泉街道", village="东联社区", needs=30, adopted=15),  # 50%: yellow
            village(county="建水县", township="临安镇", village="北正社区", needs=5, adopted=0)]  # too few needs
    ingest_ok(db, honghe(tmp_path, date(2021, 6, 30), rows))
    got = {r["county_code"]: r for r in alerts_of(db, "low_adoption")}
    assert set(got) == {GEJIU, KAIYUAN}
    assert got[GEJIU]["level"] == "红" and got[GEJIU]["value"] == pytest.approx(0.3)
    assert got[GEJIU]["threshold"] == pytest.approx(0.4) and "30.0%" in got[GEJIU]["detail"]
    assert got[KAIYUAN]["level"] == "黄" and got[KAIYUAN]["threshold"] == pytest.approx(0.6)


# ------------------------------------------------------------------------------------------------ configuration

def test_thresholds_come_from_the_config_file(db, tmp_path, monkeypatch):
    from warehouse import alerts as rules
    from warehouse.store import writing

    days = [date(2021, 6, 30), date(2021, 9, 30), date(2021, 12, 31)]
    ingest_ok(db, *(honghe(tmp_path, d) for d in days))
    assert alerts_of(db, "county_behind") and alerts_of(db, "village_stagnant")
    (row,) = fetch(db, "SELECT value FROM alert_config WHERE alert_type = 'county_behind' AND name = 'red'")
    assert row["value"] == 0.25

    text = rules.ALERTS_FILE.read_text(encoding="utf-8")
    text = text.replace("yellow = 0.10", "yellow = 0.60").replace("red = 0.25", "red = 0.80")
    text = text.replace('label = "村环节停滞"', 'label = "村环节停滞"\nenabled = false', 1).replace(
        "[village_stagnant]\nenabled = true", "[village_stagnant]")
    custom = tmp_path / "alerts.toml"
    custom.write_text(text, encoding="utf-8")
    monkeypatch.setattr(rules, "ALERTS_FILE", custom)
    with writing(db):  # any write (a load, an order) copies the settings in again
        pass
    assert alerts_of(db, "county_behind") == []  # 50 points behind is now under the 60-point margin
    assert alerts_of(db, "village_stagnant") == []  # switched off
    assert current_of(db) == alerts_of(db)  # the write that copied the settings refreshed the current alerts

    bad = tmp_path / "bad.toml"
    bad.write_text('[no_civil_servant]\nlevel = "蓝"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="只能是「红」或「黄」"):
        rules.load_config(bad)


def test_rule_sql_reads_settings_and_schedule_once():
    """The rules read alert_config once (the one-row ``cfg``, not a subquery per setting) and the schedule line once
    per (task year, date), not once per village row: both made alerts_at slow at national scale."""
    from warehouse import alerts as rules

    sql = rules._macros_sql(rules.load_config())
    body = sql[sql.index("MACRO alerts_at"):]
    assert body.count("FROM alert_config") == 1 and body.count("expected_progress(") == 1
    assert "cfg.n__village_stagnant__yellow_reports" in body and "AS n__village_stagnant__yellow_reports" in body


def test_schedule_defaults_milestones_and_provincial_line(tmp_path):
    s = schedule.year_schedule(2030)  # not listed: 1 January → 31 December, 7 even milestones
    assert (s.start, s.deadline) == (date(2030, 1, 1), date(2030, 12, 31)) and len(s.milestones) == 7
    assert schedule.expected_completion(2030, date(2030, 1, 1)) == 0
    assert schedule.expected_completion(2030, date(2030, 12, 31)) == 1
    assert schedule.expected_completion(2030, s.milestones[3]) == pytest.approx(4 / 7)
    assert schedule.expected_stage(2030, date(2030, 1, 2)) == 1
    custom = tmp_path / "schedule.toml"
    custom.write_text("[[task_year]]\nyear = 2024\nstart = 2024-03-01\nmilestones = [2024-04-01, 2024-05-01, "
                      "2024-06-01, 2024-07-01, 2024-08-01, 2024-09-01, 2024-10-31]\n", encoding="utf-8")
    c = schedule.year_schedule(2024, custom)
    assert c.deadline == date(2024, 10, 31) and c.points()[4] == (date(2024, 7, 1), 4 / 7)
    assert schedule.provincial_expected(date(2021, 12, 31)) == pytest.approx(0.30)
    assert schedule.provincial_expected(date(2022, 12, 31)) == pytest.approx(0.70)
    assert schedule.provincial_expected(date(2024, 6, 1)) == pytest.approx(1.0)
    assert schedule.provincial_shares() == {2021: 0.30, 2022: 0.40, 2023: 0.30}


# ------------------------------------------------------------------------------------------------ materialised

def current_of(db: Path) -> list[dict]:
    """The public view ``alerts`` (the table alerts_current, refreshed by every write)."""
    from warehouse import db as hdb

    hdb.close_all()
    return fetch(db, "SELECT * FROM alerts")


@contextmanager
def pages_on(db: Path):
    """hometown.dispatch.alerts reading the warehouse at ``db`` (as the pages do, through warehouse.db)."""
    from warehouse import db as hdb

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(hdb.ENV_VAR, str(db))
        hdb.close_all()
        try:
            yield
        finally:
            hdb.close_all()


def assert_current_is_fresh(db: Path) -> list[dict]:
    """The materialised alerts are exactly what the rules raise now, in the same order, and the pages read them."""
    from hometown.dispatch.alerts import alerts
    from warehouse.scope import Scope

    materialised, computed = current_of(db), alerts_of(db)
    assert materialised == computed
    with pages_on(db):
        assert alerts(Scope()).to_dicts() == computed
        assert alerts(Scope(county_code=MILE)).to_dicts() == [r for r in computed if r["county_code"] == MILE]
    return materialised


def test_materialised_alerts_follow_every_load(db, tmp_path, monkeypatch):
    """alerts_current is refilled inside the load that changes the reports (or the settings), never left stale;
    a write that changes neither (a duplicate file) leaves it as it is, and a supervision order writes no warehouse."""
    from hometown.dispatch import orders
    from warehouse import alerts as rules

    refills: list[bool] = []  # what the refresh at the end of each write did (True: refilled the table)
    refresh = rules.refresh_alerts

    def recording(con, force=False):
        refills.append(refresh(con, force))
        return refills[-1]

    monkeypatch.setattr(rules, "refresh_alerts", recording)

    rows = [village(township="西三镇", village="花口村", group=6, civil=0), *three_villages()[1:], gejiu_done()]
    days = [date(2021, 6, 30), date(2021, 9, 30)]
    ingest_ok(db, honghe(tmp_path, days[0], rows), honghe(tmp_path, days[1], rows))
    assert refills == [True]  # once per load (a load is one write), however many files
    first = assert_current_is_fresh(db)
    assert {r["village"] for r in first if r["alert_type"] == "no_civil_servant"} == {"花口村", "旧城村"}
    assert any(r["alert_type"] == "county_behind" for r in first)
    assert [r["column_name"] for r in fetch(db, "SELECT column_name FROM (DESCRIBE SELECT * FROM alerts)")] == \
        list(rules.ALERT_COLUMNS)

    # A correction for 30 September gives 花口村 its civil servant: that alert is gone from the table as well.
    fixed = [village(township="西三镇", village="花口村", group=6, civil=1), *three_villages()[1:], gejiu_done()]
    ingest_ok(db, honghe(tmp_path, days[1], fixed, name="红河州_20210930（更正）.xlsx"))
    assert refills == [True, True]
    second = assert_current_is_fresh(db)
    assert {r["village"] for r in second if r["alert_type"] == "no_civil_servant"} == {"旧城村"}
    assert second != first

    # An order does not write the warehouse at all (it lives in the app store), and a duplicate file changes nothing
    # the alerts are computed from: the table is kept, not refilled.
    signature = fetch(db, "SELECT value FROM meta WHERE key = ?", [rules.SIGNATURE_KEY])
    assert signature
    orders.create_from_alert(second[0], created_by="省项目组", db_path=db)
    assert refills == [True, True]
    (dup,) = load(db, honghe(tmp_path, days[1], fixed, name="红河州_20210930（更正）.xlsx"))
    assert dup.status == "duplicate"
    assert refills == [True, True, False]
    assert fetch(db, "SELECT value FROM meta WHERE key = ?", [rules.SIGNATURE_KEY]) == signature
    assert assert_current_is_fresh(db) == second

    # A changed threshold takes effect at the next load: 50 points behind is under a 60-point margin.
    assert any(r["alert_type"] == "county_behind" for r in second)
    text = rules.ALERTS_FILE.read_text(encoding="utf-8")
    custom = tmp_path / "alerts.toml"
    custom.write_text(text.replace("yellow = 0.10", "yellow = 0.60").replace("red = 0.25", "red = 0.80"),
                      encoding="utf-8")
    monkeypatch.setattr(rules, "ALERTS_FILE", custom)
    ingest_ok(db, honghe(tmp_path, date(2021, 12, 31), fixed))
    assert refills[-1] is True
    third = assert_current_is_fresh(db)
    assert not any(r["alert_type"] == "county_behind" for r in third)
    assert any(r["alert_type"] == "no_civil_servant" for r in third)


def test_warehouse_without_the_table_still_answers(db, tmp_path):
    """A warehouse written by code before alerts_current: the pages fall back to the macro, and the next write
    (whatever it is) creates and fills the table."""
    import duckdb

    from warehouse import db as hdb
    from warehouse.store import writing

    ingest_ok(db, honghe(tmp_path, date(2021, 6, 30)), honghe(tmp_path, date(2021, 9, 30)))
    expected = alerts_of(db)
    assert expected
    hdb.close_all()
    con = duckdb.connect(str(db))
    try:  # what older code left behind: the view over the macro, no table, no signature
        con.execute("CREATE OR REPLACE VIEW alerts AS SELECT * FROM alerts_at(NULL)")
        con.execute("DROP TABLE alerts_current")
        con.execute("DELETE FROM meta WHERE key LIKE 'alert%'")
    finally:
        con.close()
    from hometown.dispatch.alerts import alerts
    from warehouse.scope import Scope

    with pages_on(db):
        assert alerts(Scope()).to_dicts() == expected
    with writing(db):
        pass
    assert fetch(db, "SELECT count(*) AS n FROM alerts_current")[0]["n"] == len(expected)
    assert assert_current_is_fresh(db) == expected


# ------------------------------------------------------------------------------------------------ demo data

def test_demo_board_shows_lagging_counties(demo_db):
    """``make run`` shows a full board: the demo's lagging counties, late prefectures, groups without a civil
    servant and its one falling figure each raise their alert."""
    from demo import generate as demo

    rows = alerts_of(demo_db)
    assert rows, "the alert board is empty on the demo warehouse"
    assert current_of(demo_db) == rows  # what the board reads: materialised by the load
    by_type: dict[str, list[dict]] = {}
    for r in rows:
        by_type.setdefault(r["alert_type"], []).append(r)
    behind = {r["county_code"] for r in by_type.get("county_behind", [])}
    assert set(demo.LAGGING_COUNTIES) <= behind, (demo.LAGGING_COUNTIES, behind)
    assert any(r["level"] == "红" for r in by_type["county_behind"] if r["county_code"] in demo.LAGGING_COUNTIES)
    stagnant = {r["county_code"] for r in by_type.get("village_stagnant", [])}
    assert set(demo.LAGGING_COUNTIES) <= stagnant
    assert set(demo.LATE_PREFECTURES) <= {r["prefecture_code"] for r in by_type.get("late_report", [])}
    no_cs = {r["county_code"] for r in by_type.get("no_civil_servant", []) if r["level"] == "红"}
    assert set(demo.ZERO_CIVIL_SERVANT_COUNTIES) <= no_cs
    # The demo's one falling figure is flagged by the reports in force just after it was reported.
    fall = demo.FIGURE_FALL
    on = demo.BASE_DATES[fall["report_index"]] + timedelta(days=10)
    fell = [r for r in alerts_of(demo_db, "figure_fell", on) if r["county_code"] == fall["county_code"]]
    assert [r["alert_key"].rsplit(":", 1)[1] for r in fell] == [fall["field"]]
