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
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString

from coverkit.errors import InvalidValueError
from coverkit.network import km_to_assigned, network_from_roads, od_matrix, od_minutes_km

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
