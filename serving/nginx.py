"""The nginx configuration for N Streamlit workers, rendered from the deployment template deploy/nginx/hometown.conf.

The template is the ``conf.d`` file a production install copies (an ``http``-level snippet: ``map``s, ``upstream``s,
one ``server``). Between its ``# BEGIN workers`` and ``# END workers`` lines sit the parts that depend on the
workers (the upstream groups and the two maps of the sticky cookie); ``site()`` rewrites that block for the given
worker ports, the ``listen`` port and the ``server_name``, and keeps everything else (headers, locations, limits)
as written there: one place for the rules the network team reads. The checked-in template is exactly what
``site()`` gives for two workers on 8502 and 8503 behind port 80 (a test checks it), so the file stays valid as it
stands.

``standalone()`` wraps the snippet into a whole ``nginx.conf`` that runs in the foreground as any user, with its pid
file, temp folders and logs in one private folder (serving/cluster.py uses it): no root config is read or touched.

Sticky sessions (why a cookie, and how): a Streamlit session lives in one worker's memory; its websocket and the
``/media/…`` and ``/_stcore/upload_file/…`` requests of that session must reach that worker. nginx open source has
no ``sticky`` directive, and ``hash $remote_addr`` would put a whole office behind one NAT address on one worker. So
nginx keeps the choice in a cookie of its own, ``hometown_worker`` (``w0``, ``w1`` …, the worker actually served):

- a request without the cookie goes to the group ``hometown_app`` (``least_conn``: the worker with the fewest open
  connections, i.e. open websockets, gets the new browser);
- a request with ``hometown_worker=wI`` goes to the group ``hometown_wI``: worker I first, every other worker as
  ``backup``. When worker I is down (connection refused: ``proxy_next_upstream error timeout``, ``max_fails=1
  fail_timeout=10s``) the request goes to a live worker instead, in the same request;
- every proxied answer sets the cookie to the worker that answered (``$upstream_addr`` mapped back to ``wI``; the
  last address when nginx had to try several). So after a fail-over the browser stays on the new worker, also once
  the old one is back. The session of a dead worker is gone: the browser reconnects, lands on a live worker and
  shows the sign-in form; signing in again gives the page back.

The cookie is HttpOnly, SameSite=Lax, for the session only, and names a worker number, nothing else. One browser's
tabs share it, so they share a worker; different browsers (different people) spread even behind one address.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = REPO_ROOT / "deploy" / "nginx" / "hometown.conf"
COOKIE = "hometown_worker"
BEGIN, END = "# BEGIN workers", "# END workers"
FAIL_TIMEOUT_S = 10


def worker_name(index: int) -> str:
    """The cookie value of worker ``index`` (0-based): ``w0``, ``w1`` …"""
    return f"w{index}"


def workers_block(ports: list[int], host: str = "127.0.0.1") -> str:
    """The upstream groups and the cookie maps for workers listening on ``host:port`` (one port per worker)."""
    if not ports:
        raise ValueError("at least one worker port is needed")
    if len(set(ports)) != len(ports):
        raise ValueError(f"worker ports must differ: {ports}")
    servers = [f"{host}:{p}" for p in ports]
    opts = f"max_fails=1 fail_timeout={FAIL_TIMEOUT_S}s"
    lines = [BEGIN + " (serving/nginx.py writes this block for N workers: `python -m serving nginx-conf`)",
             "# A browser without the cookie: the worker with the fewest open connections (websockets).",
             "upstream hometown_app {",
             "    least_conn;"]
    lines += [f"    server {s} {opts};" for s in servers]
    lines += ["}", "# A browser with the cookie: its worker, the others only when that one is down."]
    for i, own in enumerate(servers):
        lines.append(f"upstream hometown_{worker_name(i)} {{")
        lines.append(f"    server {own} {opts};")
        lines += [f"    server {s} backup;" for j, s in enumerate(servers) if j != i]
        lines.append("}")
    lines += ["# The cookie picks the group (an unknown or missing value: the balanced group).",
              f"map $cookie_{COOKIE} $hometown_upstream {{",
              "    default hometown_app;"]
    lines += [f"    {worker_name(i)} hometown_{worker_name(i)};" for i in range(len(servers))]
    lines += ["}",
              "# The worker that answered (the last address tried) is written back into the cookie.",
              "map $upstream_addr $hometown_served {",
              "    default \"\";"]
    lines += [f"    ~(^|\\s){re.escape(s)}$ {worker_name(i)};" for i, s in enumerate(servers)]
    lines += ["}",
              "map $hometown_served $hometown_cookie {",
              "    \"\" \"\";",
              f"    default \"{COOKIE}=$hometown_served; Path=/; HttpOnly; SameSite=Lax\";",
              "}",
              END]
    return "\n".join(lines)


def site(ports: list[int], *, listen: str | int = 80, server_name: str = "hometown.intranet.example",
         host: str = "127.0.0.1", template: str | None = None) -> str:
    """The conf.d snippet for these worker ports: the template with its workers block, ``listen`` and
    ``server_name`` replaced."""
    text = TEMPLATE.read_text(encoding="utf-8") if template is None else template
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"{TEMPLATE.name}: no '{BEGIN}' … '{END}' block")
    text = text[:start] + workers_block(ports, host) + text[end + len(END):]
    text, n = re.subn(r"(?m)^(\s*)listen\s+[^;]+;", lambda m: f"{m.group(1)}listen {listen};", text, count=1)
    if n != 1:
        raise ValueError(f"{TEMPLATE.name}: no listen directive")
    text = re.sub(r"(?m)^(\s*)server_name\s+[^;]+;", lambda m: f"{m.group(1)}server_name {server_name};", text,
                  count=1)
    return text


def standalone(ports: list[int], *, port: int, run_dir: Path, address: str = "127.0.0.1",
               server_name: str = "_", processes: int | str = 1) -> str:
    """A whole nginx.conf around ``site()``: foreground, pid/logs/temp files under ``run_dir`` (absolute)."""
    run = Path(run_dir).resolve()
    temp = "\n".join(f"    {name}_temp_path {run / 'tmp' / name};"
                     for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    body = site(ports, listen=f"{address}:{port}", server_name=server_name)
    body = "\n".join(("    " + line) if line.strip() else "" for line in body.splitlines())
    return f"""# Written by serving/nginx.py for serving/cluster.py: do not edit (it is written again at every start).
daemon off;
worker_processes {processes};
pid {run / 'nginx.pid'};
error_log {run / 'nginx-error.log'} warn;

events {{
    worker_connections 4096;
}}

http {{
    default_type application/octet-stream;
    log_format hometown '$remote_addr [$time_local] "$request" $status $body_bytes_sent '
                        'upstream=$upstream_addr worker=$hometown_served rt=$request_time';
    access_log {run / 'nginx-access.log'} hometown;
{temp}
{body}
}}
"""
