"""The county plan: one run of load → travel time → siting → villages.

:class:`CountyPlan` is what :mod:`coverkit.maps` and :mod:`coverkit.report`
consume; :func:`plan_county` builds it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from coverkit import settings

if TYPE_CHECKING:
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    from coverkit.io import PopulationGrid
    from coverkit.region import CountyInputs

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


def _note(notes: list[str], message: str) -> None:
    """Log a user-facing warning and keep it for the report."""
    logger.warning(message)
    notes.append(message)


def _xy(gdf: gpd.GeoDataFrame, crs: Any) -> np.ndarray:
    pts = gdf.to_crs(crs).geometry
    return np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()])


def select_candidates(
    facilities: gpd.GeoDataFrame,
    seat: gpd.GeoDataFrame,
    *,
    metric: Any,
    seat_township: str | None = None,
    exclusion_radius_m: float | None = None,
    notes: list[str] | None = None,
) -> gpd.GeoDataFrame:
    """Candidate sub-centres: central township health centres outside the county seat.

    Parameters
    ----------
    facilities
        Facilities with ``tier``, optional ``is_central`` and ``township``.
    seat
        The county seat (one point).
    metric
        Projected CRS for distances.
    seat_township
        Township id/name of the county seat; its centres are excluded.
    exclusion_radius_m
        Centres within this distance of the seat count as in the county seat
        (default :data:`coverkit.settings.seat_exclusion_radius_m`).
    notes
        List to which user-facing notes are appended.

    Returns
    -------
    GeoDataFrame
        The candidate rows of ``facilities`` with a ``seat_distance_m`` column.
    """
    import numpy as np

    notes = notes if notes is not None else []
    radius = settings.seat_exclusion_radius_m if exclusion_radius_m is None else exclusion_radius_m
    centres = facilities[facilities["tier"] == "township_centre"].copy()
    if "is_central" in centres and centres["is_central"].fillna(False).astype(bool).any():
        central = centres[centres["is_central"].fillna(False).astype(bool)]
        centres = central
    else:
        _note(
            notes,
            "no township centre is marked central (中心乡镇卫生院); all township centres "
            "were taken as candidates",
        )
    seat_xy = _xy(seat, metric)[0]
    cxy = _xy(centres, metric) if len(centres) else np.zeros((0, 2))
    dist = np.hypot(cxy[:, 0] - seat_xy[0], cxy[:, 1] - seat_xy[1])
    centres["seat_distance_m"] = dist
    outside = dist > radius
    if seat_township is not None and "township" in centres:
        outside &= (centres["township"].astype(str) != str(seat_township)).to_numpy()
    return centres[outside]


def _seat_offset_ratio(
    boundary_m: gpd.GeoDataFrame, seat_xy: np.ndarray, cell_xy: np.ndarray, weights: np.ndarray
) -> tuple[float, float]:
    """Distance seat → population-weighted centroid over the radius of a circle of the county's area."""
    import numpy as np

    area_m2 = float(boundary_m.geometry.area.sum())
    radius = float(np.sqrt(area_m2 / np.pi))
    total = float(weights.sum())
    if total <= 0:
        return 0.0, area_m2
    centroid = (weights[:, None] * cell_xy).sum(axis=0) / total
    dist = float(np.hypot(*(centroid - seat_xy)))
    return dist / radius, area_m2


def plan_county(
    inputs: CountyInputs,
    *,
    params: PlanParameters | None = None,
    on_stage: Callable[[int], None] | None = None,
) -> CountyPlan:
    """Plan one county: travel times, sub-centre choice, village service.

    Parameters
    ----------
    inputs
        The loaded county (:func:`coverkit.region.load_county`).
    params
        Plan parameters; defaults from :mod:`coverkit.settings`.
    on_stage
        Called with 1, 2, 3 as the travel-time, siting and village stages start.

    Returns
    -------
    CountyPlan

    Raises
    ------
    CoverkitError
        For inputs that cannot be planned (no roads in the county, no
        candidates, ...), with a message naming the problem.
    """
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    from pyproj import Transformer

    from coverkit import siting, surface, villages
    from coverkit.crs import metric_crs
    from coverkit.network import network_from_roads, od_matrix, travel_times_to_nearest

    params = params or PlanParameters()
    notes: list[str] = list(inputs.notes)

    def stage(i: int) -> None:
        if on_stage is not None:
            on_stage(i)

    # --- 2. travel time ---------------------------------------------------------
    stage(1)
    grid = inputs.population
    metric = metric_crs(inputs.boundary)
    boundary_m = inputs.boundary.to_crs(metric)
    net = network_from_roads(inputs.roads, crs=metric)
    rows, cols, gx, gy = grid.cell_centres()
    cx, cy = Transformer.from_crs(grid.crs, metric, always_xy=True).transform(gx, gy)
    cell_xy = np.column_stack([cx, cy])
    weights = grid.values[rows, cols].astype("float64")

    fac = inputs.facilities
    hospitals = fac[fac["tier"] == "county_hospital"]
    seat_xy = _xy(inputs.seat, metric)[0]
    seat_township = inputs.seat["township"].iloc[0] if "township" in inputs.seat else None
    candidates = select_candidates(
        fac, inputs.seat, metric=metric, seat_township=seat_township, notes=notes
    )
    hosp_xy = _xy(hospitals, metric) if len(hospitals) else np.zeros((0, 2))
    cand_xy = _xy(candidates, metric) if len(candidates) else np.zeros((0, 2))
    if len(hospitals):
        baseline, _ = travel_times_to_nearest(net, cell_xy, hosp_xy)
    else:
        baseline = np.full(len(cell_xy), np.inf)
        _note(
            notes,
            "no county hospital (县级医院) given: coverage is measured from sub-centres alone",
        )
    cost = od_matrix(net, cell_xy, cand_xy)

    # --- 3. siting --------------------------------------------------------------------
    stage(2)
    choice = siting.choose_subcentres(
        cost,
        weights,
        baseline_min=baseline,
        p_values=params.p_values,
        objective=params.objective,
        threshold_min=params.threshold_min,
        candidate_ids=candidates["id"].tolist(),
        candidate_names=candidates["name"].tolist(),
    )
    selected = list(choice.selected)
    after = np.minimum(baseline, cost[:, selected].min(axis=1)) if selected else baseline
    T = params.threshold_min
    total_pop = float(weights.sum())
    share_beyond = float(weights[~(baseline <= T)].sum() / total_pop) if total_pop else 0.0
    offset_ratio, area_m2 = _seat_offset_ratio(boundary_m, seat_xy, cell_xy, weights)
    eligibility = siting.eligibility(
        population=grid.total,
        area_km2=area_m2 / 1e6,
        seat_offset_ratio=offset_ratio,
        share_beyond_threshold=share_beyond,
    )
    explanation = siting.explain_sites(
        cost,
        weights,
        selected,
        baseline_min=baseline,
        threshold_min=T,
        candidate_ids=candidates["id"].tolist(),
    )
    coverage = siting.coverage_table(
        cost, weights, baseline_min=baseline, thresholds_min=params.thresholds_min
    )

    # rasters and polygons on the grid
    county_xy = np.vstack([hosp_xy, cand_xy[selected]]) if selected else hosp_xy
    time_before, _ = surface.travel_time_surface(net, grid, hosp_xy, crs=metric)
    time_after, nearest_after = surface.travel_time_surface(net, grid, county_xy, crs=metric)
    county_ids = hospitals["id"].tolist() + candidates["id"].iloc[selected].tolist()
    catch = surface.catchments(grid, nearest_after, county_ids)
    iso = pd.concat(
        [
            surface.isochrones(grid, time_before, thresholds_min=params.thresholds_min).assign(
                scenario="before"
            ),
            surface.isochrones(grid, time_after, thresholds_min=params.thresholds_min).assign(
                scenario="after"
            ),
        ],
        ignore_index=True,
    )
    iso = gpd.GeoDataFrame(iso, geometry="geometry", crs=grid.crs)

    # --- 4. villages ---------------------------------------------------------------------
    stage(3)
    vil = villages.estimate_village_population(inputs.villages, grid, townships=inputs.townships)
    vxy = _xy(vil, metric)
    v2v = od_matrix(net, vxy, vxy)
    centres = fac[fac["tier"] == "township_centre"]
    centre_xy = _xy(centres, metric)
    v2c = od_matrix(net, vxy, centre_xy)
    own = _own_centre(vil, centres, v2c)
    centre_min = v2c[np.arange(len(vil)), own] if len(centres) else np.full(len(vil), np.inf)
    centre_ids = centres["id"].to_numpy()[own] if len(centres) else np.array([None] * len(vil))
    vil = villages.assign_service_modes(
        vil, village_clinic_min=v2v, centre_min=centre_min, centre_ids=centre_ids
    )
    timetable, shortfall = villages.rotation_timetable(
        vil,
        centre_to_village_min=centre_min,
        village_to_village_min=v2v,
    )
    staffing = villages.staffing_checks(
        vil,
        township_population=None,
        county_population=grid.total,
        county_name=inputs.county_name,
    )
    within_before = float(weights[baseline <= T].sum())
    within_after = float(weights[after <= T].sum())
    subcentres = explanation.sites
    by_mode = vil["mode"].value_counts().sort_index().to_dict()
    summary = {
        "population": grid.total,
        "within_before": within_before,
        "within_after": within_after,
        "share_before": within_before / total_pop if total_pop else 0.0,
        "share_after": within_after / total_pop if total_pop else 0.0,
        "p": len(selected),
        "subcentre_names": candidates["name"].iloc[selected].astype(str).tolist(),
        "villages_by_mode": by_mode,
        "eligibility_reason": choice.reason if hasattr(choice, "reason") else "",
    }
    return CountyPlan(
        county_id=inputs.county_id,
        county_name=inputs.county_name,
        params=params,
        boundary=inputs.boundary,
        townships=inputs.townships,
        seat=inputs.seat,
        roads=inputs.roads,
        population=grid,
        facilities=fac,
        villages=vil,
        time_before_min=time_before,
        time_after_min=time_after,
        eligibility=eligibility,
        eligible=bool(eligibility.attrs.get("eligible", eligibility["passes"].any())),
        siting=choice.table,
        subcentres=subcentres,
        catchments=catch,
        isochrones=iso,
        coverage=coverage,
        timetable=timetable,
        staffing=staffing,
        summary=summary,
        notes=notes,
    )


def _own_centre(vil: gpd.GeoDataFrame, centres: gpd.GeoDataFrame, v2c: np.ndarray) -> np.ndarray:
    """Index of each village's township centre: its own township's nearest, else the nearest."""
    import numpy as np

    if len(centres) == 0:
        return np.zeros(len(vil), dtype=int)
    masked = v2c.copy()
    if "township" in vil and "township" in centres:
        same = (
            vil["township"].astype(str).to_numpy()[:, None]
            == centres["township"].astype(str).to_numpy()[None, :]
        )
        has_own = same.any(axis=1)
        masked[has_own] = np.where(same[has_own], v2c[has_own], np.inf)
    own = np.argmin(np.where(np.isfinite(masked), masked, np.inf), axis=1)
    return own
