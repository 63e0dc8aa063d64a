"""The lowest part of the app store: where it is (``HOMETOWN_APP_DB``), which backend, and raw connections.
appdb.migrate and appdb.store build on it.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterator

ENV_VAR = "HOMETOWN_APP_DB"
DEFAULT_PATH = Path("data/app.sqlite3")
BUSY_TIMEOUT_S = 30.0
POSTGRES_PREFIXES = ("postgresql://", "postgres://")


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
    con.execute("PRAGMA journal_mode=WAL")  # readers never wait for a writer
    con.execute("PRAGMA foreign_keys=ON")
    return con


def _connect_postgres(url: str, timeout: float = BUSY_TIMEOUT_S):
    import psycopg

    try:
        return psycopg.connect(url, connect_timeout=max(2, int(min(timeout, 10))))
    except psycopg.OperationalError as exc:
        raise AppStoreError(f"无法连接应用数据库（{describe(url)}）：{exc}") from exc


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
