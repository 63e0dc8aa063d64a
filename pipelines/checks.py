"""Checking report files in checker processes: each file is read and checked as its kind (pipelines.kinds) in a
spawned child process, side by side when there are several; the loader takes the results in file order.

Two reasons for the child processes:
- Isolation. The readers are native code (calamine through fastexcel), and a damaged file can abort them: an .xls
  whose DIMENSIONS record claims four billion rows makes calamine ask for petabytes, and Rust aborts the process on a
  failed allocation (SIGABRT, no exception to catch). Read in the app's own process, one such upload would take the
  server down with every session on it. In a checker, only the checker dies: the file is refused as damaged
  (``CRASHED``) and the rest of the batch is checked by a fresh checker. A checker that does not answer within
  ``timeout_s()`` is killed and its file refused the same way.
- Speed. Checking (reading, normalising, validating) is nearly all of a load's CPU; writing to the warehouse must
  stay in one process and in the order the files were offered (a correction supersedes what came before it). So a
  batch is checked a few files ahead by several checkers and handed back in order. A bounded window keeps memory
  to a few files' worth however large the folder.

Checkers outlive one batch: a finished batch gives its checkers back to an idle list that the next batch in this
process takes from (importing polars, the roster and OpenCC costs a spawned checker about a second, which every
upload would otherwise pay). Files already in the warehouse (by content hash) are not checked here: they are
duplicates, decided by the loader. ``in_process=True`` checks in the calling process instead (no isolation): for a
machine where no child process can start, and for tests that patch the checking code itself.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import date
from multiprocessing.connection import wait
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator

if TYPE_CHECKING:
    from pipelines.report import CheckedReport

# Below this many files a second checker costs more than it saves.
MIN_FILES_FOR_WORKERS = 4
# Files in flight per worker: enough to keep every worker busy while the loader writes, few enough to bound memory.
AHEAD_PER_WORKER = 2
# Idle checkers kept per thread setting for the next batch; more are stopped when their batch ends.
MAX_IDLE = 2
TIMEOUT_ENV = "HOMETOWN_CHECK_TIMEOUT_S"
DEFAULT_TIMEOUT_S = 600.0

CRASHED = ("文件损坏，无法读取：读取该文件时读取程序异常终止（{how}），文件未导入。"
           "请用 Excel 或 WPS 打开该文件，另存为 .xlsx 后重新报送")
TIMED_OUT = ("文件损坏，无法读取：{seconds:.0f} 秒内未能读完该文件，文件未导入。"
             "请用 Excel 或 WPS 打开该文件，另存为 .xlsx 后重新报送")


@dataclass(frozen=True)
class Offered:
    """A file as offered to the loader: its bytes, or the reason it could not be taken (then data is None)."""
    path: Path
    data: bytes | None
    sha256: str | None
    problem: str | None = None


def can_spawn() -> bool:
    """Whether spawned checkers can start here: they re-import the main script, which must exist as a file (not a
    program read from stdin)."""
    import sys

    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    return main_file is None or os.path.exists(main_file)


def timeout_s() -> float:
    """Seconds a checker may take over one file ($HOMETOWN_CHECK_TIMEOUT_S, default 600)."""
    try:
        seconds = float(os.environ.get(TIMEOUT_ENV) or DEFAULT_TIMEOUT_S)
    except ValueError:
        return DEFAULT_TIMEOUT_S
    return seconds if seconds > 0 else DEFAULT_TIMEOUT_S


def _check(task: tuple[Path, bytes, date | None]) -> CheckedReport:
    from pipelines import kinds

    path, data, as_of_limit = task
    return kinds.check(path, data, as_of_limit)


def _serve(conn) -> None:
    """A checker's life: check each task sent, send back ("ok", report) or ("error", exception); stop at None or
    when the parent is gone (its end of the pipe closes)."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a reader that aborts leaves no core file behind
    except (ImportError, ValueError, OSError):
        pass
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        try:
            answer = ("ok", _check(task))
        except Exception as exc:  # a bug in a check: raised again in the loader, as a check in process would
            answer = ("error", exc)
        try:
            conn.send(answer)
        except Exception as exc:  # an exception or report that cannot be pickled
            conn.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}; answer was {answer[0]}")))


def _how(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return f"信号 {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"信号 {-exitcode}"
    return f"退出码 {exitcode}"


class _Checker:
    """One spawned checker process and the pipe to it."""

    def __init__(self, threads: int | None) -> None:
        self.threads = threads
        ctx = multiprocessing.get_context("spawn")  # not fork: polars' and OpenCC's thread pools, mid-state
        ours, theirs = ctx.Pipe()
        saved = os.environ.get("POLARS_MAX_THREADS")
        if threads:
            os.environ["POLARS_MAX_THREADS"] = str(threads)  # inherited by the child only; ours is built
        try:
            self.process = ctx.Process(target=_serve, args=(theirs,), daemon=True, name="hometown-checker")
            self.process.start()
        finally:
            if threads:
                if saved is None:
                    os.environ.pop("POLARS_MAX_THREADS", None)
                else:
                    os.environ["POLARS_MAX_THREADS"] = saved
            theirs.close()  # only the child holds its end: its death reads as EOF here
        self.conn = ours
        self.started_at = 0.0

    def send(self, task) -> None:
        self.started_at = time.monotonic()
        self.conn.send(task)

    def receive(self) -> tuple[str, object]:
        """The answer to the task sent, or ("crashed", why) when the checker died on it."""
        try:
            return self.conn.recv()
        except (EOFError, OSError):
            self.process.join(5)
            return "crashed", _how(self.process.exitcode)

    def alive(self) -> bool:
        return self.process.is_alive() and not self.conn.closed

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except (OSError, ValueError):
            pass
        self.process.join(2)
        self.kill()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
        self.conn.close()


_idle: dict[int | None, list[_Checker]] = {}
_idle_lock = threading.Lock()


def _borrow(threads: int | None) -> _Checker:
    with _idle_lock:
        free = _idle.get(threads, [])
        while free:
            checker = free.pop()
            if checker.alive():
                return checker
            checker.kill()
    return _Checker(threads)


def _give_back(checker: _Checker) -> None:
    if checker.alive():
        with _idle_lock:
            free = _idle.setdefault(checker.threads, [])
            if len(free) < MAX_IDLE:
                free.append(checker)
                return
    checker.stop()


def stop_idle() -> None:
    """Stop the idle checkers (tests; a process that wants its children gone before it exits)."""
    with _idle_lock:
        checkers = [c for free in _idle.values() for c in free]
        _idle.clear()
    for checker in checkers:
        checker.stop()


class _Entry:
    __slots__ = ("item", "task", "checker", "answer")

    def __init__(self, item: Offered, task) -> None:
        self.item, self.task, self.checker, self.answer = item, task, None, None

    @property
    def done(self) -> bool:
        return self.task is None or self.answer is not None


def _settled(entry: _Entry) -> tuple[Offered, CheckedReport | None]:
    """The entry as the loader takes it: a crashed or timed-out check becomes the file's problem (refused)."""
    if entry.task is None:
        return entry.item, None
    status, value = entry.answer
    if status == "ok":
        return entry.item, value
    if status == "error":
        raise value
    return replace(entry.item, data=None, problem=value), None


def checked_in_order(items: Iterable[Offered], known: set[str], as_of_limit: date | None, workers: int, *,
                     in_process: bool = False) -> Iterator[tuple[Offered, CheckedReport | None]]:
    """Each offered file with its check, in the order offered. The check is None for a file that could not be
    taken or whose content hash is in ``known`` (the loader decides those); a file whose checker died or hung comes
    back with ``problem`` set (``CRASHED`` / ``TIMED_OUT``) and no check. ``in_process``: None throughout, the
    loader checks each file itself, in its own process."""
    if in_process:
        yield from ((item, None) for item in items)
        return
    threads = 1 if workers > 1 else None  # side by side, each checker runs polars on one thread: they use the cores
    checkers: list[_Checker] = []
    busy: dict[object, _Entry] = {}  # connection → the entry its checker is on
    window: deque[_Entry] = deque()
    limit = max(1, workers) * AHEAD_PER_WORKER
    source = iter(items)
    exhausted = False
    try:
        while True:
            while not exhausted and len(window) < limit:
                item = next(source, None)
                if item is None:
                    exhausted = True
                    break
                needs = item.problem is None and item.sha256 not in known
                window.append(_Entry(item, (item.path, item.data, as_of_limit) if needs else None))
            for entry in window:  # earliest first: the loader waits for the head
                if entry.task is not None and entry.checker is None and entry.answer is None:
                    idle = [c for c in checkers if c.conn not in busy]
                    if not idle and len(checkers) < max(1, workers):
                        try:
                            checkers.append(_borrow(threads))
                        except OSError:  # no child process can start here: the loader checks in its process
                            if checkers:
                                break
                            yield from _unchecked(window, source)
                            return
                        idle = checkers[-1:]
                    if not idle:
                        break
                    entry.checker = _sent(checkers, idle[0], entry.task, threads)
                    busy[entry.checker.conn] = entry
            while window and window[0].done:
                yield _settled(window.popleft())
            if exhausted and not window:
                return
            if not window or window[0].done or not busy:
                continue  # more to take from the source, or to hand on
            _collect(checkers, busy)
    finally:
        for checker in checkers:
            if checker.conn in busy or not checker.alive():  # left mid-check (the loader stopped): not reusable
                checker.kill()
            else:
                _give_back(checker)


def _sent(checkers: list[_Checker], checker: _Checker, task, threads: int | None) -> _Checker:
    """The checker the task went to: ``checker``, or a fresh one when that one had died while idle (its death is
    not this file's doing). A fresh checker that cannot take a task either is this machine's problem: raised."""
    try:
        checker.send(task)
        return checker
    except (OSError, ValueError):
        _retire(checkers, checker)
    fresh = _Checker(threads)
    checkers.append(fresh)
    fresh.send(task)
    return fresh


def _unchecked(window: deque[_Entry], source: Iterator[Offered]) -> Iterator[tuple[Offered, None]]:
    while window:
        yield window.popleft().item, None
    yield from ((item, None) for item in source)


def _collect(checkers: list[_Checker], busy: dict[object, _Entry]) -> None:
    """Wait for at least one busy checker to answer, die or run out of time; settle those entries."""
    limit = timeout_s()
    now = time.monotonic()
    first_deadline = min(busy[c].checker.started_at for c in busy) + limit
    for conn in wait(list(busy), timeout=max(0.0, first_deadline - now)):
        entry = busy.pop(conn)
        status, value = entry.checker.receive()
        if status == "crashed":
            code = entry.checker.process.exitcode
            _retire(checkers, entry.checker)
            if code is not None and code > 0:  # Python itself exited (a checker that cannot start): not the file
                raise RuntimeError(f"checker process exited with status {code} (see its output above)")
            entry.answer = ("crashed", CRASHED.format(how=value))
        else:
            entry.answer = (status, value)
    now = time.monotonic()
    for conn, entry in list(busy.items()):
        if now - entry.checker.started_at >= limit:
            busy.pop(conn)
            entry.answer = ("crashed", TIMED_OUT.format(seconds=limit))
            _retire(checkers, entry.checker)


def _retire(checkers: list[_Checker], checker: _Checker) -> None:
    checker.kill()
    checkers.remove(checker)


def check_isolated(item: Offered, as_of_limit: date | None) -> tuple[Offered, CheckedReport | None]:
    """One file's check in a checker (the loader's late check of a file it did not expect to check)."""
    with closing(checked_in_order([item], set(), as_of_limit, 1)) as checked:
        return next(checked)
