"""The maximal covering location problem: most population within the threshold of care."""

from __future__ import annotations

from typing import Any

import numpy as np

from coverkit.errors import SolverError
from coverkit.siting.base import (
    SitingResult,
    SolveLog,
    _folded,
    _mclp_at,
    _Model,
    _population_within,
)
from coverkit.siting.benders import _pmedian_select
from coverkit.siting.capacitated import _capacitated
from coverkit.siting.enumeration import _enumerate, _enumerates
from coverkit.vocab import Objective


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

    name = Objective.MCLP.value
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
        req = self._with_required(
            lambda m: m.solve(
                time_limit_s=time_limit_s, accept_suboptimal=accept_suboptimal,
                tie_break=tie_break, method=method,
            )
        )  # fmt: skip
        if req is not None:
            return req
        inp = self.inputs
        T = float(self.threshold_min)  # type: ignore[arg-type]
        log = SolveLog()
        kw: dict[str, Any] = {
            "time_limit_s": time_limit_s,
            "accept_suboptimal": accept_suboptimal,
            "log": log,
        }
        # the covering MIP alone is always the MIP; with ties broken, auto decides
        if _enumerates(self, method) and (tie_break or method == "enumerate"):
            sel = _enumerate(
                inp.cost, inp.baseline, inp.weights, inp.usable, self.p, kind=Objective.MCLP,
                T=T, log=log,
            )  # fmt: skip
            return self._result(sel, self._population_within(sel, T), log, method="enumerate")
        if self.capacity is not None:
            return self._solve_capacitated(T, kw)
        sel, outside = _mclp_at(
            inp.cost, inp.baseline, inp.weights, inp.usable, T, self.p,
            what=f"MCLP (p={self.p}, T={T:g})", **kw,
        )  # fmt: skip
        if tie_break:
            sel = self._tie_break(sel, outside, T, kw)
        return self._result(sel, self._population_within(sel, T), log)

    def _covering(self, time_limit_s: float | None) -> tuple[tuple[int, ...], float]:
        """What ``solve(tie_break=False)`` gives without capacity: the covering MIP's
        sites (sorted) and the population within the threshold, without the per-row
        figures of a :class:`SitingResult` (a table of many cells needs only these)."""
        if self.required:
            if self.p == len(self.required):
                return self.required, self._objective_of(self.required)
            rest = MCLP(_folded(self.inputs, self.required), p=self.p - len(self.required),
                        threshold_min=self.threshold_min, capacity=None)  # fmt: skip
            sel, within = rest._covering(time_limit_s)
            return tuple(sorted({*self.required, *sel})), within
        inp = self.inputs
        T = float(self.threshold_min)  # type: ignore[arg-type]
        sel, _ = _mclp_at(
            inp.cost, inp.baseline, inp.weights, inp.usable, T, self.p,
            what=f"MCLP (p={self.p}, T={T:g})", time_limit_s=time_limit_s,
            accept_suboptimal=False, log=SolveLog(),
        )  # fmt: skip
        sel = tuple(sorted(int(j) for j in sel))
        return sel, self._population_within(sel, T)

    def _objective_of(self, selected: Any) -> float:
        """Population within the threshold (the MCLP objective) of ``selected``."""
        return self._population_within(selected, float(self.threshold_min))  # type: ignore[arg-type]

    def _population_within(self, selected: Any, T: float) -> float:
        """Population within ``T`` minutes of existing ∪ ``selected`` facilities."""
        inp = self.inputs
        return _population_within(inp.cost, inp.baseline, inp.weights, selected, T)

    def _solve_capacitated(self, T: float, kw: dict[str, Any]) -> SitingResult:
        """The capacitated covering model: a site covers at most its capacity."""
        inp = self.inputs
        within = inp.cost <= T
        base_within = inp.baseline <= T
        gain = (within & ~base_within[:, None]).astype(float)
        sel, assign, X = _capacitated(
            inp.cost,
            inp.baseline,
            inp.weights,
            inp.usable,
            self.p,
            self.capacity,
            pair_gain=gain,
            required=self.required,
            what=f"capacitated MCLP (p={self.p}, T={T:g})",
            **kw,
        )
        covered = float(inp.weights[base_within].sum())
        covered += float((inp.weights[:, None] * X[:, :-1] * gain).sum())
        return self._result(sel, covered, kw["log"], assignment=assign)

    def _tie_break(
        self, sel: np.ndarray, outside: float, T: float, kw: dict[str, Any]
    ) -> np.ndarray:
        """Among the sets covering as much as ``sel``, the least weighted minutes.

        A failed tie-break keeps ``sel`` when suboptimal results are accepted;
        a tie-break that covers less than ``sel`` is not taken.
        """
        inp = self.inputs
        tied = sel
        try:
            tied = _pmedian_select(
                inp.cost,
                inp.baseline,
                inp.weights,
                inp.usable,
                self.p,
                caps=[(T, outside)],
                model=self.aggregated_model(),
                what=f"MCLP tie-break (p={self.p}, T={T:g})",
                **kw,
            )
        except SolverError:
            if not kw["accept_suboptimal"]:
                raise
            tied = sel
        if self._population_within(tied, T) >= self._population_within(sel, T):
            return tied
        return sel
