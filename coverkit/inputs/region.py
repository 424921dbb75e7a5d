"""TOML regions: a config naming the data of a set of counties and the tier rules.

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
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from coverkit import io, osm
from coverkit.crs import WGS84, metric_crs
from coverkit.errors import ConfigError, EmptyInputError
from coverkit.inputs.model import (
    FACILITY_COLUMNS,
    MAPPING_COLUMNS,
    CountyInputs,
    default_data_dir,
)
from coverkit.inputs.tables import (
    DEFAULT_CLINIC_TIERS,
    NO_STANDARD_COLUMN,
    TIER_RANK,
    assign_township,
    check_facility_points,
    facilities_from_table,
    hospitals_outside,
    keep_in_county,
    mapping_from_table_tiers,
    points_xy,
    promote_seat_hospital,
    villages_from_table,
    villages_with_townships,
)
from coverkit.vocab import LABELS, TIERS, Tier, label

logger = logging.getLogger(__name__)

#: Folder of the embedded region configs.
REGIONS_DIR = Path(__file__).resolve().parent.parent / "regions"

#: Tier of a rule whose features are not facilities (pharmacies...).
DROP = "drop"

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
        "loader": str,
        "chinese_counties": str,
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


# --------------------------------------------------------------------------- config


def _check_value(value: Any, expect: Any, name: str, source: str) -> None:
    """Check one config value against its schema entry (recursing into tables)."""
    if isinstance(expect, dict):
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: '{name}' must be a table")
        _check_schema(value, expect, f"{name}.", source)
    elif isinstance(expect, list):
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            key = name.rsplit(".", 1)[-1]
            raise ConfigError(f"{source}: '{name}' must be an array of tables [[{key}]]")
        for i, item in enumerate(value):
            _check_schema(item, expect[0], f"{name}[{i}].", source)
    elif expect is float:
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ConfigError(f"{source}: '{name}' must be a number, got {value!r}")
    elif not isinstance(value, expect) or (expect is int and isinstance(value, bool)):
        raise ConfigError(f"{source}: '{name}' must be a {expect.__name__}, got {value!r}")


def _check_schema(data: dict, schema: dict, where: str, source: str) -> None:
    """Refuse unknown keys and values of the wrong type, naming the key."""
    for key, value in data.items():
        if key not in schema:
            raise ConfigError(
                f"{source}: unknown key '{where}{key}'; allowed here: {', '.join(sorted(schema))}"
            )
        _check_value(value, schema[key], f"{where}{key}", source)


def _config_path(region: str | Path) -> Path:
    """The TOML file of an embedded region name or a path."""
    path = io.usable_path(region, "region config")
    if path.suffix.lower() != ".toml":
        path = REGIONS_DIR / f"{region}.toml"
        if not path.exists():
            known = sorted(p.stem for p in REGIONS_DIR.glob("*.toml"))
            raise ConfigError(
                f"unknown region {str(region)!r}; choose one of {', '.join(known)} "
                "or give the path of a region .toml"
            )
    elif not path.exists():
        raise ConfigError(f"region config '{io.shown_path(path)}' does not exist; check the path")
    return path


def _check_rules(data: dict, path: Path) -> None:
    """Every facility rule has an id, a known tier and a valid name regex."""
    for rule in data.get("facilities", {}).get("rules", []):
        if "id" not in rule or "tier" not in rule:
            raise ConfigError(f"{path}: every [[facilities.rules]] needs an id and a tier")
        if rule["tier"] not in (*TIERS, DROP):
            raise ConfigError(
                f"{path}: rule '{rule['id']}' has tier {rule['tier']!r}; use one of "
                f"{', '.join(TIERS)} or '{DROP}'"
            )
        if "name" in rule:
            try:
                re.compile(rule["name"])
            except re.error as exc:
                raise ConfigError(f"{path}: rule '{rule['id']}' name regex: {exc}") from exc


def read_region_config(region: str | Path) -> dict[str, Any]:
    """Read and validate a region config.

    Parameters
    ----------
    region
        Name of an embedded region (``'comoros'``) or path of a TOML file.

    Returns
    -------
    dict
        The parsed config, plus ``_path``: the file it was read from.

    Raises
    ------
    ConfigError
        Unknown region, unknown key, wrong value type, bad tier or regex.
    """
    path = _config_path(region)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the syntax") from exc
    _check_schema(data, _SCHEMA, "", str(path))
    for key in ("region", "counties"):
        if key not in data:
            raise ConfigError(f"{path}: missing [{key}] section; see coverkit/regions/comoros.toml")
    _check_rules(data, path)
    data["_path"] = str(path)
    return data


def pick_county(cfg: dict, county: str | None) -> dict:
    """The ``[[counties]]`` entry of a region config for a name, alias or code.

    Parameters
    ----------
    cfg
        A region config (:func:`read_region_config`).
    county
        Name, alias or id, case-insensitive; ``None``: the region's
        ``default_county``, else its first county.

    Returns
    -------
    dict
        The county's entry (``id, name, aliases, seat``).

    Raises
    ------
    ConfigError
        The county is not in the region (the message lists its counties).
    """
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


# --------------------------------------------------------------------------- facilities


def _tag_match(tags: dict[str, str], spec: dict[str, list[str]]) -> bool:
    for key, values in spec.items():
        v = tags.get(key)
        if v is not None and ("*" in values or v in values):
            return True
    return False


def _first_rule(name: str, tags: dict, compiled: list[tuple[dict, Any]]) -> dict | None:
    """The first rule matching a feature's cleaned name and tags, or None."""
    for r, rx in compiled:
        if r.get("unnamed") and name:
            continue
        if rx is not None and not (name and rx.search(name)):
            continue
        if "tags" in r and not _tag_match(tags, r["tags"]):
            continue
        return r
    return None


def _match_rules(features: gpd.GeoDataFrame, fac_cfg: dict) -> gpd.GeoDataFrame:
    """Every feature with its cleaned name and the rule, tier and centrality it matched.

    Generic names (the config's ``generic_names``) count as no name; a feature
    no rule matches gets rule ``unmatched`` and tier ``drop``.
    """
    generic = re.compile(fac_cfg.get("generic_names", r"^$"), re.IGNORECASE)
    compiled = [
        (r, re.compile(r["name"], re.IGNORECASE) if "name" in r else None)
        for r in fac_cfg.get("rules", [])
    ]
    n = len(features)
    rule_id = np.full(n, "unmatched", dtype=object)
    tier = np.full(n, DROP, dtype=object)
    central = np.zeros(n, dtype=bool)
    clean = []
    for i, (name, tags) in enumerate(zip(features["name"], features["tags"], strict=True)):
        nm = name.strip() if isinstance(name, str) else ""
        if generic.search(nm):
            nm = ""
        clean.append(nm)
        r = _first_rule(nm, tags, compiled)
        if r is not None:
            rule_id[i], tier[i], central[i] = r["id"], r["tier"], bool(r.get("is_central"))
    return features.assign(
        clean_name=clean, rule_id=rule_id, tier=tier, is_central=central
    ).reset_index(drop=True)


def _merge_duplicates(
    kept: gpd.GeoDataFrame, metric: Any, dup_r: float, campus_r: float
) -> tuple[np.ndarray, np.ndarray]:
    """Which kept feature owns which: one owner per facility.

    Features are visited named first, ways first, higher tier first, then by
    OSM id; each unowned one owns the unowned features within ``dup_r`` with
    the same or an empty name, and a named county hospital also the unnamed
    ones within ``campus_r``.

    Returns
    -------
    order : numpy.ndarray
        The visiting order.
    owner : numpy.ndarray
        Index of each feature's owner (itself for an owner).
    """
    xy = points_xy(kept, metric)
    order = np.lexsort(
        (
            kept["osm_id"].to_numpy(),
            kept["tier"].map(TIER_RANK).to_numpy(),
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
        hospital = kept["tier"].iat[i] == Tier.COUNTY_HOSPITAL
        radius = max(dup_r, campus_r if hospital and names_cf[i] else 0)
        for j in sorted(tree.query_ball_point(xy[i], radius)):
            if owner[j] >= 0:
                continue
            d = float(np.hypot(*(xy[j] - xy[i])))
            same = names_cf[j] == names_cf[i] or names_cf[j] == "" or names_cf[i] == ""
            if (d <= dup_r and same) or (names_cf[j] == "" and names_cf[i] and d <= radius):
                owner[j] = i
    return order, owner


def _merged_facilities(
    kept: gpd.GeoDataFrame, order: np.ndarray, owner: np.ndarray
) -> gpd.GeoDataFrame:
    """One facility per owner: its name and rule, a way's geometry when it has one."""
    rows = []
    for i in order:
        if owner[i] != i:
            continue
        members = np.flatnonzero(owner == i)
        ways = [m for m in members if kept["osm_type"].iat[m] == "way"]
        geom_from = i if kept["osm_type"].iat[i] == "way" or not ways else ways[0]
        name = kept["clean_name"].iat[i] or (
            f"unnamed {kept['tier'].iat[i].replace('_', ' ')} {kept['osm_id'].iat[i]}"
        )
        rows.append(
            {
                "id": kept["osm_id"].iat[i],
                "name": name,
                "tier": kept["tier"].iat[i],
                "is_central": bool(kept["is_central"].iat[i]),
                "mapping_rule": kept["rule_id"].iat[i],
                "source": "OpenStreetMap " + ",".join(sorted(kept["osm_id"].iloc[members])),
                "members": len(members),
                "geometry": kept.geometry.iat[geom_from],
            }
        )
    columns = ["id", "name", "tier", "is_central", "mapping_rule", "source", "members"]
    fac = gpd.GeoDataFrame(rows, columns=[*columns, "geometry"], geometry="geometry", crs=WGS84)
    return fac.sort_values(
        ["tier", "id"], key=lambda s: s.map(TIER_RANK) if s.name == "tier" else s, kind="stable"
    ).reset_index(drop=True)


def _rule_table(
    rules: list[dict],
    feats: gpd.GeoDataFrame,
    fac: gpd.GeoDataFrame,
    merged: int,
    dup_r: float,
    campus_r: float,
) -> pd.DataFrame:
    """The facility mapping table: features and facilities per rule, then the merges."""
    table = []
    for r in [*rules, {"id": "unmatched", "tier": DROP, "description": "no rule matched"}]:
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
    return pd.DataFrame(table)


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
    feats = _match_rules(features, fac_cfg)
    kept = feats[feats["tier"] != DROP].reset_index(drop=True)
    metric = metric_crs(features) if len(features) else WGS84
    dup_r = float(fac_cfg.get("duplicate_radius_m", 150.0))
    campus_r = float(fac_cfg.get("campus_radius_m", 0.0))
    order, owner = _merge_duplicates(kept, metric, dup_r, campus_r)
    fac = _merged_facilities(kept, order, owner)
    merged = int(len(kept) - len(fac))
    return fac, _rule_table(fac_cfg.get("rules", []), feats, fac, merged, dup_r, campus_r)


# --------------------------------------------------------------------------- townships


def _townships_from_admin_areas(
    osm_path: Path, island: shapely.Geometry, level: int, notes: list[str]
) -> gpd.GeoDataFrame | None:
    """The OSM admin areas of ``level`` on the county as townships; None if fewer than 2."""
    areas = osm.admin_areas_from_osm(osm_path, admin_level=level, bbox=island.bounds)
    areas = areas[areas["osm_id"].str.startswith("r")]
    if len(areas):
        areas = areas[shapely.intersects(island, areas.representative_point().values)]
    if len(areas) < 2:
        return None
    areas = areas.dissolve(by="name", as_index=False, sort=True)
    geoms = shapely.make_valid(shapely.intersection(np.asarray(areas.geometry.values), island))
    out = gpd.GeoDataFrame(
        {"id": areas["osm_id"].to_numpy(), "name": areas["name"].to_numpy(), "derived": False},
        geometry=geoms,
        crs=WGS84,
    )
    out = out[~out.geometry.is_empty].reset_index(drop=True)
    notes.append(f"townships: {len(out)} OSM admin_level {level} areas used as townships (乡镇)")
    return out


def _township_seeds(
    seat: gpd.GeoDataFrame, places: gpd.GeoDataFrame, kinds: set[str]
) -> tuple[gpd.GeoDataFrame, np.ndarray, Any]:
    """The seat and the seed places, one per name and 50 m location; metric x, y and CRS."""
    seeds = places[places["place"].isin(kinds)]
    seeds = pd.concat([seat[["id", "name", "geometry"]], seeds[["id", "name", "geometry"]]])
    seeds = gpd.GeoDataFrame(seeds, geometry="geometry", crs=WGS84)
    metric = metric_crs(seeds)
    xy = points_xy(seeds, metric)
    # one seed per location/name (the seat node is also a place node)
    keep = ~pd.Series(seeds["name"].str.casefold().to_numpy()).duplicated().to_numpy()
    _, first = np.unique(np.round(xy / 50.0), axis=0, return_index=True)
    loc_keep = np.zeros(len(xy), bool)
    loc_keep[first] = True
    return seeds[keep & loc_keep], xy[keep & loc_keep], metric


def _townships_from_seeds(
    island: shapely.Geometry,
    seat: gpd.GeoDataFrame,
    places: gpd.GeoDataFrame,
    kinds: set[str],
    notes: list[str],
) -> gpd.GeoDataFrame:
    """Townships as Voronoi cells of the seat and the seed places, clipped to the county."""
    seeds, xy, metric = _township_seeds(seat, places, kinds)
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


def _townships(
    osm_path: Path,
    island: shapely.Geometry,
    seat: gpd.GeoDataFrame,
    places: gpd.GeoDataFrame,
    cfg: dict,
    notes: list[str],
) -> gpd.GeoDataFrame:
    """The county's townships: OSM admin areas of ``admin_level``, else Voronoi cells."""
    level = cfg.get("admin_level")
    if level is not None:
        areas = _townships_from_admin_areas(osm_path, island, level, notes)
        if areas is not None:
            return areas
    kinds = set(cfg.get("seed_places", ["city", "town"]))
    return _townships_from_seeds(island, seat, places, kinds, notes)


# --------------------------------------------------------------------------- places, villages


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
    fxy = points_xy(fac[unnamed], metric)
    pxy = points_xy(named, metric)
    nearest = cKDTree(pxy).query(fxy)[1]
    for row, place in zip(np.flatnonzero(unnamed), nearest, strict=True):
        key = f"unnamed.{fac['tier'].iat[row]}"
        tier = label(key, "both") if key in LABELS else "health facility"
        names.iat[row] = f"{tier} near {named['name'].iat[place]} (OSM {fac['id'].iat[row]})"
    return names


def _places(osm_path: Path, bbox: tuple, kinds: list[str]) -> gpd.GeoDataFrame:
    """The OSM place features of ``kinds`` in ``bbox``: ``id, place, name, ...``."""
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
    """Named OSM places as villages, one per name within the duplicate radius."""
    kinds = cfg.get("places", ["town", "village", "hamlet"])
    v = places[places["place"].isin(kinds) & (places["name"] != "")]
    v = v[shapely.intersects(island.buffer(0.005), np.asarray(v.geometry.values))]
    metric = metric_crs(gpd.GeoDataFrame(geometry=[island], crs=WGS84))
    # duplicates: same name within duplicate_radius_m (node and area of one place)
    v = v.assign(_node=v["osm_type"] != "node").sort_values(["_node", "id"], kind="stable")
    xy = points_xy(v, metric)
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
    clinics = fac[fac["tier"].isin(cfg.get("clinic_tiers", DEFAULT_CLINIC_TIERS))]
    if len(clinics) and len(v):
        d, _ = cKDTree(points_xy(clinics, metric)).query(points_xy(v, metric))
    else:
        d = np.full(len(v), np.inf)
    out = gpd.GeoDataFrame(
        {
            "id": v["id"].to_numpy(),
            "name": v["name"].to_numpy(),
            "place": v["place"].to_numpy(),
            "population": np.full(len(v), np.nan),
            "clinic": np.where(d <= radius, "standard", "none"),
            "source": "osm",
        },
        geometry=v.geometry.values,
        crs=WGS84,
    )
    return out.sort_values("id", kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- load


@dataclass(frozen=True)
class _Area:
    """The county being loaded: its config, entry, outline and OSM extract."""

    cfg: dict
    county: dict
    data_dir: Path
    boundary: gpd.GeoDataFrame
    island: shapely.Geometry
    bbox: tuple[float, float, float, float]
    osm_path: Path


def _data_path(cfg: dict, data_dir: Path, key: str) -> Path:
    """The data file the ``[region]`` table names under ``key``."""
    if key not in cfg["region"]:
        raise ConfigError(f"{cfg['_path']}: [region] has no '{key}' file; add it")
    return data_dir / cfg["region"][key]


def _county_area(cfg: dict, county: dict, data_dir: str | Path | None) -> _Area:
    """Read the county's boundary; its bounding box padded by 0.02° bounds the OSM reads."""
    ddir = default_data_dir(data_dir)
    bpath = _data_path(cfg, ddir, "boundaries")
    boundary = (
        io.read_boundary(bpath, name=county["id"]) if bpath.suffix else io.read_boundary(bpath)
    )
    boundary["id"], boundary["name"] = county["id"], county["name"]
    island = boundary.geometry.iloc[0]
    w, s, e, n = island.bounds
    pad = 0.02
    bbox = (w - pad, s - pad, e + pad, n + pad)
    osm_path = _data_path(cfg, ddir, "osm")
    return _Area(cfg, county, ddir, boundary, island, bbox, osm_path)


def _place_kinds(cfg: dict) -> list[str]:
    """OSM place kinds read: cities and towns (seat, townships) and the village places."""
    return sorted({"city", "town", *cfg.get("villages", {}).get("places", ["village", "hamlet"])})


def _county_places(area: _Area, kinds: list[str]) -> gpd.GeoDataFrame:
    """The OSM places of ``kinds`` on the county (0.01° of slack at the border)."""
    places = _places(area.osm_path, area.bbox, kinds)
    return places[shapely.intersects(area.island.buffer(0.01), np.asarray(places.geometry.values))]


def _county_seat(places: gpd.GeoDataFrame, area: _Area) -> gpd.GeoDataFrame:
    """The place named by the county's ``seat``: a city before a town, a node before an area."""
    seat_name = area.county.get("seat", "")
    hit = (
        places[
            places["name"].str.casefold().str.contains(re.escape(seat_name.casefold()), regex=True)
        ]
        if seat_name
        else places.iloc[0:0]
    )
    if len(hit) == 0:
        raise ConfigError(
            f"seat '{seat_name}' of {area.county['name']} is not a named place in "
            f"'{area.osm_path.name}'; fix 'seat' in the region config"
        )
    rank = hit["place"].map({"city": 0, "town": 1}).fillna(2).to_numpy()
    k = int(np.lexsort((hit["id"].to_numpy(), (hit["osm_type"] != "node").to_numpy(), rank))[0])
    return gpd.GeoDataFrame(
        {"id": [hit["id"].iat[k]], "name": [hit["name"].iat[k]]},
        geometry=[hit.geometry.iat[k]],
        crs=WGS84,
    )


def _mapped_facilities(
    area: _Area,
    facilities: str | Path | None,
    coords: str,
    notes: list[str],
    encoding: str | None = None,
    buffer_m: float = 5_000.0,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame | None, Path, gpd.GeoDataFrame | None]:
    """Facilities mapped by the config's rules from OSM, or read from a user table.

    Returns the facilities, the rule table (None for a user table), the source and
    the table's hospitals outside the county within ``buffer_m`` (None from OSM).
    """
    fcfg = area.cfg.get("facilities", {})
    source = Path(facilities) if facilities is not None else area.osm_path
    if osm.is_osm_file(source):
        spec = {k: (None if "*" in v else set(v)) for k, v in fcfg.get("tags", {}).items()}
        feats = osm.features_from_osm(source, spec, bbox=area.bbox)
        feats = feats[
            shapely.intersects(area.island.buffer(0.005), np.asarray(feats.geometry.values))
        ]
        fac, mapping = classify_facilities(feats.reset_index(drop=True), fcfg)
        return fac.reset_index(drop=True), mapping, source, None
    fac = facilities_from_table(source, coords, notes, encoding=encoding)
    area_geom = area.island.buffer(0.005)
    name = area.county["name"]
    reach = io.buffered_boundary(area.boundary, buffer_m)
    fac, outside = hospitals_outside(fac, area_geom, reach, name, notes)
    fac = keep_in_county(fac, area_geom, source, "facilities", name, notes)
    return fac.reset_index(drop=True), None, source, outside


def _promoted_rule(example: str) -> dict[str, Any]:
    """The mapping row of the seat hospital promoted by :func:`promote_seat_hospital`."""
    return {
        "rule_id": "promoted-seat-hospital",
        "tier": Tier.COUNTY_HOSPITAL,
        "description": "no county hospital matched: the best facility near the seat was promoted",
        "features": 0,
        "facilities": 1,
        "examples": example,
    }


def _facility_mapping(
    fac: gpd.GeoDataFrame, mapping: pd.DataFrame | None, source: Path
) -> pd.DataFrame:
    """The rule table with the promotion row and facility counts after merging and promotion."""
    if mapping is None:  # a user table: its own tiers
        return mapping_from_table_tiers(fac, source)
    promoted = fac[fac["mapping_rule"] == "promoted-seat-hospital"]
    if len(promoted):
        row = pd.DataFrame([_promoted_rule(promoted["name"].iat[0])])
        mapping = pd.concat([mapping, row], ignore_index=True)
    per_rule = fac["mapping_rule"].value_counts()
    mapping["facilities"] = mapping["rule_id"].map(per_rule).fillna(0).astype("int64").to_numpy()
    return mapping[MAPPING_COLUMNS]


def _region_facilities(
    area: _Area,
    seat: gpd.GeoDataFrame,
    facilities: str | Path | None,
    coords: str,
    notes: list[str],
    encoding: str | None = None,
    buffer_m: float = 5_000.0,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, gpd.GeoDataFrame | None]:
    """The county's facilities, a county hospital promoted if none, standards as configured.

    A user table's standard column (达标/优质服务基层行/...), beds and staff are kept;
    without one (and from OSM, which carries no accreditation) every facility gets the
    config's ``assume_standard`` with ``standard_known`` False. Also returns the table's
    hospitals outside the county within the road buffer (None from OSM).
    """
    fcfg = area.cfg.get("facilities", {})
    fac, mapping, source, outside = _mapped_facilities(
        area, facilities, coords, notes, encoding, buffer_m
    )
    radius_m = float(fcfg.get("seat_radius_m", 5000.0))
    fac = promote_seat_hospital(fac, seat.geometry.iat[0], radius_m, notes)
    from_osm = mapping is not None
    if not from_osm:  # a user's table: its points are checked
        check_facility_points(fac, source, notes)
    mapping = _facility_mapping(fac, mapping, source)
    fac["assumed"] = from_osm  # OSM features: standards assumed (as before)
    if "standard_known" in fac.columns and bool(fac["standard_known"].all()):
        return fac, mapping, outside
    assume = bool(fcfg.get("assume_standard", True))
    fac["meets_standard"] = assume
    fac["standard_known"] = False
    for col in ("beds", "staff"):
        if col not in fac.columns:
            fac[col] = np.nan
    fac["outside"] = False
    if not assume:
        notes.append(
            "facility standards: no standard column and assume_standard = false in the "
            "region config: no centre is taken to meet the recommended standard"
        )
    elif from_osm:  # a user table says so in its own note
        notes.append(f"facility standards (OSM carries no accreditation): {NO_STANDARD_COLUMN}")
    return fac, mapping, outside


def _region_villages(
    area: _Area,
    places: gpd.GeoDataFrame,
    kinds: list[str],
    fac: gpd.GeoDataFrame,
    villages: str | Path | None,
    coords: str,
    notes: list[str],
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """Villages from a user table, else OSM places (of another extract when given)."""
    vcfg = area.cfg.get("villages", {})
    name = area.county["name"]
    if villages is not None and not osm.is_osm_file(villages):
        vil = villages_from_table(villages, coords, fac, vcfg, encoding=encoding)
        vil = keep_in_county(vil, area.island.buffer(0.01), villages, "villages", name, notes)
    else:
        vplaces = places if villages is None else _places(Path(villages), area.bbox, kinds)
        vil = _villages(vplaces, area.island, fac, vcfg)
        notes.append(
            f"villages: {len(vil)} OSM place nodes ({', '.join(vcfg.get('places', []))}) taken as "
            f"administrative villages (行政村); clinic 'standard' if a "
            f"{' or '.join(vcfg.get('clinic_tiers', []))} lies within "
            f"{vcfg.get('clinic_radius_m', 1000):g} m, else 'none'; population unknown (NaN)"
        )
    if len(vil) == 0:
        raise EmptyInputError(f"no villages found in {name}; give villages= with a point table")
    return vil


def _facility_count_notes(fac: gpd.GeoDataFrame, county_name: str, notes: list[str]) -> None:
    """Note the facilities per tier, and a county without a township health centre."""
    counts = fac["tier"].value_counts()
    notes.append(
        "facilities: "
        + ", ".join(f"{counts.get(t, 0)} {t.replace('_', ' ')}" for t in TIERS)
        + " (mapped by the rules of the region config; see facility_mapping)"
    )
    if counts.get(Tier.TOWNSHIP_CENTRE, 0) == 0:
        notes.append(
            f"{county_name} has no township health centre in the data: no sub-centre candidate "
            "can be proposed; add facilities with facilities="
        )


def _road_buffer_m(area: _Area, road_buffer_m: float | None) -> float:
    """Roads kept beyond the border, metres: the argument, else the config's (5,000 m)."""
    default_buffer = area.cfg["region"].get("road_buffer_m", 5000.0)
    return io.check_buffer_m(default_buffer if road_buffer_m is None else road_buffer_m)


def _population_and_roads(
    area: _Area,
    population: str | Path | None,
    roads: str | Path | None,
    road_buffer_m: float | None,
    notes: list[str],
) -> tuple[io.PopulationGrid, gpd.GeoDataFrame]:
    """The population grid (checked, warnings in ``notes``) and the roads of the county.

    The raster is read in a thread while the roads are (GDAL's reading releases the
    GIL; parsing an OSM extract is Python): an error of the raster still comes first.
    """
    from concurrent.futures import ThreadPoolExecutor

    pop_path = population or _data_path(area.cfg, area.data_dir, "population")
    buffer_m = _road_buffer_m(area, road_buffer_m)
    road_src = roads if roads is not None else area.osm_path
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(io.read_population, pop_path, area.boundary)
        try:
            road_table = io.read_roads(road_src, area.boundary, buffer_m=buffer_m)
        except BaseException:
            pending.result()  # the raster's own error first, as when read one after the other
            raise
        pop = pending.result()
    io.population_checks(pop, area.boundary, notes)
    return pop, road_table


def load_region_county(
    cfg: dict,
    *,
    region: str | Path = "",
    county: str | None = None,
    population: str | Path | None = None,
    roads: str | Path | None = None,
    facilities: str | Path | None = None,
    villages: str | Path | None = None,
    coords: str = "wgs84",
    data_dir: str | Path | None = None,
    road_buffer_m: float | None = None,
    encoding: str | None = None,
) -> CountyInputs:
    """Load every input of one county of a TOML region.

    Parameters
    ----------
    cfg
        The region config (:func:`read_region_config`).
    region
        Name or path the region was given by; the result's ``region`` when the
        config has no ``[region] name``.
    county, population, roads, facilities, villages, coords, data_dir, road_buffer_m, encoding
        As for :func:`coverkit.inputs.load_county`.

    Returns
    -------
    CountyInputs
        Boundary, townships, seat, population grid, roads, facilities,
        villages, the facility mapping table and user notes.

    Raises
    ------
    ConfigError
        Unknown county, a seat not found, or a data file the config lacks.
    InputFileError, EmptyInputError, CRSError
        From the loaders, naming the file and the fix.
    """
    entry = pick_county(cfg, county)
    area = _county_area(cfg, entry, data_dir)
    notes: list[str] = []
    kinds = _place_kinds(cfg)
    places = _county_places(area, kinds)
    seat = _county_seat(places, area)
    buffer_m = _road_buffer_m(area, road_buffer_m)
    fac, mapping, outside = _region_facilities(
        area, seat, facilities, coords, notes, encoding, buffer_m
    )
    tcfg = cfg.get("townships", {})
    townships = _townships(area.osm_path, area.island, seat, places, tcfg, notes)
    seat["township"] = assign_township(seat, townships)
    fac["township"] = assign_township(fac, townships)
    fac["name"] = _name_unnamed(fac, places)
    vil = _region_villages(area, places, kinds, fac, villages, coords, notes, encoding)
    vil = villages_with_townships(vil, townships, villages or "the village places")
    fac = fac[FACILITY_COLUMNS].reset_index(drop=True)
    _facility_count_notes(fac, entry["name"], notes)
    pop, road_lines = _population_and_roads(area, population, roads, road_buffer_m, notes)
    logger.info(
        "%s: %d facilities, %d villages, %d townships, population %.0f",
        entry["name"],
        len(fac),
        len(vil),
        len(townships),
        pop.total,
    )
    return CountyInputs(
        county_id=entry["id"],
        county_name=entry["name"],
        boundary=area.boundary,
        townships=townships,
        seat=seat,
        population=pop,
        roads=road_lines,
        facilities=fac,
        villages=vil,
        facility_mapping=mapping.reset_index(drop=True),
        notes=notes,
        region=str(cfg["region"].get("name", region)),
        outside_hospitals=_outside_frame(outside, townships),
    )


def _outside_frame(
    outside: gpd.GeoDataFrame | None, townships: gpd.GeoDataFrame
) -> gpd.GeoDataFrame | None:
    """The hospitals outside the county in the facility columns (township: the nearest)."""
    if outside is None or len(outside) == 0:
        return None
    outside = outside.assign(assumed=False, township=assign_township(outside, townships))
    return outside[FACILITY_COLUMNS].reset_index(drop=True)


__all__ = [
    "DROP",
    "REGIONS_DIR",
    "TIERS",
    "classify_facilities",
    "load_region_county",
    "pick_county",
    "read_region_config",
]
