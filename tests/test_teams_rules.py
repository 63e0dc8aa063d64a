"""The seven rules of TEAMS_SPEC §3 as alerts (warehouse/parts/teams.py, view ``alerts``): each fires at its
threshold and not just short of it, on real workbooks loaded through the pipeline; thresholds from
config/alerts.toml. The small warehouse is tests/teamfiles.py's (figures counted by hand in test_teams_views.py).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from reportfiles import fetch, load
from teamfiles import attendance_of, make_id, person, small_warehouse, team_of_three, workbook

LIMIT = date(2022, 12, 31)


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("rules")
    return small_warehouse(base / "in", base / "w.duckdb")


def alerts(db: Path, rule: str) -> list[dict]:
    return fetch(db, "SELECT * FROM alerts WHERE alert_type = ? ORDER BY alert_key", [rule])


def one_file(tmp_path: Path, roster, attendance, month="202203", assessment=None) -> Path:
    db = tmp_path / "w.duckdb"
    path = workbook(tmp_path / f"红河州_驻村力量_{month}.xlsx", roster, attendance, assessment)
    (r,) = load(db, path, as_of_limit=LIMIT)
    assert r.status == "accepted", r.errors
    return db


def test_days_short_levels_and_threshold(small):
    found = {a["detail"].split("：", 1)[1].split("（")[0]: a for a in alerts(small, "team_days_short")}
    assert {n: a["level"] for n, a in found.items()} == {"王五": "红", "赵六": "红", "吴十": "黄"}
    # 钱七 has exactly the 20 required, 周九 8 of a pro-rata 7: neither fires.
    assert (found["吴十"]["value"], found["吴十"]["threshold"]) == (19, 20)
    assert "未请假离岗 2 天" in found["王五"]["detail"] and "连续两个月不足" in found["赵六"]["detail"]
    assert all(a["alert_label"] == "在村天数不足" and a["as_of"] == date(2022, 3, 31) for a in found.values())
    key = fetch(small, "SELECT person_key FROM team_members WHERE name = '王五'")[0]["person_key"]
    assert found["王五"]["alert_key"] == f"team_days_short:{key}:2022-03"
    assert not any(make_id(i) in a["detail"] + a["alert_key"] for i in range(1, 9) for a in found.values())


def test_understaffed(small):
    found = {a["village"]: a for a in alerts(small, "team_understaffed")}
    assert set(found) == {"城西社区", "城关社区"}  # 城东 has exactly 3; 铺田 is helped by 城东's team; 青杉里 needs none
    assert all(a["level"] == "红" for a in found.values())
    assert (found["城西社区"]["value"], found["城西社区"]["threshold"]) == (2, 3)
    assert found["城西社区"]["village_code"] == "532504001002" and found["城西社区"]["county_name"] == "弥勒市"


def test_understaffed_resettlement_sites(tmp_path):
    roster = [person(1, "甲", village="城东社区", vtype="易地搬迁安置点", resettled=500, role="第一书记"),
              person(2, "乙", village="城西社区", vtype="易地搬迁安置点", resettled=499, role="第一书记"),
              person(3, "丙", village="城关社区", vtype="易地搬迁安置点", resettled=100, role="工作队员"),
              person(4, "丁", village="铺田社区", vtype="易地搬迁安置点", resettled=99, role="工作队员")]
    db = one_file(tmp_path, roster, attendance_of(roster))
    assert {a["village"] for a in alerts(db, "team_understaffed")} == {"城东社区", "城关社区"}


@pytest.mark.parametrize("party_date, work_date, fires", [
    (date(2020, 6, 1), date(2019, 6, 1), False),     # exactly 1 year of membership and 2 of work at 2021-06-01
    (date(2020, 6, 2), date(2019, 6, 1), True),
    (date(2020, 6, 1), date(2019, 6, 2), True),
])
def test_ineligible_thresholds(tmp_path, party_date, work_date, fires):
    roster = team_of_three(party_date=party_date, work_date=work_date)
    db = one_file(tmp_path, roster, attendance_of(roster))
    found = alerts(db, "team_ineligible")
    assert [a["detail"].split("第一书记")[1].split("：")[0] for a in found] == (["张三"] if fires else [])


def test_ineligible_party_status(small):
    (a,) = alerts(small, "team_ineligible")
    assert "赵六" in a["detail"] and "中共预备党员" in a["detail"] and a["level"] == "黄"


@pytest.mark.parametrize("extra, fires", [("城西社区、城关社区", False), ("城西社区、城关社区;铺田社区", True)])
def test_too_many_villages(tmp_path, extra, fires):
    roster = team_of_three()
    roster[0][21] = extra
    db = one_file(tmp_path, roster, attendance_of(roster))
    found = alerts(db, "team_too_many_villages")
    assert [(a["village"], a["value"]) for a in found] == ([("城东社区", 3)] if fires else [])


@pytest.mark.parametrize("start, level", [
    (date(2020, 5, 31), None),      # term ends 2022-05-31: 61 days after 2022-03-31
    (date(2020, 5, 30), "黄"),      # the 60th day before
    (date(2020, 3, 31), "黄"),      # ends on the as-of day itself
    (date(2020, 3, 30), "红"),      # ended the day before
])
def test_term_due(tmp_path, start, level):
    roster = team_of_three(start=start)
    db = one_file(tmp_path, roster, attendance_of(roster))
    found = alerts(db, "team_term_due")
    assert {a["level"] for a in found} == ({level} if level else set())
    if level:
        assert len(found) == 3


@pytest.mark.parametrize("visits, fires", [((40, 40, 40), False), ((39, 40, 40), True)])
def test_visits_incomplete_at_december(tmp_path, visits, fires):
    roster = team_of_three()
    att = [row[:7] + [v] + row[8:] for row, v in zip(attendance_of(roster, month="2021-12"), visits)]
    db = one_file(tmp_path, roster, att, month="202112")
    found = alerts(db, "team_visits_incomplete")
    assert [(a["village"], a["value"], a["threshold"]) for a in found] == ([("城东社区", 119, 120)] if fires else [])


def test_visits_not_judged_before_december(small):
    assert alerts(small, "team_visits_incomplete") == []


def test_yearly_missing(tmp_path):
    roster = team_of_three() + [person(4, "赵六", start=date(2021, 7, 2)), person(5, "钱七", start=date(2021, 7, 1))]
    assessment = [[roster[0][9], "张三", 2021, "优秀", 1, "是", "是"], [roster[1][9], "李四", 2021, "称职", 0, "是", "是"],
                  [roster[3][9], "赵六", 2021, "不参加考核", 0, "否", "否"]]
    db = one_file(tmp_path, roster, attendance_of(roster, month="2022-01"), month="202201", assessment=assessment)
    found = {a["detail"].split("：", 1)[1].split("（")[0]: a for a in alerts(db, "team_yearly_missing")}
    # 张三 complete; 李四 no training; 王五 no assessment at all; 赵六 arrived after 1 July: not required; 钱七
    # arrived on 1 July itself ("on 1 July of Y or earlier"): required, and has nothing.
    assert set(found) == {"李四", "王五", "钱七"}
    assert "未参加培训" in found["李四"]["detail"] and "无年度考核" in found["王五"]["detail"]


def test_yearly_missing_waits_for_the_sheet(small):
    assert alerts(small, "team_yearly_missing") == []


def test_rules_on_the_board_order_and_labels(small):
    from warehouse import alerts as core

    # The part's rules in its own order (other parts' rules may follow: 任期承诺's come after, order 20).
    assert tuple(r for r in core.RULES if r.startswith("team_")) == ("team_days_short", "team_understaffed", "team_ineligible", "team_too_many_villages",
                               "team_term_due", "team_visits_incomplete", "team_yearly_missing")
    labels = {r["alert_type"]: r["alert_label"] for r in fetch(small, "SELECT DISTINCT alert_type, alert_label FROM alerts")}
    assert labels == {"team_days_short": "在村天数不足", "team_understaffed": "力量配备不足",
                      "team_ineligible": "选派条件不符"}
