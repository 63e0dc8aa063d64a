"""File locks and atomic file writes, written once for every file the platform writes.

- ``file_lock(target)``: an exclusive ``flock`` on ``<target>.lock`` (a separate file, so the target itself can be
  replaced while the lock is held). Waits, fails at once (``wait=False``: BlockingIOError), or waits at most
  ``timeout`` seconds (then ``busy()``, TimeoutError by default). Serialises writers across processes (the warehouse,
  the users file and its lock-outs, the audit log, the briefings' record); readers never take it.
- ``replace_atomic(tmp, target)``: publish a finished temporary file: fsync it, rename it over the target
  (``os.replace``, atomic on one filesystem) and fsync the folder, so after a crash the target is either the old
  file or the new one, never a torn mix.
- ``write_atomic(target, data)``: bytes or text written to a temporary file next to the target, then published
  with ``replace_atomic``; the temporary is removed when anything fails.
"""

from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

_POLL_S = 0.02


def lock_path(target: Path) -> Path:
    return target.with_name(target.name + ".lock")


@contextmanager
def file_lock(target: str | Path, *, wait: bool = True, timeout: float | None = None,
              busy: Callable[[], Exception] | None = None) -> Iterator[None]:
    """Hold an exclusive lock on ``target`` (through ``<target>.lock``) for the block. With ``timeout``, a holder
    that does not let go in time raises ``busy()`` (default TimeoutError): a clear error instead of a hung page."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path(target), "a+") as lock:
        if timeout is not None:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise (busy() if busy else TimeoutError(f"文件正被另一进程占用：{target}")) from None
                    time.sleep(_POLL_S)
        else:
            fcntl.flock(lock, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def temp_path(target: Path) -> Path:
    """The private temporary file a writer of ``target`` fills before publishing it (hidden, per process)."""
    return target.with_name(f".{target.name}.{os.getpid()}.tmp")


def replace_atomic(tmp: str | Path, target: str | Path) -> None:
    """Publish the finished file ``tmp`` as ``target``: durable, and atomic for every reader."""
    tmp, target = Path(tmp), Path(target)
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, target)
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_atomic(target: str | Path, data: bytes | str, *, mode: int = 0o644) -> Path:
    """Write ``data`` (text as UTF-8) to ``target`` so that readers see the old file or the new one, never half."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(target)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        replace_atomic(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target
