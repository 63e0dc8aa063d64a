"""The 任期承诺 demo (demo/commitments.py): every task village of the demo has a plan of 15–30 items over the five
lists, the workbooks load through the real pipeline, and the trouble placed on purpose raises every rule C1–C6."""

from __future__ import annotations

import duckdb
import pytest

from demo.commitments import write_commitments
from demo.generate import build_plan
from pipelines.ingest import ingest


@pytest.fixture(scope="module")
def demo_commitments(tmp_path_factory):
    root = tmp_path_factory.mktemp("cmdemo")
    files = write_commitments(root / "files")
    results = ingest([root / "files"], root / "w.duckdb")
    assert [r.status for r in results] == ["accepted"] * 16, [r.errors[:3] for r in results if r.refused]
    con = duckdb.connect(str(root / "w.duckdb"), read_only=True)
    yield con, files
    con.close()


def test_every_demo_village_has_a_plan_of_15_to_30_items_over_five_lists(demo_commitments):
    con, files = demo_commitments
    assert len(files) == 16
    villages = sum(len(p.v["village_code"]) for p in build_plan().prefectures.values())
    counts = con.execute("SELECT count(*) AS items, count(DISTINCT list_name) AS lists FROM commitment_items "
                         "GROUP BY village_key").fetchall()
    assert len(counts) == villages
    assert min(c[0] for c in counts) >= 15 and max(c[0] for c in counts) <= 30
    assert {c[1] for c in counts} == {5}
    kinds = {r[0] for r in con.execute("SELECT DISTINCT evaluation_type FROM commitment_progress").fetchall()}
    assert kinds == {"双月自评", "年度考评", "期末验收"}


def test_the_demo_raises_every_commitment_rule(demo_commitments):
    con, _ = demo_commitments
    raised = dict(con.execute("SELECT alert_type, count(*) FROM alerts WHERE alert_type LIKE 'commit_%' "
                              "GROUP BY 1").fetchall())
    assert set(raised) == {"commit_notice_short", "commit_target_low", "commit_overdue", "commit_selfcheck_missing",
                           "commit_review_missing", "commit_lagging"}
    rate = con.execute("SELECT fulfilment_rate, on_time_rate FROM commitment_summary WHERE level = 'province' "
                       "AND list_name IS NULL").fetchone()
    assert 0.5 < rate[1] < rate[0] < 1.0
