"""Report kinds by registration: what the pipeline knows about each kind of report workbook.

A kind declares how its workbook is recognised (its sheets), how one file is checked, how a checked file's rows are
loaded, its blank template, and the public views its rows reach (``ReportKind``). Ingest (pipelines.ingest and the
worker processes of pipelines.checks), the upload page and its template downloads work over ``kinds()``: they name
no kind. Today there is one, village progress (``pipelines/kinds/progress.py``).

Adding a kind is adding a room, without editing the core: a module or subpackage of ``pipelines/kinds/`` (e.g.
``pipelines/kinds/teams/`` for 驻村力量, TEAMS_SPEC.md) that defines ``KIND = ReportKind(...)``; its tables and
views go into the warehouse's schema (warehouse/store.py). The registry finds kinds by listing this package, as
datasette finds its plugins and renderers (a hook a plugin implements, a registry the core iterates): the core
imports no kind by name. A file is given to the kind whose sheets it has most of; with one kind, to that kind
without opening the file twice. A file no kind recognises goes to the first kind (``order``), whose checks say
in Chinese what is missing.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

import duckdb

from geo.text import normalise_text
from pipelines.report import CheckedReport


class LoadRefusal(Exception):
    """Raised by a kind's loader when a file proves wrong only against the warehouse (e.g. an attendance row for a
    person no roster of the prefecture holds): the file is refused with these reasons, nothing of it loaded."""

    def __init__(self, reasons: list[str]):
        super().__init__("; ".join(reasons))
        self.reasons = list(reasons)


@dataclass(frozen=True)
class ReportKind:
    key: str                                    # "progress"; stored on CheckedReport.kind
    label: str                                  # Chinese name, e.g. 村庄规划进度报表
    sheets: tuple[str, ...]                     # sheet names (and hints) its workbook is recognised by
    check: Callable[[Path, bytes | None, date | None], CheckedReport]   # (path, data, as_of_limit): one file
    load: Callable[[duckdb.DuckDBPyConnection, CheckedReport, int], None]  # a checked file's rows under report_id
    template: Callable[[str | None], bytes]     # the blank template, for a prefecture code or the whole province
    template_name: Callable[[str | None], str]  # its file name
    template_note: str                          # what the template holds, for the upload page
    views: tuple[str, ...]                      # the public views its rows reach (REPORT_SPEC §7)
    order: int = 100                            # position in lists (upload page); the first is the fallback
    # Refusals that need the warehouse (an item a later file refers to), run by the loader before the file is
    # stored: (open write connection, checked file) → reasons, each naming file / sheet / row / column / value.
    check_against: Callable[[duckdb.DuckDBPyConnection, CheckedReport], list[str]] | None = None


@lru_cache(maxsize=1)
def kinds() -> tuple[ReportKind, ...]:
    """Every registered kind, in ``order``: the ``KIND`` of each module and subpackage of pipelines/kinds/."""
    found = []
    for info in pkgutil.iter_modules(__path__, __name__ + "."):
        kind = getattr(importlib.import_module(info.name), "KIND", None)
        if isinstance(kind, ReportKind):
            found.append(kind)
    keys = [k.key for k in found]
    if len(set(keys)) != len(keys):
        raise RuntimeError(f"report kinds registered twice: {sorted(keys)}")
    if not found:
        raise RuntimeError("no report kind registered in pipelines/kinds/")
    return tuple(sorted(found, key=lambda k: (k.order, k.key)))


def kind(key: str) -> ReportKind:
    for k in kinds():
        if k.key == key:
            return k
    raise KeyError(f"unknown report kind: {key}")


def recognise(sheet_names: Sequence[str], registered: Sequence[ReportKind] | None = None) -> ReportKind:
    """The kind whose sheets a workbook with these sheet names has most of (the first kind when none match)."""
    registered = tuple(registered or kinds())
    names = [normalise_text(n) for n in sheet_names]

    def hits(k: ReportKind) -> int:
        hints = [normalise_text(h) for h in k.sheets]
        return sum(1 for n in names if any(h and h in n for h in hints))

    best = max(registered, key=hits)  # max keeps the first of equals: ties go to the earlier kind
    return best if hits(best) else registered[0]


def _sheet_names(path: Path, data: bytes | None) -> list[str]:
    """The workbook's sheet names, read from its directory only (a CSV is one sheet named after the file)."""
    if path.suffix.lower() == ".csv":
        return [path.stem]
    try:
        import fastexcel

        return list(fastexcel.read_excel(data if data is not None else path.read_bytes()).sheet_names)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # unreadable (calamine may even panic on a damaged file): the kind's checks say why
        return []


def kind_of(path: Path, data: bytes | None = None) -> ReportKind:
    registered = kinds()
    if len(registered) == 1:
        return registered[0]
    return recognise(_sheet_names(Path(path), data), registered)


def check(path: Path, data: bytes | None = None, as_of_limit: date | None = None) -> CheckedReport:
    """Check one file as the kind it is; the result says which kind (``CheckedReport.kind``)."""
    k = kind_of(Path(path), data)
    checked = k.check(Path(path), data, as_of_limit)
    checked.kind = k.key
    return checked
