"""Sign-in, upload and scope in a real browser: a prefecture user signs in, uploads a good and a bad report and sees
both results with the reasons; a county user signs in and fails to open another county.

The server runs with logins on (a users file of demo users written for the test, bcrypt cost 4) and its own audit
file, so the test can also check that the sign-ins and uploads were recorded.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reportfiles import SheetSpec, simple_report, three_villages, village, write_xlsx  # noqa: E402

from hometown.access import audit, auth  # noqa: E402
from pipelines.ingest import ingest  # noqa: E402

GEJIU = "532501"


def _rows(progress: int = 0) -> list[list]:
    rows = three_villages()
    rows.append(village(county="个旧市", township="卡房镇", village="路赶藤村", stage=2, steps=5 + progress,
                        participation=7777))
    return rows


def _server(tmp_path: Path, streamlit_server, **env: str) -> tuple[str, Path]:
    first = write_xlsx(tmp_path / "红河州_20211231.xlsx",
                       [SheetSpec("村庄进度", simple_report(_rows(), as_of="截至2021年12月31日"))])
    db = tmp_path / "warehouse.duckdb"
    assert not ingest([first], db)[0].refused
    users = tmp_path / "users.toml"
    auth.create_demo_users(users, rounds=4)
    audit_file = tmp_path / "app.sqlite3"
    base = streamlit_server(db, env={"HOMETOWN_AUTH": "on", "HOMETOWN_USERS": str(users),
                                     "HOMETOWN_APP_DB": str(audit_file), "HOMETOWN_UPLOADS": str(tmp_path / "uploads"),
                                     **env})
    return base, audit_file


def _sign_in(page, wait_for_streamlit, username: str, password: str) -> None:
    wait_for_streamlit(page)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    wait_for_streamlit(page)
    page.get_by_test_id("stSidebar").get_by_text("退出登录").wait_for(timeout=30_000)


def test_prefecture_user_uploads_a_good_and_a_bad_report(tmp_path, streamlit_server, page, wait_for_streamlit,
                                                         external_requests, screenshot):
    base, audit_file = _server(tmp_path, streamlit_server)
    page.goto(f"{base}/upload")
    wait_for_streamlit(page)
    # Nothing but the login form before signing in: no navigation, no page.
    assert page.get_by_test_id("stSidebarNav").count() == 0
    assert page.get_by_text("报表上传").count() == 0
    page.get_by_label("用户名").fill("honghe")
    page.get_by_label("密码").fill("wrong-password")
    page.get_by_role("button", name="登录").click()
    wait_for_streamlit(page)
    assert "用户名或密码错误" in page.get_by_test_id("stMain").inner_text()

    _sign_in(page, wait_for_streamlit, "honghe", "honghe@demo")
    sidebar = page.get_by_test_id("stSidebar").inner_text()
    assert "红河州项目组" in sidebar and "报表上传" in sidebar and "审计日志" not in sidebar
    page.locator("h1").filter(has_text="报表上传").wait_for()  # the deep link survived the sign-in

    good = write_xlsx(tmp_path / "红河州_20220331.xlsx",
                      [SheetSpec("村庄进度", simple_report(_rows(1), as_of="截至2022年3月31日"))])
    bad_rows = _rows(2)
    bad_rows[0][10] = 99   # 其中公职人员 99 > 编制组人数 9
    bad = write_xlsx(tmp_path / "红河州_20220630.xlsx",
                     [SheetSpec("村庄进度", simple_report(bad_rows, as_of="截至2022年6月30日"))])
    page.get_by_test_id("stFileUploader").locator("input[type=file]").set_input_files([str(good), str(bad)])
    page.get_by_text("红河州_20220630.xlsx").first.wait_for()
    page.get_by_role("button", name="检查并导入").click()
    wait_for_streamlit(page, timeout_ms=60_000)
    lines = page.locator(".st-key-up_lines")
    lines.wait_for(timeout=60_000)
    text = lines.inner_text()
    assert "红河州_20220331.xlsx：已接收" in text and "4 个任务村" in text, text
    assert "红河州_20220630.xlsx：已拒收" in text and "1 条拒收原因" in text, text
    main = page.get_by_test_id("stMain").inner_text()
    assert "1 个文件被拒收" in main
    assert page.get_by_test_id("stDataFrame").count() == 2  # the results table and the reasons table
    screenshot(page, "upload-results")
    assert page.get_by_test_id("stException").count() == 0
    assert external_requests(page) == []

    rows = audit.events(audit_file)
    uploads = rows.filter(rows["action"] == "upload")
    assert sorted(uploads["outcome"].to_list()) == ["ok", "refused"]
    assert set(uploads["username"]) == {"honghe"}
    assert {"login", "login_failed"} <= set(rows["action"])


def test_county_user_cannot_open_another_county(tmp_path, streamlit_server, page, wait_for_streamlit,
                                                external_requests):
    base, audit_file = _server(tmp_path, streamlit_server)
    page.goto(f"{base}/region?code={GEJIU}")
    _sign_in(page, wait_for_streamlit, "mile", "mile@demo")
    sidebar = page.get_by_test_id("stSidebar").inner_text()
    assert "弥勒市专班" in sidebar and "报表上传" not in sidebar and "审计日志" not in sidebar
    main = page.get_by_test_id("stMain")
    main.get_by_text("无权查看").wait_for()
    text = main.inner_text()
    assert "个旧市" in text and "您的账号只能查看本辖区的数据" in text
    assert page.locator(".ht-kpi").count() == 0 and page.get_by_test_id("stDataFrame").count() == 0
    assert "7777" not in text and "路赶藤" not in text
    # Its own county opens.
    page.goto(f"{base}/region?code=532504")
    _sign_in(page, wait_for_streamlit, "mile", "mile@demo")
    page.locator("h1").filter(has_text="弥勒市").wait_for()
    assert "无权查看" not in page.get_by_test_id("stMain").inner_text()
    assert page.get_by_test_id("stException").count() == 0
    # A page the role does not have: a deep link lands on the home page, saying why.
    page.goto(f"{base}/audit")
    _sign_in(page, wait_for_streamlit, "mile", "mile@demo")
    page.get_by_text("无权使用「审计日志」").wait_for()
    assert page.locator("h1").filter(has_text="审计日志").count() == 0
    assert external_requests(page) == []
    assert audit.events(audit_file, action="login", username="mile").height == 3
    denied = audit.events(audit_file, action="denied").sort("event_id")
    assert denied["username"].to_list() == ["mile", "mile"] and denied["target"].to_list() == [GEJIU, "audit"]


def test_an_idle_session_signs_itself_out(tmp_path, streamlit_server, page, wait_for_streamlit):
    base, audit_file = _server(tmp_path, streamlit_server, HOMETOWN_IDLE_MINUTES="0.1")  # 6 seconds
    page.goto(f"{base}/reports")
    _sign_in(page, wait_for_streamlit, "leader", "leader@demo")
    page.locator("h1").filter(has_text="报送记录").wait_for()
    # No click for a while: the page turns into the login form by itself, saying why.
    page.get_by_text("未操作，已自动退出").wait_for(timeout=30_000)
    assert page.get_by_label("密码").count() == 1
    assert page.get_by_test_id("stSidebarNav").count() == 0
    assert audit.events(audit_file, action="timeout")["username"].to_list() == ["leader"]
