"""Required sites (``required=``) in every siting model and path: hand-computed, brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coverkit.errors import InfeasibleError, InvalidValueError
from coverkit.siting import (
    MCLP,
    PCenter,
    PMedian,
    choose_subcentres,
    compare_objectives,
    coverage_table,
    explain_sites,
)

INF = np.inf

# 3 demand rows x 3 candidates (minutes), every row 60 min from the county hospital.
COST = np.array(
    [
        [5.0, 40.0, 30.0],
        [50.0, 10.0, 30.0],
        [45.0, 45.0, 20.0],
    ]
)
W = np.array([100.0, 200.0, 50.0])
B = np.array([60.0, 60.0, 60.0])
T = 25.0
# p = 2, person-minutes (row times capped at 60):
#   {0,1}: 100*5 + 200*10 + 50*45 = 4750   <- unconstrained p-median optimum (no site 2)
#   {0,2}: 100*5 + 200*30 + 50*20 = 7500
#   {1,2}: 100*30 + 200*10 + 50*20 = 6000  <- best set containing site 2
# population within T = 25:
#   {0,1}: rows 0, 1 = 300 (MCLP optimum); {0,2}: rows 0, 2 = 150; {1,2}: rows 1, 2 = 250
# worst minutes: {0,1}: 45; {0,2}: max(5, 30, 20) = 30; {1,2}: max(30, 10, 20) = 30
#   the p-centre ties at 30 and breaks the tie by person-minutes: {1,2} (6000 < 7500),
#   so site 0 is out; with site 0 required the answer is {0,2} at 30 minutes.
METHODS = ["mip", "enumerate", "auto"]


@pytest.fixture(params=["direct", "benders"])
def formulation(request, monkeypatch):
    """The set-aggregated MIP, or Benders forced (no set model counts as small)."""
    if request.param == "benders":
        import coverkit.siting.base as base

        monkeypatch.setattr(base, "SET_MODEL_LIMIT", -1)
        monkeypatch.setattr(base, "SET_MODEL_MIN_MERGE", INF)
    return request.param


@pytest.mark.parametrize("method", METHODS)
def test_pmedian_required_site_replaces_the_optimum(method, formulation) -> None:
    free = PMedian.from_cost_matrix(COST, W, p=2, baseline_min=B).solve(method=method)
    assert free.selected == (0, 1)
    assert free.objective == pytest.approx(4750.0)
    res = PMedian.from_cost_matrix(COST, W, p=2, baseline_min=B, required=[2]).solve(method=method)
    assert res.selected == (1, 2)
    assert res.objective == pytest.approx(6000.0)
    assert res.required == (2,)
    assert res.p == 2
    assert res.required_unreaching == ()


@pytest.mark.parametrize("method", METHODS)
def test_mclp_required_site(method) -> None:
    free = MCLP.from_cost_matrix(COST, W, p=2, baseline_min=B, threshold_min=T).solve(method=method)
    assert (free.selected, free.objective) == ((0, 1), 300.0)
    res = MCLP.from_cost_matrix(COST, W, p=2, baseline_min=B, threshold_min=T, required=[2]).solve(
        method=method
    )
    assert (res.selected, res.objective) == ((1, 2), 250.0)
    assert res.coverage_before == 0.0  # the hospital at 60 min covers nobody within 25
    assert res.coverage_after == 250.0


@pytest.mark.parametrize("method", METHODS)
def test_pcenter_required_site(method) -> None:
    free = PCenter.from_cost_matrix(COST, W, p=2, baseline_min=B).solve(method=method)
    assert (free.selected, free.objective) == ((1, 2), 30.0)
    res = PCenter.from_cost_matrix(COST, W, p=2, baseline_min=B, required=[0]).solve(method=method)
    assert (res.selected, res.objective) == ((0, 2), 30.0)


@pytest.mark.parametrize("cls", [PMedian, MCLP, PCenter])
def test_required_filling_p_is_the_answer(cls) -> None:
    # p = 1 with site 0 required: nothing to choose; p-median 100*5 + 200*50 + 50*45 = 12750
    res = cls.from_cost_matrix(COST, W, p=1, baseline_min=B, threshold_min=T, required=[0]).solve()
    assert res.selected == (0,)
    assert res.method == "required"
    expected = {"pmedian": 12750.0, "mclp": 100.0, "pcenter": 50.0}[res.objective_name]
    assert res.objective == pytest.approx(expected)


def test_required_site_that_reaches_nobody_is_forced(caplog) -> None:
    cost = np.column_stack([COST, np.full(3, INF)])  # column 3 reaches no row
    res = PMedian.from_cost_matrix(cost, W, p=2, baseline_min=B, required=[3]).solve()
    # the other site: {0}: 12750, {1}: 8250, {2}: 10000 person-minutes (p = 1 above)
    assert res.selected == (1, 3)
    assert res.objective == pytest.approx(8250.0)
    assert res.required_unreaching == (3,)
    assert "forced" in caplog.text


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"p": 1, "required": [0, 1]}, "p=1 but 2 sites are required"),
        ({"p": 2, "required": [3]}, "not a candidate column"),
        ({"p": 2, "required": [1, 1]}, "repeat"),
        ({"p": 2, "required": [True]}, "not a column index"),
    ],
)
def test_required_errors(kwargs, message) -> None:
    with pytest.raises(InvalidValueError, match=message):
        PMedian.from_cost_matrix(COST, W, baseline_min=B, **kwargs)


def test_required_counts_toward_feasibility() -> None:
    cost = np.column_stack([COST[:, :1], np.full(3, INF)])  # only column 0 is usable
    res = PMedian.from_cost_matrix(cost, W, p=2, baseline_min=B, required=[1]).solve()
    assert res.selected == (0, 1)
    with pytest.raises(InfeasibleError):
        PMedian.from_cost_matrix(cost, W, p=2, baseline_min=B)


@pytest.mark.parametrize("cls", [PMedian, MCLP])
def test_capacitated_required(cls) -> None:
    # capacities no row needs: the same answers as uncapacitated
    res = cls.from_cost_matrix(
        COST, W, p=2, baseline_min=B, threshold_min=T, capacity=1000.0, required=[2]
    ).solve()
    assert res.selected == (1, 2)
    assert res.objective == pytest.approx(6000.0 if cls is PMedian else 250.0)


def test_from_geodataframe_required() -> None:
    demand = pd.DataFrame({"pop": W, "base": B})
    cand = pd.DataFrame({"id": ["a", "b", "c"]})
    model = PMedian.from_geodataframe(
        demand, cand, COST, "pop", p=2, baseline_col="base", required=[2]
    )
    res = model.solve()
    assert res.selected_ids == ("b", "c")


def test_choice_tables_take_required() -> None:
    ch = choose_subcentres(COST, W, baseline_min=B, p_values=(1, 2), threshold_min=T, required=[2])
    assert ch.table["selected"].tolist() == [(2,), (1, 2)]
    # p = 1 below two required sites is skipped; p = 2 is the required pair
    ch2 = choose_subcentres(
        COST, W, baseline_min=B, p_values=(1, 2), threshold_min=T, required=[0, 2]
    )
    assert ch2.table["p"].tolist() == [2]
    with pytest.raises(InvalidValueError, match="required"):
        choose_subcentres(COST, W, baseline_min=B, p_values=(1,), required=[0, 2])
    cov = coverage_table(COST, W, baseline_min=B, thresholds_min=(T,), required=[0, 2])
    # p = 0 (hospital alone: 0 within 25), p = 1 skipped, p = 2: {0,2} 150, p = 3: all 350
    assert cov["p"].tolist() == [0, 2, 3]
    assert cov["population_within"].tolist() == [0.0, 150.0, 350.0]
    cmp = compare_objectives(COST, W, baseline_min=B, p=2, threshold_min=T, required=[0])
    # p-median with 0: {0,1} 4750; MCLP with 0: {0,1} 300; p-centre with 0: {0,2} 30
    assert cmp["selected"].tolist() == [(0, 1), (0, 1), (0, 2)]
    ex = explain_sites(COST, W, [1, 2], baseline_min=B, threshold_min=T, required=[2])
    assert set(ex.runners_up["site_id"]) == {1}  # site 2 is never swapped out
    assert ex.runners_up["candidate_index"].tolist() == [0]


# ------------------------------------------------------------------------ brute force


def _times(cost, b, sel):
    return np.minimum(b, cost[:, list(sel)].min(axis=1))


def _best_superset(cost, w, b, p, req, kind, T):
    """The best objective over every set of p columns containing ``req``."""
    others = [j for j in range(cost.shape[1]) if j not in req]
    vals = []
    for extra in itertools.combinations(others, p - len(req)):
        t = _times(cost, b, (*req, *extra))
        if kind == "pmedian":
            vals.append(float(w @ t))
        elif kind == "mclp":
            vals.append(-float(w[t <= T].sum()))
        else:
            vals.append(float(t[w > 0].max()))
    return min(vals)


@st.composite
def required_instances(draw):
    n = draw(st.integers(2, 8))
    m = draw(st.integers(3, 5))
    cost = np.array(
        draw(st.lists(st.integers(0, 90), min_size=n * m, max_size=n * m)), dtype=float
    ).reshape(n, m)
    w = np.array(draw(st.lists(st.integers(0, 100), min_size=n, max_size=n)), dtype=float)
    w[0] += 1
    b = np.array(draw(st.lists(st.integers(0, 120), min_size=n, max_size=n)), dtype=float)
    p = draw(st.integers(1, m - 1))
    req = draw(st.lists(st.integers(0, m - 1), unique=True, max_size=p))
    return cost, w, b, p, req


@settings(max_examples=30, deadline=None)
@given(inst=required_instances(), T=st.integers(0, 90), method=st.sampled_from(METHODS[:2]))
def test_required_optimum_is_best_superset(inst, T, method) -> None:
    cost, w, b, p, req = inst
    kw = {"baseline_min": b, "threshold_min": T, "required": req}
    pm = PMedian.from_cost_matrix(cost, w, p=p, **kw).solve(method=method)
    mc = MCLP.from_cost_matrix(cost, w, p=p, **kw).solve(method=method)
    pc = PCenter.from_cost_matrix(cost, w, p=p, **kw).solve(method=method)
    for res in (pm, mc, pc):
        assert set(req) <= set(res.selected)
        assert len(res.selected) == p
    assert pm.objective == pytest.approx(_best_superset(cost, w, b, p, req, "pmedian", T))
    assert -mc.objective == pytest.approx(_best_superset(cost, w, b, p, req, "mclp", T))
    assert pc.objective == pytest.approx(_best_superset(cost, w, b, p, req, "pcenter", T))
