"""Tests of the 2SFCA / E2SFCA accessibility index (coverkit.accessibility)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from coverkit import settings as ck_settings
from coverkit.accessibility import (
    access_by_zone,
    decay_weights,
    step_zones,
    two_step_fca,
)
from coverkit.errors import InvalidValueError

# The hand-made case: 3 demand rows × 2 sites, T = 30 min.
#   row 0: 100 people,  5 min to site 0, 25 min to site 1
#   row 1: 200 people, 15 min to site 0, unreachable from site 1
#   row 2: 300 people, 28 min to site 0,  8 min to site 1
#   site 0: 10 beds, site 1: 5 beds
COST = np.array([[5.0, 25.0], [15.0, np.inf], [28.0, 8.0]], dtype="float32")
DEMAND = np.array([100.0, 200.0, 300.0])
SUPPLY = np.array([10.0, 5.0])


def test_classic_2sfca_by_hand():
    # W = 1 within 30 min. Site 0 reaches all rows: 600 people, R0 = 10/600 = 1/60.
    # Site 1 reaches rows 0 and 2: 400 people, R1 = 5/400 = 1/80.
    # A0 = 1/60 + 1/80 = 7/240; A1 = 1/60; A2 = 7/240.
    r = two_step_fca(COST, DEMAND, SUPPLY, threshold_min=30, decay="none")
    np.testing.assert_allclose(r.catchment_demand, [600.0, 400.0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(r.ratio, [1 / 60, 1 / 80], rtol=1e-15)
    np.testing.assert_allclose(r.index, [7 / 240, 1 / 60, 7 / 240], rtol=1e-15)
    # per 1,000 people: 29.17, 16.67, 29.17 beds
    np.testing.assert_allclose(r.per_1000, [7000 / 240, 1000 / 60, 7000 / 240], rtol=1e-15)
    # supply is conserved: 100·7/240 + 200/60 + 300·7/240 = (700 + 800 + 2100)/240 = 15 beds
    assert DEMAND @ r.index == pytest.approx(15.0, abs=1e-12)


def test_step_e2sfca_by_hand():
    # Zones (0,10] → 1.00, (10,20] → 0.68, (20,30] → 0.22:
    #   W = [[1.00, 0.22], [0.68, 0], [0.22, 1.00]]
    # Site 0: 100·1 + 200·0.68 + 300·0.22 = 100 + 136 + 66 = 302, R0 = 10/302
    # Site 1: 100·0.22 + 300·1 = 322, R1 = 5/322
    # A0 = 10/302 + 0.22·5/322 = 0.0365287; A1 = 0.68·10/302 = 0.0225166;
    # A2 = 0.22·10/302 + 5/322 = 0.0228127
    r = two_step_fca(COST, DEMAND, SUPPLY, threshold_min=30, decay="step")
    np.testing.assert_allclose(r.catchment_demand, [302.0, 322.0], rtol=1e-14)
    np.testing.assert_allclose(r.ratio, [10 / 302, 5 / 322], rtol=1e-14)
    expected = [10 / 302 + 0.22 * 5 / 322, 0.68 * 10 / 302, 0.22 * 10 / 302 + 5 / 322]
    np.testing.assert_allclose(r.index, expected, rtol=1e-14)
    np.testing.assert_allclose(r.index, [0.0365287, 0.0225166, 0.0228127], atol=5e-8)
    assert r.weights == ((10.0, 1.0), (20.0, 0.68), (30.0, 0.22))


def test_gaussian_2sfca_by_hand():
    # G(d) = (exp(-½(d/30)²) − exp(-½)) / (1 − exp(-½)), exp(-½) = 0.6065307:
    #   G(5) = 0.9649455, G(25) = 0.2544483, G(15) = 0.7013666, G(28) = 0.1026116,
    #   G(8) = 0.9112234
    # Site 0: 100·0.9649455 + 200·0.7013666 + 300·0.1026116 = 267.5513
    # Site 1: 100·0.2544483 + 300·0.9112234 = 298.8118
    # R = (10/267.5513, 5/298.8118) = (0.0373760, 0.0167329)
    # A0 = 0.0373760·0.9649455 + 0.0167329·0.2544483 = 0.0403235
    # A1 = 0.0373760·0.7013666 = 0.0262143; A2 = 0.0373760·0.1026116 + 0.0167329·0.9112234
    #    = 0.0190827
    r = two_step_fca(COST, DEMAND, SUPPLY, threshold_min=30, decay="gaussian")
    np.testing.assert_allclose(r.catchment_demand, [267.5513394, 298.8118443], atol=5e-7)
    np.testing.assert_allclose(r.ratio, [0.0373760, 0.0167329], atol=5e-8)
    np.testing.assert_allclose(r.index, [0.0403235, 0.0262143, 0.0190827], atol=5e-8)
    assert r.sigma_min == 30.0


def test_gaussian_weight_is_one_at_zero_and_zero_at_the_threshold():
    w = decay_weights(
        np.array([0.0, 30.0, 30.0001, np.inf, np.nan]), threshold_min=30, decay="gaussian"
    )
    np.testing.assert_allclose(w, [1.0, 0.0, 0.0, 0.0, 0.0], atol=1e-15)
    # a narrower σ stays non-negative and still ends at 0 at T
    w = decay_weights(np.linspace(0, 30, 31), threshold_min=30, decay="gaussian", sigma_min=10)
    assert w[0] == 1.0
    assert abs(w[-1]) < 1e-15
    assert np.all(w >= 0)
    assert np.all(np.diff(w) < 0)


def test_step_bounds_are_inclusive_above_like_access_step_fn():
    # access.weights.step_fn({10: 1, 20: 0.68, 30: 0.22}): 10 → 1, 10.5 → 0.68, 30 → 0.22
    d = np.array([0.0, 10.0, 10.5, 20.0, 30.0, 30.5, np.inf])
    w = decay_weights(d, threshold_min=30, decay="step")
    np.testing.assert_array_equal(w, [1.0, 1.0, 0.68, 0.68, 0.22, 0.0, 0.0])


def test_default_zones_stretch_to_the_threshold():
    assert step_zones(60) == ((20.0, 1.0), (40.0, 0.68), (60.0, 0.22))
    assert step_zones(30) == tuple(ck_settings.access_step_zones_min)
    assert step_zones(45, ((15, 1.0), (45, 0.5))) == ((15.0, 1.0), (45.0, 0.5))


def test_site_without_demand_has_nan_ratio_and_adds_nothing():
    # site 1 reaches only row 1, which is empty: catchment 0, R1 = NaN
    cost = np.array([[5.0, 50.0], [10.0, 5.0]])
    r = two_step_fca(cost, np.array([100.0, 0.0]), np.array([2.0, 7.0]), threshold_min=30)
    assert r.catchment_demand[1] == 0.0
    assert math.isnan(r.ratio[1])
    # R0 = 2/100; A = (0.02, 0.02): site 1's 7 beds reach nobody
    np.testing.assert_allclose(r.index, [0.02, 0.02], rtol=1e-15)


def test_blocks_do_not_change_the_result(monkeypatch):
    rng = np.random.default_rng(3)
    cost = rng.uniform(0, 60, (997, 7)).astype("float32")
    pop = rng.uniform(0, 100, 997)
    sup = rng.uniform(1, 50, 7)
    whole = two_step_fca(cost, pop, sup, threshold_min=40, decay="step")
    monkeypatch.setattr(ck_settings, "row_block_cells", 5)  # 5·20/7 = 14 rows per block
    monkeypatch.setattr(ck_settings, "array_threads", 2)
    blocked = two_step_fca(cost, pop, sup, threshold_min=40, decay="step")
    np.testing.assert_allclose(blocked.index, whole.index, rtol=1e-12)
    np.testing.assert_allclose(blocked.ratio, whole.ratio, rtol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"decay": "linear"}, "decay='linear'"),
        ({"decay": "step", "steps": ((20, 1.0), (10, 0.5))}, "increasing upper"),
        ({"decay": "gaussian", "sigma_min": 0.0}, "sigma_min=0.0"),
        ({"threshold_min": -1}, "threshold_min=-1"),
    ],
)
def test_bad_parameters_are_one_line_errors(kwargs, match):
    args = {"threshold_min": 30, **kwargs}
    with pytest.raises(InvalidValueError, match=match):
        two_step_fca(COST, DEMAND, SUPPLY, **args)


def test_bad_shapes_are_refused():
    with pytest.raises(InvalidValueError, match="demand has shape"):
        two_step_fca(COST, DEMAND[:2], SUPPLY, threshold_min=30)
    with pytest.raises(InvalidValueError, match="supply has a negative"):
        two_step_fca(COST, DEMAND, np.array([1.0, -1.0]), threshold_min=30)


def test_access_by_zone_by_hand():
    # Classic case above, per 1,000: A = (29.1667, 16.6667, 29.1667); zones: rows 0,1 → "甲",
    # row 2 → "乙", zone "丙" empty.
    # 甲: population 300, mean (100·29.1667 + 200·16.6667)/300 = 20.8333, min 16.6667,
    #     max 29.1667, no access 0.  乙: 300, 29.1667.  丙: 0 people, NaN.
    r = two_step_fca(COST, DEMAND, SUPPLY, threshold_min=30)
    df = access_by_zone(r, np.array([0, 0, 1]), DEMAND, ["甲", "乙", "丙"])
    assert list(df.columns) == [
        "zone",
        "population",
        "access_mean",
        "access_min",
        "access_max",
        "population_no_access",
    ]
    assert df["zone"].tolist() == ["甲", "乙", "丙"]
    np.testing.assert_allclose(df["population"], [300.0, 300.0, 0.0])
    np.testing.assert_allclose(
        df["access_mean"][:2], [(100 * 7000 / 240 + 200 * 1000 / 60) / 300, 7000 / 240]
    )
    np.testing.assert_allclose(df["access_min"][:2], [1000 / 60, 7000 / 240])
    np.testing.assert_allclose(df["access_max"][:2], [7000 / 240, 7000 / 240])
    assert df.loc[2, ["access_mean", "access_min", "access_max"]].isna().all()
    np.testing.assert_allclose(df["population_no_access"], [0.0, 0.0, 0.0])


def test_access_by_zone_counts_people_without_access():
    # row 1 reaches no site within 30 min: its 200 people have index 0
    cost = np.array([[5.0], [45.0], [20.0]])
    r = two_step_fca(cost, DEMAND, np.array([3.0]), threshold_min=30)
    df = access_by_zone(r, np.array([0, 0, 0]), DEMAND, ["甲"])
    assert df.loc[0, "population_no_access"] == 200.0
    assert df.loc[0, "access_min"] == 0.0
    # 3 beds over the 400 people within reach: 7.5 per 1,000; mean over 600 people = 5.0
    assert df.loc[0, "access_max"] == pytest.approx(7.5)
    assert df.loc[0, "access_mean"] == pytest.approx(5.0)


def _cases():
    n = st.integers(1, 12)
    m = st.integers(1, 5)

    @st.composite
    def case(draw):
        rows, cols = draw(n), draw(m)
        minutes = st.one_of(st.floats(0, 90, width=32), st.just(math.inf))
        cost = draw(arrays("float32", (rows, cols), elements=minutes))
        pop = draw(arrays("float64", rows, elements=st.one_of(st.just(0.0), st.floats(0.01, 1e4))))
        sup = draw(arrays("float64", cols, elements=st.floats(0, 500)))
        return cost, pop, sup

    return case()


@settings(max_examples=60, deadline=None)
@given(_cases(), st.sampled_from(["none", "gaussian", "step"]))
def test_index_is_non_negative_and_scales_with_supply(case, decay):
    cost, pop, sup = case
    r = two_step_fca(cost, pop, sup, threshold_min=45, decay=decay)
    assert np.all(r.index >= 0)
    doubled = two_step_fca(cost, pop, 2.5 * sup, threshold_min=45, decay=decay)
    np.testing.assert_allclose(doubled.index, 2.5 * r.index, rtol=1e-12, atol=0)


@settings(max_examples=60, deadline=None)
@given(_cases())
def test_classic_2sfca_conserves_supply(case):
    # Σ_i P_i A_i = Σ_j R_j Σ_i P_i W_ij = Σ_j S_j over the sites whose catchment has people
    cost, pop, sup = case
    r = two_step_fca(cost, pop, sup, threshold_min=45, decay="none")
    served = r.catchment_demand > 0
    assert pop @ r.index == pytest.approx(sup[served].sum(), rel=1e-9, abs=1e-9)
