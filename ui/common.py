"""Shared page plumbing: cached query calls per warehouse version, filters in the URL, the user's scope.

``run(fn, *args)`` calls a query-layer function through ``st.cache_data`` keyed by the warehouse version, so a
new load shows up on the next run without a restart, and identical figures are computed once per version.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Callable

import streamlit as st

from warehouse import db
from warehouse.scope import ALL, Filters, Scope


@st.cache_data(show_spinner=False, max_entries=512)
def _cached(version: str, module: str, name: str, args: tuple, kwargs: tuple) -> Any:
    import importlib

    fn = getattr(importlib.import_module(module), name)
    return fn(*args, **dict(kwargs))


def run(fn: Callable, *args, **kwargs) -> Any:
    """Call a query-layer function (module-level, hashable arguments) cached per warehouse version."""
    return _cached(db.version(), fn.__module__, fn.__name__, args, tuple(sorted(kwargs.items())))


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
