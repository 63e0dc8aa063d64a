"""The naive baseline the pipeline is measured against: pandas + openpyxl, a per-row Python check, DuckDB insert.

This is what a first script would do: ``pandas.read_excel(engine="openpyxl", header=<row>)`` per file, then an
``iterrows`` loop checking the same few rules the contract names (known county of the prefecture, year range,
stage 1–7 and steps consistent with it, 其中公职人员 ≤ 编制组人数, 已纳入 ≤ 需求清单数, no village twice), then
the accepted rows inserted into DuckDB. It is deliberately favoured: it is told the header row and the exact
column names of the synthetic files (no alias matching, no title-row search, no 合计 check, no traditional
characters), so the pipeline's real work is a superset of it and the speedup is, if anything, understated.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from bench.synthetic import HEADER_ROW
from geo import reference

COLUMNS = ("prefecture_code", "county_code", "township", "village", "village_code", "task_year", "stage",
           "steps_done", "plan_status", "group_size", "civil_servants", "cadre_visits", "local_talents", "meetings",
           "villager_participation", "needs_total", "needs_adopted", "plan_industry", "plan_talent", "plan_culture",
           "plan_ecology", "plan_organisation", "council", "funding_wan", "notes")

TABLE = """CREATE TABLE IF NOT EXISTS village_rows (
    file_name VARCHAR, prefecture_code VARCHAR, county_code VARCHAR, township VARCHAR, village VARCHAR,
    village_code VARCHAR, task_year INTEGER, stage INTEGER, steps_done INTEGER, plan_status VARCHAR,
    group_size INTEGER, civil_servants INTEGER, cadre_visits INTEGER, local_talents INTEGER, meetings INTEGER,
    villager_participation INTEGER, needs_total INTEGER, needs_adopted INTEGER, plan_industry BOOLEAN,
    plan_talent BOOLEAN, plan_culture BOOLEAN, plan_ecology BOOLEAN, plan_organisation BOOLEAN, council BOOLEAN,
    funding_wan DOUBLE, notes VARCHAR)"""


def _lookups() -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    prefs = {row[1]: row[0] for row in reference.prefectures().select("code", "common_name").rows()}
    counties: dict[str, dict[str, str]] = {}
    for code, name, pref in reference.counties().select("code", "name", "prefecture_code").rows():
        counties.setdefault(pref, {})[name] = code
    return prefs, counties


def _int(v) -> int | None:
    if v is None or (isinstance(v, float) and v != v):
        return None
    return int(v)


def naive_load(files: list[Path], db_path: Path) -> tuple[int, list[str]]:
    """Load files the naive way; (village rows inserted, error messages). A file with errors is skipped."""
    prefs, counties = _lookups()
    con = duckdb.connect(str(db_path))
    con.execute(TABLE)
    loaded, all_errors = 0, []
    try:
        for path in files:
            df = pd.read_excel(path, engine="openpyxl", header=HEADER_ROW)
            pref_code = prefs.get(path.stem.split("_")[0])
            known = counties.get(pref_code, {})
            records, errors, seen = [], [], set()
            for i, row in df.iterrows():
                county, village = row["县市区"], row["行政村"]
                if pd.isna(county) or pd.isna(village):  # 合计 and footer rows
                    continue
                excel_row = i + HEADER_ROW + 2
                county_code = known.get(county)
                if county_code is None:
                    errors.append(f"{path.name} 第{excel_row}行 县市区: {county} 不是该州市的县")
                year, stage, steps = _int(row["任务年度"]), _int(row["当前环节"]), _int(row["已完成步骤数"])
                group, civil = _int(row["编制组人数"]), _int(row["其中公职人员"])
                needs, adopted = _int(row["需求清单数"]), _int(row["已纳入规划需求数"])
                if year is None or not 2021 <= year <= 2030:
                    errors.append(f"{path.name} 第{excel_row}行 任务年度: {year}")
                if stage is None or not 1 <= stage <= 7:
                    errors.append(f"{path.name} 第{excel_row}行 当前环节: {stage}")
                elif steps is None or not 4 * stage - 4 <= steps <= 4 * stage:
                    errors.append(f"{path.name} 第{excel_row}行 已完成步骤数: {steps}")
                if group is None or civil is None or civil < 0 or civil > group:
                    errors.append(f"{path.name} 第{excel_row}行 其中公职人员: {civil} > {group}")
                if needs is not None and adopted is not None and adopted > needs:
                    errors.append(f"{path.name} 第{excel_row}行 已纳入规划需求数: {adopted} > {needs}")
                key = (county, row["乡镇"], village)
                if key in seen:
                    errors.append(f"{path.name} 第{excel_row}行 重复村: {key}")
                seen.add(key)
                notes = row["备注"]
                records.append((
                    path.name, pref_code, county_code, row["乡镇"], village, str(row["村代码"]), year, stage, steps,
                    row["规划状态"], group, civil, _int(row["回乡干部人次"]), _int(row["乡贤能人数"]),
                    _int(row["座谈会场次"]), _int(row["村民参与人次"]), needs, adopted,
                    row["产业规划"] == "是", row["人才规划"] == "是", row["文化规划"] == "是",
                    row["生态规划"] == "是", row["组织规划"] == "是", row["理事会"] == "是",
                    float(row["项目资金（万元）"]), None if pd.isna(notes) else notes,
                ))
            if errors:
                all_errors += errors
                continue
            frame = pd.DataFrame.from_records(records, columns=["file_name", *COLUMNS])
            con.register("_frame", frame)
            con.execute("INSERT INTO village_rows SELECT * FROM _frame")
            con.unregister("_frame")
            loaded += len(records)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return loaded, all_errors
