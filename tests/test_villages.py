"""Tests for coverkit.villages: population estimates, service modes, timetables, staffing."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import CRS
from shapely.geometry import Point, box

from coverkit import settings as ck_settings
from coverkit.errors import CRSError, InvalidValueError, MissingColumnError
from coverkit.io import PopulationGrid
from coverkit.villages import (
    ServiceMode,
    assign_service_modes,
    clinic_status_from_values,
    estimate_village_population,
    propose_shared_clinics,
    rotation_timetable,
    staffing_checks,
)

INF = np.inf


@pytest.fixture(autouse=True)
def drive_minutes_for_joint_service(monkeypatch):
    """The matrices here are drive minutes and the property villages have no points.

    Joint service is measured in walking minutes by default (issue 16); these tests,
    written for the drive matrices they pass, keep measuring it in those.
    """
    monkeypatch.setattr(ck_settings, "joint_travel_mode", "drive")


# --------------------------------------------------------------------------- the hand-built county
#
# Townships A (centre CA), B (centre CB), C (no centre). Minutes between villages are 100
# unless set below; 河村 (A6) reaches only 南村 (10 min) and 林村 (45 min).

ROWS = [
    # id, name, township, clinic, population, minutes to own centre, centre id
    ("A1", "东村", "A", "standard", 1200, 5, "CA"),
    ("A2", "西村", "A", "none", 800, 8, "CA"),
    ("A3", "南村", "A", "weak", 600, 30, "CA"),
    ("A4", "北村", "A", "none", 2000, 20, "CA"),
    ("A5", "山村", "A", "none", 300, 60, "CA"),
    ("A6", "河村", "A", "none", 0, 25, "CA"),
    ("A7", "林村", "A", "none", 500, 40, "CA"),
    ("B1", "新村", "B", "标准", 900, 6, "CB"),
    ("B2", "新村", "B", "无", 400, 12, "CB"),
    ("B3", "岭村", "B", "弱", 400, INF, "CB"),
    ("B4", "坝村", "B", "薄弱", 1500, 20, "CB"),
    ("C1", "孤村", "C", "没有", 350, INF, None),
]


def county() -> tuple[gpd.GeoDataFrame, np.ndarray, np.ndarray, list]:
    vil = gpd.GeoDataFrame(
        {
            "id": [r[0] for r in ROWS],
            "name": [r[1] for r in ROWS],
            "township": [r[2] for r in ROWS],
            "clinic": [r[3] for r in ROWS],
            "population": [float(r[4]) for r in ROWS],
            "note": [f"row {i}" for i in range(len(ROWS))],
        },
        geometry=[Point(500_000 + 1000 * i, 3_000_000) for i in range(len(ROWS))],
        crs="EPSG:32650",
    )
    n = len(ROWS)
    M = np.full((n, n), 100.0)
    np.fill_diagonal(M, 0.0)

    def put(i: int, j: int, v: float) -> None:
        M[i, j] = M[j, i] = v

    put(1, 0, 15)  # 西村 - 东村: exactly the joint limit
    put(2, 0, 20)
    put(3, 0, 25)
    put(4, 0, 40)
    M[5, :] = M[:, 5] = INF
    M[5, 5] = 0
    put(2, 5, 10)
    put(5, 6, 45)
    put(6, 0, 30)
    put(2, 6, 50)
    put(8, 7, 12)
    put(9, 7, 50)
    put(10, 7, 16)
    centre = np.array([r[5] for r in ROWS], dtype=float)
    cids = [r[6] for r in ROWS]
    return vil, M, centre, cids


def modes_of_county(**kw):
    vil, M, centre, cids = county()
    return assign_service_modes(
        vil,
        village_clinic_min=M,
        centre_min=centre,
        centre_ids=cids,
        joint_max_min=15,
        rotation_max_min=45,
        stationed_min_population=1500,
        share_radius_min=10,
        # M holds drive minutes; the caps are far from binding here (A1 takes only
        # A2: 1,200 + 800 = 2,000 people; B1 takes only B2: 900 + 400 = 1,300).
        joint_travel_mode="drive",
        joint_max_villages=2,
        joint_max_population=3000,
        joint_same_township=True,
        build_min_population=3000,
        **kw,
    )


def test_every_village_mode_and_numbers():
    out = modes_of_county()
    expected = [
        # mode, rule, serving facility, minutes
        ("fixed", "R2-FIXED", "A1", 0.0),
        ("joint", "R2-JOINT", "A1", 15.0),
        ("rotation", "R2-ROTATION", "CA", 30.0),
        ("stationed", "R2-STATIONED", "CA", 20.0),  # 2,000 residents
        ("stationed", "R2-STATIONED", "CA", 60.0),  # too far
        ("rotation", "R2-ROTATION", "CA", 25.0),  # zero population, near
        ("rotation", "R2-ROTATION", "CA", 40.0),
        ("fixed", "R2-FIXED", "B1", 0.0),
        ("joint", "R2-JOINT", "B1", 12.0),
        ("stationed", "R2-STATIONED", "CB", INF),  # unreachable centre
        ("stationed", "R2-STATIONED", "CB", 20.0),  # exactly 1,500 residents
        ("stationed", "R2-STATIONED", None, INF),  # township without a centre
    ]
    assert out["mode"].tolist() == [e[0] for e in expected]
    assert out["rule_id"].tolist() == [e[1] for e in expected]
    assert out["serving_facility"].tolist()[:11] == [e[2] for e in expected][:11]
    assert pd.isna(out["serving_facility"].iloc[11])
    assert out["minutes"].tolist() == [e[3] for e in expected]
    assert out["mode_zh"].tolist()[:3] == [
        "固定村卫生室",
        "邻（联）村延伸服务",
        "乡镇卫生院定期巡诊",
    ]
    assert out["mode_zh"].iloc[3] == "派驻"
    # caller's columns and CRS kept
    assert out["note"].tolist() == [f"row {i}" for i in range(len(ROWS))]
    assert out.crs == CRS.from_epsg(32650)
    assert out["clinic"].iloc[7] == "标准"
    assert out["clinic_status"].tolist()[7:] == ["standard", "none", "weak", "weak", "none"]


def test_reason_sentences():
    out = modes_of_county()
    en = out["reason_en"].tolist()
    zh = out["reason_zh"].tolist()
    # 东村 hosts 西村: 1,200 + 800 = 2,000 people, 1 guest (caps 2 villages, 3,000 people)
    assert en[0] == (
        "has a standard village clinic: fixed clinic service; it also serves 1 guest village, "
        "2,000 people in all"
    )
    assert en[1] == (
        "it has no village clinic; the clinic of 东村 is a 15 min drive away (within 15 min) and "
        "serves it: joint service; that clinic serves 1 guest village, 2,000 people in all "
        "(at most 2 guest villages and 3,000 people each)"
    )
    assert zh[1] == (
        "无村卫生室；车程15分钟到东村村卫生室（不超过15分钟），由其提供邻（联）村延伸服务；"
        "该卫生室服务1个邻村、共2,000人（每所至多2个邻村、3,000人）"
    )
    assert en[2] == (
        "its village clinic is weak; the nearest standard clinic in its township (东村) is a "
        "20 min drive, beyond the 15 min joint-service limit; its township health centre is "
        "30 min away (within 45 min) and it has 600 residents (fewer than 1,500): rotation "
        "visits from the centre, at least 2 half-day visits a week at fixed times"
    )
    assert "每周至少2次、每次至少半天" in zh[2]
    assert "it has 2,000 residents, at least 1,500" in en[3]
    assert "人口2,000人，不少于1,500人" in zh[3]
    assert "at least 5 days a week and at least half a year" in en[3]
    assert "its township health centre is 60 min away, beyond the 45 min rotation limit" in en[4]
    assert "no standard clinic in its township can be reached" in en[5]
    assert "it has 0 residents" in en[5]
    # duplicate names in township B are told apart by id
    assert "the clinic of 新村 (B1) is a 12 min drive away" in en[8]
    assert out["label"].tolist()[7:9] == ["新村 (B1)", "新村 (B2)"]
    assert "cannot be reached by road" in en[9]
    assert "公路无法到达乡镇卫生院" in zh[9]
    assert "a 16 min drive, beyond the 15 min" in en[10]
    assert "it has 1,500 residents, at least 1,500" in en[10]
    # 孤村 (township C) reaches clinics only in A and B: joint service stays in the township
    assert "no standard clinic in its township can be reached" in en[11]
    assert "本乡镇无可达的标准化村卫生室" in zh[11]
    assert "has no township health centre" in en[11]
    assert "所在乡镇没有乡镇卫生院" in zh[11]


def test_defaults_come_from_settings(monkeypatch):
    vil, M, centre, cids = county()
    monkeypatch.setattr(ck_settings, "joint_service_max_min", 25.0)
    monkeypatch.setattr(ck_settings, "rotation_max_min", 70.0)
    monkeypatch.setattr(ck_settings, "stationed_min_population", 3000.0)
    monkeypatch.setattr(ck_settings, "joint_travel_mode", "drive")
    monkeypatch.setattr(ck_settings, "joint_max_villages", 2)
    monkeypatch.setattr(ck_settings, "joint_max_population", 3500.0)
    monkeypatch.setattr(ck_settings, "build_clinic_min_population", 5000.0)
    out = assign_service_modes(vil, village_clinic_min=M, centre_min=centre, centre_ids=cids)
    # 东村 (1,200) reaches 西村 800 (15), 南村 600 (20), 北村 2,000 (25) within 25 min.
    # Most people within 3,500: 北村 alone (1,200 + 2,000 = 3,200; 北村 + 西村 = 4,000 is
    # over) serves 2,000 > 西村 + 南村 = 1,400. So 北村 is joint; 西村, 南村 and 山村
    # (60 min <= 70) get rotation. 坝村 (16 min) joins 新村 (B1): 900 + 400 + 1,500 = 2,800.
    assert out["mode"].tolist()[1:5] == ["rotation", "rotation", "joint", "rotation"]
    assert out["mode"].iloc[10] == "joint"
    assert out["host_load_population"].iloc[0] == 3200.0
    assert out["host_load_population"].iloc[7] == 2800.0
    assert "(within 25 min)" in out["reason_en"].iloc[3]


def test_shared_clinic_proposals():
    vil, M, _, _ = county()
    shared = propose_shared_clinics(vil, M, share_radius_min=10)
    assert len(shared) == 1
    row = shared.iloc[0]
    assert row["group"] == 1
    assert row["township"] == "A"
    assert row["host_id"] == "A3"
    assert row["villages"] == "南村、河村"
    assert row["population"] == 600.0
    assert row["max_min"] == 10.0
    # a wider radius joins more villages of A; villages of different townships never mix
    wide = propose_shared_clinics(vil, M, share_radius_min=100)
    assert wide["villages"].tolist() == ["北村、西村、南村、林村、山村", "坝村、新村 (B2)、岭村"]
    assert wide["host_id"].tolist() == ["A4", "B4"]
    out = modes_of_county()
    assert out["share_group"].tolist()[2] == 1
    assert out["share_group"].tolist()[5] == 1
    assert out["share_group"].isna().sum() == len(ROWS) - 2


# --------------------------------------------------------------------------- staffing


def test_staffing_known_numbers():
    out = modes_of_county()
    st_ = staffing_checks(
        out, township_population=None, county_population=850_000, county_name="测试县"
    )
    v = st_[st_["level"] == "village"].set_index("name")
    assert (v.loc["东村", "required_min"], v.loc["东村", "required_max"]) == (2, 2)  # 1.2, 1.8
    assert (v.loc["西村", "required_min"], v.loc["西村", "required_max"]) == (1, 2)  # 0.8, 1.2
    assert (v.loc["北村", "required_min"], v.loc["北村", "required_max"]) == (2, 3)  # 2, 3
    assert (v.loc["河村", "required_min"], v.loc["河村", "required_max"]) == (0, 0)
    assert (v.loc["坝村", "required_min"], v.loc["坝村", "required_max"]) == (2, 3)  # 1.5, 2.25
    assert v.loc["东村", "rule"] == "Rule 4"
    t = st_[(st_["level"] == "township") & (st_["township"] == "A")].set_index("check")
    assert t.loc["village_doctors", "population"] == 5400.0
    assert (t.loc["village_doctors", "required_min"], t.loc["village_doctors", "required_max"]) == (
        8,
        10,
    )
    assert (t.loc["centre_staff", "required_min"], t.loc["centre_staff", "required_max"]) == (6, 9)
    assert not t.loc["second_centre", "flag"]
    assert t.loc["second_centre", "rule"] == "Rule 3"
    assert "001_fcdab3f6bf54638e.txt §1" in t.loc["second_centre", "source"]
    c = st_[st_["level"] == "county"].iloc[0]
    assert c["name"] == "测试县"
    assert bool(c["flag"])
    assert c["rule"] == "Rule 5"
    assert "000_ba5da1a0f897df4c.txt §(三)" in c["source"]
    assert "tertiary" in c["message_en"]
    # by service mode (issue 16), counted by hand from test_every_village_mode_and_numbers:
    # stationed: CA 北村 + 山村 = 2 posts (2,300 people), CB 岭村 + 坝村 = 2, no centre 孤村 = 1
    m = st_[st_["level"] == "centre"].set_index(["check", "name"])
    assert m.loc[("stationed_posts", "CA"), "required_min"] == 2
    assert m.loc[("stationed_posts", "CA"), "population"] == 2300.0
    assert m.loc[("stationed_posts", "CB"), "required_max"] == 2
    assert m.loc[("stationed_posts", "无乡镇卫生院 no centre"), "required_min"] == 1
    # rotation: CA 南村, 河村, 林村 × 2 visits a week = 6 half-days
    assert m.loc[("rotation_half_days", "CA"), "required_min"] == 6
    assert "000_ba5da1a0f897df4c.txt §(一)" in m.loc[("rotation_half_days", "CA"), "source"]
    # hosts: 东村 carries 西村 (800: 0.8 → 1, 1.2 → 2 doctors), 新村 (B1) carries 新村 (B2)
    # (400: 0.4 → 1, 0.6 → 1); population = people served, own village included
    h = st_[st_["level"] == "host"].set_index("name")
    assert (h.loc["东村", "required_min"], h.loc["东村", "required_max"]) == (1, 2)
    assert h.loc["东村", "population"] == 2000.0
    assert (h.loc["新村 (B1)", "required_min"], h.loc["新村 (B1)", "required_max"]) == (1, 1)
    assert "003_excerpt.md §4" in v.loc["东村", "source"]
    assert len(st_) == len(ROWS) + 3 * 3 + 1 + 3 + 1 + 2


def test_staffing_given_township_population_flags_rule3():
    out = modes_of_county()
    st_ = staffing_checks(
        out,
        township_population={"A": 120_000, "B": 100_000, "C": 2_000},
        county_population=800_000,
        county_name="测试县",
        per_1000=(1.0, 1.5),
    )
    t = st_[st_["check"] == "second_centre"].set_index("township")
    assert t["flag"].tolist() == [True, False, False]  # 100,000 is not *over* 100,000
    staff = st_[st_["check"] == "centre_staff"].set_index("township")
    assert (staff.loc["A", "required_min"], staff.loc["A", "required_max"]) == (120, 180)
    assert not bool(st_[st_["level"] == "county"].iloc[0]["flag"])  # 800,000 not over
    with pytest.raises(InvalidValueError, match="no value for C"):
        staffing_checks(
            out, township_population={"A": 1, "B": 2}, county_population=1, county_name="x"
        )


@given(pop=st.integers(min_value=0, max_value=10_000_000))
def test_staffing_property_bounds(pop):
    df = pd.DataFrame({"id": [1], "name": ["村"], "township": ["镇"], "population": [pop]})
    row = staffing_checks(df, township_population=None, county_population=pop, county_name="县")
    v = row.iloc[0]
    assert v["required_min"] >= pop / 1000 - 1e-9
    assert v["required_min"] < pop / 1000 + 1
    assert v["required_max"] >= 1.5 * pop / 1000 - 1e-9
    assert v["required_max"] < 1.5 * pop / 1000 + 1
    assert v["required_min"] <= v["required_max"]


# --------------------------------------------------------------------------- bad input


def test_missing_column_names_accepted_names():
    vil, M, centre, cids = county()
    with pytest.raises(
        MissingColumnError, match=r"'clinic'.*accepted names: clinic, .*村卫生室.*clinic_status"
    ):
        assign_service_modes(
            vil.drop(columns="clinic"), village_clinic_min=M, centre_min=centre, centre_ids=cids
        )


def test_chinese_column_aliases_accepted():
    vil, M, centre, cids = county()
    zh = vil.rename(columns={"name": "村名", "township": "乡镇", "population": "人口"})
    out = assign_service_modes(zh, village_clinic_min=M, centre_min=centre, centre_ids=cids)
    assert out["mode"].iloc[2] == "rotation"
    assert "村名" in out.columns


def test_unknown_clinic_status():
    with pytest.raises(InvalidValueError, match=r"'maybe'.*accepted values: standard, weak, none"):
        clinic_status_from_values(["standard", "maybe"])
    assert clinic_status_from_values(
        ["标准", "有", "薄弱", "弱", "无", "没有", " Weak "]
    ).tolist() == [
        "standard",
        "standard",
        "weak",
        "weak",
        "none",
        "none",
        "weak",
    ]


def test_matrix_shapes_and_values_checked():
    vil, M, centre, cids = county()
    with pytest.raises(InvalidValueError, match=r"village_clinic_min has shape \(11, 11\)"):
        assign_service_modes(
            vil, village_clinic_min=M[:11, :11], centre_min=centre, centre_ids=cids
        )
    with pytest.raises(InvalidValueError, match="centre_min has shape"):
        assign_service_modes(vil, village_clinic_min=M, centre_min=centre[:3], centre_ids=cids)
    with pytest.raises(InvalidValueError, match="centre_ids has 2 entries"):
        assign_service_modes(vil, village_clinic_min=M, centre_min=centre, centre_ids=cids[:2])
    bad = M.copy()
    bad[0, 1] = -1
    with pytest.raises(InvalidValueError, match="negative"):
        assign_service_modes(vil, village_clinic_min=bad, centre_min=centre, centre_ids=cids)
    with pytest.raises(InvalidValueError, match="visits_per_week=6"):
        rotation_timetable(
            modes_of_county(),
            centre_to_village_min=centre,
            visits_per_week=6,
        )


def test_missing_population_rejected():
    vil, M, centre, cids = county()
    vil.loc[3, "population"] = np.nan
    with pytest.raises(InvalidValueError, match="estimate_village_population"):
        assign_service_modes(vil, village_clinic_min=M, centre_min=centre, centre_ids=cids)


def test_duplicate_names_warn(caplog):
    with caplog.at_level(logging.WARNING, logger="coverkit.villages"):
        modes_of_county()
    assert "duplicate village names within one township: B/新村" in caplog.text


# --------------------------------------------------------------------------- population

GRID_CRS = "EPSG:32650"


def small_grid(mask_all: bool = True) -> PopulationGrid:
    values = np.array([[10.0, 20.0, 30.0], [40.0, 50.0, 60.0]])
    mask = np.ones_like(values, dtype=bool)
    return PopulationGrid(
        values=values,
        mask=mask,
        transform=Affine(1000, 0, 500_000, 0, -1000, 3_000_000),
        crs=CRS.from_user_input(GRID_CRS),
        total=float(values.sum()),
        source="test grid",
    )


def test_estimate_points_nearest_cell():
    vil = gpd.GeoDataFrame(
        {"id": ["P", "Q"], "name": ["p", "q"], "population": [99.0, np.nan]},
        geometry=[Point(500_500, 2_999_500), Point(502_500, 2_998_500)],
        crs=GRID_CRS,
    )
    out = estimate_village_population(vil, small_grid())
    # P takes cells 10, 20, 40; Q takes 30, 50, 60 = 140; P keeps its known 99
    assert out["population"].tolist() == [99.0, 140.0]
    assert out["population_estimated"].tolist() == [False, True]
    assert out.crs == vil.crs
    allmissing = estimate_village_population(vil.drop(columns="population"), small_grid())
    assert allmissing["population"].tolist() == [70.0, 140.0]


def test_estimate_points_within_township():
    vil = gpd.GeoDataFrame(
        {"id": ["P", "Q"], "name": ["p", "q"], "township": ["T1", "T2"], "population": np.nan},
        geometry=[Point(500_500, 2_999_500), Point(502_500, 2_998_500)],
        crs=GRID_CRS,
    )
    towns = gpd.GeoDataFrame(
        {"id": ["t1", "t2"], "name": ["T1", "T2"]},
        geometry=[
            box(500_000, 2_998_000, 501_000, 3_000_000),
            box(501_000, 2_998_000, 503_000, 3_000_000),
        ],
        crs=GRID_CRS,
    )
    out = estimate_village_population(vil, small_grid(), townships=towns)
    # T1 is the left column (10 + 40); cell 20 now goes to Q, the only village of T2
    assert out["population"].tolist() == [50.0, 160.0]
    # in WGS84 the answer is the same (projected internally)
    out84 = estimate_village_population(vil.to_crs(4326), small_grid(), townships=towns)
    assert out84["population"].tolist() == pytest.approx([50.0, 160.0])


def test_estimate_polygons_and_points():
    vil = gpd.GeoDataFrame(
        {"id": ["R", "S", "Q"], "name": ["r", "s", "q"], "population": np.nan},
        geometry=[
            box(500_000, 2_999_000, 502_000, 3_000_000),  # cells 10 and 20
            box(502_400, 2_998_400, 502_600, 2_998_600),  # inside the 60 cell, no centre
            Point(502_500, 2_998_500),
        ],
        crs=GRID_CRS,
    )
    out = estimate_village_population(vil, small_grid())
    assert out["population"].tolist() == [30.0, 60.0, 120.0]
    assert out["population"].sum() == small_grid().total


def test_estimate_needs_crs():
    vil = gpd.GeoDataFrame({"population": [np.nan]}, geometry=[Point(0, 0)])
    with pytest.raises(CRSError, match="no CRS"):
        estimate_village_population(vil, small_grid())


# --------------------------------------------------------------------------- properties


@st.composite
def instances(draw):
    n = draw(st.integers(min_value=1, max_value=10))
    seed = draw(st.integers(min_value=0, max_value=2**31 - 1))
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, 60, size=(n, 2))
    M = np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1))
    cut = rng.random((n, n)) < 0.1
    M[cut | cut.T] = INF
    np.fill_diagonal(M, 0.0)
    centre = rng.uniform(0, 70, size=n)
    centre[rng.random(n) < 0.1] = INF
    cids = [None if rng.random() < 0.1 else f"C{k}" for k in rng.integers(0, 3, size=n)]
    vil = pd.DataFrame(
        {
            "id": [f"v{i}" for i in range(n)],
            "name": [f"村{i}" for i in range(n)],
            "township": [f"T{c}" if c is not None else "TX" for c in cids],
            "population": rng.integers(0, 3000, size=n).astype(float),
            "clinic": rng.choice(["standard", "weak", "none"], size=n),
        }
    )
    return vil, M, centre, cids


@settings(max_examples=60, deadline=None)
@given(inst=instances())
def test_property_exactly_one_mode_consistent(inst):
    vil, M, centre, cids = inst
    out = assign_service_modes(
        vil, village_clinic_min=M, centre_min=centre, centre_ids=cids, joint_travel_mode="drive"
    )
    assert len(out) == len(vil)
    assert set(out["mode"]) <= {m.value for m in ServiceMode}
    assert (out["rule_id"] == "R2-" + out["mode"].str.upper()).all()
    std = out["clinic_status"] == "standard"
    assert ((out["mode"] == "fixed") == std).all()
    j = out["mode"] == "joint"
    assert (out.loc[j, "minutes"] <= ck_settings.joint_service_max_min).all()
    r = out["mode"] == "rotation"
    assert (out.loc[r, "minutes"] <= ck_settings.rotation_max_min).all()
    assert (out.loc[r, "population"] < ck_settings.stationed_min_population).all()
    hosts = std & (out["host_load_villages"].fillna(0) > 0)
    assert (out.loc[hosts, "host_load_population"] <= ck_settings.joint_max_population).all()
    assert (out.loc[hosts, "host_load_villages"] <= ck_settings.joint_max_villages).all()
    b = out["mode"] == "build"
    assert (out.loc[b, "population"] >= ck_settings.build_clinic_min_population).all()
    s = out["mode"] == "stationed"
    far_or_big = (
        ~(out["minutes"] <= ck_settings.rotation_max_min)
        | (out["population"] >= ck_settings.stationed_min_population)
        | out["centre_id"].isna()
    )
    assert far_or_big[s].all()
    assert out["reason_en"].str.len().gt(0).all()
    assert out["reason_zh"].str.len().gt(0).all()
