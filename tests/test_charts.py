"""The markup charts of ui.charts: the funnel's widths and figures, the trend's axis, points and gaps."""

from __future__ import annotations

import re
from datetime import date

import polars as pl

from hometown import fmt
from ui import charts


def funnel(reached: list[int], total: int) -> pl.DataFrame:
    return pl.DataFrame({"stage": list(range(1, len(reached) + 1)), "name": [f"环节{i}" for i in range(len(reached))],
                         "reached": reached, "reached_share": [r / total for r in reached],
                         "at_stage": [0] * len(reached)})


def test_funnel_bars_are_as_wide_as_the_villages_that_reached_each_stage():
    markup = charts.funnel_html(funnel([400, 300, 100, 0], total=500))
    widths = [float(w) for w in re.findall(r"width:([\d.]+)%", markup)]
    assert widths == [100.0, 75.0, 25.0, 0.0]
    values = re.findall(r"class='ht-funnel-value'>([\d,]+)<small>([\d.]+%)</small>", markup)
    assert values == [("400", "80.0%"), ("300", "60.0%"), ("100", "20.0%"), ("0", "0.0%")]
    assert "已到达 300 个村（60.0%）" in markup


def trend(rows: list[tuple[date, float | None, float | None, float | None]]) -> pl.DataFrame:
    return pl.DataFrame({"as_of": [r[0] for r in rows], "completion_rate": [r[1] for r in rows],
                         "database_rate": [r[2] for r in rows], "adoption_rate": [r[3] for r in rows],
                         "task_villages": [100] * len(rows), "prefectures_reported": [16] * len(rows)},
                        schema_overrides={"completion_rate": pl.Float64, "database_rate": pl.Float64,
                                          "adoption_rate": pl.Float64})


def points(markup: str, series: str) -> list[tuple[float, float]]:
    line = re.search(rf"data-series='{series}' points='([^']*)'", markup)
    return [tuple(map(float, p.split(","))) for p in line.group(1).split()] if line else []


def test_trend_places_uneven_dates_on_a_time_axis():
    t = trend([(date(2022, 1, 1), 0.1, 0.0, 0.2), (date(2022, 1, 11), 0.2, 0.1, 0.3),
               (date(2022, 12, 31), 0.8, 0.5, 0.6)])
    markup = charts.trend_svg(t, width=720, height=320, font=13)
    xs = [x for x, _ in points(markup, "completion_rate")]
    # 10 days of 364 from the left edge, not a third of the way: the axis is in time.
    assert abs((xs[1] - xs[0]) / (xs[2] - xs[0]) - 10 / 364) < 1e-3
    ys = [y for _, y in points(markup, "completion_rate")]
    assert ys[0] > ys[1] > ys[2]  # higher rates are drawn higher (SVG y grows downwards)
    # The axis runs to 100% when a rate passes 50%, and each point is titled with its date and rate.
    assert re.findall(r">(\d+)%</text>", markup) == ["0", "25", "50", "75", "100"]
    assert "<title>截至 2022-01-11　规划完成率 20.0%　任务村 100 个 · 16 个州市</title>" in markup
    assert len(re.findall(r"<circle", markup)) == 9


def test_trend_leaves_out_missing_values_and_scales_small_rates():
    t = trend([(date(2022, 1, 1), 0.05, None, 0.1), (date(2022, 6, 30), 0.12, None, 0.15)])
    markup = charts.trend_svg(t)
    assert points(markup, "database_rate") == [] and len(points(markup, "completion_rate")) == 2
    assert re.findall(r">(\d+)%</text>", markup) == ["0", "5", "10", "15", "20"]  # axis to 20%, not 100%


def test_trend_with_one_date_or_none():
    one = charts.trend_svg(trend([(date(2023, 12, 31), 0.5, 0.4, 0.3)]), width=700)
    (x, _), = points(one, "completion_rate")
    assert 0 < x < 700
    assert charts.trend_svg(trend([])) == "<div class='ht-trend-empty'>暂无已受理的报表</div>"


def test_date_ticks_are_month_starts_thinned_to_fit():
    ticks = charts._date_ticks(date(2021, 6, 27), date(2023, 12, 31), most=8)
    assert all(d.day == 1 for d in ticks) and len(ticks) <= 8 and ticks[0] == date(2021, 7, 1)
    assert fmt.date(ticks[-1]) <= "2023-12-31"


def square(code: str, x0: float, y0: float, fill: list[int], **tooltip) -> dict:
    ring = [[x0, y0], [x0 + 1, y0], [x0 + 1, y0 + 1], [x0, y0 + 1], [x0, y0]]
    return {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {"code": code, "fill": fill, **tooltip}}


def test_map_preview_thins_vertices_closer_than_its_step_and_keeps_the_rest():
    from hometown.progress import map_data

    # A 1°×1° square whose bottom edge has 400 vertices (a fraction of a pixel apart at this size) and its corners.
    edge = [[100.0 + i / 400, 20.0] for i in range(400)]
    ring = edge + [[101.0, 20.0], [101.0, 21.0], [100.0, 21.0], [100.0, 20.0]]
    feat = {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {"code": "530100", "fill": [1, 2, 3, 255], "t": "x"}}
    model = map_data.MapModel(level="prefecture", metric=map_data.DEFAULT_METRIC, prefecture=None, features=[feat],
                              legend=None, bounds=(100.0, 20.0, 101.0, 21.0), labels=[], villages=[],
                              province_outline=None, as_of_text="", reported=1, regions=1)
    svg = charts.map_svg(model, 620, 420)
    view = map_data.fit_view(model.bounds, 620, 420)
    d = re.findall(r"<path data-code='530100' d='([^']+)'", svg)[0]
    points = [tuple(map(float, p.split(","))) for p in d[1:-1].split("L")]
    projected = [map_data.lnglat_to_pixel(lng, lat, view, 620, 420) for lng, lat in ring]
    assert 6 < len(points) < len(ring) // 2
    assert all(min(abs(x - a) + abs(y - b) for a, b in projected) <= 1 for x, y in points)
    corners = [map_data.lnglat_to_pixel(lng, lat, view, 620, 420) for lng, lat in ring[-4:]]
    # every corner drawn within the step (a corner closer than that to the last point kept is that point)
    assert all(min(abs(x - a) + abs(y - b) for x, y in points) <= charts.PREVIEW_STEP_PX + 1 for a, b in corners)
    steps = [abs(a[0] - b[0]) + abs(a[1] - b[1]) for a, b in zip(points, points[1:-1])]
    assert min(steps) >= charts.PREVIEW_STEP_PX - 1


def test_map_preview_draws_each_region_where_the_deck_map_draws_it():
    from hometown.progress import map_data

    feats = [square("530100", 100.0, 20.0, [26, 152, 80, 230], t="昆明<市>", a="【规划完成率】100.0%"),
             square("530300", 101.0, 21.0, [215, 48, 39, 230], t="曲靖市", n="未上报")]
    model = map_data.MapModel(level="prefecture", metric=map_data.DEFAULT_METRIC, prefecture=None, features=feats,
                              legend=None, bounds=(100.0, 20.0, 102.0, 22.0),
                              labels=[{"position": [100.5, 20.5], "text": "昆明"}], villages=[],
                              province_outline=None, as_of_text="", reported=2, regions=2)
    svg = charts.map_svg(model, 620, 420)
    view = map_data.fit_view(model.bounds, 620, 420)
    paths = re.findall(r"<path data-code='(\d+)' d='([^']+)' fill='rgb\(([\d,]+)\)'", svg)
    assert [(c, f) for c, _, f in paths] == [("530100", "26,152,80"), ("530300", "215,48,39")]
    for (code, d, _), feat in zip(paths, feats):
        points = [tuple(map(float, p.split(","))) for p in d[1:-1].split("L")]
        expected = [map_data.lnglat_to_pixel(lng, lat, view, 620, 420)
                    for lng, lat in feat["geometry"]["coordinates"][0]]
        assert all(abs(a - b) <= 0.5 for p, e in zip(points, expected) for a, b in zip(p, e)), code  # whole pixels
    xs = [float(v) for v in re.findall(r"[ML]([\d.]+),", svg)]
    assert 0 <= min(xs) and max(xs) <= 620   # fitted inside the map's width, as deck.gl's fitted view
    # Tooltip lines as character references (ui.text.markup): a raw blank line would end the HTML block and start
    # Markdown; the browser shows them as line breaks all the same.
    assert "<title>昆明&lt;市&gt;&#10;【规划完成率】100.0%</title>" in svg and "<title>曲靖市&#10;未上报</title>" in svg
    x, y = map_data.lnglat_to_pixel(100.5, 20.5, view, 620, 420)
    assert f"<text x='{x:.1f}' y='{y:.1f}'" in svg and ">昆明</text>" in svg
