"""Travel distance (metres) and duration (seconds) between WGS84 points.

Two models share one interface (`TravelModel`):

* `GreatCircleTravel`: haversine distance times a detour factor, at a constant speed.
  Good enough where no road network is supplied, and cheap for huge point sets.
* `RoadTravel`: fastest paths over a road network read from OSM XML or GraphML. Points are
  snapped to their nearest road node and the straight off-road leg at each end is walked
  (or driven) at `access_speed_kmh`. Distances are the lengths of the fastest paths.

Points are numpy arrays of shape (n, 2) holding WGS84 (lon, lat). Convert GCJ-02/BD-09
input with `models.coords.to_wgs84` first.
"""

from __future__ import annotations

import bz2
import gzip
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

import networkx as nx
import numpy as np
import pyproj
from scipy import sparse
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from lrcplan.models.errors import InputError

__all__ = [
    "DEFAULT_SPEEDS_KMH",
    "EARTH_RADIUS_M",
    "ROUTABLE_HIGHWAYS",
    "GreatCircleTravel",
    "RoadNetworkError",
    "RoadTravel",
    "SparseTravel",
    "TravelMatrix",
    "TravelModel",
    "haversine_m",
]

EARTH_RADIUS_M = 6371008.8  # IUGG mean Earth radius

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

# Cells (sources x graph nodes) per dijkstra call: several float64/int64 arrays of this
# size live at once, so 4M cells keeps the peak near 150 MB whatever the network size.
_DIJKSTRA_CELLS = 4_000_000
# Origins per KD-tree block in the great-circle model, to bound temporary pair arrays.
_GC_BLOCK = 16_384
# Relative slack on search radii so float rounding never drops a pair that the exact
# filter afterwards would keep.
_SLACK = 1e-9

_ONEWAY_FORWARD = frozenset({"yes", "1", "true"})
_ONEWAY_REVERSE = frozenset({"-1", "reverse"})
_SPEED_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(km/h|kmh|kph|mph)?\s*$", re.IGNORECASE)
_MPH_TO_KMH = 1.609344


class RoadNetworkError(InputError):
    """A road network file or graph cannot be used; the message names the source and why."""


@dataclass(frozen=True, eq=False)
class TravelMatrix:
    """Dense travel from every origin (row) to every destination (column); inf = unreachable."""

    distance_m: np.ndarray
    duration_s: np.ndarray


@dataclass(frozen=True, eq=False)
class SparseTravel:
    """Origin-destination pairs within a limit, sorted by (origin, duration_s, dest)."""

    origin: np.ndarray
    dest: np.ndarray
    distance_m: np.ndarray
    duration_s: np.ndarray

    def __len__(self) -> int:
        """The number of pairs."""
        return int(self.origin.shape[0])


class TravelModel(Protocol):
    """Distance and duration between WGS84 (lon, lat) point sets of shape (n, 2)."""

    def matrix(self, origins: np.ndarray, destinations: np.ndarray) -> TravelMatrix:
        """Every origin to every destination."""
        ...

    def within(
        self, origins: np.ndarray, destinations: np.ndarray, *, max_duration_s: float
    ) -> SparseTravel:
        """The pairs whose duration is at most `max_duration_s`."""
        ...

    def pairs(
        self, origins: np.ndarray, destinations: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(distance_m, duration_s) from origins[i] to destinations[i], elementwise."""
        ...

    def nearest(
        self,
        origins: np.ndarray,
        destinations: np.ndarray,
        *,
        k: int,
        max_duration_s: float = math.inf,
    ) -> SparseTravel:
        """For each origin the k fastest destinations within `max_duration_s`."""
        ...


# --- shared helpers --------------------------------------------------------------------


def haversine_m(
    lon1: np.ndarray | float,
    lat1: np.ndarray | float,
    lon2: np.ndarray | float,
    lat2: np.ndarray | float,
) -> np.ndarray:
    """Great-circle distance in metres between WGS84 points (numpy broadcasting)."""
    return _haversine_rad(
        np.radians(np.asarray(lon1, np.float64)),
        np.radians(np.asarray(lat1, np.float64)),
        np.radians(np.asarray(lon2, np.float64)),
        np.radians(np.asarray(lat2, np.float64)),
    )


def _haversine_rad(lam1: Any, phi1: Any, lam2: Any, phi2: Any) -> np.ndarray:
    a = (
        np.sin((phi2 - phi1) * 0.5) ** 2
        + np.cos(phi1) * np.cos(phi2) * np.sin((lam2 - lam1) * 0.5) ** 2
    )
    # Clip guards sqrt/arcsin against a few ulps above 1 for antipodal points.
    return 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def _points(a: np.ndarray, name: str) -> np.ndarray:
    """Validate an (n, 2) array of finite lon/lat and return it as float64."""
    arr = np.asarray(a, dtype=np.float64)
    if arr.size == 0:
        return arr.reshape(0, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"{name} must have shape (n, 2) of (lon, lat), got {arr.shape}")
    if not np.isfinite(arr).all():
        bad = int(np.flatnonzero(~np.isfinite(arr).all(axis=1))[0])
        raise ValueError(f"{name}[{bad}] is not a finite (lon, lat): {arr[bad].tolist()}")
    return arr


def _limit(max_duration_s: float) -> float:
    value = float(max_duration_s)
    if math.isnan(value):
        raise ValueError("max_duration_s must be a number, got nan")
    return value


def _positive(name: str, value: float) -> None:
    try:
        ok = math.isfinite(float(value)) and float(value) > 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{name} must be positive, got {value}")


def _empty_sparse() -> SparseTravel:
    i = np.zeros(0, np.int64)
    f = np.zeros(0, np.float64)
    return SparseTravel(i, i.copy(), f, f.copy())


def _sorted_sparse(
    origin: list[np.ndarray], dest: list[np.ndarray], dist: list[np.ndarray],
    dur: list[np.ndarray],
) -> SparseTravel:
    if not origin:
        return _empty_sparse()
    o = np.concatenate(origin).astype(np.int64, copy=False)
    d = np.concatenate(dest).astype(np.int64, copy=False)
    m = np.concatenate(dist).astype(np.float64, copy=False)
    s = np.concatenate(dur).astype(np.float64, copy=False)
    order = np.lexsort((d, s, o))
    return SparseTravel(o[order], d[order], m[order], s[order])


def _first_k(sp: SparseTravel, k: int) -> SparseTravel:
    """Keep the first k pairs of each origin of an (origin, duration, dest)-sorted set."""
    if len(sp) == 0:
        return sp
    starts = np.flatnonzero(np.r_[True, sp.origin[1:] != sp.origin[:-1]])
    lengths = np.diff(np.r_[starts, len(sp)])
    rank = np.arange(len(sp)) - np.repeat(starts, lengths)
    keep = rank < k
    return SparseTravel(sp.origin[keep], sp.dest[keep], sp.distance_m[keep],
                        sp.duration_s[keep])


def _check_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 0:
        raise ValueError(f"k must be a non-negative integer, got {k!r}")
    return int(k)


def _check_same_length(o: np.ndarray, d: np.ndarray) -> None:
    if len(o) != len(d):
        raise ValueError(
            f"pairs needs as many origins as destinations, got {len(o)} and {len(d)}"
        )


# --- great circle ----------------------------------------------------------------------


@dataclass(frozen=True)
class GreatCircleTravel:
    """Haversine distance times `detour_factor`, travelled at a constant `speed_kmh`."""

    detour_factor: float = 1.3
    speed_kmh: float = 30.0

    def __post_init__(self) -> None:
        """Reject non-positive or non-finite parameters."""
        _positive("detour_factor", self.detour_factor)
        _positive("speed_kmh", self.speed_kmh)

    @property
    def speed_mps(self) -> float:
        """The speed in metres per second."""
        return self.speed_kmh / 3.6

    def _road_m(self, lam1: Any, phi1: Any, lam2: Any, phi2: Any) -> np.ndarray:
        return _haversine_rad(lam1, phi1, lam2, phi2) * self.detour_factor

    def matrix(self, origins: np.ndarray, destinations: np.ndarray) -> TravelMatrix:
        """Every origin to every destination."""
        o = np.radians(_points(origins, "origins"))
        d = np.radians(_points(destinations, "destinations"))
        dist = self._road_m(o[:, :1], o[:, 1:], d[:, 0][None, :], d[:, 1][None, :])
        return TravelMatrix(dist, dist / self.speed_mps)

    def pairs(
        self, origins: np.ndarray, destinations: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(distance_m, duration_s) from origins[i] to destinations[i], elementwise."""
        o = np.radians(_points(origins, "origins"))
        d = np.radians(_points(destinations, "destinations"))
        _check_same_length(o, d)
        dist = self._road_m(o[:, 0], o[:, 1], d[:, 0], d[:, 1])
        return dist, dist / self.speed_mps

    def _chord(self, max_duration_s: float) -> float:
        """Unit-sphere chord length that bounds every pair within `max_duration_s`."""
        theta = max_duration_s * self.speed_mps / self.detour_factor / EARTH_RADIUS_M
        if theta >= math.pi:
            return 2.0 * (1.0 + _SLACK)
        return 2.0 * math.sin(theta / 2.0) * (1.0 + _SLACK) + 1e-12

    def within(
        self, origins: np.ndarray, destinations: np.ndarray, *, max_duration_s: float
    ) -> SparseTravel:
        """The pairs whose duration is at most `max_duration_s`, without a dense matrix."""
        o_deg = _points(origins, "origins")
        d_deg = _points(destinations, "destinations")
        limit = _limit(max_duration_s)
        if len(o_deg) == 0 or len(d_deg) == 0 or limit < 0:
            return _empty_sparse()
        o, d = np.radians(o_deg), np.radians(d_deg)
        radius = self._chord(limit)
        dtree = cKDTree(_unit_vectors(d))
        ouv = _unit_vectors(o)
        parts: tuple[list[np.ndarray], ...] = ([], [], [], [])
        for start in range(0, len(o), _GC_BLOCK):
            block = cKDTree(ouv[start:start + _GC_BLOCK])
            cand = block.sparse_distance_matrix(dtree, radius, output_type="ndarray")
            i = cand["i"].astype(np.int64) + start
            j = cand["j"].astype(np.int64)
            dist = self._road_m(o[i, 0], o[i, 1], d[j, 0], d[j, 1])
            dur = dist / self.speed_mps
            keep = dur <= limit
            for part, arr in zip(parts, (i, j, dist, dur), strict=True):
                part.append(arr[keep])
        return _sorted_sparse(*parts)

    def nearest(
        self,
        origins: np.ndarray,
        destinations: np.ndarray,
        *,
        k: int,
        max_duration_s: float = math.inf,
    ) -> SparseTravel:
        """For each origin the k fastest destinations within `max_duration_s`.

        Ties are broken by destination index, exactly as `within` followed by a cut at k.
        """
        k = _check_k(k)
        o_deg = _points(origins, "origins")
        d_deg = _points(destinations, "destinations")
        limit = _limit(max_duration_s)
        if k == 0 or len(o_deg) == 0 or len(d_deg) == 0 or limit < 0:
            return _empty_sparse()
        o, d = np.radians(o_deg), np.radians(d_deg)
        radius = self._chord(limit)
        dtree = cKDTree(_unit_vectors(d))
        ouv = _unit_vectors(o)
        kk = min(k, len(d))
        chord, _ = dtree.query(ouv, k=kk, distance_upper_bound=radius)
        kth = np.asarray(chord, np.float64).reshape(len(o), kk)[:, -1]
        # A ball just past the k-th neighbour also catches destinations tied with it, so
        # the final cut by (duration, dest) is deterministic and matches `within`.
        r = np.where(np.isfinite(kth), np.minimum(kth * (1 + _SLACK) + 1e-12, radius), radius)
        lists = dtree.query_ball_point(ouv, r=r)
        counts = np.fromiter((len(x) for x in lists), np.int64, count=len(lists))
        i = np.repeat(np.arange(len(o), dtype=np.int64), counts)
        j = (np.concatenate([np.asarray(x, np.int64) for x in lists]) if counts.sum()
             else np.zeros(0, np.int64))
        dist = self._road_m(o[i, 0], o[i, 1], d[j, 0], d[j, 1])
        dur = dist / self.speed_mps
        keep = dur <= limit
        return _first_k(_sorted_sparse([i[keep]], [j[keep]], [dist[keep]], [dur[keep]]), k)


def _unit_vectors(rad: np.ndarray) -> np.ndarray:
    lam, phi = rad[:, 0], rad[:, 1]
    cphi = np.cos(phi)
    return np.column_stack([cphi * np.cos(lam), cphi * np.sin(lam), np.sin(phi)])


# --- road network ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Csr:
    """One direction of the network: fastest-edge times, with their lengths alongside."""

    time: sparse.csr_matrix
    length: np.ndarray  # aligned with time.data
    keys: np.ndarray  # row * n + col of each stored edge, ascending, for edge look-ups

    @classmethod
    def build(cls, n: int, rows: np.ndarray, cols: np.ndarray, time: np.ndarray,
              length: np.ndarray) -> _Csr:
        """CSR from (deduplicated) edge arrays, columns sorted within each row."""
        order = np.lexsort((cols, rows))
        rows, cols, time, length = rows[order], cols[order], time[order], length[order]
        indptr = np.zeros(n + 1, np.int64)
        np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
        # Built from raw arrays, never via coo/transpose, so zero-time edges (duplicate
        # node positions) stay explicit edges rather than being dropped as zeros.
        mat = sparse.csr_matrix((time, cols, indptr), shape=(n, n))
        return cls(mat, length, rows.astype(np.int64) * n + cols)

    def edge_length(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Lengths of existing edges u->v."""
        n = self.time.shape[0]
        return self.length[np.searchsorted(self.keys, u.astype(np.int64) * n + v)]


class RoadTravel:
    """Fastest paths over a road network, with straight off-road legs at both ends.

    Duration is access leg + network travel time + access leg; distance is the straight
    access legs plus the length of the fastest network path (not the shortest one).
    Where parallel edges join the same two nodes only the fastest is kept.
    """

    def __init__(
        self,
        node_ids: np.ndarray,
        lon: np.ndarray,
        lat: np.ndarray,
        edge_u: np.ndarray,
        edge_v: np.ndarray,
        length_m: np.ndarray,
        travel_time_s: np.ndarray,
        *,
        access_speed_kmh: float = 5.0,
        largest_component: bool = False,
        source: str = "road network",
    ) -> None:
        """Build from arrays (edges index into the node arrays); prefer the from_* methods.

        With `largest_component`, points snap only to the largest strongly connected part,
        so every snapped pair is reachable (useful for clipped real-world extracts).
        """
        _positive("access_speed_kmh", access_speed_kmh)
        self.access_speed_kmh = float(access_speed_kmh)
        self.source = source
        self.node_ids = np.asarray(node_ids)
        self.lon = np.asarray(lon, np.float64)
        self.lat = np.asarray(lat, np.float64)
        n = len(self.node_ids)
        if not (len(self.lon) == len(self.lat) == n):
            raise RoadNetworkError(f"{source}: node id and coordinate arrays differ in length")
        if not (np.isfinite(self.lon).all() and np.isfinite(self.lat).all()):
            raise RoadNetworkError(f"{source}: a node has no finite x (lon) / y (lat)")
        u = np.asarray(edge_u, np.int64)
        v = np.asarray(edge_v, np.int64)
        length = np.asarray(length_m, np.float64)
        time = np.asarray(travel_time_s, np.float64)
        if not (len(u) == len(v) == len(length) == len(time)):
            raise RoadNetworkError(f"{source}: edge arrays differ in length")
        if len(u) and (u.min() < 0 or v.min() < 0 or max(u.max(), v.max()) >= n):
            raise RoadNetworkError(f"{source}: an edge refers to a node that does not exist")
        for name, arr in (("length", length), ("travel_time", time)):
            if not (np.isfinite(arr) & (arr >= 0)).all():
                raise RoadNetworkError(f"{source}: an edge has a negative or missing {name}")
        loop = u == v
        u, v, length, time = u[~loop], v[~loop], length[~loop], time[~loop]
        if len(u) == 0:
            raise RoadNetworkError(f"{source}: no routable road edges")
        # Keep the fastest of parallel edges (then the shortest, for determinism).
        order = np.lexsort((length, time, v, u))
        u, v, length, time = u[order], v[order], length[order], time[order]
        first = np.r_[True, (u[1:] != u[:-1]) | (v[1:] != v[:-1])]
        u, v, length, time = u[first], v[first], length[first], time[first]
        self._fwd = _Csr.build(n, u, v, time, length)
        self._rev = _Csr.build(n, v, u, time, length)
        self.n_edges = int(len(u))

        has_edge = np.zeros(n, bool)
        has_edge[u] = True
        has_edge[v] = True
        if largest_component:
            _, labels = connected_components(self._fwd.time, directed=True, connection="strong")
            sizes = np.bincount(labels[has_edge])
            has_edge &= labels == int(np.argmax(sizes))
        self._snap_nodes = np.flatnonzero(has_edge)
        lon0 = 0.5 * (self.lon[has_edge].min() + self.lon[has_edge].max())
        lat0 = 0.5 * (self.lat[has_edge].min() + self.lat[has_edge].max())
        # Azimuthal equidistant about the network's centre: metric, and accurate enough
        # over a county for choosing the nearest node.
        aeqd = pyproj.CRS.from_proj4(
            f"+proj=aeqd +lat_0={lat0:.8f} +lon_0={lon0:.8f} +datum=WGS84 +units=m +no_defs"
        )
        self._proj = pyproj.Transformer.from_crs("EPSG:4326", aeqd, always_xy=True)
        xy = np.column_stack(self._proj.transform(self.lon[has_edge], self.lat[has_edge]))
        self._tree = cKDTree(xy)

    def __repr__(self) -> str:
        """A short summary naming the source and its size."""
        return (f"RoadTravel({self.source!r}: {self.n_nodes} nodes, {self.n_edges} edges, "
                f"access {self.access_speed_kmh:g} km/h)")

    def segments(self) -> np.ndarray:
        """Every road segment once (either direction) as lon/lat pairs, shape (m, 2, 2)."""
        n = self._fwd.time.shape[0]
        u, v = np.divmod(self._fwd.keys, n)
        lo, hi = np.minimum(u, v), np.maximum(u, v)
        pairs = np.unique(np.column_stack([lo, hi]), axis=0)
        a, b = pairs[:, 0], pairs[:, 1]
        return np.stack([np.column_stack([self.lon[a], self.lat[a]]),
                         np.column_stack([self.lon[b], self.lat[b]])], axis=1)

    @property
    def n_nodes(self) -> int:
        """The number of nodes, including any without edges."""
        return int(len(self.node_ids))

    # --- constructors ------------------------------------------------------------------

    @classmethod
    def from_graph(
        cls,
        graph: nx.Graph,
        *,
        speeds_kmh: Mapping[str, float] | None = None,
        default_speed_kmh: float = 30.0,
        access_speed_kmh: float = 5.0,
        largest_component: bool = False,
        source: str = "graph",
    ) -> RoadTravel:
        """From a networkx graph in the osmnx convention (x/y = lon/lat, length in metres).

        Edge time is `travel_time` (s) if present, else length at `speed_kph`, else at the
        speed of its `highway` class, else at `default_speed_kmh`. An undirected graph is
        travelled both ways.
        """
        speeds = _speed_table(speeds_kmh)
        _positive("default_speed_kmh", default_speed_kmh)
        arrays = _graph_arrays(graph, speeds, float(default_speed_kmh), source)
        return cls(*arrays, access_speed_kmh=access_speed_kmh,
                   largest_component=largest_component, source=source)

    @classmethod
    def from_graphml(
        cls,
        path: str | Path,
        *,
        speeds_kmh: Mapping[str, float] | None = None,
        default_speed_kmh: float = 30.0,
        access_speed_kmh: float = 5.0,
        largest_component: bool = False,
    ) -> RoadTravel:
        """From a GraphML file such as osmnx's `save_graphml` writes."""
        path = Path(path)
        try:
            graph = nx.read_graphml(path)
        except OSError as exc:
            raise RoadNetworkError(f"{path}: cannot read: {exc.strerror or exc}") from exc
        except (ET.ParseError, nx.NetworkXError, ValueError, KeyError, TypeError,
                IndexError) as exc:
            raise RoadNetworkError(f"{path}: not valid GraphML: {exc}") from exc
        return cls.from_graph(graph, speeds_kmh=speeds_kmh, default_speed_kmh=default_speed_kmh,
                              access_speed_kmh=access_speed_kmh,
                              largest_component=largest_component, source=str(path))

    @classmethod
    def from_osm_xml(
        cls,
        path: str | Path,
        *,
        speeds_kmh: Mapping[str, float] | None = None,
        access_speed_kmh: float = 5.0,
        largest_component: bool = False,
    ) -> RoadTravel:
        """From a local OSM XML file (.osm, optionally .gz/.bz2); no download.

        Keeps ways whose `highway` is in ROUTABLE_HIGHWAYS at `speeds_kmh` (overriding
        DEFAULT_SPEEDS_KMH per class) unless a numeric `maxspeed` is tagged; honours
        oneway=yes/1/true/-1/reverse, and roundabouts are one-way unless tagged oneway=no.
        """
        speeds = _speed_table(speeds_kmh)
        path = Path(path)
        arrays = _read_osm_xml(path, speeds)
        return cls(*arrays, access_speed_kmh=access_speed_kmh,
                   largest_component=largest_component, source=str(path))

    # --- snapping ----------------------------------------------------------------------

    def _snap(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest snappable node index and the straight (haversine) access distance."""
        if len(pts) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float64)
        x, y = self._proj.transform(pts[:, 0], pts[:, 1])
        _, k = self._tree.query(np.column_stack([x, y]))
        node = self._snap_nodes[np.asarray(k, np.int64)]
        access = haversine_m(pts[:, 0], pts[:, 1], self.lon[node], self.lat[node])
        return node, np.asarray(access, np.float64)

    def snap(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The node id each point snaps to and the straight access distance in metres."""
        node, access = self._snap(_points(points, "points"))
        return self.node_ids[node], access

    # --- shortest paths ----------------------------------------------------------------

    def _blocks(
        self, ua: np.ndarray, ub: np.ndarray, limit: float
    ) -> Iterator[tuple[slice, slice, np.ndarray, np.ndarray]]:
        """Fastest times and path lengths from nodes `ua` to nodes `ub`, block by block.

        Yields (a_slice, b_slice, time, length) with arrays of shape (len(a), len(b)) in
        origin->destination orientation. Dijkstra runs from the smaller side; from the
        destination side it runs on the reversed graph, so one-way streets still hold.
        """
        reverse = len(ub) < len(ua)
        g = self._rev if reverse else self._fwd
        src, dst = (ub, ua) if reverse else (ua, ub)
        block = max(1, _DIJKSTRA_CELLS // max(1, self.n_nodes))
        for start in range(0, len(src), block):
            sl = slice(start, min(start + block, len(src)))
            time, pred = dijkstra(g.time, directed=True, indices=src[sl],
                                  return_predecessors=True, limit=limit)
            length = _tree_lengths(pred, g)
            t = time[:, dst]
            d = np.where(np.isfinite(t), length[:, dst], np.inf)
            if reverse:
                yield slice(0, len(ua)), sl, t.T, d.T
            else:
                yield sl, slice(0, len(ub)), t, d

    def _access_s(self, access_m: np.ndarray) -> np.ndarray:
        return access_m / (self.access_speed_kmh / 3.6)

    def matrix(self, origins: np.ndarray, destinations: np.ndarray) -> TravelMatrix:
        """Every origin to every destination; np.inf where no path exists."""
        o = _points(origins, "origins")
        d = _points(destinations, "destinations")
        if len(o) == 0 or len(d) == 0:
            empty = np.zeros((len(o), len(d)))
            return TravelMatrix(empty, empty.copy())
        na, acc_a = self._snap(o)
        nb, acc_b = self._snap(d)
        ua, inv_a = np.unique(na, return_inverse=True)
        ub, inv_b = np.unique(nb, return_inverse=True)
        t_nodes = np.full((len(ua), len(ub)), np.inf)
        d_nodes = np.full((len(ua), len(ub)), np.inf)
        for sa, sb, t, dist in self._blocks(ua, ub, np.inf):
            t_nodes[sa, sb] = t
            d_nodes[sa, sb] = dist
        cell = np.ix_(inv_a, inv_b)
        dur = _total(t_nodes[cell], self._access_s(acc_a)[:, None],
                     self._access_s(acc_b)[None, :])
        dist_m = _total(d_nodes[cell], acc_a[:, None], acc_b[None, :])
        return TravelMatrix(dist_m, dur)

    def pairs(
        self, origins: np.ndarray, destinations: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(distance_m, duration_s) from origins[i] to destinations[i]; inf if unreachable."""
        o = _points(origins, "origins")
        d = _points(destinations, "destinations")
        _check_same_length(o, d)
        if len(o) == 0:
            return np.zeros(0), np.zeros(0)
        na, acc_a = self._snap(o)
        nb, acc_b = self._snap(d)
        ua, inv_a = np.unique(na, return_inverse=True)
        ub, inv_b = np.unique(nb, return_inverse=True)
        t_net = np.full(len(o), np.inf)
        d_net = np.full(len(o), np.inf)
        # Blocks cover contiguous ranges of one side, so sort the pairs by that side once.
        by_b = len(ub) < len(ua)
        key = inv_b if by_b else inv_a
        order = np.argsort(key, kind="stable")
        sorted_key = key[order]
        for sa, sb, t, dist in self._blocks(ua, ub, np.inf):
            sl = sb if by_b else sa
            lo, hi = np.searchsorted(sorted_key, [sl.start, sl.stop])
            idx = order[lo:hi]
            ra = inv_a[idx] - sa.start
            rb = inv_b[idx] - sb.start
            t_net[idx] = t[ra, rb]
            d_net[idx] = dist[ra, rb]
        dur = _total(t_net, self._access_s(acc_a), self._access_s(acc_b))
        return _total(d_net, acc_a, acc_b), dur

    def within(
        self, origins: np.ndarray, destinations: np.ndarray, *, max_duration_s: float
    ) -> SparseTravel:
        """The reachable pairs whose duration is at most `max_duration_s`."""
        o = _points(origins, "origins")
        d = _points(destinations, "destinations")
        limit = _limit(max_duration_s)
        if len(o) == 0 or len(d) == 0 or limit < 0:
            return _empty_sparse()
        na, acc_a = self._snap(o)
        nb, acc_b = self._snap(d)
        ta, tb = self._access_s(acc_a), self._access_s(acc_b)
        ua, inv_a = np.unique(na, return_inverse=True)
        ub, inv_b = np.unique(nb, return_inverse=True)
        # No pair can use more network time than the limit minus the shortest access legs.
        net_limit = limit - ta.min() - tb.min()
        if net_limit < 0:
            return _empty_sparse()
        net_limit = net_limit * (1 + _SLACK) + 1e-9
        group_a = _Groups(inv_a, len(ua))
        group_b = _Groups(inv_b, len(ub))
        parts: tuple[list[np.ndarray], ...] = ([], [], [], [])
        for sa, sb, t, dist in self._blocks(ua, ub, net_limit):
            ra, rb = np.nonzero(t <= net_limit)
            if len(ra) == 0:
                continue
            t_pair, d_pair = t[ra, rb], dist[ra, rb]
            pa, pb, which = _expand(group_a, ra + sa.start, group_b, rb + sb.start)
            dur = _total(t_pair[which], ta[pa], tb[pb])
            keep = dur <= limit
            pa, pb, which = pa[keep], pb[keep], which[keep]
            for part, arr in zip(
                parts, (pa, pb, _total(d_pair[which], acc_a[pa], acc_b[pb]), dur[keep]),
                strict=True,
            ):
                part.append(arr)
        return _sorted_sparse(*parts)

    def nearest(
        self,
        origins: np.ndarray,
        destinations: np.ndarray,
        *,
        k: int,
        max_duration_s: float = math.inf,
    ) -> SparseTravel:
        """For each origin the k fastest destinations within `max_duration_s`.

        Ties are broken by destination index (`within` followed by a cut at k).
        """
        k = _check_k(k)
        if k == 0:
            return _empty_sparse()
        return _first_k(self.within(origins, destinations, max_duration_s=max_duration_s), k)


def _total(net: np.ndarray, access_a: np.ndarray, access_b: np.ndarray) -> np.ndarray:
    # One fixed summation order everywhere, so `within` and `matrix` agree to the bit.
    return (net + access_a) + access_b


def _tree_lengths(pred: np.ndarray, g: _Csr) -> np.ndarray:
    """Length from each row's source to every node along dijkstra's predecessor tree.

    Pointer jumping: each round adds the length to the current ancestor and jumps to the
    ancestor's ancestor, so a tree of depth h needs about log2(h) vectorised rounds.
    """
    c, n = pred.shape
    cols = np.broadcast_to(np.arange(n, dtype=np.int64), (c, n))
    has = pred >= 0
    acc = np.zeros((c, n), np.float64)
    acc[has] = g.edge_length(pred[has], cols[has])
    parent = np.where(has, pred, cols).astype(np.int64)
    anc = (parent + (np.arange(c, dtype=np.int64) * n)[:, None]).ravel()
    acc = acc.ravel()
    # Only entries whose ancestor is not yet a root keep working; with a dijkstra limit
    # most entries are unreached roots and drop out before the first round.
    active = np.flatnonzero(anc[anc] != anc)
    while active.size:
        up = anc[active]
        acc[active] += acc[up]
        anc[active] = anc[up]
        up = anc[active]
        active = active[anc[up] != up]
    return acc.reshape(c, n)


class _Groups:
    """Points grouped by their unique snapped node, for expanding node pairs to points."""

    def __init__(self, inverse: np.ndarray, n_unique: int) -> None:
        self.order = np.argsort(inverse, kind="stable")
        self.count = np.bincount(inverse, minlength=n_unique)
        self.start = np.r_[0, np.cumsum(self.count)[:-1]]


def _expand(
    ga: _Groups, a: np.ndarray, gb: _Groups, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (point of node a[i], point of node b[i]) combination, with i for each."""
    ca, cb = ga.count[a], gb.count[b]
    n = ca * cb
    which = np.repeat(np.arange(len(a)), n)
    offset = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    per_b = cb[which]
    pa = ga.order[ga.start[a[which]] + offset // per_b]
    pb = gb.order[gb.start[b[which]] + offset % per_b]
    return pa, pb, which


# --- readers ---------------------------------------------------------------------------


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


def _read_osm_xml(path: Path, speeds: Mapping[str, float]) -> _Arrays:
    """Nodes and directed edges of the routable ways of an OSM XML file."""
    ids: list[int] = []
    lons: list[float] = []
    lats: list[float] = []
    refs: list[int] = []
    way_len: list[int] = []
    way_speed: list[float] = []
    way_dir: list[int] = []  # 1 forward only, -1 reverse only, 0 both ways
    try:
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
                        ids.append(int(elem.attrib["id"]))
                        lons.append(float(elem.attrib["lon"]))
                        lats.append(float(elem.attrib["lat"]))
                elif elem.tag == "way":
                    _read_way(elem, speeds, refs, way_len, way_speed, way_dir)
                else:
                    continue
                # Drop finished elements so a city-sized file streams in bounded memory.
                root.clear()
    except RoadNetworkError:
        raise
    except (OSError, EOFError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise RoadNetworkError(f"{path}: cannot read: {reason}") from exc
    except ET.ParseError as exc:
        raise RoadNetworkError(f"{path}: not valid OSM XML: {exc}") from exc
    except (KeyError, ValueError) as exc:
        raise RoadNetworkError(f"{path}: a node has a missing or bad id/lat/lon: {exc}") from exc
    if not way_len:
        raise RoadNetworkError(
            f"{path}: no routable roads (ways tagged highway="
            f"{'/'.join(sorted(ROUTABLE_HIGHWAYS))})"
        )
    node_id = np.asarray(ids, np.int64)
    node_id, first = np.unique(node_id, return_index=True)
    lon = np.asarray(lons, np.float64)[first]
    lat = np.asarray(lats, np.float64)[first]

    ref = np.asarray(refs, np.int64)
    lens = np.asarray(way_len, np.int64)
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
    speed = np.asarray(way_speed, np.float64)[w]
    direction = np.asarray(way_dir, np.int64)[w]
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


def _read_way(
    elem: ET.Element,
    speeds: Mapping[str, float],
    refs: list[int],
    way_len: list[int],
    way_speed: list[float],
    way_dir: list[int],
) -> None:
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
    refs.extend(nds)
    way_len.append(len(nds))
    way_speed.append(_parse_speed(tags.get("maxspeed")) or speeds[highway])
    way_dir.append(direction)


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


def _graph_arrays(
    graph: nx.Graph, speeds: Mapping[str, float], default_speed: float, source: str
) -> _Arrays:
    """Node and edge arrays from a networkx graph in the osmnx convention."""
    nodes = list(graph.nodes)
    index = {node: i for i, node in enumerate(nodes)}
    lon = np.empty(len(nodes))
    lat = np.empty(len(nodes))
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
    us: list[int] = []
    vs: list[int] = []
    lengths: list[float] = []
    times: list[float] = []
    both_ways = not graph.is_directed()
    for a, b, data in graph.edges(data=True):
        ia, ib = index[a], index[b]
        try:
            length = _float_attr(data, "length")
            if length is None:
                length = float(haversine_m(lon[ia], lat[ia], lon[ib], lat[ib]))
            time = _float_attr(data, "travel_time")
            if time is None:
                speed = _float_attr(data, "speed_kph") or _parse_speed(data.get("maxspeed"))
                if not speed:
                    hw = _highway_class(data.get("highway"), speeds)
                    speed = speeds[hw] if hw else default_speed
                time = length / (speed / 3.6)
        except (TypeError, ValueError) as exc:
            raise RoadNetworkError(
                f"{source}: edge {a}->{b}: length/travel_time/speed_kph not numbers ({exc})"
            ) from exc
        if not (math.isfinite(length) and length >= 0 and math.isfinite(time) and time >= 0):
            raise RoadNetworkError(
                f"{source}: edge {a}->{b}: bad length {length} or travel_time {time}"
            )
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
