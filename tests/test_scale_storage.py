"""Large counties (issue 17, item 4): float32 storage, row blocks, the merged road layer.

Each test compares the large-county path with the ordinary one on a small case:
the float32 OD matrix is the float64 one rounded; row blocks give the same
figures as one pass; the merged road layer carries the same coordinates.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString

import coverkit.siting.choice as choice_mod
import coverkit.siting.p_center as p_center_mod
from coverkit.maps.geodata import geojson_of
from coverkit.network import network_from_roads, od_matrix
from coverkit.siting import PCenter, PMedian, explain_sites

CRS = "EPSG:32650"
INF = np.inf


@pytest.fixture(scope="module")
def line_net():
    """A primary road (0,0)-(1000,0)-(2000,0): 1 min per km."""
    roads = gpd.GeoDataFrame(
        {"id": [0], "highway": ["primary"]},
        geometry=[LineString([(0, 0), (1000, 0), (2000, 0)])],
        crs=CRS,
    )
    return network_from_roads(roads, crs=CRS)


def test_od_float32_is_the_float64_matrix_rounded(line_net):
    # (500, 100): walk 100 m = 1.2 min, then 0.5 km to (1000,0) = 0.5 min; the
    # destination (1500, 0) is 0.5 km further: 1.2 + 1.0 = 2.2 min. (0, 9000) is
    # 9 km from the road (beyond the walk limit): inf in both.
    origins = np.array([[500.0, 100.0], [0.0, 9000.0]])
    dests = np.array([[1500.0, 0.0]])
    od64 = od_matrix(line_net, origins, dests, max_walk_m=5000.0)
    od32 = od_matrix(line_net, origins, dests, max_walk_m=5000.0, dtype=np.float32)
    assert od32.dtype == np.float32
    assert od64[0, 0] == pytest.approx(2.2, rel=1e-12)
    np.testing.assert_array_equal(od32, od64.astype(np.float32))
    assert np.isinf(od32[1, 0])


# 7 rows x 4 candidates; row 6 is unreachable from candidate 3 and the baseline
COST = np.array(
    [
        [10.0, 40.0, 25.0, 60.0],
        [35.0, 12.0, 30.0, 45.0],
        [50.0, 20.0, 15.0, 33.0],
        [22.0, 55.0, 41.0, 8.0],
        [18.0, 27.0, 36.0, 29.0],
        [44.0, 9.0, 52.0, 17.0],
        [31.0, 26.0, 14.0, INF],
    ]
)
W = np.array([5.0, 3.0, 8.0, 2.0, 6.0, 4.0, 7.0])
BASE = np.array([30.0, 50.0, 45.0, 25.0, 20.0, 60.0, INF])


def test_runners_up_in_row_blocks_match_one_pass(monkeypatch):
    one = explain_sites(COST, W, [0, 1], baseline_min=BASE, threshold_min=30)
    monkeypatch.setattr(choice_mod, "SET_MODEL_BLOCK", 2)  # 4 blocks of rows
    blocked = explain_sites(COST, W, [0, 1], baseline_min=BASE, threshold_min=30)
    a, b = one.runners_up, blocked.runners_up
    assert a[["site_id", "candidate_index"]].equals(b[["site_id", "candidate_index"]])
    for col in ("pop_within_after", "mean_min_after"):
        np.testing.assert_allclose(a[col].to_numpy(float), b[col].to_numpy(float), rtol=1e-12)


def test_pcenter_radii_in_row_blocks_match_one_pass(monkeypatch):
    # p = 1: worst min(b_i, c_ij) per column j (by hand, row by row):
    # j0 max(10,35,45,22,18,44,31) = 45; j1 max(30,12,20,25,20,9,26) = 30;
    # j2 max(25,30,15,25,20,52,14) = 52; j3 inf (row 6). Optimum: candidate 1, 30 min.
    one = PCenter.from_cost_matrix(COST, W, p=1, baseline_min=BASE).solve()
    monkeypatch.setattr(p_center_mod, "SET_MODEL_BLOCK", 2)
    blocked = PCenter.from_cost_matrix(COST, W, p=1, baseline_min=BASE).solve()
    assert one.objective == 30.0
    assert list(one.selected) == [1]
    assert blocked.objective == one.objective
    assert list(blocked.selected) == list(one.selected)


def test_float32_cost_gives_the_same_choice():
    # every value here is exact in float32: the models must agree to the last digit
    c32 = COST.astype(np.float32)
    for model in (PMedian, PCenter):
        r64 = model.from_cost_matrix(COST, W, p=2, baseline_min=BASE).solve()
        r32 = model.from_cost_matrix(c32, W, p=2, baseline_min=BASE).solve()
        assert list(r32.selected) == list(r64.selected)
        assert r32.objective == r64.objective


def test_merged_road_layer_keeps_every_coordinate():
    roads = gpd.GeoDataFrame(
        {"highway": ["primary", "primary"]},
        geometry=[
            LineString([(43.3, -11.7), (43.31, -11.7)]),
            LineString([(43.4, -11.6), (43.41, -11.61)]),
        ],
        crs="EPSG:4326",
    )
    apart = geojson_of(roads)
    merged = geojson_of(roads, merge=True)
    assert len(apart["features"]) == 2
    assert len(merged["features"]) == 1
    geom = merged["features"][0]["geometry"]
    assert geom["type"] == "MultiLineString"
    assert geom["coordinates"] == [f["geometry"]["coordinates"] for f in apart["features"]]
    assert geojson_of(roads.iloc[:0], merge=True)["features"] == []
