"""The one-pass / aggregated siting paths give exactly what the plain per-cell ones give.

A large county's siting reads its read-only OD matrix once: one set model for every p
(a larger p truncates it), coverage groups from per-row bitmask keys, minutes after a
selection kept while its figures are asked, every pass in blocks of rows. These tests
compare each with the plain evaluation on small random matrices (ties, unreachable
pairs, no baseline for some rows, zero weights), and the blocked paths (forced with
tiny blocks) with the unblocked ones.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import coverkit.siting.base as base
from coverkit.siting import (
    MCLP,
    PCenter,
    PMedian,
    choose_subcentres,
    compare_objectives,
    coverage_table,
    evaluate_selection,
    explain_sites,
)
from coverkit.siting.base import set_model

INF = np.inf


@st.composite
def instances(draw):
    """Cells x candidates minutes (0..6, 7 = unreachable), baselines (some inf), weights."""
    n = draw(st.integers(2, 14))
    m = draw(st.integers(1, 5))
    C = np.array(draw(st.lists(st.integers(0, 7), min_size=n * m, max_size=n * m)), float)
    C = C.reshape(n, m) * 5.0
    C[C == 35.0] = INF
    b = np.array(draw(st.lists(st.integers(0, 9), min_size=n, max_size=n)), float) * 5.0
    b[b == 45.0] = INF
    w = np.array(draw(st.lists(st.integers(0, 4), min_size=n, max_size=n)), float)
    w[0] = max(w[0], 1.0)
    C[0, 0] = min(C[0, 0], 30.0)  # some candidate reaches a populated row
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    return C.astype(dtype), b, w


def frozen(*arrays):
    """Read-only copies (as a plan passes its matrices: the memoised paths)."""
    out = []
    for a in arrays:
        a = np.array(a)
        a.flags.writeable = False
        out.append(a)
    return out


class TinyBlocks:
    """Force every blocked path (set model, keys, minutes after) with blocks of ``k`` rows."""

    def __init__(self, k: int) -> None:
        self.k = k

    def __enter__(self):
        self.saved = base.SET_MODEL_BLOCK, base.AFTER_BLOCK
        base.SET_MODEL_BLOCK = base.AFTER_BLOCK = self.k

    def __exit__(self, *exc):
        base.SET_MODEL_BLOCK, base.AFTER_BLOCK = self.saved


def usable_count(C, w):
    return int(np.isfinite(C[w > 0]).any(axis=0).sum())


@settings(max_examples=40, deadline=None)
@given(inst=instances(), T=st.sampled_from([0.0, 10.0, 30.0, 45.0, INF]))
def test_mclp_figures_equal_the_plain_evaluation(inst, T) -> None:
    C, b, w = inst
    k = usable_count(C, w)
    for arrays in ((C, b, w), frozen(C, b, w)):
        for p in range(1, k + 1):
            res = MCLP.from_cost_matrix(
                arrays[0], arrays[2], p=p, baseline_min=arrays[1], threshold_min=T
            ).solve(tie_break=False)
            plain = evaluate_selection(C, w, res.selected, baseline_min=b, thresholds_min=(T,))
            assert res.objective == plain[f"pop_within_{T:g}_min"]
            assert res.coverage_after == plain[f"pop_within_{T:g}_min"]
            usable = np.flatnonzero(np.isfinite(C[w > 0]).any(axis=0))
            best = max(
                evaluate_selection(C, w, s, baseline_min=b, thresholds_min=(T,))[
                    f"pop_within_{T:g}_min"
                ]
                for s in itertools.combinations(usable, p)
            )
            assert res.objective == best


def plain_rows(C, b, w):
    """The p-median rows as the plain model takes them: populated, usable, capped."""
    rows = np.flatnonzero(w > 0)
    cols = np.flatnonzero(np.isfinite(C[rows]).any(axis=0))
    E = C[rows][:, cols]
    far = np.where(np.isfinite(E), E, -INF).max(axis=1)
    cap = np.where(np.isfinite(b[rows]), b[rows], far)
    ok = np.isfinite(cap)
    return np.minimum(E[ok], cap[ok, None]), cap[ok], w[rows[ok]]


@settings(max_examples=40, deadline=None)
@given(inst=instances(), block=st.integers(1, 4))
def test_set_model_of_each_p_equals_the_one_built_for_it(inst, block) -> None:
    # one pass builds the model of p = 1; every larger p truncates it: the same model
    C, b, w = inst
    E, cap, wr = plain_rows(C, b, w)
    k = usable_count(C, w)
    for blocks in (None, block):
        fC, fb, fw = frozen(C, b, w)  # fresh arrays: nothing memoised from the other pass
        with TinyBlocks(blocks or base.SET_MODEL_BLOCK):
            for p in [*range(1, k + 1), 1]:
                got = PMedian.from_cost_matrix(fC, fw, p=p, baseline_min=fb).aggregated_model()
                want = set_model(E, cap, wr, p)
                assert got.n_z == want.n_z
                assert got.n_levels == want.n_levels
                for name in ("rows", "cols", "vals", "lb"):
                    np.testing.assert_array_equal(getattr(got, name), getattr(want, name))
                np.testing.assert_allclose(got.z_cost, want.z_cost, rtol=1e-12)


def tables(C, b, w):
    """Every table the plan's siting stage makes, on these arrays."""
    k = usable_count(C, w)
    ps = tuple(range(1, min(k, 3) + 1))
    choice = choose_subcentres(C, w, baseline_min=b, p_values=ps, threshold_min=30.0)
    out = {
        "choice": choice.table,
        "coverage": coverage_table(
            C, w, baseline_min=b, thresholds_min=(10.0, 30.0), p_values=(1, 2, 3)
        ),
        "compare": compare_objectives(C, w, baseline_min=b, p=choice.recommended_p),
    }
    explained = explain_sites(C, w, choice.selected, baseline_min=b, threshold_min=30.0)
    out["sites"], out["runners_up"] = explained.sites, explained.runners_up
    out["assign"] = pd.DataFrame({"a": choice.results[choice.recommended_p].assignment})
    return out


@settings(max_examples=25, deadline=None)
@given(inst=instances(), block=st.integers(1, 3))
def test_tables_are_the_same_read_only_writable_and_blocked(inst, block) -> None:
    C, b, w = inst
    plain = tables(C, b, w)
    memoised = tables(*frozen(C, b, w))
    with TinyBlocks(block):
        blocked = tables(*frozen(C, b, w))
    for name, table in plain.items():
        table = table.drop(columns=["solve_time_s"], errors="ignore")
        for other in (memoised[name], blocked[name]):
            pd.testing.assert_frame_equal(
                table, other.drop(columns=["solve_time_s"], errors="ignore"), obj=name
            )


@settings(max_examples=30, deadline=None)
@given(inst=instances(), block=st.integers(1, 3))
def test_pcenter_blocked_covers_give_the_same_sites(inst, block) -> None:
    C, b, w = inst
    k = usable_count(C, w)
    for p in range(1, k + 1):
        one = PCenter.from_cost_matrix(C, w, p=p, baseline_min=b).solve()
        with TinyBlocks(block):
            blocked = PCenter.from_cost_matrix(C, w, p=p, baseline_min=b).solve()
        assert blocked.selected == one.selected
        assert blocked.objective == one.objective


def test_float32_threshold_float32_cannot_hold_is_measured_as_minutes_after() -> None:
    # minutes after a plan are float64: a float32 0.1 lies above the threshold 0.1, so the
    # population within is that of the plain evaluation, whatever the matrix's dtype
    C = np.array([[0.1], [0.05], [1.0]], dtype=np.float32)
    w = np.array([1.0, 2.0, 4.0])
    C, w = frozen(C, w)
    res = MCLP.from_cost_matrix(C, w, p=1, threshold_min=0.1).solve(tie_break=False)
    plain = evaluate_selection(C, w, [0], thresholds_min=(0.1,))["pop_within_0.1_min"]
    assert res.objective == plain == pytest.approx(2.0)
