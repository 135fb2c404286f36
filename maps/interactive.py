"""The interactive map (`map.html`): folium/Leaflet, one switchable group per layer.

The page works opened from disk with no network: Leaflet is inlined from maps/vendor/
(BSD-2-Clause), no tile layer is needed (towns and roads come from the scenario), and an
online OpenStreetMap layer is only added on request.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import folium
import numpy as np
from branca.element import Element, MacroElement
from jinja2 import Template
from matplotlib import colormaps
from matplotlib.colors import to_hex

from lrcplan.maps.layers import Layer
from lrcplan.models.labels import label
from lrcplan.models.plan import Plan
from lrcplan.models.scenario import Scenario

VENDOR = Path(__file__).with_name("vendor")
_JS_URL = "lrcplan-inline:leaflet.js"
_CSS_URL = "lrcplan-inline:leaflet.css"

# Popups carry HTML built (and escaped) by the layer builders.
_POPUP = folium.JsCode("function (feature, layer) {"
                       " if (feature.properties.popup) {"
                       " layer.bindPopup(feature.properties.popup, {maxWidth: 360}); } }")
_POINT = folium.JsCode("function (feature, latlng) {"
                       " return L.circleMarker(latlng, {radius: feature.properties.radius}); }")


def _style(props: dict[str, object]) -> dict[str, object]:
    return {"color": props.get("color", "#333333"),
            "weight": props.get("weight", 1.0),
            "fillColor": props.get("fill_color", props.get("color", "#333333")),
            "fillOpacity": props.get("fill_opacity", 0.0 if props.get("fill_color") is None
                                     else 0.5),
            "opacity": 0.85,
            "radius": props.get("radius", 5)}


def _legend_html(layers: list[Layer], lang: str) -> str:
    rows: list[str] = []
    for lay in layers:
        for e in lay.legend:
            text = html.escape(e.text or label(e.key, lang))
            if e.symbol == "line":
                sym = f'<span class="sym" style="border-top:3px solid {e.color};height:0;' \
                      'margin-top:7px"></span>'
            elif e.symbol == "box":
                sym = f'<span class="sym" style="background:{e.color};opacity:.6;' \
                      f'border:1px solid {e.color}"></span>'
            elif e.symbol == "ring":
                sym = f'<span class="sym round" style="border:3px solid {e.color}"></span>'
            elif e.symbol == "sizes":
                sym = ('<span class="sym" style="width:auto">' + "".join(
                    f'<span class="dot" style="width:{d}px;height:{d}px"></span>'
                    for d in (6, 10, 14)) + "</span>")
            else:
                sym = f'<span class="sym round" style="background:{e.color}"></span>'
            rows.append(f"<div class='row'>{sym}<span>{text}</span></div>")
    bars = [lay.colorbar for lay in layers if lay.colorbar]
    if bars:
        key, lo, hi = bars[0]
        cmap = colormaps["RdYlGn_r"]
        stops = ", ".join(to_hex(cmap(x)) for x in np.linspace(0, 1, 7))
        rows.append(f"<div class='row'><b>{html.escape(label(key, lang))}</b></div>"
                    f"<div class='bar' style='background:linear-gradient(to right, {stops})'>"
                    f"</div><div class='ticks'><span>{lo:g}</span><span>{hi / 2:g}</span>"
                    f"<span>{hi:g}</span></div>")
    return "".join(rows)


_LEGEND = Template("""
{% macro html(this, kwargs) %}
<div class="lrc-title"><b>{{ this.title }}</b><br><span>{{ this.subtitle }}</span></div>
<div class="lrc-legend">{{ this.legend }}</div>
<style>
.lrc-title {position: fixed; top: 10px; left: 60px; z-index: 1000; background: #fff;
  padding: 6px 12px; border-radius: 4px; box-shadow: 0 1px 4px rgba(0,0,0,.3);
  font: 14px/1.3 system-ui, sans-serif;}
.lrc-title span {font-size: 12px; color: #555;}
.lrc-legend {position: fixed; bottom: 24px; left: 10px; z-index: 1000; background: #fff;
  padding: 8px 10px; border-radius: 4px; box-shadow: 0 1px 4px rgba(0,0,0,.3);
  font: 12px/1.2 system-ui, sans-serif; max-width: 260px;}
.lrc-legend .row {display: flex; align-items: center; margin: 3px 0;}
.lrc-legend .sym {display: inline-block; width: 16px; height: 14px; margin-right: 6px;
  flex: none; box-sizing: border-box;}
.lrc-legend .round {border-radius: 50%; width: 14px;}
.lrc-legend .dot {display: inline-block; border-radius: 50%; background: #888;
  margin-right: 2px; vertical-align: middle;}
.lrc-legend .bar {height: 10px; width: 200px; margin-top: 2px;}
.lrc-legend .ticks {display: flex; justify-content: space-between; width: 200px;}
.leaflet-popup-content table {border-collapse: collapse; font-size: 12px;}
.leaflet-popup-content th {text-align: left; padding-right: 8px; color: #555;
  font-weight: normal;}
.leaflet-container {background: #eef2f5;}
</style>
{% endmacro %}
""")


class _MetricScale(MacroElement):
    """A metric-only scale bar (folium's own adds miles)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        L.control.scale({metric: true, imperial: false, position: "bottomright"})
            .addTo({{ this._parent.get_name() }});
        {% endmacro %}""")


class _Overlay(MacroElement):
    """Title and legend boxes drawn over the map."""

    _template = _LEGEND

    def __init__(self, title: str, subtitle: str, legend: str) -> None:
        super().__init__()
        self.title, self.subtitle, self.legend = title, subtitle, legend


def build_map(layers: list[Layer], sc: Scenario, plan: Plan, *, lang: str = "en",
              tiles: bool = False) -> folium.Map:
    """A folium map of the plan's layers with a layer control, legend and title."""
    bounds = _bounds(layers)
    m = folium.Map(location=[(bounds[0][0] + bounds[1][0]) / 2,
                             (bounds[0][1] + bounds[1][1]) / 2],
                   tiles=None, control_scale=False, prefer_canvas=True, zoom_start=11)
    m.default_js = [("leaflet", _JS_URL)]
    m.default_css = [("leaflet_css", _CSS_URL)]
    if tiles:
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap (online)", overlay=False,
                         control=True).add_to(m)
    for lay in layers:
        group = folium.FeatureGroup(name=lay.title or label(lay.name, lang), show=lay.show)
        data = json.loads(lay.frame.to_json(na="drop", drop_id=True))
        points = bool(len(lay.frame)) and lay.frame.geom_type.iloc[0] == "Point"
        folium.GeoJson(
            data, name=lay.name,
            style_function=lambda f: _style(f["properties"]),
            on_each_feature=_POPUP,
            point_to_layer=_POINT if points else None,
            smooth_factor=0.5,
        ).add_to(group)
        group.add_to(m)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    _MetricScale().add_to(m)
    m.fit_bounds(bounds)
    d = plan.figure_values()
    title = f"{label('report_title', lang)} — {sc.name}"
    when = plan.created.replace("T", " ")
    subtitle = (f"{label('generated', lang)} {when} · LRC {d['lrc_seated']} · "
                f"{label('special', lang)} {d['special_seated']} · "
                f"{label('unplaced_areas', lang)} {d['unplaced']}")
    m.get_root().add_child(_Overlay(html.escape(title), html.escape(subtitle),
                                    _legend_html(layers, lang)))
    m.get_root().header.add_child(Element(f"<title>{html.escape(title)}</title>"))
    return m


def _bounds(layers: list[Layer]) -> list[list[float]]:
    boxes = np.array([lay.frame.total_bounds for lay in layers if len(lay.frame)])
    if not len(boxes):
        return [[-1.0, -1.0], [1.0, 1.0]]
    return [[float(boxes[:, 1].min()), float(boxes[:, 0].min())],
            [float(boxes[:, 3].max()), float(boxes[:, 2].max())]]


def render_html(m: folium.Map) -> str:
    """The map's HTML with Leaflet inlined, so it opens from disk without a network."""
    page = m.get_root().render()
    js = (VENDOR / "leaflet.js").read_text(encoding="utf-8")
    css = (VENDOR / "leaflet.css").read_text(encoding="utf-8")
    page, n_js = re.subn(rf'<script src="{re.escape(_JS_URL)}"></script>',
                         lambda _: f"<script>{js}</script>", page)
    page, n_css = re.subn(rf'<link rel="stylesheet" href="{re.escape(_CSS_URL)}"\s*/>',
                          lambda _: f"<style>{css}</style>", page)
    if n_js != 1 or n_css != 1:
        raise RuntimeError("could not inline Leaflet into the map page")
    return page


def write_map(layers: list[Layer], sc: Scenario, plan: Plan, folder: Path, *,
              lang: str = "en", tiles: bool = False) -> Path:
    """Write `map.html` into folder."""
    path = folder / "map.html"
    path.write_text(render_html(build_map(layers, sc, plan, lang=lang, tiles=tiles)),
                    encoding="utf-8")
    return path
