"""Who may sign in, as which role and over which region: the users file, password checks, lock-out and idle timeout.

No Streamlit here (ui/auth.py draws the form). Owns:

- the users file, TOML (default ``data/users.toml``, or ``$HOMETOWN_USERS``; git-ignored, never committed): a
  ``[settings]`` table and one ``[[user]]`` per account (username, display_name, role, prefecture_code, county_code,
  bcrypt password_hash, disabled). It works on an offline intranet: no identity provider, no network;
- the lock-out state in the app store (appdb; the document ``auth:lockout``): failed attempts per (username, client
  address) and per address, and lock-out deadlines, changed in one transaction holding its row lock, so a restart
  does not reset a lock-out and several server processes — on one machine or several sharing PostgreSQL — count the
  same attempts and honour the same lock-outs;
- the Scope of a user (``scope_for``) that every query applies (the roles and what each may do: hometown.access.roles).

Sign-in fails closed: the app runs open (no sign-in, scope ALL) only when ``HOMETOWN_AUTH=off`` asks for it. Without
that, a users file that is missing, a folder, a broken link, unreadable, not UTF-8 or not valid lets nobody in
(``UsersFileError``, a Chinese reason naming the file but never its server path).
``python -m hometown.access.auth`` manages the file (add-user, set-password, …).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import time
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

import bcrypt

from appdb import store as appstore
from hometown.access import audit
from hometown.access.roles import (  # noqa: F401  (auth.ROLES, auth.may … : the names callers of this module use)
    ADMIN, ANALYST, ANSWER_ORDER, CLOSE_ORDER, COUNTY, EXPORT, ISSUE_BRIEF, ISSUE_ORDER, LEADER, MANAGE_USERS,
    PERMISSIONS, PREFECTURE, ROLES, UPLOAD, may)
from warehouse.files import file_lock as _file_lock, write_atomic
from warehouse.scope import ALL, Scope

USERS_ENV = "HOMETOWN_USERS"
AUTH_ENV = "HOMETOWN_AUTH"
ROUNDS_ENV = "HOMETOWN_BCRYPT_ROUNDS"
DEFAULT_USERS = Path("data/users.toml")

# bcrypt hashes at most 72 bytes of a password (bcrypt 5 refuses longer ones): say so instead of truncating.
MAX_PASSWORD_BYTES = 72
MIN_PASSWORD_CHARS = 8
DEFAULT_ROUNDS = 12


class AuthError(Exception):
    """A sign-in or users-file problem; the message is Chinese and fit to show."""


class LoginFailed(AuthError):
    """A refused sign-in. The message is what the person at the form sees (the same for a wrong name, a wrong
    password and a disabled account); ``reason`` is the true cause, for the audit log only."""

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        self.reason = reason or message


class LockedOut(AuthError):
    def __init__(self, message: str, until: float):
        super().__init__(message)
        self.until = until


class UsersFileError(AuthError):
    pass


@dataclass(frozen=True)
class Settings:
    idle_minutes: float = 30.0            # signed out after this long without any interaction
    max_failures: int = 5                 # failed attempts within the window that lock a username at one address
    failure_window_minutes: float = 15.0
    lockout_minutes: float = 15.0
    max_address_failures: int = 20       # failed attempts within the window, any usernames, that stop one address

    ENV = {"idle_minutes": "HOMETOWN_IDLE_MINUTES", "max_failures": "HOMETOWN_MAX_FAILURES",
           "failure_window_minutes": "HOMETOWN_FAILURE_WINDOW_MINUTES", "lockout_minutes": "HOMETOWN_LOCKOUT_MINUTES",
           "max_address_failures": "HOMETOWN_MAX_ADDRESS_FAILURES"}


@dataclass(frozen=True)
class User:
    username: str
    display_name: str
    role: str
    prefecture_code: str | None = None
    county_code: str | None = None
    password_hash: str = field(default="", repr=False)
    disabled: bool = False

    @property
    def role_label(self) -> str:
        return ROLES.get(self.role, self.role)

    def public(self) -> dict:
        """What the session keeps (never the hash)."""
        return {"username": self.username, "display_name": self.display_name, "role": self.role,
                "prefecture_code": self.prefecture_code, "county_code": self.county_code}


# --------------------------------------------------------------------------------------------- file locations


def users_path(path: str | Path | None = None) -> Path:
    return Path(path or os.environ.get(USERS_ENV) or DEFAULT_USERS)


LOCKOUT_DOCUMENT = "auth:lockout"


OFF_VALUES = ("off", "0", "false", "no")


def auth_enabled() -> bool:
    """Sign-in is required unless HOMETOWN_AUTH=off asks for the open app. Never decided by the users file: a file
    that disappears, turns into a folder or a broken link must lock everyone out, not let everyone in."""
    return os.environ.get(AUTH_ENV, "").strip().lower() not in OFF_VALUES


def _write_atomic(path: Path, text: str) -> None:
    write_atomic(path, text, mode=0o600)  # password hashes and lock-outs: the owner's eyes only


# ----------------------------------------------------------------------------------------------- the users file

_cache: dict[str, tuple[tuple, tuple[Settings, dict[str, User]]]] = {}


def _validate(raw: dict, where: str) -> User:
    from geo import reference

    username = str(raw.get("username", "")).strip()
    role = str(raw.get("role", "")).strip()
    if not username:
        raise UsersFileError(f"{where}: 缺少 username")
    if role not in ROLES:
        raise UsersFileError(f"{where}（{username}）: 未知角色「{role}」，可选：{'、'.join(ROLES)}")
    pref = str(raw.get("prefecture_code") or "").strip() or None
    county = str(raw.get("county_code") or "").strip() or None
    if role == PREFECTURE:
        if not pref or pref not in set(reference.prefectures()["code"].to_list()):
            raise UsersFileError(f"{where}（{username}）: 州市项目组账号须填写有效的 prefecture_code（如 532500）")
        county = None
    elif role == COUNTY:
        counties = dict(reference.counties().select("code", "prefecture_code").iter_rows())
        if not county or county not in counties:
            raise UsersFileError(f"{where}（{username}）: 县级专班账号须填写有效的 county_code（如 532504）")
        pref = counties[county]
    else:
        pref = county = None
    return User(username=username, display_name=str(raw.get("display_name") or username), role=role,
                prefecture_code=pref, county_code=county, password_hash=str(raw.get("password_hash") or ""),
                disabled=bool(raw.get("disabled", False)))


def _settings(raw: dict, use_env: bool = True) -> Settings:
    values = {}
    for name, env in Settings.ENV.items():
        value = (os.environ.get(env) if use_env else None) or raw.get(name)
        if value is None or value == "":
            continue
        try:
            values[name] = int(value) if name.startswith("max_") else float(value)
        except (TypeError, ValueError):
            raise UsersFileError(f"设置项 {name} 应为数字，而不是「{value}」") from None
        if values[name] <= 0:
            raise UsersFileError(f"设置项 {name} 应大于0")
    return Settings(**values)


def _read_users_text(p: Path) -> str:
    """The users file's text, or UsersFileError saying in Chinese what is wrong with it. The message names the file
    (users.toml), never its server path: it is shown on the sign-in page."""
    name = p.name
    try:
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        if p.is_symlink():
            raise UsersFileError(f"用户文件 {name} 是失效的链接（指向的文件不存在）") from None
        raise UsersFileError(f"用户文件 {name} 不存在") from None
    except IsADirectoryError:
        raise UsersFileError(f"用户文件 {name} 是一个文件夹，不是文件") from None
    except PermissionError:
        raise UsersFileError(f"用户文件 {name} 无法读取（权限不足）") from None
    except UnicodeDecodeError as exc:
        raise UsersFileError(f"用户文件 {name} 不是 UTF-8 编码的文本（第 {exc.start + 1} 个字节无法解码）") from None
    except OSError as exc:
        raise UsersFileError(f"用户文件 {name} 无法读取（{exc.strerror or type(exc).__name__}）") from None


def load(path: str | Path | None = None) -> tuple[Settings, dict[str, User]]:
    """Settings and users (by username) of the users file; re-read only when the file changes."""
    p = users_path(path)
    try:
        st = p.stat()
    except OSError:
        st = None  # missing or a broken link: _read_users_text says which
    if st is not None and not p.is_file():
        raise UsersFileError(f"用户文件 {p.name} 是一个文件夹，不是文件" if p.is_dir() else f"用户文件 {p.name} 不是普通文件")
    env = tuple(os.environ.get(e) for e in Settings.ENV.values())
    key = (st.st_ino, st.st_mtime_ns, st.st_size, env) if st else None
    cached = _cache.get(str(p))
    if key and cached and cached[0] == key:
        return cached[1]
    text = _read_users_text(p)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsersFileError(f"用户文件 {p.name} 格式错误：{exc}") from None
    entries = raw.get("user", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries) \
            or not isinstance(raw.get("settings", {}), dict):
        raise UsersFileError(f"用户文件 {p.name} 格式错误：用户应写作 [[user]] 表，设置应写作 [settings] 表")
    users: dict[str, User] = {}
    for i, entry in enumerate(entries, start=1):
        user = _validate(entry, f"{p.name} 第{i}个用户")
        if user.username in users:
            raise UsersFileError(f"{p.name}: 用户名「{user.username}」重复")
        users[user.username] = user
    result = (_settings(raw.get("settings", {})), users)
    _cache[str(p)] = (key, result)
    return result


def settings(path: str | Path | None = None) -> Settings:
    """The settings of the users file (defaults when there is none), with environment overrides."""
    try:
        return load(path)[0]
    except UsersFileError:
        return _settings({})


def get_user(username: str, path: str | Path | None = None) -> User | None:
    return load(path)[1].get(username)


def _toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def _dump(s: Settings, users: dict[str, User]) -> str:
    lines = [
        "# hometown-dispatch users: generated by `python -m hometown.access.auth`; git-ignored, never commit it.",
        "# Roles: " + ", ".join(f"{k} ({v})" for k, v in ROLES.items()) + ".",
        "", "[settings]",
        f"idle_minutes = {s.idle_minutes:g}        # signed out after this long without interaction",
        f"max_failures = {s.max_failures}           # failed sign-ins within the window that lock the account",
        f"failure_window_minutes = {s.failure_window_minutes:g}",
        f"lockout_minutes = {s.lockout_minutes:g}",
        f"max_address_failures = {s.max_address_failures}   # failed sign-ins from one address (any names)",
    ]
    for u in users.values():
        lines += ["", "[[user]]", f"username = {_toml_str(u.username)}", f"display_name = {_toml_str(u.display_name)}",
                  f"role = {_toml_str(u.role)}", f"prefecture_code = {_toml_str(u.prefecture_code or '')}",
                  f"county_code = {_toml_str(u.county_code or '')}", f"password_hash = {_toml_str(u.password_hash)}",
                  f"disabled = {'true' if u.disabled else 'false'}"]
    return "\n".join(lines) + "\n"


def _file_settings(p: Path) -> Settings:
    """The settings as written in the file (no environment overrides), to write them back unchanged."""
    if not p.is_file():
        return Settings()
    return _settings(tomllib.loads(p.read_text(encoding="utf-8")).get("settings", {}), use_env=False)


def save(users: dict[str, User], path: str | Path | None = None, settings_: Settings | None = None) -> Path:
    """Write the users file (mode 600), atomically."""
    p = users_path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(p, _dump(settings_ or _file_settings(p), users))
    _cache.pop(str(p), None)
    return p


# ---------------------------------------------------------------------------------------------------- passwords


def _rounds(rounds: int | None) -> int:
    return int(rounds or os.environ.get(ROUNDS_ENV) or DEFAULT_ROUNDS)


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise AuthError(f"密码至少 {MIN_PASSWORD_CHARS} 个字符")
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise AuthError(f"密码过长（最多 {MAX_PASSWORD_BYTES} 字节，约 24 个汉字或 72 个字母数字）")


def hash_password(password: str, rounds: int | None = None) -> str:
    check_new_password(password)
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(_rounds(rounds))).decode("ascii")


def check_password(password: str, password_hash: str) -> bool:
    data = (password or "").encode("utf-8")
    if not password_hash or len(data) > MAX_PASSWORD_BYTES:
        return False
    try:
        return bcrypt.checkpw(data, password_hash.encode("ascii"))
    except ValueError:  # a damaged hash in the file: no way in, never a crash
        return False


_dummy_hashes: dict[int, str] = {}


def _dummy_hash(like: dict[str, "User"]) -> str:
    """Checked against for unknown usernames, at the cost of the file's own hashes, so that a wrong name takes as
    long as a wrong password (the answer's timing does not tell which usernames exist)."""
    costs = [int(u.password_hash.split("$")[2]) for u in like.values() if u.password_hash.count("$") >= 3
             and u.password_hash.split("$")[2].isdigit()]
    cost = max(costs) if costs else _rounds(None)
    if cost not in _dummy_hashes:
        _dummy_hashes[cost] = bcrypt.hashpw(b"no such user", bcrypt.gensalt(cost)).decode("ascii")
    return _dummy_hashes[cost]


# ------------------------------------------------------------------------------------------------- lock-out


def _key(username: str) -> str:
    return (username or "").strip().lower()[:64]


def _address(client: str | None) -> str:
    """The client address as counted for lock-outs ("-" when the server cannot tell, e.g. the command line)."""
    return (client or "").strip()[:64] or "-"


def _pair(username: str, client: str | None) -> str:
    """A username at one client address: the unit a run of wrong passwords locks. Locking the name alone would let
    anyone who knows it (``admin``) lock its owner out from everywhere with five guesses."""
    return f"{_key(username)}|{_address(client)}"


def _parse_state(body: str | None) -> dict:
    try:
        state = json.loads(body) if body else {}
        return state if isinstance(state, dict) else {}
    except ValueError:
        return {}


def lockout_state() -> dict:
    """The lock-out state as stored (failures and deadlines per pair and per address; epoch seconds)."""
    return _parse_state(appstore.read_document(LOCKOUT_DOCUMENT))


STATE_TABLES = ("failures", "locked_until", "address_failures", "address_locked_until")


def _prune(state: dict, now: float, s: Settings) -> dict:
    """The state without attempts older than the window and lock-outs that have ended (and without entries of the
    format before per-address lock-outs, keyed by the name alone)."""
    window = s.failure_window_minutes * 60
    out: dict[str, dict] = {}
    for table in STATE_TABLES:
        entries = state.get(table, {})
        entries = entries if isinstance(entries, dict) else {}
        if table.endswith("failures"):
            kept = {k: [t for t in v if now - t < window] for k, v in entries.items() if isinstance(v, list)}
            out[table] = {k: v for k, v in kept.items() if v}
        else:
            out[table] = {k: t for k, t in entries.items() if isinstance(t, (int, float)) and t > now}
    for table in ("failures", "locked_until"):
        out[table] = {k: v for k, v in out[table].items() if "|" in k}
    return out


def locked_until(username: str, path: str | Path | None = None, now: float | None = None,
                 client: str | None = None) -> float | None:
    """The time (epoch seconds) until which sign-ins of the username from the client address are refused (the pair
    locked, or the address stopped), or None."""
    now = time.time() if now is None else now
    state = lockout_state()
    until = max(state.get("locked_until", {}).get(_pair(username, client)) or 0,
                state.get("address_locked_until", {}).get(_address(client)) or 0)
    return until if until > now else None


def _locked_message(until: float, now: float, address: bool = False) -> str:
    minutes = max(1, int((until - now + 59) // 60))
    if address:
        return f"本机登录失败次数过多，已暂停登录，请 {minutes} 分钟后再试（或联系管理员解锁）"
    return f"登录失败次数过多，账号已临时锁定，请 {minutes} 分钟后再试（或联系管理员解锁）"


def unlock(name_or_address: str, path: str | Path | None = None) -> None:
    """Lift the lock-outs of a username (at every address) or of a client address."""
    with appstore.updating_document(LOCKOUT_DOCUMENT) as body:
        state = _parse_state(body[0])
        key, address = _key(name_or_address), _address(name_or_address)
        for table in ("failures", "locked_until"):
            entries = state.get(table, {})
            for k in [k for k in entries if k.split("|", 1)[0] == key or k == key]:
                entries.pop(k)
        for table in ("address_failures", "address_locked_until"):
            state.get(table, {}).pop(address, None)
        body[0] = json.dumps(state, ensure_ascii=False)


WRONG = "用户名或密码错误"


def _refuse_if_locked(state: dict, pair: str, address: str, now: float) -> None:
    """Raise LockedOut when the client address is stopped or the (username, address) pair is locked."""
    stopped = state["address_locked_until"].get(address)
    if stopped:
        raise LockedOut(_locked_message(stopped, now, address=True), stopped)
    until = state["locked_until"].get(pair)
    if until:
        raise LockedOut(_locked_message(until, now), until)


def verify(username: str, password: str, path: str | Path | None = None, now: float | None = None,
           client: str | None = None) -> User:
    """The user when the password is right and the account enabled; LoginFailed or LockedOut otherwise.

    The answer never tells which usernames exist or which accounts are disabled: an unknown name, a wrong password
    and a disabled account (even with its right password) get the same message, take as long and count as the same
    failure (``LoginFailed.reason`` keeps the true cause for the audit log). ``max_failures`` failures within the
    window lock the username at that client address for ``lockout_minutes``; ``max_address_failures`` failures from
    one address, whatever the names, stop that address as long. The state is in the app store, changed under its
    row lock: a restart does not reset it and several server processes (and machines) share it.
    """
    now = time.time() if now is None else now
    s, users = load(path)
    pair, address = _pair(username, client), _address(client)
    _refuse_if_locked(_prune(lockout_state(), now, s), pair, address, now)
    # The slow bcrypt check runs outside the lock, so one sign-in never holds up another.
    user = users.get((username or "").strip())
    good = check_password(password, user.password_hash if user else _dummy_hash(users)) and user is not None
    with appstore.updating_document(LOCKOUT_DOCUMENT) as body:  # one transaction, the state's row locked
        state = _prune(_parse_state(body[0]), now, s)
        # Locked meanwhile by a concurrent attempt (another tab, another server process): the lock wins, and this
        # attempt, already judged by it, does not start a new count.
        _refuse_if_locked(state, pair, address, now)
        if good and not user.disabled:
            if pair in state["failures"]:
                state["failures"].pop(pair)
                body[0] = json.dumps(state, ensure_ascii=False)
            return user
        attempts = state["failures"].get(pair, []) + [now]
        state["failures"][pair] = attempts
        from_address = state["address_failures"].get(address, []) + [now]
        state["address_failures"][address] = from_address
        locked = None
        if len(from_address) >= s.max_address_failures:
            state["address_failures"].pop(address)
            until = state["address_locked_until"][address] = now + s.lockout_minutes * 60
            locked = LockedOut(_locked_message(until, now, address=True), until)
        if len(attempts) >= s.max_failures:
            state["failures"].pop(pair)
            until = state["locked_until"][pair] = now + s.lockout_minutes * 60
            locked = locked or LockedOut(_locked_message(until, now), until)
        body[0] = json.dumps(state, ensure_ascii=False)
    if locked:
        raise locked
    reason = "账号已停用（密码正确）" if good else ("用户名不存在" if user is None else "密码错误")
    left = s.max_failures - len(attempts)
    raise LoginFailed(f"{WRONG}（再失败 {left} 次将锁定 {s.lockout_minutes:g} 分钟）", reason=reason)


# ----------------------------------------------------------------------------------------------- sessions


def session_expired(last_seen: float | None, now: float | None = None, settings_: Settings | None = None) -> bool:
    """Has the session been idle longer than ``idle_minutes``? (No last-seen time: not signed in, not expired.)"""
    if last_seen is None:
        return False
    now = time.time() if now is None else now
    return now - last_seen > (settings_ or Settings()).idle_minutes * 60


def scope_for(user: User | dict | None) -> Scope:
    """The region the user sees: a prefecture project group its prefecture, a county task force its county,
    everyone else (and the open app) the whole province."""
    if user is None:
        return ALL
    get = user.get if isinstance(user, dict) else lambda k: getattr(user, k)
    role = get("role")
    if role == COUNTY and get("county_code"):
        return Scope(county_code=get("county_code"))
    if role == PREFECTURE and get("prefecture_code"):
        return Scope(prefecture_code=get("prefecture_code"))
    if role in (COUNTY, PREFECTURE):
        # A regional role without its region sees nothing rather than everything.
        return Scope(county_code="000000")
    return ALL


# ------------------------------------------------------------------------------------------- managing users

# Demo accounts, one per role (README "Users and roles"). For the demo only: change or delete them for real use.
DEMO_USERS: tuple[tuple[str, str, str, str | None, str | None, str], ...] = (
    ("leader", "省领导", LEADER, None, None, "leader@demo"),
    ("honghe", "红河州项目组", PREFECTURE, "532500", None, "honghe@demo"),
    ("mile", "弥勒市专班", COUNTY, None, "532504", "mile@demo"),
    ("analyst", "省项目组分析员", ANALYST, None, None, "analyst@demo"),
    ("admin", "系统管理员", ADMIN, None, None, "admin@demo"),
)


def create_demo_users(path: str | Path | None = None, rounds: int | None = None,
                      settings_: Settings | None = None) -> dict[str, str]:
    """Write a users file with the demo users (username → password returned). Replaces the file."""
    users = {}
    for username, name, role, pref, county, password in DEMO_USERS:
        users[username] = _validate({"username": username, "display_name": name, "role": role,
                                     "prefecture_code": pref, "county_code": county,
                                     "password_hash": hash_password(password, rounds)}, "demo")
    save(users, path, settings_ or Settings())
    return {u[0]: u[5] for u in DEMO_USERS}


def add_user(username: str, password: str, role: str, display_name: str | None = None,
             prefecture_code: str | None = None, county_code: str | None = None,
             path: str | Path | None = None, rounds: int | None = None) -> User:
    p = users_path(path)
    with _file_lock(p):
        users = load(p)[1] if p.is_file() else {}
        if username.strip() in users:
            raise AuthError(f"用户名「{username}」已存在")
        user = _validate({"username": username, "display_name": display_name or username, "role": role,
                          "prefecture_code": prefecture_code, "county_code": county_code,
                          "password_hash": hash_password(password, rounds)}, "新用户")
        save({**users, user.username: user}, p)
    return user


def set_password(username: str, password: str, path: str | Path | None = None, rounds: int | None = None) -> None:
    p = users_path(path)
    with _file_lock(p):
        users = dict(load(p)[1])
        if username not in users:
            raise AuthError(f"用户「{username}」不存在")
        users[username] = replace(users[username], password_hash=hash_password(password, rounds))
        save(users, p)


def set_disabled(username: str, disabled: bool, path: str | Path | None = None) -> None:
    p = users_path(path)
    with _file_lock(p):
        users = dict(load(p)[1])
        if username not in users:
            raise AuthError(f"用户「{username}」不存在")
        users[username] = replace(users[username], disabled=disabled)
        save(users, p)


def _resolve_region(role: str, region: str | None) -> tuple[str | None, str | None]:
    """--region 红河 / 532500 / 弥勒 / 532504 → (prefecture_code, county_code) for the role."""
    from geo import reference

    if not region:
        return None, None
    if role == PREFECTURE:
        code = region if region.isdigit() else reference.resolve_prefecture(region)
        return code, None
    if role == COUNTY:
        code = region if region.isdigit() else reference.resolve_county(region)
        return None, code
    return None, None


def _read_password(args) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("新密码：")
    if getpass.getpass("再输入一次：") != first:
        raise AuthError("两次输入的密码不一致")
    return first


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hometown.access.auth", description="管理平台用户（用户文件见 README「Users and roles」）")
    parser.add_argument("--users", help=f"用户文件（默认 ${USERS_ENV} 或 {DEFAULT_USERS}）")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="生成演示用户（每个角色一个），覆盖用户文件")
    demo.add_argument("--if-missing", action="store_true", help="用户文件已存在时什么也不做")
    add = sub.add_parser("add-user", help="新增用户")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=list(ROLES))
    add.add_argument("--name", help="显示名称，如 红河州项目组")
    add.add_argument("--region", help="州市项目组：州市名称或代码；县级专班：县市区名称或代码")
    add.add_argument("--password-stdin", action="store_true", help="从标准输入读取密码（一行）")
    pw = sub.add_parser("set-password", help="重置用户密码")
    pw.add_argument("username")
    pw.add_argument("--password-stdin", action="store_true")
    for name, text in (("disable", "停用用户"), ("enable", "启用用户")):
        sub.add_parser(name, help=text).add_argument("username")
    sub.add_parser("unlock", help="解除登录锁定（用户名：该用户在所有地址的锁定；或客户端地址）").add_argument(
        "username", metavar="USERNAME_OR_ADDRESS")
    sub.add_parser("list", help="列出用户")
    args = parser.parse_args(argv)
    path = users_path(args.users)
    try:
        if args.command == "demo":
            if args.if_missing and path.exists():
                print(f"用户文件已存在，未改动：{path}")
                return 0
            created = create_demo_users(path)
            print(f"已生成演示用户：{path}")
            for username, password in created.items():
                print(f"  {username:10s} {password}")
            audit.record("user_admin", username="(命令行)", target=str(path), detail="生成演示用户")
        elif args.command == "add-user":
            pref, county = _resolve_region(args.role, args.region)
            user = add_user(args.username, _read_password(args), args.role, args.name, pref, county, path)
            print(f"已新增用户 {user.username}（{user.role_label}）")
            audit.record("user_admin", username="(命令行)", target=user.username, detail=f"新增用户，角色 {user.role_label}")
        elif args.command == "set-password":
            set_password(args.username, _read_password(args), path)
            print(f"已重置 {args.username} 的密码")
            audit.record("user_admin", username="(命令行)", target=args.username, detail="重置密码")
        elif args.command in ("disable", "enable"):
            set_disabled(args.username, args.command == "disable", path)
            print(f"已{'停用' if args.command == 'disable' else '启用'} {args.username}")
            audit.record("user_admin", username="(命令行)", target=args.username,
                         detail="停用用户" if args.command == "disable" else "启用用户")
        elif args.command == "unlock":
            unlock(args.username, path)
            print(f"已解除 {args.username} 的登录锁定")  # a username's at every address, or an address's
            audit.record("user_admin", username="(命令行)", target=args.username, detail="解除登录锁定")
        elif args.command == "list":
            for u in load(path)[1].values():
                region = u.county_code or u.prefecture_code or "全省"
                print(f"{u.username:12s} {u.role_label:6s} {region:8s} {u.display_name}{'（已停用）' if u.disabled else ''}")
    except AuthError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
