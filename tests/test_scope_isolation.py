"""A county user cannot see another county's figures by any route, and SQL in any parameter does nothing.

The warehouse: 红河州 with 弥勒市 (the signed-in county, three villages) and 个旧市 (two villages with their own
needs, projects and county-sheet row), reported on two dates, and 玉溪市红塔区 reported on a day of its own; plus
supervision orders for 弥勒, 个旧, 红河州 itself and 玉溪. Everything of 个旧 and 玉溪 carries names that must never
show for the 弥勒 user (``FORBIDDEN``).

Routes covered: every query-layer function the pages call, called with the 弥勒 scope and the other places' codes
(nothing of them comes back, or OutOfScope is raised); the exports; the pages themselves (AppTest) with the scope in
the session and deep-link query parameters; chart and table selections injected into the session; and SQL injection
in the URL parameters and text inputs (the tables are intact and nothing extra is shown).
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from apptests import kpis, live_map, map_panel_key
from reportfiles import SheetSpec, simple_report, village, warehouse_state, write_xlsx

from geo import reference
from hometown import privacy
from hometown.dispatch import alerts, forecast, orders
from hometown.progress import map_data, overview, region
from hometown.rankings import exports, scores
from hometown.rankings import index as rankings
from warehouse import db
from hometown.progress import village as village_q
from warehouse.scope import ALL, Filters, OutOfScope, Scope

ROOT = Path(__file__).resolve().parent.parent
HONGHE, MILE, GEJIU, YUXI, HONGTA = "532500", "532504", "532501", "530400", "530402"
MILE_USER = Scope(county_code=MILE)
HONGHE_USER = Scope(prefecture_code=HONGHE)
GEJIU_VILLAGE = "532501107213"   # 个旧市卡房镇路赶藤村委会
MILE_VILLAGE = "532504109202"    # 弥勒市西三镇花口村委会
FORBIDDEN = ("532501", "个旧", "路赶藤", "咪的期", "530402", "530400", "红塔", "研和", "玉溪", "个旧专属")
D1, D2, D_YUXI = date(2021, 12, 31), date(2022, 3, 31), date(2022, 3, 28)
EQUAL = {name: 1.0 for name in rankings.INDICATORS}
INJECTIONS = ("532504' OR 1=1 --", "2021; DROP TABLE reports", "' OR '1'='1", "532504\"; DROP TABLE village_rows; --",
              "1 UNION SELECT * FROM reports")


def _gejiu(**kw) -> list:
    return village(county="个旧市", township="卡房镇", **kw)


def _honghe_rows(progress: int) -> list[list]:
    return [
        village(township="西三镇", village="花口村", stage=3 + progress, steps=10 + 4 * progress, status="编制中",
                participation=300, funding=120.5),
        village(township="虹溪镇", village="新桥村", stage=7, steps=28, status="已入库", participation=820,
                plans=("是",) * 5, funding=300),
        village(township="东山镇", village="旧城村", stage=1, steps=0, status="未启动", group=0, civil=0, visits=0,
                talents=0, meetings=0, participation=0, needs=0, adopted=0, plans=("否",) * 5, council="否",
                funding=0),
        _gejiu(village="路赶藤村", stage=5, steps=18 + progress, status="编制中", group=17, civil=7, visits=777,
               participation=7777, needs=70, adopted=7, funding=777.7, notes="个旧专属备注"),
        _gejiu(village="咪的期村", stage=2, steps=5, status="编制中", group=11, civil=3, visits=55, participation=5555,
               needs=50, adopted=5, funding=555.5),
    ]


def _honghe_more() -> tuple[SheetSpec, ...]:
    county = [["州市", "县市区", "摸排在外公职人员数", "纳入编制组干部数", "县级联络服务站", "乡级联络服务站"],
              ["红河州", "弥勒市", 120, 30, 1, 10], ["红河州", "个旧市", 9999, 999, 9, 99]]
    needs = [["州市", "县市区", "乡镇", "行政村", "需求内容", "需求类别", "状态", "估算资金（万元）"],
             ["红河州", "弥勒市", "西三镇", "花口村", "修缮村道", "基础设施", "已纳入规划", 12],
             ["红河州", "个旧市", "卡房镇", "路赶藤村", "个旧专属需求", "产业发展", "已收集", 77]]
    projects = [["州市", "县市区", "乡镇", "行政村", "项目名称", "资金来源", "投入资金（万元）", "项目状态"],
                ["红河州", "弥勒市", "西三镇", "花口村", "村道硬化", "县级财政", 50, "在建"],
                ["红河州", "个旧市", "卡房镇", "路赶藤村", "个旧专属项目", "州级财政", 77, "谋划"]]
    return SheetSpec("县级汇总", county), SheetSpec("需求清单", needs), SheetSpec("项目资金", projects)


def build_warehouse(root: Path) -> tuple[Path, dict[str, int]]:
    from pipelines.ingest import ingest

    files = [
        write_xlsx(root / "红河州_20211231.xlsx", [SheetSpec("村庄进度", simple_report(_honghe_rows(0), as_of="截至2021年12月31日")),
                                                *_honghe_more()]),
        write_xlsx(root / "红河州_20220331.xlsx", [SheetSpec("村庄进度", simple_report(_honghe_rows(1), as_of="截至2022年3月31日")),
                                                *_honghe_more()]),
        write_xlsx(root / "玉溪市_20220328.xlsx", [SheetSpec("村庄进度", simple_report(
            [village(prefecture="玉溪市", county="红塔区", township="研和街道", village="研和社区", participation=4444,
                     funding=444.4)], title="玉溪市干部规划家乡行动工作进度统计表", as_of="截至2022年3月28日"))]),
    ]
    # Refused: a 个旧 row breaks a rule, and the reason quotes that row's figures.
    bad = _honghe_rows(2)
    bad[3] = _gejiu(village="路赶藤村", group=17, civil=99)
    files.append(write_xlsx(root / "红河州_20220630.xlsx", [SheetSpec("村庄进度", simple_report(
        bad, as_of="截至2022年6月30日"))]))
    wh = root / "warehouse.duckdb"
    results = ingest(files, wh)
    assert [r.status for r in results] == ["accepted"] * 3 + ["refused"], [r.errors[:3] for r in results]
    assert any("99" in e for e in results[3].errors)
    deadline = date.today() + timedelta(days=15)
    ids = {}
    for key, target in (("mile", orders.Target(HONGHE, MILE, name="红河州弥勒市")),
                        ("gejiu", orders.Target(HONGHE, GEJIU, name="红河州个旧市")),
                        ("honghe", orders.Target(HONGHE, name="红河州")),
                        ("yuxi", orders.Target(YUXI, HONGTA, name="玉溪市红塔区"))):
        ids[key] = orders.create_order(target, title=f"{target.name}进度滞后", items=["查明原因"],
                                       responsible_unit=f"{target.name}专班", deadline=deadline, created_by="省项目组",
                                       db_path=wh)
    return wh, ids


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scope")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOMETOWN_APP_DB", str(folder / "app.sqlite3"))  # this module's orders only
        wh, ids = build_warehouse(folder)
        mp.setenv(db.ENV_VAR, str(wh))
        yield wh, ids
    db.close_all()


# ------------------------------------------------------------------------------------------------- leak checks


def _text(value) -> str:
    """Everything a value could show, as text: frames cell by cell, dataclasses and dicts as JSON, workbooks cell by
    cell, Word documents by paragraph."""
    if isinstance(value, pl.DataFrame):
        return "\n".join(" | ".join("" if v is None else str(v) for v in row) for row in value.iter_rows()) + \
            " ".join(value.columns)
    if dataclasses.is_dataclass(value):
        return json.dumps(dataclasses.asdict(value), ensure_ascii=False, default=str)
    if isinstance(value, bytes) and value[:2] == b"PK":
        import zipfile

        names = zipfile.ZipFile(io.BytesIO(value)).namelist()
        if "word/document.xml" in names:
            from docx import Document

            return "\n".join(p.text for p in Document(io.BytesIO(value)).paragraphs)
        import openpyxl

        book = openpyxl.load_workbook(io.BytesIO(value), read_only=True)
        return "\n".join(" | ".join("" if c is None else str(c) for c in row)
                         for ws in book.worksheets for row in ws.iter_rows(values_only=True))
    if isinstance(value, bytes):
        return value.decode("utf-8-sig", errors="replace")
    return json.dumps(value, ensure_ascii=False, default=str)


def assert_no_leak(value, where: str = "") -> None:
    text = _text(value)
    found = [f for f in FORBIDDEN if f in text]
    assert not found, f"{where}: {found} leaked in {text[:500]}"


# --------------------------------------------------------------------------------- the query layer, function by function


def test_overview_functions_stay_inside_the_county(wh):
    f = Filters()
    assert overview.totals(f, ALL)["task_villages"][0] == 6  # the whole warehouse, for contrast
    for region_code in (None, "530000", HONGHE, MILE):
        row = overview.totals(f, MILE_USER, region_code).row(0, named=True)
        assert row["task_villages"] == 3, region_code
        assert row["villager_participation"] == 300 + 820 + 0
        assert row["identified_civil_servants"] == 120  # the county sheet: 弥勒 only, not 个旧's 9999
    for other in (GEJIU, YUXI, HONGTA, GEJIU_VILLAGE, *INJECTIONS):
        row = overview.totals(f, MILE_USER, other).row(0, named=True)
        assert not row["task_villages"], other
        # (a village code selects no county-sheet row: the sums stay those of the user's own county)
        assert row["identified_civil_servants"] in (None, 0, 120), other
    frames = {
        "prefecture_ranking": overview.prefecture_ranking(f, MILE_USER),
        "children_province": overview.children(f, MILE_USER, None),
        "children_honghe": overview.children(f, MILE_USER, HONGHE),
        "children_yuxi": overview.children(f, MILE_USER, YUXI),
        "funnel": overview.stage_funnel(f, MILE_USER),
        "funnel_gejiu": overview.stage_funnel(f, MILE_USER, GEJIU),
        "trend": overview.trend(f, MILE_USER),
        "trend_gejiu": overview.trend(f, MILE_USER, GEJIU),
        "report_status": overview.report_status(f, MILE_USER),
        "report_log": overview.report_log(MILE_USER),
        "report_log_yuxi": overview.report_log(MILE_USER, prefecture_code=YUXI),
        "report_log_counts": overview.report_log_counts(MILE_USER),
        "alert_panel": overview.alert_panel(f, MILE_USER)[1],
    }
    for name, frame in frames.items():
        assert_no_leak(frame, name)
    assert frames["prefecture_ranking"]["code"].to_list() == [HONGHE]
    assert frames["prefecture_ranking"]["task_villages"].to_list() == [3]
    assert frames["children_honghe"]["code"].to_list() == [MILE]
    assert frames["children_yuxi"].height == 0
    assert frames["funnel_gejiu"]["reached"].sum() == 0 and frames["funnel"]["reached"][0] == 3
    assert frames["trend_gejiu"].height == 0 and set(frames["trend"]["task_villages"]) == {3}
    assert frames["report_log_yuxi"].height == 0 and set(frames["report_log"]["prefecture_code"]) == {HONGHE}
    # The refused file's reasons quote a 个旧 row: the prefecture sees them, the county user does not.
    assert overview.report_log(HONGHE_USER, status="refused")["messages"].str.contains("99").all()
    assert overview.report_log(MILE_USER, status="refused")["messages"].is_null().all()
    assert overview.report_log(MILE_USER, status="refused").height == 1
    # A county user's row counts are its own county's villages in each file, not the prefecture's (issue 20).
    mine = overview.report_log(MILE_USER, status="accepted")
    theirs = overview.report_log(HONGHE_USER, status="accepted")
    assert mine["report_id"].to_list() == theirs["report_id"].to_list() and mine.height >= 1
    assert mine["village_rows"].to_list() == [3] * mine.height
    assert (theirs["village_rows"] > 3).all()
    assert overview.report_log(MILE_USER, status="refused")["village_rows"].is_null().all()
    assert D_YUXI not in overview.reporting_dates(MILE_USER)
    assert overview.task_years(MILE_USER) == [2021]
    alert_items = frames["alert_panel"]
    assert set(alert_items["county_code"].drop_nulls()) <= {MILE}


def test_region_and_village_functions_refuse_or_return_nothing(wh):
    f = Filters()
    for other in (GEJIU, YUXI, HONGTA, HONGHE):
        reg = region.resolve(other)
        with pytest.raises(OutOfScope, match="无权查看"):
            region.check_scope(reg, MILE_USER)
    with pytest.raises(OutOfScope):
        region.county_villages(f, MILE_USER, GEJIU)
    assert region.county_villages(f, MILE_USER, MILE).height == 3
    with pytest.raises(OutOfScope):
        region.check_scope(region.resolve(GEJIU_VILLAGE), MILE_USER)
    for key in (GEJIU_VILLAGE, *INJECTIONS):
        for fn in (village_q.current, village_q.history, village_q.needs, village_q.projects):
            assert fn(f, MILE_USER, key).height == 0, (fn.__name__, key)
    # The same village key with the whole province in scope does exist: the scope is what hides it.
    assert village_q.current(f, ALL, GEJIU_VILLAGE).height == 1
    assert village_q.needs(f, ALL, GEJIU_VILLAGE)["content"].to_list() == ["个旧专属需求"]
    assert village_q.current(f, MILE_USER, MILE_VILLAGE).height == 1
    assert village_q.needs(f, MILE_USER, MILE_VILLAGE)["content"].to_list() == ["修缮村道"]


def test_map_functions_draw_only_the_county(wh):
    f = Filters()
    for level in ("prefecture", "county"):
        for pref in (None, HONGHE, YUXI):
            model = map_data.map_model(f, MILE_USER, level, "completion_rate", pref)
            assert [ft["properties"]["code"] for ft in model.features] == [MILE], (level, pref)
            assert {v["county_code"] if "county_code" in v else MILE for v in model.villages} <= {MILE}
            assert_no_leak({"features": [ft["properties"] for ft in model.features], "labels": model.labels,
                            "villages": model.villages, "legend": dataclasses.asdict(model.legend)}, f"map {level} {pref}")
    assert map_data.region_figures(f, MILE_USER, "county")["code"].to_list() == [MILE]
    assert map_data.region_figures(f, MILE_USER, "prefecture")["code"].to_list() == [HONGHE]
    assert map_data.region_figures(f, MILE_USER, "prefecture")["task_villages"].to_list() == [3]
    assert map_data.village_rows(f, MILE_USER, GEJIU).height == 0
    assert set(map_data.village_rows(f, MILE_USER)["county_code"]) == {MILE}
    assert set(map_data.reported_prefectures(f, MILE_USER)) == {HONGHE}


def test_rankings_alerts_and_forecast_stay_inside_the_county(wh):
    for level in ("prefecture", "county", "village"):
        r = rankings.rank(level, EQUAL, scope=MILE_USER)
        assert_no_leak(rankings.table(r), f"ranking {level}")
        assert r.frame["task_villages"].sum() == 3
    with pytest.raises(OutOfScope):
        rankings.rank("village", EQUAL, scope=MILE_USER, prefecture=YUXI)
    with pytest.raises(OutOfScope):
        rankings.rank("village", EQUAL, scope=MILE_USER, prefecture=HONGHE)
    assert D_YUXI not in rankings.reporting_dates(Filters(), MILE_USER)
    assert rankings.reporting_dates(Filters(), MILE_USER, YUXI) == []
    assert rankings.indicators("county", Filters(), MILE_USER)["county_code"].to_list() == [MILE]
    assert rankings.task_years(MILE_USER) == [2021]
    for frame in (alerts.alerts(MILE_USER), alerts.counts(MILE_USER), forecast.trend(MILE_USER),
                  forecast.forecast(MILE_USER)):
        assert_no_leak(frame, "alerts/forecast")
    assert set(forecast.forecast(MILE_USER)["county_code"]) == {MILE}
    assert alerts.alerts(ALL)["county_code"].drop_nulls().is_in([GEJIU]).any()  # there is something to hide


def test_orders_of_other_places_cannot_be_read_or_changed(wh):
    wh_path, ids = wh
    mine = orders.orders(MILE_USER, db_path=wh_path)
    assert mine["order_id"].to_list() == [ids["mile"]]
    assert_no_leak(mine, "orders")
    assert orders.orders(MILE_USER, county_code=GEJIU, db_path=wh_path).height == 0
    assert orders.orders(MILE_USER, prefecture_code=YUXI, db_path=wh_path).height == 0
    assert orders.summary(MILE_USER, db_path=wh_path)["total"] == 1
    for other in ("gejiu", "honghe", "yuxi"):
        with pytest.raises(orders.OrderNotFound):
            orders.order(ids[other], MILE_USER, db_path=wh_path)
        with pytest.raises(orders.OrderNotFound):
            orders.events(ids[other], MILE_USER, db_path=wh_path)
    before = warehouse_state(wh_path)
    with pytest.raises(OutOfScope):
        orders.transition(ids["gejiu"], orders.SIGNED, actor="弥勒市专班", scope=MILE_USER, db_path=wh_path)
    with pytest.raises(OutOfScope):
        orders.add_note(ids["gejiu"], "越权", actor="弥勒市专班", scope=MILE_USER, db_path=wh_path)
    with pytest.raises(OutOfScope):
        orders.change_deadline(ids["yuxi"], date.today() + timedelta(days=40), actor="x", reason="越权",
                               scope=MILE_USER, db_path=wh_path)
    with pytest.raises(OutOfScope):
        orders.create_order(orders.Target(HONGHE, GEJIU, name="个旧市"), title="越权", items=["x"],
                            responsible_unit="x", deadline=date.today() + timedelta(days=5), created_by="弥勒市专班",
                            scope=MILE_USER, db_path=wh_path)
    assert warehouse_state(wh_path) == before


def test_exports_contain_only_the_county(wh):
    wh_path, ids = wh
    for level in ("county", "village"):
        r = rankings.rank(level, EQUAL, scope=MILE_USER)
        assert_no_leak(exports.ranking_xlsx(r), f"ranking xlsx {level}")
        assert_no_leak(exports.ranking_csv(r), f"ranking csv {level}")
        assert "弥勒" in _text(exports.ranking_xlsx(r))
    mine = orders.orders(MILE_USER, db_path=wh_path)
    assert_no_leak(orders.orders_xlsx(mine), "orders xlsx")
    o = orders.order(ids["mile"], MILE_USER, db_path=wh_path)
    assert_no_leak(orders.notice_docx(o, orders.events(ids["mile"], MILE_USER, db_path=wh_path)), "notice")


def test_judges_names_are_exported_only_to_roles_that_may_see_them():
    sheet_bytes = scores.template_xlsx(judges=3)
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(sheet_bytes))
    ws = book.worksheets[0]
    header = [c.value for c in next(ws.iter_rows(min_row=1, max_row=ws.max_row)) if c.value]
    assert header  # the template has a header row the reader accepts
    # Fill it in: three judges with names, two entries.
    names = ["张三丰", "李四光", "王五"]
    rows = scores_rows(ws, names)
    buf = io.BytesIO()
    book.save(buf)
    for role in (None, "leader", "prefecture", "county", "analyst", "admin"):
        sheet = scores.read_scores(buf.getvalue(), "评分表.xlsx", role=role)
        result = scores.results(sheet, 1, 1)
        text = _text(scores.results_xlsx(sheet, result, 1, 1, role)) + _text(scores.detail_table(sheet, role))
        shown = [n for n in names if n in text]
        if privacy.may_see_names(role):
            assert shown == names, role
        else:
            assert shown == [], (role, shown)
            assert privacy.mask_name("张三丰", role) in text
    assert rows


def scores_rows(ws, names: list[str]) -> int:
    """Write judges' scores under the template's header (columns found by their header text)."""
    header_row = next(r for r in range(1, 10) if any(ws.cell(r, c).value for c in range(1, 10)))
    heads = {str(ws.cell(header_row, c).value).strip(): c for c in range(1, 30) if ws.cell(header_row, c).value}
    n = 0
    for i, name in enumerate(names):
        for j, entry in enumerate(("花口村规划", "新桥村规划")):
            r = header_row + 1 + n
            for head, value in (("评委", name), ("参赛规划", entry), ("得分", 80 + i + 5 * j)):
                col = next((c for h, c in heads.items() if head in h), None)
                if col:
                    ws.cell(r, col, value)
            n += 1
    return n


# ----------------------------------------------------------------------------------- every page passes the scope


def _hometown_calls(tree, imports: dict[str, object]):
    """(function, call node) for every call of a hometown function in a page, direct or through ui.common.run."""
    import ast

    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        target, args = node.func, node.args
        if isinstance(target, ast.Name) and target.id == "run" and args:
            target, args = args[0], args[1:]
        fn = None
        if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id in imports:
            fn = getattr(imports[target.value.id], target.attr, None)
        elif isinstance(target, ast.Name) and target.id in imports:
            fn = imports[target.id]
        if callable(fn) and getattr(fn, "__module__", "").startswith("hometown."):
            yield fn, node, args


def test_every_page_call_of_a_scoped_query_passes_the_users_scope():
    """Static check: a page that calls a query-layer function taking a scope passes the user's scope to it (a
    variable named *scope*, or current_scope()), never the default (ALL) by omission."""
    import ast
    import importlib
    import inspect

    problems = []
    for page in sorted((ROOT / "pages").glob("*.py")) + sorted((ROOT / "ui").glob("*.py")):
        tree = ast.parse(page.read_text(encoding="utf-8"))
        imports: dict[str, object] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("hometown"):
                mod = importlib.import_module(node.module)
                for alias in node.names:
                    sub = getattr(mod, alias.name, None)
                    if sub is None:
                        sub = importlib.import_module(f"{node.module}.{alias.name}")
                    imports[alias.asname or alias.name] = sub
        for fn, node, args in _hometown_calls(tree, imports):
            try:
                params = inspect.signature(fn).parameters
            except (TypeError, ValueError):
                continue
            if "scope" not in params:
                continue
            values = list(args) + [k.value for k in node.keywords]
            ok = any((isinstance(v, ast.Name) and "scope" in v.id)
                     or (isinstance(v, ast.Call) and isinstance(v.func, ast.Name) and v.func.id == "current_scope")
                     for v in values)
            if not ok:
                problems.append(f"{page.name}:{node.lineno} {fn.__module__}.{fn.__name__}")
    assert not problems, "calls without the user's scope:\n" + "\n".join(problems)


def test_every_query_function_of_the_query_layer_takes_a_scope():
    """Static check: each public function of hometown/ that reads the warehouse takes a ``scope`` (the few that do
    not are listed with the reason)."""
    import ast

    exempt = {
        ("orders", "order_state"): "internal to advance(), which goes through transition()'s scope check",
        ("alerts", "current_keys"): "orders' 待核验 check; returns alert keys only, never figures",
        ("db", "query"): "the connection itself",
        ("db", "scalar"): "the connection itself",
        ("db", "check"): "whether the warehouse opens (its schema version); returns no figures",
    }
    readers = {"query", "scalar", "_query", "_run"}
    problems = []
    for path in sorted((ROOT / "hometown").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in tree.body:
            if not isinstance(fn, ast.FunctionDef) or fn.name.startswith("_"):
                continue
            reads = any(isinstance(n, ast.Call) and (
                (isinstance(n.func, ast.Attribute) and n.func.attr in readers and getattr(n.func.value, "id", "") == "db")
                or (isinstance(n.func, ast.Name) and n.func.id in readers)) for n in ast.walk(fn))
            if not reads or (path.stem, fn.name) in exempt:
                continue
            names = [a.arg for a in fn.args.args + fn.args.kwonlyargs]
            if "scope" not in names and not any(n in names for n in ("r", "sheet")):
                problems.append(f"{path.stem}.{fn.name}")
    assert not problems, f"query functions without a scope: {problems}"


# --------------------------------------------------------------------------------------------- pages (AppTest)


@pytest.fixture(autouse=True)
def _no_legacy_pages_mode(no_legacy_pages_mode):
    """Runs start from app.py, as on the server (tests/conftest.py)."""


# Widgets bound to the URL (bind="query-params") are seeded from it by a browser's first load; AppTest does not
# seed them, so a test's URL value for one is written to the widget's state, as the seeding would do — and only a
# value the widget offers: the browser drops any other (an unknown view, SQL in ?pref=) and keeps the default.
BOUND_WIDGETS = {
    "dispatch": {"view": {"预警看板": "alerts", "督办单": "orders", "倒排工期": "forecast"}},
    "map": {"pref": {c: c for c in ("", *reference.prefectures()["code"].to_list())},
            "level": {"prefecture": "prefecture", "county": "county"},
            "metric": {m: m for m in map_data.METRICS}},
}


def _page(name: str, scope: Scope, params: dict | None = None, role: str = "county", state: dict | None = None):
    """Run app.py as a signed-in user (scope and role in the session, as ui/auth.py leaves them) and open a page
    the way a deep link does: its URL path and query parameters."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["scope"] = scope
    at.session_state["role"] = role
    at.run()
    if name != "overview":
        at.switch_page(f"pages/{name}.py")
    for key, value in (params or {}).items():
        offered = BOUND_WIDGETS.get(name, {}).get(key)
        if offered is not None and value in offered:
            at.session_state[key] = offered[value]
    for key, value in (state or {}).items():
        at.session_state[key] = value
    at.query_params.clear()
    for key, value in (params or {}).items():
        at.query_params[key] = value
    at.run()
    return at


def page_text(at, errors: bool = True) -> str:
    """All text the page shows: titles, markdown, captions, metrics, alerts, tables (every cell), chart data.
    ``errors=False`` leaves out error boxes (a refusal names the place refused, which the user typed)."""
    parts = []
    kinds = ("title", "header", "subheader", "markdown", "caption", "warning", "info", "success", "toast", "text",
             "code", "json") + (("error",) if errors else ())
    for kind in kinds:
        for el in getattr(at, kind, []):
            parts.append(str(getattr(el, "value", "")))
    for m in at.metric:
        parts += [m.label, str(m.value), str(getattr(m, "delta", ""))]
    for h in at.get("html"):  # the KPI tiles (ui.tiles), the big screen's boards
        parts.append(h.proto.body)
    for d in at.dataframe:
        parts.append(d.value.to_string())
    for w in list(at.selectbox) + list(at.multiselect):
        parts += [str(o) for o in w.options]
    for el in at.get("plotly_chart"):
        parts.append(str(el.proto))
    for el in at.get("deck_gl_json_chart"):
        parts.append(str(el.proto))
    return "\n".join(parts)


def assert_page_clean(at, where: str) -> None:
    assert not at.exception, f"{where}: {at.exception}"
    text = page_text(at, errors=False)
    found = [f for f in FORBIDDEN if f in text]
    assert not found, f"{where}: {found} shown"


@pytest.mark.parametrize("code", [GEJIU, YUXI, HONGTA, HONGHE, "530000"])
def test_region_page_refuses_another_region_by_deep_link(wh, code):
    at = _page("region", MILE_USER, {"code": code})
    assert any("无权查看" in e.value for e in at.error), [e.value for e in at.error]
    assert not kpis(at) and not at.metric and not at.dataframe
    assert_page_clean(at, f"region {code}")


def test_region_page_without_a_code_opens_the_users_own_county(wh):
    at = _page("region", MILE_USER)
    assert_page_clean(at, "region (no code)")
    assert "弥勒市" in page_text(at) and not at.error


def test_village_page_refuses_another_countys_village(wh):
    at = _page("village", MILE_USER, {"code": GEJIU_VILLAGE})
    assert any("无权查看" in e.value for e in at.error)
    assert_page_clean(at, "village")
    at = _page("village", MILE_USER, {"code": MILE_VILLAGE})
    assert_page_clean(at, "own village")
    assert "花口" in page_text(at)


@pytest.mark.parametrize("name, params", [
    ("overview", {}),
    ("overview", {"screen": "big"}),
    ("rankings", {"pref": YUXI, "level": "village"}),
    ("rankings", {"pref": HONGHE, "level": "county"}),
    ("map", {"pref": YUXI, "level": "prefecture"}),
    ("reports", {"pref": YUXI}),
    ("dispatch", {"view": "督办单"}),   # the dispatch page's views as its URL carries them (labels)
    ("dispatch", {"view": "预警看板"}),
    ("dispatch", {"view": "倒排工期"}),
])
def test_pages_show_nothing_of_other_places_to_a_county_user(wh, name, params):
    at = _page(name, MILE_USER, params)
    assert_page_clean(at, f"{name} {params}")


def test_dispatch_page_does_not_open_another_countys_order_by_url(wh):
    _, ids = wh
    at = _page("dispatch", MILE_USER, {"view": "督办单", "order": str(ids["gejiu"])})
    assert_page_clean(at, "dispatch ?order=")
    assert "红河州弥勒市" in page_text(at)


def test_injected_chart_and_table_selections_do_not_open_other_places(wh):
    """A selection event naming another region (as a crafted client could send) changes nothing."""
    pick = map_data.LAYER_REGIONS
    at = _page("overview", MILE_USER, state={**live_map(),
        map_panel_key("county"): {"selection": {"objects": {pick["county"]: [{"properties": {"code": GEJIU}}]}}}})
    assert_page_clean(at, "overview map selection")
    assert "code" not in at.query_params
    at = _page("overview", MILE_USER, state={**live_map(),
        map_panel_key("county"): {"selection": {"objects": {pick["prefecture"]: [{"properties": {"code": YUXI}}]}}}})
    assert_page_clean(at, "overview map selection of a prefecture")
    # The county user's overview ranks its own county only (bars are buttons: there is none to click elsewhere).
    at = _page("overview", MILE_USER)
    assert [b.key for b in at.button if (b.key or "").startswith("ov_bars_")] == [f"ov_bars_{MILE}"]
    # The prefecture user on its own prefecture's page: bars for its own counties only.
    at = _page("region", HONGHE_USER, {"code": HONGHE}, role="prefecture")
    bars = [b.key for b in at.button if (b.key or "").startswith(f"rg_bars_{HONGHE}_")]
    assert bars and all(k.rsplit("_", 1)[1].startswith("5325") for k in bars)
    # A table row number beyond the county's own villages, and the map's click note naming another county.
    at = _page("region", MILE_USER, {"code": MILE},
               state={f"rg_villages_{MILE}": {"selection": {"rows": [4], "columns": [], "cells": []}}})
    assert_page_clean(at, "villages row")
    at = _page("map", MILE_USER, state={"goto": GEJIU})
    assert_page_clean(at, "map click")
    assert at.query_params.get("code") != GEJIU


# ------------------------------------------------------------------------------------------------ SQL injection


@pytest.mark.parametrize("name, key", [
    ("region", "code"), ("village", "code"), ("region", "year"), ("region", "asof"), ("overview", "year"),
    ("overview", "asof"), ("rankings", "pref"), ("rankings", "year"), ("rankings", "asof"), ("map", "pref"),
    ("map", "metric"), ("reports", "pref"), ("reports", "status"), ("dispatch", "order"), ("dispatch", "view"),
])
def test_sql_in_url_parameters_does_nothing(wh, name, key):
    wh_path, _ = wh
    before = warehouse_state(wh_path)
    for text in INJECTIONS:
        at = _page(name, MILE_USER, {key: text, **({"code": MILE} if name == "region" and key != "code" else {})})
        assert_page_clean(at, f"{name}?{key}={text}")
    assert warehouse_state(wh_path) == before


def test_sql_in_text_inputs_does_nothing(wh, tmp_path, monkeypatch):
    """Every text input of the pages a county user has, filled with SQL: stored or compared as text only."""
    wh_path, ids = wh
    before_counts = warehouse_state(wh_path)["counts"]
    monkeypatch.setenv(rankings.USER_PRESETS_ENV, str(tmp_path / "presets.toml"))
    for name, params in (("dispatch", {"view": "督办单"}), ("rankings", {})):
        at = _page(name, MILE_USER, params)
        for ti in list(at.text_input) + list(at.text_area):
            for text in INJECTIONS[:2]:
                ti.set_value(text).run()
                assert not at.exception, (name, ti.key, at.exception)
    after = warehouse_state(wh_path)["counts"]
    assert {k: v for k, v in after.items() if not k.startswith("supervision")} == \
        {k: v for k, v in before_counts.items() if not k.startswith("supervision")}
    # Typed into the audit page's keyword box and the login form: compared as text, the log is intact.
    from hometown.access import audit

    audit.record("login", username="admin")
    for text in INJECTIONS:
        assert audit.events(text=text).height == 0
        assert audit.events(username=text).height == 0
    assert audit.events().height >= 1 and audit.verify_chain() == []


def test_injected_selection_inside_the_scope_does_open_the_place(wh):
    """The control for the test above: the same injection naming a place inside the scope is followed."""
    pick = map_data.LAYER_REGIONS
    at = _page("region", HONGHE_USER, {"code": HONGHE}, role="prefecture")
    at.button(key=f"rg_bars_{HONGHE}_{MILE}").click().run()
    assert not at.exception
    assert any("弥勒市" in t.value for t in at.title), [t.value for t in at.title]
    at = _page("map", MILE_USER, state={"goto": MILE})
    assert not at.exception and any("弥勒市" in t.value for t in at.title), [t.value for t in at.title]
    at = _page("overview", MILE_USER, state={**live_map(),
        map_panel_key("county"): {"selection": {"objects": {pick["county"]: [{"properties": {"code": MILE}}]}}}})
    assert not at.exception and any("弥勒市" in t.value for t in at.title) and at.query_params.get("code") == MILE
    at = _page("overview", HONGHE_USER, role="prefecture", state={**live_map(), map_panel_key("county", HONGHE): {
        "selection": {"objects": {pick["county"]: [{"properties": {"code": MILE}}]}}}})
    assert not at.exception and at.query_params.get("code") == MILE


def test_order_actions_follow_the_role(wh):
    """Issuing is for prefecture groups (and admins); a county task force answers; a leader only reads."""
    _, ids = wh
    at = _page("dispatch", HONGHE_USER, {"view": "预警看板"}, role="prefecture")
    assert not at.exception and at.button(key="dp_manual")
    for role, scope in (("county", MILE_USER), ("leader", ALL)):
        at = _page("dispatch", scope, {"view": "预警看板"}, role=role)
        assert not at.exception
        assert not [b for b in at.button if b.key == "dp_manual" or (b.key or "").startswith("issue_")], role
    at = _page("dispatch", MILE_USER, {"view": "督办单", "order": str(ids["mile"])}, role="county")
    go = [b for b in at.button if (b.key or "").startswith(f"dp_go_{ids['mile']}_")]
    assert go and not go[0].disabled  # 签收: the county's to do
    assert at.button(key=f"dp_nd_go_{ids['mile']}").disabled  # deadlines are the issuer's
    at = _page("dispatch", ALL, {"view": "督办单", "order": str(ids["mile"])}, role="leader")
    assert all(b.disabled for b in at.button if (b.key or "").startswith(("dp_go_", "dp_nd_go_", "dp_prog_go_")))


@pytest.mark.parametrize("name, params, state", [
    ("overview", {}, live_map()),       # the map panel's SVG preview and deck JSON are cached blocks
    ("map", {}, {}),
    ("region", {}, {}),
    ("briefs", {}, {}),                 # the preview (figures, text, charts) is a cached block
])
def test_cached_blocks_never_cross_scope(wh, name, params, state):
    """Blocks are built once per warehouse version and shared by every session of the process (ui.common): with the
    cache warm from 红河州's prefecture user (whose pages show 个旧市), a 弥勒市 user gets only its own."""
    honghe = _page(name, HONGHE_USER, params, role="prefecture", state=state)
    assert not honghe.exception
    assert "个旧" in page_text(honghe) or name == "briefs"  # the warm cache holds the other county's figures
    assert_page_clean(_page(name, MILE_USER, params, state=state), f"{name} after 红河州's user")
