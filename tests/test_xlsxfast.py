"""demo.xlsxfast, the one minimal .xlsx writer of the demo's big sheets (a polars frame, every cell text) and of the
teams benchmark's workbooks (lists of rows, cells typed): read back with python-calamine as Excel would show them.
"""

from __future__ import annotations

import zipfile
from datetime import date

import polars as pl
import python_calamine

from demo import xlsxfast


def _read(path) -> dict[str, list[list]]:
    wb = python_calamine.CalamineWorkbook.from_path(str(path))
    return {name: wb.get_sheet_by_name(name).to_python(skip_empty_area=False) for name in wb.sheet_names}


def test_rows_are_written_typed_and_read_back_as_written(tmp_path):
    path = xlsxfast.write(tmp_path / "rows.xlsx", [
        ("驻村人员", [["红河州驻村力量月报"], ["姓名", "身份证号", "天数", "补助", "派驻日期", "备注"]],
         [["张三<&>", "532504198001020011", 20, 12.5, date(2022, 6, 1), None],
          ["李四", "532504198001020038", 0, 3, date(2023, 12, 31), ""]]),
        ("空表", [["标题"]], []),
    ])
    sheets = _read(path)
    assert list(sheets) == ["驻村人员", "空表"]
    rows = sheets["驻村人员"]
    assert rows[0][0] == "红河州驻村力量月报" and rows[1] == ["姓名", "身份证号", "天数", "补助", "派驻日期", "备注"]
    assert rows[2] == ["张三<&>", "532504198001020011", 20, 12.5, date(2022, 6, 1), ""]
    assert rows[3] == ["李四", "532504198001020038", 0, 3, date(2023, 12, 31), ""]
    assert sheets["空表"] == [["标题"]]
    with zipfile.ZipFile(path) as z:
        assert "xl/styles.xml" in z.namelist()          # the date format, as dates were written


def test_a_frame_is_written_as_text_and_reads_as_the_same_rows_given_as_text(tmp_path):
    frame = pl.DataFrame({"名称": ["甲<村>", None, "丙&乙"], "数": [1, 2, None], "空": ["", "x", "y"]})
    top = [["标题"], ["名称", "数", "空"]]
    as_frame = xlsxfast.write(tmp_path / "frame.xlsx", [("表", top, frame)])
    as_rows = xlsxfast.write(tmp_path / "rows.xlsx", [
        ("表", top, [[None if v is None else str(v) for v in row] for row in frame.rows()])])
    assert _read(as_frame) == _read(as_rows)
    assert _read(as_frame)["表"][2:] == [["甲<村>", "1", ""], ["", "2", "x"], ["丙&乙", "", "y"]]
    with zipfile.ZipFile(as_frame) as z:
        assert "xl/styles.xml" not in z.namelist()      # text only: no styles part
