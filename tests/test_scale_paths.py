"""The blocked and threaded paths of large counties give the plain path's answer, exactly.

Snapping, the OD fill and coordinate transforms run in row blocks over a thread
pool (:mod:`coverkit.network.blocks`); the village stage reuses the plan's
metric cells. Each is forced here with tiny blocks and several threads and
compared element-wise with one block on one thread.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from affine import Affine
from pyproj import CRS, Transformer
from shapely.geometry import LineString, Point, box

from coverkit import settings
from coverkit.io import PopulationGrid
from coverkit.network import blocks, network_from_roads, od_matrix, routing, snap_points, snapping
from coverkit.villages import MetricCells, estimate_village_population

UTM = "EPSG:32650"


@pytest.fixture(scope="module")
def net():
    """A random tangle of roads (with a far island, so some points reroute or fail)."""
    rng = np.random.default_rng(3)
    lines = [LineString(rng.uniform(0, 5000, size=(rng.integers(2, 6), 2))) for _ in range(60)]
    lines.append(LineString([(9000, 9000), (9500, 9000)]))
    r = gpd.GeoDataFrame(
        {"id": range(len(lines)), "highway": ["residential"] * len(lines)},
        geometry=lines,
        crs=UTM,
    )
    return network_from_roads(r, crs=UTM)


def _plain(monkeypatch):
    monkeypatch.setattr(blocks, "block_threads", lambda: 1)
    monkeypatch.setattr(routing, "block_threads", lambda: 1)
    monkeypatch.setattr(snapping, "SNAP_BLOCK", 10**9)
    monkeypatch.setattr(routing, "OD_BLOCK", 10**9)


def _forced(monkeypatch):
    monkeypatch.setattr(blocks, "block_threads", lambda: 3)
    monkeypatch.setattr(routing, "block_threads", lambda: 3)  # Dijkstra's sources split in 3
    monkeypatch.setattr(snapping, "SNAP_BLOCK", 7)
    monkeypatch.setattr(routing, "OD_BLOCK", 5)
    monkeypatch.setattr(routing, "DIJKSTRA_BLOCK", 1)


def _points(n: int = 400) -> np.ndarray:
    rng = np.random.default_rng(11)
    return rng.uniform(-500, 10_000, size=(n, 2))


def test_for_blocks_keeps_order_and_covers_every_row(monkeypatch):
    monkeypatch.setattr(blocks, "block_threads", lambda: 2)
    assert blocks.for_blocks(lambda s, e: (s, e), 10, 3) == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert blocks.for_blocks(lambda s, e: (s, e), 0, 3) == []


def test_block_threads_is_capped_and_positive(monkeypatch):
    monkeypatch.setattr(settings, "array_threads", 0)
    assert blocks.block_threads() == 1
    monkeypatch.setattr(settings, "array_threads", 10_000)
    assert 1 <= blocks.block_threads() <= 10_000


def test_snap_blocked_threaded_equals_plain(net, monkeypatch):
    xy = _points()
    _plain(monkeypatch)
    net.snap_cache.clear()
    plain = snap_points(net, xy[:, 0], xy[:, 1], max_walk_m=800.0)
    _forced(monkeypatch)
    net.snap_cache.clear()
    forced = snap_points(net, xy[:, 0], xy[:, 1], max_walk_m=800.0)
    net.snap_cache.clear()
    assert plain.n_off_network > 0
    assert plain.on_network.any()
    for f in ("edge", "fraction", "distance_m", "on_network", "rerouted"):
        np.testing.assert_array_equal(getattr(forced, f), getattr(plain, f))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_od_blocked_threaded_equals_plain(net, monkeypatch, dtype):
    origins = _points()
    dests = np.array([[100.0, 100.0], [2500.0, 2500.0], [4900.0, 300.0], [20_000.0, 0.0]])
    _plain(monkeypatch)
    net.snap_cache.clear()
    plain = od_matrix(net, origins, dests, max_walk_m=800.0, dtype=dtype)
    _forced(monkeypatch)
    net.snap_cache.clear()
    forced = od_matrix(net, origins, dests, max_walk_m=800.0, dtype=dtype)
    # every origin on the network and every destination too: the row-run path
    on = origins[(origins >= 0).all(axis=1) & (origins <= 5000).all(axis=1)][:50]
    full_plain = od_matrix(net, on, dests[:3], dtype=dtype)
    _plain(monkeypatch)
    net.snap_cache.clear()
    full_again = od_matrix(net, on, dests[:3], dtype=dtype)
    net.snap_cache.clear()
    assert forced.dtype == dtype
    assert np.isinf(plain[:, 3]).all()
    assert np.isfinite(plain).any()
    np.testing.assert_array_equal(forced, plain)
    assert np.isfinite(full_plain).all()
    np.testing.assert_array_equal(full_plain, full_again)


def test_od_of_few_origins_equals_their_rows_of_many(net, monkeypatch):
    """A few origins (villages) read Dijkstra's times at their edges' ends only: same rows."""
    _forced(monkeypatch)
    origins = _points()
    dests = np.array([[100.0, 100.0], [2500.0, 2500.0], [4900.0, 300.0]])
    net.snap_cache.clear()
    many = od_matrix(net, origins, dests, max_walk_m=800.0)
    few = od_matrix(net, origins[:5], dests, max_walk_m=800.0)
    net.snap_cache.clear()
    assert 8 * 5 < net.n_nodes < 8 * len(origins)  # the two paths
    assert np.isfinite(few).any()
    np.testing.assert_array_equal(few, many[:5])


def test_transform_blocked_equals_one_call(monkeypatch):
    monkeypatch.setattr(blocks, "block_threads", lambda: 3)
    rng = np.random.default_rng(5)
    lon, lat = rng.uniform(110, 120, 1000), rng.uniform(20, 30, 1000)
    x, y = blocks.transform_xy("EPSG:4326", UTM, lon, lat, block=17)
    ex, ey = Transformer.from_crs("EPSG:4326", UTM, always_xy=True).transform(lon, lat)
    np.testing.assert_array_equal(x, ex)
    np.testing.assert_array_equal(y, ey)
    ex0, ey0 = blocks.transform_xy("EPSG:4326", UTM, lon[:0], lat[:0])
    assert ex0.size == 0
    assert ey0.size == 0


def _grid(everywhere: bool = False) -> PopulationGrid:
    rng = np.random.default_rng(9)
    values = rng.integers(1 if everywhere else 0, 5, size=(30, 40)).astype("float64")
    mask = np.ones(values.shape, dtype=bool)
    if not everywhere:
        mask[:4, :] = False  # outside the county: never counted
    return PopulationGrid(
        values=values,
        mask=mask,
        transform=Affine(0.001, 0, 115.0, 0, -0.001, 25.0),
        crs=CRS.from_user_input("EPSG:4326"),
        total=float(values[mask].sum()),
        source="test grid",
    )


@pytest.mark.parametrize(
    ("metric", "everywhere"),
    [("EPSG:32650", False), ("EPSG:32649", False), ("EPSG:32650", True)],
)
def test_village_estimate_with_plan_cells_equals_without(monkeypatch, metric, everywhere):
    """The plan's metric cells give the same estimates (reused, or refiltered in another CRS)."""
    monkeypatch.setattr(blocks, "block_threads", lambda: 2)
    monkeypatch.setattr(settings, "transform_block_points", 13)
    grid = _grid(everywhere)
    rng = np.random.default_rng(1)
    vil = gpd.GeoDataFrame(
        {
            "id": [f"v{i}" for i in range(12 if everywhere else 13)],
            "township": (["A"] * 6 + ["B"] * 6 + ["nowhere"])[: 12 if everywhere else 13],
            "population": ([np.nan] * 12 + [7.0])[: 12 if everywhere else 13],
        },
        geometry=[Point(115 + rng.uniform(0, 0.04), 25 - rng.uniform(0, 0.03)) for _ in range(12)]
        + ([] if everywhere else [box(115.01, 24.975, 115.02, 24.985)]),
        crs="EPSG:4326",
    )
    towns = gpd.GeoDataFrame(
        {"id": ["a", "b"], "name": ["A", "B"]},
        geometry=[box(115.0, 24.97, 115.02, 25.0), box(115.02, 24.97, 115.04, 25.0)],
        crs="EPSG:4326",
    )
    rows, cols, gx, gy = grid.cell_centres(populated_only=False)
    cx, cy = Transformer.from_crs(grid.crs, metric, always_xy=True).transform(gx, gy)
    cells = MetricCells(rows=rows, cols=cols, xy=np.column_stack([cx, cy]), crs=CRS(metric))
    plain = estimate_village_population(vil, grid, townships=towns)
    reused = estimate_village_population(vil, grid, townships=towns, cells=cells)
    np.testing.assert_array_equal(reused["population"].to_numpy(), plain["population"].to_numpy())
    assert plain["population"].iloc[:12].sum() > 0


@pytest.mark.parametrize("share", [0.0, 0.05, 0.5, 0.95])
def test_od_limit_keeps_every_time_within_it_and_only_those(net, share):
    # the village stage searches the roads only up to the shared-clinic radius from
    # villages without a clinic: every time <= limit must be the full search's, to
    # the last digit, and every longer one inf (never a wrong finite value)
    pts = _points(120)
    full = od_matrix(net, pts, pts[:40], max_walk_m=2000.0)
    limit = float(np.quantile(full[np.isfinite(full)], share)) if share else 0.0
    cut = od_matrix(net, pts, pts[:40], max_walk_m=2000.0, limit_min=limit)
    inside = full <= limit
    np.testing.assert_array_equal(cut[inside], full[inside])
    assert np.isinf(cut[~inside]).all()
    assert inside.sum() >= int(share * np.isfinite(full).sum())


def test_od_limit_refuses_a_negative_limit(net):
    from coverkit.errors import InvalidValueError

    with pytest.raises(InvalidValueError, match="limit_min"):
        od_matrix(net, _points(3), _points(2), limit_min=-1.0)
