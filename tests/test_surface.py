"""Tests for coverkit.surface on a tiny projected raster with hand-computed minutes.

Grid: 3 rows x 4 cols of 100 m cells, top-left corner (0, 300), EPSG:32650.
Cell centres x = 50, 150, 250, 350; y = 250 (row 0), 150 (row 1), 50 (row 2).
One primary road (60 km/h = 0.1 min per 100 m) along y = 150 from x = 0 to 400.
A cell in row 1 is on the road (no walk); rows 0 and 2 walk 100 m = 1.2 min.
Cell (0, 3) lies outside the county.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import CRS
from shapely.geometry import LineString, box

from coverkit.errors import InvalidValueError, MissingColumnError, OutputError
from coverkit.io import PopulationGrid
from coverkit.network import network_from_roads
from coverkit.surface import (
    NODATA_MIN,
    catchments,
    isochrones,
    population_within,
    save_travel_time_raster,
    travel_time_surface,
)

EPSG = "EPSG:32650"
VALUES = np.array(
    [
        [1.0, 2.0, 3.0, 0.0],
        [4.0, 5.0, 6.0, 7.0],
        [8.0, 9.0, 10.0, 11.0],
    ]
)
MASK = np.ones((3, 4), dtype=bool)
MASK[0, 3] = False
NAN = np.nan


def make_grid(values=VALUES, mask=MASK):
    return PopulationGrid(
        values=values,
        mask=mask,
        transform=Affine(100.0, 0.0, 0.0, 0.0, -100.0, 300.0),
        crs=CRS.from_user_input(EPSG),
        total=float(values.sum()),
        source="test",
    )


@pytest.fixture(scope="module")
def net():
    r = gpd.GeoDataFrame(
        {"id": [1], "highway": ["primary"]},
        geometry=[LineString([(0, 150), (400, 150)])],
        crs=EPSG,
    )
    return network_from_roads(r, crs=EPSG)


@pytest.fixture(scope="module")
def one_facility(net):
    return travel_time_surface(net, make_grid(), np.array([[50.0, 150.0]]))


def test_surface_one_facility(one_facility):
    minutes, nearest = one_facility
    expected = np.array(
        [
            [1.2, 1.3, 1.4, NAN],
            [0.0, 0.1, 0.2, 0.3],
            [1.2, 1.3, 1.4, 1.5],
        ]
    )
    assert minutes.dtype == np.float32
    np.testing.assert_allclose(minutes, expected, rtol=1e-6, atol=1e-6, equal_nan=True)
    assert nearest.tolist() == [[0, 0, 0, -1], [0, 0, 0, 0], [0, 0, 0, 0]]


def test_surface_two_facilities_and_catchments(net):
    grid = make_grid()
    minutes, nearest = travel_time_surface(net, grid, np.array([[50.0, 150.0], [350.0, 150.0]]))
    expected = np.array(
        [
            [1.2, 1.3, 1.3, NAN],
            [0.0, 0.1, 0.1, 0.0],
            [1.2, 1.3, 1.3, 1.2],
        ]
    )
    np.testing.assert_allclose(minutes, expected, rtol=1e-6, atol=1e-6, equal_nan=True)
    assert nearest.tolist() == [[0, 0, 1, -1], [0, 0, 1, 1], [0, 0, 1, 1]]
    c = catchments(grid, nearest, ["west", "east"])
    assert c["id"].tolist() == ["west", "east"]
    # west: columns 0-1 = 1+2+4+5+8+9 = 29; east: 3+6+7+10+11 = 37
    assert c["population"].tolist() == [29.0, 37.0]
    assert c["n_cells"].tolist() == [6, 5]
    assert c.geometry.area.tolist() == pytest.approx([60_000.0, 50_000.0])
    assert c["population"].sum() == pytest.approx(grid.values[grid.mask].sum())


def test_catchment_of_unused_facility_is_empty(one_facility):
    _, nearest = one_facility
    c = catchments(make_grid(), nearest, ["a", "b"])
    assert c["population"].tolist() == [66.0, 0.0]
    assert c.geometry.iloc[1].is_empty
    with pytest.raises(InvalidValueError, match="ids"):
        catchments(make_grid(), nearest, [])


def test_off_network_cells_are_inf(net):
    minutes, nearest = travel_time_surface(
        net, make_grid(), np.array([[50.0, 150.0]]), max_walk_m=50.0
    )
    # rows 0 and 2 are 100 m from the road: farther than 50 m
    assert np.isinf(minutes[[0, 2]][:, :3]).all()
    assert np.isinf(minutes[2, 3])
    assert (nearest[[0, 2]] == -1).all()
    table = population_within(make_grid(), minutes, thresholds_min=[30.0])
    county = table.iloc[-1]
    assert county["population_unreachable"] == pytest.approx(1 + 2 + 3 + 8 + 9 + 10 + 11)
    assert county["population_within_30min"] == pytest.approx(4 + 5 + 6 + 7)


def test_isochrones(one_facility):
    minutes, _ = one_facility
    iso = isochrones(make_grid(), minutes, thresholds_min=[1.25, 0.15])
    assert iso["threshold_min"].tolist() == [0.15, 1.25]
    # <= 0.15: cells (1,0), (1,1) = 4 + 5; <= 1.25 adds row 1 rest and (0,0), (2,0)
    assert iso["population"].tolist() == [9.0, 4 + 5 + 6 + 7 + 1 + 8]
    assert iso.geometry.area.tolist() == pytest.approx([20_000.0, 60_000.0])
    assert iso.geometry.iloc[1].contains(iso.geometry.iloc[0])
    iso = isochrones(make_grid(), minutes, thresholds_min=[0.0001])
    assert iso["population"].tolist() == [4.0]


def test_population_within_zones(one_facility):
    minutes, _ = one_facility
    zones = gpd.GeoDataFrame(
        {"code": ["W", "E"]}, geometry=[box(0, 0, 200, 300), box(200, 0, 400, 300)], crs=EPSG
    )
    table = population_within(
        make_grid(), minutes, thresholds_min=[0.15, 1.35], zones=zones, zone_id_col="code"
    )
    assert table["zone"].tolist() == ["W", "E", "county"]
    # W: cols 0-1 = 29; E: cols 2-3 inside the mask = 3+6+7+10+11 = 37
    assert table["population"].tolist() == [29.0, 37.0, 66.0]
    # <= 0.15: W (1,0) (1,1) = 9; E none
    assert table["population_within_0.15min"].tolist() == [9.0, 0.0, 9.0]
    # <= 1.35: W all 29; E row 1 (6+7) and (0,2)=3 (1.4 no) -> 13
    assert table["population_within_1.35min"].tolist() == [29.0, 13.0, 42.0]
    assert table["share_within_1.35min"].tolist() == pytest.approx([1.0, 13 / 37, 42 / 66])
    assert table["population_unreachable"].tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(MissingColumnError, match="'id'"):
        population_within(make_grid(), minutes, zones=zones)


def test_save_raster_roundtrip(tmp_path, one_facility):
    minutes, _ = one_facility
    m = minutes.copy()
    m[2, 3] = np.inf
    path = save_travel_time_raster(tmp_path / "tt.tif", m, make_grid(), unreachable_min=9999.0)
    with rasterio.open(path) as src:
        assert src.nodata == NODATA_MIN
        assert src.dtypes[0] == "float32"
        assert src.crs.to_epsg() == 32650
        data = src.read(1)
    assert data[0, 3] == NODATA_MIN
    assert data[2, 3] == 9999.0
    assert data[1, 1] == pytest.approx(0.1, rel=1e-6)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tt.tif"]  # no temp file left
    with pytest.raises(OutputError, match="does not exist"):
        save_travel_time_raster(tmp_path / "no" / "tt.tif", m, make_grid())
    with pytest.raises(InvalidValueError, match="shape"):
        save_travel_time_raster(tmp_path / "x.tif", m[:2], make_grid())


@settings(max_examples=25, deadline=None)
@given(
    fx=st.lists(st.floats(0.0, 400.0), min_size=1, max_size=4),
    ts=st.lists(st.floats(0.0, 3.0), min_size=1, max_size=4),
)
def test_population_sums(net, fx, ts):
    grid = make_grid()
    fac = np.column_stack([fx, np.full(len(fx), 150.0)])
    minutes, nearest = travel_time_surface(net, grid, fac)
    c = catchments(grid, nearest, list(range(len(fx))))
    assert c["population"].sum() == pytest.approx(66.0)
    iso = isochrones(grid, minutes, thresholds_min=ts)
    pops = iso["population"].to_numpy()
    assert (np.diff(pops) >= 0).all()  # nested thresholds
    table = population_within(grid, minutes, thresholds_min=ts)
    for t, p in zip(iso["threshold_min"], pops, strict=True):
        assert table[f"population_within_{t:g}min"].iloc[-1] == pytest.approx(p)
    assert math.isfinite(float(np.nanmax(minutes)))
