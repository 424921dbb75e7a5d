"""Choosing and explaining sub-centres: the number of sites, who gains, the alternatives.

These entry points run the models of :mod:`~coverkit.siting.p_median`,
:mod:`~coverkit.siting.coverage` and :mod:`~coverkit.siting.p_center` over several
numbers of sites, thresholds or objectives and turn the results into the tables of
the county plan.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from coverkit import settings
from coverkit.errors import InvalidValueError
from coverkit.siting.base import (
    SET_MODEL_BLOCK,
    SitingResult,
    _after_memo,
    _check_p,
    _check_p_feasible,
    _figures,
    _Inputs,
    _Model,
    _validate,
    checked_required,
)
from coverkit.siting.coverage import MCLP
from coverkit.siting.p_center import PCenter
from coverkit.siting.p_median import PMedian
from coverkit.vocab import Objective

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

_MODELS: dict[Objective, type[_Model]] = {
    Objective.PMEDIAN: PMedian,
    Objective.MCLP: MCLP,
    Objective.PCENTER: PCenter,
}


def _model_class(objective: str | Objective) -> type[_Model]:
    """The model class of an objective (an :class:`~coverkit.vocab.Objective` or its name)."""
    key = objective.value if isinstance(objective, Objective) else str(objective).lower()
    if key not in _MODELS:
        raise InvalidValueError(
            f"objective={objective!r} is unknown; use one of {', '.join(_MODELS)}"
        )
    return _MODELS[key]  # type: ignore[index]


def _names(candidate_names: Sequence[str] | None, inputs: _Inputs) -> tuple[str, ...]:
    """One display name per candidate column (the ids when no names are given)."""
    if candidate_names is not None:
        return tuple(str(x) for x in candidate_names)
    return tuple(str(x) for x in inputs.candidate_ids)


def _checked_names(candidate_names: Sequence[str] | None, inputs: _Inputs) -> tuple[str, ...]:
    """:func:`_names`, with exactly one name per candidate column."""
    names = _names(candidate_names, inputs)
    m = inputs.cost.shape[1]
    if len(names) != m:
        raise InvalidValueError(
            f"candidate_names has {len(names)} names but the cost matrix has {m} columns; "
            "pass one name per column"
        )
    return names


# ---------------------------------------------------------------------------------------
# the number of sub-centres
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
    p_values: Sequence[int] | None = None,
    objective: str | Objective = Objective.PMEDIAN,
    threshold_min: float | None = None,
    min_gain_share: float | None = None,
    candidate_ids: Sequence[Any] | None = None,
    candidate_names: Sequence[str] | None = None,
    time_limit_s: float | None = None,
    required: Sequence[int] | None = None,
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
        Numbers of sites to evaluate (``None``: :data:`coverkit.settings.p_values`).
        Values above the number of usable candidates are skipped with a
        warning; if all are, :class:`InfeasibleError` is raised.
    objective
        ``'pmedian'`` (default), ``'mclp'`` or ``'pcenter'``.
    threshold_min
        Threshold for coverage figures and the MCLP, minutes (``None``:
        :data:`coverkit.settings.threshold_min`).
    min_gain_share
        Least share of the total population an extra site must bring within
        the threshold to be recommended (``None``:
        :data:`coverkit.settings.second_site_min_gain_share`).
    candidate_ids, candidate_names
        One id / display name per candidate column.
    time_limit_s
        Solver time limit per p, seconds.
    required
        Candidate column indices in every set (counted in p); values of p
        below ``len(required)`` are skipped with a warning.

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

    if p_values is None:
        p_values = settings.p_values
    if threshold_min is None:
        threshold_min = settings.threshold_min
    if min_gain_share is None:
        min_gain_share = settings.second_site_min_gain_share
    cls = _model_class(objective)
    ps = sorted({_check_p(p) for p in p_values})
    if not ps:
        raise InvalidValueError("p_values is empty; pass e.g. p_values=(1, 2)")
    if not 0 <= min_gain_share <= 1:
        raise InvalidValueError(f"min_gain_share={min_gain_share} must lie in [0, 1], e.g. 0.02")
    inputs = _validate(cost, weights, baseline_min, candidate_ids)
    names = _checked_names(candidate_names, inputs)
    req = checked_required(required, None, inputs.cost.shape[1])
    feasible = _feasible_ps(ps, inputs, req)
    T = float(threshold_min)
    before = _figures(inputs.baseline, inputs.weights, 0, (T,))
    results: dict[int, SitingResult] = {}
    rows = []
    for p in feasible:
        model = cls(inputs, p=p, threshold_min=T, capacity=None, required=req)
        res = model.solve(time_limit_s=time_limit_s)  # type: ignore[attr-defined]
        results[p] = res
        rows.append(_choice_row(res, p, inputs, names, before, T))
    table = pd.DataFrame(rows)
    prev = table["pop_within_after"].shift(1)
    gain = (table["pop_within_after"] - prev) / float(inputs.weights.sum())
    table["gain_share"] = gain
    rec, reason = _recommend(feasible, gain, min_gain_share, T)
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


def _feasible_ps(ps: list[int], inputs: _Inputs, required: tuple[int, ...] = ()) -> list[int]:
    """The values of p the usable candidates can meet; the others are logged as skipped.

    Values below ``len(required)`` are skipped too. Raises
    :class:`~coverkit.errors.InfeasibleError` when none can be met, or
    :class:`~coverkit.errors.InvalidValueError` when all are below ``len(required)``.
    """
    low = [p for p in ps if p < len(required)]
    if low:
        if len(low) == len(ps):
            checked_required(required, ps[-1], inputs.cost.shape[1])
        logger.warning(
            "p=%s skipped: %d sites are required", ",".join(map(str, low)), len(required)
        )
        ps = [p for p in ps if p >= len(required)]
    k = int((inputs.usable | np.isin(np.arange(inputs.cost.shape[1]), required)).sum())
    feasible = [p for p in ps if p <= k]
    if not feasible:
        _check_p_feasible(ps[0], inputs, required)
    if len(feasible) < len(ps):
        logger.warning(
            "p=%s skipped: only %d candidate site(s) can be chosen",
            ",".join(str(p) for p in ps if p > k),
            k,
        )
    return feasible


def _choice_row(
    res: SitingResult,
    p: int,
    inputs: _Inputs,
    names: tuple[str, ...],
    before: dict[str, float],
    T: float,
) -> dict[str, Any]:
    """One row of :attr:`SubcentreChoice.table`: the sites of ``res`` and figures around them."""
    t, _ = _after_memo(inputs.cost, inputs.baseline, res.selected)
    fig = _figures(t, inputs.weights, p, (T,))
    return {
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


def _recommend(
    feasible: list[int], gain: pd.Series, min_gain_share: float, T: float
) -> tuple[int, str]:
    """The recommended p and why: grow p while each extra site gains enough.

    ``gain[idx]`` is the share of the population the site ``feasible[idx]``
    brings newly within ``T`` minutes compared with ``feasible[idx - 1]``.
    """
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
    return rec, reason


# ---------------------------------------------------------------------------------------
# explaining the sites
# ---------------------------------------------------------------------------------------


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
    threshold_min: float | None = None,
    candidate_ids: Sequence[Any] | None = None,
    n_runners_up: int = 3,
    candidate_names: Sequence[str] | None = None,
    required: Sequence[int] | None = None,
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
        Threshold, minutes (``None``: :data:`coverkit.settings.threshold_min`).
    candidate_ids, candidate_names
        One id / display name per candidate column.
    n_runners_up
        Alternatives listed per chosen site; ranked by population within the
        threshold (more first), then weighted mean minutes (fewer first),
        then column index.
    required
        Candidate column indices that may not be swapped out: no runners-up
        are listed for them.

    Returns
    -------
    SiteExplanation
    """
    if threshold_min is None:
        threshold_min = settings.threshold_min
    inp = _validate(cost, weights, baseline_min, candidate_ids)
    m = inp.cost.shape[1]
    names = _names(candidate_names, inp)
    sel = sorted({int(j) for j in selected})
    for j in sel:
        if not 0 <= j < m:
            raise InvalidValueError(
                f"selected site {j} is not a candidate column (0..{m - 1}); pass column indices"
            )
    req = checked_required(required, None, m)
    T = float(threshold_min)
    t, assign = _after_memo(inp.cost, inp.baseline, sel)
    sites = _site_table(inp, sel, names, T, t, assign)
    runners = _runners_up(inp, sel, names, T, t, n_runners_up, req)
    return SiteExplanation(sites=sites.reset_index(drop=True), runners_up=runners)


def _site_table(
    inp: _Inputs,
    sel: list[int],
    names: tuple[str, ...],
    T: float,
    t: np.ndarray,
    assign: np.ndarray,
) -> pd.DataFrame:
    """:attr:`SiteExplanation.sites`: per chosen site, whom it serves and what they gain.

    ``t`` and ``assign`` are the minutes and serving site of each row after the plan.
    """
    import pandas as pd

    w, b = inp.weights, inp.baseline
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
    return _ranked(sites)


def _ranked(sites: pd.DataFrame) -> pd.DataFrame:
    """``sites`` with a ``rank`` column (1 = most population newly within), after ``name``."""
    import pandas as pd

    if len(sites):
        order = sites.sort_values(
            ["pop_newly_within", "index"], ascending=[False, True], kind="stable"
        ).index
        sites.loc[order, "rank"] = np.arange(1, len(sites) + 1)
        sites["rank"] = sites["rank"].astype(int)
    else:
        sites["rank"] = pd.Series(dtype=int)
    return sites[["index", "id", "name", "rank", *sites.columns[3:-1]]]


def _swap_figures(
    t_rest: np.ndarray, C: np.ndarray, others: np.ndarray, w: np.ndarray, T: float
) -> tuple[np.ndarray, np.ndarray]:
    """Population within ``T`` and weighted mean minutes with each other candidate swapped in.

    ``t_rest``: minutes of each row without the site swapped out; ``others``: the
    columns of ``C`` (rows x candidates) to swap in. Rows are taken
    :data:`SET_MODEL_BLOCK` at a time (no rows x others copy), each block's sums
    added to the running ones (one block: the plain column sums).
    """
    k = others.size
    pop_within, wr, wt = np.zeros(k), np.zeros(k), np.zeros(k)
    for r in range(0, C.shape[0], SET_MODEL_BLOCK):
        rows = slice(r, r + SET_MODEL_BLOCK)
        tt = np.minimum(t_rest[rows, None], C[rows][:, others])  # block x (m - p)
        ww = w[rows, None]
        pop_within += (ww * (tt <= T)).sum(axis=0)
        reach = np.isfinite(tt)
        wr += (ww * reach).sum(axis=0)
        wt += (ww * np.where(reach, tt, 0.0)).sum(axis=0)
    mean_min = np.where(wr > 0, wt / np.maximum(wr, 1e-300), np.nan)
    return pop_within, mean_min


def _runners_up(
    inp: _Inputs,
    sel: list[int],
    names: tuple[str, ...],
    T: float,
    t: np.ndarray,
    n_runners_up: int,
    required: tuple[int, ...] = (),
) -> pd.DataFrame:
    """:attr:`SiteExplanation.runners_up`: per chosen site, the best candidates swapped in.

    ``t`` holds the minutes of each row after the plan; ``required`` sites are
    never swapped out.
    """
    import pandas as pd

    C, w, b = inp.cost, inp.weights, inp.baseline
    base_fig = _figures(t, w, len(sel), (T,))
    ru_rows = []
    others = np.array([k for k in range(C.shape[1]) if k not in sel and inp.usable[k]], dtype=int)
    for j in sel:
        if j in required:
            continue
        rest = [s for s in sel if s != j]
        t_rest, _ = _after_memo(C, b, rest)
        if others.size == 0:
            continue
        pop_within, mean_min = _swap_figures(t_rest, C, others, w, T)
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
    return pd.DataFrame(
        ru_rows,
        columns=[
            "site_id", "rank", "candidate_index", "candidate_id", "candidate_name",
            "pop_within_after", "mean_min_after", "delta_pop_within", "delta_mean_min",
        ],
    )  # fmt: skip


# ---------------------------------------------------------------------------------------
# tables over thresholds and objectives
# ---------------------------------------------------------------------------------------


def coverage_table(
    cost: Any,
    weights: Any,
    *,
    baseline_min: Any,
    thresholds_min: Sequence[float] | None = None,
    p_values: Sequence[int] = (1, 2, 3),
    candidate_ids: Sequence[Any] | None = None,
    time_limit_s: float | None = None,
    required: Sequence[int] | None = None,
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
        Thresholds, minutes (``None``: :data:`coverkit.settings.thresholds_min`).
    p_values
        Numbers of sites (>= 1).
    candidate_ids
        One id per candidate column.
    time_limit_s
        Solver time limit per cell, seconds.
    required
        Candidate column indices in every set (counted in p); rows with
        ``p < len(required)`` are skipped (``p = 0`` stays: the hospitals alone).

    Returns
    -------
    DataFrame
        Long format: ``threshold_min, p, population_within, share_within,
        selected_ids`` sorted by threshold then p (the :class:`~coverkit.plan.CountyPlan`
        ``coverage`` contract); ``DataFrame.pivot`` gives the threshold × p table.
    """
    import pandas as pd

    if thresholds_min is None:
        thresholds_min = settings.thresholds_min
    inp = _validate(cost, weights, baseline_min, candidate_ids)
    ps = sorted({_check_p(p) for p in p_values})
    req = checked_required(required, None, inp.cost.shape[1])
    ps = [p for p in ps if p >= len(req)]
    k = int((inp.usable | np.isin(np.arange(inp.cost.shape[1]), req)).sum())
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
            # as MCLP(...).solve(tie_break=False) without the per-row figures of its result
            model = MCLP(inp, p=p, threshold_min=T, capacity=None, required=req)
            sel, within = model._covering(time_limit_s)
            rows.append(
                {"threshold_min": T, "p": p, "population_within": within,
                 "share_within": within / total,
                 "selected_ids": tuple(inp.candidate_ids[j] for j in sel)}
            )  # fmt: skip
    return pd.DataFrame(rows)


def compare_objectives(
    cost: Any,
    weights: Any,
    *,
    baseline_min: Any,
    p: int,
    threshold_min: float | None = None,
    candidate_ids: Sequence[Any] | None = None,
    candidate_names: Sequence[str] | None = None,
    time_limit_s: float | None = None,
    required: Sequence[int] | None = None,
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
        Threshold of the MCLP and of the coverage figures, minutes (``None``:
        :data:`coverkit.settings.threshold_min`).
    candidate_ids, candidate_names
        One id / display name per candidate column.
    time_limit_s
        Solver time limit per objective, seconds.
    required
        Candidate column indices in every objective's set (counted in ``p``).

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

    if threshold_min is None:
        threshold_min = settings.threshold_min
    p = _check_p(p)
    inputs = _validate(cost, weights, baseline_min, candidate_ids)
    req = checked_required(required, p, inputs.cost.shape[1])
    _check_p_feasible(p, inputs, req)
    T = float(threshold_min)
    if not T >= 0:
        raise InvalidValueError(f"threshold_min={threshold_min} must be >= 0 minutes, e.g. 30")
    names = _checked_names(candidate_names, inputs)
    rows = []
    for key, cls in _MODELS.items():
        model = cls(inputs, p=p, threshold_min=T, capacity=None, required=req)
        res = model.solve(time_limit_s=time_limit_s)  # type: ignore[attr-defined]
        rows.append(_objective_row(key, res, inputs, names, T))
    return pd.DataFrame(rows)


def _objective_row(
    key: Objective, res: SitingResult, inputs: _Inputs, names: tuple[str, ...], T: float
) -> dict[str, Any]:
    """One row of :func:`compare_objectives`: the optimum of ``key`` and all three figures."""
    w = inputs.weights
    total = float(w.sum())
    t, _ = _after_memo(inputs.cost, inputs.baseline, res.selected)
    reach = np.isfinite(t)
    wr = float(w[reach].sum())
    populated = reach & (w > 0)
    within = float(w[t <= T].sum())
    return {
        "objective": key.value,
        "p": res.p,
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
