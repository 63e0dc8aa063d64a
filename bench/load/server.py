"""The server under load: ``streamlit run serve.py`` with the Makefile's flags on a free port, signed-in demo users,
and the CPU and memory of server processes read from /proc.

``one_process(db)`` is a context manager giving a ``Target`` (the base URL and the server's pids); the workers behind
nginx come from the ``serving`` package when it is installed in the checkout (``cluster(db, workers)``), else
``cluster`` says why not. The users file is written by the project's own command (``python -m hometown.access.auth
--users FILE demo``), so the passwords are README's demo passwords; audit log, lock-outs and uploads go to the
run's scratch folder, never to data/.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
DEMO_PASSWORDS = {"leader": "leader@demo", "honghe": "honghe@demo", "mile": "mile@demo",
                  "analyst": "analyst@demo", "admin": "admin@demo"}
START_TIMEOUT_S = 90
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def makefile_flags(port: int) -> list[str]:
    """The Makefile's STREAMLIT_FLAGS for ``port`` (read from the Makefile, so the bench serves as ``make run`` does)."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    line = next(l for l in text.splitlines() if l.startswith("STREAMLIT_FLAGS"))
    flags = line.split(":=", 1)[1].split()
    return [str(port) if f == "$(PORT)" else f for f in flags] + ["--server.address", "127.0.0.1"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"{url}/_stcore/health", timeout=3) as resp:
            return resp.status == 200 and resp.read().strip() == b"ok"
    except (urllib.error.URLError, OSError):
        return False


def write_demo_users(path: Path) -> Path:
    """The demo users (README "Users and roles") written by the project's own command."""
    subprocess.run([sys.executable, "-m", "hometown.access.auth", "--users", str(path), "demo"], cwd=ROOT,
                   check=True, capture_output=True, timeout=120)
    return path


def app_env(db: Path, scratch: Path, users: Path | None) -> dict[str, str]:
    """The server's environment: sign-in on with the demo users (or the open app without ``users``), the run's own
    app store (audit log, lock-outs, orders, briefings) and uploads."""
    env = {**os.environ, "HOMETOWN_DB": str(db), "PYTHONUNBUFFERED": "1", **scratch_store(scratch)}
    env.pop("HOMETOWN_RAISE_ERRORS", None)  # the app as deployed: an error is a message on the page, counted
    # No background warm-up (ui/warm.py) unless asked for: its work after a start (~2 s of CPU on the demo, ~11 s
    # more with HOMETOWN_WARM=all) would count in the server CPU per warm rerun and in the load figures (reruns).
    env.setdefault("HOMETOWN_WARM", "0")
    if users is None:
        env["HOMETOWN_AUTH"] = "off"
    else:
        env["HOMETOWN_AUTH"] = "on"
        env["HOMETOWN_USERS"] = str(users)
    return env


def scratch_store(scratch: Path) -> dict[str, str]:
    """The environment that keeps a benchmark's server off the checkout's data/: its own app store (audit log,
    lock-outs, orders, briefings, drafts) and uploads folder in ``scratch``. Every bench server gets it."""
    return {"HOMETOWN_APP_DB": str(scratch / "app.sqlite3"), "HOMETOWN_UPLOADS": str(scratch / "uploads")}


@dataclass
class Target:
    """What the sessions connect to, and the server processes whose CPU and memory are read."""
    url: str
    pids: list[int]
    label: str
    log: Path | None = None
    procs: list = field(default_factory=list, repr=False)
    nginx_pid: int | None = None
    refresh: object = None          # () -> the current pids (workers restarted by a supervisor), or None

    def current_pids(self) -> list[int]:
        if self.refresh is not None:
            self.pids = list(self.refresh())
        return self.pids


@contextlib.contextmanager
def one_process(db: Path, *, users: Path | None = None, scratch: Path | None = None, script: str = "serve.py"):
    """``streamlit run serve.py`` with the Makefile's flags on a free port, as ``make run`` starts it."""
    with contextlib.ExitStack() as stack:
        if scratch is None:
            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hometown-load-")))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log_path = scratch / f"streamlit-{port}.log"
        log = stack.enter_context(open(log_path, "wb"))
        cmd = [sys.executable, "-m", "streamlit", "run", script, *makefile_flags(port)]
        proc = subprocess.Popen(cmd, cwd=ROOT, env=app_env(db, scratch, users), stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while not healthy(url):
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = log_path.read_text(errors="replace").splitlines()[-15:]
                    raise RuntimeError(f"serve.py did not start on {url}: " + " | ".join(tail))
                time.sleep(0.25)
            yield Target(url=url, pids=[proc.pid], label="1 process", log=log_path, procs=[proc])
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)


def serving_available() -> str | None:
    """None when the ``serving`` package (N workers behind nginx) can be used, else why not."""
    try:
        import importlib

        serving = importlib.import_module("serving.cluster")
    except ImportError as exc:
        return f"the serving package is not in this checkout ({exc})"
    try:
        serving.find_nginx()
    except Exception as exc:  # serving.cluster.ClusterError: nginx not installed
        return str(exc)
    return None


@contextlib.contextmanager
def cluster(db: Path, workers: int, *, users: Path | None = None, scratch: Path | None = None):
    """``workers`` Streamlit workers (serve.py) behind nginx, through serving.cluster (sticky cookie, least_conn for a
    new browser). The Target's pids are the workers'; ``nginx_pid`` is added to the label's process list as the last."""
    import importlib

    serving = importlib.import_module("serving.cluster")
    with contextlib.ExitStack() as stack:
        if scratch is None:
            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hometown-load-")))
        env = {k: v for k, v in app_env(db, scratch, users).items() if k.startswith("HOMETOWN_")}
        running = stack.enter_context(serving.cluster(workers=workers, env=env, run_dir=scratch / "serving"))
        pids = [p for p in running.worker_pids() if p]
        target = Target(url=running.url, pids=pids, label=f"{workers} workers via nginx")
        target.nginx_pid = running.nginx_pid
        # The supervisor restarts a worker that died or stopped answering its health check: read the pids again.
        target.refresh = lambda: [p for p in running.worker_pids() if p]
        yield target


# ------------------------------------------------------------------------------------------------ /proc readings


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its reaped children (utime, stime, cutime, cstime); 0 for a
    process that is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except OSError:
        return 0.0
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return (utime + stime + cutime + cstime) / CLK_TCK


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()
