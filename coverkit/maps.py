"""Offline Folium map of a county plan.

:func:`map_from_plan` draws a :class:`~coverkit.plan.CountyPlan` on a Leaflet
map and :func:`save_map` writes it as ONE self-contained HTML file: Leaflet's
JS/CSS (vendored in ``coverkit/assets/leaflet`` with its licence) are inlined,
rasters are PNG data URIs and no base tiles are loaded unless asked for.

Every name shown on the map comes from user data and is HTML-escaped (and
its backticks, ``$`` and backslashes turned into entities, so it cannot break
out of a JavaScript string or template literal either). Element ids are made
stable so the same plan gives byte-identical HTML.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import math
import os
import re
import struct
import warnings
import zlib
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from coverkit.atomic import atomic_path
from coverkit.errors import OutputError

if TYPE_CHECKING:
    import folium
    import geopandas as gpd

    from coverkit.plan import CountyPlan

logger = logging.getLogger(__name__)

#: Largest raster width (pixels) drawn on the map; wider grids are downsampled.
MAX_RASTER_WIDTH_PX = 800
#: Geometries are simplified to this tolerance (metres) before drawing.
SIMPLIFY_TOLERANCE_M = 25.0
#: Coordinates are rounded to this many decimals (1e-5° ≈ 1 m).
COORD_DECIMALS = 5

#: tier → (Chinese, English, colour)
FACILITY_TIERS: dict[str, tuple[str, str, str]] = {
    "county_hospital": ("县级医院", "County hospital", "#c0392b"),
    "central_centre": ("中心乡镇卫生院", "Central township health centre", "#154360"),
    "township_centre": ("乡镇卫生院", "Township health centre", "#2e86c1"),
    "village_clinic": ("村卫生室", "Village clinic", "#1e8449"),
    "other": ("其他", "Other facility", "#7f8c8d"),
}
#: service mode → (Chinese, English, colour)
SERVICE_MODES: dict[str, tuple[str, str, str]] = {
    "fixed": ("固定村卫生室", "Fixed clinic", "#1f77b4"),
    "joint": ("邻(联)村延伸服务", "Joint service with a neighbour", "#2ca02c"),
    "rotation": ("巡诊", "Rotation visits", "#ff7f0e"),
    "stationed": ("派驻", "Stationed staff", "#9467bd"),
    "unknown": ("未定", "Not assigned", "#7f7f7f"),
}
#: road class → (weight px, colour)
_MAIN_ROADS = {"motorway", "trunk", "primary", "motorway_link", "trunk_link", "primary_link"}
_MID_ROADS = {"secondary", "tertiary", "secondary_link", "tertiary_link"}
ROAD_STYLES: dict[str, tuple[str, str, float, str]] = {
    "main": ("主干道", "Main roads", 4.0, "#a93226"),
    "secondary": ("次干道", "Secondary roads", 2.5, "#d68910"),
    "minor": ("其他道路", "Minor roads", 1.2, "#6e6e6e"),
}
#: travel-time classes (lower, upper minutes, colour); ``inf`` is unreachable.
TIME_CLASSES: tuple[tuple[float, float, str], ...] = (
    (0.0, 15.0, "#1a9850"),
    (15.0, 30.0, "#91cf60"),
    (30.0, 45.0, "#fee08b"),
    (45.0, 60.0, "#fc8d59"),
    (60.0, math.inf, "#d73027"),
)
UNREACHABLE_COLOUR = "#3b3b3b"
#: population density classes (people per km², lower bounds) and colours.
POPULATION_CLASSES: tuple[tuple[float, str], ...] = (
    (0.0, "#fff5eb"),
    (10.0, "#fdd0a2"),
    (50.0, "#fd8d3c"),
    (200.0, "#e6550d"),
    (1000.0, "#a63603"),
    (5000.0, "#4a1a00"),
)

_CSS = """
.ck-title{position:fixed;top:10px;left:56px;z-index:1000;
 background:rgba(255,255,255,.93);padding:6px 14px;border-radius:6px;
 box-shadow:0 1px 5px rgba(0,0,0,.35);font:14px/1.35 sans-serif;
 max-width:calc(100% - 560px);min-width:200px}
.ck-title b{font-size:16px}
.ck-legend{position:fixed;bottom:64px;left:10px;z-index:1000;background:rgba(255,255,255,.93);
 padding:8px 10px;border-radius:6px;box-shadow:0 1px 5px rgba(0,0,0,.35);
 font:12px/1.3 sans-serif;max-height:calc(100% - 150px);overflow-y:auto}
.ck-legend h4{margin:6px 0 3px;font-size:12px}
.ck-legend .sw{display:inline-block;width:14px;height:10px;margin-right:5px;
 vertical-align:middle;border:1px solid #555}
.ck-legend .dot{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:5px;
 vertical-align:middle;border:1px solid #333}
.ck-legend .ln{display:inline-block;width:18px;margin-right:5px;vertical-align:middle}
.ck-fac{border:2px solid #fff;box-shadow:0 0 2px #000;box-sizing:border-box;color:#fff;
 font:bold 10px/1 sans-serif;text-align:center}
.ck-fac.ck-county_hospital{border-radius:3px}
.ck-fac.ck-central_centre,.ck-fac.ck-township_centre{border-radius:50%}
.ck-fac.ck-village_clinic{border-radius:50%;border-width:1px}
.ck-fac.ck-assumed{border-style:dashed;border-color:#000;opacity:.8}
.ck-sub{border-radius:50%;border:3px solid #f1c40f;background:rgba(241,196,15,.35);
 box-shadow:0 0 6px #000;box-sizing:border-box}
.ck-label{background:none;border:none;color:#222;font:bold 12px sans-serif;
 text-shadow:0 0 3px #fff,0 0 3px #fff;white-space:nowrap}
.ck-popup td{padding:1px 6px 1px 0;vertical-align:top}
.ck-raster{image-rendering:crisp-edges;image-rendering:pixelated}
.ck-title,.ck-legend,.ck-label,.leaflet-container{
 font-family:"Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",
 "WenQuanYi Zen Hei",sans-serif}
"""


# --------------------------------------------------------------------------- helpers


def _esc(value: Any) -> str:
    """Escape a value for HTML that may also sit inside a JS string or template literal."""
    text = "" if value is None else str(value)
    return (
        html.escape(text, quote=True)
        .replace("`", "&#96;")
        .replace("$", "&#36;")
        .replace("\\", "&#92;")
    )


def _js(value: Any) -> str:
    """JSON for inline ``<script>``: no ``<``, ``>``, ``&`` that could end the script."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _fmt(value: Any, decimals: int = 0) -> str:
    """Format a number for display (thousands separators), '—' for missing."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return _esc(value)
    if math.isnan(v):
        return "—"
    if math.isinf(v):
        return "不可达 unreachable"
    return f"{v:,.{decimals}f}"


def _col(gdf: Any, name: str, default: Any = None) -> list[Any]:
    """Column values as a list, ``default`` for every row when the column is missing."""
    if gdf is None:
        return []
    if name in gdf.columns:
        return [None if _isnull(v) else v for v in gdf[name].tolist()]
    return [default] * len(gdf)


def _isnull(v: Any) -> bool:
    try:
        return bool(v is None or (isinstance(v, float) and math.isnan(v)))
    except TypeError:
        return False


def _truthy(v: Any) -> bool:
    if _isnull(v):
        return False
    if isinstance(v, str):
        return v.strip().lower() in {"1", "true", "yes", "y", "t", "是"}
    return bool(v)


def _popup_table(rows: list[tuple[str, str]]) -> str:
    """An HTML table from (escaped label, escaped value) rows."""
    body = "".join(f"<tr><td><b>{k}</b></td><td>{v}</td></tr>" for k, v in rows)
    return f'<table class="ck-popup">{body}</table>'


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


def _to_wgs84(table: Any) -> gpd.GeoDataFrame | None:
    return as_geodataframe(table)


def _geojson(gdf: gpd.GeoDataFrame | None, *, simplify: bool = True) -> dict[str, Any]:
    """Geometry-only FeatureCollection, simplified and rounded (no user strings)."""
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
    arr = shapely.transform(np.asarray(geoms.values), lambda c: np.round(c, COORD_DECIMALS))
    for geom in arr:
        if geom is None or geom.is_empty:
            continue
        features.append(
            {"type": "Feature", "properties": {}, "geometry": json.loads(shapely.to_geojson(geom))}
        )
    return {"type": "FeatureCollection", "features": features}


def _png_data_uri(rgba: np.ndarray) -> str:
    """Encode an (h, w, 4) uint8 array as a PNG data URI (deterministic bytes).

    Images with at most 256 distinct colours (all the class maps) are written
    as palette PNGs (one byte per pixel), others as 8-bit RGBA.
    """
    rgba = np.ascontiguousarray(rgba, dtype=np.uint8)
    h, w = rgba.shape[:2]

    def chunk(tag: bytes, data: bytes) -> bytes:
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    flat = rgba.reshape(-1, 4)
    colours, index = np.unique(flat, axis=0, return_inverse=True)
    if len(colours) <= 256:
        pixels = index.reshape(h, w).astype(np.uint8)
        header = struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0)
        extra = chunk(b"PLTE", colours[:, :3].tobytes()) + chunk(b"tRNS", colours[:, 3].tobytes())
    else:
        pixels = rgba.reshape(h, w * 4)
        header = struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)
        extra = b""
    raw = np.concatenate([np.zeros((h, 1), dtype=np.uint8), pixels], axis=1)
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + extra
        + chunk(b"IDAT", zlib.compress(raw.tobytes(), 9))
        + chunk(b"IEND", b"")
    )
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _hex_rgb(colour: str) -> tuple[int, int, int]:
    c = colour.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def _raster_wgs84(
    array: np.ndarray, transform: Any, crs: Any, *, resampling: str
) -> tuple[np.ndarray, tuple[float, float, float, float], float]:
    """Array on a north-up EPSG:4326 grid, its (west, south, east, north) and cell size (°)."""
    from pyproj import CRS

    src_crs = CRS.from_user_input(crs) if crs is not None else CRS.from_epsg(4326)
    if src_crs.equals(CRS.from_epsg(4326)) and transform.b == 0 and transform.d == 0:
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


def _downsample(array: np.ndarray, *, how: str) -> tuple[np.ndarray, int]:
    """Shrink to ≤ MAX_RASTER_WIDTH_PX wide: block ``mean`` (NaN-aware) or ``nearest`` stride."""
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


def _cell_area_km2(grid: Any) -> np.ndarray:
    """Area of each row's cells in km² (degrees handled with the cosine of latitude)."""
    t = grid.transform
    h = grid.values.shape[0]
    crs = grid.crs
    geographic = crs is None or getattr(crs, "is_geographic", True)
    if not geographic:
        return np.full(h, abs(t.a * t.e) / 1e6)
    lat = t.f + t.e * (np.arange(h) + 0.5)
    m_per_deg = 111_320.0
    return np.abs(t.a * t.e) * m_per_deg**2 * np.cos(np.radians(lat)) / 1e6


def _rgba_population(density: np.ndarray) -> np.ndarray:
    rgba = np.zeros((*density.shape, 4), dtype=np.uint8)
    valid = np.isfinite(density) & (density > 0)
    lows = np.array([c[0] for c in POPULATION_CLASSES])
    cls = np.clip(np.searchsorted(lows, np.where(valid, density, 0.0), side="right") - 1, 0, None)
    palette = np.array([(*_hex_rgb(c[1]), 200) for c in POPULATION_CLASSES], dtype=np.uint8)
    rgba[valid] = palette[cls[valid]]
    return rgba


def _rgba_time(minutes: np.ndarray) -> np.ndarray:
    rgba = np.zeros((*minutes.shape, 4), dtype=np.uint8)
    finite = np.isfinite(minutes)
    unreachable = np.isposinf(minutes)
    uppers = np.array([c[1] for c in TIME_CLASSES[:-1]])
    cls = np.searchsorted(uppers, np.where(finite, minutes, 0.0), side="left")
    palette = np.array([(*_hex_rgb(c[2]), 190) for c in TIME_CLASSES], dtype=np.uint8)
    rgba[finite] = palette[cls[finite]]
    rgba[unreachable] = (*_hex_rgb(UNREACHABLE_COLOUR), 190)
    return rgba


def _leaflet_assets() -> tuple[str, str]:
    """Leaflet JS and CSS text, with the layer-control icons inlined as data URIs."""
    base = resources.files("coverkit") / "assets" / "leaflet"
    js = (base / "leaflet.js").read_text(encoding="utf-8")
    css = (base / "leaflet.css").read_text(encoding="utf-8")
    for name in ("layers.png", "layers-2x.png"):
        data = base64.b64encode((base / name).read_bytes()).decode("ascii")
        css = css.replace(f"url(images/{name})", f"url(data:image/png;base64,{data})")
    # marker-icon.png is only used by L.Icon.Default, which the map never uses.
    css = css.replace("url(images/marker-icon.png)", "none")
    return js.replace("</script", "<\\/script"), css


def _role(row_tier: Any, central: Any) -> str:
    tier = str(row_tier) if not _isnull(row_tier) else "other"
    if tier == "township_centre" and _truthy(central):
        return "central_centre"
    return tier if tier in FACILITY_TIERS else "other"


def _road_class(highway: Any) -> str:
    h = str(highway) if not _isnull(highway) else ""
    h = h.strip("[]'\" ").split(",")[0].strip("'\" ")
    if h in _MAIN_ROADS:
        return "main"
    if h in _MID_ROADS:
        return "secondary"
    return "minor"


# --------------------------------------------------------------------------- elements


def _element_classes() -> tuple[type, type]:
    """The two custom folium elements (built lazily so folium loads at call time)."""
    from branca.element import MacroElement
    from jinja2 import Template

    class JsLayer(MacroElement):  # type: ignore[misc]
        """A Leaflet layer built from JS made here; ``{parent}``/``{name}`` are filled in."""

        _template = Template(
            "{% macro script(this, kwargs) %}"
            "var {{ this.get_name() }} = {{ this.code(this._parent.get_name()) }};\n"
            "{% endmacro %}"
        )

        def __init__(self, code: str, name: str = "ck_layer") -> None:
            super().__init__()
            self._name = name
            self._code = code

        def code(self, parent: str) -> str:
            return self._code.replace("{parent}", parent)

    class Bind(MacroElement):  # type: ignore[misc]
        """``parent.bindPopup(html)`` / ``bindTooltip(html)`` with escaped HTML as JSON."""

        _template = Template(
            "{% macro script(this, kwargs) %}"
            "{{ this._parent.get_name() }}.bind{{ this.kind }}({{ this.content }},"
            " {{ this.options }});\n"
            "{% endmacro %}"
        )

        def __init__(self, kind: str, content_html: str, options: dict[str, Any]) -> None:
            super().__init__()
            self._name = "ck_bind"
            self.kind = kind
            self.content = _js(content_html)
            self.options = _js(options)

    return JsLayer, Bind


def _stable_ids(root: Any) -> None:
    """Replace every element's random uuid with a counter in tree order."""
    counter = 0
    stack = [root]
    seen: set[int] = set()
    while stack:
        el = stack.pop(0)
        if id(el) in seen:
            continue
        seen.add(id(el))
        counter += 1
        el._id = f"ck{counter:05d}"
        stack[0:0] = list(getattr(el, "_children", {}).values())


# --------------------------------------------------------------------------- map


def map_from_plan(plan: CountyPlan, *, tiles: str | None = None) -> folium.Map:
    """Draw a county plan on an offline Leaflet map.

    Parameters
    ----------
    plan
        The county plan (:class:`coverkit.plan.CountyPlan`); optional columns
        may be missing.
    tiles
        Base layer: ``None`` (default) for no tiles, which keeps the map fully
        offline, or a folium tile name such as ``'OpenStreetMap'`` (online).

    Returns
    -------
    folium.Map
        The map with one overlay per layer (county boundary, townships, roads,
        population, travel time before/after, facilities, sub-centres,
        catchments, isochrones, villages), a layer control, a bilingual legend,
        a title and a scale bar, fitted to the county bounds. Render it with
        :func:`html_from_map` or write it with :func:`save_map`.
    """
    import folium
    from branca.element import Element

    JsLayer, Bind = _element_classes()

    boundary = _to_wgs84(plan.boundary)
    if boundary is not None and len(boundary):
        west, south, east, north = (float(v) for v in boundary.total_bounds)
    else:
        g = plan.population
        _, (west, south, east, north), _ = _raster_wgs84(
            g.values, g.transform, g.crs, resampling="nearest"
        )
    m = folium.Map(
        location=[(south + north) / 2, (west + east) / 2],
        zoom_start=10,
        tiles=tiles,
        control_scale=True,
        prefer_canvas=False,
    )
    m.default_js = []
    m.default_css = []
    js, css = _leaflet_assets()
    root = m.get_root()
    root.header.add_child(Element(f"<style>{css}</style>"), name="ck_leaflet_css")
    root.header.add_child(Element(f"<style>{_CSS}</style>"), name="ck_css")
    root.header.add_child(Element(f"<script>{js}</script>"), name="ck_leaflet_js")

    def group(name: str, *, show: bool = True) -> folium.FeatureGroup:
        fg = folium.FeatureGroup(name=name, show=show, overlay=True, control=True)
        fg.add_to(m)
        return fg

    def geo_layer(fg: Any, data: dict[str, Any], style: dict[str, Any]) -> Any:
        layer = JsLayer(
            f"L.geoJSON({_js(data)}, {{style: {_js(style)}}}).addTo({{parent}})", "geojson"
        )
        fg.add_child(layer)
        return layer

    # county boundary
    fg = group("县界 County boundary")
    geo_layer(fg, _geojson(boundary), {"color": "#000000", "weight": 3, "fill": False})

    # townships with names
    townships = _to_wgs84(plan.townships)
    fg = group("乡镇 Townships")
    if townships is not None and len(townships):
        names = _col(townships, "name", "")
        pops = _col(townships, "population")
        for i in range(len(townships)):
            data = _geojson(townships.iloc[[i]])
            layer = geo_layer(
                fg,
                data,
                {"color": "#555555", "weight": 1.5, "dashArray": "4 4", "fillOpacity": 0.0},
            )
            text = f"{_esc(names[i])}<br>人口 population: {_fmt(pops[i])}"
            layer.add_child(Bind("Tooltip", text, {"sticky": True}))
            pt = townships.geometry.iloc[i].representative_point()
            label = JsLayer(
                f"L.marker([{pt.y:.{COORD_DECIMALS}f}, {pt.x:.{COORD_DECIMALS}f}], "
                f"{{interactive: false, icon: L.divIcon({{className: 'ck-label', "
                f"iconSize: null, html: {_js(_esc(names[i]))}}})}}).addTo({{parent}})",
                "label",
            )
            fg.add_child(label)

    # roads by class
    roads = _to_wgs84(plan.roads)
    fg = group("道路 Roads")
    if roads is not None and len(roads):
        classes = np.array([_road_class(h) for h in _col(roads, "highway", "")])
        for key in ("minor", "secondary", "main"):
            sel = roads[classes == key]
            if len(sel):
                _, _, weight, colour = ROAD_STYLES[key]
                geo_layer(fg, _geojson(sel), {"color": colour, "weight": weight, "opacity": 0.9})

    # rasters
    grid = plan.population
    pop_layer = _population_overlay(grid)
    fg = group("人口分布 Population", show=False)
    fg.add_child(JsLayer(pop_layer, "image"))
    for scenario, arr, show in (
        ("现状 before", plan.time_before_min, False),
        ("规划后 after", plan.time_after_min, True),
    ):
        fg = group(
            f"到县级医疗时间（{scenario.split()[0]}）Time to county care – {scenario.split()[1]}",
            show=show,
        )
        if arr is not None:
            fg.add_child(JsLayer(_time_overlay(grid, np.asarray(arr, dtype="float64")), "image"))

    # catchments and isochrones
    catchments = _to_wgs84(plan.catchments)
    fg = group("服务范围 Catchments", show=False)
    if catchments is not None and len(catchments):
        fac = as_geodataframe(plan.facilities)
        fid = (
            _col(catchments, "facility_id")
            if "facility_id" in catchments
            else _col(catchments, "id", "")
        )
        lookup_name, lookup_tier = {}, {}
        if fac is not None and "id" in fac.columns:
            keys = fac["id"].astype(str).tolist()
            lookup_name = dict(zip(keys, _col(fac, "name", ""), strict=True))
            lookup_tier = dict(zip(keys, _col(fac, "tier", "other"), strict=True))
        tiers = [
            t if t is not None else lookup_tier.get(str(f), "other")
            for t, f in zip(_col(catchments, "tier"), fid, strict=True)
        ]
        cnames = [
            n if n is not None else lookup_name.get(str(f), f)
            for n, f in zip(_col(catchments, "name"), fid, strict=True)
        ]
        cpops = _col(catchments, "population")
        for i in range(len(catchments)):
            colour = "#e67e22" if tiers[i] != "county_hospital" else "#c0392b"
            layer = geo_layer(
                fg,
                _geojson(catchments.iloc[[i]]),
                {"color": colour, "weight": 2, "fillColor": colour, "fillOpacity": 0.12},
            )
            layer.add_child(
                Bind(
                    "Tooltip",
                    f"服务范围 catchment: {_esc(cnames[i])}<br>人口 population: {_fmt(cpops[i])}",
                    {"sticky": True},
                )
            )
    iso = _to_wgs84(plan.isochrones)
    fg = group("等时圈 Isochrones", show=False)
    if iso is not None and len(iso):
        scen = _col(iso, "scenario", "after")
        thr = _col(iso, "threshold_min")
        ipop = _col(iso, "population")
        order = sorted(range(len(iso)), key=lambda i: (str(scen[i]), -float(thr[i] or 0), i))
        for i in order:
            colour = "#8e44ad" if scen[i] == "after" else "#7f8c8d"
            layer = geo_layer(
                fg,
                _geojson(iso.iloc[[i]]),
                {
                    "color": colour,
                    "weight": 1.5,
                    "dashArray": "6 3" if scen[i] != "after" else None,
                    "fillColor": colour,
                    "fillOpacity": 0.08,
                },
            )
            zh = "规划后" if scen[i] == "after" else "现状"
            layer.add_child(
                Bind(
                    "Tooltip",
                    f"{zh} {_esc(scen[i])}: ≤ {_fmt(thr[i])} min<br>人口 population: "
                    f"{_fmt(ipop[i])}",
                    {"sticky": True},
                )
            )

    # facilities
    facilities = _to_wgs84(plan.facilities)
    fac_names: dict[str, str] = {}
    fg = group("医疗机构 Facilities")
    if facilities is not None and len(facilities):
        ids = _col(facilities, "id", "")
        names = _col(facilities, "name", "")
        fac_names = {str(i): str(n) for i, n in zip(ids, names, strict=True)}
        tiers = _col(facilities, "tier", "other")
        central = _col(facilities, "is_central", False)
        assumed = _col(facilities, "assumed", False)
        sizes = {"county_hospital": 20, "central_centre": 18, "township_centre": 14}
        for i, geom in enumerate(facilities.geometry):
            if geom is None or geom.is_empty:
                continue
            pt = geom if geom.geom_type == "Point" else geom.representative_point()
            role = _role(tiers[i], central[i])
            zh, en, colour = FACILITY_TIERS[role]
            size = sizes.get(role, 9)
            is_assumed = _truthy(assumed[i])
            cls = f"ck-fac ck-{role}" + (" ck-assumed" if is_assumed else "")
            glyph = {"county_hospital": "县", "central_centre": "中"}.get(role, "")
            icon_html = (
                f'<div class="{cls}" style="width:{size}px;height:{size}px;'
                f'line-height:{size - 4}px;background:{colour}">{glyph}</div>'
            )
            marker = JsLayer(
                f"L.marker([{pt.y:.{COORD_DECIMALS}f}, {pt.x:.{COORD_DECIMALS}f}], "
                f"{{icon: L.divIcon({{className: '', iconSize: [{size}, {size}], "
                f"html: {_js(icon_html)}}})}}).addTo({{parent}})",
                "facility",
            )
            fg.add_child(marker)
            rows = [
                ("名称 name", _esc(names[i])),
                ("类别 tier", f"{zh} {en}"),
                ("编号 id", _esc(ids[i])),
            ]
            if is_assumed:
                rows.append(("假定 assumed", "是 yes（位置/存在为推定 location assumed）"))
            marker.add_child(Bind("Popup", _popup_table(rows), {"maxWidth": 320}))
            marker.add_child(Bind("Tooltip", f"{_esc(names[i])}（{zh}）", {}))

    # sub-centres
    subs = located_subcentres(plan)
    fg = group("拟建次中心 Proposed sub-centres")
    if subs is not None and len(subs):
        snames = _col(subs, "name", "")
        ranks = _col(subs, "rank")
        newly = _col(subs, "pop_newly_within")
        mean_saved = _col(subs, "mean_saved_min")
        max_saved = _col(subs, "max_saved_min")
        for i, geom in enumerate(subs.geometry):
            if geom is None or geom.is_empty:
                continue
            pt = geom if geom.geom_type == "Point" else geom.representative_point()
            marker = JsLayer(
                f"L.marker([{pt.y:.{COORD_DECIMALS}f}, {pt.x:.{COORD_DECIMALS}f}], "
                "{icon: L.divIcon({className: '', iconSize: [34, 34], html: "
                + _js('<div class="ck-sub" style="width:34px;height:34px"></div>')
                + "}), zIndexOffset: -100}).addTo({parent})",
                "subcentre",
            )
            fg.add_child(marker)
            rows = [
                ("次中心 sub-centre", _esc(snames[i])),
                ("排序 rank", _fmt(ranks[i])),
                (f"新增 {_fmt(plan.params.threshold_min)} 分钟内人口 newly within", _fmt(newly[i])),
                ("平均节省 mean saved (min)", _fmt(mean_saved[i], 1)),
                ("最多节省 max saved (min)", _fmt(max_saved[i], 1)),
            ]
            marker.add_child(Bind("Popup", _popup_table(rows), {"maxWidth": 320}))

    # villages by service mode
    villages = _to_wgs84(plan.villages)
    fg = group("村（服务方式）Villages by service mode")
    if villages is not None and len(villages):
        vn = _col(villages, "name", "")
        vp = _col(villages, "population")
        vest = _col(villages, "population_estimated", False)
        vm = _col(villages, "mode", "unknown")
        vs = _col(villages, "serving_facility", "")
        vmin = _col(villages, "minutes")
        vrule = _col(villages, "rule_id", "")
        vreason = _col(villages, "reason_zh", "")
        for i, geom in enumerate(villages.geometry):
            if geom is None or geom.is_empty:
                continue
            pt = geom if geom.geom_type == "Point" else geom.representative_point()
            mode = str(vm[i]) if str(vm[i]) in SERVICE_MODES else "unknown"
            zh, en, colour = SERVICE_MODES[mode]
            cm = folium.CircleMarker(
                location=[round(pt.y, COORD_DECIMALS), round(pt.x, COORD_DECIMALS)],
                radius=6,
                color="#222222",
                weight=1,
                fill_color=colour,
                fill_opacity=0.95,
                className=f"ck-village ck-mode-{mode}",
            )
            cm.add_to(fg)
            serving = "" if _isnull(vs[i]) else str(vs[i])
            serving_txt = _esc(fac_names.get(serving, serving))
            if serving in fac_names:
                serving_txt += f" ({_esc(serving)})"
            pop_txt = _fmt(vp[i]) + ("（估计 estimated）" if _truthy(vest[i]) else "")
            rows = [
                ("村 village", _esc(vn[i])),
                ("人口 population", pop_txt),
                ("服务方式 mode", f"{zh} {en}"),
                ("服务机构 serving facility", serving_txt),
                ("时间 minutes", _fmt(vmin[i], 1)),
                ("规则 rule", _esc(vrule[i])),
                ("理由 reason", _esc(vreason[i])),
            ]
            cm.add_child(Bind("Popup", _popup_table(rows), {"maxWidth": 340}))
            cm.add_child(Bind("Tooltip", f"{_esc(vn[i])}（{zh}）", {}))

    folium.LayerControl(collapsed=False).add_to(m)
    root.html.add_child(Element(_title_html(plan)), name="ck_title")
    root.html.add_child(Element(_legend_html()), name="ck_legend")
    # keep the county clear of the legend (left) and the title (top)
    m.fit_bounds(
        [[south, west], [north, east]], padding_top_left=(290, 90), padding_bottom_right=(20, 20)
    )
    _stable_ids(root)
    return m


def _population_overlay(grid: Any) -> str:
    density = grid.values / _cell_area_km2(grid)[:, None]
    density = np.where(grid.mask, density, np.nan)
    arr, bounds, _ = _raster_wgs84(density, grid.transform, grid.crs, resampling="bilinear")
    arr, _ = _downsample(arr, how="mean")
    return _image_js(_rgba_population(arr), bounds, opacity=0.75)


def _time_overlay(grid: Any, minutes: np.ndarray) -> str:
    arr, bounds, _ = _raster_wgs84(minutes, grid.transform, grid.crs, resampling="nearest")
    arr, _ = _downsample(arr, how="nearest")
    return _image_js(_rgba_time(arr), bounds, opacity=0.7)


def _image_js(
    rgba: np.ndarray, bounds: tuple[float, float, float, float], *, opacity: float
) -> str:
    west, south, east, north = bounds
    b = [[round(south, 6), round(west, 6)], [round(north, 6), round(east, 6)]]
    uri = _png_data_uri(rgba)
    return (
        f"L.imageOverlay({_js(uri)}, {_js(b)}, "
        f"{{opacity: {opacity}, className: 'ck-raster'}}).addTo({{parent}})"
    )


def _title_html(plan: CountyPlan) -> str:
    params = plan.params
    p = plan.summary.get("p") if plan.summary else None
    if p is None and plan.subcentres is not None:
        p = len(plan.subcentres)
    names = plan.summary.get("subcentre_names") if plan.summary else None
    if not names and plan.subcentres is not None and "name" in plan.subcentres:
        names = plan.subcentres["name"].astype(str).tolist()
    subs = "、".join(_esc(n) for n in (names or [])) or "无 none"
    return (
        '<div class="ck-title" id="ck-title">'
        f"<b>{_esc(plan.county_name)} 县域医疗卫生次中心规划</b><br>"
        f"Sub-centre plan for {_esc(plan.county_name)} ({_esc(plan.county_id)}) — "
        f"T = {_fmt(params.threshold_min)} min, p = {_esc(p)}<br>"
        f"次中心 sub-centres: {subs}"
        + (
            "<br><b>出行时间为估算值（无道路数据）Travel times ESTIMATED: no road network</b>"
            if (plan.summary or {}).get("travel_times_estimated")
            else ""
        )
        + "</div>"
    )


def _legend_html() -> str:
    parts = ['<div class="ck-legend" id="ck-legend">', "<h4>医疗机构 Facilities</h4>"]
    for key, (zh, en, colour) in FACILITY_TIERS.items():
        if key == "other":
            continue
        radius = "3px" if key == "county_hospital" else "50%"
        parts.append(
            f'<div><span class="sw" style="background:{colour};border-radius:{radius}"></span>'
            f"{zh} {en}</div>"
        )
    parts.append(
        '<div><span class="sw" style="border:2px dashed #000"></span>假定位置 assumed</div>'
        '<div><span class="dot" style="border:3px solid #f1c40f;width:12px;height:12px">'
        "</span>拟建次中心 proposed sub-centre</div>"
    )
    parts.append("<h4>村服务方式 Village service mode</h4>")
    for key, (zh, en, colour) in SERVICE_MODES.items():
        if key == "unknown":
            continue
        parts.append(f'<div><span class="dot" style="background:{colour}"></span>{zh} {en}</div>')
    parts.append("<h4>到县级医疗时间 Time to county care (min)</h4>")
    for lo, hi, colour in TIME_CLASSES:
        label = f"&gt; {lo:.0f}" if math.isinf(hi) else f"{lo:.0f}–{hi:.0f}"
        parts.append(f'<div><span class="sw" style="background:{colour}"></span>{label}</div>')
    parts.append(
        f'<div><span class="sw" style="background:{UNREACHABLE_COLOUR}"></span>'
        "不可达 unreachable</div>"
    )
    parts.append("<h4>人口密度 Population (人/km²)</h4>")
    lows = [c[0] for c in POPULATION_CLASSES]
    for j, (lo, colour) in enumerate(POPULATION_CLASSES):
        label = f"&ge; {lo:,.0f}" if j == len(lows) - 1 else f"{lo:,.0f}–{lows[j + 1]:,.0f}"
        parts.append(f'<div><span class="sw" style="background:{colour}"></span>{label}</div>')
    parts.append("<h4>道路 Roads</h4>")
    for zh, en, weight, colour in ROAD_STYLES.values():
        parts.append(
            f'<div><span class="ln" style="border-top:{weight:.0f}px solid {colour}"></span>'
            f"{zh} {en}</div>"
        )
    parts.append("</div>")
    return "".join(parts)


_UUID = re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{32}(?![0-9A-Za-z])")


def html_from_map(m: folium.Map) -> str:
    """Render a map to HTML with deterministic element ids.

    Parameters
    ----------
    m
        A map from :func:`map_from_plan` (any folium map works).

    Returns
    -------
    str
        The full HTML document. Random uuid ids that folium creates while
        rendering are replaced by ``ckr0001``, ``ckr0002`` ... in order of
        first appearance, so equal maps give byte-identical HTML.
    """
    import copy

    # folium's render mutates the tree (a second render of the same map would
    # differ), so render a copy and leave ``m`` as it was.
    root = copy.deepcopy(m.get_root())
    _stable_ids(root)
    text = root.render()
    mapping: dict[str, str] = {}

    def repl(match: re.Match[str]) -> str:
        key = match.group(0)
        if key not in mapping:
            mapping[key] = f"ckr{len(mapping) + 1:04d}"
        return mapping[key]

    return _UUID.sub(repl, text)


def save_map(plan_or_map: CountyPlan | folium.Map, path: str | os.PathLike[str]) -> Path:
    """Write a plan's map (or a ready map) as one self-contained HTML file.

    Parameters
    ----------
    plan_or_map
        A :class:`~coverkit.plan.CountyPlan` (drawn with :func:`map_from_plan`
        and no base tiles) or a :class:`folium.Map`.
    path
        Output file; its folder must exist. Written to a temporary file in the
        same folder, then renamed, so a failure leaves no partial file.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    OutputError
        If the folder does not exist or the file cannot be written.
    """
    import folium

    m = plan_or_map if isinstance(plan_or_map, folium.Map) else map_from_plan(plan_or_map)
    text = html_from_map(m)
    out = Path(path)
    if not out.parent.exists():
        raise OutputError(f"folder '{out.parent}' does not exist; create it or choose another path")
    try:
        with atomic_path(out) as tmp:
            tmp.write_text(text, encoding="utf-8", newline="\n")
    except OSError as exc:
        raise OutputError(
            f"cannot write map '{out}' ({exc}); check the path and permissions"
        ) from exc
    logger.info("map written to %s (%.1f kB)", out, len(text.encode("utf-8")) / 1024)
    return out


__all__ = [
    "FACILITY_TIERS",
    "SERVICE_MODES",
    "TIME_CLASSES",
    "as_geodataframe",
    "html_from_map",
    "located_subcentres",
    "map_from_plan",
    "save_map",
]
