"""What every county loader returns, and where loaders find their data.

:class:`CountyInputs` is the one result of :func:`coverkit.inputs.load_county`,
whatever the loader (a TOML region or a Chinese county); the column lists say
the order of its tables. :func:`default_data_dir` resolves the data directory
every loader reads shipped files from.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from coverkit.errors import InputFileError
from coverkit.io import PopulationGrid, shown_path, usable_path

#: The repository's ``data/`` folder (next to the package), the last resort.
REPO_DATA_DIR: Path = Path(__file__).resolve().parent.parent.parent / "data"

#: Columns of ``CountyInputs.facilities``, in order.
FACILITY_COLUMNS: list[str] = [
    "id",
    "name",
    "tier",
    "is_central",
    "meets_standard",
    "standard_known",
    "beds",
    "staff",
    "outside",
    "assumed",
    "township",
    "mapping_rule",
    "source",
    "geometry",
]

#: Columns of ``CountyInputs.villages``, in order. ``source`` says where a village's
#: point comes from: ``'nbs'`` (the NBS/Amap table), ``'osm'`` (an OpenStreetMap place:
#: the embedded regions, or a Chinese village placed by name, issue 17) or ``'table'``
#: (the planner's village table, or that table's own ``source`` column).
VILLAGE_COLUMNS: list[str] = [
    "id",
    "name",
    "township",
    "population",
    "clinic",
    "source",
    "geometry",
]

#: Columns of ``CountyInputs.facility_mapping``, in order.
MAPPING_COLUMNS: list[str] = [
    "rule_id",
    "tier",
    "description",
    "features",
    "facilities",
    "examples",
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
        ``id, name, tier, is_central, meets_standard, standard_known, beds, staff,
        outside, assumed, township, mapping_rule, source, geometry``:
        ``meets_standard`` (bool) whether a centre meets the recommended standard
        (优质服务基层行推荐标准), ``standard_known`` False when the data had no such
        column (every centre then assumed to meet it); ``beds`` (床位) and ``staff``
        (人员/编制) float, NaN unknown; ``outside`` False (the county's own).
    villages
        ``id, name, township, population`` (NaN if unknown), ``clinic``
        (``'standard'``/``'weak'``/``'none'``), ``source`` (``'nbs'``, ``'osm'``
        or ``'table'``: where the point comes from), ``geometry``.
    facility_mapping
        One row per mapping rule: ``rule_id, tier, description, features,
        facilities, examples`` (what was mapped how).
    notes
        Assumptions and warnings to show users.
    region
        Name of the region config the county came from.
    outside_hospitals
        Hospitals of a facility table outside the county but within the road
        buffer (周边二级以上综合医院, 001 §2): the facility columns with
        ``outside`` True. They count as existing county-level cover only when a
        plan asks (``count_outside_hospitals``); never candidates. ``None``: none.
    village_status
        ``located`` (villages with points, or the planner's table),
        ``no_location`` (administrative villages exist but none has a point: the
        village section is empty and says why) or ``not_applicable`` (no
        administrative village: an urban district, 城区).
    village_matching
        Chinese counties whose villages were matched to OpenStreetMap places:
        one row per township, ``township, villages, located_nbs, matched_osm,
        ambiguous, too_far, unmatched, match_rate``
        (:func:`coverkit.inputs.places.place_villages`). ``None``: no matching.
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
    outside_hospitals: gpd.GeoDataFrame | None = None
    village_status: str = "located"
    village_matching: pd.DataFrame | None = None


def default_data_dir(data_dir: str | Path | None = None) -> Path:
    """The data directory: ``data_dir``, else ``$COVERKIT_DATA``, else the repo's ``data/``.

    Parameters
    ----------
    data_dir
        A folder given by the caller; it wins when given.

    Returns
    -------
    pathlib.Path
        The folder holding ``boundaries/``, ``population/`` and ``roads/``.

    Raises
    ------
    InputFileError
        If the directory does not exist.
    """
    if data_dir is not None:
        d = usable_path(data_dir, "data directory")
    elif os.environ.get("COVERKIT_DATA"):
        d = usable_path(os.environ["COVERKIT_DATA"], "data directory (COVERKIT_DATA)")
    else:
        d = REPO_DATA_DIR
    if not d.is_dir():
        raise InputFileError(
            f"data directory '{shown_path(d)}' does not exist; pass data_dir= or set "
            "COVERKIT_DATA to the folder holding boundaries/, population/ and roads/"
        )
    return d


__all__ = [
    "FACILITY_COLUMNS",
    "MAPPING_COLUMNS",
    "REPO_DATA_DIR",
    "VILLAGE_COLUMNS",
    "CountyInputs",
    "default_data_dir",
]
