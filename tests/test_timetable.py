"""Tests for coverkit.villages.timetable: rotation visits (巡诊排班), 000 §(一).

每周开展巡诊至少2次，每次至少半天，巡诊时间要相对固定: each visit is a STAY of at least
``rotation_visit_min`` (240) minutes at one village, the drive on top; at least 2 visits a
week on different days at the same half-day slot. With the default settings a morning trip
leaves at 08:00, an afternoon trip at 14:00, and a team should be back by 19:00:

- afternoon possible iff 14:00 + 2·travel + 240 ≤ 19:00, i.e. travel ≤ 30 min;
- a morning visit takes the afternoon too iff 08:00 + 2·travel + 240 > 14:00, i.e. travel > 60;
- a morning visit is late iff 08:00 + 2·travel + 240 > 19:00, i.e. travel > 210.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from coverkit import settings as ck_settings
from coverkit.errors import InvalidValueError
from coverkit.villages import WEEKDAYS, WEEKDAYS_ZH, rotation_timetable
from coverkit.villages.timetable import (
    SHORTFALL_COLUMNS,
    TIMETABLE_COLUMNS,
    check_no_double_booking,
    format_clock,
    parse_clock,
)

INF = np.inf


def rotation_villages(minutes, names=None, centres=None, modes=None) -> pd.DataFrame:
    """A villages table as assign_service_modes returns it (the columns the timetable reads)."""
    n = len(minutes)
    return pd.DataFrame(
        {
            "id": [f"V{i + 1}" for i in range(n)],
            "name": names or [f"村{i + 1}" for i in range(n)],
            "township": "甲镇",
            "mode": modes or ["rotation"] * n,
            "centre_id": centres or ["C1"] * n,
        }
    )


def minutes_of(clock: str) -> int:
    hh, mm = clock.split(":")
    return int(hh) * 60 + int(mm)


# --------------------------------------------------------------------------- hand-checked


def test_three_villages_one_centre_exact():
    # 近村 20 min, 中村 45 min, 远村 100 min from centre C1; 2 visits a week, 240 min stay.
    # 远村: morning only (afternoon back 14:00+200+240 = 21:20); back from a morning visit at
    #   08:00+200+240 = 15:20, after the 14:00 departure: it takes the team's afternoon too.
    # 中村: afternoon back 14:00+90+240 = 19:30 > 19:00, so morning (back 13:30 < 14:00).
    # 近村: either; all three in the morning need 3 × 2 = 6 mornings > 5 for one team, so
    #   近村 goes in the afternoon: mornings 4 ≤ 5, afternoons 2 (远村) + 2 (近村) = 4 ≤ 5:
    #   ONE team.
    # Days, the widest spread first (Mon/Thu, Mon/Fri, Tue/Fri have a 3-day smallest gap):
    #   远村 Mon/Thu AM; 中村: Mon is taken → Tue/Fri AM; 近村: Mon/Thu afternoons are taken
    #   by 远村 → Tue/Fri PM (back from 中村 at 13:30, out again at 14:00).
    vil = rotation_villages([20.0, 45.0, 100.0], names=["近村", "中村", "远村"])
    table, short = rotation_timetable(vil, centre_to_village_min=np.array([20.0, 45.0, 100.0]))
    expected = pd.DataFrame(
        {
            "village_id": ["V3", "V2", "V1", "V3", "V2", "V1"],
            "village": ["远村", "中村", "近村", "远村", "中村", "近村"],
            "township": ["甲镇"] * 6,
            "team": [1] * 6,
            "weekday": ["Mon", "Tue", "Tue", "Thu", "Fri", "Fri"],
            "start": ["09:40", "08:45", "14:20", "09:40", "08:45", "14:20"],
            "end": ["13:40", "12:45", "18:20", "13:40", "12:45", "18:20"],
            "minutes": [240.0] * 6,
            "weekday_zh": ["周一", "周二", "周二", "周四", "周五", "周五"],
            "half_day": ["AM", "AM", "PM", "AM", "AM", "PM"],
            "half_day_zh": ["上午", "上午", "下午", "上午", "上午", "下午"],
            "centre_id": ["C1"] * 6,
            "travel_min": [100.0, 45.0, 20.0, 100.0, 45.0, 20.0],
            "depart": ["08:00", "08:00", "14:00", "08:00", "08:00", "14:00"],
            "back": ["15:20", "13:30", "18:40", "15:20", "13:30", "18:40"],
            "late": [False] * 6,
        }
    )
    pd.testing.assert_frame_equal(table, expected)
    assert tuple(table.columns[:8]) == (
        "village_id",
        "village",
        "township",
        "team",
        "weekday",
        "start",
        "end",
        "minutes",
    )
    assert tuple(table.columns) == TIMETABLE_COLUMNS
    assert tuple(short.columns) == SHORTFALL_COLUMNS
    s = short.iloc[0]
    assert (s["rotation_villages"], s["visits"], s["afternoon_visits"]) == (3, 6, 2)
    assert (s["teams_needed"], s["team_size"], s["staff_needed"]) == (1, 2, 2)
    assert s["staff_check"] == "unknown"  # no staff given
    assert math.isnan(s["centre_staff"])
    assert math.isnan(s["teams_short"])
    assert (s["late_visits"], s["too_far"]) == (0, "")
    assert s["message_en"] == (
        "3 village(s) × 2 visits = 6 visits a week of at least 240 min; 1 team(s) of 2 "
        "(2 staff); centre staff unknown: check that it can spare 2 staff"
    )
    assert s["message_zh"] == (
        "3个巡诊村×每周2次=6次（每次至少240分钟）；需1个巡诊队（每队2人，共2人）；"
        "卫生院人数未知，请核实能否抽调2人"
    )


def test_six_near_villages_need_two_teams_and_staff_is_checked(caplog):
    # Six villages 10 min away: 12 visits; one team has 5 mornings + 5 afternoons = 10: TWO
    # teams. With 2 teams all can go in the morning except 12 - 10 = 2 visits: one village
    # (the first of the nearest, V1) in the afternoon. Centre staff 9: a third is 3, one
    # team of 2 → 1 team short.
    vil = rotation_villages([10.0] * 6)
    table, short = rotation_timetable(
        vil, centre_to_village_min=np.full(6, 10.0), centre_staff={"C1": 9}
    )
    assert len(table) == 12
    assert set(table["team"]) == {1, 2}
    pm = table[table["half_day"] == "PM"]
    assert pm["village_id"].tolist() == ["V1", "V1"]
    assert pm["weekday"].tolist() == ["Mon", "Thu"]
    for _, visits in table.groupby("village_id"):
        days = sorted(WEEKDAYS.index(d) for d in visits["weekday"])
        assert len(days) == 2
        assert days[1] - days[0] >= 2  # never on consecutive days
    s = short.iloc[0]
    assert (s["teams_needed"], s["staff_needed"]) == (2, 4)
    assert (s["centre_staff"], s["staff_can_spare"], s["teams_available"]) == (9.0, 3.0, 1.0)
    assert (s["teams_short"], s["staff_check"]) == (1.0, "short")
    assert s["message_en"].endswith(
        "centre staff 9, can spare 3 (33%): NOT ENOUGH STAFF, 1 team(s) short"
    )
    assert s["message_zh"].endswith("卫生院9人，可抽调3人（33%）：人员不足，缺1个巡诊队")
    assert "NOT ENOUGH STAFF" in caplog.text


@pytest.mark.parametrize(
    ("staff", "spare", "teams", "check"),
    [
        (6, 2.0, 1.0, "enough"),  # 6 / 3 = 2 staff = one team of 2
        (5, 1.0, 0.0, "short"),  # 5 / 3 = 1.67 → 1 staff: no team
        (np.nan, np.nan, np.nan, "unknown"),
        (pd.NA, np.nan, np.nan, "unknown"),
        (None, np.nan, np.nan, "unknown"),
    ],
)
def test_staff_check_for_one_team(staff, spare, teams, check):
    vil = rotation_villages([20.0])
    _, short = rotation_timetable(
        vil, centre_to_village_min=np.array([20.0]), centre_staff={"C1": staff}
    )
    s = short.iloc[0]
    assert s["teams_needed"] == 1
    np.testing.assert_equal([s["staff_can_spare"], s["teams_available"]], [spare, teams])
    assert s["staff_check"] == check
    if check == "enough":
        assert s["message_en"].endswith("centre staff 6, can spare 2 (33%): enough")
        assert s["message_zh"].endswith("卫生院6人，可抽调2人（33%）：满足")


def test_negative_staff_refused():
    vil = rotation_villages([20.0])
    with pytest.raises(InvalidValueError, match="centre_staff gives -1 staff for centre 'C1'"):
        rotation_timetable(vil, centre_to_village_min=np.array([20.0]), centre_staff={"C1": -1})


def test_late_and_unreachable_villages():
    # 220 min: 08:00 + 220 = 11:40 start, 15:40 end, back 19:20 > 19:00: listed, late.
    # No road (inf): never scheduled. Both named for stationed staff.
    vil = rotation_villages([220.0, INF], names=["山村", "岛村"])
    table, short = rotation_timetable(vil, centre_to_village_min=np.array([220.0, INF]))
    assert table["village"].tolist() == ["山村", "山村"]
    assert table["weekday"].tolist() == ["Mon", "Thu"]
    assert table[["start", "end", "back"]].drop_duplicates().values.tolist() == [
        ["11:40", "15:40", "19:20"]
    ]
    assert table["late"].all()
    s = short.iloc[0]
    assert (s["rotation_villages"], s["visits"], s["late_visits"]) == (2, 2, 2)
    assert s["too_far"] == "山村、岛村"
    assert s["message_en"].endswith(
        "山村、岛村: unreachable or back after 19:00 even in the morning, "
        "station staff there instead"
    )
    assert "应改为派驻" in s["message_zh"]


def test_afternoon_limit_is_30_minutes():
    # 30 min: back 14:00 + 60 + 240 = 19:00, on time; 31 min: 19:02, late → morning only.
    # One team: the 30-min village could go either way; mornings 2 + 2 = 4 ≤ 5, so it stays
    # in the morning (afternoons only where they save a team).
    vil = rotation_villages([31.0, 30.0])
    table, _ = rotation_timetable(vil, centre_to_village_min=np.array([31.0, 30.0]))
    assert set(table["half_day"]) == {"AM"}
    # 2 villages at 31 (morning only) and 3 at 30 (either): with n of the 30-min ones in
    # the afternoon, mornings 2·(5 - n) and afternoons 2·n over 5 days: n = 0 → 10/5 = 2
    # teams, n = 1 → (8, 2) → 2 teams, ...: never fewer than 2, so the fewest afternoons,
    # n = 0: all in the morning, 2 teams.
    table, short = rotation_timetable(
        rotation_villages([31.0, 31.0, 30.0, 30.0, 30.0]),
        centre_to_village_min=np.array([31.0, 31.0, 30.0, 30.0, 30.0]),
    )
    assert set(table["half_day"]) == {"AM"}
    assert short.iloc[0]["teams_needed"] == 2


def test_three_visits_a_week_spread():
    # k = 3 of 5 days with the widest smallest gap: Mon/Wed/Fri (gaps 2, 2, 3).
    table, _ = rotation_timetable(
        rotation_villages([10.0]), centre_to_village_min=np.array([10.0]), visits_per_week=3
    )
    assert table["weekday"].tolist() == ["Mon", "Wed", "Fri"]
    assert table["weekday_zh"].tolist() == ["周一", "周三", "周五"]
    assert table["start"].tolist() == ["08:10"] * 3


def test_settings_read_at_call_time(monkeypatch):
    # stay 300, trips at 07:30/13:30: 20 min → afternoon back 13:30 + 40 + 300 = 19:10 > 19:00,
    # so the morning: 07:50-12:50 on Mon/Thu; team of 3 → 3 staff.
    monkeypatch.setattr(ck_settings, "rotation_visit_min", 300.0)
    monkeypatch.setattr(ck_settings, "rotation_slot_starts", ("07:30", "13:30"))
    monkeypatch.setattr(ck_settings, "rotation_team_size", 3)
    table, short = rotation_timetable(
        rotation_villages([20.0]), centre_to_village_min=np.array([20.0])
    )
    assert table[["weekday", "start", "end", "minutes"]].values.tolist() == [
        ["Mon", "07:50", "12:50", 300.0],
        ["Thu", "07:50", "12:50", 300.0],
    ]
    assert short.iloc[0]["staff_needed"] == 3
    # the argument wins over the setting; a stay of 250.5 is kept whole: 251 min,
    # 07:50 + 251 = 12:01 (the 07:30 departure still holds)
    table, _ = rotation_timetable(
        rotation_villages([20.0]), centre_to_village_min=np.array([20.0]), visit_min=250.5
    )
    assert table["minutes"].tolist() == [251.0, 251.0]
    assert table["end"].tolist() == ["12:01", "12:01"]


def test_saturday_when_six_workdays(monkeypatch):
    # six workdays, 6 visits a week: Mon to Sat, one each.
    monkeypatch.setattr(ck_settings, "rotation_workdays", 6)
    table, _ = rotation_timetable(
        rotation_villages([10.0]), centre_to_village_min=np.array([10.0]), visits_per_week=6
    )
    assert table["weekday"].tolist() == list(WEEKDAYS[:6])
    assert WEEKDAYS_ZH[5:] == ("周六", "周日")


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        ("rotation_slot_starts", ("8am", "14:00"), "rotation_slot_starts='8am' is not a time"),
        ("rotation_slot_starts", ("14:00", "08:00"), "morning < afternoon departure < day end"),
        ("rotation_day_end", "13:00", "morning < afternoon departure < day end"),
        ("rotation_team_size", 0, "rotation_team_size=0"),
        ("rotation_staff_share", 0.0, "rotation_staff_share=0.0"),
        ("rotation_workdays", 8, "rotation_workdays=8"),
        ("rotation_visit_min", 0.0, "rotation_visit_min=0.0"),
    ],
)
def test_bad_settings_refused(monkeypatch, name, value, match):
    monkeypatch.setattr(ck_settings, name, value)
    with pytest.raises(InvalidValueError, match=match):
        rotation_timetable(rotation_villages([10.0]), centre_to_village_min=np.array([10.0]))


def test_visits_per_week_beyond_workdays_refused():
    with pytest.raises(InvalidValueError, match=r"visits_per_week=6: .* give 1 to 5"):
        rotation_timetable(
            rotation_villages([10.0]), centre_to_village_min=np.array([10.0]), visits_per_week=6
        )


def test_no_rotation_villages_gives_empty_tables():
    vil = rotation_villages([10.0], modes=["fixed"])
    table, short = rotation_timetable(vil, centre_to_village_min=np.array([10.0]))
    assert table.empty
    assert short.empty
    assert tuple(table.columns) == TIMETABLE_COLUMNS


def test_clock_helpers():
    assert parse_clock("14:30", "x") == 870
    assert format_clock(870) == "14:30"
    assert format_clock(25 * 60 + 10) == "25:10"
    with pytest.raises(InvalidValueError, match="x='14h' is not a time"):
        parse_clock("14h", "x")


# --------------------------------------------------------------------------- no double booking


def test_double_booking_check_raises_on_a_forged_table():
    table = pd.DataFrame(
        {
            "centre_id": ["C1", "C1"],
            "team": [1, 1],
            "weekday": ["Mon", "Mon"],
            "half_day": ["AM", "AM"],
        }
    )
    with pytest.raises(RuntimeError, match=r"books team 1 of centre 'C1' twice on Mon AM"):
        check_no_double_booking(table)


def test_double_booking_check_sees_a_morning_that_takes_the_afternoon():
    # back from the morning visit at 15:20, out again at 14:00: two places at once
    table = pd.DataFrame(
        {
            "centre_id": ["C1", "C1"],
            "team": [1, 1],
            "weekday": ["Mon", "Mon"],
            "half_day": ["AM", "PM"],
            "depart": ["08:00", "14:00"],
            "back": ["15:20", "18:40"],
        }
    )
    with pytest.raises(RuntimeError, match=r"sends team 1 of centre 'C1' out on Mon before"):
        check_no_double_booking(table)
    table.loc[0, "back"] = "14:00"
    check_no_double_booking(table)


# --------------------------------------------------------------------------- property


def fewest_teams(travel: list[float], k: int, stay: float) -> int:
    """The teams any schedule under the slot rule needs (the test's own arithmetic).

    A team has 5 mornings and 5 afternoons. A village goes in the afternoon only if the
    team is back by 19:00 (1140); a morning visit back after 14:00 (840) also takes that
    team's afternoon. So the week needs k·(morning villages) ≤ 5·T and k·(afternoon villages
    + afternoon-taking mornings) ≤ 5·T; villages that may go either way split to minimise T.
    """
    whole = math.ceil(stay)
    am = pm = 0
    either = 0
    for t in travel:
        leg = math.ceil(round(t, 6))  # whole minutes, float noise (1e-300) dropped
        pm_ok = 840 + 2 * leg + whole <= 1140
        takes_pm = 480 + 2 * leg + whole > 840
        if pm_ok and not takes_pm:
            either += 1
        else:
            am += not pm_ok
            pm += takes_pm or pm_ok
    return min(
        max(-(-k * (am + either - n) // 5), -(-k * (pm + n) // 5)) for n in range(either + 1)
    )


@hsettings(max_examples=80, deadline=None)
@given(
    travel=st.lists(
        st.one_of(st.floats(0, 250, allow_nan=False), st.just(INF)), min_size=1, max_size=14
    ),
    centre_of=st.lists(st.integers(0, 2), min_size=14, max_size=14),
    rotation=st.lists(st.booleans(), min_size=14, max_size=14),
    k=st.integers(1, 5),
    stay=st.sampled_from([120.0, 240.0, 300.0, 250.5]),
    staff=st.one_of(st.none(), st.integers(0, 30)),
)
@example(  # a travel time of 5e-324 min is 0 whole minutes, not 1
    travel=[1.0, 1.0, 5e-324],
    centre_of=[0] * 14,
    rotation=[True] * 14,
    k=2,
    stay=300.0,
    staff=None,
)
def test_property_every_visit_at_least_the_minimum(travel, centre_of, rotation, k, stay, staff):
    n = len(travel)
    vil = rotation_villages(
        travel,
        centres=[f"C{c}" for c in centre_of[:n]],
        modes=["rotation" if r else "fixed" for r in rotation[:n]],
    )
    table, short = rotation_timetable(
        vil,
        centre_to_village_min=np.array(travel),
        centre_staff=None if staff is None else {"C0": staff, "C1": staff, "C2": staff},
        visit_min=stay,
        visits_per_week=k,
    )
    # every visit stays at least the minimum, end - start = minutes
    assert (table["minutes"] >= stay).all()
    spans = [
        minutes_of(e) - minutes_of(s) for s, e in zip(table["start"], table["end"], strict=True)
    ]
    assert spans == table["minutes"].tolist()
    # no team in two places in one slot, nor out again before it is back
    assert not table.duplicated(["centre_id", "team", "weekday", "half_day"]).any()
    check_no_double_booking(table)
    for _, day in table.groupby(["centre_id", "team", "weekday"]):
        if len(day) == 2:
            am, pm = day.sort_values("depart").itertuples()
            assert minutes_of(am.back) <= minutes_of(pm.depart)
    # each reachable rotation village: k visits, k different days, one slot, one start
    rot = vil[vil["mode"] == "rotation"]
    reach = rot[np.isfinite(np.array(travel)[rot.index])]
    assert set(table["village_id"]) == set(reach["id"])
    for _, visits in table.groupby("village_id"):
        assert len(visits) == visits["weekday"].nunique() == k
        assert visits["half_day"].nunique() == visits["start"].nunique() == 1
    # the fewest teams, and the timetable uses exactly those
    assert short["rotation_villages"].sum() == len(rot)
    for _, s in short.iterrows():
        ids = reach[reach["centre_id"] == s["centre_id"]].index
        need = fewest_teams([travel[i] for i in ids], k, stay)
        assert s["teams_needed"] == need
        used = table.loc[table["centre_id"] == s["centre_id"], "team"]
        assert used.max() == need if len(used) else need == 0
        assert s["visits"] == k * len(ids)
        # staff: a third of it (rounded down) in teams of 2 must cover the teams needed
        if staff is None:
            assert s["staff_check"] == "unknown"
        else:
            assert s["staff_check"] == ("enough" if 2 * need <= staff // 3 else "short")
        assert s["late_visits"] == int(
            table.loc[table["centre_id"] == s["centre_id"], "late"].sum()
        )
