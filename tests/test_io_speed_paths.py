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
