"""Coordinate systems: WGS84 / GCJ-02 / BD-09 and the metric CRS choice.

Chinese map services publish coordinates in GCJ-02 (Amap, Tencent) or BD-09
(Baidu), which are offset from WGS84 by 300–600 m. OpenStreetMap and WorldPop
are WGS84. CGCS2000 (EPSG:4490) agrees with WGS84 to within centimetres at
county scale and is treated as WGS84.

All metric work happens in one projected CRS chosen per county by
:func:`metric_crs` (the UTM zone of the centroid), in the manner of osmnx
``projection.project_gdf``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from pyproj import CRS

from coverkit.errors import CRSError

if TYPE_CHECKING:
    import geopandas as gpd
    from numpy.typing import ArrayLike, NDArray

WGS84 = CRS.from_epsg(4326)

_A = 6378245.0  # Krasovsky 1940 semi-major axis used by the GCJ-02 transform
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0


def _transform_lat(x: NDArray, y: NDArray) -> NDArray:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: NDArray, y: NDArray) -> NDArray:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def _in_china(lon: NDArray, lat: NDArray) -> NDArray:
    """Rough mainland bounding box; outside it GCJ-02 equals WGS84."""
    return (lon > 73.66) & (lon < 135.05) & (lat > 3.86) & (lat < 53.55)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray, NDArray]:
    """Convert WGS84 longitude/latitude to GCJ-02 (the published forward transform).

    Parameters
    ----------
    lon, lat
        Degrees, scalars or arrays of the same shape.

    Returns
    -------
    tuple of ndarray
        GCJ-02 longitude and latitude. Points outside China are returned unchanged.
    """
    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    x, y = lon - 105.0, lat - 35.0
    dlat = _transform_lat(x, y)
    dlon = _transform_lon(x, y)
    radlat = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    inside = _in_china(lon, lat)
    return np.where(inside, lon + dlon, lon), np.where(inside, lat + dlat, lat)


def gcj02_to_wgs84(
    lon: ArrayLike, lat: ArrayLike, *, tol_deg: float = 1e-9, max_iter: int = 30
) -> tuple[NDArray, NDArray]:
    """Convert GCJ-02 to WGS84 by fixed-point iteration of the forward transform.

    The inverse has no closed form; iterating ``w <- w - (f(w) - g)`` converges
    to well under a millimetre in a handful of steps.

    Parameters
    ----------
    lon, lat
        GCJ-02 degrees.
    tol_deg
        Stop when every correction is below this many degrees.
    max_iter
        Upper bound on iterations.

    Returns
    -------
    tuple of ndarray
        WGS84 longitude and latitude.
    """
    g_lon = np.asarray(lon, dtype="float64")
    g_lat = np.asarray(lat, dtype="float64")
    w_lon, w_lat = g_lon.copy(), g_lat.copy()
    for _ in range(max_iter):
        f_lon, f_lat = wgs84_to_gcj02(w_lon, w_lat)
        d_lon, d_lat = f_lon - g_lon, f_lat - g_lat
        w_lon = w_lon - d_lon
        w_lat = w_lat - d_lat
        if np.all(np.abs(d_lon) < tol_deg) and np.all(np.abs(d_lat) < tol_deg):
            break
    return w_lon, w_lat


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray, NDArray]:
    """Convert Baidu BD-09 coordinates to GCJ-02 (Baidu's published formula)."""
    x = np.asarray(lon, dtype="float64") - 0.0065
    y = np.asarray(lat, dtype="float64") - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray, NDArray]:
    """Convert GCJ-02 coordinates to Baidu BD-09."""
    x = np.asarray(lon, dtype="float64")
    y = np.asarray(lat, dtype="float64")
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def to_wgs84(lon: ArrayLike, lat: ArrayLike, coords: str) -> tuple[NDArray, NDArray]:
    """Convert coordinates given in ``coords`` (``wgs84``, ``cgcs2000``, ``gcj02``, ``bd09``).

    Raises
    ------
    CRSError
        For an unknown coordinate system name.
    """
    name = coords.lower().replace("-", "").replace("_", "")
    if name in ("wgs84", "cgcs2000", "epsg4326", "epsg4490"):
        return np.asarray(lon, dtype="float64"), np.asarray(lat, dtype="float64")
    if name == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if name == "bd09":
        return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))
    raise CRSError(f"unknown coordinate system {coords!r}; use one of wgs84, cgcs2000, gcj02, bd09")


def metric_crs(gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> CRS:
    """Choose the UTM zone CRS of a layer's centroid for metric work.

    Raises
    ------
    CRSError
        If the layer has no CRS.
    """
    if gdf.crs is None:
        raise CRSError("layer has no CRS; set one (e.g. gdf.set_crs('EPSG:4326')) before analysis")
    lon_lat = gdf.to_crs(WGS84).total_bounds
    lon = (lon_lat[0] + lon_lat[2]) / 2.0
    lat = (lon_lat[1] + lon_lat[3]) / 2.0
    zone = int((lon + 180.0) // 6.0) % 60 + 1
    epsg = (32600 if lat >= 0 else 32700) + zone
    return CRS.from_epsg(epsg)


def project_gdf(gdf: gpd.GeoDataFrame, to_crs: CRS | str | None = None) -> gpd.GeoDataFrame:
    """Project a layer to ``to_crs`` or, if ``None``, to its :func:`metric_crs`."""
    return gdf.to_crs(to_crs if to_crs is not None else metric_crs(gdf))


__all__ = [
    "WGS84",
    "bd09_to_gcj02",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "metric_crs",
    "project_gdf",
    "to_wgs84",
    "wgs84_to_gcj02",
]
