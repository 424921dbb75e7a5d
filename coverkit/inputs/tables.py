"""The user's own facility and village tables, shared by every loader.

A planner may give facilities and villages as tables (CSV/XLSX/point layers,
read by :func:`coverkit.io.read_points`) instead of the region's or the public
data. This module turns them into the facility and village rows of
:class:`~coverkit.inputs.model.CountyInputs`: tiers from their Chinese or English
names (:data:`TIER_ALIASES`), points outside the county left out with a note
(:func:`keep_in_county`), the county hospital promoted when the data have none
(:func:`promote_seat_hospital`), and townships assigned by nearest township
(:func:`assign_township`).
"""

from __future__ import annotations

import logging
import unicodedata
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from coverkit import io
from coverkit.crs import WGS84, metric_crs
from coverkit.errors import EmptyInputError, InputFileError, InvalidValueError
from coverkit.inputs.model import MAPPING_COLUMNS, VILLAGE_COLUMNS
from coverkit.vocab import TIERS, Tier

logger = logging.getLogger(__name__)

#: Rank of each tier from the top of the network down (0: county hospital).
TIER_RANK: dict[str, int] = {t: i for i, t in enumerate(TIERS)}

#: Tier names accepted in user facility tables (Chinese and English) →
#: ``(tier, is_central)``.
TIER_ALIASES: dict[str, tuple[str, bool]] = {
    "county_hospital": (Tier.COUNTY_HOSPITAL, False),
    "县级医院": (Tier.COUNTY_HOSPITAL, False),
    "县医院": (Tier.COUNTY_HOSPITAL, False),
    "县人民医院": (Tier.COUNTY_HOSPITAL, False),
    "county hospital": (Tier.COUNTY_HOSPITAL, False),
    "hospital": (Tier.COUNTY_HOSPITAL, False),
    # secondary-or-higher general hospitals (二级以上综合医院, 001 §2): county-level care
    "二级医院": (Tier.COUNTY_HOSPITAL, False),
    "三级医院": (Tier.COUNTY_HOSPITAL, False),
    "综合医院": (Tier.COUNTY_HOSPITAL, False),
    "二级以上综合医院": (Tier.COUNTY_HOSPITAL, False),
    "市级医院": (Tier.COUNTY_HOSPITAL, False),
    "secondary hospital": (Tier.COUNTY_HOSPITAL, False),
    "general hospital": (Tier.COUNTY_HOSPITAL, False),
    "township_centre": (Tier.TOWNSHIP_CENTRE, False),
    "乡镇卫生院": (Tier.TOWNSHIP_CENTRE, False),
    "卫生院": (Tier.TOWNSHIP_CENTRE, False),
    "township health centre": (Tier.TOWNSHIP_CENTRE, False),
    "中心乡镇卫生院": (Tier.TOWNSHIP_CENTRE, True),
    "中心卫生院": (Tier.TOWNSHIP_CENTRE, True),
    "central township centre": (Tier.TOWNSHIP_CENTRE, True),
    "village_clinic": (Tier.VILLAGE_CLINIC, False),
    "村卫生室": (Tier.VILLAGE_CLINIC, False),
    "卫生室": (Tier.VILLAGE_CLINIC, False),
    "village clinic": (Tier.VILLAGE_CLINIC, False),
}

#: Tiers whose facility within the clinic radius gives a village a clinic,
#: when the config names none.
DEFAULT_CLINIC_TIERS: list[str] = [Tier.VILLAGE_CLINIC, Tier.TOWNSHIP_CENTRE]


def points_xy(gdf: gpd.GeoDataFrame, crs: Any) -> np.ndarray:
    """The x, y of point geometries in ``crs``.

    Parameters
    ----------
    gdf
        Points (any CRS).
    crs
        The CRS to project to (usually metric).

    Returns
    -------
    numpy.ndarray
        ``(n, 2)`` array; ``(0, 2)`` for no rows.
    """
    g = gdf.geometry.to_crs(crs)
    return np.column_stack([g.x.to_numpy(), g.y.to_numpy()]) if len(g) else np.zeros((0, 2))


def _tiers_from_table(pts: gpd.GeoDataFrame, path: str | Path) -> tuple[pd.Series, pd.Series]:
    """Tier and ``is_central`` of every row of a facility table, from its tier column."""
    if "tier" not in pts.columns:
        raise InputFileError(
            f"'{path}' has no tier/类型 column; add one with 县级医院 / 乡镇卫生院 / 村卫生室 "
            "(or county_hospital / township_centre / village_clinic)"
        )
    mapped = (
        pts["tier"]
        .astype(str)
        .str.strip()
        .str.lower()
        .map(lambda s: TIER_ALIASES.get(s, (None, False)))
    )
    tier = mapped.map(lambda t: t[0])
    bad = tier.isna()
    if bad.any():
        raise InputFileError(
            f"'{path}' has unknown tiers {sorted(pts.loc[bad, 'tier'].astype(str).unique())[:5]}; "
            "use 县级医院, 乡镇卫生院, 中心乡镇卫生院 or 村卫生室"
        )
    central = mapped.map(lambda t: t[1])
    if "is_central" in pts.columns:
        central = central | pts["is_central"].astype(str).str.lower().isin(
            ["1", "true", "yes", "是"]
        )
    return tier, central


def facilities_from_table(
    path: str | Path, coords: str, notes: list[str], *, encoding: str | None = None
) -> gpd.GeoDataFrame:
    """The facilities of a user's table, with the tiers the table gives.

    Parameters
    ----------
    path
        Facility table or point layer with a tier/类型 column (县级医院,
        乡镇卫生院, 中心乡镇卫生院, 村卫生室 or the English names).
    coords
        Coordinate system of the table (``wgs84``, ``gcj02``, ``bd09``).
    notes
        User notes; one is appended.
    encoding
        Text encoding of a CSV table (default: recognised, see
        :func:`coverkit.io.read_points`).

    Returns
    -------
    geopandas.GeoDataFrame
        ``id, name, tier, is_central, meets_standard, standard_known, beds, staff,
        outside`` (False), ``mapping_rule`` (``user-table``), ``source`` (the path),
        ``members`` (1), geometry; EPSG:4326. Without a standard column
        (达标/优质服务基层行/推荐标准/meets_standard) ``meets_standard`` is True and
        ``standard_known`` False; beds (床位) and staff (人员/编制) are NaN when not given.

    Raises
    ------
    InputFileError
        No tier column, or unknown tier names.
    InvalidValueError
        Unknown standard values, or beds/staff that are not numbers (from
        :func:`coverkit.io.read_points`).
    """
    pts = io.read_points(path, kind="facilities", coords=coords, encoding=encoding)
    tier, central = _tiers_from_table(pts, path)
    known = "meets_standard" in pts.columns
    out = gpd.GeoDataFrame(
        {
            "id": pts["id"].astype(str).to_numpy(),
            "name": pts["name"].fillna("").astype(str).to_numpy(),
            "tier": tier.to_numpy(),
            "is_central": central.to_numpy(dtype=bool),
            "meets_standard": pts["meets_standard"].to_numpy(dtype=bool) if known else True,
            "standard_known": known,
            "beds": _count(pts, "beds"),
            "staff": _count(pts, "staff"),
            "outside": False,
            "mapping_rule": "user-table",
            "source": str(path),
            "members": 1,
        },
        geometry=pts.geometry.values,
        crs=WGS84,
    )
    notes.append(f"facilities read from {Path(path).name} with their own tiers")
    notes.append(_attribute_note(out, Path(path).name))
    return out


def _count(pts: pd.DataFrame, column: str) -> np.ndarray:
    """The float counts of ``column`` (NaN when the table has none)."""
    if column not in pts.columns:
        return np.full(len(pts), np.nan)
    return pts[column].to_numpy(dtype="float64")


#: What a plan says when a facility table has no standard column (one phrase everywhere).
NO_STANDARD_COLUMN = (
    "no standard column: every centre was assumed to meet the recommended standard "
    "(优质服务基层行推荐标准)"
)


def _attribute_note(fac: gpd.GeoDataFrame, name: str) -> str:
    """One note: how many centres the table flags as meeting the standard, beds, staff given."""
    centres = fac["tier"] == Tier.TOWNSHIP_CENTRE
    if bool(fac["standard_known"].all()):
        standard = (
            f"{int(fac.loc[centres, 'meets_standard'].sum())} of {int(centres.sum())} township "
            "centres are flagged as meeting the recommended standard (优质服务基层行推荐标准)"
        )
    else:
        standard = NO_STANDARD_COLUMN
    given = [
        f"{label} given for {int(fac[col].notna().sum())} of {len(fac)}"
        for col, label in (("beds", "beds (床位)"), ("staff", "staff (人员)"))
    ]
    return f"facility attributes in {name}: {standard}; " + "; ".join(given)


def hospitals_outside(
    fac: gpd.GeoDataFrame,
    county_area: shapely.Geometry,
    reach_area: shapely.Geometry,
    county_name: str,
    notes: list[str],
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Split off the hospitals outside the county but within the road buffer.

    Secondary-or-higher hospitals of neighbouring areas (周边二级以上综合医院, 001 §2)
    may count as existing county-level cover (``count_outside_hospitals``); they are
    kept apart, never candidates.

    Parameters
    ----------
    fac
        Facilities of a user's table (``tier``, ``name``), EPSG:4326.
    county_area
        The county with the loader's slack at the border (EPSG:4326).
    reach_area
        The county grown by the road buffer (EPSG:4326): roads reach that far.
    county_name
        Name of the county, for the note.
    notes
        User notes; one is appended when hospitals are kept apart.

    Returns
    -------
    rest : geopandas.GeoDataFrame
        ``fac`` without those hospitals (re-indexed from 0).
    outside : geopandas.GeoDataFrame
        The hospitals outside the county within the road buffer, ``outside`` True.
    """
    geoms = np.asarray(fac.geometry.values)
    hospital = (fac["tier"] == Tier.COUNTY_HOSPITAL).to_numpy()
    out_mask = (
        hospital & ~shapely.intersects(county_area, geoms) & shapely.intersects(reach_area, geoms)
    )
    outside = fac[out_mask].assign(outside=True).reset_index(drop=True)
    if len(outside):
        notes.append(
            f"facilities: {len(outside)} hospital(s) outside {county_name} but within the road "
            f"buffer were kept as neighbours' hospitals (周边二级以上综合医院, 001 §2): "
            f"{_few(outside['name'].astype(str).tolist())}; they count as existing "
            "county-level cover only with count_outside_hospitals"
        )
    return fac[~out_mask].reset_index(drop=True), outside


def _clinic_within(pts: gpd.GeoDataFrame, fac: gpd.GeoDataFrame, cfg: dict) -> np.ndarray:
    """``'standard'`` for points with a clinic tier within the clinic radius, else ``'none'``."""
    radius = float(cfg.get("clinic_radius_m", 1000.0))
    clinics = fac[fac["tier"].isin(cfg.get("clinic_tiers", DEFAULT_CLINIC_TIERS))]
    metric = metric_crs(pts)
    if len(clinics):
        d, _ = cKDTree(points_xy(clinics, metric)).query(points_xy(pts, metric))
    else:
        d = np.full(len(pts), np.inf)
    return np.where(d <= radius, "standard", "none")


def villages_from_table(
    path: str | Path,
    coords: str,
    fac: gpd.GeoDataFrame,
    cfg: dict,
    *,
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """The villages of a user's table.

    Parameters
    ----------
    path
        Village table or point layer.
    coords
        Coordinate system of the table (``wgs84``, ``gcj02``, ``bd09``).
    fac
        The county's facilities: without a clinic column, a village has a
        ``'standard'`` clinic when a facility of ``cfg['clinic_tiers']`` lies
        within ``cfg['clinic_radius_m']`` (default 1,000 m).
    cfg
        The ``[villages]`` table of a region config (may be empty).
    encoding
        Text encoding of a CSV table (default: recognised).

    Returns
    -------
    geopandas.GeoDataFrame
        ``id, name, population`` (NaN when not given), ``clinic``,
        ``given_township`` (the table's township or None), ``source`` (the
        table's ``source`` column, else ``'table'``), geometry; EPSG:4326.
    """
    pts = io.read_points(path, kind="villages", coords=coords, encoding=encoding)
    pop = pts["population"] if "population" in pts.columns else pd.Series(np.nan, index=pts.index)
    if "clinic" in pts.columns:
        clinic = io.clinic_status_from_values(pts["clinic"], missing="none").to_numpy()
    else:
        clinic = _clinic_within(pts, fac, cfg)
    return gpd.GeoDataFrame(
        {
            "id": pts["id"].astype(str).to_numpy(),
            "name": pts["name"].fillna("").astype(str).to_numpy(),
            "population": pop.to_numpy(dtype="float64"),
            "clinic": clinic,
            "given_township": pts["township"].to_numpy() if "township" in pts else None,
            "source": (
                pts["source"].fillna("table").astype(str).to_numpy() if "source" in pts else "table"
            ),
        },
        geometry=pts.geometry.values,
        crs=WGS84,
    )


def keep_in_county(
    points: gpd.GeoDataFrame,
    area: shapely.Geometry,
    source: str | Path,
    kind: str,
    county_name: str,
    notes: list[str],
) -> gpd.GeoDataFrame:
    """The points of a user table that lie in ``area``, the others named in a note.

    Parameters
    ----------
    points
        Rows of a user table (with a ``name`` column), EPSG:4326.
    area
        The county, usually grown by some slack at the border (EPSG:4326).
    source
        The table's path, for messages.
    kind
        ``'facilities'`` or ``'villages'``, for messages.
    county_name
        Name of the county, for messages.
    notes
        User notes; one is appended when points are left out.

    Returns
    -------
    geopandas.GeoDataFrame
        The points inside, re-indexed from 0.

    Raises
    ------
    InvalidValueError
        None lies in the county but they would with lon and lat exchanged.
    EmptyInputError
        None lies in the county.
    """
    inside = shapely.intersects(area, np.asarray(points.geometry.values))
    if len(points) and not inside.any():
        xy = shapely.get_coordinates(np.asarray(points.geometry.values))
        if shapely.intersects(area, shapely.points(xy[:, 1], xy[:, 0])).any():
            raise InvalidValueError(
                f"'{source}': none of the {len(points)} {kind} lies in {county_name}, but they "
                "would with longitude and latitude exchanged; the lon/lat columns look "
                "swapped: exchange them"
            )
        raise EmptyInputError(
            f"'{source}': none of the {len(points)} {kind} lies in {county_name}; check their "
            "coordinates are longitude/latitude of this county and the --coords system "
            "(gcj02 for Amap/Tencent, bd09 for Baidu coordinates)"
        )
    if not inside.all():
        dropped = points.loc[~inside, "name"].astype(str).tolist()
        notes.append(
            f"{kind}: {len(dropped)} of {len(points)} {kind} in {Path(source).name} lie "
            f"outside {county_name} and were left out ({', '.join(dropped[:5])}"
            f"{', …' if len(dropped) > 5 else ''}); check their coordinates and --coords"
        )
    return points[inside].reset_index(drop=True)


def promote_seat_hospital(
    fac: gpd.GeoDataFrame, seat_pt: shapely.Point, radius_m: float, notes: list[str]
) -> gpd.GeoDataFrame:
    """Promote the best facility near the seat to county hospital when the data have none.

    The best is, among the facilities within ``radius_m`` of the seat (all of
    them when none is that near), the highest tier, then a central one, then
    the one merged from most features, then the nearest, then the lowest id.

    Parameters
    ----------
    fac
        Facilities with ``id, name, tier, is_central, mapping_rule, members``.
    seat_pt
        The county seat point (EPSG:4326).
    radius_m
        Distance from the seat within which a facility is preferred, metres.
    notes
        User notes; one is appended when a facility is promoted or none exists.

    Returns
    -------
    geopandas.GeoDataFrame
        ``fac`` unchanged when it has a county hospital or no row; else a copy
        whose promoted row has tier ``county_hospital``, ``is_central`` False
        and rule ``promoted-seat-hospital``.
    """
    if (fac["tier"] == Tier.COUNTY_HOSPITAL).any() or len(fac) == 0:
        if len(fac) == 0:
            notes.append("no health facility found in the county: nothing to plan from")
        return fac
    metric = metric_crs(fac)
    seat_xy = points_xy(gpd.GeoDataFrame(geometry=[seat_pt], crs=WGS84), metric)[0]
    d = np.hypot(*(points_xy(fac, metric) - seat_xy).T)
    near = d <= radius_m
    pool = np.flatnonzero(near) if near.any() else np.arange(len(fac))
    key = np.lexsort(
        (
            fac["id"].to_numpy()[pool],
            d[pool],
            -fac["members"].to_numpy()[pool],
            ~fac["is_central"].to_numpy()[pool],
            fac["tier"].map(TIER_RANK).to_numpy()[pool],
        )
    )
    k = pool[key[0]]
    fac = fac.copy()
    old, old_rule = fac.at[k, "tier"], fac.at[k, "mapping_rule"]
    fac.loc[k, ["tier", "is_central", "mapping_rule"]] = [
        Tier.COUNTY_HOSPITAL,
        False,
        "promoted-seat-hospital",
    ]
    notes.append(
        f"no county hospital in the data: '{fac.at[k, 'name']}' ({old.replace('_', ' ')}, "
        f"{d[k] / 1000:.1f} km from the seat, rule {old_rule}) was promoted to county "
        "hospital (rule promoted-seat-hospital)"
    )
    return fac


def assign_township(points: gpd.GeoDataFrame, townships: gpd.GeoDataFrame) -> np.ndarray:
    """Name of the nearest township of every point (the one containing it, if any).

    Parameters
    ----------
    points
        Points (any CRS).
    townships
        ``name, geometry`` polygons.

    Returns
    -------
    numpy.ndarray
        Object array of township names, one per point (first on ties).
    """
    if len(points) == 0:
        return np.zeros(0, dtype=object)
    metric = metric_crs(townships)
    pts = points.to_crs(metric)
    tw = townships.to_crs(metric)
    j = gpd.sjoin_nearest(pts[["geometry"]], tw[["name", "geometry"]], how="left")
    j = j[~j.index.duplicated(keep="first")]
    return j["name"].reindex(pts.index).to_numpy(dtype=object)


def _name_key(name: str) -> str:
    """A township name compared loosely: NFKC, case-folded, without any white space."""
    return "".join(unicodedata.normalize("NFKC", name).casefold().split())


def known_townships(
    given: pd.Series, townships: gpd.GeoDataFrame, source: str | Path = "the village table"
) -> pd.Series:
    """The townships a village table names, matched to the county's township names.

    A name matches exactly, else when it is the same up to case, white space
    and full-width forms and only one township is that (``' fomboni'`` →
    ``'Fomboni'``). A blank cell stays missing (the nearest township is used).

    Parameters
    ----------
    given
        The table's township cells (any values; NaN/blank = not given).
    townships
        The county's townships (``name`` column).
    source
        The table, for the message.

    Returns
    -------
    pandas.Series
        The canonical township name per row, or None where none was given.

    Raises
    ------
    InvalidValueError
        A name matches no township of the county (or several loosely): the
        message names the first unknown ones and the known ones.
    """
    names = [str(n) for n in townships["name"]]
    loose: dict[str, list[str]] = {}
    for n in names:
        loose.setdefault(_name_key(n), []).append(n)
    exact = set(names)

    def match(value: Any) -> Any:
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return None
        text = str(value).strip()
        if not text:
            return None
        if text in exact:
            return text
        hits = loose.get(_name_key(text), [])
        return hits[0] if len(hits) == 1 else _UNKNOWN

    out = given.map(match)
    bad = out.map(lambda v: v is _UNKNOWN).to_numpy(dtype=bool)
    if bad.any():
        unknown = list(dict.fromkeys(str(v).strip() for v in given[bad]))
        raise InvalidValueError(
            f"'{source}': the township (乡镇) column names {len(unknown)} township(s) that "
            f"{'are' if len(unknown) > 1 else 'is'} not in the county ({_few(unknown)}; "
            f"{int(bad.sum())} rows); known townships: {_few(sorted(names))}; fix the names, "
            "or leave the cells empty to give each village its nearest township"
        )
    return out


#: Marks a township name that matches none of the county's.
_UNKNOWN = object()


def _few(items: list[str], n: int = 5) -> str:
    """The first ``n`` items joined (repr-quoted, so control characters show), with '…'."""
    shown = ", ".join(repr(i) for i in items[:n])
    return shown + (", …" if len(items) > n else "")


def villages_with_townships(
    villages: gpd.GeoDataFrame,
    townships: gpd.GeoDataFrame,
    source: str | Path = "the village table",
) -> gpd.GeoDataFrame:
    """Villages with their township: the one a table gives, else the nearest.

    Parameters
    ----------
    villages
        Villages, with an optional ``given_township`` column (dropped); its
        names are matched to ``townships`` by :func:`known_townships`.
    townships
        ``name, geometry`` polygons.
    source
        The village table, for messages.

    Returns
    -------
    geopandas.GeoDataFrame
        The :data:`~coverkit.inputs.model.VILLAGE_COLUMNS`, re-indexed from 0.

    Raises
    ------
    InvalidValueError
        The table names a township the county does not have.
    """
    vil = villages.reset_index(drop=True)
    vil["township"] = assign_township(vil, townships)
    if "given_township" in vil.columns:
        given = vil.pop("given_township")
        if given is not None and len(townships):
            given = known_townships(pd.Series(given, index=vil.index), townships, source)
            vil["township"] = np.where(pd.notna(given), given, vil["township"])
    return vil[VILLAGE_COLUMNS]


def check_facility_points(
    fac: gpd.GeoDataFrame, source: str | Path, notes: list[str], *, tolerance_m: float = 10.0
) -> None:
    """Refuse facilities that all share one point; warn on centres at a county hospital.

    A table whose rows all carry one location (the county seat copied to
    every row, a geocoder's fallback) would propose a sub-centre where the
    county hospital already is, serving nobody new.

    Parameters
    ----------
    fac
        Facilities with ``name``, ``tier`` and point geometry (EPSG:4326).
    source
        The facility table, for messages.
    notes
        User notes; a warning is appended for township health centres within
        ``tolerance_m`` of a county hospital.
    tolerance_m
        Points closer than this count as one point, metres.

    Raises
    ------
    InvalidValueError
        Two or more facilities, all within ``tolerance_m`` of one point, or
        every township health centre at a county hospital's point.
    """
    if len(fac) < 2:
        return
    xy = points_xy(fac, metric_crs(fac))
    lon, lat = shapely.get_coordinates(np.asarray(fac.geometry.values))[0]
    if float(np.ptp(xy, axis=0).max()) <= tolerance_m:
        raise InvalidValueError(
            f"'{source}': all {len(fac)} facilities lie at one point ({lon:.6f}, {lat:.6f}); "
            "a plan from them would propose sub-centres that serve nobody new: give each "
            "facility its own coordinates (the county seat copied to every row?)"
        )
    _centres_at_hospitals(fac, xy, source, notes, tolerance_m)


def _centres_at_hospitals(
    fac: gpd.GeoDataFrame, xy: np.ndarray, source: str | Path, notes: list[str], tol: float
) -> None:
    """Refuse when every township centre sits at a county hospital; note the ones that do."""
    tier = fac["tier"].to_numpy()
    hosp, cent = xy[tier == Tier.COUNTY_HOSPITAL], np.flatnonzero(tier == Tier.TOWNSHIP_CENTRE)
    if len(hosp) == 0 or len(cent) == 0:
        return
    d, _ = cKDTree(hosp).query(xy[cent])
    at = cent[d <= tol]
    if len(at) == 0:
        return
    names = fac["name"].astype(str).to_numpy()[at].tolist()
    first = fac.geometry.iloc[int(at[0])]
    hx, hy = float(first.x), float(first.y)
    if len(at) == len(cent):
        raise InvalidValueError(
            f"'{source}': every township health centre ({_few(names)}) lies at a county "
            f"hospital's point ({hx:.6f}, {hy:.6f}), so no sub-centre could serve anyone new; "
            "give the centres their own coordinates"
        )
    message = (
        f"facilities: {len(at)} township health centre(s) lie at a county hospital's point "
        f"({hx:.6f}, {hy:.6f}): {_few(names)}; check their coordinates in {Path(source).name} "
        "(as sub-centres they would serve nobody new)"
    )
    logger.warning("%s", message)
    notes.append(message)


def mapping_from_table_tiers(fac: gpd.GeoDataFrame, source: str | Path) -> pd.DataFrame:
    """The facility mapping table of facilities whose tiers a user table gave.

    Parameters
    ----------
    fac
        Facilities with ``mapping_rule`` and ``tier``.
    source
        The table's path (its file name goes into the description).

    Returns
    -------
    pandas.DataFrame
        The :data:`~coverkit.inputs.model.MAPPING_COLUMNS`: one row per rule and
        tier, ``features`` = ``facilities`` = the count, no examples.
    """
    mapping = (
        fac.groupby(["mapping_rule", "tier"], sort=True)
        .size()
        .rename("facilities")
        .reset_index()
        .rename(columns={"mapping_rule": "rule_id"})
        .assign(description=f"tiers given in {Path(source).name}", examples="")
    )
    mapping["features"] = mapping["facilities"]
    return mapping[MAPPING_COLUMNS]


__all__ = [
    "DEFAULT_CLINIC_TIERS",
    "NO_STANDARD_COLUMN",
    "TIER_ALIASES",
    "TIER_RANK",
    "assign_township",
    "check_facility_points",
    "facilities_from_table",
    "hospitals_outside",
    "keep_in_county",
    "known_townships",
    "mapping_from_table_tiers",
    "points_xy",
    "promote_seat_hospital",
    "villages_from_table",
    "villages_with_townships",
]
