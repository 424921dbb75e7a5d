"""PCenter by set-cover search: OR-Library optima, hand-computed cases, brute force, errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_orlib import ORLIB, read_pmed

from coverkit.errors import InfeasibleError, SolverError
from coverkit.siting import PCenter

INF = np.inf


def pcenter_optima() -> dict[str, float]:
    """The p-centre optima of pmed1-10 (``pcenter_optima.txt``; ``#`` lines are comments)."""
    text = (ORLIB / "pcenter_optima.txt").read_text()
    rows = [ln.split() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    return {a: float(b) for a, b in rows if a != "instance"}


def _pmed(k: int) -> tuple[np.ndarray, int]:
    if not (ORLIB / f"pmed{k}.txt").exists():
        pytest.skip("OR-Library data not present")
    return read_pmed(ORLIB / f"pmed{k}.txt")


# ------------------------------------------------------------------------ OR-Library


@pytest.mark.parametrize("k", range(1, 11))
def test_pmed_pcenter_optimum(k: int) -> None:
    # The radius search alone (no tie-break: it never changes the radius) must reach the
    # published optimum; the set it returns must achieve it.
    dist, p = _pmed(k)
    n = dist.shape[0]
    res = PCenter.from_cost_matrix(dist, np.ones(n), p=p, baseline_min=np.full(n, INF)).solve(
        tie_break=False
    )
    assert res.status == "optimal"
    assert res.method == "mip"
    assert len(res.selected) == p
    assert res.objective == pcenter_optima()[f"pmed{k}"]
    assert dist[:, list(res.selected)].min(axis=1).max() == res.objective


@pytest.mark.parametrize("k", [5])
def test_pmed_tie_break_keeps_the_radius_and_never_adds_minutes(k: int) -> None:
    dist, p = _pmed(k)
    n = dist.shape[0]
    model = PCenter.from_cost_matrix(dist, np.ones(n), p=p, baseline_min=np.full(n, INF))
    plain, tied = model.solve(tie_break=False), model.solve()
    assert tied.objective == plain.objective == pcenter_optima()[f"pmed{k}"]
    minutes = [dist[:, list(r.selected)].min(axis=1).sum() for r in (plain, tied)]
    assert minutes[1] <= minutes[0]
    # the same input gives the same set
    assert model.solve().selected == tied.selected


def test_pmed_time_limit_raises_or_is_accepted() -> None:
    dist, p = _pmed(6)
    n = dist.shape[0]
    model = PCenter.from_cost_matrix(dist, np.ones(n), p=p, baseline_min=np.full(n, INF))
    with pytest.raises(SolverError, match="raise time_limit_s"):
        model.solve(time_limit_s=1e-6)
    res = model.solve(time_limit_s=1e-6, accept_suboptimal=True)
    assert res.status == "time_limit"
    assert len(res.selected) == p
    assert res.objective >= pcenter_optima()["pmed6"]


# ------------------------------------------------------------------- hand-computed

# Greedy trap: 6 villages, 3 candidates; 10 min where a candidate is "near", 50 otherwise.
#   candidate 0 is near villages {0, 1, 2, 3}, 1 near {0, 1, 4}, 2 near {2, 3, 5}.
# p = 2, radius 10: greedy takes candidate 0 (4 villages) and then cannot reach both 4 and 5
# with one more; {1, 2} reaches all six within 10. {0, 1} leaves village 5 at 50, {0, 2}
# village 4 at 50. So the optimum is {1, 2} with worst trip 10 (it needs the exact test).
NEAR = [{0, 1, 2, 3}, {0, 1, 4}, {2, 3, 5}]
COST_TRAP = np.array([[10.0 if i in s else 50.0 for s in NEAR] for i in range(6)])


@pytest.mark.parametrize("method", ["mip", "enumerate"])
def test_greedy_trap_needs_the_exact_cover(method: str) -> None:
    res = PCenter.from_cost_matrix(COST_TRAP, np.ones(6), p=2, baseline_min=np.full(6, INF))
    out = res.solve(method=method)
    assert out.selected == (1, 2)
    assert out.objective == 10.0
    # p = 1: every candidate leaves some village at 50 -> 50; ties: least minutes. Candidate 0:
    # 4*10 + 2*50 = 140; candidate 1: 3*10 + 3*50 = 180; candidate 2: 180 -> candidate 0.
    one = PCenter.from_cost_matrix(COST_TRAP, np.ones(6), p=1, baseline_min=np.full(6, INF))
    assert one.solve(method=method).selected == (0,)
    assert one.solve(method=method).objective == 50.0


def test_search_prints_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    # the trap goes through HiGHS (greedy fails at radius 10); nothing may reach stdout
    PCenter.from_cost_matrix(COST_TRAP, np.ones(6), p=2, baseline_min=np.full(6, INF)).solve(
        tie_break=False, method="mip"
    )
    assert capfd.readouterr().out == ""


@pytest.mark.parametrize("method", ["mip", "enumerate"])
def test_rows_only_some_sites_reach(method: str) -> None:
    # Village 0 reaches only site 0 (5 min), village 1 only site 1 (7 min), village 2 both
    # (20 / 3 min); no hospital. With p = 1 one village stays unreachable either way, so the
    # radius is over the two reached: site 0 -> max(5, 20) = 20, site 1 -> max(7, 3) = 7.
    cost = np.array([[5.0, INF], [INF, 7.0], [20.0, 3.0]])
    w = np.array([10.0, 20.0, 30.0])
    res = PCenter.from_cost_matrix(cost, w, p=1, baseline_min=np.full(3, INF)).solve(method=method)
    assert res.selected == (1,)
    assert res.objective == 7.0
    assert res.unreached_population == 10.0


@pytest.mark.parametrize("method", ["mip", "enumerate"])
def test_hospital_rows_and_an_unreachable_row(method: str) -> None:
    # Hospital times [8, 30, 60, inf]; village 3 has no road at all (left out, unreached).
    # Sites: 0 -> [2, 25, 40]: worst min(b, c) = max(2, 25, 40) = 40;
    #        1 -> [9, 12, 35]: max(8, 12, 35) = 35. The lower bound is 8 (village 0's best).
    cost = np.array([[2.0, 9.0], [25.0, 12.0], [40.0, 35.0], [INF, INF]])
    b = np.array([8.0, 30.0, 60.0, INF])
    w = np.array([1.0, 1.0, 1.0, 5.0])
    res = PCenter.from_cost_matrix(cost, w, p=1, baseline_min=b).solve(method=method)
    assert res.selected == (1,)
    assert res.objective == 35.0
    assert res.unreached_population == 5.0
    np.testing.assert_array_equal(res.assignment, [-1, 1, 1, -1])


def test_too_many_sites_is_one_line() -> None:
    with pytest.raises(InfeasibleError, match=r"^p=4 but only 3 candidate site\(s\)[^\n]*$"):
        PCenter.from_cost_matrix(COST_TRAP, np.ones(6), p=4)


# --------------------------------------------------------------------- brute force


def brute_key(cost: np.ndarray, w: np.ndarray, b: np.ndarray, S: tuple[int, ...]) -> tuple:
    """(unreached populated rows, worst minutes over the reached ones, weighted minutes)."""
    t = np.minimum(b, cost[:, list(S)].min(axis=1))
    pos = w > 0
    reach = pos & np.isfinite(t)
    worst = float(t[reach].max()) if reach.any() else 0.0
    return (int((pos & ~reach).sum()), worst, float((w[reach] * t[reach]).sum()))


@st.composite
def tiny(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    n = draw(st.integers(1, 8))
    m = draw(st.integers(1, 5))
    vals = st.one_of(st.integers(0, 40).map(float), st.just(INF))
    cost = np.array(draw(st.lists(vals, min_size=n * m, max_size=n * m))).reshape(n, m)
    w = np.array(draw(st.lists(st.integers(0, 9), min_size=n, max_size=n)), dtype=float)
    w[draw(st.integers(0, n - 1))] += 1.0
    b = np.array(draw(st.lists(vals, min_size=n, max_size=n)))
    # at least p usable candidates (reaching a populated row)
    usable = int(np.isfinite(cost[w > 0]).any(axis=0).sum())
    if usable == 0:
        cost[np.flatnonzero(w > 0)[0], 0] = 1.0
        usable = 1
    return cost, w, b, draw(st.integers(1, min(3, usable)))


@settings(max_examples=40, deadline=None)
@given(inst=tiny())
def test_matches_brute_force_on_tiny_instances(inst) -> None:
    cost, w, b, p = inst
    usable = np.flatnonzero(np.isfinite(cost[w > 0]).any(axis=0))
    keys = [brute_key(cost, w, b, S) for S in itertools.combinations(usable.tolist(), p)]
    best = min(k[:2] for k in keys)
    model = PCenter.from_cost_matrix(cost, w, p=p, baseline_min=b)
    for kw in ({"tie_break": False}, {}):
        res = model.solve(method="mip", **kw)
        got = brute_key(cost, w, b, res.selected)
        assert got[:2] == best
        if best[1] > 0:
            assert res.objective == best[1]
    if np.isfinite(cost).all():  # every row reached by any set: the tie-break is p-median's
        assert got[2] == pytest.approx(min(k[2] for k in keys if k[:2] == best))
