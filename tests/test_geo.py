"""Behaviour of the geo package: reference data integrity, name resolution and committed boundaries."""

from __future__ import annotations

import polars as pl
import pytest
import shapely

from geo import boundaries, names, reference
from geo.text import INVISIBLE_PATTERN, normalise_text

# ---------------------------------------------------------------------------------------------- reference data


def test_counts_and_official_order():
    p, c = reference.prefectures(), reference.counties()
    assert p.height == 16 and c.height == 129
    assert p.columns == ["code", "name", "short_name", "common_name", "sort_order"]
    assert p["code"][0] == "530100" and p["code"][-1] == "533400"  # 昆明 first, 迪庆 last
    assert p["sort_order"].to_list() == list(range(1, 17))
    assert c["code"].is_unique().all() and p["code"].is_unique().all()
    assert c["code"].str.contains(r"^53\d{4}$").all() and p["code"].str.contains(r"^53\d{2}00$").all()


def test_every_county_has_its_prefecture():
    c, p = reference.counties(), reference.prefectures()
    assert set(c["prefecture_code"]) == set(p["code"])
    assert (c["code"].str.slice(0, 4) == c["prefecture_code"].str.slice(0, 4)).all()
    per_pref = dict(c.group_by("prefecture_code").len().iter_rows())
    assert per_pref["530100"] == 14 and per_pref["532500"] == 13 and per_pref["533400"] == 3


@pytest.mark.parametrize(
    ("full", "short", "common"),
    [
        ("红河哈尼族彝族自治州", "红河", "红河州"),
        ("西双版纳傣族自治州", "西双版纳", "西双版纳州"),
        ("大理白族自治州", "大理", "大理州"),
        ("昆明市", "昆明", "昆明市"),
    ],
)
def test_prefecture_names(full, short, common):
    row = reference.prefectures().filter(pl.col("name") == full).row(0, named=True)
    assert (row["short_name"], row["common_name"]) == (short, common)


@pytest.mark.parametrize(
    ("full", "short"),
    [
        ("河口瑶族自治县", "河口"),
        ("双江拉祜族佤族布朗族傣族自治县", "双江"),
        ("元江哈尼族彝族傣族自治县", "元江"),
        ("弥勒市", "弥勒"),
        ("五华区", "五华"),
        ("富民县", "富民"),
        ("泸水市", "泸水"),
        ("云县", "云县"),  # stripping 县 would leave one character
        ("芒市", "芒市"),
        ("香格里拉市", "香格里拉"),
    ],
)
def test_county_short_names(full, short):
    assert names.county_short_name(full) == short
    assert reference.counties().filter(pl.col("name") == full)["short_name"].item() == short


def test_short_names_unique_and_stable_under_key():
    for frame in (reference.prefectures(), reference.counties()):
        assert frame["short_name"].is_unique().all()
        assert frame["short_name"].str.len_chars().min() >= 2
        # The matching key of a short name is the short name itself, so short names always resolve.
        level = "county" if "prefecture_code" in frame.columns else "prefecture"
        assert all(names.name_key(s, level) == s for s in frame["short_name"])


def test_roster_codes():
    r = reference.roster()
    assert r.columns == [
        "village_code", "village_name", "township_code", "township_name", "county_code", "prefecture_code"
    ]
    assert all(dtype == pl.String for dtype in r.dtypes)
    assert 14_000 < r.height < 16_000  # 14,888 in NBS 2023
    assert r["village_code"].str.contains(r"^53\d{10}$").all()
    assert r["village_code"].is_unique().all()
    assert (r["village_code"].str.slice(0, 9) == r["township_code"]).all()
    assert (r["township_code"].str.slice(0, 6) == r["county_code"]).all()
    assert set(r["county_code"]) <= set(reference.counties()["code"])
    assert set(r["prefecture_code"]) == set(reference.prefectures()["code"])
    assert 1_400 < r["township_code"].n_unique() < 1_550  # 1,461 in NBS 2023


# -------------------------------------------------------------------------------------------------- resolution


@pytest.mark.parametrize(
    "text",
    ["红河", "紅河州", "红河州", "红河哈尼族彝族自治州", "紅河哈尼族彝族自治州", " 红 河 州 ", "云南省红河州", "532500", "红河\u200b州"],
)
def test_resolve_prefecture_aliases(text):
    assert reference.resolve_prefecture(text) == "532500"


@pytest.mark.parametrize(
    ("text", "code"),
    [("昆明市", "530100"), ("昆明", "530100"), ("大理", "532900"), ("大理州", "532900"), ("西双版纳州", "532800"),
     ("版纳", "532800"), ("思茅市", "530800"), ("臨滄市", "530900"), ("迪庆藏族自治州", "533400")],
)
def test_resolve_prefecture_others(text, code):
    assert reference.resolve_prefecture(text) == code


@pytest.mark.parametrize("text", [None, "", "  ", "北京市", "云南省", "弥勒市", "5325", "532504", "州", "红河县"])
def test_resolve_prefecture_unknown(text):
    assert reference.resolve_prefecture(text) is None


def test_every_name_form_resolves_to_itself():
    for row in reference.prefectures().iter_rows(named=True):
        for form in (row["code"], row["name"], row["short_name"], row["common_name"]):
            assert reference.resolve_prefecture(form) == row["code"], form
    for row in reference.counties().iter_rows(named=True):
        for form in (row["code"], row["name"], row["short_name"], row["common_name"]):
            assert reference.resolve_county(form) == row["code"], form
            assert reference.resolve_county(form, row["prefecture_code"]) == row["code"], form


@pytest.mark.parametrize(
    ("text", "prefecture_code", "code"),
    [
        ("弥勒", None, "532504"),
        ("弥勒市", None, "532504"),
        ("弥勒县", None, "532504"),  # outdated suffix
        ("彌勒市", None, "532504"),
        ("弥勒", "532500", "532504"),
        ("河口县", None, "532532"),
        ("河口瑶族自治县", "532500", "532532"),
        ("红河州弥勒市", None, "532504"),
        ("云南省昆明市五华区", None, "530102"),
        ("大理", None, "532901"),  # the county resolver: 大理市, not the prefecture
        ("大理州大理市", None, "532901"),
        ("红河", None, "532529"),  # 红河县
        ("云县", None, "530922"),
        ("潞西市", None, "533103"),
        ("禄丰县", "532300", "532302"),
        ("532504", None, "532504"),
    ],
)
def test_resolve_county(text, prefecture_code, code):
    assert reference.resolve_county(text, prefecture_code) == code


@pytest.mark.parametrize(
    ("text", "prefecture_code"),
    [
        ("弥勒", "530100"),  # a county of another prefecture
        ("红河县", "530100"),
        ("红河州弥勒市", "530100"),
        ("532504", "530100"),
        ("海淀区", None),
        ("云", None),
        ("", None),
        (None, None),
        ("红河州", None),  # a prefecture is not a county (not 红河县)
        ("昆明市", None),
    ],
)
def test_resolve_county_none(text, prefecture_code):
    assert reference.resolve_county(text, prefecture_code) is None


def test_normalise_text():
    assert normalise_text(" 紅河\u3000州\u200b\ufeff") == "红河州"
    assert normalise_text("ＡＢＣ１２３") == "ABC123"
    assert normalise_text(None) == ""
    assert pl.Series(["红 河\u200b州"]).str.replace_all(INVISIBLE_PATTERN, "").item() == "红河州"


# -------------------------------------------------------------------------------------------------- boundaries


def test_county_geojson_small_enough():
    assert (boundaries.DATA_DIR / "counties.geojson").stat().st_size < 400 * 1024


@pytest.mark.parametrize(
    ("loader", "n"),
    [(boundaries.county_shapes, 129), (boundaries.prefecture_shapes, 16), (boundaries.province_shape, 1)],
)
def test_shapes_valid(loader, n):
    g = loader()
    assert len(g) == n and g.crs.to_epsg() == 4490
    assert g.geometry.is_valid.all() and not g.geometry.is_empty.any()
    minx, miny, maxx, maxy = g.total_bounds
    assert 97 < minx < maxx < 107 and 21 < miny < maxy < 30  # Yunnan


def test_boundary_codes_match_divisions():
    counties = boundaries.county_shapes()
    assert set(counties["code"]) == set(reference.counties()["code"])
    assert dict(zip(counties["code"], counties["prefecture_code"])) == dict(
        reference.counties().select("code", "prefecture_code").iter_rows()
    )
    prefs = boundaries.prefecture_shapes()
    assert list(prefs.columns) == ["code", "name", "geometry"]
    assert prefs["code"].tolist() == reference.prefectures()["code"].to_list()  # official order


def test_counties_form_a_clean_coverage():
    geoms = boundaries.county_shapes().geometry.values
    assert shapely.coverage_is_valid(geoms)  # no overlaps, shared borders edge-matched
    province = boundaries.province_shape().geometry.iloc[0]
    assert abs(shapely.union_all(geoms).area - province.area) < 1e-6


def test_geojson_dict_is_a_fresh_copy():
    a = boundaries.geojson_dict("county")
    assert a["type"] == "FeatureCollection" and len(a["features"]) == 129
    a["features"][0]["properties"]["fill"] = [1, 2, 3]
    assert "fill" not in boundaries.geojson_dict("county")["features"][0]["properties"]
    with pytest.raises(ValueError):
        boundaries.geojson_dict("township")


def test_build_reconciles_boundary_codes_by_name(capsys):
    from shapely.geometry import box

    from geo.build_reference import reconcile

    nbs = [
        {"code": "532302", "name": "禄丰市", "short_name": "禄丰"},
        {"code": "532301", "name": "楚雄市", "short_name": "楚雄"},
    ]
    # An older boundary code for a renamed county (禄丰县 532331 → 禄丰市 532302) is mapped by its name.
    geo = {"532301": ("楚雄市", box(0, 0, 1, 1)), "532331": ("禄丰县", box(1, 0, 2, 1))}
    result, errors = reconcile("county", nbs, geo)
    assert errors == [] and set(result) == {"532301", "532302"}
    assert "532331" in capsys.readouterr().out
    _, errors = reconcile("county", nbs, {"532301": ("楚雄市", box(0, 0, 1, 1))})
    assert errors == ["county 532302 禄丰市: no boundary"]
