"""Joint service (邻（联）村延伸服务): which standard clinic serves which neighbour.

A village without its own standard clinic may be served by another village's
standard clinic (000 §(一); 001 §3) when the clinic is

- in the same township (unless ``same_township`` is off),
- within ``max_min`` minutes (walking by default, :func:`walking_minutes`), and
- not over its caps: at most ``max_villages`` guest villages and at most
  ``max_population`` people served, its own village included.

:func:`assign_joint_hosts` chooses the hosts exactly with a small assignment MIP
(HiGHS through :func:`scipy.optimize.milp`): first the most people served
jointly, then, among those optima, the most villages, then the least total
travel. No cap is ever exceeded (the loads are re-checked in exact arithmetic
after the solve).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from coverkit import settings
from coverkit.crs import metric_crs
from coverkit.errors import InvalidValueError, SolverError
from coverkit.villages.common import logger

#: Accepted values of :data:`coverkit.settings.joint_travel_mode`.
JOINT_TRAVEL_MODES: tuple[str, ...] = ("walk", "drive")


def walking_minutes(
    villages: Any, *, walk_speed_kph: float | None = None, circuity: float | None = None
) -> np.ndarray:
    """Walking minutes between villages: straight-line distance × detour ratio at walk speed.

    Parameters
    ----------
    villages
        GeoDataFrame of the villages (points, or polygons: a point inside), with a CRS.
    walk_speed_kph
        Walking speed; default :data:`coverkit.settings.walk_speed_kph`.
    circuity
        Path length / straight-line distance; default
        :data:`coverkit.settings.circuity_factor`.

    Returns
    -------
    numpy.ndarray
        n × n float64 minutes, zero on the diagonal; ``inf`` for a village
        without a location.

    Raises
    ------
    InvalidValueError
        Without geometry or CRS, or for a speed ≤ 0 or a circuity < 1.
    """
    speed = float(settings.walk_speed_kph if walk_speed_kph is None else walk_speed_kph)
    c = float(settings.circuity_factor if circuity is None else circuity)
    if not (np.isfinite(speed) and speed > 0 and np.isfinite(c) and c >= 1):
        raise InvalidValueError(
            f"walk_speed_kph={speed:g}, circuity={c:g}: give a speed > 0 and a circuity >= 1"
        )
    geom = getattr(villages, "geometry", None)
    if geom is None or getattr(villages, "crs", None) is None:
        raise InvalidValueError(
            "joint_travel_mode='walk' needs the villages' locations (a GeoDataFrame with a CRS) "
            "or village_walk_min; give one, or set joint_travel_mode='drive'"
        )
    if geom.crs.is_geographic and len(geom):  # no village, no CRS to pick
        geom = geom.to_crs(metric_crs(geom))
    empty = geom.isna().to_numpy() | geom.is_empty.to_numpy()
    pts = geom[~empty].representative_point()
    xy = np.full((len(geom), 2), np.nan)
    xy[~empty] = np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()])
    dist = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    out = dist * c / 1000.0 / speed * 60.0
    out[np.isnan(out)] = np.inf
    np.fill_diagonal(out, 0.0)
    return out


@dataclass(frozen=True)
class JointAssignment:
    """The joint-service hosts chosen for every village (positions in row order).

    Attributes
    ----------
    host
        Position of the village's host clinic, ``-1`` when it has none.
    minutes
        Minutes to that host (``inf`` when none).
    nearest, nearest_min
        Nearest standard clinic the township rule allows (``-1``/``inf`` when
        none can be reached), whether or not it has room.
    in_reach
        Standard clinics the township rule allows within ``max_min``.
    guests
        Guest villages each village's clinic serves (0 unless it hosts).
    load
        People each standard clinic serves, its own village included (NaN for a
        village without a standard clinic).
    """

    host: np.ndarray
    minutes: np.ndarray
    nearest: np.ndarray
    nearest_min: np.ndarray
    in_reach: np.ndarray
    guests: np.ndarray
    load: np.ndarray


def _allowed(standard: np.ndarray, township: np.ndarray, same_township: bool) -> np.ndarray:
    """n × n: guest i may be served by clinic h (h standard, i not, township rule)."""
    ok = (~standard)[:, None] & standard[None, :]
    np.fill_diagonal(ok, False)
    if same_township:
        ok &= township[:, None] == township[None, :]
    return ok


def _solve(c: np.ndarray, A: sparse.csr_matrix, lb: np.ndarray, ub: np.ndarray) -> np.ndarray:
    """Binary ``min c x`` s.t. ``lb <= A x <= ub`` with HiGHS, proven optimal."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    res = milp(
        c,
        constraints=LinearConstraint(A, lb, ub),
        bounds=Bounds(0, 1),
        integrality=np.ones(len(c)),
        options={"mip_rel_gap": settings.mip_rel_gap, "presolve": True},
    )
    if res.status != 0 or res.x is None:
        raise SolverError(f"the joint-service assignment failed in HiGHS: {res.message}")
    return np.round(res.x).astype(bool)


def _optimal_edges(
    gi: np.ndarray, hi: np.ndarray, t: np.ndarray, pop: np.ndarray, room: np.ndarray, k: int
) -> np.ndarray:
    """Chosen edges: most people served, then most villages, then least travel (exact)."""
    m, n = len(gi), len(pop)
    cols = np.arange(m)
    one = np.ones(m)
    per_guest = sparse.csr_matrix((one, (gi, cols)), shape=(n, m))
    per_host = sparse.csr_matrix((one, (hi, cols)), shape=(n, m))
    people = sparse.csr_matrix((pop[gi], (hi, cols)), shape=(n, m))
    A = sparse.vstack([per_guest, per_host, people]).tocsr()
    lb = np.full(3 * n, -np.inf)
    ub = np.concatenate([np.ones(n), np.full(n, float(k)), room])
    x = _solve(-pop[gi], A, lb, ub)
    best = float(pop[gi] @ x)
    # Stage 2: keep that many people; one more village outweighs any travel saved.
    big = float(t.sum()) + 1.0
    A2 = sparse.vstack([A, sparse.csr_matrix(pop[gi][None, :])]).tocsr()
    lb2 = np.append(lb, best - 1e-9 * max(1.0, best) - 1e-6)
    ub2 = np.append(ub, np.inf)
    return _solve(t - big, A2, lb2, ub2)


def _repair(host: np.ndarray, pop: np.ndarray, cap: float, k: int) -> None:
    """Drop guests (smallest first) from a host whose exact load breaks a cap (in place).

    HiGHS accepts constraint violations within its 1e-6 feasibility tolerance; this
    makes the caps hold in exact float arithmetic whatever the solver returned.
    """
    for h in np.unique(host[host >= 0]):
        guests = np.flatnonzero(host == h)
        guests = guests[np.lexsort((guests, pop[guests]))]
        while len(guests) and (len(guests) > k or pop[h] + pop[np.sort(guests)].sum() > cap):
            logger.warning("joint service: a guest of village %d dropped to keep its caps", h)
            host[guests[0]] = -1
            guests = guests[1:]


def assign_joint_hosts(
    minutes: np.ndarray,
    *,
    standard: np.ndarray,
    township: np.ndarray,
    population: np.ndarray,
    max_min: float,
    max_villages: int,
    max_population: float,
    same_township: bool,
) -> JointAssignment:
    """Assign villages without a standard clinic to host clinics within the caps.

    Parameters
    ----------
    minutes
        n × n minutes from village i to village j's clinic (``inf`` = unreachable),
        in the joint travel mode.
    standard
        Length-n bool: the village has a standard clinic (a possible host).
    township
        Length-n township of each village.
    population
        Length-n residents.
    max_min
        Largest minutes from a guest to its host.
    max_villages
        Most guest villages per host (its own village not counted).
    max_population
        Most people a host serves, its own village included.
    same_township
        Guest and host must lie in the same township.

    Returns
    -------
    JointAssignment

    Notes
    -----
    Exact: the binary program ``x[i, h]`` (guest ``i`` served by clinic ``h``) over
    the allowed pairs (``minutes <= max_min``, township rule, ``pop[h] + pop[i] <=
    max_population``) with ``Σ_h x[i, h] <= 1``, ``Σ_i x[i, h] <= max_villages`` and
    ``Σ_i pop[i] x[i, h] <= max_population - pop[h]`` is solved twice: the most
    people served jointly, then among those optima the most villages and the least
    total minutes (one village more outweighs any travel). A host whose own
    village alone reaches ``max_population`` takes no guests.
    """
    n = len(population)
    pop = np.asarray(population, dtype="float64")
    std = np.asarray(standard, dtype=bool)
    allowed = _allowed(std, np.asarray(township, dtype=object).astype(str), same_township)
    reach = np.where(allowed, minutes, np.inf)
    nearest = np.argmin(reach, axis=1) if n else np.zeros(0, dtype=int)
    nearest_min = reach[np.arange(n), nearest] if n else np.zeros(0)
    nearest = np.where(np.isfinite(nearest_min), nearest, -1)
    within = reach <= max_min
    room = np.maximum(float(max_population) - pop, 0.0)
    fits = within & (pop[:, None] + pop[None, :] <= float(max_population)) & (max_villages > 0)
    gi, hi = np.nonzero(fits)
    host = np.full(n, -1)
    if len(gi):
        x = _optimal_edges(gi, hi, minutes[gi, hi], pop, room, int(max_villages))
        host[gi[x]] = hi[x]
        _repair(host, pop, float(max_population), int(max_villages))
    has = host >= 0
    mins = np.full(n, np.inf)
    mins[has] = minutes[np.flatnonzero(has), host[has]]
    guests = np.bincount(host[has], minlength=n)
    load = np.where(std, pop + np.bincount(host[has], weights=pop[has], minlength=n), np.nan)
    return JointAssignment(host, mins, nearest, nearest_min, within.sum(axis=1), guests, load)


def check_joint_caps(villages: pd.DataFrame, max_villages: int, max_population: float) -> None:
    """Raise if any host clinic in a modes table exceeds its caps (a self-check).

    Parameters
    ----------
    villages
        Output of :func:`~coverkit.villages.assign_service_modes`.
    max_villages, max_population
        The caps.

    Raises
    ------
    SolverError
        A host has more guests or serves more people than allowed.
    """
    load_v = pd.to_numeric(villages["host_load_villages"], errors="coerce").fillna(0)
    load_p = pd.to_numeric(villages["host_load_population"], errors="coerce")
    guests = load_v > 0
    bad = guests & ((load_v > max_villages) | (load_p > max_population))
    if bad.any():
        raise SolverError(
            f"joint service: host clinics over their caps: {villages.loc[bad, 'label'].tolist()}"
        )
