"""Village service modes (Rule 2) with their reasons, and shared-clinic proposals.

:func:`service_mode` is the rule for one village; :func:`assign_service_modes`
gathers each village's facts (clinic status, nearest neighbouring standard clinic,
township centre), applies the rule and writes the reason in Chinese and English.
:func:`propose_shared_clinics` groups villages without a standard clinic that
could build one together (共建).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from coverkit import settings
from coverkit.errors import InvalidValueError
from coverkit.io import clinic_status_from_values
from coverkit.villages.common import (
    as_minutes,
    display_labels,
    format_minutes,
    format_population,
    logger,
    village_columns,
    villages_labels,
)
from coverkit.vocab import ServiceMode


@dataclass(frozen=True)
class ModeLimits:
    """The three thresholds of Rule 2.

    Attributes
    ----------
    joint_max_min
        Largest travel time to a neighbour's standard clinic for joint service.
    rotation_max_min
        Largest travel time to the township centre for rotation visits.
    stationed_min_population
        Villages with at least this many residents get stationed staff.
    """

    joint_max_min: float
    rotation_max_min: float
    stationed_min_population: float

    @classmethod
    def from_settings(
        cls,
        joint_max_min: float | None = None,
        rotation_max_min: float | None = None,
        stationed_min_population: float | None = None,
    ) -> ModeLimits:
        """The given limits, each ``None`` read from :mod:`coverkit.settings` now.

        Parameters
        ----------
        joint_max_min
            Default :data:`coverkit.settings.joint_service_max_min`.
        rotation_max_min
            Default :data:`coverkit.settings.rotation_max_min`.
        stationed_min_population
            Default :data:`coverkit.settings.stationed_min_population`.

        Returns
        -------
        ModeLimits
            The limits to apply.
        """
        return cls(
            settings.joint_service_max_min if joint_max_min is None else joint_max_min,
            settings.rotation_max_min if rotation_max_min is None else rotation_max_min,
            settings.stationed_min_population
            if stationed_min_population is None
            else stationed_min_population,
        )


@dataclass(frozen=True)
class VillageAccess:
    """What Rule 2 looks at for one village.

    Attributes
    ----------
    clinic_status
        ``standard``, ``weak`` or ``none``.
    neighbour_label
        Label of the nearest other village with a standard clinic.
    neighbour_min
        Minutes to that clinic (``inf`` when none can be reached).
    has_centre
        Whether the village's township has a health centre.
    centre_min
        Minutes to the township health centre (``inf`` = unreachable).
    population
        Residents.
    """

    clinic_status: str
    neighbour_label: str
    neighbour_min: float
    has_centre: bool
    centre_min: float
    population: float


def service_mode(v: VillageAccess, limits: ModeLimits) -> ServiceMode:
    """The service mode of one village (Rule 2), the first rule that applies.

    Parameters
    ----------
    v
        The village's clinic, nearest standard clinic, centre and population.
    limits
        The Rule 2 thresholds.

    Returns
    -------
    ServiceMode
        ``fixed`` with its own standard clinic; ``joint`` if a neighbour's
        standard clinic is within ``joint_max_min``; ``rotation`` if its
        township centre exists, lies within ``rotation_max_min`` and the village
        has fewer than ``stationed_min_population`` residents; else ``stationed``.
    """
    if v.clinic_status == "standard":
        return ServiceMode.FIXED
    if v.neighbour_min <= limits.joint_max_min:
        return ServiceMode.JOINT
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


def _without_clinic_phrase(v: VillageAccess, limits: ModeLimits) -> tuple[str, str]:
    """Opening of a non-fixed reason: clinic status, nearest standard clinic, joint limit."""
    s_zh, s_en = _STATUS_ZH[v.clinic_status], _STATUS_EN[v.clinic_status]
    if not np.isfinite(v.neighbour_min):
        return f"{s_zh}；无可达的标准化村卫生室", f"{s_en}; no standard clinic can be reached"
    near = format_minutes(v.neighbour_min)
    limit = format_minutes(limits.joint_max_min)
    nb_zh = f"最近的标准化村卫生室（{v.neighbour_label}）{near}分钟"
    nb_en = f"the nearest standard clinic ({v.neighbour_label}) is {near} min away"
    if v.neighbour_min <= limits.joint_max_min:
        return (
            f"{s_zh}；{nb_zh}，不超过{limit}分钟",
            f"{s_en}; {nb_en}, within the {limit} min joint-service limit",
        )
    return (
        f"{s_zh}；{nb_zh}，超过{limit}分钟",
        f"{s_en}; {nb_en}, beyond the {limit} min joint-service limit",
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
        return (
            "有标准化村卫生室，固定设点服务",
            "has a standard village clinic: fixed clinic service",
        )
    head_zh, head_en = _without_clinic_phrase(v, limits)
    if mode == ServiceMode.JOINT:
        return (
            f"{head_zh}，由该村卫生室提供邻（联）村延伸服务",
            f"{head_en}: served by that clinic",
        )
    tail = _rotation_phrase if mode == ServiceMode.ROTATION else _stationed_phrase
    tail_zh, tail_en = tail(v, limits)
    return f"{head_zh}；{tail_zh}", f"{head_en}; {tail_en}"


# --------------------------------------------------------------------------- facts


def _nearest_standard_clinic(
    vmat: np.ndarray, standard: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Position of and minutes to each village's nearest *other* standard clinic.

    Ties go to the lower row position; a village that reaches none gets
    position 0 and ``inf`` minutes.
    """
    n = len(standard)
    to_std = np.where(standard[None, :], vmat, np.inf)
    np.fill_diagonal(to_std, np.inf)
    nearest = np.argmin(to_std, axis=1) if n else np.zeros(0, dtype=int)
    near_min = to_std[np.arange(n), nearest] if n else np.zeros(0)
    return nearest, near_min


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
) -> gpd.GeoDataFrame:
    """Give every village exactly one service mode (Rule 2) with its reason.

    Parameters
    ----------
    villages
        ``id, name, township, population, clinic`` (clinic: ``standard`` /
        ``weak`` / ``none`` or the Chinese synonyms 标准/有, 薄弱/弱, 无/没有).
    village_clinic_min
        n × n minutes from village i to village j's clinic (``np.inf`` =
        unreachable); rows and columns in the row order of ``villages``.
    centre_min
        Length-n minutes from each village to its township health centre.
    centre_ids
        Length-n id of the serving township health centre; ``None``/NaN when
        the township has none.
    joint_max_min
        Largest travel time to a neighbour's standard clinic for joint
        service; default :data:`coverkit.settings.joint_service_max_min`.
    rotation_max_min
        Largest travel time to the township centre for rotation visits;
        default :data:`coverkit.settings.rotation_max_min`.
    stationed_min_population
        Villages with at least this many residents get stationed staff;
        default :data:`coverkit.settings.stationed_min_population`.
    share_radius_min
        Radius for :func:`propose_shared_clinics` (``share_group`` column);
        default :data:`coverkit.settings.share_clinic_radius_min`.

    Returns
    -------
    GeoDataFrame
        A copy of ``villages`` (caller's columns and CRS kept) with
        ``label`` (name, with id appended when repeated in a township),
        ``clinic_status``, ``mode``, ``mode_zh``, ``rule_id``, ``reason_zh``,
        ``reason_en``, ``serving_facility`` (own id / serving village id /
        centre id), ``serving_name``, ``minutes``, ``centre_id`` and
        ``share_group`` (proposal number of :func:`propose_shared_clinics`,
        <NA> if none).

    Raises
    ------
    MissingColumnError
        A required column is missing (the message lists accepted names).
    InvalidValueError
        Unknown clinic status, missing/negative population, matrices of the
        wrong shape, NaN or negative minutes.

    Notes
    -----
    The rule for one village is :func:`service_mode`: R2-FIXED, R2-JOINT,
    R2-ROTATION, R2-STATIONED, tried in this order. A weak clinic
    (服务能力较弱) neither serves the village nor its neighbours.
    Zero-population villages are allowed and get rotation unless far.
    Villages whose centre is unreachable (``inf``) or whose township has no
    health centre are *stationed* (not an error), with a reason saying so,
    because only stationed staff can serve them until a road or a centre
    exists. Ties between serving villages go to the lower row position.
    """
    limits = ModeLimits.from_settings(joint_max_min, rotation_max_min, stationed_min_population)
    cols = village_columns(villages)
    n = len(villages)
    vmat = as_minutes(village_clinic_min, (n, n), "village_clinic_min")
    cmin = as_minutes(centre_min, (n,), "centre_min")
    cid, no_centre = _centre_ids(centre_ids, n)
    out = villages.copy()
    ids = out[cols["id"]].to_numpy()
    status = clinic_status_from_values(out[cols["clinic"]]).to_numpy()
    pop = pd.to_numeric(out[cols["population"]]).to_numpy(dtype="float64")
    lab = display_labels(out[cols["id"]], out[cols["name"]], out[cols["township"]]).to_numpy()
    nearest, near_min = _nearest_standard_clinic(vmat, status == "standard")
    facts = [
        VillageAccess(status[i], lab[nearest[i]], near_min[i], not no_centre[i], cmin[i], pop[i])
        for i in range(n)
    ]
    modes = [service_mode(v, limits) for v in facts]
    reasons = [mode_reason(v, m, limits) for v, m in zip(facts, modes, strict=True)]
    mode = np.array([m.value for m in modes], dtype=object)
    fixed, joint = mode == ServiceMode.FIXED.value, mode == ServiceMode.JOINT.value
    out["label"] = lab
    out["clinic_status"] = status
    out["mode"] = mode
    out["mode_zh"] = [m.zh for m in modes]
    out["rule_id"] = [m.rule_id for m in modes]
    out["reason_zh"] = [zh for zh, _ in reasons]
    out["reason_en"] = [en for _, en in reasons]
    out["serving_facility"] = np.where(fixed, ids, np.where(joint, ids[nearest] if n else ids, cid))
    out["serving_name"] = np.where(fixed, lab, np.where(joint, lab[nearest] if n else lab, None))
    out["minutes"] = np.select([fixed, joint], [0.0, near_min], default=cmin).astype("float64")
    out["centre_id"] = cid
    out["share_group"] = _share_groups(out, vmat, ids, share_radius_min)
    logger.info(
        "village service modes: %s",
        ", ".join(f"{m.value} {int((mode == m.value).sum())}" for m in ServiceMode),
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


def propose_shared_clinics(
    villages: pd.DataFrame,
    village_min: np.ndarray,
    *,
    share_radius_min: float | None = None,
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

    Returns
    -------
    DataFrame
        One row per proposal (共建1所村卫生室): ``group, township, host_id,
        host_name, village_ids, villages, n_villages, population, max_min``;
        ``village_ids``/``villages`` are joined with "、", host first.

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
        for k, g in enumerate(_star_groups(order, town, sym, radius, n), start=1)
    ]
    return pd.DataFrame(rows, columns=_SHARED_COLUMNS)
