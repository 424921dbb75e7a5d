"""Assigning demand to a given set of sites under their capacities (beds or staff as people).

The chosen sub-centres can serve only so many people; the existing county hospitals
take everyone (uncapacitated). :func:`assign_with_capacity` sends each demand row to
its nearest county-level facility where capacity allows and otherwise minimises the
total person-minutes under the capacities: an LP (HiGHS) where a row's demand may be
split, or a MIP where each row goes wholly to one place (``single_source=True``).
Demand that a site cannot take falls back to the county hospital at its baseline
minutes: that site's *unserved* demand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from coverkit import settings
from coverkit.errors import InvalidValueError
from coverkit.siting.base import SolveLog, _after, _aggregate, _milp, _validate
from coverkit.siting.scenarios import _checked_selection

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class CapacityAssignment:
    """Demand assigned to a set of sites under their capacities.

    Attributes
    ----------
    load
        One row per site, in the order given: ``site`` (column index), ``id``,
        ``capacity`` (people; ``inf`` = no limit), ``demand_nearest`` (people whose
        nearest county-level facility is this site: its load without capacity),
        ``load`` (people assigned), ``utilisation`` (load / capacity; ``nan`` for a
        zero capacity), ``unserved`` (people nearest this site sent to the county
        hospital), ``overloaded`` (demand_nearest > capacity).
    assigned
        Per demand row: the cost column serving it (its largest share when split;
        ties to the first site given), or ``-1`` for the county hospital / nothing.
    minutes_after
        Per demand row: minutes to care under the assignment (a split row: the
        share-weighted mean; ``inf`` when nothing reaches it).
    minutes_nearest
        Per demand row: minutes to the nearest county-level facility (no capacity).
    unserved
        People nearer a site than the hospital whom no site can take (sum of ``load.unserved``).
    unreachable_population
        People with no finite time under the assignment.
    mean_min, mean_min_uncapacitated
        Population-weighted mean minutes over the reachable population, with and
        without the capacities.
    objective, objective_uncapacitated
        Person-minutes over the reachable population, with and without capacities.
    single_source
        Whether each row went wholly to one place.
    n_groups
        Rows in the model after merging identical (costs, baseline[, weight]) rows.
    status, solve_time_s
        HiGHS's status (``'optimal'``) and seconds.
    """

    load: pd.DataFrame
    assigned: np.ndarray
    minutes_after: np.ndarray
    minutes_nearest: np.ndarray
    unserved: float
    unreachable_population: float
    mean_min: float
    mean_min_uncapacitated: float
    objective: float
    objective_uncapacitated: float
    single_source: bool
    n_groups: int
    status: str
    solve_time_s: float


def _checked_capacities(capacity: Any, k: int) -> np.ndarray:
    """One capacity >= 0 (people, ``inf`` = no limit) per selected site."""
    try:
        cap = np.broadcast_to(np.asarray(capacity, dtype="float64"), (k,)).copy()
    except ValueError:
        raise InvalidValueError(
            f"capacity has {np.size(capacity)} values for {k} selected sites; pass one per site"
        ) from None
    if np.isnan(cap).any() or (cap < 0).any():
        raise InvalidValueError("capacity must be >= 0 people per site (np.inf for no limit)")
    return cap


@dataclass(frozen=True)
class _Groups:
    """The rows that prefer some site, merged: costs, baseline, unit weight, rows per group."""

    rows: np.ndarray  # demand rows in the model
    inv: np.ndarray  # group of each of those rows
    cost: np.ndarray  # groups x sites (inf where the site is no nearer than the baseline)
    base: np.ndarray  # groups
    unit: np.ndarray  # people per unit of a variable
    count: np.ndarray  # units per group (rows when single source, else 1)
    nearest: np.ndarray  # position of each group's nearest site


def _groups(Cs: np.ndarray, b: np.ndarray, w: np.ndarray, single: bool) -> _Groups:
    """Merge the rows nearer some site than the hospital by (costs, baseline[, weight])."""
    near = Cs.min(axis=1) < b if Cs.shape[1] else np.zeros(b.shape[0], bool)
    rows = np.flatnonzero(near & (w > 0))
    Cr = Cs[rows]
    Cr = np.where(Cr < b[rows, None], Cr, np.inf)
    extra = (b[rows], w[rows]) if single else (b[rows],)
    uniq, inv = _aggregate(Cr, *extra)
    k = Cs.shape[1]
    cost, base = uniq[:, :k], uniq[:, k]
    if single:
        unit, count = uniq[:, k + 1], np.bincount(inv, minlength=uniq.shape[0]).astype(float)
    else:
        unit, count = np.bincount(inv, weights=w[rows], minlength=uniq.shape[0]), np.ones(len(uniq))
    return _Groups(rows, inv, cost, base, unit, count, np.argmin(cost, axis=1))


def _solve(g: _Groups, cap: np.ndarray, single: bool, log: SolveLog, limit: float) -> np.ndarray:
    """Units of each group per place (groups × (sites + hospital)), by HiGHS."""
    from scipy import sparse

    G, k = g.cost.shape
    gi, sj = np.nonzero(np.isfinite(g.cost))
    npair = gi.size
    fin_b = np.isfinite(g.base)
    big = (g.cost[gi, sj].max() if npair else 0.0) + (g.base[fin_b].max() if fin_b.any() else 0)
    slack_cost = np.where(fin_b, g.base, big + 1.0)
    c = np.concatenate([g.unit[gi] * g.cost[gi, sj], g.unit * slack_cost])
    rows = np.concatenate([gi, np.arange(G), G + sj])
    cols = np.concatenate([np.arange(npair), npair + np.arange(G), np.arange(npair)])
    vals = np.concatenate([np.ones(npair + G), g.unit[gi]])
    A = sparse.csr_matrix((vals, (rows, cols)), shape=(G + k, npair + G))
    capv = np.where(np.isfinite(cap), cap, float((g.unit * g.count).sum()) + 1.0)
    lb = np.concatenate([g.count, np.full(k, -np.inf)])
    ub = np.concatenate([g.count, capv])
    var_ub = np.concatenate([g.count[gi], g.count])
    integ = np.full(npair + G, 1 if single else 0)
    x = _milp(c, A, lb, ub, np.zeros(npair + G), var_ub, integ, time_limit_s=limit,
              accept_suboptimal=False, log=log,
              what=f"capacity assignment ({G} row groups, {k} sites)")  # fmt: skip
    X = np.zeros((G, k + 1))
    X[gi, sj] = x[:npair]
    X[:, k] = x[npair:]
    return np.round(X) if single else np.clip(X, 0.0, None)


def _row_places(g: _Groups, X: np.ndarray, single: bool) -> np.ndarray:
    """Per model row, the place (site position, or ``k`` = hospital) it goes to.

    Split: the place of its group's largest share (ties: the first). Single source:
    the group's rows in row order fill its places in order (sites, then hospital).
    """
    if not single:
        return np.argmax(X, axis=1)[g.inv]
    order = np.argsort(g.inv, kind="stable")
    sorted_inv = g.inv[order]
    starts = np.searchsorted(sorted_inv, np.arange(X.shape[0]))
    rank = np.arange(order.size) - starts[sorted_inv]
    cum = np.cumsum(X, axis=1)[sorted_inv]
    place = np.empty(order.size, dtype=np.intp)
    place[order] = (rank[:, None] < cum).argmax(axis=1)
    return place


def _load_table(
    g: _Groups, X: np.ndarray, sel: tuple[int, ...], ids: tuple[Any, ...], cap: np.ndarray
) -> pd.DataFrame:
    """:attr:`CapacityAssignment.load` from the units ``X`` of each group per place."""
    import pandas as pd

    k = len(sel)
    people = X * g.unit[:, None]
    total = g.unit * g.count
    demand = np.bincount(g.nearest, weights=total, minlength=k)
    load = people[:, :k].sum(axis=0)
    unserved = np.bincount(g.nearest, weights=people[:, k], minlength=k)
    with np.errstate(divide="ignore", invalid="ignore"):
        util = np.where(cap > 0, load / cap, np.nan)
    return pd.DataFrame(
        {
            "site": list(sel),
            "id": [ids[j] for j in sel],
            "capacity": cap,
            "demand_nearest": demand,
            "load": load,
            "utilisation": util,
            "unserved": unserved,
            "overloaded": demand > cap,
        }
    )


def _mean(t: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Person-minutes and mean minutes over the reachable population."""
    reach = np.isfinite(t)
    wr = float(w[reach].sum())
    pm = float(w[reach] @ t[reach])
    return pm, pm / wr if wr > 0 else float("nan")


def _minutes(g: _Groups, X: np.ndarray, place: np.ndarray, single: bool) -> np.ndarray:
    """Minutes of each model row: its place's (single source) or the share-weighted mean."""
    full = np.column_stack([g.cost, g.base])
    if single:
        return full[g.inv, place]
    share = X / g.count[:, None]
    used = share > 0
    with np.errstate(invalid="ignore"):
        t = np.where(used, full, 0.0) * np.where(used, share, 0.0)
    t = t.sum(axis=1)
    t[(used & ~np.isfinite(full)).any(axis=1)] = np.inf
    return t[g.inv]


def assign_with_capacity(
    cost: Any,
    weights: Any,
    selected: Sequence[int],
    capacity: Any,
    *,
    baseline_min: Any,
    single_source: bool = False,
    candidate_ids: Sequence[Any] | None = None,
    time_limit_s: float | None = None,
) -> CapacityAssignment:
    """Assign demand to the given sites under their capacities; the hospitals take the rest.

    Minimises the total person-minutes ``sum_i w_i (sum_j c_ij x_ij + b_i x_i0)``
    subject to ``sum_j x_ij + x_i0 = 1`` and ``sum_i w_i x_ij <= cap_j``, over the
    rows that some site serves faster than the hospital (the others go to the
    hospital with or without capacity); a pair ``(i, j)`` exists only where site
    ``j`` is nearer than the hospital. With ``single_source`` each row takes one
    place (``x`` binary). Rows with equal costs and baseline (and weight, when
    single source) are merged first (counts of rows as integer variables keep the
    single-source model exact). Where the hospital is unreachable, leaving demand
    unserved costs more than any assignment (reach first, then minutes).

    Parameters
    ----------
    cost
        Demand × candidate minutes (``np.inf`` = unreachable).
    weights
        Population per demand row.
    selected
        Candidate column indices of the sites (distinct).
    capacity
        People each selected site can serve, in the order of ``selected``
        (scalar or one per site; ``np.inf`` = no limit).
    baseline_min
        Minutes to the existing county hospitals, uncapacitated (``None``: none).
    single_source
        Each row wholly to one place (MIP) instead of split (LP).
    candidate_ids
        One id per candidate column.
    time_limit_s
        HiGHS's limit, seconds (``None``: :data:`coverkit.settings.capacity_time_limit_s`).

    Returns
    -------
    CapacityAssignment

    Raises
    ------
    InvalidValueError
        For a bad selection or capacity.
    SolverError
        When HiGHS does not prove the assignment optimal within the time limit.
    """
    inp = _validate(cost, weights, baseline_min, candidate_ids)
    sel = tuple(int(j) for j in selected)
    _checked_selection(sel, inp.cost.shape[1])
    cap = _checked_capacities(capacity, len(sel))
    w, b = inp.weights, inp.baseline
    Cs = np.asarray(inp.cost[:, list(sel)], dtype="float64")
    t_near, near_assign = _after(inp.cost, b, sel)
    g = _groups(Cs, b, w, single_source)
    log = SolveLog()
    limit = settings.capacity_time_limit_s if time_limit_s is None else time_limit_s
    X = (
        _solve(g, cap, single_source, log, limit)
        if g.cost.shape[0]
        else np.zeros((0, len(sel) + 1))
    )
    place = _row_places(g, X, single_source)
    assigned = np.asarray(near_assign, dtype=int).copy()
    assigned[g.rows] = np.asarray((*sel, -1))[place]
    t = np.asarray(t_near, dtype=float).copy()
    t[g.rows] = _minutes(g, X, place, single_source)
    load = _load_table(g, X, sel, inp.candidate_ids, cap)
    pm, mean = _mean(t, w)
    pm0, mean0 = _mean(np.asarray(t_near, float), w)
    return CapacityAssignment(
        load=load,
        assigned=assigned,
        minutes_after=t,
        minutes_nearest=np.asarray(t_near, float),
        unserved=float(load["unserved"].sum()),
        unreachable_population=float(w[~np.isfinite(t)].sum()),
        mean_min=mean,
        mean_min_uncapacitated=mean0,
        objective=pm,
        objective_uncapacitated=pm0,
        single_source=bool(single_source),
        n_groups=int(g.cost.shape[0]),
        status=log.status,
        solve_time_s=log.time_s,
    )


__all__ = ["CapacityAssignment", "assign_with_capacity"]
