"""The record of briefings: drafts waiting to be issued, and every issued briefing with its number (第N期).

Where it lives, and why: the tables ``briefs`` and ``brief_drafts`` of the app store (appdb: the embedded SQLite
file by default, PostgreSQL with ``HOMETOWN_APP_DB=postgresql://…`` so every app machine numbers from one record),
like the audit log and the supervision orders. A briefing is about the warehouse, not part of it: the warehouse is
the reports' data, built on one writer and published read-only. One transaction holds the scope's numbering lock
(PostgreSQL: an advisory transaction lock per scope; embedded: the file's write lock) while the next number is read,
the documents are written with that number and the row is inserted — about 0.5 s — so two briefings issued at once,
on one machine or two, get consecutive numbers, never the same one and never a gap (a failure inside the
transaction inserts nothing). ``PRIMARY KEY (scope_code, number)`` backs this up in the store itself.

Each issued briefing keeps its figures (the model as JSON), its inputs (the report in force of each prefecture:
report_id and date), the warehouse version it was computed from, and the exact .docx and .pdf bytes: a download
is the file issued, byte for byte, whatever loads or corrections came later, and ``reproduce`` renders the stored
figures again into the same bytes.

Drafts: one row per (scope, reporting round) waiting for someone allowed to issue it (``sync_drafts``: rounds of
a scope newer than its newest briefing or draft — the latest round only for a scope with none). They are made
lazily — when /briefs opens, when ``python -m pipelines brief --drafts`` runs (the systemd timer in deploy/) —
from the warehouse's reporting dates, so no report load has to know about briefings.
"""

from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterator

import polars as pl

from appdb import store as appstore
from warehouse.scope import ALL, OutOfScope, Scope

ENV_VAR = appstore.ENV_VAR  # the record lives in the app store: one setting for every table the app writes
LOCK_TIMEOUT_S = 60.0
DRAFT, ISSUED, DISMISSED = "待印发", "已印发", "已撤销"

COLUMNS = {"scope_code": pl.Utf8, "number": pl.Int64, "scope_name": pl.Utf8, "as_of": pl.Date,
           "previous_as_of": pl.Date, "title": pl.Utf8, "office": pl.Utf8, "issued_at": pl.Datetime("us"),
           "issued_by": pl.Utf8, "warehouse_version": pl.Utf8, "inputs": pl.Utf8, "model": pl.Utf8,
           "docx": pl.Binary, "pdf": pl.Binary, "docx_sha256": pl.Utf8, "pdf_sha256": pl.Utf8,
           "drafted_at": pl.Datetime("us"), "drafted_by": pl.Utf8, "state": pl.Utf8, "closed_at": pl.Datetime("us"),
           "closed_by": pl.Utf8}
LIST_COLUMNS = ("scope_code", "number", "scope_name", "as_of", "previous_as_of", "title", "office", "issued_at",
                "issued_by", "warehouse_version", "docx_sha256", "pdf_sha256")


class BriefStoreError(ValueError):
    """A request about the record that cannot be carried out (message in Chinese)."""


@contextmanager
def _locked(path: str | Path | None = None, timeout: float = LOCK_TIMEOUT_S) -> Iterator[appstore.Tx]:
    """One write transaction of the app store (``path``: another store than ``$HOMETOWN_APP_DB``)."""
    try:
        with appstore.transaction(path, timeout=timeout) as tx:
            yield tx
    except appstore.AppStoreError as exc:
        raise BriefStoreError(f"简报记录暂不可用，请稍后再试（{exc}）") from exc


def version(path: str | Path | None = None) -> str:
    """Changes whenever the record is written, for caches of its reads: briefings are only ever added, drafts are
    added and closed, so their counts and the newest closing name the state. A query, not a file's stamp, so it holds
    for PostgreSQL and every machine sharing the store."""
    _, rows = appstore.query(
        "SELECT (SELECT count(*) FROM briefs), (SELECT count(*) FROM brief_drafts), "
        "(SELECT count(*) FROM brief_drafts WHERE closed_at IS NOT NULL), (SELECT max(closed_at) FROM brief_drafts)",
        [], path)
    return "|".join(str(v) for v in rows[0])


def _read(sql: str, params: list, path: str | Path | None) -> pl.DataFrame:
    columns, rows = appstore.query(sql, params, path)
    return pl.DataFrame([tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in rows],
                        schema={c: COLUMNS[c] for c in columns}, orient="row")


def _visible(frame: pl.DataFrame, viewer: Scope) -> pl.DataFrame:
    if frame.height == 0:
        return frame
    return frame.filter(pl.col("scope_code").map_elements(viewer.allows, return_dtype=pl.Boolean))


# ---------------------------------------------------------------------------------------------------- issuing


def issue(model: dict[str, Any], *, issued_by: str, office: str | None = None, viewer: Scope = ALL,
          may_issue: bool = True, now: datetime | None = None, path: str | Path | None = None,
          charts: dict[str, bytes] | None = None, from_draft: bool = False) -> dict[str, Any]:
    """Give the briefing of ``model`` the next number of its scope, render it and record it; returns its row
    (scope_code, number, docx, pdf, …). The number is taken and the row written under the store's lock."""
    from hometown.briefs import charts as chart_images
    from hometown.briefs import render_docx, render_pdf, writer

    code = model["scope_code"]
    if not viewer.allows(code):
        raise OutOfScope(f"您的账号无权印发「{model['scope_name']}」的简报（超出本账号的管辖范围）")
    if not may_issue:
        raise PermissionError("当前账号角色无权印发简报（只读）")
    if not (issued_by or "").strip():
        raise BriefStoreError("请填写签发人")
    at = (now or datetime.now()).replace(microsecond=0)
    charts = chart_images.draw(model) if charts is None else charts   # outside the lock: the slow part
    office = (office or "").strip() or writer.default_office(model)
    with _locked(path) as con:
        con.lock(f"briefs:{code}")  # the scope's numbering: the next issue of this scope waits for this commit
        if from_draft:
            # Two people pressing 印发 on the same draft: the second learns who was first, no second number.
            done = con.execute("SELECT state, number, closed_by FROM brief_drafts WHERE scope_code = ? AND as_of = ?",
                               [code, model["as_of"]])
            if done and done[0][0] != DRAFT:
                raise BriefStoreError(f"该草稿已由{done[0][2]}处理（{done[0][0]}"
                                      + (f"，第{done[0][1]}期" if done[0][1] else "") + "），无需重复印发")
        number = con.execute("SELECT coalesce(max(number), 0) + 1 FROM briefs WHERE scope_code = ?", [code])[0][0]
        previous = con.execute(
            "SELECT number, model FROM briefs WHERE scope_code = ? AND as_of = ? ORDER BY number DESC LIMIT 1",
            [code, model["previous_as_of"]]) if model.get("previous_as_of") else []
        model = dict(model)
        model["correction"] = _correction(model, previous[0] if previous else None)
        doc = writer.compose(model, number, office, at, charts)
        docx, pdf = render_docx.render(doc, at), render_pdf.render(doc, at)
        con.execute(
            f"INSERT INTO briefs ({', '.join(list(COLUMNS)[:16])}) VALUES ({', '.join('?' * 16)})",
            [code, number, model["scope_name"], model["as_of"], model["previous_as_of"], doc.title, office, at,
             issued_by.strip(), model["warehouse_version"], json.dumps(model["inputs"], ensure_ascii=False),
             json.dumps(model, ensure_ascii=False, sort_keys=True), docx, pdf,
             hashlib.sha256(docx).hexdigest(), hashlib.sha256(pdf).hexdigest()])
        con.execute(
            "UPDATE brief_drafts SET state = ?, number = ?, closed_at = ?, closed_by = ? "
            "WHERE scope_code = ? AND as_of = ? AND state = ?",
            [ISSUED, number, at, issued_by.strip(), code, model["as_of"], DRAFT])
    return {"scope_code": code, "number": number, "as_of": model["as_of"], "office": office, "issued_at": at,
            "docx": docx, "pdf": pdf, "title": doc.title, "model": model}


def _correction(model: dict[str, Any], previous: tuple | None) -> dict | None:
    from hometown.briefs.model import previous_issue_correction

    if not previous:
        return None
    changed = previous_issue_correction(model, json.loads(previous[1]))
    return {"number": previous[0], "changed": changed} if changed else None


def reproduce(scope_code: str, number: int, path: str | Path | None = None) -> tuple[bytes, bytes]:
    """Render an issued briefing again from its stored figures: the same bytes as issued (tests check it)."""
    from hometown.briefs import render_docx, render_pdf, writer

    row = _one(scope_code, number, ALL, path)
    model = json.loads(row["model"])
    doc = writer.compose(model, number, row["office"], row["issued_at"])
    return render_docx.render(doc, row["issued_at"]), render_pdf.render(doc, row["issued_at"])


# ---------------------------------------------------------------------------------------------------- reading


def issued(viewer: Scope = ALL, scope_code: str | None = None, path: str | Path | None = None) -> pl.DataFrame:
    """Issued briefings the viewer may see (newest first), without the documents."""
    where, params = ("scope_code = ?", [scope_code]) if scope_code is not None else ("TRUE", [])
    frame = _read(f"SELECT {', '.join(LIST_COLUMNS)} FROM briefs WHERE {where} "
                  "ORDER BY issued_at DESC, scope_code, number DESC", params, path)
    return _visible(frame, viewer)


def _one(scope_code: str, number: int, viewer: Scope, path: str | Path | None) -> dict[str, Any]:
    if not viewer.allows(scope_code):
        raise OutOfScope("您的账号无权查看该简报（超出本账号的管辖范围）")
    frame = _read(f"SELECT {', '.join(list(COLUMNS)[:16])} FROM briefs WHERE scope_code = ? AND number = ?",
                  [scope_code, number], path)
    if frame.height == 0:
        raise BriefStoreError(f"简报（{scope_code} 第{number}期）不存在")
    return frame.row(0, named=True)


def document(scope_code: str, number: int, kind: str, viewer: Scope = ALL, path: str | Path | None = None) -> bytes:
    """The issued .docx or .pdf, as issued."""
    if kind not in ("docx", "pdf"):
        raise BriefStoreError(f"未知的文件类型：{kind}")
    return bytes(_one(scope_code, number, viewer, path)[kind])


def record(scope_code: str, number: int, viewer: Scope = ALL, path: str | Path | None = None) -> dict[str, Any]:
    row = _one(scope_code, number, viewer, path)
    row["model"] = json.loads(row["model"])
    row["inputs"] = json.loads(row["inputs"])
    return row


def file_name(row: dict[str, Any], kind: str) -> str:
    return f"{row['scope_name']}调度简报_第{row['number']}期_{row['as_of']:%Y%m%d}.{kind}" \
        if isinstance(row["as_of"], date) else f"{row['scope_name']}调度简报_第{row['number']}期.{kind}"


# ---------------------------------------------------------------------------------------------------- drafts


def sync_drafts(scopes: list[tuple[str, str, list[date]]], by: str = "自动", now: datetime | None = None,
                path: str | Path | None = None) -> int:
    """Make the drafts due: ``scopes`` is [(code, name, reporting rounds oldest first)]. For each scope, a draft for
    every round newer than its newest draft or issued briefing (only the latest round when it has neither).
    Returns how many were made."""
    at = (now or datetime.now()).replace(microsecond=0)
    made = 0
    with _locked(path) as con:
        for code, name, rounds in scopes:
            if not rounds:
                continue
            # Newest round drafted or issued (dates compared here: both backends return them as dates).
            seen = [r[0] for r in con.execute("SELECT as_of FROM brief_drafts WHERE scope_code = ?", [code])] + \
                [r[0] for r in con.execute("SELECT as_of FROM briefs WHERE scope_code = ?", [code])]
            newest = max(seen) if seen else None
            due = [d for d in rounds if d > newest] if newest else rounds[-1:]
            for d in due:
                con.execute("INSERT INTO brief_drafts (scope_code, as_of, scope_name, drafted_at, drafted_by, state) "
                            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", [code, d, name, at, by, DRAFT])
                made += 1
    return made


def drafts(viewer: Scope = ALL, path: str | Path | None = None, include_closed: bool = False) -> pl.DataFrame:
    """Drafts waiting to be issued (or all), newest round first."""
    frame = _read("SELECT scope_code, as_of, scope_name, drafted_at, drafted_by, state, number, closed_at, closed_by "
                  f"FROM brief_drafts WHERE {'TRUE' if include_closed else 'state = ?'} ORDER BY as_of DESC, scope_code",
                  [] if include_closed else [DRAFT], path)
    return _visible(frame, viewer)


def dismiss(scope_code: str, as_of: date, by: str, viewer: Scope = ALL, may_issue: bool = True,
            now: datetime | None = None, path: str | Path | None = None) -> None:
    """Set a draft aside (no briefing for that round); the round gets no new draft."""
    if not viewer.allows(scope_code):
        raise OutOfScope("您的账号无权处理该简报草稿（超出本账号的管辖范围）")
    if not may_issue:
        raise PermissionError("当前账号角色无权处理简报草稿（只读）")
    with _locked(path) as con:
        con.execute("UPDATE brief_drafts SET state = ?, closed_at = ?, closed_by = ? "
                    "WHERE scope_code = ? AND as_of = ? AND state = ?",
                    [DISMISSED, (now or datetime.now()).replace(microsecond=0), by, scope_code, as_of, DRAFT])
