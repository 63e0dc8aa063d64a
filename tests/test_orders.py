"""Supervision orders (hometown/dispatch/orders.py): the state machine, overdue detection, 待核验 after a clearing report,
and that orders survive every report load and a kill -9 — of a process holding the app's read connections and of
one killed while writing orders.

Reports are real files loaded with pipelines.ingest.ingest (helpers of test_alerts.py).
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path

import pytest

from appdb import store as appstore
from warehouse import db as hdb
from hometown.dispatch import orders
from warehouse.scope import OutOfScope, Scope
import reportfiles
from reportfiles import three_villages, village
from test_alerts import GEJIU, HONGHE, MILE, alerts_of, gejiu_done, honghe, ingest_ok, yuxi

REPO = Path(__file__).resolve().parent.parent
DAYS = [date(2021, 6, 30), date(2021, 9, 30), date(2021, 12, 31)]
NOW = datetime(2022, 1, 10, 9, 30)


@pytest.fixture
def db(tmp_path: Path, app_db):
    """The warehouse of the test; its orders go to a fresh app store on each backend (``app_db``: embedded and
    PostgreSQL), so every test of this file runs on both."""
    path = tmp_path / "warehouse.duckdb"
    yield path
    hdb.close_all()


@pytest.fixture
def loaded(db, tmp_path) -> tuple[Path, list[Path]]:
    """弥勒市 stagnating over three quarterly reports: county_behind (红) and stagnant villages."""
    files = [honghe(tmp_path, d) for d in DAYS]
    ingest_ok(db, *files)
    return db, files


def fetch(db: Path, sql: str, params: list | None = None) -> list[dict]:
    # The query layer's connections (warehouse.db) hold the file they opened; DuckDB would hand a new connect on
    # the same path that old instance. Close them first so the read sees the file as it is now.
    hdb.close_all()
    return reportfiles.fetch(db, sql, params)


def warehouse_state(db: Path) -> dict:
    hdb.close_all()
    return reportfiles.warehouse_state(db)


def county_alert(db: Path) -> dict:
    (row,) = [r for r in alerts_of(db, "county_behind") if r["county_code"] == MILE]
    return row


def issue(db: Path, alert: dict | None = None, **kw) -> int:
    if alert is not None:
        return orders.create_from_alert(alert, created_by=kw.pop("created_by", "省项目组"), db_path=db,
                                        now=kw.pop("now", NOW), **kw)
    target = kw.pop("target", orders.Target(HONGHE, MILE, name="红河州弥勒市"))
    args = dict(title="规划进度滞后", items=["查明原因", "倒排工期"], responsible_unit="弥勒市工作专班",
                deadline=date(2022, 1, 25), created_by="红河州项目组", db_path=db, now=NOW) | kw
    return orders.create_order(target, **args)


def app_fetch(sql: str, params: list | None = None) -> list[dict]:
    """Rows of the app store (where the orders live), as dicts."""
    columns, rows = appstore.query(sql, params or [])
    return [dict(zip(columns, r)) for r in rows]


def snapshot(db: Path) -> tuple[list, list]:
    return (app_fetch("SELECT * FROM supervision_orders ORDER BY order_id"),
            app_fetch("SELECT * FROM supervision_events ORDER BY event_id"))


# ------------------------------------------------------------------------------------------------ state machine

def test_legal_path_records_every_change(loaded):
    db, _ = loaded
    alert = county_alert(db)
    order_id = issue(db, alert)
    o = orders.order(order_id, db_path=db, today=date(2022, 1, 10))
    assert o["state"] == orders.ISSUED and o["target_level"] == "county" and o["county_code"] == MILE
    assert o["alert_key"] == f"county_behind:{MILE}:2021" and o["alert_level"] == "红"
    assert o["order_no"] == f"督〔2022〕{order_id}号" and o["items"] == orders.SUGGESTED_ITEMS["county_behind"]
    assert o["responsible_unit"] == "弥勒市干部规划家乡行动工作专班" and o["deadline"] == date(2022, 1, 25)

    steps = [(orders.SIGNED, "弥勒市专班张三"), (orders.RECTIFYING, "弥勒市专班张三"), (orders.CLOSED, "红河州项目组李四")]
    for i, (state, actor) in enumerate(steps, start=1):
        orders.transition(order_id, state, actor=actor, note=f"第{i}步", db_path=db, now=NOW.replace(hour=10 + i))
    o = orders.order(order_id, db_path=db)
    assert o["state"] == orders.CLOSED and o["closed_at"] == NOW.replace(hour=13) and not o["overdue"]

    history = orders.events(order_id, db_path=db)
    assert history["action"].to_list() == ["下发", "签收", "开始整改", "核验办结"]
    assert history["from_state"].to_list() == [None, *orders.STATES[:3]]
    assert history["to_state"].to_list() == list(orders.STATES)
    assert history["actor"].to_list() == ["省项目组", *(a for _, a in steps)]
    assert history["event_at"].to_list()[1:] == [NOW.replace(hour=h) for h in (11, 12, 13)]
    assert history["note"].to_list()[0] == alert["detail"]  # the alert text, kept with the order


@pytest.mark.parametrize("path, target, message", [
    ((), orders.RECTIFYING, "下一步只能是「已签收」"),
    ((), orders.CLOSED, "不能直接变更为「已办结」"),
    ((orders.SIGNED,), orders.ISSUED, "下一步只能是「整改中」"),
    ((orders.SIGNED,), orders.CLOSED, "不能直接变更为「已办结」"),
    ((orders.SIGNED, orders.RECTIFYING), orders.SIGNED, "下一步只能是「已办结」"),
    ((orders.SIGNED, orders.RECTIFYING, orders.CLOSED), orders.RECTIFYING, "已办结，不能再变更"),
    ((orders.SIGNED,), orders.SIGNED, "已经是「已签收」"),
    ((), "作废", "不是督办单的状态"),
    ((), orders.OVERDUE, "不是督办单的状态"),
])
def test_illegal_transitions_are_refused(db, tmp_path, path, target, message):
    ingest_ok(db, honghe(tmp_path, DAYS[0]))
    order_id = issue(db)
    for state in path:
        orders.transition(order_id, state, actor="经办人", db_path=db, now=NOW)
    before = snapshot(db)
    version = hdb.version(db)
    with pytest.raises(orders.IllegalTransition, match=message):
        orders.transition(order_id, target, actor="经办人", db_path=db, now=NOW)
    assert snapshot(db) == before and hdb.version(db) == version  # nothing written, no file swapped
    assert not list(db.parent.glob(f".{db.name}.*.tmp*"))


def test_invalid_orders_are_refused(db, tmp_path):
    ingest_ok(db, honghe(tmp_path, DAYS[0]))
    with pytest.raises(orders.OrderError, match="督办事项不能为空"):
        issue(db, items=["  ", ""])
    with pytest.raises(orders.OrderError, match="早于今天"):
        issue(db, deadline=date(2022, 1, 9))
    with pytest.raises(orders.OrderError, match="责任单位"):
        issue(db, responsible_unit=" ")
    with pytest.raises(orders.OrderNotFound):
        orders.transition(999, orders.SIGNED, actor="x", db_path=db)
    assert app_fetch("SELECT count(*) AS n FROM supervision_orders") == [{"n": 0}]


def test_scope_limits_who_sees_and_acts(db, tmp_path):
    ingest_ok(db, honghe(tmp_path, DAYS[0]))
    mile = issue(db)
    gejiu = issue(db, target=orders.Target(HONGHE, GEJIU, name="红河州个旧市"))
    pref = issue(db, target=orders.Target(HONGHE, name="红河州"))
    county_user = Scope(county_code=MILE)
    assert orders.orders(county_user, db_path=db)["order_id"].to_list() == [mile]
    assert set(orders.orders(Scope(prefecture_code=HONGHE), db_path=db)["order_id"]) == {mile, gejiu, pref}
    assert orders.orders(Scope(prefecture_code="530400"), db_path=db).height == 0
    with pytest.raises(OutOfScope):
        orders.transition(gejiu, orders.SIGNED, actor="弥勒市", scope=county_user, db_path=db)
    with pytest.raises(OutOfScope):
        issue(db, target=orders.Target(HONGHE, name="红河州"), scope=county_user)
    with pytest.raises(orders.OrderNotFound):
        orders.order(gejiu, county_user, db_path=db)
    orders.transition(mile, orders.SIGNED, actor="弥勒市", scope=county_user, db_path=db)


# ------------------------------------------------------------------------------------------------ overdue

def test_overdue_is_derived_from_today(db, tmp_path):
    ingest_ok(db, honghe(tmp_path, DAYS[0]))
    late = issue(db, deadline=date(2022, 1, 15))
    later = issue(db, deadline=date(2022, 2, 1))
    done = issue(db, deadline=date(2022, 1, 12))
    for state in orders.STATES[1:]:
        orders.transition(done, state, actor="x", db_path=db, now=NOW)

    on_deadline = orders.orders(Scope(), db_path=db, today=date(2022, 1, 15))
    assert not on_deadline["overdue"].any()  # the deadline day itself is still in time
    frame = orders.orders(Scope(), db_path=db, today=date(2022, 1, 16))
    rows = {r["order_id"]: r for r in frame.iter_rows(named=True)}
    assert rows[late]["overdue"] and rows[late]["days_left"] == -1
    assert rows[late]["display_state"] == "已下发·逾期"
    assert not rows[later]["overdue"] and not rows[done]["overdue"]  # closed orders are never overdue
    assert frame["order_id"].to_list()[0] == late  # overdue first
    assert frame["order_id"].to_list()[-1] == done  # closed last
    assert orders.orders(Scope(), db_path=db, today=date(2022, 1, 16), only_overdue=True)["order_id"].to_list() \
        == [late]
    assert orders.summary(Scope(), today=date(2022, 2, 2), db_path=db)["overdue"] == 2

    orders.change_deadline(late, date(2022, 1, 31), actor="红河州项目组", reason="春节顺延", db_path=db, now=NOW)
    assert not orders.order(late, db_path=db, today=date(2022, 1, 16))["overdue"]
    assert "春节顺延" in orders.events(late, db_path=db)["note"].to_list()[-1]


# ------------------------------------------------------------------------------------------------ 待核验

def test_clearing_report_flags_order_for_verification(loaded, tmp_path):
    db, _ = loaded
    fell = [village(township="西三镇", village="花口村", visits=12), *three_villages()[1:], gejiu_done()]
    ingest_ok(db, honghe(tmp_path, date(2022, 1, 31), fell))
    (alert,) = [a for a in alerts_of(db, "figure_fell")]
    from_alert = issue(db, alert)
    closed = issue(db, alert)
    for state in orders.STATES[1:]:
        orders.transition(closed, state, actor="x", db_path=db, now=NOW)
    by_hand = issue(db)
    assert not orders.orders(Scope(), db_path=db)["to_verify"].any()

    # The next report has the figure back up: the alert is cleared, the open order awaits verification.
    ok = [village(township="西三镇", village="花口村", visits=30), *three_villages()[1:], gejiu_done()]
    ingest_ok(db, honghe(tmp_path, date(2022, 2, 28), ok))
    assert alerts_of(db, "figure_fell") == []
    rows = {r["order_id"]: r for r in orders.orders(Scope(), db_path=db).iter_rows(named=True)}
    assert rows[from_alert]["to_verify"] and rows[from_alert]["cleared_as_of"] == date(2022, 2, 28)
    assert "待核验" in rows[from_alert]["display_state"]
    assert not rows[closed]["to_verify"] and not rows[by_hand]["to_verify"]
    assert orders.orders(Scope(), db_path=db, only_to_verify=True)["order_id"].to_list() == [from_alert]

    # Verified and closed: no longer flagged.
    for state in orders.STATES[1:]:
        orders.transition(from_alert, state, actor="红河州项目组", db_path=db, now=NOW)
    assert not orders.order(from_alert, db_path=db)["to_verify"]


def test_county_order_flagged_when_county_catches_up(loaded, tmp_path):
    db, _ = loaded
    order_id = issue(db, county_alert(db))
    caught_up = [village(township=t, village=v, stage=7, steps=28, status="已入库", plans=("是",) * 5)
                 for t, v in (("西三镇", "花口村"), ("虹溪镇", "新桥村"), ("东山镇", "旧城村"))] + [gejiu_done()]
    ingest_ok(db, honghe(tmp_path, date(2022, 1, 31), caught_up))
    assert [a for a in alerts_of(db, "county_behind") if a["county_code"] == MILE] == []
    assert orders.order(order_id, db_path=db)["to_verify"]


# ------------------------------------------------------------------------------------------------ survival

def test_orders_survive_reloading_every_report(loaded, tmp_path):
    db, files = loaded
    first = issue(db, county_alert(db))
    orders.transition(first, orders.SIGNED, actor="弥勒市专班", db_path=db, now=NOW)
    second = issue(db, target=orders.Target(HONGHE, GEJIU, name="红河州个旧市"))
    orders.add_note(second, "已召开推进会", actor="个旧市专班", db_path=db, now=NOW)
    kept = snapshot(db)
    assert len(kept[0]) == 2 and len(kept[1]) == 4

    # Every report again (duplicates), a correction of the latest, a new report and another prefecture's.
    assert {r.status for r in reportfiles.load(db, *files)} == {"duplicate"}
    ingest_ok(db, honghe(tmp_path, DAYS[-1], [*three_villages(), gejiu_done(visits=40)],
                         name="红河州_20211231（更正）.xlsx"))
    ingest_ok(db, honghe(tmp_path, date(2022, 3, 31)), yuxi(tmp_path, date(2022, 3, 31)))
    assert snapshot(db) == kept
    states = fetch(db, "SELECT status, count(*) AS n FROM report_log GROUP BY status ORDER BY status")
    assert {r["status"]: r["n"] for r in states} == {"accepted": 5, "duplicate": 3, "superseded": 1}

    # And the orders never show in, or change, what a load builds: they are not in the warehouse at all.
    state = warehouse_state(db)
    assert "supervision_orders" not in state["counts"] and "supervision_events" not in state["counts"]
    orders.transition(first, orders.RECTIFYING, actor="弥勒市专班", db_path=db, now=NOW)
    after = warehouse_state(db)
    for key in ("village_status", "village_history", "county_summary", "reports"):
        assert after[key] == state[key]


def _env(db: Path) -> dict:
    return {**os.environ, "HOMETOWN_DB": str(db), "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'tests'}"}


READER = """
import sys, time
from hometown.dispatch import orders
from warehouse import db
from warehouse.scope import Scope
n = 0
while True:
    n += orders.orders(Scope()).height + db.query("SELECT count(*) AS n FROM village_status").height
    if n and n < 10:
        print("reading", flush=True)
    time.sleep(0.01)
"""

WRITER = """
import sys
from datetime import date, datetime
from hometown.dispatch import orders
target = orders.Target("532500", "532504", name="红河州弥勒市")
for i in range(1000):
    order_id = orders.create_order(target, title=f"第{i}号", items=["查明原因"], responsible_unit="弥勒市专班",
                                   deadline=date(2099, 1, 1), created_by="测试", now=datetime(2022, 1, 10))
    print(order_id, flush=True)
"""


def test_orders_survive_kill_of_a_reader_holding_the_app(loaded):
    db, _ = loaded
    kept_id = issue(db)
    proc = subprocess.Popen([sys.executable, "-c", READER], env=_env(db), cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "reading", proc.stderr.read()
        # Writes go on while the reader holds its connection; then it dies without closing anything.
        orders.transition(kept_id, orders.SIGNED, actor="x", db_path=db, now=NOW)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert orders.order(kept_id, db_path=db)["state"] == orders.SIGNED
    orders.transition(kept_id, orders.RECTIFYING, actor="x", db_path=db, now=NOW)
    assert orders.order(kept_id, db_path=db)["state"] == orders.RECTIFYING


def test_orders_survive_kill_of_a_writer(loaded):
    db, _ = loaded
    kept = snapshot(db)
    proc = subprocess.Popen([sys.executable, "-c", WRITER], env=_env(db), cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    committed: list[int] = []
    try:
        while len(committed) < 4:
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            committed.append(int(line))
        time.sleep(0.05)  # most likely in the middle of the next write: copying, inserting or checkpointing
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        committed += [int(x) for x in proc.stdout.read().split()]
    finally:
        if proc.poll() is None:
            proc.kill()
    hdb.close_all()
    ids = [r["order_id"] for r in app_fetch("SELECT order_id FROM supervision_orders ORDER BY order_id")]
    # Every order the writer saw committed is there; at most the one in flight is lost, nothing is half-written.
    assert set(committed) <= set(ids) and len(ids) - len(committed) in (0, 1)
    assert ids == list(range(1, len(ids) + 1))
    events = app_fetch("SELECT order_id FROM supervision_events ORDER BY event_id")
    assert [e["order_id"] for e in events] == ids
    assert snapshot(db)[0][: len(kept[0])] == kept[0]
    # The warehouse is whole: the next write works (and sweeps the killed writer's temporary copy).
    new_id = issue(db)
    assert new_id == ids[-1] + 1 and not list(db.parent.glob(f".{db.name}.*.tmp*"))
    assert fetch(db, "SELECT count(*) AS n FROM village_status")[0]["n"] == 4


# ------------------------------------------------------------------------------------------------ documents

def test_notice_docx_and_orders_excel(loaded):
    import docx
    import python_calamine

    db, _ = loaded
    order_id = issue(db, county_alert(db))
    late = issue(db, deadline=date(2022, 1, 11))
    o = orders.order(order_id, db_path=db)
    data = orders.notice_docx(o, orders.events(order_id, db_path=db))
    document = docx.Document(io.BytesIO(data))
    text = "\n".join(p.text for p in document.paragraphs)
    cells = "\n".join(c.text for t in document.tables for row in t.rows for c in row.cells)
    assert "督 办 通 知 单" in text and o["order_no"] in text
    assert all(item in text for item in o["items"])
    assert "弥勒市干部规划家乡行动工作专班" in cells and "2022年1月25日" in cells and "落后" in cells
    assert orders.notice_file_name(o) == f"督办通知单_{o['order_no']}.docx"
    # East Asian font named on the runs, so Word/WPS render the Chinese in 仿宋 / 黑体.
    assert 'w:eastAsia="仿宋"' in document.paragraphs[-1].runs[0]._element.xml

    frame = orders.orders(Scope(), db_path=db, today=date(2022, 1, 20))
    wb = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(orders.orders_xlsx(frame, "状态：全部")))
    assert wb.sheet_names == ["督办单", "说明"]
    rows = wb.get_sheet_by_name("督办单").to_python()
    header = rows[2]
    assert header[:3] == ["编号", "状态", "督办对象"]
    body = [dict(zip(header, r)) for r in rows[3:]]
    assert [r["编号"] for r in body] == [f"督〔2022〕{late}号", f"督〔2022〕{order_id}号"]  # overdue first
    assert body[0]["状态"] == "已下发·逾期" and body[0]["剩余天数"] == -9


def test_roles_are_enforced_by_the_query_layer(db, tmp_path):
    """Whatever the page shows, the write functions check the role (hometown.access.auth.PERMISSIONS)."""
    ingest_ok(db, honghe(tmp_path, DAYS[0]))
    for role in ("county", "leader", "analyst"):
        with pytest.raises(orders.NotPermitted, match="无权下发督办单"):
            issue(db, role=role)
    order_id = issue(db, role="prefecture")
    with pytest.raises(orders.NotPermitted, match="无权签收"):
        orders.transition(order_id, orders.SIGNED, actor="省领导", role="leader", db_path=db, now=NOW)
    orders.transition(order_id, orders.SIGNED, actor="弥勒市专班", role="county", db_path=db, now=NOW)
    orders.transition(order_id, orders.RECTIFYING, actor="弥勒市专班", role="county", db_path=db, now=NOW)
    orders.add_note(order_id, "已完成两个村", actor="弥勒市专班", role="county", db_path=db, now=NOW)
    with pytest.raises(orders.NotPermitted, match="无权调整办结期限"):
        orders.change_deadline(order_id, date(2022, 3, 1), actor="弥勒市专班", reason="延期", role="county",
                               db_path=db, now=NOW)
    with pytest.raises(orders.NotPermitted, match="无权核验办结"):
        orders.transition(order_id, orders.CLOSED, actor="弥勒市专班", role="county", db_path=db, now=NOW)
    orders.transition(order_id, orders.CLOSED, actor="红河州项目组", role="prefecture", db_path=db, now=NOW)
    assert orders.events(order_id, db_path=db)["action"].to_list() == ["下发", "签收", "开始整改", "报送进展", "核验办结"]
