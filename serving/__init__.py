"""Serving the app with several Streamlit workers behind nginx on one machine (issue 17): ``make serve``.

A Streamlit server is one Python process (about one core: 4–4.5 overview runs a second); a meeting's worth of users
needs several. A floor of its own just under app.py/serve.py/bench (tests/test_layering.py): it runs serve.py as
processes, so it imports nothing of the app, and bench/ may import it. Each worker is ``streamlit run serve.py`` on
its own loopback port; nginx in front does the websocket upgrade, the headers and limits of
deploy/nginx/hometown.conf, and keeps each browser on its worker with a cookie of its own (serving/nginx.py says why
a cookie and how it falls over). Only bench/ and the tests import this package.

- ``serving.nginx``: the nginx configuration for N workers, rendered from deploy/nginx/hometown.conf
  (``site()`` for a conf.d install, ``standalone()`` for a private foreground nginx).
- ``serving.cluster``: ``Cluster`` / ``cluster()`` start the workers and nginx, supervise them (a dead worker is
  started again, a worker that stops answering ``/_stcore/health`` is killed and started again) and stop them.
- ``python -m serving [--workers N] [--port P]``: the foreground command of ``make serve`` (Ctrl-C stops all);
  ``python -m serving nginx-conf …`` prints the conf.d file for a production install (deploy/systemd/).

The stable interface (the load benchmark and tests/test_workers.py use it)::

    from serving import cluster, Cluster, COOKIE
    with cluster(workers=2, port=None, env={"HOMETOWN_DB": db, "HOMETOWN_USERS": users}) as c:
        c.url, c.worker_urls, c.worker_ports, c.worker_pids(), c.nginx_pid, c.restarts
        c.kill_worker(i, hold=False) -> pid;  c.release_worker(i);  c.wait_worker(i, not_pid=pid) -> new pid
        c.worker_of_cookie("w1") -> 1
"""

from serving.cluster import Cluster, ClusterError, cluster, default_workers, find_nginx, healthy
from serving.nginx import COOKIE, worker_name

__all__ = ["COOKIE", "Cluster", "ClusterError", "cluster", "default_workers", "find_nginx", "healthy",
           "worker_name"]
