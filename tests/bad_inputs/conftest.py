"""Small builders of bad inputs for the Mwali island of the embedded Comoros region.

Every builder writes its files into ``tmp_path`` and returns the run options
(the keys of :class:`coverkit.config.RunConfig`) that use them.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, Point

from coverkit.region import default_data_dir

#: Facilities on Mwali (WGS84): the seat hospital and three township health centres.
FACILITIES = [
    ("F1", "Fomboni hospital", 43.7430, -12.2850, "县级医院"),
    ("F2", "Wanani centre", 43.80039, -12.34673, "中心乡镇卫生院"),
    ("F3", "Hoani centre", 43.6751, -12.25808, "中心乡镇卫生院"),
    ("F4", "Nioumachoua centre", 43.71672, -12.36106, "中心乡镇卫生院"),
]

#: Villages on Mwali (WGS84) with a resident population.
VILLAGES = [
    ("V1", "Djoiezi", 43.77195, -12.30253, 4000),
    ("V2", "Domoni", 43.64314, -12.25802, 1500),
    ("V3", "Hoani", 43.67504, -12.25836, 2500),
    ("V4", "Miringoni", 43.63661, -12.30229, 1200),
    ("V5", "Nioumachoua", 43.7179, -12.36445, 3000),
    ("V6", "Ouallah", 43.66251, -12.32708, 2000),
    ("V7", "Ndrondroni", 43.67819, -12.34764, 900),
    ("V8", "Mbatse", 43.70641, -12.26894, 1100),
]


def population_raster() -> Path:
    """The embedded WorldPop raster of the Comoros."""
    return default_data_dir() / "population" / "comoros_ppp_2020_100m.tif"


def write_csv(
    path: Path, header: list[str], rows: list[tuple[Any, ...]], *, encoding: str = "utf-8"
) -> Path:
    """Write a small CSV table (no quoting needed for these values)."""
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


def facilities_csv(
    tmp: Path,
    rows: list[tuple[Any, ...]] | None = None,
    *,
    header: list[str] | None = None,
    name: str = "facilities.csv",
) -> Path:
    """A facility table (id, name, lon, lat, tier)."""
    return write_csv(
        tmp / name,
        header or ["id", "name", "lon", "lat", "tier"],
        rows if rows is not None else FACILITIES,
    )


def villages_csv(
    tmp: Path,
    rows: list[tuple[Any, ...]] | None = None,
    *,
    header: list[str] | None = None,
    name: str = "villages.csv",
    encoding: str = "utf-8",
) -> Path:
    """A village table (id, name, lon, lat, population)."""
    return write_csv(
        tmp / name,
        header or ["id", "name", "lon", "lat", "population"],
        rows if rows is not None else VILLAGES,
        encoding=encoding,
    )


def points_gpkg(
    tmp: Path, rows: list[tuple[Any, ...]], *, crs: Any = 4326, name: str = "facilities.gpkg"
) -> Path:
    """A point layer of facilities (id, name, tier) in ``crs`` (``None``: no CRS)."""
    gdf = gpd.GeoDataFrame(
        {"id": [r[0] for r in rows], "name": [r[1] for r in rows], "tier": [r[4] for r in rows]},
        geometry=[Point(r[2], r[3]) for r in rows],
        crs=4326,
    )
    if crs is None:
        gdf = gdf.set_crs(None, allow_override=True)
    elif crs != 4326:
        gdf = gdf.to_crs(crs)
    path = tmp / name
    with warnings.catch_warnings():  # "'crs' was not provided": that is the point
        warnings.simplefilter("ignore", UserWarning)
        gdf.to_file(path, engine="pyogrio")
    return path


def roads_gpkg(
    tmp: Path,
    lines: list[list[tuple[float, float]]],
    *,
    crs: Any = 4326,
    name: str = "roads.gpkg",
    highway: str = "primary",
) -> Path:
    """A road line layer with a ``highway`` column."""
    gdf = gpd.GeoDataFrame(
        {"id": [f"r{i}" for i in range(len(lines))], "highway": [highway] * len(lines)},
        geometry=[LineString(c) for c in lines],
        crs=None if crs is None else 4326,
    )
    if crs not in (None, 4326):
        gdf = gdf.to_crs(crs)
    path = tmp / name
    with warnings.catch_warnings():  # "'crs' was not provided": that is the point
        warnings.simplefilter("ignore", UserWarning)
        gdf.to_file(path, engine="pyogrio")
    return path


def raster(
    tmp: Path,
    values: np.ndarray,
    *,
    transform: Any,
    crs: Any = "EPSG:4326",
    nodata: float | None = -99999.0,
    name: str = "pop.tif",
) -> Path:
    """Write a one-band float32 GeoTIFF."""
    import rasterio

    path = tmp / name
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=values.shape[1],
        height=values.shape[0],
        count=1,
        dtype="float32",
        crs=crs,
        transform=transform,
        nodata=nodata,
    ) as dst:
        dst.write(values.astype("float32"), 1)
    return path


@pytest.fixture
def base_options(tmp_path: Path) -> dict[str, Any]:
    """Options of a Mwali run writing under ``tmp_path / 'out'``."""
    return {"county": "Mwali", "out": str(tmp_path / "out")}
