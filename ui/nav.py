"""The app's pages in one list: file, title, URL path and the roles that may open each; one definition of each path.

app.py builds ``st.navigation`` from this list; a page whose file does not exist yet is left out, and a page the
signed-in role may not use is absent (not merely hidden). Roles are those of hometown.access.roles. Everything that
links to a page (st.page_link, st.switch_page) names it by the constants below, never by a string of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hometown.access.roles import ADMIN, COUNTY, LEADER, PREFECTURE, ROLES

ROOT = Path(__file__).resolve().parent.parent

EVERYONE = tuple(ROLES)

# The page files, for links.
OVERVIEW_PAGE, REGION_PAGE, VILLAGE_PAGE, MAP_PAGE = (
    "pages/overview.py", "pages/region.py", "pages/village.py", "pages/map.py")
DISPATCH_PAGE, RANKINGS_PAGE, BRIEFS_PAGE, UPLOAD_PAGE, REPORTS_PAGE, AUDIT_PAGE = (
    "pages/dispatch.py", "pages/rankings.py", "pages/briefs.py", "pages/upload.py", "pages/reports.py",
    "pages/audit.py")
COMMITMENTS_PAGE = "pages/commitments.py"
TEAMS_PAGE = "pages/teams.py"


@dataclass(frozen=True)
class PageSpec:
    file: str
    title: str
    url_path: str
    icon: str = ""
    roles: tuple[str, ...] = EVERYONE
    default: bool = False
    in_menu: bool = True


PAGES: tuple[PageSpec, ...] = (
    PageSpec(OVERVIEW_PAGE, "一屏知全局", "overview", ":material/dashboard:", default=True),
    PageSpec(REGION_PAGE, "一键查明细", "region", ":material/account_tree:"),
    PageSpec(VILLAGE_PAGE, "村庄详情", "village", ":material/home_pin:", in_menu=False),
    PageSpec(MAP_PAGE, "一图督进度", "map", ":material/map:"),
    PageSpec(DISPATCH_PAGE, "调度督办", "dispatch", ":material/assignment_late:",
             roles=(LEADER, PREFECTURE, COUNTY, ADMIN)),
    PageSpec(RANKINGS_PAGE, "大擂台大比武", "rankings", ":material/leaderboard:"),
    PageSpec(TEAMS_PAGE, "驻村力量", "teams", ":material/groups:"),
    PageSpec(BRIEFS_PAGE, "调度简报", "briefs", ":material/article:"),
    PageSpec(COMMITMENTS_PAGE, "任期承诺", "commitments", ":material/checklist:"),
    PageSpec(UPLOAD_PAGE, "报表上传", "upload", ":material/upload_file:", roles=(PREFECTURE, ADMIN)),
    PageSpec(REPORTS_PAGE, "报送记录", "reports", ":material/fact_check:"),
    PageSpec(AUDIT_PAGE, "审计日志", "audit", ":material/policy:", roles=(ADMIN,)),
)


def pages_for(role: str | None) -> list[PageSpec]:
    """The pages a role may open (every page when no login is configured), those that exist."""
    return [p for p in PAGES if (ROOT / p.file).exists() and (role is None or role in p.roles)]
