"""任期承诺 workbooks through the real pipeline (COMMITMENTS_SPEC §1–2, REPORT_SPEC §3–5): real Excel/CSV files,
real DuckDB warehouses. Every refusal of §2 names file, sheet, 第N行, column and value; the tolerated variations
load with the right values; duplicates, corrections and a later list replacing a village's earlier one."""

from __future__ import annotations

from datetime import date

import pytest

from commitmentfiles import ITEM_HEADER, PROGRESS_HEADER, evaluation, item, workbook
from pipelines import kinds
from reportfiles import SheetSpec, fetch, load, simple_report, village, write_csv, write_report, write_xls

NAME = "红河州_任期承诺_20220831.xlsx"


def refused(tmp_path, items, evaluations=None, name=NAME, **kw) -> list[str]:
    path = workbook(tmp_path / name, items, evaluations, **kw)
    (result,) = load(tmp_path / "w.duckdb", path, workers=1)
    assert result.status == "refused", result.line()
    assert fetch(tmp_path / "w.duckdb", "SELECT count(*) AS n FROM commitment_item_rows")[0]["n"] == 0
    return result.errors


def accepted(tmp_path, path, db=None):
    (result,) = load(db or tmp_path / "w.duckdb", path, workers=1)
    assert result.status in ("accepted", "superseded"), result.errors
    return result


def test_a_commitments_workbook_is_told_apart_by_its_sheets_and_loads(tmp_path):
    path = workbook(tmp_path / NAME, [item(), item(no="2", lst="党建提升清单", content="发展党员3名", indicator=None,
                                                   unit="名", baseline=0, target=3, y2022=None, y2023=None,
                                                   due="2022年6月", owner="李四")],
                    [evaluation(actual=11), evaluation(no="2", on=date(2022, 6, 20), kind="期末验收", actual=3,
                                                       status="已销号", acceptance="通过")])
    assert kinds.kind_of(path).key == "commitments"
    result = accepted(tmp_path, path)
    assert result.prefecture_code == "532500" and result.as_of == date(2022, 8, 31)
    items = fetch(tmp_path / "w.duckdb", "SELECT * FROM commitment_items ORDER BY item_no")
    assert [(i["item_no"], i["list_name"], i["due_date"], i["owner"]) for i in items] == [
        ("1", "强村富民", date(2023, 12, 31), "张三"), ("2", "党建提升", date(2022, 6, 30), "李四")]
    assert items[0]["village_code"] and items[0]["county_code"] == "532504" and items[0]["baseline"] == 8
    targets = fetch(tmp_path / "w.duckdb", "SELECT year, target FROM commitment_targets ORDER BY year")
    assert [(t["year"], t["target"]) for t in targets] == [(2022, 12.0), (2023, 16.0)]
    status = {s["item_no"]: s for s in fetch(tmp_path / "w.duckdb", "SELECT * FROM commitment_status")}
    assert status["2"]["status"] == "已销号" and status["2"]["closed_on"] == date(2022, 6, 20)
    assert status["1"]["progress"] == pytest.approx((11 - 8) / (20 - 8))
    log = fetch(tmp_path / "w.duckdb", "SELECT status FROM report_log")
    assert [r["status"] for r in log] == ["accepted"]
    # The progress views are untouched by a commitments file.
    assert fetch(tmp_path / "w.duckdb", "SELECT count(*) AS n FROM village_status")[0]["n"] == 0


@pytest.mark.parametrize("column, value, expected", [
    (5, "扶贫清单", "不是有效的清单类别"),
])
def test_an_unknown_list_is_refused_naming_file_sheet_row_column_value(tmp_path, column, value, expected):
    bad = item()
    bad[column] = value
    errors = refused(tmp_path, [item(no="0"), bad])
    assert errors == [f"{NAME} / 承诺事项 / 第4行 / 清单类别: 「{value}」{expected}，应为 强村富民/党建提升/乡村治理/为民服务/文明创建"]


@pytest.mark.parametrize("field, value, column", [
    ("kind", "月度自评", "评价类型"), ("status", "已暂停", "事项状态")])
def test_unknown_evaluation_type_status_and_acceptance_are_refused(tmp_path, field, value, column):
    ev = evaluation(**{field: value})
    errors = refused(tmp_path, [item()], [evaluation(on=date(2022, 4, 30)), ev])
    assert any(e.startswith(f"{NAME} / 承诺进展 / 第3行 / {column}: 「{value}」不是有效的{column}") for e in errors), errors


def test_an_unreadable_acceptance_is_refused(tmp_path):
    errors = refused(tmp_path, [item()], [evaluation(acceptance="待定")])
    assert errors == [f"{NAME} / 承诺进展 / 第2行 / 验收结论: 「待定」不是有效的验收结论，应为 通过/不通过"]


def test_a_duplicate_item_number_in_a_village_is_refused(tmp_path):
    errors = refused(tmp_path, [item(no="1"), item(no="2"), item(no="1", content="别的事项"),
                                item(no="1", village="新桥村", township="虹溪镇")])
    assert errors == [f"{NAME} / 承诺事项 / 第5行 / 承诺编号: 「1」与第3行重复，同一村（花口村）的承诺编号不能重复"]


def test_a_progress_row_for_an_unknown_item_is_refused_in_the_file_and_against_the_warehouse(tmp_path):
    errors = refused(tmp_path, [item(no="1")], [evaluation(no="9")])
    assert errors == [f"{NAME} / 承诺进展 / 第2行 / 承诺编号: 「9」不是本文件承诺事项表中该村（花口村）的承诺事项"]
    # A later file with evaluations only: its items must be in the warehouse already.
    accepted(tmp_path, workbook(tmp_path / "红河州_任期承诺_20220630.xlsx", [item(no="1")]))
    later = workbook(tmp_path / "红河州_任期承诺_20221031.xlsx", None,
                     [evaluation(no="1", on=date(2022, 10, 1)), evaluation(no="7", on=date(2022, 10, 1))])
    (result,) = load(tmp_path / "w.duckdb", later, workers=1)
    assert result.status == "refused"
    assert len(result.errors) == 1 and result.errors[0].startswith(
        "红河州_任期承诺_20221031.xlsx / 承诺进展 / 第3行 / 承诺编号: 「7」不是已报送的承诺事项")
    assert fetch(tmp_path / "w.duckdb", "SELECT count(*) AS n FROM commitment_progress")[0]["n"] == 0
    ok = workbook(tmp_path / "红河州_任期承诺_20221130.xlsx", None, [evaluation(no="1", on=date(2022, 11, 1))])
    accepted(tmp_path, ok)
    assert fetch(tmp_path / "w.duckdb", "SELECT count(*) AS n FROM commitment_progress")[0]["n"] == 1


def test_closed_without_passed_acceptance_is_refused(tmp_path):
    errors = refused(tmp_path, [item()], [evaluation(status="已销号", acceptance="不通过"),
                                          evaluation(on=date(2022, 7, 30), status="已销号")])
    assert errors == [
        f"{NAME} / 承诺进展 / 第2行 / 验收结论: 事项状态为「已销号」，验收结论应为「通过」，实际为「不通过」",
        f"{NAME} / 承诺进展 / 第3行 / 验收结论: 事项状态为「已销号」，验收结论应为「通过」，实际为空"]


def test_a_final_acceptance_needs_a_conclusion(tmp_path):
    errors = refused(tmp_path, [item()], [evaluation(kind="期末验收", status="已完成")])
    assert errors == [f"{NAME} / 承诺进展 / 第2行 / 验收结论: 评价类型为「期末验收」，验收结论必须填写（通过/不通过）"]


def test_notice_end_before_start_is_refused(tmp_path):
    errors = refused(tmp_path, [item(start=date(2021, 8, 12), end=date(2021, 8, 5))])
    assert errors == [f"{NAME} / 承诺事项 / 第3行 / 公示结束日期: 2021-08-05 早于公示开始日期 2021-08-12"]


def test_a_date_in_the_future_is_refused(tmp_path):
    errors = refused(tmp_path, [item(committed=date(2031, 1, 1))], [evaluation(on=date(2031, 2, 1))],
                     name="红河州_任期承诺_20220831.xlsx")
    assert any(e.startswith(f"{NAME} / 承诺事项 / 第3行 / 承诺日期: 「2031-01-01") and
               e.endswith(f"晚于今天（{date.today().isoformat()}），不能填报未来的日期") for e in errors), errors
    assert any(e.startswith(f"{NAME} / 承诺进展 / 第2行 / 评价日期: ") and "不能填报未来的日期" in e for e in errors)


def test_an_evaluation_after_the_reporting_date_is_refused(tmp_path):
    errors = refused(tmp_path, [item()], [evaluation(on=date(2022, 9, 5))])
    assert errors == [f"{NAME} / 承诺进展 / 第2行 / 评价日期: 2022-09-05 晚于本报表截止日期 2022-08-31"]


def test_a_yearly_target_outside_2021_2030_is_refused(tmp_path):
    header = [h if h != "2023年目标" else "2035年目标" for h in ITEM_HEADER]
    errors = refused(tmp_path, [item()], item_header=header)
    assert errors == [f"{NAME} / 承诺事项 / 2035年目标: 「2035年目标」的年份 2035 超出范围，年度目标应在2021–2030年之间"]


def test_report_spec_refusals_apply_unknown_county_missing_column_no_date(tmp_path):
    errors = refused(tmp_path, [item(county="昆明县")])
    assert errors == [f"{NAME} / 承诺事项 / 第3行 / 县市区: 「昆明县」不是红河哈尼族彝族自治州的县（市、区），无法识别"]
    header = [h for h in ITEM_HEADER if h != "完成时限"]
    row = item()
    del row[ITEM_HEADER.index("完成时限")]
    errors = refused(tmp_path, [row], item_header=header)
    assert errors == [f"{NAME} / 承诺事项 / 缺少必需的列「完成时限」"]
    errors = refused(tmp_path, [item()], name="红河州_任期承诺.xlsx")
    assert len(errors) == 1 and errors[0].startswith("红河州_任期承诺.xlsx / 无法确定截止日期")
    errors = refused(tmp_path, [item(due="明年")])
    assert errors == [f"{NAME} / 承诺事项 / 第3行 / 完成时限: 「明年」不是有效日期（如 2022年3月31日、2022-03-31、2022.3.31）"]


def test_tolerated_variations_title_footer_traditional_range_ordinal_unit_in_header(tmp_path):
    header = ["序号", "州（市）", "縣（市、區）", "鄉鎮", "行政村", "清單類別", "承諾內容", "指標", "基線值（萬元）", "目標值",
              "2022年度目標", "完成時間", "牽頭人", "公示時間", "公開承諾日期", "备用列"]
    rows = [["红河州任期承诺事项统计表"], ["填报单位：红河州委组织部", "截至2022年8月31日"], header,
            [1, "紅河州", "彌勒市", "西三鎮", "花口村", "強村富民清單", "壯大集體經濟", "村集體經營性收入", "8", "２０",
             "1,2", "2023年底", "張三", "2021.8.5-2021.8.8", "2021年8月15日", "x"],
            [2, "紅河州", "彌勒市", "西三鎮", "花口村", "文明創建", "建成新時代文明實踐站", None, "—", "", None, 2024,
             " 李四 ", "2021年8月5日至8月12日", "2021/8/15", ""],
            ["合计"], ["注：本表由乡镇填报"], ["填表人：王五  联系电话：13800000000"]]
    path = write_xls(tmp_path / "红河州_任期承诺_20220831.xls", [SheetSpec("承諾事項", rows)])
    result = accepted(tmp_path, path)
    assert any("备用列" in w for w in result.warnings)
    items = fetch(tmp_path / "w.duckdb", "SELECT * FROM commitment_items ORDER BY item_no")
    assert [(i["item_no"], i["list_name"], i["township"], i["content"], i["owner"]) for i in items] == [
        ("1", "强村富民", "西三镇", "壮大集体经济", "张三"), ("2", "文明创建", "西三镇", "建成新时代文明实践站", "李四")]
    first, second = items
    assert (first["baseline"], first["target"], first["unit"]) == (8.0, 20.0, "万元")
    assert (first["notice_start"], first["notice_end"]) == (date(2021, 8, 5), date(2021, 8, 8))
    assert (second["notice_start"], second["notice_end"]) == (date(2021, 8, 5), date(2021, 8, 12))
    assert first["due_date"] == date(2023, 12, 31) and second["due_date"] == date(2024, 12, 31)
    assert second["baseline"] is None and second["target"] is None
    assert fetch(tmp_path / "w.duckdb", "SELECT target FROM commitment_targets")[0]["target"] == 12.0


def test_item_number_beside_a_row_counter_and_a_gb18030_csv(tmp_path):
    header = ["序号", "州市", "县市区", "乡镇", "行政村", "承诺编号", "清单类别", "承诺事项", "完成时限"]
    rows = [header, [1, "红河州", "弥勒市", "西三镇", "花口村", "QC-01", "乡村治理", "修订村规民约", "2022-12-31"],
            [2, "红河州", "弥勒市", "西三镇", "花口村", "QC-02", "为民服务", "建成便民服务站", "2023.6.30"]]
    path = write_csv(tmp_path / "红河州_任期承诺_20220831.csv", rows, encoding="gb18030")
    accepted(tmp_path, path)
    items = fetch(tmp_path / "w.duckdb", "SELECT item_no, due_date FROM commitment_items ORDER BY item_no")
    assert [(i["item_no"], i["due_date"]) for i in items] == [("QC-01", date(2022, 12, 31)), ("QC-02", date(2023, 6, 30))]


def test_duplicate_correction_and_a_later_list_replacing_a_village_list(tmp_path):
    db = tmp_path / "w.duckdb"
    two = [item(no="1"), item(no="2", content="旧事项"), item(no="1", village="新桥村", township="虹溪镇")]
    first = workbook(tmp_path / "红河州_任期承诺_20220630.xlsx", two)
    accepted(tmp_path, first)
    (dup,) = load(db, first, workers=1)
    assert dup.status == "duplicate"
    # A correction of the same prefecture and date replaces the whole earlier file.
    corrected = workbook(tmp_path / "红河州_任期承诺_20220630_更正.xlsx",
                         [item(no="1"), item(no="2", content="更正事项"), item(no="1", village="新桥村", township="虹溪镇")])
    assert accepted(tmp_path, corrected).status == "superseded"
    assert {i["content"] for i in fetch(db, "SELECT content FROM commitment_items WHERE item_no = '2'")} == {"更正事项"}
    # A later file carrying 花口村 only: 花口村's list is the new one, 新桥村 keeps its list from the earlier file.
    later = workbook(tmp_path / "红河州_任期承诺_20220831.xlsx", [item(no="1"), item(no="3", content="新事项")])
    accepted(tmp_path, later)
    current = fetch(db, "SELECT village, item_no, content FROM commitment_items ORDER BY village, item_no")
    assert [(c["village"], c["item_no"]) for c in current] == [("新桥村", "1"), ("花口村", "1"), ("花口村", "3")]
    log = fetch(db, "SELECT file_name, status FROM report_log ORDER BY report_id")
    assert [r["status"] for r in log] == ["superseded", "duplicate", "accepted", "accepted"]
    # The replaced list's rows are kept (history): the earlier file's items are still in the table.
    assert fetch(db, "SELECT count(*) AS n FROM commitment_item_rows")[0]["n"] == 6 + 2
    # A progress report of the same prefecture and date is independent of a commitments file (kinds apart).
    progress = write_report(tmp_path / "红河州_20220831.xlsx", simple_report([village()], as_of="截至2022年8月31日"))
    (p,) = load(db, progress, workers=1)
    assert p.status == "accepted"
    assert len(fetch(db, "SELECT * FROM commitment_items")) == 3


def test_the_blank_template_is_read_back_as_a_commitments_workbook(tmp_path):
    kind = kinds.kind("commitments")
    data = kind.template("532500")
    path = tmp_path / kind.template_name("532500")
    path.write_bytes(data)
    assert kinds.kind_of(path).key == "commitments"
    checked = kind.check(path, None, None)
    # The blank template has headers and no rows: refused as empty, never as unknown columns.
    assert checked.errors and all("没有数据" in e or "截止日期" in e for e in checked.errors), checked.errors
