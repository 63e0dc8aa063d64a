"""Two Streamlit workers behind nginx (serving/, issue 17), end to end in Chromium: sessions opened through the
proxy land on both workers and stay there (the hometown_worker cookie, and an open websocket on each worker's
port), a report load made during the test is seen by the sessions of both workers (browsers, and the load
benchmark's protocol client through the proxy), and when one worker is killed
its browser gets the page back from the other after signing in again, while the supervisor starts the dead one
again.

Sign-in is on (demo users, bcrypt cost 4). One cluster and two to four browser contexts: 71–265 s measured on the
2-core machine at load averages of 30–50 (nothing quieter was available).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from test_alerts import honghe  # noqa: E402

from bench.load.client import Session  # noqa: E402
from hometown.access import auth  # noqa: E402
from pipelines.ingest import ingest  # noqa: E402
from serving import COOKIE, cluster  # noqa: E402

REPO = Path(__file__).resolve().parent.parent.parent
FIRST, SECOND = date(2021, 12, 31), date(2022, 3, 31)


def _established(port: int) -> int:
    """Open TCP connections whose local end is 127.0.0.1:port (the worker's side of nginx's connections)."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state = fields[1], fields[3]
        if state == "01" and int(local.split(":")[1], 16) == port:
            count += 1
    return count


def _worker_cookie(context) -> str | None:
    return next((c["value"] for c in context.cookies() if c["name"] == COOKIE), None)


def _sign_in(page, wait_for_streamlit, username: str = "leader", password: str = "leader@demo") -> None:
    page.get_by_label("用户名").wait_for(timeout=60_000)
    wait_for_streamlit(page)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    # Signed in when the sidebar says so; not "idle": the overview's map panel then loads deck.gl by itself, which on
    # a busy machine takes longer than the whole rest of this test needs (and is tests/browser/test_map.py's matter).
    page.get_by_test_id("stSidebar").get_by_text("退出登录").wait_for(timeout=60_000)


def _newest(page, day: date, timeout_ms: float = 60_000) -> None:
    page.get_by_test_id("stMain").get_by_text(f"最新一期截至 {day.isoformat()}").wait_for(timeout=timeout_ms)


async def _protocol_sessions(c, day: date) -> set[int]:
    """Two sessions of the load benchmark's protocol client (Streamlit's websocket protocol, no browser) opened through
    nginx at once, each signed in as the leader: the workers whose cookie they got (least_conn sends the second,
    opened while the first holds its websocket, to the other worker), each shown the newest report."""
    workers = set()
    async with Session(c.url) as first, Session(c.url) as second:
        for s in (first, second):
            await s.open("/")
            signed = await s.sign_in("leader", "leader@demo")
            assert signed.status == "FINISHED_SUCCESSFULLY" and not signed.errors, signed
            assert any(f"最新一期截至 {day.isoformat()}" in t for t in s.texts()), s.texts()[:20]
            workers.add(c.worker_of_cookie(s.cookies.get(COOKIE)))
    return workers


def test_two_workers_behind_nginx(tmp_path, browser, wait_for_streamlit):
    db = tmp_path / "warehouse.duckdb"
    assert not ingest([honghe(tmp_path, FIRST)], db)[0].refused
    users = tmp_path / "users.toml"
    auth.create_demo_users(users, rounds=4)
    env = {"HOMETOWN_DB": str(db), "HOMETOWN_AUTH": "on", "HOMETOWN_USERS": str(users),
           "HOMETOWN_APP_DB": str(tmp_path / "app.sqlite3"), "HOMETOWN_UPLOADS": str(tmp_path / "uploads")}
    contexts = []
    with cluster(workers=2, env=env, run_dir=tmp_path / "run", health_interval=1.0) as c:
        try:
            # Sessions until both workers hold one (least_conn gives the second browser the other worker).
            sessions: dict[int, object] = {}
            while len(sessions) < 2 and len(contexts) < 4:
                context = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="zh-CN")
                contexts.append(context)
                page = context.new_page()
                page.set_default_timeout(30_000)
                page.goto(c.url)
                _sign_in(page, wait_for_streamlit)
                _newest(page, FIRST)
                worker = c.worker_of_cookie(_worker_cookie(context))
                assert worker is not None, context.cookies()
                sessions.setdefault(worker, page)
            assert sorted(sessions) == [0, 1], "every session went to one worker"
            # Each worker holds an open websocket of its browser (nothing else keeps a connection open).
            assert all(_established(port) >= 1 for port in c.worker_ports), c.worker_ports

            # A report load while the sessions are open: the next run of each session, on either worker, shows it.
            (tmp_path / "later").mkdir()
            later = honghe(tmp_path / "later", SECOND)
            done = subprocess.run([sys.executable, "-m", "pipelines", "ingest", str(later), "--db", str(db)],
                                  cwd=REPO, capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, done.stdout + done.stderr
            for worker, page in sessions.items():
                page.reload()  # a new session of this browser: the cookie keeps it on its worker
                _sign_in(page, wait_for_streamlit)
                _newest(page, SECOND)
                assert c.worker_of_cookie(_worker_cookie(page.context)) == worker

            # The protocol client through the proxy too: its sessions land on both workers and see the new load.
            # (In a thread of its own: Playwright's sync API keeps an event loop in this one.)
            with ThreadPoolExecutor(1) as pool:
                assert pool.submit(asyncio.run, _protocol_sessions(c, SECOND)).result(timeout=300) == {0, 1}

            # Worker 0 dies: its browser reconnects through nginx to worker 1, where signing in again gives the page.
            victim, page = 0, sessions[0]
            killed = c.kill_worker(victim, hold=True)  # down until released: the browser must move, not wait
            _sign_in(page, wait_for_streamlit)
            _newest(page, SECOND)
            assert c.worker_of_cookie(_worker_cookie(page.context)) == 1
            # The other session never noticed.
            other = sessions[1]
            assert other.get_by_test_id("stSidebar").get_by_text("退出登录").count() == 1
            # The supervisor started worker 0 again; the moved browser stays where it is now.
            assert c.worker_pids()[victim] is None  # still held down
            c.release_worker(victim)
            restarted = c.wait_worker(victim, not_pid=killed)
            assert restarted != killed and c.restarts[victim] >= 1
            page.reload()
            _sign_in(page, wait_for_streamlit)
            _newest(page, SECOND)
            assert c.worker_of_cookie(_worker_cookie(page.context)) == 1
        finally:
            for context in contexts:
                context.close()
