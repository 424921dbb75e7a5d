"""Read OpenStreetMap extracts (``.osm.pbf``, ``.osm``, ``.osm.bz2``) with pyosmium.

Three readers share one pass style (:class:`osmium.FileProcessor` with node
locations, geometries built by :class:`osmium.geom.WKBFactory`):

- :func:`roads_from_osm`: ways with a road/path ``highway`` class;
- :func:`features_from_osm`: nodes and way centroids carrying given tag keys
  (health facilities, places);
- :func:`admin_areas_from_osm`: boundary relations/closed ways of an
  ``admin_level`` as (multi)polygons.

Each returns an EPSG:4326 GeoDataFrame. A bounding box ``(west, south, east,
north)`` filters early (a way is kept if any of its nodes falls inside).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from coverkit.errors import InputFileError

logger = logging.getLogger(__name__)

#: ``highway`` values kept as roads or paths (with the ``_link`` variants of
#: the main classes). Everything else (``proposed``, ``construction``,
#: ``abandoned``, ``platform``, ``raceway``, ``bus_stop``...) is skipped.
ROAD_CLASSES: frozenset[str] = frozenset(
    {
        "motorway",
        "trunk",
        "primary",
        "secondary",
        "tertiary",
        "motorway_link",
        "trunk_link",
        "primary_link",
        "secondary_link",
        "tertiary_link",
        "unclassified",
        "residential",
        "living_street",
        "service",
        "road",
        "track",
        "path",
        "footway",
        "pedestrian",
        "bridleway",
        "steps",
        "cycleway",
    }
)

#: File name endings of the OSM extracts pyosmium reads.
OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.bz2", ".osm.gz", ".o5m")

#: A bounding box ``(west, south, east, north)`` in degrees.
BBox = tuple[float, float, float, float]


def is_osm_file(path: str | Path) -> bool:
    """True if the file name looks like an OSM extract pyosmium can read."""
    name = Path(path).name.lower()
    return any(name.endswith(s) for s in OSM_SUFFIXES)


def _check(path: str | Path) -> Path:
    """The path of an existing OSM file (a NUL byte or an over-long name refused in one line)."""
    text = str(path)
    shown = text.replace("\x00", "\\x00")
    shown = shown if len(shown) <= 120 else f"{shown[:59]}…{shown[-59:]}"
    if "\x00" in text:
        raise InputFileError(f"OSM file path '{shown}' contains a NUL byte (\\x00); fix the path")
    p = Path(text)
    try:
        found = p.exists()
    except OSError as exc:  # ENAMETOOLONG: exists() hides only ENOENT and the like
        raise InputFileError(
            f"OSM file path '{shown}' cannot be used ({exc.strerror or exc}); give a shorter path"
        ) from exc
    if not found:
        raise InputFileError(
            f"OSM file '{shown}' does not exist; check the path (download extracts from "
            "https://download.geofabrik.de)"
        )
    return p


def _processor(path: Path, *filters: Any) -> Any:
    """A pyosmium file processor with node locations and the given filters."""
    import osmium

    fp = osmium.FileProcessor(str(path)).with_locations()
    for f in filters:
        fp = fp.with_filter(f)
    return fp


def _open_error(path: Path, exc: Exception) -> InputFileError:
    """The error for a file pyosmium cannot read."""
    return InputFileError(
        f"cannot read '{path}' as an OSM file ({exc}); give an .osm.pbf or .osm extract"
    )


def _in_bbox(lons: np.ndarray, lats: np.ndarray, bbox: BBox | None) -> bool:
    """True if any of the points lies in ``bbox`` (always when there is none)."""
    if bbox is None:
        return True
    w, s, e, n = bbox
    return bool(np.any((lons >= w) & (lons <= e) & (lats >= s) & (lats <= n)))


def roads_from_osm(path: str | Path, *, bbox: BBox | None = None) -> gpd.GeoDataFrame:
    """Read the road and path ways of an OSM extract.

    Parameters
    ----------
    path
        ``.osm.pbf``, ``.osm`` or ``.osm.bz2`` file.
    bbox
        ``(west, south, east, north)`` in degrees; ways with no node inside
        are skipped. ``None`` keeps every way.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``id`` (OSM way id, int64), ``highway``, ``maxspeed`` (raw tag
        text or ``None``), ``name`` and ``geometry`` (LineString), EPSG:4326,
        sorted by ``id``.

    Raises
    ------
    InputFileError
        If the file is missing or unreadable.
    """
    import osmium

    p = _check(path)
    wkb = osmium.geom.WKBFactory()
    ids: list[int] = []
    hw: list[str] = []
    ms: list[str | None] = []
    names: list[str | None] = []
    geoms: list[bytes] = []
    skipped = 0
    try:
        fp = _processor(
            p, osmium.filter.EntityFilter(osmium.osm.WAY), osmium.filter.KeyFilter("highway")
        )
        for way in fp:
            if not way.is_way():
                continue
            tags = way.tags
            cls = tags.get("highway")
            if cls not in ROAD_CLASSES or tags.get("area") == "yes":
                skipped += 1
                continue
            nodes = way.nodes
            if len(nodes) < 2:
                continue
            if bbox is not None:
                try:
                    lons = np.fromiter((n.lon for n in nodes), float, len(nodes))
                    lats = np.fromiter((n.lat for n in nodes), float, len(nodes))
                except osmium.InvalidLocationError:
                    continue
                if not _in_bbox(lons, lats, bbox):
                    continue
            try:
                g = wkb.create_linestring(way)
            except (osmium.InvalidLocationError, RuntimeError):
                skipped += 1
                continue
            ids.append(way.id)
            hw.append(cls)
            ms.append(tags.get("maxspeed"))
            names.append(tags.get("name"))
            geoms.append(bytes.fromhex(g) if isinstance(g, str) else g)
    except (RuntimeError, ValueError, OSError) as exc:
        raise _open_error(p, exc) from exc
    logger.debug("%s: %d road ways read, %d highway ways skipped", p.name, len(ids), skipped)
    gdf = gpd.GeoDataFrame(
        {
            "id": np.asarray(ids, dtype="int64"),
            "highway": pd.Series(hw, dtype="object"),
            "maxspeed": pd.Series(ms, dtype="object"),
            "name": pd.Series(names, dtype="object"),
        },
        geometry=shapely.from_wkb(geoms) if geoms else gpd.GeoSeries([], crs=4326).values,
        crs="EPSG:4326",
    )
    return gdf.sort_values("id", kind="stable").reset_index(drop=True)


def features_from_osm(
    path: str | Path,
    keys: dict[str, set[str] | None],
    *,
    bbox: BBox | None = None,
) -> gpd.GeoDataFrame:
    """Read point features (nodes, and centroids of closed ways) with given tags.

    Parameters
    ----------
    path
        OSM extract.
    keys
        Tag key → accepted values (``None`` accepts any value), e.g.
        ``{"amenity": {"hospital", "clinic"}, "healthcare": None}``. An object
        is kept if any key matches.
    bbox
        ``(west, south, east, north)`` filter on the point.

    Returns
    -------
    geopandas.GeoDataFrame
        ``osm_id`` (``"n123"``/``"w456"``), ``osm_type`` (``node``/``way``),
        ``name``, ``tags`` (dict of every tag) and ``geometry`` (Point),
        EPSG:4326, sorted by ``osm_id``.

    Raises
    ------
    InputFileError
        If the file is missing or unreadable.
    """
    import osmium

    p = _check(path)
    wkb = osmium.geom.WKBFactory()
    recs: list[tuple[str, str, str | None, dict[str, str], bytes]] = []

    def matches(tags: osmium.osm.TagList) -> bool:
        for k, vals in keys.items():
            v = tags.get(k)
            if v is not None and (vals is None or v in vals):
                return True
        return False

    try:
        fp = _processor(
            p,
            osmium.filter.EntityFilter(osmium.osm.NODE | osmium.osm.WAY),
            osmium.filter.KeyFilter(*keys.keys()),
        )
        for obj in fp:
            if not matches(obj.tags):
                continue
            tags = dict(obj.tags)
            if obj.is_node():
                if not obj.location.valid():
                    continue
                lon, lat = obj.location.lon, obj.location.lat
                geom = shapely.Point(lon, lat)
                kind, oid = "node", f"n{obj.id}"
            else:
                try:
                    line = shapely.from_wkb(wkb.create_linestring(obj))
                except (osmium.InvalidLocationError, RuntimeError):
                    continue
                coords = shapely.get_coordinates(line)
                if len(coords) >= 4 and np.allclose(coords[0], coords[-1]):
                    geom = shapely.Polygon(coords).centroid
                else:
                    geom = line.centroid
                kind, oid = "way", f"w{obj.id}"
            if bbox is not None and not _in_bbox(np.array([geom.x]), np.array([geom.y]), bbox):
                continue
            recs.append((oid, kind, tags.get("name"), tags, shapely.to_wkb(geom)))
    except (RuntimeError, ValueError, OSError) as exc:
        raise _open_error(p, exc) from exc
    df = pd.DataFrame(recs, columns=["osm_id", "osm_type", "name", "tags", "wkb"])
    gdf = gpd.GeoDataFrame(
        df.drop(columns="wkb"),
        geometry=shapely.from_wkb(df["wkb"].to_numpy()) if len(df) else [],
        crs="EPSG:4326",
    )
    return gdf.sort_values("osm_id", kind="stable").reset_index(drop=True)


def admin_areas_from_osm(
    path: str | Path, *, admin_level: str | int, bbox: BBox | None = None
) -> gpd.GeoDataFrame:
    """Read administrative areas (``boundary=administrative``) of one level.

    Parameters
    ----------
    path
        OSM extract (multipolygon relations are assembled by pyosmium's area
        handler, so the extract must hold the member ways).
    admin_level
        OSM ``admin_level`` (``4`` for provinces/islands, ``8`` for communes).
    bbox
        Optional filter on the area's representative point.

    Returns
    -------
    geopandas.GeoDataFrame
        ``osm_id`` (``"r123"``/``"w456"``), ``name``, ``ref``, ``admin_level``
        and ``geometry`` (MultiPolygon), EPSG:4326, sorted by ``osm_id``.

    Raises
    ------
    InputFileError
        If the file is missing or unreadable.
    EmptyInputError
        Never; an empty frame is returned when no area matches.
    """
    import osmium

    p = _check(path)
    level = str(admin_level)
    wkb = osmium.geom.WKBFactory()
    recs: list[tuple[str, str | None, str | None, str, bytes]] = []
    try:
        fp = (
            osmium.FileProcessor(str(p))
            .with_areas(osmium.filter.TagFilter(("boundary", "administrative")))
            .with_filter(osmium.filter.EntityFilter(osmium.osm.AREA))
            .with_filter(osmium.filter.TagFilter(("admin_level", level)))
        )
        for area in fp:
            if not area.is_area() or area.tags.get("boundary") != "administrative":
                continue
            try:
                g = wkb.create_multipolygon(area)
            except (osmium.InvalidLocationError, RuntimeError):
                logger.warning("%s: area %s could not be assembled", p.name, area.orig_id())
                continue
            oid = ("w" if area.from_way() else "r") + str(area.orig_id())
            recs.append((oid, area.tags.get("name"), area.tags.get("ref"), level, g))
    except (RuntimeError, ValueError, OSError) as exc:
        raise _open_error(p, exc) from exc
    df = pd.DataFrame(recs, columns=["osm_id", "name", "ref", "admin_level", "wkb"])
    geoms = shapely.from_wkb(df["wkb"].to_numpy()) if len(df) else []
    gdf = gpd.GeoDataFrame(df.drop(columns="wkb"), geometry=geoms, crs="EPSG:4326")
    if bbox is not None and len(gdf):
        rp = gdf.representative_point()
        w, s, e, n = bbox
        gdf = gdf[(rp.x >= w) & (rp.x <= e) & (rp.y >= s) & (rp.y <= n)]
    return gdf.sort_values("osm_id", kind="stable").reset_index(drop=True)


__all__ = [
    "OSM_SUFFIXES",
    "ROAD_CLASSES",
    "BBox",
    "admin_areas_from_osm",
    "features_from_osm",
    "is_osm_file",
    "roads_from_osm",
]
