"""The app store's PostgreSQL connection pool (appdb.connect): many threads of one process (a Streamlit worker's
sessions) changing orders and appending audit rows through a pool smaller than the number of threads lose no event
and never open more connections than the pool's size; a PostgreSQL restart cuts every pooled connection and the
next transaction works all the same (the pool checks a connection before handing it out); while the server is down
a transaction fails with a Chinese message after a bounded wait, and works again once it is back. Real PostgreSQL
servers (tests/pgserver.py).
"""

from __future__ import annotations

import threading
from datetime import date, datetime

import polars as pl
import pytest

from appdb import connect, store as appstore
from hometown.access import audit
from hometown.dispatch import orders
from pgserver import Server

HONGHE, MILE = "532500", "532504"
NOW = datetime(2022, 1, 10, 9, 30)


def _order(wh, i: int) -> int:
    return orders.create_order(orders.Target(HONGHE, MILE, name="红河州弥勒市"), title=f"第{i}单", items=["查明原因"],
                               responsible_unit="弥勒市专班", deadline=date(2099, 1, 1), created_by="省项目组",
                               db_path=wh, now=NOW)


def test_many_threads_changing_orders_through_a_small_pool_lose_no_event(pg_server, monkeypatch, tmp_path):
    where = pg_server.fresh_schema("pool_threads")
    monkeypatch.setenv(appstore.ENV_VAR, where)
    monkeypatch.setenv(connect.POOL_ENV, "4")
    wh = tmp_path / "warehouse.duckdb"
    ids = [_order(wh, i) for i in range(3)]
    threads_n, changes = 16, 15
    errors: list[BaseException] = []
    start = threading.Barrier(threads_n)

    def change(me: int) -> None:
        try:
            start.wait(30)
            for i in range(changes):
                order_id = ids[(me + i) % len(ids)]
                orders.add_note(order_id, f"进展 {me}-{i}", actor=f"会话{me}", db_path=wh, now=NOW)
                audit.record("order", username=f"session{me}", target=str(order_id), detail=f"{me}-{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=change, args=(i,)) for i in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors, errors[:3]
    history = pl.concat([orders.events(i, db_path=wh) for i in ids])
    notes = history.filter(pl.col("action") == "报送进展")["note"].to_list()
    assert sorted(notes) == sorted(f"进展 {me}-{i}" for me in range(threads_n) for i in range(changes))
    trail = audit.events(limit=10_000)
    assert trail.height == threads_n * changes and audit.verify_chain() == []
    stats = connect._pool(where).get_stats()
    # 16 threads, ~500 transactions: never more than the pool's 4 connections, and those reused (one connection per
    # transaction would have opened hundreds).
    assert stats["pool_max"] == 4 and stats["pool_size"] <= 4
    assert stats["connections_num"] <= 4 and stats["requests_num"] >= 2 * threads_n * changes


def test_the_pool_size_is_a_setting_and_a_bad_one_is_refused_in_chinese(monkeypatch):
    monkeypatch.delenv(connect.POOL_ENV, raising=False)
    assert connect.pool_size() == connect.DEFAULT_POOL_SIZE
    monkeypatch.setenv(connect.POOL_ENV, "3")
    assert connect.pool_size() == 3
    for bad in ("0", "-2", "十"):
        monkeypatch.setenv(connect.POOL_ENV, bad)
        with pytest.raises(appstore.AppStoreError, match="应为正整数"):
            connect.pool_size()


@pytest.fixture
def own_server():
    """A PostgreSQL server of this test's own (it is restarted and stopped: not the session's shared one)."""
    server = Server().start()
    try:
        yield server
    finally:
        connect.close_pools()
        server.stop()


def test_a_postgresql_restart_is_survived(own_server, monkeypatch, tmp_path):
    monkeypatch.setenv(appstore.ENV_VAR, own_server.url)
    wh = tmp_path / "warehouse.duckdb"
    first = _order(wh, 1)
    pool = connect._pool(own_server.url)
    assert pool.get_stats()["pool_size"] >= 1          # a connection kept open in the pool

    own_server.restart()                               # every pooled connection is cut
    orders.add_note(first, "重启之后", actor="弥勒市专班", db_path=wh, now=NOW)
    second = _order(wh, 2)
    assert [e["note"] for e in orders.events(first, db_path=wh).iter_rows(named=True)][-1] == "重启之后"
    assert orders.order(second, db_path=wh)["title"] == "第2单"
    assert pool.get_stats().get("connections_lost", 0) + pool.get_stats().get("returns_bad", 0) >= 1

    own_server.pause()                                 # down: a bounded wait, then a Chinese message
    with pytest.raises(appstore.AppStoreError, match="无法连接应用数据库"):
        _read_with_short_wait()
    own_server.resume()
    assert [r for r in appstore.query("SELECT count(*) FROM supervision_orders")[1]] == [(2,)]


def _read_with_short_wait() -> None:
    with appstore.transaction(write=False, timeout=2) as tx:
        tx.execute("SELECT 1")
