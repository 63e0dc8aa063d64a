"""Personal data on screen and in files: who may see a person's name, and the masked form everyone else sees.

Judges' names in a scores workbook are personal data. Only the roles that work with them (admin, analyst) see them
in full and get them in exports; everyone else sees 张* on screen and no names in files. ID and phone numbers of
posted cadres (驻村力量) are stricter: the administrator only (``may_see_personal_data``). The role is passed in
(ui.common.current_role() on a page), so the rule is a plain function the tests can call.
"""

from __future__ import annotations

from hometown.access.roles import ADMIN, ANALYST
from warehouse.parts.teams import mask_id, mask_phone  # noqa: F401  (the one definition of the masks)

NAME_ROLES = frozenset({ADMIN, ANALYST})
# ID numbers and phone numbers (驻村力量, TEAMS_SPEC §5): only the administrator sees them unmasked, on screen and in
# files; every other role, the open app included (role None), sees 532501********123X and 138****5678.
PERSONAL_DATA_ROLES = frozenset({ADMIN})


def may_see_personal_data(role: str | None) -> bool:
    return role in PERSONAL_DATA_ROLES


def may_see_names(role: str | None) -> bool:
    return role in NAME_ROLES


def mask_name(name: str | None, role: str | None = None) -> str:
    """张三 → 张*, 欧阳修 → 欧**; the name itself for admin and analyst. Empty stays empty."""
    text = "" if name is None else str(name).strip()
    if not text or may_see_names(role):
        return text
    return text[0] + "*" * max(len(text) - 1, 1)
