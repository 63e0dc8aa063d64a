"""Report uploads from the upload page (/upload): who may upload what, the same pipeline as the command, the
result tables, the copy kept for the record, and the audit rows. No Streamlit.

A prefecture project group uploads its own prefecture's reports only: ``pipelines.ingest(expected_prefecture=…)``
refuses any other prefecture's file with the reason. The administrator uploads for any prefecture.

File names from the browser are names, never paths (pipelines.safety.safe_name): ``../../x.xlsx`` is ``x.xlsx``.
Accepted files (accepted, or a correction that superseded an earlier one) are kept for the record under
``data/uploads/<prefecture>/<YYYYmmdd-HHMMSS>_<name>`` (``$HOMETOWN_UPLOADS``), so the warehouse can be rebuilt from
the originals; refused files and duplicates are not kept (a duplicate's bytes are already there; a refused file may be
junk or hostile, and its reasons are in report_log and the audit log).

Where the bytes go with several app machines (issue 18): to the warehouse's writer, directly. The upload page checks
and loads the file in the request (the uploader gets the reasons at once), and only the writer may write the
warehouse; so the deployment routes /upload to the writer machine (README "Deployment"), which keeps the originals on
its own disk beside the warehouse it builds. The bytes are not parked in PostgreSQL for a writer to pick up later:
that would turn an immediate answer into a queue, put up to 20 MB a file through the app database and keep a second
copy to expire. What every machine does share is the record of each received file — who, when, name, sha256, size,
outcome, where it was kept — in the app store (``received_uploads``; ``received()`` reads it).

The screen folds each kind of problem after 20; ``reasons_frame`` / ``reasons_file`` give the whole list (every
reason, its sheet, Excel row and column) as the Excel or CSV file an office fixes its report from.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from appdb import store as appstore
from geo import reference
from hometown import export
from hometown.access import audit
from hometown.access.auth import ADMIN, PREFECTURE, UPLOAD, may
from pipelines import safety
from pipelines.ingest import ACCEPTED, REFUSED, STATUS_LABELS, SUPERSEDED, IngestResult, ingest
from pipelines.report import fold, split_message

UPLOADS_ENV = "HOMETOWN_UPLOADS"
DEFAULT_UPLOADS = Path("data/uploads")


def uploads_dir(path: str | Path | None = None) -> Path:
    return Path(path or os.environ.get(UPLOADS_ENV) or DEFAULT_UPLOADS)


@dataclass
class Upload:
    result: IngestResult
    original_name: str
    saved_to: Path | None = None


def expected_prefecture(user: dict | None) -> str | None:
    """The prefecture whose reports the user may upload; None = any (administrator, or the open app)."""
    if user is None or user.get("role") == ADMIN:
        return None
    if user.get("role") == PREFECTURE and user.get("prefecture_code"):
        return user["prefecture_code"]
    raise PermissionError("本账号无权上传报表（仅州市项目组和管理员可以上传）")


def _unique_names(names: list[str]) -> list[str]:
    """Safe names, made distinct within one batch (两个 同名.xlsx → 同名.xlsx, 同名(2).xlsx)."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        safe = safety.safe_name(name)
        n = seen.get(safe.lower(), 0) + 1
        seen[safe.lower()] = n
        if n > 1:
            stem, dot, suffix = safe.rpartition(".")
            safe = f"{stem}({n}).{suffix}" if dot else f"{safe}({n})"
        out.append(safe)
    return out


def _save(folder: Path, result: IngestResult, data: bytes, stamp: str) -> Path:
    """Keep an accepted file as ``<stamp>_<name>``, never over another one: two uploads of one name in the same
    second (two users on two worker processes, issue 17) are kept as ``…_name`` and ``…_name(2)``."""
    base = safety.inside(folder / (result.prefecture_code or "unknown"), f"{stamp}_{result.file_name}")
    base.parent.mkdir(parents=True, exist_ok=True)
    # Complete and durable before it gets its name; a name of its own (sessions of one process are threads).
    tmp = base.with_name(f".{base.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "xb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    try:
        for n in range(1, 1000):
            target = base if n == 1 else base.with_name(f"{base.stem}({n}){base.suffix}")
            try:
                os.link(tmp, target)  # fails when the name is taken: a kept file is never replaced
                return target
            except FileExistsError:
                continue
        raise FileExistsError(f"{base}: too many uploads of this name in one second")
    finally:
        tmp.unlink(missing_ok=True)


def handle(files: list[tuple[str, bytes]], db_path: str | Path, *, user: dict | None = None,
           client: str | None = None, keep: bool = True, folder: str | Path | None = None,
           now: datetime | None = None) -> list[Upload]:
    """Check and load uploaded files (name, bytes) through the pipeline; keep accepted ones; audit each file."""
    if user is not None and not may(user.get("role"), UPLOAD):
        audit.record("upload", user=user, outcome="refused", client=client, detail="无上传权限")
        raise PermissionError("本账号无权上传报表（仅州市项目组和管理员可以上传）")
    expected = expected_prefecture(user)
    names = _unique_names([n for n, _ in files])
    data_by_path = {Path(name): data for name, (_, data) in zip(names, files)}
    results = ingest(list(data_by_path), db_path, loaded_by=(user or {}).get("username") or "网页上传",
                     data_by_path=data_by_path, expected_prefecture=expected)
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    out = []
    for (original, data), result in zip(files, results):
        saved = None
        if keep and result.status in (ACCEPTED, SUPERSEDED) and result.prefecture_code:
            saved = _save(uploads_dir(folder), result, data, stamp)
        out.append(Upload(result, original, saved))
        reasons = result.errors or result.warnings
        detail = "；".join(p for p in (
            STATUS_LABELS[result.status],
            reference.prefecture_name(result.prefecture_code) if result.prefecture_code else "",
            f"截至{result.as_of.isoformat()}" if result.as_of else "",
            result.counted if result.status in (ACCEPTED, SUPERSEDED) else "",
            f"{len(result.errors)} 条拒收原因" if result.errors else "",
            f"原文件名 {original}" if original != result.file_name else "",
            ("首条：" + reasons[0]) if reasons else "") if p)
        audit.record("upload", user=user, target=result.file_name, client=client, detail=detail,
                     outcome="refused" if result.status == REFUSED else "ok")
    _record_received(out, files, user, now)
    return out


RECEIVED_COLUMNS = {"upload_id": pl.Int64, "received_at": pl.Datetime("us"), "username": pl.Utf8,
                    "file_name": pl.Utf8, "sha256": pl.Utf8, "size_bytes": pl.Int64, "status": pl.Utf8,
                    "kept_as": pl.Utf8}


def _record_received(done: list[Upload], files: list[tuple[str, bytes]], user: dict | None,
                     now: datetime | None) -> None:
    """One row per received file in the app store, in one transaction."""
    at = (now or datetime.now()).replace(microsecond=0)
    with appstore.transaction() as tx:
        for upload, (_, data) in zip(done, files):
            tx.execute("INSERT INTO received_uploads (received_at, username, file_name, sha256, size_bytes, status, "
                       "kept_as) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       [at, (user or {}).get("username"), upload.result.file_name, hashlib.sha256(data).hexdigest(),
                        len(data), upload.result.status, str(upload.saved_to) if upload.saved_to else None])


def received(limit: int = 1000) -> pl.DataFrame:
    """The files received by upload, newest first (from the app store: every machine's)."""
    columns, rows = appstore.query(f"SELECT {', '.join(RECEIVED_COLUMNS)} FROM received_uploads "
                                   "ORDER BY upload_id DESC LIMIT ?", [limit])
    return pl.DataFrame(rows, schema=RECEIVED_COLUMNS, orient="row")


def results_table(uploads: list[Upload]) -> pl.DataFrame:
    """One row per file: 文件, 结果, 州市, 截至日期, 任务村数, 拒收原因, 提示."""
    rows = [{
        "文件": u.result.file_name,
        "结果": STATUS_LABELS[u.result.status],
        "州市": reference.prefecture_name(u.result.prefecture_code) if u.result.prefecture_code else None,
        "截至日期": u.result.as_of.isoformat() if u.result.as_of else None,
        "任务村数": u.result.village_rows if u.result.status in (ACCEPTED, SUPERSEDED) else None,
        "拒收原因": len(u.result.errors),
        "提示": len(u.result.warnings),
    } for u in uploads]
    return pl.DataFrame(rows, schema={"文件": pl.Utf8, "结果": pl.Utf8, "州市": pl.Utf8, "截至日期": pl.Utf8,
                                      "任务村数": pl.Int64, "拒收原因": pl.Int64, "提示": pl.Int64})


def reasons_table(uploads: list[Upload], folded: bool = True) -> pl.DataFrame:
    """Every reason and note, one per row: 文件, 结果, 类别 (拒收原因 / 提示), 内容. ``folded`` (the screen): each kind
    of problem after 20 is one line saying how many more (pipelines.report.fold); the download has them all."""
    show = fold if folded else list
    rows = []
    for u in uploads:
        label = STATUS_LABELS[u.result.status]
        rows += [{"文件": u.result.file_name, "结果": label, "类别": "拒收原因", "内容": e} for e in show(u.result.errors)]
        rows += [{"文件": u.result.file_name, "结果": label, "类别": "提示", "内容": w} for w in show(u.result.warnings)]
    return pl.DataFrame(rows, schema={"文件": pl.Utf8, "结果": pl.Utf8, "类别": pl.Utf8, "内容": pl.Utf8})


REASON_COLUMNS = {"文件": export.TEXT, "结果": export.TEXT, "类别": export.TEXT, "工作表": export.TEXT,
                  "行": export.INT, "列": export.TEXT, "问题": export.TEXT}


def reasons_frame(files: list[tuple[str, str, list[str], list[str]]]) -> pl.DataFrame:
    """The whole list to fix a file from, one reason per row with its sheet, Excel row and column apart so that it
    sorts and filters: (file name, result label, reasons, notes) per file, every reason (report_log's, unfolded)."""
    rows = []
    for file_name, label, errors, warnings in files:
        for category, messages in (("拒收原因", errors), ("提示", warnings)):
            for text in messages:
                part = split_message(text)
                rows.append({"文件": part["file"] or file_name, "结果": label, "类别": category, "工作表": part["sheet"],
                             "行": part["row"], "列": part["column"], "问题": part["text"]})
    return pl.DataFrame(rows, schema={"文件": pl.Utf8, "结果": pl.Utf8, "类别": pl.Utf8, "工作表": pl.Utf8,
                                      "行": pl.Int64, "列": pl.Utf8, "问题": pl.Utf8})


def upload_reasons(uploads: list[Upload]) -> pl.DataFrame:
    """``reasons_frame`` of one upload batch: every file's reasons and notes, unfolded."""
    return reasons_frame([(u.result.file_name, STATUS_LABELS[u.result.status], u.result.errors, u.result.warnings)
                          for u in uploads])


def reasons_file(frame: pl.DataFrame, suffix: str, title: str = "报表检查结果：拒收原因与提示") -> bytes:
    """The list as an Excel workbook or a CSV with a BOM, through hometown.export (formula-like text neutralised)."""
    if suffix == "csv":
        return export.csv_bytes(frame)
    subtitle = f"共 {frame.height} 条；行号为 Excel 中的行号；导出时间：{datetime.now():%Y-%m-%d %H:%M}"
    return export.xlsx_bytes([export.Sheet("原因清单", frame, REASON_COLUMNS, title, subtitle)])


def reasons_file_name(suffix: str, stem: str | None = None, now: datetime | None = None) -> str:
    stem = Path(stem).stem if stem else f"报表检查_{(now or datetime.now()):%Y%m%d-%H%M%S}"
    return f"{stem}_原因清单.{suffix}"
