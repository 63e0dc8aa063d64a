"""N Streamlit workers behind one nginx on one machine, and the supervisor that keeps them running.

Each worker is ``python -m streamlit run serve.py`` with the flags of ``make run`` (``WORKER_FLAGS``), on its own
port on 127.0.0.1, with ``HOMETOWN_TRUST_PROXY=1`` (the client address is nginx's ``X-Real-IP``) and one
``server.cookieSecret`` shared by all workers (``$HOMETOWN_COOKIE_SECRET``, else made at start and given through the
environment, never the command line): Streamlit's cookies stay valid when nginx moves a browser to another worker.
nginx runs in the foreground (``nginx -p RUN -c RUN/nginx.conf -e RUN/nginx-error.log``) with the configuration of
serving/nginx.py, its pid file, temp folders and logs in the cluster's private folder ``run_dir``; worker logs are
``run_dir/worker-I.log``.

The supervisor (a thread) checks every ``health_interval`` seconds: a worker process that exited is started again on
its port (at once, then after a growing pause of up to 30 s if it keeps dying within seconds); a worker whose
``/_stcore/health`` fails ``health_failures`` times in a row after it was up is killed and started again; nginx is
started again if it exits. In production systemd does this instead (deploy/systemd/).

Use::

    from serving import cluster
    with cluster(workers=2, port=8080, env={"HOMETOWN_DB": "…"}) as c:   # port=None: a free port
        c.url                 # "http://127.0.0.1:8080" (nginx)
        c.worker_urls         # ["http://127.0.0.1:8081", …]  (the workers, bypassing nginx)
        c.worker_pids()       # [pid, pid]
        c.kill_worker(0)      # SIGKILL worker 0 (the supervisor restarts it); returns the pid killed
        c.wait_worker(0)      # until worker 0 is up again (a new pid), returns that pid
        c.restarts            # [1, 0]: restarts per worker
        c.worker_of_cookie("w1")   # 1: the worker a hometown_worker cookie value names

``Cluster(...)`` takes the same arguments (``start()`` / ``stop()`` by hand). Worker ports: ``worker_ports`` if
given, else ``base_port`` … ``base_port + N - 1`` (default ``port + 1`` …) when ``port`` is given, else free ports.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from serving import nginx as nginx_conf

REPO_ROOT = Path(__file__).resolve().parent.parent
# The flags of `make run` (Makefile STREAMLIT_FLAGS), and the worker listens on loopback only (nginx faces users).
WORKER_FLAGS = ("--server.headless", "true", "--browser.gatherUsageStats", "false",
                "--browser.serverAddress", "localhost", "--server.fileWatcherType", "none",
                "--client.showErrorDetails", "none", "--client.disableDataExport", "true",
                "--server.address", "127.0.0.1")
COOKIE_SECRET_ENV = "HOMETOWN_COOKIE_SECRET"
STARTUP_TIMEOUT_S = 120.0
NGINX_CANDIDATES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")


class ClusterError(RuntimeError):
    """The cluster could not start (no nginx, a worker that does not come up, a port in use)."""


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def find_nginx() -> str:
    found = shutil.which("nginx") or next((p for p in NGINX_CANDIDATES if os.access(p, os.X_OK)), None)
    if not found:
        raise ClusterError("nginx is not installed: run `bash scripts/install_nginx.sh` (Debian's nginx-light)")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


# A worker is killed only when it has not answered for about half a minute: a worker that is merely busy (a briefing
# rendered, a national load swapped in, the machine saturated at a morning meeting) answers late, and killing it would
# end every session it holds. The load benchmark saw a busy worker replaced with the first setting of 3.
HEALTH_FAILURES = 10


def healthy(url: str, timeout: float = 3.0) -> bool:
    """``url``/_stcore/health answers ``ok`` (no proxy from the environment: this is a loopback check)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"{url}/_stcore/health", timeout=timeout) as resp:
            return resp.status == 200 and resp.read().strip() == b"ok"
    except (urllib.error.URLError, OSError, ValueError):
        return False


class _Worker:
    def __init__(self, index: int, port: int, log_path: Path) -> None:
        self.index, self.port, self.log_path = index, port, log_path
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0
        self.up = False           # answered its health check since it was (re)started
        self.failures = 0         # health checks failed in a row while up
        self.restarts = 0
        self.quick_deaths = 0     # deaths within QUICK_DEATH_S of a start, in a row (for the back-off)
        self.next_start = 0.0
        self.held = False         # kept down by kill_worker(hold=True) until release_worker


class Cluster:
    """Workers + nginx + supervisor; see the module docstring."""

    QUICK_DEATH_S = 10.0

    def __init__(self, workers: int | None = None, port: int | None = None, *, base_port: int | None = None,
                 worker_ports: list[int] | None = None, address: str = "127.0.0.1", env: dict[str, str] | None = None,
                 run_dir: str | Path | None = None, script: str | Path = "serve.py", python: str = sys.executable,
                 health_interval: float = 2.0, health_failures: int = HEALTH_FAILURES,
                 startup_timeout: float = STARTUP_TIMEOUT_S, nginx_processes: int | str = 1, log=None) -> None:
        n = len(worker_ports) if worker_ports else (workers or default_workers())
        if n < 1:
            raise ValueError("at least one worker")
        self.port = port if port is not None else free_port()
        if worker_ports:
            ports = list(worker_ports)
        elif port is not None or base_port is not None:
            first = base_port if base_port is not None else self.port + 1
            ports = list(range(first, first + n))
        else:
            ports = []
            while len(ports) < n:
                p = free_port()
                if p != self.port and p not in ports:
                    ports.append(p)
        self.address = address
        self.url = f"http://{'127.0.0.1' if address in ('0.0.0.0', '') else address}:{self.port}"
        self._own_run_dir = run_dir is None
        self.run_dir = Path(tempfile.mkdtemp(prefix="hometown-serving-") if run_dir is None else run_dir).resolve()
        self.script = str((REPO_ROOT / script).resolve())
        self.python = python
        self.env = dict(env or {})
        self.health_interval, self.health_failures = health_interval, health_failures
        self.startup_timeout = startup_timeout
        self.nginx_processes = nginx_processes
        self._log = log or (lambda message: None)
        self._workers = [_Worker(i, p, self.run_dir / f"worker-{i}.log") for i, p in enumerate(ports)]
        self._nginx: subprocess.Popen | None = None
        self._nginx_bin: str | None = None
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._secret = os.environ.get(COOKIE_SECRET_ENV) or self.env.get(COOKIE_SECRET_ENV) or secrets.token_hex(32)

    # ------------------------------------------------------------------------------------------------ public

    @property
    def worker_ports(self) -> list[int]:
        return [w.port for w in self._workers]

    @property
    def worker_urls(self) -> list[str]:
        return [w.url for w in self._workers]

    @property
    def restarts(self) -> list[int]:
        return [w.restarts for w in self._workers]

    @property
    def nginx_pid(self) -> int | None:
        return self._nginx.pid if self._nginx and self._nginx.poll() is None else None

    @property
    def config_path(self) -> Path:
        return self.run_dir / "nginx.conf"

    def worker_pids(self) -> list[int | None]:
        """The pid of each worker process, None while one is down."""
        with self._lock:
            return [w.proc.pid if w.proc and w.proc.poll() is None else None for w in self._workers]

    def worker_of_cookie(self, value: str | None) -> int | None:
        """The worker index a ``hometown_worker`` cookie value names (None: no or an unknown value)."""
        for w in self._workers:
            if value == nginx_conf.worker_name(w.index):
                return w.index
        return None

    def kill_worker(self, index: int, sig: int = signal.SIGKILL, hold: bool = False) -> int:
        """Send ``sig`` to worker ``index`` (SIGKILL: it dies as in a crash); returns its pid. The supervisor
        starts it again — with ``hold``, only after ``release_worker(index)`` (a worker taken out for maintenance,
        or a test that must see its browsers move to the others before it is back)."""
        with self._lock:
            w = self._workers[index]
            if not w.proc or w.proc.poll() is not None:
                raise ClusterError(f"worker {index} is not running")
            pid = w.proc.pid
            w.held = hold
            os.killpg(pid, sig)
            return pid

    def release_worker(self, index: int) -> None:
        """Let the supervisor start worker ``index`` again after ``kill_worker(index, hold=True)``."""
        with self._lock:
            self._workers[index].held = False

    def wait_worker(self, index: int, timeout: float | None = None, not_pid: int | None = None) -> int:
        """Wait until worker ``index`` runs (with a pid other than ``not_pid``) and answers its health check."""
        deadline = time.monotonic() + (timeout or self.startup_timeout)
        while time.monotonic() < deadline:
            with self._lock:
                w = self._workers[index]
                pid = w.proc.pid if w.proc and w.proc.poll() is None else None
            if pid and pid != not_pid and healthy(w.url):
                return pid
            time.sleep(0.25)
        raise ClusterError(f"worker {index} did not come back within {timeout or self.startup_timeout:.0f} s:\n"
                           f"{self.log_tail(index)}")

    def log_tail(self, index: int | None = None, lines: int = 30) -> str:
        """The end of worker ``index``'s log, or of nginx's error log (None)."""
        path = self.run_dir / "nginx-error.log" if index is None else self._workers[index].log_path
        try:
            return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def start(self) -> "Cluster":
        self._nginx_bin = find_nginx()
        busy = [p for p in [self.port, *self.worker_ports] if not _port_free(p)]
        if busy:
            raise ClusterError(f"port(s) in use: {busy}")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        # nginx's worker processes run as `nobody` when the master is root: they must reach the temp folders.
        self.run_dir.chmod(0o755)
        (self.run_dir / "tmp").mkdir(exist_ok=True)
        (self.run_dir / "tmp").chmod(0o755)
        self.config_path.write_text(
            nginx_conf.standalone(self.worker_ports, port=self.port, run_dir=self.run_dir, address=self.address,
                                  processes=self.nginx_processes), encoding="utf-8")
        self._check_config()
        try:
            for w in self._workers:
                self._start_worker(w)
            deadline = time.monotonic() + self.startup_timeout
            for w in self._workers:
                self._wait_up(w, deadline)
            self._start_nginx()
            while not healthy(self.url):
                if self._nginx.poll() is not None:
                    raise ClusterError(f"nginx exited with {self._nginx.returncode}:\n{self.log_tail(None)}")
                if time.monotonic() > deadline:
                    raise ClusterError(f"nginx did not answer {self.url} in time:\n{self.log_tail(None)}")
                time.sleep(0.1)
        except BaseException:
            self.stop()
            raise
        self._thread = threading.Thread(target=self._supervise, name="hometown-supervisor", daemon=True)
        self._thread.start()
        self._log(f"nginx on {self.url} → workers {', '.join(self.worker_urls)} (logs in {self.run_dir})")
        return self

    def stop(self) -> None:
        """Stop the supervisor, nginx and the workers (SIGTERM, SIGKILL after 10 s)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=self.health_interval + 10)
        with self._lock:
            procs = [p for p in [self._nginx, *(w.proc for w in self._workers)] if p is not None]
            for p in procs:
                if p.poll() is None:
                    try:
                        os.killpg(p.pid, signal.SIGTERM)
                    except ProcessLookupError:
                        pass
            for p in procs:
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    try:
                        os.killpg(p.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    p.wait(timeout=10)
            for w in self._workers:
                w.proc = None
            self._nginx = None

    def __enter__(self) -> "Cluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------------------------------------ inside

    def _check_config(self) -> None:
        done = subprocess.run([self._nginx_bin, "-t", "-q", "-p", str(self.run_dir), "-c", str(self.config_path),
                               "-e", str(self.run_dir / "nginx-error.log")],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise ClusterError(f"nginx -t refused {self.config_path}:\n{done.stderr.strip()}")

    def _start_nginx(self) -> None:
        out = open(self.run_dir / "nginx-stderr.log", "ab")
        self._nginx = subprocess.Popen(
            [self._nginx_bin, "-p", str(self.run_dir), "-c", str(self.config_path),
             "-e", str(self.run_dir / "nginx-error.log")],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        out.close()

    def _worker_env(self, w: _Worker) -> dict[str, str]:
        return {**os.environ, "PYTHONUNBUFFERED": "1", "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
                "HOMETOWN_TRUST_PROXY": "1", **self.env, "STREAMLIT_SERVER_COOKIE_SECRET": self._secret}

    def _start_worker(self, w: _Worker) -> None:
        cmd = [self.python, "-m", "streamlit", "run", self.script, "--server.port", str(w.port), *WORKER_FLAGS]
        with open(w.log_path, "ab") as out:
            w.proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=self._worker_env(w), stdin=subprocess.DEVNULL,
                                      stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        w.started_at = time.monotonic()
        w.up, w.failures = False, 0

    def _wait_up(self, w: _Worker, deadline: float) -> None:
        while not healthy(w.url):
            if w.proc.poll() is not None:
                raise ClusterError(f"worker {w.index} (port {w.port}) exited with {w.proc.returncode}:\n"
                                   f"{self.log_tail(w.index)}")
            if time.monotonic() > deadline:
                raise ClusterError(f"worker {w.index} (port {w.port}) did not answer in time:\n"
                                   f"{self.log_tail(w.index)}")
            time.sleep(0.2)
        w.up = True

    def _supervise(self) -> None:
        while not self._stop.wait(self.health_interval):
            for w in self._workers:
                try:
                    self._check(w)
                except Exception as exc:  # the supervisor must outlive any one check
                    self._log(f"supervisor: worker {w.index}: {exc!r}")
            with self._lock:
                if not self._stop.is_set() and self._nginx is not None and self._nginx.poll() is not None:
                    self._log(f"nginx exited with {self._nginx.returncode}: starting it again")
                    self._start_nginx()

    def _check(self, w: _Worker) -> None:
        now = time.monotonic()
        with self._lock:
            if self._stop.is_set():
                return
            if w.proc is not None and w.proc.poll() is not None:
                code = w.proc.returncode
                w.quick_deaths = w.quick_deaths + 1 if now - w.started_at < self.QUICK_DEATH_S else 0
                pause = min(30.0, 2.0 ** (w.quick_deaths - 1)) if w.quick_deaths else 0.0
                self._log(f"worker {w.index} (port {w.port}) exited with {code}: starting it again"
                          + (f" in {pause:.0f} s" if pause else ""))
                w.proc, w.next_start = None, now + pause
            if w.proc is None:
                if now >= w.next_start and not w.held:
                    if _port_free(w.port):
                        self._start_worker(w)
                        w.restarts += 1
                    else:
                        self._log(f"worker {w.index}: port {w.port} still in use, waiting")
                return
            proc = w.proc
        ok = healthy(w.url)
        with self._lock:
            if w.proc is not proc or self._stop.is_set():
                return
            if ok:
                w.up, w.failures = True, 0
                return
            if not w.up:
                if now - w.started_at > self.startup_timeout:
                    self._log(f"worker {w.index} did not come up in {self.startup_timeout:.0f} s: killing it")
                    os.killpg(proc.pid, signal.SIGKILL)
                return
            w.failures += 1
            if w.failures >= self.health_failures:
                self._log(f"worker {w.index} failed {w.failures} health checks: killing it")
                os.killpg(proc.pid, signal.SIGKILL)


@contextmanager
def cluster(workers: int | None = None, port: int | None = None, **kwargs) -> Iterator[Cluster]:
    """``with cluster(workers=2) as c:`` — a started Cluster (see the module docstring), stopped on exit."""
    c = Cluster(workers, port, **kwargs)
    c.start()
    try:
        yield c
    finally:
        c.stop()
        if c._own_run_dir:
            shutil.rmtree(c.run_dir, ignore_errors=True)
