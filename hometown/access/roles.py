"""The roles, their Chinese names, and what each may do besides reading the pages it is given: one definition.

Read by the users file's checks (hometown.access.auth), the audit trail's table, the order workflow's permissions
(hometown.dispatch.orders) and the app's navigation (ui/nav.py decides which pages a role gets).
"""

from __future__ import annotations

LEADER, PREFECTURE, COUNTY, ANALYST, ADMIN = "leader", "prefecture", "county", "analyst", "admin"
ROLES = {LEADER: "省级领导", PREFECTURE: "州市项目组", COUNTY: "县级专班", ANALYST: "分析员", ADMIN: "管理员"}

# What each role may do besides reading the pages it is given (ui/nav.py decides the pages).
UPLOAD, ISSUE_ORDER, ANSWER_ORDER, CLOSE_ORDER, EXPORT, MANAGE_USERS = (
    "upload", "issue_order", "answer_order", "close_order", "export", "manage_users")
# Issuing a 调度简报 (hometown.briefs) for a region inside the user's scope: a county task force its county's.
ISSUE_BRIEF = "issue_brief"
PERMISSIONS: dict[str, frozenset[str]] = {
    LEADER: frozenset(),
    PREFECTURE: frozenset({UPLOAD, ISSUE_ORDER, ANSWER_ORDER, CLOSE_ORDER, ISSUE_BRIEF}),
    COUNTY: frozenset({ANSWER_ORDER, ISSUE_BRIEF}),
    ANALYST: frozenset({EXPORT}),
    ADMIN: frozenset({UPLOAD, ISSUE_ORDER, ANSWER_ORDER, CLOSE_ORDER, EXPORT, MANAGE_USERS, ISSUE_BRIEF}),
}


def may(role: str | None, action: str) -> bool:
    """May the role do this? The open app (no sign-in, role None) may do everything."""
    if role is None:
        return True
    return action in PERMISSIONS.get(role, frozenset())
