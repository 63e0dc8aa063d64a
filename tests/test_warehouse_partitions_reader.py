"""The partitioned warehouse's reader (warehouse.store.open_partitioned, warehouse.db; issue 18).

A reader opens each manifest version once: the small tables are copied into its memory, the big ones stay unions of
the attached files (partitions.federate), and the province's current alerts are computed once. Whatever it copies,
every relation must read as the plain union of the files does; and a process reading while versions are published
must see one version per query, never a mix of two, and the newest one as soon as its publish returned.
"""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

import pytest

from commitmentfiles import A, B, C, evaluation, item
from commitmentfiles import workbook as commitments_workbook
from reportfiles import PUBLIC_VIEWS, load, simple_report, three_villages, village, write_report
from teamfiles import small_attendance, small_rosters
from teamfiles import workbook as teams_workbook
from warehouse import db, partitions, store


def _report(folder: Path, prefecture: str, as_of: date, visits: int = 3) -> Path:
    """A progress report of the prefecture (红河州: three villages, 玉溪市: one) as of ``as_of``, whose cadre
    visits are ``visits`` in every village (so each version's figures differ)."""
    stamp = f"截至{as_of.year}年{as_of.month}月{as_of.day}日"
    if prefecture == "红河州":
        rows = [village(county=c, township=t, village=v, visits=visits) for c, t, v in (
            ("弥勒市", "西三镇", "花口村"), ("弥勒市", "西三镇", "可邑村"), ("蒙自市", "文澜镇", "试验村"))]
        return write_report(folder / f"红河州_{as_of:%Y%m%d}.xlsx", simple_report(rows, as_of=stamp))
    rows = [village(prefecture="玉溪市", county="红塔区", township="玉兴街道", village="荷花社区", visits=visits)]
    return write_report(folder / f"玉溪市_{as_of:%Y%m%d}.xlsx",
                        simple_report(rows, as_of=stamp, title="玉溪市干部规划家乡行动工作进度统计表"))


@pytest.fixture
def every_kind(tmp_path) -> Path:
    """A partitioned warehouse holding every report kind, loaded through the real pipeline from real workbooks:
    progress reports of two prefectures (红河州 at two dates, so history and a late 玉溪市), a refused file,
    驻村力量 workbooks of two months and 任期承诺 workbooks of both prefectures."""
    files = tmp_path / "files"
    files.mkdir()
    bad = files / "unknown.txt"
    bad.write_text("不是报表")
    progress = [_report(files, "红河州", date(2022, 3, 31)), _report(files, "玉溪市", date(2022, 3, 31), 5),
                _report(files, "红河州", date(2022, 9, 30), 7), bad]
    (feb_r, mar_r), (feb_a, mar_a) = small_rosters(), small_attendance()
    teams = [teams_workbook(files / "红河州_驻村力量_202202.xlsx", feb_r, feb_a),
             teams_workbook(files / "红河州_驻村力量_202203.xlsx", mar_r, mar_a)]
    items = [item(no="1", lst="强村富民", content="花口村强村", due="2022-06-30", **A),
             item(no="2", lst="党建提升", content="花口村党建", due="2022-09-30", **A),
             item(no="1", lst="强村富民", content="新桥村强村", due="2022-08-01", **B),
             item(no="1", lst="党建提升", content="试验村党建", due="2022-05-01", **C)]
    evaluations = [evaluation(no="1", on=date(2022, 6, 20), kind="期末验收", status="已销号", acceptance="通过", **A),
                   evaluation(no="1", on=date(2022, 7, 1), status="推进中", **C)]
    commitments = [
        commitments_workbook(files / "红河州_任期承诺_20220831.xlsx", items, evaluations),
        commitments_workbook(files / "玉溪市_任期承诺_20220831.xlsx",
                             [item(prefecture="玉溪市", county="峨山彝族自治县", township="双江街道",
                                   village="玉溪测试村")], title="玉溪市村党组织任期承诺事项表")]
    folder = tmp_path / "warehouse"
    results = load(folder, *progress, *teams, *commitments, workers=1, as_of_limit=date(2022, 12, 31))
    assert [r.status for r in results].count("accepted") == len(results) - 1, [r.errors for r in results]
    return folder


def _relations(con) -> dict[str, str]:
    """name → 'BASE TABLE' / 'VIEW' of every relation a reader's queries can name (its own database)."""
    return dict(con.execute(
        "SELECT table_name, table_type FROM information_schema.tables WHERE table_catalog = current_database() "
        "AND table_schema = 'main'").fetchall())


def _rows(con, name: str) -> tuple[list[str], list[str]]:
    frame = con.sql(f'SELECT * FROM "{name}"').pl()
    keep = [c for c in frame.columns if c != "refreshed"]  # the province row's time of computation
    if {"level", "village_code"} <= set(frame.columns):
        # Above the village level commitment_summary's village_code is any_value() of several villages: arbitrary
        # (it differs between two runs of the same reader), so it is compared where it means something.
        import polars as pl

        frame = frame.with_columns(village_code=pl.when(pl.col("level") == "village").then(pl.col("village_code")))

    def value(v):
        return round(v, 9) if isinstance(v, float) else v

    return frame.columns, sorted(repr([value(v) for v in row]) for row in frame.select(keep).rows())


def test_the_copying_reader_reads_every_relation_as_the_plain_union(every_kind):
    manifest = partitions.read_manifest(every_kind)
    plain = store.open_partitioned(every_kind, manifest, copy_limit=0)   # nothing copied: unions of the files
    copied = store.open_partitioned(every_kind, manifest)                # the default: every table copied here
    mixed = store.open_partitioned(every_kind, manifest, copy_limit=4)   # tables of ≤ 4 rows copied, the rest unions
    try:
        kinds = _relations(plain)
        assert set(PUBLIC_VIEWS) <= set(kinds) and {"alerts", "team_summary", "commitment_summary"} <= set(kinds)
        assert kinds["village_rows"] == "VIEW" and kinds["alerts_current"] == "VIEW"
        # The default reader holds the version in its memory and no file open; the mixed one both kinds.
        assert _relations(copied)["village_rows"] == _relations(copied)["alerts_current"] == "BASE TABLE"
        assert [r[0] for r in copied.execute("SELECT database_name FROM duckdb_databases() "
                                             "WHERE database_name LIKE 'p\\_%' ESCAPE '\\'").fetchall()] == []
        mixed_kinds = _relations(mixed)
        assert mixed_kinds["village_rows"] == "VIEW" and mixed_kinds["ref_prefecture"] == "VIEW"
        assert mixed_kinds["alerts_current"] == "BASE TABLE"
        assert [n for n, k in mixed_kinds.items() if k == "BASE TABLE" and n != "alerts_current"]  # some copied
        assert set(_relations(copied)) == set(mixed_kinds) == set(kinds)
        for name in sorted(kinds):
            want = _rows(plain, name)
            assert want[1] or name.startswith(("commitment_", "team_", "alert_config", "schedule")) or \
                name in ("needs", "projects", "need_rows", "project_rows", "county_rows", "county_summary"), name
            assert _rows(copied, name) == want, name
            assert _rows(mixed, name) == want, name
        # The late-report alert is still measured against the province's newest report (no partition holds both).
        late = "SELECT prefecture_code, level FROM alerts WHERE alert_type = 'late_report'"
        assert copied.execute(late).fetchall() == plain.execute(late).fetchall() == [("530400", "黄")]
    finally:
        for con in (plain, copied, mixed):
            con.close()


@pytest.mark.parametrize("name", ["warehouse", "warehouse.duckdb"])
def test_a_reader_sees_each_publish_whole_and_at_once(tmp_path, name):
    """Versions published while a thread reads through warehouse.db: every query sees one version (both prefectures
    at the date of one publish, their figures of that publish), and the publishing thread's next read sees the
    version it just published (no stale connection kept) though the other thread's query may be running on the
    replaced version's connection. The partitioned folder, and one file for comparison."""
    files, folder = tmp_path / "files", tmp_path / name
    files.mkdir()
    dates = [date(2022, m, 28) for m in range(2, 8)]

    def publish(k: int) -> None:  # both prefectures in one load: one manifest, two partitions rewritten
        results = load(folder, _report(files, "红河州", dates[k], visits=k), _report(files, "玉溪市", dates[k], visits=k),
                       workers=1)
        assert [r.status for r in results] == ["accepted", "accepted"], [r.errors for r in results]

    # One query reading both partitions' reports and village rows: a mix of two versions shows as two dates or
    # visits of another version than the date's.
    sql = """SELECT count(DISTINCT as_of) AS dates, min(as_of) AS as_of, count(DISTINCT cadre_visits) AS visit_sets,
                    min(cadre_visits) AS visits, count(*) AS villages, count(DISTINCT prefecture_code) AS prefectures,
                    (SELECT count(*) FROM current_reports) AS reports
             FROM village_status"""
    publish(0)
    seen: list[tuple] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        try:
            while not stop.is_set():
                seen.append(db.query(sql, path=folder).row(0))
        except BaseException as exc:  # noqa: BLE001  (reported by the test below)
            errors.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for k in range(len(dates)):
            if k:
                publish(k)
            got = db.query(sql, path=folder).row(0)
            assert got == (1, dates[k], 1, k, 4, 2, 2), k    # the publish just made, whole
    finally:
        stop.set()
        reader.join(timeout=120)
    assert not errors, errors
    assert len(seen) > len(dates)
    versions = {dates.index(s[1]) for s in seen}
    for s in seen:
        k = dates.index(s[1])
        assert s == (1, dates[k], 1, k, 4, 2, 2), s          # never two versions in one query
    assert versions >= {0, len(dates) - 1}
    db.close_all()


def test_a_new_version_is_opened_before_any_query_asks(tmp_path, monkeypatch):
    """After a publish the process's watcher opens the new version by itself (off the request path): the next
    query finds it open and reads it; with the watcher off (``HOMETOWN_WAREHOUSE_WATCH_S=0``) the query opens it."""
    import time

    files, folder = tmp_path / "files", tmp_path / "warehouse"
    files.mkdir()
    db.close_all()
    load(folder, _report(files, "红河州", date(2022, 3, 31), visits=1), workers=1)
    assert db.scalar("SELECT min(cadre_visits) FROM village_status", path=folder) == 1
    first = db.opened(folder)
    assert first == db.version(folder)
    load(folder, _report(files, "红河州", date(2022, 6, 30), visits=2), workers=1)
    second = db.version(folder)
    assert second != first
    deadline = time.monotonic() + 120
    while db.opened(folder) != second:  # no query in between: only the watcher can open it
        assert time.monotonic() < deadline, "the new version was never opened"
        time.sleep(0.05)
    con = db._connection(folder)
    assert db.scalar("SELECT min(cadre_visits) FROM village_status", path=folder) == 2
    assert db._connection(folder) is con
    db.close_all()

    monkeypatch.setenv(db.WATCH_ENV, "0")
    assert db.scalar("SELECT min(cadre_visits) FROM village_status", path=folder) == 2
    load(folder, _report(files, "红河州", date(2022, 9, 30), visits=3), workers=1)
    time.sleep(3 * db.DEFAULT_WATCH_S)
    assert db.opened(folder) == second                     # nobody opened the third version …
    assert db.scalar("SELECT min(cadre_visits) FROM village_status", path=folder) == 3   # … until a query asked
    assert db.opened(folder) == db.version(folder)
    db.close_all()
