"""Read OpenStreetMap extracts (``.osm.pbf``, ``.osm``, ``.osm.bz2``) with pyosmium.

The readers share one pass style (:class:`osmium.FileProcessor` with node
locations, geometries built by :class:`osmium.geom.WKBFactory`):

- :func:`roads_from_osm`: ways with a road/path ``highway`` class;
- :func:`roads_and_places_from_osm` (:func:`iter_roads_and_places` in chunks):
  those roads and the named ``place`` nodes in the same pass;
- :func:`features_from_osm`: nodes and way centroids carrying given tag keys
  (health facilities, places);
- :func:`admin_areas_from_osm`: boundary relations/closed ways of an
  ``admin_level`` as (multi)polygons.

Each returns an EPSG:4326 GeoDataFrame. A bounding box ``(west, south, east,
north)`` filters early (a way is kept if any of its nodes falls inside).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from coverkit import settings
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


#: ``place`` values read as settlements by :func:`roads_and_places_from_osm`
#: (villages, hamlets and the like, down to a single dwelling, and the urban
#: ones a village name can also be mapped as).
PLACE_CLASSES: frozenset[str] = frozenset(
    {
        "village",
        "hamlet",
        "isolated_dwelling",
        "locality",
        "neighbourhood",
        "suburb",
        "quarter",
        "town",
        "city",
    }
)

#: One road way as read: OSM id, ``highway``, ``maxspeed``, ``name``, WKB line
#: (hex text or bytes, as pyosmium gives it).
_RoadRecord = tuple[int, str, str | None, str | None, str | bytes]
#: One place node: OSM id, name, ``place``, lon, lat.
_PlaceRecord = tuple[int, str, str, float, float]


def _road_record(way: Any, line: Any, errors: tuple[type, ...]) -> _RoadRecord | None:
    """The record of a road way, or ``None`` for one that is not a road or has no line.

    ``line`` is a WKB factory's ``create_linestring`` and ``errors`` what it raises
    for a way without a line (called once per way: nothing is looked up here).
    The bounding box is tested later, on a batch of lines at once (:func:`_roads_in_bbox`).
    """
    tags = way.tags
    cls = tags.get("highway")
    if cls not in ROAD_CLASSES or tags.get("area") == "yes":
        return None
    try:  # fewer than two distinct node locations: RuntimeError, as a missing one
        g = line(way)
    except errors:
        return None
    return (way.id, cls, tags.get("maxspeed"), tags.get("name"), g)


def _roads_in_bbox(recs: list[_RoadRecord], bbox: BBox | None) -> list[tuple]:
    """The records of the ways with a node in ``bbox``, their lines built (shapely).

    One vectorised test over the batch's vertices: the line's vertices are the
    way's node locations (consecutive duplicates dropped, which cannot change
    whether one lies inside), so the result is the per-node test's.
    """
    if not recs:
        return []
    # GEOS reads binary WKB about 4x faster than the hex text pyosmium gives
    geoms = shapely.from_wkb([bytes.fromhex(r[4]) if isinstance(r[4], str) else r[4] for r in recs])
    keep = np.ones(len(recs), dtype=bool)
    if bbox is not None:
        w, s, e, n = bbox
        xy, index = shapely.get_coordinates(geoms, return_index=True)
        inside = (xy[:, 0] >= w) & (xy[:, 0] <= e) & (xy[:, 1] >= s) & (xy[:, 1] <= n)
        keep[:] = False
        keep[index[inside]] = True
    return [(*r[:4], g) for r, g, k in zip(recs, geoms, keep, strict=True) if k]


def _place_record(node: Any, bbox: BBox | None) -> _PlaceRecord | None:
    """The record of a named place node, or ``None`` for one that is not kept."""
    tags = node.tags
    cls = tags.get("place")
    name = tags.get("name:zh") or tags.get("name")
    if cls not in PLACE_CLASSES or not name or not node.location.valid():
        return None
    lon, lat = node.location.lon, node.location.lat
    if not _in_bbox(np.array([lon]), np.array([lat]), bbox):
        return None
    return (node.id, name, cls, lon, lat)


def _road_frame(recs: list[tuple]) -> gpd.GeoDataFrame:
    """The kept road records (:func:`_roads_in_bbox`) as :func:`roads_from_osm` returns them."""
    ids, hw, ms, names, geoms = (list(c) for c in zip(*recs, strict=True)) if recs else ([],) * 5
    lines = np.empty(len(geoms), dtype=object)
    lines[:] = geoms
    gdf = gpd.GeoDataFrame(
        {
            "id": np.asarray(ids, dtype="int64"),
            "highway": pd.Series(hw, dtype="object"),
            "maxspeed": pd.Series(ms, dtype="object"),
            "name": pd.Series(names, dtype="object"),
        },
        geometry=gpd.GeoSeries(lines, crs=4326).values,
        crs="EPSG:4326",
    )
    return gdf.sort_values("id", kind="stable").reset_index(drop=True)


def _place_frame(recs: list[_PlaceRecord]) -> gpd.GeoDataFrame:
    """The place records as the frame :func:`roads_and_places_from_osm` returns."""
    ids, names, cls, lons, lats = (list(c) for c in zip(*recs, strict=True)) if recs else ([],) * 5
    gdf = gpd.GeoDataFrame(
        {
            "id": np.asarray(ids, dtype="int64"),
            "name": pd.Series(names, dtype="object"),
            "place": pd.Series(cls, dtype="object"),
        },
        geometry=shapely.points(np.asarray(lons, float), np.asarray(lats, float))
        if recs
        else gpd.GeoSeries([], crs=4326).values,
        crs="EPSG:4326",
    )
    return gdf.sort_values("id", kind="stable").reset_index(drop=True)


def iter_roads_and_places(
    path: str | Path,
    *,
    bbox: BBox | None = None,
    places: bool = True,
    chunk_size: int | None = None,
) -> Iterator[tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]]:
    """Read road ways and place nodes in ONE pass, in chunks of at most ``chunk_size``.

    Only the kept features are held (plus pyosmium's node-location index), so a
    country extract can be split chunk by chunk (see :mod:`coverkit.osm_split`).

    Parameters
    ----------
    path
        OSM extract.
    bbox
        ``(west, south, east, north)``: a way is kept if any node is inside, a
        place if its point is.
    places
        Read the place nodes too (``False``: roads only, the places frames are empty).
    chunk_size
        Features (roads plus places) per yielded pair; ``None``: one pair for the file.

    Yields
    ------
    tuple of GeoDataFrame
        ``(roads, places)`` as :func:`roads_and_places_from_osm` returns them;
        at least one pair (empty frames for an extract with nothing kept).

    Raises
    ------
    InputFileError
        If the file is missing or unreadable.
    """
    import osmium

    p = _check(path)
    line = osmium.geom.WKBFactory().create_linestring
    errors = (osmium.InvalidLocationError, RuntimeError)
    roads: list[tuple] = []
    pending: list[_RoadRecord] = []  # roads whose bbox test is still to run
    found: list[_PlaceRecord] = []
    batch = max(1, settings.osm_bbox_batch_ways)
    kinds = osmium.osm.WAY | osmium.osm.NODE if places else osmium.osm.WAY
    keys = ("highway", "place") if places else ("highway",)
    try:
        fp = _processor(p, osmium.filter.EntityFilter(kinds), osmium.filter.KeyFilter(*keys))
        for obj in fp:
            if obj.is_way():
                rec = _road_record(obj, line, errors)
                if rec is not None:
                    pending.append(rec)
            elif places and obj.is_node():
                place = _place_record(obj, bbox)
                if place is not None:
                    found.append(place)
            if len(pending) >= batch or (
                chunk_size and len(roads) + len(pending) + len(found) >= chunk_size
            ):
                roads.extend(_roads_in_bbox(pending, bbox))
                pending = []
            if chunk_size and len(roads) + len(found) >= chunk_size:
                yield _road_frame(roads), _place_frame(found)
                roads, found = [], []
        roads.extend(_roads_in_bbox(pending, bbox))
    except (RuntimeError, ValueError, OSError) as exc:
        raise _open_error(p, exc) from exc
    logger.debug("%s: %d road ways and %d places in the last chunk", p.name, len(roads), len(found))
    yield _road_frame(roads), _place_frame(found)


def roads_and_places_from_osm(
    path: str | Path, *, bbox: BBox | None = None
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Read the road ways and the place nodes of an OSM extract in one pass.

    Parameters
    ----------
    path
        ``.osm.pbf``, ``.osm`` or ``.osm.bz2`` file.
    bbox
        ``(west, south, east, north)`` in degrees; ways with no node inside and
        places outside are skipped. ``None`` keeps everything.

    Returns
    -------
    tuple of GeoDataFrame
        The roads as :func:`roads_from_osm` returns them, and the places:
        ``id`` (OSM node id, int64), ``name`` (``name:zh``, else ``name``;
        unnamed places are left out), ``place`` (one of :data:`PLACE_CLASSES`)
        and ``geometry`` (Point), EPSG:4326, sorted by ``id``.

    Raises
    ------
    InputFileError
        If the file is missing or unreadable.
    """
    ((roads, places),) = iter_roads_and_places(path, bbox=bbox)
    return roads, places


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
    ((roads, _places),) = iter_roads_and_places(path, bbox=bbox, places=False)
    return roads


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
    "PLACE_CLASSES",
    "ROAD_CLASSES",
    "BBox",
    "admin_areas_from_osm",
    "features_from_osm",
    "is_osm_file",
    "iter_roads_and_places",
    "roads_and_places_from_osm",
    "roads_from_osm",
]
