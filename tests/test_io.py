"""Loaders of coverkit.io on tiny files with hand-computed answers."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, box

from coverkit.crs import wgs84_to_gcj02
from coverkit.errors import (
    CRSError,
    EmptyInputError,
    InputFileError,
    InvalidValueError,
    MissingColumnError,
)
from coverkit.io import read_boundary, read_points, read_population, read_roads

DATA = Path(__file__).parent / "data"
TINY_OSM = DATA / "tiny_roads.osm"
DEG_M = 111_319.49  # metres per degree of longitude on the equator (WGS84)


# --------------------------------------------------------------------------- roads


def test_read_roads_osm_xml_keeps_only_road_ways():
    roads = read_roads(TINY_OSM)
    # 103 proposed, 104 area, 105 construction, 106 building are skipped
    assert roads["id"].tolist() == [101, 102, 107]
    assert roads["highway"].tolist() == ["primary", "residential", "track"]
    assert roads.loc[0, "maxspeed"] == "50"
    assert roads.loc[0, "name"] == "Equator Road"
    assert list(roads.columns) == ["id", "highway", "maxspeed", "name", "geometry"]
    assert roads.crs.to_epsg() == 4326
    assert set(roads.geom_type) == {"LineString"}


def test_read_roads_pbf_equals_xml(tmp_path):
    import osmium

    pbf = tmp_path / "tiny.osm.pbf"
    writer = osmium.SimpleWriter(str(pbf))
    for obj in osmium.FileProcessor(str(TINY_OSM)):
        writer.add(obj)
    writer.close()
    a, b = read_roads(TINY_OSM), read_roads(pbf)
    assert a["id"].tolist() == b["id"].tolist()
    assert a.geometry.geom_equals_exact(b.geometry, tolerance=1e-9).all()


def test_read_roads_clips_to_buffered_boundary():
    boundary = gpd.GeoDataFrame({"id": ["b"]}, geometry=[box(0.0, -0.01, 0.01, 0.01)], crs=4326)
    # no buffer: the equator road stops at lon 0.01, the far track (lat 1) is gone
    roads = read_roads(TINY_OSM, boundary, buffer_m=0)
    assert roads["id"].tolist() == [101, 102]
    assert roads.total_bounds[2] == pytest.approx(0.01, abs=1e-9)
    # 500 m buffer: the road reaches 0.01 deg + 500 m east (buffered in UTM 31N, whose
    # scale factor 3° off the central meridian is 1.001: within 1 m of the true 500 m)
    roads = read_roads(TINY_OSM, boundary, buffer_m=500)
    east = roads.loc[roads["id"] == 101].total_bounds[2]
    assert east == pytest.approx(0.01 + 500 / DEG_M, abs=1.0 / DEG_M)


def test_read_roads_line_file_with_class_column(tmp_path):
    path = tmp_path / "roads.gpkg"
    gpd.GeoDataFrame(
        {"kind": ["primary", "track"], "name": ["A", "B"]},
        geometry=[LineString([(0, 0), (0.01, 0)]), LineString([(0, 0), (0, 0.01)])],
        crs=4326,
    ).to_file(path)
    with pytest.raises(MissingColumnError, match="class_column"):
        read_roads(path)
    roads = read_roads(path, class_column="kind")
    assert roads["highway"].tolist() == ["primary", "track"]
    assert roads["name"].tolist() == ["A", "B"]


def test_read_roads_graphml(tmp_path):
    import networkx as nx
    import osmnx as ox

    G = nx.MultiDiGraph(crs="EPSG:4326")
    G.add_node(1, x=0.0, y=0.0)
    G.add_node(2, x=0.01, y=0.0)
    G.add_node(3, x=0.01, y=0.01)
    G.add_edge(1, 2, 0, highway="primary", maxspeed="60", name="A", length=1113.2, osmid=11)
    G.add_edge(2, 3, 0, highway=["track", "path"], length=1113.2, osmid=12)
    path = tmp_path / "g.graphml"
    ox.save_graphml(G, path)
    roads = read_roads(path)
    assert roads["highway"].tolist() == ["primary", "track"]  # first class of a list
    assert roads["maxspeed"].tolist() == ["60", None]
    assert roads["name"].tolist() == ["A", None]
    assert roads.geometry.iloc[1].equals(LineString([(0.01, 0), (0.01, 0.01)]))


def test_read_roads_errors(tmp_path):
    with pytest.raises(InputFileError, match="does not exist"):
        read_roads(tmp_path / "nope.osm.pbf")
    far = gpd.GeoDataFrame({"id": ["b"]}, geometry=[box(10, 10, 10.1, 10.1)], crs=4326)
    with pytest.raises(EmptyInputError, match="no roads"):
        read_roads(TINY_OSM, far, buffer_m=100)
    bad = tmp_path / "bad.osm"
    bad.write_text("this is not xml")
    with pytest.raises(InputFileError, match="not OSM XML"):
        read_roads(bad)


# --------------------------------------------------------------------------- boundary


def _two_counties(path: Path, *, crs: int | None = 4326) -> None:
    gdf = gpd.GeoDataFrame(
        {"name": ["甲县", "乙县"], "code": ["110101", "110102"]},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)],
        crs=crs,
    )
    gdf.to_file(path)


def test_read_boundary_picks_by_name_and_code(tmp_path):
    path = tmp_path / "counties.gpkg"
    _two_counties(path)
    b = read_boundary(path, name="乙县")
    assert len(b) == 1
    assert b.loc[0, "name"] == "乙县"
    assert b.loc[0, "id"] == "110102"
    assert b.geometry.iloc[0].equals(box(1, 0, 2, 1))
    assert read_boundary(path, name="110101").loc[0, "name"] == "甲县"
    # no name: one dissolved row covering both
    whole = read_boundary(path)
    assert len(whole) == 1
    assert whole.geometry.iloc[0].area == pytest.approx(2.0)


def test_read_boundary_errors(tmp_path):
    path = tmp_path / "counties.gpkg"
    _two_counties(path)
    with pytest.raises(InputFileError, match="choose one of: 乙县, 甲县"):
        read_boundary(path, name="丙县")
    with pytest.raises(MissingColumnError, match="name_column"):
        read_boundary(path, name="甲县", name_column="NAME_3")
    with pytest.raises(InputFileError, match="does not exist"):
        read_boundary(tmp_path / "missing.geojson")
    shp = tmp_path / "nocrs.shp"
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        gpd.GeoDataFrame({"name": ["x"]}, geometry=[box(0, 0, 1, 1)]).to_file(shp)
    with pytest.raises(CRSError, match="has no CRS"):
        read_boundary(shp)


# --------------------------------------------------------------------------- population

NODATA = -99999.0


def _raster(path: Path, values: np.ndarray, *, crs: str | None = "EPSG:4326") -> None:
    rows, cols = values.shape
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=cols,
        height=rows,
        count=1,
        dtype="float32",
        crs=crs,
        transform=Affine(1.0, 0.0, 0.0, 0.0, -1.0, float(rows)),  # origin (0, rows), 1° cells
        nodata=NODATA,
    ) as dst:
        dst.write(values.astype("float32"), 1)


def _four_by_four() -> np.ndarray:
    v = np.arange(16, dtype="float64").reshape(4, 4)
    v[0, 0] = NODATA
    v[0, 1] = -5.0
    return v


def test_read_population_known_sum(tmp_path):
    path = tmp_path / "pop.tif"
    _raster(path, _four_by_four())
    boundary = gpd.GeoDataFrame(geometry=[box(0.0, 0.0, 2.4, 4.0)], crs=4326)
    grid = read_population(path, boundary)
    # window = columns 0..2 (bounds reach 2.4); centres at x 0.5, 1.5 are inside, 2.5 not
    assert grid.shape == (4, 3)
    assert grid.mask.sum() == 8
    assert grid.mask[:, :2].all()
    assert not grid.mask[:, 2].any()
    # nodata and -5 -> 0; inside: 4+5+8+9+12+13 = 51
    assert grid.total == pytest.approx(51.0)
    assert grid.values[:, 2].sum() == 0.0
    assert (grid.values >= 0).all()
    assert grid.transform == Affine(1.0, 0.0, 0.0, 0.0, -1.0, 4.0)
    assert grid.crs.to_epsg() == 4326


def test_read_population_window_offset(tmp_path):
    path = tmp_path / "pop.tif"
    _raster(path, _four_by_four())
    boundary = gpd.GeoDataFrame(geometry=[box(2.2, 0.2, 3.8, 1.9)], crs=4326)
    grid = read_population(path, boundary)
    # columns 2..3, rows 2..3 (y 0.2..1.9); centres (2.5, 1.5), (3.5, 1.5), (2.5, .5), (3.5, .5)
    assert grid.shape == (2, 2)
    assert grid.transform.c == 2.0
    assert grid.transform.f == 2.0
    assert grid.total == pytest.approx(10 + 11 + 14 + 15)


def test_read_population_errors(tmp_path):
    path = tmp_path / "pop.tif"
    _raster(path, _four_by_four())
    far = gpd.GeoDataFrame(geometry=[box(10, 10, 11, 11)], crs=4326)
    with pytest.raises(EmptyInputError, match="does not overlap"):
        read_population(path, far)
    with pytest.raises(InputFileError, match="does not exist"):
        read_population(tmp_path / "none.tif", far)
    empty = tmp_path / "empty.tif"
    _raster(empty, np.full((4, 4), NODATA))
    inside = gpd.GeoDataFrame(geometry=[box(0, 0, 4, 4)], crs=4326)
    with pytest.raises(EmptyInputError, match="only nodata"):
        read_population(empty, inside)
    nocrs = tmp_path / "nocrs.tif"
    _raster(nocrs, _four_by_four(), crs=None)
    with pytest.raises(CRSError, match="rio edit-info --crs EPSG:4326"):
        read_population(nocrs, inside)
    grid = read_population(nocrs, inside, crs="EPSG:4326")
    assert grid.total == pytest.approx(sum(range(2, 16)))


@settings(max_examples=25, deadline=None)
@given(
    values=st.lists(
        st.floats(min_value=0, max_value=1000, allow_nan=False), min_size=36, max_size=36
    ),
    x0=st.floats(0.0, 2.9),
    y0=st.floats(0.0, 2.9),
    w=st.floats(0.6, 3.0),
    h=st.floats(0.6, 3.0),
)
def test_population_total_is_sum_of_cells_with_centre_inside(
    tmp_path_factory, values, x0, y0, w, h
):
    path = tmp_path_factory.mktemp("p") / "pop.tif"
    arr = np.asarray(values, dtype="float32").reshape(6, 6)
    _raster(path, arr)
    x1, y1 = min(x0 + w, 6.0), min(y0 + h, 6.0)
    cx = np.arange(6) + 0.5
    cy = 6 - (np.arange(6) + 0.5)
    # a centre exactly on the edge is GDAL's call; keep edges off the centres
    edges = np.array([x0, x1, y0, y1])
    assume(np.abs(edges[:, None] - cx[None, :]).min() > 1e-6)
    inside = (cx[None, :] > x0) & (cx[None, :] < x1) & (cy[:, None] > y0) & (cy[:, None] < y1)
    boundary = gpd.GeoDataFrame(geometry=[box(x0, y0, x1, y1)], crs=4326)
    if not inside.any():
        with pytest.raises(EmptyInputError):
            read_population(path, boundary)
        return
    grid = read_population(path, boundary)
    expected = float(arr.astype("float64")[inside].sum())
    assert grid.total == pytest.approx(expected, rel=1e-6, abs=1e-3)
    assert int(grid.mask.sum()) == int(inside.sum())


# --------------------------------------------------------------------------- points


def test_read_points_gbk_chinese_headers(tmp_path):
    path = tmp_path / "卫生院.csv"
    text = (
        "名称,经度,纬度,类型,人口,乡镇\n"
        "城关镇卫生院,110.5,30.25,乡镇卫生院,12000,城关镇\n"
        "李家村卫生室,110.6,30.35,村卫生室,,李家乡\n"
    )
    path.write_bytes(text.encode("gbk"))
    pts = read_points(path)
    assert pts["name"].tolist() == ["城关镇卫生院", "李家村卫生室"]
    assert pts["tier"].tolist() == ["乡镇卫生院", "村卫生室"]
    assert pts["township"].tolist() == ["城关镇", "李家乡"]
    assert pts["id"].tolist() == [1, 2]
    assert pts.loc[0, "population"] == 12000.0
    assert np.isnan(pts.loc[1, "population"])
    assert pts.geometry.iloc[0].equals(Point(110.5, 30.25))
    assert pts.crs.to_epsg() == 4326


def test_read_points_utf8_bom_english_headers(tmp_path):
    path = tmp_path / "villages.csv"
    path.write_bytes(
        "code,Name,lng,latitude,Population\n42,Upper,111.0,31.0,850\n".encode("utf-8-sig")
    )
    pts = read_points(path, kind="villages")
    assert pts.loc[0, "id"] == "42"
    assert pts.loc[0, "name"] == "Upper"
    assert pts.loc[0, "population"] == 850.0
    assert pts.geometry.iloc[0].equals(Point(111.0, 31.0))


def test_read_points_gcj02_converted(tmp_path):
    # published pair: WGS84 (116.404, 39.915) -> GCJ-02 (116.41024449916938, 39.91640428150164)
    path = tmp_path / "amap.csv"
    path.write_text(
        "名称,经度,纬度\n天安门,116.41024449916938,39.91640428150164\n", encoding="utf-8"
    )
    pts = read_points(path, coords="gcj02")
    assert pts.geometry.iloc[0].x == pytest.approx(116.404, abs=2e-6)
    assert pts.geometry.iloc[0].y == pytest.approx(39.915, abs=2e-6)
    glon, glat = wgs84_to_gcj02(pts.geometry.iloc[0].x, pts.geometry.iloc[0].y)
    assert float(glon) == pytest.approx(116.41024449916938, abs=1e-6)
    assert float(glat) == pytest.approx(39.91640428150164, abs=1e-6)


def test_read_points_xlsx(tmp_path):
    path = tmp_path / "fac.xlsx"
    pd.DataFrame(
        {"名称": ["县人民医院"], "经度": [110.1], "纬度": [30.1], "类型": ["县级医院"]}
    ).to_excel(path, index=False)
    pts = read_points(path)
    assert pts.loc[0, "name"] == "县人民医院"
    assert pts.loc[0, "tier"] == "县级医院"
    assert pts.geometry.iloc[0].equals(Point(110.1, 30.1))


def test_read_points_vector_file(tmp_path):
    path = tmp_path / "pts.gpkg"
    gpd.GeoDataFrame({"名称": ["a"]}, geometry=[Point(500000, 0)], crs=32650).to_file(path)
    pts = read_points(path)
    assert pts.loc[0, "name"] == "a"
    assert pts.geometry.iloc[0].x == pytest.approx(117.0, abs=1e-9)  # UTM 50 central meridian
    assert pts.geometry.iloc[0].y == pytest.approx(0.0, abs=1e-9)


def test_read_points_errors(tmp_path):
    swapped = tmp_path / "swapped.csv"
    swapped.write_text("name,lon,lat\nA,30.2,110.5\n", encoding="utf-8")
    with pytest.raises(InvalidValueError, match="look swapped"):
        read_points(swapped)
    nolat = tmp_path / "nolat.csv"
    nolat.write_text("name,lon\nA,110.5\n", encoding="utf-8")
    with pytest.raises(MissingColumnError, match="no lat column"):
        read_points(nolat)
    text = tmp_path / "text.csv"
    text.write_text("name,lon,lat\nA,east,30\n", encoding="utf-8")
    with pytest.raises(InvalidValueError, match=r"file lines \[2\]"):
        read_points(text)
    with pytest.raises(InputFileError, match="does not exist"):
        read_points(tmp_path / "none.csv")
    with pytest.raises(InvalidValueError, match="kind="):
        read_points(text, kind="hospitals")
    explicit = tmp_path / "xy.csv"
    explicit.write_text("名称,X坐标,Y坐标\nA,110.5,30.2\n", encoding="utf-8")
    pts = read_points(explicit, columns={"lon": "X坐标", "lat": "Y坐标"})
    assert pts.geometry.iloc[0].equals(Point(110.5, 30.2))
