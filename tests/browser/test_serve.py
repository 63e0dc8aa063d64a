"""The server entry serve.py (``make run``) in a real browser: Streamlit's metrics are not served, every answer
forbids framing and loading from other hosts, the pages still work under that policy, and an exported file's
address gives nothing shortly after the download (serve.MEDIA_GRACE_S). A server on app.py alone is the control
for the first and the last: the checks fail there.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request

import polars as pl

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with OPENER.open(url, timeout=10) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, b""


def test_metrics_are_not_served_and_framing_is_refused(demo_db, streamlit_server):
    base = streamlit_server(demo_db, script="serve.py", env={"HOMETOWN_AUTH": "off"})
    status, headers, _ = _get(base + "/_stcore/metrics")
    assert status == 404
    assert _get(base + "/_stcore/health")[0] == 200
    for path in ("/", "/region", "/_stcore/health", "/_stcore/host-config"):
        status, headers, _ = _get(base + path)
        assert headers.get("x-frame-options") == "DENY", path
        assert "frame-ancestors 'none'" in headers.get("content-security-policy", ""), path
        assert "img-src 'self' data: blob:" in headers["content-security-policy"]
        assert headers.get("x-content-type-options") == "nosniff" and headers.get("referrer-policy") == "no-referrer"
    # Control: Streamlit alone answers the metrics to anyone.
    plain = streamlit_server(demo_db, env={"HOMETOWN_AUTH": "off"})
    assert _get(plain + "/_stcore/metrics")[0] == 200


def test_pages_work_under_the_content_security_policy(demo_db, streamlit_server, page, wait_for_streamlit,
                                                      external_requests):
    base = streamlit_server(demo_db, script="serve.py", env={"HOMETOWN_AUTH": "off"})
    page.goto(base + "/")
    wait_for_streamlit(page)
    page.wait_for_selector("[data-testid='stDeckGlJsonChart'] canvas", timeout=30_000)  # deck.gl (workers, WebGL)
    page.goto(base + "/village?code=532504102201")
    wait_for_streamlit(page)
    page.goto(base + "/dispatch")
    wait_for_streamlit(page)
    page.goto(base + "/rankings")
    wait_for_streamlit(page)
    blocked = [e for e in page.console_errors if "Content Security Policy" in e or "Refused to" in e]
    assert blocked == []
    assert page.get_by_test_id("stException").count() == 0
    assert external_requests(page) == []


def _download_twice(page, base: str, wait_for_streamlit) -> tuple[bytes, str, bytes]:
    page.goto(base + "/rankings?level=prefecture")
    wait_for_streamlit(page)
    with page.expect_download() as info:
        page.get_by_role("button", name="下载CSV").click()
    first = info.value
    data = open(first.path(), "rb").read()
    with page.expect_download() as info:  # the button builds the file again
        page.get_by_role("button", name="下载CSV").click()
    again = open(info.value.path(), "rb").read()
    return data, first.url, again


def _gone_within(url: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _get(url)[0] == 404:
            return True
        time.sleep(1)
    return False


def test_an_exported_files_address_soon_gives_nothing(demo_db, streamlit_server, page, wait_for_streamlit):
    # serve.py's grace (read, not imported: importing it would build its st.App in the test process)
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "serve.py").read_text(encoding="utf-8")
    MEDIA_GRACE_S = float(re.search(r"^MEDIA_GRACE_S = ([0-9.]+)", text, re.M).group(1))
    base = streamlit_server(demo_db, script="serve.py", env={"HOMETOWN_AUTH": "off"})
    data, url, again = _download_twice(page, base, wait_for_streamlit)
    assert "/media/" in url and data.startswith(b"\xef\xbb\xbf") and again == data  # the app's export: BOM
    assert pl.read_csv(data).height == 16
    assert _get(url)[1].get("cache-control") in ("no-store", None)
    assert _gone_within(url, MEDIA_GRACE_S + 20)  # the address alone no longer gives the file
    # Control: Streamlit alone keeps serving it to anyone with the address (no script run in between).
    plain = streamlit_server(demo_db, env={"HOMETOWN_AUTH": "off"})
    _, plain_url, _ = _download_twice(page, plain, wait_for_streamlit)
    assert not _gone_within(plain_url, MEDIA_GRACE_S + 5)
