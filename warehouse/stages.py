"""The 7 stages and 28 steps of a village plan, and the plan statuses that follow them.

The stage names live in ``config/stages.toml`` so an office can rename them without touching code;
everything else here (step ranges, the status a stage implies) is the rule of DOMAIN.md.
"""

from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from warehouse.settings import CONFIG_DIR

STAGES_FILE = CONFIG_DIR / "stages.toml"

STEPS_TOTAL = 28
STAGE_COUNT = 7

# Plan statuses in the order a plan passes through them.
PLAN_STATUSES = ("未启动", "编制中", "成果完成", "已审查", "已审批", "已入库")
# 成果完成 or later: the plan is compiled (DOMAIN.md, REPORT_SPEC §7 plans_completed).
COMPLETED_STATUSES = PLAN_STATUSES[2:]
# The last status: the plan is in the provincial database (成果入库, metric plans_in_database).
IN_DATABASE_STATUS = PLAN_STATUSES[-1]


def sql_list(values: tuple[str, ...]) -> str:
    """A SQL list literal of fixed words of this module, e.g. ``('成果完成', '已审查')`` (never user input)."""
    return "(" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + ")"


@lru_cache(maxsize=1)
def stage_names() -> dict[int, str]:
    """Stage number → official name, from the configuration file."""
    with STAGES_FILE.open("rb") as f:
        doc = tomllib.load(f)
    return {int(s["number"]): s["name"] for s in doc["stage"]}


@lru_cache(maxsize=1)
def _stage_lookup() -> dict[str, int]:
    from geo.text import normalise_text

    with STAGES_FILE.open("rb") as f:
        doc = tomllib.load(f)
    lookup: dict[str, int] = {}
    for s in doc["stage"]:
        for name in [s["name"], *s.get("aliases", [])]:
            lookup[normalise_text(name)] = int(s["number"])
    return lookup


_LEADING_NUMBER = re.compile(r"^(?:第)?([1-7])(?:环节|阶段)?(?:[.、:\-_]|$)")


def parse_stage(text: str) -> int | None:
    """A stage given as its number (``4``, ``第4环节``, ``4.方案编制``) or its name; None when not a stage."""
    if text is None:
        return None
    t = text.strip()
    if t.isdigit():
        n = int(t)
        return n if 1 <= n <= STAGE_COUNT else None
    try:
        f = float(t)
    except ValueError:
        f = None
    if f is not None:
        return int(f) if f.is_integer() and 1 <= f <= STAGE_COUNT else None
    m = _LEADING_NUMBER.match(t)
    if m:
        return int(m.group(1))
    from geo.text import normalise_text

    return _stage_lookup().get(normalise_text(t))


def steps_allowed(stage: int) -> tuple[int, int]:
    """Stage k allows 4k−4 … 4k steps done (the lower bound is the stage just entered)."""
    return 4 * stage - 4, 4 * stage


def expected_statuses(stage: int, steps: int) -> tuple[str, ...]:
    """The plan statuses consistent with a stage and steps done."""
    if steps == 0:
        return ("未启动",)
    if stage <= 4:
        return ("编制中",)
    if stage == 5:
        return ("成果完成",)
    if stage == 6:
        return ("已审查", "已审批")
    return ("已入库",) if steps == STEPS_TOTAL else ("已审批",)


def derived_status(stage: int, steps: int) -> str:
    """The status a report that leaves 规划状态 empty is taken to mean."""
    return expected_statuses(stage, steps)[0]
