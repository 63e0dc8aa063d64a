"""Every run of the app's code goes through here, the whole script (app.py) or one fragment or dialog.

- ``run_page(navigation)``: app.py runs the chosen page through it. An error the page did not expect never reaches
  the browser as a traceback (which would show server paths and source lines): it is logged on the server with a
  short reference, and the page shows a Chinese message with that reference; the sidebar, the navigation and the
  other pages stay usable. A warehouse that is missing or damaged (warehouse.db) is said as such.
- ``from_app()``: the first line of every page. A page renders only when app.py ran it (``run_page``, after
  sign-in); a run of a page file by itself is refused with a Chinese message before it reads anything. Streamlit's
  legacy pages-directory mode (a ``pages/`` folder beside the main script) runs ``pages/<name>.py`` straight from a
  deep link, without app.py: serve.py turns that mode off before any session, ``ui/__init__.py`` at the first run
  that imports ``ui``, but on a fresh ``streamlit run app.py`` two first visitors at once race past the latter. The
  mark is a context variable set by ``run_page`` for the duration of the page's run in that script thread: nothing
  a client sends can set it. When the session's main script is app.py (the legacy mode ran the page), the mode is
  turned off and the run started again, now through app.py: the visitor gets the sign-in form, then the page the
  link named. Any other main script (a page file itself: AppTest, ``streamlit run pages/x.py``) gets the message.
- ``checked``: the decorator every ``st.fragment`` and ``st.dialog`` function carries (under Streamlit's own). A
  fragment's rerun (the big screen's timed refresh, the map panel, a dialog's buttons) does not run app.py, so it
  would skip the sign-in check: ``checked`` first checks the signed-in user against the users file (ui.auth.recheck;
  a disabled, deleted, changed or timed-out user gets a full rerun, which signs them out), then runs the body under
  the same error handling as a page.

``HOMETOWN_RAISE_ERRORS=1`` (set by the test suite) re-raises unexpected errors after the message, so AppTest's
``at.exception`` still catches a page's bugs. Streamlit's own ``client.showErrorDetails = "none"``
(.streamlit/config.toml) hides the details of anything that escapes even so.
"""

from __future__ import annotations

import functools
import logging
import os
import uuid
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Callable

import streamlit as st

from ui import auth as ui_auth
from ui.text import md
from warehouse import db

RAISE_ENV = "HOMETOWN_RAISE_ERRORS"
log = logging.getLogger("hometown.app")

APP = Path(__file__).resolve().parent.parent / "app.py"
NOT_FROM_APP = "本页面须从平台入口打开：请刷新页面或返回首页，登录后从导航进入。"
# True only while run_page runs the page app.py's navigation chose (a per-run mark of this script thread's context).
_FROM_APP: ContextVar[bool] = ContextVar("hometown_page_from_app", default=False)


def shown(fn: Callable, *args, **kwargs) -> Any:
    """``fn(*args, **kwargs)``, its errors shown as a Chinese message (st.rerun/st.stop pass through: they are
    BaseExceptions, not errors)."""
    try:
        return fn(*args, **kwargs)
    except db.WarehouseDamaged as exc:
        st.error(md(exc), icon=":material/error:")
    except db.WarehouseMissing as exc:
        st.warning(md(exc))
    except Exception:
        ref = uuid.uuid4().hex[:8]
        user = ui_auth.current_user() or {}
        log.exception("page error %s (user %s)", ref, user.get("username", "-"))
        st.error(f"页面出错，部分内容未能显示。错误已记录（编号 {ref}），请稍后重试；如一再出现，请将编号告知管理员。",
                 icon=":material/error:")
        if os.environ.get(RAISE_ENV, "").strip() not in ("", "0"):
            raise
    return None


def run_page(navigation) -> None:
    """Run the page st.navigation chose (app.py, after sign-in), marked as run by app.py for ``from_app``."""
    token = _FROM_APP.set(True)
    try:
        shown(navigation.run)
    finally:
        _FROM_APP.reset(token)


def from_app() -> None:
    """Every page's first line: stop a run of the page that app.py did not start (see the module's docstring)."""
    if _FROM_APP.get():
        return
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    main = Path(ctx.main_script_path).resolve() if ctx is not None and ctx.main_script_path else None
    log.warning("a page ran without app.py (main script %s); refused", main.name if main else "-")
    if main == APP:
        # The main script is app.py, the page was run by the legacy mode: off for good (the app navigates with
        # st.navigation only), and the same link again, now through app.py (which marks its pages: no loop).
        PagesManager.uses_pages_directory = False
        st.rerun()
    st.error(NOT_FROM_APP, icon=":material/block:")
    st.stop()


def checked(fn: Callable) -> Callable:
    """For every fragment and dialog body: check the user, then run under ``shown``."""

    @functools.wraps(fn)
    def run_checked(*args, **kwargs):
        ui_auth.recheck()
        return shown(fn, *args, **kwargs)

    return run_checked
