"""Rule 1 eligibility: do the county's four indicators call for sub-centres?"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from coverkit import settings
from coverkit.errors import InvalidValueError

if TYPE_CHECKING:
    import pandas as pd

#: The four indicators: key, Chinese policy term, unit.
_INDICATORS: tuple[tuple[str, str, str], ...] = (
    ("population", "常住人口", "persons"),
    ("area_km2", "区域面积", "km2"),
    ("seat_offset_ratio", "县城不在县域中心", "ratio"),
    ("share_beyond_threshold", "县级医院服务覆盖能力不足", "share"),
)

#: Where the indicators come from (policy) and what their numbers are (conventions: the
#: texts name the indicators but give no number).
INDICATOR_SOURCE: str = "policy 000 §(一)"
THRESHOLD_KIND: str = "convention"

#: The two ways the indicators combine, with the text each reads: ``any`` (one indicator
#: is enough: 000 §(一) lists them as alternatives) or ``all`` (every indicator must
#: pass: Tianjin's reading for its agricultural districts, 001 §2).
ELIGIBILITY_RULES: dict[str, str] = {"any": "any (000 §(一))", "all": "all (001 §2)"}


def eligibility(
    *,
    population: float,
    area_km2: float,
    seat_offset_ratio: float,
    share_beyond_threshold: float,
    thresholds: dict[str, float] | None = None,
    rule: str | None = None,
) -> pd.DataFrame:
    """Does the county call for sub-centres? The four Rule 1 indicators.

    The policy (000 §(一); 001 §2) names the indicators - a large resident
    population (常住人口较多), a large area (区域面积较大), a county seat not at
    the county's centre (县城不在县域中心), weak coverage by the county
    hospital (县级医院服务覆盖能力不足) - but gives no numbers. The default
    thresholds in :data:`coverkit.settings.eligibility_thresholds` (read when
    the function runs) are planning conventions:
    population >= 500,000, area >= 2,000 km², seat offset ratio >= 0.5 and
    share of the population beyond the threshold >= 20 %. Override any of
    them with ``thresholds``.

    Parameters
    ----------
    population
        Resident population of the county, persons.
    area_km2
        County area, km².
    seat_offset_ratio
        Distance from the county seat to the population-weighted centroid,
        divided by the radius of a circle with the county's area.
    share_beyond_threshold
        Share (0-1) of the population beyond the travel-time threshold from
        the existing county hospitals.
    thresholds
        Overrides, keyed ``population``, ``area_km2``, ``seat_offset_ratio``,
        ``share_beyond_threshold``.
    rule
        ``'any'``: eligible if one indicator passes (000 §(一) lists them
        as alternatives); ``'all'``: every indicator must pass (Tianjin's
        reading, 001 §2). ``None``: :data:`coverkit.settings.eligibility_rule`.

    Returns
    -------
    DataFrame
        ``indicator, indicator_zh, value, threshold, unit, passes, indicator_source``
        (``'policy 000 §(一)'``), ``threshold_kind`` (``'convention'``: the texts give
        no number) and ``eligibility_rule`` (the rule used and its source, e.g.
        ``'any (000 §(一))'``); the decision is in
        ``.attrs['eligible']`` and ``.attrs['rule']`` (``'any'``/``'all'``).

    Raises
    ------
    InvalidValueError
        For negative or NaN values or thresholds, unknown threshold keys or a bad rule.
    """
    import pandas as pd

    if rule is None:
        rule = settings.eligibility_rule
    if rule not in ELIGIBILITY_RULES:
        raise InvalidValueError(f"rule={rule!r} is unknown; use 'any' or 'all'")
    limits = dict(settings.eligibility_thresholds)
    if thresholds:
        unknown = sorted(set(thresholds) - set(limits))
        if unknown:
            raise InvalidValueError(
                f"unknown eligibility threshold(s) {', '.join(unknown)}; use {', '.join(limits)}"
            )
        limits.update({key: float(v) for key, v in thresholds.items()})
    bad = [f"{k}={v!r}" for k, v in limits.items() if not np.isfinite(v) or v < 0]
    if bad:
        raise InvalidValueError(
            f"eligibility threshold(s) {', '.join(bad)} must be finite numbers >= 0"
        )
    values = {
        "population": population,
        "area_km2": area_km2,
        "seat_offset_ratio": seat_offset_ratio,
        "share_beyond_threshold": share_beyond_threshold,
    }
    for key, v in values.items():
        if v is None or not np.isfinite(float(v)) or float(v) < 0:
            raise InvalidValueError(f"{key}={v!r} must be a finite number >= 0")
    if float(share_beyond_threshold) > 1:
        raise InvalidValueError(
            f"share_beyond_threshold={share_beyond_threshold} is a share; pass a value in [0, 1]"
        )
    rows = [
        {
            "indicator": key,
            "indicator_zh": zh,
            "value": float(values[key]),
            "threshold": limits[key],
            "unit": unit,
            "passes": bool(float(values[key]) >= limits[key]),
            "indicator_source": INDICATOR_SOURCE,
            "threshold_kind": THRESHOLD_KIND,
            "eligibility_rule": ELIGIBILITY_RULES[rule],
        }
        for key, zh, unit in _INDICATORS
    ]
    table = pd.DataFrame(rows)
    decide = any if rule == "any" else all
    table.attrs["eligible"] = bool(decide(table["passes"]))
    table.attrs["rule"] = rule
    return table
