"""The road graph: :class:`RoadNetwork` and :func:`network_from_roads`.

A :class:`RoadNetwork` is built from road LineStrings by splitting them at
shared vertices (OSM ways share nodes at junctions), giving every edge a speed
from its ``highway`` class (or a sane ``maxspeed`` tag) and storing a symmetric
scipy CSR matrix of edge minutes (roads are two-way, see the Notes of
:mod:`coverkit.network`). Building runs in named steps: check the inputs, cut
the lines into clean vertex runs, find the nodes, cut the edges between them,
give each edge its speed, then the CSR graph and its connected components.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from coverkit import settings
from coverkit.crs import metric_crs
from coverkit.errors import CRSError, EmptyInputError, InvalidValueError, MissingColumnError
from coverkit.network.snapping import SnapCache, SnapIndex

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

    def snap_index(self, *, main_only: bool = False) -> SnapIndex:
        """The network's edge-snapping index, built on first use and kept.

        :func:`coverkit.network.snap_points` uses both indexes; call this ahead
        of time to build them outside a timed or latency-sensitive step.

        Parameters
        ----------
        main_only
            ``False``: the index over every edge. ``True``: the index over the
            edges of the main component only (where points nearest to a small
            disconnected component are rerouted); it reuses the pieces already
            cut for the full index.

        Returns
        -------
        SnapIndex
            The same object on every call for this network.
        """
        return self._snap_index_main if main_only else self._snap_index_all

    def forget_snap_indexes(self) -> None:
        """Free the snapping indexes (rebuilt by the next :meth:`snap_index` call).

        A large county's index holds about 150 bytes per 50 m of road (1.5 GB at
        300,000 road nodes); once its cells are snapped, a plan frees it for the
        later stages, which snap only a few hundred villages.
        """
        self.__dict__.pop("_snap_index_main", None)
        self.__dict__.pop("_snap_index_all", None)

    @cached_property
    def snap_cache(self) -> SnapCache:
        """The last snaps of point sets on this network (see :func:`~coverkit.network.snap_points`).

        Call ``network.snap_cache.clear()`` to make the next snap of the same
        points compute again (benchmarks do); the indexes of
        :meth:`snap_index` stay.
        """
        return SnapCache()

    @cached_property
    def graph_length_m(self) -> np.ndarray:
        """Metres of each entry of :attr:`graph`, aligned with ``graph.data``.

        Where parallel edges join two nodes, the length is that of the edge whose
        minutes the graph keeps (the shortest of them on a tie in minutes), so a
        path's metres follow the edges its minutes used.

        Raises
        ------
        InvalidValueError
            If :attr:`graph` was not built from the edge arrays by
            :func:`network_from_roads`.
        """
        data, indices, length = _symmetric_entries(
            self.edge_u, self.edge_v, self.edge_minutes, self.edge_length_m
        )
        g = self.graph
        if indices.size != g.indices.size or not (
            np.array_equal(indices, g.indices) and np.array_equal(data, g.data)
        ):
            raise InvalidValueError(
                "RoadNetwork.graph does not match its edge arrays; build the network with "
                "coverkit.network.network_from_roads"
            )
        return length

    @cached_property
    def _snap_index_all(self) -> SnapIndex:
        return SnapIndex(self, np.arange(self.n_edges))

    @cached_property
    def _snap_index_main(self) -> SnapIndex:
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


# --------------------------------------------------------------------------- speeds


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
    """The speeds as ``{str: float}``; raise for any that is not a positive km/h."""
    bad = {k: v for k, v in speeds_kph.items() if not (np.isfinite(v) and float(v) > 0)}
    if bad:
        raise InvalidValueError(
            f"road speeds must be positive km/h, got {bad}; fix speeds_kph (e.g. {{'track': 15.0}})"
        )
    return {str(k): float(v) for k, v in speeds_kph.items()}


@dataclass(frozen=True)
class _Speeds:
    """The speeds one build uses: class table, walking speed, unknown-class speed (km/h)."""

    table: dict[str, float]
    walk_kph: float
    default_kph: float


def _speed_settings(speeds_kph: dict[str, float] | None, walk_speed_kph: float | None) -> _Speeds:
    """Merge ``speeds_kph`` over :data:`coverkit.settings.road_speeds_kph` and check every speed."""
    table = dict(settings.road_speeds_kph)
    if speeds_kph is not None:
        table.update(_check_speeds(speeds_kph))
    walk_kph = settings.walk_speed_kph if walk_speed_kph is None else walk_speed_kph
    _check_speeds({"walk_speed_kph": walk_kph})
    default_kph = float(settings.default_road_speed_kph)
    _check_speeds({"default_road_speed_kph": default_kph})
    return _Speeds(table=table, walk_kph=walk_kph, default_kph=default_kph)


def _edge_speeds_kph(
    roads: gpd.GeoDataFrame,
    road_row: np.ndarray,
    highway: np.ndarray,
    mode: str,
    speeds: _Speeds,
) -> np.ndarray:
    """Speed of each edge: walking speed in walk mode, else its class speed or sane ``maxspeed``.

    Edges whose class has no speed take ``speeds.default_kph``, with a WARNING
    giving their count and classes.
    """
    if mode == "walk":
        return np.full(road_row.size, float(speeds.walk_kph))
    speed = _class_speeds_kph(highway, speeds.table)
    unknown = np.isnan(speed)
    if unknown.any():
        names = sorted(set(highway[unknown].tolist()))
        logger.warning(
            "%d road edges have a highway class with no speed (%s); using %.0f km/h "
            "(settings.default_road_speed_kph); pass speeds_kph= to set them",
            int(unknown.sum()),
            ", ".join(repr(n) for n in names[:10]),
            speeds.default_kph,
        )
        speed[unknown] = speeds.default_kph
    if "maxspeed" in roads.columns:
        posted = parse_maxspeed_kph(roads["maxspeed"].to_numpy(dtype=object))[road_row]
        speed = np.where(np.isnan(posted), speed, posted)
    return speed


# --------------------------------------------------------------------------- building steps


def _check_road_layer(roads: gpd.GeoDataFrame, mode: str) -> None:
    """Refuse an empty road layer, one without ``highway`` and an unknown ``mode``."""
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


def _projected_roads(
    roads: gpd.GeoDataFrame, crs: CRS | str | int | None
) -> tuple[gpd.GeoDataFrame, CRS]:
    """The roads in ``crs`` (default :func:`coverkit.crs.metric_crs`), and that CRS."""
    if roads.crs is None:
        raise CRSError("the road layer has no CRS; set one (e.g. roads.set_crs(4326))")
    target = CRS.from_user_input(crs) if crs is not None else metric_crs(roads)
    if not target.is_projected:
        raise CRSError(f"crs={target.to_string()} is not projected; give a metric CRS or None")
    return roads.to_crs(target), target


def _line_parts(roads: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Single LineStrings (and their row positions) from the roads' geometries."""
    geoms = roads.geometry.to_numpy()
    parts, index = shapely.get_parts(geoms, return_index=True)
    keep = (shapely.get_type_id(parts) == 1) & ~shapely.is_empty(parts)
    return parts[keep], index[keep]


@dataclass(frozen=True)
class _Vertices:
    """The vertices of every line part, in order, without zero-length steps.

    ``coords`` (n, 2); ``line_of`` the line part of each vertex; ``first`` and
    ``last`` flag the two ends of each part.
    """

    coords: np.ndarray
    line_of: np.ndarray
    first: np.ndarray
    last: np.ndarray


def _clean_vertices(lines: np.ndarray) -> _Vertices:
    """Vertices of the lines, with repeated consecutive vertices and one-point lines dropped."""
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
    return _Vertices(coords=coords, line_of=line_of, first=first, last=last)


def _graph_nodes(vx: _Vertices) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nodes: line ends and vertices used more than once (matched to the millimetre).

    Returns
    -------
    node_xy
        float64 (n_nodes, 2), the exact coordinates of each node's first use;
        node ids follow the sorted coordinates (deterministic for a given input).
    node_of
        Node id of each vertex, -1 for a vertex that is not a node.
    is_node
        Boolean per vertex.
    """
    key = np.round(vx.coords, 3)
    uniq, first_use, vid, counts = np.unique(
        key, axis=0, return_index=True, return_inverse=True, return_counts=True
    )
    vid = vid.ravel()
    is_node = vx.first | vx.last | (counts[vid] > 1)
    node_vertex = np.unique(vid[is_node])
    node_of_vertex = np.full(len(uniq), -1, dtype=np.int64)
    node_of_vertex[node_vertex] = np.arange(node_vertex.size)
    node_xy = vx.coords[first_use[node_vertex]].astype("float64")  # exact, not rounded
    return node_xy, node_of_vertex[vid], is_node


def _graph_edges(vx: _Vertices, node_of: np.ndarray, is_node: np.ndarray) -> tuple[np.ndarray, ...]:
    """Edges between consecutive nodes of each line part.

    Returns ``start``, ``stop`` (vertex positions of the two ends), ``length_m``,
    ``u`` and ``v``; zero-length self-loops are left out.
    """
    pos = np.flatnonzero(is_node)
    start, stop = pos[:-1], pos[1:]
    same = vx.line_of[start] == vx.line_of[stop]
    start, stop = start[same], stop[same]
    coords = vx.coords
    seg = np.zeros(len(coords))
    seg[1:] = np.hypot(*(coords[1:] - coords[:-1]).T)
    seg[vx.first] = 0.0
    cum = np.cumsum(seg)
    length_m = cum[stop] - cum[start]
    u = node_of[start]
    v = node_of[stop]
    keep = ~((u == v) & (length_m <= 0))
    return start[keep], stop[keep], length_m[keep], u[keep], v[keep]


def _edge_geometries(coords: np.ndarray, start: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """LineString of each edge: the vertices from ``start`` to ``stop`` inclusive."""
    npts = stop - start + 1
    offsets = np.repeat(start - np.cumsum(np.r_[0, npts[:-1]]), npts)
    idx = np.arange(npts.sum()) + offsets
    return shapely.linestrings(coords[idx], indices=np.repeat(np.arange(npts.size), npts))


def _symmetric_pairs(
    u: np.ndarray, v: np.ndarray, w: np.ndarray, length: np.ndarray | None = None
) -> tuple[np.ndarray, ...]:
    """Both directions of the edges sorted by (from, to), one per pair: its minimum ``w``.

    Returns ``a``, ``b``, ``c`` (from, to, minutes) and, given ``length``, the
    length of the kept edge (the shortest one among those of minimum ``w``).
    Self-loops are left out.
    """
    loop = u == v
    a = np.concatenate([u[~loop], v[~loop]])
    b = np.concatenate([v[~loop], u[~loop]])
    c = np.concatenate([w[~loop], w[~loop]])
    keys: tuple[np.ndarray, ...] = (c, b, a)
    if length is not None:
        keys = (np.concatenate([length[~loop], length[~loop]]), *keys)
    order = np.lexsort(keys)
    a, b, c = a[order], b[order], c[order]
    first = np.ones(a.size, dtype=bool)
    first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    out = (a[first], b[first], c[first])
    if length is not None:
        out = (*out, keys[0][order][first])
    return out


def _symmetric_entries(
    u: np.ndarray, v: np.ndarray, w: np.ndarray, length: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``data`` and ``indices`` of :func:`_symmetric_graph`, and the kept edges' lengths."""
    _, b, c, lengths = _symmetric_pairs(u, v, w, length)
    return c, b, lengths


def _symmetric_graph(n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> sparse.csr_matrix:
    """CSR of both directions, minimum over parallel edges, no self-loops."""
    a, b, c = _symmetric_pairs(u, v, w)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(a, minlength=n), out=indptr[1:])
    return sparse.csr_matrix((c, b, indptr), shape=(n, n))


def _components(graph: sparse.csr_matrix, n_edges: int) -> tuple[np.ndarray, int]:
    """Component label of each node and the main (largest) component; logs the sizes."""
    _, labels = connected_components(graph, directed=False)
    labels = labels.astype(np.int64)
    sizes = np.bincount(labels)
    main = int(np.argmax(sizes))
    logger.info(
        "road network: %d nodes, %d edges, %d components (main: %d nodes)",
        graph.shape[0],
        n_edges,
        sizes.size,
        int(sizes[main]),
    )
    return labels, main


# --------------------------------------------------------------------------- building


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
    _check_road_layer(roads, mode)
    speeds = _speed_settings(speeds_kph, walk_speed_kph)
    roads, target = _projected_roads(roads, crs)

    lines, row = _line_parts(roads)
    if lines.size == 0:
        raise EmptyInputError("the road layer has no line geometry; give LineString roads")
    vx = _clean_vertices(lines)
    node_xy, node_of, is_node = _graph_nodes(vx)
    start, stop, length_m, u, v = _graph_edges(vx, node_of, is_node)
    geoms = _edge_geometries(vx.coords, start, stop)

    road_row = row[vx.line_of[start]]
    highway = _highway_classes(roads["highway"].reset_index(drop=True))[road_row]
    road_ids = (
        roads["id"].to_numpy(dtype=object)[road_row]
        if "id" in roads.columns
        else road_row.astype(object)
    )
    speed = _edge_speeds_kph(roads, road_row, highway, mode, speeds)
    minutes = length_m / 1000.0 / speed * 60.0

    graph = _symmetric_graph(node_xy.shape[0], u, v, minutes)
    labels, main = _components(graph, u.size)
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
