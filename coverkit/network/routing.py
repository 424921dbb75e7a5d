"""Travel times on a road network: OD matrices, nearest facility, straight-line fallback.

Travel times are computed with :func:`scipy.sparse.csgraph.dijkstra` from one
virtual node per destination (connected to the two ends of its snapped edge by
the partial edge times plus its walk, see :mod:`coverkit.network.snapping`), so
one run gives every origin's time; :func:`travel_times_to_nearest` uses a
single multi-source run. Everything stays in numpy arrays so a million cells
cost seconds.

:func:`od_minutes_km` and :func:`km_to_assigned` give the km of the same
quickest paths: the same Dijkstra runs with predecessors, each node's metres
summed along the predecessor tree (pointer doubling), the parallel road whose
minutes the graph keeps (:attr:`~coverkit.network.RoadNetwork.graph_length_m`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import shapely
from scipy import sparse
from scipy.sparse.csgraph import dijkstra

from coverkit import settings
from coverkit.errors import CRSError, InvalidValueError
from coverkit.network.blocks import block_threads, for_blocks
from coverkit.network.snapping import Snap, snap_points
from coverkit.scratch import large_array

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
    from pyproj import CRS

    from coverkit.network.graph import RoadNetwork

#: Dijkstra sources per block (each block holds a sources x nodes float64 array).
DIJKSTRA_BLOCK: int = 32
#: Origins per block when filling an OD matrix.
OD_BLOCK: int = 16_384


# --------------------------------------------------------------------------- points


def points_xy(points: object, network_crs: CRS) -> np.ndarray:
    """Coordinates (n, 2) in the network CRS from an array or a GeoDataFrame/GeoSeries.

    Parameters
    ----------
    points
        ``(n, 2)`` array-like already in ``network_crs``, or point
        GeoDataFrame/GeoSeries in any CRS (reprojected).
    network_crs
        CRS of the network.

    Returns
    -------
    ndarray
        float64 ``(n, 2)``.

    Raises
    ------
    CRSError
        A GeoDataFrame/GeoSeries without CRS.
    InvalidValueError
        An array that is not ``(n, 2)`` or holds NaN.
    """
    if isinstance(points, gpd.GeoDataFrame | gpd.GeoSeries):
        if points.crs is None:
            raise CRSError("the point layer has no CRS; set one (e.g. set_crs(4326))")
        geom = (
            points.to_crs(network_crs).geometry
            if isinstance(points, gpd.GeoDataFrame)
            else (points.to_crs(network_crs))
        )
        xy = shapely.get_coordinates(geom.to_numpy())
        if xy.shape[0] != len(points):
            raise InvalidValueError("the point layer must hold one Point per row")
        return xy
    return _xy_array(points)


def _xy_array(points: object) -> np.ndarray:
    """``points`` as a float64 ``(n, 2)`` array; refuse another shape or NaN/inf."""
    xy = np.asarray(points, dtype="float64")
    if xy.ndim == 2 and xy.shape[0] == 0:
        return xy.reshape(0, 2)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise InvalidValueError(f"points must be an (n, 2) array of x, y; got shape {xy.shape}")
    if not np.isfinite(xy).all():
        raise InvalidValueError("points hold NaN or infinite coordinates; drop or fix them")
    return xy


# --------------------------------------------------------------------------- travel times


def _walk_kph(walk_speed_kph: float | None) -> float:
    """The walking speed, default :data:`coverkit.settings.walk_speed_kph`; must be positive."""
    w = float(settings.walk_speed_kph if walk_speed_kph is None else walk_speed_kph)
    if not (np.isfinite(w) and w > 0):
        raise InvalidValueError(f"walk_speed_kph={walk_speed_kph} must be a positive km/h")
    return w


def _access(
    network: RoadNetwork, points: object, walk_kph: float, max_walk_m: float | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, Snap]:
    """Snap points; per point: edge (-1 if off-network), minutes to its ``edge_u`` and
    ``edge_v`` ends (inf if off-network), and the snap (:func:`_parts` reads the rest)."""
    xy = points_xy(points, network.crs)
    snap = snap_points(network, xy[:, 0], xy[:, 1], max_walk_m=max_walk_m)
    del xy
    n = snap.edge.size
    to_u, to_v = np.empty(n), np.empty(n)

    def fill(s: int, e: int) -> None:  # row blocks: no full-size temporaries
        walk, frac, t = _parts(network, snap, walk_kph, slice(s, e))
        off = ~snap.on_network[s:e]
        # in place, each the same float operations as walk + frac * t and walk + (1 - frac) * t
        u = frac * t
        u += walk
        u[off] = np.inf
        to_u[s:e] = u
        v = np.subtract(1.0, frac, out=frac)
        v *= t
        v += walk
        v[off] = np.inf
        to_v[s:e] = v

    for_blocks(fill, n, settings.row_block_cells)
    return snap.edge, to_u, to_v, snap


def _parts(
    network: RoadNetwork, snap: Snap, walk_kph: float, idx: np.ndarray | slice | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Walk minutes, fraction along the edge and the edge's minutes of points ``idx`` (all
    when None); 0 for off-network points."""
    pick = (lambda a: a) if idx is None else (lambda a: a[idx])
    on = pick(snap.on_network)
    walk = np.where(on, pick(snap.distance_m), 0.0)
    walk /= 1000.0
    walk /= walk_kph
    walk *= 60.0
    frac = np.where(on, pick(snap.fraction), 0.0)
    e = np.where(on, pick(snap.edge), 0)
    t = network.edge_minutes[e] if network.n_edges else np.zeros(e.size)
    return walk, frac, t


def _augmented(
    network: RoadNetwork, edge: np.ndarray, to_u: np.ndarray, to_v: np.ndarray
) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Graph plus one virtual source node per on-network destination."""
    n = network.n_nodes
    ok = np.flatnonzero(edge >= 0)
    k = ok.size
    g = network.graph
    virt = n + np.arange(k)
    cols = np.column_stack([network.edge_u[edge[ok]], network.edge_v[edge[ok]]]).ravel()
    vals = np.column_stack([to_u[ok], to_v[ok]]).ravel()
    # virtual rows appended after the node rows; zero costs stay explicit edges
    indptr = np.concatenate([g.indptr, g.indptr[-1] + 2 * np.arange(1, k + 1)])
    indices = np.concatenate([g.indices, cols]).astype(np.int64)
    data = np.concatenate([g.data, vals])
    aug = sparse.csr_matrix((data, indices, indptr), shape=(n + k, n + k))
    return aug, virt


def _limit(limit_min: float) -> float:
    """``limit_min`` as a float >= 0 (refused otherwise)."""
    lim = float(limit_min)
    if not lim >= 0:
        raise InvalidValueError(f"limit_min={limit_min} must be minutes >= 0 (or None)")
    return lim


def _node_times(
    aug: sparse.csr_matrix,
    virt: np.ndarray,
    n_nodes: int,
    nodes: np.ndarray | None = None,
    limit: float = np.inf,
) -> np.ndarray:
    """``(n_nodes, k)`` C-ordered minutes from each virtual source to every node, or
    ``(nodes.size, k)`` to ``nodes`` only.

    C order so that gathering rows by node is contiguous. The sources run in
    blocks over threads (scipy's Dijkstra releases the GIL); each source's run is
    independent of the others, so the split changes nothing. Blocks hold at most
    :data:`DIJKSTRA_BLOCK` sources, bounding their full-graph temporaries. Nodes
    farther than ``limit`` minutes are not searched (``inf``).
    """
    out = np.empty((n_nodes if nodes is None else nodes.size, virt.size))

    def work(s: int, e: int) -> None:
        d = dijkstra(aug, directed=True, indices=virt[s:e], limit=limit)
        out[:, s:e] = (d[:, :n_nodes] if nodes is None else d[:, nodes]).T

    block = min(-(-virt.size // block_threads()), DIJKSTRA_BLOCK)
    for_blocks(work, virt.size, block)
    return out


def _end_metres(
    network: RoadNetwork, snap: Snap, idx: np.ndarray | slice | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Metres from points ``idx`` (all when None) to the ``edge_u`` and ``edge_v`` ends of
    their edge: the straight walk plus the part of the edge; NaN for off-network points."""
    pick = (lambda a: a) if idx is None else (lambda a: a[idx])
    on = pick(snap.on_network)
    walk = np.where(on, pick(snap.distance_m), np.nan)
    frac = np.where(on, pick(snap.fraction), np.nan)
    e = np.where(on, pick(snap.edge), 0)
    length = network.edge_length_m[e] if network.n_edges else np.zeros(e.size)
    return walk + frac * length, walk + (1.0 - frac) * length


def _direct_metres(
    network: RoadNetwork, osnap: Snap, dsnap: Snap, r: np.ndarray, c: np.ndarray
) -> np.ndarray:
    """Metres of the direct ride along a shared edge from origins ``r`` to destinations ``c``."""
    e = osnap.edge[r]
    along = np.abs(osnap.fraction[r] - dsnap.fraction[c]) * network.edge_length_m[e]
    return osnap.distance_m[r] + dsnap.distance_m[c] + along


def _tree_metres(
    lengths: sparse.csr_matrix, pred: np.ndarray, first: tuple[int, int, float, float, bool]
) -> np.ndarray:
    """Metres from a virtual source to every node along Dijkstra's predecessor tree.

    ``pred`` is the source's predecessor row over the ``n`` road nodes (values
    >= n are the source itself, negative ones unreached); ``first`` is the
    source's edge ends, the metres to them and whether ``edge_u`` is the
    quicker end (which counts when both ends are one node). Each node adds
    the length of the edge from its predecessor; the sums along the tree are
    taken by pointer doubling (a node's jump doubles each round), so the
    rounds are the log of the tree's depth, not a loop over nodes. NaN where
    unreached.
    """
    eu, ev, lu, lv, u_first = first
    n = pred.size
    x = np.arange(n)
    parent = pred.astype(np.int64)
    road = (parent >= 0) & (parent < n)
    joined = parent >= n
    step = np.zeros(n + 1)
    step[:n][road] = np.asarray(lengths[parent[road], x[road]]).ravel()
    step[:n][joined] = np.where((x[joined] == eu) & ((eu != ev) | u_first), lu, lv)
    # node n stands for the source: the root of every path, 0 m from itself
    up = np.append(np.where(road, parent, n), n)
    while True:
        active = np.flatnonzero(up[:n] != n)
        if active.size == 0:
            break
        hop = up[active]
        step[active] += step[hop]
        up[active] = up[hop]
    out = step[:n]
    out[~(road | joined)] = np.nan
    return out


def _lengths_csr(network: RoadNetwork) -> sparse.csr_matrix:
    """The road graph with metres instead of minutes (the same entries)."""
    g = network.graph
    return sparse.csr_matrix((network.graph_length_m, g.indices, g.indptr), shape=g.shape)


@dataclass(frozen=True)
class _Sources:
    """The destinations' virtual sources and what their first steps onto the road measure."""

    virt: np.ndarray  # virtual node of each on-network destination
    eu: np.ndarray  # its edge's ends
    ev: np.ndarray
    lu: np.ndarray  # metres to them
    lv: np.ndarray
    u_first: np.ndarray  # edge_u the quicker end (counts when both ends are one node)
    lengths: sparse.csr_matrix  # the road graph in metres


def _sources(
    network: RoadNetwork, dest: tuple[np.ndarray, np.ndarray, np.ndarray, Snap]
) -> _Sources:
    """:class:`_Sources` of the on-network destinations, in the order of :func:`_augmented`."""
    de, du, dv, dsnap = dest
    ok = np.flatnonzero(de >= 0)
    lu, lv = _end_metres(network, dsnap, ok)
    return _Sources(
        virt=network.n_nodes + np.arange(ok.size),
        eu=network.edge_u[de[ok]],
        ev=network.edge_v[de[ok]],
        lu=lu,
        lv=lv,
        u_first=du[ok] <= dv[ok],
        lengths=_lengths_csr(network),
    )


def _trees(
    aug: sparse.csr_matrix, src: _Sources, s: int, e: int, limit: float
) -> tuple[np.ndarray, np.ndarray]:
    """Minutes and metres ``(e - s, n_nodes)`` from sources ``s:e`` to every road node."""
    n = src.lengths.shape[0]
    d, pred = dijkstra(
        aug, directed=True, indices=src.virt[s:e], limit=limit, return_predecessors=True
    )
    metres = np.empty((e - s, n))
    for i in range(s, e):  # the block's destinations (a few), each over every node
        first = (src.eu[i], src.ev[i], src.lu[i], src.lv[i], bool(src.u_first[i]))
        metres[i - s] = _tree_metres(src.lengths, pred[i - s, :n], first)
    return d[:, :n], metres


def _node_times_km(
    network: RoadNetwork,
    aug: sparse.csr_matrix,
    dest: tuple[np.ndarray, np.ndarray, np.ndarray, Snap],
    nodes: np.ndarray | None,
    limit: float,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_node_times` of the destinations' virtual sources, and the metres along the
    paths that give those minutes (``(nodes, k)`` each, C order; NaN metres where unreached)."""
    src = _sources(network, dest)
    k = src.virt.size
    rows = network.n_nodes if nodes is None else nodes.size
    times, metres = np.empty((rows, k)), np.empty((rows, k))

    def work(s: int, e: int) -> None:
        d, m = _trees(aug, src, s, e, limit)
        times[:, s:e] = (d if nodes is None else d[:, nodes]).T
        metres[:, s:e] = (m if nodes is None else m[:, nodes]).T

    for_blocks(work, k, min(-(-k // block_threads()), DIJKSTRA_BLOCK))
    return times, metres


def _store(out: np.ndarray, b: np.ndarray, r: np.ndarray, cols: np.ndarray, full: bool) -> None:
    """Rows ``r`` (and columns ``cols``) of ``out`` from the block ``b``."""
    if full:  # every row and column: r is a run of consecutive rows
        out[r[0] : r[-1] + 1] = b
    elif cols.size == out.shape[1]:
        out[r] = b
    else:
        out[np.ix_(r, cols)] = b


def _fill_block(
    out: np.ndarray,
    dist_t: np.ndarray,
    r: np.ndarray,
    cols: np.ndarray,
    access: tuple[np.ndarray, np.ndarray, np.ndarray],
    ends: tuple[np.ndarray, np.ndarray],
    full: bool,
    km: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> None:
    """Rows ``r`` of an OD matrix: each origin's better end of its edge, in float64 then stored.

    With ``km`` (the km matrix to fill, the nodes' metres, the origins' metres to
    their ``edge_u`` and ``edge_v`` ends), the km along the end the minutes took.
    """
    oe, ou, ov = access
    b = np.take(dist_t, ends[0][oe[r]], axis=0)
    b += ou[r, None]
    via_v = np.take(dist_t, ends[1][oe[r]], axis=0)
    via_v += ov[r, None]
    if km is not None:
        kout, met_t, mu, mv = km
        k = np.take(met_t, ends[0][oe[r]], axis=0)
        k += mu[r, None]
        k_v = np.take(met_t, ends[1][oe[r]], axis=0)
        k_v += mv[r, None]
        np.copyto(k, k_v, where=via_v < b)
        k /= 1000.0
        _store(kout, k, r, cols, full)
    np.minimum(b, via_v, out=b)
    _store(out, b, r, cols, full)


def _read_nodes(
    network: RoadNetwork, oe: np.ndarray, on: np.ndarray, n_on: int
) -> tuple[np.ndarray | None, tuple[np.ndarray, np.ndarray]]:
    """The nodes whose times the origins read (None: all) and each edge's ends among them."""
    if 8 * n_on >= network.n_nodes:
        return None, (network.edge_u, network.edge_v)
    # few origins (villages): only their edges' ends
    used = np.concatenate([network.edge_u[oe[on]], network.edge_v[oe[on]]])
    nodes = np.unique(used)
    where = np.zeros(network.n_nodes, dtype=np.int64)
    where[nodes] = np.arange(nodes.size)
    return nodes, (where[network.edge_u], where[network.edge_v])


def _same_edge(
    network: RoadNetwork,
    out: np.ndarray,
    kout: np.ndarray | None,
    orig: tuple[np.ndarray, Snap],
    dest: tuple[np.ndarray, Snap],
    walk_kph: float,
) -> None:
    """Origin and destination on one edge: the direct ride along it may be shorter.

    Only the origins on some destination's edge (no dense origins x destinations
    mask); ``kout`` (km) takes the direct ride's km where it is quicker.
    """
    (oe, osnap), (de, dsnap) = orig, dest
    cols = np.flatnonzero(de >= 0)
    hit = np.flatnonzero((oe >= 0) & np.isin(oe, de[cols]))
    i, j = np.nonzero(oe[hit, None] == de[None, cols])
    if not i.size:
        return
    r, c = hit[i], cols[j]
    ow, of_, ot = _parts(network, osnap, walk_kph, r)
    dw, df, _ = _parts(network, dsnap, walk_kph, c)
    direct = ow + dw + np.abs(of_ - df) * ot
    if kout is not None:
        wins = direct < out[r, c]
        kout[r[wins], c[wins]] = _direct_metres(network, osnap, dsnap, r[wins], c[wins]) / 1000.0
    out[r, c] = np.minimum(out[r, c], direct)


def _od(
    network: RoadNetwork,
    origins_xy: object,
    destinations_xy: object,
    opts: tuple[float | None, float | None, type, float | None],
    with_km: bool,
) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`od_matrix`'s minutes and, ``with_km``, the km along the same paths (NaN where
    the minutes are ``inf``); ``opts`` is walk speed, walk limit, dtype and time limit."""
    walk_speed_kph, max_walk_m, dtype, limit_min = opts
    walk_kph = _walk_kph(walk_speed_kph)
    oe, ou, ov, osnap = _access(network, origins_xy, walk_kph, max_walk_m)
    de, du, dv, dsnap = _access(network, destinations_xy, walk_kph, max_walk_m)
    shape = (oe.size, de.size)
    on = oe >= 0
    n_on = int(np.count_nonzero(on))
    # the origins on the network; None when all are (a county's cells: no index array)
    rows = None if n_on == oe.size else np.flatnonzero(on)
    cols = np.flatnonzero(de >= 0)
    if n_on == 0 or cols.size == 0:
        return np.full(shape, np.inf, dtype=dtype), np.full(shape, np.nan) if with_km else None
    aug, virt = _augmented(network, de, du, dv)
    nodes, ends = _read_nodes(network, oe, on, n_on)
    limit = np.inf if limit_min is None else _limit(limit_min)
    km = None
    if with_km:
        dist_t, met_t = _node_times_km(network, aug, (de, du, dv, dsnap), nodes, limit)
    else:
        dist_t = _node_times(aug, virt, network.n_nodes, nodes, limit)
    # each origin takes the better end of its edge; in row blocks (over threads) so the
    # temporaries stay small, written straight into the result (off-network origins keep
    # their row of inf); blocks write disjoint rows, so the thread count changes nothing
    full = rows is None and cols.size == shape[1]
    out = large_array(shape, dtype, what="travel-time matrix (cells × sites)")
    if not full:
        out.fill(np.inf)
    if with_km:
        km = large_array(shape, np.float64, what="distance matrix (cells × sites)")
        km.fill(np.nan)
        km = (km, met_t, *_end_metres(network, osnap))
    for_blocks(
        lambda s, e: _fill_block(
            out,
            dist_t,
            np.arange(s, e) if rows is None else rows[s:e],
            cols,
            (oe, ou, ov),
            ends,
            full,
            km,
        ),
        n_on,
        OD_BLOCK,
    )
    kout = None if km is None else km[0]
    _same_edge(network, out, kout, (oe, osnap), (de, dsnap), walk_kph)
    if np.isfinite(limit):  # an origin's own walk and edge part may pass the limit
        out[out > limit] = np.inf
    if kout is not None:
        kout[~np.isfinite(out)] = np.nan
    return out, kout


def od_matrix(
    network: RoadNetwork,
    origins_xy: object,
    destinations_xy: object,
    *,
    walk_speed_kph: float | None = None,
    max_walk_m: float | None = None,
    dtype: type = np.float64,
    limit_min: float | None = None,
) -> np.ndarray:
    """Door-to-door travel minutes from every origin to every destination.

    Time = walk to the nearest road + along the snapped edge to one of its end
    nodes + shortest path + along the destination's edge + walk. When both
    points join the same edge the direct ride along it is also considered.

    Parameters
    ----------
    network
        The road network.
    origins_xy, destinations_xy
        ``(n, 2)`` arrays in ``network.crs``, or point GeoDataFrames/GeoSeries
        in any CRS.
    walk_speed_kph
        Off-road walking speed; default :data:`coverkit.settings.walk_speed_kph`.
    max_walk_m
        Longest off-road walk; default :data:`coverkit.settings.max_walk_m`.
    dtype
        Storage of the result: ``numpy.float64`` (default) or ``numpy.float32``
        (half the memory; each time computed in float64, then rounded to 1e-7
        relative).
    limit_min
        Only times up to this many minutes are wanted: the road search stops
        there (much faster for short trips) and longer times are ``inf``.
        ``None`` (default): every time.

    Returns
    -------
    ndarray
        ``(n_origins, n_destinations)`` minutes of ``dtype``; ``inf`` when either
        point is off-network, no path exists, or the time exceeds ``limit_min``.
        Never NaN.

    Notes
    -----
    One :func:`scipy.sparse.csgraph.dijkstra` run from one virtual node per
    destination (joined to the two ends of its edge by the partial edge time
    plus its walk) gives each destination's time to every node; as the graph
    is symmetric this is also every node's time to the destination. Each
    origin then takes the better of its two edge ends, vectorised.
    """
    opts = (walk_speed_kph, max_walk_m, dtype, limit_min)
    return _od(network, origins_xy, destinations_xy, opts, with_km=False)[0]


def od_minutes_km(
    network: RoadNetwork,
    origins_xy: object,
    destinations_xy: object,
    *,
    walk_speed_kph: float | None = None,
    max_walk_m: float | None = None,
    limit_min: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Door-to-door minutes (as :func:`od_matrix`) and the km along the same paths.

    Parameters
    ----------
    network
        The road network.
    origins_xy, destinations_xy
        ``(n, 2)`` arrays in ``network.crs``, or point GeoDataFrames/GeoSeries
        in any CRS.
    walk_speed_kph
        Off-road walking speed; default :data:`coverkit.settings.walk_speed_kph`.
    max_walk_m
        Longest off-road walk; default :data:`coverkit.settings.max_walk_m`.
    limit_min
        As in :func:`od_matrix`.

    Returns
    -------
    minutes : ndarray
        float64 ``(n_origins, n_destinations)``, equal bit for bit to
        ``od_matrix(network, origins_xy, destinations_xy, ...)``.
    km : ndarray
        float64, same shape: the straight walk to the road, the part of the
        origin's edge to the end the minutes took, the road km of the
        quickest path (the edges its minutes used, not the shortest in km),
        the part of the destination's edge and its walk; or the direct ride
        along a shared edge where that is quicker. NaN where ``minutes`` is
        ``inf``.

    Notes
    -----
    The same Dijkstra runs as :func:`od_matrix`, with predecessors; each
    node's metres are summed along the predecessor tree (pointer doubling).
    Between two nodes joined by parallel roads the kept one is the quicker
    (:attr:`RoadNetwork.graph_length_m`). On a tie in minutes either path is
    a quickest one; the km follow the one Dijkstra's tree holds.
    """
    opts = (walk_speed_kph, max_walk_m, np.float64, limit_min)
    minutes, km = _od(network, origins_xy, destinations_xy, opts, with_km=True)
    return minutes, np.full(minutes.shape, np.nan) if km is None else km


def _assigned_column(column: object, n: int, m: int) -> np.ndarray:
    """``column`` as int64 of length ``n`` in ``-1 .. m-1`` (refused otherwise)."""
    col = np.asarray(column)
    if col.shape != (n,) or (col.size and not np.issubdtype(col.dtype, np.integer)):
        raise InvalidValueError(
            f"column must hold one integer destination index per origin ({n}); got shape "
            f"{col.shape} of {col.dtype}"
        )
    col = col.astype(np.int64)
    if col.size and (col.min() < -1 or col.max() >= m):
        raise InvalidValueError(
            f"column holds {int(col.min())}..{int(col.max())}: give destination indexes "
            f"0..{m - 1}, or -1 for none"
        )
    return col


def _assigned_group(
    network: RoadNetwork,
    km: np.ndarray,
    o: np.ndarray,
    node: tuple[np.ndarray, np.ndarray],
    orig: tuple[np.ndarray, np.ndarray, np.ndarray, Snap],
    dest: tuple[int, Snap, int],
    walk_kph: float,
) -> None:
    """km of origins ``o`` to their one destination, from its nodes' minutes and metres."""
    oe, ou, ov, osnap = orig
    d, m = node
    j, dsnap, de_j = dest
    a, b = network.edge_u[oe[o]], network.edge_v[oe[o]]
    via_u = d[a] + ou[o]
    via_v = d[b] + ov[o]
    mu, mv = _end_metres(network, osnap, o)
    metres = np.where(via_v < via_u, m[b] + mv, m[a] + mu)
    minutes = np.minimum(via_u, via_v)
    same = np.flatnonzero(oe[o] == de_j)
    if same.size:
        r, c = o[same], np.full(same.size, j)
        ow, of_, ot = _parts(network, osnap, walk_kph, r)
        dw, df, _ = _parts(network, dsnap, walk_kph, c)
        direct = ow + dw + np.abs(of_ - df) * ot
        wins = direct < minutes[same]
        metres[same[wins]] = _direct_metres(network, osnap, dsnap, r[wins], c[wins])
        minutes[same] = np.minimum(minutes[same], direct)
    km[o] = np.where(np.isfinite(minutes), metres / 1000.0, np.nan)


def km_to_assigned(
    network: RoadNetwork,
    origins_xy: object,
    destinations_xy: object,
    column: object,
    *,
    walk_speed_kph: float | None = None,
    max_walk_m: float | None = None,
) -> np.ndarray:
    """km from every origin to its one assigned destination, along the quickest path.

    For many origins (a county's cells) each assigned one destination (its
    nearest site, its catchment's centre): the km of the path whose minutes
    :func:`od_matrix` gives, without an origins × destinations km matrix.

    Parameters
    ----------
    network
        The road network.
    origins_xy, destinations_xy
        ``(n, 2)`` arrays in ``network.crs``, or point GeoDataFrames/GeoSeries
        in any CRS. The origins' snap is read from ``network.snap_cache`` when
        the same points were snapped before (by :func:`od_matrix`).
    column
        Length-n integer index into ``destinations_xy`` per origin; -1 for none.
    walk_speed_kph
        Off-road walking speed; default :data:`coverkit.settings.walk_speed_kph`.
    max_walk_m
        Longest off-road walk; default :data:`coverkit.settings.max_walk_m`.

    Returns
    -------
    ndarray
        float64 km per origin, equal to ``od_minutes_km(...)[1][i, column[i]]``;
        NaN where ``column`` is -1 or the destination cannot be reached.

    Raises
    ------
    InvalidValueError
        ``column`` of the wrong length, not integers, or out of range.

    Notes
    -----
    One Dijkstra run with predecessors per assigned destination (in blocks
    over threads), the metres summed along its tree, then each origin's
    gather: memory O(origins + nodes × block).
    """
    walk_kph = _walk_kph(walk_speed_kph)
    orig = _access(network, origins_xy, walk_kph, max_walk_m)
    de, du, dv, dsnap = _access(network, destinations_xy, walk_kph, max_walk_m)
    col = _assigned_column(column, orig[0].size, de.size)
    km = np.full(col.size, np.nan)
    use = (col >= 0) & (orig[0] >= 0)
    use[use] = de[col[use]] >= 0
    idx = np.flatnonzero(use)
    if idx.size == 0:
        return km
    order = idx[np.argsort(col[idx], kind="stable")]
    dests, starts = np.unique(col[order], return_index=True)
    bounds = np.append(starts, order.size)
    de_used = np.full(de.size, -1, dtype=np.int64)
    de_used[dests] = de[dests]
    aug, _ = _augmented(network, de_used, du, dv)
    src = _sources(network, (de_used, du, dv, dsnap))

    def work(s: int, e: int) -> None:
        d, m = _trees(aug, src, s, e, np.inf)
        for g in range(s, e):  # the block's destinations, each over its origins
            j = int(dests[g])
            _assigned_group(
                network,
                km,
                order[bounds[g] : bounds[g + 1]],
                (d[g - s], m[g - s]),
                orig,
                (j, dsnap, int(de[j])),
                walk_kph,
            )

    for_blocks(work, dests.size, min(-(-dests.size // block_threads()), DIJKSTRA_BLOCK))
    return km


def travel_times_to_nearest(
    network: RoadNetwork,
    origins_xy: object,
    facilities_xy: object,
    *,
    walk_speed_kph: float | None = None,
    max_walk_m: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Minutes to the nearest facility and its index, for every origin.

    Parameters
    ----------
    network
        The road network.
    origins_xy, facilities_xy
        ``(n, 2)`` arrays in ``network.crs``, or point GeoDataFrames/GeoSeries.
    walk_speed_kph
        Off-road walking speed; default :data:`coverkit.settings.walk_speed_kph`.
    max_walk_m
        Longest off-road walk; default :data:`coverkit.settings.max_walk_m`.

    Returns
    -------
    minutes : ndarray
        float64 minutes to the nearest facility; ``inf`` if none is reachable.
    nearest_index : ndarray
        int64 position of that facility in ``facilities_xy``; -1 if none.

    Notes
    -----
    One multi-source :func:`scipy.sparse.csgraph.dijkstra` run
    (``min_only=True``) from all facilities' virtual nodes gives every node its
    best time and source; origins sharing an edge with a facility also compare
    the direct ride. The result equals the row minimum of :func:`od_matrix`.
    """
    walk_kph = _walk_kph(walk_speed_kph)
    oe, ou, ov, osnap = _access(network, origins_xy, walk_kph, max_walk_m)
    fe, fu, fv, fsnap = _access(network, facilities_xy, walk_kph, max_walk_m)
    minutes = np.full(oe.size, np.inf)
    nearest = np.full(oe.size, -1, dtype=np.int64)
    fac = np.flatnonzero(fe >= 0)
    rows = np.flatnonzero(oe >= 0)
    if fac.size == 0 or rows.size == 0:
        return minutes, nearest
    aug, virt = _augmented(network, fe, fu, fv)
    dist, _, src = dijkstra(
        aug, directed=True, indices=virt, min_only=True, return_predecessors=True
    )
    n = network.n_nodes
    dist = dist[:n]
    src = np.where(src[:n] >= n, fac[np.maximum(src[:n] - n, 0)], -1)
    ow, of_, ot = _parts(network, osnap, walk_kph, rows)
    fw, ff, _ = _parts(network, fsnap, walk_kph)
    a = network.edge_u[oe[rows]]
    b = network.edge_v[oe[rows]]
    via_u = ou[rows] + dist[a]
    via_v = ov[rows] + dist[b]
    use_v = via_v < via_u
    best = np.where(use_v, via_v, via_u)
    who = np.where(use_v, src[b], src[a])
    # direct rides along a shared edge: facilities sorted by edge, k-th match per origin
    order = np.argsort(fe[fac], kind="stable")
    fedge = fe[fac][order]
    lo = np.searchsorted(fedge, oe[rows], side="left")
    hi = np.searchsorted(fedge, oe[rows], side="right")
    for k in range(int((hi - lo).max(initial=0))):
        has = lo + k < hi
        if not has.any():
            break
        j = fac[order[np.minimum(lo + k, fedge.size - 1)]]
        direct = ow + fw[j] + np.abs(of_ - ff[j]) * ot
        better = has & ((direct < best) | ((direct == best) & (j < who)))
        best = np.where(better, direct, best)
        who = np.where(better, j, who)
    who = np.where(np.isfinite(best), who, -1)
    minutes[rows] = best
    nearest[rows] = who
    return minutes, nearest


def od_matrix_euclidean(
    origins_xy: ArrayLike,
    destinations_xy: ArrayLike,
    *,
    circuity: float | None = None,
    speed_kph: float | None = None,
) -> np.ndarray:
    """Estimated minutes from straight-line distance when no road layer exists.

    Parameters
    ----------
    origins_xy, destinations_xy
        ``(n, 2)`` arrays in one projected (metric) CRS.
    circuity
        Road distance / straight-line distance; default
        :data:`coverkit.settings.circuity_factor`.
    speed_kph
        Average speed; default :data:`coverkit.settings.fallback_speed_kph`.

    Returns
    -------
    ndarray
        float64 ``(n_origins, n_destinations)`` minutes. Callers must label
        these as estimated.

    Raises
    ------
    InvalidValueError
        For ``circuity < 1`` or a speed that is not positive.
    """
    c = float(settings.circuity_factor if circuity is None else circuity)
    s = float(settings.fallback_speed_kph if speed_kph is None else speed_kph)
    if not (math.isfinite(c) and c >= 1.0):
        raise InvalidValueError(f"circuity={circuity} must be >= 1 (road / straight-line ratio)")
    if not (math.isfinite(s) and s > 0):
        raise InvalidValueError(f"speed_kph={speed_kph} must be a positive km/h")
    o = _xy_array(origins_xy)
    d = _xy_array(destinations_xy)
    dist_m = np.hypot(o[:, None, 0] - d[None, :, 0], o[:, None, 1] - d[None, :, 1])
    return dist_m * c / 1000.0 / s * 60.0


__all__ = [
    "km_to_assigned",
    "od_matrix",
    "od_matrix_euclidean",
    "od_minutes_km",
    "points_xy",
    "travel_times_to_nearest",
]
