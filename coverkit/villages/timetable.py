"""Weekly rotation-visit timetables (巡诊排班) of the township health centres.

The rule (000 §(一)): 定期巡诊医务人员原则上每周开展巡诊至少2次，每次至少半天，
巡诊时间要相对固定 — at least ``rotation_visits_per_week`` visits a week to each
rotation village, each a STAY of at least ``rotation_visit_min`` minutes at that one
village (the drive from the township centre and back comes on top), at fixed times.

Per centre, each village gets a half-day slot (morning or afternoon trip, leaving at
``rotation_slot_starts``) and the same slot on ``visits_per_week`` different
weekdays, spread over the week (Mon/Thu before Mon/Wed before Mon/Tue). A visit
starts when the team arrives (departure + the village's travel minutes) and ends
``rotation_visit_min`` later; the team is back one drive after that. The slot rule:

- an afternoon visit only where the team is back by ``rotation_day_end``; near
  villages may go either way and fill the afternoons as far as that saves a team;
- every other village is visited in the morning; a morning visit back after the
  afternoon departure takes that team's afternoon too (far villages, travel > 60
  min with the defaults); a visit back after ``rotation_day_end`` even in the
  morning is listed, flagged ``late``, and named in the shortfall row (such a
  village is better served by stationed staff, 派驻).

Teams: a team makes one visit per half-day slot. The timetable uses the fewest
teams that fit every visit: on each day, teams ≥ morning visits and teams ≥
afternoon visits + morning visits that take the afternoon; the days are balanced so
that the busiest day needs no more teams than the week's visits require. With the
centre's staff known, the teams × ``rotation_team_size`` are compared with the
share ``rotation_staff_share`` of its staff that it can spare.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from coverkit import settings
from coverkit.errors import InvalidValueError, MissingColumnError
from coverkit.io import column_of
from coverkit.villages.common import as_km, as_minutes, format_minutes, logger
from coverkit.vocab import ServiceMode, label

_WEEKDAY_KEYS = tuple(f"weekday.{d}" for d in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"))
_HALF_DAY_KEYS = ("half_day.AM", "half_day.PM")

#: Days of the week, Monday first, English and Chinese (:data:`coverkit.vocab.LABELS`);
#: rotation visits use the first :data:`coverkit.settings.rotation_workdays`.
WEEKDAYS: tuple[str, ...] = tuple(label(k, "en") for k in _WEEKDAY_KEYS)
WEEKDAYS_ZH: tuple[str, ...] = tuple(label(k, "zh") for k in _WEEKDAY_KEYS)
#: Half-day slots of a working day (morning and afternoon trips), English and Chinese.
HALF_DAYS: tuple[str, ...] = tuple(label(k, "en") for k in _HALF_DAY_KEYS)
HALF_DAYS_ZH: tuple[str, ...] = tuple(label(k, "zh") for k in _HALF_DAY_KEYS)

# Day-pattern search: nodes tried per spread level before the balancing rule.
_SEARCH_BUDGET = 5_000

# --------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class _Rules:
    """The visit rules of one timetable, read from settings when it is built."""

    stay: int  # whole minutes at the village (rotation_visit_min rounded up)
    k: int  # visits a week
    starts: tuple[int, int]  # departure of the morning / afternoon trip, minutes after 0:00
    day_end: int  # back at the centre by then, minutes after 0:00
    workdays: int
    team_size: int
    share: float  # share of a centre's staff it can spare


def parse_clock(text: Any, what: str) -> int:
    """Minutes after midnight of an ``"HH:MM"`` time.

    Parameters
    ----------
    text
        A time such as ``"08:00"``.
    what
        Name of the setting or column, for the error message.

    Returns
    -------
    int
        ``"14:30"`` → 870.

    Raises
    ------
    InvalidValueError
        Not an ``HH:MM`` time.
    """
    hh, sep, mm = str(text).partition(":")
    if not (sep and hh.isdigit() and mm.isdigit() and len(mm) == 2 and int(mm) < 60):
        raise InvalidValueError(f"{what}={text!r} is not a time; give it as HH:MM, e.g. '08:00'")
    return int(hh) * 60 + int(mm)


def format_clock(minutes: int) -> str:
    """``"HH:MM"`` of minutes after midnight (hours past 23 are kept: ``"25:10"``).

    Parameters
    ----------
    minutes
        Whole minutes after midnight.

    Returns
    -------
    str
        870 → ``"14:30"``.
    """
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _leg(travel: float) -> int:
    """Whole minutes of a drive (rounded up: a team cannot start before it arrives)."""
    return math.ceil(round(float(travel), 6))


def _rules(visit_min: float | None, visits_per_week: int | None) -> _Rules:
    """The visit rules from the arguments and settings, checked."""
    stay = float(settings.rotation_visit_min if visit_min is None else visit_min)
    k = int(settings.rotation_visits_per_week if visits_per_week is None else visits_per_week)
    days = int(settings.rotation_workdays)
    if not 1 <= days <= 7:
        raise InvalidValueError(f"rotation_workdays={days}: give 1 to 7 working days a week")
    if not 1 <= k <= days:
        raise InvalidValueError(
            f"visits_per_week={k}: visits fall on different days of the {days} working days, "
            f"so give 1 to {days} visits a week"
        )
    if not (math.isfinite(stay) and stay > 0):
        raise InvalidValueError(f"rotation_visit_min={stay}: give a stay of more than 0 minutes")
    am, pm = (parse_clock(t, "rotation_slot_starts") for t in settings.rotation_slot_starts)
    end = parse_clock(settings.rotation_day_end, "rotation_day_end")
    if not am < pm < end:
        raise InvalidValueError(
            f"rotation_slot_starts={tuple(settings.rotation_slot_starts)} and rotation_day_end="
            f"{settings.rotation_day_end!r}: give morning < afternoon departure < day end"
        )
    size, share = int(settings.rotation_team_size), float(settings.rotation_staff_share)
    if size < 1 or not 0 < share <= 1:
        raise InvalidValueError(
            f"rotation_team_size={size}, rotation_staff_share={share}: give a team of 1 or "
            "more and a share in (0, 1]"
        )
    return _Rules(math.ceil(round(stay, 6)), k, (am, pm), end, days, size, share)


def _back(rules: _Rules, half: int, travel: float) -> int:
    """When a team leaving at ``half``'s departure is back at the centre."""
    return rules.starts[half] + 2 * _leg(travel) + rules.stay


# --------------------------------------------------------------------------- one village


@dataclass(frozen=True)
class _Trip:
    """One rotation village's weekly visits: its slot and whether it takes the afternoon."""

    v: int  # row in the villages table
    travel: float  # minutes one way, centre <-> village
    half: int  # 0 morning, 1 afternoon
    blocks: bool  # a morning visit back after the afternoon departure

    @property
    def rows(self) -> tuple[int, ...]:
        """Load rows this trip uses on its days: 0 morning teams, 1 afternoon teams."""
        return (0, 1) if self.blocks else (self.half,)


def _kind(rules: _Rules, travel: float) -> str:
    """The slots open to a village: ``pm``, ``flex`` (either), ``am`` or ``block``.

    ``block``: a morning visit that takes the team's afternoon too.
    """
    pm_ok = _back(rules, 1, travel) <= rules.day_end
    blocks = _back(rules, 0, travel) > rules.starts[1]
    if pm_ok:
        return "pm" if blocks else "flex"
    return "block" if blocks else "am"


def _teams_lower(rules: _Rules, am: int, pm: int) -> int:
    """Fewest teams for ``am`` morning-load and ``pm`` afternoon-load villages a week."""
    w, k = rules.workdays, rules.k
    return max(-(-k * am // w), -(-k * pm // w))


def _trips(rules: _Rules, members: np.ndarray, d0: np.ndarray) -> list[_Trip]:
    """The trips of a centre's reachable villages, in placing order.

    Near villages (``flex``) fill the afternoons, nearest first, as far as that
    lowers the teams needed (the fewest afternoon visits among equal team counts).
    Order: mornings taking the afternoon, other mornings, afternoons; each by
    travel, farthest first.
    """
    kinds = {int(v): _kind(rules, d0[v]) for v in members}
    flex = sorted((v for v in kinds if kinds[v] == "flex"), key=lambda v: (d0[v], v))
    am0 = sum(kinds[v] in ("am", "block") for v in kinds)
    pm0 = sum(kinds[v] in ("pm", "block") for v in kinds)
    n_pm = min(
        range(len(flex) + 1),
        key=lambda n: (_teams_lower(rules, am0 + len(flex) - n, pm0 + n), n),
    )
    to_pm = set(flex[:n_pm])
    trips = [
        _Trip(v, float(d0[v]), int(kinds[v] == "pm" or v in to_pm), kinds[v] == "block")
        for v in kinds
    ]
    return sorted(trips, key=lambda t: (not t.blocks, t.half, -t.travel, t.v))


# --------------------------------------------------------------------------- days


def _min_gap(days: tuple[int, ...]) -> int:
    """Smallest gap in days between visits, the week wrapping round (Fri → Mon = 3)."""
    gaps = [b - a for a, b in itertools.pairwise(days)] + [7 - (days[-1] - days[0])]
    return min(gaps)


def _day_patterns(k: int, workdays: int) -> list[tuple[int, ...]]:
    """All sets of k distinct working days, the most evenly spread first."""
    combos = itertools.combinations(range(workdays), k)
    return sorted(combos, key=lambda c: (-_min_gap(c), c))


def _fits(loads: np.ndarray, trip: _Trip, days: tuple[int, ...], cap: int) -> bool:
    return all(loads[r, d] < cap for r in trip.rows for d in days)


def _add(loads: np.ndarray, trip: _Trip, days: tuple[int, ...], step: int) -> None:
    for r in trip.rows:
        for d in days:
            loads[r, d] += step


def _search_days(
    trips: list[_Trip], patterns: list[tuple[int, ...]], rules: _Rules, cap: int
) -> list[tuple[int, ...]] | None:
    """Depth-first: the first day patterns (in ``patterns`` order) within ``cap`` teams a day.

    ``None`` when there is none, or when the search takes more than
    ``_SEARCH_BUDGET`` steps.
    """
    loads = np.zeros((2, rules.workdays), dtype=int)
    pick = [-1] * len(trips)
    i, steps = 0, 0
    while 0 <= i < len(trips):
        j = pick[i] + 1
        if pick[i] >= 0:
            _add(loads, trips[i], patterns[pick[i]], -1)
        while j < len(patterns) and not _fits(loads, trips[i], patterns[j], cap):
            j += 1
        steps += 1
        if steps > _SEARCH_BUDGET:
            return None
        if j == len(patterns):
            pick[i] = -1
            i -= 1
            continue
        pick[i] = j
        _add(loads, trips[i], patterns[j], 1)
        i += 1
    return [patterns[p] for p in pick] if i == len(trips) else None


def _balanced_days(
    trips: list[_Trip], patterns: list[tuple[int, ...]], rules: _Rules
) -> list[tuple[int, ...]]:
    """Each trip on its k least-loaded days (the best spread among ties).

    Trips that take the afternoon come first, so each load row stays within one
    of its mean and the busiest day needs exactly the teams of
    :func:`_teams_lower`.
    """
    loads = np.zeros((2, rules.workdays), dtype=int)
    out = []
    for trip in trips:
        days = min(patterns, key=lambda p: sum(loads[r, d] for r in trip.rows for d in p))
        _add(loads, trip, days, 1)
        out.append(days)
    return out


def _place_days(trips: list[_Trip], rules: _Rules, cap: int) -> list[tuple[int, ...]]:
    """The weekdays of each trip: the widest spread that fits ``cap`` teams a day."""
    patterns = _day_patterns(rules.k, rules.workdays)
    for gap in sorted({_min_gap(p) for p in patterns}, reverse=True):
        found = _search_days(trips, [p for p in patterns if _min_gap(p) >= gap], rules, cap)
        if found is not None:
            return found
    return _balanced_days(trips, patterns, rules)


def _assign_teams(
    trips: list[_Trip], days: list[tuple[int, ...]], rules: _Rules
) -> tuple[list[dict[int, int]], int]:
    """The team (from 0) of each visit, the same team all week where one is free.

    Returns the teams by day of each trip and the number of teams used: on each
    day the larger of the morning and the afternoon loads.
    """
    loads = np.zeros((2, rules.workdays), dtype=int)
    for trip, ds in zip(trips, days, strict=True):
        _add(loads, trip, ds, 1)
    teams = int(loads.max()) if len(trips) else 0
    free = np.ones((teams, rules.workdays, 2), dtype=bool)
    out = []
    for trip, ds in zip(trips, days, strict=True):
        ok = [t for t in range(teams) if all(free[t, d, r] for d in ds for r in trip.rows)]
        chosen = {}
        for d in ds:
            day_ok = ok or [t for t in range(teams) if all(free[t, d, r] for r in trip.rows)]
            if not day_ok:  # pragma: no cover - the loads make room on every day
                raise RuntimeError("rotation timetable ran out of teams; this is a bug in coverkit")
            chosen[d] = day_ok[0]
            free[day_ok[0], d, list(trip.rows)] = False
        out.append(chosen)
    return out, teams


# --------------------------------------------------------------------------- per centre


@dataclass(frozen=True)
class _Inputs:
    """The checked inputs of one timetable: minutes and village fields."""

    d0: np.ndarray  # minutes village <-> own centre
    ids: np.ndarray
    lab: np.ndarray
    town: np.ndarray
    centres: np.ndarray
    rules: _Rules


@dataclass(frozen=True)
class _Centre:
    """One centre's trips, their days and teams."""

    key: str
    cid: Any
    tname: str
    members: np.ndarray  # rotation villages of the centre
    unreachable: np.ndarray  # those with no finite travel time (never scheduled)
    trips: list[_Trip]
    days: list[tuple[int, ...]]
    teams_by_day: list[dict[int, int]]
    teams: int  # fewest teams that fit every visit


def _inputs(
    villages: pd.DataFrame,
    centre_to_village_min: np.ndarray,
    visit_min: float | None,
    visits_per_week: int | None,
) -> _Inputs:
    """Check the arguments of :func:`rotation_timetable`; read the rules from settings."""
    rules = _rules(visit_min, visits_per_week)
    n = len(villages)
    d0 = as_minutes(centre_to_village_min, (n,), "centre_to_village_min")
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
    return _Inputs(d0, ids, lab, town, villages["centre_id"].to_numpy(), rules)


def _centre(ctx: _Inputs, key: str, members: np.ndarray) -> _Centre:
    """Slots, days and teams of one centre's rotation villages."""
    reach = np.isfinite(ctx.d0[members])
    trips = _trips(ctx.rules, members[reach], ctx.d0)
    am = sum(0 in t.rows for t in trips)
    pm = sum(1 in t.rows for t in trips)
    days = _place_days(trips, ctx.rules, _teams_lower(ctx.rules, am, pm))
    by_day, teams = _assign_teams(trips, days, ctx.rules)
    return _Centre(
        key,
        ctx.centres[members[0]],
        "、".join(dict.fromkeys(ctx.town[members])),
        members,
        members[~reach],
        trips,
        days,
        by_day,
        teams,
    )


def _visit_row(ctx: _Inputs, c: _Centre, trip: _Trip, day: int, team: int) -> dict[str, Any]:
    """One visit: who, when (depart, start, end, back) and whether the team is back late."""
    r, leg = ctx.rules, _leg(trip.travel)
    depart = r.starts[trip.half]
    start = depart + leg
    end = start + r.stay
    return {
        "village_id": ctx.ids[trip.v],
        "village": ctx.lab[trip.v],
        "township": ctx.town[trip.v],
        "team": team + 1,
        "weekday": WEEKDAYS[day],
        "start": format_clock(start),
        "end": format_clock(end),
        "minutes": float(end - start),
        "weekday_zh": WEEKDAYS_ZH[day],
        "half_day": HALF_DAYS[trip.half],
        "half_day_zh": HALF_DAYS_ZH[trip.half],
        "centre_id": c.cid,
        "travel_min": trip.travel,
        "depart": format_clock(depart),
        "back": format_clock(end + leg),
        "late": end + leg > r.day_end,
        "_v": trip.v,
        "_c": c.key,
        "_day": day,
        "_half": trip.half,
    }


def _timetable_rows(ctx: _Inputs, c: _Centre) -> list[dict[str, Any]]:
    """One row per visit of a centre's week."""
    rows = []
    for trip, days, teams in zip(c.trips, c.days, c.teams_by_day, strict=True):
        rows += [_visit_row(ctx, c, trip, d, teams[d]) for d in days]
    return rows


# --------------------------------------------------------------------------- shortfall


def _staff_of(centre_staff: Mapping[Any, float] | None, c: _Centre) -> float:
    """The centre's staff, NaN when unknown."""
    if centre_staff is None:
        return float("nan")
    value = centre_staff.get(c.cid, centre_staff.get(c.key))
    staff = float("nan") if value is None or pd.isna(value) else float(value)
    if staff < 0:
        raise InvalidValueError(
            f"centre_staff gives {staff:g} staff for centre {c.cid!r}; give 0 or more, or NaN "
            "when unknown"
        )
    return staff


def _too_far(ctx: _Inputs, c: _Centre) -> list[str]:
    """Villages never visited (no road) or whose visit is late even in the morning."""
    late = [t.v for t in c.trips if _back(ctx.rules, t.half, t.travel) > ctx.rules.day_end]
    return [str(ctx.lab[v]) for v in sorted([*c.unreachable.tolist(), *late])]


def _staff_check(c: _Centre, staff: float, rules: _Rules) -> tuple[str, float, float]:
    """(``enough`` | ``short`` | ``unknown``, staff the centre can spare, teams it can field)."""
    if not math.isfinite(staff):
        return "unknown", float("nan"), float("nan")
    spare = float(math.floor(round(staff * rules.share, 9)))
    teams = float(spare // rules.team_size)
    return ("enough" if c.teams <= teams else "short"), spare, teams


def _messages(ctx: _Inputs, c: _Centre, row: dict[str, Any]) -> tuple[str, str]:
    """What the centre's rotation visits take and whether it can spare the staff."""
    r = ctx.rules
    n, k, teams, need = len(c.trips), r.k, c.teams, row["staff_needed"]
    en = (
        f"{n} village(s) × {k} visits = {n * k} visits a week of at least "
        f"{format_minutes(r.stay)} min; {teams} team(s) of {r.team_size} ({need} staff)"
    )
    zh = (
        f"{n}个巡诊村×每周{k}次={n * k}次（每次至少{format_minutes(r.stay)}分钟）；"
        f"需{teams}个巡诊队（每队{r.team_size}人，共{need}人）"
    )
    share = f"{r.share:.0%}"
    if row["staff_check"] == "unknown":
        en += f"; centre staff unknown: check that it can spare {need} staff"
        zh += f"；卫生院人数未知，请核实能否抽调{need}人"
    else:
        staff, spare = format_minutes(row["centre_staff"]), format_minutes(row["staff_can_spare"])
        en += f"; centre staff {staff}, can spare {spare} ({share})"
        zh += f"；卫生院{staff}人，可抽调{spare}人（{share}）"
        if row["staff_check"] == "enough":
            en, zh = en + ": enough", zh + "：满足"
        else:
            short = format_minutes(row["teams_short"])
            en += f": NOT ENOUGH STAFF, {short} team(s) short"
            zh += f"：人员不足，缺{short}个巡诊队"
    if row["too_far"]:
        end = format_clock(r.day_end)
        en += (
            f"; {row['too_far']}: unreachable or back after {end} even in the morning, "
            "station staff there instead"
        )
        zh += f"；{row['too_far']}：无法到达或上午巡诊也晚于{end}返回，应改为派驻"
    return en, zh


def _shortfall_row(
    ctx: _Inputs, c: _Centre, centre_staff: Mapping[Any, float] | None
) -> dict[str, Any]:
    """The teams row of one centre; a warning when it falls short."""
    r = ctx.rules
    staff = _staff_of(centre_staff, c)
    check, spare, available = _staff_check(c, staff, r)
    row: dict[str, Any] = {
        "township": c.tname,
        "centre_id": c.cid,
        "rotation_villages": len(c.members),
        "visits": len(c.trips) * r.k,
        "afternoon_visits": sum(t.half for t in c.trips) * r.k,
        "teams_needed": c.teams,
        "team_size": r.team_size,
        "staff_needed": c.teams * r.team_size,
        "centre_staff": staff,
        "staff_can_spare": spare,
        "teams_available": available,
        "teams_short": max(0.0, c.teams - available) if check != "unknown" else float("nan"),
        "late_visits": r.k * sum(_back(r, t.half, t.travel) > r.day_end for t in c.trips),
        "too_far": "、".join(_too_far(ctx, c)),
        "staff_check": check,
    }
    row["message_en"], row["message_zh"] = _messages(ctx, c, row)
    if check == "short" or row["too_far"]:
        logger.warning("rotation visits, %s: %s", c.tname or c.key, row["message_en"])
    return row


TIMETABLE_COLUMNS: tuple[str, ...] = (
    "village_id",
    "village",
    "township",
    "team",
    "weekday",
    "start",
    "end",
    "minutes",
    "weekday_zh",
    "half_day",
    "half_day_zh",
    "centre_id",
    "travel_min",
    "depart",
    "back",
    "late",
)
"""Columns of the timetable: the eight of ``timetable.csv``'s contract first."""

SHORTFALL_COLUMNS: tuple[str, ...] = (
    "township",
    "centre_id",
    "rotation_villages",
    "visits",
    "afternoon_visits",
    "teams_needed",
    "team_size",
    "staff_needed",
    "centre_staff",
    "staff_can_spare",
    "teams_available",
    "teams_short",
    "late_visits",
    "too_far",
    "staff_check",
    "message_en",
    "message_zh",
)
"""Columns of the per-centre teams table (``rotation_shortfall``)."""


def _timetable_frame(rows: list[dict[str, Any]], km: np.ndarray | None) -> pd.DataFrame:
    """The timetable sorted by centre, team, day and half-day (no team booked twice); with
    ``km`` (per village) ``travel_km`` after ``travel_min``."""
    table = pd.DataFrame(rows, columns=[*TIMETABLE_COLUMNS, "_v", "_c", "_day", "_half"])
    table = table.sort_values(["_c", "team", "_day", "_half"], kind="stable")
    columns = list(TIMETABLE_COLUMNS)
    if km is not None:
        table["travel_km"] = km[table["_v"].to_numpy(dtype=np.int64)] if len(table) else []
        columns.insert(columns.index("travel_min") + 1, "travel_km")
    table = table[columns].reset_index(drop=True)
    table["team"] = table["team"].astype("int64")
    table["late"] = table["late"].astype(bool)
    for c in ("minutes", "travel_min", "travel_km"):
        if c in table:
            table[c] = table[c].astype("float64")
    check_no_double_booking(table)
    return table


def check_no_double_booking(timetable: pd.DataFrame) -> None:
    """Check the invariant that no team is at two places at once.

    A team belongs to one centre (teams count from 1 within a centre), so
    ``(centre_id, team, weekday, half_day)`` must be unique; and where the table
    has ``depart`` and ``back``, a team's trips on one day must not overlap (a
    morning visit back after the afternoon departure takes the afternoon).

    Parameters
    ----------
    timetable
        A timetable as :func:`rotation_timetable` returns it.

    Raises
    ------
    RuntimeError
        A team is booked twice at once (a bug, not a data error).
    """
    key = ["centre_id", "team", "weekday", "half_day"]
    frame = pd.DataFrame({k: timetable[k].astype(str) for k in key})
    twice = frame.duplicated(keep=False).to_numpy()
    if twice.any():
        first = timetable[twice].iloc[0]
        raise RuntimeError(
            f"rotation timetable books team {first['team']} of centre {first['centre_id']!r} "
            f"twice on {first['weekday']} {first['half_day']}; this is a bug in coverkit"
        )
    if not {"depart", "back"} <= set(timetable.columns):
        return
    frame["depart"] = [parse_clock(t, "depart") for t in timetable["depart"]]
    frame["back"] = [parse_clock(t, "back") for t in timetable["back"]]
    for (cid, team, day), trips in frame.groupby(key[:3], sort=False):
        trips = trips.sort_values("depart")
        overlap = trips["back"].to_numpy()[:-1] > trips["depart"].to_numpy()[1:]
        if overlap.any():
            raise RuntimeError(
                f"rotation timetable sends team {team} of centre {cid!r} out on {day} before "
                "it is back from the morning visit; this is a bug in coverkit"
            )


def rotation_timetable(
    villages: pd.DataFrame,
    *,
    centre_to_village_min: np.ndarray,
    centre_staff: Mapping[Any, float] | None = None,
    visit_min: float | None = None,
    visits_per_week: int | None = None,
    centre_to_village_km: np.ndarray | None = None,
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
        (taken as the same both ways; ``np.inf`` = unreachable).
    centre_staff
        Staff of each township centre (centre id → number, NaN unknown), e.g. the
        facilities' ``staff`` column; ``None``: unknown for every centre.
    visit_min
        Shortest stay of a visit at its village, minutes (travel on top);
        default :data:`coverkit.settings.rotation_visit_min` (000 §(一) 每次至少半天).
    visits_per_week
        Visits each village gets a week, on different days at the same time;
        default :data:`coverkit.settings.rotation_visits_per_week`.
    centre_to_village_km
        Length-n km of those trips, along the path of ``centre_to_village_min``
        (NaN = unreachable); given, the timetable has ``travel_km`` after
        ``travel_min``.

    Returns
    -------
    timetable : DataFrame
        One row per visit, :data:`TIMETABLE_COLUMNS`: ``village_id, village,
        township, team, weekday, start, end, minutes`` (``start``/``end``
        ``HH:MM`` at the village; ``minutes`` the stay, at least ``visit_min``),
        then ``weekday_zh, half_day, half_day_zh, centre_id, travel_min,``
        (``travel_km`` with ``centre_to_village_km``) ``depart, back, late``
        (``late``: the team is back after
        :data:`coverkit.settings.rotation_day_end`). ``team`` counts from 1
        within a centre. Sorted by centre, team, day and half-day.
    shortfall : DataFrame
        One row per centre, :data:`SHORTFALL_COLUMNS`: the visits a week, the
        fewest teams that fit them (``teams_needed``) and their staff, the
        centre's staff and the share it can spare
        (:data:`coverkit.settings.rotation_staff_share`, rounded down), the
        teams that share can field, ``teams_short``, ``staff_check``
        (``enough`` / ``short`` / ``unknown``), ``late_visits``, ``too_far``
        (villages unreachable, or back late even in the morning: station
        staff there instead) and the messages in English and Chinese.

    Raises
    ------
    InvalidValueError
        A matrix of the wrong shape, negative/NaN minutes, ``visits_per_week``
        outside 1 to ``rotation_workdays``, or a rotation setting that is not
        usable (times not ``HH:MM``, a team of 0, a share outside (0, 1]).

    Notes
    -----
    One visit serves one village (a half-day stay leaves no time for a second).
    The slot rule, the day spread and the team count are explained in the
    module docstring of :mod:`coverkit.villages.timetable`.
    """
    ctx = _inputs(villages, centre_to_village_min, visit_min, visits_per_week)
    km = None
    if centre_to_village_km is not None:
        km = as_km(centre_to_village_km, (len(villages),), "centre_to_village_km")
    rot = np.flatnonzero(villages["mode"].astype(str).to_numpy() == ServiceMode.ROTATION.value)
    rows: list[dict[str, Any]] = []
    short: list[dict[str, Any]] = []
    for key in sorted({str(ctx.centres[i]) for i in rot}):
        members = rot[[str(ctx.centres[i]) == key for i in rot]]
        centre = _centre(ctx, key, members)
        rows += _timetable_rows(ctx, centre)
        short.append(_shortfall_row(ctx, centre, centre_staff))
    return _timetable_frame(rows, km), pd.DataFrame(short, columns=list(SHORTFALL_COLUMNS))
