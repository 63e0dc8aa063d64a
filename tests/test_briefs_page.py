"""AppTest for 调度简报 (/briefs): the preview's text carries the warehouse's figures, issuing gives 第N期 and lists
it, a county user sees only its county and is refused another's by a deep link, a leader cannot issue."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from hometown.briefs import model as brief_model, store
from warehouse import db
from warehouse.scope import Scope

APP = str(Path(__file__).resolve().parent.parent / "app.py")
MILE, LUXI = "532504", "532527"


@pytest.fixture
def env(demo_db, tmp_path, monkeypatch, no_legacy_pages_mode):
    monkeypatch.setenv(db.ENV_VAR, str(demo_db))
    monkeypatch.setenv("HOMETOWN_AUTH", "off")
    monkeypatch.setenv(store.ENV_VAR, str(tmp_path / "app.sqlite3"))
    yield
    db.close_all()


def open_briefs(scope: Scope | None = None, role: str | None = None, **params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.switch_page("pages/briefs.py")
    for k, v in params.items():
        at.query_params[k] = v
    if scope is not None:
        at.session_state["scope"] = scope
    if role is not None:
        at.session_state["role"] = role
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def submit(at: AppTest):
    return next(b for b in at.button if b.label.startswith("印发第"))


def test_preview_then_issue(env):
    at = open_briefs(code="532500", asof="2022-06-30")
    m = brief_model.build("532500", date(2022, 6, 30))
    h = m["headline"]
    assert (f"全州{h['task_villages']:,}个任务村中已有{h['plans_completed']:,}个完成规划成果") in markdown(at)
    assert "征求意见稿（未编号）" in markdown(at)
    button = submit(at)
    assert button.label == "印发第1期" and not button.disabled
    button.click().run()
    assert not at.exception
    assert any("第1期" in s.value for s in at.success)
    issued = store.issued()
    assert issued["number"].to_list() == [1] and str(issued["as_of"][0]) == "2022-06-30"
    at.run()
    assert submit(at).label == "印发第2期"
    assert any("本期已印发为第1期" in w.value for w in at.warning)


def test_county_user_sees_only_its_county_and_a_deep_link_is_refused(env):
    mile = Scope(county_code=MILE)
    at = open_briefs(mile, "county")
    assert [s.value for s in at.selectbox if s.label == "地区"] == [MILE]
    assert "全市" in markdown(at) and not submit(at).disabled
    at = open_briefs(mile, "county", code=LUXI)
    assert any("无权查看" in e.value for e in at.error)
    assert not any(b.label.startswith("印发第") for b in at.button)
    at = open_briefs(mile, "county", code="530000")
    assert any("无权查看" in e.value for e in at.error)


def test_a_leader_reads_but_cannot_issue(env):
    at = open_briefs(Scope(), "leader", code="530000")
    assert submit(at).disabled
    assert "全省" in markdown(at)


def _draft_links(at: AppTest) -> list[tuple[str, str]]:
    """(label, query string) of the drafts list's preview links."""
    return [(e.proto.label, e.proto.query_string) for e in at.get("page_link") if e.proto.label == "预览"]


def test_each_waiting_draft_has_its_preview_link_and_a_dismiss_button(env):
    at = open_briefs(Scope(), "admin")
    waiting = store.drafts(Scope())
    assert waiting.height  # the demo's rounds made drafts by themselves
    shown = waiting.head(20)
    links = _draft_links(at)
    assert len(links) == shown.height
    first = shown.row(0, named=True)
    assert f"code={first['scope_code']}" in links[0][1] and f"asof={first['as_of']}" in links[0][1]
    # The link's page: the preview of that draft.
    preview = open_briefs(Scope(), "admin", code=first["scope_code"], asof=str(first["as_of"]))
    assert any(f"截至{first['as_of'].year}年" in s.value for s in preview.subheader)
    # Dismissing the first draft takes it off the list.
    next(b for b in at.button if b.key == "br_dismiss_0").click().run()
    assert not at.exception
    assert first["scope_code"] not in store.drafts(Scope()).filter(
        store.drafts(Scope())["as_of"] == first["as_of"])["scope_code"].to_list()


def test_a_void_number_is_listed_with_its_reason_beside_the_issued_ones(env):
    """A number taken by an issue whose render failed after a later number was issued stays 作废 in the series; the
    issued list names it with who took it and why, so the gap before the next 第N期 is explained on the page."""
    m = brief_model.build(MILE, None)
    number, token, reserved = store._reserve(m, "甲", False, None)  # the first issue took 第1期 and is rendering …
    assert number == 1
    assert store.issue(m, issued_by="乙", charts={})["number"] == 2  # … a second issue took and issued 第2期 …
    store._give_back(MILE, number, token, RuntimeError("字体文件损坏"), None)  # … then the first failed
    at = open_briefs(Scope(county_code=MILE), "county")
    voids = [c.value for c in at.caption if c.value.startswith("作废期号")]
    assert len(voids) == 1 and "第1期" in voids[0] and "字体文件损坏" in voids[0] and "甲" in voids[0]
    assert "弥勒市" in voids[0]
    # another county's user sees its own (empty) record: no void line of 弥勒市's series
    at = open_briefs(Scope(county_code=LUXI), "county")
    assert not [c.value for c in at.caption if c.value.startswith("作废期号")]
