"""Optional blocks of the briefing: headlines of report kinds that may or may not be in the warehouse.

驻村力量 (resident first secretaries and work teams, TEAMS_SPEC) and 任期承诺 (branch term commitments,
COMMITMENTS_SPEC) are separate report kinds; when their public views (``team_summary``, ``commitment_summary``) are
in the warehouse, the briefing carries their headline, otherwise the block is left out — no empty heading. A later
report kind adds its block with ``register``; ``collect`` runs every registered block in order and keeps those that
return figures. A block's ``build`` returns a dict (title, paragraphs as Chinese sentences, figures) or None.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import duckdb

from hometown import fmt
from warehouse import db
from warehouse.scope import Filters


@dataclass(frozen=True)
class OptionalSection:
    key: str
    title: str
    build: Callable[[Any, Filters], dict[str, Any] | None]   # (Subject, Filters) -> block or None


REGISTRY: list[OptionalSection] = []


def register(section: OptionalSection) -> None:
    """Add (or replace, by key) a block; blocks print in the order they were first registered."""
    for i, s in enumerate(REGISTRY):
        if s.key == section.key:
            REGISTRY[i] = section
            return
    REGISTRY.append(section)


def collect(subj, filters: Filters) -> list[dict[str, Any]]:
    out = []
    for section in REGISTRY:
        block = section.build(subj, filters)
        if block:
            out.append({"key": section.key, "title": section.title, **block})
    return out


def _summary_row(view: str, subj, extra_where: str = "") -> dict | None:
    """The subject's row of a summary view with (level, code) rows; the province sums the prefectures' rows.
    None when the view is absent (that report kind is not loaded)."""
    level = "prefecture" if subj.level == "province" else subj.level
    where = "level = ?" + ("" if subj.level == "province" else " AND code = ?")
    params = [level] + ([] if subj.level == "province" else [subj.code])
    try:
        frame = db.query(f"SELECT * FROM {view} WHERE {where} {extra_where}", params)
    except duckdb.CatalogException:
        return None
    if frame.height == 0:
        return None
    return {"rows": frame.to_dicts()}


def _teams(subj, filters: Filters) -> dict[str, Any] | None:
    found = _summary_row("team_summary", subj)
    if not found:
        return None
    rows = found["rows"]
    total = {k: sum(r.get(k) or 0 for r in rows)
             for k in ("in_post", "first_secretaries", "villages_required", "villages_met")}
    rate = total["villages_met"] / total["villages_required"] if total["villages_required"] else None
    text = (f"{subj.label}在岗驻村干部{fmt.plain(total['in_post'])}人，其中第一书记"
            f"{fmt.plain(total['first_secretaries'])}名；应配强驻村力量的{fmt.plain(total['villages_required'])}个村中，"
            f"{fmt.plain(total['villages_met'])}个村达到选派要求，达标率{fmt.percent(rate)}。")
    return {"paragraphs": [text], "figures": {**total, "staffing_met_rate": rate}}


def _commitments(subj, filters: Filters) -> dict[str, Any] | None:
    found = _summary_row("commitment_summary", subj, "AND list_name IS NULL")
    if not found:
        return None
    rows = found["rows"]
    total = {k: sum(r.get(k) or 0 for r in rows) for k in ("items", "due", "closed_due", "closed")}
    rate = total["closed_due"] / total["due"] if total["due"] else None
    text = (f"{subj.label}村党组织任期承诺事项{fmt.plain(total['items'])}项，已到期{fmt.plain(total['due'])}项，"
            f"到期兑现{fmt.plain(total['closed_due'])}项，承诺兑现率{fmt.percent(rate)}。")
    return {"paragraphs": [text], "figures": {**total, "fulfilment_rate": rate}}


register(OptionalSection("teams", "驻村力量", _teams))
register(OptionalSection("commitments", "任期承诺", _commitments))
