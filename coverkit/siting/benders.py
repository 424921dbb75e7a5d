"""The exact p-median MIP: the set-aggregated model when small, else Benders decomposition.

:func:`_pmedian_mip` picks the formulation (:func:`~coverkit.siting.base._direct`);
:func:`_benders_pmedian` runs the Benders loop of Duran-Mateluna, Ales & Elloumi
(2023) with ``highspy``: build the master, separate the most violated cut per
row in closed form, first on the LP relaxation, then on the MIP with the best
open set handed to HiGHS as an incumbent, until no cut is violated.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from coverkit import settings
from coverkit.errors import SolverError
from coverkit.siting.base import (
    SetModel,
    SolveLog,
    _aggregate,
    _direct,
    _key_rows,
    _set_model_for,
    _within_keys,
    solve_set_model,
)

logger = logging.getLogger(__name__)

#: A covering constraint: ``(within, base_covered, weight, max_outside)``.
Cover = tuple[np.ndarray, np.ndarray, np.ndarray, float]


def _pmedian_select(
    C: np.ndarray,
    b: np.ndarray,
    w: np.ndarray,
    usable: np.ndarray,
    p: int,
    *,
    caps: Sequence[tuple[float, float]] = (),
    cap_weights: np.ndarray | None = None,
    model: SetModel | None = None,
    time_limit_s: float | None,
    accept_suboptimal: bool,
    log: SolveLog,
    what: str,
) -> np.ndarray:
    """p-median selection under (threshold T, max weight beyond T) constraints.

    ``T`` may be ∞ (then: max weight unreachable). The weight of a row in the
    constraints is ``cap_weights`` (default: ``w``).
    """
    cw = w if cap_weights is None else np.asarray(cap_weights, dtype=float)
    covers = []
    keyed = C.shape[1] <= 64 and bool(usable.all())  # rows' bitmask keys, no rows x m mask
    for T, bound in caps:
        if keyed:
            within = _within_keys(C, T, reach=bool(np.isinf(T)))
        else:
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


def _pmedian_mip(
    C: np.ndarray,
    b: np.ndarray,
    w: np.ndarray,
    usable: np.ndarray,
    p: int,
    *,
    covers: Sequence[Cover] = (),
    model: SetModel | None = None,
    time_limit_s: float | None,
    accept_suboptimal: bool,
    log: SolveLog,
    what: str,
) -> np.ndarray:
    """Exact p-median with HiGHS: set-aggregated model when small, else Benders."""
    if model is None:
        model = _set_model_for(C, b, w, usable, p)
    if not _direct(model):
        log.messages.append(f"{what}: Benders ({model.n_z} distinct sets)")
        covers = [(_key_rows(x, C.shape[1]).astype(bool) if x.ndim == 1 else x, *rest)
                  for x, *rest in covers]  # fmt: skip
        return _benders_pmedian(
            C, b, w, usable, p, covers=covers, time_limit_s=time_limit_s,
            accept_suboptimal=accept_suboptimal, log=log, what=what,
        )  # fmt: skip
    log.messages.append(f"{what}: set model ({model.n_levels} levels -> {model.n_z} distinct sets)")
    cols = np.flatnonzero(usable)
    cov = [
        (within if within.ndim == 1 else within[:, cols], base, cw, bound)
        for within, base, cw, bound in covers
    ]
    sel, _ = solve_set_model(
        model, p, covers=cov, time_limit_s=time_limit_s,
        accept_suboptimal=accept_suboptimal, log=log, what=what,
    )  # fmt: skip
    return cols[sel]


# ---------------------------------------------------------------------------------------
# Benders decomposition
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _BendersRows:
    """The demand rows of the Benders master: merged, capped and sorted for the cut search.

    Attributes
    ----------
    cols
        The usable candidate columns (master column ``j`` is candidate ``cols[j]``).
    E
        Rows × usable candidates, minutes capped at ``ba``.
    ba
        Cap of each row (its baseline, or its farthest usable site).
    wa
        Weight of each row (merged identical rows summed).
    order, S
        Per row, the candidates sorted by minutes, and those minutes.
    first
        Per sorted position, the first position of its tie group.
    below
        ``S < ba``: the levels below the cap.
    """

    cols: np.ndarray
    E: np.ndarray
    ba: np.ndarray
    wa: np.ndarray
    order: np.ndarray
    S: np.ndarray
    first: np.ndarray
    below: np.ndarray

    @property
    def n(self) -> int:
        """Number of rows (``theta`` variables)."""
        return int(self.E.shape[0])

    @property
    def m(self) -> int:
        """Number of usable candidates (``y`` variables)."""
        return int(self.E.shape[1])


def _benders_rows(C: np.ndarray, b: np.ndarray, w: np.ndarray, usable: np.ndarray) -> _BendersRows:
    """Populated rows that some candidate improves, capped, merged and sorted."""
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
    m = E.shape[1]
    order = np.argsort(E, axis=1, kind="stable")
    S = np.take_along_axis(E, order, axis=1)
    newl = np.ones_like(S, dtype=bool)
    newl[:, 1:] = S[:, 1:] != S[:, :-1]
    first = np.maximum.accumulate(np.where(newl, np.arange(m)[None, :], 0), axis=1)
    below = ba[:, None] > S
    return _BendersRows(cols, E, ba, wa, order, S, first, below)


def _row_blocks(
    counts: np.ndarray, head: np.ndarray, tail: np.ndarray, tail_val: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row-wise sparse layout: per row one ``head`` column (value 1), then ``counts`` others.

    Returns the row starts, column indices and values in the form of
    ``Highs.addRows``; ``tail`` and ``tail_val`` hold the other columns and
    their values, row after row.
    """
    st = np.concatenate([[0], np.cumsum(counts + 1)])
    idx = np.empty(st[-1], dtype=np.int32)
    val = np.empty(st[-1])
    idx[st[:-1]] = head
    val[st[:-1]] = 1.0
    slot = np.ones(st[-1], dtype=bool)
    slot[st[:-1]] = False
    idx[slot] = tail
    val[slot] = tail_val
    return st, idx, val


def _add_master_cover(
    h: Any, reach: np.ndarray, base_cov: np.ndarray, cw: np.ndarray, max_outside: float
) -> None:
    """Add one covering constraint to the master: ``u_g <= sum_{j in g} y_j``, weight bound.

    ``reach``: rows × usable candidates, True where the candidate serves the row.
    """
    import highspy

    inf = highspy.kHighsInf
    need = (~base_cov) & (cw > 0)
    const = float(cw[need & ~reach.any(axis=1)].sum())
    need &= reach.any(axis=1)
    if not need.any():
        return
    groups, ginv = _aggregate(reach[need].astype(np.int8))
    gw = np.bincount(ginv, weights=cw[need])
    G = groups.shape[0]
    first_u = h.getNumCol()
    h.addVars(G, np.zeros(G), np.ones(G))
    _, gj = np.nonzero(groups)
    st, idx, val = _row_blocks(groups.sum(axis=1), first_u + np.arange(G), gj, -1.0)
    h.addRows(G, np.full(G, -inf), np.zeros(G), st[-1], st[:-1].astype(np.int32), idx, val)
    # slack 1e-6 of the total: HiGHS 1.17 presolve can misjudge bounds within ~1e-7
    lower = float(gw.sum()) - (max_outside - const) - 1e-6 * max(1.0, float(cw.sum()))
    h.addRow(lower, inf, G, (first_u + np.arange(G)).astype(np.int32), gw)


@contextlib.contextmanager
def _stdout_silenced() -> Any:
    """Send file descriptor 1 to the null device for the block (C-level prints included)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def new_highs() -> Any:
    """A silent :class:`highspy.Highs` instance.

    HiGHS prints its banner ("Running HiGHS …") to standard output from C++ when
    the first instance of a process is made, before any option can be set; that
    would break the CLI's clean output, so the instance is made with file
    descriptor 1 pointed at the null device for that moment.

    Returns
    -------
    highspy.Highs
        With ``output_flag`` off.
    """
    import highspy

    with _stdout_silenced():
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    return h


def _build_master(rows: _BendersRows, p: int, covers: Sequence[Cover]) -> Any:
    """The Benders master: ``y`` (m sites), ``theta`` (n rows), ``sum y = p``, the covers."""
    import highspy

    m, n = rows.m, rows.n
    h = new_highs()
    h.setOptionValue("mip_rel_gap", settings.mip_rel_gap)
    inf = highspy.kHighsInf
    h.addVars(m + n, np.zeros(m + n), np.concatenate([np.ones(m), np.full(n, inf)]))
    h.changeColsCost(n, np.arange(m, m + n, dtype=np.int32), rows.wa.astype(float))
    h.addRow(float(p), float(p), m, np.arange(m, dtype=np.int32), np.ones(m))
    for within, base_cov, cw, max_outside in covers:
        _add_master_cover(h, within[:, rows.cols].astype(bool), base_cov, cw, max_outside)
    return h


def _best_cuts(rows: _BendersRows, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the level ``D`` of the most violated cut at ``y`` and the cut's value.

    The cut ``theta_i >= D (1 - sum_{e_ij < D} y_j) + sum_{e_ij < D} e_ij y_j``
    is evaluated at every level of the row (and at the cap) in closed form.
    """
    S, ba, below = rows.S, rows.ba, rows.below
    Y = y[rows.order]
    Py = np.take_along_axis(np.cumsum(Y, axis=1) - Y, rows.first, axis=1)
    Pyc = np.take_along_axis(np.cumsum(Y * S, axis=1) - Y * S, rows.first, axis=1)
    rhs = np.column_stack(
        [S * (1 - Py) + Pyc, ba * (1 - (Y * below).sum(1)) + (Y * S * below).sum(1)]
    )
    k = np.argmax(rhs, axis=1)
    n = rows.n
    return np.column_stack([S, ba])[np.arange(n), k], rhs[np.arange(n), k]


def _add_cuts(h: Any, rows: _BendersRows, y: np.ndarray, theta: np.ndarray) -> int:
    """Add the cuts that ``(y, theta)`` violates to the master; return how many."""
    import highspy

    D, r = _best_cuts(rows, y)
    viol = np.flatnonzero(r - theta > 1e-9 * np.maximum(1.0, np.abs(r)))
    if viol.size == 0:
        return 0
    E = rows.E
    mask = E[viol] < D[viol][:, None]
    ri, cj = np.nonzero(mask)
    st, idx, val = _row_blocks(mask.sum(axis=1), rows.m + viol, cj, D[viol][ri] - E[viol][ri, cj])
    h.addRows(
        viol.size, D[viol], np.full(viol.size, highspy.kHighsInf), st[-1],
        st[:-1].astype(np.int32), idx, val,
    )  # fmt: skip
    return int(viol.size)


def _true_cost(rows: _BendersRows, y: np.ndarray) -> float:
    """Weighted minutes of the rows with the sites ``y > 0.5`` open."""
    sel = np.flatnonzero(y > 0.5)
    return float(rows.wa @ np.minimum(rows.ba, rows.E[:, sel].min(axis=1)))


def _top_p(y: np.ndarray, p: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``p`` largest entries of ``y`` (ties: lowest index) and their 0/1 vector."""
    top = np.argsort(-y, kind="stable")[:p]
    yy = np.zeros(y.size)
    yy[top] = 1.0
    return top, yy


@dataclass
class _BendersRun:
    """One Benders solve: its rows, master, log and the best open set seen."""

    rows: _BendersRows
    h: Any
    p: int
    log: SolveLog
    t_start: float
    best_cost: float = np.inf
    best_y: np.ndarray | None = None

    def finish(self, y: np.ndarray, bound: float, status: str) -> np.ndarray:
        """Round ``y`` to ``p`` sites, record gap, status and time; the chosen columns."""
        top, yy = _top_p(y, self.p)
        obj = _true_cost(self.rows, yy)
        log = self.log
        log.gap = max(log.gap, (obj - bound) / obj if obj > 0 else 0.0)
        log.status = status
        log.time_s += time.perf_counter() - self.t_start
        return np.sort(self.rows.cols[top])

    def offer_incumbent(self, y: np.ndarray) -> None:
        """Hand HiGHS the best open set seen so far (``y`` included) as an incumbent.

        Its true per-row costs satisfy every cut (each cut is a valid lower bound).
        """
        _, cand = _top_p(y, self.p)
        cost_now = _true_cost(self.rows, cand)
        if cost_now < self.best_cost:
            self.best_cost, self.best_y = cost_now, cand
        yy = self.best_y
        rows_cost = np.minimum(self.rows.ba, self.rows.E[:, np.flatnonzero(yy > 0.5)].min(axis=1))
        self.h.setSolution(_incumbent(self.h, np.concatenate([yy, rows_cost])))

    def run_master(self, *, time_limit_s: float | None, retry: bool) -> tuple[Any, np.ndarray]:
        """Solve the master within what is left of the time limit; status and solution.

        With ``retry`` (covering constraints present) an "infeasible" master is
        solved again without presolve: the master is always feasible (the
        covering optimum satisfies it), so that is a presolve misjudgement.
        """
        import highspy

        h = self.h
        if time_limit_s is not None:
            left = float(time_limit_s) - self.log.time_s - (time.perf_counter() - self.t_start)
            h.setOptionValue("time_limit", max(left, 1e-3))
        h.run()
        status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kInfeasible and retry:
            h.setOptionValue("presolve", "off")
            h.run()
            status = h.getModelStatus()
        return status, np.asarray(h.getSolution().col_value)


def _incumbent(h: Any, x: np.ndarray) -> Any:
    """A HiGHS solution object holding ``x`` (padded with the model's other columns at 0)."""
    import highspy

    sol = highspy.HighsSolution()
    full = np.zeros(h.getNumCol())
    full[: x.size] = x
    sol.col_value = full.tolist()
    sol.value_valid = True
    return sol


def _make_integer(h: Any, m: int) -> None:
    """Turn the master's ``y`` (its first ``m`` columns) into integer variables."""
    import highspy

    h.changeColsIntegrality(
        m,
        np.arange(m, dtype=np.int32),
        np.array([highspy.HighsVarType.kInteger] * m),
    )


def _stopped(
    run: _BendersRun,
    status: Any,
    y: np.ndarray,
    bound: float,
    *,
    time_limit_s: float | None,
    accept_suboptimal: bool,
    what: str,
) -> np.ndarray:
    """The master stopped before an optimum: accept ``y`` at the time limit, or raise."""
    import highspy

    if status == highspy.HighsModelStatus.kTimeLimit:
        if accept_suboptimal:
            logger.warning("%s stopped at the time limit: incumbent accepted", what)
            return run.finish(y, bound, "time_limit")
        raise SolverError(
            f"{what} was not solved to proven optimality within time_limit_s="
            f"{time_limit_s}; raise time_limit_s or pass accept_suboptimal=True"
        )
    raise SolverError(f"{what} failed in HiGHS: {run.h.modelStatusToString(status)}")


def _benders_pmedian(
    C: np.ndarray,
    b: np.ndarray,
    w: np.ndarray,
    usable: np.ndarray,
    p: int,
    *,
    covers: Sequence[Cover] = (),
    time_limit_s: float | None,
    accept_suboptimal: bool,
    log: SolveLog,
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
    rows = _benders_rows(C, b, w, usable)
    m, n = rows.m, rows.n
    run = _BendersRun(rows, _build_master(rows, p, covers), p, log, t_start)
    y = np.full(m, p / m)
    _add_cuts(run.h, rows, y, np.zeros(n))
    integer = False
    bound = 0.0
    while True:
        status, sol = run.run_master(time_limit_s=time_limit_s, retry=bool(covers))
        if status != highspy.HighsModelStatus.kOptimal:
            ok = sol.size >= m + n and integer
            return _stopped(
                run, status, sol[:m] if ok else y, bound, time_limit_s=time_limit_s,
                accept_suboptimal=accept_suboptimal, what=what,
            )  # fmt: skip
        y, theta = sol[:m], sol[m : m + n]
        bound = float(rows.wa @ theta)
        if integer:
            y = np.round(y)
        if _add_cuts(run.h, rows, y, theta) == 0:
            if integer:
                return run.finish(y, bound, "optimal")
            _make_integer(run.h, m)
            integer = True
        if integer and not covers:
            run.offer_incumbent(y)
