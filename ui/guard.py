"""Every run of the app's code goes through here, the whole script (app.py) or one fragment or dialog.

- ``run_page(navigation)``: app.py runs the chosen page through it. An error the page did not expect never reaches
  the browser as a traceback (which would show server paths and source lines): it is logged on the server with a
  short reference, and the page shows a Chinese message with that reference; the sidebar, the navigation and the
  other pages stay usable. A warehouse that is missing or damaged (warehouse.db) is said as such.
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
from typing import Any, Callable

import streamlit as st

from ui import auth as ui_auth
from ui.text import md
from warehouse import db

RAISE_ENV = "HOMETOWN_RAISE_ERRORS"
log = logging.getLogger("hometown.app")


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
    """Run the page st.navigation chose (app.py)."""
    shown(navigation.run)


def checked(fn: Callable) -> Callable:
    """For every fragment and dialog body: check the user, then run under ``shown``."""

    @functools.wraps(fn)
    def run_checked(*args, **kwargs):
        ui_auth.recheck()
        return shown(fn, *args, **kwargs)

    return run_checked
