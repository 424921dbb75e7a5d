"""Village service modes (Rule 2) with their reasons, and shared-clinic proposals.

:func:`service_mode` is the rule for one village; :func:`assign_service_modes`
gathers each village's facts (clinic status, its joint-service host chosen within
the caps by :func:`~coverkit.villages.joint.assign_joint_hosts`, township centre),
applies the rule (fixed, joint, build, rotation, stationed) and writes the reason
in Chinese and English.
:func:`propose_shared_clinics` groups villages without a standard clinic that
could build one together (共建).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from coverkit import settings
from coverkit.errors import InvalidValueError
from coverkit.io import clinic_status_from_values
from coverkit.villages.common import (
    as_km,
    as_minutes,
    display_labels,
    format_minutes,
    format_population,
    logger,
    village_columns,
    villages_labels,
)
from coverkit.villages.joint import (
    JOINT_TRAVEL_MODES,
    JointAssignment,
    assign_joint_hosts,
    walking_minutes,
)
from coverkit.vocab import ServiceMode, label

#: km of trips between villages: ``trip_km(rows, cols)`` gives, for each pair of village
#: row positions, the km from village ``rows[k]`` to village ``cols[k]`` along the path
#: whose minutes the village stage was given (the plan: the road network's quickest path).
TripKm = Callable[[np.ndarray, np.ndarray], np.ndarray]


def pair_km(trip_km: TripKm, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``trip_km(rows, cols)`` checked: float64 km, one per pair, NaN = unreachable.

    Parameters
    ----------
    trip_km
        The km of pairs of villages (:data:`TripKm`).
    rows, cols
        Village row positions of the pairs' starts and ends.

    Returns
    -------
    numpy.ndarray
        float64 km per pair.

    Raises
    ------
    InvalidValueError
        If ``trip_km`` gives another number of values or negative km.
    """
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    if rows.size == 0:
        return np.zeros(0)
    return as_km(trip_km(rows, cols), rows.shape, "trip_km(rows, cols)")


@dataclass(frozen=True)
class ModeLimits:
    """The thresholds of Rule 2.

    Attributes
    ----------
    joint_max_min
        Largest travel time (in ``joint_travel_mode`` minutes) to a neighbour's
        standard clinic for joint service.
    rotation_max_min
        Largest travel time to the township centre for rotation visits.
    stationed_min_population
        Villages with at least this many residents get stationed staff.
    build_min_population
        Villages without a standard clinic and without a host, with at least this
        many residents, get "build or upgrade a clinic".
    joint_max_villages
        Most guest villages per host clinic.
    joint_max_population
        Most people a host clinic serves, its own village included.
    joint_same_township
        Joint service only within a township.
    joint_travel_mode
        ``"walk"`` or ``"drive"``: how ``joint_max_min`` is measured.
    """

    joint_max_min: float
    rotation_max_min: float
    stationed_min_population: float
    build_min_population: float
    joint_max_villages: int
    joint_max_population: float
    joint_same_township: bool
    joint_travel_mode: str

    @classmethod
    def from_settings(cls, **given: Any) -> ModeLimits:
        """The given limits, each missing or ``None`` read from :mod:`coverkit.settings` now.

        Parameters
        ----------
        **given
            Field values by name (``joint_max_min``, ``rotation_max_min``,
            ``stationed_min_population``, ``build_min_population``,
            ``joint_max_villages``, ``joint_max_population``,
            ``joint_same_township``, ``joint_travel_mode``). Their defaults are
            :data:`coverkit.settings.joint_service_max_min`, ``rotation_max_min``,
            ``stationed_min_population``, ``build_clinic_min_population``,
            ``joint_max_villages``, ``joint_max_population``,
            ``joint_same_township`` and ``joint_travel_mode``.

        Returns
        -------
        ModeLimits
            The limits to apply.

        Raises
        ------
        InvalidValueError
            An unknown field, an unknown travel mode or a negative cap.
        """
        source = {
            "joint_max_min": "joint_service_max_min",
            "rotation_max_min": "rotation_max_min",
            "stationed_min_population": "stationed_min_population",
            "build_min_population": "build_clinic_min_population",
            "joint_max_villages": "joint_max_villages",
            "joint_max_population": "joint_max_population",
            "joint_same_township": "joint_same_township",
            "joint_travel_mode": "joint_travel_mode",
        }
        unknown = sorted(set(given) - set(source))
        if unknown:
            raise InvalidValueError(f"unknown mode limits {unknown}; use {sorted(source)}")
        v = {
            k: getattr(settings, name) if given.get(k) is None else given[k]
            for k, name in source.items()
        }
        if v["joint_travel_mode"] not in JOINT_TRAVEL_MODES:
            raise InvalidValueError(
                f"joint_travel_mode={v['joint_travel_mode']!r}: use one of "
                f"{', '.join(JOINT_TRAVEL_MODES)}"
            )
        if int(v["joint_max_villages"]) < 0 or not float(v["joint_max_population"]) >= 0:
            raise InvalidValueError(
                f"joint_max_villages={v['joint_max_villages']}, joint_max_population="
                f"{v['joint_max_population']}: give caps >= 0"
            )
        v["joint_max_villages"] = int(v["joint_max_villages"])
        v["joint_same_township"] = bool(v["joint_same_township"])
        return cls(**v)


@dataclass(frozen=True)
class VillageAccess:
    """What Rule 2 looks at for one village.

    Attributes
    ----------
    clinic_status
        ``standard``, ``weak`` or ``none``.
    neighbour_label
        Label of the nearest other village with a standard clinic that the
        township rule allows (in the joint travel mode).
    neighbour_min
        Minutes to that clinic (``inf`` when none can be reached).
    has_centre
        Whether the village's township has a health centre.
    centre_min
        Minutes to the township health centre (``inf`` = unreachable).
    population
        Residents.
    hosts_in_reach
        Standard clinics the township rule allows within ``joint_max_min``.
    host_label
        The host clinic's village (joint service), ``None`` when it has none.
    host_min
        Minutes to the host.
    host_guests, host_population
        Load of the clinic: for a guest its host's, for a standard clinic its
        own (guest villages; people served, its own village included).
    """

    clinic_status: str
    neighbour_label: str
    neighbour_min: float
    has_centre: bool
    centre_min: float
    population: float
    hosts_in_reach: int = 0
    host_label: str | None = None
    host_min: float = np.inf
    host_guests: int = 0
    host_population: float = np.nan


def service_mode(v: VillageAccess, limits: ModeLimits) -> ServiceMode:
    """The service mode of one village (Rule 2), the first rule that applies.

    Parameters
    ----------
    v
        The village's clinic, host, centre and population.
    limits
        The Rule 2 thresholds.

    Returns
    -------
    ServiceMode
        ``fixed`` with its own standard clinic; ``joint`` when a host clinic
        took it (:func:`~coverkit.villages.joint.assign_joint_hosts`); ``build``
        with at least ``build_min_population`` residents; ``rotation`` if its
        township centre exists, lies within ``rotation_max_min`` and the village
        has fewer than ``stationed_min_population`` residents; else ``stationed``.
    """
    if v.clinic_status == "standard":
        return ServiceMode.FIXED
    if v.host_label is not None:
        return ServiceMode.JOINT
    if v.population >= limits.build_min_population:
        return ServiceMode.BUILD
    if (
        v.has_centre
        and v.centre_min <= limits.rotation_max_min
        and v.population < limits.stationed_min_population
    ):
        return ServiceMode.ROTATION
    return ServiceMode.STATIONED


# --------------------------------------------------------------------------- reasons

_STATUS_ZH = {"weak": "村卫生室服务能力较弱", "none": "无村卫生室"}
_STATUS_EN = {"weak": "its village clinic is weak", "none": "it has no village clinic"}


def _villages_en(k: int) -> str:
    """``1 guest village`` / ``2 guest villages``."""
    return f"{k} guest village" + ("" if k == 1 else "s")


def _caps(limits: ModeLimits) -> tuple[str, str]:
    """The host caps for a sentence, Chinese and English."""
    n, p = limits.joint_max_villages, format_population(limits.joint_max_population)
    return f"每所至多{n}个邻村、{p}人", f"at most {n} guest villages and {p} people each"


def _joint_phrase(v: VillageAccess, limits: ModeLimits) -> tuple[str, str]:
    """Why joint service: the host, its distance and its load against the caps."""
    how_zh, how_en = label(f"travel.{limits.joint_travel_mode}"), limits.joint_travel_mode
    m, limit = format_minutes(v.host_min), format_minutes(limits.joint_max_min)
    load = format_population(v.host_population)
    caps_zh, caps_en = _caps(limits)
    return (
        f"{how_zh}{m}分钟到{v.host_label}村卫生室（不超过{limit}分钟），由其提供邻（联）村"
        f"延伸服务；该卫生室服务{v.host_guests}个邻村、共{load}人（{caps_zh}）",
        f"the clinic of {v.host_label} is a {m} min {how_en} away (within {limit} min) and "
        f"serves it: joint service; that clinic serves {_villages_en(v.host_guests)}, {load} "
        f"people in all ({caps_en})",
    )


def _no_host_phrase(v: VillageAccess, limits: ModeLimits) -> tuple[str, str]:
    """Why no host clinic: none reachable, the nearest too far, or those near are full."""
    how_zh, how_en = label(f"travel.{limits.joint_travel_mode}"), limits.joint_travel_mode
    scope_zh, scope_en = ("本乡镇", " in its township") if limits.joint_same_township else ("", "")
    limit = format_minutes(limits.joint_max_min)
    if not np.isfinite(v.neighbour_min):
        return (
            f"{scope_zh}无可达的标准化村卫生室",
            f"no standard clinic{scope_en} can be reached",
        )
    if v.hosts_in_reach == 0:
        near = format_minutes(v.neighbour_min)
        return (
            f"{scope_zh}最近的标准化村卫生室（{v.neighbour_label}）{how_zh}{near}分钟，"
            f"超过邻（联）村服务上限{limit}分钟",
            f"the nearest standard clinic{scope_en} ({v.neighbour_label}) is a {near} min "
            f"{how_en}, beyond the {limit} min joint-service limit",
        )
    caps_zh, caps_en = _caps(limits)
    return (
        f"{how_zh}{limit}分钟内的{v.hosts_in_reach}所标准化村卫生室均无余量接纳本村（{caps_zh}）",
        f"the {v.hosts_in_reach} standard clinic(s) within a {limit} min {how_en} cannot take "
        f"it within their caps ({caps_en})",
    )


def _build_phrase(v: VillageAccess, limits: ModeLimits) -> tuple[str, str]:
    """Why build or upgrade a clinic: large enough, and no host."""
    pop, big = format_population(v.population), format_population(limits.build_min_population)
    if v.clinic_status == "weak":
        act_zh, act_en = "提标改造为标准化村卫生室", "upgrade its clinic to a standard clinic"
    else:
        act_zh, act_en = "新建标准化村卫生室", "build a standard clinic"
    return (
        f"人口{pop}人，不少于{big}人：{act_zh}（每个行政村原则上设置1所标准化村卫生室）",
        f"it has {pop} residents, at least {big}: {act_en} (one standard clinic per "
        "administrative village in principle)",
    )


def _rotation_phrase(v: VillageAccess, limits: ModeLimits) -> tuple[str, str]:
    """Why rotation visits: centre near enough and village small enough."""
    cmin, rot = format_minutes(v.centre_min), format_minutes(limits.rotation_max_min)
    pop, big = format_population(v.population), format_population(limits.stationed_min_population)
    return (
        f"距乡镇卫生院{cmin}分钟（不超过{rot}分钟），人口{pop}人（少于{big}人）："
        "乡镇卫生院定期巡诊，每周至少2次、每次至少半天，时间相对固定",
        f"its township health centre is {cmin} min away (within {rot} min) and it has "
        f"{pop} residents (fewer than {big}): rotation visits from the centre, at least "
        "2 half-day visits a week at fixed times",
    )


def _stationed_phrase(v: VillageAccess, limits: ModeLimits) -> tuple[str, str]:
    """Why stationed staff: no centre, centre unreachable, too far and/or too large."""
    if not v.has_centre:
        why_zh = "所在乡镇没有乡镇卫生院（请在设施表中补充）"
        why_en = "its township has no township health centre (add it to the facilities)"
    elif not np.isfinite(v.centre_min):
        why_zh = "公路无法到达乡镇卫生院"
        why_en = "its township health centre cannot be reached by road"
    else:
        cmin, rot = format_minutes(v.centre_min), format_minutes(limits.rotation_max_min)
        pop = format_population(v.population)
        big = format_population(limits.stationed_min_population)
        parts_zh, parts_en = [], []
        if v.centre_min > limits.rotation_max_min:
            parts_zh.append(f"距乡镇卫生院{cmin}分钟，超过巡诊上限{rot}分钟")
            parts_en.append(
                f"its township health centre is {cmin} min away, beyond the {rot} min "
                "rotation limit"
            )
        if v.population >= limits.stationed_min_population:
            parts_zh.append(f"人口{pop}人，不少于{big}人")
            parts_en.append(f"it has {pop} residents, at least {big}")
        why_zh, why_en = "，".join(parts_zh), " and ".join(parts_en)
    return (
        f"{why_zh}：派驻人员每周在村工作不少于5日，在同一行政村至少连续服务半年",
        f"{why_en}: stationed staff, at least 5 days a week and at least half a year "
        "continuously in the same village",
    )


def mode_reason(v: VillageAccess, mode: ServiceMode, limits: ModeLimits) -> tuple[str, str]:
    """The reason for a village's service mode, in Chinese and English.

    Parameters
    ----------
    v
        The village's facts.
    mode
        Its mode, from :func:`service_mode`.
    limits
        The Rule 2 thresholds.

    Returns
    -------
    tuple of str
        ``(reason_zh, reason_en)``.
    """
    if mode == ServiceMode.FIXED:
        zh = "有标准化村卫生室，固定设点服务"
        en = "has a standard village clinic: fixed clinic service"
        if v.host_guests > 0:
            load = format_population(v.host_population)
            zh += f"；并为{v.host_guests}个邻村提供邻（联）村延伸服务，共服务{load}人"
            en += f"; it also serves {_villages_en(v.host_guests)}, {load} people in all"
        return zh, en
    s_zh, s_en = _STATUS_ZH[v.clinic_status], _STATUS_EN[v.clinic_status]
    if mode == ServiceMode.JOINT:
        tail_zh, tail_en = _joint_phrase(v, limits)
        return f"{s_zh}；{tail_zh}", f"{s_en}; {tail_en}"
    head_zh, head_en = _no_host_phrase(v, limits)
    tail = {
        ServiceMode.BUILD: _build_phrase,
        ServiceMode.ROTATION: _rotation_phrase,
    }.get(mode, _stationed_phrase)
    tail_zh, tail_en = tail(v, limits)
    return f"{s_zh}；{head_zh}；{tail_zh}", f"{s_en}; {head_en}; {tail_en}"


# --------------------------------------------------------------------------- facts


def _joint_minutes(
    villages: gpd.GeoDataFrame,
    vmat: np.ndarray,
    limits: ModeLimits,
    village_walk_min: np.ndarray | None,
    walk_speed_kph: float | None,
) -> np.ndarray:
    """Minutes between villages in the joint travel mode (walk: given, or straight line)."""
    if limits.joint_travel_mode == "drive":
        return vmat
    n = len(vmat)
    if village_walk_min is not None:
        return as_minutes(village_walk_min, (n, n), "village_walk_min")
    return walking_minutes(villages, walk_speed_kph=walk_speed_kph)


def _facts(
    status: np.ndarray,
    lab: np.ndarray,
    pop: np.ndarray,
    cmin: np.ndarray,
    no_centre: np.ndarray,
    ja: JointAssignment,
) -> list[VillageAccess]:
    """Each village's :class:`VillageAccess` from its clinic, host and centre."""
    facts = []
    for i in range(len(status)):
        h = int(ja.host[i])
        load_of = h if h >= 0 else i
        facts.append(
            VillageAccess(
                clinic_status=status[i],
                neighbour_label=lab[ja.nearest[i]] if ja.nearest[i] >= 0 else "",
                neighbour_min=float(ja.nearest_min[i]),
                has_centre=not no_centre[i],
                centre_min=float(cmin[i]),
                population=float(pop[i]),
                hosts_in_reach=int(ja.in_reach[i]),
                host_label=lab[h] if h >= 0 else None,
                host_min=float(ja.minutes[i]),
                host_guests=int(ja.guests[load_of]),
                host_population=float(ja.load[load_of]),
            )
        )
    return facts


def _centre_ids(centre_ids: Sequence[Any] | np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Centre ids as an object array, and a mask of the villages with no centre."""
    cid = np.asarray(list(centre_ids), dtype=object)
    if cid.shape != (n,):
        raise InvalidValueError(
            f"centre_ids has {len(cid)} entries for {n} villages; give one centre id per village"
        )
    no_centre = np.array([np.ndim(v) == 0 and bool(pd.isna(v)) for v in cid], dtype=bool)
    return cid, no_centre


def _share_groups(
    out: gpd.GeoDataFrame, vmat: np.ndarray, ids: np.ndarray, share_radius_min: float | None
) -> pd.arrays.IntegerArray:
    """Proposal number of :func:`propose_shared_clinics` per village (<NA> if none)."""
    shared = propose_shared_clinics(out, vmat, share_radius_min=share_radius_min)
    group = pd.array([pd.NA] * len(out), dtype="Int64")
    pos = {str(v): k for k, v in enumerate(ids)}
    for g, members in zip(shared["group"], shared["village_ids"], strict=True):
        for v in members.split("、"):
            group[pos[v]] = g
    return group


def _serving_km(
    ja: JointAssignment,
    standard: np.ndarray,
    lim: ModeLimits,
    centre_km: np.ndarray,
    km_of: tuple[TripKm | None, bool, float | None],
) -> np.ndarray:
    """km to the serving facility: 0 at its own clinic, to the host, or to the centre.

    A guest's km is measured as its host minutes are: the straight line × detour
    ratio of the walking estimate (``km_of[1]``: no walking minutes were given;
    ``km_of[2]`` its speed), else ``trip_km`` (``km_of[0]``) along the given minutes' path.
    """
    trip_km, estimated, walk_speed_kph = km_of
    joint = ja.host >= 0
    km = np.where(standard, 0.0, np.where(joint, np.nan, centre_km))
    g = np.flatnonzero(joint)
    if g.size and lim.joint_travel_mode == "walk" and estimated:
        speed = float(settings.walk_speed_kph if walk_speed_kph is None else walk_speed_kph)
        km[g] = ja.minutes[g] / 60.0 * speed  # the estimate's straight line × detour ratio
    elif g.size and trip_km is not None:
        km[g] = pair_km(trip_km, g, ja.host[g])
    return km


def clinic_hosts(villages: pd.DataFrame) -> np.ndarray:
    """Which villages have a standard clinic: the possible joint-service hosts.

    Only the minutes TO these villages are read beyond the shared-clinic radius
    (:func:`assign_service_modes` takes hosts only from them, and the nearest
    clinic it reports is one of them); between the other villages only the
    minutes within :data:`coverkit.settings.share_clinic_radius_min` matter
    (:func:`propose_shared_clinics`).

    Parameters
    ----------
    villages
        The village table (``clinic`` column as :func:`village_columns` finds it).

    Returns
    -------
    numpy.ndarray
        Length-n bool, True where the clinic status is ``standard``.
    """
    cols = village_columns(villages)
    return clinic_status_from_values(villages[cols["clinic"]]).to_numpy() == "standard"


def assign_service_modes(
    villages: gpd.GeoDataFrame,
    *,
    village_clinic_min: np.ndarray,
    centre_min: np.ndarray,
    centre_ids: Sequence[Any] | np.ndarray,
    joint_max_min: float | None = None,
    rotation_max_min: float | None = None,
    stationed_min_population: float | None = None,
    share_radius_min: float | None = None,
    village_walk_min: np.ndarray | None = None,
    walk_speed_kph: float | None = None,
    centre_km: np.ndarray | None = None,
    trip_km: TripKm | None = None,
    **limits: Any,
) -> gpd.GeoDataFrame:
    """Give every village exactly one service mode (Rule 2) with its reason.

    Parameters
    ----------
    villages
        ``id, name, township, population, clinic`` (clinic: ``standard`` /
        ``weak`` / ``none`` or the Chinese synonyms 标准/有, 薄弱/弱, 无/没有).
    village_clinic_min
        n × n minutes from village i to village j's clinic (``np.inf`` =
        unreachable); rows and columns in the row order of ``villages``. The
        joint travel time when ``joint_travel_mode="drive"``.
    centre_min
        Length-n minutes from each village to its township health centre.
    centre_ids
        Length-n id of the serving township health centre; ``None``/NaN when
        the township has none.
    joint_max_min
        Largest travel time to a host clinic for joint service, in
        ``joint_travel_mode`` minutes; default
        :data:`coverkit.settings.joint_service_max_min`.
    rotation_max_min
        Largest travel time to the township centre for rotation visits;
        default :data:`coverkit.settings.rotation_max_min`.
    stationed_min_population
        Villages with at least this many residents get stationed staff;
        default :data:`coverkit.settings.stationed_min_population`.
    share_radius_min
        Radius for :func:`propose_shared_clinics` (``share_group`` column);
        default :data:`coverkit.settings.share_clinic_radius_min`.
    village_walk_min
        n × n walking minutes between villages for ``joint_travel_mode="walk"``
        (the plan gives its network's times when it runs in walk mode); default:
        straight-line distance between the villages' points ×
        :data:`coverkit.settings.circuity_factor` at ``walk_speed_kph``
        (:func:`~coverkit.villages.joint.walking_minutes`).
    walk_speed_kph
        Walking speed of that estimate; default :data:`coverkit.settings.walk_speed_kph`.
    centre_km
        Length-n km to the township health centre along the path of
        ``centre_min`` (NaN = unreachable). Given, the result has a ``km``
        column beside ``minutes``.
    trip_km
        km between villages along the path of ``village_clinic_min`` (or of
        ``village_walk_min`` when given): :data:`TripKm`, asked only for the
        guests and their hosts. Without it, guests' km are NaN unless the
        host minutes are the straight-line walking estimate (then its km).
    **limits
        ``build_min_population``, ``joint_max_villages``, ``joint_max_population``,
        ``joint_same_township``, ``joint_travel_mode`` (:class:`ModeLimits`);
        each defaults to its setting (``build_clinic_min_population``, ...).

    Returns
    -------
    GeoDataFrame
        A copy of ``villages`` (caller's columns and CRS kept) with
        ``label`` (name, with id appended when repeated in a township),
        ``clinic_status``, ``mode``, ``mode_zh``, ``rule_id``, ``reason_zh``,
        ``reason_en``, ``serving_facility`` (own id / host village id /
        centre id), ``serving_name``, ``minutes`` (0 / to the host in the joint
        travel mode / to the centre), ``centre_id``, ``host_load_villages`` and
        ``host_load_population`` (for a village with a standard clinic: guest
        villages it serves and people served, its own included; <NA>/NaN
        otherwise), with ``centre_km`` given ``km`` after ``minutes`` (the
        same trip's km: 0 / to the host / to the centre) and ``share_group`` (proposal number of
        :func:`propose_shared_clinics`, <NA> if none).

    Raises
    ------
    MissingColumnError
        A required column is missing.
    InvalidValueError
        Unknown clinic status, missing/negative population, matrices of the
        wrong shape, NaN or negative minutes, an unknown limit or travel mode,
        or walking minutes asked for villages without locations.

    Notes
    -----
    The rule for one village is :func:`service_mode`: R2-FIXED, R2-JOINT,
    R2-BUILD, R2-ROTATION, R2-STATIONED, tried in this order. Joint hosts are
    chosen for all villages at once, exactly, within each host's caps
    (:func:`~coverkit.villages.joint.assign_joint_hosts`). A weak clinic
    (服务能力较弱) neither serves the village nor its neighbours.
    Zero-population villages are allowed. Villages whose centre is unreachable
    (``inf``) or whose township has no health centre are *stationed* (not an
    error), with a reason saying so, because only stationed staff can serve
    them until a road or a centre exists.
    """
    lim = ModeLimits.from_settings(
        joint_max_min=joint_max_min,
        rotation_max_min=rotation_max_min,
        stationed_min_population=stationed_min_population,
        **limits,
    )
    cols = village_columns(villages)
    n = len(villages)
    vmat = as_minutes(village_clinic_min, (n, n), "village_clinic_min")
    cmin = as_minutes(centre_min, (n,), "centre_min")
    cid, no_centre = _centre_ids(centre_ids, n)
    jmat = _joint_minutes(villages, vmat, lim, village_walk_min, walk_speed_kph)
    out = villages.copy()
    ids = out[cols["id"]].to_numpy()
    status = clinic_status_from_values(out[cols["clinic"]]).to_numpy()
    pop = pd.to_numeric(out[cols["population"]]).to_numpy(dtype="float64")
    lab = display_labels(out[cols["id"]], out[cols["name"]], out[cols["township"]]).to_numpy()
    standard = status == "standard"
    ja = assign_joint_hosts(
        jmat,
        standard=standard,
        township=out[cols["township"]].astype(str).to_numpy(),
        population=pop,
        max_min=lim.joint_max_min,
        max_villages=lim.joint_max_villages,
        max_population=lim.joint_max_population,
        same_township=lim.joint_same_township,
    )
    facts = _facts(status, lab, pop, cmin, no_centre, ja)
    modes = [service_mode(v, lim) for v in facts]
    reasons = [mode_reason(v, m, lim) for v, m in zip(facts, modes, strict=True)]
    joint = ja.host >= 0
    host = np.where(joint, ja.host, 0)
    out["label"] = lab
    out["clinic_status"] = status
    out["mode"] = np.array([m.value for m in modes], dtype=object)
    out["mode_zh"] = [m.zh for m in modes]
    out["rule_id"] = [m.rule_id for m in modes]
    out["reason_zh"] = [zh for zh, _ in reasons]
    out["reason_en"] = [en for _, en in reasons]
    out["serving_facility"] = np.where(standard, ids, np.where(joint, ids[host], cid))
    out["serving_name"] = np.where(standard, lab, np.where(joint, lab[host], None))
    out["minutes"] = np.select([standard, joint], [0.0, ja.minutes], default=cmin).astype(float)
    if centre_km is not None:
        km_of = (trip_km, village_walk_min is None, walk_speed_kph)
        out["km"] = _serving_km(ja, standard, lim, as_km(centre_km, (n,), "centre_km"), km_of)
    out["centre_id"] = cid
    out["host_load_villages"] = pd.array(np.where(standard, ja.guests, 0), dtype="Int64")
    out.loc[~standard, "host_load_villages"] = pd.NA
    out["host_load_population"] = ja.load
    out["share_group"] = _share_groups(out, vmat, ids, share_radius_min)
    logger.info(
        "village service modes: %s",
        ", ".join(f"{m.value} {int((out['mode'] == m.value).sum())}" for m in ServiceMode),
    )
    return out


# --------------------------------------------------------------------------- shared clinics


def _star_groups(
    order: np.ndarray, town: np.ndarray, sym: np.ndarray, radius: float, n: int
) -> list[list[int]]:
    """Greedy star clusters: each ungrouped host (in ``order``) takes its close peers.

    A host takes every still ungrouped candidate of its township within
    ``radius`` (in ``sym``); only groups of two or more are kept, host first.
    """
    grouped = np.zeros(n, dtype=bool)
    groups = []
    for h in order:
        if grouped[h]:
            continue
        members = [
            int(m)
            for m in order
            if m != h and not grouped[m] and town[m] == town[h] and sym[h, m] <= radius
        ]
        if not members:
            continue
        grouped[[h, *members]] = True
        groups.append([int(h), *members])
    return groups


_SHARED_COLUMNS = [
    "group",
    "township",
    "host_id",
    "host_name",
    "village_ids",
    "villages",
    "n_villages",
    "population",
    "max_min",
]


def _max_km(groups: list[list[int]], D: np.ndarray, trip_km: TripKm) -> list[float]:
    """Per group, the largest km between a member and the host, each trip taken in the
    direction whose minutes :func:`propose_shared_clinics` reads (the larger of the two)."""
    host = np.array([g[0] for g in groups for _ in g[1:]], dtype=np.int64)
    member = np.array([m for g in groups for m in g[1:]], dtype=np.int64)
    if host.size == 0:
        return []
    back = D[member, host] >= D[host, member]
    km = pair_km(trip_km, np.where(back, member, host), np.where(back, host, member))
    ends = np.cumsum([len(g) - 1 for g in groups])
    return [
        float(np.nanmax(k)) if np.isfinite(k).any() else np.nan for k in np.split(km, ends[:-1])
    ]


def propose_shared_clinics(
    villages: pd.DataFrame,
    village_min: np.ndarray,
    *,
    share_radius_min: float | None = None,
    trip_km: TripKm | None = None,
) -> pd.DataFrame:
    """Group villages without a standard clinic that could share one new clinic.

    Parameters
    ----------
    villages
        ``id, name, township, population, clinic`` per village.
    village_min
        n × n minutes between villages (``np.inf`` = unreachable).
    share_radius_min
        Largest travel time (both directions) from a group member to the
        host village; default :data:`coverkit.settings.share_clinic_radius_min`.
    trip_km
        km between villages along the paths of ``village_min``
        (:data:`TripKm`); given, the result has ``max_km``.

    Returns
    -------
    DataFrame
        One row per proposal (共建1所村卫生室): ``group, township, host_id,
        host_name, village_ids, villages, n_villages, population, max_min``
        (then ``max_km`` with ``trip_km``: the largest km between a member
        and the host, along the paths of the minutes); ``village_ids``/
        ``villages`` are joined with "、", host first.

    Notes
    -----
    Greedy star clustering, deterministic: candidates (no standard clinic)
    are taken by population (descending, then row order); each still
    ungrouped candidate becomes a host and takes every ungrouped candidate
    of the same township within ``share_radius_min`` of it (the larger of
    the two directions). Only groups of two or more villages are proposed,
    so every member is within the radius of the suggested host.
    """
    radius = (
        settings.share_clinic_radius_min if share_radius_min is None else float(share_radius_min)
    )
    cols = village_columns(villages)
    n = len(villages)
    D = as_minutes(village_min, (n, n), "village_min")
    status = clinic_status_from_values(villages[cols["clinic"]]).to_numpy()
    pop = pd.to_numeric(villages[cols["population"]]).to_numpy(dtype="float64")
    town = villages[cols["township"]].astype(str).to_numpy()
    ids = villages[cols["id"]].to_numpy()
    lab = villages_labels(villages, cols).to_numpy()
    cand = np.flatnonzero(status != "standard")
    order = cand[np.lexsort((cand, -pop[cand]))]
    sym = np.maximum(D, D.T)
    groups = _star_groups(order, town, sym, radius, n)
    rows = [
        {
            "group": k,
            "township": town[g[0]],
            "host_id": ids[g[0]],
            "host_name": lab[g[0]],
            "village_ids": "、".join(str(ids[m]) for m in g),
            "villages": "、".join(lab[m] for m in g),
            "n_villages": len(g),
            "population": float(pop[g].sum()),
            "max_min": float(sym[g[0], g[1:]].max()),
        }
        for k, g in enumerate(groups, start=1)
    ]
    table = pd.DataFrame(rows, columns=_SHARED_COLUMNS)
    if trip_km is not None:
        table["max_km"] = np.array(_max_km(groups, D, trip_km), dtype="float64")
    return table
