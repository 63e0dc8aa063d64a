"""The ranking index (hometown.rankings.index): normalisation, weights, ties, levels, filters, scope, change of rank, presets.

The warehouse is built from real report files (tests/reportfiles.py) loaded through the production pipeline: two
红河州 reports (2022-03-31 and 2022-06-30) and one 玉溪市 report (2022-04-30), so prefectures report on different days
as they do in life. ``build_warehouse`` is shared with test_export and the browser test.
"""

from __future__ import annotations

import hashlib
import math
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from appdb import store as appstore

from reportfiles import SheetSpec, simple_report, village_row, write_xlsx

from hometown.rankings import index as rankings
from warehouse import metrics
from warehouse.parts import teams as teams_part
from warehouse.scope import Filters, OutOfScope, Scope

D1, D_YUXI, D2 = date(2022, 3, 31), date(2022, 4, 30), date(2022, 6, 30)
HONGHE, YUXI = "532500", "530400"
GEJIU, MILE = "532501", "532504"
DONE = dict(stage=7, steps=28, status="已入库")
FINISHED = dict(stage=5, steps=18, status="成果完成")
DRAFT = dict(stage=4, steps=14, status="编制中")
ALL5, NONE5 = ("是",) * 5, ("否",) * 5


def honghe_rows(when: date) -> list[list]:
    """红河州: 个旧市 climbs between the two dates (its village enters the database, and has the most civil servants
    per group of all); 建水县 and 泸西县 are identical."""
    gejiu = DONE | dict(plans=ALL5, funding=400, visits=40, civil=5) if when == D2 else DRAFT | dict(funding=20)
    rows = [
        village_row(county="弥勒市", township="西三镇", village="花口村", **DONE, plans=ALL5, funding=300, visits=30),
        village_row(county="弥勒市", township="虹溪镇", village="新桥村", **FINISHED, needs=10, adopted=10),
        village_row(county="个旧市", township="鸡街镇", village="石榴坝村", **gejiu),
        village_row(county="蒙自市", township="文澜镇", village="三家寨村", **FINISHED, funding=80),
        village_row(county="建水县", township="临安镇", village="塔房村", **DRAFT, funding=50),
        village_row(county="泸西县", township="中枢镇", village="小布坎村", **DRAFT, funding=50),
    ]
    if when == D2:
        # A 2022 task village: the task-year filter must leave it out of 2021.
        rows.append(village_row(county="弥勒市", township="东山镇", village="旧城村", year=2022, stage=1, steps=2,
                                status="编制中", group=5, civil=1, visits=2, participation=40, needs=2, adopted=0,
                                plans=NONE5, council="否", funding=0))
    return rows


def build_warehouse(folder: Path) -> Path:
    """Three real report files loaded through pipelines.ingest; returns the warehouse path."""
    from pipelines.ingest import ingest

    folder.mkdir(parents=True, exist_ok=True)
    files = [
        write_xlsx(folder / "红河州_20220331.xlsx",
                   [SheetSpec("村庄进度", simple_report(honghe_rows(D1), as_of="截至2022年3月31日"))]),
        write_xlsx(folder / "红河州_20220630.xlsx",
                   [SheetSpec("村庄进度", simple_report(honghe_rows(D2), as_of="截至2022年6月30日"))]),
        write_xlsx(folder / "玉溪市_20220430.xlsx", [SheetSpec("村庄进度", simple_report(
            [village_row(prefecture="玉溪市", county="红塔区", township="玉兴街道", village="文化社区", **DONE,
                         plans=ALL5, funding=600, visits=60, participation=900, needs=12, adopted=12),
             village_row(prefecture="玉溪市", county="江川区", township="大街街道", village="龙街社区", **DRAFT)],
            title="玉溪市干部规划家乡行动工作进度统计表", as_of="截至2022年4月30日"))]),
    ]
    db = folder / "warehouse.duckdb"
    results = ingest(files, db)
    assert [r.status for r in results] == ["accepted"] * 3, [r.errors for r in results]
    return db


@pytest.fixture(scope="module")
def wh(tmp_path_factory) -> str:
    return str(build_warehouse(tmp_path_factory.mktemp("rankings")))


EQUAL = {n: 1.0 for n in rankings.INDICATORS}


def by_name(r: rankings.Ranking, column: str = "county_name") -> dict[str, dict]:
    return {row[column]: row for row in r.frame.iter_rows(named=True)}


# ------------------------------------------------------------------------------------------------- the method


def test_indicators_are_metrics_rates():
    names = {r.name for r in metrics.RATES}
    assert set(rankings.PROGRESS_INDICATORS) <= names and len(rankings.PROGRESS_INDICATORS) == 8
    # …and 承诺兑现率 of 任期承诺 and 驻村在村天数达标率 of 驻村力量, each a rate of its schema part (one definition:
    # warehouse/parts/commitments.py, warehouse/parts/teams.py).
    assert set(rankings.INDICATORS) - set(rankings.PROGRESS_INDICATORS) == {"fulfilment_rate", "attendance_met_rate"}
    assert rankings.PART_INDICATORS["attendance_met_rate"].rate in teams_part.RATES


def test_minmax_normalisation():
    s = rankings.normalise(pl.Series("x", [10.0, 20.0, 30.0, None]), rankings.MINMAX)
    assert s.to_list() == [0.0, 0.5, 1.0, 0.0]          # a missing value scores 0
    assert rankings.normalise(pl.Series("x", [5.0, 5.0]), rankings.MINMAX).to_list() == [1.0, 1.0]
    assert rankings.normalise(pl.Series("x", [None, None], pl.Float64), rankings.MINMAX).to_list() == [0.0, 0.0]


def test_percentile_normalisation():
    s = rankings.normalise(pl.Series("x", [10.0, 20.0, 20.0, 40.0, None]), rankings.PERCENTILE)
    # (below + equal others / 2) / (n − 1) over the 4 present values: 0, (1 + .5)/3, (1 + .5)/3, 3/3
    assert s.to_list() == pytest.approx([0.0, 0.5, 0.5, 1.0, 0.0])
    assert rankings.normalise(pl.Series("x", [7.0]), rankings.PERCENTILE).to_list() == [1.0]
    # Percentile ignores distances, min-max keeps them.
    skewed = pl.Series("x", [1.0, 2.0, 100.0])
    assert rankings.normalise(skewed, rankings.PERCENTILE).to_list() == pytest.approx([0, 0.5, 1])
    assert rankings.normalise(skewed, rankings.MINMAX).to_list() == pytest.approx([0, 1 / 99, 1])


def test_competition_ranking_ties():
    assert rankings.competition_rank(pl.Series([90.0, 85.0, 85.0, 70.0])).to_list() == [1, 2, 2, 4]
    assert rankings.competition_rank(pl.Series([70.0, 85.0, 90.0, 85.0])).to_list() == [4, 2, 1, 2]


def _frame(**cols) -> pl.DataFrame:
    n_rows = len(next(iter(cols.values())))
    base = {n: [0.0] * n_rows for n in rankings.INDICATORS}
    return pl.DataFrame(base | cols)


def test_index_is_weighted_mean_of_scores():
    f = _frame(completion_rate=[1.0, 0.5, 0.0], funding_per_village=[0.0, 100.0, 200.0])
    w = {"completion_rate": 3, "funding_per_village": 1}
    out = rankings.score(f, w, rankings.MINMAX)
    # scores: completion 1, .5, 0; funding 0, .5, 1 → 100 × (3s + 1t) / 4
    assert out["index"].to_list() == [75.0, 50.0, 25.0]
    assert out["rank"].to_list() == [1, 2, 3]
    # Only the proportions of the weights matter.
    assert rankings.score(f, {k: v * 10 for k, v in w.items()})["index"].to_list() == [75.0, 50.0, 25.0]
    # Turning the weights round turns the order round.
    assert rankings.score(f, {"completion_rate": 1, "funding_per_village": 3})["rank"].to_list() == [3, 2, 1]


def test_equal_index_shares_the_place():
    # Different strengths, the same index: 75 + 25 and 25 + 75.
    f = _frame(completion_rate=[1.0, 0.75, 0.25, 0.0], adoption_rate=[1.0, 0.25, 0.75, 0.0])
    out = rankings.score(f, {"completion_rate": 1, "adoption_rate": 1})
    assert out["index"].to_list() == [100.0, 50.0, 50.0, 0.0]
    assert out["rank"].to_list() == [1, 2, 2, 4]


def test_index_rounded_before_ranking():
    # 1/3 and 0.33333 differ only after the second decimal of the index: they share the place.
    f = _frame(completion_rate=[1.0, 1 / 3, 0.333331, 0.0])
    out = rankings.score(f, {"completion_rate": 1})
    assert out["index"].to_list() == [100.0, 33.33, 33.33, 0.0]
    assert out["rank"].to_list() == [1, 2, 2, 4]


@pytest.mark.parametrize("weights, message", [
    ({n: 0 for n in rankings.INDICATORS}, "不能全部为0"),
    ({"completion_rate": -1}, "不小于0"),
    ({"completion_rate": math.inf}, "不小于0"),
    ({"no_such": 1}, "未知的指标"),
    ({"completion_rate": "abc"}, "必须是数字"),
])
def test_bad_weights_refused(weights, message):
    with pytest.raises(rankings.RankingError, match=message):
        rankings.check_weights(weights)


def test_effective_dates():
    dates = [D2, D_YUXI, D1]
    assert rankings.effective_dates(dates, None) == (D2, D_YUXI)
    assert rankings.effective_dates(dates, D2) == (D2, D_YUXI)
    # A date between two reports means the earlier report, compared with the one before it.
    assert rankings.effective_dates(dates, date(2022, 5, 15)) == (D_YUXI, D1)
    assert rankings.effective_dates(dates, D1) == (D1, None)
    assert rankings.effective_dates(dates, date(2021, 1, 1)) == (None, None)


# ------------------------------------------------------------------------------------------------- on the warehouse


def test_county_ranking_uses_metric_definitions(wh):
    r = rankings.rank("county", EQUAL, filters=Filters(2021), prefecture=HONGHE, db_path=wh)
    rows = by_name(r)
    assert set(rows) == {"弥勒市", "个旧市", "蒙自市", "建水县", "泸西县"}
    mile = rows["弥勒市"]
    assert mile["task_villages"] == 2                      # the 2022 village is left out by the year filter
    assert mile["completion_rate"] == 1.0                  # 已入库 + 成果完成 of 2
    assert mile["database_rate"] == 0.5
    assert mile["special_plans_rate"] == pytest.approx((5 + 2) / 10)
    assert mile["adoption_rate"] == pytest.approx((5 + 10) / (8 + 10))
    assert mile["funding_per_village"] == pytest.approx((300 + 120.5) / 2)
    assert mile["visits_per_village"] == pytest.approx((30 + 20) / 2)
    assert mile["civil_servants_per_group"] == pytest.approx(2.0)
    # The index is exactly the method applied to those indicators.
    again = rankings.score(r.frame.drop("s_" + rankings.INDICATORS[0]), EQUAL)
    assert dict(zip(again["county_code"], again["index"])) == dict(zip(r.frame["county_code"], r.frame["index"]))


def test_ties_in_the_warehouse_rank_1_2_2_4_style(wh):
    r = rankings.rank("county", EQUAL, filters=Filters(2021), prefecture=HONGHE, db_path=wh)
    rows = by_name(r)
    assert rows["建水县"]["index"] == rows["泸西县"]["index"]
    tied = rows["建水县"]["rank"]
    assert rows["泸西县"]["rank"] == tied
    ranks = sorted(r.frame["rank"].to_list())
    assert ranks.count(tied) == 2 and tied + 1 not in ranks
    assert ranks == sorted(rankings.competition_rank(r.frame["index"]).to_list())
    assert r.frame["rank"].to_list() == sorted(r.frame["rank"].to_list())   # the table is in rank order


def test_change_of_rank_since_previous_report(wh):
    now = rankings.rank("county", EQUAL, filters=Filters(2021, D2), prefecture=HONGHE, db_path=wh)
    before = rankings.rank("county", EQUAL, filters=Filters(2021, D1), prefecture=HONGHE, db_path=wh)
    assert (now.as_of, now.previous_as_of) == (D2, D1)
    assert (before.as_of, before.previous_as_of) == (D1, None)
    n, b = by_name(now), by_name(before)
    assert n["个旧市"]["rank"] < b["个旧市"]["rank"]               # it entered the database and climbed
    for name in n:
        assert n[name]["prev_rank"] == b[name]["rank"]
        assert n[name]["rank_change"] == b[name]["rank"] - n[name]["rank"]
    table = {row["县市区"]: row for row in rankings.table(now).iter_rows(named=True)}
    climb = b["个旧市"]["rank"] - n["个旧市"]["rank"]
    assert table["个旧市"]["排名变化"] == f"↑{climb}"
    assert any(v["排名变化"].startswith("↓") for v in table.values())
    assert all(row["排名变化"] is None for row in rankings.table(before).iter_rows(named=True))
    assert rankings.change_text(3, 3, True) == "持平"
    assert rankings.change_text(None, 3, True) == "新"
    assert rankings.change_text(2, 5, True) == "↓3"


def test_previous_date_is_the_previous_distinct_reporting_date(wh):
    # Province-wide the dates are 03-31 (红河), 04-30 (玉溪), 06-30 (红河): the latest is compared with 04-30.
    r = rankings.rank("prefecture", EQUAL, db_path=wh)
    assert (r.as_of, r.previous_as_of) == (D2, D_YUXI)
    rows = {row["prefecture_code"]: row for row in r.frame.iter_rows(named=True)}
    assert set(rows) == {HONGHE, YUXI}
    assert rows[HONGHE]["prefecture"] == "红河州" and rows[YUXI]["prefecture"] == "玉溪市"
    # 玉溪 as of 05-15 is its 04-30 report; 红河 is its 03-31 one.
    mid = rankings.rank("prefecture", EQUAL, filters=Filters(None, date(2022, 5, 15)), db_path=wh)
    assert (mid.as_of, mid.previous_as_of) == (D_YUXI, D1)
    assert rankings.rank("prefecture", EQUAL, filters=Filters(None, D1), db_path=wh).frame.height == 1


def test_village_level_and_new_entries(wh):
    r = rankings.rank("village", EQUAL, prefecture=HONGHE, db_path=wh)
    table = rankings.table(r)
    assert list(table.columns[:7]) == ["排名", "排名变化", "上期排名", "州市", "县市区", "乡镇", "行政村"]
    assert "任务村" not in table.columns
    rows = {row["行政村"]: row for row in table.iter_rows(named=True)}
    assert rows["旧城村"]["排名变化"] == "新" and rows["旧城村"]["上期排名"] is None
    assert table.height == 7


def test_task_year_filter(wh):
    r2022 = rankings.rank("village", EQUAL, filters=Filters(2022), db_path=wh)
    assert r2022.frame["village"].to_list() == ["旧城村"]
    assert rankings.reporting_dates(Filters(2022), db_path=wh) == [D2]
    assert rankings.task_years(db_path=wh) == [2021, 2022]


def test_scope_is_applied_in_sql(wh):
    r = rankings.rank("county", EQUAL, scope=Scope(prefecture_code=YUXI), db_path=wh)
    assert set(r.frame["prefecture_code"]) == {YUXI}
    r = rankings.rank("village", EQUAL, scope=Scope(county_code=GEJIU), db_path=wh)
    assert r.frame["village"].to_list() == ["石榴坝村"]
    with pytest.raises(OutOfScope):
        rankings.rank("county", EQUAL, scope=Scope(prefecture_code=YUXI), prefecture=HONGHE, db_path=wh)


def test_normalisation_is_stated(wh):
    for method in rankings.NORMALISATIONS:
        r = rankings.rank("county", EQUAL, method, db_path=wh)
        notes = dict(rankings.method_notes(r, "均衡"))
        assert notes["标准化方法"].startswith(rankings.NORMALISATIONS[method])
        assert notes["综合指数公式"] == rankings.INDEX_FORMULA
        assert notes["权重方案"] == "均衡"
        assert notes["权重：规划完成率"].startswith(f"1（占 {1 / len(rankings.INDICATORS):.1%}）")
    minmax = rankings.rank("county", EQUAL, rankings.MINMAX, db_path=wh)
    pct = rankings.rank("county", EQUAL, rankings.PERCENTILE, db_path=wh)
    assert minmax.frame["index"].to_list() != pct.frame.sort("rank")["index"].to_list()


def test_unknown_level_refused(wh):
    with pytest.raises(rankings.RankingError, match="未知的排名层级"):
        rankings.rank("township", EQUAL, db_path=wh)


# ------------------------------------------------------------------------------------------------- presets


def test_shipped_presets():
    shipped = rankings.presets(user_path=Path("/nonexistent/presets.toml"))
    names = [p.name for p in shipped]
    assert names[:4] == ["均衡", "进度督办", "大擂台大比武", "群众参与"]
    for p in shipped:
        assert set(dict(p.weights)) == set(rankings.INDICATORS)
        assert sum(dict(p.weights).values()) == pytest.approx(100)
        assert p.normalisation in rankings.NORMALISATIONS and p.source == "config"


def test_saving_a_preset_writes_the_user_file_never_config(tmp_path):
    config_hash = hashlib.sha256(rankings.CONFIG_PRESETS.read_bytes()).hexdigest()
    user = tmp_path / "data" / "ranking_presets.toml"
    w = dict(EQUAL, funding_per_village=5.5)
    rankings.save_preset('州 "甲" 方案', w, rankings.PERCENTILE, "说明\n两行", user_path=user)
    rankings.save_preset("方案乙", EQUAL, user_path=user)
    rankings.save_preset('州 "甲" 方案', dict(EQUAL, adoption_rate=9), user_path=user)   # replaces
    got = {p.name: p for p in rankings.presets(user)}
    assert dict(got['州 "甲" 方案'].weights)["adoption_rate"] == 9
    assert dict(got['州 "甲" 方案'].weights)["funding_per_village"] == 1
    assert got["方案乙"].source == "user"
    assert [p.name for p in rankings.presets(user)][-2:] == ["方案乙", '州 "甲" 方案']
    assert hashlib.sha256(rankings.CONFIG_PRESETS.read_bytes()).hexdigest() == config_hash
    with pytest.raises(rankings.RankingError, match="系统预置方案"):
        rankings.save_preset("均衡", EQUAL, user_path=user)
    with pytest.raises(rankings.RankingError, match="方案名称"):
        rankings.save_preset("  ", EQUAL, user_path=user)
    with pytest.raises(rankings.RankingError, match="不能全部为0"):
        rankings.save_preset("空", {}, user_path=user)
    with pytest.raises(rankings.RankingError, match="没有名为"):
        rankings.preset("不存在", user)


def test_user_presets_default_to_the_app_store(app_db, monkeypatch):
    """Without $HOMETOWN_USER_PRESETS saved presets go to the app store (every app machine sees them), never config/."""
    monkeypatch.delenv(rankings.USER_PRESETS_ENV, raising=False)
    assert rankings.user_presets_path() is None
    config_hash = hashlib.sha256(rankings.CONFIG_PRESETS.read_bytes()).hexdigest()
    rankings.save_preset("方案甲", dict(EQUAL, adoption_rate=7))
    rankings.save_preset("方案乙", EQUAL)
    rankings.save_preset("方案甲", dict(EQUAL, adoption_rate=9))  # replaces
    got = {p.name: p for p in rankings.presets() if p.source == "user"}
    assert list(got) == ["方案乙", "方案甲"] and dict(got["方案甲"].weights)["adoption_rate"] == 9
    assert 'name = "方案甲"' in appstore.read_document(rankings.PRESETS_DOCUMENT)
    assert hashlib.sha256(rankings.CONFIG_PRESETS.read_bytes()).hexdigest() == config_hash


# ------------------------------------------------------------------------------------------------- the page


def test_page_saves_a_preset_under_data_not_config(wh, tmp_path, monkeypatch, no_legacy_pages_mode):
    from apptests import app_page

    user = tmp_path / "data" / "ranking_presets.toml"
    monkeypatch.setenv("HOMETOWN_DB", wh)
    monkeypatch.setenv(rankings.USER_PRESETS_ENV, str(user))
    config_before = rankings.CONFIG_PRESETS.read_bytes()
    at = app_page("pages/rankings.py", timeout=60)  # through app.py: a page never runs by itself (ui.guard)
    at.run()
    assert not at.exception
    at.number_input(key="rk_w_adoption_rate").set_value(77.0).run()
    at.text_input(key="rk_new_name").set_value("县域评比").run()
    at.button(key="rk_save").click().run()
    assert not at.exception
    assert at.selectbox(key="rk_preset").value == "县域评比"
    saved = rankings.preset("县域评比", user)
    assert dict(saved.weights)["adoption_rate"] == 77.0 and saved.source == "user"
    assert rankings.CONFIG_PRESETS.read_bytes() == config_before
    assert "权重方案：县域评比" in at.caption[0].value
    # A name of a shipped preset is refused on the page, with the reason.
    at.text_input(key="rk_new_name").set_value("均衡").run()
    at.button(key="rk_save").click().run()
    assert any("系统预置方案" in e.value for e in at.error)
