"""Tests of coverkit.siting: hand-computed cases, brute force, properties, errors."""

from __future__ import annotations

import itertools
import logging

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coverkit import settings as coverkit_settings
from coverkit.errors import (
    EmptyInputError,
    InfeasibleError,
    InvalidValueError,
    MissingColumnError,
    SolverError,
)
from coverkit.siting import (
    MCLP,
    Objective,
    PCenter,
    PMedian,
    choose_subcentres,
    compare_objectives,
    coverage_table,
    eligibility,
    evaluate_selection,
    explain_sites,
)
from coverkit.siting.base import SolveLog, set_model, solve_set_model

INF = np.inf
METHODS = ["mip", "enumerate"]

# Case A: 4 villages x 3 candidate township centres, minutes; hand-computed below.
COST_A = np.array(
    [
        [10.0, 30.0, 50.0],
        [40.0, 10.0, 60.0],
        [50.0, 40.0, 10.0],
        [20.0, 50.0, 45.0],
    ]
)
W_A = np.array([100.0, 200.0, 300.0, 400.0])
B_A = np.array([35.0, 35.0, 70.0, 70.0])


# --------------------------------------------------------------------------- p-median


@pytest.mark.parametrize("method", METHODS)
def test_pmedian_p1_with_baseline(method: str) -> None:
    # min(b, c): site 0 -> 100*10 + 200*35 + 300*50 + 400*20 = 31000
    #            site 1 -> 3000 + 2000 + 12000 + 20000 = 37000
    #            site 2 -> 3500 + 7000 + 3000 + 18000 = 31500
    res = PMedian.from_cost_matrix(COST_A, W_A, p=1, baseline_min=B_A, threshold_min=30).solve(
        method=method
    )
    assert res.selected == (0,)
    assert res.objective == 31000.0
    assert res.status == "optimal"
    assert res.objective_name == "pmedian"
    # row 1: 40 > baseline 35 -> stays with the hospital (-1); row 2: 50 < 70 -> site 0
    np.testing.assert_array_equal(res.assignment, [0, -1, 0, 0])
    assert res.coverage_before == 0.0
    assert res.coverage_after == 500.0  # rows 0 (10 min) and 3 (20 min)
    assert res.gap <= 1e-6
    assert res.solve_time_s >= 0


@pytest.mark.parametrize("method", METHODS)
def test_pmedian_p2_with_baseline(method: str) -> None:
    # {0,1}: 1000+2000+12000+8000 = 23000; {0,2}: 1000+7000+3000+8000 = 19000;
    # {1,2}: 3000+2000+3000+18000 = 26000
    res = PMedian.from_cost_matrix(
        COST_A, W_A, p=2, baseline_min=B_A, candidate_ids=["a", "b", "c"]
    ).solve(method=method)
    assert res.selected == (0, 2)
    assert res.selected_ids == ("a", "c")
    assert res.objective == 19000.0
    np.testing.assert_array_equal(res.assignment, [0, -1, 2, 0])
    assert res.coverage_before is None


def test_pmedian_without_baseline_logs_warning(caplog: pytest.LogCaptureFixture) -> None:
    # no hospital: site 0 -> 1000 + 8000 + 15000 + 8000 = 32000 (site 1: 37000, site 2: 38000)
    with caplog.at_level(logging.WARNING, logger="coverkit.siting"):
        res = PMedian.from_cost_matrix(COST_A, W_A, p=1).solve()
    assert "no existing county-level facility" in caplog.text
    assert res.selected == (0,)
    assert res.objective == 32000.0
    np.testing.assert_array_equal(res.assignment, [0, 0, 0, 0])


@pytest.mark.parametrize("method", METHODS)
def test_baseline_changes_the_choice(method: str) -> None:
    # Hospital next to rows 0 and 3: only row 1 and 2 can gain. Site 1 saves 200*(40-10)
    # and 300*(50-40) = 9000; site 2 saves 300*(50-10) = 12000 -> site 2.
    b = np.array([5.0, 40.0, 50.0, 5.0])
    res = PMedian.from_cost_matrix(COST_A, W_A, p=1, baseline_min=b).solve(method=method)
    assert res.selected == (2,)
    assert res.objective == 100 * 5 + 200 * 40 + 300 * 10 + 400 * 5


@pytest.mark.parametrize("method", METHODS)
def test_pmedian_reachability_first(method: str) -> None:
    # No hospital; site 0 reaches the 10 people of row 0, site 1 the 2 people of rows 1-2.
    # Reaching more people comes first: site 0, objective 10*10 over the reachable.
    cost = np.array([[10.0, INF], [INF, 10.0], [INF, 20.0]])
    res = PMedian.from_cost_matrix(cost, [10.0, 1.0, 1.0], p=1, baseline_min=np.full(3, INF)).solve(
        method=method
    )
    assert res.selected == (0,)
    assert res.objective == 100.0
    assert res.unreached_population == 2.0
    np.testing.assert_array_equal(res.assignment, [0, -1, -1])


def test_pmedian_capacity() -> None:
    # Site 1 can serve 150 of the 200 people of row 1 (saves 150*50 = 7500) - better
    # than site 0 (saves 100*55 + 50*15 = 6250). Objective 150*10 + 50*60 + 100*60 + 50*60.
    cost = np.array([[5.0, 40.0], [50.0, 10.0], [45.0, 45.0]])
    w = np.array([100.0, 200.0, 50.0])
    res = PMedian.from_cost_matrix(cost, w, p=1, baseline_min=[60.0] * 3, capacity=150).solve()
    assert res.selected == (1,)
    assert res.objective == pytest.approx(13500.0)
    np.testing.assert_array_equal(res.assignment, [-1, 1, -1])
    # without the capacity: site 1 -> 100*40 + 200*10 + 50*45 = 8250
    free = PMedian.from_cost_matrix(cost, w, p=1, baseline_min=[60.0] * 3).solve()
    assert free.objective == 8250.0


def test_aggregated_identical_rows_give_the_same_answer() -> None:
    cost = np.repeat(COST_A, 3, axis=0)
    res = PMedian.from_cost_matrix(cost, np.repeat(W_A, 3) / 3, p=2, baseline_min=np.repeat(B_A, 3))
    assert res.solve().objective == pytest.approx(19000.0)


# --------------------------------------------------------------------------------- MCLP


@pytest.mark.parametrize("method", METHODS)
def test_mclp_hand_computed(method: str) -> None:
    # T = 30: site 0 covers rows 0, 3 (500); site 1 rows 0, 1 (300); site 2 row 2 (300).
    # p = 2: {0,1} 700, {0,2} 800, {1,2} 600.
    one = MCLP.from_cost_matrix(COST_A, W_A, p=1, baseline_min=B_A, threshold_min=30).solve(
        method=method
    )
    assert one.selected == (0,)
    assert one.objective == 500.0
    two = MCLP.from_cost_matrix(COST_A, W_A, p=2, baseline_min=B_A, threshold_min=30).solve(
        method=method
    )
    assert two.selected == (0, 2)
    assert two.objective == 800.0
    assert two.coverage_before == 0.0
    assert two.coverage_after == 800.0


@pytest.mark.parametrize("method", METHODS)
def test_mclp_counts_existing_coverage(method: str) -> None:
    # Row 1 already within 30 min of the hospital (25): site 0 -> 500 + 200 = 700.
    b = np.array([35.0, 25.0, 70.0, 70.0])
    res = MCLP.from_cost_matrix(COST_A, W_A, p=1, baseline_min=b, threshold_min=30).solve(
        method=method
    )
    assert res.selected == (0,)
    assert res.objective == 700.0
    assert res.coverage_before == 200.0


@pytest.mark.parametrize("method", METHODS)
def test_mclp_tie_break_prefers_fewer_minutes(method: str) -> None:
    # Both sites cover both rows within 30 min; site 1 has 25 + 5 = 30 minutes vs 35.
    cost = np.array([[10.0, 25.0], [25.0, 5.0]])
    res = MCLP.from_cost_matrix(cost, [1.0, 1.0], p=1, baseline_min=[INF, INF], threshold_min=30)
    out = res.solve(method=method)
    assert out.selected == (1,)
    assert out.objective == 2.0


def test_mclp_capacity() -> None:
    # T = 30: site 0 covers row 0 (100); site 1 row 1 (200) but can take only 150.
    cost = np.array([[5.0, 40.0], [50.0, 10.0], [45.0, 45.0]])
    w = np.array([100.0, 200.0, 50.0])
    res = MCLP.from_cost_matrix(
        cost, w, p=1, baseline_min=[60.0] * 3, threshold_min=30, capacity=[150.0, 150.0]
    ).solve()
    assert res.selected == (1,)
    assert res.objective == pytest.approx(150.0)
    res = MCLP.from_cost_matrix(
        cost, w, p=1, baseline_min=[60.0] * 3, threshold_min=30, capacity=[150.0, 90.0]
    ).solve()
    assert res.selected == (0,)
    assert res.objective == pytest.approx(100.0)


# ------------------------------------------------------------------------------ p-centre


@pytest.mark.parametrize("method", METHODS)
def test_pcenter_hand_computed(method: str) -> None:
    # p = 1: worst trip with site 0: 50, site 1: 50, site 2: max(35,35,10,45) = 45.
    one = PCenter.from_cost_matrix(COST_A, W_A, p=1, baseline_min=B_A).solve(method=method)
    assert one.selected == (2,)
    assert one.objective == 45.0
    # p = 2: {0,1}: 40, {0,2}: max(10,35,10,20) = 35, {1,2}: 45
    two = PCenter.from_cost_matrix(COST_A, W_A, p=2, baseline_min=B_A).solve(method=method)
    assert two.selected == (0, 2)
    assert two.objective == 35.0


@pytest.mark.parametrize("method", METHODS)
def test_pcenter_ignores_empty_rows(method: str) -> None:
    # Row 2 has nobody: it does not count for the worst trip. Site 0: max(10, 40) = 40;
    # site 1: max(30, 10) = 30.
    w = np.array([100.0, 200.0, 0.0, 0.0])
    res = PCenter.from_cost_matrix(COST_A, w, p=1, baseline_min=np.full(4, INF)).solve(
        method=method
    )
    assert res.selected == (1,)
    assert res.objective == 30.0


# ------------------------------------------------------------------------- brute force


def _brute(cost, w, b, p, kind, T=30.0):
    best = None
    for S in itertools.combinations(range(cost.shape[1]), p):
        t = np.minimum(b, cost[:, list(S)].min(axis=1))
        reach = np.isfinite(t)
        unreached = float(w[~reach].sum())
        if kind == "pmedian":
            key = (unreached, float((w[reach] * t[reach]).sum()))
        elif kind == "mclp":
            key = (-float(w[t <= T].sum()),)
        else:
            pos = (w > 0) & reach
            key = (float(((w > 0) & ~reach).sum()), float(t[pos].max()) if pos.any() else 0.0)
        if best is None or key < best:
            best = key
    return best


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("seed", range(12))
def test_matches_brute_force(seed: int, method: str) -> None:
    rng = np.random.default_rng(seed)
    n, m = 14, 6
    cost = rng.integers(1, 60, size=(n, m)).astype(float)
    cost[rng.random((n, m)) < 0.15] = INF
    w = rng.integers(0, 50, size=n).astype(float)
    w[0] = 5.0
    b = rng.integers(20, 90, size=n).astype(float)
    if seed % 3 == 0:
        b[:] = INF
    elif seed % 3 == 1:
        b[rng.random(n) < 0.3] = INF
    for p in (1, 2, 3):
        pm = PMedian.from_cost_matrix(cost, w, p=p, baseline_min=b).solve(method=method)
        assert (pm.unreached_population, pm.objective) == pytest.approx(
            _brute(cost, w, b, p, "pmedian")
        )
        mc = MCLP.from_cost_matrix(cost, w, p=p, baseline_min=b, threshold_min=30).solve(
            method=method
        )
        assert -mc.objective == pytest.approx(_brute(cost, w, b, p, "mclp")[0])
        pc = PCenter.from_cost_matrix(cost, w, p=p, baseline_min=b).solve(method=method)
        unreached_rows = float(((w > 0) & ~np.isfinite(evaluate_t(cost, b, pc.selected))).sum())
        assert (unreached_rows, pc.objective) == pytest.approx(_brute(cost, w, b, p, "pcenter"))


def evaluate_t(cost: np.ndarray, b: np.ndarray, sel: tuple[int, ...]) -> np.ndarray:
    return np.minimum(b, cost[:, list(sel)].min(axis=1))


# ------------------------------------------------------------------------ properties


@st.composite
def instances(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = draw(st.integers(2, 10))
    m = draw(st.integers(3, 5))
    cost = np.array(
        draw(st.lists(st.integers(0, 90), min_size=n * m, max_size=n * m)), dtype=float
    ).reshape(n, m)
    w = np.array(draw(st.lists(st.integers(0, 100), min_size=n, max_size=n)), dtype=float)
    w[0] += 1
    b = np.array(draw(st.lists(st.integers(0, 120), min_size=n, max_size=n)), dtype=float)
    return cost, w, b


@settings(max_examples=25, deadline=None)
@given(inst=instances(), T=st.integers(0, 90))
def test_mclp_coverage_never_falls_with_p_or_t(inst, T) -> None:
    cost, w, b = inst
    cov = [
        MCLP.from_cost_matrix(cost, w, p=p, baseline_min=b, threshold_min=T)
        .solve(tie_break=False, method="mip")
        .objective
        for p in (1, 2, 3)
    ]
    assert cov[0] <= cov[1] + 1e-9 <= cov[2] + 2e-9
    wider = MCLP.from_cost_matrix(cost, w, p=1, baseline_min=b, threshold_min=T + 10)
    assert wider.solve(tie_break=False, method="mip").objective >= cov[0] - 1e-9
    # the MIP and the enumeration agree
    for p, c in zip((1, 2, 3), cov, strict=True):
        en = MCLP.from_cost_matrix(cost, w, p=p, baseline_min=b, threshold_min=T)
        assert en.solve(method="enumerate").objective == pytest.approx(c)
    # coverage never below what the hospitals alone give
    assert cov[0] >= w[b <= T].sum() - 1e-9


@settings(max_examples=25, deadline=None)
@given(inst=instances())
def test_pmedian_objective_never_rises_with_p(inst) -> None:
    cost, w, b = inst
    obj = [
        PMedian.from_cost_matrix(cost, w, p=p, baseline_min=b).solve(method="mip").objective
        for p in (1, 2, 3)
    ]
    assert obj[0] >= obj[1] - 1e-9
    assert obj[1] >= obj[2] - 1e-9
    assert obj[0] <= float((w * b).sum()) + 1e-9  # never worse than the hospitals alone


@settings(max_examples=15, deadline=None)
@given(inst=instances())
def test_pcenter_never_worse_than_any_single_site(inst) -> None:
    cost, w, b = inst
    res = PCenter.from_cost_matrix(cost, w, p=1, baseline_min=b).solve(method="mip")
    pos = w > 0
    worst = [np.minimum(b, cost[:, j])[pos].max() for j in range(cost.shape[1])]
    assert res.objective == pytest.approx(min(worst))


# ------------------------------------------------------------- evaluation / choice


def test_evaluate_selection() -> None:
    fig = evaluate_selection(COST_A, W_A, [0, 2], baseline_min=B_A, thresholds_min=(15, 30))
    # times 10, 35, 10, 20
    assert fig["mean_min"] == pytest.approx((1000 + 7000 + 3000 + 8000) / 1000)
    assert fig["max_min"] == 35.0
    assert fig["pop_within_15_min"] == 400.0
    assert fig["share_within_30_min"] == 0.8
    assert fig["unreached_population"] == 0.0
    empty = evaluate_selection(COST_A, W_A, [], baseline_min=B_A, thresholds_min=(30,))
    assert empty["mean_min"] == pytest.approx(59.5)
    assert empty["pop_within_30_min"] == 0.0


def test_choose_subcentres_recommends_two_when_the_gain_is_large() -> None:
    choice = choose_subcentres(
        COST_A,
        W_A,
        baseline_min=B_A,
        threshold_min=30,
        candidate_ids=["a", "b", "c"],
        candidate_names=["甲镇", "乙镇", "丙镇"],
    )
    t = choice.table
    assert t["p"].tolist() == [1, 2]
    assert t["selected_ids"].tolist() == [("a",), ("a", "c")]
    assert t["selected_names"].tolist() == [("甲镇",), ("甲镇", "丙镇")]
    assert t["objective"].tolist() == [31000.0, 19000.0]
    assert t["pop_within_before"].tolist() == [0.0, 0.0]
    assert t["pop_within_after"].tolist() == [500.0, 800.0]
    assert t["mean_min_before"].tolist() == [59.5, 59.5]
    assert t["mean_min_after"].tolist() == [31.0, 19.0]
    assert t["gain_share"].iloc[1] == pytest.approx(0.3)
    assert t["recommended"].tolist() == [False, True]
    assert choice.recommended_p == 2
    assert choice.selected == (0, 2)
    assert "30.0%" in choice.reason


def test_choose_subcentres_keeps_one_when_the_gain_is_small() -> None:
    choice = choose_subcentres(COST_A, W_A, baseline_min=B_A, min_gain_share=0.5)
    assert choice.recommended_p == 1
    assert choice.selected_ids == (0,)
    assert "< 50.0%" in choice.reason


def test_choose_subcentres_mclp_and_skipping_large_p(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="coverkit.siting"):
        choice = choose_subcentres(
            COST_A, W_A, baseline_min=B_A, p_values=(1, 2, 4), objective=Objective.MCLP
        )
    assert "p=4 skipped" in caplog.text
    assert choice.table["objective"].tolist() == [500.0, 800.0]


def test_explain_sites() -> None:
    ex = explain_sites(
        COST_A, W_A, [0, 2], baseline_min=B_A, threshold_min=30, candidate_ids=["a", "b", "c"]
    )
    s = ex.sites
    assert s["id"].tolist() == ["a", "c"]
    assert s["rank"].tolist() == [1, 2]
    assert s["pop_served"].tolist() == [500.0, 300.0]
    assert s["pop_newly_within"].tolist() == [500.0, 300.0]
    # site a: (100*(35-10) + 400*(70-20)) / 500 = 45, max 50; site c: 60
    assert s["mean_saved_min"].tolist() == [45.0, 60.0]
    assert s["max_saved_min"].tolist() == [50.0, 60.0]
    r = ex.runners_up
    assert r["site_id"].tolist() == ["a", "c"]
    assert r["candidate_id"].tolist() == ["b", "b"]
    # a -> b: {1,2} times 30,10,10,45: 600 within, mean 26; c -> b: {0,1}: 700, mean 23
    assert r["pop_within_after"].tolist() == [600.0, 700.0]
    assert r["mean_min_after"].tolist() == [26.0, 23.0]
    assert r["delta_pop_within"].tolist() == [-200.0, -100.0]
    assert r["delta_mean_min"].tolist() == pytest.approx([7.0, 4.0])


def test_coverage_table() -> None:
    tab = coverage_table(COST_A, W_A, baseline_min=B_A, thresholds_min=(30, 45), p_values=(1, 2))
    # T=45: hospitals reach rows 0, 1 (300); site 2 adds rows 2 (10) and 3 (45) -> 1000
    assert tab["threshold_min"].tolist() == [30.0, 30.0, 30.0, 45.0, 45.0, 45.0]
    assert tab["p"].tolist() == [0, 1, 2, 0, 1, 2]
    assert tab["population_within"].tolist() == [0.0, 500.0, 800.0, 300.0, 1000.0, 1000.0]
    assert tab["share_within"].tolist() == [0.0, 0.5, 0.8, 0.3, 1.0, 1.0]


def test_from_geodataframe() -> None:
    import pandas as pd

    demand = pd.DataFrame({"pop": W_A, "hosp_min": B_A})
    cands = pd.DataFrame({"id": ["a", "b", "c"]})
    model = PMedian.from_geodataframe(demand, cands, COST_A, "pop", p=2, baseline_col="hosp_min")
    res = model.solve()
    assert res.selected_ids == ("a", "c")
    with pytest.raises(MissingColumnError, match="no column 'people'"):
        PMedian.from_geodataframe(demand, cands, COST_A, "people", p=1)


def test_deterministic() -> None:
    rng = np.random.default_rng(7)
    cost = rng.integers(1, 5, size=(30, 8)).astype(float)  # many ties
    w = np.ones(30)
    runs = {
        PMedian.from_cost_matrix(cost, w, p=3, baseline_min=np.full(30, 9.0))
        .solve(method="mip")
        .selected
        for _ in range(3)
    }
    assert len(runs) == 1


# ------------------------------------------------------------------------ eligibility


def test_eligibility_table() -> None:
    tab = eligibility(
        population=420_000, area_km2=2_600, seat_offset_ratio=0.3, share_beyond_threshold=0.25
    )
    assert tab["indicator"].tolist() == [
        "population",
        "area_km2",
        "seat_offset_ratio",
        "share_beyond_threshold",
    ]
    assert tab["indicator_zh"].tolist() == [
        "常住人口",
        "区域面积",
        "县城不在县域中心",
        "县级医院服务覆盖能力不足",
    ]
    assert tab["threshold"].tolist() == [500_000.0, 2_000.0, 0.5, 0.2]
    assert tab["passes"].tolist() == [False, True, False, True]
    assert tab.attrs["eligible"] is True
    strict = eligibility(
        population=420_000,
        area_km2=2_600,
        seat_offset_ratio=0.3,
        share_beyond_threshold=0.25,
        rule="all",
    )
    assert strict.attrs["eligible"] is False
    custom = eligibility(
        population=420_000,
        area_km2=100,
        seat_offset_ratio=0.0,
        share_beyond_threshold=0.0,
        thresholds={"population": 400_000},
    )
    assert custom["passes"].tolist() == [True, False, False, False]
    assert coverkit_settings.eligibility_thresholds["population"] == 500_000.0  # not mutated


def test_eligibility_errors() -> None:
    kw = {"population": 1.0, "area_km2": 1.0, "seat_offset_ratio": 0.1}
    with pytest.raises(InvalidValueError, match="rule='most' is unknown"):
        eligibility(**kw, share_beyond_threshold=0.1, rule="most")
    with pytest.raises(InvalidValueError, match="unknown eligibility threshold"):
        eligibility(**kw, share_beyond_threshold=0.1, thresholds={"pop": 1})
    with pytest.raises(InvalidValueError, match="is a share"):
        eligibility(**kw, share_beyond_threshold=20)
    with pytest.raises(InvalidValueError, match="population=-5"):
        eligibility(population=-5, area_km2=1, seat_offset_ratio=0, share_beyond_threshold=0)


# ----------------------------------------------------------------------------- errors


def test_error_p_below_one() -> None:
    with pytest.raises(InvalidValueError, match="p=0 but at least 1"):
        PMedian.from_cost_matrix(COST_A, W_A, p=0)
    with pytest.raises(InvalidValueError, match="not an integer"):
        PMedian.from_cost_matrix(COST_A, W_A, p=1.5)  # type: ignore[arg-type]


def test_error_p_above_candidates() -> None:
    with pytest.raises(InfeasibleError, match="p=4 but only 3 candidate site"):
        PMedian.from_cost_matrix(COST_A, W_A, p=4)
    with pytest.raises(InfeasibleError, match="p=3 but only 2"):
        choose_subcentres(COST_A[:, :2], W_A, baseline_min=B_A, p_values=(3,))


def test_candidate_reaching_nobody_is_excluded(caplog: pytest.LogCaptureFixture) -> None:
    cost = np.column_stack([COST_A, np.full(4, INF)])
    with caplog.at_level(logging.WARNING, logger="coverkit.siting"):
        res = PMedian.from_cost_matrix(cost, W_A, p=3, baseline_min=B_A).solve()
    assert "reach no populated demand point and are excluded: 3" in caplog.text
    assert res.selected == (0, 1, 2)
    with pytest.raises(InfeasibleError, match=r"p=4 but only 3 .*of 4 given"):
        PMedian.from_cost_matrix(cost, W_A, p=4, baseline_min=B_A)


@pytest.mark.parametrize(
    ("cost", "weights", "kwargs", "error", "match"),
    [
        (COST_A, W_A[:3], {}, InvalidValueError, "3 values but the cost matrix has 4"),
        (COST_A, [1, np.nan, 1, 1], {}, InvalidValueError, r"weights\[1\] = nan"),
        (COST_A, [1, -2, 1, 1], {}, InvalidValueError, r"weights\[1\] = -2 is negative"),
        (COST_A, np.zeros(4), {}, EmptyInputError, "all demand weights are zero"),
        (COST_A[0], W_A, {}, InvalidValueError, "1 dimension"),
        (np.where(COST_A > 45, np.nan, COST_A), W_A, {}, InvalidValueError, "NaN; use np.inf"),
        (-COST_A, W_A, {}, InvalidValueError, "is negative; minutes"),
        (COST_A, W_A, {"baseline_min": B_A[:2]}, InvalidValueError, "baseline_min has 2"),
        (COST_A, W_A, {"baseline_min": [1, np.nan, 1, 1]}, InvalidValueError, "baseline_min"),
        (COST_A, W_A, {"candidate_ids": ["a"]}, InvalidValueError, "candidate_ids has 1"),
        (COST_A, W_A, {"capacity": -1}, InvalidValueError, "capacity must be >= 0"),
        (COST_A, W_A, {"threshold_min": -1}, InvalidValueError, "threshold_min=-1.0"),
    ],
)
def test_input_errors(cost, weights, kwargs, error, match) -> None:
    with pytest.raises(error, match=match):
        PMedian.from_cost_matrix(cost, weights, p=1, **kwargs)


def test_model_specific_errors() -> None:
    with pytest.raises(InvalidValueError, match="MCLP needs threshold_min"):
        MCLP.from_cost_matrix(COST_A, W_A, p=1)
    with pytest.raises(InvalidValueError, match="PCenter does not take capacity"):
        PCenter.from_cost_matrix(COST_A, W_A, p=1, capacity=10)
    with pytest.raises(InvalidValueError, match="objective='median' is unknown"):
        choose_subcentres(COST_A, W_A, baseline_min=B_A, objective="median")
    with pytest.raises(InvalidValueError, match="p_values is empty"):
        choose_subcentres(COST_A, W_A, baseline_min=B_A, p_values=())
    with pytest.raises(InvalidValueError, match="candidate_names has 1"):
        choose_subcentres(COST_A, W_A, baseline_min=B_A, candidate_names=["x"])
    with pytest.raises(InvalidValueError, match="selected site 5"):
        explain_sites(COST_A, W_A, [5], baseline_min=B_A, threshold_min=30)


def test_time_limit_raises_solver_error() -> None:
    rng = np.random.default_rng(3)
    xy = rng.random((160, 2))
    cost = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)) * 100
    model = PMedian.from_cost_matrix(cost, np.ones(160), p=4, baseline_min=np.full(160, INF))
    with pytest.raises(SolverError, match="not solved to proven optimality"):
        model.solve(time_limit_s=1e-4)


def test_method_errors_and_auto() -> None:
    model = PMedian.from_cost_matrix(COST_A, W_A, p=1, baseline_min=B_A)
    with pytest.raises(InvalidValueError, match="method='fast' is unknown"):
        model.solve(method="fast")
    capped = PMedian.from_cost_matrix(COST_A, W_A, p=1, baseline_min=B_A, capacity=100)
    with pytest.raises(InvalidValueError, match="'enumerate' does not take capacity"):
        capped.solve(method="enumerate")
    # auto on a small case enumerates: same answer as the MIP
    assert model.solve().selected == model.solve(method="mip").selected == (0,)


def test_pmedian_mip_on_partial_reachability_with_baseline() -> None:
    # rows 0-1 have a hospital at 50; row 2 none, only site 1 reaches it.
    cost = np.array([[10.0, 40.0], [30.0, 45.0], [INF, 60.0]])
    b = np.array([50.0, 50.0, INF])
    res = PMedian.from_cost_matrix(cost, [1.0, 1.0, 1.0], p=1, baseline_min=b)
    mip = res.solve(method="mip")
    # site 1 reaches row 2: 40 + 45 + 60 = 145 and nobody unreached (site 0: 1 unreached)
    assert mip.selected == (1,)
    assert mip.objective == 145.0
    assert mip.unreached_population == 0.0
    assert res.solve(method="enumerate").selected == (1,)


@pytest.mark.parametrize("p", [2, 3])
def test_mip_equals_enumeration_on_a_county_like_case(p: int) -> None:
    # 400 cells x 15 centres, a hospital baseline, continuous minutes (no aggregation)
    rng = np.random.default_rng(11)
    xy = rng.uniform(0, 40, size=(400, 2))
    sites = rng.uniform(0, 40, size=(15, 2))
    cost = np.hypot(*(xy[:, None, :] - sites[None, :, :]).transpose(2, 0, 1)) * 2.0 + 3.0
    base = np.hypot(*(xy - [20.0, 20.0]).T) * 2.0 + 3.0
    w = rng.lognormal(3.0, 1.0, size=400)
    for cls, kw in ((PMedian, {}), (MCLP, {"threshold_min": 30.0}), (PCenter, {})):
        model = cls.from_cost_matrix(cost, w, p=p, baseline_min=base, **kw)
        mip, enum = model.solve(method="mip"), model.solve(method="enumerate")
        assert mip.objective == pytest.approx(enum.objective, rel=1e-9), cls.__name__
        assert mip.status == "optimal"
        assert mip.gap <= 1e-6


# --------------------------------------------------------------------------- set-aggregated model


def test_set_model_shares_one_z_per_candidate_set() -> None:
    # rows 0 and 2 have the same order; row 1 reaches {0, 1} through {1}, capped at 2.5
    E = np.array([[1.0, 2.0, 3.0], [2.0, 1.0, 3.0], [1.0, 2.0, 3.0]])
    model = set_model(E, np.array([10.0, 2.5, 10.0]), np.array([1.0, 2.0, 4.0]), 1)
    assert model.n_levels == 8  # 3 + 2 + 3 levels below the caps
    # sets by key: {0} = 1*(2-1) + 4*(2-1); {1} = 2*(2-1); {0,1} = 1*(3-2) + 2*(2.5-2) + 4*(3-2)
    # ({0, 1, 2} holds m - p + 1 = 3 sites: any site hits it, z fixed at 0 and left out)
    np.testing.assert_allclose(model.z_cost, [5.0, 2.0, 6.0])
    assert model.const == 7.0  # 1*1 + 2*1 + 4*1
    sel, obj = solve_set_model(
        model, 1, time_limit_s=None, accept_suboptimal=False, log=SolveLog(), what="t"
    )
    # site 0: 1 + 2*2 + 4*1 = 9; site 1: 2 + 2*1 + 4*2 = 12; site 2: 3 + 2*2.5 + 4*3 = 20
    assert sel.tolist() == [0]
    assert obj == pytest.approx(9.0)


@st.composite
def level_instances(draw):
    n = draw(st.integers(1, 12))
    m = draw(st.integers(1, 6))
    p = draw(st.integers(1, m))
    E = np.array(draw(st.lists(st.integers(0, 6), min_size=n * m, max_size=n * m)), float)
    E = E.reshape(n, m)
    E[E == 6] = INF
    cap = np.array(draw(st.lists(st.integers(1, 7), min_size=n, max_size=n)), float)
    w = np.array(draw(st.lists(st.integers(1, 9), min_size=n, max_size=n)), float)
    return np.minimum(E, cap[:, None]), cap, w, p


@settings(max_examples=40, deadline=None)
@given(inst=level_instances())
def test_aggregated_and_plain_set_models_have_the_same_optimum(inst) -> None:
    E, cap, w, p = inst
    kw = {"time_limit_s": None, "accept_suboptimal": False, "what": "t"}
    agg = set_model(E, cap, w, p)
    plain = set_model(E, cap, w, p, aggregate=False)
    assert agg.n_z <= plain.n_z <= plain.n_levels
    sel_agg, obj_agg = solve_set_model(agg, p, log=SolveLog(), **kw)
    sel_plain, obj_plain = solve_set_model(plain, p, log=SolveLog(), **kw)

    def exact(sel) -> float:
        return float(w @ np.minimum(E[:, list(sel)].min(axis=1), cap))

    brute = min(exact(s) for s in itertools.combinations(range(E.shape[1]), p))
    # the chosen sets are optimal exactly; the solver's own objective only to its tolerance
    assert exact(sel_agg) == brute
    assert exact(sel_plain) == brute
    assert obj_agg == pytest.approx(brute, rel=1e-5, abs=1e-5)
    assert obj_plain == pytest.approx(brute, rel=1e-5, abs=1e-5)


@settings(max_examples=40, deadline=None)
@given(inst=level_instances(), block=st.integers(1, 5))
def test_set_model_built_in_blocks_equals_one_pass(inst, block) -> None:
    # a large county's model is built SET_MODEL_BLOCK rows at a time; on any instance the
    # blocks give the same sets, order and constraints (costs up to summation order)
    import coverkit.siting.base as base

    E, cap, w, p = inst
    one = set_model(E, cap, w, p)
    saved = base.SET_MODEL_BLOCK
    base.SET_MODEL_BLOCK = block
    try:
        blocked = set_model(E, cap, w, p)
    finally:
        base.SET_MODEL_BLOCK = saved
    assert blocked.n_levels == one.n_levels
    assert blocked.n_z == one.n_z
    np.testing.assert_allclose(blocked.z_cost, one.z_cost, rtol=1e-12)
    assert blocked.const == pytest.approx(one.const, rel=1e-12)
    for name in ("rows", "cols", "vals", "lb"):
        np.testing.assert_array_equal(getattr(blocked, name), getattr(one, name), err_msg=name)


def test_read_only_inputs_reuse_their_models_with_the_same_results() -> None:
    # read-only matrices (as a plan passes them) are aggregated once and reused; each
    # model still gives exactly what it gives on writable copies
    cost, w, base = county_like(3_000, 8, seed=3)
    frozen = [a.copy() for a in (cost, w, base)]
    for a in frozen:
        a.flags.writeable = False
    for cls, kw in ((PMedian, {}), (MCLP, {"threshold_min": 30.0})):
        for p in (1, 2, 1):
            a = cls.from_cost_matrix(cost, w, p=p, baseline_min=base, **kw).solve()
            b = cls.from_cost_matrix(frozen[0], frozen[1], p=p, baseline_min=frozen[2], **kw)
            b = b.solve()
            assert a.selected == b.selected, (cls.__name__, p)
            assert a.objective == b.objective


def county_like(n: int, m: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cells x township centres: access minutes + road-like distance, a hospital baseline."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 40, size=(n, 2))
    sites = rng.uniform(2, 38, size=(m, 2))
    diff = xy[:, None, :] - sites[None, :, :]
    road = 0.6 * np.abs(diff).sum(axis=2) + 0.6 * np.hypot(diff[..., 0], diff[..., 1])
    access = rng.gamma(2.0, 3.0, size=n)
    cost = access[:, None] + 1.5 * road
    base = access + 1.8 * np.hypot(*(xy - [4.0, 4.0]).T)
    w = rng.lognormal(1.0, 1.2, size=n) * (rng.random(n) < 0.8)
    return cost, w, base


def test_county_scale_mip_equals_enumeration_and_auto_uses_the_mip() -> None:
    cost, w, base = county_like(50_000, 12, seed=5)
    cases = ((PMedian, {}, (1, 2)), (MCLP, {"threshold_min": 30.0}, (2,)), (PCenter, {}, (2,)))
    for cls, kw, ps in cases:
        for p in ps:
            model = cls.from_cost_matrix(cost, w, p=p, baseline_min=base, **kw)
            auto, enum = model.solve(), model.solve(method="enumerate")
            assert auto.method == "mip", cls.__name__
            assert enum.method == "enumerate"
            assert auto.selected == enum.selected, (cls.__name__, p)
            assert auto.objective == pytest.approx(enum.objective, rel=1e-9)
            assert auto.status == "optimal"
            assert 0.0 <= auto.gap <= 1e-6
    # 50,000 distinct rows share a few dozen candidate sets
    model = PMedian.from_cost_matrix(cost, w, p=1, baseline_min=base)
    sets = model.aggregated_model()
    assert sets.n_z < 500 < 50_000 <= sets.n_levels


def test_compare_objectives_shows_where_the_optima_disagree() -> None:
    # A (10 people) is near site 0, B (12) near site 1, C (1) far from both but
    # 40 min from site 2, D (2) reaches nothing; hospitals 100 min away.
    cost = np.array([[10.0, 35.0, 45.0], [40.0, 25.0, 45.0], [90.0, 60.0, 40.0], [INF, INF, INF]])
    w = np.array([10.0, 12.0, 1.0, 2.0])
    base = np.array([100.0, 100.0, 100.0, INF])
    table = compare_objectives(
        cost, w, baseline_min=base, p=1, threshold_min=30,
        candidate_ids=["a", "b", "c"], candidate_names=["甲", "乙", "丙"],
    )  # fmt: skip
    assert table["objective"].tolist() == ["pmedian", "mclp", "pcenter"]
    # weighted minutes: site 0 = 100 + 480 + 90 = 670, site 1 = 350 + 300 + 60 = 710,
    # site 2 = 450 + 540 + 40 = 1030; within 30: 10, 12, 0; worst: 90, 60, 45
    assert table["selected"].tolist() == [(0,), (1,), (2,)]
    assert table["selected_ids"].tolist() == [("a",), ("b",), ("c",)]
    assert table["selected_names"].tolist() == [("甲",), ("乙",), ("丙",)]
    np.testing.assert_allclose(table["mean_min"], [670 / 23, 710 / 23, 1030 / 23])
    np.testing.assert_allclose(table["pop_within"], [10.0, 12.0, 0.0])
    np.testing.assert_allclose(table["share_within"], [10 / 25, 12 / 25, 0.0])
    np.testing.assert_allclose(table["worst_min"], [90.0, 60.0, 45.0])
    np.testing.assert_allclose(table["unreached_population"], [2.0, 2.0, 2.0])
    assert set(table["status"]) == {"optimal"}
    with pytest.raises(InfeasibleError, match="p=4"):
        compare_objectives(cost, w, baseline_min=base, p=4, threshold_min=30)


def test_highs_banner_never_reaches_stdout():
    """HiGHS prints its banner from C++ on the first instance of a process: never to our stdout."""
    import subprocess
    import sys

    code = (
        "from coverkit.siting.benders import new_highs\n"
        "h = new_highs(); h2 = new_highs()\n"
        "print('only this line')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "only this line\n"
