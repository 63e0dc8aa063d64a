"""The dispatch page end to end in headless Chromium: from the alert board issue an order for a lagging county,
move it through 签收 → 开始整改 → 核验办结, and find it 已办结 in the orders list (on screen and in the Excel
export). Saves artifacts/dispatch-board.png and artifacts/dispatch-order.png.

The warehouse: 弥勒市 reporting the same figures three quarters running (a red 县进度滞后 alert) and 玉溪市 late,
loaded through the pipeline from real report files (helpers of tests/test_alerts.py).
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import polars as pl
import pytest
import python_calamine
from playwright.sync_api import expect

from hometown.access import audit
from hometown.dispatch import orders
from warehouse import db as hdb
from warehouse.scope import Scope
from test_alerts import MILE, honghe, ingest_ok, yuxi

ALERT_KEY = f"county_behind:{MILE}:2021"


@pytest.fixture(scope="module")
def dispatch_db(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("dispatch_browser")
    db = folder / "warehouse.duckdb"
    ingest_ok(db, yuxi(folder, date(2021, 3, 31)),
              *(honghe(folder, d) for d in (date(2021, 6, 30), date(2021, 9, 30), date(2021, 12, 31))))
    return db


def _key(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in text)


def test_issue_order_from_board_and_close_it(dispatch_db, tmp_path, streamlit_server, page, wait_for_streamlit,
                                             external_requests, screenshot, monkeypatch):
    audit_file = tmp_path / "app.sqlite3"  # the server's app store (orders and audit), read here too
    monkeypatch.setenv("HOMETOWN_APP_DB", str(audit_file))
    url = streamlit_server(dispatch_db, env={"HOMETOWN_APP_DB": str(audit_file)})
    page.goto(f"{url}/dispatch")
    wait_for_streamlit(page)
    assert page.get_by_test_id("stException").count() == 0
    expect(page.get_by_text("红色预警（")).to_be_visible()

    row = page.locator(f".st-key-alert_{_key(ALERT_KEY)}")
    expect(row).to_contain_text("弥勒市")
    expect(row).to_contain_text("落后 50.0 个百分点")
    screenshot(page, "dispatch-board")
    row.get_by_role("button", name="下发督办").click()

    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("下发督办单")
    expect(dialog.get_by_label("责任单位")).to_have_value("弥勒市干部规划家乡行动工作专班")
    dialog.get_by_label("下发人（单位/姓名）").fill("红河州项目组王五")
    dialog.get_by_role("button", name="确认下发").click()
    wait_for_streamlit(page)
    expect(page.get_by_role("dialog")).to_have_count(0)

    # The new order opens in the orders view.
    detail = page.locator(".st-key-dp_detail")
    expect(detail).to_contain_text("县进度滞后（红色预警）")
    expect(detail).to_contain_text("已下发")
    assert "view=%E7%9D%A3%E5%8A%9E%E5%8D%95" in page.url and "order=" in page.url  # ?view=督办单&order=ID
    for action, state in (("签收", orders.SIGNED), ("开始整改", orders.RECTIFYING), ("核验办结", orders.CLOSED)):
        detail.get_by_label("经办人（单位/姓名）").fill(f"经办人-{action}")
        detail.get_by_role("button", name=action, exact=True).click()
        wait_for_streamlit(page)
        expect(detail.get_by_text(state, exact=True).first).to_be_visible()
    expect(detail.get_by_role("button", name="核验办结")).to_have_count(0)  # closed: no further step
    screenshot(page, "dispatch-order")

    # In the list: the selector and the counts on screen, and the exported Excel.
    (order_id,) = orders.orders(Scope(), db_path=dispatch_db)["order_id"].to_list()
    hdb.close_all()
    expect(page.get_by_test_id("stMetric").filter(has_text="已办结")).to_contain_text("1")
    expect(page.get_by_test_id("stSelectbox").filter(has_text="查看督办单").get_by_role("combobox")).to_have_value(
        f"督〔{date.today().year}〕{order_id}号 · 红河哈尼族彝族自治州弥勒市 · 县进度滞后（红色预警）")
    with page.expect_download() as info:
        page.get_by_role("button", name="导出Excel").click()
    wb = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(Path(info.value.path()).read_bytes()))
    sheet = wb.get_sheet_by_name("督办单").to_python()
    header, body = sheet[2], [dict(zip(sheet[2], r)) for r in sheet[3:]]
    assert len(body) == 1 and body[0]["状态"] == orders.CLOSED and "弥勒市" in body[0]["督办对象"]
    assert header[0] == "编号" and body[0]["编号"].endswith(f"{order_id}号") and body[0]["下发人"] == "红河州项目组王五"

    # Every step is in the order's history, with who did it.
    history = orders.events(order_id, db_path=dispatch_db)
    hdb.close_all()
    assert history["action"].to_list() == ["下发", "签收", "开始整改", "核验办结"]
    assert history["actor"].to_list() == ["红河州项目组王五", "经办人-签收", "经办人-开始整改", "经办人-核验办结"]

    # And in the audit trail: the issue, the three steps and the export.
    trail = audit.events(audit_file).sort("event_id")
    assert trail.filter(pl.col("action") == "order")["detail"].str.slice(0, 2).to_list() == ["下发", "签收", "开始",
                                                                                           "核验"]
    assert trail.filter(pl.col("action") == "export")["target"].to_list() == [orders.orders_file_name()]

    # Back on the board: the reports still raise the alert, so it may be issued again (not as a first order).
    page.get_by_role("radio", name="预警看板").or_(page.get_by_role("button", name="预警看板")).first.click()
    wait_for_streamlit(page)
    row = page.locator(f".st-key-alert_{_key(ALERT_KEY)}")
    expect(row.get_by_role("button", name="再次督办")).to_have_count(1)
    expect(row.get_by_role("button", name="下发督办")).to_have_count(0)
    assert external_requests(page) == []
    # Streamlit's frontend probes /<page>/_stcore/… on a deep link before the root path: a 404 there is harmless.
    assert [e for e in page.console_errors if "/_stcore/" not in e] == []
