"""The rule register: every policy rule and planning convention coverkit applies.

:data:`RULES` has one row per rule, each with its Chinese quote (verbatim from the
policy text in ``../shared/policy``, at most 30 characters), the file and section it
comes from, the settings or plan parameters that carry its numbers, and whether the
value used is the text's own (``policy``) or a planning convention the text leaves
open (``convention``; the quote, when given, shows what the number stands for).
:func:`rule_register` adds, for one finished plan, the values used and how many
villages, sites, centres or counties each rule affected; the report writes it as
``rules.csv`` and the section "规则登记 Rule register".

Sources are written ``"000 §(一)"``: the file's number (``000_*.txt`` Guangxi 2023,
``001_*.txt`` Tianjin, ``002_*.txt`` Inner Mongolia draft, ``003_excerpt.md`` one
district's plan, a *local* norm) and the section heading as the file writes it
(``(一)`` for ``（一）``, ``§3`` for Tianjin's ``3．`` and the excerpt's ``§3``).

Run ``python3 -m coverkit.rules`` to print the parameter table of the README.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from coverkit import settings

if TYPE_CHECKING:
    from coverkit.plan import CountyPlan

POLICY = "policy"
CONVENTION = "convention"

#: Columns of :func:`rules_table`; :func:`rule_register` adds ``value`` and ``affected``.
RULE_COLUMNS: tuple[str, ...] = (
    "id",
    "quote_zh",
    "source",
    "settings",
    "kind",
    "rule_en",
    "unit",
)


@dataclass(frozen=True)
class Rule:
    """One rule of the register.

    Attributes
    ----------
    id
        Short identifier, ``R1-…`` to ``R5-…`` for POLICY.md's rules, ``C-…`` for
        conventions that belong to no rule.
    quote_zh
        At most 30 characters, a verbatim substring of the source file ("" when the
        texts say nothing, e.g. a solver tolerance).
    source
        ``"000 §(一)"`` (file number and section) or ``"convention"``.
    settings
        Names in :mod:`coverkit.settings` or fields of
        :class:`~coverkit.plan.PlanParameters` that carry the rule's numbers; a
        dotted name (``eligibility_thresholds.population``) is one key of a table.
    kind
        ``"policy"`` when the value used is the text's own, ``"convention"`` when the
        text leaves it open.
    rule_en
        The rule in English, as applied.
    unit
        What ``affected`` counts (villages, sites, centres, townships, counties,
        hosts, visits, hospitals); "" when nothing is counted.
    fixed
        The value when the text fixes it and no setting carries it ("90%").
    """

    id: str
    quote_zh: str
    source: str
    settings: tuple[str, ...]
    kind: str
    rule_en: str
    unit: str = ""
    fixed: str = ""


#: Every rule applied anywhere in coverkit, in the order of POLICY.md.
RULES: tuple[Rule, ...] = (
    # --- Rule 1: which counties, how many sub-centres, where ------------------
    Rule(
        "R1-population",
        "常住人口较多",
        "000 §(一)",
        ("eligibility_thresholds.population",),
        CONVENTION,
        "eligibility indicator: large resident population (people at or above)",
        "counties",
    ),
    Rule(
        "R1-area",
        "区域面积较大",
        "000 §(一)",
        ("eligibility_thresholds.area_km2",),
        CONVENTION,
        "eligibility indicator: large area (km² at or above)",
        "counties",
    ),
    Rule(
        "R1-seat-offset",
        "县城不在县域中心",
        "000 §(一)",
        ("eligibility_thresholds.seat_offset_ratio",),
        CONVENTION,
        "eligibility indicator: seat off-centre (seat to population centroid over the "
        "county's radius)",
        "counties",
    ),
    Rule(
        "R1-weak-coverage",
        "县级医院服务覆盖能力不足",
        "000 §(一)",
        ("eligibility_thresholds.share_beyond_threshold", "threshold_min"),
        CONVENTION,
        "eligibility indicator: share of people beyond T from the county hospitals",
        "counties",
    ),
    Rule(
        "R1-combination",
        "有农业的区中常住人口较多、面积较大的",
        "001 §2",
        ("eligibility_rule",),
        POLICY,
        "indicators combine by 'any' (000 §(一) lists them) or 'all' (Tianjin's "
        "conjunction); counts an eligible county",
        "counties",
    ),
    Rule(
        "R1-outside-hospitals",
        "城区外区级医院或周边二级以上综合医院服务难以覆盖的区域",
        "001 §2",
        ("count_outside_hospitals",),
        POLICY,
        "secondary-or-higher hospitals outside the county count as existing cover (option)",
        "hospitals",
    ),
    Rule(
        "R1-sites",
        "可在县城之外选建1至2个中心乡镇卫生院",
        "000 §(一)",
        ("p_values", "candidates"),
        POLICY,
        "choose 1 to 2 (central) township health centres as sub-centres",
        "sites",
    ),
    Rule(
        "R1-seat-exclusion",
        "在县城之外选建",
        "000 §(一)",
        ("seat_exclusion_radius_m",),
        CONVENTION,
        "centres this close to the county seat count as in the seat and are not candidates",
        "centres",
    ),
    Rule(
        "R1-standard",
        "已达到“优质服务基层行”活动推荐标准",
        "002 §(一)",
        ("standard_only",),
        POLICY,
        "prefer centres meeting the recommended standard (only them with the option); "
        "counts centres flagged as meeting it",
        "centres",
    ),
    Rule(
        "R1-choice",
        "结合人口分布、区域位置、交通条件、就医流向等因素",
        "001 §2",
        ("objective", "threshold_min"),
        POLICY,
        "choose by population, location and road travel time (patient flows not modelled); "
        "counts candidates compared",
        "centres",
    ),
    Rule(
        "R1-second-site",
        "",
        "convention",
        ("second_site_min_gain_share",),
        CONVENTION,
        "a further sub-centre only if it brings at least this share of the people within T; "
        "counts p options declined",
        "sites",
    ),
    Rule(
        "R1-mip-gap",
        "",
        "convention",
        ("mip_rel_gap",),
        CONVENTION,
        "relative MIP gap at which the exact solver stops; counts p options solved",
        "sites",
    ),
    # --- Rule 2: service for every village ------------------------------------------------
    Rule(
        "R2-fixed",
        "每个行政村原则上设置1所标准化村卫生室",
        "001 §3",
        (),
        POLICY,
        "one standard clinic per administrative village; counts villages served by their own",
        "villages",
        fixed="1 per village",
    ),
    Rule(
        "R2-shared-clinic",
        "服务半径小、交通便利的相邻行政村可共建1所村卫生室",
        "001 §3",
        ("share_clinic_radius_min",),
        CONVENTION,
        "villages without a clinic within this many minutes of each other may share a new one",
        "villages",
    ),
    Rule(
        "R2-joint",
        "邻（联）村延伸服务",
        "000 §(一)",
        ("joint_service_max_min", "joint_travel_mode"),
        CONVENTION,
        "served by a neighbouring village's standard clinic within this many minutes",
        "villages",
    ),
    Rule(
        "R2-joint-township",
        "相邻行政村",
        "001 §3",
        ("joint_same_township",),
        CONVENTION,
        "the host clinic is in the same township unless crossing is allowed; counts joint "
        "villages served across a township line",
        "villages",
    ),
    Rule(
        "R2-joint-caps",
        "",
        "convention",
        ("joint_max_villages", "joint_max_population"),
        CONVENTION,
        "a host clinic takes at most N guest villages and P people (its own "
        "included); counts host clinics",
        "hosts",
    ),
    Rule(
        "R2-rotation",
        "每周开展巡诊至少2次，每次至少半天，巡诊时间要相对固定",
        "000 §(一)",
        ("rotation_visits_per_week", "rotation_visit_min"),
        POLICY,
        "rotation visits: at least 2 a week, each a stay of at least half a day (travel on "
        "top), at fixed times",
        "villages",
    ),
    Rule(
        "R2-rotation-reach",
        "",
        "convention",
        ("rotation_max_min",),
        CONVENTION,
        "rotation only within this many minutes of the township centre; counts stationed "
        "villages beyond it",
        "villages",
    ),
    Rule(
        "R2-rotation-timetable",
        "",
        "convention",
        (
            "rotation_slot_starts",
            "rotation_team_size",
            "rotation_workdays",
            "rotation_day_end",
            "rotation_staff_share",
        ),
        CONVENTION,
        "when the morning / afternoon teams leave, team size, working days, when teams are "
        "back, the share of a centre's staff out at once; counts visits in the timetable",
        "visits",
    ),
    Rule(
        "R2-stationed",
        "每周在村卫生室工作时间不少于5日",
        "000 §(一)",
        (),
        POLICY,
        "stationed staff work in the village at least 5 days a week",
        "villages",
        fixed="≥ 5 days a week",
    ),
    Rule(
        "R2-stationed-term",
        "在同一个行政村至少连续服务半年",
        "000 §(一)",
        (),
        POLICY,
        "stationed staff stay at least half a year in the same village",
        "villages",
        fixed="≥ half a year",
    ),
    Rule(
        "R2-stationed-size",
        "",
        "convention",
        ("stationed_min_population", "stationed_posts_per_village"),
        CONVENTION,
        "villages this large get stationed staff rather than rotation; posts per village; "
        "counts stationed villages at or above the size",
        "villages",
    ),
    Rule(
        "R2-build",
        "建好用好村卫生室",
        "000 §(一)",
        ("build_clinic_min_population",),
        CONVENTION,
        "a village without a clinic and no host, at or above this size, gets "
        "'build or upgrade a clinic'",
        "villages",
    ),
    # --- Rules 3 to 5: scale and staffing ---------------------------------------------
    Rule(
        "R3-second-centre",
        "常住人口超过10万人的根据需要增设",
        "001 §1",
        ("township_second_centre_population",),
        POLICY,
        "a township above this population may add a second health centre",
        "townships",
    ),
    Rule(
        "R4-village-doctors",
        "乡村医生按照常住人口1—1.5‰配备",
        "003 §5",
        ("staff_per_1000",),
        POLICY,
        "village doctors per 1,000 residents (a LOCAL norm: one district's plan)",
        "villages",
    ),
    Rule(
        "R4-centre-establishment",
        "按照常住人口1—1.5‰核定镇卫生院人员编制",
        "003 §4",
        ("staff_per_1000",),
        POLICY,
        "township centre establishment per 1,000 residents (a LOCAL norm)",
        "townships",
    ),
    Rule(
        "R4-professional-share",
        "用于专业技术人员的编制不得低于编制总额的90%",
        "000 §(十二)",
        (),
        POLICY,
        "at least 90% of a centre's posts are professional (also 001 §16, 002 §(五))",
        "townships",
        fixed="≥ 90%",
    ),
    Rule(
        "R4-full-establishment",
        "结合工作需要足额核定人员编制",
        "003 §4",
        (),
        POLICY,
        "centres that become sub-centres get their full establishment (a LOCAL norm)",
        "sites",
        fixed="full establishment",
    ),
    Rule(
        "R5-tertiary",
        "服务人口超过80万的县级医院达到三级医院服务水平",
        "000 §(三)",
        ("county_tertiary_population",),
        POLICY,
        "a county above this population should have a tertiary-level county hospital",
        "counties",
    ),
    # --- conventions that belong to no single rule ---------------------------------
    Rule(
        "C-thresholds",
        "",
        "convention",
        ("threshold_min", "thresholds_min"),
        CONVENTION,
        "travel-time threshold T to county-level care and the thresholds shown side by side",
    ),
    Rule(
        "C-travel",
        "",
        "convention",
        (
            "mode",
            "walk_speed_kph",
            "road_speeds_kph",
            "default_road_speed_kph",
            "max_walk_m",
            "circuity_factor",
            "fallback_speed_kph",
        ),
        CONVENTION,
        "road speeds by class, walking speed and reach, the no-road estimate",
    ),
    Rule(
        "C-raster-checks",
        "",
        "convention",
        (
            "min_population_coverage",
            "population_coverage_warn",
            "plausible_density_per_km2",
            "max_cell_density_per_km2",
            "min_population_cells_warn",
        ),
        CONVENTION,
        "checks of the population raster (coverage, densities, cells)",
    ),
    Rule(
        "C-seat-and-villages",
        "",
        "convention",
        ("seat_urban_share", "seat_town_radius_m", "village_outside_tolerance_m"),
        CONVENTION,
        "which towns form the county seat (China), villages placed outside the county",
    ),
)


def rules_table() -> pd.DataFrame:
    """:data:`RULES` as a table with the columns of :data:`RULE_COLUMNS`.

    Returns
    -------
    DataFrame
        One row per rule; ``settings`` joined with ``", "``.
    """
    rows = [{c: getattr(r, c) for c in RULE_COLUMNS} for r in RULES]
    for row in rows:
        row["settings"] = ", ".join(row["settings"])
    return pd.DataFrame(rows, columns=list(RULE_COLUMNS))


def setting_names() -> tuple[str, ...]:
    """Every setting or plan parameter a rule names (dotted keys reduced to the table), once.

    Returns
    -------
    tuple of str
        In the order of :data:`RULES`.
    """
    names = (n.split(".")[0] for r in RULES for n in r.settings)
    return tuple(dict.fromkeys(names))


# --------------------------------------------------------------------------- values


def value_of(plan: Any, name: str) -> Any:
    """The value of a setting or parameter ``name`` used by ``plan``.

    Parameters
    ----------
    plan
        A :class:`~coverkit.plan.CountyPlan` (or anything with ``params`` and
        ``summary``), or ``None`` for the current settings.
    name
        A name of :data:`RULES` (``eligibility_thresholds.population`` takes one key).

    Returns
    -------
    Any
        In order: the plan's parameter of that name, the run's setting override
        (``summary["settings_overrides"]``), the current setting; ``None`` when
        none exists.
    """
    base, _, key = name.partition(".")
    value = _raw_value(plan, base)
    if key:
        table = dict(value) if isinstance(value, Mapping | list | tuple) else {}
        return table.get(key)
    return value


def _raw_value(plan: Any, name: str) -> Any:
    params = getattr(plan, "params", None)
    if params is not None and hasattr(params, name):
        value = getattr(params, name)
        if name == "road_speeds_kph":  # the plan keeps only its overrides
            return {**settings.road_speeds_kph, **dict(value)}
        return value
    overrides = (getattr(plan, "summary", None) or {}).get("settings_overrides") or {}
    if name in overrides:
        return overrides[name]
    return getattr(settings, name, None)


def format_value(value: Any) -> str:
    """A value as the register shows it (numbers plain, tables ``key=value``)."""
    if value is None:
        return "—"
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return f"{float(value):g}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={format_value(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(format_value(v) for v in value)
    return str(value)


def _values_text(plan: Any, rule: Rule) -> str:
    if not rule.settings:
        return rule.fixed
    parts = []
    for name in rule.settings:
        value = value_of(plan, name)
        if name == "road_speeds_kph" and value == settings.road_speeds_kph:
            parts.append(f"{name}=default table")
            continue
        text = format_value(value)
        parts.append(f"{name}=[{text}]" if isinstance(value, Mapping) else f"{name}={text}")
    return "; ".join(parts)


# --------------------------------------------------------------------------- affected


def _frame(plan: Any, name: str) -> pd.DataFrame | None:
    df = getattr(plan, name, None)
    return df if isinstance(df, pd.DataFrame) else None


def _modes(plan: Any) -> pd.Series | None:
    vil = _frame(plan, "villages")
    if vil is None or "mode" not in vil.columns:
        return None
    return vil["mode"].astype(str)


def _mode_count(plan: Any, mode: str) -> int | None:
    modes = _modes(plan)
    return None if modes is None else int((modes == mode).sum())


def _indicator(name: str) -> Callable[[Any], int | None]:
    def count(plan: Any) -> int | None:
        elig = _frame(plan, "eligibility")
        if elig is None or not {"indicator", "passes"} <= set(elig.columns):
            return None
        rows = elig[elig["indicator"].astype(str) == name]
        return int(rows["passes"].astype(bool).any()) if len(rows) else None

    return count


def _sites(plan: Any) -> int | None:
    sites = _frame(plan, "subcentres")
    return None if sites is None else len(sites)


def _centres(plan: Any) -> pd.DataFrame | None:
    fac = _frame(plan, "facilities")
    if fac is None or "tier" not in fac.columns:
        return None
    return fac[fac["tier"].astype(str) == "township_centre"]


def _seat_excluded(plan: Any) -> int | None:
    """Township centres within the seat radius of the county seat (in a UTM CRS)."""
    from coverkit.crs import metric_crs

    centres, seat = _centres(plan), _frame(plan, "seat")
    radius = value_of(plan, "seat_exclusion_radius_m")
    if centres is None or seat is None or len(seat) == 0 or radius is None:
        return None
    if len(centres) == 0:
        return 0
    crs = metric_crs(seat)
    seat_pt = seat.to_crs(crs).geometry.representative_point().iloc[0]
    dist = centres.to_crs(crs).geometry.representative_point().distance(seat_pt)
    return int((dist <= float(radius)).sum())


def _meets_standard(plan: Any) -> int | None:
    centres = _centres(plan)
    if centres is None or "meets_standard" not in centres.columns:
        return None
    return int(centres["meets_standard"].fillna(False).astype(bool).sum())


def _outside_hospitals(plan: Any) -> int | None:
    fac = _frame(plan, "facilities")
    col = next((c for c in ("outside_county", "outside") if fac is not None and c in fac), None)
    if col is None:
        return None
    return int(fac[col].fillna(False).astype(bool).sum())


def _declined(plan: Any) -> int | None:
    siting, share = _frame(plan, "siting"), value_of(plan, "second_site_min_gain_share")
    if siting is None or "gain_share" not in siting.columns or share is None:
        return None
    gain = pd.to_numeric(siting["gain_share"], errors="coerce")
    return int((gain < float(share)).sum())


def _solved(plan: Any) -> int | None:
    siting = _frame(plan, "siting")
    return None if siting is None else len(siting)


def _shared(plan: Any) -> int | None:
    shared = _frame(plan, "shared_clinics")
    if shared is None:
        return None
    if len(shared) == 0:
        return 0
    return int(shared["n_villages"].sum()) if "n_villages" in shared.columns else None


def _host_townships(plan: Any) -> dict[str, str]:
    """Township of every village and facility id (where a host may be either)."""
    out: dict[str, str] = {}
    for name in ("facilities", "villages"):
        df = _frame(plan, name)
        if df is not None and {"id", "township"} <= set(df.columns):
            out.update(zip(df["id"].astype(str), df["township"].astype(str), strict=True))
    return out


def _joint_rows(plan: Any) -> pd.DataFrame | None:
    vil, modes = _frame(plan, "villages"), _modes(plan)
    if vil is None or modes is None or "serving_facility" not in vil.columns:
        return None
    return vil[(modes == "joint").to_numpy()]


def _cross_township(plan: Any) -> int | None:
    joint = _joint_rows(plan)
    if joint is None or "township" not in joint.columns:
        return None
    where = _host_townships(plan)
    hosts = joint["serving_facility"].astype(str).map(where)
    return int((hosts.notna() & (hosts != joint["township"].astype(str))).sum())


def _hosts(plan: Any) -> int | None:
    joint = _joint_rows(plan)
    return None if joint is None else int(joint["serving_facility"].dropna().nunique())


def _beyond_rotation(plan: Any) -> int | None:
    vil, modes = _frame(plan, "villages"), _modes(plan)
    limit = value_of(plan, "rotation_max_min")
    if vil is None or modes is None or "minutes" not in vil.columns or limit is None:
        return None
    minutes = pd.to_numeric(vil["minutes"], errors="coerce").to_numpy(dtype=float)
    return int(((modes == "stationed").to_numpy() & ~(minutes <= float(limit))).sum())


def _visits(plan: Any) -> int | None:
    table = _frame(plan, "timetable")
    return None if table is None else len(table)


def _stationed_large(plan: Any) -> int | None:
    vil, modes = _frame(plan, "villages"), _modes(plan)
    size = value_of(plan, "stationed_min_population")
    if vil is None or modes is None or "population" not in vil.columns or size is None:
        return None
    pop = pd.to_numeric(vil["population"], errors="coerce").to_numpy(dtype=float)
    return int(((modes == "stationed").to_numpy() & (pop >= float(size))).sum())


def _staffing(check: str, level: str | None = None) -> Callable[[Any], int | None]:
    def count(plan: Any) -> int | None:
        staff = _frame(plan, "staffing")
        if staff is None or "check" not in staff.columns:
            return None
        rows = staff[staff["check"].astype(str) == check]
        if level is not None and "level" in rows.columns:
            rows = rows[rows["level"].astype(str) == level]
        return len(rows)

    return count


def _above(check: str, setting: str) -> Callable[[Any], int | None]:
    def count(plan: Any) -> int | None:
        staff, limit = _frame(plan, "staffing"), value_of(plan, setting)
        if staff is None or not {"check", "population"} <= set(staff.columns) or limit is None:
            return None
        rows = staff[staff["check"].astype(str) == check]
        return int((pd.to_numeric(rows["population"], errors="coerce") > float(limit)).sum())

    return count


def _eligible(plan: Any) -> int | None:
    value = getattr(plan, "eligible", None)
    return None if value is None else int(bool(value))


def _candidates(plan: Any) -> int | None:
    n = (getattr(plan, "summary", None) or {}).get("n_candidates")
    return None if n is None else int(n)


def _professional(plan: Any) -> int | None:
    staff = _frame(plan, "staffing")
    if staff is None or "check" not in staff.columns:
        return None
    rows = staff[staff["check"].astype(str).str.contains("professional")]
    return len(rows) if len(rows) else None


#: How each rule's ``affected`` is counted from a plan (``None``: not countable).
AFFECTED: dict[str, Callable[[Any], int | None]] = {
    "R1-population": _indicator("population"),
    "R1-area": _indicator("area_km2"),
    "R1-seat-offset": _indicator("seat_offset_ratio"),
    "R1-weak-coverage": _indicator("share_beyond_threshold"),
    "R1-combination": _eligible,
    "R1-outside-hospitals": _outside_hospitals,
    "R1-sites": _sites,
    "R1-seat-exclusion": _seat_excluded,
    "R1-standard": _meets_standard,
    "R1-choice": _candidates,
    "R1-second-site": _declined,
    "R1-mip-gap": _solved,
    "R2-fixed": lambda plan: _mode_count(plan, "fixed"),
    "R2-shared-clinic": _shared,
    "R2-joint": lambda plan: _mode_count(plan, "joint"),
    "R2-joint-township": _cross_township,
    "R2-joint-caps": _hosts,
    "R2-rotation": lambda plan: _mode_count(plan, "rotation"),
    "R2-rotation-reach": _beyond_rotation,
    "R2-rotation-timetable": _visits,
    "R2-stationed": lambda plan: _mode_count(plan, "stationed"),
    "R2-stationed-term": lambda plan: _mode_count(plan, "stationed"),
    "R2-stationed-size": _stationed_large,
    "R2-build": lambda plan: _mode_count(plan, "build"),
    "R3-second-centre": _above("second_centre", "township_second_centre_population"),
    "R4-village-doctors": _staffing("village_doctors", "village"),
    "R4-centre-establishment": _staffing("centre_staff"),
    "R4-professional-share": _professional,
    "R4-full-establishment": _sites,
    "R5-tertiary": _above("tertiary_hospital", "county_tertiary_population"),
}


def _affected(plan: Any, rule: Rule) -> int | None:
    count = AFFECTED.get(rule.id)
    if count is None:
        return None
    try:
        return count(plan)
    except (KeyError, ValueError, TypeError, AttributeError):  # an odd table: shown as "—"
        return None


def rule_register(plan: CountyPlan | Any) -> pd.DataFrame:
    """The rule register of a finished plan.

    Parameters
    ----------
    plan
        A :class:`~coverkit.plan.CountyPlan` (read duck-typed: ``params``,
        ``summary``, ``eligible`` and its tables; a missing table or column makes
        that rule's ``affected`` ``None``).

    Returns
    -------
    DataFrame
        :data:`RULE_COLUMNS` plus ``value`` (``name=value; …`` of the settings and
        parameters used, or the text's fixed value) and ``affected`` (a count in
        the rule's ``unit``, nullable integer; ``<NA>`` when not countable).
    """
    table = rules_table()
    table["value"] = [_values_text(plan, r) for r in RULES]
    table["affected"] = pd.array([_affected(plan, r) for r in RULES], dtype="Int64")
    order = ["id", "kind", "quote_zh", "source", "settings", "value", "affected", "unit"]
    return table[order + [c for c in table.columns if c not in order]]


# --------------------------------------------------------------------------- parameters


#: Defaults of the plan parameters that :mod:`coverkit.settings` does not hold
#: (:class:`~coverkit.plan.PlanParameters`; a test keeps the two equal).
PARAMETER_DEFAULTS: dict[str, Any] = {
    "objective": "pmedian",
    "candidates": "auto",
    "standard_only": False,
    "mode": "drive",
}


def _parameter_default(name: str) -> Any:
    if hasattr(settings, name):
        return getattr(settings, name)
    return PARAMETER_DEFAULTS.get(name)


def parameter_table(default_of: Callable[[str], Any] | None = None) -> pd.DataFrame:
    """Every setting or parameter :data:`RULES` names, with its default, kind and source.

    Parameters
    ----------
    default_of
        ``name -> default``; by default the setting, else the
        default of :data:`PARAMETER_DEFAULTS`.

    Returns
    -------
    DataFrame
        ``name, default, kind, source, rules`` (the README's parameter table).
    """
    default_of = default_of or _parameter_default
    rows = []
    for name in setting_names():
        rules = [r for r in RULES if any(n.split(".")[0] == name for n in r.settings)]
        kinds = {r.kind for r in rules}
        value = default_of(name)
        if isinstance(value, float) and math.isinf(value):
            value = "inf"
        rows.append(
            {
                "name": name,
                "default": format_value(value),
                "kind": POLICY if kinds == {POLICY} else CONVENTION,
                "source": "; ".join(dict.fromkeys(r.source for r in rules)),
                "rules": ", ".join(r.id for r in rules),
            }
        )
    return pd.DataFrame(rows)


def parameter_markdown() -> str:
    """:func:`parameter_table` as a Markdown table (for the README)."""
    table = parameter_table()
    lines = ["| name | default | kind | source | rules |", "|---|---|---|---|---|"]
    for row in table.itertuples(index=False):
        lines.append(f"| `{row.name}` | {row.default} | {row.kind} | {row.source} | {row.rules} |")
    return "\n".join(lines)


__all__ = [
    "AFFECTED",
    "CONVENTION",
    "PARAMETER_DEFAULTS",
    "POLICY",
    "RULES",
    "RULE_COLUMNS",
    "Rule",
    "format_value",
    "parameter_markdown",
    "parameter_table",
    "rule_register",
    "rules_table",
    "setting_names",
    "value_of",
]


if __name__ == "__main__":  # pragma: no cover
    print(parameter_markdown())
