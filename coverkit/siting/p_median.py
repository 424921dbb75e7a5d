"""The p-median model: least population-weighted travel time to county-level care."""

from __future__ import annotations

from typing import Any

import numpy as np

from coverkit.siting.base import SitingResult, SolveLog, _Model, _where
from coverkit.siting.benders import _pmedian_select
from coverkit.siting.capacitated import _capacitated
from coverkit.siting.enumeration import _enumerate, _enumerates
from coverkit.vocab import Objective


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

    name = Objective.PMEDIAN.value

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
        req = self._with_required(
            lambda m: m.solve(
                time_limit_s=time_limit_s, accept_suboptimal=accept_suboptimal, method=method
            )
        )
        if req is not None:
            return req
        log = SolveLog()
        kw: dict[str, Any] = {
            "time_limit_s": time_limit_s,
            "accept_suboptimal": accept_suboptimal,
            "log": log,
        }
        if _enumerates(self, method):
            inp = self.inputs
            sel = _enumerate(
                inp.cost, inp.baseline, inp.weights, inp.usable, self.p, kind=Objective.PMEDIAN,
                log=log,
            )  # fmt: skip
            return self._result(sel, self._weighted_minutes(sel), log, method="enumerate")
        if self.capacity is not None:
            return self._solve_capacitated(kw)
        return self._solve_uncapacitated(kw)

    def _objective_of(self, selected: Any) -> float:
        """Population-weighted minutes (the p-median objective) of ``selected``."""
        return self._weighted_minutes(selected)

    def _weighted_minutes(self, selected: Any) -> float:
        """Population-weighted minutes over the rows that ``selected`` leaves reachable."""
        t = self._minutes_after(selected)
        fin = np.isfinite(t)
        return float((_where(self.inputs.weights, fin) * _where(t, fin)).sum())

    def _solve_capacitated(self, kw: dict[str, Any]) -> SitingResult:
        """The capacitated assignment model; rows may be split between sites."""
        inp = self.inputs
        sel, assign, X = _capacitated(
            inp.cost,
            inp.baseline,
            inp.weights,
            inp.usable,
            self.p,
            self.capacity,
            pair_gain=None,
            required=self.required,
            what=f"capacitated p-median (p={self.p})",
            **kw,
        )
        Cb = np.column_stack([inp.cost, inp.baseline])
        Cb = np.where(X > 0, Cb, 0.0)
        reach = np.isfinite(Cb).all(axis=1)
        obj = float((inp.weights[reach, None] * X[reach] * Cb[reach]).sum())
        return self._result(sel, obj, kw["log"], assignment=assign)

    def _solve_uncapacitated(self, kw: dict[str, Any]) -> SitingResult:
        """The p-median MIP, after a reachability phase where only some sites reach a row.

        The reachability phase bounds the population left unreachable by its
        least possible value (lexicographic: reach first, then minutes).
        """
        inp = self.inputs
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
            model=self.aggregated_model(),
            what=f"p-median (p={self.p})",
            **kw,
        )
        return self._result(sel, self._weighted_minutes(sel), kw["log"])
