"""Required sites against spopt's predefined facilities on the same cost matrix (if installed)."""

from __future__ import annotations

import itertools
import logging

import numpy as np
import pytest

from coverkit.siting import MCLP, PMedian

spopt_locate = pytest.importorskip("spopt.locate")
pulp = pytest.importorskip("pulp")

# spopt 0.7 builds its models with pulp calls that pulp deprecates; not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")

N, M, RADIUS = 30, 8, 30.0


def _instance(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """30 demand rows x 8 candidates of whole minutes 1..99, populations 1..49."""
    rng = np.random.default_rng(seed)
    return (
        rng.integers(1, 100, size=(N, M)).astype(float),
        rng.integers(1, 50, size=N).astype(float),
    )


def _unique_best(cost, w, p, required, kind):
    """The best set containing ``required`` when it is the only one with its value, else None."""
    others = [j for j in range(M) if j not in required]
    scored = []
    for extra in itertools.combinations(others, p - len(required)):
        sel = tuple(sorted((*required, *extra)))
        t = cost[:, list(sel)].min(axis=1)
        scored.append((float(w @ t) if kind == "pmedian" else -float(w[t <= RADIUS].sum()), sel))
    scored.sort()
    return scored[0][1] if len(scored) == 1 or scored[0][0] < scored[1][0] else None


def _chosen(model) -> tuple[int, ...]:
    return tuple(j for j in range(M) if model.fac_vars[j].value() > 0.5)


CASES = [(7, 3, [3]), (11, 2, [0]), (23, 4, [1, 6])]


@pytest.mark.parametrize(("seed", "p", "required"), CASES)
def test_pmedian_required_matches_spopt_predefined(seed, p, required, caplog) -> None:
    caplog.set_level(logging.ERROR)  # no baseline: our models log that coverage starts at 0
    cost, w = _instance(seed)
    pre = np.zeros(M, dtype=int)
    pre[required] = 1
    theirs = spopt_locate.PMedian.from_cost_matrix(cost, w, p, predefined_facilities_arr=pre).solve(
        pulp.PULP_CBC_CMD(msg=False)
    )
    ours = PMedian.from_cost_matrix(cost, w, p=p, required=required).solve()
    assert ours.objective == pytest.approx(theirs.problem.objective.value(), abs=1e-6)
    best = _unique_best(cost, w, p, required, "pmedian")
    if best is not None:
        assert ours.selected == best == _chosen(theirs)


@pytest.mark.parametrize(("seed", "p", "required"), CASES)
def test_mclp_required_matches_spopt_predefined(seed, p, required, caplog) -> None:
    caplog.set_level(logging.ERROR)
    cost, w = _instance(seed)
    pre = np.zeros(M, dtype=int)
    pre[required] = 1
    theirs = spopt_locate.MCLP.from_cost_matrix(
        cost, w, RADIUS, p, predefined_facilities_arr=pre
    ).solve(pulp.PULP_CBC_CMD(msg=False))
    ours = MCLP.from_cost_matrix(cost, w, p=p, threshold_min=RADIUS, required=required).solve()
    assert ours.objective == pytest.approx(theirs.problem.objective.value(), abs=1e-6)
    assert set(required) <= set(ours.selected)
    best = _unique_best(cost, w, p, required, "mclp")
    if best is not None:
        assert ours.selected == best == _chosen(theirs)
