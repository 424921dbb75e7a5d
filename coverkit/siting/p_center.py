"""The p-centre model: the shortest worst trip to county-level care."""

from __future__ import annotations

from typing import Any

import numpy as np

from coverkit.errors import SolverError
from coverkit.siting.base import SitingResult, SolveLog, _mclp_select, _Model
from coverkit.siting.benders import _pmedian_select
from coverkit.siting.enumeration import _enumerate, _enumerates
from coverkit.vocab import Objective


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

    name = Objective.PCENTER.value
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
        log = SolveLog()
        kw: dict[str, Any] = {
            "time_limit_s": time_limit_s,
            "accept_suboptimal": accept_suboptimal,
            "log": log,
        }
        if _enumerates(self, method):
            inp = self.inputs
            sel = _enumerate(
                inp.cost, inp.baseline, inp.weights, inp.usable, self.p, kind=Objective.PCENTER,
                log=log,
            )  # fmt: skip
            return self._result(sel, self._worst_minutes(sel), log, method="enumerate")
        r, sel = self._least_radius(kw)
        sel = self._tie_break(sel, r, kw)
        return self._result(sel, self._worst_minutes(sel), log)

    def _worst_minutes(self, selected: Any) -> float:
        """Worst minutes over the populated rows that ``selected`` leaves reachable."""
        t = self._minutes_after(selected)
        reach = (self.inputs.weights > 0) & np.isfinite(t)
        return float(t[reach].max()) if reach.any() else float("inf")

    def _least_radius(self, kw: dict[str, Any]) -> tuple[float, np.ndarray]:
        """Binary search for the least radius ``p`` sites achieve; the radius and the sites.

        A radius is feasible when a covering MIP leaves no more populated rows
        outside it than must stay unreachable in any plan.
        """
        inp = self.inputs
        pos = inp.weights > 0
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
        values = _radius_values(E, b)
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
        return r, np.flatnonzero(inp.usable)[sel_hi]

    def _tie_break(self, sel: np.ndarray, r: float, kw: dict[str, Any]) -> np.ndarray:
        """Least weighted minutes among sets with no more populated rows beyond ``r``.

        A failed tie-break keeps ``sel`` when suboptimal results are accepted.
        """
        inp = self.inputs
        pos = inp.weights > 0
        caps = [(r, float((pos & ~(self._minutes_after(sel) <= r)).sum()))]
        try:
            tied = _pmedian_select(
                inp.cost,
                inp.baseline,
                inp.weights,
                inp.usable,
                self.p,
                caps=caps,
                model=self.aggregated_model(),
                cap_weights=pos.astype(float),
                what=f"p-centre tie-break (p={self.p})",
                **kw,
            )
            if (pos & ~(self._minutes_after(tied) <= r)).sum() <= caps[0][1]:
                sel = tied
        except SolverError:
            if not kw["accept_suboptimal"]:
                raise
        return sel


def _radius_values(E: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Candidate radii: the distinct finite minutes, from a lower bound up.

    Rows an existing facility reaches are reached in every plan, so the
    largest of their best times is a lower bound on the radius.
    """
    best = E.min(axis=1)[np.isfinite(b)]
    lower = float(best.max()) if best.size else 0.0
    values = np.unique(np.concatenate([E[np.isfinite(E)], b[np.isfinite(b)]]))
    values = values[values >= lower]
    if values.size == 0:
        values = np.array([lower])
    return values
