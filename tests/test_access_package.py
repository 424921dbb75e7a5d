"""coverkit's 2SFCA / E2SFCA against the `access` package (PySAL) on a small hand-made case.

The package (1.1.x) computes, in ``access.fca.two_stage_fca``, exactly Luo & Wang's two
steps with one weight function used in both: Step 1 ``R_j = S_j / Σ_i P_i W(d_ij)``
over ``d_ij ≤ max_cost``, Step 2 ``A_i = Σ_j R_j W(d_ij)``; it does not normalise
unless ``normalize=True`` (not used here). Differences handled below:

- it takes long tables (origin, dest, cost), so unreachable pairs are simply left out;
- rows that reach no site are missing from its result (NaN in ``access_df``): ours
  gives 0, so its NaN is read as 0;
- its ``weights.gaussian(σ)`` is the bare ``exp(-½ (d/σ)²)`` (cut at max_cost);
  ours is Dai's (2010) form shifted and scaled to reach 0 at T,
  ``(g(d) − g(T)) / (1 − g(T))``. The comparable quantity is the package run with
  that weight built from its own ``gaussian`` (a different but equally valid decay
  would give a different index, so comparing the bare form would compare definitions,
  not implementations).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from coverkit.accessibility import two_step_fca

access = pytest.importorskip("access")

# The package (not coverkit) still calls pandas with ``inplace=``, deprecated in pandas 3.1.
pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword")

# 5 demand areas × 3 sites, minutes; inf: no road (left out of the package's table).
COST = np.array(
    [
        [4.0, 22.0, np.inf],
        [12.0, 18.0, 41.0],
        [25.0, 9.0, 33.0],
        [31.0, 15.0, 6.0],
        [np.inf, 40.0, 35.0],  # reaches nothing within 30 min
    ]
)
DEMAND = np.array([1200.0, 800.0, 2500.0, 650.0, 300.0])
SUPPLY = np.array([40.0, 15.0, 8.0])  # beds
T = 30.0


def _package(weight_fn, *, enhanced: bool) -> np.ndarray:
    demand_df = pd.DataFrame({"geoid": range(5), "pop": DEMAND})
    supply_df = pd.DataFrame({"geoid": [100, 101, 102], "beds": SUPPLY})
    rows, cols = np.nonzero(np.isfinite(COST))
    cost_df = pd.DataFrame({"origin": rows, "dest": cols + 100, "cost": COST[rows, cols]})
    a = access.Access(
        demand_df=demand_df,
        demand_index="geoid",
        demand_value="pop",
        supply_df=supply_df,
        supply_index="geoid",
        supply_value=["beds"],
        cost_df=cost_df,
        cost_origin="origin",
        cost_dest="dest",
        cost_name="cost",
    )
    run = a.enhanced_two_stage_fca if enhanced else a.two_stage_fca
    out = run(name="fca", max_cost=T, weight_fn=weight_fn)
    return out["fca_beds"].reindex(range(5)).fillna(0.0).to_numpy()


def test_classic_2sfca_matches_access():
    ours = two_step_fca(COST, DEMAND, SUPPLY, threshold_min=T, decay="none")
    theirs = _package(None, enhanced=False)
    np.testing.assert_allclose(ours.index, theirs, rtol=0, atol=1e-9)
    assert ours.index[4] == 0.0
    assert ours.index[0] > 0


def test_e2sfca_step_matches_access():
    # The package's own default E2SFCA weight: step_fn({10: 1, 20: 0.68, 30: 0.22})
    fn = access.weights.step_fn({10: 1.0, 20: 0.68, 30: 0.22})
    ours = two_step_fca(COST, DEMAND, SUPPLY, threshold_min=T, decay="step")
    theirs = _package(fn, enhanced=True)
    np.testing.assert_allclose(ours.index, theirs, rtol=0, atol=1e-9)
    default = _package(None, enhanced=True)  # same weights when none is given
    np.testing.assert_allclose(ours.index, default, rtol=0, atol=1e-9)


@pytest.mark.parametrize("sigma", [T, 12.0])
def test_gaussian_matches_access_built_from_its_gaussian(sigma):
    g = access.weights.gaussian(sigma)
    edge = g(T)
    assert edge == pytest.approx(math.exp(-0.5 * (T / sigma) ** 2), rel=1e-15)

    def dai(d):  # Dai (2010): g shifted and scaled to be 1 at 0 and 0 at T
        return (g(d) - edge) / (1.0 - edge)

    ours = two_step_fca(COST, DEMAND, SUPPLY, threshold_min=T, decay="gaussian", sigma_min=sigma)
    theirs = _package(dai, enhanced=True)
    np.testing.assert_allclose(ours.index, theirs, rtol=0, atol=1e-9)
