"""Reading report files into grids of text: .xlsx and .xls through calamine (fastexcel), .csv by encoding.

A grid is a polars frame of strings, one column per sheet column (``c0``, ``c1`` …) and one row per sheet
row from Excel row 1, so that row ``i`` of the grid is Excel row ``i + 1`` in every message. Everything
is read as text: types are decided later by the contract, never guessed by the reader.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import fastexcel
import polars as pl

from pipelines import safety

EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls"}
CSV_SUFFIXES = {".csv"}
REPORT_SUFFIXES = EXCEL_SUFFIXES | CSV_SUFFIXES

# Magic numbers: a zip container (xlsx), an OLE2 compound file (xls, and encrypted xlsx).
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class UnreadableFile(Exception):
    """The file is not a spreadsheet or CSV we can read; the message is Chinese and names the file."""


@dataclass
class Sheet:
    name: str
    visible: bool
    grid: pl.DataFrame  # all-string columns c0…cN; row i is Excel row i+1

    def head_rows(self, n: int) -> list[list[str]]:
        """The first n rows as lists of stripped strings ('' for empty), for header detection."""
        head = self.grid.head(n)
        return [["" if v is None else str(v).strip() for v in row] for row in head.iter_rows()]


def read_sheets(path: Path, data: bytes) -> list[Sheet]:
    """All sheets of a report file. Raises UnreadableFile with a Chinese reason."""
    name = path.name
    suffix = path.suffix.lower()
    if not data:
        raise UnreadableFile(f"{name}: 文件为空")
    if suffix in EXCEL_SUFFIXES:
        return _read_excel(name, suffix, data)
    if suffix in CSV_SUFFIXES:
        return [_read_csv(path, data)]
    raise UnreadableFile(f"{name}: 不是电子表格或CSV文件（扩展名 {path.suffix or '无'}），应为 .xlsx、.xls 或 .csv")


def _read_excel(name: str, suffix: str, data: bytes) -> list[Sheet]:
    if suffix in {".xlsx", ".xlsm"} and data.startswith(OLE_MAGIC):
        raise UnreadableFile(f"{name}: 文件已加密或受密码保护，请去除密码后重新报送")
    if suffix in {".xlsx", ".xlsm"} and not data.startswith(ZIP_MAGIC):
        raise UnreadableFile(f"{name}: 不是有效的 Excel 文件（内容与扩展名 {suffix} 不符）")
    if suffix == ".xls" and not data.startswith(OLE_MAGIC):
        raise UnreadableFile(f"{name}: 不是有效的 Excel 97-2003 (.xls) 文件")
    if data.startswith(ZIP_MAGIC):
        # Zip-bomb checks on the central directory before the parser inflates anything (pipelines/safety.py).
        problem = safety.check_zip(data)
        if problem:
            raise UnreadableFile(f"{name}: {problem}")
    try:
        reader = fastexcel.read_excel(data)
    except Exception as exc:  # calamine's errors are English and technical; keep them as detail
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UnreadableFile(f"{name}: 无法读取（文件损坏、加密或格式不符）：{detail}") from exc
    sheets = []
    for idx, sheet_name in enumerate(reader.sheet_names):
        try:
            # skip_rows=0 with no header row keeps leading empty rows, so grid rows are Excel rows.
            loaded = reader.load_sheet(idx, header_row=None, skip_rows=0, dtypes="string")
            frame = loaded.to_polars()
            visible = str(loaded.visible).lower() == "visible"
        except Exception as exc:
            # An empty sheet has no range at all; anything else is a damaged sheet.
            if "empty" in str(exc).lower() or "no data" in str(exc).lower():
                frame, visible = pl.DataFrame(), True
            else:
                detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise UnreadableFile(f"{name} / {sheet_name}: 无法读取该工作表：{detail}") from exc
        sheets.append(Sheet(sheet_name, visible, _renamed(frame)))
    if not sheets:
        raise UnreadableFile(f"{name}: 工作簿中没有工作表")
    return sheets


def _renamed(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.rename({c: f"c{i}" for i, c in enumerate(frame.columns)}) if frame.width else frame


def decode_csv(name: str, data: bytes) -> str:
    """UTF-8 (with or without BOM) first, then GB18030 (a superset of GBK), as offices save them."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnreadableFile(f"{name}: 无法识别文件编码，应为 UTF-8 或 GB18030/GBK")


def _read_csv(path: Path, data: bytes) -> Sheet:
    name = path.name
    if data.startswith(ZIP_MAGIC) or data.startswith(OLE_MAGIC) or b"\x00" in data[:4096]:
        raise UnreadableFile(f"{name}: 不是文本CSV文件（看起来是二进制文件）")
    text = decode_csv(name, data)
    rows = list(csv.reader(io.StringIO(text)))
    width = max((len(r) for r in rows), default=0)
    if width == 0:
        raise UnreadableFile(f"{name}: 文件为空")
    columns = [[(r[i] if i < len(r) and r[i] != "" else None) for r in rows] for i in range(width)]
    grid = pl.DataFrame({f"c{i}": col for i, col in enumerate(columns)}, schema={f"c{i}": pl.String for i in range(width)})
    return Sheet(path.stem, True, grid)
