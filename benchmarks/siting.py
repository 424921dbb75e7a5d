"""Benchmark: coverkit siting (HiGHS, radius formulation) vs spopt (PuLP + CBC).

Run from the repository root::

    python benchmarks/siting.py            # all instances
    python benchmarks/siting.py --quick    # pmed1-5 and a smaller synthetic county

The p-centre section (``--pcenter-only`` runs it alone) times, in the same
run, the radius search that ``PCenter`` used before issue 17 (a binary search
over the distinct minutes, each radius tested by a maximal-covering MIP:
coverkit's public ``MCLP`` with unit weights, as the old code did
internally) against the set-cover search of ``PCenter.solve(tie_break=False)``
and prints the ratio; then the full solve (the same p-median tie-break as
before follows either search). Radii are checked against each other and
against ``pcenter_optima.txt``.

For each OR-Library instance pmed1-10 (every vertex a demand point and a
candidate, weight 1) and for synthetic county-like matrices (~5,000
population cells x 30 township centres, and the county scale: 120,000 cells
x 20 centres; travel minutes, two county hospitals as the baseline), it
times spopt's ``PMedian`` / ``MCLP`` and coverkit's ``PMedian`` / ``MCLP`` in
one run, checks that the objectives are equal and prints the times and the
ratio. spopt and pulp are needed for the comparison only (``pip install spopt
pulp``); without them only coverkit is timed, with a message.

spopt's p-median has no notion of existing facilities, so for the county
case the baseline is passed to both as an extra candidate column that is
forced open (spopt: ``predefined_facilities_arr``; coverkit: ``baseline_min``),
with p + 1 facilities for spopt.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from coverkit.siting import MCLP, PCenter, PMedian  # noqa: E402

ORLIB = Path("/work/shared/data/orlib")
CBC_TIME_LIMIT_S = 300


def read_pmed(path: Path) -> tuple[np.ndarray, int]:
    """Shortest-path matrix and p of an OR-Library file (later duplicates replace earlier)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import shortest_path

    tokens = path.read_text().split()
    n, m, p = (int(x) for x in tokens[:3])
    edges = np.array(tokens[3 : 3 + 3 * m], dtype=np.int64).reshape(m, 3)
    i, j, c = edges[:, 0] - 1, edges[:, 1] - 1, edges[:, 2].astype(float)
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    _, last_rev = np.unique((lo * n + hi)[::-1], return_index=True)
    keep = m - 1 - last_rev
    graph = coo_matrix((c[keep], (lo[keep], hi[keep])), shape=(n, n)).tocsr()
    return shortest_path(graph, method="D", directed=False), p


def synthetic_county(
    n_cells: int = 5000, n_cand: int = 30, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A county-like instance: clustered population, road-ish minutes, two hospitals.

    Cells on a 60 km x 60 km square, population log-normal around 12 towns;
    candidates at the towns; minutes = 1.35 x distance at 40 km/h plus a
    1-10 min access walk per cell; hospitals at the county seat and a second town.
    """
    rng = np.random.default_rng(seed)
    towns = rng.uniform(0, 60, size=(n_cand, 2))
    owner = rng.integers(0, n_cand, size=n_cells)
    xy = towns[owner] + rng.normal(0, 6, size=(n_cells, 2))
    pop = np.round(rng.lognormal(3.0, 1.0, size=n_cells))
    access = rng.uniform(1, 10, size=n_cells)
    d = np.hypot(*(xy[:, None, :] - towns[None, :, :]).transpose(2, 0, 1))
    cost = np.round(1.35 * d / 40 * 60 + access[:, None], 1)
    hosp = np.array([[30.0, 30.0], [10.0, 50.0]])
    dh = np.hypot(*(xy[:, None, :] - hosp[None, :, :]).transpose(2, 0, 1))
    base = np.round(1.35 * dh / 40 * 60 + access[:, None], 1).min(axis=1)
    return cost, pop, base


def _spopt():
    try:
        import pulp
        from spopt.locate import MCLP as SMCLP
        from spopt.locate import PMedian as SPMedian
    except ImportError:
        return None
    return pulp, SPMedian, SMCLP


def _instance(name: str, n_cells: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, int]:
    """Cost, weights, baseline and the file's p of a named instance."""
    if name.startswith("pmed"):
        dist, p = read_pmed(ORLIB / f"{name}.txt")
        return dist, np.ones(dist.shape[0]), None, p
    if name == "county20":  # the county-scale case: ~120,000 cells x 20 centres
        cost, pop, base = synthetic_county(n_cells, 20, seed=1)
        return cost, pop, base, 0
    cost, pop, base = synthetic_county(n_cells)
    return cost, pop, base, 0


def spopt_child(kind: str, name: str, n_cells: int, p: int, T: float) -> None:
    """Solve one instance with spopt (PuLP + CBC) and print ``objective seconds status``."""
    pulp, SPMedian, SMCLP = _spopt()
    cost, w, base, _ = _instance(name, n_cells)
    if base is None:
        c2, pre, p2 = cost, None, p
    else:  # the hospitals as one forced-open column
        c2 = np.column_stack([cost, base])
        pre = np.zeros(c2.shape[1], dtype=int)
        pre[-1] = 1
        p2 = p + 1
    solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=CBC_TIME_LIMIT_S)
    t0 = time.perf_counter()
    if kind == "pmedian":
        model = SPMedian.from_cost_matrix(c2, w, p_facilities=p2, predefined_facilities_arr=pre)
    else:
        model = SMCLP.from_cost_matrix(
            c2, w, service_radius=T, p_facilities=p2, predefined_facilities_arr=pre
        )
    model = model.solve(solver)
    secs = time.perf_counter() - t0
    obj = float(pulp.value(model.problem.objective))
    status = pulp.LpSolution.get(model.problem.sol_status, pulp.LpStatus[model.problem.status])
    print(f"{obj!r} {secs!r} {status.replace(' ', '_')}")


def spopt_timed(
    kind: str, name: str, n_cells: int, p: int, T: float, wall_s: float
) -> tuple[float, float, str] | None:
    """Run :func:`spopt_child` in a child process; kill it (and CBC) after ``wall_s``."""
    import os
    import signal
    import subprocess

    cmd = [sys.executable, __file__, "--child", kind, name, str(n_cells), str(p), str(T)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=wall_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return None
    obj, secs, status = out.split()[-3:]
    return float(obj), float(secs), status


def compare(
    kind: str,
    name: str,
    n_cells: int,
    p: int,
    *,
    T: float = 30.0,
    method: str = "auto",
    spopt: bool = True,
    wall_s: float = 600.0,
) -> None:
    """Time coverkit (and spopt) on one instance and print one line."""
    cost, w, base, p_file = _instance(name, n_cells)
    p = p or p_file
    t0 = time.perf_counter()
    if kind == "pmedian":
        ck = PMedian.from_cost_matrix(cost, w, p=p, baseline_min=base).solve(method=method)
    else:
        ck = MCLP.from_cost_matrix(cost, w, p=p, baseline_min=base, threshold_min=T).solve(
            method=method, tie_break=False
        )
    t_ck = time.perf_counter() - t0
    label = f"{name} {kind}{'' if kind == 'pmedian' else f' T={T:g}'} [{ck.method}]"
    line = f"{label:<38} p={p:<3} coverkit {t_ck:8.2f} s"
    if not spopt or _spopt() is None:
        print(f"{line}  obj {ck.objective:.1f}", flush=True)
        return
    res = spopt_timed(kind, name, n_cells, p, T, wall_s)
    if res is None:
        print(f"{line}  spopt > {wall_s:.0f} s (killed)  ratio > {wall_s / t_ck:.0f}x", flush=True)
        return
    obj_sp, t_sp, status = res
    same = abs(obj_sp - ck.objective) <= 1e-6 * max(1.0, abs(obj_sp))
    print(
        f"{line}  spopt {t_sp:8.2f} s  ratio {t_sp / t_ck:7.1f}x  obj {ck.objective:.1f} vs "
        f"{obj_sp:.1f} {'EQUAL' if same else 'DIFFER'} ({status})",
        flush=True,
    )


def old_pcenter_radius(cost: np.ndarray, w: np.ndarray, base: np.ndarray | None, p: int) -> float:
    """The least radius by the pre-issue-17 search: one maximal-covering MIP per radius.

    A radius ``r`` is feasible when ``p`` sites bring as many populated rows
    within ``r`` as can be reached at all (the MCLP at the largest finite time).
    """
    b = np.full(cost.shape[0], np.inf) if base is None else base
    ones = (w > 0).astype(float)
    E = np.minimum(cost, b[:, None])
    best = E.min(axis=1)[np.isfinite(b) & (w > 0)]
    lower = float(best.max()) if best.size else 0.0
    values = np.unique(E[(w > 0)][np.isfinite(E[w > 0])])
    values = values[values >= lower]

    def within(T: float) -> float:
        model = MCLP.from_cost_matrix(cost, ones, p=p, baseline_min=b, threshold_min=T)
        return model.solve(tie_break=False, method="mip").objective

    reachable = within(float(values[-1]))
    lo, hi = 0, values.size - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if within(float(values[mid])) >= reachable - 0.5:
            hi = mid
        else:
            lo = mid + 1
    return float(values[lo])


def pcenter_optima() -> dict[str, float]:
    """The published p-centre optima of pmed1-10 (empty when the file is absent)."""
    path = ORLIB / "pcenter_optima.txt"
    if not path.exists():
        return {}
    rows = [ln.split() for ln in path.read_text().splitlines() if ln.strip()]
    return {r[0]: float(r[1]) for r in rows if not r[0].startswith("#") and r[0] != "instance"}


def compare_pcenter(name: str, n_cells: int, p: int) -> None:
    """Time the old radius search, the set-cover search and the full solve; print one line."""
    cost, w, base, p_file = _instance(name, n_cells)
    p = p or p_file
    t0 = time.perf_counter()
    r_old = old_pcenter_radius(cost, w, base, p)
    t_old = time.perf_counter() - t0
    model = PCenter.from_cost_matrix(cost, w, p=p, baseline_min=base)
    t0 = time.perf_counter()
    r_new = model.solve(tie_break=False).objective
    t_new = time.perf_counter() - t0
    t0 = time.perf_counter()
    full = model.solve()
    t_full = time.perf_counter() - t0
    known = pcenter_optima().get(name)
    check = "EQUAL" if r_old == r_new == full.objective else "DIFFER"
    if known is not None:
        check += " optimum " + ("OK" if known == r_new else f"WRONG (published {known:g})")
    print(
        f"{name + ' pcenter':<20} p={p:<3} MCLP/radius {t_old:7.2f} s  set cover {t_new:6.2f} s  "
        f"ratio {t_old / t_new:6.1f}x  full {t_full:6.2f} s  r {r_old:g} vs {r_new:g} {check}",
        flush=True,
    )


def pcenter_section(quick: bool, county_only: bool) -> None:
    """The p-centre comparison: OR-Library pmed1-10 (pmed1-5 with ``quick``) and the county."""
    print("== p-centre: old search (MCLP per radius) vs set-cover search", flush=True)
    if not county_only:
        for k in range(1, 6 if quick else 11):
            if (ORLIB / f"pmed{k}.txt").exists():
                compare_pcenter(f"pmed{k}", 0, 0)
    for p in (1, 2, 3):
        compare_pcenter("county", 2000 if quick else 5000, p)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print one line per instance."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="pmed1-5 and 2,000 cells only")
    parser.add_argument("--county-only", action="store_true", help="skip OR-Library")
    parser.add_argument(
        "--wall", type=float, default=600.0, help="kill a spopt run after this many seconds"
    )
    parser.add_argument(
        "--big-wall", type=float, default=120.0, help="spopt cap on the 120,000-cell case"
    )
    parser.add_argument("--pcenter-only", action="store_true", help="only the p-centre comparison")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, name, n_cells, p, T = args.child
        spopt_child(kind, name, int(n_cells), int(p), float(T))
        return 0
    pcenter_section(args.quick, args.county_only)
    if args.pcenter_only:
        return 0
    if _spopt() is None:
        print("spopt/pulp not installed (pip install spopt pulp): timing coverkit only")
    if not args.county_only:
        print("== p-median, OR-Library (weights 1, no baseline)", flush=True)
        for k in range(1, 6 if args.quick else 11):
            if not (ORLIB / f"pmed{k}.txt").exists():
                print(f"pmed{k}: {ORLIB} not found, skipped")
                continue
            compare("pmedian", f"pmed{k}", 0, 0, wall_s=args.wall)
    n_cells = 2000 if args.quick else 5000
    print(
        f"== synthetic county: {n_cells} cells x 30 candidates, 2 hospitals as baseline",
        flush=True,
    )
    for kind in ("pmedian", "mclp"):
        for p in (1, 2, 3):
            compare(kind, "county", n_cells, p, method="enumerate", spopt=False)
            compare(kind, "county", n_cells, p, wall_s=args.wall)
    if args.quick:
        return 0
    big = 120_000
    print(
        f"== county scale: {big} cells x 20 candidates, 2 hospitals as baseline "
        f"(spopt killed after {args.big_wall:.0f} s)",
        flush=True,
    )
    for kind in ("pmedian", "mclp"):
        for p in (1, 2):
            compare(kind, "county20", big, p, method="enumerate", spopt=False)
            compare(kind, "county20", big, p, wall_s=args.big_wall)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
