"""A planner's own set of sites beside the optimum: the figures, the gaps, the best swap.

A county bureau usually has candidates in mind. :func:`compare_with_optimum`
evaluates its set (no optimisation), solves the optimum for the same number of
sites under one objective (with the same required sites) and reports, for both,
the population within the threshold, the mean and worst minutes, the people
newly within reach and the unreached population, the gap of each measure in %
and the single swap (one of its sites out, one other candidate in) that would
improve its set the most.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from coverkit.errors import InvalidValueError
from coverkit.network.blocks import for_blocks
from coverkit.siting.base import (
    _after,
    _check_p_feasible,
    _Inputs,
    _validate,
    checked_required,
)
from coverkit.siting.choice import _checked_names, _model_class
from coverkit.vocab import Objective

if TYPE_CHECKING:
    import pandas as pd

#: The measures of :meth:`SitesComparison.table`, in order: (key, unit, worse when).
MEASURES: tuple[tuple[str, str, str], ...] = (
    ("pop_within", "people", "lower"),
    ("share_within", "share", "lower"),
    ("newly_within", "people", "lower"),
    ("mean_min", "min", "higher"),
    ("worst_min", "min", "higher"),
    ("unreached_population", "people", "higher"),
)

#: A swap improves a set only when it betters the objective by more than this
#: share of its value (sums taken in another order differ in the last bits).
SWAP_REL_TOL: float = 1e-9

#: Rows × entering candidates per block of the swap search (float64: 16 MB).
SWAP_BLOCK_ENTRIES: int = 2_000_000


@dataclass(frozen=True)
class SitesComparison:
    """A set of sites beside the optimum for the same p.

    Attributes
    ----------
    objective
        The objective of the optimum and of the swap: ``'pmedian'``, ``'mclp'``, ``'pcenter'``.
    p
        Number of sites (of the given set, and of the optimum).
    threshold_min
        The threshold T of the within figures, minutes.
    yours, yours_ids, yours_names
        The given sites: column indices (sorted), ids, names.
    optimum, optimum_ids, optimum_names
        The optimal sites for ``p`` under ``objective`` (with ``required``).
    required
        The sites required in the optimum and never swapped out.
    yours_measures, optimum_measures
        ``pop_within``, ``share_within``, ``newly_within`` (within T after, not
        by the existing hospitals alone), ``mean_min`` (population-weighted over
        the reachable population), ``worst_min`` (over populated reachable rows),
        ``unreached_population``.
    gap_pct
        Per measure, in %: positive when the given set is worse than the optimum.
        Population figures ``(optimum - yours) / optimum * 100``; minutes and the
        unreached population ``(yours - optimum) / optimum * 100``. When the
        optimum's figure is 0: 0 if the given set's is 0 too, else ``nan``.
    swap
        The best single swap, or ``None`` when no swap improves the objective:
        ``out, out_id, out_name, in, in_id, in_name, objective_before,
        objective_after, improvement`` (the objective's value: person-minutes
        for p-median, population within T for MCLP, worst minutes for p-centre;
        ``improvement`` > 0) and ``measures`` (the figures after the swap).
    """

    objective: str
    p: int
    threshold_min: float
    yours: tuple[int, ...]
    yours_ids: tuple[Any, ...]
    yours_names: tuple[str, ...]
    optimum: tuple[int, ...]
    optimum_ids: tuple[Any, ...]
    optimum_names: tuple[str, ...]
    required: tuple[int, ...]
    yours_measures: dict[str, float]
    optimum_measures: dict[str, float]
    gap_pct: dict[str, float]
    swap: dict[str, Any] | None

    def table(self) -> pd.DataFrame:
        """The measures side by side.

        Returns
        -------
        DataFrame
            ``measure, unit, yours, optimum, gap_pct``, one row per measure of
            :data:`MEASURES` (in that order).
        """
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "measure": key,
                    "unit": unit,
                    "yours": self.yours_measures[key],
                    "optimum": self.optimum_measures[key],
                    "gap_pct": self.gap_pct[key],
                }
                for key, unit, _ in MEASURES
            ],
            columns=["measure", "unit", "yours", "optimum", "gap_pct"],
        )


def _measures(t: np.ndarray, w: np.ndarray, b: np.ndarray, T: float) -> dict[str, float]:
    """The :data:`MEASURES` of the minutes ``t`` after a plan (``b``: before it)."""
    within = t <= T
    reach = np.isfinite(t)
    wr = float(w[reach].sum())
    populated = reach & (w > 0)
    pop_within = float(w[within].sum())
    return {
        "pop_within": pop_within,
        "share_within": pop_within / float(w.sum()),
        "newly_within": float(w[within & ~(b <= T)].sum()),
        "mean_min": float(w[reach] @ t[reach]) / wr if wr > 0 else float("nan"),
        "worst_min": float(t[populated].max()) if populated.any() else float("nan"),
        "unreached_population": float(w[~reach].sum()),
    }


def _gap(key: str, yours: float, opt: float) -> float:
    """The gap of one measure in %, positive when ``yours`` is worse (:class:`SitesComparison`)."""
    worse_higher = {k: h == "higher" for k, _, h in MEASURES}[key]
    diff = yours - opt if worse_higher else opt - yours
    if opt == 0 or not np.isfinite(opt):
        return 0.0 if yours == opt else float("nan")
    return diff / opt * 100.0


def _checked_selection(selected: Sequence[int], m: int) -> tuple[int, ...]:
    """The given sites as sorted distinct column indices, at least one."""
    sel = list(selected)
    if not sel:
        raise InvalidValueError("selected is empty; name at least one site to compare")
    for j in sel:
        if isinstance(j, bool) or not isinstance(j, int | np.integer) or not 0 <= j < m:
            raise InvalidValueError(
                f"selected site {j!r} is not a candidate column (0..{m - 1}); pass column indices"
            )
    if len(set(sel)) < len(sel):
        raise InvalidValueError(f"selected sites repeat in {sel}; name each site once")
    return tuple(sorted(int(j) for j in sel))


def _objective_key(m: dict[str, float], objective: str) -> tuple[float, float]:
    """What the objective minimises, lexicographically: (primary, secondary).

    p-median: (unreached population, person-minutes); MCLP: (-population within,
    person-minutes); p-centre: (unreached population, worst minutes, ``-inf`` when
    no populated row is reached).
    """
    if objective == Objective.MCLP.value:
        return (-m["pop_within"], m["person_min"])
    if objective == Objective.PCENTER.value:  # no populated row reached: nothing is worst
        worst = m["worst_min"]
        return (m["unreached_population"], -np.inf if np.isnan(worst) else worst)
    return (m["unreached_population"], m["person_min"])


def _objective_value(m: dict[str, float], objective: str) -> float:
    """The objective's own figure: person-minutes, population within T or worst minutes."""
    if objective == Objective.MCLP.value:
        return m["pop_within"]
    if objective == Objective.PCENTER.value:
        return m["worst_min"]
    return m["person_min"]


def _swap_block_sums(
    t_rest: np.ndarray, C: np.ndarray, ins: np.ndarray, w: np.ndarray, b: np.ndarray, T: float
) -> np.ndarray:
    """Per entering candidate: the sums behind the measures of ``min(t_rest, C[:, in])``.

    Returns a 6 × len(ins) array: pop_within, newly_within, reached population,
    person-minutes, worst minutes (populated reachable rows; -inf if none),
    unreached population. Rows in blocks over threads, no python loop over rows.
    """
    k = ins.size
    block = max(1024, SWAP_BLOCK_ENTRIES // max(1, k))

    def part(s: int, e: int) -> np.ndarray:
        tt = np.minimum(t_rest[s:e, None], C[s:e][:, ins].astype(float))
        ww, bb = w[s:e], b[s:e]
        within = tt <= T
        reach = np.isfinite(tt)
        out = np.empty((6, k))
        out[0] = ww @ within
        out[1] = ww @ (within & ~(bb <= T)[:, None])
        out[2] = ww @ reach
        out[3] = ww @ np.where(reach, tt, 0.0)
        out[4] = np.where(reach & (ww > 0)[:, None], tt, -np.inf).max(axis=0, initial=-np.inf)
        out[5] = ww @ ~reach
        return out

    parts = for_blocks(part, t_rest.shape[0], block)
    total = np.sum([p[[0, 1, 2, 3, 5]] for p in parts], axis=0)
    worst = np.max([p[4] for p in parts], axis=0)
    return np.vstack([total[:4], worst[None, :], total[4:]])


def _swap_measures(sums: np.ndarray, wsum: float) -> list[dict[str, float]]:
    """The measures (with ``person_min``) of each entering candidate from its block sums."""
    rows = []
    for c in range(sums.shape[1]):
        within, newly, wr, wt, worst, unreached = (float(x) for x in sums[:, c])
        rows.append(
            {
                "pop_within": within,
                "share_within": within / wsum,
                "newly_within": newly,
                "mean_min": wt / wr if wr > 0 else float("nan"),
                "worst_min": worst if np.isfinite(worst) else float("nan"),
                "unreached_population": unreached,
                "person_min": wt,
            }
        )
    return rows


def _improves(new: tuple[float, float], old: tuple[float, float], objective: str) -> bool:
    """Does the key ``new`` better ``old`` on the objective (beyond :data:`SWAP_REL_TOL`)?

    For p-median and p-centre a lower unreached population is an improvement
    whatever the minutes; MCLP compares the population within T only.
    """
    tol = SWAP_REL_TOL * max(1.0, abs(old[0]))
    if objective == Objective.MCLP.value:
        return new[0] < old[0] - tol
    if new[0] < old[0] - tol:
        return True
    tol2 = SWAP_REL_TOL * max(1.0, abs(old[1]))
    return abs(new[0] - old[0]) <= tol and new[1] < old[1] - tol2


def _best_swap(
    inp: _Inputs,
    selected: tuple[int, ...],
    required: tuple[int, ...],
    objective: str,
    T: float,
) -> tuple[int, int, dict[str, float]] | None:
    """The swap (out, in, measures after) that betters ``selected`` the most, or ``None``.

    Over every ``out`` in ``selected`` minus ``required`` and every usable ``in``
    not in ``selected``; ranked by the objective's key (:func:`_objective_key`),
    ties to the lowest ``out`` then ``in``.
    """
    C, w, b = inp.cost, inp.weights, inp.baseline
    m = C.shape[1]
    ins = np.array([j for j in range(m) if inp.usable[j] and j not in selected], dtype=np.intp)
    outs = [j for j in selected if j not in required]
    if ins.size == 0 or not outs:
        return None
    t, _ = _after(C, b, selected)
    before = {**_measures(t, w, b, T), "person_min": _person_minutes(t, w)}
    best: tuple[tuple[float, float], int, int, dict[str, float]] | None = None
    for out in outs:
        t_rest, _ = _after(C, b, [j for j in selected if j != out])
        sums = _swap_block_sums(np.asarray(t_rest, float), C, ins, w, b, T)
        for c, meas in enumerate(_swap_measures(sums, float(w.sum()))):
            key = _objective_key(meas, objective)
            if best is None or key < best[0]:
                best = (key, out, int(ins[c]), meas)
    assert best is not None
    if not _improves(best[0], _objective_key(before, objective), objective):
        return None
    return best[1], best[2], best[3]


def _person_minutes(t: np.ndarray, w: np.ndarray) -> float:
    """Population-weighted minutes over the reachable rows."""
    reach = np.isfinite(t)
    return float(w[reach] @ t[reach])


def compare_with_optimum(
    cost: Any,
    weights: Any,
    selected: Sequence[int],
    *,
    baseline_min: Any,
    threshold_min: float,
    objective: str | Objective = "pmedian",
    required: Sequence[int] | None = None,
    candidate_ids: Sequence[Any] | None = None,
    candidate_names: Sequence[str] | None = None,
) -> SitesComparison:
    """A planner's set of sites beside the optimum for the same number of sites.

    Parameters
    ----------
    cost
        Demand × candidate minutes (``np.inf`` = unreachable).
    weights
        Population per demand row.
    selected
        The planner's sites: distinct candidate column indices (at least one).
    baseline_min
        Minutes to the existing county hospitals, which stay open (``None``: none).
    threshold_min
        The threshold T, minutes (the within figures; the MCLP's radius).
    objective
        The optimum's objective and the swap's: ``'pmedian'`` (default), ``'mclp'``,
        ``'pcenter'``.
    required
        Sites in the optimum (counted in p = ``len(selected)``) and never swapped out.
    candidate_ids, candidate_names
        One id / display name per candidate column.

    Returns
    -------
    SitesComparison

    Raises
    ------
    InvalidValueError
        For an empty, repeated or out-of-range selection, a bad objective or
        threshold, or more required sites than selected ones.
    InfeasibleError
        When fewer than ``len(selected)`` candidates can be chosen.

    Examples
    --------
    >>> cmp = compare_with_optimum([[10.0, 50.0], [50.0, 10.0]], [1.0, 3.0], [0],
    ...                            baseline_min=[60.0, 60.0], threshold_min=30)
    >>> cmp.optimum, cmp.gap_pct["pop_within"], (cmp.swap["out"], cmp.swap["in"])
    ((1,), 66.66666666666666, (0, 1))
    """
    cls = _model_class(objective)
    T = float(threshold_min)
    if not T >= 0:
        raise InvalidValueError(f"threshold_min={threshold_min} must be >= 0 minutes, e.g. 30")
    inp = _validate(cost, weights, baseline_min, candidate_ids)
    m = inp.cost.shape[1]
    names = _checked_names(candidate_names, inp)
    sel = _checked_selection(selected, m)
    p = len(sel)
    req = checked_required(required, p, m)
    _check_p_feasible(p, inp, req)
    opt = cls(inp, p=p, threshold_min=T, capacity=None, required=req).solve()  # type: ignore[attr-defined]
    w, b = inp.weights, inp.baseline
    yours_m = _measures(_after(inp.cost, b, sel)[0], w, b, T)
    opt_m = _measures(_after(inp.cost, b, opt.selected)[0], w, b, T)
    gaps = {k: _gap(k, yours_m[k], opt_m[k]) for k, _, _ in MEASURES}
    return SitesComparison(
        objective=cls.name,
        p=p,
        threshold_min=T,
        yours=sel,
        yours_ids=tuple(inp.candidate_ids[j] for j in sel),
        yours_names=tuple(names[j] for j in sel),
        optimum=opt.selected,
        optimum_ids=opt.selected_ids,
        optimum_names=tuple(names[j] for j in opt.selected),
        required=req,
        yours_measures=yours_m,
        optimum_measures=opt_m,
        gap_pct=gaps,
        swap=_swap_dict(inp, sel, req, cls.name, T, names),
    )


def _swap_dict(
    inp: _Inputs,
    sel: tuple[int, ...],
    req: tuple[int, ...],
    objective: str,
    T: float,
    names: tuple[str, ...],
) -> dict[str, Any] | None:
    """:attr:`SitesComparison.swap` of the best swap of ``sel`` (``None``: none betters it)."""
    found = _best_swap(inp, sel, req, objective, T)
    if found is None:
        return None
    out, inn, after = found
    t, _ = _after(inp.cost, inp.baseline, sel)
    before = {
        **_measures(t, inp.weights, inp.baseline, T),
        "person_min": _person_minutes(t, inp.weights),
    }
    v0, v1 = _objective_value(before, objective), _objective_value(after, objective)
    return {
        "out": out,
        "out_id": inp.candidate_ids[out],
        "out_name": names[out],
        "in": inn,
        "in_id": inp.candidate_ids[inn],
        "in_name": names[inn],
        "objective_before": v0,
        "objective_after": v1,
        "improvement": v1 - v0 if objective == Objective.MCLP.value else v0 - v1,
        "measures": {k: after[k] for k, _, _ in MEASURES},
    }


__all__ = ["MEASURES", "SitesComparison", "compare_with_optimum"]
