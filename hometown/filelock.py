"""An exclusive lock on ``<file>.lock`` for the app's own small DuckDB files (the audit log, the briefings' record).

DuckDB lets one process write a file; these files are written by the app's processes and the command line alike,
each for a moment, so every writer waits here for the others (polling, so a stuck holder turns into a clear error
after ``timeout`` seconds instead of a hung page).
"""

from __future__ import annotations

import fcntl
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator


@contextmanager
def exclusive(path: Path, timeout: float, busy: Callable[[], Exception]) -> Iterator[None]:
    """Hold the lock of ``path`` (creating its folder); raise ``busy()`` when it is not free within ``timeout``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a+") as lock:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise busy() from None
                time.sleep(0.02)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
