"""Tests for the km beside the minutes: od_minutes_km, km_to_assigned, graph_length_m.

The km follow the QUICKEST path (the one whose minutes are reported), not the
shortest in km. Speeds: ``primary`` 60 km/h = 1 min/km, ``track`` 15 km/h =
4 min/km, walking 5 km/h = 12 min/km.
"""

from __future__ import annotations

import itertools

import geopandas as gpd
import networkx as nx
import numpy as np
import pyproj
import pytest
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point

from coverkit.errors import InvalidValueError
from coverkit.io import PopulationGrid
from coverkit.network import km_to_assigned, network_from_roads, od_matrix, od_minutes_km
from coverkit.surface import catchments
from coverkit.villages import assign_service_modes, propose_shared_clinics, rotation_timetable

CRS = "EPSG:32738"  # metres (UTM 38S, the Comoros): test coordinates are distances
SQRT2 = float(np.sqrt(2.0))


def roads(lines, highway):
    return gpd.GeoDataFrame(
        {"id": list(range(len(lines))), "highway": highway},
        geometry=[LineString(c) for c in lines],
        crs=CRS,
    )


@pytest.fixture(scope="module")
def detour():
    """A (0,0)-B (10000,0): a short slow track (10 km, 40 min) and a long fast primary
    over (5000,5000) (2 × 7.0711 km, 14.142 min): the quickest path is the LONGER one."""
    r = roads(
        [[(0, 0), (10000, 0)], [(0, 0), (5000, 5000)], [(5000, 5000), (10000, 0)]],
        ["track", "primary", "primary"],
    )
    return network_from_roads(r, crs=CRS)


def test_km_follow_the_quickest_path_not_the_shortest(detour):
    o = np.array([[0.0, -100.0], [3000.0, 10.0]])
    d = np.array([[10000.0, -50.0], [5000.0, 5000.0], [6000.0, -20.0]])
    minutes, km = od_minutes_km(detour, o, d)
    road = 2 * 5 * SQRT2  # 14.1421 km of primary A -> B over (5000, 5000)
    # (0,-100) -> (10000,-50): walk 100 m (1.2 min), primary 14.142 km (14.142 min), walk
    # 50 m (0.6 min) = 15.942 min; km 0.1 + 14.142 + 0.05 (the track would be 10.15 km)
    assert minutes[0, 0] == pytest.approx(1.2 + road + 0.6)
    assert km[0, 0] == pytest.approx(0.1 + road + 0.05)
    # (0,-100) -> (5000,5000): walk 0.1 km then half the primary (7.0711 km)
    assert km[0, 1] == pytest.approx(0.1 + road / 2)
    # (3000,10) -> (10000,-50): walk 10 m, back 3 km of track to A (12 min: quicker than
    # 7 km of track on to B, 28 min), the primary, walk 50 m: 0.01 + 3 + 14.142 + 0.05 km
    assert minutes[1, 0] == pytest.approx(0.12 + 12 + road + 0.6)
    assert km[1, 0] == pytest.approx(0.01 + 3 + road + 0.05)
    # (3000,10) -> (6000,-20): both on the track, the direct ride: 10 m + 3 km + 20 m
    assert minutes[1, 2] == pytest.approx(0.12 + 12 + 0.24)
    assert km[1, 2] == pytest.approx(3.03)


def test_parallel_roads_take_the_length_of_the_quicker_one():
    # A (0,0) - B (1000,0) twice: a straight track (1 km, 4 min) and a primary bent over
    # (500,1000) (2 × 1.1180 km = 2.2361 km, 2.2361 min); lead-ins of primary either side
    r = roads(
        [
            [(0, 0), (1000, 0)],
            [(0, 0), (500, 1000), (1000, 0)],
            [(-1000, 0), (0, 0)],
            [(1000, 0), (2000, 0)],
        ],
        ["track", "primary", "primary", "primary"],
    )
    net = network_from_roads(r, crs=CRS)
    bent = 2 * float(np.hypot(500, 1000)) / 1000  # 2.2361 km
    minutes, km = od_minutes_km(net, [[-500.0, 0.0]], [[1500.0, 0.0]])
    # 0.5 km of lead-in + the bent primary + 0.5 km: 3.2361 min and 3.2361 km (not 2 km)
    assert minutes[0, 0] == pytest.approx(0.5 + bent + 0.5)
    assert km[0, 0] == pytest.approx(0.5 + bent + 0.5)
    # graph_length_m: every CSR entry holds the length of the edge its minutes come from
    g = net.graph
    a = np.repeat(np.arange(net.n_nodes), np.diff(g.indptr))
    for i, j, t, length in zip(a, g.indices, g.data, net.graph_length_m, strict=True):
        pair = ((net.edge_u == i) & (net.edge_v == j)) | ((net.edge_u == j) & (net.edge_v == i))
        quick = pair & (net.edge_minutes == t)
        assert length == net.edge_length_m[quick].min()


def test_off_network_and_beyond_the_limit_are_nan(detour):
    # (0,-9000) is 9 km from every road, beyond the 5 km walk: inf minutes, NaN km
    o = np.array([[0.0, -9000.0], [0.0, -100.0]])
    d = np.array([[10000.0, -50.0]])
    minutes, km = od_minutes_km(detour, o, d)
    assert np.isinf(minutes[0, 0])
    assert np.isnan(km[0, 0])
    assert np.isfinite(km[1, 0])
    # within 10 minutes nothing is reached: 15.94 min > 10
    minutes, km = od_minutes_km(detour, o, d, limit_min=10)
    assert np.isinf(minutes).all()
    assert np.isnan(km).all()
    col = km_to_assigned(detour, o, d, [0, 0])
    assert np.isnan(col[0])
    assert col[1] == pytest.approx(0.1 + 2 * 5 * SQRT2 + 0.05)


def grid_network(seed: int, size: int = 6):
    """A jittered size × size grid of random road classes plus two long fast diagonals."""
    rng = np.random.default_rng(seed)
    xy = np.stack(np.meshgrid(np.arange(size), np.arange(size)), -1).reshape(-1, 2) * 1000.0
    xy = xy + rng.uniform(-200, 200, xy.shape)
    lines, kinds = [], ["track", "residential", "tertiary", "secondary"]
    for k in range(size * size):
        r, c = divmod(k, size)
        for nb in ([k + 1] if c + 1 < size else []) + ([k + size] if r + 1 < size else []):
            lines.append([tuple(xy[k]), tuple(xy[nb])])
    lines.append([tuple(xy[0]), tuple(xy[size * size - 1])])
    lines.append([tuple(xy[size - 1]), tuple(xy[size * (size - 1)])])
    highway = [kinds[i] for i in rng.integers(0, 4, len(lines) - 2)] + ["primary", "primary"]
    return network_from_roads(roads(lines, highway), crs=CRS), rng


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_km_equal_networkx_quickest_path_lengths(seed):
    net, rng = grid_network(seed)
    g = nx.Graph()
    for u, v, t, length in zip(
        net.edge_u, net.edge_v, net.edge_minutes, net.edge_length_m, strict=True
    ):
        if u != v and (not g.has_edge(u, v) or t < g[u][v]["minutes"]):
            g.add_edge(int(u), int(v), minutes=t, length=length)
    a = rng.choice(net.n_nodes, 5, replace=False)
    b = rng.choice(net.n_nodes, 4, replace=False)
    minutes, km = od_minutes_km(net, net.node_xy[a], net.node_xy[b])
    for i, s in enumerate(a):
        for j, t in enumerate(b):
            path = nx.shortest_path(g, int(s), int(t), weight="minutes")
            steps = list(itertools.pairwise(path))
            assert minutes[i, j] == pytest.approx(sum(g[p][q]["minutes"] for p, q in steps))
            assert km[i, j] * 1000 == pytest.approx(sum(g[p][q]["length"] for p, q in steps))


@pytest.mark.parametrize("limit", [None, 12.0])
def test_minutes_bit_identical_to_od_matrix_and_assigned_km_match(limit):
    net, rng = grid_network(7)
    o = rng.uniform(-500, 5500, (300, 2))  # some beyond the grid's roads, a few off-network
    o[:3] = [[-9000, -9000], [9000, 9000], [-8000, 2000]]
    d = rng.uniform(0, 5000, (6, 2))
    minutes, km = od_minutes_km(net, o, d, limit_min=limit)
    assert np.array_equal(minutes, od_matrix(net, o, d, limit_min=limit))
    assert np.array_equal(np.isnan(km), np.isinf(minutes))
    assert np.isnan(km[:3]).all()
    if limit is None:
        col = rng.integers(-1, d.shape[0], o.shape[0])
        got = km_to_assigned(net, o, d, col)
        want = np.where(col >= 0, km[np.arange(o.shape[0]), np.maximum(col, 0)], np.nan)
        np.testing.assert_array_equal(got, want)


def test_km_to_assigned_reuses_the_snap_and_checks_the_column(detour):
    o = np.array([[0.0, -100.0], [3000.0, 10.0]])
    d = np.array([[10000.0, -50.0], [6000.0, -20.0]])
    detour.snap_cache.clear()
    od_matrix(detour, o, d)
    snaps = len(detour.snap_cache)
    got = km_to_assigned(detour, o, d, np.array([-1, 1]))
    assert len(detour.snap_cache) == snaps  # the same points: no new snap
    assert np.isnan(got[0])
    assert got[1] == pytest.approx(3.03)
    for bad in ([0], [0, 2], [0.5, 1.0]):
        with pytest.raises(InvalidValueError, match="column"):
            km_to_assigned(detour, o, d, np.array(bad))


# --------------------------------------------------------------------------- villages
#
# V0 has a standard clinic; V1 (800 m east of it) is its guest; V2 and V3 have no clinic
# and lie 6-7 min apart (a shared-clinic pair); every other pair is 100 min.
# Each trip's km (K) is given apart from its minutes (M): the village stage must report
# the km of exactly the trip whose minutes it reports.


def villages_table():
    return gpd.GeoDataFrame(
        {
            "id": ["V0", "V1", "V2", "V3"],
            "name": ["东村", "西村", "南村", "北村"],
            "township": ["T"] * 4,
            "clinic": ["standard", "none", "none", "none"],
            "population": [500.0, 100.0, 200.0, 150.0],
        },
        geometry=[Point(0, 0), Point(800, 0), Point(0, 5000), Point(0, 9000)],
        crs=CRS,
    )


M = np.full((4, 4), 100.0)
np.fill_diagonal(M, 0.0)
M[1, 0], M[0, 1], M[2, 3], M[3, 2] = 10.0, 10.0, 6.0, 7.0
K = np.full((4, 4), 50.0)
np.fill_diagonal(K, 0.0)
K[1, 0], K[0, 1], K[2, 3], K[3, 2] = 6.0, 6.5, 4.0, 4.5
CENTRE_MIN = np.array([5.0, 12.0, 30.0, 35.0])
CENTRE_KM = np.array([3.0, 8.0, 20.0, 25.0])


class Trips:
    """trip_km from K, remembering the pairs asked for."""

    def __init__(self):
        self.asked = []

    def __call__(self, rows, cols):
        self.asked += list(zip(rows.tolist(), cols.tolist(), strict=True))
        return K[rows, cols]


def test_village_km_beside_minutes_drive():
    trips = Trips()
    out = assign_service_modes(
        villages_table(),
        village_clinic_min=M,
        centre_min=CENTRE_MIN,
        centre_ids=["C"] * 4,
        centre_km=CENTRE_KM,
        trip_km=trips,
        joint_travel_mode="drive",
    )
    # V0 fixed (0 km); V1 joint with V0 at 10 min drive: K[1, 0] = 6 km; V2 and V3 are
    # rotation villages (30 and 35 min <= 45, under 1,500 people): their centre km
    assert out["mode"].tolist() == ["fixed", "joint", "rotation", "rotation"]
    assert out["minutes"].tolist() == [0.0, 10.0, 30.0, 35.0]
    assert out["km"].tolist() == [0.0, 6.0, 20.0, 25.0]
    assert trips.asked == [(1, 0)]  # only the guest's trip to its host
    assert list(out.columns).index("km") == list(out.columns).index("minutes") + 1


def test_village_km_of_the_walking_estimate():
    out = assign_service_modes(
        villages_table(),
        village_clinic_min=M,
        centre_min=CENTRE_MIN,
        centre_ids=["C"] * 4,
        centre_km=CENTRE_KM,
        joint_travel_mode="walk",
    )
    # V1 walks to V0: 800 m × 1.35 detour = 1.08 km, at 5 km/h 12.96 min (<= 15: joint)
    assert out.loc[1, "minutes"] == pytest.approx(12.96)
    assert out.loc[1, "km"] == pytest.approx(1.08)
    # no trip_km and drive minutes for the guest: its km is unknown, not guessed
    out = assign_service_modes(
        villages_table(),
        village_clinic_min=M,
        centre_min=CENTRE_MIN,
        centre_ids=["C"] * 4,
        centre_km=CENTRE_KM,
        joint_travel_mode="drive",
    )
    assert np.isnan(out.loc[1, "km"])
    # without centre_km no km column (callers that give none see the table as before)
    out = assign_service_modes(
        villages_table(),
        village_clinic_min=M,
        centre_min=CENTRE_MIN,
        centre_ids=["C"] * 4,
        joint_travel_mode="drive",
    )
    assert "km" not in out.columns


def test_shared_clinic_max_km_and_timetable_travel_km():
    trips = Trips()
    shared = propose_shared_clinics(villages_table(), M, trip_km=trips)
    # V2 (200 people) hosts V3: 7 min one way (V3 -> V2), 6 the other; max_min is the
    # larger, 7 min, and max_km that trip's km K[3, 2] = 4.5 (not K[2, 3] = 4.0)
    assert shared["max_min"].tolist() == [7.0]
    assert shared["max_km"].tolist() == [4.5]
    assert trips.asked == [(3, 2)]
    assert "max_km" not in propose_shared_clinics(villages_table(), M).columns
    vil = assign_service_modes(
        villages_table(),
        village_clinic_min=M,
        centre_min=CENTRE_MIN,
        centre_ids=["C"] * 4,
        joint_travel_mode="drive",
    )
    table, _ = rotation_timetable(
        vil, centre_to_village_min=CENTRE_MIN, centre_to_village_km=CENTRE_KM
    )
    # V2 and V3, two visits a week each: travel 30 / 35 min and 20 / 25 km
    trips_of = zip(table["travel_min"], table["travel_km"], strict=True)
    got = dict(zip(table["village_id"], trips_of, strict=True))
    assert got == {"V2": (30.0, 20.0), "V3": (35.0, 25.0)}
    assert list(table.columns).index("travel_km") == list(table.columns).index("travel_min") + 1
    with pytest.raises(InvalidValueError, match="centre_to_village_km"):
        rotation_timetable(vil, centre_to_village_min=CENTRE_MIN, centre_to_village_km=[1.0])


# --------------------------------------------------------------------------- catchments


def test_catchment_mean_minutes_and_km():
    # a 1 x 4 grid of 1, 2, 3, 4 people; cells 0-1 nearest to A, 2-3 to B
    values = np.array([[1.0, 2.0, 3.0, 4.0]])
    grid = PopulationGrid(
        values=values,
        mask=np.ones((1, 4), dtype=bool),
        transform=Affine(100.0, 0.0, 0.0, 0.0, -100.0, 100.0),
        crs=pyproj.CRS.from_user_input(CRS),
        total=10.0,
        source="test",
    )
    near = np.array([[0, 0, 1, 1]], dtype=np.int32)
    minutes = np.array([[10.0, 4.0, 6.0, np.inf]])
    km = np.array([[5.0, 2.0, 3.0, np.nan]])
    plain = catchments(grid, near, ["A", "B"])
    assert "mean_km" not in plain.columns
    table = catchments(grid, near, ["A", "B"], minutes_raster=minutes, km_raster=km)
    # A: (1 × 10 + 2 × 4) / 3 = 6 min, (1 × 5 + 2 × 2) / 3 = 3 km; B: only cell 2 has a
    # finite time (cell 3 is unreachable): 6 min and 3 km
    assert table["mean_min"].tolist() == pytest.approx([6.0, 6.0])
    assert table["mean_km"].tolist() == pytest.approx([3.0, 3.0])
    assert table["population"].tolist() == plain["population"].tolist()
