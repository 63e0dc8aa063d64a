"""Two app machines against one PostgreSQL and one warehouse (issue 18), driven in headless Chromium: two
``streamlit run serve.py`` servers on different ports, sign-in on, ``HOMETOWN_APP_DB`` pointing both at the same
PostgreSQL (a fresh schema of the session's server, tests/pgserver.py) and ``HOMETOWN_DB`` at the same shared
warehouse folder (the partitioned warehouse, warehouse/partitions.py), which both read only
(``HOMETOWN_WAREHOUSE_READONLY=1``): this test's process is the writer.

An order issued from the alert board on machine A is signed for, rectified and closed on machine B, whose page shows
its whole history, A's issue included; a username locked out by wrong passwords on A is refused on B with the right
password; a load the writer publishes during the test is seen by both; the audit rows written by both servers form
one valid chain. (200 concurrent order changes from two
processes: tests/test_appdb.py, at function level, where a browser adds nothing.)
"""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

import polars as pl
from playwright.sync_api import expect

from hometown.access import audit, auth
from hometown.dispatch import orders
from warehouse import db as hdb
from warehouse.scope import Scope
from test_alerts import MILE, honghe, ingest_ok, yuxi

ALERT_KEY = f"county_behind:{MILE}:2021"


def _key(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in text)


def _sign_in(page, wait_for_streamlit, username: str, password: str) -> None:
    wait_for_streamlit(page)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    wait_for_streamlit(page)


def test_two_app_machines_share_orders_audit_and_lock_outs(tmp_path, pg_server, streamlit_server, browser, page,
                                                          wait_for_streamlit, monkeypatch, screenshot):
    folder = tmp_path / "reports"
    folder.mkdir()
    warehouse = tmp_path / "warehouse"  # a folder: the partitioned warehouse every machine reads
    ingest_ok(warehouse, yuxi(folder, date(2021, 3, 31)),
              *(honghe(folder, d) for d in (date(2021, 6, 30), date(2021, 9, 30), date(2021, 12, 31))))
    hdb.close_all()
    app_db = pg_server.fresh_schema("two_machines")
    monkeypatch.setenv("HOMETOWN_APP_DB", app_db)  # this process reads what the two servers wrote
    users = tmp_path / "users.toml"
    auth.create_demo_users(users, rounds=4)
    env = {"HOMETOWN_AUTH": "on", "HOMETOWN_USERS": str(users), "HOMETOWN_APP_DB": app_db,
           "HOMETOWN_UPLOADS": str(tmp_path / "uploads"), "HOMETOWN_WAREHOUSE_READONLY": "1"}
    machine_a = streamlit_server(warehouse, script="serve.py", env={**env, "HOMETOWN_MACHINE": "a"})
    machine_b = streamlit_server(warehouse, script="serve.py", env={**env, "HOMETOWN_MACHINE": "b"})
    assert machine_a != machine_b

    # Machine A: the province's administrator issues an order from the alert board.
    page.goto(f"{machine_a}/dispatch")
    _sign_in(page, wait_for_streamlit, "admin", "admin@demo")
    row = page.locator(f".st-key-alert_{_key(ALERT_KEY)}")
    expect(row).to_contain_text("弥勒市")
    row.get_by_role("button", name="下发督办").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("下发督办单")
    dialog.get_by_role("button", name="确认下发").click()
    wait_for_streamlit(page)
    expect(page.locator(".st-key-dp_detail")).to_contain_text("已下发")
    (order_id,) = orders.orders(Scope(), db_path=warehouse)["order_id"].to_list()
    hdb.close_all()

    # Machine B: 红河州's project group signs for it, rectifies and closes it.
    other = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN", timezone_id="Asia/Shanghai")
    page_b = other.new_page()
    try:
        page_b.goto(f"{machine_b}/dispatch?view={quote('督办单')}&order={order_id}")
        _sign_in(page_b, wait_for_streamlit, "honghe", "honghe@demo")
        detail = page_b.locator(".st-key-dp_detail")
        expect(detail).to_contain_text("县进度滞后（红色预警）")
        for action, state in (("签收", orders.SIGNED), ("开始整改", orders.RECTIFYING), ("核验办结", orders.CLOSED)):
            detail.get_by_role("button", name=action, exact=True).click()
            wait_for_streamlit(page_b)
            expect(detail.get_by_text(state, exact=True).first).to_be_visible()
        # The whole history on B's screen: A's issue and B's three steps.
        expect(detail).to_contain_text("下发")
        expect(detail).to_contain_text("核验办结")
        screenshot(page_b, "two-machines-order-closed-on-b")

        history = orders.events(order_id, db_path=warehouse)
        assert history["action"].to_list() == ["下发", "签收", "开始整改", "核验办结"]
        assert history["to_state"].to_list() == list(orders.STATES)
        actors = history["actor"].to_list()
        assert actors[0] != actors[1] and len(set(actors[1:])) == 1  # issued by A's user, answered by B's

        # A lock-out on A holds on B: five wrong passwords for 弥勒市 on A, then the right one on B.
        lock_page = browser.new_context(locale="zh-CN").new_page()
        lock_page.goto(machine_a)
        for _ in range(5):
            _sign_in(lock_page, wait_for_streamlit, "mile", "wrong-password")
        expect(lock_page.get_by_test_id("stMain")).to_contain_text("已临时锁定")
        lock_page.context.close()
        late = browser.new_context(locale="zh-CN").new_page()
        late.goto(machine_b)
        _sign_in(late, wait_for_streamlit, "mile", "mile@demo")
        expect(late.get_by_test_id("stMain")).to_contain_text("已临时锁定")
        assert late.get_by_test_id("stSidebar").get_by_text("退出登录").count() == 0
        late.context.close()
        # The writer publishes a new load into the shared folder: both machines show it at their next run.
        ingest_ok(warehouse, honghe(folder, date(2022, 3, 31)))
        for machine, p, who in ((machine_a, page, "admin"), (machine_b, page_b, "honghe")):
            p.goto(machine)  # a new session: signed in again
            _sign_in(p, wait_for_streamlit, who, f"{who}@demo")
            expect(p.get_by_test_id("stMain").get_by_text("最新一期截至 2022-03-31")).to_be_visible(timeout=60_000)
    finally:
        other.close()

    # The audit rows of both machines: one chain.
    trail = audit.events(limit=10_000).sort("event_id")
    order_rows = trail.filter(pl.col("action") == "order")
    assert order_rows["username"].to_list() == ["admin", "honghe", "honghe", "honghe"]
    assert trail.filter(pl.col("action") == "login_locked").height >= 1
    assert {"admin", "honghe", "mile"} <= set(trail["username"].drop_nulls())
    assert audit.verify_chain() == []
