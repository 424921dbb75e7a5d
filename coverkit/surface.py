"""Travel-time rasters, catchments, isochrones and zonal population tables.

Everything here works on a :class:`coverkit.io.PopulationGrid`: a travel-time
surface gives every cell *inside the county mask* its minutes to the nearest
facility (NaN outside the county, ``inf`` where no facility is reachable or
the cell is off-network) and the index of that facility (-1 for none). The
other functions turn those rasters into polygons and tables.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from pyproj import Transformer
from rasterio import features

from coverkit import settings
from coverkit.atomic import atomic_path
from coverkit.errors import InvalidValueError, MissingColumnError, OutputError
from coverkit.network import RoadNetwork, travel_times_to_nearest
from coverkit.writers import geotiff_options

if TYPE_CHECKING:
    from collections.abc import Sequence

    from coverkit.io import PopulationGrid

logger = logging.getLogger(__name__)

#: Value written for cells outside the county in travel-time GeoTIFFs.
NODATA_MIN: float = -9999.0


def _check_raster(grid: PopulationGrid, raster: np.ndarray, name: str) -> np.ndarray:
    """``raster`` as an array; refuse one not of the grid's shape (``name`` in the message)."""
    arr = np.asarray(raster)
    if arr.shape != grid.shape:
        raise InvalidValueError(
            f"{name} has shape {arr.shape} but the population grid is {grid.shape}; "
            "compute it with travel_time_surface() on the same grid"
        )
    return arr


def _thresholds(thresholds_min: Sequence[float] | None) -> list[float]:
    """Sorted thresholds, default :data:`coverkit.settings.thresholds_min` (read when called)."""
    t = list(settings.thresholds_min if thresholds_min is None else thresholds_min)
    if not t or any(not (np.isfinite(v) and v >= 0) for v in t):
        raise InvalidValueError(
            f"thresholds_min={thresholds_min} must be a non-empty list of minutes >= 0"
        )
    return sorted(float(v) for v in t)


def _label(t: float) -> str:
    """A threshold as written in column names (``30.0`` → ``"30"``)."""
    return f"{t:g}"


def mask_cell_centres(grid: PopulationGrid) -> tuple[np.ndarray, ...]:
    """Rows, cols and x, y (grid CRS) of every cell inside the county mask.

    Parameters
    ----------
    grid
        The population grid.

    Returns
    -------
    tuple of ndarray
        ``rows, cols, x, y`` in row-major order (populated or not).
    """
    return grid.cell_centres(populated_only=False)


def travel_time_surface(
    network: RoadNetwork,
    grid: PopulationGrid,
    facilities_xy: object,
    *,
    walk_speed_kph: float | None = None,
    max_walk_m: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Minutes to the nearest facility for every cell of the county.

    Parameters
    ----------
    network
        The road network.
    grid
        Population grid; every cell inside ``grid.mask`` is computed (also
        unpopulated ones, so maps have no holes).
    facilities_xy
        ``(k, 2)`` array in ``network.crs`` or a point GeoDataFrame/GeoSeries.
    walk_speed_kph
        Off-road walking speed; default :data:`coverkit.settings.walk_speed_kph`.
    max_walk_m
        Longest off-road walk; default :data:`coverkit.settings.max_walk_m`.

    Returns
    -------
    minutes : ndarray
        float32 ``grid.shape``: NaN outside the mask, ``inf`` where no facility
        is reachable (including cells farther than ``max_walk_m`` from a road).
    nearest : ndarray
        int32 ``grid.shape``: index of the nearest facility, -1 outside the
        mask or when none is reachable.
    """
    rows, cols, x, y = mask_cell_centres(grid)
    to_net = Transformer.from_crs(grid.crs, network.crs, always_xy=True)
    px, py = to_net.transform(x, y)
    minutes, idx = travel_times_to_nearest(
        network,
        np.column_stack([px, py]),
        facilities_xy,
        walk_speed_kph=walk_speed_kph,
        max_walk_m=max_walk_m,
    )
    out = np.full(grid.shape, np.nan, dtype="float32")
    near = np.full(grid.shape, -1, dtype="int32")
    out[rows, cols] = minutes
    near[rows, cols] = idx
    unreachable = ~np.isfinite(minutes)
    if unreachable.any():
        logger.warning(
            "%d of %d county cells (population %.0f) reach no facility (off-network or cut off)",
            int(unreachable.sum()),
            rows.size,
            float(grid.values[rows[unreachable], cols[unreachable]].sum()),
        )
    return out, near


def save_travel_time_raster(
    path: str | Path,
    raster: np.ndarray,
    grid: PopulationGrid,
    *,
    unreachable_min: float = np.inf,
) -> Path:
    """Write a travel-time raster as a float32 GeoTIFF on the grid.

    Cells outside the county (NaN) get :data:`NODATA_MIN` (declared as
    nodata). The file is written to a temporary file in the same folder and
    moved into place, so a failed write never leaves a half file.

    Parameters
    ----------
    path
        Output ``.tif`` path.
    raster
        Minutes, ``grid.shape`` (as from :func:`travel_time_surface`).
    grid
        The grid giving transform and CRS.
    unreachable_min
        Value written for unreachable cells (``inf`` by default; give e.g.
        ``9999`` for GIS tools that dislike infinities).

    Returns
    -------
    pathlib.Path
        The written path.

    Raises
    ------
    OutputError
        If the folder does not exist or the file cannot be written.
    """
    out = Path(path).expanduser()
    arr = _check_raster(grid, raster, "raster").astype("float32", copy=True)
    arr[np.isinf(arr)] = unreachable_min
    arr[np.isnan(arr)] = NODATA_MIN
    if not out.parent.is_dir():
        raise OutputError(f"folder '{out.parent}' does not exist; create it or choose another path")
    profile = {
        "driver": "GTiff",
        "height": arr.shape[0],
        "width": arr.shape[1],
        "count": 1,
        "dtype": "float32",
        "crs": grid.crs,
        "transform": grid.transform,
        "nodata": NODATA_MIN,
        **geotiff_options("float32"),
    }
    try:
        with atomic_path(out) as tmp, rasterio.open(tmp, "w", **profile) as dst:
            dst.write(arr, 1)
            dst.set_band_description(1, "travel time to nearest facility (min)")
            dst.update_tags(
                units="minutes",
                unreachable_value=str(unreachable_min),
                description="travel time to the nearest facility",
            )
    except (OSError, rasterio.errors.RasterioError) as exc:
        raise OutputError(f"cannot write '{out}' ({exc}); check the path and free space") from exc
    logger.info("wrote %s", out)
    return out


def _polygons(grid: PopulationGrid, labels: np.ndarray, valid: np.ndarray) -> gpd.GeoDataFrame:
    """Polygons of equal-label cells (rasterio shapes), dissolved by label."""
    geoms: list[shapely.Geometry] = []
    values: list[int] = []
    for geom, value in features.shapes(
        labels.astype("int32"), mask=valid, transform=grid.transform, connectivity=4
    ):
        geoms.append(shapely.geometry.shape(geom))
        values.append(int(value))
    frame = gpd.GeoDataFrame({"label": values}, geometry=geoms, crs=grid.crs)
    if frame.empty:
        return frame
    return frame.dissolve(by="label", as_index=False, method="coverage").sort_values("label")


def _catchment_mean(
    values: np.ndarray, valid: np.ndarray, near_valid: np.ndarray, weights: np.ndarray, k: int
) -> np.ndarray:
    """People-weighted mean of ``values`` per facility over its cells with a finite value
    (NaN where none of its people has one)."""
    x = values[valid].astype("float64", copy=False)
    ok = np.isfinite(x)
    w = np.where(ok, weights, 0.0)
    num = np.bincount(near_valid, weights=np.where(ok, x, 0.0) * w, minlength=k)
    den = np.bincount(near_valid, weights=w, minlength=k)
    return np.divide(num, den, out=np.full(k, np.nan), where=den > 0)


def catchments(
    grid: PopulationGrid,
    nearest_index: np.ndarray,
    facility_ids: Sequence[object],
    *,
    minutes_raster: np.ndarray | None = None,
    km_raster: np.ndarray | None = None,
) -> gpd.GeoDataFrame:
    """Catchment polygon and population of every facility.

    Parameters
    ----------
    grid
        The population grid.
    nearest_index
        int raster of nearest-facility indices (-1 none), as from
        :func:`travel_time_surface`.
    facility_ids
        Id of each facility, in the order of the indices.
    minutes_raster, km_raster
        Optional minutes and km per cell to its nearest facility (the km along
        the path of the minutes, e.g. from :func:`coverkit.network.km_to_assigned`;
        NaN/inf where unknown). Each given adds ``mean_min`` / ``mean_km``.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per facility (input order): ``id``, ``population`` (people in
        cells whose nearest facility it is), ``n_cells``, then ``mean_min`` and
        ``mean_km`` when their rasters are given (people-weighted means over the
        catchment's cells with a finite value; NaN when none), geometry (grid
        CRS; empty when it is nearest to no cell).
    """
    raw = _check_raster(grid, nearest_index, "nearest_index")
    # int32 rasters (a plan's) are read as they are: no full-window int64 copies
    small = (raw.dtype.kind == "i" and raw.dtype.itemsize <= 4) or (
        raw.dtype.kind == "u" and raw.dtype.itemsize <= 2
    )
    near = raw.astype("int32" if small else "int64", copy=False)
    ids = list(facility_ids)
    k = len(ids)
    if near.max(initial=-1) >= k:
        raise InvalidValueError(
            f"nearest_index refers to facility {int(near.max())} but only {k} ids were given; "
            "pass the ids of the facilities the surface was computed for"
        )
    valid = (near >= 0) & grid.mask
    near_valid = near[valid]
    pop = np.bincount(near_valid, weights=grid.values[valid], minlength=k)
    cells = np.bincount(near_valid, minlength=k)
    table: dict[str, object] = {
        "id": ids,
        "population": pop.astype("float64"),
        "n_cells": cells.astype("int64"),
    }
    for name, raster, arg in (
        ("mean_min", minutes_raster, "minutes_raster"),
        ("mean_km", km_raster, "km_raster"),
    ):
        if raster is not None:
            values = _check_raster(grid, raster, arg)
            table[name] = _catchment_mean(values, valid, near_valid, grid.values[valid], k)
    del near_valid
    geoms = np.array([shapely.Polygon()] * k, dtype=object)
    poly = _polygons(grid, np.where(valid, near, 0), valid)
    if not poly.empty:
        geoms[poly["label"].to_numpy()] = poly.geometry.to_numpy()
    return gpd.GeoDataFrame(table, geometry=list(geoms), crs=grid.crs)


def isochrones(
    grid: PopulationGrid,
    minutes_raster: np.ndarray,
    *,
    thresholds_min: Sequence[float] | None = None,
) -> gpd.GeoDataFrame:
    """Areas within each travel-time threshold, with their population.

    Parameters
    ----------
    grid
        The population grid.
    minutes_raster
        Minutes per cell (NaN outside the county, inf unreachable).
    thresholds_min
        Thresholds in minutes; default :data:`coverkit.settings.thresholds_min`.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per threshold (ascending): ``threshold_min``, ``population``
        (people in county cells with minutes <= threshold), geometry (union of
        those cells, grid CRS; nested, each contains the smaller ones).
    """
    minutes = _check_raster(grid, minutes_raster, "minutes_raster")
    ts = _thresholds(thresholds_min)
    inside = grid.mask & ~np.isnan(minutes)
    rows = []
    for t in ts:
        within = inside & (minutes <= t)
        poly = _polygons(grid, within.astype("int32"), within)
        geom = shapely.union_all(poly.geometry.to_numpy()) if len(poly) else shapely.Polygon()
        rows.append((t, float(grid.values[within].sum()), geom))
    return gpd.GeoDataFrame(
        {"threshold_min": [r[0] for r in rows], "population": [r[1] for r in rows]},
        geometry=[r[2] for r in rows],
        crs=grid.crs,
    )


def population_within(
    grid: PopulationGrid,
    minutes_raster: np.ndarray,
    *,
    thresholds_min: Sequence[float] | None = None,
    zones: gpd.GeoDataFrame | None = None,
    zone_id_col: str = "id",
) -> pd.DataFrame:
    """Population and share within each threshold, per zone and for the county.

    Zones (e.g. townships) are rasterised onto the grid by cell centre; a cell
    in two zones counts for the later one. Cells outside the county mask never
    count.

    Parameters
    ----------
    grid
        The population grid.
    minutes_raster
        Minutes per cell (NaN outside the county, inf unreachable).
    thresholds_min
        Thresholds in minutes; default :data:`coverkit.settings.thresholds_min`.
    zones
        Optional polygons (any CRS) with an id column.
    zone_id_col
        Name of the zones' id column.

    Returns
    -------
    pandas.DataFrame
        One row per zone (input order) then a ``"county"`` row: ``zone``,
        ``population``, ``population_within_<t>min`` and
        ``share_within_<t>min`` per threshold, ``population_unreachable``
        (off-network or cut off from every facility). Shares are 0 for an
        empty zone.

    Raises
    ------
    MissingColumnError
        If ``zones`` lacks ``zone_id_col``.
    """
    minutes = _check_raster(grid, minutes_raster, "minutes_raster")
    ts = _thresholds(thresholds_min)
    inside = grid.mask
    pop = np.where(inside, grid.values, 0.0)
    names: list[object] = []
    label = np.full(grid.shape, -1, dtype="int32")
    if zones is not None:
        if zone_id_col not in zones.columns:
            raise MissingColumnError(
                f"the zones have no '{zone_id_col}' column "
                f"(columns: {', '.join(map(str, zones.columns))}); pass zone_id_col="
            )
        z = zones.to_crs(grid.crs) if zones.crs is not None else zones
        names = z[zone_id_col].tolist()
        shapes = [
            (g, i) for i, g in enumerate(z.geometry.to_numpy()) if g is not None and not g.is_empty
        ]
        if shapes:
            label = features.rasterize(
                shapes,
                out_shape=grid.shape,
                transform=grid.transform,
                fill=-1,
                dtype="int32",
            )
    nz = len(names)
    reach = np.isfinite(minutes)
    label[~inside | (label < 0)] = nz  # nz = "no zone"; in place, the label raster is ours
    flat = label.ravel()

    def per_zone(weights: np.ndarray) -> np.ndarray:
        sums = np.bincount(flat, weights=weights.ravel(), minlength=nz + 1)
        return np.append(sums[:nz], weights.sum())

    table: dict[str, object] = {"zone": [*names, "county"]}
    total = per_zone(pop)
    table["population"] = total
    for t in ts:
        with np.errstate(invalid="ignore"):
            within = per_zone(np.where(reach & (minutes <= t), pop, 0.0))
        table[f"population_within_{_label(t)}min"] = within
        table[f"share_within_{_label(t)}min"] = np.divide(
            within, total, out=np.zeros_like(within), where=total > 0
        )
    table["population_unreachable"] = per_zone(np.where(reach, 0.0, pop))
    return pd.DataFrame(table)


__all__ = [
    "NODATA_MIN",
    "catchments",
    "isochrones",
    "mask_cell_centres",
    "population_within",
    "save_travel_time_raster",
    "travel_time_surface",
]
