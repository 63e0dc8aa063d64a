"""Reading report files into grids of text, whatever their name says: the format is told by the bytes.

Offices send what their systems export: an .xlsx saved as .xls, an "Excel" export that is an HTML table (or Excel's
single-file web page, MHT) or Excel 2003 XML (SpreadsheetML), WPS's .et, a CSV. ``read_workbook`` looks at the
content (``sniff``), reads what it can — .xlsx and .xls/.et through calamine (fastexcel), HTML tables with the
standard library's html.parser, SpreadsheetML with xml.etree (no DTD, pipelines.safety), delimited text as CSV — and
refuses the rest with a reason naming what the file
really is (``文件扩展名为 .xls，但内容是 PDF 文档``). The safety checks follow the content: a zip is checked as a zip
(pipelines.safety.scan_zip) whatever its name.

A grid is a polars frame of strings, one column per sheet column (``c0``, ``c1`` …) and one row per sheet row from
Excel row 1, so that row ``i`` of the grid is Excel row ``i + 1`` in every message. Everything is read as text: types
are decided later by the contract, never guessed by the reader.

Merged ranges are read with each sheet, once and cheaply: an .xlsx sheet's ``<mergeCell>`` list from the bytes the
zip check inflates anyway, an .xls sheet's MERGEDCELLS records from its BIFF stream (walked only when the stream
holds such a record id at all), HTML rowspan/colspan, SpreadsheetML MergeDown/MergeAcross. ``Sheet.filled_below``
gives a merged range's value to every row it covers (in the range's first column), for every report kind: the
county merged over its villages. A plain blank cell stays blank.
"""

from __future__ import annotations

import codecs
import csv
import email
import email.policy
import io
import posixpath
import re
import struct
import sys
import xml.etree.ElementTree as ET
import zipfile
from array import array
from collections import defaultdict
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import fastexcel
import numpy as np
import polars as pl

from pipelines import safety

EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".et"}
CSV_SUFFIXES = {".csv"}
REPORT_SUFFIXES = EXCEL_SUFFIXES | CSV_SUFFIXES

# Magic numbers: a zip container (xlsx), an OLE2 compound file (xls, WPS et, and encrypted xlsx).
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

# What a file really is (``sniff``). The first five are read; the rest are refused with their name.
XLSX, XLS, HTML, XML2003, TEXT = "xlsx", "xls", "html", "xml2003", "text"
XLSB, ODS = "xlsb", "ods"
ENCRYPTED = "encrypted"
CONTENT_NAMES = {
    XLSX: "Excel 工作簿（.xlsx）", XLS: "Excel 97-2003 工作簿（.xls）", HTML: "网页（HTML）表格",
    XML2003: "Excel 2003 XML 表格（SpreadsheetML）", TEXT: "文本（CSV）", XLSB: "Excel 二进制工作簿（.xlsb）",
    ODS: "OpenDocument 电子表格（.ods）", ENCRYPTED: "加密的 Excel 文件",
    "pdf": "PDF 文档", "png": "PNG 图片", "jpeg": "JPEG 图片", "gif": "GIF 图片", "bmp": "BMP 图片",
    "docx": "Word 文档（.docx）", "pptx": "PowerPoint 演示文稿（.pptx）", "doc": "Word 97-2003 文档（.doc）",
    "ppt": "PowerPoint 97-2003 演示文稿（.ppt）", "ole": "非 Excel 的 OLE 复合文档", "odt": "OpenDocument 文本文档",
    "zip": "ZIP 压缩包", "rar": "RAR 压缩包", "7z": "7z 压缩包", "gzip": "gzip 压缩文件", "rtf": "RTF 文档",
    "mht": "单个文件网页（MHT）", "xml": "XML 文件（不是 Excel 2003 XML 表格）", "binary": "无法识别的二进制文件",
}
MHT = "mht"
READABLE = {XLSX, XLS, HTML, XML2003, TEXT, XLSB, ODS, MHT}
# What each extension promises, to name a mismatch.
EXPECTED_CONTENT = {".xlsx": XLSX, ".xlsm": XLSX, ".xls": XLS, ".et": XLS, ".csv": TEXT}

_BINARY_MAGICS = ((b"%PDF", "pdf"), (b"\x89PNG", "png"), (b"\xff\xd8\xff", "jpeg"), (b"GIF8", "gif"),
                  (b"Rar!\x1a\x07", "rar"), (b"7z\xbc\xaf\x27\x1c", "7z"), (b"\x1f\x8b", "gzip"), (b"{\\rtf", "rtf"))
SPREADSHEETML_NS = "urn:schemas-microsoft-com:office:spreadsheet"


class UnreadableFile(Exception):
    """The file is not a spreadsheet or CSV we can read; the message is Chinese and names the file."""


@dataclass
class Sheet:
    name: str
    visible: bool
    grid: pl.DataFrame  # all-string columns c0…cN; row i is Excel row i+1
    # Merged ranges in grid coordinates, 0-based and inclusive: (first row, first column, last row, last column).
    merges: tuple[tuple[int, int, int, int], ...] = ()

    def head_rows(self, n: int) -> list[list[str]]:
        """The first n rows as lists of stripped strings ('' for empty), for header detection."""
        head = self.grid.head(n)
        return [["" if v is None else str(v).strip() for v in row] for row in head.iter_rows()]

    def row_spans(self, start: int) -> list[tuple[int, int, int]]:
        """(first row, last row, column) of each merged range that starts at grid row ``start`` or below and covers
        more than one row, clipped to the grid."""
        height, width = self.grid.height, self.grid.width
        return [(r1, min(r2, height - 1), c1) for r1, c1, r2, c2 in self.merges
                if r1 >= start and r2 > r1 and r1 < height and c1 < width]

    def filled_below(self, start: int) -> pl.DataFrame:
        """The grid with each merged range that starts at row ``start`` or below giving its value to every row it
        covers, in its first column (the county merged over its villages). Ranges in the title and header rows are
        left alone, and so is every cell no range covers. One gather per column that has such ranges."""
        by_column: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for r1, r2, c in self.row_spans(start):
            by_column[c].append((r1, r2))
        if not by_column:
            return self.grid
        filled = {}
        for c, spans in by_column.items():
            source = np.arange(self.grid.height)
            for r1, r2 in spans:
                source[r1 + 1:r2 + 1] = r1
            filled[f"c{c}"] = self.grid[f"c{c}"].gather(source)
        return self.grid.with_columns(**filled)


@dataclass
class Workbook:
    sheets: list[Sheet]
    content: str      # what the bytes are (XLSX, XLS, HTML …)
    suffix: str       # what the name says

    @property
    def misnamed(self) -> bool:
        return EXPECTED_CONTENT.get(self.suffix) not in (self.content, None)

    @property
    def what_it_is(self) -> str:
        """文件扩展名为 .xls，但内容是网页（HTML）表格 — said of a misnamed file."""
        return f"文件扩展名为 {self.suffix}，但内容是{_spaced(CONTENT_NAMES[self.content])}"

    @property
    def mismatch(self) -> str | None:
        """A note when the name says one format and the bytes another (the file was read as what it is)."""
        return f"{self.what_it_is}，已按实际格式读取" if self.misnamed else None


def _spaced(name: str) -> str:
    """' PDF 文档' after 内容是, '网页（HTML）表格' without: Chinese typesetting puts a space before Latin only."""
    return f" {name}" if name[:1].isascii() else name


def read_sheets(path: Path, data: bytes) -> list[Sheet]:
    """All sheets of a report file. Raises UnreadableFile with a Chinese reason."""
    return read_workbook(path, data).sheets


def read_workbook(path: Path, data: bytes) -> Workbook:
    """All sheets of a report file and what it really is. Raises UnreadableFile with a Chinese reason."""
    name = path.name
    suffix = path.suffix.lower()
    if not data:
        raise UnreadableFile(f"{name}: 文件为空")
    if suffix not in REPORT_SUFFIXES:
        raise UnreadableFile(f"{name}: 不是电子表格或CSV文件（扩展名 {path.suffix or '无'}），应为 .xlsx、.xls、.et 或 .csv")
    content = sniff(data)
    if content == ENCRYPTED:
        raise UnreadableFile(f"{name}: 文件已加密或受密码保护，请去除密码后重新报送")
    if content not in READABLE:
        what = "不是文本CSV文件" if suffix in CSV_SUFFIXES else "不是电子表格"
        raise UnreadableFile(f"{name}: 文件扩展名为 {suffix}，但内容是{_spaced(CONTENT_NAMES[content])}，{what}"
                             "（请报送 .xlsx、.xls 或 .csv 文件）")
    if content in (XLSX, XLS, XLSB, ODS):
        sheets = _read_excel(name, content, data, misnamed=EXPECTED_CONTENT[suffix] != content)
    elif content == HTML:
        sheets = [_read_html(path, _decode_markup(name, data))]
    elif content == XML2003:
        sheets = _read_spreadsheetml(name, _decode_markup(name, data))
    elif content == MHT:
        sheets = _read_mht(path, data)
    else:
        sheets = [_read_text(path, data)]
    return Workbook(sheets, content, suffix)


# ---------------------------------------------------------------------------------------------------- telling formats


def sniff(data: bytes) -> str:
    """What the bytes are: XLSX, XLS, HTML, XML2003, TEXT, or another key of CONTENT_NAMES."""
    if data[:4] in (ZIP_MAGIC, b"PK\x05\x06"):
        return _zip_kind(data)
    if data.startswith(OLE_MAGIC):
        return _ole_kind(data)
    for magic, kind in _BINARY_MAGICS:
        if data.startswith(magic):
            return kind
    head = _text_head(data)
    if head is None:
        return "binary"
    lowered = head.lstrip("\ufeff \t\r\n").lower()
    if re.match(r"[a-z-]+:", lowered) and "mime-version:" in lowered[:4096] and "multipart/" in lowered[:4096]:
        return MHT  # a MIME message (its headers first, MIME-Version among them) holding the page
    if lowered.startswith("<?xml") or lowered.startswith("<workbook"):
        if SPREADSHEETML_NS in lowered or "progid=\"excel.sheet\"" in lowered:
            return XML2003
        if "<html" not in lowered and "<table" not in lowered:
            return "xml"
    if lowered.startswith(("<!doctype html", "<html", "<table", "<meta", "<head", "<body", "<style", "<!--")) \
            or re.search(r"<table[\s>]", lowered) and re.search(r"<t[dh][\s>]", lowered):
        return HTML
    return TEXT


def _zip_kind(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = {n.lower() for n in zf.namelist()}  # the central directory only
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, NotImplementedError, EOFError):
        return XLSX  # a damaged workbook: scan_zip names the damage
    if any(n.endswith("workbook.xml") for n in names) or any(n.startswith("xl/worksheets/") for n in names):
        return XLSX
    if any(n.endswith("workbook.bin") for n in names):
        return XLSB
    if "mimetype" in names and "content.xml" in names:
        return ODS if b"opendocument.spreadsheet" in data[:200] else "odt"
    if any(n.startswith("word/") for n in names):
        return "docx"
    if any(n.startswith("ppt/") for n in names):
        return "pptx"
    return "zip"


def _ole_kind(data: bytes) -> str:
    try:
        names = {n.lower() for n in _Compound(data).names()}
    except (ValueError, struct.error, IndexError):
        # Not a well-formed compound file: the names may still be told from the raw bytes.
        names = {n.lower() for n in ("EncryptedPackage", "Workbook", "Book", "WordDocument")
                 if n.encode("utf-16-le") in data[:1 << 20]}
        if not names:
            return XLS  # calamine says what is wrong with it
    if "encryptedpackage" in names or "encryptioninfo" in names:
        return ENCRYPTED
    if "workbook" in names or "book" in names:
        return XLS
    if "worddocument" in names:
        return "doc"
    if "powerpoint document" in names:
        return "ppt"
    return "ole"


def _text_head(data: bytes) -> str | None:
    """The first 64 KB as text, or None for binary content."""
    head = data[:65536]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return head.decode("utf-16", errors="ignore")
    if b"\x00" in head[:4096]:
        return None
    for encoding in ("utf-8", "gb18030"):
        try:
            return head.decode(encoding)
        except UnicodeDecodeError as exc:
            if exc.start > len(head) - 4:  # a character cut at the 64 KB boundary
                return head[:exc.start].decode(encoding)
    return None


def decode_text(name: str, data: bytes) -> str:
    """UTF-16 with a BOM (Excel's "Unicode text"), UTF-8 (with or without BOM), then GB18030 (a superset of GBK)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnreadableFile(f"{name}: 无法识别文件编码，应为 UTF-8 或 GB18030/GBK")


decode_csv = decode_text  # the name other modules know


def _decode_markup(name: str, data: bytes) -> str:
    """HTML or XML text in the encoding it declares (charset=gb2312 → GB18030, its superset), else as plain text."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF8)):
        return decode_text(name, data)
    declared = re.search(rb"""(?:charset|encoding)\s*=\s*["']?([A-Za-z0-9_.:-]+)""", data[:4096], re.IGNORECASE)
    if declared:
        encoding = declared.group(1).decode("ascii").lower()
        encoding = "gb18030" if encoding.replace("-", "").replace("_", "") in {"gb2312", "gbk", "gb18030", "cp936",
                                                                               "xgbk", "euccn"} else encoding
        try:
            return data.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_text(name, data)


# ---------------------------------------------------------------------------------------------------- calamine


# calamine panics on some damaged files (a sector chain running past the end): pyo3 raises PanicException, a
# BaseException, which must refuse the file like any other error, not stop the whole load. Some damage aborts the
# process instead (a failed allocation): nothing to catch here, which is why files are read in checker processes
# (pipelines/checks.py).
_CALAMINE_ERRORS = BaseException


def _reraise_if_not_calamine(exc: BaseException) -> None:
    if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
        raise exc


def _detail(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _read_excel(name: str, content: str, data: bytes, misnamed: bool = False) -> list[Sheet]:
    merges_by_sheet: dict[str, list[tuple[int, int, int, int]]] = {}
    if content in (XLSX, XLSB, ODS):
        # Zip-bomb checks on the central directory before the parser inflates anything (pipelines/safety.py); the
        # same pass keeps each worksheet's merged-range block, which comes after its cells.
        scan = safety.scan_zip(data, keep_after=b"mergeCell", keep=_is_worksheet_part)
        if scan.problem:
            raise UnreadableFile(f"{name}: {scan.problem}")
        if scan.tails:
            merges_by_sheet = _xlsx_merges(data, scan.tails)
    elif content == XLS:
        merges_by_sheet = _xls_merges(data)
    try:
        reader = fastexcel.read_excel(data)
    except _CALAMINE_ERRORS as exc:  # calamine's errors are English and technical; keep them as detail
        _reraise_if_not_calamine(exc)
        what = f"内容是{_spaced(CONTENT_NAMES[content])}，但" if misnamed else ""
        raise UnreadableFile(f"{name}: {what}无法读取（文件损坏、加密或格式不符）：{_detail(exc)}") from exc
    sheets = []
    for idx, sheet_name in enumerate(reader.sheet_names):
        origin = 0
        try:
            # skip_rows=0 with no header row keeps leading empty rows, so grid rows are Excel rows.
            loaded = reader.load_sheet(idx, header_row=None, skip_rows=0, dtypes="string")
            frame = loaded.to_polars()
            visible = str(loaded.visible).lower() == "visible"
            if frame.width:
                # Leading empty columns are not kept: the first grid column is this Excel column (0 = A).
                origin = loaded.available_columns()[0].absolute_index
        except _CALAMINE_ERRORS as exc:
            _reraise_if_not_calamine(exc)
            # An empty sheet has no range at all; anything else is a damaged sheet.
            if "empty" in str(exc).lower() or "no data" in str(exc).lower():
                frame, visible = pl.DataFrame(), True
            else:
                raise UnreadableFile(f"{name} / {sheet_name}: 无法读取该工作表：{_detail(exc)}") from exc
        # A range whose first cell lies left of the grid starts in an empty column: it has no value to give.
        merges = tuple((r1, c1 - origin, r2, c2 - origin) for r1, c1, r2, c2 in merges_by_sheet.get(sheet_name, ())
                       if c1 >= origin)
        sheets.append(Sheet(sheet_name, visible, _renamed(frame), merges))
    if not sheets:
        raise UnreadableFile(f"{name}: 工作簿中没有工作表")
    return sheets


def _renamed(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.rename({c: f"c{i}" for i, c in enumerate(frame.columns)}) if frame.width else frame


def _is_worksheet_part(part: str) -> bool:
    lowered = part.lower()
    return "/worksheets/" in lowered and lowered.endswith(".xml")


_MERGE_REF = re.compile(rb"""<(?:[\w.-]+:)?mergeCell\s[^>]*?\bref\s*=\s*["']\$?([A-Za-z]{1,3})\$?(\d+)"""
                        rb"""(?::\$?([A-Za-z]{1,3})\$?(\d+))?["']""")


def _column_index(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n - 1


def _xlsx_merges(data: bytes, tails: dict[str, bytes]) -> dict[str, list[tuple[int, int, int, int]]]:
    """Each sheet's merged ranges (Excel coordinates, 0-based) from the worksheet parts' kept tails, by sheet name."""
    by_part = {}
    for part, tail in tails.items():
        ranges = []
        for a, r1, b, r2 in _MERGE_REF.findall(tail):
            c1, row1 = _column_index(a), int(r1) - 1
            c2, row2 = (_column_index(b), int(r2) - 1) if b else (c1, row1)
            ranges.append((min(row1, row2), min(c1, c2), max(row1, row2), max(c1, c2)))
        if ranges:
            by_part[part] = ranges
    if not by_part:
        return {}
    try:
        parts = _xlsx_sheet_parts(data)
    except Exception:  # noqa: BLE001 — any damage here only loses the ranges
        return {}  # calamine reads such a workbook or says why; without its part names no range can be placed
    return {sheet: by_part[part] for sheet, part in parts.items() if part in by_part}


def _xml_part(zf: zipfile.ZipFile, part: str) -> ET.Element:
    text = zf.read(part)
    if safety.xml_problem(text[:4096].decode("utf-8", errors="ignore")):
        raise ValueError("DTD")
    return ET.fromstring(text)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xlsx_sheet_parts(data: bytes) -> dict[str, str]:
    """Sheet name → its worksheet part (xl/worksheets/sheet1.xml), from the workbook part and its relationships."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = {n.lower(): n for n in zf.namelist()}
        workbook = "xl/workbook.xml"
        if "_rels/.rels" in names:
            for rel in _xml_part(zf, names["_rels/.rels"]):
                if rel.get("Type", "").endswith("/officeDocument"):
                    workbook = rel.get("Target", workbook).lstrip("/")
        folder, base = posixpath.split(workbook)
        rels = {rel.get("Id"): rel.get("Target", "")
                for rel in _xml_part(zf, names[posixpath.join(folder, "_rels", base + ".rels").lower()])}
        out = {}
        for el in _xml_part(zf, names[workbook.lower()]).iter():
            if _local(el.tag) != "sheet":
                continue
            rid = next((v for k, v in el.attrib.items() if _local(k) == "id"), None)
            target = rels.get(rid)
            if target and el.get("name") is not None:
                part = target.lstrip("/") if target.startswith("/") \
                    else posixpath.normpath(posixpath.join(folder, target))
                out[el.get("name")] = names.get(part.lower(), part)
        return out


# ---------------------------------------------------------------------------------------------------- OLE2 / BIFF


class _Compound:
    """An OLE2 compound file (MS-CFB) read far enough to list its streams and read one. Every chain is bounded by
    the number of sectors, so a damaged or hostile file ends in ValueError, never in a loop."""

    END = 0xFFFFFFFE

    def __init__(self, data: bytes):
        if len(data) < 512 or not data.startswith(OLE_MAGIC):
            raise ValueError("not a compound file")
        self.data = data
        shift, mini_shift = struct.unpack_from("<HH", data, 30)
        if shift not in (9, 12) or mini_shift != 6:
            raise ValueError("sector size")
        self.size = 1 << shift
        n_fat, first_dir = struct.unpack_from("<II", data, 44)
        self.cutoff, first_mini_fat, _, first_difat, n_difat = struct.unpack_from("<IIIII", data, 56)
        self.sectors = (len(data) - self.size) // self.size
        difat = list(struct.unpack_from("<109I", data, 76))
        per = self.size // 4 - 1
        sector, seen = first_difat, 0
        while sector < 0xFFFFFFFA and seen <= n_difat and seen <= self.sectors:
            values = struct.unpack_from(f"<{per + 1}I", data, self._offset(sector))
            difat += values[:per]
            sector, seen = values[per], seen + 1
        fat = array("I")
        for s in difat[:n_fat]:
            if s < 0xFFFFFFFA:
                fat.frombytes(data[self._offset(s):self._offset(s) + self.size])
        if sys.byteorder == "big":
            fat.byteswap()
        self.fat = fat
        directory = self._chain(first_dir, self.fat, self.size)
        self.entries: dict[str, tuple[int, int, int]] = {}
        root_start = None
        for at in range(0, len(directory) - 127, 128):
            name_len = struct.unpack_from("<H", directory, at + 64)[0]
            kind = directory[at + 66]
            start, size = struct.unpack_from("<IQ", directory, at + 116)
            if kind == 5:
                root_start, self.mini_size = start, size
            if kind in (1, 2) and 2 <= name_len <= 64:
                name = directory[at:at + name_len - 2].decode("utf-16-le", errors="replace")
                self.entries.setdefault(name.lower(), (kind, start, size if self.size == 4096 else size & 0xFFFFFFFF))
        self._root_start = root_start
        self._first_mini_fat = first_mini_fat

    def _offset(self, sector: int) -> int:
        if sector >= self.sectors:
            raise ValueError("sector out of range")
        return (sector + 1) * self.size

    def _chain(self, start: int, fat: array, size: int, source: bytes | None = None) -> bytes:
        """The sectors of a chain joined: regular sectors of the file, or (``source`` given) 64-byte sectors of the
        mini stream."""
        parts, sector, steps = [], start, 0
        while sector != self.END:
            if sector >= len(fat) or steps > len(fat):
                raise ValueError("broken chain")
            if source is None:
                at = self._offset(sector)
                parts.append(self.data[at:at + size])
            else:
                parts.append(source[sector * size:(sector + 1) * size])
            sector, steps = fat[sector], steps + 1
        return b"".join(parts)

    def names(self) -> list[str]:
        return list(self.entries)

    def stream(self, name: str) -> bytes:
        kind, start, size = self.entries[name.lower()]
        if size >= self.cutoff:
            return self._chain(start, self.fat, self.size)[:size]
        # A small stream lives in the mini stream (the root entry's chain), addressed by the mini FAT.
        mini_fat = array("I", self._chain(self._first_mini_fat, self.fat, self.size))
        if sys.byteorder == "big":
            mini_fat.byteswap()
        mini = self._chain(self._root_start, self.fat, self.size)
        return self._chain(start, mini_fat, 64, mini)[:size]


_BOF, _EOF, _BOUNDSHEET, _MERGEDCELLS = 0x0809, 0x000A, 0x0085, 0x00E5


def _xls_merges(data: bytes) -> dict[str, list[tuple[int, int, int, int]]]:
    """Each sheet's merged ranges (0-based, inclusive) from the BIFF8 MERGEDCELLS records, by sheet name.

    The workbook globals list each sheet's name and where its records start (BOUNDSHEET); a sheet's records are
    walked only when its bytes hold the record id at all, so a workbook without merged cells costs one search."""
    try:
        stream = _Compound(data).stream("Workbook")
    except (KeyError, ValueError, IndexError, struct.error):
        return {}  # a BIFF5 "Book" or a damaged file: calamine reads it (without merges) or says why
    try:
        return _biff_merges(stream)
    except struct.error:
        return {}


def _biff_merges(stream: bytes) -> dict[str, list[tuple[int, int, int, int]]]:
    n = len(stream)
    if n < 8 or struct.unpack_from("<HHH", stream, 0)[::2] != (_BOF, 0x0600):
        return {}  # not BIFF8: no MERGEDCELLS records before it
    sheets: list[tuple[str, int]] = []
    pos = 0
    while pos + 4 <= n:
        rid, length = struct.unpack_from("<HH", stream, pos)
        if rid == _BOUNDSHEET and length >= 8:
            offset, chars, flags = struct.unpack_from("<I", stream, pos + 4)[0], stream[pos + 10], stream[pos + 11]
            raw = stream[pos + 12:pos + 12 + chars * (2 if flags & 1 else 1)]
            sheets.append((raw.decode("utf-16-le" if flags & 1 else "latin-1", errors="replace"), offset))
        elif rid == _EOF:
            break
        pos += 4 + length
    out: dict[str, list[tuple[int, int, int, int]]] = {}
    starts = sorted(offset for _, offset in sheets) + [n]
    for name, offset in sheets:
        end = next(s for s in starts if s > offset)
        if stream.find(b"\xe5\x00", offset, end) < 0:
            continue
        ranges, pos, depth = [], offset, 0
        while pos + 4 <= n:
            rid, length = struct.unpack_from("<HH", stream, pos)
            if rid == _BOF:
                depth += 1
            elif rid == _EOF:
                depth -= 1
                if depth <= 0:
                    break
            elif rid == _MERGEDCELLS and depth == 1 and length >= 2:
                count = min(struct.unpack_from("<H", stream, pos + 4)[0], (length - 2) // 8)
                for k in range(count):
                    r1, r2, c1, c2 = struct.unpack_from("<HHHH", stream, pos + 6 + 8 * k)
                    ranges.append((min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)))
            pos += 4 + length
        if ranges:
            out[name] = ranges
    return out


# ---------------------------------------------------------------------------------------------------- grids


def _grid(rows: list[dict[int, str]] | list[list[str | None]]) -> pl.DataFrame:
    """An all-string grid from rows of cells (a list or a column → text mapping per row); '' is empty."""
    as_dicts = [r if isinstance(r, dict) else dict(enumerate(r)) for r in rows]
    width = max((max(r) + 1 for r in as_dicts if r), default=0)
    columns = {f"c{i}": [(r.get(i) or None) for r in as_dicts] for i in range(width)}
    return pl.DataFrame(columns, schema={f"c{i}": pl.String for i in range(width)})


def _read_text(path: Path, data: bytes) -> Sheet:
    """Delimited text: CSV, or tab-separated (what many systems export as .xls), in any of decode_text's encodings."""
    name = path.name
    text = decode_text(name, data)
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    delimiter = "\t" if sum(line.count("\t") for line in lines) > sum(line.count(",") for line in lines) else ","
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    if not any(any(cell.strip() for cell in row) for row in rows):
        raise UnreadableFile(f"{name}: 文件为空")
    return Sheet(path.stem, True, _grid(rows))


class _HtmlTables(HTMLParser):
    """Every cell of the page's tables as a browser (and Excel, opening the file) places it: rowspan and colspan
    occupy the positions they cover, and become merged ranges. Tables follow one another down one sheet; text
    outside them (a heading, a 填报单位 line) is a row of its own, as Excel shows it."""

    BLOCKS = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "caption", "br", "table", "li", "center"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[dict[int, str]] = []
        self.merges: list[tuple[int, int, int, int]] = []
        self.depth = 0                # table nesting; only the outermost tables' cells are cells
        self.occupied: set[tuple[int, int]] = set()
        self.row: int | None = None
        self.col = 0
        self.cell: list[str] | None = None
        self.span = (1, 1)
        self.loose: list[str] = []    # text outside any table
        self.skip = 0                 # inside <script>/<style>/<title>

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "title", "head"):
            self.skip += tag != "head"
            return
        if tag == "table":
            self._flush_loose()
            self.depth += 1
            return
        if self.depth == 0:
            if tag in self.BLOCKS:
                self._flush_loose()
            return
        if self.depth > 1:
            if tag == "br" and self.cell is not None:
                self.cell.append("\n")
            return
        if tag == "tr":
            self._close_cell()
            self.row, self.col = len(self.rows), 0
            self.rows.append({})
        elif tag in ("td", "th"):
            self._close_cell()
            if self.row is None:  # a cell before any <tr>
                self.row, self.col = len(self.rows), 0
                self.rows.append({})
            a = dict(attrs)
            self.span = (_span(a.get("rowspan"), 10000), _span(a.get("colspan"), 1000))
            self.cell = []
        elif tag == "br" and self.cell is not None:
            self.cell.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "title"):
            self.skip = max(0, self.skip - 1)
        elif tag == "table":
            if self.depth == 1:
                self._close_cell()
                self.row = None
                self.occupied.clear()
            self.depth = max(0, self.depth - 1)
        elif self.depth == 1 and tag in ("td", "th"):
            self._close_cell()
        elif self.depth == 1 and tag == "tr":
            self._close_cell()
        elif self.depth == 0 and tag in self.BLOCKS:
            self._flush_loose()

    def handle_data(self, data):
        if self.skip:
            return
        if self.cell is not None:
            self.cell.append(data)
        elif self.depth == 0:
            self.loose.append(data)

    def _close_cell(self):
        if self.cell is None or self.row is None:
            self.cell = None
            return
        while (self.row, self.col) in self.occupied:
            self.col += 1
        text = _clean("".join(self.cell))
        r, c = self.row, self.col
        if text:
            self.rows[r][c] = text
        rows, cols = self.span
        if rows > 1 or cols > 1:
            self.merges.append((r, c, r + rows - 1, c + cols - 1))
            self.occupied.update((rr, cc) for rr in range(r, r + rows) for cc in range(c, c + cols))
        self.col = c + cols
        self.cell = None

    def _flush_loose(self):
        text = _clean("".join(self.loose))
        self.loose = []
        if text:
            self.rows.append({0: text})

    def close(self):
        super().close()
        self._close_cell()
        self._flush_loose()


def _span(value: str | None, cap: int, least: int = 1) -> int:
    """A count from an attribute (rowspan, ss:Index, ss:MergeDown …), bounded, ``least`` when absent or not a number."""
    try:
        return max(least, min(int(str(value).strip()), cap))
    except (TypeError, ValueError):
        return least


def _clean(text: str) -> str:
    """A cell's text as Excel shows it: non-breaking spaces are spaces; runs of spaces are one; lines kept."""
    lines = [" ".join(line.replace("\xa0", " ").split()) for line in text.split("\n")]
    return "\n".join(line for line in lines if line).strip()


def _read_html(path: Path, text: str) -> Sheet:
    parser = _HtmlTables()
    parser.feed(text)
    parser.close()
    if not any(parser.rows):
        raise UnreadableFile(f"{path.name}: 文件内容是网页（HTML），但其中没有表格数据")
    # Excel's own HTML export names its sheet in an <x:Name> of its page settings; else the sheet is the file.
    named = re.search(r"<x:Name>(.*?)</x:Name>", text, re.IGNORECASE | re.DOTALL)
    sheet_name = _clean(unescape(named.group(1))) if named else ""
    return Sheet(sheet_name or path.stem, True, _grid(parser.rows), tuple(parser.merges))


def _read_mht(path: Path, data: bytes) -> list[Sheet]:
    """Excel's "单个文件网页" (MHT, MIME HTML): each HTML part that holds a table is a sheet, read as HTML."""
    message = email.message_from_bytes(data, policy=email.policy.compat32)
    sheets: list[Sheet] = []
    for part in message.walk():
        if part.get_content_type() != "text/html":
            continue
        payload = part.get_payload(decode=True) or b""
        charset = part.get_content_charset()
        try:
            text = payload.decode(charset) if charset else _decode_markup(path.name, payload)
        except (LookupError, UnicodeDecodeError):
            text = _decode_markup(path.name, payload)
        if "<table" not in text.lower():
            continue
        sheet = _read_html(path, text)
        if any(s.name == sheet.name for s in sheets):
            sheet.name = f"{sheet.name}（{len(sheets) + 1}）"
        sheets.append(sheet)
    if not sheets:
        raise UnreadableFile(f"{path.name}: 文件内容是单个文件网页（MHT），但其中没有表格数据")
    return sheets


def _read_spreadsheetml(name: str, text: str) -> list[Sheet]:
    """Excel 2003 XML: <Worksheet ss:Name> / <Table> / <Row ss:Index> / <Cell ss:Index ss:MergeAcross ss:MergeDown>
    / <Data ss:Type>. Parsed by xml.etree once any DTD is refused (pipelines.safety.xml_problem)."""
    problem = safety.xml_problem(text)
    if problem:
        raise UnreadableFile(f"{name}: {problem}")
    body = re.sub(r"^\ufeff?\s*<\?xml[^>]*\?>", "", text, count=1).encode("utf-8")
    ss = "{" + SPREADSHEETML_NS + "}"
    sheets: list[Sheet] = []
    rows: dict[int, dict[int, str]] = {}
    merges: list[tuple[int, int, int, int]] = []
    occupied: set[tuple[int, int]] = set()
    r, visible, sheet_name = -1, True, ""
    try:
        for event, el in ET.iterparse(io.BytesIO(body), events=("start", "end")):
            tag = _local(el.tag)
            if event == "start":
                if tag == "Worksheet":
                    rows, merges, occupied, r = {}, [], set(), -1
                    visible, sheet_name = True, el.get(ss + "Name") or f"Sheet{len(sheets) + 1}"
                continue
            if tag == "Row":
                r = _span(el.get(ss + "Index"), 1 << 20) - 1 if el.get(ss + "Index") else r + 1
                c = -1
                for cell in el:
                    if _local(cell.tag) != "Cell":
                        continue
                    if cell.get(ss + "Index"):
                        c = _span(cell.get(ss + "Index"), 1 << 14) - 1
                    else:
                        c += 1
                        while (r, c) in occupied:
                            c += 1
                    data = next((d for d in cell if _local(d.tag) == "Data"), None)
                    if data is not None:
                        value = _xml_value("".join(data.itertext()), data.get(ss + "Type"))
                        if value:
                            rows.setdefault(r, {})[c] = value
                    # MergeAcross / MergeDown count the cells covered beyond the first (0 = none).
                    across = _span(cell.get(ss + "MergeAcross"), 1 << 14, least=0)
                    down = _span(cell.get(ss + "MergeDown"), 1 << 20, least=0)
                    if across or down:
                        merges.append((r, c, r + down, c + across))
                        occupied.update((rr, cc) for rr in range(r, r + down + 1) for cc in range(c, c + across + 1))
                    c += across
                el.clear()
            elif tag == "Visible" and (el.text or "").strip() in ("SheetHidden", "SheetVeryHidden"):
                visible = False
            elif tag == "Worksheet":
                height = max(rows, default=-1) + 1
                grid = _grid([rows.get(i, {}) for i in range(height)])
                sheets.append(Sheet(sheet_name, visible, grid, tuple(merges)))
                el.clear()
    except ET.ParseError as exc:
        raise UnreadableFile(f"{name}: 文件内容是 Excel 2003 XML 表格，但已损坏，无法读取：{exc}") from exc
    if not sheets:
        raise UnreadableFile(f"{name}: 工作簿中没有工作表")
    return sheets


def _xml_value(text: str, kind: str | None) -> str:
    """A SpreadsheetML value as calamine would give it as text: 2021 not 2021.0, dates without midnight."""
    text = text.strip()
    if kind == "Number":
        try:
            number = float(text)
        except ValueError:
            return text
        return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)
    if kind == "DateTime":
        day, _, time = text.partition("T")
        return day if time.strip("0:.") == "" else f"{day} {time[:8]}"
    return text
