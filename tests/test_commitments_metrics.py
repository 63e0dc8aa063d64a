"""任期承诺 metrics (COMMITMENTS_SPEC §4) against hand-counted figures, and rules C1–C6 (§3) each at its threshold,
on real workbooks loaded through the pipeline into a real warehouse."""

from __future__ import annotations

from datetime import date

import pytest

from commitmentfiles import ITEM_HEADER, evaluation, item, workbook
from reportfiles import fetch, load

AS_OF = "20220831"


def _load(tmp_path, items, evaluations=None, name=f"红河州_任期承诺_{AS_OF}.xlsx", **kw):
    path = workbook(tmp_path / name, items, evaluations, **kw)
    (result,) = load(tmp_path / "w.duckdb", path, workers=1)
    assert result.status in ("accepted", "superseded"), result.errors
    return tmp_path / "w.duckdb"


A = dict(county="弥勒市", township="西三镇", village="花口村")
B = dict(county="弥勒市", township="虹溪镇", village="新桥村")
C = dict(county="蒙自市", township="文澜镇", village="试验村")


@pytest.fixture
def counted(tmp_path):
    items = [
        item(no="1", lst="强村富民", due="2022-06-30", **A),     # due, closed on time
        item(no="2", lst="强村富民", due="2022-03-31", **A),     # due, closed late
        item(no="3", lst="党建提升", due="2022-07-31", **A),     # due, open (overdue)
        item(no="4", lst="党建提升", due="2023", **A),           # not due, closed early
        item(no="5", lst="乡村治理", due="2022-01-31", **A),     # cancelled: out of every count
        item(no="1", lst="为民服务", due="2022-08-31", **B),     # due on the as-of date, closed that day
        item(no="2", lst="文明创建", due="2024", **B),           # not due, open
        item(no="1", lst="强村富民", due="2022-05-31", **C),     # due, open
    ]
    ev = lambda no, on, status, place, **kw: evaluation(no=no, on=on, status=status, **place, **kw)
    evaluations = [
        ev("1", date(2022, 6, 20), "已销号", A, kind="期末验收", acceptance="通过"),
        ev("2", date(2022, 5, 10), "已销号", A, kind="期末验收", acceptance="通过"),
        ev("3", date(2022, 8, 1), "推进中", A),
        ev("4", date(2022, 8, 1), "已销号", A, kind="期末验收", acceptance="通过"),
        ev("5", date(2022, 3, 1), "取消", A),
        ev("1", date(2022, 8, 31), "已销号", B, kind="期末验收", acceptance="通过"),
        ev("1", date(2022, 7, 1), "推进中", C),
    ]
    return _load(tmp_path, items, evaluations)


def _summary(db, level, name, list_name=None):
    rows = fetch(db, "SELECT * FROM commitment_summary WHERE level = ? AND name = ? AND list_name IS NOT DISTINCT FROM ?",
                 [level, name, list_name])
    assert len(rows) == 1, rows
    r = rows[0]
    return (r["items"], r["due"], r["closed_due"], r["on_time_due"], r["closed"],
            r["fulfilment_rate"], r["on_time_rate"], r["closed_rate"])


def test_metrics_at_every_level_sums_over_sums_cancelled_out(counted):
    assert _summary(counted, "village", "花口村") == (4, 3, 2, 1, 3, pytest.approx(2 / 3), pytest.approx(1 / 3), 0.75)
    assert _summary(counted, "village", "新桥村") == (2, 1, 1, 1, 1, 1.0, 1.0, 0.5)
    assert _summary(counted, "township", "西三镇")[:5] == (4, 3, 2, 1, 3)
    # The county's rate is its closed-due items over its due items (3/4), not the mean of its villages' (5/6).
    assert _summary(counted, "county", "弥勒市") == (6, 4, 3, 2, 4, 0.75, 0.5, pytest.approx(4 / 6))
    assert _summary(counted, "county", "蒙自市") == (1, 1, 0, 0, 0, 0.0, 0.0, 0.0)
    assert _summary(counted, "prefecture", "红河哈尼族彝族自治州") == (7, 5, 3, 2, 4, 0.6, 0.4, pytest.approx(4 / 7))
    assert _summary(counted, "province", "云南省")[:5] == (7, 5, 3, 2, 4)


def test_metrics_by_list_and_null_when_nothing_is_due(counted):
    assert _summary(counted, "prefecture", "红河哈尼族彝族自治州", "强村富民") == (
        3, 3, 2, 1, 2, pytest.approx(2 / 3), pytest.approx(1 / 3), pytest.approx(2 / 3))
    assert _summary(counted, "village", "新桥村", "文明创建") == (1, 0, 0, 0, 0, None, None, 0.0)
    # The cancelled item stays in the item views, with its status.
    cancelled = fetch(counted, "SELECT status, light FROM commitment_status WHERE village = '花口村' AND item_no = '5'")
    assert cancelled == [{"status": "取消", "light": "取消"}]
    assert _summary(counted, "village", "花口村", "乡村治理") == (0, 0, 0, 0, 0, None, None, None)


def _alerts(db, rule):
    return {(a["village"], a["level"]) for a in fetch(db, "SELECT * FROM alerts WHERE alert_type = ?", [rule])}


def test_c1_notice_shorter_than_five_days(tmp_path):
    db = _load(tmp_path, [item(start=date(2021, 8, 5), end=date(2021, 8, 8), **A),
                          item(no="2", start=date(2021, 8, 5), end=date(2021, 8, 9), **A),   # one short item: the village
                          item(start=date(2021, 8, 5), end=date(2021, 8, 9), **B)])          # exactly 5 days: fine
    assert _alerts(db, "commit_notice_short") == {("花口村", "黄")}
    (alert,) = fetch(db, "SELECT value, threshold, alert_label FROM alerts WHERE alert_type = 'commit_notice_short'")
    assert (alert["value"], alert["threshold"], alert["alert_label"]) == (4.0, 5.0, "公示不足5天")


def _indicator(no, village, y2022, baseline=8, target=20, **kw):
    return item(no=no, indicator="村集体经营性收入", baseline=baseline, target=target, y2022=y2022, y2023=None,
                **village, **kw)


def test_c2_target_below_the_computed_regional_average(tmp_path):
    D = dict(county="弥勒市", township="东山镇", village="旧城村")
    items = [_indicator("1", A, 19), _indicator("1", B, 20), _indicator("1", D, 25),
             _indicator("2", D, 21, baseline=30, target=10, content="降低欠账")]  # aiming lower: above the average fires
    evaluations = [evaluation(no="1", on=date(2021, 12, 20), actual=10, **A),
                   evaluation(no="1", on=date(2021, 6, 20), actual=99, **B),  # not the last of 2021
                   evaluation(no="1", on=date(2021, 12, 1), actual=20, **B),
                   evaluation(no="1", on=date(2021, 11, 30), actual=30, **D)]
    db = _load(tmp_path, items, evaluations)
    # Mean of the three villages' last 2021 actuals: (10 + 20 + 30) / 3 = 20; 19 is below, 20 is not.
    assert _alerts(db, "commit_target_low") == {("花口村", "黄"), ("旧城村", "黄")}
    lower = fetch(db, "SELECT value, threshold FROM alerts WHERE alert_type = 'commit_target_low' AND village = '旧城村'")
    assert lower == [{"value": 21.0, "threshold": 20.0}]
    status = fetch(db, "SELECT village, regional_average FROM commitment_status WHERE item_no = '1' ORDER BY village")
    assert {s["regional_average"] for s in status} == {20.0}


def test_c2_with_the_file_column_when_too_few_villages_report(tmp_path):
    header = ITEM_HEADER + ["上年度区域平均值"]
    items = [_indicator("1", A, 19) + [25], _indicator("2", A, 25, content="另一项") + [25],
             _indicator("1", B, 24.9) + [None]]
    evaluations = [evaluation(no="1", on=date(2021, 12, 20), actual=10, **A),
                   evaluation(no="1", on=date(2021, 12, 1), actual=20, **B)]
    db = _load(tmp_path, items, evaluations, item_header=header)
    # Two villages only: no computed average; 花口村's column says 25 (19 fires, 25 does not); 新桥村 has none.
    assert _alerts(db, "commit_target_low") == {("花口村", "黄")}
    assert fetch(db, "SELECT value FROM alerts WHERE alert_type = 'commit_target_low'") == [{"value": 19.0}]
    none = fetch(db, "SELECT regional_average FROM commitment_status WHERE village = '新桥村'")
    assert none == [{"regional_average": None}]


def test_c3_overdue_and_not_closed(tmp_path):
    db = _load(tmp_path, [item(due="2022-08-30", **A), item(due="2022-08-31", **B), item(due="2022-08-01", **C)],
               [evaluation(on=date(2022, 8, 2), kind="期末验收", status="已销号", acceptance="通过", **C)])
    assert _alerts(db, "commit_overdue") == {("花口村", "红")}
    light = fetch(db, "SELECT village, light FROM commitment_status ORDER BY village")
    assert {r["village"]: r["light"] for r in light} == {"花口村": "红", "新桥村": "绿", "试验村": "已销号"}


def test_c4_no_self_evaluation_within_62_days(tmp_path):
    db = _load(tmp_path, [item(**A), item(**B), item(**C), item(no="2", **C)],
               [evaluation(on=date(2022, 6, 30), **A),             # 62 days before 31 August: counts
                evaluation(on=date(2022, 6, 29), **B),             # 63 days: fires
                evaluation(on=date(2022, 8, 1), kind="季度联审", **C)])  # no 双月自评 at all: fires
    assert _alerts(db, "commit_selfcheck_missing") == {("新桥村", "黄"), ("试验村", "黄")}


def test_c5_no_yearly_review_in_the_past_year(tmp_path):
    db = _load(tmp_path, [item(**A), item(**B), item(**C)],
               [evaluation(on=date(2021, 12, 31), kind="年度考评", **A),
                evaluation(on=date(2022, 1, 2), kind="年度考评", **B)])  # dated in 2022: not a review of 2021
    assert _alerts(db, "commit_review_missing") == {("新桥村", "黄"), ("试验村", "黄")}


def test_c6_progress_lagging_time_at_ten_and_thirty_points(tmp_path):
    villages = [dict(county="弥勒市", township="西三镇", village=f"{n}村") for n in ("甲", "乙", "丙", "丁", "戊")]
    actuals = [40, 39, 30 - 10, 19, 70]  # lag 0.10, 0.11, 0.30, 0.31, -0.20 (time elapsed 365/730 = 0.5)
    items = [item(baseline=0, target=100, committed=date(2021, 8, 31), due="2023-08-31", start=date(2021, 8, 1),
                  end=date(2021, 8, 10), **v) for v in villages]
    evaluations = [evaluation(on=date(2022, 8, 1), actual=a, **{k: v[k] for k in ("county", "township", "village")})
                   for v, a in zip(villages, actuals)]
    db = _load(tmp_path, items, evaluations)
    assert _alerts(db, "commit_lagging") == {("乙村", "黄"), ("丙村", "黄"), ("丁村", "红")}
    lights = {r["village"]: r["light"] for r in fetch(db, "SELECT village, light FROM commitment_status")}
    assert lights == {"甲村": "绿", "乙村": "黄", "丙村": "黄", "丁村": "红", "戊村": "绿"}


def test_fulfilment_rate_is_a_ranking_indicator_read_from_the_summary(counted, tmp_path):
    from hometown.rankings import exports, index as rankings
    from reportfiles import simple_report, village, write_report

    progress = write_report(tmp_path / "红河州_20220831.xlsx", simple_report(
        [village(), village(county="蒙自市", township="文澜镇", village="试验村")], as_of="截至2022年8月31日"))
    (result,) = load(counted, progress, workers=1)
    assert result.status == "accepted", result.errors
    weights = {n: 0 for n in rankings.INDICATORS} | {"fulfilment_rate": 1}
    r = rankings.rank("county", weights, db_path=str(counted))
    by_county = {row["county_name"]: row for row in r.frame.iter_rows(named=True)}
    assert by_county["弥勒市"]["fulfilment_rate"] == 0.75 and by_county["蒙自市"]["fulfilment_rate"] == 0.0
    assert by_county["弥勒市"]["rank"] == 1 and by_county["蒙自市"]["rank"] == 2
    table = rankings.table(r)
    assert "承诺兑现率" in table.columns
    import io

    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(exports.ranking_xlsx(r, "承诺兑现")))
    header = [c.value for c in next(row for row in book.worksheets[0].iter_rows() if any(
        c.value == "承诺兑现率" for c in row))]
    assert "承诺兑现率" in header
