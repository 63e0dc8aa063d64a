"""No page shows anything of the warehouse unless app.py ran it, after sign-in (ui/guard.py ``from_app``).

Streamlit's legacy pages-directory mode (a ``pages/`` folder beside the main script) is on until something turns it
off: serve.py does before any session; ``streamlit run app.py`` leaves it to the first run that imports ``ui``, and
two first visitors at once race past that switch, so a deep link could run ``pages/region.py`` by itself, without
app.py's sign-in. Every page's first line refuses a run app.py did not start. Tested both ways: each page file run
directly by AppTest (sign-in on) shows the refusal and nothing else, and a freshly started ``streamlit run app.py``
whose first visitors open deep links together sends none of them a figure, a table or a place's name.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bench.load import server
from bench.load.client import Session
from apptests import kpis
from ui import tiles

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted(p.name for p in (ROOT / "pages").glob("*.py"))
# Element types that carry the warehouse's figures: tiles, tables, charts, maps, images, downloads.
DATA_ELEMENTS = {"metric", "arrow_data_frame", "arrow_table", "plotly_chart", "vega_lite_chart", "deck_gl_json_chart",
                 "graphviz_chart", "imgs", "download_button", "json", "table", "data_frame"}


def _run(coroutine):
    """``asyncio.run`` in a thread of its own (see tests/test_loadclient.py)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


class Watching(Session):
    """A session that keeps every element the server sent it, across runs (Session keeps the last run's only)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sent: list = []

    def _delta(self, msg) -> None:
        super()._delta(msg)
        if msg.delta.WhichOneof("type") == "new_element":
            self.sent.append(msg.delta.new_element)


ADMIN = {"username": "admin", "display_name": "系统管理员", "role": "admin"}


def _direct(page: str, demo_db, monkeypatch, tmp_path, signed_in: bool):
    """The page file run by AppTest as the main script, with sign-in on (the demo users), as Streamlit's legacy
    pages-directory mode would run it: without app.py. ``signed_in`` fills the session as a sign-in would."""
    from streamlit.testing.v1 import AppTest

    from hometown.access.auth import scope_for

    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("HOMETOWN_DB", str(demo_db))
    monkeypatch.setenv("HOMETOWN_AUTH", "on")
    monkeypatch.setenv("HOMETOWN_USERS", str(server.write_demo_users(tmp_path / "users.toml")))
    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=120)
    at.query_params["code"] = "532504"
    if signed_in:
        at.session_state["user"] = ADMIN
        at.session_state["role"] = "admin"
        at.session_state["scope"] = scope_for(ADMIN)
    return at.run()


def _nothing_but_the_refusal(at, page: str) -> None:
    from ui.guard import NOT_FROM_APP

    assert not at.exception, (page, at.exception)
    assert [e.value for e in at.error] == [NOT_FROM_APP], page
    for kind in ("metric", "dataframe", "table", "plotly_chart", "pydeck_chart", "download_button", "button",
                 "selectbox", "text_input", "file_uploader", "markdown", "caption", "title", "html", "tabs"):
        assert not at.get(kind), (page, kind, at.get(kind))


@pytest.mark.parametrize("page", PAGES)
def test_a_page_file_run_by_itself_shows_only_the_refusal(page, demo_db, monkeypatch, tmp_path):
    at = _direct(page, demo_db, monkeypatch, tmp_path, signed_in=False)
    _nothing_but_the_refusal(at, page)


@pytest.mark.parametrize("page", ["region.py", "audit.py", "rankings.py"])
def test_a_signed_in_session_does_not_open_a_page_file_run_by_itself(page, demo_db, monkeypatch, tmp_path):
    """Even with a signed-in user in the session: only app.py's run marks the page (nothing in the session does)."""
    at = _direct(page, demo_db, monkeypatch, tmp_path, signed_in=True)
    _nothing_but_the_refusal(at, page)


def test_every_page_file_starts_with_the_guard():
    """The guard is the first statement after the docstring (and ``from __future__``): nothing of the page runs first."""
    import ast

    for name in PAGES:
        body = ast.parse((ROOT / "pages" / name).read_text(encoding="utf-8")).body
        body = [n for n in body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))
                and not (isinstance(n, ast.ImportFrom) and n.module == "__future__")]
        first, second = body[0], body[1]
        assert isinstance(first, ast.ImportFrom) and first.module == "ui.guard", name
        assert ast.unparse(second) == "from_app()", name


def _signed_in_app(demo_db, monkeypatch, tmp_path, username: str = "admin"):
    """app.py in AppTest with sign-in on (the demo users), signed in through the login form on the home page."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("HOMETOWN_DB", str(demo_db))
    monkeypatch.setenv("HOMETOWN_AUTH", "on")
    monkeypatch.setenv("HOMETOWN_USERS", str(server.write_demo_users(tmp_path / "users.toml")))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run().run()  # twice: see tests/test_auth.py's _app (AppTest's page id before st.navigation)
    at.text_input(key="login_username").set_value(username)
    at.text_input(key="login_password").set_value(server.DEMO_PASSWORDS[username])
    at.button(key="FormSubmitter:login_form-登录").click().run()
    assert at.session_state["role"] == "admin" and not at.exception, at.exception
    return at


@pytest.mark.parametrize("page", ["pages/region.py", "pages/audit.py", "pages/rankings.py"])
def test_the_same_pages_through_app_py_after_sign_in_render(page, demo_db, monkeypatch, tmp_path, no_legacy_pages_mode):
    """The counterpart: app.py, sign-in on, the admin signed in through the login form, then the page renders."""
    from ui.guard import NOT_FROM_APP

    at = _signed_in_app(demo_db, monkeypatch, tmp_path)
    at.switch_page(page)
    at.query_params["code"] = "532504"
    at.run()
    assert not at.exception, at.exception
    assert NOT_FROM_APP not in [e.value for e in at.error]
    assert kpis(at) or at.dataframe, page


def test_a_deep_link_the_legacy_mode_runs_by_itself_gets_the_sign_in_form(demo_db, monkeypatch, tmp_path):
    """The race of a fresh ``streamlit run app.py``, deterministic: AppTest starts every run in Streamlit's legacy
    pages-directory mode (it resets the mode; app.py's folder has pages/), and with ``ui`` already imported nothing
    turns the mode off before the deep link's page runs by itself, as the second of two first visitors' runs does on
    a fresh server. The page refuses, the mode goes off, and the same link runs through app.py: the login form."""
    import ui  # noqa: F401  already imported, as by the first visitor's run

    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("HOMETOWN_DB", str(demo_db))
    monkeypatch.setenv("HOMETOWN_AUTH", "on")
    monkeypatch.setenv("HOMETOWN_USERS", str(server.write_demo_users(tmp_path / "users.toml")))
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.switch_page("pages/region.py")
    at.query_params["code"] = "532504"
    at.run()
    assert not at.exception, at.exception
    assert [t.label for t in at.text_input] == ["用户名", "密码"]
    assert not kpis(at) and not at.dataframe and not at.get("plotly_chart")
    assert "弥勒市" not in " ".join(m.value for kind in ("markdown", "caption", "title") for m in at.get(kind))


def test_first_visitors_of_a_fresh_streamlit_run_app_py_get_nothing_before_sign_in(demo_db, tmp_path):
    """`streamlit run app.py` (not serve.py): deep links and the overview opened at once by the first visitors of a
    fresh server. Each gets the login form, or the refusal when its run raced past the switch; none gets a figure."""
    users = server.write_demo_users(tmp_path / "users.toml")
    urls = ["/region?code=532504", "/", "/village?code=532504001001", "/region?code=532500", "/map", "/",
            "/teams?county=532504", "/dispatch"]

    async def visit(base: str, url: str, delay: float):
        await asyncio.sleep(delay)
        async with Watching(base) as s:
            await s.open(url)
            return url, s.widget_keys(), s.texts(), s.sent

    async def scenario(base: str):
        return await asyncio.gather(*(visit(base, u, 0.1 * i) for i, u in enumerate(urls)))

    with server.one_process(demo_db, users=users, scratch=tmp_path, script="app.py") as fresh:
        seen = _run(scenario(fresh.url))
    for url, keys, texts, sent in seen:
        kinds = sorted({e.WhichOneof("type") for e in sent} & DATA_ELEMENTS)
        assert not kinds, (url, kinds)
        assert not [e for e in sent if e.WhichOneof("type") == "html" and tiles.values(e.html.body)], url  # KPI tiles
        shown = " ".join(texts)
        assert "弥勒市" not in shown and "红河" not in shown, (url, shown[:300])
        assert ("login_username" in keys) or ("须从平台入口" in shown), (url, keys, shown[:300])
