"""驻村力量 (TEAMS_SPEC.md): the monthly workbook of resident first secretaries and work teams, as a report kind.

Its contract is contract.py, its checks check.py; here the loader (a checked workbook's rows into the part's tables,
warehouse/parts/teams.py), the blank template and the ``KIND`` the registry (pipelines.kinds) finds. A workbook is
one prefecture's month: its reporting date is the month's last day, so a re-sent month supersedes the earlier file
of that month as a corrected progress report does (pipelines.ingest), and the views take each person-month from
the latest accepted file that carries it.

A person's key is a digest of the ID number under a random salt kept in the warehouse's ``meta`` (made at the
first load): stable across loads, not recomputable from a guessed ID number outside the warehouse.
"""

from __future__ import annotations

import hashlib
import io
import secrets
from datetime import datetime

import duckdb
import polars as pl
import xlsxwriter

from geo import reference
from pipelines.kinds import LoadRefusal, ReportKind
from pipelines.kinds.teams.check import check_teams, days_in_post
from pipelines.kinds.teams.contract import (
    ASSESSMENT, ASSESSMENT_RESULTS, ATTENDANCE, PARTY_STATUSES, ROLES, ROSTER, SENDING_LEVELS, STATUSES,
    VILLAGE_TYPES,
)
from pipelines.report import CheckedReport
from warehouse.parts.teams import mask_id
from warehouse.store import insert_frame

SALT_KEY = "teams_person_salt"
ROSTER_FIELDS = ("month", "prefecture_code", "county_code", "township", "village", "village_code", "village_key",
                 "village_type", "resettled_poor", "households", "name", "id_number", "person_key", "phone",
                 "party_status", "party_date", "work_date", "sending_level", "sending_unit", "rank", "role",
                 "start_date", "end_date", "status", "extra_villages", "extra_keys")
ATTENDANCE_FIELDS = ("prefecture_code", "person_key", "month", "days_in_village", "days_official", "days_leave",
                     "days_absent", "households_visited", "trips")
ASSESSMENT_FIELDS = ("prefecture_code", "person_key", "year", "result", "trainings", "health_check", "insurance")


def person_salt(con: duckdb.DuckDBPyConnection) -> str:
    found = con.execute("SELECT value FROM meta WHERE key = ?", [SALT_KEY]).fetchall()
    if found:
        return found[0][0]
    salt = secrets.token_hex(16)
    con.execute("INSERT INTO meta VALUES (?, ?)", [SALT_KEY, salt]).fetchall()
    return salt


def person_keys(ids: pl.Series, salt: str) -> pl.Series:
    return pl.Series([None if i is None else hashlib.sha256(f"{salt}:{i}".encode()).hexdigest()[:16]
                      for i in ids.to_list()], dtype=pl.String)


def _with_fields(frame: pl.DataFrame, fields) -> pl.DataFrame:
    for name in fields:
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None).alias(name))
    return frame


def load(con: duckdb.DuckDBPyConnection, checked: CheckedReport, report_id: int) -> None:
    """A checked workbook's rows into the part's tables (inside the loader's transaction). Attendance rows of
    people only earlier rosters hold are matched here; one unknown refuses the file (LoadRefusal)."""
    salt = person_salt(con)
    pref = checked.prefecture_code
    roster = checked.frames["roster"].with_columns(prefecture_code=pl.lit(pref))
    roster = roster.with_columns(person_key=person_keys(roster["id_number"], salt))
    pending = checked.frames.get("pending")
    if pending is not None and pending.height:
        _match_pending(con, checked, pending.with_columns(person_key=person_keys(pending["id_number"], salt)))
    rid = pl.lit(report_id, pl.Int32)
    insert_frame(con, "team_roster_rows", _with_fields(roster.with_columns(report_id=rid), ROSTER_FIELDS),
                 ["report_id", "excel_row", *ROSTER_FIELDS])
    att = checked.frames["attendance"].with_columns(prefecture_code=pl.lit(pref), report_id=rid)
    att = att.with_columns(person_key=person_keys(att["id_number"], salt))
    insert_frame(con, "team_attendance_rows", att, ["report_id", "excel_row", *ATTENDANCE_FIELDS])
    assessment = checked.frames.get("assessment")
    if assessment is not None and assessment.height:
        assessment = assessment.with_columns(prefecture_code=pl.lit(pref), report_id=rid)
        assessment = assessment.with_columns(person_key=person_keys(assessment["id_number"], salt))
        insert_frame(con, "team_assessment_rows", _with_fields(assessment, ASSESSMENT_FIELDS),
                     ["report_id", "excel_row", *ASSESSMENT_FIELDS])


def _match_pending(con, checked: CheckedReport, pending: pl.DataFrame) -> None:
    con.register("_pending", pending.select("person_key"))
    try:
        postings = con.execute("""
SELECT p.person_key, arg_max(r.start_date, r.report_id), arg_max(r.end_date, r.report_id)
FROM (SELECT DISTINCT person_key FROM _pending) p
JOIN team_roster_rows r ON r.person_key = p.person_key AND r.prefecture_code = ?
JOIN reports t ON t.report_id = r.report_id AND t.status = 'accepted'
GROUP BY p.person_key""", [checked.prefecture_code]).fetchall()
    finally:
        con.unregister("_pending")
    known = {k: (s, e) for k, s, e in postings}
    reasons = []
    where = f"{checked.file_name} / "
    for rec in pending.iter_rows(named=True):
        at = f"{where}{rec['sheet']} / 第{rec['excel_row']}行 / "
        if rec["person_key"] not in known:
            reasons.append(f"{at}{rec['id_header']}: 「{mask_id(rec['id_number'])}」不在本文件的驻村人员表中，也不是"
                           f"{reference.prefecture_name(checked.prefecture_code)}已报送的驻村人员")
            continue
        start, end = known[rec["person_key"]]
        in_post = days_in_post(rec["month"], start, end)
        total = sum(rec[f] or 0 for f in ("days_in_village", "days_official", "days_leave", "days_absent"))
        if in_post == 0:
            reasons.append(f"{at}{rec['month_header']}: {rec['month']:%Y-%m}不在该人的驻村期间（{start} 至 "
                           f"{end or '今'}）内")
        elif total > in_post:
            reasons.append(f"{at}{rec['days_header']}: 四类天数合计 {total} 天，超过该人{rec['month']:%Y-%m}的在岗天数 "
                           f"{in_post} 天")
    if reasons:
        raise LoadRefusal(reasons)


# ------------------------------------------------------------------------------------------------ template

_LISTS = {"village_type": VILLAGE_TYPES, "party_status": tuple(dict.fromkeys(PARTY_STATUSES.values())),
          "sending_level": tuple(dict.fromkeys(SENDING_LEVELS.values())), "role": ROLES, "status": STATUSES,
          "result": ASSESSMENT_RESULTS, "health_check": ("是", "否"), "insurance": ("是", "否")}


def blank_template(prefecture_code: str | None = None) -> bytes:
    """The workbook with its three sheets: a title row, the canonical header, drop-downs for the closed lists."""
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    wb.set_properties({"created": datetime(2022, 1, 1)})
    bold = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    name = reference.prefecture_name(prefecture_code) if prefecture_code else "XX州（市）"
    for kind in (ROSTER, ATTENDANCE, ASSESSMENT):
        ws = wb.add_worksheet(kind.title)
        ws.write(0, 0, f"{name}驻村力量{kind.title}表（报送月份：    年  月）")
        for j, col in enumerate(kind.columns):
            ws.write(1, j, col.canonical, bold)
            ws.set_column(j, j, max(10, 2 * len(col.canonical) + 2))
            if col.field in _LISTS:
                ws.data_validation(2, j, 1001, j, {"validate": "list", "source": list(_LISTS[col.field])})
            if col.field == "prefecture" and prefecture_code:
                ws.data_validation(2, j, 1001, j, {"validate": "list", "source": [name]})
        ws.freeze_panes(2, 0)
    wb.close()
    return buf.getvalue()


def template_file_name(prefecture_code: str | None = None) -> str:
    who = reference.prefecture_name(prefecture_code) if prefecture_code else "云南省"
    return f"{who}_驻村力量_模板.xlsx"


KIND = ReportKind(
    key="teams",
    label="驻村力量月报",
    sheets=("驻村人员", "驻村考勤", "年度考核", "驻村", "人员名册", "花名册", "考勤", "考核"),
    check=check_teams,
    load=load,
    template=blank_template,
    template_name=template_file_name,
    template_note="模板包含驻村人员、驻村考勤、年度考核3张表；村类型、政治面貌、派出层级、驻村身份、在岗状态可从下拉列表选择。"
                  "文件名请注明月份，如「红河州_驻村力量_202203.xlsx」。",
    views=("team_members", "team_attendance", "team_coverage", "team_summary", "team_allowances"),
    order=10,
)
