"""A damaged .xls that aborts calamine, uploaded through the real page: the server refuses it as damaged, naming the
file, loads the good file beside it, and keeps serving (pipelines/checks.py reads each file in a checker process)."""

from __future__ import annotations

import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reportfiles import simple_report, three_villages, write_crashing_xls, write_report  # noqa: E402


def _healthy(base: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"{base}/_stcore/health", timeout=10) as resp:
        return resp.read().strip() == b"ok"


def test_a_damaged_upload_is_refused_and_the_server_lives_on(tmp_path, streamlit_server, page, wait_for_streamlit):
    base = streamlit_server(tmp_path / "warehouse.duckdb",
                            env={"HOMETOWN_AUTH": "off", "HOMETOWN_UPLOADS": str(tmp_path / "uploads"),
                                 "RUST_BACKTRACE": "0"})
    damaged = write_crashing_xls(tmp_path / "红河州_20220228.xls", simple_report(three_villages()))
    good = write_report(tmp_path / "红河州_20220331.xlsx", simple_report(three_villages()))
    page.goto(f"{base}/upload")
    wait_for_streamlit(page)
    page.get_by_test_id("stFileUploader").locator("input[type=file]").set_input_files([str(damaged), str(good)])
    page.get_by_text(good.name).first.wait_for()
    page.get_by_role("button", name="检查并导入").click()
    wait_for_streamlit(page, timeout_ms=120_000)
    lines = page.locator(".st-key-up_lines")
    lines.wait_for(timeout=120_000)
    text = lines.inner_text()
    assert f"{damaged.name}：已拒收" in text and "1 条拒收原因" in text, text
    assert f"{good.name}：已接收" in text and "3 个任务村" in text, text
    assert page.get_by_test_id("stException").count() == 0
    # The same server still answers, and its report log (the first refused file opened) gives the reason.
    assert _healthy(base)
    page.goto(f"{base}/reports")
    wait_for_streamlit(page)
    main = page.get_by_test_id("stMain").inner_text()
    assert f"{damaged.name}：已拒收" in main and f"{damaged.name}: 文件损坏，无法读取" in main, main
    assert page.get_by_test_id("stException").count() == 0
