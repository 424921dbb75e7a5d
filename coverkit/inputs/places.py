"""Villages placed from OpenStreetMap places (issue 17).

Only about 5 % of the villages of the shipped NBS table have a point. Many of the
others have a namesake in OpenStreetMap: a ``place=village``/``hamlet`` node
named after the village. :func:`place_villages` places an NBS administrative
village (行政村) at such a place only when the match is unambiguous:

* **Names** are compared after :func:`normalise_village_name` on both sides:
  full-width forms folded (NFKC), white space and bracketed text removed, then
  the administrative suffixes (村民委员会, 村委会, 居委会, 社区, 嘎查, 村 …)
  stripped, so ``石门村委会`` (NBS) and ``石门村`` (OSM) are one name.
* **Places** are the OSM objects tagged ``place`` with a value of
  :data:`PLACE_KINDS` (settlements small enough to be a village or part of
  one; ``city`` is not among them), named by ``name:zh`` else ``name``, or
  the rows of a point file (``--places``). Same-name places closer than
  :data:`coverkit.settings.osm_place_duplicate_m` are one place (OSM often
  has a node and an area for one village).
* **Distance**: a candidate counts only within
  :data:`coverkit.settings.osm_village_max_km` of the village's township centre
  (the NBS/Amap point; a township without one: of the county outline) and
  inside the county (with :data:`coverkit.settings.village_outside_tolerance_m`
  of slack). Namesakes only beyond that are *too far*.
* **Uniqueness**: exactly one candidate must remain, and it must not also be
  the only candidate of another village of the county; otherwise the village
  is *ambiguous*.

Unmatched, ambiguous and too-far villages stay unplaced and are counted, never
guessed. Placed villages carry ``source='osm'``; the per-township match table
says how many villages were found where.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from coverkit import io, osm, settings
from coverkit.crs import WGS84, metric_crs
from coverkit.errors import EmptyInputError, InputFileError, MissingColumnError
from coverkit.inputs.model import VILLAGE_COLUMNS

logger = logging.getLogger(__name__)

#: OSM ``place`` values read as possible villages: those the extract reader keeps
#: (:data:`coverkit.osm.PLACE_CLASSES`) but ``city``. Villages, hamlets and single
#: farms (``isolated_dwelling``) are what NBS villages usually are in OSM;
#: ``locality`` (a named spot, often an abandoned or unmapped village),
#: ``neighbourhood``, ``suburb`` and ``quarter`` (villages swallowed by a town
#: are often mapped so) and ``town`` (a 村 that is a township seat) are kept too:
#: a name must still match exactly and uniquely.
PLACE_KINDS: frozenset[str] = osm.PLACE_CLASSES - {"city"}

#: Administrative suffixes stripped from village names, longest first.
NAME_SUFFIXES: tuple[str, ...] = tuple(
    sorted(
        (
            "村民委员会",
            "村委会",
            "居民委员会",
            "居委会",
            "社区居委会",
            "社区",
            "嘎查村民委员会",
            "嘎查委员会",
            "嘎查",
            "村",
        ),
        key=len,
        reverse=True,
    )
)

#: Columns of the match table, one row per township.
MATCH_COLUMNS: list[str] = [
    "township",
    "villages",
    "located_nbs",
    "matched_osm",
    "ambiguous",
    "too_far",
    "unmatched",
    "match_rate",
]

#: ``--places`` values that turn the matching off.
NO_PLACES = "none"

_BRACKETED = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|【[^【】]*】|〔[^〔〕]*〕")
_NOISE = re.compile(r"[\s()\[\]【】〔〕\"'“”‘’·・]+")
_PARQUET = (".parquet", ".geoparquet")


# --------------------------------------------------------------------------- names


def normalise_village_name(name: str) -> str:
    """A village name reduced to what distinguishes it.

    Full-width forms are folded (NFKC), bracketed text, white space, quotes
    and middle dots removed, then the administrative suffixes of
    :data:`NAME_SUFFIXES` stripped (longest first, again until none is left),
    always leaving at least one character.

    Parameters
    ----------
    name
        A village name (NBS or OSM).

    Returns
    -------
    str
        The normalised name; the name as given when nothing would remain (a
        name that is only a suffix, such as ``村``, keeps that suffix). Applying
        the function twice gives the same result.

    Examples
    --------
    >>> normalise_village_name("石门村委会")
    '石门'
    >>> normalise_village_name(" 石门村（东） ")
    '石门'
    >>> normalise_village_name("巴彦嘎查村民委员会")
    '巴彦'
    """
    text, previous = str(name), None
    while text != previous:  # until stable: removing noise may let characters compose anew
        previous, text = text, _normalised_once(text)
    return text


def _normalised_once(name: str) -> str:
    """One pass of :func:`normalise_village_name`."""
    text = unicodedata.normalize("NFKC", name)
    previous = None
    while previous != text:  # nested brackets lose one level per pass
        previous, text = text, _BRACKETED.sub("", text)
    text = unicodedata.normalize("NFKC", _NOISE.sub("", text))
    if not text:
        return name
    stripped = True
    while stripped:
        stripped = False
        for suffix in NAME_SUFFIXES:
            if text.endswith(suffix) and len(text) > len(suffix):
                text, stripped = text[: -len(suffix)], True
                break
    return text


# --------------------------------------------------------------------------- reading


def places_path(places: str | Path | None, roads: str | Path | None) -> str | Path | None:
    """The file places are read from: ``places`` if given, else an OSM ``roads`` extract.

    Parameters
    ----------
    places
        The ``--places`` file; ``'none'`` turns the matching off.
    roads
        The ``--roads`` input.

    Returns
    -------
    str or Path or None
        The file to read places from, or None (no matching).
    """
    if places is not None:
        return None if str(places).strip().lower() == NO_PLACES else places
    if roads is not None and osm.is_osm_file(roads):
        return roads
    return None


def _name_of(tags: dict) -> str:
    """The Chinese name of an OSM object: ``name:zh``, else ``name`` (empty: none)."""
    for key in ("name:zh", "name:zh-Hans", "name"):
        value = tags.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _osm_places(path: str | Path, bbox: osm.BBox | None) -> gpd.GeoDataFrame:
    feats = osm.features_from_osm(path, {"place": set(PLACE_KINDS)}, bbox=bbox)
    tags = feats["tags"] if len(feats) else pd.Series([], dtype=object)
    return gpd.GeoDataFrame(
        {
            "id": feats["osm_id"].astype(str).to_numpy(),
            "name": [_name_of(t) for t in tags],
            "place": [str(t.get("place", "")) for t in tags],
        },
        geometry=np.asarray(feats.geometry.values),
        crs=WGS84,
    )


def _parquet_places(p: Path) -> gpd.GeoDataFrame:
    """A GeoParquet point file (the province batch's per-county ``places.parquet``)."""
    try:
        gdf = gpd.read_parquet(p)
    except ImportError as exc:
        raise InputFileError(
            f"cannot read '{io.shown_path(p)}': GeoParquet needs the package pyarrow "
            "(pip install pyarrow); or give the places as GeoPackage/GeoJSON/CSV"
        ) from exc
    except (OSError, ValueError, TypeError, KeyError) as exc:
        reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise InputFileError(
            f"cannot read '{io.shown_path(p)}' as GeoParquet ({reason}); give a GeoParquet, "
            "GeoPackage, GeoJSON or CSV file of named places"
        ) from exc
    if gdf.crs is None:
        raise InputFileError(f"'{io.shown_path(p)}' has no CRS; write one (EPSG:4326)")
    name = io.column_of(gdf, "name", what="places")
    gdf = gdf.rename(columns={name: "name"}).to_crs(WGS84)
    if len(gdf) and not gdf.geom_type.isin(["Point"]).all():
        gdf["geometry"] = gdf.geometry.representative_point()
    if "id" not in gdf.columns:
        gdf["id"] = [f"p{i + 1}" for i in range(len(gdf))]
    return gdf


def _file_places(p: Path, coords: str, encoding: str | None) -> gpd.GeoDataFrame:
    """A point table or layer of named places (GeoParquet, GPKG, GeoJSON, CSV, XLSX)."""
    if p.suffix.lower() in _PARQUET:
        gdf = _parquet_places(p)
    else:
        gdf = io.read_points(p, kind="villages", coords=coords, encoding=encoding)
    if "name" not in gdf.columns or gdf["name"].isna().all():
        raise MissingColumnError(
            f"'{io.shown_path(p)}' has no name column (名称/name/村名); the places must be named "
            "to be matched to villages"
        )
    place = gdf["place"] if "place" in gdf.columns else pd.Series("", index=gdf.index)
    return gpd.GeoDataFrame(
        {
            "id": gdf["id"].astype(str).to_numpy(),
            "name": gdf["name"].map(lambda v: v.strip() if isinstance(v, str) else "").to_numpy(),
            "place": place.fillna("").astype(str).to_numpy(),
        },
        geometry=np.asarray(gdf.geometry.values),
        crs=WGS84,
    )


def read_places(
    path: str | Path,
    *,
    bbox: osm.BBox | None = None,
    coords: str = "wgs84",
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """Read named places from an OSM extract or a point file.

    Parameters
    ----------
    path
        An OSM extract (``.osm.pbf``, ``.osm`` …: the objects tagged ``place``
        with a value of :data:`PLACE_KINDS`, named by ``name:zh`` else
        ``name``), or a point file with a name column: GeoParquet (needs
        pyarrow), GeoPackage, GeoJSON, Shapefile, CSV or XLSX (as
        :func:`coverkit.io.read_points` reads them; an optional ``place``
        column is kept).
    bbox
        ``(west, south, east, north)``: only places inside are kept.
    coords
        Coordinate system of a CSV/XLSX file's coordinates.
    encoding
        Text encoding of a CSV file (default: recognised).

    Returns
    -------
    geopandas.GeoDataFrame
        ``id, name, place, geometry`` (points, EPSG:4326), named places only,
        sorted by ``id``.

    Raises
    ------
    InputFileError, MissingColumnError, InvalidValueError, CRSError
        One line naming the file and the fix.
    """
    if osm.is_osm_file(path):
        gdf = _osm_places(path, bbox)
    else:
        p = io.usable_path(path, "places file")
        if not p.is_file():
            raise InputFileError(
                f"places file '{io.shown_path(p)}' does not exist; give an OSM extract or a "
                "GeoParquet/GeoPackage/GeoJSON/CSV file of named places (--places)"
            )
        try:
            gdf = _file_places(p, coords, encoding)
        except EmptyInputError as exc:
            if p.suffix.lower() != ".gpkg":  # a table with no row is a wrong file
                raise EmptyInputError(
                    f"places file '{io.shown_path(p)}' has no rows; give a table with at "
                    "least one named place and its coordinates (--places), or --places none"
                ) from exc
            # a layer with no feature: a province piece of a county no place lies in
            gdf = gpd.GeoDataFrame({"id": [], "name": [], "place": []}, geometry=[], crs=WGS84)
    geoms = np.asarray(gdf.geometry.values)
    keep = (gdf["name"] != "").to_numpy() & ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    if bbox is not None:
        w, s, e, n = bbox
        x, y = shapely.get_x(geoms), shapely.get_y(geoms)
        keep &= (x >= w) & (x <= e) & (y >= s) & (y <= n)
    out = gdf[keep].sort_values("id", kind="stable").reset_index(drop=True)
    logger.info("%s: %d named places", io.shown_path(path), len(out))
    return out[["id", "name", "place", "geometry"]]


# --------------------------------------------------------------------------- matching


def _distinct_places(
    places: gpd.GeoDataFrame, metric: object, duplicate_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalised names, metric x/y and row positions of the places, one per namesake cluster.

    A place whose normalised name equals that of a place kept before it (in ``id``
    order) and lies within ``duplicate_m`` of it is the same place and is dropped.
    """
    keys = np.array([normalise_village_name(n) for n in places["name"]], dtype=object)
    xy = shapely.get_coordinates(places.to_crs(metric).geometry.values)
    keep: list[int] = []
    kept_by_key: dict[str, list[int]] = {}
    for i in range(len(places)):
        same = kept_by_key.setdefault(keys[i], [])
        if same and np.min(np.hypot(*(xy[same] - xy[i]).T)) <= duplicate_m:
            continue
        same.append(i)
        keep.append(i)
    rows = np.asarray(keep, dtype=int)
    return keys[rows], xy[rows].reshape(-1, 2), rows


def _statuses(
    keys: list[str],
    centre_xy: list[np.ndarray | None],
    place_keys: np.ndarray,
    place_xy: np.ndarray,
    inside: np.ndarray,
    max_m: float,
) -> tuple[list[str], np.ndarray]:
    """Each village's status (matched/ambiguous/too_far/unmatched) and its place (-1: none)."""
    by_key: dict[str, list[int]] = {}
    for j, k in enumerate(place_keys):
        by_key.setdefault(k, []).append(j)
    status: list[str] = []
    choice = np.full(len(keys), -1, dtype=int)
    for i, key in enumerate(keys):
        cands = np.asarray(by_key.get(key, []), dtype=int)
        if len(cands) == 0:
            status.append("unmatched")
            continue
        ok = inside[cands]
        if centre_xy[i] is not None:
            ok &= np.hypot(*(place_xy[cands] - centre_xy[i]).T) <= max_m
        n = int(ok.sum())
        status.append("too_far" if n == 0 else "ambiguous" if n > 1 else "matched")
        if n == 1:
            choice[i] = int(cands[ok][0])
    claimed, claims = np.unique(choice[choice >= 0], return_counts=True)
    for i in np.flatnonzero(np.isin(choice, claimed[claims > 1])):  # one place, two villages
        status[i], choice[i] = "ambiguous", -1
    return status, choice


def _match_table(
    located: gpd.GeoDataFrame, unlocated: pd.DataFrame, status: list[str], order: list[str]
) -> pd.DataFrame:
    """One row per township with a village: the :data:`MATCH_COLUMNS`."""
    looked = pd.DataFrame({"township": unlocated["township"].to_numpy(), "status": status})
    names = list(dict.fromkeys([*order, *located["township"], *looked["township"]]))
    rows = []
    for t in names:
        mine = looked.loc[looked["township"] == t, "status"]
        n_nbs = int((located["township"] == t).sum())
        if n_nbs + len(mine) == 0:
            continue
        counts = {s: int((mine == s).sum()) for s in ("matched", "ambiguous", "too_far")}
        matched = counts["matched"]
        rows.append(
            {
                "township": str(t),
                "villages": n_nbs + len(mine),
                "located_nbs": n_nbs,
                "matched_osm": matched,
                "ambiguous": counts["ambiguous"],
                "too_far": counts["too_far"],
                "unmatched": int((mine == "unmatched").sum()),
                "match_rate": matched / len(mine) if len(mine) else np.nan,
            }
        )
    return pd.DataFrame(rows, columns=MATCH_COLUMNS).astype(
        dict.fromkeys(MATCH_COLUMNS[1:-1], "int64") | {"match_rate": "float64"}
    )


def place_villages(
    unlocated: pd.DataFrame,
    located: gpd.GeoDataFrame,
    places: gpd.GeoDataFrame,
    centres: gpd.GeoDataFrame,
    boundary: gpd.GeoDataFrame,
    *,
    max_km: float | None = None,
    duplicate_m: float | None = None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Place the villages without a point at uniquely matching OSM places.

    Parameters
    ----------
    unlocated
        The administrative villages without a point: ``id, name, township``.
    located
        The villages with a point (the :data:`~coverkit.inputs.model.VILLAGE_COLUMNS`;
        a missing ``source`` becomes ``'nbs'``); kept as they are.
    places
        Named places (:func:`read_places`): ``name, geometry``.
    centres
        Township centres: ``name, geometry`` (points, EPSG:4326). A township
        without one is measured against the county outline instead.
    boundary
        The county (EPSG:4326).
    max_km
        Farthest a place may lie from its township centre, km; default
        :data:`coverkit.settings.osm_village_max_km`.
    duplicate_m
        Same-name places closer than this are one place, metres; default
        :data:`coverkit.settings.osm_place_duplicate_m`.

    Returns
    -------
    villages : geopandas.GeoDataFrame
        ``located`` and the placed villages (``source='osm'``, ``population``
        NaN, ``clinic='none'``, the NBS code and name), sorted by ``id``.
    matching : pandas.DataFrame
        One row per township with a village: :data:`MATCH_COLUMNS`. ``villages =
        located_nbs + matched_osm + ambiguous + too_far + unmatched``;
        ``match_rate = matched_osm / (villages - located_nbs)`` (NaN: none to place).
    """
    max_m = 1000.0 * float(settings.osm_village_max_km if max_km is None else max_km)
    dup_m = float(settings.osm_place_duplicate_m if duplicate_m is None else duplicate_m)
    metric = metric_crs(boundary)
    located = located.assign(source=located.get("source", "nbs"))
    keys = [normalise_village_name(n) for n in unlocated["name"]]
    place_keys, place_xy, rows = _distinct_places(places, metric, dup_m)
    area = shapely.buffer(
        boundary.to_crs(metric).geometry.union_all(), float(settings.village_outside_tolerance_m)
    )
    inside = shapely.contains_xy(area, place_xy[:, 0], place_xy[:, 1])
    cxy = dict(
        zip(
            centres["name"].astype(str),
            shapely.get_coordinates(centres.to_crs(metric).geometry.values),
            strict=True,
        )
    )
    centre_xy = [cxy.get(str(t)) for t in unlocated["township"]]
    status, choice = _statuses(keys, centre_xy, place_keys, place_xy, inside, max_m)
    hit = choice >= 0
    chosen = places.geometry.values[rows[choice[hit]]] if hit.any() else []
    placed = gpd.GeoDataFrame(
        {
            "id": unlocated["id"].astype(str).to_numpy()[hit],
            "name": unlocated["name"].astype(str).to_numpy()[hit],
            "township": unlocated["township"].to_numpy(dtype=object)[hit],
            "population": np.nan,
            "clinic": "none",
            "source": "osm",
        },
        geometry=np.asarray(chosen, dtype=object),
        crs=WGS84,
    )
    parts = [df for df in (located[VILLAGE_COLUMNS], placed[VILLAGE_COLUMNS]) if len(df)]
    villages = pd.concat(parts, ignore_index=True) if parts else located[VILLAGE_COLUMNS].iloc[:0]
    villages = gpd.GeoDataFrame(villages, geometry="geometry", crs=WGS84)
    villages = villages.sort_values("id", kind="stable").reset_index(drop=True)
    order = centres["name"].astype(str).tolist()
    return villages, _match_table(located, unlocated, status, order)


def _outcome_note(matching: pd.DataFrame, source: str) -> str:
    """The note saying how many villages were placed from the places and how many were not."""
    total = matching[MATCH_COLUMNS[1:-1]].sum()
    looked = int(total["villages"] - total["located_nbs"])
    left = looked - int(total["matched_osm"])
    return (
        f"villages from OpenStreetMap: {int(total['matched_osm'])} of the {looked} villages "
        f"without an NBS point were placed at a place of the same name ({source}; "
        f"source=osm: the one candidate within {settings.osm_village_max_km:g} km of the "
        f"township centre); {left} stay unplaced ({int(total['ambiguous'])} ambiguous, "
        f"{int(total['too_far'])} with namesakes only too far away, "
        f"{int(total['unmatched'])} without a namesake); match rate per township in "
        "village_matching.csv"
    )


def villages_with_places(
    located: gpd.GeoDataFrame,
    unlocated: pd.DataFrame,
    towns: pd.DataFrame,
    centres: gpd.GeoDataFrame,
    boundary: gpd.GeoDataFrame,
    path: str | Path | None,
    notes: list[str],
    *,
    coords: str = "wgs84",
    encoding: str | None = None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame | None]:
    """The NBS villages of a county, the unlocated ones placed from ``path`` where possible.

    Parameters
    ----------
    located
        The NBS villages with a point (``source`` becomes ``'nbs'``).
    unlocated
        NBS rows of the administrative villages without a point:
        ``village_code, village, town_code``.
    towns
        The county's NBS towns: ``town_code, town``.
    centres
        Township centres (``name, geometry``).
    boundary
        The county (EPSG:4326).
    path
        Places file (:func:`read_places`; see :func:`places_path`); None: no matching.
    notes
        User notes; the outcome is appended.
    coords, encoding
        Of a CSV/XLSX places file.

    Returns
    -------
    villages : geopandas.GeoDataFrame
        The :data:`~coverkit.inputs.model.VILLAGE_COLUMNS`.
    matching : pandas.DataFrame or None
        The match table of :func:`place_villages`; None without ``path``.
    """
    located = located.assign(source="nbs")
    if path is None:
        return located[VILLAGE_COLUMNS], None
    town_name = dict(zip(towns["town_code"].astype(str), towns["town"].astype(str), strict=False))
    codes = unlocated["town_code"].astype(str)
    todo = pd.DataFrame(
        {
            "id": unlocated["village_code"].astype(str).to_numpy(),
            "name": unlocated["village"].astype(str).to_numpy(),
            "township": codes.map(town_name).fillna(codes).to_numpy(dtype=object),
        }
    )
    if len(todo):
        # namesakes up to the matching distance beyond the border are read (and counted too far)
        reach_m = 1000.0 * float(settings.osm_village_max_km)
        w, s, e, n = io.buffered_boundary(boundary, reach_m).bounds
        places = read_places(path, bbox=(w, s, e, n), coords=coords, encoding=encoding)
    else:
        places = gpd.GeoDataFrame({"id": [], "name": [], "place": []}, geometry=[], crs=WGS84)
    villages, matching = place_villages(todo, located, places, centres, boundary)
    note = _outcome_note(matching, f"{len(places)} named places read from {Path(path).name}")
    logger.info(note)
    notes.append(note)
    return villages, matching


__all__ = [
    "MATCH_COLUMNS",
    "NAME_SUFFIXES",
    "NO_PLACES",
    "PLACE_KINDS",
    "normalise_village_name",
    "place_villages",
    "places_path",
    "read_places",
    "villages_with_places",
]
