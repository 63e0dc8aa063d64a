"""Several worker processes (issue 17): what the app writes stays whole when two processes write at once, and the
nginx configuration serving/ renders is the shipped template and is accepted by nginx.

The writers are real processes (multiprocessing, spawn) against one warehouse, one audit file and one users file,
released together by a barrier, through the public functions only (hometown.dispatch.orders, hometown.access.audit
and auth), so the test holds wherever those tables live. The browser half (nginx + 2 workers + Chromium) is
tests/browser/test_workers_browser.py.
"""

from __future__ import annotations

import multiprocessing
import re
import subprocess
from datetime import date
from pathlib import Path

import pytest

from serving import nginx as serving_nginx
from serving.cluster import WORKER_FLAGS, find_nginx

REPO = Path(__file__).resolve().parent.parent
ORDERS_PER_PROCESS = 2
AUDIT_ROWS_PER_PROCESS = 15
WRONG_PASSWORDS_PER_PROCESS = 4


@pytest.fixture(autouse=True)
def own_app_store(tmp_path, monkeypatch):
    """Each test its own app store (orders, audit, lock-outs), inherited by the processes it spawns: the session's
    shared scratch store holds other tests' orders and lock-outs, which would be counted here."""
    monkeypatch.setenv("HOMETOWN_APP_DB", str(tmp_path / "app.sqlite3"))


def _orders_writer(db: str, who: str, barrier) -> list[int]:
    """Issue ORDERS_PER_PROCESS orders and take each through to 已办结; returns their ids."""
    from hometown.dispatch import orders

    target = orders.Target("532500", "532504", name="红河州弥勒市")
    barrier.wait(timeout=120)
    ids = []
    for n in range(ORDERS_PER_PROCESS):
        order_id = orders.create_order(target, title=f"{who} 督办 {n}", items=["查明原因"],
                                       responsible_unit="弥勒市工作专班", deadline=date(2099, 1, 1), created_by=who,
                                       db_path=db)
        ids.append(order_id)
        while orders.advance(order_id, actor=who, db_path=db) != orders.CLOSED:
            pass
    return ids


def _audit_writer(path: str, who: str, barrier) -> None:
    from hometown.access import audit

    barrier.wait(timeout=120)
    for n in range(AUDIT_ROWS_PER_PROCESS):
        audit.record("order", username=who, target=f"{who}-{n}", path=path)


def _wrong_passwords(users: str, barrier) -> int:
    """Wrong passwords; returns how many were refused (the one that reaches the limit is refused as a lock-out)."""
    from hometown.access import auth

    barrier.wait(timeout=120)
    refused = 0
    for _ in range(WRONG_PASSWORDS_PER_PROCESS):
        try:
            auth.verify("honghe", "not-the-password", users, client="10.0.0.7")
        except (auth.LoginFailed, auth.LockedOut):
            refused += 1
    return refused


def _run_together(target, args_of: list[tuple]) -> list:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Manager().Barrier(len(args_of))
    with ctx.Pool(len(args_of)) as pool:
        pending = [pool.apply_async(target, (*args, barrier)) for args in args_of]
        return [p.get(timeout=300) for p in pending]


def test_two_processes_issuing_and_closing_orders_at_once_lose_no_event(tmp_path):
    from hometown.dispatch import orders
    from warehouse import db as hdb
    from warehouse.scope import ALL

    db = str(tmp_path / "warehouse.duckdb")
    ids_a, ids_b = _run_together(_orders_writer, [(db, "甲"), (db, "乙")])
    hdb.close_all()
    assert len(set(ids_a + ids_b)) == 2 * ORDERS_PER_PROCESS  # no id handed out twice
    for who, ids in (("甲", ids_a), ("乙", ids_b)):
        for order_id in ids:
            assert orders.order_state(order_id, db_path=db) == orders.CLOSED
            history = orders.events(order_id, db_path=db)
            assert history["to_state"].to_list() == list(orders.STATES), history
            assert set(history["actor"].to_list()) == {who}
    every = orders.orders(ALL, db_path=db)
    assert every.height == 2 * ORDERS_PER_PROCESS
    hdb.close_all()


def test_two_processes_writing_the_audit_log_at_once_keep_every_row_and_the_chain(tmp_path):
    from hometown.access import audit

    path = str(tmp_path / "app.sqlite3")  # the embedded app store (appdb) both processes append to
    _run_together(_audit_writer, [(path, "甲"), (path, "乙")])
    rows = audit.events(path)
    for who in ("甲", "乙"):
        mine = rows.filter(rows["username"] == who)
        assert sorted(mine["target"].to_list()) == sorted(f"{who}-{n}" for n in range(AUDIT_ROWS_PER_PROCESS))
    assert rows.height == 2 * AUDIT_ROWS_PER_PROCESS
    assert audit.verify_chain(path) == []
    assert not audit.pending_path(path).exists()  # every row made it into the table itself


def test_two_processes_counting_wrong_passwords_at_once_lose_no_failure(tmp_path):
    """The lock-out comes exactly at max_failures failures counted by both processes together: a lost update would
    leave the username open."""
    from hometown.access import auth

    users = str(tmp_path / "users.toml")
    limit = 2 * WRONG_PASSWORDS_PER_PROCESS
    auth.create_demo_users(users, rounds=4, settings_=auth.Settings(max_failures=limit, max_address_failures=1000))
    refused = _run_together(_wrong_passwords, [(users,), (users,)])
    assert sum(refused) == limit
    assert auth.locked_until("honghe", users, client="10.0.0.7") is not None
    assert auth.locked_until("honghe", users, client="10.0.0.8") is None  # the lock is per address


def test_with_one_failure_fewer_the_username_stays_open(tmp_path):
    """The counter-check: one wrong password fewer than the limit does not lock (so the test above can fail)."""
    from hometown.access import auth

    users = str(tmp_path / "users.toml")
    auth.create_demo_users(users, rounds=4, settings_=auth.Settings(max_failures=2 * WRONG_PASSWORDS_PER_PROCESS + 1,
                                                                    max_address_failures=1000))
    _run_together(_wrong_passwords, [(users,), (users,)])
    assert auth.locked_until("honghe", users, client="10.0.0.7") is None


def _upload_keeper(folder: str, who: str, barrier) -> list[str]:
    """Keep UPLOADS_PER_PROCESS accepted uploads of one name, all stamped the same second."""
    from types import SimpleNamespace

    from hometown.access import uploads

    result = SimpleNamespace(prefecture_code="532500", file_name="红河州_20220331.xlsx")
    barrier.wait(timeout=120)
    return [str(uploads._save(Path(folder), result, f"{who}-{n}".encode(), "20220401-090000"))
            for n in range(UPLOADS_PER_PROCESS)]


UPLOADS_PER_PROCESS = 5


def test_two_processes_keeping_uploads_of_one_name_in_one_second_keep_every_file(tmp_path):
    kept_a, kept_b = _run_together(_upload_keeper, [(str(tmp_path), "甲"), (str(tmp_path), "乙")])
    kept = kept_a + kept_b
    assert len(set(kept)) == 2 * UPLOADS_PER_PROCESS
    contents = sorted(Path(k).read_bytes().decode() for k in kept)
    assert contents == sorted(f"{who}-{n}" for who in "甲乙" for n in range(UPLOADS_PER_PROCESS))
    folder = tmp_path / "532500"
    assert sorted(p.name for p in folder.iterdir()) == sorted(Path(k).name for k in kept)  # no temporaries left


# --------------------------------------------------------------------------------------------- configuration


def test_the_shipped_template_is_what_serving_writes_for_two_workers():
    template = serving_nginx.TEMPLATE.read_text(encoding="utf-8")
    assert serving_nginx.site([8502, 8503]) == template


def test_the_rendered_site_sends_every_browser_to_its_own_worker_with_the_others_as_backup():
    text = serving_nginx.site([9001, 9002, 9003], listen="127.0.0.1:9000", server_name="x.example")
    assert "listen 127.0.0.1:9000;" in text and "server_name x.example;" in text
    group = re.search(r"upstream hometown_w1 \{(.*?)\}", text, re.S).group(1)
    assert "server 127.0.0.1:9002 max_fails=1" in group
    assert "server 127.0.0.1:9001 backup;" in group and "server 127.0.0.1:9003 backup;" in group
    balanced = re.search(r"upstream hometown_app \{(.*?)\}", text, re.S).group(1)
    assert "least_conn;" in balanced and "backup" not in balanced and balanced.count("server ") == 3
    # Every proxied location goes by the cookie's group; the cookie is set wherever an answer is proxied.
    assert text.count("proxy_pass http://$hometown_upstream;") == 3 and "proxy_pass http://hometown_app" not in text
    assert text.count("add_header Set-Cookie $hometown_cookie always;") == 2
    assert "~(^|\\s)127\\.0\\.0\\.1:9003$ w2;" in text
    with pytest.raises(ValueError):
        serving_nginx.site([9001, 9001])


def test_nginx_accepts_the_standalone_configuration(tmp_path):
    conf = tmp_path / "nginx.conf"
    (tmp_path / "tmp").mkdir()  # serving.cluster makes it; nginx makes the temp folders inside
    conf.write_text(serving_nginx.standalone([9101, 9102], port=9100, run_dir=tmp_path), encoding="utf-8")
    done = subprocess.run([find_nginx(), "-t", "-p", str(tmp_path), "-c", str(conf),
                           "-e", str(tmp_path / "error.log")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "syntax is ok" in done.stderr


def test_workers_run_with_the_flags_of_make_run():
    """One set of Streamlit flags: the Makefile's STREAMLIT_FLAGS (without the port), plus loopback only."""
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    flags = re.search(r"STREAMLIT_FLAGS := (.*?)\n\n", makefile, re.S).group(1).replace("\\\n", " ").split()
    flags = [f for f in flags if f not in ("--server.port", "$(PORT)")]
    worker = list(WORKER_FLAGS)
    assert worker[:len(flags)] == flags
    assert worker[len(flags):] == ["--server.address", "127.0.0.1"]
    # The production unit runs the same command (systemd is its supervisor).
    unit = (REPO / "deploy" / "systemd" / "hometown-worker@.service").read_text(encoding="utf-8")
    start = re.search(r"^ExecStart=(.*?)\n(?!\s)", unit, re.S | re.M).group(1).replace("\\\n", " ").split()
    assert start[1:] == ["-m", "streamlit", "run", "serve.py", "--server.port", "%i", *worker]
    assert "Restart=always" in unit
