"""Sign-in on the page: the login form app.py shows before any navigation, the user badge and sign-out button in
the sidebar, and the idle timeout. The rules (passwords, lock-out, scopes, roles) are hometown.access.auth's.

``gate()`` runs first in every script run of app.py. Only with HOMETOWN_AUTH=off is the app open: nothing is asked,
the scope is the whole province, and every page says so (``open_notice``). Otherwise a session without a signed-in
user gets the form and nothing else (``st.stop()``); a users file that is missing, a folder, a broken link or
unreadable lets nobody in and says why. A signed-in session is re-checked on every run against the users file, so
a disabled account or a changed role takes effect at the user's next click; fragment and dialog reruns, which do
not run app.py, are re-checked by ``recheck`` (through ui.guard.checked). The session keeps ``user`` (no hash),
``role`` and ``scope`` — ui.common.current_scope()/current_role() read them — and ``last_seen``.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Callable

import streamlit as st

from geo import reference
from hometown.access import audit, auth
from ui.text import md

NOTICE = "auth_notice"
log = logging.getLogger("hometown.access.auth")
OPEN_NOTICE = "未启用登录（HOMETOWN_AUTH=off）：任何人都可以查看全部页面和数据，并可上传、导出和办理督办单。仅供演示和测试使用。"


TRUST_PROXY_ENV = "HOMETOWN_TRUST_PROXY"


def client() -> str | None:
    """The browser's address, for the audit log and the lock-outs (None when Streamlit cannot tell).

    Behind nginx (deploy/nginx/hometown.conf) every browser reaches Streamlit from 127.0.0.1: with
    HOMETOWN_TRUST_PROXY=1 the address is the X-Real-IP header nginx sets, taken only from a loopback peer (a
    browser talking to Streamlit directly cannot choose its address). Without it, or without the header, the
    address is the peer's."""
    try:
        address = st.context.ip_address
    except Exception:  # not in a browser session (AppTest, bare mode)
        return None
    if not isinstance(address, str):
        return None
    if os.environ.get(TRUST_PROXY_ENV, "").strip() in ("1", "on", "true", "yes") \
            and address in ("127.0.0.1", "::1", "localhost"):
        try:
            forwarded = (st.context.headers.get("X-Real-IP") or "").strip()
        except Exception:
            forwarded = ""
        if forwarded:
            return forwarded[:64]
    return address


def current_user() -> dict | None:
    return st.session_state.get("user")


def signed_in_actor() -> str | None:
    """The signed-in user as recorded on orders and briefings ("张三（zhangsan）"); None when the app runs without
    sign-in."""
    user = current_user()
    if not user:
        return None
    name, login = user.get("display_name") or "", user.get("username") or ""
    return f"{name}（{login}）" if name and name != login else login


def _sign_in(user: auth.User) -> None:
    st.session_state["user"] = user.public()
    st.session_state["role"] = user.role
    st.session_state["scope"] = auth.scope_for(user)
    st.session_state["last_seen"] = time.time()


def _sign_out(action: str, notice: str | None = None) -> None:
    audit.record(action, user=current_user(), client=client())
    # Everything goes: filters, selections and cached choices of one user must not show for the next one.
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    if notice:
        st.session_state[NOTICE] = notice


def _logout() -> None:
    _sign_out("logout", "已安全退出")


def denied(target: str, detail: str) -> None:
    """Record a refused request for a place outside the user's region (a deep link, a parameter, a selection)."""
    audit.record("denied", user=current_user(), target=target, outcome="refused", detail=detail, client=client())


def region_label(user: dict) -> str:
    if user.get("county_code"):
        return reference.county_name(user["county_code"])
    if user.get("prefecture_code"):
        prefs = reference.prefectures()
        found = prefs.filter(prefs["code"] == user["prefecture_code"])["common_name"].to_list()
        return found[0] if found else user["prefecture_code"]
    return "全省"


def gate(pages: Callable[[str | None], list] | None = None) -> str | None:
    """The signed-in user's role, or None when the app is open; shows the login form and stops otherwise.

    ``pages(role)`` builds app.py's st.Page list: before sign-in the navigation is set to every page but hidden, so
    the sidebar shows no menu (not even the pages-folder menu a fresh server's first deep link leaves behind) and
    the deep link's path and parameters stay in the address bar for after the sign-in.
    """
    if not auth.auth_enabled():
        return None
    try:
        settings = auth.load()[0]  # a damaged users file raises here, before any form is shown
        user = current_user()
        if user:
            if auth.session_expired(st.session_state.get("last_seen"), settings_=settings):
                _sign_out("timeout", f"超过 {settings.idle_minutes:g} 分钟未操作，已自动退出，请重新登录")
            else:
                fresh = auth.get_user(user["username"])
                if fresh is None or fresh.disabled:
                    _sign_out("logout", "账号已停用或已删除，请联系管理员")
                else:
                    _sign_in(fresh)  # also refreshes role, scope and the idle clock
                    return fresh.role
        if pages is not None:
            st.navigation(pages(None), position="hidden")
        login_form()
    except auth.UsersFileError as exc:
        # A missing or damaged users file must lock everyone out, never open the app.
        log.error("users file refused: %s (%s)", exc, auth.users_path())
        if pages is not None:  # no menu at all, not even the pages-folder one Streamlit would fall back to
            st.navigation(pages(None), position="hidden")
        st.error(f"用户配置有误，暂时无法登录：{md(exc)}。请联系管理员检查用户文件。")
    st.stop()


def recheck() -> None:
    """The sign-in check of a fragment's or dialog's own rerun: when the signed-in user is no longer as the session
    has them (disabled, deleted, role or region changed, idle too long, users file unreadable), a full rerun, in
    which gate() signs them out. Nothing when the app is open or nobody is signed in (gate() stopped that run)."""
    if not auth.auth_enabled():
        return
    user = current_user()
    if not user:
        st.rerun(scope="app")
    try:
        settings, users = auth.load()
    except auth.UsersFileError:
        st.rerun(scope="app")
    fresh = users.get(user["username"])
    if fresh is None or fresh.disabled or fresh.public() != user \
            or auth.session_expired(st.session_state.get("last_seen"), settings_=settings):
        st.rerun(scope="app")


# A bar pinned to the bottom of the window: on every page, the big screen included, without moving anything on it
# (out of the page's flow, clicks pass through).
OPEN_NOTICE_HTML = f"""<div class="ht-open-notice" role="status">⚠ {OPEN_NOTICE}</div><style>
[data-testid="stElementContainer"]:has(> div > .ht-open-notice), .stHtml:has(.ht-open-notice) {{ position: fixed; }}
.ht-open-notice {{ position: fixed; left: 50%; bottom: 6px; transform: translateX(-50%); z-index: 999990;
  pointer-events: none; max-width: 90vw; padding: 4px 14px; border-radius: 6px; font-size: 13px; line-height: 1.5;
  background: #fff4ce; color: #6b4e00; border: 1px solid #e6c65c; box-shadow: 0 1px 4px rgba(0,0,0,.15); }}
</style>"""


def open_notice() -> None:
    """On every page of the open app (HOMETOWN_AUTH=off): nobody signed in, everything visible."""
    if not auth.auth_enabled():
        st.html(OPEN_NOTICE_HTML)


def login_form() -> None:
    _, middle, _ = st.columns([1, 1.1, 1])
    with middle:
        st.title("干部规划家乡行动调度平台", anchor=False)
        st.caption("请使用本单位账号登录。连续多次输错密码，账号将被临时锁定。")
        notice = st.session_state.pop(NOTICE, None)
        if notice:
            st.info(notice)
        with st.form("login_form", enter_to_submit=True):
            username = st.text_input("用户名", key="login_username", max_chars=64, autocomplete="username")
            password = st.text_input("密码", type="password", key="login_password", max_chars=128,
                                     autocomplete="current-password")
            submitted = st.form_submit_button("登录", type="primary", width="stretch")
        if not submitted:
            return
        name = (username or "").strip()
        if not name or not password:
            st.error("请输入用户名和密码")
            return
        try:
            user = auth.verify(name, password, client=client())
        except auth.LockedOut as exc:
            audit.record("login_locked", username=name, outcome="refused", client=client(), detail=str(exc))
            st.error(str(exc))
            return
        except auth.LoginFailed as exc:
            # The screen says the same for every cause; the audit log keeps the true one.
            audit.record("login_failed", username=name, outcome="failed", client=client(),
                         detail=f"{exc.reason}；{exc}")
            st.error(str(exc))
            return
        for key in list(st.session_state.keys()):
            del st.session_state[key]
        _sign_in(user)
        audit.record("login", user=user.public(), client=client(), detail=f"{user.role_label}·{region_label(user.public())}")
        st.rerun()


def refused_page(role: str | None) -> None:
    """A deep link to a page the role may not use lands on the home page: say why, and record it.

    The page asked for is the last segment of the address in the browser (``st.context.url``; Streamlit's own
    intended page name is already cleared by the sign-in rerun). When it cannot be read the user simply lands on
    the home page, as Streamlit does.
    """
    if role is None:
        return
    from urllib.parse import urlparse

    from ui.nav import PAGES, pages_for

    try:
        wanted = urlparse(st.context.url or "").path.rstrip("/").rsplit("/", 1)[-1]
    except Exception:  # no browser context (bare script runs)
        return
    spec = next((p for p in PAGES if wanted and p.url_path == wanted), None)
    if spec and spec not in pages_for(role):
        st.warning(f"您的账号（{auth.ROLES.get(role, role)}）无权使用「{spec.title}」页面，已转到首页。")
        denied(spec.url_path, "页面不在本角色的导航中")


def sidebar() -> None:
    """The user badge, sign-out button and idle watch (nothing when the app is open)."""
    user = current_user()
    if not user:
        return
    with st.sidebar:
        with st.container(border=True, key="auth_badge"):
            st.markdown(f"**{md(user['display_name'])}**  \n{auth.ROLES.get(user['role'], user['role'])} · "
                        f"{md(region_label(user))}")
            st.button("退出登录", on_click=_logout, key="auth_logout", icon=":material/logout:", width="stretch")
        # Signs an idle (or disabled) session out by itself: the page turns into the login form.
        idle_s = auth.settings().idle_minutes * 60
        st.fragment(recheck, run_every=max(5.0, min(60.0, idle_s / 2)))()
