"""Spatial accessibility: the two-step floating catchment area (2SFCA) and its enhanced form.

Luo & Wang (2003) measure how much supply (beds, staff, or one per site) each
place can reach, shared among everyone else who can reach the same sites:

- Step 1, for each site *j*: ``R_j = S_j / Σ_i P_i W(d_ij)`` over the rows *i*
  with ``d_ij ≤ T`` (supply per person of the site's catchment);
- Step 2, for each demand row *i*: ``A_i = Σ_j R_j W(d_ij)`` over the sites
  with ``d_ij ≤ T``.

``A_i`` is in units of supply per person (beds per person); ``per_1000`` gives it
per 1,000 people. ``W`` is the distance decay:

``none``
    classic 2SFCA (Luo & Wang 2003): 1 within T, 0 beyond.
``gaussian``
    the Gaussian-based 2SFCA of Dai (2010), as written in Wang's (2012) review and
    used across the Chinese accessibility literature:
    ``G(d) = (exp(-½ (d/σ)²) − exp(-½ (T/σ)²)) / (1 − exp(-½ (T/σ)²))`` for
    ``d ≤ T``, 0 beyond. With the default ``σ = T`` this is the published
    ``(exp(-½ (d/d0)²) − exp(-½)) / (1 − exp(-½))`` with ``d0 = T``. It is chosen
    over the `access` package's bare ``exp(-½ (d/σ)²)`` (cut at T) because it is 1
    at the site and falls continuously to 0 at the catchment's edge, so the index
    does not jump where the catchment ends. The package's form differs only by that
    offset and scale; ``tests/test_access_package.py`` builds ours from
    ``access.weights.gaussian`` and compares.
``step``
    the enhanced 2SFCA (E2SFCA, Luo & Qi 2009): one weight per travel-time sub-zone,
    ``steps = ((upper_min, weight), …)``; a time in ``(previous upper, upper]`` (the
    first zone from 0) takes that zone's weight, as ``access.weights.step_fn`` does.
    The default zones are :data:`coverkit.settings.access_step_zones_min` (0–10,
    10–20, 20–30 min weighted 1.00, 0.68, 0.22, Luo & Qi's Gaussian-derived weights),
    stretched to T when T is not their last upper bound (T = 60: 0–20–40–60).

A site whose catchment holds no demand (nobody within T, or only empty rows) has
``R_j = NaN`` and contributes nothing to any ``A_i``. With ``decay='none'`` supply
is conserved: ``Σ_i P_i A_i = Σ_j S_j`` over the sites whose catchment has demand.

The travel-time matrix may be float32 and hold 10^7 rows: both steps run in row
blocks (:func:`coverkit.network.blocks.for_blocks`), so only one block at a time is
turned into float64 weights.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from coverkit import settings
from coverkit.errors import InvalidValueError
from coverkit.network.blocks import for_blocks

#: The distance decays :func:`two_step_fca` knows.
DECAYS: tuple[str, ...] = ("none", "gaussian", "step")
#: Float32 entries a row block of the matrix may hold (the float64 weights are twice
#: that in bytes): :data:`coverkit.settings.row_block_cells` rows of 20 columns.
BLOCK_ENTRIES_PER_ROW_BLOCK = 20


@dataclass(frozen=True)
class AccessResult:
    """Accessibility of every demand row and the supply ratio of every site.

    Attributes
    ----------
    index
        ``A_i`` per demand row, supply per person (float64; 0 where no site is
        within T).
    ratio
        ``R_j`` per site, supply per person of its weighted catchment demand; NaN
        where the catchment holds no demand.
    catchment_demand
        ``Σ_i P_i W(d_ij)`` per site: the weighted demand within T.
    decay
        The decay used (``none``, ``gaussian``, ``step``).
    threshold_min
        The catchment threshold T, minutes.
    weights
        ``((upper_min, weight), …)`` of the step decay; empty otherwise.
    sigma_min
        The Gaussian width; NaN otherwise.
    """

    index: np.ndarray
    ratio: np.ndarray
    catchment_demand: np.ndarray
    decay: str
    threshold_min: float
    weights: tuple[tuple[float, float], ...] = ()
    sigma_min: float = math.nan

    @property
    def per_1000(self) -> np.ndarray:
        """``index`` per 1,000 people (e.g. beds per 1,000 people)."""
        return self.index * 1000.0


def _check_inputs(
    cost: np.ndarray, demand: np.ndarray, supply: np.ndarray, threshold_min: float
) -> None:
    """Refuse shapes and values the index cannot be computed from (one line each)."""
    if cost.ndim != 2:
        raise InvalidValueError(f"cost has shape {cost.shape}; pass rows × sites minutes (2-D)")
    n, m = cost.shape
    if demand.shape != (n,):
        raise InvalidValueError(
            f"demand has shape {demand.shape}; pass one population per cost row ({n})"
        )
    if supply.shape != (m,):
        raise InvalidValueError(
            f"supply has shape {supply.shape}; pass one supply per cost column ({m})"
        )
    if not (np.all(np.isfinite(demand)) and np.all(demand >= 0)):
        raise InvalidValueError("demand has a negative or missing value; pass people >= 0")
    if not (np.all(np.isfinite(supply)) and np.all(supply >= 0)):
        raise InvalidValueError("supply has a negative or missing value; pass beds/staff >= 0")
    if not (math.isfinite(threshold_min) and threshold_min > 0):
        raise InvalidValueError(f"threshold_min={threshold_min!r}; pass minutes > 0")


def step_zones(
    threshold_min: float, steps: Sequence[tuple[float, float]] | None = None
) -> tuple[tuple[float, float], ...]:
    """The E2SFCA sub-zones: ``steps`` checked, or the defaults stretched to T.

    Parameters
    ----------
    threshold_min
        The catchment threshold T, minutes.
    steps
        ``((upper_min, weight), …)`` with increasing upper bounds and weights >= 0;
        None: :data:`coverkit.settings.access_step_zones_min`, their upper bounds
        multiplied by T / (their last upper bound).

    Returns
    -------
    tuple of (float, float)
    """
    if steps is None:
        zones = tuple((float(u), float(w)) for u, w in settings.access_step_zones_min)
        scale = float(threshold_min) / zones[-1][0]
        return tuple((u * scale, w) for u, w in zones)
    zones = tuple((float(u), float(w)) for u, w in steps)
    uppers = [u for u, _ in zones]
    if (
        not zones
        or any(not (math.isfinite(u) and u > 0) for u in uppers)
        or any(b <= a for a, b in itertools.pairwise(uppers))
        or any(not (math.isfinite(w) and w >= 0) for _, w in zones)
    ):
        raise InvalidValueError(
            f"steps={steps!r}; pass ((upper_min, weight), …) with increasing upper bounds "
            "> 0 and weights >= 0"
        )
    return zones


def decay_weights(
    minutes: np.ndarray,
    *,
    threshold_min: float,
    decay: str = "none",
    steps: Sequence[tuple[float, float]] | None = None,
    sigma_min: float | None = None,
) -> np.ndarray:
    """``W(d)`` of travel times: 0 beyond T, unreachable (inf) or missing (NaN).

    Parameters
    ----------
    minutes
        Travel times (any shape, any float dtype).
    threshold_min
        The catchment threshold T, minutes (a time equal to T is inside).
    decay
        ``none``, ``gaussian`` or ``step`` (see the module's notes).
    steps
        The step decay's ``((upper_min, weight), …)`` (:func:`step_zones`).
    sigma_min
        The Gaussian's width σ, minutes; None: T.

    Returns
    -------
    numpy.ndarray
        float64 weights, shaped like ``minutes``.
    """
    d = np.asarray(minutes, dtype="float64")
    inside = d <= threshold_min  # False for inf and NaN
    if decay == "none":
        return inside.astype("float64")
    if decay == "gaussian":
        sigma = float(threshold_min if sigma_min is None else sigma_min)
        if not (math.isfinite(sigma) and sigma > 0):
            raise InvalidValueError(f"sigma_min={sigma_min!r}; pass minutes > 0 or None (T)")
        edge = math.exp(-0.5 * (threshold_min / sigma) ** 2)
        g = (np.exp(-0.5 * (np.where(inside, d, 0.0) / sigma) ** 2) - edge) / (1.0 - edge)
        return np.where(inside, g, 0.0)
    if decay == "step":
        zones = step_zones(threshold_min, steps)
        uppers = np.array([u for u, _ in zones])
        values = np.array([w for _, w in zones] + [0.0])
        w = values[np.searchsorted(uppers, np.where(inside, d, np.inf), side="left")]
        return np.where(inside, w, 0.0)
    raise InvalidValueError(f"decay={decay!r}; pass one of {', '.join(DECAYS)}")


def two_step_fca(
    cost: np.ndarray,
    demand: np.ndarray,
    supply: np.ndarray,
    *,
    threshold_min: float,
    decay: str = "none",
    steps: Sequence[tuple[float, float]] | None = None,
    sigma_min: float | None = None,
) -> AccessResult:
    """The 2SFCA (``decay='none'``) or enhanced 2SFCA index of every demand row.

    Parameters
    ----------
    cost
        Travel minutes, demand rows × supply sites (``inf``: unreachable); float32
        or float64, never copied whole.
    demand
        People per row.
    supply
        Supply per site: beds, staff, or 1 per site.
    threshold_min
        The catchment threshold T, minutes.
    decay
        ``none`` (Luo & Wang 2003), ``gaussian`` (Dai 2010) or ``step`` (E2SFCA,
        Luo & Qi 2009); see the module's notes.
    steps
        The step decay's sub-zones ``((upper_min, weight), …)``; None: the defaults
        of :func:`step_zones`.
    sigma_min
        The Gaussian's width σ; None: T.

    Returns
    -------
    AccessResult
        ``index`` in supply per person (``per_1000``: per 1,000 people), ``ratio``
        (NaN for a site whose catchment has no demand) and ``catchment_demand``.
    """
    cost = np.asarray(cost)
    demand = np.asarray(demand, dtype="float64")
    supply = np.asarray(supply, dtype="float64")
    threshold_min = float(threshold_min)
    _check_inputs(cost, demand, supply, threshold_min)
    if decay not in DECAYS:
        raise InvalidValueError(f"decay={decay!r}; pass one of {', '.join(DECAYS)}")
    zones = step_zones(threshold_min, steps) if decay == "step" else ()
    n, m = cost.shape
    block = max(1, settings.row_block_cells * BLOCK_ENTRIES_PER_ROW_BLOCK // max(1, m))

    def weights(s: int, e: int) -> np.ndarray:
        return decay_weights(
            cost[s:e], threshold_min=threshold_min, decay=decay, steps=zones, sigma_min=sigma_min
        )

    parts = for_blocks(lambda s, e: demand[s:e] @ weights(s, e), n, block)
    catchment = np.sum(parts, axis=0) if parts else np.zeros(m)
    has_demand = catchment > 0
    ratio = np.full(m, np.nan)
    np.divide(supply, catchment, out=ratio, where=has_demand)
    usable = np.where(has_demand, ratio, 0.0)
    index = np.empty(n)

    def step2(s: int, e: int) -> None:
        index[s:e] = weights(s, e) @ usable

    for_blocks(step2, n, block)
    sigma = math.nan
    if decay == "gaussian":
        sigma = threshold_min if sigma_min is None else float(sigma_min)
    return AccessResult(
        index=index,
        ratio=ratio,
        catchment_demand=catchment,
        decay=decay,
        threshold_min=threshold_min,
        weights=zones,
        sigma_min=sigma,
    )


def access_by_zone(
    result: AccessResult,
    zone_of_row: np.ndarray,
    demand: np.ndarray,
    zone_names: Sequence[str],
    *,
    per_people: float | None = None,
) -> pd.DataFrame:
    """The index per township: population-weighted mean, range, and people without access.

    Parameters
    ----------
    result
        :func:`two_step_fca`'s result.
    zone_of_row
        Zone number of each demand row (0 .. len(zone_names) - 1; -1: none).
    demand
        People per row (the demand the index was computed with).
    zone_names
        Name of each zone.
    per_people
        The index is given per this many people; None:
        :data:`coverkit.settings.access_per_people` (1,000).

    Returns
    -------
    pandas.DataFrame
        One row per zone, in ``zone_names`` order: ``zone, population,
        access_mean`` (population-weighted), ``access_min, access_max`` (over
        the zone's rows with people; NaN when it has none) and
        ``population_no_access`` (people whose index is 0).
    """
    per = float(settings.access_per_people if per_people is None else per_people)
    zone = np.asarray(zone_of_row, dtype="int64")
    pop = np.asarray(demand, dtype="float64")
    k = len(zone_names)
    if zone.shape != result.index.shape or pop.shape != result.index.shape:
        raise InvalidValueError(
            f"zone_of_row/demand have shapes {zone.shape}/{pop.shape}; pass one per row "
            f"({result.index.shape[0]})"
        )
    value = result.index * per
    keep = (zone >= 0) & (zone < k) & (pop > 0)
    z, p, v = zone[keep], pop[keep], value[keep]
    population = np.bincount(z, weights=p, minlength=k)
    weighted = np.bincount(z, weights=p * v, minlength=k)
    mean = np.full(k, np.nan)
    np.divide(weighted, population, out=mean, where=population > 0)
    low = np.full(k, np.inf)
    high = np.full(k, -np.inf)
    np.minimum.at(low, z, v)
    np.maximum.at(high, z, v)
    seen = np.isfinite(low)
    return pd.DataFrame(
        {
            "zone": list(zone_names),
            "population": population,
            "access_mean": mean,
            "access_min": np.where(seen, low, np.nan),
            "access_max": np.where(seen, high, np.nan),
            "population_no_access": np.bincount(z, weights=p * (v == 0), minlength=k),
        }
    )


__all__ = [
    "DECAYS",
    "AccessResult",
    "access_by_zone",
    "decay_weights",
    "step_zones",
    "two_step_fca",
]
