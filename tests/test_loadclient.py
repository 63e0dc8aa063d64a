"""The load benchmark's protocol client (bench/load/client.py) against a real ``serve.py`` process on the demo warehouse,
with sign-in on and the demo users written by the project's own command: it signs in, gets the overview's elements
(the KPI tiles agree with the query layer), clicks a ranking bar through to the region page, navigates by a page's
URL, and a wrong password gets the login form back.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from bench.load import server
from bench.load.client import Session
from hometown import fmt
from warehouse import metrics
from warehouse.scope import Filters, Scope


def _run(coroutine):
    """``asyncio.run`` in a thread of its own: under pytest-xdist this file may share its worker process with the
    browser tests, whose Playwright sync API leaves an event loop marked running in the main thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@pytest.fixture(scope="module")
def app(demo_db, tmp_path_factory):
    scratch = tmp_path_factory.mktemp("loadclient")
    users = server.write_demo_users(scratch / "users.toml")
    with server.one_process(demo_db, users=users, scratch=scratch) as target:
        yield target


def _tile(name: str, scope: Scope, demo_db, monkeypatch) -> str:
    """The KPI tile's text as the query layer gives the figure (one definition: hometown.fmt.count and the unit)."""
    from hometown.progress import overview

    monkeypatch.setenv("HOMETOWN_DB", str(demo_db))
    value = overview.totals(Filters(), scope).row(0, named=True)[name]
    return fmt.count(value, metrics.UNITS[name])


def test_signs_in_reads_the_overview_and_drills_down(app, demo_db, monkeypatch):
    expected_province = _tile("task_villages", Scope(), demo_db, monkeypatch)
    expected_honghe = _tile("task_villages", Scope(prefecture_code="532500"), demo_db, monkeypatch)
    assert expected_province != expected_honghe

    async def scenario():
        async with Session(app.url) as s:
            first = await s.open("/")
            assert s.widget("login_username") and s.widget("login_password")
            assert not s.metrics()  # nothing of the warehouse before sign-in
            signed = await s.sign_in("leader", server.DEMO_PASSWORDS["leader"])
            assert signed.status == "FINISHED_SUCCESSFULLY" and not signed.errors
            assert s.widget("login_username") is None
            assert s.page == ""  # the default page: the overview
            label = metrics.LABELS["task_villages"]
            assert s.metrics()[label] == expected_province
            assert "ov_bars_532500" in s.widget_keys("ov_bars_")

            rerun = await s.rerun()
            assert not rerun.errors and s.metrics()[label] == expected_province

            click = await s.click("ov_bars_532500")  # the ranking bar: st.switch_page to the region page
            assert not click.errors and not click.fragment
            assert s.page == "region" and "code=532500" in s.query
            assert any("红河州" in t for t in s.texts())
            assert s.metrics()[label] == expected_honghe

            await s.rerun()  # the query string the server set is kept: still 红河州
            assert s.page == "region" and s.metrics()[label] == expected_honghe

            nav = await s.navigate("/region?code=532504")
            assert not nav.errors and any("弥勒市" in t for t in s.texts())
            back = await s.navigate("/")
            assert not back.errors and s.metrics()[label] == expected_province
            return first

    first = _run(scenario())
    assert first.seconds > 0 and first.messages > 0


def test_wrong_password_gets_the_login_form_again(app):
    async def scenario():
        async with Session(app.url) as s:
            await s.open("/region?code=532500")
            run = await s.sign_in("honghe", "not-the-password")
            assert run.status == "FINISHED_SUCCESSFULLY"
            assert s.widget("login_username") is not None and s.widget("login_password") is not None
            assert any("用户名或密码错误" in t for t in s.texts())
            assert not s.metrics()
            # The right password on the same form signs in and lands on the deep link.
            await s.sign_in("honghe", server.DEMO_PASSWORDS["honghe"])
            assert s.widget("login_username") is None
            assert s.page == "region" and any("红河州" in t for t in s.texts())

    _run(scenario())


def test_paced_sessions_rerun_drill_down_and_are_measured(app):
    """The benchmark's paced scenario at a tiny scale: three demo users' sessions sign in, rerun and drill down, and
    the summary counts their runs per page and the server's CPU (no timed assertion: figures go to the bench)."""
    from bench.load import scenarios

    users = ["mile", "honghe", "leader"]
    result = _run(scenarios.paced(app, users, window_s=6.0, rerun_s=1.5, drill_s=3.0, ramp_s=1.0))
    assert result["up"] == 3 and result["disconnects"] == 0
    assert result["errors"] == 0, result["error_samples"]
    assert result["full_runs"] >= 3
    pages = result["pages"]
    assert "/" in pages or "/region 州市" in pages  # the overview users' pages (or where their drill took them)
    assert "/region 县" in pages                     # the county user's home
    assert sum(n for n, _, _ in pages.values()) == result["full_runs"]
    assert len(result["cores"]) == len(app.pids) and result["cores"][0] > 0
    assert result["rss"][0] > 50  # MB: a Streamlit process with the app loaded


def test_a_fresh_server_asks_every_first_visitor_to_sign_in(demo_db, tmp_path):
    """Found by the load benchmark: on a freshly started serve.py, an overview and deep links opened at once raced past
    the switch that turns Streamlit's legacy pages-directory mode off (ui/__init__.py), and a deep link ran
    pages/region.py without app.py: the region's figures without signing in. serve.py turns the mode off before any
    session starts; every first visitor gets the login form, whatever page they open."""
    users = server.write_demo_users(tmp_path / "users.toml")
    # A deep link first, the overview a moment later (the order that let the deep link through, twice out of twice).
    urls = ["/region?code=532504", "/", "/village?code=532504001001", "/", "/region?code=532500"]

    async def visit(base: str, url: str, delay: float) -> tuple[str, str, list[str]]:
        await asyncio.sleep(delay)
        async with Session(base) as s:
            await s.open(url)
            return url, s.page, s.widget_keys()

    async def scenario(base: str):
        return await asyncio.gather(*(visit(base, u, 0.25 * i) for i, u in enumerate(urls)))

    with server.one_process(demo_db, users=users, scratch=tmp_path) as fresh:
        seen = _run(scenario(fresh.url))
    for url, page, keys in seen:
        assert "login_username" in keys and "login_password" in keys, (url, page, keys)
        assert not [k for k in keys if k.startswith(("rg_", "ov_"))], (url, keys)
