"""Who may see what, and which slice of the data a page asks for: ``Scope`` and ``Filters``.

Every query function of the query layer takes a ``Scope`` (the user's region: all, one prefecture, one county) and
applies it in SQL with parameters, so a county user cannot reach another county by any route — a deep link, a
query parameter, an export or a chart selection all end in the same queries. ``Filters`` are the page's choices
(task year, reporting date, region) that live in the URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

PROVINCE_CODE = "530000"


class OutOfScope(PermissionError):
    """A region outside the user's scope was asked for."""


@dataclass(frozen=True)
class Scope:
    prefecture_code: str | None = None
    county_code: str | None = None

    def sql(self, alias: str = "") -> tuple[str, list]:
        """A WHERE fragment (always valid after AND) and its parameters."""
        a = f"{alias}." if alias else ""
        if self.county_code:
            return f"{a}county_code = ?", [self.county_code]
        if self.prefecture_code:
            return f"{a}prefecture_code = ?", [self.prefecture_code]
        return "TRUE", []

    def allows(self, code: str | None) -> bool:
        """May this user see the region (province, prefecture, county or 12-digit village) with this code?"""
        if not code:
            return False
        if self.county_code:
            return code.startswith(self.county_code)
        if self.prefecture_code:
            return code.startswith(self.prefecture_code[:4])
        return True

    @property
    def home_prefecture(self) -> str | None:
        """The prefecture the user belongs to: their own, or their county's; None for the whole province."""
        if self.county_code:
            return self.county_code[:4] + "00"
        return self.prefecture_code

    @property
    def top_code(self) -> str:
        """The highest region this user may open."""
        return self.county_code or self.prefecture_code or PROVINCE_CODE


ALL = Scope()


@dataclass(frozen=True)
class Filters:
    """The page's filters: task year (None = all years) and reporting date (None = each prefecture's latest)."""

    task_year: int | None = None
    as_of: date | None = None
