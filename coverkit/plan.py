"""The county plan: one run of load → travel time → siting → villages.

:class:`CountyPlan` is what :mod:`coverkit.maps` and :mod:`coverkit.report`
consume; :func:`plan_county` builds it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from coverkit import settings

if TYPE_CHECKING:
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    from coverkit.io import PopulationGrid

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlanParameters:
    """Parameters of a county plan; defaults come from :mod:`coverkit.settings`."""

    p_values: tuple[int, ...] = settings.p_values
    threshold_min: float = settings.threshold_min
    thresholds_min: tuple[float, ...] = settings.thresholds_min
    objective: str = "pmedian"
    walk_speed_kph: float = settings.walk_speed_kph


@dataclass(frozen=True)
class CountyPlan:
    """Everything one county plan produced.

    All GeoDataFrames are in EPSG:4326 and have an ``id`` column.

    Attributes
    ----------
    county_id, county_name
        Code and display name of the county.
    params
        The parameters the plan ran with.
    boundary
        One row: ``id, name, geometry`` (Polygon/MultiPolygon).
    townships
        ``id, name, population, geometry`` (polygons; derived ones say so in notes).
    seat
        One row: ``id, name, geometry`` (Point) - the county seat (县城).
    roads
        ``id, highway, geometry`` (LineString) clipped to the county.
    population
        The population grid of the county.
    facilities
        ``id, name, tier, is_central, assumed, geometry``; ``tier`` is one of
        ``county_hospital`` (县级医院), ``township_centre`` (乡镇卫生院),
        ``village_clinic`` (村卫生室).
    villages
        ``id, name, township, population, population_estimated, clinic, mode,
        rule_id, reason_zh, reason_en, serving_facility, minutes, geometry``;
        ``mode`` is one of ``fixed``, ``joint``, ``rotation``, ``stationed``.
    time_before_min, time_after_min
        float32 rasters on the population grid: minutes to the nearest
        county-level facility before/after the chosen sub-centres; NaN outside
        the county, ``inf`` where unreachable.
    eligibility
        ``indicator, indicator_zh, value, threshold, unit, passes``.
    eligible
        Whether the county is proposed for sub-centres.
    siting
        One row per p evaluated: ``p, selected_ids, selected_names, objective,
        pop_within_before, pop_within_after, share_within_before,
        share_within_after, mean_min_before, mean_min_after, recommended``.
    subcentres
        The recommended sites: ``id, name, rank, pop_newly_within,
        mean_saved_min, max_saved_min, townships, geometry``.
    catchments
        ``facility_id, name, tier, population, geometry`` - area nearest to each
        county-level facility after the plan.
    isochrones
        ``scenario`` ('before'/'after'), ``threshold_min``, ``population``, ``geometry``.
    coverage
        ``threshold_min, p, population_within, share_within`` (p = 0: existing
        county hospitals only).
    timetable
        Rotation visits: ``township, team, weekday, half_day, villages, drive_min``.
    staffing
        Staffing and scale checks: ``level, name, population, rule, source,
        required_min, required_max, ...``.
    summary
        Key figures for the CLI and report headline.
    notes
        Assumptions and warnings to show users (e.g. "facilities assumed").
    """

    county_id: str
    county_name: str
    params: PlanParameters
    boundary: gpd.GeoDataFrame
    townships: gpd.GeoDataFrame
    seat: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame
    population: PopulationGrid
    facilities: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    time_before_min: np.ndarray
    time_after_min: np.ndarray
    eligibility: pd.DataFrame
    eligible: bool
    siting: pd.DataFrame
    subcentres: gpd.GeoDataFrame
    catchments: gpd.GeoDataFrame
    isochrones: gpd.GeoDataFrame
    coverage: pd.DataFrame
    timetable: pd.DataFrame
    staffing: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
