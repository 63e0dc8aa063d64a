"""Read-only access to the warehouse for the query layer, one connection per warehouse version.

A load replaces the warehouse file atomically (warehouse.store.writing). The version of the file is its
inode and modification time: when it changes, the old connection is closed and a new one opened, so a page
sees a new load on its next run without a restart, and caches keyed by ``version()`` go stale by themselves.
A partitioned warehouse (a folder, warehouse.partitions) is versioned by its manifest; its connection is an
in-memory database built once per version (store.open_partitioned), and a thread of the process opens each new
version as soon as it is published (``_watch``), so no page run waits for it. A query still running on a replaced
version finishes there; a process never reads a mix of versions (one connection per query, one manifest each).

A file that is missing raises WarehouseMissing; one DuckDB cannot read (zero bytes, truncated, corrupt blocks, not
this app's warehouse) raises WarehouseDamaged, whose Chinese message names the file but never its server path, and
the version is remembered as damaged so the pages say so before drawing anything (``check``). A new file (a load, a
restore) is a new version and is tried afresh.

A warehouse written by an older version of the platform lacks the schema parts added since (warehouse/parts/: the
驻村力量 and 任期承诺 tables and views); a reader cannot add them (it opens the file read-only, and the next load
will). ``part_state`` tells whether a part is there (ABSENT, OUTDATED: written by a version whose part had fewer
views, CURRENT), and ``query_part`` reads an ABSENT part as one holding no report of that kind yet (the part's query
runs on an empty warehouse of the current schema, so it returns the columns it always does and no rows) and supplies
an OUTDATED part's missing views as temporary views of the reading connection.
"""

from __future__ import annotations

import os
import re
import threading
import time
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import duckdb
import polars as pl

from warehouse import partitions, settings, store
from warehouse.settings import DB_ENV as ENV_VAR, DEFAULT_DB, db_path  # noqa: F401  (db.db_path is the readers' name)

_lock = threading.Lock()
_connections: dict[str, tuple[str, duckdb.DuckDBPyConnection]] = {}
_retired: list[duckdb.DuckDBPyConnection] = []  # a replaced folder version's connection, a query still running on it
_watched: set[str] = set()  # partitioned folders whose new versions a thread of this process opens as they come
WATCH_ENV, DEFAULT_WATCH_S = "HOMETOWN_WAREHOUSE_WATCH_S", 1.0


class WarehouseMissing(Exception):
    """No warehouse to read; the message is Chinese and fit to show (no server path)."""


class WarehouseDamaged(WarehouseMissing):
    """The warehouse file exists but DuckDB cannot read it."""


# What DuckDB raises for a file it cannot read (as opposed to a wrong query, which stays a bug to see).
DAMAGE = (duckdb.IOException, duckdb.SerializationException, duckdb.InternalException, duckdb.FatalException)
_damaged: set[str] = set()  # versions found unreadable in this process


def _damaged_error(p: Path) -> WarehouseDamaged:
    return WarehouseDamaged(f"数据仓库文件 {p.name} 已损坏，无法读取（可能被截断或不是本平台的数据仓库）。"
                            "请管理员从备份恢复，或重新导入报表（python -m pipelines ingest …）。")


def version(path: str | Path | None = None) -> str:
    """Changes whenever a load publishes a new warehouse file."""
    p = db_path(path)
    if settings.is_folder(p):  # a partitioned warehouse: its manifest is replaced at every publish
        p = partitions.manifest_path(p)
    try:
        st = p.stat()
    except FileNotFoundError as exc:
        raise WarehouseMissing(f"数据仓库 {p.name} 不存在。请先导入报表（python -m pipelines ingest …）或运行 make run") from exc
    return f"{st.st_ino}-{st.st_mtime_ns}-{st.st_size}"


def check(path: str | Path | None = None) -> str:
    """The warehouse's version once it is known to open and to be this app's warehouse; WarehouseMissing or
    WarehouseDamaged otherwise. Cheap after the first call per version (the connection is kept)."""
    p = db_path(path)
    current = version(p)
    if current in _damaged:
        raise _damaged_error(p)
    try:
        scalar("SELECT value FROM meta WHERE key = 'schema_version'", path=p)
    except duckdb.CatalogException:
        _damaged.add(current)
        raise _damaged_error(p) from None
    return current


def _connection(path: str | Path | None = None) -> duckdb.DuckDBPyConnection:
    p = db_path(path)
    key = str(p.resolve())
    with _lock:
        if _retired:
            _close_retired()
        current = version(p)
        cached = _connections.get(key)
        if cached and cached[0] == current:
            return cached[1]
        if cached:
            del _connections[key]
            _retire(cached[1], settings.is_folder(p))
        if current in _damaged:
            raise _damaged_error(p)
        try:
            if settings.is_folder(p):
                con = store.open_partitioned(p, partitions.read_manifest(p))
            else:
                con = duckdb.connect(str(p), read_only=True)
        except (*DAMAGE, ValueError):
            _damaged.add(current)
            raise _damaged_error(p) from None
        _connections[key] = (current, con)
        if settings.is_folder(p) and key not in _watched and watch_seconds() > 0:
            _watched.add(key)
            threading.Thread(target=_watch, args=(key, p), name="warehouse-watch", daemon=True).start()
        return con


def watch_seconds() -> float:
    """How often a process checks a partitioned folder's manifest for a new version (``$HOMETOWN_WAREHOUSE_WATCH_S``,
    default 1; 0: never, the first query after a publish opens it)."""
    try:
        return max(0.0, float(os.environ.get(WATCH_ENV, DEFAULT_WATCH_S)))
    except ValueError:
        return DEFAULT_WATCH_S


def _watch(key: str, p: Path) -> None:
    """Open each new version of a partitioned folder as soon as it is published, off the request path: opening a
    version (attach 17 files, copy the small tables, install the views) takes a good part of a second, several under
    load, and the page run that first saw the new manifest used to pay it. A query arriving while the watcher opens
    waits for that open (it needs the new version too) instead of starting its own. Stops when the process closes
    the folder's connection, or the folder is gone or damaged (the next query says so, and watches again)."""
    try:
        while True:
            time.sleep(watch_seconds() or DEFAULT_WATCH_S)
            with _lock:  # only the version is kept across the sleep: no reference to a connection
                seen = _connections[key][0] if key in _connections else None
            if seen is None or not watch_seconds():
                return
            if version(p) != seen:
                _connection(p)
    except Exception:  # noqa: BLE001  (a missing or damaged folder: the pages' own query reports it)
        return
    finally:
        with _lock:
            _watched.discard(key)


def opened(path: str | Path | None = None) -> str | None:
    """The version of the warehouse this process has open (None: none yet)."""
    cached = _connections.get(str(db_path(path).resolve()))
    return cached[0] if cached else None


def _retire(con: duckdb.DuckDBPyConnection, folder: bool) -> None:
    """Close the connection of a replaced version. A query another thread is running on it refuses the close
    (ResourceInUseException) until it finishes: a folder's version lives in its own in-memory database, so it is
    closed later (``_close_retired``, at the next query once it is done); one file must be closed before its path is
    opened again (DuckDB caches database instances by path: the new connection would still read the replaced
    file), so the in-flight query is waited for. A cursor opened on it but not yet running is refused with a
    ConnectionException once it is closed, and _run retries it on the new version."""
    while True:
        try:
            con.close()
            return
        except duckdb.ResourceInUseException:
            if folder:
                _retired.append(con)
                return
            time.sleep(0.005)


def _close_retired() -> None:
    for con in list(_retired):
        try:
            con.close()
        except duckdb.ResourceInUseException:
            continue
        _retired.remove(con)


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
        except DAMAGE:
            # A truncated file opens, then fails on the first block it lacks: the same file fails every page.
            p = db_path(path)
            _damaged.add(version(p))
            raise _damaged_error(p) from None


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
        for key, (_, con) in list(_connections.items()):
            _retire(con, settings.is_folder(Path(key)))
        _connections.clear()
        _close_retired()


# ------------------------------------------------------------------------------------- schema parts of older files

ABSENT, OUTDATED, CURRENT = "absent", "outdated", "current"
_relations: dict[str, tuple[str, frozenset[str]]] = {}
_empty: list[duckdb.DuckDBPyConnection] = []


def relations(path: str | Path | None = None) -> frozenset[str]:
    """The names of the warehouse's tables and views (cached per warehouse version)."""
    p = db_path(path)
    key, current = str(p.resolve()), version(p)
    cached = _relations.get(key)
    if cached and cached[0] == current:
        return cached[1]
    names = frozenset(query("SELECT table_name AS name FROM duckdb_tables() UNION ALL "
                            "SELECT view_name FROM duckdb_views() WHERE NOT internal", path=p)["name"].to_list())
    _relations[key] = (current, names)
    return names


def _part(key: str):
    from warehouse import parts

    for part in parts.parts():
        if part.key == key:
            return part
    raise KeyError(f"no schema part {key!r}")


def _views_of(key: str) -> list[tuple[str, str]]:
    """(view name, its CREATE statement) of the part's current DDL, in order (built afresh: a part's DDL may read
    config files)."""
    from warehouse import parts

    out = []
    for statement in duckdb.extract_statements(parts.views_sql(_part(key))):
        m = re.search(r"CREATE OR REPLACE VIEW (\w+)", statement.query)
        if m:
            out.append((m.group(1), statement.query))
    return out


@lru_cache(maxsize=None)
def _names_of(key: str) -> tuple[frozenset[str], frozenset[str]]:
    """The part's table names and view names (fixed by its code: cached, as every query asks)."""
    tables = frozenset(re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", _part(key).tables))
    return tables, frozenset(n for n, _ in _views_of(key))


def part_state(key: str, path: str | Path | None = None) -> str:
    """ABSENT: the file was written before schema part ``key`` existed (none of its tables); OUTDATED: by a version
    whose part lacked some of today's views; CURRENT otherwise."""
    names = relations(path)
    tables, views = _names_of(key)
    if not tables <= names:
        return ABSENT
    return CURRENT if views <= names else OUTDATED


def part_loaded(key: str, path: str | Path | None = None) -> bool:
    return part_state(key, path) != ABSENT


def _prelude(keys: Sequence[str], path: str | Path | None) -> list[str]:
    """For each OUTDATED part: its missing views as temporary views of the reading connection (a read-only file
    takes those), computed live from the part's tables; the next load writes them into the file."""
    outdated = [k for k in keys if part_state(k, path) == OUTDATED]
    if not outdated:
        return []
    names = relations(path)
    return [sql.replace("CREATE OR REPLACE VIEW", "CREATE OR REPLACE TEMP VIEW", 1)
            for key in outdated for name, sql in _views_of(key) if name not in names]


def _empty_warehouse() -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse with every table and view of the current schema and no rows (built once)."""
    with _lock:
        if not _empty:
            # Imported here: the readers of this module need none of the writer's machinery unless a file is old.
            from warehouse import alerts, parts, store

            con = duckdb.connect(":memory:")
            con.execute(store.TABLES).fetchall()
            con.execute(alerts.TABLES).fetchall()
            for part in parts.parts():
                con.execute(part.tables).fetchall()
            for part in parts.parts():
                con.execute(parts.views_sql(part)).fetchall()
            _empty.append(con)
        return _empty[0]


def query_parts(keys: Sequence[str], sql: str, params: Sequence[Any] | dict[str, Any] | None = None,
                path: str | Path | None = None) -> pl.DataFrame:
    """``query`` for SQL that reads the views of schema parts ``keys`` (none ABSENT: the caller checks
    ``part_loaded``): an OUTDATED part's missing views are supplied for this query."""
    prelude = _prelude(keys, path)
    if not prelude:
        return query(sql, params, path)

    def run(cursor):
        for statement in prelude:
            cursor.execute(statement).fetchall()
        return cursor.sql(sql, params=params or None).pl()

    return _run(run, sql, params, path, execute=False)


def query_part(key: str, sql: str, params: Sequence[Any] | dict[str, Any] | None = None,
               path: str | Path | None = None) -> pl.DataFrame:
    """``query`` for SQL that reads only schema part ``key``'s relations (and the reference tables): on a
    warehouse without the part, the same columns and no rows (no report of that kind yet); on one written by an
    older version of the part, its missing views are supplied (``query_parts``)."""
    if part_loaded(key, path):
        return query_parts((key,), sql, params, path)
    cursor = _empty_warehouse().cursor()
    try:
        return cursor.sql(sql, params=params or None).pl()
    finally:
        cursor.close()
