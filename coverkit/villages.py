"""Village service: population estimates, service modes, rotation timetables, staffing.

This module turns Rules 2-5 of ``shared/policy/POLICY.md`` into tables. It is
pure: it takes GeoDataFrames / DataFrames and travel-time *matrices* in
minutes (``np.inf`` = unreachable) computed upstream by the network module,
and never imports network, siting, maps or report.

Service modes (Rule 2; 000 §(一), 001 §3), tried in this order, one rule each:

- ``R2-FIXED`` → ``fixed`` (固定村卫生室): the village has a standard clinic.
- ``R2-JOINT`` → ``joint`` (邻（联）村延伸服务): no standard clinic, and another
  village's standard clinic lies within ``joint_max_min``.
- ``R2-ROTATION`` → ``rotation`` (乡镇卫生院定期巡诊): within
  ``rotation_max_min`` of its township health centre and fewer than
  ``stationed_min_population`` residents; at least 2 half-day visits a week
  at fixed times.
- ``R2-STATIONED`` → ``stationed`` (派驻): too far, too large, unreachable by
  road, or no township health centre; at least 5 days a week and at least
  half a year continuously in the same village.

Public API: :func:`estimate_village_population`, :func:`assign_service_modes`,
:func:`propose_shared_clinics`, :func:`rotation_timetable`,
:func:`staffing_checks`, :func:`clinic_status_from_values`, :class:`ServiceMode`.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from coverkit import settings
from coverkit.crs import metric_crs
from coverkit.errors import CRSError, InvalidValueError, MissingColumnError
from coverkit.io import PopulationGrid, clinic_status_from_values, column_of
from coverkit.vocab import ServiceMode

logger = logging.getLogger(__name__)

#: Default radius (minutes, mutual travel) within which villages without a
#: standard clinic may share one new clinic (服务半径小、交通便利的相邻行政村可共建1所
#: 村卫生室, 001 §3). The texts give no number; 10 min is a planning convention.
#: (Proposed for :mod:`coverkit.settings` as ``share_clinic_radius_min``.)
DEFAULT_SHARE_RADIUS_MIN: float = 10.0

#: Default rotation-visit service time per village within a half-day trip, minutes.
DEFAULT_SERVICE_MIN: float = 120.0

WEEKDAYS: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri")
WEEKDAYS_ZH: tuple[str, ...] = ("周一", "周二", "周三", "周四", "周五")
HALF_DAYS: tuple[str, ...] = ("AM", "PM")
HALF_DAYS_ZH: tuple[str, ...] = ("上午", "下午")



def _fmt(x: float) -> str:
    """Minutes for a reason sentence: one decimal, trailing .0 dropped."""
    return f"{round(float(x), 1):g}"


def _fmt_pop(x: float) -> str:
    return f"{float(x):,.0f}"


def _labels(ids: pd.Series, names: pd.Series, townships: pd.Series | None) -> pd.Series:
    """Display names; names repeated within one township get their id appended."""
    names = names.astype(str)
    group = townships.astype(str) if townships is not None else pd.Series("", index=names.index)
    dup = pd.DataFrame({"t": group, "n": names}).duplicated(keep=False).to_numpy()
    if dup.any():
        repeated = sorted(set(zip(group[dup], names[dup], strict=True)))
        logger.warning(
            "duplicate village names within one township: %s; they are told apart by id "
            "in reasons and timetables (e.g. '%s (%s)')",
            "; ".join(f"{t}/{n}" for t, n in repeated),
            names[dup].iloc[0],
            ids[dup].iloc[0],
        )
    lab = names.copy()
    lab[dup] = [f"{n} ({i})" for n, i in zip(names[dup], ids[dup].astype(str), strict=True)]
    return lab


# --------------------------------------------------------------------------- population


def _affine_apply(t: Any, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apply an Affine to arrays (affine's ``*`` on tuples is deprecated)."""
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    return t.a * x + t.b * y + t.c, t.d * x + t.e * y + t.f


def _rasterize_index(geoms: gpd.GeoSeries, grid: PopulationGrid) -> np.ndarray:
    """Grid of 1-based row positions of ``geoms`` (0 = none), cell-centre rule."""
    from rasterio.features import rasterize

    shapes = [
        (g, i + 1) for i, g in enumerate(geoms.to_crs(grid.crs)) if g is not None and not g.is_empty
    ]
    if not shapes:
        return np.zeros(grid.shape, dtype="int32")
    return rasterize(shapes, out_shape=grid.shape, transform=grid.transform, fill=0, dtype="int32")


def estimate_village_population(
    villages: gpd.GeoDataFrame,
    grid: PopulationGrid,
    *,
    townships: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Fill missing village populations from a population grid.

    Parameters
    ----------
    villages
        Villages with a CRS, points or polygons, and an optional
        ``population`` column (NaN = unknown; a missing column means all
        unknown). An optional ``township`` column names each village's
        township (matched to ``townships`` by ``id`` or ``name``).
    grid
        Population grid of the county.
    townships
        Township polygons with ``id`` and/or ``name``; when given, a point
        village only receives cells of its own township.

    Returns
    -------
    GeoDataFrame
        A copy of ``villages`` (same CRS) with ``population`` filled where it
        was missing and a bool ``population_estimated`` column.

    Raises
    ------
    CRSError
        If ``villages`` has no CRS.
    InvalidValueError
        If a village with unknown population has no geometry.

    Notes
    -----
    Polygon villages get the zonal sum of the grid cells whose centre lies in
    the polygon (``rasterio.features.rasterize``); a polygon smaller than a
    cell gets the value of the cell containing its representative point.

    Point villages share the remaining populated cells: each cell goes to its
    nearest village point (``scipy.spatial.cKDTree`` in a metric CRS), within
    the cell's township when ``townships`` is given and the village's
    township is known. Cells in no township, or in a township without a
    matched village, go to the nearest village overall. *All* villages take
    part in the allocation (a village with a known population still claims
    its nearest cells, so those people are not counted twice); the estimate
    is used only where the population was missing. Estimates are kept as
    float (the allocation preserves the grid total).
    """
    from pyproj import Transformer
    from scipy.spatial import cKDTree

    if villages.crs is None:
        raise CRSError(
            "the villages layer has no CRS; set one (e.g. villages.set_crs('EPSG:4326'))"
        )
    out = villages.copy()
    try:
        pop_col = column_of(out, "population")
    except MissingColumnError:
        pop_col = "population"
        out[pop_col] = np.nan
    pop = pd.to_numeric(out[pop_col], errors="coerce")
    missing = pop.isna().to_numpy()
    out["population_estimated"] = missing
    if not missing.any():
        out[pop_col] = pop.astype("float64")
        return out
    geoms = out.geometry
    empty = (geoms.isna() | geoms.is_empty).to_numpy()
    if (empty & missing).any():
        raise InvalidValueError(
            f"{int((empty & missing).sum())} village(s) with unknown population have no geometry "
            "(e.g. row "
            f"{out.index[empty & missing][0]!r}); give a population or a location for them"
        )
    n = len(out)
    est = np.zeros(n, dtype="float64")
    weights = np.where(grid.mask, grid.values, 0.0)
    is_poly = geoms.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy() & ~empty
    claimed = np.zeros(grid.shape, dtype=bool)
    if is_poly.any():
        poly_pos = np.flatnonzero(is_poly)
        lab = _rasterize_index(geoms.iloc[poly_pos], grid)
        sums = np.bincount(lab.ravel(), weights=weights.ravel(), minlength=len(poly_pos) + 1)
        est[poly_pos] = sums[1:]
        claimed = lab > 0
        counts = np.bincount(lab.ravel(), minlength=len(poly_pos) + 1)[1:]
        tiny = poly_pos[counts == 0]
        if len(tiny):
            rp = geoms.iloc[tiny].to_crs(grid.crs).representative_point()
            c, r = _affine_apply(~grid.transform, rp.x.to_numpy(), rp.y.to_numpy())
            r = np.floor(r).astype(int)
            c = np.floor(c).astype(int)
            inside = (r >= 0) & (r < grid.shape[0]) & (c >= 0) & (c < grid.shape[1])
            est[tiny[inside]] = weights[r[inside], c[inside]]
            claimed[r[inside], c[inside]] = True
    pt_pos = np.flatnonzero(~is_poly & ~empty)
    if len(pt_pos):
        rows, cols = np.nonzero((weights > 0) & ~claimed)
        vals = weights[rows, cols]
        gx, gy = _affine_apply(grid.transform, cols + 0.5, rows + 0.5)
        metric = out.crs if out.crs.is_projected else metric_crs(out)
        cx, cy = Transformer.from_crs(grid.crs, metric, always_xy=True).transform(gx, gy)
        cell_xy = np.column_stack([cx, cy])
        pts = geoms.iloc[pt_pos].to_crs(metric).representative_point()
        vxy = np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()])
        owner = np.full(len(vals), -1, dtype="int64")
        try:
            town_col: str | None = column_of(out, "township")
        except MissingColumnError:
            town_col = None
        if townships is not None and len(townships) and town_col is not None:
            tlab = _rasterize_index(townships.geometry, grid)[rows, cols] - 1
            vt = out[town_col].iloc[pt_pos].astype(str).to_numpy()
            for t in range(len(townships)):
                keys = {str(townships[k].iloc[t]) for k in ("id", "name") if k in townships.columns}
                members = np.flatnonzero(np.isin(vt, list(keys)))
                cells = np.flatnonzero(tlab == t)
                if len(members) == 0 or len(cells) == 0:
                    continue
                _, j = cKDTree(vxy[members]).query(cell_xy[cells])
                owner[cells] = members[j]
        rest = np.flatnonzero(owner < 0)
        if len(rest):
            _, j = cKDTree(vxy).query(cell_xy[rest])
            owner[rest] = j
        est[pt_pos] += np.bincount(owner, weights=vals, minlength=len(pt_pos))
    out[pop_col] = np.where(missing, est, pop.to_numpy(dtype="float64"))
    logger.info(
        "estimated the population of %d of %d villages from %s (%s people of %s in the grid)",
        int(missing.sum()),
        n,
        grid.source or "the population grid",
        _fmt_pop(est[missing].sum()),
        _fmt_pop(grid.total),
    )
    return out


# --------------------------------------------------------------------------- modes


def _as_minutes(a: Any, shape: tuple[int, ...], what: str) -> np.ndarray:
    arr = np.asarray(a, dtype="float64")
    if arr.shape != shape:
        raise InvalidValueError(
            f"{what} has shape {arr.shape} but {shape} was expected (one entry per village, "
            "in the row order of the villages table); recompute it for these villages"
        )
    if np.isnan(arr).any() or (arr < 0).any():
        raise InvalidValueError(
            f"{what} holds NaN or negative minutes; use np.inf for unreachable pairs"
        )
    return arr


def _validated(villages: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    cols = {k: column_of(villages, k) for k in ("id", "name", "township", "population", "clinic")}
    pop = pd.to_numeric(villages[cols["population"]], errors="coerce")
    if pop.isna().any() or (pop < 0).any():
        bad = villages.loc[pop.isna() | (pop < 0), cols["name"]].astype(str).tolist()
        raise InvalidValueError(
            f"column '{cols['population']}' has missing or negative values for "
            f"{', '.join(bad[:5])}; fill them (estimate_village_population) or correct them"
        )
    return villages, cols


def propose_shared_clinics(
    villages: pd.DataFrame,
    village_min: np.ndarray,
    *,
    share_radius_min: float | None = None,
) -> pd.DataFrame:
    """Group villages without a standard clinic that could share one new clinic.

    Parameters
    ----------
    villages
        ``id, name, township, population, clinic`` per village.
    village_min
        n × n minutes between villages (``np.inf`` = unreachable).
    share_radius_min
        Largest travel time (both directions) from a group member to the
        host village; default :data:`DEFAULT_SHARE_RADIUS_MIN`.

    Returns
    -------
    DataFrame
        One row per proposal (共建1所村卫生室): ``group, township, host_id,
        host_name, village_ids, villages, n_villages, population, max_min``;
        ``village_ids``/``villages`` are joined with "、", host first.

    Notes
    -----
    Greedy star clustering, deterministic: candidates (no standard clinic)
    are taken by population (descending, then row order); each still
    ungrouped candidate becomes a host and takes every ungrouped candidate
    of the same township within ``share_radius_min`` of it (the larger of
    the two directions). Only groups of two or more villages are proposed,
    so every member is within the radius of the suggested host.
    """
    radius = DEFAULT_SHARE_RADIUS_MIN if share_radius_min is None else float(share_radius_min)
    _, cols = _validated(villages)
    n = len(villages)
    D = _as_minutes(village_min, (n, n), "village_min")
    status = clinic_status_from_values(villages[cols["clinic"]]).to_numpy()
    pop = pd.to_numeric(villages[cols["population"]]).to_numpy(dtype="float64")
    town = villages[cols["township"]].astype(str).to_numpy()
    ids = villages[cols["id"]].to_numpy()
    if "label" in villages.columns:
        lab = villages["label"].astype(str).to_numpy()
    else:
        lab = _labels(
            villages[cols["id"]], villages[cols["name"]], villages[cols["township"]]
        ).to_numpy()
    cand = np.flatnonzero(status != "standard")
    order = cand[np.lexsort((cand, -pop[cand]))]
    sym = np.maximum(D, D.T)
    grouped = np.zeros(n, dtype=bool)
    rows = []
    for h in order:
        if grouped[h]:
            continue
        members = [
            int(m)
            for m in order
            if m != h and not grouped[m] and town[m] == town[h] and sym[h, m] <= radius
        ]
        if not members:
            continue
        grouped[[h, *members]] = True
        g = [int(h), *members]
        rows.append(
            {
                "group": len(rows) + 1,
                "township": town[h],
                "host_id": ids[h],
                "host_name": lab[h],
                "village_ids": "、".join(str(ids[k]) for k in g),
                "villages": "、".join(lab[k] for k in g),
                "n_villages": len(g),
                "population": float(pop[g].sum()),
                "max_min": float(sym[h, members].max()),
            }
        )
    columns = [
        "group",
        "township",
        "host_id",
        "host_name",
        "village_ids",
        "villages",
        "n_villages",
        "population",
        "max_min",
    ]
    return pd.DataFrame(rows, columns=columns)


def assign_service_modes(
    villages: gpd.GeoDataFrame,
    *,
    village_clinic_min: np.ndarray,
    centre_min: np.ndarray,
    centre_ids: Sequence[Any] | np.ndarray,
    joint_max_min: float | None = None,
    rotation_max_min: float | None = None,
    stationed_min_population: float | None = None,
    share_radius_min: float | None = None,
) -> gpd.GeoDataFrame:
    """Give every village exactly one service mode (Rule 2) with its reason.

    Parameters
    ----------
    villages
        ``id, name, township, population, clinic`` (clinic: ``standard`` /
        ``weak`` / ``none`` or the Chinese synonyms 标准/有, 薄弱/弱, 无/没有).
    village_clinic_min
        n × n minutes from village i to village j's clinic (``np.inf`` =
        unreachable); rows and columns in the row order of ``villages``.
    centre_min
        Length-n minutes from each village to its township health centre.
    centre_ids
        Length-n id of the serving township health centre; ``None``/NaN when
        the township has none.
    joint_max_min
        Largest travel time to a neighbour's standard clinic for joint
        service; default :data:`coverkit.settings.joint_service_max_min`.
    rotation_max_min
        Largest travel time to the township centre for rotation visits;
        default :data:`coverkit.settings.rotation_max_min`.
    stationed_min_population
        Villages with at least this many residents get stationed staff;
        default :data:`coverkit.settings.stationed_min_population`.
    share_radius_min
        Radius for :func:`propose_shared_clinics` (``share_group`` column);
        default :data:`DEFAULT_SHARE_RADIUS_MIN`.

    Returns
    -------
    GeoDataFrame
        A copy of ``villages`` (caller's columns and CRS kept) with
        ``label`` (name, with id appended when repeated in a township),
        ``clinic_status``, ``mode``, ``mode_zh``, ``rule_id``, ``reason_zh``,
        ``reason_en``, ``serving_facility`` (own id / serving village id /
        centre id), ``serving_name``, ``minutes``, ``centre_id`` and
        ``share_group`` (proposal number of :func:`propose_shared_clinics`,
        <NA> if none).

    Raises
    ------
    MissingColumnError
        A required column is missing (the message lists accepted names).
    InvalidValueError
        Unknown clinic status, missing/negative population, matrices of the
        wrong shape, NaN or negative minutes.

    Notes
    -----
    Rules are tried in order R2-FIXED, R2-JOINT, R2-ROTATION, R2-STATIONED.
    A weak clinic (服务能力较弱) neither serves the village nor its
    neighbours. Zero-population villages are allowed and get rotation unless
    far. Villages whose centre is unreachable (``inf``) or whose township has
    no health centre are *stationed* (not an error), with a reason saying so,
    because only stationed staff can serve them until a road or a centre
    exists. Ties between serving villages go to the lower row position.
    """
    joint_max = settings.joint_service_max_min if joint_max_min is None else joint_max_min
    rot_max = settings.rotation_max_min if rotation_max_min is None else rotation_max_min
    big = (
        settings.stationed_min_population
        if stationed_min_population is None
        else stationed_min_population
    )
    _, cols = _validated(villages)
    n = len(villages)
    vmat = _as_minutes(village_clinic_min, (n, n), "village_clinic_min")
    cmin = _as_minutes(centre_min, (n,), "centre_min")
    cid = np.asarray(list(centre_ids), dtype=object)
    if cid.shape != (n,):
        raise InvalidValueError(
            f"centre_ids has {len(cid)} entries for {n} villages; give one centre id per village"
        )
    no_centre = np.array([np.ndim(v) == 0 and bool(pd.isna(v)) for v in cid], dtype=bool)
    out = villages.copy()
    ids = out[cols["id"]].to_numpy()
    status = clinic_status_from_values(out[cols["clinic"]]).to_numpy()
    pop = pd.to_numeric(out[cols["population"]]).to_numpy(dtype="float64")
    labels = _labels(out[cols["id"]], out[cols["name"]], out[cols["township"]])
    lab = labels.to_numpy()

    standard = status == "standard"
    to_std = np.where(standard[None, :], vmat, np.inf)
    np.fill_diagonal(to_std, np.inf)
    nearest = np.argmin(to_std, axis=1) if n else np.zeros(0, dtype=int)
    near_min = to_std[np.arange(n), nearest] if n else np.zeros(0)

    fixed = standard
    joint = ~fixed & (near_min <= joint_max)
    rest = ~fixed & ~joint
    rotation = rest & ~no_centre & (cmin <= rot_max) & (pop < big)

    mode = np.select(
        [fixed, joint, rotation],
        [ServiceMode.FIXED.value, ServiceMode.JOINT.value, ServiceMode.ROTATION.value],
        default=ServiceMode.STATIONED.value,
    )
    minutes = np.select([fixed, joint], [0.0, near_min], default=cmin)
    serving = np.where(fixed, ids, np.where(joint, ids[nearest] if n else ids, cid))
    serving_name = np.where(fixed, lab, np.where(joint, lab[nearest] if n else lab, None))

    status_zh = {"weak": "村卫生室服务能力较弱", "none": "无村卫生室"}
    status_en = {"weak": "its village clinic is weak", "none": "it has no village clinic"}
    reason_zh: list[str] = []
    reason_en: list[str] = []
    for i in range(n):
        if fixed[i]:
            reason_zh.append("有标准化村卫生室，固定设点服务")
            reason_en.append("has a standard village clinic: fixed clinic service")
            continue
        s_zh, s_en = status_zh[status[i]], status_en[status[i]]
        if np.isfinite(near_min[i]):
            nb_zh = f"最近的标准化村卫生室（{lab[nearest[i]]}）{_fmt(near_min[i])}分钟"
            nb_en = (
                f"the nearest standard clinic ({lab[nearest[i]]}) is {_fmt(near_min[i])} min away"
            )
        else:
            nb_zh, nb_en = "无可达的标准化村卫生室", "no standard clinic can be reached"
        if joint[i]:
            reason_zh.append(
                f"{s_zh}；{nb_zh}，不超过{_fmt(joint_max)}分钟，由该村卫生室提供邻（联）村延伸服务"
            )
            reason_en.append(
                f"{s_en}; {nb_en}, within the {_fmt(joint_max)} min joint-service limit: "
                "served by that clinic"
            )
            continue
        head_zh = f"{s_zh}；{nb_zh}，超过{_fmt(joint_max)}分钟"
        if not np.isfinite(near_min[i]):
            head_zh = f"{s_zh}；{nb_zh}"
        head_en = (
            f"{s_en}; {nb_en}, beyond the {_fmt(joint_max)} min joint-service limit"
            if np.isfinite(near_min[i])
            else f"{s_en}; {nb_en}"
        )
        if rotation[i]:
            reason_zh.append(
                f"{head_zh}；距乡镇卫生院{_fmt(cmin[i])}分钟（不超过{_fmt(rot_max)}分钟），"
                f"人口{_fmt_pop(pop[i])}人（少于{_fmt_pop(big)}人）："
                "乡镇卫生院定期巡诊，每周至少2次、每次至少半天，时间相对固定"
            )
            reason_en.append(
                f"{head_en}; its township health centre is {_fmt(cmin[i])} min away "
                f"(within {_fmt(rot_max)} min) and it has {_fmt_pop(pop[i])} residents "
                f"(fewer than {_fmt_pop(big)}): rotation visits from the centre, at least "
                "2 half-day visits a week at fixed times"
            )
            continue
        tail_zh = "：派驻人员每周在村工作不少于5日，在同一行政村至少连续服务半年"
        tail_en = (
            ": stationed staff, at least 5 days a week and at least half a year "
            "continuously in the same village"
        )
        if no_centre[i]:
            why_zh = "所在乡镇没有乡镇卫生院（请在设施表中补充）"
            why_en = "its township has no township health centre (add it to the facilities)"
        elif not np.isfinite(cmin[i]):
            why_zh = "公路无法到达乡镇卫生院"
            why_en = "its township health centre cannot be reached by road"
        else:
            parts_zh, parts_en = [], []
            if cmin[i] > rot_max:
                parts_zh.append(f"距乡镇卫生院{_fmt(cmin[i])}分钟，超过巡诊上限{_fmt(rot_max)}分钟")
                parts_en.append(
                    f"its township health centre is {_fmt(cmin[i])} min away, beyond the "
                    f"{_fmt(rot_max)} min rotation limit"
                )
            if pop[i] >= big:
                parts_zh.append(f"人口{_fmt_pop(pop[i])}人，不少于{_fmt_pop(big)}人")
                parts_en.append(f"it has {_fmt_pop(pop[i])} residents, at least {_fmt_pop(big)}")
            why_zh, why_en = "，".join(parts_zh), " and ".join(parts_en)
        reason_zh.append(f"{head_zh}；{why_zh}{tail_zh}")
        reason_en.append(f"{head_en}; {why_en}{tail_en}")

    modes = [ServiceMode(m) for m in mode]
    out["label"] = lab
    out["clinic_status"] = status
    out["mode"] = mode.astype(object)
    out["mode_zh"] = [m.zh for m in modes]
    out["rule_id"] = [m.rule_id for m in modes]
    out["reason_zh"] = reason_zh
    out["reason_en"] = reason_en
    out["serving_facility"] = serving
    out["serving_name"] = serving_name
    out["minutes"] = minutes.astype("float64")
    out["centre_id"] = cid
    shared = propose_shared_clinics(out, vmat, share_radius_min=share_radius_min)
    group = pd.array([pd.NA] * n, dtype="Int64")
    pos = {str(v): k for k, v in enumerate(ids)}
    for g, members in zip(shared["group"], shared["village_ids"], strict=True):
        for v in members.split("、"):
            group[pos[v]] = g
    out["share_group"] = group
    logger.info(
        "village service modes: %s",
        ", ".join(f"{m.value} {int((mode == m.value).sum())}" for m in ServiceMode),
    )
    return out


# --------------------------------------------------------------------------- timetable


def _route_cost(route: list[int], d0: np.ndarray, D: np.ndarray) -> float:
    """Driving minutes centre → route → centre."""
    legs = sum(D[a, b] for a, b in itertools.pairwise(route))
    return float(d0[route[0]] + legs + d0[route[-1]])


def _savings_routes(
    idx: np.ndarray, d0: np.ndarray, D: np.ndarray, *, service_min: float, limit_min: float
) -> list[list[int]]:
    """Clarke-Wright savings: merge single-village trips while they fit the half day."""
    routes: dict[int, list[int]] = {int(i): [int(i)] for i in idx}
    where = {int(i): int(i) for i in idx}  # village -> route key
    pairs = []
    for a, b in itertools.combinations(sorted(int(i) for i in idx), 2):
        for i, j in ((a, b), (b, a)):
            if np.isfinite(D[i, j]):
                s = d0[i] + d0[j] - D[i, j]
                if s > 0:
                    pairs.append((-s, i, j))
    pairs.sort()
    for _, i, j in pairs:
        ri, rj = where[i], where[j]
        if ri == rj:
            continue
        r1, r2 = routes[ri], routes[rj]
        if r1[-1] != i or r2[0] != j:
            continue
        merged = r1 + r2
        if _route_cost(merged, d0, D) + service_min * len(merged) > limit_min:
            continue
        routes[ri] = merged
        del routes[rj]
        for v in r2:
            where[v] = ri
    return sorted(routes.values(), key=lambda r: r[0])


def _day_patterns(k: int) -> list[tuple[int, ...]]:
    """k distinct weekdays, evenly spread patterns first."""
    combos = list(itertools.combinations(range(5), k))

    def spread(c: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
        # smallest gap between visits, the week wrapping round (Fri -> Mon = 3 days)
        gaps = [b - a for a, b in itertools.pairwise(c)] + [7 - (c[-1] - c[0])]
        return (-min(gaps), c)

    return sorted(combos, key=spread)


def _schedule(n_trips: int, teams: int, k: int) -> list[list[tuple[int, int, int]]]:
    """(team, day, half) slots for each trip: k distinct days, no double booking.

    First tries fixed patterns (same team and half-day on evenly spread
    days); if a trip does not fit, restarts with the capacity-greedy rule
    (each trip on the k days with the most free slots), which places as
    many trips as any assignment can. Returns the slots of the trips placed
    (fewer than ``n_trips`` when the teams are not enough).
    """
    patterns = _day_patterns(k)
    free = np.ones((teams, 5, 2), dtype=bool)
    plan: list[list[tuple[int, int, int]]] = []
    for _ in range(n_trips):
        found = None
        for pat in patterns:
            for half in range(2):
                for team in range(teams):
                    if all(free[team, d, half] for d in pat):
                        found = [(team, d, half) for d in pat]
                        break
                if found:
                    break
            if found:
                break
        if found is None:
            break
        for t, d, h in found:
            free[t, d, h] = False
        plan.append(found)
    if len(plan) == n_trips:
        return plan
    free = np.ones((teams, 5, 2), dtype=bool)
    plan = []
    for _ in range(n_trips):
        cap = free.sum(axis=(0, 2))
        days = sorted(range(5), key=lambda d: (-cap[d], d))[:k]
        if any(cap[d] == 0 for d in days):
            break
        slots = []
        for d in sorted(days):
            t, h = np.argwhere(free[:, d, :])[0]
            free[t, d, h] = False
            slots.append((int(t), d, int(h)))
        plan.append(slots)
    return plan


def rotation_timetable(
    villages: pd.DataFrame,
    *,
    centre_to_village_min: np.ndarray,
    village_to_village_min: np.ndarray,
    teams_per_centre: int | Mapping[Any, int] = 1,
    half_day_min: float | None = None,
    service_min: float = DEFAULT_SERVICE_MIN,
    visits_per_week: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Weekly rotation-visit timetable (巡诊排班) per township health centre.

    Parameters
    ----------
    villages
        Output of :func:`assign_service_modes` (uses ``mode``, ``centre_id``,
        ``label``, ``township`` and ``id``); only ``rotation`` villages are
        scheduled.
    centre_to_village_min
        Length-n minutes between each village and its own township centre
        (taken as the same both ways).
    village_to_village_min
        n × n minutes between villages.
    teams_per_centre
        Rotation teams per centre: one number, or a mapping centre id → teams
        (missing centres get 1).
    half_day_min
        Length of a half-day slot; default :data:`coverkit.settings.half_day_min`.
    service_min
        Time spent in each village of a trip.
    visits_per_week
        Visits each village needs a week, on different days; default
        :data:`coverkit.settings.rotation_visits_per_week`.

    Returns
    -------
    timetable : DataFrame
        One row per scheduled half-day: ``township, centre_id, team,
        weekday, weekday_zh, half_day, half_day_zh, trip, villages,
        village_ids, drive_min, service_min, total_min``; ``villages`` are
        labels in visiting order joined with " → "; ``team`` and ``trip``
        count from 1 within a centre.
    shortfall : DataFrame
        One row per centre: ``township, centre_id, rotation_villages, trips,
        slots_needed, teams, slots_available, trips_unscheduled,
        unscheduled_villages, teams_needed, too_far, enough, message_en,
        message_zh``;
        ``teams_needed`` is how many *more* teams would fit every trip;
        ``too_far`` lists villages whose round trip alone exceeds the half
        day (never scheduled; they should be stationed).

    Raises
    ------
    InvalidValueError
        Matrices of the wrong shape, negative/NaN minutes, or
        ``visits_per_week`` outside 1-5.

    Notes
    -----
    Trips are built per centre with the Clarke-Wright savings heuristic:
    start from one trip per village and merge trips end-to-start by
    decreasing saving ``c(i) + c(j) - d(i, j)`` while the centre → v1 → … →
    centre drive plus ``service_min`` per village stays within
    ``half_day_min``. Each trip runs ``visits_per_week`` times a week, on
    different days, preferably by the same team at the same half-day on
    evenly spread days (fixed times, 巡诊时间要相对固定).
    """
    half = settings.half_day_min if half_day_min is None else float(half_day_min)
    k = settings.rotation_visits_per_week if visits_per_week is None else int(visits_per_week)
    service_min = float(service_min)
    if not 1 <= k <= 5:
        raise InvalidValueError(
            f"visits_per_week={k}: a team has 5 working days, so give 1 to 5 visits a week"
        )
    n = len(villages)
    d0 = _as_minutes(centre_to_village_min, (n,), "centre_to_village_min")
    D = _as_minutes(village_to_village_min, (n, n), "village_to_village_min")
    for c in ("mode", "centre_id"):
        if c not in villages.columns:
            raise MissingColumnError(
                f"the villages table has no '{c}' column; pass the output of assign_service_modes"
            )
    ids = villages[column_of(villages, "id")].to_numpy()
    if "label" in villages.columns:
        lab = villages["label"].astype(str).to_numpy()
    else:
        lab = villages[column_of(villages, "name")].astype(str).to_numpy()
    try:
        town = villages[column_of(villages, "township")].astype(str).to_numpy()
    except MissingColumnError:
        town = np.full(n, "", dtype=object)
    rot = np.flatnonzero(villages["mode"].astype(str).to_numpy() == ServiceMode.ROTATION.value)
    centres = villages["centre_id"].to_numpy()
    keys = sorted({str(centres[i]) for i in rot})
    rows: list[dict[str, Any]] = []
    short: list[dict[str, Any]] = []
    for key in keys:
        members = rot[[str(centres[i]) == key for i in rot]]
        cid = centres[members[0]]
        tname = "、".join(dict.fromkeys(town[members]))
        if isinstance(teams_per_centre, Mapping):
            teams = int(teams_per_centre.get(cid, teams_per_centre.get(key, 1)))
        else:
            teams = int(teams_per_centre)
        if teams < 0:
            raise InvalidValueError(
                f"teams_per_centre gives {teams} teams for centre {cid!r}; give 0 or more"
            )
        alone = 2 * d0[members] + service_min
        far = members[~(alone <= half)]
        ok = members[alone <= half]
        trips = _savings_routes(ok, d0, D, service_min=service_min, limit_min=half)
        placed = _schedule(len(trips), teams, k)
        need = teams
        if len(placed) < len(trips):
            need = teams + 1
            while len(_schedule(len(trips), need, k)) < len(trips):
                need += 1
        for t, (route, slots) in enumerate(zip(trips, placed, strict=False), start=1):
            drive = _route_cost(route, d0, D)
            for team, day, h in sorted(slots, key=lambda s: (s[1], s[2], s[0])):
                rows.append(
                    {
                        "township": tname,
                        "centre_id": cid,
                        "team": team + 1,
                        "weekday": WEEKDAYS[day],
                        "weekday_zh": WEEKDAYS_ZH[day],
                        "half_day": HALF_DAYS[h],
                        "half_day_zh": HALF_DAYS_ZH[h],
                        "trip": t,
                        "villages": " → ".join(lab[route]),
                        "village_ids": " → ".join(str(ids[v]) for v in route),
                        "drive_min": drive,
                        "service_min": service_min * len(route),
                        "total_min": drive + service_min * len(route),
                        "_day": day,
                        "_half": h,
                    }
                )
        unscheduled = len(trips) - len(placed)
        far_names = "、".join(lab[far])
        left_out = "、".join(" → ".join(lab[r]) for r in trips[len(placed) :])
        enough = unscheduled == 0
        msg_en = (
            f"{len(trips)} trips × {k} visits = {len(trips) * k} half-day slots needed, "
            f"{teams * 10} available with {teams} team(s)"
        )
        msg_zh = (
            f"需{len(trips)}条巡诊线路×每周{k}次={len(trips) * k}个半天，"
            f"{teams}个巡诊队可提供{teams * 10}个半天"
        )
        if enough:
            msg_en += ": enough"
            msg_zh += "：满足"
        else:
            msg_en += (
                f": NOT ENOUGH TEAMS, {unscheduled} trip(s) unscheduled; add {need - teams} team(s)"
            )
            msg_zh += f"：巡诊队不足，{unscheduled}条线路无法排班，需增加{need - teams}个巡诊队"
        if len(far):
            msg_en += (
                f"; round trip alone exceeds the {_fmt(half)} min half day for {far_names}: "
                "station staff there instead"
            )
            msg_zh += f"；{far_names}往返车程加服务时间已超过半天（{_fmt(half)}分钟），应改为派驻"
            logger.warning("rotation visits, %s: %s", tname or key, msg_en)
        short.append(
            {
                "township": tname,
                "centre_id": cid,
                "rotation_villages": len(members),
                "trips": len(trips),
                "slots_needed": len(trips) * k,
                "teams": teams,
                "slots_available": teams * 10,
                "trips_unscheduled": unscheduled,
                "unscheduled_villages": left_out,
                "teams_needed": need - teams,
                "too_far": far_names,
                "enough": enough and not len(far),
                "message_en": msg_en,
                "message_zh": msg_zh,
            }
        )
        if not enough and not len(far):
            logger.warning("rotation visits, %s: %s", tname or key, msg_en)
    columns = [
        "township",
        "centre_id",
        "team",
        "weekday",
        "weekday_zh",
        "half_day",
        "half_day_zh",
        "trip",
        "villages",
        "village_ids",
        "drive_min",
        "service_min",
        "total_min",
    ]
    table = pd.DataFrame(rows, columns=[*columns, "_day", "_half"])
    if len(table):
        table["_c"] = table["centre_id"].astype(str)
        table = table.sort_values(["_c", "team", "_day", "_half"], kind="stable")
    table = table[columns].reset_index(drop=True)
    short_cols = [
        "township",
        "centre_id",
        "rotation_villages",
        "trips",
        "slots_needed",
        "teams",
        "slots_available",
        "trips_unscheduled",
        "unscheduled_villages",
        "teams_needed",
        "too_far",
        "enough",
        "message_en",
        "message_zh",
    ]
    return table, pd.DataFrame(short, columns=short_cols)


# --------------------------------------------------------------------------- staffing

#: Where each staffing / scale rule comes from (files in ``shared/policy``).
SOURCE_STAFF_RATIO = (
    "POLICY.md Rule 4 (乡村医生按照常住人口1—1.5‰配备; 按照常住人口1—1.5‰核定乡镇卫生院人员编制); "
    "the ratio is not in the stored originals, which give only the 90% professional-post "
    "share (001_fcdab3f6bf54638e.txt §16; 000_ba5da1a0f897df4c.txt §(十二))"
)
SOURCE_RULE3 = (
    "001_fcdab3f6bf54638e.txt §1 (每个乡镇均设置1所乡镇卫生院，常住人口超过10万人的根据需要增设)"
)
SOURCE_RULE5 = (
    "000_ba5da1a0f897df4c.txt §(三) (力争实现服务人口超过80万的县级医院达到三级医院服务水平)"
)


def staffing_checks(
    villages: pd.DataFrame,
    *,
    township_population: Mapping[Any, float] | pd.Series | None,
    county_population: float,
    county_name: str,
    per_1000: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """Staffing needs and scale flags for villages, townships and the county.

    Parameters
    ----------
    villages
        ``id, name, township, population`` per village.
    township_population
        Resident population per township (keys as in the villages'
        ``township`` column); ``None`` sums the villages of each township.
    county_population
        Resident population of the county.
    county_name
        Name shown on the county row.
    per_1000
        (min, max) staff per 1,000 residents for village doctors and township
        centre establishment; default :data:`coverkit.settings.staff_per_1000`.

    Returns
    -------
    DataFrame
        ``level`` (village/township/county), ``name``, ``township``,
        ``population``, ``check``, ``check_zh``, ``rule``, ``source``,
        ``required_min``, ``required_max`` (staff, rounded up; NA for flags),
        ``threshold``, ``flag`` (True when a Rule 3/5 limit is exceeded),
        ``message_en``, ``message_zh``. Rows: village doctors per village;
        per township village doctors, centre staff and the Rule 3
        second-centre check; one county Rule 5 row.

    Raises
    ------
    MissingColumnError
        A required column is missing.
    InvalidValueError
        Negative or missing populations, or ``per_1000`` with min > max.
    """
    lo, hi = settings.staff_per_1000 if per_1000 is None else per_1000
    if not 0 <= lo <= hi:
        raise InvalidValueError(
            f"per_1000={(lo, hi)}: give (min, max) staff per 1,000 with 0 <= min <= max"
        )
    cols = {k: column_of(villages, k) for k in ("id", "name", "township", "population")}
    pop = pd.to_numeric(villages[cols["population"]], errors="coerce")
    if pop.isna().any() or (pop < 0).any():
        raise InvalidValueError(
            f"column '{cols['population']}' has missing or negative values; fill them "
            "(estimate_village_population) or correct them"
        )
    if not (county_population >= 0):
        raise InvalidValueError(
            f"county_population={county_population!r}: give the resident population (>= 0)"
        )
    town = villages[cols["township"]].astype(str)
    if "label" in villages.columns:
        names = villages["label"].astype(str)
    else:
        names = _labels(villages[cols["id"]], villages[cols["name"]], villages[cols["township"]])
    if township_population is None:
        tpop = pop.groupby(town.to_numpy(), sort=True).sum()
    else:
        tpop = pd.Series(dict(township_population), dtype="float64")
        tpop.index = tpop.index.astype(str)
        missing = sorted(set(town) - set(tpop.index))
        if missing:
            raise InvalidValueError(
                f"township_population has no value for {', '.join(missing[:5])}; give one for "
                "every township in the villages table (or None to sum the villages)"
            )
        if tpop.isna().any() or (tpop < 0).any():
            raise InvalidValueError("township_population has missing or negative values")
        tpop = tpop.sort_index()
    second = settings.township_second_centre_population
    tertiary = settings.county_tertiary_population
    rule4 = "Rule 4"

    def need(p: np.ndarray | float, r: float) -> np.ndarray:
        # round up, with a tolerance so 1,000 x 1.5 ‰ is 1.5 -> 2, but 2,000 x 1.5 ‰ stays 3
        return np.ceil(np.round(np.asarray(p, dtype="float64") * r / 1000.0, 9)).astype("int64")

    vp = pop.to_numpy(dtype="float64")
    vmin, vmax = need(vp, lo), need(vp, hi)
    rows: list[dict[str, Any]] = []
    for i in range(len(villages)):
        rows.append(
            {
                "level": "village",
                "name": names.iloc[i],
                "township": town.iloc[i],
                "population": vp[i],
                "check": "village_doctors",
                "check_zh": "乡村医生配备",
                "rule": rule4,
                "source": SOURCE_STAFF_RATIO,
                "required_min": int(vmin[i]),
                "required_max": int(vmax[i]),
                "threshold": np.nan,
                "flag": False,
                "message_en": (
                    f"{_fmt_pop(vp[i])} residents: {vmin[i]}-{vmax[i]} village doctors "
                    f"({_fmt(lo)}-{_fmt(hi)} per 1,000)"
                ),
                "message_zh": (
                    f"常住人口{_fmt_pop(vp[i])}人：需乡村医生{vmin[i]}—{vmax[i]}名"
                    f"（{_fmt(lo)}—{_fmt(hi)}‰）"
                ),
            }
        )
    for t, p in tpop.items():
        in_t = (town == t).to_numpy()
        dmin, dmax = int(vmin[in_t].sum()), int(vmax[in_t].sum())
        smin, smax = int(need(p, lo)), int(need(p, hi))
        base = {"level": "township", "name": t, "township": t, "population": float(p)}
        rows.append(
            {
                **base,
                "check": "village_doctors",
                "check_zh": "乡村医生配备（全乡镇合计）",
                "rule": rule4,
                "source": SOURCE_STAFF_RATIO,
                "required_min": dmin,
                "required_max": dmax,
                "threshold": np.nan,
                "flag": False,
                "message_en": (
                    f"{int(in_t.sum())} villages: {dmin}-{dmax} village doctors in total "
                    "(each village rounded up)"
                ),
                "message_zh": (
                    f"{int(in_t.sum())}个行政村合计需乡村医生{dmin}—{dmax}名（各村向上取整）"
                ),
            }
        )
        rows.append(
            {
                **base,
                "check": "centre_staff",
                "check_zh": "乡镇卫生院人员编制",
                "rule": rule4,
                "source": SOURCE_STAFF_RATIO,
                "required_min": smin,
                "required_max": smax,
                "threshold": np.nan,
                "flag": False,
                "message_en": (
                    f"{_fmt_pop(p)} residents: township health centre establishment "
                    f"{smin}-{smax} posts ({_fmt(lo)}-{_fmt(hi)} per 1,000), at least 90% "
                    "professional"
                ),
                "message_zh": (
                    f"常住人口{_fmt_pop(p)}人：乡镇卫生院核定编制{smin}—{smax}名"
                    f"（{_fmt(lo)}—{_fmt(hi)}‰），专业技术人员不低于90%"
                ),
            }
        )
        over = float(p) > second
        rows.append(
            {
                **base,
                "check": "second_centre",
                "check_zh": "增设乡镇卫生院",
                "rule": "Rule 3",
                "source": SOURCE_RULE3,
                "required_min": pd.NA,
                "required_max": pd.NA,
                "threshold": second,
                "flag": over,
                "message_en": (
                    f"{_fmt_pop(p)} residents, over {_fmt_pop(second)}: "
                    "a second township health centre may be added"
                    if over
                    else f"{_fmt_pop(p)} residents, not over {_fmt_pop(second)}: one centre"
                ),
                "message_zh": (
                    f"常住人口{_fmt_pop(p)}人，超过{_fmt_pop(second)}人：可根据需要增设乡镇卫生院"
                    if over
                    else f"常住人口{_fmt_pop(p)}人，未超过{_fmt_pop(second)}人：设1所乡镇卫生院"
                ),
            }
        )
    over = float(county_population) > tertiary
    cp = float(county_population)
    rows.append(
        {
            "level": "county",
            "name": county_name,
            "township": "",
            "population": cp,
            "check": "tertiary_hospital",
            "check_zh": "县级医院达到三级医院服务水平",
            "rule": "Rule 5",
            "source": SOURCE_RULE5,
            "required_min": pd.NA,
            "required_max": pd.NA,
            "threshold": tertiary,
            "flag": over,
            "message_en": (
                f"{_fmt_pop(cp)} residents, over {_fmt_pop(tertiary)}: the county hospital "
                "should reach tertiary (三级) service level"
                if over
                else f"{_fmt_pop(cp)} residents, not over {_fmt_pop(tertiary)}: at least one "
                "county hospital at secondary-A (二级甲等) level"
            ),
            "message_zh": (
                f"服务人口{_fmt_pop(cp)}人，超过{_fmt_pop(tertiary)}人：县级医院应达到三级医院服务水平"
                if over
                else f"服务人口{_fmt_pop(cp)}人，未超过{_fmt_pop(tertiary)}人："
                "至少1所县级医院达到二级甲等水平"
            ),
        }
    )
    out = pd.DataFrame(rows)
    out["required_min"] = out["required_min"].astype("Int64")
    out["required_max"] = out["required_max"].astype("Int64")
    return out


__all__ = [
    "DEFAULT_SERVICE_MIN",
    "DEFAULT_SHARE_RADIUS_MIN",
    "HALF_DAYS",
    "HALF_DAYS_ZH",
    "WEEKDAYS",
    "WEEKDAYS_ZH",
    "ServiceMode",
    "assign_service_modes",
    "clinic_status_from_values",
    "estimate_village_population",
    "propose_shared_clinics",
    "rotation_timetable",
    "staffing_checks",
]
