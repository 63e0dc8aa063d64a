"""The partitioned warehouse (warehouse.partitions) and the read-only mode (issue 18).

A folder holds one DuckDB file per prefecture and a shared one behind a manifest; a load rewrites and publishes only
the partitions it touches, by one atomic swap of the manifest; readers see the same public views as over one file;
old files go once no recent manifest names them; a machine in read-only mode refuses every write in Chinese.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from reportfiles import PUBLIC_VIEWS, fetch, load, load_one, simple_report, three_villages, village, write_report
from test_pipeline_concurrency import folder  # noqa: F401  (the fixture: 40 weekly reports and 驻村力量 workbooks)
from warehouse import db, partitions, store


def _report(tmp_path: Path, name: str, as_of: str, rows=None, **kw) -> Path:
    return write_report(tmp_path / name, simple_report(rows or three_villages(), as_of=as_of, **kw))


def _yuxi_villages():
    return [village(prefecture="玉溪市", county="红塔区", township="玉兴街道", village="荷花社区", stage=7, steps=28,
                    status="已入库", plans=("是",) * 5)]


@pytest.fixture
def two_prefectures(tmp_path) -> list[Path]:
    return [_report(tmp_path, "红河州_20220331.xlsx", "截至2022年3月31日"),
            _report(tmp_path, "玉溪市_20220331.xlsx", "截至2022年3月31日", _yuxi_villages(),
                    title="玉溪市干部规划家乡行动工作进度统计表")]


def _manifest(folder: Path) -> dict:
    return json.loads((folder / partitions.MANIFEST).read_text(encoding="utf-8"))


def test_a_load_rewrites_only_the_partition_it_touches(tmp_path, two_prefectures):
    folder = tmp_path / "warehouse"
    assert [r.status for r in load(folder, *two_prefectures)] == ["accepted", "accepted"]
    first = _manifest(folder)
    assert set(first["partitions"]) == {"shared", "532500", "530400"}
    yuxi_file = folder / first["partitions"]["530400"]
    yuxi_bytes = yuxi_file.read_bytes()

    later = _report(tmp_path, "红河州_20220630.xlsx", "截至2022年6月30日")
    assert load_one(folder, later).status == "accepted"
    second = _manifest(folder)
    assert second["version"] == first["version"] + 1
    assert second["partitions"]["530400"] == first["partitions"]["530400"]   # 玉溪市's file is not touched …
    assert yuxi_file.read_bytes() == yuxi_bytes
    assert second["partitions"]["532500"] != first["partitions"]["532500"]   # … 红河州's is a new file
    assert second["partitions"]["shared"] == first["partitions"]["shared"]
    # The reader sees both prefectures, 红河州 at its new date.
    got = db.query("SELECT prefecture_code, max(as_of) AS d FROM village_status GROUP BY 1 ORDER BY 1", path=folder)
    assert got.rows() == [("530400", date(2022, 3, 31)),
                          ("532500", date(2022, 6, 30))]


def test_public_views_are_those_of_one_warehouse_file(tmp_path, two_prefectures):
    """Same files into one file and into a folder: every public view, same columns, same rows (report ids too)."""
    one, folder = tmp_path / "one.duckdb", tmp_path / "warehouse"
    dup = tmp_path / "copy" / "红河州_20220331.xlsx"
    dup.parent.mkdir()
    dup.write_bytes(two_prefectures[0].read_bytes())
    bad = tmp_path / "unknown.txt"
    bad.write_text("不是报表")
    files = [*two_prefectures, _report(tmp_path, "红河州_20220930.xlsx", "截至2022年9月30日"), dup, bad]
    statuses = [r.status for r in load(one, *files)]
    assert statuses == [r.status for r in load(folder, *files)]
    assert "duplicate" in statuses and "refused" in statuses
    # 玉溪市 is 183 days behind 红河州: raised over the whole province, though no partition holds both.
    late = "SELECT prefecture_code, level FROM alerts WHERE alert_type = 'late_report'"
    assert fetch(one, late) == fetch(folder, late) == [{"prefecture_code": "530400", "level": "黄"}]
    views = [r["view_name"] for r in fetch(one, "SELECT view_name FROM duckdb_views() WHERE NOT internal "
                                                "ORDER BY 1")]
    assert set(PUBLIC_VIEWS) <= set(views) and "alerts" in views
    for view in views:
        a = fetch(one, f"SELECT * FROM {view}")
        b = fetch(folder, f"SELECT * FROM {view}")
        assert (list(a[0]) if a else None) == (list(b[0]) if b else None), view
        volatile = ("loaded_at", "refreshed")

        def rows(frame):
            return sorted(repr([v for k, v in r.items() if k not in volatile]) for r in frame)

        assert rows(a) == rows(b), view


def test_a_failed_load_publishes_nothing_and_the_next_cleans_up(tmp_path, two_prefectures):
    folder = tmp_path / "warehouse"
    load(folder, two_prefectures[0])
    before = _manifest(folder)
    files_before = sorted(p.name for p in folder.iterdir())
    with pytest.raises(RuntimeError, match="boom"):
        with store.loading(folder) as loading:
            loading.con("530400").execute("INSERT INTO meta VALUES ('x', 'y')").fetchall()
            loading.con("532500")
            raise RuntimeError("boom")
    assert _manifest(folder) == before
    assert sorted(p.name for p in folder.iterdir()) == files_before
    # A writer killed between its files and the manifest: files no manifest names; the next write removes them.
    stray = folder / "530400.000099.duckdb"
    stray.write_bytes(b"half")
    (folder / ".532500.1234.tmp").write_bytes(b"copy")
    assert load_one(folder, two_prefectures[1]).status == "accepted"
    assert not stray.exists() and not (folder / ".532500.1234.tmp").exists()


def test_old_versions_are_collected_after_the_grace_period(tmp_path, two_prefectures, monkeypatch):
    folder = tmp_path / "warehouse"
    monkeypatch.setenv(partitions.GRACE_ENV, "3600")
    load(folder, two_prefectures[0])
    v1 = set(_manifest(folder)["partitions"].values())
    load(folder, _report(tmp_path, "红河州_20220630.xlsx", "截至2022年6月30日"))
    load(folder, _report(tmp_path, "红河州_20220930.xlsx", "截至2022年9月30日"))
    on_disk = {p.name for p in folder.glob("*.duckdb")}
    assert v1 <= on_disk                      # within the grace period every recent version stays
    monkeypatch.setenv(partitions.GRACE_ENV, "0")
    load(folder, _report(tmp_path, "红河州_20221231.xlsx", "截至2022年12月31日"))
    doc = _manifest(folder)
    on_disk = {p.name for p in folder.glob("*.duckdb")}
    assert on_disk == set(doc["partitions"].values()) | set(doc["history"][0]["files"])  # current and previous
    assert not (v1 - set(doc["history"][0]["files"]) - set(doc["partitions"].values())) & on_disk


def test_read_only_machine_refuses_every_write(tmp_path, two_prefectures, monkeypatch):
    folder, one = tmp_path / "warehouse", tmp_path / "one.duckdb"
    load(folder, two_prefectures[0])
    load(one, two_prefectures[0])
    before = _manifest(folder)
    one_bytes = one.read_bytes()
    monkeypatch.setenv("HOMETOWN_WAREHOUSE_READONLY", "1")
    for target in (folder, one):
        with pytest.raises(store.WarehouseReadOnly, match="只读节点") as caught:
            load(target, two_prefectures[1])
        assert "写入节点" in str(caught.value)
        with pytest.raises(store.WarehouseReadOnly):
            with store.writing(target):
                pass
    assert _manifest(folder) == before and one.read_bytes() == one_bytes
    # Reading is what a read-only machine does.
    assert db.scalar("SELECT count(*) FROM village_status", path=folder) == 3
    assert db.scalar("SELECT count(*) FROM village_status", path=one) == 3


def test_hometown_warehouse_setting_points_readers_at_the_folder(tmp_path, two_prefectures, monkeypatch):
    folder = tmp_path / "shared"
    load(folder, *two_prefectures)
    monkeypatch.setenv("HOMETOWN_DB", str(tmp_path / "elsewhere.duckdb"))
    monkeypatch.setenv("HOMETOWN_WAREHOUSE", str(folder))
    assert db.db_path() == folder
    assert db.scalar("SELECT count(DISTINCT prefecture_code) FROM village_status") == 2
    first = db.version()
    load(folder, _report(tmp_path, "红河州_20220630.xlsx", "截至2022年6月30日"))
    assert db.version() != first
    assert str(db.scalar("SELECT max(as_of) FROM village_status")) == "2022-06-30"


def _published(folder: Path) -> dict[str, str]:
    """Every published file of the folder (manifest and partitions) → its sha256: what readers can see."""
    import hashlib

    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())
            if not p.name.startswith(".") and not p.name.endswith(".lock")}


def test_load_killed_half_way_publishes_nothing(tmp_path, folder):
    """kill -9 in the middle of a load into the folder: the manifest and every published file stay byte for byte;
    the next load removes the killed writer's copies and works (the ``folder`` of test_pipeline_concurrency)."""
    import os
    import signal
    import time

    from reportfiles import warehouse_state
    from test_pipeline_concurrency import lines_of, start_ingest

    wh = tmp_path / "warehouse"
    assert load_one(wh, _report(tmp_path, "红河州_20210630.xlsx", "截至2021年6月30日")).status == "accepted"
    before_files, before = _published(wh), warehouse_state(wh)
    proc = start_ingest(str(folder), "--db", str(wh))
    out = lines_of(proc)
    try:
        deadline = time.monotonic() + 120
        while not list(wh.glob(f".532500.{proc.pid}.tmp")):     # 红河州's partition is being copied: it runs
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "the load never started"
            time.sleep(0.005)
        loaded = 0
        while loaded < 3:
            line = out.get(timeout=max(0.1, deadline - time.monotonic()))
            assert line is not None, "the load finished before it could be killed"
            loaded += line.startswith("✔ 已接收")
        assert proc.poll() is None
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert _published(wh) == before_files
    assert warehouse_state(wh) == before
    assert list(wh.glob(f".*.{proc.pid}.tmp*"))         # the killed writer's copies are left behind …

    nxt = _report(tmp_path, "红河州_20220331.xlsx", "截至2022年3月31日")
    assert load_one(wh, nxt).status == "accepted"
    assert not list(wh.glob(".*.tmp*"))                 # … and removed by the next load
    assert {r["as_of"] for r in fetch(wh, "SELECT as_of FROM village_status")} == {date(2022, 3, 31)}
    assert [r["status"] for r in fetch(wh, "SELECT status FROM report_log ORDER BY report_id")] == ["accepted"] * 2
