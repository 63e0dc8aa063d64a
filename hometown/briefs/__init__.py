"""调度简报: the numbered briefing that goes up the chain, for a region (province, prefecture, county) and a
reporting round. No Streamlit.

The room's parts: ``model`` (the figures, from the query layer only), ``sections`` (optional blocks of other report
kinds: 驻村力量, 任期承诺, when their data is loaded), ``writer`` (the sentences, charts and closing table as one
Document), ``charts`` (PNG, matplotlib, offline), ``fonts`` (the CJK font found on the machine), ``render_docx`` and
``render_pdf`` (the same text in both files), ``store`` (numbering, the record of issued briefings, drafts) and
``cli`` (``python -m pipelines brief``). This module holds what the page and the command line share: who may
issue, which regions get drafts, the preview.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from hometown.access import auth
from hometown.briefs import model as brief_model
from hometown.briefs import store
from warehouse.scope import ALL, PROVINCE_CODE, Scope


def may_issue(role: str | None, viewer: Scope, code: str) -> bool:
    """May this user issue the briefing of region ``code``? The role's permission (hometown.access.auth) and the scope:
    admin anything, a prefecture user its prefecture and counties, a county user its county; leaders and
    analysts read."""
    return auth.may(role, auth.ISSUE_BRIEF) and viewer.allows(code)


def regions(viewer: Scope = ALL) -> list[tuple[str, str]]:
    """(code, name) of the regions whose briefings the viewer may see: province, prefectures, counties."""
    from geo import reference

    out = []
    if viewer.allows(PROVINCE_CODE):
        out.append((PROVINCE_CODE, "云南省"))
    prefs = reference.prefectures()
    counties = reference.counties()
    for code, name in prefs.select("code", "common_name").iter_rows():
        if viewer.allows(code):
            out.append((code, name))
    for code, name in counties.select("code", "name").iter_rows():
        if viewer.allows(code):
            out.append((code, name))
    return out


def draft_regions(viewer: Scope = ALL) -> list[str]:
    """The regions that get a draft by themselves for each new round: the province and the prefectures (a county's
    briefing is made from the preview by its task force), and the viewer's own region."""
    from geo import reference

    codes = [PROVINCE_CODE] + reference.prefectures()["code"].to_list()
    if viewer.top_code not in codes:
        codes.append(viewer.top_code)
    return [c for c in codes if viewer.allows(c)]


def sync_drafts(viewer: Scope = ALL, by: str = "自动", path: str | Path | None = None,
                now: datetime | None = None) -> int:
    """Make the drafts due for the regions the viewer sees (every region of draft_regions for ALL)."""
    scopes = []
    for code in draft_regions(viewer):
        subj = brief_model.subject(code, viewer)
        scopes.append((subj.code, subj.name, brief_model.reporting_dates(subj)))
    return store.sync_drafts(scopes, by=by, now=now, path=path)


def preview(code: str, as_of: date | None = None, viewer: Scope = ALL, now: datetime | None = None) -> dict[str, Any]:
    """The model of a briefing before it is issued (nothing recorded)."""
    return brief_model.build(code, as_of, viewer, now)


def documents(model: dict[str, Any], number: int | None = None, office: str | None = None,
              issued_at: datetime | None = None) -> tuple[bytes, bytes]:
    """(.docx, .pdf) of a model: the unnumbered draft when ``number`` is None."""
    from hometown.briefs import render_docx, render_pdf, writer

    at = issued_at or datetime.fromisoformat(model["computed_at"])
    doc = writer.compose(model, number, office, at)
    return render_docx.render(doc, at), render_pdf.render(doc, at)
