"""The static map (`map.png`, `map.svg`): an A4 landscape sheet of the plan for printing.

Drawn with matplotlib's object API on a private Figure (Agg canvas), so nothing touches
pyplot's global state and calls never leak into each other. Every layer is drawn with one
collection (polygons, lines) or one scatter (points), in list order, from the same style
columns the interactive map reads. Where schools crowd each other (a city centre), the
densest area is repeated enlarged in an inset under the legend.
"""

from __future__ import annotations

import functools
import logging
import math
import unicodedata
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import matplotlib
import numpy as np
import shapely
from matplotlib import colormaps
from matplotlib import patheffects as pe
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.colors import Normalize, to_rgba_array
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.legend_handler import HandlerBase
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.path import Path as MplPath
from matplotlib.transforms import Transform
from scipy.spatial import cKDTree

from lrcplan.maps.layers import TRAVEL_CMAP, Layer, LegendEntry
from lrcplan.models.labels import grid_text, label
from lrcplan.models.plan import Plan
from lrcplan.models.scenario import Scenario

A4_LANDSCAPE = (11.69, 8.27)  # inches
DPI = 200
# Where things sit on the sheet (figure fractions): the map on the left, the legend,
# colour bar and inset in a column on the right, so nothing hides part of the district.
MAP_BOX = (0.03, 0.075, 0.68, 0.80)  # left, bottom, width, height
PANEL_X = 0.735
PANEL_W = 0.235
COLORBAR_H = 0.022
# Layer widths and radii are screen pixels for Leaflet; on paper a pixel is ~0.75 pt.
# Lines a little thinner keep dense flows from merging into one band.
PX_TO_PT = 0.6
MARKER_PX_TO_PT = 0.75
CROWDED_MARKER_PX_TO_PT = 0.45  # where markers overlap, smaller ones hide fewer others
CROWDED_SHARE = 0.15  # share of markers overlapping their neighbour that calls for an inset
INSET_ZOOM = 2.5
MIN_INSET_IN = 1.6  # an inset shorter than this (inches) is not worth drawing
LINE_ALPHA = 0.7  # flows overlap near schools: the ones underneath show through
LEGEND_SIZES = (1, 5, 10)  # LRC students shown by the marker-size legend
MAX_TOWN_NAMES = 60  # more names than this are unreadable on A4
NAME_SIZE = 7.0  # smaller is unreadable on paper: a name that does not fit is left out
BACKGROUND = "#eef2f5"
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
                "Noto Sans CJK JP", "Source Han Sans", "WenQuanYi Zen Hei",
                "WenQuanYi Micro Hei", "SimHei", "Microsoft YaHei", "PingFang SC",
                "Heiti SC", "Droid Sans Fallback")


@functools.cache
def cjk_font() -> str | None:
    """The family name of an installed font with Chinese glyphs, or None."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in names:
            return family
    # Any other CJK family (a regional variant) is better than boxes.
    return next((n for n in sorted(names) if "CJK" in n or "Han Sans" in n), None)


@contextmanager
def quiet_glyphs() -> Iterator[None]:
    """Silence matplotlib's per-glyph and per-weight font complaints while drawing."""
    # Chinese place names with no CJK font draw as boxes; one warning per glyph would
    # bury the output, and the footnote already says the font is missing. CJK fonts often
    # come in one weight only, and findfont logs each fallback to it.
    log = logging.getLogger("matplotlib.font_manager")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from")
            yield
    finally:
        log.setLevel(level)


def _fonts(cjk: str | None, lang: str) -> dict[str, object]:
    if cjk is None:
        return {"font.family": ["DejaVu Sans"]}
    # The CJK font also covers Chinese names in data on an English map, as a fallback.
    families = [cjk, "DejaVu Sans"] if lang == "zh" else ["DejaVu Sans", cjk]
    return {"font.family": families, "axes.unicode_minus": False}


# ------------------------------------------------------------------ geometry to artists
def _col(frame: gpd.GeoDataFrame, name: str, default: object) -> np.ndarray:
    if name in frame.columns:
        return frame[name].fillna(default).to_numpy()
    return np.full(len(frame), default, dtype=object)


def _fill(frame: gpd.GeoDataFrame, color: np.ndarray) -> np.ndarray:
    fill = _col(frame, "fill_color", "")
    return np.where(fill == "", color, fill)


def _rgba(colors: np.ndarray, alpha: np.ndarray | float) -> np.ndarray:
    out = to_rgba_array(list(colors))
    out[:, 3] = alpha
    return out


def _polygon_paths(geoms: np.ndarray) -> tuple[list[MplPath], np.ndarray]:
    """One compound path per polygon part (holes included) and the feature of each."""
    parts, owner = shapely.get_parts(geoms, return_index=True)
    # Exterior counter-clockwise and holes clockwise, so the non-zero fill rule cuts holes.
    parts = shapely.orient_polygons(parts)
    rings, ring_owner = shapely.get_rings(parts, return_index=True)
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    ring_starts = np.searchsorted(coord_ring, np.arange(len(rings) + 1))
    first_ring = np.searchsorted(ring_owner, np.arange(len(parts) + 1))
    paths = []
    for p in range(len(parts)):
        lo, hi = ring_starts[first_ring[p]], ring_starts[first_ring[p + 1]]
        codes = np.full(hi - lo, MplPath.LINETO, dtype=MplPath.code_type)
        codes[ring_starts[first_ring[p]:first_ring[p + 1]] - lo] = MplPath.MOVETO
        codes[ring_starts[first_ring[p] + 1:first_ring[p + 1] + 1] - lo - 1] = MplPath.CLOSEPOLY
        paths.append(MplPath(coords[lo:hi], codes))
    return paths, owner


def _line_segments(geoms: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """The vertex arrays of every line part and the feature of each."""
    parts, owner = shapely.get_parts(geoms, return_index=True)
    coords, idx = shapely.get_coordinates(parts, return_index=True)
    return np.split(coords, np.searchsorted(idx, np.arange(1, len(parts)))), owner


def _is_points(frame: gpd.GeoDataFrame) -> bool:
    return bool(len(frame)) and set(shapely.get_type_id(frame.geometry.to_numpy())) <= {0, 4}


@dataclass(frozen=True)
class _Scale:
    """How big things are on paper: metres per point, and pixels-to-points of markers."""

    m_per_pt: float
    marker: float


def _draw_layer(ax: Axes, frame: gpd.GeoDataFrame, z: float, scale: _Scale) -> None:
    """Draw one projected layer with one collection."""
    geoms = frame.geometry.to_numpy()
    types = shapely.get_type_id(geoms)
    kinds = set(types.tolist())
    if len(kinds) > 1 and not (kinds <= {3, 6} or kinds <= {1, 5}):
        # A mixed layer is drawn as one collection per geometry family, in the same order.
        for family in ({0, 4}, {1, 5}, {3, 6}):
            part = frame[np.isin(types, list(family))]
            if len(part):
                _draw_layer(ax, part, z, scale)
        return
    color = _col(frame, "color", "#333333")
    weight = _col(frame, "weight", 1.0).astype(float) * PX_TO_PT
    if kinds <= {3, 6}:  # (multi)polygons
        paths, owner = _polygon_paths(geoms)
        opacity = _col(frame, "fill_opacity", 0.5).astype(float)
        ax.add_collection(PathCollection(
            paths, facecolors=_rgba(_fill(frame, color)[owner], opacity[owner]),
            edgecolors=_rgba(color[owner], 0.9), linewidths=weight[owner], zorder=z))
    elif kinds <= {1, 5}:  # (multi)linestrings
        segs, owner = _line_segments(geoms)
        # Thick lines first, so a thin line on top of a thick one stays visible.
        order = np.argsort(-weight[owner], kind="stable")
        ax.add_collection(LineCollection(
            [segs[i] for i in order], colors=_rgba(color[owner][order], LINE_ALPHA),
            linewidths=weight[owner][order], capstyle="round", zorder=z))
    elif kinds <= {0, 4}:  # (multi)points
        radius = _col(frame, "radius", 5.0).astype(float)
        parts, owner = shapely.get_parts(geoms, return_index=True)
        by_size = np.argsort(-radius[owner], kind="stable")  # small markers on top of big
        xy, order = shapely.get_coordinates(parts)[by_size], owner[by_size]
        # Opaque faces: on paper, flows showing through a marker read as a cross-hair.
        ax.scatter(xy[:, 0], xy[:, 1], s=(2 * radius[order] * scale.marker) ** 2,
                   facecolors=_rgba(_fill(frame, color)[order], 1.0),
                   edgecolors=_rgba(color[order], 1.0),
                   linewidths=np.maximum(weight[order], 0.5) * 1.6 * scale.marker, zorder=z)


def _text_width_pt(text: str, size: float) -> float:
    # Chinese characters are a full em wide, Latin letters a little over half.
    return size * sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.58 for c in text)


Box = tuple[float, float, float, float]  # x0, x1, y0, y1 in the projected CRS


def _name_polygons(ax: Axes, frame: gpd.GeoDataFrame, z: float, scale: _Scale,
                   view: Box, skip: Box | None) -> None:
    """Each polygon's name at a point inside it, where it fits within the view and its
    polygon, and not inside `skip` (the area the inset shows enlarged)."""
    geoms = frame.geometry.to_numpy()
    names = frame["name"].astype(str).to_numpy()
    pts = shapely.get_coordinates(shapely.point_on_surface(geoms))
    bounds = shapely.bounds(geoms)
    width_pt = (bounds[:, 2] - bounds[:, 0]) / scale.m_per_pt
    height_pt = (bounds[:, 3] - bounds[:, 1]) / scale.m_per_pt
    halo = [pe.withStroke(linewidth=2.2, foreground="white", alpha=0.8)]
    for (x, y), name, w, h in zip(pts, names, width_pt, height_pt, strict=True):
        half_w = _text_width_pt(name, NAME_SIZE) / 2 * scale.m_per_pt
        half_h = NAME_SIZE * scale.m_per_pt
        # Names wider than ~3/4 of their town run into the neighbours' names; names cut by
        # the frame read as different names.
        fits = (2 * half_w < 0.75 * w * scale.m_per_pt and h > 2 * NAME_SIZE
                and view[0] < x - half_w and x + half_w < view[1]
                and view[2] < y - half_h and y + half_h < view[3])
        hidden = skip is not None and skip[0] < x < skip[1] and skip[2] < y < skip[3]
        if fits and not hidden:
            ax.text(x, y, name, fontsize=NAME_SIZE, color="#555555", ha="center",
                    va="center", zorder=z, path_effects=halo, clip_on=True)


def _draw_map(ax: Axes, frames: list[gpd.GeoDataFrame], scale: _Scale, view: Box,
              skip: Box | None = None) -> None:
    """Every layer in order, and town names above the lines but under the markers."""
    for z, frame in enumerate(frames, start=1):
        _draw_layer(ax, frame, z, scale)
    named = [f for f in frames if "name" in f.columns and not _is_points(f)
             and f.geom_type.isin(["Polygon", "MultiPolygon"]).all()]
    if named and sum(len(f) for f in named) < MAX_TOWN_NAMES:
        z_names = max((z for z, f in enumerate(frames, start=1) if not _is_points(f)),
                      default=0) + 0.5
        for f in named:
            _name_polygons(ax, f, z_names, scale, view, skip)


def _map_axes(fig: Figure, box: tuple[float, float, float, float],
              extent: tuple[float, float, float, float], edge: str, name: str) -> Axes:
    ax = fig.add_axes(box, label=name)  # named, so callers and tests find the map
    ax.set_facecolor(BACKGROUND)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_edgecolor(edge)
        spine.set_linewidth(0.6)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_aspect("equal", adjustable="box")
    return ax


# ------------------------------------------------------------------ legend
def _radius_px(n: int) -> float:
    # Mirrors schools_layer's marker size, so the size legend reads the map's markers.
    return 4.0 + 2.2 * math.sqrt(n)


class _Sizes(Patch):
    """Stand-in handle of the sizes legend row (drawn by _SizesHandler)."""


class _SizesHandler(HandlerBase):
    """Three grey circles of increasing size in one legend row."""

    def __init__(self, marker: float) -> None:
        super().__init__()
        self.marker = marker

    def create_artists(self, legend: Legend, orig_handle: Artist, xdescent: float,
                       ydescent: float, width: float, height: float, fontsize: float,
                       trans: Transform) -> list[Artist]:
        """Circles for LEGEND_SIZES, spread over the handle box."""
        sizes = [2 * _radius_px(n) * self.marker for n in LEGEND_SIZES]
        gap = max(2.0, (width - sum(sizes)) / max(1, len(sizes) - 1))
        out: list[Artist] = []
        x = -xdescent
        for d in sizes:
            out.append(Line2D([x + d / 2], [height / 2 - ydescent], marker="o",
                              linestyle="", markersize=d, markerfacecolor="#9a9a9a",
                              markeredgecolor="white", markeredgewidth=0.6, transform=trans))
            x += d + gap
        return out


def _uniform(frame: gpd.GeoDataFrame, column: str) -> str | None:
    if column not in frame.columns:
        return None
    values = frame[column].dropna().unique()
    return str(values[0]) if len(values) == 1 else None


def _handle(e: LegendEntry, frame: gpd.GeoDataFrame) -> Artist:
    if e.symbol == "line":
        return Line2D([], [], color=e.color, linewidth=2.5, alpha=0.9)
    if e.symbol == "box":
        # A layer filled with one colour (towns) shows that fill outlined by the entry's
        # colour, so the swatch looks like the map and not like a grey block.
        fill = _uniform(frame, "fill_color") if _uniform(frame, "color") == e.color else None
        if fill is not None and fill != e.color:
            return Patch(facecolor=fill, edgecolor=e.color, linewidth=1.0)
        return Patch(facecolor=e.color, edgecolor=e.color, alpha=0.55, linewidth=1.0)
    if e.symbol == "ring":
        return Line2D([], [], marker="o", linestyle="", markersize=9, markerfacecolor="white",
                      markeredgecolor=e.color, markeredgewidth=2.2)
    if e.symbol == "sizes":
        return _Sizes()
    return Line2D([], [], marker="o", linestyle="", markersize=9, markerfacecolor=e.color,
                  markeredgecolor="white", markeredgewidth=0.8)


def _legend_label(e: LegendEntry, lab: Callable[[str], str]) -> str:
    if e.symbol == "sizes":
        return f"{e.text or lab(e.key)}\n" + " / ".join(map(str, LEGEND_SIZES))
    return e.text or lab(e.key)


# ------------------------------------------------------------------ extent, scale, north
def _extent(frames: list[gpd.GeoDataFrame], aspect: float) -> tuple[float, float, float, float]:
    """Padded bounds of every frame, widened to the map box's aspect (width / height)."""
    boxes = np.array([f.total_bounds for f in frames if len(f)])
    if not len(boxes):
        return -1000.0, 1000.0, -1000.0, 1000.0
    x0, y0 = boxes[:, 0].min(), boxes[:, 1].min()
    x1, y1 = boxes[:, 2].max(), boxes[:, 3].max()
    w, h = max(x1 - x0, 500.0) * 1.06, max(y1 - y0, 500.0) * 1.06
    if w / h < aspect:
        w = h * aspect
    else:
        h = w / aspect
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2


def scale_length_km(width_m: float) -> float:
    """A round scale-bar length (1, 2, 5 x 10^k km) close to a fifth of the map width."""
    target = width_m / 5 / 1000
    nice = [m * 10.0 ** e for e in range(-2, 5) for m in (1, 2, 5)]
    return min(nice, key=lambda v: abs(math.log(v / target)))


def _scale_bar(ax: Axes, extent: tuple[float, float, float, float], fontsize: float = 8,
               gid: str = "scalebar") -> None:
    x0, x1, y0, y1 = extent
    km = scale_length_km(x1 - x0)
    length = km * 1000
    h = (y1 - y0) * 0.011
    bx, by = x0 + (x1 - x0) * 0.035, y0 + (y1 - y0) * 0.045
    halo = [pe.withStroke(linewidth=2.5, foreground="white")]
    for i, face in enumerate(("#222222", "white", "#222222", "white")):
        ax.add_patch(Rectangle((bx + i * length / 4, by), length / 4, h, facecolor=face,
                               edgecolor="#222222", linewidth=0.6, zorder=1000))
    ax.text(bx, by + h * 1.8, "0", fontsize=fontsize, ha="center", va="bottom", zorder=1000,
            path_effects=halo)
    ax.text(bx + length, by + h * 1.8, f"{km:g} km", fontsize=fontsize, ha="center",
            va="bottom", zorder=1000, path_effects=halo, gid=gid)


def _north_arrow(ax: Axes) -> None:
    # The map is drawn in UTM, where grid north is true north to within a degree or two.
    ax.annotate("N", xy=(0.965, 0.955), xytext=(0.965, 0.865), xycoords="axes fraction",
                textcoords="axes fraction", ha="center", va="top", fontsize=10,
                fontweight="bold", zorder=1000,
                arrowprops={"arrowstyle": "-|>,head_width=0.35,head_length=0.8",
                            "color": "#222222", "linewidth": 1.6, "shrinkA": 0, "shrinkB": 0},
                path_effects=[pe.withStroke(linewidth=2.5, foreground="white")])


# ------------------------------------------------------------------ crowding and inset
def _markers(frames: list[gpd.GeoDataFrame]) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates and Leaflet radii of every point feature."""
    pts = [f for f in frames if _is_points(f)]
    if not pts:
        return np.empty((0, 2)), np.empty(0)
    xy, radius = [], []
    for f in pts:
        parts, owner = shapely.get_parts(f.geometry.to_numpy(), return_index=True)
        xy.append(shapely.get_coordinates(parts))
        radius.append(_col(f, "radius", 5.0).astype(float)[owner])
    return np.concatenate(xy), np.concatenate(radius)


def _crowded(xy: np.ndarray, radius: np.ndarray, m_per_pt: float) -> bool:
    """Whether many markers would overlap their nearest neighbour on paper."""
    if len(xy) < 20:
        return False
    dist, _ = cKDTree(xy).query(xy, k=2)
    overlap = dist[:, 1] / m_per_pt < 2 * radius * MARKER_PX_TO_PT * 0.9
    return float(overlap.mean()) > CROWDED_SHARE


def _densest_window(xy: np.ndarray, w: float, h: float) -> tuple[float, float, float, float]:
    """The w x h window, centred on a marker, holding the most markers."""
    tree = cKDTree(xy / [w, h])  # unit-square windows: Chebyshev radius 1/2
    counts = np.array([len(n) for n in tree.query_ball_point(xy / [w, h], 0.5, p=np.inf)])
    cx, cy = xy[int(np.argmax(counts))]
    return cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2


def _inset_box(top: float) -> tuple[float, float, float, float] | None:
    """Where the inset goes in the panel under the legend (figure fractions), if it fits."""
    height = top - MAP_BOX[1] - 0.035  # room for the inset's title
    if height * A4_LANDSCAPE[1] < MIN_INSET_IN:
        return None
    return PANEL_X, MAP_BOX[1], PANEL_W, height


def _inset(fig: Figure, ax: Axes, frames: list[gpd.GeoDataFrame], box: tuple[float, ...],
           window: Box, scale: _Scale, title: str) -> None:
    """The window drawn enlarged at box, and its frame on the main map."""
    inset = _map_axes(fig, box, window, "#333333", "inset")  # type: ignore[arg-type]
    _draw_map(inset, frames, scale, window)
    _scale_bar(inset, window, fontsize=7, gid="inset-scalebar")
    inset.set_title(title, fontsize=9, loc="left")
    x0, x1, y0, y1 = window
    # Drawn over the markers with a white halo, so the frame shows in a crowded centre.
    ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, facecolor="none", edgecolor="#111111",
                           linewidth=1.4, zorder=999,
                           path_effects=[pe.withStroke(linewidth=3.4, foreground="white")]))


# ------------------------------------------------------------------ the sheet
def _panel(fig: Figure, drawn: list[Layer], frames: list[gpd.GeoDataFrame],
           lab: Callable[[str], str], marker: float) -> float:
    """Legend and colour bar at the top of the right column; the top of the room left."""
    top = MAP_BOX[1] + MAP_BOX[3]
    entries = [(e, f) for lay, f in zip(drawn, frames, strict=True) for e in lay.legend]
    if entries:
        legend = fig.legend(
            [_handle(e, f) for e, f in entries], [_legend_label(e, lab) for e, _ in entries],
            loc="upper left", bbox_to_anchor=(PANEL_X, top), frameon=False, fontsize=9,
            handlelength=5.0, handleheight=1.6, labelspacing=0.9, borderaxespad=0.0,
            title=lab("legend"), title_fontsize=10, alignment="left",
            handler_map={_Sizes: _SizesHandler(marker)})
        # Measured, so the colour bar sits right under the legend however long it is.
        top = legend.get_window_extent(fig.canvas.get_renderer()).y0 / fig.bbox.height
    bars = [lay.colorbar for lay in drawn if lay.colorbar]
    if bars:
        key, vmin, vmax = bars[0]
        top -= 0.075
        cax = fig.add_axes((PANEL_X + 0.005, top, PANEL_W - 0.01, COLORBAR_H),
                           label="colorbar")
        fig.colorbar(ScalarMappable(Normalize(vmin, vmax), colormaps[TRAVEL_CMAP]), cax=cax,
                     orientation="horizontal")
        cax.set_title(lab(key), fontsize=9, loc="left")
        cax.tick_params(labelsize=8, length=2)
        top -= 0.05  # the colour bar's tick labels
    return top


def draw_static(layers: list[Layer], sc: Scenario, plan: Plan, *, lang: str = "en") -> Figure:
    """An A4 landscape figure of the plan: map, legend, colour bar, scale, north, title."""
    cjk = cjk_font()
    fallback = lang == "zh" and cjk is None
    shown_lang = "en" if fallback else lang

    def lab(key: str) -> str:
        return label(key, shown_lang)

    with matplotlib.rc_context(_fonts(cjk, shown_lang)), quiet_glyphs():
        fig = Figure(figsize=A4_LANDSCAPE, dpi=100, facecolor="white")
        FigureCanvasAgg(fig)  # Agg, whatever backend pyplot may have chosen elsewhere
        # Hidden layers (cells, special flows) stay off, as when the interactive map opens.
        drawn = [lay for lay in layers if lay.show and len(lay.frame)]
        frames = [lay.frame.to_crs(sc.crs) for lay in drawn]
        fig_w, fig_h = A4_LANDSCAPE
        extent = _extent(frames, (MAP_BOX[2] * fig_w) / (MAP_BOX[3] * fig_h))
        m_per_pt = (extent[1] - extent[0]) / (MAP_BOX[2] * fig_w * 72)
        xy, radius = _markers(frames)
        crowded = _crowded(xy, radius, m_per_pt)
        scale = _Scale(m_per_pt, CROWDED_MARKER_PX_TO_PT if crowded else MARKER_PX_TO_PT)
        # Legend and colour bar first: the room they leave sets the inset's size, and the
        # inset's window decides which names the main map leaves out.
        top = _panel(fig, drawn, frames, lab, scale.marker)
        box = _inset_box(top - 0.02) if crowded else None
        zoomed = _Scale(m_per_pt / INSET_ZOOM, scale.marker)
        window = None if box is None else _densest_window(
            xy, box[2] * fig_w * 72 * zoomed.m_per_pt, box[3] * fig_h * 72 * zoomed.m_per_pt)
        ax = _map_axes(fig, MAP_BOX, extent, "#9aa4ad", "map")
        _draw_map(ax, frames, scale, extent, skip=window)
        _scale_bar(ax, extent)
        _north_arrow(ax)
        if box is not None and window is not None:
            _inset(fig, ax, frames, box, window, zoomed, f"{lab('inset')} (×{INSET_ZOOM:g})")

        d = plan.figure_values()
        fig.text(MAP_BOX[0], 0.955, f"{lab('report_title')} — {sc.name}", fontsize=16,
                 fontweight="bold", va="baseline")
        fig.text(MAP_BOX[0], 0.915,
                 f"{lab('generated')} {plan.created.replace('T', ' ')}   ·   "
                 f"{lab('lrc_seated')} {d['lrc_seated']}   ·   "
                 f"{lab('special_seated')} {d['special_seated']}   ·   "
                 f"{lab('unplaced')} {d['unplaced']}",
                 fontsize=10, color="#444444", va="baseline")
        notes = [label("privacy", shown_lang,
                       grid=grid_text(sc.policy.privacy_grid_m, shown_lang)),
                 f"{lab('projection')}: {sc.crs}"]
        if fallback:
            notes.append(lab("no_cjk_font"))
        fig.text(MAP_BOX[0], 0.03, "   ·   ".join(notes), fontsize=7.5, color="#666666",
                 va="baseline", gid="footnote")
    return fig


def write_static(fig: Figure, folder: Path) -> tuple[Path, Path]:
    """Write `map.png` (200 dpi) and `map.svg` into folder and close the figure."""
    png, svg = Path(folder) / "map.png", Path(folder) / "map.svg"
    with quiet_glyphs():
        fig.savefig(png, dpi=DPI, facecolor="white", metadata={"Software": None})
        fig.savefig(svg, facecolor="white", metadata={"Date": None, "Creator": None})
    fig.clear()  # not registered with pyplot, so clearing is closing: its artists are freed
    return png, svg
