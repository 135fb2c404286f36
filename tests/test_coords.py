"""WGS84 / GCJ-02 / BD-09 conversions: published values, round trips, shapes, edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lrcplan.models.coords import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    out_of_china,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

BEIJING = (116.3975, 39.9087)  # Tiananmen, WGS84
HANGZHOU = (120.1551, 30.2741)  # West Lake, WGS84


def _metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Haversine on a 6371 km sphere: plenty for offsets of a few hundred metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * 6371000.0 * math.asin(math.sqrt(a))


def _china_points(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    # Kept a little inside the rough box: at its very edge a shifted point may cross it.
    rng = np.random.default_rng(seed)
    return rng.uniform(73.0, 135.0, n), rng.uniform(3.0, 53.0, n)


def test_forward_matches_published_reference_values() -> None:
    # Values printed by the widely used `coordtransform` npm package's own tests.
    assert wgs84_to_gcj02(116.404, 39.915) == pytest.approx(
        (116.41024449916938, 39.91640428150164), abs=1e-12)
    assert gcj02_to_bd09(116.404, 39.915) == pytest.approx(
        (116.41036949371029, 39.92133699351021), abs=1e-12)


def test_beijing_railway_station_gcj_to_bd() -> None:
    # Published to 5 decimals: GCJ-02 (116.42703, 39.90245) is BD-09 (116.43351, 39.90851).
    assert gcj02_to_bd09(116.42703, 39.90245) == pytest.approx((116.43351, 39.90851), abs=1e-5)
    assert bd09_to_gcj02(116.43351, 39.90851) == pytest.approx((116.42703, 39.90245), abs=1e-5)


def test_round_trips_on_seeded_random_points() -> None:
    lon, lat = _china_points(20_000, seed=7)
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert np.abs(back[0] - lon).max() < 1e-7
    assert np.abs(back[1] - lat).max() < 1e-7
    back = bd09_to_wgs84(*wgs84_to_bd09(lon, lat))
    assert np.abs(back[0] - lon).max() < 1e-7
    assert np.abs(back[1] - lat).max() < 1e-7
    back = bd09_to_gcj02(*gcj02_to_bd09(lon, lat))
    assert np.abs(back[0] - lon).max() < 1e-7
    assert np.abs(back[1] - lat).max() < 1e-7


@settings(max_examples=300, deadline=None)
@given(lon=st.floats(73.0, 135.0), lat=st.floats(3.0, 53.0))
def test_round_trips_hypothesis(lon: float, lat: float) -> None:
    for forward, inverse in ((wgs84_to_gcj02, gcj02_to_wgs84), (wgs84_to_bd09, bd09_to_wgs84),
                             (gcj02_to_bd09, bd09_to_gcj02)):
        x, y = inverse(*forward(lon, lat))
        assert abs(x - lon) < 1e-7 and abs(y - lat) < 1e-7


def test_inverse_is_accurate_not_one_step() -> None:
    # The textbook one-step inverse is off by metres; ours must land on the input.
    gcj = (116.404, 39.915)
    wgs = gcj02_to_wgs84(*gcj)
    assert wgs84_to_gcj02(*wgs) == pytest.approx(gcj, abs=1e-9)
    bd = (116.404, 39.915)
    assert gcj02_to_bd09(*bd09_to_gcj02(*bd)) == pytest.approx(bd, abs=1e-9)


@pytest.mark.parametrize("city", [BEIJING, HANGZHOU])
def test_offset_magnitude_in_cities(city: tuple[float, float]) -> None:
    gcj = wgs84_to_gcj02(*city)
    assert 100.0 < _metres(*city, *gcj) < 1000.0
    bd = wgs84_to_bd09(*city)
    assert 100.0 < _metres(*city, *bd) < 2000.0
    assert _metres(*gcj, *bd) > 100.0  # BD-09 is a further shift, not the same thing


@pytest.mark.parametrize(
    "point", [(-74.006, 40.7128), (2.3522, 48.8566), (151.2093, -33.8688), (139.7, 35.7)]
)
def test_outside_china_unchanged(point: tuple[float, float]) -> None:
    assert out_of_china(*point)
    for f in (wgs84_to_gcj02, gcj02_to_wgs84, gcj02_to_bd09, bd09_to_gcj02, wgs84_to_bd09,
              bd09_to_wgs84):
        assert f(*point) == point
    for system in ("wgs84", "gcj02", "bd09"):
        assert to_wgs84(*point, system) == point


def test_mixed_inside_and_outside_array() -> None:
    lon = np.array([116.404, -74.006, 120.2])
    lat = np.array([39.915, 40.7128, 30.2])
    x, y = wgs84_to_gcj02(lon, lat)
    assert (x[1], y[1]) == (lon[1], lat[1])
    assert x[0] != lon[0] and x[2] != lon[2]
    assert (x[0], y[0]) == wgs84_to_gcj02(116.404, 39.915)


def test_scalar_in_scalar_out() -> None:
    x, y = wgs84_to_gcj02(120.2, 30.2)
    assert type(x) is float and type(y) is float
    x, y = to_wgs84(120.2, 30.2, "bd09")
    assert type(x) is float and type(y) is float


def test_array_shapes_preserved_and_inputs_untouched() -> None:
    lon = np.full((3, 4), 120.2)
    lat = np.linspace(29.0, 31.0, 12).reshape(3, 4)
    lon0, lat0 = lon.copy(), lat.copy()
    for f in (wgs84_to_gcj02, gcj02_to_wgs84, wgs84_to_bd09, bd09_to_wgs84):
        x, y = f(lon, lat)
        assert x.shape == (3, 4) and y.shape == (3, 4)
    np.testing.assert_array_equal(lon, lon0)
    np.testing.assert_array_equal(lat, lat0)
    # Broadcasting a scalar latitude against an array of longitudes.
    x, y = wgs84_to_gcj02(np.array([120.1, 120.2]), 30.2)
    assert x.shape == y.shape == (2,)
    # Each element equals its scalar conversion.
    assert (x[1], y[1]) == wgs84_to_gcj02(120.2, 30.2)


def test_empty_arrays() -> None:
    x, y = gcj02_to_wgs84(np.zeros(0), np.zeros(0))
    assert x.shape == (0,) and y.shape == (0,)


def test_nan_passes_through() -> None:
    x, y = gcj02_to_wgs84(np.array([np.nan, 120.2]), np.array([30.0, 30.2]))
    assert math.isnan(x[0]) and y[0] == 30.0
    assert math.isfinite(x[1])


def test_to_wgs84_dispatch() -> None:
    lon, lat = 120.2, 30.2
    assert to_wgs84(lon, lat, "wgs84") == (lon, lat)
    assert to_wgs84(lon, lat, "gcj02") == gcj02_to_wgs84(lon, lat)
    assert to_wgs84(lon, lat, "bd09") == bd09_to_wgs84(lon, lat)
    assert to_wgs84(lon, lat, "GCJ-02") == gcj02_to_wgs84(lon, lat)
    xs, ys = to_wgs84(np.array([lon]), np.array([lat]), "bd09")
    assert xs.shape == (1,)


@pytest.mark.parametrize("bad", ["", "utm", "wgs-84x", "epsg:4326"])
def test_to_wgs84_bad_system(bad: str) -> None:
    with pytest.raises(ValueError, match="wgs84, gcj02, bd09"):
        to_wgs84(120.2, 30.2, bad)
