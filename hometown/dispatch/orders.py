"""Supervision orders (督办单): issue, follow and close them; their tables live in the app store (appdb).

Works the tables ``supervision_orders`` and ``supervision_events`` of the app store (appdb: an embedded SQLite file
by default, PostgreSQL when ``HOMETOWN_APP_DB=postgresql://…``, so several app machines share the orders). The
warehouse holds none of them: it is the reports' data, published read-only to the app machines; the views here
join the app store's orders with the warehouse's alerts and reports in force in Python (polars), the two being
different databases. A warehouse written before this still holding orders has them adopted once (``adopt_warehouse_orders``).

Every change is one transaction of the app store: the order's row is read ``FOR UPDATE`` (PostgreSQL: a row lock
held until commit; embedded: the file's write lock, BEGIN IMMEDIATE) and its state checked inside that transaction,
so two users — on one machine or two — cannot both move an order from the same state, and a change and its event
row are committed together or not at all.

States: 已下发 → 已签收 → 整改中 → 已办结, one step at a time; anything else raises ``IllegalTransition`` with a
Chinese message. Two conditions are derived when read, never stored: 逾期 (deadline passed before 已办结) and
待核验 (the order came from an alert that the reports now in force no longer raise: check and close it).
Every change is a row of ``supervision_events`` with who and when. Each write also checks the scope (a county user
acts on its county's orders only) and the role (hometown.access.roles permissions: who issues, who answers, who closes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import json
import threading

import duckdb
import polars as pl

from appdb import store as appstore
from hometown import export
from hometown.access import roles
from warehouse import db
from warehouse.scope import ALL, OutOfScope, Scope

ISSUED, SIGNED, RECTIFYING, CLOSED = "已下发", "已签收", "整改中", "已办结"
STATES = (ISSUED, SIGNED, RECTIFYING, CLOSED)
OVERDUE, TO_VERIFY = "逾期", "待核验"
# The one legal next state of each state, and the button that moves an order there.
NEXT_STATE = {ISSUED: SIGNED, SIGNED: RECTIFYING, RECTIFYING: CLOSED}
ACTIONS = {SIGNED: "签收", RECTIFYING: "开始整改", CLOSED: "核验办结"}

TARGET_LEVELS = {"prefecture": "州市", "county": "县市区", "village": "行政村"}
DEFAULT_DAYS = 15  # default time allowed to rectify, from the day of issue

class OrderError(ValueError):
    """A request about an order that cannot be carried out (message in Chinese)."""


class IllegalTransition(OrderError):
    pass


class OrderNotFound(OrderError):
    pass


class NotPermitted(OrderError, PermissionError):
    """The signed-in role may not do this to an order."""


# What each step needs, in the permissions of hometown.access.roles (one definition of who may do what): the issuing side
# (prefecture project groups, admins) issues, moves deadlines and verifies closure; the answering side (a county task
# force, or a prefecture for an order about itself) signs, rectifies and reports progress; leaders and analysts read.
# No role (sign-in not configured): everything. The page disables what a role may not do; these checks hold for
# every other route too.
ISSUE, DEADLINE, NOTE = "issue", "deadline", "note"
_NEEDS = {ISSUE: roles.ISSUE_ORDER, DEADLINE: roles.CLOSE_ORDER, CLOSED: roles.CLOSE_ORDER, NOTE: roles.ANSWER_ORDER,
          SIGNED: roles.ANSWER_ORDER, RECTIFYING: roles.ANSWER_ORDER}
_WHAT = {ISSUE: "下发督办单", DEADLINE: "调整办结期限", NOTE: "报送整改进展", SIGNED: "签收督办单",
         RECTIFYING: "开始整改", CLOSED: "核验办结"}


def may(role: str | None, action: str) -> bool:
    """May a role do ``action`` (issue, deadline, note, or a target state) to an order? A move to 已下发 is no step
    anyone takes: it is left to the state machine to refuse."""
    return action not in _NEEDS or roles.may(role, _NEEDS[action])


def _require(role: str | None, action: str) -> None:
    if not may(role, action):
        raise NotPermitted(f"当前账号角色无权{_WHAT[action]}")


# ---------------------------------------------------------------------------------------------------- writing


@dataclass(frozen=True)
class Target:
    """Where an order goes: a prefecture, a county or a village (village_key as in village_status)."""

    prefecture_code: str
    county_code: str | None = None
    village_key: str | None = None
    village_code: str | None = None
    name: str = ""

    @property
    def level(self) -> str:
        return "village" if self.village_key else "county" if self.county_code else "prefecture"

    @property
    def code(self) -> str:
        return self.village_code or self.village_key or self.county_code or self.prefecture_code


def _path(db_path: str | Path | None) -> Path:
    return db.db_path(db_path)


LEGACY_SOURCE = "warehouse:supervision_orders"
_ORDER_FIELDS = ("order_id", "order_no", "target_level", "prefecture_code", "county_code", "village_key",
                 "village_code", "target_name", "title", "items", "responsible_unit", "deadline", "state",
                 "created_by", "created_at", "updated_at", "closed_at", "alert_key", "alert_type", "alert_level",
                 "alert_as_of", "alert_detail")
_EVENT_FIELDS = ("event_id", "order_id", "event_at", "actor", "action", "from_state", "to_state", "note")
_adopted: set[tuple[str, str]] = set()
_adopt_lock = threading.Lock()


def adopt_warehouse_orders(db_path: str | Path | None = None) -> int:
    """Move the orders of a warehouse written before orders left it into the app store, once: ids, numbers and
    history as they were. Recorded in ``legacy_imports`` (a later warehouse, or another machine, imports nothing
    again; an order id already in the app store is left as it is there). Returns the orders imported now."""
    path = _path(db_path)
    key = (str(path), appstore.location())
    if key in _adopted:
        return 0
    with _adopt_lock:
        if key in _adopted:
            return 0
        imported = 0
        old_orders = old_events = None
        if path.exists():
            try:
                old_orders = db.query(f"SELECT {', '.join(_ORDER_FIELDS)} FROM supervision_orders ORDER BY order_id",
                                      [], path=path)
                old_events = db.query(f"SELECT {', '.join(_EVENT_FIELDS)} FROM supervision_events ORDER BY event_id",
                                      [], path=path)
            except duckdb.CatalogException:
                old_orders = None  # no order tables in this warehouse: nothing to adopt
        if old_orders is not None and old_orders.height:
            with appstore.transaction() as tx:
                tx.lock(LEGACY_SOURCE)
                if not tx.execute("SELECT 1 FROM legacy_imports WHERE source = ?", [LEGACY_SOURCE]):
                    have = {r[0] for r in tx.execute("SELECT order_id FROM supervision_orders")}
                    for row in old_orders.iter_rows(named=True):
                        if row["order_id"] in have:
                            continue
                        row["items"] = json.dumps(list(row["items"] or []), ensure_ascii=False)
                        tx.execute(f"INSERT INTO supervision_orders ({', '.join(_ORDER_FIELDS)}) "
                                   f"VALUES ({', '.join('?' * len(_ORDER_FIELDS))})",
                                   [row[f] for f in _ORDER_FIELDS])
                        imported += 1
                    have_events = {r[0] for r in tx.execute("SELECT event_id FROM supervision_events")}
                    for row in old_events.iter_rows(named=True):
                        if row["event_id"] not in have_events and (row["order_id"] not in have):
                            tx.execute(f"INSERT INTO supervision_events ({', '.join(_EVENT_FIELDS)}) "
                                       f"VALUES ({', '.join('?' * len(_EVENT_FIELDS))})",
                                       [row[f] for f in _EVENT_FIELDS])
                    if tx.postgres:  # explicit ids: move the identity sequences past them
                        for table, column in (("supervision_orders", "order_id"), ("supervision_events", "event_id")):
                            tx.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                                       f"GREATEST((SELECT max({column}) FROM {table}), 1))")
                    tx.execute("INSERT INTO legacy_imports (source, row_count, imported_at) VALUES (?, ?, ?)",
                               [LEGACY_SOURCE, imported, datetime.now()])
        _adopted.add(key)
        return imported


def _writing(db_path: str | Path | None):
    """One write transaction of the app store (after adopting a legacy warehouse's orders, once)."""
    adopt_warehouse_orders(db_path)
    return appstore.transaction()


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now()).replace(microsecond=0)


def _check_scope(scope: Scope, target: Target) -> None:
    code = target.county_code or target.prefecture_code
    # A county user may not issue to its prefecture; a village is checked through its county.
    if not scope.allows(code) or (scope.county_code and not target.county_code):
        raise OutOfScope(f"无权对{target.name or code}下发或处理督办单（超出本账号的管辖范围）")


def _event(con, order_id: int, at: datetime, actor: str, action: str, from_state: str | None,
           to_state: str | None, note: str | None) -> None:
    con.execute(
        "INSERT INTO supervision_events (order_id, event_at, actor, action, from_state, to_state, note) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)", [order_id, at, actor, action, from_state, to_state, note])


def _clean_items(items: Iterable[str]) -> list[str]:
    cleaned = [str(i).strip() for i in items if str(i).strip()]
    if not cleaned:
        raise OrderError("督办事项不能为空：请至少填写一项整改要求")
    return cleaned


def create_order(target: Target, *, title: str, items: Iterable[str], responsible_unit: str, deadline: date,
                 created_by: str, alert: dict[str, Any] | None = None, note: str | None = None,
                 scope: Scope = ALL, role: str | None = None, db_path: str | Path | None = None,
                 now: datetime | None = None) -> int:
    """Issue an order (state 已下发); returns its order_id. ``alert`` is a row of hometown.dispatch.alerts.alerts()."""
    _require(role, ISSUE)
    at = _now(now)
    items = _clean_items(items)
    if not (responsible_unit or "").strip():
        raise OrderError("请填写责任单位")
    if not (created_by or "").strip():
        raise OrderError("请填写下发人")
    if not (title or "").strip():
        raise OrderError("请填写督办事由")
    if deadline < at.date():
        raise OrderError(f"办结期限 {deadline:%Y-%m-%d} 早于今天，请重新选择")
    _check_scope(scope, target)
    alert = alert or {}
    with _writing(db_path) as con:
        # Ids (and so numbers) without gaps: the next id is taken under a lock held until commit, so an aborted
        # or killed issue uses no number (a sequence would skip one).
        con.lock("supervision_orders:ids")
        order_id = con.execute("SELECT COALESCE(MAX(order_id), 0) + 1 FROM supervision_orders")[0][0]
        con.execute(
            "INSERT INTO supervision_orders (order_id, order_no, target_level, prefecture_code, county_code, "
            "village_key, village_code, target_name, title, items, responsible_unit, deadline, state, created_by, "
            "created_at, updated_at, alert_key, alert_type, alert_level, alert_as_of, alert_detail) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [order_id, f"督〔{at.year}〕{order_id}号", target.level, target.prefecture_code, target.county_code, target.village_key,
             target.village_code, target.name or target.code, title.strip(), json.dumps(items, ensure_ascii=False),
             responsible_unit.strip(), deadline, ISSUED, created_by.strip(), at, at, alert.get("alert_key"),
             alert.get("alert_type"), alert.get("level"), _as_date(alert.get("as_of")), alert.get("detail")])
        _event(con, order_id, at, created_by.strip(), "下发", None, ISSUED, note)
    return int(order_id)


def target_of_alert(alert: dict[str, Any]) -> Target:
    """The place an alert is about, as an order target (names from the alert row)."""
    name = "".join(str(alert.get(k) or "") for k in ("prefecture_name", "county_name", "township", "village"))
    return Target(prefecture_code=alert["prefecture_code"], county_code=alert.get("county_code"),
                  village_key=alert.get("village_key"), village_code=alert.get("village_code"),
                  name=name or alert["prefecture_code"])


def suggested_unit(target: Target) -> str:
    """The usual responsible unit for a target: the county task force, or the prefecture's project group."""
    if target.county_code:
        from geo import reference

        county = reference.counties().filter(pl.col("code") == target.county_code)
        county_name = county["name"][0] if county.height else target.county_code
        if target.village_key:
            return f"{county_name}干部规划家乡行动工作专班（督促相关乡镇、村落实）"
        return f"{county_name}干部规划家乡行动工作专班"
    from geo import reference

    pref = reference.prefectures().filter(pl.col("code") == target.prefecture_code)
    return f"{pref['common_name'][0] if pref.height else target.prefecture_code}干部规划家乡行动项目组"


SUGGESTED_ITEMS = {
    "county_behind": ["查明规划编制进度滞后的原因，逐村列出问题清单", "倒排工期，明确每村完成时限和责任人",
                      "每半月报送一次整改进展"],
    "village_stagnant": ["查明该村环节停滞的原因", "明确推进下一环节的时间和责任人", "下期报表反映推进情况"],
    "no_civil_servant": ["按“每个编制组至少有 1 名国家公职人员”的要求补充选派公职人员", "报送调整后的编制组名单"],
    "late_report": ["立即报送最新一期工作进度统计表", "说明逾期原因，落实按期报送的责任人"],
    "figure_fell": ["核实累计数减少的原因", "如属填报错误，报送更正报表"],
    "low_adoption": ["逐条梳理未纳入规划的群众需求，说明理由", "将合理需求纳入规划并向群众反馈"],
}


def draft_from_alert(alert: dict[str, Any], today: date | None = None) -> dict[str, Any]:
    """The fields of an order issued from an alert, for the form to show and the user to adjust."""
    target = target_of_alert(alert)
    today = today or date.today()
    return {
        "target": target,
        "title": f"{alert.get('alert_label') or alert.get('alert_type')}（{alert.get('level')}色预警）",
        "items": SUGGESTED_ITEMS.get(alert.get("alert_type"), ["查明原因，限期整改"]),
        "responsible_unit": suggested_unit(target),
        "deadline": today + timedelta(days=DEFAULT_DAYS),
    }


def create_from_alert(alert: dict[str, Any], *, created_by: str, items: Iterable[str] | None = None,
                      responsible_unit: str | None = None, deadline: date | None = None, title: str | None = None,
                      scope: Scope = ALL, role: str | None = None, db_path: str | Path | None = None,
                      now: datetime | None = None) -> int:
    """Issue an order for the place an alert is about, remembering the alert (for 待核验)."""
    draft = draft_from_alert(alert, _now(now).date())
    return create_order(draft["target"], title=title or draft["title"], items=items or draft["items"],
                        responsible_unit=responsible_unit or draft["responsible_unit"],
                        deadline=deadline or draft["deadline"], created_by=created_by, alert=alert,
                        note=alert.get("detail"), scope=scope, role=role, db_path=db_path, now=now)


def _locked_order(con, order_id: int, scope: Scope) -> tuple:
    rows = con.execute(
        "SELECT order_no, state, prefecture_code, county_code, target_name, deadline FROM supervision_orders "
        "WHERE order_id = ? FOR UPDATE", [order_id])  # the row stays locked until this change commits
    if not rows:
        raise OrderNotFound(f"督办单（编号 {order_id}）不存在")
    order_no, state, prefecture_code, county_code, name, deadline = rows[0]
    _check_scope(scope, Target(prefecture_code, county_code, name=name))
    return order_no, state, deadline


def transition(order_id: int, to_state: str, *, actor: str, note: str | None = None, scope: Scope = ALL,
               role: str | None = None, db_path: str | Path | None = None, now: datetime | None = None) -> None:
    """Move an order one step along 已下发 → 已签收 → 整改中 → 已办结; anything else raises IllegalTransition."""
    if to_state not in STATES:
        raise IllegalTransition(f"「{to_state}」不是督办单的状态（可用：{' → '.join(STATES)}）")
    _require(role, to_state)
    if not (actor or "").strip():
        raise OrderError("请填写经办人")
    at = _now(now)
    with _writing(db_path) as con:
        order_no, state, _ = _locked_order(con, order_id, scope)
        if state == to_state:
            raise IllegalTransition(f"督办单{order_no}已经是「{state}」状态，无需重复操作")
        if NEXT_STATE.get(state) != to_state:
            if state == CLOSED:
                raise IllegalTransition(f"督办单{order_no}已办结，不能再变更为「{to_state}」")
            raise IllegalTransition(
                f"督办单{order_no}当前为「{state}」，不能直接变更为「{to_state}」；下一步只能是「{NEXT_STATE[state]}」"
                f"（流程：{' → '.join(STATES)}）")
        con.execute("UPDATE supervision_orders SET state = ?, updated_at = ?, closed_at = ? WHERE order_id = ?",
                    [to_state, at, at if to_state == CLOSED else None, order_id])
        _event(con, order_id, at, actor.strip(), ACTIONS[to_state], state, to_state, note)


def advance(order_id: int, *, actor: str, note: str | None = None, scope: Scope = ALL, role: str | None = None,
            db_path: str | Path | None = None, now: datetime | None = None) -> str:
    """Move an order to its next state; returns the new state."""
    state = order_state(order_id, db_path=db_path)
    if state not in NEXT_STATE:
        raise IllegalTransition(f"督办单（编号 {order_id}）已办结，没有下一步")
    transition(order_id, NEXT_STATE[state], actor=actor, note=note, scope=scope, role=role, db_path=db_path,
               now=now)
    return NEXT_STATE[state]


def change_deadline(order_id: int, new_deadline: date, *, actor: str, reason: str, scope: Scope = ALL,
                    role: str | None = None, db_path: str | Path | None = None, now: datetime | None = None) -> None:
    """Extend (or bring forward) an open order's deadline, with the reason in its history."""
    _require(role, DEADLINE)
    if not (reason or "").strip():
        raise OrderError("调整办结期限须说明理由")
    at = _now(now)
    with _writing(db_path) as con:
        order_no, state, old = _locked_order(con, order_id, scope)
        if state == CLOSED:
            raise IllegalTransition(f"督办单{order_no}已办结，不能再调整办结期限")
        con.execute("UPDATE supervision_orders SET deadline = ?, updated_at = ? WHERE order_id = ?",
                    [new_deadline, at, order_id])
        _event(con, order_id, at, actor.strip(), "调整期限", state, state,
               f"办结期限由 {old:%Y-%m-%d} 调整为 {new_deadline:%Y-%m-%d}：{reason.strip()}")


def add_note(order_id: int, note: str, *, actor: str, scope: Scope = ALL, role: str | None = None,
             db_path: str | Path | None = None, now: datetime | None = None) -> None:
    """Record a progress note (整改进展) without changing the state."""
    _require(role, NOTE)
    if not (note or "").strip():
        raise OrderError("进展说明不能为空")
    at = _now(now)
    with _writing(db_path) as con:
        _, state, _ = _locked_order(con, order_id, scope)
        con.execute("UPDATE supervision_orders SET updated_at = ? WHERE order_id = ?", [at, order_id])
        _event(con, order_id, at, actor.strip(), "报送进展", state, state, note.strip())


# ---------------------------------------------------------------------------------------------------- reading

ORDER_COLUMNS = {
    "order_id": pl.Int32, "order_no": pl.Utf8, "target_level": pl.Utf8, "prefecture_code": pl.Utf8,
    "county_code": pl.Utf8, "village_key": pl.Utf8, "village_code": pl.Utf8, "target_name": pl.Utf8,
    "title": pl.Utf8, "items": pl.List(pl.Utf8), "responsible_unit": pl.Utf8, "deadline": pl.Date,
    "state": pl.Utf8, "created_by": pl.Utf8, "created_at": pl.Datetime("us"), "updated_at": pl.Datetime("us"),
    "closed_at": pl.Datetime("us"), "alert_key": pl.Utf8, "alert_type": pl.Utf8, "alert_level": pl.Utf8,
    "alert_as_of": pl.Date, "alert_detail": pl.Utf8, "overdue": pl.Boolean, "to_verify": pl.Boolean,
    "cleared_as_of": pl.Date, "days_left": pl.Int64, "display_state": pl.Utf8,
}


_RAW = {"order_id": pl.Int64, "order_no": pl.Utf8, "target_level": pl.Utf8, "prefecture_code": pl.Utf8,
        "county_code": pl.Utf8, "village_key": pl.Utf8, "village_code": pl.Utf8, "target_name": pl.Utf8,
        "title": pl.Utf8, "items": pl.List(pl.Utf8), "responsible_unit": pl.Utf8, "deadline": pl.Date,
        "state": pl.Utf8, "created_by": pl.Utf8, "created_at": pl.Datetime("us"), "updated_at": pl.Datetime("us"),
        "closed_at": pl.Datetime("us"), "alert_key": pl.Utf8, "alert_type": pl.Utf8, "alert_level": pl.Utf8,
        "alert_as_of": pl.Date, "alert_detail": pl.Utf8}
EVENT_COLUMNS = {"event_id": pl.Int64, "order_id": pl.Int64, "event_at": pl.Datetime("us"), "actor": pl.Utf8,
                 "action": pl.Utf8, "from_state": pl.Utf8, "to_state": pl.Utf8, "note": pl.Utf8}


def _as_date(value: Any) -> date | None:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(str(value)[:10])


def _app_frame(sql: str, params: list, schema: dict, db_path: str | Path | None) -> pl.DataFrame:
    """Rows of the app store as a frame of the given schema (the two backends return the same Python values)."""
    adopt_warehouse_orders(db_path)
    columns, rows = appstore.query(sql, params)
    if "items" in columns:
        i = columns.index("items")
        rows = [(*r[:i], json.loads(r[i]), *r[i + 1:]) for r in rows]
    return pl.DataFrame(rows, schema={c: schema[c] for c in columns}, orient="row")


def _reports_in_force(db_path: str | Path | None) -> pl.DataFrame:
    """prefecture_code → as_of of the report in force, from the warehouse (empty when there is none yet)."""
    if not _path(db_path).exists():
        return pl.DataFrame(schema={"prefecture_code": pl.Utf8, "report_as_of": pl.Date})
    return _reports_of_version(db.version(db_path), str(_path(db_path)))


@lru_cache(maxsize=8)
def _reports_of_version(version: str, path: str) -> pl.DataFrame:
    """Once per warehouse version: orders are read on every rerun (they change apart from the warehouse, on any
    machine, so the page never caches them), the reports in force only change with a load."""
    frame = _query("SELECT prefecture_code, as_of AS report_as_of FROM current_reports", [], path)
    if not frame.height:
        return pl.DataFrame(schema={"prefecture_code": pl.Utf8, "report_as_of": pl.Date})
    return frame.cast({"report_as_of": pl.Date})


def _orders_frame(scope: Scope, extra: str, params: list, db_path: str | Path | None) -> pl.DataFrame:
    """The orders in scope (app store) with the date of their prefecture's report in force (warehouse), joined here:
    the two are different databases."""
    where, scope_params = scope.sql("o")
    frame = _app_frame(f"SELECT o.* FROM supervision_orders o WHERE {where}{extra}", [*scope_params, *params], _RAW,
                       db_path)
    return frame.join(_reports_in_force(db_path), on="prefecture_code", how="left")


@lru_cache(maxsize=8)
def _alert_keys(version: str, path: str) -> frozenset[str]:
    """The alert_keys the reports in force raise (the view ``alerts``: the table every write refreshes), once per
    warehouse version (every order list needs them)."""
    return frozenset(_query("SELECT DISTINCT alert_key FROM alerts", [], path)["alert_key"].to_list())


def _derive(frame: pl.DataFrame, today: date, db_path: str | Path | None) -> pl.DataFrame:
    """Add overdue, to_verify, cleared_as_of, days_left and display_state (see ``orders``)."""
    if frame.height == 0:
        return pl.DataFrame(schema=ORDER_COLUMNS)
    open_from_alert = frame.filter(pl.col("alert_key").is_not_null() & (pl.col("state") != CLOSED))
    keys = _alert_keys(db.version(db_path), str(_path(db_path))) if open_from_alert.height else frozenset()
    cleared = pl.col("alert_key").is_not_null() & ~pl.col("alert_key").is_in(list(keys)) & \
        pl.col("report_as_of").is_not_null()
    frame = frame.with_columns(
        overdue=(pl.col("state") != CLOSED) & (pl.col("deadline") < today),
        to_verify=cleared & (pl.col("state") != CLOSED),
        cleared_as_of=pl.when(cleared & (pl.col("state") != CLOSED)).then(pl.col("report_as_of")),
        days_left=(pl.col("deadline") - pl.lit(today)).dt.total_days(),
    )
    frame = frame.with_columns(
        display_state=pl.concat_str(
            [pl.col("state"),
             pl.when(pl.col("overdue")).then(pl.lit(f"·{OVERDUE}")).otherwise(pl.lit("")),
             pl.when(pl.col("to_verify")).then(pl.lit(f"·{TO_VERIFY}")).otherwise(pl.lit(""))]))
    return frame.select([pl.col(c).cast(t) for c, t in ORDER_COLUMNS.items()])


def orders(scope: Scope, *, state: str | None = None, target_level: str | None = None,
           prefecture_code: str | None = None, county_code: str | None = None, only_overdue: bool = False,
           only_to_verify: bool = False, include_closed: bool = True, today: date | None = None,
           db_path: str | Path | None = None) -> pl.DataFrame:
    """The orders inside the scope, overdue first, then 待核验, then open before closed, then by deadline.

    Derived columns: overdue (deadline before ``today`` and not 已办结), to_verify (issued from an alert that the
    reports in force no longer raise, and not yet 已办结), cleared_as_of (the date of the report in force then),
    days_left (negative when overdue), display_state ("整改中·逾期"). Filters are optional.
    """
    today = today or date.today()
    sql, params = "", []
    for column, value in (("o.state", state), ("o.target_level", target_level),
                          ("o.prefecture_code", prefecture_code), ("o.county_code", county_code)):
        if value:
            sql += f" AND {column} = ?"
            params.append(value)
    if not include_closed:
        sql += " AND o.state <> ?"
        params.append(CLOSED)
    frame = _derive(_orders_frame(scope, sql, params, db_path), today, db_path)
    if only_overdue:
        frame = frame.filter(pl.col("overdue"))
    if only_to_verify:
        frame = frame.filter(pl.col("to_verify"))
    return frame.sort([pl.col("overdue"), pl.col("to_verify"), pl.col("state") == CLOSED, pl.col("deadline"),
                       pl.col("order_id")], descending=[True, True, False, False, False])


def order(order_id: int, scope: Scope = ALL, *, today: date | None = None,
          db_path: str | Path | None = None) -> dict[str, Any]:
    """One order as a dict (with the derived columns); OrderNotFound outside the scope or when absent."""
    frame = _derive(_orders_frame(scope, " AND o.order_id = ?", [order_id], db_path), today or date.today(),
                    db_path)
    if frame.height == 0:
        raise OrderNotFound(f"督办单（编号 {order_id}）不存在或不在本账号的管辖范围内")
    return frame.row(0, named=True)


def order_state(order_id: int, db_path: str | Path | None = None) -> str:
    frame = _app_frame("SELECT state FROM supervision_orders WHERE order_id = ?", [order_id], _RAW, db_path)
    if frame.height == 0:
        raise OrderNotFound(f"督办单（编号 {order_id}）不存在")
    return frame["state"][0]


def events(order_id: int, scope: Scope = ALL, db_path: str | Path | None = None) -> pl.DataFrame:
    """The order's history, oldest first: event_at, actor, action, from_state, to_state, note."""
    order(order_id, scope, db_path=db_path)  # scope check
    return _app_frame("SELECT event_id, order_id, event_at, actor, action, from_state, to_state, note "
                      "FROM supervision_events WHERE order_id = ? ORDER BY event_at, event_id", [order_id],
                      EVENT_COLUMNS, db_path)


def summary(scope: Scope, today: date | None = None, db_path: str | Path | None = None) -> dict[str, int]:
    """Counts for the page header: total, open, overdue, to_verify, closed."""
    frame = orders(scope, today=today, db_path=db_path)
    return {
        "total": frame.height,
        "open": frame.filter(pl.col("state") != CLOSED).height,
        "overdue": int(frame["overdue"].sum() or 0),
        "to_verify": int(frame["to_verify"].sum() or 0),
        "closed": frame.filter(pl.col("state") == CLOSED).height,
    }


def _query(sql: str, params: list, db_path: str | Path | None) -> pl.DataFrame:
    """A read of the warehouse (alerts, reports in force)."""
    return db.query(sql, params, path=db_path)


# ---------------------------------------------------------------------------------------------------- documents
# The list as the page shows it (and as Excel gets it), and the one-page printable notice (Word .docx: python-docx
# needs no font file; Word/WPS render the East Asian font named in the document).

LIST_KINDS = {"编号": "text", "状态": "text", "督办对象": "text", "对象层级": "text", "督办事由": "text",
              "督办事项": "text", "责任单位": "text", "办结期限": "text", "剩余天数": "int", "预警等级": "text",
              "下发人": "text", "下发时间": "text", "办结时间": "text"}


def orders_table(frame: pl.DataFrame) -> pl.DataFrame:
    """The orders list with Chinese headers, one row per order, in the order given (overdue first)."""
    if frame.height == 0:
        return pl.DataFrame(schema={k: (pl.Int64 if v == "int" else pl.Utf8) for k, v in LIST_KINDS.items()})
    return frame.select(
        pl.col("order_no").alias("编号"),
        pl.col("display_state").alias("状态"),
        pl.col("target_name").alias("督办对象"),
        pl.col("target_level").replace_strict(TARGET_LEVELS, default="").alias("对象层级"),
        pl.col("title").alias("督办事由"),
        pl.col("items").list.eval(pl.element()).list.join("；").alias("督办事项"),
        pl.col("responsible_unit").alias("责任单位"),
        pl.col("deadline").dt.strftime("%Y-%m-%d").alias("办结期限"),
        pl.when(pl.col("state") == CLOSED).then(None).otherwise(pl.col("days_left")).alias("剩余天数"),
        pl.col("alert_level").fill_null("—").alias("预警等级"),
        pl.col("created_by").alias("下发人"),
        pl.col("created_at").dt.strftime("%Y-%m-%d %H:%M").alias("下发时间"),
        pl.col("closed_at").dt.strftime("%Y-%m-%d %H:%M").alias("办结时间"),
    )


def orders_xlsx(frame: pl.DataFrame, subtitle: str = "") -> bytes:
    """The orders list as an Excel workbook (layout of hometown.export: title, headers, printable)."""
    table = orders_table(frame)
    title = f"干部规划家乡行动督办单台账（导出于 {datetime.now():%Y-%m-%d %H:%M}）"
    notes = [("状态", f"流程：{' → '.join(STATES)}。「{OVERDUE}」：超过办结期限仍未办结；"
                    f"「{TO_VERIFY}」：最新报表显示引发督办的预警已消除，待核验后办结。"),
             ("排序", "逾期的在前，其次待核验，再按办结期限先后。"),
             ("剩余天数", "距办结期限的天数，负数为已逾期天数；已办结的不计。")]
    return export.xlsx_bytes([export.Sheet("督办单", table, LIST_KINDS, title, subtitle)], notes, "说明")


def orders_file_name(today: date | None = None) -> str:
    return f"督办单台账_{(today or date.today()):%Y%m%d}.xlsx"


DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
NOTICE_FONT = "仿宋"      # body text of official notices
NOTICE_TITLE_FONT = "黑体"


def _run_font(run, name: str, size_pt: float, bold: bool = False) -> None:
    from docx.oxml.ns import qn
    from docx.shared import Pt

    run.font.name = name
    run.font.size = Pt(size_pt)
    run.font.bold = bold
    r_pr = run._element.get_or_add_rPr()
    r_fonts = r_pr.find(qn("w:rFonts"))
    if r_fonts is None:
        r_fonts = r_pr.makeelement(qn("w:rFonts"), {})
        r_pr.append(r_fonts)
    r_fonts.set(qn("w:eastAsia"), name)


def notice_docx(o: dict[str, Any], history: pl.DataFrame | None = None, issuer: str = "干部规划家乡行动调度平台") -> bytes:
    """One A4 page: the supervision notice for an order (a row of ``orders()`` / ``order()``)."""
    import io

    from docx import Document
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    doc = Document()
    section = doc.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)
    section.top_margin = section.bottom_margin = Cm(2.2)
    section.left_margin = section.right_margin = Cm(2.4)
    doc.core_properties.title = f"督办通知单 {o['order_no']}"
    doc.core_properties.author = issuer

    def para(text: str = "", size: float = 14, bold: bool = False, align=None, font: str = NOTICE_FONT,
             space_after: float = 4, indent: bool = False):
        p = doc.add_paragraph()
        p.paragraph_format.space_after = Pt(space_after)
        p.paragraph_format.space_before = Pt(0)
        p.paragraph_format.line_spacing = 1.15
        if indent:
            p.paragraph_format.first_line_indent = Pt(size * 2)
        if align is not None:
            p.alignment = align
        if text:
            _run_font(p.add_run(text), font, size, bold)
        return p

    para("干部规划家乡行动", 16, True, WD_ALIGN_PARAGRAPH.CENTER, NOTICE_TITLE_FONT, 0)
    para("督 办 通 知 单", 24, True, WD_ALIGN_PARAGRAPH.CENTER, NOTICE_TITLE_FONT, 6)
    para(o["order_no"], 14, False, WD_ALIGN_PARAGRAPH.CENTER, NOTICE_FONT, 10)

    rows = [
        ("督办对象", o["target_name"]),
        ("责任单位", o["responsible_unit"]),
        ("督办事由", o["title"]),
        ("预警情况", o.get("alert_detail") or "（人工下发，无对应预警）"),
        ("办结期限", f"{o['deadline']:%Y年%m月%d日}".replace("年0", "年").replace("月0", "月")),
        ("当前状态", o.get("display_state") or o["state"]),
    ]
    table = doc.add_table(rows=len(rows), cols=2)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for (label, value), row in zip(rows, table.rows):
        row.cells[0].width, row.cells[1].width = Cm(3.2), Cm(13.0)
        for cell, text, bold in ((row.cells[0], label, True), (row.cells[1], str(value), False)):
            p = cell.paragraphs[0]
            p.paragraph_format.space_after = Pt(2)
            _run_font(p.add_run(text), NOTICE_FONT, 12, bold)

    para("", 6)
    para("督办事项：", 14, True, space_after=2, font=NOTICE_TITLE_FONT)
    for i, item in enumerate(o["items"], start=1):
        para(f"{i}. {item}", 14, space_after=2, indent=True)
    para("", 6)
    para("请责任单位收到本通知后及时签收，对照上述事项逐项整改落实，明确责任人和完成时限，并于办结期限前将整改"
         "情况报送调度平台。逾期未办结的，将予以通报。", 14, indent=True, space_after=10)

    if history is not None and history.height:
        last = history.row(history.height - 1, named=True)
        para(f"办理记录：共 {history.height} 条，最近一次为 {last['event_at']:%Y-%m-%d %H:%M} "
             f"{last['actor']}「{last['action']}」。", 11, space_after=10)

    created = o["created_at"]
    para(f"下发：{o['created_by']}", 14, align=WD_ALIGN_PARAGRAPH.RIGHT, space_after=2)
    para(issuer, 14, align=WD_ALIGN_PARAGRAPH.RIGHT, space_after=2)
    para(f"{created:%Y年%m月%d日}".replace("年0", "年").replace("月0", "月"), 14, align=WD_ALIGN_PARAGRAPH.RIGHT)

    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def notice_file_name(o: dict[str, Any]) -> str:
    return f"督办通知单_{o['order_no']}.docx"
