"""Loading checked reports into the warehouse (REPORT_SPEC §4–5): all of a file or none, and a log of every file.

Same bytes again → duplicate; another file for the same prefecture and date → a correction that supersedes the
earlier one (kept in history, marked superseded); any date → history, the latest date per prefecture is current.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Callable, Iterable, Iterator

import duckdb

from geo import reference
from pipelines import checks, kinds, safety
from pipelines.read import REPORT_SUFFIXES
from pipelines.report import CheckedReport
from warehouse.store import Load, loading

ACCEPTED, DUPLICATE, SUPERSEDED, REFUSED = "accepted", "duplicate", "superseded", "refused"
STATUS_LABELS = {ACCEPTED: "已接收", DUPLICATE: "重复文件", SUPERSEDED: "已接收（更正，替换先前版本）", REFUSED: "已拒收"}
# A report_log row's status in the record (/reports), in the same words. A correction's own row says accepted;
# "superseded" on a row means a later correction replaced it (not the outcome SUPERSEDED above), hence its own words.
LOG_STATUS_LABELS = {ACCEPTED: STATUS_LABELS[ACCEPTED], DUPLICATE: STATUS_LABELS[DUPLICATE], SUPERSEDED: "已被更正",
                     REFUSED: STATUS_LABELS[REFUSED]}


@dataclass
class IngestResult:
    file_name: str
    status: str
    prefecture_code: str | None = None
    as_of: date | None = None
    village_rows: int = 0
    errors: list[str] = field(default_factory=list)     # every reason, in sheet and row order (report_log keeps all)
    warnings: list[str] = field(default_factory=list)
    report_id: int | None = None
    replaced_report_id: int | None = None
    counted: str = ""   # what an accepted file brought, in its kind's words (CheckedReport.counted)

    @property
    def refused(self) -> bool:
        return self.status == REFUSED

    def line(self) -> str:
        """The one-line result the command prints (REPORT_SPEC §6)."""
        mark = {ACCEPTED: "✔", DUPLICATE: "=", SUPERSEDED: "↻", REFUSED: "✘"}[self.status]
        parts = [f"{mark} {STATUS_LABELS[self.status]}", self.file_name]
        if self.prefecture_code:
            parts.append(reference.prefecture_name(self.prefecture_code))
        if self.as_of:
            parts.append(f"截至{self.as_of.isoformat()}")
        if self.status in (ACCEPTED, SUPERSEDED):
            parts.append(self.counted)
        if self.status == REFUSED:
            parts.append(f"{len(self.errors)} 条原因")
        elif self.warnings:
            parts.append(f"{len(self.warnings)} 条提示")
        return "  ".join(parts)


def collect_files(paths: Iterable[Path | str]) -> list[Path]:
    """The report files named, and those inside named folders (sorted; Office lock files ~$… skipped)."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in REPORT_SUFFIXES
                            and not f.name.startswith(("~$", ".")))
        else:
            files.append(p)
    return files


def ingest(paths: Iterable[Path | str], db_path: Path | str, *, loaded_by: str | None = None,
           on_result: Callable[[IngestResult], None] | None = None, as_of_limit: date | None = None,
           data_by_path: dict[Path, bytes] | None = None,
           expected_prefecture: str | None = None, workers: int | None = None,
           in_process: bool = False) -> list[IngestResult]:
    """Check and load files; every file is logged; the new warehouse is published once, at the end.

    ``expected_prefecture`` (a prefecture user's upload): a report of any other prefecture is refused, with the
    reason, even when it would otherwise load. Files over the size limit (pipelines/safety.py) are refused unread.
    ``workers``: checker processes that check files side by side (default ``default_workers``); loading stays in
    this process and in file order, so the outcome is the same for any number of workers. Files are read and checked
    in those child processes (pipelines/checks.py), so a file that crashes its reader is refused as damaged and the
    rest of the batch loads; ``in_process=True`` checks in this process instead (no isolation; tests that patch the
    checking code), as does a machine where no child process can start.
    """
    files = collect_files(paths) if data_by_path is None else list(data_by_path)
    results: list[IngestResult] = []
    with loading(db_path) as load:
        if workers is None:  # uploads (bytes in hand, a few files): one checker
            workers = 1 if data_by_path is not None else default_workers(len(files))
        in_process = in_process or not checks.can_spawn()
        known: set[str] = set()  # files already loaded are duplicates, decided by the loader: no checker reads them
        if not in_process:
            known = load.known()
        offered = _offered(files, data_by_path)
        for item, checked in checks.checked_in_order(offered, known, as_of_limit, workers, in_process=in_process):
            if item.problem is not None:  # could not be taken, or its reader crashed
                result = _refused_unread(load, item, loaded_by)
            else:
                result = _load_one(load, item, checked, loaded_by, as_of_limit, expected_prefecture, in_process)
            results.append(result)
            if on_result:
                on_result(result)
    return results


def default_workers(n_files: int) -> int:
    """Processes for checking: $HOMETOWN_INGEST_WORKERS when set, else up to 2 (the reference machine's cores)
    for a batch large enough to repay starting them (a spawned checker costs about a second), else 1."""
    configured = os.environ.get("HOMETOWN_INGEST_WORKERS", "").strip()
    if configured.isdigit():
        return max(1, int(configured))
    if not checks.can_spawn():
        return 1
    return min(2, os.cpu_count() or 1) if n_files >= checks.MIN_FILES_FOR_WORKERS else 1


def _offered(files: list[Path], data_by_path: dict[Path, bytes] | None) -> Iterator[checks.Offered]:
    """Each file's bytes (read only when under the size limit) or the reason it cannot be taken."""
    for path in files:
        data, problem = None, None
        if data_by_path is not None:
            data = data_by_path[path]
            problem = safety.check_size(len(data))
        else:
            try:
                problem = safety.check_size(path.stat().st_size)  # before reading a byte of it
                if problem is None:
                    data = path.read_bytes()
            except OSError as exc:
                problem = f"无法打开文件：{exc.strerror or exc}"
        sha = hashlib.sha256(data).hexdigest() if data is not None else None
        yield checks.Offered(path, data if problem is None else None, sha, problem)


def _other_prefecture(file_name: str, found: str | None, expected: str | None) -> str | None:
    """The reason a report of another prefecture is refused to a prefecture user, or None."""
    if not expected or not found or found == expected:
        return None
    return (f"{file_name}: 该文件是{reference.prefecture_name(found)}的报表，本账号只能报送"
            f"{reference.prefecture_name(expected)}的报表")


def _refused_unread(load: Load, item: checks.Offered, loaded_by: str | None) -> IngestResult:
    result = IngestResult(item.path.name, REFUSED, errors=[f"{item.path.name}: {item.problem}"])
    _log(load, None, result, sha256=item.sha256 or "", loaded_by=loaded_by)
    return result


def _load_one(load: Load, item: checks.Offered, checked: CheckedReport | None,
              loaded_by: str | None, as_of_limit: date | None, expected_prefecture: str | None = None,
              in_process: bool = False) -> IngestResult:
    """One file into the open warehouse. ``checked`` is its check when a checker already ran it (None for a file
    already in the warehouse when the load began: a duplicate is decided here, never by a checker)."""
    path, data, sha = item.path, item.data, item.sha256
    earlier = load.loaded(sha)
    if earlier and _other_prefecture(path.name, earlier[1], expected_prefecture):
        earlier = None  # not this user's to call a duplicate: checked (and refused) below like any other file
    if earlier:
        result = IngestResult(path.name, DUPLICATE, earlier[1], earlier[2],
                              warnings=[f"{path.name}: 与已接收的文件内容完全相同（第{earlier[0]}号报送），未重复导入"])
        _log(load, None, result, sha, loaded_by, None)
        return result
    if checked is None and in_process:
        checked = kinds.check(path, data, as_of_limit)
    elif checked is None:  # its bytes were loaded once, but not for this user (another prefecture's): check it
        item, checked = checks.check_isolated(item, as_of_limit)
        if item.problem is not None:
            return _refused_unread(load, item, loaded_by)
    wrong_prefecture = _other_prefecture(path.name, checked.prefecture_code, expected_prefecture)
    if wrong_prefecture:
        checked.errors.insert(0, wrong_prefecture)
    con = load.con(checked.prefecture_code)  # the prefecture's partition (one warehouse file: the file)
    against = kinds.kind(checked.kind).check_against if checked.ok and checked.kind else None
    if against is not None:
        checked.errors += against(con, checked)
    if not checked.ok:
        result = IngestResult(path.name, REFUSED, checked.prefecture_code, checked.as_of, errors=checked.errors,
                              warnings=checked.warnings)
        _log(load, con, result, sha, loaded_by, checked.kind)
        return result
    con.execute("BEGIN TRANSACTION").fetchall()
    try:
        result = _store(load, con, checked, loaded_by)
        con.execute("COMMIT").fetchall()
        load.stored(checked.sha256, result.report_id, checked.prefecture_code, checked.as_of)
    except kinds.LoadRefusal as exc:  # wrong against the warehouse: refused like a failed check
        con.execute("ROLLBACK").fetchall()
        result = IngestResult(path.name, REFUSED, checked.prefecture_code, checked.as_of, errors=exc.reasons,
                              warnings=checked.warnings)
    except Exception as exc:
        con.execute("ROLLBACK").fetchall()
        result = IngestResult(path.name, REFUSED, checked.prefecture_code, checked.as_of,
                              errors=[f"{path.name}: 写入数据仓库失败，文件未导入：{exc}"])
        _log(load, con, result, sha, loaded_by, checked.kind)
    return result


def _store(load: Load, con: duckdb.DuckDBPyConnection, checked: CheckedReport, loaded_by: str | None) -> IngestResult:
    previous = con.execute(
        "SELECT report_id FROM reports WHERE status = 'accepted' AND prefecture_code = ? AND as_of = ? AND kind = ?",
        [checked.prefecture_code, checked.as_of, checked.kind]).fetchall()
    previous = previous[0] if previous else None
    status = SUPERSEDED if previous else ACCEPTED
    result = IngestResult(checked.file_name, status, checked.prefecture_code, checked.as_of, checked.village_rows,
                          warnings=checked.warnings, replaced_report_id=previous[0] if previous else None,
                          counted=checked.counted())
    report_id = _log(load, con, result, checked.sha256, loaded_by, checked.kind)
    result.report_id = report_id
    if previous:
        con.execute("UPDATE reports SET status = 'superseded', superseded_by = ? WHERE report_id = ?",
                    [report_id, previous[0]]).fetchall()
    kinds.kind(checked.kind).load(con, checked, report_id)  # the kind's own rows (pipelines/kinds/)
    return result


def _log(load: Load, con: duckdb.DuckDBPyConnection | None, result: IngestResult, sha256: str,
         loaded_by: str | None, kind: str | None = None) -> int:
    """One report_log row per file offered, with its report kind (None: refused before its kind was known), in the
    partition of its prefecture (``con``; None: the one ``load`` keeps for it). A correction's row says accepted; the
    one it replaced, superseded."""
    stored_status = ACCEPTED if result.status == SUPERSEDED else result.status
    con = con if con is not None else load.con(result.prefecture_code)
    return con.execute(
        "INSERT INTO reports (report_id, file_name, sha256, prefecture_code, as_of, loaded_at, status, village_rows, "
        "messages, warnings, loaded_by, kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "RETURNING report_id",
        [load.new_report_id(con), result.file_name, sha256, result.prefecture_code, result.as_of, datetime.now(),
         stored_status,
         result.village_rows, "\n".join(result.errors) or None, "\n".join(result.warnings) or None, loaded_by, kind],
    ).fetchall()[0][0]
