"""Road graph, edge speeds and travel times (origin-destination and nearest facility).

A :class:`RoadNetwork` is built from road LineStrings by splitting them at
shared vertices (OSM ways share nodes at junctions), giving every edge a speed
from its ``highway`` class (or a sane ``maxspeed`` tag) and storing a symmetric
scipy CSR matrix of edge minutes. Points (cells, villages, facilities) reach
the graph off-road: they are snapped to the nearest *edge* (not node), walk to
it at walking speed, then travel along the edge to either end node.

Travel times are computed with :func:`scipy.sparse.csgraph.dijkstra` from one
virtual node per destination (connected to the two ends of its snapped edge by
the partial edge times plus its walk), so one run gives every origin's time;
:func:`travel_times_to_nearest` uses a single multi-source run. The design
follows osmnx ``routing.py`` (speeds by class, ``maxspeed`` parsing) but keeps
everything in numpy arrays so a million cells cost seconds.

Notes
-----
Roads are treated as two-way. Road layers of rural counties rarely carry a
reliable ``oneway`` tag, county and village roads are almost all two-way,
motorbikes and pedestrians (the main users) ignore the few one-way streets of
the county seat, and the error this causes is a few hundred metres at most.
A symmetric graph also means the time from A to B equals the time from B to A,
which lets :func:`od_matrix` run Dijkstra from the (few) destinations instead
of the (many) origins.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from scipy import sparse
from scipy.sparse.csgraph import connected_components, dijkstra

from coverkit import settings
from coverkit.crs import metric_crs
from coverkit.errors import CRSError, EmptyInputError, InvalidValueError, MissingColumnError

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

logger = logging.getLogger(__name__)

#: Range of ``maxspeed`` values taken as plausible, km/h; others are ignored.
MAXSPEED_RANGE_KPH: tuple[float, float] = (5.0, 130.0)

_MPH_TO_KPH = 1.609344
_MAXSPEED_RE = re.compile(
    r"^\s*(?P<value>\d+(?:[.,]\d+)?)\s*(?P<unit>mph|km/h|kmh|kph)?\s*(?:[;|].*)?$",
    re.IGNORECASE,
)
_MODES = ("drive", "walk")


# --------------------------------------------------------------------------- data


@dataclass(frozen=True, eq=False)
class RoadNetwork:
    """A routable road graph in a projected (metric) CRS.

    Attributes
    ----------
    crs
        Projected CRS of every coordinate and geometry here.
    node_xy
        float64 array (n_nodes, 2) of node coordinates.
    edge_u, edge_v
        int64 arrays: end nodes of each edge, in the direction of its geometry.
    edge_length_m
        float64 array: length of each edge along its geometry.
    edge_speed_kph
        float64 array: speed used for each edge.
    edge_minutes
        float64 array: ``edge_length_m / edge_speed_kph`` in minutes.
    edge_highway
        object array: OSM ``highway`` class of each edge (``_link`` kept).
    edge_road_id
        object array: the ``id`` of the input road the edge comes from.
    edge_geometry
        shapely LineString array (projected), from ``u`` to ``v``.
    graph
        scipy CSR matrix (n_nodes, n_nodes) of minutes, symmetric (roads are
        two-way, see module Notes); parallel edges keep their minimum;
        self-loops are left out.
    component
        int64 connected-component label of each node.
    main_component
        Label of the largest component (most nodes; lowest label on ties).
    """

    crs: CRS
    node_xy: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_length_m: np.ndarray
    edge_speed_kph: np.ndarray
    edge_minutes: np.ndarray
    edge_highway: np.ndarray
    edge_road_id: np.ndarray
    edge_geometry: np.ndarray
    graph: sparse.csr_matrix
    component: np.ndarray
    main_component: int

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.node_xy.shape[0])

    @property
    def n_edges(self) -> int:
        """Number of edges."""
        return int(self.edge_u.shape[0])

    @property
    def edge_main(self) -> np.ndarray:
        """Boolean array, True for edges of the main component."""
        return self.component[self.edge_u] == self.main_component

    @cached_property
    def _snap_cache(self) -> OrderedDict[tuple, Snap]:
        return OrderedDict()

    @cached_property
    def _snap_index_all(self) -> _SegmentIndex:
        return _SegmentIndex(self, np.arange(self.n_edges))

    @cached_property
    def _snap_index_main(self) -> _SegmentIndex:
        return self._snap_index_all.restricted(self.edge_main)

    def edges_gdf(self) -> gpd.GeoDataFrame:
        """Edges as a GeoDataFrame (for maps and checks).

        Returns
        -------
        geopandas.GeoDataFrame
            Columns ``u``, ``v``, ``road_id``, ``highway``, ``length_m``,
            ``speed_kph``, ``travel_time_min``, ``component`` and geometry, in
            :attr:`crs`.
        """
        return gpd.GeoDataFrame(
            {
                "u": self.edge_u,
                "v": self.edge_v,
                "road_id": self.edge_road_id,
                "highway": self.edge_highway,
                "length_m": self.edge_length_m,
                "speed_kph": self.edge_speed_kph,
                "travel_time_min": self.edge_minutes,
                "component": self.component[self.edge_u],
            },
            geometry=self.edge_geometry,
            crs=self.crs,
        )


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


# --------------------------------------------------------------------------- building


def parse_maxspeed_kph(values: ArrayLike) -> np.ndarray:
    """Parse OSM ``maxspeed`` tag text to km/h.

    Plain numbers are km/h, ``"<n> mph"`` is converted, ``"<n> km/h"`` is
    accepted, and for multi-valued tags (``"50;70"``) the first value is used.
    Anything else (``none``, ``signals``, ``RU:rural``, NaN) and values outside
    :data:`MAXSPEED_RANGE_KPH` give NaN.

    Parameters
    ----------
    values
        Tag texts (strings, numbers, None or NaN).

    Returns
    -------
    ndarray
        float64 km/h, NaN where the tag is missing or not sane.
    """
    s = pd.Series(np.asarray(values, dtype=object).ravel(), dtype=object)
    text = s.map(lambda v: v[0] if isinstance(v, list) and v else v)
    text = text.where(text.notna(), "").astype(str)
    parts = text.str.extract(_MAXSPEED_RE)
    num = pd.to_numeric(parts["value"].str.replace(",", ".", regex=False), errors="coerce")
    kph = num.to_numpy(dtype="float64", na_value=np.nan)
    mph = parts["unit"].str.lower().eq("mph").fillna(False).to_numpy(dtype=bool)
    kph = np.where(mph, kph * _MPH_TO_KPH, kph)
    lo, hi = MAXSPEED_RANGE_KPH
    with np.errstate(invalid="ignore"):
        sane = (kph >= lo) & (kph <= hi)
    return np.where(sane, kph, np.nan)


def _highway_classes(values: pd.Series) -> np.ndarray:
    """First class of list-valued tags, stripped and lower-cased; '' for missing."""
    hw = values.map(lambda v: v[0] if isinstance(v, list) and v else v)
    hw = hw.where(hw.notna(), "").astype(str).str.strip().str.lower()
    return hw.to_numpy(dtype=object)


def _class_speeds_kph(highway: np.ndarray, table: dict[str, float]) -> np.ndarray:
    """Speed per edge from its class (``_link`` -> parent); NaN for unknown classes."""
    cls, inv = np.unique(highway.astype(str), return_inverse=True)
    per_class = np.array(
        [table.get(c, table.get(c.removesuffix("_link"), np.nan)) for c in cls], dtype="float64"
    )
    return per_class[inv] if cls.size else np.zeros(0)


def _check_speeds(speeds_kph: dict[str, float]) -> dict[str, float]:
    bad = {k: v for k, v in speeds_kph.items() if not (np.isfinite(v) and float(v) > 0)}
    if bad:
        raise InvalidValueError(
            f"road speeds must be positive km/h, got {bad}; fix speeds_kph (e.g. {{'track': 15.0}})"
        )
    return {str(k): float(v) for k, v in speeds_kph.items()}


def _line_parts(roads: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Single LineStrings (and their row positions) from the roads' geometries."""
    geoms = roads.geometry.to_numpy()
    parts, index = shapely.get_parts(geoms, return_index=True)
    keep = (shapely.get_type_id(parts) == 1) & ~shapely.is_empty(parts)
    return parts[keep], index[keep]


def network_from_roads(
    roads: gpd.GeoDataFrame,
    *,
    speeds_kph: dict[str, float] | None = None,
    mode: str = "drive",
    crs: CRS | str | int | None = None,
    walk_speed_kph: float | None = None,
) -> RoadNetwork:
    """Build a routable :class:`RoadNetwork` from road LineStrings.

    Lines are split into edges at every vertex used by more than one line (or
    twice by the same line) and at line ends; intermediate vertices stay in the
    edge geometry. Vertices are matched by their projected coordinates rounded
    to the millimetre.

    Parameters
    ----------
    roads
        LineStrings (MultiLineStrings are split into parts) with a ``highway``
        column, optional ``maxspeed`` (OSM tag text) and ``id``; any CRS.
    speeds_kph
        Speeds by ``highway`` class, merged over
        :data:`coverkit.settings.road_speeds_kph`. ``_link`` classes take
        their parent's speed unless listed.
    mode
        ``"drive"`` (class speeds, ``maxspeed`` wins when sane) or ``"walk"``
        (every edge at ``walk_speed_kph``).
    crs
        Projected CRS to work in; default :func:`coverkit.crs.metric_crs`.
    walk_speed_kph
        Walking speed for ``mode="walk"``; default
        :data:`coverkit.settings.walk_speed_kph`.

    Returns
    -------
    RoadNetwork
        Nodes, edges, symmetric CSR graph of minutes and components.

    Raises
    ------
    EmptyInputError
        If there are no roads (or no non-empty line geometry).
    MissingColumnError
        If ``roads`` has no ``highway`` column.
    InvalidValueError
        For a speed that is not positive or an unknown ``mode``.
    CRSError
        If ``roads`` has no CRS or ``crs`` is geographic.
    """
    if roads is None or len(roads) == 0:
        raise EmptyInputError("the road layer is empty; give roads that cover the county")
    if "highway" not in roads.columns:
        raise MissingColumnError(
            "the road layer has no 'highway' column "
            f"(columns: {', '.join(map(str, roads.columns))}); rename the road-class "
            "column to 'highway' or read roads with "
            "coverkit.io.read_roads(..., class_column=...)"
        )
    if mode not in _MODES:
        raise InvalidValueError(f"mode={mode!r} is not one of {_MODES}; use 'drive' or 'walk'")
    table = dict(settings.road_speeds_kph)
    if speeds_kph is not None:
        table.update(_check_speeds(speeds_kph))
    walk_kph = settings.walk_speed_kph if walk_speed_kph is None else walk_speed_kph
    _check_speeds({"walk_speed_kph": walk_kph})
    default_kph = float(settings.default_road_speed_kph)
    _check_speeds({"default_road_speed_kph": default_kph})
    if roads.crs is None:
        raise CRSError("the road layer has no CRS; set one (e.g. roads.set_crs(4326))")
    target = CRS.from_user_input(crs) if crs is not None else metric_crs(roads)
    if not target.is_projected:
        raise CRSError(f"crs={target.to_string()} is not projected; give a metric CRS or None")
    roads = roads.to_crs(target)

    lines, row = _line_parts(roads)
    if lines.size == 0:
        raise EmptyInputError("the road layer has no line geometry; give LineString roads")
    coords, line_of = shapely.get_coordinates(lines, return_index=True)
    # drop repeated consecutive vertices (zero-length segments)
    dup = np.zeros(len(coords), dtype=bool)
    dup[1:] = (line_of[1:] == line_of[:-1]) & np.all(coords[1:] == coords[:-1], axis=1)
    coords, line_of = coords[~dup], line_of[~dup]
    first = np.ones(len(coords), dtype=bool)
    first[1:] = line_of[1:] != line_of[:-1]
    last = np.ones(len(coords), dtype=bool)
    last[:-1] = line_of[1:] != line_of[:-1]
    single = first & last  # a line reduced to one point
    coords, line_of, first, last = coords[~single], line_of[~single], first[~single], last[~single]
    if coords.size == 0:
        raise EmptyInputError("every road line has zero length; give real road geometries")

    key = np.round(coords, 3)
    uniq, first_use, vid, counts = np.unique(
        key, axis=0, return_index=True, return_inverse=True, return_counts=True
    )
    vid = vid.ravel()
    is_node = first | last | (counts[vid] > 1)
    # node ids follow the sorted coordinates (deterministic for a given input)
    node_vertex = np.unique(vid[is_node])
    node_of_vertex = np.full(len(uniq), -1, dtype=np.int64)
    node_of_vertex[node_vertex] = np.arange(node_vertex.size)
    node_xy = coords[first_use[node_vertex]].astype("float64")  # exact, not rounded

    pos = np.flatnonzero(is_node)
    start, stop = pos[:-1], pos[1:]
    same = line_of[start] == line_of[stop]
    start, stop = start[same], stop[same]

    seg = np.zeros(len(coords))
    seg[1:] = np.hypot(*(coords[1:] - coords[:-1]).T)
    seg[first] = 0.0
    cum = np.cumsum(seg)
    length_m = cum[stop] - cum[start]
    u = node_of_vertex[vid[start]]
    v = node_of_vertex[vid[stop]]
    keep = ~((u == v) & (length_m <= 0))
    start, stop, length_m, u, v = start[keep], stop[keep], length_m[keep], u[keep], v[keep]

    npts = stop - start + 1
    offsets = np.repeat(start - np.cumsum(np.r_[0, npts[:-1]]), npts)
    idx = np.arange(npts.sum()) + offsets
    geoms = shapely.linestrings(coords[idx], indices=np.repeat(np.arange(npts.size), npts))

    road_row = row[line_of[start]]
    highway = _highway_classes(roads["highway"].reset_index(drop=True))[road_row]
    road_ids = (
        roads["id"].to_numpy(dtype=object)[road_row]
        if "id" in roads.columns
        else road_row.astype(object)
    )
    if mode == "walk":
        speed = np.full(u.size, float(walk_kph))
    else:
        speed = _class_speeds_kph(highway, table)
        unknown = np.isnan(speed)
        if unknown.any():
            names = sorted(set(highway[unknown].tolist()))
            logger.warning(
                "%d road edges have a highway class with no speed (%s); using %.0f km/h "
                "(settings.default_road_speed_kph); pass speeds_kph= to set them",
                int(unknown.sum()),
                ", ".join(repr(n) for n in names[:10]),
                default_kph,
            )
            speed[unknown] = default_kph
        if "maxspeed" in roads.columns:
            posted = parse_maxspeed_kph(roads["maxspeed"].to_numpy(dtype=object))[road_row]
            speed = np.where(np.isnan(posted), speed, posted)
    minutes = length_m / 1000.0 / speed * 60.0

    n = node_xy.shape[0]
    graph = _symmetric_graph(n, u, v, minutes)
    _, labels = connected_components(graph, directed=False)
    labels = labels.astype(np.int64)
    sizes = np.bincount(labels)
    main = int(np.argmax(sizes))
    logger.info(
        "road network: %d nodes, %d edges, %d components (main: %d nodes)",
        n,
        u.size,
        sizes.size,
        int(sizes[main]),
    )
    return RoadNetwork(
        crs=target,
        node_xy=node_xy,
        edge_u=u.astype(np.int64),
        edge_v=v.astype(np.int64),
        edge_length_m=length_m,
        edge_speed_kph=speed,
        edge_minutes=minutes,
        edge_highway=highway,
        edge_road_id=road_ids,
        edge_geometry=geoms,
        graph=graph,
        component=labels,
        main_component=main,
    )


def _symmetric_graph(n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> sparse.csr_matrix:
    """CSR of both directions, minimum over parallel edges, no self-loops."""
    loop = u == v
    a = np.concatenate([u[~loop], v[~loop]])
    b = np.concatenate([v[~loop], u[~loop]])
    c = np.concatenate([w[~loop], w[~loop]])
    order = np.lexsort((c, b, a))
    a, b, c = a[order], b[order], c[order]
    first = np.ones(a.size, dtype=bool)
    first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    a, b, c = a[first], b[first], c[first]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(a, minlength=n), out=indptr[1:])
    return sparse.csr_matrix((c, b, indptr), shape=(n, n))


# --------------------------------------------------------------------------- snapping


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
    xy = np.asarray(points, dtype="float64")
    if xy.ndim == 2 and xy.shape[0] == 0:
        return xy.reshape(0, 2)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise InvalidValueError(f"points must be an (n, 2) array of x, y; got shape {xy.shape}")
    if not np.isfinite(xy).all():
        raise InvalidValueError("points hold NaN or infinite coordinates; drop or fix them")
    return xy


#: Edges are cut into straight pieces no longer than this for the snapping
#: index, metres. The search radius that proves a snap exact is
#: ``sqrt(d**2 + (piece/2)**2)`` for a point ``d`` metres from the road, so
#: shorter pieces give tighter proofs but a larger index.
_SNAP_PIECE_M: float = 50.0
#: Nearest piece ends tried per point before the exact STRtree fallback.
_SNAP_K: tuple[int, ...] = (3, 12, 48)
#: Points snapped per block (bounds the temporary arrays to ~100 MB).
_SNAP_BLOCK: int = 131_072
#: Origins per block when filling an OD matrix.
_OD_BLOCK: int = 16_384
#: Snaps kept per network (keyed by a hash of the coordinates).
_SNAP_CACHE_SIZE: int = 2


class _SegmentIndex:
    """Exact nearest road piece of points, via a KD-tree on the ends of short pieces.

    Edges are cut into straight pieces of at most ``s`` metres
    (:data:`_SNAP_PIECE_M`); their ends, merged by location, go into a
    KD-tree, and each end knows the pieces that touch it.

    Why it is exact: if a point's nearest piece lies ``d`` metres away, the
    foot of the perpendicular is at most ``s/2`` along the piece from one of
    its ends, so that end lies within ``sqrt(d**2 + (s/2)**2)`` of the point.
    Having found a piece at distance ``d_best`` among the pieces touching
    the ``k`` nearest ends, every piece at distance ``<= d_best`` (the
    nearest, and any tie) has an end within ``r = sqrt(d_best**2 + (s/2)**2)``;
    so once the k-th nearest end is farther than ``r``, all of them have been
    compared. Unlike a bound on piece midpoints (``d + s/2``), this radius
    exceeds ``d`` by little for points far from a road, so a few ends suffice
    whatever the distance. Points that ``k`` ends do not settle try more,
    then an exact STRtree search.
    """

    def __init__(
        self,
        network: RoadNetwork,
        edges: np.ndarray,
        pieces: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    ) -> None:
        """Index ``edges`` of ``network``; ``pieces`` (starts, ends, edge of each,
        grouped by edge in ascending order) when already cut, else cut here."""
        from scipy.spatial import cKDTree

        self.network = network
        self.edges = edges
        if pieces is None:
            geoms = shapely.segmentize(network.edge_geometry[edges], _SNAP_PIECE_M)
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
        self.abd = np.column_stack([a, b, d, inv])
        m = length.size
        self.half = float(length.max() / 2.0) if m else 0.0
        self.tree = None
        if m == 0:
            return
        # piece ends, merged by location, and from each end the pieces touching it:
        # an inner vertex of an edge touches its two pieces; the ends of edges are
        # merged across edges by coordinates (junctions)
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
        self.tree = cKDTree(np.concatenate([a[inner], sxy[new]]), balanced_tree=False)

    def restricted(self, keep_edge: np.ndarray) -> _SegmentIndex:
        """The same index over the edges where ``keep_edge`` (bool per network edge) is True."""
        keep = keep_edge[self.edge]
        return _SegmentIndex(
            self.network,
            self.edges[keep_edge[self.edges]],
            (self.abd[keep, 0:2], self.abd[keep, 2:4], self.edge[keep]),
        )

    def _pieces(self, px: np.ndarray, py: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, ...]:
        """Distance and clamped parameter of points to pieces ``j`` (same shapes)."""
        g = self.abd[j]  # one gather: ax, ay, bx, by, dx, dy, 1/len^2
        ax, ay, bx, by, dx, dy, inv = (g[..., i] for i in range(7))
        rx, ry = px - ax, py - ay
        t = (rx * dx + ry * dy) * inv
        np.clip(t, 0.0, 1.0, out=t)
        cx = np.where(t >= 1.0, bx - px, t * dx - rx)
        cy = np.where(t >= 1.0, by - py, t * dy - ry)
        return np.hypot(cx, cy), t

    def nearest(self, xs: np.ndarray, ys: np.ndarray, max_m: float) -> tuple[np.ndarray, ...]:
        """Edge (-1 if none within ``max_m``), distance and fraction along the edge."""
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
        for k in _SNAP_K:
            if pending.size == 0:
                break
            unsettled = [
                self._block(xs, ys, pending[i : i + _SNAP_BLOCK], k, bound, max_m, edge, dist, frac)
                for i in range(0, pending.size, _SNAP_BLOCK)
            ]
            pending = np.concatenate(unsettled)
        if pending.size:
            logger.debug("exact STRtree search for %d points", pending.size)
            self._strtree(xs, ys, pending, max_m, edge, dist, frac)
        return edge, dist, frac

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
        found = jk < nend
        # every piece touching a found end, flattened point by point
        jsafe = np.minimum(jk, nend - 1)  # missing neighbours are nend: count 0 pieces
        cnt = np.where(found, self.degree[jsafe], 0).ravel()
        per_point = cnt.reshape(idx.size, k_eff).sum(axis=1)
        total = int(per_point.sum())
        first = np.repeat(self.touch_ptr[jsafe].ravel(), cnt)
        offs = np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        piece = self.touch[first + offs]
        owner = np.repeat(np.arange(idx.size), per_point)
        d, t = self._pieces(px[owner], py[owner], piece)
        # per point: least distance, then least edge among exact ties, then first piece
        has = per_point > 0
        starts = (np.cumsum(per_point) - per_point)[has]
        db = np.full(idx.size, np.inf)
        if total:
            db[has] = np.minimum.reduceat(d, starts)
        pe = self.edge[piece]
        tie = d == db[owner]
        eb = np.full(idx.size, np.iinfo(np.int64).max)
        if total:
            eb[has] = np.minimum.reduceat(np.where(tie, pe, np.iinfo(np.int64).max), starts)
        win = np.flatnonzero(tie & (pe == eb[owner]))
        keep = np.ones(win.size, dtype=bool)
        keep[1:] = owner[win[1:]] != owner[win[:-1]]
        win = win[keep]  # one winner per point that found any piece
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
    candidate set is proven complete per point (see ``_SegmentIndex``), with
    an exact STRtree search for the rare points where it is not. The
    last two results per network are cached by a hash of the coordinates (a
    surface and an OD matrix of the same cells snap once); the returned
    arrays are read-only.
    """
    max_m = float(settings.max_walk_m if max_walk_m is None else max_walk_m)
    if not max_m >= 0:
        raise InvalidValueError(f"max_walk_m={max_walk_m} must be >= 0 metres")
    xs = np.ascontiguousarray(x, dtype="float64").ravel()
    ys = np.ascontiguousarray(y, dtype="float64").ravel()
    # the same points are often snapped twice (surface, then OD): keep the last two
    key = (
        hashlib.blake2b(xs.tobytes(), digest_size=16).digest(),
        hashlib.blake2b(ys.tobytes(), digest_size=16).digest(),
        max_m,
    )
    cache = network._snap_cache
    if key in cache:
        cache.move_to_end(key)
        return cache[key]
    snap = _snap(network, xs, ys, max_m)
    cache[key] = snap
    while len(cache) > _SNAP_CACHE_SIZE:
        cache.popitem(last=False)
    return snap


def _snap(network: RoadNetwork, xs: np.ndarray, ys: np.ndarray, max_m: float) -> Snap:
    n = xs.size
    edge = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, np.inf)
    frac = np.full(n, np.nan)
    rerouted = np.zeros(n, dtype=bool)
    if n and network.n_edges:
        edge, dist, frac = network._snap_index_all.nearest(xs, ys, max_m)
        on_small = (edge >= 0) & ~network.edge_main[np.maximum(edge, 0)]
        if on_small.any():
            idx = np.flatnonzero(on_small)
            e2, d2, f2 = network._snap_index_main.nearest(xs[idx], ys[idx], max_m)
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
    on = edge >= 0
    dist[~on] = np.inf
    frac[~on] = np.nan
    for arr in (edge, frac, dist, on, rerouted):
        arr.flags.writeable = False  # cached and shared: keep it immutable
    return Snap(edge=edge, fraction=frac, distance_m=dist, on_network=on, rerouted=rerouted)


# --------------------------------------------------------------------------- travel times


def _walk_kph(walk_speed_kph: float | None) -> float:
    w = float(settings.walk_speed_kph if walk_speed_kph is None else walk_speed_kph)
    if not (np.isfinite(w) and w > 0):
        raise InvalidValueError(f"walk_speed_kph={walk_speed_kph} must be a positive km/h")
    return w


def _access(
    network: RoadNetwork, points: object, walk_kph: float, max_walk_m: float | None
) -> tuple[np.ndarray, ...]:
    """Snap points; per point: edge (-1 if off-network), minutes to its ``edge_u`` and
    ``edge_v`` ends and of the walk (inf if off-network), fraction along it, its minutes."""
    xy = points_xy(points, network.crs)
    snap = snap_points(network, xy[:, 0], xy[:, 1], max_walk_m=max_walk_m)
    on = snap.on_network
    e = np.where(on, snap.edge, 0)
    walk = np.where(on, snap.distance_m, 0.0) / 1000.0 / walk_kph * 60.0
    frac = np.where(on, snap.fraction, 0.0)
    t = network.edge_minutes[e] if network.n_edges else np.zeros(e.size)
    to_u = np.where(on, walk + frac * t, np.inf)
    to_v = np.where(on, walk + (1.0 - frac) * t, np.inf)
    walk = np.where(on, walk, np.inf)
    return np.where(on, snap.edge, -1), to_u, to_v, walk, frac, t


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


def od_matrix(
    network: RoadNetwork,
    origins_xy: object,
    destinations_xy: object,
    *,
    walk_speed_kph: float | None = None,
    max_walk_m: float | None = None,
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

    Returns
    -------
    ndarray
        float64 ``(n_origins, n_destinations)`` minutes; ``inf`` when either
        point is off-network or no path exists. Never NaN.

    Notes
    -----
    One :func:`scipy.sparse.csgraph.dijkstra` run from one virtual node per
    destination (joined to the two ends of its edge by the partial edge time
    plus its walk) gives each destination's time to every node; as the graph
    is symmetric this is also every node's time to the destination. Each
    origin then takes the better of its two edge ends, vectorised.
    """
    walk_kph = _walk_kph(walk_speed_kph)
    oe, ou, ov, ow, of_, ot = _access(network, origins_xy, walk_kph, max_walk_m)
    de, du, dv, dw, df, _ = _access(network, destinations_xy, walk_kph, max_walk_m)
    shape = (oe.size, de.size)
    rows = np.flatnonzero(oe >= 0)
    cols = np.flatnonzero(de >= 0)
    if rows.size == 0 or cols.size == 0:
        return np.full(shape, np.inf)
    aug, virt = _augmented(network, de, du, dv)
    # (n_nodes, k) C-ordered so that gathering rows by node is contiguous
    dist_t = np.ascontiguousarray(
        dijkstra(aug, directed=True, indices=virt)[:, : network.n_nodes].T
    )
    # each origin takes the better end of its edge; in blocks so temporaries stay in cache
    best = np.empty((rows.size, cols.size))
    for start in range(0, rows.size, _OD_BLOCK):
        r = rows[start : start + _OD_BLOCK]
        blk = best[start : start + r.size]
        np.take(dist_t, network.edge_u[oe[r]], axis=0, out=blk)
        blk += ou[r, None]
        via_v = np.take(dist_t, network.edge_v[oe[r]], axis=0)
        via_v += ov[r, None]
        np.minimum(blk, via_v, out=blk)
    # origin and destination on the same edge: the direct ride along it may be shorter
    i, j = np.nonzero(oe[rows, None] == de[None, cols])
    if i.size:
        r, c = rows[i], cols[j]
        direct = ow[r] + dw[c] + np.abs(of_[r] - df[c]) * ot[r]
        best[i, j] = np.minimum(best[i, j], direct)
    if (rows.size, cols.size) == shape:
        return best
    out = np.full(shape, np.inf)
    out[np.ix_(rows, cols)] = best
    return out


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
    oe, ou, ov, ow, of_, ot = _access(network, origins_xy, walk_kph, max_walk_m)
    fe, fu, fv, fw, ff, _ = _access(network, facilities_xy, walk_kph, max_walk_m)
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
        direct = ow[rows] + fw[j] + np.abs(of_[rows] - ff[j]) * ot[rows]
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
    "MAXSPEED_RANGE_KPH",
    "RoadNetwork",
    "Snap",
    "network_from_roads",
    "od_matrix",
    "od_matrix_euclidean",
    "parse_maxspeed_kph",
    "points_xy",
    "snap_points",
    "travel_times_to_nearest",
]
