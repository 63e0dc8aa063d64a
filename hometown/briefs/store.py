"""The record of briefings: drafts waiting to be issued, and every issued briefing with its number (第N期).

Where it lives, and why: the tables ``briefs`` and ``brief_drafts`` of the app store (appdb: the embedded SQLite
file by default, PostgreSQL with ``HOMETOWN_APP_DB=postgresql://…`` so every app machine numbers from one record),
like the audit log and the supervision orders. A briefing is about the warehouse, not part of it: the warehouse is
the reports' data, built on one writer and published read-only.

Numbering (the series 第1期, 第2期, … of each scope must stay gapless and auditable; table ``brief_numbers``):

1. **Reserve**: one short transaction holding the scope's numbering lock (PostgreSQL: an advisory transaction lock
   per scope; embedded: the file's write lock) takes the next number and records it as 印发中 (reserved) with a
   token, the round and who issues it. Two briefings issued at once, on one machine or two, get consecutive
   numbers, never the same one (``PRIMARY KEY (scope_code, number)`` backs this up).
2. **Render** the Word and PDF documents, with that number printed in them, outside any transaction: the lock is
   held for milliseconds, not for the render's half second, and other issues and writers of the store go on.
3. **Record**: a second short transaction writes the briefing (figures, inputs, documents) and marks the number
   已印发, provided the reservation is still this one's.

A render (or record) that fails gives its number back when no later number of the scope was taken meanwhile (the
reservation is deleted: the next briefing gets that number, the series stays gapless); when a later number was
already taken, the failed number stays in the series as 作废 (void) with the reason and time, so a missing 第N期 is
always explained (``series``). A reservation whose process died mid-render (kill, power) is settled the same way by
the next issue of the scope once it is ``STALE_S`` old (a render takes about a second); a render that outlives that
finds its reservation settled and records nothing (it says so, and may be issued again).

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
import logging
import uuid
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Iterator

import polars as pl

from appdb import store as appstore
from warehouse.scope import ALL, OutOfScope, Scope

ENV_VAR = appstore.ENV_VAR  # the record lives in the app store: one setting for every table the app writes
LOCK_TIMEOUT_S = 60.0
DRAFT, ISSUED, DISMISSED = "待印发", "已印发", "已撤销"
RESERVED, VOID = "印发中", "作废"   # a number's states in brief_numbers (besides ISSUED)
STALE_S = 600                     # a reservation this old never finished: the next issue of its scope settles it
log = logging.getLogger("hometown.briefs")

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
        "(SELECT count(*) FROM brief_drafts WHERE closed_at IS NOT NULL), (SELECT max(closed_at) FROM brief_drafts), "
        "(SELECT count(*) FROM brief_numbers WHERE state = ?)", [VOID], path)
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
    (scope_code, number, docx, pdf, …). Reserve, render, record: see the module's docstring."""
    from hometown.briefs import charts as chart_images
    from hometown.briefs import render_docx, render_pdf, writer

    code = model["scope_code"]
    if not viewer.allows(code):
        raise OutOfScope(f"您的账号无权印发「{model['scope_name']}」的简报（超出本账号的管辖范围）")
    if not may_issue:
        raise PermissionError("当前账号角色无权印发简报（只读）")
    by = (issued_by or "").strip()
    if not by:
        raise BriefStoreError("请填写签发人")
    at = (now or datetime.now()).replace(microsecond=0)
    charts = chart_images.draw(model) if charts is None else charts   # before the number: it needs none
    office = (office or "").strip() or writer.default_office(model)
    number, token, model = _reserve(model, by, from_draft, path)
    try:
        doc = writer.compose(model, number, office, at, charts)
        docx, pdf = render_docx.render(doc, at), render_pdf.render(doc, at)
        _record(model, number, token, doc.title, office, at, by, docx, pdf, path)
    except BaseException as exc:
        _give_back(code, number, token, exc, path)
        raise
    return {"scope_code": code, "number": number, "as_of": model["as_of"], "office": office, "issued_at": at,
            "docx": docx, "pdf": pdf, "title": doc.title, "model": model}


def _reserve(model: dict[str, Any], by: str, from_draft: bool, path: str | Path | None) -> tuple[int, str, dict]:
    """The first transaction: the scope's next number, reserved (印发中) under its token; the model with its
    correction of the previous briefing of the same round (read under the same lock)."""
    code = model["scope_code"]
    with _locked(path) as con:
        con.lock(f"briefs:{code}")  # the scope's numbering: the next issue of this scope waits for this commit
        _settle_stale(con, code)
        if from_draft:
            # Two people pressing 印发 on the same draft: the second learns who was first, no second number.
            done = con.execute("SELECT state, number, closed_by FROM brief_drafts WHERE scope_code = ? AND as_of = ?",
                               [code, model["as_of"]])
            if done and done[0][0] != DRAFT:
                raise BriefStoreError(f"该草稿已由{done[0][2]}处理（{done[0][0]}"
                                      + (f"，第{done[0][1]}期" if done[0][1] else "") + "），无需重复印发")
            busy = con.execute("SELECT number, reserved_by FROM brief_numbers WHERE scope_code = ? AND as_of = ? "
                               "AND from_draft = 1 AND state = ?", [code, model["as_of"], RESERVED])
            if busy:
                raise BriefStoreError(f"该草稿正由{busy[0][1]}印发（第{busy[0][0]}期），请稍后刷新查看，无需重复印发")
        number = con.execute("SELECT coalesce(max(n), 0) + 1 FROM (SELECT number AS n FROM brief_numbers "
                             "WHERE scope_code = ? UNION ALL SELECT number FROM briefs WHERE scope_code = ?) x",
                             [code, code])[0][0]
        previous = con.execute(
            "SELECT number, model FROM briefs WHERE scope_code = ? AND as_of = ? ORDER BY number DESC LIMIT 1",
            [code, model["previous_as_of"]]) if model.get("previous_as_of") else []
        token = uuid.uuid4().hex
        con.execute("INSERT INTO brief_numbers (scope_code, number, state, as_of, from_draft, token, reserved_at, "
                    "reserved_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [code, number, RESERVED, model["as_of"], int(from_draft), token, _clock(), by])
    model = dict(model)
    model["correction"] = _correction(model, previous[0] if previous else None)
    return number, token, model


def _record(model: dict[str, Any], number: int, token: str, title: str, office: str, at: datetime, by: str,
            docx: bytes, pdf: bytes, path: str | Path | None) -> None:
    """The second transaction: the briefing written and its number marked issued, if the reservation is still ours."""
    code = model["scope_code"]
    with _locked(path) as con:
        con.lock(f"briefs:{code}")
        mine = con.execute("SELECT state FROM brief_numbers WHERE scope_code = ? AND number = ? AND token = ?",
                           [code, number, token])
        if not mine or mine[0][0] != RESERVED:
            raise BriefStoreError(f"第{number}期的编号预留已失效（印发用时超过{STALE_S // 60}分钟，编号已另行处理），"
                                  "本次未记录，请重新印发")
        con.execute(
            f"INSERT INTO briefs ({', '.join(list(COLUMNS)[:16])}) VALUES ({', '.join('?' * 16)})",
            [code, number, model["scope_name"], model["as_of"], model["previous_as_of"], title, office, at,
             by, model["warehouse_version"], json.dumps(model["inputs"], ensure_ascii=False),
             json.dumps(model, ensure_ascii=False, sort_keys=True), docx, pdf,
             hashlib.sha256(docx).hexdigest(), hashlib.sha256(pdf).hexdigest()])
        con.execute("UPDATE brief_numbers SET state = ?, closed_at = ? WHERE scope_code = ? AND number = ?",
                    [ISSUED, _clock(), code, number])
        con.execute(
            "UPDATE brief_drafts SET state = ?, number = ?, closed_at = ?, closed_by = ? "
            "WHERE scope_code = ? AND as_of = ? AND state = ?",
            [ISSUED, number, at, by, code, model["as_of"], DRAFT])


def _give_back(code: str, number: int, token: str, exc: BaseException, path: str | Path | None) -> None:
    """After a failed render or record: settle our reservation (released, or void with the reason). Best effort: a
    store that cannot be reached now leaves it to the next issue of the scope (``_settle_stale``)."""
    reason = f"印发失败：{exc}" if str(exc) else f"印发失败：{type(exc).__name__}"
    try:
        with _locked(path) as con:
            con.lock(f"briefs:{code}")
            mine = con.execute("SELECT state FROM brief_numbers WHERE scope_code = ? AND number = ? AND token = ?",
                               [code, number, token])
            if mine and mine[0][0] == RESERVED:
                _release_or_void(con, code, number, reason)
    except Exception:
        log.exception("briefing %s no. %s: its reservation could not be settled now (the next issue will)",
                      code, number)


def _release_or_void(con: appstore.Tx, code: str, number: int, reason: str) -> None:
    """A reserved number that will not be issued: deleted when no later number of the scope exists (the series
    stays gapless: the next briefing takes it), else kept as 作废 with the reason (the gap is explained)."""
    later = con.execute("SELECT 1 FROM brief_numbers WHERE scope_code = ? AND number > ? "
                        "UNION ALL SELECT 1 FROM briefs WHERE scope_code = ? AND number > ?",
                        [code, number, code, number])
    if later:
        con.execute("UPDATE brief_numbers SET state = ?, closed_at = ?, reason = ? WHERE scope_code = ? AND number = ?",
                    [VOID, _clock(), reason[:1000], code, number])
        log.warning("briefing %s no. %s void: %s", code, number, reason)
    else:
        con.execute("DELETE FROM brief_numbers WHERE scope_code = ? AND number = ?", [code, number])
        log.warning("briefing %s no. %s released: %s", code, number, reason)


def _settle_stale(con: appstore.Tx, code: str) -> None:
    """Reservations of the scope older than STALE_S (their process died mid-render), newest first, so a run of
    them at the end of the series is given back whole."""
    cutoff = _clock() - timedelta(seconds=STALE_S)
    stale = con.execute("SELECT number, reserved_by, reserved_at FROM brief_numbers WHERE scope_code = ? AND state = ? "
                        "AND reserved_at < ? ORDER BY number DESC", [code, RESERVED, cutoff])
    for number, by, since in stale:
        _release_or_void(con, code, number, f"印发未完成：{by} 于 {since} 取号后超过 {STALE_S // 60} 分钟未记录"
                                            "（进程中断或超时）")


def _clock() -> datetime:
    """The real time of a reservation (not the briefing's ``now``, which a caller may set)."""
    return datetime.now().replace(microsecond=0)


NUMBER_COLUMNS = {"scope_code": pl.Utf8, "number": pl.Int64, "state": pl.Utf8, "as_of": pl.Date, "reserved_by": pl.Utf8,
                  "reserved_at": pl.Datetime("us"), "closed_at": pl.Datetime("us"), "reason": pl.Utf8}


def _numbers(where: str, params: list, path: str | Path | None) -> pl.DataFrame:
    """Rows of brief_numbers (every column of NUMBER_COLUMNS), by scope and number."""
    _, rows = appstore.query(f"SELECT {', '.join(NUMBER_COLUMNS)} FROM brief_numbers WHERE {where} "
                             "ORDER BY scope_code, number", params, path)
    return pl.DataFrame(rows, schema=NUMBER_COLUMNS, orient="row")


def series(scope_code: str, viewer: Scope = ALL, path: str | Path | None = None) -> pl.DataFrame:
    """Every number of a scope's series, oldest first: number, state (已印发 / 作废 / 印发中), round, who took it
    and when, when it was closed, and why a void number is void. The audit view of the numbering."""
    if not viewer.allows(scope_code):
        raise OutOfScope("您的账号无权查看该简报编号（超出本账号的管辖范围）")
    return _numbers("scope_code = ?", [scope_code], path)


def voided(viewer: Scope = ALL, path: str | Path | None = None) -> pl.DataFrame:
    """The void (作废) numbers of every series the viewer may see. The issued list shows them, so a gap in a series
    is explained where the series is read."""
    return _visible(_numbers("state = ?", [VOID], path), viewer)


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
