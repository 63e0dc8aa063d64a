"""The progress map's data (hometown.progress.map_data): every region drawn once with its figures, "未上报" never zero,
colour classes and legend, synthetic village points, and a deck spec that is small and fetches nothing.

Warehouses are built through the real pipeline (tests/reportfiles.py → pipelines.ingest): one with a report from
every prefecture but 迪庆 (known village counts per county), one with 红河's report only.
"""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

import polars as pl
import pytest
import shapely
from shapely.geometry import Point, shape

from geo import boundaries, reference
from hometown.progress import map_data
from ui import map_deck
from warehouse import db
from warehouse.scope import Filters, Scope
from reportfiles import load, simple_report, village_row, write_report

STATUS_FOR_STAGE = {1: "编制中", 2: "编制中", 3: "编制中", 4: "编制中", 5: "成果完成", 6: "已审批", 7: "已入库"}
UNREPORTED_PREFECTURE = "533400"   # 迪庆: sends nothing
EMPTY_COUNTY = "530102"            # 五华区: its prefecture reports, but no village of it
HONGHE = "532500"


def _villages_for(county_code: str, n: int) -> list[dict]:
    roster = reference.roster().filter(pl.col("county_code") == county_code).sort("village_code")
    return roster.head(n).to_dicts()


def _plan() -> dict[str, list[tuple[dict, int]]]:
    """County code → [(roster village, stage)]: 1–3 villages per county, stages cycling so rates differ."""
    plan: dict[str, list[tuple[dict, int]]] = {}
    for i, c in enumerate(reference.counties().iter_rows(named=True)):
        if c["prefecture_code"] == UNREPORTED_PREFECTURE or c["code"] == EMPTY_COUNTY:
            continue
        vs = _villages_for(c["code"], 1 + i % 3)
        plan[c["code"]] = [(v, 1 + (i + k) % 7) for k, v in enumerate(vs)]
    return plan


def _report(prefecture_code: str, villages: list[tuple[dict, int]], county_names: dict[str, str],
            as_of: str = "截至2022年6月30日") -> list[list]:
    common = reference.prefectures().filter(pl.col("code") == prefecture_code)["common_name"][0]
    rows = []
    for v, stage in villages:
        steps = 4 * stage
        rows.append(village_row(
            prefecture=common, county=county_names[v["county_code"]], township=v["township_name"],
            village=v["village_name"], code=v["village_code"], stage=stage, steps=steps,
            status=STATUS_FOR_STAGE[stage], needs=10, adopted=stage, funding=100.0 * stage))
    return simple_report(rows, title=f"{common}干部规划家乡行动工作进度统计表", as_of=as_of)


def _build(path: Path, prefectures: list[str], plan: dict) -> Path:
    county_names = dict(reference.counties().select("code", "name").iter_rows())
    files = []
    for pc in prefectures:
        villages = [item for cc, items in plan.items() if cc[:4] == pc[:4] for item in items]
        files.append(write_report(path.parent / f"{pc}.xlsx", _report(pc, villages, county_names)))
    results = load(path, *files)
    assert all(r.status == "accepted" for r in results), [r.errors for r in results]
    return path


@pytest.fixture(scope="module")
def plan():
    return _plan()


@pytest.fixture(scope="module")
def full_db(tmp_path_factory, plan):
    pcs = [c for c in reference.prefectures()["code"] if c != UNREPORTED_PREFECTURE]
    return _build(tmp_path_factory.mktemp("map_full") / "warehouse.duckdb", pcs, plan)


@pytest.fixture(scope="module")
def honghe_db(tmp_path_factory, plan):
    return _build(tmp_path_factory.mktemp("map_honghe") / "warehouse.duckdb", [HONGHE], plan)


@pytest.fixture
def use_db(monkeypatch):
    def use(path: Path) -> None:
        monkeypatch.setenv(db.ENV_VAR, str(path))
    yield use
    db.close_all()


# ---------------------------------------------------------------------------------------------- joining


@pytest.mark.parametrize(("level", "count"), [("county", 129), ("prefecture", 16)])
def test_every_region_drawn_exactly_once_with_its_figures(full_db, use_db, plan, level, count):
    use_db(full_db)
    model = map_data.map_model(Filters(), Scope(), level)
    codes = [f["properties"]["code"] for f in model.features]
    expected = (reference.counties() if level == "county" else reference.prefectures())["code"].to_list()
    assert len(codes) == count and len(set(codes)) == count
    assert sorted(codes) == sorted(expected)
    assert model.regions == count
    assert model.as_of_text == "数据截至2022-06-30"
    for f in model.features:
        p = f["properties"]
        code = p["code"]
        if level == "county":
            villages = len(plan.get(code, []))
        else:
            villages = sum(len(v) for cc, v in plan.items() if cc[:4] == code[:4])
        if villages:
            assert p["status"] == map_data.REPORTED, code
            assert p["task_villages"] == villages, code
            assert p["as_of"] == "2022-06-30"
            stages = [s for cc, items in plan.items() if (cc == code if level == "county" else cc[:4] == code[:4])
                      for _, s in items]
            assert p["metric_value"] == pytest.approx(sum(s >= 5 for s in stages) / len(stages))
        else:
            assert p["task_villages"] is None and p["metric_value"] is None
    reported = sum(1 for f in model.features if f["properties"]["status"] == map_data.REPORTED)
    assert model.reported == reported == (len(plan) if level == "county" else 15)


def test_county_without_a_report_is_not_reported_never_zero(honghe_db, use_db, plan):
    use_db(honghe_db)
    for metric in map_data.METRICS:
        model = map_data.map_model(Filters(), Scope(), "county", metric)
        by_code = {f["properties"]["code"]: f["properties"] for f in model.features}
        assert len(by_code) == 129
        for code, p in by_code.items():
            if code[:4] == HONGHE[:4]:
                assert p["status"] == map_data.REPORTED
                assert p["task_villages"] == len(plan[code])
                continue
            assert p["status"] == map_data.NOT_REPORTED == "未上报"
            assert p["a"] == "未上报"
            assert p["metric_value"] is None and p["task_villages"] is None and p["as_of"] is None
            assert p["fill"] == list(map_data.GREY_NOT_REPORTED)
            text = " ".join(str(p[k]) for k in map_data.TOOLTIP_KEYS)
            assert "0" not in text.replace("未上报", "")  # no "0", "0.0%", "0个" anywhere in its tooltip
        assert ("未上报" in [label for _, label in model.legend.greys])
        assert model.reported == 13


def test_prefecture_level_and_empty_county(full_db, honghe_db, use_db):
    use_db(honghe_db)
    model = map_data.map_model(Filters(), Scope(), "prefecture")
    status = {f["properties"]["code"]: f["properties"]["status"] for f in model.features}
    assert status.pop(HONGHE) == map_data.REPORTED
    assert set(status.values()) == {map_data.NOT_REPORTED}
    db.close_all()
    use_db(full_db)
    model = map_data.map_model(Filters(), Scope(), "county")
    p = next(f["properties"] for f in model.features if f["properties"]["code"] == EMPTY_COUNTY)
    # 昆明 reported, 五华 had no village in it: grey, its own label, still not a zero
    assert p["status"] == map_data.NO_VILLAGES and p["task_villages"] is None
    assert p["fill"] == list(map_data.GREY_NO_VILLAGES)
    dq = [f["properties"] for f in model.features if f["properties"]["prefecture_code"] == UNREPORTED_PREFECTURE]
    assert len(dq) == 3 and {p["status"] for p in dq} == {map_data.NOT_REPORTED}


def test_lag_is_progress_against_the_schedule(full_db, use_db, plan):
    from warehouse import schedule

    use_db(full_db)
    model = map_data.map_model(Filters(), Scope(), "county", "lag")
    # every test village is of task year 2021 and reported as of 2022-06-30
    expected = schedule.expected_completion(2021, date(2022, 6, 30))
    for f in model.features:
        p = f["properties"]
        if p["code"] not in plan:
            continue
        stages = [s for _, s in plan[p["code"]]]
        progress = sum(4 * s for s in stages) / (28 * len(stages))   # steps = 4 × stage in the test reports
        assert p["metric_value"] == pytest.approx(progress - expected), p["code"]
        assert "应达" in p["c"] and "进度差" in p["c"]


def test_reporting_date_before_any_report_leaves_everything_unreported(full_db, use_db):
    use_db(full_db)
    model = map_data.map_model(Filters(as_of=date(2021, 1, 1)), Scope(), "county")
    assert {f["properties"]["status"] for f in model.features} == {map_data.NOT_REPORTED}
    assert model.reported == 0 and model.as_of_text == "尚无报表"


def test_scope_limits_the_regions_drawn(full_db, use_db):
    use_db(full_db)
    model = map_data.map_model(Filters(), Scope(prefecture_code=HONGHE), "prefecture")
    assert model.level == "county"
    assert {f["properties"]["code"][:4] for f in model.features} == {"5325"} and len(model.features) == 13
    assert model.villages and {v["code"][:4] for v in model.villages} == {"5325"}
    model = map_data.map_model(Filters(), Scope(county_code="532504"), "county")
    assert [f["properties"]["code"] for f in model.features] == ["532504"]
    # a drill into a prefecture outside the scope is ignored
    model = map_data.map_model(Filters(), Scope(prefecture_code=HONGHE), "county", prefecture="530100")
    assert {f["properties"]["code"][:4] for f in model.features} == {"5325"}


def test_drilling_into_a_prefecture_draws_its_counties_and_fits_its_bounds(full_db, use_db, plan):
    use_db(full_db)
    model = map_data.map_model(Filters(), Scope(), "prefecture", prefecture=HONGHE)
    assert model.level == "county"
    assert sorted(f["properties"]["code"] for f in model.features) == sorted(
        reference.counties().filter(pl.col("prefecture_code") == HONGHE)["code"].to_list())
    hh = boundaries.prefecture_shapes().set_index("code").loc[HONGHE].geometry
    assert model.bounds == pytest.approx(tuple(hh.bounds), abs=1e-6)
    assert len(model.villages) == sum(len(v) for cc, v in plan.items() if cc[:4] == "5325")
    assert model.legend.stages and any("示意位置" in n for n in model.legend.notes)


# ---------------------------------------------------------------------------------------------- colours and legend


def test_fixed_bins_classify_edges_into_the_right_class():
    bins = map_data.bins_for(map_data.METRICS["completion_rate"])
    assert [b.label for b in bins] == ["0%–20%", "20%–40%", "40%–60%", "60%–80%", "80%–100%"]
    assert map_data.classify(0.0, bins) == 0
    assert map_data.classify(0.1999, bins) == 0
    assert map_data.classify(0.2, bins) == 1
    assert map_data.classify(0.8, bins) == 4
    assert map_data.classify(1.0, bins) == 4          # the top edge belongs to the last class
    assert map_data.classify(None, bins) is None
    assert map_data.classify(float("nan"), bins) is None
    assert len({b.colour for b in bins}) == 5


def test_lag_bins_are_diverging_and_open_ended():
    bins = map_data.bins_for(map_data.METRICS["lag"])
    assert map_data.classify(-0.5, bins) == 0 and map_data.classify(0.5, bins) == 4
    assert map_data.classify(-0.05, bins) == 2 and map_data.classify(0.0, bins) == 3
    assert bins[0].label == "落后20个百分点以上" and bins[-1].label == "超前10个百分点以上"
    assert bins[0].colour[0] > bins[0].colour[1]      # red end for lagging
    assert bins[-1].colour[1] > bins[-1].colour[0]    # green end for ahead


def test_funding_bins_come_from_data_quantiles_with_nice_edges():
    values = [12.0, 130.0, 560.0, 1234.0, 2500.0, 9800.0, 15000.0, None]
    bins = map_data.bins_for(map_data.METRICS["funding_wan"], values)
    lowers = [b.lower for b in bins]
    assert lowers == sorted(lowers) and lowers[0] == 0 and math.isinf(bins[-1].upper)
    assert all(map_data.nice_number(x) == x for x in lowers)
    assert bins[-1].label.endswith("万元以上")
    counts = [sum(1 for v in values if v is not None and map_data.classify(v, bins) == i) for i in range(len(bins))]
    assert all(counts) and sum(counts) == 7
    assert map_data.bins_for(map_data.METRICS["funding_wan"], [None, None])[0].label  # no data: still one class
    assert map_data.nice_number(1234) == 1200 and map_data.nice_number(0.0456) == pytest.approx(0.046)


def test_region_colour_is_its_class_colour(full_db, use_db):
    use_db(full_db)
    for metric in map_data.METRICS:
        model = map_data.map_model(Filters(), Scope(), "county", metric)
        for f in model.features:
            p = f["properties"]
            idx = map_data.classify(p["metric_value"], model.legend.bins)
            if p["status"] != map_data.REPORTED:
                assert idx is None
            elif idx is None:
                assert p["fill"] == list(map_data.GREY_NO_VALUE)
            else:
                assert p["fill"] == list(model.legend.bins[idx].colour), (metric, p["code"])


def test_legend_html_lists_every_class_and_grey():
    legend = map_data.Legend("规划完成率", map_data.bins_for(map_data.METRICS["completion_rate"]),
                             [(map_data.GREY_NOT_REPORTED, "未上报")],
                             [((8, 69, 148, 255), "第7环节 成果入库")], ["任务村圆点为示意位置（非真实坐标）", "<b>"])
    html = map_deck.legend_html(legend, "截至2022-06-30")
    for text in ("规划完成率", "0%–20%", "80%–100%", "未上报", "第7环节 成果入库", "示意位置（非真实坐标）", "截至2022-06-30"):
        assert text in html
    assert html.index("80%–100%") < html.index("0%–20%")   # highest class on top
    assert "&lt;b&gt;" in html and "<b>" not in html


# ---------------------------------------------------------------------------------------------- village points


def test_points_fall_inside_their_county_and_are_deterministic():
    county = "532504"
    keys = tuple(f"53250410{i:04d}" for i in range(60))
    pts = map_data.sample_points(county, keys)
    poly = shape(next(f["geometry"] for f in boundaries.geojson_dict("county")["features"]
                      if f["properties"]["code"] == county))
    assert len(pts) == 60 and len(set(pts)) == 60
    assert all(poly.contains(Point(p)) for p in pts)
    map_data.sample_points.cache_clear()
    map_data._sampling_area.cache_clear()
    assert map_data.sample_points(county, keys) == pts                     # same seed, same points
    assert map_data.sample_points(county, keys[5:6] + keys[:3]) == (pts[5],) + pts[:3]  # a village keeps its point


def test_points_for_every_county_including_small_ones():
    for code in reference.counties()["code"]:
        (p,) = map_data.sample_points(code, ("x",))
        poly = map_data._shape("county", code)
        assert poly.contains(Point(p)), code


def test_village_points_carry_stage_colour_and_the_approximate_note(full_db, use_db):
    use_db(full_db)
    rows = map_data.village_rows(Filters(), Scope(), HONGHE)
    points = map_data.village_points(rows)
    assert len(points) == rows.height > 0
    for pt, r in zip(points, rows.iter_rows(named=True)):
        assert pt["colour"] == list(map_data.STAGE_COLOURS[r["stage"]][:3])
        assert pt["n"] == "示意位置（非真实坐标）"
        assert set(map_data.TOOLTIP_KEYS) <= set(pt)
        assert pt["code"] == r["county_code"]


# ---------------------------------------------------------------------------------------------- deck spec


def test_county_payload_is_small_and_offline(full_db, use_db):
    use_db(full_db)
    model = map_data.map_model(Filters(), Scope(), "county")
    deck = map_deck.deck(model, 1300, 720)
    spec = deck.to_json()
    assert map_deck.payload_bytes(deck) < 400 * 1024
    doc = json.loads(spec)
    # map_provider=None and the default style: Streamlit's frontend drops the sentinel and draws no basemap;
    # a missing mapStyle would make it fetch a CARTO basemap.
    assert doc["mapStyle"] == "__MAP_STYLE__" and "mapProvider" not in doc
    assert "http" not in spec and "mapbox" not in spec.lower() and "carto" not in spec.lower()
    layers = {layer["id"]: layer for layer in doc["layers"]}
    assert set(layers) >= {"counties", "outline", "labels"}
    assert len(layers["counties"]["data"]) == 129
    text = layers["labels"]
    # plain strings must stay strings (pydeck turns bare strings into "@@=" expressions)
    assert text["sizeUnits"] == "pixels" and not text["characterSet"].startswith("@@=")
    assert set("".join(d["text"] for d in text["data"])) <= set(text["characterSet"])
    assert not text["fontFamily"].startswith("@@=")
    assert layers["counties"]["lineWidthUnits"] == "pixels"
    # what keeps clicks from being dropped with software WebGL: borders are not picked, no double-click wait
    assert layers["counties"]["_subLayerProps"] == {"polygons-stroke": {"pickable": False}}
    assert doc["views"][0]["controller"]["doubleClickZoom"] is False
    coords = json.dumps(layers["counties"]["data"][0]["geometry"]["coordinates"])
    assert max(len(x.split(".")[1]) for x in coords.replace("[", "").replace("]", "").split(",") if "." in x) <= 3


def test_rounded_geometry_stays_valid():
    for level in ("prefecture", "county"):
        feats = map_data.features(level)
        assert all(shapely.is_valid(shape(f["geometry"])) for f in feats)
        original = {f["properties"]["code"]: shape(f["geometry"]) for f in boundaries.geojson_dict(level)["features"]}
        for f in feats:
            g = shape(f["geometry"])
            assert abs(g.area - original[f["properties"]["code"]].area) < 0.01 * original[f["properties"]["code"]].area


def test_fit_view_puts_the_bounds_inside_the_canvas():
    bounds = (97.53, 21.14, 106.19, 29.25)
    for w, h in ((1300, 720), (700, 420), (1900, 500)):
        view = map_data.fit_view(bounds, w, h, padding=24)
        corners = [map_data.lnglat_to_pixel(x, y, view, w, h) for x in bounds[::2] for y in bounds[1::2]]
        xs, ys = [c[0] for c in corners], [c[1] for c in corners]
        assert min(xs) >= 23 and max(xs) <= w - 23 and min(ys) >= 23 and max(ys) <= h - 23
        assert min(min(xs) - 24, w - 24 - max(xs), min(ys) - 24, h - 24 - max(ys)) < 2  # and fills one axis


def test_laggards_are_the_lowest_reported_regions(full_db, use_db):
    use_db(full_db)
    model = map_data.map_model(Filters(), Scope(), "county", "completion_rate")
    rows = map_data.laggards(model, 5)
    values = sorted((f["properties"]["metric_value"], f["properties"]["code"]) for f in model.features
                    if f["properties"]["status"] == map_data.REPORTED)
    assert [r["code"] for r in rows] == [code for _, code in values[:5]]
    assert all(r["code"] != EMPTY_COUNTY and r["code"][:4] != UNREPORTED_PREFECTURE[:4] for r in rows)
    assert rows[0]["value"].endswith("%")


def test_selection_target_reads_streamlits_selection_state():
    feature = {"type": "Feature", "properties": {"code": "532500", "name": "红河哈尼族彝族自治州"}}
    assert map_data.selection_target({"indices": {"prefectures": [9]}, "objects": {"prefectures": [feature]}}) == (
        "prefecture", "532500")
    county = {"type": "Feature", "properties": {"code": "532504"}}
    assert map_data.selection_target({"indices": {"counties": [3]}, "objects": {"counties": [county]}}) == (
        "county", "532504")
    assert map_data.selection_target({"indices": {"villages": [0]}, "objects": {"villages": [{"code": "532504"}]}}) \
        == ("county", "532504")
    assert map_data.selection_target({"indices": {}, "objects": {}}) is None
    assert map_data.selection_target(None) is None
