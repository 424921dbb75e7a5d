"""Benchmark: coverkit travel-time engine vs the networkx (osmnx-user) way and pandana.

Run from the repository root::

    python benchmarks/travel_time.py            # Ngazidja + synthetic 10k/100k/1M cells
    python benchmarks/travel_time.py --quick    # Ngazidja + synthetic 10k/100k cells

Cases
-----
- **Ngazidja** (Grande Comore): every 100 m WorldPop cell inside the
  admin_level 4 relation, the island's OSM roads, 20 of its OSM health
  facilities (every third by file order).
- **Synthetic**: a perturbed grid of roads (448 x 448 nodes jittered by
  +-60 m, 223 m apart, 10 % of links removed, mixed classes: ~200,000 nodes,
  ~360,000 edges) under a 1000 x 1000 cell raster (1,000,000 cells), 20
  random facilities; the same network at 100 x 100 and 316 x 316 cells gives
  the growth 10k -> 100k -> 1M.

Timed work (network building excluded on every side, timed separately; each
figure is the median of three runs, except the 20 networkx trees, run once):

- coverkit: ``travel_time_surface`` (nearest facility per cell, one
  multi-source Dijkstra) + ``od_matrix`` (cells x facilities). The snap of
  the cells is cached per network and shared by the two calls (as in a real
  run); the cache is cleared before every timed run.
- networkx, as an osmnx user does it: ``nx.single_source_dijkstra_path_length``
  per facility (from its nearest node), then the nearest graph node of every
  cell (scipy cKDTree, what ``osmnx.distance.nearest_nodes`` uses for
  projected graphs) and a lookup. This baseline does *less* than coverkit (no
  snapping to edges, no off-road walk). The 20 Dijkstra trees are computed
  once per network and reused for every raster size (they do not depend on
  the cells); each size adds only its own node lookup.
- networkx with exact edge snapping, the same output as coverkit: the same
  20 trees, then each cell's nearest *edge* by a GEOS STRtree
  ``query_nearest`` (what ``osmnx.distance.nearest_edges`` does), its
  position along the edge (``line_locate_point``), the walk and the partial
  edge to either end, vectorised.
- routing alone: the 20 one-facility trees in scipy (what coverkit's OD
  runs) and, if installed, networkit's parallel ``SPSP`` (C++, OpenMP) against
  the 20 networkx trees. This is the ceiling of any engine that computes
  the OD matrix with one Dijkstra tree per facility on this machine.
- pandana (if installed): ``Network`` (contraction hierarchies, init timed
  apart, once per network), then ``nearest_pois`` + ``get_node_ids`` for the
  nearest surface (pandana has no one-to-all OD, so only the surface is
  compared).

Peak memory is tracemalloc's peak of a separate coverkit run (numpy buffers
are traced) and of one networkx single-source Dijkstra.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import geopandas as gpd  # noqa: E402
import networkx as nx  # noqa: E402
import shapely  # noqa: E402
from affine import Affine  # noqa: E402
from pyproj import CRS, Transformer  # noqa: E402
from scipy.spatial import cKDTree  # noqa: E402

from coverkit.io import PopulationGrid, read_population  # noqa: E402
from coverkit.network import RoadNetwork, network_from_roads, od_matrix  # noqa: E402
from coverkit.osm import admin_areas_from_osm, roads_from_osm  # noqa: E402
from coverkit.surface import mask_cell_centres, travel_time_surface  # noqa: E402

COMOROS = Path("/work/shared/data/comoros")
N_FACILITIES = 20


def cold(net: RoadNetwork) -> None:
    """Forget cached snaps so every timed run snaps its cells again.

    The per-network snapping index stays (built once per network, timed apart).
    """
    net.snap_cache.clear()


def build_snap_indexes(net: RoadNetwork) -> None:
    """Build the per-network snapping indexes (all edges, main component) outside the timings."""
    net.snap_index()
    net.snap_index(main_only=True)


def timed3(fn, *args, before=None, **kwargs):
    """Median of three timed runs (``before`` runs untimed ahead of each), and the last output."""
    times = []
    for _ in range(3):
        if before is not None:
            before()
        out, t = timed(fn, *args, **kwargs)
        times.append(t)
    return out, float(np.median(times))


def timed(fn, *args, **kwargs):
    gc.collect()
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


def peak_mb(fn, *args, **kwargs) -> float:
    gc.collect()
    tracemalloc.start()
    fn(*args, **kwargs)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1e6


# --------------------------------------------------------------------------- the three ways


def coverkit_run(net: RoadNetwork, grid: PopulationGrid, fac_xy: np.ndarray):
    minutes, nearest = travel_time_surface(net, grid, fac_xy)
    _, _, x, y = mask_cell_centres(grid)
    px, py = Transformer.from_crs(grid.crs, net.crs, always_xy=True).transform(x, y)
    od = od_matrix(net, np.column_stack([px, py]), fac_xy)
    return minutes, nearest, od


def nx_graph(net: RoadNetwork) -> nx.Graph:
    G = nx.Graph()
    G.add_nodes_from(range(net.n_nodes))
    order = np.argsort(-net.edge_minutes, kind="stable")
    G.add_weighted_edges_from(
        zip(
            net.edge_u[order].tolist(),
            net.edge_v[order].tolist(),
            net.edge_minutes[order].tolist(),
            strict=True,
        ),
        weight="travel_time",
    )
    return G


def networkx_trees(G: nx.Graph, net: RoadNetwork, fac_xy: np.ndarray) -> np.ndarray:
    """``single_source_dijkstra_path_length`` from each facility's nearest node: (nodes, k)."""
    _, fac_node = cKDTree(net.node_xy).query(fac_xy)
    per_fac = []
    for node in fac_node.tolist():
        lengths = nx.single_source_dijkstra_path_length(G, node, weight="travel_time")
        arr = np.full(net.n_nodes, np.inf)
        arr[np.fromiter(lengths.keys(), dtype=np.int64)] = np.fromiter(
            lengths.values(), dtype=np.float64
        )
        per_fac.append(arr)
    return np.stack(per_fac, axis=1)


def networkx_lookup(net: RoadNetwork, trees: np.ndarray, cells_xy: np.ndarray):
    """Nearest graph node per cell (cKDTree, as osmnx.nearest_nodes), OD rows and minimum."""
    _, cell_node = cKDTree(net.node_xy).query(cells_xy)
    od = trees[cell_node]
    return od.min(axis=1), od.argmin(axis=1), od


def networkx_edge_lookup(net: RoadNetwork, trees: np.ndarray, cells_xy: np.ndarray):
    """Nearest edge per cell (STRtree, as osmnx.nearest_edges), walk + partial edge, OD rows."""
    pts = shapely.points(cells_xy[:, 0], cells_xy[:, 1])
    tree = shapely.STRtree(net.edge_geometry)
    (qi, ei), dist = tree.query_nearest(pts, return_distance=True, all_matches=False)
    edge = np.full(len(pts), 0)
    walk = np.full(len(pts), np.inf)
    edge[qi] = ei
    walk[qi] = dist / 1000.0 / 5.0 * 60.0
    frac = shapely.line_locate_point(net.edge_geometry[edge], pts, normalized=True)
    t = net.edge_minutes[edge]
    od = np.minimum(
        trees[net.edge_u[edge]] + (walk + frac * t)[:, None],
        trees[net.edge_v[edge]] + (walk + (1.0 - frac) * t)[:, None],
    )
    return od.min(axis=1), od.argmin(axis=1), od


def scipy_trees(net: RoadNetwork, fac_node: np.ndarray) -> np.ndarray:
    from scipy.sparse.csgraph import dijkstra

    return dijkstra(net.graph, directed=True, indices=fac_node)


def networkit_trees(net: RoadNetwork, fac_node: np.ndarray):
    """networkit SPSP (parallel C++ Dijkstra) from the facility nodes; None if not installed."""
    try:
        import networkit as nk
    except ImportError:
        return None
    coo = net.graph.tocoo()
    G = nk.GraphFromCoo(
        (coo.data, (coo.row.astype(np.uint64), coo.col.astype(np.uint64))),
        n=net.n_nodes,
        weighted=True,
        directed=True,
    )

    def run():
        sp = nk.distance.SPSP(G, fac_node.tolist())
        sp.run()
        d = np.asarray(sp.getDistances())
        d[d > 1e300] = np.inf  # networkit marks unreachable nodes with the largest double
        return d

    return run


def pandana_network(net: RoadNetwork):
    try:
        import pandana
        import pandas as pd
    except ImportError:
        print("  pandana: not installed (pip install pandana); skipped")
        return None
    return pandana.Network(
        pd.Series(net.node_xy[:, 0]),
        pd.Series(net.node_xy[:, 1]),
        pd.Series(net.edge_u),
        pd.Series(net.edge_v),
        pd.DataFrame({"w": net.edge_minutes}),
        twoway=True,
    )


def pandana_nearest(pnet, net: RoadNetwork, cells_xy: np.ndarray, fac_xy: np.ndarray):
    """pandana's nearest surface: nearest_pois on every node, then node ids of the cells."""
    import pandas as pd

    big = float(net.edge_minutes.sum())
    pnet.set_pois("fac", big, 1, pd.Series(fac_xy[:, 0]), pd.Series(fac_xy[:, 1]))
    near = pnet.nearest_pois(big, "fac", num_pois=1, include_poi_ids=True)
    cell_node = pnet.get_node_ids(pd.Series(cells_xy[:, 0]), pd.Series(cells_xy[:, 1]))
    return near[1].to_numpy()[cell_node.to_numpy()]


# --------------------------------------------------------------------------- cases


def ngazidja_case():
    pbf = COMOROS / "comores-latest.osm.pbf"
    islands = admin_areas_from_osm(pbf, admin_level=4)
    island = islands[islands["name"].str.contains("Ngazidja")].reset_index(drop=True)
    west, south, east, north = island.total_bounds
    roads = roads_from_osm(pbf, bbox=(west, south, east, north))
    roads = roads[roads.intersects(island.geometry.iloc[0].buffer(0.02))]
    grid = read_population(COMOROS / "com_ppp_2020_UNadj.tif", island)
    health = gpd.read_file(COMOROS / "health.gpkg")
    health = health[health.within(island.geometry.iloc[0])].iloc[::3].head(N_FACILITIES)
    return roads, grid, health


def synthetic_network(seed: int = 0, side: int = 448, spacing_m: float = 223.0):
    rng = np.random.default_rng(seed)
    ii, jj = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    xy = np.stack([jj * spacing_m, ii * spacing_m], -1) + rng.uniform(-60, 60, (side, side, 2))
    xy = xy.reshape(-1, 2)
    idx = np.arange(side * side).reshape(side, side)
    a = np.r_[idx[:, :-1].ravel(), idx[:-1, :].ravel()]
    b = np.r_[idx[:, 1:].ravel(), idx[1:, :].ravel()]
    keep = rng.random(a.size) > 0.1
    a, b = a[keep], b[keep]
    geoms = shapely.linestrings(
        np.stack([xy[a], xy[b]], 1).reshape(-1, 2), indices=np.repeat(np.arange(a.size), 2)
    )
    classes = np.array(["residential", "tertiary", "track", "unclassified", "secondary"])
    roads = gpd.GeoDataFrame(
        {"id": np.arange(a.size), "highway": rng.choice(classes, a.size)},
        geometry=geoms,
        crs="EPSG:32650",
    )
    return roads, side * spacing_m


def synthetic_grid(extent_m: float, n: int, seed: int = 1) -> PopulationGrid:
    rng = np.random.default_rng(seed)
    cs = extent_m / n
    values = rng.gamma(0.5, 4.0, (n, n))
    return PopulationGrid(
        values=values,
        mask=np.ones((n, n), dtype=bool),
        transform=Affine(cs, 0.0, 0.0, 0.0, -cs, extent_m),
        crs=CRS.from_epsg(32650),
        total=float(values.sum()),
        source="synthetic",
    )


def compare(
    name: str,
    net: RoadNetwork,
    grid: PopulationGrid,
    fac_xy: np.ndarray,
    trees: np.ndarray,
    t_trees: float,
    pnet: object | None,
) -> float:
    _, _, x, y = mask_cell_centres(grid)
    px, py = Transformer.from_crs(grid.crs, net.crs, always_xy=True).transform(x, y)
    cells_xy = np.column_stack([px, py])
    print(
        f"\n== {name}: {cells_xy.shape[0]:,} cells, {net.n_nodes:,} nodes, "
        f"{net.n_edges:,} edges, {fac_xy.shape[0]} facilities"
    )
    (minutes, _), t_surf = timed3(travel_time_surface, net, grid, fac_xy, before=lambda: cold(net))
    (_, _, od), t_ck = timed3(coverkit_run, net, grid, fac_xy, before=lambda: cold(net))
    cold(net)
    print(f"  coverkit nearest surface:       {t_surf:8.2f} s")
    print(f"  coverkit nearest surface + OD:  {t_ck:8.2f} s")
    mem = peak_mb(coverkit_run, net, grid, fac_xy)
    print(f"  coverkit peak memory (tracemalloc, surface + OD): {mem:.0f} MB")
    (nx_min, _, nx_od), t_look = timed3(networkx_lookup, net, trees, cells_xy)
    t_nx = t_trees + t_look
    print(f"  networkx {fac_xy.shape[0]} x single_source_dijkstra: {t_trees:8.2f} s")
    print(f"  networkx nearest-node lookup of cells: {t_look:8.2f} s")
    fin = np.isfinite(minutes[grid.mask]) & np.isfinite(nx_min)
    diff = np.abs(minutes[grid.mask][fin] - nx_min[fin])
    print(
        "  coverkit vs networkx nearest minutes (edge snap + walk vs nearest node): "
        f"median |diff| {np.median(diff):.2f} min, 95th pct {np.percentile(diff, 95):.2f} min"
    )
    print(f"  nearest surface vs networkx: {t_nx / t_surf:.1f}x")
    print(f"  nearest surface + OD vs networkx: {t_nx / t_ck:.1f}x")
    (e_min, _, e_od), t_elook = timed3(networkx_edge_lookup, net, trees, cells_xy)
    t_nxe = t_trees + t_elook
    same = np.isfinite(e_min) & np.isfinite(minutes[grid.mask])
    diff = np.abs(e_min[same] - minutes[grid.mask][same])
    print(
        f"  networkx + STRtree nearest-edge snap of cells: {t_elook:8.2f} s "
        f"(median |diff| to coverkit {np.median(diff):.2f} min: facilities still at nodes)"
    )
    print(f"  nearest surface + OD vs networkx with edge snap: {t_nxe / t_ck:.1f}x")
    del e_od
    if pnet is not None:
        _, t_pd = timed3(pandana_nearest, pnet, net, cells_xy, fac_xy)
        print(f"  pandana nearest_pois + get_node_ids: {t_pd:8.2f} s")
        print(f"  nearest surface vs pandana: {t_pd / t_surf:.1f}x")
    del od, nx_od
    return t_ck


def run_network(label: str, net: RoadNetwork, grids, fac_xy: np.ndarray, *, pandana: bool):
    G, t_g = timed(nx_graph, net)
    print(f"{label}: networkx graph build (not in ratios): {t_g:.2f} s")
    gc.collect()
    tracemalloc.start()
    trees, t_trees = timed(networkx_trees, G, net, fac_xy[:1])
    _, nx_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{label}: networkx peak memory of one facility's Dijkstra: {nx_peak / 1e6:.0f} MB")
    trees, t_trees = timed(networkx_trees, G, net, fac_xy)
    del G
    _, fac_node = cKDTree(net.node_xy).query(fac_xy)
    sp, t_sp = timed3(scipy_trees, net, fac_node)
    np.testing.assert_allclose(sp.T, trees, atol=1e-6)
    print(
        f"{label}: routing alone, {fac_xy.shape[0]} trees: networkx {t_trees:.2f} s, "
        f"scipy {t_sp:.2f} s"
    )
    print(f"{label}: routing alone (20 trees) scipy vs networkx: {t_trees / t_sp:.1f}x")
    nk_run = networkit_trees(net, fac_node)
    if nk_run is not None:
        nk_d, t_nk = timed3(nk_run)
        np.testing.assert_allclose(nk_d.T, trees, atol=1e-6)
        print(
            f"{label}: routing alone (20 trees) networkit SPSP vs networkx: "
            f"{t_trees / t_nk:.1f}x ({t_nk:.2f} s)"
        )
    pnet = None
    if pandana:
        pnet, t_init = timed(pandana_network, net)
        if pnet is not None:
            print(f"{label}: pandana init (contraction hierarchies, not in ratios): {t_init:.2f} s")
    out = {}
    for name, grid in grids:
        out[grid.mask.sum()] = compare(name, net, grid, fac_xy, trees, t_trees, pnet)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 1M-cell case")
    parser.add_argument("--no-pandana", action="store_true", help="skip pandana")
    args = parser.parse_args()

    if (COMOROS / "comores-latest.osm.pbf").exists():
        roads, grid, health = ngazidja_case()
        net, t_b = timed(network_from_roads, roads)
        print(f"Ngazidja network build: {t_b:.2f} s")
        fxy = shapely.get_coordinates(health.to_crs(net.crs).geometry.to_numpy())
        _, t_idx = timed(build_snap_indexes, net)
        print(f"Ngazidja: coverkit snapping index build, once per network: {t_idx:.2f} s")
        run_network(
            "Ngazidja",
            net,
            [("Ngazidja (WorldPop 100 m, OSM roads)", grid)],
            fxy,
            pandana=not args.no_pandana,
        )
    else:
        print("Comoros data not found; Ngazidja case skipped")

    roads, extent = synthetic_network()
    net, t_b = timed(network_from_roads, roads, crs="EPSG:32650")
    print(f"\nsynthetic network build ({net.n_nodes:,} nodes, {net.n_edges:,} edges): {t_b:.2f} s")
    rng = np.random.default_rng(2)
    fxy = rng.uniform(0.05 * extent, 0.95 * extent, (N_FACILITIES, 2))
    sizes = (100, 316) if args.quick else (100, 316, 1000)
    grids = [(f"synthetic {n}x{n}", synthetic_grid(extent, n)) for n in sizes]
    _, t_idx = timed(build_snap_indexes, net)
    print(f"synthetic: coverkit snapping index build, once per network: {t_idx:.2f} s")
    growth = run_network("synthetic", net, grids, fxy, pandana=not args.no_pandana)
    print("\ngrowth (coverkit nearest surface + OD, same 200k-node network):")
    base = None
    for cells, t in growth.items():
        base = base or t
        print(f"  {cells:>9,} cells: {t:7.2f} s  ({t / base:5.1f}x the 10k time)")


if __name__ == "__main__":
    main()
