"""Sub-centre siting: eligibility, p-median / MCLP / p-centre, explanations.

Rule 1 of the policy (``POLICY.md``): pick **1 to 2** central township health
centres outside the county seat (在县城之外选建1至2个中心乡镇卫生院) and raise
them to county-hospital level, so that the population the county hospital
cannot reach in reasonable time comes within reach of county-level care.

Every model here works on a *cost matrix*: ``cost[i, j]`` is the travel time in
minutes from demand point ``i`` (a population cell or village) to candidate
``j`` (``np.inf`` = unreachable), ``weights[i]`` the population of ``i`` and
``baseline_min[i]`` the minutes from ``i`` to the nearest *existing*
county-level facility (the county hospitals, which stay open). After the plan,
county-level care is the existing facilities plus the chosen sites, so the
time of ``i`` is ``min(baseline_min[i], min_{j in S} cost[i, j])``.

The models are solved exactly with HiGHS (:func:`scipy.optimize.milp`). The
radius formulation is aggregated by distinct candidate *sets*: the 100,000+
population cells of a county share a few hundred sets of "candidates nearer
than the next level", so the MIP has a few hundred continuous variables and
solves in hundredths of a second (:func:`_set_model`). Instances where the
sets barely merge (the OR-Library ones) use a Benders decomposition
(``highspy``). ``method='enumerate'`` evaluates every set of sites instead;
``method='auto'`` (the default) uses the MIP and enumerates only when the
aggregated model is large and enumeration is cheap. The result reports the
method, the status and the MIP gap; a run that is not proven optimal
raises :class:`~coverkit.errors.SolverError` unless the caller accepts it
(``accept_suboptimal=True``).

Examples
--------
>>> import numpy as np
>>> cost = np.array([[5.0, 40.0], [50.0, 10.0], [45.0, 45.0]])
>>> weights = np.array([100.0, 200.0, 50.0])
>>> result = PMedian.from_cost_matrix(cost, weights, p=1, baseline_min=[60.0] * 3).solve()
>>> result.selected
(1,)
"""

from __future__ import annotations

import itertools
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from coverkit import settings
from coverkit.errors import (
    EmptyInputError,
    InfeasibleError,
    InvalidValueError,
    SolverError,
)
from coverkit.vocab import Objective

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

logger = logging.getLogger(__name__)

#: Relative MIP gap at which HiGHS stops; tiny, so "optimal" means proven optimal.
MIP_REL_GAP: float = 1e-9

#: Default eligibility thresholds (planning conventions; the policy names the
#: indicators - 常住人口较多、区域面积较大、县城不在县域中心、县级医院服务覆盖能力不足 -
#: but gives no numbers). See :func:`eligibility`.
ELIGIBILITY_THRESHOLDS: dict[str, float] = {
    # About the upper third of China's ~1,300 county-level units by resident
    # population (the median county has roughly 350,000 residents).
    "population": 500_000.0,
    # About the upper third by area (the median county covers roughly
    # 1,500-2,000 km²); a county of 2,000 km² has a 25 km equivalent radius.
    "area_km2": 2_000.0,
    # Distance county seat -> population-weighted centroid over the radius of
    # a circle of the county's area: 0.5 means the seat lies half-way from
    # the centre to the edge.
    "seat_offset_ratio": 0.5,
    # Share of the population beyond the travel-time threshold from the
    # existing county hospitals (服务覆盖能力不足 when one in five is beyond).
    "share_beyond_threshold": 0.20,
}

_INDICATORS: tuple[tuple[str, str, str], ...] = (
    ("population", "常住人口", "persons"),
    ("area_km2", "区域面积", "km2"),
    ("seat_offset_ratio", "县城不在县域中心", "ratio"),
    ("share_beyond_threshold", "县级医院服务覆盖能力不足", "share"),
)


@dataclass(frozen=True)
class SitingResult:
    """The solution of one siting model.

    Attributes
    ----------
    selected
        Chosen candidate column indices, sorted ascending.
    selected_ids
        The ids of the chosen candidates (the column indices when no ids were given).
    assignment
        Per demand row: the chosen candidate index that serves it, or ``-1``
        when an existing facility is at least as near (or nothing is reachable).
        Ties go to the existing facility, then to the lowest candidate index.
    objective
        Value of the model's objective for ``selected``: population-weighted
        minutes (p-median, over reachable demand), population within the
        threshold (MCLP) or worst minutes over populated demand (p-centre).
    coverage_before, coverage_after
        Population within ``threshold_min`` of existing facilities before and
        after the plan; ``None`` when the model has no threshold.
    status
        ``'optimal'`` or, when accepted, the solver's reason for stopping.
    gap
        The relative MIP gap reported by HiGHS (largest over sub-solves).
    solve_time_s
        Wall-clock seconds spent in the solver.
    objective_name
        ``'pmedian'``, ``'mclp'`` or ``'pcenter'``.
    p
        Number of sites asked for.
    unreached_population
        Population with no finite travel time to existing ∪ chosen facilities.
    method
        How it was solved: ``'mip'`` (HiGHS; ``status`` and ``gap`` are
        HiGHS's) or ``'enumerate'`` (every set evaluated; gap 0).
    """

    selected: tuple[int, ...]
    selected_ids: tuple[Any, ...]
    assignment: np.ndarray
    objective: float
    coverage_before: float | None
    coverage_after: float | None
    status: str
    gap: float
    solve_time_s: float
    objective_name: str
    p: int = 0
    unreached_population: float = 0.0
    method: str = "mip"


# ---------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Inputs:
    cost: np.ndarray  # n x m float64
    weights: np.ndarray  # n float64
    baseline: np.ndarray  # n float64 (inf = no existing facility)
    usable: np.ndarray  # m bool: candidate reaches some demand
    candidate_ids: tuple[Any, ...]
    has_baseline: bool


def _check_p(p: Any) -> int:
    if isinstance(p, bool) or not isinstance(p, int | np.integer):
        raise InvalidValueError(f"p={p!r} is not an integer; pass the number of sites, e.g. p=1")
    if p < 1:
        raise InvalidValueError(f"p={p} but at least 1 site must be chosen; pass p >= 1")
    return int(p)


def _validate(
    cost: Any,
    weights: Any,
    baseline_min: Any,
    candidate_ids: Sequence[Any] | None,
) -> _Inputs:
    try:
        C = np.asarray(cost, dtype="float64")
    except (TypeError, ValueError) as exc:
        raise InvalidValueError(
            f"cost matrix is not numeric ({exc}); pass a demand x candidate array of minutes"
        ) from None
    if C.ndim != 2:
        raise InvalidValueError(
            f"cost matrix has {C.ndim} dimension(s); pass a 2-D demand x candidate array of minutes"
        )
    n, m = C.shape
    if n == 0 or m == 0:
        raise EmptyInputError(
            f"cost matrix is empty ({n} demand x {m} candidates); give at least one "
            "demand point and one candidate"
        )
    if np.isnan(C).any():
        i, j = np.argwhere(np.isnan(C))[0]
        raise InvalidValueError(
            f"cost[{i}, {j}] is NaN; use np.inf for an unreachable pair, not NaN"
        )
    if (C < 0).any():
        i, j = np.argwhere(C < 0)[0]
        raise InvalidValueError(f"cost[{i}, {j}] = {C[i, j]:g} is negative; minutes must be >= 0")
    try:
        w = np.asarray(weights, dtype="float64").reshape(-1)
    except (TypeError, ValueError) as exc:
        raise InvalidValueError(f"weights are not numeric ({exc}); pass populations") from None
    if w.shape[0] != n:
        raise InvalidValueError(
            f"weights have {w.shape[0]} values but the cost matrix has {n} demand rows; "
            "pass one population per row"
        )
    if not np.isfinite(w).all():
        i = int(np.flatnonzero(~np.isfinite(w))[0])
        raise InvalidValueError(f"weights[{i}] = {w[i]} is not finite; fill missing population")
    if (w < 0).any():
        i = int(np.flatnonzero(w < 0)[0])
        raise InvalidValueError(f"weights[{i}] = {w[i]:g} is negative; population must be >= 0")
    if w.sum() <= 0:
        raise EmptyInputError(
            "all demand weights are zero (no population); check the population raster "
            "covers the county"
        )
    has_baseline = baseline_min is not None
    if baseline_min is None:
        logger.warning(
            "no baseline_min given: no existing county-level facility, coverage is "
            "measured from the sub-centres alone"
        )
        b = np.full(n, np.inf)
    else:
        b = np.asarray(baseline_min, dtype="float64").reshape(-1)
        if b.shape[0] != n:
            raise InvalidValueError(
                f"baseline_min has {b.shape[0]} values but the cost matrix has {n} demand "
                "rows; pass one time per row"
            )
        if np.isnan(b).any():
            i = int(np.flatnonzero(np.isnan(b))[0])
            raise InvalidValueError(
                f"baseline_min[{i}] is NaN; use np.inf where no existing facility is reachable"
            )
        if (b < 0).any():
            i = int(np.flatnonzero(b < 0)[0])
            raise InvalidValueError(
                f"baseline_min[{i}] = {b[i]:g} is negative; minutes must be >= 0"
            )
    if candidate_ids is None:
        ids: tuple[Any, ...] = tuple(range(m))
    else:
        ids = tuple(candidate_ids)
        if len(ids) != m:
            raise InvalidValueError(
                f"candidate_ids has {len(ids)} ids but the cost matrix has {m} candidate "
                "columns; pass one id per column"
            )
    usable = np.isfinite(C[w > 0]).any(axis=0)
    if not usable.all():
        bad = [ids[j] for j in np.flatnonzero(~usable)]
        logger.warning(
            "%d candidate(s) reach no populated demand point and are excluded: %s",
            len(bad),
            ", ".join(map(str, bad[:10])) + (" ..." if len(bad) > 10 else ""),
        )
    return _Inputs(C, w, b, usable, ids, has_baseline)


def _check_p_feasible(p: int, inputs: _Inputs) -> None:
    k = int(inputs.usable.sum())
    m = inputs.cost.shape[1]
    if p > k:
        extra = "" if k == m else f" (of {m} given; the others reach no populated demand point)"
        raise InfeasibleError(
            f"p={p} but only {k} candidate site(s) can be chosen{extra}; "
            f"ask for p <= {k} or add candidates outside the county seat"
        )


# ---------------------------------------------------------------------------------------
# evaluation
# ---------------------------------------------------------------------------------------


def _after(C: np.ndarray, b: np.ndarray, selected: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Minutes after the plan and the serving candidate (-1 = existing/none)."""
    sel = np.unique(np.asarray(list(selected), dtype=int))
    if sel.size == 0:
        return b.copy(), np.full(b.shape[0], -1, dtype=int)
    sub = C[:, sel]
    k = np.argmin(sub, axis=1)  # first minimum: lowest column of `sel` (sorted)
    best = sub[np.arange(sub.shape[0]), k]
    assign = np.where(best < b, sel[k], -1)
    return np.minimum(b, best), assign


def evaluate_selection(
    cost: Any,
    weights: Any,
    selected: Sequence[int],
    *,
    baseline_min: Any = None,
    thresholds_min: Sequence[float] = settings.thresholds_min,
) -> dict[str, float]:
    """Figures of any chosen set of sites, for comparing objectives.

    Parameters
    ----------
    cost
        Demand × candidate minutes (``np.inf`` = unreachable).
    weights
        Population of each demand row.
    selected
        Candidate column indices of the chosen sites (may be empty).
    baseline_min
        Minutes from each demand row to the existing county-level facilities;
        ``None``: there are none.
    thresholds_min
        Thresholds for the population-within figures, minutes.

    Returns
    -------
    dict
        ``p``, ``population``, ``mean_min`` (population-weighted mean over the
        reachable population), ``max_min`` (worst over populated rows,
        ``inf`` if some are unreachable), ``unreached_population``, and for
        each threshold ``T``: ``pop_within_{T}_min`` and ``share_within_{T}_min``.

    Examples
    --------
    >>> evaluate_selection([[10.0], [40.0]], [1.0, 3.0], [0], thresholds_min=(30,))
    ... # doctest: +NORMALIZE_WHITESPACE
    {'p': 1.0, 'population': 4.0, 'mean_min': 32.5, 'max_min': 40.0,
     'unreached_population': 0.0, 'pop_within_30_min': 1.0, 'share_within_30_min': 0.25}
    """
    C = np.asarray(cost, dtype="float64")
    w = np.asarray(weights, dtype="float64").reshape(-1)
    b = np.full(w.shape[0], np.inf) if baseline_min is None else np.asarray(baseline_min, float)
    t, _ = _after(C, b, selected)
    return _figures(t, w, len(selected), thresholds_min)


def _figures(
    t: np.ndarray, w: np.ndarray, p: int, thresholds_min: Sequence[float]
) -> dict[str, float]:
    total = float(w.sum())
    reach = np.isfinite(t)
    wr = float(w[reach].sum())
    pos = w > 0
    out: dict[str, float] = {
        "p": float(p),
        "population": total,
        "mean_min": float((w[reach] * t[reach]).sum() / wr) if wr > 0 else float("nan"),
        "max_min": float(t[pos].max()) if pos.any() else float("nan"),
        "unreached_population": float(w[~reach].sum()),
    }
    for T in thresholds_min:
        within = float(w[t <= T].sum())
        out[f"pop_within_{T:g}_min"] = within
        out[f"share_within_{T:g}_min"] = within / total if total > 0 else float("nan")
    return out


# ---------------------------------------------------------------------------------------
# MIP building blocks
# ---------------------------------------------------------------------------------------


@dataclass
class _SolveLog:
    time_s: float = 0.0
    gap: float = 0.0
    status: str = "optimal"
    messages: list[str] = field(default_factory=list)


def _milp(
    c: np.ndarray,
    A: Any,
    lb: np.ndarray,
    ub: np.ndarray,
    var_lb: np.ndarray,
    var_ub: np.ndarray,
    integrality: np.ndarray,
    *,
    time_limit_s: float | None,
    accept_suboptimal: bool,
    log: _SolveLog,
    what: str,
) -> np.ndarray:
    from scipy.optimize import Bounds, LinearConstraint, milp

    options: dict[str, Any] = {"mip_rel_gap": MIP_REL_GAP, "presolve": True}
    if time_limit_s is not None:
        spent = log.time_s
        options["time_limit"] = max(float(time_limit_s) - spent, 1e-3)
    t0 = time.perf_counter()
    res = milp(
        c,
        constraints=LinearConstraint(A, lb, ub),
        bounds=Bounds(var_lb, var_ub),
        integrality=integrality,
        options=options,
    )
    log.time_s += time.perf_counter() - t0
    gap = float(res.mip_gap) if getattr(res, "mip_gap", None) is not None else 0.0
    log.gap = max(log.gap, gap)
    if res.status == 0:
        return np.asarray(res.x)
    if res.x is not None and res.status == 1 and accept_suboptimal:
        log.status = "time_limit"
        log.messages.append(f"{what}: {res.message}")
        logger.warning("%s stopped without a proven optimum (gap %.3g): accepted", what, gap)
        return np.asarray(res.x)
    if res.status == 1 and res.x is None and accept_suboptimal:
        raise SolverError(
            f"{what} found no feasible solution within time_limit_s={time_limit_s} "
            f"(HiGHS: {res.message}); raise time_limit_s"
        )
    if res.status == 1:
        raise SolverError(
            f"{what} was not solved to proven optimality within time_limit_s="
            f"{time_limit_s} (HiGHS: {res.message}; gap {gap:.3g}); raise time_limit_s "
            "or pass accept_suboptimal=True"
        )
    raise SolverError(f"{what} failed in HiGHS: {res.message} (status {res.status})")


def _aggregate(rows: np.ndarray, *extra: np.ndarray) -> tuple[np.ndarray, ...]:
    """Unique rows of ``[rows | extra...]`` and the inverse index.

    0/1 ``int8`` rows alone (coverage patterns) are packed into bitmask words
    first, which makes ``np.unique`` one sort of integers; the unique rows then
    come in the order of their keys.
    """
    if not extra and rows.dtype == np.int8 and rows.ndim == 2 and rows.shape[0]:
        packed = np.packbits(rows.astype(bool), axis=1)
        width = -(-packed.shape[1] // 8) * 8
        packed = np.pad(packed, ((0, 0), (0, width - packed.shape[1])))
        keys = np.ascontiguousarray(packed).view(np.uint64)
        if keys.shape[1] == 1:
            _, first, inverse = np.unique(keys[:, 0], return_index=True, return_inverse=True)
        else:
            _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
        return rows[first], inverse.reshape(-1)
    key = np.column_stack([rows, *[e.reshape(-1, 1) for e in extra]])
    uniq, inverse = np.unique(key, axis=0, return_inverse=True)
    return uniq, inverse.reshape(-1)


@dataclass(frozen=True)
class _SetModel:
    """Radius formulation aggregated by distinct candidate sets.

    One ``z_S`` per distinct set ``S`` of candidates (a prefix of some demand
    row's sorted order, ties grouped, capped by the row's baseline):
    ``z_S >= z_{S'} - sum_{j in S \\ S'} y_j`` with ``S'`` the previous set of
    a row that has ``S`` (``z_S + sum_{j in S} y_j >= 1`` for a first set).
    The objective is ``const + z_cost @ z``.
    """

    n_y: int
    z_cost: np.ndarray  # summed w_i (D_i^{k+1} - D_i^k) of every set
    const: float  # sum_i w_i D_i^1 (or w_i cap_i for rows no candidate improves)
    rows: np.ndarray  # constraint row of each non-zero
    cols: np.ndarray  # column (0..n_y-1: y, n_y..: z) of each non-zero
    vals: np.ndarray
    lb: np.ndarray  # per set constraint (1 for a first set, else 0)
    n_levels: int  # z variables before aggregation (demand row x level)

    @property
    def n_z(self) -> int:
        return int(self.z_cost.size)


def _set_keys(order: np.ndarray, ri: np.ndarray, pos: np.ndarray, m: int) -> np.ndarray:
    """Bitmask words (63 candidates per int64 word) of ``{order[r, :k+1]}`` at ``(ri, pos)``."""
    n_words = max(1, -(-m // 63))
    keys = np.empty((ri.size, n_words), dtype=np.int64)
    for word in range(n_words):
        shift = order - 63 * word
        inside = (shift >= 0) & (shift < 63)
        bits = np.where(inside, np.left_shift(np.int64(1), np.clip(shift, 0, 62)), np.int64(0))
        keys[:, word] = np.bitwise_or.accumulate(bits, axis=1)[ri, pos]
    return keys


def _set_model(
    E: np.ndarray, cap: np.ndarray, w: np.ndarray, p: int, *, aggregate: bool = True
) -> _SetModel:
    """Build the set-aggregated radius formulation.

    ``E``: rows x candidates minutes (only choosable candidates; ``inf`` =
    unreachable); ``cap``: finite minutes of each row when no chosen site is
    nearer (the baseline); ``w``: row weights. With ``aggregate=False`` every
    (row, level) keeps its own ``z`` (the classical form, for tests).
    """
    m = E.shape[1]
    order = np.argsort(E, axis=1, kind="stable")
    S = np.take_along_axis(E, order, axis=1)
    const = float(w @ np.minimum(S[:, 0], cap)) if m else float(w @ cap)
    # level ends below the cap: each is one set {j: E_ij <= D}
    ends = np.ones_like(S, dtype=bool)
    ends[:, :-1] = S[:, 1:] != S[:, :-1]
    ends &= cap[:, None] > S
    ri, pos = np.nonzero(ends)  # row-major: by row, then increasing level
    n_levels = int(ri.size)
    nxt = np.minimum(S[ri, np.minimum(pos + 1, m - 1)], cap[ri])
    nxt = np.where(pos + 1 < m, nxt, cap[ri])
    coef = w[ri] * (nxt - S[ri, pos])
    # p-truncation: z = 0 once >= m - p + 1 candidates are in the set (any p sites hit it)
    keep = pos + 1 < m - p + 1
    ri, pos, coef = ri[keep], pos[keep], coef[keep]
    k = ri.size
    prev = np.full(k, -1)
    if k:
        same = np.zeros(k, dtype=bool)
        same[1:] = ri[1:] == ri[:-1]
        prev[same] = np.flatnonzero(same) - 1
    if aggregate and k:
        keys = _set_keys(order, ri, pos, m)
        if keys.shape[1] == 1:
            _, first, inv = np.unique(keys[:, 0], return_index=True, return_inverse=True)
        else:
            _, first, inv = np.unique(keys, axis=0, return_index=True, return_inverse=True)
        inv = inv.reshape(-1)
    else:
        first = np.arange(k)
        inv = np.arange(k)
    n_sets = first.size
    z_cost = np.bincount(inv, weights=coef, minlength=n_sets)
    # one constraint per set, from its first occurrence: z_S - z_S' + sum_{S \ S'} y >= [no S']
    pe = prev[first]
    has_prev = pe >= 0
    start = np.where(has_prev, pos[np.maximum(pe, 0)] + 1, 0)
    length = pos[first] - start + 1
    row_y = np.repeat(np.arange(n_sets), length)
    within = np.arange(row_y.size) - np.repeat(np.cumsum(length) - length, length)
    col_y = order[np.repeat(ri[first], length), np.repeat(start, length) + within]
    pred = inv[pe[has_prev]]
    rows = np.concatenate([row_y, np.arange(n_sets), np.flatnonzero(has_prev)])
    cols = np.concatenate([col_y, m + np.arange(n_sets), m + pred])
    vals = np.concatenate([np.ones(row_y.size), np.ones(n_sets), -np.ones(pred.size)])
    lb = np.where(has_prev, 0.0, 1.0)
    return _SetModel(m, z_cost, const, rows, cols, vals, lb, n_levels)


def _cover_rows(
    covers: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray, float]],
    n_cols: int,
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray], list[float], list[float], int]:
    """Sparse blocks of covering constraints over candidate columns ``0..m-1``.

    Each ``(reach, base_covered, weight, max_outside)`` adds one ``u_g`` per
    distinct reach pattern with ``u_g <= sum_{j in g} y_j`` and
    ``sum_g weight_g u_g >= total - max_outside``. Returns non-zeros (row,
    col, value), row bounds, and the number of ``u`` columns, numbered from
    ``n_cols``; rows are numbered from 0.
    """
    R: list[np.ndarray] = []
    Cc: list[np.ndarray] = []
    V: list[np.ndarray] = []
    lo: list[float] = []
    hi: list[float] = []
    n_u = 0
    n_r = 0
    for reach_all, base_cov, cw, max_outside in covers:
        need = (~base_cov) & (cw > 0)
        reach = reach_all.astype(bool)
        const = float(cw[need & ~reach.any(axis=1)].sum())
        need &= reach.any(axis=1)
        if not need.any():
            continue
        groups, ginv = _aggregate(reach[need].astype(np.int8))
        gw = np.bincount(ginv, weights=cw[need])
        G = groups.shape[0]
        gi, gj = np.nonzero(groups)
        u = n_cols + n_u + np.arange(G)
        # u_g - sum_{j in g} y_j <= 0
        R += [n_r + np.arange(G), n_r + gi]
        Cc += [u, gj]
        V += [np.ones(G), -np.ones(gi.size)]
        lo += [-np.inf] * G
        hi += [0.0] * G
        # sum gw u >= total - allowed (slack 1e-6 of the total against presolve round-off)
        R.append(np.full(G, n_r + G))
        Cc.append(u)
        V.append(gw)
        lo.append(float(gw.sum()) - (max_outside - const) - 1e-6 * max(1.0, float(cw.sum())))
        hi.append(np.inf)
        n_u += G
        n_r += G + 1
    return R, Cc, V, lo, hi, n_u


def _solve_set_model(
    model: _SetModel,
    p: int,
    *,
    covers: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray, float]] = (),
    time_limit_s: float | None,
    accept_suboptimal: bool,
    log: _SolveLog,
    what: str,
) -> tuple[np.ndarray, float]:
    """Solve a set model (plus covering constraints) with HiGHS; sites and objective."""
    from scipy import sparse

    m, n_z = model.n_y, model.n_z
    R, Cc, V, lo, hi, n_u = _cover_rows(covers, m + n_z)
    n_set_rows = model.lb.size
    off = n_set_rows + 1
    rows = np.concatenate([model.rows, np.full(m, n_set_rows), *[r + off for r in R]])
    cols = np.concatenate([model.cols, np.arange(m), *Cc])
    vals = np.concatenate([model.vals, np.ones(m), *V])
    n_rows = off + len(lo)
    n_var = m + n_z + n_u
    A = sparse.csr_matrix((vals, (rows.astype(np.int64), cols.astype(np.int64))),
                          shape=(n_rows, n_var))  # fmt: skip
    lb = np.concatenate([model.lb, [p], lo])
    ub = np.concatenate([np.full(n_set_rows, np.inf), [p], hi])
    c = np.concatenate([np.zeros(m), model.z_cost, np.zeros(n_u)])
    var_ub = np.concatenate([np.ones(m), np.full(n_z, np.inf), np.ones(n_u)])
    integ = np.concatenate([np.ones(m), np.zeros(n_z + n_u)])
    x = _milp(
        c,
        A,
        lb,
        ub,
        np.zeros(n_var),
        var_ub,
        integ,
        time_limit_s=time_limit_s,
        accept_suboptimal=accept_suboptimal,
        log=log,
        what=what,
    )
    y = x[:m]
    sel = np.sort(np.argsort(-y, kind="stable")[:p])
    return sel, model.const + float(c @ x)


def _pmedian_rows(
    C: np.ndarray, b: np.ndarray, w: np.ndarray, usable: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Populated rows that a usable candidate reaches, with their caps.

    Returns ``(E, cap, weight, rows)``: minutes to the usable candidates, the
    cap (the baseline, or for rows with none the farthest finite usable
    candidate, since p >= 1 sites are open), the weights and the row indices.
    """
    cols = np.flatnonzero(usable)
    rows = np.flatnonzero(w > 0)
    E = C[rows][:, cols]
    bp = b[rows]
    far = np.where(np.isfinite(E), E, -np.inf).max(axis=1)
    cap = np.where(np.isfinite(bp), bp, far)
    ok = np.isfinite(cap)
    return np.minimum(E[ok], cap[ok, None]), cap[ok], w[rows[ok]], rows[ok]


def _set_model_for(
    C: np.ndarray, b: np.ndarray, w: np.ndarray, usable: np.ndarray, p: int
) -> _SetModel:
    E, cap, wr, _ = _pmedian_rows(C, b, w, usable)
    return _set_model(E, cap, wr, p)


# ---------------------------------------------------------------------------------------
# models
# ---------------------------------------------------------------------------------------


#: ``method='auto'`` solves the MIP when the set-aggregated model is small
#: (see :data:`SET_MODEL_LIMIT`; a county always is). Otherwise it enumerates
#: every set of p sites when (number of sets) × (demand rows) is at most
#: this - enumeration costs about 2e-8 s per (set × row), so this caps it near
#: 20 s - and else runs the Benders MIP.
ENUMERATION_LIMIT: int = 1_000_000_000

_METHODS = ("auto", "mip", "enumerate")


def _enumerate(
    C: np.ndarray,
    b: np.ndarray,
    w: np.ndarray,
    usable: np.ndarray,
    p: int,
    *,
    kind: str,
    T: float | None = None,
    log: _SolveLog,
) -> np.ndarray:
    """Exact optimum by evaluating every set of ``p`` usable candidates.

    Keys, compared lexicographically, ties to the first set in
    lexicographic column order: p-median (unreached population, weighted
    minutes); MCLP (-population within T, weighted minutes); p-centre
    (unreached populated rows, worst minutes, weighted minutes).
    """
    t0 = time.perf_counter()
    cols = np.flatnonzero(usable)
    pos = w > 0
    bp = b[pos]
    Ep = np.minimum(C[pos][:, cols], bp[:, None])
    uniq, inv = _aggregate(Ep, bp)
    wa = np.bincount(inv, weights=w[pos])
    na = np.bincount(inv).astype(float)
    E, ba = uniq[:, :-1], uniq[:, -1]
    combos = np.array(list(itertools.combinations(range(cols.size), p)), dtype=np.intp)
    step = max(1, 4_000_000 // max(1, E.shape[0] * p))
    keys = []
    for s0 in range(0, combos.shape[0], step):
        t = np.minimum(E[:, combos[s0 : s0 + step]].min(axis=2), ba[:, None])
        fin = np.isfinite(t)
        minutes = wa @ np.where(fin, t, 0.0)
        if kind == "pmedian":
            key = [wa @ ~fin, minutes]
        elif kind == "mclp":
            key = [-(wa @ (t <= T)), minutes]
        else:
            worst = np.where(fin & (na[:, None] > 0), t, -np.inf).max(axis=0)
            key = [na @ ~fin, worst, minutes]
        keys.append(np.column_stack(key))
    K = np.vstack(keys)
    best = int(np.lexsort(K.T[::-1])[0])
    log.time_s += time.perf_counter() - t0
    return cols[combos[best]]


class _Model:
    """Shared construction and validation of the siting models."""

    name: ClassVar[str] = ""
    needs_threshold: ClassVar[bool] = False
    allows_capacity: ClassVar[bool] = True

    def __init__(
        self,
        inputs: _Inputs,
        *,
        p: int,
        threshold_min: float | None,
        capacity: np.ndarray | None,
    ) -> None:
        self.inputs = inputs
        self.p = p
        self.threshold_min = threshold_min
        self.capacity = capacity
        self._sets: _SetModel | None = None

    def _set_model(self) -> _SetModel:
        """The set-aggregated p-median model of these inputs (built once)."""
        if self._sets is None:
            inp = self.inputs
            self._sets = _set_model_for(inp.cost, inp.baseline, inp.weights, inp.usable, self.p)
        return self._sets

    @classmethod
    def from_cost_matrix(
        cls,
        cost: Any,
        weights: Any,
        *,
        p: int,
        baseline_min: Any = None,
        threshold_min: float | None = None,
        capacity: Any = None,
        candidate_ids: Sequence[Any] | None = None,
    ) -> Any:
        """Build the model from a demand × candidate matrix of minutes.

        Parameters
        ----------
        cost
            Demand × candidate minutes; ``np.inf`` = unreachable.
        weights
            Population of each demand row (>= 0, not all zero).
        p
            Number of sites to choose (>= 1).
        baseline_min
            Minutes from each demand row to the existing county-level
            facilities that stay open; ``None``: there are none (a warning is
            logged and coverage is measured from the chosen sites alone).
        threshold_min
            Travel-time threshold, minutes (required by :class:`MCLP`; for
            the others it only sets the reported coverage).
        capacity
            Population each candidate can serve (scalar or one per candidate);
            :class:`PMedian` and :class:`MCLP` only.
        candidate_ids
            One id per candidate column (default: the column indices).

        Returns
        -------
        The model, ready for ``.solve()``.

        Raises
        ------
        InvalidValueError
            For malformed arrays, p < 1, a missing or negative threshold or
            capacity.
        InfeasibleError
            When p exceeds the candidates that reach any populated demand.
        EmptyInputError
            When the matrix is empty or the population is all zero.
        """
        p = _check_p(p)
        inputs = _validate(cost, weights, baseline_min, candidate_ids)
        _check_p_feasible(p, inputs)
        if threshold_min is not None:
            threshold_min = float(threshold_min)
            if not threshold_min >= 0:
                raise InvalidValueError(
                    f"threshold_min={threshold_min} must be >= 0 minutes, e.g. threshold_min=30"
                )
        if cls.needs_threshold and threshold_min is None:
            raise InvalidValueError(
                f"{cls.__name__} needs threshold_min (minutes), e.g. threshold_min=30"
            )
        cap = None
        if capacity is not None:
            if not cls.allows_capacity:
                raise InvalidValueError(
                    f"{cls.__name__} does not take capacity; use PMedian or MCLP"
                )
            m = inputs.cost.shape[1]
            cap = np.broadcast_to(np.asarray(capacity, dtype="float64"), (m,)).copy()
            if np.isnan(cap).any() or (cap < 0).any():
                raise InvalidValueError(
                    "capacity must be >= 0 population per site (np.inf for no limit)"
                )
        return cls(inputs, p=p, threshold_min=threshold_min, capacity=cap)

    @classmethod
    def from_geodataframe(
        cls,
        demand_gdf: gpd.GeoDataFrame | pd.DataFrame,
        candidate_gdf: gpd.GeoDataFrame | pd.DataFrame,
        cost: Any,
        weight_col: str,
        *,
        p: int,
        baseline_col: str | None = None,
        threshold_min: float | None = None,
        capacity_col: str | None = None,
        id_col: str = "id",
    ) -> Any:
        """Build the model from demand and candidate tables.

        Parameters
        ----------
        demand_gdf
            Demand rows (cells or villages) in the row order of ``cost``.
        candidate_gdf
            Candidate sites in the column order of ``cost``; ids from ``id_col``
            (or the index when the column is absent).
        cost
            Demand × candidate minutes (array or DataFrame).
        weight_col
            Population column of ``demand_gdf``.
        p
            Number of sites.
        baseline_col
            Column of ``demand_gdf`` with minutes to the existing facilities.
        threshold_min
            Threshold, minutes.
        capacity_col
            Column of ``candidate_gdf`` with the population each site can serve.
        id_col
            Id column of ``candidate_gdf``.

        Returns
        -------
        The model, ready for ``.solve()``.
        """
        from coverkit.errors import MissingColumnError

        for col, table, label in (
            (weight_col, demand_gdf, "demand"),
            (baseline_col, demand_gdf, "demand"),
            (capacity_col, candidate_gdf, "candidate"),
        ):
            if col is not None and col not in table.columns:
                raise MissingColumnError(
                    f"{label} table has no column {col!r}; columns are "
                    f"{', '.join(map(str, table.columns))}"
                )
        ids = (
            candidate_gdf[id_col].tolist()
            if id_col in candidate_gdf.columns
            else candidate_gdf.index.tolist()
        )
        return cls.from_cost_matrix(
            np.asarray(cost, dtype="float64"),
            demand_gdf[weight_col].to_numpy(dtype="float64"),
            p=p,
            baseline_min=None
            if baseline_col is None
            else demand_gdf[baseline_col].to_numpy(dtype="float64"),
            threshold_min=threshold_min,
            capacity=None
            if capacity_col is None
            else candidate_gdf[capacity_col].to_numpy(dtype="float64"),
            candidate_ids=ids,
        )

    # -- shared solve helpers --------------------------------------------------------

    def _result(
        self,
        selected: Sequence[int],
        objective: float,
        log: _SolveLog,
        assignment: np.ndarray | None = None,
        method: str = "mip",
    ) -> SitingResult:
        inp = self.inputs
        sel = tuple(sorted(int(j) for j in selected))
        t, assign = _after(inp.cost, inp.baseline, sel)
        if assignment is not None:
            assign = assignment
        T = self.threshold_min
        before = after = None
        if T is not None:
            before = float(inp.weights[inp.baseline <= T].sum())
            after = float(inp.weights[t <= T].sum())
        return SitingResult(
            selected=sel,
            selected_ids=tuple(inp.candidate_ids[j] for j in sel),
            assignment=assign,
            objective=float(objective),
            coverage_before=before,
            coverage_after=after,
            status=log.status,
            gap=log.gap,
            solve_time_s=log.time_s,
            objective_name=self.name,
            p=self.p,
            unreached_population=float(inp.weights[~np.isfinite(t)].sum()),
            method=method,
        )

    def _max_reach(
        self, *, time_limit_s: float | None, accept_suboptimal: bool, log: _SolveLog
    ) -> tuple[np.ndarray, float]:
        """Sites and the least population left unreachable (MCLP with T = ∞)."""
        return _mclp_select(
            np.isfinite(self.inputs.cost),
            np.isfinite(self.inputs.baseline),
            self.inputs.weights,
            self.inputs.usable,
            self.p,
            time_limit_s=time_limit_s,
            accept_suboptimal=accept_suboptimal,
            log=log,
            what=f"{self.name} reachability (p={self.p})",
        )

    def _enumerates(self, method: str) -> bool:
        if method not in _METHODS:
            raise InvalidValueError(
                f"method={method!r} is unknown; use one of {', '.join(_METHODS)}"
            )
        if method == "enumerate" and self.capacity is not None:
            raise InvalidValueError("method='enumerate' does not take capacity; use method='mip'")
        if method != "auto" or self.capacity is not None:
            return method == "enumerate"
        if _direct(self._set_model()):
            return False
        k = int(self.inputs.usable.sum())
        return math.comb(k, self.p) * self.inputs.cost.shape[0] <= ENUMERATION_LIMIT

    def _needs_reach_phase(self) -> bool:
        inp = self.inputs
        pos = inp.weights > 0
        fin = np.isfinite(inp.cost[:, inp.usable])
        partial = (~np.isfinite(inp.baseline)) & pos & fin.any(axis=1) & ~fin.all(axis=1)
        return bool(partial.any())


def _mclp_select(
    within: np.ndarray,
    base_within: np.ndarray,
    w: np.ndarray,
    usable: np.ndarray,
    p: int,
    *,
    time_limit_s: float | None,
    accept_suboptimal: bool,
    log: _SolveLog,
    what: str,
) -> tuple[np.ndarray, float]:
    """Maximal covering: sites and the least population left outside.

    ``within[i, j]``: candidate j serves i; ``base_within[i]``: i is already covered.
    Identical coverage rows are aggregated before solving.
    """
    keep = (~base_within) & (w > 0) & within[:, usable].any(axis=1)
    outside_const = float(w[(~base_within) & ~within[:, usable].any(axis=1)].sum())
    if not keep.any():
        return np.flatnonzero(usable)[:p], outside_const
    rows = within[keep].astype(np.int8)
    uniq, inv = _aggregate(rows)
    wa = np.bincount(inv, weights=w[keep])
    cols = np.flatnonzero(usable)
    # a p-median on 0/1 costs (0 = covered) capped at 1: one z per covering set
    model = _set_model(
        np.where(uniq[:, cols].astype(bool), 0.0, 1.0), np.ones(uniq.shape[0]), wa, p
    )
    sel, _ = _solve_set_model(
        model,
        p,
        time_limit_s=time_limit_s,
        accept_suboptimal=accept_suboptimal,
        log=log,
        what=what,
    )
    sel = cols[sel]
    outside = float(wa[~uniq[:, sel].astype(bool).any(axis=1)].sum()) if sel.size else wa.sum()
    return sel, outside + outside_const


def _pmedian_select(
    C: np.ndarray,
    b: np.ndarray,
    w: np.ndarray,
    usable: np.ndarray,
    p: int,
    *,
    caps: Sequence[tuple[float, float]] = (),
    cap_weights: np.ndarray | None = None,
    model: _SetModel | None = None,
    time_limit_s: float | None,
    accept_suboptimal: bool,
    log: _SolveLog,
    what: str,
) -> np.ndarray:
    """p-median selection under (threshold T, max weight beyond T) constraints.

    ``T`` may be ∞ (then: max weight unreachable). The weight of a row in the
    constraints is ``cap_weights`` (default: ``w``).
    """
    cw = w if cap_weights is None else np.asarray(cap_weights, dtype=float)
    covers = []
    for T, bound in caps:
        within = np.isfinite(C) if np.isinf(T) else C <= T
        base_cov = np.isfinite(b) & (b <= T)
        covers.append((within, base_cov, cw, float(bound)))
    return _pmedian_mip(
        C,
        b,
        w,
        usable,
        p,
        covers=covers,
        model=model,
        time_limit_s=time_limit_s,
        accept_suboptimal=accept_suboptimal,
        log=log,
        what=what,
    )


#: The p-median MIP is solved directly on the set-aggregated radius model
#: (:func:`_set_model`) when it has at most this many ``z`` variables (distinct
#: candidate sets) or when aggregation merged at least
#: :data:`SET_MODEL_MIN_MERGE` levels per set on average; otherwise - every row
#: distinct, as in the OR-Library instances (4,000-15,000 sets, 1.1-1.4
#: levels per set), where Benders is 2-10x faster - the Benders
#: decomposition is used. A county (120,000 cells x 20 centres) has a few
#: hundred sets (about 1,300 levels per set) and solves in hundredths of a
#: second. See ``benchmarks/README.md``.
SET_MODEL_LIMIT: int = 3_000

#: See :data:`SET_MODEL_LIMIT`.
SET_MODEL_MIN_MERGE: float = 10.0


def _direct(model: _SetModel) -> bool:
    """Solve this p-median on the set model (True) or by Benders (False)?"""
    return model.n_z <= SET_MODEL_LIMIT or model.n_levels >= SET_MODEL_MIN_MERGE * model.n_z


def _pmedian_mip(
    C: np.ndarray,
    b: np.ndarray,
    w: np.ndarray,
    usable: np.ndarray,
    p: int,
    *,
    covers: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray, float]] = (),
    model: _SetModel | None = None,
    time_limit_s: float | None,
    accept_suboptimal: bool,
    log: _SolveLog,
    what: str,
) -> np.ndarray:
    """Exact p-median with HiGHS: set-aggregated model when small, else Benders."""
    if model is None:
        model = _set_model_for(C, b, w, usable, p)
    if not _direct(model):
        log.messages.append(f"{what}: Benders ({model.n_z} distinct sets)")
        return _benders_pmedian(
            C, b, w, usable, p, covers=covers, time_limit_s=time_limit_s,
            accept_suboptimal=accept_suboptimal, log=log, what=what,
        )  # fmt: skip
    log.messages.append(f"{what}: set model ({model.n_levels} levels -> {model.n_z} distinct sets)")
    cols = np.flatnonzero(usable)
    cov = [(within[:, cols], base, cw, bound) for within, base, cw, bound in covers]
    sel, _ = _solve_set_model(
        model, p, covers=cov, time_limit_s=time_limit_s,
        accept_suboptimal=accept_suboptimal, log=log, what=what,
    )  # fmt: skip
    return cols[sel]


def _incumbent(h: Any, x: np.ndarray) -> Any:
    """A HiGHS solution object holding ``x`` (padded with the model's other columns at 0)."""
    import highspy

    sol = highspy.HighsSolution()
    full = np.zeros(h.getNumCol())
    full[: x.size] = x
    sol.col_value = full.tolist()
    sol.value_valid = True
    return sol


def _benders_pmedian(
    C: np.ndarray,
    b: np.ndarray,
    w: np.ndarray,
    usable: np.ndarray,
    p: int,
    *,
    covers: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray, float]] = (),
    time_limit_s: float | None,
    accept_suboptimal: bool,
    log: _SolveLog,
    what: str,
) -> np.ndarray:
    """Exact p-median by Benders decomposition on the radius formulation (highspy).

    ``covers``: constraints ``(within, base_covered, weight, max_outside)``:
    the weight of rows neither already covered (``base_covered``) nor within
    reach of an open site (``within[i, j]``) is at most ``max_outside``.
    Rows with no existing facility are charged, when no open site reaches
    them, their largest finite time to a usable candidate. See :class:`PMedian`.
    """
    import highspy

    t_start = time.perf_counter()
    pos = w > 0
    cols = np.flatnonzero(usable)
    bp = b[pos]
    Ep = C[pos][:, cols]
    # rows with no existing facility: cap at their farthest usable site (p >= 1 is open)
    cap = np.where(np.isfinite(bp), bp, np.where(np.isfinite(Ep), Ep, -np.inf).max(axis=1))
    Ep = np.minimum(Ep, cap[:, None])
    gain = (Ep < cap[:, None]).any(axis=1)
    uniq, inv = _aggregate(Ep[gain], cap[gain])
    wa = np.bincount(inv, weights=w[pos][gain])
    E, ba = uniq[:, :-1], uniq[:, -1]
    n, m = E.shape
    order = np.argsort(E, axis=1, kind="stable")
    S = np.take_along_axis(E, order, axis=1)
    newl = np.ones_like(S, dtype=bool)
    newl[:, 1:] = S[:, 1:] != S[:, :-1]
    first = np.maximum.accumulate(np.where(newl, np.arange(m)[None, :], 0), axis=1)
    below = ba[:, None] > S

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", MIP_REL_GAP)
    inf = highspy.kHighsInf
    h.addVars(m + n, np.zeros(m + n), np.concatenate([np.ones(m), np.full(n, inf)]))
    h.changeColsCost(n, np.arange(m, m + n, dtype=np.int32), wa.astype(float))
    h.addRow(float(p), float(p), m, np.arange(m, dtype=np.int32), np.ones(m))
    for within, base_cov, cw, max_outside in covers:
        need = (~base_cov) & (cw > 0)
        reach = within[:, cols].astype(bool)
        const = float(cw[need & ~reach.any(axis=1)].sum())
        need &= reach.any(axis=1)
        if not need.any():
            continue
        groups, ginv = _aggregate(reach[need].astype(np.int8))
        gw = np.bincount(ginv, weights=cw[need])
        G = groups.shape[0]
        first_u = h.getNumCol()
        h.addVars(G, np.zeros(G), np.ones(G))
        _, gj = np.nonzero(groups)
        cnt = groups.sum(axis=1)
        st = np.concatenate([[0], np.cumsum(cnt + 1)])
        idx = np.empty(st[-1], dtype=np.int32)
        val = np.empty(st[-1])
        idx[st[:-1]] = first_u + np.arange(G)
        val[st[:-1]] = 1.0
        slot = np.ones(st[-1], dtype=bool)
        slot[st[:-1]] = False
        idx[slot] = gj
        val[slot] = -1.0
        h.addRows(G, np.full(G, -inf), np.zeros(G), st[-1], st[:-1].astype(np.int32), idx, val)
        # slack 1e-6 of the total: HiGHS 1.17 presolve can misjudge bounds within ~1e-7
        lower = float(gw.sum()) - (max_outside - const) - 1e-6 * max(1.0, float(cw.sum()))
        h.addRow(lower, inf, G, (first_u + np.arange(G)).astype(np.int32), gw)

    def best_cuts(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # theta_i >= D (1 - sum_{e_ij < D} y_j) + sum_{e_ij < D} e_ij y_j, best level D
        Y = y[order]
        Py = np.take_along_axis(np.cumsum(Y, axis=1) - Y, first, axis=1)
        Pyc = np.take_along_axis(np.cumsum(Y * S, axis=1) - Y * S, first, axis=1)
        rhs = np.column_stack(
            [S * (1 - Py) + Pyc, ba * (1 - (Y * below).sum(1)) + (Y * S * below).sum(1)]
        )
        k = np.argmax(rhs, axis=1)
        return np.column_stack([S, ba])[np.arange(n), k], rhs[np.arange(n), k]

    def add_cuts(y: np.ndarray, theta: np.ndarray) -> int:
        D, r = best_cuts(y)
        rows = np.flatnonzero(r - theta > 1e-9 * np.maximum(1.0, np.abs(r)))
        if rows.size == 0:
            return 0
        mask = E[rows] < D[rows][:, None]
        ri, cj = np.nonzero(mask)
        cnt = mask.sum(axis=1)
        st = np.concatenate([[0], np.cumsum(cnt + 1)])
        idx = np.empty(st[-1], dtype=np.int32)
        val = np.empty(st[-1])
        idx[st[:-1]] = m + rows
        val[st[:-1]] = 1.0
        slot = np.ones(st[-1], dtype=bool)
        slot[st[:-1]] = False
        idx[slot] = cj
        val[slot] = D[rows][ri] - E[rows][ri, cj]
        h.addRows(
            rows.size, D[rows], np.full(rows.size, inf), st[-1], st[:-1].astype(np.int32), idx, val
        )
        return int(rows.size)

    def true_cost(y: np.ndarray) -> float:
        sel = np.flatnonzero(y > 0.5)
        return float(wa @ np.minimum(ba, E[:, sel].min(axis=1)))

    def finish(y: np.ndarray, bound: float, status: str) -> np.ndarray:
        top = np.argsort(-y, kind="stable")[:p]
        yy = np.zeros(m)
        yy[top] = 1.0
        obj = true_cost(yy)
        log.gap = max(log.gap, (obj - bound) / obj if obj > 0 else 0.0)
        log.status = status
        log.time_s += time.perf_counter() - t_start
        return np.sort(cols[top])

    y = np.full(m, p / m)
    add_cuts(y, np.zeros(n))
    integer = False
    bound = 0.0
    best: list = [np.inf, None]
    while True:
        if time_limit_s is not None:
            left = float(time_limit_s) - log.time_s - (time.perf_counter() - t_start)
            h.setOptionValue("time_limit", max(left, 1e-3))
        h.run()
        status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kInfeasible and covers:
            # the master is always feasible (the covering optimum satisfies it): a
            # presolve misjudgement; solve again without presolve
            h.setOptionValue("presolve", "off")
            h.run()
            status = h.getModelStatus()
        sol = np.asarray(h.getSolution().col_value)
        if status != highspy.HighsModelStatus.kOptimal:
            have = status == highspy.HighsModelStatus.kTimeLimit
            if have and accept_suboptimal:
                logger.warning("%s stopped at the time limit: incumbent accepted", what)
                ok = sol.size >= m + n and integer
                return finish(sol[:m] if ok else y, bound, "time_limit")
            if have:
                raise SolverError(
                    f"{what} was not solved to proven optimality within time_limit_s="
                    f"{time_limit_s}; raise time_limit_s or pass accept_suboptimal=True"
                )
            raise SolverError(f"{what} failed in HiGHS: {h.modelStatusToString(status)}")
        y, theta = sol[:m], sol[m : m + n]
        bound = float(wa @ theta)
        if integer:
            y = np.round(y)
        if add_cuts(y, theta) == 0:
            if integer:
                return finish(y, bound, "optimal")
            h.changeColsIntegrality(
                m,
                np.arange(m, dtype=np.int32),
                np.array([highspy.HighsVarType.kInteger] * m),
            )
            integer = True
        if integer and not covers:
            # hand HiGHS the best open set seen so far as an incumbent: its true
            # per-row costs satisfy every cut (each cut is a valid lower bound)
            top = np.argsort(-y, kind="stable")[:p]
            cand = np.zeros(m)
            cand[top] = 1.0
            cost_now = true_cost(cand)
            if cost_now < best[0]:
                best[0], best[1] = cost_now, cand
            yy = best[1]
            rows_cost = np.minimum(ba, E[:, np.flatnonzero(yy > 0.5)].min(axis=1))
            h.setSolution(_incumbent(h, np.concatenate([yy, rows_cost])))


def _capacitated(
    C: np.ndarray,
    b: np.ndarray,
    w: np.ndarray,
    usable: np.ndarray,
    p: int,
    cap: np.ndarray,
    *,
    pair_gain: np.ndarray | None,
    time_limit_s: float | None,
    accept_suboptimal: bool,
    log: _SolveLog,
    what: str,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Capacitated assignment model (demand may be split between sites).

    Minimises ``sum w_i (sum_j c_ij x_ij + b_i x_i0)`` (``pair_gain`` None) or
    maximises ``sum w_i g_ij x_ij`` (MCLP) subject to ``sum_j x_ij + x_i0 = 1``,
    ``x_ij <= y_j``, ``sum_i w_i x_ij <= cap_j``, ``sum y = p``. Rows whose
    baseline is ∞ keep ``x_i0`` (unserved) at a cost that exceeds any
    assignment: the total of the largest finite minutes per row, plus one.
    """
    from scipy import sparse

    n, m = C.shape
    pos = np.flatnonzero(w > 0)
    if pair_gain is None:
        allowed = np.isfinite(C) & (b[:, None] > C) & usable[None, :]
    else:
        allowed = (pair_gain > 0) & usable[None, :]
    allowed[np.setdiff1d(np.arange(n), pos)] = False
    pi, pj = np.nonzero(allowed)
    npair = pi.size
    rows_used = np.unique(pi)
    nr = rows_used.size
    rindex = np.full(n, -1)
    rindex[rows_used] = np.arange(nr)
    # variables: y (m), x pairs (npair), slack x_i0 (nr)
    if pair_gain is None:
        fin = np.where(np.isfinite(C), C, 0.0)
        big = float(np.where(allowed, fin, 0.0).max(axis=1).sum()) + 1.0
        slack_cost = np.where(np.isfinite(b[rows_used]), b[rows_used], big)
        c = np.concatenate([np.zeros(m), w[pi] * C[pi, pj], w[rows_used] * slack_cost])
    else:
        c = np.concatenate([np.zeros(m), -w[pi] * pair_gain[pi, pj], np.zeros(nr)])
    nv = m + npair + nr
    xi = m + np.arange(npair)
    si = m + npair + np.arange(nr)
    # assignment rows: sum_j x_ij + x_i0 = 1
    r1 = np.concatenate([rindex[pi], np.arange(nr)])
    c1 = np.concatenate([xi, si])
    # linking rows: x_ij - y_j <= 0
    r2 = nr + np.concatenate([np.arange(npair), np.arange(npair)])
    c2 = np.concatenate([xi, pj])
    v2 = np.concatenate([np.ones(npair), -np.ones(npair)])
    # capacity rows: sum_i w_i x_ij <= cap_j
    r3 = nr + npair + pj
    # cardinality row
    r4 = np.full(m, nr + npair + m)
    rows = np.concatenate([r1, r2, r3, r4])
    cols = np.concatenate([c1, c2, xi, np.arange(m)])
    vals = np.concatenate([np.ones(r1.size), v2, w[pi], np.ones(m)])
    nrow = nr + npair + m + 1
    A = sparse.csr_matrix((vals, (rows, cols)), shape=(nrow, nv))
    capv = np.where(np.isfinite(cap), cap, w.sum() + 1.0)
    lb = np.concatenate([np.ones(nr), np.full(npair, -np.inf), np.full(m, -np.inf), [p]])
    ub = np.concatenate([np.ones(nr), np.zeros(npair), capv, [p]])
    var_ub = np.concatenate([usable.astype(float), np.ones(npair + nr)])
    integ = np.concatenate([np.ones(m), np.zeros(npair + nr)])
    x = _milp(
        c,
        A,
        lb,
        ub,
        np.zeros(nv),
        var_ub,
        integ,
        time_limit_s=time_limit_s,
        accept_suboptimal=accept_suboptimal,
        log=log,
        what=what,
    )
    sel = np.flatnonzero(x[:m] > 0.5)
    X = np.zeros((n, m + 1))
    X[pi, pj] = x[xi]
    X[rows_used, m] = x[si]
    X[np.setdiff1d(np.arange(n), rows_used), m] = 1.0
    # assignment: the largest share (ties: lowest candidate index; slack -> -1)
    k = np.argmax(X, axis=1)
    assign = np.where(k == m, -1, k)
    return sel, assign, X


class PMedian(_Model):
    """p-median: least population-weighted travel time to county-level care.

    Minimises ``sum_i w_i * min(b_i, min_{j in S} c_ij)`` over sets ``S`` of
    ``p`` candidates, where ``b_i`` is the time to the existing facilities.

    Notes
    -----
    The model is the radius ("cumulative") formulation of Cornuéjols,
    Nemhauser & Wolsey (1980) in the compact form of Elloumi (2010, *A
    tighter formulation of the p-median problem*, J. Comb. Optim. 19:69-83).
    For each demand ``i`` let ``D_i^1 < ... < D_i^K`` be the distinct values of
    ``min(c_ij, b_i)`` below ``b_i``, and ``D_i^{K+1} = b_i`` (the cap: a site
    farther than the existing facility never helps). With binary ``y_j``
    (site open) and continuous ``z_i^k in [0, 1]`` ("i is farther than
    ``D_i^k``")::

        min  sum_i w_i (D_i^1 + sum_k (D_i^{k+1} - D_i^k) z_i^k)
        s.t. z_i^1 + sum_{j: c_ij = D_i^1} y_j >= 1
             z_i^k - z_i^{k-1} + sum_{j: c_ij = D_i^k} y_j >= 0   (k >= 2)
             sum_j y_j = p

    Each ``y_j`` appears once per demand row, so the matrix has ``O(nm)``
    non-zeros, and its LP bound equals that of the classical assignment
    model (often integral). ``z_i^k`` is fixed to 0 once at least
    ``m - p + 1`` candidates lie within ``D_i^k`` (any ``p`` sites include
    one). Identical rows ``(min(c_i, b_i), b_i)`` are merged with summed
    weights; rows with zero weight or no candidate nearer than ``b_i`` are
    constants and leave the model.

    **Aggregation by candidate set.** Written non-incrementally,
    ``z_i^k >= 1 - sum_{j in S_i^k} y_j`` where ``S_i^k`` is the set of
    candidates at ``<= D_i^k``: ``z_i^k`` depends on the *set* only. Rows
    and levels with the same set share one variable ``z_S`` whose cost is
    the sum of their ``w_i (D_i^{k+1} - D_i^k)`` (all >= 0, and ``z_S`` is
    in no other constraint, so the optimum ``max(0, 1 - sum_S y)`` is
    common); each set keeps one incremental constraint
    ``z_S - z_{S'} + sum_{j in S - S'} y_j >= 0`` from one row where it
    follows ``S'``. Sets are keyed as bitmask words. A county's 120,000
    cells × 20 centres give about 580,000 levels but only about 250 sets.

    **Solution method.** By default (``method='auto'``) HiGHS solves the
    set-aggregated model directly when it is small (:data:`SET_MODEL_LIMIT`).
    When it is not (nearly every row distinct), and enumerating every set
    of p sites is cheap (:data:`ENUMERATION_LIMIT`), the sets are evaluated
    (vectorised); otherwise HiGHS solves the model by Benders decomposition
    (Duran-Mateluna, Ales & Elloumi 2023,
    *An efficient Benders decomposition for the p-median problem*, EJOR
    308:84-96): the ``z`` are projected out and each demand keeps one
    variable ``theta_i`` with optimality cuts
    ``theta_i >= D (1 - sum_{j: c_ij < D} y_j) + sum_{j: c_ij < D} c_ij y_j``
    for the levels ``D`` of row ``i``; the most violated cut per row is
    found in closed form (where the cumulative ``y`` crosses 1), first on
    the LP relaxation, then on the MIP, until the integer solution violates
    no cut - which proves it optimal. It is used when the sets barely merge
    (OR-Library pmed6: 2 s against 10 s for the direct model); on a county
    it is the other way round (120,000 cells: > 60 s against 0.03 s).

    Where ``b_i = inf`` and only some candidates reach ``i``, a first solve
    maximises the population that can be reached at all, and the p-median is
    then solved under the constraint that no more stays unreachable
    (lexicographic); the objective counts reachable demand only. (In that
    second MIP a row left unreachable is charged its largest finite level;
    the enumeration compares minutes over the reached rows only. The two
    differ only between sets that leave different rows of the same total
    population unreachable - possible only without an existing facility on
    a disconnected network.)

    With ``capacity`` the classical assignment model is used instead
    (``x_ij <= y_j``, ``sum_i w_i x_ij <= cap_j``; a row may be split between
    sites and falls back to the existing facility when sites are full).
    """

    name = "pmedian"

    def solve(
        self,
        *,
        time_limit_s: float | None = None,
        accept_suboptimal: bool = False,
        method: str = "auto",
    ) -> SitingResult:
        """Solve to proven optimality (HiGHS MIP, or enumeration when small).

        Parameters
        ----------
        time_limit_s
            Wall-clock limit over all sub-solves, seconds (``None``: none).
        accept_suboptimal
            Return the incumbent instead of raising when the limit is hit.
        method
            ``'mip'``: HiGHS; ``'enumerate'``: evaluate every set of p sites
            (exact; ties to the first set in column order); ``'auto'``
            (default): the MIP, unless the set-aggregated model is large
            (:data:`SET_MODEL_LIMIT`), there is no capacity and C(k, p) ×
            demand rows <= :data:`ENUMERATION_LIMIT`: then enumeration.

        Returns
        -------
        SitingResult

        Raises
        ------
        SolverError
            If HiGHS fails or stops before proving optimality (unless accepted).
        """
        inp = self.inputs
        log = _SolveLog()
        kw: dict[str, Any] = {
            "time_limit_s": time_limit_s,
            "accept_suboptimal": accept_suboptimal,
            "log": log,
        }
        if self._enumerates(method):
            sel = _enumerate(
                inp.cost, inp.baseline, inp.weights, inp.usable, self.p, kind="pmedian", log=log
            )
            t, _ = _after(inp.cost, inp.baseline, sel)
            fin = np.isfinite(t)
            return self._result(
                sel, float((inp.weights[fin] * t[fin]).sum()), log, method="enumerate"
            )
        if self.capacity is not None:
            sel, assign, X = _capacitated(
                inp.cost,
                inp.baseline,
                inp.weights,
                inp.usable,
                self.p,
                self.capacity,
                pair_gain=None,
                what=f"capacitated p-median (p={self.p})",
                **kw,
            )
            Cb = np.column_stack([inp.cost, inp.baseline])
            Cb = np.where(X > 0, Cb, 0.0)
            reach = np.isfinite(Cb).all(axis=1)
            obj = float((inp.weights[reach, None] * X[reach] * Cb[reach]).sum())
            return self._result(sel, obj, log, assignment=assign)
        if not self._needs_reach_phase():
            sel = _pmedian_mip(
                inp.cost,
                inp.baseline,
                inp.weights,
                inp.usable,
                self.p,
                model=self._set_model(),
                what=f"p-median (p={self.p})",
                **kw,
            )
            t, _ = _after(inp.cost, inp.baseline, sel)
            fin = np.isfinite(t)
            return self._result(sel, float((inp.weights[fin] * t[fin]).sum()), log)
        caps: list[tuple[float, float]] = []
        if self._needs_reach_phase():
            _, unreached = self._max_reach(**kw)
            caps.append((np.inf, unreached))
        sel = _pmedian_select(
            inp.cost,
            inp.baseline,
            inp.weights,
            inp.usable,
            self.p,
            caps=caps,
            model=self._set_model(),
            what=f"p-median (p={self.p})",
            **kw,
        )
        t, _ = _after(inp.cost, inp.baseline, sel)
        fin = np.isfinite(t)
        obj = float((inp.weights[fin] * t[fin]).sum())
        return self._result(sel, obj, log)


class MCLP(_Model):
    """Maximal covering: most population within ``threshold_min`` of care.

    Maximises the population ``i`` with ``min(b_i, min_{j in S} c_ij) <= T``.

    Notes
    -----
    The covering model (Church & ReVelle 1974) with binary ``y_j`` and
    continuous ``u_i``::

        max  sum_i w_i u_i
        s.t. u_i <= sum_{j: c_ij <= T} y_j,  u_i <= 1,  sum_j y_j = p

    over the rows not already within ``T`` of an existing facility; rows
    with the same covering set are merged. It is solved as a p-median on
    0/1 costs (``0`` if ``c_ij <= T``, cap ``1``) with the formulation of
    :class:`PMedian`, which is the same model. Among the covering optima a
    second solve picks the set with the least population-weighted minutes
    (``tie_break=True``), so the choice is deterministic and sensible.
    With ``capacity``, ``u`` becomes the assignment ``x_ij`` (a site covers
    at most ``cap_j`` people).
    """

    name = "mclp"
    needs_threshold = True

    def solve(
        self,
        *,
        time_limit_s: float | None = None,
        accept_suboptimal: bool = False,
        tie_break: bool = True,
        method: str = "auto",
    ) -> SitingResult:
        """Solve to proven optimality (HiGHS MIP, or enumeration when small).

        Parameters
        ----------
        time_limit_s
            Wall-clock limit over all sub-solves, seconds.
        accept_suboptimal
            Return the incumbent instead of raising when the limit is hit.
        method
            ``'mip'``: HiGHS; ``'enumerate'``: evaluate every set of p sites
            (exact; ties to the first set in column order); ``'auto'``
            (default): the MIP, unless the set-aggregated p-median model of
            the tie-break is large (:data:`SET_MODEL_LIMIT`), there is no
            capacity and C(k, p) × demand rows <= :data:`ENUMERATION_LIMIT`:
            then enumeration (without ``tie_break`` always the MIP).
        tie_break
            Among sets with the optimal coverage, choose the least
            population-weighted minutes (one more solve).

        Returns
        -------
        SitingResult
            ``objective`` is the population within ``threshold_min`` after the plan.

        Raises
        ------
        SolverError
            If HiGHS fails or stops before proving optimality (unless accepted).
        """
        inp = self.inputs
        T = float(self.threshold_min)  # type: ignore[arg-type]
        log = _SolveLog()
        kw: dict[str, Any] = {
            "time_limit_s": time_limit_s,
            "accept_suboptimal": accept_suboptimal,
            "log": log,
        }
        # the covering MIP alone is always the MIP; with ties broken, auto decides
        if self._enumerates(method) and (tie_break or method == "enumerate"):
            sel = _enumerate(
                inp.cost, inp.baseline, inp.weights, inp.usable, self.p, kind="mclp", T=T,
                log=log,
            )  # fmt: skip
            t, _ = _after(inp.cost, inp.baseline, sel)
            return self._result(sel, float(inp.weights[t <= T].sum()), log, method="enumerate")
        within = inp.cost <= T
        base_within = inp.baseline <= T
        if self.capacity is not None:
            gain = (within & ~base_within[:, None]).astype(float)
            sel, assign, X = _capacitated(
                inp.cost,
                inp.baseline,
                inp.weights,
                inp.usable,
                self.p,
                self.capacity,
                pair_gain=gain,
                what=f"capacitated MCLP (p={self.p}, T={T:g})",
                **kw,
            )
            covered = float(inp.weights[base_within].sum())
            covered += float((inp.weights[:, None] * X[:, :-1] * gain).sum())
            return self._result(sel, covered, log, assignment=assign)
        sel, outside = _mclp_select(
            within, base_within, inp.weights, inp.usable, self.p,
            what=f"MCLP (p={self.p}, T={T:g})", **kw,
        )  # fmt: skip
        if tie_break:
            caps = [(T, outside)]
            first = tied = sel
            try:
                tied = _pmedian_select(
                    inp.cost,
                    inp.baseline,
                    inp.weights,
                    inp.usable,
                    self.p,
                    caps=caps,
                    model=self._set_model(),
                    what=f"MCLP tie-break (p={self.p}, T={T:g})",
                    **kw,
                )
            except SolverError:
                if not accept_suboptimal:
                    raise
                tied = sel
            t_cov, _ = _after(inp.cost, inp.baseline, first)
            t_tie, _ = _after(inp.cost, inp.baseline, tied)
            if inp.weights[t_tie <= T].sum() >= inp.weights[t_cov <= T].sum():
                sel = tied
        t, _ = _after(inp.cost, inp.baseline, sel)
        return self._result(sel, float(inp.weights[t <= T].sum()), log)


class PCenter(_Model):
    """p-centre: the shortest worst trip to county-level care.

    Minimises ``max_{i: w_i > 0} min(b_i, min_{j in S} c_ij)``.

    Notes
    -----
    Solved as a sequence of covering problems (Minieka 1970): a radius ``r``
    is feasible if ``p`` sites bring every populated row within ``r`` of
    care (existing ∪ chosen). A binary search over the sorted distinct
    values of ``min(c_ij, b_i)`` and ``b_i`` (from the largest best time of
    the rows an existing facility reaches, a lower bound) finds the least feasible ``r``; each
    test is a maximal-covering MIP on the aggregated 0/1 coverage matrix
    with unit weights. Rows that no site and no existing facility reaches
    are left out (reported as unreachable); where some can be reached only
    by some sites, the radius is taken over the most rows that can be
    reached. Among the sets achieving ``r``, a final p-median solve picks
    the least population-weighted minutes. Capacity is not supported.
    """

    name = "pcenter"
    allows_capacity = False

    def solve(
        self,
        *,
        time_limit_s: float | None = None,
        accept_suboptimal: bool = False,
        method: str = "auto",
    ) -> SitingResult:
        """Solve to proven optimality (HiGHS MIP, or enumeration when small).

        Parameters
        ----------
        time_limit_s
            Wall-clock limit over all sub-solves, seconds.
        accept_suboptimal
            Return the incumbent instead of raising when the limit is hit.
        method
            ``'mip'``: HiGHS; ``'enumerate'``: evaluate every set of p sites
            (exact; ties to the first set in column order); ``'auto'``
            (default): the MIP, unless the set-aggregated model is large
            (:data:`SET_MODEL_LIMIT`), there is no capacity and C(k, p) ×
            demand rows <= :data:`ENUMERATION_LIMIT`: then enumeration.

        Returns
        -------
        SitingResult
            ``objective`` is the worst minutes over reachable populated rows.

        Raises
        ------
        SolverError
            If HiGHS fails or stops before proving optimality (unless accepted).
        """
        inp = self.inputs
        log = _SolveLog()
        kw: dict[str, Any] = {
            "time_limit_s": time_limit_s,
            "accept_suboptimal": accept_suboptimal,
            "log": log,
        }
        pos = inp.weights > 0
        if self._enumerates(method):
            sel = _enumerate(
                inp.cost, inp.baseline, inp.weights, inp.usable, self.p, kind="pcenter", log=log
            )
            t, _ = _after(inp.cost, inp.baseline, sel)
            reach = pos & np.isfinite(t)
            return self._result(
                sel, float(t[reach].max()) if reach.any() else np.inf, log, method="enumerate"
            )
        C = inp.cost[pos][:, inp.usable]
        b = inp.baseline[pos]
        E = np.minimum(C, b[:, None])
        ones = np.ones(int(pos.sum()))
        usable_all = np.ones(C.shape[1], dtype=bool)
        # rows reachable at all, in the best case
        _, unreach = _mclp_select(
            np.isfinite(C), np.isfinite(b), ones, usable_all, self.p,
            what=f"p-centre reachability (p={self.p})", **kw,
        )  # fmt: skip
        # rows an existing facility reaches are reached in every plan: a lower bound
        best = E.min(axis=1)[np.isfinite(b)]
        lower = float(best.max()) if best.size else 0.0
        values = np.unique(np.concatenate([E[np.isfinite(E)], b[np.isfinite(b)]]))
        values = values[values >= lower]
        if values.size == 0:
            values = np.array([lower])
        lo, hi = 0, values.size - 1
        sel_hi: np.ndarray | None = None
        while lo < hi:
            mid = (lo + hi) // 2
            r = float(values[mid])
            sel, outside = _mclp_select(
                r >= C, b <= r, ones, usable_all, self.p,
                what=f"p-centre test r={r:g} (p={self.p})", **kw,
            )  # fmt: skip
            if outside <= unreach + 0.5:
                hi = mid
                sel_hi = sel
            else:
                lo = mid + 1
        r = float(values[lo])
        if sel_hi is None:
            sel_hi, _ = _mclp_select(
                r >= C, b <= r, ones, usable_all, self.p,
                what=f"p-centre test r={r:g} (p={self.p})", **kw,
            )  # fmt: skip
        cols = np.flatnonzero(inp.usable)
        sel = cols[sel_hi]
        # tie-break: least weighted minutes among sets with everyone reachable within r
        t0, _ = _after(inp.cost, inp.baseline, sel)
        caps = [(r, float((pos & ~(t0 <= r)).sum()))]
        try:
            tied = _pmedian_select(
                inp.cost,
                inp.baseline,
                inp.weights,
                inp.usable,
                self.p,
                caps=caps,
                model=self._set_model(),
                cap_weights=pos.astype(float),
                what=f"p-centre tie-break (p={self.p})",
                **kw,
            )
            t1, _ = _after(inp.cost, inp.baseline, tied)
            if (pos & ~(t1 <= r)).sum() <= caps[0][1]:
                sel = tied
        except SolverError:
            if not accept_suboptimal:
                raise
        t, _ = _after(inp.cost, inp.baseline, sel)
        reach = pos & np.isfinite(t)
        obj = float(t[reach].max()) if reach.any() else float("inf")
        return self._result(sel, obj, log)


_MODELS: dict[str, type[_Model]] = {"pmedian": PMedian, "mclp": MCLP, "pcenter": PCenter}


def _model_class(objective: str | Objective) -> type[_Model]:
    key = objective.value if isinstance(objective, Objective) else str(objective).lower()
    if key not in _MODELS:
        raise InvalidValueError(
            f"objective={objective!r} is unknown; use one of {', '.join(_MODELS)}"
        )
    return _MODELS[key]


# ---------------------------------------------------------------------------------------
# choosing the number of sub-centres, explaining the choice
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubcentreChoice:
    """Sub-centre choice over several numbers of sites.

    Attributes
    ----------
    table
        One row per p: ``p, selected, selected_ids, selected_names, objective,
        objective_name, pop_within_before, pop_within_after,
        share_within_before, share_within_after, mean_min_before,
        mean_min_after, max_min_after, gain_share, recommended``.
    recommended_p
        The recommended number of sites.
    selected
        Candidate column indices of the recommended sites (sorted).
    selected_ids
        Their ids.
    results
        The :class:`SitingResult` of each p.
    reason
        One-line English explanation of the recommendation.
    """

    table: pd.DataFrame
    recommended_p: int
    selected: tuple[int, ...]
    selected_ids: tuple[Any, ...]
    results: dict[int, SitingResult]
    reason: str


def choose_subcentres(
    cost: Any,
    weights: Any,
    *,
    baseline_min: Any,
    p_values: Sequence[int] = settings.p_values,
    objective: str | Objective = "pmedian",
    threshold_min: float = settings.threshold_min,
    min_gain_share: float = settings.second_site_min_gain_share,
    candidate_ids: Sequence[Any] | None = None,
    candidate_names: Sequence[str] | None = None,
    time_limit_s: float | None = None,
) -> SubcentreChoice:
    """Choose the county medical sub-centres (县域医疗卫生次中心) for each p and recommend one.

    Policy Rule 1 allows 1 to 2 sites (any p >= 1 may be asked). Each p is
    solved with ``objective``; p grows from the smallest value asked only
    while each extra site brings at least ``min_gain_share`` of the total
    population newly within ``threshold_min`` (compared with one site fewer).

    Parameters
    ----------
    cost
        Demand × candidate minutes (``np.inf`` = unreachable).
    weights
        Population per demand row.
    baseline_min
        Minutes to the existing county hospitals (``None``: none exist).
    p_values
        Numbers of sites to evaluate (default :data:`coverkit.settings.p_values`).
        Values above the number of usable candidates are skipped with a
        warning; if all are, :class:`InfeasibleError` is raised.
    objective
        ``'pmedian'`` (default), ``'mclp'`` or ``'pcenter'``.
    threshold_min
        Threshold for coverage figures and the MCLP, minutes.
    min_gain_share
        Least share of the total population an extra site must bring within
        the threshold to be recommended.
    candidate_ids, candidate_names
        One id / display name per candidate column.
    time_limit_s
        Solver time limit per p, seconds.

    Returns
    -------
    SubcentreChoice

    Raises
    ------
    InvalidValueError
        For an empty ``p_values``, p < 1, a bad objective or malformed arrays.
    InfeasibleError
        When no p in ``p_values`` can be met by the candidates.
    """
    import pandas as pd

    cls = _model_class(objective)
    ps = sorted({_check_p(p) for p in p_values})
    if not ps:
        raise InvalidValueError("p_values is empty; pass e.g. p_values=(1, 2)")
    if not 0 <= min_gain_share <= 1:
        raise InvalidValueError(f"min_gain_share={min_gain_share} must lie in [0, 1], e.g. 0.02")
    inputs = _validate(cost, weights, baseline_min, candidate_ids)
    names = (
        tuple(str(x) for x in candidate_names)
        if candidate_names is not None
        else tuple(str(x) for x in inputs.candidate_ids)
    )
    if len(names) != inputs.cost.shape[1]:
        raise InvalidValueError(
            f"candidate_names has {len(names)} names but the cost matrix has "
            f"{inputs.cost.shape[1]} columns; pass one name per column"
        )
    k = int(inputs.usable.sum())
    feasible = [p for p in ps if p <= k]
    if not feasible:
        _check_p_feasible(ps[0], inputs)
    if len(feasible) < len(ps):
        logger.warning(
            "p=%s skipped: only %d candidate site(s) can be chosen",
            ",".join(str(p) for p in ps if p > k),
            k,
        )
    T = float(threshold_min)
    w, b = inputs.weights, inputs.baseline
    total = float(w.sum())
    before = _figures(b, w, 0, (T,))
    results: dict[int, SitingResult] = {}
    rows = []
    for p in feasible:
        model = cls(inputs, p=p, threshold_min=T, capacity=None)
        res = model.solve(time_limit_s=time_limit_s)  # type: ignore[attr-defined]
        results[p] = res
        fig = _figures(_after(inputs.cost, b, res.selected)[0], w, p, (T,))
        rows.append(
            {
                "p": p,
                "selected": res.selected,
                "selected_ids": res.selected_ids,
                "selected_names": tuple(names[j] for j in res.selected),
                "objective": res.objective,
                "objective_name": res.objective_name,
                "pop_within_before": before[f"pop_within_{T:g}_min"],
                "pop_within_after": fig[f"pop_within_{T:g}_min"],
                "share_within_before": before[f"share_within_{T:g}_min"],
                "share_within_after": fig[f"share_within_{T:g}_min"],
                "mean_min_before": before["mean_min"],
                "mean_min_after": fig["mean_min"],
                "max_min_after": fig["max_min"],
            }
        )
    table = pd.DataFrame(rows)
    prev = table["pop_within_after"].shift(1)
    gain = (table["pop_within_after"] - prev) / total
    table["gain_share"] = gain
    rec = feasible[0]
    reason = f"p={rec}: the smallest number asked"
    for idx in range(1, len(feasible)):
        g = float(gain.iloc[idx])
        if g >= min_gain_share:
            rec = feasible[idx]
            reason = (
                f"p={rec}: site {rec} brings {g:.1%} of the population within {T:g} min "
                f"(>= {min_gain_share:.1%})"
            )
        else:
            reason = (
                f"p={rec}: a site more would bring only {g:.1%} of the population within "
                f"{T:g} min (< {min_gain_share:.1%})"
            )
            break
    table["recommended"] = table["p"] == rec
    chosen = results[rec]
    return SubcentreChoice(
        table=table,
        recommended_p=rec,
        selected=chosen.selected,
        selected_ids=chosen.selected_ids,
        results=results,
        reason=reason,
    )


@dataclass(frozen=True)
class SiteExplanation:
    """Why each chosen site, and what the best alternatives would give.

    Attributes
    ----------
    sites
        One row per chosen site: ``index, id, name, rank, pop_served,
        pop_newly_within, pop_newly_reached, mean_saved_min, max_saved_min``
        (``rank`` 1 = most population newly within the threshold). No
        geometry: join it from the candidates on ``id``.
    runners_up
        Per chosen site, the best ``n_runners_up`` candidates swapped in for
        it: ``site_id, rank, candidate_index, candidate_id, candidate_name,
        pop_within_after, mean_min_after, delta_pop_within, delta_mean_min``.
    """

    sites: pd.DataFrame
    runners_up: pd.DataFrame


def explain_sites(
    cost: Any,
    weights: Any,
    selected: Sequence[int],
    *,
    baseline_min: Any,
    threshold_min: float = settings.threshold_min,
    candidate_ids: Sequence[Any] | None = None,
    n_runners_up: int = 3,
    candidate_names: Sequence[str] | None = None,
) -> SiteExplanation:
    """Explain a choice of sites: who gains, by how much, and the alternatives.

    A demand row is *served* by a chosen site when that site is strictly
    nearer than the existing facilities and any other chosen site (ties go
    to the existing facility, then to the lower column). Minutes saved are
    ``baseline - after`` over served rows with a finite baseline, population
    weighted for the mean.

    Parameters
    ----------
    cost
        Demand × candidate minutes.
    weights
        Population per demand row.
    selected
        Chosen candidate column indices.
    baseline_min
        Minutes to the existing facilities (``None``: none).
    threshold_min
        Threshold, minutes.
    candidate_ids, candidate_names
        One id / display name per candidate column.
    n_runners_up
        Alternatives listed per chosen site; ranked by population within the
        threshold (more first), then weighted mean minutes (fewer first),
        then column index.

    Returns
    -------
    SiteExplanation
    """
    import pandas as pd

    inp = _validate(cost, weights, baseline_min, candidate_ids)
    C, w, b = inp.cost, inp.weights, inp.baseline
    m = C.shape[1]
    names = (
        tuple(str(x) for x in candidate_names)
        if candidate_names is not None
        else tuple(str(x) for x in inp.candidate_ids)
    )
    sel = sorted({int(j) for j in selected})
    for j in sel:
        if not 0 <= j < m:
            raise InvalidValueError(
                f"selected site {j} is not a candidate column (0..{m - 1}); pass column indices"
            )
    T = float(threshold_min)
    t, assign = _after(C, b, sel)
    newly = (b > T) & (t <= T)
    with np.errstate(invalid="ignore"):  # inf - inf where neither reaches: not used below
        saved = b - t
    site_rows = []
    for j in sel:
        mask = assign == j
        fin = mask & np.isfinite(b)
        ws = float(w[fin].sum())
        site_rows.append(
            {
                "index": j,
                "id": inp.candidate_ids[j],
                "name": names[j],
                "pop_served": float(w[mask].sum()),
                "pop_newly_within": float(w[mask & newly].sum()),
                "pop_newly_reached": float(w[mask & ~np.isfinite(b)].sum()),
                "mean_saved_min": float((w[fin] * saved[fin]).sum() / ws) if ws > 0 else 0.0,
                "max_saved_min": float(saved[fin].max()) if fin.any() else 0.0,
            }
        )
    sites = pd.DataFrame(
        site_rows,
        columns=[
            "index", "id", "name", "pop_served", "pop_newly_within", "pop_newly_reached",
            "mean_saved_min", "max_saved_min",
        ],
    )  # fmt: skip
    if len(sites):
        order = sites.sort_values(
            ["pop_newly_within", "index"], ascending=[False, True], kind="stable"
        ).index
        sites.loc[order, "rank"] = np.arange(1, len(sites) + 1)
        sites["rank"] = sites["rank"].astype(int)
    else:
        sites["rank"] = pd.Series(dtype=int)
    sites = sites[["index", "id", "name", "rank", *sites.columns[3:-1]]]
    base_fig = _figures(t, w, len(sel), (T,))
    ru_rows = []
    others = np.array([k for k in range(m) if k not in sel and inp.usable[k]], dtype=int)
    for j in sel:
        rest = [s for s in sel if s != j]
        t_rest, _ = _after(C, b, rest)
        if others.size == 0:
            continue
        tt = np.minimum(t_rest[:, None], C[:, others])  # n x (m - p)
        pop_within = (w[:, None] * (tt <= T)).sum(axis=0)
        reach = np.isfinite(tt)
        wr = (w[:, None] * reach).sum(axis=0)
        mean_min = np.where(
            wr > 0, (w[:, None] * np.where(reach, tt, 0.0)).sum(axis=0) / np.maximum(wr, 1e-300),
            np.nan,
        )  # fmt: skip
        order = np.lexsort((others, mean_min, -pop_within))[:n_runners_up]
        for rank, o in enumerate(order, start=1):
            k = int(others[o])
            ru_rows.append(
                {
                    "site_id": inp.candidate_ids[j],
                    "rank": rank,
                    "candidate_index": k,
                    "candidate_id": inp.candidate_ids[k],
                    "candidate_name": names[k],
                    "pop_within_after": float(pop_within[o]),
                    "mean_min_after": float(mean_min[o]),
                    "delta_pop_within": float(pop_within[o]) - base_fig[f"pop_within_{T:g}_min"],
                    "delta_mean_min": float(mean_min[o]) - base_fig["mean_min"],
                }
            )
    runners = pd.DataFrame(
        ru_rows,
        columns=[
            "site_id", "rank", "candidate_index", "candidate_id", "candidate_name",
            "pop_within_after", "mean_min_after", "delta_pop_within", "delta_mean_min",
        ],
    )  # fmt: skip
    return SiteExplanation(sites=sites.reset_index(drop=True), runners_up=runners)


def coverage_table(
    cost: Any,
    weights: Any,
    *,
    baseline_min: Any,
    thresholds_min: Sequence[float] = settings.thresholds_min,
    p_values: Sequence[int] = (1, 2, 3),
    candidate_ids: Sequence[Any] | None = None,
    time_limit_s: float | None = None,
) -> pd.DataFrame:
    """Population within each threshold for each number of sites, at its best.

    Every cell (``T``, ``p``) comes from the optimal MCLP for that threshold
    and p (so different cells may use different sites: it shows the most any
    p sites can achieve at each threshold, not the figures of one plan; use
    :func:`evaluate_selection` for those). ``p = 0`` is the existing county
    hospitals alone. Values of p above the usable candidates are skipped.

    Parameters
    ----------
    cost
        Demand × candidate minutes.
    weights
        Population per demand row.
    baseline_min
        Minutes to the existing facilities (``None``: none).
    thresholds_min
        Thresholds, minutes.
    p_values
        Numbers of sites (>= 1).
    candidate_ids
        One id per candidate column.
    time_limit_s
        Solver time limit per cell, seconds.

    Returns
    -------
    DataFrame
        Long format: ``threshold_min, p, population_within, share_within,
        selected_ids`` sorted by threshold then p (the :class:`~coverkit.plan.CountyPlan`
        ``coverage`` contract); ``DataFrame.pivot`` gives the threshold × p table.
    """
    import pandas as pd

    inp = _validate(cost, weights, baseline_min, candidate_ids)
    ps = sorted({_check_p(p) for p in p_values})
    k = int(inp.usable.sum())
    skipped = [p for p in ps if p > k]
    if skipped:
        logger.warning("coverage_table: p=%s skipped (only %d usable candidates)", skipped, k)
    total = float(inp.weights.sum())
    rows = []
    for T in sorted(float(x) for x in thresholds_min):
        base = float(inp.weights[inp.baseline <= T].sum())
        rows.append(
            {"threshold_min": T, "p": 0, "population_within": base,
             "share_within": base / total, "selected_ids": ()}
        )  # fmt: skip
        for p in ps:
            if p > k:
                continue
            res = MCLP(inp, p=p, threshold_min=T, capacity=None).solve(
                time_limit_s=time_limit_s, tie_break=False
            )
            rows.append(
                {"threshold_min": T, "p": p, "population_within": res.objective,
                 "share_within": res.objective / total, "selected_ids": res.selected_ids}
            )  # fmt: skip
    return pd.DataFrame(rows)


def compare_objectives(
    cost: Any,
    weights: Any,
    *,
    baseline_min: Any,
    p: int,
    threshold_min: float = settings.threshold_min,
    candidate_ids: Sequence[Any] | None = None,
    candidate_names: Sequence[str] | None = None,
    time_limit_s: float | None = None,
) -> pd.DataFrame:
    """Each objective's optimum, with the figures of all three objectives.

    Whatever objective the plan uses, the report can show what the others
    would give, so a planner sees where they disagree: for each objective
    (p-median, MCLP, p-centre) the optimal set of ``p`` sites and, for that
    set, the p-median figure (weighted mean minutes), the MCLP figures
    (population and share within ``threshold_min``) and the p-centre figure
    (worst minutes over populated reachable demand).

    Parameters
    ----------
    cost
        Demand × candidate minutes (``np.inf`` = unreachable).
    weights
        Population per demand row.
    baseline_min
        Minutes to the existing county hospitals (``None``: none exist).
    p
        Number of sites.
    threshold_min
        Threshold of the MCLP and of the coverage figures, minutes.
    candidate_ids, candidate_names
        One id / display name per candidate column.
    time_limit_s
        Solver time limit per objective, seconds.

    Returns
    -------
    DataFrame
        One row per objective, in the order ``pmedian, mclp, pcenter``:
        ``objective, p, threshold_min, selected, selected_ids,
        selected_names, mean_min, pop_within, share_within, worst_min,
        unreached_population, status, gap, method``. ``mean_min`` is over the
        reachable population; ``worst_min`` over populated reachable rows.

    Raises
    ------
    InvalidValueError
        For malformed arrays, p < 1 or a bad threshold.
    InfeasibleError
        When p exceeds the usable candidates.

    Examples
    --------
    >>> table = compare_objectives(
    ...     [[10.0, 40.0], [60.0, 25.0]], [3.0, 1.0], baseline_min=None, p=1, threshold_min=30
    ... )
    >>> table["selected"].tolist()
    [(0,), (0,), (1,)]
    """
    import pandas as pd

    p = _check_p(p)
    inputs = _validate(cost, weights, baseline_min, candidate_ids)
    _check_p_feasible(p, inputs)
    T = float(threshold_min)
    if not T >= 0:
        raise InvalidValueError(f"threshold_min={threshold_min} must be >= 0 minutes, e.g. 30")
    m = inputs.cost.shape[1]
    names = (
        tuple(str(x) for x in candidate_names)
        if candidate_names is not None
        else tuple(str(x) for x in inputs.candidate_ids)
    )
    if len(names) != m:
        raise InvalidValueError(
            f"candidate_names has {len(names)} names but the cost matrix has {m} columns; "
            "pass one name per column"
        )
    w = inputs.weights
    total = float(w.sum())
    rows = []
    for key, cls in _MODELS.items():
        res = cls(inputs, p=p, threshold_min=T, capacity=None).solve(time_limit_s=time_limit_s)  # type: ignore[attr-defined]
        t, _ = _after(inputs.cost, inputs.baseline, res.selected)
        reach = np.isfinite(t)
        wr = float(w[reach].sum())
        populated = reach & (w > 0)
        within = float(w[t <= T].sum())
        rows.append(
            {
                "objective": key,
                "p": p,
                "threshold_min": T,
                "selected": res.selected,
                "selected_ids": res.selected_ids,
                "selected_names": tuple(names[j] for j in res.selected),
                "mean_min": float(w[reach] @ t[reach]) / wr if wr > 0 else float("nan"),
                "pop_within": within,
                "share_within": within / total,
                "worst_min": float(t[populated].max()) if populated.any() else float("nan"),
                "unreached_population": float(w[~reach].sum()),
                "status": res.status,
                "gap": res.gap,
                "method": res.method,
            }
        )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------
# eligibility
# ---------------------------------------------------------------------------------------


def eligibility(
    *,
    population: float,
    area_km2: float,
    seat_offset_ratio: float,
    share_beyond_threshold: float,
    thresholds: dict[str, float] | None = None,
    rule: str = "any",
) -> pd.DataFrame:
    """Does the county call for sub-centres? The four Rule 1 indicators.

    The policy (000 §(一); 001 §2) names the indicators - a large resident
    population (常住人口较多), a large area (区域面积较大), a county seat not at
    the county's centre (县城不在县域中心), weak coverage by the county
    hospital (县级医院服务覆盖能力不足) - but gives no numbers. The default
    thresholds in :data:`ELIGIBILITY_THRESHOLDS` are planning conventions:
    population >= 500,000, area >= 2,000 km², seat offset ratio >= 0.5 and
    share of the population beyond the threshold >= 20 %. Override any of
    them with ``thresholds``.

    Parameters
    ----------
    population
        Resident population of the county, persons.
    area_km2
        County area, km².
    seat_offset_ratio
        Distance from the county seat to the population-weighted centroid,
        divided by the radius of a circle with the county's area.
    share_beyond_threshold
        Share (0-1) of the population beyond the travel-time threshold from
        the existing county hospitals.
    thresholds
        Overrides, keyed ``population``, ``area_km2``, ``seat_offset_ratio``,
        ``share_beyond_threshold``.
    rule
        ``'any'``: eligible if one indicator passes (the policy lists them
        as alternatives); ``'all'``: every indicator must pass.

    Returns
    -------
    DataFrame
        ``indicator, indicator_zh, value, threshold, unit, passes``; the
        decision is in ``.attrs['eligible']`` and ``.attrs['rule']``.

    Raises
    ------
    InvalidValueError
        For negative or NaN values, unknown threshold keys or a bad rule.
    """
    import pandas as pd

    if rule not in ("any", "all"):
        raise InvalidValueError(f"rule={rule!r} is unknown; use 'any' or 'all'")
    limits = dict(ELIGIBILITY_THRESHOLDS)
    if thresholds:
        unknown = sorted(set(thresholds) - set(limits))
        if unknown:
            raise InvalidValueError(
                f"unknown eligibility threshold(s) {', '.join(unknown)}; use {', '.join(limits)}"
            )
        limits.update({key: float(v) for key, v in thresholds.items()})
    values = {
        "population": population,
        "area_km2": area_km2,
        "seat_offset_ratio": seat_offset_ratio,
        "share_beyond_threshold": share_beyond_threshold,
    }
    for key, v in values.items():
        if v is None or not np.isfinite(float(v)) or float(v) < 0:
            raise InvalidValueError(f"{key}={v!r} must be a finite number >= 0")
    if float(share_beyond_threshold) > 1:
        raise InvalidValueError(
            f"share_beyond_threshold={share_beyond_threshold} is a share; pass a value in [0, 1]"
        )
    rows = [
        {
            "indicator": key,
            "indicator_zh": zh,
            "value": float(values[key]),
            "threshold": limits[key],
            "unit": unit,
            "passes": bool(float(values[key]) >= limits[key]),
        }
        for key, zh, unit in _INDICATORS
    ]
    table = pd.DataFrame(rows)
    decide = any if rule == "any" else all
    table.attrs["eligible"] = bool(decide(table["passes"]))
    table.attrs["rule"] = rule
    return table


__all__ = [
    "ELIGIBILITY_THRESHOLDS",
    "ENUMERATION_LIMIT",
    "MCLP",
    "MIP_REL_GAP",
    "SET_MODEL_LIMIT",
    "SET_MODEL_MIN_MERGE",
    "Objective",
    "PCenter",
    "PMedian",
    "SiteExplanation",
    "SitingResult",
    "SubcentreChoice",
    "choose_subcentres",
    "compare_objectives",
    "coverage_table",
    "eligibility",
    "evaluate_selection",
    "explain_sites",
]
