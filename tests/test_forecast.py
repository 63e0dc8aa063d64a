"""倒排工期 (hometown/dispatch/forecast.py) on crafted report sequences loaded through the real pipeline.

Three 红河州 reports 90 days apart (1 March, 30 May, 28 August 2021), task year 2021 (deadline 31 December):
弥勒市 completes one village of three per report (on track), 个旧市 one village in the last report only (late),
开远市 never moves (not converging), 建水县 was done from the start.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from warehouse import db as hdb
from hometown.dispatch import forecast
from warehouse.scope import Filters, Scope
from reportfiles import village
from test_alerts import GEJIU, KAIYUAN, MILE, honghe, ingest_ok

DAYS = [date(2021, 3, 1), date(2021, 5, 30), date(2021, 8, 28)]
JIANSHUI = "532524"
MILE_VILLAGES = [("西三镇", "花口村"), ("虹溪镇", "新桥村"), ("东山镇", "旧城村")]
GEJIU_VILLAGES = [("宝华街道", "宝华社区"), ("宝华街道", "胜利社区"), ("宝华街道", "文锡社区")]


def row(county: str, township: str, name: str, done: bool) -> list:
    if done:
        return village(county=county, township=township, village=name, stage=5, steps=18, status="成果完成")
    return village(county=county, township=township, village=name, stage=4, steps=14, status="编制中")


def report_rows(mile_done: int, gejiu_done: int) -> list[list]:
    return ([row("弥勒市", t, v, i < mile_done) for i, (t, v) in enumerate(MILE_VILLAGES)]
            + [row("个旧市", t, v, i < gejiu_done) for i, (t, v) in enumerate(GEJIU_VILLAGES)]
            + [row("开远市", "灵泉街道", "东联社区", False), row("建水县", "临安镇", "北正社区", True)])


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("forecast")
    db = folder / "warehouse.duckdb"
    ingest_ok(db, *(honghe(folder, d, report_rows(m, g)) for d, m, g in zip(DAYS, (0, 1, 2), (0, 0, 1))))
    return db


@pytest.fixture
def rows(warehouse, monkeypatch) -> dict[str, dict]:
    monkeypatch.setenv("HOMETOWN_DB", str(warehouse))
    frame = forecast.forecast(Scope(), Filters(task_year=2021))
    yield {r["county_code"]: r for r in frame.iter_rows(named=True)}
    hdb.close_all()


def test_on_track_county(rows):
    mile = rows[MILE]
    assert (mile["reports"], mile["task_villages"], mile["completed"], mile["remaining"]) == (3, 3, 2, 1)
    assert mile["status"] == forecast.ON_TRACK and mile["on_track"] and mile["converging"]
    # One village per 90 days: the last third takes 90 more days.
    assert mile["projected_date"] == DAYS[-1] + timedelta(days=90) == date(2021, 11, 26)
    assert mile["pace_per_month"] == pytest.approx(forecast.DAYS_PER_MONTH / 90)
    months_left = (date(2021, 12, 31) - DAYS[-1]).days / forecast.DAYS_PER_MONTH
    assert mile["months_left"] == pytest.approx(months_left)
    assert mile["pace_needed"] == pytest.approx(1 / months_left)
    assert mile["deadline"] == date(2021, 12, 31) and mile["days_late"] == 0
    assert "2021-11-26" in mile["verdict"] and "可按期完成" in mile["verdict"]


def test_late_county_needs_more_pace(rows):
    gejiu = rows[GEJIU]
    # Least squares through (0, 0), (90, 0), (180, 1/3): 1/540 a day; 2/3 remaining → 360 days.
    assert gejiu["status"] == forecast.LATE and gejiu["on_track"] is False
    assert gejiu["projected_date"] == DAYS[-1] + timedelta(days=360)
    assert gejiu["days_late"] == (DAYS[-1] + timedelta(days=360) - date(2021, 12, 31)).days
    assert gejiu["pace_needed"] == pytest.approx(2 / gejiu["months_left"])
    assert gejiu["pace_needed"] > gejiu["pace_per_month"]
    assert "比截止日期晚" in gejiu["verdict"] and "需提速至每月" in gejiu["verdict"]


def test_not_converging_and_done(rows):
    kaiyuan = rows[KAIYUAN]
    assert kaiyuan["status"] == forecast.NOT_CONVERGING and kaiyuan["converging"] is False
    assert kaiyuan["projected_date"] is None and kaiyuan["pace_needed"] == pytest.approx(1 / kaiyuan["months_left"])
    assert "无法完成" in kaiyuan["verdict"]
    assert rows[JIANSHUI]["status"] == forecast.DONE and rows[JIANSHUI]["remaining"] == 0


def test_riskiest_first_and_filters(warehouse, monkeypatch):
    monkeypatch.setenv("HOMETOWN_DB", str(warehouse))
    try:
        frame = forecast.forecast(Scope(), Filters(task_year=2021))
        assert frame["county_code"].to_list() == [KAIYUAN, GEJIU, MILE, JIANSHUI]
        assert forecast.forecast(Scope(county_code=MILE))["county_code"].to_list() == [MILE]
        assert forecast.forecast(Scope(), Filters(task_year=2022)).height == 0
        # As of the first report there is a single point: no trend yet.
        first = forecast.forecast(Scope(), Filters(task_year=2021, as_of=DAYS[0]))
        assert set(first["status"]) == {forecast.INSUFFICIENT, forecast.DONE}
        trend = forecast.trend(Scope(county_code=GEJIU))
        assert trend["completion_rate"].to_list() == pytest.approx([0, 0, 1 / 3])
    finally:
        hdb.close_all()


def test_past_deadline():
    points = [(date(2021, 9, 30), 4, 1), (date(2022, 1, 31), 4, 2)]
    out = forecast.project(points, date(2021, 12, 31))
    assert out["status"] == forecast.PAST_DEADLINE and out["pace_needed"] is None and out["months_left"] == 0
    assert "已过截止日期" in out["verdict"]
    assert forecast.fit_pace([0, 0], [0.1, 0.2]) is None
