"""A coverage target: the smallest number of sites that puts a share of the people within T."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from coverkit.errors import InvalidValueError
from coverkit.siting.base import _after, _check_p, _validate, checked_required
from coverkit.siting.coverage import MCLP

if TYPE_CHECKING:
    import pandas as pd

#: A p reaches the target when its optimal population within T is at least
#: ``share × population × (1 - TARGET_REL_TOL)``: sums of the same people taken in
#: another order must not miss a target met exactly (e.g. share=1).
TARGET_REL_TOL: float = 1e-9


@dataclass(frozen=True)
class TargetResult:
    """The smallest p reaching a coverage target, and the curve of p against share.

    Attributes
    ----------
    p
        The smallest number of sites (required ones included) whose optimum puts
        at least ``share`` of the population within T; ``None`` when even every
        usable candidate (or ``max_p`` sites) falls short.
    curve
        ``p, population_within, share_within, selected_ids``: the MCLP optimum of
        each p from ``len(required)`` (0 = the existing hospitals alone when none
        are required) up to the p found, or up to the last p tried when not reached.
    reached
        Whether the target is met.
    max_share
        The share within T with every usable candidate (and the required ones) open:
        the most any number of sites can reach.
    share
        The target asked for.
    selected_ids
        The ids of the sites of the p found (``()`` when not reached).
    """

    p: int | None
    curve: pd.DataFrame
    reached: bool
    max_share: float
    share: float
    selected_ids: tuple[Any, ...]


def smallest_p_for_share(
    cost: Any,
    weights: Any,
    share: float,
    *,
    baseline_min: Any,
    threshold_min: float,
    required: Sequence[int] | None = None,
    candidate_ids: Sequence[Any] | None = None,
    max_p: int | None = None,
) -> TargetResult:
    """Exactly the smallest number of sites that puts ``share`` of the people within T.

    The MCLP optimum of p sites never decreases with p (the best p sites plus
    any other cover at least as much), so the first p whose optimum reaches the
    target is the least; each p is solved exactly (HiGHS), from
    ``len(required)`` upwards, the required sites in every set.

    Parameters
    ----------
    cost
        Demand × candidate minutes (``np.inf`` = unreachable).
    weights
        Population per demand row.
    share
        The target share of the population within ``threshold_min``, in (0, 1].
    baseline_min
        Minutes to the existing county hospitals, which stay open (``None``: none).
    threshold_min
        The threshold T, minutes.
    required
        Candidate column indices in every set (counted in p).
    candidate_ids
        One id per candidate column.
    max_p
        The largest p to try (``None``: every usable candidate).

    Returns
    -------
    TargetResult

    Raises
    ------
    InvalidValueError
        For a share outside (0, 1], a bad threshold, ``max_p`` or required site.

    Examples
    --------
    >>> res = smallest_p_for_share([[10.0, 50.0], [50.0, 10.0]], [1.0, 3.0], 0.9,
    ...                            baseline_min=None, threshold_min=30)
    >>> res.p, res.curve["share_within"].tolist()
    (2, [0.0, 0.75, 1.0])
    """
    import pandas as pd

    share = float(share)
    if not 0 < share <= 1:
        raise InvalidValueError(f"share={share} must lie in (0, 1], e.g. share=0.9")
    T = float(threshold_min)
    if not T >= 0:
        raise InvalidValueError(f"threshold_min={threshold_min} must be >= 0 minutes, e.g. 30")
    inp = _validate(cost, weights, baseline_min, candidate_ids)
    m = inp.cost.shape[1]
    req = checked_required(required, None, m)
    open_all = np.flatnonzero(inp.usable | np.isin(np.arange(m), req))
    top = open_all.size if max_p is None else min(_check_p(max_p), open_all.size)
    if top < len(req):
        checked_required(req, top, m)
    w = inp.weights
    total = float(w.sum())
    goal = share * total * (1.0 - TARGET_REL_TOL)
    t_all, _ = _after(inp.cost, inp.baseline, open_all)
    max_share = float(w[t_all <= T].sum()) / total
    rows: list[dict[str, Any]] = []
    found: int | None = None
    for p in range(len(req), top + 1):
        sel, within = _best_cover(inp, p, T, req)
        ids = tuple(inp.candidate_ids[j] for j in sel)
        rows.append({"p": p, "population_within": within, "share_within": within / total,
                     "selected_ids": ids})  # fmt: skip
        if within >= goal:
            found = p
            break
    curve = pd.DataFrame(rows, columns=["p", "population_within", "share_within", "selected_ids"])
    return TargetResult(
        p=found,
        curve=curve,
        reached=found is not None,
        max_share=max_share,
        share=share,
        selected_ids=rows[-1]["selected_ids"] if found is not None else (),
    )


def _best_cover(inp: Any, p: int, T: float, req: tuple[int, ...]) -> tuple[tuple[int, ...], float]:
    """The MCLP optimum of ``p`` sites containing ``req``: sites and population within T."""
    if p == 0:
        return (), float(inp.weights[inp.baseline <= T].sum())
    return MCLP(inp, p=p, threshold_min=T, capacity=None, required=req)._covering(None)


__all__ = ["TARGET_REL_TOL", "TargetResult", "smallest_p_for_share"]
