"""调度简报 end to end in headless Chromium: open /briefs for 红河州, read the preview, issue 第1期, download the
issued PDF and Word files, and check the PDF's text: the figures of the preview, no replacement boxes, every
character in the embedded CJK font. Saves artifacts/briefs.png."""

from __future__ import annotations

import io
import re
import subprocess

import pytest
from docx import Document as read_docx
from playwright.sync_api import expect

from hometown import fonts
from hometown.briefs import model as brief_model, store
from warehouse import db as hdb

HONGHE = "532500"


def test_briefs_preview_issue_download(streamlit_server, browser, page, demo_db, tmp_path, wait_for_streamlit,
                                       external_requests, screenshot):
    briefs_file = tmp_path / "app.sqlite3"
    url = streamlit_server(demo_db, env={store.ENV_VAR: str(briefs_file)})
    page.goto(f"{url}/briefs?code={HONGHE}")
    wait_for_streamlit(page, 90_000)
    assert page.get_by_test_id("stException").count() == 0
    preview = page.locator(".st-key-br_preview")
    expect(preview).to_contain_text("一、总体进展", timeout=60_000)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(hdb.ENV_VAR, str(demo_db))
        m = brief_model.build(HONGHE)
        hdb.close_all()
    h = m["headline"]
    first = f"全州{h['task_villages']:,}个任务村中已有{h['plans_completed']:,}个完成规划成果"
    expect(preview).to_contain_text(first)
    screenshot(page, "briefs")

    page.get_by_role("button", name="印发第1期").click()
    wait_for_streamlit(page, 90_000)
    expect(page.get_by_text("已印发：红河州干部规划家乡行动调度简报 第1期")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("已印发简报（1）")).to_be_visible()

    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name="下载PDF").click()
    pdf = info.value.path().read_bytes()
    assert info.value.suggested_filename.endswith(".pdf") and pdf.startswith(b"%PDF")
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name="下载Word").click()
    docx = info.value.path().read_bytes()
    assert docx == store.document(HONGHE, 1, "docx", path=briefs_file)
    assert pdf == store.document(HONGHE, 1, "pdf", path=briefs_file)
    assert first in "\n".join(p.text for p in read_docx(io.BytesIO(docx)).paragraphs)

    run = subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, timeout=60)
    text = run.stdout.decode("utf-8")
    assert first in re.sub(r"\s+", "", text)
    assert "第1期" in text
    assert "\ufffd" not in text and "□" not in text
    body, head = fonts.faces()
    assert fonts.missing_glyphs(text, body) == set() and fonts.missing_glyphs(text, head) == set()
    assert external_requests(page) == []
