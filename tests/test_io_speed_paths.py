"""The fast paths of reading inputs and writing outputs give the plain paths' answers.

- OSM roads: the bounding-box test runs on batches of built lines; any batch size
  (down to one way) keeps the same ways, and chunked reads break at the same ways.
- Plan folder: JSON cells of repeated text are encoded once, to the same text.
- GeoTIFFs: the faster creation options are lossless.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from coverkit import settings

osmium = pytest.importorskip("osmium")

# a 6 x 3 lattice of nodes 1 degree apart; ways of one to four segments, some outside
NODES = {10 * i + j + 1: (float(i), float(j)) for i in range(6) for j in range(3)}


def _ways() -> dict[int, tuple[list[int], dict[str, str]]]:
    ways = {}
    wid = 100
    for j in range(3):
        for i0 in range(0, 5, 2):
            nodes = [10 * i + j + 1 for i in range(i0, min(i0 + 3, 6))]
            ways[wid] = (nodes, {"highway": "primary" if j else "track", "name": f"路{wid}"})
            wid += 1
    ways[wid] = ([1], {"highway": "primary"})  # one node: no line
    ways[wid + 1] = ([1, 1], {"highway": "primary"})  # one location: no line
    ways[wid + 2] = ([1, 999], {"highway": "primary"})  # a missing node: no line
    ways[wid + 3] = ([1, 2], {"highway": "primary", "area": "yes"})
    ways[wid + 4] = ([2, 12], {"highway": "proposed"})
    return ways


@pytest.fixture
def extract(tmp_path):
    path = tmp_path / "lattice.osm.pbf"
    writer = osmium.SimpleWriter(str(path))
    try:
        for nid, loc in sorted(NODES.items()):
            writer.add_node(osmium.osm.mutable.Node(id=nid, location=loc, version=1))
        writer.add_node(
            osmium.osm.mutable.Node(
                id=500, location=(2.5, 1.5), tags={"place": "village", "name": "甲"}, version=1
            )
        )
        for wid, (nodes, tags) in _ways().items():
            writer.add_way(osmium.osm.mutable.Way(id=wid, nodes=nodes, tags=tags, version=1))
    finally:
        writer.close()
    return path


def _per_node_ids(bbox):
    """The ways kept by the per-node rule, computed by hand from the lattice."""
    w, s, e, n = bbox
    kept = []
    for wid, (nodes, tags) in _ways().items():
        if tags["highway"] == "proposed" or tags.get("area") == "yes" or wid >= 109:
            continue
        pts = [NODES[k] for k in nodes]
        if any(w <= x <= e and s <= y <= n for x, y in pts):
            kept.append(wid)
    return kept


@pytest.mark.parametrize("bbox", [None, (1.5, 0.5, 3.0, 1.5), (2.0, 1.0, 2.0, 1.0), (9, 9, 10, 10)])
def test_bbox_batches_keep_the_per_node_ways(extract, monkeypatch, bbox):
    from coverkit import osm

    frames = []
    for batch in (1, 2, 7, 10_000):
        monkeypatch.setattr(settings, "osm_bbox_batch_ways", batch)
        frames.append(osm.roads_from_osm(extract, bbox=bbox))
    for other in frames[1:]:
        pd.testing.assert_frame_equal(frames[0], other)
    expected = _per_node_ids(bbox or (-180, -90, 180, 90))
    assert list(frames[0]["id"]) == expected
    assert frames[0].crs.to_epsg() == 4326
    assert all(g.geom_type == "LineString" for g in frames[0].geometry)


@pytest.mark.parametrize("batch", [1, 3, 10_000])
def test_chunks_break_at_the_same_ways_whatever_the_batch(extract, monkeypatch, batch):
    from coverkit import osm

    monkeypatch.setattr(settings, "osm_bbox_batch_ways", batch)
    bbox = (1.5, 0.5, 4.0, 2.0)
    chunks = list(osm.iter_roads_and_places(extract, bbox=bbox, chunk_size=2))
    sizes = [len(r) + len(p) for r, p in chunks]
    assert all(n == 2 for n in sizes[:-1])
    assert sizes[-1] <= 2
    ids = [i for r, _ in chunks for i in r["id"]]
    assert ids == _per_node_ids(bbox)
    assert [n for _, p in chunks for n in p["name"]] == ["甲"]


def _one_by_one(value):
    """The JSON text of one cell as the plain path writes it."""
    from coverkit.planfile import encode_value

    text = json.dumps(encode_value(value), ensure_ascii=False, allow_nan=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(encode_value(value), ensure_ascii=True, allow_nan=False)
    return text


def test_json_cells_of_repeated_values_are_the_one_by_one_text(tmp_path):
    pyogrio = pytest.importorskip("pyogrio")
    from coverkit.planfile import read_table, save_table

    values = ["a", None, "a", 1, "1", 1.0, True, -0.0, 0.0, float("nan"), ["a"], "b\ud800", None]
    path = tmp_path / "t.gpkg"
    spec = save_table(pd.DataFrame({"v": pd.Series(values, dtype=object)}), path, layer="t")
    raw = pyogrio.read_dataframe(path, layer="t", read_geometry=False)["c0"].tolist()
    assert raw == [_one_by_one(v) for v in values]
    got = read_table(path.read_bytes(), spec)["v"].tolist()
    for a, b in zip(got, values, strict=True):
        same = a == b or (isinstance(b, float) and np.isnan(b) and np.isnan(a))
        assert same, (a, b)
        assert type(a) is type(b), (a, b)
    assert np.signbit(got[7])
    assert not np.signbit(got[8])


@pytest.mark.parametrize("dtype", ["float32", "float64", "uint8"])
def test_geotiff_options_are_lossless(tmp_path, dtype):
    rasterio = pytest.importorskip("rasterio")
    from coverkit.writers import geotiff_options

    rng = np.random.default_rng(0)
    a = (rng.random((37, 53)) * 300).astype(dtype)
    if dtype != "uint8":
        a[3:9, 4:20] = np.nan
        a[0, 0] = np.inf
    profile = {"driver": "GTiff", "width": 53, "height": 37, "count": 1, "dtype": dtype}
    profile.update(transform=rasterio.Affine(0.01, 0, 0, 0, -0.01, 1), **geotiff_options(dtype))
    with rasterio.open(tmp_path / "a.tif", "w", **profile) as dst:
        dst.write(a, 1)
    with rasterio.open(tmp_path / "a.tif") as src:
        assert np.array_equal(src.read(1), a, equal_nan=True)


# ----------------------------------------------------------------- outputs and the map


@pytest.fixture(scope="module")
def small_plan():
    import plan_fixture as pf

    return pf.make_plan()


def _files(folder):
    return {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}


def test_text_rendering_is_brancas_page(small_plan, monkeypatch):
    """Markers and layers put in as text: the page branca's MacroElement.render makes."""
    import folium
    from branca.element import MacroElement

    from coverkit import maps
    from coverkit.maps.assets import circle_marker_class, element_classes

    fast = maps.html_from_map(maps.map_from_plan(small_plan))
    for cls in element_classes():
        monkeypatch.setattr(cls, "render", MacroElement.render)
    monkeypatch.setattr(circle_marker_class(), "render", folium.CircleMarker.render)
    assert maps.html_from_map(maps.map_from_plan(small_plan)) == fast
    assert "circle_marker_" in fast


def test_text_element_writes_markup_as_text(monkeypatch):
    """Text holding Jinja markup (from a name) is written as it is; branca evaluated it."""
    import folium
    from branca.element import MacroElement

    from coverkit import maps
    from coverkit.maps.assets import element_classes

    js_layer, bind = element_classes()

    def page():
        fmap = folium.Map(location=[0, 0])
        marker = js_layer("L.marker([0, 0]).addTo({parent})", "m")
        fmap.add_child(marker)
        marker.add_child(bind("Tooltip", "村 {{ 7 * 7 }} {# x #}", {}))
        return maps.html_from_map(fmap)

    text = page()
    assert "村 {{ 7 * 7 }} {# x #}" in text
    monkeypatch.setattr(bind, "render", MacroElement.render)
    assert "村 49" in page()  # what the map showed before


@pytest.mark.parametrize("n", [1, 2, 5, 256, 257])
def test_palette_is_np_unique(n):
    from coverkit.maps.assets import png_data_uri

    rng = np.random.default_rng(n)
    colours = rng.integers(0, 256, (n, 4), dtype=np.uint8)
    image = colours[rng.integers(0, n, (23, 31))]
    uri = png_data_uri(image)
    distinct, index = np.unique(image.reshape(-1, 4), axis=0, return_inverse=True)
    import base64
    import struct
    import zlib

    png = base64.b64decode(uri.split(",", 1)[1])
    pos, chunks = 8, {}
    while pos < len(png):
        (size,) = struct.unpack(">I", png[pos : pos + 4])
        chunks[png[pos + 4 : pos + 8]] = png[pos + 8 : pos + 8 + size]
        pos += 12 + size
    raw = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), dtype=np.uint8)
    if len(distinct) <= 256:
        assert chunks[b"PLTE"] == distinct[:, :3].tobytes()
        assert chunks[b"tRNS"] == distinct[:, 3].tobytes()
        assert np.array_equal(raw.reshape(23, 32)[:, 1:], index.reshape(23, 31))
    else:
        assert b"PLTE" not in chunks
        assert np.array_equal(raw.reshape(23, 1 + 31 * 4)[:, 1:], image.reshape(23, -1))


def test_merged_roads_are_the_long_ways(monkeypatch):
    import geopandas as gpd
    import shapely

    from coverkit.maps.geodata import geojson_of

    rng = np.random.default_rng(3)
    lines = [shapely.linestrings([121, 30] + rng.random((k, 2)) * 0.1) for k in (2, 3, 7, 2, 40)]
    lines.append(shapely.multilinestrings([lines[0], lines[2]]))
    gdf = gpd.GeoDataFrame(geometry=lines, crs="EPSG:4326")
    fast = geojson_of(gdf, merge=True)
    monkeypatch.setattr("coverkit.maps.geodata._merged_lines", lambda parts: None)
    assert json.dumps(geojson_of(gdf, merge=True)) == json.dumps(fast)
    assert geojson_of(gdf.iloc[:0], merge=True) == {"type": "FeatureCollection", "features": []}


@pytest.mark.parametrize("width", [500, 1700])
def test_population_strips_are_the_whole_grid(monkeypatch, width):
    from types import SimpleNamespace

    import rasterio

    from coverkit.maps.raster import population_overlay_js

    rng = np.random.default_rng(width)
    values = rng.random((37, width)) * 50
    mask = rng.random((37, width)) > 0.2
    grid = SimpleNamespace(
        values=values,
        mask=mask,
        transform=rasterio.Affine(0.001, 0, 120, 0, -0.001, 30),
        crs="EPSG:4326",
    )
    monkeypatch.setattr(settings, "map_raster_strip_cells", 10**9)
    whole = population_overlay_js(grid)
    for cells in (1, width * 5, width * 7):
        monkeypatch.setattr(settings, "map_raster_strip_cells", cells)
        assert population_overlay_js(grid) == whole
