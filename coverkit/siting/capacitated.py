"""The capacitated assignment model of :class:`PMedian` and :class:`MCLP` (``capacity=``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from coverkit.siting.base import SolveLog, _milp


def _allowed_pairs(
    C: np.ndarray,
    b: np.ndarray,
    w: np.ndarray,
    usable: np.ndarray,
    pair_gain: np.ndarray | None,
) -> np.ndarray:
    """Rows × candidates: True where a pair gets an ``x_ij`` (populated row, helpful site)."""
    n = C.shape[0]
    pos = np.flatnonzero(w > 0)
    if pair_gain is None:
        allowed = np.isfinite(C) & (b[:, None] > C) & usable[None, :]
    else:
        allowed = (pair_gain > 0) & usable[None, :]
    allowed[np.setdiff1d(np.arange(n), pos)] = False
    return allowed


def _capacitated_matrix(
    pi: np.ndarray,
    pj: np.ndarray,
    rindex: np.ndarray,
    w: np.ndarray,
    m: int,
    nr: int,
    p: int,
    cap: np.ndarray,
) -> tuple[Any, np.ndarray, np.ndarray]:
    """Constraint matrix and row bounds: assignment, linking, capacity, cardinality rows.

    Variables: ``y`` (m), the ``x`` pairs, the slack ``x_i0`` of each used row.
    """
    from scipy import sparse

    npair = pi.size
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
    return A, lb, ub


def _capacitated(
    C: np.ndarray,
    b: np.ndarray,
    w: np.ndarray,
    usable: np.ndarray,
    p: int,
    cap: np.ndarray,
    *,
    pair_gain: np.ndarray | None,
    required: tuple[int, ...] = (),
    time_limit_s: float | None,
    accept_suboptimal: bool,
    log: SolveLog,
    what: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Capacitated assignment model (demand may be split between sites).

    Minimises ``sum w_i (sum_j c_ij x_ij + b_i x_i0)`` (``pair_gain`` None) or
    maximises ``sum w_i g_ij x_ij`` (MCLP) subject to ``sum_j x_ij + x_i0 = 1``,
    ``x_ij <= y_j``, ``sum_i w_i x_ij <= cap_j``, ``sum y = p``. Rows whose
    baseline is ∞ keep ``x_i0`` (unserved) at a cost that exceeds any
    assignment: the total of the largest finite minutes per row, plus one.

    ``required`` sites have ``y_j`` fixed to 1.

    Returns the chosen sites, the assignment of each row (its largest share;
    ties: lowest candidate index; the slack -> ``-1``) and the shares ``X``
    (rows × (candidates + slack)).
    """
    n, m = C.shape
    allowed = _allowed_pairs(C, b, w, usable, pair_gain)
    pi, pj = np.nonzero(allowed)
    npair = pi.size
    rows_used = np.unique(pi)
    nr = rows_used.size
    rindex = np.full(n, -1)
    rindex[rows_used] = np.arange(nr)
    if pair_gain is None:
        fin = np.where(np.isfinite(C), C, 0.0)
        big = float(np.where(allowed, fin, 0.0).max(axis=1).sum()) + 1.0
        slack_cost = np.where(np.isfinite(b[rows_used]), b[rows_used], big)
        c = np.concatenate([np.zeros(m), w[pi] * C[pi, pj], w[rows_used] * slack_cost])
    else:
        c = np.concatenate([np.zeros(m), -w[pi] * pair_gain[pi, pj], np.zeros(nr)])
    A, lb, ub = _capacitated_matrix(pi, pj, rindex, w, m, nr, p, cap)
    nv = m + npair + nr
    var_ub = np.concatenate([usable.astype(float), np.ones(npair + nr)])
    var_lb = np.zeros(nv)
    req = list(required)
    var_lb[req] = 1.0  # a required site is open (even one that reaches nobody)
    var_ub[req] = 1.0
    integ = np.concatenate([np.ones(m), np.zeros(npair + nr)])
    x = _milp(
        c,
        A,
        lb,
        ub,
        var_lb,
        var_ub,
        integ,
        time_limit_s=time_limit_s,
        accept_suboptimal=accept_suboptimal,
        log=log,
        what=what,
    )
    sel = np.flatnonzero(x[:m] > 0.5)
    X = np.zeros((n, m + 1))
    X[pi, pj] = x[m : m + npair]
    X[rows_used, m] = x[m + npair :]
    X[np.setdiff1d(np.arange(n), rows_used), m] = 1.0
    # assignment: the largest share (ties: lowest candidate index; slack -> -1)
    k = np.argmax(X, axis=1)
    assign = np.where(k == m, -1, k)
    return sel, assign, X
