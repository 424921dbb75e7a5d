"""Read coverkit's input files: boundaries, population rasters, roads, points.

One reader per kind of file (:func:`read_boundary`, :func:`read_population`,
:func:`read_roads`, :func:`read_points`), each returning EPSG:4326 data or a
:class:`PopulationGrid`, and the tables that recognise the user's column names
(:data:`POINT_COLUMN_ALIASES`) and clinic statuses (:data:`CLINIC_STATUS_SYNONYMS`).
"""

from __future__ import annotations

import codecs
import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from affine import Affine
from pyproj import CRS

from coverkit import osm, settings
from coverkit.crs import WGS84, metric_crs, to_wgs84
from coverkit.errors import (
    ConfigError,
    CRSError,
    EmptyInputError,
    InputFileError,
    InvalidValueError,
    MissingColumnError,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PopulationGrid:
    """A population raster clipped to a county.

    Attributes
    ----------
    values
        float64 array (rows, cols) of people per cell; 0 where nodata or
        outside the county (never NaN).
    mask
        bool array, True for cells whose centre lies inside the county.
    transform
        Affine transform of the grid (rasterio convention).
    crs
        CRS of the grid (usually EPSG:4326 for WorldPop).
    total
        ``values.sum()``: the population of the county as the raster gives it.
    source
        Path of the file it was read from (for messages and reports).
    coverage
        Share (0–1) of the county's area covered by cells with data (not
        nodata, not beyond the raster's edge), as :func:`read_population`
        measured it; 1.0 when not measured.
    """

    values: np.ndarray
    mask: np.ndarray
    transform: Affine
    crs: CRS
    total: float
    source: str = ""
    coverage: float = 1.0

    @property
    def shape(self) -> tuple[int, int]:
        """Rows and columns of the grid."""
        return self.values.shape  # type: ignore[return-value]

    def cell_centres(
        self, *, populated_only: bool = True
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Rows, cols and x, y (grid CRS) of the cells inside the county.

        Parameters
        ----------
        populated_only
            Only cells with people (``mask & (values > 0)``); ``False``: every
            cell inside the county mask.

        Returns
        -------
        tuple of ndarray
            ``rows, cols, x, y`` (float64) in row-major order.
        """
        inside = self.mask & (self.values > 0) if populated_only else self.mask
        rows, cols = np.nonzero(inside)
        t = self.transform
        # written out: affine's ``*`` on arrays is deprecated (PendingDeprecationWarning);
        # a north-up grid's zero terms (b, d) are skipped: adding 0.0 changes no value
        x = t.a * (cols + 0.5)
        if t.b:
            x += t.b * (rows + 0.5)
        x += t.c
        y = t.e * (rows + 0.5)
        if t.d:
            y += t.d * (cols + 0.5)
        y += t.f
        return rows, cols, x, y


# --------------------------------------------------------------------------- helpers


def shown_path(path: str | Path, limit: int = 120) -> str:
    """A path as messages show it: control characters escaped, long ones shortened.

    Parameters
    ----------
    path
        Any path a user gave.
    limit
        Characters kept; a longer path keeps its start and end around ``…``.

    Returns
    -------
    str
        One line of text (NUL, newlines and other control characters as
        ``\\x00``-style escapes).
    """
    text = "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in str(path)
    )
    if len(text) > limit:
        half = (limit - 1) // 2
        text = f"{text[:half]}…{text[-half:]}"
    return text


def usable_path(path: str | Path, what: str) -> Path:
    """``path`` as a :class:`~pathlib.Path`, refusing one no file system can open.

    Parameters
    ----------
    path
        A path given by the user (``~`` expanded).
    what
        What the file is, for the message (``'facilities file'``).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    InputFileError
        The path holds a NUL byte, or it (or one of its names) is too long for
        the operating system.
    """
    text = str(path)
    if "\x00" in text:
        raise InputFileError(
            f"{what} path '{shown_path(text)}' contains a NUL byte (\\x00); no file can have "
            "that name: fix the path"
        )
    p = Path(text).expanduser()
    try:
        p.exists()
    except OSError as exc:  # ENAMETOOLONG and the like: exists() only hides ENOENT & co.
        raise InputFileError(
            f"{what} path '{shown_path(text)}' cannot be used ({exc.strerror or exc}, "
            f"{len(text)} characters); give a shorter path"
        ) from exc
    return p


def _existing(path: str | Path, what: str, hint: str) -> Path:
    p = usable_path(path, f"{what} file")
    if not p.exists():
        raise InputFileError(f"{what} file '{shown_path(p)}' does not exist; {hint}")
    return p


def _wgs84_bbox(boundary: gpd.GeoDataFrame | None, buffer_m: float) -> tuple | None:
    """Boundary bounds grown by ``buffer_m`` metres, in degrees (west, south, east, north)."""
    if boundary is None:
        return None
    if boundary.crs is None:
        raise CRSError("the boundary has no CRS; read it with read_boundary() or set_crs(4326)")
    metric = metric_crs(boundary)
    grown = boundary.to_crs(metric).buffer(buffer_m).to_crs(WGS84)
    return tuple(float(v) for v in grown.total_bounds)


def check_buffer_m(buffer_m: Any, what: str = "road_buffer_m") -> float:
    """``buffer_m`` as a float, refusing what is not a finite number of metres ≥ 0.

    Parameters
    ----------
    buffer_m
        The value given (e.g. ``road_buffer_m`` through the API).
    what
        Its name, for the message.

    Returns
    -------
    float

    Raises
    ------
    ConfigError
        Not a number, not finite (``inf``, ``nan``) or negative.
    """
    try:
        value = float(buffer_m)
    except (TypeError, ValueError):
        value = float("nan")
    if isinstance(buffer_m, bool) or not np.isfinite(value) or value < 0:
        raise ConfigError(
            f"{what}={buffer_m!r} must be a finite number of metres ≥ 0 (e.g. 5000, the "
            "roads kept beyond the county border); fix the value"
        )
    return value


def buffered_boundary(boundary: gpd.GeoDataFrame, buffer_m: float) -> shapely.Geometry:
    """The union of a boundary grown by ``buffer_m`` metres, in EPSG:4326.

    Parameters
    ----------
    boundary
        County boundary (any CRS with a metric projection near it).
    buffer_m
        Growth in metres (in the boundary's metric CRS), finite and ≥ 0; 0: no growth.

    Returns
    -------
    shapely.Geometry
        One (multi)polygon in WGS84 degrees, e.g. to keep the points of a user
        table that lie in the county with some slack at the border.

    Raises
    ------
    ConfigError
        ``buffer_m`` is not a finite number of metres ≥ 0.
    """
    check_buffer_m(buffer_m)
    metric = metric_crs(boundary)
    geom = boundary.to_crs(metric).geometry.union_all()
    if buffer_m > 0:
        geom = geom.buffer(buffer_m)
    return gpd.GeoSeries([geom], crs=metric).to_crs(WGS84).iloc[0]


# --------------------------------------------------------------------------- roads

_ROAD_COLUMNS = ["id", "highway", "maxspeed", "name", "geometry"]


def _download_graph(boundary: gpd.GeoDataFrame | None, buffer_m: float) -> Any:
    """Download the county's roads from the Overpass API with osmnx (needs internet)."""
    import osmnx as ox

    if boundary is None:
        raise InvalidValueError(
            "roads='download' needs the county boundary; pass boundary= (the CLI does)"
        )
    area = buffered_boundary(boundary, buffer_m)
    try:
        return ox.graph_from_polygon(area, network_type="all", simplify=False, retain_all=True)
    except Exception as exc:  # requests/Overpass errors come in many types
        raise InputFileError(
            f"could not download roads from OpenStreetMap ({type(exc).__name__}: {exc}); "
            "check the internet connection or give an .osm.pbf extract with --roads"
        ) from exc


def _roads_from_graph(path: Path | None, *, graphml: bool, graph: Any = None) -> gpd.GeoDataFrame:
    import osmnx as ox

    try:
        if graph is not None:
            G = graph
        else:
            G = ox.load_graphml(path) if graphml else ox.graph_from_xml(path, simplify=False)
    except Exception as exc:
        raise InputFileError(
            f"cannot read '{path}' as {'GraphML' if graphml else 'OSM XML'} ({exc}); "
            "give an osmnx GraphML file or an .osm.pbf extract"
        ) from exc
    if G.number_of_edges() == 0:
        raise EmptyInputError(f"'{path}' has no road edges; give a road network for the county")
    edges = ox.graph_to_gdfs(G, nodes=False).reset_index()

    def first(v: object) -> object:
        v = v[0] if isinstance(v, list) and v else v
        return None if v is None or (isinstance(v, float) and np.isnan(v)) else v

    out = gpd.GeoDataFrame(
        {
            "id": np.arange(len(edges), dtype="int64"),
            "highway": edges.get("highway", pd.Series([None] * len(edges))).map(first),
            "maxspeed": _objects(edges.get("maxspeed", pd.Series([None] * len(edges))).map(first)),
            "name": _objects(edges.get("name", pd.Series([None] * len(edges))).map(first)),
        },
        geometry=edges.geometry.values,
        crs=edges.crs,
    )
    # the same road classes as the .pbf reader (no proposed/construction/abandoned ways)
    out = out[out["highway"].isin(osm.ROAD_CLASSES)]
    return out.to_crs(WGS84)


def _objects(values: pd.Series) -> np.ndarray:
    """Values as an object array with ``None`` for missing ones."""
    out = np.array(values.astype("object").to_numpy(), dtype=object, copy=True)
    out[np.asarray(pd.isna(values))] = None
    return out


def _roads_from_lines(
    path: Path, class_column: str | None, bbox: tuple | None = None
) -> gpd.GeoDataFrame:
    kwargs: dict[str, object] = {}
    if bbox is not None:  # read only the county's window of a large (e.g. province) layer
        import pyogrio
        from pyproj import Transformer

        try:
            layer_crs = pyogrio.read_info(path).get("crs")
        except Exception:  # unreadable: _read_vector below reports it properly
            layer_crs = None
        if layer_crs:
            to_layer = Transformer.from_crs(WGS84, layer_crs, always_xy=True)
            kwargs["bbox"] = to_layer.transform_bounds(*bbox)
    try:
        gdf = _read_vector(path, "road", **kwargs)
    except EmptyInputError:
        if "bbox" not in kwargs:
            raise
        raise EmptyInputError(
            f"'{path}' holds no roads within the county (plus buffer); check the file covers "
            "the county or use --roads none for straight-line estimates"
        ) from None
    col = class_column or "highway"
    if col not in gdf.columns:
        raise MissingColumnError(
            f"'{path}' has no road-class column '{col}' "
            f"(columns: {', '.join(map(str, gdf.columns))}); "
            "pass class_column= naming the column that holds the road class"
        )
    gdf = gdf[gdf.geom_type.isin(["LineString", "MultiLineString"])]
    gdf = gdf.explode(index_parts=False, ignore_index=True)
    ids = gdf["id"] if "id" in gdf.columns else pd.Series(np.arange(len(gdf)), index=gdf.index)
    return gpd.GeoDataFrame(
        {
            "id": ids.to_numpy(),
            "highway": _objects(gdf[col]),
            "maxspeed": _objects(gdf["maxspeed"]) if "maxspeed" in gdf else None,
            "name": _objects(gdf["name"]) if "name" in gdf else None,
        },
        geometry=gdf.geometry.values,
        crs=gdf.crs,
    ).to_crs(WGS84)


def read_roads(
    path: str | Path,
    boundary: gpd.GeoDataFrame | None = None,
    *,
    buffer_m: float = 5_000.0,
    class_column: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a road network as lines with their OSM-style class.

    Parameters
    ----------
    path
        ``'download'`` (fetch the county's roads from OpenStreetMap's Overpass
        API with osmnx; needs internet), ``'none'`` (no roads: the plan then
        estimates travel times from straight lines, labelled as estimated), or an
        ``.osm.pbf`` / ``.osm`` extract (read with pyosmium; only ways whose
        ``highway`` is a road or path class, no areas, no proposed/construction/
        abandoned ways), an osmnx ``.graphml`` file (its edges), or a
        GeoPackage/Shapefile/GeoJSON of lines with a ``highway`` column (or
        the column named by ``class_column``).
    boundary
        County boundary; when given, ways are first filtered by its bounding
        box grown by ``buffer_m`` and then clipped to the boundary buffered by
        ``buffer_m`` metres (roads just outside the county can still carry
        trips that start and end inside it).
    buffer_m
        Buffer around the boundary, metres.
    class_column
        For line files: the column holding the road class (mapped to
        ``highway``).

    Returns
    -------
    geopandas.GeoDataFrame
        ``id, highway, maxspeed, name, geometry`` (LineString), EPSG:4326.

    Raises
    ------
    InputFileError
        Missing or unreadable file.
    MissingColumnError
        A line file without a road-class column.
    EmptyInputError
        No road lies within the (buffered) county.
    ConfigError
        ``buffer_m`` is not a finite number of metres ≥ 0.
    """
    if str(path) == "none":  # the documented straight-line fallback (estimated times)
        logger.warning("roads='none': travel times will be estimated from straight lines")
        return gpd.GeoDataFrame({c: [] for c in _ROAD_COLUMNS[:-1]}, geometry=[], crs=WGS84)
    buffer_m = check_buffer_m(buffer_m, "buffer_m")
    bbox = _wgs84_bbox(boundary, buffer_m)
    if str(path) == "download":
        roads = _roads_from_graph(None, graphml=False, graph=_download_graph(boundary, buffer_m))
        return _clip_roads(roads, boundary, bbox, buffer_m, "the OpenStreetMap download")
    p = _existing(
        path, "road", "give an .osm.pbf extract (https://download.geofabrik.de) or a line file"
    )
    name = p.name.lower()
    if osm.is_osm_file(p):
        if name.endswith(".osm") and not _looks_like_xml(p):
            raise InputFileError(f"'{p}' is not OSM XML; give an .osm.pbf or .osm extract")
        roads = osm.roads_from_osm(p, bbox=bbox)
    elif name.endswith(".graphml"):
        roads = _roads_from_graph(p, graphml=True)
    else:
        roads = _roads_from_lines(p, class_column, bbox)
    return _clip_roads(roads, boundary, bbox, buffer_m, f"'{p}'")


def _clip_roads(
    roads: gpd.GeoDataFrame,
    boundary: gpd.GeoDataFrame | None,
    bbox: tuple | None,
    buffer_m: float,
    source: str,
) -> gpd.GeoDataFrame:
    """Clip roads to the buffered county, normalise columns, refuse an empty result."""
    if boundary is not None and len(roads):
        w, s, e, n = bbox  # type: ignore[misc]
        roads = roads.cx[w:e, s:n]
        area = buffered_boundary(boundary, buffer_m)
        # only lines crossing the edge (or crossing themselves) are cut; a prepared test
        # finds the simple ones wholly inside, which clipping would return unchanged
        shapely.prepare(area)
        lines = roads.geometry.values
        whole = shapely.contains_properly(area, lines) & shapely.is_simple(lines)
        roads = pd.concat([roads[whole], roads[~whole].clip(area)]).sort_index(kind="stable")
        roads = roads[roads.geom_type.isin(["LineString", "MultiLineString"])]
        roads = roads.explode(index_parts=False, ignore_index=True)
        roads = roads[~roads.geometry.is_empty]
    if len(roads) == 0:
        where = " within the county (plus buffer)" if boundary is not None else ""
        raise EmptyInputError(
            f"{source} holds no roads{where}; check the file covers the county or omit roads "
            "to use the straight-line fallback"
        )
    roads = roads.sort_values("id", kind="stable").reset_index(drop=True)
    for col in ("highway", "maxspeed", "name"):  # text or None (not NaN), object dtype
        roads[col] = pd.Series(_objects(roads[col]), index=roads.index, dtype="object")
    logger.info("%s: %d road lines", source, len(roads))
    return gpd.GeoDataFrame(roads[_ROAD_COLUMNS], geometry="geometry", crs=WGS84)


def _looks_like_xml(p: Path) -> bool:
    with p.open("rb") as fh:
        head = fh.read(256).lstrip()
    return head.startswith(b"<")


# --------------------------------------------------------------------------- vectors


def _read_vector(path: Path, what: str, **kwargs: object) -> gpd.GeoDataFrame:
    import pyogrio

    try:
        gdf = gpd.read_file(path, engine="pyogrio", **kwargs)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError) as exc:
        raise InputFileError(
            f"cannot read '{path}' as a {what} layer ({exc}); give a GeoPackage, GeoJSON or "
            "Shapefile"
        ) from exc
    if len(gdf) == 0:
        raise EmptyInputError(f"'{path}' has no features; give a {what} layer with at least one")
    if gdf.crs is None:
        raise CRSError(
            f"'{path}' has no CRS; write one "
            f"(e.g. ogr2ogr -a_srs EPSG:4326 out.gpkg '{path.name}') "
            "or set it with gdf.set_crs() before passing the layer"
        )
    return gdf


_BOUNDARY_NAME_COLUMNS = ("name", "NAME", "名称", "县", "county", "NAME_2", "NAME_1", "shapeName")
_BOUNDARY_CODE_COLUMNS = ("id", "code", "编码", "区划代码", "ref", "osm_id", "adcode", "GID_2")


def read_boundary(
    path: str | Path,
    *,
    name: str | None = None,
    name_column: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a county boundary as one dissolved polygon row.

    Parameters
    ----------
    path
        GeoJSON, GeoPackage or Shapefile of polygons (any CRS; returned in
        EPSG:4326).
    name
        Name or code of the feature to keep when the file has several (matched
        case-insensitively against ``name_column`` or the usual name and code
        columns). ``None`` dissolves every feature.
    name_column
        Column holding the names; default: the first of ``name``, ``NAME``,
        ``名称``, ``county``... present.

    Returns
    -------
    geopandas.GeoDataFrame
        One row: ``id, name, geometry`` (Polygon/MultiPolygon), EPSG:4326.

    Raises
    ------
    InputFileError
        Missing or unreadable file, or an unknown ``name`` (the message lists
        the choices).
    EmptyInputError
        No features, or no polygon.
    CRSError
        The file has no CRS.
    MissingColumnError
        ``name_column`` is not in the file.
    """
    p = _existing(path, "boundary", "give a GeoJSON, GeoPackage or Shapefile of the county")
    gdf = _read_vector(p, "boundary")
    gdf = gdf[gdf.geom_type.isin(["Polygon", "MultiPolygon"])]
    if len(gdf) == 0:
        raise EmptyInputError(f"'{p}' has no polygons; a boundary must be a (multi)polygon layer")
    if name_column is not None and name_column not in gdf.columns:
        raise MissingColumnError(
            f"'{p}' has no column '{name_column}' (columns: {', '.join(map(str, gdf.columns))}); "
            "pass name_column= one of these"
        )
    ncol = name_column or next((c for c in _BOUNDARY_NAME_COLUMNS if c in gdf.columns), None)
    ccol = next((c for c in _BOUNDARY_CODE_COLUMNS if c in gdf.columns and c != ncol), None)
    if name is not None:
        key = str(name).strip().casefold()
        hit = pd.Series(False, index=gdf.index)
        for c in (ncol, ccol):
            if c is not None:
                hit |= gdf[c].astype(str).str.strip().str.casefold() == key
        if not hit.any():
            choices = sorted(gdf[ncol].astype(str).unique()) if ncol else []
            raise InputFileError(
                f"'{p}' has no feature named {name!r}; choose one of: {', '.join(choices)}"
                if choices
                else f"'{p}' has no name column to match {name!r}; pass name_column="
            )
        gdf = gdf[hit]
    elif len(gdf) > 1:
        logger.info("%s: %d features dissolved into one boundary", p.name, len(gdf))
    gdf = gdf.to_crs(WGS84)
    geom = shapely.make_valid(gdf.geometry.union_all())
    if geom.geom_type == "GeometryCollection":
        geom = shapely.union_all(
            [g for g in geom.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
        )
    label = str(gdf[ncol].iloc[0]) if ncol and len(gdf) == 1 else (name or p.stem)
    ident = str(gdf[ccol].iloc[0]) if ccol and len(gdf) == 1 else label
    return gpd.GeoDataFrame({"id": [ident], "name": [label]}, geometry=[geom], crs=WGS84)


# --------------------------------------------------------------------------- population


def read_population(
    path: str | Path,
    boundary: gpd.GeoDataFrame,
    *,
    crs: CRS | str | int | None = None,
) -> PopulationGrid:
    """Read the window of a population raster that covers a county.

    Only the window of the boundary's bounds is read (never the whole file).
    Nodata and negative cells become 0; cells whose centre lies outside the
    county are masked out and set to 0.

    Parameters
    ----------
    path
        GeoTIFF (or any raster GDAL reads) of people per cell, e.g. WorldPop.
    boundary
        County boundary (any CRS; reprojected to the raster's CRS).
    crs
        CRS to assume when the raster has none.

    Returns
    -------
    PopulationGrid
        Values, mask, window transform, CRS and total of the county.

    Raises
    ------
    InputFileError
        Missing or unreadable file.
    CRSError
        The raster has no CRS and ``crs`` is not given.
    EmptyInputError
        The raster does not overlap the county, or holds only nodata there.
    """
    from rasterio.features import geometry_mask

    p = _existing(path, "population raster", "give a GeoTIFF such as a WorldPop 100 m raster")
    if boundary.crs is None:
        raise CRSError("the boundary has no CRS; read it with read_boundary() or set_crs(4326)")
    src = _open_raster(p)
    with src:
        rcrs = _raster_crs(src, crs, p, boundary)
        _check_north_up(src.transform, p)
        geom = boundary.to_crs(rcrs).geometry.union_all()
        arr, transform = _read_county_window(src, geom, p)
        zero_is_nodata = src.nodata is not None and src.nodata == 0
    values, valid = _people_per_cell(arr, p)
    mask = geometry_mask(
        [geom], out_shape=values.shape, transform=transform, invert=True, all_touched=False
    )
    if not mask.any():
        raise EmptyInputError(
            f"'{p}' has no cell whose centre lies in the county: its cells "
            f"({abs(transform.a):g} × {abs(transform.e):g} {_units(rcrs)}) are too coarse; "
            "give a finer raster such as a WorldPop 100 m one"
        )
    if not (valid & mask).any() and not zero_is_nodata:
        raise EmptyInputError(
            f"'{p}' has only nodata (or negative) cells inside the county; check the "
            "raster covers it and that its nodata value is set"
        )
    values[~mask] = 0.0
    cell_area = abs(transform.a * transform.e - transform.b * transform.d)
    county_cells = float(geom.area) / cell_area if cell_area > 0 else 0.0
    # nodata 0 cannot tell "no data" from "nobody": only the raster's extent counts then
    covered = float(mask.sum() if zero_is_nodata else (valid & mask).sum())
    grid = PopulationGrid(
        values=values,
        mask=mask,
        transform=transform,
        crs=rcrs,
        total=float(values.sum()),
        source=str(p),
        coverage=min(1.0, covered / county_cells) if county_cells > 0 else 1.0,
    )
    logger.info(
        "%s: %d×%d window, population %.0f, %.1f%% of the county with data",
        p.name,
        *values.shape,
        grid.total,
        100 * grid.coverage,
    )
    return grid


def _units(crs: CRS) -> str:
    """The unit name of a CRS's first axis (``degree``, ``metre``, ``US survey foot``)."""
    try:
        return str(crs.axis_info[0].unit_name)
    except (IndexError, AttributeError):
        return "units"


def _check_north_up(transform: Affine, p: Path) -> None:
    """Refuse a rotated or sheared grid: coverkit's rasters and maps are north-up."""
    if transform.b != 0 or transform.d != 0:
        raise InputFileError(
            f"'{p}' has a rotated or sheared grid (transform terms b={transform.b:g}, "
            f"d={transform.d:g}); coverkit needs a north-up grid: resample it first, e.g. "
            f"`gdalwarp -r sum {p.name} north_up.tif`"
        )


def _open_raster(p: Path) -> Any:
    """Open a raster with rasterio, or say it is not one."""
    import rasterio

    try:
        return rasterio.open(p)
    except rasterio.errors.RasterioIOError as exc:
        raise InputFileError(
            f"cannot read '{p}' as a raster ({exc}); give a GeoTIFF of people per cell"
        ) from exc


def _raster_crs(src: Any, crs: CRS | str | int | None, p: Path, boundary: gpd.GeoDataFrame) -> CRS:
    """The raster's CRS (``crs`` when it has none); logs a reprojection of the boundary."""
    rcrs = src.crs
    if rcrs is None:
        if crs is None:
            raise CRSError(
                f"'{p}' has no CRS; pass crs= or write one with "
                f"`rio edit-info --crs EPSG:4326 {p.name}`"
            )
        rcrs = crs
    rcrs = CRS.from_user_input(rcrs)
    if not rcrs.equals(CRS.from_user_input(boundary.crs)):
        logger.info(
            "%s is in %s, the county boundary in %s: the boundary was projected to the "
            "raster's CRS; cells are used as they are (no resampling, population total "
            "kept) and their centres converted for travel times",
            p.name,
            rcrs.to_string(),
            CRS.from_user_input(boundary.crs).to_string(),
        )
    return rcrs


def _read_county_window(
    src: Any, geom: shapely.Geometry, p: Path
) -> tuple[np.ma.MaskedArray, Affine]:
    """The cells of the window covering ``geom``'s bounds (masked nodata) and its transform."""
    from rasterio.windows import Window, from_bounds

    w, s, e, n = geom.bounds
    left, b, r, t = src.bounds
    if w >= r or e <= left or s >= t or n <= b:
        raise EmptyInputError(
            f"'{p}' (bounds {left:.4f}, {b:.4f}, {r:.4f}, {t:.4f}) does not overlap the county "
            f"(bounds {w:.4f}, {s:.4f}, {e:.4f}, {n:.4f}); give the raster that covers it"
        )
    fb = from_bounds(w, s, e, n, transform=src.transform)
    c0 = max(0, int(np.floor(fb.col_off)))
    r0 = max(0, int(np.floor(fb.row_off)))
    c1 = min(src.width, int(np.ceil(fb.col_off + fb.width)))
    r1 = min(src.height, int(np.ceil(fb.row_off + fb.height)))
    win = Window(c0, r0, c1 - c0, r1 - r0)
    _check_window_memory(src, r1 - r0, c1 - c0, p)
    arr = src.read(1, window=win, masked=True).astype("float64")
    return arr, src.transform @ Affine.translation(c0, r0)


#: Bytes coverkit holds per window cell besides the file's own value: the
#: float64 copy, the filled float64 values, the nodata mask and three boolean masks.
_WORK_BYTES_PER_CELL = 22


def window_bytes(rows: int, cols: int, dtype: Any) -> int:
    """Memory estimate of reading a raster window of ``rows`` × ``cols`` cells, bytes.

    Parameters
    ----------
    rows, cols
        Size of the window in cells.
    dtype
        The file's value type (e.g. ``'float32'``).

    Returns
    -------
    int
        Cells × (the value size + coverkit's working copies and masks).
    """
    return int(rows) * int(cols) * (np.dtype(dtype).itemsize + _WORK_BYTES_PER_CELL)


def _check_window_memory(src: Any, rows: int, cols: int, p: Path) -> None:
    """Refuse a county window whose reading would exceed ``settings.max_raster_window_bytes``."""
    need = window_bytes(rows, cols, src.dtypes[0])
    limit = float(settings.max_raster_window_bytes)
    if need <= limit:
        return
    geographic = src.crs is not None and CRS.from_user_input(src.crs).is_geographic
    cell = "0.000833 0.000833" if geographic else "100 100"
    raise InputFileError(
        f"'{p}': the county's window is {rows:,} × {cols:,} cells, about "
        f"{need / 2**30:,.1f} GiB to read, above the {limit / 2**30:,.1f} GiB limit "
        "(settings.max_raster_window_bytes); clip it to the county or coarsen it first, e.g. "
        f"`gdalwarp -tr {cell} -r sum {p.name} coarser.tif` (about 100 m cells)"
    )


def _people_per_cell(arr: np.ma.MaskedArray, p: Path) -> tuple[np.ndarray, np.ndarray]:
    """Cell values with nodata, negative and non-finite cells as 0, and the valid cells."""
    values = np.asarray(arr.filled(0.0), dtype="float64")
    unusable = ~np.isfinite(values) | (values < 0)
    valid = ~np.ma.getmaskarray(arr) & ~unusable
    if (unusable & ~np.ma.getmaskarray(arr)).any():
        logger.warning(
            "%s: %d cells with negative or non-finite values (not declared nodata) "
            "were treated as nodata",
            p.name,
            int((unusable & ~np.ma.getmaskarray(arr)).sum()),
        )
    values[unusable] = 0.0
    return values, valid


def _county_km2(boundary: gpd.GeoDataFrame) -> float:
    """Area of the county, km² (in its metric CRS)."""
    return float(boundary.to_crs(metric_crs(boundary)).geometry.union_all().area) / 1e6


def population_checks(
    grid: PopulationGrid, boundary: gpd.GeoDataFrame, notes: list[str] | None = None
) -> None:
    """Refuse a population grid that cannot be right for the county; warn on dubious ones.

    Parameters
    ----------
    grid
        The county's grid, as :func:`read_population` returns it.
    boundary
        The county boundary (any CRS).
    notes
        User notes of the county; a warning is appended (and logged) when the
        raster leaves some of the county without data (below
        ``settings.population_coverage_warn``), or its density, county mean or
        in one cell, lies outside ``settings.plausible_density_per_km2`` /
        above ``settings.max_cell_density_per_km2`` (wrong units?).

    Raises
    ------
    EmptyInputError
        Every cell of the county holds 0 people.
    InvalidValueError
        Data cover less than ``settings.min_population_coverage`` of the county.
    """
    notes = notes if notes is not None else []
    src = grid.source or "the population raster"
    if not grid.total > 0:
        raise EmptyInputError(
            f"'{src}' holds 0 people in every cell inside the county; give the raster of "
            "people per cell (e.g. WorldPop) and check its nodata value is not the data"
        )
    share, least = grid.coverage, float(settings.min_population_coverage)
    if share < least:
        raise InvalidValueError(
            f"'{src}' has data on only {share:.1%} of the county (the rest is nodata or "
            f"beyond the raster's edge), below the {least:.0%} required "
            "(settings.min_population_coverage); give a raster covering the whole county, "
            "or lower that setting"
        )
    if share < float(settings.population_coverage_warn):
        _warn(
            notes,
            f"population: '{Path(src).name}' has data on {share:.1%} of the county only; "
            "people in the rest are missing from every figure",
        )
    _density_checks(grid, boundary, src, notes)


def _warn(notes: list[str], message: str) -> None:
    """Log a warning and append it to the user notes."""
    logger.warning("%s", message)
    notes.append(message)


def _density_checks(
    grid: PopulationGrid, boundary: gpd.GeoDataFrame, src: str, notes: list[str]
) -> None:
    """Warn when the county's mean density or one cell's density is implausible."""
    km2 = _county_km2(boundary)
    cells = int(grid.mask.sum())
    if km2 <= 0 or cells == 0:
        return
    low, high = (float(v) for v in settings.plausible_density_per_km2)
    density = grid.total / km2
    name = Path(src).name
    if not low <= density <= high:
        _warn(
            notes,
            f"population: '{name}' gives {grid.total:,.0f} people on {km2:,.0f} km², "
            f"{density:,.1f} per km², outside the plausible {low:g}–{high:,.0f} per km² "
            "(settings.plausible_density_per_km2); check the raster's units "
            "(people per cell, not ×100 or per km²)",
        )
    cell_km2 = km2 / cells  # the mean cell area inside the county
    if cells < int(settings.min_population_cells_warn):
        _warn(
            notes,
            f"population: '{name}' has only {cells} cell(s) in the county (about "
            f"{cell_km2:,.2f} km² each): people are placed that coarsely; give a finer raster "
            "such as a WorldPop 100 m one",
        )
    peak = float(grid.values.max()) / cell_km2
    most = float(settings.max_cell_density_per_km2)
    if peak > most:
        _warn(
            notes,
            f"population: '{name}' has a cell of {grid.values.max():,.0f} people "
            f"({peak:,.0f} per km²), above the plausible {most:,.0f} per km² "
            "(settings.max_cell_density_per_km2); check the raster's units",
        )


# --------------------------------------------------------------------------- points

#: Recognised column names (lower-cased) → canonical column.
POINT_COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "name": (
        "name",
        "名称",
        "名字",
        "机构名称",
        "村名",
        "村庄",
        "行政村",
        "facility",
        "nom",
        "village",
        "village_name",
    ),
    "lon": ("lon", "lng", "long", "longitude", "经度", "x"),
    "lat": ("lat", "latitude", "纬度", "y"),
    "tier": ("tier", "type", "类型", "级别", "机构类型", "kind"),
    "population": ("population", "pop", "人口", "户籍人口", "常住人口"),
    "township": ("township", "town", "乡镇", "乡镇名称", "所属乡镇", "township_name", "乡镇街道"),
    "clinic": ("clinic", "卫生室", "村卫生室", "clinic_status"),
    "id": ("id", "code", "编码", "代码", "区划代码", "统计用区划代码", "village_id", "村代码"),
    # facility attributes (issue 16): whether a centre meets the "quality service at
    # grassroots" recommended standard (优质服务基层行推荐标准, 002 §(一)), beds, staff
    "meets_standard": (
        "meets_standard",
        "standard",
        "达标",
        "优质服务基层行",
        "推荐标准",
        "基本标准",
    ),
    "beds": ("beds", "床位", "床位数"),
    "staff": ("staff", "人员", "编制", "在岗人员", "职工数"),
}

#: Standard-status cells (lower-cased, NFKC) → whether the centre meets the recommended
#: standard (优质服务基层行推荐标准). A blank cell is "not flagged" (False). The level names
#: of the 优质服务基层行 campaign are understood too: 推荐标准 → True, 基本标准 (the lower,
#: basic level) → False, since the policy prefers the recommended one (002 §(一)).
STANDARD_SYNONYMS: dict[str, bool] = {
    **dict.fromkeys(
        ("是", "yes", "y", "true", "1", "1.0", "达到", "已达到", "达标", "已达标", "✓", "✔", "√"),
        True,
    ),
    **dict.fromkeys(("推荐标准", "recommended"), True),
    **dict.fromkeys(
        ("否", "no", "n", "false", "0", "0.0", "未达到", "未达标", "不达标", "✗", "✘", "×", "x"),
        False,
    ),
    **dict.fromkeys(("基本标准", "basic"), False),
}

#: Clinic status values (lower-cased) → ``standard`` / ``weak`` / ``none``.
CLINIC_STATUS_SYNONYMS: dict[str, str] = {
    "standard": "standard",
    "standardised": "standard",
    "standardized": "standard",
    "yes": "standard",
    "标准": "standard",
    "标准化": "standard",
    "有": "standard",
    "是": "standard",
    "1": "standard",
    "true": "standard",
    "weak": "weak",
    "薄弱": "weak",
    "弱": "weak",
    "较弱": "weak",
    "非标准": "weak",
    "none": "none",
    "no": "none",
    "无": "none",
    "没有": "none",
    "否": "none",
    "0": "none",
    "false": "none",
}


def column_of(df: pd.DataFrame, key: str, *, what: str = "villages") -> str:
    """Name of the column of ``df`` that holds the canonical column ``key``.

    An exact alias of :data:`POINT_COLUMN_ALIASES` wins over a case-insensitive one.

    Raises
    ------
    MissingColumnError
        If no column matches; the message lists the accepted names and the columns present.
    """
    aliases = (key, *(a for a in POINT_COLUMN_ALIASES.get(key, ()) if a != key))
    for alias in aliases:
        if alias in df.columns:
            return alias
    lowered = {str(c).lower(): c for c in df.columns}
    for alias in aliases:
        if alias.lower() in lowered:
            return str(lowered[alias.lower()])
    raise MissingColumnError(
        f"the {what} table has no '{key}' column (accepted names: "
        f"{', '.join(aliases)}; columns present: {', '.join(map(str, df.columns))}); "
        f"add or rename the column"
    )


def clinic_status_from_values(
    values: Sequence[Any] | pd.Series, *, missing: str | None = None
) -> pd.Series:
    """Normalise clinic status values to ``standard`` / ``weak`` / ``none``.

    Parameters
    ----------
    values
        Raw values; English (any case) or Chinese synonyms are accepted:
        标准/标准化/有 → ``standard``, 薄弱/弱/较弱 → ``weak``, 无/没有 → ``none``.
    missing
        The status of a blank cell (e.g. ``"none"``); ``None`` refuses blanks.

    Returns
    -------
    Series
        The normalised values (same index as ``values`` when it is a Series).

    Raises
    ------
    InvalidValueError
        If a value is missing or not recognised; the message lists the
        accepted values.
    """
    s = values if isinstance(values, pd.Series) else pd.Series(list(values))
    key = s.map(lambda v: None if pd.isna(v) else str(v).strip().lower())
    out = key.map(CLINIC_STATUS_SYNONYMS)
    if missing is not None:
        out = out.where(key.notna() & (key != ""), missing)
    bad = out.isna()
    if bad.any():
        shown = ", ".join(sorted({repr(v) for v in s[bad].tolist()})[:5])
        raise InvalidValueError(
            f"unknown clinic status {shown} in column 'clinic'; accepted values: "
            "standard, weak, none (or 标准/有, 薄弱/弱, 无/没有); fix the village table"
        )
    return out.astype(object)


def standard_from_values(
    values: Sequence[Any] | pd.Series, *, source: str | Path = "the facility table"
) -> pd.Series:
    """Normalise standard-status cells to booleans (meets the recommended standard or not).

    Parameters
    ----------
    values
        Raw cells: 是/否, yes/no, true/false, 1/0, 达到/未达到, 达标/未达标, ✓/✗, or the
        level names 推荐标准 (True) and 基本标准 (False); any case; blank = not flagged (False).
    source
        The table, for the message.

    Returns
    -------
    Series
        Booleans (same index as ``values`` when it is a Series).

    Raises
    ------
    InvalidValueError
        A value that is none of these; the message lists the accepted ones.
    """
    s = values if isinstance(values, pd.Series) else pd.Series(list(values))
    key = s.map(
        lambda v: "" if pd.isna(v) else unicodedata.normalize("NFKC", str(v)).strip().lower()
    )
    blank = key.isin(_MISSING_TEXT)
    out = key.map(STANDARD_SYNONYMS)
    bad = out.isna() & ~blank
    if bad.any():
        shown = ", ".join(sorted({repr(v) for v in s[bad].tolist()})[:5])
        raise InvalidValueError(
            f"'{source}' column meets_standard (达标) has unknown values {shown}; accepted: "
            "是/否, yes/no, true/false, 1/0, 达到/未达到, 达标/未达标, ✓/✗, 推荐标准/基本标准 "
            "(blank = not flagged); fix the facility table"
        )
    return out.where(~blank, False).astype(bool)


#: Units a count cell may end with (beds 张/床, staff 人/名).
_COUNT_UNITS = re.compile(r"\s*(张|床|人|名)$")


def count_from_values(
    values: pd.Series, ids: Sequence[Any], *, column: str, source: str | Path
) -> pd.Series:
    """Parse a count column (beds, staff): numbers >= 0, blanks NaN (unknown).

    Parameters
    ----------
    values
        Raw cells (``120``, ``1,200``, ``80张``, ``35人``; blank = unknown).
    ids
        Row ids, for the message.
    column
        The canonical column (``beds`` or ``staff``), for the message.
    source
        The table, for the message.

    Returns
    -------
    Series
        float64 counts, NaN where unknown (same index as ``values``).

    Raises
    ------
    InvalidValueError
        Cells that are not a number >= 0; the message names the first rows.
    """
    text = values.map(lambda v: "" if pd.isna(v) else unicodedata.normalize("NFKC", str(v)))
    text = text.str.strip().str.replace(_COUNT_UNITS, "", regex=True)
    missing = text.str.lower().isin(_MISSING_TEXT).to_numpy()
    numbers = text.where(~missing).map(people_count).astype("float64").to_numpy()
    bad = ~missing & ~(np.isfinite(numbers) & (numbers >= 0))
    if bad.any():
        rows = [
            f"{i}: {v!r}" for i, v in zip(np.asarray(ids)[bad][:5], values[bad][:5], strict=True)
        ]
        raise InvalidValueError(
            f"'{source}' column {column} has values that are not numbers >= 0 "
            f"({', '.join(rows)}{', …' if bad.sum() > 5 else ''}); write a number, or leave "
            "the cell empty when unknown"
        )
    return pd.Series(np.where(missing, np.nan, numbers), index=values.index, dtype="float64")


_POINT_KINDS = ("facilities", "villages")


def _canonical_columns(columns: list[str], overrides: dict[str, str] | None) -> dict[str, str]:
    """Map source column → canonical name (first alias match wins per canonical name)."""
    rename: dict[str, str] = {}
    taken: set[str] = set()
    if overrides:
        for canon, src in overrides.items():
            rename[src] = canon
            taken.add(canon)
    lowered = {c: str(c).strip().lower() for c in columns}
    for canon, aliases in POINT_COLUMN_ALIASES.items():
        if canon in taken:
            continue
        for alias in aliases:
            hit = next((c for c in columns if lowered[c] == alias and c not in rename), None)
            if hit is not None:
                rename[hit] = canon
                taken.add(canon)
                break
    return rename


#: Byte-order marks and the codec that reads them (UTF-32 first: its LE mark
#: starts with UTF-16's).
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

#: Excel suffixes read with openpyxl (``.xls`` needs xlrd).
_EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")


def _head(p: Path, n: int = 4096) -> bytes:
    """The first ``n`` bytes of a file, or an InputFileError naming it."""
    try:
        with p.open("rb") as fh:
            return fh.read(n)
    except OSError as exc:  # a folder, no permission, an I/O error
        raise InputFileError(
            f"cannot open '{p}' ({exc.strerror or exc}); give a readable CSV or XLSX file"
        ) from exc


def text_encodings(head: bytes, encoding: str | None = None) -> list[str]:
    """The encodings to try for a text table, from its first bytes.

    Parameters
    ----------
    head
        The first bytes of the file.
    encoding
        The encoding the user gave; it wins.

    Returns
    -------
    list of str
        ``[encoding]`` when given; the codec of a byte-order mark (UTF-8,
        UTF-16 as Excel's "Unicode text" writes it, UTF-32); else UTF-8 then
        GB18030 (a superset of GBK/GB2312).
    """
    if encoding:
        return [encoding]
    for bom, codec in _BOMS:
        if head.startswith(bom):
            return [codec]
    return ["utf-8-sig", "gb18030"]


def sniff_separator(first_line: str) -> str:
    """The field separator of a text table: tab, semicolon or comma, the most frequent.

    Parameters
    ----------
    first_line
        The header line, decoded.

    Returns
    -------
    str
        ``'\\t'``, ``';'`` or ``','`` (comma on a tie or when none occurs).
    """
    counts = {sep: first_line.count(sep) for sep in (",", "\t", ";")}
    best = max(counts, key=lambda k: (counts[k], k == ","))
    return best if counts[best] else ","


def _read_excel(p: Path, head: bytes) -> pd.DataFrame:
    """An Excel sheet as a table, or one line saying why the file cannot be read."""
    import importlib.util

    fix = "save it as .xlsx (Excel: File → Save As) or CSV"
    if p.suffix.lower() == ".xls" and importlib.util.find_spec("xlrd") is None:
        raise InputFileError(f"'{p}' is an old Excel .xls file (needs xlrd, not installed); {fix}")
    if importlib.util.find_spec("openpyxl") is None:  # pragma: no cover - optional dependency
        raise InputFileError(
            f"reading '{p}' needs openpyxl; install it with `pip install coverkit[xlsx]`"
        )
    if not head:
        raise InputFileError(f"'{p}' is empty (0 bytes); {fix}")
    if p.suffix.lower() != ".xls" and not head.startswith(b"PK"):
        if head.startswith(b"\xd0\xcf\x11\xe0"):  # OLE2: encrypted OOXML or an old .xls
            raise InputFileError(
                f"'{p}' is password-protected (encrypted) or an old .xls under a new name; "
                f"remove the password (Excel: File → Info → Protect Workbook) and {fix}"
            )
        raise InputFileError(
            f"'{p}' is not an Excel workbook (it looks like "
            f"{'a text/CSV file' if _looks_like_text(head) else 'another kind of file'}); "
            "rename a CSV to .csv, or save the table from Excel as .xlsx"
        )
    try:
        return pd.read_excel(p, dtype=object)
    except Exception as exc:  # zipfile, XML and openpyxl errors come in many types
        reason = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise InputFileError(
            f"cannot read '{p}' as Excel (damaged or cut short? {reason}); open it in Excel "
            f"and {fix}"
        ) from exc


def _looks_like_text(head: bytes) -> bool:
    """True when the bytes decode as UTF-8/GB18030 text without NULs."""
    if b"\x00" in head:
        return False
    for enc in ("utf-8", "gb18030"):
        try:
            head.decode(enc)
        except UnicodeDecodeError:
            continue
        return True
    return False


def _read_text_table(p: Path, enc: str) -> pd.DataFrame:
    """A CSV/TSV table in one encoding (UnicodeDecodeError when it is not that one)."""
    with p.open("r", encoding=enc, newline="") as fh:
        first = fh.readline()
    sep = sniff_separator(first)
    try:
        return pd.read_csv(p, encoding=enc, sep=sep, dtype=object, skipinitialspace=True)
    except OSError as exc:  # an I/O error while reading
        raise InputFileError(
            f"cannot open '{p}' ({exc.strerror or exc}); give a readable CSV or XLSX file"
        ) from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        reason = " ".join(str(exc).split())[:160]
        raise InputFileError(
            f"cannot read '{p}' as CSV ({reason}); check the file is a CSV table"
        ) from exc


def _read_table(p: Path, encoding: str | None) -> pd.DataFrame:
    head = _head(p)
    if p.suffix.lower() in _EXCEL_SUFFIXES:
        return _read_excel(p, head)
    encodings = text_encodings(head, encoding)
    last: Exception | None = None
    for enc in encodings:
        try:
            df = _read_text_table(p, enc)
        except UnicodeError as exc:  # UnicodeDecodeError, or a UTF-16 file cut mid-character
            last = exc
            continue
        except LookupError as exc:
            raise ConfigError(
                f"encoding {enc!r} is not known (reading '{p}'); give one such as utf-8, gbk, "
                "gb18030 or utf-16"
            ) from exc
        logger.debug("%s read with encoding %s", p.name, enc)
        return df
    reason = " ".join(str(last).split())[:120]
    raise InputFileError(
        f"cannot decode '{p}' with {', '.join(encodings)} ({reason}); give its encoding with "
        "--encoding (e.g. --encoding gbk), or save it as UTF-8 CSV"
    )


def _check_unique_ids(ids: pd.Series, p: Path, kind: str) -> None:
    """Refuse a table whose ids repeat (ids key every output table)."""
    text = ids.astype(str).str.strip()
    dup = text[text.duplicated(keep=False)]
    if len(dup):
        shown = sorted(dup.unique())[:5]
        raise InvalidValueError(
            f"'{p}' has duplicate id values {shown} in its id column; give every row of "
            f"{kind} its own id (or drop the id column to number the rows 1..n)"
        )


#: Population cells read as "unknown" (estimated later from the raster).
_MISSING_TEXT = ("", "nan", "na", "n/a", "none", "null", "-", "—")


_PEOPLE = re.compile(r"^([+-]?[0-9][0-9,，]*(?:\.[0-9]*)?|[+-]?\.[0-9]+)\s*(万|千)?\s*人?$")


def people_count(value: Any) -> float:
    """A number of people written as a table cell: ``1234``, ``1,234``, ``1.2万``, ``800人``.

    Parameters
    ----------
    value
        The cell (a number or text; thousands separators ``,``/``，`` and the
        Chinese multipliers 万 (10,000) and 千 (1,000) are understood).

    Returns
    -------
    float
        The number, or NaN when the cell is not one (e.g. ``'many'``).
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return float("nan")
    text = unicodedata.normalize("NFKC", str(value)).strip()
    m = _PEOPLE.match(text)
    if m is None:
        try:
            return float(text.replace(",", ""))  # 1e3 and the like
        except ValueError:
            return float("nan")
    number = float(re.sub(r"[,，]", "", m.group(1)))
    return number * {"万": 10_000.0, "千": 1_000.0}.get(m.group(2) or "", 1.0)


def _population_column(gdf: pd.DataFrame, p: Path) -> pd.Series:
    """Parse the population column: numbers ≥ 0, blanks = unknown (NaN); refuse the rest."""
    raw = gdf["population"]
    text = raw.astype(str).str.strip()
    missing = raw.isna().to_numpy() | text.str.lower().isin(_MISSING_TEXT).to_numpy()
    values = text.where(~missing).map(people_count).astype("float64")
    ids = gdf["id"].astype(str).to_numpy()
    bad = (~missing) & ~np.isfinite(values.to_numpy())
    if bad.any():
        examples = [
            f"{i}: {v!r}" for i, v in zip(ids[bad][:5], raw.to_numpy()[bad][:5], strict=True)
        ]
        raise InvalidValueError(
            f"'{p}' column population has values that are not numbers ({', '.join(examples)}); "
            "write a number of people, or leave the cell empty to have it estimated"
        )
    negative = values.to_numpy() < 0
    if negative.any():
        examples = [
            f"{i}: {v:g}" for i, v in zip(ids[negative][:5], values[negative][:5], strict=True)
        ]
        raise InvalidValueError(
            f"'{p}' column population has negative values ({', '.join(examples)}); "
            "correct them, or leave the cells empty to have them estimated"
        )
    if missing.any():
        logger.info("%s: %d rows without population (to be estimated)", p.name, missing.sum())
    return pd.Series(values.to_numpy(), index=gdf.index, dtype="float64")


def read_points(
    path: str | Path,
    *,
    kind: str = "facilities",
    columns: dict[str, str] | None = None,
    coords: str = "wgs84",
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """Read facility or village points from a table or a vector file.

    Parameters
    ----------
    path
        CSV or XLSX with longitude/latitude columns, or a GeoPackage/Shapefile/
        GeoJSON of points. Chinese and English headers are recognised (名称/name,
        经度/lon/lng/longitude, 纬度/lat/latitude, 类型/type/tier, 人口/population,
        乡镇/township, 卫生室/clinic, 编码/code/id).
    kind
        ``'facilities'`` or ``'villages'`` (only used in messages and logs).
    columns
        Explicit mapping canonical name → source column, e.g.
        ``{"lon": "X坐标", "lat": "Y坐标"}``; overrides the recognition.
    coords
        Coordinate system of table coordinates: ``wgs84``/``cgcs2000``,
        ``gcj02`` (Amap, Tencent) or ``bd09`` (Baidu); converted to WGS84.
    encoding
        CSV text encoding; default tries UTF-8 (with or without BOM), then
        GB18030 (a superset of GBK/GB2312).

    Returns
    -------
    geopandas.GeoDataFrame
        ``id`` (from the file or ``1..n``), ``name`` and the other recognised
        columns under their canonical names, plus any other column unchanged;
        Point geometry in EPSG:4326.

    Raises
    ------
    InputFileError
        Missing or unreadable file.
    MissingColumnError
        No recognisable longitude/latitude columns.
    InvalidValueError
        Non-numeric or out-of-range coordinates, including swapped lon/lat.
    EmptyInputError
        No rows.
    CRSError
        A vector file without CRS, or an unknown ``coords``.
    """
    if kind not in _POINT_KINDS:
        raise InvalidValueError(f"kind={kind!r} is not one of {', '.join(_POINT_KINDS)}")
    p = _existing(path, kind, f"give a CSV/XLSX with lon/lat columns or a point layer of {kind}")
    if p.suffix.lower() in (".csv", ".txt", ".xlsx", ".xlsm", ".xls"):
        gdf = _points_from_table(p, kind, columns, coords, encoding)
    else:
        gdf = _points_from_layer(p, kind, columns, coords)
    gdf = _canonical_points(gdf, p, kind)
    logger.info("%s: %d %s", p.name, len(gdf), kind)
    return gdf


def _table_lonlat(df: pd.DataFrame, p: Path) -> tuple[np.ndarray, np.ndarray]:
    """The ``lon``/``lat`` columns as degrees, refusing missing, non-numeric or swapped values."""
    missing = [c for c in ("lon", "lat") if c not in df.columns]
    if missing:
        titled = any(str(c).startswith("Unnamed:") for c in df.columns)
        raise MissingColumnError(
            f"'{p}' has no {' or '.join(missing)} column "
            f"(columns: {', '.join(shown_path(c, 40) for c in df.columns[:12])}"
            f"{', …' if len(df.columns) > 12 else ''}); "
            + (
                "the first row looks like a title or merged header cells: keep one header "
                "row (the column names) at the top"
                if titled
                else "name them 经度/纬度 or lon/lat, or pass columns={'lon': ..., 'lat': ...}"
            )
        )
    lon = pd.to_numeric(df["lon"], errors="coerce").to_numpy(dtype="float64")
    lat = pd.to_numeric(df["lat"], errors="coerce").to_numpy(dtype="float64")
    bad = ~(np.isfinite(lon) & np.isfinite(lat))
    if bad.any():
        rows = (np.flatnonzero(bad)[:5] + 2).tolist()
        raise InvalidValueError(
            f"'{p}' has {int(bad.sum())} rows without numeric lon/lat (file lines {rows}); "
            "fill or remove them"
        )
    if (np.abs(lat) > 90).any():
        swapped = bool(np.all(np.abs(lon) <= 90))
        raise InvalidValueError(
            f"'{p}' has latitudes beyond ±90"
            + (
                "; longitude and latitude look swapped: exchange the lon/lat columns "
                "(or pass columns={'lon': <lat col>, 'lat': <lon col>})"
                if swapped
                else "; check the coordinates are degrees (projected x/y in metres? convert "
                "them to longitude/latitude first)"
            )
        )
    if (np.abs(lon) > 180).any():
        raise InvalidValueError(
            f"'{p}' has longitudes beyond ±180; coordinates must be decimal degrees "
            "(projected x/y? convert them first)"
        )
    return lon, lat


def _points_from_table(
    p: Path, kind: str, columns: dict[str, str] | None, coords: str, encoding: str | None
) -> gpd.GeoDataFrame:
    """Points of a CSV/XLSX table: canonical column names, lon/lat converted to WGS84."""
    df = _read_table(p, encoding)
    if len(df) == 0:
        raise EmptyInputError(f"'{p}' has no rows; give a table with at least one row of {kind}")
    df = df.rename(columns=_canonical_columns(list(df.columns), columns))
    lon, lat = to_wgs84(*_table_lonlat(df, p), coords)
    return gpd.GeoDataFrame(
        df.drop(columns=["lon", "lat"]), geometry=gpd.points_from_xy(lon, lat), crs=WGS84
    )


def _check_layer_geometries(gdf: gpd.GeoDataFrame, p: Path) -> None:
    """Refuse missing, empty or invalid geometries, naming the first rows."""
    geoms = np.asarray(gdf.geometry.values)
    for bad, what, fix in (
        (
            shapely.is_missing(geoms) | shapely.is_empty(geoms),
            "missing or empty geometries",
            "give every feature a location or delete those rows",
        ),
        (
            ~shapely.is_valid(geoms) & ~shapely.is_missing(geoms),
            "invalid geometries",
            "repair them (e.g. shapely.make_valid or QGIS 'Fix geometries')",
        ),
    ):
        if bad.any():
            rows = (
                gdf["id"].astype(str)[bad].tolist()
                if "id" in gdf.columns
                else (np.flatnonzero(bad) + 1).tolist()
            )
            raise InvalidValueError(f"'{p}' has {int(bad.sum())} {what} (rows {rows[:5]}); {fix}")


def _points_from_layer(
    p: Path, kind: str, columns: dict[str, str] | None, coords: str
) -> gpd.GeoDataFrame:
    """Points of a vector layer: canonical column names, representative points, WGS84."""
    gdf = _read_vector(p, kind)
    gdf = gdf.rename(
        columns=_canonical_columns([c for c in gdf.columns if c != "geometry"], columns)
    )
    _check_layer_geometries(gdf, p)
    if not gdf.geom_type.isin(["Point", "MultiPoint"]).all():
        logger.info("%s: non-point geometries replaced by representative points", p.name)
        gdf["geometry"] = gdf.geometry.representative_point()
    gdf = gdf.to_crs(WGS84)
    if coords.lower().replace("-", "") not in ("wgs84", "cgcs2000"):
        x, y = to_wgs84(gdf.geometry.x, gdf.geometry.y, coords)
        gdf["geometry"] = gpd.points_from_xy(x, y)
        gdf = gdf.set_crs(WGS84, allow_override=True)
    return gdf


def _canonical_points(gdf: gpd.GeoDataFrame, p: Path, kind: str) -> gpd.GeoDataFrame:
    """``id`` (checked unique, else 1..n) and ``name`` first, then the recognised columns."""
    for col in ("id", "name", "township"):  # text cells lose outer white space, keep the rest
        if col in gdf.columns:
            gdf[col] = gdf[col].map(lambda v: v.strip() if isinstance(v, str) else v)
    if "id" not in gdf.columns:
        gdf.insert(0, "id", np.arange(1, len(gdf) + 1))
    else:
        _check_unique_ids(gdf["id"], p, kind)
    if "name" not in gdf.columns:
        gdf["name"] = None
    if "population" in gdf.columns:
        gdf["population"] = _population_column(gdf, p)
    if kind == "facilities":
        _facility_attributes(gdf, p)
    front = ["id", "name"] + [
        c
        for c in POINT_COLUMN_ALIASES
        if c in gdf.columns and c not in ("id", "name", "lon", "lat")
    ]
    rest = [c for c in gdf.columns if c not in front and c != "geometry"]
    return gdf[[*front, *rest, "geometry"]].reset_index(drop=True)


def _facility_attributes(gdf: gpd.GeoDataFrame, p: Path) -> None:
    """Parse a facility table's standard status (bool), beds and staff (float) in place."""
    if "meets_standard" in gdf.columns:
        gdf["meets_standard"] = standard_from_values(gdf["meets_standard"], source=p)
    for col in ("beds", "staff"):
        if col in gdf.columns:
            gdf[col] = count_from_values(gdf[col], gdf["id"].astype(str), column=col, source=p)


__all__ = [
    "CLINIC_STATUS_SYNONYMS",
    "POINT_COLUMN_ALIASES",
    "STANDARD_SYNONYMS",
    "PopulationGrid",
    "buffered_boundary",
    "check_buffer_m",
    "clinic_status_from_values",
    "column_of",
    "count_from_values",
    "people_count",
    "population_checks",
    "read_boundary",
    "read_points",
    "read_population",
    "read_roads",
    "shown_path",
    "sniff_separator",
    "standard_from_values",
    "text_encodings",
    "usable_path",
    "window_bytes",
]
