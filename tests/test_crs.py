"""Coordinate conversions against published reference values."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely.geometry import Point

from coverkit.crs import (
    bd09_to_gcj02,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    metric_crs,
    to_wgs84,
    wgs84_to_gcj02,
)
from coverkit.errors import CRSError

GEOD = Geod(ellps="WGS84")

# Reference values published with the widely used coordtransform libraries
# (wandergis/coordtransform and its Rust and Java ports, e.g. hutool's
# CoordinateUtilTest) for the point (116.404, 39.915) in Beijing.
REFERENCE = [
    (wgs84_to_gcj02, (116.404, 39.915), (116.41024449916938, 39.91640428150164)),
    (gcj02_to_bd09, (116.404, 39.915), (116.41036949371029, 39.92133699351021)),
    (bd09_to_gcj02, (116.404, 39.915), (116.39762729119315, 39.90865673957631)),
]


@pytest.mark.parametrize(("func", "given_ll", "expected"), REFERENCE)
def test_published_reference_points(func, given_ll, expected):
    lon, lat = func(*given_ll)
    assert float(lon) == pytest.approx(expected[0], abs=1e-9)
    assert float(lat) == pytest.approx(expected[1], abs=1e-9)


def _metres(lon1, lat1, lon2, lat2):
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


def test_gcj02_offset_is_hundreds_of_metres_in_china():
    lon, lat = wgs84_to_gcj02(109.45, 24.48)  # Luzhai county, Guangxi
    offset = _metres(109.45, 24.48, float(lon), float(lat))
    assert 200 < offset < 700


def test_outside_china_is_unchanged():
    lon, lat = wgs84_to_gcj02(43.25, -11.7)  # Moroni, Comoros
    assert float(lon) == 43.25
    assert float(lat) == -11.7


@settings(max_examples=200, deadline=None)
@given(
    lon=st.floats(min_value=74.0, max_value=134.0),
    lat=st.floats(min_value=18.0, max_value=53.0),
)
def test_gcj02_round_trip_below_half_a_metre(lon, lat):
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    w_lon, w_lat = gcj02_to_wgs84(g_lon, g_lat)
    assert _metres(lon, lat, float(w_lon), float(w_lat)) < 0.5


@settings(max_examples=100, deadline=None)
@given(
    lon=st.floats(min_value=74.0, max_value=134.0),
    lat=st.floats(min_value=18.0, max_value=53.0),
)
def test_bd09_round_trip_below_half_a_metre(lon, lat):
    b_lon, b_lat = gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))
    w_lon, w_lat = to_wgs84(b_lon, b_lat, "bd09")
    assert _metres(lon, lat, float(w_lon), float(w_lat)) < 0.5


def test_vectorised_and_cgcs2000_passthrough():
    lon = np.array([110.0, 111.0])
    lat = np.array([25.0, 26.0])
    out = to_wgs84(lon, lat, "cgcs2000")
    np.testing.assert_array_equal(out[0], lon)
    g = wgs84_to_gcj02(lon, lat)
    assert g[0].shape == (2,)


def test_unknown_coordinate_system():
    with pytest.raises(CRSError, match="unknown coordinate system 'mars'"):
        to_wgs84(1.0, 2.0, "mars")


def test_metric_crs_is_the_utm_zone():
    gdf = gpd.GeoDataFrame(geometry=[Point(43.3, -11.7)], crs="EPSG:4326")
    assert metric_crs(gdf).to_epsg() == 32738
    gdf = gpd.GeoDataFrame(geometry=[Point(109.7, 24.5)], crs="EPSG:4326")
    assert metric_crs(gdf).to_epsg() == 32649


def test_metric_crs_needs_a_crs():
    with pytest.raises(CRSError, match="has no CRS"):
        metric_crs(gpd.GeoDataFrame(geometry=[Point(0, 0)]))
