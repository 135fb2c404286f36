"""Road network files: OSM XML and networkx/GraphML graphs to node and edge arrays.

Holds the highway classes that count as roads with their default speeds
(`DEFAULT_SPEEDS_KMH`), speed-tag parsing, `RoadNetworkError`, a streaming reader for
local OSM XML files (.osm, .osm.gz, .osm.bz2) and the conversion of graphs in the osmnx
convention (read from GraphML or passed in) to the arrays `models.roads.RoadTravel` is
built from.

The OSM reader is our own, not `osmnx.graph_from_xml` with `add_edge_speeds` and
`add_edge_travel_times` (osmnx 2.1.1, measured on a synthetic 50,176-node, 12,544-way
file): that route to the same arrays took 7.9 s and 233 MB against 0.39 s and 40 MB here (3.1 s for
`graph_from_xml` alone, which parses the whole file twice, once into a DOM), it rejects a
whole file when any way refers to a node missing from it (clipped extracts) where we drop
just those segments, and its lengths use a 6,371,009 m Earth radius, off by 3e-8 from
`haversine_m`. Routes matched ours once lengths were recomputed.
"""

from __future__ import annotations

import bz2
import gzip
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import networkx as nx
import numpy as np

from lrcplan.models.errors import InputError
from lrcplan.models.travelbase import _positive, haversine_m

# Typical door-to-door speeds by OSM highway class (km/h), deliberately below legal limits
# to allow for junctions and traffic in Chinese towns; an explicit maxspeed tag wins.
DEFAULT_SPEEDS_KMH: Mapping[str, float] = {
    "motorway": 90.0,
    "motorway_link": 45.0,
    "trunk": 70.0,
    "trunk_link": 40.0,
    "primary": 50.0,
    "primary_link": 35.0,
    "secondary": 40.0,
    "secondary_link": 30.0,
    "tertiary": 35.0,
    "tertiary_link": 25.0,
    "unclassified": 30.0,
    "residential": 25.0,
    "living_street": 10.0,
    "service": 15.0,
    "track": 15.0,
    "road": 25.0,
}
ROUTABLE_HIGHWAYS: frozenset[str] = frozenset(DEFAULT_SPEEDS_KMH)

_ONEWAY_FORWARD = frozenset({"yes", "1", "true"})
_ONEWAY_REVERSE = frozenset({"-1", "reverse"})
_SPEED_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(km/h|kmh|kph|mph)?\s*$", re.IGNORECASE)
_MPH_TO_KMH = 1.609344


class RoadNetworkError(InputError):
    """A road network file or graph cannot be used; the message names the source and why."""


def _speed_table(speeds_kmh: Mapping[str, float] | None) -> dict[str, float]:
    table = dict(DEFAULT_SPEEDS_KMH)
    for key, value in (speeds_kmh or {}).items():
        if key not in ROUTABLE_HIGHWAYS:
            raise ValueError(
                f"speeds_kmh: unknown highway class {key!r}; "
                f"known: {', '.join(sorted(ROUTABLE_HIGHWAYS))}"
            )
        _positive(f"speeds_kmh[{key!r}]", value)
        table[key] = float(value)
    return table


def _parse_speed(value: str | None) -> float | None:
    """km/h from a maxspeed-like tag ("50", "50 km/h", "30 mph"); None if unusable."""
    if value is None:
        return None
    m = _SPEED_RE.match(str(value))
    if not m:
        return None
    speed = float(m.group(1))
    if m.group(2) and m.group(2).lower() == "mph":
        speed *= _MPH_TO_KMH
    return speed if speed > 0 else None


def _open_maybe_compressed(path: Path) -> IO[bytes]:
    suffix = path.suffix.lower()
    if suffix == ".gz":
        return gzip.open(path, "rb")
    if suffix == ".bz2":
        return bz2.open(path, "rb")
    return path.open("rb")


_Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                np.ndarray]


@dataclass
class _OsmLists:
    """What the streaming pass collects: all nodes, and the refs of each routable way."""

    ids: list[int] = field(default_factory=list)
    lons: list[float] = field(default_factory=list)
    lats: list[float] = field(default_factory=list)
    refs: list[int] = field(default_factory=list)
    way_len: list[int] = field(default_factory=list)
    way_speed: list[float] = field(default_factory=list)
    way_dir: list[int] = field(default_factory=list)  # 1 forward only, -1 reverse, 0 both


def _read_osm_xml(path: Path, speeds: Mapping[str, float]) -> _Arrays:
    """Nodes and directed edges of the routable ways of an OSM XML file."""
    osm = _OsmLists()
    try:
        _stream_osm(path, speeds, osm)
    except RoadNetworkError:
        raise
    except (OSError, EOFError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise RoadNetworkError(f"{path}: cannot read: {reason}") from exc
    except ET.ParseError as exc:
        raise RoadNetworkError(f"{path}: not valid OSM XML: {exc}") from exc
    except (KeyError, ValueError) as exc:
        raise RoadNetworkError(f"{path}: a node has a missing or bad id/lat/lon: {exc}") from exc
    if not osm.way_len:
        raise RoadNetworkError(
            f"{path}: no routable roads (ways tagged highway="
            f"{'/'.join(sorted(ROUTABLE_HIGHWAYS))})"
        )
    return _osm_edges(path, osm)


def _stream_osm(path: Path, speeds: Mapping[str, float], osm: _OsmLists) -> None:
    """Collect nodes and routable ways into `osm`, streaming the (compressed) file."""
    with _open_maybe_compressed(path) as fh:
        root: ET.Element | None = None
        for event, elem in ET.iterparse(fh, events=("start", "end")):
            if root is None:
                root = elem
                if elem.tag != "osm":
                    raise RoadNetworkError(
                        f"{path}: not OSM XML (root element <{elem.tag}>, expected <osm>)"
                    )
            if event == "start":
                continue
            if elem.tag == "node":
                if elem.get("action") != "delete":
                    osm.ids.append(int(elem.attrib["id"]))
                    osm.lons.append(float(elem.attrib["lon"]))
                    osm.lats.append(float(elem.attrib["lat"]))
            elif elem.tag == "way":
                _read_way(elem, speeds, osm)
            else:
                continue
            # Drop finished elements so a city-sized file streams in bounded memory.
            root.clear()


def _osm_edges(path: Path, osm: _OsmLists) -> _Arrays:
    """Directed edges between consecutive way nodes; only nodes on kept roads remain."""
    node_id = np.asarray(osm.ids, np.int64)
    node_id, first = np.unique(node_id, return_index=True)
    lon = np.asarray(osm.lons, np.float64)[first]
    lat = np.asarray(osm.lats, np.float64)[first]

    ref = np.asarray(osm.refs, np.int64)
    lens = np.asarray(osm.way_len, np.int64)
    way = np.repeat(np.arange(len(lens)), lens)
    pos = np.minimum(np.searchsorted(node_id, ref), max(len(node_id) - 1, 0))
    found = (node_id[pos] == ref) if len(node_id) else np.zeros(len(ref), bool)
    # Consecutive refs of the same way form a segment; segments touching nodes missing
    # from the extract (ways clipped at its edge) are dropped.
    seg = (way[1:] == way[:-1]) & found[1:] & found[:-1]
    a, b, w = pos[:-1][seg], pos[1:][seg], way[:-1][seg]
    if len(a) == 0:
        raise RoadNetworkError(f"{path}: the routable ways have no nodes in the file")
    length = haversine_m(lon[a], lat[a], lon[b], lat[b])
    speed = np.asarray(osm.way_speed, np.float64)[w]
    direction = np.asarray(osm.way_dir, np.int64)[w]
    fwd = direction >= 0
    rev = direction <= 0
    u = np.concatenate([a[fwd], b[rev]])
    v = np.concatenate([b[fwd], a[rev]])
    length = np.concatenate([length[fwd], length[rev]])
    time = length / (np.concatenate([speed[fwd], speed[rev]]) / 3.6)
    # Keep only nodes on kept roads: a city file has far more nodes than road nodes.
    used, inv = np.unique(np.concatenate([u, v]), return_inverse=True)
    u, v = inv[: len(u)], inv[len(u):]
    return node_id[used], lon[used], lat[used], u, v, length, time


def _read_way(elem: ET.Element, speeds: Mapping[str, float], osm: _OsmLists) -> None:
    """Add a way to `osm` if it is a routable road with at least two nodes."""
    tags = {t.get("k"): t.get("v") for t in elem.iter("tag")}
    highway = tags.get("highway")
    if highway not in speeds or elem.get("action") == "delete":
        return
    nds = [int(nd.attrib["ref"]) for nd in elem.iter("nd")]
    if len(nds) < 2:
        return
    oneway = (tags.get("oneway") or "").strip().lower()
    if oneway in _ONEWAY_FORWARD:
        direction = 1
    elif oneway in _ONEWAY_REVERSE:
        direction = -1
    elif not oneway and tags.get("junction") in ("roundabout", "circular"):
        direction = 1  # OSM convention: roundabouts are implicitly one-way
    else:
        direction = 0
    osm.refs.extend(nds)
    osm.way_len.append(len(nds))
    osm.way_speed.append(_parse_speed(tags.get("maxspeed")) or speeds[highway])
    osm.way_dir.append(direction)


def _float_attr(data: Mapping[str, Any], key: str) -> float | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, list | tuple):  # osmnx may keep lists from merged ways
        value = value[0]
    return float(value)


def _highway_class(value: Any, speeds: Mapping[str, float]) -> str | None:
    if isinstance(value, list | tuple):
        items = [str(x) for x in value]
    else:
        # osmnx writes list-valued attributes as their repr, e.g. "['primary', 'trunk']".
        items = re.findall(r"[A-Za-z_]+", str(value)) if value is not None else []
    return next((x for x in items if x in speeds), None)


def _read_graphml(path: Path) -> nx.Graph:
    """A GraphML file as a networkx graph; RoadNetworkError naming the file if unusable."""
    try:
        return nx.read_graphml(path)
    except OSError as exc:
        raise RoadNetworkError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except (ET.ParseError, nx.NetworkXError, ValueError, KeyError, TypeError,
            IndexError) as exc:
        raise RoadNetworkError(f"{path}: not valid GraphML: {exc}") from exc


def _graph_arrays(
    graph: nx.Graph, speeds: Mapping[str, float], default_speed: float, source: str
) -> _Arrays:
    """Node and edge arrays from a networkx graph in the osmnx convention."""
    nodes = list(graph.nodes)
    index = {node: i for i, node in enumerate(nodes)}
    lon, lat = _graph_coords(graph, source)
    us: list[int] = []
    vs: list[int] = []
    lengths: list[float] = []
    times: list[float] = []
    both_ways = not graph.is_directed()
    for a, b, data in graph.edges(data=True):
        ia, ib = index[a], index[b]
        length, time = _edge_length_time(data, (lon[ia], lat[ia], lon[ib], lat[ib]), speeds,
                                         default_speed, f"{source}: edge {a}->{b}")
        pairs = ((ia, ib), (ib, ia)) if both_ways else ((ia, ib),)
        for u, v in pairs:
            us.append(u)
            vs.append(v)
            lengths.append(length)
            times.append(time)
    ids = np.empty(len(nodes), dtype=object)
    for i, node in enumerate(nodes):  # element-wise: tuple labels must not broadcast
        ids[i] = node
    return (ids, lon, lat, np.asarray(us, np.int64), np.asarray(vs, np.int64),
            np.asarray(lengths, np.float64), np.asarray(times, np.float64))


def _graph_coords(graph: nx.Graph, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Node lon/lat arrays (graph node order) from the x/y attributes, checked as WGS84."""
    lon = np.empty(graph.number_of_nodes())
    lat = np.empty(graph.number_of_nodes())
    for i, (node, data) in enumerate(graph.nodes(data=True)):
        try:
            x, y = _float_attr(data, "x"), _float_attr(data, "y")
        except (TypeError, ValueError) as exc:
            raise RoadNetworkError(f"{source}: node {node}: x/y not numbers ({exc})") from exc
        if x is None or y is None:
            raise RoadNetworkError(f"{source}: node {node} has no x (lon) / y (lat)")
        if not (-180 <= x <= 180 and -90 <= y <= 90):
            raise RoadNetworkError(
                f"{source}: node {node}: x={x}, y={y} is not a WGS84 lon/lat; "
                "project the graph back to EPSG:4326"
            )
        lon[i], lat[i] = x, y
    return lon, lat


def _edge_length_time(
    data: Mapping[str, Any], ends: tuple[float, float, float, float],
    speeds: Mapping[str, float], default_speed: float, where: str,
) -> tuple[float, float]:
    """An edge's (length m, time s): its own attributes, else the fallbacks in order.

    Length is `length`, else the straight line between `ends` (lon1, lat1, lon2, lat2);
    time is `travel_time`, else the length
    at `speed_kph`, a parsable `maxspeed`, the `highway` class speed or `default_speed`.
    """
    try:
        length = _float_attr(data, "length")
        if length is None:
            length = float(haversine_m(*ends))
        time = _float_attr(data, "travel_time")
        if time is None:
            speed = _float_attr(data, "speed_kph") or _parse_speed(data.get("maxspeed"))
            if not speed:
                hw = _highway_class(data.get("highway"), speeds)
                speed = speeds[hw] if hw else default_speed
            time = length / (speed / 3.6)
    except (TypeError, ValueError) as exc:
        raise RoadNetworkError(
            f"{where}: length/travel_time/speed_kph not numbers ({exc})"
        ) from exc
    if not (math.isfinite(length) and length >= 0 and math.isfinite(time) and time >= 0):
        raise RoadNetworkError(f"{where}: bad length {length} or travel_time {time}")
    return length, time
