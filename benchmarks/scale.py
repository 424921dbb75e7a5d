"""Benchmark: one large SYNTHETIC county planned end to end (issue 17, item 4).

Run from the repository root::

    python benchmarks/scale.py --build DIR                 # make the inputs once (cached)
    python benchmarks/scale.py --run DIR                   # 17.7 M cells: per-stage table
    python benchmarks/scale.py --run DIR --sizes 0.1 1 6 17.7   # growth table (M cells)
    python benchmarks/scale.py --run DIR --sizes 59        # the 200,000 km² case (若羌县-size)

Everything here is SYNTHETIC (file names start with ``synthetic``, the raster and
the extract carry a "SYNTHETIC" description, the printed header says so). At 17.7 M
cells it mimics the issue's 鄂伦春自治旗 measurement (59,800 km², a WorldPop-like
100 m raster, ~90,000 road nodes):

* ``synthetic_outline.gpkg``: an irregular county outline (a wobbly star-shaped
  polygon) of the target area at 50.5°N, 124°E;
* ``synthetic_population.tif``: a 3-arc-second float32 GeoTIFF (tiled, deflate,
  written block by block) over the outline's box: 55 % of the people in Gaussian
  clusters (σ = 1.5 km) around the township seats, 30 % around the villages
  (σ = 400 m), 15 % as a thin base on EVERY cell (the worst case: every cell is
  populated); ~250,000 people at 60,000 km²;
* ``synthetic_roads.osm.pbf``: a jittered road lattice (~816 m spacing, so ~90,000
  nodes on 60,000 km²; ``primary`` every 20th line, ``tertiary`` every 5th, else
  ``unclassified``), plus the places (township seats as ``place=town``, villages
  as ``place=village``) and the health facilities (a county hospital at the seat,
  a township health centre at every township seat, a quarter of them central,
  village clinics at a quarter of the villages);
* ``synthetic_county.toml``: a region config for the TOML loader (townships are
  derived from the seats as Voronoi cells, village populations estimated from
  the raster), so the run is exactly ``coverkit plan --region …/synthetic_county.toml``.

Each size runs in a fresh process through :func:`coverkit.api.run_plan` (the code
the CLI runs). Its ``progress`` callback marks the stages (load, travel times,
siting, villages, then report and map, split where :func:`coverkit.maps.save_map`
starts); at every mark the wall time, the process CPU time (all threads: the
figure to read on a shared machine) and the peak RSS are read (``VmHWM``) and reset (writing ``5``
to ``/proc/self/clear_refs``), so each stage's peak is its own.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CELL_DEG = 1 / 1200  # 3 arc-seconds (~100 m, like WorldPop)
LON0, LAT0 = 124.0, 50.5  # like 鄂伦春自治旗
FULL_CELLS_M = 17.7  # M cells in the raster window of the full-size county
FULL_AREA_KM2 = 60_000.0
FULL_PEOPLE = 250_000.0
FULL_NODES = 90_000
FULL_TOWNSHIPS = 20
FULL_VILLAGES = 300
LABEL = "SYNTHETIC benchmark data for coverkit (not real): "
STAGE_NAMES = ("load", "travel times", "siting", "villages", "report", "map")


def _spec(cells_m: float) -> dict:
    """Sizes of a synthetic county whose raster window holds ``cells_m`` M cells."""
    f = cells_m / FULL_CELLS_M
    return {
        "cells_m": cells_m,
        "area_km2": FULL_AREA_KM2 * f,
        "people": FULL_PEOPLE * f,
        "spacing_m": math.sqrt(FULL_AREA_KM2 * 1e6 / FULL_NODES),
        "townships": int(np.clip(round(FULL_TOWNSHIPS * math.sqrt(f)), 3, 40)),
        "villages": int(np.clip(round(FULL_VILLAGES * f), 12, 900)),
    }


def _outline_m(area_km2: float) -> np.ndarray:
    """An irregular star-shaped outline of ``area_km2`` (metres, local azimuthal)."""
    th = np.linspace(0, 2 * np.pi, 721)[:-1]
    r = 1 + 0.18 * np.sin(3 * th + 0.4) + 0.10 * np.cos(5 * th + 1.3) + 0.05 * np.sin(11 * th)
    xy = np.column_stack([r * np.cos(th) * 1.25, r * np.sin(th) / 1.25])
    x, y = xy[:, 0], xy[:, 1]
    unit_area = 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))
    return xy * math.sqrt(area_km2 * 1e6 / unit_area)


def _spread_points(poly, n: int, min_d: float, rng) -> np.ndarray:
    """``n`` points inside ``poly`` at least ``min_d`` apart (rejection, deterministic)."""
    import shapely

    w, s, e, nn = poly.bounds
    pts: list[np.ndarray] = []
    while len(pts) < n:
        p = rng.uniform([w, s], [e, nn])
        if shapely.contains_xy(poly, *p) and all(np.hypot(*(p - q)) >= min_d for q in pts):
            pts.append(p)
        min_d *= 0.999  # never stall
    return np.array(pts)


def _places(spec: dict, poly, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Township seats, villages and which villages have a clinic (metres)."""
    import shapely

    scale = math.sqrt(spec["area_km2"] / FULL_AREA_KM2)
    seats = _spread_points(poly, spec["townships"], 30_000 * scale, rng)
    vill = []
    while len(vill) < spec["villages"]:
        t = seats[rng.integers(len(seats))]
        ang, d = rng.uniform(0, 2 * np.pi), rng.uniform(2_000, 30_000) * max(scale, 0.15)
        p = t + d * np.array([np.cos(ang), np.sin(ang)])
        if shapely.contains_xy(poly, *p):
            vill.append(p)
    clinic = rng.random(len(vill)) < 0.25
    return seats, np.array(vill), clinic


def _write_raster(path: Path, spec: dict, to_ll, poly_ll, seats_ll, vill_ll) -> int:
    """The population GeoTIFF, block by block; returns the cells of its window."""
    import rasterio
    from affine import Affine
    from rasterio.windows import Window
    from scipy.spatial import cKDTree

    w, s, e, n = poly_ll.bounds
    # pad the outline's box evenly so the window holds the target cells (like a WorldPop
    # window around a less compact real county)
    pad = max(0.0, math.sqrt(spec["cells_m"] * 1e6) * CELL_DEG - math.sqrt((e - w) * (n - s)))
    w, s, e, n = w - pad / 2, s - pad / 2, e + pad / 2, n + pad / 2
    w, s = math.floor(w / CELL_DEG) * CELL_DEG, math.floor(s / CELL_DEG) * CELL_DEG
    width, height = math.ceil((e - w) / CELL_DEG), math.ceil((n - s) / CELL_DEG)
    n = s + height * CELL_DEG
    kx, ky = 111_320.0 * math.cos(math.radians(LAT0)), 110_540.0
    cell_m2 = CELL_DEG * kx * CELL_DEG * ky
    inside_cells = spec["area_km2"] * 1e6 / cell_m2
    base = 0.15 * spec["people"] / inside_cells
    groups = []
    for pts, share, sigma in ((seats_ll, 0.55, 1_500.0), (vill_ll, 0.30, 400.0)):
        peak = share * spec["people"] / len(pts) * cell_m2 / (2 * math.pi * sigma**2)
        groups.append((cKDTree(pts * [kx, ky]), peak, sigma))
    with rasterio.open(
        path, "w", driver="GTiff", width=width, height=height, count=1, dtype="float32",
        crs="EPSG:4326", transform=Affine(CELL_DEG, 0, w, 0, -CELL_DEG, n), nodata=-99999.0,
        compress="deflate", tiled=True, blockxsize=512, blockysize=512, BIGTIFF="IF_SAFER",
    ) as dst:  # fmt: skip
        dst.update_tags(DESCRIPTION=LABEL + "population in clusters around places")
        lon = w + (np.arange(width) + 0.5) * CELL_DEG
        for r0 in range(0, height, 512):
            rows = min(512, height - r0)
            lat = n - (r0 + np.arange(rows) + 0.5) * CELL_DEG
            glon, glat = np.meshgrid(lon, lat)
            xy = np.column_stack([glon.ravel() * kx, glat.ravel() * ky])
            v = np.full(xy.shape[0], base)
            for tree, peak, sigma in groups:
                d, _ = tree.query(xy, k=4, distance_upper_bound=4 * sigma, workers=-1)
                v += peak * np.exp(
                    -(np.where(np.isfinite(d), d, np.inf) ** 2) / (2 * sigma**2)
                ).sum(1)
            dst.write(
                v.reshape(rows, width).astype("float32"), 1, window=Window(0, r0, width, rows)
            )
    return width * height


def _lattice(spec: dict, poly_m, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Jittered lattice nodes inside the outline + 3 km: ids grid, xy (m), kept mask."""
    import shapely

    sp = spec["spacing_m"]
    area = poly_m.buffer(3_000)
    w, s, e, n = area.bounds
    xs = np.arange(w, e + sp, sp)
    ys = np.arange(s, n + sp, sp)
    gx, gy = np.meshgrid(xs, ys)
    gx = gx + rng.uniform(-0.15, 0.15, gx.shape) * sp
    gy = gy + rng.uniform(-0.15, 0.15, gy.shape) * sp
    keep = shapely.contains_xy(area, gx, gy)
    return keep, gx, gy


def _write_osm(path: Path, spec: dict, to_ll, lattice, seats_ll, vill_ll, clinic) -> int:
    """Roads, places and facilities into one .osm.pbf; returns the road nodes written."""
    import osmium
    from osmium.osm.mutable import Node, Way

    keep, gx, gy = lattice
    lon, lat = to_ll.transform(gx, gy)
    ny, nx = keep.shape
    nid = np.arange(ny * nx).reshape(ny, nx) + 1
    path.unlink(missing_ok=True)
    writer = osmium.SimpleWriter(str(path))
    nodes = 0
    try:
        for j, i in zip(*np.nonzero(keep), strict=True):
            writer.add_node(Node(id=int(nid[j, i]), location=(lon[j, i], lat[j, i]), version=1))
            nodes += 1
        pid = int(nid.max()) + 1
        places = [(seats_ll[k], "town", f"Township {k:02d}") for k in range(len(seats_ll))]
        places += [(vill_ll[k], "village", f"Village {k:03d}") for k in range(len(vill_ll))]
        for (x, y), kind, name in places:
            tags = {"place": kind, "name": name, "source": LABEL + "place"}
            writer.add_node(Node(id=pid, location=(x, y), version=1, tags=tags))
            pid += 1
        off = 0.002  # ~150-220 m from the place
        fac = [(seats_ll[0] + [off, off], "hospital", "Hospital of the synthetic county")]
        fac += [
            (
                seats_ll[k] + [-off, 0],
                "clinic",
                f"{'CMC' if k % 4 == 1 else 'Centre de santé'} T{k:02d}",
            )
            for k in range(len(seats_ll))
        ]
        fac += [
            (vill_ll[k] + [0, off / 2], "clinic", f"Poste de santé V{k:03d}")
            for k in np.flatnonzero(clinic)
        ]
        for (x, y), amenity, name in fac:
            tags = {"amenity": amenity, "name": name, "source": LABEL + "facility"}
            writer.add_node(Node(id=pid, location=(float(x), float(y)), version=1, tags=tags))
            pid += 1
        way = 1
        for j, i in zip(*np.nonzero(keep), strict=True):
            for di, dj, line in ((1, 0, j), (0, 1, i)):
                if j + dj >= ny or i + di >= nx or not keep[j + dj, i + di]:
                    continue
                hw = (
                    "primary" if line % 20 == 0 else "tertiary" if line % 5 == 0 else "unclassified"
                )
                tags = {"highway": hw, "source": LABEL + "lattice"}
                writer.add_way(
                    Way(
                        id=way,
                        nodes=[int(nid[j, i]), int(nid[j + dj, i + di])],
                        version=1,
                        tags=tags,
                    )
                )
                way += 1
    finally:
        writer.close()
    return nodes


TOML = """# SYNTHETIC county for benchmarks/scale.py (not real data)
[region]
name = "synthetic"
description = "SYNTHETIC county of {area:.0f} km2 (benchmarks/scale.py)"
loader = "toml"
default_county = "synthetic"
boundaries = "synthetic_outline.gpkg"
population = "synthetic_population.tif"
osm = "synthetic_roads.osm.pbf"
road_buffer_m = 5000.0

[[counties]]
id = "SYN"
name = "synthetic"
seat = "Township 00"

[townships]
admin_level = 8
seed_places = ["city", "town"]

[villages]
places = ["village"]
duplicate_radius_m = 500.0
clinic_radius_m = 1000.0
clinic_tiers = ["village_clinic"]

[facilities]
tags = {{ amenity = ["hospital", "clinic"] }}
duplicate_radius_m = 50.0
campus_radius_m = 100.0
seat_radius_m = 5000.0
assume_standard = true

[[facilities.rules]]
id = "name-hospital"
description = "Hospital ... -> county hospital"
name = "^hospital"
tier = "county_hospital"

[[facilities.rules]]
id = "name-cmc"
description = "CMC -> central township centre"
name = "\\\\bcmc\\\\b"
tier = "township_centre"
is_central = true

[[facilities.rules]]
id = "name-centre"
description = "Centre de sante -> township centre"
name = "centre de sant"
tier = "township_centre"

[[facilities.rules]]
id = "name-post"
description = "Poste de sante -> village clinic"
name = "poste"
tier = "village_clinic"
"""


def build(folder: Path, cells_m: float) -> dict:
    """Write the synthetic county of ``cells_m`` M cells into ``folder`` (cached)."""
    import geopandas as gpd
    import shapely
    from pyproj import Transformer

    meta_path = folder / "synthetic_meta.json"
    if meta_path.exists():
        return json.loads(meta_path.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    spec = _spec(cells_m)
    rng = np.random.default_rng(17)
    aeqd = f"+proj=aeqd +lat_0={LAT0} +lon_0={LON0} +datum=WGS84 +units=m"
    to_ll = Transformer.from_crs(aeqd, "EPSG:4326", always_xy=True)
    poly_m = shapely.Polygon(_outline_m(spec["area_km2"]))
    poly_ll = shapely.Polygon(np.column_stack(to_ll.transform(*np.asarray(poly_m.exterior.xy))))
    gpd.GeoDataFrame({"id": ["SYN"], "name": ["synthetic"]}, geometry=[poly_ll], crs=4326).to_file(
        folder / "synthetic_outline.gpkg", layer="synthetic_outline"
    )
    seats, vill, clinic = _places(spec, poly_m, rng)
    seats_ll = np.column_stack(to_ll.transform(seats[:, 0], seats[:, 1]))
    vill_ll = np.column_stack(to_ll.transform(vill[:, 0], vill[:, 1]))
    t0 = time.perf_counter()
    cells = _write_raster(
        folder / "synthetic_population.tif", spec, to_ll, poly_ll, seats_ll, vill_ll
    )
    t1 = time.perf_counter()
    lat = _lattice(spec, poly_m, rng)
    nodes = _write_osm(
        folder / "synthetic_roads.osm.pbf", spec, to_ll, lat, seats_ll, vill_ll, clinic
    )
    (folder / "synthetic_county.toml").write_text(
        TOML.format(area=spec["area_km2"]), encoding="utf-8"
    )
    meta = {**spec, "window_cells": cells, "road_nodes": nodes, "clinics": int(clinic.sum())}
    meta_path.write_text(json.dumps(meta))
    print(
        f"built SYNTHETIC county {folder.name}: {cells / 1e6:.1f} M cells "
        f"(raster {t1 - t0:.0f} s), "
        f"{nodes:,} road nodes, {spec['townships']} townships, {spec['villages']} villages",
        flush=True,
    )
    return meta


def _hwm_kb() -> int:
    """Peak resident memory since the last reset (VmHWM), kB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _reset_hwm() -> None:
    """Reset VmHWM to the current RSS (Linux)."""
    Path("/proc/self/clear_refs").write_text("5")


def run_one(folder: Path) -> None:
    """Plan the synthetic county in ``folder`` (in this process) and print one JSON line."""
    import coverkit.maps
    from coverkit.api import run_plan
    from coverkit.config import RunConfig

    marks: list[tuple[float, int, float]] = []

    def mark() -> None:
        marks.append((time.perf_counter(), _hwm_kb(), time.process_time()))
        _reset_hwm()

    real_save_map = coverkit.maps.save_map

    def save_map(*a, **k):
        mark()
        return real_save_map(*a, **k)

    coverkit.maps.save_map = save_map
    out = folder / "out"
    shutil.rmtree(out, ignore_errors=True)
    _reset_hwm()
    start, cpu0 = time.perf_counter(), time.process_time()
    run = run_plan(
        RunConfig(region=str(folder / "synthetic_county.toml"), data_dir=str(folder), out=str(out)),
        progress=lambda i, n, label: mark() if i > 1 else None,
    )
    mark()
    times = np.diff([start] + [t for t, _, _ in marks])
    cpu = np.diff([cpu0] + [c for _, _, c in marks])
    peaks = [kb / 1024 for _, kb, _ in marks]
    s = run.plan.summary
    print(
        json.dumps(
            {
                "seconds": times.tolist(),
                "cpu_s": cpu.tolist(),
                "total_cpu_s": float(cpu.sum()),
                "peak_mb": peaks,
                "total_s": marks[-1][0] - start,
                "cells": int(run.plan.population.mask.sum()),
                "villages": len(run.plan.villages),
                "subcentres": s["subcentre_names"],
            }
        )
    )


def _measure(folder: Path) -> dict:
    """Run :func:`run_one` in a fresh process."""
    res = subprocess.run(
        [sys.executable, __file__, "--one", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if res.returncode != 0:
        sys.exit(f"synthetic run failed in {folder}:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", type=Path, metavar="DIR", help="make the inputs (cached)")
    ap.add_argument("--run", type=Path, metavar="DIR", help="plan them and print the tables")
    ap.add_argument("--sizes", type=float, nargs="+", default=[FULL_CELLS_M], help="M cells")
    ap.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        run_one(args.one)
        return
    folder = args.build or args.run
    if folder is None:
        ap.error("give --build DIR and/or --run DIR")
    metas = {c: build(folder / f"synthetic_{c:g}M", c) for c in args.sizes}
    if not args.run:
        return
    print("== SYNTHETIC county (benchmarks/scale.py; not real data), 2 cores ==")
    rows = []
    for c, meta in metas.items():
        r = _measure(folder / f"synthetic_{c:g}M")
        rows.append((c, meta, r))
        print(
            f"\n{meta['area_km2']:,.0f} km², "
            f"{meta['window_cells'] / 1e6:.1f} M cells in the window "
            f"({r['cells'] / 1e6:.1f} M in the county), {meta['road_nodes']:,} road nodes, "
            f"{r['villages']} villages; sub-centres {', '.join(r['subcentres'])}"
        )
        print("| stage | wall s | CPU s | peak RSS MB |\n|---|---:|---:|---:|")
        for row in zip(STAGE_NAMES, r["seconds"], r["cpu_s"], r["peak_mb"], strict=True):
            print("| {} | {:.1f} | {:.1f} | {:,.0f} |".format(*row))
        print(
            f"| **total** | **{r['total_s']:.1f}** | **{r['total_cpu_s']:.1f}** | "
            f"**{max(r['peak_mb']):,.0f}** |",
            flush=True,
        )
    if len(rows) > 1:
        print(
            "\n| M cells (window) | km² | road nodes | wall s | CPU s | peak RSS MB |"
            "\n|---:|---:|---:|---:|---:|---:|"
        )
        for _c, meta, r in rows:
            print(
                f"| {meta['window_cells'] / 1e6:.1f} | {meta['area_km2']:,.0f} | "
                f"{meta['road_nodes']:,} | {r['total_s']:.1f} | {r['total_cpu_s']:.1f} | "
                f"{max(r['peak_mb']):,.0f} |"
            )


if __name__ == "__main__":
    main()
