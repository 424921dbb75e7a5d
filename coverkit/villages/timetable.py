"""Weekly rotation-visit timetables (巡诊排班) of the township health centres.

Per centre: build half-day trips (Clarke-Wright savings), place each trip on
``visits_per_week`` different days without double-booking a team, format one
row per scheduled half-day, and say whether the teams are enough.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from coverkit import settings
from coverkit.errors import InvalidValueError, MissingColumnError
from coverkit.io import column_of
from coverkit.villages.common import as_minutes, format_minutes, logger
from coverkit.vocab import ServiceMode, label

_WEEKDAY_KEYS = ("weekday.Mon", "weekday.Tue", "weekday.Wed", "weekday.Thu", "weekday.Fri")
_HALF_DAY_KEYS = ("half_day.AM", "half_day.PM")

#: Working days of a rotation team, English and Chinese (:data:`coverkit.vocab.LABELS`).
WEEKDAYS: tuple[str, ...] = tuple(label(k, "en") for k in _WEEKDAY_KEYS)
WEEKDAYS_ZH: tuple[str, ...] = tuple(label(k, "zh") for k in _WEEKDAY_KEYS)
#: Half-day slots of a working day, English and Chinese.
HALF_DAYS: tuple[str, ...] = tuple(label(k, "en") for k in _HALF_DAY_KEYS)
HALF_DAYS_ZH: tuple[str, ...] = tuple(label(k, "zh") for k in _HALF_DAY_KEYS)

#: A team's slots: (team, weekday, half-day) positions.
Slot = tuple[int, int, int]

# --------------------------------------------------------------------------- trips


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


# --------------------------------------------------------------------------- slots


def _day_patterns(k: int) -> list[tuple[int, ...]]:
    """k distinct weekdays, evenly spread patterns first."""
    combos = list(itertools.combinations(range(5), k))

    def spread(c: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
        # smallest gap between visits, the week wrapping round (Fri -> Mon = 3 days)
        gaps = [b - a for a, b in itertools.pairwise(c)] + [7 - (c[-1] - c[0])]
        return (-min(gaps), c)

    return sorted(combos, key=spread)


def _first_fixed_slots(
    free: np.ndarray, patterns: list[tuple[int, ...]], teams: int
) -> list[Slot] | None:
    """The first pattern, half-day and team (in that order) with all its slots free."""
    for pat in patterns:
        for half in range(2):
            for team in range(teams):
                if all(free[team, d, half] for d in pat):
                    return [(team, d, half) for d in pat]
    return None


def _schedule_fixed(n_trips: int, teams: int, k: int) -> list[list[Slot]]:
    """Each trip by one team at one half-day on evenly spread days, while one fits."""
    patterns = _day_patterns(k)
    free = np.ones((teams, 5, 2), dtype=bool)
    plan: list[list[Slot]] = []
    for _ in range(n_trips):
        found = _first_fixed_slots(free, patterns, teams)
        if found is None:
            break
        for t, d, h in found:
            free[t, d, h] = False
        plan.append(found)
    return plan


def _schedule_greedy(n_trips: int, teams: int, k: int) -> list[list[Slot]]:
    """Each trip on the k days with the most free slots, while k such days remain."""
    free = np.ones((teams, 5, 2), dtype=bool)
    plan: list[list[Slot]] = []
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


def _schedule(n_trips: int, teams: int, k: int) -> list[list[Slot]]:
    """(team, day, half) slots for each trip: k distinct days, no double booking.

    First tries fixed patterns (same team and half-day on evenly spread
    days); if a trip does not fit, restarts with the capacity-greedy rule
    (each trip on the k days with the most free slots), which places as
    many trips as any assignment can. Returns the slots of the trips placed
    (fewer than ``n_trips`` when the teams are not enough).
    """
    plan = _schedule_fixed(n_trips, teams, k)
    if len(plan) == n_trips:
        return plan
    return _schedule_greedy(n_trips, teams, k)


def _teams_needed(n_trips: int, teams: int, k: int, n_placed: int) -> int:
    """Fewest teams that place all ``n_trips`` (``teams`` when they already do)."""
    need = teams
    if n_placed < n_trips:
        need = teams + 1
        while len(_schedule(n_trips, need, k)) < n_trips:
            need += 1
    return need


# --------------------------------------------------------------------------- per centre


@dataclass(frozen=True)
class _Rotation:
    """The checked inputs of one timetable: minutes, village fields and limits."""

    d0: np.ndarray  # minutes village <-> own centre
    D: np.ndarray  # minutes village -> village
    ids: np.ndarray
    lab: np.ndarray
    town: np.ndarray
    centres: np.ndarray
    half: float  # minutes in a half-day slot
    k: int  # visits per week
    service_min: float  # minutes spent in each village


@dataclass(frozen=True)
class _CentreTrips:
    """One centre's trips and their slots."""

    key: str
    cid: Any
    tname: str
    members: np.ndarray  # rotation villages of the centre
    far: np.ndarray  # those whose round trip alone exceeds the half day
    trips: list[list[int]]
    placed: list[list[Slot]]  # slots of the first len(placed) trips
    teams: int
    need: int  # teams that would place every trip


def _rotation_inputs(
    villages: pd.DataFrame,
    centre_to_village_min: np.ndarray,
    village_to_village_min: np.ndarray,
    half_day_min: float | None,
    service_min: float | None,
    visits_per_week: int | None,
) -> _Rotation:
    """Check the arguments of :func:`rotation_timetable`; read defaults from settings."""
    half = settings.half_day_min if half_day_min is None else float(half_day_min)
    k = settings.rotation_visits_per_week if visits_per_week is None else int(visits_per_week)
    service = float(settings.rotation_service_min if service_min is None else service_min)
    if not 1 <= k <= 5:
        raise InvalidValueError(
            f"visits_per_week={k}: a team has 5 working days, so give 1 to 5 visits a week"
        )
    n = len(villages)
    d0 = as_minutes(centre_to_village_min, (n,), "centre_to_village_min")
    D = as_minutes(village_to_village_min, (n, n), "village_to_village_min")
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
    centres = villages["centre_id"].to_numpy()
    return _Rotation(d0, D, ids, lab, town, centres, half, k, service)


def _teams_for(teams_per_centre: int | Mapping[Any, int], cid: Any, key: str) -> int:
    """Rotation teams of centre ``cid`` (``key`` is its id as str; missing → 1)."""
    if isinstance(teams_per_centre, Mapping):
        teams = int(teams_per_centre.get(cid, teams_per_centre.get(key, 1)))
    else:
        teams = int(teams_per_centre)
    if teams < 0:
        raise InvalidValueError(
            f"teams_per_centre gives {teams} teams for centre {cid!r}; give 0 or more"
        )
    return teams


def _centre_trips(
    ctx: _Rotation, key: str, members: np.ndarray, teams_per_centre: int | Mapping[Any, int]
) -> _CentreTrips:
    """Build the trips of one centre and place them in its teams' week."""
    cid = ctx.centres[members[0]]
    tname = "、".join(dict.fromkeys(ctx.town[members]))
    teams = _teams_for(teams_per_centre, cid, key)
    alone = 2 * ctx.d0[members] + ctx.service_min
    far = members[~(alone <= ctx.half)]
    ok = members[alone <= ctx.half]
    trips = _savings_routes(ok, ctx.d0, ctx.D, service_min=ctx.service_min, limit_min=ctx.half)
    placed = _schedule(len(trips), teams, ctx.k)
    need = _teams_needed(len(trips), teams, ctx.k, len(placed))
    return _CentreTrips(key, cid, tname, members, far, trips, placed, teams, need)


def _timetable_rows(ctx: _Rotation, c: _CentreTrips) -> list[dict[str, Any]]:
    """One row per scheduled half-day of a centre, by trip then day, half-day, team."""
    rows = []
    for t, (route, slots) in enumerate(zip(c.trips, c.placed, strict=False), start=1):
        drive = _route_cost(route, ctx.d0, ctx.D)
        for team, day, h in sorted(slots, key=lambda s: (s[1], s[2], s[0])):
            rows.append(
                {
                    "township": c.tname,
                    "centre_id": c.cid,
                    "team": team + 1,
                    "weekday": WEEKDAYS[day],
                    "weekday_zh": WEEKDAYS_ZH[day],
                    "half_day": HALF_DAYS[h],
                    "half_day_zh": HALF_DAYS_ZH[h],
                    "trip": t,
                    "villages": " → ".join(ctx.lab[route]),
                    "village_ids": " → ".join(str(ctx.ids[v]) for v in route),
                    "drive_min": drive,
                    "service_min": ctx.service_min * len(route),
                    "total_min": drive + ctx.service_min * len(route),
                    "_day": day,
                    "_half": h,
                }
            )
    return rows


def _shortfall_messages(ctx: _Rotation, c: _CentreTrips) -> tuple[str, str]:
    """Whether a centre's teams are enough (and who is too far), in English and Chinese."""
    n, k, teams = len(c.trips), ctx.k, c.teams
    unscheduled = n - len(c.placed)
    msg_en = (
        f"{n} trips × {k} visits = {n * k} half-day slots needed, "
        f"{teams * 10} available with {teams} team(s)"
    )
    msg_zh = f"需{n}条巡诊线路×每周{k}次={n * k}个半天，{teams}个巡诊队可提供{teams * 10}个半天"
    if unscheduled == 0:
        msg_en += ": enough"
        msg_zh += "：满足"
    else:
        add = c.need - teams
        msg_en += f": NOT ENOUGH TEAMS, {unscheduled} trip(s) unscheduled; add {add} team(s)"
        msg_zh += f"：巡诊队不足，{unscheduled}条线路无法排班，需增加{add}个巡诊队"
    if len(c.far):
        far_names, half = "、".join(ctx.lab[c.far]), format_minutes(ctx.half)
        msg_en += (
            f"; round trip alone exceeds the {half} min half day for {far_names}: "
            "station staff there instead"
        )
        msg_zh += f"；{far_names}往返车程加服务时间已超过半天（{half}分钟），应改为派驻"
    return msg_en, msg_zh


def _shortfall_row(ctx: _Rotation, c: _CentreTrips) -> dict[str, Any]:
    """The shortfall row of one centre; a warning when it falls short."""
    unscheduled = len(c.trips) - len(c.placed)
    msg_en, msg_zh = _shortfall_messages(ctx, c)
    if unscheduled or len(c.far):
        logger.warning("rotation visits, %s: %s", c.tname or c.key, msg_en)
    return {
        "township": c.tname,
        "centre_id": c.cid,
        "rotation_villages": len(c.members),
        "trips": len(c.trips),
        "slots_needed": len(c.trips) * ctx.k,
        "teams": c.teams,
        "slots_available": c.teams * 10,
        "trips_unscheduled": unscheduled,
        "unscheduled_villages": "、".join(" → ".join(ctx.lab[r]) for r in c.trips[len(c.placed) :]),
        "teams_needed": c.need - c.teams,
        "too_far": "、".join(ctx.lab[c.far]),
        "enough": unscheduled == 0 and not len(c.far),
        "message_en": msg_en,
        "message_zh": msg_zh,
    }


_TIMETABLE_COLUMNS = [
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

_SHORTFALL_COLUMNS = [
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


def _timetable_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The timetable sorted by centre, team, day and half-day (no team booked twice)."""
    table = pd.DataFrame(rows, columns=[*_TIMETABLE_COLUMNS, "_day", "_half"])
    if len(table):
        table["_c"] = table["centre_id"].astype(str)
        table = table.sort_values(["_c", "team", "_day", "_half"], kind="stable")
        check_no_double_booking(table)
    return table[_TIMETABLE_COLUMNS].reset_index(drop=True)


def check_no_double_booking(timetable: pd.DataFrame) -> None:
    """Check the invariant that no team is at two places on one half-day.

    A team belongs to one centre (teams count from 1 within a centre), so
    ``(centre_id, team, weekday, half_day)`` must be unique.

    Parameters
    ----------
    timetable
        A timetable as :func:`rotation_timetable` returns it.

    Raises
    ------
    RuntimeError
        A team is booked twice on one half-day (a bug, not a data error).
    """
    key = [
        timetable["centre_id"].astype(str),
        timetable["team"],
        timetable["weekday"],
        timetable["half_day"],
    ]
    twice = pd.DataFrame(dict(enumerate(key))).duplicated(keep=False).to_numpy()
    if twice.any():
        first = timetable[twice].iloc[0]
        raise RuntimeError(
            f"rotation timetable books team {first['team']} of centre {first['centre_id']!r} "
            f"twice on {first['weekday']} {first['half_day']}; this is a bug in coverkit"
        )


def rotation_timetable(
    villages: pd.DataFrame,
    *,
    centre_to_village_min: np.ndarray,
    village_to_village_min: np.ndarray,
    teams_per_centre: int | Mapping[Any, int] = 1,
    half_day_min: float | None = None,
    service_min: float | None = None,
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
        Time spent in each village of a trip; default
        :data:`coverkit.settings.rotation_service_min`.
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
    ctx = _rotation_inputs(
        villages,
        centre_to_village_min,
        village_to_village_min,
        half_day_min,
        service_min,
        visits_per_week,
    )
    rot = np.flatnonzero(villages["mode"].astype(str).to_numpy() == ServiceMode.ROTATION.value)
    rows: list[dict[str, Any]] = []
    short: list[dict[str, Any]] = []
    for key in sorted({str(ctx.centres[i]) for i in rot}):
        members = rot[[str(ctx.centres[i]) == key for i in rot]]
        centre = _centre_trips(ctx, key, members, teams_per_centre)
        rows += _timetable_rows(ctx, centre)
        short.append(_shortfall_row(ctx, centre))
    return _timetable_frame(rows), pd.DataFrame(short, columns=_SHORTFALL_COLUMNS)
