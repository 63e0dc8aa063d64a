"""One Streamlit session spoken over Streamlit 1.67's own websocket protocol, without a browser.

The server cannot tell it from the browser's frontend: it connects to ``/_stcore/stream`` with the subprotocol
``streamlit`` (Streamlit's websocket handler also reads an XSRF token and a session id from that header; both are
optional, and only the auth cookie of ``st.login`` needs the token, which the app does not use), offers
permessage-deflate as browsers do, and sends serialised ``BackMsg`` protobufs:

- the first run is a ``rerun_script`` whose ClientState names the page by its URL path (``page_name``, no page hash
  yet) with the URL's query string and the browser's context (timezone, locale, URL), as the frontend does on load;
- later runs name the page by the ``page_script_hash`` the server announced in ``new_session`` and keep the query
  string the server set (``page_info_changed``, e.g. after ``st.switch_page(..., query_params=…)``);
- a widget click sends the widgets' values with ``trigger_value`` for the button (a form's submit button sends the
  form's values with it); a click on a widget drawn in a fragment is a fragment run (``fragment_id``);
- navigation (a page link) is a rerun with the other page's hash and query string;
- ``auto_rerun`` messages (``st.fragment(run_every=…)``: the sidebar's sign-in check, the big screen's refresh) are
  kept and ``due_auto_reruns()`` says which are due; a full run clears them, as the frontend's does;
- the browser's message cache: elements the server marks cacheable are kept for two runs and their hashes sent
  back, so the server answers them with ``ref_hash`` as it would for a browser.

Each run is timed from its BackMsg to the ``script_finished`` that ends it (``FINISHED_EARLY_FOR_RERUN`` does not:
a sign-in or a ``switch_page`` reruns at once and the run ends with the next one). Errors counted: exception
elements, the app's own error message (ui/guard.py, ``页面出错``), ``page_not_found``, a cache miss, a disconnect and
a timeout. The elements of the last run are kept by their delta path, with the widgets by their user key.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

from ui import tiles

STREAM_PATH = "/_stcore/stream"
EARLY_FOR_RERUN = ForwardMsg.ScriptFinishedStatus.FINISHED_EARLY_FOR_RERUN
GUARD_ERROR = "页面出错"          # ui/guard.py's message for an unexpected error
CACHE_RUNS = 2                    # global.maxCachedMessageAge: the frontend keeps a cached element this many runs
RUN_TIMEOUT_S = 180.0


class SessionError(Exception):
    """The session cannot go on: disconnected, or a run did not finish in time."""


@dataclass
class Widget:
    id: str
    kind: str                      # the element type: button, text_input, selectbox, …
    label: str
    fragment_id: str
    form_id: str
    disabled: bool
    is_form_submitter: bool = False


@dataclass
class Run:
    """One timed run: a full script run or a fragment run."""
    what: str                      # "open", "rerun", "click", "navigate", "sign-in", "fragment", "auto"
    page: str                      # the page's URL path at the end of the run ("" for the main page)
    seconds: float
    fragment: bool
    fragment_id: str = ""
    errors: list[str] = field(default_factory=list)
    messages: int = 0
    bytes: int = 0
    status: str = ""


def user_key(widget_id: str) -> str | None:
    """The key a widget was given in the script (``st.button(..., key=K)``): Streamlit's ids end with it."""
    if not widget_id.startswith("$$ID-"):
        return None
    parts = widget_id.split("-", 2)
    key = parts[2] if len(parts) == 3 else ""
    return None if key in ("", "None") else key


def element_text(element) -> str:
    """The visible text of an element, for tests and checks (markdown, headings, metrics, alerts, buttons, html)."""
    kind = element.WhichOneof("type")
    if kind is None:
        return ""
    inner = getattr(element, kind)
    if kind == "metric":
        return f"{inner.label} {inner.body}"
    for name in ("body", "label", "text"):
        if hasattr(inner, name):
            value = getattr(inner, name)
            if isinstance(value, str):
                return value
    return ""


class Session:
    """One browser tab's worth of protocol. Use as ``async with Session(url) as s: await s.open("/region?code=…")``."""

    def __init__(self, base_url: str, *, timeout: float = RUN_TIMEOUT_S, locale: str = "zh-CN",
                 timezone: str = "Asia/Shanghai") -> None:
        parts = urlsplit(base_url)
        self.base_url = base_url.rstrip("/")
        self.prefix = parts.path.rstrip("/")
        scheme = "wss" if parts.scheme == "https" else "ws"
        self.ws_url = f"{scheme}://{parts.netloc}{self.prefix}{STREAM_PATH}"
        self.timeout = timeout
        self.locale, self.timezone = locale, timezone
        self.ws = None
        self.session_id = ""
        self.page_hash = ""                       # the current page's script hash (new_session)
        self.query = ""                           # the URL's query string, as the server last set it
        self.pages: dict[str, str] = {}           # page script hash → URL path ("" for the default page)
        self.default_hash = ""                    # the default page's hash (the navigation's is_default)
        self.elements: dict[tuple, object] = {}   # delta path → Element of the current page
        self.element_fragments: dict[tuple, str] = {}  # delta path → the fragment that drew it ("" for none)
        self.widgets: dict[str, Widget] = {}      # widget id → Widget of the current page
        self.values: dict[str, WidgetState] = {}  # widget id → the value this client gave it (text inputs)
        self.auto_reruns: dict[str, tuple[float, float]] = {}  # fragment id → (interval, next due, monotonic)
        self._cache: dict[str, tuple[ForwardMsg, int]] = {}    # hash → (message, run number last seen)
        self._runs = 0
        self._pending: asyncio.Future | None = None
        self._run: Run | None = None
        self._reader: asyncio.Task | None = None
        self.closed = False
        self.close_reason = ""
        self.cookies: dict[str, str] = {}

    # ------------------------------------------------------------------------------------------- connection

    async def __aenter__(self) -> "Session":
        await self.connect()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def connect(self, path: str = "/") -> None:
        """Load the page as a browser does first (its cookies: nginx's sticky worker cookie), then the websocket."""
        cookies = await asyncio.to_thread(self._page_cookies, path)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else None
        self.ws = await websockets.connect(self.ws_url, subprotocols=["streamlit"], max_size=None,
                                           additional_headers=headers,
                                           open_timeout=self.timeout, ping_interval=20, ping_timeout=self.timeout,
                                           close_timeout=5, proxy=None)
        self._reader = asyncio.get_running_loop().create_task(self._read())

    def _page_cookies(self, path: str) -> dict[str, str]:
        import urllib.request
        from http.cookies import SimpleCookie

        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"{self.base_url}/{path.lstrip('/')}", timeout=self.timeout) as resp:
            resp.read()
            jar = SimpleCookie()
            for header in resp.headers.get_all("Set-Cookie") or []:
                jar.load(header)
        self.cookies = {k: m.value for k, m in jar.items()}
        return self.cookies

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            try:
                await asyncio.wait_for(self._reader, 5)
            except (asyncio.TimeoutError, Exception):
                self._reader.cancel()
        self.closed = True

    # ------------------------------------------------------------------------------------------------ runs

    @property
    def page(self) -> str:
        return self.pages.get(self.page_hash, "")

    async def open(self, url: str = "/") -> Run:
        """The first run of a page, as a browser loading ``url`` (a path with its query string) sends it."""
        path, _, query = url.partition("?")
        name = path.strip("/")
        if self.prefix and name.startswith(self.prefix.strip("/")):
            name = name[len(self.prefix.strip("/")):].strip("/")
        self.query = query
        return await self._send("open", page_hash="", page_name=name)

    async def rerun(self) -> Run:
        """A rerun of the current page with the widgets as they are (what any interaction costs the server)."""
        return await self._send("rerun")

    async def navigate(self, url: str) -> Run:
        """A page link: ``/region?code=532500`` run by its page's hash with its query string."""
        path, _, query = url.partition("?")
        name = path.strip("/")
        target = self.default_hash if not name and self.default_hash else \
            next((h for h, p in self.pages.items() if p == name), None)
        if target is None:
            raise SessionError(f"no page {name!r} in the navigation ({sorted(self.pages.values())})")
        self.query = query
        return await self._send("navigate", page_hash=target, widgets=self._kept_values())

    async def click(self, key: str) -> Run:
        """A click on the button whose user key is ``key`` (a form's submit button submits its form's values)."""
        widget = self.widget(key)
        if widget is None:
            raise SessionError(f"no widget {key!r} on {self.page or '/'}")
        trigger = WidgetState(id=widget.id, trigger_value=True)
        return await self._send("click", fragment_id=widget.fragment_id, trigger=trigger)

    async def fragment(self, fragment_id: str, auto: bool = True) -> Run:
        """A fragment's own run (the timed refresh of ``st.fragment(run_every=…)``)."""
        return await self._send("auto" if auto else "fragment", fragment_id=fragment_id, auto=auto)

    def due_auto_reruns(self, now: float | None = None) -> list[str]:
        now = time.monotonic() if now is None else now
        return [fid for fid, (_, due) in self.auto_reruns.items() if due <= now]

    async def run_due_auto_reruns(self) -> list[Run]:
        done = []
        for fid in self.due_auto_reruns():
            interval, _ = self.auto_reruns[fid]
            self.auto_reruns[fid] = (interval, time.monotonic() + interval)
            done.append(await self.fragment(fid))
        return done

    async def sign_in(self, username: str, password: str) -> Run:
        """Fill the login form (ui/auth.py: keys login_username, login_password) and press its submit button."""
        for key, value in (("login_username", username), ("login_password", password)):
            widget = self.widget(key)
            if widget is None:
                raise SessionError(f"no login form on {self.page or '/'} (no widget {key})")
            self.values[widget.id] = WidgetState(id=widget.id, string_value=value)
        submit = next((w for w in self.widgets.values() if w.is_form_submitter), None)
        if submit is None:
            raise SessionError("the login form has no submit button")
        return await self._send("sign-in", trigger=WidgetState(id=submit.id, trigger_value=True))

    # ---------------------------------------------------------------------------------------------- reading

    def widget(self, key: str) -> Widget | None:
        return next((w for w in self.widgets.values() if user_key(w.id) == key), None)

    def widget_keys(self, prefix: str = "", enabled: bool = True) -> list[str]:
        keys = [user_key(w.id) for w in self.widgets.values() if not (enabled and w.disabled)]
        return [k for k in keys if k and k.startswith(prefix)]

    def texts(self) -> list[str]:
        return [t for t in (element_text(e) for _, e in sorted(self.elements.items())) if t]

    def metrics(self) -> dict[str, str]:
        """{label: value} of the KPI tiles (ui.tiles markup) and of any st.metric on the page."""
        found: dict[str, str] = {}
        for e in self.elements.values():
            kind = e.WhichOneof("type")
            if kind == "metric":
                found[e.metric.label] = e.metric.body
            elif kind == "html":
                found |= {label: value for label, (value, _) in tiles.values(e.html.body).items()}
        return found

    def fragment_of_tiles(self) -> str:
        """The fragment that drew the first KPI tiles (the big screen's board), "" when none did."""
        def has_tiles(e) -> bool:
            kind = e.WhichOneof("type")
            return kind == "metric" or (kind == "html" and bool(tiles.values(e.html.body)))

        return next((self.element_fragments.get(p, "") for p, e in sorted(self.elements.items()) if has_tiles(e)), "")

    def links(self) -> list[tuple[str, str, bool]]:
        """The page links on the page: (URL path, query string, disabled)."""
        out = []
        for e in self.elements.values():
            if e.WhichOneof("type") == "page_link":
                out.append((self.pages.get(e.page_link.page_script_hash, e.page_link.page.strip("/")),
                            e.page_link.query_string, e.page_link.disabled))
        return out

    # -------------------------------------------------------------------------------------------- internals

    def _kept_values(self) -> list[WidgetState]:
        return [v for wid, v in self.values.items() if wid in self.widgets]

    def _context(self, state: ClientState) -> None:
        info = state.context_info
        info.timezone = self.timezone
        info.timezone_offset = -480 if self.timezone == "Asia/Shanghai" else 0
        info.locale = self.locale
        page = self.page
        info.url = f"{self.base_url}/{page}" + (f"?{self.query}" if self.query else "")
        info.is_embedded = False
        info.color_scheme = "light"

    async def _send(self, what: str, *, page_hash: str | None = None, page_name: str = "", fragment_id: str = "",
                    trigger: WidgetState | None = None, widgets: list[WidgetState] | None = None,
                    auto: bool = False) -> Run:
        if self.closed or self.ws is None:
            raise SessionError(f"session closed ({self.close_reason or 'not connected'})")
        if self._pending is not None:
            raise SessionError("a run is still pending")
        state = ClientState(query_string=self.query, page_script_hash=self.page_hash if page_hash is None else page_hash,
                            page_name=page_name, fragment_id=fragment_id, is_auto_rerun=auto)
        values = self._kept_values() if widgets is None else widgets
        if trigger is not None:
            values = [v for v in values if v.id != trigger.id] + [trigger]
        state.widget_states.widgets.extend(values)
        state.cached_message_hashes.extend(self._cache)
        self._context(state)
        msg = BackMsg()
        msg.rerun_script.CopyFrom(state)
        loop = asyncio.get_running_loop()
        self._pending = loop.create_future()
        self._run = Run(what=what, page="", seconds=0.0, fragment=bool(fragment_id), fragment_id=fragment_id)
        t0 = time.perf_counter()
        try:
            await self.ws.send(msg.SerializeToString())
            await asyncio.wait_for(asyncio.shield(self._pending), self.timeout)
        except asyncio.TimeoutError:
            run = self._run
            run.seconds = time.perf_counter() - t0
            run.errors.append("timeout")
            self._pending, self._run = None, None
            await self.close()
            self.close_reason = f"a run took more than {self.timeout:g} s"
            raise SessionError(self.close_reason)
        except websockets.ConnectionClosed as exc:
            self._pending, self._run = None, None
            raise SessionError(f"disconnected: {exc}") from exc
        run = self._pending.result()
        run.seconds = time.perf_counter() - t0
        run.page = self.page
        self._pending, self._run = None, None
        return run

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                msg = ForwardMsg()
                msg.ParseFromString(raw)
                if self._run is not None:
                    self._run.messages += 1
                    self._run.bytes += len(raw)
                self._handle(msg)
        except websockets.ConnectionClosed as exc:
            self.close_reason = f"closed by the server ({exc.rcvd.code if exc.rcvd else 'no close frame'})"
        except Exception as exc:  # a message we cannot read ends the session; said in the close reason
            self.close_reason = f"{type(exc).__name__}: {exc}"
        finally:
            self.closed = True
            self.close_reason = self.close_reason or "closed by the server"
            if self._pending is not None and not self._pending.done():
                self._pending.set_exception(websockets.ConnectionClosed(None, None))

    def _error(self, text: str) -> None:
        if self._run is not None:
            self._run.errors.append(text)

    def _handle(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if kind == "ref_hash":
            cached = self._cache.get(msg.ref_hash)
            if cached is None:
                self._error(f"cache miss {msg.ref_hash}")
                return
            full = ForwardMsg()
            full.CopyFrom(cached[0])
            full.metadata.CopyFrom(msg.metadata)
            msg, kind = full, full.WhichOneof("type")
        if msg.metadata.cacheable or msg.hash in self._cache:
            self._cache[msg.hash] = (msg, self._runs)  # cached, or its age reset by a reference to it
        if kind == "new_session":
            self._new_session(msg)
        elif kind == "navigation":
            for page in msg.navigation.app_pages:
                self.pages[page.page_script_hash] = page.url_pathname
                if page.is_default:
                    self.default_hash = page.page_script_hash
            if msg.navigation.page_script_hash:
                self.page_hash = msg.navigation.page_script_hash
        elif kind == "page_info_changed":
            self.query = msg.page_info_changed.query_string
        elif kind == "delta":
            self._delta(msg)
        elif kind == "auto_rerun":
            interval = msg.auto_rerun.interval
            fid = msg.auto_rerun.fragment_id
            if fid and self.auto_reruns.get(fid, (None,))[0] != interval:
                self.auto_reruns[fid] = (interval, time.monotonic() + interval)
        elif kind == "stop_auto_rerun":
            for fid in msg.stop_auto_rerun.fragment_ids:
                self.auto_reruns.pop(fid, None)
        elif kind == "page_not_found":
            self._error(f"page not found: {msg.page_not_found.page_name}")
        elif kind == "script_finished":
            if msg.script_finished != EARLY_FOR_RERUN:
                self._age_cache(list(msg.metadata.run.fragment_ids))
            if msg.script_finished != EARLY_FOR_RERUN and self._pending is not None and not self._pending.done():
                self._run.status = ForwardMsg.ScriptFinishedStatus.Name(msg.script_finished)
                self._pending.set_result(self._run)

    def _age_cache(self, fragment_ids: list[str]) -> None:
        """The frontend's ForwardMsgCache.incrementRunCount: at the end of every run but one cut short for a rerun;
        a fragment run ages only the messages of its fragments."""
        self._runs += 1
        for h, (m, seen) in list(self._cache.items()):
            if fragment_ids and (not m.delta.fragment_id or m.delta.fragment_id not in fragment_ids):
                continue
            if self._runs - seen > CACHE_RUNS:
                del self._cache[h]

    def _new_session(self, msg: ForwardMsg) -> None:
        ns = msg.new_session
        if ns.initialize.session_id:
            self.session_id = ns.initialize.session_id
        # The pages' URL paths come from the ``navigation`` message (new_session's own list names them by title).
        if list(msg.metadata.run.fragment_ids):
            return  # a fragment run: the page's other elements stay
        self.page_hash = ns.page_script_hash
        self.elements.clear()
        self.element_fragments.clear()
        self.widgets.clear()
        self.auto_reruns.clear()   # the frontend's cleanupAutoReruns: the new run registers them again

    def _delta(self, msg: ForwardMsg) -> None:
        delta = msg.delta
        if delta.WhichOneof("type") != "new_element":
            return
        element = delta.new_element
        path = tuple(msg.metadata.delta_path)
        old = self.elements.get(path)
        if old is not None:
            old_kind = old.WhichOneof("type")
            old_id = getattr(getattr(old, old_kind), "id", None) if old_kind else None
            if isinstance(old_id, str):
                self.widgets.pop(old_id, None)
        self.elements[path] = element
        self.element_fragments[path] = delta.fragment_id
        kind = element.WhichOneof("type")
        if kind == "exception":
            self._error(f"exception: {element.exception.type}: {element.exception.message[:120]}")
            return
        if kind == "alert" and GUARD_ERROR in element.alert.body:
            self._error(f"app error: {element.alert.body[:120]}")
            return
        inner = getattr(element, kind) if kind else None
        wid = getattr(inner, "id", None)
        if isinstance(wid, str) and wid:
            self.widgets[wid] = Widget(
                id=wid, kind=kind, label=str(getattr(inner, "label", "")), fragment_id=delta.fragment_id,
                form_id=str(getattr(inner, "form_id", "")), disabled=bool(getattr(inner, "disabled", False)),
                is_form_submitter=bool(getattr(inner, "is_form_submitter", False)))
