"""The county plan: one run of load → travel time → siting → villages.

:class:`CountyPlan` is what :mod:`coverkit.maps` and :mod:`coverkit.report`
consume; :func:`plan_county` builds it as a short sequence of stages, each a
function of this module: prepare the county (metric CRS, road network, cells,
candidates), travel times (one OD matrix), eligibility, siting, the effect of
the chosen sites (surfaces, catchments, isochrones), village service, summary.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from coverkit import settings
from coverkit.vocab import Objective, Tier

if TYPE_CHECKING:
    import geopandas as gpd

    from coverkit.io import PopulationGrid
    from coverkit.network import RoadNetwork
    from coverkit.region import CountyInputs

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlanParameters:
    """Parameters of a county plan; defaults come from :mod:`coverkit.settings`.

    The defaults are read from :mod:`coverkit.settings` when the parameters
    are made, so a change there is seen by every later plan.
    """

    p_values: tuple[int, ...] = field(default_factory=lambda: settings.p_values)
    threshold_min: float = field(default_factory=lambda: settings.threshold_min)
    thresholds_min: tuple[float, ...] = field(default_factory=lambda: settings.thresholds_min)
    objective: str = Objective.PMEDIAN
    walk_speed_kph: float = field(default_factory=lambda: settings.walk_speed_kph)
    candidates: str = "auto"
    #: Only centres the facility table flags as meeting the recommended standard
    #: (优质服务基层行推荐标准, 002 §(一)) are candidates.
    standard_only: bool = False
    #: ``"drive"`` (road speeds by class) or ``"walk"`` (every road at ``walk_speed_kph``).
    mode: str = "drive"
    #: ``(class, km/h)`` pairs merged over :data:`coverkit.settings.road_speeds_kph`.
    road_speeds_kph: tuple[tuple[str, float], ...] = ()
    #: Longest off-road walk to a road, metres; farther places are unreachable.
    max_walk_m: float = field(default_factory=lambda: settings.max_walk_m)
    #: Candidates nearer the county seat than this are "in the county seat", metres.
    seat_exclusion_radius_m: float = field(default_factory=lambda: settings.seat_exclusion_radius_m)
    #: Least share of the population a second (further) site must bring within the threshold.
    second_site_min_gain_share: float = field(
        default_factory=lambda: settings.second_site_min_gain_share
    )
    #: Eligibility thresholds as ``(indicator, value)`` pairs (population, area_km2,
    #: seat_offset_ratio, share_beyond_threshold); a dict given is stored as pairs.
    eligibility_thresholds: tuple[tuple[str, float], ...] = field(
        default_factory=lambda: tuple(settings.eligibility_thresholds.items())
    )
    #: How the eligibility indicators combine: ``"any"`` (000 §(一)) or ``"all"`` (001 §2).
    eligibility_rule: str = field(default_factory=lambda: settings.eligibility_rule)
    #: Hospitals outside the county within the road buffer count as existing cover (001 §2).
    count_outside_hospitals: bool = field(default_factory=lambda: settings.count_outside_hospitals)

    def __post_init__(self) -> None:
        """Store eligibility thresholds given as a dict as ``(indicator, value)`` pairs."""
        if isinstance(self.eligibility_thresholds, dict):
            pairs = tuple((str(k), float(v)) for k, v in self.eligibility_thresholds.items())
            object.__setattr__(self, "eligibility_thresholds", pairs)


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
        ``id, name, tier, is_central, meets_standard, standard_known, beds, staff,
        outside, assumed, geometry``; ``tier`` is one of ``county_hospital``
        (县级医院), ``township_centre`` (乡镇卫生院), ``village_clinic`` (村卫生室).
        Hospitals outside the county (``outside`` True) are here only when
        they were counted as existing cover (``count_outside_hospitals``).
    villages
        ``id, name, township, population, population_estimated, clinic, mode,
        rule_id, reason_zh, reason_en, serving_facility, minutes, geometry``;
        ``mode`` is one of ``fixed``, ``joint``, ``rotation``, ``stationed``.
    time_before_min, time_after_min
        float32 rasters on the population grid: minutes to the nearest
        county-level facility before/after the chosen sub-centres; NaN outside
        the county, ``inf`` where unreachable.
    eligibility
        ``indicator, indicator_zh, value, threshold, unit, passes,
        indicator_source`` (policy 000 §(一)), ``threshold_kind`` (convention)
        and ``eligibility_rule`` (the any/all rule used, with its source).
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
        Rotation visits, one row per visit: ``village_id, village, township, team,
        weekday, start, end, minutes, ...`` (see ``villages.rotation_timetable``).
    staffing
        Staffing and scale checks: ``level, name, population, rule, source,
        required_min, required_max, ...``.
    summary
        Key figures for the CLI and report headline, among them
        ``eligibility_rule``, ``outside_hospitals_seen`` and
        ``outside_hospitals_counted`` (``None`` when not counted).
    notes
        Assumptions and warnings to show users (e.g. "facilities assumed").
    runners_up
        Per chosen site, the best alternatives swapped in for it.
    rotation_shortfall
        Per township centre: rotation visits, teams needed vs what its staff can spare.
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
    village_matching
        Chinese counties whose NBS villages without a point were matched to
        OpenStreetMap places: per township ``township, villages, located_nbs,
        matched_osm, ambiguous, too_far, unmatched, match_rate`` (``None``: no
        matching).
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
    village_matching: pd.DataFrame | None = None


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
        (default :data:`coverkit.settings.seat_exclusion_radius_m`; a plan passes
        ``PlanParameters.seat_exclusion_radius_m``).
    mode
        ``'central'``: only centres marked central (中心乡镇卫生院); ``'all'``:
        every township centre; ``'auto'`` (default): the central ones if at
        least ``p_max`` of them lie outside the seat, else all (with a note).
    p_max
        Largest number of sites asked (for ``'auto'``).
    standard_only
        Keep only centres that meet the "quality service at grassroots"
        recommended standard (已达到"优质服务基层行"推荐标准, column
        ``meets_standard``), as the policy prefers (002 §(一)). Centres whose
        status is unknown (``standard_known`` False: the data had no standard
        column) were assumed to meet it; a note (and the log) says so and
        counts the centres flagged.
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
    from coverkit.errors import InvalidValueError

    if mode not in ("auto", "central", "all"):
        raise InvalidValueError(f"candidates={mode!r} is not known; use auto, central or all")
    notes = notes if notes is not None else []
    radius = settings.seat_exclusion_radius_m if exclusion_radius_m is None else exclusion_radius_m
    centres = facilities[facilities["tier"] == Tier.TOWNSHIP_CENTRE].copy()
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
        centres = _standard_centres(centres, notes)
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


def _standard_centres(centres: gpd.GeoDataFrame, notes: list[str]) -> gpd.GeoDataFrame:
    """The centres flagged as meeting the recommended standard, with a note counting them.

    A centre without a known status (``standard_known`` False or absent: the data had
    no standard column) was assumed to meet it; the note says so.
    """
    from coverkit.inputs.tables import NO_STANDARD_COLUMN

    n = len(centres)
    meets = (
        centres["meets_standard"].fillna(False).to_numpy(dtype=bool)
        if "meets_standard" in centres
        else np.ones(n, dtype=bool)
    )
    known = (
        centres["standard_known"].fillna(False).to_numpy(dtype=bool)
        if "standard_known" in centres
        else np.zeros(n, dtype=bool)
    )
    flagged = int((meets & known).sum())
    if n and not known.any() and meets.all():
        _note(notes, f"standard only (--standard-only): {NO_STANDARD_COLUMN}; all {n} stay")
    else:
        assumed = int((meets & ~known).sum())
        _note(
            notes,
            f"standard only (--standard-only): {flagged} of {n} township centres outside the "
            "seat are flagged in the facility table as meeting the recommended standard "
            "(优质服务基层行推荐标准) and stay candidates"
            + (f"; {assumed} more without a status were assumed to meet it" if assumed else ""),
        )
    return centres[meets]


def _seat_offset_ratio(
    boundary_m: gpd.GeoDataFrame, seat_xy: np.ndarray, cell_xy: np.ndarray, weights: np.ndarray
) -> tuple[float, float]:
    """Seat → population-weighted centroid distance over the radius of the county's circle."""
    area_m2 = float(boundary_m.geometry.area.sum())
    radius = float(np.sqrt(area_m2 / np.pi))
    total = float(weights.sum())
    if total <= 0:
        return 0.0, area_m2
    centroid = (weights[:, None] * cell_xy).sum(axis=0) / total
    dist = float(np.hypot(*(centroid - seat_xy)))
    return dist / radius, area_m2


# --------------------------------------------------------------------------- stage results


@dataclass(frozen=True)
class _County:
    """The county made ready for travel times (stage 1).

    Attributes
    ----------
    metric
        Projected CRS of every distance and coordinate below.
    network
        The road network, or ``None`` when travel times are straight-line estimates.
    rows, cols
        Grid position of every cell inside the county mask.
    cell_xy
        ``(n_cells, 2)`` cell centres in ``metric``.
    cell_pop
        float64 population of each cell.
    hospitals
        The county hospitals (existing county-level care), then the hospitals
        outside the county when they are counted (``outside`` True).
    candidates
        The candidate sub-centres (:func:`select_candidates`).
    facilities
        The plan's facilities: the county's, plus the outside hospitals counted.
    outside_seen
        Hospitals outside the county within the road buffer in the data.
    outside_counted
        How many of them count as existing cover; ``None`` when not asked.
    """

    metric: Any
    network: RoadNetwork | None
    rows: np.ndarray
    cols: np.ndarray
    cell_xy: np.ndarray
    cell_pop: np.ndarray
    hospitals: gpd.GeoDataFrame
    candidates: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    outside_seen: int = 0
    outside_counted: int | None = None


@dataclass(frozen=True)
class _TravelTimes:
    """Minutes from every cell to every county hospital and candidate (stage 1).

    Attributes
    ----------
    od
        ``(n_cells, n_hospitals + n_candidates)`` minutes, hospitals first; float32
        from :data:`coverkit.settings.od_float32_min_entries` entries, else float64.
        Emptied (0 rows) once the plan's effect is computed.
    n_hospitals
        Number of county hospitals (the first columns of ``od``).
    baseline
        Minutes to the nearest county hospital (``inf`` without one).
    nearest_hospital
        Column of that hospital.
    populated
        Boolean per cell, True where people live.
    weights
        Population of the populated cells.
    total_pop
        Their sum.
    """

    od: np.ndarray
    n_hospitals: int
    baseline: np.ndarray
    nearest_hospital: np.ndarray
    populated: np.ndarray
    weights: np.ndarray
    total_pop: float

    @property
    def cost(self) -> np.ndarray:
        """Minutes from every cell to every candidate."""
        return self.od[:, self.n_hospitals :]

    @property
    def baseline_populated(self) -> np.ndarray | None:
        """Baseline minutes of the populated cells, ``None`` without county hospitals."""
        return self.baseline[self.populated] if self.n_hospitals else None


@dataclass(frozen=True)
class _Sites:
    """The siting stage's results (empty tables when no candidate is usable)."""

    cand_ids: list[str]
    cand_names: list[str]
    selected: list[int] = field(default_factory=list)
    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    reason: str = ""
    runners_up: pd.DataFrame = field(default_factory=pd.DataFrame)
    sites_table: pd.DataFrame = field(default_factory=pd.DataFrame)
    coverage: pd.DataFrame = field(default_factory=pd.DataFrame)
    comparison: pd.DataFrame = field(default_factory=pd.DataFrame)


@dataclass(frozen=True)
class _Effect:
    """What the chosen sites change: minutes after, rasters, catchments, isochrones, reach."""

    after: np.ndarray
    time_before: np.ndarray
    time_after: np.ndarray
    catchments: gpd.GeoDataFrame
    isochrones: gpd.GeoDataFrame
    reach: pd.DataFrame
    subcentres: gpd.GeoDataFrame


@dataclass(frozen=True)
class _VillageService:
    """Village population and service modes, rotation timetable and staffing (stage 3)."""

    villages: gpd.GeoDataFrame
    timetable: pd.DataFrame
    shortfall: pd.DataFrame
    shared: pd.DataFrame
    staffing: pd.DataFrame


# --------------------------------------------------------------------------- the run


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
    params = params or PlanParameters()
    notes: list[str] = list(inputs.notes)
    stage = on_stage if on_stage is not None else _no_stage

    stage(1)
    county = _prepare_county(inputs, params, notes)
    times = _travel_times(inputs, county, params, notes)
    stage(2)
    eligibility = _eligibility(inputs, county, times, params)
    sites = _choose_sites(county, times, params, notes)
    after = _after_plan(times, sites)
    # nothing reads the OD matrix from here on: free it (and what siting derived from it)
    # before the plan's effect builds its rasters, so the two never add up
    times = dataclasses.replace(times, od=np.empty((0, times.od.shape[1]), times.od.dtype))
    effect = _plan_effect(inputs, county, times, sites, params, after)
    stage(3)
    service = _village_service(inputs, county, params, effect.subcentres)
    summary = _summary(inputs, county, times, sites, effect, eligibility, service, params)
    inputs = dataclasses.replace(inputs, facilities=county.facilities)
    return _county_plan(inputs, params, notes, eligibility, sites, effect, service, summary)


def _no_stage(i: int) -> None:
    """The ``on_stage`` callback when none is given: do nothing."""


def _prepare_county(inputs: CountyInputs, params: PlanParameters, notes: list[str]) -> _County:
    """Stage 1a: metric CRS, road network, populated cells, hospitals and candidates.

    Parameters
    ----------
    inputs
        The loaded county.
    params
        Plan parameters.
    notes
        User-facing notes; the network and candidate choices append theirs.

    Returns
    -------
    _County
        The county ready for travel times.
    """
    from concurrent.futures import ThreadPoolExecutor

    from coverkit import surface
    from coverkit.crs import metric_crs
    from coverkit.network.blocks import transform_xy

    grid = inputs.population
    metric = metric_crs(inputs.boundary)
    # the road network and its snapping index are built in a thread while the cells are
    # found and reprojected here (both are array work that releases the GIL)
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(_indexed_road_network, inputs, params, metric, notes)
        rows, cols, gx, gy = surface.mask_cell_centres(grid)
        rows, cols = rows.astype(np.int32), cols.astype(np.int32)  # halves two per-cell arrays
        cx, cy = transform_xy(grid.crs, metric, gx, gy)  # in blocks over threads, same figures
        del gx, gy
        cell_xy = np.empty((cx.size, 2))  # filled column by column: one copy at a time
        cell_xy[:, 0] = cx
        del cx
        cell_xy[:, 1] = cy
        del cy
        network = pending.result()
    fac = inputs.facilities
    official = "derived" not in inputs.townships or not inputs.townships["derived"].any()
    seat_township = (
        inputs.seat["township"].iloc[0] if official and "township" in inputs.seat else None
    )
    candidates = select_candidates(
        fac,
        inputs.seat,
        metric=metric,
        seat_township=seat_township,
        exclusion_radius_m=params.seat_exclusion_radius_m,
        mode=params.candidates,
        p_max=max(params.p_values),
        standard_only=params.standard_only,
        notes=notes,
    )
    plan_fac, seen, counted = with_outside_hospitals(
        fac, inputs.outside_hospitals, count=params.count_outside_hospitals, notes=notes
    )
    return _County(
        metric=metric,
        network=network,
        rows=rows,
        cols=cols,
        cell_xy=cell_xy,
        cell_pop=_read_only(grid.values[rows, cols].astype("float64")),
        hospitals=plan_fac[plan_fac["tier"] == Tier.COUNTY_HOSPITAL],
        candidates=candidates,
        facilities=plan_fac,
        outside_seen=seen,
        outside_counted=counted,
    )


def with_outside_hospitals(
    facilities: gpd.GeoDataFrame,
    outside: gpd.GeoDataFrame | None,
    *,
    count: bool,
    notes: list[str],
) -> tuple[gpd.GeoDataFrame, int, int | None]:
    """The plan's facilities: the county's, plus the hospitals outside it when counted.

    Secondary-or-higher hospitals of neighbouring areas within the road buffer
    (周边二级以上综合医院, 001 §2) count as existing county-level cover only when
    ``count`` is True; they are never candidates. A note always says which.

    Parameters
    ----------
    facilities
        The county's facilities.
    outside
        The hospitals outside the county (:attr:`CountyInputs.outside_hospitals`), or None.
    count
        Count them as existing cover (``PlanParameters.count_outside_hospitals``).
    notes
        User-facing notes; one is appended.

    Returns
    -------
    facilities : geopandas.GeoDataFrame
        ``facilities`` (``outside`` False), then the outside hospitals counted
        (``outside`` True), re-indexed from 0.
    seen : int
        Hospitals outside the county in the data.
    counted : int or None
        How many count as existing cover; ``None`` when ``count`` is False.
    """
    import geopandas as gpd

    own = facilities.assign(outside=False) if "outside" not in facilities else facilities
    seen = 0 if outside is None else len(outside)
    if not count:
        notes.append(
            "outside hospitals (周边二级以上综合医院, 001 §2) not counted as existing cover "
            f"(count_outside_hospitals off): {seen} seen within the road buffer"
        )
        return own, seen, None
    if seen:
        extra = outside.assign(outside=True, tier=Tier.COUNTY_HOSPITAL)
        own = gpd.GeoDataFrame(
            pd.concat([own, extra[[c for c in extra.columns if c in own.columns]]]),
            geometry="geometry",
            crs=facilities.crs,
        ).reset_index(drop=True)
    _note(
        notes,
        f"outside hospitals (周边二级以上综合医院, 001 §2) counted as existing county-level "
        f"cover (count_outside_hospitals on): {seen} within the road buffer",
    )
    return own, seen, seen


def _road_network(
    inputs: CountyInputs, params: PlanParameters, metric: Any, notes: list[str]
) -> RoadNetwork | None:
    """The county's road network in ``metric``, or ``None`` (with a note) without roads."""
    from coverkit.network import network_from_roads

    if len(inputs.roads) == 0:
        _note(
            notes,
            "no road network: travel times are ESTIMATED from straight-line distance × "
            f"{settings.circuity_factor:g} (detour ratio) at {settings.fallback_speed_kph:g} km/h "
            "(估算值); give --roads for real road travel times",
        )
        return None
    network = network_from_roads(
        inputs.roads,
        crs=metric,
        mode=params.mode,
        speeds_kph=dict(params.road_speeds_kph) or None,
        walk_speed_kph=params.walk_speed_kph,
    )
    if params.mode == "walk":
        _note(
            notes,
            f"walking mode: every road is walked at {params.walk_speed_kph:g} km/h (步行可达时间)",
        )
    if params.road_speeds_kph:
        listed = ", ".join(f"{c} {v:g} km/h" for c, v in params.road_speeds_kph)
        _note(notes, f"road speeds set by the user (道路速度自定义): {listed}")
    return network


def _read_only(a: np.ndarray) -> np.ndarray:
    """``a``, made read-only (siting keeps what it derives from read-only arrays)."""
    a.flags.writeable = False
    return a


def _indexed_road_network(
    inputs: CountyInputs, params: PlanParameters, metric: Any, notes: list[str]
) -> RoadNetwork | None:
    """:func:`_road_network` with its snapping index built (the cells are snapped next)."""
    network = _road_network(inputs, params, metric, notes)
    if network is not None:
        network.snap_index()
    return network


def _walk(params: PlanParameters) -> dict[str, float]:
    """The plan's off-road walk options for :func:`coverkit.network.od_matrix`."""
    return {"walk_speed_kph": params.walk_speed_kph, "max_walk_m": params.max_walk_m}


def _travel_times(
    inputs: CountyInputs, county: _County, params: PlanParameters, notes: list[str]
) -> _TravelTimes:
    """Stage 1b: one OD matrix from every cell to every county hospital and candidate.

    Parameters
    ----------
    inputs
        The loaded county.
    county
        The prepared county.
    params
        Plan parameters (walking speed and limit).
    notes
        User-facing notes (a county without hospitals gets one).

    Returns
    -------
    _TravelTimes

    Raises
    ------
    InfeasibleError
        If no inhabited cell reaches a county hospital over the road network.
    """
    hospitals, candidates = county.hospitals, county.candidates
    n_h = len(hospitals)
    sites_xy = np.vstack(
        [
            _xy(hospitals, county.metric) if n_h else np.zeros((0, 2)),
            _xy(candidates, county.metric) if len(candidates) else np.zeros((0, 2)),
        ]
    )
    # a large matrix is stored in float32 (times to 1e-7 relative, far below the 0.1 min
    # shown); a small one keeps float64, so small counties' figures keep every digit
    big = len(county.cell_xy) * len(sites_xy) >= settings.od_float32_min_entries
    od = _od(
        county.network,
        county.cell_xy,
        sites_xy,
        dtype=np.float32 if big else np.float64,
        **_walk(params),
    )
    od.flags.writeable = False  # read-only: the siting models reuse what they derive from it
    if county.network is not None:  # the cells are snapped once: drop their cached snap
        county.network.snap_cache.clear()
        if len(county.cell_xy) >= settings.snap_index_free_min_cells:
            county.network.forget_snap_indexes()  # rebuilt for the villages when needed
    if n_h:
        # float64 (exact copies of float32 minutes): siting reads it as it is, no new copy
        nearest_min, nearest_h = _row_min(od, list(range(n_h)))
        baseline = nearest_min.astype(np.float64)
        del nearest_min
    else:
        baseline = np.full(len(county.cell_xy), np.inf)
        nearest_h = np.zeros(len(county.cell_xy), dtype=np.int32)
        _note(
            notes,
            "no county hospital (县级医院) given: coverage is measured from sub-centres alone",
        )
    populated = county.cell_pop > 0
    _check_hospitals_reached(inputs, county, od[:, :n_h], populated, params)
    # every cell populated (a WorldPop-like raster): the weights are the cells' populations
    w = county.cell_pop if populated.all() else county.cell_pop[populated]
    for a in (baseline, w):
        a.flags.writeable = False
    return _TravelTimes(
        od=od,
        n_hospitals=n_h,
        baseline=baseline,
        nearest_hospital=nearest_h,
        populated=populated,
        weights=w,
        total_pop=float(w.sum()),
    )


def _check_hospitals_reached(
    inputs: CountyInputs,
    county: _County,
    to_hospitals: np.ndarray,
    populated: np.ndarray,
    params: PlanParameters,
) -> None:
    """Refuse a road network on which no inhabited cell reaches any county hospital."""
    n_h = to_hospitals.shape[1]
    if county.network is None or not n_h or not populated.any():
        return
    if np.isfinite(to_hospitals[populated]).any():
        return
    from coverkit.errors import InfeasibleError

    names = ", ".join(county.hospitals["name"].astype(str).head(3))
    raise InfeasibleError(
        f"no inhabited cell of {inputs.county_name} reaches the county hospital ({names}) "
        "over the road network: the roads are cut off from it or more than "
        f"{params.max_walk_m:g} m (max_walk_m) from the people; give roads that cover "
        "the county (--roads), or --roads none for straight-line estimates"
    )


def _eligibility(
    inputs: CountyInputs, county: _County, times: _TravelTimes, params: PlanParameters
) -> pd.DataFrame:
    """Stage 2a: whether the county needs sub-centres (:func:`coverkit.siting.eligibility`).

    Parameters
    ----------
    inputs
        The loaded county.
    county
        The prepared county.
    times
        The travel times.
    params
        Plan parameters (the threshold, the eligibility thresholds and rule).

    Returns
    -------
    pandas.DataFrame
        The eligibility table (with the rule used and each threshold's kind);
        ``attrs["eligible"]`` (when set) says whether the county is proposed.
    """
    from coverkit import siting

    T = float(params.threshold_min)
    w, populated = times.weights, times.populated
    seat_xy = _xy(inputs.seat, county.metric)[0]
    share_beyond = (
        float(w[~(times.baseline[populated] <= T)].sum() / times.total_pop)
        if times.total_pop
        else 0.0
    )
    boundary_m = inputs.boundary.to_crs(county.metric)
    xy = county.cell_xy if populated.all() else county.cell_xy[populated]
    offset_ratio, area_m2 = _seat_offset_ratio(boundary_m, seat_xy, xy, w)
    return siting.eligibility(
        population=inputs.population.total,
        area_km2=area_m2 / 1e6,
        seat_offset_ratio=offset_ratio,
        share_beyond_threshold=share_beyond,
        thresholds=dict(params.eligibility_thresholds),
        rule=params.eligibility_rule,
    )


def _choose_sites(
    county: _County, times: _TravelTimes, params: PlanParameters, notes: list[str]
) -> _Sites:
    """Stage 2b: the sub-centres, why, their alternatives and the coverage figures.

    Parameters
    ----------
    county
        The prepared county (its candidates).
    times
        The travel times.
    params
        Plan parameters (p values, objective, thresholds).
    notes
        User-facing notes (no candidate, larger p skipped).

    Returns
    -------
    _Sites

    Raises
    ------
    InfeasibleError
        If every p asked exceeds the number of usable candidates.
    """
    candidates = county.candidates
    cand_ids = candidates["id"].astype(str).tolist()
    cand_names = candidates["name"].astype(str).tolist()
    # every cell populated (a WorldPop-like raster): the OD matrix's columns, not a copy
    cost = times.cost if times.populated.all() else times.cost[times.populated]
    cost.flags.writeable = False
    usable = np.isfinite(cost).any(axis=0) if len(candidates) else np.zeros(0, bool)
    n_usable = int(usable.sum())
    if params.standard_only and n_usable < min(params.p_values):
        _standard_only_infeasible(params, n_usable)
    if n_usable == 0:
        reason = (
            f"no candidate: {len(candidates)} township centre(s) lie outside the county seat "
            "and reach the population by road; give a facility table with township "
            "health centres (--facilities)"
        )
        _note(notes, f"sub-centres not chosen: {reason}")
        return _Sites(cand_ids=cand_ids, cand_names=cand_names, reason=reason)
    p_values = _feasible_p_values(params, n_usable, notes)
    return _solve_sites(cost, times, params, p_values, cand_ids, cand_names)


def _standard_only_infeasible(params: PlanParameters, n_usable: int) -> None:
    """Refuse a standard-only run whose flagged centres cannot fill the smallest p asked."""
    from coverkit.errors import InfeasibleError

    raise InfeasibleError(
        f"p={','.join(map(str, params.p_values))} sub-centres asked with --standard-only but "
        f"only {n_usable} township health centre(s) outside the county seat are flagged as "
        "meeting the recommended standard (优质服务基层行推荐标准) and reach the population; "
        f"ask for -p {max(n_usable, 1)}"
        + (" or fewer" if n_usable > 1 else "")
        + ", mark the centres that meet it in the facility table (column 达标), or drop "
        "--standard-only"
    )


def _feasible_p_values(params: PlanParameters, n_usable: int, notes: list[str]) -> tuple[int, ...]:
    """The p values asked that ``n_usable`` candidates can fill (a note for those skipped)."""
    p_values = tuple(p for p in params.p_values if p <= n_usable)
    if not p_values:
        from coverkit.errors import InfeasibleError

        raise InfeasibleError(
            f"p={','.join(map(str, params.p_values))} sub-centres asked but only "
            f"{n_usable} candidate township health centre(s) lie outside the "
            f"county seat and reach the population; ask for -p {n_usable} or "
            "fewer, or add candidates with --facilities"
        )
    if len(p_values) < len(params.p_values):
        flagged = " and are flagged as meeting the standard" if params.standard_only else ""
        _note(
            notes,
            f"p={max(params.p_values)} asked but only {n_usable} candidate(s) "
            f"lie outside the county seat{flagged}; larger p skipped",
        )
    return p_values


def _solve_sites(
    cost: np.ndarray,
    times: _TravelTimes,
    params: PlanParameters,
    p_values: tuple[int, ...],
    cand_ids: list[str],
    cand_names: list[str],
) -> _Sites:
    """Choose the sites, compare the objectives, explain the choice and tabulate coverage."""
    from coverkit import siting

    T = float(params.threshold_min)
    w = times.weights
    baseline = times.baseline_populated
    if baseline is not None:
        baseline.flags.writeable = False
    names = {"candidate_ids": cand_ids, "candidate_names": cand_names}
    choice = siting.choose_subcentres(
        cost,
        w,
        baseline_min=baseline,
        p_values=p_values,
        objective=params.objective,
        threshold_min=T,
        min_gain_share=params.second_site_min_gain_share,
        **names,
    )
    selected = list(choice.selected)
    results = [choice.results[p] for p in choice.table["p"]]
    table = choice.table.assign(
        status=[r.status for r in results],
        gap=[r.gap for r in results],
        method=[r.method for r in results],
        solve_time_s=[r.solve_time_s for r in results],
    )
    comparison = siting.compare_objectives(
        cost, w, baseline_min=baseline, p=choice.recommended_p, threshold_min=T, **names
    )
    explanation = siting.explain_sites(
        cost, w, selected, baseline_min=baseline, threshold_min=T, **names
    )
    coverage = siting.coverage_table(
        cost,
        w,
        baseline_min=baseline,
        thresholds_min=params.thresholds_min,
        p_values=sorted({*params.p_values, 1, 2, 3}),
        candidate_ids=cand_ids,
    )
    return _Sites(
        cand_ids=cand_ids,
        cand_names=cand_names,
        selected=selected,
        table=table,
        reason=choice.reason,
        runners_up=explanation.runners_up,
        sites_table=explanation.sites,
        coverage=coverage,
        comparison=comparison,
    )


def _plan_effect(
    inputs: CountyInputs,
    county: _County,
    times: _TravelTimes,
    sites: _Sites,
    params: PlanParameters,
    after_plan: tuple[np.ndarray, np.ndarray],
) -> _Effect:
    """Stage 2c: surfaces, catchments, isochrones and reach, all from the one OD matrix.

    Parameters
    ----------
    inputs
        The loaded county.
    county
        The prepared county.
    times
        The travel times.
    sites
        The chosen sites.
    params
        Plan parameters (thresholds).
    after_plan
        Minutes to the nearest county-level facility after the plan and its
        column (:func:`_after_plan`).

    Returns
    -------
    _Effect
    """
    from coverkit import surface

    grid = inputs.population
    selected = sites.selected
    after, nearest_after = after_plan
    rows, cols = county.rows, county.cols
    time_before = _raster(grid, rows, cols, times.baseline, np.float32, np.nan)
    time_after = _raster(grid, rows, cols, after, np.float32, np.nan)
    nearest = np.where(np.isfinite(after), nearest_after, -1)
    nearest_raster = _raster(grid, rows, cols, nearest, np.int32, -1)
    county_ids = county.hospitals["id"].astype(str).tolist() + [sites.cand_ids[j] for j in selected]
    catch = surface.catchments(grid, nearest_raster, county_ids)
    catch = _label_catchments(catch, county.facilities, county_ids)
    iso = _both_isochrones(grid, time_before, time_after, params.thresholds_min)
    reach = _reach_table(grid, time_before, time_after, params.thresholds_min, inputs.townships)
    subcentres = _subcentre_rows(sites.sites_table, county.candidates)
    subcentres["townships"] = _catchment_townships(
        subcentres, catch, inputs.townships, county.metric
    )
    return _Effect(
        after=after,
        time_before=time_before,
        time_after=time_after,
        catchments=catch,
        isochrones=iso,
        reach=reach,
        subcentres=subcentres,
    )


def _summary(
    inputs: CountyInputs,
    county: _County,
    times: _TravelTimes,
    sites: _Sites,
    effect: _Effect,
    eligibility: pd.DataFrame,
    service: _VillageService,
    params: PlanParameters,
) -> dict[str, Any]:
    """Stage 4: the key figures for the CLI and the report headline.

    Returns
    -------
    dict
        Population, people within the threshold before/after and their shares,
        unreachable population, the sites and why, villages by mode, counts.
    """
    T = float(params.threshold_min)
    w, populated, total_pop = times.weights, times.populated, times.total_pop
    within_before = float(w[times.baseline[populated] <= T].sum())
    within_after = float(w[effect.after[populated] <= T].sum())
    passing = eligibility[eligibility["passes"].astype(bool)]
    return {
        "population": float(inputs.population.total),
        "within_before": within_before,
        "within_after": within_after,
        "share_before": within_before / total_pop if total_pop else 0.0,
        "share_after": within_after / total_pop if total_pop else 0.0,
        "unreachable_population": float(w[~np.isfinite(effect.after[populated])].sum()),
        "p": len(sites.selected),
        "subcentre_ids": [sites.cand_ids[j] for j in sites.selected],
        "subcentre_names": [sites.cand_names[j] for j in sites.selected],
        "siting_reason": sites.reason,
        "eligibility_reason": "; ".join(
            f"{r.indicator_zh} {r.indicator}" for r in passing.itertuples()
        )
        or "无指标达到 no indicator passes",
        "villages_by_mode": {
            str(k): int(v) for k, v in service.villages["mode"].value_counts().items()
        },
        "village_service": str(inputs.village_status),
        "n_candidates": len(county.candidates),
        "n_county_hospitals": times.n_hospitals - (county.outside_counted or 0),
        "outside_hospitals_counted": county.outside_counted,
        "outside_hospitals_seen": county.outside_seen,
        "eligibility_rule": str(eligibility.attrs.get("rule", params.eligibility_rule)),
        "travel_times_estimated": county.network is None,
    }


def _county_plan(
    inputs: CountyInputs,
    params: PlanParameters,
    notes: list[str],
    eligibility: pd.DataFrame,
    sites: _Sites,
    effect: _Effect,
    service: _VillageService,
    summary: dict[str, Any],
) -> CountyPlan:
    """Gather the stages' results into a :class:`CountyPlan`."""
    eligible = bool(eligibility.attrs.get("eligible", bool(eligibility["passes"].any())))
    return CountyPlan(
        county_id=inputs.county_id,
        county_name=inputs.county_name,
        params=params,
        boundary=inputs.boundary,
        townships=inputs.townships,
        seat=inputs.seat,
        roads=inputs.roads,
        population=inputs.population,
        facilities=inputs.facilities,
        villages=service.villages,
        time_before_min=effect.time_before,
        time_after_min=effect.time_after,
        eligibility=eligibility,
        eligible=eligible,
        siting=sites.table,
        subcentres=effect.subcentres,
        catchments=effect.catchments,
        isochrones=effect.isochrones,
        coverage=sites.coverage,
        timetable=service.timetable,
        staffing=service.staffing,
        summary=summary,
        notes=notes,
        runners_up=sites.runners_up,
        rotation_shortfall=service.shortfall,
        shared_clinics=service.shared,
        facility_mapping=inputs.facility_mapping,
        reach=effect.reach,
        objectives=sites.comparison,
        village_matching=inputs.village_matching,
    )


def _od(net: Any, origins_xy: np.ndarray, destinations_xy: np.ndarray, **kwargs: Any) -> np.ndarray:
    """Door-to-door minutes on the road network, or the straight-line estimate without one."""
    from coverkit.network import od_matrix, od_matrix_euclidean

    if net is None:
        dtype = kwargs.get("dtype", np.float64)
        return od_matrix_euclidean(origins_xy, destinations_xy).astype(dtype, copy=False)
    return od_matrix(net, origins_xy, destinations_xy, **kwargs)


def _after_plan(times: _TravelTimes, sites: _Sites) -> tuple[np.ndarray, np.ndarray]:
    """Minutes to the nearest county hospital or chosen site, and its column, per cell."""
    n_h = times.n_hospitals
    county_cols = list(range(n_h)) + [n_h + j for j in sites.selected]
    if county_cols:
        return _row_min(times.od, county_cols)
    return times.baseline, times.nearest_hospital


def _row_min(od: np.ndarray, cols: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """``od[:, cols].min(axis=1)`` and ``.argmin(axis=1)`` (int32), in row blocks over threads.

    The columns are copied a block at a time, never all at once; each row's
    figures are those of the one-shot expressions.
    """
    from coverkit.network.blocks import for_blocks

    best = np.empty(len(od), dtype=od.dtype)
    which = np.empty(len(od), dtype=np.int32)  # a column of a few hospitals and sites

    def work(s: int, e: int) -> None:
        sub = od[s:e, cols]
        best[s:e] = sub.min(axis=1)
        which[s:e] = sub.argmin(axis=1)

    for_blocks(work, len(od), settings.row_block_cells)
    return best, which


def _raster(
    grid: PopulationGrid,
    rows: np.ndarray,
    cols: np.ndarray,
    values: np.ndarray,
    dtype: Any,
    fill: Any,
) -> np.ndarray:
    """A grid-shaped raster: ``values`` at ``rows, cols``, ``fill`` elsewhere."""
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
    subs = set(county_ids) - set(info.index[info["tier"] == Tier.COUNTY_HOSPITAL])
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
    """Isochrone polygons of both scenarios, ``scenario`` = ``'before'`` / ``'after'``."""
    import geopandas as gpd

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
    inputs: CountyInputs, county: _County, params: PlanParameters, subcentres: pd.DataFrame
) -> _VillageService:
    """Stage 3: village population, service modes, shared clinics, rotation and staffing.

    Parameters
    ----------
    inputs
        The loaded county.
    county
        The prepared county (its network and metric CRS).
    params
        Plan parameters (walking speed and limit for the OD matrices).
    subcentres
        The chosen sub-centres (their townships' centres get full establishment).

    Returns
    -------
    _VillageService
    """
    from coverkit import villages

    grid, fac, metric, net = inputs.population, inputs.facilities, county.metric, county.network
    walk = _walk(params)
    cells = villages.MetricCells(rows=county.rows, cols=county.cols, xy=county.cell_xy, crs=metric)
    vil = villages.estimate_village_population(
        inputs.villages, grid, townships=inputs.townships, cells=cells
    )
    vxy = _xy(vil, metric)
    v2v = _village_minutes(net, vxy, villages.clinic_hosts(vil), walk)
    centres = fac[fac["tier"] == Tier.TOWNSHIP_CENTRE]
    centre_km = np.full(len(vil), np.nan)
    if len(centres):
        v2c = _od(net, vxy, _xy(centres, metric), **walk)
        own = _own_centre(vil, centres, v2c)
        centre_min = v2c[np.arange(len(vil)), own]
        centre_ids = centres["id"].astype(str).to_numpy()[own]
        centre_km = _km_to(net, vxy, _xy(centres, metric), own, walk)
    else:
        centre_min = np.full(len(vil), np.inf)
        centre_ids = np.array([None] * len(vil), dtype=object)

    def trip_km(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:  # villages rows -> cols
        return _km_to(net, vxy[rows], vxy, cols, walk)

    vil = villages.assign_service_modes(
        vil,
        village_clinic_min=v2v,
        centre_min=centre_min,
        centre_ids=centre_ids,
        village_walk_min=v2v if params.mode == "walk" else None,
        walk_speed_kph=params.walk_speed_kph,
        centre_km=centre_km,
        trip_km=trip_km,
    )
    shared = villages.propose_shared_clinics(vil, v2v, trip_km=trip_km)
    staff = None  # centre id -> staff (facility column 'staff', NaN unknown), for rotation teams
    if "staff" in centres:
        staff = dict(zip(centres["id"].astype(str), centres["staff"], strict=True))
    timetable, shortfall = villages.rotation_timetable(
        vil, centre_to_village_min=centre_min, centre_staff=staff, centre_to_village_km=centre_km
    )
    staffing = villages.staffing_checks(
        vil,
        township_population=None,
        county_population=grid.total,
        county_name=inputs.county_name,
        subcentre_townships=subcentres.get("township", pd.Series(dtype=str)).astype(str),
    )
    return _VillageService(
        villages=vil, timetable=timetable, shortfall=shortfall, shared=shared, staffing=staffing
    )


def _village_minutes(
    net: RoadNetwork | None, vxy: np.ndarray, hosts: np.ndarray, walk: dict[str, float]
) -> np.ndarray:
    """Village × village minutes as the village stage reads them.

    Exact to every village with a standard clinic (the joint-service hosts: any
    distance is read, the nearest clinic is reported); to the others only up to
    :data:`coverkit.settings.share_clinic_radius_min` (the shared-clinic groups),
    ``inf`` beyond: the road search from them stops there, which makes the stage
    a few hundred short searches instead of full-network ones.
    """
    if net is None:
        return _od(None, vxy, vxy)
    out = np.full((len(vxy), len(vxy)), np.inf)
    for cols, limit in ((hosts, None), (~hosts, float(settings.share_clinic_radius_min))):
        if cols.any():
            out[:, cols] = _od(net, vxy, vxy[cols], limit_min=limit, **walk)
    return out


def _km_to(
    net: RoadNetwork | None,
    origins_xy: np.ndarray,
    destinations_xy: np.ndarray,
    column: np.ndarray,
    walk: dict[str, float],
) -> np.ndarray:
    """km from each origin to its destination ``column`` along the path of its minutes
    (:func:`coverkit.network.km_to_assigned`; without roads the straight line × detour
    ratio of :func:`coverkit.network.od_matrix_euclidean`)."""
    from coverkit.network import km_to_assigned

    column = np.asarray(column, dtype=np.int64)
    if net is None:
        to = destinations_xy[np.maximum(column, 0)]
        km = np.hypot(*(origins_xy - to).T) * float(settings.circuity_factor) / 1000.0
        return np.where(column >= 0, km, np.nan)
    return km_to_assigned(net, origins_xy, destinations_xy, column, **walk)


def _own_centre(vil: gpd.GeoDataFrame, centres: gpd.GeoDataFrame, v2c: np.ndarray) -> np.ndarray:
    """Index of each village's township centre: its own township's nearest, else the nearest."""
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
