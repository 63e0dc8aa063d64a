"""Users, passwords, lock-out, idle timeout, roles and scopes (hometown.access.auth), the audit trail (hometown.access.audit) and the
sign-in of the app (app.py + ui/auth.py through Streamlit's AppTest).

Users files are written by ``create_demo_users`` into a temporary folder with bcrypt cost 4 (the app's default is
12: the same algorithm, only slower), never into data/.
"""

from __future__ import annotations

import fcntl
import json
import os
import stat
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from appdb import store as appstore
from hometown.access import audit, auth
from warehouse.scope import ALL, Scope
from ui.nav import pages_for

ROOT = Path(__file__).resolve().parent.parent
FAST = 4  # bcrypt cost for tests


@pytest.fixture
def users(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "users.toml"
    monkeypatch.setenv(auth.USERS_ENV, str(path))
    monkeypatch.setenv(auth.ROUNDS_ENV, str(FAST))
    monkeypatch.setenv(audit.AUDIT_ENV, str(tmp_path / "app.sqlite3"))
    for env in auth.Settings.ENV.values():
        monkeypatch.delenv(env, raising=False)
    auth.create_demo_users(path, rounds=FAST)
    return path


@pytest.fixture
def lockout_users(users, app_db) -> Path:
    """``users`` with the lock-out state in a fresh app store on each backend (embedded and PostgreSQL)."""
    return users


# ---------------------------------------------------------------------------------------------------- hashing


def test_passwords_are_bcrypt_hashed_salted_and_checked():
    h1 = auth.hash_password("正确的密码abc", rounds=FAST)
    h2 = auth.hash_password("正确的密码abc", rounds=FAST)
    assert h1.startswith("$2b$04$") and h1 != h2  # salted
    assert auth.check_password("正确的密码abc", h1) and auth.check_password("正确的密码abc", h2)
    assert not auth.check_password("正确的密码abd", h1)
    assert not auth.check_password("", h1)
    assert not auth.check_password("x", "not a hash")  # a damaged hash is no way in, never a crash
    with pytest.raises(auth.AuthError, match="至少 8 个字符"):
        auth.hash_password("short", rounds=FAST)
    with pytest.raises(auth.AuthError, match="密码过长"):
        auth.hash_password("密" * 25, rounds=FAST)  # 75 bytes: bcrypt would silently use only 72
    assert not auth.check_password("a" * 100, h1)


def test_users_file_holds_hashes_only_and_is_private(users):
    text = users.read_text(encoding="utf-8")
    for _, _, _, _, _, password in auth.DEMO_USERS:
        assert password not in text
    assert stat.S_IMODE(users.stat().st_mode) == 0o600
    settings, loaded = auth.load(users)
    assert set(loaded) == {"leader", "honghe", "mile", "analyst", "admin"}
    assert {u.role for u in loaded.values()} == set(auth.ROLES)
    assert loaded["honghe"].prefecture_code == "532500" and loaded["mile"].county_code == "532504"
    assert loaded["mile"].prefecture_code == "532500"  # derived from the county
    assert "password_hash" not in loaded["mile"].public()
    assert settings == auth.Settings()


@pytest.mark.parametrize("entry, message", [
    ('username = "x"\nrole = "boss"', "未知角色"),
    ('username = "x"\nrole = "prefecture"', "prefecture_code"),
    ('username = "x"\nrole = "county"\ncounty_code = "999999"', "county_code"),
])
def test_a_bad_users_file_is_refused(tmp_path, entry, message):
    path = tmp_path / "users.toml"
    path.write_text(f"[[user]]\n{entry}\n", encoding="utf-8")
    with pytest.raises(auth.UsersFileError, match=message):
        auth.load(path)


# ---------------------------------------------------------------------------------------------------- sign-in


def test_verify_right_and_wrong_passwords(users):
    assert auth.verify("honghe", "honghe@demo").role == auth.PREFECTURE
    with pytest.raises(auth.LoginFailed, match="用户名或密码错误"):
        auth.verify("honghe", "mile@demo")
    # An unknown name gets the same answer as a wrong password: nothing tells which usernames exist.
    with pytest.raises(auth.LoginFailed, match="用户名或密码错误"):
        auth.verify("nobody", "honghe@demo")


def test_lock_out_after_repeated_failures_and_release_after_the_lock_time(lockout_users):
    t0 = 1_700_000_000.0
    for i in range(4):
        with pytest.raises(auth.LoginFailed, match=f"再失败 {4 - i} 次"):
            auth.verify("mile", "guess-1234", now=t0 + i)
    with pytest.raises(auth.LockedOut, match="已临时锁定") as locked:
        auth.verify("mile", "guess-1234", now=t0 + 5)
    assert locked.value.until == pytest.approx(t0 + 5 + 15 * 60)
    # Locked: even the right password is refused, and the lock is not extended by it.
    with pytest.raises(auth.LockedOut):
        auth.verify("mile", "mile@demo", now=t0 + 60)
    assert auth.locked_until("mile", now=t0 + 60) == pytest.approx(t0 + 5 + 15 * 60)
    # Other users are not affected.
    assert auth.verify("honghe", "honghe@demo", now=t0 + 60).username == "honghe"
    # After the lock time the right password works again, and the count starts afresh.
    assert auth.verify("mile", "mile@demo", now=t0 + 5 + 15 * 60 + 1).username == "mile"
    with pytest.raises(auth.LoginFailed, match="再失败 4 次"):
        auth.verify("mile", "guess-1234", now=t0 + 2000)


def test_failures_outside_the_window_do_not_add_up_and_success_resets(lockout_users):
    t0 = 1_700_000_000.0
    for i in range(4):
        with pytest.raises(auth.LoginFailed):
            auth.verify("mile", "guess-1234", now=t0 + i * 16 * 60)  # 16 minutes apart, window 15
    assert auth.locked_until("mile", now=t0 + 4 * 16 * 60) is None
    for i in range(4):
        with pytest.raises(auth.LoginFailed):
            auth.verify("mile", "guess-1234", now=t0 + 10_000 + i)
    auth.verify("mile", "mile@demo", now=t0 + 10_010)
    with pytest.raises(auth.LoginFailed, match="再失败 4 次"):
        auth.verify("mile", "guess-1234", now=t0 + 10_020)


def test_lock_out_survives_a_restart(lockout_users):
    for _ in range(5):
        with pytest.raises((auth.LoginFailed, auth.LockedOut)):
            auth.verify("leader", "guess-1234")
    # A new process (the app restarted, or another machine) reads the state from the app store.
    code = ("from hometown.access import auth\n"
            "try:\n    auth.verify('leader', 'leader@demo')\nexcept auth.LockedOut as e:\n    print('LOCKED', e)\n"
            "else:\n    print('OPEN')\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, auth.USERS_ENV: str(lockout_users)})
    assert done.stdout.startswith("LOCKED"), done.stdout + done.stderr
    # Locked as the pair (username, client address); the command line has no address ("-").
    assert auth.lockout_state()["locked_until"]["leader|-"] > time.time()
    auth.unlock("leader")
    assert auth.verify("leader", "leader@demo").username == "leader"


def test_lock_out_settings_come_from_the_file_and_the_environment(lockout_users, monkeypatch):
    text = lockout_users.read_text(encoding="utf-8").replace("max_failures = 5", "max_failures = 2")
    lockout_users.write_text(text, encoding="utf-8")
    with pytest.raises(auth.LoginFailed, match="再失败 1 次"):
        auth.verify("admin", "guess-1234")
    with pytest.raises(auth.LockedOut):
        auth.verify("admin", "guess-1234")
    monkeypatch.setenv("HOMETOWN_MAX_FAILURES", "3")
    monkeypatch.setenv("HOMETOWN_IDLE_MINUTES", "7")
    assert auth.settings().max_failures == 3 and auth.settings().idle_minutes == 7


def test_a_disabled_user_cannot_sign_in_and_is_answered_as_a_wrong_password(users):
    auth.set_disabled("analyst", True)
    # The right password of a disabled account must not be confirmed: the same words, the same count of attempts
    # left, as a wrong password; only the audit reason (LoginFailed.reason) tells the truth.
    with pytest.raises(auth.LoginFailed) as right:
        auth.verify("analyst", "analyst@demo", client="10.0.0.5")
    with pytest.raises(auth.LoginFailed) as wrong:
        auth.verify("analyst", "guess-1234", client="10.0.0.6")
    assert str(right.value) == str(wrong.value) == "用户名或密码错误（再失败 4 次将锁定 15 分钟）"
    assert "已停用" not in str(right.value)
    assert "已停用" in right.value.reason and "已停用" not in wrong.value.reason
    auth.set_disabled("analyst", False)
    assert auth.verify("analyst", "analyst@demo").role == auth.ANALYST


def test_lock_out_is_per_username_and_address_with_a_limit_per_address(lockout_users):
    t0 = 1_700_000_000.0
    for i in range(5):
        with pytest.raises((auth.LoginFailed, auth.LockedOut)):
            auth.verify("admin", "guess-1234", now=t0 + i, client="10.9.9.9")  # someone who knows the name
    with pytest.raises(auth.LockedOut, match="已临时锁定"):
        auth.verify("admin", "admin@demo", now=t0 + 10, client="10.9.9.9")
    # The owner at another address is not locked out by the guesser.
    assert auth.verify("admin", "admin@demo", now=t0 + 11, client="10.0.0.1").username == "admin"
    assert auth.locked_until("admin", now=t0 + 12, client="10.9.9.9") == pytest.approx(t0 + 4 + 15 * 60)
    assert auth.locked_until("admin", now=t0 + 12, client="10.0.0.1") is None
    # Guessing across names from one address: the address is stopped after max_address_failures (20), whatever
    # the names, and the right password of another user from there is refused too until the time is up.
    names = ["leader", "honghe", "mile", "analyst"] + [f"user{i}" for i in range(20)]
    refused = None
    for i, name in enumerate(names):
        try:
            auth.verify(name, "guess-1234", now=t0 + 100 + i, client="10.7.7.7")
        except auth.LockedOut as exc:
            refused = (i, str(exc))
            break
        except auth.LoginFailed:
            pass
    assert refused is not None and refused[0] == 19 and "本机登录失败次数过多" in refused[1]
    with pytest.raises(auth.LockedOut, match="本机"):
        auth.verify("honghe", "honghe@demo", now=t0 + 200, client="10.7.7.7")
    assert auth.verify("honghe", "honghe@demo", now=t0 + 201, client="10.0.0.2").username == "honghe"
    assert auth.verify("honghe", "honghe@demo", now=t0 + 119 + 15 * 60 + 1, client="10.7.7.7").username == "honghe"
    # unlock lifts a username's lock at every address, or an address's stop.
    auth.unlock("admin")
    assert auth.locked_until("admin", now=t0 + 12, client="10.9.9.9") is None


def test_lock_out_counts_stay_right_with_several_processes(lockout_users):
    """Four processes guess at once (as several server workers would): every failure is counted, under the
    state's row lock in the app store, so the pair is locked after exactly max_failures, never later."""
    code = ("import sys\nfrom hometown.access import auth\n"
            "for _ in range(3):\n"
            "    try:\n        auth.verify('mile', 'guess-1234', client='10.3.3.3')\n"
            "    except auth.LockedOut:\n        print('L')\n"
            "    except auth.LoginFailed:\n        print('F')\n")
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                              env={**os.environ, auth.USERS_ENV: str(lockout_users)}) for _ in range(4)]
    answers = "".join(p.communicate(timeout=120)[0] for p in procs).split()
    assert len(answers) == 12
    # 12 attempts: the 5th failure locks (one "L" for it), the 7 after it find the lock: 4 F and 8 L.
    assert answers.count("F") == 4 and answers.count("L") == 8, answers


def test_session_timeout():
    s = auth.Settings(idle_minutes=30)
    now = 1_700_000_000.0
    assert not auth.session_expired(now - 29 * 60, now, s)
    assert auth.session_expired(now - 31 * 60, now, s)
    assert not auth.session_expired(None, now, s)
    assert auth.session_expired(now - 61, now, auth.Settings(idle_minutes=1))


# ---------------------------------------------------------------------------------------------- roles, scopes


def test_scopes_of_the_roles(users):
    _, u = auth.load(users)
    assert auth.scope_for(u["leader"]) == ALL
    assert auth.scope_for(u["analyst"]) == ALL
    assert auth.scope_for(u["admin"]) == ALL
    assert auth.scope_for(u["honghe"]) == Scope(prefecture_code="532500")
    assert auth.scope_for(u["mile"]) == Scope(county_code="532504")
    assert auth.scope_for(u["mile"].public()) == Scope(county_code="532504")
    assert auth.scope_for(None) == ALL
    # A regional role that lost its region sees nothing, never everything.
    assert auth.scope_for({"role": "county"}) == Scope(county_code="000000")
    mile = auth.scope_for(u["mile"])
    assert mile.allows("532504") and mile.allows("532504101201") and not mile.allows("532501")
    assert not mile.allows("532500") and not mile.allows("530000")


def test_permissions_and_pages_of_the_roles():
    assert auth.may(auth.PREFECTURE, auth.UPLOAD) and auth.may(auth.ADMIN, auth.UPLOAD)
    assert not any(auth.may(r, auth.UPLOAD) for r in (auth.LEADER, auth.COUNTY, auth.ANALYST))
    assert auth.may(auth.COUNTY, auth.ANSWER_ORDER) and not auth.may(auth.COUNTY, auth.ISSUE_ORDER)
    assert not auth.may(auth.COUNTY, auth.CLOSE_ORDER) and auth.may(auth.PREFECTURE, auth.CLOSE_ORDER)
    assert auth.may(auth.ANALYST, auth.EXPORT) and not auth.may(auth.LEADER, auth.ISSUE_ORDER)
    assert auth.may(None, auth.MANAGE_USERS)  # the open app
    paths = {role: {p.url_path for p in pages_for(role)} for role in auth.ROLES}
    assert "upload" in paths["prefecture"] and "upload" in paths["admin"]
    assert "upload" not in paths["county"] | paths["leader"] | paths["analyst"]
    assert "audit" in paths["admin"] and not any("audit" in paths[r] for r in auth.ROLES if r != "admin")
    assert "dispatch" not in paths["analyst"]


def test_auth_is_off_only_when_switched_off(tmp_path, users, monkeypatch):
    monkeypatch.setenv(auth.AUTH_ENV, "on")
    assert auth.auth_enabled()
    monkeypatch.setenv(auth.AUTH_ENV, "off")
    assert not auth.auth_enabled()
    monkeypatch.delenv(auth.AUTH_ENV)
    assert auth.auth_enabled()
    # No users file is no reason to open the app: it fails closed.
    monkeypatch.setenv(auth.USERS_ENV, str(tmp_path / "none.toml"))
    assert auth.auth_enabled()
    with pytest.raises(auth.UsersFileError, match="不存在"):
        auth.load()


def _damage(kind: str, path: Path) -> None:
    """Make the users file at ``path`` missing, a folder, a broken link, unreadable, not UTF-8 or not TOML."""
    if path.is_file() or path.is_symlink():
        path.unlink()
    if kind == "missing":
        return
    if kind == "folder":
        path.mkdir()
    elif kind == "broken link":
        path.symlink_to(path.with_name("gone.toml"))
    elif kind == "not utf-8":
        path.write_bytes("[[user]]\nusername = '管理员'\n".encode("gb18030"))
    elif kind == "bad toml":
        path.write_text("[[user]\nusername = \n", encoding="utf-8")
    elif kind == "unreadable":
        path.write_text("[[user]]\n", encoding="utf-8")
        path.chmod(0)


DAMAGES = {"missing": "不存在", "folder": "文件夹", "broken link": "失效的链接", "not utf-8": "UTF-8",
           "bad toml": "格式错误", "unreadable": "无法读取"}


@pytest.mark.parametrize("kind", list(DAMAGES))
def test_a_missing_or_damaged_users_file_says_what_is_wrong_without_its_path(tmp_path, kind):
    path = tmp_path / "secret-place" / "users.toml"
    path.parent.mkdir()
    _damage(kind, path)
    if kind == "unreadable" and os.access(path, os.R_OK):
        pytest.skip("running as root: a mode-000 file is still readable")  # the CI runs as root
    with pytest.raises(auth.UsersFileError) as exc:
        auth.load(path)
    assert DAMAGES[kind] in str(exc.value) and "users.toml" in str(exc.value)
    assert str(tmp_path) not in str(exc.value) and "secret-place" not in str(exc.value)


def test_command_line_add_user_and_set_password(users, tmp_path):
    env = {**os.environ, auth.USERS_ENV: str(users), auth.ROUNDS_ENV: str(FAST),
           audit.AUDIT_ENV: str(tmp_path / "app.sqlite3")}

    def cli(*args, stdin=""):
        return subprocess.run([sys.executable, "-m", "hometown.access.auth", *args], cwd=ROOT, input=stdin, text=True,
                              capture_output=True, timeout=60, env=env)

    done = cli("add-user", "yuxi", "--role", "prefecture", "--region", "玉溪", "--name", "玉溪市项目组",
               "--password-stdin", stdin="玉溪密码2024\n")
    assert done.returncode == 0, done.stderr
    user = auth.verify("yuxi", "玉溪密码2024")
    assert user.prefecture_code == "530400" and user.display_name == "玉溪市项目组"
    assert cli("add-user", "yuxi", "--role", "analyst", "--password-stdin", stdin="whatever-123\n").returncode == 2
    done = cli("set-password", "yuxi", "--password-stdin", stdin="新的密码2025\n")
    assert done.returncode == 0, done.stderr
    assert auth.verify("yuxi", "新的密码2025").username == "yuxi"
    assert cli("set-password", "yuxi", "--password-stdin", stdin="short\n").returncode == 2
    assert "yuxi" in cli("list").stdout
    rows = audit.events(tmp_path / "app.sqlite3", action="user_admin")
    assert rows.height == 2 and set(rows["target"]) == {"yuxi"}


# ---------------------------------------------------------------------------------------------------- audit


def test_audit_rows_are_appended_filtered_and_chained(app_db):
    me = {"username": "honghe", "display_name": "红河州项目组", "role": "prefecture"}
    audit.record("login", user=me, client="10.0.0.8")
    audit.record("upload", user=me, target="红河州_20220331.xlsx", detail="已接收；401 个任务村")
    audit.record("login_failed", username="mile", outcome="failed")
    rows = audit.events()
    assert rows["action"].to_list() == ["login_failed", "upload", "login"]  # newest first
    assert rows.filter(rows["action"] == "upload")["username"][0] == "honghe"
    assert audit.events(username="mile").height == 1
    assert audit.events(action="upload", text="401").height == 1
    assert audit.events(text="红河州项目").height == 2 and audit.events(text="HONGHE").height == 2
    assert audit.events(outcome="failed")["username"].to_list() == ["mile"]
    assert audit.events(since=datetime.now().date() + timedelta(days=1)).height == 0
    assert audit.events(until=datetime.now().date()).height == 3
    assert audit.table(rows)["操作"].to_list() == ["登录失败", "上传报表", "登录成功"]
    assert audit.verify_chain() == []
    # A row changed by hand breaks the chain from that row on.
    with appstore.transaction() as tx:
        tx.execute("UPDATE audit_log SET detail = '已拒收' WHERE action = 'upload'")
    assert audit.verify_chain() == [2]


def test_audit_filters_are_parameters_not_sql(app_db):
    audit.record("login", username="admin")
    for text in ("' OR 1=1 --", "%' OR '1'='1", "x'; DROP TABLE audit_log; --", "%", "_"):
        assert audit.events(text=text).height == 0
        assert audit.events(username=text).height == 0
    assert audit.events().height == 1


def test_an_audit_row_is_never_lost_when_the_store_is_busy(app_db, monkeypatch):
    audit.record("login", username="a")
    monkeypatch.setattr(audit, "LOCK_TIMEOUT_S", 0.2)
    pending = audit.pending_path()
    with appstore.transaction() as other:  # another process appending: it holds the chain's head
        other.lock(audit.CHAIN_LOCK)
        started = time.monotonic()
        audit.record("export", username="b", target="排名.xlsx")
        assert time.monotonic() - started < 2  # the app did not wait for it
        assert pending.exists()
    audit.record("logout", username="a")
    assert audit.events()["action"].to_list() == ["logout", "export", "login"]
    assert not pending.exists()
    assert audit.verify_chain() == []


def test_logged_download_records_the_export_when_produced(tmp_path):
    path = tmp_path / "app.sqlite3"
    os.environ[audit.AUDIT_ENV] = str(path)
    try:
        produce = audit.logged(lambda: b"12345", user={"username": "analyst", "role": "analyst"}, target="x.xlsx",
                               detail="县市区排名")
        assert audit.events(path).height == 0  # nothing until the file is asked for
        assert produce() == b"12345"
    finally:
        os.environ[audit.AUDIT_ENV] = str(Path(os.environ.get("TMPDIR", "/tmp")) / "unused-app.sqlite3")
    row = audit.events(path).row(0, named=True)
    assert (row["action"], row["username"], row["target"]) == ("export", "analyst", "x.xlsx")
    assert row["detail"] == "县市区排名；5 字节"


# ------------------------------------------------------------------------------------------ the app's sign-in


@pytest.fixture(autouse=True)
def _no_legacy_pages_mode(no_legacy_pages_mode):
    """AppTest runs start from app.py, as on the server (tests/conftest.py)."""


def _app(monkeypatch, users: Path | None, db: Path | None = None):
    from streamlit.testing.v1 import AppTest

    monkeypatch.chdir(ROOT)
    monkeypatch.setenv(auth.AUTH_ENV, "on")
    if users is not None:
        monkeypatch.setenv(auth.USERS_ENV, str(users))
    # Never the checkout's data/warehouse.duckdb (a stale one from an older version, or none): the test's own
    # warehouse, else a file that does not exist (the pages then say so; sign-in does not need the warehouse).
    monkeypatch.setenv("HOMETOWN_DB", str(db) if db is not None else tempfile.mkdtemp(prefix="no-warehouse-")
                       + "/warehouse.duckdb")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    # AppTest gives the second run of a script without st.navigation another page id than the first, so widget
    # values set after the first run would be dropped; a browser does not do this (tests/browser covers it).
    at.run().run()
    return at


def _login(at, username: str, password: str):
    at.text_input(key="login_username").set_value(username)
    at.text_input(key="login_password").set_value(password)
    at.button(key="FormSubmitter:login_form-登录").click().run()
    return at


def test_app_shows_only_the_login_form_until_signed_in(users, monkeypatch, demo_db):
    at = _app(monkeypatch, users, demo_db)
    assert not at.exception
    assert [t.label for t in at.text_input] == ["用户名", "密码"]
    assert "scope" not in at.session_state and "role" not in at.session_state
    _login(at, "mile", "wrong-password")
    assert any("用户名或密码错误" in e.value for e in at.error)
    assert "role" not in at.session_state
    _login(at, "mile", "mile@demo")
    assert not at.exception, at.exception
    assert at.session_state["role"] == "county"
    assert at.session_state["scope"] == Scope(county_code="532504")
    assert any("弥勒市专班" in m.value for m in at.sidebar.markdown)
    actions = audit.events()["action"].to_list()
    assert actions[0] == "login" and "login_failed" in actions


def test_app_signs_out_after_the_idle_time_and_on_logout(users, monkeypatch):
    at = _app(monkeypatch, users)
    _login(at, "honghe", "honghe@demo")
    assert at.session_state["role"] == "prefecture"
    at.session_state["last_seen"] = time.time() - 31 * 60  # idle for 31 minutes (default timeout 30)
    at.run()
    assert "role" not in at.session_state and "scope" not in at.session_state
    assert any("未操作，已自动退出" in i.value for i in at.info)
    assert [t.label for t in at.text_input] == ["用户名", "密码"]
    _login(at, "honghe", "honghe@demo")
    assert at.session_state["role"] == "prefecture"
    at.sidebar.button(key="auth_logout").click().run()
    assert "role" not in at.session_state
    assert any("已安全退出" in i.value for i in at.info)
    assert audit.events()["action"].to_list()[:3] == ["logout", "login", "timeout"]


def test_a_changed_users_file_takes_effect_at_the_next_click(users, monkeypatch):
    at = _app(monkeypatch, users)
    _login(at, "analyst", "analyst@demo")
    assert at.session_state["role"] == "analyst"
    auth.set_disabled("analyst", True)
    at.run()
    assert "role" not in at.session_state
    assert any("已停用" in i.value for i in at.info)


def test_a_damaged_users_file_locks_everyone_out(tmp_path, monkeypatch):
    path = tmp_path / "users.toml"
    path.write_text("[[user]]\nusername = 'x'\nrole = 'boss'\n", encoding="utf-8")
    at = _app(monkeypatch, path)
    assert any("用户配置有误" in e.value for e in at.error)
    assert not at.text_input and "role" not in at.session_state


@pytest.mark.parametrize("kind", ["missing", "folder", "broken link", "not utf-8", "bad toml"])
def test_the_app_fails_closed_when_its_users_file_goes(tmp_path, monkeypatch, kind, demo_db):
    """A configured deployment (HOMETOWN_AUTH not off) whose users file is removed, replaced by a folder or a
    broken link, or damaged: nobody gets in, not even to the form; a Chinese reason, no traceback, no path."""
    path = tmp_path / "users.toml"
    auth.create_demo_users(path, rounds=FAST)
    _damage(kind, path)
    monkeypatch.delenv(auth.AUTH_ENV, raising=False)
    at = _app(monkeypatch, path, demo_db)
    monkeypatch.delenv(auth.AUTH_ENV, raising=False)  # _app sets it "on": unset is the same
    at.run()
    assert not at.exception, at.exception
    from apptests import shown

    errors = [shown(e.value) for e in at.error]
    assert any("用户配置有误，暂时无法登录" in e and DAMAGES[kind] in e for e in errors), errors
    assert not any(str(tmp_path) in e for e in errors)
    from apptests import kpis

    assert not at.text_input and not kpis(at) and not at.dataframe and "role" not in at.session_state
    assert auth.OFF_VALUES  # only HOMETOWN_AUTH=off opens the app:
    monkeypatch.setenv(auth.AUTH_ENV, "off")
    at.run()
    assert not at.error and kpis(at)  # the overview, open


def test_the_open_app_says_so_on_every_page(monkeypatch, demo_db):
    from streamlit.testing.v1 import AppTest

    monkeypatch.chdir(ROOT)
    monkeypatch.setenv(auth.AUTH_ENV, "off")
    monkeypatch.setenv("HOMETOWN_DB", str(demo_db))
    for path in ("overview", "region", "map", "dispatch", "rankings", "upload", "reports", "audit"):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
        at.switch_page(f"pages/{path}.py").run()
        assert not at.exception, (path, at.exception)
        notices = [h.proto.body for h in at.get("html") if "ht-open-notice" in h.proto.body]
        assert notices and "未启用登录（HOMETOWN_AUTH=off）" in notices[0], path


# ------------------------------------------------------------------------------------------------ the audit page


def _audit_page(monkeypatch, role: str | None, user: dict | None = None):
    """The audit page through app.py (the open app: the role and user are the session's, as a sign-in sets them)."""
    from apptests import app_page

    monkeypatch.chdir(ROOT)
    at = app_page("pages/audit.py", timeout=90)
    if role:
        at.session_state["role"] = role
    if user:
        at.session_state["user"] = user
    at.run()
    return at


def test_audit_page_lists_filters_and_is_for_admins_only(tmp_path, monkeypatch):
    monkeypatch.setenv(audit.AUDIT_ENV, str(tmp_path / "app.sqlite3"))
    audit.record("login", username="honghe", display_name="红河州项目组", role="prefecture")
    audit.record("upload", username="honghe", role="prefecture", target="红河州_20220331.xlsx", detail="已接收")
    audit.record("login_failed", username="mile", outcome="failed")
    for role in ("leader", "prefecture", "county", "analyst"):
        at = _audit_page(monkeypatch, role)
        assert any("仅管理员" in e.value for e in at.error) and not at.dataframe, role
    at = _audit_page(monkeypatch, "admin", {"username": "admin", "display_name": "系统管理员", "role": "admin"})
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert table["操作"].to_list() == ["登录失败", "上传报表", "登录成功"]
    assert any("链式校验值一致" in c.value for c in at.caption)
    at.selectbox(key="au_action").set_value("upload").run()
    assert at.dataframe[0].value["对象"].to_list() == ["红河州_20220331.xlsx"]
    at.selectbox(key="au_action").set_value("").run()
    at.text_input(key="au_text").set_value("' OR 1=1 --").run()
    assert not at.exception and not at.dataframe and any("没有审计记录" in i.value for i in at.info)
    assert audit.events().height == 3


def test_sql_or_odd_text_as_a_username_is_just_a_wrong_username(users):
    for name in ("' OR 1=1 --", "admin'--", "admin\x00", "ＡＤＭＩＮ", "a" * 500, ""):
        with pytest.raises(auth.LoginFailed):
            auth.verify(name, "admin@demo")
    assert auth.verify("admin", "admin@demo").role == auth.ADMIN


def test_an_unknown_username_costs_as_much_as_a_wrong_password(users):
    _, loaded = auth.load(users)
    assert auth._dummy_hash(loaded).startswith(f"$2b${FAST:02d}$")


def test_the_form_answers_a_disabled_account_as_a_wrong_password(users, monkeypatch):
    auth.set_disabled("analyst", True)
    at = _app(monkeypatch, users)
    _login(at, "analyst", "analyst@demo")  # the right password of a disabled account
    right = [e.value for e in at.error]
    _login(at, "honghe", "wrong-password")
    wrong = [e.value for e in at.error]
    assert right == ["用户名或密码错误（再失败 4 次将锁定 15 分钟）"] == wrong
    assert "role" not in at.session_state
    rows = audit.events(action="login_failed")
    reasons = dict(zip(rows["username"], rows["detail"]))
    assert reasons["analyst"].startswith("账号已停用（密码正确）") and reasons["honghe"].startswith("密码错误")
