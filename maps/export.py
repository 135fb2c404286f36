"""GIS exports: every layer as GeoJSON and all of them in one GeoPackage (EPSG:4326)."""

from __future__ import annotations

import json
from pathlib import Path

from lrcplan.maps.layers import Layer

STYLE_COLUMNS = ("color", "fill_color", "weight", "radius", "fill_opacity", "popup")


def data_columns(lay: Layer) -> list[str]:
    """The attribute columns of a layer, without its drawing style."""
    return [c for c in lay.frame.columns if c not in STYLE_COLUMNS and c != "geometry"]


def write_geojson(layers: list[Layer], folder: Path) -> list[Path]:
    """One `<layer>.geojson` per layer (WGS84, RFC 7946), attributes only."""
    out = []
    for lay in layers:
        frame = lay.frame[[*data_columns(lay), "geometry"]]
        doc = json.loads(frame.to_json(na="null", drop_id=True))
        path = folder / f"{lay.name}.geojson"
        path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        out.append(path)
    return out


def write_geopackage(layers: list[Layer], path: Path) -> Path:
    """All layers as tables of one GeoPackage, CRS EPSG:4326, for QGIS."""
    import pyogrio

    for i, lay in enumerate(layers):
        frame = lay.frame[[*data_columns(lay), "geometry"]]
        pyogrio.write_dataframe(frame, path, layer=lay.name, driver="GPKG",
                                append=i > 0)
    return path
