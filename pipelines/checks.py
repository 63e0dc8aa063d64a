"""Checking report files side by side: worker processes check each file as its kind (pipelines.kinds), the loader
takes results in file order.

Checking (reading, normalising, validating) is nearly all of a load's CPU; writing to the warehouse must stay in
one process and in the order the files were offered (a correction supersedes what came before it). So files are
checked a few ahead in a pool of spawned processes and handed back in order. A bounded window keeps memory to a
few files' worth however large the folder. Files already in the warehouse (by content hash) are not checked here:
they are duplicates, decided by the loader.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Iterable, Iterator

from pipelines import kinds
from pipelines.report import CheckedReport

# Below this many files a pool costs more than it saves (each spawned checker imports polars, the roster, OpenCC).
MIN_FILES_FOR_WORKERS = 4
# Files in flight per worker: enough to keep every worker busy while the loader writes, few enough to bound memory.
AHEAD_PER_WORKER = 2


@dataclass(frozen=True)
class Offered:
    """A file as offered to the loader: its bytes, or the reason it could not be taken (then data is None)."""
    path: Path
    data: bytes | None
    sha256: str | None
    problem: str | None = None


def can_spawn() -> bool:
    """Whether spawned workers can start here: they re-import the main script, which must exist as a file (not a
    program read from stdin). Otherwise the pool would restart failing workers forever."""
    import sys

    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    return main_file is None or os.path.exists(main_file)


def _check(task: tuple[Path, bytes, date | None]) -> CheckedReport:
    path, data, as_of_limit = task
    return kinds.check(path, data, as_of_limit)


@contextmanager
def _pool(workers: int):
    """A pool of spawned processes, or None when this machine cannot make one (no /dev/shm, a sandbox).

    "spawn", not "fork": a forked child inherits polars' and OpenCC's thread pools mid-state and can hang (seen
    with the demo writer). Each checker runs polars on one thread: the workers already use the cores.
    """
    saved = os.environ.get("POLARS_MAX_THREADS")
    os.environ["POLARS_MAX_THREADS"] = "1"  # inherited by the spawned children only; this process's pool is built
    try:
        pool = multiprocessing.get_context("spawn").Pool(workers)
    except OSError:
        pool = None
    finally:
        if saved is None:
            os.environ.pop("POLARS_MAX_THREADS", None)
        else:
            os.environ["POLARS_MAX_THREADS"] = saved
    try:
        yield pool
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()


def checked_in_order(items: Iterable[Offered], known: set[str], as_of_limit: date | None,
                     workers: int) -> Iterator[tuple[Offered, CheckedReport | None]]:
    """Each offered file with its check, in the order offered. The check is None for a file that could not be
    taken or whose content hash is in ``known`` (the loader decides those); with one worker, None throughout and
    the loader checks each file itself, in its own process."""
    with _pool(workers) if workers > 1 else nullcontext() as pool:
        if pool is None:
            yield from ((item, None) for item in items)
            return
        window: deque = deque()
        limit = workers * AHEAD_PER_WORKER
        for item in items:
            pending = None
            if item.problem is None and item.sha256 not in known:
                pending = pool.apply_async(_check, ((item.path, item.data, as_of_limit),))
            window.append((item, pending))
            while len(window) > limit:
                done, result = window.popleft()
                yield done, result.get() if result is not None else None
        while window:
            done, result = window.popleft()
            yield done, result.get() if result is not None else None
