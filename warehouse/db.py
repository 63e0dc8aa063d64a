"""Read-only access to the warehouse for the query layer, one connection per warehouse version.

A load replaces the warehouse file atomically (warehouse.store.writing). The version of the file is its
inode and modification time: when it changes, the old connection is closed and a new one opened, so a page
sees a new load on its next run without a restart, and caches keyed by ``version()`` go stale by themselves.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Sequence

import duckdb
import polars as pl

from warehouse.settings import DB_ENV as ENV_VAR, DEFAULT_DB, db_path  # noqa: F401  (db.db_path is the readers' name)

_lock = threading.Lock()
_connections: dict[str, tuple[str, duckdb.DuckDBPyConnection]] = {}


class WarehouseMissing(Exception):
    pass


def version(path: str | Path | None = None) -> str:
    """Changes whenever a load publishes a new warehouse file."""
    p = db_path(path)
    try:
        st = p.stat()
    except FileNotFoundError as exc:
        raise WarehouseMissing(f"数据仓库不存在：{p}。请先导入报表（python -m pipelines ingest …）或运行 make run") from exc
    return f"{st.st_ino}-{st.st_mtime_ns}-{st.st_size}"


def _connection(path: str | Path | None = None) -> duckdb.DuckDBPyConnection:
    p = db_path(path)
    key = str(p.resolve())
    with _lock:
        current = version(p)
        cached = _connections.get(key)
        if cached and cached[0] == current:
            return cached[1]
        if cached:
            # DuckDB caches database instances by path: the old one must be closed before the path is opened
            # again, or the new connection would still read the replaced file. A query caught mid-way by the
            # close is retried by _run.
            cached[1].close()
        con = duckdb.connect(str(p), read_only=True)
        _connections[key] = (current, con)
        return con


def _run(fetch, sql: str, params, path, execute: bool = True):
    for attempt in range(3):
        try:
            cursor = _connection(path).cursor()
            try:
                return fetch(cursor.execute(sql, params or []) if execute else cursor)
            finally:
                cursor.close()
        except duckdb.ConnectionException:
            if attempt == 2:
                raise


def query(sql: str, params: Sequence[Any] | dict[str, Any] | None = None, path: str | Path | None = None) -> pl.DataFrame:
    """Run one parameterised query on its own cursor of the current warehouse version."""
    # DuckDB 2: a DB-API result (cursor.execute) has no .pl(); a relation fetches straight into polars via Arrow.
    return _run(lambda cursor: cursor.sql(sql, params=params or None).pl(), sql, params, path, execute=False)


def scalar(sql: str, params: Sequence[Any] | dict[str, Any] | None = None, path: str | Path | None = None) -> Any:
    def first(rel):
        rows = rel.fetchall()  # DuckDB 2 wants a result drained before the cursor is reused
        return rows[0][0] if rows else None

    return _run(first, sql, params, path)


def close_all() -> None:
    with _lock:
        for _, con in _connections.values():
            con.close()
        _connections.clear()
