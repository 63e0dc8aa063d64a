"""Connections and transactions of the app store, on either backend (see the package doc).

One API for both: ``transaction(where)`` yields a ``Tx`` whose ``execute(sql, params)`` takes ``?`` placeholders
and returns the rows. Write transactions are serialised where they must be:

- embedded (SQLite, WAL): ``BEGIN IMMEDIATE`` takes the file's write lock at the start, so a read-check-write inside
  one transaction is never interleaved with another process's; ``FOR UPDATE`` is dropped (the whole file is locked).
- PostgreSQL (psycopg 3, READ COMMITTED): ``SELECT … FOR UPDATE`` locks the rows a change checks;
  ``Tx.lock(name)`` takes a transaction-scoped advisory lock (the audit chain's head, a document), released at
  commit or rollback.

Each transaction takes its connection from appdb.connect.checkout (PostgreSQL: the process's pool, checked on
checkout; SQLite: opened for it) and gives it back at its end: the app never holds the store between reruns. The
schema is brought up to date once per process and location (appdb.migrate) before the first use.
"""

from __future__ import annotations

import re
import threading
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, Sequence

from appdb import migrate

from appdb.connect import (  # noqa: F401  (the store's public names: appdb.store.location, …)
    BUSY_TIMEOUT_S, DEFAULT_PATH, ENV_VAR, POOL_ENV, POSTGRES_PREFIXES, AppStoreError, _lock_key, backend, checkout,
    close_pools, connection, describe, is_postgres, location)


class Tx:
    """One open transaction: ``execute`` with ``?`` placeholders, ``columns`` of the last result."""

    def __init__(self, con: Any, postgres: bool):
        self._con = con
        self.postgres = postgres
        self.columns: list[str] = []

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        if self.postgres:
            sql = sql.replace("%", "%%").replace("?", "%s")
        else:
            sql = re.sub(r"\s+FOR UPDATE\b", "", sql)
        cur = self._con.execute(sql, list(params))
        self.columns = [d[0] for d in cur.description] if cur.description else []
        return cur.fetchall() if cur.description else []

    def lock(self, name: str) -> None:
        """Serialise this transaction against every other taking the same name (PostgreSQL: an advisory lock held
        until commit; embedded: already serialised by BEGIN IMMEDIATE)."""
        if self.postgres:
            self._con.execute("SELECT pg_advisory_xact_lock(%s)", [_lock_key(name)]).fetchall()


_ready: set[str] = set()
_ready_lock = threading.Lock()


def ensure_schema(where: str | Path | None = None) -> None:
    """Apply pending migrations once per process and location (appdb.migrate)."""
    loc = location(where)
    if loc in _ready:
        return
    with _ready_lock:
        if loc not in _ready:
            migrate.apply(loc)
            _ready.add(loc)


@contextmanager
def transaction(where: str | Path | None = None, write: bool = True,
                timeout: float = BUSY_TIMEOUT_S) -> Iterator[Tx]:
    """One transaction on the app store: committed when the block ends, rolled back when it raises. ``timeout``:
    how long to wait for a lock (a row, an advisory lock, the embedded file's write lock) before giving up."""
    ensure_schema(where)
    with checkout(where, timeout) as (con, postgres):
        if postgres:
            with con.transaction():
                con.execute(f"SET LOCAL lock_timeout = {int(timeout * 1000)}")
                yield Tx(con, True)
        else:
            con.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield Tx(con, False)
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")


def query(sql: str, params: Sequence[Any] = (), where: str | Path | None = None) -> tuple[list[str], list[tuple]]:
    """Rows of one read: (column names, rows)."""
    with transaction(where, write=False) as tx:
        rows = tx.execute(sql, params)
        return tx.columns, rows


# ------------------------------------------------------------------------------------------ small documents


def read_document(name: str, where: str | Path | None = None) -> str | None:
    """The body of a named document (lock-out state, saved presets), or None."""
    _, rows = query("SELECT body FROM app_documents WHERE name = ?", [name], where)
    return rows[0][0] if rows else None


@contextmanager
def updating_document(name: str, where: str | Path | None = None) -> Iterator[list[str | None]]:
    """Read-modify-write of a named document under a row lock: yields ``[body or None]``; set ``[0]`` to the new body
    (None leaves it unchanged). Two machines updating the same document take turns."""
    with transaction(where) as tx:
        tx.lock(f"document:{name}")  # the row may not exist yet: FOR UPDATE alone would lock nothing
        rows = tx.execute("SELECT body FROM app_documents WHERE name = ? FOR UPDATE", [name])
        before = rows[0][0] if rows else None
        box: list[str | None] = [before]
        yield box
        if box[0] is not None and box[0] != before:
            if rows:
                tx.execute("UPDATE app_documents SET body = ?, updated_at = ? WHERE name = ?",
                           [box[0], datetime.now(), name])
            else:
                tx.execute("INSERT INTO app_documents (name, body, updated_at) VALUES (?, ?, ?)",
                           [name, box[0], datetime.now()])
