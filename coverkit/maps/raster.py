"""Rasters on the map: reprojection to EPSG:4326, downsampling, class colours, image overlays."""

from __future__ import annotations

import logging
import math
import warnings
from typing import Any

import numpy as np

from coverkit import settings
from coverkit.maps.assets import inline_json, png_data_uri
from coverkit.maps.styles import (
    MAX_RASTER_WIDTH_PX,
    POPULATION_CLASSES,
    TIME_CLASSES,
    UNREACHABLE_COLOUR,
    hex_rgb,
)

logger = logging.getLogger(__package__)  # log lines keep the name "coverkit.maps"


def is_wgs84_north_up(crs: Any, transform: Any) -> bool:
    """Whether a raster is already on a north-up EPSG:4326 grid (drawn as it is).

    Parameters
    ----------
    crs
        Its CRS (None: EPSG:4326).
    transform
        Its affine transform.

    Returns
    -------
    bool
    """
    from pyproj import CRS

    src_crs = CRS.from_user_input(crs) if crs is not None else CRS.from_epsg(4326)
    return bool(src_crs.equals(CRS.from_epsg(4326)) and transform.b == 0 and transform.d == 0)


def raster_wgs84(
    array: np.ndarray, transform: Any, crs: Any, *, resampling: str
) -> tuple[np.ndarray, tuple[float, float, float, float], float]:
    """A raster on a north-up EPSG:4326 grid.

    Parameters
    ----------
    array
        The values (2-D).
    transform
        Its affine transform.
    crs
        Its CRS (None: EPSG:4326).
    resampling
        A :class:`rasterio.enums.Resampling` name, used when it must be reprojected.

    Returns
    -------
    tuple
        The array on the EPSG:4326 grid (NaN where it has no value), its
        (west, south, east, north) bounds and its cell size in degrees. A
        north-up EPSG:4326 raster comes back unchanged.
    """
    from pyproj import CRS

    src_crs = CRS.from_user_input(crs) if crs is not None else CRS.from_epsg(4326)
    if is_wgs84_north_up(crs, transform):
        h, w = array.shape
        west, north = transform.c, transform.f
        east = west + transform.a * w
        south = north + transform.e * h
        return array, (west, min(south, north), east, max(south, north)), abs(transform.a)
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    h, w = array.shape
    left, top = transform.c, transform.f
    right = transform.a * w + transform.b * h + transform.c
    bottom = transform.d * w + transform.e * h + transform.f
    with warnings.catch_warnings():  # rasterio's own affine `*` under affine 3
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        dst_t, dw, dh = calculate_default_transform(
            src_crs,
            "EPSG:4326",
            w,
            h,
            left=min(left, right),
            bottom=min(top, bottom),
            right=max(left, right),
            top=max(top, bottom),
        )
    out = np.full((dh, dw), np.nan, dtype="float64")
    reproject(
        np.asarray(array, dtype="float64"),
        out,
        src_transform=transform,
        src_crs=src_crs,
        dst_transform=dst_t,
        dst_crs="EPSG:4326",
        src_nodata=np.nan,
        dst_nodata=np.nan,
        resampling=getattr(Resampling, resampling),
    )
    logger.info("map raster reprojected from %s to EPSG:4326 (%s)", src_crs, resampling)
    return out, (dst_t.c, dst_t.f + dst_t.e * dh, dst_t.c + dst_t.a * dw, dst_t.f), dst_t.a


def downsample(array: np.ndarray, *, how: str) -> tuple[np.ndarray, int]:
    """Shrink a raster to at most :data:`~coverkit.maps.styles.MAX_RASTER_WIDTH_PX` wide.

    Parameters
    ----------
    array
        The values (2-D).
    how
        ``"mean"``: mean of each k × k block, NaN-aware (for densities);
        ``"nearest"``: every k-th cell (for classes).

    Returns
    -------
    tuple
        The smaller array and the factor k (1: unchanged).
    """
    h, w = array.shape
    k = max(1, math.ceil(w / MAX_RASTER_WIDTH_PX))
    if k == 1:
        return array, 1
    if how == "nearest":
        return array[k // 2 :: k, k // 2 :: k][: math.ceil(h / k), : math.ceil(w / k)], k
    ph, pw = math.ceil(h / k) * k, math.ceil(w / k) * k
    padded = np.full((ph, pw), np.nan)
    padded[:h, :w] = array
    blocks = padded.reshape(ph // k, k, pw // k, k)
    valid = np.isfinite(blocks)
    count = valid.sum(axis=(1, 3))
    total = np.where(valid, blocks, 0.0).sum(axis=(1, 3))
    out = np.full(count.shape, np.nan)
    np.divide(total, count, out=out, where=count > 0)
    logger.info("map raster downsampled by %d (block mean) to %s", k, out.shape)
    return out, k


def cell_area_km2(grid: Any) -> np.ndarray:
    """Area of each row's cells in km² (degrees handled with the cosine of latitude).

    Parameters
    ----------
    grid
        A population grid (``values``, ``transform``, ``crs``).

    Returns
    -------
    numpy.ndarray
        One area per row.
    """
    t = grid.transform
    h = grid.values.shape[0]
    crs = grid.crs
    geographic = crs is None or getattr(crs, "is_geographic", True)
    if not geographic:
        return np.full(h, abs(t.a * t.e) / 1e6)
    lat = t.f + t.e * (np.arange(h) + 0.5)
    m_per_deg = 111_320.0
    return np.abs(t.a * t.e) * m_per_deg**2 * np.cos(np.radians(lat)) / 1e6


def rgba_population(density: np.ndarray) -> np.ndarray:
    """Colours of population densities by :data:`~coverkit.maps.styles.POPULATION_CLASSES`.

    Parameters
    ----------
    density
        People per km²; empty, zero and missing cells are transparent.

    Returns
    -------
    numpy.ndarray
        (h, w, 4) uint8 RGBA.
    """
    rgba = np.zeros((*density.shape, 4), dtype=np.uint8)
    valid = np.isfinite(density) & (density > 0)
    lows = np.array([c[0] for c in POPULATION_CLASSES])
    cls = np.clip(np.searchsorted(lows, np.where(valid, density, 0.0), side="right") - 1, 0, None)
    palette = np.array([(*hex_rgb(c[1]), 200) for c in POPULATION_CLASSES], dtype=np.uint8)
    rgba[valid] = palette[cls[valid]]
    return rgba


def rgba_time(minutes: np.ndarray) -> np.ndarray:
    """Colours of travel times by :data:`~coverkit.maps.styles.TIME_CLASSES`.

    Parameters
    ----------
    minutes
        Travel times; ``inf`` (unreachable) gets
        :data:`~coverkit.maps.styles.UNREACHABLE_COLOUR`, NaN (outside the
        county) is transparent.

    Returns
    -------
    numpy.ndarray
        (h, w, 4) uint8 RGBA.
    """
    rgba = np.zeros((*minutes.shape, 4), dtype=np.uint8)
    finite = np.isfinite(minutes)
    unreachable = np.isposinf(minutes)
    uppers = np.array([c[1] for c in TIME_CLASSES[:-1]])
    cls = np.searchsorted(uppers, np.where(finite, minutes, 0.0), side="left")
    palette = np.array([(*hex_rgb(c[2]), 190) for c in TIME_CLASSES], dtype=np.uint8)
    rgba[finite] = palette[cls[finite]]
    rgba[unreachable] = (*hex_rgb(UNREACHABLE_COLOUR), 190)
    return rgba


def population_overlay_js(grid: Any) -> str:
    """Leaflet JS of the population density overlay of a population grid.

    Parameters
    ----------
    grid
        The plan's population grid (``values``, ``mask``, ``transform``, ``crs``).

    Returns
    -------
    str
        An ``L.imageOverlay(...)`` call (see :func:`image_overlay_js`).
    """
    area = cell_area_km2(grid)

    def density(rows: slice) -> np.ndarray:
        return np.where(grid.mask[rows], grid.values[rows] / area[rows, None], np.nan)

    if not is_wgs84_north_up(grid.crs, grid.transform):
        arr, bounds, _ = raster_wgs84(
            density(slice(None)), grid.transform, grid.crs, resampling="bilinear"
        )
        arr, _ = downsample(arr, how="mean")
        return image_overlay_js(rgba_population(arr), bounds, opacity=0.75)
    _, bounds, _ = raster_wgs84(grid.values, grid.transform, grid.crs, resampling="bilinear")
    h, w = grid.values.shape
    k = max(1, math.ceil(w / MAX_RASTER_WIDTH_PX))
    step = k * max(1, settings.map_raster_strip_cells // max(1, w * k))  # whole blocks of k rows
    strips = [downsample(density(slice(r, r + step)), how="mean")[0] for r in range(0, h, step)]
    arr = np.concatenate(strips) if strips else density(slice(None))
    return image_overlay_js(rgba_population(arr), bounds, opacity=0.75)


def time_overlay_js(grid: Any, minutes: np.ndarray) -> str:
    """Leaflet JS of a travel-time overlay.

    Parameters
    ----------
    grid
        The population grid the minutes are on.
    minutes
        Travel time of each cell.

    Returns
    -------
    str
        An ``L.imageOverlay(...)`` call (see :func:`image_overlay_js`).
    """
    arr, bounds, _ = raster_wgs84(minutes, grid.transform, grid.crs, resampling="nearest")
    arr, _ = downsample(arr, how="nearest")
    return image_overlay_js(rgba_time(arr), bounds, opacity=0.7)


def image_overlay_js(
    rgba: np.ndarray, bounds: tuple[float, float, float, float], *, opacity: float
) -> str:
    """Leaflet JS of an image overlay (``{parent}`` stands for the layer it is added to).

    Parameters
    ----------
    rgba
        The image, (h, w, 4) uint8.
    bounds
        Its (west, south, east, north) in degrees.
    opacity
        Opacity of the overlay.

    Returns
    -------
    str
        ``L.imageOverlay(<PNG data URI>, <bounds>, {...}).addTo({parent})``.
    """
    west, south, east, north = bounds
    b = [[round(south, 6), round(west, 6)], [round(north, 6), round(east, 6)]]
    uri = png_data_uri(rgba)
    return (
        f"L.imageOverlay({inline_json(uri)}, {inline_json(b)}, "
        f"{{opacity: {opacity}, className: 'ck-raster'}}).addTo({{parent}})"
    )


__all__ = [
    "cell_area_km2",
    "downsample",
    "image_overlay_js",
    "is_wgs84_north_up",
    "population_overlay_js",
    "raster_wgs84",
    "rgba_population",
    "rgba_time",
    "time_overlay_js",
]
