"""Travel distance (metres) and duration (seconds) between WGS84 points.

The public face of the travel models; import from here. Two models share one interface
(`TravelModel`):

* `GreatCircleTravel` (`models.greatcircle`): haversine distance times a detour factor, at
  a constant speed. Good enough where no road network is supplied, and cheap for huge
  point sets.
* `RoadTravel` (`models.roads`): fastest paths over a road network read from OSM XML or
  GraphML (`models.roadfiles`). Points are snapped to their nearest road node and the
  straight off-road leg at each end is walked (or driven) at `access_speed_kmh`.
  Distances are the lengths of the fastest paths.

The interface, its result types and the helpers both models share are in
`models.travelbase`. Points are numpy arrays of shape (n, 2) holding WGS84 (lon, lat).
Convert GCJ-02/BD-09 input with `models.coords.to_wgs84` first.
"""

from __future__ import annotations

from lrcplan.models.greatcircle import GreatCircleTravel
from lrcplan.models.roadfiles import DEFAULT_SPEEDS_KMH, ROUTABLE_HIGHWAYS, RoadNetworkError
from lrcplan.models.roads import RoadTravel
from lrcplan.models.travelbase import (
    EARTH_RADIUS_M,
    SparseTravel,
    TravelMatrix,
    TravelModel,
    haversine_m,
)

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
