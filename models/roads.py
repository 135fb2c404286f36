"""Road-network travel: fastest paths over a road graph, with straight off-road legs.

`RoadTravel` holds the network as two CSR matrices (forward and reversed) of fastest-edge
times with the edge lengths alongside, snaps points to their nearest road node through a
KD-tree in an azimuthal equidistant projection, and runs scipy's dijkstra from whichever
side (origins or destinations) is smaller, in blocks of bounded memory. Path lengths come
from the predecessor trees by pointer jumping; `paths` walks predecessors on the same
graph back into the lon/lat lines that route maps draw. Reading OSM XML and GraphML files
lives in `models.roadfiles`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np
import pyproj
from scipy import sparse
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from lrcplan.models.roadfiles import (
    RoadNetworkError,
    _graph_arrays,
    _read_graphml,
    _read_osm_xml,
    _speed_table,
)
from lrcplan.models.travelbase import (
    _SLACK,
    SparseTravel,
    TravelMatrix,
    _check_k,
    _check_same_length,
    _empty_sparse,
    _first_k,
    _limit,
    _points,
    _positive,
    _sorted_sparse,
    haversine_m,
)

# Cells (sources x graph nodes) per dijkstra call: several float64/int64 arrays of this
# size live at once, so 4M cells keeps the peak near 150 MB whatever the network size.
_DIJKSTRA_CELLS = 4_000_000


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
        u, v, length, time = _clean_edges(n, edge_u, edge_v, length_m, travel_time_s, source)
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
        self._proj, self._tree = _snap_index(self.lon[has_edge], self.lat[has_edge])

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
        graph = _read_graphml(path)
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

    def paths(self, origins: np.ndarray, destinations: np.ndarray) -> list[np.ndarray]:
        """The lon/lat polyline (k, 2) of each pair's fastest route; straight if unreachable.

        Origin, its snapped node, the path's nodes, the destination's node, destination:
        the route whose time `matrix` and `pairs` report (an equally fast path may differ).
        """
        o = _points(origins, "origins")
        d = _points(destinations, "destinations")
        _check_same_length(o, d)
        out: list[np.ndarray] = [np.array([o[i], d[i]]) for i in range(len(o))]
        if len(o) == 0:
            return out
        na, _ = self._snap(o)
        nb, _ = self._snap(d)
        ua, inv_a = np.unique(na, return_inverse=True)
        # One dijkstra per distinct origin node, in blocks of the same bounded memory as
        # `_blocks`; the predecessor rows are walked back from each destination node.
        block = max(1, _DIJKSTRA_CELLS // max(1, self.n_nodes))
        for start in range(0, len(ua), block):
            src = ua[start:start + block]
            time, pred = dijkstra(self._fwd.time, directed=True, indices=src,
                                  return_predecessors=True)
            for i in np.flatnonzero((inv_a >= start) & (inv_a < start + len(src))):
                row, node = int(inv_a[i]) - start, int(nb[i])
                if not np.isfinite(time[row, node]):
                    continue
                nodes = [node]
                while nodes[-1] != src[row]:
                    nodes.append(int(pred[row, nodes[-1]]))
                nodes.reverse()
                line = np.vstack([o[i], np.column_stack([self.lon[nodes], self.lat[nodes]]),
                                  d[i]])
                # A point on its node, or zero-length edges, would repeat a vertex; a
                # place to itself stays a (degenerate) two-point line.
                keep = np.r_[True, (line[1:] != line[:-1]).any(axis=1)]
                if keep.sum() > 1:
                    out[i] = line[keep]
        return out

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


def _clean_edges(
    n: int, edge_u: np.ndarray, edge_v: np.ndarray, length_m: np.ndarray,
    travel_time_s: np.ndarray, source: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Checked edge arrays without self-loops, keeping the fastest of parallel edges."""
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
    return u[first], v[first], length[first], time[first]


def _snap_index(lon: np.ndarray, lat: np.ndarray) -> tuple[pyproj.Transformer, cKDTree]:
    """A metric projection about the nodes' centre and a KD-tree of the projected nodes."""
    lon0 = 0.5 * (lon.min() + lon.max())
    lat0 = 0.5 * (lat.min() + lat.max())
    # Azimuthal equidistant about the network's centre: metric, and accurate enough
    # over a county for choosing the nearest node.
    aeqd = pyproj.CRS.from_proj4(
        f"+proj=aeqd +lat_0={lat0:.8f} +lon_0={lon0:.8f} +datum=WGS84 +units=m +no_defs"
    )
    proj = pyproj.Transformer.from_crs("EPSG:4326", aeqd, always_xy=True)
    return proj, cKDTree(np.column_stack(proj.transform(lon, lat)))


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
