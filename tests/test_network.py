"""Tests for coverkit.network: graph building, speeds, snapping, OD and nearest times.

Every expected minute in the hand-built cases is written out with its
arithmetic: ``primary`` 60 km/h = 1 min/km, ``secondary`` 50 km/h = 1.2 min/km,
``residential`` 25 km/h = 2.4 min/km, walking 5 km/h = 12 min/km.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString

from coverkit.errors import EmptyInputError, InvalidValueError, MissingColumnError
from coverkit.network import (
    network_from_roads,
    od_matrix,
    od_matrix_euclidean,
    parse_maxspeed_kph,
    snap_points,
    travel_times_to_nearest,
)

CRS = "EPSG:32650"  # metres, so test coordinates are distances
COMOROS_PBF = Path("/work/shared/data/comoros/comores-latest.osm.pbf")


def roads(lines, highway, maxspeed=None, crs=CRS):
    data = {"id": list(range(len(lines))), "highway": highway}
    if maxspeed is not None:
        data["maxspeed"] = maxspeed
    return gpd.GeoDataFrame(data, geometry=[LineString(c) for c in lines], crs=crs)


@pytest.fixture(scope="module")
def t_net():
    """A (0,0)-(1000,0)-(2000,0) primary, B (1000,0)-(1000,1000) residential,
    C (2000,0)-(2500,0)-(3000,0) secondary, D island far away, E island near C."""
    r = roads(
        [
            [(0, 0), (1000, 0), (2000, 0)],
            [(1000, 0), (1000, 1000)],
            [(2000, 0), (2500, 0), (3000, 0)],
            [(0, 20000), (1000, 20000)],
            [(3000, 300), (3000, 1300)],
        ],
        ["primary", "residential", "secondary", "residential", "residential"],
    )
    return network_from_roads(r, crs=CRS)


# --------------------------------------------------------------------------- building


def test_split_at_shared_vertices(t_net):
    # A splits at (1000,0) where B starts; C's middle vertex (2500,0) is not shared
    assert t_net.n_nodes == 9  # (0,0) (1000,0) (2000,0) (1000,1000) (3000,0) + 2 D + 2 E
    assert t_net.n_edges == 6
    assert sorted(t_net.edge_length_m.tolist()) == [1000.0] * 6
    c = np.flatnonzero(t_net.edge_highway == "secondary")
    assert c.size == 1
    assert shapely.get_num_coordinates(t_net.edge_geometry[c[0]]) == 3  # keeps (2500,0)
    # minutes: primary 1 min/km, residential 2.4, secondary 1.2
    by_class = dict(zip(t_net.edge_highway.tolist(), t_net.edge_minutes.tolist(), strict=False))
    assert by_class["primary"] == pytest.approx(1.0)
    assert by_class["residential"] == pytest.approx(2.4)
    assert by_class["secondary"] == pytest.approx(1.2)


def test_graph_symmetric_and_components(t_net):
    g = t_net.graph
    assert (abs(g - g.T)).nnz == 0
    sizes = np.bincount(t_net.component)
    assert sorted(sizes.tolist()) == [2, 2, 5]
    assert sizes[t_net.main_component] == 5


def test_loop_road_and_parallel_edges_keep_minimum():
    r = roads(
        [
            [(0, 0), (1000, 0)],
            [(0, 0), (500, 500), (1000, 0)],  # longer parallel road
            [(1000, 0), (1500, 0), (1500, 500), (1000, 0)],  # loop back to (1000,0)
        ],
        ["primary", "primary", "primary"],
    )
    net = network_from_roads(r, crs=CRS)
    assert net.n_nodes == 2
    assert net.n_edges == 3
    d = dijkstra(net.graph, indices=[0])[0]
    assert d[1] == pytest.approx(1.0)  # the straight 1 km, not the 1.414 km one


def test_link_classes_take_parent_speed_and_maxspeed_wins():
    r = roads(
        [[(0, 0), (1000, 0)], [(0, 100), (1000, 100)], [(0, 200), (1000, 200)]],
        ["primary_link", "primary", "tertiary"],
        maxspeed=[None, "30", "none"],
    )
    net = network_from_roads(r, crs=CRS)
    assert net.edge_speed_kph.tolist() == [60.0, 30.0, 40.0]
    assert net.edge_minutes.tolist() == pytest.approx([1.0, 2.0, 1.5])


def test_parse_maxspeed():
    got = parse_maxspeed_kph(
        ["50", "50 mph", "90 mph", "none", None, np.nan, "50;70", "3", "45 km/h", "RU:rural", 40]
    )
    # 90 mph = 144.8 km/h is above 130: ignored; "3" is below 5: ignored
    expected = [50.0, 80.4672, np.nan, np.nan, np.nan, np.nan, 50.0, np.nan, 45.0, np.nan, 40.0]
    np.testing.assert_allclose(got, expected, equal_nan=True)


def test_unknown_class_gets_default_with_one_warning(caplog):
    r = roads(
        [[(0, 0), (1000, 0)], [(1000, 0), (2000, 0)], [(2000, 0), (3000, 0)]],
        ["foo", "bar", "primary"],
    )
    with caplog.at_level(logging.WARNING, logger="coverkit.network"):
        net = network_from_roads(r, crs=CRS)
    assert net.edge_speed_kph.tolist() == [20.0, 20.0, 60.0]
    warnings = [rec for rec in caplog.records if rec.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "2 road edges" in warnings[0].getMessage()


def test_walk_mode_and_custom_speeds():
    r = roads([[(0, 0), (1000, 0)], [(1000, 0), (2000, 0)]], ["primary", "track"])
    walk = network_from_roads(r, crs=CRS, mode="walk")
    assert walk.edge_minutes.tolist() == pytest.approx([12.0, 12.0])
    custom = network_from_roads(r, crs=CRS, speeds_kph={"track": 10.0})
    assert custom.edge_minutes.tolist() == pytest.approx([1.0, 6.0])


def test_default_crs_is_utm():
    r = roads([[(43.30, -11.70), (43.31, -11.70)]], ["primary"], crs="EPSG:4326")
    net = network_from_roads(r)
    assert net.crs.to_epsg() == 32738
    assert net.edge_length_m[0] == pytest.approx(1090.0, rel=0.01)


def test_errors():
    with pytest.raises(EmptyInputError, match="empty"):
        network_from_roads(roads([], []))
    r = roads([[(0, 0), (1, 0)]], ["primary"]).drop(columns="highway")
    with pytest.raises(MissingColumnError, match="'highway'"):
        network_from_roads(r)
    r = roads([[(0, 0), (1, 0)]], ["primary"])
    with pytest.raises(InvalidValueError, match="positive"):
        network_from_roads(r, speeds_kph={"primary": 0.0})
    with pytest.raises(InvalidValueError, match="mode"):
        network_from_roads(r, mode="fly")


# --------------------------------------------------------------------------- snapping, OD


def test_snap_to_edge_midpoint(t_net):
    s = snap_points(t_net, [500.0, 950.0], [100.0, 500.0])
    a1 = np.flatnonzero((t_net.edge_highway == "primary") & (t_net.node_xy[t_net.edge_u, 0] < 500))
    assert s.edge[0] == a1[0]
    assert s.fraction.tolist() == pytest.approx([0.5, 0.5])
    assert s.distance_m.tolist() == pytest.approx([100.0, 50.0])
    assert t_net.edge_highway[s.edge[1]] == "residential"


def test_od_hand_computed(t_net):
    origins = np.array([[500.0, 100.0], [2500.0, -200.0], [200.0, 0.0], [0.0, 10000.0]])
    dests = np.array([[950.0, 500.0], [700.0, 30.0]])
    od = od_matrix(t_net, origins, dests, max_walk_m=5000.0)
    expected = np.array(
        [
            # walk 100 m = 1.2, half A1 = 0.5, half B = 1.2, walk 50 m = 0.6
            [1.2 + 0.5 + 1.2 + 0.6, 1.2 + 0.2 + 0.36],  # second: same edge, 0.5->0.7
            # walk 200 m = 2.4, half C = 0.6, A2 = 1.0, half B = 1.2, walk 0.6
            [2.4 + 0.6 + 1.0 + 1.2 + 0.6, 2.4 + 0.6 + 1.0 + 0.3 + 0.36],
            # on A1 at 0.2: 0.8 to (1000,0), half B 1.2, walk 0.6 | same edge 0.5 + walk 0.36
            [0.8 + 1.2 + 0.6, 0.5 + 0.36],
            [np.inf, np.inf],  # 10 km from every road: off-network
        ]
    )
    np.testing.assert_allclose(od, expected, rtol=1e-12)


def test_disconnected_island(t_net, caplog):
    # (500, 20100) is 100 m from island D, 19 km from the main network: unreachable.
    # (3100, 800) is 100 m from island E but 806 m from C's end (3000,0): walks there.
    pts = np.array([[500.0, 20100.0], [3100.0, 800.0]])
    with caplog.at_level(logging.WARNING, logger="coverkit.network"):
        s = snap_points(t_net, pts[:, 0], pts[:, 1], max_walk_m=5000.0)
    assert s.edge[0] == -1
    assert not s.on_network[0]
    assert s.rerouted.tolist() == [False, True]
    assert s.distance_m[1] == pytest.approx(math.hypot(100.0, 800.0))
    assert any("1 points" in r.getMessage() for r in caplog.records)
    od = od_matrix(t_net, pts, np.array([[2000.0, -10.0]]), max_walk_m=5000.0)
    walk = math.hypot(100.0, 800.0) / 1000.0 * 12.0
    # 806 m walk, all of C (1.2), then 10 m walk (0.12)
    np.testing.assert_allclose(od[:, 0], [np.inf, walk + 1.2 + 0.12], rtol=1e-12)
    assert not np.isnan(od).any()


def test_nearest_hand_computed(t_net):
    origins = np.array([[500.0, 100.0], [2500.0, -200.0], [0.0, 10000.0]])
    facilities = np.array([[950.0, 500.0], [3000.0, 0.0]])
    minutes, idx = travel_times_to_nearest(t_net, origins, facilities, max_walk_m=5000.0)
    # origin 0 -> fac 0 = 3.5; origin 1 -> fac 1: walk 2.4 + half C 0.6 = 3.0
    np.testing.assert_allclose(minutes, [3.5, 3.0, np.inf], rtol=1e-12)
    assert idx.tolist() == [0, 1, -1]


def test_nearest_same_edge_direct(t_net):
    # both facilities on A1; origin at 0.5 of A1: the direct ride is the only sensible route
    minutes, idx = travel_times_to_nearest(
        t_net, np.array([[500.0, 0.0]]), np.array([[100.0, 0.0], [800.0, 0.0]])
    )
    assert minutes[0] == pytest.approx(0.3)  # 300 m at 1 min/km
    assert idx[0] == 1


def test_empty_inputs(t_net):
    assert od_matrix(t_net, np.zeros((0, 2)), np.array([[0.0, 0.0]])).shape == (0, 1)
    m, i = travel_times_to_nearest(t_net, np.array([[0.0, 0.0]]), np.zeros((0, 2)))
    assert m.tolist() == [np.inf]
    assert i.tolist() == [-1]


def test_geodataframe_points_are_reprojected(t_net):
    pts = gpd.GeoSeries(shapely.points([500.0], [100.0]), crs=CRS).to_crs(4326)
    od = od_matrix(t_net, pts, np.array([[950.0, 500.0]]))
    assert od[0, 0] == pytest.approx(3.5, abs=1e-6)


def test_euclidean_fallback():
    od = od_matrix_euclidean(np.array([[0.0, 0.0]]), np.array([[3000.0, 4000.0], [0.0, 0.0]]))
    # 5 km * 1.35 = 6.75 km at 30 km/h = 13.5 min
    np.testing.assert_allclose(od, [[13.5, 0.0]])
    od = od_matrix_euclidean(
        np.array([[0.0, 0.0]]), np.array([[1000.0, 0.0]]), circuity=1.0, speed_kph=60.0
    )
    assert od[0, 0] == pytest.approx(1.0)
    with pytest.raises(InvalidValueError, match="circuity"):
        od_matrix_euclidean(np.zeros((1, 2)), np.zeros((1, 2)), circuity=0.5)


# --------------------------------------------------------------------------- properties

_GRID_LINES = [[(0, y), (4000, y)] for y in range(0, 4001, 1000)] + [
    [(x, 0), (x, 4000)] for x in range(0, 4001, 1000)
]
_GRID_NET = network_from_roads(
    roads(
        _GRID_LINES,
        ["primary", "track", "residential", "secondary", "path"] * 2,
    ),
    crs=CRS,
)
_coord = st.floats(min_value=-500.0, max_value=4500.0, allow_nan=False)
_points = st.lists(st.tuples(_coord, _coord), min_size=1, max_size=8)


@settings(max_examples=40, deadline=None)
@given(origins=_points, facilities=_points, extra=st.tuples(_coord, _coord))
def test_properties(origins, facilities, extra):
    o = np.array(origins)
    f = np.array(facilities)
    od = od_matrix(_GRID_NET, o, f)
    assert not np.isnan(od).any()
    assert (od >= 0).all()
    minutes, idx = travel_times_to_nearest(_GRID_NET, o, f)
    np.testing.assert_allclose(minutes, od.min(axis=1), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(od[np.arange(len(o)), idx], minutes, rtol=1e-9, atol=1e-9)
    more, _ = travel_times_to_nearest(_GRID_NET, o, np.vstack([f, [extra]]))
    assert (more <= minutes + 1e-9).all()


def test_snap_tie_at_junction_takes_lowest_edge(t_net):
    """A point exactly on the junction (1000, 0) is 0 m from three edges: lowest index wins."""
    s = snap_points(t_net, [1000.0, 1000.0], [0.0, -30.0])
    at = np.flatnonzero(
        (t_net.node_xy[t_net.edge_u] == (1000.0, 0.0)).all(axis=1)
        | (t_net.node_xy[t_net.edge_v] == (1000.0, 0.0)).all(axis=1)
    )
    assert at.size == 3
    assert s.edge.tolist() == [at.min(), at.min()]
    assert s.distance_m.tolist() == pytest.approx([0.0, 30.0])


_line = st.lists(
    st.tuples(
        st.floats(min_value=0.0, max_value=3000.0, allow_nan=False),
        st.floats(min_value=0.0, max_value=3000.0, allow_nan=False),
    ),
    min_size=2,
    max_size=5,
)


@settings(max_examples=60, deadline=None)
@given(
    lines=st.lists(_line, min_size=1, max_size=6),
    pts=st.lists(
        st.tuples(
            st.floats(min_value=-3000.0, max_value=6000.0, allow_nan=False),
            st.floats(min_value=-3000.0, max_value=6000.0, allow_nan=False),
        ),
        min_size=1,
        max_size=30,
    ),
)
def test_snap_matches_brute_force(lines, pts):
    """The KD-tree snap equals GEOS's exact nearest-edge distance, whatever the layout."""
    geoms = [LineString(c) for c in lines]
    if any(g.length == 0 for g in geoms):
        return
    net = network_from_roads(roads(lines, ["primary"] * len(lines)), crs=CRS)
    xy = np.array(pts)
    s = snap_points(net, xy[:, 0], xy[:, 1], max_walk_m=2500.0)
    p = shapely.points(xy[:, 0], xy[:, 1])
    d_all = shapely.distance(net.edge_geometry[None, :], p[:, None])  # (points, edges)
    best = d_all.min(axis=1)
    best_main = d_all[:, net.edge_main].min(axis=1)
    direct = s.on_network & ~s.rerouted
    np.testing.assert_allclose(s.distance_m[direct], best[direct], atol=1e-6)
    np.testing.assert_allclose(s.distance_m[s.rerouted], best_main[s.rerouted], atol=1e-6)
    # nothing within reach of the main network was missed
    assert (best_main[~s.on_network] > 2500.0 - 1e-6).all()
    got = shapely.distance(net.edge_geometry[s.edge[s.on_network]], p[s.on_network])
    np.testing.assert_allclose(got, s.distance_m[s.on_network], atol=1e-6)


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def comoros_net():
    if not COMOROS_PBF.exists():
        pytest.skip("Comoros extract not available")
    from coverkit.osm import roads_from_osm

    r = roads_from_osm(COMOROS_PBF)
    return r, network_from_roads(r)


def test_comoros_lengths_preserved(comoros_net):
    r, net = comoros_net
    projected = r.to_crs(net.crs)
    assert net.edge_length_m.sum() == pytest.approx(projected.length.sum(), rel=1e-9)
    assert net.n_edges > len(r)  # ways were split at junctions


def test_comoros_agrees_with_networkx(comoros_net):
    _, net = comoros_net
    G = nx.Graph()
    G.add_nodes_from(range(net.n_nodes))
    order = np.argsort(-net.edge_minutes, kind="stable")  # shorter parallel edge wins
    G.add_weighted_edges_from(
        zip(
            net.edge_u[order].tolist(),
            net.edge_v[order].tolist(),
            net.edge_minutes[order],
            strict=True,
        )
    )
    main = np.flatnonzero(net.component == net.main_component)
    sources = main[[0, len(main) // 3, len(main) // 2, len(main) - 1]].tolist()
    ref = nx.multi_source_dijkstra_path_length(G, sources, weight="weight")
    expected = np.full(net.n_nodes, np.inf)
    expected[list(ref)] = list(ref.values())
    # coverkit: facilities and origins placed exactly on the nodes
    minutes, idx = travel_times_to_nearest(net, net.node_xy, net.node_xy[sources])
    # nodes of small components walk to the main network instead: compare the main one
    np.testing.assert_allclose(minutes[main], expected[main], atol=1e-6)
    assert np.isfinite(expected[main]).all()
    assert (idx[main] >= 0).all()
    od = od_matrix(net, net.node_xy, net.node_xy[sources])
    np.testing.assert_allclose(od.min(axis=1)[main], expected[main], atol=1e-6)
    single = nx.single_source_dijkstra_path_length(G, sources[1], weight="weight")
    col = np.full(net.n_nodes, np.inf)
    col[list(single)] = list(single.values())
    np.testing.assert_allclose(od[main, 1], col[main], atol=1e-6)
    # off-main nodes are either unreachable or rerouted, never faster than a walk allows
    rest = np.setdiff1d(np.arange(net.n_nodes), main)
    assert (minutes[rest] > 0).all()


@pytest.mark.parametrize("ks", [None, (1,)])
def test_comoros_snap_is_exact(comoros_net, monkeypatch, ks):
    """Snapping equals a brute-force STRtree nearest search (also via the fallback path)."""
    import coverkit.network as cn
    from coverkit.network import snapping

    _, net = comoros_net
    if ks is not None:
        monkeypatch.setattr(snapping, "CANDIDATE_ENDS", ks)
        net = cn.RoadNetwork(**{f: getattr(net, f) for f in net.__dataclass_fields__})
    main = np.flatnonzero(net.component == net.main_component)
    lo, hi = net.node_xy[main].min(axis=0), net.node_xy[main].max(axis=0)
    rng = np.random.default_rng(7)
    xy = rng.uniform(lo, hi, size=(3000, 2))
    s = snap_points(net, xy[:, 0], xy[:, 1], max_walk_m=2000.0)
    pts = shapely.points(xy[:, 0], xy[:, 1])
    tree = shapely.STRtree(net.edge_geometry)
    (qi, ti), d = tree.query_nearest(pts, return_distance=True, all_matches=False)
    brute = np.full(len(xy), np.inf)
    brute[qi] = d
    brute_main = np.zeros(len(xy), dtype=bool)
    brute_main[qi] = net.edge_main[ti]
    direct = ~s.rerouted & s.on_network
    np.testing.assert_allclose(s.distance_m[direct], brute[direct], atol=1e-6)
    off = ~s.on_network
    assert ((brute[off] > 2000.0) | ~brute_main[off]).all()
    assert (s.on_network == (s.edge >= 0)).all()
    on = s.on_network
    exact = shapely.distance(net.edge_geometry[s.edge[on]], pts[on])
    np.testing.assert_allclose(s.distance_m[on], exact, atol=1e-6)
    loc = shapely.line_locate_point(net.edge_geometry[s.edge[on]], pts[on], normalized=True)
    np.testing.assert_allclose(
        s.fraction[on] * net.edge_length_m[s.edge[on]],
        loc * net.edge_length_m[s.edge[on]],
        atol=1e-3,
    )
    assert not np.isnan(s.fraction[on]).any()
    assert np.isnan(s.fraction[~on]).all()
