"""Finding a sheet's kind and header in a grid: title rows above, one- or two-row headers, any column order.

The header is the row (or pair of rows, for a band such as 专项规划 merged over 产业/人才/…) that names the
most contract columns. Everything above it is title text, searched later for the prefecture and the date.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from geo.text import normalise_text

from pipelines.columns import SHEET_KINDS, Column, SheetKind, header_key, is_band, match_header
from pipelines.read import Sheet

HEADER_SEARCH_ROWS = 30
MIN_MATCHED = 3
# Header cells that are row counters, not data.
ORDINAL_HEADERS = {"序号", "编号", "no", "no.", "序"}
# Sub-columns under a band that hold the band's own total (编制组人数 over 合计 / 其中公职人员).
BAND_TOTAL_HEADERS = {"合计", "小计", "总计", "总数", "计", "人数", "合计人数"}


@dataclass
class MappedColumn:
    column: Column
    grid_col: str       # c0 … in the grid
    header: str         # the header as written (both rows joined for a band), for messages
    unit: str | None


@dataclass
class Layout:
    kind: SheetKind
    header_rows: list[int]                    # grid row indices, 0-based
    data_start: int                           # first grid row index below the header
    mapped: dict[str, MappedColumn]           # field → where it is
    unknown: list[tuple[str, str]] = field(default_factory=list)    # (grid col, header) kept raw
    duplicates: list[tuple[str, str, str]] = field(default_factory=list)  # (canonical, header a, header b)
    title_text: str = ""

    def missing_required(self) -> list[Column]:
        return [c for c in self.kind.columns if c.required and c.field not in self.mapped]


def _map_rows(kind: SheetKind, top: list[str], bottom: list[str] | None) -> tuple[dict, list, list]:
    mapped: dict[str, MappedColumn] = {}
    unknown: list[tuple[int, str]] = []
    duplicates: list[tuple[str, str, str]] = []
    current_top = ""
    for j, top_cell in enumerate(top):
        bottom_cell = bottom[j] if bottom is not None and j < len(bottom) else ""
        if top_cell:
            current_top = top_cell
        if bottom_cell and current_top and header_key(bottom_cell) in BAND_TOTAL_HEADERS:
            # 编制组人数 merged over 合计 / 其中公职人员: the 合计 sub-column is the band's own figure.
            col, unit = match_header(kind.key, current_top)
            written = f"{current_top}/{bottom_cell}"
        elif bottom_cell:
            col, unit = match_header(kind.key, bottom_cell, band=current_top or None)
            written = f"{current_top}/{bottom_cell}" if current_top and current_top != bottom_cell else bottom_cell
        elif top_cell:
            col, unit = match_header(kind.key, top_cell)
            written = top_cell
        else:
            continue
        if col is None:
            if header_key(written.split("/")[-1]).lower() not in ORDINAL_HEADERS and not is_band(written):
                unknown.append((j, written))
            continue
        if col.field in mapped:
            duplicates.append((col.canonical, mapped[col.field].header, written))
            continue
        mapped[col.field] = MappedColumn(col, f"c{j}", written, unit)
    return mapped, unknown, duplicates


def _is_sub_header(kind: SheetKind, top_mapped: dict, bottom: list[str]) -> bool:
    """A second header row has text, no numbers, and nothing under the key columns already named above."""
    if not any(bottom):
        return False
    for key_field in ("county", "village", "township", "prefecture"):
        m = top_mapped.get(key_field)
        if m is not None and bottom[int(m.grid_col[1:])]:
            return False
    return not any(_looks_numeric(v) for v in bottom if v)


def _looks_numeric(v: str) -> bool:
    try:
        float(normalise_text(v).replace(",", ""))
        return True
    except ValueError:
        return False


def _score(mapped: dict) -> int:
    return len(mapped)


def detect_layout(sheet: Sheet, kinds: tuple[SheetKind, ...] = SHEET_KINDS) -> Layout | None:
    """The best (kind, header) reading of a sheet, or None when it is none of the report's sheets.

    A sheet whose name names a kind (村庄进度, 需求清单 …) is read as that kind; otherwise the kind whose
    signature columns appear in the header wins.
    """
    head = sheet.head_rows(HEADER_SEARCH_ROWS)
    if not head:
        return None
    name_key = header_key(sheet.name)
    named = [k for k in kinds if any(h in name_key for h in k.name_hints)]
    candidates = named[:1] if named else list(kinds)
    best: Layout | None = None
    best_score = 0
    for kind in candidates:
        for r, row in enumerate(head):
            mapped, unknown, dups = _map_rows(kind, row, None)
            if _score(mapped) < 2:
                continue
            rows_used = [r]
            if r + 1 < len(head) and _is_sub_header(kind, mapped, head[r + 1]):
                mapped2, unknown2, dups2 = _map_rows(kind, row, head[r + 1])
                if _score(mapped2) > _score(mapped):
                    mapped, unknown, dups, rows_used = mapped2, unknown2, dups2, [r, r + 1]
            if not named and not any(f in mapped for f in kind.signature):
                continue
            score = _score(mapped)
            if score > best_score:
                title = " ".join(c for line in head[:r] for c in line if c)
                best_score = score
                best = Layout(
                    kind=kind,
                    header_rows=rows_used,
                    data_start=rows_used[-1] + 1,
                    mapped=mapped,
                    unknown=[(f"c{j}", h) for j, h in unknown],
                    duplicates=dups,
                    title_text=title,
                )
    if best is None or best_score < MIN_MATCHED:
        return None
    return best
