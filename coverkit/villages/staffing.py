"""Staffing needs and scale flags (Rules 3-5), one function per rule.

Village doctors per village and per township and township health centre
establishment (Rule 4, per 1,000 residents), a second township centre above
100,000 residents (Rule 3), and a tertiary-level county hospital above 800,000
(Rule 5). :func:`staffing_checks` checks the inputs and concatenates the rows.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import numpy as np
import pandas as pd

from coverkit import settings
from coverkit.errors import InvalidValueError
from coverkit.io import column_of
from coverkit.villages.common import format_minutes, format_population, villages_labels

#: Where each staffing / scale rule comes from (files in ``shared/policy``).
SOURCE_STAFF_RATIO = (
    "003_excerpt.md §4 (按照常住人口1—1.5‰核定镇卫生院人员编制), §5 (乡村医生按照常住人口1—1.5‰"
    "配备): a local norm (one Shandong district's 2024 plan), not in 000–002; the 90% "
    "professional share: 000_ba5da1a0f897df4c.txt §(十二), 001_fcdab3f6bf54638e.txt §16, "
    "002_caa3928cc8c22c13.txt §(五)"
)
SOURCE_RULE3 = (
    "001_fcdab3f6bf54638e.txt §1 (每个乡镇均设置1所乡镇卫生院，常住人口超过10万人的根据需要增设)"
)
SOURCE_RULE5 = (
    "000_ba5da1a0f897df4c.txt §(三) (力争实现服务人口超过80万的县级医院达到三级医院服务水平)"
)
SOURCE_STATIONED = (
    "000_ba5da1a0f897df4c.txt §(一) (村级派驻服务人员原则上每周在村卫生室工作时间不少于5日，"
    "在同一个行政村至少连续服务半年); posts per village: planning convention"
)
SOURCE_ROTATION = (
    "000_ba5da1a0f897df4c.txt §(一) (定期巡诊医务人员原则上每周开展巡诊至少2次，每次至少半天)"
)
SOURCE_JOINT = (
    "000_ba5da1a0f897df4c.txt §(一), 001_fcdab3f6bf54638e.txt §3 (邻（联）村延伸服务); the "
    "caps are planning conventions; staff 1—1.5‰: 003_excerpt.md §5 (local norm)"
)
SOURCE_FULL_ESTABLISHMENT = (
    "003_excerpt.md §4 (对建成县域医疗服务次中心或达到国家推荐标准的，在县域编制总量内，结合工作"
    "需要足额核定人员编制): a local norm"
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


# --------------------------------------------------------------------------- by service mode


def _centre_base(centre: str, townships: str, population: float) -> dict[str, Any]:
    """The columns every township-centre row shares (``name`` is the centre id)."""
    return {"level": "centre", "name": centre, "township": townships, "population": population}


def _by_centre(villages: pd.DataFrame, mode: str) -> list[tuple[str, pd.DataFrame]]:
    """The villages of one service mode grouped by serving centre id, sorted by id."""
    sel = villages[villages["mode"].astype(str) == mode]
    centre = sel["centre_id"].map(lambda c: "" if c is None or pd.isna(c) else str(c))
    return [(str(c), g) for c, g in sel.groupby(centre.to_numpy(), sort=True)]


def _townships(group: pd.DataFrame, township_col: str) -> str:
    return "、".join(sorted(set(group[township_col].astype(str))))


def stationed_post_rows(
    villages: pd.DataFrame, township_col: str, posts_per_village: float
) -> list[dict[str, Any]]:
    """Stationed posts (派驻) per township centre: stationed villages × posts per village.

    Parameters
    ----------
    villages
        Output of :func:`~coverkit.villages.assign_service_modes` (``mode``,
        ``centre_id``, ``population``).
    township_col
        The villages' township column.
    posts_per_village
        :data:`coverkit.settings.stationed_posts_per_village`.

    Returns
    -------
    list of dict
        One row per centre with stationed villages (columns of
        :func:`staffing_checks`); ``required_min`` = ``required_max`` = posts,
        rounded up. Villages whose township has no centre are grouped under an
        empty centre id.
    """
    rows = []
    for centre, g in _by_centre(villages, "stationed"):
        n, pop = len(g), float(g["population"].sum())
        posts = int(np.ceil(np.round(n * posts_per_village, 9)))
        who = centre or "无乡镇卫生院 no centre"
        per = format_minutes(posts_per_village)
        rows.append(
            {
                **_centre_base(who, _townships(g, township_col), pop),
                "check": "stationed_posts",
                "check_zh": "派驻人员岗位",
                "rule": "Rule 2",
                "source": SOURCE_STATIONED,
                "required_min": posts,
                "required_max": posts,
                "threshold": posts_per_village,
                "flag": False,
                "message_en": (
                    f"{n} stationed villages ({format_population(pop)} residents) × {per} post: "
                    f"{posts} staff stationed at least 5 days a week, at least half a year each"
                ),
                "message_zh": (
                    f"派驻村{n}个（常住人口{format_population(pop)}人）× 每村{per}岗：需派驻人员"
                    f"{posts}名，每周在村不少于5日、在同一行政村至少连续服务半年"
                ),
            }
        )
    return rows


def rotation_half_day_rows(
    villages: pd.DataFrame, township_col: str, visits_per_week: int
) -> list[dict[str, Any]]:
    """Rotation half-days a week per township centre: rotation villages × visits a week.

    Parameters
    ----------
    villages
        Output of :func:`~coverkit.villages.assign_service_modes`.
    township_col
        The villages' township column.
    visits_per_week
        :data:`coverkit.settings.rotation_visits_per_week`.

    Returns
    -------
    list of dict
        One row per centre with rotation villages; ``required_min`` =
        ``required_max`` = half-day visits a week (each visit stays at least a
        half day; the timetable turns them into teams).
    """
    rows = []
    for centre, g in _by_centre(villages, "rotation"):
        n, pop = len(g), float(g["population"].sum())
        half_days = n * int(visits_per_week)
        rows.append(
            {
                **_centre_base(centre, _townships(g, township_col), pop),
                "check": "rotation_half_days",
                "check_zh": "巡诊半天数（每周）",
                "rule": "Rule 2",
                "source": SOURCE_ROTATION,
                "required_min": half_days,
                "required_max": half_days,
                "threshold": float(visits_per_week),
                "flag": False,
                "message_en": (
                    f"{n} rotation villages × {visits_per_week} visits: {half_days} half-day "
                    "visits a week (each at least a half day in the village, travel on top)"
                ),
                "message_zh": (
                    f"巡诊村{n}个 × 每周{visits_per_week}次：每周巡诊{half_days}个半天"
                    "（每次在村至少半天，路程另计）"
                ),
            }
        )
    return rows


def joint_host_rows(
    villages: pd.DataFrame, township_col: str, lo: float, hi: float
) -> list[dict[str, Any]]:
    """Extra load on each host clinic of joint service: its guests' people and doctors.

    Parameters
    ----------
    villages
        Output of :func:`~coverkit.villages.assign_service_modes` (``mode``,
        ``serving_facility``, ``host_load_villages``, ``host_load_population``).
    township_col
        The villages' township column.
    lo, hi
        Village doctors per 1,000 residents, min and max.

    Returns
    -------
    list of dict
        One row per host clinic with guests (level ``host``; ``population``
        = people it serves, its own village included); ``required_min``/
        ``required_max`` = the guests' village doctors, who work from the host.
    """
    joint = villages[villages["mode"].astype(str) == "joint"]
    guest_pop = joint.groupby(joint["serving_facility"].astype(str))["population"].sum()
    ids = villages[column_of(villages, "id")].astype(str)
    rows = []
    for i in np.flatnonzero(ids.isin(guest_pop.index).to_numpy()):
        v = villages.iloc[i]
        g = float(guest_pop[ids.iloc[i]])
        k, load = int(v["host_load_villages"]), float(v["host_load_population"])
        dmin, dmax = int(staff_needed(g, lo)), int(staff_needed(g, hi))
        rows.append(
            {
                "level": "host",
                "name": str(v["label"]),
                "township": str(v[township_col]),
                "population": load,
                "check": "joint_host_load",
                "check_zh": "邻（联）村延伸服务负荷",
                "rule": "Rule 2",
                "source": SOURCE_JOINT,
                "required_min": dmin,
                "required_max": dmax,
                "threshold": np.nan,
                "flag": False,
                "message_en": (
                    f"hosts {k} guest villages, {format_population(g)} guest residents "
                    f"({format_population(load)} served in all): {dmin}-{dmax} village doctors "
                    "for the guests work from this clinic"
                ),
                "message_zh": (
                    f"承担{k}个邻村、{format_population(g)}人的延伸服务（共服务"
                    f"{format_population(load)}人）：邻村所需乡村医生{dmin}—{dmax}名由本卫生室承担"
                ),
            }
        )
    return rows


def full_establishment_row(township: str, population: float) -> dict[str, Any]:
    """A sub-centre's township centre gets its full establishment (足额核定, 003 §4).

    Parameters
    ----------
    township
        Township of the sub-centre.
    population
        Residents of the township.

    Returns
    -------
    dict
        One row (columns of :func:`staffing_checks`), flagged: a note, no count.
    """
    return {
        **_township_base(township, population),
        "check": "full_establishment",
        "check_zh": "次中心足额核定人员编制",
        "rule": _RULE4,
        "source": SOURCE_FULL_ESTABLISHMENT,
        "required_min": pd.NA,
        "required_max": pd.NA,
        "threshold": np.nan,
        "flag": True,
        "message_en": (
            "county medical sub-centre: full establishment (足额核定人员编制) within the "
            "county's total, beyond the 1-1.5 per 1,000 norm as the work needs"
        ),
        "message_zh": "建成县域医疗卫生次中心：在县域编制总量内，结合工作需要足额核定人员编制",
    }


def mode_rows(
    villages: pd.DataFrame, township_col: str, lo: float, hi: float
) -> list[dict[str, Any]]:
    """Staffing by service mode: stationed posts, rotation half-days, host load.

    Parameters
    ----------
    villages
        Output of :func:`~coverkit.villages.assign_service_modes`.
    township_col
        The villages' township column.
    lo, hi
        Village doctors per 1,000 residents, min and max.

    Returns
    -------
    list of dict
        The rows of :func:`stationed_post_rows`, :func:`rotation_half_day_rows`
        and :func:`joint_host_rows`, with the settings read now.
    """
    return [
        *stationed_post_rows(villages, township_col, settings.stationed_posts_per_village),
        *rotation_half_day_rows(villages, township_col, settings.rotation_visits_per_week),
        *joint_host_rows(villages, township_col, lo, hi),
    ]


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
    subcentre_townships: Collection[str] = (),
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
    subcentre_townships
        Townships whose centre becomes a county medical sub-centre: each gets a
        ``full_establishment`` row (足额核定人员编制, 003 §4).

    Returns
    -------
    DataFrame
        ``level`` (village/host/centre/township/county), ``name``, ``township``,
        ``population``, ``check``, ``check_zh``, ``rule``, ``source``,
        ``required_min``, ``required_max`` (staff, rounded up; NA for flags),
        ``threshold``, ``flag`` (True when a Rule 3/5 limit is exceeded),
        ``message_en``, ``message_zh``. Rows: village doctors per village;
        per township village doctors, centre staff and the Rule 3
        second-centre check (and a full-establishment note for a sub-centre's
        township); when ``villages`` has service modes (a ``mode`` column), per
        township centre the stationed posts (``stationed_posts``) and rotation
        half-days a week (``rotation_half_days``), and per host clinic its joint
        load (``joint_host_load``); one county Rule 5 row.

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
        if t in set(map(str, subcentre_townships)):
            rows.append(full_establishment_row(t, float(p)))
    if "mode" in villages.columns:
        rows += mode_rows(villages, cols["township"], lo, hi)
    tertiary = settings.county_tertiary_population
    rows.append(tertiary_hospital_row(county_name, float(county_population), tertiary))
    out = pd.DataFrame(rows)
    out["required_min"] = out["required_min"].astype("Int64")
    out["required_max"] = out["required_max"].astype("Int64")
    return out
