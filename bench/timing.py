"""Wall-clock timing (time.perf_counter): the median of a few runs where runs are cheap, one run where not."""

from __future__ import annotations

import resource
import statistics
import time
from dataclasses import dataclass
from typing import Any, Callable


@dataclass
class Timing:
    median: float
    runs: list[float]
    result: Any  # what the last run returned
    # CPU seconds of this process (all threads) and of the child processes it waited for (ingest's checkers):
    # robust to other jobs' load, not to parallelism.
    cpu_median: float | None = None

    @property
    def n(self) -> int:
        return len(self.runs)


def cpu_now() -> float:
    """CPU seconds so far of this process and its waited-for children (a process pool's workers count once the
    pool is joined, which ingest does before it returns)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def measure(fn: Callable[[], Any], repeats: int = 3, budget: float = 30.0, setup: Callable[[], Any] | None = None) -> Timing:
    """Run ``fn`` up to ``repeats`` times, stopping early once the runs so far took ``budget`` seconds.

    ``setup`` (untimed) runs before each run, e.g. to make a fresh warehouse path; ``fn`` then gets its result.
    """
    runs: list[float] = []
    cpu: list[float] = []
    result = None
    spent = 0.0
    while len(runs) < max(1, repeats):
        arg = setup() if setup else None
        c0, t0 = cpu_now(), time.perf_counter()
        result = fn(arg) if setup else fn()
        dt = time.perf_counter() - t0
        cpu.append(cpu_now() - c0)
        runs.append(dt)
        spent += dt
        if spent + dt > budget:  # the next run would overrun the budget
            break
    return Timing(statistics.median(runs), runs, result, statistics.median(cpu))


def measure_interleaved(cases: dict[str, tuple[Callable[..., Any], Callable[[], Any] | None]], repeats: int = 3,
                        budget: float = 60.0) -> dict[str, Timing]:
    """Time several cases round by round (a, b, c, a, b, c …) so that load from other jobs on a shared machine
    falls on all of them alike and their ratios stay meaningful. ``cases``: name → (fn, setup or None).
    Stops after the round in which the total spent reaches ``budget`` (always at least one round)."""
    runs: dict[str, list[float]] = {name: [] for name in cases}
    cpu: dict[str, list[float]] = {name: [] for name in cases}
    results: dict[str, Any] = {}
    spent = 0.0
    for _ in range(max(1, repeats)):
        for name, (fn, setup) in cases.items():
            arg = setup() if setup else None
            c0, t0 = cpu_now(), time.perf_counter()
            results[name] = fn(arg) if setup else fn()
            dt = time.perf_counter() - t0
            cpu[name].append(cpu_now() - c0)
            runs[name].append(dt)
            spent += dt
        if spent * (len(runs[next(iter(runs))]) + 1) / len(runs[next(iter(runs))]) > budget:
            break  # another round would overrun the budget
    return {name: Timing(statistics.median(r), r, results[name], statistics.median(cpu[name]))
            for name, r in runs.items()}
