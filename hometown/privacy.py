"""Personal data on screen and in files: who may see a person's name, and the masked form everyone else sees.

Judges' names in a scores workbook are personal data. Only the roles that work with them (admin, analyst) see them
in full and get them in exports; everyone else sees 张* on screen and no names in files. The role is passed in
(ui.common.current_role() on a page), so the rule is a plain function the tests can call.
"""

from __future__ import annotations

from hometown.access.roles import ADMIN, ANALYST

NAME_ROLES = frozenset({ADMIN, ANALYST})


def may_see_names(role: str | None) -> bool:
    return role in NAME_ROLES


def mask_name(name: str | None, role: str | None = None) -> str:
    """张三 → 张*, 欧阳修 → 欧**; the name itself for admin and analyst. Empty stays empty."""
    text = "" if name is None else str(name).strip()
    if not text or may_see_names(role):
        return text
    return text[0] + "*" * max(len(text) - 1, 1)
