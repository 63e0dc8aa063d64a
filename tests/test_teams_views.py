"""The public views of TEAMS_SPEC §5 on a small warehouse counted by hand (tests/teamfiles.py small_warehouse).

By hand, at 红河州's latest month (2022-03, 31 days, 20 days required; 周九 recalled on 10 March: 10 days in post,
⌈20 × 10 ÷ 31⌉ = 7 required):
- in post: 张三 李四 王五 赵六 钱七 孙八 吴十 = 7 (周九 left); first secretaries 张三 赵六 = 2.
- villages: 城东 (重点, 3 in post: met), 城西 (重点, 2: not met), 城关 (一般脱贫, no first secretary: not met),
  铺田 (示范创建, nobody in post but 城东's team lists it in 兼帮扶村: met), 青杉里 (其他村: no requirement).
  covered 4 (铺田 0 in post), required 4, met 2 → staffing 2/4; 弥勒市 3 covered, 4 required, 2 met; 个旧市 1, 0, 0.
- person-months in post in March: the eight (周九 10 days); meeting the rule: 张三 22, 李四 18+2, 钱七 20, 周九 8≥7
  = 4; not: 王五 15, 赵六 19, 吴十 19, 孙八 (no row) → 4/8; 弥勒市 4/7, 个旧市 0/1.
- households visited, Feb + Mar, capped at the village's households: 城东 60+70=130→120, 城西 10+20=30, 城关 10,
  铺田 15+5=20, 青杉里 20 → 200 of 350; 弥勒市 180/310, 个旧市 20/40.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from reportfiles import fetch
from teamfiles import small_warehouse

PINNED = {
    "team_members": ["prefecture_code", "county_code", "village_code", "village", "village_type", "person_key", "name",
                     "role", "party_status", "sending_level", "sending_unit", "start_date", "end_date", "status",
                     "extra_villages"],
    "team_attendance": ["person_key", "month", "village_code", "days_in_village", "days_official", "days_leave",
                        "days_absent", "days_counted", "days_required", "households_visited", "trips", "meets_rule"],
    "team_coverage": ["village_code", "village_type", "people_in_post", "first_secretaries", "required_rule",
                      "meets_rule"],
    "team_summary": ["level", "code", "name", "as_of", "in_post", "first_secretaries", "villages_covered",
                     "villages_required", "villages_met", "staffing_met_rate", "attendance_met_rate",
                     "households_visited_rate"],
    "team_allowances": ["person_key", "month", "sending_unit", "living_yuan", "communication_yuan", "trips"],
}


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("teams")
    return small_warehouse(base / "in", base / "w.duckdb")


def summary(db, level, code) -> dict:
    (row,) = fetch(db, "SELECT * FROM team_summary WHERE level = ? AND code = ?", [level, code])
    return row


@pytest.mark.parametrize("view", list(PINNED))
def test_views_keep_their_pinned_columns_and_no_unmasked_numbers(db, view):
    cols = [r["column_name"] for r in fetch(db, "SELECT column_name FROM information_schema.columns "
                                                "WHERE table_name = ? ORDER BY ordinal_position", [view])]
    assert cols[:0] == [] and set(PINNED[view]) <= set(cols)
    assert "id_number" not in cols and "phone" not in cols


def test_people_and_first_secretaries(db):
    pref = summary(db, "prefecture", "532500")
    assert (pref["in_post"], pref["first_secretaries"]) == (7, 2)
    assert (summary(db, "county", "532504")["in_post"], summary(db, "county", "532501")["in_post"]) == (6, 1)
    assert pref["as_of"] == date(2022, 3, 31)


def test_staffing(db):
    cov = {r["village"]: r for r in fetch(db, "SELECT * FROM team_coverage")}
    assert {v: (r["people_in_post"], r["required_rule"], r["meets_rule"]) for v, r in cov.items()} == {
        "城东社区": (3, "team", True), "城西社区": (2, "team", False), "城关社区": (1, "first_secretary", False),
        "铺田社区": (0, "first_secretary_or_helped", True), "青杉里社区": (1, "none", True)}
    pref = summary(db, "prefecture", "532500")
    assert (pref["villages_covered"], pref["villages_required"], pref["villages_met"]) == (4, 4, 2)
    assert pref["staffing_met_rate"] == pytest.approx(2 / 4)
    mile, gejiu = summary(db, "county", "532504"), summary(db, "county", "532501")
    assert (mile["villages_covered"], mile["villages_required"], mile["villages_met"]) == (3, 4, 2)
    assert (gejiu["villages_covered"], gejiu["villages_required"], gejiu["staffing_met_rate"]) == (1, 0, None)


def test_attendance(db):
    march = {r["name"]: r for r in fetch(db, "SELECT * FROM team_attendance WHERE month = DATE '2022-03-01'")}
    assert {n: (r["days_counted"], r["days_required"], r["meets_rule"]) for n, r in march.items()} == {
        "张三": (22, 20, True), "李四": (20, 20, True), "王五": (15, 20, False), "赵六": (19, 20, False),
        "钱七": (20, 20, True), "周九": (8, 7, True), "吴十": (19, 20, False)}
    feb = fetch(db, "SELECT days_required FROM team_attendance WHERE month = DATE '2022-02-01'")
    assert {r["days_required"] for r in feb} == {20}
    assert summary(db, "prefecture", "532500")["attendance_met_rate"] == pytest.approx(4 / 8)
    assert summary(db, "county", "532504")["attendance_met_rate"] == pytest.approx(4 / 7)
    assert summary(db, "county", "532501")["attendance_met_rate"] == pytest.approx(0 / 1)


def test_households_visited(db):
    assert summary(db, "prefecture", "532500")["households_visited_rate"] == pytest.approx(200 / 350)
    assert summary(db, "county", "532504")["households_visited_rate"] == pytest.approx(180 / 310)
    assert summary(db, "county", "532501")["households_visited_rate"] == pytest.approx(20 / 40)


def test_members_current_roster_masked(db):
    rows = {r["name"]: r for r in fetch(db, "SELECT * FROM team_members")}
    assert len(rows) == 8 and rows["周九"]["in_post"] is False and rows["周九"]["end_date"] == date(2022, 3, 10)
    assert rows["张三"]["extra_villages"] == "铺田社区" and rows["张三"]["extra_keys"] == "532504001004"
    assert all(r["id_masked"].count("*") == 8 for r in rows.values())


def test_village_summary_counted_by_hand_and_adding_up_to_the_counties(db):
    """team_village_summary (the rankings' village level, the grain the regions add up) at 2022-03: 城东 张三 李四
    met, 王五 not → 2/3; 城西 钱七 of 钱七 赵六 → 1/2; 城关 孙八 no row → 0/1; 铺田 周九 8 ≥ 7 → 1/1; 青杉里 吴十 → 0/1."""
    rows = {r["name"]: r for r in fetch(db, "SELECT * FROM team_village_summary")}
    assert {v: (r["person_months_met"], r["person_months"]) for v, r in rows.items()} == {
        "城东社区": (2, 3), "城西社区": (1, 2), "城关社区": (0, 1), "铺田社区": (1, 1), "青杉里社区": (0, 1)}
    assert rows["城东社区"]["attendance_met_rate"] == pytest.approx(2 / 3)
    assert {v: (r["in_post"], r["villages_required"], r["villages_met"]) for v, r in rows.items()} == {
        "城东社区": (3, 1, 1), "城西社区": (2, 1, 0), "城关社区": (1, 1, 0), "铺田社区": (0, 1, 1), "青杉里社区": (1, 0, 0)}
    assert rows["城东社区"]["households_visited"] == 120 and rows["城东社区"]["households"] == 120
    for county in ("532504", "532501"):
        (added,) = fetch(db, "SELECT sum(in_post) AS p, sum(person_months_met) AS m, sum(person_months) AS n, "
                             "sum(households_visited) AS v FROM team_village_summary WHERE county_code = ?", [county])
        row = summary(db, "county", county)
        assert (added["p"], added["m"], added["n"], added["v"]) == (
            row["in_post"], row["person_months_met"], row["person_months"], row["households_visited"])


def test_the_pages_read_copies_equal_to_the_live_views(db):
    """The part's refresh materialised each public view (the pages read a table), row for row what the live view
    computes now; a person's card reads every person's latest row, numbers masked."""
    from warehouse.parts import teams as part

    views = {r["view_name"]: r["sql"] for r in fetch(db, "SELECT view_name, sql FROM duckdb_views()")}
    for name in part.CACHED:
        assert f"FROM {name}_cache" in views[name], name
        (diff,) = fetch(db, f"SELECT (SELECT count(*) FROM (SELECT * FROM {name} EXCEPT ALL SELECT * FROM {name}_live)) "
                            f"+ (SELECT count(*) FROM (SELECT * FROM {name}_live EXCEPT ALL SELECT * FROM {name})) AS d, "
                            f"(SELECT count(*) FROM {name}) AS n")
        assert diff["d"] == 0 and diff["n"] > 0, name
    people = {r["name"]: r for r in fetch(db, "SELECT * FROM team_people")}
    assert len(people) == 8 and people["周九"]["status"] == "召回" and people["周九"]["id_masked"].count("*") == 8
    assert "id_number" not in people["周九"] and "phone" not in people["周九"]


def test_a_new_write_refills_the_copies_only_when_their_inputs_changed(tmp_path):
    from teamfiles import attendance_of, team_of_three, workbook
    from reportfiles import load
    from warehouse import store
    from warehouse.parts import teams as part

    path = small_warehouse(tmp_path / "in", tmp_path / "w.duckdb")
    with store.writing(path) as con:
        pass  # a write that loads nothing (an order, a duplicate file): nothing to refill
    with store.writing(path) as con:
        assert part.refresh_caches(con) is False
    roster = team_of_three("城南社区", first=11)
    (r,) = load(path, workbook(tmp_path / "红河州_驻村力量_202204.xlsx", roster, attendance_of(roster, "2022-04")),
                as_of_limit=date(2022, 12, 31))
    assert r.status == "accepted", r.errors
    (row,) = fetch(path, "SELECT in_post, as_of FROM team_summary WHERE level = 'prefecture'")
    assert (row["in_post"], row["as_of"]) == (3, date(2022, 4, 30))  # April's roster: only 城南社区's team
