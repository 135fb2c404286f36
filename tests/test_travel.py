"""Travel models: great circle and the tiny hand-made road network in tests/data/roads.

Expected road times are worked out here by hand from the network drawing in tiny.osm:

    D(4) ==primary, maxspeed 60== E(5) ==primary== F(6)
    ^ service, one-way D->A      ^ tertiary, one-way B->E   | residential
    A(1) ------residential------ B(2) ----residential------ C(3)

plus an ignored footway A-P(9)-E and a separate island G(7)-H(8).
"""

from __future__ import annotations

import bz2
import gzip
import math
import shutil
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest

from lrcplan.models import greatcircle, roads, travel
from lrcplan.models.travel import (
    GreatCircleTravel,
    RoadNetworkError,
    RoadTravel,
    SparseTravel,
    TravelMatrix,
    TravelModel,
)

ROADS = Path(__file__).parent / "data" / "roads"
OSM = ROADS / "tiny.osm"
GRAPHML = ROADS / "tiny.graphml"

R = 6371008.8
# Class speeds for the tests, so expectations do not depend on the default table.
SPEEDS = {"residential": 20.0, "tertiary": 30.0, "service": 10.0, "primary": 40.0}
MAXSPEED_PRIMARY = 60.0  # tagged on D-E-F; wins over the primary class speed
ACCESS_KMH = 5.0

NODES: dict[int, tuple[float, float]] = {
    1: (120.2000, 30.2000), 2: (120.2050, 30.2000), 3: (120.2100, 30.2000),
    4: (120.2000, 30.2050), 5: (120.2050, 30.2050), 6: (120.2100, 30.2050),
    7: (120.2300, 30.2200), 8: (120.2350, 30.2200),
}
A, B, C, D, E, F, G, H = range(1, 9)
FOOTWAY_NODE = (120.2030, 30.2030)


def hav(p: tuple[float, float], q: tuple[float, float]) -> float:
    """Haversine metres, written out independently of the implementation."""
    lon1, lat1, lon2, lat2 = map(math.radians, (*p, *q))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * R * math.asin(math.sqrt(h))


def seg(a: int, b: int) -> float:
    return hav(NODES[a], NODES[b])


def secs(metres: float, kmh: float) -> float:
    return metres / (kmh / 3.6)


# Every usable directed edge: (from, to) -> (length m, time s).
EDGES: dict[tuple[int, int], tuple[float, float]] = {}
for _u, _v, _kmh, _both in [
    (A, B, SPEEDS["residential"], True), (B, C, SPEEDS["residential"], True),
    (D, E, MAXSPEED_PRIMARY, True), (E, F, MAXSPEED_PRIMARY, True),
    (B, E, SPEEDS["tertiary"], False), (C, F, SPEEDS["residential"], True),
    (D, A, SPEEDS["service"], False), (G, H, SPEEDS["residential"], True),
]:
    EDGES[(_u, _v)] = (seg(_u, _v), secs(seg(_u, _v), _kmh))
    if _both:
        EDGES[(_v, _u)] = EDGES[(_u, _v)]


def path(*nodes: int) -> tuple[float, float]:
    """(length m, time s) along a node sequence, asserting each edge exists."""
    steps = [EDGES[(a, b)] for a, b in zip(nodes, nodes[1:], strict=False)]
    return sum(s[0] for s in steps), sum(s[1] for s in steps)


def pts(*ids: int) -> np.ndarray:
    return np.array([NODES[i] for i in ids], float)


@pytest.fixture(scope="module", params=["osm", "graphml"])
def road(request: pytest.FixtureRequest) -> RoadTravel:
    if request.param == "osm":
        return RoadTravel.from_osm_xml(OSM, speeds_kmh=SPEEDS, access_speed_kmh=ACCESS_KMH)
    return RoadTravel.from_graphml(GRAPHML, speeds_kmh=SPEEDS, access_speed_kmh=ACCESS_KMH)


def one(model: TravelModel, p: tuple[float, float], q: tuple[float, float]
        ) -> tuple[float, float]:
    m = model.matrix(np.array([p]), np.array([q]))
    return float(m.distance_m[0, 0]), float(m.duration_s[0, 0])


# --- road network: hand-computed paths ----------------------------------------------------


def test_sanity_of_the_hand_model() -> None:
    # The alternatives really are slower, so the assertions below test routing choices.
    assert path(D, A)[1] < path(D, E, F, C, B, A)[1]
    assert path(E, F, C, B)[1] < path(E, D, A, B)[1]
    assert path(E, D, A)[1] < path(E, F, C, B, A)[1]


@pytest.mark.parametrize(
    ("a", "b", "via"),
    [
        (A, D, (A, B, E, D)),  # D->A is one-way, so A->D goes round
        (D, A, (D, A)),  # the one-way service road (oneway=-1 drawn A to D)
        (B, E, (B, E)),  # one-way tertiary
        (E, B, (E, F, C, B)),  # not against the one-way
        (E, A, (E, D, A)),
        (A, E, (A, B, E)),  # the footway A-P-E must not be a shortcut
        (D, F, (D, E, F)),  # primary at maxspeed 60, not the class speed 40
        (C, F, (C, F)),  # unparsable maxspeed "CN:urban": residential speed
        (G, H, (G, H)),
        (A, A, (A,)),
    ],
)
def test_known_shortest_paths(road: RoadTravel, a: int, b: int, via: tuple[int, ...]) -> None:
    dist, dur = one(road, NODES[a], NODES[b])
    want_dist, want_dur = path(*via)
    assert dur == pytest.approx(want_dur, rel=1e-9, abs=1e-9)
    assert dist == pytest.approx(want_dist, rel=1e-9, abs=1e-9)


def test_one_way_respected(road: RoadTravel) -> None:
    m = road.matrix(pts(A, B, D, E), pts(A, B, D, E))
    assert m.duration_s[0, 2] != pytest.approx(m.duration_s[2, 0])  # A->D vs D->A
    assert m.duration_s[1, 3] < m.duration_s[3, 1]  # B->E direct, E->B round
    assert not np.allclose(m.duration_s, m.duration_s.T)


def test_unreachable_is_inf(road: RoadTravel) -> None:
    m = road.matrix(pts(A, G), pts(H, C))
    assert np.isinf(m.duration_s[0, 0]) and np.isinf(m.distance_m[0, 0])  # A->H
    assert np.isinf(m.duration_s[1, 1]) and np.isinf(m.distance_m[1, 1])  # G->C
    assert np.isfinite(m.duration_s[0, 1]) and np.isfinite(m.duration_s[1, 0])
    dist, dur = road.pairs(pts(A, G), pts(H, H))
    assert np.isinf(dur[0]) and np.isinf(dist[0]) and np.isfinite(dur[1])
    w = road.within(pts(A, G), pts(H, C), max_duration_s=1e9)
    assert {(int(o), int(d)) for o, d in zip(w.origin, w.dest, strict=True)} == {(0, 1), (1, 0)}


def test_snapping_chooses_nearest_road_node(road: RoadTravel) -> None:
    near_e = (120.2052, 30.2049)
    ids, access = road.snap(np.array([near_e, FOOTWAY_NODE, NODES[C]]))
    # The footway's own node is not a road node; E is the nearest one that is.
    assert [str(i) for i in ids] == ["5", "5", "3"]
    assert access[0] == pytest.approx(hav(near_e, NODES[E]), rel=1e-9)
    assert access[2] == pytest.approx(0.0, abs=1e-6)


def test_access_legs_added_at_both_ends(road: RoadTravel) -> None:
    p = (120.2052, 30.2049)  # snaps to E
    q = (120.2098, 30.1995)  # snaps to C
    net_dist, net_dur = path(E, F, C)
    leg_p, leg_q = hav(p, NODES[E]), hav(q, NODES[C])
    dist, dur = one(road, p, q)
    assert dist == pytest.approx(leg_p + net_dist + leg_q, rel=1e-9)
    assert dur == pytest.approx(secs(leg_p, ACCESS_KMH) + net_dur + secs(leg_q, ACCESS_KMH),
                                rel=1e-9)
    # Two points snapping to the same node: just the two legs, no network time.
    dist, dur = one(road, p, FOOTWAY_NODE)
    legs = hav(p, NODES[E]) + hav(FOOTWAY_NODE, NODES[E])
    assert dist == pytest.approx(legs, rel=1e-9)
    assert dur == pytest.approx(secs(legs, ACCESS_KMH), rel=1e-9)


def _random_points(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.column_stack([rng.uniform(120.198, 120.237, n), rng.uniform(30.198, 30.222, n)])


def _as_dict(sp: SparseTravel) -> dict[tuple[int, int], tuple[float, float]]:
    return {(int(o), int(d)): (float(m), float(s)) for o, d, m, s in
            zip(sp.origin, sp.dest, sp.distance_m, sp.duration_s, strict=True)}


def _assert_within_is_filtered_matrix(
    model: TravelModel, o: np.ndarray, d: np.ndarray, limit: float
) -> None:
    m = model.matrix(o, d)
    w = model.within(o, d, max_duration_s=limit)
    rows, cols = np.nonzero(m.duration_s <= limit)
    assert set(_as_dict(w)) == set(zip(rows.tolist(), cols.tolist(), strict=True))
    np.testing.assert_allclose(w.duration_s, m.duration_s[w.origin, w.dest], rtol=1e-12)
    np.testing.assert_allclose(w.distance_m, m.distance_m[w.origin, w.dest], rtol=1e-12)
    order = np.lexsort((w.dest, w.duration_s, w.origin))
    np.testing.assert_array_equal(order, np.arange(len(w)))  # sorted as documented
    assert w.origin.dtype == np.int64 and w.dest.dtype == np.int64


@pytest.mark.parametrize("limit", [0.0, 60.0, 150.0, 400.0, 2000.0, math.inf])
@pytest.mark.parametrize(("n_o", "n_d"), [(25, 9), (7, 30)])  # both dijkstra directions
def test_road_within_equals_filtered_matrix(
    road: RoadTravel, limit: float, n_o: int, n_d: int
) -> None:
    rng = np.random.default_rng(11)
    o = np.vstack([_random_points(rng, n_o), pts(A, B, E)])
    d = np.vstack([_random_points(rng, n_d), pts(A, D, E, G)])
    _assert_within_is_filtered_matrix(road, o, d, limit)


def test_both_directions_and_blocks_agree(road: RoadTravel,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    o, d = _random_points(rng, 40), _random_points(rng, 6)
    full = road.matrix(o, d)  # few destinations: dijkstra runs on the reversed graph
    t = road.matrix(d, o)  # the other way round, forward graph; one-way makes it differ
    assert full.duration_s.shape == t.duration_s.shape[::-1]
    # Every origin alone forces the forward direction; the result must be the same.
    for i in range(0, 40, 7):
        row = road.matrix(o[i:i + 1], d)
        np.testing.assert_allclose(row.duration_s[0], full.duration_s[i], rtol=1e-12)
        np.testing.assert_allclose(row.distance_m[0], full.distance_m[i], rtol=1e-12)
    # One dijkstra source per call (many blocks) changes nothing.
    monkeypatch.setattr(roads, "_DIJKSTRA_CELLS", 1)
    again = road.matrix(o, d)
    np.testing.assert_array_equal(again.duration_s, full.duration_s)
    np.testing.assert_array_equal(again.distance_m, full.distance_m)
    _assert_within_is_filtered_matrix(road, o, d, 300.0)


def test_pairs_is_the_matrix_diagonal(road: RoadTravel) -> None:
    rng = np.random.default_rng(3)
    o, d = _random_points(rng, 30), _random_points(rng, 30)
    d[:5] = o[:5]
    m = road.matrix(o, d)
    dist, dur = road.pairs(o, d)
    np.testing.assert_allclose(dur, np.diag(m.duration_s), rtol=1e-12)
    np.testing.assert_allclose(dist, np.diag(m.distance_m), rtol=1e-12)
    dist, dur = road.pairs(o[:1], d[:1])
    assert dur.shape == (1,)
    with pytest.raises(ValueError, match="as many origins as destinations"):
        road.pairs(o, d[:3])


@pytest.mark.parametrize("k", [1, 2, 5])
def test_nearest_is_within_cut_at_k(road: RoadTravel, k: int) -> None:
    rng = np.random.default_rng(9)
    o, d = _random_points(rng, 20), _random_points(rng, 12)
    w = _as_dict(road.within(o, d, max_duration_s=600.0))
    near = road.nearest(o, d, k=k, max_duration_s=600.0)
    got = _as_dict(near)
    assert set(got) <= set(w)
    for i in range(len(o)):
        mine = sorted(((v[1], j) for (oi, j), v in w.items() if oi == i))[:k]
        assert [(j) for _, j in mine] == [j for (oi, j) in got if oi == i]


def test_both_file_formats_give_the_same_matrix() -> None:
    osm = RoadTravel.from_osm_xml(OSM, speeds_kmh=SPEEDS)
    gml = RoadTravel.from_graphml(GRAPHML, speeds_kmh=SPEEDS)
    assert osm.n_edges == gml.n_edges == len(EDGES)
    rng = np.random.default_rng(21)
    o, d = _random_points(rng, 15), _random_points(rng, 11)
    a, b = osm.matrix(o, d), gml.matrix(o, d)
    np.testing.assert_allclose(a.duration_s, b.duration_s, rtol=1e-12)
    np.testing.assert_allclose(a.distance_m, b.distance_m, rtol=1e-12)


@pytest.mark.parametrize(("suffix", "opener"), [(".gz", gzip.open), (".bz2", bz2.open)])
def test_compressed_osm(tmp_path: Path, suffix: str, opener: Any) -> None:
    packed = tmp_path / f"tiny.osm{suffix}"
    with OSM.open("rb") as src, opener(packed, "wb") as dst:
        shutil.copyfileobj(src, dst)
    a = RoadTravel.from_osm_xml(packed, speeds_kmh=SPEEDS)
    assert one(a, NODES[A], NODES[D])[1] == pytest.approx(path(A, B, E, D)[1], rel=1e-9)


def test_clipped_way_keeps_its_segments_inside_the_file(tmp_path: Path) -> None:
    # Way C-F gains a node that is not in the file (an extract clipped at its edge): its
    # segments touching that node go, everything else stays routable as before.
    text = OSM.read_text(encoding="utf-8").replace(
        '<nd ref="3"/>\n    <nd ref="6"/>', '<nd ref="3"/>\n    <nd ref="999"/>\n    <nd ref="6"/>')
    assert 'ref="999"' in text
    p = tmp_path / "clipped.osm"
    p.write_text(text, encoding="utf-8")
    rt = RoadTravel.from_osm_xml(p, speeds_kmh=SPEEDS)
    assert rt.n_edges == len(EDGES) - 2  # C->F and F->C
    assert one(rt, NODES[C], NODES[F]) == pytest.approx(path(C, B, E, F), rel=1e-9)


def test_facade_exports_every_public_name() -> None:
    for name in travel.__all__:
        assert getattr(travel, name) is not None
    assert travel.RoadTravel is roads.RoadTravel
    assert travel.GreatCircleTravel is greatcircle.GreatCircleTravel
    assert issubclass(travel.RoadNetworkError, ValueError)


def test_default_speeds_are_used_without_overrides() -> None:
    rt = RoadTravel.from_osm_xml(OSM)
    length = seg(A, B)
    assert one(rt, NODES[A], NODES[B])[1] == pytest.approx(
        secs(length, travel.DEFAULT_SPEEDS_KMH["residential"]), rel=1e-9)


def test_from_graph_undirected_zero_length_and_parallel_edges() -> None:
    g = nx.MultiGraph()
    g.add_node("a", x=120.0, y=30.0)
    g.add_node("b", x=120.01, y=30.0)
    g.add_node("b2", x=120.01, y=30.0)  # same spot as b: a zero-length, zero-time link
    g.add_node("c", x=120.01, y=30.01)
    g.add_edge("a", "b", length=1000.0, travel_time=100.0)
    g.add_edge("a", "b", length=900.0, travel_time=300.0)  # shorter but slower: unused
    g.add_edge("b", "b2", length=0.0, travel_time=0.0)
    g.add_edge("b2", "c", length=1100.0, speed_kph=36.0)  # 10 m/s
    rt = RoadTravel.from_graph(g)
    m = rt.matrix(np.array([[120.0, 30.0]]), np.array([[120.01, 30.01]]))
    assert m.duration_s[0, 0] == pytest.approx(100.0 + 0.0 + 110.0)
    assert m.distance_m[0, 0] == pytest.approx(1000.0 + 1100.0)
    back = rt.matrix(np.array([[120.01, 30.01]]), np.array([[120.0, 30.0]]))
    assert back.duration_s[0, 0] == pytest.approx(210.0)  # undirected: both ways


def test_from_graph_speed_fallbacks() -> None:
    g = nx.DiGraph()
    for i in range(4):
        g.add_node(i, x=120.0 + 0.01 * i, y=30.0)
    g.add_edge(0, 1, length=100.0, highway="['tertiary', 'residential']")
    g.add_edge(1, 2, length=100.0, maxspeed="36")
    g.add_edge(2, 3, highway="unknown")  # no length: haversine; unknown class: default
    rt = RoadTravel.from_graph(g, speeds_kmh={"tertiary": 18.0}, default_speed_kmh=7.2)
    dist, dur = rt.pairs(np.array([[120.0, 30.0]] * 3),
                         np.array([[120.01, 30.0], [120.02, 30.0], [120.03, 30.0]]))
    leg = hav((120.02, 30.0), (120.03, 30.0))
    np.testing.assert_allclose(dur, [20.0, 30.0, 30.0 + leg / 2.0])
    np.testing.assert_allclose(dist, [100.0, 200.0, 200.0 + leg])


def test_largest_component_snaps_to_the_main_network() -> None:
    near_g = (120.2301, 30.2199)
    plain = RoadTravel.from_osm_xml(OSM, speeds_kmh=SPEEDS)
    main = RoadTravel.from_osm_xml(OSM, speeds_kmh=SPEEDS, largest_component=True)
    assert str(plain.snap(np.array([near_g]))[0][0]) == "7"
    assert str(main.snap(np.array([near_g]))[0][0]) == "6"  # F is the closest main node
    assert np.isfinite(main.matrix(np.array([near_g]), pts(A)).duration_s).all()


def test_empty_inputs(road: RoadTravel) -> None:
    none = np.zeros((0, 2))
    assert road.matrix(none, pts(A)).duration_s.shape == (0, 1)
    assert road.matrix(pts(A), none).distance_m.shape == (1, 0)
    assert len(road.within(none, pts(A), max_duration_s=100)) == 0
    assert len(road.nearest(pts(A), none, k=3)) == 0
    assert road.pairs(none, none)[0].shape == (0,)


def test_bad_points_rejected(road: RoadTravel) -> None:
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        road.matrix(np.zeros((3, 3)), pts(A))
    with pytest.raises(ValueError, match="finite"):
        road.matrix(np.array([[np.nan, 30.2]]), pts(A))
    with pytest.raises(ValueError, match="k must be"):
        road.nearest(pts(A), pts(B), k=-1)


# --- road network: bad files ----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        ("garbage.osm", "this is not xml <", "not valid OSM XML"),
        ("html.osm", "<html><body>404</body></html>", "not OSM XML"),
        ("empty.osm", "", "not valid OSM XML"),
        ("paths.osm", '<osm version="0.6"><node id="1" lat="30" lon="120"/>'
         '<node id="2" lat="30.1" lon="120"/><way id="1"><nd ref="1"/><nd ref="2"/>'
         '<tag k="highway" v="footway"/></way></osm>', "no routable roads"),
        ("badnode.osm", '<osm version="0.6"><node id="1" lat="north" lon="120"/></osm>',
         "bad id/lat/lon"),
        ("clipped.osm", '<osm version="0.6"><way id="1"><nd ref="1"/><nd ref="2"/>'
         '<tag k="highway" v="primary"/></way></osm>', "no nodes in the file"),
    ],
)
def test_bad_osm_file_raises(tmp_path: Path, name: str, text: str, reason: str) -> None:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    with pytest.raises(RoadNetworkError, match=reason) as info:
        RoadTravel.from_osm_xml(p)
    assert str(p) in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("<graphml><graph", "not valid GraphML"),
        ('<graphml xmlns="http://graphml.graphdrawing.org/xmlns"><graph edgedefault="directed">'
         '<node id="1"/><node id="2"/><edge source="1" target="2"/></graph></graphml>',
         "no x"),
        ('<graphml xmlns="http://graphml.graphdrawing.org/xmlns"><graph edgedefault="directed">'
         "</graph></graphml>", "no routable road edges"),
    ],
)
def test_bad_graphml_raises(tmp_path: Path, text: str, reason: str) -> None:
    p = tmp_path / "roads.graphml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(RoadNetworkError, match=reason) as info:
        RoadTravel.from_graphml(p)
    assert str(p) in str(info.value)


@pytest.mark.parametrize("loader", [RoadTravel.from_osm_xml, RoadTravel.from_graphml])
def test_missing_file_raises(tmp_path: Path, loader: object) -> None:
    p = tmp_path / "nowhere" / "roads.osm"
    with pytest.raises(RoadNetworkError, match="cannot read") as info:
        loader(p)  # type: ignore[operator]
    assert str(p) in str(info.value)


def test_bad_parameters() -> None:
    with pytest.raises(ValueError, match="speed_kmh must be positive, got -3"):
        GreatCircleTravel(speed_kmh=-3)
    with pytest.raises(ValueError, match="detour_factor must be positive, got 0"):
        GreatCircleTravel(detour_factor=0)
    with pytest.raises(ValueError, match="access_speed_kmh must be positive"):
        RoadTravel.from_osm_xml(OSM, access_speed_kmh=0.0)
    with pytest.raises(ValueError, match="unknown highway class 'footway'"):
        RoadTravel.from_osm_xml(OSM, speeds_kmh={"footway": 5.0})
    with pytest.raises(ValueError, match=r"speeds_kmh\['primary'\] must be positive"):
        RoadTravel.from_osm_xml(OSM, speeds_kmh={"primary": -1.0})


# --- great circle ------------------------------------------------------------------------


def test_great_circle_one_degree_of_latitude() -> None:
    gc = GreatCircleTravel(detour_factor=1.3, speed_kmh=30.0)
    one_degree = 2 * math.pi * R / 360  # ~111.195 km
    dist, dur = one(gc, (120.0, 30.0), (120.0, 31.0))
    assert dist == pytest.approx(one_degree * 1.3, rel=1e-12)
    assert dist == pytest.approx(144_553.6, abs=1.0)
    assert dur == pytest.approx(one_degree * 1.3 / (30 / 3.6), rel=1e-12)
    assert one(GreatCircleTravel(detour_factor=1.0, speed_kmh=60.0), (0.0, 0.0), (1.0, 0.0)) \
        == pytest.approx((one_degree, one_degree / (60 / 3.6)), rel=1e-12)


def test_great_circle_matrix_and_pairs() -> None:
    gc = GreatCircleTravel()
    o = np.array([[120.0, 30.0], [121.0, 31.0], [120.0, 30.0]])
    d = np.array([[120.0, 31.0], [121.0, 31.0]])
    m = gc.matrix(o, d)
    assert isinstance(m, TravelMatrix) and m.distance_m.shape == (3, 2)
    assert m.distance_m[1, 1] == 0.0 and m.duration_s[1, 1] == 0.0
    assert m.distance_m[0, 0] == pytest.approx(hav((120, 30), (120, 31)) * 1.3, rel=1e-12)
    dist, dur = gc.pairs(o[:2], d)
    np.testing.assert_array_equal(dist, np.diag(m.distance_m[:2]))
    np.testing.assert_array_equal(dur, np.diag(m.duration_s[:2]))


@pytest.mark.parametrize("limit", [0.0, 120.0, 900.0, 3600.0, 1e9, math.inf])
def test_great_circle_within_equals_dense_filter(limit: float,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(greatcircle, "_GC_BLOCK", 97)  # several origin blocks
    rng = np.random.default_rng(42)
    o = np.column_stack([rng.uniform(119.5, 120.5, 600), rng.uniform(29.7, 30.7, 600)])
    d = np.column_stack([rng.uniform(119.5, 120.5, 150), rng.uniform(29.7, 30.7, 150)])
    d[:3] = o[:3]  # zero distances must be kept
    _assert_within_is_filtered_matrix(GreatCircleTravel(), o, d, limit)


def test_great_circle_within_across_the_antimeridian_and_poles() -> None:
    o = np.array([[179.99, 0.0], [0.0, 89.99], [-120.0, -45.0]])
    d = np.array([[-179.99, 0.0], [180.0, 89.99], [60.0, 45.0]])
    _assert_within_is_filtered_matrix(GreatCircleTravel(detour_factor=1.0), o, d, 600.0)
    w = GreatCircleTravel(detour_factor=1.0, speed_kmh=100.0).within(
        o, d, max_duration_s=2e6)  # antipodes at 20,000 km in 200,000 s
    assert len(w) == 9


@pytest.mark.parametrize("k", [1, 3, 200])
def test_great_circle_nearest_is_within_cut_at_k(k: int) -> None:
    gc = GreatCircleTravel()
    rng = np.random.default_rng(8)
    o = np.column_stack([rng.uniform(119.5, 120.5, 300), rng.uniform(29.7, 30.7, 300)])
    d = np.column_stack([rng.uniform(119.5, 120.5, 80), rng.uniform(29.7, 30.7, 80)])
    d[10] = d[11] = d[12]  # exact ties: broken by destination index
    for limit in (600.0, 2400.0, math.inf):
        w = gc.within(o, d, max_duration_s=limit)
        near = gc.nearest(o, d, k=k, max_duration_s=limit)
        keep = np.zeros(len(w), bool)
        for i in range(len(o)):
            keep[np.flatnonzero(w.origin == i)[:k]] = True
        np.testing.assert_array_equal(near.origin, w.origin[keep])
        np.testing.assert_array_equal(near.dest, w.dest[keep])
        np.testing.assert_array_equal(near.duration_s, w.duration_s[keep])


def test_great_circle_empty_and_negative_limit() -> None:
    gc = GreatCircleTravel()
    p = np.array([[120.0, 30.0]])
    assert len(gc.within(p, p, max_duration_s=-1.0)) == 0
    assert len(gc.within(np.zeros((0, 2)), p, max_duration_s=10.0)) == 0
    assert gc.matrix(np.zeros((0, 2)), p).duration_s.shape == (0, 1)
    assert len(gc.nearest(p, p, k=0)) == 0
    with pytest.raises(ValueError, match="nan"):
        gc.within(p, p, max_duration_s=math.nan)
