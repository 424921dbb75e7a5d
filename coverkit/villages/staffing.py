"""Staffing needs and scale flags (Rules 3-5), one function per rule.

Village doctors per village and per township and township health centre
establishment (Rule 4, per 1,000 residents), a second township centre above
100,000 residents (Rule 3), and a tertiary-level county hospital above 800,000
(Rule 5). :func:`staffing_checks` checks the inputs and concatenates the rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from coverkit import settings
from coverkit.errors import InvalidValueError
from coverkit.io import column_of
from coverkit.villages.common import format_minutes, format_population, villages_labels

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

_RULE4 = "Rule 4"


def staff_needed(population: np.ndarray | float, per_1000: float) -> np.ndarray:
    """Staff for ``population`` at ``per_1000`` per 1,000 residents, rounded up.

    Parameters
    ----------
    population
        Residents (one number or an array).
    per_1000
        Staff per 1,000 residents.

    Returns
    -------
    numpy.ndarray
        int64 staff counts. The product is rounded to 9 decimals first, so
        1,000 × 1.5 ‰ is 1.5 → 2 but 2,000 × 1.5 ‰ stays 3.
    """
    return np.ceil(np.round(np.asarray(population, dtype="float64") * per_1000 / 1000.0, 9)).astype(
        "int64"
    )


def _ratio(lo: float, hi: float) -> tuple[str, str]:
    """The staff ratio for a message, English and Chinese."""
    return (
        f"{format_minutes(lo)}-{format_minutes(hi)} per 1,000",
        f"{format_minutes(lo)}—{format_minutes(hi)}‰",
    )


# --------------------------------------------------------------------------- one rule each


def village_doctor_rows(
    names: pd.Series, town: pd.Series, population: np.ndarray, lo: float, hi: float
) -> list[dict[str, Any]]:
    """Rule 4: village doctors of each village, ``lo``-``hi`` per 1,000 residents.

    Parameters
    ----------
    names, town
        Label and township of each village.
    population
        Residents of each village.
    lo, hi
        Staff per 1,000 residents, min and max.

    Returns
    -------
    list of dict
        One row per village (columns of :func:`staffing_checks`).
    """
    vmin, vmax = staff_needed(population, lo), staff_needed(population, hi)
    ratio_en, ratio_zh = _ratio(lo, hi)
    return [
        {
            "level": "village",
            "name": names.iloc[i],
            "township": town.iloc[i],
            "population": population[i],
            "check": "village_doctors",
            "check_zh": "乡村医生配备",
            "rule": _RULE4,
            "source": SOURCE_STAFF_RATIO,
            "required_min": int(vmin[i]),
            "required_max": int(vmax[i]),
            "threshold": np.nan,
            "flag": False,
            "message_en": (
                f"{format_population(population[i])} residents: {vmin[i]}-{vmax[i]} village "
                f"doctors ({ratio_en})"
            ),
            "message_zh": (
                f"常住人口{format_population(population[i])}人：需乡村医生{vmin[i]}—{vmax[i]}名"
                f"（{ratio_zh}）"
            ),
        }
        for i in range(len(population))
    ]


def _township_base(township: str, population: float) -> dict[str, Any]:
    """The columns every township row shares."""
    return {"level": "township", "name": township, "township": township, "population": population}


def township_doctor_row(
    township: str, population: float, village_population: np.ndarray, lo: float, hi: float
) -> dict[str, Any]:
    """Rule 4: village doctors of a township, the sum of its villages (each rounded up).

    Parameters
    ----------
    township
        Township name.
    population
        Residents of the township.
    village_population
        Residents of each of its villages.
    lo, hi
        Staff per 1,000 residents, min and max.

    Returns
    -------
    dict
        One row (columns of :func:`staffing_checks`).
    """
    n = len(village_population)
    dmin = int(staff_needed(village_population, lo).sum())
    dmax = int(staff_needed(village_population, hi).sum())
    return {
        **_township_base(township, population),
        "check": "village_doctors",
        "check_zh": "乡村医生配备（全乡镇合计）",
        "rule": _RULE4,
        "source": SOURCE_STAFF_RATIO,
        "required_min": dmin,
        "required_max": dmax,
        "threshold": np.nan,
        "flag": False,
        "message_en": (
            f"{n} villages: {dmin}-{dmax} village doctors in total (each village rounded up)"
        ),
        "message_zh": f"{n}个行政村合计需乡村医生{dmin}—{dmax}名（各村向上取整）",
    }


def centre_staff_row(township: str, population: float, lo: float, hi: float) -> dict[str, Any]:
    """Rule 4: township health centre establishment, ``lo``-``hi`` per 1,000 residents.

    Parameters
    ----------
    township
        Township name.
    population
        Residents of the township.
    lo, hi
        Staff per 1,000 residents, min and max.

    Returns
    -------
    dict
        One row (columns of :func:`staffing_checks`).
    """
    smin, smax = int(staff_needed(population, lo)), int(staff_needed(population, hi))
    ratio_en, ratio_zh = _ratio(lo, hi)
    pop = format_population(population)
    return {
        **_township_base(township, population),
        "check": "centre_staff",
        "check_zh": "乡镇卫生院人员编制",
        "rule": _RULE4,
        "source": SOURCE_STAFF_RATIO,
        "required_min": smin,
        "required_max": smax,
        "threshold": np.nan,
        "flag": False,
        "message_en": (
            f"{pop} residents: township health centre establishment {smin}-{smax} posts "
            f"({ratio_en}), at least 90% professional"
        ),
        "message_zh": (
            f"常住人口{pop}人：乡镇卫生院核定编制{smin}—{smax}名（{ratio_zh}），专业技术人员不低于90%"
        ),
    }


def second_centre_row(township: str, population: float, threshold: float) -> dict[str, Any]:
    """Rule 3: a township above ``threshold`` residents may add a second centre.

    Parameters
    ----------
    township
        Township name.
    population
        Residents of the township.
    threshold
        :data:`coverkit.settings.township_second_centre_population`.

    Returns
    -------
    dict
        One row (columns of :func:`staffing_checks`), flagged when over.
    """
    over = population > threshold
    pop, limit = format_population(population), format_population(threshold)
    return {
        **_township_base(township, population),
        "check": "second_centre",
        "check_zh": "增设乡镇卫生院",
        "rule": "Rule 3",
        "source": SOURCE_RULE3,
        "required_min": pd.NA,
        "required_max": pd.NA,
        "threshold": threshold,
        "flag": over,
        "message_en": (
            f"{pop} residents, over {limit}: a second township health centre may be added"
            if over
            else f"{pop} residents, not over {limit}: one centre"
        ),
        "message_zh": (
            f"常住人口{pop}人，超过{limit}人：可根据需要增设乡镇卫生院"
            if over
            else f"常住人口{pop}人，未超过{limit}人：设1所乡镇卫生院"
        ),
    }


def tertiary_hospital_row(county_name: str, population: float, threshold: float) -> dict[str, Any]:
    """Rule 5: above ``threshold`` residents the county hospital should be tertiary level.

    Parameters
    ----------
    county_name
        Name shown on the row.
    population
        Residents of the county.
    threshold
        :data:`coverkit.settings.county_tertiary_population`.

    Returns
    -------
    dict
        One row (columns of :func:`staffing_checks`), flagged when over.
    """
    over = population > threshold
    pop, limit = format_population(population), format_population(threshold)
    return {
        "level": "county",
        "name": county_name,
        "township": "",
        "population": population,
        "check": "tertiary_hospital",
        "check_zh": "县级医院达到三级医院服务水平",
        "rule": "Rule 5",
        "source": SOURCE_RULE5,
        "required_min": pd.NA,
        "required_max": pd.NA,
        "threshold": threshold,
        "flag": over,
        "message_en": (
            f"{pop} residents, over {limit}: the county hospital should reach tertiary (三级) "
            "service level"
            if over
            else f"{pop} residents, not over {limit}: at least one county hospital at "
            "secondary-A (二级甲等) level"
        ),
        "message_zh": (
            f"服务人口{pop}人，超过{limit}人：县级医院应达到三级医院服务水平"
            if over
            else f"服务人口{pop}人，未超过{limit}人：至少1所县级医院达到二级甲等水平"
        ),
    }


# --------------------------------------------------------------------------- inputs


def _staff_ratio(per_1000: tuple[float, float] | None) -> tuple[float, float]:
    """(min, max) staff per 1,000, checked; ``None`` reads the settings."""
    lo, hi = settings.staff_per_1000 if per_1000 is None else per_1000
    if not 0 <= lo <= hi:
        raise InvalidValueError(
            f"per_1000={(lo, hi)}: give (min, max) staff per 1,000 with 0 <= min <= max"
        )
    return lo, hi


def _village_population(villages: pd.DataFrame, cols: dict[str, str]) -> pd.Series:
    """The villages' populations as numbers, none missing or negative."""
    pop = pd.to_numeric(villages[cols["population"]], errors="coerce")
    if pop.isna().any() or (pop < 0).any():
        raise InvalidValueError(
            f"column '{cols['population']}' has missing or negative values; fill them "
            "(estimate_village_population) or correct them"
        )
    return pop


def _township_population(
    township_population: Mapping[Any, float] | pd.Series | None, town: pd.Series, pop: pd.Series
) -> pd.Series:
    """Residents per township, sorted by name: given, or summed over the villages."""
    if township_population is None:
        return pop.groupby(town.to_numpy(), sort=True).sum()
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
    return tpop.sort_index()


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
    lo, hi = _staff_ratio(per_1000)
    cols = {k: column_of(villages, k) for k in ("id", "name", "township", "population")}
    pop = _village_population(villages, cols)
    if not (county_population >= 0):
        raise InvalidValueError(
            f"county_population={county_population!r}: give the resident population (>= 0)"
        )
    town = villages[cols["township"]].astype(str)
    names = villages_labels(villages, cols)
    tpop = _township_population(township_population, town, pop)
    vp = pop.to_numpy(dtype="float64")
    rows = village_doctor_rows(names, town, vp, lo, hi)
    second = settings.township_second_centre_population
    for t, p in tpop.items():
        in_t = (town == t).to_numpy()
        rows.append(township_doctor_row(t, float(p), vp[in_t], lo, hi))
        rows.append(centre_staff_row(t, float(p), lo, hi))
        rows.append(second_centre_row(t, float(p), second))
    tertiary = settings.county_tertiary_population
    rows.append(tertiary_hospital_row(county_name, float(county_population), tertiary))
    out = pd.DataFrame(rows)
    out["required_min"] = out["required_min"].astype("Int64")
    out["required_max"] = out["required_max"].astype("Int64")
    return out
