"""Joining points to the road network: the exact nearest-edge index and its cache.

Points (cells, villages, facilities) reach the graph off-road: each is snapped
to the nearest *edge* (not node) of a :class:`~coverkit.network.RoadNetwork`,
walks to it at walking speed, then travels along the edge to either end node.
:class:`SnapIndex` finds the nearest edge exactly and fast (a KD-tree on the
ends of short edge pieces, with a proof of completeness per point);
:func:`snap_points` uses the network's two indexes (all edges, main component)
and :class:`SnapCache` keeps the last snaps, as a surface and an OD matrix of
the same cells snap the same points.

The tuning constants below change the speed and memory of snapping, never its
result.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import shapely

from coverkit import settings
from coverkit.errors import InvalidValueError
from coverkit.network.blocks import for_blocks

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from coverkit.network.graph import RoadNetwork

logger = logging.getLogger(__name__)

#: Edges are cut into straight pieces no longer than this for the snapping
#: index, metres. The search radius that proves a snap exact is
#: ``sqrt(d**2 + (piece/2)**2)`` for a point ``d`` metres from the road, so
#: shorter pieces give tighter proofs but a larger index.
SNAP_PIECE_M: float = 50.0
#: Nearest piece ends tried per point, round after round, before the exact
#: STRtree fallback (read when :meth:`SnapIndex.nearest` runs).
CANDIDATE_ENDS: tuple[int, ...] = (3, 12, 48)
#: Points snapped per block (bounds the temporary arrays to ~100 MB).
SNAP_BLOCK: int = 131_072
#: Snaps kept per network by :class:`SnapCache` (keyed by a hash of the coordinates).
SNAP_CACHE_SIZE: int = 2


@dataclass(frozen=True, eq=False)
class Snap:
    """Where points join the road network.

    Attributes
    ----------
    edge
        int64 index of the edge each point joins; -1 when the point has no
        usable road within ``max_walk_m``.
    fraction
        float64 position of the joining point along the edge, 0 at ``edge_u``
        and 1 at ``edge_v`` (NaN where ``edge`` is -1).
    distance_m
        float64 straight-line walk from the point to the edge (``inf`` where
        ``edge`` is -1).
    on_network
        Boolean, ``edge >= 0``.
    rerouted
        Boolean, True where the nearest road was on a small disconnected
        component and the point joins the main component instead.
    """

    edge: np.ndarray
    fraction: np.ndarray
    distance_m: np.ndarray
    on_network: np.ndarray
    rerouted: np.ndarray

    @property
    def n_off_network(self) -> int:
        """Number of points with no usable road within reach."""
        return int((~self.on_network).sum())


def _digest(a: np.ndarray, chunk: int = 1 << 20) -> bytes:
    """BLAKE2b digest of ``a``'s values in order (chunk by chunk when ``a`` is strided)."""
    h = hashlib.blake2b(digest_size=16)
    if a.flags.c_contiguous:
        h.update(memoryview(a))
    else:
        for s in range(0, a.size, chunk):
            h.update(memoryview(np.ascontiguousarray(a[s : s + chunk])))
    return h.digest()


class SnapCache:
    """The last few :class:`Snap` results of one network, least recently used dropped first.

    :func:`snap_points` keys a snap by a hash of the point coordinates and the
    walking limit (:meth:`key`); at most :data:`SNAP_CACHE_SIZE` snaps are
    kept. Get a network's cache with ``network.snap_cache``.
    """

    def __init__(self) -> None:
        self._snaps: OrderedDict[tuple[bytes, bytes, float], Snap] = OrderedDict()

    @staticmethod
    def key(xs: np.ndarray, ys: np.ndarray, max_m: float) -> tuple[bytes, bytes, float]:
        """Cache key of points ``xs``, ``ys`` (float64, any strides) snapped within ``max_m``."""
        # the two in threads (hashlib releases the GIL); a strided array is hashed in
        # contiguous chunks (the same digest as its contiguous copy, without the copy)
        arrays = (xs, ys)
        digests = for_blocks(lambda s, e: _digest(arrays[s]), 2, 1)
        return (digests[0], digests[1], max_m)

    def get(self, key: tuple[bytes, bytes, float]) -> Snap | None:
        """The cached snap of ``key`` (now the most recently used), or ``None``."""
        snap = self._snaps.get(key)
        if snap is not None:
            self._snaps.move_to_end(key)
        return snap

    def put(self, key: tuple[bytes, bytes, float], snap: Snap) -> None:
        """Keep ``snap`` under ``key``, dropping the oldest beyond :data:`SNAP_CACHE_SIZE`."""
        self._snaps[key] = snap
        while len(self._snaps) > SNAP_CACHE_SIZE:
            self._snaps.popitem(last=False)

    def clear(self) -> None:
        """Forget every cached snap."""
        self._snaps.clear()

    def __len__(self) -> int:
        """Number of snaps kept."""
        return len(self._snaps)


class SnapIndex:
    """Exact nearest road piece of points, via a KD-tree on the ends of short pieces.

    Edges are cut into straight pieces of at most ``s`` metres
    (:data:`SNAP_PIECE_M`); their ends, merged by location, go into a
    KD-tree, and each end knows the pieces that touch it. Get a network's
    indexes with :meth:`RoadNetwork.snap_index
    <coverkit.network.RoadNetwork.snap_index>` rather than building them.

    Parameters
    ----------
    network
        The road network.
    edges
        Indexes of the edges to index, ascending.
    pieces
        ``(starts, ends, edge of each)`` of the pieces when already cut
        (grouped by edge in ascending order), else they are cut here.

    Notes
    -----
    Why it is exact: if a point's nearest piece lies ``d`` metres away, the
    foot of the perpendicular is at most ``s/2`` along the piece from one of
    its ends, so that end lies within ``sqrt(d**2 + (s/2)**2)`` of the point.
    Having found a piece at distance ``d_best`` among the pieces touching
    the ``k`` nearest ends, every piece at distance ``<= d_best`` (the
    nearest, and any tie) has an end within ``r = sqrt(d_best**2 + (s/2)**2)``;
    so once the k-th nearest end is farther than ``r``, all of them have been
    compared. Unlike a bound on piece midpoints (``d + s/2``), this radius
    exceeds ``d`` by little for points far from a road, so a few ends suffice
    whatever the distance. Points that ``k`` ends do not settle try more
    (:data:`CANDIDATE_ENDS`), then an exact STRtree search.
    """

    def __init__(
        self,
        network: RoadNetwork,
        edges: np.ndarray,
        pieces: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    ) -> None:
        from scipy.spatial import cKDTree

        self.network = network
        self.edges = edges
        if pieces is None:
            geoms = shapely.segmentize(network.edge_geometry[edges], SNAP_PIECE_M)
            coords, owner = shapely.get_coordinates(geoms, return_index=True)
            same = owner[1:] == owner[:-1]
            pieces = (coords[:-1][same], coords[1:][same], edges[owner[:-1][same]])
        a, b, owner = pieces
        self.edge = owner
        length = np.hypot(*(b - a).T)
        excl = np.cumsum(length) - length
        self.along = excl - excl[np.searchsorted(owner, owner, side="left")]
        self.length = length
        d = b - a
        with np.errstate(divide="ignore"):
            inv = np.where(length > 0, 1.0 / np.maximum(length, 1e-300) ** 2, 0.0)
        # one row per quantity (ax, ay, bx, by, dx, dy, 1/len^2): gathers give contiguous rows
        self.abd = np.ascontiguousarray(np.column_stack([a, b, d, inv]).T)
        m = length.size
        self.half = float(length.max() / 2.0) if m else 0.0
        self.tree = None
        if m == 0:
            return
        self.tree = cKDTree(self._index_ends(a, b, owner), balanced_tree=False)

    def _index_ends(self, a: np.ndarray, b: np.ndarray, owner: np.ndarray) -> np.ndarray:
        """Piece ends, merged by location, and from each end the pieces touching it.

        An inner vertex of an edge touches its two pieces; the ends of edges
        are merged across edges by coordinates (junctions). Sets ``degree``,
        ``touch`` and ``touch_ptr`` (CSR of end → pieces) and returns the
        coordinates of the ends, in the same order.
        """
        m = owner.size
        head = np.ones(m, dtype=bool)
        head[1:] = owner[1:] != owner[:-1]
        tail = np.ones(m, dtype=bool)
        tail[:-1] = head[1:]
        inner = np.flatnonzero(~head)  # piece i starts where piece i-1 ends
        outer_xy = np.concatenate([a[head], b[tail]])
        outer_piece = np.concatenate([np.flatnonzero(head), np.flatnonzero(tail)])
        order = np.lexsort((outer_xy[:, 1], outer_xy[:, 0]))
        sxy = outer_xy[order]
        new = np.ones(order.size, dtype=bool)
        new[1:] = (sxy[1:, 0] != sxy[:-1, 0]) | (sxy[1:, 1] != sxy[:-1, 1])
        group_size = np.diff(np.r_[np.flatnonzero(new), order.size])
        self.degree = np.concatenate([np.full(inner.size, 2, dtype=np.int64), group_size])
        self.touch = np.concatenate(
            [np.column_stack([inner - 1, inner]).ravel(), outer_piece[order]]
        )
        self.touch_ptr = np.zeros(self.degree.size + 1, dtype=np.int64)
        np.cumsum(self.degree, out=self.touch_ptr[1:])
        return np.concatenate([a[inner], sxy[new]])

    def restricted(self, keep_edge: np.ndarray) -> SnapIndex:
        """The same index over the edges where ``keep_edge`` (bool per network edge) is True.

        Parameters
        ----------
        keep_edge
            Boolean per edge of the network.

        Returns
        -------
        SnapIndex
            A new index reusing the pieces already cut here.
        """
        keep = keep_edge[self.edge]
        return SnapIndex(
            self.network,
            self.edges[keep_edge[self.edges]],
            (self.abd[0:2, keep].T, self.abd[2:4, keep].T, self.edge[keep]),
        )

    def _pieces(self, px: np.ndarray, py: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, ...]:
        """Distance and clamped parameter of points to pieces ``j`` (same shapes)."""
        # one gather of contiguous rows; in place, the same float operations as
        # t = (r . d) / len^2 clamped, c = b - p at the far end else t d - r, |c|
        ax, ay, bx, by, dx, dy, inv = np.take(self.abd, j, axis=1)
        rx = px - ax
        ry = py - ay
        t = rx * dx
        t += ry * dy
        t *= inv
        np.clip(t, 0.0, 1.0, out=t)
        end = t >= 1.0
        cx = t * dx
        cx -= rx
        cy = t * dy
        cy -= ry
        np.subtract(bx, px, out=cx, where=end)
        np.subtract(by, py, out=cy, where=end)
        return np.hypot(cx, cy, out=cx), t

    def nearest(self, xs: np.ndarray, ys: np.ndarray, max_m: float) -> tuple[np.ndarray, ...]:
        """Nearest indexed edge of each point.

        Parameters
        ----------
        xs, ys
            float64 coordinates in the network CRS.
        max_m
            Farthest edge accepted, metres (``inf`` for no limit).

        Returns
        -------
        edge : ndarray
            int64 edge index, -1 if none lies within ``max_m``.
        distance_m : ndarray
            float64 distance to it (``inf`` for none).
        fraction : ndarray
            float64 position of the foot along the edge, 0 at ``edge_u`` (NaN for none).
        """
        n = xs.size
        edge = np.full(n, -1, dtype=np.int64)
        dist = np.full(n, np.inf)
        frac = np.full(n, np.nan)
        if self.tree is None or n == 0:
            return edge, dist, frac
        q2 = self.half**2
        # a piece within max_m has an end within sqrt(max_m^2 + (s/2)^2)
        bound = math.sqrt(max_m**2 + q2) + 1e-6 if np.isfinite(max_m) else np.inf
        pending = np.arange(n)
        for k in CANDIDATE_ENDS:
            if pending.size == 0:
                break
            rows = pending  # bound now: the blocks run in threads

            def work(s: int, e: int, k: int = k, rows: np.ndarray = rows) -> np.ndarray:
                return self._block(xs, ys, rows[s:e], k, bound, max_m, edge, dist, frac)

            # blocks write disjoint rows: the same result on any number of threads
            pending = np.concatenate(for_blocks(work, rows.size, SNAP_BLOCK))
        if pending.size:
            logger.debug("exact STRtree search for %d points", pending.size)
            self._strtree(xs, ys, pending, max_m, edge, dist, frac)
        return edge, dist, frac

    def _candidates(
        self, idx: np.ndarray, dk: np.ndarray, jk: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every piece touching a found end, flattened point by point.

        Returns ``piece``, ``owner`` (row of ``idx`` of each), ``per_point``
        (pieces per point) and ``found`` (ends found, per point and rank).
        """
        nend = self.degree.size
        found = jk < nend
        jsafe = np.minimum(jk, nend - 1)  # missing neighbours are nend: count 0 pieces
        cnt = np.where(found, self.degree[jsafe], 0).ravel()
        per_point = cnt.reshape(idx.size, jk.shape[1]).sum(axis=1)
        total = int(per_point.sum())
        first = np.repeat(self.touch_ptr[jsafe].ravel(), cnt)
        offs = np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        piece = self.touch[first + offs]
        owner = np.repeat(np.arange(idx.size), per_point)
        return piece, owner, per_point, found

    def _winners(
        self, d: np.ndarray, piece: np.ndarray, owner: np.ndarray, per_point: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per point: least distance ``db``, and the winning candidate positions ``win``.

        The winner is the least distance, then the least edge among exact
        ties, then the first piece; one per point that found any piece.
        """
        n = per_point.size
        total = d.size
        has = per_point > 0
        starts = (np.cumsum(per_point) - per_point)[has]
        db = np.full(n, np.inf)
        if total:
            db[has] = np.minimum.reduceat(d, starts)
        pe = self.edge[piece]
        tie = d == db[owner]
        eb = np.full(n, np.iinfo(np.int64).max)
        if total:
            eb[has] = np.minimum.reduceat(np.where(tie, pe, np.iinfo(np.int64).max), starts)
        win = np.flatnonzero(tie & (pe == eb[owner]))
        keep = np.ones(win.size, dtype=bool)
        keep[1:] = owner[win[1:]] != owner[win[:-1]]
        return db, win[keep]

    def _block(
        self,
        xs: np.ndarray,
        ys: np.ndarray,
        idx: np.ndarray,
        k: int,
        bound: float,
        max_m: float,
        edge: np.ndarray,
        dist: np.ndarray,
        frac: np.ndarray,
    ) -> np.ndarray:
        """Snap points ``idx`` from their ``k`` nearest ends; return those not settled."""
        nend = self.degree.size
        k_eff = min(k, nend)
        px, py = xs[idx], ys[idx]
        dk, jk = self.tree.query(
            np.column_stack([px, py]), k=k_eff, distance_upper_bound=bound, workers=-1
        )
        dk, jk = dk.reshape(idx.size, k_eff), jk.reshape(idx.size, k_eff)
        piece, owner, per_point, found = self._candidates(idx, dk, jk)
        d, t = self._pieces(px[owner], py[owner], piece)
        db, win = self._winners(d, piece, owner, per_point)
        radius = np.sqrt(db**2 + self.half**2) + 1e-6
        settled = (k_eff == nend) | ~found[:, -1] | (dk[:, -1] > radius)
        wp = owner[win]
        ok = settled[wp] & (db[wp] <= max_m)
        rows, pw = idx[wp[ok]], piece[win[ok]]
        edge[rows] = self.edge[pw]
        dist[rows] = d[win[ok]]
        elen = self.network.edge_length_m[edge[rows]]
        with np.errstate(invalid="ignore", divide="ignore"):
            f = (self.along[pw] + t[win[ok]] * self.length[pw]) / elen
        frac[rows] = np.clip(np.nan_to_num(f, nan=0.0), 0.0, 1.0)
        return idx[~settled]

    def _strtree(
        self,
        xs: np.ndarray,
        ys: np.ndarray,
        pending: np.ndarray,
        max_m: float,
        edge: np.ndarray,
        dist: np.ndarray,
        frac: np.ndarray,
    ) -> None:
        """Exact nearest edge of ``pending`` points with a GEOS STRtree (the rare leftovers)."""
        pts = shapely.points(xs[pending], ys[pending])
        tree = shapely.STRtree(self.network.edge_geometry[self.edges])
        (qi, ti), dd = tree.query_nearest(
            pts,
            max_distance=max_m if np.isfinite(max_m) else None,
            return_distance=True,
            all_matches=True,
        )
        ti = self.edges[ti]
        order = np.lexsort((ti, dd, qi))
        qi, ti, dd = qi[order], ti[order], dd[order]
        first = np.ones(qi.size, dtype=bool)
        first[1:] = qi[1:] != qi[:-1]
        idx = pending[qi[first]]
        edge[idx] = ti[first]
        dist[idx] = dd[first]
        f = shapely.line_locate_point(
            self.network.edge_geometry[ti[first]], pts[qi[first]], normalized=True
        )
        frac[idx] = np.clip(np.nan_to_num(f, nan=0.0), 0.0, 1.0)


def snap_points(
    network: RoadNetwork,
    x: ArrayLike,
    y: ArrayLike,
    *,
    max_walk_m: float | None = None,
) -> Snap:
    """Join points to their nearest road edge.

    A point joins the nearest edge (exact distance to the edge geometry,
    lowest edge index on ties) at the projection of the point on it. If that
    edge lies on a small disconnected component, the point joins the nearest
    edge of the main component instead when that is within ``max_walk_m``
    (a WARNING gives the count and the longest such walk); otherwise it is
    unreachable. Points with no road within ``max_walk_m`` are off-network.

    Parameters
    ----------
    network
        The road network.
    x, y
        Coordinates in ``network.crs``.
    max_walk_m
        Longest off-road walk, metres; default :data:`coverkit.settings.max_walk_m`.

    Returns
    -------
    Snap
        Edge, fraction, distance and flags per point.

    Notes
    -----
    Edges are cut into pieces of at most 50 m and a KD-tree on the piece
    ends gives candidates whose exact distances are compared in numpy; the
    candidate set is proven complete per point (see :class:`SnapIndex`), with
    an exact STRtree search for the rare points where it is not. The
    last two results per network are cached by a hash of the coordinates (a
    surface and an OD matrix of the same cells snap once; see
    :class:`SnapCache`); the returned arrays are read-only.
    """
    max_m = float(settings.max_walk_m if max_walk_m is None else max_walk_m)
    if not max_m >= 0:
        raise InvalidValueError(f"max_walk_m={max_walk_m} must be >= 0 metres")
    # views where possible (a county's cell columns are strided: no copies of them)
    xs = np.asarray(x, dtype="float64").reshape(-1)
    ys = np.asarray(y, dtype="float64").reshape(-1)
    # the same points are often snapped twice (surface, then OD): keep the last two
    cache = network.snap_cache
    key = cache.key(xs, ys, max_m)
    snap = cache.get(key)
    if snap is not None:
        return snap
    snap = _snap(network, xs, ys, max_m)
    cache.put(key, snap)
    return snap


def _reroute_to_main(
    network: RoadNetwork,
    xs: np.ndarray,
    ys: np.ndarray,
    max_m: float,
    snapped: tuple[np.ndarray, np.ndarray, np.ndarray],
    rerouted: np.ndarray,
) -> None:
    """Move points snapped to a small component onto the main one (in place), with WARNINGs."""
    edge, dist, frac = snapped
    on_small = (edge >= 0) & ~network.edge_main[np.maximum(edge, 0)]
    if not on_small.any():
        return
    idx = np.flatnonzero(on_small)
    e2, d2, f2 = network.snap_index(main_only=True).nearest(xs[idx], ys[idx], max_m)
    ok = e2 >= 0
    edge[idx], dist[idx], frac[idx] = e2, d2, f2
    rerouted[idx[ok]] = True
    if ok.any():
        logger.warning(
            "%d points lie nearest to a road cut off from the main network; they walk "
            "to the main network instead (longest walk %.0f m)",
            int(ok.sum()),
            float(d2[ok].max()),
        )
    if (~ok).any():
        logger.warning(
            "%d points lie nearest to a road cut off from the main network and farther "
            "than %.0f m from it; they are unreachable",
            int((~ok).sum()),
            max_m,
        )


def _snap(network: RoadNetwork, xs: np.ndarray, ys: np.ndarray, max_m: float) -> Snap:
    """Snap points (uncached): nearest edge, rerouted onto the main component when needed."""
    n = xs.size
    edge = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, np.inf)
    frac = np.full(n, np.nan)
    rerouted = np.zeros(n, dtype=bool)
    if n and network.n_edges:
        edge, dist, frac = network.snap_index().nearest(xs, ys, max_m)
        _reroute_to_main(network, xs, ys, max_m, (edge, dist, frac), rerouted)
    on = edge >= 0
    dist[~on] = np.inf
    frac[~on] = np.nan
    for arr in (edge, frac, dist, on, rerouted):
        arr.flags.writeable = False  # cached and shared: keep it immutable
    return Snap(edge=edge, fraction=frac, distance_m=dist, on_network=on, rerouted=rerouted)


__all__ = [
    "CANDIDATE_ENDS",
    "SNAP_BLOCK",
    "SNAP_CACHE_SIZE",
    "SNAP_PIECE_M",
    "Snap",
    "SnapCache",
    "SnapIndex",
    "snap_points",
]
