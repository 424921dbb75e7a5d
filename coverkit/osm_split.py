"""Split an OSM extract into per-county pieces in one pass (issue 17, item 5).

A province run used to read the province ``.osm.pbf`` once per county (a bounding
box filter still scans the whole file). :func:`split_extract` reads it ONCE
(:func:`coverkit.osm.iter_roads_and_places`, chunk by chunk), gives each road line
and place point to every area (a county outline buffered by the road buffer) it
intersects, found with a shapely ``STRtree`` over the chunk queried by the prepared
areas, and writes per area ``roads.gpkg`` and ``places.gpkg`` (GeoPackage,
EPSG:4326) into ``folder/<key>/``.

Only one chunk of features (:data:`coverkit.settings.extract_split_chunk_features`)
is held at a time: each chunk's share of an area is appended at once to the
area's partial piece, moved in place when the pass ends.

The pieces are a cache: ``piece.json`` in each area's folder records the extract's
stamp (:func:`extract_stamp`: size, modification time and a hash of the first and
last MiB) and a hash of the area's geometry. A rerun reuses every piece whose
record matches and rebuilds the others (one pass for all of them). ``piece.json``
is written last and removed first, so a piece interrupted mid-write is rebuilt.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from coverkit import settings
from coverkit.atomic import atomic_path, make_folder
from coverkit.errors import InputFileError, OutputError
from coverkit.osm import iter_roads_and_places

logger = logging.getLogger(__name__)

#: Version of the piece layout; part of every piece's key.
PIECE_VERSION = 1
#: Bytes hashed at each end of the extract for its stamp.
STAMP_BYTES = 1 << 20
#: The file names of an area's pieces (GeoPackage: GeoParquet would need pyarrow,
#: which turns pandas 3's ``str`` dtype into Arrow strings everywhere).
ROADS_FILE, PLACES_FILE, RECORD_FILE = "roads.gpkg", "places.gpkg", "piece.json"
#: A piece being written, chunk by chunk (moved in place when complete).
PARTIAL = ".partial-{}"


def extract_stamp(path: str | Path) -> str:
    """A stamp of an extract: changes when the file is replaced or edited.

    Parameters
    ----------
    path
        The extract.

    Returns
    -------
    str
        Hex sha256 over the size, the modification time (ns) and the first and
        last :data:`STAMP_BYTES` bytes (reading all of a 1.2 GB file would cost
        what the split saves).

    Raises
    ------
    InputFileError
        The file cannot be read.
    """
    p = Path(path)
    try:
        st = p.stat()
        h = hashlib.sha256(f"{st.st_size}:{st.st_mtime_ns}:".encode())
        with p.open("rb") as fh:
            h.update(fh.read(STAMP_BYTES))
            if st.st_size > STAMP_BYTES:
                fh.seek(max(st.st_size - STAMP_BYTES, STAMP_BYTES))
                h.update(fh.read(STAMP_BYTES))
    except OSError as exc:
        raise InputFileError(
            f"cannot read the OSM extract '{p}' ({exc.strerror or exc}); check the path"
        ) from exc
    return h.hexdigest()


def _piece_key(stamp: str, area: shapely.Geometry) -> dict[str, object]:
    """The record that identifies an area's piece of one extract."""
    area_hash = hashlib.sha256(shapely.to_wkb(area, output_dimension=2)).hexdigest()
    return {"version": PIECE_VERSION, "extract": stamp, "area": area_hash}


def _is_current(folder: Path, key: dict[str, object]) -> bool:
    """True if ``folder`` holds complete pieces made with ``key``."""
    try:
        record = json.loads((folder / RECORD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    files = all((folder / f).is_file() for f in (ROADS_FILE, PLACES_FILE))
    return files and record == key


def _output_error(path: Path, exc: BaseException) -> OutputError:
    return OutputError(
        f"cannot write '{path}' ({getattr(exc, 'strerror', None) or exc}); check free space and "
        "permissions of the batch output folder"
    )


def _assign(geoms: np.ndarray, areas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(area index, geometry index)`` of every pair that intersects, by area then geometry."""
    if len(geoms) == 0 or len(areas) == 0:
        return np.empty(0, int), np.empty(0, int)
    tree = shapely.STRtree(geoms)
    a_idx, g_idx = tree.query(areas, predicate="intersects")  # the areas are prepared
    order = np.lexsort((g_idx, a_idx))
    return a_idx[order], g_idx[order]


def _append_parts(
    frame: gpd.GeoDataFrame, areas: np.ndarray, folders: list[Path], kind: str
) -> None:
    """Append each area's share of one chunk's frame to its partial piece of ``kind``."""
    import pyogrio

    a_idx, g_idx = _assign(frame.geometry.to_numpy(), areas)
    bounds = np.flatnonzero(np.r_[True, a_idx[1:] != a_idx[:-1], True]) if len(a_idx) else []
    for lo, hi in itertools.pairwise(bounds):
        target = folders[a_idx[lo]] / PARTIAL.format(kind)
        try:
            pyogrio.write_dataframe(
                frame.iloc[g_idx[lo:hi]],
                target,
                driver="GPKG",
                layer=Path(kind).stem,
                append=target.exists(),
            )
        except (OSError, pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            raise _output_error(target, exc) from exc


def _finish_piece(folder: Path, kind: str, empty: gpd.GeoDataFrame) -> None:
    """Move an area's partial piece of ``kind`` in place (an empty layer if it got nothing)."""
    import pyogrio

    partial, final = folder / PARTIAL.format(kind), folder / kind
    try:
        if not partial.exists():
            pyogrio.write_dataframe(empty, partial, driver="GPKG", layer=Path(kind).stem)
        os.replace(partial, final)
    except (OSError, pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise _output_error(final, exc) from exc


def _one_pass(path: Path, areas: Mapping[str, shapely.Geometry], folders: dict[str, Path]) -> None:
    """Read the extract once and write the pieces of ``areas``."""
    codes = list(areas)
    geoms = np.asarray([areas[c] for c in codes], dtype=object)
    targets = [folders[c] for c in codes]
    for f in targets:
        (f / RECORD_FILE).unlink(missing_ok=True)
        for kind in (ROADS_FILE, PLACES_FILE):
            (f / PARTIAL.format(kind)).unlink(missing_ok=True)
    chunk_size = int(settings.extract_split_chunk_features)
    empty: dict[str, gpd.GeoDataFrame] = {}
    for k, (roads, places) in enumerate(iter_roads_and_places(path, chunk_size=chunk_size)):
        empty = {ROADS_FILE: roads.iloc[0:0], PLACES_FILE: places.iloc[0:0]}
        _append_parts(roads, geoms, targets, ROADS_FILE)
        _append_parts(places, geoms, targets, PLACES_FILE)
        logger.info(
            "%s: chunk %d split (%d roads, %d places)", path.name, k, len(roads), len(places)
        )
    for f in targets:
        for kind in (ROADS_FILE, PLACES_FILE):
            _finish_piece(f, kind, empty[kind])


def split_extract(
    path: str | Path, areas: Mapping[str, shapely.Geometry], folder: str | Path
) -> dict[str, Path]:
    """Cut an OSM extract into one piece per area, reading it at most once.

    Parameters
    ----------
    path
        The OSM extract (``.osm.pbf`` …).
    areas
        Key (a county code) → area in EPSG:4326 degrees (the county outline
        buffered by the road buffer). A road line or place goes to every area it
        intersects.
    folder
        The cache folder; each area's pieces go to ``folder/<key>/``.

    Returns
    -------
    dict of str to Path
        Key → its folder, holding ``roads.gpkg`` (columns of
        :func:`coverkit.osm.roads_from_osm`) and ``places.gpkg`` (``id, name,
        place, geometry``). Pieces made earlier from the same extract and area are
        reused without reading the extract.

    Raises
    ------
    InputFileError
        The extract is missing or unreadable.
    OutputError
        A piece cannot be written.
    """
    p = Path(path)
    stamp = extract_stamp(p)
    folders = {code: Path(folder) / str(code) for code in areas}
    keys = {code: _piece_key(stamp, areas[code]) for code in areas}
    stale = {c: areas[c] for c in areas if not _is_current(folders[c], keys[c])}
    if not stale:
        logger.info("%s: the pieces of all %d areas are reused", p.name, len(areas))
        return folders
    for code in stale:
        make_folder(folders[code])
    _one_pass(p, stale, folders)
    for code in stale:
        try:
            with atomic_path(folders[code] / RECORD_FILE) as tmp:
                tmp.write_text(json.dumps(keys[code], sort_keys=True), encoding="utf-8")
        except OSError as exc:
            raise _output_error(folders[code] / RECORD_FILE, exc) from exc
    logger.info("%s: split into %d pieces (%d reused)", p.name, len(stale), len(areas) - len(stale))
    return folders


__all__ = [
    "PLACES_FILE",
    "ROADS_FILE",
    "extract_stamp",
    "split_extract",
]
