"""Guards for files from outside: size limit, zip-bomb checks of .xlsx containers, and safe file names.

A report file comes from an upload or a shared folder; it is checked here before any parser sees it:

- ``check_size``: at most ``$HOMETOWN_MAX_UPLOAD_MB`` (default 20) MB per file; the command checks the size on disk
  before reading a byte.
- ``check_zip``: an .xlsx is a zip. Its central directory is read first — nothing decompressed — and the file is
  refused when it declares too many entries, too much uncompressed data in total, or an entry compressed more than
  ``max_ratio``:1 (XML of a real report compresses 5–20:1; a bomb 1000:1). Then each entry's compressed bytes are
  inflated in 1 MB steps, output discarded, to prove it inflates to no more than it declares (a lying directory would
  otherwise reach the parser): memory stays at one step, work at most the declared total.
  The same pass can keep the end of chosen parts (``scan_zip``): the reader takes a worksheet's merged ranges from
  it, so they cost no second inflation.
- These checks follow the bytes, not the name: pipelines.read tells the format by the content, so an .xlsx named
  .xls (or .csv, or .et) is a zip and is checked as one. An XML file (Excel 2003 XML) with a DTD is refused unparsed
  (``xml_problem``: no entity can expand or reach outside); an OLE2 file's sector chains are followed with a bound.
- ``safe_name``: a browser-supplied name is a name, never a path: directories, drive letters, control characters
  and leading dots are dropped, so ``../../x.xlsx`` becomes ``x.xlsx`` and can only be written inside its folder.
"""

from __future__ import annotations

import io
import os
import re
import struct
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

MAX_MB_ENV = "HOMETOWN_MAX_UPLOAD_MB"
DEFAULT_MAX_MB = 20


@dataclass(frozen=True)
class ZipLimits:
    max_entries: int = 2000                    # a report workbook has a few dozen parts
    max_total_bytes: int = 256 * 1024 * 1024   # declared uncompressed size of all parts together
    max_ratio: float = 200.0                   # uncompressed : compressed, per part …
    ratio_floor_bytes: int = 1024 * 1024       # … counted only for parts above 1 MB (tiny parts compress oddly)


LIMITS = ZipLimits()
_STEP = 1024 * 1024
# A worksheet's merged-range block is kept up to this size (a real one is a few KB; 10,000 ranges are 300 KB).
MAX_TAIL_BYTES = 16 * 1024 * 1024


def max_bytes() -> int:
    try:
        mb = float(os.environ.get(MAX_MB_ENV) or DEFAULT_MAX_MB)
    except ValueError:
        mb = DEFAULT_MAX_MB
    return int(mb * 1024 * 1024)


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


def check_size(size: int, limit: int | None = None) -> str | None:
    """The Chinese reason a file of this size is refused, or None."""
    limit = max_bytes() if limit is None else limit
    if size > limit:
        return f"文件过大（{_mb(size)}），单个文件不能超过 {_mb(limit)}"
    return None


def _data_offset(data: bytes, info: zipfile.ZipInfo) -> int:
    """Where an entry's compressed bytes start: after its local header (30 bytes + name + extra)."""
    header = data[info.header_offset:info.header_offset + 30]
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile("bad local header")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    return info.header_offset + 30 + name_len + extra_len


@dataclass
class ZipScan:
    """The outcome of ``scan_zip``: the reason the container is refused (or None) and, for the parts asked for,
    their inflated bytes from the first ``keep_after`` marker on (a worksheet's ``<mergeCells>`` block, which comes
    after all of its cells): the reader gets the merged ranges out of the one inflation the check does anyway."""
    problem: str | None
    tails: dict[str, bytes] = field(default_factory=dict)


def check_zip(data: bytes, limits: ZipLimits = LIMITS) -> str | None:
    """The Chinese reason a zip container (xlsx) is refused, or None. Nothing is kept in memory beyond 1 MB."""
    return scan_zip(data, limits).problem


def scan_zip(data: bytes, limits: ZipLimits = LIMITS, keep_after: bytes | None = None,
             keep: Callable[[str], bool] | None = None, max_tail: int = MAX_TAIL_BYTES) -> ZipScan:
    """``check_zip``, also keeping each part ``keep(name)`` chooses from the first ``keep_after`` on (at most
    ``max_tail`` bytes of it): the verification pass inflates every part anyway, so this costs a search per step."""
    tails: dict[str, bytes] = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()  # the central directory only
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, NotImplementedError, EOFError) as exc:
        return ZipScan(f"不是有效的 Excel 文件（压缩结构损坏：{exc}）")
    if len(infos) > limits.max_entries:
        return ZipScan(f"文件结构异常（包含 {len(infos)} 个部件，超过 {limits.max_entries} 个），疑似恶意文件，已拒收")
    total = sum(i.file_size for i in infos)
    if total > limits.max_total_bytes:
        return ZipScan(f"文件解压后过大（声明 {_mb(total)}，上限 {_mb(limits.max_total_bytes)}），疑似压缩炸弹，"
                       "未解压即拒收")
    for i in infos:
        if i.file_size > limits.ratio_floor_bytes and i.file_size > limits.max_ratio * max(i.compress_size, 1):
            return ZipScan(f"文件中的部件「{i.filename[:80]}」压缩比异常（{i.file_size / max(i.compress_size, 1):.0f}:1，"
                           f"上限 {limits.max_ratio:.0f}:1），疑似压缩炸弹，未解压即拒收")
        if i.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            return ZipScan(f"文件中的部件「{i.filename[:80]}」使用了不支持的压缩方式，已拒收")
        if i.flag_bits & 0x1:
            return ZipScan("文件已加密或受密码保护，请去除密码后重新报送")
    # The declared sizes passed; now make sure they are true, without ever holding more than one step.
    for i in infos:
        try:
            start = _data_offset(data, i)
        except zipfile.BadZipFile:
            return ZipScan(f"不是有效的 Excel 文件（部件「{i.filename[:80]}」损坏）")
        raw = memoryview(data)[start:start + i.compress_size]
        tail = _Tail(keep_after, max_tail) if keep_after and keep is not None and keep(i.filename) else None
        if i.compress_type == zipfile.ZIP_STORED:
            produced = len(raw)
            if tail is not None:
                tail.feed(bytes(raw))
        else:
            inflater = zlib.decompressobj(-15)
            produced = 0
            try:
                # Input in 64 KB slices, output at most one step per call: memory stays small whatever the ratio.
                for offset in range(0, len(raw), 65536):
                    chunk = raw[offset:offset + 65536]
                    while chunk and produced <= i.file_size:
                        out = inflater.decompress(chunk, _STEP)
                        produced += len(out)
                        if tail is not None:
                            tail.feed(out)
                        chunk = inflater.unconsumed_tail
                    if produced > i.file_size or inflater.eof:
                        break
            except zlib.error:
                return ZipScan(f"不是有效的 Excel 文件（部件「{i.filename[:80]}」损坏）")
        if produced > i.file_size:
            return ZipScan(f"文件中的部件「{i.filename[:80]}」解压后大于其声明的大小，疑似压缩炸弹，已拒收")
        if tail is not None and tail.kept:
            tails[i.filename] = b"".join(tail.kept)
    return ZipScan(None, tails)


class _Tail:
    """The bytes of a stream from the first occurrence of a marker on, fed step by step, at most ``limit`` bytes."""

    def __init__(self, marker: bytes, limit: int):
        self.marker, self.limit = marker, limit
        self.kept: list[bytes] = []
        self.size = 0
        self._carry = b""  # the end of the previous step, so a marker split across two steps is found

    def feed(self, out: bytes) -> None:
        if not out or self.size >= self.limit:
            return
        if not self.kept:
            # The marker in this step, or split across the end of the last one (without copying the step).
            edge = self._carry + out[:len(self.marker) - 1]
            at = edge.find(self.marker)
            if at >= 0:
                out = edge[at:] + out[len(self.marker) - 1:]
            else:
                at = out.find(self.marker)
                if at < 0:
                    self._carry = (self._carry + out)[-(len(self.marker) - 1):] if len(out) < len(self.marker) \
                        else out[-(len(self.marker) - 1):]
                    return
                out = out[at:]
        out = out[:self.limit - self.size]
        self.kept.append(out)
        self.size += len(out)


def xml_problem(text: str) -> str | None:
    """The reason an XML document from outside is not parsed, or None: a DTD (entities that expand a few bytes into
    gigabytes, or that name files and URLs) has no place in a spreadsheet."""
    if re.search(r"<!(DOCTYPE|ENTITY)", text, re.IGNORECASE):
        return "文件包含 DTD/实体声明（XML 文档类型定义），出于安全原因不予解析，已拒收"
    return None


_UNSAFE = re.compile(r"[\x00-\x1f\x7f<>:\"|?*]")


def safe_name(name: str, max_chars: int = 120) -> str:
    """A file name with no path in it: the last component of ``name`` (either slash), cleaned; never empty."""
    text = unicodedata.normalize("NFC", str(name or ""))
    text = text.replace("\\", "/").split("/")[-1]
    text = _UNSAFE.sub("_", text).strip().lstrip(".").strip()
    if text in ("", ".", ".."):
        text = "report"
    if len(text) > max_chars:
        stem, dot, suffix = text.rpartition(".")
        text = (stem[:max_chars - len(suffix) - 1] + "." + suffix) if dot and len(suffix) <= 8 else text[:max_chars]
    return text


def inside(folder: Path, name: str) -> Path:
    """``folder / safe_name(name)``, checked to resolve inside ``folder`` (ValueError otherwise)."""
    folder = folder.resolve()
    target = (folder / safe_name(name)).resolve()
    if target.parent != folder:
        raise ValueError(f"文件名不安全：{name!r}")
    return target
