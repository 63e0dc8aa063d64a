"""Issue 20, what a report or a broken file must never do to the app's readers (AppTest and the command line):

- report text (village names, notes, reasons) is shown as text: no Markdown link or image, no HTML, no bare address
  that Streamlit would link (ui/text.py);
- a damaged warehouse (zero bytes, truncated) gives a Chinese message on every page, never a traceback or a server
  path, and the command line prints one line and exits 2 (1 means "a file was refused");
- every fragment and dialog body goes through ui.guard.checked (the sign-in check of a fragment's own rerun).

The fail-closed sign-in is tested in tests/test_auth.py, the browser's side in tests/browser/test_fail_closed.py.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from apptests import kpis, shown
from hostile import HOST, LINK_NAME, NOTE, build_hostile_warehouse, hostile_report
from warehouse import db

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    wh, key, order_id = build_hostile_warehouse(tmp_path_factory.mktemp("hostile"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(db.ENV_VAR, str(wh))
        mp.setenv("HOMETOWN_AUTH", "off")
        yield wh, key, order_id
    db.close_all()


@pytest.fixture(autouse=True)
def _no_legacy_pages_mode(no_legacy_pages_mode):
    """AppTest runs start from app.py, as on the server (tests/conftest.py)."""


def run_app(page: str | None = None, state: dict | None = None, **params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    if page:
        at.switch_page(page)
    for k, v in params.items():
        at.query_params[k] = v
    for k, v in (state or {}).items():  # a URL-bound widget's value: AppTest takes it as widget state
        at.session_state[k] = v
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def markdown_sources(at: AppTest) -> list[str]:
    """Every string of the page that Streamlit renders as Markdown: texts, captions, titles, alerts, toasts,
    labels and tooltips of buttons, links, metrics and expanders."""
    out = []
    for kind in ("markdown", "caption", "title", "header", "subheader", "error", "warning", "info", "success", "toast"):
        out += [e.value for e in at.get(kind)]
    for kind in ("button", "page_link", "metric", "expander", "selectbox", "text_input", "checkbox"):
        for e in at.get(kind):
            for attr in ("label", "help") + (("value", "delta") if kind == "metric" else ()):
                value = getattr(e, attr, None) or getattr(getattr(e, "proto", None), attr, None)
                if isinstance(value, str):
                    out.append(value)
    return out


# A Markdown source shows a link, an image, HTML or an address Streamlit's GFM would link, when it holds:
UNSAFE = [re.compile(p) for p in (r"(?<!\\)\]\((?!\))", r"(?<!\\)!\[", r"(?<!\\)<(img|a|script)\b", r"https?://",
                                   r"(?i)\bwww\.", r"\w@\w")]


def unsafe(sources: list[str]) -> list[str]:
    return [s for s in sources if any(p.search(s) for p in UNSAFE)]


# ---------------------------------------------------------------------------------------------- the helper itself


def test_md_shows_every_character_and_links_nothing():
    from ui.text import JOINER, markup, md

    escaped = md(LINK_NAME)
    assert not unsafe([escaped]) and shown(escaped) == LINK_NAME
    note = md(NOTE, multiline=True)
    assert not unsafe([note]) and "  \n" in note and shown(note).replace("  \n", "\n") == NOTE
    assert md("弥勒市 西三镇") == "弥勒市 西三镇" and md(None) == ""  # plain Chinese text is untouched
    assert JOINER in md("http://x.cn") and JOINER in md("WWW.x.cn") and JOINER in md("a@b.cn")
    html = markup(f"<img src=http://{HOST}/q.png>\n\n{LINK_NAME}")
    assert "<img" not in html and "\n" not in html and "&lt;img" in html and "http://" not in html


# ------------------------------------------------------------------------------------------- report text as text


def test_report_text_is_shown_as_text_on_the_village_page(hostile):
    wh, key, _ = hostile
    at = run_app("pages/village.py", code=key)
    sources = markdown_sources(at)
    assert sources and not unsafe(sources), unsafe(sources)
    assert shown(at.title[0].value) == LINK_NAME
    notes = [s for s in at.markdown if HOST in shown(s.value)]
    assert notes and shown(notes[0].value).replace("  \n", "\n") == NOTE  # every character, as text
    crumbs = [p.label for p in at.get("page_link")]
    assert any(shown(label) == LINK_NAME for label in crumbs), crumbs


@pytest.mark.parametrize(("page", "params"), [
    ("pages/overview.py", {}),
    ("pages/region.py", {"code": "532504"}),
    ("pages/dispatch.py", {}),
    ("pages/dispatch.py", {"view": "orders"}),
    ("pages/reports.py", {}),
    ("pages/rankings.py", {"level": "village"}),
])
def test_report_text_is_shown_as_text_on_every_page(hostile, page, params):
    at = run_app(page, state={"view": params.pop("view")} if "view" in params else None, **params)
    sources = markdown_sources(at)
    assert not unsafe(sources), unsafe(sources)
    if at.session_state["view"] == "orders" if "view" in at.session_state else False:  # the order about the village: its title, unit, author and items
        text = shown("\n".join(sources))
        assert f"{LINK_NAME}整改" in text and f"{LINK_NAME}专班" in text and "[省项目组](http://203.0.113.7/who)" in text


def test_an_alert_naming_the_village_is_a_plain_button_label(hostile):
    at = run_app()
    labels = [b.label for b in at.button if b.key.startswith("ov_alerts_")]
    named = [label for label in labels if "请点此核验" in label]
    assert named, labels  # the village without a civil servant is among the alerts
    assert not unsafe(named) and LINK_NAME in shown(named[0])


def test_a_code_from_the_address_bar_is_text_too(hostile):
    at = run_app("pages/region.py", code="[点此](http://203.0.113.7/)")
    assert not unsafe(markdown_sources(at))
    assert any("未知的区划代码：[点此](http://203.0.113.7/)" in shown(e.value) for e in at.error)


# --------------------------------------------------------------------------------------------- damaged warehouse


def damaged_copy(source: Path, folder: Path, kind: str) -> Path:
    target = folder / "warehouse.duckdb"
    data = source.read_bytes()
    target.write_bytes(b"" if kind == "zero" else data[: len(data) // 2])
    return target


PAGES = ["pages/overview.py", "pages/region.py", "pages/village.py", "pages/map.py", "pages/dispatch.py",
         "pages/rankings.py", "pages/upload.py", "pages/reports.py", "pages/audit.py"]


@pytest.mark.parametrize("kind", ["zero", "truncated"])
def test_a_damaged_warehouse_gives_a_chinese_message_on_every_page(demo_db, tmp_path, monkeypatch, kind):
    wh = damaged_copy(demo_db, tmp_path, kind)
    monkeypatch.setenv(db.ENV_VAR, str(wh))
    monkeypatch.setenv("HOMETOWN_AUTH", "off")
    for page in PAGES:
        at = AppTest.from_file(APP, default_timeout=120)
        at.switch_page(page)
        if page == "pages/village.py":
            at.query_params["code"] = "532504102201"
        if page == "pages/overview.py":
            at.query_params["screen"] = "big" if kind == "zero" else "normal"
        at.run()
        assert not at.exception, (page, [e.message for e in at.exception])
        everything = markdown_sources(at) + [h.proto.body for h in at.get("html")]
        assert not [t for t in everything if str(tmp_path) in t or "Traceback" in t or "IOException" in t], page
        if page not in ("pages/audit.py",):  # the audit log lives in its own file and still works
            assert any("数据仓库文件 warehouse.duckdb 已损坏" in shown(e.value) for e in at.error), \
                (page, [e.value for e in at.error], [w.value for w in at.warning])
    db.close_all()


def test_the_damage_is_said_once_the_page_finds_it_part_way(demo_db, tmp_path, monkeypatch):
    """A truncated file opens and answers its first queries; the page fails where it first reads a missing block:
    the message is there (ui.guard), and the next run says so at the top, before drawing anything."""
    wh = damaged_copy(demo_db, tmp_path, "truncated")
    monkeypatch.setenv(db.ENV_VAR, str(wh))
    monkeypatch.setenv("HOMETOWN_AUTH", "off")
    at = run_app()
    assert any("已损坏" in shown(e.value) for e in at.error)
    at.run()
    assert not kpis(at) and any("已损坏" in shown(e.value) for e in at.error)
    db.close_all()


@pytest.mark.parametrize("kind", ["zero", "truncated"])
def test_the_command_line_says_one_line_and_exits_2_on_a_damaged_warehouse(demo_db, tmp_path, kind):
    wh = damaged_copy(demo_db, tmp_path, kind)
    before = wh.read_bytes()
    report = hostile_report(tmp_path)
    for args in (["ingest", str(report), "--db", str(wh), "--quiet"],
                 ["export", "rankings", "--out", str(tmp_path / "x.csv"), "--db", str(wh)]):
        done = subprocess.run([sys.executable, "-m", "pipelines", *args], cwd=ROOT, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("错误：数据仓库文件 warehouse.duckdb 已损坏"), lines
        assert str(tmp_path) not in lines[0] and "Traceback" not in done.stderr
    assert wh.read_bytes() == before  # nothing was swapped in
    assert not (tmp_path / "x.csv").exists()


# -------------------------------------------------------------------------------- every fragment checks the user


def test_every_fragment_and_dialog_is_checked():
    """Static check: a fragment's or dialog's own rerun does not run app.py, so each body carries guard.checked
    (the sign-in check and the error message). The idle watch's body is the check itself."""
    problems = []
    for path in sorted([*(ROOT / "pages").glob("*.py"), *(ROOT / "ui").glob("*.py")]):
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if re.search(r"@st\.(fragment|dialog)\b", line):
                following = "\n".join(lines[i + 1:i + 3])
                if "guard.checked" not in following and "@checked" not in following:
                    problems.append(f"{path.name}:{i + 1}")
            elif re.search(r"st\.fragment\((?!recheck)", line) and "guard.checked" not in line:
                problems.append(f"{path.name}:{i + 1}")
    assert not problems, problems


# ------------------------------------------------------------------------------------------ deployment settings


def test_streamlit_settings_hide_errors_and_table_downloads():
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["showErrorDetails"] == "none" and config["client"]["disableDataExport"] is True
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "--client.showErrorDetails none --client.disableDataExport true" in makefile
    assert "streamlit run serve.py" in makefile


def test_the_nginx_template_proxies_the_app_and_repeats_serve_pys_rules():
    """deploy/nginx/hometown.conf (its contents are checked here, and its policy is the one serve.py sends, so the
    two cannot drift apart; tests/test_workers.py runs it in nginx)."""
    conf = (ROOT / "deploy" / "nginx" / "hometown.conf").read_text(encoding="utf-8")
    serve = (ROOT / "serve.py").read_text(encoding="utf-8")
    csp = "".join(re.findall(r'"([^"]*)"', re.search(r"CSP = \((.*?)\)\n", serve, re.S).group(1)))
    assert f'add_header Content-Security-Policy "{csp}" always;' in conf
    assert "server 127.0.0.1:8502 max_fails=1 fail_timeout=10s;" in conf and "proxy_set_header Upgrade $http_upgrade;" in conf
    assert re.search(r"location ~ \^\(/\.\*\)\?/_stcore/metrics\$ \{\s*return 404;", conf)
    assert 'add_header X-Frame-Options "DENY" always;' in conf and "proxy_set_header X-Real-IP $remote_addr;" in conf
    assert conf.count("{") == conf.count("}")


def test_behind_the_proxy_the_client_address_is_the_forwarded_one(monkeypatch):
    """With HOMETOWN_TRUST_PROXY=1 a loopback peer's X-Real-IP is the client (lock-outs per address need it);
    never a header from a browser talking to Streamlit directly."""
    import streamlit as st

    from ui import auth as ui_auth

    class Context:
        def __init__(self, ip, headers):
            self.ip_address, self.headers = ip, headers

    for trust, ip, header, expected in ((None, "127.0.0.1", "10.1.2.3", "127.0.0.1"),
                                        ("1", "127.0.0.1", "10.1.2.3", "10.1.2.3"),
                                        ("1", "10.9.9.9", "10.1.2.3", "10.9.9.9"),
                                        ("1", "127.0.0.1", None, "127.0.0.1")):
        if trust:
            monkeypatch.setenv(ui_auth.TRUST_PROXY_ENV, trust)
        else:
            monkeypatch.delenv(ui_auth.TRUST_PROXY_ENV, raising=False)
        monkeypatch.setattr(st, "context", Context(ip, {"X-Real-IP": header} if header else {}))
        assert ui_auth.client() == expected, (trust, ip, header)
