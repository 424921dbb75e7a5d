"""``--roads download``: the osmnx Overpass path, tested offline with a stand-in graph."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import osmnx as ox
import pytest
from shapely.geometry import box

from coverkit.errors import InputFileError, InvalidValueError
from coverkit.io import read_roads

TINY = Path(__file__).parent / "data" / "tiny_roads.osm"


def _boundary_of(path: Path) -> gpd.GeoDataFrame:
    roads = read_roads(path)
    w, s, e, n = roads.total_bounds
    return gpd.GeoDataFrame({"id": ["X"], "name": ["X"]}, geometry=[box(w, s, e, n)], crs=4326)


def test_download_uses_osmnx_and_returns_road_lines(monkeypatch):
    boundary = _boundary_of(TINY)
    calls = []

    def fake_graph_from_polygon(polygon, **kwargs):
        calls.append((polygon, kwargs))
        return ox.graph_from_xml(TINY, simplify=False)

    monkeypatch.setattr(ox, "graph_from_polygon", fake_graph_from_polygon)
    roads = read_roads("download", boundary)
    assert len(calls) == 1
    polygon, kwargs = calls[0]
    assert polygon.contains(boundary.geometry.iat[0])  # the county plus its buffer
    assert kwargs["network_type"] == "all"
    assert list(roads.columns) == ["id", "highway", "maxspeed", "name", "geometry"]
    assert len(roads) > 0
    assert roads.crs.to_epsg() == 4326
    assert set(roads["highway"]) <= set(read_roads(TINY)["highway"])


def test_download_failure_is_one_clear_error(monkeypatch):
    def offline(polygon, **kwargs):
        raise ConnectionError("no route to host")

    monkeypatch.setattr(ox, "graph_from_polygon", offline)
    with pytest.raises(InputFileError, match=r"could not download roads.*give an \.osm\.pbf"):
        read_roads("download", _boundary_of(TINY))


def test_download_needs_a_boundary():
    with pytest.raises(InvalidValueError, match="needs the county boundary"):
        read_roads("download")


@pytest.mark.network
@pytest.mark.skipif(
    os.environ.get("COVERKIT_NETWORK_TESTS") != "1",
    reason="touches the Overpass API; set COVERKIT_NETWORK_TESTS=1 on a machine with internet",
)
def test_real_download_of_a_small_area():
    area = gpd.GeoDataFrame(
        {"id": ["M"], "name": ["Moroni"]}, geometry=[box(43.25, -11.71, 43.26, -11.70)], crs=4326
    )
    roads = read_roads("download", area, buffer_m=200)
    assert len(roads) > 10
