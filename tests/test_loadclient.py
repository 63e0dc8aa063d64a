"""The load benchmark's protocol client (bench/load/client.py) against a real ``serve.py`` process on the demo warehouse,
with sign-in on and the demo users written by the project's own command: it signs in, gets the overview's elements
(the KPI tiles agree with the query layer), clicks a ranking bar through to the region page, navigates by a page's
URL, and a wrong password gets the login form back.
"""

from __future__ import annotations

import asyncio

import pytest

from bench.load import server
from bench.load.client import Session
from hometown import fmt
from warehouse import metrics
from warehouse.scope import Filters, Scope


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

    first = asyncio.run(scenario())
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

    asyncio.run(scenario())
