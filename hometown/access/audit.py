"""The audit trail: who did what and when — sign-ins (ok, failed, locked), sign-outs, uploads and their results,
exports, supervision-order changes, user administration and refused out-of-scope requests. No Streamlit.

Where it lives, and why: a small DuckDB file of its own (default ``data/audit.duckdb``, or ``$HOMETOWN_AUDIT``),
not the warehouse. The warehouse is written by copying it and swapping the copy in under an exclusive lock held for a
whole report load (warehouse/store.py): an audit row written there would wait for a load, cost a copy of the
whole warehouse, and a row written beside that protocol would be lost at the next swap. Here every write opens a
short-lived connection under a file lock (``<file>.lock``), inserts one row and closes — about 0.1 s — so the app
never holds the file and the command line can write too.

Append-only: the module has no update or delete; each row carries ``chain`` = sha256(previous chain + the row), so
``verify_chain`` shows whether a row was changed or removed by hand. If the audit file cannot be written (lock
timeout, disk trouble), the row goes to ``<file>.pending.jsonl`` (an O_APPEND line) and is moved into the table by
the next successful write: a row is never dropped and the app never stops for its audit.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterator

import duckdb
import polars as pl

from hometown.access.roles import ROLES
from warehouse.files import file_lock

AUDIT_ENV = "HOMETOWN_AUDIT"
DEFAULT_AUDIT = Path("data/audit.duckdb")
LOCK_TIMEOUT_S = 5.0

# The actions recorded, with the Chinese label the audit page shows.
ACTIONS = {
    "login": "登录成功",
    "login_failed": "登录失败",
    "login_locked": "登录锁定",
    "logout": "退出登录",
    "timeout": "超时退出",
    "upload": "上传报表",
    "export": "导出文件",
    "order": "督办单操作",
    "brief": "印发简报",
    "user_admin": "用户管理",
    "denied": "越权访问被拒",
}

SCHEMA = """
CREATE SEQUENCE IF NOT EXISTS audit_ids START 1;
CREATE TABLE IF NOT EXISTS audit_log (
    event_id BIGINT PRIMARY KEY DEFAULT nextval('audit_ids'),
    event_at TIMESTAMP NOT NULL,
    username VARCHAR,
    display_name VARCHAR,
    role VARCHAR,
    action VARCHAR NOT NULL,
    target VARCHAR,
    outcome VARCHAR,
    detail VARCHAR,
    client VARCHAR,
    chain VARCHAR NOT NULL
);
"""
FIELDS = ("event_at", "username", "display_name", "role", "action", "target", "outcome", "detail", "client")
COLUMNS = {"event_id": pl.Int64, "event_at": pl.Datetime("us"), "username": pl.Utf8, "display_name": pl.Utf8,
           "role": pl.Utf8, "action": pl.Utf8, "target": pl.Utf8, "outcome": pl.Utf8, "detail": pl.Utf8,
           "client": pl.Utf8, "chain": pl.Utf8}


def audit_path(path: str | Path | None = None) -> Path:
    return Path(path or os.environ.get(AUDIT_ENV) or DEFAULT_AUDIT)


def _pending_path(p: Path) -> Path:
    return p.with_name(p.name + ".pending.jsonl")


@contextmanager
def _locked(p: Path, timeout: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to the audit file, held only for the caller's few statements."""
    with file_lock(p, timeout=LOCK_TIMEOUT_S if timeout is None else timeout,
                   busy=lambda: TimeoutError(f"审计日志正忙：{p}")):
        con = duckdb.connect(str(p))
        try:
            con.execute(SCHEMA).fetchall()
            _drain_pending(con, p)
            yield con
        finally:
            con.close()


def _chain(previous: str, row: dict) -> str:
    text = json.dumps([previous] + [str(row.get(f)) if row.get(f) is not None else None for f in FIELDS],
                      ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _insert(con: duckdb.DuckDBPyConnection, row: dict) -> None:
    last = con.execute("SELECT chain FROM audit_log ORDER BY event_id DESC LIMIT 1").fetchall()
    chain = _chain(last[0][0] if last else "", row)
    con.execute(f"INSERT INTO audit_log ({', '.join(FIELDS)}, chain) VALUES ({', '.join('?' * len(FIELDS))}, ?)",
                [row.get(f) for f in FIELDS] + [chain]).fetchall()


def _drain_pending(con: duckdb.DuckDBPyConnection, p: Path) -> None:
    pending = _pending_path(p)
    if not pending.exists():
        return
    for line in pending.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        row["event_at"] = datetime.fromisoformat(row["event_at"])
        _insert(con, row)
    pending.unlink()


def _text(value: Any, limit: int = 4000) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if len(text) <= limit else text[:limit] + f"…（共 {len(text)} 字）"


def record(action: str, *, username: str | None = None, display_name: str | None = None, role: str | None = None,
           user: dict | None = None, target: str | None = None, outcome: str = "ok", detail: Any = None,
           client: str | None = None, at: datetime | None = None, path: str | Path | None = None) -> None:
    """Append one row. ``user`` (the session's user dict) fills username, display_name and role.

    Never raises: when the audit file cannot be written the row is kept in the pending file (see the module doc).
    """
    if user:
        username = username or user.get("username")
        display_name = display_name or user.get("display_name")
        role = role or user.get("role")
    at = at or datetime.now()
    row = {"event_at": at.replace(microsecond=at.microsecond // 1000 * 1000),
           "username": _text(username, 200), "display_name": _text(display_name, 200), "role": role,
           "action": action, "target": _text(target, 1000), "outcome": outcome, "detail": _text(detail),
           "client": _text(client, 200)}
    p = audit_path(path)
    try:
        with _locked(p) as con:
            _insert(con, row)
    except Exception as exc:  # the audit must never take the app down: keep the row for the next write
        try:
            line = json.dumps({**row, "event_at": row["event_at"].isoformat()}, ensure_ascii=False) + "\n"
            fd = os.open(_pending_path(p), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, line.encode("utf-8"))
            finally:
                os.close(fd)
        except OSError:
            print(f"audit: could not record {row!r}: {exc}", file=sys.stderr)


def events(path: str | Path | None = None, *, since: date | datetime | None = None,
           until: date | datetime | None = None, username: str | None = None, action: str | None = None,
           outcome: str | None = None, text: str | None = None, limit: int = 5000) -> pl.DataFrame:
    """Audit rows, newest first, filtered (all parameters bound, never spliced into the SQL)."""
    p = audit_path(path)
    if not p.exists() and not _pending_path(p).exists():
        return pl.DataFrame(schema=COLUMNS)
    if isinstance(until, date) and not isinstance(until, datetime):
        until = datetime(until.year, until.month, until.day, 23, 59, 59, 999999)
    if isinstance(since, date) and not isinstance(since, datetime):
        since = datetime(since.year, since.month, since.day)
    like = f"%{text.strip()}%" if text and text.strip() else None
    sql = """
        SELECT * FROM audit_log
        WHERE (CAST(? AS TIMESTAMP) IS NULL OR event_at >= CAST(? AS TIMESTAMP))
          AND (CAST(? AS TIMESTAMP) IS NULL OR event_at <= CAST(? AS TIMESTAMP))
          AND (CAST(? AS VARCHAR) IS NULL OR username = CAST(? AS VARCHAR))
          AND (CAST(? AS VARCHAR) IS NULL OR action = CAST(? AS VARCHAR))
          AND (CAST(? AS VARCHAR) IS NULL OR outcome = CAST(? AS VARCHAR))
          AND (CAST(? AS VARCHAR) IS NULL OR concat_ws(' ', username, display_name, target, detail) ILIKE CAST(? AS VARCHAR))
        ORDER BY event_id DESC LIMIT ?
    """
    params = [since, since, until, until, username, username, action, action, outcome, outcome, like, like, limit]
    with _locked(p) as con:
        frame = con.sql(sql, params=params).pl()
    if frame.height == 0:
        return pl.DataFrame(schema=COLUMNS)
    return frame.select([pl.col(c).cast(t) for c, t in COLUMNS.items()])


def usernames(path: str | Path | None = None) -> list[str]:
    p = audit_path(path)
    if not p.exists():
        return []
    with _locked(p) as con:
        return [r[0] for r in con.execute(
            "SELECT DISTINCT username FROM audit_log WHERE username IS NOT NULL ORDER BY 1").fetchall()]


def verify_chain(path: str | Path | None = None) -> list[int]:
    """The event_ids whose chain does not match (a row changed, or the row before it removed); [] when intact."""
    p = audit_path(path)
    if not p.exists():
        return []
    with _locked(p) as con:
        rows = con.execute(f"SELECT event_id, {', '.join(FIELDS)}, chain FROM audit_log ORDER BY event_id").fetchall()
    bad, previous = [], ""
    for r in rows:
        row = dict(zip(FIELDS, r[1:-1]))
        if _chain(previous, row) != r[-1]:
            bad.append(r[0])
        previous = r[-1]
    return bad


def table(frame: pl.DataFrame) -> pl.DataFrame:
    """The rows as the audit page shows and exports them (Chinese headers)."""
    return frame.select(
        pl.col("event_id").alias("序号"),
        pl.col("event_at").dt.strftime("%Y-%m-%d %H:%M:%S").alias("时间"),
        pl.col("username").alias("用户名"), pl.col("display_name").alias("姓名/单位"),
        pl.col("role").replace_strict(ROLES, default=pl.col("role"), return_dtype=pl.Utf8).alias("角色"),
        pl.col("action").replace_strict(ACTIONS, default=pl.col("action"), return_dtype=pl.Utf8).alias("操作"),
        pl.col("target").alias("对象"),
        pl.col("outcome").replace_strict({"ok": "成功", "failed": "失败", "refused": "拒绝"}, default=pl.col("outcome"),
                                         return_dtype=pl.Utf8).alias("结果"),
        pl.col("detail").alias("详情"), pl.col("client").alias("客户端"),
    )


def logged(fn, action: str = "export", *, user: dict | None = None, target: str | None = None,
           detail: Any = None, client: str | None = None):
    """Wrap a download's data callable so the file is recorded when it is actually produced (downloaded)."""
    def produce():
        data = fn()
        size = len(data) if isinstance(data, (bytes, str)) else None
        record(action, user=user, target=target, client=client,
               detail=detail if size is None else f"{detail or ''}{'；' if detail else ''}{size} 字节")
        return data

    return produce
