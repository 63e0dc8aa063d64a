"""The lowest part of the app store: where it is (``HOMETOWN_APP_DB``), which backend, and its connections.
appdb.migrate and appdb.store build on it.

- ``checkout(where)``: the connection of one transaction (appdb.store). PostgreSQL: from this process's pool
  (psycopg_pool, one per server URL and process): at most ``HOMETOWN_APP_DB_POOL`` connections (default
  ``DEFAULT_POOL_SIZE`` per worker process: several workers on several machines stay well under PostgreSQL's
  ``max_connections`` of 100), each checked on checkout (a connection the server dropped — a restart, a network cut —
  is replaced, not handed out), closed at process exit. Embedded SQLite: a connection opened and closed per
  transaction, as before (opening a file costs nothing worth pooling, and WAL needs no server).
- ``connection(where)``: a raw connection of its own, closed at the end (migrations: session advisory lock,
  autocommit; nothing a pooled connection should carry on to its next user).
"""

from __future__ import annotations

import atexit
import hashlib
import os
import re
import sqlite3
import time
import threading
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterator

ENV_VAR = "HOMETOWN_APP_DB"
DEFAULT_PATH = Path("data/app.sqlite3")
BUSY_TIMEOUT_S = 30.0
POSTGRES_PREFIXES = ("postgresql://", "postgres://")
POOL_ENV = "HOMETOWN_APP_DB_POOL"
DEFAULT_POOL_SIZE = 10
CONNECT_TIMEOUT_S = 10.0   # the longest a transaction waits for a connection (a server that is down: say so)


class AppStoreError(RuntimeError):
    """The app store cannot be reached or used (message in Chinese)."""


def location(where: str | Path | None = None) -> str:
    """The app store to use: ``where`` when given, else ``$HOMETOWN_APP_DB``, else the embedded default file."""
    return str(where or os.environ.get(ENV_VAR) or DEFAULT_PATH)


def is_postgres(where: str | Path | None = None) -> bool:
    return location(where).startswith(POSTGRES_PREFIXES)


def backend(where: str | Path | None = None) -> str:
    return "postgresql" if is_postgres(where) else "sqlite"


def describe(where: str | Path | None = None) -> str:
    """The location for messages and logs, without a password."""
    loc = location(where)
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", loc)


# SQLite keeps dates and timestamps as ISO text; these turn them back into Python values by declared column type.
sqlite3.register_adapter(date, lambda d: d.isoformat())
sqlite3.register_adapter(datetime, lambda d: d.isoformat(sep=" "))
sqlite3.register_converter("DATE", lambda b: date.fromisoformat(b.decode()))
sqlite3.register_converter("TIMESTAMP", lambda b: datetime.fromisoformat(b.decode()))


def _lock_key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_xact_lock from a name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def _connect_sqlite(path: str, timeout: float = BUSY_TIMEOUT_S) -> sqlite3.Connection:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=timeout, isolation_level=None, detect_types=sqlite3.PARSE_DECLTYPES,
                          check_same_thread=False)
    _wal(con, timeout)
    con.execute("PRAGMA foreign_keys=ON")
    return con


def _wal(con: sqlite3.Connection, timeout: float) -> None:
    """Put the file in WAL mode (readers never wait for a writer; it stays so once set). Switching needs the file
    to itself, and SQLite answers "database is locked" at once, without its busy handler, while another process
    opens the new file too (two workers' first requests): so retried here within the same timeout."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if con.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                con.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _connect_postgres(url: str, timeout: float = BUSY_TIMEOUT_S):
    import psycopg

    try:
        return psycopg.connect(url, connect_timeout=_connect_timeout(timeout))
    except psycopg.OperationalError as exc:
        raise AppStoreError(f"无法连接应用数据库（{describe(url)}）：{exc}") from exc


def _connect_timeout(timeout: float) -> int:
    return max(2, int(min(timeout, CONNECT_TIMEOUT_S)))


def pool_size() -> int:
    """The most PostgreSQL connections this process keeps (``$HOMETOWN_APP_DB_POOL``, default DEFAULT_POOL_SIZE)."""
    raw = os.environ.get(POOL_ENV, "").strip()
    if not raw:
        return DEFAULT_POOL_SIZE
    try:
        size = int(raw)
    except ValueError:
        size = 0
    if size < 1:
        raise AppStoreError(f"{POOL_ENV} 应为正整数（每个进程连接应用数据库的最多连接数），当前为「{raw}」")
    return size


_pools: dict[tuple[int, str], Any] = {}   # (process id, URL) → ConnectionPool: a forked child makes its own
_pools_lock = threading.Lock()


def _pool(url: str):
    key = (os.getpid(), url)
    pool = _pools.get(key)
    if pool is None:
        with _pools_lock:
            pool = _pools.get(key)
            if pool is None:
                from psycopg_pool import ConnectionPool

                pool = ConnectionPool(url, min_size=1, max_size=pool_size(), open=False, name="appdb",
                                      check=ConnectionPool.check_connection,
                                      kwargs={"connect_timeout": _connect_timeout(BUSY_TIMEOUT_S)})
                pool.open(wait=False)  # a server down at start: the first transaction says so, the app starts
                _pools[key] = pool
    return pool


def close_pools() -> None:
    """Close this process's pools (at exit; tests between servers). The next transaction opens a new one."""
    with _pools_lock:
        mine = [k for k in _pools if k[0] == os.getpid()]
        pools = [_pools.pop(k) for k in mine]
    for pool in pools:
        pool.close(timeout=5)


atexit.register(close_pools)


@contextmanager
def checkout(where: str | Path | None = None, timeout: float = BUSY_TIMEOUT_S) -> Iterator[tuple[Any, bool]]:
    """The connection of one transaction: (connection, is_postgres). PostgreSQL: taken from the process's pool and
    given back (rolled back first if the transaction did not end; dropped if broken); SQLite: opened and closed."""
    loc = location(where)
    if not loc.startswith(POSTGRES_PREFIXES):
        with connection(loc, timeout) as pair:
            yield pair
        return
    from psycopg_pool import PoolTimeout

    pool = _pool(loc)
    wait = _connect_timeout(timeout)
    try:
        con = pool.getconn(timeout=wait)
    except PoolTimeout as exc:
        raise AppStoreError(f"无法连接应用数据库（{describe(loc)}）：{wait} 秒内未取得连接") from exc
    try:
        yield con, True
    finally:
        pool.putconn(con)


@contextmanager
def connection(where: str | Path | None = None, timeout: float = BUSY_TIMEOUT_S) -> Iterator[tuple[Any, bool]]:
    """A raw connection (for migrations): (connection, is_postgres); closed at the end."""
    loc = location(where)
    postgres = loc.startswith(POSTGRES_PREFIXES)
    con = _connect_postgres(loc, timeout) if postgres else _connect_sqlite(loc, timeout)
    try:
        yield con, postgres
    finally:
        con.close()
