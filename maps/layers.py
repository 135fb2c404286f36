"""Map layers of a plan, built once and drawn by every renderer (interactive, static, export).

Each stage adds its layers through one registry: a builder decorated with `@layer(...)`
returns a `Layer` (a WGS84 GeoDataFrame with its style columns) or None when it has
nothing to show. Renderers never special-case a layer: they read `color`, `radius`,
`weight`, `fill_opacity` and `popup` columns and the legend entries.

Privacy: students appear only as counts per grid cell (`Policy.privacy_grid_m`).
"""

from __future__ import annotations

import html
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
from matplotlib import colormaps
from matplotlib.colors import Normalize, to_hex
from shapely.geometry import LineString, Point, Polygon

from lrcplan.models.enrolment import EnrolmentResult
from lrcplan.models.entities import SchoolKind, Tier
from lrcplan.models.labels import grid_text, label
from lrcplan.models.placement import PlacementResult
from lrcplan.models.plan import Plan
from lrcplan.models.scenario import Scenario

CRS = "EPSG:4326"
KIND_COLORS = {"regular": "#1f78b4", "special": "#6a3d9a", "centre": "#ff7f00"}
ROOM_COLOR = "#222222"
REQUIRED_COLOR = "#e31a1c"
UNPLACED_COLOR = "#e31a1c"
TRAVEL_CMAP = "RdYlGn_r"


@dataclass(frozen=True)
class LegendEntry:
    """One legend line: a label key, a colour and a symbol (circle, ring, line, box)."""

    key: str
    color: str
    symbol: str = "circle"
    text: str = ""  # the line's words where the label needs values (else label(key))


@dataclass(frozen=True)
class Layer:
    """A styled layer: WGS84 features plus how to show them."""

    name: str  # file and layer id; also the label key of its title
    stage: str  # the stage that made it
    frame: gpd.GeoDataFrame
    legend: tuple[LegendEntry, ...] = ()
    show: bool = True  # switched on when the map opens
    colorbar: tuple[str, float, float] | None = None  # (label key, vmin, vmax) of `color`
    notes: dict[str, str] = field(default_factory=dict)
    title: str = ""  # the title where the label needs values (else label(name))


Builder = Callable[[Scenario, Plan, str], Layer | None]
_REGISTRY: list[tuple[str, Builder]] = []


def layer(name: str, *, below: str | None = None) -> Callable[[Builder], Builder]:
    """Register a layer builder; layers are drawn in registration order (bottom first),
    or just below the layer named `below` (an area must not cover the markers' clicks)."""

    def wrap(fn: Builder) -> Builder:
        if any(n == name for n, _ in _REGISTRY):
            raise ValueError(f"layer {name!r} registered twice")
        at = next((i for i, (n, _) in enumerate(_REGISTRY) if n == below), len(_REGISTRY))
        _REGISTRY.insert(at, (name, fn))
        return fn

    return wrap


def load_stage_maps() -> None:
    """Import the map and report modules the registered stages name (they self-register)."""
    import importlib

    from lrcplan.optimizer.stages import STAGES

    for stage in STAGES:
        if stage.maps:
            importlib.import_module(stage.maps)


def build_layers(sc: Scenario, plan: Plan, *, lang: str = "en",
                 include_empty: bool = False) -> list[Layer]:
    """Every registered layer that applies, bottom first; empty ones only if asked."""
    load_stage_maps()
    out = []
    for _, fn in _REGISTRY:
        lay = fn(sc, plan, lang)
        if lay is not None and (include_empty or len(lay.frame)):
            out.append(lay)
    return out


def _frame(rows: list[dict[str, object]], geoms: list[object]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=CRS)


def _popup(title: str, rows: list[tuple[str, object]]) -> str:
    cells = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
                    for k, v in rows)
    return f"<b>{html.escape(title)}</b><table>{cells}</table>"


def travel_color(minutes: np.ndarray, vmax: float) -> list[str]:
    """Colours of travel times on the shared green-to-red scale."""
    cmap = colormaps[TRAVEL_CMAP]
    norm = Normalize(0, vmax)
    return [to_hex(cmap(norm(float(m)))) for m in minutes]


# ------------------------------------------------------------------ privacy grid
def home_cells(sc: Scenario, student_ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Grid-cell index (ix, iy) in the projected CRS of each student's home."""
    pts = [sc.student_by_id[s] for s in student_ids]
    x, y = sc.project(np.array([p.lon for p in pts]), np.array([p.lat for p in pts]))
    g = sc.policy.privacy_grid_m
    return np.floor(x / g).astype(np.int64), np.floor(y / g).astype(np.int64)


def cell_polygon(sc: Scenario, ix: int, iy: int) -> Polygon:
    """The WGS84 polygon of grid cell (ix, iy)."""
    g = sc.policy.privacy_grid_m
    xs = np.array([ix, ix + 1, ix + 1, ix, ix], float) * g
    ys = np.array([iy, iy, iy + 1, iy + 1, iy], float) * g
    lon, lat = sc.projector.transform(xs, ys, direction="INVERSE")
    return Polygon(np.round(np.column_stack([lon, lat]), 6))


def cell_centre(sc: Scenario, ix: int, iy: int) -> Point:
    """The WGS84 centre of grid cell (ix, iy)."""
    g = sc.policy.privacy_grid_m
    lon, lat = sc.projector.transform((ix + 0.5) * g, (iy + 0.5) * g, direction="INVERSE")
    return Point(round(float(lon), 6), round(float(lat), 6))


# ------------------------------------------------------------------ scenario layers
@layer("towns")
def towns_layer(sc: Scenario, plan: Plan, lang: str) -> Layer | None:
    """Town and street boundaries with their schools and LRC students."""
    if not sc.towns:
        return None
    lrc = Counter(sc.school_by_id[s.school_id].town for s in plan.get(EnrolmentResult).seats
                  if s.tier is Tier.LRC)
    schools = Counter(s.town for s in sc.schools)
    rows = [{"name": t.name, "schools": schools[t.name], "lrc_students": lrc[t.name],
             "color": "#7f7f7f", "fill_color": "#f4f1ea", "weight": 1.2, "fill_opacity": 0.5,
             "popup": _popup(t.name, [(label("schools", lang), schools[t.name]),
                                      (label("lrc_students", lang), lrc[t.name])])}
            for t in sc.towns]
    return Layer("towns", "scenario", _frame(rows, [t.geometry for t in sc.towns]),
                 (LegendEntry("towns", "#7f7f7f", "box"),))


@layer("roads")
def roads_layer(sc: Scenario, plan: Plan, lang: str) -> Layer | None:
    """The scenario's road network, where it has one."""
    if sc.roads is None:
        return None
    from lrcplan.models.travel import RoadTravel

    travel = sc.travel
    if not isinstance(travel, RoadTravel):
        return None
    segs = travel.segments()
    geoms = [LineString(s) for s in segs]
    rows = [{"color": "#b0b0b0", "weight": 1.0, "popup": ""} for _ in geoms]
    return Layer("roads", "scenario", _frame(rows, geoms), (LegendEntry("roads", "#b0b0b0",
                                                                        "line"),))


# ------------------------------------------------------------------ enrolment layers
@layer("student_cells")
def student_cells_layer(sc: Scenario, plan: Plan, lang: str) -> Layer | None:
    """Students counted per grid cell by tier (never an exact home)."""
    ids = [d.student_id for d in plan.get(PlacementResult).decisions
           if d.student_id in sc.student_by_id]
    if not ids:
        return None
    tiers = plan.get(PlacementResult).tier_of()
    ix, iy = home_cells(sc, ids)
    cells: dict[tuple[int, int], Counter[str]] = defaultdict(Counter)
    for sid, a, b in zip(ids, ix, iy, strict=True):
        t = tiers[sid]
        cells[(int(a), int(b))][t.value if t else "undecided"] += 1
    keys = sorted(cells)
    totals = np.array([sum(cells[k].values()) for k in keys], float)
    cmap = colormaps["Blues"]
    norm = Normalize(0, max(1.0, float(totals.max())))
    rows = []
    for k, total in zip(keys, totals, strict=True):
        c = cells[k]
        rows.append({"students": int(total), "lrc": c["lrc"], "special": c["special"],
                     "home": c["home"], "undecided": c["undecided"],
                     "color": to_hex(cmap(0.35 + 0.65 * norm(total))),
                     "fill_color": to_hex(cmap(0.2 + 0.8 * norm(total))),
                     "weight": 0.3, "fill_opacity": 0.55,
                     "popup": _popup(f"{int(total)} {label('students', lang)}",
                                     [(label("lrc", lang), c["lrc"]),
                                      (label("special", lang), c["special"]),
                                      (label("home", lang), c["home"])])})
    title = label("student_cells", lang, grid=grid_text(sc.policy.privacy_grid_m, lang))
    return Layer("student_cells", "placement",
                 _frame(rows, [cell_polygon(sc, *k) for k in keys]),
                 (LegendEntry("student_cells", to_hex(cmap(0.7)), "box", title),), show=False,
                 title=title)


def _flows(sc: Scenario, plan: Plan, lang: str, tier: Tier, name: str) -> Layer | None:
    seats = [s for s in plan.get(EnrolmentResult).seats if s.tier is tier
             and s.student_id in sc.student_by_id]
    if not seats:
        return None
    ix, iy = home_cells(sc, [s.student_id for s in seats])
    groups: dict[tuple[int, int, str], list[float]] = defaultdict(list)
    for s, a, b in zip(seats, ix, iy, strict=True):
        groups[(int(a), int(b), s.school_id)].append(s.travel_minutes)
    keys = sorted(groups)
    means = np.array([np.mean(groups[k]) for k in keys])
    vmax = float(max(sc.policy.max_home_school_minutes, means.max()))
    colors = travel_color(means, vmax)
    rows, geoms = [], []
    for k, mean, color in zip(keys, means, colors, strict=True):
        school = sc.school_by_id[k[2]]
        n = len(groups[k])
        rows.append({"school_id": k[2], "students": n, "mean_travel_minutes": round(mean, 1),
                     "max_travel_minutes": round(max(groups[k]), 1), "color": color,
                     "weight": 1.2 + 0.8 * np.sqrt(n), "popup": _popup(
                         school.name, [(label("students", lang), n),
                                       (label("mean_travel", lang), round(mean, 1))])})
        geoms.append(LineString([cell_centre(sc, k[0], k[1]), (school.lon, school.lat)]))
    return Layer(name, "enrolment", _frame(rows, geoms),
                 (LegendEntry(name, colors[0], "line"),), show=tier is Tier.LRC,
                 colorbar=("travel_minutes", 0.0, vmax))


@layer("enrolment_flows")
def lrc_flows_layer(sc: Scenario, plan: Plan, lang: str) -> Layer | None:
    """Aggregated lines from each home cell to the assigned regular school."""
    return _flows(sc, plan, lang, Tier.LRC, "enrolment_flows")


@layer("special_flows")
def special_flows_layer(sc: Scenario, plan: Plan, lang: str) -> Layer | None:
    """Aggregated lines from each home cell to the special school."""
    return _flows(sc, plan, lang, Tier.SPECIAL, "special_flows")


@layer("unplaced_areas")
def unplaced_layer(sc: Scenario, plan: Plan, lang: str) -> Layer | None:
    """Grid cells holding unplaced students, with their grades and reasons."""
    un = [u for u in plan.get(EnrolmentResult).unplaced if u.student_id in sc.student_by_id]
    legend = (LegendEntry("unplaced_areas", UNPLACED_COLOR, "box"),)
    if not un:  # an empty layer still: the file is always there for GIS users
        return Layer("unplaced_areas", "enrolment", _frame([], []), legend)
    ix, iy = home_cells(sc, [u.student_id for u in un])
    cells: dict[tuple[int, int], list[object]] = defaultdict(list)
    for u, a, b in zip(un, ix, iy, strict=True):
        cells[(int(a), int(b))].append(u)
    rows = []
    for k in sorted(cells):
        us = cells[k]
        reasons = sorted({u.reason for u in us})  # type: ignore[attr-defined]
        grades = sorted({u.grade for u in us})  # type: ignore[attr-defined]
        rows.append({"students": len(us), "grades": ",".join(map(str, grades)),
                     "reasons": " | ".join(reasons), "color": UNPLACED_COLOR,
                     "fill_color": UNPLACED_COLOR, "weight": 2.0, "fill_opacity": 0.45,
                     "popup": _popup(f"{len(us)} {label('unplaced_areas', lang)}",
                                     [(label("grade", lang), ", ".join(map(str, grades))),
                                      *((label("reason", lang), r) for r in reasons)])})
    return Layer("unplaced_areas", "enrolment",
                 _frame(rows, [cell_polygon(sc, *k) for k in sorted(cells)]), legend)


@layer("schools")
def schools_layer(sc: Scenario, plan: Plan, lang: str) -> Layer | None:
    """Schools sized by LRC students, ringed by resource-room status; popups with numbers."""
    loads = {x.school_id: x for x in plan.get(EnrolmentResult).schools}
    per_grade: dict[str, Counter[int]] = defaultdict(Counter)
    for s in plan.get(EnrolmentResult).seats:
        if s.tier is Tier.LRC:
            per_grade[s.school_id][s.grade] += 1
    special = Counter(s.school_id for s in plan.get(EnrolmentResult).seats
                      if s.tier is Tier.SPECIAL)
    rows, geoms = [], []
    for school in sc.schools:
        load = loads.get(school.id)
        n = load.lrc_students if load else 0
        status = ("room" if school.resource_room
                  else "required" if load and load.room_required else school.kind.value)
        ring = {"room": ROOM_COLOR, "required": REQUIRED_COLOR}.get(status, "#ffffff")
        classes = sc.classes_per_grade(school.id)
        info: list[tuple[str, object]] = [
            (label("town", lang), school.town),
            (label(school.kind.value, lang), school.level.value),
            (label("classes", lang), ", ".join(f"G{g}: {c}" for g, c in classes.items())),
        ]
        if school.kind is SchoolKind.REGULAR:
            grades = per_grade.get(school.id, Counter())
            info += [(label("lrc_students", lang),
                      f"{n} (" + ", ".join(f"G{g}: {c}" for g, c in sorted(grades.items()))
                      + ")" if n else "0"),
                     (label("resource_room", lang),
                      label("yes", lang) if school.resource_room
                      else label("needed", lang) if load and load.room_required
                      else label("no", lang))]
            if load:
                info.append((label("resource_teachers", lang),
                             f"{load.resource_teachers_needed} / "
                             f"{load.resource_teachers_present}"))
        elif school.kind is SchoolKind.SPECIAL:
            info.append((label("students", lang), special[school.id]))
        rows.append({"id": school.id, "name": school.name, "kind": school.kind.value,
                     "town": school.town, "lrc_students": n, "status": status,
                     "resource_room": school.resource_room,
                     "room_required": bool(load and load.room_required),
                     "color": ring, "fill_color": KIND_COLORS[school.kind.value],
                     "radius": 4.0 + 2.2 * float(np.sqrt(n + special[school.id] / 4)),
                     "weight": 2.5 if status in ("room", "required") else 1.0,
                     "fill_opacity": 0.9, "popup": _popup(school.name, info)})
        geoms.append(Point(school.lon, school.lat))
    legend = (LegendEntry("regular", KIND_COLORS["regular"]),
              LegendEntry("special", KIND_COLORS["special"]),
              LegendEntry("centre", KIND_COLORS["centre"]),
              LegendEntry("room", ROOM_COLOR, "ring"),
              LegendEntry("required", REQUIRED_COLOR, "ring"),
              LegendEntry("lrc_size", "#888888", "sizes"))
    return Layer("schools", "enrolment", _frame(rows, geoms), legend)
