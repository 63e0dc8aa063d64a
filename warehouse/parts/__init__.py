"""Schema parts: a report kind's room on the ground floor (its tables, public views and alert rules).

The ground floor cannot import the pipeline's kinds (pipelines/kinds/, a floor above), and a kind must not edit
warehouse/store.py or warehouse/alerts.py to add itself. So the ground floor discovers its parts by listing this
package, as the pipeline discovers kinds: every module of ``warehouse/parts/`` that defines ``PART = SchemaPart(...)``
is a part. ``warehouse.store.ensure_schema`` creates each part's tables after the core's and its views after the
core's views; ``warehouse.alerts`` puts each part's rules into ``alerts_at`` (UNION ALL with the core rules), into
the materialised ``alerts_current`` and its refresh signature, into the rule list (``alerts.RULES``), the labels and
the config check, so the dispatch board, supervision orders and the overview's alert panel take them unchanged.

A rule's SQL is one SELECT inside the ``alerts_at(on_date)`` macro (``on_date`` NULL: the current alerts). It may
read any table or view and the one-row relation ``cfg`` (CROSS JOIN it), whose columns are the settings of
config/alerts.toml: ``num(rule, name)`` / ``text(rule, name)`` give the column of a number / a word, ``on(rule)``
the rule's ``enabled`` test. It returns the columns ``RAISED_COLUMNS`` (by name); the macro adds the place names,
the label and the order. A part module imports only this package and the floor's plain modules (never
warehouse.alerts or warehouse.store, which import this package).
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

# What a rule's SELECT returns (by name); warehouse.alerts turns it into ALERT_COLUMNS.
RAISED_COLUMNS = ("alert_type", "level", "prefecture_code", "county_code", "village_code", "as_of", "value",
                  "threshold", "detail", "alert_key", "task_year", "township", "village", "village_key")


@dataclass(frozen=True)
class AlertRule:
    key: str                        # alert_type code, e.g. team_days_short; its section in config/alerts.toml
    label: str                      # default Chinese name (the config's ``label`` wins)
    level: str                      # default level, 红 or 黄 (the level a rule raises unless its SQL says otherwise)
    sql: str                        # the SELECT producing RAISED_COLUMNS
    depends_on: tuple[str, ...] = ()  # scalar SQL over what the rule reads beyond reports and views (signature)


@dataclass(frozen=True)
class SchemaPart:
    key: str                        # the kind's key, e.g. teams
    tables: str                     # DDL, idempotent (CREATE TABLE IF NOT EXISTS …)
    views: str | Callable[[], str]  # DDL, CREATE OR REPLACE VIEW … (a callable: built at each write, e.g. from config)
    rules: tuple[AlertRule, ...] = ()
    order: int = 100
    # Run at the end of every warehouse write, before the alerts are refreshed (warehouse.store.writing): a part that
    # materialises what its views compute (so its pages stay fast) refills it here; None: nothing to do.
    refresh: Callable[[Any], None] | None = None


@lru_cache(maxsize=1)
def parts() -> tuple[SchemaPart, ...]:
    """Every part, in ``order``: the ``PART`` of each module of warehouse/parts/."""
    found = []
    for info in pkgutil.iter_modules(__path__, __name__ + "."):
        part = getattr(importlib.import_module(info.name), "PART", None)
        if isinstance(part, SchemaPart):
            found.append(part)
    keys = [p.key for p in found]
    if len(set(keys)) != len(keys):
        raise RuntimeError(f"schema parts registered twice: {sorted(keys)}")
    return tuple(sorted(found, key=lambda p: (p.order, p.key)))


def views_sql(part: SchemaPart) -> str:
    return part.views() if callable(part.views) else part.views


def rules() -> tuple[AlertRule, ...]:
    """Every part's alert rules, parts in order, each part's rules in its own order."""
    return tuple(r for p in parts() for r in p.rules)


def num(rule: str, name: str) -> str:
    """The ``cfg`` column of a numeric setting (NULL when config/alerts.toml does not set it)."""
    return f"cfg.n__{rule}__{name}"


def text(rule: str, name: str) -> str:
    """The ``cfg`` column of a word setting."""
    return f"cfg.t__{rule}__{name}"


def on(rule: str) -> str:
    """The rule is switched on (``enabled``, default true)."""
    return f"coalesce({num(rule, 'enabled')}, 1) = 1"
