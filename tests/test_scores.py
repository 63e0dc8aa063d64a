"""Judges' scores (hometown.rankings.scores) and the masking of judges' names (hometown.privacy).

Workbooks are real files: written with xlsxwriter (as an office would fill the template), read back with
python-calamine by the production reader.
"""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
import python_calamine
import xlsxwriter

from hometown import privacy
from hometown.rankings import scores

JUDGES5 = ["张三", "李四", "王五", "赵六", "欧阳修"]


def workbook(rows: list[list], header=("编号", "参赛规划", "县市区", "评委", "得分"), sheet="评分表",
             title: str | None = None, extra_sheets: dict[str, list[list]] | None = None) -> bytes:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    for name, content in (extra_sheets or {}).items():
        ws = wb.add_worksheet(name)
        for r, row in enumerate(content):
            ws.write_row(r, 0, row)
    ws = wb.add_worksheet(sheet)
    r0 = 0
    if title:
        ws.write(0, 0, title)
        r0 = 1
    ws.write_row(r0, 0, list(header))
    for r, row in enumerate(rows, start=r0 + 1):
        for c, v in enumerate(row):
            if v is not None:
                ws.write(r, c, v)
    wb.close()
    return buf.getvalue()


def plan_rows(plan_scores: dict[str, list[float]], judges=JUDGES5) -> list[list]:
    rows = []
    for i, (plan, values) in enumerate(plan_scores.items(), start=1):
        for judge, score in zip(judges, values):
            rows.append([i, plan, "弥勒市", judge, score])
    return rows


def read(rows, **kw) -> scores.ScoreSheet:
    return scores.read_scores(workbook(rows, **kw), "评分.xlsx")


# ------------------------------------------------------------------------------------------------- the rule


def test_five_judges_drop_highest_and_lowest():
    final, dropped = scores.final_score([90, 80, 70, 60, 100])
    assert dropped and final == Decimal("80.00")
    # Only one of two equal highest scores is dropped.
    assert scores.final_score([90, 90, 80, 70, 60]) == (Decimal("80.00"), True)
    assert scores.final_score([80, 85, 85.5, 90, 95])[0] == Decimal("86.83")


def test_four_judges_keep_every_score():
    final, dropped = scores.final_score([90, 80, 70, 60])
    assert not dropped and final == Decimal("75.00")


def test_rounding_half_up():
    assert scores.final_score([80.01, 80.0])[0] == Decimal("80.01")       # 80.005 → 80.01, not banker's 80.00
    assert scores.final_score([1, 2, 2])[0] == Decimal("1.67")


def test_results_rank_with_ties_and_dropping():
    sheet = read(plan_rows({"甲": [90, 90, 90, 90, 10], "乙": [80, 80, 80, 80, 80], "丙": [80, 80, 80, 80, 80],
                            "丁": [70, 70, 70, 70, 70]}))
    res = scores.results(sheet, awards=1, laggards=1)
    assert res["plan"].to_list() == ["甲", "乙", "丙", "丁"]
    assert res["final"].to_list() == [90.0, 80.0, 80.0, 70.0]         # 甲 loses its 10 as the lowest score
    assert res["rank"].to_list() == [1, 2, 2, 4]
    assert res["dropped"].to_list() == [True] * 4
    assert res["outcome"].to_list() == ["获奖", "", "", "末位"]


def test_four_judges_in_the_workbook_are_not_dropped():
    sheet = read(plan_rows({"甲": [100, 50, 50, 50]}, judges=JUDGES5[:4]))
    res = scores.results(sheet)
    assert res["dropped"].to_list() == [False]
    assert res["final"].to_list() == [62.5]
    assert res["judges"].to_list() == [4]


def test_top_13_awarded_and_laggards_named():
    plans = {f"规划{i:02d}": [100 - i] * 5 for i in range(1, 21)}           # 20 plans, distinct scores
    res = scores.results(read(plan_rows(plans)))                          # defaults: 13 awarded, 3 laggards
    assert scores.DEFAULT_AWARDS == 13
    assert res.filter(res["outcome"] == "获奖")["plan"].to_list() == [f"规划{i:02d}" for i in range(1, 14)]
    assert res.filter(res["outcome"] == "末位")["plan"].to_list() == ["规划18", "规划19", "规划20"]
    res = scores.results(read(plan_rows(plans)), awards=5, laggards=0)
    assert (res["outcome"] == "获奖").sum() == 5 and (res["outcome"] == "末位").sum() == 0


def test_ties_at_the_boundaries_share_the_outcome():
    plans = {"甲": [95] * 5, "乙": [90] * 5, "丙": [90] * 5, "丁": [80] * 5, "戊": [70] * 5, "己": [70] * 5}
    res = scores.results(read(plan_rows(plans)), awards=2, laggards=1)
    outcome = dict(zip(res["plan"], res["outcome"]))
    assert outcome == {"甲": "获奖", "乙": "获奖", "丙": "获奖", "丁": "", "戊": "末位", "己": "末位"}
    # A plan is never both awarded and a laggard, whatever the counts.
    res = scores.results(read(plan_rows(plans)), awards=6, laggards=6)
    assert set(res["outcome"]) == {"获奖"}


def test_results_table_headers():
    sheet = read(plan_rows({"甲": [90] * 5}))
    table = scores.results_table(scores.results(sheet))
    assert table.columns == ["排名", "编号", "参赛规划", "县市区", "评委人数", "最高分", "最低分", "去掉最高最低分",
                             "最后得分", "评审结果"]
    assert table.row(0) == (1, "1", "甲", "弥勒市", 5, 90.0, 90.0, "是", 90.0, "获奖")


# ------------------------------------------------------------------------------------------------- reading


def test_template_downloads_and_reads_back():
    data = scores.template_xlsx()
    wb = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    assert wb.sheet_names == ["评分表", "填写说明"]
    header = wb.get_sheet_by_name("评分表").to_python()[0]
    assert header == ["编号", "参赛规划", "州市", "县市区", "乡镇", "行政村", "评委", "得分"]
    with pytest.raises(scores.ScoresError, match="没有评分数据"):
        scores.read_scores(data, "模板.xlsx")
    # Filled in as the template says, it reads.
    rows = [[1, "可邑村实用性村庄规划", "红河州", "弥勒市", "西三镇", "可邑村", j, 88] for j in JUDGES5]
    sheet = scores.read_scores(workbook(rows, header=header), "评分.xlsx")
    assert sheet.frame.height == 5 and sheet.judges == JUDGES5
    assert sheet.frame["village"].to_list() == ["可邑村"] * 5


def test_header_variants_title_rows_and_other_sheets():
    rows = [["一号", "乙", "李四", "９０"], ["一号", "乙", "王五", " 85.5 "]]
    data = workbook(rows, header=("参赛编号", "规划名称", "评委姓名", "得分（百分制）"), sheet="Sheet1",
                    title="大擂台大比武评分汇总", extra_sheets={"封面": [["评分表封面"]]})
    sheet = scores.read_scores(data, "评分.xlsx")
    assert sheet.sheet == "Sheet1"
    assert sheet.frame["score"].to_list() == [90.0, 85.5]                 # full-width digits, spaces
    assert sheet.frame["plan_key"].to_list() == ["一号", "一号"]


def test_csv_upload_utf8_bom_and_gbk():
    text = "参赛规划,评委,得分\r\n甲,张三,90\r\n甲,李四,80\r\n"
    for encoding in ("utf-8-sig", "gb18030"):
        sheet = scores.read_scores(text.encode(encoding), "评分.csv")
        assert sheet.frame["score"].to_list() == [90.0, 80.0]


def test_bad_input_names_file_sheet_row_column_value():
    rows = [
        [1, "甲", "弥勒市", "张三", 90],
        [1, "甲", "弥勒市", "李四", "九十"],       # row 3: not a number
        [1, "甲", "弥勒市", "王五", 120],          # row 4: out of range
        [1, "甲", "弥勒市", None, 80],             # row 5: no judge
        [1, "甲", "弥勒市", "张三", 70],           # row 6: the same judge twice
        [1, "乙", "弥勒市", "赵六", 70],           # row 7: id 1 is 甲
        [2, None, "弥勒市", "赵六", 70],           # row 8: no plan
    ]
    with pytest.raises(scores.ScoresError) as info:
        scores.read_scores(workbook(rows), "红河州评分.xlsx")
    errors = info.value.errors
    assert errors == [
        "红河州评分.xlsx / 评分表 / 第3行 / 得分: 九十 不是有效的分数（应为数字）",
        "红河州评分.xlsx / 评分表 / 第4行 / 得分: 120 超出范围（应在 0～100 之间）",
        "红河州评分.xlsx / 评分表 / 第5行 / 评委: （空） 不能为空",
        "红河州评分.xlsx / 评分表 / 第6行 / 评委: 张* 对同一参赛规划重复评分（与第2行重复）",
        "红河州评分.xlsx / 评分表 / 第7行 / 参赛规划: 乙 与第2行不一致：编号 1 对应的参赛规划是“甲”",
        "红河州评分.xlsx / 评分表 / 第8行 / 参赛规划: （空） 不能为空",
    ]
    # The analyst sees the judge's name in the reason.
    with pytest.raises(scores.ScoresError) as info:
        scores.read_scores(workbook(rows), "红河州评分.xlsx", role="analyst")
    assert "评委: 张三 对同一参赛规划重复评分" in str(info.value)


def test_missing_columns_and_unreadable_files():
    with pytest.raises(scores.ScoresError, match=r"评分.xlsx / 评分表 / 第1行表头: 缺少必填列：评委、得分"):
        scores.read_scores(workbook([["甲"]], header=("参赛规划", "备注")), "评分.xlsx")
    with pytest.raises(scores.ScoresError, match="不是有效的Excel文件"):
        scores.read_scores(b"this is not a workbook", "评分.xlsx")
    with pytest.raises(scores.ScoresError, match="不支持的文件类型"):
        scores.read_scores(b"%PDF-1.4", "评分.pdf")
    with pytest.raises(scores.ScoresError, match="文件是空的"):
        scores.read_scores(b"", "评分.xlsx")


def test_max_score_configurable():
    rows = [[1, "甲", "弥勒市", "张三", 9.5]]
    assert scores.read_scores(workbook(rows), "评分.xlsx", max_score=10).frame["score"].to_list() == [9.5]
    with pytest.raises(scores.ScoresError, match="应在 0～5 之间"):
        scores.read_scores(workbook(rows), "评分.xlsx", max_score=5)


def test_uneven_judge_counts_warn():
    rows = plan_rows({"甲": [90] * 5, "乙": [80] * 5})[:-1]              # 乙's fifth judge did not score
    sheet = read(rows)
    assert sheet.warnings and "只有4位评委评分" in sheet.warnings[0]


# ------------------------------------------------------------------------------------------------- names


@pytest.mark.parametrize("name, role, shown", [
    ("张三", None, "张*"),
    ("欧阳修", None, "欧**"),
    ("张", "leader", "张*"),
    ("张三", "county", "张*"),
    ("张三", "analyst", "张三"),
    ("张三", "admin", "张三"),
    ("", None, ""),
    (None, None, ""),
    (" 李四 ", "prefecture", "李*"),
])
def test_mask_name(name, role, shown):
    assert privacy.mask_name(name, role) == shown


def test_judge_names_on_screen_and_in_files():
    sheet = read(plan_rows({"甲": [90, 80, 70, 60, 50]}))
    screen = scores.detail_table(sheet, None)
    assert screen.columns == ["编号", "参赛规划", "评委1（张*）", "评委2（李*）", "评委3（王*）", "评委4（赵*）",
                              "评委5（欧**）"]
    assert scores.detail_table(sheet, None, for_export=True).columns[2:] == [f"评委{i}" for i in range(1, 6)]
    assert scores.detail_table(sheet, "analyst", for_export=True).columns[2:] == JUDGES5
    assert screen.row(0)[2:] == (90.0, 80.0, 70.0, 60.0, 50.0)


def _cells(data: bytes, sheet: str) -> list[list]:
    wb = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    return wb.get_sheet_by_name(sheet).to_python()


def test_results_workbook_leaves_names_out_unless_the_role_allows():
    sheet = read(plan_rows({"甲": [90, 80, 70, 60, 50], "乙": [60, 60, 60, 60, 60]}))
    res = scores.results(sheet, awards=1, laggards=1)
    for role, names_expected in ((None, False), ("leader", False), ("analyst", True), ("admin", True)):
        data = scores.results_xlsx(sheet, res, 1, 1, role)
        wb = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        assert wb.sheet_names == ["评审结果", "评分明细", "说明"]
        text = "".join(str(v) for name in wb.sheet_names for row in _cells(data, name) for v in row)
        assert all((name in text) == names_expected for name in JUDGES5)
        assert ("张*" in text) is False
    # The results sheet matches the page's table cell by cell (title row, subtitle row, header, data).
    data = scores.results_xlsx(sheet, res, 1, 1, None)
    cells = _cells(data, "评审结果")
    table = scores.results_table(res)
    assert cells[2] == table.columns
    for got, want in zip(cells[3:], table.iter_rows()):
        assert [("" if v is None else v) for v in want] == [
            int(g) if isinstance(w, int) else g for g, w in zip(got, want)]
