"""Road graph, edge speeds and travel times (origin-destination and nearest facility).

The travel-time engine, in three modules:

- :mod:`coverkit.network.graph`: :class:`RoadNetwork` and
  :func:`network_from_roads` (lines split at shared vertices, speeds by
  ``highway`` class or a sane ``maxspeed``, a symmetric scipy CSR matrix of
  edge minutes, connected components);
- :mod:`coverkit.network.snapping`: points join the graph off-road, snapped to
  the nearest *edge* (not node) by an exact index (:class:`SnapIndex`), walk to
  it at walking speed, then travel along the edge to either end node;
- :mod:`coverkit.network.routing`: :func:`od_matrix`,
  :func:`travel_times_to_nearest` (Dijkstra from one virtual node per
  destination), :func:`od_minutes_km` and :func:`km_to_assigned` (the km
  along the quickest paths) and :func:`od_matrix_euclidean` (the no-road
  estimate).

The design follows osmnx ``routing.py`` (speeds by class, ``maxspeed``
parsing) but keeps everything in numpy arrays so a million cells cost seconds.

Notes
-----
Roads are treated as two-way. Road layers of rural counties rarely carry a
reliable ``oneway`` tag, county and village roads are almost all two-way,
motorbikes and pedestrians (the main users) ignore the few one-way streets of
the county seat, and the error this causes is a few hundred metres at most.
A symmetric graph also means the time from A to B equals the time from B to A,
which lets :func:`od_matrix` run Dijkstra from the (few) destinations instead
of the (many) origins.
"""

from __future__ import annotations

from coverkit.network.graph import (
    MAXSPEED_RANGE_KPH,
    RoadNetwork,
    network_from_roads,
    parse_maxspeed_kph,
)
from coverkit.network.routing import (
    km_to_assigned,
    od_matrix,
    od_matrix_euclidean,
    od_minutes_km,
    points_xy,
    travel_times_to_nearest,
)
from coverkit.network.snapping import Snap, SnapCache, SnapIndex, snap_points

__all__ = [
    "MAXSPEED_RANGE_KPH",
    "RoadNetwork",
    "Snap",
    "SnapCache",
    "SnapIndex",
    "km_to_assigned",
    "network_from_roads",
    "od_matrix",
    "od_matrix_euclidean",
    "od_minutes_km",
    "parse_maxspeed_kph",
    "points_xy",
    "snap_points",
    "travel_times_to_nearest",
]
