"""Exhaustive enumeration: every set of p sites evaluated, and when ``method='auto'`` uses it."""

from __future__ import annotations

import itertools
import math
import time
from typing import TYPE_CHECKING

import numpy as np

from coverkit.errors import InvalidValueError
from coverkit.siting.base import SolveLog, _aggregate, _direct
from coverkit.vocab import Objective

if TYPE_CHECKING:
    from coverkit.siting.base import _Model

#: ``method='auto'`` solves the MIP when the set-aggregated model is small
#: (see :data:`~coverkit.siting.SET_MODEL_LIMIT`; a county always is). Otherwise
#: it enumerates every set of p sites when (number of sets) × (demand rows) is
#: at most this - enumeration costs about 2e-8 s per (set × row), so this caps
#: it near 20 s - and else runs the Benders MIP.
ENUMERATION_LIMIT: int = 1_000_000_000

_METHODS = ("auto", "mip", "enumerate")


def _enumerates(model: _Model, method: str) -> bool:
    """Does ``model.solve(method=...)`` enumerate (True) or solve the MIP (False)?

    Raises :class:`~coverkit.errors.InvalidValueError` for an unknown method or
    for enumeration with capacity.
    """
    if method not in _METHODS:
        raise InvalidValueError(f"method={method!r} is unknown; use one of {', '.join(_METHODS)}")
    if method == "enumerate" and model.capacity is not None:
        raise InvalidValueError("method='enumerate' does not take capacity; use method='mip'")
    if method != "auto" or model.capacity is not None:
        return method == "enumerate"
    if _direct(model.aggregated_model()):
        return False
    k = int(model.inputs.usable.sum())
    return math.comb(k, model.p) * model.inputs.cost.shape[0] <= ENUMERATION_LIMIT


def _enumerate(
    C: np.ndarray,
    b: np.ndarray,
    w: np.ndarray,
    usable: np.ndarray,
    p: int,
    *,
    kind: Objective,
    T: float | None = None,
    log: SolveLog,
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
        if kind == Objective.PMEDIAN:
            key = [wa @ ~fin, minutes]
        elif kind == Objective.MCLP:
            key = [-(wa @ (t <= T)), minutes]
        else:
            worst = np.where(fin & (na[:, None] > 0), t, -np.inf).max(axis=0)
            key = [na @ ~fin, worst, minutes]
        keys.append(np.column_stack(key))
    K = np.vstack(keys)
    best = int(np.lexsort(K.T[::-1])[0])
    log.time_s += time.perf_counter() - t0
    return cols[combos[best]]
