"""The app store (appdb, issue 18) on both backends: migrations applied once, even by processes starting together;
two OS processes (two app machines) changing the same orders at once lose no event and never move an order twice
from one state; audit rows appended by both form one valid chain; a warehouse that still holds supervision orders
(written before orders left it) has them adopted into the app store once, ids and history intact.

The PostgreSQL server is real (tests/pgserver.py, started once per session); ``app_db`` runs each test on a fresh
embedded file and on a fresh schema of that server.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from appdb import migrate, store as appstore
from hometown.access import audit
from hometown.dispatch import orders
from warehouse import db as hdb
from warehouse.scope import Scope
from test_alerts import HONGHE, MILE, honghe, ingest_ok

REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2022, 1, 10, 9, 30)


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'tests'}"}


def _run_together(code: str, n: int, *args: str) -> list[str]:
    """Run ``code`` in n processes at once (each gets its index and ``args``); their stdout lines."""
    procs = [subprocess.Popen([sys.executable, "-c", code, str(i), *args], cwd=REPO, env=_env(), text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(n)]
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=600)
        assert p.returncode == 0, stderr[-3000:]
        out += stdout.split()
    return out


def test_migrations_are_versioned_and_applied_once(app_db):
    versions = [v for v, _, _ in migrate.files(appstore.backend())]
    assert versions and versions == sorted(versions)
    lines = _run_together("from appdb import migrate\nprint(len(migrate.apply()))", 4)
    assert sorted(lines) == ["0"] * 3 + [str(len(versions))]  # one process applied them, under the lock
    assert migrate.applied() == versions
    assert migrate.apply() == []
    columns, rows = appstore.query("SELECT version, name FROM schema_migrations ORDER BY version")
    assert columns == ["version", "name"] and [r[0] for r in rows] == versions


def test_the_setting_chooses_the_backend(monkeypatch, tmp_path):
    monkeypatch.delenv(appstore.ENV_VAR, raising=False)
    assert appstore.location() == str(appstore.DEFAULT_PATH) and appstore.backend() == "sqlite"
    monkeypatch.setenv(appstore.ENV_VAR, "postgresql://u:secret@db.example:5432/hometown")
    assert appstore.backend() == "postgresql" and "secret" not in appstore.describe()
    monkeypatch.setenv(appstore.ENV_VAR, str(tmp_path / "x.sqlite3"))
    assert appstore.backend() == "sqlite"


CHANGER = """
import random, sys
from datetime import datetime
from hometown.dispatch import orders
me, ids = int(sys.argv[1]), [int(x) for x in sys.argv[2].split(",")]
rng = random.Random(me)
done = moved = refused = 0
for i in range(100):
    order_id = rng.choice(ids)
    if i % 3 == 0:  # a step forward: the other machine may have taken it first
        try:
            orders.advance(order_id, actor=f"机器{me}", note=f"{me}-{i}", now=datetime(2022, 1, 10, 10))
            moved += 1
        except orders.IllegalTransition:
            refused += 1
            continue
    else:
        orders.add_note(order_id, f"进展 {me}-{i}", actor=f"机器{me}", now=datetime(2022, 1, 10, 10))
    done += 1
    from hometown.access import audit
    audit.record("order", username=f"machine{me}", target=str(order_id), detail=f"{me}-{i}")
print(f"done={done}", f"moved={moved}", f"refused={refused}")
"""


def test_two_processes_changing_the_same_orders_lose_no_event(app_db, tmp_path):
    wh = tmp_path / "warehouse.duckdb"
    ids = [orders.create_order(orders.Target(HONGHE, MILE, name="红河州弥勒市"), title=f"第{i}单", items=["查明原因"],
                               responsible_unit="弥勒市专班", deadline=date(2099, 1, 1), created_by="省项目组",
                               db_path=wh, now=NOW) for i in range(5)]
    lines = _run_together(CHANGER, 2, ",".join(map(str, ids)))
    stats = {}
    for line in lines:
        key, value = line.split("=")
        stats[key] = stats.get(key, 0) + int(value)
    assert stats["done"] + stats["refused"] == 200
    history = pl.concat([orders.events(i, db_path=wh) for i in ids])
    # Every change committed by either process is there: 5 issues + every step and note that returned.
    assert history.height == 5 + stats["done"]
    assert history.filter(pl.col("action") == "报送进展").height == stats["done"] - stats["moved"]
    for order_id in ids:
        steps = orders.events(order_id, db_path=wh).filter(
            (pl.col("from_state") != pl.col("to_state")) | pl.col("from_state").is_null())
        # Each state left once, each step from the state the one before reached: no step taken twice.
        assert steps["to_state"].to_list() == list(orders.STATES[:steps.height])
        assert steps["from_state"].to_list()[1:] == steps["to_state"].to_list()[:-1]
        assert orders.order(order_id, db_path=wh)["state"] == steps["to_state"][-1]
    moved = sum(orders.events(i, db_path=wh).filter(pl.col("action").is_in(list(orders.ACTIONS.values()))).height
                for i in ids)
    assert moved == stats["moved"] and stats["moved"] <= 15
    # The audit rows of both processes: one chain, nothing lost.
    trail = audit.events(limit=10_000)
    assert trail.height == stats["done"] and set(trail["username"]) == {"machine0", "machine1"}
    assert audit.verify_chain() == []


def _legacy_warehouse(folder: Path) -> Path:
    """A warehouse as written before orders left it: the old order tables, two orders and their history."""
    folder.mkdir(parents=True, exist_ok=True)
    wh = folder / "warehouse.duckdb"
    ingest_ok(wh, honghe(folder, date(2021, 12, 31)))
    hdb.close_all()
    con = duckdb.connect(str(wh))
    con.execute("""
        CREATE TABLE supervision_orders (order_id INTEGER PRIMARY KEY, order_no VARCHAR NOT NULL,
            target_level VARCHAR NOT NULL, prefecture_code VARCHAR NOT NULL, county_code VARCHAR, village_key VARCHAR,
            village_code VARCHAR, target_name VARCHAR NOT NULL, title VARCHAR NOT NULL, items VARCHAR[] NOT NULL,
            responsible_unit VARCHAR NOT NULL, deadline DATE NOT NULL, state VARCHAR NOT NULL,
            created_by VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL,
            closed_at TIMESTAMP, alert_key VARCHAR, alert_type VARCHAR, alert_level VARCHAR, alert_as_of DATE,
            alert_detail VARCHAR);
        CREATE TABLE supervision_events (event_id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL,
            event_at TIMESTAMP NOT NULL, actor VARCHAR NOT NULL, action VARCHAR NOT NULL, from_state VARCHAR,
            to_state VARCHAR, note VARCHAR);
        INSERT INTO supervision_orders VALUES
          (3, '督〔2021〕3号', 'county', '532500', '532504', NULL, NULL, '红河州弥勒市', '进度滞后', ['查明原因', '倒排工期'],
           '弥勒市专班', DATE '2022-01-20', '已签收', '红河州项目组', TIMESTAMP '2021-12-20 09:00:00',
           TIMESTAMP '2021-12-21 10:00:00', NULL, 'county_behind:532504:2021', 'county_behind', '红',
           DATE '2021-12-31', '落后'),
          (7, '督〔2021〕7号', 'prefecture', '532500', NULL, NULL, NULL, '红河州', '逾期报送', ['立即报送'],
           '红河州项目组', DATE '2022-01-05', '已下发', '省项目组', TIMESTAMP '2021-12-22 09:00:00',
           TIMESTAMP '2021-12-22 09:00:00', NULL, NULL, NULL, NULL, NULL, NULL);
        INSERT INTO supervision_events VALUES
          (1, 3, TIMESTAMP '2021-12-20 09:00:00', '红河州项目组', '下发', NULL, '已下发', NULL),
          (2, 3, TIMESTAMP '2021-12-21 10:00:00', '弥勒市专班', '签收', '已下发', '已签收', '收到'),
          (5, 7, TIMESTAMP '2021-12-22 09:00:00', '省项目组', '下发', NULL, '已下发', NULL);
    """)
    con.close()
    return wh


def test_orders_of_an_old_warehouse_are_adopted_once(app_db, tmp_path):
    wh = _legacy_warehouse(tmp_path / "old")
    listed = orders.orders(Scope(), db_path=wh, today=date(2022, 1, 10))
    assert sorted(listed["order_id"].to_list()) == [3, 7]
    three = orders.order(3, db_path=wh)
    assert (three["order_no"], three["state"], three["items"]) == ("督〔2021〕3号", orders.SIGNED, ["查明原因", "倒排工期"])
    assert three["alert_as_of"] == date(2021, 12, 31) and three["created_at"] == datetime(2021, 12, 20, 9)
    history = orders.events(3, db_path=wh)
    assert history["action"].to_list() == ["下发", "签收"] and history["note"].to_list() == [None, "收到"]
    # The adopted orders go on in the app store; new ones continue after the highest number.
    orders.transition(3, orders.RECTIFYING, actor="弥勒市专班", db_path=wh, now=NOW)
    new = orders.create_order(orders.Target(HONGHE, MILE, name="红河州弥勒市"), title="新单", items=["x"],
                              responsible_unit="u", deadline=date(2099, 1, 1), created_by="c", db_path=wh, now=NOW)
    assert new == 8
    assert orders.events(3, db_path=wh)["to_state"].to_list() == [orders.ISSUED, orders.SIGNED, orders.RECTIFYING]
    # Once: another process (a restart) and a second old warehouse import nothing again.
    done = subprocess.run([sys.executable, "-c", "import sys\nfrom hometown.dispatch import orders\n"
                           "print(orders.adopt_warehouse_orders(sys.argv[1]))", str(wh)],
                          cwd=REPO, env=_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.split() == ["0"], done.stderr
    other = _legacy_warehouse(tmp_path / "other")
    assert orders.adopt_warehouse_orders(other) == 0
    assert sorted(orders.orders(Scope(), db_path=other)["order_id"].to_list()) == [3, 7, 8]
    assert orders.order(3, db_path=other)["state"] == orders.RECTIFYING
    _, rows = appstore.query("SELECT source, row_count FROM legacy_imports")
    assert rows == [(orders.LEGACY_SOURCE, 2)]


def _open_embedded(path: str, barrier, results) -> None:
    from appdb import connect

    barrier.wait()
    try:
        connect._connect_sqlite(path, 10).close()
        results.put(None)
    except Exception as exc:  # noqa: BLE001  (reported to the test)
        results.put(repr(exc))


def test_processes_opening_a_new_embedded_store_at_once_all_get_it(tmp_path):
    """Two workers' first requests open a store file that does not exist yet: switching it to WAL needs the file to
    itself and SQLite refuses the others at once ("database is locked", no busy wait). Every opener must get it."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    errors = []
    for round_ in range(100):
        barrier, results = ctx.Barrier(4), ctx.Queue()
        procs = [ctx.Process(target=_open_embedded, args=(str(tmp_path / f"app{round_}.sqlite3"), barrier, results))
                 for _ in range(4)]
        for p in procs:
            p.start()
        errors += [e for e in (results.get(timeout=60) for _ in procs) if e]
        for p in procs:
            p.join(60)
    assert errors == []
