"""The p-centre model: the shortest worst trip to county-level care."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from coverkit.errors import SolverError
from coverkit.network.blocks import for_blocks
from coverkit.siting.base import (
    SET_MODEL_BLOCK,
    SitingResult,
    SolveLog,
    _aggregate,
    _key_bits,
    _key_dtype,
    _key_rows,
    _mclp_select,
    _Model,
)
from coverkit.siting.benders import _pmedian_select, new_highs
from coverkit.siting.enumeration import _enumerate, _enumerates
from coverkit.vocab import Objective

#: Dominated rows (a row whose candidate set contains another row's) are
#: removed from a covering test only when it has at most this many distinct
#: rows: the check compares every pair (rows² × candidates operations).
DOMINANCE_ROW_LIMIT: int = 3_000


class PCenter(_Model):
    """p-centre: the shortest worst trip to county-level care.

    Minimises ``max_{i: w_i > 0} min(b_i, min_{j in S} c_ij)``.

    Notes
    -----
    Solved as a sequence of covering problems (Minieka 1970): a radius ``r``
    is feasible if ``p`` sites bring every populated row within ``r`` of
    care (existing ∪ chosen). A binary search over the sorted distinct
    values of ``min(c_ij, b_i)``, from a lower bound (the largest best time
    of the rows every plan reaches), finds the least feasible ``r``. Each
    test is a minimum set cover: identical and dominated rows are merged,
    a row no site reaches within ``r`` or a count bound (the ``p`` widest
    candidates reach too few rows) proves it infeasible, a greedy cover of
    at most ``p`` sites proves it feasible, and only the undecided tests go
    to HiGHS (stopping at the first cover of at most ``p`` sites). A greedy
    search first gives an upper bound on ``r``. Rows that no site and no
    existing facility reaches are left out (reported as unreachable); where
    some can be reached only by some sites, the radius is taken over the
    most rows that can be reached (a maximal-covering MIP counts them, and
    each test then allows that many rows outside ``r``). Among the sets
    achieving ``r``, a final p-median solve picks the least
    population-weighted minutes; sets equal on both are told apart by
    HiGHS, which returns the same set for the same input. Capacity is not
    supported.
    """

    name = Objective.PCENTER.value
    allows_capacity = False

    def solve(
        self,
        *,
        time_limit_s: float | None = None,
        accept_suboptimal: bool = False,
        tie_break: bool = True,
        method: str = "auto",
    ) -> SitingResult:
        """Solve to proven optimality (set-cover search with HiGHS, or enumeration when small).

        Parameters
        ----------
        time_limit_s
            Wall-clock limit over all sub-solves, seconds.
        accept_suboptimal
            Return the incumbent instead of raising when the limit is hit.
        method
            ``'mip'``: the set-cover search (HiGHS); ``'enumerate'``: evaluate
            every set of p sites (exact; ties to the first set in column
            order); ``'auto'`` (default): the search, unless the
            set-aggregated model is large (:data:`SET_MODEL_LIMIT`), there
            is no capacity and C(k, p) × demand rows <=
            :data:`ENUMERATION_LIMIT`: then enumeration.
        tie_break
            Among the sets achieving the least radius, choose the least
            population-weighted minutes (one more solve, a p-median with a
            covering constraint: most of the time on instances like
            OR-Library's). Without it, the search's own set: its greedy or
            HiGHS cover, grown to ``p`` sites by the largest saving in
            weighted minutes. Enumeration always breaks ties.

        Returns
        -------
        SitingResult
            ``objective`` is the worst minutes over reachable populated rows.

        Raises
        ------
        SolverError
            If HiGHS fails or stops before proving optimality (unless accepted).
        """
        req = self._with_required(
            lambda m: m.solve(
                time_limit_s=time_limit_s, accept_suboptimal=accept_suboptimal,
                tie_break=tie_break, method=method,
            )
        )  # fmt: skip
        if req is not None:
            return req
        log = SolveLog()
        kw: dict[str, Any] = {
            "time_limit_s": time_limit_s,
            "accept_suboptimal": accept_suboptimal,
            "log": log,
        }
        if _enumerates(self, method):
            inp = self.inputs
            sel = _enumerate(
                inp.cost, inp.baseline, inp.weights, inp.usable, self.p, kind=Objective.PCENTER,
                log=log,
            )  # fmt: skip
            return self._result(sel, self._worst_minutes(sel), log, method="enumerate")
        r, sel = self._least_radius(kw)
        if tie_break:
            sel = self._tie_break(sel, r, kw)
        return self._result(sel, self._worst_minutes(sel), log)

    def _objective_of(self, selected: Any) -> float:
        """Worst minutes (the p-centre objective) of ``selected``."""
        return self._worst_minutes(selected)

    def _worst_minutes(self, selected: Any) -> float:
        """Worst minutes over the populated rows that ``selected`` leaves reachable."""
        t = self._minutes_after(selected)
        reach = (self.inputs.weights > 0) & np.isfinite(t)
        return float(t[reach].max()) if reach.any() else float("inf")

    def _least_radius(self, kw: dict[str, Any]) -> tuple[float, np.ndarray]:
        """Binary search for the least radius ``p`` sites achieve; the radius and ``p`` sites.

        A radius is feasible when at most ``p`` sites leave no more populated
        rows outside it than must stay unreachable in any plan.
        """
        inp = self.inputs
        pos = inp.weights > 0
        cols = np.flatnonzero(inp.usable)
        C, b = _rows_cols(inp.cost, pos, cols), inp.baseline[pos]
        keep = np.isfinite(b) | np.isfinite(C).any(axis=1)
        if not keep.all():
            C, b = C[keep], b[keep]
        slack = 0
        if self._needs_reach_phase():  # some rows reach only some sites: how many stay out?
            _, out = _mclp_select(
                np.isfinite(C), np.isfinite(b), np.ones(b.size), np.ones(cols.size, dtype=bool),
                self.p, what=f"p-centre reachability (p={self.p})", **kw,
            )  # fmt: skip
            slack = round(out)
        search = _RadiusSearch(C, b, self.p, slack, kw)
        r, sel = search.run(_radius_values(C, b))
        if len(sel) >= self.p:  # as _padded returns it (no weights of the rows needed)
            return r, cols[np.sort(np.asarray(sel, dtype=int))]
        return r, cols[_padded(C, b, inp.weights[pos][keep], sel, self.p)]

    def _tie_break(self, sel: np.ndarray, r: float, kw: dict[str, Any]) -> np.ndarray:
        """Least weighted minutes among sets with no more populated rows beyond ``r``.

        A failed tie-break keeps ``sel`` when suboptimal results are accepted.
        """
        inp = self.inputs
        pos = inp.weights > 0
        caps = [(r, float((pos & ~(self._minutes_after(sel) <= r)).sum()))]
        try:
            tied = _pmedian_select(
                inp.cost,
                inp.baseline,
                inp.weights,
                inp.usable,
                self.p,
                caps=caps,
                model=self.aggregated_model(),
                cap_weights=pos.astype(float),
                what=f"p-centre tie-break (p={self.p})",
                **kw,
            )
            if (pos & ~(self._minutes_after(tied) <= r)).sum() <= caps[0][1]:
                sel = tied
        except SolverError:
            if not kw["accept_suboptimal"]:
                raise
        return sel


def _rows_cols(C: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``C[rows][:, cols]``, without a copy when every row and column is taken."""
    if rows.all() and np.array_equal(cols, np.arange(C.shape[1])):
        return C
    return C[rows][:, cols]


def _radius_values(C: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Candidate radii: the distinct finite ``min(c_ij, b_i)``, from a lower bound up.

    Rows an existing facility reaches, or every candidate reaches, are
    reached in every plan, so the largest of their best times is a lower
    bound on the radius. Rows are taken ``SET_MODEL_BLOCK`` at a time (no
    rows x candidates copy); the values are the same.
    """

    def lower_of(s: int, e: int) -> float:
        Cb, bb = C[s:e], b[s:e]
        always = np.isfinite(bb) | np.isfinite(Cb).all(axis=1)
        return float(np.minimum(Cb[always].min(axis=1), bb[always]).max()) if always.any() else 0.0

    # blocks over threads: a maximum and a set of distinct values, the same in any order
    lower = max([0.0, *for_blocks(lower_of, C.shape[0], SET_MODEL_BLOCK)])

    def values_of(s: int, e: int) -> np.ndarray:
        E = np.minimum(C[s:e], b[s:e, None])
        return np.unique(E[np.isfinite(E) & (lower <= E)])

    found = for_blocks(values_of, C.shape[0], SET_MODEL_BLOCK)
    values = np.unique(np.concatenate(found)) if found else np.zeros(0)
    if values.size == 0:
        values = np.array([lower])
    return values


class _RadiusSearch:
    """The covering tests of one p-centre solve: rows × usable candidates, p, slack.

    ``slack``: how many rows (beyond those with no finite time at all, already
    left out) may stay outside the radius, because any plan leaves them unreachable.
    """

    def __init__(
        self, C: np.ndarray, b: np.ndarray, p: int, slack: int, kw: dict[str, Any]
    ) -> None:
        self.C, self.b, self.p, self.slack, self.kw = C, b, p, slack, kw

    def run(self, values: np.ndarray) -> tuple[float, np.ndarray]:
        """The least feasible radius in ``values`` (the last one is feasible) and its sites."""
        lo, hi = 0, values.size - 1
        sel_hi = self._greedy_upper(values)
        if sel_hi is None:  # greedy failed everywhere: the largest radius, exactly
            sel_hi = self.test(float(values[hi]), exact=True)
            if sel_hi is None:
                raise SolverError(
                    f"p-centre (p={self.p}) found no cover at the largest radius "
                    f"{values[hi]:g} min within time_limit_s={self.kw['time_limit_s']}; "
                    "raise time_limit_s"
                )
        else:
            hi, sel_hi = sel_hi
        while lo < hi:
            mid = (lo + hi) // 2
            sel = self.test(float(values[mid]), exact=True)
            if sel is None:
                lo = mid + 1
            else:
                hi, sel_hi = self._reached(values, mid, sel), sel
        return float(values[hi]), sel_hi

    def _reached(self, values: np.ndarray, i: int, sel: np.ndarray) -> int:
        """The index of the radius ``sel`` actually achieves (at most ``i``; ``i`` with slack)."""
        if self.slack or sel.size == 0:
            return i
        t = max(  # the worst row, block by block (a maximum: the same in any order)
            float(np.minimum(self.b[s0 : s0 + SET_MODEL_BLOCK],
                             self.C[s0 : s0 + SET_MODEL_BLOCK][:, sel].min(axis=1)).max())
            for s0 in range(0, self.C.shape[0], SET_MODEL_BLOCK)
        )  # fmt: skip
        return min(i, int(np.searchsorted(values, t)))

    def _greedy_upper(self, values: np.ndarray) -> tuple[int, np.ndarray] | None:
        """The least index where a greedy cover of ``p`` sites succeeds (binary search)."""
        lo, hi = 0, values.size - 1
        best: tuple[int, np.ndarray] | None = None
        while lo <= hi:
            mid = (lo + hi) // 2
            sel = self.test(float(values[mid]), exact=False)
            if sel is None:
                lo = mid + 1
            else:
                mid = self._reached(values, mid, sel)
                best, hi = (mid, sel), mid - 1
        return best

    def test(self, r: float, *, exact: bool) -> np.ndarray | None:
        """At most ``p`` sites (candidate columns) that cover within ``r``, or ``None``.

        ``exact=False``: only the greedy cover is tried (``None`` = not found);
        ``exact=True``: ``None`` = no such set exists (or, when accepted,
        the time limit stopped the test).
        """
        t0 = time.perf_counter()
        log = self.kw["log"]
        A = _cover_rows(self.C, self.b, r, reduce=self.slack == 0)
        try:
            if A.shape[0] <= self.slack:
                return np.empty(0, dtype=int)
            sel = _greedy_cover(A, self.p, self.slack)
            if sel is not None or not exact:
                return sel
            cols = _undominated_columns(A)
            A = A[:, cols]
            if _surely_infeasible(A, self.p, self.slack):
                return None
            sel = _cover_mip(A, self.p, self.slack, self.kw, r)
            return None if sel is None else cols[sel]
        finally:
            log.time_s += time.perf_counter() - t0


def _cover_rows(C: np.ndarray, b: np.ndarray, r: float, *, reduce: bool) -> np.ndarray:
    """The 0/1 rows "candidate j within ``r``" of the rows not already within ``r``.

    Only with ``reduce`` (no slack) are identical rows merged and rows whose
    candidate set contains another row's dropped (covering the smaller set
    covers them).
    """
    if reduce and C.shape[1] <= 64:  # merged from the rows' bitmask keys, block by block
        A = _key_rows(np.unique(_outside_keys(C, b, r)), C.shape[1])
        if A.shape[0] == 0:
            return A.astype(bool)
    else:
        A = (C[b > r] <= r).astype(np.int8)
        if A.shape[0] == 0 or not reduce:  # with slack, rows count one by one: no merging
            return A.astype(bool)
        A, _ = _aggregate(A)
    if reduce and 1 < A.shape[0] <= DOMINANCE_ROW_LIMIT:
        within = _subsets(A.astype(bool))
        np.fill_diagonal(within, False)
        A = A[~within.any(axis=0)]
    return A.astype(bool)


def _outside_keys(C: np.ndarray, b: np.ndarray, r: float) -> np.ndarray:
    """The bitmask keys (:func:`~coverkit.siting.base._within_keys`) of ``C[b > r] <= r``,
    taken :data:`SET_MODEL_BLOCK` rows at a time (no rows x candidates mask)."""
    m = C.shape[1]
    dtype = _key_dtype(m)
    bits = _key_bits(m).astype(dtype)
    parts = []
    for s0 in range(0, C.shape[0], SET_MODEL_BLOCK):
        sub = C[s0 : s0 + SET_MODEL_BLOCK][b[s0 : s0 + SET_MODEL_BLOCK] > r]
        keys = np.zeros(sub.shape[0], dtype=dtype)
        for j in range(m):
            keys |= (sub[:, j] <= r).astype(dtype) << bits[j]
        parts.append(keys)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)


def _subsets(A: np.ndarray) -> np.ndarray:
    """``S[i, l]``: the set of row ``i`` of the 0/1 matrix ``A`` is within that of row ``l``.

    On bitmask words (64 columns each), in blocks of rows; no BLAS (its
    threads only add contention on these small products).
    """
    n = A.shape[0]
    packed = np.packbits(A.astype(bool), axis=1)
    width = -(-packed.shape[1] // 8) * 8
    words = np.ascontiguousarray(np.pad(packed, ((0, 0), (0, width - packed.shape[1]))))
    words = words.view(np.uint64)
    out = np.empty((n, n), dtype=bool)
    step = max(1, 2_000_000 // max(1, n * words.shape[1]))
    for s0 in range(0, n, step):
        out[s0 : s0 + step] = ~(words[s0 : s0 + step, None, :] & ~words[None, :, :]).any(axis=2)
    return out


def _undominated_columns(A: np.ndarray) -> np.ndarray:
    """The columns of ``A`` whose row set no other column contains (of equal ones, the first).

    A cover using a dominated column stays a cover with its dominator instead.
    """
    k = A.shape[1]
    if k > DOMINANCE_ROW_LIMIT:
        return np.arange(k)
    contains = _subsets(A.T).T  # contains[l, j]: column l covers every row column j covers
    size = A.sum(axis=0)
    bigger = size[:, None] > size[None, :]
    earlier = np.arange(k)[:, None] < np.arange(k)[None, :]
    dominated = (contains & (bigger | earlier)).any(axis=0) | (size == 0)
    return np.flatnonzero(~dominated)


def _greedy_cover(A: np.ndarray, p: int, slack: int) -> np.ndarray | None:
    """At most ``p`` columns leaving at most ``slack`` rows of ``A`` uncovered, greedily.

    Each step takes the column covering the most uncovered rows (ties: the
    lowest column); ``None`` when ``p`` steps are not enough.
    """
    open_rows = np.ones(A.shape[0], dtype=bool)
    chosen: list[int] = []
    Ai = A.astype(np.int32)
    while open_rows.sum() > slack:
        if len(chosen) == p:
            return None
        gain = open_rows.astype(np.int32) @ Ai
        j = int(np.argmax(gain))
        if gain[j] == 0:
            return None
        chosen.append(j)
        open_rows &= ~A[:, j]
    return np.sort(np.asarray(chosen, dtype=int))


def _surely_infeasible(A: np.ndarray, p: int, slack: int) -> bool:
    """Can no ``p`` columns cover all but ``slack`` rows? (Counting bounds only.)

    True when more than ``slack`` rows have no column, or when the ``p``
    columns covering the most rows cover fewer than the rows needed.
    """
    if int((~A.any(axis=1)).sum()) > slack:
        return True
    counts = np.sort(A.sum(axis=0))[::-1]
    return int(counts[:p].sum()) < A.shape[0] - slack


def _cover_mip(
    A: np.ndarray, p: int, slack: int, kw: dict[str, Any], r: float
) -> np.ndarray | None:
    """At most ``p`` columns covering all but ``slack`` rows of ``A`` (HiGHS), or ``None``.

    ``min sum y`` subject to ``A y + u >= 1``, ``sum u <= slack``,
    ``sum y <= p``. The LP relaxation is solved first (infeasible: no
    cover; integral: a cover); then the MIP, which stops at the first
    feasible cover (any such cover answers the test). ``None``: proven
    infeasible, or the time limit hit without a cover and
    ``accept_suboptimal`` (then the log says so).
    """
    import highspy

    n, k = A.shape
    nu = n if slack > 0 else 0
    h = new_highs()
    log, limit = kw["log"], kw["time_limit_s"]
    if limit is not None:
        h.setOptionValue("time_limit", max(float(limit) - log.time_s, 1e-3))
    h.setOptionValue("mip_max_improving_sols", 1)
    inf = highspy.kHighsInf
    h.addVars(k + nu, np.zeros(k + nu), np.ones(k + nu))
    h.changeColsCost(k, np.arange(k, dtype=np.int32), np.ones(k))
    ri, cj = np.nonzero(A)
    if nu:  # u_i: row i left outside
        ri, cj = np.concatenate([ri, np.arange(n)]), np.concatenate([cj, k + np.arange(n)])
        order = np.lexsort((cj, ri))
        ri, cj = ri[order], cj[order]
    starts = np.searchsorted(ri, np.arange(n)).astype(np.int32)
    h.addRows(n, np.ones(n), np.full(n, inf), ri.size, starts, cj.astype(np.int32),
              np.ones(ri.size))  # fmt: skip
    h.addRow(0.0, float(p), k, np.arange(k, dtype=np.int32), np.ones(k))
    if nu:
        h.addRow(0.0, float(slack), nu, (k + np.arange(nu)).astype(np.int32), np.ones(nu))
    h.setOptionValue("presolve", "off")  # 2-3x faster on these small covers
    h.run()  # the LP relaxation first: often infeasible (more than p sites) or integral
    if h.getModelStatus() == highspy.HighsModelStatus.kInfeasible:
        return None
    y = np.asarray(h.getSolution().col_value)[:k]
    if h.getModelStatus() == highspy.HighsModelStatus.kOptimal and np.all(
        np.abs(y - np.round(y)) < 1e-9
    ):
        return np.flatnonzero(y > 0.5)
    h.changeColsIntegrality(
        k, np.arange(k, dtype=np.int32), np.array([highspy.HighsVarType.kInteger] * k)
    )
    h.run()
    return _cover_answer(h, k, p, kw, r)


def _cover_answer(h: Any, k: int, p: int, kw: dict[str, Any], r: float) -> np.ndarray | None:
    """The columns of a covering run's solution, ``None`` when infeasible, or the stop handled."""
    import highspy

    status = h.getModelStatus()
    if h.getInfo().primal_solution_status == 2:  # a feasible cover: the test is answered
        y = np.asarray(h.getSolution().col_value)[:k]
        return np.flatnonzero(y > 0.5)
    if status == highspy.HighsModelStatus.kInfeasible:
        return None
    what = f"p-centre test r={r:g} (p={p})"
    if status == highspy.HighsModelStatus.kTimeLimit and kw["accept_suboptimal"]:
        log = kw["log"]
        log.status = "time_limit"
        log.messages.append(f"{what}: stopped at the time limit, radius taken as infeasible")
        return None
    if status == highspy.HighsModelStatus.kTimeLimit:
        raise SolverError(
            f"{what} was not solved within time_limit_s={kw['time_limit_s']}; "
            "raise time_limit_s or pass accept_suboptimal=True"
        )
    raise SolverError(f"{what} failed in HiGHS: {h.modelStatusToString(status)}")


def _padded(C: np.ndarray, b: np.ndarray, w: np.ndarray, sel: np.ndarray, p: int) -> np.ndarray:
    """``sel`` grown to ``p`` sites, each added site the one saving most weighted minutes.

    Ties go to the lowest column; unreachable rows count as the largest finite minutes + 1.
    """
    if len(sel) >= p:
        return np.sort(np.asarray(sel, dtype=int))
    sel = [int(j) for j in sel]
    E = np.minimum(C, b[:, None])
    fin = E[np.isfinite(E)]
    E = np.where(np.isfinite(E), E, (fin.max() + 1.0) if fin.size else 1.0)
    cur = E[:, sel].min(axis=1) if sel else np.full(E.shape[0], E.max() + 1.0)
    while len(sel) < p:
        gain = w @ np.maximum(cur[:, None] - E, 0.0)
        gain[sel] = -1.0
        j = int(np.argmax(gain))
        sel.append(j)
        cur = np.minimum(cur, E[:, j])
    return np.sort(np.asarray(sel, dtype=int))
