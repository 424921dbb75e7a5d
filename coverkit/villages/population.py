"""Village populations: fill the unknown ones from a population grid.

Polygon villages take the zonal sum of their cells; point villages share the
remaining populated cells by nearest point, within their township when known.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from coverkit.crs import metric_crs
from coverkit.errors import CRSError, InvalidValueError, MissingColumnError
from coverkit.io import PopulationGrid, column_of
from coverkit.villages.common import format_population, logger


def _affine_apply(t: Any, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apply an Affine to arrays (affine's ``*`` on tuples is deprecated)."""
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    return t.a * x + t.b * y + t.c, t.d * x + t.e * y + t.f


@dataclass(frozen=True)
class MetricCells:
    """Every cell of a grid's county mask in a metric CRS, as a plan already holds them.

    Attributes
    ----------
    rows, cols
        Grid row and column of each cell, row-major (``np.nonzero(grid.mask)``).
    xy
        float64 ``(n, 2)`` cell centres in ``crs``.
    crs
        The metric CRS of ``xy``.
    """

    rows: np.ndarray
    cols: np.ndarray
    xy: np.ndarray
    crs: Any


def _rasterize_index(geoms: gpd.GeoSeries, grid: PopulationGrid) -> np.ndarray:
    """Grid of 1-based row positions of ``geoms`` (0 = none), cell-centre rule."""
    from rasterio.features import rasterize

    shapes = [
        (g, i + 1) for i, g in enumerate(geoms.to_crs(grid.crs)) if g is not None and not g.is_empty
    ]
    if not shapes:
        return np.zeros(grid.shape, dtype="int32")
    return rasterize(shapes, out_shape=grid.shape, transform=grid.transform, fill=0, dtype="int32")


def _population_column(out: gpd.GeoDataFrame) -> str:
    """The population column of ``out``, added (all NaN) when missing."""
    try:
        return column_of(out, "population")
    except MissingColumnError:
        out["population"] = np.nan
        return "population"


def _check_locatable(out: gpd.GeoDataFrame, empty: np.ndarray, missing: np.ndarray) -> None:
    """Raise if a village of unknown population has no geometry to estimate it from."""
    if (empty & missing).any():
        raise InvalidValueError(
            f"{int((empty & missing).sum())} village(s) with unknown population have no geometry "
            "(e.g. row "
            f"{out.index[empty & missing][0]!r}); give a population or a location for them"
        )


def _polygon_estimates(
    geoms: gpd.GeoSeries,
    is_poly: np.ndarray,
    grid: PopulationGrid,
    weights: np.ndarray,
    est: np.ndarray,
) -> np.ndarray:
    """Zonal sums of the polygon villages into ``est``; returns the cells they claim.

    A polygon that holds no cell centre takes the cell of its representative point.
    """
    claimed = np.zeros(grid.shape, dtype=bool)
    if not is_poly.any():
        return claimed
    poly_pos = np.flatnonzero(is_poly)
    lab = _rasterize_index(geoms.iloc[poly_pos], grid)
    sums = np.bincount(lab.ravel(), weights=weights.ravel(), minlength=len(poly_pos) + 1)
    est[poly_pos] = sums[1:]
    claimed = lab > 0
    counts = np.bincount(lab.ravel(), minlength=len(poly_pos) + 1)[1:]
    tiny = poly_pos[counts == 0]
    if len(tiny):
        rp = geoms.iloc[tiny].to_crs(grid.crs).representative_point()
        c, r = _affine_apply(~grid.transform, rp.x.to_numpy(), rp.y.to_numpy())
        r = np.floor(r).astype(int)
        c = np.floor(c).astype(int)
        inside = (r >= 0) & (r < grid.shape[0]) & (c >= 0) & (c < grid.shape[1])
        est[tiny[inside]] = weights[r[inside], c[inside]]
        claimed[r[inside], c[inside]] = True
    return claimed


def _township_owners(
    out: gpd.GeoDataFrame,
    townships: gpd.GeoDataFrame | None,
    grid: PopulationGrid,
    cells: tuple[np.ndarray, np.ndarray, np.ndarray],
    pt_pos: np.ndarray,
    vxy: np.ndarray,
) -> np.ndarray:
    """Owner (position in ``pt_pos``) of each cell: nearest village of its own township.

    ``cells`` is (rows, cols, metric xy) of the free populated cells; cells in no
    township, or whose township has no matched village, get -1.
    """
    from scipy.spatial import cKDTree

    rows, cols, cell_xy = cells
    owner = np.full(len(rows), -1, dtype="int64")
    try:
        town_col: str | None = column_of(out, "township")
    except MissingColumnError:
        town_col = None
    if townships is None or not len(townships) or town_col is None:
        return owner
    tlab = _rasterize_index(townships.geometry, grid)[rows, cols] - 1
    vt = out[town_col].iloc[pt_pos].astype(str).to_numpy()
    # the cells of each township in one stable sort (ascending cell order within each)
    # int16 labels (few townships) take numpy's radix sort: the same stable order, faster
    small = len(townships) < np.iinfo(np.int16).max
    order = np.argsort(tlab.astype(np.int16) if small else tlab, kind="stable")
    # cells with a label below t (-1 = none first), as searchsorted on the sorted labels gives
    bounds = np.cumsum(np.bincount(tlab + 1, minlength=len(townships) + 1))
    for t in range(len(townships)):
        keys = {str(townships[k].iloc[t]) for k in ("id", "name") if k in townships.columns}
        members = np.flatnonzero(np.isin(vt, list(keys)))
        in_t = order[bounds[t] : bounds[t + 1]]
        if len(members) == 0 or len(in_t) == 0:
            continue
        _, j = cKDTree(vxy[members]).query(cell_xy[in_t], workers=-1)
        owner[in_t] = members[j]
    return owner


def _free_cells(
    grid: PopulationGrid,
    weights: np.ndarray,
    claimed: np.ndarray,
    metric: Any,
    cells: MetricCells | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, cols (row-major) and ``metric`` xy of the populated cells no polygon claimed.

    With ``cells`` (every cell of the mask, row-major) the rows are filtered from
    them and, when they are in ``metric``, so are their coordinates: the same
    cells in the same order as ``np.nonzero`` of the window, without a second
    pass over it or a second transform.
    """
    from coverkit.network.blocks import transform_xy

    if cells is not None:
        free = weights[cells.rows, cells.cols] > 0
        free &= ~claimed[cells.rows, cells.cols]
        every = bool(free.all())  # every cell of the county is free: no copies
        rows = cells.rows if every else cells.rows[free]
        cols = cells.cols if every else cells.cols[free]
        if cells.crs == metric:
            return rows, cols, cells.xy if every else cells.xy[free]
    else:
        rows, cols = np.nonzero((weights > 0) & ~claimed)
    gx, gy = _affine_apply(grid.transform, cols + 0.5, rows + 0.5)
    cx, cy = transform_xy(grid.crs, metric, gx, gy)
    return rows, cols, np.column_stack([cx, cy])


def _point_estimates(
    out: gpd.GeoDataFrame,
    pt_pos: np.ndarray,
    grid: PopulationGrid,
    weights: np.ndarray,
    claimed: np.ndarray,
    townships: gpd.GeoDataFrame | None,
    cells: MetricCells | None = None,
) -> np.ndarray:
    """People of the unclaimed cells given to the point villages ``pt_pos`` (by position).

    Each cell goes to its nearest village of the same township, else to the
    nearest village overall (distances in a metric CRS).
    """
    from scipy.spatial import cKDTree

    metric = out.crs if out.crs.is_projected else metric_crs(out)
    rows, cols, cell_xy = _free_cells(grid, weights, claimed, metric, cells)
    vals = weights[rows, cols]
    pts = out.geometry.iloc[pt_pos].to_crs(metric).representative_point()
    vxy = np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()])
    owner = _township_owners(out, townships, grid, (rows, cols, cell_xy), pt_pos, vxy)
    rest = np.flatnonzero(owner < 0)
    if len(rest):
        _, j = cKDTree(vxy).query(cell_xy[rest], workers=-1)
        owner[rest] = j
    return np.bincount(owner, weights=vals, minlength=len(pt_pos))


def estimate_village_population(
    villages: gpd.GeoDataFrame,
    grid: PopulationGrid,
    *,
    townships: gpd.GeoDataFrame | None = None,
    cells: MetricCells | None = None,
) -> gpd.GeoDataFrame:
    """Fill missing village populations from a population grid.

    Parameters
    ----------
    villages
        Villages with a CRS, points or polygons, and an optional
        ``population`` column (NaN = unknown; a missing column means all
        unknown). An optional ``township`` column names each village's
        township (matched to ``townships`` by ``id`` or ``name``).
    grid
        Population grid of the county.
    townships
        Township polygons with ``id`` and/or ``name``; when given, a point
        village only receives cells of its own township.
    cells
        The mask's cells with their metric coordinates when the caller has them
        (a plan does); they are reused instead of reprojecting the grid. The
        result is the same with or without them.

    Returns
    -------
    GeoDataFrame
        A copy of ``villages`` (same CRS) with ``population`` filled where it
        was missing and a bool ``population_estimated`` column.

    Raises
    ------
    CRSError
        If ``villages`` has no CRS.
    InvalidValueError
        If a village with unknown population has no geometry.

    Notes
    -----
    Polygon villages get the zonal sum of the grid cells whose centre lies in
    the polygon (``rasterio.features.rasterize``); a polygon smaller than a
    cell gets the value of the cell containing its representative point.

    Point villages share the remaining populated cells: each cell goes to its
    nearest village point (``scipy.spatial.cKDTree`` in a metric CRS), within
    the cell's township when ``townships`` is given and the village's
    township is known. Cells in no township, or in a township without a
    matched village, go to the nearest village overall. *All* villages take
    part in the allocation (a village with a known population still claims
    its nearest cells, so those people are not counted twice); the estimate
    is used only where the population was missing. Estimates are kept as
    float (the allocation preserves the grid total).
    """
    if villages.crs is None:
        raise CRSError(
            "the villages layer has no CRS; set one (e.g. villages.set_crs('EPSG:4326'))"
        )
    out = villages.copy()
    pop_col = _population_column(out)
    pop = pd.to_numeric(out[pop_col], errors="coerce")
    missing = pop.isna().to_numpy()
    out["population_estimated"] = missing
    if not missing.any():
        out[pop_col] = pop.astype("float64")
        return out
    geoms = out.geometry
    empty = (geoms.isna() | geoms.is_empty).to_numpy()
    _check_locatable(out, empty, missing)
    est = np.zeros(len(out), dtype="float64")
    weights = np.where(grid.mask, grid.values, 0.0)
    is_poly = geoms.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy() & ~empty
    claimed = _polygon_estimates(geoms, is_poly, grid, weights, est)
    pt_pos = np.flatnonzero(~is_poly & ~empty)
    if len(pt_pos):
        est[pt_pos] += _point_estimates(out, pt_pos, grid, weights, claimed, townships, cells)
    out[pop_col] = np.where(missing, est, pop.to_numpy(dtype="float64"))
    logger.info(
        "estimated the population of %d of %d villages from %s (%s people of %s in the grid)",
        int(missing.sum()),
        len(out),
        grid.source or "the population grid",
        format_population(est[missing].sum()),
        format_population(grid.total),
    )
    return out
