"""Drawing the progress map: the pydeck spec of a map model (hometown.progress.map_data), its tooltip and legend.

Built to draw fully offline (no basemap, no CDN, fonts from the machine). The model (regions, figures, colours,
village points, the fitted view) is the query layer's; this module only turns it into deck.gl layers and HTML.
"""

from __future__ import annotations

import json
from html import escape

import pydeck as pdk
from pydeck.bindings.json_tools import default_serialize
from pydeck.types import String

from hometown.progress.map_data import LAYER_REGIONS, LAYER_VILLAGES, RGBA, Legend, MapModel, fit_view

FONT_FAMILY = '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif'

# No double-click zoom: with it, deck.gl holds every click back until a double click has been ruled out, and in
# that window a click can be lost (seen in headless Chromium, where a redraw takes longer than the interval). A
# click on the map means "open this region", so a double click has nothing to add; zoom stays on the wheel/buttons.
CONTROLLER = {"doubleClickZoom": False, "dragRotate": False, "touchRotate": False, "keyboard": True}


class OfflineDeck(pdk.Deck):
    """A pydeck Deck whose JSON is compact UTF-8 (pydeck indents and escapes: the county map would triple)."""

    def to_json(self) -> str:
        return json.dumps(self, sort_keys=True, default=default_serialize, separators=(",", ":"), ensure_ascii=False)


class PrebuiltDeck:
    """A deck spec serialised once (ui.map_panel caches the JSON per warehouse version, scope and view): what
    st.pydeck_chart reads of a Deck, its JSON and tooltip, without building and encoding the layers again."""

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self._tooltip = TOOLTIP

    def to_json(self) -> str:
        return self.spec


TOOLTIP = {
    "html": (
        '<div style="font-weight:600;font-size:14px;margin-bottom:2px">{t}</div>'
        "<div>{a}</div><div>{b}</div><div>{c}</div><div>{d}</div><div>{e}</div>"
        '<div style="color:#777;font-size:11px;margin-top:2px">{n}</div>'
    ),
    "style": {"backgroundColor": "rgba(255,255,255,0.96)", "color": "#222", "fontSize": "12px",
              "fontFamily": FONT_FAMILY, "border": "1px solid #bbb", "borderRadius": "4px", "padding": "6px 8px",
              "maxWidth": "360px", "lineHeight": "1.5"},
}


def deck(model: MapModel, width: int = 1200, height: int = 700) -> OfflineDeck:
    """The pydeck spec of a map model: regions, outline, labels, village points; no basemap, nothing to fetch.

    ``map_provider=None`` with pydeck's default map_style makes the spec's mapStyle the "__MAP_STYLE__"
    sentinel, which Streamlit's frontend drops without putting a basemap in. (``map_style=None`` would leave
    mapStyle out, and Streamlit then falls back to a CARTO basemap from the internet.)
    """
    region_layer = pdk.Layer(
        "GeoJsonLayer", id=LAYER_REGIONS[model.level], data=model.features, pickable=True, stroked=True, filled=True,
        get_fill_color="properties.fill", get_line_color=[255, 255, 255, 255],
        line_width_min_pixels=1 if model.level == "county" else 1.5, line_width_units=String("pixels"),
        auto_highlight=True, highlight_color=[255, 255, 255, 90],
        # Borders are not pickable: picking them (thousands of path segments) made each click's synchronous pick
        # ~15× slower, long enough with software WebGL for deck.gl to drop the click (a tap must end in 250 ms).
        _sub_layer_props={"polygons-stroke": {"pickable": False}},
    )
    layers = [region_layer]
    if model.province_outline:
        layers.append(pdk.Layer(
            "GeoJsonLayer", id="outline", data=[model.province_outline], pickable=False, stroked=True, filled=False,
            get_line_color=[60, 60, 60, 255], line_width_min_pixels=2, line_width_units=String("pixels")))
    if model.villages:
        layers.append(pdk.Layer(
            "ScatterplotLayer", id=LAYER_VILLAGES, data=model.villages, pickable=True, get_position="position",
            get_fill_color="colour", get_line_color=[255, 255, 255, 230], stroked=True, line_width_min_pixels=0.5,
            get_radius=3.5, radius_units=String("pixels"), auto_highlight=True))
    if model.labels:
        chars = "".join(sorted({ch for lab in model.labels for ch in lab["text"]}))
        layers.append(pdk.Layer(
            "TextLayer", id="labels", data=model.labels, pickable=False, get_position="position", get_text="text",
            # The font atlas is drawn on a canvas from a local font: only these characters, nothing fetched.
            character_set=String(chars), font_family=String(FONT_FAMILY), font_weight=600,
            get_size=13 if model.level == "county" and len(model.labels) > 20 else 15, size_units=String("pixels"),
            get_color=[25, 25, 25, 255], get_text_anchor=String("middle"), get_alignment_baseline=String("center"),
            # A plain (not SDF) atlas with a pale box behind each name: an SDF outline reads the same, but computing
            # the distance field of every CJK glyph cost seconds of page load on a CPU without a GPU.
            font_settings={"sdf": False, "fontSize": 40, "buffer": 2},
            background=True, get_background_color=[255, 255, 255, 170], background_padding=[3, 1, 3, 1]))
    view = fit_view(model.bounds, width, height)
    return OfflineDeck(
        layers=layers, map_provider=None,
        initial_view_state=pdk.ViewState(**view, pitch=0, bearing=0, min_zoom=4, max_zoom=12),
        views=[pdk.View("MapView", controller=CONTROLLER)], tooltip=TOOLTIP,
    )


def payload_bytes(d: pdk.Deck) -> int:
    """Size of the spec as Streamlit sends it (the deck JSON plus the tooltip template)."""
    return len(d.to_json().encode("utf-8")) + len(json.dumps(TOOLTIP, ensure_ascii=False).encode("utf-8"))



def _css(colour: RGBA) -> str:
    r, g, b, a = colour
    return f"rgba({r},{g},{b},{a / 255:.2f})"


def legend_html(legend: Legend, as_of_text: str = "") -> str:
    """The legend as an HTML block (Streamlit renders it next to the map); text is escaped."""
    def row(colour: RGBA, label: str, round_: bool = False) -> str:
        radius = "50%" if round_ else "2px"
        size = "10px" if round_ else "14px"
        return (f'<div style="display:flex;align-items:center;gap:6px;margin:2px 0">'
                f'<span style="display:inline-block;width:{size};height:{size};border-radius:{radius};'
                f'background:{_css(colour)};border:1px solid rgba(0,0,0,.25)"></span>'
                f'<span>{escape(label)}</span></div>')

    parts = ['<div class="map-legend" style="font-size:13px;line-height:1.4">',
             f'<div style="font-weight:600;margin-bottom:4px">{escape(legend.title)}</div>']
    parts += [row(b.colour, b.label) for b in reversed(legend.bins)]
    parts += [row(c, label) for c, label in legend.greys]
    if legend.stages:
        parts.append('<div style="font-weight:600;margin:8px 0 4px">任务村所处环节</div>')
        parts += [row(c, label, round_=True) for c, label in legend.stages]
    for note in legend.notes:
        parts.append(f'<div style="color:#666;font-size:12px;margin-top:6px">{escape(note)}</div>')
    if as_of_text:
        parts.append(f'<div style="color:#666;font-size:12px;margin-top:6px">{escape(as_of_text)}</div>')
    parts.append("</div>")
    return "".join(parts)
