"""The KPI tiles' markup (ui.tiles): every tile of a totals row drawn with its label, value and note, the help
marks only off the big screen, text escaped, and the figures read back as drawn."""

from __future__ import annotations

from datetime import date

from hometown import fmt
from ui import tiles

ROW = {"task_villages": 12034, "prefectures_reported": 16, "planning_groups": 12034, "group_rate": 1.0,
       "group_members": 121791, "local_talents": 30161, "civil_servants": 42869, "civil_servants_per_group": 3.56,
       "cadre_visits": 378641, "visits_per_village": 31.46, "needs_total": 111549, "needs_adopted": 83886,
       "adoption_rate": 0.752, "villager_participation": 5757000, "participation_per_village": 478.4,
       "plans_completed": 11639, "completion_rate": 0.967, "plans_in_database": 11141, "database_rate": 0.926,
       "funding_wan": 4716200.0, "funding_per_village": 391.9, "as_of_min": date(2023, 12, 1)}


def test_every_tile_is_drawn_and_read_back_as_formatted():
    markup = tiles.kpi_html(ROW)
    got = tiles.values(markup)
    assert list(got) == [t.label for t in tiles.KPI_TILES]
    for tile in tiles.KPI_TILES:
        assert got[tile.label] == (tile.value(ROW), tile.note(ROW))
    assert got["任务村"] == (fmt.count(12034, "个"), "16 个州市已报送")
    assert got["项目资金"][0] == fmt.money_wan(4716200.0)
    assert markup.count('class="ht-kpi"') == len(tiles.KPI_TILES)


def test_help_marks_on_the_pages_not_on_the_big_screen():
    with_help = [t for t in tiles.KPI_TILES if t.help]
    assert with_help
    assert tiles.kpi_html(ROW).count("ht-kpi-help") == len(with_help)
    assert "ht-kpi-help" not in tiles.kpi_html(ROW, big=True)
    assert f'title="{with_help[0].help}"' in tiles.kpi_html(ROW)


def test_columns_and_escaping():
    odd = tiles.Tile('标签<b>"&', lambda r: "1 <个>", lambda r: 'a "b" & c')
    markup = tiles.kpi_html({}, columns=3, tiles=(odd,))
    assert "--ht-kpi-columns: 3" in markup
    assert "<b>" not in markup and "<个>" not in markup
    assert tiles.values(markup) == {'标签<b>"&': ("1 <个>", 'a "b" & c')}


def test_a_tile_without_a_note_and_markup_without_tiles():
    bare = tiles.Tile("x", lambda r: "1")
    assert tiles.values(tiles.kpi_html({}, tiles=(bare,))) == {"x": ("1", None)}
    assert tiles.values("<p>nothing here</p>") == {}
