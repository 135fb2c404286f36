"""Chinese map coordinate systems: WGS84, GCJ-02 (AMap/Gaode, Tencent) and BD-09 (Baidu).

GCJ-02 is WGS84 plus a deliberate, smooth, position-dependent offset of a few hundred
metres; BD-09 adds a second small rotation and shift on top of GCJ-02. Neither has a
closed-form inverse, so the inverses refine the usual one-step approximation by fixed-point
iteration until the forward transform reproduces the input to 1e-9 degrees (about 0.1 mm).

Every function accepts floats or numpy arrays (broadcast against each other) and returns
the same shape: floats for scalar input, arrays otherwise. Points outside the rough China
bounding box, and non-finite values, pass through unchanged, as in the public formulas.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numpy as np

__all__ = [
    "SYSTEMS",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "out_of_china",
    "to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

Coord = TypeVar("Coord", float, np.ndarray)

SYSTEMS: tuple[str, ...] = ("wgs84", "gcj02", "bd09")

# Krasovsky 1940 ellipsoid, which the GCJ-02 formulas are written against.
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0

# The rough box every public implementation uses; it includes bits of neighbours and
# excludes nothing inside China, which is the accepted trade-off.
_LON_MIN, _LON_MAX = 72.004, 137.8347
_LAT_MIN, _LAT_MAX = 0.8293, 55.8271

_TOL_DEG = 1e-9
_MAX_ITER = 30

_Array = np.ndarray
_Transform = Callable[[_Array, _Array], tuple[_Array, _Array]]


def out_of_china(lon: float | np.ndarray, lat: float | np.ndarray) -> bool | np.ndarray:
    """True where a point lies outside the rough China box (or is not finite)."""
    x, y, scalar = _prepare(lon, lat)
    out = _outside(x, y)
    return bool(out[0]) if scalar else out.reshape(x.shape)


def wgs84_to_gcj02(lon: Coord, lat: Coord) -> tuple[Coord, Coord]:
    """WGS84 to GCJ-02 (the coordinates AMap and Tencent maps use)."""
    return _apply(lon, lat, _wgs_to_gcj_raw)


def gcj02_to_wgs84(lon: Coord, lat: Coord) -> tuple[Coord, Coord]:
    """GCJ-02 to WGS84, accurate to 1e-9 degrees by fixed-point iteration."""
    return _apply(lon, lat, _gcj_to_wgs_raw)


def gcj02_to_bd09(lon: Coord, lat: Coord) -> tuple[Coord, Coord]:
    """GCJ-02 to BD-09 (the coordinates Baidu maps use)."""
    return _apply(lon, lat, _gcj_to_bd_raw)


def bd09_to_gcj02(lon: Coord, lat: Coord) -> tuple[Coord, Coord]:
    """BD-09 to GCJ-02, accurate to 1e-9 degrees by fixed-point iteration."""
    return _apply(lon, lat, _bd_to_gcj_raw)


def wgs84_to_bd09(lon: Coord, lat: Coord) -> tuple[Coord, Coord]:
    """WGS84 to BD-09 (via GCJ-02)."""
    return _apply(lon, lat, lambda x, y: _gcj_to_bd_raw(*_wgs_to_gcj_raw(x, y)))


def bd09_to_wgs84(lon: Coord, lat: Coord) -> tuple[Coord, Coord]:
    """BD-09 to WGS84 (via GCJ-02), accurate to about 1e-9 degrees."""
    return _apply(lon, lat, lambda x, y: _gcj_to_wgs_raw(*_bd_to_gcj_raw(x, y)))


def to_wgs84(lon: Coord, lat: Coord, system: str) -> tuple[Coord, Coord]:
    """Convert from `system` ("wgs84", "gcj02" or "bd09") to WGS84."""
    # Accept the spellings people actually write ("GCJ-02", "BD09", " wgs84 ").
    key = str(system).strip().lower().replace("-", "").replace("_", "")
    if key == "wgs84":
        return _apply(lon, lat, lambda x, y: (x, y))
    if key == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if key == "bd09":
        return bd09_to_wgs84(lon, lat)
    raise ValueError(
        f"unknown coordinate system {system!r}; expected one of {', '.join(SYSTEMS)}"
    )


# --- internals -------------------------------------------------------------------------


def _prepare(
    lon: float | np.ndarray, lat: float | np.ndarray
) -> tuple[_Array, _Array, bool]:
    """Broadcast to a common shape; the flag says both inputs were scalars."""
    x = np.asarray(lon, dtype=np.float64)
    y = np.asarray(lat, dtype=np.float64)
    scalar = x.ndim == 0 and y.ndim == 0
    x, y = np.broadcast_arrays(x, y)
    return x, y, scalar


def _outside(x: _Array, y: _Array) -> _Array:
    inside = (x >= _LON_MIN) & (x <= _LON_MAX) & (y >= _LAT_MIN) & (y <= _LAT_MAX)
    return np.atleast_1d(~inside).ravel()


def _apply(lon: Coord, lat: Coord, raw: _Transform) -> tuple[Coord, Coord]:
    """Run `raw` on the points inside China only and restore the caller's shape."""
    x, y, scalar = _prepare(lon, lat)
    shape = x.shape
    out_x = np.array(x, dtype=np.float64).ravel()  # a fresh copy: inputs stay untouched
    out_y = np.array(y, dtype=np.float64).ravel()
    inside = ~_outside(x, y)
    if inside.any():
        out_x[inside], out_y[inside] = raw(out_x[inside], out_y[inside])
    if scalar:
        return float(out_x[0]), float(out_y[0])  # type: ignore[return-value]
    return out_x.reshape(shape), out_y.reshape(shape)  # type: ignore[return-value]


def _transform_lat(x: _Array, y: _Array) -> _Array:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: _Array, y: _Array) -> _Array:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def _wgs_to_gcj_raw(lon: _Array, lat: _Array) -> tuple[_Array, _Array]:
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    return lon + dlon, lat + dlat


def _gcj_to_bd_raw(lon: _Array, lat: _Array) -> tuple[_Array, _Array]:
    z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd_to_gcj_once(lon: _Array, lat: _Array) -> tuple[_Array, _Array]:
    # The public one-step inverse: good to about 1e-5 degrees, used as the first guess.
    x = lon - 0.0065
    y = lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def _invert(
    forward: _Transform, target_x: _Array, target_y: _Array, guess: tuple[_Array, _Array]
) -> tuple[_Array, _Array]:
    """Solve forward(p) = target by p <- p - (forward(p) - target).

    Both transforms are the identity plus an offset whose derivative is ~1e-3, so this is
    a strong contraction: a handful of steps reach 1e-9 degrees.
    """
    x, y = guess
    x = np.array(x, dtype=np.float64, copy=True)
    y = np.array(y, dtype=np.float64, copy=True)
    active = np.isfinite(x) & np.isfinite(y)
    for _ in range(_MAX_ITER):
        if not active.any():
            break
        fx, fy = forward(x[active], y[active])
        dx = fx - target_x[active]
        dy = fy - target_y[active]
        x[active] -= dx
        y[active] -= dy
        # Only points still moving are iterated again, keeping the loop cheap.
        done = (np.abs(dx) < _TOL_DEG) & (np.abs(dy) < _TOL_DEG)
        idx = np.flatnonzero(active)
        active[idx[done]] = False
    return x, y


def _gcj_to_wgs_raw(lon: _Array, lat: _Array) -> tuple[_Array, _Array]:
    return _invert(_wgs_to_gcj_raw, lon, lat, (lon, lat))


def _bd_to_gcj_raw(lon: _Array, lat: _Array) -> tuple[_Array, _Array]:
    return _invert(_gcj_to_bd_raw, lon, lat, _bd_to_gcj_once(lon, lat))
