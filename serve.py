"""The server entry point: ``streamlit run serve.py`` (what ``make run`` does) serves app.py through Streamlit's ASGI
app (``st.App``) with one middleware of ours in front, for what Streamlit 1.67 has no setting for:

- ``/_stcore/metrics`` is not served (404): Streamlit answers it to anyone, without a session; no option turns it
  off. (The nginx template, deploy/nginx/hometown.conf, refuses it too.)
- every answer carries ``X-Frame-Options: DENY``, ``Content-Security-Policy`` (frame-ancestors 'none'; nothing
  loaded from another host: the app is offline), ``X-Content-Type-Options: nosniff``, ``Referrer-Policy:
  no-referrer``;
- an exported file (``/media/…`` answered as an attachment: the app's downloads are built when clicked, for that
  session, see pages/) is dropped from Streamlit's memory ``MEDIA_GRACE_S`` seconds after it was first served, and
  marked ``Cache-Control: no-store``: its address, left in the browser's history or a proxy's log, no longer gives
  the file to someone without the session. (Left alone, Streamlit keeps it until two later script runs of any
  session: on a quiet server, for hours.) The grace is there because Streamlit's own download button asks for the
  file twice at once (a check and the download). A second click builds the file again (and writes a second audit
  row).

``streamlit run app.py`` still works (AppTest and most browser tests use it) without these; deployments use
serve.py, behind nginx (deploy/nginx/hometown.conf) when there is one.
"""

from __future__ import annotations

import streamlit as st
from starlette.middleware import Middleware

CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval' blob:; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self' ws: wss:; worker-src 'self' blob:; "
       "frame-src 'self' blob: data:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
MEDIA_GRACE_S = 10.0
HEADERS = [(b"x-frame-options", b"DENY"), (b"content-security-policy", CSP.encode()),
           (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]


def _drop_media(name: str) -> None:
    """Forget a served download (``<file id>.<ext>``) in Streamlit's in-memory media store."""
    from streamlit.runtime import Runtime

    if Runtime.exists():
        storage = Runtime.instance().media_file_mgr._storage  # Streamlit 1.67's MemoryMediaFileStorage (pinned)
        storage.delete_file(name.rsplit(".", 1)[0])


class Hardening:
    """Pure ASGI middleware (no buffering of bodies, websockets untouched)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        if path.rstrip("/").endswith("/_stcore/metrics"):
            await send({"type": "http.response.start", "status": 404,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8"), *HEADERS]})
            await send({"type": "http.response.body", "body": b"not found"})
            return
        media = "/media/" in path
        state = {"attachment": False, "status": 0}

        async def send_hardened(message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in dict(HEADERS)]
                state["status"] = message["status"]
                if media:
                    state["attachment"] = any(k.lower() == b"content-disposition" and v.startswith(b"attachment")
                                              for k, v in headers)
                    headers = [(k, v) for k, v in headers if k.lower() != b"cache-control"]
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers + HEADERS}
            await send(message)
            if (message["type"] == "http.response.body" and not message.get("more_body") and state["attachment"]
                    and state["status"] == 200 and scope.get("method") == "GET"):
                import asyncio

                asyncio.get_running_loop().call_later(MEDIA_GRACE_S, _drop_media, path.rsplit("/", 1)[-1])

        await self.app(scope, receive, send_hardened)


# Streamlit's legacy pages-directory mode off before any session starts. The checkout has a top-level pages/ folder,
# so a fresh server would run a deep link such as /region straight from pages/region.py, without app.py and so
# without sign-in. ui/__init__.py switches the mode off at its first import and reruns, but two first requests at
# once race past it: the load benchmark's sessions got /region's figures without signing in on a fresh server
# (a deep link and an overview opened together). The app always uses st.navigation, so the mode is never wanted.
from streamlit.runtime.pages_manager import PagesManager  # noqa: E402

PagesManager.uses_pages_directory = False

app = st.App("app.py", middleware=[Middleware(Hardening)])

# Warm this worker in the background (ui/warm.py): the pages' imports and the province's figures and blocks at
# start, again after every new warehouse version, so the first user after a start or a load does not pay for them.
# A daemon thread: the health check answers at once, a failing warm-up is logged and serving goes on.
from ui import warm  # noqa: E402

warm.start()
