"""The /teams page (pages/teams.py) under AppTest, as each role sees it: a county user sees only its county's
people; a deep link to another county's person card is refused (and recorded); ID numbers and phones are masked for
every role but the administrator; the figures are those of the warehouse (hand-counted in test_teams_views.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reportfiles import fetch
from teamfiles import make_id, small_warehouse
from warehouse import db
from warehouse.scope import ALL, Scope

ROOT = Path(__file__).resolve().parent.parent
MILE, GEJIU, HONGHE = "532504", "532501", "532500"
IDS = [make_id(i) for i in range(1, 9)]


@pytest.fixture(autouse=True)
def _no_legacy(no_legacy_pages_mode):
    """Runs start from app.py, as on the server."""


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    base = tmp_path_factory.mktemp("teams_page")
    path = small_warehouse(base / "in", base / "w.duckdb")
    audit = base / "app.sqlite3"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(db.ENV_VAR, str(path))
        mp.setenv("HOMETOWN_APP_DB", str(audit))
        yield path, audit
    db.close_all()


def open_teams(scope: Scope, role: str | None, params: dict | None = None):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["scope"] = scope
    at.session_state["role"] = role
    at.run()
    at.switch_page("pages/teams.py")
    at.query_params.clear()
    for k, v in (params or {}).items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def text_of(at) -> str:
    parts = [str(getattr(e, "value", "")) for kind in ("title", "subheader", "markdown", "caption", "error", "info")
             for e in getattr(at, kind)]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    parts += [d.value.to_string() for d in at.dataframe]
    parts += [b.label for b in at.button]
    return "\n".join(parts)


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def key_of(wh, name: str) -> str:
    return fetch(wh[0], "SELECT person_key FROM team_members WHERE name = ?", [name])[0]["person_key"]


@pytest.mark.parametrize("role, scope, in_post, counties", [
    ("leader", ALL, "7人", {"弥勒市", "个旧市"}),
    ("analyst", ALL, "7人", {"弥勒市", "个旧市"}),
    ("admin", ALL, "7人", {"弥勒市", "个旧市"}),
    ("prefecture", Scope(prefecture_code=HONGHE), "7人", {"弥勒市", "个旧市"}),
    ("county", Scope(county_code=MILE), "6人", {"弥勒市"}),
    ("county", Scope(county_code=GEJIU), "1人", {"个旧市"}),
])
def test_every_role_sees_its_scope_with_the_warehouse_figures(wh, role, scope, in_post, counties):
    at = open_teams(scope, role)
    assert metric(at, "在岗驻村干部") == in_post
    table = next(d.value for d in at.dataframe if "县市区" in d.value.columns and "在岗人数" in d.value.columns)
    assert set(table["县市区"]) == counties
    if scope == ALL:
        assert (metric(at, "其中第一书记"), metric(at, "覆盖村")) == ("2人", "4个")
        assert (metric(at, "力量配备达标率"), metric(at, "本月在村天数达标率"), metric(at, "农户走访覆盖率")) == (
            "50.0%", "50.0%", f"{100 * 200 / 350:.1f}%")
    text = text_of(at)
    if GEJIU not in (scope.county_code or "") and scope.county_code:
        assert "吴十" not in text and "青杉里" not in text


def test_county_user_sees_only_its_people_and_lists(wh):
    at = open_teams(Scope(county_code=GEJIU), "county")
    text = text_of(at)
    assert "吴十" in text and not any(n in text for n in ("张三", "王五", "赵六", "城西社区", "城关社区"))


def test_drill_county_village_person_by_clicks(wh):
    at = open_teams(ALL, "leader")
    at.button(key=f"tm_c_{MILE}").click().run()
    assert at.query_params["county"] == [MILE] or at.query_params["county"] == MILE
    at.button(key="tm_v_532504001001").click().run()
    team = next(d.value for d in at.dataframe if "驻村身份" in d.value.columns and "身份证号" in d.value.columns)
    assert set(team["姓名"]) == {"张三", "李四", "王五"}
    assert all(i.count("*") == 8 for i in team["身份证号"])
    key = key_of(wh, "王五")
    at.button(key=f"tm_p_{key}").click().run()
    assert not at.exception
    text = text_of(at)
    assert "人员卡片：王五" in text and "532501********0035" in text and make_id(3) not in text
    assert any("tm-strip" in m.value for m in at.markdown)
    strip = next(m.value for m in at.markdown if "tm-strip" in m.value)
    assert strip.count('class="tm-cell"') == 24 and "15/20" in strip and "20/20" in strip


def test_admin_sees_numbers_other_roles_masked(wh):
    key = key_of(wh, "张三")
    for role, shown in (("admin", True), ("analyst", False), ("leader", False), ("prefecture", False)):
        scope = Scope(prefecture_code=HONGHE) if role == "prefecture" else ALL
        at = open_teams(scope, role, {"county": MILE, "village": "532504001001", "person": key})
        text = text_of(at)
        assert (IDS[0] in text) is shown and ("13812345678" in text) is shown, role
        assert "532501********0019" in text or shown


def test_deep_link_to_another_countys_person_is_refused_and_recorded(wh):
    from hometown.access import audit

    key = key_of(wh, "张三")                      # 弥勒市
    at = open_teams(Scope(county_code=GEJIU), "county", {"person": key})
    assert any("不在您的权限范围内" in e.value for e in at.error)
    assert "张三" not in text_of(at).replace(at.error[0].value, "")
    events = audit.events(wh[1])
    assert "denied" in events["action"].to_list()
    assert not any(i in str(events.to_dicts()) for i in IDS)
    at = open_teams(Scope(county_code=GEJIU), "county", {"county": MILE})
    assert any("不在您的权限范围内" in e.value for e in at.error) and "张三" not in text_of(at)


def test_lists_short_lacking_and_terms(wh):
    at = open_teams(ALL, "leader")
    lacking = next(d.value for d in at.dataframe if "应配备" in d.value.columns)
    assert set(lacking["行政村"]) == {"城西社区", "城关社区"}
    short = next(d.value for d in at.dataframe if "应在村天数" in d.value.columns)
    assert sorted(zip(short["月份"], short["姓名"])) == [("2022-02", "赵六"), ("2022-03", "吴十"), ("2022-03", "王五"),
                                                       ("2022-03", "赵六")]
    terms = next(d.value for d in at.dataframe if "期满日期" in d.value.columns)
    assert len(terms) == 0   # every term ends 2023-06-01, beyond 90 days of 2022-03-31
