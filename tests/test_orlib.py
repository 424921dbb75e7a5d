"""OR-Library p-median instances pmed1-10: coverkit's PMedian must reach the proven optima."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import shortest_path

from coverkit.errors import SolverError
from coverkit.siting import PMedian

ORLIB = Path("/work/shared/data/orlib")

pytestmark = pytest.mark.skipif(not ORLIB.exists(), reason="OR-Library data not present")


def read_pmed(path: Path) -> tuple[np.ndarray, int]:
    """All-pairs shortest-path matrix and p of an OR-Library pmed file.

    Later duplicates of an edge replace earlier ones (the format's rule).
    """
    tokens = path.read_text().split()
    n, m, p = (int(x) for x in tokens[:3])
    edges = np.array(tokens[3 : 3 + 3 * m], dtype=np.int64).reshape(m, 3)
    i, j, c = edges[:, 0] - 1, edges[:, 1] - 1, edges[:, 2].astype(float)
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    key = lo * n + hi
    # keep the LAST occurrence of each undirected edge
    _, last_rev = np.unique(key[::-1], return_index=True)
    keep = m - 1 - last_rev
    lo, hi, c = lo[keep], hi[keep], c[keep]
    graph = coo_matrix((c, (lo, hi)), shape=(n, n)).tocsr()
    dist = shortest_path(graph, method="D", directed=False)
    return dist, p


def optima() -> dict[str, float]:
    lines = (ORLIB / "optima.txt").read_text().split("\n")[1:]
    return {a: float(b) for a, b in (ln.split() for ln in lines if ln.strip())}


def test_read_pmed_later_duplicate_replaces_earlier(tmp_path: Path) -> None:
    f = tmp_path / "tiny.txt"
    # edge 1-2 given twice: 10 then 3 (the later wins); 2-3 cost 4; reversed duplicate 3 2 -> 5
    f.write_text(" 3 4 1\n 1 2 10\n 2 3 4\n 1 2 3\n 3 2 5\n")
    dist, p = read_pmed(f)
    assert p == 1
    np.testing.assert_array_equal(dist, [[0, 3, 8], [3, 0, 5], [8, 5, 0]])
    # p-median of the path 1-2-3 (3, 5): the middle vertex, objective 3 + 5 = 8
    res = PMedian.from_cost_matrix(dist, np.ones(3), p=1, baseline_min=np.full(3, np.inf))
    out = res.solve()
    assert out.selected == (1,)
    assert out.objective == 8.0


@pytest.mark.parametrize("k", range(1, 11))
def test_pmed_optimum(k: int) -> None:
    name = f"pmed{k}"
    dist, p = read_pmed(ORLIB / f"{name}.txt")
    n = dist.shape[0]
    t0 = time.perf_counter()
    result = PMedian.from_cost_matrix(
        dist, np.ones(n), p=p, baseline_min=np.full(n, np.inf)
    ).solve()
    elapsed = time.perf_counter() - t0
    assert result.status == "optimal"
    assert len(result.selected) == p
    assert result.objective == pytest.approx(optima()[name], abs=1e-6)
    # the objective is the sum of nearest distances of the chosen set
    assert dist[:, list(result.selected)].min(axis=1).sum() == pytest.approx(optima()[name])
    assert elapsed < 60


def test_time_limit_accepts_incumbent_or_raises() -> None:
    dist, p = read_pmed(ORLIB / "pmed6.txt")
    n = dist.shape[0]
    model = PMedian.from_cost_matrix(dist, np.ones(n), p=p, baseline_min=np.full(n, np.inf))
    with pytest.raises(SolverError, match="raise time_limit_s or pass accept_suboptimal"):
        model.solve(time_limit_s=0.5)
    res = model.solve(time_limit_s=0.5, accept_suboptimal=True)
    assert res.status == "time_limit"
    assert len(res.selected) == p
    assert res.objective >= optima()["pmed6"]
    assert res.gap > 0
