"""A planner's set vs the optimum, the coverage target and the capacitated assignment."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coverkit.errors import InvalidValueError
from coverkit.siting import (
    assign_with_capacity,
    compare_with_optimum,
    smallest_p_for_share,
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
# times after each pair (capped at 60) and figures:
#   {0,1}: 5, 10, 45 -> 4750 person-min, within 25: rows 0, 1 = 300, worst 45
#   {0,2}: 5, 30, 20 -> 7500 person-min, within 25: rows 0, 2 = 150, worst 30
#   {1,2}: 30, 10, 20 -> 6000 person-min, within 25: rows 1, 2 = 250, worst 30


# ------------------------------------------------------------------ compare_with_optimum


def test_your_pair_beside_the_pmedian_optimum() -> None:
    cmp = compare_with_optimum(
        COST, W, [2, 0], baseline_min=B, threshold_min=T, candidate_names=["A", "B", "C"]
    )
    assert cmp.yours == (0, 2)
    assert cmp.yours_names == ("A", "C")
    assert cmp.optimum == (0, 1)
    assert cmp.optimum_names == ("A", "B")
    table = cmp.table().set_index("measure")
    assert list(table.index) == [
        "pop_within", "share_within", "newly_within", "mean_min", "worst_min",
        "unreached_population",
    ]  # fmt: skip
    assert list(table.columns) == ["unit", "yours", "optimum", "gap_pct"]
    assert table.loc["pop_within", "yours"] == 150.0
    assert table.loc["pop_within", "optimum"] == 300.0
    assert table.loc["pop_within", "gap_pct"] == pytest.approx(50.0)  # (300-150)/300
    assert table.loc["share_within", "gap_pct"] == pytest.approx(50.0)
    # nobody is within 25 min of the hospital (60 min), so newly within = within
    assert table.loc["newly_within", "yours"] == 150.0
    assert table.loc["newly_within", "gap_pct"] == pytest.approx(50.0)
    assert table.loc["mean_min", "yours"] == pytest.approx(7500 / 350)
    assert table.loc["mean_min", "optimum"] == pytest.approx(4750 / 350)
    assert table.loc["mean_min", "gap_pct"] == pytest.approx((7500 - 4750) / 4750 * 100)
    # your worst trip (30) is shorter than the p-median optimum's (45): a negative gap
    assert table.loc["worst_min", "gap_pct"] == pytest.approx((30 - 45) / 45 * 100)
    assert table.loc["unreached_population", "gap_pct"] == 0.0  # 0 vs 0
    # swaps: out 0, in 1 -> {1,2} 6000; out 2, in 1 -> {0,1} 4750 (the best)
    swap = cmp.swap
    assert (swap["out"], swap["in"], swap["out_name"], swap["in_name"]) == (2, 1, "C", "B")
    assert swap["objective_before"] == pytest.approx(7500.0)
    assert swap["objective_after"] == pytest.approx(4750.0)
    assert swap["improvement"] == pytest.approx(2750.0)
    assert swap["measures"]["pop_within"] == 300.0


def test_required_site_is_never_swapped_out() -> None:
    cmp = compare_with_optimum(COST, W, [0, 2], baseline_min=B, threshold_min=T, required=[2])
    assert cmp.optimum == (1, 2)  # best pair containing site 2: 6000
    assert (cmp.swap["out"], cmp.swap["in"]) == (0, 1)
    assert cmp.swap["improvement"] == pytest.approx(1500.0)  # 7500 -> 6000


def test_mclp_comparison_and_no_improving_swap() -> None:
    cmp = compare_with_optimum(COST, W, [1, 2], baseline_min=B, threshold_min=T, objective="mclp")
    assert cmp.optimum == (0, 1)
    assert cmp.gap_pct["pop_within"] == pytest.approx((300 - 250) / 300 * 100)
    # out 2, in 0 -> {0,1} 300 (out 1, in 0 -> {0,2} 150)
    assert (cmp.swap["out"], cmp.swap["in"], cmp.swap["improvement"]) == (2, 0, 50.0)
    best = compare_with_optimum(COST, W, [0, 1], baseline_min=B, threshold_min=T)
    assert best.swap is None
    assert all(g == 0.0 for g in best.gap_pct.values())


def test_gap_with_a_zero_optimum_is_nan_or_zero() -> None:
    # T = 1: nobody is within reach by either set; the population gaps are 0/0 -> 0
    cmp = compare_with_optimum(COST, W, [0, 2], baseline_min=B, threshold_min=1.0)
    assert cmp.gap_pct["pop_within"] == 0.0
    # T = 6: only row 0 (5 min from site 0) is within; yours {1,2} has 0, optimum {0,1} 100
    cmp = compare_with_optimum(COST, W, [1, 2], baseline_min=B, threshold_min=6.0)
    assert cmp.gap_pct["pop_within"] == pytest.approx(100.0)


@pytest.mark.parametrize("selected", [[], [0, 0], [5]])
def test_compare_rejects_bad_selections(selected) -> None:
    with pytest.raises(InvalidValueError):
        compare_with_optimum(COST, W, selected, baseline_min=B, threshold_min=T)


def _key(cost, w, b, sel, objective, T):
    t = np.minimum(b, cost[:, list(sel)].min(axis=1))
    reach = np.isfinite(t)
    unreached = float(w[~reach].sum())
    pm = float(w[reach] @ t[reach])
    if objective == "mclp":  # ties on coverage: fewer person-minutes
        return (-float(w[t <= T].sum()), pm)
    if objective == "pcenter":
        pop = reach & (w > 0)
        return (unreached, float(t[pop].max()) if pop.any() else -INF)
    return (unreached, pm)


@st.composite
def swap_instances(draw):
    n = draw(st.integers(2, 8))
    m = draw(st.integers(3, 5))
    vals = st.one_of(st.integers(0, 90).map(float), st.just(INF))
    cost = np.array(draw(st.lists(vals, min_size=n * m, max_size=n * m))).reshape(n, m)
    cost[0, 0] = 10.0  # some candidate reaches some row
    w = np.array(draw(st.lists(st.integers(0, 100), min_size=n, max_size=n)), dtype=float)
    w[0] += 1
    b = np.array(draw(st.lists(st.one_of(st.integers(0, 120).map(float), st.just(INF)),
                               min_size=n, max_size=n)))  # fmt: skip
    sel = draw(st.lists(st.integers(0, m - 1), unique=True, min_size=1, max_size=m - 1))
    return cost, w, b, sel


@settings(max_examples=30, deadline=None)
@given(inst=swap_instances(), T=st.integers(0, 90),
       objective=st.sampled_from(["pmedian", "mclp", "pcenter"]))  # fmt: skip
def test_best_swap_equals_brute_force(inst, T, objective) -> None:
    cost, w, b, sel = inst
    usable = [j for j in range(cost.shape[1]) if np.isfinite(cost[w > 0, j]).any()]
    if len(usable) < len(sel):
        return  # the optimum of that many sites does not exist
    cmp = compare_with_optimum(cost, w, sel, baseline_min=b, threshold_min=T, objective=objective)
    before = _key(cost, w, b, sel, objective, T)
    swaps = [
        (_key(cost, w, b, [s for s in sel if s != o] + [i], objective, T), o, i)
        for o in sorted(sel)
        for i in usable
        if i not in sel
    ]
    best = min(swaps, default=None)
    # MCLP improves on coverage alone; the others on (unreached, minutes) lexicographically
    ranked = (lambda k: k[:1]) if objective == "mclp" else (lambda k: k)
    if best is None or not ranked(best[0]) < ranked(before):
        assert cmp.swap is None
        return
    assert cmp.swap is not None
    after = [s for s in sel if s != cmp.swap["out"]] + [cmp.swap["in"]]
    assert _key(cost, w, b, after, objective, T) == pytest.approx(best[0])
    assert (cmp.swap["out"], cmp.swap["in"]) == (best[1], best[2])


# ------------------------------------------------------------------ smallest_p_for_share


def test_smallest_p_hand_curve() -> None:
    # p = 0: nobody within 25 of the hospital; p = 1: site 1 covers row 1 (200 of 350);
    # p = 2: {0,1} covers 300 = 0.857 >= 0.8
    res = smallest_p_for_share(COST, W, 0.8, baseline_min=B, threshold_min=T)
    assert (res.p, res.reached) == (2, True)
    assert res.curve["p"].tolist() == [0, 1, 2]
    assert res.curve["population_within"].tolist() == [0.0, 200.0, 300.0]
    assert res.curve["selected_ids"].tolist() == [(), (1,), (0, 1)]
    assert res.selected_ids == (0, 1)
    assert res.max_share == 1.0


def test_smallest_p_with_required_and_exact_share() -> None:
    # site 2 required: p = 1 {2} 50; p = 2 {1,2} 250 (0.714); p = 3 all 350 (1.0)
    res = smallest_p_for_share(COST, W, 0.8, baseline_min=B, threshold_min=T, required=[2])
    assert res.p == 3
    assert res.curve["p"].tolist() == [1, 2, 3]
    assert res.curve["population_within"].tolist() == [50.0, 250.0, 350.0]
    # a share met exactly (300 / 350) is reached at p = 2
    exact = smallest_p_for_share(COST, W, 300 / 350, baseline_min=B, threshold_min=T)
    assert exact.p == 2


def test_smallest_p_not_reached() -> None:
    # T = 4: no site and no hospital is within 4 min of anyone
    res = smallest_p_for_share(COST, W, 0.5, baseline_min=B, threshold_min=4.0)
    assert (res.p, res.reached, res.max_share) == (None, False, 0.0)
    assert res.curve["p"].tolist() == [0, 1, 2, 3]
    capped = smallest_p_for_share(COST, W, 0.95, baseline_min=B, threshold_min=T, max_p=2)
    assert capped.p is None
    assert capped.curve["p"].tolist() == [0, 1, 2]


@pytest.mark.parametrize("share", [0.0, -0.1, 1.5, float("nan")])
def test_smallest_p_rejects_bad_shares(share) -> None:
    with pytest.raises(InvalidValueError, match="share"):
        smallest_p_for_share(COST, W, share, baseline_min=B, threshold_min=T)


@st.composite
def target_instances(draw):
    n = draw(st.integers(2, 8))
    m = draw(st.integers(2, 5))
    cost = np.array(
        draw(st.lists(st.integers(0, 90), min_size=n * m, max_size=n * m)), dtype=float
    ).reshape(n, m)
    w = np.array(draw(st.lists(st.integers(0, 100), min_size=n, max_size=n)), dtype=float)
    w[0] += 1
    b = np.array(draw(st.lists(st.integers(0, 120), min_size=n, max_size=n)), dtype=float)
    req = draw(st.lists(st.integers(0, m - 1), unique=True, max_size=2))
    return cost, w, b, req


def _best_within(cost, w, b, p, req, T):
    others = [j for j in range(cost.shape[1]) if j not in req]
    if p == 0:
        return float(w[b <= T].sum())
    return max(
        float(w[np.minimum(b, cost[:, [*req, *extra]].min(axis=1)) <= T].sum())
        for extra in itertools.combinations(others, p - len(req))
    )


@settings(max_examples=30, deadline=None)
@given(inst=target_instances(), T=st.integers(0, 90), share=st.floats(0.01, 1.0))
def test_smallest_p_is_minimal(inst, T, share) -> None:
    cost, w, b, req = inst
    res = smallest_p_for_share(cost, w, share, baseline_min=b, threshold_min=T, required=req)
    goal = share * w.sum() * (1 - 1e-9)
    if not res.reached:
        assert _best_within(cost, w, b, cost.shape[1], req, T) < goal
        return
    assert _best_within(cost, w, b, res.p, req, T) >= goal
    if res.p > len(req):
        assert _best_within(cost, w, b, res.p - 1, req, T) < goal
    assert res.curve["population_within"].is_monotonic_increasing


# ------------------------------------------------------------------ assign_with_capacity

# 3 rows of 100 people, both sites nearer than the hospital (60 min) for every row:
#   row 0: site0 10, site1 20; row 1: site0 10, site1 50; row 2: site0 10, site1 30.
# Without capacity everyone goes to site 0 (300 people, 3000 person-min).
CAP_COST = np.array([[10.0, 20.0], [10.0, 50.0], [10.0, 30.0]])
CAP_W = np.array([100.0, 100.0, 100.0])
CAP_B = np.array([60.0, 60.0, 60.0])


def test_overloaded_site_changes_the_assignment() -> None:
    # site 0 takes 150. Moving a row to site 1 costs 10 (row 0), 40 (row 1), 20 (row 2)
    # per person; the 150 sent away are row 0 (100) and half of row 2 (50):
    # 100*20 + 100*10 + 50*10 + 50*30 = 5000 person-min.
    res = assign_with_capacity(CAP_COST, CAP_W, [0, 1], [150.0, INF], baseline_min=CAP_B)
    load = res.load.set_index("site")
    assert load.loc[0, "demand_nearest"] == 300.0
    assert load.loc[0, "load"] == pytest.approx(150.0)
    assert load.loc[1, "load"] == pytest.approx(150.0)
    assert bool(load.loc[0, "overloaded"])
    assert not bool(load.loc[1, "overloaded"])
    assert load.loc[0, "utilisation"] == pytest.approx(1.0)
    assert res.unserved == pytest.approx(0.0)
    assert res.objective == pytest.approx(5000.0)
    assert res.objective_uncapacitated == pytest.approx(3000.0)
    assert res.assigned.tolist() == [1, 0, 0]  # row 2 splits 50/50: ties to site 0
    assert res.minutes_after.tolist() == pytest.approx([20.0, 10.0, 20.0])
    assert res.mean_min == pytest.approx(5000 / 300)
    assert res.mean_min_uncapacitated == pytest.approx(10.0)


def test_single_source_differs_from_split() -> None:
    # whole rows: site 0 can take one row (100 <= 150); row 1 (saves most) stays,
    # rows 0 and 2 go to site 1: 100*20 + 100*10 + 100*30 = 6000 person-min
    res = assign_with_capacity(
        CAP_COST, CAP_W, [0, 1], [150.0, INF], baseline_min=CAP_B, single_source=True
    )
    assert res.objective == pytest.approx(6000.0)
    assert res.assigned.tolist() == [1, 0, 1]
    assert res.load["load"].tolist() == pytest.approx([100.0, 200.0])


def test_unserved_falls_back_to_the_hospital() -> None:
    # site 0 alone with 100 places: the three rows are alike (10 min, hospital 60), one
    # group of 300 people; 100 are served, 200 go to the hospital at 60 min:
    # 100*10 + 200*60 = 13000 person-min. Split: each row 1/3 at the site, 2/3 at the
    # hospital (10/3 + 40 min, the hospital its largest share).
    res = assign_with_capacity(CAP_COST, CAP_W, [0], 100.0, baseline_min=CAP_B)
    assert res.n_groups == 1
    assert res.unserved == pytest.approx(200.0)
    assert res.load.loc[0, "unserved"] == pytest.approx(200.0)
    assert res.assigned.tolist() == [-1, -1, -1]
    assert res.minutes_after.tolist() == pytest.approx([10 / 3 + 40] * 3)
    assert res.objective == pytest.approx(13000.0)
    # single source: the group's first row in row order takes the site's place
    one = assign_with_capacity(CAP_COST, CAP_W, [0], 100.0, baseline_min=CAP_B, single_source=True)
    assert one.assigned.tolist() == [0, -1, -1]
    assert one.minutes_after.tolist() == [10.0, 60.0, 60.0]
    assert one.objective == pytest.approx(13000.0)


def test_ample_capacity_is_the_nearest_assignment() -> None:
    res = assign_with_capacity(COST, W, [0, 1], [1e6, 1e6], baseline_min=B)
    # nearest: row 0 -> site 0 (5), row 1 -> site 1 (10), row 2 -> site 0 (45 < 60)
    assert res.assigned.tolist() == [0, 1, 0]
    assert res.objective == pytest.approx(res.objective_uncapacitated) == pytest.approx(4750.0)
    assert res.load["load"].tolist() == res.load["demand_nearest"].tolist() == [150.0, 200.0]


def test_capacity_errors() -> None:
    with pytest.raises(InvalidValueError, match="capacity"):
        assign_with_capacity(COST, W, [0, 1], [1.0, 2.0, 3.0], baseline_min=B)
    with pytest.raises(InvalidValueError, match="capacity"):
        assign_with_capacity(COST, W, [0], -1.0, baseline_min=B)


@st.composite
def capacity_instances(draw):
    n = draw(st.integers(1, 10))
    m = draw(st.integers(1, 3))
    cost = np.array(
        draw(st.lists(st.integers(0, 9).map(lambda x: 10.0 * x), min_size=n * m, max_size=n * m))
    ).reshape(n, m)  # few distinct values: rows merge
    w = np.array(draw(st.lists(st.integers(0, 5).map(lambda x: 10.0 * x), min_size=n,
                               max_size=n)))  # fmt: skip
    w[0] += 10
    b = np.array(draw(st.lists(st.integers(0, 12).map(lambda x: 10.0 * x), min_size=n,
                               max_size=n)))  # fmt: skip
    cap = np.array(draw(st.lists(st.integers(0, 100).map(float), min_size=m, max_size=m)))
    return cost, w, b, cap


@settings(max_examples=40, deadline=None)
@given(inst=capacity_instances(), single=st.booleans())
def test_capacity_invariants(inst, single) -> None:
    cost, w, b, cap = inst
    sel = list(range(cost.shape[1]))
    res = assign_with_capacity(cost, w, sel, cap, baseline_min=b, single_source=single)
    load = res.load
    assert (load["load"] <= load["capacity"] + 1e-6).all()
    total = load["load"].sum() + load["unserved"].sum()
    assert total == pytest.approx(load["demand_nearest"].sum())
    assert res.objective >= res.objective_uncapacitated - 1e-6
    if single:  # each row wholly at its place: loads are sums of whole rows
        for k, j in enumerate(sel):
            assert load["load"].iloc[k] == pytest.approx(w[res.assigned == j].sum())
        t = np.where(res.assigned >= 0, cost[np.arange(len(w)), np.maximum(res.assigned, 0)], b)
        assert res.objective == pytest.approx(float(w @ t))
    assert math.isfinite(res.objective)


def _dense_lp(cost, w, b, cap):
    """The split assignment LP written out densely (every row, every site, the hospital)."""
    from scipy.optimize import linprog

    n, k = cost.shape
    allowed = (cost < b[:, None]) & (w[:, None] > 0)
    c = np.concatenate([(w[:, None] * np.where(allowed, cost, 0.0)).ravel(), w * b])
    A_eq = np.hstack([np.kron(np.eye(n), np.ones(k)), np.eye(n)])
    A_ub = np.hstack([np.tile(np.eye(k), n) * np.repeat(w, k), np.zeros((k, n))])
    ub = np.concatenate([allowed.ravel().astype(float), np.ones(n)])
    bounds = list(zip(np.zeros(n * k + n), ub, strict=True))
    res = linprog(c, A_ub=A_ub, b_ub=cap, A_eq=A_eq, b_eq=np.ones(n), bounds=bounds, method="highs")
    return res.fun


@settings(max_examples=30, deadline=None)
@given(inst=capacity_instances())
def test_split_assignment_equals_the_dense_lp(inst) -> None:
    cost, w, b, cap = inst
    res = assign_with_capacity(cost, w, list(range(cost.shape[1])), cap, baseline_min=b)
    assert res.objective == pytest.approx(_dense_lp(cost, w, b, cap), rel=1e-9, abs=1e-6)
