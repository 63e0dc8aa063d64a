"""The audit trail: who did what and when — sign-ins (ok, failed, locked), sign-outs, uploads and their results,
exports, supervision-order changes, user administration and refused out-of-scope requests. No Streamlit.

Where it lives, and why: the table ``audit_log`` of the app store (appdb: the embedded SQLite file by default,
PostgreSQL with ``HOMETOWN_APP_DB=postgresql://…``, shared by every app machine), not the warehouse. The warehouse
is the reports' data, written by a copy-and-swap on one writer and published read-only; an audit row written there
would wait for a load and be lost at the next swap. Each write is one short transaction.

Append-only: the module has no update or delete; each row carries ``chain`` = sha256(previous chain + the row), so
``verify_chain`` shows whether a row was changed or removed by hand. Appends from several processes and machines form
one chain: the append takes a lock on the chain's head in its transaction (PostgreSQL: an advisory transaction lock;
embedded: the file's write lock), reads the last chain and inserts — the next append waits for the commit. If the
store cannot be written (lock timeout, server down, disk trouble), the row goes to a local pending file (an O_APPEND
line, ``pending_path()``) and is moved into the table by this machine's next successful write: a row is never
dropped and the app never stops for its audit.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from appdb import store as appstore
from hometown.access.roles import ROLES

AUDIT_ENV = appstore.ENV_VAR  # the audit lives in the app store: one setting for all the app writes
PENDING_ENV = "HOMETOWN_AUDIT_PENDING"
DEFAULT_PENDING = Path("data/audit.pending.jsonl")
LOCK_TIMEOUT_S = 5.0
CHAIN_LOCK = "audit_log:head"

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

FIELDS = ("event_at", "username", "display_name", "role", "action", "target", "outcome", "detail", "client")
COLUMNS = {"event_id": pl.Int64, "event_at": pl.Datetime("us"), "username": pl.Utf8, "display_name": pl.Utf8,
           "role": pl.Utf8, "action": pl.Utf8, "target": pl.Utf8, "outcome": pl.Utf8, "detail": pl.Utf8,
           "client": pl.Utf8, "chain": pl.Utf8}


def pending_path(path: str | Path | None = None) -> Path:
    """This machine's file of rows not yet written to the store: beside an embedded store's file, else
    ``$HOMETOWN_AUDIT_PENDING`` (default data/audit.pending.jsonl) — local, for the store may be what is down."""
    if not appstore.is_postgres(path):
        loc = Path(appstore.location(path))
        return loc.with_name(loc.name + ".audit-pending.jsonl")
    return Path(os.environ.get(PENDING_ENV) or DEFAULT_PENDING)


def _chain(previous: str, row: dict) -> str:
    text = json.dumps([previous] + [str(row.get(f)) if row.get(f) is not None else None for f in FIELDS],
                      ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _insert(tx: appstore.Tx, row: dict) -> None:
    """Append one row after the chain's head (the caller holds CHAIN_LOCK in this transaction)."""
    last = tx.execute("SELECT chain FROM audit_log ORDER BY event_id DESC LIMIT 1")
    chain = _chain(last[0][0] if last else "", row)
    tx.execute(f"INSERT INTO audit_log ({', '.join(FIELDS)}, chain) VALUES ({', '.join('?' * len(FIELDS))}, ?)",
               [row.get(f) for f in FIELDS] + [chain])


def _pending_rows(pending: Path) -> list[dict]:
    rows = []
    for line in pending.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        row["event_at"] = datetime.fromisoformat(row["event_at"])
        rows.append(row)
    return rows


def _append(rows: list[dict], path: str | Path | None, timeout: float) -> None:
    """Append the pending rows of this machine, then ``rows``, in one transaction holding the chain's head."""
    pending = pending_path(path)
    with appstore.transaction(path, timeout=timeout) as tx:
        tx.lock(CHAIN_LOCK)
        earlier = _pending_rows(pending) if pending.exists() else []
        for row in earlier + rows:
            _insert(tx, row)
    if earlier:
        pending.unlink(missing_ok=True)


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
    try:
        _append([row], path, LOCK_TIMEOUT_S)
    except Exception as exc:  # the audit must never take the app down: keep the row for the next write
        try:
            line = json.dumps({**row, "event_at": row["event_at"].isoformat()}, ensure_ascii=False) + "\n"
            pending = pending_path(path)
            pending.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(pending, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
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
    if isinstance(until, date) and not isinstance(until, datetime):
        until = datetime(until.year, until.month, until.day, 23, 59, 59, 999999)
    if isinstance(since, date) and not isinstance(since, datetime):
        since = datetime(since.year, since.month, since.day)
    # Only the filters given become conditions; every value is a bound parameter, never spliced into the SQL.
    conditions, params = ["TRUE"], []
    for condition, value in (("event_at >= ?", since), ("event_at <= ?", until), ("username = ?", username),
                             ("action = ?", action), ("outcome = ?", outcome)):
        if value is not None:
            conditions.append(condition)
            params.append(value)
    if text and text.strip():
        searched = " || ' ' || ".join(f"COALESCE({c}, '')" for c in ("username", "display_name", "target", "detail"))
        conditions.append(f"LOWER({searched}) LIKE ? ESCAPE '\\'")
        escaped = text.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params.append(f"%{escaped}%")
    columns, rows = appstore.query(f"SELECT {', '.join(COLUMNS)} FROM audit_log WHERE {' AND '.join(conditions)} "
                                   "ORDER BY event_id DESC LIMIT ?", [*params, limit], path)
    return pl.DataFrame(rows, schema=COLUMNS, orient="row")


def usernames(path: str | Path | None = None) -> list[str]:
    _, rows = appstore.query("SELECT DISTINCT username FROM audit_log WHERE username IS NOT NULL ORDER BY 1", [], path)
    return [r[0] for r in rows]


def verify_chain(path: str | Path | None = None) -> list[int]:
    """The event_ids whose chain does not match (a row changed, or the row before it removed); [] when intact."""
    _, rows = appstore.query(f"SELECT event_id, {', '.join(FIELDS)}, chain FROM audit_log ORDER BY event_id", [], path)
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
