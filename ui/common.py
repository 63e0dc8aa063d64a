"""Shared page plumbing: cached query calls and built blocks per warehouse version, filters in the URL, the user's scope.

``run(fn, *args)`` calls a query-layer function, and ``block(fn, *args)`` a ui-level builder of markup or chart
JSON, through one process-wide cache keyed by the warehouse version, the function and its arguments (the scope is
always among them where the result depends on it), so a new load shows up on the next run without a restart, and
identical figures and blocks are computed once per version for every session of the process.

Why not ``st.cache_data``: it pickles each value and unpickles a copy on every read; for the map model and the
frames of a page that was a large share of a warm rerun's CPU (issue 17). Values here are shared, not copied:
query results (polars frames, frozen dataclasses, tuples) and built strings are never changed in place by a page.
Concurrent first calls of the same key wait for one computation (the morning meeting opens the same pages at once).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import date
from typing import Any, Callable

import streamlit as st

from warehouse import db
from warehouse.scope import ALL, Filters, Scope

MAX_ENTRIES = 2048  # values of the current version (a new version drops the older ones)


class VersionCache:
    """A least-recently-used map from (version, function, arguments) to a computed value, shared by every session of
    the process. One lock guards the map; each key being computed has its own, so a slow query holds back only the
    callers of that same key. An exception is not cached."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._values: OrderedDict[tuple, Any] = OrderedDict()
        self._pending: dict[tuple, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
            pending = self._pending.setdefault(key, threading.Lock())
        with pending:
            with self._lock:
                if key in self._values:  # computed by the caller we waited for
                    return self._values[key]
            try:
                value = compute()
            finally:
                with self._lock:
                    self._pending.pop(key, None)
            with self._lock:
                self._values[key] = value
                self._drop_stale(key[0])
            return value

    def _drop_stale(self, version: str) -> None:
        # A new load (or another warehouse file) makes every value of the older versions unreachable for good.
        for k in [k for k in self._values if k[0] != version]:
            del self._values[k]
        while len(self._values) > self.max_entries:
            self._values.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


CACHE = VersionCache()


def _call(kind: str, fn: Callable, args: tuple, kwargs: dict) -> Any:
    # The source file, not __module__: Streamlit runs every page file as "__main__".
    where = fn.__code__.co_filename if hasattr(fn, "__code__") else fn.__module__
    key = (db.version(), kind, where, fn.__qualname__, args, tuple(sorted(kwargs.items())))
    return CACHE.get(key, lambda: fn(*args, **kwargs))


def run(fn: Callable, *args, **kwargs) -> Any:
    """Call a query-layer function (module-level, hashable arguments) cached per warehouse version."""
    return _call("query", fn, args, kwargs)


def block(fn: Callable, *args, **kwargs) -> Any:
    """A built block (markup, chart JSON) of a module-level ui function of hashable arguments, cached per warehouse
    version like ``run``: the builder reads its figures through ``run`` with the same arguments, so the key (which
    holds the scope and filters it is given) says everything the block shows."""
    return _call("block", fn, args, kwargs)


def current_scope() -> Scope:
    """The signed-in user's scope (everything when no login is configured)."""
    return st.session_state.get("scope", ALL)


def current_role() -> str | None:
    return st.session_state.get("role")


def filters_from_url() -> Filters:
    """Task year and reporting date from ?year=2021&asof=2022-06-30; bad values are ignored, not fatal."""
    qp = st.query_params
    year = qp.get("year")
    as_of = qp.get("asof")
    try:
        year_value = int(year) if year else None
    except ValueError:
        year_value = None
    try:
        as_of_value = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        as_of_value = None
    return Filters(task_year=year_value, as_of=as_of_value)


def url_params(filters: Filters, **extra) -> dict[str, str]:
    """Query parameters that reproduce the filters (and extra ones such as code=…), for links."""
    params: dict[str, str] = {}
    if filters.task_year:
        params["year"] = str(filters.task_year)
    if filters.as_of:
        params["asof"] = filters.as_of.isoformat()
    params.update({k: str(v) for k, v in extra.items() if v is not None})
    return params


def warehouse_ready() -> bool:
    """False, with a Chinese message, when there is no warehouse yet or it cannot be read (damaged): the page then
    draws nothing that needs it. (A damage found only part-way through a page is shown by ui.guard.)"""
    from ui.text import md

    try:
        db.check()
        return True
    except db.WarehouseDamaged as exc:
        st.error(md(exc), icon=":material/error:")
        return False
    except db.WarehouseMissing as exc:
        st.warning(md(exc))
        return False
