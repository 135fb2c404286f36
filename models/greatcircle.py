"""Great-circle travel: haversine distance times a detour factor, at a constant speed.

`GreatCircleTravel` is the model used where no road network is supplied; `within` and
`nearest` search a KD-tree of unit vectors, so huge point sets never need a dense matrix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from lrcplan.models.travelbase import (
    _SLACK,
    EARTH_RADIUS_M,
    SparseTravel,
    TravelMatrix,
    _check_k,
    _check_same_length,
    _empty_sparse,
    _first_k,
    _haversine_rad,
    _limit,
    _points,
    _positive,
    _sorted_sparse,
)

# Origins per KD-tree block, to bound temporary pair arrays.
_GC_BLOCK = 16_384


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
