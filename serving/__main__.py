"""``python -m serving``: run N workers behind nginx in the foreground (``make serve``), or print the nginx file.

    python -m serving [--workers N] [--port P] [--address A] [--run-dir DIR]
        N workers (default: one per core; $WORKERS) on 127.0.0.1:P+1 … P+N, nginx on A:P (default 0.0.0.0:8501,
        every interface as `make run`; $ADDRESS, $PORT). Ctrl-C or SIGTERM stops everything. Logs and nginx's
        files in DIR (default data/serving/).
    python -m serving nginx-conf [--workers N] [--base-port 8502] [--listen 80] [--server-name NAME]
        prints deploy/nginx/hometown.conf written for those workers (for /etc/nginx/conf.d/).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path

from serving import nginx
from serving.cluster import Cluster, ClusterError, default_workers


def _int_env(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["nginx-conf"]:
        p = argparse.ArgumentParser(prog="python -m serving nginx-conf")
        p.add_argument("--workers", type=int, default=_int_env("WORKERS", default_workers()))
        p.add_argument("--base-port", type=int, default=8502)
        p.add_argument("--listen", default="80")
        p.add_argument("--server-name", default="hometown.intranet.example")
        a = p.parse_args(argv[1:])
        ports = list(range(a.base_port, a.base_port + a.workers))
        sys.stdout.write(nginx.site(ports, listen=a.listen, server_name=a.server_name))
        return 0
    p = argparse.ArgumentParser(prog="python -m serving", description="N Streamlit workers behind nginx")
    p.add_argument("--workers", type=int, default=_int_env("WORKERS", default_workers()),
                   help="worker processes (default: one per core, or $WORKERS)")
    p.add_argument("--port", type=int, default=_int_env("PORT", 8501), help="nginx's port (default 8501 or $PORT)")
    p.add_argument("--address", default=os.environ.get("ADDRESS") or "0.0.0.0",
                   help="nginx's address (default every interface, as make run; or $ADDRESS)")
    p.add_argument("--run-dir", type=Path, default=Path("data/serving"), help="nginx's files and the logs")
    a = p.parse_args(argv)

    def log(message: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)

    c = Cluster(a.workers, a.port, address=a.address, run_dir=a.run_dir, log=log)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    log(f"starting {a.workers} worker(s) and nginx …")
    try:
        c.start()
    except ClusterError as exc:
        print(f"serving: {exc}", file=sys.stderr)
        return 1
    log(f"serving on {c.url} (Ctrl-C stops)")
    try:
        done.wait()
    finally:
        log("stopping …")
        c.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
