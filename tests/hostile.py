"""A report written to turn its text against the app's readers (issue 20): a village named like a Markdown link,
notes with a Markdown image, HTML, bare addresses and Markdown/LaTeX/Streamlit syntax, and a supervision order about
it. Loaded through the real pipeline; shared by tests/test_fail_closed.py and tests/browser/test_fail_closed_browser.py.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from hometown.dispatch import orders
from reportfiles import simple_report, three_villages, village, write_report

HOST = "203.0.113.7"  # TEST-NET-3: an address off the intranet that must never be asked for
LINK_NAME = f"[请点此核验](http://{HOST}/x)"
NOTE = (f"![图](http://{HOST}/p.png) <img src=http://{HOST}/q.png> 详见 www.example.com 或 a@example.com\n"
        "# 第二行 *强调* `代码` $x^2$ :red[红色]")


def hostile_report(folder: Path) -> Path:
    """A 红河州 report whose first village is named like a link and carries Markdown and HTML in its notes (and
    no civil servant, so an alert names it)."""
    rows = three_villages()
    rows[0] = village(township="西三镇", village=LINK_NAME, civil=0, notes=NOTE)
    return write_report(folder / "红河州_20220331.xlsx", simple_report(rows))


def build_hostile_warehouse(folder: Path) -> tuple[Path, str, int]:
    """(warehouse, the hostile village's key, an order about it) built through the real pipeline."""
    from pipelines.ingest import ingest

    wh = folder / "warehouse.duckdb"
    (result,) = ingest([hostile_report(folder)], wh)
    assert result.status == "accepted", result.errors
    import duckdb

    con = duckdb.connect(str(wh), read_only=True)
    key = con.execute("SELECT village_key FROM village_status WHERE village = ?", [LINK_NAME]).fetchall()[0][0]
    con.close()
    target = orders.Target("532500", "532504", village_key=key, name=LINK_NAME)
    order_id = orders.create_order(target, title=f"{LINK_NAME}整改", items=[NOTE.splitlines()[0]],
                                   responsible_unit=f"{LINK_NAME}专班", deadline=date.today() + timedelta(days=10),
                                   created_by="[省项目组](http://203.0.113.7/who)", db_path=wh)
    return wh, key, order_id
