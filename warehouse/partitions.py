"""The partitioned warehouse: one DuckDB file per prefecture, published to a shared folder through one manifest.

Layout of the folder (``$HOMETOWN_WAREHOUSE``)::

    warehouse.json              the manifest: version, next report id, the file of each partition, the previous ones
    shared.000007.duckdb        reference tables, settings, reports refused before their
                                prefecture was known
    530100.000007.duckdb        昆明市's reports: every table and view of the single-file warehouse, its rows only
    532500.000003.duckdb        红河州's …
    warehouse.json.lock         the writer's lock (flock); readers never take it

Each partition is a complete warehouse of its own (warehouse.store.ensure_schema, the parts' materialised tables and
its own alerts_current). A load copies and rewrites only the partitions of the prefectures it touches (plus the shared
one when it logs a file without a prefecture), writes each under a new versioned name, and
publishes them all at once by replacing the manifest atomically: a reader sees the old set of files or the new set,
never a mix; a writer killed mid-way leaves only unreferenced files that the next writer removes. So a load's cost is
the size of what it touches, not of the warehouse. Published files are never written again.

A reader (warehouse.db) opens an in-memory DuckDB, attaches every file of the manifest read-only, makes each base
table a UNION ALL of the partitions' (the global ones — reference tables, settings — from the shared file
only), and creates the very views and macros of the single-file warehouse over them (store.install_views), so every
public view keeps its columns and meaning. What the partitions materialise is unioned too, except what depends on more
than one prefecture: the late-report alert (measured against the province's newest report) is evaluated over the
union, and the province row of commitment_summary is recomputed from the prefectures' statuses. A version never
changes once published, so the reader builds it once: the tables of at most ``copy_rows()`` rows are copied into its
memory and the current alerts computed into a table (``federate``, store.open_partitioned); bigger tables stay unions.

Old files are removed by the writer once no manifest of the last ``grace`` seconds names them (the previous version
is kept for readers still on it; ``$HOMETOWN_WAREHOUSE_GRACE_S``, default 600).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

from warehouse.files import file_lock, replace_atomic, write_atomic

MANIFEST = "warehouse.json"
SHARED = "shared"
FORMAT = 1
GRACE_ENV = "HOMETOWN_WAREHOUSE_GRACE_S"
DEFAULT_GRACE_S = 600.0
# Tables every partition holds a copy of (or that only the shared partition fills): readers take the shared one.
GLOBAL_TABLES = ("meta", "ref_prefecture", "ref_county", "alert_config", "schedule_line")
COPY_ROWS_ENV = "HOMETOWN_WAREHOUSE_COPY_ROWS"
DEFAULT_COPY_ROWS = 250_000
SALT_KEYS = ("teams_person_salt",)  # meta keys every partition must share (pseudonymous keys match across files)


def manifest_path(folder: Path) -> Path:
    return Path(folder) / MANIFEST


def read_manifest(folder: Path) -> dict:
    """The published manifest, or an empty warehouse's (no file yet)."""
    try:
        doc = json.loads(manifest_path(folder).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"format": FORMAT, "version": 0, "next_report_id": 1, "partitions": {}, "history": []}
    return doc


def partition_key(prefecture_code: str | None) -> str:
    return prefecture_code or SHARED


def grace_seconds() -> float:
    try:
        return float(os.environ.get(GRACE_ENV, DEFAULT_GRACE_S))
    except ValueError:
        return DEFAULT_GRACE_S


class FolderWrite:
    """One write of the partitioned warehouse: the partitions it opened (private copies), published together."""

    def __init__(self, folder: Path, manifest: dict, ensure_schema, finish):
        self.folder, self.manifest = folder, manifest
        self._ensure_schema, self._finish = ensure_schema, finish
        self.cons: dict[str, duckdb.DuckDBPyConnection] = {}
        self.tmps: dict[str, Path] = {}
        self.next_report_id = int(manifest.get("next_report_id", 1))
        self._shas: dict[str, tuple] | None = None

    def con(self, key: str) -> duckdb.DuckDBPyConnection:
        """The writable private copy of partition ``key`` (copied from its published file on first use)."""
        if key in self.cons:
            return self.cons[key]
        tmp = self.folder / f".{key}.{os.getpid()}.tmp"
        published = self.manifest["partitions"].get(key)
        if published:
            shutil.copyfile(self.folder / published, tmp)
        con = duckdb.connect(str(tmp))
        self.cons[key], self.tmps[key] = con, tmp
        con.execute("SET checkpoint_threshold = '16GB'").fetchall()
        self._ensure_schema(con)
        if key != SHARED:  # the keys that must agree across partitions come from the shared one
            for k in SALT_KEYS:
                con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [k, self._shared_value(k)]).fetchall()
        return con

    def _shared_value(self, k: str) -> str:
        """A meta value of the shared partition, made there (a write of the shared file) when it has none yet."""
        sql = "SELECT value FROM meta WHERE key = ?"
        published = self.manifest["partitions"].get(SHARED)
        if SHARED not in self.cons and published:
            with duckdb.connect(str(self.folder / published), read_only=True) as ro:
                found = ro.execute(sql, [k]).fetchall()
            if found:
                return found[0][0]
        shared = self.con(SHARED)
        found = shared.execute(sql, [k]).fetchall()
        if not found:
            found = [(secrets.token_hex(16),)]
            shared.execute("INSERT INTO meta VALUES (?, ?)", [k, found[0][0]]).fetchall()
        return found[0][0]

    def new_report_id(self) -> int:
        rid = self.next_report_id
        self.next_report_id += 1
        return rid

    def loaded_shas(self) -> dict[str, tuple]:
        """sha256 → (report_id, prefecture_code, as_of) of every file accepted or superseded, in any partition."""
        if self._shas is None:
            self._shas = {}
            sql = ("SELECT sha256, report_id, prefecture_code, as_of FROM reports "
                   "WHERE status IN ('accepted', 'superseded') ORDER BY report_id")
            for key, name in self.manifest["partitions"].items():
                if key in self.cons:
                    rows = self.cons[key].execute(sql).fetchall()
                else:
                    with duckdb.connect(str(self.folder / name), read_only=True) as ro:
                        rows = ro.execute(sql).fetchall()
                for sha, rid, pref, as_of in rows:
                    self._shas.setdefault(sha, (rid, pref, as_of))
        return self._shas

    def note_loaded(self, sha: str, report_id: int, prefecture_code: str | None, as_of) -> None:
        self.loaded_shas().setdefault(sha, (report_id, prefecture_code, as_of))

    def publish(self) -> None:
        """Finish every opened partition, give it its new name, and swap the manifest: all at once or nothing."""
        version = int(self.manifest.get("version", 0)) + 1
        partitions = dict(self.manifest["partitions"])
        for key, con in self.cons.items():
            self._finish(con)
            con.close()
            name = f"{key}.{version:06d}.duckdb"
            replace_atomic(self.tmps[key], self.folder / name)
            partitions[key] = name
        history = [{"version": self.manifest.get("version", 0), "retired_at": time.time(),
                    "files": sorted(self.manifest["partitions"].values())}] + self.manifest.get("history", [])
        doc = {"format": FORMAT, "version": version, "next_report_id": self.next_report_id,
               "published_at": time.time(), "partitions": partitions, "history": history[:20]}
        write_atomic(manifest_path(self.folder), json.dumps(doc, ensure_ascii=False, indent=1))
        self.manifest = doc
        collect_garbage(self.folder, doc)

    def discard(self) -> None:
        for key, con in self.cons.items():
            try:
                con.close()
            finally:
                self.tmps[key].unlink(missing_ok=True)
                Path(str(self.tmps[key]) + ".wal").unlink(missing_ok=True)


def collect_garbage(folder: Path, manifest: dict, grace: float | None = None) -> list[str]:
    """Remove the partition files no reader can need: every file but those of the current manifest, of the previous
    one (always kept) and of versions retired less than ``grace`` seconds ago. Files a killed writer published
    without its manifest are named by none, so they go too. Runs under the writer's lock; returns the names removed."""
    grace = grace_seconds() if grace is None else grace
    now = time.time()
    keep = set(manifest["partitions"].values())
    for i, old in enumerate(manifest.get("history", [])):
        if i == 0 or now - old.get("retired_at", 0) < grace:
            keep.update(old.get("files", []))
    removed = []
    for f in sorted(Path(folder).glob("*.duckdb")):
        if f.name not in keep:
            f.unlink(missing_ok=True)
            removed.append(f.name)
    return removed


@contextmanager
def writing(folder: Path, wait: bool, ensure_schema, finish, busy, damaged) -> Iterator[FolderWrite]:
    """The folder's one writer: under ``warehouse.json.lock``, stray private copies removed, published on success."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with ExitStack() as held:
        try:
            held.enter_context(file_lock(manifest_path(folder), wait=wait))
        except BlockingIOError as exc:
            raise busy from exc
        for stale in folder.glob(".*.tmp*"):  # a killed writer's copies: nobody else can be writing now
            stale.unlink(missing_ok=True)
        try:
            manifest = read_manifest(folder)
        except (ValueError, OSError):
            raise damaged from None
        write = FolderWrite(folder, manifest, ensure_schema, finish)
        try:
            yield write
            if SHARED not in manifest["partitions"]:
                write.con(SHARED)  # a new warehouse publishes its shared file (reference tables) whatever it loads
            write.publish()
        except BaseException:
            write.discard()
            raise


def attach_sql(folder: Path, manifest: dict) -> list[tuple[str, Path]]:
    """(alias, file) of every partition of the manifest, the shared one first."""
    items = sorted(manifest["partitions"].items(), key=lambda kv: (kv[0] != SHARED, kv[0]))
    return [(f"p_{key}", Path(folder) / name) for key, name in items]


def copy_rows() -> int:
    """A reader copies a table into its own memory when the partitions hold at most this many of its rows in all
    (``$HOMETOWN_WAREHOUSE_COPY_ROWS``, default 250,000; 0: copy nothing, every table a union of the files)."""
    try:
        return max(0, int(os.environ.get(COPY_ROWS_ENV, DEFAULT_COPY_ROWS)))
    except ValueError:
        return DEFAULT_COPY_ROWS


def federate(con: duckdb.DuckDBPyConnection, folder: Path, manifest: dict, rename: dict[str, str],
             copy_limit: int | None = None) -> list[str]:
    """Attach every partition read-only and make each base table the union of the partitions' (in ``con``); a table
    of ``rename`` is unioned under its new name (the reader builds the public one over it).

    A table of at most ``copy_limit`` rows in all (``copy_rows()``) is copied into ``con`` as a table of its own, once,
    when the version is opened: every page's query joins the reports, county sheets, needs, settings and the parts'
    materialised figures many times, and a view over a union of 17 files re-plans and re-scans 17 files at each
    reference (no statistics, no filter pushdown across the union) — that was most of a query's time. A bigger table
    (the village rows of years of national history, 任期承诺's items) stays a view over the attached files, read
    through DuckDB's buffer pool like the one-file warehouse, so a reader's memory stays bounded whatever the
    history. When every table was copied the files are detached: the version lives in memory and holds no file
    open. Returns the tables left as views over the files."""
    limit = copy_rows() if copy_limit is None else copy_limit
    aliases = attach_sql(folder, manifest)
    for alias, path in aliases:
        con.execute(f"ATTACH '{path}' AS {alias} (READ_ONLY)").fetchall()
    shared = aliases[0][0]
    tables = [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND NOT internal ORDER BY table_name",
        [shared]).fetchall()]
    rows = dict(con.execute(
        "SELECT table_name, sum(estimated_size) FROM duckdb_tables() WHERE NOT internal AND database_name IN "
        f"({', '.join('?' * len(aliases))}) GROUP BY table_name", [a for a, _ in aliases]).fetchall())
    unioned = []
    for table in tables:
        if table in GLOBAL_TABLES:
            sql = f"SELECT * FROM {shared}.main.{table}"
        else:
            sql = " UNION ALL BY NAME ".join(f"SELECT * FROM {alias}.main.{table}" for alias, _ in aliases)
        kind = "TABLE" if limit > 0 and rows.get(table, 0) <= limit else "VIEW"
        if kind == "VIEW":
            unioned.append(table)
        con.execute(f"CREATE OR REPLACE {kind} {rename.get(table, table)} AS {sql}").fetchall()
    if not unioned:
        for alias, _ in aliases:
            con.execute(f"DETACH {alias}").fetchall()
    return unioned
