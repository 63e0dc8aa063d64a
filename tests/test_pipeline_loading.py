"""REPORT_SPEC §5: loading again — duplicates, corrections, later and earlier dates, prefectures on their own days,
and tables of the app's own that no load may touch.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from warehouse.store import writing
from reportfiles import (
    fetch, load, load_one, simple_report, three_villages, village, villages_by_name, warehouse_state, write_report,
)

HONGHE, YUXI = "532500", "530400"


def honghe(folder: Path, day: date, name: str | None = None, **changes) -> Path:
    """A 红河州 report of the three standard villages as of ``day``; ``changes`` set 花口村's figures."""
    rows = three_villages()
    first = village(township="西三镇", village="花口村", **changes)
    rows[0] = first if changes else rows[0]
    name = name or f"红河州_{day:%Y%m%d}.xlsx"
    return write_report(folder / name, simple_report(rows, as_of=f"截至{day.year}年{day.month}月{day.day}日"))


def yuxi(folder: Path, day: date, group: int = 11, name: str | None = None) -> Path:
    rows = [village(prefecture="玉溪市", county="红塔区", township="玉兴街道", village="荷花社区", group=group)]
    return write_report(folder / (name or f"玉溪市_{day:%Y%m%d}.xlsx"),
                        simple_report(rows, title="玉溪市干部规划家乡行动工作进度统计表",
                                      as_of=f"截至{day.year}年{day.month}月{day.day}日"))


def log(db: Path) -> list[dict]:
    return fetch(db, "SELECT report_id, file_name, status, as_of, superseded_by, village_rows FROM report_log "
                     "ORDER BY report_id")


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "warehouse.duckdb"


def test_same_bytes_again_is_a_duplicate_and_changes_nothing(tmp_path, db):
    path = honghe(tmp_path, date(2022, 3, 31))
    assert load_one(db, path).status == "accepted"
    before = warehouse_state(db)
    copy = tmp_path / "红河州_20220331（再次上报）.xlsx"
    copy.write_bytes(path.read_bytes())
    results = load(db, path, copy)
    assert [r.status for r in results] == ["duplicate", "duplicate"]
    assert all(r.prefecture_code == HONGHE and r.as_of == date(2022, 3, 31) for r in results)
    after = warehouse_state(db)
    for key in ("village_status", "village_history", "county_summary", "needs", "projects"):
        assert after[key] == before[key], key
    # only the log grew: one line per offer, the original still the accepted one
    assert after["counts"]["village_rows"] == before["counts"]["village_rows"] == 3
    assert [(r["file_name"], r["status"]) for r in log(db)] == [
        ("红河州_20220331.xlsx", "accepted"), ("红河州_20220331.xlsx", "duplicate"), (copy.name, "duplicate")]


def test_correction_for_the_same_date_replaces_the_earlier(tmp_path, db):
    first = honghe(tmp_path, date(2022, 3, 31))
    assert load_one(db, first).status == "accepted"
    fixed = honghe(tmp_path, date(2022, 3, 31), name="红河州_20220331_更正.xlsx", group=10, civil=4, steps=15)
    result = load_one(db, fixed)
    assert result.status == "superseded" and result.replaced_report_id == 1
    entries = log(db)
    assert [(e["report_id"], e["status"], e["superseded_by"]) for e in entries] == [
        (1, "superseded", 2), (2, "accepted", None)]
    current = villages_by_name(db)
    assert current["花口村"]["group_size"] == 10 and current["花口村"]["civil_servants"] == 4
    assert current["花口村"]["steps_done"] == 15
    assert {r["report_id"] for r in fetch(db, "SELECT report_id FROM village_status")} == {2}
    history = fetch(db, "SELECT village, group_size, report_id FROM village_history WHERE as_of = '2022-03-31'")
    assert len(history) == 3 and {h["report_id"] for h in history} == {2}
    assert fetch(db, "SELECT group_members FROM county_summary")[0]["group_members"] == 10 + 12 + 0
    # the superseded file's rows are kept (not in the views): the correction can be traced
    assert fetch(db, "SELECT count(*) AS n FROM village_rows WHERE report_id = 1")[0]["n"] == 3
    # offering the superseded bytes again is still a duplicate, not a revert
    assert load_one(db, first).status == "duplicate"
    assert villages_by_name(db)["花口村"]["group_size"] == 10


def test_a_later_date_becomes_current_and_an_earlier_one_goes_to_history(tmp_path, db):
    march = honghe(tmp_path, date(2022, 3, 31), steps=13)
    april = honghe(tmp_path, date(2022, 4, 30), steps=15, visits=40)
    february = honghe(tmp_path, date(2022, 2, 28), steps=12, stage=3, status="编制中")
    assert load_one(db, march).status == "accepted"
    assert load_one(db, april).status == "accepted"
    current = villages_by_name(db)
    assert {r["as_of"] for r in current.values()} == {date(2022, 4, 30)}
    assert current["花口村"]["steps_done"] == 15 and current["花口村"]["cadre_visits"] == 40
    # out of order: an earlier date loaded afterwards is history only
    assert load_one(db, february).status == "accepted"
    current = villages_by_name(db)
    assert {r["as_of"] for r in current.values()} == {date(2022, 4, 30)}
    assert current["花口村"]["steps_done"] == 15
    assert fetch(db, "SELECT DISTINCT as_of FROM county_summary") == [{"as_of": date(2022, 4, 30)}]
    trend = fetch(db, "SELECT as_of, steps_done FROM village_history WHERE village = '花口村' ORDER BY as_of")
    assert trend == [{"as_of": date(2022, 2, 28), "steps_done": 12}, {"as_of": date(2022, 3, 31), "steps_done": 13},
                     {"as_of": date(2022, 4, 30), "steps_done": 15}]
    assert fetch(db, "SELECT count(*) AS n FROM village_history")[0]["n"] == 9
    assert [e["status"] for e in log(db)] == ["accepted"] * 3


def test_each_prefecture_shows_its_own_latest(tmp_path, db):
    results = load(db, honghe(tmp_path, date(2022, 3, 31)), yuxi(tmp_path, date(2022, 4, 15), group=11),
                   yuxi(tmp_path, date(2022, 3, 15), group=7), honghe(tmp_path, date(2022, 2, 28), group=5))
    assert [r.status for r in results] == ["accepted"] * 4
    by_pref = {}
    for r in fetch(db, "SELECT prefecture_code, as_of, village, group_size FROM village_status"):
        by_pref.setdefault(r["prefecture_code"], []).append(r)
    assert {r["as_of"] for r in by_pref[HONGHE]} == {date(2022, 3, 31)} and len(by_pref[HONGHE]) == 3
    assert [(r["as_of"], r["group_size"]) for r in by_pref[YUXI]] == [(date(2022, 4, 15), 11)]
    summary = {r["prefecture_code"]: r for r in fetch(db, "SELECT * FROM prefecture_summary")}
    assert summary[HONGHE]["as_of"] == date(2022, 3, 31) and summary[HONGHE]["group_members"] == 21
    assert summary[YUXI]["as_of"] == date(2022, 4, 15) and summary[YUXI]["group_members"] == 11
    # a correction of one prefecture leaves the other's current figures alone
    fixed = yuxi(tmp_path, date(2022, 4, 15), group=13, name="玉溪市_20220415（更正）.xlsx")
    assert load_one(db, fixed).status == "superseded"
    assert fetch(db, "SELECT group_members FROM prefecture_summary WHERE prefecture_code = ?", [YUXI]) == [
        {"group_members": 13}]
    assert fetch(db, "SELECT group_members FROM prefecture_summary WHERE prefecture_code = ?", [HONGHE]) == [
        {"group_members": 21}]


def test_a_refused_correction_leaves_the_accepted_report_current(tmp_path, db):
    assert load_one(db, honghe(tmp_path, date(2022, 3, 31))).status == "accepted"
    bad = honghe(tmp_path, date(2022, 3, 31), name="红河州_20220331_更正.xlsx", group=9, civil=12)
    assert load_one(db, bad).status == "refused"
    assert [e["status"] for e in log(db)] == ["accepted", "refused"]
    assert villages_by_name(db)["花口村"]["civil_servants"] == 2


SAMPLE_VALUES = {"INTEGER": 1, "BIGINT": 1, "SMALLINT": 1, "TINYINT": 1, "DOUBLE": 1.5, "FLOAT": 1.5,
                 "BOOLEAN": True, "DATE": date(2022, 4, 2), "TIMESTAMP": "2022-04-02 10:00:00"}


def put_sample_row(con, table: str, fixed: dict) -> None:
    """Insert one row into an app table whatever its columns (the app owns its DDL): typed sample values."""
    cols = con.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
                       "ORDER BY ordinal_position", [table]).fetchall()
    values = []
    for name, dtype in cols:
        if name in fixed:
            values.append(fixed[name])
        elif dtype.endswith("[]"):
            values.append(["限期组建编制组"])
        else:
            values.append(SAMPLE_VALUES.get(dtype.split("(")[0], f"{name}-样例"))
    con.execute(f"INSERT INTO {table} ({', '.join(c for c, _ in cols)}) VALUES ({', '.join('?' for _ in cols)})",
                values).fetchall()


def test_app_owned_tables_are_not_touched_by_loads(tmp_path, db):
    assert load_one(db, honghe(tmp_path, date(2022, 3, 31))).status == "accepted"
    with writing(db) as con:
        # supervision_orders belongs to the app (hometown.dispatch.orders creates it when present); a table of the app's
        # that the pipeline knows nothing about must survive loads just as well.
        con.execute("CREATE TABLE IF NOT EXISTS supervision_orders (order_id INTEGER PRIMARY KEY, county_code VARCHAR, "
                    "village_key VARCHAR, deadline DATE, title VARCHAR)").fetchall()
        for order_id, key in ((1, "532504110202"), (2, None)):
            put_sample_row(con, "supervision_orders", {"order_id": order_id, "county_code": "532504",
                                                       "prefecture_code": HONGHE, "village_key": key})
        con.execute("CREATE TABLE app_notes (note_id INTEGER, body VARCHAR)").fetchall()
        con.execute("INSERT INTO app_notes VALUES (1, '旧城村进度滞后，已电话督促')").fetchall()
    orders = fetch(db, "SELECT * FROM supervision_orders ORDER BY order_id")
    notes = fetch(db, "SELECT * FROM app_notes")
    assert len(orders) == 2 and len(notes) == 1
    results = load(db, honghe(tmp_path, date(2022, 4, 30)), honghe(tmp_path, date(2022, 4, 30), name="更正_红河州_20220430.xlsx",
                                                                    group=10),
                   honghe(tmp_path, date(2022, 3, 31)), yuxi(tmp_path, date(2022, 4, 30)),
                   honghe(tmp_path, date(2022, 5, 31), name="红河州_20220531.xlsx", group=9, civil=12))
    assert [r.status for r in results] == ["accepted", "superseded", "duplicate", "accepted", "refused"]
    assert fetch(db, "SELECT * FROM supervision_orders ORDER BY order_id") == orders
    assert fetch(db, "SELECT * FROM app_notes") == notes
    # and the app's table can still be joined with the current figures
    joined = fetch(db, "SELECT o.order_id, v.village FROM supervision_orders o JOIN village_status v USING (village_key)")
    assert joined == [{"order_id": 1, "village": "旧城村"}]


CONTRACT_COLUMNS = {   # REPORT_SPEC §7 and the shared contract: a view may gain columns, never lose one
    "report_log": "file_name sha256 prefecture_code as_of loaded_at status village_rows messages",
    "village_status": "prefecture_code prefecture_name county_code county_name township village village_code village_key "
                      "task_year as_of stage steps_done plan_status group_size civil_servants cadre_visits local_talents "
                      "meetings villager_participation needs_total needs_adopted plan_industry plan_talent plan_culture "
                      "plan_ecology plan_organisation special_plans_done council funding_wan notes",
    "county_summary": "prefecture_code prefecture_name county_code county_name as_of task_villages planning_groups "
                      "group_members civil_servants cadre_visits needs_total needs_adopted villager_participation meetings "
                      "councils plans_completed plans_in_database funding_wan identified_civil_servants selected_cadres "
                      "county_stations township_stations",
    "needs": "prefecture_code county_code township village village_key content category status est_funding_wan",
    "projects": "prefecture_code county_code township village village_key project_name source funding_wan status",
}
CONTRACT_COLUMNS["village_history"] = CONTRACT_COLUMNS["village_status"]
CONTRACT_COLUMNS["prefecture_summary"] = " ".join(
    c for c in CONTRACT_COLUMNS["county_summary"].split() if c not in ("county_code", "county_name"))


def test_public_views_keep_the_contract_columns(tmp_path, db):
    assert load_one(db, honghe(tmp_path, date(2022, 3, 31))).status == "accepted"
    for view, columns in CONTRACT_COLUMNS.items():
        have = {r["column_name"] for r in fetch(db, "SELECT column_name FROM information_schema.columns "
                                                    "WHERE table_name = ?", [view])}
        assert set(columns.split()) <= have, (view, set(columns.split()) - have)
    types = {r["column_name"]: r["data_type"] for r in fetch(
        db, "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'village_status'")}
    assert types["as_of"] == "DATE" and types["council"] == "BOOLEAN" and types["funding_wan"] == "DOUBLE"
    assert types["plan_industry"] == "BOOLEAN"
    assert {r["data_type"] for r in fetch(db, "SELECT data_type FROM information_schema.columns "
                                              "WHERE table_name = 'report_log' AND column_name IN ('as_of', 'loaded_at')")} \
        == {"DATE", "TIMESTAMP"}


def test_checking_in_worker_processes_gives_the_same_warehouse(tmp_path):
    """Files are checked side by side in checker processes (pipelines/checks.py) but loaded in the order offered:
    a batch holding a correction, a duplicate, an earlier date and a refusal ends the same with 1 or 2 checkers
    or checked in the loading process itself."""
    folder = tmp_path / "batch"
    folder.mkdir()
    march = honghe(folder, date(2022, 3, 31), name="a_红河州_20220331.xlsx", steps=13)
    fixed = honghe(folder, date(2022, 3, 31), name="b_红河州_20220331_更正.xlsx", group=10, civil=4, steps=15)
    (folder / "c_红河州_20220331_再报.xlsx").write_bytes(march.read_bytes())
    honghe(folder, date(2022, 2, 28), name="d_红河州_20220228.xlsx", steps=12, stage=3, status="编制中")
    honghe(folder, date(2022, 4, 30), name="e_红河州_20220430.xlsx", civil=99)  # more civil servants than members
    yuxi(folder, date(2022, 4, 15), name="f_玉溪市_20220415.xlsx")
    outcomes = {}
    for workers in (0, 1, 2):  # 0: checked in this process (in_process=True)
        db = tmp_path / f"w{workers}.duckdb"
        results = load(db, folder, **({"workers": workers} if workers else {"in_process": True}))
        outcomes[workers] = (
            [(r.file_name, r.status, r.prefecture_code, r.as_of, r.village_rows, r.errors) for r in results],
            [{k: v for k, v in e.items()} for e in log(db)],
            {k: v for k, v in warehouse_state(db).items()},
        )
    assert [s for _, s, *_ in outcomes[1][0]] == ["accepted", "superseded", "duplicate", "accepted", "refused",
                                                  "accepted"]
    assert outcomes[2] == outcomes[1] == outcomes[0]
