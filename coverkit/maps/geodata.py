"""The plan's tables as map features: EPSG:4326 GeoDataFrames and compact GeoJSON."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from coverkit.maps.styles import COORD_DECIMALS, SIMPLIFY_TOLERANCE_M

if TYPE_CHECKING:
    import geopandas as gpd

    from coverkit.plan import CountyPlan

logger = logging.getLogger(__package__)  # log lines keep the name "coverkit.maps"


def as_geodataframe(table: Any) -> gpd.GeoDataFrame | None:
    """A table as a GeoDataFrame in EPSG:4326, or None if it has no geometry.

    Parameters
    ----------
    table
        GeoDataFrame, DataFrame with a ``geometry`` column (taken as EPSG:4326
        when it has no CRS), or None.

    Returns
    -------
    GeoDataFrame or None
    """
    import geopandas as gpd

    if table is None:
        return None
    if isinstance(table, gpd.GeoDataFrame) and table.active_geometry_name in table.columns:
        gdf = table
    elif "geometry" in getattr(table, "columns", ()):
        gdf = gpd.GeoDataFrame(table, geometry="geometry")
    else:
        return None
    if gdf.crs is None:
        gdf = gdf.set_crs("EPSG:4326")
    elif not gdf.crs.equals("EPSG:4326"):
        gdf = gdf.to_crs("EPSG:4326")
    return gdf


def located_subcentres(plan: CountyPlan) -> gpd.GeoDataFrame | None:
    """The plan's sub-centres with point geometry (taken from ``facilities`` by ``id`` if absent).

    Parameters
    ----------
    plan
        The county plan.

    Returns
    -------
    GeoDataFrame or None
        None when the sub-centres cannot be located.
    """
    import geopandas as gpd

    subs = plan.subcentres
    located = as_geodataframe(subs)
    if located is not None or subs is None or len(subs) == 0:
        return located
    fac = as_geodataframe(plan.facilities)
    if fac is None or "id" not in subs.columns or "id" not in fac.columns:
        logger.warning("sub-centres have no geometry and no facility id; not drawn")
        return None
    where = dict(zip(fac["id"].astype(str), fac.geometry, strict=False))
    geoms = [where.get(str(i)) for i in subs["id"]]
    table = subs.drop(columns=[c for c in ("index",) if c in subs.columns])
    if "name" not in table.columns and "name" in fac.columns:
        names = dict(zip(fac["id"].astype(str), fac["name"], strict=False))
        table = table.assign(name=[names.get(str(i)) for i in subs["id"]])
    out = gpd.GeoDataFrame(table.reset_index(drop=True), geometry=geoms, crs="EPSG:4326")
    located = np.array([g is not None and not g.is_empty for g in geoms], dtype=bool)
    return out[located]


def _merged_lines(parts: np.ndarray) -> dict[str, Any] | None:
    """The feature of one MultiLineString of 2-D ``parts``, coordinates rounded.

    The same data as rounding each line (``shapely.transform``), merging them and
    ``json.loads(shapely.to_geojson(multilinestring))`` (GEOS writes each double
    so that it reads back exactly), without new geometries, text or parsing;
    ``None`` when a part is not a 2-D line (the caller then goes the long way).
    """
    import shapely

    lines = shapely.get_type_id(parts) == shapely.GeometryType.LINESTRING
    if not np.all(lines) or np.any(shapely.has_z(parts)):
        return None
    counts = shapely.get_num_coordinates(parts)
    flat = np.round(shapely.get_coordinates(parts), COORD_DECIMALS).tolist()
    ends = np.cumsum(counts).tolist()
    starts = [0, *ends[:-1]]
    coords = [flat[a:b] for a, b in zip(starts, ends, strict=True)]
    geometry = {"type": "MultiLineString", "coordinates": coords}
    return {"type": "Feature", "properties": {}, "geometry": geometry}


def geojson_of(
    gdf: gpd.GeoDataFrame | None, *, simplify: bool = True, merge: bool = False
) -> dict[str, Any]:
    """A geometry-only GeoJSON FeatureCollection, simplified and rounded (no user strings).

    Parameters
    ----------
    gdf
        The features (missing and empty geometries are left out), or None.
    simplify
        Simplify to :data:`~coverkit.maps.styles.SIMPLIFY_TOLERANCE_M` metres
        first (when the table has a CRS).
    merge
        Lines only: one feature, a MultiLineString of every line (the same
        coordinates drawn the same way; one feature instead of one per road
        keeps a large county's map fast to write and to open).

    Returns
    -------
    dict
        The FeatureCollection in EPSG:4326, coordinates rounded to
        :data:`~coverkit.maps.styles.COORD_DECIMALS` decimals, no properties.
    """
    import shapely

    from coverkit.crs import metric_crs

    features: list[dict[str, Any]] = []
    if gdf is None or len(gdf) == 0:
        return {"type": "FeatureCollection", "features": features}
    raw = np.asarray(gdf.geometry.values)
    gdf = gdf[~(shapely.is_missing(raw) | shapely.is_empty(raw))]
    if len(gdf) == 0:
        return {"type": "FeatureCollection", "features": features}
    geoms = gdf.geometry
    if simplify and gdf.crs is not None:
        metric = metric_crs(gdf)
        geoms = geoms.to_crs(metric).simplify(SIMPLIFY_TOLERANCE_M).to_crs("EPSG:4326")
    elif gdf.crs is not None and not gdf.crs.equals("EPSG:4326"):
        geoms = geoms.to_crs("EPSG:4326")
    arr = np.asarray(geoms.values)
    if merge:
        parts = shapely.get_parts(arr[~(shapely.is_missing(arr) | shapely.is_empty(arr))])
        merged = _merged_lines(parts)
        if merged is not None:
            return {"type": "FeatureCollection", "features": [merged] if parts.size else []}
    arr = shapely.transform(arr, lambda c: np.round(c, COORD_DECIMALS))
    if merge:
        parts = shapely.get_parts(arr[~(shapely.is_missing(arr) | shapely.is_empty(arr))])
        arr = np.array([shapely.multilinestrings(parts)], dtype=object) if parts.size else arr[:0]
    for geom in arr:
        if geom is None or geom.is_empty:
            continue
        features.append(
            {"type": "Feature", "properties": {}, "geometry": json.loads(shapely.to_geojson(geom))}
        )
    return {"type": "FeatureCollection", "features": features}


__all__ = ["as_geodataframe", "geojson_of", "located_subcentres"]
