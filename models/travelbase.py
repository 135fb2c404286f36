"""The travel interface and what its models share.

Holds the `TravelModel` protocol, its result types `TravelMatrix` (dense) and
`SparseTravel` (pairs within a limit), the haversine distance and the argument checks and
sparse-result helpers that `models.greatcircle` and `models.roads` both use. Import the
public names from `models.travel`.

Points are numpy arrays of shape (n, 2) holding WGS84 (lon, lat).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

EARTH_RADIUS_M = 6371008.8  # IUGG mean Earth radius

# Relative slack on search radii and limits so float rounding never drops a pair that the
# exact filter afterwards would keep.
_SLACK = 1e-9


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
