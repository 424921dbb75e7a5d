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

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from coverkit import settings
from coverkit.errors import InvalidValueError, SolverError
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


def _slack_costs(g: _Groups) -> np.ndarray:
    """Minutes charged for sending a group to the hospital: its baseline, or where none is
    reachable, more than any assignment (the largest finite site and baseline minutes + 1)."""
    fin_c, fin_b = np.isfinite(g.cost), np.isfinite(g.base)
    big = (g.cost[fin_c].max() if fin_c.any() else 0.0) + (
        g.base[fin_b].max() if fin_b.any() else 0
    )
    return np.where(fin_b, g.base, big + 1.0)


def _highs(
    cost: np.ndarray,
    slack: np.ndarray,
    unit: np.ndarray,
    count: np.ndarray,
    cap: np.ndarray,
    *,
    single: bool,
    log: SolveLog,
    limit: float,
) -> np.ndarray:
    """Units per place (groups × (sites + hospital)) by HiGHS: ``inf`` costs are no option.

    ``min sum unit (cost x + slack x0)`` s.t. ``sum_j x_gj + x_g0 = count_g``,
    ``sum_g unit_g x_gj <= cap_j``; integer ``x`` when ``single``.
    """
    from scipy import sparse

    G, k = cost.shape
    gi, sj = np.nonzero(np.isfinite(cost))
    npair = gi.size
    has0 = np.isfinite(slack)
    c = np.concatenate([unit[gi] * cost[gi, sj], np.where(has0, unit * slack, 0.0)])
    rows = np.concatenate([gi, np.arange(G), G + sj])
    cols = np.concatenate([np.arange(npair), npair + np.arange(G), np.arange(npair)])
    vals = np.concatenate([np.ones(npair + G), unit[gi]])
    A = sparse.csr_matrix((vals, (rows, cols)), shape=(G + k, npair + G))
    capv = np.where(np.isfinite(cap), cap, float((unit * count).sum()) + 1.0)
    lb = np.concatenate([count, np.full(k, -np.inf)])
    ub = np.concatenate([count, capv])
    var_ub = np.concatenate([count[gi], np.where(has0, count, 0.0)])
    integ = np.full(npair + G, 1 if single else 0)
    x = _milp(c, A, lb, ub, np.zeros(npair + G), var_ub, integ, time_limit_s=limit,
              accept_suboptimal=False, log=log,
              what=f"capacity assignment ({G} row groups, {k} sites)")  # fmt: skip
    X = np.zeros((G, k + 1))
    X[gi, sj] = x[:npair]
    X[:, k] = x[npair:]
    return np.round(X) if single else np.clip(X, 0.0, None)


def _solve(g: _Groups, cap: np.ndarray, single: bool, log: SolveLog, limit: float) -> np.ndarray:
    """Units of each group per place (groups × (sites + hospital)).

    When every site can take the demand nearest it, that is the answer. Split
    demand: the dual (:func:`_dual_prices`) and a small LP over the groups tied at its
    prices (:func:`_from_prices`), certified optimal by the duality gap; the full LP
    (HiGHS) when the certificate fails. Single source: the MIP (HiGHS).
    """
    G, k = g.cost.shape
    nearest_load = np.bincount(g.nearest, weights=g.unit * g.count, minlength=k)
    if (nearest_load <= cap).all():  # every site takes its nearest demand: that is optimal
        X = np.zeros((G, k + 1))
        X[np.arange(G), g.nearest] = g.count
        return X
    slack = _slack_costs(g)
    if not single:
        t0 = time.perf_counter()
        lp = _from_prices(g, slack, cap)
        log.time_s += time.perf_counter() - t0
        if lp is not None:
            return lp[0]
    if single:
        return _single_source(g, slack, cap, log, limit)
    return _highs(g.cost, slack, g.unit, g.count, cap, single=single, log=log, limit=limit)


#: Most cutting planes of :func:`_dual_prices` before the full LP is solved instead.
DUAL_MAX_CUTS: int = 300

#: Windows (minutes) around the cheapest place at the near-optimal prices: groups with
#: another place within the window are re-decided by a small LP; widened until the
#: result is certified optimal (then the full LP is solved instead).
DUAL_WINDOWS_MIN: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0)

#: The split assignment from the dual prices is accepted as optimal when its
#: person-minutes exceed the dual bound by at most this share (LP duality: no
#: assignment is below the bound, so the gap certifies the optimum).
CAPACITY_GAP_TOL: float = 1e-9


def _dual_value(D: np.ndarray, W: np.ndarray, lam: np.ndarray) -> tuple[float, np.ndarray]:
    """``f(λ) = sum_g W_g min(0, min_j D_gj + λ_j)`` and a supergradient (load per site)."""
    V = D + lam
    j = np.argmin(V, axis=1)
    v = np.take_along_axis(V, j[:, None], axis=1)[:, 0]
    at = v < 0
    return float(W[at] @ v[at]), np.bincount(j[at], weights=W[at], minlength=D.shape[1])


def _dual_prices(D: np.ndarray, W: np.ndarray, cap: np.ndarray) -> tuple[np.ndarray, float]:
    """Capacity prices ``λ >= 0`` maximising ``f(λ) - cap·λ`` (Kelley's cutting planes).

    ``D`` holds each group's minutes at a site minus at the hospital (< 0 where the
    site is nearer; ``inf``: no option). The function is concave and piecewise linear
    in ``k`` prices (k = sites), each evaluation one pass over the groups; the master
    is an LP of ``k + 1`` variables. Returns the best prices and their dual value.
    """
    from scipy.optimize import linprog

    k = D.shape[1]
    fin = np.isfinite(cap)
    capf = np.where(fin, cap, 0.0)
    deepest = -np.where(np.isfinite(D), D, 0.0).min(axis=0, initial=0.0)
    bounds = [(0.0, float(u) + 1.0 if f else 0.0) for u, f in zip(deepest, fin, strict=True)]
    cuts, rhs = [np.append(np.zeros(k), 1.0)], [0.0]  # f <= 0
    lam, best, best_lam = np.zeros(k), -np.inf, np.zeros(k)
    scale = max(1.0, float(W @ np.where(np.isfinite(D), -D, 0.0).max(axis=1, initial=0.0)))
    for _ in range(DUAL_MAX_CUTS):
        f, s = _dual_value(D, W, lam)
        if f - capf @ lam > best:
            best, best_lam = f - capf @ lam, lam.copy()
        cuts.append(np.append(-s, 1.0))
        rhs.append(f - s @ lam)
        res = linprog(np.append(capf, -1.0), A_ub=np.array(cuts), b_ub=np.array(rhs),
                      bounds=[*bounds, (None, None)], method="highs")  # fmt: skip
        if res.status != 0 or -res.fun - best <= CAPACITY_GAP_TOL * scale:
            break
        lam = np.asarray(res.x[:k])
    return best_lam, best


def _tied_lp(
    cost: np.ndarray, slack: np.ndarray, W: np.ndarray, left: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """Split LP over a few groups (``inf``: no option), HiGHS via ``linprog``.

    Returns the shares (groups × (sites + hospital)) and the capacity prices (``λ >= 0``),
    or ``None`` when infeasible.
    """
    from scipy import sparse
    from scipy.optimize import linprog

    G, k = cost.shape
    full = np.column_stack([cost, slack])
    gi, sj = np.nonzero(np.isfinite(full))
    A_eq = sparse.csr_matrix((np.ones(gi.size), (gi, np.arange(gi.size))), shape=(G, gi.size))
    on_site = sj < k
    A_ub = sparse.csr_matrix(
        (W[gi[on_site]], (sj[on_site], np.flatnonzero(on_site))), shape=(k, gi.size)
    )
    b_ub = np.where(np.isfinite(left), left, float(W.sum()) + 1.0)
    res = linprog(W[gi] * full[gi, sj], A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=np.ones(G),
                  bounds=(0, None), method="highs")  # fmt: skip
    if res.status != 0:
        return None
    X = np.zeros((G, k + 1))
    X[gi, sj] = np.clip(res.x, 0.0, None)
    return X, np.maximum(-np.asarray(res.ineqlin.marginals), 0.0)


def _from_prices(
    g: _Groups, slack: np.ndarray, cap: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """The split assignment (shares) and its capacity prices, or ``None`` when not certified.

    At near-optimal prices, a group whose cheapest place beats the others by more
    than a window goes there; the groups within the window share their near places by
    a small LP on the capacity left. The LP's own capacity prices then give a dual
    bound over all groups: the assignment is returned only when its person-minutes
    meet that bound (:data:`CAPACITY_GAP_TOL`), i.e. it is proven optimal.
    """
    G, k = g.cost.shape
    D = g.cost - slack[:, None]
    W = g.unit * g.count
    lam, _ = _dual_prices(D, W, cap)
    V = np.column_stack([D + lam, np.zeros(G)])
    vmin = V.min(axis=1)
    full = np.column_stack([np.where(np.isfinite(g.cost), g.cost, 0.0), slack])
    capf = np.where(np.isfinite(cap), cap, 0.0)
    for window in DUAL_WINDOWS_MIN:
        near = vmin[:, None] + window >= V
        tied = near.sum(axis=1) > 1
        X = np.zeros((G, k + 1))
        X[np.flatnonzero(~tied), np.argmax(near[~tied], axis=1)] = 1.0
        left = cap - (X[:, :k] * W[:, None]).sum(axis=0)
        if (left < 0).any():
            continue
        prices = np.zeros(k)
        if tied.any():
            sub = _tied_lp(np.where(near[tied, :k], g.cost[tied], np.inf),
                           np.where(near[tied, k], slack[tied], np.inf), W[tied], left)  # fmt: skip
            if sub is None:
                continue
            X[tied], prices = sub
        prices = np.where(np.isfinite(cap), prices, 0.0)
        bound = float(W @ slack) + _dual_value(D, W, prices)[0] - float(capf @ prices)
        primal = float(W @ (X * full).sum(axis=1))
        if primal - bound <= CAPACITY_GAP_TOL * max(1.0, abs(bound)):
            return X, prices
    return None


def _single_source(
    g: _Groups, slack: np.ndarray, cap: np.ndarray, log: SolveLog, limit: float
) -> np.ndarray:
    """Whole rows per place (groups × (sites + hospital)): the MIP after reduced-cost fixing.

    The split LP (:func:`_from_prices`) is a lower bound ``LB`` with capacity prices
    ``λ``; rounding its shares down (the rest to the hospital) is a single-source
    assignment, an upper bound ``UB``. A row choosing a place whose price-adjusted
    minutes exceed its cheapest by ``r`` costs at least ``LB + r`` (Lagrangian bound),
    so places with ``r > UB - LB`` are never optimal and leave the model; rows left
    with one place are fixed there and HiGHS solves the MIP of the rest exactly.
    Without a certified LP, the full MIP.
    """
    G, k = g.cost.shape
    t0 = time.perf_counter()
    lp = _from_prices(g, slack, cap)
    log.time_s += time.perf_counter() - t0
    if lp is None:
        return _highs(g.cost, slack, g.unit, g.count, cap, single=True, log=log, limit=limit)
    shares, lam = lp
    full = np.column_stack([np.where(np.isfinite(g.cost), g.cost, 0.0), slack])
    lb = float((g.unit * g.count) @ (shares * full).sum(axis=1))
    units = np.floor(shares * g.count[:, None] + 1e-9)
    units[:, k] = g.count - units[:, :k].sum(axis=1)
    ub = float(g.unit @ (units * full).sum(axis=1))
    V = np.column_stack([g.cost - slack[:, None] + lam, np.zeros(G)])
    reduced = g.unit[:, None] * (V - V.min(axis=1)[:, None])
    keep = reduced <= (ub - lb) + 1e-9 * max(1.0, abs(ub))
    fixed = keep.sum(axis=1) == 1
    X = np.zeros((G, k + 1))
    X[np.flatnonzero(fixed), np.argmax(keep[fixed], axis=1)] = g.count[fixed]
    left = cap - (X[:, :k] * g.unit[:, None]).sum(axis=0)
    free = ~fixed
    log.messages.append(f"single-source assignment: {int(free.sum())} of {G} row groups in the MIP")
    if free.any():
        X[free] = _highs(np.where(keep[free, :k], g.cost[free], np.inf),
                         np.where(keep[free, k], slack[free], np.inf), g.unit[free],
                         g.count[free], np.maximum(left, 0.0), single=True, log=log,
                         limit=limit)  # fmt: skip
    return X


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
    try:
        X = (
            _solve(g, cap, single_source, log, limit)
            if len(g.cost)
            else np.zeros((0, len(sel) + 1))
        )
    except SolverError as exc:
        if not single_source:
            raise
        raise SolverError(
            f"single-source capacity assignment of {len(g.cost)} row groups was not proven "
            f"optimal within time_limit_s={limit:g}; pass single_source=False (split demand "
            "is solved exactly in seconds) or a larger time_limit_s"
        ) from exc
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
