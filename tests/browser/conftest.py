"""Fixtures for end-to-end tests: a real Streamlit server on localhost and Debian's headless chromium.

Fixture API (all usable from any test under tests/browser/):

- ``streamlit_server`` (session): a factory ``start(db_path, *, script="app.py", env=None) -> str`` that runs
  ``streamlit run <script>`` from the repository root on a free 127.0.0.1 port with ``HOMETOWN_DB=<db_path>``,
  waits (60 s at most) until ``/_stcore/health`` answers ``ok`` and returns the base URL
  (``http://127.0.0.1:PORT``). The same arguments return the same running server; all are stopped at session end.
  Server output goes to ``artifacts/streamlit-<port>.log``.
- ``browser`` (session): a Playwright ``Browser`` on /usr/bin/chromium (override with $HOMETOWN_CHROMIUM). A
  missing chromium FAILS the test (run ``make sysdeps``); it is never skipped.
- ``page`` (function): a fresh context and page, viewport 1920x1080, locale zh-CN. ``page.requests_seen`` lists
  every URL the page asked for (HTTP requests of the page and its workers, and WebSockets), so a test can check
  that nothing left the machine; ``page.console_errors`` lists console errors (with the failing URL appended in
  brackets when the browser gives one) and uncaught page errors; ``page.failed_requests`` lists
  ``"<status> <url>"`` for HTTP answers >= 400 and ``"<error> <url>"`` for requests that got no answer. A failing
  test leaves ``artifacts/FAILED-<test>.png``.
- ``wait_for_streamlit(page, timeout_ms=30_000)``: waits until the app is connected and its script has finished
  running (stable for a moment, so a rerun triggered by a click is not missed).
- ``external_requests(page) -> list[str]``: the URLs in ``page.requests_seen`` whose host is not localhost,
  127.0.0.0/8 or ::1 (data:, blob: and about: URLs never leave the page and are ignored).
- ``screenshot(page, name, full_page=True) -> Path``: saves ``artifacts/<name>.png``.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
ARTIFACTS = REPO_ROOT / "artifacts"
CHROMIUM = os.environ.get("HOMETOWN_CHROMIUM", "/usr/bin/chromium")

# Flags as on this machine's probe: no sandbox (we run as root), and nothing that talks to Google in the
# background (the closed network refuses it, and the tests assert that no request leaves localhost).
# No --disable-gpu: pydeck maps need WebGL, which headless chromium gets from SwiftShader (software) through ANGLE.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-breakpad",
    "--disable-client-side-phishing-detection",
    "--no-pings",
    "--no-proxy-server",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
]

SERVER_TIMEOUT_S = 60
LOCAL_HOSTS = {"localhost"}


# --------------------------------------------------------------------------------------------- Streamlit server


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _health(url: str) -> bool:
    # No proxy: an http_proxy in the environment must not intercept a localhost check.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"{url}/_stcore/health", timeout=2) as resp:
            return resp.status == 200 and resp.read().strip() == b"ok"
    except (urllib.error.URLError, OSError):
        return False


class _Server:
    def __init__(self, script: Path, db_path: Path, env: dict[str, str] | None) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        ARTIFACTS.mkdir(exist_ok=True)
        self.log_path = ARTIFACTS / f"streamlit-{self.port}.log"
        full_env = {**os.environ, "HOMETOWN_DB": str(db_path), "PYTHONUNBUFFERED": "1",
                    "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", **(env or {})}
        cmd = [sys.executable, "-m", "streamlit", "run", str(script),
               "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--server.address", "127.0.0.1", "--server.port", str(self.port),
               "--server.fileWatcherType", "none", "--server.runOnSave", "false"]
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=full_env, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + SERVER_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"streamlit exited with {self.proc.returncode} before answering:\n{self.log_tail()}")
            if _health(self.url):
                return
            time.sleep(0.25)
        self.stop()
        pytest.fail(f"streamlit did not answer {self.url}/_stcore/health within {SERVER_TIMEOUT_S} s:\n"
                    f"{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        self._log.flush()
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()


@pytest.fixture(scope="session")
def streamlit_server():
    servers: dict[tuple, _Server] = {}

    def start(db_path: str | Path, *, script: str | Path = "app.py", env: dict[str, str] | None = None) -> str:
        script_path = (REPO_ROOT / script).resolve()
        db = Path(db_path).resolve()
        key = (str(script_path), str(db), tuple(sorted((env or {}).items())))
        server = servers.get(key)
        if server is None or server.proc.poll() is not None:
            server = _Server(script_path, db, env)
            servers[key] = server
            server.wait_healthy()
        return server.url

    yield start
    for server in servers.values():
        server.stop()


# -------------------------------------------------------------------------------------------------- browser


@pytest.fixture(scope="session")
def _playwright():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(_playwright):
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        found = shutil.which("chromium")
        pytest.fail(f"Debian chromium is required at {CHROMIUM} (found on PATH: {found}); "
                    "install it with `make sysdeps` (apt-get install chromium fonts-noto-cjk)", pytrace=False)
    b = _playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield b
    b.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"_report_{report.when}", report)
    return report


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:150]


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai")
    pg = context.new_page()
    pg.requests_seen = []
    pg.console_errors = []
    # Context-level, so requests of workers and popups are seen too; WebSockets do not go through "request".
    context.on("request", lambda req: pg.requests_seen.append(req.url))
    pg.on("websocket", lambda ws: pg.requests_seen.append(ws.url))
    pg.failed_requests = []

    def on_console(msg) -> None:
        if msg.type == "error":
            # "Failed to load resource" does not say which: the message's location names the URL.
            where = (msg.location or {}).get("url") or ""
            pg.console_errors.append(f"{msg.text} [{where}]" if where else msg.text)

    def on_response(resp) -> None:
        if resp.status >= 400:
            pg.failed_requests.append(f"{resp.status} {resp.url}")

    pg.on("console", on_console)
    pg.on("pageerror", lambda exc: pg.console_errors.append(f"pageerror: {exc}"))
    context.on("response", on_response)
    context.on("requestfailed", lambda req: pg.failed_requests.append(f"{req.failure} {req.url}"))
    pg.set_default_timeout(30_000)
    yield pg
    call_report = getattr(request.node, "_report_call", None)
    if call_report is not None and call_report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        try:
            pg.screenshot(path=str(ARTIFACTS / f"FAILED-{_safe_name(request.node.name)}.png"), full_page=True)
        except Exception:  # a crashed page must not hide the test's own failure
            pass
    context.close()


# -------------------------------------------------------------------------------------------------- helpers


_APP_IDLE = ('[data-testid="stApp"][data-test-connection-state="CONNECTED"]'
             '[data-test-script-state="notRunning"]')


def _wait_for_streamlit(page, timeout_ms: float = 30_000) -> None:
    """Wait until the app is connected, its script run finished and the main block is on the page."""
    deadline = time.monotonic() + timeout_ms / 1000
    page.wait_for_selector('[data-testid="stMain"]', state="attached", timeout=timeout_ms)
    idle_since = None
    while True:
        idle = page.evaluate(
            """(sel) => !!document.querySelector(sel)
                && !document.querySelector('[data-testid^="stStatusWidgetRunning"], [data-testid="stStatusWidgetNewYearsIcon"]')
                && !document.querySelector('[data-testid="stSkeleton"]')""",
            _APP_IDLE)
        now = time.monotonic()
        if idle:
            idle_since = idle_since or now
            # Idle for a moment: a rerun just requested by a click has had time to start.
            if now - idle_since >= 0.4:
                return
        else:
            idle_since = None
        if now > deadline:
            state = page.evaluate("""() => { const a = document.querySelector('[data-testid="stApp"]');
                return a ? [a.dataset.testConnectionState, a.dataset.testScriptState] : null; }""")
            raise AssertionError(f"Streamlit app still busy after {timeout_ms} ms (connection, script: {state})")
        page.wait_for_timeout(100)


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https", "ws", "wss"}:
        return True  # data:, blob:, about:, chrome-extension: never leave the page
    host = (parts.hostname or "").lower()
    if host in LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _external_requests(page) -> list[str]:
    return [u for u in page.requests_seen if not _is_local(u)]


def _screenshot(page, name: str, full_page: bool = True) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{_safe_name(name)}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


@pytest.fixture(scope="session")
def wait_for_streamlit() -> Callable[..., None]:
    return _wait_for_streamlit


@pytest.fixture(scope="session")
def external_requests() -> Callable[..., list[str]]:
    return _external_requests


@pytest.fixture(scope="session")
def screenshot() -> Callable[..., Path]:
    return _screenshot
