"""The DuckDB warehouse: its tables, its public views (REPORT_SPEC §7) and how it is written safely.

DuckDB lets one process write a file or many read it, never both. So a writer never opens the live file:
under an exclusive lock it copies the file, writes the copy, checkpoints, and atomically renames the copy over
the live file (``os.replace``). Readers that opened the old file keep reading it until they reconnect; new
readers see the new one; a writer killed mid-way leaves only a stray temporary file and the warehouse as it
was. What the app itself writes (orders, audit, lock-outs) is not here: it lives in the app store (appdb/).
Every write ends by refreshing the materialised current alerts (warehouse.alerts.refresh_alerts) before the swap.
A report kind's own tables and views are a schema part (warehouse/parts/), created here after the core's.
"""

from __future__ import annotations

import shutil
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Iterator

import duckdb
import polars as pl

from geo import reference
from warehouse import alerts, metrics, parts, partitions, settings
from warehouse.files import file_lock, replace_atomic, temp_path
SCHEMA_VERSION = 1
PROGRESS_KIND = "progress"  # the report kind the progress tables and views hold (pipelines/kinds/progress.py)

VILLAGE_FIELDS = (
    "prefecture_code", "county_code", "township", "village", "village_code", "village_key", "task_year", "stage",
    "steps_done", "plan_status", "group_size", "civil_servants", "cadre_visits", "local_talents", "meetings",
    "villager_participation", "needs_total", "needs_adopted", "plan_industry", "plan_talent", "plan_culture",
    "plan_ecology", "plan_organisation", "special_plans_done", "council", "funding_wan", "notes", "extra",
)
COUNTY_FIELDS = ("prefecture_code", "county_code", "identified_civil_servants", "selected_cadres", "county_stations",
                 "township_stations")
NEED_FIELDS = ("prefecture_code", "county_code", "township", "village", "village_key", "content", "category",
               "status", "est_funding_wan")
PROJECT_FIELDS = ("prefecture_code", "county_code", "township", "village", "village_key", "project_name", "source",
                  "funding_wan", "status")

TABLES = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE SEQUENCE IF NOT EXISTS report_ids START 1;
CREATE TABLE IF NOT EXISTS reports (
    report_id INTEGER PRIMARY KEY, file_name VARCHAR NOT NULL, sha256 VARCHAR NOT NULL, prefecture_code VARCHAR,
    as_of DATE, loaded_at TIMESTAMP NOT NULL, status VARCHAR NOT NULL, village_rows INTEGER NOT NULL DEFAULT 0,
    messages VARCHAR, warnings VARCHAR, superseded_by INTEGER, loaded_by VARCHAR
);
-- The report kind of each file (pipelines.kinds; NULL: refused before its kind was known). A warehouse from before
-- kinds were registered gets the column with every row a progress report.
ALTER TABLE reports ADD COLUMN IF NOT EXISTS kind VARCHAR DEFAULT 'progress';
CREATE TABLE IF NOT EXISTS ref_prefecture (
    code VARCHAR PRIMARY KEY, name VARCHAR, short_name VARCHAR, common_name VARCHAR, sort_order INTEGER
);
CREATE TABLE IF NOT EXISTS ref_county (
    code VARCHAR PRIMARY KEY, name VARCHAR, short_name VARCHAR, prefecture_code VARCHAR
);
CREATE TABLE IF NOT EXISTS village_rows (
    report_id INTEGER NOT NULL, excel_row INTEGER, prefecture_code VARCHAR NOT NULL, county_code VARCHAR NOT NULL,
    township VARCHAR, village VARCHAR, village_code VARCHAR, village_key VARCHAR NOT NULL, task_year INTEGER,
    stage INTEGER, steps_done INTEGER, plan_status VARCHAR, group_size INTEGER, civil_servants INTEGER,
    cadre_visits INTEGER, local_talents INTEGER, meetings INTEGER, villager_participation INTEGER,
    needs_total INTEGER, needs_adopted INTEGER, plan_industry BOOLEAN, plan_talent BOOLEAN, plan_culture BOOLEAN,
    plan_ecology BOOLEAN, plan_organisation BOOLEAN, special_plans_done TINYINT, council BOOLEAN,
    funding_wan DOUBLE, notes VARCHAR, extra VARCHAR
);
CREATE TABLE IF NOT EXISTS county_rows (
    report_id INTEGER NOT NULL, excel_row INTEGER, prefecture_code VARCHAR NOT NULL, county_code VARCHAR NOT NULL,
    identified_civil_servants INTEGER, selected_cadres INTEGER, county_stations INTEGER, township_stations INTEGER
);
CREATE TABLE IF NOT EXISTS need_rows (
    report_id INTEGER NOT NULL, excel_row INTEGER, prefecture_code VARCHAR NOT NULL, county_code VARCHAR NOT NULL,
    township VARCHAR, village VARCHAR, village_key VARCHAR, content VARCHAR, category VARCHAR, status VARCHAR,
    est_funding_wan DOUBLE
);
CREATE TABLE IF NOT EXISTS project_rows (
    report_id INTEGER NOT NULL, excel_row INTEGER, prefecture_code VARCHAR NOT NULL, county_code VARCHAR NOT NULL,
    township VARCHAR, village VARCHAR, village_key VARCHAR, project_name VARCHAR, source VARCHAR,
    funding_wan DOUBLE, status VARCHAR
);
"""


# Supervision orders left the warehouse for the app store (appdb, issue 18): a warehouse written before that may
# still hold supervision_orders/supervision_events; hometown.dispatch.orders adopts them once, loads keep them as is.


def _views() -> str:
    village_cols = ", ".join(f"v.{c}" for c in VILLAGE_FIELDS if c not in ("prefecture_code", "county_code", "extra"))
    county_aggs = metrics.county_aggregates_sql("v")
    # A county only in 县级汇总 has no village rows: its counts of villages are 0 (0 task villages), not unknown;
    # its sums of village figures stay NULL (nothing reported).
    village_columns = ", ".join(f"coalesce(v.{c.name}, 0) AS {c.name}" if c.counts_villages else f"v.{c.name}"
                                for c in metrics.COUNTS)
    sum_cols = ", ".join(metrics.sum_sql(c) for c in metrics.SUMMABLE_COLUMNS)
    return f"""
CREATE OR REPLACE VIEW report_log AS
SELECT report_id, file_name, sha256, prefecture_code, as_of, loaded_at, status, village_rows, messages, warnings,
       superseded_by, loaded_by
FROM reports;

-- The progress kind's reports in force: the base of every progress view (another kind has views of its own).
CREATE OR REPLACE VIEW accepted_reports AS
SELECT * EXCLUDE (kind) FROM reports WHERE status = 'accepted' AND kind = '{PROGRESS_KIND}';

CREATE OR REPLACE VIEW current_reports AS
SELECT * FROM accepted_reports
QUALIFY row_number() OVER (PARTITION BY prefecture_code ORDER BY as_of DESC, report_id DESC) = 1;

CREATE OR REPLACE VIEW village_history AS
SELECT v.prefecture_code, p.name AS prefecture_name, v.county_code, c.name AS county_name, {village_cols},
       r.as_of, v.report_id
FROM village_rows v
JOIN accepted_reports r USING (report_id)
JOIN ref_prefecture p ON p.code = v.prefecture_code
JOIN ref_county c ON c.code = v.county_code;

CREATE OR REPLACE VIEW village_status AS
SELECT h.* FROM village_history h JOIN current_reports r USING (report_id);

CREATE OR REPLACE VIEW needs AS
SELECT n.*, r.as_of FROM need_rows n JOIN current_reports r USING (report_id);

CREATE OR REPLACE VIEW projects AS
SELECT p.*, r.as_of FROM project_rows p JOIN current_reports r USING (report_id);

CREATE OR REPLACE VIEW county_summary AS
WITH v AS (
    SELECT prefecture_code, county_code, any_value(as_of) AS as_of, {county_aggs}
    FROM village_status v GROUP BY prefecture_code, county_code
), k AS (
    SELECT k.prefecture_code, k.county_code, r.as_of, k.identified_civil_servants, k.selected_cadres,
           k.county_stations, k.township_stations
    FROM county_rows k JOIN current_reports r USING (report_id)
)
SELECT coalesce(v.prefecture_code, k.prefecture_code) AS prefecture_code, p.name AS prefecture_name,
       coalesce(v.county_code, k.county_code) AS county_code, c.name AS county_name,
       coalesce(v.as_of, k.as_of) AS as_of,
       {village_columns},
       k.identified_civil_servants, k.selected_cadres, k.county_stations, k.township_stations
FROM v FULL OUTER JOIN k ON v.county_code = k.county_code
JOIN ref_prefecture p ON p.code = coalesce(v.prefecture_code, k.prefecture_code)
JOIN ref_county c ON c.code = coalesce(v.county_code, k.county_code);

CREATE OR REPLACE VIEW prefecture_summary AS
SELECT prefecture_code, any_value(prefecture_name) AS prefecture_name, max(as_of) AS as_of, {sum_cols}
FROM county_summary GROUP BY prefecture_code;
"""


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Every table and view: the core's, then each schema part's (warehouse/parts/), then the alert rules."""
    con.execute(TABLES).fetchall()
    con.execute(alerts.TABLES).fetchall()  # alert_config before the parts: a part's view may read a rule's setting
    for part in parts.parts():
        con.execute(part.tables).fetchall()
    _fill_reference(con)
    install_views(con)
    con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)]).fetchall()


def install_views(con: duckdb.DuckDBPyConnection, reader: bool = False) -> None:
    """Every public view and macro, over tables that exist (``reader``: tables a partitioned warehouse's reader
    unions from its files; nothing is written)."""
    con.execute(_views()).fetchall()
    for part in parts.parts():
        con.execute(parts.views_sql(part)).fetchall()
    alerts.install_alert_views(con, reader=reader)  # dispatch alert rules, after the views they read


def _fill_reference(con: duckdb.DuckDBPyConnection) -> None:
    if con.execute("SELECT count(*) FROM ref_prefecture").fetchall()[0][0] == 0:
        con.register("_p", reference.prefectures().select("code", "name", "short_name", "common_name", "sort_order"))
        con.execute("INSERT INTO ref_prefecture SELECT * FROM _p").fetchall()
        con.register("_c", reference.counties().select("code", "name", "short_name", "prefecture_code"))
        con.execute("INSERT INTO ref_county SELECT * FROM _c").fetchall()
        con.unregister("_p")
        con.unregister("_c")


class WarehouseBusy(Exception):
    pass


class WarehouseReadOnly(WarehouseBusy):
    """This machine only reads the warehouse ($HOMETOWN_WAREHOUSE_READONLY): loads go to the writer."""

    def __init__(self):
        super().__init__("本机为只读节点（HOMETOWN_WAREHOUSE_READONLY=1），不能写入数据仓库：报表导入和数据更新"
                         "只能在写入节点上进行，请到写入节点操作或联系管理员。")


def refuse_if_read_only() -> None:
    """Every write path of the warehouse starts here: a read-only machine raises WarehouseReadOnly."""
    if settings.read_only():
        raise WarehouseReadOnly()


class WarehouseDamaged(Exception):
    """The warehouse file exists but DuckDB cannot read it (zero bytes, truncated, corrupt). Nothing was written;
    the message is Chinese and names the file, not its server path."""

    def __init__(self, db_path: Path | str):
        super().__init__(f"数据仓库文件 {Path(db_path).name} 已损坏，无法读取（可能被截断或不是本平台的数据仓库），"
                         "本次未导入任何文件。请从备份恢复，或移走该文件后重新导入全部报表。")


# What DuckDB raises for a file it cannot read (as opposed to a wrong statement, which stays a bug to see).
DAMAGE = (duckdb.IOException, duckdb.SerializationException, duckdb.InternalException, duckdb.FatalException)


@contextmanager
def writing(db_path: Path | str, wait: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to a private copy of the warehouse, swapped in atomically on success.

    Writers are serialised by an exclusive lock on ``<db>.lock`` (warehouse.files); readers are never blocked.
    A partitioned warehouse (a folder, warehouse.partitions) yields its shared partition (settings, the app's own
    tables); report loads go through ``loading``, which opens each prefecture's partition.
    """
    refuse_if_read_only()
    db_path = Path(db_path)
    if settings.is_folder(db_path):
        with _folder_writing(db_path, wait) as write:
            yield write.con(partitions.SHARED)
        return
    with ExitStack() as held:
        try:
            held.enter_context(file_lock(db_path, wait=wait))
        except BlockingIOError as exc:
            raise WarehouseBusy(f"数据仓库 {db_path.name} 正在被另一个导入进程写入，请稍后再试") from exc
        # Copies left by a writer that was killed: nobody else can be writing now, they are garbage.
        for stale in db_path.parent.glob(f".{db_path.name}.*.tmp*"):
            stale.unlink(missing_ok=True)
        tmp = temp_path(db_path)
        if db_path.exists():
            shutil.copyfile(db_path, tmp)
        try:
            con = duckdb.connect(str(tmp))
        except DAMAGE:
            tmp.unlink(missing_ok=True)
            raise WarehouseDamaged(db_path) from None
        try:
            # No checkpoints part-way: the copy is private until the swap, which checkpoints once (and a load of
            # many files would otherwise checkpoint every 16 MB of WAL).
            con.execute("SET checkpoint_threshold = '16GB'").fetchall()
            try:
                ensure_schema(con)
            except DAMAGE:
                raise WarehouseDamaged(db_path) from None
            yield con
            _finish(con)
            con.close()
            replace_atomic(tmp, db_path)
        except BaseException:
            try:
                con.close()
            finally:
                tmp.unlink(missing_ok=True)
                Path(str(tmp) + ".wal").unlink(missing_ok=True)
            raise


def _finish(con: duckdb.DuckDBPyConnection) -> None:
    """The end of every write, before the file is published. The current alerts follow what this write loaded (and
    the settings ensure_schema copied in), before anyone can open the new file; a no-op when nothing they depend on
    changed (an order, a duplicate)."""
    for part in parts.parts():  # a part's materialised figures first: its alert rules may read them
        if part.refresh is not None:
            part.refresh(con)
    alerts.refresh_alerts(con)
    con.execute("CHECKPOINT").fetchall()


def _ensure_or_damaged(con: duckdb.DuckDBPyConnection, db_path: Path) -> None:
    try:
        ensure_schema(con)
    except DAMAGE:
        raise WarehouseDamaged(db_path) from None


def _folder_writing(folder: Path, wait: bool):
    return partitions.writing(
        folder, wait, ensure_schema=lambda con: _ensure_or_damaged(con, folder), finish=_finish,
        busy=WarehouseBusy(f"数据仓库 {folder.name} 正在被另一个导入进程写入，请稍后再试"),
        damaged=WarehouseDamaged(partitions.manifest_path(folder)))


class Load:
    """What a report load writes through (pipelines.ingest): the connection of a prefecture's reports, the files
    already loaded, new report ids. One warehouse file: one connection for everything. A partitioned warehouse:
    the private copy of each prefecture's partition, opened when the load first touches it."""

    def __init__(self, con: duckdb.DuckDBPyConnection | None = None, write: partitions.FolderWrite | None = None):
        self._con, self._write = con, write

    def con(self, prefecture_code: str | None) -> duckdb.DuckDBPyConnection:
        if self._write is None:
            return self._con
        return self._write.con(partitions.partition_key(prefecture_code))

    def loaded(self, sha256: str) -> tuple | None:
        """(report_id, prefecture_code, as_of) of the first accepted or superseded file with these bytes, or None."""
        if self._write is not None:
            return self._write.loaded_shas().get(sha256)
        found = self._con.execute(
            "SELECT report_id, prefecture_code, as_of FROM reports WHERE sha256 = ? AND status IN "
            "('accepted', 'superseded') ORDER BY report_id LIMIT 1", [sha256]).fetchall()
        return tuple(found[0]) if found else None

    def known(self) -> set[str]:
        if self._write is not None:
            return set(self._write.loaded_shas())
        return {r[0] for r in self._con.execute(
            "SELECT sha256 FROM reports WHERE status IN ('accepted', 'superseded')").fetchall()}

    def stored(self, sha256: str, report_id: int, prefecture_code: str | None, as_of) -> None:
        if self._write is not None:
            self._write.note_loaded(sha256, report_id, prefecture_code, as_of)

    def new_report_id(self, con: duckdb.DuckDBPyConnection) -> int:
        if self._write is not None:
            return self._write.new_report_id()
        return con.execute("SELECT nextval('report_ids')").fetchall()[0][0]


@contextmanager
def loading(db_path: Path | str, wait: bool = True) -> Iterator[Load]:
    """A report load: ``writing`` for one warehouse file, each touched partition for a partitioned one; published
    at the end, all of it or nothing."""
    refuse_if_read_only()
    db_path = Path(db_path)
    if settings.is_folder(db_path):
        with _folder_writing(db_path, wait) as write:
            yield Load(write=write)
    else:
        with writing(db_path, wait) as con:
            yield Load(con=con)


# A partitioned warehouse's reader: the materialised tables whose partitions' union is not yet the public table,
# and the SQL that makes it so (alerts: the late-report rule over the union; commitments: the province row).
_FEDERATED_RENAMES = {alerts.CURRENT_TABLE: alerts.CURRENT_TABLE + "_partitions",
                      "commitment_summary_cache": "commitment_summary_cache_partitions"}
_FEDERATED_SQL = """
DROP TABLE IF EXISTS commitment_summary_cache;
CREATE OR REPLACE VIEW commitment_summary_cache AS
SELECT * FROM commitment_summary_cache_partitions WHERE level <> 'province'
UNION ALL BY NAME
SELECT *, now() AS refreshed FROM commitment_summary_live WHERE level = 'province';
"""


def open_partitioned(folder: Path | str, manifest: dict, copy_limit: int | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only view of a partitioned warehouse (warehouse.partitions): an in-memory DuckDB over its files
    attached read-only, with every public view of the single-file warehouse, same columns, same meaning.

    Built once per manifest version (warehouse.db keeps it until the next): the tables of at most ``copy_limit`` rows
    are copied in (partitions.federate), and the province's current alerts (the partitions' plus the late-report
    rule over the union) are computed here once into a table, as a write does for one file, instead of at each
    read. ``copy_limit=0``: nothing copied, every table and the current alerts views over the files."""
    limit = partitions.copy_rows() if copy_limit is None else copy_limit
    con = duckdb.connect()
    try:
        partitions.federate(con, Path(folder), manifest, _FEDERATED_RENAMES, limit)
        install_views(con, reader=True)
        con.execute(alerts.federated_alerts_sql()).fetchall()
        con.execute(_FEDERATED_SQL).fetchall()
        if limit > 0:
            # The version never changes once opened: the federated current alerts are a table, like one file's.
            current = alerts.CURRENT_TABLE
            con.execute(f"CREATE TABLE {current}_copy AS SELECT * FROM {current}").fetchall()
            con.execute(f"DROP VIEW {current}").fetchall()
            con.execute(f"ALTER TABLE {current}_copy RENAME TO {current}").fetchall()
    except BaseException:
        con.close()
        raise
    return con


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame, columns: list[str]) -> None:
    """Insert the named columns of a polars frame (zero-copy through Arrow)."""
    con.register("_frame", frame.select(columns))
    try:
        con.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(columns)} FROM _frame").fetchall()
    finally:
        con.unregister("_frame")
