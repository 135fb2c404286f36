"""Route lines along the road network: `RoadTravel.paths` and the `routes` map layer.

The hand-made network (times in seconds, `>` one way):

    d --30-- e --30-- f
    |       ^|        |
   30    10 |        30          plus an island g --10-- h
    |       |         |
    a --100- b --100- c
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from conftest import ROOT

from lrcplan.maps.layers import build_layers, cell_centre, home_cells, load_stage_maps
from lrcplan.maps.render import save_plan
from lrcplan.maps.routes import _leg_lines, places, routes_layer
from lrcplan.models.io import load_scenario
from lrcplan.models.plan import Plan, StageSummary, Status
from lrcplan.models.routes import RoutesResult, Stop
from lrcplan.models.scenario import Scenario
from lrcplan.models.travel import GreatCircleTravel, RoadTravel
from lrcplan.models.travelbase import haversine_m
from lrcplan.optimizer.pipeline import run_plan

ACCESS_KMH = 5.0
XY = {"a": (120.00, 30.20), "b": (120.01, 30.20), "c": (120.02, 30.20),
      "d": (120.00, 30.21), "e": (120.01, 30.21), "f": (120.02, 30.21),
      "g": (120.05, 30.25), "h": (120.06, 30.25)}
TWO_WAY = {("a", "b"): 100.0, ("b", "c"): 100.0, ("a", "d"): 30.0, ("d", "e"): 30.0,
           ("e", "f"): 30.0, ("f", "c"): 30.0, ("g", "h"): 10.0}
ONE_WAY = {("b", "e"): 10.0}
TIME = {**TWO_WAY, **{(v, u): t for (u, v), t in TWO_WAY.items()}, **ONE_WAY}


@pytest.fixture(scope="module")
def road() -> RoadTravel:
    g = nx.DiGraph()
    for n, (x, y) in XY.items():
        g.add_node(n, x=x, y=y)
    for (u, v), t in TIME.items():
        g.add_edge(u, v, travel_time=t)
    return RoadTravel.from_graph(g, access_speed_kmh=ACCESS_KMH)


def off(node: str, dx: float, dy: float) -> tuple[float, float]:
    return XY[node][0] + dx, XY[node][1] + dy


def access_s(p: tuple[float, float], q: tuple[float, float]) -> float:
    return float(haversine_m(p[0], p[1], q[0], q[1])) / (ACCESS_KMH / 3.6)


@pytest.mark.parametrize(("a", "b", "via"), [
    ("a", "c", "adefc"),  # the ring beats the slow bottom road
    ("c", "a", "cfeda"),
    ("b", "f", "bef"),  # the one-way shortcut b > e
    ("f", "b", "fcb"),  # not back against it
])
def test_path_follows_the_fastest_roads_and_matches_the_matrix_time(
        road: RoadTravel, a: str, b: str, via: str) -> None:
    o, d = off(a, 0.0003, -0.0002), off(b, 0.0002, 0.0003)
    (line,) = road.paths(np.array([o]), np.array([d]))
    assert [tuple(p) for p in line] == [o, *(XY[n] for n in via), d]
    m = road.matrix(np.array([o]), np.array([d]))
    edges = sum(TIME[(u, v)] for u, v in zip(via, via[1:], strict=False))
    total = edges + access_s(o, XY[a]) + access_s(d, XY[b])
    assert m.duration_s[0, 0] == pytest.approx(total, rel=1e-12)


def test_paths_in_a_batch_match_pairs_and_fall_back_straight(road: RoadTravel) -> None:
    o = np.array([XY["a"], off("a", 0.0001, 0), XY["f"], XY["a"], XY["c"]])
    d = np.array([XY["c"], XY["f"], XY["b"], off("h", 0, 0.001), XY["c"]])
    lines = road.paths(o, d)
    _, dur = road.pairs(o, d)
    for line, p, q, t in zip(lines, o, d, dur, strict=True):
        assert tuple(line[0]) == tuple(p) and tuple(line[-1]) == tuple(q)
        if (p == q).all():
            assert t == 0 and line.shape == (2, 2)
            continue
        if not np.isfinite(t):  # a to the island: no path, a straight line
            assert line.shape == (2, 2)
            continue
        node = {xy: n for n, xy in XY.items()}
        # The road nodes, with an end point that lies on its node counted as that node.
        inner = [node[tuple(v)] for v in line if tuple(v) in node]
        assert len(inner) >= len(line) - 2
        edges = sum(TIME[(u, v)] for u, v in zip(inner, inner[1:], strict=False))
        total = edges + access_s(tuple(p), XY[inner[0]]) + access_s(tuple(q), XY[inner[-1]])
        assert t == pytest.approx(total, rel=1e-12)
        assert (line[1:] != line[:-1]).any(axis=1).all()  # no repeated vertex
    assert [tuple(v) for v in lines[0]] == [XY[n] for n in "adefc"]  # points on nodes
    assert road.paths(np.zeros((0, 2)), np.zeros((0, 2))) == []


# --- the routes layer on a hand-made district ----------------------------------------------

K0, K1, HOME = (120.0, 30.2), (120.04, 30.2), (120.0205, 30.2003)


def _district(tmp_path: Path, roads: bool) -> tuple[Scenario, Plan, dict[str, tuple]]:
    """Schools K0 and K1, a home-taught student between them, and one teacher-day
    K0 > home > K1 > K0. Roads: north of the schools, with a spur into the home's cell."""
    from districts import district

    sc = district([("K0", 0.0, 1), ("K1", 0.0, 1)], [("h1", 0.0, None)])
    sc = replace(sc, schools=(replace(sc.schools[0], lon=K0[0], lat=K0[1]),
                              replace(sc.schools[1], lon=K1[0], lat=K1[1])),
                 students=(replace(sc.students[0], lon=HOME[0], lat=HOME[1]),))
    (ix,), (iy,) = home_cells(sc, ["h1"])
    centre = cell_centre(sc, int(ix), int(iy))
    c = (centre.x, centre.y)
    nodes = {"K0": K0, "N0": (K0[0], 30.215), "N1": (120.02, 30.215),
             "N2": (K1[0], 30.215), "K1": K1,
             "P1": (c[0], c[1] + 0.003), "P0": (c[0] + 0.001, c[1])}
    if roads:
        g = nx.Graph()
        for n, (x, y) in nodes.items():
            g.add_node(n, x=x, y=y)
        for u, v in [("K0", "N0"), ("N0", "N1"), ("N1", "N2"), ("N2", "K1"), ("N1", "P1"),
                     ("P1", "P0")]:
            g.add_edge(u, v)
        path = tmp_path / "roads.graphml"
        nx.write_graphml(g, path)
        sc = replace(sc, roads=path)
    kinds = [("K0", "base", ""), ("h1", "home", "h:1"), ("K1", "itinerant", "K1:1"),
             ("K0", "base", "")]
    stops = tuple(Stop("T1", 1, "Mon", i, site, kind, vid, 480 + 60 * i, 480 + 60 * i,
                       480 + 60 * i + (45 if vid else 0), 10.0 if i else 0.0)
                  for i, (site, kind, vid) in enumerate(kinds))
    result = RoutesResult(StageSummary("routes", Status.DONE, 0.0), (), stops)
    return sc, Plan(sc.name, "x", "x", (result,)), {**nodes, "centre": c}


def _in_cell(sc: Scenario, cell: tuple[int, int], xy: np.ndarray) -> np.ndarray:
    x, y = sc.project(xy[:, 0], xy[:, 1])
    g = sc.policy.privacy_grid_m
    return (np.floor(x / g) == cell[0]) & (np.floor(y / g) == cell[1])


def test_routes_layer_follows_roads_and_stops_at_the_home_cell(tmp_path: Path) -> None:
    sc, plan, at = _district(tmp_path, roads=True)
    road = sc.travel
    assert isinstance(road, RoadTravel)
    cell = places(sc, ["h1"])["h1"].cell
    assert cell is not None
    # The spur's nodes are inside the home's cell, the rest of the network outside it.
    inside = _in_cell(sc, cell, np.array([at[n] for n in ("P1", "P0", "N1", "N0", "N2")]))
    assert inside.tolist() == [True, True, False, False, False]
    # Routed between the cell centre and the schools, the raw paths enter the cell ...
    raw = road.paths(np.array([K0, at["centre"]]), np.array([at["centre"], K1]))
    assert [tuple(v) for v in raw[0]] == [K0, at["N0"], at["N1"], at["P1"], at["P0"],
                                         at["centre"]]
    # ... but the drawn line keeps no vertex inside the cell other than its centre.
    (line,) = routes_layer(sc, plan, "en").frame.geometry
    coords = [tuple(v) for v in line.coords]
    assert coords == [K0, at["N0"], at["N1"], at["centre"], at["N1"], at["N2"], K1,
                      at["N2"], at["N1"], at["N0"], K0]
    xy = np.array(coords)
    assert coords.count(at["centre"]) == 1
    assert not _in_cell(sc, cell, xy[[v != at["centre"] for v in coords]]).any()
    assert HOME not in coords


def test_routes_layer_is_straight_without_roads(tmp_path: Path) -> None:
    sc, plan, at = _district(tmp_path, roads=False)
    assert isinstance(sc.travel, GreatCircleTravel)
    (line,) = routes_layer(sc, plan, "en").frame.geometry
    assert [tuple(v) for v in line.coords] == [K0, at["centre"], K1, K0]


# --- the demo plan on a road grid: every output, and privacy on every home leg --------------

def _grid_roads(sc: Scenario, path: Path, step: float = 0.004) -> Path:
    """A square road grid covering the district, written as GraphML."""
    lon = [p.lon for p in (*sc.schools, *sc.students)]
    lat = [p.lat for p in (*sc.schools, *sc.students)]
    xs = np.arange(min(lon) - 0.01, max(lon) + 0.01, step)
    ys = np.arange(min(lat) - 0.01, max(lat) + 0.01, step)
    g = nx.grid_2d_graph(len(xs), len(ys))
    for i, j in g.nodes:
        g.nodes[(i, j)].update(x=float(xs[i]), y=float(ys[j]))
    nx.write_graphml(nx.convert_node_labels_to_integers(g), path)
    return path


def test_demo_routes_by_road_in_every_output(tmp_path: Path) -> None:
    import pyogrio

    base = load_scenario(ROOT / "scenarios" / "demo")
    plan = run_plan(base, created="2026-11-23T09:00:00")
    sc = replace(base, roads=_grid_roads(base, tmp_path / "grid.graphml"))
    road = sc.travel
    assert isinstance(road, RoadTravel)
    load_stage_maps()
    layers = {lay.name: lay for lay in build_layers(sc, plan)}
    straight = {lay.name: lay for lay in build_layers(base, plan)}["routes"].frame
    routes = layers["routes"].frame
    assert len(routes) == len(straight) == len(plan.get(RoutesResult).days)
    pairs = list(zip(routes.geometry, straight.geometry, strict=True))
    assert all(len(a.coords) >= len(b.coords) for a, b in pairs)
    assert sum(len(a.coords) for a, _ in pairs) > 2 * sum(len(b.coords) for _, b in pairs)
    # Every vertex is a stop as shown (school or cell centre) or a road node.
    result = plan.get(RoutesResult)
    where = places(sc, {s.site_id for s in result.stops})
    shown = {(p.point.x, p.point.y) for p in where.values()}
    nodes = {(float(x), float(y)) for x, y in zip(road.lon, road.lat, strict=True)}
    assert {v for g in routes.geometry for v in g.coords} <= shown | nodes
    # Privacy, leg by leg: between its two stops as shown, no vertex of a leg to or from a
    # home lies in that home's cell (a school may: it is public); no exact home anywhere.
    legs = {(where[a.site_id], where[b.site_id])
            for stops in result.days.values() for a, b in zip(stops, stops[1:], strict=False)
            if a.site_id in where and b.site_id in where
            and where[a.site_id].point != where[b.site_id].point}
    lines = _leg_lines(sc, sorted(legs, key=str))
    homes = [p for p in where.values() if p.home]
    assert homes and any(len(lines[k]) > 2 for k in lines if k[0].home or k[1].home)
    for (a, b), line in lines.items():
        assert tuple(line[0]) == (a.point.x, a.point.y)
        assert tuple(line[-1]) == (b.point.x, b.point.y)
        for p in (a, b):
            if p.home:
                assert p.cell is not None
                assert not _in_cell(sc, p.cell, line[1:-1]).any()
    exact = {(sc.student_by_id[p.site_id].lon, sc.student_by_id[p.site_id].lat)
             for p in homes}
    assert not exact & {v for g in routes.geometry for v in g.coords}
    # map.html, map.png and plan.gpkg all carry the road-following lines.
    out = save_plan(plan, sc, tmp_path / "plan")
    assert (out / "map.png").stat().st_size > 0 and (out / "map.html").exists()
    gpkg = pyogrio.read_dataframe(out / "plan.gpkg", layer="routes")
    assert [len(g.coords) for g in gpkg.geometry] == [len(g.coords) for g in routes.geometry]
