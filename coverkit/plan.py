"""The county plan: one run of load → travel time → siting → villages.

:class:`CountyPlan` is what :mod:`coverkit.maps` and :mod:`coverkit.report`
consume; :func:`plan_county` builds it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
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
    candidates: str = "auto"
    standard_only: bool = False
    #: ``"drive"`` (road speeds by class) or ``"walk"`` (every road at ``walk_speed_kph``).
    mode: str = "drive"
    #: ``(class, km/h)`` pairs merged over :data:`coverkit.settings.road_speeds_kph`.
    road_speeds_kph: tuple[tuple[str, float], ...] = ()
    #: Longest off-road walk to a road, metres; farther places are unreachable.
    max_walk_m: float = settings.max_walk_m


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
    runners_up
        Per chosen site, the best alternatives swapped in for it.
    rotation_shortfall
        Per township: rotation slots needed vs available, teams to add.
    shared_clinics
        Groups of villages without a clinic that could share one new clinic.
    facility_mapping
        How source facilities were mapped onto the tiers (rule, counts).
    reach
        Population and share within each threshold per township and for the
        county, before and after: ``scenario, zone, population,
        population_within_<T>min, share_within_<T>min, population_unreachable``.
    objectives
        For the recommended p, each objective's optimum (p-median, MCLP,
        p-center) with all three objectives' figures, so a planner sees where
        they disagree.
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
    runners_up: pd.DataFrame | None = None
    rotation_shortfall: pd.DataFrame | None = None
    shared_clinics: pd.DataFrame | None = None
    facility_mapping: pd.DataFrame | None = None
    reach: pd.DataFrame | None = None
    objectives: pd.DataFrame | None = None


def _note(notes: list[str], message: str) -> None:
    """Log a user-facing warning and keep it for the report."""
    logger.warning(message)
    notes.append(message)


def _xy(gdf: gpd.GeoDataFrame, crs: Any) -> np.ndarray:
    """x, y of the features in ``crs`` as an (n, 2) array (polygons: a point inside)."""
    from coverkit.network import points_xy

    pts = gdf.geometry
    if not (pts.geom_type == "Point").all():
        pts = pts.representative_point()
    return points_xy(pts, crs)


def select_candidates(
    facilities: gpd.GeoDataFrame,
    seat: gpd.GeoDataFrame,
    *,
    metric: Any,
    seat_township: str | None = None,
    exclusion_radius_m: float | None = None,
    mode: str = "auto",
    p_max: int = 2,
    standard_only: bool = False,
    notes: list[str] | None = None,
) -> gpd.GeoDataFrame:
    """Candidate sub-centres: (central) township health centres outside the county seat.

    Parameters
    ----------
    facilities
        Facilities with ``tier``, optional ``is_central``, ``township`` and
        ``in_seat`` (True for facilities in the county seat's townships).
    seat
        The county seat (one point).
    metric
        Projected CRS for distances.
    seat_township
        Township of the county seat; its centres are excluded (在县城之外选建).
        Pass ``None`` when townships are derived rather than official.
    exclusion_radius_m
        Centres within this distance of the seat count as in the county seat
        (default :data:`coverkit.settings.seat_exclusion_radius_m`).
    mode
        ``'central'``: only centres marked central (中心乡镇卫生院); ``'all'``:
        every township centre; ``'auto'`` (default): the central ones if at
        least ``p_max`` of them lie outside the seat, else all (with a note).
    p_max
        Largest number of sites asked (for ``'auto'``).
    standard_only
        Keep only centres that meet the "quality service at grassroots"
        recommended standard (已达到"优质服务基层行"推荐标准, column
        ``meets_standard``), as the policy prefers (002 §(一)).
    notes
        List to which user-facing notes are appended.

    Returns
    -------
    GeoDataFrame
        The candidate rows of ``facilities`` with a ``seat_distance_m`` column.

    Raises
    ------
    InvalidValueError
        For an unknown ``mode``.
    """
    import numpy as np

    from coverkit.errors import InvalidValueError

    if mode not in ("auto", "central", "all"):
        raise InvalidValueError(f"candidates={mode!r} is not known; use auto, central or all")
    notes = notes if notes is not None else []
    radius = settings.seat_exclusion_radius_m if exclusion_radius_m is None else exclusion_radius_m
    centres = facilities[facilities["tier"] == "township_centre"].copy()
    seat_xy = _xy(seat, metric)[0]
    cxy = _xy(centres, metric) if len(centres) else np.zeros((0, 2))
    centres["seat_distance_m"] = np.hypot(cxy[:, 0] - seat_xy[0], cxy[:, 1] - seat_xy[1])
    outside = np.array(centres["seat_distance_m"] > radius, dtype=bool)
    if seat_township is not None and "township" in centres:
        outside &= np.array(centres["township"].astype(str) != str(seat_township), dtype=bool)
    if "in_seat" in centres:
        outside &= ~np.array(centres["in_seat"].fillna(False), dtype=bool)
    centres = centres[outside]
    if standard_only:
        meets = np.array(
            centres["meets_standard"].fillna(False) if "meets_standard" in centres else [],
            dtype=bool,
        )
        if meets.size < len(centres):
            meets = np.zeros(len(centres), dtype=bool)
        _note(
            notes,
            f"standard only: {int(meets.sum())} of {len(centres)} township centres outside the "
            "seat meet the recommended standard (优质服务基层行推荐标准) and stay candidates",
        )
        centres = centres[meets]
    if "is_central" in centres:
        central = centres["is_central"].fillna(False).astype(bool).to_numpy()
    else:
        central = np.zeros(len(centres), dtype=bool)
    if mode == "central" or (mode == "auto" and central.sum() >= p_max):
        return centres[central]
    if mode == "auto":
        _note(
            notes,
            f"{int(central.sum())} central township centre(s) (中心乡镇卫生院) lie outside the "
            f"county seat, fewer than the {p_max} sites asked: all {len(centres)} township "
            "centres outside the seat were taken as candidates",
        )
    return centres


def _seat_offset_ratio(
    boundary_m: gpd.GeoDataFrame, seat_xy: np.ndarray, cell_xy: np.ndarray, weights: np.ndarray
) -> tuple[float, float]:
    """Seat → population-weighted centroid distance over the radius of the county's circle."""
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
        For inputs that cannot be planned (no roads in the county, ...), with
        a message naming the problem.

    Notes
    -----
    Travel times are computed once, from every cell of the county to every
    county hospital and every candidate (an OD matrix on the road network);
    the before/after surfaces, catchments, isochrones and the siting models
    are all read from that one matrix, so their numbers agree.
    """
    import numpy as np
    import pandas as pd

    from coverkit import siting, surface
    from coverkit.crs import metric_crs
    from coverkit.network import network_from_roads

    params = params or PlanParameters()
    notes: list[str] = list(inputs.notes)
    T = float(params.threshold_min)

    def stage(i: int) -> None:
        if on_stage is not None:
            on_stage(i)

    # --- 2. travel time ---------------------------------------------------------
    stage(1)
    grid = inputs.population
    metric = metric_crs(inputs.boundary)
    boundary_m = inputs.boundary.to_crs(metric)
    estimated = len(inputs.roads) == 0
    if estimated:
        net = None
        _note(
            notes,
            "no road network: travel times are ESTIMATED from straight-line distance × "
            f"{settings.circuity_factor:g} (detour ratio) at {settings.fallback_speed_kph:g} km/h "
            "(估算值); give --roads for real road travel times",
        )
    else:
        net = network_from_roads(
            inputs.roads,
            crs=metric,
            mode=params.mode,
            speeds_kph=dict(params.road_speeds_kph) or None,
            walk_speed_kph=params.walk_speed_kph,
        )
        if params.mode == "walk":
            _note(
                notes,
                f"walking mode: every road is walked at {params.walk_speed_kph:g} km/h "
                "(步行可达时间)",
            )
        if params.road_speeds_kph:
            listed = ", ".join(f"{c} {v:g} km/h" for c, v in params.road_speeds_kph)
            _note(notes, f"road speeds set by the user (道路速度自定义): {listed}")
    rows, cols, gx, gy = surface.mask_cell_centres(grid)
    from pyproj import Transformer

    cx, cy = Transformer.from_crs(grid.crs, metric, always_xy=True).transform(gx, gy)
    cell_xy = np.column_stack([cx, cy])
    cell_pop = grid.values[rows, cols].astype("float64")

    fac = inputs.facilities
    hospitals = fac[fac["tier"] == "county_hospital"]
    official = "derived" not in inputs.townships or not inputs.townships["derived"].any()
    seat_township = (
        inputs.seat["township"].iloc[0] if official and "township" in inputs.seat else None
    )
    candidates = select_candidates(
        fac,
        inputs.seat,
        metric=metric,
        seat_township=seat_township,
        mode=params.candidates,
        p_max=max(params.p_values),
        standard_only=params.standard_only,
        notes=notes,
    )
    n_h = len(hospitals)
    sites_xy = np.vstack(
        [
            _xy(hospitals, metric) if n_h else np.zeros((0, 2)),
            _xy(candidates, metric) if len(candidates) else np.zeros((0, 2)),
        ]
    )
    walk = {"walk_speed_kph": params.walk_speed_kph, "max_walk_m": params.max_walk_m}
    od = _od(net, cell_xy, sites_xy, **walk)
    if n_h:
        baseline = od[:, :n_h].min(axis=1)
        nearest_h = od[:, :n_h].argmin(axis=1)
    else:
        baseline = np.full(len(cell_xy), np.inf)
        nearest_h = np.zeros(len(cell_xy), dtype=int)
        _note(
            notes,
            "no county hospital (县级医院) given: coverage is measured from sub-centres alone",
        )
    cost = od[:, n_h:]
    populated = cell_pop > 0
    if net is not None and n_h and populated.any() and not np.isfinite(od[populated, :n_h]).any():
        from coverkit.errors import InfeasibleError

        names = ", ".join(hospitals["name"].astype(str).head(3))
        raise InfeasibleError(
            f"no inhabited cell of {inputs.county_name} reaches the county hospital ({names}) "
            "over the road network: the roads are cut off from it or more than "
            f"{params.max_walk_m:g} m (max_walk_m) from the people; give roads that cover "
            "the county (--roads), or --roads none for straight-line estimates"
        )
    w = cell_pop[populated]
    total_pop = float(w.sum())

    # --- 3. siting ----------------------------------------------------------------
    stage(2)
    seat_xy = _xy(inputs.seat, metric)[0]
    share_beyond = float(w[~(baseline[populated] <= T)].sum() / total_pop) if total_pop else 0.0
    offset_ratio, area_m2 = _seat_offset_ratio(boundary_m, seat_xy, cell_xy[populated], w)
    eligibility = siting.eligibility(
        population=grid.total,
        area_km2=area_m2 / 1e6,
        seat_offset_ratio=offset_ratio,
        share_beyond_threshold=share_beyond,
    )
    eligible = bool(eligibility.attrs.get("eligible", bool(eligibility["passes"].any())))
    cand_ids = candidates["id"].astype(str).tolist()
    cand_names = candidates["name"].astype(str).tolist()
    selected: list[int] = []
    choice_table = pd.DataFrame()
    reason = ""
    runners_up = pd.DataFrame()
    sites_table = pd.DataFrame()
    coverage = pd.DataFrame()
    comparison = pd.DataFrame()
    usable = np.isfinite(cost[populated]).any(axis=0) if len(candidates) else np.zeros(0, bool)
    if int(usable.sum()) == 0:
        reason = (
            f"no candidate: {len(candidates)} township centre(s) lie outside the county seat "
            "and reach the population by road; give a facility table with township "
            "health centres (--facilities)"
        )
        _note(notes, f"sub-centres not chosen: {reason}")
    else:
        p_values = tuple(p for p in params.p_values if p <= int(usable.sum()))
        if not p_values:
            from coverkit.errors import InfeasibleError

            raise InfeasibleError(
                f"p={','.join(map(str, params.p_values))} sub-centres asked but only "
                f"{int(usable.sum())} candidate township health centre(s) lie outside the "
                f"county seat and reach the population; ask for -p {int(usable.sum())} or "
                "fewer, or add candidates with --facilities"
            )
        if len(p_values) < len(params.p_values):
            _note(
                notes,
                f"p={max(params.p_values)} asked but only {int(usable.sum())} candidate(s) "
                "lie outside the county seat; larger p skipped",
            )
        choice = siting.choose_subcentres(
            cost[populated],
            w,
            baseline_min=baseline[populated] if n_h else None,
            p_values=p_values,
            objective=params.objective,
            threshold_min=T,
            candidate_ids=cand_ids,
            candidate_names=cand_names,
        )
        selected = list(choice.selected)
        choice_table = choice.table.assign(
            status=[choice.results[p].status for p in choice.table["p"]],
            gap=[choice.results[p].gap for p in choice.table["p"]],
            method=[choice.results[p].method for p in choice.table["p"]],
            solve_time_s=[choice.results[p].solve_time_s for p in choice.table["p"]],
        )
        reason = choice.reason
        comparison = siting.compare_objectives(
            cost[populated],
            w,
            baseline_min=baseline[populated] if n_h else None,
            p=choice.recommended_p,
            threshold_min=T,
            candidate_ids=cand_ids,
            candidate_names=cand_names,
        )
        explanation = siting.explain_sites(
            cost[populated],
            w,
            selected,
            baseline_min=baseline[populated] if n_h else None,
            threshold_min=T,
            candidate_ids=cand_ids,
            candidate_names=cand_names,
        )
        sites_table = explanation.sites
        runners_up = explanation.runners_up
        coverage = siting.coverage_table(
            cost[populated],
            w,
            baseline_min=baseline[populated] if n_h else None,
            thresholds_min=params.thresholds_min,
            p_values=sorted({*params.p_values, 1, 2, 3}),
            candidate_ids=cand_ids,
        )

    # surfaces, catchments and isochrones from the same OD matrix
    county_cols = list(range(n_h)) + [n_h + j for j in selected]
    after = od[:, county_cols].min(axis=1) if county_cols else baseline
    nearest_after = od[:, county_cols].argmin(axis=1) if county_cols else nearest_h
    time_before = _raster(grid, rows, cols, baseline, np.float32, np.nan)
    time_after = _raster(grid, rows, cols, after, np.float32, np.nan)
    nearest = np.where(np.isfinite(after), nearest_after, -1)
    nearest_raster = _raster(grid, rows, cols, nearest, np.int32, -1)
    county_ids = hospitals["id"].astype(str).tolist() + [cand_ids[j] for j in selected]
    catch = surface.catchments(grid, nearest_raster, county_ids)
    catch = _label_catchments(catch, fac, county_ids)
    iso = _both_isochrones(grid, time_before, time_after, params.thresholds_min)
    reach = _reach_table(grid, time_before, time_after, params.thresholds_min, inputs.townships)
    subcentres = _subcentre_rows(sites_table, candidates)
    subcentres["townships"] = _catchment_townships(subcentres, catch, inputs.townships, metric)

    # --- 4. villages -------------------------------------------------------------------
    stage(3)
    vil, timetable, shortfall, shared, staffing = _village_service(inputs, grid, net, metric, walk)

    within_before = float(w[baseline[populated] <= T].sum())
    within_after = float(w[after[populated] <= T].sum())
    summary = {
        "population": float(grid.total),
        "within_before": within_before,
        "within_after": within_after,
        "share_before": within_before / total_pop if total_pop else 0.0,
        "share_after": within_after / total_pop if total_pop else 0.0,
        "unreachable_population": float(w[~np.isfinite(after[populated])].sum()),
        "p": len(selected),
        "subcentre_ids": [cand_ids[j] for j in selected],
        "subcentre_names": [cand_names[j] for j in selected],
        "siting_reason": reason,
        "eligibility_reason": "; ".join(
            f"{r.indicator_zh} {r.indicator}"
            for r in eligibility[eligibility["passes"].astype(bool)].itertuples()
        )
        or "无指标达到 no indicator passes",
        "villages_by_mode": {str(k): int(v) for k, v in vil["mode"].value_counts().items()},
        "n_candidates": len(candidates),
        "n_county_hospitals": n_h,
        "travel_times_estimated": estimated,
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
        eligible=eligible,
        siting=choice_table,
        subcentres=subcentres,
        catchments=catch,
        isochrones=iso,
        coverage=coverage,
        timetable=timetable,
        staffing=staffing,
        summary=summary,
        notes=notes,
        runners_up=runners_up,
        rotation_shortfall=shortfall,
        shared_clinics=shared,
        facility_mapping=inputs.facility_mapping,
        reach=reach,
        objectives=comparison,
    )


def _od(net: Any, origins_xy: np.ndarray, destinations_xy: np.ndarray, **kwargs: Any) -> np.ndarray:
    """Door-to-door minutes on the road network, or the straight-line estimate without one."""
    from coverkit.network import od_matrix, od_matrix_euclidean

    if net is None:
        return od_matrix_euclidean(origins_xy, destinations_xy)
    return od_matrix(net, origins_xy, destinations_xy, **kwargs)


def _raster(
    grid: PopulationGrid,
    rows: np.ndarray,
    cols: np.ndarray,
    values: np.ndarray,
    dtype: Any,
    fill: Any,
) -> np.ndarray:
    import numpy as np

    out = np.full(grid.shape, fill, dtype=dtype)
    out[rows, cols] = values
    return out


def _label_catchments(
    catch: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame, county_ids: list[str]
) -> gpd.GeoDataFrame:
    """Add ``facility_id, name, tier`` to catchment polygons."""
    catch = catch.copy()
    key = "facility_id" if "facility_id" in catch else "id"
    catch["facility_id"] = catch[key].astype(str)
    info = facilities.assign(id=facilities["id"].astype(str)).set_index("id")
    catch["name"] = catch["facility_id"].map(info["name"]).astype(str)
    catch["tier"] = catch["facility_id"].map(info["tier"]).astype(str)
    subs = set(county_ids) - set(info.index[info["tier"] == "county_hospital"])
    catch.loc[catch["facility_id"].isin(subs), "tier"] = "subcentre"
    return catch


def _reach_table(
    grid: PopulationGrid,
    time_before: np.ndarray,
    time_after: np.ndarray,
    thresholds: tuple[float, ...],
    townships: gpd.GeoDataFrame,
) -> pd.DataFrame:
    """Population within each threshold per township and for the county, before and after."""
    import pandas as pd

    from coverkit import surface

    zones = townships if len(townships) else None
    parts = [
        surface.population_within(
            grid, raster, thresholds_min=thresholds, zones=zones, zone_id_col="name"
        ).assign(scenario=name)
        for name, raster in (("before", time_before), ("after", time_after))
    ]
    table = pd.concat(parts, ignore_index=True)
    return table[["scenario", *[c for c in table.columns if c != "scenario"]]]


def _both_isochrones(
    grid: PopulationGrid,
    time_before: np.ndarray,
    time_after: np.ndarray,
    thresholds: tuple[float, ...],
) -> gpd.GeoDataFrame:
    import geopandas as gpd
    import pandas as pd

    from coverkit import surface

    parts = [
        surface.isochrones(grid, raster, thresholds_min=thresholds).assign(scenario=name)
        for name, raster in (("before", time_before), ("after", time_after))
    ]
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=grid.crs)


def _subcentre_rows(sites: pd.DataFrame, candidates: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Chosen sites with their explanation figures and point geometry."""
    import geopandas as gpd

    cands = candidates.assign(id=candidates["id"].astype(str))
    if sites.empty:
        return gpd.GeoDataFrame(
            {"id": [], "name": [], "rank": []}, geometry=[], crs=candidates.crs or "EPSG:4326"
        )
    sites = sites.assign(id=sites["id"].astype(str)).drop(columns=["name"], errors="ignore")
    extra = [c for c in ("name", "township", "is_central", "assumed", "geometry") if c in cands]
    merged = sites.merge(cands[["id", *extra]], on="id", how="left")
    return gpd.GeoDataFrame(merged, geometry="geometry", crs=candidates.crs)


def _catchment_townships(
    sites: gpd.GeoDataFrame,
    catch: gpd.GeoDataFrame,
    townships: gpd.GeoDataFrame,
    metric: Any,
    *,
    min_share: float = 0.05,
) -> list[str]:
    """Townships each chosen site's catchment covers (at least ``min_share`` of their area).

    Returns one ``'; '``-joined string of township names per row of ``sites``.
    """
    if len(sites) == 0 or len(catch) == 0 or len(townships) == 0:
        return [""] * len(sites)
    c = catch.to_crs(metric).set_index("facility_id")
    t = townships.to_crs(metric)
    t_area = t.geometry.area.to_numpy()
    out = []
    for site_id in sites["id"].astype(str):
        if site_id not in c.index:
            out.append("")
            continue
        overlap = t.geometry.intersection(c.geometry.loc[site_id]).area.to_numpy()
        share = overlap / t_area
        names = t["name"].astype(str).to_numpy()[share >= min_share]
        out.append("; ".join(names))
    return out


def _village_service(
    inputs: CountyInputs, grid: PopulationGrid, net: Any, metric: Any, walk: dict[str, float]
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Village population, service modes, rotation timetable and staffing.

    ``walk`` holds the plan's ``walk_speed_kph`` and ``max_walk_m`` for the OD matrices.
    """
    import numpy as np

    from coverkit import villages

    fac = inputs.facilities
    vil = villages.estimate_village_population(inputs.villages, grid, townships=inputs.townships)
    vxy = _xy(vil, metric)
    v2v = _od(net, vxy, vxy, **walk)
    centres = fac[fac["tier"] == "township_centre"]
    if len(centres):
        v2c = _od(net, vxy, _xy(centres, metric), **walk)
        own = _own_centre(vil, centres, v2c)
        centre_min = v2c[np.arange(len(vil)), own]
        centre_ids = centres["id"].astype(str).to_numpy()[own]
    else:
        centre_min = np.full(len(vil), np.inf)
        centre_ids = np.array([None] * len(vil), dtype=object)
    vil = villages.assign_service_modes(
        vil, village_clinic_min=v2v, centre_min=centre_min, centre_ids=centre_ids
    )
    shared = villages.propose_shared_clinics(vil, v2v)
    timetable, shortfall = villages.rotation_timetable(
        vil, centre_to_village_min=centre_min, village_to_village_min=v2v
    )
    staffing = villages.staffing_checks(
        vil,
        township_population=None,
        county_population=grid.total,
        county_name=inputs.county_name,
    )
    return vil, timetable, shortfall, shared, staffing


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


#: File name of a saved plan inside a report folder.
PLAN_FILE = "plan.pickle"
_PLAN_FORMAT = 1


def save_plan(plan: CountyPlan, path: str | os.PathLike[str]) -> Path:
    """Save a finished plan so ``coverkit map`` / ``coverkit report`` can redraw it.

    Parameters
    ----------
    plan
        The plan.
    path
        A file path, or a folder (the file is then ``<folder>/plan.pickle``).

    Returns
    -------
    Path
        The file written (atomically: a temporary file moved into place).

    Notes
    -----
    The file is a Python pickle: open only plans you or your colleagues made,
    as with any pickle.
    """
    import pickle

    from coverkit import __version__
    from coverkit.atomic import atomic_path
    from coverkit.errors import OutputError

    out = Path(path)
    if out.is_dir() or out.suffix == "":
        out = out / PLAN_FILE
    payload = {"format": _PLAN_FORMAT, "coverkit": __version__, "plan": plan}
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(out) as tmp, tmp.open("wb") as fh:
            pickle.dump(payload, fh, protocol=pickle.HIGHEST_PROTOCOL)
    except OSError as exc:
        raise OutputError(
            f"cannot write the plan file {out} ({exc}); choose another folder"
        ) from exc
    return out


def read_plan(path: str | os.PathLike[str]) -> CountyPlan:
    """Read a plan written by :func:`save_plan` (a file, or the report folder holding it).

    Raises
    ------
    InputFileError
        If the file is missing or is not a coverkit plan of a readable version.
    """
    import pickle

    from coverkit.errors import InputFileError

    p = Path(path)
    if p.is_dir():
        p = p / PLAN_FILE
    if not p.is_file():
        raise InputFileError(
            f"no plan at {p}; run `coverkit plan` first (it writes {PLAN_FILE} into the "
            "report folder outputs/<county>/)"
        )
    try:
        with p.open("rb") as fh:
            data = pickle.load(fh)
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError) as exc:
        raise InputFileError(
            f"{p} is not a readable coverkit plan ({exc}); run `coverkit plan` again"
        ) from exc
    if not isinstance(data, dict) or not isinstance(data.get("plan"), CountyPlan):
        raise InputFileError(f"{p} is not a coverkit plan file; give the {PLAN_FILE} it wrote")
    if data.get("format") != _PLAN_FORMAT:
        raise InputFileError(
            f"{p} was written by coverkit {data.get('coverkit')} in another format; "
            "run `coverkit plan` again with this version"
        )
    return data["plan"]
