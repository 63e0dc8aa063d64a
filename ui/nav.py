"""The app's pages in one list: title, URL path and the roles that may open each.

app.py builds ``st.navigation`` from this list; a page whose file does not exist yet is left out, and a page the
signed-in role may not use is absent (not merely hidden). Roles are the names of hometown.auth (issue 7).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

LEADER, PREFECTURE, COUNTY, ANALYST, ADMIN = "leader", "prefecture", "county", "analyst", "admin"
EVERYONE = (LEADER, PREFECTURE, COUNTY, ANALYST, ADMIN)


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
    PageSpec("pages/overview.py", "一屏知全局", "overview", ":material/dashboard:", default=True),
    PageSpec("pages/region.py", "一键查明细", "region", ":material/account_tree:"),
    PageSpec("pages/village.py", "村庄详情", "village", ":material/home_pin:", in_menu=False),
    PageSpec("pages/map.py", "一图督进度", "map", ":material/map:"),
    PageSpec("pages/dispatch.py", "调度督办", "dispatch", ":material/assignment_late:",
             roles=(LEADER, PREFECTURE, COUNTY, ADMIN)),
    PageSpec("pages/rankings.py", "大擂台大比武", "rankings", ":material/leaderboard:"),
    PageSpec("pages/briefs.py", "调度简报", "briefs", ":material/article:"),
    PageSpec("pages/upload.py", "报表上传", "upload", ":material/upload_file:", roles=(PREFECTURE, ADMIN)),
    PageSpec("pages/reports.py", "报送记录", "reports", ":material/fact_check:"),
    PageSpec("pages/audit.py", "审计日志", "audit", ":material/policy:", roles=(ADMIN,)),
)


def pages_for(role: str | None) -> list[PageSpec]:
    """The pages a role may open (every page when no login is configured), those that exist."""
    return [p for p in PAGES if (ROOT / p.file).exists() and (role is None or role in p.roles)]
