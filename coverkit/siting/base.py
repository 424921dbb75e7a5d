"""What every siting model shares: inputs, result, figures, the HiGHS MILP and the set model.

The models (:mod:`~coverkit.siting.p_median`, :mod:`~coverkit.siting.coverage`,
:mod:`~coverkit.siting.p_center`) all work on one validated cost matrix, return one
:class:`SitingResult` and solve their MIPs through the helpers here: :func:`set_model`
builds the radius formulation aggregated by distinct candidate sets,
:func:`solve_set_model` solves it with HiGHS, :class:`SolveLog` collects time, gap and
status over the sub-solves.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import weakref
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
from coverkit.network.blocks import for_blocks

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

logger = logging.getLogger(__name__)


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
        HiGHS's), ``'enumerate'`` (every set evaluated; gap 0) or
        ``'required'`` (the required sites fill ``p``: nothing to choose).
    required
        The candidate column indices that had to be in the set (sorted); they
        are part of ``selected`` and count in ``p``.
    required_unreaching
        The required sites that reach no populated demand row: forced into
        ``selected`` all the same (the caller's decision), they change no figure.
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
    required: tuple[int, ...] = ()
    required_unreaching: tuple[int, ...] = ()


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
    """``p`` as an ``int`` >= 1, or :class:`InvalidValueError`."""
    if isinstance(p, bool) or not isinstance(p, int | np.integer):
        raise InvalidValueError(f"p={p!r} is not an integer; pass the number of sites, e.g. p=1")
    if p < 1:
        raise InvalidValueError(f"p={p} but at least 1 site must be chosen; pass p >= 1")
    return int(p)


def _cost_matrix(cost: Any) -> np.ndarray:
    """The demand × candidate minutes as a non-empty float array without NaN or negatives."""
    try:
        C = np.asarray(cost)
        if C.dtype != np.float32:  # float32 (a large county's matrix) is read as it is
            C = np.asarray(C, dtype="float64")
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
    # a read-only matrix (the plan's) is checked once for all the models reading it
    if not _memo("cost-checked", [C], (), lambda: _has_nan_or_negative(C)):
        return C
    if np.isnan(C).any():
        i, j = np.argwhere(np.isnan(C))[0]
        raise InvalidValueError(
            f"cost[{i}, {j}] is NaN; use np.inf for an unreachable pair, not NaN"
        )
    if (C < 0).any():
        i, j = np.argwhere(C < 0)[0]
        raise InvalidValueError(f"cost[{i}, {j}] = {C[i, j]:g} is negative; minutes must be >= 0")
    return C


def _has_nan_or_negative(C: np.ndarray) -> bool:
    """Whether some minutes of ``C`` are NaN or negative (rows in blocks over threads)."""

    def bad(s: int, e: int) -> bool:
        block = C[s:e]
        return bool(np.isnan(block).any() or (block < 0).any())

    return any(for_blocks(bad, C.shape[0], SET_MODEL_BLOCK))


def _demand_weights(weights: Any, n: int) -> np.ndarray:
    """One finite population >= 0 per demand row, not all zero."""
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
    return w


def _baseline_minutes(baseline_min: Any, n: int) -> np.ndarray:
    """Minutes to the existing facilities per demand row (all ``inf`` when there are none)."""
    if baseline_min is None:
        logger.warning(
            "no baseline_min given: no existing county-level facility, coverage is "
            "measured from the sub-centres alone"
        )
        return np.full(n, np.inf)
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
        raise InvalidValueError(f"baseline_min[{i}] = {b[i]:g} is negative; minutes must be >= 0")
    return b


def _candidate_ids(candidate_ids: Sequence[Any] | None, m: int) -> tuple[Any, ...]:
    """One id per candidate column (the column indices by default)."""
    if candidate_ids is None:
        return tuple(range(m))
    ids = tuple(candidate_ids)
    if len(ids) != m:
        raise InvalidValueError(
            f"candidate_ids has {len(ids)} ids but the cost matrix has {m} candidate "
            "columns; pass one id per column"
        )
    return ids


def _reaching_columns(C: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Columns of ``C`` with a finite time to some row of positive ``w``."""
    pos = w > 0

    def reached(s: int, e: int) -> np.ndarray:  # blocks: no copy of the whole matrix
        return np.isfinite(C[s:e][pos[s:e]]).any(axis=0)

    parts = for_blocks(reached, C.shape[0], SET_MODEL_BLOCK)
    return np.logical_or.reduce(parts) if parts else np.zeros(C.shape[1], dtype=bool)


def _usable_candidates(C: np.ndarray, w: np.ndarray, ids: tuple[Any, ...]) -> np.ndarray:
    """Candidates that reach some populated demand row; the others are logged."""
    usable = _memo("usable", [C, w], (), lambda: _reaching_columns(C, w)).copy()
    if not usable.all():
        bad = [ids[j] for j in np.flatnonzero(~usable)]
        logger.warning(
            "%d candidate(s) reach no populated demand point and are excluded: %s",
            len(bad),
            ", ".join(map(str, bad[:10])) + (" ..." if len(bad) > 10 else ""),
        )
    return usable


def _validate(
    cost: Any,
    weights: Any,
    baseline_min: Any,
    candidate_ids: Sequence[Any] | None,
) -> _Inputs:
    """Check and convert the inputs of every siting entry point.

    Parameters
    ----------
    cost
        Demand × candidate minutes (``np.inf`` = unreachable).
    weights
        Population of each demand row.
    baseline_min
        Minutes to the existing facilities, or ``None`` (there are none: logged).
    candidate_ids
        One id per candidate column, or ``None`` (the column indices).

    Returns
    -------
    _Inputs
        The float arrays, the usable candidates and the ids.
    """
    C = _cost_matrix(cost)
    n, m = C.shape
    w = _demand_weights(weights, n)
    b = _baseline_minutes(baseline_min, n)
    ids = _candidate_ids(candidate_ids, m)
    usable = _usable_candidates(C, w, ids)
    return _Inputs(C, w, b, usable, ids, baseline_min is not None)


def _check_p_feasible(p: int, inputs: _Inputs, required: Sequence[int] = ()) -> None:
    """Raise :class:`InfeasibleError` when fewer than ``p`` candidates can be chosen.

    Required sites count whether or not they reach anyone (they are forced).
    """
    m = inputs.cost.shape[1]
    req = np.zeros(m, dtype=bool)
    req[list(required)] = True
    k = int((inputs.usable | req).sum())
    if p > k:
        extra = "" if k == m else f" (of {m} given; the others reach no populated demand point)"
        raise InfeasibleError(
            f"p={p} but only {k} candidate site(s) can be chosen{extra}; "
            f"ask for p <= {k} or add candidates outside the county seat"
        )


def checked_required(required: Sequence[int] | None, p: int | None, m: int) -> tuple[int, ...]:
    """The required candidate columns, sorted: distinct integers in ``0..m-1``, at most ``p``.

    Parameters
    ----------
    required
        Candidate column indices that must be in every chosen set (``None``: none).
    p
        Number of sites the required ones count in (``None``: not checked).
    m
        Number of candidate columns.

    Returns
    -------
    tuple of int

    Raises
    ------
    InvalidValueError
        For a non-integer, out-of-range or repeated index, or ``p < len(required)``.
    """
    if required is None:
        return ()
    req = list(required)
    for j in req:
        if isinstance(j, bool) or not isinstance(j, int | np.integer):
            raise InvalidValueError(
                f"required site {j!r} is not a column index; pass candidate column indices"
            )
        if not 0 <= j < m:
            raise InvalidValueError(
                f"required site {j} is not a candidate column (0..{m - 1}); pass column indices"
            )
    if len(set(req)) < len(req):
        dup = sorted({j for j in req if req.count(j) > 1})
        raise InvalidValueError(f"required sites repeat {dup}; name each required site once")
    if p is not None and p < len(req):
        raise InvalidValueError(
            f"p={p} but {len(req)} sites are required ({sorted(int(j) for j in req)}); "
            f"required sites count in p: ask for p >= {len(req)}"
        )
    return tuple(sorted(int(j) for j in req))


def _folded(inputs: _Inputs, required: Sequence[int]) -> _Inputs:
    """The inputs with the required sites open: folded into the baseline, no longer choosable.

    With ``R`` open, ``min(b_i, min_{j in R ∪ S} c_ij) = min(b'_i, min_{j in S} c_ij)``
    with ``b'_i = min(b_i, min_{j in R} c_ij)``: every objective over sets ``S ⊇ R``
    is the same objective over ``S - R`` with baseline ``b'``, exactly.
    """
    b, _ = _after(inputs.cost, inputs.baseline, required)
    usable = inputs.usable.copy()
    usable[list(required)] = False
    return _Inputs(
        inputs.cost, inputs.weights, b, usable, inputs.candidate_ids, inputs.has_baseline
    )


# ---------------------------------------------------------------------------------------
# evaluation
# ---------------------------------------------------------------------------------------


def _after(
    C: np.ndarray, b: np.ndarray, selected: Sequence[int], assign_dtype: Any = int
) -> tuple[np.ndarray, np.ndarray]:
    """Minutes after the plan and the serving candidate (-1 = existing/none)."""
    sel = np.unique(np.asarray(list(selected), dtype=int))
    if sel.size == 0:
        return b.copy(), np.full(b.shape[0], -1, dtype=assign_dtype)
    n = b.shape[0]
    t = np.empty(n, dtype=np.result_type(C.dtype, b.dtype))
    assign = np.empty(n, dtype=assign_dtype)
    # rows in cache-sized blocks, column by column (no rows x p copy); a strictly smaller
    # time takes over, so ties stay with the lowest column of `sel` (sorted), as argmin's
    for r in range(0, n, AFTER_BLOCK):
        rows = slice(r, r + AFTER_BLOCK)
        best = C[rows, sel[0]].copy()
        who = np.full(best.shape[0], sel[0])
        for j in sel[1:]:
            col = C[rows, j]
            better = col < best
            np.copyto(best, col, where=better)
            who[better] = j
        bb = b[rows]
        assign[rows] = np.where(best < bb, who, -1)
        np.minimum(bb, best, out=t[rows])
    return t, assign


#: Rows per block of :func:`_after` (its temporaries stay in the CPU cache).
AFTER_BLOCK: int = 65_536


#: Selections whose minutes after the plan :func:`_after_memo` keeps (9 bytes per row:
#: the figures of one selection are asked one after another).
AFTER_MEMO: int = 1


def _after_memo(
    C: np.ndarray, b: np.ndarray, selected: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_after`, kept for the last :data:`AFTER_MEMO` selections (read-only arrays;
    the serving candidate in the smallest integer type holding the columns)."""
    sel = tuple(sorted({int(j) for j in selected}))

    def build() -> tuple[np.ndarray, np.ndarray]:
        small = np.int8 if C.shape[1] < 127 else np.int16 if C.shape[1] < 32_767 else int
        t, assign = _after(C, b, sel, small)
        t.flags.writeable = False
        assign.flags.writeable = False
        return t, assign

    return _memo("after", (C, b), (sel,), build, limit=AFTER_MEMO)


def evaluate_selection(
    cost: Any,
    weights: Any,
    selected: Sequence[int],
    *,
    baseline_min: Any = None,
    thresholds_min: Sequence[float] | None = None,
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
        Thresholds for the population-within figures, minutes (``None``:
        :data:`coverkit.settings.thresholds_min`).

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
    if thresholds_min is None:
        thresholds_min = settings.thresholds_min
    C = np.asarray(cost)
    C = C if C.dtype == np.float32 else np.asarray(C, dtype="float64")
    w = np.asarray(weights, dtype="float64").reshape(-1)
    b = np.full(w.shape[0], np.inf) if baseline_min is None else np.asarray(baseline_min, float)
    t, _ = _after(C, b, selected)
    return _figures(t, w, len(selected), thresholds_min)


def _where(a: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``a[mask]``, or ``a`` itself when every entry is kept (the same values, no copy)."""
    return a if mask.all() else a[mask]


def _figures(
    t: np.ndarray, w: np.ndarray, p: int, thresholds_min: Sequence[float]
) -> dict[str, float]:
    """The figures of :func:`evaluate_selection` from the minutes ``t`` after the plan."""
    total = float(w.sum())
    reach = np.isfinite(t)
    wf, tf = _where(w, reach), _where(t, reach)
    wr = float(wf.sum())
    pos = w > 0
    out: dict[str, float] = {
        "p": float(p),
        "population": total,
        "mean_min": float((wf * tf).sum() / wr) if wr > 0 else float("nan"),
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
class SolveLog:
    """What the sub-solves of one model run add up to.

    Every MIP helper takes one and updates it, so a model that solves several
    MIPs (a reachability phase, a tie-break, a radius search) reports their
    total time, the largest gap and the worst status.

    Attributes
    ----------
    time_s
        Wall-clock seconds spent in the solver so far.
    gap
        Largest relative MIP gap over the sub-solves.
    status
        ``'optimal'``, or ``'time_limit'`` once an incumbent was accepted.
    messages
        One line per sub-solve worth noting (the formulation used, an accepted stop).
    """

    time_s: float = 0.0
    gap: float = 0.0
    status: str = "optimal"
    messages: list[str] = field(default_factory=list)


def _milp_failure(res: Any, gap: float, *, time_limit_s: float | None, what: str) -> SolverError:
    """The error for a HiGHS run that gave no accepted solution."""
    if res.status == 1:
        return SolverError(
            f"{what} was not solved to proven optimality within time_limit_s="
            f"{time_limit_s} (HiGHS: {res.message}; gap {gap:.3g}); raise time_limit_s "
            "or pass accept_suboptimal=True"
        )
    return SolverError(f"{what} failed in HiGHS: {res.message} (status {res.status})")


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
    log: SolveLog,
    what: str,
) -> np.ndarray:
    """Solve ``min c x, lb <= A x <= ub`` with HiGHS (:func:`scipy.optimize.milp`).

    The time limit is what is left of ``time_limit_s`` after ``log.time_s``;
    the gap is :data:`coverkit.settings.mip_rel_gap`. Returns the solution, or
    the incumbent at the time limit when ``accept_suboptimal`` (status noted in
    ``log``); else raises :class:`~coverkit.errors.SolverError` naming ``what``.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    options: dict[str, Any] = {"mip_rel_gap": settings.mip_rel_gap, "presolve": True}
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
    raise _milp_failure(res, gap, time_limit_s=time_limit_s, what=what)


# ---------------------------------------------------------------------------------------
# reuse of the heavy per-matrix steps (large counties solve many models on one matrix)
# ---------------------------------------------------------------------------------------

#: Most results :func:`_memo` keeps (the oldest are dropped first).
MEMO_SIZE: int = 24

_MEMO: dict[tuple, tuple[tuple[weakref.ref, ...], Any]] = {}
_MEMO_LOCK = threading.Lock()  # plans in threads of one process share the memo


def _frozen_owner(a: np.ndarray) -> np.ndarray | None:
    """The array owning ``a``'s memory when ``a`` and every base up to it are read-only."""
    while isinstance(a, np.ndarray) and not a.flags.writeable:
        if a.base is None or (isinstance(a, np.memmap) and not isinstance(a.base, np.ndarray)):
            return a  # owns its memory (a memory map owns its mapping)
        a = a.base
    return None


def _forgetter(key: tuple) -> Any:
    """A weakref callback dropping the memo entry ``key`` (no lock: it may run in GC)."""

    def forget(_ref: weakref.ref) -> None:
        _MEMO.pop(key, None)

    return forget


def _memo(
    kind: str, arrays: Sequence[np.ndarray], extra: tuple, build: Any, limit: int = MEMO_SIZE
) -> Any:
    """``build()``, reused while the same read-only ``arrays`` live (else always built).

    A planner's matrices (the plan's OD matrix, populations, baselines) are made
    read-only once computed, so a result derived from them stays valid while they
    live; the key is their memory (owner, address, shape, strides, dtype) and
    ``extra``. Writable arrays are never memoised: their content could change.
    At most ``limit`` results of one ``kind`` are kept (large ones: few).
    """
    owners = [_frozen_owner(a) for a in arrays]
    if any(o is None for o in owners):
        return build()
    key = (
        kind,
        tuple(
            (id(o), a.__array_interface__["data"][0], a.shape, a.strides, a.dtype.str)
            for o, a in zip(owners, arrays, strict=True)
        ),
        extra,
    )
    with _MEMO_LOCK:
        hit = _MEMO.get(key)
    if hit is not None and all(r() is not None for r in hit[0]):
        return hit[1]
    value = build()
    with _MEMO_LOCK:
        for k in [k for k, (refs, _) in _MEMO.items() if any(r() is None for r in refs)]:
            del _MEMO[k]
        while len(_MEMO) >= MEMO_SIZE:
            del _MEMO[next(iter(_MEMO))]
        same = [k for k in _MEMO if k[0] == kind]
        for k in same[: max(0, len(same) - limit + 1)]:
            del _MEMO[k]
        # an entry goes as soon as one of its arrays does (its derived arrays with it)
        _MEMO[key] = (tuple(weakref.ref(o, _forgetter(key)) for o in owners), value)
    return value


def _digest(*arrays: np.ndarray) -> bytes:
    """A content hash of ``arrays`` (bool arrays are packed to bits first)."""
    h = hashlib.sha1(usedforsecurity=False)
    for a in arrays:
        h.update(repr((a.shape, a.dtype.str)).encode())
        a = np.packbits(a.ravel()) if a.dtype == bool else np.ascontiguousarray(a)
        h.update(memoryview(a).cast("B"))
    return h.digest()


def _aggregate_small_keys(rows: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_aggregate` of rows with small integer keys, by a bitmap instead of a sort.

    The same result as ``np.unique``: distinct rows in the order of their keys and
    the inverse index (each distinct row is taken from one of its occurrences).
    """
    present = np.zeros(int(keys.max()) + 1, dtype=bool)
    present[keys] = True
    rank = np.cumsum(present) - 1
    inverse = rank[keys]
    rep = np.empty(int(present.sum()), dtype=np.int64)
    rep[inverse] = np.arange(keys.size)
    return rows[rep], inverse


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
        if keys.shape[1] == 1 and int(keys.max()) < 1 << 25:
            return _aggregate_small_keys(rows, keys[:, 0])
        if keys.shape[1] == 1:
            _, first, inverse = np.unique(keys[:, 0], return_index=True, return_inverse=True)
        else:
            _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
        return rows[first], inverse.reshape(-1)
    key = np.column_stack([rows, *[e.reshape(-1, 1) for e in extra]])
    uniq, inverse = np.unique(key, axis=0, return_inverse=True)
    return uniq, inverse.reshape(-1)


# ---------------------------------------------------------------------------------------
# the set-aggregated radius model
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SetModel:
    """Radius formulation aggregated by distinct candidate sets (built by :func:`set_model`).

    One ``z_S`` per distinct set ``S`` of candidates (a prefix of some demand
    row's sorted order, ties grouped, capped by the row's baseline):
    ``z_S >= z_{S'} - sum_{j in S \\ S'} y_j`` with ``S'`` the previous set of
    a row that has ``S`` (``z_S + sum_{j in S} y_j >= 1`` for a first set).
    The objective is ``const + z_cost @ z``.

    Attributes
    ----------
    n_y
        Number of candidate (``y``) columns.
    z_cost
        Summed ``w_i (D_i^{k+1} - D_i^k)`` of every set.
    const
        ``sum_i w_i D_i^1`` (or ``w_i cap_i`` for rows no candidate improves).
    rows, cols, vals
        Constraint row, column (``0..n_y-1``: y, ``n_y..``: z) and value of each non-zero.
    lb
        Lower bound of each set's constraint (1 for a first set, else 0).
    n_levels
        ``z`` variables before aggregation (demand row × level).
    """

    n_y: int
    z_cost: np.ndarray
    const: float
    rows: np.ndarray
    cols: np.ndarray
    vals: np.ndarray
    lb: np.ndarray
    n_levels: int

    @property
    def n_z(self) -> int:
        """Number of ``z`` variables (distinct candidate sets)."""
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


def _set_index(
    order: np.ndarray, ri: np.ndarray, pos: np.ndarray, m: int, aggregate: bool
) -> tuple[np.ndarray, np.ndarray]:
    """First level of each distinct set, and the set of each level.

    With ``aggregate=False`` every level is its own set.
    """
    k = ri.size
    if not (aggregate and k):
        return np.arange(k), np.arange(k)
    keys = _set_keys(order, ri, pos, m)
    if keys.shape[1] == 1:
        _, first, inv = np.unique(keys[:, 0], return_index=True, return_inverse=True)
    else:
        _, first, inv = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    return first, inv.reshape(-1)


#: Demand rows per block when building a large set model: bounds its temporaries
#: (about 60 bytes per row and candidate) without changing the model (only the
#: order of floating-point sums of ``z_cost`` and ``const`` across blocks).
SET_MODEL_BLOCK: int = 250_000


def _row_levels(E: np.ndarray, cap: np.ndarray, w: np.ndarray, p: int) -> tuple[np.ndarray, ...]:
    """Sorted order, constant, and the kept levels of rows: ``ri, pos, coef, prev``, count.

    A level ends where the sorted minutes change, below the cap; levels holding
    ``m - p + 1`` or more candidates are dropped; ``prev`` is the previous kept
    level of the same row (-1 for a row's first).
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
    del S, ends, nxt
    # p-truncation: z = 0 once >= m - p + 1 candidates are in the set (any p sites hit it)
    keep = pos + 1 < m - p + 1
    ri, pos, coef = ri[keep], pos[keep], coef[keep]
    k = ri.size
    prev = np.full(k, -1)
    if k:
        same = np.zeros(k, dtype=bool)
        same[1:] = ri[1:] == ri[:-1]
        prev[same] = np.flatnonzero(same) - 1
    return order, const, ri, pos, coef, prev, n_levels


def _first_rows(
    order: np.ndarray, ri: np.ndarray, pos: np.ndarray, prev: np.ndarray, first: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per set (its first level): previous level (-1), and the candidates it adds, as
    ``(pe, col_y, length)`` with ``col_y`` concatenated set by set."""
    pe = prev[first]
    start = np.where(pe >= 0, pos[np.maximum(pe, 0)] + 1, 0)
    length = pos[first] - start + 1
    within = np.arange(int(length.sum())) - np.repeat(np.cumsum(length) - length, length)
    col_y = order[np.repeat(ri[first], length), np.repeat(start, length) + within]
    return pe, col_y, length


def _assemble(
    m: int,
    z_cost: np.ndarray,
    const: float,
    parts: tuple[np.ndarray, np.ndarray, np.ndarray],
    n_levels: int,
) -> SetModel:
    """The model from each set's predecessor set (-1 none), added candidates and count."""
    pred_all, col_y, length = parts
    n_sets = z_cost.size
    has_prev = pred_all >= 0
    pred = pred_all[has_prev]
    row_y = np.repeat(np.arange(n_sets), length)
    # one constraint per set, from its first occurrence: z_S - z_S' + sum_{S \ S'} y >= [no S']
    rows = np.concatenate([row_y, np.arange(n_sets), np.flatnonzero(has_prev)])
    cols = np.concatenate([col_y, m + np.arange(n_sets), m + pred])
    vals = np.concatenate([np.ones(row_y.size), np.ones(n_sets), -np.ones(pred.size)])
    lb = np.where(has_prev, 0.0, 1.0)
    return SetModel(m, z_cost, const, rows, cols, vals, lb, n_levels)


def set_model(
    E: np.ndarray, cap: np.ndarray, w: np.ndarray, p: int, *, aggregate: bool = True
) -> SetModel:
    """Build the set-aggregated radius formulation of a p-median (see :class:`PMedian`).

    Parameters
    ----------
    E
        Rows × candidates minutes (only choosable candidates; ``inf`` = unreachable).
    cap
        Finite minutes of each row when no chosen site is nearer (the baseline).
    w
        Row weights.
    p
        Number of sites (levels holding ``m - p + 1`` or more candidates are left out).
    aggregate
        ``False``: every (row, level) keeps its own ``z`` (the classical form, for tests).

    Returns
    -------
    SetModel
        Solve it with :func:`solve_set_model`.

    Notes
    -----
    More than :data:`SET_MODEL_BLOCK` rows are taken block by block (the same
    sets, in the same order, with the same constraints), so the temporaries stay
    bounded whatever the number of rows.
    """
    m = E.shape[1]
    if aggregate and E.shape[0] > SET_MODEL_BLOCK:
        n = E.shape[0]
        blocks = (
            (E[r : r + SET_MODEL_BLOCK], cap[r : r + SET_MODEL_BLOCK], w[r : r + SET_MODEL_BLOCK])
            for r in range(0, n, SET_MODEL_BLOCK)
        )
        return _blocked_set_model(blocks, m, p)
    order, const, ri, pos, coef, prev, n_levels = _row_levels(E, cap, w, p)
    first, inv = _set_index(order, ri, pos, m, aggregate)
    z_cost = np.bincount(inv, weights=coef, minlength=first.size)
    pe, col_y, length = _first_rows(order, ri, pos, prev, first)
    pred_all = np.where(pe >= 0, inv[np.maximum(pe, 0)], -1)
    return _assemble(m, z_cost, const, (pred_all, col_y, length), n_levels)


def _unique_first(keys: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique(keys, return_index=True, return_inverse=True)`` of ``m``-bit keys.

    Up to 16 bits by a bitmap of every key (no sort), else by ``np.unique``.
    """
    if m > 16:
        uk, first, inv = np.unique(keys, return_index=True, return_inverse=True)
        return uk, first, inv.reshape(-1)
    present = np.zeros(1 << m, dtype=bool)
    present[keys] = True
    uk = np.flatnonzero(present)
    inv = (np.cumsum(present) - 1)[keys]
    first = np.full(uk.size, keys.size)
    np.minimum.at(first, inv, np.arange(keys.size))
    return uk.astype(keys.dtype), first, inv


def _block_sets(
    E: np.ndarray, cap: np.ndarray, w: np.ndarray, p: int
) -> tuple[float, int, tuple | None]:
    """One block's constant, level count and ``(keys, z_cost, pred, added)`` of its sets.

    What :func:`_row_levels` and :func:`_set_keys` give for at most 62 candidates,
    taken one sorted position ``k`` at a time instead of over all levels: a set
    of ``k + 1`` candidates ends only at position ``k``, so each set's cost sums
    the same terms in the same (row) order; its first row gives its predecessor
    (the row's previous level) and the candidates it adds.
    """
    n, m = E.shape
    order = np.argsort(E, axis=1, kind="stable")
    S = np.take_along_axis(E, order, axis=1)
    const = float(w @ np.minimum(S[:, 0], cap)) if m else float(w @ cap)
    St = np.ascontiguousarray(S.T)  # sorted position by position: contiguous rows
    del S
    bits_t = np.left_shift(np.int64(1), order.T)
    acc = np.zeros(n, dtype=np.int64)
    last = np.full(n, -1)
    n_levels, found = 0, []
    for k in range(m):
        acc |= bits_t[k]
        end = cap > St[k]
        if k + 1 < m:
            end &= St[k + 1] != St[k]
        r = np.flatnonzero(end)
        n_levels += r.size
        if k + 1 >= m - p + 1 or r.size == 0:
            continue
        # every row's term, then the ends' (the same products, no gathers)
        nxt = np.minimum(St[k + 1], cap) if k + 1 < m else cap
        coef = (w * (nxt - St[k]))[end]
        uk, first, inv = _unique_first(acc[end], m)
        rows = r[first]
        found.append((uk, np.bincount(inv.reshape(-1), weights=coef), rows, last[rows], k))
        last[r] = k
    if not found:
        return const, n_levels, None
    keys = np.concatenate([f[0] for f in found])
    rows = np.concatenate([f[2] for f in found])
    prevpos = np.concatenate([f[3] for f in found])
    ks = np.concatenate([np.full(f[0].size, f[4]) for f in found])
    zc = np.concatenate([f[1] for f in found])
    srt = np.argsort(keys, kind="stable")
    keys, rows, prevpos, ks, zc = keys[srt], rows[srt], prevpos[srt], ks[srt], zc[srt]
    first_order = order[rows]  # a copy: the sets' slices must not hold the block's order
    prefix = np.bitwise_or.accumulate(np.left_shift(np.int64(1), first_order), axis=1)
    pkey = prefix[np.arange(rows.size), np.maximum(prevpos, 0)]
    pred = np.where(prevpos >= 0, np.searchsorted(keys, pkey), -1)
    added = [
        first_order[s, a + 1 : k + 1] for s, (a, k) in enumerate(zip(prevpos, ks, strict=True))
    ]
    return const, n_levels, (keys.reshape(-1, 1), zc, pred, added)


def _block_result(E: np.ndarray, cap: np.ndarray, w: np.ndarray, m: int, p: int) -> tuple:
    """One block's ``(constant, level count, its sets or None)`` for :func:`_merge_blocks`."""
    if m <= 62:
        return _block_sets(E, cap, w, p)
    order, c, ri, pos, coef, prev, nl = _row_levels(E, cap, w, p)
    if ri.size == 0:
        return c, nl, None
    keys = _set_keys(order, ri, pos, m)
    if keys.shape[1] == 1:  # one word: a plain sort of integers (the same order)
        _, first, inv = np.unique(keys[:, 0], return_index=True, return_inverse=True)
    else:
        _, first, inv = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inv = inv.reshape(-1)
    pe, col_y, length = _first_rows(order, ri, pos, prev, first)
    pred = np.where(pe >= 0, inv[np.maximum(pe, 0)], -1)
    zc = np.bincount(inv, weights=coef, minlength=first.size)
    return c, nl, (keys[first], zc, pred, np.split(col_y, np.cumsum(length)[:-1]))


def _blocked_set_model(blocks: Any, m: int, p: int) -> SetModel:
    """:func:`set_model` (aggregated) of many rows, from ``(E, cap, w)`` blocks of rows."""
    return _merge_blocks([_block_result(E, cap, w, m, p) for E, cap, w in blocks], m)


def _merge_blocks(results: Sequence[tuple], m: int) -> SetModel:
    """The set model from the blocks' :func:`_block_result`, in row order.

    Each block gives its distinct sets (keys), their costs, and per set its first
    level's predecessor and added candidates; the blocks are merged in row order,
    so every set keeps its first occurrence, as in one pass (and the constant is
    summed block by block in that order, whichever thread computed each block).
    """
    const, n_levels = 0.0, 0
    merged = []
    for c, nl, sets in results:
        const, n_levels = const + c, n_levels + nl
        if sets is not None:
            merged.append(sets)
    if not merged:
        return _assemble(m, np.zeros(0), const, (np.zeros(0, int),) * 3, n_levels)
    _, ginv = np.unique(np.vstack([b[0] for b in merged]), axis=0, return_inverse=True)
    ginv = ginv.reshape(-1)
    n_sets = int(ginv.max()) + 1
    z_cost = np.zeros(n_sets)
    pred_all = np.full(n_sets, -1)
    segs: list[np.ndarray | None] = [None] * n_sets
    at = 0
    for _keys, zc, pred, cols in merged:
        g = ginv[at : at + zc.size]
        at += zc.size
        z_cost += np.bincount(g, weights=zc, minlength=n_sets)
        for local in range(zc.size):
            if segs[g[local]] is None:  # first occurrence: earliest block wins
                segs[g[local]] = cols[local]
                pred_all[g[local]] = g[pred[local]] if pred[local] >= 0 else -1
    length = np.array([s.size for s in segs])
    col_y = np.concatenate(segs)
    return _assemble(m, z_cost, const, (pred_all, col_y, length), n_levels)


def _cover_groups(
    reach_all: np.ndarray, need: np.ndarray, cw: np.ndarray, m: int
) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """Distinct reach rows of the rows in ``need`` that reach a site, their weights, the
    weight of those that reach none, and ``need`` narrowed to those that do.

    ``reach_all`` is rows x ``m`` 0/1, or the rows' bitmask keys (:func:`_within_keys`),
    which give the same groups in the same order (that of :func:`_aggregate`).
    """
    if reach_all.ndim == 1:
        near = reach_all != 0
        const = float(cw[need & ~near].sum())
        need = need & near
        uniq, ginv = np.unique(reach_all[need], return_inverse=True)
        groups = _key_rows(uniq, m)
    else:
        reach = reach_all.astype(bool)
        const = float(cw[need & ~reach.any(axis=1)].sum())
        need = need & reach.any(axis=1)
        if not need.any():
            return np.zeros((0, m), np.int8), np.zeros(0), const, need
        groups, ginv = _aggregate(reach[need].astype(np.int8))
    return groups, np.bincount(ginv.reshape(-1), weights=cw[need]), const, need


def _cover_rows(
    covers: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray, float]],
    n_cols: int,
    m: int,
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
        groups, gw, const, need = _cover_groups(reach_all, need, cw, m)
        if not need.any():
            continue
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


def solve_set_model(
    model: SetModel,
    p: int,
    *,
    covers: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray, float]] = (),
    time_limit_s: float | None,
    accept_suboptimal: bool,
    log: SolveLog,
    what: str,
) -> tuple[np.ndarray, float]:
    """Solve a set model (plus covering constraints) with HiGHS.

    Parameters
    ----------
    model
        The model from :func:`set_model`.
    p
        Number of sites.
    covers
        Covering constraints ``(within, base_covered, weight, max_outside)`` over
        the model's candidate columns: the weight of the rows neither covered
        already nor within reach of an open site is at most ``max_outside``.
    time_limit_s
        Wall-clock limit, seconds, counted from ``log.time_s``; ``None``: none.
    accept_suboptimal
        Return the incumbent instead of raising when the limit is hit.
    log
        Collects time, gap and status.
    what
        Name of the solve in messages and errors.

    Returns
    -------
    tuple
        The chosen candidate columns (sorted) and the model's objective.
    """
    from scipy import sparse

    m, n_z = model.n_y, model.n_z
    R, Cc, V, lo, hi, n_u = _cover_rows(covers, m + n_z, m)
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
    every = rows.size == C.shape[0]  # every row populated: a view, no gather
    E = (C if every else C[rows])[:, cols] if cols.size < C.shape[1] else (C if every else C[rows])
    bp = b[rows]
    far = np.where(np.isfinite(E), E, -np.inf).max(axis=1)
    cap = np.where(np.isfinite(bp), bp, far)
    ok = np.isfinite(cap)
    if ok.all():
        return np.minimum(E, cap[:, None]), cap, w[rows], rows
    return np.minimum(E[ok], cap[ok, None]), cap[ok], w[rows[ok]], rows[ok]


def _set_model_for(
    C: np.ndarray, b: np.ndarray, w: np.ndarray, usable: np.ndarray, p: int
) -> SetModel:
    """The set-aggregated p-median model of a cost matrix (usable columns, populated rows).

    Built once per read-only ``C, b, w`` and ``usable, p`` (see :func:`_memo`).
    """

    def build() -> SetModel:
        if C.shape[0] <= SET_MODEL_BLOCK:
            E, cap, wr, _ = _pmedian_rows(C, b, w, usable)
            return set_model(E, cap, wr, 1)
        # many rows: the rows are cut out block by block (never all at once), the
        # blocks over threads, merged in row order
        m = int(usable.sum())

        def one(s: int, e: int) -> tuple:
            E, cap, wr, _ = _pmedian_rows(C[s:e], b[s:e], w[s:e], usable)
            return _block_result(E, cap, wr, m, 1)

        return _merge_blocks(for_blocks(one, C.shape[0], SET_MODEL_BLOCK), m)

    # one pass over the rows for every p: the model of p is that of p = 1 truncated
    full = _memo("set_model", (C, b, w), (usable.tobytes(),), build)
    if p == 1:
        return full
    return _memo("set_model_p", (C, b, w), (usable.tobytes(), int(p)), lambda: _truncated(full, p))


def _set_sizes(model: SetModel) -> np.ndarray:
    """Number of candidates in each set of ``model`` (its predecessor's plus those it adds)."""
    m, n_z = model.n_y, model.n_z
    is_y = model.cols < m
    added = np.bincount(model.rows[is_y], minlength=n_z)
    pred = np.full(n_z, -1)
    back = model.vals < 0
    pred[model.rows[back]] = model.cols[back] - m
    sizes = added.copy()
    # a set's predecessor is a strict subset, so its bitmask key (and index) is smaller
    for s in np.flatnonzero(pred >= 0):
        sizes[s] += sizes[pred[s]]
    return sizes


def _truncated(model: SetModel, p: int) -> SetModel:
    """The set model of ``p`` sites from that of fewer: sets of ``m - p + 1`` or more dropped.

    The same model (sets in the same order, the same costs and constraints) as
    :func:`set_model` builds for ``p``: truncation only removes whole sets, and
    every set kept keeps its predecessor (a smaller set).

    Parameters
    ----------
    model
        A set model built for some ``p0 <= p``.
    p
        Number of sites.

    Returns
    -------
    SetModel
    """
    keep = _set_sizes(model) < model.n_y - p + 1
    if keep.all():
        return model
    m = model.n_y
    new = np.cumsum(keep) - 1
    nz = keep[model.rows]
    rows, cols = model.rows[nz], model.cols[nz]
    cols = np.where(cols >= m, m + new[np.maximum(cols - m, 0)], cols)
    return SetModel(
        m, model.z_cost[keep], model.const, new[rows], cols, model.vals[nz], model.lb[keep],
        model.n_levels,
    )  # fmt: skip


#: The p-median MIP is solved directly on the set-aggregated radius model
#: (:func:`set_model`) when it has at most this many ``z`` variables (distinct
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


def _direct(model: SetModel) -> bool:
    """Solve this p-median on the set model (True) or by Benders (False)?"""
    return model.n_z <= SET_MODEL_LIMIT or model.n_levels >= SET_MODEL_MIN_MERGE * model.n_z


def _coverage_groups(
    within: np.ndarray, base_within: np.ndarray, w: np.ndarray, usable: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray, float]:
    """Distinct coverage rows of the rows still to cover, their weights, and the weight
    no usable candidate reaches; ``None`` rows when nothing is left to cover.

    Kept by a hash of the contents (:func:`_memo`): the many covering models of one
    county (thresholds x p, objectives, tie-breaks) share it.
    """

    def build() -> tuple[np.ndarray | None, np.ndarray, float]:
        reach = within[:, usable].any(axis=1)
        keep = (~base_within) & (w > 0) & reach
        outside_const = float(w[(~base_within) & ~reach].sum())
        if not keep.any():
            return None, np.zeros(0), outside_const
        uniq, inv = _aggregate(within[keep].astype(np.int8))
        return uniq, np.bincount(inv, weights=w[keep]), outside_const

    if _frozen_owner(w) is None:
        return build()
    return _memo("coverage_groups", (w,), (_digest(within, base_within, usable),), build)


def _key_dtype(m: int) -> Any:
    """The unsigned integer holding :func:`_within_keys` of ``m`` columns (bytes of 8 bits)."""
    bits = -(-m // 8) * 8
    return next(
        d for d in (np.uint8, np.uint16, np.uint32, np.uint64) if np.dtype(d).itemsize * 8 >= bits
    )


def _key_bits(m: int) -> np.ndarray:
    """Bit of each column in a row's key: the order of :func:`np.packbits` read as uint64."""
    j = np.arange(m)
    return (8 * (j // 8) + 7 - j % 8).astype(np.uint64)


def _within_keys(C: np.ndarray, T: float, *, wide: bool = False, reach: bool = False) -> np.ndarray:
    """Per row of ``C`` (at most 64 columns), the columns within ``T`` as one bitmask.

    Bit :func:`_key_bits` ``[j]`` is ``C[i, j] <= T`` (with ``reach``: ``C[i, j]``
    is finite, whatever ``T``): the key ``np.packbits``
    gives the row, so keys sort as :func:`_aggregate` sorts rows. ``wide``
    compares in float64 (as minutes after a plan are), else in ``C``'s dtype
    (as ``C <= T``); the two differ only for a float32 ``C`` and a ``T`` that
    float32 does not hold. Rows are taken :data:`SET_MODEL_BLOCK` at a time
    (no rows x candidates mask); kept while the read-only ``C`` lives.
    """
    m = C.shape[1]
    wide = wide and C.dtype != np.float64 and float(np.asarray(T, C.dtype)) != T

    def build() -> np.ndarray:
        dtype = _key_dtype(m)
        bits = _key_bits(m).astype(dtype)
        keys = np.zeros(C.shape[0], dtype=dtype)
        for r in range(0, C.shape[0], SET_MODEL_BLOCK):
            out = keys[r : r + SET_MODEL_BLOCK]
            for j in range(m):
                col = C[r : r + SET_MODEL_BLOCK, j]
                wide_col = col.astype(np.float64) if wide else col
                hit = np.isfinite(col) if reach else wide_col <= T
                out |= hit.astype(dtype) << bits[j]
        return keys

    return _memo("within_keys", (C,), (float(T), wide, reach), build, limit=8)


def _selection_mask(m: int, selected: Sequence[int]) -> Any:
    """The key bits of ``selected`` columns (see :func:`_within_keys`)."""
    bits = _key_bits(m)
    mask = 0
    for j in selected:
        mask |= 1 << int(bits[int(j)])
    return _key_dtype(m)(mask)


def _key_rows(keys: np.ndarray, m: int) -> np.ndarray:
    """The 0/1 ``int8`` rows (``m`` columns) of bitmask ``keys``."""
    bits = _key_bits(m).astype(keys.dtype)
    return ((keys[:, None] >> bits[None, :]) & keys.dtype.type(1)).astype(np.int8)


def _threshold_groups(
    C: np.ndarray, b: np.ndarray, w: np.ndarray, usable: np.ndarray, T: float, reach: bool
) -> tuple[np.ndarray | None, np.ndarray, float]:
    """:func:`_coverage_groups` of ``C <= T`` and ``b <= T``, from the rows' bitmask keys.

    With ``reach``, of ``isfinite(C)`` and ``isfinite(b)`` instead.

    The same groups, in the same order, with the same weights (summed row by
    row in one ``np.bincount``) as from the rows x candidates mask, which is
    never built; kept while the read-only arrays live.
    """
    m = C.shape[1]

    def build() -> tuple[np.ndarray | None, np.ndarray, float]:
        keys = _within_keys(C, T, reach=reach)
        base_within = np.isfinite(b) if reach else b <= T
        near = (keys & _selection_mask(m, np.flatnonzero(usable))) != 0
        keep = (~base_within) & (w > 0) & near
        outside_const = float(w[(~base_within) & ~near].sum())
        if not keep.any():
            return None, np.zeros(0), outside_const
        kept = keys[keep].astype(np.uint64)
        if int(kept.max()) < 1 << 25:
            present = np.zeros(int(kept.max()) + 1, dtype=bool)
            present[kept] = True
            inverse = (np.cumsum(present) - 1)[kept]
            uniq = np.flatnonzero(present).astype(np.uint64)
        else:
            uniq, inverse = np.unique(kept, return_inverse=True)
        groups = _key_rows(uniq.astype(keys.dtype), m)
        return groups, np.bincount(inverse.reshape(-1), weights=w[keep]), outside_const

    return _memo("threshold_groups", (C, b, w), (float(T), reach, usable.tobytes()), build)


def _population_within(
    C: np.ndarray, b: np.ndarray, w: np.ndarray, selected: Sequence[int], T: float
) -> float:
    """Population within ``T`` of existing ∪ ``selected``: ``w[t <= T].sum()``, ``t`` the
    minutes after the plan, from the rows' keys (:func:`_within_keys`, float64 compare)."""
    if C.shape[1] > 64:
        t, _ = _after_memo(C, b, selected)
        return float(w[t <= T].sum())
    keys = _within_keys(C, T, wide=True)
    mask = (b <= T) | ((keys & _selection_mask(C.shape[1], selected)) != 0)
    return float(w[mask].sum())


def _mclp_select(
    within: np.ndarray,
    base_within: np.ndarray,
    w: np.ndarray,
    usable: np.ndarray,
    p: int,
    *,
    time_limit_s: float | None,
    accept_suboptimal: bool,
    log: SolveLog,
    what: str,
) -> tuple[np.ndarray, float]:
    """Maximal covering: sites and the least population left outside.

    ``within[i, j]``: candidate j serves i; ``base_within[i]``: i is already covered.
    Identical coverage rows are aggregated before solving.
    """
    groups = _coverage_groups(within, base_within, w, usable)
    return _mclp_groups(
        groups, usable, p, time_limit_s=time_limit_s, accept_suboptimal=accept_suboptimal,
        log=log, what=what,
    )  # fmt: skip


def _mclp_at(
    C: np.ndarray,
    b: np.ndarray,
    w: np.ndarray,
    usable: np.ndarray,
    T: float,
    p: int,
    reach: bool = False,
    **kw: Any,
) -> tuple[np.ndarray, float]:
    """:func:`_mclp_select` of ``C <= T`` and ``b <= T`` (``reach``: of finite times).

    Up to 64 candidates the coverage groups come from the rows' bitmask keys
    (:func:`_threshold_groups`), else from the rows x candidates mask.
    """
    if C.shape[1] <= 64:
        return _mclp_groups(_threshold_groups(C, b, w, usable, T, reach), usable, p, **kw)
    if reach:
        return _mclp_select(np.isfinite(C), np.isfinite(b), w, usable, p, **kw)
    return _mclp_select(C <= T, b <= T, w, usable, p, **kw)


def _mclp_groups(
    groups: tuple[np.ndarray | None, np.ndarray, float],
    usable: np.ndarray,
    p: int,
    *,
    time_limit_s: float | None,
    accept_suboptimal: bool,
    log: SolveLog,
    what: str,
) -> tuple[np.ndarray, float]:
    """Maximal covering over coverage groups ``(rows, weights, weight out of reach)``."""
    uniq, wa, outside_const = groups
    if uniq is None:
        return np.flatnonzero(usable)[:p], outside_const
    cols = np.flatnonzero(usable)
    # a p-median on 0/1 costs (0 = covered) capped at 1: one z per covering set
    model = set_model(np.where(uniq[:, cols].astype(bool), 0.0, 1.0), np.ones(uniq.shape[0]), wa, p)
    sel, _ = solve_set_model(
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


# ---------------------------------------------------------------------------------------
# the model base class
# ---------------------------------------------------------------------------------------


def _checked_threshold(cls: type[_Model], threshold_min: float | None) -> float | None:
    """``threshold_min`` as a float >= 0; required when ``cls.needs_threshold``."""
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
    return threshold_min


def _checked_capacity(cls: type[_Model], capacity: Any, m: int) -> np.ndarray | None:
    """One capacity >= 0 per candidate, or ``None``; only where ``cls.allows_capacity``."""
    if capacity is None:
        return None
    if not cls.allows_capacity:
        raise InvalidValueError(f"{cls.__name__} does not take capacity; use PMedian or MCLP")
    cap = np.broadcast_to(np.asarray(capacity, dtype="float64"), (m,)).copy()
    if np.isnan(cap).any() or (cap < 0).any():
        raise InvalidValueError("capacity must be >= 0 population per site (np.inf for no limit)")
    return cap


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
        required: Sequence[int] = (),
    ) -> None:
        self.inputs = inputs
        self.p = p
        self.threshold_min = threshold_min
        self.capacity = capacity
        self.required = checked_required(required, p, inputs.cost.shape[1])
        self._sets: SetModel | None = None

    def aggregated_model(self) -> SetModel:
        """The set-aggregated p-median model of these inputs (built once, then cached).

        Returns
        -------
        SetModel
            Its ``n_z`` (distinct candidate sets) and ``n_levels`` decide how
            ``method='auto'`` solves (:data:`SET_MODEL_LIMIT`).
        """
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
        required: Sequence[int] | None = None,
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
        required
            Candidate column indices that must be in the set (counted in ``p``).
            A required site that reaches nobody is still forced (the result's
            ``required_unreaching`` names it).

        Returns
        -------
        The model, ready for ``.solve()``.

        Raises
        ------
        InvalidValueError
            For malformed arrays, p < 1, a missing or negative threshold or
            capacity, a required index out of range or repeated, or
            ``p < len(required)``.
        InfeasibleError
            When p exceeds the candidates that reach any populated demand.
        EmptyInputError
            When the matrix is empty or the population is all zero.
        """
        p = _check_p(p)
        inputs = _validate(cost, weights, baseline_min, candidate_ids)
        req = checked_required(required, p, inputs.cost.shape[1])
        _check_p_feasible(p, inputs, req)
        threshold_min = _checked_threshold(cls, threshold_min)
        cap = _checked_capacity(cls, capacity, inputs.cost.shape[1])
        return cls(inputs, p=p, threshold_min=threshold_min, capacity=cap, required=req)

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
        required: Sequence[int] | None = None,
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
        required
            Row positions in ``candidate_gdf`` (candidate columns) that must be
            in the set, counted in ``p``.

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
            required=required,
        )

    # -- shared solve helpers --------------------------------------------------------

    def _result(
        self,
        selected: Sequence[int],
        objective: float,
        log: SolveLog,
        assignment: np.ndarray | None = None,
        method: str = "mip",
    ) -> SitingResult:
        """The :class:`SitingResult` of ``selected`` with its coverage figures."""
        inp = self.inputs
        sel = tuple(sorted(int(j) for j in selected))
        t, assign = _after_memo(inp.cost, inp.baseline, sel)
        assign = assign.astype(int) if assignment is None else assignment
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
            required=self.required,
            required_unreaching=tuple(j for j in self.required if not inp.usable[j]),
        )

    def _objective_of(self, selected: Sequence[int]) -> float:
        """The model's objective for ``selected`` (each model defines it)."""
        raise NotImplementedError

    def _with_required(self, solve: Any) -> SitingResult | None:
        """The optimum over sets containing :attr:`required` (``None`` when none are).

        The required sites are folded into the baseline (:func:`_folded`) and
        ``solve(model)`` chooses the other ``p - len(required)`` among the rest,
        by the same method; exact for every objective. Capacitated models fix
        the required ``y_j`` to 1 in their MIP instead (not here).
        """
        if not self.required or self.capacity is not None:
            return None
        left = self.p - len(self.required)
        unreaching = [j for j in self.required if not self.inputs.usable[j]]
        if unreaching:
            logger.warning(
                "required site(s) %s reach no populated demand point; forced all the same",
                ", ".join(str(self.inputs.candidate_ids[j]) for j in unreaching),
            )
        if left == 0:
            return self._result(self.required, self._objective_of(self.required), SolveLog(),
                                method="required")  # fmt: skip
        rest = type(self)(
            _folded(self.inputs, self.required),
            p=left,
            threshold_min=self.threshold_min,
            capacity=None,
        )
        res = solve(rest)
        full = tuple(sorted({*self.required, *res.selected}))
        log = SolveLog(time_s=res.solve_time_s, gap=res.gap, status=res.status)
        return self._result(full, self._objective_of(full), log, method=res.method)

    def _minutes_after(self, selected: Sequence[int]) -> np.ndarray:
        """Minutes of every demand row to existing ∪ ``selected`` facilities."""
        t, _ = _after_memo(self.inputs.cost, self.inputs.baseline, selected)
        return t

    def _max_reach(
        self, *, time_limit_s: float | None, accept_suboptimal: bool, log: SolveLog
    ) -> tuple[np.ndarray, float]:
        """Sites and the least population left unreachable (MCLP with T = ∞)."""
        return _mclp_at(
            self.inputs.cost,
            self.inputs.baseline,
            self.inputs.weights,
            self.inputs.usable,
            np.inf,
            self.p,
            reach=True,
            time_limit_s=time_limit_s,
            accept_suboptimal=accept_suboptimal,
            log=log,
            what=f"{self.name} reachability (p={self.p})",
        )

    def _needs_reach_phase(self) -> bool:
        """Do some populated rows without an existing facility reach only some candidates?"""
        inp = self.inputs
        C, b, w, usable = inp.cost, inp.baseline, inp.weights, inp.usable

        def build() -> bool:
            if C.shape[1] <= 64:  # from the reach keys, no rows x candidates mask
                cols = _selection_mask(C.shape[1], np.flatnonzero(usable))
                fin = _within_keys(C, np.inf, reach=True) & cols
                return bool(((~np.isfinite(b)) & (w > 0) & (fin != 0) & (fin != cols)).any())
            fin = np.isfinite(C[:, usable])
            partial = (~np.isfinite(b)) & (w > 0) & fin.any(axis=1) & ~fin.all(axis=1)
            return bool(partial.any())

        return _memo("needs_reach", (C, b, w), (usable.tobytes(),), build)


__all__ = [
    "SET_MODEL_LIMIT",
    "SET_MODEL_MIN_MERGE",
    "SetModel",
    "SitingResult",
    "SolveLog",
    "checked_required",
    "evaluate_selection",
    "set_model",
    "solve_set_model",
]
